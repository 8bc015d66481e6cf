// Channels (docs/capabilities.md "Channels"): shared-memory objects retyped from RAM untyped that
// every partition holding a cap to them may map (INV-1's shared-region exception), never
// executable, never scrubbed by one mapper's restart; and the information-flow graph
// (design.md invariant 6) that seal requires to equal the declared one.
#include <catch2/catch_test_macros.hpp>
#include "guest_exits.hpp"
#include "manifest_program.hpp"
#include "invariant_text.hpp"
#include "kernel_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <boot/boot_program.hpp>
#include <bulkhead/hypercall.hpp>
#include <cstring>
#include <calls/guest_exit.hpp>
#include <invariants/invariants.hpp>
#include <string>
#include <kernel.hpp>
#include <vector>

using namespace bh;
using namespace bh::test;
namespace attr = bh::manifest::attr;
using manifest::FlowKind;

namespace {

constexpr u64 kRw = attr::kRead | attr::kWrite;
constexpr u64 kChannelPa = kPartitionPa + 16 * kMiB;
constexpr unsigned kChannelBits = 16;  // 64 KiB
constexpr u64 kChannelSize = 1ull << kChannelBits;
constexpr u64 kChannelIpa = 0x6000'0000;
const Rights kR = Rights::read();
const Rights kRW = Rights::read() | Rights::write();

#define REQUIRE_INVARIANTS(kernel)                          \
    do {                                                    \
        const InvariantReport report_ = check_invariants(kernel); \
        INFO(describe(report_));                            \
        REQUIRE(report_.ok());                              \
    } while (0)

struct Fixture : KernelFixture {
    // A Channel of 2^bits from its own RAM untyped at `pa`; returns its boot slot.
    u32 channel(u64 pa = kChannelPa, unsigned bits = kChannelBits) {
        const u32 us = slot(), cs = slot();
        REQUIRE(ok(create_untyped(us, pa, bits, false)));
        REQUIRE(ok(retype(us, ObjectType::Channel, bits, cs, 1)));
        return cs;
    }
    u32 notification() {
        const u32 ns = slot();
        REQUIRE(ok(retype(kKernelUntyped, ObjectType::Notification, 0, ns, 1)));
        return ns;
    }
};

u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }
CapSlot* cspace(const Partition& p) { return caps::cnode_slots(p.cspace_root); }

// The host memory behind `ipa` in `p`'s stage 2: what the guest reads and writes there.
u8* guest(const Partition& p, u64 ipa) {
    auto t = p.stage2.translate(Ipa(ipa));
    REQUIRE(t.ok());
    return ram(t.value().pa.raw());
}

using F = hvc::Function;

// A writer ("writer", restarts on a fault) and a reader; one channel: the writer holds Read|Write
// in CSpace slot 1, the reader Read|Grant in slot 1; the flow writer -> reader is declared; sealed.
struct Shared : Fixture {
    Partition* w = nullptr;
    Partition* r = nullptr;
    u32 ch = 0;
    Shared() {
        w = &make("writer", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
        r = &make("reader", kPartitionPa + 4 * kMiB, 2);
        ch = channel();
        REQUIRE(ok(grant(ch, *w, 1, kRW)));
        REQUIRE(ok(grant(ch, *r, 1, kR | Rights::grant())));
        REQUIRE(ok(declare_flow(*w, *r, FlowKind::Memory)));
        REQUIRE(ok(seal()));
        REQUIRE_INVARIANTS(kernel);
    }
};

}  // namespace

