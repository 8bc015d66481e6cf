#include <catch2/catch_test_macros.hpp>

#include <map>
#include <random>
#include <tuple>
#include <vector>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>

#include "arch/arch.hpp"
#include "arch/host/host_memory.hpp"
#include "arch/stage2.hpp"
#include <bulkhead/crc32.hpp>
#include "memory/object_memory.hpp"

using namespace bh;
using namespace bh::manifest::attr;

namespace {

constexpr u64 KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr u64 kRW = kRead | kWrite;
constexpr u16 kVmid = 5;

// The tests speak the manifest's attribute bits; the table takes MapAttributes.
MapAttributes at(u64 bits) { return MapAttributes::from_bits(bits); }

struct Leaf {
    u64 ipa, pa, size, attrs;
    bool operator==(const Leaf&) const = default;
};

std::vector<Leaf> leaves(const Stage2Table& t) {
    std::vector<Leaf> out;
    t.for_each_mapping([&](Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
        out.push_back({ipa.raw(), pa.raw(), size, attrs.bits()});
    });
    return out;
}

// Everything a refused operation must leave alone: the tables' bytes and the watermark.
struct Snapshot {
    u32 crc;
    u64 used;
    bool operator==(const Snapshot&) const = default;
};
Snapshot snapshot(const ObjectMemory& m) {
    return {crc32(arch::phys_to_virt(m.base()), m.size()), m.used()};
}

struct Fixture {
    ObjectMemory memory;
    Stage2Table table;
    explicit Fixture(u64 memory_size = 1 * MiB) {
        host::reset_all();
        REQUIRE(memory.init(PhysAddr(platform::kObjectMemoryBase), memory_size) == Status::Ok);
        REQUIRE(table.init(memory, kVmid) == Status::Ok);
    }
    Status map(u64 ipa, u64 pa, u64 size, u64 attrs = kRW) {
        return table.map(Ipa(ipa), PhysAddr(pa), size, at(attrs));
    }
    Status unmap(u64 ipa, u64 size) { return table.unmap(Ipa(ipa), size); }
    Stage2Table::Translation tr(u64 ipa) {
        auto r = table.translate(Ipa(ipa));
        REQUIRE(r.ok());
        return r.value();
    }
    Status tr_status(u64 ipa) { return table.translate(Ipa(ipa)).status(); }
    u64 entry(PhysAddr table_pa, unsigned index) {
        return static_cast<const u64*>(arch::phys_to_virt(table_pa))[index];
    }
};

}  // namespace

