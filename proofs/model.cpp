// The abstract capability model (design.md "Verification harness" (1)): a symbolic state over
// a bounded but symbolic set of slots, every capability operation as a relation op(s, s'), and
// every invariant proved inductive per operation: inv(s) ∧ guard ∧ s' = op(s) ∧ ¬inv_k(s')
// must be unsat. docs/proofs.md maps each piece to the code.
//
// Shallow embedding: the pre-state is a set of uninterpreted functions over slots; the post-state
// of an operation is a set of C++ closures building terms over the pre-state (no frame axioms,
// no arrays), so ¬inv(s') is quantifier-free in the slot witnesses and only inv(s) is universally
// quantified. Slots are 4-bit vectors (16 slots), addresses are page numbers as integers (every
// base, length and end of a memory object in [0, 2^36], the 48-bit physical range of
// kMaxUntypedBits: linear integer arithmetic, no wrap-around to reason about), partitions 5-bit
// (0 = kernel/boot CNode, up to 31 partitions: the kernel's kMaxPartitions = 16 fit), SPIs 4-bit
// (the interrupt binding table, INV-5). docs/proofs.md "Bounds" says why these bounds suffice.
// The platform (kernel region K, the assignable MMIO window W) is symbolic: K and W are any two
// disjoint ranges.
//
// Each query is asked twice at most (runner.cpp): first in a ground encoding, where inv(s) and
// the guard's ∀ are replaced by their instances at the query's own slot terms (the operation's
// arguments, the witnesses of ¬inv_k(s'), the guard's skolem witnesses): quantifier-free, weaker
// than the real query, so its unsat is a proof; then, if that is not unsat, as the quantified
// query itself (E-matching, then MBQI), which is what reports counterexamples.
#include "model.hpp"
#include "model_eval.hpp"

#include <bulkhead/manifest.hpp>
#include <bulkhead/objects.hpp>
#include <caps/capability.hpp>
#include <caps/rights.hpp>
#include <caps/untyped.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <optional>
#include <set>
#include <sstream>
#include <z3.h>

namespace bh::proofs {
namespace {

constexpr unsigned kSlotBits = 4;
// Every base, length and end of a memory object is in [0, kAddrLimit] (WF-2), in pages: the
// whole physical range a cap can name (kMaxUntypedBits).
constexpr uint64_t kAddrLimit = 1ull << (caps::kMaxUntypedBits - 12);
constexpr unsigned kOwnerBits = 5;   // 0 = kernel (boot CNode), 1..31 = partition index + 1
static_assert((1u << kOwnerBits) > manifest::kMaxPartitions, "every partition the kernel allows has an owner code");
constexpr unsigned kTypeBits = 4;
constexpr unsigned kBadgeBits = 4;
// SPIs (the assignable ones, InterruptTable's lines) are symbolic 3-bit indices like slots. They
// share the slot sort so that the invariants' ∀x y z and the ground instantiation range over
// both: a clause uses a variable as an SPI or as a slot, never as both.
constexpr unsigned kSpiBits = kSlotBits;

using z3::expr;
using F1 = std::function<expr(const expr&)>;
using F2 = std::function<expr(const expr&, const expr&)>;

struct State {
    F1 typ, rt, base, len, wm, dev, bdg, hp, par, mp, mattr;
    F2 anc;  // ghost: anc(a, b) = a is a proper ancestor of b in the CDT
    // INV-5. Per slot: irq = the SPI an IrqHandler cap names (Capability::object = INTID).
    // Per SPI (InterruptTable::Binding): bnd = bound, bown = owner_plus1, bmask = masked,
    // created; bw = a cap to the bound notification (ghost: the kernel records the object's
    // address, the model a cap naming it, moved along on move/delete), hw = a live IrqHandler
    // cap of the SPI (ghost: what makes "created" mean "a cap exists").
    F1 irq, bnd, bown, bmask, bw, created, hw;
    std::function<expr()> sealed;  // Kernel::sealed: boot program done, partitions run
};

// Addresses are page numbers, mathematical integers in [0, kAddrLimit] wherever they matter.
expr le(const expr& a, const expr& b) { return a <= b; }
expr lt(const expr& a, const expr& b) { return a < b; }
expr nat(const expr& a) { return a >= 0; }

// A ∀ over one slot variable inside an operation's guard. The quantified encoding passes it to
// Z3 as is; the ground encoding replaces it by a Boolean proxy (see forall_slot).
struct SlotQuant {
    expr var, body, proxy, witness;
};

struct Env {
    z3::context& c;
    z3::sort slot, addr, owner, type, rights8, badge;
    z3::func_decl own;      // fixed: the CSpace (owner) a slot belongs to
    z3::func_decl declared; // fixed: declared flow owner -> owner (INV-6)
    expr kb, kl, wb, wl;    // kernel region [kb, kb+kl), assignable MMIO window [wb, wb+wl)
    std::string plant;
    // Which encoding op.make() builds guards for, and the guard quantifiers it met (ground only).
    mutable bool ground = false;
    mutable std::vector<SlotQuant> quants;
    // Concrete evaluation (eval_operation): every guard ∀ over a slot becomes the conjunction of
    // its 2^kSlotBits instances, exact since the slot sort is finite.
    bool concrete = false;

    explicit Env(z3::context& ctx, std::string planted)
        : c(ctx), slot(ctx.bv_sort(kSlotBits)), addr(ctx.int_sort()), owner(ctx.bv_sort(kOwnerBits)),
          type(ctx.bv_sort(kTypeBits)), rights8(ctx.bv_sort(8)), badge(ctx.bv_sort(kBadgeBits)),
          own(ctx.function("own", slot, owner)), declared(ctx.function("declared", owner, owner, ctx.bool_sort())),
          kb(ctx.constant("K.base", addr)), kl(ctx.constant("K.len", addr)),
          wb(ctx.constant("W.base", addr)), wl(ctx.constant("W.len", addr)), plant(std::move(planted)) {}

    expr T(ObjectType t) const { return c.bv_val(static_cast<unsigned>(t), kTypeBits); }
    expr R(unsigned bits) const { return c.bv_val(bits, 8); }
    expr A(uint64_t v) const { return c.int_val(v); }
    expr addr_const(const char* n) const { return c.constant(n, addr); }
    expr O(unsigned v) const { return c.bv_val(v, kOwnerBits); }
    expr S(unsigned v) const { return c.bv_val(v, kSlotBits); }
    expr spi_const(const char* n) const { return c.bv_const(n, kSpiBits); }
    bool planted(const char* name) const { return plant == name; }

