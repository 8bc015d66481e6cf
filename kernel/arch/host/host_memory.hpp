// Test-side controls of the host arch implementation (arch_host.cpp). Host-only: generic kernel
// code never includes this; unit tests, fuzzers and proof extraction do.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <arch/arch.hpp>
#include <bulkhead/types.hpp>

namespace bh::host {

// Simulated RAM covers [platform::kRamBase, platform::kRamBase + platform::kDefaultRamSize).
// It is reserved lazily (virtual only) and reads as zero until written.
void* ram_base_pointer();
u64 ram_size();
// Zero all of simulated RAM (pages are dropped back to the OS, so this is cheap).
void reset_memory();

// Everything console_write has produced since the last reset_console().
const std::string& console_output();
void reset_console();

// stage2_tlb_invalidate_vmid calls since the last reset_counters(), per VMID and in total.
u64 tlb_invalidations(u16 vmid);
u64 tlb_invalidations_total();
// publish_memory_writes calls since the last reset_counters().
u64 publish_count();
// Zeroes every call counter in this header (TLB, publish, clean, kick, wake, system_off).
void reset_counters();

void set_current_core(unsigned core);

// The fuzzers' interleaving scheduler (fuzz/targets/interleave.hpp): called with spinning =
// true from arch::cpu_relax (a core waits for another) and false at every lock take and drop
// (lock_point, from SpinLock in builds with BH_HOST_LOCK_POINTS). nullptr (the default): nothing.
void set_schedule_hook(void (*hook)(bool spinning));
void lock_point();

// Called after every arch::write_descriptor (Write, entry, value), publish_memory_writes
// (Publish) and stage2_tlb_invalidate_vmid (TlbInvalidate, value = the VMID): the stage-2 tests
// record what a concurrent table walker could see and when. An empty function (the default, and
// after reset_all) observes nothing.
enum class TableEvent { Write, Publish, TlbInvalidate };
using DescriptorObserver = std::function<void(TableEvent event, u64* entry, u64 value)>;
void set_descriptor_observer(DescriptorObserver observer);

// The rest of the arch interface, recorded for tests.
u64 clean_to_poc_calls();     // arch::clean_invalidate_to_poc
u64 clean_to_poc_bytes();
// Whether every byte of [pa, pa + size) was cleaned to the point of coherency since the last
// reset_counters() (the union of every clean_invalidate_to_poc range).
bool cleaned_to_poc(PhysAddr pa, u64 size);
u64 kick_count(unsigned core);  // arch::kick_core, per core (0 for cores >= kMaxCores)
u64 wake_count();               // arch::wake_cores and arch::wake_core
u64 event_wait_count();         // arch::wait_for_event
// What arch::interrupt_pending answers (false after reset_all; an arch::wait_for_event without a
// wait hook sets it, as nothing else could end the wait on the host).
void set_interrupt_pending(bool pending);
// Called by arch::wait_for_event: the test plays the other cores there (a signal, a stop, an
// interrupt). nullptr (the default, and after reset_all): the wait ends as interrupted.
void set_wait_hook(void (*hook)());
u64 wakes_before_last_clean();  // wake_count() when the latest clean was asked for
u64 wake_count(unsigned core);  // arch::wake_core of `core` (0 for cores >= kMaxCores)
void set_counter(u64 ticks);    // arch::counter_now returns this, then one more per call
inline constexpr u64 kCounterFrequency = 62'500'000;  // arch::counter_frequency, as QEMU's virt
// The EL1 exception registers of the guest "on this core" (arch::guest_vbar,
// arch::set_guest_exception): what fault injection read and wrote.
void set_guest_vbar(u64 vbar);
const arch::GuestExceptionState& guest_exception();
u64 system_off_requests();      // arch::system_off

// The fake distributor (arch::irq_enable/irq_disable): whether `intid` is enabled, and the core
// it was last routed to (-1: never). reset_irqs disables every line.
void reset_irqs();
bool irq_enabled(u32 intid);
int irq_route(u32 intid);

// ---- The fake SMMU (smmu_host.cpp): the stream table and commands arch::smmu_* write, with
// QEMU's caching of STEs (until CFGI_STE) and of translations per VMID (until TLBI_S12_VMALL).
// A device's access through stream `sid`: Aborted (abort STE or SMMU off: no event), Faulted (a
// fault event recorded, see arch::smmu_take_faults) or Done at physical address `pa`.
struct DmaAccess {
    enum class Outcome { Aborted, Faulted, Done } outcome;
    u64 pa;
};
DmaAccess smmu_dma(u32 sid, u64 address, bool write);
// A translation fault event for `sid`, as if a device had faulted (tests of the event path).
void smmu_record_event(u32 sid, u64 address, bool write);
void smmu_set_available(bool available);  // false: as an SMMU the kernel could not enable
void smmu_raise_global_error(u32 bits);    // SMMU_GERROR bits become active (arch::smmu_global_errors)
}  // namespace bh::host
namespace bh::smmu {
struct Ste;
struct Command;
}  // namespace bh::smmu
namespace bh::host {
const smmu::Ste& smmu_ste(u32 sid);
void smmu_set_ste(u32 sid, const smmu::Ste& ste);  // corrupt an entry behind the kernel's back
const std::vector<smmu::Command>& smmu_commands();
u64 smmu_tlb_entries(u16 vmid);
u64 smmu_pending_events();
void smmu_tlbi_vmid(u16 vmid);  // what stage2_tlb_invalidate_vmid asks of the SMMU (nothing for a VMID no stream translates with)
// False when the SMMU holds a copy of stream `sid`'s STE that is not what the table says now
// (a change without CFGI_STE).
bool smmu_config_current(u32 sid);
// The translations the SMMU caches (for an oracle that compares them with the tables).
struct SmmuTlbEntry {
    u16 vmid;
    u64 page;  // IPA
    u64 pa;
    u64 attrs;  // manifest::attr bits
};
std::vector<SmmuTlbEntry> smmu_tlb();
void smmu_reset();              // every STE abort, nothing cached, no commands or events

// ---- The fake PCI bus 0 (pci_host.cpp). A memory BAR of `size` bytes (a power of two, 0: none).
struct FakeBar {
    u64 size = 0;
    bool is64 = false;
    bool prefetchable = false;
};
void pci_add_function(u32 bdf, u16 vendor, u16 device, std::vector<FakeBar> bars, u8 header_type = 0,
                      u8 interrupt_pin = 1);
u32 pci_raw(u32 bdf, u32 offset);  // the function's own dword, as the device holds it
void pci_reset();

// Arch calls in the order they were made, for tests of ordering: "smmu cfgi-ste 0x18",
// "smmu tlbi-vmid 1", "smmu sync", "ste 0x18 abort", "cpu tlbi-vmid 1", "clean 0x48000000",
// "pci 24 write 4 = 6". Cleared by reset_all.
std::vector<std::string>& trace();

// reset_memory + reset_console + reset_irqs + reset_counters + reset_vgic (host_vgic.hpp) + SMMU +
// PCI + trace + core 0 +
// counter 0: a fresh machine for each test.
void reset_all();

}  // namespace bh::host
