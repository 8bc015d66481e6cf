#include "arch/aarch64/stage2_table.hpp"

namespace bh {

using namespace stage2;

// One map() call: the same walk runs twice, first to plan (find overlaps, count new tables),
// then to apply. Keeping one walk for both is what makes the plan exact.
struct Stage2Table::MapRequest {
    u64 ipa;         // start of the whole request, to compute each step's PA
    u64 pa;
    MapAttributes attrs;
    Pass pass;
    u64 new_tables;  // Plan: tables the request needs
    u64 table_budget;  // Plan: tables object memory can supply; stop counting past it
};

Status Stage2Table::init(ObjectMemory& memory, u16 vmid) {
    if (initialized()) return Status::Exists;
    if (vmid >= (1u << kVmidBits)) return Status::OutOfRange;
    // Concatenated root tables must be aligned to their combined size (Arm ARM D8.2.x).
    const Result<PhysAddr> root = memory.allocate(kRootSize, kRootSize);
    if (!root.ok()) return root.status();
    memory_ = &memory;
    root_ = root.value();
    vmid_ = vmid;
    arch::publish_memory_writes();
    return Status::Ok;
}

// `table` is the table covering [ipa, end) at `level`; during planning it is PhysAddr(0) for a
// table that does not exist yet (and so holds nothing that could overlap).
Status Stage2Table::map_level(unsigned level, PhysAddr table, u64 ipa, u64 end, MapRequest& r) const {
    u64* t = nullptr;
    if (table.raw() != 0) {
        t = entries(table);
        if (t == nullptr) return Status::Corrupt;
    } else if (level == kLastLevel) {
        return Status::Ok;  // a fresh page table: nothing to check, nothing more to count
    }
    const u64 block = level_size(level);
    for (u64 cur = ipa; cur < end;) {
        const u64 entry_end = align_down(cur, block) + block;  // <= 2^40: no overflow
        const u64 step_end = entry_end < end ? entry_end : end;
        const u64 pa = r.pa + (cur - r.ipa);
        const unsigned index = entry_index(level, cur);
        const u64 d = t != nullptr ? load(&t[index]) : 0;
        const bool fits = is_aligned(cur, block) && is_aligned(pa, block) && step_end - cur == block;

        if (is_table(level, d)) {
            // Descend even when a block would fit: the table may still hold mappings, and an
            // empty one (left by unmap) is reused rather than leaked.
            const Status s = map_level(level + 1, PhysAddr(d & kAddressMask), cur, step_end, r);
            if (!ok(s)) return s;
        } else if ((d & kValid) != 0) {
            return Status::Overlap;  // a block or page already covers part of this step
        } else if (fits) {
            if (r.pass == Pass::Apply) arch::write_descriptor(&t[index], make_leaf(level, pa, r.attrs));
        } else if (r.pass == Pass::Plan) {
            if (++r.new_tables > r.table_budget) return Status::NoMemory;
            const Status s = map_level(level + 1, PhysAddr(0), cur, step_end, r);
            if (!ok(s)) return s;
        } else {
            // The plan reserved this page, and nothing else allocates from memory_ in between.
            const Result<PhysAddr> next = memory_->allocate(kPageSize, kPageSize);
            if (!next.ok()) return next.status();
            const Status s = map_level(level + 1, next.value(), cur, step_end, r);
            if (!ok(s)) return s;
            // The new table (zeroing and entries) must be visible to walkers before the link.
            arch::publish_memory_writes();
            arch::write_descriptor(&t[index], make_table(next.value().raw()));
        }
        cur = step_end;
    }
    return Status::Ok;
}

Status Stage2Table::plan_map(Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs, MapRequest& r) const {
    if (!initialized() || !attrs.encodable()) return Status::InvalidArgument;
    if (size == 0) return Status::OutOfRange;
    if (!ipa.aligned(kPageSize) || !pa.aligned(kPageSize) || !is_aligned(size, kPageSize))
        return Status::Misaligned;
    if (!range_inside(ipa.raw(), size, 0, kIpaLimit) || !range_inside(pa.raw(), size, 0, kOutputLimit))
        return Status::OutOfRange;
    r = MapRequest{ipa.raw(), pa.raw(), attrs, Pass::Plan, 0, memory_->available(kPageSize) / kPageSize};
    return map_level(kFirstLevel, root_, ipa.raw(), ipa.raw() + size, r);
}

Status Stage2Table::check_map(Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) const {
    MapRequest r{};
    return plan_map(ipa, pa, size, attrs, r);
}

Status Stage2Table::map(Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
    MapRequest r{};
    Status s = plan_map(ipa, pa, size, attrs, r);
    if (!ok(s)) return s;
    r.pass = Pass::Apply;
    s = map_level(kFirstLevel, root_, ipa.raw(), ipa.raw() + size, r);
    arch::publish_memory_writes();
    // Only an invalid -> valid change happened, so no TLB entry can be stale: no invalidation.
    return s;
}

Status Stage2Table::unmap_level(unsigned level, PhysAddr table, u64 ipa, u64 end, Pass pass) const {
    u64* t = entries(table);
    if (t == nullptr) return Status::Corrupt;
    const u64 block = level_size(level);
    for (u64 cur = ipa; cur < end;) {
        const u64 entry_end = align_down(cur, block) + block;
        const u64 step_end = entry_end < end ? entry_end : end;
        const unsigned index = entry_index(level, cur);
        const u64 d = load(&t[index]);
        if (is_table(level, d)) {
            const Status s = unmap_level(level + 1, PhysAddr(d & kAddressMask), cur, step_end, pass);
            if (!ok(s)) return s;
        } else if (is_leaf(level, d)) {
            // Splitting a block would need new tables and a break-before-make sequence; the
            // caller unmaps what it mapped instead.
            if (cur != align_down(cur, block) || step_end - cur != block) return Status::Misaligned;
            if (pass == Pass::Apply) arch::write_descriptor(&t[index], 0);
        } else {
            return Status::NotFound;
        }
        cur = step_end;
    }
    return Status::Ok;
}

Status Stage2Table::unmap(Ipa ipa, u64 size) {
    if (!initialized()) return Status::InvalidArgument;
    if (size == 0) return Status::OutOfRange;
    if (!ipa.aligned(kPageSize) || !is_aligned(size, kPageSize)) return Status::Misaligned;
    if (!range_inside(ipa.raw(), size, 0, kIpaLimit)) return Status::OutOfRange;

    const u64 end = ipa.raw() + size;
    Status s = unmap_level(kFirstLevel, root_, ipa.raw(), end, Pass::Plan);
    if (!ok(s)) return s;
    s = unmap_level(kFirstLevel, root_, ipa.raw(), end, Pass::Apply);
    // Cleared entries must reach the walker before the invalidation, or a walk racing with the
    // TLBI could refill the TLB from the old descriptor.
    arch::publish_memory_writes();
    arch::stage2_tlb_invalidate_vmid(vmid_);
    return s;
}

Result<Stage2Table::Translation> Stage2Table::translate(Ipa ipa) const {
    if (!initialized()) return Status::InvalidArgument;
    if (ipa.raw() >= kIpaLimit) return Status::OutOfRange;
    PhysAddr table = root_;
    for (unsigned level = kFirstLevel; level <= kLastLevel; ++level) {
        const u64* t = entries(table);
        if (t == nullptr) return Status::Corrupt;
        const u64 d = load(&t[entry_index(level, ipa.raw())]);
        if (is_leaf(level, d)) {
            const u64 block = level_size(level);
            return Translation{PhysAddr(leaf_output(level, d) | (ipa.raw() & (block - 1))),
                               decode_leaf_attrs(d), level, block};
        }
        if (!is_table(level, d)) return Status::NotFound;
        table = PhysAddr(d & kAddressMask);
    }
    return Status::NotFound;
}

}  // namespace bh