    // Tables generated from the kernel's own constexpr functions (capability.hpp, untyped.hpp),
    // so the model cannot drift from them.
    expr full_rights(const expr& t) const {
        expr r = R(0);
        for (unsigned i = 0; i < kObjectTypeCount; ++i)
            r = z3::ite(t == c.bv_val(i, kTypeBits), R(caps::full_rights(static_cast<ObjectType>(i)).bits()), r);
        return r;
    }
    expr type_in(const expr& t, bool (*pred)(ObjectType)) const {
        expr r = c.bool_val(false);
        for (unsigned i = 0; i < kObjectTypeCount; ++i)
            if (pred(static_cast<ObjectType>(i))) r = r || t == c.bv_val(i, kTypeBits);
        return r;
    }
    expr mappable(const expr& t) const { return type_in(t, caps::mappable); }
    expr badgeable(const expr& t) const { return type_in(t, caps::badgeable); }
    expr retype_allowed(const expr& t, const expr& device) const {
        expr r = c.bool_val(false);
        for (unsigned i = 0; i < kObjectTypeCount; ++i) {
            const auto ty = static_cast<ObjectType>(i);
            const bool on_dev = caps::retype_type_allowed(ty, true), on_ram = caps::retype_type_allowed(ty, false);
            if (on_dev || on_ram)
                r = r || (t == c.bv_val(i, kTypeBits) && (on_dev && on_ram ? c.bool_val(true) : on_dev ? device : !device));
        }
        return r;
    }
    // Types whose caps name memory (object_bits != 0 for some size): all but Null, IrqHandler,
    // DmaStream, AuditLog (capability.hpp object_bits).
    expr memtype(const expr& t) const {
        return t != T(ObjectType::Null) && t != T(ObjectType::IrqHandler) && t != T(ObjectType::DmaStream) &&
               t != T(ObjectType::AuditLog) && z3::ule(t, c.bv_val(kObjectTypeCount - 1, kTypeBits));
    }
};

// ---- ranges (half-open, in page numbers, never wrapping by WF) ------------------------------
expr inside(const expr& a, const expr& al, const expr& b, const expr& bl) {
    return le(b, a) && le(a + al, b + bl);
}
expr overlap(const expr& a, const expr& al, const expr& b, const expr& bl) {
    return al != 0 && bl != 0 && lt(a, b + bl) && lt(b, a + al);
}

State pre_state(Env& e, const std::string& tag) {
    auto& c = e.c;
    auto f1 = [&](const char* n, const z3::sort& range) {
        z3::func_decl f = c.function((std::string(n) + tag).c_str(), e.slot, range);
        return F1([f](const expr& x) { return f(x); });
    };
    State s;
    s.typ = f1("typ", e.type);
    s.rt = f1("rights", e.rights8);
    s.base = f1("base", e.addr);
    s.len = f1("len", e.addr);
    s.wm = f1("watermark", e.addr);
    s.dev = f1("device", c.bool_sort());
    s.bdg = f1("badge", e.badge);
    s.hp = f1("has_parent", c.bool_sort());
    s.par = f1("parent", e.slot);
    s.mp = f1("mapped_partition_plus1", e.owner);
    s.mattr = f1("mapped_attrs", c.bv_sort(3));
    z3::func_decl a = c.function(("anc" + tag).c_str(), e.slot, e.slot, c.bool_sort());
    s.anc = [a](const expr& x, const expr& y) { return a(x, y); };
    const z3::sort spi = c.bv_sort(kSpiBits);
    s.irq = f1("irq", spi);
    s.bnd = f1("bound", c.bool_sort());
    s.bown = f1("bound_owner_plus1", e.owner);
    s.bmask = f1("masked", c.bool_sort());
    s.bw = f1("bound_notification_cap", e.slot);
    s.created = f1("created", c.bool_sort());
    s.hw = f1("handler_cap", e.slot);
    expr sealed = c.bool_const(("sealed" + tag).c_str());
    s.sealed = [sealed]() { return sealed; };
    return s;
}

// ---- predicates over one state ---------------------------------------------------------------
struct P {
    const Env& e;
    const State& s;
    expr null(const expr& x) const { return s.typ(x) == e.T(ObjectType::Null); }
    expr nonnull(const expr& x) const { return !null(x); }
    expr mem(const expr& x) const { return e.memtype(s.typ(x)); }
    expr ut(const expr& x) const { return s.typ(x) == e.T(ObjectType::Untyped); }
    expr same_object(const expr& x, const expr& y) const {  // caps::same_object: (type, object, size)
        return s.typ(x) == s.typ(y) && !ut(x) && nonnull(x) && s.base(x) == s.base(y) && s.len(x) == s.len(y) &&
               z3::implies(irqh(x), s.irq(x) == s.irq(y));
    }
    expr irqh(const expr& x) const { return s.typ(x) == e.T(ObjectType::IrqHandler); }
    expr notif(const expr& x) const { return s.typ(x) == e.T(ObjectType::Notification); }
    expr ov(const expr& x, const expr& y) const { return overlap(s.base(x), s.len(x), s.base(y), s.len(y)); }
    expr in_alloc(const expr& x, const expr& u) const { return inside(s.base(x), s.len(x), s.base(u), s.wm(u)); }
    expr subset(const expr& r, const expr& of) const { return (r & ~of) == 0; }
    expr has(const expr& r, unsigned bit) const { return (r & e.R(bit)) != 0; }
    expr in_k(const expr& x) const { return overlap(s.base(x), s.len(x), e.kb, e.kl); }
    expr in_w(const expr& x) const { return overlap(s.base(x), s.len(x), e.wb, e.wl); }
    expr inside_w(const expr& x) const { return inside(s.base(x), s.len(x), e.wb, e.wl); }
    expr frame(const expr& x) const { return s.typ(x) == e.T(ObjectType::Frame) || s.typ(x) == e.T(ObjectType::DeviceMmio); }
    expr flowtype(const expr& x) const {
        return s.typ(x) == e.T(ObjectType::Channel) || s.typ(x) == e.T(ObjectType::Notification);
    }
};

// ---- invariants ---------------------------------------------------------------------------------
// A clause is a body over (state, x, y, z); the invariant is ∀x y z. body. Groups are what the
// report lists; "support" groups are the strengthening that makes the others inductive.
struct Clause {
    const char* group;
    const char* name;
    std::function<expr(const Env&, const State&, const expr&, const expr&, const expr&)> body;
    // Ground encoding only: terms the proof of this clause needs besides its witnesses (e.g. the
    // cap a binding names at the witness SPI), given the pre-state and the witnesses.
    using Extra = std::function<std::vector<expr>(const State&, const expr&, const expr&, const expr&)>;
    Extra extra = nullptr;
};

std::vector<Clause> raw_invariants() {
    using O = ObjectType;
    std::vector<Clause> v;
    auto add = [&](const char* g, const char* n, auto f, Clause::Extra x = nullptr) { v.push_back({g, n, f, x}); };
    // WF: caps::well_formed, the parts the model represents.
    add("WF (support)", "WF-1 fields of null/nonnull caps", [](const Env& e, const State& s, const expr& x, const expr& y, const expr&) {
        P p{e, s};
        return z3::ule(s.typ(x), e.c.bv_val(kObjectTypeCount - 1, kTypeBits)) &&
               z3::implies(p.null(x), s.rt(x) == 0 && !s.hp(x) && s.mp(x) == 0 && !s.anc(x, y) && !s.anc(y, x)) &&
               z3::implies(s.mp(x) != 0, e.mappable(s.typ(x)) && s.mattr(x) != 0) &&
               z3::implies(s.mp(x) == 0, s.mattr(x) == 0) &&
               z3::implies(s.bdg(x) != 0, e.badgeable(s.typ(x)));
    });
    add("WF (support)", "WF-2 ranges never wrap", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        const expr lim = e.A(kAddrLimit);
        return z3::implies(p.mem(x), s.len(x) != 0 && nat(s.base(x)) && nat(s.len(x)) && le(s.base(x), lim) && le(s.len(x), lim) &&
                                         le(s.base(x) + s.len(x), lim) &&
                                         z3::implies(p.ut(x), nat(s.wm(x)) && le(s.wm(x), s.len(x))));
    });
    add("WF (support)", "WF-3 IrqHandler caps name no memory", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        return z3::implies(p.irqh(x), s.base(x) == 0 && s.len(x) == 0);
    });
    // The binding table (InterruptTable::forget resets a line; nothing is bound before seal).
    add("WF (support)", "WF-4 unbound SPIs keep no binding state", [](const Env& e, const State& s, const expr& i, const expr&, const expr&) {
        return z3::implies(!s.bnd(i), s.bown(i) == e.O(0) && !s.bmask(i)) && z3::implies(!s.sealed(), !s.bnd(i));
    });
    // INV-4: derived rights ⊆ parent rights (and ⊆ the type's full rights); badges inherited.
    add("INV-4 rights", "rights within full_rights(type)", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        return z3::implies(p.nonnull(x), p.subset(s.rt(x), e.full_rights(s.typ(x))));
    });
    add("INV-4 rights", "child rights ⊆ parent rights, badge kept", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        const expr q = s.par(x);
        return z3::implies(s.hp(x) && !p.ut(q), p.subset(s.rt(x), s.rt(q)) && z3::implies(s.bdg(q) != 0, s.bdg(x) == s.bdg(q)));
    });
    // INV-4: every cap names a live object: it hangs from a live parent that is the same object
    // or the untyped it was carved from (inside the allocated part), or it is a root.
    add("INV-4 live object", "parent live; child of untyped carved from it", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        const expr q = s.par(x);
        return z3::implies(s.hp(x), p.nonnull(x) && p.nonnull(q) && q != x) &&
               z3::implies(s.hp(x) && p.ut(q),
                           p.mem(x) && p.in_alloc(x, q) &&
                               z3::implies(s.dev(q), s.typ(x) == e.T(O::Untyped) || s.typ(x) == e.T(O::DeviceMmio)) &&
                               z3::implies(!s.dev(q), s.typ(x) != e.T(O::DeviceMmio)) &&
                               z3::implies(p.ut(x), s.dev(x) == s.dev(q))) &&
               z3::implies(s.hp(x) && !p.ut(q), p.same_object(x, q));
    });
    // INV-4 for interrupts: an IrqHandler cap names an SPI the kernel created a handler for; a
    // created SPI has a live IrqHandler cap; a binding names a live Notification (bindings never
    // outlive what they name: the destroy hooks of the last caps unbind).
    add("INV-4 live object", "IrqHandler caps name created SPIs", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        return z3::implies(p.irqh(x), s.created(s.irq(x)));
    });
    add("INV-4 live object", "created SPI / binding name live caps", [](const Env& e, const State& s, const expr& i, const expr&, const expr&) {
        P p{e, s};
        return z3::implies(s.created(i), p.irqh(s.hw(i)) && s.irq(s.hw(i)) == i) &&
               z3::implies(s.bnd(i), s.created(i) && p.notif(s.bw(i)));
    });
    // The CDT as a ghost ancestor relation (support).
    add("CDT (support)", "ancestor relation is a forest over live caps", [](const Env& e, const State& s, const expr& x, const expr& y, const expr& z) {
        P p{e, s};
        return z3::implies(s.anc(x, y), p.nonnull(x) && p.nonnull(y) && x != y && !s.anc(y, x)) &&
               z3::implies(s.hp(x), s.anc(s.par(x), x)) &&
               z3::implies(s.anc(x, y), s.hp(y) && (s.par(y) == x || s.anc(x, s.par(y)))) &&
               z3::implies(s.anc(x, y) && s.anc(y, z), s.anc(x, z));
    });
    add("CDT (support)", "descendants of an untyped lie in its allocated part", [](const Env& e, const State& s, const expr& u, const expr& x, const expr&) {
        P p{e, s};
        return z3::implies(s.anc(u, x) && p.ut(u), p.mem(x) && p.in_alloc(x, u)) &&
               z3::implies(s.anc(x, u) && p.ut(u), p.ut(x));
    });
    // INV-4: untyped regions nested or disjoint; objects are leaves (two different non-untyped
    // objects never overlap); what lies in an untyped's allocated part descends from it.
    add("INV-4 untyped nested (a)", "overlap => nested in the allocated part", [](const Env& e, const State& s, const expr& u, const expr& x, const expr&) {
        P p{e, s};
        return z3::implies(p.ut(u) && p.mem(x) && x != u && p.ov(x, u),
                           p.in_alloc(x, u) || (p.ut(x) && p.in_alloc(u, x)));
    });
    add("INV-4 untyped nested (b)", "distinct objects never overlap", [](const Env& e, const State& s, const expr& x, const expr& y, const expr&) {
        P p{e, s};
        return z3::implies(p.mem(x) && p.mem(y) && x != y && !p.ut(x) && !p.ut(y) && p.ov(x, y), p.same_object(x, y));
    });
    add("INV-4 untyped nested (c)", "allocated memory descends from its untyped", [](const Env& e, const State& s, const expr& u, const expr& x, const expr&) {
        P p{e, s};
        return z3::implies(p.ut(u) && p.mem(x) && x != u && p.in_alloc(x, u) && !s.anc(x, u), s.anc(u, x));
    });
    // INV-1: a page mapped into two partitions belongs to one Channel object both map.
    add("INV-1 memory exclusivity", "mapped in two partitions => same Channel", [](const Env& e, const State& s, const expr& x, const expr& y, const expr&) {
        P p{e, s};
        return z3::implies(s.mp(x) != 0 && s.mp(y) != 0 && s.mp(x) != s.mp(y) && p.ov(x, y),
                           s.typ(x) == e.T(ObjectType::Channel) && p.same_object(x, y));
    });
    // INV-2: no mapping reaches the kernel region; device mappings only inside the MMIO window,
    // never executable; normal memory never in it; mapping attributes within the cap's rights.
    add("INV-2 kernel integrity", "mappings avoid K; device only in W, never X", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        const expr isdev = s.typ(x) == e.T(ObjectType::DeviceMmio);
        return z3::implies(s.mp(x) != 0, !p.in_k(x) && z3::implies(isdev, p.inside_w(x) && (s.mattr(x) & 4) == 0) &&
                                             z3::implies(!isdev, !p.in_w(x)) &&
                                             p.subset(z3::zext(s.mattr(x), 5), s.rt(x)));
    });
    add("INV-2 kernel integrity", "mappable objects avoid K (KF-1)", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        const expr isdev = s.typ(x) == e.T(ObjectType::DeviceMmio);
        return z3::implies(p.mem(x) && e.mappable(s.typ(x)), !p.in_k(x) && z3::implies(isdev, p.inside_w(x)) &&
                                                                  z3::implies(!isdev, !p.in_w(x)));
    });
    add("INV-2 kernel integrity", "device untyped inside W, RAM untyped outside", [](const Env& e, const State& s, const expr& x, const expr&, const expr&) {
        P p{e, s};
        return z3::implies(p.ut(x) && s.dev(x), p.inside_w(x)) && z3::implies(p.ut(x) && !s.dev(x), !p.in_w(x));
    });
    // INV-5: each SPI is routed to at most one partition. (a) the IrqHandler caps of one SPI are
    // in one partition's CSpace (seal's interrupt_shared; after seal caps stay in their CSpace);
    // (b) a bound SPI was bound by a partition, and no other partition holds a cap of it;
    // (c) no partition but the owner can wait on (holds a Read cap to) the bound notification:
    // the interrupt reaches the owner or nobody. The owner itself may have deleted its Read
    // cap or its IrqHandler cap since (docs/proofs.md).
    add("INV-5 interrupt ownership", "(a) an SPI's IrqHandler caps in one partition", [](const Env& e, const State& s, const expr& x, const expr& y, const expr&) {
        P p{e, s};
        return z3::implies(p.irqh(x) && p.irqh(y) && s.irq(x) == s.irq(y) && e.own(x) != 0 && e.own(y) != 0,
                           e.own(x) == e.own(y));
    });
    add("INV-5 interrupt ownership", "(b) a bound SPI's caps only in its owner", [](const Env& e, const State& s, const expr& i, const expr& x, const expr&) {
        P p{e, s};
        return z3::implies(s.bnd(i), s.bown(i) != 0 &&
                                         z3::implies(p.irqh(x) && s.irq(x) == i && e.own(x) != 0, e.own(x) == s.bown(i)));
    });
    add("INV-5 interrupt ownership", "(c) only the owner waits on the bound notif.", [](const Env& e, const State& s, const expr& i, const expr& x, const expr&) {
        P p{e, s};
        return z3::implies(s.bnd(i) && p.notif(x) && p.same_object(x, s.bw(i)) && p.has(s.rt(x), Rights::kRead) && e.own(x) != 0,
                           e.own(x) == s.bown(i));
    }, [](const State& s, const expr& i, const expr&, const expr&) { return std::vector<expr>{s.bw(i)}; });
    // Support for (c): one Notification is waited on by one partition (seal's
    // notifications_single_waiter, and bhcc's "waiters must name exactly one partition").
    add("INV-5 one waiter (support)", "Read caps of a notification in one partition", [](const Env& e, const State& s, const expr& x, const expr& y, const expr&) {
        P p{e, s};
        return z3::implies(p.notif(x) && p.same_object(x, y) && p.has(s.rt(x), Rights::kRead) && p.has(s.rt(y), Rights::kRead) &&
                               e.own(x) != 0 && e.own(y) != 0,
                           e.own(x) == e.own(y));
    });
    // INV-6: who can write memory / signal whom ⊆ the declared graph. Caps (Channel,
    // Notification) held in two CSpaces, and shared mapped pages: the cap-cap and mapping-mapping
    // edges of the kernel's one flow rule, flows_between (policy/flow_graph.hpp: a writing
    // access reaches a reading one), which live_flows, seal, the checker and the concrete check
    // use. Its cap-mapping edges are not in the model (docs/proofs.md, the gaps list).
    add("INV-6 information flow", "held caps and shared mappings only along declared flows", [](const Env& e, const State& s, const expr& x, const expr& y, const expr&) {
        P p{e, s};
        const expr ox = e.own(x), oy = e.own(y);
        return z3::implies(ox != 0 && oy != 0 && ox != oy && p.flowtype(x) && p.same_object(x, y) &&
                               p.has(s.rt(x), Rights::kWrite) && p.has(s.rt(y), Rights::kRead),
                           e.declared(ox, oy)) &&
               z3::implies(s.mp(x) != 0 && s.mp(y) != 0 && s.mp(x) != s.mp(y) && p.ov(x, y) && (s.mattr(x) & 2) != 0 &&
                               (s.mattr(y) & 1) != 0,
                           e.declared(s.mp(x), s.mp(y)));
    });
    // Seal's frames_unshared: a frame is mapped through one cap at a time, so two holders would
    // signal each other by FrameMap's answer (read-only holders too).
    add("INV-6 information flow", "a frame's caps in one partition", [](const Env& e, const State& s, const expr& x, const expr& y, const expr&) {
        P p{e, s};
        return z3::implies(p.frame(x) && p.same_object(x, y) && e.own(x) != 0 && e.own(y) != 0, e.own(x) == e.own(y));
    });
    // A bound SPI signals its notification on the owner's behalf: whoever else can wait on it
    // must be a declared destination of the owner (with INV-5 (c) there is nobody).
    add("INV-6 information flow", "a binding adds no flow", [](const Env& e, const State& s, const expr& i, const expr& x, const expr&) {
        P p{e, s};
        return z3::implies(s.bnd(i) && p.notif(x) && p.same_object(x, s.bw(i)) && p.has(s.rt(x), Rights::kRead) && e.own(x) != 0 &&
                               e.own(x) != s.bown(i),
                           e.declared(s.bown(i), e.own(x)));
    }, [](const State& s, const expr& i, const expr&, const expr&) { return std::vector<expr>{s.bw(i)}; });
    return v;
}

