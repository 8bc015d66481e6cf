// Emits the boot manifest (bulkhead/manifest.hpp) for a validated system: the op program, the
// guest images after it, total size and checksum.
#pragma once

#include <bhcc/elf_image.hpp>
#include <bhcc/system_description.hpp>

#include <bulkhead/manifest.hpp>

#include <vector>

namespace bhcc {

struct PackedManifest {
    std::vector<bh::manifest::ManifestOp> ops;
    std::vector<u8> bytes;  // header | ops | images, exactly as placed at kPayloadBase
};

// `images[i]` is the guest image of `system.partitions[i]`. The caller must have validated both;
// the op and size limits are checked afterwards by check_manifest_limits.
[[nodiscard]] PackedManifest build_manifest(const SystemDescription& system,
                                            const std::vector<ElfImage>& images);

}  // namespace bhcc
