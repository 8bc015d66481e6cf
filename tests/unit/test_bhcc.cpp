// bhcc, the configuration compiler: every malformed description in tests/config/bad is refused
// with its own message, the shipped descriptions are accepted, and the packed manifest and boot
// image have exactly the layout the kernel expects. Guest and kernel ELFs are synthesized here,
// so these tests do not depend on the aarch64 cross build.
#include <catch2/catch_test_macros.hpp>

#include "bhcc_workspace.hpp"

#include <bhcc/cap_layout.hpp>
#include <bhcc/compiler.hpp>
#include <bhcc/description_parser.hpp>
#include <bhcc/device_tree_source.hpp>
#include <bhcc/fdt_structure.hpp>
#include <bhcc/hex.hpp>
#include <bhcc/manifest_builder.hpp>
#include <bhcc/manifest_check.hpp>
#include <bhcc/manifest_dump.hpp>
#include <bhcc/system_validator.hpp>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <caps/capability.hpp>
#include <caps/rights.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace bhcc_test;
namespace manifest = bh::manifest;
namespace platform = bh::platform;
using manifest::ManifestHeader;
using manifest::ManifestOp;
using manifest::OpKind;

// ---------------------------------------------------------------- manifest decoding (independent)

u32 reference_crc32(const u8* data, std::size_t size) {
    u32 crc = 0xffff'ffff;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb8'8320u & (0u - (crc & 1)));
    }
    return ~crc;
}

ManifestHeader header_of(const std::vector<u8>& bytes) {
    ManifestHeader header{};
    std::memcpy(&header, bytes.data(), sizeof header);
    return header;
}

std::vector<ManifestOp> ops_of(const std::vector<u8>& bytes) {
    const ManifestHeader header = header_of(bytes);
    std::vector<ManifestOp> ops(header.op_count);
    std::memcpy(ops.data(), bytes.data() + header.ops_offset, header.op_count * sizeof(ManifestOp));
    return ops;
}

bool payload_filled(const std::vector<u8>& payload, u64 offset, u64 size, u8 fill) {
    if (offset + size > payload.size()) return false;
    for (u64 i = 0; i < size; ++i) {
        if (payload[offset + i] != fill) return false;
    }
    return true;
}

constexpr u64 kRwx = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute;
constexpr u64 kRw = manifest::attr::kRead | manifest::attr::kWrite;
constexpr u64 kR = bh::Rights::kRead, kW = bh::Rights::kWrite, kX = bh::Rights::kExecute, kG = bh::Rights::kGrant;
constexpr u64 k2M = 2ull << 20;
constexpr u64 kType(bh::ObjectType t) { return static_cast<u64>(t); }

// An independent model of what the program builds: every boot slot's object (carved from its
// untyped at the watermark, each object aligned to its size, as retype does), every
// partition's CSpace (index -> cap) and its boot mappings. Only what bhcc emits is modelled.
struct Cap {
    u64 type = 0;
    u64 pa = 0;     // memory objects from a program-made untyped; 0 for the kernel's untyped
    unsigned bits = 0;
    bool device = false;
    u64 rights = 0;  // in a CSpace: the granted mask
    std::optional<u64> mapped_ipa;  // in the boot CNode: where MapFrame put it
    u32 boot_slot = 0;
    u64 badge = 0;  // in a CSpace: GrantCap's badge
};
struct Model {
    std::map<u64, Cap> boot;                          // boot slot -> cap
    std::map<u64, std::map<u64, Cap>> cspace;         // partition slot -> index -> cap
    std::map<std::string, u64> partition_slot;        // name -> partition slot
    std::map<u64, u64> watermark;                     // untyped slot -> offset
    std::set<std::tuple<u64, u64, u64>> declared;     // DeclareFlow (source slot, destination slot, kind)
    u64 duplicate_declarations = 0;

    std::map<u64, Cap>& of(const std::string& name) { return cspace[partition_slot.at(name)]; }
};

Model run_model(const std::vector<ManifestOp>& ops) {
    Model m;
    for (const ManifestOp& op : ops) {
        switch (op.kind) {
            case OpKind::CreateUntyped:
                REQUIRE(m.boot.count(op.slot) == 0);
                m.boot[op.slot] = Cap{kType(bh::ObjectType::Untyped), op.arg[0], static_cast<unsigned>(op.arg[1]),
                                      op.arg[2] == manifest::kUntypedDevice, 0, std::nullopt, op.slot};
                break;
            case OpKind::Retype: {
                const bool kernel = op.slot == manifest::kKernelUntypedSlot;
                Cap untyped;
                untyped.type = kType(bh::ObjectType::Untyped);
                if (!kernel) untyped = m.boot.at(op.slot);
                REQUIRE(untyped.type == kType(bh::ObjectType::Untyped));
                const unsigned bits = bh::caps::object_bits(static_cast<bh::ObjectType>(op.arg[0]),
                                                            static_cast<unsigned>(op.arg[1]));
                for (u64 i = 0; i < op.arg[3]; ++i) {
                    const u64 slot = op.arg[2] + i;
                    REQUIRE(m.boot.count(slot) == 0);
                    const u64 offset = bh::align_up(m.watermark[op.slot], 1ull << bits);
                    m.watermark[op.slot] = offset + (1ull << bits);
                    if (!kernel) REQUIRE(m.watermark[op.slot] <= (1ull << untyped.bits));
                    m.boot[slot] = Cap{op.arg[0], kernel ? 0 : untyped.pa + offset, static_cast<unsigned>(op.arg[1]),
                                       untyped.device, 0, std::nullopt, static_cast<u32>(slot)};
                }
                break;
            }
            case OpKind::CreatePartition:
                REQUIRE(m.boot.at(op.slot).type == kType(bh::ObjectType::Partition));
                REQUIRE(m.boot.at(op.arg[0]).type == kType(bh::ObjectType::CNode));
                m.partition_slot[op.name] = op.slot;
                m.cspace[op.slot];
                break;
            case OpKind::MapFrame: {
                Cap& frame = m.boot.at(op.slot);
                REQUIRE_FALSE(frame.mapped_ipa.has_value());
                frame.mapped_ipa = op.arg[1];
                break;
            }
            case OpKind::GrantCap: {
                REQUIRE(m.cspace.count(op.arg[0]) == 1);
                REQUIRE(m.cspace[op.arg[0]].count(op.arg[1]) == 0);
                Cap granted = m.boot.at(op.slot);
                granted.rights = op.arg[2];
                granted.badge = op.arg[3];
                m.cspace[op.arg[0]][op.arg[1]] = granted;
                break;
            }
            case OpKind::CreateIrqHandler:  // `pa` holds the INTID
                REQUIRE(m.boot.count(op.slot) == 0);
                m.boot[op.slot] = Cap{kType(bh::ObjectType::IrqHandler), op.arg[0], 0, false, 0, std::nullopt, op.slot};
                break;
            case OpKind::AssignPciFunction:  // its DmaStream cap; `pa` holds the stream (requester ID)
                REQUIRE(m.cspace.count(op.arg[0]) == 1);
                REQUIRE(m.boot.count(op.slot) == 0);
                m.boot[op.slot] = Cap{kType(bh::ObjectType::DmaStream), op.arg[1], 0, false, 0, std::nullopt, op.slot};
                break;
            case OpKind::CreateAuditLog:
                REQUIRE(m.boot.count(op.slot) == 0);
                m.boot[op.slot] = Cap{kType(bh::ObjectType::AuditLog), 0, 0, false, 0, std::nullopt, op.slot};
                break;
            case OpKind::DeclareFlow:
                REQUIRE(m.cspace.count(op.arg[0]) == 1);
                REQUIRE(m.cspace.count(op.arg[1]) == 1);
                if (!m.declared.emplace(op.arg[0], op.arg[1], op.arg[2]).second) ++m.duplicate_declarations;
                break;
            default: break;
        }
    }
    // Mappings are read from the boot CNode at the end (a frame is mapped before or after its grant).
    for (auto& [partition, caps] : m.cspace) {
        for (auto& [index, cap] : caps) cap.mapped_ipa = m.boot.at(cap.boot_slot).mapped_ipa;
    }
    return m;
}

// The flows the CSpaces allow, computed the way the kernel does (invariant 6): Memory A -> B iff
// A holds a Channel cap with Write and B one with Read to the same object; Signal likewise for
// Notification caps; A != B. Same object = same boot slot (each object is made once).
std::set<std::tuple<u64, u64, u64>> capability_flows(const Model& m) {
    std::set<std::tuple<u64, u64, u64>> flows;
    for (const auto& [a, a_caps] : m.cspace) {
        for (const auto& [ai, from] : a_caps) {
            const bool channel = from.type == kType(bh::ObjectType::Channel);
            if ((!channel && from.type != kType(bh::ObjectType::Notification)) || !(from.rights & bh::Rights::kWrite))
                continue;
            for (const auto& [b, b_caps] : m.cspace) {
                if (b == a) continue;
                for (const auto& [bi, to] : b_caps) {
                    if (to.boot_slot == from.boot_slot && (to.rights & bh::Rights::kRead)) {
                        flows.emplace(a, b, static_cast<u64>(channel ? manifest::FlowKind::Memory : manifest::FlowKind::Signal));
                    }
                }
            }
        }
    }
    // Audit: the holder of an AuditLog cap with Read reads what every other partition causes.
    for (const auto& [b, b_caps] : m.cspace)
        for (const auto& [bi, cap] : b_caps)
            if (cap.type == kType(bh::ObjectType::AuditLog) && (cap.rights & bh::Rights::kRead))
                for (const auto& [a, a_caps] : m.cspace)
                    if (a != b) flows.emplace(a, b, static_cast<u64>(manifest::FlowKind::Audit));
    return flows;
}

// Expected op, compared field by field (LoadImage's payload offset is checked separately).
struct Expect {
    OpKind kind;
    u32 slot;
    std::array<u64, 4> arg;
    const char* name = "";
};

void check_program(const std::vector<ManifestOp>& ops, const std::vector<Expect>& expected) {
    REQUIRE(ops.size() == expected.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        INFO("op " << i);
        CHECK(static_cast<u32>(ops[i].kind) == static_cast<u32>(expected[i].kind));
        CHECK(ops[i].slot == expected[i].slot);
        for (int a = 0; a < 4; ++a) {
            if (ops[i].kind == OpKind::LoadImage && a == 2) continue;
            INFO("arg " << a);
            CHECK(ops[i].arg[a] == expected[i].arg[a]);
        }
        CHECK(std::string(ops[i].name) == expected[i].name);
    }
}

}  // namespace

// ---------------------------------------------------------------- malformed descriptions