// The clauses seal's whole-state checks establish (policy/seal.cpp kSealChecks:
// interrupts_unshared, notifications_single_waiter, frames_unshared, flows_as_declared). Before
// seal nothing runs and the boot program is still granting: the invariant is "sealed ⇒ clause",
// and the seal step's guard is the clause itself over the whole state. So no boot operation
// assumes them; seal proves them from its check (docs/proofs.md "Seal's whole-state checks").
bool seal_checked(const Clause& c) {
    const std::string n = c.name;
    return n == "(a) an SPI's IrqHandler caps in one partition" || n == "Read caps of a notification in one partition" ||
           n == "held caps and shared mappings only along declared flows" || n == "a frame's caps in one partition";
}

std::vector<Clause> seal_checks() {
    std::vector<Clause> v;
    for (const Clause& c : raw_invariants())
        if (seal_checked(c)) v.push_back(c);
    return v;
}

std::vector<Clause> invariants() {
    std::vector<Clause> v = raw_invariants();
    for (Clause& c : v) {
        if (!seal_checked(c)) continue;
        auto body = c.body;
        c.body = [body](const Env& e, const State& s, const expr& x, const expr& y, const expr& z) {
            return z3::implies(s.sealed(), body(e, s, x, y, z));
        };
    }
    return v;
}

std::vector<std::string> groups(const std::vector<Clause>& cl) {
    std::vector<std::string> g;
    for (const auto& c : cl)
        if (g.empty() || g.back() != c.group) g.push_back(c.group);
    return g;
}

// ---- operations -----------------------------------------------------------------------------
struct Step {
    // What the kernel's operation checks (its refusal conditions, as far as modelled).
    expr guard;
    State post;
    std::vector<std::pair<std::string, expr>> args;  // printed with a counterexample
    std::vector<expr> slots;                          // slots worth printing
    std::vector<expr> spis = {};                      // SPIs worth printing (also ground terms)
    // op-specific postconditions (beyond the invariants), by name
    std::vector<std::pair<std::string, std::function<expr(const expr&)>>> specs;
    // What the proofs assume on top of the guard and the operation itself does NOT check: the
    // conditions of seal's whole-state checks (policy/seal.cpp), folded into the step. Every
    // proof query asserts it; the differential test compares the kernel's status with `guard`
    // alone; "seal-time checks" queries prove it is what seal's check implies (docs/proofs.md).
    std::optional<expr> assumed = std::nullopt;
    std::string assumption;  // what `assumed` stands for, noted on every proved row of the step
    // Part of the guard: clauses over the whole state (∀x y z), instantiated like the
    // invariants in the ground encoding (seal's checks).
    std::vector<Clause> guard_clauses = {};
};

expr slotv(const Env& e, const char* n) { return e.c.bv_const(n, kSlotBits); }

// ∀v. body, v a slot. Quantified encoding: a Z3 quantifier. Ground encoding: a fresh Boolean
// proxy p; the query then gets p ⇒ body[v:=t] for every term t of the query's term set and
// ¬p ⇒ ¬body[v:=w] for a fresh witness w (skolemization). Both are consequences of
// p ⇔ ∀v. body (given a suitable w), so a ground query that is unsat proves the quantified one.
expr subst(const expr& body, const expr& v, const expr& t);

expr forall_slot(const Env& e, const expr& v, const expr& body) {
    if (e.concrete) {
        expr all = e.c.bool_val(true);
        for (unsigned k = 0; k < (1u << kSlotBits); ++k) all = all && subst(body, v, e.S(k));
        return all;
    }
    if (!e.ground) {
        z3::expr_vector vs(e.c);
        vs.push_back(v);
        return z3::forall(vs, body);
    }
    const std::string n = "q" + std::to_string(e.quants.size());
    SlotQuant q{v, body, e.c.bool_const((n + ".holds").c_str()), e.c.bv_const((n + ".witness").c_str(), kSlotBits)};
    e.quants.push_back(q);
    return q.proxy;
}

expr subst(const expr& body, const expr& v, const expr& t) {
    z3::expr_vector from(body.ctx()), to(body.ctx());
    from.push_back(v);
    to.push_back(t);
    expr b = body;
    return b.substitute(from, to);
}

// Does the slot variable v occur in body?
bool occurs(const expr& body, const expr& v) {
    return !z3::eq(subst(body, v, body.ctx().bv_val(0, kSlotBits)), body);
}

