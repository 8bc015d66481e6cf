#include <bhcc/compiler.hpp>

#include <bhcc/boot_image_writer.hpp>
#include <bhcc/description_parser.hpp>
#include <bhcc/device_tree_source.hpp>
#include <bhcc/guest_device_tree.hpp>
#include <bhcc/guest_image_check.hpp>
#include <bhcc/kernel_image_check.hpp>
#include <bhcc/linux_guest.hpp>
#include <bhcc/manifest_check.hpp>
#include <bhcc/pci_layout.hpp>
#include <bhcc/system_validator.hpp>

namespace bhcc {
namespace {

[[nodiscard]] CompileResult fail(CompileResult result, ExitStatus status, std::string message) {
    result.status = status;
    result.errors += message;
    if (!result.errors.empty() && result.errors.back() != '\n') result.errors += '\n';
    return result;
}

[[nodiscard]] CompileResult fail_invalid(CompileResult result, const std::string& source) {
    const std::string text = result.diagnostics.format(source);
    return fail(std::move(result), ExitStatus::Invalid, text);
}

}  // namespace

CompileResult compile_system(const CompileRequest& request) {
    CompileResult result;
    const std::string source = request.description.string();

    DeviceTreeBlob blob = load_device_tree(request.description);
    if (blob.outcome == LoadOutcome::IoError) return fail(std::move(result), ExitStatus::UsageOrIo, blob.error);
    if (blob.outcome == LoadOutcome::SyntaxError) return fail(std::move(result), ExitStatus::Invalid, blob.error);

    std::optional<SystemDescription> system = parse_description(blob.bytes, result.diagnostics);
    if (!system) return fail_invalid(std::move(result), source);
    validate_system(*system, result.diagnostics);

    // Images are checked only for partitions without other findings: an image cannot fit
    // memory that is itself wrong, and a second message about it would only be noise.
    // A Linux partition's kernel, device tree and initramfs become the segments of one image,
    // and its x0 the device tree's IPA (the description may not set boot-arg for it, rule LX4).
    std::vector<ElfImage> images;
    if (result.diagnostics.empty()) {
        for (Partition& partition : system->partitions) {
            if (partition.is_linux()) {
                if (auto guest = load_linux_guest(partition, request.image_dirs, result.diagnostics,
                                                  virtio_devices_of(*system, partition))) {
                    partition.boot_arg = guest->layout.device_tree_ipa;
                    result.guest_device_trees.emplace_back(partition.name, std::move(guest->device_tree));
                    images.push_back(std::move(guest->image));
                }
            } else if (auto image = load_guest_image(partition, request.image_dirs, result.diagnostics)) {
                images.push_back(std::move(*image));
            }
        }
    }
    if (!result.diagnostics.empty()) return fail_invalid(std::move(result), source);

    result.manifest = build_manifest(*system, images);
    result.qemu_args = qemu_arguments(*system);
    check_manifest_limits(result.manifest, result.diagnostics);
    if (!result.diagnostics.empty()) return fail_invalid(std::move(result), source);
    if (std::string broken = self_check_manifest(result.manifest.bytes); !broken.empty()) {
        return fail(std::move(result), ExitStatus::Invalid, source + ": internal error: packed manifest " + broken);
    }

    if (!request.kernel) return result;
    const std::string kernel_name = request.kernel->string();
    auto kernel_bytes = read_file_bytes(*request.kernel);
    if (!kernel_bytes) return fail(std::move(result), ExitStatus::UsageOrIo, kernel_name + ": cannot read the kernel");
    ElfParse kernel = parse_aarch64_elf(std::move(*kernel_bytes));
    if (!kernel.image) {
        return fail(std::move(result), ExitStatus::Invalid,
                    kernel_name + ": not an AArch64 ELF64 executable: " + kernel.error);
    }
    if (std::string broken = check_kernel_image(*kernel.image); !broken.empty()) {
        return fail(std::move(result), ExitStatus::Invalid, kernel_name + ": " + broken);
    }
    result.boot_image = write_boot_image(*kernel.image, result.manifest.bytes);
    return result;
}

}  // namespace bhcc
