// The guest PMU setting of kernel/arch/aarch64/guest_pmu.hpp. Nothing else belongs here: the
// file is built once per kernel variant and must not change the layout of anything else.
#include "guest_pmu.hpp"

namespace bh::aarch64 {

#ifdef BH_BENCH_GUEST_PMU
// Benchmark kernel only: the benchmark guest reads INST_RETIRED itself. This lets every
// partition count EL2's and other cores' work (threat T-18), so no system may be built with it.
extern const u64 kMdcrPmuTraps = 0;
#else
extern const u64 kMdcrPmuTraps = kMdcrTpm | kMdcrTpmcr;
#endif

}  // namespace bh::aarch64
