// Test guest for the security audit log (config/tests/audit.dts, tests/qemu/audit.expect),
// two roles chosen by boot_arg:
//   1  the auditor: holds the AuditLog cap (Read) at CSpace index kAuditSlot. It is first
//      refused a read through its own CNode cap, then reads every event from sequence 0 and
//      prints each one, until it has read that partition 2 (the suspect) was stopped.
//   2  the suspect: makes four calls the kernel must refuse (an unknown function, a copy from
//      an empty slot, an AuditRead without the cap, a PSCI CPU_ON of a vCPU it does not have),
//      then writes outside its memory, which the kernel contains.
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;
using bh::u64;
using bh::hvc::Function;

namespace {

constexpr u64 kOwnCNode = 1;
constexpr u64 kAuditSlot = 4;        // after its CNode (1) and its two 2 MiB RAM frames (2, 3)
constexpr u64 kSuspect = 2;          // partition index + 1, as AuditRead reports it
constexpr u64 kEventStopped = 3;     // audit::Event::PartitionStopped
constexpr int kPolls = 400;          // 10 ms apart: the suspect has four seconds

const char* event_name(u64 e) {
    switch (e) {
        case 1: return "fault-contained";
        case 2: return "call-refused";
        case 3: return "partition-stopped";
        case 4: return "partition-restarted";
        case 5: return "manifest-rejected";
        case 6: return "sealed";
        default: return "other";
    }
}

void auditor() {
    SmcResult r = audit_read(kOwnCNode, 0);
    print("read through my CNode cap: status ", r.status, "\n");
    u64 cursor = 0;
    for (int polls = 0; polls < kPolls;) {
        r = audit_read(kAuditSlot, cursor);
        if (r.status != 0) {
            if (r.status != static_cast<bh::i64>(bh::Status::NotFound)) {
                print("read failed: status ", r.status, "\n");
                return;
            }
            cursor = r.r1;
            ++polls;
            delay_ms(10);
            continue;
        }
        const u64 event = r.r2 & 0xff, detail = (r.r2 >> 8) & 0xff, core = (r.r2 >> 16) & 0xff, who = r.r2 >> 32;
        print("event ", r.r1, " ", event_name(event), " partition ", who, " core ", core, " detail ", detail,
              " a=", hex(r.r3), " b=", hex(r.r4), " lost ", r.r6, "\n");
        cursor = r.r1 + 1;
        if (event == kEventStopped && who == kSuspect) {
            print("done: the suspect's events are all here\n");
            return;
        }
    }
    print("gave up waiting for the suspect to stop\n");
}

void suspect() {
    print("refused: unknown function ", hypercall(static_cast<Function>(bh::hvc::kVendorBase | 0xFF)).status, "\n");
    print("refused: copy from an empty slot ", hypercall(Function::CapCopy, 200, 201).status, "\n");
    print("refused: audit read without the cap ", audit_read(kOwnCNode, 0).status, "\n");
    print("refused: CPU_ON of vCPU 5 ", cpu_on(5, 0x40000000, 0), "\n");
    print("faulting: write to IPA 0x48000000\n");
    *reinterpret_cast<volatile bh::u32*>(0x4800'0000ull) = 1;
    print("FAULT NOT CONTAINED\n");
}

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    if (boot_arg == 1) auditor();
    if (boot_arg == 2) suspect();
    system_off();
}