// Every instance of body with the variables (those that occur) replaced by terms of T.
void instances(const expr& body, const std::vector<expr>& vars, size_t i, const std::vector<expr>& T,
               std::vector<expr>& out) {
    if (i == vars.size()) {
        out.push_back(body);
        return;
    }
    if (!occurs(body, vars[i])) return instances(body, vars, i + 1, T, out);
    for (const auto& t : T) instances(subst(body, vars[i], t), vars, i + 1, T, out);
}

// Frame-condition helper: field f with slot d replaced by v.
F1 upd(const F1& f, const expr& d, const expr& v) {
    return [f, d, v](const expr& x) { return z3::ite(x == d, v, f(x)); };
}

State clear_slot(const Env& e, const State& s, const expr& c) {
    State t = s;
    t.typ = upd(s.typ, c, e.T(ObjectType::Null));
    t.rt = upd(s.rt, c, e.R(0));
    t.bdg = upd(s.bdg, c, e.c.bv_val(0, kBadgeBits));
    t.mp = upd(s.mp, c, e.O(0));
    t.mattr = upd(s.mattr, c, e.c.bv_val(0, 3));
    return t;
}

// Whether c is the last cap to its object (cdt_is_final, which equals "no other slot names the
// object" by the finality argument of docs/capabilities.md): `last` is an argument of the
// delete/revoke operations, pinned down by the guard: last ⇒ no other cap names the object;
// ¬last ⇒ `heir`, another cap to the object, exists (it takes over as the ghost witness of the
// bindings that named c). Both cases together are exactly the kernel's.
expr finality_guard(const Env& e, const State& s, const expr& c, const expr& last, const expr& heir, const char* tag) {
    P p{e, s};
    expr y = e.c.bv_const((std::string(tag) + ".other").c_str(), kSlotBits);
    return z3::ite(last, forall_slot(e, y, z3::implies(y != c, !p.same_object(y, c))), heir != c && p.same_object(heir, c));
}

// caps::delete_cap: unmap (hook), splice the children into the parent, empty the slot.
// The destroy hooks of the last cap (Kernel::destroy): a Notification unbinds the SPIs bound to
// it (InterruptTable::notification_destroyed), an IrqHandler unbinds its SPI and clears
// `created` (handler_destroyed). A binding's notification is a cap to the same object as c,
// which under `last` is c itself, so "bw(i) == c" is the kernel's address comparison.
State delete_effect(const Env& e, const State& s, const expr& c, const expr& last, const expr& heir) {
    State t = clear_slot(e, s, c);
    {
        P p{e, s};
        const expr c_notif = p.notif(c), c_irqh = p.irqh(c), c_irq = s.irq(c);
        auto bw = s.bw, hw = s.hw, bnd = s.bnd, bown = s.bown, bmask = s.bmask, created = s.created;
        auto kill = [=](const expr& i) { return last && ((c_notif && bnd(i) && bw(i) == c) || (c_irqh && c_irq == i)); };
        const expr z = e.O(0);
        t.bnd = [=](const expr& i) { return bnd(i) && !kill(i); };
        t.bown = [=](const expr& i) { return z3::ite(kill(i), z, bown(i)); };
        t.bmask = [=](const expr& i) { return bmask(i) && !kill(i); };
        t.created = [=](const expr& i) { return created(i) && !(last && c_irqh && c_irq == i); };
        t.bw = [=](const expr& i) { return z3::ite(!last && bw(i) == c, heir, bw(i)); };
        t.hw = [=](const expr& i) { return z3::ite(!last && hw(i) == c, heir, hw(i)); };
    }
    auto hp = s.hp, par = s.par;
    t.hp = [hp, par, c](const expr& x) { return z3::ite(x == c, x != x, z3::ite(hp(x) && par(x) == c, hp(c), hp(x))); };
    t.par = [par, hp, c](const expr& x) { return z3::ite(x == c, x, z3::ite(hp(x) && par(x) == c, par(c), par(x))); };
    auto anc = s.anc;
    t.anc = [anc, c](const expr& a, const expr& b) { return anc(a, b) && a != c && b != c; };
    return t;
}

// copy/mint/grant: dest := src & mask, unmapped, first child of src.
State derive_effect(const Env& e, const State& s, const expr& src, const expr& d, const expr& rights,
                    const expr& badge) {
    State t = s;
    t.typ = upd(s.typ, d, s.typ(src));
    t.rt = upd(s.rt, d, rights);
    t.base = upd(s.base, d, s.base(src));
    t.len = upd(s.len, d, s.len(src));
    t.wm = upd(s.wm, d, s.wm(src));
    t.dev = upd(s.dev, d, s.dev(src));
    t.bdg = upd(s.bdg, d, z3::ite(badge != 0, badge, s.bdg(src)));
    t.irq = upd(s.irq, d, s.irq(src));
    t.hp = upd(s.hp, d, e.c.bool_val(true));
    t.par = upd(s.par, d, src);
    t.mp = upd(s.mp, d, e.O(0));
    t.mattr = upd(s.mattr, d, e.c.bv_val(0, 3));
    auto anc = s.anc;
    t.anc = [anc, d, src](const expr& a, const expr& b) { return anc(a, b) || (b == d && (a == src || anc(a, src))); };
    return t;
}

struct OpDef {
    std::string name;
    std::function<Step(Env&, const State&)> make;
};

