// The capability lock: one lock serialises every capability operation on every core, because
// the derivation tree links caps of different partitions (all descend from the boot CNode's).
// It also guards notifications' waiters and the interrupt bindings. Functions that must run
// under it take `const CapLockHeld&`, which only a CapLockGuard makes.
#pragma once

#include <lib/spinlock.hpp>

namespace bh {

class CapabilityLock : public SpinLock {};
using CapLockHeld = Held<CapabilityLock>;
using CapLockGuard = Guard<CapabilityLock>;

extern CapabilityLock cap_lock;

}  // namespace bh
