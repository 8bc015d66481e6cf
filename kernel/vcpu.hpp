// A virtual CPU: the guest register frame the EL2 vectors save into, and its run state. A Vcpu
// is a kernel object of its own (caps::ObjectType::Vcpu), retyped from untyped memory and bound
// to one partition, as vCPU `index`, on one physical core (manifest op BindVcpu), so the kernel
// memory a partition's vCPUs take is paid for by whoever retyped them.
#pragma once

#include <bulkhead/types.hpp>
#include <caps/capability.hpp>

namespace bh {

class Partition;
struct Notification;

// Saved by the exception vectors on every exit from a guest and restored on entry; the offsets
// are used by kernel/arch/aarch64/vectors.S.
struct GuestRegs {
    u64 x[31];
    u64 elr;   // ELR_EL2: where the guest resumes
    u64 spsr;  // SPSR_EL2: the guest's PSTATE
    u64 reserved;
};
static_assert(sizeof(GuestRegs) == 272, "vectors.S saves exactly this frame");
static_assert(__builtin_offsetof(GuestRegs, elr) == 248 && __builtin_offsetof(GuestRegs, spsr) == 256);

// PSTATE a vCPU starts with: EL1h, D, A, I and F masked.
inline constexpr u64 kGuestInitialSpsr = 0x3c5;

// Off -> Starting -> Runnable -> Running -> Off. Only the core a vCPU is bound to moves it from
// Runnable to Running and from Running to Off; other cores request a stop through the
// partition's state and a kick.
// Running -> Blocked: NotificationWait on its own core, which then parks (kernel/notification.hpp).
// Blocked -> Starting -> Runnable: a signal (or the notification's destruction) hands it its
// results; Blocked -> Off: a stop of its partition (settle_off), which also clears waiting_on.
enum class VcpuState : u32 { Off = 0, Starting = 1, Runnable = 2, Running = 3, Blocked = 4 };

struct Vcpu {
    GuestRegs regs;
    Partition* partition = nullptr;  // set once by BindVcpu; nullptr: not bound yet
    u32 index = 0;
    u32 core = ~0u;  // physical core, bound once by BindVcpu
    u32 state = static_cast<u32>(VcpuState::Off);
    // Set when the vCPU (re)starts: its EL1 system registers and FP/SIMD state are reset on
    // the next entry so that nothing from a previous run or from EL2 leaks into the guest.
    bool reset_on_entry = false;
    // The notification this vCPU waits on while Blocked; guarded by the capability lock.
    Notification* waiting_on = nullptr;
    // A runnable vCPU is entered only once the counter reaches this (restart back-off,
    // kernel/restart_backoff.hpp); 0: at once. Written before the vCPU is made Runnable.
    u64 start_not_before = 0;

    // Whether its core may enter it at counter `now`.
    bool start_due(u64 now) const { return now >= __atomic_load_n(&start_not_before, __ATOMIC_ACQUIRE); }

    VcpuState load_state() const { return static_cast<VcpuState>(__atomic_load_n(&state, __ATOMIC_ACQUIRE)); }
    void store_state(VcpuState s) { __atomic_store_n(&state, static_cast<u32>(s), __ATOMIC_RELEASE); }
    bool transition(VcpuState from, VcpuState to) {
        u32 expected = static_cast<u32>(from);
        return __atomic_compare_exchange_n(&state, &expected, static_cast<u32>(to), false, __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE);
    }

    // Prepares a clean register file that enters the guest at `entry` with x0 = `arg`.
    void prepare_start(u64 entry, u64 arg) {
        for (u64& r : regs.x) r = 0;
        regs.x[0] = arg;
        regs.elr = entry;
        regs.spsr = kGuestInitialSpsr;
        regs.reserved = 0;
        reset_on_entry = true;
        start_not_before = 0;
    }
};

static_assert(sizeof(Vcpu) <= (1u << caps::kVcpuBits), "a Vcpu must fit the memory retype gives it");

}  // namespace bh
