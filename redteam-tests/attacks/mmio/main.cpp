// Attack class "device MMIO" (threats T-6, T-8, T-10, T-26, T-32; invariants INV-2, INV-3,
// INV-5): every device window of the reference machine that is not the partition's, read and
// written, aligned and not, with exclusive, acquire/release, pair and LSE atomic accesses, with
// the guest's MMU off (Device memory: unaligned accesses fault at EL1 first) and on (Normal
// memory: they reach stage 2). The registers that would hand a partition the machine are named:
// GICD_CTLR and GICD_IROUTER, each redistributor's WAKER and SGI enables, the ITS, the SMMU's
// CR0/GBPA/STRTAB_BASE (its abort-everything setting), the UART's data register (kernel lines),
// fw_cfg's DMA address, virtio-mmio's queue address, PCIe ECAM's command register (bus master).
// The partition owns the RTC (devices = "rtc"): its page is reached, the pages next to it not.
// It runs with `faults = "inject"`; any access outside the RTC that completes is a BREACH.
//
// boot_arg bit 63 (long run): also a read and a write at every 4 KiB page of each window of at
// most 1 MiB (RESULT mmio pages).
//
// Lines: one RESULT per window ("RESULT mmio <window>: ..."), ATTEMPT lines for the named
// registers and for the RTC boundary, RESULT mmio all.
#include <console.hpp>
#include <hypercall.hpp>

#include "mmu.hpp"
#include "xtf.hpp"

using namespace xtf;
using bh::rt::hex;
using bh::rt::print;

