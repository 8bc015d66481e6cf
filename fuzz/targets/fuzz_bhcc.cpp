// The config compiler (bhcc) on an in-memory flattened device tree, end to end: the parser,
// the semantic validator, the manifest builder, the limit checks and the self-check, and then
// the kernel's boot program running what bhcc produced on a fresh host Kernel.
//
// Input: a .dtb blob (what `dtc -O dtb` makes of a .dts; the seeds are the repository's system
// descriptions, good and bad). The DTS path of bhcc only runs dtc in a subprocess before this,
// so fuzzing the blob covers all of bhcc's own code without spawning a process per input.
// Guest images are synthesised in memory: one small executable segment at the first executable
// region of each partition, entry at its start; for a Linux partition a small Image and
// initramfs, placed and given a generated device tree as bhcc does (make_linux_guest).
// Oracles (besides ASan/UBSan on the parser, which reads untrusted bytes):
//   * a description bhcc accepts packs into a manifest the kernel's reader accepts
//     (self_check_manifest is empty);
//   * the boot's RAM check (platform::manifest_ram_supported) accepts it, and the kernel's boot
//     program runs that manifest to the end (bhcc's rules are at least as strict as the
//     kernel's: an accepted system that the kernel refuses at boot is a bug), on a machine with
//     the PCIe functions the description names, as it describes them (the host's fake PCI bus;
//     QEMU plugs them in from the same description);
//   * check_invariants() is ok after the boot program.
// covers: T-30
#include <arch/host/host_memory.hpp>
#include <bhcc/description_parser.hpp>
#include <bhcc/diagnostics.hpp>
#include <bhcc/elf_image.hpp>
#include <bhcc/linux_guest.hpp>
#include <bhcc/manifest_builder.hpp>
#include <bhcc/manifest_check.hpp>
#include <bhcc/system_validator.hpp>
#include <boot/boot_program.hpp>
#include <bulkhead/platform.hpp>
#include <invariants/invariants.hpp>
#include <boot/manifest_reader.hpp>
#include <kernel.hpp>

#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

using namespace bh;

namespace {

alignas(Kernel) unsigned char storage[sizeof(Kernel)];

void report(const char* what, const InvariantReport* invariants) {
    if (invariants != nullptr) {
        for (u32 i = 0; i < invariants->stored; ++i) {
            LineBuffer v;
            format_violation(v, invariants->violations[i]);
            std::fprintf(stderr, "  %.*s\n", static_cast<int>(v.size()), v.data());
        }
    }
    bh::fuzz::finding(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // libfdt checks every offset against the header's sizes, which must not exceed the buffer:
    // give it a private copy of exactly the input's length so that ASan sees any overread.
    std::vector<u8> blob(data, data + size);
    bhcc::Diagnostics diagnostics;
    std::optional<bhcc::SystemDescription> system = bhcc::parse_description(blob, diagnostics);
    if (!system) return 0;
    bhcc::validate_system(*system, diagnostics);
    if (!diagnostics.empty()) {
        (void)diagnostics.format("fuzz.dtb");  // the messages are built from input text too
        return 0;
    }

    // Known, reported, not yet fixed findings would be skipped here (docs/fuzzing.md "Known
    // findings") so that campaigns look for new ones; none is open.

    std::vector<bhcc::ElfImage> images;
    static const u8 kCode[] = {0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x00, 0x14};  // nop; b .
    for (bhcc::Partition& p : system->partitions) {
        if (p.is_linux()) {
            // A 64 KiB kernel needing 128 KiB, a 4 KiB initramfs: small enough to fit most regions.
            static const bhcc::LinuxImage kKernel = [] {
                std::vector<u8> bytes(64 * 1024, 0);
                const u64 image_size = 128 * 1024;
                std::memcpy(bytes.data() + 16, &image_size, sizeof image_size);
                std::memcpy(bytes.data() + 56, &bhcc::kLinuxImageMagic, sizeof bhcc::kLinuxImageMagic);
                return *bhcc::parse_linux_image(std::move(bytes)).image;
            }();
            static const std::vector<u8> kInitramfs(4096, 0x1f);
            std::optional<bhcc::LinuxGuest> guest = bhcc::make_linux_guest(p, kKernel, kInitramfs, diagnostics);
            if (!guest) return 0;  // does not fit: refused with a message, as bhcc does
            p.boot_arg = guest->layout.device_tree_ipa;
            images.push_back(std::move(guest->image));
            continue;
        }
        const bhcc::MemoryRegion* exec = nullptr;
        for (const bhcc::MemoryRegion& r : p.regions) {
            if (r.mapped && (r.attrs & manifest::attr::kExecute) != 0 && r.size >= sizeof kCode) {
                exec = &r;
                break;
            }
        }
        if (exec == nullptr) return 0;  // bhcc's image check would refuse every image
        bhcc::ElfImage image;
        image.entry = exec->ipa;
        image.bytes.assign(kCode, kCode + sizeof kCode);
        bhcc::ElfSegment segment;
        segment.flags = bhcc::kSegmentRead | bhcc::kSegmentExecute;
        segment.vaddr = segment.paddr = exec->ipa;
        segment.filesz = segment.memsz = sizeof kCode;
        segment.align = 4;
        image.loads.push_back(segment);
        images.push_back(std::move(image));
    }

    bhcc::PackedManifest packed = bhcc::build_manifest(*system, images);
    bhcc::check_manifest_limits(packed, diagnostics);
    if (!diagnostics.empty()) return 0;
    if (std::string broken = bhcc::self_check_manifest(packed.bytes); !broken.empty()) {
        std::fprintf(stderr, "packed manifest: %s\n", broken.c_str());
        report("bhcc accepted a system whose manifest the kernel's reader refuses", nullptr);
    }

    host::reset_all();
    for (const bhcc::PciFunction& f : system->pci_functions) {
        std::vector<host::FakeBar> bars(6);
        for (const bhcc::PciBar& b : f.bars) bars[b.index].size = b.size;
        host::pci_add_function(f.bdf(), static_cast<u16>(f.vendor), static_cast<u16>(f.device_id), bars, 0,
                               static_cast<u8>(f.pin));
    }
    ManifestReader reader;
    if (!ok(reader.open(packed.bytes.data(), packed.bytes.size()))) report("reader refused a self-checked manifest", nullptr);
    // The aarch64 boot's own check before the boot program (kernel/arch/aarch64/main.cpp).
    if (!platform::manifest_ram_supported(reader.header().ram_base, reader.header().ram_size))
        report("bhcc accepted a system compiled for RAM the machine does not have", nullptr);
    Kernel* kernel = new (storage) Kernel();
    if (!ok(kernel->init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores))) {
        report("Kernel::init failed on a fresh machine", nullptr);
    }
    const BootResult r = run_boot_program(*kernel, reader);
    const InvariantReport invariants = check_invariants(*kernel);
    if (!invariants.ok()) {
        std::fprintf(stderr, "boot program: %s (op %d)\n", r.outcome.reason(), r.op_index);
        report("invariant violated after booting what bhcc accepted", &invariants);
    }
    if (!r.ok()) {
        std::fprintf(stderr, "boot program refused op %d: %s (%s)\n", r.op_index, r.outcome.reason(), status_name(r.outcome.status()));
        report("bhcc accepted a system that the kernel refuses at boot", nullptr);
    }
    kernel->~Kernel();
    return 0;
}
