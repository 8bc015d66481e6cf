// Attack class "capability abuse" (threats T-45, T-46, T-49, T-56, T-57, T-63; invariant INV-4,
// INV-1): forged capability addresses, rights escalation through chains of mint, copy and move,
// use of a mapping after its cap was revoked, and revoke racing mint, map and access from a
// second vCPU. The partition runs with `faults = "inject"`, so an access the kernel refuses at
// stage 2 comes back as an external abort.
//
// CSpace (systems/capabuse.dts.in, bhcc's layout): 1 its CNode (R W G), 2-3 its RAM (2 MiB
// frames, R W X G), 4 a 4 KiB frame with Read|Grant only ("ro", unmapped), 5 a 4 KiB frame with
// Read|Write|Grant ("rw", unmapped); 6.. empty.
//
// Lines: ATTEMPT/RESULT as xtf.hpp; "RESULT capabuse <group>: ..." per group; BREACH on any
// right gained, any forged cptr that resolved, any access through a revoked mapping.
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using namespace bh::rt;

namespace {

constexpr u64 kOwnCNode = 1;
constexpr u64 kReadOnly = 4;
constexpr u64 kReadWrite = 5;
constexpr u64 kFree = 6;            // first empty slot
constexpr u64 kChainBase = 32;      // chains live in 32..95
constexpr u64 kRaceBase = 128;      // the race's copies live in 128..191
constexpr u64 kRaceCopies = 64;
constexpr u64 kRoIpa = 0x5000'0000;
constexpr u64 kRaceIpa = 0x5001'0000;
constexpr u64 kRevokedIpa = 0x5002'0000;
constexpr u64 kMaskAll = rights::kAll;
constexpr i64 kBusy = status_value(bh::Status::Busy);

u64 breaches = 0;
volatile u64 race_running = 0;
volatile u64 race_accesses = 0, race_reached = 0, race_contained = 0, race_maps = 0;

u64 rights_of(u64 slot) { return cap_identify(slot).rights; }

// Forged cptrs: nothing beyond the CSpace root's radix, no empty slot, resolves to a cap.
void forged(Tally& t) {
    u64 probes[80];
    unsigned n = 0;
    for (unsigned bit = 8; bit < 64; ++bit) probes[n++] = 1ull << bit;       // above the radix (8)
    probes[n++] = ~0ull;
    probes[n++] = 0x100 | kOwnCNode;                                          // an alias of slot 1?
    probes[n++] = 0x1'0000'0000ull | kReadWrite;
    probes[n++] = 0;                                                          // slot 0: never used
    probes[n++] = kFree;
    probes[n++] = 255;
    for (unsigned i = 0; i < n; ++i) {
        const u64 c = probes[i];
        const i64 results[] = {
            cap_identify(c).status == 0 && cap_identify(c).type != cap_type::kNull ? 0 : -1,
            cap_copy(c, kFree + 1), cap_mint(c, kFree + 1, kMaskAll, 0), cap_move(c, kFree + 1),
            frame_map(c, kRoIpa, map_attr::kRead), notification_signal(c), partition_stop(c),
        };
        for (i64 r : results) {
            if (r == 0) {
                ++breaches;
                breach("capabuse: forged cptr ", hex(c), " resolved to a cap");
                t.add_reached();
            } else {
                t.add_refused();
            }
        }
        (void)cap_delete(kFree + 1);
    }
    // Deleting or revoking through a forged address changes nothing either.
    for (unsigned i = 0; i < n; ++i) {
        if (probes[i] == kFree || probes[i] == 255 || probes[i] == 0) continue;
        if (cap_delete(probes[i]) == 0 || cap_revoke(probes[i]).status == 0) {
            ++breaches;
            breach("capabuse: delete/revoke through forged cptr ", hex(probes[i]));
        }
        t.add_refused();
    }
}

// Chains of derivations from the read-only frame, every step asking for every right: the
// rights must stay Read|Grant (or less), never Write, Execute or Control.
void escalation(Tally& t) {
    const u64 allowed = rights::kRead | rights::kGrant;
    u64 from = kReadOnly;
    for (u64 step = 0; step < 48; ++step) {
        const u64 to = kChainBase + step;
        i64 s;
        switch (step % 3) {
            case 0: s = cap_mint(from, to, kMaskAll, 0); break;
            case 1: s = cap_copy(from, to); break;
            default: {
                // Move the previous cap into a new slot: the cap keeps its rights, the old slot empties.
                s = cap_move(from, to);
                if (s == 0 && cap_identify(from).type != cap_type::kNull) {
                    ++breaches;
                    breach("capabuse: move left the source slot ", from, " filled");
                }
                break;
            }
        }
        if (s != 0) {
            t.add_refused();
            breach("capabuse: chain step ", step, " refused: ", s);
            ++breaches;
            break;
        }
        const u64 r = rights_of(to);
        if ((r & ~allowed) != 0) {
            ++breaches;
            breach("capabuse: chain step ", step, " gave rights ", hex(r), " from Read|Grant");
            t.add_reached();
        } else {
            t.add_refused();
        }
        from = to;
    }
    const u64 last = from;
    print("ATTEMPT capabuse chain: 48 steps of mint, copy and move, all rights asked: rights=", hex(rights_of(last)), "\n");
    // What the rights allow and refuse, through the last cap of the chain.
    print("ATTEMPT capabuse map-rw-through-ro: status=", frame_map(last, kRoIpa, map_attr::kRead | map_attr::kWrite), "\n");
    print("ATTEMPT capabuse map-x-through-ro: status=", frame_map(last, kRoIpa, map_attr::kRead | map_attr::kExecute), "\n");
    print("ATTEMPT capabuse unknown-rights-bits: status=", cap_mint(last, kFree, 1ull << 5, 0), "\n");
    print("ATTEMPT capabuse badge-on-frame: status=", cap_mint(last, kFree, rights::kRead, 7), "\n");
    print("ATTEMPT capabuse map-r-through-ro: status=", frame_map(last, kRoIpa, map_attr::kRead), "\n");
    const Outcome w = write32(kRoIpa, 0x5eed);
    attempt("capabuse", "write-through-ro-mapping", w);
    t.add(w);
    if (!w.faulted) ++breaches;
    // Without Grant nothing more can be derived.
    print("ATTEMPT capabuse mint-read-only-no-grant: status=", cap_mint(last, kFree, rights::kRead, 0), "\n");
    print("ATTEMPT capabuse copy-of-no-grant: status=", cap_copy(kFree, kFree + 1), "\n");
    (void)frame_unmap(last);
    (void)revoke_all(kReadOnly);
    (void)cap_delete(kFree);
}

// A mapping made through a derived cap must be gone once that cap is revoked away.
void use_after_revoke(Tally& t) {
    const i64 m = cap_mint(kReadWrite, kFree, rights::kRead | rights::kWrite, 0);
    const i64 map = frame_map(kFree, kRevokedIpa, map_attr::kRead | map_attr::kWrite);
    const Outcome before = write32(kRevokedIpa, 0xfeed);
    print("ATTEMPT capabuse map-and-write-before-revoke: mint=", m, " map=", map, " write=", kind_name(before.kind()),
          "\n");
    const RevokeResult r = revoke_all(kReadWrite);
    const Outcome after_read = read32(kRevokedIpa);
    const Outcome after_write = write32(kRevokedIpa, 0xbad);
    attempt("capabuse", "read-after-revoke", after_read);
    attempt("capabuse", "write-after-revoke", after_write);
    print("ATTEMPT capabuse revoked: status=", r.status, " deleted=", r.deleted,
          " slot-empty=", cap_identify(kFree).type == cap_type::kNull, "\n");
    t.add(after_read);
    t.add(after_write);
    if (!after_read.faulted || !after_write.faulted) {
        ++breaches;
        breach("capabuse: a revoked mapping still reached memory");
    }
}

}  // namespace

