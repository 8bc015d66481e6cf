// Model <-> kernel differential test (docs/proofs.md "Model and kernel, compared"): random
// operation sequences run through the real capability core and system operations on a host
// Kernel, and through the Z3 model's transition relation evaluated concretely (model_eval.hpp:
// the same operation code the proofs use). After every step the kernel's state is abstracted to
// the model's vocabulary and compared with the model's post-state, and the kernel's status with
// the model's guard: Ok exactly when the guard holds, and a refusal changes nothing.
//
// The world: partitions a and b (complete, so that seal can pass); eight model slots — boot
// slots 0-3 (slot 0 a 32-page RAM Untyped everything is carved from), a's CSpace indices 1-2
// (slots 4-5), b's (slots 6-7). Declared flows are chosen per sequence; a declared pair is
// backed by a channel and a notification outside the model's slots (seal wants every declared
// flow to have a capability behind it). Before seal: retype, grant, capability operations in the
// boot CNode, map and unmap through boot caps, IrqHandler creation; then seal; after it, the
// calls a partition makes on its own CSpace. Built once per planted kernel bug (fuzz/planted/,
// a patched copy of one kernel source linked in place of the original): those builds must
// report a divergence.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"

#include <model_eval.hpp>

#include <caps/cnode.hpp>
#include <caps/untyped.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <vector>
#include <map>
#include <random>
#include <sstream>
#include <string>

#ifndef BH_DIFFERENTIAL_PLANTED
#define BH_DIFFERENTIAL_PLANTED ""  // the kernel bug this build carries (empty: none)
#endif

using namespace bh;
using namespace bh::test;
using proofs::AbsCap;
using proofs::AbsState;
using proofs::kModelSlots;

namespace {

constexpr u64 kPage = 4096;
constexpr u64 kUntypedPa = kPartitionPa + 4 * kMiB;  // model slot 0: 32 pages
constexpr unsigned kUntypedBits = 17;
constexpr u64 kOutsidePa = kPartitionPa + 8 * kMiB;  // the setup's objects, 1 MiB each
constexpr unsigned kSpis = 4;                         // model SPIs 0..3 = the first assignable INTIDs

u32 intid_of(unsigned spi) {
    unsigned n = spi;
    for (const auto& r : platform::kAssignableSpis) {
        if (n < r.count) return r.first + n;
        n -= r.count;
    }
    return 0;
}

std::string g_reason;  // the last refusal's status and reason, for the log

struct World {
    KernelFixture f;
    Partition* part[2] = {};
    u32 boot[4] = {};
    bool declared[2] = {};  // a -> b, b -> a (memory and signal)
    std::string error;      // an abstraction failure (a cap the model cannot name)

    explicit World(std::mt19937& rng) {
        part[0] = &make("a", kPartitionPa, 1);
        part[1] = &make("b", kPartitionPa + 2 * kMiB, 2);
        for (u32& s : boot) s = f.slot();
        REQUIRE(f.create_untyped(boot[0], kUntypedPa, kUntypedBits, false).ok());
        for (unsigned d = 0; d < 2; ++d) {
            declared[d] = rng() % 2 == 0;
            if (!declared[d]) continue;
            Partition& from = *part[d];
            Partition& to = *part[1 - d];
            const u32 ch = object(ObjectType::Channel, 12), nt = object(ObjectType::Notification, 0);
            const u64 base = 5 + 2 * d;  // CSpace indices outside the model's slots
            REQUIRE(f.grant(ch, from, base, Rights::write()).ok());
            REQUIRE(f.grant(ch, to, base, Rights::read()).ok());
            REQUIRE(f.grant(nt, from, base + 1, Rights::write()).ok());
            REQUIRE(f.grant(nt, to, base + 1, Rights::read()).ok());
            REQUIRE(f.declare_flow(from, to, manifest::FlowKind::Memory).ok());
            REQUIRE(f.declare_flow(from, to, manifest::FlowKind::Signal).ok());
        }
    }

