// Guest exits end to end (calls/guest_exit.hpp): the syndrome decoded as the hardware reports it
// (arch::decode_exit), hostile hypercalls answered with an error status, vendor calls that
// invoke no capability, interrupts and faults.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <cstring>
#include <string>

using namespace bh;
using namespace bh::test;

namespace {

std::string described(const arch::GuestExit& e) {
    LineBuffer line;
    arch::describe_fault(e, line);
    return std::string(line.data(), line.size());
}

}  // namespace

TEST_CASE("exits are decoded from the syndrome registers as the hardware reports them", "[guest_exit]") {
    using Cause = arch::GuestExit::Cause;
    const auto sync = [](u64 esr, u64 far = 0, u64 hpfar = 0) {
        return arch::decode_exit(ExitVector::Sync, arch::Syndrome{esr, far, hpfar});
    };
    arch::GuestExit e = sync(kEsrHvc0 | 0x42);
    CHECK(e.cause == Cause::Hypercall);
    CHECK(e.immediate == 0x42);
    CHECK(sync(kEsrHvc0).immediate == 0);
    CHECK(sync(kEsrSmc).cause == Cause::SecureCall);
    e = sync(kEsrDataAbortWrite, 0x1234'5abc, 0x48'0000 << 4);
    CHECK(e.cause == Cause::MemoryAbort);
    CHECK(e.write);
    CHECK(e.ipa == Ipa(0x4'8000'0abc));  // HPFAR's page, FAR's offset
    CHECK(std::string(arch::fault_kind(e)) == "stage-2 data abort (write)");
    e = sync((0x20ull << 26) | (1ull << 25), 0x40'0000'0010, 0x40'0000'0000 >> 8);  // instruction abort
    CHECK(e.cause == Cause::MemoryAbort);
    CHECK_FALSE(e.write);
    CHECK(e.ipa == Ipa(0x40'0000'0010));
    CHECK(std::string(arch::fault_kind(e)) == "stage-2 instruction abort");
    e = sync(kEsrSysReg);
    CHECK(e.cause == Cause::Trap);
    CHECK(std::string(arch::fault_kind(e)) == "trapped system register access");
    CHECK(std::string(arch::fault_kind(sync(0))) == "undefined instruction");
    CHECK(arch::decode_exit(ExitVector::Irq, {}).cause == Cause::Interrupt);
    CHECK(arch::decode_exit(ExitVector::Fiq, {}).cause == Cause::Interrupt);
    e = arch::decode_exit(ExitVector::SError, arch::Syndrome{0xbe000000, 0, 0});
    CHECK(e.cause == Cause::SError);
    CHECK(std::string(arch::fault_kind(e)) == "SError");
    CHECK(described(e) == "SError");
    e = arch::decode_exit(ExitVector::Aarch32, {});
    CHECK(e.cause == Cause::Aarch32);
    CHECK(std::string(arch::fault_kind(e)) == "AArch32 exception");
    CHECK(described(sync(kEsrDataAbortWrite)).find("translation fault level 2, write") != std::string::npos);
}

