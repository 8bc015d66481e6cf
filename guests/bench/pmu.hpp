// The PMU as the benchmark guest uses it: event counters of INST_RETIRED (event 0x08), at every
// exception level (EL2 included: PMEVTYPER.NSH) or at some only. Under QEMU with
// -icount shift=0 the event is the machine's global instruction count (every core, counted
// while this core's filter allows it), so a measurement is exact and the same on every run.
// Only the benchmark kernel lets a guest touch these registers (docs/benchmarks.md); on the
// default kernel the first access is the partition's fault.
#pragma once

#include <bulkhead/types.hpp>

namespace bench {

using bh::u64;

// PMEVTYPER<n>_EL0 fields (Arm ARM D13.4): P excludes EL1, U excludes EL0, NSH includes EL2.
inline constexpr u64 kEventInstRetired = 0x08;
inline constexpr u64 kFilterExcludeEl1 = 1ull << 31;  // P
inline constexpr u64 kFilterExcludeEl0 = 1ull << 30;  // U
inline constexpr u64 kFilterIncludeEl2 = 1ull << 27;  // NSH
inline constexpr u64 kPmcrEnable = 1ull << 0;           // PMCR_EL0.E

// Counters of each core (the Cortex-A53 has six):
//   0  INST_RETIRED at every EL   } the meter's loops (loops.S), from pmu_start()
//   1  INST_RETIRED at EL2 only   } (the partner: its own guest instructions, pmu_start_partner())
//   5  INST_RETIRED at every EL, the run counter: started by the first instruction of the
//      partition's first run (bench_entry, loops.S) and never stopped, reset or reprogrammed,
//      so that bench/run can relate readings of different cores and runs (docs/benchmarks.md).
// Nothing here sets PMCR_EL0.P, which would zero counter 5 too.
inline void pmu_start() {
    const u64 every_el = kEventInstRetired | kFilterIncludeEl2;
    const u64 el2_only = kEventInstRetired | kFilterIncludeEl2 | kFilterExcludeEl1 | kFilterExcludeEl0;
    u64 pmcr;
    asm volatile("mrs %0, pmcr_el0" : "=r"(pmcr));
    asm volatile(
        "msr pmevtyper0_el0, %0\n\t"
        "msr pmevtyper1_el0, %1\n\t"
        "msr pmcntenset_el0, %2\n\t"
        "msr pmcr_el0, %3\n\t"
        "isb"
        :
        : "r"(every_el), "r"(el2_only), "r"(u64{3}), "r"(pmcr | kPmcrEnable)
        : "memory");
}

// The ping-pong partner's counter 1: INST_RETIRED at EL1 and EL0 only, that is the
// instructions executed while this core runs its own guest code (loops.S, bench_pong_*).
inline void pmu_start_partner() {
    asm volatile(
        "msr pmevtyper1_el0, %0\n\t"
        "msr pmcntenset_el0, %1\n\t"
        "isb"
        :
        : "r"(kEventInstRetired), "r"(u64{2})
        : "memory");
}

}  // namespace bench
