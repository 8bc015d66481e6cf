// Which vCPU each physical core runs: one vCPU per core, bound for good by the boot program
// (manifest op BindVcpu); cores that did not come online get none. The core loop asks it what
// to enter next (claim), so the policy lives here and not in the arch layer.
#pragma once

#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <lib/atomic.hpp>
#include <lib/ids.hpp>

namespace bh {

class BootSpace;
class Partition;
struct Vcpu;

class CoreMap {
public:
    // Cores 0 .. online - 1 may be bound.
    Outcome init(unsigned online);

    // Binds the Vcpu object in boot slot `vcpu_slot` to `p` as vCPU `index` on `core`. One Vcpu
    // per index, one partition per Vcpu, one vCPU per core.
    Outcome bind(const BootSpace& boot, Partition& p, BootSlot vcpu_slot, VcpuIndex index, CoreId core);

    // Read by waiting cores while core 0 runs the boot program.
    Vcpu* on(CoreId core) const { return core.raw() < online_ ? vcpu_[core.raw()].load() : nullptr; }
    unsigned online() const { return online_; }

    // The core loop's decision: the vCPU `core` should enter now, moved Runnable -> Running, or
    // nullptr. A vCPU that was runnable while its partition stopped is settled to Off here; one
    // whose restart back-off has not run out (Vcpu::start_due) stays Runnable.
    Vcpu* claim(CoreId core) const;

    void close() { closed_ = true; }

private:
    Atomic<Vcpu*> vcpu_[platform::kMaxCores];
    unsigned online_ = 0;
    bool closed_ = false;
};

}  // namespace bh
