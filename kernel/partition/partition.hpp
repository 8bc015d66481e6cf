// A partition: one stage-2 address space, its CSpace, its mappings, its vCPUs (objects of their
// own) and its life cycle. The object lives in memory retyped from untyped (caps::ObjectType::Partition); the
// part of that memory after the object is the pool its stage-2 tables come from, so what a
// partition's mappings cost the kernel is bounded by the object its owner paid for.
#pragma once

#include <arch/stage2.hpp>
#include <bulkhead/manifest.hpp>
#include <bulkhead/types.hpp>
#include <caps/cap_lock.hpp>
#include <caps/cap_slot.hpp>
#include <caps/capability.hpp>
#include <lib/ids.hpp>
#include <lib/spinlock.hpp>
#include <lib/report_budget.hpp>
#include <memory/map_attributes.hpp>
#include <memory/object_memory.hpp>
#include <partition/restart_backoff.hpp>
#include <partition/vcpu.hpp>
#include <devices/mmio_forward_state.hpp>
#include <devices/virtual_uart.hpp>
#include <vgic/vgic_state.hpp>

namespace bh {

// One mapping made through a Frame, DeviceMmio or Channel capability (the cap records the same
// mapping; the invariant checker compares both with the stage-2 tables). `channel` marks the
// mapping of a Channel object: memory shared with the channel's other mappers, which a restart
// of this partition must neither scrub nor load an image into.
struct MemoryRegion {
    Ipa ipa;
    PhysAddr pa;
    u64 size = 0;
    MapAttributes attrs;
    bool channel = false;
    bool is_device() const { return attrs.device(); }
    // RAM that belongs to this partition alone (a Frame mapping): scrubbed on every (re)start.
    bool is_private_ram() const { return !is_device() && !channel; }
};

// An image the partition is (re)loaded with: bytes in the boot payload, copied to `ipa`.
struct ImageSegment {
    Ipa ipa;
    const u8* bytes = nullptr;
    u64 size = 0;
};

// A partition's vCPUs: Vcpu objects of their own (vcpu.hpp), bound by BindVcpu. Every index
// below the partition's vcpu_count is bound before seal; before it, use bound().
class VcpuSet {
public:
    Vcpu& operator[](u32 index) const { return *vcpus_[index]; }
    bool bound(u32 index) const { return index < manifest::kMaxVcpusPerPartition && vcpus_[index] != nullptr; }
    void attach(u32 index, Vcpu* v) { vcpus_[index] = v; }

private:
    Vcpu* vcpus_[manifest::kMaxVcpusPerPartition] = {};
};

// Copies a partition's name: at most kNameLength - 1 characters, then the terminating NUL.
inline void copy_name(char* dst, const char* src) {
    unsigned i = 0;
    for (; i + 1 < manifest::kNameLength && src[i] != '\0'; ++i) dst[i] = src[i];
    dst[i] = '\0';
}

// Unconfigured: retyped, not yet made a partition by CreatePartition. Built: configured, not yet
// launched. Running: its vCPUs may run. Stopping: one core is taking it down (and maybe
// restarting it). Stopped: for good.
enum class PartitionState : u32 { Unconfigured = 0, Built = 1, Running = 2, Stopping = 3, Stopped = 4 };

class Partition {
public:
    static constexpr unsigned kMaxRegions = manifest::kMaxMappingsPerPartition;
    static constexpr unsigned kMaxImages = manifest::kMaxImagesPerPartition;

    char name[manifest::kNameLength] = {};
    PartitionId index;
    u16 vmid = 0;
    manifest::RestartPolicy restart_policy = manifest::RestartPolicy::Stop;
    u32 restarts = 0;
    RestartBackoff backoff;
    u64 run_start = 0;  // counter value at which the current run started (or will start)
    manifest::FaultPolicy fault_policy = manifest::FaultPolicy::Stop;
    // Faults injected in the current run (fault policy Inject), those reported one by one, and
    // the budget of such reports (calls/fault_injection.hpp).
    Atomic<u64> injected_faults;
    Atomic<u64> reported_faults;
    ReportBudget fault_reports;
    // The budget of the lines that say why an emulated device access was refused
    // (devices/virtual_devices.cpp): a partition that takes its faults repeats them at will.
    ReportBudget emulation_reports;
    u64 counter_offset = 0;  // CNTVOFF: the guest's virtual counter starts at 0 when it starts

