// bhcc: the Bulkhead configuration compiler. Thin command line around bhcc::compile_system.
#include <bhcc/compiler.hpp>
#include <bhcc/elf_image.hpp>
#include <bhcc/hex.hpp>
#include <bhcc/manifest_dump.hpp>
#include <bulkhead/platform.hpp>
#ifdef BHCC_WITH_PROOFS
#include <concrete_check.hpp>  // proofs/: Z3 check of INV-1/2/6 over all IPAs
#endif

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string_view>

namespace {

constexpr const char* kUsage =
    "usage: bhcc <system.dts|.dtb> --kernel <bulkhead.elf> --image-dir <dir>... -o <out.img>\n"
    "            [--manifest <out.bin>] [--qemu-args <out.qemu>] [--guest-dtb-dir <dir>] [--dump] [--verbose]\n"
    "       bhcc --check <system.dts|.dtb> --image-dir <dir>... [--guest-dtb-dir <dir>] [--dump] [--verbose]\n"
    "  --image-dir      where guest files (ELFs, Linux Images, initramfs) are looked up; may be\n"
    "                   repeated, the first directory holding a name wins\n"
    "  --guest-dtb-dir  also write the device tree generated for each Linux partition to\n"
    "                   <dir>/<partition>.dtb\n"
    "       bhcc --verify <image.img|manifest.bin> [--dump]\n"
    "  --verify  re-run the Z3 all-IPA check (INV-1, INV-2, INV-3, INV-6) on an already packed image or\n"
    "            manifest, e.g. one that is shipped; exit 0 if it holds, 1 with the violated\n"
    "            property and a counterexample (partition, IPA, PA) if not, 2 on I/O errors\n"
    "  --qemu-args  write the QEMU arguments that plug in the description's PCIe devices, one per\n"
    "            line (tools/qemu-run reads <image without .img>.qemu)\n";

struct Options {
    std::optional<std::string> description;
    std::optional<std::string> kernel;
    std::vector<std::string> image_dirs;
    std::optional<std::string> guest_dtb_dir;
    std::optional<std::string> output;
    std::optional<std::string> manifest;
    std::optional<std::string> qemu_args;
    std::optional<std::string> verify;  // a packed image or manifest to check, nothing compiled
    bool check_only = false;
    bool dump = false;
    bool verbose = false;  // print the proof summary (solver time)
};

[[nodiscard]] std::optional<Options> parse_options(std::span<char*> args) {
    Options options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        auto value = [&](std::optional<std::string>& slot) {
            if (i + 1 >= args.size() || slot) return false;
            slot = args[++i];
            return true;
        };
        bool fine = true;
        if (arg == "--kernel") fine = value(options.kernel);
        else if (arg == "--image-dir" && i + 1 < args.size()) options.image_dirs.emplace_back(args[++i]);
        else if (arg == "--guest-dtb-dir") fine = value(options.guest_dtb_dir);
        else if (arg == "-o") fine = value(options.output);
        else if (arg == "--manifest") fine = value(options.manifest);
        else if (arg == "--qemu-args") fine = value(options.qemu_args);
        else if (arg == "--verify") fine = value(options.verify);
        else if (arg == "--check") options.check_only = true;
        else if (arg == "--dump") options.dump = true;
        else if (arg == "--verbose") options.verbose = true;
        else if (!arg.starts_with("-") && !options.description) options.description = std::string(arg);
        else fine = false;
        if (!fine) return std::nullopt;
    }
    if (options.verify)
        return options.description || !options.image_dirs.empty() || options.kernel || options.output ||
                       options.manifest || options.qemu_args || options.guest_dtb_dir || options.check_only
                   ? std::nullopt
                   : std::optional<Options>(options);
    if (!options.description || options.image_dirs.empty()) return std::nullopt;
    if (options.check_only) {
        if (options.kernel || options.output || options.manifest || options.qemu_args) return std::nullopt;
    } else if (!options.kernel || !options.output) {
        return std::nullopt;
    }
    return options;
}

[[nodiscard]] bool write_file(const std::string& path, std::span<const bhcc::u8> bytes) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    file.close();
    if (!file) std::cerr << "bhcc: " << path << ": cannot write\n";
    return static_cast<bool>(file);
}

