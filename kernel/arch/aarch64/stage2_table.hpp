// The AArch64 stage-2 translation-table builder: IPA -> PA for one VMID. The same tables serve
// the CPUs (VTTBR_EL2) and, with the same VMID, the partition's DMA streams (SMMUv3 stage 2),
// so what a partition's devices can reach is exactly what the partition can reach.
//
// Geometry (chosen once for the platform, see kVtcrEl2): 4 KiB granule, 40-bit IPA, walks start
// at level 1 with two concatenated level-1 tables as the root (1024 entries, 8 KiB, 8 KiB
// aligned), so no level-0 table is ever needed for the 1 TiB IPA space.
//
// Changes are all-or-nothing: map and unmap validate the whole request (and, for map, reserve
// nothing but check that object memory can supply every new table) before writing anything.
// Entries only ever go invalid -> valid (map) or valid -> invalid (unmap), never valid -> other
// valid, so break-before-make never arises.
//
// Table pages come from an ObjectMemory (watermark memory) and are never freed: an unmapped
// range leaves its (now empty) tables in place and a later map reuses them. The memory is
// reclaimed as a whole when the partition's object memory is.
//
// Not thread-safe: callers serialise changes to one table (the capability lock, or the boot
// program before any partition runs). Descriptors are written with single-copy-atomic stores
// through arch::write_descriptor, so a concurrent walker never sees a torn descriptor, and the
// host tests can record every intermediate state a walker could observe.
#pragma once

#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>
#include <lib/atomic.hpp>
#include <memory/map_attributes.hpp>
#include <memory/object_memory.hpp>

#include "arch/arch.hpp"
#include "arch/aarch64/stage2_format.hpp"

namespace bh {

class Stage2Table {
public:
    struct Translation {
        PhysAddr pa;       // the translation of the IPA asked for (block base + offset)
        MapAttributes attrs;  // decoded from the leaf descriptor
        unsigned level;    // level of the leaf: 1 (1 GiB block), 2 (2 MiB block), 3 (page)
        u64 block_size;
    };

    // Allocates the 8 KiB root from `memory`, which must outlive the table: map() takes its new
    // table pages from it too. vmid must fit kVmidBits (OutOfRange). init once (Exists).
    Status init(ObjectMemory& memory, u16 vmid);

    PhysAddr root() const { return root_; }
    u16 vmid() const { return vmid_; }
    u64 vttbr() const { return root_.raw() | (static_cast<u64>(vmid_) << 48); }
    bool initialized() const { return memory_ != nullptr; }

    // Maps [ipa, ipa + size) -> [pa, pa + size), using the largest block that IPA alignment, PA
    // alignment and the remaining size allow at each step. Refuses, changing nothing:
    // InvalidArgument (attributes not encodable, not initialised), OutOfRange (zero or wrapping
    // size, beyond the IPA space or kOutputBits), Misaligned (not 4 KiB aligned), Overlap (any
    // page of the range already mapped), NoMemory (object memory cannot supply every table the
    // range needs).
    Status map(Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs);
    // What map() would answer, changing nothing: Ok means map() with the same arguments, with
    // no change to the table or its memory in between, succeeds.
    Status check_map(Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) const;

    // Unmaps [ipa, ipa + size), which must be mapped throughout (NotFound) and must not cut
    // through a block (Misaligned); checked before anything changes. Invalidates the VMID's TLB
    // entries afterwards. Table pages stay allocated (watermark memory) and are reused.
    Status unmap(Ipa ipa, u64 size);

    // NotFound when unmapped; OutOfRange beyond the IPA space.
    Result<Translation> translate(Ipa ipa) const;

    // f(Ipa, PhysAddr, u64 size, MapAttributes) once per leaf descriptor, in increasing IPA order.
    // Adjacent leaves are not merged: the walk reports the tables as they are.
    template <class F>
    void for_each_mapping(F&& f) const {
        if (initialized()) walk_leaves(stage2::kFirstLevel, root_, 0, f);
    }

private:
    enum class Pass { Plan, Apply };
    struct MapRequest;

    static u64* entries(PhysAddr table) { return static_cast<u64*>(arch::phys_to_virt(table)); }
    static u64 load(const u64* entry) { return reinterpret_cast<const Atomic<u64>*>(entry)->load_relaxed(); }

    Status plan_map(Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs, MapRequest& request) const;
    Status map_level(unsigned level, PhysAddr table, u64 ipa, u64 end, MapRequest& request) const;
    Status unmap_level(unsigned level, PhysAddr table, u64 ipa, u64 end, Pass pass) const;

    template <class F>
    void walk_leaves(unsigned level, PhysAddr table, u64 base, F& f) const {
        const u64* t = entries(table);
        if (t == nullptr) return;
        for (unsigned i = 0; i < stage2::entry_count(level); ++i) {
            const u64 d = load(&t[i]);
            const u64 ipa = base + (static_cast<u64>(i) << stage2::level_shift(level));
            if (stage2::is_leaf(level, d)) {
                f(Ipa(ipa), PhysAddr(stage2::leaf_output(level, d)), stage2::level_size(level),
                  stage2::decode_leaf_attrs(d));
            } else if (stage2::is_table(level, d)) {
                walk_leaves(level + 1, PhysAddr(d & stage2::kAddressMask), ipa, f);
            }
        }
    }

    ObjectMemory* memory_ = nullptr;
    PhysAddr root_{};
    u16 vmid_ = 0;
};

}  // namespace bh
