// Attack class "memory" (threats T-1, T-4, T-5; invariants INV-1, INV-2): reach memory outside
// the partition's own mappings by every IPA that could lead there. The partition runs with
// `faults = "inject"`, so each stage-2 fault comes back as an external abort and the next
// attempt follows. Every attempt must end contained (or, for addresses a stage-1 walk cannot
// even produce, in the guest's own stage-1 fault); any load or store that completes is a BREACH.
//
// boot_arg: the victim's physical address (bits [47:0]) and bit 63: long run (every 4 KiB page of
// RAM and every 2 MiB of the IPA space instead of samples).
//
// Groups, each ending in a RESULT line (the expectation requires reached=0):
//   kernel-region   every 4 KiB page of the kernel's 64 MiB (image, boot CNode, object memory,
//                   boot payload with every partition's image) as IPA == PA, read and write
//   victim          every 4 KiB page of the victim's RAM as IPA == PA, read and write
//   ram             every 2 MiB of RAM outside the partition (long: every 4 KiB), first and
//                   last word
//   ipa-space       every 1 GiB of the 40-bit IPA space (long: every 2 MiB), first and last word
//   edges           the words just outside each of the partition's own ranges
//   aliases         the victim's and the kernel's PAs by IPAs that could alias them: +2^32,
//                   +2^39, +2^40 (beyond the IPA size), the upper VA range, and relative to the
//                   partition's own base; and exclusive, acquire/release, pair and LSE forms
//   execute         instruction fetches from the kernel image, object memory, payload, victim
//   mmu-on          the kernel region and victim again with the guest's MMU on (Normal memory):
//                   unaligned loads and stores, DC ZVA
#include <bulkhead/platform.hpp>
#include <console.hpp>
#include <hypercall.hpp>

#include "mmu.hpp"
#include "xtf.hpp"

using namespace xtf;
using bh::rt::hex;
using bh::rt::print;

