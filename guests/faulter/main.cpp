// Test guest: makes one fault the kernel must contain, chosen by boot_arg:
//   1  stage-2 data abort: write to IPA 0x4800_0000, outside the partition's memory
//   2  stage-2 instruction abort: branch to IPA 0x5000_0000, which is not mapped
//   3  trapped system register: write to PMCR_EL0 (the PMU belongs to the kernel)
//   4  write to the GIC distributor at 0x0800_0000, which is not mapped for guests
//   5  for a partition with restart = "restart": on its first run, dirty its memory, EL1
//      registers and FP/SIMD state, then fault; after the restart, check that all of it is
//      back to a clean start and report
//   6  undefined instruction with no EL1 exception vectors (VBAR_EL1 = 0, unmapped): the
//      guest's own exception entry fetches from an unmapped IPA, which the kernel contains
//   7  data cache invalidate by set/way (DC ISW): would discard other partitions' dirty lines
//   8  implementation-defined register (Cortex-A53 CPUACTLR_EL1)
//   9  debug register (DBGBVR0_EL1): a breakpoint that could fire elsewhere
//  10  physical counter (CNTPCT_EL0): partitions get only their own virtual time
//  11  SGI generation (ICC_SGI1R_EL1): an interrupt to cores the partition does not own
// It prints "faulting: <kind>" first; "FAULT NOT CONTAINED" after the access must never appear.
#include <console.hpp>
#include <hypercall.hpp>

using namespace bh::rt;

namespace {
void store(bh::u64 address, bh::u32 value) {
    asm volatile("str %w0, [%1]" : : "r"(value), "r"(address) : "memory");
}

volatile bh::u32 initialised_data = 1;  // .data: the image must be reloaded on restart
volatile bh::u32 zeroed_data[64];       // .bss: memory must be scrubbed on restart

bh::u64 read_v7() {
    bh::u64 value;
    asm volatile("mov %0, v7.d[0]" : "=r"(value));
    return value;
}

void dirty_then_fault() {
    initialised_data = 99;
    for (auto& w : zeroed_data) w = 0xdeadbeef;
    asm volatile("msr tpidrro_el0, %0" : : "r"(0x7777ull));
    asm volatile("msr cpacr_el1, %0\n\tisb" : : "r"(3ull << 20));  // FP/SIMD on at EL1
    asm volatile("mov v7.d[0], %0" : : "r"(0x5151ull));
    print("faulting: first run, state dirtied (data=", initialised_data, " v7=", read_v7(), ")\n");
    store(0x4800'0000, 1);
}

[[noreturn]] void check_clean_restart(bh::u64 restarts) {
    bh::u64 tpidr, cpacr;  // TPIDRRO_EL0: the runtime itself never writes it
    asm volatile("mrs %0, tpidrro_el0" : "=r"(tpidr));
    asm volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
    bh::u32 bss = 0;
    for (auto& w : zeroed_data) bss |= w;
    bh::u64 v7 = 0;
    if (cpacr == 0) {
        asm volatile("msr cpacr_el1, %0\n\tisb" : : "r"(3ull << 20));
        v7 = read_v7();
    }
    bool clean = initialised_data == 1 && bss == 0 && tpidr == 0 && cpacr == 0 && v7 == 0;
    print(clean ? "restart " : "RESTART STATE LEAKED ", restarts, ": data=", initialised_data, " bss=", bss,
          " tpidrro_el0=", tpidr, " cpacr_el1=", cpacr, " v7=", v7, "\n");
    system_off();
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
        case 5: {
            PartitionInfo info = partition_info();
            if (info.restarts == 0) dirty_then_fault();
            check_clean_restart(info.restarts);
        }
        case 6:
            print("faulting: undefined instruction with VBAR_EL1 = 0\n");
            asm volatile("msr vbar_el1, xzr\n\tisb\n\tudf #0" : : : "memory");
            break;
        case 7:
            print("faulting: dc isw (cache maintenance by set/way)\n");
            asm volatile("dc isw, %0" : : "r"(0ull) : "memory");
            break;
        case 8: {
            print("faulting: mrs CPUACTLR_EL1 (implementation defined)\n");
            bh::u64 value;
            asm volatile("mrs %0, s3_1_c15_c2_0" : "=r"(value));
            print("read ", value, "\n");
            break;
        }
        case 9:
            print("faulting: msr dbgbvr0_el1 (debug breakpoint)\n");
            asm volatile("msr dbgbvr0_el1, %0\n\tisb" : : "r"(0x40000000ull));
            break;
        case 10: {
            print("faulting: mrs cntpct_el0 (physical counter)\n");
            bh::u64 value;
            asm volatile("mrs %0, cntpct_el0" : "=r"(value));
            print("read ", value, "\n");
            break;
        }
        case 11:
            print("faulting: msr icc_sgi1r_el1 (SGI to every core)\n");
            asm volatile("msr s3_0_c12_c11_5, %0\n\tisb" : : "r"(1ull << 40));  // IRM: all but self
            break;
        case 12: {
            // RAS (FEAT_RAS): the error record selector is shared by every core of the node.
            bh::u64 pfr0;
            asm volatile("mrs %0, id_aa64pfr0_el1" : "=r"(pfr0));
            print("id_aa64pfr0_el1 ras=", (pfr0 >> 28) & 0xf, " mpam=", (pfr0 >> 40) & 0xf, " amu=", (pfr0 >> 44) & 0xf,
                  "\n");
            print("faulting: mrs erridr_el1 (RAS error records)\n");
            bh::u64 value;
            asm volatile("mrs %0, s3_0_c5_c3_0" : "=r"(value));
            print("read ", value, "\n");
            break;
        }
        case 13: {
            print("faulting: mrs mpam1_el1 (MPAM partition IDs)\n");
            bh::u64 value;
            asm volatile("mrs %0, s3_0_c10_c5_0" : "=r"(value));
            print("read ", value, "\n");
            break;
        }
        case 14: {
            print("faulting: mrs amcr_el0 (activity monitors)\n");
            bh::u64 value;
            asm volatile("mrs %0, s3_3_c13_c2_0" : "=r"(value));
            print("read ", value, "\n");
            break;
        }
        default:
            print("faulter: boot argument ", boot_arg, " selects no fault (use 1..14)\n");
            system_off();
    }
    print("FAULT NOT CONTAINED\n");
    system_off();
}