TEST_CASE("hostile hypercalls get an error status and change nothing", "[system][hypercall][INV-2][INV-4][T-11][T-13][T-22][T-32][T-56]") {
    KernelFixture f;
    Partition& p = f.make("guest", kPartitionPa, 1, 2);
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];

    CHECK(hypercall(f.kernel, v, 0xC600'00FF));
    CHECK(status_of(v) == st(Status::NotSupported));
    CHECK(hypercall(f.kernel, v, 0x1234));
    CHECK(v.regs.x[0] == ~0ull);  // SMCCC unknown function
    CHECK(hypercall(f.kernel, v, static_cast<u64>(hvc::Function::ConsoleWrite), {0, 41}));
    CHECK(status_of(v) == st(Status::InvalidArgument));
    // x1 (the capability address) is reserved on every call.
    for (auto fn : {hvc::Function::ConsoleWrite, hvc::Function::AbiVersion, hvc::Function::PartitionInfo}) {
        CHECK(hypercall(f.kernel, v, static_cast<u64>(fn), {1, 1, 'x'}));
        CHECK(status_of(v) == st(Status::InvalidArgument));
    }

    // HVC with a non-zero immediate is not the ABI.
    v.regs.x[0] = static_cast<u64>(hvc::Function::AbiVersion);
    CHECK(exit_with(f.kernel, v, ExitVector::Sync, kEsrHvc0 | 0x42));
    CHECK(v.regs.x[0] == ~0ull);

    CHECK(hypercall(f.kernel, v, static_cast<u64>(hvc::Function::AbiVersion)));
    CHECK(status_of(v) == 0);
    CHECK(v.regs.x[1] == hvc::kAbiVersion);
    CHECK(hypercall(f.kernel, v, static_cast<u64>(hvc::Function::PartitionInfo)));
    CHECK(v.regs.x[1] == p.index.raw());
    CHECK(v.regs.x[2] == 0);  // the calling vCPU
    CHECK(v.regs.x[3] == 2);
    CHECK(v.regs.x[4] == 0);  // restarts so far

    // Console: control characters cannot forge lines or drive the terminal.
    host::reset_console();
    u64 text = 0;
    const char msg[] = "hi\x1b[2J\n";
    std::memcpy(&text, msg, 8);
    CHECK(hypercall(f.kernel, v, static_cast<u64>(hvc::Function::ConsoleWrite), {0, 8, text}));
    CHECK(status_of(v) == 0);
    CHECK(host::console_output() == "[guest] hi?[2J\n");

    // An SMC that is not PSCI is answered "unknown" and skipped, never forwarded.
    v.regs.x[0] = 0xC200'0001;
    u64 elr = v.regs.elr;
    CHECK(exit_with(f.kernel, v, ExitVector::Sync, kEsrSmc));
    CHECK(v.regs.x[0] == ~0ull);
    CHECK(v.regs.elr == elr + 4);
    CHECK(p.load_state() == PartitionState::Running);
}

TEST_CASE("console output is collected per partition and emitted a line at a time", "[hypercall]") {
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(f.seal().ok());
    host::reset_console();
    const auto write = [&](Partition& p, const char* s) {
        u64 words[5] = {};
        const u64 n = std::strlen(s);
        std::memcpy(words, s, n);
        CHECK(hypercall(f.kernel, p.vcpus[0], static_cast<u64>(hvc::Function::ConsoleWrite),
                        {0, n, words[0], words[1], words[2], words[3], words[4]}));
        CHECK(status_of(p.vcpus[0]) == 0);
    };
    write(a, "from a, ");
    write(b, "from b\r\n");
    CHECK(host::console_output() == "[b] from b\n");
    write(a, "done\n");
    CHECK(host::console_output() == "[b] from b\n[a] from a, done\n");
    write(a, "0123456789012345678901234567890123456789");  // a full chunk: 40 bytes
    CHECK(a.console_length == 40);
}

TEST_CASE("an interrupt exit resumes a running vCPU and parks a stopped one", "[system][T-15]") {
    KernelFixture f;
    Partition& p = f.make("guest", kPartitionPa, 1, 2);
    REQUIRE(f.seal().ok());
    Vcpu& v0 = p.vcpus[0];
    CHECK(exit_with(f.kernel, v0, ExitVector::Irq));
    CHECK(exit_with(f.kernel, v0, ExitVector::Fiq));
    // SError is the partition's fault.
    CHECK_FALSE(exit_with(f.kernel, v0, ExitVector::SError, 0xbe000000));
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("FAULT partition 'guest' core 1: SError") != std::string::npos);
}

TEST_CASE("a vCPU whose partition another core is stopping leaves the guest at its next exit", "[guest_exit]") {
    KernelFixture f;
    Partition& p = f.make("guest", kPartitionPa, 1);
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];
    CHECK(exit_with(f.kernel, v, ExitVector::Irq));
    REQUIRE(v.load_state() == VcpuState::Running);
    p.store_state(PartitionState::Stopping);  // another core's take-down, which kicked this one
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Irq));
    CHECK(v.load_state() == VcpuState::Off);
    // An AArch32 exception is a fault, like any other the partition causes.
    KernelFixture g;
    Partition& q = g.make("legacy", kPartitionPa, 1);
    REQUIRE(g.seal().ok());
    CHECK_FALSE(exit_with(g.kernel, q.vcpus[0], ExitVector::Aarch32));
    CHECK(q.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("FAULT partition 'legacy' core 1: AArch32 exception") != std::string::npos);
}
