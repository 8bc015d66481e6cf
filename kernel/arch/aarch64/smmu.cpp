// The SMMUv3 at EL2: every stream aborts until a partition binds it, and then translates through
// that partition's own stage-2 tables with its VMID (docs/isolation.md "DMA and PCIe"). Formats
// are in smmu_format.hpp; this file only moves them between kernel memory and the SMMU.
//
// Out of reset the SMMU is disabled and lets DMA bypass it, so the first thing the kernel does
// (smmu_abort_all_dma) is to make disabled mean abort (GBPA). Then smmu_enable builds a linear
// stream table with every entry valid and aborting, the command and event queues, and turns the
// SMMU on. If the SMMU cannot translate with stage 2 the way the kernel needs, it stays disabled
// with GBPA abort: no DMA at all, and binding a stream is refused.
#include <arch/arch.hpp>
#include <arch/smmu.hpp>
#include <bulkhead/platform.hpp>
#include <lib/format.hpp>
#include <lib/spinlock.hpp>

#include "aarch64.hpp"
#include "smmu_format.hpp"
#include "sysreg.hpp"

namespace bh::aarch64 {

namespace {

constexpr u64 kBase = platform::kSmmuBase;
// Queues the size of what the kernel can have outstanding: a few commands per operation (bound
// by kCommandBatch), and one event per faulting access until the kernel disables the stream.
constexpr u32 kCmdqLog2 = 5;
constexpr u32 kEventqLog2 = 5;
constexpr u32 kCmdqEntries = 1u << kCmdqLog2;
constexpr u32 kEventqEntries = 1u << kEventqLog2;
// A stalled SMMU is a broken machine: bound every wait for it, then stop.
constexpr u64 kSpinLimit = 100'000'000;

// Each table aligned to its size, as STRTAB_BASE and the queue bases require.
alignas(platform::kStreamCount * sizeof(smmu::Ste)) smmu::Ste stream_table[platform::kStreamCount];
alignas(kCmdqEntries * sizeof(smmu::Command)) smmu::Command cmdq[kCmdqEntries];
alignas(kEventqEntries * sizeof(smmu::Event)) smmu::Event eventq[kEventqEntries];
static_assert(sizeof(stream_table) == 16384 && sizeof(cmdq) == 512 && sizeof(eventq) == 1024);

SpinLock command_lock;  // the command queue and the stream table are written by any core
SpinLock event_lock;    // the event queue's consumer index
u32 cmdq_prod = 0;      // position (index and wrap) of the next command slot
u32 eventq_cons = 0;
bool ready = false;     // enabled, translating streams as bound

// The SMMU's TLB holds a VMID's translations only while one of its streams translates, and
// smmu_stream_abort invalidates the VMID whenever it stops one. So a VMID none of whose streams
// translates has nothing cached, and smmu_invalidate_vmid skips it: a partition that binds no
// stream pays nothing for the SMMU on unmap and restart. Written under command_lock.
constexpr u32 kVmids = 1u << stage2::kVmidBits;
u16 vmid_of_stream[platform::kStreamCount];  // 0: the stream does not translate
u16 streams_of_vmid[kVmids];

u32 read32(u64 offset) { return mmio_read<u32>(kBase + offset); }
void write32(u64 offset, u32 value) { mmio_write<u32>(kBase + offset, value); }
void write64(u64 offset, u64 value) { mmio_write<u64>(kBase + offset, value); }

[[noreturn]] void smmu_broken(const char* what) {
    log("PANIC: smmu: ", what);
    psci_system_off();
}

// Sets CR0 and waits for CR0ACK to reflect it.
void write_cr0(u32 value) {
    write32(smmu::reg::kCr0, value);
    for (u64 n = 0; read32(smmu::reg::kCr0Ack) != value; ++n)
        if (n == kSpinLimit) smmu_broken("CR0 update not acknowledged");
}

// Appends `count` commands and a CMD_SYNC, and waits until the SMMU has consumed the sync: every
// command before it has then completed. command_lock held.
void submit_locked(const smmu::Command* commands, unsigned count) {
    for (unsigned i = 0; i <= count; ++i) {
        const smmu::Command c = i < count ? commands[i] : smmu::cmd_sync();
        // Full: wait for the SMMU to consume (it always does: nothing else writes the queue).
        for (u64 n = 0; smmu::queue_full(cmdq_prod, smmu::queue_position(read32(smmu::reg::kCmdqCons), kCmdqLog2),
                                         kCmdqLog2);
             ++n)
            if (n == kSpinLimit) smmu_broken("command queue stalled");
        cmdq[smmu::queue_index(cmdq_prod, kCmdqLog2)] = c;
        cmdq_prod = smmu::queue_next(cmdq_prod, kCmdqLog2);
    }
    dsb_ish();  // the entries before the producer index that publishes them
    write32(smmu::reg::kCmdqProd, cmdq_prod);
    for (u64 n = 0;; ++n) {
        const u32 cons = read32(smmu::reg::kCmdqCons);
        if (smmu::cmdq_cons_error(cons) != 0 ||
            (smmu::gerror_active(read32(smmu::reg::kGerror), read32(smmu::reg::kGerrorN)) & smmu::kGerrorCmdq) != 0)
            smmu_broken("command refused (kernel bug)");  // the kernel only issues commands it encoded
        if (smmu::queue_position(cons, kCmdqLog2) == cmdq_prod) return;
        if (n == kSpinLimit) smmu_broken("CMD_SYNC did not complete");
    }
}

void submit(const smmu::Command* commands, unsigned count) {
    LockGuard guard(command_lock);
    submit_locked(commands, count);
}

// Writes STE `sid` so that no walker sees a mix of old and new words: the entry goes through
// abort (word 0 alone) while its other words change.
void write_ste(u32 sid, const smmu::Ste& ste) {
    volatile u64* w = stream_table[sid].word;
    w[0] = smmu::ste_abort().word[0];
    dsb_ish();
    for (unsigned i = 1; i < 8; ++i) w[i] = ste.word[i];
    dsb_ish();
    w[0] = ste.word[0];
    dsb_ish();
}

}  // namespace

bool smmu_abort_all_dma() {
    if ((read32(smmu::reg::kCr0) & smmu::kCr0SmmuEn) != 0) return false;  // firmware left it on: refuse
    write32(smmu::reg::kGbpa, smmu::kGbpaUpdate | smmu::kGbpaAbort);
    while ((read32(smmu::reg::kGbpa) & smmu::kGbpaUpdate) != 0) {
    }
    return (read32(smmu::reg::kGbpa) & smmu::kGbpaAbort) != 0;
}

const char* smmu_enable() {
    const u32 idr0 = read32(smmu::reg::kIdr0), idr1 = read32(smmu::reg::kIdr1), idr5 = read32(smmu::reg::kIdr5);
    if ((idr0 & smmu::kIdr0S2p) == 0) return "no stage-2 translation (IDR0.S2P)";
    if (!smmu::idr0_aarch64_tables(idr0)) return "no AArch64 tables (IDR0.TTF)";
    // Tables and queues live in cacheable kernel memory, written without cache maintenance.
    if ((idr0 & smmu::kIdr0Cohacc) == 0) return "not coherent with the CPUs (IDR0.COHACC)";
    if ((idr1 & (smmu::kIdr1TablesPreset | smmu::kIdr1QueuesPreset)) != 0) return "preset tables or queues (IDR1)";
    if (smmu::idr1_sidsize(idr1) < platform::kStreamBits) return "fewer stream ID bits than bus 0 needs (IDR1.SIDSIZE)";
    if (smmu::idr1_cmdqs(idr1) < kCmdqLog2 || smmu::idr1_eventqs(idr1) < kEventqLog2) return "queues too small (IDR1)";
    if ((idr5 & smmu::kIdr5Gran4k) == 0) return "no 4 KiB granule (IDR5.GRAN4K)";
    if (smmu::oas_bits(smmu::idr5_oas(idr5)) < stage2::kOutputBits) return "output addresses narrower than stage 2's (IDR5.OAS)";

    for (smmu::Ste& s : stream_table) s = smmu::ste_abort();
    dsb_ish();
    write64(smmu::reg::kStrtabBase, smmu::strtab_base(reinterpret_cast<u64>(stream_table)));
    write32(smmu::reg::kStrtabBaseCfg, smmu::strtab_base_cfg_linear(platform::kStreamBits));
    write64(smmu::reg::kCmdqBase, smmu::queue_base(reinterpret_cast<u64>(cmdq), kCmdqLog2));
    write32(smmu::reg::kCmdqProd, 0);
    write32(smmu::reg::kCmdqCons, 0);
    write64(smmu::reg::kEventqBase, smmu::queue_base(reinterpret_cast<u64>(eventq), kEventqLog2));
    write32(smmu::reg::kEventqProd, 0);
    write32(smmu::reg::kEventqCons, 0);
    write32(smmu::reg::kCr1, smmu::kCr1);
    write32(smmu::reg::kCr2, smmu::kCr2RecInvSid | smmu::kCr2Ptm);
    write_cr0(smmu::kCr0CmdqEn);
    // Nothing cached from before the kernel may survive.
    const smmu::Command reset[] = {smmu::cmd_cfgi_all(), smmu::cmd_tlbi_nsnh_all()};
    submit(reset, 2);
    write_cr0(smmu::kCr0CmdqEn | smmu::kCr0EventqEn);
    write32(smmu::reg::kIrqCtrl, smmu::kIrqCtrlEventq | smmu::kIrqCtrlGerror);
    for (u64 n = 0; read32(smmu::reg::kIrqCtrlAck) != (smmu::kIrqCtrlEventq | smmu::kIrqCtrlGerror); ++n)
        if (n == kSpinLimit) smmu_broken("IRQ_CTRL update not acknowledged");
    write_cr0(smmu::kCr0CmdqEn | smmu::kCr0EventqEn | smmu::kCr0SmmuEn);
    ready = true;
    return nullptr;
}

void smmu_invalidate_vmid(u16 vmid) {
    // No lock needed to skip: the caller's table change was made visible (DSB) before this load,
    // and a stream that starts translating later (its count raised before its STE is written)
    // walks the changed tables.
    if (!ready || (vmid < kVmids && __atomic_load_n(&streams_of_vmid[vmid], __ATOMIC_ACQUIRE) == 0)) return;
    const smmu::Command c = smmu::cmd_tlbi_s12_vmall(vmid);
    submit(&c, 1);
}

}  // namespace bh::aarch64

