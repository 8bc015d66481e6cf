// bhcc refuses what the kernel refuses (issue 13 item 10). Every refusal the kernel can make of
// a boot manifest — ManifestReader's, the boot program's, the kernel parts' boot operations' and
// the boot's RAM check — is listed below, found by reading the kernel's sources (so a new
// refusal without an entry fails this test, and so does an entry whose refusal is gone), with
// either
//   * a description that produces it: bhcc refuses that description with its own rule, and the
//     same description packed *without* bhcc's validation is refused by the kernel (reader, RAM
//     check, boot program on a host Kernel, as at boot) with exactly that reason; or
//   * why no description can produce it (what bhcc emits never breaks that rule, or another
//     refusal always comes first), with the bound computed here where it is a number.
// docs/system-description.md ("What the kernel refuses, and bhcc first") is this table in words.
#include <catch2/catch_test_macros.hpp>

#include "bhcc_workspace.hpp"

#include <bhcc/description_parser.hpp>
#include <bhcc/device_tree_source.hpp>
#include <bhcc/elf_image.hpp>
#include <bhcc/manifest_builder.hpp>

#include <arch/host/host_memory.hpp>
#include <boot/boot_program.hpp>
#include <boot/manifest_reader.hpp>
#include <bulkhead/objects.hpp>
#include <bulkhead/platform.hpp>
#include <kernel.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <new>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace bhcc_test;
namespace manifest = bh::manifest;
namespace platform = bh::platform;
using bh::Status;

