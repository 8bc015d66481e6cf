// The red-team guest library, in the manner of Xen's XTF: a tiny bare-metal partition installs
// its own EL1 exception vectors (xtf_vectors.S), makes one attempt at a time through a probe
// that survives the attempt's exception, and reports each attempt and its outcome as a line a
// test can check. Built on services/runtime (start-up, console, hypercall wrappers).
//
// Line formats (docs/testing.md, "Red-team tests"):
//   [<partition>] ATTEMPT <class> <what>: <outcome>[ ESR=0x..][ value=0x..]
//   [<partition>] RESULT <class> <group>: attempts=N contained=C undefined=U stage1=S refused=F reached=R
//   [<partition>] BREACH <what>          an attack succeeded: never expected
// <outcome> is one of the names of Kind below.
#pragma once

#include <bulkhead/types.hpp>
#include <console.hpp>
#include <hypercall.hpp>
#include <initializer_list>  // freestanding: range-for over a braced list

namespace xtf {

using bh::i64;
using bh::u32;
using bh::u64;
using bh::u8;

// What the vectors save; xtf_exception may change it before the guest resumes.
struct Frame {
    u64 x[31];
    u64 sp;
    u64 elr;
    u64 spsr;
    u64 esr;
    u64 far;
};
static_assert(sizeof(Frame) == 36 * 8, "xtf_vectors.S saves exactly this frame");

// Exception classes as the guest sees them in ESR_EL1.
namespace ec {
inline constexpr u32 kUnknown = 0x00;        // UNDEFINED, or a trap the kernel injected as such
inline constexpr u32 kFpAccess = 0x07;
inline constexpr u32 kIllegalState = 0x0e;
inline constexpr u32 kSysReg = 0x18;         // a trap to EL1 itself (never from the kernel)
inline constexpr u32 kInstAbortSame = 0x21;
inline constexpr u32 kPcAlignment = 0x22;
inline constexpr u32 kDataAbortSame = 0x25;
inline constexpr u32 kSpAlignment = 0x26;
}  // namespace ec
inline constexpr u32 esr_class(u64 esr) { return static_cast<u32>(esr >> 26) & 0x3f; }
inline constexpr u32 esr_fsc(u64 esr) { return static_cast<u32>(esr) & 0x3f; }
// DFSC/IFSC 0x10: synchronous external abort, what the kernel injects for a stage-2 fault
// (docs/isolation.md, "Fault policy").
inline constexpr u32 kFscExternalAbort = 0x10;

// The outcome of one attempt.
enum class Kind {
    Done,       // the instruction executed (a load read `value`): reached
    Contained,  // a synchronous external abort: the kernel contained a stage-2 fault and injected it
    Undefined,  // EC 0: UNDEFINED at EL1, or a trapped access the kernel injected as undefined
    Stage1,     // a fault of the guest's own EL1 translation or alignment checks (never reached EL2)
    Other,      // any other exception class
};
const char* kind_name(Kind k);  // "reached", "contained", "undefined", "stage1", "exception"

struct Outcome {
    bool faulted = false;
    u64 esr = 0;
    u64 far = 0;
    u64 value = 0;
    Kind kind() const;
};

// Sets this vCPU's VBAR_EL1 to the XTF vectors. Every vCPU calls it first.
void init();
// This vCPU's index in its partition (the virtual MPIDR's Aff0).
u32 vcpu();

// Arms this vCPU's probe: the next synchronous exception at EL1 is recorded and the faulting
// instruction stepped over. finish() disarms it and collects the outcome. Any exception while
// disarmed is unexpected: the guest reports it and stops.
void arm();
Outcome finish(u64 value);
// For a probe that branches (execute): a fault returns to the branch's link register instead.
void arm_branch();
// Exceptions taken (expected or not) by this vCPU since start.
u64 exceptions_taken();

// An attack partition with a virtual GIC takes interrupts: the handler runs for each IRQ taken
// at EL1 with SP_ELx (acknowledging and ending it is its business). Without one an IRQ is an
// unexpected exception, as for a partition that has no interrupts to take.
using IrqHandler = void (*)();
void set_irq_handler(IrqHandler handler);

// ---------------------------------------------------------------- probes
// Each runs one instruction that may fault. Loads return what they read in value.
#define XTF_PROBE_LOAD(name, insn, type)                                              \
    inline Outcome name(u64 address) {                                                \
        arm();                                                                        \
        u64 v = 0;                                                                    \
        asm volatile(insn " %w0, [%1]" : "+r"(v) : "r"(address) : "memory");          \
        return finish(static_cast<type>(v));                                          \
    }
XTF_PROBE_LOAD(read8, "ldrb", u8)
XTF_PROBE_LOAD(read16, "ldrh", bh::u16)
XTF_PROBE_LOAD(read32, "ldr", u32)
#undef XTF_PROBE_LOAD

inline Outcome read64(u64 address) {
    arm();
    u64 v = 0;
    asm volatile("ldr %0, [%1]" : "+r"(v) : "r"(address) : "memory");
    return finish(v);
}
inline Outcome write8(u64 address, u64 value) {
    arm();
    asm volatile("strb %w0, [%1]" : : "r"(value), "r"(address) : "memory");
    return finish(0);
}
inline Outcome write16(u64 address, u64 value) {
    arm();
    asm volatile("strh %w0, [%1]" : : "r"(value), "r"(address) : "memory");
    return finish(0);
}
inline Outcome write32(u64 address, u64 value) {
    arm();
    asm volatile("str %w0, [%1]" : : "r"(value), "r"(address) : "memory");
    return finish(0);
}
inline Outcome write64(u64 address, u64 value) {
    arm();
    asm volatile("str %0, [%1]" : : "r"(value), "r"(address) : "memory");
    return finish(0);
}
// Load-exclusive and store-exclusive; value of a store is its status (0: stored).
inline Outcome load_exclusive(u64 address) {
    arm();
    u64 v = 0;
    asm volatile("ldxr %0, [%1]" : "+r"(v) : "r"(address) : "memory");
    return finish(v);
}
inline Outcome store_exclusive(u64 address, u64 value) {
    arm();
    u64 status = 2;  // stays 2 if the store faulted
    asm volatile("stxr %w0, %1, [%2]" : "+r"(status) : "r"(value), "r"(address) : "memory");
    return finish(status);
}
inline Outcome load_acquire(u64 address) {
    arm();
    u64 v = 0;
    asm volatile("ldar %0, [%1]" : "+r"(v) : "r"(address) : "memory");
    return finish(v);
}
inline Outcome store_release(u64 address, u64 value) {
    arm();
    asm volatile("stlr %0, [%1]" : : "r"(value), "r"(address) : "memory");
    return finish(0);
}
inline Outcome load_pair(u64 address) {
    arm();
    u64 a = 0, b = 0;
    asm volatile("ldp %0, %1, [%2]" : "+r"(a), "+r"(b) : "r"(address) : "memory");
    return finish(a ^ b);
}
// LDADD (FEAT_LSE atomics), encoded by hand: the guests are built for Armv8.0. A CPU without
// LSE (the reference Cortex-A53) reports it undefined.
inline Outcome atomic_add(u64 address, u64 value) {
    arm();
    register u64 x0 asm("x0") = value;
    register u64 x1 asm("x1") = 0;
    register u64 x2 asm("x2") = address;
    asm volatile(".inst 0xf8200041  // ldadd x0, x1, [x2]" : "+r"(x1) : "r"(x0), "r"(x2) : "memory");
    return finish(x1);
}
// DC ZVA: zeroes a whole cache-line-sized block (a store of 64 bytes on the A53).
inline Outcome dc_zva(u64 address) {
    arm();
    asm volatile("dc zva, %0" : : "r"(address) : "memory");
    return finish(0);
}

// An instruction fetch from `address` (BLR to it). If it does not fault it runs whatever is
// there, which for any address outside the partition is already a breach.
inline Outcome execute(u64 address) {
    arm_branch();
    asm volatile("blr %0" : : "r"(address) : "x30", "memory");
    return finish(0);
}

// A routine built at run time (generated instructions) called with x0 = argument; returns x0.
using Stub = u64 (*)(u64);
inline Outcome call(Stub stub, u64 argument) {
    arm();
    const u64 v = stub(argument);
    return finish(v);
}

// A system register by name as a pair of Stubs, read_<name> and write_<name> (returns what it
// wrote), for `call`: an access that traps or is UNDEFINED comes back as its outcome.
#define XTF_SYSREG(name, reg)                                                 \
    [[maybe_unused, gnu::noinline]] u64 read_##name(u64) {                  \
        u64 v;                                                                \
        asm volatile("mrs %0, " reg : "=r"(v));                               \
        return v;                                                             \
    }                                                                         \
    [[maybe_unused, gnu::noinline]] u64 write_##name(u64 v) {               \
        asm volatile("msr " reg ", %0\n\tisb" : : "r"(v) : "memory");         \
        return v;                                                             \
    }

