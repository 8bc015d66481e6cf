// Attack class "exceptions and calls" (threats T-11, T-13, T-14, T-15, T-22, T-23, T-56;
// invariants INV-2, INV-4, INV-7): HVC and SMC storms over every SMC Calling Convention range
// (64 owners x fast/yielding x SMC32/SMC64, a few fixed and many random function numbers, random
// x1..x7, and fully random x0), PSCI with the MPIDRs of cores and vCPUs that are not the
// partition's, malformed SMCCC (non-zero HVC and SMC immediates, junk in x0's upper half or in
// its reserved bits, yielding calls, SMCCC 1.1 discovery), and a CPU_ON whose entry point lies in
// the victim's memory. Every call loads all 31 general registers (calls.S): the kernel must
// give back x8..x30 unchanged, and x1..x7 unchanged when it refused the call (T-14), answer
// every ID outside PSCI and its own vendor range with SMCCC "unknown" (-1), and never act on
// another partition or the machine.
//
// Skipped in the random storm, as the only calls that legitimately end or restart the caller or
// start a vCPU at a random address: PSCI CPU_OFF, SYSTEM_OFF, SYSTEM_RESET, CPU_ON. The partition
// holds no Control, Notification or IrqHandler cap, so no vendor call can block or stop it.
//
// boot_arg bit 63: long run (sixteen times the random calls).
#include <bulkhead/hypercall.hpp>
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using bh::rt::hex;
using bh::rt::print;
namespace psci = bh::hvc::psci;

