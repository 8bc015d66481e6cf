// System operations, the boot program and guest exits on the host: every refusal leaves the
// state as it was, faults are contained, hostile hypercalls get an error status.
#include <catch2/catch_test_macros.hpp>

#include <arch/host/host_memory.hpp>
#include <boot_program.hpp>
#include <bulkhead/hypercall.hpp>
#include <cstring>
#include <guest_exit.hpp>
#include <manifest_writer.hpp>
#include <string>
#include <system.hpp>
#include <vector>

using namespace bh;
namespace attr = bh::manifest::attr;

namespace {

constexpr u64 kRwx = attr::kRead | attr::kWrite | attr::kExecute;
constexpr u64 kGuestRam = platform::kGuestRamIpa;
constexpr u64 kPartitionPa = 0x4800'0000;
constexpr u64 kMiB = 1ull << 20;

struct Fixture {
    System system;
    Fixture() {
        host::reset_all();
        REQUIRE(ok(system.init(PhysAddr(platform::kObjectMemoryBase), platform::kObjectMemorySize,
                               platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores)));
    }
    Partition& make(const char* name, u64 pa, u32 core, u32 vcpus = 1,
                    manifest::RestartPolicy policy = manifest::RestartPolicy::Stop) {
        auto created = system.create_partition(name, policy, vcpus);
        REQUIRE(created.ok());
        Partition& p = *created.value();
        REQUIRE(ok(system.map_memory(p, Ipa(kGuestRam), PhysAddr(pa), kMiB, kRwx)));
        for (u32 v = 0; v < vcpus; ++v) REQUIRE(ok(system.bind_core(p, v, core + v)));
        REQUIRE(ok(system.set_entry(p, 0, kGuestRam, 7)));
        return p;
    }
};

u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }

// Runs vCPU `v` through one exit of `kind` with syndrome `esr`; true when it would resume.
bool exit_with(System& s, Vcpu& v, ExitKind kind, u64 esr = 0, u64 far = 0, u64 hpfar = 0) {
    if (v.load_state() == VcpuState::Runnable) v.store_state(VcpuState::Running);
    return handle_guest_exit(s, v, kind, ExitSyndrome{esr, far, hpfar});
}

constexpr u64 kEsrHvc0 = (0x16ull << 26) | (1ull << 25);
constexpr u64 kEsrSmc = (0x17ull << 26) | (1ull << 25);
constexpr u64 kEsrDataAbortWrite = (0x24ull << 26) | (1ull << 25) | (1u << 6) | 0x06;
constexpr u64 kEsrSysReg = (0x18ull << 26) | (1ull << 25);

bool hypercall(System& s, Vcpu& v, u64 fid, std::initializer_list<u64> args = {}) {
    v.regs.x[0] = fid;
    for (unsigned k = 1; k < 8; ++k) v.regs.x[k] = 0;
    unsigned i = 1;
    for (u64 a : args) v.regs.x[i++] = a;
    return exit_with(s, v, ExitKind::Sync, kEsrHvc0);
}

i64 status_of(const Vcpu& v) { return static_cast<i64>(v.regs.x[0]); }

}  // namespace

