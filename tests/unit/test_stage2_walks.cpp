// What a table walker on another core could see while Stage2Table::map and ::unmap run: every
// descriptor write, barrier (publish) and TLB invalidation is recorded through the host arch,
// and after each write the whole table is walked by an independent walker written from the Arm
// ARM's descriptor format (not the kernel's decoder). A walker must only ever see the old
// translation or the new one for every page, never a half-built table, and a table must be
// published (all its writes ordered by a barrier) before the descriptor that links it.
#include <catch2/catch_test_macros.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>

#include "arch/arch.hpp"
#include "arch/host/host_memory.hpp"
#include "arch/stage2.hpp"
#include "memory/object_memory.hpp"

using namespace bh;

namespace {

constexpr u64 kMiB = 1ull << 20;
constexpr u16 kVmid = 9;
const MapAttributes kRw = MapAttributes::from_bits(manifest::attr::kRead | manifest::attr::kWrite);

// An independent stage-2 walk (Arm ARM D8.3, 4 KiB granule, start level 1 with two concatenated
// tables): bit 0 valid; at levels 1 and 2 bit 1 set is a table, clear a block; at level 3 bits
// [1:0] = 0b11 is a page; output and next-table addresses in bits [47:12].
struct Walk {
    bool mapped = false;
    u64 pa = 0;    // the page's output address
    u64 leaf = 0;  // the leaf descriptor
};
Walk walk(u64 root, u64 ipa) {
    u64 table = root;
    for (unsigned level = 1; level <= 3; ++level) {
        const unsigned shift = 39 - 9 * level;
        const u64 index = (ipa >> shift) & (level == 1 ? 1023 : 511);
        const u64 d = static_cast<const u64*>(arch::phys_to_virt(PhysAddr(table)))[index];
        if ((d & 1) == 0) return {};
        const u64 address = d & 0x0000'FFFF'FFFF'F000ull;
        if (level < 3 && (d & 2) != 0) {
            table = address;
            continue;
        }
        if (level == 3 && (d & 2) == 0) return {};  // reserved encoding: invalid
        const u64 block = 1ull << shift;
        return Walk{true, (address & ~(block - 1)) | (ipa & (block - 1) & ~0xfffull), d};
    }
    return {};
}

// Records events and checks, after each descriptor write, every page of `pages` against the
// translations it may have (before or after the operation), and the publication rule.
struct Recorder {
    u64 root = 0;
    std::vector<u64> pages;
    std::map<u64, Walk> before, after;  // page -> translation
    std::map<u64, u64> last_write;       // table page -> event index of its last descriptor write
    u64 last_publish = 0;
    u64 events = 0;
    u64 writes = 0;
    std::vector<u64> invalidations;      // event indices of TLB invalidations of kVmid
    std::vector<std::string> problems;
    std::map<u64, unsigned> level_of;    // table page -> its level (the root's two pages: 1)

    struct Write {
        u64 event, page, value;
    };
    std::vector<Write> log;       // every descriptor write, in order
    std::vector<u64> publishes;   // event indices of the barriers

    void record(host::TableEvent e, u64* entry, u64 value) {
        ++events;
        if (e == host::TableEvent::Publish) {
            publishes.push_back(events);
            last_publish = events;
            return;
        }
        if (e == host::TableEvent::TlbInvalidate) {
            if (value == kVmid) invalidations.push_back(events);
            return;
        }
        ++writes;
        const u64 entry_pa = platform::kRamBase + (reinterpret_cast<u8*>(entry) - static_cast<u8*>(host::ram_base_pointer()));
        log.push_back(Write{events, align_down(entry_pa, kPageSize), value});
        last_write[align_down(entry_pa, kPageSize)] = events;
        for (u64 page : pages) {
            const Walk now = walk(root, page);
            const Walk& a = before[page];
            const Walk& b = after[page];
            const bool as_before = now.mapped == a.mapped && (!now.mapped || (now.pa == a.pa && now.leaf == a.leaf));
            const bool as_after = now.mapped == b.mapped && (!now.mapped || (now.pa == b.pa && now.leaf == b.leaf));
            if (!as_before && !as_after) {
                problems.push_back("a walker saw a translation that is neither the old nor the new one");
                return;
            }
        }
    }

