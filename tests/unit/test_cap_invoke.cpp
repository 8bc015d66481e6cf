// Capability invocations through hypercalls (calls/cap_invoke.hpp): a decoded call is resolved
// in the caller's own CSpace and checked in full under the capability lock, then invoked; a
// refused call answers with a status and changes nothing.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

using namespace bh;
using namespace bh::test;
namespace attr = bh::manifest::attr;

namespace {

using F = hvc::Function;
constexpr u64 kScratchIpa = 0x5000'0000;
const Rights kRwg = Rights::read() | Rights::write() | Rights::grant();

// "capuser" (core 1) holds its own CNode in slot 1 and a 4 KiB scratch frame in slot 4; its RAM
// is mapped through the boot program's cap only. Sealed.
struct World : KernelFixture {
    Partition* p = nullptr;
    u32 scratch = 0;
    World() {
        const u32 ps = partition("capuser");
        p = &partition(ps);
        REQUIRE(map(*p, at(frame(kPartitionPa)), kGuestRam, kRwx).ok());
        scratch = frame(kPartitionPa + 4 * kMiB, 12);
        REQUIRE(grant(ps + 1, *p, 1, kRwg).ok());  // its own CNode
        REQUIRE(grant(scratch, *p, 4, kRwg).ok());
        bind(*p, 0, 1);
        REQUIRE(set_entry(*p, 0, kGuestRam, 0).ok());
        REQUIRE(seal().ok());
    }
    Vcpu& v() { return p->vcpus[0]; }
    i64 call(F fn, std::initializer_list<u64> args) {
        CHECK(hypercall(kernel, v(), static_cast<u64>(fn), args));
        return status_of(v());
    }
};

}  // namespace

TEST_CASE("capability invocations from a partition: mint, rights, map, revoke", "[system][hypercall][caps][INV-4][T-11][T-45][T-46][T-49][T-56][T-60]") {
    World w;
    Partition& p = *w.p;
    Vcpu& v = w.v();
    const auto call = [&](F fn, std::initializer_list<u64> args) { return w.call(fn, args); };

    CHECK(call(F::PartitionInfo, {}) == 0);
    CHECK(v.regs.x[5] == PartitionTable::kCSpaceRadix);
    CHECK(call(F::CapIdentify, {4}) == 0);
    CHECK(v.regs.x[1] == static_cast<u64>(ObjectType::Frame));
    CHECK(v.regs.x[2] == kRwg.bits());
    CHECK(v.regs.x[5] == 0);  // unmapped
    CHECK(call(F::CapIdentify, {9999}) == st(Status::InvalidArgument));
    CHECK(call(F::CapIdentify, {200}) == 0);
    CHECK(v.regs.x[1] == 0);  // an empty slot

    // Mint a read-only copy; mapping it writable exceeds its rights.
    CHECK(call(F::CapMint, {4, 10, Rights::kRead, 0}) == 0);
    CHECK(call(F::CapIdentify, {10}) == 0);
    CHECK(v.regs.x[2] == Rights::kRead);
    CHECK(call(F::FrameMap, {10, kScratchIpa, attr::kRead | attr::kWrite}) == st(Status::Denied));
    CHECK(call(F::CapCopy, {10, 11}) == st(Status::Denied));  // no Grant
    CHECK(call(F::CapMint, {4, 12, Rights::kAllBits, 0}) == 0);  // rights never grow
    CHECK(call(F::CapIdentify, {12}) == 0);
    CHECK(v.regs.x[2] == kRwg.bits());
    CHECK(call(F::CapMint, {4, 1, Rights::kRead, 0}) == st(Status::Exists));
    CHECK(call(F::CapMint, {4, 13, 0x100, 0}) == st(Status::InvalidArgument));
    CHECK(call(F::CapMove, {12, 13}) == 0);
    CHECK(call(F::CapDelete, {13}) == 0);
    CHECK(call(F::CapDelete, {13}) == st(Status::NotFound));

    CHECK(call(F::FrameMap, {10, kScratchIpa + 1, attr::kRead}) == st(Status::Misaligned));
    CHECK(call(F::FrameMap, {10, 1ull << 40, attr::kRead}) == st(Status::OutOfRange));
    CHECK(call(F::FrameMap, {10, kGuestRam, attr::kRead}) == st(Status::Exists));  // IPA in use
    CHECK(call(F::FrameMap, {10, kScratchIpa, attr::kRead}) == 0);
    CHECK(call(F::FrameMap, {10, kScratchIpa + 0x1000, attr::kRead}) == st(Status::Exists));
    CHECK(call(F::FrameMap, {4, kScratchIpa + 0x1000, attr::kRead | attr::kWrite}) == 0);
    auto t = p.stage2.translate(Ipa(kScratchIpa));
    REQUIRE(t.ok());
    CHECK(t.value().pa == PhysAddr(kPartitionPa + 4 * kMiB));
    CHECK(t.value().attrs.bits() == attr::kRead);
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
    CHECK(call(F::FrameUnmap, {4}) == st(Status::NotFound));
    // The partition's boot mapping belongs to the kernel's cap: nothing it holds can remove it.
    CHECK(call(F::FrameUnmap, {1}) == st(Status::InvalidArgument));
    CHECK(p.stage2.translate(Ipa(kGuestRam)).ok());
    CHECK(p.load_state() == PartitionState::Running);
}

