// bhcc, the configuration compiler: every shipped description compiles and passes the kernel's
// reader; the boot image, the .dtb input, the dump and the self-check.
#include <catch2/catch_test_macros.hpp>

#include "bhcc_support.hpp"

using namespace bhcc_test;

TEST_CASE("every shipped description compiles and passes the kernel's reader", "[bhcc]") {
    Workspace workspace;
    write_file(workspace.images() / "faulter.elf", make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
    write_file(workspace.images() / "manager.elf", make_elf(kMachineAarch64, kGuestEntry, kAttackerSegments));
    for (const char* name : {"config/demo.dts", "config/quad.dts", "config/tests/caps.dts", "config/tests/faults.dts",
                             "config/tests/restart.dts", "config/tests/traps.dts", "config/tests/control.dts"}) {
        INFO(name);
        const bhcc::CompileResult result = workspace.compile(kSourceDir / name, false);
        INFO(result.errors);
        CHECK(result.status == bhcc::ExitStatus::Ok);
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
    INFO(dump);
    const char* lines[] = {
        "manifest v3: 81 ops, ",
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

TEST_CASE("the self-check is the kernel's ManifestReader and refuses a corrupted payload", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts", false);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    CHECK(bhcc::self_check_manifest(result.manifest.bytes).empty());
    std::vector<u8> corrupted = result.manifest.bytes;
    corrupted.back() ^= 0x01;  // an image byte: only the checksum can notice
    CHECK(bhcc::self_check_manifest(corrupted) == "refused by ManifestReader: checksum mismatch");
}
