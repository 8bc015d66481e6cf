// bhcc's tests' scratch workspace: synthetic AArch64 ELF images under the names the test
// descriptions (tests/config/bad/, config/) give their partitions, a synthetic kernel, and
// compile() through bhcc's whole pipeline. Shared by test_bhcc.cpp and
// test_bhcc_kernel_refusals.cpp, so these tests do not depend on the aarch64 cross build.
#pragma once

#include <bhcc/compiler.hpp>

#include "linux_image_fixture.hpp"

#include <bulkhead/types.hpp>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifndef BH_SOURCE_DIR
#error "BH_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace bhcc_test {

namespace fs = std::filesystem;
using bh::u16;
using bh::u32;
using bh::u64;
using bh::u8;

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
        write_file(images() / "odd-entry.elf", make_elf(kMachineAarch64, kGuestEntry + 2, kHeartbeatSegments));
        std::vector<SyntheticSegment> nine;  // one more than a partition may load
        for (u64 i = 0; i < 9; ++i) nine.push_back({0x4000'0000 + i * 0x1000, 0x10, 0x1000, kFlagsRx, 1});
        write_file(images() / "many-segments.elf", make_elf(kMachineAarch64, kGuestEntry, nine));
        write_file(kernel(), make_elf(kMachineAarch64, kKernelEntry, kKernelSegments));
        // What Linux partitions name (test_bhcc_linux.cpp tests them in depth).
        write_file(images() / "Image", bh::test::make_linux_image(0, 3u << 20));
        write_file(images() / "initramfs.cpio.gz", std::vector<u8>(4096, 0x1f));
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
        bhcc::CompileRequest request{description, {images()}, std::nullopt};
        if (with_kernel) request.kernel = kernel();
        return bhcc::compile_system(request);
    }

private:
    fs::path root_;
};

}  // namespace bhcc_test
