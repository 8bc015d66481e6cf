// INV-4 for mappings, region -> live cap: every stage-2 leaf a partition's tables hold is
// justified by a live capability. The converse (cap -> region) is Checker::mapped_cap; the
// records are compared with the tables by STATE-1 (tables_match_regions). Together they close
// the loop table <-> record <-> cap, so a mapping cannot outlive the cap that made it.
#include <invariants/checker.hpp>

namespace bh::checker {

bool Checker::cap_justifies(const Capability& c, u32 i, u64 ipa, u64 pa, MapAttributes attrs) {
    if (!caps::mappable(c.type) || !c.mapped() || c.mapped_partition().raw() != i) return false;
    const u64 size = c.object_size();
    if (ipa < c.mapped_ipa() || ipa - c.mapped_ipa() >= size) return false;
    if (c.object + (ipa - c.mapped_ipa()) != pa) return false;
    // The memory type its object calls for: a DeviceMmio cap maps device memory, the others
    // normal memory; and never more access than the cap's rights.
    if (attrs.device() != (c.type == ObjectType::DeviceMmio)) return false;
    return attrs.covered_by(c.rights);
}

void Checker::gather_mapping_caps() {
    mapping_caps_ = 0;
    mapping_caps_valid_ = scratch_ != nullptr;
    if (!mapping_caps_valid_) return;
    for (u32 v = 0; v < view_count_; ++v) {
        for_each_occupied(views_[v], [&](const CapSlot& slot) {
            const Capability& c = slot.cap;
            if (!caps::mappable(c.type) || !c.mapped()) return;
            if (mapping_caps_ == Scratch::kMappingCaps) {
                mapping_caps_valid_ = false;  // too many: scan the views instead
                return;
            }
            scratch_->mapping_caps[mapping_caps_++] = &c;
        });
    }
}

const Capability* Checker::cap_for_leaf(u32 i, u64 ipa, u64 pa, MapAttributes attrs) const {
    if (mapping_caps_valid_) {
        for (u32 k = 0; k < mapping_caps_; ++k)
            if (cap_justifies(*scratch_->mapping_caps[k], i, ipa, pa, attrs)) return scratch_->mapping_caps[k];
        return nullptr;
    }
    const Capability* found = nullptr;
    for (u32 v = 0; v < view_count_ && found == nullptr; ++v)
        for_each_occupied(views_[v], [&](const CapSlot& slot) {
            if (found == nullptr && cap_justifies(slot.cap, i, ipa, pa, attrs)) found = &slot.cap;
        });
    return found;
}

void Checker::leaves_have_caps(u32 i) {
    const Partition& p = part(i);
    u64 leaves = 0;
    for_runs(i, leaves, [&](const Run& run) {
        const u64 end = run.ipa.raw() + run.size;
        for (u64 cur = run.ipa.raw(); cur < end;) {
            const u64 pa = run.pa.raw() + (cur - run.ipa.raw());
            const Capability* c = cap_for_leaf(i, cur, pa, run.attrs);
            if (c != nullptr) {
                const u64 cap_end = c->mapped_ipa() + c->object_size();
                cur = cap_end < end ? cap_end : end;
                continue;
            }
            // One report per unjustified stretch: up to the next page some cap justifies.
            u64 gap_end = cur + kPageSize;
            while (gap_end < end && cap_for_leaf(i, gap_end, run.pa.raw() + (gap_end - run.ipa.raw()), run.attrs) == nullptr)
                gap_end += kPageSize;
            value(at(about(add(InvariantId::CapabilitySoundness, "stage-2 leaf without a live cap that maps it"), p),
                     Ipa(cur), PhysAddr(pa), gap_end - cur),
                  run.attrs.bits());
            cur = gap_end;
        }
    });
}

}  // namespace bh::checker