    // Each object of the setup from a root untyped of its own, so that the setup does not depend
    // on the retype code a planted bug may break (the sequences exercise that).
    u64 next_pa = kOutsidePa;
    u32 object(ObjectType type, unsigned bits) {
        const u32 us = f.slot(), os = f.slot();
        REQUIRE(f.create_untyped(us, next_pa, 20, false).ok());
        REQUIRE(f.retype(us, type, bits, os, 1).ok());
        next_pa += kMiB;
        return os;
    }
    // KernelFixture::make, with its objects from object().
    Partition& make(const char* name, u64 ram, u32 core) {
        const u32 ps = object(ObjectType::Partition, 16), cs = object(ObjectType::CNode, PartitionTable::kCSpaceRadix);
        REQUIRE(f.create_partition(ps, cs, name, manifest::RestartPolicy::Stop, 1).ok());
        Partition& p = f.partition(ps);
        REQUIRE(f.map(p, f.at(f.frame(ram)), kGuestRam, kRwx).ok());
        REQUIRE(f.bind_vcpu(p, object(ObjectType::Vcpu, 0), 0, core).ok());
        REQUIRE(f.set_entry(p, 0, kGuestRam, kBootArg).ok());
        return p;
    }

    static unsigned owner(unsigned k) { return k < 4 ? 0 : k < 6 ? 1 : 2; }
    CapSlot& slot(unsigned k) {
        if (k < 4) return f.at(boot[k]);
        Partition& p = *part[owner(k) - 1];
        return caps::cnode_slots(p.cspace_root)[1 + (k % 2)];
    }
    int model_slot(const CapSlot* s) {
        for (unsigned k = 0; k < kModelSlots; ++k)
            if (&slot(k) == s) return static_cast<int>(k);
        return -1;
    }