// ---------------------------------------------------------------- the kernel's refusals

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every reason text the kernel gives for refusing a manifest or one of its ops: the string
// literals of each refuse(...)/fail(...) call in the generic kernel (the parts' operations and
// ManifestReader's), of the Outcome and Result values it returns as refusals, the boot
// program's own reasons, and the boot's refuse_to_boot(-1, "manifest", ...) (kernel/entry.cpp).
// The invariant checker (kernel/invariants/) refuses nothing: it reports.
std::set<std::string> kernel_refusals() {
    std::set<std::string> reasons;
    const std::regex call(R"(\b(?:refuse|fail)\(([^;]*?)\);)");
    const std::regex literal(R"re("((?:[^"\\]|\\.)*)")re");
    auto literals_in = [&](const std::string& text, const std::regex& around) {
        for (auto it = std::sregex_iterator(text.begin(), text.end(), around); it != std::sregex_iterator(); ++it) {
            const std::string args = (*it)[1];
            for (auto l = std::sregex_iterator(args.begin(), args.end(), literal); l != std::sregex_iterator(); ++l)
                if ((*l)[1] != "ok") reasons.insert((*l)[1]);  // BootResult's success
        }
    };
    for (const auto& entry : fs::recursive_directory_iterator(kSourceDir / "kernel")) {
        const std::string relative = fs::relative(entry.path(), kSourceDir / "kernel").string();
        const bool source = entry.path().extension() == ".cpp" || entry.path().extension() == ".hpp";
        if (!source || relative.starts_with("arch/") || relative.starts_with("invariants/") ||
            relative.starts_with("include/"))
            continue;
        const std::string text = read_text(entry.path());
        literals_in(text, call);
        literals_in(text, std::regex(R"(BootResult\{([^}]*)\})"));
        literals_in(text, std::regex(R"(\bOutcome(?: [A-Za-z]+)?\{([^}]*)\})"));
        literals_in(text, std::regex(R"(Result<[A-Za-z]+>\((Status::[^;]*?)\);)"));
    }
    literals_in(read_text(kSourceDir / "kernel/entry.cpp"), std::regex(R"(refuse_to_boot\(-1, "manifest", ([^;]*)\);)"));
    return reasons;
}

// ---------------------------------------------------------------- the kernel's verdict

struct Verdict {
    Status status;
    std::string reason;
};

// The manifest bhcc would pack for a description, and the PCIe functions it names: the machine
// it is compiled for has them, as it describes them (tools/qemu-run plugs them into QEMU).
struct Packed {
    std::vector<u8> bytes;
    std::vector<bhcc::PciFunction> functions;
};

// What the kernel does with `packed` at boot (kernel_entry::boot, kernel/entry.cpp): the reader
// over the whole payload region (the image places the payload at its start), the RAM check,
// then the boot program on a fresh Kernel of the reference machine with the described PCIe
// functions on its bus.
Verdict kernel_verdict(const Packed& packed) {
    const std::vector<u8>& payload = packed.bytes;
    static std::vector<u8> region(platform::kPayloadMaxSize);
    std::fill(region.begin(), region.end(), u8{0});
    std::memcpy(region.data(), payload.data(), std::min<std::size_t>(payload.size(), region.size()));
    bh::ManifestReader reader;
    if (!bh::ok(reader.open(region.data(), region.size()))) return {reader.error().status, reader.error().reason};
    if (!platform::manifest_ram_supported(reader.header().ram_base, reader.header().ram_size))
        return {Status::OutOfRange, "compiled for RAM this machine does not have"};
    bh::host::reset_all();
    for (const bhcc::PciFunction& f : packed.functions) {
        std::vector<bh::host::FakeBar> bars(6);
        for (const bhcc::PciBar& b : f.bars)
            if (b.index < bars.size()) bars[b.index].size = b.size;
        bh::host::pci_add_function(f.bdf(), static_cast<u16>(f.vendor), static_cast<u16>(f.device_id), bars);
    }
    alignas(bh::Kernel) static unsigned char storage[sizeof(bh::Kernel)];
    auto* kernel = new (storage) bh::Kernel();
    REQUIRE(kernel->init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores).ok());
    const bh::BootResult result = bh::run_boot_program(*kernel, reader);
    kernel->~Kernel();
    return {result.outcome.status(), result.outcome.reason()};
}

// The manifest bhcc would pack for `description` if it skipped its own rules: parsed, then
// built from the workspace's images as they are (no image check).
Packed pack_without_validation(const fs::path& description, const Workspace& workspace) {
    const bhcc::DeviceTreeBlob blob = bhcc::load_device_tree(description);
    REQUIRE(blob.outcome == bhcc::LoadOutcome::Ok);
    bhcc::Diagnostics ignored;
    const std::optional<bhcc::SystemDescription> system = bhcc::parse_description(blob.bytes, ignored);
    REQUIRE(system.has_value());
    std::vector<bhcc::ElfImage> images;
    for (const bhcc::Partition& p : system->partitions) {
        auto bytes = bhcc::read_file_bytes(workspace.images() / p.image);
        REQUIRE(bytes.has_value());
        bhcc::ElfParse elf = bhcc::parse_aarch64_elf(std::move(*bytes));
        REQUIRE(elf.image.has_value());
        images.push_back(std::move(*elf.image));
    }
    return Packed{bhcc::build_manifest(*system, images).bytes, system->pci_functions};
}

// ---------------------------------------------------------------- descriptions made here

// One partition `name` on `core` with `ram` (its memory nodes), the rest of a description.
std::string partition_node(const std::string& name, unsigned core, const std::string& body,
                           const std::string& image = "heartbeat.elf") {
    return "        " + name + " {\n            compatible = \"bulkhead,partition\";\n            cpus = <" +
           std::to_string(core) + ">;\n            image = \"" + image + "\";\n" + body + "        };\n";
}
std::string region_node(const std::string& name, u64 ipa, u64 phys, u64 size, const char* access, bool mapped = true) {
    auto cells = [](u64 v) {
        char text[32];
        std::snprintf(text, sizeof text, "<0x%x 0x%x>", static_cast<unsigned>(v >> 32), static_cast<unsigned>(v));
        return std::string(text);
    };
    std::string text = "            " + name + " {\n                compatible = \"bulkhead,memory\";\n";
    if (mapped) text += "                ipa = " + cells(ipa) + ";\n";
    else text += "                unmapped;\n";
    text += "                phys = " + cells(phys) + ";\n                size = " + cells(size) +
            ";\n                access = \"" + access + "\";\n            };\n";
    return text;
}
// `before` and `after` are more root children, around /partitions.
std::string system_text(const std::string& partitions, const std::string& before = "", const std::string& after = "") {
    return "/dts-v1/;\n/ {\n    compatible = \"bulkhead,system-v1\";\n    #address-cells = <2>;\n    #size-cells = <2>;\n" +
           before + "    partitions {\n" + partitions + "    };\n" + after + "};\n";
}
constexpr u64 k2M = 2ull << 20;
// The usual first region: 2 MiB rwx at the guest RAM IPA, where heartbeat.elf loads.
std::string code_region(u64 phys) { return region_node("ram", platform::kGuestRamIpa, phys, k2M, "rwx"); }

// Misaligned RAM size (rule R5).
std::string ram_misaligned() {
    return system_text(partition_node("alpha", 1, code_region(0x4800'0000)),
                       "    memory@40000000 {\n        device_type = \"memory\";\n        reg = <0x0 0x40000000 0x0 0x7ffff800>;\n    };\n");
}
// An IPA 2 KiB past a page boundary (rule M6).
std::string ipa_misaligned() {
    return system_text(partition_node("alpha", 1, region_node("ram", 0x4000'0800, 0x4800'0000, k2M, "rwx")));
}
// Two partitions of 130 unmapped 4 KiB regions each: 2 x 131 + 2 untyped regions, past the
// kernel's 256 (rule L4).
std::string too_many_untyped_regions() {
    std::string partitions;
    for (unsigned p = 0; p < 2; ++p) {
        std::string body = code_region(0x4800'0000 + p * 0x0100'0000);
        for (unsigned r = 0; r < 130; ++r)
            body += region_node("spare" + std::to_string(r), 0, 0x5000'0000 + p * 0x0100'0000 + r * 0x2000, 0x1000, "rw",
                                false);
        partitions += partition_node(p == 0 ? "alpha" : "beta", 1 + p, body);
    }
    return system_text(partitions);
}
// A 4 KiB region whose second page would lie at 2^40 (rule M9).
std::string ipa_past_40_bits() {
    return system_text(partition_node("alpha", 1, code_region(0x4800'0000) +
                                                     region_node("data", 0xff'ffff'f000, 0x4900'0000, 0x2000, "rw")));
}
// One notification with two waiters that do not signal it (rule N5).
std::string two_waiters() {
    std::string partitions;
    const char* names[] = {"alpha", "beta", "gamma"};
    for (unsigned p = 0; p < 3; ++p) partitions += partition_node(names[p], 1 + p, code_region(0x4800'0000 + p * 0x0100'0000));
    return system_text(partitions, "",
           "    notifications {\n        n0 {\n            compatible = \"bulkhead,notification\";\n"
           "            signallers = \"alpha\";\n            waiters = \"beta\", \"gamma\";\n        };\n    };\n");
}

// ---------------------------------------------------------------- the table

struct Produced {
    std::string description;  // a file under tests/config/bad/ or the regressions, or made here
    std::function<std::string()> make;  // when the description is made here
    std::string bhcc_message;  // "<node>: <message>" bhcc's rule gives
    Status kernel_status;      // what the kernel does with it when bhcc's rules are skipped
    // False when bhcc's parser stops before a system exists (rules marked "stop"), or when
    // packing it anyway is not meaningful (a name longer than the manifest's field).
    bool packable = true;
};

struct Entry {
    std::vector<Produced> produced;  // empty: `why_not` says why no description produces it
    std::string why_not;
};

// Bounds behind several "cannot be produced" answers, from the rules that give them: at most
// kMaxCores partitions (C7: one core each), each with at most 254 caps besides its CNode (M17);
// every cap costs at most two boot slots (an untyped and a frame, or a channel's untyped and
// object shared by two members) and at most three ops (CreateUntyped, Retype, GrantCap), plus
// one MapFrame per boot mapping (M14).
constexpr u64 kMaxCaps = platform::kMaxCores * 254;
constexpr u64 kMaxBootSlots = manifest::kFirstFreeBootSlot +
                              platform::kMaxCores * (2 + manifest::kMaxVcpusPerPartition) + 2 * kMaxCaps +
                              platform::kAssignableSpiCount;
constexpr u64 kMaxOps = platform::kMaxCores * (5 + manifest::kMaxImagesPerPartition + 2 * manifest::kMaxVcpusPerPartition) +
                        3 * kMaxCaps + platform::kMaxCores * manifest::kMaxMappingsPerPartition +
                        2 * platform::kAssignableSpiCount + 2 * platform::kMaxCores * platform::kMaxCores + 1;
// Kernel object memory: per partition its object, CNode and vCPUs (each aligned to its size:
// at most 2 x 64 KiB), and one page per notification (at least two members' caps each).
constexpr u64 kMaxObjectMemory = platform::kMaxCores * 2 * (1ull << 16) + kMaxCaps / 2 * bh::kPageSize;
static_assert(kMaxBootSlots < manifest::kBootSlots, "boot slots: rule L3 is unreachable");
static_assert(kMaxOps < manifest::kMaxOps, "ops: rule L1 is unreachable");
static_assert(kMaxObjectMemory < platform::kObjectMemorySize, "kernel object memory cannot run out");

const char* const kByConstruction =
    "by construction: build_manifest writes it from ABI constants and the validated description "
    "(manifest_builder.cpp), never from a value the description controls";

std::map<std::string, Entry> refusal_table() {
    const std::string bad = kBadDir.string() + "/";
    const std::string regressions = (kSourceDir / "fuzz/regressions/bhcc").string() + "/";
    auto file = [&](const std::string& name, const std::string& message, Status status, bool packable = true) {
        return Produced{bad + name + ".dts", nullptr, message, status, packable};
    };
    auto made = [](const std::string& name, std::function<std::string()> make, const std::string& message, Status status) {
        return Produced{name, std::move(make), message, status, true};
    };
    const Entry construction{{}, kByConstruction};
    const std::string slots = "at most " + std::to_string(kMaxBootSlots) +
                              " boot slots can be needed (this file's kMaxBootSlots; 4 partitions by C7, 255 "
                              "caps each by M17), fewer than the boot CNode's 4096, so rule L3 never fires";
    std::map<std::string, Entry> t;
    // ---- ManifestReader: the header, and op fields bhcc writes from constants
    for (const char* r : {"no manifest buffer", "buffer smaller than the manifest header", "bad magic",
                          "unsupported manifest version", "unexpected op size", "total size smaller than the header",
                          "manifest has no ops", "ops overlap the header", "ops extend past the total size",
                          "checksum mismatch", "manifest does not end with a seal op", "seal is not the last op",
                          "unknown op kind", "unknown untyped flags", "unknown object type", "retype count out of range",
                          "unknown restart policy", "unknown rights bits", "unknown flow kind", "empty image",
                          "image outside the manifest's image area", "device attribute in the manifest (the kernel sets it)",
                          "untyped not aligned to its size", "unknown memory attribute bits", "unknown partition flags"})
        t[r] = construction;
    t["total size exceeds the buffer"] = {{file("payload-too-large", "/: the payload (manifest and images) is ",
                                                Status::OutOfRange)}, ""};
    t["total size exceeds the payload region"] = {
        {}, "at boot the reader is given exactly the payload region (kPayloadMaxSize bytes), so a larger "
            "manifest is refused as 'total size exceeds the buffer' first; bhcc refuses it with rule L2"};
    t["too many ops"] = {{}, "at most " + std::to_string(kMaxOps) +
                                 " ops can be emitted (this file's kMaxOps), fewer than 4096: rule L1 never fires"};
    t["invalid RAM range"] = {{made("ram-misaligned", ram_misaligned,
                                    "/memory@40000000: RAM must be a non-empty, 4 KiB aligned range", Status::Corrupt)}, ""};
    // ---- ManifestReader: the ops
    for (const char* r : {"boot slot out of range", "retype destination out of range", "CNode slot out of range",
                          "partition slot out of range", "destination partition slot out of range"})
        t[r] = {{}, slots};
    t["untyped size out of range"] = {
        {}, "untyped blocks are 4 KiB to 2^47 bytes: regions are 4 KiB aligned (M6) in the machine's RAM (R7), "
            "channels 4 KiB to 2 MiB (CH4), device windows the platform's"};
    t["untyped beyond the physical address space"] = {
        {}, "every untyped lies in RAM (M10, CH6) or an assignable MMIO window, all below 2^40, and RAM is the "
            "machine's (R7)"};
    t["too many partitions"] = {{file("too-many-partitions", "/partitions: too many partitions (17, at most 16)",
                                      Status::OutOfRange, false)}, ""};
    t["partition name not NUL-terminated"] = {
        {file("name-too-long", "/partitions/a-partition-name-too-long: partition name is longer than 23 characters",
              Status::Corrupt, false)}, ""};
    t["empty partition name"] = {{Produced{regressions + "empty-partition-name-valid-structure.dtb", nullptr,
                                           "/partitions/: partition name is empty", Status::InvalidArgument, true}}, ""};
    t["vcpu count out of range"] = {{file("cpus-empty", "/partitions/alpha: cpus is empty", Status::OutOfRange),
                                     file("cpus-too-many", "/partitions/alpha: cpus lists 5 cores, at most 4", Status::OutOfRange)}, ""};
    t["mapping without access"] = {{file("execute-only-access",
                                         "/partitions/alpha/ram: access \"x\" must use only r, w and x, each once, and include r or w",
                                         Status::InvalidArgument)}, ""};
    t["CSpace index out of range"] = {{}, "CSpace indices stop at 255 (M17), below the reader's 4096; "
                                          "the kernel's own CSpace bound is 'no such slot in the partition's CSpace'"};
    t["image destination wraps"] = {{}, "a LoadImage lies inside one mapped region (I4), which does not wrap (M8)"};
    t["vcpu index out of range"] = {{}, "BindVcpu and StartVcpu indices are below the partition's vCPU count, "
                                        "which C4 bounds by 4 (and the reader checks CreatePartition's count first)"};
    t["physical core out of range"] = {{file("core-out-of-range", "/partitions/alpha: core 4 is out of range (0..3)",
                                             Status::OutOfRange)}, ""};
    t["interrupt not assignable to partitions"] = {{file("interrupt-not-assignable",
                                                         "/partitions/alpha: interrupt 33 is not assignable to partitions",
                                                         Status::InvalidArgument)}, ""};
    // ---- the boot program and the aarch64 boot
    t["manifest not validated"] = {{}, "the boot program runs only a manifest the reader accepted"};
    t["no partition in that boot slot"] = construction;
    t["invariant violated after this op"] = {
        {}, "debug kernels only (BH_DEBUG_INVARIANTS); the bhcc fuzz target checks every invariant after booting "
            "each description bhcc accepts"};
    t["compiled for RAM this machine does not have"] = {
        {file("ram-not-the-machines", "/memory@40000000: RAM must start at 0x40000000 and end by 0xc0000000 (the machine's RAM)",
              Status::OutOfRange)}, ""};
    // ---- System::init (the machine, not the manifest)
    for (const char* r : {"core count", "RAM range", "boot CNode not reachable", "object memory"})
        t[r] = {{}, "System::init: the machine the kernel runs on, before any manifest is read"};
    // ---- System: boot operations
    t["system is sealed"] = {{}, "Seal is the last op (the reader refuses anything after it)"};
    t["unknown op"] = {{}, "the reader refuses every op kind it does not know before the program runs"};
    t["the audit log's cap already exists"] = {{}, "bhcc emits CreateAuditLog once, however many partitions read the log"};
    t["boot slot occupied"] = {{}, "bhcc gives CreateAuditLog a boot slot no other op has used"};
    t["no such boot slot"] = {{}, "the reader refuses a boot slot out of range first; " + slots};
    t["too many untyped regions"] = {{made("too-many-untyped-regions", too_many_untyped_regions,
                                           "/: the system needs 262 untyped regions, at most 256", Status::NoMemory)}, ""};
    t["memory outside RAM"] = {{file("region-outside-ram", "/partitions/alpha/ram: physical range [0xc0000000, 0xc1000000) is outside RAM",
                                     Status::OutOfRange)}, ""};
    t["memory already given to a partition"] = {{file("physical-overlap", "/partitions/beta/ram: physical memory overlaps /partitions/alpha/ram",
                                                      Status::Overlap)}, ""};
    t["MMIO not assignable to partitions"] = {{file("reserved-device", "/partitions/alpha: device \"gic\" is reserved for the kernel",
                                                    Status::Denied)}, ""};
    t["memory overlaps the kernel region"] = {{file("region-over-kernel",
                                                    "/partitions/alpha/ram: physical range [0x43000000, 0x44000000) overlaps the kernel region",
                                                    Status::Denied)}, ""};
    t["cannot install the untyped cap"] = {{}, "caps::create_root refuses an occupied slot (boot slots are never "
                                               "reused), a malformed cap (sizes and alignment by construction) or RAM "
                                               "outside the machine's (R7, M10)"};
    t["kernel memory cannot become mappable memory"] = {
        {}, "Frames and Channels are retyped only from bhcc's own untypeds, which lie outside the kernel region "
            "(M11, CH6; create_untyped refuses first)"};
    t["retype refused"] = {{}, "types, sizes, counts (at most 256 per retype) and free destination slots by "
                               "construction; kernel object memory cannot run out (at most " +
                                   std::to_string(kMaxObjectMemory >> 10) + " KiB of 16 MiB, this file's kMaxObjectMemory)"};
    t["invalid partition name"] = {{file("name-invalid", "/partitions/Alpha: partition name may contain only a-z, 0-9, '_' and '-'",
                                         Status::InvalidArgument),
                                    file("name-reserved", "/partitions/bulkhead: partition name 'bulkhead' is reserved for the kernel",
                                         Status::InvalidArgument)}, ""};
    t["vCPU count out of range"] = {{}, "the reader refuses the same count first ('vcpu count out of range')"};
    t["duplicate partition name"] = {{Produced{regressions + "duplicate-partition-name.dtb", nullptr,
                                               "/partitions/p1: partition name already used by /partitions/p1", Status::Exists, true}}, ""};
    for (const char* r : {"not a Partition cap", "not a CNode cap", "partition already created",
                          "CNode is already a partition's CSpace", "no memory for the stage-2 root",
                          "not a Frame, DeviceMmio or Channel cap", "capability already mapped",
                          "frame mapped by another partition", "access exceeds the capability's rights",
                          "badge on a cap that is not a Notification or Channel", "grant refused",
                          "a flow from a partition to itself", "not a configured partition", "empty image segment",
                          "not a Vcpu cap", "Vcpu object outside RAM", "no such vCPU", "vCPU already bound",
                          "Vcpu object already bound", "only vCPU 0 starts at boot", "entry already set",
                          "a partition has no entry point", "a vCPU is not bound to a core",
                          "a declared flow has no capability behind it"})
        t[r] = construction;
    t["unknown partition flags"] = {{}, "bhcc sets only the flags of the three properties virtual-gic, virtual-uart "
                                        "and console-input (manifest_builder.cpp)"};
    t["console input without a virtual UART"] = {
        {file("console-input-without-uart",
              "/partitions/alpha: console-input needs virtual-uart (the input arrives at its UART)",
              Status::InvalidArgument)}, ""};
    t["console input given to two partitions"] = {
        {file("console-input-twice", "/partitions/beta: console-input is already given to /partitions/alpha",
              Status::Exists)}, ""};
    t["IPA range holds an emulated device"] = {
        {file("emulated-window-overlap",
              "/partitions/alpha/gic: IPA range [0x80a0000, 0x80b0000) overlaps the emulated GIC redistributors",
              Status::Exists)}, ""};
    t["invalid access attributes"] = {{}, "the reader refuses the same attributes first"};
    t["execute-only mapping"] = {{}, "access must include r or w (M5): no region's attributes are execute-only"};
    t["device memory cannot be executable"] = {{}, "devices are mapped kRead | kWrite, never executable"};
    t["channel memory cannot be executable"] = {{}, "bhcc maps no channel at boot"};
    t["image segment in channel memory (shared, never loaded)"] = {{}, "bhcc maps no channel at boot"};
    t["too many mappings"] = {{file("too-many-mappings", "/partitions/alpha: partition maps 65 frames and device pages at boot, at most 64",
                                    Status::NoMemory)}, ""};
    t["IPA not aligned to the frame"] = {{made("ipa-misaligned", ipa_misaligned,
                                               "/partitions/alpha/ram: ipa 0x40000800 is not 4 KiB aligned", Status::Misaligned)}, ""};
    t["IPA range refused by stage 2"] = {
        {file("ipa-overlap", "/partitions/alpha/data: IPA range overlaps /partitions/alpha/ram", Status::Exists),
         made("ipa-past-40-bits", ipa_past_40_bits,
              "/partitions/alpha/data: IPA range [0xfffffff000, 0x10000001000) exceeds the 40-bit IPA space",
              Status::OutOfRange),
         file("too-many-stage2-tables",
              "/partitions/alpha: the boot mappings need 15 stage-2 table pages, the partition object holds 12",
              Status::NoMemory)},
        ""};
    t["not mapped in this partition"] = {{}, "FrameUnmap only (System::unmap_frame): no boot op unmaps"};
    t["no such slot in the partition's CSpace"] = {{file("too-many-capabilities",
                                                         "/partitions/alpha: partition needs more than 255 capabilities",
                                                         Status::OutOfRange)}, ""};
    t["interrupt handler already created or slot occupied"] = {
        {file("interrupt-two-partitions", "/partitions/beta: interrupt 39 is already given to /partitions/alpha", Status::Exists),
         file("interrupt-twice", "/partitions/alpha: interrupt 34 is listed twice", Status::Exists)}, ""};
    t["too many image segments"] = {{file("image-too-many-segments",
                                          "/partitions/alpha: image \"many-segments.elf\" has 9 PT_LOAD segments with file data, at most 8",
                                          Status::NoMemory)}, ""};
    t["image segment outside the partition's memory"] = {
        {file("image-in-unmapped", "/partitions/alpha: image \"heartbeat.elf\": PT_LOAD [0x40000000, 0x40002000) is not inside",
              Status::OutOfRange)}, ""};
    t["no such core, or it is not online"] = {
        {}, "cores are below kMaxCores (C5); the reference machine brings all 4 online (-smp 4): only a machine with "
            "fewer cores than the platform's refuses here"};
    t["core already bound"] = {{file("core-shared", "/partitions/beta: core 1 is already assigned to /partitions/alpha", Status::Exists),
                                file("core-duplicate", "/partitions/alpha: core 1 is listed twice", Status::Exists)}, ""};
    t["entry point not 4-byte aligned"] = {{file("entry-misaligned",
                                                 "/partitions/alpha: image \"odd-entry.elf\": entry point 0x40000002 is not 4-byte aligned",
                                                 Status::Misaligned)}, ""};
    t["entry point not in executable memory"] = {{file("entry-not-executable",
                                                       "/partitions/alpha: image \"stray-entry.elf\": entry point 0x41000000 is not in an executable",
                                                       Status::OutOfRange)}, ""};
    t["no partitions"] = {{file("no-partition", "/partitions: no partitions defined", Status::NotFound, false)}, ""};
    t["a partition has no memory"] = {{}, "every image needs a mapped region (I4) and so does its entry point (I6)"};
    t["partitions control each other in a cycle"] = {{file("controls-cycle",
                                                           "/partitions/alpha: partitions control each other in a cycle: alpha -> beta -> alpha",
                                                           Status::Denied)}, ""};
    t["an interrupt is given to two partitions"] = {
        {}, "each SPI's IrqHandler cap is created once and granted to one partition without Grant (IR3, IR4); "
            "CreateIrqHandler refuses a second one first"};
    t["a notification can be waited on by two partitions"] = {
        {made("two-waiters", two_waiters, "/notifications/n0: waiters must name exactly one partition (2 named)",
              Status::Denied)}, ""};
    t["a frame is held by two partitions"] = {
        {}, "bhcc grants each frame and device page only to the partition whose region or device it was made "
            "for, and regions and devices never overlap (create_untyped refuses any overlap first)"};
    t["capabilities allow an undeclared information flow"] = {
        {}, "bhcc declares exactly flows_of(ipc_grants), the kernel's own rule over the same grants, and memory is "
            "shared only through channels (M12, CH7, D4; create_untyped refuses any other overlap first)"};
    // ---- PCIe functions and DMA streams (AssignPciFunction, PlacePciBar, seal's pcie check). The
    // verdict runs on a machine with the functions the description names, as it describes them.
    const std::string described =
        "the machine has the PCIe functions the description names, as it describes them (tools/qemu-run plugs "
        "them into QEMU): only a machine whose devices differ from the description is refused here";
    t["not a function of bus 0, or the host bridge"] = {
        {file("pci-host-bridge", "/pci/edu: device 0 is the PCIe host bridge", Status::OutOfRange)}, ""};
    t["function already assigned"] = {
        {file("pci-function-twice", "/pci/edu2: function 00:03.0 is already given by /pci/edu", Status::Exists)}, ""};
    t["too many PCIe functions"] = {
        {file("pci-too-many-functions", "/pci: too many PCIe functions (33, at most 32)", Status::NoMemory)}, ""};
    t["BAR index out of range"] = {{file("pci-bar-index", "/pci/edu: bar 6: a function has BARs 0 to 5", Status::OutOfRange)}, ""};
    t["BAR already placed"] = {{file("pci-bar-twice", "/pci/edu: bar 0 is listed twice", Status::Exists)}, ""};
    for (const char* r : {"no PCIe function at that address", "the function is another device, or not an endpoint",
                          "not a memory BAR of the function", "a memory BAR of an assigned PCIe function is not placed"})
        t[r] = {{}, described};
    t["BAR address not aligned to its size"] = {
        {}, "bhcc gives each BAR a naturally aligned slot of at least its size (pci_layout.cpp); " + described};
    t["BAR beyond the 32-bit window"] = {{}, "PlacePciBar addresses are bhcc's slots, inside the 32-bit window (pci_layout.cpp)"};
    t["BAR outside the 32-bit PCIe MMIO window"] = {
        {}, "bhcc's slots lie inside the window; BARs that do not fit are refused ('/pci: the BARs do not fit', "
            "pci-bars-too-large) and then no BAR is packed"};
    t["BAR overlaps another placed BAR"] = {{}, "bhcc's slots are disjoint (pci_layout.cpp)"};
    t["not a PCIe function of this partition"] = {
        {}, "bhcc places the BARs of each function for the partition it assigns it to (manifest_builder.cpp)"};
    t["a DmaStream cap is held by a partition its function is not assigned to"] = {
        {}, "bhcc grants each function's DmaStream cap to its owner only (manifest_builder.cpp); the QEMU test "
            "qemu.manifest-stream-grant shows the kernel refusing a manifest that grants it elsewhere"};
    for (const char* r : {"a partition holds device memory over another partition's PCIe BAR",
                          "a partition maps device memory over another partition's PCIe BAR"})
        t[r] = {{}, "the one device window over the BARs is pcie-mmio, which bhcc gives no partition once /pci exists "
                    "(pci-mmio-device); given anyway, its 2 MiB pages are more than a partition may map ('too many "
                    "mappings' comes first), and its untyped overlaps the BARs' ('memory already given to a partition')"};
    t["not a function of bus 0"] = {
        {}, "a function's device is 0..31 and its function 0..7 (the parser), so its requester ID is below 256; a "
            "malformed function packs no op"};
    t["identity wider than 32 bits"] = construction;
    t["slot occupied"] = {{}, "boot slots are never reused: manifest_builder.cpp allocates each once"};
    t["cannot install the DmaStream cap"] = {{}, "the slot was found empty and the cap is made from constants: "
                                                 "caps::create_root has nothing to refuse"};
    t["no such BAR"] = {{}, "the reader refuses a BAR index above 5 first ('BAR index out of range')"};
    t["no such DMA stream"] = {{}, "AssignPciFunction refuses a function beyond bus 0 first"};
    // ---- forwarded MMIO (ForwardMmio; bhcc's rules in forward_rules.cpp come first)
    const std::string forward_rule = "bhcc refuses the description first (forward_rules.cpp: ";
    t["a partition forwarding to itself"] = {{}, forward_rule + "'client and server are the same partition')"};
    t["the partition forwards a window already"] = {{}, forward_rule + "'client \"..\" forwards .. already')"};
    t["forwarded window not page-aligned or empty"] = {{}, forward_rule + "'window .. must be 4 KiB aligned, non-empty ..')"};
    t["forwarded window outside the IPA space"] = {{}, forward_rule + "'window .. inside the IPA space')"};
    t["forwarded window over a mapping of the client"] = {{}, forward_rule + "'window .. overlaps <region>')"};
    t["forwarded window over an emulated device"] = {{}, forward_rule + "'window .. overlaps an emulated device of ..')"};
    t["request page is not a Frame of at least 4 KiB"] = {{}, "bhcc names the 4 KiB Frame it retypes over `requests` (manifest_builder.cpp)"};
    t["request page outside RAM"] = {{}, forward_rule + "'requests .. must be a 4 KiB aligned page of RAM ..'); create_untyped refuses it first"};
    t["doorbell is not a Notification cap with Write"] = {{}, "bhcc names the Notification it retyped for the doorbell, whose boot cap has every right (manifest_builder.cpp)"};
    t["doorbell badge 0"] = {{}, "bhcc's badges are 1 << (31 - the forward's position), never 0 (forward_badge; at most 16 forwards)"};
    t["device interrupt without a virtual GIC"] = {{}, forward_rule + "'interrupt needs a client with virtual-gic')"};
    t["device interrupt not a free virtual SPI"] = {{}, forward_rule + "'interrupt .. must be a virtual SPI from 32 to 63 ..')"};
    t["no server partition in that boot slot"] = {{}, "bhcc names the server's Partition boot slot (manifest_builder.cpp); unknown names are refused first"};
    t["doorbell slot out of range"] = {{}, "boot slots bhcc allocates are below the boot CNode's size (check_manifest_limits refuses more first)"};
    t["server partition slot out of range"] = {{}, "the server's Partition boot slot is one bhcc allocated (check_manifest_limits)"};
    t["the stream's cap was made already"] = {{}, "a function is assigned once ('function already assigned' comes first)"};
    for (const char* r : {"not a DmaStream cap", "the cap has no Control right", "the function is not the caller's",
                          "no SMMU that can translate DMA", "the stream is bound already", "the cap bound nothing"})
        t[r] = {{}, "DmaStreamBind and DmaStreamUnbind only: no boot op binds a stream"};
    return t;
}

}  // namespace

TEST_CASE("every kernel refusal of a manifest has an entry: a description bhcc refuses, or why none exists", "[bhcc][refusals]") {
    const std::set<std::string> kernel = kernel_refusals();
    const std::map<std::string, Entry> table = refusal_table();
    REQUIRE(kernel.size() > 80);  // the scan found the kernel's refusals, not nothing
    for (const std::string& reason : kernel) {
        INFO("kernel refusal without an entry: \"" << reason << "\"");
        CHECK(table.count(reason) == 1);
    }
    for (const auto& [reason, entry] : table) {
        INFO("entry for a refusal the kernel no longer makes: \"" << reason << "\"");
        CHECK(kernel.count(reason) == 1);
        CHECK(entry.produced.empty() != entry.why_not.empty());
    }
}

TEST_CASE("bhcc refuses every description that produces a kernel refusal, with its own rule", "[bhcc][refusals]") {
    Workspace workspace;
    // The image payload-too-large.dts names, besides the workspace's own.
    const u64 too_big = platform::kPayloadMaxSize + 1;
    write_file(workspace.images() / "huge.elf",
               make_elf(kMachineAarch64, kGuestEntry, {{0x4000'0000, too_big, too_big, kFlagsRx, 7}}));

    unsigned cases = 0;
    for (const auto& [reason, entry] : refusal_table()) {
        for (const Produced& p : entry.produced) {
            INFO("kernel refusal \"" << reason << "\", description " << p.description);
            fs::path path = p.description;
            if (p.make) {
                path = workspace.file(p.description + ".dts");
                write_text(path, p.make());
            }
            REQUIRE(fs::exists(path));
            const bhcc::CompileResult result = workspace.compile(path, false);
            INFO("bhcc: " << result.errors);
            CHECK(result.status == bhcc::ExitStatus::Invalid);
            CHECK(result.errors.find(path.string() + ": " + p.bhcc_message) != std::string::npos);
            if (p.packable) {
                const Verdict verdict = kernel_verdict(pack_without_validation(path, workspace));
                CHECK(verdict.reason == reason);
                CHECK(verdict.status == p.kernel_status);
            }
            ++cases;
        }
    }
    CHECK(cases >= 30);
}