TEST_CASE("bhcc refuses each malformed description with its own message", "[bhcc][INV-1][INV-3][INV-6][T-2][T-6][T-7][T-26][T-30][T-32][T-38][T-44][T-59][T-67][T-71][T-74][T-81][T-89][T-92]") {
    struct Case {
        const char* file;
        const char* message;  // "<node path>: <rule>", matched as a substring
    };
    const Case cases[] = {
        {"root-compatible-wrong", "/: compatible must be \"bulkhead,system-v1\""},
        {"root-compatible-missing", "/: compatible must be \"bulkhead,system-v1\""},
        {"no-partitions-node", "/: missing /partitions node"},
        {"no-partition", "/partitions: no partitions defined"},
        {"too-many-partitions", "/partitions: too many partitions (17, at most 16)"},
        {"partition-compatible", "/partitions/alpha: compatible must be \"bulkhead,partition\""},
        {"name-too-long", "/partitions/a-partition-name-too-long: partition name is longer than 23 characters"},
        {"name-invalid", "/partitions/Alpha: partition name may contain only a-z, 0-9, '_' and '-'"},
        {"name-reserved", "/partitions/bulkhead: partition name 'bulkhead' is reserved for the kernel"},
        {"cpus-missing", "/partitions/alpha: missing cpus"},
        {"cpus-empty", "/partitions/alpha: cpus is empty"},
        {"cpus-too-many", "/partitions/alpha: cpus lists 5 cores, at most 4"},
        {"core-out-of-range", "/partitions/alpha: core 4 is out of range (0..3)"},
        {"core-duplicate", "/partitions/alpha: core 1 is listed twice"},
        {"core-shared", "/partitions/beta: core 1 is already assigned to /partitions/alpha"},
        {"region-missing-size", "/partitions/alpha/ram: missing size"},
        {"region-misaligned", "/partitions/alpha/ram: phys 0x48000800 is not 4 KiB aligned"},
        {"region-zero-size", "/partitions/alpha/ram: size is zero"},
        {"region-wraps", "/partitions/alpha/ram: range wraps around the 64-bit address space"},
        {"region-outside-ram",
         "/partitions/alpha/ram: physical range [0xc0000000, 0xc1000000) is outside RAM [0x40000000, 0xc0000000)"},
        {"region-over-kernel",
         "/partitions/alpha/ram: physical range [0x43000000, 0x44000000) overlaps the kernel region "
         "[0x40000000, 0x48000000)"},
        {"physical-overlap", "/partitions/beta/ram: physical memory overlaps /partitions/alpha/ram"},
        {"physical-overlap-same-partition", "/partitions/alpha/data: physical memory overlaps /partitions/alpha/ram"},
        {"ipa-overlap", "/partitions/alpha/data: IPA range overlaps /partitions/alpha/ram"},
        {"ipa-beyond-40-bits",
         "/partitions/alpha/data: IPA range [0xfffff00000, 0x10000100000) exceeds the 40-bit IPA space"},
        {"bad-access", "/partitions/alpha/ram: access \"rwz\" must use only r, w and x, each once, and include r or w"},
        {"execute-only-access",
         "/partitions/alpha/ram: access \"x\" must use only r, w and x, each once, and include r or w"},
        {"no-memory", "/partitions/alpha: partition has no memory region"},
        {"too-many-mappings", "/partitions/alpha: partition maps 65 frames and device pages at boot, at most 64"},
        {"unmapped-with-ipa", "/partitions/alpha/spare: an unmapped region must not have an ipa"},
        {"unmapped-with-value", "/partitions/alpha/spare: unmapped is a boolean property and takes no value"},
        {"image-in-unmapped",
         "/partitions/alpha: image \"heartbeat.elf\": PT_LOAD [0x40000000, 0x40002000) is not inside one memory "
         "region of the partition"},
        {"too-many-capabilities", "/partitions/alpha: partition needs more than 255 capabilities"},
        {"device-too-many-pages",
         "/partitions/alpha: partition maps 872 frames and device pages at boot, at most 64"},
        {"unknown-device", "/partitions/alpha: unknown device \"uart7\""},
        {"reserved-device", "/partitions/alpha: device \"gic\" is reserved for the kernel"},
        {"device-shared", "/partitions/beta: device \"rtc\" is already assigned to /partitions/alpha"},
        {"device-over-memory",
         "/partitions/alpha: device \"rtc\" at [0x9010000, 0x9011000) overlaps the IPA range of /partitions/alpha/ram"},
        {"bad-restart", "/partitions/alpha: restart must be \"stop\" or \"restart\""},
        {"bad-faults", "/partitions/alpha: faults must be \"stop\" or \"inject\""},
        {"controls-not-strings", "/partitions/alpha: controls must be a list of partition names"},
        {"controls-unknown", "/partitions/alpha: unknown partition \"gamma\" in controls"},
        {"controls-duplicate", "/partitions/alpha: partition \"beta\" is listed twice in controls"},
        {"controls-cycle", "/partitions/alpha: partitions control each other in a cycle: alpha -> beta -> alpha"},
        {"controls-cycle-long",
         "/partitions/alpha: partitions control each other in a cycle: alpha -> beta -> gamma -> alpha"},
        {"image-property-missing", "/partitions/alpha: missing image (a bare-metal ELF) or kernel (a Linux Image)"},
        {"image-not-found", "/partitions/alpha: image \"nonexistent.elf\" not found in "},
        {"image-not-aarch64",
         "/partitions/alpha: image \"x86.elf\" is not an AArch64 ELF64 executable: e_machine is 62, expected 183 "
         "(AArch64)"},
        {"image-oversized",
         "/partitions/alpha: image \"oversized.elf\": PT_LOAD [0x40000000, 0x42000000) is not inside one memory "
         "region of the partition"},
        {"image-code-not-executable",
         "/partitions/alpha: image \"heartbeat.elf\": executable PT_LOAD [0x40000000, 0x40002000) lies in "
         "/partitions/alpha/ram, which lacks x access"},
        {"image-too-many-segments",
         "/partitions/alpha: image \"many-segments.elf\" has 9 PT_LOAD segments with file data, at most 8"},
        {"entry-not-executable",
         "/partitions/alpha: image \"stray-entry.elf\": entry point 0x41000000 is not in an executable memory "
         "region of the partition"},
        {"channel-compatible", "/channels/ch0: unexpected node: children of /channels must have compatible = \"bulkhead,channel\""},
        {"channel-missing-phys", "/channels/ch0: missing phys"},
        {"channel-writers-not-strings", "/channels/ch0: writers must be a list of partition names"},
        {"channel-size-not-power-of-two", "/channels/ch0: size 0x3000 must be a power of two from 4 KiB to 2 MiB"},
        {"channel-too-large", "/channels/ch0: size 0x400000 must be a power of two from 4 KiB to 2 MiB"},
        {"channel-misaligned", "/channels/ch0: phys 0x4a001000 is not aligned to the channel size 0x2000"},
        {"channel-outside-ram", "/channels/ch0: physical range [0xc0000000, 0xc0001000) is outside RAM [0x40000000, 0xc0000000)"},
        {"channel-over-kernel", "/channels/ch0: physical range [0x43000000, 0x43001000) overlaps the kernel region [0x40000000, 0x48000000)"},
        {"channel-over-region", "/channels/ch0: physical memory overlaps /partitions/beta/ram"},
        {"channel-overlap", "/channels/ch1: physical memory overlaps /channels/ch0"},
        {"channel-unknown-partition", "/channels/ch0: unknown partition \"gamma\" in readers"},
        {"channel-duplicate-writer", "/channels/ch0: partition \"alpha\" is listed twice in writers"},
        {"channel-no-writers", "/channels/ch0: channel has no writers"},
        {"channel-one-partition", "/channels/ch0: channel must connect at least two partitions"},
        {"notification-compatible", "/notifications/n0: unexpected node: children of /notifications must have compatible = \"bulkhead,notification\""},
        {"notification-unknown-partition", "/notifications/n0: unknown partition \"gamma\" in signallers"},
        {"notification-no-signallers", "/notifications/n0: notification has no signallers (and its waiter has no interrupts)"},
        {"notification-two-waiters", "/notifications/n0: waiters must name exactly one partition (2 named)"},
        {"notification-no-waiter", "/notifications/n0: waiters must name exactly one partition (0 named)"},
        {"notification-self", "/notifications/n0: partition \"beta\" is both a signaller and the waiter"},
        {"interrupt-not-assignable", "/partitions/alpha: interrupt 33 is not assignable to partitions (assignable: 34 rtc, 35-38 pcie-intx, 39 gpio)"},
        {"interrupt-twice", "/partitions/alpha: interrupt 34 is listed twice"},
        {"interrupt-two-partitions", "/partitions/beta: interrupt 39 is already given to /partitions/alpha"},
        {"interrupts-not-cells", "/partitions/alpha: interrupts must be a list of interrupt numbers (INTIDs)"},
        {"pci-compatible", "/pci/edu: unexpected node: children of /pci must have compatible = \"bulkhead,pci-function\""},
        {"pci-unknown-partition", "/pci/edu: unknown partition \"gamma\" in partition"},
        {"pci-host-bridge", "/pci/edu: device 0 is the PCIe host bridge"},
        {"pci-device-out-of-range", "/pci/edu: device must be one number from 0 to 31"},
        {"pci-id-malformed", "/pci/edu: id must be <vendor device>, each a 16-bit number (vendor not 0xffff)"},
        {"pci-bars-malformed", "/pci/edu: bars must be pairs <index size>"},
        {"pci-bar-index", "/pci/edu: bar 6: a function has BARs 0 to 5"},
        {"pci-bar-twice", "/pci/edu: bar 0 is listed twice"},
        {"pci-bar-size", "/pci/edu: bar 0: size 0x3000 must be a power of two from 16 bytes to 1 GiB"},
        {"pci-function-twice", "/pci/edu2: function 00:03.0 is already given by /pci/edu"},
        {"pci-bars-too-large",
         "/pci: the BARs do not fit the 32-bit PCIe MMIO window [0x10000000, 0x3eff0000) (each takes a naturally "
         "aligned slot of at least 2 MiB)"},
        {"pci-mmio-device", "/partitions/other: device \"pcie-mmio\" cannot be given: /pci places BARs in it"},
        {"pci-config-window-over-ram",
         "/pci/edu: the PCIe configuration window [0x4010000000, 0x4010100000) overlaps the IPA range of "
         "/partitions/driver/ram"},
        {"pci-bar-over-ram",
         "/pci/edu: bar 0 at [0x10000000, 0x10200000) overlaps the IPA range of /partitions/driver/ram"},
        {"pci-intx-other",
         "/partitions/other: interrupt 38 is the INTx line of 00:03.0 (/pci/edu), which belongs to \"driver\""},
        {"pci-disk-without-device", "/pci/edu: qemu-disk needs a qemu-device to attach it to"},
        {"pci-virtio-without-iommu",
         "/pci/disk: a virtio qemu-device needs iommu_platform=on: without it its DMA bypasses the SMMU"},
        {"pci-too-many-functions", "/pci: too many PCIe functions (33, at most 32)"},
        {"virtual-gic-with-value", "/partitions/alpha: virtual-gic is a boolean property and takes no value"},
        {"console-input-without-uart",
         "/partitions/alpha: console-input needs virtual-uart (the input arrives at its UART)"},
        {"console-input-twice", "/partitions/beta: console-input is already given to /partitions/alpha"},
        {"emulated-window-overlap",
         "/partitions/alpha/gic: IPA range [0x80a0000, 0x80b0000) overlaps the emulated GIC redistributors "
         "[0x80a0000, 0x80c0000)"},
        {"audit-with-value", "/partitions/alpha: audit takes no value (write `audit;`)"},
        // Rules found by comparing bhcc with the kernel (test_bhcc_kernel_refusals.cpp).
        {"ram-not-the-machines", "/memory@40000000: RAM must start at 0x40000000 and end by 0xc0000000 (the machine's RAM)"},
        {"too-many-stage2-tables",
         "/partitions/alpha: the boot mappings need 15 stage-2 table pages, the partition object holds 12"},
        {"entry-misaligned", "/partitions/alpha: image \"odd-entry.elf\": entry point 0x40000002 is not 4-byte aligned"},
    };
    Workspace workspace;
    for (const Case& c : cases) {
        const fs::path path = kBadDir / (std::string(c.file) + ".dts");
        INFO(path.string());
        REQUIRE(fs::exists(path));
        const bhcc::CompileResult result = workspace.compile(path);
        INFO(result.errors);
        CHECK(result.status == bhcc::ExitStatus::Invalid);
        CHECK(result.errors.find(path.string() + ": " + c.message) != std::string::npos);
        CHECK(result.diagnostics.count() == 1);  // exactly one rule broken, exactly one message
        CHECK(result.boot_image.empty());
    }
}

