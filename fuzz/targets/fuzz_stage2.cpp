// The stage-2 translation-table builder against a page-level model: a sequence of map, unmap
// and translate requests on one Stage2Table (small object memory, so NoMemory is reachable),
// each checked against a model that knows, for every mapped range, what it maps to.
//
// Input: a sequence of steps; each step's first byte picks the request, the next bytes its
// IPA, size, PA and attributes, drawn from pools around a 16 MiB IPA window (pages, 2 MiB
// blocks, a 1 GiB block position, the ends of the IPA and output spaces) or taken raw.
// Oracles, after every step:
//   * map:   Ok exactly when the model says the range is free and the request is well formed
//            and the memory suffices; Overlap exactly when a page is taken; any refusal
//            changes neither the tables (walk) nor the watermark;
//   * unmap: Ok only when every page is mapped; then every page is gone;
//   * translate and the full walk agree with the model page by page, leaves in IPA order,
//            never overlapping, with valid attributes.
// covers: T-3 INV-2
#include <arch/arch.hpp>
#include <arch/host/host_memory.hpp>
#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <memory/object_memory.hpp>
#include <arch/stage2.hpp>

#include <algorithm>
#include <map>
#include <utility>

#include "fuzz_common.hpp"

using namespace bh;
using namespace bh::manifest::attr;

namespace {

constexpr u64 kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB, kPage = 4 * kKiB;
constexpr u64 kWindow = 16 * kMiB;  // where most requests land; the model covers everything

// Ranges rather than pages, so that a 1 GiB block costs one entry: IPA start -> (end, PA, attrs).
struct Model {
    struct Range {
        u64 end, pa, attrs;
    };
    std::map<u64, Range> ranges;
    u64 bytes = 0;

