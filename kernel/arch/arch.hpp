// The one interface between generic kernel code and the machine. kernel/arch/aarch64 implements
// it for EL2 on the reference machine; kernel/arch/host implements it over plain arrays so that
// every generic file builds and runs unchanged in unit tests, fuzzers and proof extraction.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::arch {

// Kernel view of physical memory. On aarch64 EL2 maps RAM 1:1; on the host it is an array
// standing in for RAM at platform::kRamBase. Returns nullptr outside simulated/mapped memory.
void* phys_to_virt(PhysAddr pa);

// Debug console (PL011 on aarch64, a capture buffer on the host).
void console_write(const char* text, usize length);

// Remove every stage-2 (and stage-1 EL1&0) TLB entry tagged with `vmid`, on all cores and in the
// SMMU (a partition's DMA streams translate through its stage-2 tables with its VMID); complete
// when it returns.
void stage2_tlb_invalidate_vmid(u16 vmid);

// Make table and scrub writes visible to the page-table walker and to other cores.
void publish_memory_writes();

unsigned current_core();

}  // namespace bh::arch

namespace bh::arch {

// Clean the data cache to the point of coherency over [pa, pa + size), so that a partition
// running with its caches off sees what the kernel wrote through its cacheable mapping.
void clean_to_poc(PhysAddr pa, u64 size);

// Interrupt `core` so that it leaves its guest and re-reads its vCPU's state.
void kick_core(unsigned core);

// Wake cores waiting for work (parked vCPUs that became runnable).
void wake_cores();

// Counter ticks (CNTPCT); used as the time base of partitions' virtual counters.
u64 counter_now();

// Shared peripheral interrupts given to partitions (kernel/interrupts.hpp): route `intid` to
// `core` and let it through the distributor; stop it at the distributor (it stays pending at
// the device until the partition's driver clears it there).
void irq_enable(u32 intid, unsigned core);
void irq_disable(u32 intid);

// Power the machine off (PSCI SYSTEM_OFF); on the host, records the request and returns.
void system_off();

}  // namespace bh::arch

namespace bh::arch {

// ---- The SMMU (DMA isolation, docs/isolation.md "DMA"; kernel/arch/aarch64/smmu.cpp, host fake
// kernel/arch/host/smmu_host.cpp). Streams are PCIe requester IDs, 0 .. platform::kStreamCount - 1.
// Every stream aborts until bound; each call below has completed in the SMMU when it returns (its
// commands consumed up to a CMD_SYNC), so no cached copy of what it replaced can be used after.

// False when the machine's SMMU could not be set up to translate (then every stream aborts for
// good and binding is refused).
bool smmu_available();
// Stream `sid` translates through the stage-2 tables at `root` tagged `vmid` (a partition's own).
void smmu_stream_bind(u32 sid, PhysAddr root, u16 vmid);
// Stream `sid` aborts, and nothing it translated with `vmid` is left in the SMMU's TLB.
void smmu_stream_abort(u32 sid, u16 vmid);

// What the SMMU makes of a stream now, read back from its stream table (the invariant checker).
struct DmaStreamState {
    enum class Kind : u8 { Abort, Translate, Other } kind;  // Other: invalid, bypass, stage 1, malformed
    u16 vmid;       // Translate: the tables' VMID
    PhysAddr root;  // Translate: the stage-2 root
};
DmaStreamState smmu_stream_state(u32 sid);

// A fault the SMMU recorded for a device's access.
struct DmaFault {
    u32 sid;
    u64 address;       // the address the device used: an IPA of the stream's partition
    bool read;
    const char* what;  // "translation fault", "permission fault", ...
};
// Takes at most `max` recorded faults, oldest first, into `out`; returns how many. `lost` grows by
// one when the SMMU reports that its queue overflowed since the last call (records were lost; the
// SMMU does not say how many).
u32 smmu_take_faults(DmaFault* out, u32 max, u64& lost);
// The SMMU's global errors that became active since the last call (SMMU_GERROR bits), each
// acknowledged; the event queue's abort is `lost` above, a command error is a kernel bug and
// stops the machine where it happens. 0: none.
u32 smmu_global_errors();

// ---- PCIe configuration space of bus 0 (the ECAM, which only the kernel maps). `size` is 1, 2 or
// 4 and `offset` (below 4096) is aligned to it; an absent function reads as all ones.
u32 pci_config_read(u32 bdf, u32 offset, unsigned size);
void pci_config_write(u32 bdf, u32 offset, unsigned size, u32 value);

}  // namespace bh::arch