TEST_CASE("bhcc refuses two partitions of one name in a .dtb (fuzz finding KNOWN-1)", "[bhcc][T-32]") {
    // dtc refuses this in source; a .dtb given directly can hold it.
    std::ifstream in(kSourceDir / "fuzz/regressions/bhcc/duplicate-partition-name.dtb", std::ios::binary);
    REQUIRE(in);
    std::vector<u8> blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bhcc::Diagnostics diagnostics;
    std::optional<bhcc::SystemDescription> system = bhcc::parse_description(blob, diagnostics);
    if (system) bhcc::validate_system(*system, diagnostics);
    REQUIRE_FALSE(diagnostics.empty());
    CHECK(diagnostics.format("x.dtb").find("partition name already used by /partitions/") != std::string::npos);
}

std::vector<u8> read_blob(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The parser's findings on a blob: its diagnostics, formatted, whether it got past the parser.
std::string parse_findings(const std::vector<u8>& blob) {
    bhcc::Diagnostics diagnostics;
    std::optional<bhcc::SystemDescription> system = bhcc::parse_description(blob, diagnostics);
    if (system) bhcc::validate_system(*system, diagnostics);
    return diagnostics.format("x.dtb");
}

TEST_CASE("bhcc refuses a partition node without a name (fuzz finding, rule P7)", "[bhcc]") {
    // dtc never writes one; a .dtb given directly can. The kernel refuses it at boot ("empty
    // partition name"), so bhcc must refuse it first, at the node.
    CHECK(parse_findings(read_blob(kSourceDir / "fuzz/regressions/bhcc/empty-partition-name-valid-structure.dtb")) ==
          "x.dtb: /partitions/: partition name is empty\n");
    // The campaign's own input also has a damaged structure block after that node, which bhcc
    // now refuses before reading any partition (rule S3).
    CHECK(parse_findings(read_blob(kSourceDir / "fuzz/regressions/bhcc/empty-partition-name.dtb")) ==
          "x.dtb: /partitions//ram: not a valid flattened device tree: unknown tag 0x20000 at structure offset 0x210\n");
}

TEST_CASE("bhcc refuses a damaged structure block up front, in bounded time (fuzz finding: hang, rule S3)", "[bhcc]") {
    // A property of length 0xfffffff4 sends libfdt's walks backwards for ever; bhcc's own walk
    // reads each tag once and refuses it at once.
    CHECK(parse_findings(read_blob(kSourceDir / "fuzz/regressions/bhcc/hang-negative-property-length.dtb")) ==
          "x.dtb: /: not a valid flattened device tree: property value runs past the structure block at "
          "structure offset 0x38\n");

    // Each kind of damage, made in a sound blob at a known place.
    Workspace workspace;
    const fs::path dtb = workspace.file("demo.dtb");
    REQUIRE(std::system(("dtc -q -I dts -O dtb -o '" + dtb.string() + "' '" +
                         (kSourceDir / "config/demo.dts").string() + "'").c_str()) == 0);
    const std::vector<u8> good = read_blob(dtb);
    REQUIRE(bhcc::check_fdt_structure(good).message.empty());
    auto be32 = [](const std::vector<u8>& b, std::size_t at) {
        return u32{b[at]} << 24 | u32{b[at + 1]} << 16 | u32{b[at + 2]} << 8 | u32{b[at + 3]};
    };
    auto put_be32 = [](std::vector<u8>& b, std::size_t at, u32 v) {
        for (int i = 0; i < 4; ++i) b[at + i] = static_cast<u8>(v >> (24 - 8 * i));
    };
    const std::size_t structure = be32(good, 8), structure_size = be32(good, 36);
    // The root node's first property ("compatible"): BEGIN_NODE, "" padded to 4, then PROP.
    const std::size_t prop = structure + 8;
    REQUIRE(be32(good, structure) == 1);
    REQUIRE(be32(good, prop) == 3);
    struct Damage {
        const char* what;
        std::function<void(std::vector<u8>&)> apply;
        const char* message;
    };
    const std::vector<Damage> damages = {
        {"version 3", [&](std::vector<u8>& b) { put_be32(b, 20, 3); }, "device tree version 3, expected 16 or 17"},
        {"negative length", [&](std::vector<u8>& b) { put_be32(b, prop + 4, 0xffff'fff4); },
         "property value runs past the structure block at structure offset 0x8"},
        {"name outside strings", [&](std::vector<u8>& b) { put_be32(b, prop + 8, 0x7fff'0000); },
         "property name outside the strings block at structure offset 0x8"},
        {"unknown tag", [&](std::vector<u8>& b) { put_be32(b, prop, 7); }, "unknown tag 0x7 at structure offset 0x8"},
        {"END_NODE first", [&](std::vector<u8>& b) { put_be32(b, structure, 2); },
         "END_NODE without a node at structure offset 0x0"},
        {"no END", [&](std::vector<u8>& b) { put_be32(b, structure + structure_size - 4, 4); },
         "structure block ends without an END tag"},
        {"END inside the root", [&](std::vector<u8>& b) { put_be32(b, prop, 9); },
         "END before the root node is closed at structure offset 0x8"},
        {"structure past the blob", [&](std::vector<u8>& b) { put_be32(b, 36, 0x10'0000); },
         "structure block outside the blob"},
    };
    for (const Damage& d : damages) {
        INFO(d.what);
        std::vector<u8> blob = good;
        d.apply(blob);
        CHECK(bhcc::check_fdt_structure(blob).message == d.message);
        bhcc::Diagnostics diagnostics;
        CHECK_FALSE(bhcc::parse_description(blob, diagnostics).has_value());
        CHECK(diagnostics.format("x.dtb").find("not a valid flattened device tree") != std::string::npos);
    }
}

TEST_CASE("bhcc refuses a payload larger than the kernel reserves for it", "[bhcc][T-31]") {
    Workspace workspace;
    const u64 too_big = platform::kPayloadMaxSize + 1;
    write_file(workspace.images() / "huge.elf",
               make_elf(kMachineAarch64, kGuestEntry, {{0x4000'0000, too_big, too_big, kFlagsRx, 7}}));
    const fs::path path = kBadDir / "payload-too-large.dts";
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    CHECK(result.status == bhcc::ExitStatus::Invalid);
    CHECK(result.errors.find(path.string() + ": /: the payload (manifest and images) is ") != std::string::npos);
    CHECK(result.errors.find("at most 100663296") != std::string::npos);
}

TEST_CASE("bhcc reports dtc syntax errors with the file name", "[bhcc][T-30]") {
    Workspace workspace;
    const fs::path path = kBadDir / "syntax-error.dts";
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    CHECK(result.status == bhcc::ExitStatus::Invalid);
    CHECK(result.errors.starts_with(path.string() + ": dtc rejected the source:"));
    CHECK(result.errors.find("syntax-error.dts:") != std::string::npos);  // dtc's own file:line
}

TEST_CASE("bhcc treats an unreadable description as an I/O error, not a validation failure", "[bhcc][T-30]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(workspace.file("absent.dts"));
    CHECK(result.status == bhcc::ExitStatus::UsageOrIo);
    CHECK(result.errors.find("absent.dts: cannot read the system description") != std::string::npos);
}

TEST_CASE("bhcc refuses a kernel that loads outside the kernel image window", "[bhcc][T-31]") {
    Workspace workspace;
    write_file(workspace.kernel(), make_elf(kMachineAarch64, 0x4000'0000, {{0x4000'0000, 0x10, 0x10, kFlagsRx, 1}}));
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts");
    CHECK(result.status == bhcc::ExitStatus::Invalid);
    CHECK(result.errors.find(workspace.kernel().string() +
                             ": PT_LOAD [0x40000000, 0x40000010) is outside the kernel image window " +
                             bhcc::hex_range(platform::kKernelImageBase,
                                             platform::kKernelImageLimit - platform::kKernelImageBase)) !=
          std::string::npos);
    CHECK(result.boot_image.empty());
}

// ---------------------------------------------------------------- accepted descriptions

TEST_CASE("demo.dts packs into the expected v6 program", "[bhcc][T-30]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts");
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<u8>& payload = result.manifest.bytes;

    const ManifestHeader header = header_of(payload);
    CHECK(header.magic == manifest::kMagic);
    CHECK(header.version == 6);
    CHECK(header.op_size == sizeof(ManifestOp));
    CHECK(header.ops_offset == sizeof(ManifestHeader));
    CHECK(header.total_size == payload.size());
    CHECK(header.total_size % 8 == 0);
    CHECK(header.ram_base == 0x4000'0000);
    CHECK(header.ram_size == 0x8000'0000);
    CHECK(header.checksum ==
          reference_crc32(payload.data() + manifest::kChecksumStart, payload.size() - manifest::kChecksumStart));

    // Per partition: 12 boot slots (partition, CNode, one 16 MiB untyped, eight 2 MiB frames, a
    // Vcpu).
    using K = OpKind;
    using bh::ObjectType;
    std::vector<Expect> expected;
    const char* names[] = {"alpha", "beta", "attacker"};
    const u64 phys[] = {0x4800'0000, 0x4900'0000, 0x4a00'0000};
    const u64 cores[] = {1, 2, 3};
    const u64 boot_args[] = {12, 12, 0};
    for (u32 p = 0; p < 3; ++p) {
        const u32 b = manifest::kFirstFreeBootSlot + 12 * p;
        expected.push_back({K::Retype, manifest::kKernelUntypedSlot, {kType(ObjectType::Partition), 16, b, 1}});
        expected.push_back({K::Retype, manifest::kKernelUntypedSlot, {kType(ObjectType::CNode), 8, b + 1, 1}});
        expected.push_back({K::CreatePartition, b, {b + 1, u64(manifest::RestartPolicy::Stop), 1, 0}, names[p]});
        expected.push_back({K::GrantCap, b + 1, {b, 1, kR | kW | kG, 0}});
        expected.push_back({K::CreateUntyped, b + 2, {phys[p], 24, 0, 0}});
        expected.push_back({K::Retype, b + 2, {kType(ObjectType::Frame), 21, b + 3, 8}});
        for (u32 f = 0; f < 8; ++f) {
            expected.push_back({K::MapFrame, b + 3 + f, {b, 0x4000'0000 + f * k2M, kRwx, 0}});
            expected.push_back({K::GrantCap, b + 3 + f, {b, 2 + f, kR | kW | kX | kG, 0}});
        }
        if (p < 2) {
            expected.push_back({K::LoadImage, 0, {b, 0x4000'0000, 0, 0x100}});
            expected.push_back({K::LoadImage, 0, {b, 0x4001'0000, 0, 0x40}});
        } else {
            expected.push_back({K::LoadImage, 0, {b, 0x4000'0000, 0, 0x80}});
        }
        expected.push_back({K::Retype, manifest::kKernelUntypedSlot, {kType(ObjectType::Vcpu), 0, b + 11, 1}});
        expected.push_back({K::BindVcpu, b + 11, {b, 0, cores[p], 0}});
        expected.push_back({K::StartVcpu, 0, {b, 0, kGuestEntry, boot_args[p]}});
    }
    expected.push_back({K::Seal, 0, {0, 0, 0, 0}});
    const std::vector<ManifestOp> ops = ops_of(payload);
    check_program(ops, expected);
    CHECK(result.manifest.boot_slots_needed == manifest::kFirstFreeBootSlot + 36);

    // LoadImage: IPA = p_paddr, only p_filesz bytes, 8-aligned, after the op table, bytes intact.
    const u64 images_start = header.ops_offset + header.op_count * sizeof(ManifestOp);
    const ManifestOp& code = ops[22];
    const ManifestOp& data = ops[23];
    REQUIRE(code.kind == OpKind::LoadImage);
    CHECK(code.arg[2] >= images_start);
    CHECK(code.arg[2] % 8 == 0);
    CHECK(payload_filled(payload, code.arg[2], code.arg[3], 0xa1));
    CHECK(payload_filled(payload, data.arg[2], data.arg[3], 0xa2));
    REQUIRE(ops[76].kind == OpKind::LoadImage);
    CHECK(payload_filled(payload, ops[76].arg[2], 0x80, 0xb1));  // attacker's code
}

TEST_CASE("the CSpace layout: own CNode at 1, frames in region order, then device pages", "[bhcc][T-6]") {
    Workspace workspace;
    const fs::path path = workspace.file("devices.dts");
    write_text(path, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        io {
            compatible = "bulkhead,partition";
            cpus = <0 1>;
            image = "attacker.elf";
            boot-arg = <0x12345678 0x9abcdef0>;
            restart = "restart";
            devices = "gpio", "rtc";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x50000000>;
                  size = <0x0 0x200000>; access = "rwx"; };
            shared { compatible = "bulkhead,memory"; ipa = <0x0 0x50000000>; phys = <0x0 0x50200000>;
                     size = <0x0 0x2000>; access = "r"; };
            spare { compatible = "bulkhead,memory"; unmapped; phys = <0x0 0x50400000>;
                    size = <0x0 0x1000>; access = "w"; };
        };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    Model model = run_model(ops);
    const std::map<u64, Cap>& cspace = model.of("io");
    using bh::ObjectType;
    struct Want {
        u64 index;
        ObjectType type;
        u64 pa;
        unsigned bits;
        u64 rights;
        std::optional<u64> ipa;
    };
    const Want want[] = {
        {1, ObjectType::CNode, 0, 8, kR | kW | kG, std::nullopt},
        {2, ObjectType::Frame, 0x5000'0000, 21, kR | kW | kX | kG, 0x4000'0000},
        {3, ObjectType::Frame, 0x5020'0000, 12, kR | kG, 0x5000'0000},
        {4, ObjectType::Frame, 0x5020'1000, 12, kR | kG, 0x5000'1000},
        {5, ObjectType::Frame, 0x5040'0000, 12, kW | kG, std::nullopt},  // unmapped
        {6, ObjectType::DeviceMmio, 0x0903'0000, 12, kR | kW, 0x0903'0000},  // devices order
        {7, ObjectType::DeviceMmio, 0x0901'0000, 12, kR | kW, 0x0901'0000},
    };
    REQUIRE(cspace.size() == std::size(want));
    CHECK(cspace.count(0) == 0);  // index 0 stays empty
    for (const Want& w : want) {
        INFO("index " << w.index);
        REQUIRE(cspace.count(w.index) == 1);
        const Cap& cap = cspace.at(w.index);
        CHECK(cap.type == kType(w.type));
        if (w.type != ObjectType::CNode) CHECK(cap.pa == w.pa);
        CHECK(cap.bits == w.bits);
        CHECK(cap.rights == w.rights);
        CHECK(cap.mapped_ipa == w.ipa);
        CHECK(cap.device == (w.type == ObjectType::DeviceMmio));
    }
    // Device pages: from a device untyped, mapped read/write (the kernel adds the device type).
    for (const ManifestOp& op : ops) {
        if (op.kind == OpKind::CreateUntyped && op.arg[0] < 0x4000'0000) {
            CHECK(op.arg[2] == manifest::kUntypedDevice);
            CHECK(op.arg[1] == 12);
        }
        if (op.kind == OpKind::MapFrame && op.arg[1] >= 0x0900'0000 && op.arg[1] < 0x0a00'0000) CHECK(op.arg[2] == kRw);
        if (op.kind == OpKind::MapFrame) CHECK((op.arg[2] & manifest::attr::kDevice) == 0);
    }
    // Two vcpus bound in order, only vcpu 0 started, x0 = boot-arg, restart policy kept.
    const u64 p = model.partition_slot.at("io");
    std::vector<std::pair<u64, u64>> binds;
    for (const ManifestOp& op : ops) {
        if (op.kind == OpKind::CreatePartition) {
            CHECK(op.arg[1] == static_cast<u64>(manifest::RestartPolicy::Restart));
            CHECK(op.arg[2] == 2);
        }
        if (op.kind == OpKind::BindVcpu) binds.emplace_back(op.arg[1], op.arg[2]);
        if (op.kind == OpKind::StartVcpu) {
            CHECK(op.arg[0] == p);
            CHECK(op.arg[1] == 0);
            CHECK(op.arg[3] == 0x1234'5678'9abc'def0);
        }
    }
    CHECK(binds == std::vector<std::pair<u64, u64>>{{0, 0}, {1, 1}});
}

TEST_CASE("regions are split into naturally aligned power-of-two untyped blocks", "[bhcc][INV-1][T-30]") {
    // 6 MiB at a 128 MiB aligned PA: 4 MiB then 2 MiB.
    auto blocks = bhcc::split_into_blocks(0x4800'0000, 6 * (1ull << 20), 0x4000'0000, true);
    REQUIRE(blocks.size() == 2);
    CHECK((blocks[0].pa == 0x4800'0000 && blocks[0].bits == 22 && blocks[0].frame_bits == 21));
    CHECK((blocks[1].pa == 0x4840'0000 && blocks[1].bits == 21 && blocks[1].frame_bits == 21));
    CHECK(blocks[1].ipa == 0x4040'0000);
    // 6 MiB at a PA that is only 2 MiB aligned: 2 MiB then 4 MiB.
    blocks = bhcc::split_into_blocks(0x4820'0000, 6 * (1ull << 20), 0x4020'0000, true);
    REQUIRE(blocks.size() == 2);
    CHECK((blocks[0].bits == 21 && blocks[1].pa == 0x4840'0000 && blocks[1].bits == 22));
    // IPA not 2 MiB aligned: 4 KiB frames, even in a 2 MiB block; unmapped: the IPA does not matter.
    blocks = bhcc::split_into_blocks(0x4800'0000, 2ull << 20, 0x4000'1000, true);
    REQUIRE(blocks.size() == 1);
    CHECK((blocks[0].bits == 21 && blocks[0].frame_bits == 12 && blocks[0].frame_count() == 512));
    CHECK(bhcc::split_into_blocks(0x4800'0000, 2ull << 20, 0x4000'1000, false)[0].frame_bits == 21);
    // Properties of a ragged range: contiguous, covering, each block aligned to its size and
    // maximal (greedy: doubling it would break alignment or overrun the end).
    const u64 base = 0x4800'3000, size = 0x0123'4000, end = base + size;
    blocks = bhcc::split_into_blocks(base, size, 0x4000'3000, true);
    u64 at = base;
    for (const auto& block : blocks) {
        INFO(bhcc::hex(block.pa));
        CHECK(block.pa == at);
        CHECK(block.bits >= 12);
        CHECK(bh::is_aligned(block.pa, 1ull << block.bits));
        const bool can_double = bh::is_aligned(block.pa, 2ull << block.bits) && block.pa + (2ull << block.bits) <= end;
        CHECK_FALSE(can_double);
        at += 1ull << block.bits;
    }
    CHECK(at == end);
}

TEST_CASE("a 6 MiB region gives a 4 MiB and a 2 MiB untyped, frames mapped in IPA order", "[bhcc][INV-1][T-30]") {
    Workspace workspace;
    const fs::path path = workspace.file("six.dts");
    write_text(path, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        six {
            compatible = "bulkhead,partition";
            cpus = <1>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48000000>;
                  size = <0x0 0x600000>; access = "rwx"; };
        };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path, false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    using K = OpKind;
    using bh::ObjectType;
    // slots: 2 partition, 3 CNode, 4 untyped 4 MiB, 5..6 frames, 7 untyped 2 MiB, 8 frame
    const std::vector<Expect> region = {
        {K::CreateUntyped, 4, {0x4800'0000, 22, 0, 0}},
        {K::Retype, 4, {kType(ObjectType::Frame), 21, 5, 2}},
        {K::CreateUntyped, 7, {0x4840'0000, 21, 0, 0}},
        {K::Retype, 7, {kType(ObjectType::Frame), 21, 8, 1}},
        {K::MapFrame, 5, {2, 0x4000'0000, kRwx, 0}},
        {K::GrantCap, 5, {2, 2, kR | kW | kX | kG, 0}},
        {K::MapFrame, 6, {2, 0x4020'0000, kRwx, 0}},
        {K::GrantCap, 6, {2, 3, kR | kW | kX | kG, 0}},
        {K::MapFrame, 8, {2, 0x4040'0000, kRwx, 0}},
        {K::GrantCap, 8, {2, 4, kR | kW | kX | kG, 0}},
    };
    check_program(std::vector<ManifestOp>(ops.begin() + 4, ops.begin() + 14), region);
    const Model model = run_model(ops);
    CHECK(model.boot.at(8).pa == 0x4840'0000);
}

TEST_CASE("4 KiB frames when the IPA is not 2 MiB aligned; retypes of at most 256", "[bhcc][T-30]") {
    // Built directly: 512 mapped frames are more than the kernel's 64 mappings per partition
    // (and than its CSpace takes), so a description like this is refused by the validator.
    bhcc::SystemDescription system;
    bhcc::Partition partition;
    partition.name = "odd";
    partition.cpus = {1};
    bhcc::MemoryRegion region;
    region.ipa = 0x4010'0000;
    region.phys = 0x4800'0000;
    region.size = 2ull << 20;
    region.attrs = kRw;
    partition.regions.push_back(region);
    system.partitions.push_back(partition);
    bhcc::ElfImage image;
    image.entry = 0x4010'0000;
    const bhcc::PackedManifest packed = bhcc::build_manifest(system, {image});
    using K = OpKind;
    using bh::ObjectType;
    const std::vector<Expect> head = {
        {K::CreateUntyped, 4, {0x4800'0000, 21, 0, 0}},
        {K::Retype, 4, {kType(ObjectType::Frame), 12, 5, 256}},
        {K::Retype, 4, {kType(ObjectType::Frame), 12, 261, 256}},  // the watermark carries on
        {K::MapFrame, 5, {2, 0x4010'0000, kRw, 0}},
        {K::GrantCap, 5, {2, 2, kR | kW | kG, 0}},
    };
    check_program(std::vector<ManifestOp>(packed.ops.begin() + 4, packed.ops.begin() + 9), head);
    const Model model = run_model(packed.ops);
    CHECK(model.boot.at(260).pa == 0x480f'f000);
    CHECK(model.boot.at(261).pa == 0x4810'0000);
    CHECK(model.boot.at(516).pa == 0x481f'f000);
    CHECK(model.boot.at(516).mapped_ipa == 0x4020'0000 - 0x1000 + 0x0010'0000);
    CHECK(packed.boot_slots_needed == 518);  // and its Vcpu
}

TEST_CASE("caps.dts: capuser's CSpace matches the indices its guest uses", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/tests/caps.dts", false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    Model model = run_model(ops);
    // The table at the top of config/tests/caps.dts.
    const std::map<u64, Cap>& c = model.of("capuser");
    REQUIRE(c.size() == 4);
    CHECK((c.at(1).type == kType(bh::ObjectType::CNode) && c.at(1).rights == (kR | kW | kG)));
    CHECK((c.at(2).type == kType(bh::ObjectType::Frame) && c.at(2).pa == 0x4800'0000 && c.at(2).bits == 21));
    CHECK((c.at(2).rights == (kR | kW | kX | kG) && c.at(2).mapped_ipa == 0x4000'0000));
    CHECK((c.at(3).pa == 0x4820'0000 && c.at(3).bits == 21 && c.at(3).mapped_ipa == 0x4020'0000));
    CHECK((c.at(4).type == kType(bh::ObjectType::Frame) && c.at(4).pa == 0x4840'0000 && c.at(4).bits == 12));
    CHECK(c.at(4).rights == (kR | kW | kG));
    CHECK_FALSE(c.at(4).mapped_ipa.has_value());  // unmapped: granted, never mapped
    for (const ManifestOp& op : ops) {
        if (op.kind == OpKind::MapFrame) CHECK(op.slot != c.at(4).boot_slot);
        if (op.kind == OpKind::BindVcpu) CHECK(op.arg[2] == (op.arg[0] == model.partition_slot.at("capuser") ? 1u : 2u));
        if (op.kind == OpKind::StartVcpu && op.arg[0] == model.partition_slot.at("bystander")) CHECK(op.arg[3] == 6);
    }
    const std::map<u64, Cap>& b = model.of("bystander");
    CHECK(b.size() == 3);
    CHECK(b.at(2).pa == 0x4880'0000);
}

TEST_CASE("controls: Control-only Partition caps after every partition, at the next free index", "[bhcc][T-58]") {
    Workspace workspace;
    const fs::path path = workspace.file("controls.dts");
    // `first` controls a later partition, then another, then itself; `third` controls `second`.
    write_text(path, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        first {
            compatible = "bulkhead,partition";
            cpus = <0>;
            image = "heartbeat.elf";
            devices = "rtc";
            controls = "third", "second", "first";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48000000>;
                  size = <0x0 0x1000000>; access = "rwx"; };
        };
        second {
            compatible = "bulkhead,partition";
            cpus = <1>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x49000000>;
                  size = <0x0 0x1000000>; access = "rwx"; };
        };
        third {
            compatible = "bulkhead,partition";
            cpus = <2>;
            image = "heartbeat.elf";
            controls = "second";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x4a000000>;
                  size = <0x0 0x400000>; access = "rwx"; };
            spare { compatible = "bulkhead,memory"; unmapped; phys = <0x0 0x4a400000>;
                    size = <0x0 0x1000>; access = "rw"; };
        };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);  // the kernel's reader accepted it too
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    Model model = run_model(ops);
    const u64 first = model.partition_slot.at("first");
    const u64 second = model.partition_slot.at("second");
    const u64 third = model.partition_slot.at("third");
    constexpr u64 kC = bh::Rights::kControl;

    // The last four ops before Seal, after the last partition's StartVcpu, in document and
    // `controls` order: first's after its 8 frames (2..9) and the rtc page (10); third's after
    // its two frames (2, 3) and the unmapped one (4).
    REQUIRE(ops.size() >= 6);
    CHECK(ops.back().kind == OpKind::Seal);
    const std::size_t n = ops.size();
    CHECK(ops[n - 6].kind == OpKind::StartVcpu);
    CHECK(ops[n - 6].arg[0] == third);
    const std::vector<Expect> grants = {
        {OpKind::GrantCap, static_cast<u32>(third), {first, 11, kC, 0}},
        {OpKind::GrantCap, static_cast<u32>(second), {first, 12, kC, 0}},
        {OpKind::GrantCap, static_cast<u32>(first), {first, 13, kC, 0}},
        {OpKind::GrantCap, static_cast<u32>(second), {third, 5, kC, 0}},
        {OpKind::Seal, 0, {0, 0, 0, 0}},
    };
    check_program(std::vector<ManifestOp>(ops.end() - 5, ops.end()), grants);
    // No other op grants a Partition cap.
    for (std::size_t i = 0; i + 5 < n; ++i) {
        if (ops[i].kind == OpKind::GrantCap) CHECK(model.boot.at(ops[i].slot).type != kType(bh::ObjectType::Partition));
    }

    // What the CSpaces hold: Partition caps (rights Control only) right after the memory caps.
    const std::map<u64, Cap>& f = model.of("first");
    REQUIRE(f.size() == 13);
    CHECK(f.at(10).type == kType(bh::ObjectType::DeviceMmio));
    const std::pair<u64, u64> want_first[] = {{11, third}, {12, second}, {13, first}};
    for (auto [index, slot] : want_first) {
        INFO("index " << index);
        CHECK(f.at(index).type == kType(bh::ObjectType::Partition));
        CHECK(f.at(index).boot_slot == slot);
        CHECK(f.at(index).rights == kC);
    }
    const std::map<u64, Cap>& t = model.of("third");
    REQUIRE(t.size() == 5);
    CHECK((t.at(5).type == kType(bh::ObjectType::Partition) && t.at(5).boot_slot == second && t.at(5).rights == kC));
    CHECK(model.of("second").size() == 9);  // controls nothing

    // The layout helper agrees with the program.
    bhcc::Partition controller;
    controller.regions.push_back({"/ram", 0x4000'0000, 0x4a00'0000, 0x40'0000, kRwx, true, true});
    const bhcc::SystemDescription no_ipc;  // no channels or notifications
    CHECK(bhcc::first_control_index(no_ipc, controller) == 4);
    controller.controls = {"a", "b"};
    CHECK(bhcc::first_control_index(no_ipc, controller) == 4);
    CHECK(bhcc::capabilities_needed(no_ipc, controller) == 5);  // CNode, 2 frames, 2 Partition caps

    // The dump names the controlled partition and the index.
    const std::string dump = bhcc::dump_manifest(result.manifest.bytes);
    INFO(dump);
    CHECK(dump.find("GrantCap        slot " + std::to_string(third) + " (Partition \"third\") -> first@" +
                    std::to_string(first) + " cspace[11] rights=C\n") != std::string::npos);
    CHECK(dump.find("GrantCap        slot " + std::to_string(second) + " (Partition \"second\") -> third@" +
                    std::to_string(third) + " cspace[5] rights=C\n") != std::string::npos);
}

namespace {

// The control-graph findings of validate_system for partitions p0, p1, ... with these
// `controls` (other rules' findings, e.g. missing memory, are left out).
std::vector<std::string> control_findings(const std::vector<std::vector<std::string>>& controls) {
    bhcc::SystemDescription system;
    for (std::size_t i = 0; i < controls.size(); ++i) {
        bhcc::Partition partition;
        partition.name = "p" + std::to_string(i);
        partition.node = "/partitions/" + partition.name;
        partition.controls = controls[i];
        system.partitions.push_back(partition);
    }
    bhcc::Diagnostics diagnostics;
    bhcc::validate_system(system, diagnostics);
    std::vector<std::string> findings;
    for (const bhcc::Diagnostic& d : diagnostics.all()) {
        if (d.message.find("control") != std::string::npos) findings.push_back(d.node + ": " + d.message);
    }
    return findings;
}

}  // namespace

TEST_CASE("controls: cycles between different partitions are found, one message per cycle", "[bhcc][INV-7][T-59]") {
    using V = std::vector<std::string>;
    const std::string cycle = ": partitions control each other in a cycle: ";
    // No cycle: itself, a chain, a diamond, a partition controlled by several.
    CHECK(control_findings({{"p0"}}).empty());
    CHECK(control_findings({{"p1"}, {"p2"}, {}}).empty());
    CHECK(control_findings({{"p1", "p2"}, {"p3"}, {"p3"}, {}}).empty());
    CHECK(control_findings({{"p2"}, {"p2", "p1"}, {"p2"}}).empty());
    // Two partitions, either order in the document.
    CHECK(control_findings({{"p1"}, {"p0"}}) == V{"/partitions/p0" + cycle + "p0 -> p1 -> p0"});
    CHECK(control_findings({{}, {"p2"}, {"p1"}}) == V{"/partitions/p1" + cycle + "p1 -> p2 -> p1"});
    // Longer, through partitions later and earlier in the document, self edges ignored.
    CHECK(control_findings({{"p0", "p2"}, {"p0"}, {"p3"}, {"p1"}}) ==
          V{"/partitions/p0" + cycle + "p0 -> p2 -> p3 -> p1 -> p0"});
    // One group with several cycles: one message, the shortest cycle through its first partition.
    CHECK(control_findings({{"p1", "p2"}, {"p2"}, {"p0", "p1"}}) == V{"/partitions/p0" + cycle + "p0 -> p2 -> p0"});
    // Two separate groups: one message each.
    CHECK(control_findings({{"p1"}, {"p0"}, {"p3"}, {"p2"}}) ==
          V{"/partitions/p0" + cycle + "p0 -> p1 -> p0", "/partitions/p2" + cycle + "p2 -> p3 -> p2"});
    // Unknown names and repeats are reported as such, and take no part in the cycle search.
    CHECK(control_findings({{"p1", "nobody", "p1"}, {}}) ==
          V{"/partitions/p0: unknown partition \"nobody\" in controls",
            "/partitions/p0: partition \"p1\" is listed twice in controls"});
}

TEST_CASE("control.dts: the manager holds victim's Partition cap at the index its guest uses", "[bhcc][T-58]") {
    Workspace workspace;
    write_file(workspace.images() / "manager.elf", make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/tests/control.dts", false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    Model model = run_model(ops_of(result.manifest.bytes));
    // The table at the top of config/tests/control.dts (guests/manager: kVictim = 4).
    const std::map<u64, Cap>& m = model.of("manager");
    REQUIRE(m.size() == 4);
    CHECK((m.at(2).type == kType(bh::ObjectType::Frame) && m.at(3).type == kType(bh::ObjectType::Frame)));
    CHECK(m.at(4).type == kType(bh::ObjectType::Partition));
    CHECK(m.at(4).boot_slot == model.partition_slot.at("victim"));
    CHECK(m.at(4).rights == bh::Rights::kControl);
    CHECK(model.of("victim").size() == 3);  // controls nothing
}

TEST_CASE("quad.dts gives each of four partitions its own core", "[bhcc][INV-7][T-30][T-38]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/quad.dts", false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    CHECK(result.boot_image.empty());  // no kernel given: validate and pack only (--check)
    std::vector<u64> cores;
    std::vector<std::string> names;
    for (const ManifestOp& op : ops_of(result.manifest.bytes)) {
        if (op.kind == OpKind::CreatePartition) names.emplace_back(op.name);
        if (op.kind == OpKind::BindVcpu) cores.push_back(op.arg[2]);
        if (op.kind == OpKind::StartVcpu) CHECK(op.arg[3] == 6);
    }
    CHECK(names == std::vector<std::string>{"p0", "p1", "p2", "p3"});
    CHECK(cores == std::vector<u64>{0, 1, 2, 3});
}

TEST_CASE("every shipped description compiles and passes the kernel's reader", "[bhcc][T-28][T-51]") {
    // Every .dts under config/ (found, not listed: a new description is covered when it lands),
    // each partition's image synthesised under the name the description gives it.
    std::vector<fs::path> descriptions;
    for (const auto& entry : fs::recursive_directory_iterator(kSourceDir / "config"))
        if (entry.path().extension() == ".dts") descriptions.push_back(entry.path());
    std::sort(descriptions.begin(), descriptions.end());
    std::set<std::string> names;
    for (const fs::path& path : descriptions) names.insert(path.filename().string());
    for (const char* expected : {"demo.dts", "quad.dts", "caps.dts", "control.dts", "faults.dts", "ipc.dts", "irq.dts",
                                 "restart.dts", "traps.dts", "dma.dts", "dma-attack.dts", "virtio-blk.dts"})
        CHECK(names.count(expected) == 1);

    Workspace workspace;
    for (const fs::path& path : descriptions) {
        INFO(path.string());
        const bhcc::DeviceTreeBlob blob = bhcc::load_device_tree(path);
        REQUIRE(blob.outcome == bhcc::LoadOutcome::Ok);
        bhcc::Diagnostics diagnostics;
        const std::optional<bhcc::SystemDescription> system = bhcc::parse_description(blob.bytes, diagnostics);
        REQUIRE(system.has_value());
        for (const bhcc::Partition& p : system->partitions) {
            if (!fs::exists(workspace.images() / p.image))
                write_file(workspace.images() / p.image, make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
        }
        const bhcc::CompileResult result = workspace.compile(path, false);
        INFO(result.errors);
        CHECK(result.status == bhcc::ExitStatus::Ok);
        CHECK(bhcc::self_check_manifest(result.manifest.bytes).empty());
    }
}

TEST_CASE("more boot slots than the boot CNode holds are refused", "[bhcc]") {
    bhcc::SystemDescription system;
    bhcc::Partition partition;
    partition.name = "big";
    partition.cpus = {1};
    bhcc::MemoryRegion region;  // 20 MiB of 4 KiB frames: 5120 slots
    region.ipa = 0x4000'1000;
    region.phys = 0x4800'0000;
    region.size = 20ull << 20;
    region.attrs = kRw;
    partition.regions.push_back(region);
    system.partitions.push_back(partition);
    const bhcc::PackedManifest packed = bhcc::build_manifest(system, {bhcc::ElfImage{}});
    CHECK(packed.boot_slots_needed > manifest::kBootSlots);
    bhcc::Diagnostics diagnostics;
    bhcc::check_manifest_limits(packed, diagnostics);
    bool found = false;
    for (const auto& d : diagnostics.all()) found |= d.node == "/" && d.message == "system needs more than 4096 boot slots";
    CHECK(found);
}

TEST_CASE("the boot image is an AArch64 ELF with the kernel segments and the payload", "[bhcc][T-31]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts");
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<u8>& elf = result.boot_image;
    REQUIRE(elf.size() > 64);
    auto read = [&](std::size_t offset, auto value) {
        std::memcpy(&value, elf.data() + offset, sizeof value);
        return value;
    };
    CHECK(std::memcmp(elf.data(), "\x7f" "ELF\x02\x01\x01", 7) == 0);
    CHECK(read(16, u16{}) == 2);                // ET_EXEC
    CHECK(read(18, u16{}) == kMachineAarch64);  // EM_AARCH64
    CHECK(read(24, u64{}) == kKernelEntry);
    CHECK(read(60, u16{}) == 0);  // e_shnum: no sections
    const u64 phoff = read(32, u64{});
    const u16 phnum = read(56, u16{});
    REQUIRE(phnum == kKernelSegments.size() + 1);

    for (u16 i = 0; i < phnum; ++i) {
        const std::size_t at = phoff + 56u * i;
        CHECK(read(at, u32{}) == 1);  // PT_LOAD
        const u64 offset = read(at + 8, u64{});
        const u64 vaddr = read(at + 16, u64{});
        const u64 paddr = read(at + 24, u64{});
        const u64 filesz = read(at + 32, u64{});
        const u64 memsz = read(at + 40, u64{});
        const u64 align = read(at + 48, u64{});
        REQUIRE(offset + filesz <= elf.size());
        if (align > 1) CHECK(offset % align == vaddr % align);
        if (i < kKernelSegments.size()) {
            const SyntheticSegment& kernel = kKernelSegments[i];
            CHECK(paddr == kernel.paddr);
            CHECK(filesz == kernel.filesz);
            CHECK(memsz == kernel.memsz);
            CHECK(payload_filled(elf, offset, filesz, kernel.fill));
        } else {
            CHECK(paddr == platform::kPayloadBase);
            CHECK(vaddr == platform::kPayloadBase);
            CHECK(filesz == result.manifest.bytes.size());
            CHECK(memsz == filesz);
            CHECK(std::memcmp(elf.data() + offset, result.manifest.bytes.data(), filesz) == 0);
        }
    }
}

TEST_CASE("a compiled .dtb is accepted as it is", "[bhcc][T-30]") {
    Workspace workspace;
    const fs::path dtb = workspace.file("demo.dtb");
    const std::string command =
        "dtc -q -I dts -O dtb -o '" + dtb.string() + "' '" + (kSourceDir / "config/demo.dts").string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    const bhcc::CompileResult from_blob = workspace.compile(dtb);
    const bhcc::CompileResult from_source = workspace.compile(kSourceDir / "config/demo.dts");
    REQUIRE(from_blob.status == bhcc::ExitStatus::Ok);
    CHECK(from_blob.manifest.bytes == from_source.manifest.bytes);
}

TEST_CASE("the dump lists every op in words", "[bhcc][T-30]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts", false);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::string dump = bhcc::dump_manifest(result.manifest.bytes);
    INFO(dump);
    const char* lines[] = {
        "manifest v6: 81 ops, ",
        "(ok)",
        "   0  Retype          slot 1 (kernel Untyped) -> 1 x Partition size_bits 16 in slots 2\n",
        "   1  Retype          slot 1 (kernel Untyped) -> 1 x CNode radix 8 in slots 3\n",
        "   2  CreatePartition slot 2 name=\"alpha\" cspace=slot 3 restart=stop vcpus=1\n",
        "   3  GrantCap        slot 3 (CNode radix 8) -> alpha@2 cspace[1] rights=RWG\n",
        "   4  CreateUntyped   slot 4 := Untyped [0x48000000, 0x49000000) (16 MiB) ram\n",
        "   5  Retype          slot 4 (Untyped 0x48000000 16 MiB) -> 8 x Frame size_bits 21 in slots 5..12\n",
        "   6  MapFrame        slot 5 (Frame 0x48000000 2 MiB) -> alpha@2 ipa=0x40000000 rwx\n",
        "   9  GrantCap        slot 6 (Frame 0x48200000 2 MiB) -> alpha@2 cspace[3] rights=RWXG\n",
        "  22  LoadImage       alpha@2 ipa=0x40000000 payload+0x",
        "  24  Retype          slot 1 (kernel Untyped) -> 1 x Vcpu size_bits 0 in slots 13\n",
        "  25  BindVcpu        slot 13 (Vcpu 4 KiB) -> alpha@2 vcpu=0 core=1\n",
        "  26  StartVcpu       alpha@2 vcpu=0 entry=0x40000000 x0=0xc\n",
        "  74  MapFrame        slot 36 (Frame 0x4ae00000 2 MiB) -> attacker@26 ipa=0x40e00000 rwx\n",
        "  80  Seal\n",
    };
    for (const char* line : lines) {
        INFO(line);
        CHECK(dump.find(line) != std::string::npos);
    }
}

TEST_CASE("the self-check is the kernel's ManifestReader and refuses a corrupted payload", "[bhcc][T-27]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts", false);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    CHECK(bhcc::self_check_manifest(result.manifest.bytes).empty());
    std::vector<u8> corrupted = result.manifest.bytes;
    corrupted.back() ^= 0x01;  // an image byte: only the checksum can notice
    CHECK(bhcc::self_check_manifest(corrupted) == "refused by ManifestReader: checksum mismatch");
}

// ---------------------------------------------------------------- channels and notifications

TEST_CASE("channels and notifications: objects, grants, badges and exactly the flows they allow", "[bhcc][INV-6][T-51][T-66]") {
    Workspace workspace;
    const fs::path path = workspace.file("ipc.dts");
    // Three partitions; a partition listed as writer and reader (c in ch1) gets one R|W cap;
    // a -> c is allowed by two channels (ch0, ch2) and must be declared once; a controls c, so
    // its control cap comes after its IPC caps.
    write_text(path, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        a {
            compatible = "bulkhead,partition";
            cpus = <0>;
            image = "heartbeat.elf";
            controls = "c";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48000000>;
                  size = <0x0 0x1000000>; access = "rwx"; };
        };
        b {
            compatible = "bulkhead,partition";
            cpus = <1>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x49000000>;
                  size = <0x0 0x400000>; access = "rwx"; };
        };
        c {
            compatible = "bulkhead,partition";
            cpus = <2>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x4a000000>;
                  size = <0x0 0x400000>; access = "rwx"; };
        };
    };
    channels {
        ch0 { compatible = "bulkhead,channel"; phys = <0x0 0x4c000000>; size = <0x0 0x4000>;
              writers = "b", "a"; readers = "c"; };
        ch1 { compatible = "bulkhead,channel"; phys = <0x0 0x4c200000>; size = <0x0 0x200000>;
              writers = "c"; readers = "a", "b", "c"; };
        ch2 { compatible = "bulkhead,channel"; phys = <0x0 0x4c004000>; size = <0x0 0x1000>;
              writers = "a"; readers = "c"; };
    };
    notifications {
        n0 { compatible = "bulkhead,notification"; signallers = "c", "a"; waiters = "b"; };
        n1 { compatible = "bulkhead,notification"; signallers = "b"; waiters = "a"; };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);  // the kernel's reader accepted it too
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    const Model model = run_model(ops);
    const u64 a = model.partition_slot.at("a"), b = model.partition_slot.at("b"), c = model.partition_slot.at("c");
    REQUIRE((a == 2 && b == 14 && c == 20));

    // Everything after the last partition's StartVcpu.
    std::size_t first = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (ops[i].kind == OpKind::StartVcpu) first = i + 1;
    }
    using K = OpKind;
    using bh::ObjectType;
    constexpr u64 kMemory = static_cast<u64>(manifest::FlowKind::Memory);
    constexpr u64 kSignal = static_cast<u64>(manifest::FlowKind::Signal);
    const std::vector<Expect> tail = {
        // ch0: 16 KiB; members in document order: a and b write, c reads.
        {K::CreateUntyped, 26, {0x4c00'0000, 14, 0, 0}},
        {K::Retype, 26, {kType(ObjectType::Channel), 14, 27, 1}},
        {K::GrantCap, 27, {a, 10, kR | kW, 0}},
        {K::GrantCap, 27, {b, 4, kR | kW, 0}},
        {K::GrantCap, 27, {c, 4, kR, 0}},
        // ch1: 2 MiB; c writes (and is a reader too: one cap), a and b read.
        {K::CreateUntyped, 28, {0x4c20'0000, 21, 0, 0}},
        {K::Retype, 28, {kType(ObjectType::Channel), 21, 29, 1}},
        {K::GrantCap, 29, {a, 11, kR, 0}},
        {K::GrantCap, 29, {b, 5, kR, 0}},
        {K::GrantCap, 29, {c, 5, kR | kW, 0}},
        // ch2: 4 KiB, a -> c again.
        {K::CreateUntyped, 30, {0x4c00'4000, 12, 0, 0}},
        {K::Retype, 30, {kType(ObjectType::Channel), 12, 31, 1}},
        {K::GrantCap, 31, {a, 12, kR | kW, 0}},
        {K::GrantCap, 31, {c, 6, kR, 0}},
        // n0: signallers c (bit 0) and a (bit 1), waiter b.
        {K::Retype, 1, {kType(ObjectType::Notification), 0, 32, 1}},
        {K::GrantCap, 32, {a, 13, kW, 2}},
        {K::GrantCap, 32, {b, 6, kR, 0}},
        {K::GrantCap, 32, {c, 7, kW, 1}},
        // n1: b signals a.
        {K::Retype, 1, {kType(ObjectType::Notification), 0, 33, 1}},
        {K::GrantCap, 33, {a, 14, kR, 0}},
        {K::GrantCap, 33, {b, 7, kW, 1}},
        // Flows, each once: Memory then Signal, by source then destination.
        {K::DeclareFlow, 0, {a, b, kMemory, 0}},
        {K::DeclareFlow, 0, {a, c, kMemory, 0}},
        {K::DeclareFlow, 0, {b, a, kMemory, 0}},
        {K::DeclareFlow, 0, {b, c, kMemory, 0}},
        {K::DeclareFlow, 0, {c, a, kMemory, 0}},
        {K::DeclareFlow, 0, {c, b, kMemory, 0}},
        {K::DeclareFlow, 0, {a, b, kSignal, 0}},
        {K::DeclareFlow, 0, {b, a, kSignal, 0}},
        {K::DeclareFlow, 0, {c, b, kSignal, 0}},
        // Then the control cap, after a's IPC caps; then Seal.
        {K::GrantCap, static_cast<u32>(c), {a, 15, bh::Rights::kControl, 0}},
        {K::Seal, 0, {0, 0, 0, 0}},
    };
    check_program(std::vector<ManifestOp>(ops.begin() + static_cast<long>(first), ops.end()), tail);

    // The declared graph is exactly the graph the capabilities allow (invariant 6), each flow once.
    CHECK(model.duplicate_declarations == 0);
    CHECK(model.declared == capability_flows(model));
    // No channel is mapped at boot; the channel objects are where the description put them.
    for (const ManifestOp& op : ops) {
        if (op.kind == OpKind::MapFrame) CHECK(model.boot.at(op.slot).type == kType(bh::ObjectType::Frame));
    }
    CHECK((model.boot.at(27).pa == 0x4c00'0000 && model.boot.at(29).pa == 0x4c20'0000 && model.boot.at(31).pa == 0x4c00'4000));

    // The layout helpers agree with the program: a's IPC caps start after its 8 frames (index
    // 10 = 2 + 8), its control cap follows them.
    bhcc::SystemDescription system;
    bhcc::Partition pa;
    pa.name = "a";
    pa.regions.push_back({"/a/ram", 0x4000'0000, 0x4800'0000, 16ull << 20, kRwx, true, true});
    pa.controls = {"c"};
    system.partitions = {pa};
    bhcc::Channel ch;
    ch.writers = {"a"};
    ch.readers = {"b"};
    system.channels = {ch, ch};
    bhcc::Notification n;
    n.signallers = {"b"};
    n.waiters = {"a"};
    system.notifications = {n};
    CHECK(bhcc::first_ipc_index(pa) == 10);
    CHECK(bhcc::ipc_capabilities(system, "a") == 3);
    CHECK(bhcc::first_control_index(system, pa) == 13);
    CHECK(bhcc::capabilities_needed(system, pa) == 1 + 8 + 3 + 1);

    // The dump shows the Channel/Notification caps with their index, rights and badge, and the flows.
    const std::string dump = bhcc::dump_manifest(result.manifest.bytes);
    INFO(dump);
    for (const char* line : {
             "Retype          slot 26 (Untyped 0x4c000000 16 KiB) -> 1 x Channel size_bits 14 in slots 27\n",
             "GrantCap        slot 27 (Channel 0x4c000000 16 KiB) -> a@2 cspace[10] rights=RW\n",
             "GrantCap        slot 27 (Channel 0x4c000000 16 KiB) -> c@20 cspace[4] rights=R\n",
             "Retype          slot 1 (kernel Untyped) -> 1 x Notification size_bits 0 in slots 32\n",
             "GrantCap        slot 32 (Notification 4 KiB) -> a@2 cspace[13] rights=W badge=0x2\n",
             "GrantCap        slot 32 (Notification 4 KiB) -> b@14 cspace[6] rights=R\n",
             "DeclareFlow     a@2 -> c@20 memory\n",
             "DeclareFlow     c@20 -> b@14 signal\n",
             "GrantCap        slot 20 (Partition \"c\") -> a@2 cspace[15] rights=C\n",
         }) {
        INFO(line);
        CHECK(dump.find(line) != std::string::npos);
    }
}

TEST_CASE("ipc.dts: channel and notification caps at the indices its guest uses", "[bhcc][T-51]") {
    Workspace workspace;
    write_file(workspace.images() / "ipc.elf", make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/tests/ipc.dts", false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    Model model = run_model(ops);
    const u64 producer = model.partition_slot.at("producer");
    const u64 consumer = model.partition_slot.at("consumer");
    // The table at the top of config/tests/ipc.dts (guests/ipc: kChannel 4, kDoorbell 5, kAck 6).
    const std::map<u64, Cap>& p = model.of("producer");
    const std::map<u64, Cap>& q = model.of("consumer");
    REQUIRE(p.size() == 6);
    REQUIRE(q.size() == 6);
    const u64 channel = kType(bh::ObjectType::Channel), notification = kType(bh::ObjectType::Notification);
    CHECK((p.at(4).type == channel && p.at(4).pa == 0x4a00'0000 && p.at(4).bits == 12));
    CHECK((p.at(4).rights == (kR | kW) && p.at(4).badge == 0 && !p.at(4).mapped_ipa));
    CHECK((q.at(4).boot_slot == p.at(4).boot_slot && q.at(4).rights == kR && q.at(4).badge == 0));
    CHECK((p.at(5).type == notification && p.at(5).rights == kW && p.at(5).badge == 1));
    CHECK((q.at(5).boot_slot == p.at(5).boot_slot && q.at(5).rights == kR && q.at(5).badge == 0));
    CHECK((q.at(6).type == notification && q.at(6).rights == kW && q.at(6).badge == 1));
    CHECK((p.at(6).boot_slot == q.at(6).boot_slot && p.at(6).rights == kR && p.at(6).badge == 0));
    CHECK(p.at(5).boot_slot != p.at(6).boot_slot);
    // Declared: producer -> consumer memory and signal, consumer -> producer signal; no
    // consumer -> producer memory (the consumer only reads the channel).
    const std::set<std::tuple<u64, u64, u64>> expected = {
        {producer, consumer, static_cast<u64>(manifest::FlowKind::Memory)},
        {producer, consumer, static_cast<u64>(manifest::FlowKind::Signal)},
        {consumer, producer, static_cast<u64>(manifest::FlowKind::Signal)},
    };
    CHECK(model.declared == expected);
    CHECK(capability_flows(model) == expected);
    for (const ManifestOp& op : ops) {
        if (op.kind == OpKind::BindVcpu) CHECK(op.arg[2] == (op.arg[0] == producer ? 1u : 2u));
        if (op.kind == OpKind::StartVcpu) CHECK(op.arg[3] == (op.arg[0] == producer ? 1u : 2u));
    }
}

TEST_CASE("flows_of: writers reach every other member, readers reach nobody, each flow once", "[bhcc][INV-6][T-51]") {
    using bhcc::IpcGrant;
    using bhcc::IpcKind;
    using F = bhcc::Flow;
    constexpr auto kM = manifest::FlowKind::Memory;
    constexpr auto kS = manifest::FlowKind::Signal;
    // Channel 0: 0 and 1 write, 2 reads. Channel 1: 3 writes alone (no flow). Channel 2: readers only.
    // Notification 0: 2 and 0 signal, 1 waits. A Write-only notification cap reaches nobody itself.
    const std::vector<IpcGrant> grants = {
        {IpcKind::Channel, 0, 0, kR | kW, 0},     {IpcKind::Channel, 0, 1, kR | kW, 0},
        {IpcKind::Channel, 0, 2, kR, 0},          {IpcKind::Channel, 1, 3, kR | kW, 0},
        {IpcKind::Channel, 2, 0, kR, 0},          {IpcKind::Channel, 2, 1, kR, 0},
        {IpcKind::Notification, 0, 2, kW, 1},     {IpcKind::Notification, 0, 0, kW, 2},
        {IpcKind::Notification, 0, 1, kR, 0},     {IpcKind::Channel, 3, 2, kR | kW, 0},
        {IpcKind::Channel, 3, 0, kR, 0},
    };
    const std::vector<F> expected = {
        {0, 1, kM}, {0, 2, kM}, {1, 0, kM}, {1, 2, kM}, {2, 0, kM},  // 2 -> 0 by channel 3
        {0, 1, kS}, {2, 1, kS},
    };
    CHECK(bhcc::flows_of(grants) == expected);
    CHECK(bhcc::flows_of({}).empty());
}

TEST_CASE("channel and notification caps count against the CSpace (rule M17)", "[bhcc][T-30]") {
    Workspace workspace;
    const fs::path path = workspace.file("full.dts");
    // alpha: CNode + 2 RAM frames + 252 unmapped 4 KiB frames = 255 caps, then one channel cap.
    write_text(path, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        alpha {
            compatible = "bulkhead,partition";
            cpus = <1>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48000000>;
                  size = <0x0 0x400000>; access = "rwx"; };
            spare { compatible = "bulkhead,memory"; unmapped; phys = <0x0 0x48400000>;
                    size = <0x0 0xfc000>; access = "rw"; };
        };
        beta {
            compatible = "bulkhead,partition";
            cpus = <2>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x49000000>;
                  size = <0x0 0x400000>; access = "rwx"; };
        };
    };
    channels {
        ch0 { compatible = "bulkhead,channel"; phys = <0x0 0x4a000000>; size = <0x0 0x1000>;
              writers = "beta"; readers = "alpha"; };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    CHECK(result.status == bhcc::ExitStatus::Invalid);
    CHECK(result.diagnostics.count() == 1);
    CHECK(result.errors.find(": /partitions/alpha: partition needs more than 255 capabilities") != std::string::npos);
}

TEST_CASE("pci: each function's DmaStream cap and BAR pages follow its owner's other caps; BARs placed largest first", "[bhcc][T-83][T-85]") {
    Workspace workspace;
    const fs::path dts = workspace.file("pci.dts");
    write_text(dts, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        driver {
            compatible = "bulkhead,partition";
            cpus = <1>;
            image = "heartbeat.elf";
            interrupts = <38>;
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48000000>; size = <0x0 0x00400000>; access = "rwx"; };
        };
        other {
            compatible = "bulkhead,partition";
            cpus = <2>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48400000>; size = <0x0 0x00400000>; access = "rwx"; };
        };
    };
    pci {
        edu { compatible = "bulkhead,pci-function"; partition = "driver"; device = <3>; id = <0x1234 0x11e8>;
              bars = <0 0x100000>; qemu-device = "edu,dma_mask=0xffffffffff"; };
        blk { compatible = "bulkhead,pci-function"; partition = "driver"; device = <4>; id = <0x1af4 0x1042>;
              bars = <1 0x1000 4 0x4000>; qemu-device = "virtio-blk-pci,disable-legacy=on,iommu_platform=on"; qemu-disk = "blk.raw"; };
        big { compatible = "bulkhead,pci-function"; partition = "other"; device = <5>; function = <1>; pin = <2>;
              id = <0x1234 0x11e8>; bars = <2 0x400000>; };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(dts, false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    std::vector<std::tuple<u64, u64, u64>> bars;  // function, index, address
    std::vector<std::pair<u64, u64>> assigned;    // function, identity
    for (const ManifestOp& op : ops) {
        if (op.kind == OpKind::PlacePciBar) bars.emplace_back(op.arg[1], op.arg[2], op.arg[3]);
        if (op.kind == OpKind::AssignPciFunction) assigned.emplace_back(op.arg[1], op.arg[2]);
    }
    CHECK(assigned == std::vector<std::pair<u64, u64>>{{0x18, 0x11e8'1234}, {0x20, 0x1042'1af4}, {0x29, 0x11e8'1234}});
    // The 4 MiB BAR takes the bottom of the window; the 2 MiB slots follow in document order.
    CHECK(bars == std::vector<std::tuple<u64, u64, u64>>{
                      {0x18, 0, 0x1040'0000}, {0x20, 1, 0x1060'0000}, {0x20, 4, 0x1080'0000}, {0x29, 2, 0x1000'0000}});
    Model model = run_model(ops);
    const std::map<u64, Cap>& d = model.of("driver");
    // 1 CNode, 2..3 RAM, 4 the IrqHandler, then edu (5 stream, 6 BAR0), blk (7 stream, 8 BAR1, 9 BAR4).
    REQUIRE(d.size() == 9);
    CHECK(d.at(4).type == kType(bh::ObjectType::IrqHandler));
    CHECK(d.at(5).type == kType(bh::ObjectType::DmaStream));
    CHECK(d.at(5).pa == 0x18);
    CHECK(d.at(5).rights == (bh::Rights::kControl | bh::Rights::kGrant));
    CHECK(d.at(6).type == kType(bh::ObjectType::DeviceMmio));
    CHECK(d.at(6).pa == 0x1040'0000);
    CHECK(d.at(6).bits == 21);
    CHECK(d.at(6).mapped_ipa == 0x1040'0000);
    CHECK(d.at(6).rights == (bh::Rights::kRead | bh::Rights::kWrite));
    CHECK(d.at(7).pa == 0x20);
    CHECK(d.at(8).pa == 0x1060'0000);
    CHECK(d.at(9).pa == 0x1080'0000);
    const std::map<u64, Cap>& o = model.of("other");
    REQUIRE(o.size() == 6);  // 1 CNode, 2..3 RAM, 4 stream, 5..6 the 4 MiB BAR's two pages
    CHECK(o.at(4).pa == 0x29);
    CHECK(o.at(5).pa == 0x1000'0000);
    CHECK(o.at(6).pa == 0x1020'0000);
    // What qemu-run plugs in: each function at its address, the disk next to the image.
    CHECK(result.qemu_args == std::vector<std::string>{"-device", "edu,dma_mask=0xffffffffff,bus=pcie.0,addr=0x3.0",
                                                        "-drive", "if=none,format=raw,id=disk0,file=blk.raw", "-device",
                                                        "virtio-blk-pci,disable-legacy=on,iommu_platform=on,bus=pcie.0,addr=0x4.0,drive=disk0"});
}

TEST_CASE("dma.dts: the driver's DmaStream cap and BAR page at the indices its guest uses", "[bhcc]") {
    Workspace workspace;
    write_file(workspace.images() / "edudriver.elf", make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/tests/dma.dts", false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    Model model = run_model(ops_of(result.manifest.bytes));
    // The table at the top of config/tests/dma.dts (guests/edudriver: kSpare 4 ... kStream 7).
    const std::map<u64, Cap>& d = model.of("driver");
    REQUIRE(d.size() == 8);
    CHECK(d.at(4).type == kType(bh::ObjectType::Frame));
    CHECK_FALSE(d.at(4).mapped_ipa.has_value());
    CHECK(d.at(5).type == kType(bh::ObjectType::Notification));
    CHECK(d.at(6).type == kType(bh::ObjectType::IrqHandler));
    CHECK(d.at(7).type == kType(bh::ObjectType::DmaStream));
    CHECK(d.at(7).pa == 0x18);
    CHECK(d.at(8).type == kType(bh::ObjectType::DeviceMmio));
    CHECK(d.at(8).mapped_ipa == 0x1000'0000);
}

TEST_CASE("virtual-gic, virtual-uart and console-input become CreatePartition flags", "[bhcc][T-81]") {
    Workspace workspace;
    const fs::path path = workspace.file("flags.dts");
    write_text(path, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        plain {
            compatible = "bulkhead,partition";
            cpus = <1>;
            image = "heartbeat.elf";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48000000>;
                  size = <0x0 0x200000>; access = "rwx"; };
        };
        guest {
            compatible = "bulkhead,partition";
            cpus = <2 3>;
            image = "heartbeat.elf";
            virtual-gic;
            virtual-uart;
            console-input;
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48200000>;
                  size = <0x0 0x200000>; access = "rwx"; };
            /* just past its two redistributors and below the UART: no emulated window */
            low { compatible = "bulkhead,memory"; ipa = <0x0 0x080e0000>; phys = <0x0 0x48400000>;
                  size = <0x0 0x1000>; access = "rw"; };
        };
        uart {
            compatible = "bulkhead,partition";
            cpus = <0>;
            image = "heartbeat.elf";
            virtual-uart;
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48600000>;
                  size = <0x0 0x200000>; access = "rwx"; };
        };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path, false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    namespace flag = manifest::partition_flag;
    std::vector<u64> flags;
    for (const ManifestOp& op : ops_of(result.manifest.bytes))
        if (op.kind == OpKind::CreatePartition) flags.push_back(op.arg[3]);
    CHECK(flags == std::vector<u64>{0, flag::kVirtualGic | flag::kVirtualUart | flag::kConsoleInput, flag::kVirtualUart});
    const std::string dump = bhcc::dump_manifest(result.manifest.bytes);
    CHECK(dump.find("name=\"plain\" cspace=slot 3 restart=stop vcpus=1\n") != std::string::npos);
    CHECK(dump.find("restart=stop vcpus=2 virtual-gic virtual-uart console-input\n") != std::string::npos);
    CHECK(dump.find("restart=stop vcpus=1 virtual-uart\n") != std::string::npos);
}

TEST_CASE("audit.dts: the auditor's AuditLog cap at the index its guest uses, an Audit flow from every other partition",
          "[bhcc][audit][T-33][INV-6]") {
    Workspace workspace;
    for (const char* elf : {"auditor.elf", "heartbeat.elf"})
        write_file(workspace.images() / elf, make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/tests/audit.dts", false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    Model model = run_model(ops);
    // guests/auditor: kAuditSlot 4, after its CNode (1) and two 2 MiB frames (2, 3); Read only.
    const std::map<u64, Cap>& a = model.of("auditor");
    REQUIRE(a.size() == 4);
    CHECK((a.at(4).type == kType(bh::ObjectType::AuditLog) && a.at(4).rights == kR));
    for (const char* other : {"suspect", "bystander"})
        for (const auto& [index, cap] : model.of(other)) CHECK(cap.type != kType(bh::ObjectType::AuditLog));
    CHECK(std::count_if(ops.begin(), ops.end(), [](const ManifestOp& op) { return op.kind == OpKind::CreateAuditLog; }) == 1);
    const u64 auditor = model.partition_slot.at("auditor");
    const std::set<std::tuple<u64, u64, u64>> expected = {
        {model.partition_slot.at("suspect"), auditor, static_cast<u64>(manifest::FlowKind::Audit)},
        {model.partition_slot.at("bystander"), auditor, static_cast<u64>(manifest::FlowKind::Audit)},
    };
    CHECK(model.declared == expected);
    CHECK(capability_flows(model) == expected);
}

TEST_CASE("faults = \"inject\" becomes the fault policy of that partition's CreatePartition", "[bhcc]") {
    Workspace workspace;
    const fs::path path = workspace.file("faults.dts");
    write_text(path, R"(/dts-v1/;
/ {
    compatible = "bulkhead,system-v1";
    partitions {
        prober {
            compatible = "bulkhead,partition";
            cpus = <0>;
            image = "heartbeat.elf";
            faults = "inject";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48000000>;
                  size = <0x0 0x200000>; access = "rwx"; };
        };
        plain {
            compatible = "bulkhead,partition";
            cpus = <1>;
            image = "heartbeat.elf";
            faults = "stop";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x48200000>;
                  size = <0x0 0x200000>; access = "rwx"; };
        };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);  // the kernel's reader accepted it too
    std::map<std::string, u64> policy;
    for (const ManifestOp& op : ops_of(result.manifest.bytes))
        if (op.kind == OpKind::CreatePartition) policy[op.name] = op.arg[3];
    CHECK(policy.at("prober") == bh::manifest::partition_flag::kInjectFaults);
    CHECK(policy.at("plain") == 0);
    const std::string dump = bhcc::dump_manifest(result.manifest.bytes);
    CHECK(dump.find("name=\"prober\" cspace=slot 3 restart=stop vcpus=1 faults=inject\n") != std::string::npos);
    const size_t plain = dump.find("name=\"plain\"");
    REQUIRE(plain != std::string::npos);
    CHECK(dump.substr(plain, dump.find('\n', plain) - plain).find("faults=") == std::string::npos);
}
