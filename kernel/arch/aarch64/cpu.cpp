// Per-core state, the EL2 configuration guests run under, entering a vCPU and taking exits.
// What a core runs and what an exit means are the generic kernel's decisions
// (arch/kernel_entry.hpp); this file only moves registers and configures the hardware.
#include <arch/arch.hpp>
#include <arch/kernel_entry.hpp>
#include <bulkhead/hypercall.hpp>
#include <bulkhead/platform.hpp>
#include <lib/format.hpp>

#include "aarch64.hpp"
#include "asm_defs.h"
#include "esr.hpp"
#include "guest_pmu.hpp"
#include "stage2_format.hpp"
#include "sysreg.hpp"

// Per core: an unmapped guard page, then its 16 KiB stack (mmu.cpp leaves the guards unmapped, so
// an overflow faults instead of running into the next core's stack and the data above).
alignas(4096) char bh_stacks[bh::platform::kMaxCores * KERNEL_STACK_SLOT];
static_assert(KERNEL_STACK_GUARD == bh::kPageSize && KERNEL_STACK_SLOT % bh::kPageSize == 0);

namespace bh::aarch64 {

static_assert(__builtin_offsetof(PerCpu, stack_top) == PERCPU_STACK_TOP && __builtin_offsetof(PerCpu, vcpu) == PERCPU_VCPU);
static_assert(static_cast<u64>(kernel_entry::FastOutcome::Resume) == FAST_RESUME &&
              static_cast<u64>(kernel_entry::FastOutcome::Slow) == FAST_SLOW &&
              static_cast<u64>(kernel_entry::FastOutcome::Park) == FAST_PARK);
static_assert(static_cast<u64>(hvc::Function::CapIdentify) - hvc::kVendorBase == HVC_CAP_IDENTIFY);

namespace {

PerCpu cpus[platform::kMaxCores];

// HCR_EL2 while a guest runs: stage 2 on (VM); set/way invalidation upgraded to clean+invalidate
// (SWIO); physical IRQ/FIQ/SError to EL2 (IMO/FMO/AMO); EL1 TLB and cache maintenance broadcast
// to the inner shareable domain (FB, BSU=IS); SMC, implementation-defined system registers,
// ACTLR and set/way cache maintenance trapped (TSC, TIDCP, TACR, TSW); EL1 is AArch64 (RW).
constexpr u64 kGuestHcr = (1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 9) |
                          (1ull << 10) | (1ull << 19) | (1ull << 20) | (1ull << 21) | (1ull << 22) | (1ull << 31);
// MDCR_EL2: debug registers (TDA, TDOSA, TDRA) trap, so a partition cannot set breakpoints or
// watchpoints; so does the PMU (kMdcrPmuTraps: TPM, TPMCR), so that it cannot count other
// partitions' or EL2 work, except in the benchmark kernel (guest_pmu.hpp).
constexpr u64 kMdcrDebugTraps = (1ull << 9) | (1ull << 10) | (1ull << 11);
// CPTR_EL2: RES1 bits; FP/SIMD allowed (TFP = 0); trace registers trapped (TTA).
constexpr u64 kCptr = 0x33ffull | (1ull << 20);
// Registers through which a partition could read or disturb other partitions' or EL2's state,
// trapped where the core has them (the trap bits are RES0 where it does not): RAS error records
// (HCR_EL2.TERR) and their fault injection (TEA: external aborts reported to EL2), which are
// shared by the cores of a node and name physical addresses; the activity monitors
// (CPTR_EL2.TAM), which count EL2's and other partitions' work; MPAM's partition IDs
// (MPAM2_EL2.TRAPMPAM0EL1/1EL1, MPAMHCR_EL2.TRAP_MPAMIDR_EL1), which select shared cache and
// bandwidth partitions.
constexpr u64 kHcrTerr = 1ull << 36, kHcrTea = 1ull << 37;
constexpr u64 kCptrTam = 1ull << 30;
constexpr u64 kMpam2TrapEl1 = (1ull << 48) | (1ull << 49);
constexpr u64 kMpamHcrTrapIdr = 1ull << 31;
constexpr u64 kMpamIdrHasHcr = 1ull << 17;

constexpr unsigned id_field(u64 reg, unsigned shift) { return static_cast<unsigned>((reg >> shift) & 0xf); }

// The stage-2 root VTTBR_EL2 names whenever no partition's does: every entry invalid. VTTBR never
// points at nothing while stage 2 may be used (a speculative walk under the speculative-AT
// errata, Cortex-A76 1165522, A55 1530923, A57/A72 1319367, would fill the TLB from it).
alignas(stage2::kRootSize) u64 g_empty_stage2_root[stage2::kRootEntries];
// SCTLR_EL1 architectural reset-like value: MMU and caches off, RES1 bits set.
constexpr u64 kGuestSctlr = 0x30d0'0800;

}  // namespace

PerCpu& this_cpu() { return *reinterpret_cast<PerCpu*>(BH_READ_SYSREG(tpidr_el2)); }

void percpu_init(unsigned core) {
    PerCpu& c = cpus[core];
    c.core = core;
    c.stack_top = reinterpret_cast<u64>(bh_stacks) + (static_cast<u64>(core) + 1) * KERNEL_STACK_SLOT;
    BH_WRITE_SYSREG(tpidr_el2, reinterpret_cast<u64>(&c));
    BH_WRITE_SYSREG(vbar_el2, reinterpret_cast<u64>(bh_el2_vectors));
    isb();
}

u64 empty_stage2_vttbr(u16 vmid) { return reinterpret_cast<u64>(g_empty_stage2_root) | static_cast<u64>(vmid) << 48; }

void el2_configure_core() {
    u64 pmcr_n = (BH_READ_SYSREG(pmcr_el0) >> 11) & 0x1f;
    BH_WRITE_SYSREG(mdcr_el2, kMdcrDebugTraps | kMdcrPmuTraps | pmcr_n);  // HPMN = N: no counter reserved for EL2
    const u64 pfr0 = BH_READ_SYSREG(id_aa64pfr0_el1), pfr1 = BH_READ_SYSREG(id_aa64pfr1_el1);
    const bool ras = id_field(pfr0, 28) != 0 || id_field(pfr1, 12) != 0;
    const bool amu = id_field(pfr0, 44) != 0;
    const bool mpam = id_field(pfr0, 40) != 0 || id_field(pfr1, 16) != 0;
    BH_WRITE_SYSREG(cptr_el2, kCptr | (amu ? kCptrTam : 0));
    if (mpam) {
        BH_WRITE_SYSREG(S3_4_C10_C5_0, kMpam2TrapEl1);  // MPAM2_EL2
        if ((BH_READ_SYSREG(S3_0_C10_C4_4) & kMpamIdrHasHcr) != 0)  // MPAMIDR_EL1.HAS_HCR
            BH_WRITE_SYSREG(S3_4_C10_C4_0, kMpamHcrTrapIdr);      // MPAMHCR_EL2
    }
    BH_WRITE_SYSREG(hstr_el2, 0);
    // EL1/EL0 accesses to the physical counter and timer trap; partitions use the virtual
    // ones, offset per partition (CNTVOFF_EL2) so that each sees its own time since start.
    BH_WRITE_SYSREG(cnthctl_el2, 0);
    BH_WRITE_SYSREG(cnthp_ctl_el2, 0);
    BH_WRITE_SYSREG(vtcr_el2, kVtcrEl2);
    // The virtual CPU interface stays off until a vCPU with a virtual GIC enters (kernel/vgic).
    BH_WRITE_SYSREG(S3_4_C12_C11_0, 0);  // ICH_HCR_EL2
    BH_WRITE_SYSREG(vpidr_el2, BH_READ_SYSREG(midr_el1));
    // A real (empty) root and VMID 0 before stage 2 is turned on.
    BH_WRITE_SYSREG(vttbr_el2, empty_stage2_vttbr(0));
    isb();
    BH_WRITE_SYSREG(hcr_el2, kGuestHcr | (ras ? kHcrTerr | kHcrTea : 0));
    isb();
}

namespace {

// Every EL1 register a guest can observe gets a defined value: nothing of a previous run of
// this or another partition on the core, nor of the kernel, is visible after a (re)start.
void reset_el1_state() {
    BH_WRITE_SYSREG(sctlr_el1, kGuestSctlr);
    BH_WRITE_SYSREG(ttbr0_el1, 0);
    BH_WRITE_SYSREG(ttbr1_el1, 0);
    BH_WRITE_SYSREG(tcr_el1, 0);
    BH_WRITE_SYSREG(mair_el1, 0);
    BH_WRITE_SYSREG(amair_el1, 0);
    BH_WRITE_SYSREG(vbar_el1, 0);
    BH_WRITE_SYSREG(contextidr_el1, 0);
    BH_WRITE_SYSREG(tpidr_el1, 0);
    BH_WRITE_SYSREG(tpidr_el0, 0);
    BH_WRITE_SYSREG(tpidrro_el0, 0);
    BH_WRITE_SYSREG(sp_el0, 0);
    BH_WRITE_SYSREG(sp_el1, 0);
    BH_WRITE_SYSREG(elr_el1, 0);
    BH_WRITE_SYSREG(spsr_el1, 0);
    BH_WRITE_SYSREG(esr_el1, 0);
    BH_WRITE_SYSREG(far_el1, 0);
    BH_WRITE_SYSREG(afsr0_el1, 0);
    BH_WRITE_SYSREG(afsr1_el1, 0);
    BH_WRITE_SYSREG(par_el1, 0);
    BH_WRITE_SYSREG(cpacr_el1, 0);
    BH_WRITE_SYSREG(csselr_el1, 0);
    BH_WRITE_SYSREG(cntkctl_el1, 0);
    BH_WRITE_SYSREG(cntv_ctl_el0, 0);
    BH_WRITE_SYSREG(cntv_cval_el0, 0);
    BH_WRITE_SYSREG(mdscr_el1, 0);
    reset_virtual_cpu_interface();
    bh_clear_fp_state();
}

bool interrupt_in_exit(u32 intid) { return kernel_entry::interrupt(CoreId(this_cpu().core), intid, true); }
bool interrupt_while_idle(u32 intid) { return kernel_entry::interrupt(CoreId(this_cpu().core), intid, false); }

[[noreturn]] void enter_guest(const kernel_entry::GuestEntry& g) {
    this_cpu().vcpu = g.vcpu;
    BH_WRITE_SYSREG(vttbr_el2, g.vttbr);
    BH_WRITE_SYSREG(vmpidr_el2, (1ull << 31) | g.vcpu_index);  // the guest sees vCPU indices as Aff0
    BH_WRITE_SYSREG(cntvoff_el2, g.counter_offset);
    if (g.reset_el1) reset_el1_state();
    isb();
    bh_guest_resume(g.regs);
}

const char* const kExceptionKinds[] = {"synchronous", "IRQ", "FIQ", "SError"};

}  // namespace

}  // namespace bh::aarch64

