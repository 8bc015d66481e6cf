// Decodes and validates a boot manifest (format v2: bulkhead/manifest.hpp) as a whole before
// the kernel executes any of it. Validation is structural: every op kind is known, every boot
// slot, CSpace index, size, count, attribute and rights mask is in range, the images lie inside
// the payload, the program ends with exactly one Seal, the checksum holds. Whether an op is
// *allowed* and *meaningful* (the slot holds a cap of the right type with the right rights,
// memory exclusivity, device ownership, ...) is decided when the kernel executes it through
// the same capability operations that invocations use, which refuse it there.
//
// The reader keeps a pointer to the buffer and reads ops from it on demand; op() returns copies
// so that a caller acts on a value, never on memory it re-reads. The buffer must stay unchanged
// while the reader is used: at boot it is the payload region, which lies in the kernel's own
// memory and is never mapped into a partition.
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/manifest_validation.hpp>  // ManifestError
#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

namespace bh {

class ManifestReader {
public:
    // Validates `available` bytes at `data`. On refusal the reader holds no manifest and
    // error() says why; on success error().status is Ok.
    Status open(const void* data, usize available);

    const ManifestError& error() const { return error_; }
    bool valid() const { return data_ != nullptr; }

    // Accessors below require valid().
    const manifest::ManifestHeader& header() const { return header_; }
    u32 op_count() const { return header_.op_count; }
    manifest::ManifestOp op(u32 index) const;  // index < op_count()
    // CreatePartition ops in the program (at most kMaxPartitions).
    u32 partition_count() const { return partition_count_; }
    // The vCPU count of the `partition`-th CreatePartition op (creation order), 0 past the end.
    u64 vcpu_count(u32 partition) const {
        return partition < partition_count_ ? vcpu_count_[partition] : 0;
    }
    // The bytes a LoadImage op refers to (arg2 = offset, arg3 = size, already checked to lie
    // inside the image area); nullptr for any other op.
    const u8* image(const manifest::ManifestOp& op) const;

private:
    Status fail(Status status, const char* reason, int op_index);
    Status check_header(usize available);
    Status check_op(const manifest::ManifestOp& op, u32 index);

    const u8* data_ = nullptr;
    const u8* candidate_ = nullptr;  // buffer under validation
    manifest::ManifestHeader header_{};
    ManifestError error_{Status::NotFound, "no manifest opened", -1};
    u32 partition_count_ = 0;
    u8 vcpu_count_[manifest::kMaxPartitions] = {};
    bool console_input_ = false;  // a CreatePartition so far carried PartitionFlag kConsoleInput
    bool sealed_ = false;
};

}  // namespace bh
