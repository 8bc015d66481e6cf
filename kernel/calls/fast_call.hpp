// The calls partitions make most, answered on the entry path (docs/benchmarks.md, "The fast
// path"). The EL2 vectors save only what C code does not preserve (x0..x18, x30) before they
// call fast_call; x19..x29 stay in the core's registers, and ELR_EL2/SPSR_EL2 in the hardware.
// So a call answered here may read and write only x0..x7 of the frame. Everything it does not
// answer, and every call it would refuse, it leaves untouched for the full path (decode_call,
// handle_guest_exit), which decides, refuses and audits as for any other call: the fast path
// only ever repeats the full path's answer for the cases it takes, and a unit test holds the two
// to the same results (tests/unit/test_fast_call.cpp).
// A NotificationWait that blocks is the one call answered later: the vCPU waits for its signal
// here, on its own core (ipc/kernel_wait.hpp), and resumes from here when it comes.
#pragma once

#include <arch/kernel_entry.hpp>
#include <bulkhead/hypercall.hpp>
#include <bulkhead/types.hpp>

namespace bh {

class Kernel;
struct Vcpu;

namespace fast_path {

// Vendor-range function numbers (x0 - hvc::kVendorBase) the ABI defines, one bit each, for the
// vectors' check of the ID before any register beyond x3 is saved: a vendor-range ID whose bit
// is clear (or whose number is at least kTableBits) is answered NotSupported there, and only
// every 2^k-th such call of a vCPU (GuestRegs::unknown_calls) takes the full path, which audits it.
inline constexpr unsigned kTableBits = 128;

struct KnownCalls {
    u64 bits[kTableBits / 64] = {};
};

constexpr KnownCalls known_vendor_calls() {
    KnownCalls t;
    for (hvc::Function f : hvc::kFunctions) {
        const u64 number = static_cast<u64>(f) - hvc::kVendorBase;
        t.bits[number / 64] |= 1ull << (number % 64);
    }
    return t;
}

constexpr bool known_vendor_call(u64 fid) {
    if ((fid >> 24) != (hvc::kVendorBase >> 24)) return false;
    const u64 number = fid & 0xff'ffff;
    return number < kTableBits && ((known_vendor_calls().bits[number / 64] >> (number % 64)) & 1) != 0;
}

// The IDs the vectors answer NotSupported themselves (vectors.S, lower_sync): neither in PSCI's
// ranges nor a vendor function of the ABI. decode_call refuses each of them as unknown too.
constexpr bool answered_as_unknown(u64 fid) {
    const u64 base = fid & ~0x1full;
    return base != 0x8400'0000 && base != 0xC400'0000 && !known_vendor_call(fid);
}
// Of those, the ones that take the full path after all, to be audited: the 1st, 2nd, 4th, 8th...
// of the vCPU's run (`count` includes this one).
constexpr bool unknown_call_audited(u64 count) { return (count & (count - 1)) == 0; }

// Resume: answered. Slow: not taken, nothing changed. Park: answered, but the partition
// stopped meanwhile, or a wait in the kernel ended without a signal: parked() once the rest of
// the frame is saved (arch/kernel_entry.hpp).
using Outcome = kernel_entry::FastOutcome;

// An HVC #0 of `vcpu` (running on this core) with x0..x18 and x30 in vcpu.regs.
[[nodiscard]] Outcome fast_call(Kernel& k, Vcpu& vcpu);
// The same, with the frame the vectors need back (bh_fast_call returns it as it is).
[[nodiscard]] kernel_entry::FastExit fast_call_exit(Vcpu& vcpu);
// After Park, once the vectors have saved the rest of the frame: the vCPU leaves its core (Off,
// Blocked, or Runnable: ipc/kernel_wait.hpp, leave_core_after_call).
void parked(Vcpu& vcpu);

}  // namespace fast_path
}  // namespace bh
