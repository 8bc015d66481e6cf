// Fixed-width integers and opaque address types shared by the kernel, host tools and guests.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <compare>  // operator<=> below; a freestanding header in C++20

namespace bh {

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i64 = int64_t;
using usize = size_t;

inline constexpr u64 kPageSize = 4096;
inline constexpr u64 kPageShift = 12;

constexpr bool is_aligned(u64 value, u64 alignment) { return (value & (alignment - 1)) == 0; }
constexpr u64 align_down(u64 value, u64 alignment) { return value & ~(alignment - 1); }
constexpr u64 align_up(u64 value, u64 alignment) { return (value + alignment - 1) & ~(alignment - 1); }

// [base, base + size) without wrap-around; a zero-sized range is never valid.
constexpr bool range_valid(u64 base, u64 size) { return size != 0 && base + size > base; }
constexpr bool ranges_overlap(u64 a, u64 a_size, u64 b, u64 b_size) {
    return a < b + b_size && b < a + a_size;
}
constexpr bool range_inside(u64 inner, u64 inner_size, u64 outer, u64 outer_size) {
    return inner >= outer && inner_size <= outer_size && inner - outer <= outer_size - inner_size;
}

// Physical, intermediate-physical and virtual addresses are distinct types so that a guest
// address can never be used where the kernel expects a physical one without a translation.
template <typename Tag>
class Address {
public:
    constexpr Address() = default;
    constexpr explicit Address(u64 raw) : raw_(raw) {}
    constexpr u64 raw() const { return raw_; }
    constexpr Address operator+(u64 offset) const { return Address(raw_ + offset); }
    constexpr u64 operator-(Address other) const { return raw_ - other.raw_; }
    constexpr bool aligned(u64 alignment) const { return is_aligned(raw_, alignment); }
    constexpr auto operator<=>(const Address&) const = default;

private:
    u64 raw_ = 0;
};

using PhysAddr = Address<struct PhysTag>;
using Ipa = Address<struct IpaTag>;
using VirtAddr = Address<struct VirtTag>;

static_assert(sizeof(PhysAddr) == 8 && sizeof(Ipa) == 8);

}  // namespace bh
