// The kernel's own PSCI calls to the firmware (QEMU answers SMC at EL3).
#include "aarch64.hpp"

namespace bh::aarch64 {

namespace {
i64 smc(u64 function, u64 a1, u64 a2, u64 a3) {
    register u64 x0 asm("x0") = function;
    register u64 x1 asm("x1") = a1;
    register u64 x2 asm("x2") = a2;
    register u64 x3 asm("x3") = a3;
    asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"x4", "x5", "x6", "x7", "x8", "x9", "x10",
                 "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
    return static_cast<i64>(x0);
}
}  // namespace

i64 psci_cpu_on(u64 mpidr, u64 entry, u64 context) { return smc(0xC400'0003, mpidr, entry, context); }

void psci_system_off() {
    smc(0x8400'0008, 0, 0, 0);
    for (;;) asm volatile("wfi");
}

}  // namespace bh::aarch64