std::vector<OpDef> operations() {
    using O = ObjectType;
    std::vector<OpDef> ops;

    // caps::retype, through BootSpace::retype (one object; `count` objects are `count` steps at consecutive aligned
    // offsets). The kernel's start is align_up(watermark, size) (caps::retype); the model
    // lets it be ANY start >= watermark that fits, which covers it.
    // fresh: the untyped has no descendants (watermark restarts at 0); split into two
    // operations so that each query has one case.
    auto retype = [](bool fix_kf1, bool fresh_case) {
        return [fix_kf1, fresh_case](Env& e, const State& s) {
            P p{e, s};
            expr u = slotv(e, "retype.untyped"), d = slotv(e, "retype.dest");
            expr ty = e.c.bv_const("retype.type", kTypeBits);
            expr start = e.addr_const("retype.start"), ln = e.addr_const("retype.len");
            expr y = slotv(e, "retype.any");
            // caps::retype: "no children => watermark 0"; modelled as "no descendants", equal
            // under the CDT invariant by induction on depth (docs/proofs.md).
            const expr fresh = forall_slot(e, y, !s.anc(u, y));
            const expr w0 = fresh_case ? e.A(0) : s.wm(u);
            const expr lim = e.A(kAddrLimit);
            const expr lower = e.planted("retype-ignores-watermark") ? e.A(0) : w0;
            expr guard = (fresh_case ? fresh : !fresh) && p.ut(u) && p.has(s.rt(u), Rights::kWrite) && e.retype_allowed(ty, s.dev(u)) && p.null(d) &&
                         d != u && e.own(d) == e.own(u) && ln != 0 && nat(ln) && nat(start) && le(lower, start) && le(start, lim) && le(ln, lim) &&
                         le(start + ln, s.len(u)) && le(s.len(u), e.A(kAddrLimit));
            if (fix_kf1) guard = guard && z3::implies(e.mappable(ty), !p.in_k(u));
            State t = s;
            const expr nb = s.base(u) + start;
            t.typ = upd(s.typ, d, ty);
            t.rt = upd(s.rt, d, e.full_rights(ty));
            t.base = upd(s.base, d, nb);
            t.len = upd(s.len, d, ln);
            t.wm = upd(upd(s.wm, u, start + ln), d, e.A(0));
            t.dev = upd(s.dev, d, s.dev(u) && ty == e.T(O::Untyped));
            t.bdg = upd(s.bdg, d, e.c.bv_val(0, kBadgeBits));
            t.hp = upd(s.hp, d, e.c.bool_val(true));
            t.par = upd(s.par, d, u);
            t.mp = upd(s.mp, d, e.O(0));
            t.mattr = upd(s.mattr, d, e.c.bv_val(0, 3));
            auto anc = s.anc;
            t.anc = [anc, d, u](const expr& a, const expr& b) { return anc(a, b) || (b == d && (a == u || anc(a, u))); };
            return Step{guard, t, {{"type", ty}, {"start", start}, {"len", ln}}, {u, d}, {}};
        };
    };
    ops.push_back({"retype (in use)", retype(false, false)});
    ops.push_back({"retype (fresh: wm reset)", retype(false, true)});
    ops.push_back({"retype [fix KF-1] (in use)", retype(true, false)});
    ops.push_back({"retype [fix KF-1] (fresh)", retype(true, true)});

    ops.push_back({"create-untyped (boot)", [](Env& e, const State& s) {
        P p{e, s};
        expr d = slotv(e, "cu.dest"), b = e.addr_const("cu.base"), l = e.addr_const("cu.len");
        expr dv = e.c.bool_const("cu.device");
        expr y = slotv(e, "cu.any");
        // BootSpace::check_root_untyped: device inside a window; RAM outside the kernel
        // region (and RAM never meets the windows); no overlap with an earlier region (the model
        // asks: with any live memory object).
        const expr lim = e.A(kAddrLimit);
        expr guard = !s.sealed() && p.null(d) && e.own(d) == 0 && l != 0 && nat(b) && nat(l) && le(b, lim) && le(l, lim) && le(b + l, lim) &&
                     z3::implies(dv, inside(b, l, e.wb, e.wl)) &&
                     z3::implies(!dv, !overlap(b, l, e.kb, e.kl) && !overlap(b, l, e.wb, e.wl)) &&
                     forall_slot(e, y, z3::implies(p.mem(y), !overlap(b, l, s.base(y), s.len(y))));
        State t = s;
        t.typ = upd(s.typ, d, e.T(O::Untyped));
        t.rt = upd(s.rt, d, e.full_rights(e.T(O::Untyped)));
        t.base = upd(s.base, d, b);
        t.len = upd(s.len, d, l);
        t.wm = upd(s.wm, d, e.A(0));
        t.dev = upd(s.dev, d, dv);
        t.bdg = upd(s.bdg, d, e.c.bv_val(0, kBadgeBits));
        t.hp = upd(s.hp, d, e.c.bool_val(false));
        t.par = upd(s.par, d, d);
        return Step{guard, t, {{"base", b}, {"len", l}, {"device", dv}}, {d}, {}};
    }});

    // caps::copy / caps::mint: src nonnull, not Untyped, has Grant; dest empty, same CSpace.
    auto derive = [](bool is_mint, bool is_grant) {
        return [is_mint, is_grant](Env& e, const State& s) {
            P p{e, s};
            const char* pre = is_grant ? "grant." : is_mint ? "mint." : "copy.";
            expr src = slotv(e, (std::string(pre) + "src").c_str()), d = slotv(e, (std::string(pre) + "dest").c_str());
            expr mask = e.c.bv_const((std::string(pre) + "mask").c_str(), 8);
            expr badge = e.c.bv_const((std::string(pre) + "badge").c_str(), kBadgeBits);
            if (!is_mint && !is_grant) { mask = e.R(0xFF); badge = e.c.bv_val(0, kBadgeBits); }
            // Rights::from_bits(mask) keeps only kAllBits.
            const expr requested = s.rt(src) & (mask & e.R(Rights::kAllBits));
            const expr given = (is_mint || is_grant) && e.planted("mint-ignores-mask") ? s.rt(src) : requested;
            expr guard = p.nonnull(src) && p.null(d) && d != src && !p.ut(src) && p.has(s.rt(src), Rights::kGrant) &&
                         z3::implies(badge != 0, e.badgeable(s.typ(src)) && s.bdg(src) == 0);
            if (is_grant) {
                // BootSpace::grant_cap: mint from a boot slot into the partition's CSpace. What
                // it does not check (flows, interrupt and frame holders, waiters) seal checks
                // over the whole state before anything runs.
                guard = guard && !s.sealed() && e.own(src) == 0 && e.own(d) != 0;
            } else {
                guard = guard && e.own(d) == e.own(src);  // caps move only within a CSpace after boot
            }
            State t = derive_effect(e, s, src, d, given, badge);
            Step st{guard, t, {{"mask", mask}, {"badge", badge}}, {src, d}, {}};
            if (is_mint || is_grant) {
                auto rt = t.rt;
                st.specs.push_back({"spec: rights(dest) = rights(src) & mask", [rt, d, requested](const expr&) {
                                        return rt(d) == requested;
                                    }});
            }
            return st;
        };
    };
    ops.push_back({"copy", derive(false, false)});
    ops.push_back({"mint", derive(true, false)});
    ops.push_back({"grant (boot GrantCap)", derive(true, true)});

    ops.push_back({"move", [](Env& e, const State& s) {
        P p{e, s};
        expr src = slotv(e, "move.src"), d = slotv(e, "move.dest");
        expr guard = p.nonnull(src) && p.null(d) && d != src && e.own(d) == e.own(src);
        auto rn = [src, d](const expr& x) { return z3::ite(x == d, src, x); };
        auto mv = [&](const F1& f) { return F1([f, rn](const expr& x) { return f(rn(x)); }); };
        State t = s;
        t.typ = upd(mv(s.typ), src, e.T(ObjectType::Null));
        t.rt = upd(mv(s.rt), src, e.R(0));
        t.base = mv(s.base);
        t.len = mv(s.len);
        t.wm = mv(s.wm);
        t.dev = mv(s.dev);
        t.bdg = upd(mv(s.bdg), src, e.c.bv_val(0, kBadgeBits));
        t.hp = upd(mv(s.hp), src, e.c.bool_val(false));
        auto par = s.par;
        t.par = [par, rn, src, d](const expr& x) {
            const expr q = par(rn(x));
            return z3::ite(q == src, d, q);
        };
        t.mp = upd(mv(s.mp), src, e.O(0));
        t.mattr = upd(mv(s.mattr), src, e.c.bv_val(0, 3));
        t.irq = mv(s.irq);
        auto anc = s.anc;
        t.anc = [anc, rn, src](const expr& a, const expr& b) { return a != src && b != src && anc(rn(a), rn(b)); };
        // The binding table names caps through the ghost witnesses: they follow the cap.
        auto bw = s.bw, hw = s.hw;
        t.bw = [bw, src, d](const expr& i) { return z3::ite(bw(i) == src, d, bw(i)); };
        t.hw = [hw, src, d](const expr& i) { return z3::ite(hw(i) == src, d, hw(i)); };
        return Step{guard, t, {}, {src, d}, {}};
    }});

    ops.push_back({"delete", [](Env& e, const State& s) {
        P p{e, s};
        expr c = slotv(e, "delete.slot"), heir = slotv(e, "delete.heir");
        expr last = e.c.bool_const("delete.last");
        return Step{p.nonnull(c) && finality_guard(e, s, c, last, heir, "delete"), delete_effect(e, s, c, last, heir),
                    {{"last", last}}, {c, heir}, {}};
    }});

    // caps::revoke: one step deletes one leaf descendant (the kernel picks the leftmost;
    // the model any). Emptying a CNode being destroyed is a plain delete (covered above).
    ops.push_back({"revoke (one step)", [](Env& e, const State& s) {
        P p{e, s};
        expr r = slotv(e, "revoke.slot"), d = slotv(e, "revoke.victim"), y = slotv(e, "revoke.any");
        expr heir = slotv(e, "revoke.heir");
        expr last = e.c.bool_const("revoke.last");
        expr guard = p.nonnull(r) && s.anc(r, d) && forall_slot(e, y, !(s.hp(y) && s.par(y) == d)) &&
                     finality_guard(e, s, d, last, heir, "revoke");
        State t = delete_effect(e, s, d, last, heir);
        if (e.planted("revoke-skips-descendant")) {
            // The bug: the victim is unlinked from the tree but its slot (and mapping) survive.
            t.typ = s.typ;
            t.rt = s.rt;
            t.bdg = s.bdg;
            t.mp = s.mp;
            t.mattr = s.mattr;
        }
        Step st{guard, t, {{"last", last}}, {r, d, heir}, {}};
        auto pre_anc = s.anc;
        State post = t;
        const Env* env = &e;
        st.specs.push_back({"spec: revoke removes descendants and mappings", [pre_anc, post, r, d, env](const expr& x) {
                                P q{*env, post};
                                return !post.anc(r, d) && z3::implies(post.anc(r, x), pre_anc(r, x)) &&
                                       z3::implies(pre_anc(r, x) && !post.anc(r, x), q.null(x) && post.mp(x) == 0);
                            }});
        return st;
    }});

    // check_map_frame (Channel admitted too, as designed).
    ops.push_back({"map frame", [](Env& e, const State& s) {
        P p{e, s};
        expr f = slotv(e, "map.frame"), z = slotv(e, "map.other");
        expr pv = e.c.bv_const("map.partition_plus1", kOwnerBits);
        expr at = e.c.bv_const("map.attrs", 3);
        const expr isdev = s.typ(f) == e.T(ObjectType::DeviceMmio);
        const expr ischan = s.typ(f) == e.T(ObjectType::Channel);
        // frame_mapped_by_another (check_map_frame): no cap to the same object mapped elsewhere.
        expr others = forall_slot(e, z, z3::implies(p.same_object(z, f) && s.mp(z) != 0, s.mp(z) == pv));
        if (e.planted("frame-double-map")) others = e.c.bool_val(true);
        // A Channel may be mapped by every holder; the flows that creates must be declared.
        expr chan_flows = forall_slot(e, z, z3::implies(s.mp(z) != 0 && s.mp(z) != pv && p.same_object(z, f),
                                                     z3::implies((at & 2) != 0 && (s.mattr(z) & 1) != 0, e.declared(pv, s.mp(z))) &&
                                                         z3::implies((s.mattr(z) & 2) != 0 && (at & 1) != 0, e.declared(s.mp(z), pv))));
        // check_map_frame: never executable device or channel memory (a channel is data only).
        expr guard = e.mappable(s.typ(f)) && at != 0 && (at & 3) != 0 && z3::implies(isdev || ischan, (at & 4) == 0) &&
                     p.subset(z3::zext(at, 5), s.rt(f)) && s.mp(f) == 0 && pv != 0 &&
                     (e.own(f) == 0 || e.own(f) == pv) && z3::implies(s.sealed(), e.own(f) == pv) && (ischan || others);
        State t = s;
        t.mp = upd(s.mp, f, pv);
        t.mattr = upd(s.mattr, f, at);
        Step st{guard, t, {{"partition+1", pv}, {"attrs", at}}, {f}, {}};
        // Before seal, seal's flow check covers the boot program's mappings. After it, the kernel
        // does not look at flows when a partition maps a channel it holds: the model assumes the
        // new mapping's flows are declared (an open obligation, docs/proofs.md).
        st.assumed = z3::implies(s.sealed() && ischan, chan_flows);
        st.assumption = "assumes: a channel mapped after seal adds only declared flows";
        return st;
    }});

    ops.push_back({"unmap frame", [](Env& e, const State& s) {
        expr f = slotv(e, "unmap.frame");
        expr pv = e.c.bv_const("unmap.partition_plus1", kOwnerBits);
        expr guard = e.mappable(s.typ(f)) && s.mp(f) == pv && pv != 0;
        State t = s;
        t.mp = upd(s.mp, f, e.O(0));
        t.mattr = upd(s.mattr, f, e.c.bv_val(0, 3));
        return Step{guard, t, {{"partition+1", pv}}, {f}, {}};
    }});

    // ---- interrupts (InterruptTable, BootSpace::create_irq_handler, seal) --------------------------
    // BootSpace::create_irq_handler -> InterruptTable::create_handler: before seal, a boot slot,
    // at most once per SPI (while a cap of it exists): a root cap, Control|Grant, object = INTID.
    ops.push_back({"create-irq-handler (boot)", [](Env& e, const State& s) {
        P p{e, s};
        expr d = slotv(e, "cih.dest");
        expr i = e.spi_const("cih.spi");
        expr guard = !s.sealed() && !s.created(i) && p.null(d) && e.own(d) == 0;
        State t = s;
        t.typ = upd(s.typ, d, e.T(ObjectType::IrqHandler));
        t.rt = upd(s.rt, d, e.full_rights(e.T(ObjectType::IrqHandler)));
        t.base = upd(s.base, d, e.A(0));
        t.len = upd(s.len, d, e.A(0));
        t.bdg = upd(s.bdg, d, e.c.bv_val(0, kBadgeBits));
        t.irq = upd(s.irq, d, i);
        t.hp = upd(s.hp, d, e.c.bool_val(false));
        t.par = upd(s.par, d, d);
        t.created = upd(s.created, i, e.c.bool_val(true));
        t.hw = upd(s.hw, i, d);
        Step st{guard, t, {{"spi", i}}, {d}, {}};
        st.spis = {i};
        return st;
    }});

    // seal: the end of the boot program. Its checks (interrupt_shared, the flow graph)
    // are folded into grant's guard (and are invariants); here only the phase changes.
    // seal: the end of the boot program; its guard is its whole-state checks (seal_checks()).
    ops.push_back({"seal", [](Env& e, const State& s) {
        State t = s;
        t.sealed = [&e]() { return e.c.bool_val(true); };
        Step st{!s.sealed(), t, {}, {}, {}};
        st.guard_clauses = seal_checks();
        return st;
    }});

    // The calls a partition makes (calls/cap_invoke.cpp): `h` and `n` are slots of the caller's CSpace
    // (own != 0, after seal). The SPI is irq(h).
    auto handler_ok = [](const Env& e, const State& s, const expr& h) {
        P p{e, s};
        return s.sealed() && e.own(h) != 0 && p.irqh(h) && p.has(s.rt(h), Rights::kControl);
    };
    // InterruptTable::bind: Control on the IrqHandler cap, Read on the Notification cap (the
    // caller waits on it); the binding records the notification, the caller as owner; a
    // rebind replaces them and keeps `masked`.
    ops.push_back({"irq-bind", [handler_ok](Env& e, const State& s) {
        P p{e, s};
        expr h = slotv(e, "bind.handler"), n = slotv(e, "bind.notification");
        const expr i = s.irq(h);
        expr guard = handler_ok(e, s, h) && e.own(n) == e.own(h) && p.notif(n);
        if (!e.planted("irq-bind-without-read")) guard = guard && p.has(s.rt(n), Rights::kRead);
        State t = s;
        t.bnd = upd(s.bnd, i, e.c.bool_val(true));
        t.bown = upd(s.bown, i, e.own(h));
        t.bw = upd(s.bw, i, n);
        Step st{guard, t, {{"handler slot", h}, {"notification slot", n}, {"spi", i}}, {h, n}, {}};
        st.spis = {i};
        return st;
    }});
    // InterruptTable::ack: bound (else NotFound); enables the SPI again.
    ops.push_back({"irq-ack", [handler_ok](Env& e, const State& s) {
        expr h = slotv(e, "ack.handler");
        const expr i = s.irq(h);
        State t = s;
        t.bmask = upd(s.bmask, i, e.c.bool_val(false));
        Step st{handler_ok(e, s, h) && s.bnd(i), t, {{"handler slot", h}, {"spi", i}}, {h}, {}};
        st.spis = {i};
        return st;
    }});
    // InterruptTable::unbind -> forget: the line is reset (created stays).
    ops.push_back({"irq-unbind", [handler_ok](Env& e, const State& s) {
        expr h = slotv(e, "unbind.handler");
        const expr i = s.irq(h);
        State t = s;
        t.bnd = upd(s.bnd, i, e.c.bool_val(false));
        t.bown = upd(s.bown, i, e.O(0));
        t.bmask = upd(s.bmask, i, e.c.bool_val(false));
        Step st{handler_ok(e, s, h) && s.bnd(i), t, {{"handler slot", h}, {"spi", i}}, {h}, {}};
        st.spis = {i};
        auto bnd = t.bnd;
        st.specs.push_back({"spec: the SPI is unbound", [bnd, i](const expr&) { return !bnd(i); }});
        return st;
    }});
    // InterruptTable::fired (the IRQ path, any time): a bound SPI is masked until IrqAck and its
    // notification signalled (the notification word is not modelled); an unbound one only
    // disabled.
    ops.push_back({"irq fires", [](Env& e, const State& s) {
        expr i = e.spi_const("fire.spi");
        State t = s;
        t.bmask = upd(s.bmask, i, s.bnd(i) || s.bmask(i));
        Step st{e.c.bool_val(true), t, {{"spi", i}}, {}, {}};
        st.spis = {i};
        return st;
    }});
    // Lifecycle::take_down (stop or restart of partition p) -> InterruptTable::partition_stopped:
    // every binding p made goes. Its caps stay (a restart keeps the CSpace).
    ops.push_back({"partition stop/restart", [](Env& e, const State& s) {
        expr pv = e.c.bv_const("stop.partition_plus1", kOwnerBits);
        auto bnd = s.bnd, bown = s.bown, bmask = s.bmask;
        const expr z = e.O(0);
        State t = s;
        t.bnd = [=](const expr& i) { return bnd(i) && bown(i) != pv; };
        t.bown = [=](const expr& i) { return z3::ite(bown(i) == pv, z, bown(i)); };
        t.bmask = [=](const expr& i) { return bmask(i) && bown(i) != pv; };
        Step st{s.sealed() && pv != 0, t, {{"partition+1", pv}}, {}, {}};
        auto tb = t.bnd, to = t.bown;
        st.specs.push_back({"spec: no binding of the partition remains", [tb, to, pv](const expr& i) {
                                return z3::implies(tb(i), to(i) != pv);
                            }});
        return st;
    }});
    return ops;
}