namespace {

constexpr u64 kPage = 4096;
constexpr u64 kBlock2M = 2ull << 20;
constexpr u64 kGiB = 1ull << 30;
constexpr u64 kVictimSize = 4ull << 20;
constexpr u64 kIpaLimit = 1ull << bh::platform::kIpaBits;
constexpr u64 kRamEnd = bh::platform::kRamBase + bh::platform::kDefaultRamSize;

Range own[16];
unsigned own_count = 0;
u64 breaches = 0;
Tally total;

bool is_own(u64 a) {
    for (unsigned i = 0; i < own_count; ++i)
        if (own[i].contains(a)) return true;
    return false;
}

// A completed access outside the partition: the line says where and what it read.
void check(const char* group, const char* access, u64 address, const Outcome& o, Tally& t) {
    t.add(o);
    total.add(o);
    if (!o.faulted) {
        ++breaches;
        breach("memory ", group, " ", access, " at ", hex(address), " completed, read ", hex(o.value));
    }
}

void read_write(const char* group, u64 address, Tally& t) {
    if (is_own(address)) return;
    check(group, "read", address, read64(address), t);
    check(group, "write", address, write64(address, 0xbadc0ffee0ddf00dull), t);
}

void pages(const char* group, u64 base, u64 size, u64 step, Tally& t) {
    for (u64 a = base; a - base < size; a += step) read_write(group, a, t);
}

// First and last word of every `step` in [base, base + size).
void samples(const char* group, u64 base, u64 size, u64 step, Tally& t) {
    for (u64 a = base; a - base < size; a += step) {
        if (!is_own(a)) check(group, "read", a, read64(a), t);
        if (!is_own(a + step - 8)) check(group, "read", a + step - 8, read64(a + step - 8), t);
    }
}

void one(const char* what, u64 address, const Outcome& o, Tally& t) {
    attempt("memory", what, o);
    t.add(o);
    total.add(o);
    if (!o.faulted) {
        ++breaches;
        breach("memory alias ", what, " at ", hex(address), " completed, read ", hex(o.value));
    }
}

void aliases(u64 victim, Tally& t) {
    const u64 kernel_data = bh::platform::kObjectMemoryBase;
    struct Alias {
        const char* what;
        u64 address;
    } list[] = {
        {"victim+2^32", victim + (1ull << 32)},
        {"victim+2^39", victim + (1ull << 39)},
        {"victim+2^40", victim + (1ull << 40)},
        {"victim-upper-va", victim | 0xffff'ff00'0000'0000ull},
        {"victim-own-relative", own[0].base + (victim - bh::platform::kRamBase)},
        {"objects+2^32", kernel_data + (1ull << 32)},
        {"objects+2^39", kernel_data + (1ull << 39)},
        {"objects+2^40", kernel_data + (1ull << 40)},
        {"payload-upper-va", bh::platform::kPayloadBase | 0xffff'ff00'0000'0000ull},
        {"ipa-limit-minus-8", kIpaLimit - 8},
        {"top-of-va", ~0ull - 7},
    };
    for (const Alias& a : list) one(a.what, a.address, read64(a.address), t);
    // Other access forms on the victim's first page and on object memory.
    const u64 targets[] = {victim, kernel_data};
    for (u64 target : targets) {
        const bool v = target == victim;
        one(v ? "victim-ldxr" : "objects-ldxr", target, load_exclusive(target), t);
        // Without the exclusive monitor (the LDXR above faulted) a store-exclusive may fail
        // without any access: not performed, status 1. If it is performed, stage 2 decides.
        const Outcome stxr = store_exclusive(target, 1);
        if (!stxr.faulted && stxr.value == 1) {
            print("ATTEMPT memory ", v ? "victim-stxr" : "objects-stxr", ": not-performed status=1\n");
            t.add_refused();
            total.add_refused();
        } else {
            one(v ? "victim-stxr" : "objects-stxr", target, stxr, t);
        }
        one(v ? "victim-ldar" : "objects-ldar", target, load_acquire(target), t);
        one(v ? "victim-stlr" : "objects-stlr", target, store_release(target, 1), t);
        one(v ? "victim-ldp" : "objects-ldp", target, load_pair(target), t);
        one(v ? "victim-ldadd" : "objects-ldadd", target, atomic_add(target, 1), t);
        one(v ? "victim-byte" : "objects-byte", target + 3, read8(target + 3), t);
    }
}

void fetches(u64 victim, Tally& t) {
    struct Target {
        const char* what;
        u64 address;
    } list[] = {
        {"execute-kernel-image", bh::platform::kKernelImageBase + 0x00a0'0000},
        {"execute-boot-cnode", bh::platform::kBootCNodeBase},
        {"execute-objects", bh::platform::kObjectMemoryBase},
        {"execute-payload", bh::platform::kPayloadBase},
        {"execute-victim", victim},
    };
    for (const Target& x : list) {
        if (is_own(x.address)) continue;
        one(x.what, x.address, execute(x.address), t);
    }
}

// With the MMU on, accesses as Normal memory: unaligned ones and DC ZVA reach stage 2 too.
void mmu_on(u64 victim, bool long_run, Tally& t) {
    mmu_identity_on();
    const u64 step = long_run ? kPage : 16 * kPage;
    for (u64 a = bh::platform::kKernelRegionBase; a < bh::platform::kKernelRegionBase + bh::platform::kKernelRegionSize;
         a += step) {
        if (is_own(a)) continue;
        check("mmu-on", "unaligned-read", a + 3, read64(a + 3), t);
        check("mmu-on", "unaligned-write", a + 5, write32(a + 5, 0xdead), t);
        check("mmu-on", "dc-zva", a, dc_zva(a), t);
    }
    for (u64 a = victim; a < victim + kVictimSize; a += kPage) {
        check("mmu-on", "unaligned-read", a + 1, read64(a + 1), t);
        check("mmu-on", "dc-zva", a, dc_zva(a), t);
    }
}

}  // namespace

extern "C" void guest_main(bh::u64 boot_arg) {
    init();
    const u64 victim = boot_arg & 0xffff'ffff'ffffull;
    const bool long_run = (boot_arg >> 63) != 0;
    own[0] = own_ram();
    own_count = 1;
    print("start: ", own_count, " own ranges, first ", hex(own[0].base), "+", hex(own[0].size), ", victim at ",
          hex(victim), long_run ? ", long run" : "", "\n");

    Tally kernel, victim_pages, ram, space, edges, alias, exec, mmu;
    pages("kernel-region", bh::platform::kKernelRegionBase, bh::platform::kKernelRegionSize, kPage, kernel);
    kernel.print("memory", "kernel-region");
    pages("victim", victim, kVictimSize, kPage, victim_pages);
    victim_pages.print("memory", "victim");
    samples("ram", bh::platform::kRamBase, bh::platform::kDefaultRamSize, long_run ? kPage : kBlock2M, ram);
    ram.print("memory", "ram");
    samples("ipa-space", 0, kIpaLimit, long_run ? kBlock2M : kGiB, space);
    space.print("memory", "ipa-space");
    for (unsigned i = 0; i < own_count; ++i) {
        read_write("edges", own[i].base - 8, edges);
        read_write("edges", own[i].base + own[i].size, edges);
    }
    edges.print("memory", "edges");
    aliases(victim, alias);
    alias.print("memory", "aliases");
    fetches(victim, exec);
    exec.print("memory", "execute");
    mmu_on(victim, long_run, mmu);
    mmu.print("memory", "mmu-on");
    total.print("memory", "all");
    print(breaches == 0 ? "done: no access outside the partition completed\n" : "done: BREACHES\n");
    (void)kRamEnd;
}
