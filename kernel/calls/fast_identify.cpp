// CapIdentify straight from the vectors (vectors.S, hvc_cap_identify): the null capability
// invocation, the cheapest call that names a capability (docs/benchmarks.md, "The fast path").
// The vectors save only x0..x9 and x30 before they call it and keep every other guest register
// in the core, so on aarch64 this file is compiled with x10..x18 reserved (kernel/CMakeLists.txt)
// and must use no stack; the CTest unit.fast-identify-registers checks the compiled function.
#include <arch/kernel_entry.hpp>
#include <calls/identify_unlocked.hpp>
#include <partition/vcpu.hpp>

namespace bh {

// The vectors pass their frame as the Vcpu (SP_EL2 after the frame is pushed).
static_assert(__builtin_offsetof(Vcpu, regs) == 0);

// Answered (x0..x6 in the frame): 0. Not taken, nothing written: 1 (the full path decides).
// A read-only call needs none of fast_call's work after the answer: it changed no state the
// vCPU's resumption depends on, a stop of its partition meanwhile has kicked this core (whose
// pending interrupt takes the guest out again at once), and an interrupt raised for the vCPU
// meanwhile by another core kicked it too (vgic::raise).
extern "C" u64 bh_fast_identify(Vcpu* vcpu) {
    return fast_path::identify_unlocked(*vcpu->partition, vcpu->regs, [] {}) ? 0 : 1;
}

}  // namespace bh