namespace {

struct Window {
    const char* name;
    u64 base;
    u64 size;
};

// QEMU 10 virt (hw/arm/virt.c memory map) with gic-version=3, iommu=smmuv3, highmem: every
// window, including those that exist only in other configurations (they must be unmapped too).
constexpr Window kWindows[] = {
    {"flash0", 0x0000'0000, 0x0400'0000},
    {"flash1", 0x0400'0000, 0x0400'0000},
    {"gicd", 0x0800'0000, 0x1'0000},
    {"gic-v2-cpu", 0x0801'0000, 0x1'0000},
    {"gic-v2m", 0x0802'0000, 0x1000},
    {"gic-hyp", 0x0803'0000, 0x1'0000},
    {"gic-vcpu", 0x0804'0000, 0x1'0000},
    {"its", 0x0808'0000, 0x2'0000},
    {"gicr", 0x080a'0000, 0x8'0000},
    {"uart", 0x0900'0000, 0x1000},
    {"fw-cfg", 0x0902'0000, 0x1000},
    {"gpio", 0x0903'0000, 0x1000},
    {"secure-uart", 0x0904'0000, 0x1000},
    {"smmu", 0x0905'0000, 0x2'0000},
    {"pvtime", 0x090a'0000, 0x1'0000},
    {"secure-gpio", 0x090b'0000, 0x1000},
    {"virtio-mmio", 0x0a00'0000, 0x4000},
    {"platform-bus", 0x0c00'0000, 0x200'0000},
    {"secure-ram", 0x0e00'0000, 0x100'0000},
    {"pcie-mmio", 0x1000'0000, 0x2eff'0000},
    {"pcie-pio", 0x3eff'0000, 0x1'0000},
    {"pcie-ecam-low", 0x3f00'0000, 0x100'0000},
    {"gicr-high", 0x40'0000'0000, 0x400'0000},
    {"pcie-ecam", 0x40'1000'0000, 0x1000'0000},
    {"pcie-mmio-high", 0x80'0000'0000, 0x80'0000'0000},
};

struct Register {
    const char* name;
    u64 address;
};
constexpr Register kRegisters[] = {
    {"GICD_CTLR", 0x0800'0000},           {"GICD_ISENABLER1", 0x0800'0104},
    {"GICD_IROUTER34", 0x0800'6110},      {"GITS_CTLR", 0x0808'0000},
    {"GITS_CBASER", 0x0808'0080},         {"GICR0_WAKER", 0x080a'0014},
    {"GICR0_ISENABLER0", 0x080b'0100},    {"GICR3_WAKER", 0x0810'0014},
    {"GICR3_ISENABLER0", 0x0811'0100},    {"UART_DR", 0x0900'0000},
    {"FW_CFG_DMA", 0x0902'0010},          {"SMMU_CR0", 0x0905'0020},
    {"SMMU_GBPA", 0x0905'0044},           {"SMMU_STRTAB_BASE", 0x0905'0080},
    {"VIRTIO0_QUEUE_PFN", 0x0a00'0040},   {"VIRTIO31_STATUS", 0x0a00'3e70},
    {"ECAM_00_0_VENDOR", 0x40'1000'0000}, {"ECAM_00_0_COMMAND", 0x40'1000'0004},
    {"ECAM_00_1_COMMAND", 0x40'1000'8004}, {"PCIE_PIO_0", 0x3eff'0000},
};

constexpr u64 kRtc = 0x0901'0000;
constexpr u64 kPage = 0x1000;

Tally all;
u64 breaches = 0;

void count(const char* where, u64 address, const Outcome& o, Tally& t, bool own = false) {
    t.add(o);
    all.add(o);
    if (!o.faulted && !own) {
        ++breaches;
        breach("mmio ", where, " at ", hex(address), " completed, read ", hex(o.value));
    }
}

// A store-exclusive without the monitor may fail without any access: not performed.
void exclusive_store(const char* where, u64 address, Tally& t) {
    const Outcome o = store_exclusive(address, 0);
    if (!o.faulted && o.value == 1) {
        t.add_refused();
        all.add_refused();
        return;
    }
    count(where, address, o, t);
}

// Every access form at one address of a window, MMU off (Device memory).
void forms(const char* name, u64 a, Tally& t) {
    count(name, a, read8(a), t);
    count(name, a, read16(a), t);
    count(name, a, read32(a), t);
    count(name, a, read64(a), t);
    count(name, a, write32(a, 0), t);
    count(name, a, write64(a, 0), t);
    count(name, a, load_exclusive(a), t);
    exclusive_store(name, a, t);
    count(name, a, load_acquire(a), t);
    count(name, a, store_release(a, 0), t);
    count(name, a, load_pair(a), t);
    count(name, a, atomic_add(a, 1), t);
    count(name, a + 1, read32(a + 1), t);      // unaligned: Device memory faults at EL1
    count(name, a + 2, write32(a + 2, 0), t);
}

void window(const Window& w) {
    Tally t;
    forms(w.name, w.base, t);
    forms(w.name, w.base + w.size - 8, t);
    if (w.size > 2 * kPage) forms(w.name, w.base + w.size / 2, t);
    t.print("mmio", w.name);
}

void named(const Register& r, Tally& t) {
    Outcome o = write32(r.address, 0);
    attempt("mmio", r.name, o);
    count(r.name, r.address, o, t);
    o = read32(r.address);
    count(r.name, r.address, o, t);
}

// With the MMU on, as Normal memory: unaligned accesses and DC ZVA reach stage 2.
void normal_memory(Tally& t) {
    mmu_identity_on();
    for (const Window& w : kWindows) {
        const u64 ends[] = {w.base, w.base + w.size - 16};
        for (u64 a : ends) {
            count(w.name, a + 1, read32(a + 1), t);
            count(w.name, a + 3, write64(a + 3, 0), t);
            count(w.name, a, dc_zva(a & ~63ull), t);
            count(w.name, a, load_exclusive(a), t);
        }
    }
}

}  // namespace

// Long run: every page of the small windows (the GIC, SMMU, UART, fw_cfg, virtio-mmio ...).
void every_page(Tally& t) {
    for (const Window& w : kWindows) {
        if (w.size > (1u << 20)) continue;
        for (u64 a = w.base; a < w.base + w.size; a += kPage) {
            count(w.name, a, read32(a), t);
            count(w.name, a, write32(a, 0), t);
        }
    }
}

extern "C" void guest_main(bh::u64 boot_arg) {
    init();
    print("start: ", sizeof kWindows / sizeof kWindows[0], " windows, ", sizeof kRegisters / sizeof kRegisters[0],
          " named registers; owns the RTC at ", hex(kRtc), "\n");
    // The RTC is this partition's: reached. The pages around it are not.
    Tally own;
    Outcome o = read32(kRtc);  // RTCDR, the counter
    attempt("mmio", "own-rtc-read", o);
    count("own-rtc", kRtc, o, own, true);
    o = write32(kRtc + 0x10, 0);  // RTCCR
    attempt("mmio", "own-rtc-write", o);
    count("own-rtc", kRtc + 0x10, o, own, true);
    o = read32(kRtc - 4);
    attempt("mmio", "below-rtc", o);
    count("below-rtc", kRtc - 4, o, own);
    o = read32(kRtc + kPage);
    attempt("mmio", "above-rtc", o);
    count("above-rtc", kRtc + kPage, o, own);
    own.print("mmio", "rtc-boundary");

    for (const Window& w : kWindows) window(w);
    if ((boot_arg >> 63) != 0) {
        Tally pages;
        every_page(pages);
        pages.print("mmio", "pages");
    }
    Tally registers;
    for (const Register& r : kRegisters) named(r, registers);
    registers.print("mmio", "registers");
    Tally normal;
    normal_memory(normal);
    normal.print("mmio", "mmu-on");
    all.print("mmio", "all");
    print(breaches == 0 ? "done: no device outside the partition was reached\n" : "done: BREACHES\n");
}
