// The arch interface on the host: RAM is one anonymous mapping standing in for the reference
// machine's physical memory, the console is a string, TLB maintenance is counted so that tests
// can check that the kernel asked for it.
#include <sys/mman.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <bulkhead/platform.hpp>

#include "arch/arch.hpp"
#include "arch/host/host_memory.hpp"
#include "arch/host/host_vgic.hpp"

namespace bh {
namespace {

constexpr u64 kRamSize = platform::kDefaultRamSize;

u8* g_ram = nullptr;
std::string g_console;
std::array<u64, 1u << 16> g_tlb_invalidations{};
u64 g_tlb_total = 0;
u64 g_publish = 0;
unsigned g_core = 0;
void (*g_schedule_hook)(bool spinning) = nullptr;  // host::set_schedule_hook
u64 g_clean_calls = 0;
u64 g_clean_bytes = 0;
u64 g_wakes_at_last_clean = 0;  // wake_cores calls before the latest clean
std::vector<std::pair<u64, u64>> g_cleaned;  // every range cleaned since reset_counters
std::array<u64, platform::kMaxCores> g_kicks{};
u64 g_wakes = 0;
u64 g_event_waits = 0;
bool g_interrupt_pending = false;    // host::set_interrupt_pending
void (*g_wait_hook)() = nullptr;     // host::set_wait_hook
std::array<u64, platform::kMaxCores> g_core_wakes{};
u64 g_counter = 0;
// The EL1 exception registers of "the guest on this core", as fault injection leaves them.
u64 g_guest_vbar = 0;
arch::GuestExceptionState g_guest_exception{};
u64 g_system_off = 0;
// The fake distributor: per INTID, enabled and routed to which core (-1: never routed).
std::array<bool, platform::kSpiLimit> g_irq_enabled{};
std::array<int, platform::kSpiLimit> g_irq_route{};
host::DescriptorObserver g_observer;

// MAP_NORESERVE: 2 GiB of address space, backed only where the kernel actually writes.
u8* ram() {
    if (g_ram == nullptr) {
        void* p = mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            std::perror("bulkhead host: mmap of simulated RAM");
            std::abort();
        }
        g_ram = static_cast<u8*>(p);
    }
    return g_ram;
}

}  // namespace

namespace arch {

void* phys_to_virt(PhysAddr pa) {
    const u64 raw = pa.raw();
    if (raw < platform::kRamBase || raw - platform::kRamBase >= kRamSize) return nullptr;
    return ram() + (raw - platform::kRamBase);
}

void console_write(const char* text, usize length) { g_console.append(text, length); }

void stage2_tlb_invalidate_vmid(u16 vmid) {
    ++g_tlb_invalidations[vmid];
    ++g_tlb_total;
    host::trace().push_back("cpu tlbi-vmid " + std::to_string(vmid));
    host::smmu_tlbi_vmid(vmid);
    if (g_observer) g_observer(host::TableEvent::TlbInvalidate, nullptr, vmid);
}

void publish_memory_writes() {
    ++g_publish;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (g_observer) g_observer(host::TableEvent::Publish, nullptr, 0);
}

void write_descriptor(u64* entry, u64 value) {
    __atomic_store_n(entry, value, __ATOMIC_RELAXED);
    if (g_observer) g_observer(host::TableEvent::Write, entry, value);
}

void panic(const char* what) {
    std::fprintf(stderr, "bulkhead host: kernel panic: %s\n", what);
    std::abort();
}

unsigned current_core() { return g_core; }

// Host memory is coherent; what matters to tests is that the kernel asked, and for what.
void clean_invalidate_to_poc(PhysAddr pa, u64 size) {
    ++g_clean_calls;
    g_clean_bytes += size;
    g_wakes_at_last_clean = g_wakes;
    g_cleaned.emplace_back(pa.raw(), size);
    char text[40];
    std::snprintf(text, sizeof text, "clean 0x%llx", static_cast<unsigned long long>(pa.raw()));
    host::trace().push_back(text);
}

// Written like the kernel's other writes, and recorded as a clean of that range (what the
// cache-maintenance tests look for).
void zero_to_poc(PhysAddr pa, u64 size) {
    std::memset(phys_to_virt(pa), 0, size);
    clean_invalidate_to_poc(pa, size);
}

void copy_to_poc(PhysAddr pa, const void* source, u64 size) {
    std::memcpy(phys_to_virt(pa), source, size);
    clean_invalidate_to_poc(pa, size);
}

void kick_core(unsigned core) {
    if (core < g_kicks.size()) ++g_kicks[core];
}

void wake_cores() { ++g_wakes; }

void wake_core(unsigned core) {
    ++g_wakes;
    if (core < g_core_wakes.size()) ++g_core_wakes[core];
}

void wait_for_event() {
    ++g_event_waits;
    if (g_wait_hook != nullptr) {
        g_wait_hook();
    } else {
        g_interrupt_pending = true;  // nothing else runs on the host: the wait ends as interrupted
    }
}

bool interrupt_pending() { return g_interrupt_pending; }

// A core waiting for another: under the fuzzers' interleaving scheduler, the other one runs.
void cpu_relax() {
    if (g_schedule_hook != nullptr) g_schedule_hook(true);
}

// Strictly increasing, like CNTPCT across reads, and deterministic for tests.
u64 counter_now() { return g_counter++; }
u64 counter_frequency() { return host::kCounterFrequency; }

u64 guest_vbar() { return g_guest_vbar; }
void set_guest_exception(const GuestExceptionState& state) { g_guest_exception = state; }

void system_off() { ++g_system_off; }

void irq_enable(u32 intid, unsigned core) {
    if (intid >= g_irq_enabled.size()) std::abort();  // the generic code validated it: a kernel bug
    g_irq_enabled[intid] = true;
    g_irq_route[intid] = static_cast<int>(core);
}

void irq_disable(u32 intid) {
    if (intid >= g_irq_enabled.size()) std::abort();
    g_irq_enabled[intid] = false;
}

}  // namespace arch