TEST_CASE("channel objects are retyped from RAM untyped: zeroed, no header", "[channels][INV-1][T-5][T-61][T-64]") {
    Fixture f;
    const u32 us = f.slot(), cs = f.slot();
    REQUIRE(ok(f.create_untyped(us, kChannelPa, 21, false)));
    std::memset(ram(kChannelPa), 0xAA, 2 * kChannelSize);  // a previous owner's data
    REQUIRE(ok(f.retype(us, ObjectType::Channel, kChannelBits, cs, 2)));
    CHECK(f.at(cs).cap.type == ObjectType::Channel);
    CHECK(f.at(cs).cap.size_bits == kChannelBits);
    CHECK(f.at(cs).cap.rights == (Rights::read() | Rights::write() | Rights::grant()));
    CHECK(f.at(cs + 1).cap.object == kChannelPa + kChannelSize);
    for (u64 k = 0; k < 2 * kChannelSize; ++k) REQUIRE(ram(kChannelPa)[k] == 0);
    // 4 KiB .. 2 MiB, from RAM only.
    f.slot();  // cs + 1
    CHECK(f.retype(us, ObjectType::Channel, 22, f.slot(), 1).status() == Status::InvalidArgument);
    CHECK(f.retype(us, ObjectType::Channel, 11, f.slot(), 1).status() == Status::InvalidArgument);
    const u32 du = f.slot();
    REQUIRE(ok(f.create_untyped(du, 0x0901'0000, 12, true)));
    CHECK(f.retype(du, ObjectType::Channel, 12, f.slot(), 1).status() == Status::InvalidArgument);
    REQUIRE_INVARIANTS(f.kernel);
}

TEST_CASE("a channel is mapped by every holder, never executable, and data crosses it", "[channels][INV-1][T-61][T-62][T-63][T-64]") {
    Shared s;
    Vcpu& wv = s.w->vcpus[0];
    Vcpu& rv = s.r->vcpus[0];
    // Never executable, never beyond the cap's rights.
    CHECK(call_status(s.kernel, wv, F::FrameMap, {1, kChannelIpa, kRwx}) == st(Status::InvalidArgument));
    CHECK(call_status(s.kernel, rv, F::FrameMap, {1, kChannelIpa, kRw}) == st(Status::Denied));
    CHECK(call_status(s.kernel, rv, F::FrameMap, {1, kChannelIpa + 0x1000, attr::kRead}) == st(Status::Misaligned));
    // Both map it: the "one frame, one partition" rule is not a channel's.
    CHECK(call_status(s.kernel, wv, F::FrameMap, {1, kChannelIpa, kRw}) == 0);
    CHECK(call_status(s.kernel, rv, F::FrameMap, {1, kChannelIpa + kChannelSize, attr::kRead}) == 0);
    CHECK(call_status(s.kernel, rv, F::FrameMap, {1, kChannelIpa, attr::kRead}) == st(Status::Exists));  // each cap maps once
    REQUIRE_INVARIANTS(s.kernel);
    CHECK(s.r->stage2.translate(Ipa(kChannelIpa + kChannelSize)).value().attrs.bits() == attr::kRead);
    CHECK(s.r->stage2.translate(Ipa(kChannelIpa + kChannelSize)).value().pa == PhysAddr(kChannelPa));
    CHECK(s.w->regions[s.w->region_count - 1].channel);
    CHECK(s.r->regions[s.r->region_count - 1].channel);
    CHECK_FALSE(s.w->regions[0].channel);
    CHECK(call_status(s.kernel, rv, F::CapIdentify, {1}) == 0);
    CHECK(rv.regs.x[1] == static_cast<u64>(ObjectType::Channel));
    CHECK(rv.regs.x[5] == 1);
    CHECK(rv.regs.x[6] == kChannelIpa + kChannelSize);

    // What the writer stores, the reader loads.
    const char message[] = "across the bulkhead";
    std::memcpy(guest(*s.w, kChannelIpa + 0x2010), message, sizeof message);
    CHECK(std::memcmp(guest(*s.r, kChannelIpa + kChannelSize + 0x2010), message, sizeof message) == 0);

    // A restart of the writer scrubs its private RAM and keeps the channel (and its mapping).
    std::memset(guest(*s.w, kGuestRam + 0x3000), 0x77, 16);
    CHECK_FALSE(exit_with(s.kernel, wv, ExitVector::Sync, kEsrSysReg));
    CHECK(s.w->restarts == 1);
    CHECK(s.w->load_state() == PartitionState::Running);
    CHECK(guest(*s.w, kGuestRam + 0x3000)[0] == 0);
    CHECK(std::memcmp(guest(*s.r, kChannelIpa + kChannelSize + 0x2010), message, sizeof message) == 0);
    CHECK(std::memcmp(guest(*s.w, kChannelIpa + 0x2010), message, sizeof message) == 0);
    REQUIRE_INVARIANTS(s.kernel);
}

TEST_CASE("the boot program maps a channel through its own cap; images never go into one", "[channels][INV-1][T-51][T-61][T-62]") {
    Fixture f;
    Partition& w = f.make("writer", kPartitionPa, 1);
    Partition& r = f.make("reader", kPartitionPa + 4 * kMiB, 2);
    const u32 ch = f.channel();
    CHECK_REFUSED(f.map(w, f.at(ch), kChannelIpa, kRwx), Status::InvalidArgument, "channel memory cannot be executable");
    REQUIRE(ok(f.map(w, f.at(ch), kChannelIpa, kRw)));  // the boot cap's one mapping
    CHECK(f.map(r, f.at(ch), kChannelIpa, attr::kRead).status() == Status::Exists);
    REQUIRE(ok(f.grant(ch, r, 1, kR)));
    REQUIRE(ok(f.map(r, cspace(r)[1], kChannelIpa, attr::kRead)));
    REQUIRE_INVARIANTS(f.kernel);
    // An image is the partition's own: never loaded into memory others see.
    static const u8 image[] = {1, 2, 3, 4};
    CHECK(f.load_image(w, kChannelIpa, image, sizeof image).status() == Status::OutOfRange);
    // The writer's boot mapping counts: writer -> reader must be declared.
    CHECK_REFUSED(f.seal(), Status::Denied, "capabilities allow an undeclared information flow");
    CHECK(host::console_output().find("seal: undeclared memory flow from 'writer' to 'reader'") != std::string::npos);
    REQUIRE(ok(f.declare_flow(w, r, FlowKind::Memory)));
    REQUIRE(ok(f.seal()));
    REQUIRE_INVARIANTS(f.kernel);
    // The reader cannot unmap the writer's mapping, and its own unmap leaves the writer's.
    Vcpu& rv = r.vcpus[0];
    CHECK(call_status(f.kernel, rv, F::FrameUnmap, {1}) == 0);
    CHECK_FALSE(r.stage2.translate(Ipa(kChannelIpa)).ok());
    CHECK(w.stage2.translate(Ipa(kChannelIpa)).ok());
    REQUIRE_INVARIANTS(f.kernel);
}

TEST_CASE("seal refuses a channel flow nobody declared, and a declared flow with no cap", "[channels][flow][INV-6][T-51][T-71]") {
    SECTION("a second writer") {
        Fixture f;
        Partition& a = f.make("a", kPartitionPa, 1);
        Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
        const u32 ch = f.channel();
        REQUIRE(ok(f.grant(ch, a, 1, kRW)));
        REQUIRE(ok(f.grant(ch, b, 1, kRW)));  // b can write too
        REQUIRE(ok(f.declare_flow(a, b, FlowKind::Memory)));
        FlowGraph live = f.live();
        CHECK(live.has(a.index.raw(), b.index.raw(), FlowKind::Memory));
        CHECK(live.has(b.index.raw(), a.index.raw(), FlowKind::Memory));
        CHECK_FALSE(live.has(a.index.raw(), b.index.raw(), FlowKind::Signal));
        CHECK_REFUSED(f.seal(), Status::Denied, "capabilities allow an undeclared information flow");
        CHECK(host::console_output().find("undeclared memory flow from 'b' to 'a'") != std::string::npos);
        CHECK_FALSE(f.kernel.sealed());
        REQUIRE(ok(f.declare_flow(b, a, FlowKind::Memory)));
        REQUIRE(ok(f.declare_flow(b, a, FlowKind::Memory)));  // a set: twice is once
        REQUIRE(ok(f.seal()));
        REQUIRE_INVARIANTS(f.kernel);
        CHECK(f.declare_flow(a, b, FlowKind::Memory).status() == Status::Denied);  // sealed
    }
    SECTION("a declared flow the capabilities do not give") {
        Fixture f;
        Partition& a = f.make("a", kPartitionPa, 1);
        Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
        const u32 ch = f.channel();
        REQUIRE(ok(f.grant(ch, a, 1, kRW)));
        REQUIRE(ok(f.declare_flow(a, b, FlowKind::Memory)));  // b holds nothing
        CHECK_REFUSED(f.seal(), Status::Denied, "a declared flow has no capability behind it");
        CHECK(host::console_output().find("declared memory flow from 'a' to 'b' has no capability behind it") !=
              std::string::npos);
        REQUIRE(ok(f.grant(ch, b, 1, kR)));
        REQUIRE(ok(f.seal()));
    }
    SECTION("declarations are checked") {
        Fixture f;
        Partition& a = f.make("a", kPartitionPa, 1);
        CHECK(f.declare_flow(a, a, FlowKind::Memory).status() == Status::InvalidArgument);
        Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
        CHECK(f.declare_flow(a, b, static_cast<FlowKind>(0)).status() == Status::InvalidArgument);
        CHECK(f.declare_flow(a, b, static_cast<FlowKind>(4)).status() == Status::InvalidArgument);
        CHECK(f.seal().status() == Status::Ok);  // nothing declared, nothing shared
    }
    SECTION("two readers are no flow; a private frame held by two partitions is one") {
        Fixture f;
        Partition& a = f.make("a", kPartitionPa, 1);
        Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
        const u32 ch = f.channel();
        REQUIRE(ok(f.grant(ch, a, 1, kR)));
        REQUIRE(ok(f.grant(ch, b, 1, kR)));
        CHECK(f.live().has(a.index.raw(), b.index.raw(), FlowKind::Memory) == false);
        // A frame granted to two partitions: they can only take turns mapping it, which still
        // passes data from one to the other.
        const u32 us = f.slot(), fs = f.slot();
        REQUIRE(ok(f.create_untyped(us, kPartitionPa + 24 * kMiB, 12, false)));
        REQUIRE(ok(f.retype(us, ObjectType::Frame, 12, fs, 1)));
        REQUIRE(ok(f.grant(fs, a, 2, kRW)));
        REQUIRE(ok(f.grant(fs, b, 2, kR)));
        CHECK(f.live().has(a.index.raw(), b.index.raw(), FlowKind::Memory));
        CHECK(f.seal().status() == Status::Denied);
    }
}

TEST_CASE("notification flows: signal edges must be declared, badges come with the grant", "[channels][flow][INV-6][T-51][T-66][T-71]") {
    Fixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    const u32 n = f.notification();
    // GrantCap's badge: only Notification and Channel caps carry one, and only once.
    REQUIRE(ok(f.grant(n, a, 1, Rights::write(), 0x40)));
    CHECK(cspace(a)[1].cap.badge == 0x40);
    CHECK(f.grant(manifest::kFirstFreeBootSlot + 3, a, 2, kR, 1).status() == Status::InvalidArgument);  // a's frame
    CHECK(cspace(a)[2].empty());
    const u32 badged = f.slot();
    REQUIRE(ok(f.mint(f.at(n), f.at(badged), Rights::write() | Rights::grant(), 0x8)));
    CHECK(f.grant(badged, a, 2, Rights::write(), 0x10).status() == Status::Denied);  // no re-badging
    REQUIRE(ok(f.grant(badged, a, 2, Rights::write())));                     // keeps 0x8
    CHECK(cspace(a)[2].cap.badge == 0x8);
    const u32 ch = f.channel();
    REQUIRE(ok(f.grant(ch, a, 3, kRW, 0x99)));  // channels may be badged too
    CHECK(cspace(a)[3].cap.badge == 0x99);
    REQUIRE(ok(f.delete_cap(cspace(a)[3])));

    REQUIRE(ok(f.grant(n, b, 1, kR)));
    FlowGraph live = f.live();
    CHECK(live.has(a.index.raw(), b.index.raw(), FlowKind::Signal));
    CHECK_FALSE(live.has(b.index.raw(), a.index.raw(), FlowKind::Signal));
    CHECK_FALSE(live.has(a.index.raw(), b.index.raw(), FlowKind::Memory));
    REQUIRE(ok(f.declare_flow(b, a, FlowKind::Signal)));  // the wrong direction
    CHECK_REFUSED(f.seal(), Status::Denied, "capabilities allow an undeclared information flow");
    CHECK(host::console_output().find("undeclared signal flow from 'a' to 'b'") != std::string::npos);
    REQUIRE(ok(f.declare_flow(a, b, FlowKind::Signal)));
    CHECK_REFUSED(f.seal(), Status::Denied, "a declared flow has no capability behind it");
    // b -> a exists once b can signal and a can wait.
    REQUIRE(ok(f.grant(n, b, 2, Rights::write())));
    REQUIRE(ok(f.grant(n, a, 3, kR)));
    // ... but not on the notification b waits on: one waiting partition per notification.
    CHECK_REFUSED(f.seal(), Status::Denied, "a notification can be waited on by two partitions");
    REQUIRE(ok(f.delete_cap(cspace(a)[3])));
    REQUIRE(ok(f.delete_cap(cspace(b)[2])));
    const u32 n2 = f.notification();
    REQUIRE(ok(f.grant(n2, b, 2, Rights::write())));
    REQUIRE(ok(f.grant(n2, a, 3, kR)));
    REQUIRE(ok(f.seal()));
    REQUIRE_INVARIANTS(f.kernel);
    // The badge is what the receiver sees.
    CHECK(call_status(f.kernel, a.vcpus[0], F::NotificationSignal, {1}) == 0);
    CHECK(call_status(f.kernel, b.vcpus[0], F::NotificationPoll, {1}) == 0);
    CHECK(b.vcpus[0].regs.x[1] == 0x40);
}

TEST_CASE("deleting or revoking one partition's channel cap unmaps it only there", "[channels][INV-1][INV-6][T-46][T-51][T-62]") {
    Shared s;
    Vcpu& wv = s.w->vcpus[0];
    Vcpu& rv = s.r->vcpus[0];
    REQUIRE(call_status(s.kernel, wv, F::FrameMap, {1, kChannelIpa, kRw}) == 0);
    REQUIRE(call_status(s.kernel, rv, F::FrameMap, {1, kChannelIpa, attr::kRead}) == 0);
    // The reader mints itself a second cap and maps the channel again: two mappings, one object.
    REQUIRE(call_status(s.kernel, rv, F::CapMint, {1, 2, Rights::kRead, 0}) == 0);
    REQUIRE(call_status(s.kernel, rv, F::FrameMap, {2, kChannelIpa + kChannelSize, attr::kRead}) == 0);
    REQUIRE_INVARIANTS(s.kernel);
    guest(*s.w, kChannelIpa)[5] = 0x5A;

    // Revoke of its cap 1 takes the mint (and its mapping), not cap 1's own mapping.
    CHECK(call_status(s.kernel, rv, F::CapRevoke, {1}) == 0);
    CHECK(rv.regs.x[1] == 1);
    CHECK_FALSE(s.r->stage2.translate(Ipa(kChannelIpa + kChannelSize)).ok());
    CHECK(s.r->stage2.translate(Ipa(kChannelIpa)).ok());
    REQUIRE_INVARIANTS(s.kernel);
    // Deleting the reader's cap unmaps the reader only; the writer keeps its mapping and data.
    CHECK(call_status(s.kernel, rv, F::CapDelete, {1}) == 0);
    CHECK_FALSE(s.r->stage2.translate(Ipa(kChannelIpa)).ok());
    REQUIRE(s.w->stage2.translate(Ipa(kChannelIpa)).ok());
    CHECK(guest(*s.w, kChannelIpa)[5] == 0x5A);
    // The declared edge has no cap behind it any more: after seal, the graph only shrinks.
    CHECK_FALSE(s.live().has(s.w->index.raw(), s.r->index.raw(), FlowKind::Memory));
    REQUIRE_INVARIANTS(s.kernel);
    // The kernel's revoke of the boot cap takes every mapping made through its descendants.
    CHECK(s.revoke(s.at(s.ch), 16).done);
    CHECK_FALSE(s.w->stage2.translate(Ipa(kChannelIpa)).ok());
    REQUIRE_INVARIANTS(s.kernel);
}

TEST_CASE("the boot program grants badged caps and declares flows", "[channels][boot][INV-6][T-28][T-51][T-66]") {
    using manifest::OpKind;
    ManifestProgram m;
    const auto op = [&m](OpKind kind, u32 slot, std::initializer_list<u64> args, const char* name = "") {
        m.op(kind, slot, args, name);
    };
    const u64 part = static_cast<u64>(ObjectType::Partition), cnode = static_cast<u64>(ObjectType::CNode),
              frame = static_cast<u64>(ObjectType::Frame), channel = static_cast<u64>(ObjectType::Channel),
              ntfn = static_cast<u64>(ObjectType::Notification);
    const u64 memory = static_cast<u64>(FlowKind::Memory), signal = static_cast<u64>(FlowKind::Signal);
    // Partition p in boot slot 2 + 4p (its CNode +1, untyped +2, frame +3); the channel in 11,
    // the notification in 12.
    auto program = [&](bool declare_signal) {
        m.ops.clear();
        for (u32 i = 0; i < 2; ++i) {
            const u32 base = 2 + 4 * i;
            op(OpKind::Retype, kKernelUntyped, {part, 16, base, 1});
            op(OpKind::Retype, kKernelUntyped, {cnode, PartitionTable::kCSpaceRadix, base + 1, 1});
            op(OpKind::CreatePartition, base, {base + 1, 0, 1}, i == 0 ? "producer" : "consumer");
            op(OpKind::CreateUntyped, base + 2, {kPartitionPa + i * 4 * kMiB, 21, 0});
            op(OpKind::Retype, base + 2, {frame, 21, base + 3, 1});
            op(OpKind::MapFrame, base + 3, {base, kGuestRam, kRwx});
            op(OpKind::Retype, kKernelUntyped, {static_cast<u64>(ObjectType::Vcpu), 0, 13 + i, 1});
            op(OpKind::BindVcpu, 13 + i, {base, 0, 1 + i});
            op(OpKind::StartVcpu, 0, {base, 0, kGuestRam, 0});
        }
        op(OpKind::CreateUntyped, 10, {kChannelPa, kChannelBits, 0});
        op(OpKind::Retype, 10, {channel, kChannelBits, 11, 1});
        op(OpKind::Retype, kKernelUntyped, {ntfn, 0, 12, 1});
        op(OpKind::GrantCap, 11, {2, 1, Rights::kRead | Rights::kWrite, 0});
        op(OpKind::GrantCap, 11, {6, 1, Rights::kRead, 0});
        op(OpKind::GrantCap, 12, {2, 2, Rights::kWrite, 0x4});  // the producer's doorbell, badged
        op(OpKind::GrantCap, 12, {6, 2, Rights::kRead, 0});
        op(OpKind::DeclareFlow, 0, {2, 6, memory});
        if (declare_signal) op(OpKind::DeclareFlow, 0, {2, 6, signal});
        op(OpKind::Seal, 0, {});
    };
    auto run = [&](Fixture& f) {
        const std::vector<u8> blob = m.blob();
        ManifestReader reader;
        REQUIRE(ok(reader.open(blob.data(), blob.size())));
        return run_boot_program(f.kernel, reader);
    };

    Fixture f;
    program(false);
    BootResult r = run(f);
    CHECK(r.outcome.status() == Status::Denied);
    CHECK(r.op_index == static_cast<int>(m.ops.size()) - 1);
    CHECK(std::string(r.outcome.reason()) == "capabilities allow an undeclared information flow");
    CHECK(std::string(op_name(manifest::OpKind::DeclareFlow)) == "declare-flow");

    Fixture g;
    program(true);
    r = run(g);
    INFO(r.outcome.reason());
    REQUIRE(r.outcome.status() == Status::Ok);
    Partition& producer = *g.kernel.partitions[PartitionId(0)];
    CHECK(cspace(producer)[2].cap.badge == 0x4);
    CHECK(g.kernel.flows.declared().has(0, 1, FlowKind::Memory));
    CHECK(g.kernel.flows.declared().has(0, 1, FlowKind::Signal));
    CHECK_FALSE(g.kernel.flows.declared().has(1, 0, FlowKind::Memory));
    REQUIRE_INVARIANTS(g.kernel);

    // A flow naming a slot with no partition in it.
    Fixture h;
    program(true);
    manifest::ManifestOp bad = m.ops[m.ops.size() - 2];
    bad.arg[1] = 11;  // the channel's slot
    m.ops.insert(m.ops.end() - 1, bad);
    r = run(h);
    CHECK(r.outcome.status() == Status::NotFound);
    CHECK(std::string(r.outcome.reason()) == "no partition in that boot slot");
}
