// The victim of every red-team test: a partition that holds a secret and proves, to the end of
// the test, that nobody outside it changed its memory and that it kept its pace.
//
// At start it fills a secret region with a pattern that begins with kSecretMagic and takes the
// checksum of the region and of its own code. Each heartbeat then does a fixed amount of work
// (kPassesPerBeat passes over both, each compared with the first checksum) plus the calls every
// partition makes (a console line, and a capability call, which takes the kernel's shared
// capability lock) and measures the heartbeat's period on its virtual counter. Under
// `-icount shift=0,sleep=off` the counter advances once per 16 instructions executed by the
// whole machine, so the period is a count of instructions, deterministic for a given image.
//
// Each pass also polls every notification it can wait on (a Read cap in its CSpace, found at
// start): a flood of signals costs it nothing but that call.
//
// boot_arg: bits [31:0] the number of heartbeats (default 16); bits [63:32] the bound on the
// period in counter ticks (0: no bound, only report). Every line it prints:
//   [victim] start: counter=<ticks since its start> secret=<bytes> checksum=0x..
//   [victim] heartbeat <n> period=<ticks>
//   [victim] RESULT victim: heartbeats=N checksum=intact max-period=T bound=B ok
// and, when something went wrong, a line with BREACH (its memory changed) or LATE (a period
// above the bound) instead of "ok".
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

#include "xtf.hpp"

using namespace bh;
using namespace bh::rt;

namespace {

constexpr u64 kSecretBytes = 256 * 1024;
constexpr unsigned kPassesPerBeat = 24;
constexpr u64 kDefaultBeats = 16;
constexpr u64 kOwnCNodeSlot = 1;  // bhcc puts a cap to the partition's own CSpace root in slot 1

constexpr char kSecretMagic[] = "BULKHEAD-VICTIM-SECRET-5e1f";

alignas(4096) u64 secret[kSecretBytes / 8];

extern "C" char __image_start[];
extern "C" char __init_array_end[];  // end of text + rodata (guest.ld)

u64 notifications[8];
unsigned notification_count = 0;

void find_notifications() {
    for (u64 slot = 1; slot < 256 && notification_count < 8; ++slot) {
        const CapInfo c = cap_identify(slot);
        if (c.type == cap_type::kNotification && (c.rights & rights::kRead) != 0) notifications[notification_count++] = slot;
    }
}

u64 checksum(const u64* words, u64 count) {
    u64 sum = 0x6a09e667f3bcc908ull;
    for (u64 i = 0; i < count; ++i) sum = ((sum << 7) | (sum >> 57)) ^ (words[i] + i);
    return sum;
}

u64 everything() {
    const u64 code_words = static_cast<u64>(__init_array_end - __image_start) / 8;
    return checksum(secret, kSecretBytes / 8) ^ checksum(reinterpret_cast<const u64*>(__image_start), code_words);
}

void fill_secret() {
    __builtin_memcpy(secret, kSecretMagic, sizeof kSecretMagic);
    xtf::Random random(0x5ec7e7);
    for (u64 i = 4; i < kSecretBytes / 8; ++i) secret[i] = random.next();
}

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    xtf::init();
    const u64 started = counter();
    const u64 beats = (boot_arg & 0xffff'ffff) != 0 ? boot_arg & 0xffff'ffff : kDefaultBeats;
    const u64 bound = boot_arg >> 32;
    fill_secret();
    find_notifications();
    const u64 expected = everything();
    print("start: counter=", started, " secret=", kSecretBytes, " checksum=", hex(expected), "\n");

    bool intact = true;
    u64 max_period = 0, signalled = 0;
    u64 last = counter();
    for (u64 beat = 1; beat <= beats; ++beat) {
        for (unsigned pass = 0; pass < kPassesPerBeat; ++pass) {
            if (everything() != expected) intact = false;
            (void)cap_identify(kOwnCNodeSlot);
            for (unsigned n = 0; n < notification_count; ++n) signalled += notification_poll(notifications[n]).word != 0;
        }
        const u64 now = counter();
        const u64 period = now - last;
        last = now;
        if (period > max_period) max_period = period;
        print("heartbeat ", beat, " period=", period, "\n");
        if (!intact) {
            print("BREACH victim memory changed at heartbeat ", beat, "\n");
            break;
        }
    }
    const bool on_time = bound == 0 || max_period <= bound;
    if (notification_count != 0) print("notifications: ", notification_count, ", polls that found a signal: ", signalled, "\n");
    print("RESULT victim: heartbeats=", beats, " checksum=", intact ? "intact" : "CHANGED", " max-period=", max_period,
          " bound=", bound, intact && on_time ? " ok" : (intact ? " LATE" : " BREACH"), "\n");
}
