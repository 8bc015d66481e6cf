// An image segment's way into a partition's memory, a piece at a time: each piece lies in one
// stage-2 leaf (one physical range, one set of attributes) and in one RAM region of the
// partition. That is what a walk page by page checked, for a whole block at once (a Linux
// partition's 34 MiB of images are 8,500 pages but 17 pieces): the boot checks a LoadImage
// this way, and every launch copies the image this way, through the partition's tables as they
// are then.
#pragma once

#include <partition/partition.hpp>

namespace bh {

enum class ImagePlacement { Ok, NotRam, Channel };

// Calls f(pa, offset, length) for the pieces of [ipa, ipa + size) in order (`offset` from
// `ipa`), and stops at the first part that is not the partition's RAM (unmapped, device memory,
// or in no RAM region: NotRam) or is a channel's memory (Channel). [ipa, ipa + size) must not
// wrap (range_valid).
template <class F>
[[nodiscard]] ImagePlacement for_each_image_piece(const Partition& p, Ipa ipa, u64 size, F&& f) {
    const u64 end = ipa.raw() + size;
    for (u64 at = ipa.raw(); at < end;) {
        auto t = p.stage2.translate(Ipa(at));
        if (!t.ok() || t.value().attrs.device()) return ImagePlacement::NotRam;
        const MemoryRegion* r = p.ram_region_containing(Ipa(at), 1);
        if (r == nullptr) return ImagePlacement::NotRam;
        if (r->channel) return ImagePlacement::Channel;
        const u64 block = t.value().block_size;
        u64 piece = block - (at & (block - 1));
        const u64 region_left = r->ipa.raw() + r->size - at;
        if (piece > region_left) piece = region_left;
        if (piece > end - at) piece = end - at;
        f(t.value().pa, at - ipa.raw(), piece);
        at += piece;
    }
    return ImagePlacement::Ok;
}

}  // namespace bh
