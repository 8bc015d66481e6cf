// A watermark allocator over one physical range: a partition's stage-2 table pool (the rest of
// its Partition object) is one, so the kernel has no heap and the table memory a partition can
// make the kernel consume is bounded by the object its owner paid for. Like an Untyped:
//   * a single watermark that only moves up: pieces are never freed individually; the whole
//     range is reclaimed at once (revoke/reset) by whoever owns it;
//   * every piece is naturally aligned as asked and zeroed before it is handed out, so no
//     object ever starts with stale contents from a previous owner.
#pragma once

#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

namespace bh {

class ObjectMemory {
public:
    // [base, base + size) must be page aligned, non-empty, non-wrapping and reachable through
    // arch::phys_to_virt (OutOfRange otherwise). An ObjectMemory is initialised once: a second
    // init is refused with Exists, because silently resetting the watermark would hand out
    // memory that live objects still use.
    Status init(PhysAddr base, u64 size);

    // A zeroed piece of `size` bytes aligned to `alignment` (a power of two, at least 8).
    // NoMemory when it does not fit; a refusal changes nothing. Alignment padding below the
    // piece is skipped and lost, like seL4's retype.
    Result<PhysAddr> allocate(u64 size, u64 alignment);

    // Bytes left above the watermark. With an alignment, the bytes left once the watermark is
    // rounded up to it: what a caller can count on when it plans several allocations of that
    // alignment (e.g. page tables) before making them.
    u64 available(u64 alignment = 1) const;

    PhysAddr base() const { return base_; }
    u64 size() const { return size_; }
    u64 used() const { return used_; }
    bool initialized() const { return size_ != 0; }

private:
    PhysAddr base_{};
    u64 size_ = 0;
    u64 used_ = 0;  // watermark, relative to base_
};

}  // namespace bh
