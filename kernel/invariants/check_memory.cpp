// INV-1 memory exclusivity, INV-2 kernel integrity, STATE-1 tables == recorded regions.
#include <invariants/checker.hpp>
#include <invariants/vmsa_descriptor.hpp>

namespace bh::checker {

// ---- INV-1 (shared-region exception): each channel mapping is made through a Channel cap
// that records exactly this mapping — one in the partition's own CSpace, or the boot
// program's in the boot CNode — and is never executable or device memory.
void Checker::channel_regions(u32 i) {
    const Partition& p = part(i);
    for (u32 k = 0; k < region_count(p); ++k) {
        const MemoryRegion& r = p.regions[k];
        if (!r.channel || !region_sane(r)) continue;
        if (r.attrs.executable() || r.attrs.device())
            value(at(about(add(InvariantId::MemoryExclusivity, "channel mapping executable or device memory"), p), r.ipa,
                     r.pa, r.size),
                  r.attrs.bits());
        if (!channel_cap_maps(boot_view(), p, r) && !(cspace_view_[i] != 0 && channel_cap_maps(views_[cspace_view_[i]], p, r)))
            at(about(add(InvariantId::MemoryExclusivity, "channel mapping without a Channel cap that records it"), p),
               r.ipa, r.pa, r.size);
    }
}

bool Checker::channel_cap_maps(const CNodeView& v, const Partition& p, const MemoryRegion& r) {
    bool found = false;
    for_each_occupied(v, [&](const CapSlot& slot) {
        const Capability& c = slot.cap;
        found = found || (c.type == ObjectType::Channel && c.mapped() && c.mapped_partition() == p.index &&
                          c.mapped_ipa() == r.ipa.raw() && c.object == r.pa.raw() && c.object_size() == r.size);
    });
    return found;
}

// ---- INV-2: the tables the hardware walks are kernel objects in object memory; STATE-1:
// every descriptor is exactly what the table builder writes.
void Checker::table_placement(u32 i) {
    const Partition& p = part(i);
    // The walk below visits every descriptor in the order for_each_mapping does, so it also
    // records the partition's runs for the later checks (see for_runs).
    RunCache& rc = runs_of_[i];
    rc = RunCache{runs_used_, 0, 0, scratch_ != nullptr};
    if (!p.stage2.initialized()) return;
    const PhysAddr root = p.stage2.root();
    if (!root.aligned(stage2::kRootSize) || !in_objects(root.raw(), stage2::kRootSize)) {
        InvariantViolation& v = about(add(InvariantId::KernelIntegrity, "stage-2 root outside object memory"), p);
        v.fields |= InvariantViolation::kPa;
        v.pa = root;
    }
    walk_tables(p, rc, stage2::kFirstLevel, root, 0);
    if (rc.valid) runs_used_ += rc.count;
}

void Checker::walk_tables(const Partition& p, RunCache& rc, unsigned level, PhysAddr table, u64 base) {
    const u64* t = static_cast<const u64*>(arch::phys_to_virt(table));
    if (t == nullptr) return;  // reported by the caller: not in object memory
    const unsigned entries = stage2::entry_count(level);
    for (unsigned e = 0; e < entries; ++e) {
        // Most entries are invalid (bit 0 clear: neither a table nor a leaf at any level);
        // 32 at a time are skipped with one test.
        if ((e & 31) == 0 && e + 32 <= entries) {
            u64 any = 0;
            for (unsigned k = 0; k < 32; ++k) any |= t[e + k];
            if ((any & 1) == 0) {
                e += 31;
                continue;
            }
        }
        const u64 d = reinterpret_cast<const Atomic<u64>*>(&t[e])->load_relaxed();
        if ((d & 1) == 0) continue;
        const u64 ipa = base + (static_cast<u64>(e) << stage2::level_shift(level));
        // Read with the checker's own decoder (vmsa_descriptor.hpp), not the encoder's inverse.
        const vmsa::Descriptor r = vmsa::decode(level, d);
        if (r.kind == vmsa::Kind::Table) {
            const PhysAddr next(r.address);
            if (!vmsa::kernel_table(r))
                value(at(about(add(InvariantId::TablesMatchRegions, "table descriptor with bits the kernel never sets"), p),
                         Ipa(ipa), next, stage2::level_size(level)),
                      d);
            if (!in_objects(next.raw(), kPageSize))
                at(about(add(InvariantId::KernelIntegrity, "stage-2 table page outside object memory"), p), Ipa(ipa),
                   next, stage2::level_size(level));
            walk_tables(p, rc, level + 1, next, ipa);
        } else if (r.kind != vmsa::Kind::Invalid) {
            note_leaf(rc, Ipa(ipa), PhysAddr(r.address), stage2::level_size(level), vmsa::access_of(r));
            if (!vmsa::kernel_leaf(r))
                value(at(about(add(InvariantId::TablesMatchRegions, "leaf descriptor with bits the kernel never sets"), p),
                         Ipa(ipa), PhysAddr(r.address), stage2::level_size(level)),
                      d);
        }
    }
}

// ---- INV-2 and INV-1 for each partition's own leaves (what the hardware uses)
void Checker::leaves_of(u32 i) {
    const Partition& p = part(i);
    u64 leaves = 0;
    for_runs(i, leaves, [&](const Run& r) {
        placement(p, r.ipa, r.pa, r.size, r.attrs, "stage-2 leaf reaches the kernel region",
                  "stage-2 leaf reaches kernel object memory", "device leaf outside the assignable MMIO windows",
                  "device leaf is executable", "normal-memory leaf outside RAM");
    });
}

// The same rules for what the kernel believes: it scrubs and loads recorded regions on every
// (re)start, so a wrong region is a wrong write by the kernel even if it is not mapped.
void Checker::regions_of(u32 i) {
    const Partition& p = part(i);
    for (u32 k = 0; k < region_count(p); ++k) {
        const MemoryRegion& r = p.regions[k];
        if (!region_sane(r)) {
            value(at(about(add(InvariantId::TablesMatchRegions, "recorded region malformed"), p), r.ipa, r.pa, r.size),
                  r.attrs.bits());
            continue;
        }
        placement(p, r.ipa, r.pa, r.size, r.attrs, "recorded region in the kernel region",
                  "recorded region in kernel object memory", "recorded device region outside the assignable MMIO windows",
                  "recorded device region is executable", "recorded normal-memory region outside RAM");
        for (u32 k2 = 0; k2 < k; ++k2) {
            const MemoryRegion& o = p.regions[k2];
            if (region_sane(o) && ranges_overlap(r.ipa.raw(), r.size, o.ipa.raw(), o.size))
                at(about(add(InvariantId::TablesMatchRegions, "recorded regions overlap in IPA"), p), r.ipa, r.pa, r.size);
        }
    }
}

void Checker::placement(const Partition& p, Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs, const char* in_kernel,
               const char* in_objects_msg, const char* bad_mmio, const char* exec_device, const char* outside_ram) {
    const BootSpace::ObjectMemoryView& m = om_;
    if (ranges_overlap(pa.raw(), size, platform::kKernelRegionBase, platform::kKernelRegionSize))
        at(about(add(InvariantId::KernelIntegrity, in_kernel), p), ipa, pa, size);
    else if (ranges_overlap(pa.raw(), size, m.base.raw(), m.size))
        at(about(add(InvariantId::KernelIntegrity, in_objects_msg), p), ipa, pa, size);
    if (attrs.device()) {
        if (!in_assignable_mmio(pa.raw(), size)) at(about(add(InvariantId::KernelIntegrity, bad_mmio), p), ipa, pa, size);
        if (attrs.executable()) at(about(add(InvariantId::KernelIntegrity, exec_device), p), ipa, pa, size);
    } else if (!range_inside(pa.raw(), size, s_.boot.ram_base(), s_.boot.ram_size())) {
        at(about(add(InvariantId::MemoryExclusivity, outside_ram), p), ipa, pa, size);
    }
}

// Two partitions' ranges share [lo, hi): a RAM frame (INV-1) or, outside RAM, an MMIO page
// (INV-6: a channel nobody declared). `b` is the later partition, reported first.
void Checker::shared(const Partition& b, Ipa b_ipa, PhysAddr b_pa, u64 b_size, const Partition& a, Ipa a_ipa, PhysAddr a_pa,
            u64 a_size, const char* ram_msg, const char* mmio_msg) {
    if (!ranges_overlap(b_pa.raw(), b_size, a_pa.raw(), a_size)) return;
    const u64 lo = b_pa.raw() > a_pa.raw() ? b_pa.raw() : a_pa.raw();
    const u64 b_end = b_pa.raw() + b_size;
    const u64 a_end = a_pa.raw() + a_size;
    const u64 hi = b_end < a_end ? b_end : a_end;
    const bool ram = ranges_overlap(lo, hi - lo, s_.boot.ram_base(), s_.boot.ram_size());
    InvariantViolation& v = other(
        about(add(ram ? InvariantId::MemoryExclusivity : InvariantId::InformationFlow, ram ? ram_msg : mmio_msg), b), a);
    at(v, b_ipa + (lo - b_pa.raw()), PhysAddr(lo), hi - lo);
    v.fields |= InvariantViolation::kOtherIpa;
    v.other_ipa = a_ipa + (lo - a_pa.raw());
}

void Checker::shared_regions() {
    for (u32 j = 0; j < count_; ++j) {
        if (!live_[j]) continue;
        const Partition& b = part(j);
        for (u32 i = 0; i < j; ++i) {
            if (!live_[i]) continue;
            const Partition& a = part(i);
            for (u32 rb = 0; rb < region_count(b); ++rb) {
                const MemoryRegion& x = b.regions[rb];
                if (!region_sane(x)) continue;
                for (u32 ra = 0; ra < region_count(a); ++ra) {
                    const MemoryRegion& y = a.regions[ra];
                    if (!region_sane(y)) continue;
                    if (same_channel(&x, &y)) continue;  // INV-1's shared-region exception
                    shared(b, x.ipa, x.pa, x.size, a, y.ipa, y.pa, y.size,
                           "recorded RAM region overlaps another partition's",
                           "recorded MMIO region shared with another partition");
                }
            }
        }
    }
}

// Two runs (one per partition) share physical memory: allowed exactly where, page by page,
// both map it through channel mappings of the same Channel object; the rest is reported.
void Checker::shared_runs(const Partition& b, const Run& x, const Partition& a, const Run& y) {
    if (!ranges_overlap(x.pa.raw(), x.size, y.pa.raw(), y.size)) return;
    const u64 lo = x.pa.raw() > y.pa.raw() ? x.pa.raw() : y.pa.raw();
    const u64 hi = x.pa.raw() + x.size < y.pa.raw() + y.size ? x.pa.raw() + x.size : y.pa.raw() + y.size;
    u64 cur = lo;
    while (cur < hi) {
        const MemoryRegion* rb = region_at(b, x.ipa.raw() + (cur - x.pa.raw()));
        const MemoryRegion* ra = region_at(a, y.ipa.raw() + (cur - y.pa.raw()));
        // The PA must lie in the records too (STATE-1 reports tables that disagree with them).
        if (!same_channel(rb, ra) || cur < rb->pa.raw() || cur - rb->pa.raw() >= rb->size) break;
        cur = rb->pa.raw() + rb->size;
    }
    if (cur >= hi) return;
    shared(b, x.ipa + (cur - x.pa.raw()), PhysAddr(cur), hi - cur, a, y.ipa + (cur - y.pa.raw()), PhysAddr(cur),
           hi - cur, "RAM frame mapped by another partition too", "MMIO page mapped by another partition too");
}

void Checker::shared_leaves() {
    u64 budget_used = 0;
    for (u32 j = 0; j < count_; ++j) {
        if (!live_[j]) continue;
        const Partition& b = part(j);
        u64 outer_leaves = 0;
        for_runs(j, outer_leaves, [&](const Run& x) {
            for (u32 i = 0; i < j; ++i) {
                if (!live_[i]) continue;
                if (budget_used > kPairwiseLeafBudget) {
                    report_.complete = false;
                    return;
                }
                const Partition& a = part(i);
                for_runs(i, budget_used, [&](const Run& y) { shared_runs(b, x, a, y); });
            }
        });
    }
}

void Checker::tables_match_regions(u32 i) {
    const Partition& p = part(i);
    u64 leaves = 0;
    for_runs(i, leaves, [&](const Run& run) {
        const u64 end = run.ipa.raw() + run.size;
        for (u64 cur = run.ipa.raw(); cur < end;) {
            const PhysAddr pa = run.pa + (cur - run.ipa.raw());
            const MemoryRegion* r = region_at(p, cur);
            if (r == nullptr) {
                at(about(add(InvariantId::TablesMatchRegions, "stage-2 leaf not in any recorded region"), p), Ipa(cur),
                   pa, end - cur);
                return;
            }
            const u64 r_end = r->ipa.raw() + r->size;
            const u64 step_end = r_end < end ? r_end : end;
            if (run.attrs != r->attrs) {
                value(at(about(add(InvariantId::TablesMatchRegions, "leaf attributes differ from the recorded region's"), p),
                         Ipa(cur), pa, step_end - cur),
                      run.attrs.bits());
            } else if (pa.raw() - cur != r->pa.raw() - r->ipa.raw()) {
                value(at(about(add(InvariantId::TablesMatchRegions, "leaf PA differs from the recorded region's"), p),
                         Ipa(cur), pa, step_end - cur),
                      r->pa.raw() + (cur - r->ipa.raw()));
            }
            cur = step_end;
        }
    });
    for (u32 k = 0; k < region_count(p); ++k) {
        const MemoryRegion& r = p.regions[k];
        if (!region_sane(r)) continue;
        const u64 end = r.ipa.raw() + r.size;
        for (u64 cur = r.ipa.raw(); cur < end;) {
            // The end of the leaf that maps cur (0: none), from the runs the table walk
            // recorded (they cover exactly the IPAs a translate finds mapped), else a walk.
            u64 next = 0;
            if (runs_of_[i].valid) {
                if (const Run* run = run_at(runs_of_[i], cur)) next = run->ipa.raw() + run->size;
            } else if (const Result<Stage2Table::Translation> t = p.stage2.translate(Ipa(cur)); t.ok()) {
                next = align_down(cur, t.value().block_size) + t.value().block_size;
            }
            if (next == 0) {
                at(about(add(InvariantId::TablesMatchRegions, "recorded region not mapped here"), p), Ipa(cur),
                   r.pa + (cur - r.ipa.raw()), 0);
                break;
            }
            // The leaf-side pass above has reported a leaf that disagrees; here only the gap.
            cur = next;
        }
    }
}

}  // namespace bh::checker
