// Kernel objects as the ABI names them: object type numbers (Retype's type argument, what
// CapIdentify reports), their sizes, the rights bits of capabilities, and the layout of a
// Partition object that decides how many stage-2 tables it can hold. Shared by the kernel
// (kernel/caps/capability.hpp, rights.hpp, untyped.hpp include this header: one definition),
// the config compiler and guests. docs/capabilities.md explains each type and right.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

// Values are ABI: append only, never renumber. Null is 0 so that zeroed memory is a CNode
// full of empty slots.
enum class ObjectType : u8 {
    Null = 0,
    Untyped = 1,
    CNode = 2,
    Partition = 3,
    Vcpu = 4,
    Frame = 5,
    DeviceMmio = 6,
    IrqHandler = 7,
    Notification = 8,
    Channel = 9,
    DmaStream = 10,
    AuditLog = 11,  // the kernel's security audit log (kernel/audit/): names no memory
};
inline constexpr u8 kObjectTypeCount = 12;
static_assert(sizeof(ObjectType) == 1);
static_assert(static_cast<u8>(ObjectType::Null) == 0 && static_cast<u8>(ObjectType::Untyped) == 1 &&
              static_cast<u8>(ObjectType::CNode) == 2 && static_cast<u8>(ObjectType::Partition) == 3 &&
              static_cast<u8>(ObjectType::Vcpu) == 4 && static_cast<u8>(ObjectType::Frame) == 5 &&
              static_cast<u8>(ObjectType::DeviceMmio) == 6 && static_cast<u8>(ObjectType::IrqHandler) == 7 &&
              static_cast<u8>(ObjectType::Notification) == 8 && static_cast<u8>(ObjectType::Channel) == 9 &&
              static_cast<u8>(ObjectType::DmaStream) == 10 && static_cast<u8>(ObjectType::AuditLog) == 11 &&
              kObjectTypeCount == 12);

constexpr bool object_type_valid(u8 raw) { return raw < kObjectTypeCount; }

// Rights bits of a capability (hypercall rights masks, GrantCap's mask): never renumber.
namespace rights {
inline constexpr u8 kRead = 1u << 0;
inline constexpr u8 kWrite = 1u << 1;
inline constexpr u8 kExecute = 1u << 2;
inline constexpr u8 kGrant = 1u << 3;    // may derive copies/mints of this cap
inline constexpr u8 kControl = 1u << 4;  // may stop/restart/configure the object
inline constexpr u8 kAllBits = kRead | kWrite | kExecute | kGrant | kControl;
}  // namespace rights
static_assert(rights::kRead == 1 && rights::kWrite == 2 && rights::kExecute == 4 && rights::kGrant == 8 &&
              rights::kControl == 16 && rights::kAllBits == 0x1f);

namespace caps {

// ---- Sizes (log2 bytes) ---------------------------------------------------------------------
// Every object that occupies memory occupies at least one whole 4 KiB page, naturally aligned,
// so that memory exclusivity (invariant 1) can be stated and checked per page.
inline constexpr unsigned kMinObjectBits = 12;
inline constexpr unsigned kMaxUntypedBits = 48;  // physical addresses are below 2^48
inline constexpr unsigned kMinCNodeRadix = 1;
inline constexpr unsigned kMaxCNodeRadix = 12;
inline constexpr unsigned kCapSlotBits = 6;  // sizeof(CapSlot) == 64, asserted in cap_slot.hpp
inline constexpr unsigned kMinPartitionBits = 14;  // the Partition object embeds its stage-2 pool
inline constexpr unsigned kMaxPartitionBits = 20;
inline constexpr unsigned kMinChannelBits = 12;    // a channel's shared region: 4 KiB .. 2 MiB
inline constexpr unsigned kMaxChannelBits = 21;
// Fixed-size objects (retype takes size_bits 0 for them); vcpu.hpp and notification.hpp
// static_assert that each object fits.
inline constexpr unsigned kVcpuBits = 12;
inline constexpr unsigned kNotificationBits = 12;
inline constexpr u32 kMaxRetypeCount = 256;

// Frame and DeviceMmio come in the stage-2 leaf sizes the kernel maps with: 4 KiB and 2 MiB.
constexpr bool page_size_bits(unsigned bits) { return bits == 12 || bits == 21; }

// The log2 size in bytes of the memory an object of `type` occupies, given the cap's
// size_bits (for CNode: the radix). 0 for types that name no memory (IrqHandler, DmaStream,
// AuditLog).
constexpr unsigned object_bits(ObjectType type, unsigned size_bits) {
    switch (type) {
        case ObjectType::CNode:
            return size_bits + kCapSlotBits < kMinObjectBits ? kMinObjectBits : size_bits + kCapSlotBits;
        case ObjectType::Untyped:
        case ObjectType::Partition:
        case ObjectType::Vcpu:
        case ObjectType::Frame:
        case ObjectType::DeviceMmio:
        case ObjectType::Notification:
        case ObjectType::Channel:
            return size_bits;
        case ObjectType::Null:
        case ObjectType::IrqHandler:
        case ObjectType::DmaStream:
        case ObjectType::AuditLog:
            break;
    }
    return 0;
}
static_assert(object_bits(ObjectType::CNode, 1) == 12 && object_bits(ObjectType::CNode, 6) == 12 &&
              object_bits(ObjectType::CNode, 7) == 13 && object_bits(ObjectType::CNode, 12) == 18);

// The size_bits the caps Retype makes carry, given its size_bits argument.
constexpr unsigned retype_cap_bits(ObjectType type, unsigned size_bits) {
    if (type == ObjectType::Vcpu) return kVcpuBits;
    if (type == ObjectType::Notification) return kNotificationBits;
    return size_bits;
}

// ---- The Partition object ------------------------------------------------------------------
// Its first kPartitionRecordPages pages hold the kernel's record of the partition; the rest is
// the pool its stage-2 tables come from, never refilled: the root (two concatenated level-1
// tables, kStage2RootBytes, aligned to their size), then one page per table as mappings need
// them: a level-2 table per 1 GiB of IPA space (2^kStage2Level2SpanBits) that holds any mapping,
// and a level-3 table per 2 MiB (2^kStage2Level3SpanBits) that holds a 4 KiB page. A map that
// needs more tables than are left is refused (NoMemory). The kernel's Partition and Stage2Table
// static_assert these numbers.
inline constexpr u64 kPartitionRecordPages = 1;
inline constexpr u64 kStage2RootBytes = 8192;
inline constexpr unsigned kStage2Level2SpanBits = 30;
inline constexpr unsigned kStage2Level3SpanBits = 21;

// Table pages (levels 2 and 3) a Partition object of 2^size_bits bytes holds besides its root.
constexpr u64 partition_table_pages(unsigned size_bits) {
    const u64 pages = (1ull << size_bits) / kPageSize;
    const u64 root_pages = kStage2RootBytes / kPageSize;
    // The object is aligned to its size, so the root's alignment skips the pages up to the next
    // multiple of root_pages after the record.
    const u64 root_at = (kPartitionRecordPages + root_pages - 1) / root_pages * root_pages;
    return pages > root_at + root_pages ? pages - root_at - root_pages : 0;
}
static_assert(partition_table_pages(16) == 12 && partition_table_pages(14) == 0 &&
              partition_table_pages(20) == 252);

}  // namespace caps
}  // namespace bh
