// Emits the boot manifest v2 (bulkhead/manifest.hpp) for a validated system: the program of
// capability operations, the guest images after it, total size and checksum. The program and
// the boot-slot and CSpace conventions are described in docs/system-description.md.
#pragma once

#include <bhcc/elf_image.hpp>
#include <bhcc/system_description.hpp>

#include <bulkhead/manifest.hpp>

#include <vector>

namespace bhcc {

struct PackedManifest {
    std::vector<bh::manifest::ManifestOp> ops;
    std::vector<u8> bytes;  // header | ops | images, exactly as placed at kPayloadBase
    // One past the highest boot slot the program uses (slots are allocated sequentially from
    // manifest::kFirstFreeBootSlot); more than manifest::kBootSlots means the program cannot run.
    u64 boot_slots_needed = bh::manifest::kFirstFreeBootSlot;
};

// `images[i]` is the guest image of `system.partitions[i]`. The caller must have validated both;
// the op, boot-slot and size limits are checked afterwards by check_manifest_limits.
[[nodiscard]] PackedManifest build_manifest(const SystemDescription& system,
                                            const std::vector<ElfImage>& images);

}  // namespace bhcc