    // After the operation: which pages were tables of which level (a table's entries are written
    // before the link that makes it one, so its level is known only afterwards), and, for every
    // link to a table, that a barrier ordered all the writes made into that table before it.
    void check_links() {
        for (bool grew = true; grew;) {
            grew = false;
            for (const Write& w : log) {
                auto t = level_of.find(w.page);
                if (t == level_of.end() || t->second == 3 || (w.value & 3) != 3) continue;
                grew = level_of.emplace(w.value & 0x0000'FFFF'FFFF'F000ull, t->second + 1).second || grew;
            }
        }
        for (const Write& w : log) {
            auto t = level_of.find(w.page);
            if (t == level_of.end()) {
                problems.push_back("a descriptor was written outside every table");
                continue;
            }
            if (t->second == 3 || (w.value & 3) != 3) continue;
            const u64 child = w.value & 0x0000'FFFF'FFFF'F000ull;
            u64 last_into_child = 0;
            for (const Write& c : log)
                if (c.page == child && c.event < w.event) last_into_child = c.event;
            bool published = last_into_child == 0;
            for (u64 p : publishes) published = published || (p > last_into_child && p < w.event);
            if (!published) problems.push_back("a table was linked before its entries were published");
            if (last_into_child == 0) problems.push_back("an empty table was linked");
        }
    }

    void snapshot(std::map<u64, Walk>& out) {
        out.clear();
        for (u64 page : pages) out[page] = walk(root, page);
        // The levels of the tables that exist now, for telling a page (0b11 at level 3) from a
        // table link (0b11 at levels 1 and 2) in later writes.
        level_of[root] = level_of[root + kPageSize] = 1;
        for (u64 page : pages) {
            u64 table = root;
            for (unsigned level = 1; level < 3; ++level) {
                const unsigned shift = 39 - 9 * level;
                const u64 index = (page >> shift) & (level == 1 ? 1023 : 511);
                const u64 d = static_cast<const u64*>(arch::phys_to_virt(PhysAddr(table)))[index];
                if ((d & 3) != 3) break;
                table = d & 0x0000'FFFF'FFFF'F000ull;
                level_of[table] = level + 1;
            }
        }
    }
};

struct Fixture {
    ObjectMemory memory;
    Stage2Table table;
    Recorder rec;
    Fixture() {
        host::reset_all();
        REQUIRE(memory.init(PhysAddr(platform::kObjectMemoryBase), 1 * kMiB) == Status::Ok);
        REQUIRE(table.init(memory, kVmid) == Status::Ok);
        rec.root = table.root().raw();
    }
    // Runs `run` with the recorder watching every page of [ipa, ipa + size) and one page on
    // either side; `end_state` fills in what each page must translate to afterwards.
    template <class Op>
    void watch(u64 ipa, u64 size, Op&& end_state) {
        rec.pages.clear();
        for (u64 p = ipa - kPageSize; p < ipa + size + kPageSize; p += kPageSize) rec.pages.push_back(p);
        rec.snapshot(rec.before);
        rec.after = rec.before;
        end_state(rec.after);
        host::set_descriptor_observer([this](host::TableEvent e, u64* entry, u64 value) { rec.record(e, entry, value); });
        REQUIRE(ok(run(ipa, size)));
        host::set_descriptor_observer(nullptr);
        rec.check_links();
        std::map<u64, Walk> end;
        rec.snapshot(end);
        for (u64 page : rec.pages) {
            CHECK(end[page].mapped == rec.after[page].mapped);
            CHECK(end[page].pa == rec.after[page].pa);
        }
    }
    std::function<Status(u64, u64)> run;
};

}  // namespace

TEST_CASE("stage 2: a walker during map sees each page unmapped or mapped, never a half-built table", "[stage2]") {
    // 3 MiB + 16 KiB from an IPA 8 KiB below a 2 MiB boundary: pages, a 2 MiB block and pages
    // again, in tables that do not exist yet (new level-2 and level-3 tables are linked).
    const u64 ipa = 0x4020'0000 - 2 * kPageSize, pa = 0x4860'0000 - 2 * kPageSize, size = 3 * kMiB + 4 * kPageSize;
    // The exact leaves map() ends with, from a dry run on a table of its own (the walker then
    // accepts, for each page, only those or nothing).
    std::map<u64, Walk> expected;
    {
        Fixture dry;
        REQUIRE(ok(dry.table.map(Ipa(ipa), PhysAddr(pa), size, kRw)));
        for (u64 p = ipa - kPageSize; p < ipa + size + kPageSize; p += kPageSize) expected[p] = walk(dry.table.root().raw(), p);
    }
    Fixture f;
    f.run = [&](u64 i, u64 s) { return f.table.map(Ipa(i), PhysAddr(pa), s, kRw); };
    f.watch(ipa, size, [&](std::map<u64, Walk>& after) { after = expected; });
    CHECK(f.rec.problems == std::vector<std::string>{});
    CHECK(f.rec.writes > 3);             // leaves and table links were written one at a time
    CHECK(f.rec.level_of.size() > 2);    // new tables were linked while the walker watched
    CHECK(f.rec.invalidations.empty());  // invalid -> valid only: nothing to invalidate
}

TEST_CASE("stage 2: a walker during unmap sees each page mapped or unmapped, and the TLB is invalidated after the last write", "[stage2]") {
    Fixture f;
    const u64 ipa = 0x4020'0000 - 2 * kPageSize, pa = 0x4860'0000 - 2 * kPageSize, size = 3 * kMiB + 4 * kPageSize;
    REQUIRE(ok(f.table.map(Ipa(ipa), PhysAddr(pa), size, kRw)));
    // A neighbour that must stay mapped throughout.
    REQUIRE(ok(f.table.map(Ipa(ipa + size), PhysAddr(0x4900'0000), kPageSize, kRw)));
    f.run = [&](u64 i, u64 s) { return f.table.unmap(Ipa(i), s); };
    f.watch(ipa, size, [&](std::map<u64, Walk>& after) {
        for (u64 off = 0; off < size; off += kPageSize) after[ipa + off] = Walk{};
    });
    CHECK(f.rec.problems == std::vector<std::string>{});
    // Exactly one invalidation of the VMID, after every descriptor write and after a barrier
    // that published them: a walk racing with it can no longer refill the TLB from an old leaf.
    REQUIRE(f.rec.invalidations.size() == 1);
    u64 last_write = 0;
    for (const auto& [page, at] : f.rec.last_write) last_write = std::max(last_write, at);
    CHECK(f.rec.invalidations[0] > last_write);
    CHECK(f.rec.last_publish > last_write);
    CHECK(f.rec.last_publish < f.rec.invalidations[0]);
    CHECK(walk(f.table.root().raw(), ipa + size).mapped);
}