    Stage2Table stage2;
    ObjectMemory table_pool;  // the rest of the partition object: its stage-2 tables
    // Its CSpace root: a reference to the CNode (not a slot of the derivation tree); cleared by
    // the kernel when that CNode is destroyed. Written only by set_cspace_root, under the
    // capability lock.
    Capability cspace_root{};
    // The same root as the lock-free slot reader (calls/identify_unlocked.hpp) reads it: its
    // slots' kernel address with 2^radix - 1 in the low bits (a CNode is page-aligned and its
    // radix at most 12), 0 without a root. One word, so that a reader never combines one root's
    // slots with another's radix: whatever it reads, slot (cptr & mask) lies in a CNode it was.
    Atomic<u64> root_slots_and_mask;
    static constexpr u64 kRootMaskBits = 0xfff;
    static_assert((1ull << caps::kMaxCNodeRadix) - 1 <= kRootMaskBits && caps::kMinObjectBits >= 12,
                  "2^radix - 1 fits the low bits of a CNode's address, which retype aligns to a page at least");
    void set_cspace_root(const Capability& root, const CapLockHeld& held);
    // The slot `cptr` names in a root word (root_slots_and_mask's value): nullptr without a
    // root or beyond it. The index is cptr & mask, so even a mispredicted branch reads no
    // further than the CNode.
    [[gnu::always_inline]] static CapSlot* root_slot(u64 root, u64 cptr) {
        const u64 mask = root & kRootMaskBits;
        if (root == 0 || (cptr & ~mask) != 0) return nullptr;
        return reinterpret_cast<CapSlot*>(root & ~kRootMaskBits) + (cptr & mask);
    }
    MemoryRegion regions[kMaxRegions];
    u32 region_count = 0;
    ImageSegment images[kMaxImages];
    u32 image_count = 0;
    VcpuSet vcpus;
    u32 vcpu_count = 0;  // declared by CreatePartition; indices 0 .. vcpu_count - 1
    u64 flags = 0;     // manifest::partition_flag bits: its virtual GIC, UART, console input, OS guest
    u64 entry = 0;     // vCPU 0's entry point and x0, kept for restarts
    u64 boot_arg = 0;
    bool has_entry = false;

    // Console output is collected per partition and emitted a line at a time, prefixed with
    // the partition's name, so a partition can neither interleave with nor forge other lines.
    SpinLock console_lock;
    char console_line[160] = {};
    u32 console_length = 0;

    // Its emulated devices (kernel/vgic, kernel/devices), when `flags` gives it them.
    vgic::VgicDistributor vgic;
    vuart::VirtualUart uart;
    bool has_vgic() const { return (flags & manifest::partition_flag::kVirtualGic) != 0; }
    bool has_uart() const { return (flags & manifest::partition_flag::kVirtualUart) != 0; }
    bool has_console_input() const { return (flags & manifest::partition_flag::kConsoleInput) != 0; }
    // Runs an unmodified OS: the debug and PMU registers it programs at boot read as zero
    // (arch/aarch64/os_registers.hpp, devices/virtual_devices.cpp).
    bool os_guest() const { return (flags & manifest::partition_flag::kOsGuest) != 0; }
    // Its forwarded MMIO window, and the clients whose windows it serves (devices/mmio_forward.hpp).
    MmioForward forward;
    Partition* forward_clients = nullptr;

    PartitionState load_state() const { return state_of(word_.load()); }
    void store_state(PartitionState s) { update([s](u32 word) { return with_state(word, s); }); }
    bool transition(PartitionState from, PartitionState to);

    // Every launch begins a new run. A step that belongs to one run (the last CPU_OFF of a vCPU
    // that found its partition otherwise off) transitions only while that run is current: it
    // must not act on a run a controller launched in between.
    u32 run() const { return word_.load() >> kRunShift; }
    void begin_run() { update([](u32 word) { return (((word >> kRunShift) + 1) << kRunShift) | u32(PartitionState::Running); }); }
    bool transition_in_run(u32 run, PartitionState from, PartitionState to) {
        return word_.compare_exchange((run << kRunShift) | u32(from), (run << kRunShift) | u32(to));
    }

    // The region of normal memory (private RAM or a channel) that holds all of [ipa, ipa + size),
    // or nullptr.
    const MemoryRegion* ram_region_containing(Ipa ipa, u64 size) const;

    // The mapping record for [ipa, ipa + size), or nullptr.
    MemoryRegion* region_at(Ipa ipa, u64 size);

private:
    // The state and the run number share one word, so that transition_in_run is one compare-exchange.
    static constexpr unsigned kRunShift = 3;
    static constexpr u32 kStateMask = (1u << kRunShift) - 1;
    static_assert(u32(PartitionState::Stopped) <= kStateMask);
    static constexpr PartitionState state_of(u32 word) { return PartitionState(word & kStateMask); }
    static constexpr u32 with_state(u32 word, PartitionState s) { return (word & ~kStateMask) | u32(s); }
    template <class F>
    void update(F&& next) {
        for (u32 word = word_.load();; word = word_.load())
            if (word_.compare_exchange(word, next(word))) return;
    }

    Atomic<u32> word_{u32(PartitionState::Unconfigured)};
};

inline bool Partition::transition(PartitionState from, PartitionState to) {
    for (u32 word = word_.load(); state_of(word) == from; word = word_.load())
        if (word_.compare_exchange(word, with_state(word, to))) return true;
    return false;
}
// System::create puts the stage-2 table pool right after the record, as the ABI says
// (bulkhead/objects.hpp: how many tables a Partition object holds).
static_assert(align_up(sizeof(Partition), kPageSize) == caps::kPartitionRecordPages * kPageSize);

}  // namespace bh
