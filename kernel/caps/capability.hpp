// A capability: the kernel's only way of naming an object. A plain 32-byte value; where it
// lives (a CapSlot in a CNode) and how it was derived (the CDT) are in cap_slot.hpp. Object
// types, their sizes and the rights bits are ABI (bulkhead/objects.hpp).
// docs/capabilities.md is the reference for every field and rule here.
#pragma once

#include <bulkhead/objects.hpp>
#include <bulkhead/types.hpp>
#include <lib/ids.hpp>

#include <type_traits>

#include "caps/rights.hpp"

namespace bh {

namespace caps {

// The size_bits a cap of `type` may carry (what retype accepts is narrower for some types: a
// fixed-size type is asked for with size_bits 0, see untyped.hpp).
constexpr bool cap_size_bits_valid(ObjectType type, unsigned bits) {
    switch (type) {
        case ObjectType::Untyped: return bits >= kMinObjectBits && bits <= kMaxUntypedBits;
        case ObjectType::CNode: return bits >= kMinCNodeRadix && bits <= kMaxCNodeRadix;
        case ObjectType::Partition: return bits >= kMinPartitionBits && bits <= kMaxPartitionBits;
        case ObjectType::Vcpu: return bits == kVcpuBits;
        case ObjectType::Frame:
        case ObjectType::DeviceMmio: return page_size_bits(bits);
        case ObjectType::Notification: return bits == kNotificationBits;
        case ObjectType::Channel: return bits >= kMinChannelBits && bits <= kMaxChannelBits;
        case ObjectType::Null:
        case ObjectType::IrqHandler:
        case ObjectType::DmaStream:
        case ObjectType::AuditLog: return bits == 0;
    }
    return false;
}

// All the rights a cap of this type can ever have: what retype (and boot) hand out. A right
// that means nothing for a type is never present, so "rights only shrink" is also "rights
// always make sense". Untyped has no Grant: untyped caps are never copied (one cap per
// untyped object, so one watermark), only moved or split by retyping a child Untyped.
constexpr Rights full_rights(ObjectType type) {
    const Rights r = Rights::read(), w = Rights::write(), x = Rights::execute(), g = Rights::grant(),
                 c = Rights::control();
    switch (type) {
        case ObjectType::Untyped: return w;                // W: retype
        case ObjectType::CNode: return r | w | g;          // R: look up through, W: change slots
        case ObjectType::Partition: return c | w | g;  // C: stop/restart, W: serve its forwarded MMIO
        case ObjectType::Vcpu: return c | g;
        case ObjectType::Frame: return r | w | x | g;
        case ObjectType::DeviceMmio: return r | w | g;     // device memory is never executable
        case ObjectType::IrqHandler: return c | g;
        case ObjectType::Notification: return r | w | g;   // R: wait, W: signal
        case ObjectType::Channel: return r | w | g;        // shared memory: read/write mappings
        case ObjectType::DmaStream: return c | g;
        case ObjectType::AuditLog: return r | g;           // R: AuditRead
        case ObjectType::Null: break;
    }
    return Rights::none();
}

// Types whose caps carry a mapping (mapped_partition / mapped_ipa).
constexpr bool mappable(ObjectType t) {
    return t == ObjectType::Frame || t == ObjectType::DeviceMmio || t == ObjectType::Channel;
}
// Types whose caps record where their object is in use, so that deleting the cap ends that use
// (ObjectHooks::unmap): a memory mapping, or a DMA stream's binding to a partition's stage 2
// (mapped_partition_plus1; mapped_ipa stays 0). A derived cap never carries one.
constexpr bool records_use(ObjectType t) { return mappable(t) || t == ObjectType::DmaStream; }
// Types whose caps may carry a badge (set once, by mint, on an unbadged cap).
constexpr bool badgeable(ObjectType t) { return t == ObjectType::Notification || t == ObjectType::Channel; }

}  // namespace caps

// The fields, per type (anything not listed must be zero):
//   type, rights          all types
//   object                memory types: physical base (aligned to the object's size);
//                         IrqHandler: the IRQ number (INTID); DmaStream: the SMMU stream ID;
//                         AuditLog: 0 (there is one log).
//                         (type, object, size_bits) identifies the object.
//   size_bits             Untyped/Frame/DeviceMmio/Channel/Partition/Vcpu/Notification: log2 of
//                         the object's size in bytes; CNode: the radix (2^radix slots).
//   flags                 Untyped: kFlagDevice (device memory: never zeroed, only DeviceMmio
//                         and Untyped may be retyped from it).
//   badge                 Notification/Channel: 0 = unbadged.
//   word32                Frame/DeviceMmio/Channel: the partition it is mapped in, as index + 1
//                         (0 = unmapped, so that a zeroed cap is unmapped); DmaStream: the
//                         partition it bound the stream to, the same way (0 = unbound).
//   word64                Untyped: watermark (offset of the first free byte);
//                         Frame/DeviceMmio/Channel: mapped_ipa.
// Zeroed memory is a Null cap.
struct Capability {
    static constexpr u8 kFlagDevice = 1u << 0;