    // The kernel's state in the model's vocabulary.
    AbsState abstract() {
        AbsState a;
        const i64 origin = static_cast<i64>(kUntypedPa);
        for (unsigned k = 0; k < kModelSlots; ++k) {
            const CapSlot& s = slot(k);
            const Capability& c = s.cap;
            AbsCap& m = a.slot[k];
            a.own[k] = owner(k);
            m.type = static_cast<unsigned>(c.type);
            if (c.type == ObjectType::Null) continue;
            m.rights = c.rights.bits();
            m.badge = static_cast<unsigned>(c.badge);
            if (c.type == ObjectType::IrqHandler) {
                m.irq = platform::assignable_spi_number(c.irq());
            } else if (c.type != ObjectType::AuditLog) {
                m.base = (static_cast<i64>(c.object) - origin) / static_cast<i64>(kPage);
                m.len = static_cast<i64>(c.object_size() / kPage);
            }
            if (c.type == ObjectType::Untyped) {
                m.watermark = static_cast<i64>(c.watermark() / kPage);
                m.device = c.device();
            }
            if (s.parent != nullptr) {
                const int p = model_slot(s.parent);
                if (p < 0) error = "slot " + std::to_string(k) + ": parent outside the model's slots";
                m.has_parent = true;
                m.parent = p < 0 ? 0 : static_cast<unsigned>(p);
            }
            if (caps::mappable(c.type) && c.mapped()) {
                m.mapped_plus1 = c.mapped_partition().raw() + 1;
                Partition* p = f.kernel.partitions[c.mapped_partition()];
                const MemoryRegion* r = p != nullptr ? p->region_at(Ipa(c.mapped_ipa()), c.object_size()) : nullptr;
                if (r == nullptr) error = "slot " + std::to_string(k) + ": mapped, but no region records it";
                else m.attrs = static_cast<unsigned>(r->attrs.bits() & 7);
            }
        }
        for (unsigned k = 0; k < kModelSlots; ++k)
            for (const CapSlot* p = slot(k).parent; p != nullptr; p = p->parent)
                if (const int q = model_slot(p); q >= 0) a.anc[q][k] = true;
        for (unsigned i = 0; i < kSpis; ++i) {
            const InterruptTable::Binding& b = *f.kernel.interrupts.binding(intid_of(i));
            proofs::AbsSpi& m = a.spi[i];
            m.bound = b.bound();
            m.owner_plus1 = b.owner.is_none() ? 0 : b.owner.raw() + 1;
            m.masked = b.masked;
            m.created = b.created;
            for (unsigned k = kModelSlots; k-- > 0;) {
                const Capability& c = slot(k).cap;
                if (b.bound() && c.type == ObjectType::Notification && c.object == b.notification) m.notification = k;
                if (c.type == ObjectType::IrqHandler && platform::assignable_spi_number(c.irq()) == i) m.handler = k;
            }
        }
        a.sealed = f.kernel.sealed();
        a.declared[1][2] = declared[0];
        a.declared[2][1] = declared[1];
        a.kb = (static_cast<i64>(platform::kKernelRegionBase) - origin) / static_cast<i64>(kPage);
        a.kl = static_cast<i64>(platform::kKernelRegionSize / kPage);
        a.wb = (static_cast<i64>(platform::kAssignableMmio[0].base) - origin) / static_cast<i64>(kPage);
        a.wl = static_cast<i64>(platform::kAssignableMmio[0].size / kPage);
        return a;
    }
};

bool memory_type(unsigned t) {
    const auto ty = static_cast<ObjectType>(t);
    return ty != ObjectType::Null && ty != ObjectType::IrqHandler && ty != ObjectType::AuditLog && ty != ObjectType::DmaStream;
}

// The differences between two abstract states, on the fields that mean something for each slot
// (a null slot's other fields, an object's watermark, ... are left over by the model's terms).
std::string differences(const AbsState& kernel, const AbsState& model) {
    std::ostringstream o;
    for (unsigned k = 0; k < kModelSlots; ++k) {
        const AbsCap &x = kernel.slot[k], &y = model.slot[k];
        auto field = [&](const char* n, i64 a, i64 b) {
            if (a != b) o << "slot " << k << " " << n << ": kernel " << a << ", model " << b << "\n";
        };
        field("type", x.type, y.type);
        if (x.type != y.type) continue;
        field("rights", x.rights, y.rights);
        field("badge", x.badge, y.badge);
        field("mapped_partition_plus1", x.mapped_plus1, y.mapped_plus1);
        field("mapped_attrs", x.attrs, y.attrs);
        if (x.type == static_cast<unsigned>(ObjectType::Null)) continue;
        field("has_parent", x.has_parent, y.has_parent);
        if (x.has_parent && y.has_parent) field("parent", x.parent, y.parent);
        if (memory_type(x.type)) {
            field("base", x.base, y.base);
            field("len", x.len, y.len);
        }
        if (x.type == static_cast<unsigned>(ObjectType::Untyped)) {
            field("watermark", x.watermark, y.watermark);
            field("device", x.device, y.device);
        }
        if (x.type == static_cast<unsigned>(ObjectType::IrqHandler)) field("irq", x.irq, y.irq);
        for (unsigned j = 0; j < kModelSlots; ++j)
            if (kernel.anc[k][j] != model.anc[k][j])
                o << "anc(" << k << ", " << j << "): kernel " << kernel.anc[k][j] << ", model " << model.anc[k][j] << "\n";
    }
    for (unsigned i = 0; i < kSpis; ++i) {
        const proofs::AbsSpi &x = kernel.spi[i], &y = model.spi[i];
        auto field = [&](const char* n, i64 a, i64 b) {
            if (a != b) o << "spi " << i << " " << n << ": kernel " << a << ", model " << b << "\n";
        };
        field("bound", x.bound, y.bound);
        field("owner_plus1", x.owner_plus1, y.owner_plus1);
        field("masked", x.masked, y.masked);
        field("created", x.created, y.created);
        // The binding names an object (the kernel its address, the model a ghost cap to it).
        if (x.bound && y.bound) field("notification object", model.slot[x.notification].base, model.slot[y.notification].base);
    }
    if (kernel.sealed != model.sealed) o << "sealed: kernel " << kernel.sealed << ", model " << model.sealed << "\n";
    return o.str();
}

// One step: a model operation with its arguments, and the kernel's call with the same meaning.
struct Step {
    std::string op;
    std::map<std::string, i64> args;
    std::function<bool()> kernel;  // Ok?
    std::string text;               // for the log
};

class Runner {
public:
    Runner(World& w, std::mt19937& rng) : w_(w), rng_(rng) {}

