// Test guest for the capability hypercalls (config/tests/caps.dts, tests/qemu/caps.expect). Its
// CSpace root holds: 1 = its own CNode, 2 and 3 = the two 2 MiB frames of its RAM (IPA
// 0x4000_0000, mapped at boot through the kernel's original caps; 2 and 3 are mints of them),
// 4 = an unmapped 4 KiB frame with rights Read|Write|Grant (11).
// Every step prints one line with the status the kernel returned; the expectation file holds
// the statuses that must come back. The last step reads through a mapping whose cap was revoked:
// the kernel must contain that as a stage-2 data abort, so "REVOKED MAPPING STILL READABLE"
// must never appear.
//
// The MMU is off (Device memory, -mstrict-align): the frames are touched only with aligned
// 32-bit accesses in inline assembly.
#include <console.hpp>
#include <hypercall.hpp>

using namespace bh::rt;
using bh::i64;
using bh::u32;
using bh::u64;

namespace {

// Slots of the CSpace root (config/tests/caps.dts) and the slots this guest fills.
constexpr u64 kOwnCNode = 1;
constexpr u64 kRamFrame0 = 2;       // 2 MiB, RAM at IPA 0x4000_0000 (boot mapping)
constexpr u64 kSpareFrame = 4;      // 4 KiB, unmapped, rights R|W|G
constexpr u64 kReadOnlyCopy = 10;   // minted from 4 with Read only
constexpr u64 kNoGrantTarget = 11;  // copy of 10 (must be refused)
constexpr u64 kAllRightsMint = 12;  // minted from 4 with every right in the mask
constexpr u64 kScratch = 13;        // minted from 4 with Read, for the argument checks
constexpr u64 kBeyondRadix = 9999;  // above any radix (<= 12): bits set above the lookup depth

// IPAs: the partition's RAM is 0x4000_0000 .. 0x403F_FFFF; the others are outside it.
constexpr u64 kReadOnlyIpa = 0x5000'0000;   // slot 10 (read-only)
constexpr u64 kReadWriteIpa = 0x5000'1000;  // slot 4 (read-write): the same frame again
constexpr u64 kUnusedIpa = 0x5000'3000;     // never mapped
constexpr u64 kRamFrame1Ipa = 0x4020'0000;  // the second 2 MiB of RAM (frame 3), 2 MiB aligned
constexpr u64 kMisalignedIpa = 0x5000'4800; // unmapped range, not 4 KiB aligned
constexpr u64 kBeyondIpaBits = 1ull << 40;  // first IPA beyond the 40-bit IPA space

constexpr u32 kPattern = 0x1234'abcd;

u32 load32(u64 address) {
    u32 value;
    asm volatile("ldr %w0, [%1]" : "=r"(value) : "r"(address) : "memory");
    return value;
}

void store32(u64 address, u32 value) {
    // The dsb completes the store before the next access, which may be through another alias.
    asm volatile("str %w0, [%1]\n\tdsb sy" : : "r"(value), "r"(address) : "memory");
}

unsigned flag(bool b) { return b ? 1u : 0u; }

}  // namespace

