// DMA streams, the SMMU's stream table and command stream, and the PCIe configuration window,
// against a model (docs/fuzzing.md "smmu input format").
//
// The system, built for every input through the boot program's operations: two partitions,
// "alpha" (restart policy Restart) and "beta" (Stop), one vCPU each, a 4 KiB RAM frame each at
// the guest RAM IPA and two spare frames (alpha: slots 2, 3; beta: 2), each owning one PCIe
// function of the fake bus (alpha 00:03.0 with a 1 MiB BAR0, beta 00:04.0 with a 4 KiB BAR1 and
// a 64-bit 16 KiB BAR4) whose DmaStream cap sits at slot 5 (Control and Grant).
//
// An input is a program of steps, one byte each and its arguments: the byte's low bit picks the
// vCPU (alpha, beta), the rest the action: DmaStreamBind / Unbind, CapMint / Delete / Revoke of
// any slot, FrameMap / Unmap, a self-restart (PSCI SYSTEM_RESET), a device's access through a
// stream (the host SMMU, host::smmu_dma), the SMMU's interrupt (DmaStreamTable::service) and a
// load or store in the PCIe configuration window (a stage-2 data abort with its syndrome).
// The oracle, after every step:
//   * the model of a device access: a stream reaches memory iff the kernel has it bound to a
//     partition, and then exactly where that partition's stage 2 says, with its permissions;
//     otherwise it aborts (unbound) or faults (bound, no translation): compared with what the
//     SMMU did, so a missing CFGI_STE or TLBI shows;
//   * nothing the SMMU caches is stale: each cached STE is the table's, each cached translation
//     is what the tables of its VMID's partition say now (the kernel invalidates before it
//     returns);
//   * check_invariants (INV-3 and the rest) holds;
//   * a hypercall's x0 is a Status value.
// covers: T-9 T-82 T-85 INV-3
#include <arch/arch.hpp>
#include <arch/host/host_memory.hpp>
#include <bulkhead/hypercall.hpp>
#include <bulkhead/platform.hpp>
#include <calls/guest_exit.hpp>
#include <caps/cspace.hpp>
#include <invariants/invariants.hpp>
#include <kernel.hpp>
#include <memory/frame_mapping.hpp>
#include <pci/pci_boot.hpp>
#include <policy/seal.hpp>

#include <new>

#include "fuzz_common.hpp"
#include "fuzz_oracle.hpp"

using namespace bh;
namespace attr = bh::manifest::attr;
using F = hvc::Function;

