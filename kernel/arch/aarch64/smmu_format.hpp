// SMMUv3 formats (Arm IHI 0070: registers in chapter 6, the stream table entry in 5.2, commands in
// chapter 4, event records in chapter 7): pure encoders and decoders, no hardware access, so the
// EL2 driver (smmu.cpp), the host fake (kernel/arch/host/smmu_host.cpp), the unit tests and the
// fuzz target all build and read the very same words.
//
// Only what the kernel uses is encoded: a linear stream table whose entries either abort or
// translate with stage 2 alone, through a partition's own stage-2 tables and VMID (stage2_format.hpp:
// the STE's stage-2 fields are the VTCR_EL2 fields Stage2Table is built for, asserted below); a
// command queue carrying CFGI_STE, CFGI_ALL, TLBI_S12_VMALL, TLBI_NSNH_ALL and CMD_SYNC; an event
// queue whose records are decoded into DmaFault-shaped values.
#pragma once

#include <bulkhead/types.hpp>
#include "arch/aarch64/stage2_format.hpp"

namespace bh::smmu {

// ---- Registers (page 0 unless noted; IHI 0070 6.3)
namespace reg {
inline constexpr u64 kIdr0 = 0x0000;
inline constexpr u64 kIdr1 = 0x0004;
inline constexpr u64 kIdr5 = 0x0014;
inline constexpr u64 kCr0 = 0x0020;
inline constexpr u64 kCr0Ack = 0x0024;
inline constexpr u64 kCr1 = 0x0028;
inline constexpr u64 kCr2 = 0x002C;
inline constexpr u64 kGbpa = 0x0044;
inline constexpr u64 kIrqCtrl = 0x0050;
inline constexpr u64 kIrqCtrlAck = 0x0054;
inline constexpr u64 kGerror = 0x0060;
inline constexpr u64 kGerrorN = 0x0064;
inline constexpr u64 kStrtabBase = 0x0080;     // 64-bit
inline constexpr u64 kStrtabBaseCfg = 0x0088;
inline constexpr u64 kCmdqBase = 0x0090;       // 64-bit
inline constexpr u64 kCmdqProd = 0x0098;
inline constexpr u64 kCmdqCons = 0x009C;
inline constexpr u64 kEventqBase = 0x00A0;     // 64-bit
inline constexpr u64 kEventqProd = 0x100A8;    // page 1
inline constexpr u64 kEventqCons = 0x100AC;    // page 1
inline constexpr u64 kRegionSize = 0x20000;    // two 64 KiB pages
}  // namespace reg
static_assert(reg::kEventqProd - 0x10000 == 0xA8 && reg::kEventqCons - 0x10000 == 0xAC);

// IDR0
inline constexpr u32 kIdr0S2p = 1u << 0;
inline constexpr u32 kIdr0S1p = 1u << 1;
inline constexpr u32 kIdr0TtfShift = 2;  // [3:2]: 0b10 AArch64, 0b11 both
inline constexpr u32 kIdr0Cohacc = 1u << 4;
inline constexpr u32 kIdr0Vmid16 = 1u << 18;
constexpr bool idr0_aarch64_tables(u32 idr0) { return ((idr0 >> kIdr0TtfShift) & 2u) != 0; }
// QEMU 10 virt's SMMU (design.md): stage 1 and 2, AArch64 tables, coherent, 16-bit ASID/VMID.
inline constexpr u32 kQemuVirtIdr0 = 0x0d44'101b;
static_assert((kQemuVirtIdr0 & kIdr0S2p) != 0 && (kQemuVirtIdr0 & kIdr0S1p) != 0 &&
              idr0_aarch64_tables(kQemuVirtIdr0) && (kQemuVirtIdr0 & kIdr0Cohacc) != 0 &&
              (kQemuVirtIdr0 & kIdr0Vmid16) != 0);

// IDR1: log2 of the largest stream ID space and queues the SMMU implements.
constexpr u32 idr1_sidsize(u32 idr1) { return idr1 & 0x3f; }
constexpr u32 idr1_eventqs(u32 idr1) { return (idr1 >> 16) & 0x1f; }
constexpr u32 idr1_cmdqs(u32 idr1) { return (idr1 >> 21) & 0x1f; }
inline constexpr u32 kIdr1TablesPreset = 1u << 30;
inline constexpr u32 kIdr1QueuesPreset = 1u << 29;

// IDR5: output address size and granules.
constexpr u32 idr5_oas(u32 idr5) { return idr5 & 7; }  // 0b010 = 40 bits, 0b100 = 44 bits, ...
inline constexpr u32 kIdr5Gran4k = 1u << 4;
constexpr unsigned oas_bits(u32 oas) {
    constexpr unsigned kBits[] = {32, 36, 40, 42, 44, 48, 52, 52};
    return kBits[oas & 7];
}
static_assert(oas_bits(2) == 40 && oas_bits(4) == 44);

// CR0 / CR0ACK
inline constexpr u32 kCr0SmmuEn = 1u << 0;
inline constexpr u32 kCr0EventqEn = 1u << 2;
inline constexpr u32 kCr0CmdqEn = 1u << 3;

// CR1: tables and queues are walked write-back, inner shareable, like the CPU's stage 2.
inline constexpr u32 kCacheWb = 1;   // IC/OC: normal write-back cacheable
inline constexpr u32 kShInner = 3;   // SH: inner shareable
constexpr u32 cr1(u32 queue_ic, u32 queue_oc, u32 queue_sh, u32 table_ic, u32 table_oc, u32 table_sh) {
    return queue_ic | (queue_oc << 2) | (queue_sh << 4) | (table_ic << 6) | (table_oc << 8) | (table_sh << 10);
}
inline constexpr u32 kCr1 = cr1(kCacheWb, kCacheWb, kShInner, kCacheWb, kCacheWb, kShInner);
static_assert(kCr1 == 0xD75);

// CR2: record C_BAD_STREAMID events (a device on a stream the table does not cover is reported),
// private TLB maintenance (the SMMU ignores the CPUs' broadcast TLBIs; the kernel invalidates it
// by command, which works whether or not it implements broadcast maintenance).
inline constexpr u32 kCr2RecInvSid = 1u << 1;
inline constexpr u32 kCr2Ptm = 1u << 2;

// GBPA: what traffic does while the SMMU is disabled.
inline constexpr u32 kGbpaAbort = 1u << 20;
inline constexpr u32 kGbpaUpdate = 1u << 31;

// IRQ_CTRL / IRQ_CTRLACK
inline constexpr u32 kIrqCtrlGerror = 1u << 0;
inline constexpr u32 kIrqCtrlEventq = 1u << 2;

// GERROR / GERRORN: an error is active while its GERROR and GERRORN bits differ.
inline constexpr u32 kGerrorCmdq = 1u << 0;
inline constexpr u32 kGerrorEventqAbort = 1u << 2;  // an event could not be written (QEMU: queue full)
inline constexpr u32 kGerrorMask = 0x1fd;           // every defined bit: [8:2] and 0
constexpr u32 gerror_active(u32 gerror, u32 gerrorn) { return (gerror ^ gerrorn) & kGerrorMask; }

// STRTAB_BASE / STRTAB_BASE_CFG: a linear table of 2^log2size entries.
inline constexpr u64 kStrtabRa = 1ull << 62;
inline constexpr u64 kBaseAddrMask = 0x000F'FFFF'FFFF'FFC0ull;  // [51:6]
constexpr u64 strtab_base(u64 table_pa) { return (table_pa & kBaseAddrMask) | kStrtabRa; }
constexpr u32 strtab_base_cfg_linear(u32 log2size) { return log2size & 0x3f; }  // FMT [17:16] = 0

// Queues: BASE = RA/WA | ADDR[51:5] | LOG2SIZE[4:0]; PROD/CONS = WRAP:index[log2size-1:0].
inline constexpr u64 kQueueAllocate = 1ull << 62;  // RA for the command queue, WA for the event queue
inline constexpr u64 kQueueAddrMask = 0x000F'FFFF'FFFF'FFE0ull;  // [51:5]
constexpr u64 queue_base(u64 queue_pa, u32 log2size) {
    return (queue_pa & kQueueAddrMask) | kQueueAllocate | (log2size & 0x1f);
}
// The position in a queue of 2^log2size entries: index and wrap bit, nothing else.
constexpr u32 queue_position(u32 reg, u32 log2size) { return reg & ((2u << log2size) - 1); }
constexpr u32 queue_index(u32 position, u32 log2size) { return position & ((1u << log2size) - 1); }
constexpr u32 queue_next(u32 position, u32 log2size) { return (position + 1) & ((2u << log2size) - 1); }
constexpr bool queue_empty(u32 prod, u32 cons) { return prod == cons; }
constexpr bool queue_full(u32 prod, u32 cons, u32 log2size) {
    return queue_index(prod, log2size) == queue_index(cons, log2size) && prod != cons;
}
inline constexpr u32 kEventqProdOverflow = 1u << 31;  // OVFLG: events were lost since the last ack
inline constexpr u32 kEventqConsOverflowAck = 1u << 31;
constexpr u32 cmdq_cons_error(u32 cons) { return (cons >> 24) & 0x7f; }
static_assert(queue_next(0b111, 2) == 0 && queue_next(0b011, 2) == 0b100 && queue_full(0b100, 0b000, 2) &&
              !queue_full(0b100, 0b100, 2) && queue_index(0b101, 2) == 1);

// ---- Stream table entry (IHI 0070 5.2): 64 bytes
struct Ste {
    u64 word[8];
};
static_assert(sizeof(Ste) == 64);
inline constexpr unsigned kSteBits = 6;

inline constexpr u64 kSteValid = 1ull << 0;
inline constexpr unsigned kSteConfigShift = 1;  // [3:1]
enum class SteConfig : u64 { Abort = 0b000, Bypass = 0b100, Stage1 = 0b101, Stage2 = 0b110, Nested = 0b111 };
inline constexpr u64 kSteConfigMask = 0b111ull << kSteConfigShift;
// word 1: SHCFG [45:44] = 0b01, "use the incoming shareability" (the only meaningful choice when
// stage 2 decides the memory type, as it does for the CPUs).
inline constexpr u64 kSteShcfgIncoming = 1ull << 44;
// word 2: the stage-2 translation control, field by field as VTCR_EL2's.
inline constexpr unsigned kSteS2VmidShift = 0;  // [15:0]
inline constexpr unsigned kSteS2T0szShift = 32;  // [37:32]
inline constexpr unsigned kSteS2Sl0Shift = 38;   // [39:38]
inline constexpr unsigned kSteS2Ir0Shift = 40;   // [41:40]
inline constexpr unsigned kSteS2Or0Shift = 42;   // [43:42]
inline constexpr unsigned kSteS2Sh0Shift = 44;   // [45:44]
inline constexpr unsigned kSteS2TgShift = 46;    // [47:46]: 0b00 4 KiB
inline constexpr unsigned kSteS2PsShift = 48;    // [50:48]
inline constexpr u64 kSteS2Aa64 = 1ull << 51;    // AArch64 tables (QEMU asserts on 0)
inline constexpr u64 kSteS2Endi = 1ull << 52;    // big-endian walks: never
inline constexpr u64 kSteS2Affd = 1ull << 53;    // access flag faults disabled: never (leaves set AF)
inline constexpr u64 kSteS2Ptw = 1ull << 54;
inline constexpr u64 kSteS2Hd = 1ull << 55;
inline constexpr u64 kSteS2Ha = 1ull << 56;
inline constexpr u64 kSteS2S = 1ull << 57;       // stall: never (the fault terminates the access)
inline constexpr u64 kSteS2R = 1ull << 58;       // record faults: every stage-2 fault is an event
// word 3: S2TTB [51:4], the stage-2 root.
inline constexpr u64 kSteS2TtbMask = 0x000F'FFFF'FFFF'FFF0ull;

// The stage-2 geometry every bound stream uses: exactly Stage2Table's (kVtcrEl2), so that the
// SMMU walks the partition's own tables as its CPUs do.
inline constexpr u64 kS2T0sz = stage2::kVtcrT0sz;
inline constexpr u64 kS2Sl0 = (stage2::kVtcrSl0Level1 >> 6) & 3;
inline constexpr u64 kS2Ir0 = (stage2::kVtcrIrgn0Wbwa >> 8) & 3;
inline constexpr u64 kS2Or0 = (stage2::kVtcrOrgn0Wbwa >> 10) & 3;
inline constexpr u64 kS2Sh0 = (stage2::kVtcrSh0Inner >> 12) & 3;
inline constexpr u64 kS2Tg = (stage2::kVtcrTg04K >> 14) & 3;
inline constexpr u64 kS2Ps = (stage2::kVtcrPs40 >> 16) & 7;
static_assert(kS2T0sz == 24 && kS2Sl0 == 1 && kS2Ir0 == 1 && kS2Or0 == 1 && kS2Sh0 == 3 && kS2Tg == 0 && kS2Ps == 2,
              "the STE's stage-2 fields are VTCR_EL2's (stage2_format.hpp: T0SZ 24, SL0 1, WBWA, IS, 4K, 40-bit PA)");
// Everything in word 2 but the VMID, for every bound stream.
inline constexpr u64 kSteS2Control = (kS2T0sz << kSteS2T0szShift) | (kS2Sl0 << kSteS2Sl0Shift) |
                                     (kS2Ir0 << kSteS2Ir0Shift) | (kS2Or0 << kSteS2Or0Shift) |
                                     (kS2Sh0 << kSteS2Sh0Shift) | (kS2Tg << kSteS2TgShift) |
                                     (kS2Ps << kSteS2PsShift) | kSteS2Aa64 | kSteS2R;
static_assert(kSteS2Control == 0x040A'3558'0000'0000ull);
// STE bits [50:32] are laid out exactly as VTCR_EL2 [18:0]: the same value, the same tables.
static_assert(((kSteS2Control >> kSteS2T0szShift) & 0x7'FFFF) == (kVtcrEl2 & 0x7'FFFF));

constexpr u64 ste_config_bits(SteConfig c) { return static_cast<u64>(c) << kSteConfigShift; }

// Valid, Config = abort: the device's accesses are terminated (no event is recorded for them).
constexpr Ste ste_abort() { return Ste{{kSteValid | ste_config_bits(SteConfig::Abort), 0, 0, 0, 0, 0, 0, 0}}; }

// Valid, stage 1 bypassed, stage 2 through the tables at `root` (8 KiB aligned: two concatenated
// level-1 tables) tagged `vmid`.
constexpr Ste ste_stage2(u64 root, u16 vmid) {
    return Ste{{kSteValid | ste_config_bits(SteConfig::Stage2), kSteShcfgIncoming,
                kSteS2Control | (static_cast<u64>(vmid) << kSteS2VmidShift), root & kSteS2TtbMask, 0, 0, 0, 0}};
}
static_assert(ste_abort().word[0] == 0x1);
static_assert(ste_stage2(0x4100'4000, 3).word[0] == 0xD && ste_stage2(0x4100'4000, 3).word[1] == 0x1000'0000'0000ull &&
              ste_stage2(0x4100'4000, 3).word[2] == 0x040A'3558'0000'0003ull &&
              ste_stage2(0x4100'4000, 3).word[3] == 0x4100'4000ull);

// What an STE makes of a stream, decoded as the SMMU does (QEMU's decode_ste and
// decode_ste_s2_cfg refuse the same malformed stage-2 fields). `exact` also demands the fields the
// kernel never sets to be zero, so an entry is recognised as one of the two the kernel writes.
struct SteView {
    enum class Kind { Invalid, Abort, Bypass, Stage2, Other } kind = Kind::Invalid;
    u16 vmid = 0;
    u64 root = 0;
    bool exact = false;  // bit-for-bit ste_abort() or ste_stage2(root, vmid)
};

constexpr SteView decode_ste(const Ste& s) {
    SteView v{};
    if ((s.word[0] & kSteValid) == 0) return v;
    const u64 config = (s.word[0] & kSteConfigMask) >> kSteConfigShift;
    if ((config & 0b100) == 0) {  // every Config with bit 2 clear aborts
        v.kind = SteView::Kind::Abort;
        const Ste a = ste_abort();
        v.exact = s.word[0] == a.word[0] && s.word[1] == 0 && s.word[2] == 0 && s.word[3] == 0 && s.word[4] == 0 &&
                  s.word[5] == 0 && s.word[6] == 0 && s.word[7] == 0;
        return v;
    }
    if (config == static_cast<u64>(SteConfig::Bypass)) {
        v.kind = SteView::Kind::Bypass;
        return v;
    }
    if (config != static_cast<u64>(SteConfig::Stage2)) {
        v.kind = SteView::Kind::Other;
        return v;
    }
    v.kind = SteView::Kind::Stage2;
    v.vmid = static_cast<u16>(s.word[2] >> kSteS2VmidShift);
    v.root = s.word[3] & kSteS2TtbMask;
    const Ste e = ste_stage2(v.root, v.vmid);
    v.exact = s.word[0] == e.word[0] && s.word[1] == e.word[1] && s.word[2] == e.word[2] && s.word[3] == e.word[3] &&
              s.word[4] == 0 && s.word[5] == 0 && s.word[6] == 0 && s.word[7] == 0;
    return v;
}
static_assert(decode_ste(ste_abort()).kind == SteView::Kind::Abort && decode_ste(ste_abort()).exact);
static_assert(decode_ste(ste_stage2(0x4100'4000, 3)).kind == SteView::Kind::Stage2 &&
              decode_ste(ste_stage2(0x4100'4000, 3)).vmid == 3 &&
              decode_ste(ste_stage2(0x4100'4000, 3)).root == 0x4100'4000 && decode_ste(ste_stage2(0x4100'4000, 3)).exact);
static_assert(decode_ste(Ste{}).kind == SteView::Kind::Invalid);

// ---- Commands (IHI 0070 4.1): 16 bytes
struct Command {
    u64 word[2];
};
static_assert(sizeof(Command) == 16);
inline constexpr unsigned kCommandBits = 4;

enum class Opcode : u8 {
    CfgiSte = 0x03,
    CfgiAll = 0x04,
    TlbiS12Vmall = 0x28,
    TlbiNsnhAll = 0x30,
    Sync = 0x46,
};
constexpr Opcode opcode(const Command& c) { return static_cast<Opcode>(c.word[0] & 0xff); }

// Forget the cached copy of stream `sid`'s STE (Leaf = 1: a linear table has no L1 descriptor).
constexpr Command cmd_cfgi_ste(u32 sid) {
    return Command{{static_cast<u64>(Opcode::CfgiSte) | (static_cast<u64>(sid) << 32), 1}};
}
// Forget every cached STE (CFGI_STE_RANGE with Range = 31).
constexpr Command cmd_cfgi_all() { return Command{{static_cast<u64>(Opcode::CfgiAll), 31}}; }
// Forget every stage-1 and stage-2 translation tagged `vmid`.
constexpr Command cmd_tlbi_s12_vmall(u16 vmid) {
    return Command{{static_cast<u64>(Opcode::TlbiS12Vmall) | (static_cast<u64>(vmid) << 32), 0}};
}
// Forget every non-secure, non-hypervisor translation (used once, at enable).
constexpr Command cmd_tlbi_nsnh_all() { return Command{{static_cast<u64>(Opcode::TlbiNsnhAll), 0}}; }
// Completes when every earlier command has: CS = SIG_NONE, software polls CMDQ_CONS past it.
constexpr Command cmd_sync() { return Command{{static_cast<u64>(Opcode::Sync), 0}}; }

constexpr u32 cmd_sid(const Command& c) { return static_cast<u32>(c.word[0] >> 32); }
constexpr u16 cmd_vmid(const Command& c) { return static_cast<u16>(c.word[0] >> 32); }
static_assert(cmd_cfgi_ste(0x18).word[0] == 0x18'0000'0003ull && cmd_cfgi_ste(0x18).word[1] == 1);
static_assert(cmd_tlbi_s12_vmall(2).word[0] == 0x2'0000'0028ull && cmd_sync().word[0] == 0x46 &&
              cmd_cfgi_all().word[1] == 31);
static_assert(cmd_sid(cmd_cfgi_ste(0x1234)) == 0x1234 && cmd_vmid(cmd_tlbi_s12_vmall(7)) == 7);

// ---- Event records (IHI 0070 7.3): 32 bytes
struct Event {
    u64 word[4];
};
static_assert(sizeof(Event) == 32);
inline constexpr unsigned kEventBits = 5;

enum class EventType : u8 {
    UnsupportedUpstream = 0x01,  // F_UUT
    BadStreamId = 0x02,          // C_BAD_STREAMID: the stream is outside the table
    SteFetch = 0x03,             // F_STE_FETCH
    BadSte = 0x04,               // C_BAD_STE
    StreamDisabled = 0x06,       // F_STREAM_DISABLED
    TranslationForbidden = 0x07, // F_TRANSL_FORBIDDEN
    WalkAbort = 0x0B,            // F_WALK_EABT
    Translation = 0x10,          // F_TRANSLATION: no stage-2 mapping
    AddressSize = 0x11,          // F_ADDR_SIZE
    Access = 0x12,               // F_ACCESS
    Permission = 0x13,           // F_PERMISSION: e.g. a write to a read-only mapping
};

// The fields the kernel reports: what, which stream, where, which direction.
struct EventView {
    u8 type;
    u32 sid;
    u64 address;  // the input address (the partition's IPA) for translation-class faults
    bool read;    // RnW
    bool stage2;  // S2: the fault was in stage 2
};
constexpr EventView decode_event(const Event& e) {
    return EventView{static_cast<u8>(e.word[0] & 0xff), static_cast<u32>(e.word[0] >> 32), e.word[2],
                     ((e.word[1] >> 35) & 1) != 0, ((e.word[1] >> 39) & 1) != 0};
}
// The inverse for the fields above, as QEMU's smmuv3_record_event writes them (the host fake's
// events and the tests use it).
constexpr Event make_event(EventType type, u32 sid, u64 address, bool read, bool stage2) {
    return Event{{static_cast<u64>(type) | (static_cast<u64>(sid) << 32),
                  (read ? 1ull << 35 : 0) | (stage2 ? 1ull << 39 : 0), address, 0}};
}
static_assert(decode_event(make_event(EventType::Translation, 0x18, 0x4880'0000, false, true)).sid == 0x18 &&
              decode_event(make_event(EventType::Translation, 0x18, 0x4880'0000, false, true)).address == 0x4880'0000 &&
              decode_event(make_event(EventType::Translation, 0x18, 0x4880'0000, false, true)).stage2 &&
              !decode_event(make_event(EventType::Translation, 0x18, 0x4880'0000, false, true)).read &&
              decode_event(make_event(EventType::Permission, 1, 0, true, true)).read);

// A name for reports ("translation fault", ...).
constexpr const char* event_name(u8 type) {
    switch (static_cast<EventType>(type)) {
        case EventType::UnsupportedUpstream: return "unsupported upstream transaction";
        case EventType::BadStreamId: return "stream outside the stream table";
        case EventType::SteFetch: return "stream table fetch abort";
        case EventType::BadSte: return "malformed stream table entry";
        case EventType::StreamDisabled: return "stream disabled";
        case EventType::TranslationForbidden: return "translation forbidden";
        case EventType::WalkAbort: return "table walk abort";
        case EventType::Translation: return "translation fault";
        case EventType::AddressSize: return "address size fault";
        case EventType::Access: return "access flag fault";
        case EventType::Permission: return "permission fault";
    }
    return "event";
}

}  // namespace bh::smmu
