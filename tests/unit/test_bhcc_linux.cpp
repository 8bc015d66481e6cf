// bhcc's Linux partitions: the arm64 Image header, where the device tree, the kernel and the
// initramfs are placed, every node and property of the generated device tree, the manifest ops
// that load them, and each refusal of a bad Linux description. The Image is synthesized (a
// valid header around filler), so these tests need neither the cached Debian kernel nor the
// cross build.
#include <catch2/catch_test_macros.hpp>

#include <bhcc/compiler.hpp>
#include <bhcc/guest_device_tree.hpp>
#include <bhcc/linux_image.hpp>
#include <bhcc/linux_layout.hpp>
#include <bhcc/linux_partition_check.hpp>
#include <bhcc/manifest_dump.hpp>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <boot/manifest_reader.hpp>

#include "linux_image_fixture.hpp"
#include "scratch_dir.hpp"

extern "C" {
#include <libfdt.h>
}

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace manifest = bh::manifest;
using bh::u32;
using bh::u64;
using bh::u8;
using manifest::OpKind;

constexpr u64 kMiB = 1ull << 20;
constexpr u64 kRamIpa = 0x4000'0000;
constexpr u64 kRamPhys = 0x5000'0000;
constexpr u64 kRamSize = 128 * kMiB;
// The synthesized Image: a 1 MiB file whose kernel needs 3 MiB (bss included).
constexpr u64 kImageFileSize = 1 * kMiB;
constexpr u64 kImageSize = 3 * kMiB;

// An Image header followed by filler (linux_image_fixture.hpp); the file defaults to 1 MiB.
std::vector<u8> make_image(u64 text_offset, u64 image_size, u64 flags = 0xa, u64 file_size = kImageFileSize,
                           u32 magic = bhcc::kLinuxImageMagic) {
    return bh::test::make_linux_image(text_offset, image_size, flags, file_size, magic);
}

// A scratch directory with an image directory holding "Image" and "initramfs.cpio.gz".
class Scratch {
public:
    Scratch() {
        fs::create_directories(images());
        put("Image", make_image(0, kImageSize));
        put("initramfs.cpio.gz", std::vector<u8>(5000, 0xc3));
        put("empty.cpio", {});
    }