namespace host {

void* ram_base_pointer() { return ram(); }
u64 ram_size() { return kRamSize; }

void reset_memory() {
    if (g_ram == nullptr) return;  // never touched: already all zero
    // For a private anonymous mapping, MADV_DONTNEED makes every page read as zero again and
    // gives the memory back, without changing the mapping's address.
    if (madvise(g_ram, kRamSize, MADV_DONTNEED) != 0) {
        std::perror("bulkhead host: madvise of simulated RAM");
        std::abort();
    }
}

const std::string& console_output() { return g_console; }
void reset_console() { g_console.clear(); }

u64 tlb_invalidations(u16 vmid) { return g_tlb_invalidations[vmid]; }
u64 tlb_invalidations_total() { return g_tlb_total; }
u64 publish_count() { return g_publish; }
void reset_counters() {
    g_tlb_invalidations.fill(0);
    g_tlb_total = 0;
    g_publish = 0;
    g_clean_calls = 0;
    g_clean_bytes = 0;
    g_cleaned.clear();
    g_kicks.fill(0);
    g_wakes = 0;
    g_event_waits = 0;
    g_wakes_at_last_clean = 0;
    g_core_wakes.fill(0);
    g_system_off = 0;
}

void reset_irqs() {
    g_irq_enabled.fill(false);
    g_irq_route.fill(-1);
}
bool irq_enabled(u32 intid) { return intid < g_irq_enabled.size() && g_irq_enabled[intid]; }
int irq_route(u32 intid) { return intid < g_irq_route.size() ? g_irq_route[intid] : -1; }

void set_current_core(unsigned core) { g_core = core; }
void set_schedule_hook(void (*hook)(bool spinning)) { g_schedule_hook = hook; }
void lock_point() {
    if (g_schedule_hook != nullptr) g_schedule_hook(false);
}
void set_descriptor_observer(DescriptorObserver observer) { g_observer = std::move(observer); }

u64 clean_to_poc_calls() { return g_clean_calls; }
u64 clean_to_poc_bytes() { return g_clean_bytes; }
bool cleaned_to_poc(PhysAddr pa, u64 size) {
    // Walk the byte range forward through whichever cleaned range covers its next byte.
    u64 at = pa.raw();
    const u64 end = pa.raw() + size;
    for (bool moved = true; at < end && moved;) {
        moved = false;
        for (const auto& [base, length] : g_cleaned)
            if (at >= base && at - base < length) {
                at = base + length;
                moved = true;
            }
    }
    return at >= end;
}
u64 kick_count(unsigned core) { return core < g_kicks.size() ? g_kicks[core] : 0; }
u64 wake_count() { return g_wakes; }
u64 event_wait_count() { return g_event_waits; }
void set_interrupt_pending(bool pending) { g_interrupt_pending = pending; }
void set_wait_hook(void (*hook)()) { g_wait_hook = hook; }
u64 wakes_before_last_clean() { return g_wakes_at_last_clean; }
u64 wake_count(unsigned core) { return core < g_core_wakes.size() ? g_core_wakes[core] : 0; }
void set_counter(u64 ticks) { g_counter = ticks; }
void set_guest_vbar(u64 vbar) { g_guest_vbar = vbar; }
const arch::GuestExceptionState& guest_exception() { return g_guest_exception; }
u64 system_off_requests() { return g_system_off; }

void reset_all() {
    reset_memory();
    reset_console();
    reset_counters();
    reset_irqs();
    smmu_reset();
    pci_reset();
    trace().clear();
    reset_vgic();
    g_core = 0;
    g_counter = 0;
    g_guest_vbar = 0;
    g_guest_exception = arch::GuestExceptionState{};
    g_observer = nullptr;
    g_interrupt_pending = false;
    g_wait_hook = nullptr;
}

}  // namespace host
}  // namespace bh
