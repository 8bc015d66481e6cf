// The boot manifest: the binary contract between the offline config compiler (tools/bhcc) and
// the kernel. It is a program of capability operations that the kernel validates as a whole and
// then executes in order through the same operations that capability invocations use.
//
// Layout (little endian), placed by the packer at platform::kPayloadBase:
//   ManifestHeader | ManifestOp[op_count] | image bytes ...
// The checksum is CRC-32 (IEEE 802.3) over bytes [kChecksumStart, total_size), which covers
// every header field after `checksum` as well as the ops and images.
//
// The program works in the boot CNode, a kernel-owned CNode of 2^kBootCNodeRadix slots that
// exists only while the boot program runs. Ops name caps by their index in it ("boot slot").
// Before the first op the kernel installs, in boot slot kKernelUntypedSlot, the Untyped cap of
// its object memory (platform::kObjectMemoryBase), from which partition objects and CNodes are
// retyped. Every other cap is made by the program. Partitions receive caps in their own CSpace
// only through GrantCap.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::manifest {

inline constexpr u32 kMagic = 0x464d'4842;  // "BHMF"
// 3: BindVcpu binds a Vcpu object (retyped like any other) where version 2's BindCore bound
// a vCPU embedded in its partition; CreateIrqHandler.
// 4: CreatePartition's arg3 carries the partition's partition_flag bits (virtual GIC, UART,
// console input, OS guest); version 3 left it zero.
// 5: AssignPciFunction (with the function's DmaStream cap) and PlacePciBar.
// 6: ForwardMmio.
inline constexpr u16 kVersion = 6;
inline constexpr unsigned kNameLength = 24;  // including the terminating NUL
inline constexpr unsigned kMaxPartitions = 16;
inline constexpr unsigned kMaxVcpusPerPartition = 4;
inline constexpr unsigned kMaxOps = 4096;
inline constexpr unsigned kBootCNodeRadix = 12;
inline constexpr u32 kBootSlots = 1u << kBootCNodeRadix;
inline constexpr u32 kKernelUntypedSlot = 1;
inline constexpr u32 kFirstFreeBootSlot = 2;
// What the kernel keeps room for, checked as the program runs: CreateUntyped ops (the root
// Untyped regions, System::kMaxRootUntypeds), mappings one partition holds at a time (MapFrame
// at boot plus FrameMap later; Partition::kMaxRegions), LoadImage ops per partition
// (Partition::kMaxImages) and AssignPciFunction ops (PciFunctions::kMaxFunctions).
inline constexpr unsigned kMaxUntypedRegions = 256;
inline constexpr unsigned kMaxMappingsPerPartition = 64;
inline constexpr unsigned kMaxImagesPerPartition = 8;
inline constexpr unsigned kMaxPciFunctions = 32;

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

// `slot` is always a boot slot; arguments that name partitions name the boot slot holding the
// Partition cap. Object type numbers are caps::ObjectType's.
enum class OpKind : u32 {
    CreateUntyped = 1,    // slot := Untyped cap over [arg0 = PA, + 2^arg1); arg2 = kUntypedDevice or 0
    Retype = 2,           // slot = Untyped; arg0 = object type, arg1 = size_bits, arg2 = first
                          // destination boot slot, arg3 = count
    CreatePartition = 3,  // slot = Partition object (retyped); arg0 = boot slot of the CNode that
                          // becomes its CSpace root; arg1 = RestartPolicy; arg2 = vCPU count;
                          // arg3 = partition_flag bits; name
    MapFrame = 4,         // slot = Frame or DeviceMmio cap; arg0 = partition slot, arg1 = IPA,
                          // arg2 = attr bits (kRead/kWrite/kExecute)
    GrantCap = 5,         // slot = source cap; arg0 = partition slot, arg1 = index in that
                          // partition's CSpace root, arg2 = rights mask (caps::Rights bits),
                          // arg3 = badge (0: none; Notification and Channel caps only)
    LoadImage = 6,        // arg0 = partition slot, arg1 = destination IPA, arg2 = payload
                          // offset, arg3 = size
    BindVcpu = 7,         // slot = Vcpu object (retyped); arg0 = partition slot, arg1 = vCPU
                          // index, arg2 = physical core
    StartVcpu = 8,        // arg0 = partition slot, arg1 = vCPU index, arg2 = entry IPA, arg3 = x0
    Seal = 9,             // last op: every partition is complete; they start; the boot CNode's
                          // caps stay with the kernel
    DeclareFlow = 10,     // arg0 = source partition slot, arg1 = destination partition slot,
                          // arg2 = FlowKind: an information flow the description allows. The
                          // flows the partitions' capabilities make possible must be exactly
                          // the declared ones (invariant 6, checked at seal and by the checker)
    CreateIrqHandler = 11,  // slot := the IrqHandler cap of SPI arg0 (an INTID of
                            // platform::kAssignableSpis), at most once per SPI
    CreateAuditLog = 12,    // slot := the AuditLog cap (Read|Grant) of the kernel's security audit
                            // log, at most once (docs/audit.md). Added within version 3: a
                            // manifest without it is unchanged, and a kernel that does not know
                            // it refuses it as an unknown op.
    AssignPciFunction = 13,  // arg0 = partition slot, arg1 = function (bus 0: device << 3 |
                             // function), arg2 = its identity, vendor | device << 16: the
                             // function becomes the partition's; slot := the DmaStream cap of
                             // its stream (stream ID = requester ID = arg1), at most once each
    PlacePciBar = 14,        // arg0 = partition slot, arg1 = its function, arg2 = BAR index
                             // (0..5), arg3 = address in the 32-bit PCIe MMIO window
    ForwardMmio = 15,  // slot = Frame cap of the request page; arg0 = client partition slot, arg1 =
                       // window IPA, arg2 = window size [31:0] | the client's virtual SPI for the
                       // device [47:32] (0: none) | the doorbell Notification's boot slot [63:48];
                       // arg3 = server partition slot [31:0] | doorbell badge [63:32] (non-zero):
                       // the client's accesses in the window go to the server
                       // (bulkhead/forwarded_mmio.hpp, docs/isolation.md "Forwarded MMIO")
};

