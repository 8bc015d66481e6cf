// Shared by the configuration compiler's tests (test_bhcc_*.cpp): synthetic guest and kernel
// ELF files in a scratch workspace, and an independent decoding and model of the manifests bhcc
// packs. Guest and kernel ELFs are synthesized here, so these tests do not depend on the aarch64
// cross build.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <bhcc/cap_layout.hpp>
#include <bhcc/compiler.hpp>
#include <bhcc/description_parser.hpp>
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

#include <array>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#ifndef BH_SOURCE_DIR
#error "BH_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace bhcc_test {

namespace fs = std::filesystem;
namespace manifest = bh::manifest;
namespace platform = bh::platform;
using bh::u16;
using bh::u32;
using bh::u64;
using bh::u8;
using manifest::ManifestHeader;
using manifest::ManifestOp;
using manifest::OpKind;

inline const fs::path kSourceDir = BH_SOURCE_DIR;
inline const fs::path kBadDir = kSourceDir / "tests/config/bad";

// ---------------------------------------------------------------- synthetic ELF files

inline constexpr u16 kMachineAarch64 = 183;
inline constexpr u16 kMachineX86_64 = 62;
inline constexpr u32 kFlagsRx = 5;
inline constexpr u32 kFlagsRw = 6;

struct SyntheticSegment {
    u64 paddr;
    u64 filesz;
    u64 memsz;
    u32 flags;
    u8 fill;  // every file byte of the segment, so its copy in the payload can be recognised
};

template <typename T>
inline void put(std::vector<u8>& bytes, std::size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// A minimal ELF64 little-endian ET_EXEC: header, program headers, then each segment's bytes.
inline std::vector<u8> make_elf(u16 machine, u64 entry, const std::vector<SyntheticSegment>& segments) {
    const std::size_t headers = 64 + 56 * segments.size();
    std::size_t size = headers;
    for (const auto& s : segments) size += s.filesz;
    std::vector<u8> elf(size, 0);
    std::memcpy(elf.data(), "\x7f" "ELF", 4);
    elf[4] = 2;
    elf[5] = 1;
    elf[6] = 1;
    put<u16>(elf, 16, 2);
    put<u16>(elf, 18, machine);
    put<u32>(elf, 20, 1);
    put<u64>(elf, 24, entry);
    put<u64>(elf, 32, 64);
    put<u16>(elf, 52, 64);
    put<u16>(elf, 54, 56);
    put<u16>(elf, 56, static_cast<u16>(segments.size()));
    std::size_t data = headers;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const auto& s = segments[i];
        const std::size_t at = 64 + 56 * i;
        put<u32>(elf, at, 1);
        put<u32>(elf, at + 4, s.flags);
        put<u64>(elf, at + 8, data);
        put<u64>(elf, at + 16, s.paddr);
        put<u64>(elf, at + 24, s.paddr);
        put<u64>(elf, at + 32, s.filesz);
        put<u64>(elf, at + 40, s.memsz);
        put<u64>(elf, at + 48, 8);
        std::memset(elf.data() + data, s.fill, s.filesz);
        data += s.filesz;
    }
    return elf;
}

