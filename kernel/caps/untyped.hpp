// Untyped memory and retype: the only way kernel objects (and frames) come into existence.
// There is no kernel heap: every object is carved from an Untyped cap's region at its
// watermark, so the memory a partition can make the kernel use is what its untyped caps hold.
#pragma once

#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

#include "caps/cap_slot.hpp"

namespace bh::caps {

// Types retype can create from a RAM untyped or a device untyped. IrqHandler and DmaStream
// name hardware, not memory, and AuditLog the kernel's log: their caps are created once, at boot (create_root), so that
// untyped memory can never mint authority over an interrupt or a DMA stream.
constexpr bool retype_type_allowed(ObjectType type, bool device_untyped) {
    switch (type) {
        case ObjectType::Untyped: return true;
        case ObjectType::DeviceMmio: return device_untyped;
        case ObjectType::CNode:
        case ObjectType::Partition:
        case ObjectType::Vcpu:
        case ObjectType::Frame:
        case ObjectType::Notification:
        case ObjectType::Channel: return !device_untyped;
        case ObjectType::Null:
        case ObjectType::IrqHandler:
        case ObjectType::DmaStream:
        case ObjectType::AuditLog: break;
    }
    return false;
}

// retype's size_bits argument: Untyped 12..source size_bits; CNode the radix 1..12; Partition
// 14..20; Frame/DeviceMmio 12 or 21; Channel 12..21; Vcpu and Notification are fixed-size and
// take 0 (the size is the kernel's business, not the caller's).
constexpr bool retype_size_valid(ObjectType type, unsigned size_bits, unsigned source_bits) {
    switch (type) {
        case ObjectType::Untyped: return size_bits >= kMinObjectBits && size_bits <= source_bits;
        case ObjectType::Vcpu:
        case ObjectType::Notification: return size_bits == 0;
        case ObjectType::CNode:
        case ObjectType::Partition:
        case ObjectType::Frame:
        case ObjectType::DeviceMmio:
        case ObjectType::Channel: return cap_size_bits_valid(type, size_bits);
        case ObjectType::Null:
        case ObjectType::IrqHandler:
        case ObjectType::DmaStream:
        case ObjectType::AuditLog: break;
    }
    return false;
}

// Creates `count` objects of `type` from the untyped cap in `untyped` and puts their caps, with
// full rights for the type, in slots first .. first + count - 1 of the CNode whose cap is in
// `dest_cnode`, as children of the untyped cap. Objects are carved at the watermark, each
// aligned to its own size; when the untyped cap has no children the watermark first goes back
// to 0 (everything made from it is gone). RAM objects are zeroed (device memory never is).
// Validates everything before changing anything:
//   NotFound         untyped or dest_cnode slot empty
//   InvalidArgument  untyped slot not Untyped, dest not a CNode, type not creatable from this
//                    untyped (retype_type_allowed), size_bits invalid (retype_size_valid),
//                    count not in 1..256
//   Denied           untyped cap without Write, dest CNode cap without Write
//   OutOfRange       slots outside the CNode, RAM not reachable through phys_to_virt
//   Exists           a destination slot is occupied
//   Misaligned       the untyped's base is not aligned to the object size (corrupt cap)
//   NoMemory         the objects do not all fit
//   (hook status)    ObjectHooks::create refused one object (see cap_slot.hpp for the order)
Status retype(CapSlot& untyped, ObjectType type, unsigned size_bits, CapSlot& dest_cnode, u64 first, u32 count,
              ObjectHooks& hooks, const CapLockHeld& held);

}  // namespace bh::caps
