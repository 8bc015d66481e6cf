// The guest's view of the GIC CPU interface. With HCR_EL2.IMO/FMO set, every ICC_* register a
// guest reaches at EL1 (docs/isolation.md, class gic-virtual) is the virtual interface's ICV_*,
// whose state lives in EL2 registers: ICH_VMCR_EL2 (priority mask, binary points, group
// enables, EOI mode) and ICH_AP0R<n>_EL2/ICH_AP1R<n>_EL2 (active priorities). A start of a vCPU
// resets them like every other EL1 register (reset_el1_state): redteam.infochannels found all
// of them as the previous run had left them after a SYSTEM_RESET (threat T-25).
#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh::aarch64 {

namespace {
// ICH_VMCR_EL2 after reset: everything 0 but VFIQEn (bit 3), which is RES1 while system
// register access is enabled (ICC_SRE_EL1.SRE = 1, as the kernel sets it).
constexpr u64 kVmcrReset = 1ull << 3;
}  // namespace

void reset_virtual_cpu_interface() {
    BH_WRITE_SYSREG(S3_4_C12_C11_7, kVmcrReset);  // ICH_VMCR_EL2
    // ICH_VTR_EL2.PREbits + 1 priority bits: 5 -> one AP register per group, 6 -> two, 7 -> four.
    const u64 prebits = ((BH_READ_SYSREG(S3_4_C12_C11_1) >> 26) & 7) + 1;
    BH_WRITE_SYSREG(S3_4_C12_C8_0, 0);  // ICH_AP0R0_EL2
    BH_WRITE_SYSREG(S3_4_C12_C9_0, 0);  // ICH_AP1R0_EL2
    if (prebits >= 6) {
        BH_WRITE_SYSREG(S3_4_C12_C8_1, 0);
        BH_WRITE_SYSREG(S3_4_C12_C9_1, 0);
    }
    if (prebits >= 7) {
        BH_WRITE_SYSREG(S3_4_C12_C8_2, 0);
        BH_WRITE_SYSREG(S3_4_C12_C8_3, 0);
        BH_WRITE_SYSREG(S3_4_C12_C9_2, 0);
        BH_WRITE_SYSREG(S3_4_C12_C9_3, 0);
    }
}

}  // namespace bh::aarch64
