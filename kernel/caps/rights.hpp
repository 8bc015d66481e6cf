// Capability rights: a small bit set that can only shrink when a capability is derived.
// docs/capabilities.md has the table of what each right means for each object type.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

class Rights {
public:
    // Bit values are ABI (hypercall rights masks); never renumber.
    static constexpr u8 kRead = 1u << 0;
    static constexpr u8 kWrite = 1u << 1;
    static constexpr u8 kExecute = 1u << 2;
    static constexpr u8 kGrant = 1u << 3;    // may derive copies/mints of this cap
    static constexpr u8 kControl = 1u << 4;  // may stop/restart/configure the object
    static constexpr u8 kAllBits = kRead | kWrite | kExecute | kGrant | kControl;

    // A mask from the ABI: unknown bits are dropped, never kept (they could become rights
    // the day a new bit is defined).
    static constexpr Rights from_bits(u64 bits) { return Rights(static_cast<u8>(bits & kAllBits)); }
    static constexpr Rights none() { return Rights(0); }
    static constexpr Rights read() { return Rights(kRead); }
    static constexpr Rights write() { return Rights(kWrite); }
    static constexpr Rights execute() { return Rights(kExecute); }
    static constexpr Rights grant() { return Rights(kGrant); }
    static constexpr Rights control() { return Rights(kControl); }

    constexpr u8 bits() const { return bits_; }
    constexpr bool empty() const { return bits_ == 0; }
    // Every right in `r` is present.
    constexpr bool has(Rights r) const { return (bits_ & r.bits_) == r.bits_; }

    friend constexpr Rights operator|(Rights a, Rights b) { return Rights(a.bits_ | b.bits_); }
    friend constexpr Rights operator&(Rights a, Rights b) { return Rights(a.bits_ & b.bits_); }
    friend constexpr bool operator==(Rights a, Rights b) { return a.bits_ == b.bits_; }

    // Trivial, so that Capability stays a POD and zeroed memory reads as "no rights".
    Rights() = default;

private:
    constexpr explicit Rights(unsigned bits) : bits_(static_cast<u8>(bits & kAllBits)) {}
    u8 bits_;
};

// a ⊆ b: every right of a is also a right of b.
constexpr bool subset(Rights a, Rights b) { return (a.bits() & ~b.bits()) == 0; }

static_assert(sizeof(Rights) == 1);
static_assert(Rights::kRead == 1 && Rights::kWrite == 2 && Rights::kExecute == 4 && Rights::kGrant == 8 &&
              Rights::kControl == 16);
static_assert(subset(Rights::read(), Rights::read() | Rights::write()));
static_assert(!subset(Rights::read() | Rights::grant(), Rights::read()));
static_assert(subset(Rights::none(), Rights::none()));
static_assert(Rights::from_bits(0xFF).bits() == Rights::kAllBits);
static_assert((Rights::from_bits(0xFF) & Rights::read()) == Rights::read());

}  // namespace bh
