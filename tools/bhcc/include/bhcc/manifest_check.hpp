// Checks on the packed manifest: the kernel's fixed limits (ops, payload size), and a
// re-read of the bytes as the kernel will see them, so bhcc never writes an image that the
// kernel would refuse at boot.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/manifest_builder.hpp>

#include <span>
#include <string>

namespace bhcc {

void check_manifest_limits(const PackedManifest& manifest, Diagnostics& diagnostics);

// Empty when the kernel's ManifestReader accepts the bytes; otherwise why not (a bhcc bug).
[[nodiscard]] std::string self_check_manifest(std::span<const u8> bytes);

}  // namespace bhcc
