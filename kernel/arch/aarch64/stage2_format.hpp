// The AArch64 stage-2 translation formats: VTCR_EL2 and the descriptors (Arm ARM D8.3, stage 2).
// Pure constants and encoders, built for the host as well so that the table code and its tests
// run there unchanged; the kernel's generic code never sees these bits, only MapAttributes.
//
// Geometry (chosen once for the platform, see kVtcrEl2): 4 KiB granule, 40-bit IPA, walks start
// at level 1 with two concatenated level-1 tables as the root (1024 entries, 8 KiB, 8 KiB
// aligned), so no level-0 table is ever needed for the 1 TiB IPA space.
#pragma once

#include <bulkhead/objects.hpp>
#include <bulkhead/types.hpp>
#include <memory/map_attributes.hpp>

namespace bh {

namespace stage2 {

// ---- VTCR_EL2 (Arm ARM D19.2 "VTCR_EL2") ---------------------------------------------------
inline constexpr unsigned kIpaBits = 40;
inline constexpr u64 kIpaLimit = 1ull << kIpaBits;
// PS is what the walker accepts as an output address; a larger PA in a descriptor would only
// produce an Address size fault, so map() refuses it up front. 40 bits is the Cortex-A53's
// PARange and covers everything on the reference machine (RAM and the PCIe high window).
inline constexpr unsigned kOutputBits = 40;
inline constexpr u64 kOutputLimit = 1ull << kOutputBits;
// VTCR_EL2.VS stays 0: the Cortex-A53 implements 8-bit VMIDs only.
inline constexpr unsigned kVmidBits = 8;

inline constexpr u64 kVtcrT0sz = 64 - kIpaBits;  // [5:0]
inline constexpr u64 kVtcrSl0Level1 = 1ull << 6;  // [7:6] with TG0=4K: start at level 1
inline constexpr u64 kVtcrIrgn0Wbwa = 1ull << 8;  // [9:8]
inline constexpr u64 kVtcrOrgn0Wbwa = 1ull << 10; // [11:10]
inline constexpr u64 kVtcrSh0Inner = 3ull << 12;  // [13:12]
inline constexpr u64 kVtcrTg04K = 0ull << 14;     // [15:14]
inline constexpr u64 kVtcrPs40 = 2ull << 16;      // [18:16] 0b010 = 40 bits
inline constexpr u64 kVtcrRes1 = 1ull << 31;

}  // namespace stage2

inline constexpr u64 kVtcrEl2 = stage2::kVtcrT0sz | stage2::kVtcrSl0Level1 |
                                stage2::kVtcrIrgn0Wbwa | stage2::kVtcrOrgn0Wbwa |
                                stage2::kVtcrSh0Inner | stage2::kVtcrTg04K | stage2::kVtcrPs40 |
                                stage2::kVtcrRes1;
static_assert(kVtcrEl2 == 0x8002'3558);

namespace stage2 {

// ---- Descriptors (Arm ARM D8.3 "Translation table descriptor formats", stage 2) -------------
inline constexpr u64 kValid = 1ull << 0;
inline constexpr u64 kTableOrPage = 1ull << 1;  // table at levels 1-2, page at level 3
inline constexpr unsigned kMemAttrShift = 2;    // MemAttr[3:0] at [5:2] (HCR_EL2.FWB = 0)
inline constexpr u64 kMemAttrMask = 0xFull << kMemAttrShift;
inline constexpr u64 kMemAttrNormalWb = 0b1111;  // outer WB, inner WB
inline constexpr u64 kMemAttrDeviceNgnre = 0b0001;
inline constexpr unsigned kS2apShift = 6;  // S2AP[1:0] at [7:6]
inline constexpr u64 kS2apRead = 0b01ull << kS2apShift;
inline constexpr u64 kS2apWrite = 0b10ull << kS2apShift;
inline constexpr u64 kS2apMask = 0b11ull << kS2apShift;
inline constexpr unsigned kShShift = 8;  // SH[1:0] at [9:8]
inline constexpr u64 kShInner = 0b11ull << kShShift;
inline constexpr u64 kShMask = 0b11ull << kShShift;
inline constexpr u64 kAf = 1ull << 10;  // set, so the first access does not take an AF fault
inline constexpr u64 kXn = 1ull << 54;  // XN[1] (XN[0] at bit 53 is RES0 without FEAT_XNX)
inline constexpr u64 kAddressMask = 0x0000'FFFF'FFFF'F000ull;  // next-table / output [47:12]

constexpr u64 mem_attr(u64 value) { return value << kMemAttrShift; }

static_assert(kValid == 0x1 && kTableOrPage == 0x2);
static_assert(mem_attr(kMemAttrNormalWb) == 0x3C && mem_attr(kMemAttrDeviceNgnre) == 0x04);
static_assert(kS2apRead == 0x40 && kS2apWrite == 0x80 && kS2apMask == 0xC0);
static_assert(kShInner == 0x300 && kAf == 0x400 && kXn == 0x0040'0000'0000'0000ull);

inline constexpr unsigned kFirstLevel = 1;
inline constexpr unsigned kLastLevel = 3;
inline constexpr unsigned kRootEntries = 1024;  // two concatenated level-1 tables
inline constexpr u64 kRootSize = kRootEntries * 8;
inline constexpr unsigned kTableEntries = 512;

constexpr unsigned level_shift(unsigned level) { return 39 - 9 * level; }  // 30, 21, 12
constexpr u64 level_size(unsigned level) { return 1ull << level_shift(level); }
constexpr unsigned entry_count(unsigned level) {
    return level == kFirstLevel ? kRootEntries : kTableEntries;
}
constexpr unsigned entry_index(unsigned level, u64 ipa) {
    return static_cast<unsigned>((ipa >> level_shift(level)) & (entry_count(level) - 1));
}
static_assert(level_size(1) == 1ull << 30 && level_size(2) == 2ull << 20 && level_size(3) == 4096);
// What a Partition object's table pool pays for (bulkhead/objects.hpp): the root, and one page
// per level-2 table (1 GiB) and per level-3 table (2 MiB).
static_assert(kRootSize == caps::kStage2RootBytes && level_size(1) == 1ull << caps::kStage2Level2SpanBits &&
              level_size(2) == 1ull << caps::kStage2Level3SpanBits);
static_assert(entry_index(1, (1ull << 40) - 1) == 1023 && entry_index(3, 0x1FF000) == 511);

// MapAttributes are the only vocabulary callers use; these two functions are the whole
// translation between it and the hardware bits, and they are exact inverses on encodable input.
constexpr u64 encode_leaf_attrs(MapAttributes a) {
    u64 bits = kAf;
    if (a.readable()) bits |= kS2apRead;
    if (a.writable()) bits |= kS2apWrite;
    if (!a.executable()) bits |= kXn;
    // Device memory is always Outer Shareable whatever SH says, so SH is left 0 for it.
    bits |= a.device() ? mem_attr(kMemAttrDeviceNgnre) : mem_attr(kMemAttrNormalWb) | kShInner;
    return bits;
}

constexpr MapAttributes decode_leaf_attrs(u64 descriptor) {
    using namespace manifest::attr;
    u64 attrs = 0;
    if (descriptor & kS2apRead) attrs |= kRead;
    if (descriptor & kS2apWrite) attrs |= kWrite;
    if (!(descriptor & kXn)) attrs |= kExecute;
    if ((descriptor & kMemAttrMask) == mem_attr(kMemAttrDeviceNgnre)) attrs |= kDevice;
    return MapAttributes::from_bits(attrs);
}

// Level 1 and 2: block descriptor (bits[1:0] = 01); level 3: page descriptor (bits[1:0] = 11).
constexpr u64 make_leaf(unsigned level, u64 pa, MapAttributes attrs) {
    return (pa & kAddressMask) | encode_leaf_attrs(attrs) | kValid |
           (level == kLastLevel ? kTableOrPage : 0);
}
constexpr u64 make_table(u64 table_pa) { return (table_pa & kAddressMask) | kTableOrPage | kValid; }

constexpr bool is_table(unsigned level, u64 d) { return level < kLastLevel && (d & 3) == 3; }
constexpr bool is_leaf(unsigned level, u64 d) {
    return level < kLastLevel ? (d & 3) == 1 : (d & 3) == 3;  // level-3 01 is reserved: invalid
}
constexpr u64 leaf_output(unsigned level, u64 d) {
    return d & kAddressMask & ~(level_size(level) - 1);
}

// Encodings checked against the Arm ARM field by field (normal RW, RX; device RW; table).
constexpr MapAttributes attrs_of(u64 abi_bits) { return MapAttributes::from_bits(abi_bits); }
static_assert(make_leaf(3, 0x4000'0000, attrs_of(manifest::attr::kRead | manifest::attr::kWrite)) ==
              0x0040'0000'4000'07FFull);
static_assert(make_leaf(2, 0x4020'0000, attrs_of(manifest::attr::kRead | manifest::attr::kExecute)) ==
              0x0000'0000'4020'077Dull);
static_assert(make_leaf(1, 0x8000'0000,
                        attrs_of(manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kDevice)) ==
              0x0040'0000'8000'04C5ull);
static_assert(make_table(0x4100'3000) == 0x4100'3003ull);

constexpr bool attrs_round_trip() {
    for (u64 a = 0; a <= manifest::attr::kAll; ++a)
        if (attrs_of(a).encodable() && decode_leaf_attrs(make_leaf(3, 0, attrs_of(a))) != attrs_of(a)) return false;
    return true;
}
static_assert(attrs_round_trip());

}  // namespace stage2

}  // namespace bh
