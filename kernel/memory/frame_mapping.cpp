#include <arch/arch.hpp>
#include <caps/cspace.hpp>
#include <devices/virtual_devices.hpp>
#include <memory/frame_mapping.hpp>
#include <partition/partition_table.hpp>

namespace bh {

namespace {

// The first cap of an object's group in the derivation tree: caps to one object (its original
// and every copy or mint of it) form a connected subtree whose root's parent is another object.
const CapSlot& object_group_root(const CapSlot& slot) {
    const CapSlot* s = &slot;
    while (s->parent != nullptr && caps::same_object(s->parent->cap, slot.cap)) s = s->parent;
    return *s;
}

// True when a cap to the same object as `object` in the subtree under `top` is mapped in a
// partition other than `owner`. Iterative (parent links, no stack): the depth is the length of
// a CapCopy chain, which a partition controls.
bool mapped_elsewhere(const CapSlot& top, const Capability& object, PartitionId owner) {
    for (const CapSlot* s = &top;;) {
        if (caps::same_object(s->cap, object) && s->cap.mapped() && s->cap.mapped_partition() != owner) return true;
        if (s->first_child != nullptr) {
            s = s->first_child;
            continue;
        }
        while (s != &top && s->next_sibling == nullptr) s = s->parent;
        if (s == &top) return false;
        s = s->next_sibling;
    }
}

// Memory exclusivity: one frame, one partition.
bool frame_mapped_by_another(const CapSlot& frame, PartitionId owner) {
    const CapSlot& root = object_group_root(frame);
    if (root.parent == nullptr) return mapped_elsewhere(root, frame.cap, owner);
    // The group's siblings under the same parent may be caps to the same object too.
    for (const CapSlot* c = root.parent->first_child; c != nullptr; c = c->next_sibling)
        if (caps::same_object(c->cap, frame.cap) && mapped_elsewhere(*c, frame.cap, owner)) return true;
    return false;
}

MapAttributes mapping_of(const Capability& c, MapAttributes attrs) {
    return c.type == ObjectType::DeviceMmio ? attrs.as_device() : attrs;
}

}  // namespace

Outcome check_map_frame(const Partition& p, const CapSlot& frame, Ipa ipa, MapAttributes attrs) {
    const Capability& c = frame.cap;
    const bool channel = c.type == ObjectType::Channel;
    if (c.type != ObjectType::Frame && c.type != ObjectType::DeviceMmio && !channel)
        return refuse(Status::InvalidArgument, "not a Frame, DeviceMmio or Channel cap");
    if (c.type == ObjectType::DeviceMmio && attrs.executable())
        return refuse(Status::InvalidArgument, "device memory cannot be executable");
    // Code another partition can write is code injection: a channel is data only.
    if (channel && attrs.executable()) return refuse(Status::InvalidArgument, "channel memory cannot be executable");
    if (!attrs.covered_by(c.rights)) return refuse(Status::Denied, "access exceeds the capability's rights");
    if (c.mapped()) return refuse(Status::Exists, "capability already mapped");
    if (p.region_count >= Partition::kMaxRegions) return refuse(Status::NoMemory, "too many mappings");
    const u64 size = c.object_size();
    // The guest would reach memory there instead of the device the kernel emulates.
    if (overlaps_emulated_window(p, ipa, size)) return refuse(Status::Exists, "IPA range holds an emulated device");
    if (!ipa.aligned(size)) return refuse(Status::Misaligned, "IPA not aligned to the frame");
    // A Channel is the one object several partitions may map (INV-1's shared-region exception):
    // each of them holds its own cap to it, and each cap maps once.
    if (!channel && frame_mapped_by_another(frame, p.index)) return refuse(Status::Overlap, "frame mapped by another partition");
    const Status s = p.stage2.check_map(ipa, PhysAddr(c.object), size, mapping_of(c, attrs));
    if (!ok(s)) return refuse(s == Status::Overlap ? Status::Exists : s, "IPA range refused by stage 2");
    return Status::Ok;
}

void map_frame_checked(Partition& p, CapSlot& frame, Ipa ipa, MapAttributes attrs) {
    const Capability& c = frame.cap;
    const MapAttributes mapping = mapping_of(c, attrs);
    if (!ok(p.stage2.map(ipa, PhysAddr(c.object), c.object_size(), mapping))) arch::panic("map_frame: checked mapping refused");
    frame.cap.set_mapping(p.index, ipa.raw());
    p.regions[p.region_count++] = MemoryRegion{ipa, PhysAddr(c.object), c.object_size(), mapping,
                                               c.type == ObjectType::Channel};
}

Outcome map_frame(Partition& p, CapSlot& frame, Ipa ipa, MapAttributes attrs) {
    const Outcome o = check_map_frame(p, frame, ipa, attrs);
    if (o.ok()) map_frame_checked(p, frame, ipa, attrs);
    return o;
}

Outcome check_unmap_frame(const Partition& p, const CapSlot& frame) {
    const Capability& c = frame.cap;
    if (!caps::mappable(c.type)) return refuse(Status::InvalidArgument, "not a Frame, DeviceMmio or Channel cap");
    if (!c.mapped() || c.mapped_partition() != p.index) return refuse(Status::NotFound, "not mapped in this partition");
    return Status::Ok;
}

void unmap_frame(const PartitionTable& partitions, const Capability& cap) {
    Partition* p = cap.mapped() ? partitions[cap.mapped_partition()] : nullptr;
    if (p == nullptr) return;
    const u64 size = cap.object_size();
    // The cap recorded exactly this mapping when it was made, so unmap cannot be refused.
    if (!ok(p->stage2.unmap(Ipa(cap.mapped_ipa()), size))) arch::panic("mapping record does not match the stage-2 tables");
    MemoryRegion* r = p->region_at(Ipa(cap.mapped_ipa()), size);
    if (r != nullptr) *r = p->regions[--p->region_count];
}

}  // namespace bh