    [[nodiscard]] fs::path images() const { return dir_.path() / "images"; }
    void put(const std::string& name, const std::vector<u8>& bytes) const {
        std::ofstream(images() / name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    // Compiles a description whose /partitions node holds `partitions` (device-tree source).
    [[nodiscard]] bhcc::CompileResult compile(const std::string& partitions,
                                              std::vector<fs::path> dirs = {}) const {
        if (dirs.empty()) dirs.push_back(images());
        const fs::path dts = dir_.path() / "system.dts";
        std::ofstream(dts) << "/dts-v1/;\n/ {\n compatible = \"bulkhead,system-v1\";\n #address-cells = <2>;\n"
                              " #size-cells = <2>;\n partitions {\n"
                           << partitions << "\n };\n};\n";
        return bhcc::compile_system({dts, dirs, std::nullopt});
    }

private:
    bh::test::ScratchDir dir_{"bhcc-linux"};
};

const std::string kRam =
    " ram { compatible = \"bulkhead,memory\"; ipa = <0x0 0x40000000>; phys = <0x0 0x50000000>;"
    " size = <0x0 0x08000000>; access = \"rwx\"; };\n";

// A Linux partition on cores 1 and 2 with one 128 MiB region. `properties` overrides or adds
// properties (name -> value as written after '='; an empty value removes the property, "true"
// writes a boolean); `children` replaces the memory regions.
std::string linux_partition(const std::map<std::string, std::string>& properties = {},
                            const std::string& children = kRam) {
    std::map<std::string, std::string> all = {
        {"compatible", "\"bulkhead,partition\""},
        {"cpus", "<1 2>"},
        {"kernel", "\"Image\""},
        {"initramfs", "\"initramfs.cpio.gz\""},
        {"bootargs", "\"console=ttyAMA0 quiet\""},
    };
    for (const auto& [name, value] : properties) all[name] = value;
    std::string text = "linux {\n";
    for (const auto& [name, value] : all) {
        if (value == "true") text += " " + name + ";\n";
        else if (!value.empty()) text += " " + name + " = " + value + ";\n";
    }
    return text + children + "};\n";
}

// ---- the generated device tree, read back with libfdt

struct Tree {
    std::vector<u8> blob;

    [[nodiscard]] int node(const char* path) const { return fdt_path_offset(blob.data(), path); }
    [[nodiscard]] std::optional<std::string> raw(const char* path, const char* property) const {
        const int offset = node(path);
        if (offset < 0) return std::nullopt;
        int length = 0;
        const void* data = fdt_getprop(blob.data(), offset, property, &length);
        if (data == nullptr) return std::nullopt;
        return std::string(static_cast<const char*>(data), static_cast<std::size_t>(length));
    }
    [[nodiscard]] std::optional<std::string> string(const char* path, const char* property) const {
        auto value = raw(path, property);
        if (!value || value->empty() || value->back() != '\0') return std::nullopt;
        value->pop_back();
        return value;
    }
    [[nodiscard]] std::vector<u32> cells(const char* path, const char* property) const {
        std::vector<u32> out;
        if (auto value = raw(path, property)) {
            for (std::size_t i = 0; i + 4 <= value->size(); i += 4) {
                fdt32_t be;
                std::memcpy(&be, value->data() + i, 4);
                out.push_back(fdt32_to_cpu(be));
            }
        }
        return out;
    }
    [[nodiscard]] std::vector<std::string> children(const char* path) const {
        std::vector<std::string> names;
        int child = 0;
        fdt_for_each_subnode(child, blob.data(), node(path)) names.emplace_back(fdt_get_name(blob.data(), child, nullptr));
        return names;
    }
};

std::string list(std::initializer_list<const char*> strings) {
    std::string joined;
    for (const char* s : strings) joined.append(s).push_back('\0');
    return joined;
}

bhcc::Partition partition_with(std::vector<unsigned> cpus, std::vector<bhcc::MemoryRegion> regions,
                               std::string bootargs = "console=ttyAMA0") {
    bhcc::Partition p;
    p.name = "linux";
    p.node = "/partitions/linux";
    p.cpus = std::move(cpus);
    p.cpus_present = true;
    p.kernel = "Image";
    p.bootargs = std::move(bootargs);
    p.regions = std::move(regions);
    return p;
}

bhcc::MemoryRegion rwx_region(u64 ipa, u64 size, u64 phys = kRamPhys) {
    bhcc::MemoryRegion r;
    r.node = "/partitions/linux/ram";
    r.ipa = ipa;
    r.phys = phys;
    r.size = size;
    r.attrs = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute;
    return r;
}

}  // namespace

TEST_CASE("linux: the Image header is read, and every non-Image is refused with its reason", "[bhcc][linux]") {
    const bhcc::LinuxImageParse good = bhcc::parse_linux_image(make_image(0x8'0000, kImageSize));
    REQUIRE(good.image);
    CHECK(good.image->text_offset == 0x8'0000);
    CHECK(good.image->image_size == kImageSize);
    CHECK(good.image->flags == 0xa);
    CHECK(good.image->bytes.size() == kImageFileSize);

    struct Case {
        std::vector<u8> bytes;
        std::string reason;
    };
    const Case cases[] = {
        {std::vector<u8>(63, 0), "shorter than the 64-byte Image header"},
        {make_image(0, kImageSize, 0xa, kImageFileSize, 0x464c457f), "no \"ARM\\x64\" magic at offset 56"},
        {make_image(0, kImageSize, 0xb), "a big-endian kernel (flags bit 0 set)"},
        {make_image(0x8'0000, 0), "image_size is 0 (kernels before 3.17 are not supported)"},
        {make_image(0, kImageFileSize - 1), "image_size 0xfffff is smaller than the file (1048576 bytes)"},
        {make_image(2 * kMiB, kImageSize), "text_offset 0x200000 is not below 2 MiB"},
    };
    for (const Case& c : cases) {
        const bhcc::LinuxImageParse parse = bhcc::parse_linux_image(c.bytes);
        INFO(c.reason);
        CHECK_FALSE(parse.image);
        CHECK(parse.error.starts_with(c.reason));
    }
}

TEST_CASE("linux: device tree, kernel and initramfs are placed per the arm64 boot protocol", "[bhcc][linux]") {
    const bhcc::LinuxImage image = *bhcc::parse_linux_image(make_image(0, kImageSize)).image;

    SECTION("a 2 MiB aligned region: tree at its start, Image at +2 MiB, initramfs on the next page") {
        const bhcc::Partition p = partition_with({0}, {rwx_region(kRamIpa, kRamSize)});
        const bhcc::LinuxPlacement placed = bhcc::place_linux(p, image, 5000);
        REQUIRE(placed.layout);
        CHECK(placed.layout->region == &p.regions[0]);
        CHECK(placed.layout->device_tree_ipa == kRamIpa);
        CHECK(placed.layout->kernel_ipa == kRamIpa + 2 * kMiB);
        CHECK(placed.layout->kernel_size == kImageSize);
        CHECK(placed.layout->initramfs_ipa == kRamIpa + 2 * kMiB + kImageSize);
        CHECK(placed.layout->initramfs_size == 5000);
    }
    SECTION("text_offset is added to the 2 MiB aligned base; the initramfs follows image_size, page aligned") {
        const bhcc::LinuxImage offset = *bhcc::parse_linux_image(make_image(0x8'0000, kImageSize + 1)).image;
        const bhcc::Partition p = partition_with({0}, {rwx_region(kRamIpa, kRamSize)});
        const bhcc::LinuxPlacement placed = bhcc::place_linux(p, offset, 1);
        REQUIRE(placed.layout);
        CHECK(placed.layout->kernel_ipa == kRamIpa + 2 * kMiB + 0x8'0000);
        CHECK(placed.layout->initramfs_ipa == bh::align_up(kRamIpa + 2 * kMiB + 0x8'0000 + kImageSize + 1, 4096));
    }
    SECTION("a region that is not 2 MiB aligned: the Image goes to the first 2 MiB boundary after the tree's slot") {
        const bhcc::Partition p = partition_with({0}, {rwx_region(kRamIpa + 0x1'0000, kRamSize - 0x1'0000)});
        const bhcc::LinuxPlacement placed = bhcc::place_linux(p, image, 0);
        REQUIRE(placed.layout);
        CHECK(placed.layout->device_tree_ipa == kRamIpa + 0x1'0000);
        CHECK(placed.layout->kernel_ipa == kRamIpa + 4 * kMiB);
        CHECK(placed.layout->initramfs_size == 0);
        CHECK(placed.layout->initramfs_ipa == 0);
    }
    SECTION("the first region holds them all, even when a later one is larger") {
        const bhcc::Partition p =
            partition_with({0}, {rwx_region(kRamIpa, 8 * kMiB), rwx_region(0x8000'0000, kRamSize, 0x6000'0000)});
        const bhcc::LinuxPlacement placed = bhcc::place_linux(p, image, 6 * kMiB);
        CHECK_FALSE(placed.layout);
        CHECK(placed.error ==
              "the device tree (a 2 MiB slot), the kernel (image_size 0x300000) and the initramfs (6291456 bytes) do "
              "not fit in /partitions/linux/ram [0x40000000, 0x40800000)");
    }
    SECTION("exactly full fits; one byte more does not") {
        const bhcc::Partition p = partition_with({0}, {rwx_region(kRamIpa, 8 * kMiB)});
        CHECK(bhcc::place_linux(p, image, 3 * kMiB).layout);
        CHECK_FALSE(bhcc::place_linux(p, image, 3 * kMiB + 1).layout);
    }
    SECTION("an image_size or initramfs that would wrap around is refused, not placed") {
        const bhcc::Partition p = partition_with({0}, {rwx_region(kRamIpa, kRamSize)});
        const bhcc::LinuxImage huge = *bhcc::parse_linux_image(make_image(0, ~0ull - 0x1000)).image;
        CHECK_FALSE(bhcc::place_linux(p, huge, 0).layout);
        CHECK_FALSE(bhcc::place_linux(p, image, ~0ull - 0x1000).layout);
    }
}

TEST_CASE("linux: the generated device tree describes the partition, node by node", "[bhcc][linux]") {
    // Two vCPUs, two regions (given out of IPA order), an initramfs.
    const bhcc::Partition p = partition_with({3, 1}, {rwx_region(kRamIpa, kRamSize), rwx_region(0x1'0000'0000, 64 * kMiB, 0x6000'0000)},
                                             "console=ttyAMA0 earlycon=pl011,0x09000000");
    const bhcc::LinuxImage image = *bhcc::parse_linux_image(make_image(0, kImageSize)).image;
    const bhcc::LinuxLayout layout = *bhcc::place_linux(p, image, 5000).layout;
    const Tree tree{bhcc::make_guest_device_tree(p, layout)};
    REQUIRE(fdt_check_full(tree.blob.data(), tree.blob.size()) == 0);
    CHECK(tree.blob.size() <= bhcc::kDeviceTreeSlot);

    CHECK(tree.children("/") == std::vector<std::string>{"chosen", "aliases", "memory@40000000", "memory@100000000",
                                                           "cpus", "psci", "intc@8000000", "timer", "apb-pclk",
                                                           "pl011@9000000"});
    // Root: two cells for addresses and sizes, the GIC as interrupt parent.
    CHECK(tree.raw("/", "compatible") == list({"bulkhead,partition"}));
    CHECK(tree.string("/", "model") == "Bulkhead partition linux");
    CHECK(tree.cells("/", "#address-cells") == std::vector<u32>{2});
    CHECK(tree.cells("/", "#size-cells") == std::vector<u32>{2});
    const std::vector<u32> gic_phandle = tree.cells("/intc@8000000", "phandle");
    REQUIRE(gic_phandle.size() == 1);
    CHECK(tree.cells("/", "interrupt-parent") == gic_phandle);

    // /chosen: bootargs as written, the console, the initramfs where it was placed.
    CHECK(tree.string("/chosen", "bootargs") == "console=ttyAMA0 earlycon=pl011,0x09000000");
    CHECK(tree.string("/chosen", "stdout-path") == "/pl011@9000000");
    const u64 start = layout.initramfs_ipa;
    CHECK(tree.cells("/chosen", "linux,initrd-start") == std::vector<u32>{u32(start >> 32), u32(start)});
    CHECK(tree.cells("/chosen", "linux,initrd-end") == std::vector<u32>{u32((start + 5000) >> 32), u32(start + 5000)});
    CHECK(tree.string("/aliases", "serial0") == "/pl011@9000000");
    CHECK_FALSE(tree.raw("/chosen", "kaslr-seed"));
    CHECK_FALSE(tree.raw("/chosen", "rng-seed"));

    // Memory: one node per region, in IPA order, reg = <ipa size>.
    CHECK(tree.string("/memory@40000000", "device_type") == "memory");
    CHECK(tree.cells("/memory@40000000", "reg") == std::vector<u32>{0, 0x4000'0000, 0, 0x0800'0000});
    CHECK(tree.string("/memory@100000000", "device_type") == "memory");
    CHECK(tree.cells("/memory@100000000", "reg") == std::vector<u32>{1, 0, 0, 0x0400'0000});

    // CPUs: one per vCPU, reg = the vCPU index (Aff0 of its virtual MPIDR), not the physical core.
    CHECK(tree.children("/cpus") == std::vector<std::string>{"cpu@0", "cpu@1"});
    CHECK(tree.cells("/cpus", "#address-cells") == std::vector<u32>{1});
    CHECK(tree.cells("/cpus", "#size-cells") == std::vector<u32>{0});
    for (u32 i = 0; i < 2; ++i) {
        const std::string path = "/cpus/cpu@" + std::to_string(i);
        INFO(path);
        CHECK(tree.string(path.c_str(), "device_type") == "cpu");
        CHECK(tree.raw(path.c_str(), "compatible") == list({"arm,cortex-a53", "arm,armv8"}));
        CHECK(tree.cells(path.c_str(), "reg") == std::vector<u32>{i});
        CHECK(tree.string(path.c_str(), "enable-method") == "psci");
    }

    // PSCI through HVC, which the kernel emulates.
    CHECK(tree.raw("/psci", "compatible") == list({"arm,psci-1.0", "arm,psci-0.2"}));
    CHECK(tree.string("/psci", "method") == "hvc");

    // GICv3: the distributor, then this partition's two redistributor frames, no ITS child.
    CHECK(tree.raw("/intc@8000000", "compatible") == list({"arm,gic-v3"}));
    CHECK(tree.cells("/intc@8000000", "#interrupt-cells") == std::vector<u32>{3});
    CHECK(tree.raw("/intc@8000000", "interrupt-controller") == std::string());
    CHECK(tree.cells("/intc@8000000", "#redistributor-regions") == std::vector<u32>{1});
    CHECK(tree.cells("/intc@8000000", "reg") ==
          std::vector<u32>{0, 0x0800'0000, 0, 0x1'0000, 0, 0x080a'0000, 0, 2 * 0x2'0000});
    CHECK(tree.children("/intc@8000000").empty());

    // The architected timer: PPIs 13, 14, 11 (the virtual timer, INTID 27), 10, level high.
    CHECK(tree.raw("/timer", "compatible") == list({"arm,armv8-timer", "arm,armv7-timer"}));
    CHECK(tree.cells("/timer", "interrupts") == std::vector<u32>{1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4});
    CHECK(tree.raw("/timer", "always-on") == std::string());

    // The PL011 at 0x0900_0000, SPI 1 (INTID 33), clocked by the 24 MHz apb-pclk.
    const std::vector<u32> clock = tree.cells("/apb-pclk", "phandle");
    REQUIRE(clock.size() == 1);
    CHECK(clock != gic_phandle);
    CHECK(tree.raw("/apb-pclk", "compatible") == list({"fixed-clock"}));
    CHECK(tree.cells("/apb-pclk", "#clock-cells") == std::vector<u32>{0});
    CHECK(tree.cells("/apb-pclk", "clock-frequency") == std::vector<u32>{24'000'000});
    CHECK(tree.string("/apb-pclk", "clock-output-names") == "clk24mhz");
    CHECK(tree.raw("/pl011@9000000", "compatible") == list({"arm,pl011", "arm,primecell"}));
    CHECK(tree.cells("/pl011@9000000", "reg") == std::vector<u32>{0, 0x0900'0000, 0, 0x1000});
    CHECK(tree.cells("/pl011@9000000", "interrupts") == std::vector<u32>{0, 1, 4});
    CHECK(tree.cells("/pl011@9000000", "clocks") == std::vector<u32>{clock[0], clock[0]});
    CHECK(tree.raw("/pl011@9000000", "clock-names") == list({"uartclk", "apb_pclk"}));
}

TEST_CASE("linux: no bootargs and no initramfs leave their properties out; one vCPU, one frame", "[bhcc][linux]") {
    const bhcc::Partition p = partition_with({2}, {rwx_region(kRamIpa, kRamSize)}, "");
    const bhcc::LinuxImage image = *bhcc::parse_linux_image(make_image(0, kImageSize)).image;
    const Tree tree{bhcc::make_guest_device_tree(p, *bhcc::place_linux(p, image, 0).layout)};
    REQUIRE(fdt_check_full(tree.blob.data(), tree.blob.size()) == 0);
    CHECK_FALSE(tree.raw("/chosen", "bootargs"));
    CHECK_FALSE(tree.raw("/chosen", "linux,initrd-start"));
    CHECK_FALSE(tree.raw("/chosen", "linux,initrd-end"));
    CHECK(tree.string("/chosen", "stdout-path") == "/pl011@9000000");
    CHECK(tree.children("/cpus") == std::vector<std::string>{"cpu@0"});
    CHECK(tree.cells("/intc@8000000", "reg") == std::vector<u32>{0, 0x0800'0000, 0, 0x1'0000, 0, 0x080a'0000, 0, 0x2'0000});
}

TEST_CASE("linux: a Linux partition compiles into LoadImage ops at the layout's IPAs, x0 = the tree", "[bhcc][linux]") {
    Scratch scratch;
    const bhcc::CompileResult result = scratch.compile(linux_partition());
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    REQUIRE(result.guest_device_trees.size() == 1);
    CHECK(result.guest_device_trees[0].first == "linux");
    const std::vector<u8>& tree = result.guest_device_trees[0].second;

    bh::ManifestReader reader;
    REQUIRE(bh::ok(reader.open(result.manifest.bytes.data(), result.manifest.bytes.size())));
    const u8* payload = result.manifest.bytes.data();
    std::vector<manifest::ManifestOp> loads;
    std::optional<manifest::ManifestOp> create, start;
    for (u32 i = 0; i < reader.op_count(); ++i) {
        const manifest::ManifestOp op = reader.op(i);
        if (op.kind == OpKind::LoadImage) loads.push_back(op);
        if (op.kind == OpKind::CreatePartition) create = op;
        if (op.kind == OpKind::StartVcpu) start = op;
    }
    // An unmodified OS: the debug and PMU registers it programs read as zero (kernel/arch/aarch64/os_registers.hpp).
    REQUIRE(create);
    CHECK(create->arg[2] == 2);
    CHECK(create->arg[3] == manifest::partition_flag::kOsGuest);
    // Booted at the Image with x0 = the device tree (x1..x3 are zero: a vCPU starts with clean registers).
    REQUIRE(start);
    CHECK(start->arg[1] == 0);
    CHECK(start->arg[2] == kRamIpa + 2 * kMiB);
    CHECK(start->arg[3] == kRamIpa);

    REQUIRE(loads.size() == 3);
    // The tree at the start of RAM, exactly the bytes reported.
    CHECK(loads[0].arg[1] == kRamIpa);
    CHECK(loads[0].arg[3] == tree.size());
    CHECK(std::memcmp(payload + loads[0].arg[2], tree.data(), tree.size()) == 0);
    // The Image file (not image_size: the bss is zero because RAM is scrubbed) at +2 MiB.
    CHECK(loads[1].arg[1] == kRamIpa + 2 * kMiB);
    CHECK(loads[1].arg[3] == kImageFileSize);
    CHECK(std::memcmp(payload + loads[1].arg[2], make_image(0, kImageSize).data(), kImageFileSize) == 0);
    // The initramfs after image_size.
    CHECK(loads[2].arg[1] == kRamIpa + 2 * kMiB + kImageSize);
    CHECK(loads[2].arg[3] == 5000);
    CHECK(payload[loads[2].arg[2]] == 0xc3);
    CHECK(payload[loads[2].arg[2] + 4999] == 0xc3);
    // ... which is what the tree tells Linux.
    const Tree read{tree};
    CHECK(read.cells("/chosen", "linux,initrd-start") == std::vector<u32>{0, u32(kRamIpa + 2 * kMiB + kImageSize)});
    CHECK(read.cells("/chosen", "linux,initrd-end") == std::vector<u32>{0, u32(kRamIpa + 2 * kMiB + kImageSize + 5000)});
    CHECK(read.string("/chosen", "bootargs") == "console=ttyAMA0 quiet");

    // The dump names the flag and the boot argument.
    const std::string dump = bhcc::dump_manifest(result.manifest.bytes);
    INFO(dump);
    CHECK(dump.find("CreatePartition slot 2 name=\"linux\" cspace=slot 3 restart=stop vcpus=2 os-guest\n") !=
          std::string::npos);
    CHECK(dump.find("StartVcpu       linux@2 vcpu=0 entry=0x40200000 x0=0x40000000\n") != std::string::npos);
}

TEST_CASE("linux: guest files are looked up in each image directory in turn", "[bhcc][linux]") {
    Scratch scratch;
    const fs::path second = scratch.images() / "second";
    fs::create_directories(second);
    std::ofstream(second / "only-here.cpio", std::ios::binary) << "cpio";
    std::ofstream(second / "Image", std::ios::binary) << "not the first directory's Image";
    const std::string partitions = linux_partition({{"initramfs", "\"only-here.cpio\""}});
    CHECK(scratch.compile(partitions).status == bhcc::ExitStatus::Invalid);
    const bhcc::CompileResult found = scratch.compile(partitions, {scratch.images(), second});
    INFO(found.errors);
    REQUIRE(found.status == bhcc::ExitStatus::Ok);  // and the first directory's Image won
    CHECK(found.manifest.bytes.size() > kImageFileSize);
}

TEST_CASE("linux: each bad Linux description is refused with its own message", "[bhcc][linux]") {
    Scratch scratch;
    scratch.put("not-an-image", std::vector<u8>(4096, 0));
    struct Case {
        const char* what;
        std::string partitions;
        std::string message;  // "<node>: <rule>", matched as a substring
    };
    const std::string long_bootargs = "\"" + std::string(bhcc::kLinuxCommandLineSize, 'x') + "\"";
    auto region = [](const char* name, const char* ipa, const char* size, const char* access = "rwx") {
        return std::string(" ") + name + " { compatible = \"bulkhead,memory\"; ipa = <0x0 " + ipa +
               ">; phys = <0x0 0x58000000>; size = <0x0 " + size + ">; access = \"" + access + "\"; };\n";
    };
    const Case cases[] = {
        {"image and kernel", linux_partition({{"image", "\"Image\""}}),
         "/partitions/linux: image and kernel are exclusive: a partition runs a bare-metal ELF or a Linux kernel"},
        {"neither", linux_partition({{"kernel", ""}, {"initramfs", ""}, {"bootargs", ""}}),
         "/partitions/linux: missing image (a bare-metal ELF) or kernel (a Linux Image)"},
        {"kernel not a name", linux_partition({{"kernel", "<1>"}}), "/partitions/linux: kernel must be one file name"},
        {"initramfs not a name", linux_partition({{"initramfs", "\"a\", \"b\""}}),
         "/partitions/linux: initramfs must be one file name"},
        {"bootargs not a string", linux_partition({{"bootargs", "<7>"}}), "/partitions/linux: bootargs must be one string"},
        {"bootargs without kernel", linux_partition({{"kernel", ""}, {"image", "\"x.elf\""}, {"initramfs", ""}}),
         "/partitions/linux: initramfs and bootargs are for a Linux partition (one with a kernel)"},
        {"boot-arg", linux_partition({{"boot-arg", "<0x0 0x1>"}}),
         "/partitions/linux: boot-arg is not allowed for a Linux partition: x0 is its device tree's IPA"},
        {"bootargs too long", linux_partition({{"bootargs", long_bootargs}}),
         "/partitions/linux: bootargs is 2048 characters, at most 2047 (Linux's COMMAND_LINE_SIZE)"},
        {"not rwx", linux_partition({}, region("ram", "0x40000000", "0x08000000", "rw")),
         "/partitions/linux/ram: a Linux partition's memory must have access \"rwx\" (Linux executes from any page of its RAM)"},
        {"unmapped", linux_partition({}, kRam + " spare { compatible = \"bulkhead,memory\"; unmapped;"
                                                " phys = <0x0 0x58000000>; size = <0x0 0x00200000>; access = \"rwx\"; };\n"),
         "/partitions/linux/spare: a Linux partition cannot use an unmapped region (Linux makes no hypercalls)"},
        {"over the distributor", linux_partition({}, kRam + region("low", "0x08000000", "0x1000")),
         "/partitions/linux/low: IPA range [0x8000000, 0x8001000) overlaps the emulated GIC distributor [0x8000000, 0x8010000)"},
        {"over a redistributor", linux_partition({}, kRam + region("low", "0x080c0000", "0x1000")),
         "/partitions/linux/low: IPA range [0x80c0000, 0x80c1000) overlaps the emulated GIC redistributors [0x80a0000, 0x80e0000)"},
        {"over the UART", linux_partition({}, kRam + region("low", "0x09000000", "0x2000")),
         "/partitions/linux/low: IPA range [0x9000000, 0x9002000) overlaps the emulated PL011 UART [0x9000000, 0x9001000)"},
        {"kernel missing", linux_partition({{"kernel", "\"bzImage\""}}),
         "/partitions/linux: kernel \"bzImage\" not found in " + scratch.images().string()},
        {"kernel not an Image", linux_partition({{"kernel", "\"not-an-image\""}}),
         "/partitions/linux: kernel \"not-an-image\" is not an arm64 Linux Image: no \"ARM\\x64\" magic at offset 56"},
        {"initramfs missing", linux_partition({{"initramfs", "\"nothing.cpio\""}}),
         "/partitions/linux: initramfs \"nothing.cpio\" not found in " + scratch.images().string()},
        {"initramfs empty", linux_partition({{"initramfs", "\"empty.cpio\""}}),
         "/partitions/linux: initramfs \"empty.cpio\" is empty"},
        {"too little RAM", linux_partition({}, region("ram", "0x40000000", "0x00400000")),
         "/partitions/linux: the device tree (a 2 MiB slot), the kernel (image_size 0x300000) and the initramfs (5000 bytes)"
         " do not fit in /partitions/linux/ram [0x40000000, 0x40400000)"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        const bhcc::CompileResult result = scratch.compile(c.partitions);
        INFO(result.errors);
        CHECK(result.status == bhcc::ExitStatus::Invalid);
        CHECK(result.errors.find(c.message) != std::string::npos);
        CHECK(result.diagnostics.count() == 1);  // one rule broken, one message
        CHECK(result.guest_device_trees.empty());
    }
}

TEST_CASE("linux: a forwarded window is a virtio-mmio device on a bus whose dma-ranges are its DMA window",
          "[bhcc][linux][forward][T-96]") {
    const bhcc::Partition p = partition_with({0}, {rwx_region(kRamIpa, kRamSize)});
    const bhcc::LinuxImage image = *bhcc::parse_linux_image(make_image(0, kImageSize)).image;
    const bhcc::LinuxLayout layout = *bhcc::place_linux(p, image, 0).layout;
    const bhcc::GuestVirtioDevice device{0x0a00'0000, 0x1000, 48, 0x3fe0'0000, 0x20'0000};
    const Tree tree{bhcc::make_guest_device_tree(p, layout, {device})};
    REQUIRE(fdt_check_full(tree.blob.data(), tree.blob.size()) == 0);
    // The DMA window is memory of the guest's, below its RAM.
    CHECK(tree.string("/memory@3fe00000", "device_type") == "memory");
    CHECK(tree.cells("/memory@3fe00000", "reg") == std::vector<u32>{0, 0x3fe0'0000, 0, 0x20'0000});
    // Its bus: identity ranges for the registers, dma-ranges = the window alone.
    CHECK(tree.raw("/dma-bus@a000000", "compatible") == list({"simple-bus"}));
    CHECK(tree.raw("/dma-bus@a000000", "ranges") == std::string());
    CHECK(tree.cells("/dma-bus@a000000", "dma-ranges") ==
          std::vector<u32>{0, 0x3fe0'0000, 0, 0x3fe0'0000, 0, 0x20'0000});
    const char* virtio = "/dma-bus@a000000/virtio_mmio@a000000";
    CHECK(tree.raw(virtio, "compatible") == list({"virtio,mmio"}));
    CHECK(tree.cells(virtio, "reg") == std::vector<u32>{0, 0x0a00'0000, 0, 0x1000});
    CHECK(tree.cells(virtio, "interrupts") == std::vector<u32>{0, 16, 1});  // SPI 48, edge
    CHECK(tree.raw(virtio, "dma-coherent") == std::string());
    // Without a DMA window: the device alone, at the root.
    const Tree bare{bhcc::make_guest_device_tree(p, layout, {bhcc::GuestVirtioDevice{0x0a00'0000, 0x1000, 0, 0, 0}})};
    CHECK(bare.node("/virtio_mmio@a000000") >= 0);
    CHECK_FALSE(bare.raw("/virtio_mmio@a000000", "interrupts"));
    CHECK(bare.node("/dma-bus@a000000") < 0);
}
