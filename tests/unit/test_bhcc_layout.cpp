// bhcc, the configuration compiler: the shipped descriptions are accepted and packed into the
// program the kernel expects: untyped blocks, frames, the CSpace layout, Control caps, cores.
#include <catch2/catch_test_macros.hpp>

#include "bhcc_support.hpp"

using namespace bhcc_test;

TEST_CASE("demo.dts packs into the expected v3 program", "[bhcc]") {
    Workspace workspace;
    const bhcc::CompileResult result = workspace.compile(kSourceDir / "config/demo.dts");
    INFO(result.errors);
    REQUIRE(result.status == bhcc::ExitStatus::Ok);
    const std::vector<u8>& payload = result.manifest.bytes;

    const ManifestHeader header = header_of(payload);
    CHECK(header.magic == manifest::kMagic);
    CHECK(header.version == 3);
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

TEST_CASE("the CSpace layout: own CNode at 1, frames in region order, then device pages", "[bhcc]") {
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

TEST_CASE("regions are split into naturally aligned power-of-two untyped blocks", "[bhcc]") {
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

TEST_CASE("a 6 MiB region gives a 4 MiB and a 2 MiB untyped, frames mapped in IPA order", "[bhcc]") {
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

TEST_CASE("4 KiB frames when the IPA is not 2 MiB aligned; retypes of at most 256", "[bhcc]") {
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

TEST_CASE("controls: Control-only Partition caps after every partition, at the next free index", "[bhcc]") {
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

TEST_CASE("controls: cycles between different partitions are found, one message per cycle", "[bhcc]") {
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

TEST_CASE("control.dts: the manager holds victim's Partition cap at the index its guest uses", "[bhcc]") {
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
        if (op.kind == OpKind::BindVcpu) cores.push_back(op.arg[2]);
        if (op.kind == OpKind::StartVcpu) CHECK(op.arg[3] == 6);
    }
    CHECK(names == std::vector<std::string>{"p0", "p1", "p2", "p3"});
    CHECK(cores == std::vector<u64>{0, 1, 2, 3});
}
