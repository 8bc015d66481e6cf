// The hypercall fast path (kernel/calls/fast_call.hpp, calls/fast_identify.cpp, vectors.S
// lower_sync): the vectors' table of known IDs is the ABI's list and agrees with decode_call;
// every call gives the same answer and leaves the same state whether the fast path takes it or
// the full path alone does; a call the fast path does not take changes nothing; a stop meanwhile
// parks the vCPU. CapIdentify's read without the lock: tests/unit/test_identify_unlocked.cpp.
#include <catch2/catch_test_macros.hpp>
#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <array>
#include <arch/kernel_entry.hpp>
#include <bulkhead/hypercall.hpp>
#include <calls/fast_call.hpp>
#include <calls/guest_call.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>

using namespace bh;
using namespace bh::test;

namespace {

using F = hvc::Function;
constexpr u64 fid(F f) { return static_cast<u64>(f); }

bool decode_refuses_as_unknown(u64 id, const Partition& p) {
    arch::GuestRegs r{};
    r.x[0] = id;
    const DecodedCall d = decode_call(r, 0, p);
    return !d.ok && d.refusal.x0 == static_cast<u64>(status_value(Status::NotSupported));
}

// "caller" (core 0) holds: 1 = notification A (Read, Write), 2 = A's Write badged 0x4, 3 = B's
// Write (unbadged; "peer" holds B's Read), 4 = its RAM frame's second cap (Read), 5 = the Partition
// cap of "peer" (Control). Every other slot is empty. A holds `word` when the test begins.
struct World : KernelFixture {
    Partition* caller = nullptr;
    Partition* peer = nullptr;
    u32 a = 0, b = 0;
    explicit World(u64 word) {
        const u32 cs = make_slot("caller", kPartitionPa, 0);
        const u32 ps = make_slot("peer", kPartitionPa + 4 * kMiB, 1);
        caller = &partition(cs);
        peer = &partition(ps);
        a = slot();
        b = slot();
        REQUIRE(ok(retype(kKernelUntyped, ObjectType::Notification, 0, a, 1)));
        REQUIRE(ok(retype(kKernelUntyped, ObjectType::Notification, 0, b, 1)));
        const u32 badged = slot();
        REQUIRE(ok(mint(at(a), at(badged), Rights::write() | Rights::grant(), 0x4)));
        REQUIRE(ok(grant(a, *caller, 1, Rights::read() | Rights::write())));
        REQUIRE(ok(grant(badged, *caller, 2, Rights::write())));
        REQUIRE(ok(grant(b, *caller, 3, Rights::write())));
        REQUIRE(ok(grant(b, *peer, 1, Rights::read())));
        REQUIRE(ok(grant(cs + 3, *caller, 4, Rights::read())));  // make_slot: Partition, CNode, untyped, frame
        REQUIRE(ok(grant(ps, *caller, 5, Rights::control())));
        REQUIRE(ok(declare_flow(*caller, *peer, manifest::FlowKind::Signal)));
        REQUIRE(ok(seal()));
        object(a).word = word;
    }
    Notification& object(u32 s) { return *static_cast<Notification*>(arch::phys_to_virt(PhysAddr(at(s).cap.object))); }
    Vcpu& vcpu() { return caller->vcpus[0]; }
};

// What a call leaves behind: the caller's registers, whether it resumes, and the objects it may
// touch.
struct After {
    std::array<u64, 31> x{};
    bool resume = false;
    u64 word_a = 0, word_b = 0;
    VcpuState state = VcpuState::Off;
    bool operator==(const After&) const = default;
};

After run(bool fast, u64 word, const std::array<u64, 8>& args) {
    g_vectors_fast_path = fast;
    World w(word);
    Vcpu& v = w.vcpu();
    for (unsigned i = 0; i < 31; ++i) v.regs.x[i] = i < 8 ? args[i] : 0x1111 * i;  // x8..x30: the guest's own
    After out;
    out.resume = exit_with(w.kernel, v, ExitVector::Sync, kEsrHvc0);
    for (unsigned i = 0; i < 31; ++i) out.x[i] = v.regs.x[i];
    out.word_a = w.object(w.a).word;
    out.word_b = w.object(w.b).word;
    out.state = v.load_state();
    g_vectors_fast_path = true;
    return out;
}

// CapIdentify as the vectors take it (bh_fast_identify), in fast_call's terms.
fast_path::Outcome identify_outcome(Vcpu& v) {
    return bh_fast_identify(&v) == 0 ? fast_path::Outcome::Resume : fast_path::Outcome::Slow;
}

constexpr F kFunctions[] = {F::AbiVersion,       F::PartitionInfo,    F::CapIdentify, F::NotificationSignal,
                            F::NotificationPoll, F::NotificationWait, F::CapCopy,     F::FrameUnmap};
constexpr u64 kCptrs[] = {0, 1, 2, 3, 4, 5, 6, 255, 256, 1ull << 40, ~0ull};

}  // namespace

