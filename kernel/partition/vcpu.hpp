// A virtual CPU: the guest register frame the EL2 vectors save into, and its run state. A Vcpu
// is a kernel object of its own (caps::ObjectType::Vcpu), retyped from untyped memory and bound
// to one partition, as vCPU `index`, on one physical core (manifest op BindVcpu), so the kernel
// memory a partition's vCPUs take is paid for by whoever retyped them.
#pragma once

#include <arch/guest.hpp>
#include <bulkhead/types.hpp>
#include <caps/capability.hpp>
#include <lib/atomic.hpp>
#include <lib/ids.hpp>
#include <vgic/vgic_state.hpp>

namespace bh {

class Partition;
struct Notification;

// Off -> Starting -> Runnable -> Running -> Off. Only the core a vCPU is bound to moves it from
// Runnable to Running and from Running to Off; other cores request a stop through the
// partition's state and a kick.
// Running -> Blocked: NotificationWait on its own core, which then parks (ipc/notification.hpp),
// or an access to a forwarded MMIO window (devices/mmio_forward.hpp), answered by its server.
// Blocked -> Starting -> Runnable: a signal (or the notification's destruction) hands it its
// results; Blocked -> Off: a stop of its partition (settle_off), which also clears waiting_on.
// A vCPU waiting in the kernel on its own core (ipc/kernel_wait.hpp) stays Running meanwhile:
// everyone treats it as a vCPU in a long call, and only its core moves it on.
enum class VcpuState : u32 { Off = 0, Starting = 1, Runnable = 2, Running = 3, Blocked = 4 };

struct Vcpu {
    arch::GuestRegs regs;
    Partition* partition = nullptr;  // set once by BindVcpu; nullptr: not bound yet
    VcpuIndex index;
    CoreId core;  // physical core, bound once by BindVcpu
    Atomic<VcpuState> state{VcpuState::Off};
    // Set when the vCPU (re)starts: its EL1 system registers and FP/SIMD state are reset on
    // the next entry so that nothing from a previous run or from EL2 leaks into the guest.
    bool reset_on_entry = false;
    // The notification this vCPU waits on while Blocked or waiting in the kernel; guarded by the
    // capability lock.
    Notification* waiting_on = nullptr;
    // Set (under the capability lock) while the vCPU waits for a signal on its core, Running, in
    // the kernel's wait loop (ipc/kernel_wait.hpp); a signaller clears it, release, after it
    // wrote the results: the waiting core reads it without the lock.
    Atomic<bool> waits_in_kernel{false};
    // Forwarded MMIO (devices/mmio_forward.hpp), guarded by the capability lock: the requests it
    // made (never reset, so an answer to an earlier run's request never matches), the one it is
    // parked on while Blocked (0: none) and that request's decoded access.
    u64 forward_sequence = 0;
    u64 forward_waiting = 0;
    arch::MmioAccess forward_access{};
    // Its emulated redistributor and virtual CPU interface, when its partition has a virtual GIC.
    vgic::VgicCpu vgic;
    // A runnable vCPU is entered only once the counter reaches this (restart back-off,
    // partition/restart_backoff.hpp); 0: at once. Written before the vCPU is made Runnable.
    Atomic<u64> start_not_before;

    // Whether its core may enter it at counter `now`.
    bool start_due(u64 now) const { return now >= start_not_before.load(); }

    VcpuState load_state() const { return state.load(); }
    void store_state(VcpuState s) { state.store(s); }
    bool transition(VcpuState from, VcpuState to) { return state.compare_exchange(from, to); }

    // Prepares a clean register file that enters the guest at `entry` with x0 = `arg`.
    void prepare_start(u64 entry, u64 arg) {
        regs.reset(entry, arg);
        reset_on_entry = true;
        start_not_before.store(0);
    }
};

static_assert(sizeof(Vcpu) <= (1u << caps::kVcpuBits), "a Vcpu must fit the memory retype gives it");

}  // namespace bh
