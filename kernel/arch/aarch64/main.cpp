// Boot: core 0 brings up the machine, validates and runs the manifest, starts the other cores;
// then every core waits for the vCPU bound to it.
#include <arch/arch.hpp>
#include <arch/kernel_entry.hpp>
#include <bulkhead/platform.hpp>
#include <lib/atomic.hpp>
#include <lib/format.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

using namespace bh;
using namespace bh::aarch64;

namespace {

constexpr const char* kVersion = "0.1.0";

Atomic<u32> core_online[platform::kMaxCores];

// Starts cores 1.. through PSCI and waits (at most a second) for each that firmware started to
// come up. Returns how many cores, counted from 0 without a gap, are online: vCPUs may be bound
// only to those, so a partition never waits for a core that did not start. A core firmware
// refused (a machine with fewer cores) is not waited for: the second would be lost at every boot.
unsigned start_secondary_cores() {
    unsigned started = 1;  // cores 0 .. started - 1 were started
    for (unsigned core = 1; core < platform::kMaxCores; ++core) {
        i64 r = psci_cpu_on(core, reinterpret_cast<u64>(secondary_entry), core);
        if (r != 0) log("core ", core, " did not start (PSCI ", static_cast<int>(r), ")");
        if (r == 0 && started == core) ++started;
    }
    u64 deadline = arch::counter_now() + BH_READ_SYSREG(cntfrq_el0);
    unsigned online = 1;
    while (online < started && core_online[online].load() != 0) ++online;
    while (online < started && arch::counter_now() < deadline) {
        if (core_online[online].load() != 0) ++online;
        arch::cpu_relax();
    }
    return online;
}

void bring_up_core(unsigned core) {
    percpu_init(core);
    mmu_enable();
    gic_init_cpu(core);
    el2_configure_core();
}

}  // namespace

extern "C" [[noreturn]] void bh_boot_primary() {
    uart_init();
    mmu_build_tables();
    bring_up_core(0);
    gic_init_distributor();
    log("Bulkhead ", kVersion, " booting on core 0 at EL2");
    log("timer: ", BH_READ_SYSREG(cntfrq_el0), " Hz; RAM ", Hex{platform::kRamBase}, "+", Hex{platform::kDefaultRamSize});
    if (!crc32_supported()) {
        log("PANIC: this CPU lacks the CRC32 instructions the manifest checksum needs; refusing to boot");
        psci_system_off();
    }
    if (!smmu_abort_all_dma()) {
        log("PANIC: cannot make the SMMU abort DMA; refusing to run partitions");
        psci_system_off();
    }
    if (const char* why = smmu_enable()) {
        log("smmu: cannot translate DMA (", why, "); every DMA stream aborts for good");
    } else {
        // Its faults are serviced on the boot core; the work per interrupt is bounded
        // (DmaStreamTable::kFaultBudget).
        gic_kernel_spi_enable(platform::kSmmuEventqIntid, 0);
        gic_kernel_spi_enable(platform::kSmmuGerrorIntid, 0);
        log("smmu: stream table of ", platform::kStreamCount, " streams, every stream aborts until bound");
    }

    unsigned cores = start_secondary_cores();
    log("cores online: ", cores, " of ", platform::kMaxCores);
    kernel_entry::boot(cores);
    bh_core_loop();
}

extern "C" [[noreturn]] void bh_boot_secondary(u64 core) {
    bring_up_core(static_cast<unsigned>(core));
    core_online[core].store(1);
    bh_core_loop();
}
