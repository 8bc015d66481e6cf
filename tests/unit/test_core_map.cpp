// The core map (partition/core_map.hpp): Vcpu objects bound to a partition's vCPU index and a
// physical core, once; and the core loop's decision (claim), which enters a runnable vCPU only
// while its partition runs.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"

#include "child_process.hpp"

#include <arch/arch.hpp>
#include <cstring>
#include <string>

using namespace bh;
using namespace bh::test;

namespace {

std::string reason(const Outcome& o) { return o.reason(); }

}  // namespace

TEST_CASE("Vcpu objects are constructed unbound, one page each", "[system][core_map]") {
    KernelFixture f;
    const u32 vs = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Vcpu, 0, vs, 2).ok());
    f.slot();
    CHECK(f.at(vs).cap.size_bits == caps::kVcpuBits);
    CHECK(f.at(vs + 1).cap.object == f.at(vs).cap.object + (1u << caps::kVcpuBits));
    const auto* v = static_cast<const Vcpu*>(arch::phys_to_virt(PhysAddr(f.at(vs).cap.object)));
    CHECK(v->partition == nullptr);
    CHECK(v->core.is_none());
    CHECK(v->index.is_none());
    CHECK(v->load_state() == VcpuState::Off);
}

TEST_CASE("a vCPU is bound once: one Vcpu per index, one partition per Vcpu, one vCPU per core", "[system][core_map]") {
    KernelFixture f;
    Partition& p = f.partition(f.partition("alpha"));
    Partition& q = f.partition(f.partition("beta"));
    const u32 fr = f.frame(kPartitionPa);
    const u32 v0 = f.vcpu_object(), v1 = f.vcpu_object();
    Outcome o = f.bind_vcpu(p, v0, 1, 0);  // p has one vCPU
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "no such vCPU");
    o = f.bind_vcpu(p, v0, 0, 4);  // no core 4
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such core, or it is not online");
    o = f.bind_vcpu(p, fr, 0, 0);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "not a Vcpu cap");
    o = f.bind_vcpu(p, manifest::kBootSlots, 0, 0);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such boot slot");
    CHECK_FALSE(p.vcpus.bound(0));
    REQUIRE(f.bind_vcpu(p, v0, 0, 2).ok());
    CHECK(&p.vcpus[0] == f.kernel.cores.on(CoreId(2)));
    CHECK(p.vcpus[0].partition == &p);
    CHECK(p.vcpus[0].index == VcpuIndex(0));
    CHECK(p.vcpus[0].core == CoreId(2));
    o = f.bind_vcpu(p, v1, 0, 3);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "vCPU already bound");
    o = f.bind_vcpu(q, v1, 0, 2);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "core already bound");
    o = f.bind_vcpu(q, v0, 0, 3);  // that Vcpu object is p's
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "Vcpu object already bound");
    CHECK(f.kernel.cores.on(CoreId(3)) == nullptr);
    CHECK(f.kernel.cores.on(CoreId(platform::kMaxCores)) == nullptr);
}

TEST_CASE("cores that did not come online get no vCPU", "[core_map]") {
    host::reset_all();
    Kernel k;
    Outcome o = k.init(platform::kRamBase, platform::kDefaultRamSize, 0);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "core count");
    CHECK(k.init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores + 1).status() ==
          Status::InvalidArgument);
    REQUIRE(k.init(platform::kRamBase, platform::kDefaultRamSize, 2).ok());
    CHECK(k.cores.online() == 2);
    CHECK(k.cores.claim(CoreId(3)) == nullptr);
}

TEST_CASE("vCPUs are objects of their own: retyped, bound once, required at seal, never left dangling",
          "[system][core_map][INV-4][INV-7][T-38]") {
    KernelFixture f;
    const u32 ps = f.partition("smp", 2);
    Partition& p = f.partition(ps);
    REQUIRE(f.map(p, f.at(f.frame(kPartitionPa)), kGuestRam, kRwx).ok());
    REQUIRE(f.set_entry(p, 0, kGuestRam, 0).ok());
    const u32 v0 = f.vcpu_object(), v1 = f.vcpu_object();
    REQUIRE(f.bind_vcpu(p, v0, 0, 1).ok());
    // One of two vCPUs bound: seal refuses.
    Outcome o = f.seal();
    CHECK(o.status() == Status::NotFound);
    CHECK(reason(o) == "a vCPU is not bound to a core");

    // Memory for vCPUs comes from whoever retypes them: a RAM untyped works as well.
    const u32 us = f.slot(), ram_vcpu = f.slot();
    REQUIRE(f.create_untyped(us, kPartitionPa + 4 * kMiB, 12, false).ok());
    REQUIRE(f.retype(us, ObjectType::Vcpu, 0, ram_vcpu, 1).ok());
    // An unbound Vcpu's last cap deletes like any other; the object is gone, nothing points to it.
    REQUIRE(ok(f.delete_cap(f.at(ram_vcpu))));
    CHECK(f.at(ram_vcpu).empty());
    REQUIRE(f.retype(us, ObjectType::Vcpu, 0, ram_vcpu, 1).ok());  // the memory is free again
    o = f.bind_vcpu(p, ram_vcpu, 0, 1);
    CHECK(o.status() == Status::Exists);  // vCPU 0 is bound, for good
    CHECK(p.vcpus[0].partition == &p);
    REQUIRE(f.bind_vcpu(p, ram_vcpu, 1, 2).ok());
    CHECK(p.vcpus[1].index == VcpuIndex(1));
    CHECK(p.vcpus[1].core == CoreId(2));
    REQUIRE(f.seal().ok());
    CHECK(p.vcpus[0].load_state() == VcpuState::Runnable);
    o = f.bind_vcpu(p, v1, 1, 3);  // sealed
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "system is sealed");
    // A bound vCPU whose last cap is deleted: see the next test.
}

