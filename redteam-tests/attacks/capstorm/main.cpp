// Attack class "capability-operation storm" (threats T-36, T-48, T-17; invariants INV-4, INV-7):
// the heaviest capability calls a partition can make on its own CSpace, in a loop: a derivation
// chain of 200 copies of one of its frame caps, then a revoke of all of them (at most 64
// deletions per call: hvc::kRevokeBudget), a map and unmap of a copy at a new IPA (each unmap
// invalidates the partition's TLB entries on every core), and CapIdentify of every slot. Every
// capability call of every partition takes the one capability lock, so the storm is what could
// slow the victim's own capability calls (it makes 24 per heartbeat). The victim must keep its
// pace; the partition's own state must stay consistent (every copy gone after each revoke).
//
// boot_arg bit 63: long run (ten times the rounds).
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using namespace bh::rt;

namespace {

constexpr u64 kSource = 2;    // its first frame cap (bhcc: frames from slot 2)
constexpr u64 kFirstCopy = 16;
constexpr u64 kCopies = 200;
constexpr u64 kSpareIpa = 0x5000'0000;

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    init();
    const u64 rounds = (boot_arg >> 63) != 0 ? 200 : 20;
    print("start: ", rounds, " rounds of ", kCopies, " copies, revoke, map, unmap, identify\n");
    u64 calls = 0, failures = 0, revoke_calls = 0, deleted = 0, leftovers = 0;
    for (u64 round = 0; round < rounds; ++round) {
        // A chain: each copy derived from the previous one.
        u64 from = kSource;
        for (u64 i = 0; i < kCopies; ++i) {
            ++calls;
            if (cap_copy(from, kFirstCopy + i) != 0) ++failures;
            from = kFirstCopy + i;
        }
        ++calls;
        if (frame_map(kFirstCopy + kCopies - 1, kSpareIpa, map_attr::kRead) != 0) ++failures;
        ++calls;
        if (frame_unmap(kFirstCopy + kCopies - 1) != 0) ++failures;
        for (u64 slot = 0; slot < 256; ++slot, ++calls) (void)cap_identify(slot);
        // Revoke the source's descendants: Busy until done, 64 at a time.
        for (;;) {
            const RevokeResult r = cap_revoke(kSource);
            ++calls;
            ++revoke_calls;
            deleted += r.deleted;
            if (r.status != bh::rt::status_value(bh::Status::Busy)) {
                if (r.status != 0) ++failures;
                break;
            }
        }
        for (u64 i = 0; i < kCopies; ++i)
            if (cap_identify(kFirstCopy + i).type != cap_type::kNull) ++leftovers;
    }
    print("RESULT capstorm: rounds=", rounds, " calls=", calls, " failures=", failures, " revoke-calls=", revoke_calls,
          " deleted=", deleted, " leftovers=", leftovers, "\n");
}
