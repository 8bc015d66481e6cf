// Two vCPUs' calls interleaved at the points where the kernel takes and drops its locks
// (docs/fuzzing.md "Interleaving mode"), deterministically: two threads, one running at a time.
//
// Call A runs on a worker thread, call B on the caller's. A runs first, up to its `pause_at`-th
// lock point (a SpinLock lock or unlock; 0: none), then B runs; whichever waits for the other
// (arch::cpu_relax: a ticket lock held by the other, a vCPU the other must leave) hands over,
// so a wait ends as it would on two cores. The host's current core follows the running call.
// Two calls that wait on each other for ever are a finding (kLivelockSwitches hand-overs).
#pragma once

#include <arch/host/host_memory.hpp>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "fuzz_common.hpp"

namespace bh::fuzz::interleave {

inline constexpr unsigned long kLivelockSwitches = 5000;

struct Scheduler {
    std::mutex m;
    std::condition_variable cv;
    int running = 1;  // 1: A (the worker), 0: B (the caller)
    bool done[2] = {false, false};
    unsigned core[2] = {0, 0};
    unsigned pause_at = 0;
    unsigned points = 0;
    unsigned long switches = 0;
    unsigned long lone_spins = 0;  // waits while the other call is done: nobody left to wait for
};

inline Scheduler* g_scheduler = nullptr;
inline thread_local int t_role = -1;

// The running call hands over to the other (unless it is done) and waits for its turn back.
inline void hand_over(Scheduler& s) {
    const int me = t_role, other = 1 - t_role;
    std::unique_lock<std::mutex> lock(s.m);
    if (s.done[other]) {
        if (++s.lone_spins > kLivelockSwitches) finding("interleave: a call waits for a core that is done");
        return;
    }
    if (++s.switches > kLivelockSwitches) finding("interleave: two calls wait on each other for ever");
    s.running = other;
    host::set_current_core(s.core[other]);
    s.cv.notify_all();
    s.cv.wait(lock, [&] { return s.running == me; });
    host::set_current_core(s.core[me]);
}

inline void hook(bool spinning) {
    Scheduler* s = g_scheduler;
    if (s == nullptr || t_role < 0) return;
    if (spinning) {
        hand_over(*s);
    } else if (t_role == 1 && s->pause_at != 0 && ++s->points == s->pause_at) {
        hand_over(*s);
    }
}

// Runs a() and b() interleaved as above; returns when both are done. `after_a`/`after_b` run in
// the same turn, right after their call (the target parks or resumes the vCPU there, as its core
// would before the other could look at it).
inline void run(unsigned core_a, unsigned core_b, unsigned pause_at, const std::function<void()>& a,
                const std::function<void()>& b) {
    Scheduler s;
    s.core[1] = core_a;
    s.core[0] = core_b;
    s.pause_at = pause_at;
    g_scheduler = &s;
    host::set_schedule_hook(&hook);
    const auto finish = [&](int role) {
        std::lock_guard<std::mutex> lock(s.m);
        s.done[role] = true;
        s.running = 1 - role;
        host::set_current_core(s.core[1 - role]);
        s.cv.notify_all();
    };
    std::thread worker([&] {
        t_role = 1;
        host::set_current_core(core_a);
        a();
        finish(1);
        t_role = -1;
    });
    t_role = 0;
    {
        std::unique_lock<std::mutex> lock(s.m);
        s.cv.wait(lock, [&] { return s.running == 0; });
    }
    host::set_current_core(core_b);
    b();
    finish(0);
    {
        std::unique_lock<std::mutex> lock(s.m);
        s.cv.wait(lock, [&] { return s.done[1]; });
    }
    worker.join();
    t_role = -1;
    host::set_schedule_hook(nullptr);
    g_scheduler = nullptr;
}

}  // namespace bh::fuzz::interleave