namespace bh::arch {

using namespace bh::aarch64;

bool smmu_available() { return ready; }

void smmu_stream_bind(u32 sid, PhysAddr root, u16 vmid) {
    // Callers check all three; never bypass, never a VMID the count cannot hold.
    if (!ready || sid >= platform::kStreamCount || vmid == 0 || vmid >= kVmids) return;
    LockGuard guard(command_lock);
    // Rebinding without an abort (the generic layer never does) keeps the old VMID counted: it
    // may still have translations cached.
    vmid_of_stream[sid] = vmid;
    __atomic_add_fetch(&streams_of_vmid[vmid], 1, __ATOMIC_SEQ_CST);
    write_ste(sid, smmu::ste_stage2(root.raw(), vmid));
    const smmu::Command c = smmu::cmd_cfgi_ste(sid);
    submit_locked(&c, 1);
}

void smmu_stream_abort(u32 sid, u16 vmid) {
    if (!ready || sid >= platform::kStreamCount) return;
    LockGuard guard(command_lock);
    write_ste(sid, smmu::ste_abort());
    const smmu::Command c[] = {smmu::cmd_cfgi_ste(sid), smmu::cmd_tlbi_s12_vmall(vmid)};
    submit_locked(c, 2);
    // Only now, with the VMID's translations gone, may an unmap skip the SMMU.
    if (vmid_of_stream[sid] != 0) __atomic_sub_fetch(&streams_of_vmid[vmid_of_stream[sid]], 1, __ATOMIC_RELEASE);
    vmid_of_stream[sid] = 0;
}

DmaStreamState smmu_stream_state(u32 sid) {
    if (sid >= platform::kStreamCount) return DmaStreamState{DmaStreamState::Kind::Other, 0, PhysAddr(0)};
    smmu::Ste copy;
    for (unsigned i = 0; i < 8; ++i) copy.word[i] = __atomic_load_n(&stream_table[sid].word[i], __ATOMIC_RELAXED);
    const smmu::SteView v = smmu::decode_ste(copy);
    if (v.kind == smmu::SteView::Kind::Abort && v.exact) return DmaStreamState{DmaStreamState::Kind::Abort, 0, PhysAddr(0)};
    if (v.kind == smmu::SteView::Kind::Stage2 && v.exact)
        return DmaStreamState{DmaStreamState::Kind::Translate, v.vmid, PhysAddr(v.root)};
    return DmaStreamState{DmaStreamState::Kind::Other, 0, PhysAddr(0)};
}

u32 smmu_take_faults(DmaFault* out, u32 max, u64& lost) {
    if (!ready) return 0;
    LockGuard guard(event_lock);
    const u32 gerror = read32(smmu::reg::kGerror), gerrorn = read32(smmu::reg::kGerrorN);
    const u32 active = smmu::gerror_active(gerror, gerrorn);
    if ((active & smmu::kGerrorEventqAbort) != 0) {
        ++lost;  // an event could not be written (QEMU reports a full queue this way)
        write32(smmu::reg::kGerrorN, gerrorn ^ smmu::kGerrorEventqAbort);
    }
    const u32 prod_reg = read32(smmu::reg::kEventqProd);
    const u32 prod = smmu::queue_position(prod_reg, kEventqLog2);
    u32 taken = 0;
    while (taken < max && !smmu::queue_empty(prod, eventq_cons)) {
        const smmu::EventView e = smmu::decode_event(eventq[smmu::queue_index(eventq_cons, kEventqLog2)]);
        out[taken++] = DmaFault{e.sid, e.address, e.read, smmu::event_name(e.type)};
        eventq_cons = smmu::queue_next(eventq_cons, kEventqLog2);
    }
    // The architected overflow flag: acknowledged by copying it into CONS.
    const u32 overflow = prod_reg & smmu::kEventqProdOverflow;
    if (overflow != (read32(smmu::reg::kEventqCons) & smmu::kEventqConsOverflowAck)) ++lost;
    write32(smmu::reg::kEventqCons, eventq_cons | overflow);
    return taken;
}

u32 smmu_global_errors() {
    if (!ready) return 0;
    LockGuard guard(event_lock);
    const u32 gerrorn = read32(smmu::reg::kGerrorN);
    const u32 active = smmu::gerror_active(read32(smmu::reg::kGerror), gerrorn) &
                       ~(smmu::kGerrorCmdq | smmu::kGerrorEventqAbort);
    if (active != 0) write32(smmu::reg::kGerrorN, gerrorn ^ active);
    return active;
}

}  // namespace bh::arch
