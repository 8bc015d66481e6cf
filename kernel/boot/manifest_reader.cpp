#include <boot/manifest_reader.hpp>

#include <bulkhead/platform.hpp>

#include "caps/capability.hpp"
#include <bulkhead/crc32.hpp>

namespace bh {

using namespace manifest;

namespace {

// Boot slots an op may name as its `slot` (destination or source): everything but slot 0
// (never used) and kKernelUntypedSlot (installed by the kernel, never overwritten or granted).
constexpr bool program_slot(u64 slot) { return slot >= kFirstFreeBootSlot && slot < kBootSlots; }
// A partition argument: any boot slot but 0. Whether it holds a Partition cap (slot 1 never
// does) is the kernel's check when it executes the op.
constexpr bool partition_slot(u64 slot) { return slot >= 1 && slot < kBootSlots; }

constexpr u64 kPhysLimit = 1ull << caps::kMaxUntypedBits;
constexpr u64 kCSpaceIndexLimit = 1ull << caps::kMaxCNodeRadix;

}  // namespace

Status ManifestReader::fail(Status status, const char* reason, int op_index) {
    error_ = ManifestError{status, reason, op_index};
    data_ = nullptr;
    return status;
}

Status ManifestReader::open(const void* data, usize available) {
    data_ = nullptr;
    candidate_ = static_cast<const u8*>(data);
    header_ = ManifestHeader{};
    partition_count_ = 0;
    for (unsigned i = 0; i < kMaxPartitions; ++i) vcpu_count_[i] = 0;
    console_input_ = false;
    sealed_ = false;

    if (data == nullptr) return fail(Status::InvalidArgument, "no manifest buffer", -1);
    Status s = check_header(available);
    if (!ok(s)) return s;
    for (u32 i = 0; i < header_.op_count; ++i) {
        ManifestOp op;
        __builtin_memcpy(&op, candidate_ + header_.ops_offset + static_cast<u64>(i) * sizeof(op),
                         sizeof(op));
        s = check_op(op, i);
        if (!ok(s)) return s;
    }
    if (!sealed_) return fail(Status::Corrupt, "manifest does not end with a seal op", -1);
    data_ = candidate_;
    error_ = ManifestError{Status::Ok, "ok", -1};
    return Status::Ok;
}

Status ManifestReader::check_header(usize available) {
    if (available < sizeof(ManifestHeader))
        return fail(Status::OutOfRange, "buffer smaller than the manifest header", -1);
    // Copy once, validate the copy: the fields are never re-read from the buffer.
    __builtin_memcpy(&header_, candidate_, sizeof(header_));
    const ManifestHeader& h = header_;
    if (h.magic != kMagic) return fail(Status::Corrupt, "bad magic", -1);
    if (h.version != kVersion) return fail(Status::NotSupported, "unsupported manifest version", -1);
    if (h.op_size != sizeof(ManifestOp)) return fail(Status::NotSupported, "unexpected op size", -1);
    if (h.total_size < sizeof(ManifestHeader))
        return fail(Status::Corrupt, "total size smaller than the header", -1);
    if (h.total_size > available)
        return fail(Status::OutOfRange, "total size exceeds the buffer", -1);
    if (h.total_size > platform::kPayloadMaxSize)
        return fail(Status::OutOfRange, "total size exceeds the payload region", -1);
    // Checksum before the layout: a corrupted manifest is reported as corrupted, not as
    // whichever field the corruption happened to hit.
    if (crc32(candidate_ + kChecksumStart, h.total_size - kChecksumStart) != h.checksum)
        return fail(Status::Corrupt, "checksum mismatch", -1);
    if (h.op_count == 0) return fail(Status::Corrupt, "manifest has no ops", -1);
    if (h.op_count > kMaxOps) return fail(Status::OutOfRange, "too many ops", -1);
    if (h.ops_offset < sizeof(ManifestHeader))
        return fail(Status::Corrupt, "ops overlap the header", -1);
    // 64-bit arithmetic: both terms are below 2^32 * 2^7, far from overflowing.
    const u64 ops_end = static_cast<u64>(h.ops_offset) + static_cast<u64>(h.op_count) * sizeof(ManifestOp);
    if (ops_end > h.total_size) return fail(Status::OutOfRange, "ops extend past the total size", -1);
    if (!is_aligned(h.ram_base, kPageSize) || !is_aligned(h.ram_size, kPageSize) ||
        !range_valid(h.ram_base, h.ram_size))
        return fail(Status::Corrupt, "invalid RAM range", -1);
    return Status::Ok;
}

Status ManifestReader::check_op(const ManifestOp& op, u32 index) {
    const int at = static_cast<int>(index);

    switch (op.kind) {
        case OpKind::CreateUntyped: {
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            const u64 pa = op.arg[0];
            const u64 bits = op.arg[1];
            if (bits < caps::kMinObjectBits || bits > caps::kMaxUntypedBits)
                return fail(Status::OutOfRange, "untyped size out of range", at);
            if (!is_aligned(pa, 1ull << bits)) return fail(Status::Misaligned, "untyped not aligned to its size", at);
            // Aligned to its size and below 2^48: the whole range is below 2^48.
            if (pa >= kPhysLimit) return fail(Status::OutOfRange, "untyped beyond the physical address space", at);
            if (op.arg[2] != 0 && op.arg[2] != kUntypedDevice)
                return fail(Status::InvalidArgument, "unknown untyped flags", at);
            return Status::Ok;
        }
        case OpKind::Retype: {
            // The source may be the kernel's own untyped (partition objects and CNodes).
            if (op.slot != kKernelUntypedSlot && !program_slot(op.slot))
                return fail(Status::OutOfRange, "boot slot out of range", at);
            const u64 type = op.arg[0];
            if (type < static_cast<u64>(ObjectType::Untyped) || type >= kObjectTypeCount)
                return fail(Status::InvalidArgument, "unknown object type", at);
            const u64 first = op.arg[2];
            const u64 count = op.arg[3];
            if (count < 1 || count > caps::kMaxRetypeCount)
                return fail(Status::OutOfRange, "retype count out of range", at);
            // count <= 256: first + count cannot wrap once first is known to be a boot slot.
            if (!program_slot(first) || first + count > kBootSlots)
                return fail(Status::OutOfRange, "retype destination out of range", at);
            return Status::Ok;
        }
        case OpKind::CreatePartition: {
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            if (!program_slot(op.arg[0])) return fail(Status::OutOfRange, "CNode slot out of range", at);
            if (partition_count_ >= kMaxPartitions) return fail(Status::OutOfRange, "too many partitions", at);
            unsigned length = 0;
            while (length < kNameLength && op.name[length] != '\0') ++length;
            if (length == kNameLength) return fail(Status::Corrupt, "partition name not NUL-terminated", at);
            if (length == 0) return fail(Status::InvalidArgument, "empty partition name", at);
            if (op.arg[1] != static_cast<u64>(RestartPolicy::Stop) &&
                op.arg[1] != static_cast<u64>(RestartPolicy::Restart))
                return fail(Status::InvalidArgument, "unknown restart policy", at);
            if (op.arg[2] < 1 || op.arg[2] > kMaxVcpusPerPartition)
                return fail(Status::OutOfRange, "vcpu count out of range", at);
            const u64 flags = op.arg[3];
            if ((flags & ~partition_flag::kAll) != 0) return fail(Status::InvalidArgument, "unknown partition flags", at);
            if ((flags & partition_flag::kConsoleInput) != 0) {
                if ((flags & partition_flag::kVirtualUart) == 0)
                    return fail(Status::InvalidArgument, "console input without a virtual UART", at);
                if (console_input_) return fail(Status::Exists, "console input given to two partitions", at);
                console_input_ = true;
            }
            vcpu_count_[partition_count_] = static_cast<u8>(op.arg[2]);
            ++partition_count_;
            return Status::Ok;
        }
        case OpKind::MapFrame: {
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            const u64 attrs = op.arg[2];
            if (attrs & attr::kDevice)
                return fail(Status::InvalidArgument, "device attribute in the manifest (the kernel sets it)", at);
            if ((attrs & ~(attr::kRead | attr::kWrite | attr::kExecute)) != 0)
                return fail(Status::InvalidArgument, "unknown memory attribute bits", at);
            if (attrs == 0) return fail(Status::InvalidArgument, "mapping without access", at);
            return Status::Ok;
        }
        case OpKind::GrantCap: {
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            if (op.arg[1] == 0 || op.arg[1] >= kCSpaceIndexLimit)
                return fail(Status::OutOfRange, "CSpace index out of range", at);
            if ((op.arg[2] & ~static_cast<u64>(Rights::kAllBits)) != 0)
                return fail(Status::InvalidArgument, "unknown rights bits", at);
            // arg3 is the badge: any value; whether the cap may carry it is the kernel's check.
            return Status::Ok;
        }
        case OpKind::DeclareFlow:
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            if (!partition_slot(op.arg[1]))
                return fail(Status::OutOfRange, "destination partition slot out of range", at);
            if (op.arg[2] != static_cast<u64>(FlowKind::Memory) && op.arg[2] != static_cast<u64>(FlowKind::Signal) &&
                op.arg[2] != static_cast<u64>(FlowKind::Audit))
                return fail(Status::InvalidArgument, "unknown flow kind", at);
            return Status::Ok;
        case OpKind::LoadImage: {
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            const u64 ops_end = static_cast<u64>(header_.ops_offset) +
                                static_cast<u64>(header_.op_count) * sizeof(ManifestOp);
            const u64 offset = op.arg[2];
            const u64 size = op.arg[3];
            if (size == 0) return fail(Status::InvalidArgument, "empty image", at);
            if (!range_inside(offset, size, ops_end, header_.total_size - ops_end))
                return fail(Status::OutOfRange, "image outside the manifest's image area", at);
            if (!range_valid(op.arg[1], size))
                return fail(Status::OutOfRange, "image destination wraps", at);
            return Status::Ok;
        }
        case OpKind::BindVcpu:
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            if (op.arg[1] >= kMaxVcpusPerPartition) return fail(Status::OutOfRange, "vcpu index out of range", at);
            if (op.arg[2] >= platform::kMaxCores) return fail(Status::OutOfRange, "physical core out of range", at);
            return Status::Ok;
        case OpKind::StartVcpu:
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            if (op.arg[1] >= kMaxVcpusPerPartition) return fail(Status::OutOfRange, "vcpu index out of range", at);
            return Status::Ok;
        case OpKind::CreateIrqHandler:
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            if (platform::assignable_spi(op.arg[0]) == nullptr)
                return fail(Status::InvalidArgument, "interrupt not assignable to partitions", at);
            return Status::Ok;
        case OpKind::CreateAuditLog:
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            return Status::Ok;
        case OpKind::AssignPciFunction:
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            if (op.arg[1] >= platform::kStreamCount) return fail(Status::OutOfRange, "not a function of bus 0", at);
            if (op.arg[2] > 0xffff'ffffull) return fail(Status::InvalidArgument, "identity wider than 32 bits", at);
            return Status::Ok;
        case OpKind::PlacePciBar:
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            if (op.arg[1] >= platform::kStreamCount) return fail(Status::OutOfRange, "not a function of bus 0", at);
            if (op.arg[2] >= 6) return fail(Status::OutOfRange, "BAR index out of range", at);
            if (op.arg[3] > 0xffff'ffffull) return fail(Status::OutOfRange, "BAR beyond the 32-bit window", at);
            return Status::Ok;
        case OpKind::ForwardMmio:
            if (!program_slot(op.slot)) return fail(Status::OutOfRange, "boot slot out of range", at);
            if (!partition_slot(op.arg[0])) return fail(Status::OutOfRange, "partition slot out of range", at);
            if (!program_slot(op.arg[2] >> 48)) return fail(Status::OutOfRange, "doorbell slot out of range", at);
            if (!partition_slot(op.arg[3] & 0xffff'ffff))
                return fail(Status::OutOfRange, "server partition slot out of range", at);
            if ((op.arg[3] >> 32) == 0) return fail(Status::InvalidArgument, "doorbell badge 0", at);
            return Status::Ok;
        case OpKind::Seal:
            // Nothing can follow the seal, so "exactly once" and "last" are one check.
            if (index + 1 != header_.op_count) return fail(Status::Corrupt, "seal is not the last op", at);
            sealed_ = true;
            return Status::Ok;
    }
    return fail(Status::NotSupported, "unknown op kind", at);
}

ManifestOp ManifestReader::op(u32 index) const {
    ManifestOp copy{};
    if (data_ == nullptr || index >= header_.op_count) return copy;  // kind 0: no valid op
    __builtin_memcpy(&copy, data_ + header_.ops_offset + static_cast<u64>(index) * sizeof(copy),
                     sizeof(copy));
    return copy;
}

const u8* ManifestReader::image(const ManifestOp& op) const {
    if (data_ == nullptr || op.kind != OpKind::LoadImage) return nullptr;
    const u64 ops_end = static_cast<u64>(header_.ops_offset) +
                        static_cast<u64>(header_.op_count) * sizeof(ManifestOp);
    if (op.arg[3] == 0 || !range_inside(op.arg[2], op.arg[3], ops_end, header_.total_size - ops_end))
        return nullptr;  // not an op this reader validated
    return data_ + op.arg[2];
}

}  // namespace bh
