// The decode layer for everything a guest sends (calls/guest_call.hpp), on its own: registers
// and the caller's static configuration in, a typed call or the x0 of a refusal out. No Kernel:
// decoding touches no kernel state. Every refusal decode_call makes is tested here, and every
// accepted call for its CallId and typed arguments.
#include <catch2/catch_test_macros.hpp>

#include <bulkhead/hypercall.hpp>
#include <calls/guest_call.hpp>
#include <initializer_list>
#include <partition/partition.hpp>
#include <string>

using namespace bh;
namespace attr = bh::manifest::attr;

namespace {

using F = hvc::Function;
using U64s = std::initializer_list<u64>;
constexpr u64 fid(F f) { return static_cast<u64>(f); }
constexpr u64 kUnknown = ~0ull;  // SMCCC: unknown function ID
const u64 kNotSupported = status_value(Status::NotSupported);
const u64 kInvalidArgument = status_value(Status::InvalidArgument);
const u64 kOutOfRange = status_value(Status::OutOfRange);
constexpr u64 kPsciNotSupported = static_cast<u64>(hvc::psci::kNotSupported);
constexpr u64 kPsciInvalid = static_cast<u64>(hvc::psci::kInvalidParameters);

// A caller with `vcpus` vCPUs (its only configuration decoding reads), and its registers.
struct Decoder {
    Partition caller;
    explicit Decoder(u32 vcpus = 2) { caller.vcpu_count = vcpus; }
    // x0 = `function`, x1.. = `args`, the rest zero; by HVC #`immediate` (an SMC decodes as 0).
    DecodedCall operator()(u64 function, std::initializer_list<u64> args = {}, u16 immediate = 0) const {
        arch::GuestRegs r{};
        r.x[0] = function;
        unsigned i = 1;
        for (u64 a : args) r.x[i++] = a;
        return decode_call(r, immediate, caller);
    }
    // The x0 of a refused call (and that it was refused).
    u64 refusal(u64 function, std::initializer_list<u64> args = {}, u16 immediate = 0) const {
        const DecodedCall d = (*this)(function, args, immediate);
        CHECK_FALSE(d.ok);
        return d.refusal.x0;
    }
    GuestCall accepted(u64 function, std::initializer_list<u64> args = {}) const {
        const DecodedCall d = (*this)(function, args);
        REQUIRE(d.ok);
        return d.call;
    }
};

}  // namespace

TEST_CASE("decode: an HVC with a non-zero immediate is not the ABI, whatever it asks", "[decode]") {
    const Decoder decode;
    for (u64 f : U64s{fid(F::AbiVersion), fid(F::CapIdentify), hvc::psci::kVersion, hvc::psci::kCpuOn, 0x1234}) {
        for (u16 imm : std::initializer_list<u16>{u16{1}, u16{0x42}, u16{0xffff}}) {
            INFO(f << " #" << imm);
            CHECK(decode.refusal(f, {0, 0, 0}, imm) == kUnknown);
        }
    }
    CHECK(decode(fid(F::AbiVersion), {}, 0).ok);
}

TEST_CASE("decode: function IDs outside the vendor hypervisor and PSCI ranges are unknown", "[decode]") {
    const Decoder decode;
    for (u64 f : U64s{0x0ull, 0x1234ull, 0x8000'0000ull /* SMCCC arch */, 0xC200'0001ull /* SiP */,
                  0x8600'0000ull /* vendor hypervisor, SMC32 */, 0xC500'0000ull, 0xC700'0000ull,
                  0x8400'0020ull /* past PSCI's 32 functions */, 0xC400'0020ull, 0xF000'0000ull,
                  0x1'8400'0000ull /* PSCI with bits above W0 */}) {
        INFO(f);
        CHECK(decode.refusal(f) == kUnknown);
    }
}