    ObjectType type;
    Rights rights;
    u8 size_bits;
    u8 flags;
    u32 word32;
    u64 object;
    u64 badge;
    u64 word64;

    constexpr bool is_null() const { return type == ObjectType::Null; }

    // Untyped
    constexpr bool device() const { return (flags & kFlagDevice) != 0; }
    constexpr u64 watermark() const { return word64; }
    // Frame / DeviceMmio / Channel: each cap maps at most one place. DmaStream: the cap bound its
    // stream to a partition (mapped_ipa 0).
    constexpr PartitionId mapped_partition() const { return word32 != 0 ? PartitionId(word32 - 1) : PartitionId::none(); }
    constexpr u64 mapped_ipa() const { return word64; }
    constexpr bool mapped() const { return caps::records_use(type) && word32 != 0; }
    // PartitionId::none() (with ipa 0) unmaps.
    void set_mapping(PartitionId partition, u64 ipa) {
        word32 = partition.is_none() ? 0 : partition.raw() + 1;
        word64 = ipa;
    }
    // IrqHandler / DmaStream
    constexpr u32 irq() const { return static_cast<u32>(object); }
    constexpr u32 stream() const { return static_cast<u32>(object); }

    constexpr u64 object_size() const {
        const unsigned bits = caps::object_bits(type, size_bits);
        return bits == 0 ? 0 : 1ull << bits;
    }
};
static_assert(sizeof(Capability) == 32);
static_assert(std::is_trivial_v<Capability> && std::is_standard_layout_v<Capability>);

namespace caps {

// Same object: same type, base/number and size. Untyped caps are never copied, so two untyped
// caps never name the same untyped object even when a child untyped covers its parent exactly.
constexpr bool same_object(const Capability& a, const Capability& b) {
    return a.type == b.type && a.type != ObjectType::Untyped && a.type != ObjectType::Null &&
           a.object == b.object && a.size_bits == b.size_bits;
}

// Every field consistent with the type's rules above (what create_root accepts and what the
// CDT checker demands of every slot). Does not check that memory is reachable.
constexpr bool well_formed(const Capability& c) {
    if (!object_type_valid(static_cast<u8>(c.type))) return false;
    if (c.type == ObjectType::Null) {
        return c.rights.empty() && c.size_bits == 0 && c.flags == 0 && c.word32 == 0 && c.object == 0 &&
               c.badge == 0 && c.word64 == 0;
    }
    if (!subset(c.rights, full_rights(c.type))) return false;
    if (!cap_size_bits_valid(c.type, c.size_bits)) return false;
    if (c.flags != 0 && !(c.type == ObjectType::Untyped && c.flags == Capability::kFlagDevice)) return false;
    if (c.badge != 0 && !badgeable(c.type)) return false;
    const unsigned bits = object_bits(c.type, c.size_bits);
    if (bits != 0) {
        if (!is_aligned(c.object, 1ull << bits)) return false;
        // Physical addresses are below 2^48; with the alignment, so is the object's end.
        if ((c.object >> kMaxUntypedBits) != 0) return false;
    } else if (c.object > 0xFFFF'FFFFull) {
        return false;  // IRQ numbers and stream IDs are 32-bit
    }
    if (c.type == ObjectType::Untyped) return c.word32 == 0 && c.word64 <= (1ull << c.size_bits);
    if (mappable(c.type)) return c.word32 != 0 || c.word64 == 0;
    if (c.type == ObjectType::DmaStream) return c.word64 == 0;
    return c.word32 == 0 && c.word64 == 0;
}

}  // namespace caps
}  // namespace bh