// A bound Vcpu is used by its partition, its core and every take-down for as long as the
// partition exists, so its last cap cannot go (Kernel::in_use): delete and revoke answer Busy
// and change nothing. Before, the destroy hook took the running partition down under the
// capability lock, and taking down needs that lock itself: the core spun on a lock it held. Run
// in a child process so that such a hang is a failure, not a hung test run.
TEST_CASE("the last cap of a bound Vcpu cannot be deleted or revoked away: the vCPU stays bound",
          "[core_map][caps][INV-7][T-38]") {
    KernelFixture f;
    const u32 ps = f.partition("smp", 2);
    Partition& p = f.partition(ps);
    REQUIRE(f.map(p, f.at(f.frame(kPartitionPa)), kGuestRam, kRwx).ok());
    REQUIRE(f.set_entry(p, 0, kGuestRam, kBootArg).ok());
    f.bind(p, 0, 1);
    // vCPU 1 from an untyped of its own, so that revoking that untyped reaches only it.
    const u32 us = f.slot(), v1 = f.slot(), copy = f.slot();
    REQUIRE(f.create_untyped(us, kPartitionPa + 4 * kMiB, 12, false).ok());
    REQUIRE(f.retype(us, ObjectType::Vcpu, 0, v1, 1).ok());
    REQUIRE(f.bind_vcpu(p, v1, 1, 2).ok());
    REQUIRE(f.seal().ok());
    Vcpu& vcpu1 = p.vcpus[1];
    const ChildResult child = in_child(3, [&] {
        // A copy is not the last cap: it goes, and the copy's source becomes the last again.
        if (!ok(f.copy(f.at(v1), f.at(copy)))) return 1;
        if (!ok(f.delete_cap(f.at(copy)))) return 2;
        const Capability before = f.at(v1).cap;
        if (f.delete_cap(f.at(v1)) != Status::Busy) return 3;
        const caps::RevokeProgress r = f.revoke(f.at(us), 8);
        if (r.status != Status::Busy || r.done || r.deleted != 0) return 4;
        // Nothing changed: the cap, the binding, the partition's run.
        if (std::memcmp(&f.at(v1).cap, &before, sizeof before) != 0) return 5;
        if (!p.vcpus.bound(1) || &p.vcpus[1] != &vcpu1 || vcpu1.partition != &p) return 6;
        if (f.kernel.cores.on(CoreId(2)) != &vcpu1) return 7;
        if (p.load_state() != PartitionState::Running) return 8;
        // ... nor after a stop: a restart brings back the partition as described.
        if (!f.kernel.lifecycle.control(p, false, p.vcpus[0]).ok()) return 9;
        if (f.delete_cap(f.at(v1)) != Status::Busy) return 10;
        if (!f.kernel.lifecycle.control(p, true, p.vcpus[0]).ok()) return 11;
        if (p.load_state() != PartitionState::Running || !p.vcpus.bound(1)) return 12;
        return 0;
    });
    INFO("the child " << (child.finished ? "failed step " + std::to_string(child.exit_code) : "hung: a deadlock"));
    CHECK(child.finished);
    CHECK(child.exit_code == 0);
}

TEST_CASE("the core loop enters a runnable vCPU only while its partition runs", "[core_map]") {
    KernelFixture f;
    Partition& p = f.make("smp", kPartitionPa, 1, 2);
    CoreMap& cores = f.kernel.cores;
    // Before seal every vCPU is off: nothing to enter; nor on a core without a vCPU.
    CHECK(cores.claim(CoreId(1)) == nullptr);
    CHECK(cores.claim(CoreId(0)) == nullptr);
    CHECK(cores.claim(CoreId(platform::kMaxCores)) == nullptr);
    CHECK(cores.claim(CoreId::none()) == nullptr);
    REQUIRE(f.seal().ok());
    Vcpu& v0 = p.vcpus[0];
    Vcpu& v1 = p.vcpus[1];
    REQUIRE(v0.load_state() == VcpuState::Runnable);
    CHECK(cores.claim(CoreId(1)) == &v0);
    CHECK(v0.load_state() == VcpuState::Running);
    CHECK(cores.claim(CoreId(1)) == nullptr);  // already in the guest
    CHECK(cores.claim(CoreId(2)) == nullptr);  // vCPU 1 is off
    // A vCPU that became runnable while its partition is being taken down is never entered: it
    // is settled to Off.
    v1.store_state(VcpuState::Runnable);
    p.store_state(PartitionState::Stopping);
    CHECK(cores.claim(CoreId(2)) == nullptr);
    CHECK(v1.load_state() == VcpuState::Off);
    p.store_state(PartitionState::Running);
    // A blocked vCPU waits for its signal, not for its core.
    v1.store_state(VcpuState::Blocked);
    CHECK(cores.claim(CoreId(2)) == nullptr);
    CHECK(v1.load_state() == VcpuState::Blocked);
    v1.store_state(VcpuState::Runnable);
    CHECK(cores.claim(CoreId(2)) == &v1);
}