    unsigned pick(unsigned n) { return static_cast<unsigned>(rng_() % n); }
    unsigned pick(unsigned lo, unsigned hi) { return lo + pick(hi - lo + 1); }

    // A slot of the CSpace `space` (0 boot, 1 a, 2 b); mostly a full one (a source) or an empty
    // one (a destination), so that sequences get past the trivial refusals.
    unsigned any_in(unsigned space) { return space == 0 ? pick(4) : 2 + 2 * space + pick(2); }
    unsigned prefer(unsigned space, bool full) {
        for (unsigned tries = 0; tries < 8 && pick(5) != 0; ++tries) {
            const unsigned k = any_in(space);
            if (w_.slot(k).empty() != full) return k;
        }
        return any_in(space);
    }
    unsigned src_in(unsigned space) { return prefer(space, true); }
    // Mostly a slot holding a cap of one of `types` (the operation's interesting case).
    unsigned typed_in(unsigned space, std::initializer_list<ObjectType> types) {
        for (unsigned tries = 0; tries < 12 && pick(6) != 0; ++tries) {
            const unsigned k = any_in(space);
            for (ObjectType t : types)
                if (w_.slot(k).cap.type == t) return k;
        }
        return any_in(space);
    }
    unsigned boot_dest() {  // boot slots 1-3 (0 holds the untyped): retype and IrqHandler targets
        for (unsigned tries = 0; tries < 8 && pick(5) != 0; ++tries)
            if (const unsigned k = pick(1, 3); w_.slot(k).empty()) return k;
        return pick(1, 3);
    }
    unsigned dest_in(unsigned space) { return prefer(space, false); }

    Step next(bool sealed) {
        const unsigned space = sealed ? 1 + pick(2) : 0;
        // After seal, mints from the granted (already reduced) caps are where rights can grow.
        if (sealed && pick(4) == 0) return mint(space);
        switch (pick(sealed ? 12 : 11)) {
            case 0: return sealed ? irq_step(space) : retype();
            case 1: return sealed ? irq_step(space) : grant();
            case 2: return copy(space);
            case 3: return mint(space);
            case 4: return move(space);
            case 5:
            case 6: return del(space);
            case 7: return sealed || pick(3) == 0 ? revoke(space) : copy(space);  // a boot revoke empties partitions
            case 8: return map(space);
            case 9: return unmap(space);
            case 10: return sealed ? irq_step(space) : pick(3) == 0 ? create_irq_handler() : retype();
            default: return irq_step(space);
        }
    }

private:
    static bool is_ok(Status s) {
        g_reason = status_name(s);
        return ok(s);
    }
    static bool is_ok(const bh::Outcome& o) {
        g_reason = std::string(status_name(o.status())) + ": " + o.reason();
        return o.ok();
    }
    template <class F>
    static bool locked_ok(F&& f) {
        return locked([&](const CapLockHeld& held) { return is_ok(f(held)); });
    }

