// System operations, the boot program and guest exits on the host: every refusal leaves the
// state as it was, faults are contained, hostile hypercalls get an error status.
#include <catch2/catch_test_macros.hpp>
#include "guest_exits.hpp"
#include "manifest_program.hpp"
#include "system_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <boot_program.hpp>
#include <bulkhead/hypercall.hpp>
#include <cstring>
#include <guest_exit.hpp>
#include <invariants.hpp>
#include <string>
#include <system.hpp>
#include <vector>

using namespace bh;
using namespace bh::test;
namespace attr = bh::manifest::attr;

namespace {

constexpr u64 kFrame = 2 * kMiB;  // the fixture's partitions get one 2 MiB frame of RAM

using Fixture = SystemFixture;

u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }





}  // namespace

TEST_CASE("root untyped regions are exclusive, inside RAM and outside the kernel", "[system]") {
    Fixture f;
    const u32 s = f.slot();
    CHECK(f.system.create_untyped(s, PhysAddr(kPartitionPa + 0x1000), 21, false) == Status::Misaligned);
    CHECK(f.system.create_untyped(s, PhysAddr(platform::kKernelRegionBase), 21, false) == Status::Denied);
    CHECK(std::string(f.system.last_refusal()) == "memory overlaps the kernel region");
    CHECK(f.system.create_untyped(s, PhysAddr(platform::kPayloadBase), 21, false) == Status::Denied);
    CHECK(f.system.create_untyped(s, PhysAddr(0xC000'0000), 21, false) == Status::OutOfRange);
    CHECK(f.system.create_untyped(s, PhysAddr(kPartitionPa), 11, false) == Status::InvalidArgument);
    CHECK(f.system.create_untyped(0, PhysAddr(kPartitionPa), 21, false) == Status::OutOfRange);
    CHECK(f.system.create_untyped(manifest::kBootSlots, PhysAddr(kPartitionPa), 21, false) == Status::OutOfRange);
    // MMIO is default deny: the GIC, the UART, fw_cfg and virtio-mmio are never assignable.
    for (u64 mmio : {0x0800'0000ull, 0x0900'0000ull, 0x0902'0000ull, 0x0a00'0000ull})
        CHECK(f.system.create_untyped(s, PhysAddr(mmio), 12, true) == Status::Denied);
    CHECK(f.at(s).empty());

    REQUIRE(ok(f.system.create_untyped(s, PhysAddr(kPartitionPa), 22, false)));
    // Memory exclusivity starts here: no second region over the same memory, whatever its size.
    CHECK(f.system.create_untyped(f.slot(), PhysAddr(kPartitionPa + 2 * kMiB), 21, false) == Status::Overlap);
    CHECK(std::string(f.system.last_refusal()) == "memory already given to a partition");
    CHECK(f.system.create_untyped(f.slot(), PhysAddr(kPartitionPa), 25, false) == Status::Overlap);
    const u32 rtc = f.slot();
    REQUIRE(ok(f.system.create_untyped(rtc, PhysAddr(0x0901'0000), 12, true)));
    CHECK(f.system.create_untyped(f.slot(), PhysAddr(0x0901'0000), 12, true) == Status::Overlap);
    CHECK(f.at(s).cap.type == ObjectType::Untyped);
    CHECK(f.at(rtc).cap.device());
}

TEST_CASE("partitions are created from retyped objects", "[system]") {
    Fixture f;
    const u32 ps = f.slot(), cs = f.slot();
    REQUIRE(ok(f.system.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1)));
    REQUIRE(ok(f.system.retype(kKernelUntyped, ObjectType::CNode, System::kCSpaceRadix, cs, 1)));
    CHECK(f.system.partition_in_slot(ps) == nullptr);  // retyped, not yet a partition
    CHECK(f.system.create_partition(cs, cs, "alpha", manifest::RestartPolicy::Stop, 1) == Status::InvalidArgument);
    CHECK(f.system.create_partition(ps, ps, "alpha", manifest::RestartPolicy::Stop, 1) == Status::InvalidArgument);
    CHECK(f.system.create_partition(ps, cs, "Bad Name", manifest::RestartPolicy::Stop, 1) == Status::InvalidArgument);
    CHECK(f.system.create_partition(ps, cs, "v", manifest::RestartPolicy::Stop, 5) == Status::InvalidArgument);
    CHECK(f.system.create_partition(ps, cs, "v", static_cast<manifest::RestartPolicy>(9), 1) == Status::InvalidArgument);
    // The console marks the kernel's lines "[bulkhead]": a partition of that name could forge them.
    CHECK(f.system.create_partition(ps, cs, "bulkhead", manifest::RestartPolicy::Stop, 1) == Status::InvalidArgument);
    CHECK(f.system.partition_count() == 0);
    REQUIRE(ok(f.system.create_partition(ps, cs, "alpha", manifest::RestartPolicy::Stop, 1)));
    Partition& p = *f.system.partition_in_slot(ps);
    CHECK(p.vmid == 1);
    CHECK(p.cspace_root.type == ObjectType::CNode);
    CHECK(f.system.create_partition(ps, cs, "again", manifest::RestartPolicy::Stop, 1) == Status::Exists);
    // Its stage-2 tables come from its own object, not from the kernel's shared memory.
    const u64 object = f.at(ps).cap.object;
    CHECK(p.stage2.root().raw() > object);
    CHECK(p.stage2.root().raw() < object + (1u << 16));
    // Two partitions cannot share a CSpace, nor a name.
    const u32 ps2 = f.slot();
    REQUIRE(ok(f.system.retype(kKernelUntyped, ObjectType::Partition, 16, ps2, 1)));
    CHECK(f.system.create_partition(ps2, cs, "beta", manifest::RestartPolicy::Stop, 1) == Status::Exists);
    // Kernel memory never becomes a frame or a channel a partition could map (proofs/ KF-1).
    CHECK(f.system.retype(kKernelUntyped, ObjectType::Frame, 12, f.slot(), 1) == Status::Denied);
    CHECK(f.system.retype(kKernelUntyped, ObjectType::Channel, 12, f.slot(), 1) == Status::Denied);
    CHECK(std::string(f.system.last_refusal()) == "kernel memory cannot become mappable memory");
    // A Vcpu is an object of its own: constructed unbound, one page each.
    const u32 vs = f.slot();
    REQUIRE(ok(f.system.retype(kKernelUntyped, ObjectType::Vcpu, 0, vs, 2)));
    f.slot();
    CHECK(f.at(vs).cap.size_bits == caps::kVcpuBits);
    CHECK(f.at(vs + 1).cap.object == f.at(vs).cap.object + (1u << caps::kVcpuBits));
    const auto* v = static_cast<const Vcpu*>(arch::phys_to_virt(PhysAddr(f.at(vs).cap.object)));
    CHECK(v->partition == nullptr);
    CHECK(v->core == ~0u);
    CHECK(v->load_state() == VcpuState::Off);
}

TEST_CASE("frames are mapped within their capability's rights, into one partition only", "[system]") {
    Fixture f;
    Partition& p = *f.system.partition_in_slot(f.partition("alpha"));
    Partition& q = *f.system.partition_in_slot(f.partition("beta"));
    const u32 fr = f.frame(kPartitionPa);
    const u64 dev = attr::kRead | attr::kWrite;

    CHECK(f.system.map_frame(p, f.at(fr), Ipa(kGuestRam + 0x1000), kRwx) == Status::Misaligned);
    CHECK(f.system.map_frame(p, f.at(fr), Ipa(kGuestRam), attr::kExecute) == Status::InvalidArgument);
    CHECK(f.system.map_frame(p, f.at(fr), Ipa(kGuestRam), attr::kDevice | attr::kRead) == Status::InvalidArgument);
    CHECK(f.system.map_frame(p, f.at(manifest::kKernelUntypedSlot), Ipa(kGuestRam), kRwx) == Status::InvalidArgument);
    CHECK(p.region_count == 0);
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam)).ok());

    REQUIRE(ok(f.system.map_frame(p, f.at(fr), Ipa(kGuestRam), kRwx)));
    CHECK(f.at(fr).cap.mapped());
    CHECK(f.system.map_frame(p, f.at(fr), Ipa(kGuestRam + kFrame), kRwx) == Status::Exists);  // one mapping per cap
    // A copy may map the frame again in the same partition, never in another one.
    const u32 copy1 = f.slot(), copy2 = f.slot();
    REQUIRE(ok(caps::copy(f.at(fr), f.at(copy1))));
    REQUIRE(ok(caps::copy(f.at(fr), f.at(copy2))));
    CHECK(f.system.map_frame(q, f.at(copy1), Ipa(kGuestRam), kRwx) == Status::Overlap);
    CHECK(std::string(f.system.last_refusal()) == "frame mapped by another partition");
    REQUIRE(ok(f.system.map_frame(p, f.at(copy1), Ipa(kGuestRam + kFrame), attr::kRead)));
    CHECK(f.system.map_frame(q, f.at(copy2), Ipa(kGuestRam), kRwx) == Status::Overlap);
    // The IPA range must be free.
    const u32 other = f.frame(kPartitionPa + 4 * kMiB);
    CHECK(f.system.map_frame(p, f.at(other), Ipa(kGuestRam), kRwx) == Status::Exists);

    // Rights: a read-only mint cannot be mapped writable.
    const u32 ro = f.slot();
    REQUIRE(ok(caps::mint(f.at(other), f.at(ro), Rights::read() | Rights::grant(), 0)));
    CHECK(f.system.map_frame(q, f.at(ro), Ipa(kGuestRam), attr::kRead | attr::kWrite) == Status::Denied);
    REQUIRE(ok(f.system.map_frame(q, f.at(ro), Ipa(kGuestRam), attr::kRead)));
    CHECK(q.stage2.translate(Ipa(kGuestRam)).value().attrs == attr::kRead);

    // Device pages: from device untyped only, never executable.
    const u32 du = f.slot(), dp = f.slot();
    REQUIRE(ok(f.system.create_untyped(du, PhysAddr(0x0901'0000), 12, true)));
    CHECK(f.system.retype(du, ObjectType::Frame, 12, dp, 1) != Status::Ok);
    REQUIRE(ok(f.system.retype(du, ObjectType::DeviceMmio, 12, dp, 1)));
    CHECK(f.system.map_frame(p, f.at(dp), Ipa(0x0901'0000), dev | attr::kExecute) == Status::InvalidArgument);
    REQUIRE(ok(f.system.map_frame(p, f.at(dp), Ipa(0x0901'0000), dev)));
    CHECK(p.stage2.translate(Ipa(0x0901'0000)).value().attrs == (dev | attr::kDevice));

    // Deleting a mapped cap removes its mapping (and only its own).
    REQUIRE(ok(caps::delete_cap(f.at(copy1), f.system)));
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam + kFrame)).ok());
    CHECK(p.stage2.translate(Ipa(kGuestRam)).ok());
    CHECK(host::tlb_invalidations(p.vmid) >= 1);
    // Revoking the frame's original removes every mapping made through its copies.
    REQUIRE(ok(f.system.map_frame(p, f.at(copy2), Ipa(kGuestRam + kFrame), attr::kRead)));
    caps::RevokeProgress r = caps::revoke(f.at(fr), 16, f.system);
    CHECK(r.done);
    CHECK(r.deleted == 1);
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam + kFrame)).ok());
    CHECK(f.at(copy2).empty());

    const u32 v0 = f.vcpu_object(), v1 = f.vcpu_object();
    CHECK(f.system.bind_vcpu(p, v0, 1, 0) == Status::InvalidArgument);  // p has one vCPU
    CHECK(f.system.bind_vcpu(p, v0, 0, 4) == Status::OutOfRange);       // no core 4
    CHECK(f.system.bind_vcpu(p, fr, 0, 0) == Status::InvalidArgument);  // not a Vcpu cap
    CHECK(f.system.bind_vcpu(p, manifest::kBootSlots, 0, 0) == Status::OutOfRange);
    CHECK_FALSE(p.vcpus.bound(0));
    REQUIRE(ok(f.system.bind_vcpu(p, v0, 0, 2)));
    CHECK(&p.vcpus[0] == f.system.vcpu_on_core(2));
    CHECK(p.vcpus[0].partition == &p);
    CHECK(f.system.bind_vcpu(p, v1, 0, 3) == Status::Exists);  // vCPU 0 already bound
    CHECK(f.system.bind_vcpu(q, v1, 0, 2) == Status::Exists);  // core 2 taken
    CHECK(f.system.bind_vcpu(q, v0, 0, 3) == Status::Exists);  // that Vcpu object is p's
    CHECK(std::string(f.system.last_refusal()) == "Vcpu object already bound");
    CHECK(f.system.set_entry(p, 0, kGuestRam + 2, 0) == Status::Misaligned);
    CHECK(f.system.set_entry(p, 0, 0x1000, 0) == Status::OutOfRange);
    CHECK(f.system.set_entry(p, 0, 0x0901'0000, 0) == Status::OutOfRange);  // device memory
    CHECK(f.system.load_image(p, Ipa(kGuestRam + kFrame - 4), ram(platform::kPayloadBase), 8) == Status::OutOfRange);
}

TEST_CASE("seal refuses incomplete partitions and launches complete ones", "[system]") {
    Fixture f;
    f.partition("alpha");
    CHECK(f.system.seal() == Status::NotFound);  // no memory
    CHECK_FALSE(f.system.sealed());

    Fixture g;
    Partition& p = g.make("alpha", kPartitionPa, 1);
    static const u8 image[] = {1, 2, 3, 4, 5, 6, 7, 8};
    REQUIRE(ok(g.system.load_image(p, Ipa(kGuestRam + 0x100), image, sizeof image)));
    std::memset(ram(kPartitionPa + 0x2000), 0xAA, 64);  // stale data of a previous owner
    REQUIRE(ok(g.system.seal()));
    CHECK(std::memcmp(ram(kPartitionPa + 0x100), image, sizeof image) == 0);
    CHECK(ram(kPartitionPa + 0x2000)[0] == 0);  // scrubbed
    CHECK(p.load_state() == PartitionState::Running);
    CHECK(p.vcpus[0].load_state() == VcpuState::Runnable);
    CHECK(p.vcpus[0].regs.elr == kGuestRam);
    CHECK(p.vcpus[0].regs.x[0] == 7);
    CHECK(p.vcpus[0].reset_on_entry);
    CHECK(host::console_output().find("partition 'alpha' started on core 1") != std::string::npos);
    CHECK(g.system.retype(kKernelUntyped, ObjectType::Partition, 16, g.slot(), 1) == Status::Denied);
    CHECK(g.system.create_untyped(g.slot(), PhysAddr(0x5000'0000), 21, false) == Status::Denied);
}

TEST_CASE("a stage-2 fault stops only the faulting partition", "[system][containment]") {
    Fixture f;
    Partition& victim = f.make("victim", kPartitionPa, 1);
    Partition& attacker = f.make("attacker", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(ok(f.system.seal()));
    std::memset(ram(kPartitionPa + 0x3000), 0x5A, 16);  // the victim's working state
    Vcpu& a = attacker.vcpus[0];
    a.regs.elr = kGuestRam + 0x40;
    u64 ipa = kPartitionPa;  // as an IPA this is outside the attacker's space
    CHECK_FALSE(exit_with(f.system, a, ExitKind::Sync, kEsrDataAbortWrite, ipa, (ipa >> 12) << 4));

    CHECK(attacker.load_state() == PartitionState::Stopped);
    CHECK(a.load_state() == VcpuState::Off);
    CHECK(victim.load_state() == PartitionState::Running);
    CHECK(ram(kPartitionPa + 0x3000)[15] == 0x5A);
    const std::string& out = host::console_output();
    CHECK(out.find("FAULT partition 'attacker' core 2: stage-2 data abort (write) at IPA 0x48000000") !=
          std::string::npos);
    CHECK(out.find("translation fault level 2, write, ELR 0x40000040") != std::string::npos);
    CHECK(out.find("partition 'attacker' stopped") != std::string::npos);
    CHECK(host::system_off_requests() == 0);

    // The victim still runs its hypercalls; when it stops too, the machine powers off.
    Vcpu& v = victim.vcpus[0];
    CHECK(hypercall(f.system, v, hvc::psci::kSystemOff) == false);
    CHECK(victim.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("all partitions stopped; powering off") != std::string::npos);
    CHECK(host::system_off_requests() == 1);
}

TEST_CASE("restart policy rescrubs and reloads the partition", "[system][containment]") {
    Fixture f;
    Partition& p = f.make("phoenix", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
    static const u8 image[] = {0xC0, 0xDE};
    REQUIRE(ok(f.system.load_image(p, Ipa(kGuestRam), image, sizeof image)));
    REQUIRE(ok(f.system.seal()));
    Vcpu& v = p.vcpus[0];
    ram(kPartitionPa)[0] = 0xFF;          // the guest overwrote its own code
    ram(kPartitionPa + 0x8000)[0] = 0x77;  // and left data behind
    v.regs.x[5] = 0x1234;
    CHECK_FALSE(exit_with(f.system, v, ExitKind::Sync, kEsrSysReg));
    CHECK(p.load_state() == PartitionState::Running);
    CHECK(p.restarts == 1);
    CHECK(v.load_state() == VcpuState::Runnable);
    CHECK(v.regs.x[5] == 0);
    CHECK(ram(kPartitionPa)[0] == 0xC0);
    CHECK(ram(kPartitionPa + 0x8000)[0] == 0);
    CHECK(host::console_output().find("trapped system register access") != std::string::npos);
    CHECK(host::console_output().find("partition 'phoenix' restarting (restart 1)") != std::string::npos);
}

TEST_CASE("hostile hypercalls get an error status and change nothing", "[system][hypercall]") {
    Fixture f;
    Partition& p = f.make("guest", kPartitionPa, 1, 2);
    REQUIRE(ok(f.system.seal()));
    Vcpu& v = p.vcpus[0];

    CHECK(hypercall(f.system, v, 0xC600'00FF));
    CHECK(status_of(v) == static_cast<i64>(Status::NotSupported));
    CHECK(hypercall(f.system, v, 0x1234));
    CHECK(v.regs.x[0] == ~0ull);  // SMCCC unknown function
    CHECK(hypercall(f.system, v, static_cast<u64>(hvc::Function::ConsoleWrite), {0, 41}));
    CHECK(status_of(v) == static_cast<i64>(Status::InvalidArgument));
    // x1 (the capability address) is reserved on every call.
    for (auto fn : {hvc::Function::ConsoleWrite, hvc::Function::AbiVersion, hvc::Function::PartitionInfo}) {
        CHECK(hypercall(f.system, v, static_cast<u64>(fn), {1, 1, 'x'}));
        CHECK(status_of(v) == static_cast<i64>(Status::InvalidArgument));
    }

    // HVC with a non-zero immediate is not the ABI.
    v.regs.x[0] = static_cast<u64>(hvc::Function::AbiVersion);
    CHECK(exit_with(f.system, v, ExitKind::Sync, kEsrHvc0 | 0x42));
    CHECK(v.regs.x[0] == ~0ull);

    CHECK(hypercall(f.system, v, static_cast<u64>(hvc::Function::AbiVersion)));
    CHECK(status_of(v) == 0);
    CHECK(v.regs.x[1] == hvc::kAbiVersion);
    CHECK(hypercall(f.system, v, static_cast<u64>(hvc::Function::PartitionInfo)));
    CHECK(v.regs.x[1] == p.index);
    CHECK(v.regs.x[3] == 2);
    CHECK(v.regs.x[4] == 0);  // restarts so far

    // Console: control characters cannot forge lines or drive the terminal.
    host::reset_console();
    u64 text = 0;
    const char msg[] = "hi\x1b[2J\n";
    std::memcpy(&text, msg, 8);
    CHECK(hypercall(f.system, v, static_cast<u64>(hvc::Function::ConsoleWrite), {0, 8, text}));
    CHECK(status_of(v) == 0);
    CHECK(host::console_output() == "[guest] hi?[2J\n");

    // An SMC that is not PSCI is answered "unknown" and skipped, never forwarded.
    v.regs.x[0] = 0xC200'0001;
    u64 elr = v.regs.elr;
    CHECK(exit_with(f.system, v, ExitKind::Sync, kEsrSmc));
    CHECK(v.regs.x[0] == ~0ull);
    CHECK(v.regs.elr == elr + 4);
    CHECK(p.load_state() == PartitionState::Running);
}

TEST_CASE("PSCI is emulated per partition", "[system][psci]") {
    Fixture f;
    Partition& p = f.make("smp", kPartitionPa, 0, 2);
    Partition& q = f.make("other", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(ok(f.system.seal()));
    Vcpu& v0 = p.vcpus[0];
    Vcpu& v1 = p.vcpus[1];

    CHECK(hypercall(f.system, v0, hvc::psci::kVersion));
    CHECK(v0.regs.x[0] == 0x10001);
    CHECK(hypercall(f.system, v0, hvc::psci::kAffinityInfo, {1, 0}));
    CHECK(v0.regs.x[0] == 1);  // off
    // Only its own vCPUs: MPIDR 2 would be a core of another partition.
    CHECK(hypercall(f.system, v0, hvc::psci::kCpuOn, {2, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kInvalidParameters);
    CHECK(hypercall(f.system, v0, hvc::psci::kCpuOn, {0x100, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kInvalidParameters);
    CHECK(q.vcpus[0].load_state() == VcpuState::Runnable);

    CHECK(hypercall(f.system, v0, hvc::psci::kCpuOn, {1, kGuestRam + 0x80, 0xAB}));
    CHECK(status_of(v0) == hvc::psci::kSuccess);
    CHECK(v1.load_state() == VcpuState::Runnable);
    CHECK(v1.regs.elr == kGuestRam + 0x80);
    CHECK(v1.regs.x[0] == 0xAB);
    CHECK(hypercall(f.system, v0, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kOnPending);  // not yet entered by its core
    CHECK(hypercall(f.system, v0, hvc::psci::kAffinityInfo, {1, 0}));
    CHECK(v0.regs.x[0] == 2);  // on pending
    v1.store_state(VcpuState::Running);
    CHECK(hypercall(f.system, v0, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kAlreadyOn);
    CHECK(hypercall(f.system, v0, hvc::psci::kAffinityInfo, {1, 0}));
    CHECK(v0.regs.x[0] == 0);  // on
    v1.store_state(VcpuState::Runnable);

    // While the partition is being taken down no vCPU can be started (the stop settles them all).
    p.store_state(PartitionState::Stopping);
    v1.store_state(VcpuState::Off);
    v0.regs.x[0] = hvc::psci::kCpuOn;
    v0.regs.x[1] = 1;
    v0.regs.x[2] = kGuestRam;
    CHECK(handle_psci(f.system, v0));
    CHECK(status_of(v0) == hvc::psci::kDenied);
    CHECK(v1.load_state() == VcpuState::Off);
    p.store_state(PartitionState::Running);
    v1.store_state(VcpuState::Runnable);

    // CPU_OFF of one vCPU leaves the partition running; of the last one stops it.
    v1.store_state(VcpuState::Running);
    CHECK_FALSE(hypercall(f.system, v1, hvc::psci::kCpuOff));
    CHECK(p.load_state() == PartitionState::Running);
    CHECK_FALSE(hypercall(f.system, v0, hvc::psci::kCpuOff));
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("partition 'smp' stopped (all vCPUs off)") != std::string::npos);

    // SYSTEM_RESET restarts only the caller; the machine is never reset.
    Vcpu& w = q.vcpus[0];
    CHECK_FALSE(hypercall(f.system, w, hvc::psci::kSystemReset));
    CHECK(q.load_state() == PartitionState::Running);
    CHECK(q.restarts == 1);
    CHECK(host::system_off_requests() == 0);
}

TEST_CASE("PSCI 1.1: the calls Linux makes, each answered for the caller's partition only", "[system][psci]") {
    Fixture f;
    Partition& p = f.make("smp", kPartitionPa, 0, 3);
    REQUIRE(ok(f.system.seal()));
    Vcpu& v0 = p.vcpus[0];
    const auto call = [&](u64 fid, std::initializer_list<u64> args) {
        CHECK(hypercall(f.system, v0, fid, args));
        return status_of(v0);
    };
    namespace psci = hvc::psci;
    SECTION("PSCI_FEATURES: every implemented call, and nothing else") {
        for (u64 fid : {psci::kVersion, psci::kCpuSuspend, psci::kCpuSuspend32, psci::kCpuOff, psci::kCpuOn,
                        psci::kCpuOn32, psci::kAffinityInfo, psci::kAffinityInfo32, psci::kMigrateInfoType,
                        psci::kSystemOff, psci::kSystemReset, psci::kFeatures}) {
            INFO(std::hex << fid);
            CHECK(call(psci::kFeatures, {fid}) == psci::kSuccess);
        }
        for (u64 fid : {0x8400'0005ull /* MIGRATE */, 0xC400'0007ull /* MIGRATE_INFO_UP_CPU */,
                        0xC400'0012ull /* SYSTEM_RESET2 */, 0xC400'000Eull /* SYSTEM_SUSPEND */,
                        0x8000'0000ull /* SMCCC_VERSION */, 0xC600'0000ull, 0x1'8400'0000ull}) {
            INFO(std::hex << fid);
            CHECK(call(psci::kFeatures, {fid}) == psci::kNotSupported);
        }
    }
    SECTION("MIGRATE_INFO_TYPE: no Trusted OS to migrate") {
        CHECK(call(psci::kMigrateInfoType, {}) == psci::kMigrationNotRequired);
        CHECK(call(0x8400'0005, {1}) == psci::kNotSupported);  // MIGRATE itself
    }
    SECTION("CPU_SUSPEND returns at once; a power-down state's entry must be executable") {
        const u64 elr = v0.regs.elr;
        CHECK(call(psci::kCpuSuspend, {0x0, 0, 0}) == psci::kSuccess);                  // standby
        CHECK(call(psci::kCpuSuspend, {0x1'0000, kGuestRam + 0x40, 7}) == psci::kSuccess);  // power down
        CHECK(call(psci::kCpuSuspend32, {0x1'0003, kGuestRam, 7}) == psci::kSuccess);
        CHECK(call(psci::kCpuSuspend, {0x1'0000, kGuestRam + 0x40'0000, 7}) == psci::kInvalidAddress);
        CHECK(call(psci::kCpuSuspend, {0x1'0000, kGuestRam + 2, 7}) == psci::kInvalidAddress);
        CHECK(call(psci::kCpuSuspend, {0x4'0000, 0, 0}) == psci::kInvalidParameters);  // reserved bit
        CHECK(v0.regs.elr == elr);  // HVC: the guest resumes after the call
        CHECK(v0.load_state() == VcpuState::Running);
    }
    SECTION("CPU_ON: its own vCPUs, an executable entry, SMC32 arguments") {
        CHECK(call(psci::kCpuOn, {1, kGuestRam + 0x40'0000, 0}) == psci::kInvalidAddress);  // unmapped
        CHECK(call(psci::kCpuOn, {1, kGuestRam + 1, 0}) == psci::kInvalidAddress);
        CHECK(p.vcpus[1].load_state() == VcpuState::Off);
        CHECK(call(psci::kCpuOn, {3, kGuestRam, 0}) == psci::kInvalidParameters);  // it has three
        CHECK(call(psci::kCpuOn32, {0x1'0000'0002, kGuestRam + 0x10, 0xffff'ffff'0000'0005}) == psci::kSuccess);
        CHECK(p.vcpus[2].regs.elr == kGuestRam + 0x10);
        CHECK(p.vcpus[2].regs.x[0] == 5);  // the upper half of an SMC32 argument is not an argument
        CHECK(call(psci::kAffinityInfo32, {0x1'0000'0002, 0}) == psci::kAffinityOnPending);
        CHECK(call(psci::kAffinityInfo, {2, 1}) == psci::kInvalidParameters);  // level 1: none
        CHECK(call(psci::kAffinityInfo, {0x100, 0}) == psci::kInvalidParameters);
    }
}

TEST_CASE("capability invocations from a partition: mint, rights, map, revoke", "[system][hypercall][caps]") {
    Fixture f;
    const u32 ps = f.partition("capuser");
    Partition& p = *f.system.partition_in_slot(ps);
    const u32 fr = f.frame(kPartitionPa);
    REQUIRE(ok(f.system.map_frame(p, f.at(fr), Ipa(kGuestRam), kRwx)));
    const u32 scratch = f.frame(kPartitionPa + 4 * kMiB, 12);
    const Rights rwg = Rights::read() | Rights::write() | Rights::grant();
    REQUIRE(ok(f.system.grant_cap(ps + 1, p, 1, rwg)));  // its own CNode
    REQUIRE(ok(f.system.grant_cap(scratch, p, 4, rwg)));
    f.bind(p, 0, 1);
    REQUIRE(ok(f.system.set_entry(p, 0, kGuestRam, 0)));
    REQUIRE(ok(f.system.seal()));
    Vcpu& v = p.vcpus[0];
    auto call = [&](hvc::Function fn, std::initializer_list<u64> args) {
        CHECK(hypercall(f.system, v, static_cast<u64>(fn), args));
        return status_of(v);
    };
    using F = hvc::Function;
    constexpr u64 kScratchIpa = 0x5000'0000;

    CHECK(call(F::PartitionInfo, {}) == 0);
    CHECK(v.regs.x[5] == System::kCSpaceRadix);
    CHECK(call(F::CapIdentify, {4}) == 0);
    CHECK(v.regs.x[1] == static_cast<u64>(ObjectType::Frame));
    CHECK(v.regs.x[2] == rwg.bits());
    CHECK(v.regs.x[5] == 0);  // unmapped
    CHECK(call(F::CapIdentify, {9999}) == static_cast<i64>(Status::InvalidArgument));
    CHECK(call(F::CapIdentify, {200}) == 0);
    CHECK(v.regs.x[1] == 0);  // an empty slot

    // Mint a read-only copy; mapping it writable exceeds its rights.
    CHECK(call(F::CapMint, {4, 10, Rights::kRead, 0}) == 0);
    CHECK(call(F::CapIdentify, {10}) == 0);
    CHECK(v.regs.x[2] == Rights::kRead);
    CHECK(call(F::FrameMap, {10, kScratchIpa, attr::kRead | attr::kWrite}) == static_cast<i64>(Status::Denied));
    CHECK(call(F::CapCopy, {10, 11}) == static_cast<i64>(Status::Denied));  // no Grant
    CHECK(call(F::CapMint, {4, 12, Rights::kAllBits, 0}) == 0);             // rights never grow
    CHECK(call(F::CapIdentify, {12}) == 0);
    CHECK(v.regs.x[2] == rwg.bits());
    CHECK(call(F::CapMint, {4, 1, Rights::kRead, 0}) == static_cast<i64>(Status::Exists));
    CHECK(call(F::CapMint, {4, 13, 0x100, 0}) == static_cast<i64>(Status::InvalidArgument));
    CHECK(call(F::CapMove, {12, 13}) == 0);
    CHECK(call(F::CapDelete, {13}) == 0);
    CHECK(call(F::CapDelete, {13}) == static_cast<i64>(Status::NotFound));

    CHECK(call(F::FrameMap, {10, kScratchIpa + 1, attr::kRead}) == static_cast<i64>(Status::Misaligned));
    CHECK(call(F::FrameMap, {10, 1ull << 40, attr::kRead}) == static_cast<i64>(Status::OutOfRange));
    CHECK(call(F::FrameMap, {10, kGuestRam, attr::kRead}) == static_cast<i64>(Status::Exists));  // IPA in use
    CHECK(call(F::FrameMap, {10, kScratchIpa, attr::kRead}) == 0);
    CHECK(call(F::FrameMap, {10, kScratchIpa + 0x1000, attr::kRead}) == static_cast<i64>(Status::Exists));
    CHECK(call(F::FrameMap, {4, kScratchIpa + 0x1000, attr::kRead | attr::kWrite}) == 0);
    auto t = p.stage2.translate(Ipa(kScratchIpa));
    REQUIRE(t.ok());
    CHECK(t.value().pa == PhysAddr(kPartitionPa + 4 * kMiB));
    CHECK(t.value().attrs == attr::kRead);
    CHECK(call(F::CapIdentify, {10}) == 0);
    CHECK(v.regs.x[5] == 1);
    CHECK(v.regs.x[6] == kScratchIpa);

    // Revoke: the minted copy goes, and its mapping with it; the original's own mapping stays.
    CHECK(call(F::CapRevoke, {4}) == 0);
    CHECK(v.regs.x[1] == 1);
    CHECK(call(F::CapIdentify, {10}) == 0);
    CHECK(v.regs.x[1] == 0);
    CHECK_FALSE(p.stage2.translate(Ipa(kScratchIpa)).ok());
    CHECK(p.stage2.translate(Ipa(kScratchIpa + 0x1000)).ok());
    CHECK(call(F::FrameUnmap, {4}) == 0);
    CHECK_FALSE(p.stage2.translate(Ipa(kScratchIpa + 0x1000)).ok());
    CHECK(call(F::FrameUnmap, {4}) == static_cast<i64>(Status::NotFound));
    // The partition's boot mapping belongs to the kernel's cap: nothing it holds can remove it.
    CHECK(call(F::FrameUnmap, {1}) == static_cast<i64>(Status::InvalidArgument));
    CHECK(p.stage2.translate(Ipa(kGuestRam)).ok());
    CHECK(p.load_state() == PartitionState::Running);
}

TEST_CASE("a partition with a control capability stops and restarts another", "[system][hypercall][control]") {
    Fixture f;
    Partition& manager = f.make("manager", kPartitionPa, 1);
    Partition& victim = f.make("victim", kPartitionPa + 4 * kMiB, 2);
    // Boot slots: each make() takes five (Partition, CNode, untyped, frame, Vcpu).
    const u32 victim_slot = manifest::kFirstFreeBootSlot + 5;
    REQUIRE(f.system.partition_in_slot(victim_slot) == &victim);
    REQUIRE(ok(f.system.grant_cap(victim_slot, manager, 1, Rights::control())));
    REQUIRE(ok(f.system.grant_cap(victim_slot, manager, 2, Rights::grant())));  // no Control
    REQUIRE(ok(f.system.grant_cap(manifest::kFirstFreeBootSlot + 3, manager, 3, Rights::read())));  // a frame
    REQUIRE(ok(f.system.seal()));
    Vcpu& m = manager.vcpus[0];
    using F = hvc::Function;
    auto call = [&](F fn, u64 cptr) {
        bool resume = hypercall(f.system, m, static_cast<u64>(fn), {cptr});
        return std::pair<i64, bool>{status_of(m), resume};
    };

    CHECK(call(F::PartitionStop, 2).first == static_cast<i64>(Status::Denied));
    CHECK(call(F::PartitionStop, 3).first == static_cast<i64>(Status::InvalidArgument));
    CHECK(call(F::PartitionStop, 9).first == static_cast<i64>(Status::InvalidArgument));  // empty slot
    CHECK(victim.load_state() == PartitionState::Running);

    ram(kPartitionPa + 4 * kMiB + 0x100)[0] = 0x77;  // the victim's state before the restart
    auto r = call(F::PartitionRestart, 1);
    CHECK(r.first == 0);
    CHECK(r.second);  // the manager resumes
    CHECK(victim.restarts == 1);
    CHECK(victim.load_state() == PartitionState::Running);
    CHECK(ram(kPartitionPa + 4 * kMiB + 0x100)[0] == 0);  // scrubbed
    CHECK(host::console_output().find("partition 'victim' restarting (restart 1, by 'manager')") != std::string::npos);

    CHECK(call(F::PartitionStop, 1).first == 0);
    CHECK(victim.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("partition 'victim' stopped (by 'manager')") != std::string::npos);
    CHECK(call(F::PartitionStop, 1).first == static_cast<i64>(Status::NotFound));
    // A partition stopped for good can be brought back.
    CHECK(call(F::PartitionRestart, 1).first == 0);
    CHECK(victim.load_state() == PartitionState::Running);
    CHECK(victim.restarts == 2);
    CHECK(host::system_off_requests() == 0);
    CHECK(manager.load_state() == PartitionState::Running);
}

TEST_CASE("partitions that control each other in a cycle are refused at seal", "[system][control]") {
    Fixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    const u32 a_slot = manifest::kFirstFreeBootSlot, b_slot = manifest::kFirstFreeBootSlot + 5;
    REQUIRE(ok(f.system.grant_cap(b_slot, a, 1, Rights::control())));
    REQUIRE(ok(f.system.grant_cap(a_slot, a, 2, Rights::control())));  // itself: no cycle
    REQUIRE(ok(f.system.grant_cap(a_slot, b, 1, Rights::control())));
    CHECK(f.system.seal() == Status::Denied);
    CHECK(std::string(f.system.last_refusal()) == "partitions control each other in a cycle");
    CHECK_FALSE(f.system.sealed());
}

TEST_CASE("an interrupt exit resumes a running vCPU and parks a stopped one", "[system]") {
    Fixture f;
    Partition& p = f.make("guest", kPartitionPa, 1, 2);
    REQUIRE(ok(f.system.seal()));
    Vcpu& v0 = p.vcpus[0];
    CHECK(exit_with(f.system, v0, ExitKind::Irq));
    CHECK(exit_with(f.system, v0, ExitKind::Fiq));
    // SError is the partition's fault.
    CHECK_FALSE(exit_with(f.system, v0, ExitKind::SError, 0xbe000000));
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("FAULT partition 'guest' core 1: SError") != std::string::npos);
}

TEST_CASE("the boot program runs a manifest through the system operations", "[system][boot]") {
    using manifest::OpKind;
    ManifestProgram m;
    const auto op = [&m](OpKind kind, u32 slot, std::initializer_list<u64> args, const char* name = "") {
        m.op(kind, slot, args, name);
    };
    const u64 part = static_cast<u64>(ObjectType::Partition), cnode = static_cast<u64>(ObjectType::CNode),
              frame = static_cast<u64>(ObjectType::Frame);
    auto program = [&](u64 ram_pa) {
        m.ops.clear();
        op(OpKind::Retype, kKernelUntyped, {part, 16, 2, 1});
        op(OpKind::Retype, kKernelUntyped, {cnode, System::kCSpaceRadix, 3, 1});
        op(OpKind::CreatePartition, 2, {3, 0, 1}, "solo");
        op(OpKind::GrantCap, 3, {2, 1, Rights::kRead | Rights::kWrite | Rights::kGrant});
        op(OpKind::CreateUntyped, 4, {ram_pa, 21, 0});
        op(OpKind::Retype, 4, {frame, 21, 5, 1});
        op(OpKind::MapFrame, 5, {2, kGuestRam, kRwx});
        op(OpKind::GrantCap, 5, {2, 2, Rights::kRead | Rights::kWrite | Rights::kGrant});
        op(OpKind::Retype, kKernelUntyped, {static_cast<u64>(ObjectType::Vcpu), 0, 6, 1});
        op(OpKind::BindVcpu, 6, {2, 0, 1});
        op(OpKind::StartVcpu, 0, {2, 0, kGuestRam, 0});
        op(OpKind::Seal, 0, {});
    };

    Fixture f;
    program(platform::kKernelImageBase & ~(kFrame - 1));  // over the kernel
    std::vector<u8> blob = m.blob();
    ManifestReader reader;
    REQUIRE(ok(reader.open(blob.data(), blob.size())));
    BootResult r = run_boot_program(f.system, reader);
    CHECK(r.status == Status::Denied);
    CHECK(r.op_index == 4);
    CHECK(std::string(r.reason) == "memory overlaps the kernel region");
    CHECK_FALSE(f.system.sealed());

    Fixture g;
    program(kPartitionPa);
    blob = m.blob();
    REQUIRE(ok(reader.open(blob.data(), blob.size())));
    r = run_boot_program(g.system, reader);
    CHECK(r.status == Status::Ok);
    CHECK(g.system.sealed());
    Partition& p = *g.system.partition(0);
    CHECK(g.system.vcpu_on_core(1) == &p.vcpus[0]);
    // The partition holds what it was granted, with the rights it was granted.
    const CapSlot* cspace = caps::cnode_slots(p.cspace_root);
    CHECK(cspace[1].cap.type == ObjectType::CNode);
    CHECK(cspace[2].cap.type == ObjectType::Frame);
    CHECK(cspace[2].cap.rights == (Rights::read() | Rights::write() | Rights::grant()));
    CHECK_FALSE(cspace[2].cap.mapped());  // the boot program's cap holds the mapping
    CHECK(p.stage2.translate(Ipa(kGuestRam)).value().pa == PhysAddr(kPartitionPa));
}

TEST_CASE("vCPUs are objects of their own: retyped, bound once, required at seal, never left dangling", "[system]") {
    Fixture f;
    const u32 ps = f.partition("smp", 2);
    Partition& p = f.partition(ps);
    REQUIRE(ok(f.system.map_frame(p, f.at(f.frame(kPartitionPa)), Ipa(kGuestRam), kRwx)));
    REQUIRE(ok(f.system.set_entry(p, 0, kGuestRam, 0)));
    const u32 v0 = f.vcpu_object(), v1 = f.vcpu_object();
    REQUIRE(ok(f.system.bind_vcpu(p, v0, 0, 1)));
    // One of two vCPUs bound: seal refuses.
    CHECK(f.system.seal() == Status::NotFound);
    CHECK(std::string(f.system.last_refusal()) == "a vCPU is not bound to a core");

    // Deleting a bound Vcpu's last cap (only the kernel could: it holds the original) unbinds it.
    Vcpu& first = p.vcpus[0];
    REQUIRE(ok(caps::delete_cap(f.at(v0), f.system)));
    CHECK_FALSE(p.vcpus.bound(0));
    CHECK(f.system.vcpu_on_core(1) == nullptr);
    CHECK(first.partition == nullptr);

    // Memory for vCPUs comes from whoever retypes them: a RAM untyped works as well.
    const u32 us = f.slot(), ram_vcpu = f.slot();
    REQUIRE(ok(f.system.create_untyped(us, PhysAddr(kPartitionPa + 4 * kMiB), 12, false)));
    REQUIRE(ok(f.system.retype(us, ObjectType::Vcpu, 0, ram_vcpu, 1)));
    REQUIRE(ok(f.system.bind_vcpu(p, ram_vcpu, 0, 1)));
    REQUIRE(ok(f.system.bind_vcpu(p, v1, 1, 2)));
    CHECK(p.vcpus[1].index == 1);
    CHECK(p.vcpus[1].core == 2);
    REQUIRE(ok(f.system.seal()));
    CHECK(p.vcpus[0].load_state() == VcpuState::Runnable);
    CHECK(f.system.bind_vcpu(p, v1, 1, 3) == Status::Denied);  // sealed

    // A running partition that loses a vCPU object is taken down for good first.
    REQUIRE(ok(caps::delete_cap(f.at(v1), f.system)));
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK_FALSE(p.vcpus.bound(1));
    CHECK(f.system.vcpu_on_core(2) == nullptr);
    // ... and stays down: a restart by a controller is refused.
    CHECK(f.system.control(p, true, p.vcpus[0]) == Status::NotFound);
    CHECK(p.load_state() == PartitionState::Stopped);
}

TEST_CASE("the checker reports a bound vCPU whose object no cap names (freed memory)", "[system][invariants]") {
    Fixture f;
    Partition& p = f.make("p", kPartitionPa, 1);
    CHECK(check_invariants(f.system).ok());
    // The Vcpu's only cap is the last slot make() used; empty it behind the kernel's back.
    CapSlot& vcpu_cap = f.at(f.next_slot - 1);
    REQUIRE(vcpu_cap.cap.type == ObjectType::Vcpu);
    vcpu_cap.cap = Capability{};
    const InvariantReport r = check_invariants(f.system);
    const InvariantViolation* v = r.find(InvariantId::CapabilitySoundness);
    REQUIRE(v != nullptr);
    bool found = false;
    for (u32 i = 0; i < r.stored; ++i)
        found |= std::string(r.violations[i].message) == "a bound vCPU is no Vcpu object any cap names" &&
                 r.violations[i].partition_index == p.index;
    CHECK(found);
}
