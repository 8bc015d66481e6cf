// The hypercall target's functional oracles (docs/fuzzing.md "Functional oracles"): what the
// invariant checker cannot see, because a state can be sound and still not what the call asked for.
//
//   * A mirror of the expected result of the simple capability and notification calls
//     (CapIdentify, CapCopy, CapMint, CapMove, CapDelete, NotificationSignal, NotificationPoll),
//     computed before the call from the caller's CSpace by the rules of docs/abi.md and
//     docs/capabilities.md, written out here rather than taken from caps::check_*: the status,
//     and on success the effect (the destination's cap, the source emptied by a move, the
//     notification word), on a refusal that the slots it named are unchanged.
//   * Memory contents: each partition's private frames carry its own canary (the first word of
//     every page, written once, before the snapshot); a leaf of one partition that reads another's
//     canary is a leak,
//     whatever the region records say; after a partition (re)starts, every private region it
//     records reads zero except where its image was loaded, which reads the image.
#pragma once

#include <arch/arch.hpp>
#include <bulkhead/hypercall.hpp>
#include <caps/cnode.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>

#include <cstring>

#include "fuzz_common.hpp"

namespace bh::fuzz::oracle {

// ---- the mirror ------------------------------------------------------------------------------
struct Expected {
    bool checked = false;  // false: a call the mirror does not model (or raw registers)
    u64 fid = 0;
    i64 status = 0;
    bool busy_allowed = false;  // CapDelete of a cap the mirror cannot tell is deletable
    CapSlot* a = nullptr;       // the slots the call names (a: source/invoked, b: destination)
    CapSlot* b = nullptr;
    CapSlot a_before{};
    CapSlot b_before{};
    Capability result{};  // the destination's cap after a successful copy, mint or move
    Notification* notification = nullptr;
    u64 word_before = 0;
    bool had_waiter = false;
    u64 badge = 0;  // what a signal ORs in
};

// The slot `cptr` names in `p`'s CSpace root (one level), with `need` on the root: the status a
// lookup must give, and the slot on success.
inline i64 resolve(const Partition& p, u64 cptr, Rights need, CapSlot*& out) {
    out = nullptr;
    const Capability& root = p.cspace_root;
    if (root.type != ObjectType::CNode) return static_cast<i64>(Status::NotFound);
    if (root.size_bits < 64 && (cptr >> root.size_bits) != 0) return static_cast<i64>(Status::InvalidArgument);
    if (!root.rights.has(need)) return static_cast<i64>(Status::Denied);
    out = &caps::cnode_slots(root)[cptr];
    return 0;
}

constexpr i64 st(Status s) { return static_cast<i64>(s); }

// What a caller in `p` must get for the call in `x` (x[0] the function ID).
inline Expected expect(const Partition& p, const u64* x) {
    using F = hvc::Function;
    Expected e;
    e.fid = x[0];
    const Rights use = Rights::read(), change = Rights::read() | Rights::write();
    const auto one = [&](u64 cptr, Rights need) {
        const i64 s = resolve(p, cptr, need, e.a);
        if (e.a != nullptr) e.a_before = *e.a;
        return s;
    };
    const auto two = [&](Rights source_need) {
        i64 s = one(x[1], source_need);
        if (s != 0) return s;
        s = resolve(p, x[2], change, e.b);
        if (e.b != nullptr) e.b_before = *e.b;
        return s;
    };
    // Copy and mint: a source to derive from (not Untyped, with Grant), an empty destination.
    const auto derivable = [&]() -> i64 {
        if (e.a->empty()) return st(Status::NotFound);
        if (!e.b->empty()) return st(Status::Exists);
        if (e.a->cap.type == ObjectType::Untyped) return st(Status::InvalidArgument);
        if (!e.a->cap.rights.has(Rights::grant())) return st(Status::Denied);
        return 0;
    };
    // The derived cap: the source's, unmapped (a mapping belongs to one cap).
    const auto derived = [&](Rights rights, u64 badge) {
        Capability c = e.a->cap;
        c.rights = rights;
        c.badge = badge;
        if (c.type == ObjectType::Frame || c.type == ObjectType::DeviceMmio || c.type == ObjectType::Channel) {
            c.word32 = 0;
            c.word64 = 0;
        }
        return c;
    };
    const auto notification = [&](Rights need) -> i64 {
        if (e.a->cap.type != ObjectType::Notification) return st(Status::InvalidArgument);
        if (!e.a->cap.rights.has(need)) return st(Status::Denied);
        e.notification = static_cast<Notification*>(arch::phys_to_virt(PhysAddr(e.a->cap.object)));
        e.word_before = e.notification->word;
        e.had_waiter = e.notification->waiter != nullptr;
        return 0;
    };
    e.checked = true;
    switch (static_cast<F>(x[0])) {
        case F::CapIdentify: e.status = one(x[1], use); break;
        case F::CapCopy:
            if ((e.status = two(use)) == 0 && (e.status = derivable()) == 0) e.result = derived(e.a->cap.rights, e.a->cap.badge);
            break;
        case F::CapMint: {
            if ((x[3] & ~static_cast<u64>(Rights::kAllBits)) != 0) {
                e.status = st(Status::InvalidArgument);  // unknown rights bits: refused at decode
                break;
            }
            if ((e.status = two(use)) != 0 || (e.status = derivable()) != 0) break;
            const bool badgeable = e.a->cap.type == ObjectType::Notification || e.a->cap.type == ObjectType::Channel;
            if (x[4] != 0 && !badgeable) {
                e.status = st(Status::InvalidArgument);
            } else if (x[4] != 0 && e.a->cap.badge != 0) {
                e.status = st(Status::Denied);  // no re-badging
            } else {
                e.result = derived(e.a->cap.rights & Rights::from_bits(x[3]), x[4] != 0 ? x[4] : e.a->cap.badge);
            }
            break;
        }
        case F::CapMove:
            if ((e.status = two(change)) != 0) break;
            if (e.a->empty()) {
                e.status = st(Status::NotFound);
            } else if (!e.b->empty()) {
                e.status = st(Status::Exists);
            } else {
                e.result = e.a->cap;  // the cap moves whole, its mapping with it
            }
            break;
        case F::CapDelete:
            if ((e.status = one(x[1], change)) != 0) break;
            if (e.a->empty()) {
                e.status = st(Status::NotFound);
            } else {
                e.busy_allowed = true;  // the last cap of a CNode that holds caps, or of a bound Vcpu
            }
            break;
        case F::NotificationSignal:
            if ((e.status = one(x[1], use)) == 0 && (e.status = notification(Rights::write())) == 0)
                e.badge = e.a->cap.badge != 0 ? e.a->cap.badge : 1;
            break;
        case F::NotificationPoll:
            if ((e.status = one(x[1], use)) == 0) e.status = notification(Rights::read());
            break;
        default: e.checked = false; break;
    }
    return e;
}

inline bool same_cap(const Capability& x, const Capability& y) { return std::memcmp(&x, &y, sizeof x) == 0; }

// The call ran and `v` (its caller) resumed with x0 = `status`.
inline void verify(const Expected& e, const Vcpu& v) {
    using F = hvc::Function;
    if (!e.checked) return;
    const i64 got = static_cast<i64>(v.regs.x[0]);
    if (got != e.status && !(e.busy_allowed && got == st(Status::Busy))) {
        std::fprintf(stderr, "function %#llx: status %lld, the mirror expects %lld\n", (unsigned long long)e.fid,
                     (long long)got, (long long)e.status);
        finding("functional: a call's status differs from the mirror's");
    }
    if (got != 0) {
        // Refused (or Busy): the slots it named are as they were.
        if ((e.a != nullptr && std::memcmp(e.a, &e.a_before, sizeof(CapSlot)) != 0) ||
            (e.b != nullptr && std::memcmp(e.b, &e.b_before, sizeof(CapSlot)) != 0))
            finding("functional: a refused call changed a slot it named");
        if (e.notification != nullptr && e.notification->word != e.word_before)
            finding("functional: a refused call changed a notification word");
        return;
    }
    switch (static_cast<F>(e.fid)) {
        case F::CapIdentify: {
            const Capability& c = e.a_before.cap;
            const bool mapped_here = c.mapped() && c.mapped_partition() == v.partition->index;
            if (v.regs.x[1] != static_cast<u64>(c.type) || v.regs.x[2] != c.rights.bits() || v.regs.x[3] != c.badge ||
                v.regs.x[4] != c.size_bits || v.regs.x[5] != (mapped_here ? 1u : 0u) ||
                v.regs.x[6] != (mapped_here ? c.mapped_ipa() : 0))
                finding("functional: CapIdentify's answer differs from the slot");
            break;
        }
        case F::CapCopy:
        case F::CapMint:
            if (!same_cap(e.b->cap, e.result)) finding("functional: the derived cap is not the one asked for");
            if (e.b->parent != e.a) finding("functional: the derived cap is not the source's child");
            if (!same_cap(e.a->cap, e.a_before.cap)) finding("functional: deriving changed the source cap");
            break;
        case F::CapMove:
            if (!same_cap(e.b->cap, e.result) || !e.a->empty()) finding("functional: the move did not move the cap");
            break;
        case F::CapDelete:
            if (!e.a->empty()) finding("functional: the deleted slot is not empty");
            break;
        case F::NotificationSignal:
            // Without a waiter the word gains the badge; a waiter is handed the word and it clears.
            if (!e.had_waiter && e.notification->word != (e.word_before | e.badge))
                finding("functional: a signal did not set its badge in the word");
            if (e.had_waiter && e.notification->waiter != nullptr)
                finding("functional: a signal left the waiter waiting");
            break;
        case F::NotificationPoll:
            if (v.regs.x[1] != e.word_before || e.notification->word != 0)
                finding("functional: a poll did not take the word");
            break;
        default: break;
    }
}

// ---- memory contents ---------------------------------------------------------------------------
// Each partition's canary: a 64-bit word that no scrub or image writes, in the first word of
// every page of its frames (what the checks below read; the rest stays zero, which keeps the
// snapshot's restore a zero check for most of it).
inline u64 canary_of(u32 partition) { return 0xC0DE'C0DE'0000'0000ull | (u64{partition + 1} << 8) | 0x5A; }

inline void fill_canary(u64 pa, u64 size, u32 partition) {
    for (u64 off = 0; off < size; off += kPageSize) *static_cast<u64*>(arch::phys_to_virt(PhysAddr(pa + off))) = canary_of(partition);
}

// A partition whose leaves read another partition's canary reads its private memory.
inline void no_foreign_canary(const Kernel& k) {
    for (u32 i = 0; i < k.partitions.count(); ++i) {
        const Partition& p = *k.partitions[PartitionId(i)];
        p.stage2.for_each_mapping([&](Ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
            if (!attrs.readable() || attrs.device()) return;
            // The first word of each page: where the canaries are.
            for (u64 off = 0; off < size; off += kPageSize) {
                const u64 w = *static_cast<const u64*>(arch::phys_to_virt(pa + off));
                for (u32 j = 0; j < k.partitions.count(); ++j)
                    if (j != i && w == canary_of(j)) finding("memory: a partition maps a page holding another's data");
            }
        });
    }
}

// `p` has just (re)started: its private memory is scrubbed, its images loaded.
inline void scrubbed(const Partition& p) {
    for (u32 r = 0; r < p.region_count; ++r) {
        const MemoryRegion& m = p.regions[r];
        if (!m.is_private_ram()) continue;
        const u8* bytes = static_cast<const u8*>(arch::phys_to_virt(m.pa));
        bool has_image = false;
        for (u32 s = 0; s < p.image_count; ++s)
            has_image = has_image || (p.images[s].ipa.raw() < m.ipa.raw() + m.size &&
                                      m.ipa.raw() < p.images[s].ipa.raw() + p.images[s].size);
        if (!has_image) {  // the common case, a word at a time (a 2 MiB frame per restart)
            const u64* w = reinterpret_cast<const u64*>(bytes);
            u64 any = 0;
            for (u64 k = 0; k < m.size / 8; ++k) any |= w[k];
            if (any != 0) finding("memory: a (re)started partition's private memory is not scrubbed");
            continue;
        }
        for (u64 off = 0; off < m.size; ++off) {
            u8 want = 0;
            const u64 ipa = m.ipa.raw() + off;
            for (u32 s = 0; s < p.image_count; ++s) {
                const ImageSegment& img = p.images[s];
                if (ipa >= img.ipa.raw() && ipa - img.ipa.raw() < img.size) want = img.bytes[ipa - img.ipa.raw()];
            }
            if (bytes[off] != want) finding("memory: a (re)started partition's private memory is not scrubbed");
        }
    }
}

}  // namespace bh::fuzz::oracle