namespace {

constexpr u64 kCanaryTag = 0xc0de'0000'0000'0000ull;
constexpr u64 kVendorFast64 = 0xc600'0000;
constexpr u64 kCapRevoke = static_cast<u64>(bh::hvc::Function::CapRevoke);
constexpr u64 kSkipped[] = {psci::kCpuOff, psci::kSystemOff, psci::kSystemReset, psci::kCpuOn};

u64 sequence = 0;
u64 canary_breaches = 0;
u64 unknown_deviations = 0;

bool skipped(u64 fid) {
    for (u64 s : kSkipped)
        if (fid == s) return true;
    return false;
}

// The kernel serves PSCI (0x84/0xC4 standard secure service, functions 0..31) and its own
// vendor-specific hypervisor range 0xC6: everything else must be answered "unknown".
bool served(u64 fid) {
    const u64 base = fid & ~0x1full;
    return base == 0x8400'0000 || base == 0xc400'0000 || (fid & ~0xff'ffffull) == kVendorFast64;
}

// One call through `conduit`; checks every register it gives back. Returns x0.
i64 call(RawCall conduit, u64 fid, const u64 (&args)[7]) {
    u64 in[31], out[31];
    in[0] = fid;
    for (unsigned i = 0; i < 7; ++i) in[1 + i] = args[i];
    ++sequence;
    for (unsigned i = 8; i < 31; ++i) in[i] = kCanaryTag | (sequence << 8) | i;
    conduit(in, out);
    const i64 status = static_cast<i64>(out[0]);
    for (unsigned i = 8; i < 31; ++i) {
        if (out[i] != in[i]) {
            ++canary_breaches;
            breach("calls: x", i, " changed by call ", hex(fid), ": ", hex(in[i]), " -> ", hex(out[i]));
        }
    }
    // A refused call hands nothing back but its status (CapRevoke also the count it deleted).
    if (status < 0) {
        for (unsigned i = fid == kCapRevoke ? 2 : 1; i < 8; ++i) {
            if (out[i] != in[i]) {
                ++canary_breaches;
                breach("calls: x", i, " changed by refused call ", hex(fid), " (status ", status, "): ", hex(in[i]),
                       " -> ", hex(out[i]));
            }
        }
    }
    if (!served(fid) && status != -1) {
        ++unknown_deviations;
        print("UNEXPECTED calls: ", hex(fid), " answered ", status, " instead of unknown\n");
    }
    return status;
}

void count(Tally& t, i64 status) {
    if (status < 0) {
        t.add_refused();
    } else {
        t.add_reached();
    }
}

void random_args(Random& random, u64 (&args)[7]) {
    for (u64& a : args) {
        const u64 r = random.next();
        // Mostly small values (slot indices, MPIDRs, sizes), sometimes anything.
        a = (r & 3) == 0 ? random.next() : r >> (56 + (r & 7));
    }
}

void storm(RawCall conduit, const char* name, unsigned per_range, Random& random) {
    Tally t;
    u64 args[7];
    for (u64 owner = 0; owner < 64; ++owner) {
        for (u64 kind = 0; kind < 4; ++kind) {  // yielding/fast x SMC32/SMC64
            const u64 base = (kind << 30) | (owner << 24);
            for (unsigned k = 0; k < per_range; ++k) {
                const u64 function = k < 8 ? k : random.next() & 0xffff;
                const u64 fid = base | function | (k % 16 == 15 ? (random.next() & 0xff) << 16 : 0);
                if (skipped(fid)) continue;
                random_args(random, args);
                count(t, call(conduit, fid, args));
            }
        }
    }
    // Every function of the two served ranges, with random arguments.
    for (u64 function = 0; function < 0x100; ++function) {
        for (u64 base : {kVendorFast64, u64{0x8400'0000}, u64{0xc400'0000}}) {
            const u64 fid = base | function;
            if (skipped(fid) || (base != kVendorFast64 && function > 0x1f)) continue;
            random_args(random, args);
            count(t, call(conduit, fid, args));
        }
    }
    // x0 anything at all.
    for (unsigned k = 0; k < per_range * 16; ++k) {
        const u64 fid = random.next();
        if (skipped(fid)) continue;
        random_args(random, args);
        count(t, call(conduit, fid, args));
    }
    // The storm's random ConsoleWrite calls leave bytes in the partition's line (each one that
    // is not printable shown as '?'): a newline ends that line before the result.
    bh::rt::write("\n", 1);
    t.print("calls", name);
}

// A named attempt whose status the expectation states.
i64 named(const char* what, RawCall conduit, u64 fid, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0) {
    const u64 args[7] = {a1, a2, a3, 0, 0, 0, 0};
    const i64 status = call(conduit, fid, args);
    print("ATTEMPT calls ", what, ": status=", status, "\n");
    return status;
}

void psci_attempts() {
    const u64 entry = 0x4000'0000;
    // Other cores by physical MPIDR (U and MT clear, bit 31 set), other affinity levels, vCPU
    // indices the partition does not have: none of them is its own.
    struct Target {
        const char* what;
        u64 mpidr;
    } targets[] = {
        {"cpu-on-core0-mpidr", 0x8000'0000}, {"cpu-on-core2-mpidr", 0x8000'0002}, {"cpu-on-core3-mpidr", 0x8000'0003},
        {"cpu-on-vcpu2", 2},                 {"cpu-on-vcpu3", 3},                 {"cpu-on-vcpu255", 0xff},
        {"cpu-on-aff1", 0x100},              {"cpu-on-aff2", 0x1'0000},           {"cpu-on-aff3", 0x1'0000'0000},
    };
    for (const Target& t : targets) named(t.what, xtf_call_hvc, psci::kCpuOn, t.mpidr, entry, 0);
    named("cpu-on-self", xtf_call_smc, psci::kCpuOn, 0, entry, 0);
    named("affinity-info-core2-mpidr", xtf_call_hvc, psci::kAffinityInfo, 0x8000'0002, 0);
    named("affinity-info-vcpu3", xtf_call_hvc, psci::kAffinityInfo, 3, 0);
    named("affinity-info-level1", xtf_call_hvc, psci::kAffinityInfo, 0, 1);
    named("psci-version", xtf_call_smc, psci::kVersion);
    named("psci-features-system-off", xtf_call_hvc, psci::kFeatures, psci::kSystemOff);
    named("psci-features-cpu-suspend", xtf_call_hvc, psci::kFeatures, 0xc400'0001);
    named("cpu-suspend", xtf_call_smc, 0xc400'0001, 0, entry, 0);
    named("system-off-smc64", xtf_call_smc, 0xc400'0008);
    named("system-reset2", xtf_call_smc, 0x8400'0012, 0, 0);
    named("system-reset2-smc64", xtf_call_hvc, 0xc400'0012, 0, 0);
    named("migrate", xtf_call_smc, 0xc400'0005, 1);
    named("mem-protect", xtf_call_smc, 0x8400'0013, 1);
}

void malformed_attempts() {
    // Not HVC #0: the ABI's immediate is 0, anything else is "unknown" -- even SYSTEM_OFF.
    named("hvc1-system-off", xtf_call_hvc_1, psci::kSystemOff);
    named("hvcffff-psci-version", xtf_call_hvc_ffff, psci::kVersion);
    // SMC immediates are not looked at: an SMC is served by its x0 alone.
    named("smc1234-psci-version", xtf_call_smc_1234, psci::kVersion);
    named("x0-upper-half-system-off", xtf_call_hvc, 0xffff'ffff'8400'0008ull);
    named("x0-upper-half-abi-version", xtf_call_hvc, 0x1'c600'0000ull);
    named("sve-hint-system-off", xtf_call_hvc, 0x8401'0008);
    named("reserved-bits-abi-version", xtf_call_hvc, 0xc680'0000);
    named("yielding-system-off", xtf_call_smc, 0x0400'0008);
    named("smccc-version", xtf_call_smc, 0x8000'0000);
    named("smccc-arch-features", xtf_call_smc, 0x8000'0001, 0x8000'8000);
    named("arch-workaround-1", xtf_call_smc, 0x8000'8000);
    named("vendor-call-count", xtf_call_hvc, 0x8600'ff00);
    named("vendor-uid", xtf_call_hvc, 0x8600'ff01);
    named("abi-version-x1-nonzero", xtf_call_hvc, kVendorFast64, 5);
    named("console-write-x1-nonzero", xtf_call_hvc, kVendorFast64 | 1, 1, 4, 0x41414141);
    named("console-write-41-bytes", xtf_call_hvc, kVendorFast64 | 1, 0, 41, 0x41414141);
    named("vendor-smc32-abi-version", xtf_call_hvc, 0x8600'0000);
    named("cap-identify-cptr-beyond-radix", xtf_call_hvc, kVendorFast64 | 0x10, 1ull << 8);
    named("cap-identify-cptr-negative", xtf_call_hvc, kVendorFast64 | 0x10, ~0ull);
}

}  // namespace

extern "C" void guest_secondary_main(u64) {
    // Never reached: vCPU 1 is started at the victim's physical address, not here.
    print("BREACH calls: vCPU 1 ran its own code\n");
}

extern "C" void guest_main(u64 boot_arg) {
    init();
    const bool long_run = (boot_arg >> 63) != 0;
    print("start: storms over all SMCCC ranges", long_run ? ", long run" : "", "\n");
    psci_attempts();
    malformed_attempts();
    Random random(0xca11'5eed);
    const unsigned per_range = long_run ? 256 : 16;
    storm(xtf_call_hvc, "storm-hvc", per_range, random);
    storm(xtf_call_smc, "storm-smc", per_range, random);
    print("RESULT calls registers: calls=", sequence, " canary-breaches=", canary_breaches,
          " unknown-deviations=", unknown_deviations, "\n");
    // Last: start vCPU 1 at an address in the victim's memory. PSCI 1.1 refuses an entry point
    // that is not executable memory of the caller's own (INVALID_ADDRESS, -9): vCPU 1 never
    // starts, nothing of the victim's is fetched. Then the partition switches itself off.
    print("ATTEMPT calls cpu-on-vcpu1-entry-in-victim: status=", bh::rt::cpu_on(1, 0x4800'0000, 0), "\n");
    bh::rt::system_off();
}