extern "C" void guest_main(u64) {
    // a) What the partition holds.
    print("abi version ", abi_version(), "\n");
    const PartitionInfo info = partition_info();
    print("partition_info: status ", info.status, " cspace radix ", info.cspace_radix, "\n");
    const CapInfo spare = cap_identify(kSpareFrame);
    print("identify 4: status ", spare.status, " type ", spare.type, " rights ", spare.rights,
          " size_bits ", spare.size_bits, " mapped ", flag(spare.mapped), "\n");

    // b) A read-only derivative.
    print("mint 4 -> 10 read-only: status ", cap_mint(kSpareFrame, kReadOnlyCopy, rights::kRead, 0), "\n");
    const CapInfo ro = cap_identify(kReadOnlyCopy);
    print("identify 10: status ", ro.status, " type ", ro.type, " rights ", ro.rights, " mapped ",
          flag(ro.mapped), "\n");

    // c) A mapping that exceeds the cap's rights is refused.
    print("map read-write through read-only cap: status ",
          frame_map(kReadOnlyCopy, kReadOnlyIpa, map_attr::kRead | map_attr::kWrite), "\n");

    // d) No Grant on 10: it cannot be copied, and the refused copy leaves slot 11 empty.
    print("copy 10 -> 11 without grant: status ", cap_copy(kReadOnlyCopy, kNoGrantTarget), "\n");
    const CapInfo refused = cap_identify(kNoGrantTarget);
    print("identify 11: status ", refused.status, " type ", refused.type, "\n");

    // e) Rights never grow: a mint asking for every right gets at most the source's.
    print("mint 4 -> 12 all rights: status ", cap_mint(kSpareFrame, kAllRightsMint, rights::kAll, 0), "\n");
    const CapInfo all = cap_identify(kAllRightsMint);
    print("identify 12: status ", all.status, " rights ", all.rights, " (source rights ", spare.rights, ")\n");
    print("delete 12: status ", cap_delete(kAllRightsMint), "\n");

    // f) Two mappings of one frame in this partition: read-only through 10, read-write through 4.
    const i64 map_ro = frame_map(kReadOnlyCopy, kReadOnlyIpa, map_attr::kRead);
    print("map 10 read-only at 0x50000000: status ", map_ro, "\n");
    if (map_ro == 0) {
        print("read at 0x50000000: ", hex(load32(kReadOnlyIpa)), "\n");
        const CapInfo mapped = cap_identify(kReadOnlyCopy);
        print("identify 10: status ", mapped.status, " mapped ", flag(mapped.mapped), " at ", hex(mapped.ipa), "\n");
    } else {
        print("skipping the read: 10 is not mapped\n");
    }
    const i64 map_rw = frame_map(kSpareFrame, kReadWriteIpa, map_attr::kRead | map_attr::kWrite);
    print("map 4 read-write at 0x50001000: status ", map_rw, "\n");
    if (map_ro == 0 && map_rw == 0) {
        store32(kReadWriteIpa, kPattern);
        print("wrote ", hex(kPattern), " at 0x50001000, read at 0x50000000: ", hex(load32(kReadOnlyIpa)), "\n");
    } else {
        print("skipping the write: a mapping is missing\n");
    }

    // g) Bad arguments. Each call is set up so that exactly one check can fail.
    print("identify 9999 (beyond the radix): status ", cap_identify(kBeyondRadix).status, "\n");
    print("mint 4 -> 1 (occupied): status ", cap_mint(kSpareFrame, kOwnCNode, rights::kRead, 0), "\n");
    // 2 is a mint of the kernel's boot cap, which holds the boot mapping: 2 itself is unmapped
    // (CapIdentify reports only the caller's own cap). Mapping it over its partition's RAM is
    // Exists either way: the IPA range is taken by the boot mapping of frame 3 (and if 2 were
    // the mapped cap, because it is).
    const CapInfo ram = cap_identify(kRamFrame0);
    print("identify 2: status ", ram.status, " type ", ram.type, " rights ", ram.rights, " size_bits ",
          ram.size_bits, " mapped ", flag(ram.mapped), "\n");
    print("map 2 over the boot mapping at 0x40200000: status ",
          frame_map(kRamFrame0, kRamFrame1Ipa, map_attr::kRead), "\n");
    print("map 4 (already mapped) at 0x50003000: status ", frame_map(kSpareFrame, kUnusedIpa, map_attr::kRead),
          "\n");
    print("mint 4 -> 13 read-only: status ", cap_mint(kSpareFrame, kScratch, rights::kRead, 0), "\n");
    print("map 13 at misaligned 0x50004800: status ", frame_map(kScratch, kMisalignedIpa, map_attr::kRead),
          "\n");
    print("map 13 over the mapped IPA 0x50000000: status ", frame_map(kScratch, kReadOnlyIpa, map_attr::kRead),
          "\n");
    print("map 13 at 0x10000000000 (beyond 40 bits): status ",
          frame_map(kScratch, kBeyondIpaBits, map_attr::kRead), "\n");
    print("map 13 with attrs 0: status ", frame_map(kScratch, kUnusedIpa, 0), "\n");
    print("unmap 13 (not mapped): status ", frame_unmap(kScratch), "\n");
    print("delete 13: status ", cap_delete(kScratch), "\n");

    // h) Revoking 4 deletes its one remaining descendant (10) and 10's mapping with it; 4 itself
    //    and its own mapping stay.
    const RevokeResult revoked = revoke_all(kSpareFrame);
    print("revoked: deleted ", revoked.deleted, ", status ", revoked.status, "\n");
    const CapInfo gone = cap_identify(kReadOnlyCopy);
    print("identify 10 after revoke: status ", gone.status, " type ", gone.type, "\n");
    const CapInfo kept = cap_identify(kSpareFrame);
    print("identify 4 after revoke: status ", kept.status, " type ", kept.type, " mapped ", flag(kept.mapped),
          " at ", hex(kept.ipa), "\n");
    if (map_rw == 0) print("read at 0x50001000 after revoke: ", hex(load32(kReadWriteIpa)), "\n");

    // i) The revoked mapping must be gone: this read is a stage-2 data abort that stops the
    //    partition.
    print("reading the revoked mapping at 0x50000000\n");
    const u32 leaked = load32(kReadOnlyIpa);
    print("REVOKED MAPPING STILL READABLE: ", hex(leaked), "\n");
    system_off();
}
