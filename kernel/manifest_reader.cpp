#include "manifest_reader.hpp"

#include <bulkhead/platform.hpp>

#include "lib/crc32.hpp"

namespace bh {

using namespace manifest;

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
    for (unsigned i = 0; i < kMaxPartitions; ++i) vcpu_count_[i] = bound_[i] = started_[i] = 0;
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
        case OpKind::CreatePartition: {
            if (partition_count_ >= kMaxPartitions) return fail(Status::OutOfRange, "too many partitions", at);
            if (op.partition != partition_count_)
                return fail(Status::Corrupt, "partition index out of creation order", at);
            unsigned length = 0;
            while (length < kNameLength && op.name[length] != '\0') ++length;
            if (length == kNameLength) return fail(Status::Corrupt, "partition name not NUL-terminated", at);
            if (length == 0) return fail(Status::InvalidArgument, "empty partition name", at);
            if (op.arg[0] != static_cast<u64>(RestartPolicy::Stop) &&
                op.arg[0] != static_cast<u64>(RestartPolicy::Restart))
                return fail(Status::InvalidArgument, "unknown restart policy", at);
            if (op.arg[1] < 1 || op.arg[1] > kMaxVcpusPerPartition)
                return fail(Status::OutOfRange, "vcpu count out of range", at);
            vcpu_count_[partition_count_] = static_cast<u8>(op.arg[1]);
            ++partition_count_;
            return Status::Ok;
        }
        case OpKind::Seal:
            // Nothing can follow the seal, so "exactly once" and "last" are one check.
            if (index + 1 != header_.op_count) return fail(Status::Corrupt, "seal is not the last op", at);
            sealed_ = true;
            return Status::Ok;
        case OpKind::MapMemory:
        case OpKind::LoadImage:
        case OpKind::BindCore:
        case OpKind::StartVcpu:
            break;
        default:
            return fail(Status::NotSupported, "unknown op kind", at);
    }

    if (op.partition >= partition_count_)
        return fail(Status::NotFound, "op refers to a partition not yet created", at);
    const u32 p = op.partition;

    switch (op.kind) {
        case OpKind::MapMemory: {
            const u64 attrs = op.arg[3];
            if ((attrs & ~attr::kAll) != 0) return fail(Status::InvalidArgument, "unknown memory attribute bits", at);
            if ((attrs & (attr::kRead | attr::kWrite)) == 0)
                return fail(Status::InvalidArgument, "mapping neither readable nor writable", at);
            if ((attrs & attr::kDevice) && (attrs & attr::kExecute))
                return fail(Status::InvalidArgument, "executable device mapping", at);
            if (!is_aligned(op.arg[0] | op.arg[1] | op.arg[2], kPageSize))
                return fail(Status::Misaligned, "mapping not page aligned", at);
            if (!range_valid(op.arg[0], op.arg[2]) || !range_valid(op.arg[1], op.arg[2]))
                return fail(Status::OutOfRange, "mapping size zero or wrapping", at);
            return Status::Ok;
        }
        case OpKind::LoadImage: {
            const u64 ops_end = static_cast<u64>(header_.ops_offset) +
                                static_cast<u64>(header_.op_count) * sizeof(ManifestOp);
            const u64 offset = op.arg[1];
            const u64 size = op.arg[2];
            if (size == 0) return fail(Status::InvalidArgument, "empty image", at);
            if (!range_inside(offset, size, ops_end, header_.total_size - ops_end))
                return fail(Status::OutOfRange, "image outside the manifest's image area", at);
            if (!range_valid(op.arg[0], size))
                return fail(Status::OutOfRange, "image destination wraps", at);
            return Status::Ok;
        }
        case OpKind::BindCore: {
            if (op.arg[0] >= vcpu_count_[p]) return fail(Status::OutOfRange, "vcpu index out of range", at);
            if (op.arg[1] >= platform::kMaxCores) return fail(Status::OutOfRange, "physical core out of range", at);
            const u8 bit = static_cast<u8>(1u << op.arg[0]);
            if (bound_[p] & bit) return fail(Status::Exists, "vcpu bound twice", at);
            bound_[p] |= bit;
            return Status::Ok;
        }
        case OpKind::StartVcpu: {
            if (op.arg[0] >= vcpu_count_[p]) return fail(Status::OutOfRange, "vcpu index out of range", at);
            const u8 bit = static_cast<u8>(1u << op.arg[0]);
            if (!(bound_[p] & bit)) return fail(Status::InvalidArgument, "vcpu started before it is bound to a core", at);
            if (started_[p] & bit) return fail(Status::Exists, "vcpu started twice", at);
            started_[p] |= bit;
            return Status::Ok;
        }
        default:
            return fail(Status::NotSupported, "unknown op kind", at);
    }
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
    if (op.arg[2] == 0 || !range_inside(op.arg[1], op.arg[2], ops_end, header_.total_size - ops_end))
        return nullptr;  // not an op this reader validated
    return data_ + op.arg[1];
}

}  // namespace bh
