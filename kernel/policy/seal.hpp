// Seal: the boot program's last op. The system it built must pass every check below, in this
// order, before any partition runs; then construction closes for good and every partition
// starts. Each check is also what the invariant checker relies on for the state after seal.
#pragma once

#include <bulkhead/status.hpp>

namespace bh {

class Kernel;

struct SealCheck {
    const char* name;
    Outcome (*check)(const Kernel& kernel);
};

// Every partition has memory, an entry point and all its vCPUs bound.
Outcome partitions_complete(const Kernel& kernel);
// No partitions control each other in a cycle (taking a partition down waits for its vCPUs:
// a cycle could hold both partitions' cores forever). Caps cannot leave a CSpace after boot, so
// the graph checked here is the graph for good.
Outcome control_graph_acyclic(const Kernel& kernel);
// Each SPI's IrqHandler caps are all in one partition's CSpace (invariant 5).
Outcome interrupts_unshared(const Kernel& kernel);
// One waiting partition per notification: two Read holders would observe each other (one takes
// the word the other would have seen, a flow no DeclareFlow expresses), and the holder of one
// could receive the interrupts the other bound to it (invariant 5; the model's KF-2).
Outcome notifications_single_waiter(const Kernel& kernel);
// Each Frame and DeviceMmio object is held by one partition. A frame is mapped through one cap
// at a time (check_map_frame), so one holder's FrameMap answers Overlap exactly while another
// holder has it mapped: a signal between two holders, read-only ones too, that no DeclareFlow
// expresses (invariant 6). Memory is shared on purpose through a Channel.
Outcome frames_unshared(const Kernel& kernel);
// The flows the capabilities allow are exactly the declared ones (invariant 6). An undeclared
// flow is an isolation hole; a declared flow with no capability behind it means the description
// and the capabilities disagree (the audit evidence would list a flow the system does not have).
Outcome flows_as_declared(const Kernel& kernel);

// PCIe functions and their streams (policy/seal_pcie.cpp): every memory BAR of an assigned
// function is placed; every DmaStream cap is held by the partition its function is assigned to (a
// stream bound to another partition's stage 2 would let the owner's device write that partition's
// memory, a flow no DeclareFlow expresses); no partition but a BAR's owner holds a DeviceMmio cap
// or a device mapping over that BAR.
Outcome pcie_assignment_sound(const Kernel& kernel);

inline constexpr SealCheck kSealChecks[] = {
    {"partitions complete", partitions_complete},
    {"control graph acyclic", control_graph_acyclic},
    {"interrupts unshared", interrupts_unshared},
    {"notifications single waiter", notifications_single_waiter},
    {"frames unshared", frames_unshared},
    {"flows as declared", flows_as_declared},
    {"pcie assignment sound", pcie_assignment_sound},
};

// Runs kSealChecks; on success closes construction and starts every partition.
Outcome seal(Kernel& kernel);

}  // namespace bh
