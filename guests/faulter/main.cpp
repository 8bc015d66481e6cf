// Test guest: makes one fault the kernel must contain, chosen by boot_arg:
//   1  stage-2 data abort: write to IPA 0x4800_0000, outside the partition's memory
//   2  stage-2 instruction abort: branch to IPA 0x5000_0000, which is not mapped
//   3  trapped system register: write to PMCR_EL0 (the PMU belongs to the kernel)
//   4  write to the GIC distributor at 0x0800_0000, which is not mapped for guests
// It prints "faulting: <kind>" first; "FAULT NOT CONTAINED" after the access must never appear.
#include <console.hpp>
#include <hypercall.hpp>

using namespace bh::rt;

namespace {
void store(bh::u64 address, bh::u32 value) {
    asm volatile("str %w0, [%1]" : : "r"(value), "r"(address) : "memory");
}
}  // namespace

extern "C" void guest_main(bh::u64 boot_arg) {
    switch (boot_arg) {
        case 1:
            print("faulting: stage-2 data abort (write to IPA 0x48000000)\n");
            store(0x4800'0000, 0xbad0bad0u);
            break;
        case 2:
            print("faulting: instruction fetch from unmapped IPA 0x50000000\n");
            asm volatile("blr %0" : : "r"(0x5000'0000ull) : "x30", "memory");
            break;
        case 3:
            print("faulting: system register write (msr pmcr_el0, xzr)\n");
            asm volatile("msr pmcr_el0, xzr\n\tisb" : : : "memory");
            break;
        case 4:
            print("faulting: write to GIC distributor MMIO 0x08000000\n");
            store(0x0800'0000, 0);
            break;
        default:
            print("faulter: boot argument ", boot_arg, " selects no fault (use 1..4)\n");
            system_off();
    }
    print("FAULT NOT CONTAINED\n");
    system_off();
}
