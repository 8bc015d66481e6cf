// A walk of the derivation tree whose depth a partition controls (a chain of CapCopy, each a
// child of the last) must not use the kernel stack per level: EL2 stacks are 16 KiB. A partition
// with a radix-12 CSpace builds a 4000-deep chain of copies of a frame cap, then maps the last
// copy: FrameMap's one-partition rule walks every cap to the frame (frame_mapped_by_another). The
// call runs on a thread with a 16 KiB stack, in a child process (an overflow kills the child,
// not the test run). With the recursive walk this kernel used to have it overflows.
#include <catch2/catch_test_macros.hpp>

#include "child_process.hpp"
#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <pthread.h>

using namespace bh;
using namespace bh::test;
using F = hvc::Function;

namespace {

constexpr u32 kChain = 4000;
constexpr u64 kStackBytes = 16 * 1024;  // as KERNEL_STACK_SHIFT gives each core at EL2

struct Call {
    Kernel* kernel;
    Vcpu* vcpu;
    i64 status;
};

void* map_last_copy(void* arg) {
    auto* c = static_cast<Call*>(arg);
    c->status = call_status(*c->kernel, *c->vcpu, F::FrameMap, {kChain, 0x5000'0000, manifest::attr::kRead});
    return nullptr;
}

}  // namespace

TEST_CASE("a 4000-deep derivation chain is walked in bounded stack: FrameMap on a 16 KiB stack", "[frame_mapping][T-40][INV-1]") {
    KernelFixture f;
    // A partition whose CSpace root has radix 12 (4096 slots), as create_partition accepts.
    const u32 ps = f.slot(), cs = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1).ok());
    REQUIRE(f.retype(kKernelUntyped, ObjectType::CNode, 12, cs, 1).ok());
    REQUIRE(f.create_partition(ps, cs, "deep", manifest::RestartPolicy::Stop, 1).ok());
    Partition& p = f.partition(ps);
    REQUIRE(f.map(p, f.at(f.frame(kPartitionPa)), kGuestRam, kRwx).ok());
    f.bind(p, 0, 1);
    REQUIRE(f.set_entry(p, 0, kGuestRam, 0).ok());
    REQUIRE(f.grant(cs, p, 1, Rights::read() | Rights::write()).ok());
    const u32 fr = f.frame(kPartitionPa + 4 * kMiB, 12);
    REQUIRE(f.grant(fr, p, 2, Rights::read() | Rights::write() | Rights::grant()).ok());
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];
    // Slot k + 1 := a copy of slot k: each copy a child of the previous one.
    for (u32 k = 2; k < kChain; ++k) REQUIRE(call_status(f.kernel, v, F::CapCopy, {k, k + 1}) == 0);

    const ChildResult r = in_child(20, [&] {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, kStackBytes);
        Call call{&f.kernel, &v, 1};
        pthread_t thread;
        if (pthread_create(&thread, &attr, map_last_copy, &call) != 0) return 2;
        pthread_join(thread, nullptr);
        return call.status == 0 ? 0 : 3;
    });
    CHECK(r.finished);
    CHECK(r.signal == 0);    // SIGSEGV: the walk overflowed the stack
    CHECK(r.exit_code == 0);  // mapped
}
