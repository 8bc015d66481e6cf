// bhcc, the configuration compiler: channels and notifications, their grants and badges, and
// exactly the information flows they allow.
#include <catch2/catch_test_macros.hpp>

#include "bhcc_support.hpp"

using namespace bhcc_test;

TEST_CASE("channels and notifications: objects, grants, badges and exactly the flows they allow", "[bhcc]") {
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

TEST_CASE("ipc.dts: channel and notification caps at the indices its guest uses", "[bhcc]") {
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

TEST_CASE("flows_of: writers reach every other member, readers reach nobody, each flow once", "[bhcc]") {
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

TEST_CASE("channel and notification caps count against the CSpace (rule M17)", "[bhcc]") {
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
