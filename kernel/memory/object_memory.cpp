#include <memory/object_memory.hpp>

#include "arch/arch.hpp"

namespace bh {
namespace {

constexpr bool is_power_of_two(u64 v) { return v != 0 && (v & (v - 1)) == 0; }

// Zero page by page through phys_to_virt rather than assuming the kernel's view of the range is
// one linear mapping: the arch layer only promises a translation per address.
bool zero_physical(PhysAddr pa, u64 size) {
    while (size != 0) {
        const u64 in_page = kPageSize - (pa.raw() & (kPageSize - 1));
        const u64 chunk = size < in_page ? size : in_page;
        void* p = arch::phys_to_virt(pa);
        if (p == nullptr) return false;
        __builtin_memset(p, 0, chunk);
        pa = pa + chunk;
        size -= chunk;
    }
    return true;
}

}  // namespace

Status ObjectMemory::init(PhysAddr base, u64 size) {
    if (initialized()) return Status::Exists;
    if (!base.aligned(kPageSize) || !is_aligned(size, kPageSize)) return Status::Misaligned;
    if (!range_valid(base.raw(), size)) return Status::OutOfRange;
    // Only the ends are probed: the arch layer backs RAM as one contiguous range, so a range
    // whose first and last page are reachable is reachable throughout.
    if (arch::phys_to_virt(base) == nullptr || arch::phys_to_virt(base + (size - 1)) == nullptr)
        return Status::OutOfRange;
    base_ = base;
    size_ = size;
    used_ = 0;
    return Status::Ok;
}

Result<PhysAddr> ObjectMemory::allocate(u64 size, u64 alignment) {
    if (!initialized()) return Status::InvalidArgument;
    if (size == 0 || !is_power_of_two(alignment) || alignment < 8) return Status::InvalidArgument;
    // Work in absolute addresses for the alignment (it is about the physical address, not the
    // offset), but compare only differences so that nothing can overflow.
    const u64 cursor = base_.raw() + used_;
    const u64 start = align_up(cursor, alignment);
    if (start < cursor) return Status::NoMemory;  // rounding up wrapped past 2^64
    const u64 offset = start - base_.raw();
    if (offset > size_ || size > size_ - offset) return Status::NoMemory;
    if (!zero_physical(PhysAddr(start), size)) return Status::OutOfRange;
    used_ = offset + size;
    return PhysAddr(start);
}

u64 ObjectMemory::available(u64 alignment) const {
    if (!initialized()) return 0;
    if (!is_power_of_two(alignment)) return 0;
    const u64 cursor = base_.raw() + used_;
    const u64 start = align_up(cursor, alignment);
    if (start < cursor) return 0;
    const u64 offset = start - base_.raw();
    return offset >= size_ ? 0 : size_ - offset;
}

}  // namespace bh