enum class FlowKind : u64 {
    Memory = 1,  // the source can write memory the destination can read (a Channel)
    Signal = 2,  // the source can signal a Notification the destination can wait on
    Audit = 3,   // the destination holds an AuditLog Read cap: it reads the events the source causes
};

inline constexpr u64 kUntypedDevice = 1;

enum class RestartPolicy : u64 { Stop = 0, Restart = 1 };
// What a synchronous fault the kernel contains does to the partition: end its run (then the
// RestartPolicy decides), or come back to it as an EL1 exception (docs/isolation.md, "Fault
// policy"). Carried by partition_flag::kInjectFaults in CreatePartition's arg3; without it, Stop.
enum class FaultPolicy : u64 { Stop = 0, Inject = 1 };

// What a partition sees besides its memory and devices (CreatePartition arg3). Without a flag a
// partition behaves as before version 4: the GIC and UART windows are unmapped (an access is its
// fault), ICC_SGI*R writes are its fault, and so is every trapped debug or PMU register.
namespace partition_flag {
// An emulated GICv3 distributor and one redistributor per vCPU, the virtual CPU interface
// (list registers), SGIs among its own vCPUs, its IrqHandler SPIs and the virtual timer (PPI 27)
// as virtual interrupts (docs/vgic.md).
inline constexpr u64 kVirtualGic = 1u << 0;
// An emulated PL011 at platform::kUartBase: its output goes to the partition's console line.
inline constexpr u64 kVirtualUart = 1u << 1;
// The physical console's input goes to this partition's PL011 (needs kVirtualUart; at most one
// partition of a system).
inline constexpr u64 kConsoleInput = 1u << 2;
// An unmodified operating system (a Linux partition): the debug and PMU registers such a kernel
// programs while it boots read as zero and ignore writes, instead of being the partition's fault
// (kernel/arch/aarch64/os_registers.hpp).
inline constexpr u64 kOsGuest = 1u << 8;
// Its fault policy is FaultPolicy::Inject (without the flag: Stop).
inline constexpr u64 kInjectFaults = 1u << 9;
inline constexpr u64 kAll = kVirtualGic | kVirtualUart | kConsoleInput | kOsGuest | kInjectFaults;
}  // namespace partition_flag

namespace attr {
inline constexpr u64 kRead = 1u << 0;
inline constexpr u64 kWrite = 1u << 1;
inline constexpr u64 kExecute = 1u << 2;
inline constexpr u64 kDevice = 1u << 8;  // set by the kernel for DeviceMmio, never by the manifest
inline constexpr u64 kAll = kRead | kWrite | kExecute | kDevice;
}  // namespace attr

struct ManifestOp {
    OpKind kind;
    u32 slot;
    u64 arg[4];
    char name[kNameLength];
};
static_assert(sizeof(ManifestOp) == 64);

}  // namespace bh::manifest
