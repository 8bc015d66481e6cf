// Attack class "cache and TLB maintenance" (threats T-16, T-17, T-4; invariants INV-1, INV-7):
// every SYS and SYSL encoding (op0 = 1: all op1, CRn, CRm, op2 -- cache maintenance, TLB
// invalidation, address translation, prediction restriction and implementation-defined
// operations; 32,768 instructions) with Xt the address of a scratch line of its own, then the
// by-address operations on addresses it does not own (the victim's RAM, the kernel's object
// memory, its image, the GIC), then a storm of broadcast TLB and instruction-cache invalidation
// next to the victim. It runs with `faults = "inject"`.
//
// Must hold: the operations it reaches are exactly docs/isolation.md's table "Cache, TLB and
// address-translation operations a partition reaches" (the expectation is generated from it);
// set/way operations (DC ISW/CSW/CISW) trap and come back undefined (they would clean or discard
// other partitions' lines); EL2 and EL3 operations (TLBI ALLE1/ALLE2, IPAS2E1, VMALLS12E1, AT
// S12E1*/S1E2*) are undefined at EL1; zeroing by address (DC ZVA) of memory it does not own is a
// contained stage-2 fault; every TLBI it may run acts on its own VMID only, so the victim's memory
// and pace are unharmed. (QEMU models no caches: it runs DC IVAC/CVAC/CIVAC/CVAU and IC IVAU on
// any address as no-ops without translating it, so on QEMU those report "reached" for foreign
// addresses and show nothing; on hardware each needs a stage-2 translation and faults there.)
//
// Lines: "REACH S1_<op1>_C<n>_C<m>_<op2> sys|sysl" per operation that executed, RESULT lines.
// boot_arg bit 63: long run (ten times the storm).
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using bh::rt::hex;
using bh::rt::print;

namespace {

constexpr u32 kEncodings = 8 * 16 * 16 * 8;
constexpr u32 kRet = 0xd65f03c0;
constexpr u32 kSys = 0xd5080000;   // SYS #op1, Cn, Cm, #op2, x0 (op0 = 1, L = 0)
constexpr u32 kSysl = 0xd5280000;  // SYSL x0, #op1, Cn, Cm, #op2 (L = 1)

alignas(4096) u32 stubs[2 * kEncodings][2];
alignas(4096) u8 scratch[4096];

constexpr u32 op1_of(u32 i) { return (i >> 11) & 7; }
constexpr u32 crn_of(u32 i) { return (i >> 7) & 15; }
constexpr u32 crm_of(u32 i) { return (i >> 3) & 15; }
constexpr u32 op2_of(u32 i) { return i & 7; }
constexpr u32 fields(u32 i) { return (op1_of(i) << 16) | (crn_of(i) << 12) | (crm_of(i) << 8) | (op2_of(i) << 5); }

Stub stub(u32 index) { return reinterpret_cast<Stub>(reinterpret_cast<u64>(stubs[index])); }

void generate() {
    for (u32 i = 0; i < kEncodings; ++i) {
        stubs[i][0] = kSys | fields(i);
        stubs[i][1] = kRet;
        stubs[kEncodings + i][0] = kSysl | fields(i);
        stubs[kEncodings + i][1] = kRet;
    }
    asm volatile("dsb ish\n\tic iallu\n\tdsb ish\n\tisb" ::: "memory");
}

// The encoding index of SYS #op1, Cn, Cm, #op2.
constexpr u32 index_of(u32 op1, u32 crn, u32 crm, u32 op2) { return (op1 << 11) | (crn << 7) | (crm << 3) | op2; }

struct Named {
    const char* name;
    u32 index;
};

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    init();
    const u64 scale = (boot_arg >> 63) != 0 ? 10 : 1;
    generate();
    const u64 own = reinterpret_cast<u64>(scratch);
    print("start: ", kEncodings, " SYS and ", kEncodings, " SYSL encodings on its own line ", hex(own), "\n");