using namespace bh;
using namespace bh::aarch64;

extern "C" [[noreturn]] void bh_core_loop() {
    const CoreId core(this_cpu().core);
    for (;;) {
        // A core with nothing to run sleeps in WFI, which a pending interrupt ends even while
        // masked: an SPI routed to it, or the kick of a core that made its vCPU runnable
        // (arch::wake_core). A sleeping core executes nothing, so under -icount a wait for a
        // device costs no instructions, whatever the host's speed. It sleeps first and looks
        // after: an interrupt that came before the WFI (while its vCPU was parking) then costs
        // exactly what one that came after does, so the count does not depend on when the
        // device answered either. Only a runnable vCPU (woken meanwhile, or waiting for its
        // restart back-off, which no interrupt ends) keeps the core polling: WFE, under QEMU a
        // yield.
        if (kernel_entry::idle_until_interrupt(core)) {
            asm volatile("wfi" ::: "memory");
        } else {
            asm volatile("wfe" ::: "memory");
        }
        // EL2 runs with IRQs masked: the SPIs routed to this core, and the kick that woke it,
        // are taken here, before the vCPU is entered (not as an interrupt exit of its guest).
        gic_acknowledge_all(interrupt_while_idle);
        kernel_entry::GuestEntry next;
        if (kernel_entry::next_guest(core, next)) enter_guest(next);
    }
}

