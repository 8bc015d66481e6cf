// Capability rights: a small bit set that can only shrink when a capability is derived.
// docs/capabilities.md has the table of what each right means for each object type.
#pragma once

#include <bulkhead/objects.hpp>
#include <bulkhead/types.hpp>

namespace bh {

class Rights {
public:
    // Bit values are ABI (bulkhead/objects.hpp).
    static constexpr u8 kRead = rights::kRead;
    static constexpr u8 kWrite = rights::kWrite;
    static constexpr u8 kExecute = rights::kExecute;
    static constexpr u8 kGrant = rights::kGrant;
    static constexpr u8 kControl = rights::kControl;
    static constexpr u8 kAllBits = rights::kAllBits;

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
static_assert(subset(Rights::read(), Rights::read() | Rights::write()));
static_assert(!subset(Rights::read() | Rights::grant(), Rights::read()));
static_assert(subset(Rights::none(), Rights::none()));
static_assert(Rights::from_bits(0xFF).bits() == Rights::kAllBits);
static_assert((Rights::from_bits(0xFF) & Rights::read()) == Rights::read());

}  // namespace bh
