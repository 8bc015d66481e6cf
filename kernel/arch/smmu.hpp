// The SMMU as generic code sees it (DMA isolation, docs/isolation.md "DMA and PCIe"): stream table
// entries that abort or translate through a partition's stage-2 tables, and the fault records and
// global errors it reports. kernel/arch/aarch64/smmu.cpp drives the SMMUv3 of the reference
// machine; kernel/arch/host/smmu_host.cpp is a fake with the same caching behaviour for tests.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::arch {

// Streams are PCIe requester IDs, 0 .. platform::kStreamCount - 1.
// Every stream aborts until bound; each call below has completed in the SMMU when it returns (its
// commands consumed up to a CMD_SYNC), so no cached copy of what it replaced can be used after.

// False when the machine's SMMU could not be set up to translate (then every stream aborts for
// good and binding is refused).
bool smmu_available();
// Stream `sid` translates through the stage-2 tables at `root` tagged `vmid` (a partition's own).
void smmu_stream_bind(u32 sid, PhysAddr root, u16 vmid);
// Stream `sid` aborts, and nothing it translated with `vmid` is left in the SMMU's TLB.
void smmu_stream_abort(u32 sid, u16 vmid);

// What the SMMU makes of a stream now, read back from its stream table (the invariant checker).
struct DmaStreamState {
    enum class Kind : u8 { Abort, Translate, Other } kind;  // Other: invalid, bypass, stage 1, malformed
    u16 vmid;       // Translate: the tables' VMID
    PhysAddr root;  // Translate: the stage-2 root
};
DmaStreamState smmu_stream_state(u32 sid);

// A fault the SMMU recorded for a device's access.
struct DmaFault {
    u32 sid;
    u64 address;       // the address the device used: an IPA of the stream's partition
    bool read;
    const char* what;  // "translation fault", "permission fault", ...
};
// Takes at most `max` recorded faults, oldest first, into `out`; returns how many. `lost` grows by
// one when the SMMU reports that its queue overflowed since the last call (records were lost; the
// SMMU does not say how many).
u32 smmu_take_faults(DmaFault* out, u32 max, u64& lost);
// The SMMU's global errors that became active since the last call (SMMU_GERROR bits), each
// acknowledged; the event queue's abort is `lost` above, a command error is a kernel bug and
// stops the machine where it happens. 0: none.
u32 smmu_global_errors();

}  // namespace bh::arch
