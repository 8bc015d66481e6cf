// The invariant checker's own reading of a VMSAv8-64 stage-2 descriptor, written from the Arm
// ARM's field tables (DDI 0487, D8.3 "Translation table descriptor formats": the stage-2 table,
// block and page descriptors, 4 KiB granule, 48-bit output address without FEAT_LPA) and not from
// the kernel's encoder (arch/aarch64/stage2_format.hpp), so that an error in the encoder is not
// repeated here and hidden. tests/unit/test_vmsa_descriptor.cpp holds both to each other on every
// attribute combination the kernel emits, and this one to hand-assembled descriptors.
//
// Fields (stage 2, block/page):          Fields (stage 2, table):
//   [1:0]   01 block (levels 1-2)          [1:0]   11 table (levels 1-2)
//           11 page  (level 3; 01 reserved) [47:12] next-level table address
//           x0 invalid                     [58:51] ignored; [63:59] no hierarchical
//   [5:2]   MemAttr (HCR_EL2.FWB = 0)               attributes at stage 2 (RES0)
//   [7:6]   S2AP: bit 6 read, bit 7 write
//   [9:8]   SH
//   [10]    AF
//   [11]    RES0 (FnXS / nT elsewhere)
//   [47:n]  output address, n = 30 (level 1), 21 (level 2), 12 (level 3); [n-1:12] RES0
//   [51]    DBM   [52] Contiguous   [54:53] XN[1:0]   [58:55] software use   [63:59] PBHA/ignored
#pragma once

#include <bulkhead/types.hpp>
#include <memory/map_attributes.hpp>

namespace bh::checker::vmsa {

enum class Kind : u8 { Invalid, Table, Block, Page };

struct Descriptor {
    Kind kind = Kind::Invalid;
    u64 address = 0;  // the output address (block, page) or the next-level table's
    u8 mem_attr = 0;  // [5:2]
    u8 s2ap = 0;      // [7:6]
    u8 sh = 0;        // [9:8]
    bool af = false;  // [10]
    bool dbm = false;         // [51]
    bool contiguous = false;  // [52]
    u8 xn = 0;                // [54:53]
    u64 other = 0;  // every bit set outside the fields above: RES0, ignored, software, PBHA
};

constexpr u64 field(u64 d, unsigned hi, unsigned lo) { return (d >> lo) & ((2ull << (hi - lo)) - 1); }
constexpr u64 bits(unsigned hi, unsigned lo) { return ((2ull << (hi - lo)) - 1) << lo; }

// Output address bits of a block or page at `level` (1, 2, 3): [47:30], [47:21], [47:12].
constexpr unsigned output_low_bit(unsigned level) { return level == 1 ? 30 : level == 2 ? 21 : 12; }

constexpr Descriptor decode(unsigned level, u64 d) {
    Descriptor r;
    const u64 type = field(d, 1, 0);
    if ((type & 1) == 0) return r;  // invalid at every level
    if (level < 3) {
        if (type == 0b11) {
            r.kind = Kind::Table;
            r.address = d & bits(47, 12);
            r.other = d & ~(bits(1, 0) | bits(47, 12));
            return r;
        }
        r.kind = Kind::Block;
    } else {
        if (type != 0b11) return r;  // 01 at level 3 is reserved: the walker treats it as invalid
        r.kind = Kind::Page;
    }
    const unsigned low = output_low_bit(level);
    r.address = d & bits(47, low);
    r.mem_attr = static_cast<u8>(field(d, 5, 2));
    r.s2ap = static_cast<u8>(field(d, 7, 6));
    r.sh = static_cast<u8>(field(d, 9, 8));
    r.af = field(d, 10, 10) != 0;
    r.dbm = field(d, 51, 51) != 0;
    r.contiguous = field(d, 52, 52) != 0;
    r.xn = static_cast<u8>(field(d, 54, 53));
    r.other = d & ~(bits(1, 0) | bits(5, 2) | bits(7, 6) | bits(9, 8) | bits(10, 10) | bits(47, low) | bits(51, 51) |
                    bits(52, 52) | bits(54, 53));
    return r;
}

// MemAttr[3:2] = 00 is Device memory (MemAttr[1:0] its type: nGnRnE, nGnRE, nGRE, GRE); any other
// value is Normal memory.
constexpr bool is_device(const Descriptor& r) { return (r.mem_attr >> 2) == 0; }

// What a guest can do through a leaf. Execute: XN = 00 allows it at EL1 and EL0; 01 and 11 (with
// FEAT_XNX) allow it at one of them; only 10 forbids it everywhere, so only 10 reads as
// non-executable here (without FEAT_XNX XN[0] is RES0, and the kernel's policy below refuses it).
constexpr MapAttributes access_of(const Descriptor& r) {
    namespace attr = manifest::attr;
    u64 a = 0;
    if (r.s2ap & 0b01) a |= attr::kRead;
    if (r.s2ap & 0b10) a |= attr::kWrite;
    if (r.xn != 0b10) a |= attr::kExecute;
    if (is_device(r)) a |= attr::kDevice;
    return MapAttributes::from_bits(a);
}

// The kernel's policy for the descriptors it writes (docs/isolation.md, "Stage 2"), stated on the
// fields: a table descriptor carries only its address; a leaf is accessed (AF = 1), readable or
// writable, Normal write-back inner-shareable (MemAttr 1111, SH 11) or Device-nGnRE with SH 00,
// never executable as device memory, XN[0] clear, without DBM or the contiguous hint, and with no
// bit outside the fields set.
constexpr bool kernel_table(const Descriptor& r) { return r.kind == Kind::Table && r.other == 0; }
constexpr bool kernel_leaf(const Descriptor& r) {
    if (r.kind != Kind::Block && r.kind != Kind::Page) return false;
    if (r.other != 0 || !r.af || r.s2ap == 0 || r.dbm || r.contiguous || (r.xn & 0b01) != 0) return false;
    if (is_device(r)) return r.mem_attr == 0b0001 && r.sh == 0b00 && r.xn == 0b10;
    return r.mem_attr == 0b1111 && r.sh == 0b11;
}

}  // namespace bh::checker::vmsa
