#include <bhcc/manifest_check.hpp>

#include <bulkhead/manifest_validation.hpp>
#include <bulkhead/platform.hpp>

#include <cstring>

namespace bhcc {

namespace manifest = bh::manifest;

void check_manifest_limits(const PackedManifest& packed, Diagnostics& diagnostics) {
    if (packed.ops.size() > manifest::kMaxOps) {
        diagnostics.error("/", "the manifest needs " + std::to_string(packed.ops.size()) + " operations, at most " +
                                   std::to_string(manifest::kMaxOps));
    }
    std::size_t untyped = 0;
    for (const manifest::ManifestOp& op : packed.ops) untyped += op.kind == manifest::OpKind::CreateUntyped ? 1 : 0;
    if (untyped > manifest::kMaxUntypedRegions) {
        diagnostics.error("/", "the system needs " + std::to_string(untyped) + " untyped regions, at most " +
                                   std::to_string(manifest::kMaxUntypedRegions) +
                                   " (one per power-of-two block of a region or device, one per channel)");
    }
    if (packed.boot_slots_needed > manifest::kBootSlots) {
        diagnostics.error("/", "system needs more than " + std::to_string(manifest::kBootSlots) + " boot slots");
    }
    if (packed.bytes.size() > bh::platform::kPayloadMaxSize) {
        diagnostics.error("/", "the payload (manifest and images) is " + std::to_string(packed.bytes.size()) +
                                   " bytes, at most " + std::to_string(bh::platform::kPayloadMaxSize));
    }
}

// The kernel's own reader decides, so bhcc and the kernel share one definition of "valid".
std::string self_check_manifest(std::span<const u8> bytes) {
    const bh::ManifestError error = bh::validate_manifest(bytes.data(), bytes.size());
    if (bh::ok(error.status)) {
        manifest::ManifestHeader header;
        std::memcpy(&header, bytes.data(), sizeof header);  // accepted: at least a header
        if (header.total_size == bytes.size()) return {};
        return "has total_size " + std::to_string(header.total_size) + " but " + std::to_string(bytes.size()) +
               " bytes";
    }
    std::string text = std::string("refused by ManifestReader: ") + error.reason;
    if (error.op_index >= 0) text += " (op " + std::to_string(error.op_index) + ")";
    return text;
}

}  // namespace bhcc
