// The checker's own stage-2 descriptor decoder (kernel/invariants/vmsa_descriptor.hpp), written
// from the Arm ARM's field tables, against the kernel's encoder (arch/aarch64/stage2_format.hpp)
// and against descriptors assembled by hand from those tables.
#include <catch2/catch_test_macros.hpp>

#include <arch/stage2.hpp>
#include <invariants/vmsa_descriptor.hpp>

using namespace bh;
namespace vmsa = bh::checker::vmsa;
namespace attr = bh::manifest::attr;

TEST_CASE("vmsa decoder and the kernel's encoder agree on every leaf and table the kernel writes", "[invariants][stage2][INV-2]") {
    u32 leaves = 0;
    for (unsigned level = stage2::kFirstLevel; level <= stage2::kLastLevel; ++level) {
        const u64 size = stage2::level_size(level);
        // The lowest, a middle and the highest output address of the 40-bit output space.
        for (u64 pa : {u64{0}, u64{0x40'0000'0000ull & ~(size - 1)}, u64{stage2::kOutputLimit - size}}) {
            for (u64 a = 0; a <= attr::kAll; ++a) {
                if ((a & ~attr::kAll) != 0) continue;  // R, W, X and device: every subset once
                const MapAttributes attrs = MapAttributes::from_bits(a);
                if (!attrs.encodable()) continue;  // what MapAttributes lets reach the encoder
                const u64 d = stage2::make_leaf(level, pa, attrs);
                INFO("level " << level << " pa " << std::hex << pa << " attrs " << a << " descriptor " << d);
                const vmsa::Descriptor r = vmsa::decode(level, d);
                CHECK(r.kind == (level == 3 ? vmsa::Kind::Page : vmsa::Kind::Block));
                CHECK(r.address == pa);
                CHECK(vmsa::access_of(r) == attrs);
                CHECK(vmsa::kernel_leaf(r));
                // The kernel's own reading of the same bits agrees.
                CHECK(stage2::decode_leaf_attrs(d) == vmsa::access_of(r));
                CHECK(stage2::leaf_output(level, d) == r.address);
                ++leaves;
            }
            if (level < stage2::kLastLevel) {
                const u64 t = stage2::make_table(pa + 0x1000);
                const vmsa::Descriptor r = vmsa::decode(level, t);
                CHECK(r.kind == vmsa::Kind::Table);
                CHECK(r.address == pa + 0x1000);
                CHECK(vmsa::kernel_table(r));
            }
        }
    }
    // R, W, RW with and without X, and R, W, RW as device memory: 9 combinations, 3 levels, 3 addresses.
    CHECK(leaves == 9 * 3 * 3);
}

