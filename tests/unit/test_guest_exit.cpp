// Guest exits end to end (calls/guest_exit.hpp): the syndrome decoded as the hardware reports it
// (arch::decode_exit), hostile hypercalls answered with an error status, vendor calls that
// invoke no capability, interrupts and faults.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"
#include "kernel_state.hpp"
#include "mmio_syndrome.hpp"

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
    CHECK_FALSE(e.mmio.ok());             // no instruction syndrome: nothing to emulate it with
    // With one (ISV, a 4-byte store of w3), the access an emulated device would perform.
    e = sync(kEsrDataAbortWrite | (1ull << 24) | (2ull << 22) | (3ull << 16), 0x0800'0104, 0x0800'0000 >> 8);
    REQUIRE(e.mmio.ok());
    CHECK(e.mmio.access.ipa == Ipa(0x0800'0104));
    CHECK(e.mmio.access.size == 4);
    CHECK(e.mmio.access.write);
    CHECK(e.mmio.access.reg == 3);
    CHECK(std::string(arch::fault_kind(e)) == "stage-2 data abort (write)");
    e = sync((0x20ull << 26) | (1ull << 25), 0x40'0000'0010, 0x40'0000'0000 >> 8);  // instruction abort
    CHECK(e.cause == Cause::MemoryAbort);
    CHECK_FALSE(e.write);
    CHECK(e.ipa == Ipa(0x40'0000'0010));
    CHECK(std::string(arch::fault_kind(e)) == "stage-2 instruction abort");
    e = sync(kEsrSysReg);
    CHECK(e.cause == Cause::SystemRegister);
    CHECK(std::string(arch::fault_kind(e)) == "trapped system register access");
    // MRS x7, S3_3_C9_C12_0 (PMCR_EL0): the register, the direction, the general register.
    e = sync(kEsrSysReg | (3u << 20) | (0u << 17) | (3u << 14) | (9u << 10) | (7u << 5) | (12u << 1) | 1u);
    CHECK(e.sysreg.op0 == 3);
    CHECK(e.sysreg.op1 == 3);
    CHECK(e.sysreg.crn == 9);
    CHECK(e.sysreg.crm == 12);
    CHECK(e.sysreg.op2 == 0);
    CHECK(e.sysreg.rt == 7);
    CHECK(e.sysreg.read);
    CHECK(sync(1ull << 26 | 1ull << 25).cause == Cause::Trap);  // WFI/WFE (were it trapped)
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

TEST_CASE("an SGI register write is recognised from ESR_EL2 alone, and nothing else is", "[guest_exit][vgic][T-75]") {
    using arch::sgi_register_write;
    for (u8 rt : {u8{0}, u8{7}, u8{30}, u8{31}}) {
        INFO(int(rt));
        const arch::SgiRegisterWrite s = sgi_register_write(msr_sgi1r(rt));
        CHECK(s.found);
        CHECK(s.rt == rt);
        CHECK(s.group1);
        CHECK(sgi_register_write(msr_asgi1r(rt)).found);
        CHECK_FALSE(sgi_register_write(msr_asgi1r(rt)).group1);
        CHECK(sgi_register_write(msr_sgi0r(rt)).found);
        CHECK_FALSE(sgi_register_write(msr_sgi0r(rt)).group1);
        // What decode_exit makes of the same syndrome agrees.
        const arch::GuestExit e = arch::decode_exit(ExitVector::Sync, arch::Syndrome{msr_sgi1r(rt), 0, 0});
        CHECK(e.cause == arch::GuestExit::Cause::SystemRegister);
        CHECK(arch::is_sgi_register(e.sysreg));
        CHECK(e.sysreg.rt == rt);
    }
    // Reads, neighbours in the encoding, the same ISS under another exception class.
    const u64 data_abort_class = (msr_sgi1r(3) & ~(0x3full << 26)) | 0x24ull << 26;
    const u64 unknown_class = msr_sgi1r(3) & ~(0x3full << 26);
    for (u64 esr : std::initializer_list<u64>{mrs(3, 0, 12, 11, 5, 3), msr(3, 0, 12, 11, 4, 3), msr(3, 0, 12, 12, 5, 3),
                                              msr(3, 1, 12, 11, 5, 3), msr(2, 0, 12, 11, 5, 3), msr(3, 0, 13, 11, 5, 3),
                                              data_abort_class, unknown_class}) {
        INFO(std::hex << esr);
        CHECK_FALSE(sgi_register_write(esr).found);
        const arch::SysRegAccess r = arch::decode_exit(ExitVector::Sync, arch::Syndrome{esr, 0, 0}).sysreg;
        CHECK_FALSE((arch::is_sgi_register(r) && !r.read));
    }
}

TEST_CASE("hostile hypercalls get an error status and change nothing", "[system][hypercall][INV-2][INV-4][T-11][T-13][T-22][T-32][T-56]") {
    // A partition with caps to aim at: its own CNode (1), a 4 KiB frame (4), a notification it may
    // only signal (6). Every refused call is compared with a snapshot of the whole kernel state
    // (kernel_state.hpp), not only its status.
    KernelFixture f;
    const u32 ps = f.make_slot("guest", kPartitionPa, 1, 2);
    Partition& p = f.partition(ps);
    const u32 spare = f.frame(kPartitionPa + 4 * kMiB, 12);
    const u32 note = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Notification, 0, note, 1).ok());
    const Rights rwg = Rights::read() | Rights::write() | Rights::grant();
    REQUIRE(f.grant(ps + 1, p, 1, rwg).ok());
    REQUIRE(f.grant(spare, p, 4, rwg).ok());
    REQUIRE(f.grant(note, p, 6, Rights::write()).ok());
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];
    using F = hvc::Function;
    namespace attr = manifest::attr;

    enter(f.kernel, v);  // Runnable -> Running: its core enters it before its first call
    const KernelState before(f.kernel, &v);
    const auto refused = [&](u64 fid, std::initializer_list<u64> args, i64 expected) {
        INFO("function " << std::hex << fid);
        CHECK(hypercall(f.kernel, v, fid, args));
        CHECK(status_of(v) == expected);
        check_unchanged(before, KernelState(f.kernel, &v));
    };
    const auto fn = [](F f) { return static_cast<u64>(f); };

    refused(0xC600'00FF, {}, st(Status::NotSupported));
    refused(0x1234, {}, -1);  // SMCCC unknown function
    refused(fn(F::ConsoleWrite), {0, 41}, st(Status::InvalidArgument));
    // x1 (the capability address) is reserved on every call that takes none.
    for (F call : {F::ConsoleWrite, F::AbiVersion, F::PartitionInfo})
        refused(fn(call), {1, 1, 'x'}, st(Status::InvalidArgument));
    // Capability calls aimed at slots that are empty, out of the CSpace, of the wrong type, or
    // lacking the right.
    refused(fn(F::CapCopy), {4, 1ull << 20}, st(Status::InvalidArgument));
    refused(fn(F::CapCopy), {7, 8}, st(Status::NotFound));
    refused(fn(F::CapCopy), {4, 1}, st(Status::Exists));
    refused(fn(F::CapMint), {4, 9, 0x100, 0}, st(Status::InvalidArgument));
    refused(fn(F::CapMint), {4, 9, Rights::kRead, 5}, st(Status::InvalidArgument));  // a frame takes no badge
    refused(fn(F::CapCopy), {6, 9}, st(Status::Denied));                              // no Grant
    refused(fn(F::CapMove), {4, 4}, st(Status::Exists));
    refused(fn(F::CapDelete), {200}, st(Status::NotFound));
    refused(fn(F::CapRevoke), {1ull << 40}, st(Status::InvalidArgument));
    refused(fn(F::FrameMap), {4, 0x5000'0001, attr::kRead}, st(Status::Misaligned));
    refused(fn(F::FrameMap), {4, 1ull << 40, attr::kRead}, st(Status::OutOfRange));
    refused(fn(F::FrameMap), {4, kGuestRam, attr::kRead}, st(Status::Exists));  // IPA in use
    refused(fn(F::FrameMap), {4, 0x5000'0000, attr::kExecute}, st(Status::InvalidArgument));
    refused(fn(F::FrameMap), {4, 0x5000'0000, attr::kRead | attr::kDevice}, st(Status::InvalidArgument));
    refused(fn(F::FrameMap), {1, 0x5000'0000, attr::kRead}, st(Status::InvalidArgument));  // a CNode
    refused(fn(F::FrameUnmap), {4}, st(Status::NotFound));                                   // not mapped
    refused(fn(F::NotificationWait), {6}, st(Status::Denied));                               // Write only
    refused(fn(F::NotificationPoll), {6}, st(Status::Denied));
    refused(fn(F::NotificationSignal), {4}, st(Status::InvalidArgument));
    refused(fn(F::PartitionStop), {6}, st(Status::InvalidArgument));
    refused(fn(F::PartitionRestart), {99}, st(Status::InvalidArgument));  // an empty slot is no Partition cap
    refused(fn(F::IrqBind), {6, 6, 1}, st(Status::InvalidArgument));
    refused(fn(F::IrqAck), {4}, st(Status::InvalidArgument));

    // HVC with a non-zero immediate is not the ABI.
    v.regs.x[0] = fn(F::AbiVersion);
    CHECK(exit_with(f.kernel, v, ExitVector::Sync, kEsrHvc0 | 0x42));
    CHECK(v.regs.x[0] == ~0ull);
    check_unchanged(before, KernelState(f.kernel, &v));

    // The queries answer in the caller's registers and change nothing either.
    CHECK(hypercall(f.kernel, v, fn(F::AbiVersion)));
    CHECK(status_of(v) == 0);
    CHECK(v.regs.x[1] == hvc::kAbiVersion);
    CHECK(hypercall(f.kernel, v, fn(F::PartitionInfo)));
    CHECK(v.regs.x[1] == p.index.raw());
    CHECK(v.regs.x[2] == 0);  // the calling vCPU
    CHECK(v.regs.x[3] == 2);
    CHECK(v.regs.x[4] == 0);  // restarts so far
    check_unchanged(before, KernelState(f.kernel, &v));

    // An SMC that is not PSCI is answered "unknown" and skipped, never forwarded.
    v.regs.x[0] = 0xC200'0001;
    const u64 elr = v.regs.elr;
    CHECK(exit_with(f.kernel, v, ExitVector::Sync, kEsrSmc));
    CHECK(v.regs.x[0] == ~0ull);
    CHECK(v.regs.elr == elr + 4);
    v.regs.elr = elr;  // the one change the skip makes, undone for the comparison
    check_unchanged(before, KernelState(f.kernel, &v));

    // Console: control characters cannot forge lines or drive the terminal.
    host::reset_console();
    u64 text = 0;
    const char msg[] = "hi\x1b[2J\n";
    std::memcpy(&text, msg, 8);
    CHECK(hypercall(f.kernel, v, fn(F::ConsoleWrite), {0, 8, text}));
    CHECK(status_of(v) == 0);
    CHECK(host::console_output() == "[guest] hi?[2J\n");
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
