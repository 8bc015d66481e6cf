// Capability invocations from partitions (docs/abi.md): a decoded call (calls/guest_call.hpp) is
// resolved in the caller's own CSpace and checked in full under the capability lock — the
// decode half, which may refuse — and only then invoked, which cannot fail because of anything
// the guest sent. A stop or restart of a partition (the caller's own included) is an invocation
// that runs after the lock is released: taking a partition down waits for its cores, which must
// not hold up every other partition's capability calls.
#pragma once

#include <calls/guest_call.hpp>

namespace bh {

class Kernel;
struct Capability;
class Partition;
struct Vcpu;

// Runs `call` (is_cap_call) for `vcpu`; writes its status and results into the vCPU's
// registers. False when the vCPU no longer runs (it waits on a notification, or its partition
// was stopped or restarted by the call).
[[nodiscard]] bool handle_cap_call(Kernel& kernel, Vcpu& vcpu, const GuestCall& call);

}  // namespace bh