    // The range containing `ipa`, or end().
    std::map<u64, Range>::const_iterator find(u64 ipa) const {
        auto it = ranges.upper_bound(ipa);
        if (it == ranges.begin()) return ranges.end();
        --it;
        return it->second.end > ipa ? it : ranges.end();
    }
    bool any(u64 ipa, u64 size) const {
        if (find(ipa) != ranges.end()) return true;
        auto it = ranges.upper_bound(ipa);
        return it != ranges.end() && it->first < ipa + size;
    }
    bool all(u64 ipa, u64 size) const {
        u64 at = ipa;
        while (at < ipa + size) {
            auto it = find(at);
            if (it == ranges.end()) return false;
            at = it->second.end;
        }
        return true;
    }
    void insert(u64 ipa, u64 size, u64 pa, u64 attrs) {
        ranges[ipa] = {ipa + size, pa, attrs};
        bytes += size;
    }
    void erase(u64 ipa, u64 size) {
        const u64 end = ipa + size;
        auto it = ranges.upper_bound(ipa);
        if (it != ranges.begin()) --it;
        while (it != ranges.end() && it->first < end) {
            const u64 start = it->first;
            const Range r = it->second;
            if (r.end <= ipa) {
                ++it;
                continue;
            }
            it = ranges.erase(it);
            if (start < ipa) ranges[start] = {ipa, r.pa, r.attrs};
            if (r.end > end) ranges[end] = {r.end, r.pa + (end - start), r.attrs};
            bytes -= std::min(r.end, end) - std::max(start, ipa);
        }
    }
};

u64 ipa_of(fuzz::Bytes& in) {
    const u8 b = in.u8();
    switch (b >> 5) {
        case 0:
        case 1:
        case 2: return (static_cast<u64>(in.u16()) * kPage) % kWindow;  // a page in the window
        case 3: return (static_cast<u64>(b & 7) * 2 * kMiB);             // a 2 MiB boundary
        case 4: return kGiB * (1 + (b & 3)) - (b & 8 ? 2 * kMiB : 0);    // around 1 GiB blocks
        case 5: return stage2::kIpaLimit - static_cast<u64>(1 + (b & 3)) * (b & 16 ? 2 * kMiB : kPage);
        case 6: return (static_cast<u64>(in.u16()) * kPage) % kWindow + (b & 1 ? 0x800 : 0);  // misaligned
        default: return in.u64();
    }
}

u64 size_of(fuzz::Bytes& in) {
    const u8 b = in.u8();
    switch (b >> 5) {
        case 0:
        case 1: return static_cast<u64>(1 + (b & 15)) * kPage;
        case 2: return static_cast<u64>(1 + (b & 1)) * 2 * kMiB;
        case 3: return 2 * kMiB + static_cast<u64>(1 + (b & 7)) * kPage;
        case 4: return (b & 1) ? kGiB : 512 * kPage * static_cast<u64>(1 + (b & 6));
        case 5: return b & 1 ? 0 : ~0ull - kPage + 1;  // zero and wrapping
        case 6: return static_cast<u64>(1 + in.u8()) * kPage + (b & 1 ? 0x10 : 0);
        default: return in.u64();
    }
}

u64 pa_for(fuzz::Bytes& in, u64 ipa) {
    const u8 b = in.u8();
    switch (b >> 6) {
        case 0: return 0x8000'0000 + ipa;  // same alignment as the IPA: blocks are possible
        case 1: return 0x8000'0000 + ipa + kPage;  // pages only
        case 2: return stage2::kOutputLimit - static_cast<u64>(1 + (b & 7)) * 2 * kMiB;
        default: return in.u64();
    }
}

u64 attrs_of(fuzz::Bytes& in) {
    static constexpr u64 kChoices[] = {kRead, kRead | kWrite, kRead | kWrite | kExecute, kRead | kWrite | kDevice,
                                       kWrite, kRead | kExecute, kExecute, 0, kRead | kDevice | kExecute,
                                       kRead | 0x10};
    const u8 b = in.u8();
    return b < 240 ? kChoices[b % (sizeof kChoices / sizeof kChoices[0])] : in.u64();
}

struct Snapshot {
    u64 used;
    u64 leaves;
    u64 digest;
};

Snapshot snapshot(const ObjectMemory& memory, const Stage2Table& table) {
    Snapshot s{memory.used(), 0, 0};
    table.for_each_mapping([&](Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
        ++s.leaves;
        s.digest = s.digest * 1099511628211ull ^ (ipa.raw() + 3 * pa.raw() + 5 * size + 7 * attrs.bits());
    });
    return s;
}

void compare(const Stage2Table& table, const Model& model) {
    u64 last = 0, pages = 0;  // pages: bytes mapped by the leaves
    bool first = true;
    table.for_each_mapping([&](Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
        if (!first && ipa.raw() < last) fuzz::finding("leaves overlap or are out of IPA order");
        first = false;
        last = ipa.raw() + size;
        if (!attrs.encodable()) fuzz::finding("a leaf with attributes map() refuses");
        // A leaf lies inside one model range (maps never merge), at the same offset.
        auto it = model.find(ipa.raw());
        if (it == model.ranges.end() || it->second.end < ipa.raw() + size) {
            fuzz::finding("the tables map memory the model does not");
        }
        if (it->second.pa + (ipa.raw() - it->first) != pa.raw() || it->second.attrs != attrs.bits()) {
            fuzz::finding("the tables map a page elsewhere than the model");
        }
        pages += size;
    });
    if (pages != model.bytes) fuzz::finding("the model maps memory the tables do not");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    host::reset_all();
    fuzz::Bytes in(data, size);
    ObjectMemory memory;
    // 8 KiB root + a few tables: the pool size is part of the input, so NoMemory is reachable.
    const u64 pool = (3 + (in.u8() & 15)) * kPage;
    if (!ok(memory.init(PhysAddr(platform::kObjectMemoryBase), pool))) fuzz::finding("object memory init");
    Stage2Table table;
    if (!ok(table.init(memory, 1 + (in.u8() & 0x7f)))) fuzz::finding("table init");
    Model model;

    for (unsigned step = 0; step < 64 && !in.done(); ++step) {
        const u8 op = in.u8();
        const u64 ipa = ipa_of(in);
        const u64 len = size_of(in);
        const bool well_formed = len != 0 && ipa + len > ipa && ipa + len <= stage2::kIpaLimit &&
                                 ipa % kPage == 0 && len % kPage == 0;
        if (op % 8 < 5) {  // map
            const u64 pa = pa_for(in, ipa);
            // Bits outside manifest::attr::kAll cannot even be expressed as MapAttributes.
            const MapAttributes attrs = MapAttributes::from_bits(attrs_of(in));
            const Snapshot before = snapshot(memory, table);
            const Status s = table.map(Ipa(ipa), PhysAddr(pa), len, attrs);
            const bool pa_ok = pa % kPage == 0 && pa + len > pa && pa + len <= stage2::kOutputLimit;
            if (ok(s)) {
                if (!well_formed || !pa_ok || !attrs.encodable()) fuzz::finding("map accepted a bad request");
                if (model.any(ipa, len)) fuzz::finding("map accepted an overlapping range");
                model.insert(ipa, len, pa, attrs.bits());
            } else {
                const Snapshot after = snapshot(memory, table);
                if (after.used != before.used || after.leaves != before.leaves || after.digest != before.digest) {
                    fuzz::finding("a refused map changed the tables or the watermark");
                }
                if (s == Status::Overlap && !model.any(ipa, len)) fuzz::finding("Overlap on a free range");
                if (well_formed && pa_ok && attrs.encodable() && !model.any(ipa, len) &&
                    s != Status::NoMemory) {
                    fuzz::finding("map refused a valid request on a free range");
                }
            }
        } else if (op % 8 < 7) {  // unmap
            const Snapshot before = snapshot(memory, table);
            const Status s = table.unmap(Ipa(ipa), len);
            if (ok(s)) {
                if (!well_formed || !model.all(ipa, len)) fuzz::finding("unmap accepted a range not mapped throughout");
                model.erase(ipa, len);
            } else {
                const Snapshot after = snapshot(memory, table);
                if (after.leaves != before.leaves || after.digest != before.digest) {
                    fuzz::finding("a refused unmap changed the tables");
                }
                if (s == Status::NotFound && well_formed && model.all(ipa, len)) {
                    fuzz::finding("unmap said NotFound for a mapped range");
                }
            }
        } else {  // translate a few pages
            for (u64 off = 0; off < 4 * kPage; off += kPage) {
                const u64 a = ipa + off + (op & 0x80 ? 0x123 : 0);
                auto t = table.translate(Ipa(a));
                auto it = model.find(a);
                if (a >= stage2::kIpaLimit) {  // (a may have wrapped: then it is just a low IPA)
                    if (t.ok()) fuzz::finding("translated an IPA beyond the IPA space");
                    continue;
                }
                if (it == model.ranges.end()) {
                    if (t.ok()) fuzz::finding("translated an unmapped IPA");
                } else {
                    if (!t.ok()) fuzz::finding("failed to translate a mapped IPA");
                    if (t.value().pa.raw() != it->second.pa + (a - it->first) ||
                        t.value().attrs.bits() != it->second.attrs) {
                        fuzz::finding("translate disagrees with the model");
                    }
                }
            }
        }
        compare(table, model);
    }
    return 0;
}