    Step retype() {
        static constexpr ObjectType kTypes[] = {ObjectType::Frame, ObjectType::Notification, ObjectType::Channel, ObjectType::Untyped};
        const ObjectType type = kTypes[pick(4)];
        const unsigned u = pick(8) != 0 ? 0 : typed_in(0, {ObjectType::Untyped}), d = boot_dest();
        // Sizes the kernel accepts for the type (retype_size_valid is not modelled): a Frame or
        // Channel is a page, a Notification has no size argument.
        return retype(u, d, type, type == ObjectType::Notification ? 0 : type == ObjectType::Untyped ? pick(12, 14) : 12);
    }

public:
    Step retype(unsigned u, unsigned d, ObjectType type, unsigned bits) {
        // The model carves at ANY start at or above the watermark; the kernel at the aligned one.
        const Capability& uc = w_.slot(u).cap;
        const u64 size = 1ull << caps::object_bits(type, caps::retype_cap_bits(type, bits));
        const u64 wm = uc.type == ObjectType::Untyped && w_.slot(u).first_child != nullptr ? uc.watermark() : 0;
        Step s;
        s.op = std::string("retype [fix KF-1] ") + (uc.type == ObjectType::Untyped && w_.slot(u).first_child == nullptr ? "(fresh)" : "(in use)");
        s.args = {{"retype.untyped", u}, {"retype.dest", d}, {"retype.type", static_cast<i64>(type)},
                  {"retype.start", static_cast<i64>(align_up(wm, size) / kPage)}, {"retype.len", static_cast<i64>(size / kPage)}};
        s.kernel = [this, u, d, type, bits] {
            return locked_ok([&](const CapLockHeld& held) {
                return w_.f.kernel.boot.retype(BootSlot(w_.boot[u]), type, bits, BootSlot(w_.boot[d]), 1, w_.f.kernel, held);
            });
        };
        s.text = "retype " + std::to_string(u) + " -> " + std::to_string(d) + " type " + std::to_string(static_cast<int>(type)) +
                 " bits " + std::to_string(bits);
        return s;
    }
    Step grant() {
        const unsigned src = typed_in(0, {ObjectType::IrqHandler, ObjectType::Notification, ObjectType::Frame, ObjectType::Channel});
        const unsigned d = dest_in(1 + pick(2));
        return grant(src, d, static_cast<u8>(pick(2) == 0 ? Rights::kAllBits : pick(32)), pick(3) == 0 ? pick(1, 15) : 0);
    }
    Step grant(unsigned src, unsigned d, u8 mask, u64 badge) {
        Step s{"grant (boot GrantCap)",
               {{"grant.src", src}, {"grant.dest", d}, {"grant.mask", mask}, {"grant.badge", static_cast<i64>(badge)}}, nullptr,
               "grant " + std::to_string(src) + " -> " + std::to_string(d) + " mask " + std::to_string(mask) + " badge " +
                   std::to_string(badge)};
        s.kernel = [this, src, d, mask, badge] {
            return locked_ok([&](const CapLockHeld& held) {
                return w_.f.kernel.boot.grant_cap(BootSlot(w_.boot[src]), *w_.part[World::owner(d) - 1], 1 + (d % 2),
                                                  Rights::from_bits(mask), badge, held);
            });
        };
        return s;
    }
    Step copy(unsigned space) {
        const unsigned a = src_in(space), b = dest_in(space);
        Step s{"copy", {{"copy.src", a}, {"copy.dest", b}}, nullptr, "copy " + std::to_string(a) + " -> " + std::to_string(b)};
        s.kernel = [this, a, b] { return locked_ok([&](const CapLockHeld& h) { return caps::copy(w_.slot(a), w_.slot(b), h); }); };
        return s;
    }
    Step mint(unsigned space) {
        const unsigned a = src_in(space), b = dest_in(space);
        const u8 mask = static_cast<u8>(pick(32));
        const u64 badge = pick(3) == 0 ? pick(1, 15) : 0;
        Step s{"mint", {{"mint.src", a}, {"mint.dest", b}, {"mint.mask", mask}, {"mint.badge", static_cast<i64>(badge)}}, nullptr,
               "mint " + std::to_string(a) + " -> " + std::to_string(b) + " mask " + std::to_string(mask) + " badge " + std::to_string(badge)};
        s.kernel = [this, a, b, mask, badge] {
            return locked_ok([&](const CapLockHeld& h) { return caps::mint(w_.slot(a), w_.slot(b), Rights::from_bits(mask), badge, h); });
        };
        return s;
    }
    Step move(unsigned space) {
        const unsigned a = src_in(space), b = dest_in(space);
        Step s{"move", {{"move.src", a}, {"move.dest", b}}, nullptr, "move " + std::to_string(a) + " -> " + std::to_string(b)};
        s.kernel = [this, a, b] { return locked_ok([&](const CapLockHeld& h) { return caps::move(w_.slot(a), w_.slot(b), h); }); };
        return s;
    }
    // delete/revoke's `last` and `heir`: whether another model slot names the same object.
    std::pair<bool, unsigned> finality(unsigned c) {
        for (unsigned k = 0; k < kModelSlots; ++k)
            if (k != c && caps::same_object(w_.slot(k).cap, w_.slot(c).cap)) return {false, k};
        return {true, 0};
    }
    Step del(unsigned space) {
        // The untyped in boot slot 0 goes rarely: the sequence would have nothing left to carve.
        unsigned c = src_in(space);
        if (space == 0 && c == 0 && pick(8) != 0) c = pick(1, 3);
        const auto [last, heir] = finality(c);
        Step s{"delete", {{"delete.slot", c}, {"delete.last", last}, {"delete.heir", heir}}, nullptr, "delete " + std::to_string(c)};
        s.kernel = [this, c] { return locked_ok([&](const CapLockHeld& h) { return caps::delete_cap(w_.slot(c), w_.f.kernel, h); }); };
        return s;
    }
    // One revoke step (budget 1): the victim is the slot the kernel empties; the runner fills in
    // the victim's arguments after the kernel ran (revoke_victim).
    Step revoke(unsigned space) {
        const unsigned r = src_in(space);
        Step s{"revoke (one step)", {{"revoke.slot", r}}, nullptr, "revoke " + std::to_string(r)};
        s.kernel = [this, r] {
            const caps::RevokeProgress p =
                locked([&](const CapLockHeld& h) { return caps::revoke(w_.slot(r), 1, w_.f.kernel, h); });
            return ok(p.status) && p.deleted == 1;
        };
        return s;
    }
    Step map(unsigned space) {
        const unsigned fr = typed_in(space, {ObjectType::Frame, ObjectType::Channel});
        const unsigned p = space == 0 ? pick(1, 2) : space;
        const unsigned attrs = pick(1, 7);
        Step s{"map frame", {{"map.frame", fr}, {"map.partition_plus1", p}, {"map.attrs", attrs}}, nullptr,
               "map " + std::to_string(fr) + " in " + std::to_string(p) + " attrs " + std::to_string(attrs)};
        s.kernel = [this, fr, p, attrs] {
            // One IPA per slot and partition, aligned for any object here (at most 32 pages).
            const u64 ipa = kGuestRam + 64 * kMiB + fr * kMiB;
            return locked_ok([&](const CapLockHeld&) { return map_frame_bits(*w_.part[p - 1], w_.slot(fr), ipa, attrs); });
        };
        return s;
    }
    Step unmap(unsigned space) {
        const unsigned fr = typed_in(space, {ObjectType::Frame, ObjectType::Channel});
        const unsigned p = space == 0 ? pick(1, 2) : space;
        Step s{"unmap frame", {{"unmap.frame", fr}, {"unmap.partition_plus1", p}}, nullptr,
               "unmap " + std::to_string(fr) + " in " + std::to_string(p)};
        s.kernel = [this, fr, p] {
            return locked_ok([&](const CapLockHeld&) {
                CapSlot& slot = w_.slot(fr);
                const Outcome o = check_unmap_frame(*w_.part[p - 1], slot);
                if (o.ok()) {  // FrameUnmap's invoke half (calls/cap_invoke.cpp)
                    unmap_frame(w_.f.kernel.partitions, slot.cap);
                    slot.cap.set_mapping(PartitionId::none(), 0);
                }
                return o;
            });
        };
        return s;
    }
    Step create_irq_handler() { return create_irq_handler(boot_dest(), pick(kSpis)); }
    Step create_irq_handler(unsigned d, unsigned spi) {
        Step s{"create-irq-handler (boot)", {{"cih.dest", d}, {"cih.spi", spi}}, nullptr,
               "create-irq-handler " + std::to_string(d) + " spi " + std::to_string(spi)};
        s.kernel = [this, d, spi] { return w_.f.create_irq_handler(w_.boot[d], intid_of(spi)).ok(); };
        return s;
    }
private:
    Step irq_step(unsigned space) {
        // Mostly in a partition that holds an IrqHandler cap, if one does.
        for (unsigned k = 4; k < kModelSlots; ++k)
            if (w_.slot(k).cap.type == ObjectType::IrqHandler && pick(5) != 0) space = World::owner(k);
        const unsigned h = typed_in(space, {ObjectType::IrqHandler});
        InterruptTable& t = w_.f.kernel.interrupts;
        switch (pick(5)) {
            case 0: {
                const unsigned n = typed_in(space, {ObjectType::Notification});
                Step s{"irq-bind", {{"bind.handler", h}, {"bind.notification", n}}, nullptr,
                       "irq-bind " + std::to_string(h) + " to " + std::to_string(n)};
                s.kernel = [this, &t, h, n, space] {
                    return locked_ok([&](const CapLockHeld& held) {
                        const CapSlot &hs = w_.slot(h), &ns = w_.slot(n);
                        const CoreId core(space);  // a's vCPU is on core 1, b's on core 2
                        const Status st = t.check_bind(hs.cap, ns.cap, 1, core, held);
                        if (ok(st)) t.bind(hs.cap, ns.cap, 1, w_.part[space - 1]->index, core, held);
                        return st;
                    });
                };
                return s;
            }
            case 1:
            case 2: {
                const bool ack = pick(2) == 0;
                Step s{ack ? "irq-ack" : "irq-unbind", {{ack ? "ack.handler" : "unbind.handler", h}}, nullptr,
                       std::string(ack ? "irq-ack " : "irq-unbind ") + std::to_string(h)};
                s.kernel = [this, &t, h, ack] {
                    return locked_ok([&](const CapLockHeld& held) {
                        const Capability& c = w_.slot(h).cap;
                        const Status st = t.check_bound(c, held);
                        if (ok(st)) ack ? t.ack(c, held) : t.unbind(c, held);
                        return st;
                    });
                };
                return s;
            }
            case 3: {
                const unsigned spi = pick(kSpis);
                Step s{"irq fires", {{"fire.spi", spi}}, nullptr, "irq fires " + std::to_string(spi)};
                s.kernel = [&t, spi] {
                    t.fired(intid_of(spi));
                    return true;
                };
                return s;
            }
            default: {
                const unsigned p = pick(1, 2);
                Step s{"partition stop/restart", {{"stop.partition_plus1", p}}, nullptr, "stop " + std::to_string(p)};
                // Lifecycle::take_down's effect on the binding table (the rest is not modelled).
                s.kernel = [this, &t, p] {
                    t.partition_stopped(w_.part[p - 1]->index);
                    return true;
                };
                return s;
            }
        }
    }