// ---------------------------------------------------------------- calls (calls.S)
// A call with all 31 general registers given (in) and returned (out): x0 = function ID, x1..x7
// arguments, x8..x30 whatever the test puts there (canaries) and must find again.
using RawCall = void (*)(const u64 in[31], u64 out[31]);
extern "C" void xtf_call_hvc(const u64 in[31], u64 out[31]);        // HVC #0
extern "C" void xtf_call_smc(const u64 in[31], u64 out[31]);        // SMC #0
extern "C" void xtf_call_hvc_1(const u64 in[31], u64 out[31]);      // HVC #1: not the ABI's
extern "C" void xtf_call_hvc_ffff(const u64 in[31], u64 out[31]);   // HVC #0xffff
extern "C" void xtf_call_smc_1234(const u64 in[31], u64 out[31]);   // SMC #0x1234

// ---------------------------------------------------------------- the partition's own memory
struct Range {
    u64 base;
    u64 size;
    bool contains(u64 a) const { return a >= base && a - base < size; }
};
// The partition's RAM as bhcc lays out a single `ram` region at the guest RAM IPA
// (platform::kGuestRamIpa): its Frame caps in slot order, mapped one after the other. (The
// boot mappings are recorded on the kernel's caps, so CapIdentify reports the partition's own
// copies as unmapped; their sizes are what counts.)
Range own_ram();

// ---------------------------------------------------------------- reporting
// Counts of outcomes for one group of attempts, printed as a RESULT line.
struct Tally {
    u64 attempts = 0;
    u64 contained = 0;
    u64 undefined = 0;
    u64 stage1 = 0;
    u64 refused = 0;  // a hypercall answered with an error status
    u64 reached = 0;
    u64 other = 0;
    void add(const Outcome& o);
    void add_refused() { ++attempts, ++refused; }
    void add_reached() { ++attempts, ++reached; }
    void print(const char* klass, const char* group) const;
};

// "ATTEMPT <klass> <what>: <outcome> ESR=.. value=..".
void attempt(const char* klass, const char* what, const Outcome& o);
// "BREACH <what> ..."; an attack partition calls it when it reached what it must never reach.
template <typename... Args>
void breach(const Args&... args) {
    bh::rt::print("BREACH ", args..., "\n");
}

// A small deterministic generator (xorshift64*): the same storm on every run.
class Random {
public:
    explicit Random(u64 seed) : state_(seed != 0 ? seed : 0x9e3779b97f4a7c15ull) {}
    u64 next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545f4914f6cdd1dull;
    }

private:
    u64 state_;
};

}  // namespace xtf
