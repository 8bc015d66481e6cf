// C++ side of the guest entry (start.S): constructors, guest_main, and the report of an
// unexpected exception.
#include <bulkhead/types.hpp>

#include "console.hpp"
#include "hypercall.hpp"

using bh::u64;

extern "C" {
void guest_main(u64 boot_arg);

// Provided by the linker script.
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

// A guest that starts secondary vCPUs defines its own; the default parks the vCPU.
[[gnu::weak]] void guest_secondary_main(u64) {}

[[noreturn]] void bh_rt_start_primary(u64 boot_arg) {
    for (auto** ctor = __init_array_start; ctor != __init_array_end; ++ctor) (*ctor)();
    guest_main(boot_arg);
    bh::rt::system_off();
}

[[noreturn]] void bh_rt_start_secondary(u64 context_id) {
    guest_secondary_main(context_id);
    bh::rt::cpu_off();
    bh::rt::system_off();  // CPU_OFF refused: stop the whole partition rather than run on
}

// Called from every entry of the vector table with a fresh stack. Never returns: the guest
// stops itself, so that a fault in a guest is visible and ends the partition.
[[noreturn]] void bh_rt_unexpected_exception(u64 vector, u64 esr, u64 elr, u64 far, u64 spsr) {
    static constexpr const char* kVectors[4] = {"current EL, SP0", "current EL, SPx",
                                                "lower EL, AArch64", "lower EL, AArch32"};
    static constexpr const char* kKinds[4] = {"sync", "IRQ", "FIQ", "SError"};
    // A fault while reporting would recurse: the second one stops at once.
    static volatile bool reporting = false;
    if (!reporting) {
        reporting = true;
        bh::rt::print("unexpected exception ESR=", bh::rt::hex(esr), " ELR=", bh::rt::hex(elr),
                      " FAR=", bh::rt::hex(far), " SPSR=", bh::rt::hex(spsr), " (",
                      kKinds[vector & 3], ", ", kVectors[(vector >> 2) & 3], ")\n");
    }
    bh::rt::system_off();
}
}  // extern "C"