TEST_CASE("a refused capability call leaves the caller's CSpace and mappings as they were", "[hypercall][caps]") {
    World w;
    Partition& p = *w.p;
    const CapSlot* cspace = caps::cnode_slots(p.cspace_root);
    REQUIRE(w.call(F::CapCopy, {4, 5}) == 0);
    const CapSlot before[8] = {cspace[0], cspace[1], cspace[2], cspace[3], cspace[4], cspace[5], cspace[6], cspace[7]};
    const u32 regions = p.region_count;
    const auto unchanged = [&] {
        for (unsigned i = 0; i < 8; ++i) {
            INFO(i);
            CHECK(cspace[i].cap.type == before[i].cap.type);
            CHECK(cspace[i].cap.rights == before[i].cap.rights);
            CHECK(cspace[i].cap.word32 == before[i].cap.word32);
            CHECK(cspace[i].parent == before[i].parent);
            CHECK(cspace[i].first_child == before[i].first_child);
        }
        CHECK(p.region_count == regions);
    };
    CHECK(w.call(F::CapCopy, {6, 7}) == st(Status::NotFound));        // empty source
    CHECK(w.call(F::CapCopy, {4, 5}) == st(Status::Exists));          // occupied destination
    CHECK(w.call(F::CapCopy, {4, 1ull << 20}) == st(Status::InvalidArgument));  // beyond the CSpace
    CHECK(w.call(F::CapMint, {5, 6, Rights::kRead, 3}) == st(Status::InvalidArgument));  // a frame: no badge
    CHECK(w.call(F::CapMint, {4, 6, 0x20, 0}) == st(Status::InvalidArgument));  // unknown rights bit
    CHECK(w.call(F::CapMove, {4, 4}) == st(Status::Exists));
    CHECK(w.call(F::CapMove, {6, 7}) == st(Status::NotFound));
    CHECK(w.call(F::CapDelete, {0}) == st(Status::NotFound));
    CHECK(w.call(F::CapRevoke, {7}) == st(Status::NotFound));
    CHECK(w.call(F::FrameMap, {1, kScratchIpa, attr::kRead}) == st(Status::InvalidArgument));  // a CNode
    CHECK(w.call(F::FrameMap, {5, kScratchIpa, attr::kExecute}) == st(Status::InvalidArgument));
    CHECK(w.call(F::FrameMap, {5, kScratchIpa, attr::kRead | attr::kDevice}) == st(Status::InvalidArgument));
    CHECK(w.call(F::FrameUnmap, {5}) == st(Status::NotFound));
    CHECK(w.call(F::NotificationSignal, {5}) == st(Status::InvalidArgument));
    CHECK(w.call(F::PartitionStop, {5}) == st(Status::InvalidArgument));
    CHECK(w.call(F::IrqAck, {5}) == st(Status::InvalidArgument));
    unchanged();
    // Revoke with no descendants is done at once, and deletes nothing.
    CHECK(w.call(F::CapRevoke, {5}) == 0);
    CHECK(w.v().regs.x[1] == 0);
    unchanged();
}