namespace {

constexpr u64 kGuestRam = platform::kGuestRamIpa;
constexpr u64 kRwx = attr::kRead | attr::kWrite | attr::kExecute;
constexpr u32 kAlphaFunction = platform::pci_bdf(3, 0);
constexpr u32 kBetaFunction = platform::pci_bdf(4, 0);
constexpr u64 kStreamSlot = 5;

constexpr u64 kSlots[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 200, 255, 256};
constexpr u64 kIpas[] = {kGuestRam, kGuestRam + 0x10, 0x5000'0000, 0x5000'0ff8, 0x5000'1000, 0x5020'0000,
                         0x1000'0000, 0x4800'0000, platform::kObjectMemoryBase, platform::kBootCNodeBase,
                         0x0809'0040, (1ull << 40) - 8, 1ull << 40};
constexpr u32 kStreams[] = {kAlphaFunction, kBetaFunction, 0, 0x21, 0xff, 0x100};
constexpr u64 kRights[] = {Rights::kControl, Rights::kGrant, Rights::kControl | Rights::kGrant, 0, Rights::kAllBits};
constexpr u32 kConfigRegs[] = {0x00, 0x02, 0x04, 0x05, 0x06, 0x08, 0x0c, 0x10, 0x14, 0x20, 0x24, 0x30, 0x3c, 0x40, 0x80, 0xffc};
constexpr u32 kConfigValues[] = {0, 0x6, 0x7, 0x2, 0xffff'ffff, 0x1020'0000, 0x1000'0000, 0x400, 0xffff};

alignas(Kernel) unsigned char storage[sizeof(Kernel)];
Kernel* sys = nullptr;
Partition* parts[2] = {};

[[noreturn]] void setup_failed(const char* what, const char* why) {
    std::fprintf(stderr, "fuzz_smmu: setup: %s (%s)\n", what, why);
    std::abort();
}
void must(const Outcome& o, const char* what) {
    if (!o.ok()) setup_failed(what, o.reason());
}

u32 next_slot = manifest::kFirstFreeBootSlot;
u32 slot() { return next_slot++; }
CapSlot& at(u32 s) { return *sys->boot.slot(BootSlot(s)); }
constexpr BootSlot kObjects{manifest::kKernelUntypedSlot};

u64 next_pa = 0x4800'0000;
u32 frame(const CapLockHeld& held) {
    const u32 us = slot(), fs = slot();
    must(sys->boot.create_untyped(BootSlot(us), PhysAddr(next_pa), 12, false), "untyped");
    must(sys->boot.retype(BootSlot(us), ObjectType::Frame, 12, BootSlot(fs), 1, *sys, held), "frame");
    next_pa += kPageSize;
    return fs;
}

void build() {
    host::reset_all();
    host::pci_add_function(kAlphaFunction, 0x1234, 0x11e8, {{1ull << 20}});
    host::pci_add_function(kBetaFunction, 0x1af4, 0x1042, {{0}, {0x1000}, {0}, {0}, {0x4000, true, true}});
    sys = new (storage) Kernel();
    Kernel& k = *sys;
    next_slot = manifest::kFirstFreeBootSlot;
    next_pa = 0x4800'0000;
    must(k.init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores), "init");
    {
        // Setup runs alone: the lock is held for the witness capability operations ask for.
        CapLockGuard lock(cap_lock);
        const CapLockHeld& held = lock.held();
        const char* names[] = {"alpha", "beta"};
        const Rights rwg = Rights::read() | Rights::write() | Rights::grant();
        for (unsigned i = 0; i < 2; ++i) {
            const u32 ps = slot(), cs = slot();
            must(k.boot.retype(kObjects, ObjectType::Partition, 16, BootSlot(ps), 1, k, held), "partition");
            must(k.boot.retype(kObjects, ObjectType::CNode, PartitionTable::kCSpaceRadix, BootSlot(cs), 1, k, held), "cnode");
            must(k.partitions.create(k.boot, BootSlot(ps), BootSlot(cs), names[i],
                                     i == 0 ? manifest::RestartPolicy::Restart : manifest::RestartPolicy::Stop, 1, 0,
                                     held),
                 "create");
            Partition& p = *k.partitions.in_slot(k.boot, BootSlot(ps));
            parts[i] = &p;
            must(k.boot.grant_cap(BootSlot(cs), p, 1, rwg, 0, held), "cnode cap");
            must(map_frame(p, at(frame(held)), Ipa(kGuestRam), MapAttributes::from_bits(kRwx)), "ram");
            must(k.boot.grant_cap(BootSlot(frame(held)), p, 2, rwg, 0, held), "spare");
            if (i == 0) must(k.boot.grant_cap(BootSlot(frame(held)), p, 3, rwg, 0, held), "spare 2");
            const u32 stream = slot();
            const u32 function = i == 0 ? kAlphaFunction : kBetaFunction;
            must(assign_pci_function(k.boot, k.pci, k.dma, BootSlot(stream), p, function, i == 0 ? 0x11e8'1234u : 0x1042'1af4u),
                 "assign");
            if (i == 0) {
                must(k.pci.place_bar(function, p.index, 0, 0x1000'0000), "bar");
            } else {
                must(k.pci.place_bar(function, p.index, 1, 0x1020'0000), "bar 1");
                must(k.pci.place_bar(function, p.index, 4, 0x1040'0000), "bar 4");
            }
            must(k.boot.grant_cap(BootSlot(stream), p, kStreamSlot, Rights::control() | Rights::grant(), 0, held), "stream");
            const u32 v = slot();
            must(k.boot.retype(kObjects, ObjectType::Vcpu, 0, BootSlot(v), 1, k, held), "vcpu");
            must(k.cores.bind(k.boot, p, BootSlot(v), VcpuIndex(0), CoreId(i + 1)), "bind");
            must(k.partitions.set_entry(p, VcpuIndex(0), kGuestRam, 0), "entry");
        }
    }
    must(seal(k), "seal");
}

// What the model says a device's access through `sid` does now.
host::DmaAccess expected(u32 sid, u64 address, bool write) {
    const DmaStreamTable::Stream* s = sid < platform::kStreamCount ? &sys->dma.stream(sid) : nullptr;
    if (s == nullptr) return {host::DmaAccess::Outcome::Faulted, 0};  // outside the table
    if (s->bound.is_none()) return {host::DmaAccess::Outcome::Aborted, 0};
    const Partition& p = *sys->partitions[s->bound];
    const auto t = p.stage2.translate(Ipa(address));
    if (!t.ok() || !(write ? t.value().attrs.writable() : t.value().attrs.readable())) return {host::DmaAccess::Outcome::Faulted, 0};
    return {host::DmaAccess::Outcome::Done, t.value().pa.raw()};
}

void check_caches() {
    for (u32 sid = 0; sid < platform::kStreamCount; ++sid)
        if (!host::smmu_config_current(sid)) fuzz::finding("the SMMU kept a stale copy of an STE (no CFGI_STE)");
    for (const host::SmmuTlbEntry& e : host::smmu_tlb()) {
        const Partition* owner = nullptr;
        for (Partition* p : parts)
            if (p->vmid == e.vmid) owner = p;
        if (owner == nullptr) fuzz::finding("the SMMU caches a translation of no partition's VMID");
        const auto t = owner->stage2.translate(Ipa(e.page));
        if (!t.ok() || t.value().pa.raw() != e.pa || t.value().attrs.bits() != e.attrs)
            fuzz::finding("the SMMU caches a translation its partition's tables no longer have (no TLBI)");
    }
}

constexpr u64 kEsrHvc = (0x16ull << 26) | (1ull << 25);
constexpr u64 kPsciSystemReset = hvc::psci::kSystemReset;

// A load or store of `size` bytes through register x2 at `ipa`, as the syndrome of a stage-2
// translation fault with ISV describes it.
arch::Syndrome data_abort(u64 ipa, unsigned size, bool write) {
    const u64 sas = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    const u64 esr = (0x24ull << 26) | (1ull << 25) | (1ull << 24) | (sas << 22) | (2ull << 16) | (1ull << 15) |
                    (write ? 1ull << 6 : 0) | 0x07;
    return arch::Syndrome{esr, ipa & 0xfff, (ipa >> 12) << 4};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    build();
    fuzz::Bytes in(data, size);
    for (unsigned step = 0; step < 64 && !in.done(); ++step) {
        const u8 op = in.u8();
        Partition& p = *parts[op & 1];
        Vcpu& v = p.vcpus[0];
        if (p.load_state() != PartitionState::Running || v.load_state() != VcpuState::Runnable) continue;
        v.store_state(VcpuState::Running);
        host::set_current_core(v.core.raw());
        const unsigned action = (op >> 1) % 11;
        const char* what = "step";
        bool exited = true, call = true;
        arch::Syndrome syn{kEsrHvc, 0, 0};
        for (unsigned k = 0; k < 8; ++k) v.regs.x[k] = 0;
        switch (action) {
            case 0: v.regs.x[0] = static_cast<u64>(F::DmaStreamBind), v.regs.x[1] = in.pick(kSlots), what = "bind"; break;
            case 1: v.regs.x[0] = static_cast<u64>(F::DmaStreamUnbind), v.regs.x[1] = in.pick(kSlots), what = "unbind"; break;
            case 2:
                v.regs.x[0] = static_cast<u64>(F::CapMint), v.regs.x[1] = in.pick(kSlots), v.regs.x[2] = in.pick(kSlots);
                v.regs.x[3] = in.pick(kRights), what = "mint";
                break;
            case 3: v.regs.x[0] = static_cast<u64>(F::CapDelete), v.regs.x[1] = in.pick(kSlots), what = "delete"; break;
            case 4: v.regs.x[0] = static_cast<u64>(F::CapRevoke), v.regs.x[1] = in.pick(kSlots), what = "revoke"; break;
            case 5:
                v.regs.x[0] = static_cast<u64>(F::FrameMap), v.regs.x[1] = in.pick(kSlots), v.regs.x[2] = in.pick(kIpas);
                v.regs.x[3] = 1 + in.u8() % 3, what = "map";
                break;
            case 6: v.regs.x[0] = static_cast<u64>(F::FrameUnmap), v.regs.x[1] = in.pick(kSlots), what = "unmap"; break;
            case 7: v.regs.x[0] = kPsciSystemReset, call = false, what = "restart"; break;
            case 8: {  // a device's access through a stream: no exit
                const u32 sid = in.pick(kStreams);
                const u64 address = in.pick(kIpas) + (in.u8() & 0xf8);
                const bool write = (in.u8() & 1) != 0;
                const host::DmaAccess want = expected(sid, address, write);
                const host::DmaAccess got = host::smmu_dma(sid, address, write);
                if (got.outcome != want.outcome || (got.outcome == host::DmaAccess::Outcome::Done && got.pa != want.pa))
                    fuzz::finding("a device access went where the model says it must not");
                exited = false;
                what = "dma";
                break;
            }
            case 9:  // the SMMU's interrupt, taken on this core
                sys->dma.service();
                exited = false;
                what = "smmu interrupt";
                break;
            default: {  // the PCIe configuration window
                const u32 bdf = (in.u8() & 1) != 0 ? kAlphaFunction : kBetaFunction;
                const u32 reg = in.pick(kConfigRegs);
                const unsigned bytes = 1u << (in.u8() % 4);
                const bool write = (in.u8() & 1) != 0;
                v.regs.x[2] = in.pick(kConfigValues);
                syn = data_abort(platform::kPciConfigWindowIpa + bdf * platform::kPcieFunctionConfigSize + reg, bytes, write);
                call = false;
                what = "config access";
            }
        }
        if (exited) {
            const bool resume = handle_guest_exit(*sys, v, arch::decode_exit(arch::ExitVector::Sync, syn));
            if (resume && call) {
                const i64 status = static_cast<i64>(v.regs.x[0]);
                if (status > 0 || status < static_cast<i64>(Status::Busy)) fuzz::finding("a hypercall returned no Status");
            }
            if (resume) v.store_state(VcpuState::Runnable);
        } else {
            v.store_state(VcpuState::Runnable);
        }
        check_caches();
        fuzz::require_ok(check_invariants(*sys), what);
    }
    return 0;
}
