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

// One translation-table descriptor, stored single-copy-atomically (a walker never sees half of
// it). The host build records these for the tests that check every state a walker could see.
void write_descriptor(u64* entry, u64 value);

unsigned current_core();

}  // namespace bh::arch

namespace bh::arch {

// Clean and invalidate the data cache to the point of coherency over [pa, pa + size): memory
// the kernel wrote through its cacheable 1:1 mapping (zeroed at retype, scrubbed and loaded at a
// partition's start) reaches DRAM before a partition, which may run with its caches off, reads
// it, and no dirty line of the kernel's is left to be written back over what the partition
// writes later. Every path that hands memory to a partition cleans exactly that memory, with
// this or as it writes it (zero_to_poc, copy_to_poc).
void clean_invalidate_to_poc(PhysAddr pa, u64 size);

// CRC-32 with IEEE 802.3's polynomial, reflected, over `length` bytes, continuing from `state`:
// the running remainder, without the definition's initial and final inversion (bh::crc32 in
// lib/crc32.cpp applies those). Armv8's CRC32 instructions at EL2, the table code on the host;
// both must give the definition's result at every alignment and length (the unit tests, and
// every boot's check of the manifest bhcc wrote on the host).
u32 crc32_update(u32 state, const u8* bytes, usize length);

// Write memory handed to a partition and leave it as clean_invalidate_to_poc would, in one pass
// (each line cleaned as it is written): zero [pa, pa + size), page-aligned RAM (retype's new
// objects, a restart's scrub; DC ZVA at EL2); copy `size` bytes from `source` to RAM at `pa`
// (a partition's images).
void zero_to_poc(PhysAddr pa, u64 size);
void copy_to_poc(PhysAddr pa, const void* source, u64 size);

// Interrupt `core` so that it leaves its guest and re-reads its vCPU's state.
void kick_core(unsigned core);

// Send an event to the cores waiting in wait_for_event (a vCPU waiting in the kernel,
// ipc/kernel_wait.hpp). A core asleep in its idle loop needs wake_core instead.
void wake_cores();
// Wake `core`, which may wait for work in its idle loop (its parked vCPU became runnable): the
// idle loop sleeps until an interrupt, so this is a kick unless `core` is the caller's own.
void wake_core(unsigned core);

// A core waiting in the kernel for another core's store (ipc/kernel_wait.hpp): returns after
// the next event (wake_cores, kick_core), at once if one was sent since the last return, or
// spuriously; the caller re-reads what it waits for. WFE on aarch64: under QEMU it hands the turn
// to the next vCPU (docs/capabilities.md, "Waiting in the kernel"). On the host: the test's wait hook, else the core
// finds an interrupt pending.
void wait_for_event();
// Whether a physical interrupt (IRQ or FIQ) is pending for this core. EL2 runs with them
// masked, so a core waiting in the kernel asks, and leaves the wait to have it handled.
[[nodiscard]] bool interrupt_pending();

// A pass of a loop that waits for another core (a spinlock, a take-down): the YIELD hint, which
// lets the other hardware thread of the core run. Under QEMU's single-threaded
// TCG (-icount) it hands the turn to the next vCPU, so the core waited for runs at once instead
// of after this one's time slice (docs/benchmarks.md); on hardware it is a hint and costs nothing.
void cpu_relax();

// Counter ticks (CNTPCT); used as the time base of partitions' virtual counters.
u64 counter_now();
// Counter ticks per second (CNTFRQ).
u64 counter_frequency();

// The EL1 exception state of the guest that runs on this core, for delivering an exception to
// it (kernel/fault_injection.hpp). Valid only while the kernel handles an exit of that guest:
// its EL1 registers are live in the core until it is entered again.
struct GuestExceptionState {
    u64 esr;   // ESR_EL1
    u64 far;   // FAR_EL1
    u64 elr;   // ELR_EL1: where the exception was taken
    u64 spsr;  // SPSR_EL1: the PSTATE it was taken from
};
u64 guest_vbar();  // VBAR_EL1
void set_guest_exception(const GuestExceptionState& state);

// Shared peripheral interrupts given to partitions (kernel/irq/interrupts.hpp): route `intid` to
// `core` and let it through the distributor; stop it at the distributor (it stays pending at
// the device until the partition's driver clears it there).
void irq_enable(u32 intid, unsigned core);
void irq_disable(u32 intid);

// Power the machine off (PSCI SYSTEM_OFF); on the host, records the request and returns.
void system_off();

// A kernel bug (a broken internal invariant, never a guest's doing): report and stop the
// machine. On the host it aborts the test or fuzz run.
[[noreturn]] void panic(const char* what);

}  // namespace bh::arch
