// Turns the file named on the command line into a flattened device tree blob: a .dts is
// compiled by running `dtc` as a subprocess, a blob (FDT magic) is taken as it is.
#pragma once

#include <bulkhead/types.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace bhcc {

enum class LoadOutcome {
    Ok,
    SyntaxError,  // dtc refused the source: the description is wrong (exit status 1)
    IoError,      // the file cannot be read or dtc cannot be run (exit status 2)
};

struct DeviceTreeBlob {
    LoadOutcome outcome = LoadOutcome::Ok;
    std::vector<bh::u8> bytes;
    std::string error;  // complete message for SyntaxError and IoError
};

[[nodiscard]] DeviceTreeBlob load_device_tree(const std::filesystem::path& path);

}  // namespace bhcc
