// Whether partitions may use the PMU: the only difference between the default kernel and the
// benchmark kernel (bulkhead-bench.elf, docs/benchmarks.md).
#pragma once

#include <bulkhead/types.hpp>

namespace bh::aarch64 {

// MDCR_EL2.TPM (bit 6) and TPMCR (bit 5): trap every PMU access from EL1/EL0 to EL2, where it
// is the partition's fault. Defined in guest_pmu.cpp, which is compiled twice: as these bits
// for bulkhead.elf, as 0 for bulkhead-bench.elf (BH_BENCH_GUEST_PMU). It is a constant in
// memory rather than in the code that uses it, so that the two kernels differ in these eight
// bytes of .rodata and nowhere else: every other byte, the measured paths included, is the
// same in both (bench/kernel-identity checks it in every benchmark run).
extern const u64 kMdcrPmuTraps;

inline constexpr u64 kMdcrTpm = 1ull << 6;
inline constexpr u64 kMdcrTpmcr = 1ull << 5;

}  // namespace bh::aarch64