std::string render(const Env& e, const State& pre, const State& post, const z3::model& m, const Step& st,
                   const std::vector<expr>& witnesses, bool interrupts) {
    std::ostringstream o;
    o << "    platform: K=[" << hex(eval_u64(m, e.kb)) << ",+" << hex(eval_u64(m, e.kl)) << ") W=["
      << hex(eval_u64(m, e.wb)) << ",+" << hex(eval_u64(m, e.wl)) << ") (page numbers)\n";
    for (const auto& [n, v] : st.args) o << "    arg " << n << " = " << m.eval(v, true) << "\n";
    std::map<uint64_t, expr> slots;
    for (const auto& x : st.slots) slots.emplace(eval_u64(m, x), x);
    for (const auto& x : witnesses) slots.emplace(eval_u64(m, x), x);
    auto show = [&](const char* tag, const State& s, const expr& x) {
        o << "      " << tag << " type=" << eval_u64(m, s.typ(x)) << " rights=" << hex(eval_u64(m, s.rt(x)))
          << " range=[" << hex(eval_u64(m, s.base(x))) << ",+" << hex(eval_u64(m, s.len(x))) << ")"
          << " wm=" << hex(eval_u64(m, s.wm(x))) << " dev=" << eval_bool(m, s.dev(x))
          << " badge=" << eval_u64(m, s.bdg(x)) << " parent=" << (eval_bool(m, s.hp(x)) ? std::to_string(eval_u64(m, s.par(x))) : "-")
          << " mapped_in=" << eval_u64(m, s.mp(x)) << " attrs=" << eval_u64(m, s.mattr(x)) << " owner=" << eval_u64(m, e.own(x))
          << " irq=" << eval_u64(m, s.irq(x)) << "\n";
    };
    // In the groups with interrupt clauses, witnesses are printed both as slots and as SPIs (a
    // clause variable may be either).
    std::map<uint64_t, expr> spis;
    for (const auto& i : st.spis) spis.emplace(eval_u64(m, i), i);
    if (interrupts)
        for (const auto& x : witnesses) spis.emplace(eval_u64(m, x), x);
    for (const auto& [k, i] : spis) {
        slots.emplace(eval_u64(m, pre.bw(i)), pre.bw(i));
        slots.emplace(eval_u64(m, post.bw(i)), post.bw(i));
    }
    for (const auto& [k, x] : slots) {
        o << "    slot " << k << ":\n";
        show("before", pre, x);
        show("after ", post, x);
    }
    o << "    sealed: before=" << eval_bool(m, pre.sealed()) << " after=" << eval_bool(m, post.sealed()) << "\n";
    auto line = [&](const char* tag, const State& s, const expr& i) {
        o << "      " << tag << " bound=" << eval_bool(m, s.bnd(i)) << " owner=" << eval_u64(m, s.bown(i))
          << " notification_cap=slot " << eval_u64(m, s.bw(i)) << " masked=" << eval_bool(m, s.bmask(i))
          << " created=" << eval_bool(m, s.created(i)) << " handler_cap=slot " << eval_u64(m, s.hw(i)) << "\n";
    };
    for (const auto& [k, i] : spis) {
        o << "    spi " << k << ":\n";
        line("before", pre, i);
        line("after ", post, i);
    }
    return o.str();
}

// The platform: K and W valid, disjoint, below the object limit.
void add_platform(z3::solver& sol, const Env& e) {
    const expr lim = e.A(kAddrLimit);
    sol.add(e.kl != 0 && e.wl != 0 && nat(e.kb) && nat(e.kl) && nat(e.wb) && nat(e.wl) && le(e.kb, lim) && le(e.kl, lim) &&
            le(e.wb, lim) && le(e.wl, lim) && le(e.kb + e.kl, lim) && le(e.wb + e.wl, lim) && !overlap(e.kb, e.kl, e.wb, e.wl));
}

// The hypothesis inv(pre), and the guard's quantifiers.
// Quantified encoding (e.ground false): ∀x y z. clause, for every clause; the guard carries its
// own ∀. Ground encoding: every clause instantiated at every tuple of `terms` (plus the guard
// quantifiers' witnesses), and each guard quantifier's proxy tied to its instances and witness
// (forall_slot). Each ground hypothesis follows from the quantified one, so the ground query is
// weaker: unsat proves the claim, sat proves nothing (the caller then asks the quantified query).
void add_hypotheses(z3::solver& sol, const Env& e, const State& pre, const std::vector<Clause>& clauses,
                    std::vector<expr> terms) {
    expr x = slotv(e, "x"), y = slotv(e, "y"), z = slotv(e, "z");
    if (!e.ground) {
        z3::expr_vector vs(e.c);
        vs.push_back(x);
        vs.push_back(y);
        vs.push_back(z);
        for (const auto& c : clauses) sol.add(z3::forall(vs, c.body(e, pre, x, y, z)));
        return;
    }
    for (const auto& q : e.quants) terms.push_back(q.witness);
    std::vector<expr> inst;
    for (const auto& c : clauses) instances(c.body(e, pre, x, y, z), {x, y, z}, 0, terms, inst);
    for (const auto& q : e.quants) {
        std::vector<expr> qi;
        instances(q.body, {q.var}, 0, terms, qi);
        for (const auto& b : qi) inst.push_back(z3::implies(q.proxy, b));
        inst.push_back(z3::implies(!q.proxy, !subst(q.body, q.var, q.witness)));
    }
    for (const auto& b : inst) sol.add(b);
}

