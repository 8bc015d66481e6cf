// The floor's measurement at EL1 (start.S): the benchmark guest's calibration and call loops,
// printed in the benchmark guest's line format, straight to the PL011 (no kernel to ask).
#include <arch/arch.hpp>
#include <bulkhead/platform.hpp>
#include <lib/format.hpp>

#include "loops.hpp"
#include "pmu.hpp"

using bench::Call;
using bench::Sample;
using bench::u64;

// The kernel's line formatter (kernel/lib/format.cpp) writes through this; here it is the PL011.
void bh::arch::console_write(const char* text, bh::usize length) {
    auto* flags = reinterpret_cast<volatile unsigned*>(bh::platform::kUartBase + 0x18);
    auto* data = reinterpret_cast<volatile unsigned*>(bh::platform::kUartBase);
    for (bh::usize i = 0; i < length; ++i) {
        while ((*flags & (1u << 5)) != 0) {
        }
        *data = static_cast<unsigned char>(text[i]);
    }
}

namespace {

constexpr u64 kIterations = 1000;
constexpr u64 kFunction = 0xC600'00ff;  // ignored: the EL2 vector is a bare `eret`

template <typename... Parts>
void say(const Parts&... parts) {
    bh::LineBuffer line;
    (line.put(parts), ...);
    line.end_line();
    bh::arch::console_write(line.data(), line.size());
}

}  // namespace

extern "C" void floor_main() {
    // The PL011 after reset: enable it and its transmitter.
    *reinterpret_cast<volatile unsigned*>(bh::platform::kUartBase + 0x30) = (1u << 0) | (1u << 8);
    bench::pmu_start();
    say("bench start mode pmu");
    const u64 lengths[] = {kIterations, 2 * kIterations};
    for (u64 n : lengths) {
        Sample s{};
        bench_calibrate_pmu(n, &s);
        say("bench calibration iterations ", n, " total ", s.total, " el2 ", s.el2);
    }
    const Call call{kFunction, 0, 0, 0};
    for (int run = 0; run < 2; ++run) {
        Sample calls{}, empty{};
        bench_calls1_pmu(&call, kIterations, &calls);
        bench_empty1_pmu(&call, kIterations, &empty);
        // The bare `eret` hands x0 back unchanged: the status word is the function ID.
        say("bench path floor iterations ", kIterations, " total ", calls.total, " el2 ", calls.el2, " empty-total ",
            empty.total, " empty-el2 ", empty.el2, " status ", calls.status, " expect ", kFunction);
    }
    say("bench done");
}
