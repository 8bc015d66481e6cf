#include <bhcc/guest_device_tree.hpp>

#include <bhcc/hex.hpp>

extern "C" {
#include <libfdt.h>
}

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace bhcc {
namespace {

namespace gp = guest_platform;

constexpr bh::u32 kGicPhandle = 1;
constexpr bh::u32 kClockPhandle = 2;
constexpr bh::u32 kSpi = 0;  // the first cell of a GIC interrupt specifier: SPI or PPI
constexpr bh::u32 kPpi = 1;

[[nodiscard]] std::string unit_address(bh::u64 address) { return hex(address).substr(2); }

// libfdt's sequential writer. The buffer is sized from the input (the tree's shape is fixed,
// only bootargs and the number of memory regions vary), so a libfdt error is a bug here.
class Writer {
public:
    explicit Writer(std::size_t capacity) : buffer_(capacity) {
        check(fdt_create(buffer_.data(), static_cast<int>(buffer_.size())));
        check(fdt_finish_reservemap(buffer_.data()));
    }

    void begin(const std::string& name) { check(fdt_begin_node(buffer_.data(), name.c_str())); }
    void end() { check(fdt_end_node(buffer_.data())); }
    void flag(const char* name) { check(fdt_property(buffer_.data(), name, nullptr, 0)); }
    void u32(const char* name, bh::u32 value) { check(fdt_property_u32(buffer_.data(), name, value)); }
    void string(const char* name, const std::string& value) {
        check(fdt_property_string(buffer_.data(), name, value.c_str()));
    }
    // A string list such as compatible = "a", "b": each string with its NUL.
    void strings(const char* name, std::initializer_list<const char*> values) {
        std::string joined;
        for (const char* value : values) joined.append(value).push_back('\0');
        check(fdt_property(buffer_.data(), name, joined.data(), static_cast<int>(joined.size())));
    }
    void cells(const char* name, const std::vector<bh::u32>& values) {
        std::vector<fdt32_t> be;
        for (bh::u32 value : values) be.push_back(cpu_to_fdt32(value));
        check(fdt_property(buffer_.data(), name, be.data(), static_cast<int>(be.size() * sizeof(fdt32_t))));
    }
    // 64-bit values as two cells each (#address-cells = #size-cells = 2).
    void pairs(const char* name, const std::vector<bh::u64>& values) {
        std::vector<bh::u32> split;
        for (bh::u64 value : values) {
            split.push_back(static_cast<bh::u32>(value >> 32));
            split.push_back(static_cast<bh::u32>(value));
        }
        cells(name, split);
    }

    [[nodiscard]] std::vector<bh::u8> finish() {
        check(fdt_finish(buffer_.data()));
        buffer_.resize(fdt_totalsize(buffer_.data()));
        return std::move(buffer_);
    }

private:
    static void check(int result) {
        if (result < 0) throw std::logic_error(std::string("guest device tree: libfdt: ") + fdt_strerror(result));
    }

    std::vector<bh::u8> buffer_;
};

void chosen(Writer& fdt, const Partition& partition, const LinuxLayout& layout, const std::string& uart) {
    fdt.begin("chosen");
    if (!partition.bootargs.empty()) fdt.string("bootargs", partition.bootargs);
    fdt.string("stdout-path", uart);
    if (layout.initramfs_size > 0) {
        fdt.pairs("linux,initrd-start", {layout.initramfs_ipa});
        fdt.pairs("linux,initrd-end", {layout.initramfs_ipa + layout.initramfs_size});
    }
    fdt.end();
    fdt.begin("aliases");
    fdt.string("serial0", uart);
    fdt.end();
}

// One node per mapped region, in IPA order (Linux reads them all; the order is for readers).
void memory(Writer& fdt, const Partition& partition) {
    std::vector<const MemoryRegion*> regions;
    for (const MemoryRegion& region : partition.regions)
        if (region.mapped) regions.push_back(&region);
    std::sort(regions.begin(), regions.end(), [](auto* a, auto* b) { return a->ipa < b->ipa; });
    for (const MemoryRegion* region : regions) {
        fdt.begin("memory@" + unit_address(region->ipa));
        fdt.string("device_type", "memory");
        fdt.pairs("reg", {region->ipa, region->size});
        fdt.end();
    }
}

// vCPU i is cpu@i: the kernel gives it the virtual MPIDR Aff0 = i (higher levels 0), and PSCI
// CPU_ON names it by that value.
void cpus(Writer& fdt, const Partition& partition) {
    fdt.begin("cpus");
    fdt.u32("#address-cells", 1);
    fdt.u32("#size-cells", 0);
    for (std::size_t i = 0; i < partition.cpus.size(); ++i) {
        fdt.begin("cpu@" + unit_address(i));
        fdt.string("device_type", "cpu");
        fdt.strings("compatible", {"arm,cortex-a53", "arm,armv8"});
        fdt.u32("reg", static_cast<bh::u32>(i));
        fdt.string("enable-method", "psci");
        fdt.end();
    }
    fdt.end();
}

void psci(Writer& fdt) {
    fdt.begin("psci");
    fdt.strings("compatible", {"arm,psci-1.0", "arm,psci-0.2"});
    fdt.string("method", "hvc");
    fdt.end();
}

// The distributor and one redistributor (RD_base + SGI_base) per vCPU, in vCPU order, as one
// region: Linux walks it frame by frame until GICR_TYPER.Last, which the kernel sets on the
// partition's last vCPU. No ITS: the partition has no MSI-capable device.
void gic(Writer& fdt, const Partition& partition) {
    fdt.begin("intc@" + unit_address(gp::kGicdIpa));
    fdt.strings("compatible", {"arm,gic-v3"});
    fdt.u32("#interrupt-cells", 3);
    fdt.flag("interrupt-controller");
    fdt.u32("#redistributor-regions", 1);
    fdt.pairs("reg", {gp::kGicdIpa, gp::kGicdSize, gp::kGicrIpa, partition.cpus.size() * gp::kGicrStride});
    fdt.u32("phandle", kGicPhandle);
    fdt.end();
}

void timer(Writer& fdt) {
    fdt.begin("timer");
    fdt.strings("compatible", {"arm,armv8-timer", "arm,armv7-timer"});
    std::vector<bh::u32> interrupts;
    for (bh::u32 ppi : gp::kTimerPpis) interrupts.insert(interrupts.end(), {kPpi, ppi, gp::kIrqLevelHigh});
    fdt.cells("interrupts", interrupts);
    fdt.flag("always-on");
    fdt.end();
}

void uart(Writer& fdt) {
    fdt.begin("apb-pclk");
    fdt.strings("compatible", {"fixed-clock"});
    fdt.u32("#clock-cells", 0);
    fdt.u32("clock-frequency", gp::kUartClockHz);
    fdt.string("clock-output-names", "clk24mhz");
    fdt.u32("phandle", kClockPhandle);
    fdt.end();
    fdt.begin("pl011@" + unit_address(gp::kUartIpa));
    fdt.strings("compatible", {"arm,pl011", "arm,primecell"});
    fdt.pairs("reg", {gp::kUartIpa, gp::kUartSize});
    fdt.cells("interrupts", {kSpi, gp::kUartSpi, gp::kIrqLevelHigh});
    fdt.cells("clocks", {kClockPhandle, kClockPhandle});
    fdt.strings("clock-names", {"uartclk", "apb_pclk"});
    fdt.end();
}

// Each forwarded window as virtio-mmio. Its DMA window is memory of the guest's and the only range
// of the device's bus's dma-ranges (identity: the device addresses the window by its IPA), so
// of_dma_configure gives the device a bus_dma_limit at the window's end and
// of_dma_get_max_cpu_address makes ZONE_DMA end there too.
void virtio(Writer& fdt, const std::vector<GuestVirtioDevice>& devices) {
    for (const GuestVirtioDevice& d : devices) {
        const bool dma = d.dma_size != 0;
        if (dma) {
            fdt.begin("memory@" + unit_address(d.dma_ipa));
            fdt.string("device_type", "memory");
            fdt.pairs("reg", {d.dma_ipa, d.dma_size});
            fdt.end();
            fdt.begin("dma-bus@" + unit_address(d.ipa));
            fdt.strings("compatible", {"simple-bus"});
            fdt.u32("#address-cells", 2);
            fdt.u32("#size-cells", 2);
            fdt.flag("ranges");
            fdt.pairs("dma-ranges", {d.dma_ipa, d.dma_ipa, d.dma_size});
        }
        fdt.begin("virtio_mmio@" + unit_address(d.ipa));
        fdt.strings("compatible", {"virtio,mmio"});
        fdt.pairs("reg", {d.ipa, d.size});
        if (d.interrupt != 0) fdt.cells("interrupts", {kSpi, static_cast<bh::u32>(d.interrupt - 32), 1 /* edge */});
        fdt.flag("dma-coherent");
        fdt.end();
        if (dma) fdt.end();
    }
}

}  // namespace

std::vector<GuestVirtioDevice> virtio_devices_of(const SystemDescription& system, const Partition& partition) {
    std::vector<GuestVirtioDevice> devices;
    for (const MmioForward& f : system.forwards) {
        if (!f.well_formed || f.client != partition.name) continue;
        GuestVirtioDevice d{f.ipa, f.size, f.interrupt, 0, 0};
        for (const Channel& c : system.channels)
            if (!f.dma_window.empty() && c.node.substr(c.node.rfind('/') + 1) == f.dma_window) {
                d.dma_ipa = f.dma_window_ipa;
                d.dma_size = c.size;
            }
        devices.push_back(d);
    }
    return devices;
}

std::vector<bh::u8> make_guest_device_tree(const Partition& partition, const LinuxLayout& layout,
                                           const std::vector<GuestVirtioDevice>& devices) {
    const std::string uart_path = "/pl011@" + unit_address(gp::kUartIpa);
    Writer fdt(16 * 1024 + partition.bootargs.size() + 128 * partition.regions.size() +
               256 * partition.cpus.size() + 512 * devices.size());
    fdt.begin("");
    fdt.strings("compatible", {"bulkhead,partition"});
    fdt.string("model", "Bulkhead partition " + partition.name);
    fdt.u32("#address-cells", 2);
    fdt.u32("#size-cells", 2);
    fdt.u32("interrupt-parent", kGicPhandle);
    chosen(fdt, partition, layout, uart_path);
    memory(fdt, partition);
    cpus(fdt, partition);
    psci(fdt);
    gic(fdt, partition);
    timer(fdt);
    uart(fdt);
    virtio(fdt, devices);
    fdt.end();
    return fdt.finish();
}

}  // namespace bhcc
