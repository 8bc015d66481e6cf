// The boot manifest: the binary contract between the offline config compiler (tools/bhcc) and
// the kernel. It is a program of small kernel-object operations that the kernel validates as a
// whole and then executes in order through the same code paths as run-time operations.
// Layout (little endian), placed by the packer at platform::kPayloadBase:
//   ManifestHeader | ManifestOp[op_count] | image bytes ...
// The checksum is CRC-32 (IEEE 802.3) over bytes [kChecksumStart, total_size), which covers
// every header field after `checksum` as well as the ops and images.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::manifest {

inline constexpr u32 kMagic = 0x464d'4842;  // "BHMF"
inline constexpr u16 kVersion = 1;
inline constexpr unsigned kNameLength = 24;  // including the terminating NUL
inline constexpr unsigned kMaxPartitions = 16;
inline constexpr unsigned kMaxVcpusPerPartition = 4;
inline constexpr unsigned kMaxOps = 512;

struct ManifestHeader {
    u32 magic;
    u16 version;
    u16 op_size;     // sizeof(ManifestOp), so a reader can refuse a layout it does not know
    u32 total_size;  // header + ops + images
    u32 checksum;
    u32 op_count;
    u32 ops_offset;  // from the start of the header
    u64 ram_base;    // the RAM the description was compiled against
    u64 ram_size;
};
static_assert(sizeof(ManifestHeader) == 40);
inline constexpr u32 kChecksumStart = 16;  // offsetof(ManifestHeader, op_count)

enum class OpKind : u32 {
    CreatePartition = 1,  // name; arg0 = RestartPolicy, arg1 = vcpu count
    MapMemory = 2,        // arg0 = IPA, arg1 = PA, arg2 = size, arg3 = MapAttr bits
    LoadImage = 3,        // arg0 = destination IPA, arg1 = payload offset, arg2 = size
    BindCore = 4,         // arg0 = vcpu index, arg1 = physical core
    StartVcpu = 5,        // arg0 = vcpu index, arg1 = entry IPA, arg2 = x0 at entry
    Seal = 6,             // last op: no further construction after this
};

enum class RestartPolicy : u64 { Stop = 0, Restart = 1 };

namespace attr {
inline constexpr u64 kRead = 1u << 0;
inline constexpr u64 kWrite = 1u << 1;
inline constexpr u64 kExecute = 1u << 2;
inline constexpr u64 kDevice = 1u << 8;  // device MMIO passthrough (Device-nGnRE, never executable)
inline constexpr u64 kAll = kRead | kWrite | kExecute | kDevice;
}  // namespace attr

// One operation. `partition` is the index given by the CreatePartition op that made it
// (partitions are numbered 0, 1, ... in creation order).
struct ManifestOp {
    OpKind kind;
    u32 partition;
    u64 arg[4];
    char name[kNameLength];
};
static_assert(sizeof(ManifestOp) == 64);

}  // namespace bh::manifest