TEST_CASE("decode: unknown vendor and PSCI functions are not supported", "[decode]") {
    const Decoder decode;
    for (u64 f : U64s{0xC600'0003, 0xC600'000F, 0xC600'0016, 0xC600'0022, 0xC600'0033, 0xC600'0042, 0xC600'0053,
                      0xC600'00FF, 0xC6FF'FFFF}) {
        INFO(f);
        CHECK(decode.refusal(f) == kNotSupported);
    }
    for (u64 f : U64s{0x8400'0005ull /* MIGRATE */, 0x8400'0007ull /* MIGRATE_INFO_UP_CPU */,
                  0x8400'000Eull /* SYSTEM_SUSPEND */, 0x8400'0012ull /* SYSTEM_RESET2 */, 0x8400'001Full,
                  0xC400'0000ull, 0xC400'0002ull /* CPU_OFF as SMC64 */, 0xC400'0006ull, 0xC400'0008ull,
                  0xC400'001Full}) {
        INFO(f);
        CHECK(decode.refusal(f) == kPsciNotSupported);
    }
}

TEST_CASE("decode: calls that invoke no capability want x1 = 0", "[decode]") {
    const Decoder decode;
    for (F f : {F::AbiVersion, F::ConsoleWrite, F::PartitionInfo}) {
        for (u64 x1 : U64s{1ull, 0x100ull, ~0ull}) {
            INFO(fid(f) << " x1 = " << x1);
            CHECK(decode.refusal(fid(f), {x1, 1, 'x'}) == kInvalidArgument);
        }
    }
    CHECK(decode.accepted(fid(F::AbiVersion), {0, 5, 6}).id == CallId::AbiVersion);
    CHECK(decode.accepted(fid(F::PartitionInfo)).id == CallId::PartitionInfo);
}

TEST_CASE("decode: a console chunk is at most 40 bytes, taken from x3..x7 in order", "[decode]") {
    const Decoder decode;
    CHECK(decode.refusal(fid(F::ConsoleWrite), {0, hvc::kConsoleChunk + 1}) == kInvalidArgument);
    CHECK(decode.refusal(fid(F::ConsoleWrite), {0, ~0ull}) == kInvalidArgument);
    CHECK(decode.refusal(fid(F::ConsoleWrite), {0, 1ull << 32}) == kInvalidArgument);  // never truncated
    GuestCall c = decode.accepted(fid(F::ConsoleWrite), {0, 0});
    CHECK(c.id == CallId::ConsoleWrite);
    CHECK(c.console.length == 0);
    c = decode.accepted(fid(F::ConsoleWrite),
                        {0, hvc::kConsoleChunk, 0x3736'3534'3332'3130ull, 0x4645'4443'4241'3938ull, 0, 0,
                         0x5a59'5857'5655'5453ull});
    CHECK(c.console.length == 40);
    CHECK(std::string(c.console.bytes, 16) == "0123456789ABCDEF");
    CHECK(std::string(c.console.bytes + 32, 8) == "STUVWXYZ");
    CHECK(c.console.bytes[16] == '\0');
}

TEST_CASE("decode: CapMint refuses unknown rights bits rather than dropping them", "[decode]") {
    const Decoder decode;
    for (u64 mask : U64s{0x20ull, 0x100ull, 1ull << 63, ~0ull, u64{Rights::kAllBits} | 0x40}) {
        INFO(mask);
        CHECK(decode.refusal(fid(F::CapMint), {4, 10, mask, 0}) == kInvalidArgument);
    }
    GuestCall c = decode.accepted(fid(F::CapMint), {4, 10, Rights::kAllBits, 0x99});
    CHECK(c.id == CallId::CapMint);
    CHECK(c.mint.source == 4);
    CHECK(c.mint.destination == 10);
    CHECK(c.mint.mask == Rights::from_bits(Rights::kAllBits));
    CHECK(c.mint.badge == 0x99);
    c = decode.accepted(fid(F::CapMint), {4, 10, 0, 0});
    CHECK(c.mint.mask.empty());
}

TEST_CASE("decode: FrameMap wants an IPA below 2^40 and R, W, X attributes with R or W", "[decode]") {
    const Decoder decode;
    const u64 rw = attr::kRead | attr::kWrite;
    CHECK(decode.refusal(fid(F::FrameMap), {4, 1ull << 40, rw}) == kOutOfRange);
    CHECK(decode.refusal(fid(F::FrameMap), {4, ~0ull, rw}) == kOutOfRange);
    CHECK(decode.refusal(fid(F::FrameMap), {4, 1ull << 40, 0}) == kOutOfRange);  // the IPA first
    for (u64 bad : U64s{0, attr::kExecute, attr::kRead | attr::kDevice, rw | (1ull << 3), rw | (1ull << 63)}) {
        INFO(bad);
        CHECK(decode.refusal(fid(F::FrameMap), {4, 0x5000'0000, bad}) == kInvalidArgument);
    }
    GuestCall c = decode.accepted(fid(F::FrameMap), {4, (1ull << 40) - 0x1000, attr::kRead | attr::kExecute});
    CHECK(c.id == CallId::FrameMap);
    CHECK(c.map.frame == 4);
    CHECK(c.map.ipa == Ipa((1ull << 40) - 0x1000));
    CHECK(c.map.attrs == MapAttributes::decode(attr::kRead | attr::kExecute).value());
    CHECK_FALSE(c.map.attrs.device());
    // Alignment and the frame's own rules are the capability's business, decided under the lock.
    CHECK(decode.accepted(fid(F::FrameMap), {4, 0x5000'0001, attr::kWrite}).map.ipa == Ipa(0x5000'0001));
}

TEST_CASE("decode: PSCI CPU_ON and AFFINITY_INFO name the caller's own vCPUs by MPIDR", "[decode][psci]") {
    const Decoder decode(2);
    for (u64 mpidr : U64s{2, 0xff, 0x100 /* Aff1 */, 0x1'0000 /* Aff2 */, 1ull << 32 /* Aff3 */}) {
        INFO(mpidr);
        CHECK(decode.refusal(hvc::psci::kCpuOn, {mpidr, 0x4000'0000, 0}) == kPsciInvalid);
        CHECK(decode.refusal(hvc::psci::kAffinityInfo, {mpidr, 0}) == kPsciInvalid);
    }
    // AFFINITY_INFO at an affinity level other than 0: the partition has no clusters.
    CHECK(decode.refusal(hvc::psci::kAffinityInfo, {1, 1}) == kPsciInvalid);
    CHECK(decode.refusal(hvc::psci::kAffinityInfo, {0, 3}) == kPsciInvalid);
    // One vCPU: MPIDR 1 is no vCPU of it.
    const Decoder single(1);
    CHECK(single.refusal(hvc::psci::kCpuOn, {1, 0x4000'0000, 0}) == kPsciInvalid);
    CHECK(single.accepted(hvc::psci::kCpuOn, {0, 0x4000'0000, 0}).cpu_on.target == VcpuIndex(0));

    GuestCall c = decode.accepted(hvc::psci::kCpuOn, {1, 0x4000'0080, 0xAB});
    CHECK(c.id == CallId::PsciCpuOn);
    CHECK(c.cpu_on.target == VcpuIndex(1));
    CHECK(c.cpu_on.entry == 0x4000'0080);
    CHECK(c.cpu_on.context == 0xAB);
    c = decode.accepted(hvc::psci::kAffinityInfo, {1, 0});
    CHECK(c.id == CallId::PsciAffinityInfo);
    CHECK(c.affinity.target == VcpuIndex(1));
}

TEST_CASE("decode: PSCI 1.1's SMC32 calls take the low 32 bits of their arguments", "[decode][psci]") {
    const Decoder decode(3);
    GuestCall c = decode.accepted(hvc::psci::kCpuOn32, {0x1'0000'0002, 0xffff'ffff'4000'0010, 0xffff'ffff'0000'0005});
    CHECK(c.id == CallId::PsciCpuOn);
    CHECK(c.cpu_on.target == VcpuIndex(2));  // Aff3 lies in the upper half: not an argument
    CHECK(c.cpu_on.entry == 0x4000'0010);
    CHECK(c.cpu_on.context == 5);
    // SMC64: the same MPIDR names Aff3 = 1, no vCPU of the partition.
    CHECK(decode.refusal(hvc::psci::kCpuOn, {0x1'0000'0002, 0x4000'0010, 0}) == kPsciInvalid);
    CHECK(decode.accepted(hvc::psci::kAffinityInfo32, {0x1'0000'0002, 0xffff'ffff'0000'0000}).affinity.target ==
          VcpuIndex(2));
    CHECK(decode.refusal(hvc::psci::kAffinityInfo32, {2, 1}) == kPsciInvalid);
}

TEST_CASE("decode: PSCI CPU_SUSPEND's power_state, MIGRATE_INFO_TYPE", "[decode][psci]") {
    const Decoder decode;
    GuestCall c = decode.accepted(hvc::psci::kCpuSuspend, {0x1'0000, 0x4000'0040, 7});
    CHECK(c.id == CallId::PsciCpuSuspend);
    CHECK(c.suspend.power_down);
    CHECK(c.suspend.entry == 0x4000'0040);
    CHECK(c.suspend.context == 7);
    c = decode.accepted(hvc::psci::kCpuSuspend32, {0x300'0003, 0, 0});  // standby at power level 3
    CHECK_FALSE(c.suspend.power_down);
    // Bits other than StateID, StateType and PowerLevel are reserved.
    for (u64 state : U64s{1ull << 17, 1ull << 23, 1ull << 26, 1ull << 31, 1ull << 40}) {
        INFO(state);
        CHECK(decode.refusal(hvc::psci::kCpuSuspend, {state, 0, 0}) == kPsciInvalid);
    }
    CHECK(decode.accepted(hvc::psci::kCpuSuspend32, {1ull << 40, 0, 0}).suspend.power_down == false);  // SMC32
    CHECK(decode.accepted(hvc::psci::kMigrateInfoType).id == CallId::PsciMigrateInfoType);
}

TEST_CASE("decode: every accepted call yields its CallId and typed arguments", "[decode]") {
    const Decoder decode;
    struct OneCap {
        F function;
        CallId id;
    };
    for (const OneCap& k : {OneCap{F::CapIdentify, CallId::CapIdentify}, OneCap{F::CapDelete, CallId::CapDelete},
                            OneCap{F::CapRevoke, CallId::CapRevoke}, OneCap{F::FrameUnmap, CallId::FrameUnmap},
                            OneCap{F::NotificationSignal, CallId::NotificationSignal},
                            OneCap{F::NotificationWait, CallId::NotificationWait},
                            OneCap{F::NotificationPoll, CallId::NotificationPoll},
                            OneCap{F::PartitionStop, CallId::PartitionStop},
                            OneCap{F::PartitionRestart, CallId::PartitionRestart}, OneCap{F::IrqAck, CallId::IrqAck},
                            OneCap{F::IrqUnbind, CallId::IrqUnbind}}) {
        INFO(fid(k.function));
        const GuestCall c = decode.accepted(fid(k.function), {0x1234'5678'9abcull, 7, 8});
        CHECK(c.id == k.id);
        CHECK(c.one.cap == 0x1234'5678'9abcull);  // any cptr: resolved under the lock, not here
        CHECK(is_cap_call(c.id));
        CHECK_FALSE(is_psci_call(c.id));
    }
    GuestCall c = decode.accepted(fid(F::CapCopy), {3, 9});
    CHECK(c.id == CallId::CapCopy);
    CHECK(c.two.source == 3);
    CHECK(c.two.destination == 9);
    c = decode.accepted(fid(F::CapMove), {9, 3});
    CHECK(c.id == CallId::CapMove);
    CHECK(c.two.source == 9);
    CHECK(c.two.destination == 3);
    c = decode.accepted(fid(F::IrqBind), {1, 2, 0x100});
    CHECK(c.id == CallId::IrqBind);
    CHECK(c.bind.irq == 1);
    CHECK(c.bind.notification == 2);
    CHECK(c.bind.badge == 0x100);  // 0 is the interrupt table's to refuse
    CHECK(is_cap_call(c.id));
    CHECK(is_cap_call(decode.accepted(fid(F::CapMint), {1, 2, 1, 0}).id));
    CHECK(is_cap_call(decode.accepted(fid(F::FrameMap), {1, 0, 1}).id));

    for (F f : {F::AbiVersion, F::ConsoleWrite, F::PartitionInfo}) {
        c = decode.accepted(fid(f));
        CHECK_FALSE(is_cap_call(c.id));
        CHECK_FALSE(is_psci_call(c.id));
    }

    struct Psci {
        u64 function;
        CallId id;
    };
    for (const Psci& k : {Psci{hvc::psci::kVersion, CallId::PsciVersion}, Psci{hvc::psci::kCpuOff, CallId::PsciCpuOff},
                          Psci{hvc::psci::kSystemOff, CallId::PsciSystemOff},
                          Psci{hvc::psci::kSystemReset, CallId::PsciSystemReset}}) {
        INFO(k.function);
        c = decode.accepted(k.function, {5, 6, 7});  // arguments they do not have are ignored
        CHECK(c.id == k.id);
        CHECK(is_psci_call(c.id));
        CHECK_FALSE(is_cap_call(c.id));
    }
    c = decode.accepted(hvc::psci::kFeatures, {0xDEAD'BEEFull});
    CHECK(c.id == CallId::PsciFeatures);
    CHECK(c.features.function == 0xDEAD'BEEFull);  // any function ID: FEATURES answers for it
    CHECK(is_psci_call(decode.accepted(hvc::psci::kCpuOn, {0, 0, 0}).id));
    CHECK(is_psci_call(decode.accepted(hvc::psci::kAffinityInfo, {0, 0}).id));
}