// vCPU 1: mints a copy of the RW frame into the next of 64 slots, maps it at that slot's own
// IPA and reads through it, again and again, while vCPU 0 revokes the frame's descendants
// under it. Each read either reaches memory (the copy still exists) or is contained.
extern "C" void guest_secondary_main(u64) {
    init();
    while (race_running == 0) {
    }
    for (u64 i = 0; race_running == 1; ++i) {
        const u64 slot = kRaceBase + i % kRaceCopies;
        const u64 ipa = kRaceIpa + (i % kRaceCopies) * 0x1000;
        (void)cap_delete(slot);  // what the revoke left there, if anything
        if (cap_mint(kReadWrite, slot, rights::kRead | rights::kWrite | rights::kGrant, 0) != 0) continue;
        if (frame_map(slot, ipa, map_attr::kRead | map_attr::kWrite) == 0) race_maps = race_maps + 1;
        const Outcome o = read32(ipa);
        race_accesses = race_accesses + 1;
        if (o.faulted && o.kind() == Kind::Contained) race_contained = race_contained + 1;
        if (!o.faulted) race_reached = race_reached + 1;
    }
    race_running = 3;
    for (;;) asm volatile("wfi");
}

extern "C" void guest_main(u64 boot_arg) {
    init();
    const u64 rounds = (boot_arg >> 63) != 0 ? 2000 : 200;
    print("start: forged cptrs, escalation chains, use after revoke, a revoke race over ", rounds, " accesses\n");
    Tally forged_tally, chain, after;
    forged(forged_tally);
    forged_tally.print("capabuse", "forged");
    escalation(chain);
    chain.print("capabuse", "escalation");
    use_after_revoke(after);
    after.print("capabuse", "use-after-revoke");

    // The race: vCPU 1 derives, maps and reads `rounds` times; vCPU 0 revokes meanwhile.
    (void)start_secondary(1, 0);
    race_running = 1;
    u64 revokes = 0, deleted = 0, stuck = 0;
    while (race_accesses < rounds) {
        const RevokeResult r = cap_revoke(kReadWrite);
        ++revokes;
        deleted += r.deleted;
        if (r.status != 0 && r.status != kBusy) ++stuck;
    }
    race_running = 2;
    while (race_running != 3) {
    }
    const RevokeResult last = revoke_all(kReadWrite);
    u64 leftovers = 0;
    for (u64 i = 0; i < kRaceCopies; ++i)
        if (cap_identify(kRaceBase + i).type != cap_type::kNull) ++leftovers;
    // After the final revoke no copy's mapping may reach memory.
    Tally gone;
    for (u64 i = 0; i < kRaceCopies; ++i) gone.add(read32(kRaceIpa + i * 0x1000));
    gone.print("capabuse", "race-mappings-after-final-revoke");
    print("RESULT capabuse race: revokes=", revokes, " deleted=", deleted + last.deleted, " refused=", stuck,
          " maps=", race_maps, " accesses=", race_accesses, " reached=", race_reached, " contained=", race_contained,
          " leftovers=", leftovers, "\n");
    if (gone.reached != 0 || leftovers != 0 || race_reached + race_contained != race_accesses) {
        ++breaches;
        breach("capabuse: the race left a cap or a mapping behind, or an access neither reached nor contained");
    }
    // Its own memory and caps are as they were.
    print("RESULT capabuse own-caps: cnode-rights=", hex(rights_of(kOwnCNode)), " ram-rights=", hex(rights_of(2)),
          " ro-rights=", hex(rights_of(kReadOnly)), " rw-rights=", hex(rights_of(kReadWrite)), "\n");
    print("RESULT capabuse contained: ", chain.contained + after.contained + race_contained + gone.contained,
          " accesses contained in all\n");
    print(breaches == 0 ? "done: no right gained, no forged cptr resolved, no revoked mapping reached\n"
                        : "done: BREACHES\n");
}