extern "C" arch::GuestRegs* bh_guest_exit(arch::GuestRegs* frame, u64 vector) {
    arch::Syndrome s;
    s.esr = BH_READ_SYSREG(esr_el2);
    // An SGI is a multi-core guest's most frequent trap: the short way through.
    if (vector == EXIT_SYNC) {
        const arch::SgiRegisterWrite sgi = arch::sgi_register_write(s.esr);
        if (sgi.found && kernel_entry::sgi_register_write(*this_cpu().vcpu, sgi.rt == 31 ? 0 : frame->x[sgi.rt], sgi.group1))
            return frame;
    }
    s.far = BH_READ_SYSREG(far_el2);
    s.hpfar = BH_READ_SYSREG(hpfar_el2);
    if (vector == EXIT_IRQ) gic_acknowledge_all(interrupt_in_exit);
    if (kernel_entry::guest_exit(*this_cpu().vcpu, arch::decode_exit(static_cast<arch::ExitVector>(vector), s)))
        return frame;
    return nullptr;
}

extern "C" [[noreturn]] void bh_el2_exception(u64 kind, u64 sp) {
    LineBuffer line;
    line.put("PANIC: ");
    line.put(kExceptionKinds[kind & 3]);
    line.put(" exception at EL2 on core ");
    line.put(arch::current_core());
    line.put(" (ESR ");
    u64 esr = BH_READ_SYSREG(esr_el2);
    line.put(Hex{esr});
    line.put(": ");
    esr::describe(esr, line);
    line.put(", FAR ");
    line.put(Hex{BH_READ_SYSREG(far_el2)});
    line.put(", ELR ");
    line.put(Hex{BH_READ_SYSREG(elr_el2)});
    line.put(", SP ");
    line.put(Hex{sp});
    line.put(')');
    log_line(line);
    psci_system_off();
}