    World& w_;
    std::mt19937& rng_;
};

struct RunResult {
    std::string divergence;  // empty: none
    unsigned steps = 0, accepted = 0, sealed_runs = 0;
    std::map<std::string, unsigned> accepted_by_op;
    std::map<std::string, unsigned> refused_by_reason;
};

// Runs `sequences` random sequences of up to `length` steps from `seed`. Stops at the first
// divergence and reports it with the sequence so far.
RunResult run(unsigned seed, unsigned sequences, unsigned length) {
    RunResult out;
    std::mt19937 rng(seed);
    for (unsigned q = 0; q < sequences && out.divergence.empty(); ++q) {
        World w(rng);
        Runner r(w, rng);
        std::string log;
        const unsigned seal_at = length / 4 + static_cast<unsigned>(rng() % (length / 2));
        // Every other sequence starts by giving one partition an IrqHandler cap and a
        // Notification cap (random rights), so that the interrupt calls get past their decode.
        std::vector<Step> prefix;
        if (q % 2 == 0) {
            const unsigned p = 1 + static_cast<unsigned>(rng() % 2), spi = static_cast<unsigned>(rng() % kSpis);
            const u8 masks[2] = {static_cast<u8>(rng() % 2 ? Rights::kAllBits : rng() % 32),
                                 static_cast<u8>(rng() % 2 ? Rights::kAllBits : rng() % 32)};
            prefix = {r.create_irq_handler(1, spi), r.retype(0, 2, ObjectType::Notification, 0), r.grant(1, 2 + 2 * p, masks[0], 0),
                      r.grant(2, 3 + 2 * p, masks[1], 0)};
        }
        for (unsigned i = 0; i < length && out.divergence.empty(); ++i) {
            const AbsState before = w.abstract();
            Step s;
            if (i < prefix.size()) {
                s = prefix[i];
            } else if (i == seal_at && !w.f.kernel.sealed()) {
                s = Step{"seal", {}, [&w] { return w.f.seal().ok(); }, "seal"};
            } else {
                s = r.next(w.f.kernel.sealed());
            }
            // revoke: the kernel decides which leaf goes; the model is told the same victim.
            g_reason.clear();
            const bool kernel_ok = s.kernel();
            const AbsState after = w.abstract();
            log += "  " + s.text + (kernel_ok ? ": Ok\n" : ": refused (" + g_reason + ")\n");
            if (!w.error.empty()) {
                out.divergence = "abstraction: " + w.error;
                break;
            }
            if (s.op == "revoke (one step)") {
                unsigned victim = 0;
                for (unsigned k = 0; k < kModelSlots; ++k)
                    if (before.slot[k].type != 0 && after.slot[k].type == 0) victim = k;
                if (!kernel_ok) {  // nothing deleted: the model must have no victim either
                    for (unsigned k = 0; k < kModelSlots; ++k) victim = before.anc[s.args["revoke.slot"]][k] ? k : victim;
                }
                s.args["revoke.victim"] = victim;
                // finality of the victim, in the state before
                bool last = true;
                unsigned heir = 0;
                for (unsigned k = 0; k < kModelSlots; ++k)
                    if (k != victim && before.slot[k].type == before.slot[victim].type && before.slot[k].type != 0 &&
                        before.slot[k].type != static_cast<unsigned>(ObjectType::Untyped) && before.slot[k].base == before.slot[victim].base &&
                        before.slot[k].len == before.slot[victim].len && before.slot[k].irq == before.slot[victim].irq) {
                        last = false;
                        heir = k;
                    }
                s.args["revoke.last"] = last;
                s.args["revoke.heir"] = heir;
            }
            std::string error;
            const std::optional<proofs::AbsStep> m = proofs::eval_operation(s.op, before, s.args, error);
            if (!m) {
                out.divergence = "model: " + error;
                break;
            }
            ++out.steps;
            if (s.op == "seal" && kernel_ok) ++out.sealed_runs;
            if (s.op == "seal" && !kernel_ok) break;  // seal's own refusals: compared by the proofs, not here
            if (kernel_ok != m->guard) {
                out.divergence = std::string("status: the kernel ") + (kernel_ok ? "accepts" : "refuses") + " '" + s.text +
                                 "', the model's guard " + (m->guard ? "holds" : "does not hold");
            } else if (kernel_ok) {
                ++out.accepted;
                ++out.accepted_by_op[s.op];
                if (std::string d = differences(after, m->post); !d.empty()) out.divergence = "state after '" + s.text + "':\n" + d;
                else if (s.op == "seal" && !m->assumed)
                    out.divergence = "seal: the kernel seals a state that breaks the model's seal-time conditions";
            } else if (++out.refused_by_reason[s.op + " (" + g_reason + ")"]; false) {
            } else if (std::string d = differences(after, before); !d.empty()) {
                out.divergence = "a refused '" + s.text + "' changed the kernel's state:\n" + d;
            }
            if (std::getenv("BH_DIFFERENTIAL_LOG") != nullptr && i + 1 == length) std::printf("sequence %u:\n%s", q, log.c_str());
            if (!out.divergence.empty())
                out.divergence += "\nsequence " + std::to_string(q) + " (seed " + std::to_string(seed) + "):\n" + log;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("the model and the kernel agree on random operation sequences", "[proof][differential][INV-1][INV-4][INV-5][INV-6]") {
    const std::string planted = BH_DIFFERENTIAL_PLANTED;
    const RunResult o = run(20261206, planted.empty() ? 150 : 400, 40);
    INFO(o.divergence);
    std::printf("differential (%s): %u steps compared, %u accepted by both, %u sequences sealed\n%s\n",
                planted.empty() ? "kernel as shipped" : planted.c_str(), o.steps, o.accepted, o.sealed_runs,
                o.divergence.c_str());
    for (const auto& [op, n] : o.accepted_by_op) std::printf("  %-28s %u accepted\n", op.c_str(), n);
    for (const auto& [why, n] : o.refused_by_reason) std::printf("  %-60s %u refused\n", why.c_str(), n);
    if (planted.empty()) {
        CHECK(o.divergence.empty());
        CHECK(o.accepted > 1000);  // the sequences exercise the operations, not just refusals
        CHECK(o.sealed_runs > 10);
    } else {
        CHECK_FALSE(o.divergence.empty());  // the planted kernel bug is caught
    }
}
