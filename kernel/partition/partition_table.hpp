// Every configured partition, by index (its PartitionId; VMID = index + 1), and the boot program
// operations that build one: CreatePartition (a retyped Partition object with a retyped CNode
// as its CSpace root), LoadImage and StartVcpu. Closed at seal like the boot space.
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/status.hpp>
#include <lib/ids.hpp>
#include <partition/partition.hpp>

namespace bh {

class BootSpace;

class PartitionTable {
public:
    static constexpr unsigned kCSpaceRadix = 8;  // what bhcc retypes partitions' CSpace roots with

    // The Partition object in `object` becomes a configured partition whose CSpace root is the
    // CNode in `cnode`. Names: 1..23 of [a-z0-9_-], unique, never the kernel's ("bulkhead").
    // `flags` (manifest::partition_flag) are the devices the kernel emulates for it (console
    // input needs the virtual UART and goes to one partition at most) and whether it runs an
    // OS (kOsGuest: Partition::os_guest).
    // Under the capability lock, as every change of a CSpace root (Partition::set_cspace_root).
    Outcome create(const BootSpace& boot, BootSlot object, BootSlot cnode, const char* name,
                   manifest::RestartPolicy policy, u32 vcpu_count, u64 flags, const CapLockHeld& held);
    // An image segment `p` is (re)loaded with on every start: inside its private RAM mappings.
    Outcome load_image(Partition& p, Ipa ipa, const u8* bytes, u64 size) const;
    // vCPU 0's entry point (executable memory) and x0.
    Outcome set_entry(Partition& p, VcpuIndex vcpu, u64 entry, u64 arg) const;

    u32 count() const { return count_; }
    Partition* operator[](PartitionId id) const { return id.raw() < count_ ? partitions_[id.raw()] : nullptr; }
    // The configured partition a boot slot's cap names, or nullptr.
    Partition* in_slot(const BootSpace& boot, BootSlot slot) const;
    // The configured partition whose object is at `object`, or nullptr.
    Partition* at(PhysAddr object) const;
    template <class F>
    void for_each(F&& f) const {
        for (u32 i = 0; i < count_; ++i) f(*partitions_[i]);
    }

    void close() { closed_ = true; }

private:
    // Why a partition may not have `flags` among these partitions; nullptr when it may.
    const char* flags_refusal(u64 flags) const;

    Partition* partitions_[manifest::kMaxPartitions] = {};
    u32 count_ = 0;
    bool closed_ = false;
};

}  // namespace bh