// bhcc --verify: the concrete check on what was packed, read back from the file. A boot image
// (ELF) is reduced to its payload segment (the manifest, at platform::kPayloadBase); anything
// else is taken as a bare manifest. The kernel's ManifestReader inside check_manifest refuses a
// damaged header or checksum before any property is checked.
[[nodiscard]] int verify_packed(const std::string& path, bool dump) {
    auto bytes = bhcc::read_file_bytes(path);
    if (!bytes) {
        std::cerr << "bhcc: " << path << ": cannot read\n";
        return static_cast<int>(bhcc::ExitStatus::UsageOrIo);
    }
    std::vector<bhcc::u8> manifest = std::move(*bytes);
    if (manifest.size() >= 4 && manifest[0] == 0x7f && manifest[1] == 'E' && manifest[2] == 'L' && manifest[3] == 'F') {
        const bhcc::ElfParse elf = bhcc::parse_aarch64_elf(std::move(manifest));
        if (!elf.image) {
            std::cerr << "bhcc: " << path << ": " << elf.error << "\n";
            return static_cast<int>(bhcc::ExitStatus::Invalid);
        }
        const bhcc::ElfSegment* payload = nullptr;
        for (const auto& segment : elf.image->loads)
            if (segment.vaddr == bh::platform::kPayloadBase) payload = &segment;
        if (payload == nullptr) {
            std::cerr << "bhcc: " << path << ": no manifest segment at " << bhcc::hex(bh::platform::kPayloadBase) << "\n";
            return static_cast<int>(bhcc::ExitStatus::Invalid);
        }
        manifest = elf.image->segment_data(*payload);
    }
#ifdef BHCC_WITH_PROOFS
    if (dump) std::cout << bhcc::dump_manifest(manifest);  // bounds-checked: fine on a damaged one
    const bh::proofs::ConcreteReport proof = bh::proofs::check_manifest(manifest);
    if (!proof.ok) {
        if (proof.queries == 0) {  // refused by the reader or the replay: no property was checked
            std::cerr << "bhcc: " << path << ": " << proof.summary << "\n";
        } else {
            std::cerr << "bhcc: " << path << ": the packed manifest fails the Z3 check\n"
                      << proof.details << "bhcc: " << proof.summary << "\n";
        }
        return static_cast<int>(bhcc::ExitStatus::Invalid);
    }
    std::cout << "bhcc: " << path << ": " << proof.summary << "\n";
    return 0;
#else
    (void)dump;
    std::cerr << "bhcc: --verify needs the Z3 check; this bhcc was built without libz3\n";
    return static_cast<int>(bhcc::ExitStatus::UsageOrIo);
#endif
}

}  // namespace

int main(int argc, char** argv) {
    auto options = parse_options(std::span(argv + 1, static_cast<std::size_t>(argc - 1)));
    if (!options) {
        std::cerr << kUsage;
        return static_cast<int>(bhcc::ExitStatus::UsageOrIo);
    }
    if (options->verify) return verify_packed(*options->verify, options->dump);
    bhcc::CompileRequest request{*options->description, {}, std::nullopt};
    for (const std::string& dir : options->image_dirs) request.image_dirs.emplace_back(dir);
    if (options->kernel) request.kernel = *options->kernel;

    const bhcc::CompileResult result = bhcc::compile_system(request);
    if (result.status != bhcc::ExitStatus::Ok) {
        std::cerr << result.errors;
        return static_cast<int>(result.status);
    }
#ifdef BHCC_WITH_PROOFS
    // Every packed description is proved safe for all IPAs before anything is written.
    const bh::proofs::ConcreteReport proof = bh::proofs::check_manifest(result.manifest.bytes);
    if (!proof.ok) {
        std::cerr << "bhcc: " << *options->description << ": the compiled manifest fails the Z3 check\n"
                  << proof.details << "bhcc: " << proof.summary << "\n";
        return static_cast<int>(bhcc::ExitStatus::Invalid);
    }
    if (options->verbose) std::cerr << "bhcc: " << proof.summary << "\n";
#else
    std::cerr << "bhcc: warning: built with BH_PROOFS=OFF: the Z3 concrete-state check did not run\n";
#endif
    if (options->dump) std::cout << bhcc::dump_manifest(result.manifest.bytes);
    if (options->manifest && !write_file(*options->manifest, result.manifest.bytes)) return 2;
    if (options->output && !write_file(*options->output, result.boot_image)) return 2;
    if (options->qemu_args) {
        std::string lines;
        for (const std::string& arg : result.qemu_args) lines += arg + "\n";
        if (!write_file(*options->qemu_args, std::span(reinterpret_cast<const bhcc::u8*>(lines.data()), lines.size())))
            return 2;
    }
    if (options->guest_dtb_dir) {
        std::error_code error;
        std::filesystem::create_directories(*options->guest_dtb_dir, error);
        for (const auto& [partition, blob] : result.guest_device_trees)
            if (!write_file(*options->guest_dtb_dir + "/" + partition + ".dtb", blob)) return 2;
    }
    return 0;
}
