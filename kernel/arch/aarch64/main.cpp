// Boot: core 0 brings up the machine, validates and runs the manifest, starts the other cores;
// then every core waits for the vCPU bound to it.
#include <arch/arch.hpp>
#include <boot_program.hpp>
#include <bulkhead/platform.hpp>
#include <lib/format.hpp>
#include <system.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh {
System g_system;
}

using namespace bh;
using namespace bh::aarch64;

namespace {

constexpr const char* kVersion = "0.1.0";

u32 core_online[platform::kMaxCores];

// Starts cores 1.. through PSCI and waits (at most a second) for each to come up. Returns how
// many cores, counted from 0 without a gap, are online: vCPUs may be bound only to those, so a
// partition never waits for a core that did not start.
unsigned start_secondary_cores() {
    for (unsigned core = 1; core < platform::kMaxCores; ++core) {
        i64 r = psci_cpu_on(core, reinterpret_cast<u64>(secondary_entry), core);
        if (r != 0) log("core ", core, " did not start (PSCI ", static_cast<int>(r), ")");
    }
    u64 deadline = arch::counter_now() + BH_READ_SYSREG(cntfrq_el0);
    unsigned online = 1;
    while (online < platform::kMaxCores && __atomic_load_n(&core_online[online], __ATOMIC_ACQUIRE) != 0) ++online;
    while (online < platform::kMaxCores && arch::counter_now() < deadline) {
        if (__atomic_load_n(&core_online[online], __ATOMIC_ACQUIRE) != 0) ++online;
    }
    return online;
}

void bring_up_core(unsigned core) {
    percpu_init(core);
    mmu_enable();
    gic_init_cpu(core);
    el2_configure_core();
}

[[noreturn]] void refuse_to_boot(int op_index, const char* what, const char* reason, Status status) {
    if (op_index >= 0) {
        log("manifest rejected: op #", op_index, " (", what, "): ", reason, " (", status_name(status), ")");
    } else {
        log("manifest rejected: ", reason, " (", status_name(status), ")");
    }
    log("refusing to start any partition; powering off");
    psci_system_off();
}

}  // namespace

extern "C" [[noreturn]] void bh_boot_primary() {
    uart_init();
    mmu_build_tables();
    bring_up_core(0);
    gic_init_distributor();
    log("Bulkhead ", kVersion, " booting on core 0 at EL2");
    log("timer: ", BH_READ_SYSREG(cntfrq_el0), " Hz; RAM ", Hex{platform::kRamBase}, "+", Hex{platform::kDefaultRamSize});
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
    if (!ok(g_system.init(platform::kRamBase, platform::kDefaultRamSize, cores))) {
        log("PANIC: cannot initialise the system: ", g_system.last_refusal());
        psci_system_off();
    }

    // The payload lies in the kernel's region, which no partition can reach: validating it
    // here and reading it below see the same bytes.
    ManifestReader reader;
    if (!ok(reader.open(reinterpret_cast<const void*>(platform::kPayloadBase), platform::kPayloadMaxSize))) {
        const ManifestError& e = reader.error();
        refuse_to_boot(e.op_index, "manifest", e.reason, e.status);
    }
    if (reader.header().ram_base != platform::kRamBase || reader.header().ram_size > platform::kDefaultRamSize) {
        refuse_to_boot(-1, "manifest", "compiled for RAM this machine does not have", Status::OutOfRange);
    }
    log("manifest ok: ", reader.op_count(), " ops, ", reader.partition_count(), " partitions");
    BootResult result = run_boot_program(g_system, reader);
    if (!ok(result.status)) {
        const char* what = result.op_index >= 0 ? op_name(reader.op(static_cast<u32>(result.op_index)).kind) : "manifest";
        refuse_to_boot(result.op_index, what, result.reason, result.status);
    }
    bh_core_loop();
}

extern "C" [[noreturn]] void bh_boot_secondary(u64 core) {
    bring_up_core(static_cast<unsigned>(core));
    __atomic_store_n(&core_online[core], 1u, __ATOMIC_RELEASE);
    bh_core_loop();
}
