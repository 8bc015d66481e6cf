// Kernel object memory: a watermark allocator over one physical range. Stage-2 tables (and,
// later, every kernel object) come out of it, so the kernel has no heap and the memory a
// partition can make the kernel consume is bounded by the range it was given. It is shaped
// like an seL4 untyped object on purpose — it becomes one when capabilities land:
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