// The invariants, and the step's guard clauses (hypotheses the same way).
std::vector<Clause> with_guard_clauses(std::vector<Clause> clauses, const Step& step) {
    clauses.insert(clauses.end(), step.guard_clauses.begin(), step.guard_clauses.end());
    return clauses;
}

}  // namespace

std::vector<QueryResult> run_model(const std::string& planted, const std::string& only_op, const std::string& only_claim) {
    auto wanted = [&only_claim](const std::string& claim) { return only_claim.empty() || claim.rfind(only_claim, 0) == 0; };
    std::vector<std::function<QueryResult()>> jobs;
    static const auto clauses = invariants();
    static const auto ops = operations();
    for (const auto& op : ops) {
        if (!only_op.empty() && op.name.rfind(only_op, 0) != 0) continue;
        for (const auto& g : groups(clauses)) if (wanted(g)) jobs.push_back([&op, g, planted]() {
            z3::context ctx;
            Env e(ctx, planted);
            State pre = pre_state(e, "");
            std::optional<Step> step;
            std::vector<expr> wit;
            auto build = [&](z3::solver& sol, bool ground) {
                e.ground = ground;
                e.quants.clear();
                wit.clear();
                add_platform(sol, e);
                step.emplace(op.make(e, pre));
                sol.add(step->guard);
                if (step->assumed) sol.add(*step->assumed);
                // ¬inv_g(post) at fresh witness slots; the query's terms are the operation's
                // slots and the witnesses that occur.
                std::vector<expr> terms = step->slots;
                terms.insert(terms.end(), step->spis.begin(), step->spis.end());
                expr neg = ctx.bool_val(false);
                int i = 0;
                for (const auto& c : clauses) {
                    if (g != c.group) continue;
                    expr wx = slotv(e, ("cx" + std::to_string(i) + ".x").c_str());
                    expr wy = slotv(e, ("cx" + std::to_string(i) + ".y").c_str());
                    expr wz = slotv(e, ("cx" + std::to_string(i) + ".z").c_str());
                    const expr body = c.body(e, step->post, wx, wy, wz);
                    for (const auto& w : {wx, wy, wz})
                        if (occurs(body, w)) terms.push_back(w);
                    if (c.extra)
                        for (const auto& t : c.extra(pre, wx, wy, wz)) terms.push_back(t);
                    wit.insert(wit.end(), {wx, wy});
                    neg = neg || !body;
                    ++i;
                }
                sol.add(neg);
                add_hypotheses(sol, e, pre, with_guard_clauses(clauses, *step), terms);
            };
            const bool irq_clauses = g.rfind("INV-5", 0) == 0 || g == "WF (support)" || g == "INV-4 live object" ||
                                     g == "INV-6 information flow";
            auto explain = [&](const z3::model& m) { return render(e, pre, step->post, m, *step, wit, irq_clauses); };
            QueryResult r = run_query(ctx, "model", op.name, g, [&](z3::solver& sol) { build(sol, false); }, explain,
                                      kModelRlimit, nullptr, [&](z3::solver& sol) { build(sol, true); });
            if (step && !step->assumption.empty()) r.note += (r.note.empty() ? "" : "; ") + step->assumption;
            return r;
        });
        // op-specific postconditions
        z3::context probe;
        Env pe(probe, planted);
        State ps = pre_state(pe, "");
        const Step pstep = op.make(pe, ps);
        for (size_t k = 0; k < pstep.specs.size(); ++k) if (wanted(pstep.specs[k].first)) jobs.push_back([&op, k, planted]() {
            z3::context ctx;
            Env e(ctx, planted);
            State pre = pre_state(e, "");
            std::optional<Step> step;
            expr wx = slotv(e, "cx.x");
            auto build = [&](z3::solver& sol, bool ground) {
                e.ground = ground;
                e.quants.clear();
                step.emplace(op.make(e, pre));
                sol.add(step->guard);
                if (step->assumed) sol.add(*step->assumed);
                sol.add(!step->specs[k].second(wx));
                std::vector<expr> terms = step->slots;
                terms.insert(terms.end(), step->spis.begin(), step->spis.end());
                terms.push_back(wx);
                add_hypotheses(sol, e, pre, with_guard_clauses(clauses, *step), terms);
            };
            const bool spi_spec = op.name.rfind("irq", 0) == 0 || op.name.rfind("partition", 0) == 0;
            auto explain = [&](const z3::model& m) { return render(e, pre, step->post, m, *step, {wx}, spi_spec); };
            z3::context probe2;
            Env pe2(probe2, planted);
            State ps2 = pre_state(pe2, "");
            return run_query(ctx, "model", op.name, op.make(pe2, ps2).specs[k].first,
                             [&](z3::solver& sol) { build(sol, false); }, explain, kModelRlimit, nullptr,
                             [&](z3::solver& sol) { build(sol, true); });
        });
        // Non-vacuity: inv(s) ∧ guard is satisfiable, so the operation's proofs above do not hold
        // merely because their hypotheses contradict each other. Z3 must exhibit a state.
        if (wanted("non-vacuous: inv(s) and guard satisfiable")) jobs.push_back([&op, planted]() {
            z3::context ctx;
            Env e(ctx, planted);
            State pre = pre_state(e, "");
            std::optional<Step> step;
            auto build = [&](z3::solver& sol) {
                add_platform(sol, e);
                step.emplace(op.make(e, pre));
                sol.add(step->guard);
                if (step->assumed) sol.add(*step->assumed);
                add_hypotheses(sol, e, pre, with_guard_clauses(clauses, *step), {});
            };
            return run_query(ctx, "model", op.name, "non-vacuous: inv(s) and guard satisfiable", build, nullptr,
                             kModelRlimit, nullptr, nullptr, /*want_sat=*/true);
        });
    }
    // Base case: the state the kernel boots with (BootSpace::init): one root Untyped, the kernel's
    // object memory, inside K, in a boot slot; everything else empty.
    if (only_op.empty()) for (const auto& g : groups(clauses)) if (wanted(g)) jobs.push_back([g, planted]() {
        z3::context ctx;
        Env e(ctx, planted);
        auto build = [&](z3::solver& sol) {
            const expr lim = e.A(kAddrLimit);
            add_platform(sol, e);
            const expr k = e.S(1);
            expr ob = e.addr_const("objmem.base"), ol = e.addr_const("objmem.len");
            sol.add(ol != 0 && nat(ob) && nat(ol) && le(ob, lim) && le(ol, lim) && le(ob + ol, lim) && inside(ob, ol, e.kb, e.kl) &&
                    e.own(k) == 0);
            State s0;
            s0.typ = [&e, k](const expr& x) { return z3::ite(x == k, e.T(ObjectType::Untyped), e.T(ObjectType::Null)); };
            s0.rt = [&e, k](const expr& x) { return z3::ite(x == k, e.R(Rights::kWrite), e.R(0)); };
            s0.base = [ob](const expr&) { return ob; };
            s0.len = [ol](const expr&) { return ol; };
            s0.wm = [&e](const expr&) { return e.A(0); };
            s0.dev = [&ctx](const expr&) { return ctx.bool_val(false); };
            s0.bdg = [&ctx](const expr&) { return ctx.bv_val(0, kBadgeBits); };
            s0.hp = [&ctx](const expr&) { return ctx.bool_val(false); };
            s0.par = [](const expr& x) { return x; };
            s0.mp = [&e](const expr&) { return e.O(0); };
            s0.mattr = [&ctx](const expr&) { return ctx.bv_val(0, 3); };
            s0.anc = [&ctx](const expr&, const expr&) { return ctx.bool_val(false); };
            // No IrqHandler cap, nothing created or bound, not sealed.
            s0.irq = [&e](const expr&) { return e.c.bv_val(0, kSpiBits); };
            s0.bnd = [&ctx](const expr&) { return ctx.bool_val(false); };
            s0.bown = [&e](const expr&) { return e.O(0); };
            s0.bmask = [&ctx](const expr&) { return ctx.bool_val(false); };
            s0.bw = [](const expr& i) { return i; };
            s0.created = [&ctx](const expr&) { return ctx.bool_val(false); };
            s0.hw = [](const expr& i) { return i; };
            s0.sealed = [&ctx]() { return ctx.bool_val(false); };
            expr neg = ctx.bool_val(false);
            int i = 0;
            for (const auto& c : clauses) {
                if (g != c.group) continue;
                std::string n = "init" + std::to_string(i++);
                neg = neg || !c.body(e, s0, slotv(e, (n + ".x").c_str()), slotv(e, (n + ".y").c_str()),
                                     slotv(e, (n + ".z").c_str()));
            }
            sol.add(neg);
        };
        return run_query(ctx, "model", "initial state (boot)", g, build, nullptr, kModelRlimit);
    });
    // Non-vacuity of the base case: some platform and object memory meet its constraints.
    if (only_op.empty() && wanted("non-vacuous: boot constraints satisfiable")) jobs.push_back([planted]() {
        z3::context ctx;
        Env e(ctx, planted);
        auto build = [&](z3::solver& sol) {
            const expr lim = e.A(kAddrLimit);
            add_platform(sol, e);
            expr ob = e.addr_const("objmem.base"), ol = e.addr_const("objmem.len");
            sol.add(ol != 0 && nat(ob) && nat(ol) && le(ob, lim) && le(ol, lim) && le(ob + ol, lim) && inside(ob, ol, e.kb, e.kl));
        };
        return run_query(ctx, "model", "initial state (boot)", "non-vacuous: boot constraints satisfiable", build, nullptr,
                         kModelRlimit, nullptr, nullptr, /*want_sat=*/true);
    });
    // Independent queries, one Z3 context each: run them on the machine's cores (at most 2,
    // the build machines are shared).
    std::vector<QueryResult> out(jobs.size());
    std::atomic<size_t> next{0};
    auto worker = [&]() {
        for (size_t i; (i = next.fetch_add(1)) < jobs.size();) out[i] = jobs[i]();
    };
    const unsigned n = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
    std::vector<std::thread> ts;
    for (unsigned i = 1; i < n; ++i) ts.emplace_back(worker);
    worker();
    for (auto& t : ts) t.join();
    return out;
}

