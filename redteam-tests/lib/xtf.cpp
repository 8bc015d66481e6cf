#include "xtf.hpp"

#include <bulkhead/platform.hpp>

extern "C" char xtf_vectors[];

namespace xtf {

namespace {

constexpr unsigned kMaxVcpus = 4;

// Per vCPU: whether a probe is armed and what it caught. Written by the exception handler on
// the same vCPU, read after it returns: volatile is enough.
struct ProbeState {
    volatile bool armed;
    volatile bool branch;  // on a fault, resume at the saved x30 (the probe was a BLR)
    volatile bool faulted;
    volatile u64 esr;
    volatile u64 far;
    volatile u64 exceptions;
};
ProbeState probes[kMaxVcpus];
IrqHandler irq_handler;
constexpr u64 kIrqCurrentElSpx = 5;  // the vector of an IRQ taken at EL1 with SP_EL1

ProbeState& mine() { return probes[vcpu() % kMaxVcpus]; }

const char* const kVectorNames[16] = {
    "sync, EL1t", "IRQ, EL1t", "FIQ, EL1t", "SError, EL1t", "sync, EL1h", "IRQ, EL1h", "FIQ, EL1h", "SError, EL1h",
    "sync, EL0",  "IRQ, EL0",  "FIQ, EL0",  "SError, EL0",  "sync, AArch32", "IRQ, AArch32", "FIQ, AArch32",
    "SError, AArch32"};

}  // namespace

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::Done: return "reached";
        case Kind::Contained: return "contained";
        case Kind::Undefined: return "undefined";
        case Kind::Stage1: return "stage1";
        case Kind::Other: return "exception";
    }
    return "?";
}

Kind Outcome::kind() const {
    if (!faulted) return Kind::Done;
    const u32 c = esr_class(esr);
    if (c == ec::kUnknown) return Kind::Undefined;
    if (c == ec::kDataAbortSame || c == ec::kInstAbortSame || c == 0x24 || c == 0x20) {
        return esr_fsc(esr) == kFscExternalAbort ? Kind::Contained : Kind::Stage1;
    }
    if (c == ec::kPcAlignment || c == ec::kSpAlignment) return Kind::Stage1;
    return Kind::Other;
}

u32 vcpu() {
    u64 mpidr;
    asm volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    return static_cast<u32>(mpidr & 0xff);
}

void init() {
    asm volatile("msr vbar_el1, %0\n\tisb" : : "r"(xtf_vectors) : "memory");
}

void arm() {
    ProbeState& p = mine();
    p.branch = false;
    p.faulted = false;
    p.esr = 0;
    p.far = 0;
    p.armed = true;
    asm volatile("" ::: "memory");
}

void arm_branch() {
    arm();
    mine().branch = true;
}

Outcome finish(u64 value) {
    asm volatile("" ::: "memory");
    ProbeState& p = mine();
    p.armed = false;
    Outcome o;
    o.faulted = p.faulted;
    o.esr = p.esr;
    o.far = p.far;
    o.value = o.faulted ? 0 : value;
    return o;
}

u64 exceptions_taken() { return mine().exceptions; }

void set_irq_handler(IrqHandler handler) { irq_handler = handler; }

Range own_ram() {
    const bh::rt::PartitionInfo info = bh::rt::partition_info();
    const u64 slots = info.status == 0 ? 1ull << info.cspace_radix : 256;
    u64 size = 0;
    for (u64 slot = 1; slot < slots; ++slot) {
        const bh::rt::CapInfo c = bh::rt::cap_identify(slot);
        if (c.status == 0 && c.type == bh::rt::cap_type::kFrame) size += 1ull << c.size_bits;
    }
    return Range{bh::platform::kGuestRamIpa, size};
}

void Tally::add(const Outcome& o) {
    ++attempts;
    switch (o.kind()) {
        case Kind::Done: ++reached; break;
        case Kind::Contained: ++contained; break;
        case Kind::Undefined: ++undefined; break;
        case Kind::Stage1: ++stage1; break;
        case Kind::Other: ++other; break;
    }
}

void Tally::print(const char* klass, const char* group) const {
    bh::rt::print("RESULT ", klass, " ", group, ": attempts=", attempts, " contained=", contained, " undefined=", undefined,
                  " stage1=", stage1, " refused=", refused, " reached=", reached, " other=", other, "\n");
}

void attempt(const char* klass, const char* what, const Outcome& o) {
    if (o.faulted) {
        bh::rt::print("ATTEMPT ", klass, " ", what, ": ", kind_name(o.kind()), " ESR=", bh::rt::hex(o.esr), "\n");
    } else {
        bh::rt::print("ATTEMPT ", klass, " ", what, ": reached value=", bh::rt::hex(o.value), "\n");
    }
}

}  // namespace xtf

// Called by xtf_vectors.S with the saved frame.
extern "C" void xtf_exception(xtf::Frame* frame, bh::u64 vector) {
    xtf::ProbeState& p = xtf::mine();
    if (vector == xtf::kIrqCurrentElSpx && xtf::irq_handler != nullptr) {
        xtf::irq_handler();  // an interrupt, not an exception the partition caused
        return;
    }
    p.exceptions = p.exceptions + 1;
    // A synchronous exception at EL1 while a probe is armed: record it, step over the probe.
    if (p.armed && vector == 4) {
        p.faulted = true;
        p.esr = frame->esr;
        p.far = frame->far;
        p.armed = false;
        frame->elr = p.branch ? frame->x[30] : frame->elr + 4;
        return;
    }
    bh::rt::print("unexpected exception ESR=", bh::rt::hex(frame->esr), " ELR=", bh::rt::hex(frame->elr),
                  " FAR=", bh::rt::hex(frame->far), " (", xtf::kVectorNames[vector & 15], ")\n");
    bh::rt::system_off();
}
