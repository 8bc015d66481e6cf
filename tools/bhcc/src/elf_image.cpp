#include <bhcc/elf_image.hpp>

#include <cstring>
#include <fstream>
#include <iterator>

namespace bhcc {
namespace {

// Offsets into Elf64_Ehdr / Elf64_Phdr; read field by field so that a truncated or hostile
// file can never be read past its end.
constexpr std::size_t kEhdrSize = 64;
constexpr std::size_t kPhdrSize = 56;
constexpr u16 kTypeExec = 2;
constexpr u32 kPtLoad = 1;

template <typename T>
[[nodiscard]] T read_le(const std::vector<u8>& bytes, std::size_t offset) {
    T value{};
    std::memcpy(&value, bytes.data() + offset, sizeof(T));  // host and ELF are little endian
    return value;
}

[[nodiscard]] ElfParse refuse(std::string reason) { return {std::nullopt, std::move(reason)}; }

}  // namespace

ElfParse parse_aarch64_elf(std::vector<u8> bytes) {
    if (bytes.size() < kEhdrSize || std::memcmp(bytes.data(), "\x7f" "ELF", 4) != 0) {
        return refuse("no ELF header");
    }
    if (bytes[4] != 2) return refuse("not ELFCLASS64");
    if (bytes[5] != 1) return refuse("not little endian");
    const u16 type = read_le<u16>(bytes, 16);
    const u16 machine = read_le<u16>(bytes, 18);
    if (machine != kElfMachineAarch64) {
        return refuse("e_machine is " + std::to_string(machine) + ", expected 183 (AArch64)");
    }
    if (type != kTypeExec) return refuse("e_type is " + std::to_string(type) + ", expected ET_EXEC");
    const u64 phoff = read_le<u64>(bytes, 32);
    const u16 phentsize = read_le<u16>(bytes, 54);
    const u16 phnum = read_le<u16>(bytes, 56);
    if (phnum == 0) return refuse("no program headers");
    if (phentsize != kPhdrSize) return refuse("unexpected e_phentsize");
    if (phoff > bytes.size() || (bytes.size() - phoff) / kPhdrSize < phnum) {
        return refuse("program headers lie outside the file");
    }

    ElfImage image;
    image.entry = read_le<u64>(bytes, 24);
    for (u16 i = 0; i < phnum; ++i) {
        const std::size_t at = phoff + std::size_t{i} * kPhdrSize;
        if (read_le<u32>(bytes, at) != kPtLoad) continue;
        ElfSegment segment{read_le<u32>(bytes, at + 4),  read_le<u64>(bytes, at + 8),
                           read_le<u64>(bytes, at + 16), read_le<u64>(bytes, at + 24),
                           read_le<u64>(bytes, at + 32), read_le<u64>(bytes, at + 40),
                           read_le<u64>(bytes, at + 48)};
        if (segment.memsz == 0) continue;
        if (segment.filesz > segment.memsz) return refuse("a PT_LOAD has p_filesz > p_memsz");
        if (segment.offset > bytes.size() || segment.filesz > bytes.size() - segment.offset) {
            return refuse("a PT_LOAD's data lies outside the file");
        }
        if (!bh::range_valid(segment.paddr, segment.memsz)) return refuse("a PT_LOAD wraps around");
        image.loads.push_back(segment);
    }
    if (image.loads.empty()) return refuse("no loadable segment");
    image.bytes = std::move(bytes);
    return {std::move(image), {}};
}

std::optional<std::vector<u8>> read_file_bytes(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return std::nullopt;
    std::vector<u8> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (file.bad()) return std::nullopt;
    return bytes;
}

}  // namespace bhcc