namespace {

// The uninterpreted constants of `e` (its free variables: arguments and pre-state constants).
void constants(const expr& e, std::set<unsigned>& seen, std::map<std::string, expr>& out) {
    const unsigned id = Z3_get_ast_id(e.ctx(), e);
    if (!seen.insert(id).second) return;
    if (e.is_app()) {
        if (e.num_args() == 0 && e.decl().decl_kind() == Z3_OP_UNINTERPRETED) out.emplace(e.decl().name().str(), e);
        for (unsigned i = 0; i < e.num_args(); ++i) constants(e.arg(i), seen, out);
    } else if (e.is_quantifier()) {
        constants(e.body(), seen, out);
    }
}

}  // namespace

std::optional<AbsStep> eval_operation(const std::string& name, const AbsState& pre,
                                      const std::map<std::string, std::int64_t>& args, std::string& error) {
    static const auto ops = operations();
    const OpDef* op = nullptr;
    for (const auto& o : ops)
        if (o.name == name) op = &o;
    if (op == nullptr) {
        error = "no model operation '" + name + "'";
        return std::nullopt;
    }
    // One context for many evaluations (making one costs more than an evaluation), renewed now
    // and then so that the terms of old evaluations do not pile up.
    static thread_local std::unique_ptr<z3::context> shared;
    static thread_local unsigned uses = 0;
    if (!shared || ++uses % 256 == 0) shared = std::make_unique<z3::context>();
    z3::context& ctx = *shared;
    Env e(ctx, "");
    e.concrete = true;
    const State s = pre_state(e, "");
    const Step st = op->make(e, s);
    const expr assumed = st.assumed ? *st.assumed : ctx.bool_val(true);

    // The pre-state as a model: each function of the state given at every point of its finite
    // domain (pre_state's names and sorts), each argument by the name of its constant.
    z3::model m(ctx);
    const z3::sort bool_s = ctx.bool_sort(), spi_s = ctx.bv_sort(kSpiBits), attrs_s = ctx.bv_sort(3);
    // Beyond the test's slots and SPIs (value_of(points)): an empty slot, an unused line.
    auto table = [&](const char* n, const z3::sort& dom, const z3::sort& range, unsigned points, auto value_of) {
        z3::func_decl f = ctx.function(n, dom, range);
        expr other = value_of(points);
        z3::func_interp fi = m.add_func_interp(f, other);
        for (unsigned k = 0; k < points; ++k) {
            z3::expr_vector at(ctx);
            at.push_back(ctx.bv_val(k, dom.bv_size()));
            expr v = value_of(k);
            fi.add_entry(at, v);
        }
    };
    auto slots = [&](const char* n, const z3::sort& range, auto value_of) { table(n, e.slot, range, kModelSlots, value_of); };
    auto spis = [&](const char* n, const z3::sort& range, auto value_of) { table(n, spi_s, range, kModelSpis, value_of); };
    static const AbsCap kEmptySlot{};
    static const AbsSpi kUnusedLine{};
    const auto P = [&pre](unsigned k) -> const AbsCap& { return k < kModelSlots ? pre.slot[k] : kEmptySlot; };
    const auto B = [&pre](unsigned i) -> const AbsSpi& { return i < kModelSpis ? pre.spi[i] : kUnusedLine; };
    slots("typ", e.type, [&](unsigned k) { return ctx.bv_val(P(k).type, kTypeBits); });
    slots("rights", e.rights8, [&](unsigned k) { return e.R(P(k).rights); });
    slots("base", e.addr, [&](unsigned k) { return ctx.int_val(P(k).base); });
    slots("len", e.addr, [&](unsigned k) { return ctx.int_val(P(k).len); });
    slots("watermark", e.addr, [&](unsigned k) { return ctx.int_val(P(k).watermark); });
    slots("device", bool_s, [&](unsigned k) { return ctx.bool_val(P(k).device); });
    slots("badge", e.badge, [&](unsigned k) { return ctx.bv_val(P(k).badge, kBadgeBits); });
    slots("has_parent", bool_s, [&](unsigned k) { return ctx.bool_val(P(k).has_parent); });
    slots("parent", e.slot, [&](unsigned k) { return e.S(P(k).parent); });
    slots("mapped_partition_plus1", e.owner, [&](unsigned k) { return e.O(P(k).mapped_plus1); });
    slots("mapped_attrs", attrs_s, [&](unsigned k) { return ctx.bv_val(P(k).attrs, 3); });
    slots("irq", spi_s, [&](unsigned k) { return ctx.bv_val(P(k).irq, kSpiBits); });
    slots("own", e.owner, [&](unsigned k) { return e.O(k < kModelSlots ? pre.own[k] : 0); });
    spis("bound", bool_s, [&](unsigned i) { return ctx.bool_val(B(i).bound); });
    spis("bound_owner_plus1", e.owner, [&](unsigned i) { return e.O(B(i).owner_plus1); });
    spis("masked", bool_s, [&](unsigned i) { return ctx.bool_val(B(i).masked); });
    spis("bound_notification_cap", e.slot, [&](unsigned i) { return e.S(B(i).notification); });
    spis("created", bool_s, [&](unsigned i) { return ctx.bool_val(B(i).created); });
    spis("handler_cap", e.slot, [&](unsigned i) { return e.S(B(i).handler); });
    auto pairs = [&](const char* n, const z3::sort& dom, auto value_of) {
        z3::func_decl f = ctx.function(n, dom, dom, bool_s);
        expr no = ctx.bool_val(false);
        z3::func_interp fi = m.add_func_interp(f, no);
        for (unsigned a = 0; a < kModelSlots; ++a)
            for (unsigned b = 0; b < kModelSlots; ++b) {
                z3::expr_vector at(ctx);
                at.push_back(ctx.bv_val(a, dom.bv_size()));
                at.push_back(ctx.bv_val(b, dom.bv_size()));
                expr v = ctx.bool_val(value_of(a, b));
                fi.add_entry(at, v);
            }
    };
    pairs("anc", e.slot, [&](unsigned a, unsigned b) { return pre.anc[a][b]; });
    pairs("declared", e.owner, [&](unsigned a, unsigned b) { return pre.declared[a][b]; });
    auto constant = [&](const char* n, expr v) {
        z3::func_decl f = ctx.function(n, 0, nullptr, v.get_sort());
        m.add_const_interp(f, v);
    };
    constant("sealed", ctx.bool_val(pre.sealed));
    constant("K.base", ctx.int_val(pre.kb));
    constant("K.len", ctx.int_val(pre.kl));
    constant("W.base", ctx.int_val(pre.wb));
    constant("W.len", ctx.int_val(pre.wl));
    // The arguments, by name; every other free constant is a missing argument.
    std::set<unsigned> seen;
    std::map<std::string, expr> free;
    constants(st.guard, seen, free);
    constants(assumed, seen, free);
    // Every field of the post-state at every point (an argument may occur in any of them).
    for (unsigned k = 0; k < kModelSlots; ++k) {
        const expr x = e.S(k);
        const State& t = st.post;
        for (const expr& f : {t.typ(x), t.rt(x), t.base(x), t.len(x), t.wm(x), t.dev(x), t.bdg(x), t.hp(x), t.par(x), t.mp(x),
                              t.mattr(x), t.irq(x), t.bnd(x), t.bown(x), t.bmask(x), t.bw(x), t.created(x), t.hw(x)})
            constants(f, seen, free);
        for (unsigned j = 0; j < kModelSlots; ++j) constants(t.anc(x, e.S(j)), seen, free);
    }
    constants(st.post.sealed(), seen, free);
    for (const char* fixed : {"sealed", "K.base", "K.len", "W.base", "W.len"}) free.erase(fixed);
    for (const auto& [n, c] : free) {
        const auto it = args.find(n);
        if (it == args.end()) {
            error = "model operation '" + name + "': no value for argument " + n;
            return std::nullopt;
        }
        const z3::sort srt = c.get_sort();
        constant(n.c_str(), srt.is_bool()  ? ctx.bool_val(it->second != 0)
                            : srt.is_int() ? ctx.int_val(it->second)
                                           : ctx.bv_val(static_cast<uint64_t>(it->second), srt.bv_size()));
    }
    AbsStep out;
    out.guard = eval_bool(m, st.guard);
    // Over the whole (finite) state: the slots beyond the test's are empty, and every seal clause
    // holds at an empty slot.
    for (const Clause& c : st.guard_clauses)
        for (unsigned x = 0; x < kModelSlots && out.guard; ++x)
            for (unsigned y = 0; y < kModelSlots && out.guard; ++y)
                for (unsigned z = 0; z < kModelSlots && out.guard; ++z)
                    out.guard = eval_bool(m, c.body(e, s, e.S(x), e.S(y), e.S(z)));
    out.assumed = eval_bool(m, assumed);
    AbsState& q = out.post;
    q = pre;
    auto i64 = [&](const expr& t) { return m.eval(t, true).get_numeral_int64(); };
    auto u = [&](const expr& t) { return static_cast<unsigned>(eval_u64(m, t)); };
    for (unsigned k = 0; k < kModelSlots; ++k) {
        const expr x = e.S(k);
        AbsCap& c = q.slot[k];
        c.type = u(st.post.typ(x));
        c.rights = u(st.post.rt(x));
        c.badge = u(st.post.bdg(x));
        c.base = i64(st.post.base(x));
        c.len = i64(st.post.len(x));
        c.watermark = i64(st.post.wm(x));
        c.device = eval_bool(m, st.post.dev(x));
        c.has_parent = eval_bool(m, st.post.hp(x));
        c.parent = u(st.post.par(x));
        c.mapped_plus1 = u(st.post.mp(x));
        c.attrs = u(st.post.mattr(x));
        c.irq = u(st.post.irq(x));
        for (unsigned j = 0; j < kModelSlots; ++j) q.anc[k][j] = eval_bool(m, st.post.anc(x, e.S(j)));
    }
    for (unsigned i = 0; i < kModelSpis; ++i) {
        const expr x = ctx.bv_val(i, kSpiBits);
        AbsSpi& b = q.spi[i];
        b.bound = eval_bool(m, st.post.bnd(x));
        b.owner_plus1 = u(st.post.bown(x));
        b.masked = eval_bool(m, st.post.bmask(x));
        b.created = eval_bool(m, st.post.created(x));
        b.notification = u(st.post.bw(x));
        b.handler = u(st.post.hw(x));
    }
    q.sealed = eval_bool(m, st.post.sealed());
    return out;
}

}  // namespace bh::proofs