TEST_CASE("vmsa decoder reads hand-assembled descriptors per the Arm ARM's tables", "[invariants][stage2]") {
    // Page (level 3): [1:0] 11, MemAttr 1111 (Normal, outer and inner write-back), S2AP 11 (read,
    // write), SH 11 (inner shareable), AF 1, OA 0x4000_0000, XN 10 (no execution).
    const u64 page = 0b11 | 0b1111ull << 2 | 0b11ull << 6 | 0b11ull << 8 | 1ull << 10 | 0x4000'0000ull | 0b10ull << 53;
    CHECK(page == 0x0040'0000'4000'07FFull);
    vmsa::Descriptor r = vmsa::decode(3, page);
    CHECK(r.kind == vmsa::Kind::Page);
    CHECK(r.address == 0x4000'0000);
    CHECK(r.mem_attr == 0b1111);
    CHECK(r.s2ap == 0b11);
    CHECK(r.sh == 0b11);
    CHECK(r.af);
    CHECK(r.xn == 0b10);
    CHECK(r.other == 0);
    CHECK(vmsa::access_of(r) == MapAttributes::from_bits(attr::kRead | attr::kWrite));
    CHECK(vmsa::kernel_leaf(r));

    // Block (level 2, 2 MiB): [1:0] 01, S2AP 01 (read only), XN 00 (executable at EL1 and EL0).
    const u64 block = 0b01 | 0b1111ull << 2 | 0b01ull << 6 | 0b11ull << 8 | 1ull << 10 | 0x4020'0000ull;
    r = vmsa::decode(2, block);
    CHECK(r.kind == vmsa::Kind::Block);
    CHECK(r.address == 0x4020'0000);
    CHECK(vmsa::access_of(r) == MapAttributes::from_bits(attr::kRead | attr::kExecute));
    CHECK(vmsa::kernel_leaf(r));
    // The same bits at level 3 are the reserved encoding: invalid.
    CHECK(vmsa::decode(3, block).kind == vmsa::Kind::Invalid);

    // Block (level 1, 1 GiB) of Device-nGnRE (MemAttr 0001), SH 00, read-write, XN 10.
    const u64 device = 0b01 | 0b0001ull << 2 | 0b11ull << 6 | 1ull << 10 | 0x8000'0000ull | 0b10ull << 53;
    r = vmsa::decode(1, device);
    CHECK(r.kind == vmsa::Kind::Block);
    CHECK(r.address == 0x8000'0000);
    CHECK(vmsa::is_device(r));
    CHECK(vmsa::access_of(r) == MapAttributes::from_bits(attr::kRead | attr::kWrite | attr::kDevice));
    CHECK(vmsa::kernel_leaf(r));

    // Table (level 1): [1:0] 11 and the next table's address, nothing else.
    r = vmsa::decode(1, 0x4100'3003);
    CHECK(r.kind == vmsa::Kind::Table);
    CHECK(r.address == 0x4100'3000);
    CHECK(vmsa::kernel_table(r));
    CHECK_FALSE(vmsa::kernel_table(vmsa::decode(1, 0x4100'3003 | 1ull << 63)));  // NSTable is stage 1's

    // Invalid whatever else is set: bit 0 clear.
    CHECK(vmsa::decode(2, page & ~1ull).kind == vmsa::Kind::Invalid);

    // What the kernel's policy refuses, each field on its own.
    const auto leaf_ok = [](unsigned level, u64 d) { return vmsa::kernel_leaf(vmsa::decode(level, d)); };
    CHECK_FALSE(leaf_ok(3, page & ~(1ull << 10)));          // AF clear: an access flag fault on first use
    CHECK_FALSE(leaf_ok(3, page | 1ull << 52));             // the contiguous hint
    CHECK_FALSE(leaf_ok(3, page | 1ull << 51));             // DBM
    CHECK_FALSE(leaf_ok(3, page | 1ull << 53));             // XN[0] (FEAT_XNX: EL1 may execute)
    CHECK_FALSE(leaf_ok(3, page & ~(0b11ull << 6)));        // S2AP 00: no access at all
    CHECK_FALSE(leaf_ok(3, page | 1ull << 11));             // RES0
    CHECK_FALSE(leaf_ok(3, page | 1ull << 55));             // software bits
    CHECK_FALSE(leaf_ok(3, (page & ~(0xFull << 2)) | 0b0101ull << 2));  // Normal non-cacheable
    CHECK_FALSE(leaf_ok(1, device | 1ull << 20));           // inside a 1 GiB block's RES0 address bits
    CHECK_FALSE(leaf_ok(1, device & ~(0b10ull << 53)));     // executable device memory
    CHECK_FALSE(leaf_ok(1, device & ~(0xFull << 2)));       // Device-nGnRnE: not the kernel's type
    CHECK(vmsa::is_device(vmsa::decode(1, device & ~(0xFull << 2))));
    // XN 01 or 11 (FEAT_XNX) may execute at one EL: read as executable, never as "no execution".
    CHECK(vmsa::access_of(vmsa::decode(3, page | 1ull << 53)).executable());
    CHECK(vmsa::access_of(vmsa::decode(3, (page & ~(0b11ull << 53)) | 0b01ull << 53)).executable());
}
