// bhcc, the configuration compiler: every malformed description in tests/config/bad is refused
// with its own message, and so are descriptions and images the kernel could not load.
#include <catch2/catch_test_macros.hpp>

#include "bhcc_support.hpp"

using namespace bhcc_test;

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
        {"controls-not-strings", "/partitions/alpha: controls must be a list of partition names"},
        {"controls-unknown", "/partitions/alpha: unknown partition \"gamma\" in controls"},
        {"controls-duplicate", "/partitions/alpha: partition \"beta\" is listed twice in controls"},
        {"controls-cycle", "/partitions/alpha: partitions control each other in a cycle: alpha -> beta -> alpha"},
        {"controls-cycle-long",
         "/partitions/alpha: partitions control each other in a cycle: alpha -> beta -> gamma -> alpha"},
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
        {"channel-compatible", "/channels/ch0: unexpected node: children of /channels must have compatible = \"bulkhead,channel\""},
        {"channel-missing-phys", "/channels/ch0: missing phys"},
        {"channel-writers-not-strings", "/channels/ch0: writers must be a list of partition names"},
        {"channel-size-not-power-of-two", "/channels/ch0: size 0x3000 must be a power of two from 4 KiB to 2 MiB"},
        {"channel-too-large", "/channels/ch0: size 0x400000 must be a power of two from 4 KiB to 2 MiB"},
        {"channel-misaligned", "/channels/ch0: phys 0x4a001000 is not aligned to the channel size 0x2000"},
        {"channel-outside-ram", "/channels/ch0: physical range [0xc0000000, 0xc0001000) is outside RAM [0x40000000, 0xc0000000)"},
        {"channel-over-kernel", "/channels/ch0: physical range [0x43000000, 0x43001000) overlaps the kernel region [0x40000000, 0x44000000)"},
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

TEST_CASE("bhcc refuses two partitions of one name in a .dtb (fuzz finding KNOWN-1)", "[bhcc]") {
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
                             ": PT_LOAD [0x40000000, 0x40000010) is outside the kernel image window " +
                             bhcc::hex_range(platform::kKernelImageBase,
                                             platform::kKernelImageLimit - platform::kKernelImageBase)) !=
          std::string::npos);
    CHECK(result.boot_image.empty());
}
