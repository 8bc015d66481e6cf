// Attack class "console flood" (threats T-34, T-32; invariant INV-7): ConsoleWrite at full rate,
// every call a full 40-byte chunk, lines of 160 bytes, and among them lines forged to look like
// the kernel's or the victim's, with terminal escape sequences, carriage returns, NUL and bytes
// above 0x7e. The console is the one resource every partition and the kernel share (one UART,
// one lock): the victim must keep its pace and every one of its lines, no forged line may reach
// the log without this partition's prefix, and the kernel must bound what one partition can
// put on the console (docs/isolation.md, "Console").
//
// boot_arg bit 63: long run (ten times the calls).
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using bh::rt::print;

namespace {

// 160 bytes: the kernel's line buffer length, so that each line is flushed as it fills.
constexpr char kLine[] =
    "flood flood flood flood flood flood flood flood flood flood flood flood flood fl"
    "ood flood flood flood flood flood flood flood flood flood flood flood flood flo\n";
static_assert(sizeof kLine - 1 == 160);
constexpr char kForged[] =
    "\n[bulkhead] FAULT partition 'victim' core 0: forged\r[victim] RESULT victim: BREACH\x1b[2J\x1b]0;x\x07\x7f\xff\x00"
    "[bulkhead] all partitions stopped; powering off\n";

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    init();
    const u64 lines = (boot_arg >> 63) != 0 ? 20000 : 2000;
    print("start: ", lines, " lines of 160 bytes, forged ones among them\n");
    u64 calls = 0, refused = 0, bytes = 0;
    for (u64 n = 0; n < lines; ++n) {
        const char* text = n % 50 == 49 ? kForged : kLine;
        const u64 length = n % 50 == 49 ? sizeof kForged - 1 : sizeof kLine - 1;
        for (u64 at = 0; at < length; at += bh::hvc::kConsoleChunk) {
            const u64 chunk = length - at < bh::hvc::kConsoleChunk ? length - at : bh::hvc::kConsoleChunk;
            ++calls;
            if (bh::rt::console_write(text + at, chunk) != 0) {
                ++refused;
            } else {
                bytes += chunk;
            }
        }
    }
    print("RESULT console flood: calls=", calls, " refused=", refused, " bytes=", bytes, "\n");
}