    // 1. The sweep, on its own scratch line.
    Tally sys, sysl;
    u64 operations = 0;
    for (u32 i = 0; i < kEncodings; ++i) {
        const Outcome s = call(stub(i), own);
        const Outcome l = call(stub(kEncodings + i), 0);
        sys.add(s);
        sysl.add(l);
        operations += !s.faulted || !l.faulted ? 1 : 0;
        if (!s.faulted || !l.faulted)
            print("REACH S1_", op1_of(i), "_C", crn_of(i), "_C", crm_of(i), "_", op2_of(i), " ",
                  s.faulted ? "sysl" : (l.faulted ? "sys" : "sys+sysl"), "\n");
    }
    print("RESULT maintenance reach: operations=", operations, " sys=", sys.reached, " sysl=", sysl.reached, "\n");
    sys.print("maintenance", "sys");
    sysl.print("maintenance", "sysl");

    // 2. What the sweep must have found out of reach, by name.
    const Named kNamed[] = {
        {"dc-isw", index_of(0, 7, 6, 2)},        {"dc-csw", index_of(0, 7, 10, 2)},
        {"dc-cisw", index_of(0, 7, 14, 2)},      {"tlbi-alle2", index_of(4, 8, 7, 0)},
        {"tlbi-alle1is", index_of(4, 8, 3, 4)},  {"tlbi-vmalls12e1is", index_of(4, 8, 3, 6)},
        {"tlbi-ipas2e1is", index_of(4, 8, 0, 1)}, {"tlbi-alle3", index_of(6, 8, 7, 0)},
        {"at-s12e1r", index_of(4, 7, 8, 4)},     {"at-s1e2r", index_of(4, 7, 8, 0)},
        {"ic-ialluis", index_of(0, 7, 1, 0)},    {"tlbi-vmalle1is", index_of(0, 8, 3, 0)},
        {"dc-civac-own", index_of(3, 7, 14, 1)},
    };
    for (const Named& n : kNamed) {
        const Outcome o = call(stub(n.index), own);
        attempt("maintenance", n.name, o);
    }

    // 3. By address, on memory it does not own: invalidate, clean, zero, and translate.
    // The victim's RAM, the kernel's boot CNode, object memory and payload (IPA == PA), the GIC.
    const u64 foreign[] = {0x4800'0000, 0x4800'0040, 0x40f0'0000, 0x4100'0000, 0x4200'0000, 0x0800'0000};
    const Named kByAddress[] = {
        {"dc-ivac", index_of(0, 7, 6, 1)},   {"dc-cvac", index_of(3, 7, 10, 1)}, {"dc-civac", index_of(3, 7, 14, 1)},
        {"dc-cvau", index_of(3, 7, 11, 1)},  {"ic-ivau", index_of(3, 7, 5, 1)},  {"dc-zva", index_of(3, 7, 4, 1)},
        {"tlbi-vae1is", index_of(0, 8, 3, 1)}, {"at-s1e1r", index_of(0, 7, 8, 0)},
    };
    Tally by_address;
    for (const Named& n : kByAddress) {
        u64 contained = 0, reached = 0, other = 0;
        for (u64 a : foreign) {
            const Outcome o = call(stub(n.index), a);
            by_address.add(o);
            contained += o.kind() == Kind::Contained ? 1 : 0;
            reached += o.faulted ? 0 : 1;
            other += o.faulted && o.kind() != Kind::Contained ? 1 : 0;
        }
        print("ATTEMPT maintenance foreign-", n.name, ": contained=", contained, " reached=", reached, " other=", other, "\n");
    }
    by_address.print("maintenance", "foreign");

    // 4. A storm of broadcast TLB invalidation next to the victim. QEMU performs each broadcast
    // with every vCPU stopped, which ends this vCPU's turn: the storm is counted in the other
    // vCPUs' turns, not in instructions (60 broadcasts span about 25 of the victim's heartbeats).
    // IC IALLUIS, run by the sweep above, is the same.
    const Stub storm[] = {stub(index_of(0, 8, 3, 0)), stub(index_of(0, 8, 3, 1)), stub(index_of(0, 8, 3, 2))};
    u64 storms = 0;
    for (u64 i = 0; i < 20 * scale; ++i) {
        for (Stub s : storm) {
            const Outcome o = call(s, 0);
            storms += o.faulted ? 0 : 1;
        }
    }
    print("RESULT maintenance storm: ", storms, " broadcast TLB invalidations\n");
    print("RESULT maintenance undefined: ", sys.undefined + sysl.undefined, " contained: ",
          sys.contained + sysl.contained + by_address.contained, "\n");
}