inline void write_file(const fs::path& path, const std::vector<u8>& bytes) {
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// heartbeat: code, data and a bss-only segment (which must produce no LoadImage op).
inline const std::vector<SyntheticSegment> kHeartbeatSegments = {
    {0x4000'0000, 0x100, 0x2000, kFlagsRx, 0xa1},
    {0x4001'0000, 0x40, 0x1000, kFlagsRw, 0xa2},
    {0x4002'0000, 0, 0x1000, kFlagsRw, 0},
};
inline const std::vector<SyntheticSegment> kAttackerSegments = {{0x4000'0000, 0x80, 0x1000, kFlagsRx, 0xb1}};
inline const std::vector<SyntheticSegment> kKernelSegments = {
    {0x4010'0000, 0x300, 0x5000, kFlagsRx, 0xc1},
    {0x4020'0000, 0x20, 0x100, kFlagsRw, 0xc2},
};
inline constexpr u64 kGuestEntry = 0x4000'0000;
inline constexpr u64 kKernelEntry = 0x4010'0000;

// A scratch directory holding the guest images the descriptions name, and a kernel.
class Workspace {
public:
    Workspace() {
        static int counter = 0;
        root_ = fs::temp_directory_path() /
                ("bhcc-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(images());
        write_file(images() / "heartbeat.elf", make_elf(kMachineAarch64, kGuestEntry, kHeartbeatSegments));
        write_file(images() / "capuser.elf", make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
        write_file(images() / "attacker.elf", make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
        write_file(images() / "x86.elf", make_elf(kMachineX86_64, kGuestEntry, kAttackerSegments));
        // 32 MiB of memsz cannot fit the 16 MiB region of the bad description.
        write_file(images() / "oversized.elf",
                   make_elf(kMachineAarch64, kGuestEntry, {{0x4000'0000, 0x100, 32u << 20, kFlagsRx, 1}}));
        write_file(images() / "stray-entry.elf", make_elf(kMachineAarch64, 0x4100'0000, kAttackerSegments));
        std::vector<SyntheticSegment> nine;  // one more than a partition may load
        for (u64 i = 0; i < 9; ++i) nine.push_back({0x4000'0000 + i * 0x1000, 0x10, 0x1000, kFlagsRx, 1});
        write_file(images() / "many-segments.elf", make_elf(kMachineAarch64, kGuestEntry, nine));
        write_file(kernel(), make_elf(kMachineAarch64, kKernelEntry, kKernelSegments));
    }
    ~Workspace() {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    [[nodiscard]] fs::path images() const { return root_ / "images"; }
    [[nodiscard]] fs::path kernel() const { return root_ / "bulkhead.elf"; }
    [[nodiscard]] fs::path file(const std::string& name) const { return root_ / name; }

    [[nodiscard]] bhcc::CompileResult compile(const fs::path& description, bool with_kernel = true) const {
        bhcc::CompileRequest request{description, images(), std::nullopt};
        if (with_kernel) request.kernel = kernel();
        return bhcc::compile_system(request);
    }

private:
    fs::path root_;
};

// ---------------------------------------------------------------- manifest decoding (independent)

inline u32 reference_crc32(const u8* data, std::size_t size) {
    u32 crc = 0xffff'ffff;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb8'8320u & (0u - (crc & 1)));
    }
    return ~crc;
}

inline ManifestHeader header_of(const std::vector<u8>& bytes) {
    ManifestHeader header{};
    std::memcpy(&header, bytes.data(), sizeof header);
    return header;
}

inline std::vector<ManifestOp> ops_of(const std::vector<u8>& bytes) {
    const ManifestHeader header = header_of(bytes);
    std::vector<ManifestOp> ops(header.op_count);
    std::memcpy(ops.data(), bytes.data() + header.ops_offset, header.op_count * sizeof(ManifestOp));
    return ops;
}

inline bool payload_filled(const std::vector<u8>& payload, u64 offset, u64 size, u8 fill) {
    if (offset + size > payload.size()) return false;
    for (u64 i = 0; i < size; ++i) {
        if (payload[offset + i] != fill) return false;
    }
    return true;
}

inline constexpr u64 kRwx = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute;
inline constexpr u64 kRw = manifest::attr::kRead | manifest::attr::kWrite;
inline constexpr u64 kR = bh::Rights::kRead, kW = bh::Rights::kWrite, kX = bh::Rights::kExecute, kG = bh::Rights::kGrant;
inline constexpr u64 k2M = 2ull << 20;
inline constexpr u64 kType(bh::ObjectType t) { return static_cast<u64>(t); }

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

inline Model run_model(const std::vector<ManifestOp>& ops) {
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
inline std::set<std::tuple<u64, u64, u64>> capability_flows(const Model& m) {
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
    return flows;
}

// Expected op, compared field by field (LoadImage's payload offset is checked separately).
struct Expect {
    OpKind kind;
    u32 slot;
    std::array<u64, 4> arg;
    const char* name = "";
};

inline void check_program(const std::vector<ManifestOp>& ops, const std::vector<Expect>& expected) {
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

}  // namespace bhcc_test