TEST_CASE("the vectors' table of known IDs is the ABI's function list, and decode_call agrees with it",
          "[fast-path][decode][T-10]") {
    KernelFixture f;
    Partition& p = f.make("p", kPartitionPa, 0);
    // Every number of the vendor range: known exactly when the full path decodes it.
    for (u64 n = 0; n <= 0xff'ffff; n += n < 0x1'0000 ? 1 : 0x1'0001) {
        const u64 id = hvc::kVendorBase | n;
        INFO("function " << std::hex << id);
        CHECK(fast_path::known_vendor_call(id) == !decode_refuses_as_unknown(id, p));
    }
    for (F fn : hvc::kFunctions) CHECK(fast_path::known_vendor_call(fid(fn)));
    // Bits above 31 make any ID unknown, in the table and in decode_call.
    CHECK_FALSE(fast_path::known_vendor_call(fid(F::CapIdentify) | (1ull << 32)));
    CHECK(decode_refuses_as_unknown(fid(F::CapIdentify) | (1ull << 32), p));
    // What the vectors answer themselves is what the full path refuses as unknown; PSCI is not.
    for (u64 id : {0x0ull, 0x8000'0000ull, 0x8200'0000ull, 0xC600'00FFull, 0xC601'0010ull, 0xC500'0000ull, ~0ull}) {
        CHECK(fast_path::answered_as_unknown(id));
        CHECK(decode_refuses_as_unknown(id, p));
    }
    for (u64 id : {hvc::psci::kVersion, hvc::psci::kCpuOn, hvc::psci::kSystemOff, u64{0x8400'001F}})
        CHECK_FALSE(fast_path::answered_as_unknown(id));
}

TEST_CASE("every call answers the same and leaves the same state with or without the fast path",
          "[fast-path][capability][notification][INV-5][T-10][T-65]") {
    for (F fn : kFunctions)
        for (u64 cptr : kCptrs)
            for (u64 word : {0ull, 0x30ull}) {
                const std::array<u64, 8> args{fid(fn), cptr, 7, 0, 0, 0, 0, 0};
                INFO("function " << std::hex << fid(fn) << " x1 " << cptr << " word " << word);
                const After full = run(false, word, args);
                const After fast = run(true, word, args);
                CHECK(fast == full);
            }
}

TEST_CASE("a call the fast path does not take changes nothing", "[fast-path][T-10]") {
    unsigned slow = 0, answered = 0;
    for (F fn : kFunctions)
        for (u64 cptr : kCptrs) {
            World w(0x30);
            Vcpu& v = w.vcpu();
            enter(w.kernel, v);
            for (unsigned i = 0; i < 31; ++i) v.regs.x[i] = 0x2222 * i;
            v.regs.x[0] = fid(fn);
            v.regs.x[1] = cptr;
            const arch::GuestRegs before = v.regs;
            const fast_path::Outcome o = fn == F::CapIdentify ? identify_outcome(v) : fast_path::fast_call(w.kernel, v);
            if (o != fast_path::Outcome::Slow) {
                ++answered;
                CHECK(o == fast_path::Outcome::Resume);
                for (unsigned i = 8; i < 31; ++i) CHECK(v.regs.x[i] == before.x[i]);  // only x0..x7 are results
                continue;
            }
            ++slow;
            INFO("function " << std::hex << fid(fn) << " x1 " << cptr);
            for (unsigned i = 0; i < 31; ++i) CHECK(v.regs.x[i] == before.x[i]);
            CHECK(w.object(w.a).word == 0x30);
            CHECK(w.object(w.b).word == 0);
            CHECK(v.load_state() == VcpuState::Running);
        }
    // Both kinds occur: the test would say nothing if the fast path took all or none.
    CHECK(slow > 10);
    CHECK(answered > 10);
}

TEST_CASE("a call answered while another core stops the partition resumes into the kick that takes the vCPU off",
          "[fast-path][lifecycle][T-58]") {
    World w(0x30);
    Vcpu& v = w.vcpu();
    enter(w.kernel, v);
    v.regs.x[0] = fid(F::NotificationPoll);
    v.regs.x[1] = 1;
    w.caller->store_state(PartitionState::Stopping);  // as Lifecycle::take_down on another core
    CHECK(fast_path::fast_call(w.kernel, v) == fast_path::Outcome::Resume);
    CHECK(v.regs.x[1] == 0x30);                   // the call was made: its answer is the vCPU's
    CHECK(v.load_state() == VcpuState::Running);  // the core still owns it
    // The take-down kicked the core: the guest exits on that interrupt before its next
    // instruction, with its whole frame saved, and the exit takes the vCPU off.
    CHECK_FALSE(exit_with(w.kernel, v, ExitVector::Irq));
    CHECK(v.load_state() == VcpuState::Off);
}
