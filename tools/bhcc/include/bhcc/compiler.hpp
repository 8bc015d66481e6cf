// The whole of bhcc behind one call, so the command line and the tests drive the same path.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/manifest_builder.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bhcc {

enum class ExitStatus : int { Ok = 0, Invalid = 1, UsageOrIo = 2 };

struct CompileRequest {
    std::filesystem::path description;           // .dts (compiled with dtc) or .dtb
    std::vector<std::filesystem::path> image_dirs;  // guest files are looked up here, in order
    std::optional<std::filesystem::path> kernel;  // absent: validate and pack, no boot image
};

struct CompileResult {
    ExitStatus status = ExitStatus::Ok;
    Diagnostics diagnostics;  // validation findings (status Invalid)
    std::string errors;       // every problem, formatted for stderr, one per line
    PackedManifest manifest;
    std::vector<u8> boot_image;  // only when a kernel was given and everything passed
    std::vector<std::string> qemu_args;  // the devices the description plugs in (pci_layout.hpp)
    // The generated device tree of each Linux partition (partition name, blob), in document order.
    std::vector<std::pair<std::string, std::vector<u8>>> guest_device_trees;
};

[[nodiscard]] CompileResult compile_system(const CompileRequest& request);

}  // namespace bhcc
