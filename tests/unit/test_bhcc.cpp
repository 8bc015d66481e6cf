// bhcc, the configuration compiler: every malformed description in tests/config/bad is refused
// with its own message, the shipped descriptions are accepted, and the packed manifest and boot
// image have exactly the layout the kernel expects. Guest and kernel ELFs are synthesized here,
// so these tests do not depend on the aarch64 cross build.
#include <catch2/catch_test_macros.hpp>

#include <bhcc/compiler.hpp>
#include <bhcc/manifest_check.hpp>
#include <bhcc/manifest_dump.hpp>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifndef BH_SOURCE_DIR
#error "BH_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace {

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

const fs::path kSourceDir = BH_SOURCE_DIR;
const fs::path kBadDir = kSourceDir / "tests/config/bad";

// ---------------------------------------------------------------- synthetic ELF files

constexpr u16 kMachineAarch64 = 183;
constexpr u16 kMachineX86_64 = 62;
constexpr u32 kFlagsRx = 5;
constexpr u32 kFlagsRw = 6;

struct SyntheticSegment {
    u64 paddr;
    u64 filesz;
    u64 memsz;
    u32 flags;
    u8 fill;  // every file byte of the segment, so its copy in the payload can be recognised
};

template <typename T>
void put(std::vector<u8>& bytes, std::size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// A minimal ELF64 little-endian ET_EXEC: header, program headers, then each segment's bytes.
std::vector<u8> make_elf(u16 machine, u64 entry, const std::vector<SyntheticSegment>& segments) {
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

void write_file(const fs::path& path, const std::vector<u8>& bytes) {
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// heartbeat: code, data and a bss-only segment (which must produce no LoadImage op).
const std::vector<SyntheticSegment> kHeartbeatSegments = {
    {0x4000'0000, 0x100, 0x2000, kFlagsRx, 0xa1},
    {0x4001'0000, 0x40, 0x1000, kFlagsRw, 0xa2},
    {0x4002'0000, 0, 0x1000, kFlagsRw, 0},
};
const std::vector<SyntheticSegment> kAttackerSegments = {{0x4000'0000, 0x80, 0x1000, kFlagsRx, 0xb1}};
const std::vector<SyntheticSegment> kKernelSegments = {
    {0x4010'0000, 0x300, 0x5000, kFlagsRx, 0xc1},
    {0x4020'0000, 0x20, 0x100, kFlagsRw, 0xc2},
};
constexpr u64 kGuestEntry = 0x4000'0000;
constexpr u64 kKernelEntry = 0x4010'0000;

// A scratch directory holding the guest images the descriptions name, and a kernel.
class Workspace {
public:
    Workspace() {
        static int counter = 0;
        root_ = fs::temp_directory_path() /
                ("bhcc-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(images());
        write_file(images() / "heartbeat.elf", make_elf(kMachineAarch64, kGuestEntry, kHeartbeatSegments));
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

std::vector<OpKind> kinds_of(const std::vector<ManifestOp>& ops) {
    std::vector<OpKind> kinds;
    for (const auto& op : ops) kinds.push_back(op.kind);
    return kinds;
}

bool payload_filled(const std::vector<u8>& payload, u64 offset, u64 size, u8 fill) {
    if (offset + size > payload.size()) return false;
    for (u64 i = 0; i < size; ++i) {
        if (payload[offset + i] != fill) return false;
    }
    return true;
}

constexpr u64 kRwx = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute;

}  // namespace

// ---------------------------------------------------------------- malformed descriptions

TEST_CASE("bhcc refuses each malformed description with its own message", "[bhcc]") {
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
         "[0x40000000, 0x44000000)"},
        {"physical-overlap", "/partitions/beta/ram: physical memory overlaps /partitions/alpha/ram"},
        {"physical-overlap-same-partition", "/partitions/alpha/data: physical memory overlaps /partitions/alpha/ram"},
        {"ipa-overlap", "/partitions/alpha/data: IPA range overlaps /partitions/alpha/ram"},
        {"ipa-beyond-40-bits",
         "/partitions/alpha/data: IPA range [0xfffff00000, 0x10000100000) exceeds the 40-bit IPA space"},
        {"bad-access", "/partitions/alpha/ram: access \"rwz\" must use only r, w and x, each once, and include r or w"},
        {"execute-only-access",
         "/partitions/alpha/ram: access \"x\" must use only r, w and x, each once, and include r or w"},
        {"no-memory", "/partitions/alpha: partition has no memory region"},
        {"too-many-mappings", "/partitions/alpha: partition has 17 memory regions and devices, at most 16"},
        {"unknown-device", "/partitions/alpha: unknown device \"uart7\""},
        {"reserved-device", "/partitions/alpha: device \"gic\" is reserved for the kernel"},
        {"device-shared", "/partitions/beta: device \"rtc\" is already assigned to /partitions/alpha"},
        {"device-over-memory",
         "/partitions/alpha: device \"rtc\" at [0x9010000, 0x9011000) overlaps the IPA range of /partitions/alpha/ram"},
        {"bad-restart", "/partitions/alpha: restart must be \"stop\" or \"restart\""},
        {"image-property-missing", "/partitions/alpha: missing image"},
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

TEST_CASE("bhcc refuses a payload larger than the kernel reserves for it", "[bhcc]") {
    Workspace workspace;
    const u64 too_big = platform::kPayloadMaxSize + 1;
    write_file(workspace.images() / "huge.elf",
               make_elf(kMachineAarch64, kGuestEntry, {{0x4000'0000, too_big, too_big, kFlagsRx, 7}}));
    const fs::path path = kBadDir / "payload-too-large.dts";
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    CHECK(result.status == bhcc::ExitStatus::Invalid);
    CHECK(result.errors.find(path.string() + ": /: the payload (manifest and images) is ") != std::string::npos);
    CHECK(result.errors.find("at most 33554432") != std::string::npos);
}

TEST_CASE("bhcc reports dtc syntax errors with the file name", "[bhcc]") {
    Workspace workspace;
    const fs::path path = kBadDir / "syntax-error.dts";
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    CHECK(result.status == bhcc::ExitStatus::Invalid);
    CHECK(result.errors.starts_with(path.string() + ": dtc rejected the source:"));
    CHECK(result.errors.find("syntax-error.dts:") != std::string::npos);  // dtc's own file:line
}

TEST_CASE("bhcc treats an unreadable description as an I/O error, not a validation failure", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(workspace.file("absent.dts"));
    CHECK(result.status == bhcc::ExitStatus::UsageOrIo);
    CHECK(result.errors.find("absent.dts: cannot read the system description") != std::string::npos);
}

TEST_CASE("bhcc refuses a kernel that loads outside the kernel image window", "[bhcc]") {
    Workspace workspace;
    write_file(workspace.kernel(), make_elf(kMachineAarch64, 0x4000'0000, {{0x4000'0000, 0x10, 0x10, kFlagsRx, 1}}));
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts");
    CHECK(result.status == bhcc::ExitStatus::Invalid);
    CHECK(result.errors.find(workspace.kernel().string() +
                             ": PT_LOAD [0x40000000, 0x40000010) is outside the kernel image window "
                             "[0x40100000, 0x41000000)") != std::string::npos);
    CHECK(result.boot_image.empty());
}

// ---------------------------------------------------------------- accepted descriptions

TEST_CASE("demo.dts packs into the expected op program", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts");
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<u8>& payload = result.manifest.bytes;

    const ManifestHeader header = header_of(payload);
    CHECK(header.magic == manifest::kMagic);
    CHECK(header.version == manifest::kVersion);
    CHECK(header.op_size == sizeof(ManifestOp));
    CHECK(header.ops_offset == sizeof(ManifestHeader));
    CHECK(header.total_size == payload.size());
    CHECK(header.total_size % 8 == 0);
    CHECK(header.ram_base == 0x4000'0000);
    CHECK(header.ram_size == 0x8000'0000);
    CHECK(header.checksum ==
          reference_crc32(payload.data() + manifest::kChecksumStart, payload.size() - manifest::kChecksumStart));

    const std::vector<ManifestOp> ops = ops_of(payload);
    using K = OpKind;
    const std::vector<OpKind> expected = {
        K::CreatePartition, K::MapMemory, K::LoadImage, K::LoadImage, K::BindCore, K::StartVcpu,  // alpha
        K::CreatePartition, K::MapMemory, K::LoadImage, K::LoadImage, K::BindCore, K::StartVcpu,  // beta
        K::CreatePartition, K::MapMemory, K::LoadImage, K::BindCore, K::StartVcpu,                // attacker
        K::Seal,
    };
    REQUIRE(kinds_of(ops) == expected);

    const char* names[] = {"alpha", "beta", "attacker"};
    const std::size_t starts[] = {0, 6, 12};
    const u64 phys[] = {0x4800'0000, 0x4900'0000, 0x4a00'0000};
    const u64 cores[] = {1, 2, 3};
    const u64 boot_args[] = {12, 12, 0};
    for (u32 p = 0; p < 3; ++p) {
        INFO("partition " << names[p]);
        const ManifestOp* op = &ops[starts[p]];
        CHECK(std::string(op[0].name) == names[p]);
        CHECK(op[0].partition == p);
        CHECK(op[0].arg[0] == static_cast<u64>(manifest::RestartPolicy::Stop));
        CHECK(op[0].arg[1] == 1);
        CHECK(op[1].partition == p);
        CHECK(op[1].arg[0] == 0x4000'0000);
        CHECK(op[1].arg[1] == phys[p]);
        CHECK(op[1].arg[2] == 0x0100'0000);
        CHECK(op[1].arg[3] == kRwx);
        const std::size_t loads = p < 2 ? 2 : 1;
        const ManifestOp& bind = op[2 + loads];
        const ManifestOp& start = op[3 + loads];
        CHECK(bind.partition == p);
        CHECK(bind.arg[0] == 0);
        CHECK(bind.arg[1] == cores[p]);
        CHECK(start.partition == p);
        CHECK(start.arg[0] == 0);
        CHECK(start.arg[1] == kGuestEntry);
        CHECK(start.arg[2] == boot_args[p]);
    }

    // LoadImage: IPA = p_paddr, only p_filesz bytes, 8-aligned, after the op table, bytes intact.
    const u64 images_start = header.ops_offset + header.op_count * sizeof(ManifestOp);
    const ManifestOp& code = ops[2];
    const ManifestOp& data = ops[3];
    CHECK(code.arg[0] == 0x4000'0000);
    CHECK(code.arg[2] == 0x100);
    CHECK(code.arg[1] >= images_start);
    CHECK(code.arg[1] % 8 == 0);
    CHECK(payload_filled(payload, code.arg[1], code.arg[2], 0xa1));
    CHECK(data.arg[0] == 0x4001'0000);
    CHECK(data.arg[2] == 0x40);
    CHECK(payload_filled(payload, data.arg[1], data.arg[2], 0xa2));
    CHECK(payload_filled(payload, ops[14].arg[1], 0x80, 0xb1));  // attacker's code
}

TEST_CASE("quad.dts gives each of four partitions its own core", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/quad.dts", false);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    CHECK(result.boot_image.empty());  // no kernel given: validate and pack only (--check)
    std::vector<u64> cores;
    std::vector<std::string> names;
    for (const ManifestOp& op : ops_of(result.manifest.bytes)) {
        if (op.kind == OpKind::CreatePartition) names.emplace_back(op.name);
        if (op.kind == OpKind::BindCore) cores.push_back(op.arg[1]);
        if (op.kind == OpKind::StartVcpu) CHECK(op.arg[2] == 6);
    }
    CHECK(names == std::vector<std::string>{"p0", "p1", "p2", "p3"});
    CHECK(cores == std::vector<u64>{0, 1, 2, 3});
}

TEST_CASE("the boot image is an AArch64 ELF with the kernel segments and the payload", "[bhcc]") {
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

TEST_CASE("assignable devices are mapped at IPA == PA as device memory", "[bhcc]") {
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
            devices = "rtc", "gpio";
            ram { compatible = "bulkhead,memory"; ipa = <0x0 0x40000000>; phys = <0x0 0x50000000>;
                  size = <0x0 0x100000>; access = "rwx"; };
            shared { compatible = "bulkhead,memory"; ipa = <0x0 0x50000000>; phys = <0x0 0x50100000>;
                     size = <0x0 0x1000>; access = "r"; };
        };
    };
};
)");
    const bhcc::CompileResult result = workspace.compile(path);
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<ManifestOp> ops = ops_of(result.manifest.bytes);
    using K = OpKind;
    REQUIRE(kinds_of(ops) == std::vector<OpKind>{K::CreatePartition, K::MapMemory, K::MapMemory, K::MapMemory,
                                                 K::MapMemory, K::LoadImage, K::BindCore, K::BindCore,
                                                 K::StartVcpu, K::Seal});
    CHECK(ops[0].arg[0] == static_cast<u64>(manifest::RestartPolicy::Restart));
    CHECK(ops[0].arg[1] == 2);
    CHECK(ops[2].arg[3] == manifest::attr::kRead);
    const u64 device = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kDevice;
    CHECK((ops[3].arg[0] == 0x0901'0000 && ops[3].arg[1] == 0x0901'0000 && ops[3].arg[2] == 0x1000));
    CHECK(ops[3].arg[3] == device);
    CHECK((ops[4].arg[0] == 0x0903'0000 && ops[4].arg[1] == 0x0903'0000 && ops[4].arg[3] == device));
    CHECK((ops[6].arg[0] == 0 && ops[6].arg[1] == 0));
    CHECK((ops[7].arg[0] == 1 && ops[7].arg[1] == 1));
    CHECK(ops[8].arg[2] == 0x1234'5678'9abc'def0);
}

TEST_CASE("a compiled .dtb is accepted as it is", "[bhcc]") {
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

TEST_CASE("the dump lists every op in words", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts", false);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::string dump = bhcc::dump_manifest(result.manifest.bytes);
    CHECK(dump.find("18 ops") != std::string::npos);
    CHECK(dump.find("(ok)") != std::string::npos);
    CHECK(dump.find("CreatePartition p0  name=\"alpha\" restart=stop vcpus=1") != std::string::npos);
    CHECK(dump.find("MapMemory       p2  ipa=[0x40000000, 0x41000000) pa=0x4a000000 size=0x1000000 rwx") !=
          std::string::npos);
    CHECK(dump.find("StartVcpu       p1  vcpu=0 entry=0x40000000 x0=0xc") != std::string::npos);
    CHECK(dump.find("Seal") != std::string::npos);
}

TEST_CASE("the self-check is the kernel's ManifestReader and refuses a corrupted payload", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts", false);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    CHECK(bhcc::self_check_manifest(result.manifest.bytes).empty());
    std::vector<u8> corrupted = result.manifest.bytes;
    corrupted.back() ^= 0x01;  // an image byte: only the checksum can notice
    CHECK(bhcc::self_check_manifest(corrupted) == "refused by ManifestReader: checksum mismatch");
}