TEST_CASE("partition construction validates before it changes state", "[system]") {
    Fixture f;
    auto created = f.system.create_partition("alpha", manifest::RestartPolicy::Stop, 1);
    REQUIRE(created.ok());
    Partition& p = *created.value();

    CHECK(f.system.create_partition("alpha", manifest::RestartPolicy::Stop, 1).status() == Status::Exists);
    CHECK(f.system.create_partition("Bad Name", manifest::RestartPolicy::Stop, 1).status() == Status::InvalidArgument);
    CHECK(f.system.create_partition("v", manifest::RestartPolicy::Stop, 5).status() == Status::InvalidArgument);
    CHECK(f.system.create_partition("v", static_cast<manifest::RestartPolicy>(9), 1).status() == Status::InvalidArgument);
    // The console marks the kernel's lines "[bulkhead]": a partition of that name could forge them.
    CHECK(f.system.create_partition("bulkhead", manifest::RestartPolicy::Stop, 1).status() == Status::InvalidArgument);
    CHECK(f.system.partition_count() == 1);

    CHECK(f.system.map_memory(p, Ipa(kGuestRam), PhysAddr(kPartitionPa + 1), kMiB, kRwx) == Status::Misaligned);
    CHECK(f.system.map_memory(p, Ipa(kGuestRam), PhysAddr(platform::kKernelRegionBase), kMiB, kRwx) == Status::Denied);
    CHECK(f.system.map_memory(p, Ipa(kGuestRam), PhysAddr(platform::kPayloadBase), kMiB, kRwx) == Status::Denied);
    CHECK(f.system.map_memory(p, Ipa(kGuestRam), PhysAddr(0xC000'0000), kMiB, kRwx) == Status::OutOfRange);
    CHECK(f.system.map_memory(p, Ipa(kGuestRam), PhysAddr(kPartitionPa), 0, kRwx) == Status::OutOfRange);
    CHECK(f.system.map_memory(p, Ipa(kGuestRam), PhysAddr(kPartitionPa), kMiB, attr::kExecute) == Status::InvalidArgument);
    // MMIO is default deny: the GIC, the UART and fw_cfg are never assignable.
    u64 dev = attr::kRead | attr::kWrite | attr::kDevice;
    CHECK(f.system.map_memory(p, Ipa(0x0800'0000), PhysAddr(0x0800'0000), 0x1'0000, dev) == Status::Denied);
    CHECK(f.system.map_memory(p, Ipa(0x0900'0000), PhysAddr(0x0900'0000), 0x1000, dev) == Status::Denied);
    CHECK(f.system.map_memory(p, Ipa(0x0902'0000), PhysAddr(0x0902'0000), 0x1000, dev) == Status::Denied);
    CHECK(f.system.map_memory(p, Ipa(0x0901'0000), PhysAddr(0x0901'0000), 0x1000, dev | attr::kExecute) ==
          Status::InvalidArgument);
    CHECK(p.region_count == 0);
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam)).ok());

    REQUIRE(ok(f.system.map_memory(p, Ipa(kGuestRam), PhysAddr(kPartitionPa), kMiB, kRwx)));
    REQUIRE(ok(f.system.map_memory(p, Ipa(0x0901'0000), PhysAddr(0x0901'0000), 0x1000, dev)));
    CHECK(f.system.map_memory(p, Ipa(kGuestRam + kMiB / 2), PhysAddr(kPartitionPa + 4 * kMiB), kMiB, kRwx) ==
          Status::Overlap);

    // Memory exclusivity: no frame goes to two partitions.
    auto other = f.system.create_partition("beta", manifest::RestartPolicy::Stop, 1);
    REQUIRE(other.ok());
    CHECK(f.system.map_memory(*other.value(), Ipa(kGuestRam), PhysAddr(kPartitionPa + 0x1000), 0x1000, kRwx) ==
          Status::Overlap);
    CHECK(std::string(f.system.last_refusal()) == "memory already given to a partition");
    // A device belongs to one partition too.
    CHECK(f.system.map_memory(*other.value(), Ipa(0x0901'0000), PhysAddr(0x0901'0000), 0x1000, dev) == Status::Overlap);
    CHECK(std::string(f.system.last_refusal()) == "MMIO already given to a partition");
    // virtio-mmio is not behind the SMMU: never assignable.
    CHECK(f.system.map_memory(*other.value(), Ipa(0x0a00'0000), PhysAddr(0x0a00'0000), 0x1000, dev) == Status::Denied);
    CHECK(other.value()->region_count == 0);

    CHECK(f.system.bind_core(p, 1, 0) == Status::InvalidArgument);
    CHECK(f.system.bind_core(p, 0, 4) == Status::OutOfRange);
    REQUIRE(ok(f.system.bind_core(p, 0, 2)));
    CHECK(f.system.bind_core(*other.value(), 0, 2) == Status::Exists);
    CHECK(f.system.set_entry(p, 0, kGuestRam + 2, 0) == Status::Misaligned);
    CHECK(f.system.set_entry(p, 0, 0x1000, 0) == Status::OutOfRange);
    CHECK(f.system.load_image(p, Ipa(kGuestRam + kMiB - 4), ram(platform::kPayloadBase), 8) == Status::OutOfRange);
}

TEST_CASE("seal refuses incomplete partitions and launches complete ones", "[system]") {
    Fixture f;
    auto created = f.system.create_partition("alpha", manifest::RestartPolicy::Stop, 1);
    REQUIRE(created.ok());
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
    CHECK(g.system.create_partition("late", manifest::RestartPolicy::Stop, 1).status() == Status::Denied);
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
    CHECK(v0.regs.x[0] == 0x10000);
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
    CHECK(status_of(v0) == hvc::psci::kAlreadyOn);

    // While the partition is being taken down no vCPU can be started (the stop settles them all).
    p.store_state(PartitionState::Stopping);
    v1.store_state(VcpuState::Off);
    v0.regs.x[0] = hvc::psci::kCpuOn;
    v0.regs.x[1] = 1;
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
    Fixture f;
    std::vector<u8> blob(sizeof(manifest::ManifestHeader) + 4 * sizeof(manifest::ManifestOp) + 16, 0);
    manifest::ManifestHeader h{};
    h.magic = manifest::kMagic;
    h.version = manifest::kVersion;
    h.op_size = sizeof(manifest::ManifestOp);
    h.op_count = 5;
    h.ops_offset = sizeof h;
    h.ram_base = platform::kRamBase;
    h.ram_size = platform::kDefaultRamSize;
    blob.resize(sizeof h + 5 * sizeof(manifest::ManifestOp));
    std::memcpy(blob.data(), &h, sizeof h);
    auto op = [&](u32 i, manifest::OpKind kind, std::initializer_list<u64> args, const char* name = "") {
        manifest::ManifestOp o{};
        o.kind = kind;
        o.partition = 0;
        unsigned k = 0;
        for (u64 a : args) o.arg[k++] = a;
        std::strncpy(o.name, name, sizeof o.name - 1);
        std::memcpy(blob.data() + sizeof h + i * sizeof o, &o, sizeof o);
    };
    op(0, manifest::OpKind::CreatePartition, {0, 1}, "solo");
    op(1, manifest::OpKind::MapMemory, {kGuestRam, platform::kKernelImageBase, kMiB, kRwx});  // over the kernel
    op(2, manifest::OpKind::BindCore, {0, 1});
    op(3, manifest::OpKind::StartVcpu, {0, kGuestRam, 0});
    op(4, manifest::OpKind::Seal, {});
    REQUIRE(manifest_finalize(blob.data(), blob.size()) == blob.size());

    ManifestReader reader;
    REQUIRE(ok(reader.open(blob.data(), blob.size())));
    BootResult r = run_boot_program(f.system, reader);
    CHECK(r.status == Status::Denied);
    CHECK(r.op_index == 1);
    CHECK(std::string(r.reason) == "memory overlaps the kernel region");
    CHECK_FALSE(f.system.sealed());

    Fixture g;
    op(1, manifest::OpKind::MapMemory, {kGuestRam, kPartitionPa, kMiB, kRwx});
    REQUIRE(manifest_finalize(blob.data(), blob.size()) == blob.size());
    REQUIRE(ok(reader.open(blob.data(), blob.size())));
    r = run_boot_program(g.system, reader);
    CHECK(r.status == Status::Ok);
    CHECK(g.system.sealed());
    CHECK(g.system.vcpu_on_core(1) == &g.system.partition(0)->vcpus[0]);
}