TEST_CASE("stage2: VTCR_EL2 and descriptor encodings follow the Arm ARM", "[stage2][T-3]") {
    // VTCR_EL2: T0SZ=24 | SL0=01 | IRGN0=01 | ORGN0=01 | SH0=11 | TG0=00 | PS=010 | RES1 bit 31.
    CHECK(kVtcrEl2 == 0x8002'3558ull);
    CHECK((kVtcrEl2 & 0x3F) == 24);
    CHECK(((kVtcrEl2 >> 6) & 3) == 1);
    CHECK(((kVtcrEl2 >> 16) & 7) == 2);
    CHECK(((kVtcrEl2 >> 19) & 1) == 0);  // VS: 8-bit VMIDs

    using namespace stage2;
    CHECK(make_leaf(3, 0x4000'0000, at(kRW)) == 0x0040'0000'4000'07FFull);     // page, RW, normal, XN
    CHECK(make_leaf(3, 0x4000'0000, at(kRW | kExecute)) == 0x0000'0000'4000'07FFull);
    CHECK(make_leaf(3, 0x4000'0000, at(kRead)) == 0x0040'0000'4000'077Full);   // S2AP=01
    CHECK(make_leaf(3, 0x4000'0000, at(kWrite)) == 0x0040'0000'4000'07BFull);  // S2AP=10
    CHECK(make_leaf(2, 0x4020'0000, at(kRead | kExecute)) == 0x0000'0000'4020'077Dull);  // block
    CHECK(make_leaf(1, 0x8000'0000, at(kRW | kDevice)) == 0x0040'0000'8000'04C5ull);  // nGnRE
    // decode_leaf_attrs is make_leaf's inverse.
    CHECK(decode_leaf_attrs(0x0040'0000'8000'04C5ull) == at(kRW | kDevice));
    CHECK(decode_leaf_attrs(0x0000'0000'4020'077Dull) == at(kRead | kExecute));
    CHECK(make_table(0x4100'3000) == 0x4100'3003ull);
    CHECK(level_size(1) == GiB);
    CHECK(level_size(2) == 2 * MiB);
    CHECK(level_size(3) == 4 * KiB);
}

TEST_CASE("stage2: init, root and VTTBR", "[stage2][T-3]") {
    Fixture f;
    CHECK(f.table.root().aligned(8 * KiB));
    CHECK(f.table.vttbr() == (f.table.root().raw() | (u64{kVmid} << 48)));
    CHECK(f.memory.used() == 8 * KiB);
    CHECK(f.table.init(f.memory, 1) == Status::Exists);
    Stage2Table other;
    CHECK(other.init(f.memory, 256) == Status::OutOfRange);  // VTCR_EL2.VS = 0: 8-bit VMIDs
    CHECK(other.map(Ipa(0), PhysAddr(0x4000'0000), 4 * KiB, at(kRW)) == Status::InvalidArgument);
    CHECK(leaves(f.table).empty());
}

TEST_CASE("stage2: map and translate round trip with pages", "[stage2][T-1][T-3]") {
    Fixture f;
    REQUIRE(f.map(0x4000'0000, 0x5000'0000, 16 * KiB, kRW | kExecute) == Status::Ok);
    for (u64 off = 0; off < 16 * KiB; off += 0x7F8) {
        auto t = f.tr(0x4000'0000 + off);
        CHECK(t.pa.raw() == 0x5000'0000 + off);
        CHECK(t.attrs == at(kRW | kExecute));
        CHECK(t.level == 3);
        CHECK(t.block_size == 4 * KiB);
    }
    CHECK(f.tr_status(0x4000'0000 - 1) == Status::NotFound);
    CHECK(f.tr_status(0x4000'0000 + 16 * KiB) == Status::NotFound);
    CHECK(f.tr_status(1ull << 40) == Status::OutOfRange);
    CHECK(f.memory.used() == 8 * KiB + 2 * 4 * KiB);  // root + one L2 + one L3 table
    CHECK(host::publish_count() > 0);
}

TEST_CASE("stage2: every valid attribute set round-trips through the descriptor", "[stage2][T-1][T-3]") {
    Fixture f;
    u64 ipa = 0;
    for (u64 a = 0; a <= kAll; ++a) {
        if ((a & ~kAll) != 0 || !at(a).encodable()) continue;
        REQUIRE(f.map(ipa, 0x6000'0000 + ipa, 4 * KiB, a) == Status::Ok);
        CHECK(f.tr(ipa).attrs == at(a));
        ipa += 4 * KiB;
    }
    CHECK(ipa == 9 * 4 * KiB);  // {R, W, RW} x {X, -} normal + {R, W, RW} device
}

TEST_CASE("stage2: block selection uses the largest block that fits", "[stage2][T-3]") {
    Fixture f;
    SECTION("2 MiB block") {
        REQUIRE(f.map(0x4020'0000, 0x6000'0000, 2 * MiB) == Status::Ok);
        auto t = f.tr(0x4020'0000 + 0x1234);
        CHECK(t.level == 2);
        CHECK(t.block_size == 2 * MiB);
        CHECK(t.pa.raw() == 0x6000'1234);
    }
    SECTION("1 GiB block") {
        REQUIRE(f.map(0x80'0000'0000 - GiB, 0xC000'0000, GiB) == Status::Ok);
        auto t = f.tr(0x80'0000'0000 - 1);
        CHECK(t.level == 1);
        CHECK(t.block_size == GiB);
        CHECK(t.pa.raw() == 0xC000'0000 + GiB - 1);
        CHECK(f.memory.used() == 8 * KiB);  // a level-1 block needs no new table
    }
    SECTION("IPA aligned but PA not: pages only") {
        REQUIRE(f.map(0x4000'0000, 0x6000'1000, 2 * MiB) == Status::Ok);
        CHECK(f.tr(0x4000'0000).level == 3);
        CHECK(leaves(f.table).size() == 512);
    }
    SECTION("a mixed range steps page, 2 MiB, 1 GiB, 2 MiB, page") {
        const u64 ipa = GiB - 2 * MiB - 4 * KiB;
        const u64 pa = 2 * GiB - 2 * MiB - 4 * KiB;  // congruent with the IPA modulo 1 GiB
        const u64 size = 4 * KiB + 2 * MiB + GiB + 2 * MiB + 4 * KiB;
        REQUIRE(f.map(ipa, pa, size) == Status::Ok);
        const std::vector<Leaf> expected = {
            {ipa, pa, 4 * KiB, kRW},
            {GiB - 2 * MiB, 2 * GiB - 2 * MiB, 2 * MiB, kRW},
            {GiB, 2 * GiB, GiB, kRW},
            {2 * GiB, 3 * GiB, 2 * MiB, kRW},
            {2 * GiB + 2 * MiB, 3 * GiB + 2 * MiB, 4 * KiB, kRW},
        };
        CHECK(leaves(f.table) == expected);
        CHECK(f.tr(GiB + 5).level == 1);
        CHECK(f.tr(GiB - 1).level == 2);
        CHECK(f.tr(ipa).level == 3);
    }
}

TEST_CASE("stage2: device mappings", "[stage2][T-6]") {
    Fixture f;
    REQUIRE(f.map(0x0900'0000, 0x0901'0000, 4 * KiB, kRW | kDevice) == Status::Ok);
    auto t = f.tr(0x0900'0000);
    CHECK(t.attrs == at(kRW | kDevice));
    CHECK(t.pa.raw() == 0x0901'0000);
    CHECK(f.map(0x0a00'0000, 0x0a00'0000, 4 * KiB, kRW | kDevice | kExecute) == Status::InvalidArgument);
    CHECK(f.map(0x0a00'0000, 0x0a00'0000, 4 * KiB, 0) == Status::InvalidArgument);
    CHECK(f.map(0x0a00'0000, 0x0a00'0000, 4 * KiB, kExecute) == Status::InvalidArgument);
    CHECK(f.map(0x0a00'0000, 0x0a00'0000, 4 * KiB, kDevice) == Status::InvalidArgument);
    // Bits outside R, W, X and device never reach the table: MapAttributes has no room for them
    // (the decode of a request refuses them, test_frame_mapping.cpp).
    CHECK(at(kRW | (1u << 3)) == at(kRW));
    CHECK(at(kRW | (1ull << 63)) == at(kRW));
    CHECK(f.tr_status(0x0a00'0000) == Status::NotFound);
}

TEST_CASE("stage2: descriptors in table memory match the encodings", "[stage2][T-3]") {
    Fixture f;
    REQUIRE(f.map(0x4000'0000, 0x5000'0000, 4 * KiB, kRW) == Status::Ok);
    REQUIRE(f.map(0x4020'0000, 0x5020'0000, 2 * MiB, kRead | kExecute) == Status::Ok);
    REQUIRE(f.map(0x80'0000'0000, 0x80'0000'0000, GiB, kRW | kDevice) == Status::Ok);

    const u64 l1 = f.entry(f.table.root(), 1);  // IPA bits [39:30] = 1
    REQUIRE((l1 & 3) == 3);                       // table descriptor
    CHECK((l1 & ~stage2::kAddressMask & ~3ull) == 0);  // no attribute bits in a table descriptor
    const PhysAddr l2_table(l1 & stage2::kAddressMask);
    CHECK(l2_table.raw() >= platform::kObjectMemoryBase);
    CHECK(l2_table.raw() < platform::kObjectMemoryBase + 1 * MiB);

    const u64 l2_block = f.entry(l2_table, 1);
    CHECK(l2_block == 0x0000'0000'5020'077Dull);  // block, R-X, normal WB, inner shareable, AF

    const u64 l2 = f.entry(l2_table, 0);
    REQUIRE((l2 & 3) == 3);
    const u64 page = f.entry(PhysAddr(l2 & stage2::kAddressMask), 0);
    CHECK(page == 0x0040'0000'5000'07FFull);  // page, RW, normal WB, inner shareable, AF, XN

    const u64 l1_block = f.entry(f.table.root(), 512);  // 512 GiB: in the second root table
    CHECK(l1_block == 0x0040'0080'0000'04C5ull);      // block, RW, Device-nGnRE, AF, XN
}

TEST_CASE("stage2: misaligned and out-of-range requests are refused", "[stage2][INV-2][T-2]") {
    Fixture f;
    const Snapshot before = snapshot(f.memory);
    CHECK(f.map(0x4000'0800, 0x5000'0000, 4 * KiB) == Status::Misaligned);
    CHECK(f.map(0x4000'0000, 0x5000'0800, 4 * KiB) == Status::Misaligned);
    CHECK(f.map(0x4000'0000, 0x5000'0000, 6 * KiB) == Status::Misaligned);
    CHECK(f.map(0x4000'0000, 0x5000'0000, 0) == Status::OutOfRange);
    CHECK(f.map(1ull << 40, 0x5000'0000, 4 * KiB) == Status::OutOfRange);
    CHECK(f.map((1ull << 40) - 4 * KiB, 0x5000'0000, 8 * KiB) == Status::OutOfRange);
    CHECK(f.map(0x4000'0000, 1ull << 40, 4 * KiB) == Status::OutOfRange);
    CHECK(f.map(0x4000'0000, 1ull << 47, 4 * KiB) == Status::OutOfRange);
    CHECK(f.map(0xFFFF'FFFF'FFFF'F000ull, 0x5000'0000, 8 * KiB) == Status::OutOfRange);  // wraps
    CHECK(f.map(0x4000'0000, 0xFFFF'FFFF'FFFF'F000ull, 8 * KiB) == Status::OutOfRange);
    CHECK(snapshot(f.memory) == before);
    // The very top of the IPA space is usable.
    CHECK(f.map((1ull << 40) - 4 * KiB, 0x5000'0000, 4 * KiB) == Status::Ok);
    CHECK(f.tr((1ull << 40) - 1).pa.raw() == 0x5000'0FFF);
}

TEST_CASE("stage2: overlaps are refused and change nothing", "[stage2][INV-1][T-2]") {
    Fixture f;
    REQUIRE(f.map(0x4000'1000, 0x5000'1000, 4 * KiB) == Status::Ok);    // a page
    REQUIRE(f.map(0x4060'0000, 0x5060'0000, 2 * MiB) == Status::Ok);    // a 2 MiB block
    REQUIRE(f.map(0x1'0000'0000, 0x1'0000'0000, GiB) == Status::Ok);   // a 1 GiB block
    const auto mappings = leaves(f.table);
    const Snapshot before = snapshot(f.memory);

    CHECK(f.map(0x4000'1000, 0x7000'0000, 4 * KiB) == Status::Overlap);  // same page
    CHECK(f.map(0x4000'0000, 0x7000'0000, 8 * KiB) == Status::Overlap);  // free page, then the page
    CHECK(f.map(0x4000'0000, 0x7000'0000, 2 * MiB) == Status::Overlap);  // would be a block over it
    CHECK(f.map(0x4070'0000, 0x7000'0000, 4 * KiB) == Status::Overlap);  // inside the 2 MiB block
    CHECK(f.map(0x4040'0000, 0x7040'0000, 4 * MiB) == Status::Overlap);  // block, then the block
    CHECK(f.map(0x4000'0000, 0x4000'0000, GiB) == Status::Overlap);      // 1 GiB over both
    CHECK(f.map(0x1'2345'6000, 0x7000'0000, 4 * KiB) == Status::Overlap);  // inside the 1 GiB block
    CHECK(f.map(0x0'C000'0000, 0x7000'0000, 2 * GiB) == Status::Overlap);  // runs into it

    CHECK(leaves(f.table) == mappings);
    CHECK(snapshot(f.memory) == before);
    CHECK(f.tr_status(0x4000'0000) == Status::NotFound);
}

TEST_CASE("stage2: NoMemory leaves the table unchanged", "[stage2][INV-2][T-3][T-47]") {
    Fixture f(8 * KiB + 4 * KiB);  // the root and exactly one more table page
    const Snapshot before = snapshot(f.memory);
    // A page in a fresh 1 GiB region needs a level-2 and a level-3 table: one too many.
    CHECK(f.map(0x4000'0000, 0x5000'0000, 4 * KiB) == Status::NoMemory);
    // Here the first 2 MiB alone would fit, the page after it would not: all or nothing.
    CHECK(f.map(0x4000'0000, 0x5000'0000, 2 * MiB + 4 * KiB) == Status::NoMemory);
    CHECK(snapshot(f.memory) == before);
    CHECK(leaves(f.table).empty());
    CHECK(f.memory.available() == 4 * KiB);

    // A 2 MiB block needs only the level-2 table, which fits.
    REQUIRE(f.map(0x4000'0000, 0x5000'0000, 2 * MiB) == Status::Ok);
    CHECK(f.memory.available() == 0);
    CHECK(f.map(0x4020'0000, 0x5020'0000, 4 * KiB) == Status::NoMemory);
    // 1 GiB blocks need no table at all.
    CHECK(f.map(0x80'0000'0000, 0x80'0000'0000, 2 * GiB) == Status::Ok);
    CHECK(leaves(f.table).size() == 3);
}

TEST_CASE("stage2: unmap", "[stage2][T-4]") {
    Fixture f;
    REQUIRE(f.map(0x4000'0000, 0x5000'0000, 16 * KiB) == Status::Ok);
    REQUIRE(f.map(0x4020'0000, 0x5020'0000, 4 * MiB) == Status::Ok);  // two 2 MiB blocks
    REQUIRE(f.map(0x80'0000'0000, 0x80'0000'0000, GiB) == Status::Ok);
    host::reset_counters();

    SECTION("a page") {
        REQUIRE(f.unmap(0x4000'1000, 4 * KiB) == Status::Ok);
        CHECK(f.tr_status(0x4000'1000) == Status::NotFound);
        CHECK(f.tr(0x4000'0000).pa.raw() == 0x5000'0000);
        CHECK(f.tr(0x4000'2000).pa.raw() == 0x5000'2000);
        CHECK(host::tlb_invalidations(kVmid) == 1);
        CHECK(host::tlb_invalidations_total() == 1);
    }
    SECTION("a block, and a range spanning blocks and pages") {
        REQUIRE(f.unmap(0x4040'0000, 2 * MiB) == Status::Ok);
        CHECK(f.tr_status(0x4040'0000) == Status::NotFound);
        CHECK(f.tr(0x4020'0000).level == 2);
        // [0x4000_0000, 0x4040_0000) has a hole between the pages and the first block.
        CHECK(f.unmap(0x4000'0000, 4 * MiB) == Status::NotFound);
        CHECK(f.tr(0x4000'0000).level == 3);
        REQUIRE(f.unmap(0x80'0000'0000, GiB) == Status::Ok);
        CHECK(f.tr_status(0x80'0000'0000) == Status::NotFound);
        CHECK(host::tlb_invalidations(kVmid) == 2);
    }
    SECTION("cutting through a block is refused, nothing changes") {
        const Snapshot before = snapshot(f.memory);
        CHECK(f.unmap(0x4020'0000, 4 * KiB) == Status::Misaligned);
        CHECK(f.unmap(0x4030'0000, 2 * MiB) == Status::Misaligned);
        CHECK(f.unmap(0x80'0000'0000, 2 * MiB) == Status::Misaligned);
        CHECK(snapshot(f.memory) == before);
        CHECK(host::tlb_invalidations_total() == 0);
    }
    SECTION("unmapped ranges are refused, nothing changes") {
        const Snapshot before = snapshot(f.memory);
        CHECK(f.unmap(0x3000'0000, 4 * KiB) == Status::NotFound);
        CHECK(f.unmap(0x4000'0000, 20 * KiB) == Status::NotFound);  // mapped pages, then a hole
        CHECK(f.unmap(0x3FFF'F000, 8 * KiB) == Status::NotFound);   // a hole, then a page
        CHECK(f.unmap(0x4000'0000, 0) == Status::OutOfRange);
        CHECK(f.unmap(0x4000'0800, 4 * KiB) == Status::Misaligned);
        CHECK(f.unmap(1ull << 40, 4 * KiB) == Status::OutOfRange);
        CHECK(snapshot(f.memory) == before);
        CHECK(host::tlb_invalidations_total() == 0);
    }
    SECTION("tables are kept and reused after unmap") {
        REQUIRE(f.unmap(0x4000'0000, 16 * KiB) == Status::Ok);
        const u64 used = f.memory.used();
        REQUIRE(f.map(0x4000'0000, 0x6000'0000, 8 * KiB) == Status::Ok);
        CHECK(f.memory.used() == used);
        CHECK(f.tr(0x4000'1000).pa.raw() == 0x6000'1000);
    }
}

TEST_CASE("stage2: unmap invalidates only the table's own VMID", "[stage2][INV-1][T-4][T-17]") {
    Fixture f;
    Stage2Table other;
    REQUIRE(other.init(f.memory, 9) == Status::Ok);
    REQUIRE(f.map(0x4000'0000, 0x5000'0000, 4 * KiB) == Status::Ok);
    REQUIRE(other.map(Ipa(0x4000'0000), PhysAddr(0x5100'0000), 4 * KiB, at(kRW)) == Status::Ok);
    host::reset_counters();
    REQUIRE(other.unmap(Ipa(0x4000'0000), 4 * KiB) == Status::Ok);
    CHECK(host::tlb_invalidations(9) == 1);
    CHECK(host::tlb_invalidations(kVmid) == 0);
    CHECK(f.tr(0x4000'0000).pa.raw() == 0x5000'0000);  // the other table is independent
}

TEST_CASE("stage2: for_each_mapping visits leaves in IPA order", "[stage2][T-3]") {
    Fixture f;
    // Mapped out of order, across both root tables.
    REQUIRE(f.map(0xA0'0000'0000, 0x1'0000'0000, 4 * KiB, kRead) == Status::Ok);
    REQUIRE(f.map(0x4020'0000, 0x5020'0000, 2 * MiB, kRW | kExecute) == Status::Ok);
    REQUIRE(f.map(0x1000, 0x5000'0000, 8 * KiB, kRW) == Status::Ok);
    REQUIRE(f.map(0x2'0000'0000, 0x2'0000'0000, GiB, kRW | kDevice) == Status::Ok);
    const std::vector<Leaf> expected = {
        {0x1000, 0x5000'0000, 4 * KiB, kRW},
        {0x2000, 0x5000'1000, 4 * KiB, kRW},
        {0x4020'0000, 0x5020'0000, 2 * MiB, kRW | kExecute},
        {0x2'0000'0000, 0x2'0000'0000, GiB, kRW | kDevice},
        {0xA0'0000'0000, 0x1'0000'0000, 4 * KiB, kRead},
    };
    CHECK(leaves(f.table) == expected);
}

TEST_CASE("stage2: random map/unmap agrees with a page-level model", "[stage2][INV-1][T-3]") {
    Fixture f(4 * MiB);
    std::mt19937_64 rng(0xB01C'4EAD);
    std::map<u64, std::pair<u64, u64>> model;  // page IPA -> (PA, attrs)
    constexpr u64 kSpan = 16 * MiB;           // IPA [0, 16 MiB): pages and 2 MiB blocks
    const u64 attr_choices[] = {kRead, kRW, kRW | kExecute, kRW | kDevice};

    for (int step = 0; step < 400; ++step) {
        const u64 pages = (rng() % 4 == 0) ? 512 * (1 + rng() % 2) : 1 + rng() % 8;
        const u64 size = pages * 4 * KiB;
        const u64 ipa = (rng() % 2 ? align_down(rng() % kSpan, 2 * MiB) : align_down(rng() % kSpan, 4 * KiB));
        if (ipa + size > kSpan) continue;
        bool any = false, all = true;
        for (u64 a = ipa; a < ipa + size; a += 4 * KiB) {
            const bool mapped = model.count(a) != 0;
            any |= mapped;
            all &= mapped;
        }
        if (rng() % 3 != 0) {
            const u64 pa = 0x8000'0000 + ipa + (rng() % 2 ? 0 : 0x1000);
            const u64 attrs = attr_choices[rng() % 4];
            const Status s = f.map(ipa, pa, size, attrs);
            REQUIRE(s == (any ? Status::Overlap : Status::Ok));
            if (s == Status::Ok)
                for (u64 a = 0; a < size; a += 4 * KiB) model[ipa + a] = {pa + a, attrs};
        } else {
            const Status s = f.unmap(ipa, size);
            if (!all) {
                // The first problem in IPA order is reported: a hole, or a block cut before it.
                REQUIRE((s == Status::NotFound || s == Status::Misaligned));
            } else if (s == Status::Misaligned) {
                bool cuts_block = false;  // the model does not know blocks: confirm one is cut
                for (u64 a = ipa; a < ipa + size; a += 4 * KiB) {
                    auto t = f.tr(a);
                    if (t.level < 3 && (align_down(a, t.block_size) < ipa ||
                                        align_down(a, t.block_size) + t.block_size > ipa + size))
                        cuts_block = true;
                }
                REQUIRE(cuts_block);
            } else {
                REQUIRE(s == Status::Ok);
                for (u64 a = ipa; a < ipa + size; a += 4 * KiB) model.erase(a);
            }
        }
        std::map<u64, std::pair<u64, u64>> seen;
        u64 last = 0;
        f.table.for_each_mapping([&](Ipa i, PhysAddr p, u64 sz, MapAttributes attrs) {
            REQUIRE(i.raw() >= last);
            last = i.raw() + sz;
            for (u64 a = 0; a < sz; a += 4 * KiB) seen[i.raw() + a] = {p.raw() + a, attrs.bits()};
        });
        REQUIRE(seen == model);
    }
}

TEST_CASE("stage2: check_map answers what map would, and changes nothing", "[stage2]") {
    Fixture f(8 * KiB + 3 * 4 * KiB);  // the root and three table pages
    REQUIRE(f.map(0x4000'1000, 0x5000'1000, 4 * KiB) == Status::Ok);
    struct Request {
        u64 ipa, pa, size, attrs;
    };
    const Request requests[] = {
        {0x4000'2000, 0x5000'2000, 4 * KiB, kRW},             // fits in the existing tables
        {0x4000'1000, 0x7000'0000, 4 * KiB, kRW},             // overlap
        {0x4000'0800, 0x5000'0000, 4 * KiB, kRW},             // misaligned
        {1ull << 40, 0x5000'0000, 4 * KiB, kRW},              // beyond the IPA space
        {0x4000'3000, 0x5000'3000, 4 * KiB, kExecute},        // not encodable
        {0x4000'3000, 0x5000'3000, 4 * KiB, kRW | kDevice | kExecute},
        {0x80'0000'0000, 0x5000'0000, 4 * KiB, kRW},          // needs two tables: one too many
        {0x80'0000'0000, 0x8000'0000, 2 * MiB, kRW},          // needs one
        {0x80'4000'0000, 0x8000'0000, 1 * GiB, kRW | kDevice},  // needs none
    };
    for (const Request& r : requests) {
        INFO(std::hex << r.ipa << " size " << r.size << " attrs " << r.attrs);
        const Snapshot before = snapshot(f.memory);
        const auto mappings = leaves(f.table);
        const Status checked = f.table.check_map(Ipa(r.ipa), PhysAddr(r.pa), r.size, at(r.attrs));
        CHECK(snapshot(f.memory) == before);
        CHECK(leaves(f.table) == mappings);
        CHECK(f.map(r.ipa, r.pa, r.size, r.attrs) == checked);
    }
    CHECK(leaves(f.table).size() == 4);
}
