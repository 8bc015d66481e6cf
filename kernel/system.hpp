// The system: every partition, the binding of vCPUs to physical cores, and the memory kernel
// objects are made from. Its operations are small and each validates all of its arguments
// before changing anything, so that the boot manifest (and later capability invocations) can
// drive them directly; a refusal leaves the state as it was and says why in last_refusal().
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <object_memory.hpp>
#include <partition.hpp>

namespace bh {

enum class StopReason { Fault, SystemOff, SystemReset, AllVcpusOff };

class System {
public:
    // `ram_*` is the machine's RAM; `kernel_*` the part of it no partition may ever map.
    Status init(PhysAddr object_base, u64 object_size, u64 ram_base, u64 ram_size, unsigned cores);

    // --- construction (boot manifest ops; later capability invocations)
    Result<Partition*> create_partition(const char* name, manifest::RestartPolicy policy, u32 vcpu_count);
    Status map_memory(Partition& p, Ipa ipa, PhysAddr pa, u64 size, u64 attrs);
    Status load_image(Partition& p, Ipa ipa, const u8* bytes, u64 size);
    Status bind_core(Partition& p, u32 vcpu, u32 core);
    Status set_entry(Partition& p, u32 vcpu, u64 entry, u64 arg);
    // Checks that every partition is complete, then starts them all. Nothing can be built after.
    Status seal();

    // --- life cycle
    // Takes `current`'s partition down for `reason`; restarts it when the reason or its policy
    // says so. Waits until none of its other vCPUs is running. Called on the faulting core.
    void stop(Vcpu& current, StopReason reason);

    u32 partition_count() const { return partition_count_; }
    Partition* partition(u32 index) const { return index < partition_count_ ? partitions_[index] : nullptr; }
    // Read by waiting cores while core 0 runs the boot program.
    Vcpu* vcpu_on_core(unsigned core) const {
        return core < cores_ ? __atomic_load_n(&core_vcpu_[core], __ATOMIC_ACQUIRE) : nullptr;
    }
    bool sealed() const { return sealed_; }
    const char* last_refusal() const { return refusal_; }
    const ObjectMemory& object_memory() const { return objects_; }
    // Read-only views for the invariant checker (kernel/invariants.hpp).
    u64 ram_base() const { return ram_base_; }
    u64 ram_size() const { return ram_size_; }
    unsigned core_count() const { return cores_; }

private:
    Status refuse(Status status, const char* why) {
        refusal_ = why;
        return status;
    }
    Status check_device_window(PhysAddr pa, u64 size) const;
    // True when [pa, pa + size) overlaps memory (or MMIO) already given to any partition.
    bool overlaps_given(PhysAddr pa, u64 size, bool device) const;
    void launch(Partition& p);
    void reload_memory(Partition& p);

    ObjectMemory objects_;
    Partition* partitions_[manifest::kMaxPartitions] = {};
    u32 partition_count_ = 0;
    Vcpu* core_vcpu_[platform::kMaxCores] = {};
    unsigned cores_ = 0;
    u64 ram_base_ = 0;
    u64 ram_size_ = 0;
    bool sealed_ = false;
    u32 running_ = 0;  // partitions not yet stopped for good; the machine powers off at zero
    const char* refusal_ = "";
};

}  // namespace bh
