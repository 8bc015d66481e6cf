#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>

#include "caps/capability.hpp"
#include <bulkhead/crc32.hpp>
#include "boot/manifest_reader.hpp"
#include <bulkhead/manifest_writer.hpp>

using namespace bh;
using namespace bh::manifest;

namespace {

constexpr u64 kRwx = attr::kRead | attr::kWrite | attr::kExecute;
constexpr u64 kType(ObjectType t) { return static_cast<u64>(t); }

ManifestOp make_op(OpKind kind, u32 slot, u64 a0 = 0, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0,
                   const char* name = nullptr) {
    ManifestOp op{};
    op.kind = kind;
    op.slot = slot;
    op.arg[0] = a0;
    op.arg[1] = a1;
    op.arg[2] = a2;
    op.arg[3] = a3;
    if (name != nullptr) std::strncpy(op.name, name, kNameLength);
    return op;
}

// Lays out header | ops | images. LoadImage ops are written with arg2 (the payload offset)
// relative to the image area and rebased in build(), so tests can add ops without
// recomputing offsets.
struct Builder {
    std::vector<ManifestOp> ops;
    std::vector<u8> images;
    u32 ops_offset = sizeof(ManifestHeader);
    bool rebase_images = true;

    std::vector<u8> build() const {
        const u64 ops_end = ops_offset + ops.size() * sizeof(ManifestOp);
        std::vector<u8> out(ops_end + images.size());
        ManifestHeader h{};
        h.magic = kMagic;
        h.version = kVersion;
        h.op_size = sizeof(ManifestOp);
        h.op_count = static_cast<u32>(ops.size());
        h.ops_offset = ops_offset;
        h.ram_base = platform::kRamBase;
        h.ram_size = platform::kDefaultRamSize;
        std::memcpy(out.data(), &h, sizeof h);
        for (std::size_t i = 0; i < ops.size(); ++i) {
            ManifestOp op = ops[i];
            if (rebase_images && op.kind == OpKind::LoadImage) op.arg[2] += ops_end;
            std::memcpy(out.data() + ops_offset + i * sizeof(ManifestOp), &op, sizeof op);
        }
        if (!images.empty()) std::memcpy(out.data() + ops_end, images.data(), images.size());
        REQUIRE(manifest_finalize(out.data(), out.size()) == out.size());
        return out;
    }
};

// A v2 program of the shape bhcc emits: two partitions, alpha (2 vCPUs, one 2 MiB frame, the
// RTC page) and beta (no memory: structurally fine, the kernel would refuse its LoadImage).
Builder valid_builder() {
    Builder b;
    for (u8 i = 0; i < 32; ++i) b.images.push_back(static_cast<u8>(0xC0 + i));
    const u64 rwg = Rights::kRead | Rights::kWrite | Rights::kGrant;
    b.ops = {
        make_op(OpKind::Retype, kKernelUntypedSlot, kType(ObjectType::Partition), 16, 2, 1),         // 0
        make_op(OpKind::Retype, kKernelUntypedSlot, kType(ObjectType::CNode), 8, 3, 1),             // 1
        make_op(OpKind::CreatePartition, 2, 3, u64(RestartPolicy::Stop), 2, 0, "alpha"),            // 2
        make_op(OpKind::GrantCap, 3, 2, 1, rwg),                                                     // 3
        make_op(OpKind::CreateUntyped, 4, 0x4800'0000, 21, 0),                                       // 4
        make_op(OpKind::Retype, 4, kType(ObjectType::Frame), 21, 5, 1),                              // 5
        make_op(OpKind::MapFrame, 5, 2, 0x4000'0000, kRwx),                                          // 6
        make_op(OpKind::GrantCap, 5, 2, 2, rwg | Rights::kExecute),                                  // 7
        make_op(OpKind::CreateUntyped, 6, 0x0901'0000, 12, kUntypedDevice),                          // 8
        make_op(OpKind::Retype, 6, kType(ObjectType::DeviceMmio), 12, 7, 1),                         // 9
        make_op(OpKind::MapFrame, 7, 2, 0x0901'0000, attr::kRead | attr::kWrite),                    // 10
        make_op(OpKind::GrantCap, 7, 2, 3, Rights::kRead | Rights::kWrite),                          // 11
        make_op(OpKind::LoadImage, 0, 2, 0x4000'0000, 0, 16),                                        // 12
        make_op(OpKind::BindVcpu, 10, 2, 0, 1),                                                      // 13
        make_op(OpKind::BindVcpu, 11, 2, 1, 2),                                                      // 14
        make_op(OpKind::StartVcpu, 0, 2, 0, 0x4000'0000, 0x4000'0000 + (1 << 20)),                   // 15
        make_op(OpKind::Retype, kKernelUntypedSlot, kType(ObjectType::Partition), 16, 8, 1),         // 16
        make_op(OpKind::Retype, kKernelUntypedSlot, kType(ObjectType::CNode), 8, 9, 1),             // 17
        make_op(OpKind::CreatePartition, 8, 9, u64(RestartPolicy::Restart), 1, partition_flag::kOsGuest, "beta"),  // 18
        make_op(OpKind::LoadImage, 0, 8, 0x4000'0000, 16, 16),                                       // 19
        make_op(OpKind::BindVcpu, 12, 8, 0, 3),                                                      // 20
        make_op(OpKind::StartVcpu, 0, 8, 0, 0x4000'0000, 0),                                         // 21
        make_op(OpKind::Seal, 0),                                                                    // 22
    };
    return b;
}
constexpr u32 kValidOps = 23;

ManifestHeader get_header(const std::vector<u8>& m) {
    ManifestHeader h;
    std::memcpy(&h, m.data(), sizeof h);
    return h;
}
void put_header(std::vector<u8>& m, const ManifestHeader& h, bool refinalize = true) {
    std::memcpy(m.data(), &h, sizeof h);
    if (refinalize) {
        const u32 total = h.total_size;
        std::memcpy(m.data(), &h, sizeof h);
        // Keep a (possibly bogus) total_size but make the checksum match the bytes it covers.
        const u64 end = total <= m.size() && total >= kChecksumStart ? total : m.size();
        ManifestHeader g = h;
        g.checksum = crc32(m.data() + kChecksumStart, end - kChecksumStart);
        std::memcpy(m.data(), &g, sizeof g);
    }
}

struct Refusal {
    Status status;
    std::string reason;
    int op_index;
};

Refusal open_and_refuse(const std::vector<u8>& m, usize available) {
    ManifestReader r;
    const Status s = r.open(m.data(), available);
    INFO("reason: " << r.error().reason);
    REQUIRE(s != Status::Ok);
    REQUIRE_FALSE(r.valid());
    REQUIRE(r.error().status == s);
    return {s, r.error().reason, r.error().op_index};
}
Refusal refuse(const std::vector<u8>& m) { return open_and_refuse(m, m.size()); }
Refusal refuse(const Builder& b) { return refuse(b.build()); }

void check(const Refusal& got, Status status, const char* reason, int op_index) {
    CHECK(got.reason == reason);
    CHECK(got.status == status);
    CHECK(got.op_index == op_index);
}

}  // namespace

TEST_CASE("manifest: a valid manifest is accepted and readable", "[manifest][T-27][T-29]") {
    const Builder b = valid_builder();
    const std::vector<u8> m = b.build();
    ManifestReader r;
    REQUIRE(r.open(m.data(), m.size()) == Status::Ok);
    CHECK(r.valid());
    CHECK(r.error().status == Status::Ok);
    CHECK(r.header().magic == kMagic);
    CHECK(r.header().version == 6);
    CHECK(r.header().total_size == m.size());
    CHECK(r.op_count() == kValidOps);
    CHECK(r.partition_count() == 2);
    CHECK(r.vcpu_count(0) == 2);  // in CreatePartition order
    CHECK(r.vcpu_count(1) == 1);
    CHECK(r.vcpu_count(2) == 0);

    const ManifestOp create = r.op(2);
    CHECK(create.kind == OpKind::CreatePartition);
    CHECK(create.slot == 2);
    CHECK(create.arg[0] == 3);
    CHECK(std::string(create.name) == "alpha");
    CHECK(create.arg[3] == 0);
    CHECK(r.op(18).arg[3] == partition_flag::kOsGuest);  // a known flag is accepted
    const ManifestOp map = r.op(10);
    CHECK(map.kind == OpKind::MapFrame);
    CHECK(map.arg[2] == (attr::kRead | attr::kWrite));
    CHECK(r.op(kValidOps - 1).kind == OpKind::Seal);
    CHECK(r.op(kValidOps).kind == OpKind{});  // past the end: an empty op, never a read past the ops

    const u8* image0 = r.image(r.op(12));
    REQUIRE(image0 != nullptr);
    CHECK(image0 == m.data() + sizeof(ManifestHeader) + b.ops.size() * sizeof(ManifestOp));
    CHECK(image0[0] == 0xC0);
    const u8* image1 = r.image(r.op(19));
    REQUIRE(image1 != nullptr);
    CHECK(image1[0] == 0xD0);
    CHECK(r.image(r.op(6)) == nullptr);

    // A buffer larger than the manifest is fine: total_size says where it ends.
    std::vector<u8> bigger = m;
    bigger.resize(m.size() + 100, 0xEE);
    CHECK(r.open(bigger.data(), bigger.size()) == Status::Ok);
}

TEST_CASE("manifest: the structural checks leave types and semantics to the kernel", "[manifest][T-27]") {
    // Each of these is structurally fine, and each would be refused by the kernel when it runs
    // the op: the reader does not track what a slot holds.
    const std::vector<std::function<void(Builder&)>> edits = {
        [](Builder& b) { b.ops[6].slot = 4; },             // MapFrame of an Untyped
        [](Builder& b) { b.ops[6].arg[0] = 1; },           // "partition" in the kernel's untyped slot
        [](Builder& b) { b.ops[5].arg[1] = 13; },          // Frame of 8 KiB
        [](Builder& b) { b.ops[7].arg[2] = 0; },           // a grant with no rights
        [](Builder& b) { b.ops[6].arg[1] = 0x4000'0800; },  // unaligned IPA
        [](Builder& b) { b.ops[6].arg[2] = attr::kExecute; },  // execute-only
        [](Builder& b) { std::swap(b.ops[13], b.ops[15]); },   // started before bound
        [](Builder& b) { b.ops.insert(b.ops.begin() + 15, b.ops[15]); },  // started twice
        [](Builder& b) { b.ops[7].arg[3] = ~0ull; },        // a badge on a Frame grant
        [](Builder& b) {                                    // flows: declared, to itself, twice, to no partition
            b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 2, 8, u64(FlowKind::Memory)));
            b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 8, 2, u64(FlowKind::Signal)));
            b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 2, 2, u64(FlowKind::Signal)));
            b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 8, 2, u64(FlowKind::Signal)));
            b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 1, kBootSlots - 1, u64(FlowKind::Memory)));
        },
        [](Builder& b) {  // the largest and smallest values at every bound
            b.ops[4].arg[0] = 0;
            b.ops[4].arg[1] = caps::kMaxUntypedBits;
            b.ops[5].arg[2] = kBootSlots - caps::kMaxRetypeCount;
            b.ops[5].arg[3] = caps::kMaxRetypeCount;
            b.ops[5].arg[0] = kType(ObjectType::DmaStream);
            b.ops[7].arg[1] = (1u << caps::kMaxCNodeRadix) - 1;
            b.ops[7].arg[2] = Rights::kAllBits;
            b.ops[7].slot = kBootSlots - 1;
            b.ops[7].arg[0] = kBootSlots - 1;
            b.ops[14].arg[1] = kMaxVcpusPerPartition - 1;
            b.ops[14].arg[2] = platform::kMaxCores - 1;
        },
    };
    for (std::size_t i = 0; i < edits.size(); ++i) {
        INFO("edit " << i);
        Builder b = valid_builder();
        edits[i](b);
        const auto m = b.build();
        ManifestReader r;
        const Status s = r.open(m.data(), m.size());
        INFO(r.error().reason);
        CHECK(s == Status::Ok);
    }
}

TEST_CASE("manifest: ops may start after a gap and images may leave gaps", "[manifest][T-27]") {
    Builder b = valid_builder();
    b.ops_offset = sizeof(ManifestHeader) + 24;
    ManifestReader r;
    const auto m = b.build();
    REQUIRE(r.open(m.data(), m.size()) == Status::Ok);
    CHECK(r.image(r.op(12))[0] == 0xC0);
}

TEST_CASE("manifest: a failed open forgets the previous manifest", "[manifest][T-27]") {
    const auto m = valid_builder().build();
    ManifestReader r;
    CHECK_FALSE(r.valid());
    CHECK(r.error().status != Status::Ok);
    REQUIRE(r.open(m.data(), m.size()) == Status::Ok);
    auto bad = m;
    bad[0] ^= 1;
    CHECK(r.open(bad.data(), bad.size()) == Status::Corrupt);
    CHECK_FALSE(r.valid());
    CHECK(r.image(make_op(OpKind::LoadImage, 0, 2, 0, sizeof(ManifestHeader) + kValidOps * 64, 16)) == nullptr);
    CHECK(r.op(0).kind == OpKind{});
    CHECK(r.partition_count() == 0);
}

TEST_CASE("manifest: header refusals", "[manifest][T-27]") {
    const auto good = valid_builder().build();
    ManifestReader r;
    CHECK(r.open(nullptr, 100) == Status::InvalidArgument);
    CHECK(std::string(r.error().reason) == "no manifest buffer");

    check(open_and_refuse(good, sizeof(ManifestHeader) - 1), Status::OutOfRange,
          "buffer smaller than the manifest header", -1);
    check(open_and_refuse(good, good.size() - 1), Status::OutOfRange, "total size exceeds the buffer", -1);

    auto m = good;
    ManifestHeader h = get_header(m);
    SECTION("magic") {
        h.magic = 0x464d'4843;
        put_header(m, h);
        check(refuse(m), Status::Corrupt, "bad magic", -1);
    }
    SECTION("version") {
        // v1 (partition ops), v2 (embedded vCPUs), v3 (no partition flags), v4 (no PCIe functions) and v5
        // (no forwarded MMIO) are gone.
        for (u16 version : {u16{1}, u16{2}, u16{3}, u16{4}, u16{5}, u16{7}}) {
            h.version = version;
            put_header(m, h);
            check(refuse(m), Status::NotSupported, "unsupported manifest version", -1);
        }
    }
    SECTION("op size") {
        h.op_size = 72;
        put_header(m, h);
        check(refuse(m), Status::NotSupported, "unexpected op size", -1);
    }
    SECTION("total size below the header") {
        h.total_size = sizeof(ManifestHeader) - 8;
        put_header(m, h, false);
        check(refuse(m), Status::Corrupt, "total size smaller than the header", -1);
    }
    SECTION("total size beyond the payload region") {
        std::vector<u8> huge(platform::kPayloadMaxSize + 4096);
        std::memcpy(huge.data(), m.data(), m.size());
        REQUIRE(manifest_finalize(huge.data(), huge.size()) == huge.size());
        check(refuse(huge), Status::OutOfRange, "total size exceeds the payload region", -1);
    }
    SECTION("checksum: a flipped bit anywhere it covers") {
        for (std::size_t byte : {std::size_t{kChecksumStart}, std::size_t{30}, std::size_t{100}, good.size() - 1}) {
            m = good;
            m[byte] ^= 0x10;
            check(refuse(m), Status::Corrupt, "checksum mismatch", -1);
        }
        m = good;
        h.checksum ^= 1;
        put_header(m, h, false);
        check(refuse(m), Status::Corrupt, "checksum mismatch", -1);
    }
    SECTION("no ops") {
        h.op_count = 0;
        put_header(m, h);
        check(refuse(m), Status::Corrupt, "manifest has no ops", -1);
    }
    SECTION("too many ops") {
        h.op_count = kMaxOps + 1;
        put_header(m, h);
        check(refuse(m), Status::OutOfRange, "too many ops", -1);
    }
    SECTION("ops overlapping the header") {
        h.ops_offset = 8;
        put_header(m, h);
        check(refuse(m), Status::Corrupt, "ops overlap the header", -1);
    }
    SECTION("ops past the end") {
        h.op_count = kValidOps + 1;  // one more than there are, and the images are too short to hold it
        put_header(m, h);
        check(refuse(m), Status::OutOfRange, "ops extend past the total size", -1);
        h.op_count = kValidOps;
        h.ops_offset = 0xFFFF'FFF0u;  // 64-bit arithmetic: no wrap-around into the buffer
        put_header(m, h);
        check(refuse(m), Status::OutOfRange, "ops extend past the total size", -1);
    }
    SECTION("RAM range") {
        h.ram_size = 0;
        put_header(m, h);
        check(refuse(m), Status::Corrupt, "invalid RAM range", -1);
        h.ram_size = 0x1000;
        h.ram_base = 0xFFFF'FFFF'FFFF'F000ull;
        put_header(m, h);
        check(refuse(m), Status::Corrupt, "invalid RAM range", -1);
        h.ram_base = 0x4000'0800;
        put_header(m, h);
        check(refuse(m), Status::Corrupt, "invalid RAM range", -1);
    }
}

TEST_CASE("manifest: op refusals name the op and the reason", "[manifest][T-27][T-74]") {
    struct Case {
        const char* reason;
        Status status;
        int op_index;
        std::function<void(Builder&)> edit;
    };
    constexpr u64 kTooBig = 1ull << 63;
    const std::vector<Case> cases = {
        // Seal: exactly once, last.
        {"manifest does not end with a seal op", Status::Corrupt, -1,
         [](Builder& b) { b.ops.pop_back(); }},
        {"seal is not the last op", Status::Corrupt, 22,
         [](Builder& b) { b.ops.push_back(make_op(OpKind::Seal, 0)); }},
        {"seal is not the last op", Status::Corrupt, 0,
         [](Builder& b) { b.ops.insert(b.ops.begin(), make_op(OpKind::Seal, 0)); }},
        // Kinds: 1..15 only (the v1 numbers 1..6 meant other ops; 0 and 16 never existed).
        {"unknown op kind", Status::NotSupported, 3, [](Builder& b) { b.ops[3].kind = OpKind{0}; }},
        {"unknown op kind", Status::NotSupported, 3, [](Builder& b) { b.ops[3].kind = OpKind{16}; }},
        {"unknown op kind", Status::NotSupported, 0, [](Builder& b) { b.ops[0].kind = OpKind{0xFFFF'FFFF}; }},
        // Boot slots named by `slot`: [kFirstFreeBootSlot, kBootSlots); Retype's untyped may be slot 1.
        {"boot slot out of range", Status::OutOfRange, 4, [](Builder& b) { b.ops[4].slot = 0; }},
        {"boot slot out of range", Status::OutOfRange, 4, [](Builder& b) { b.ops[4].slot = kKernelUntypedSlot; }},
        {"boot slot out of range", Status::OutOfRange, 4, [](Builder& b) { b.ops[4].slot = kBootSlots; }},
        {"boot slot out of range", Status::OutOfRange, 5, [](Builder& b) { b.ops[5].slot = 0; }},
        {"boot slot out of range", Status::OutOfRange, 5, [](Builder& b) { b.ops[5].slot = kBootSlots; }},
        {"boot slot out of range", Status::OutOfRange, 2, [](Builder& b) { b.ops[2].slot = kKernelUntypedSlot; }},
        {"boot slot out of range", Status::OutOfRange, 6, [](Builder& b) { b.ops[6].slot = 0xFFFF'FFFF; }},
        {"boot slot out of range", Status::OutOfRange, 7, [](Builder& b) { b.ops[7].slot = kKernelUntypedSlot; }},
        {"boot slot out of range", Status::OutOfRange, 7, [](Builder& b) { b.ops[7].slot = kBootSlots; }},
        // Partition arguments: [1, kBootSlots).
        {"partition slot out of range", Status::OutOfRange, 6, [](Builder& b) { b.ops[6].arg[0] = 0; }},
        {"partition slot out of range", Status::OutOfRange, 7, [](Builder& b) { b.ops[7].arg[0] = kBootSlots; }},
        {"partition slot out of range", Status::OutOfRange, 12, [](Builder& b) { b.ops[12].arg[0] = 0; }},
        {"partition slot out of range", Status::OutOfRange, 13, [](Builder& b) { b.ops[13].arg[0] = kTooBig; }},
        {"partition slot out of range", Status::OutOfRange, 15, [](Builder& b) { b.ops[15].arg[0] = kBootSlots; }},
        // CreateUntyped.
        {"untyped size out of range", Status::OutOfRange, 4, [](Builder& b) { b.ops[4].arg[1] = 11; }},
        {"untyped size out of range", Status::OutOfRange, 4, [](Builder& b) { b.ops[4].arg[1] = 49; }},
        {"untyped size out of range", Status::OutOfRange, 4, [](Builder& b) { b.ops[4].arg[1] = kTooBig; }},
        {"untyped not aligned to its size", Status::Misaligned, 4,
         [](Builder& b) { b.ops[4].arg[0] = 0x4810'0000; }},
        {"untyped not aligned to its size", Status::Misaligned, 8,
         [](Builder& b) { b.ops[8].arg[0] = 0x0901'0800; }},
        {"untyped beyond the physical address space", Status::OutOfRange, 4,
         [](Builder& b) { b.ops[4].arg[0] = 1ull << 48; }},
        {"untyped beyond the physical address space", Status::OutOfRange, 4,
         [](Builder& b) { b.ops[4].arg[0] = 0xFFFF'FFFF'FFE0'0000ull; }},
        {"unknown untyped flags", Status::InvalidArgument, 8, [](Builder& b) { b.ops[8].arg[2] = 2; }},
        {"unknown untyped flags", Status::InvalidArgument, 4, [](Builder& b) { b.ops[4].arg[2] = kTooBig; }},
        // Retype.
        {"unknown object type", Status::InvalidArgument, 5, [](Builder& b) { b.ops[5].arg[0] = 0; }},
        {"unknown object type", Status::InvalidArgument, 5, [](Builder& b) { b.ops[5].arg[0] = 12; }},
        {"unknown object type", Status::InvalidArgument, 0, [](Builder& b) { b.ops[0].arg[0] = kTooBig + 3; }},
        {"retype count out of range", Status::OutOfRange, 5, [](Builder& b) { b.ops[5].arg[3] = 0; }},
        {"retype count out of range", Status::OutOfRange, 5, [](Builder& b) { b.ops[5].arg[3] = 257; }},
        {"retype destination out of range", Status::OutOfRange, 5, [](Builder& b) { b.ops[5].arg[2] = 0; }},
        {"retype destination out of range", Status::OutOfRange, 0,
         [](Builder& b) { b.ops[0].arg[2] = kKernelUntypedSlot; }},
        {"retype destination out of range", Status::OutOfRange, 5,
         [](Builder& b) { b.ops[5].arg[2] = kBootSlots; }},
        {"retype destination out of range", Status::OutOfRange, 5,
         [](Builder& b) {  // the last destination one past the boot CNode
             b.ops[5].arg[2] = kBootSlots - 10;
             b.ops[5].arg[3] = 11;
         }},
        {"retype destination out of range", Status::OutOfRange, 5,
         [](Builder& b) { b.ops[5].arg[2] = 0xFFFF'FFFF'FFFF'FFFFull; }},  // first + count wraps
        // CreatePartition.
        {"CNode slot out of range", Status::OutOfRange, 2, [](Builder& b) { b.ops[2].arg[0] = kKernelUntypedSlot; }},
        {"CNode slot out of range", Status::OutOfRange, 18, [](Builder& b) { b.ops[18].arg[0] = kBootSlots; }},
        {"partition name not NUL-terminated", Status::Corrupt, 2,
         [](Builder& b) { std::memset(b.ops[2].name, 'x', kNameLength); }},
        {"empty partition name", Status::InvalidArgument, 18,
         [](Builder& b) { std::memset(b.ops[18].name, 0, kNameLength); }},
        {"unknown restart policy", Status::InvalidArgument, 2, [](Builder& b) { b.ops[2].arg[1] = 2; }},
        {"vcpu count out of range", Status::OutOfRange, 2, [](Builder& b) { b.ops[2].arg[2] = 0; }},
        {"vcpu count out of range", Status::OutOfRange, 18,
         [](Builder& b) { b.ops[18].arg[2] = kMaxVcpusPerPartition + 1; }},
        {"unknown partition flags", Status::InvalidArgument, 2, [](Builder& b) { b.ops[2].arg[3] = 1u << 3; }},
        {"unknown partition flags", Status::InvalidArgument, 18,
         [](Builder& b) { b.ops[18].arg[3] = partition_flag::kOsGuest | (1ull << 63); }},
        {"console input without a virtual UART", Status::InvalidArgument, 18,
         [](Builder& b) { b.ops[18].arg[3] = partition_flag::kConsoleInput | partition_flag::kVirtualGic; }},
        {"console input given to two partitions", Status::Exists, 18,
         [](Builder& b) {
             b.ops[2].arg[3] = b.ops[18].arg[3] = partition_flag::kConsoleInput | partition_flag::kVirtualUart;
         }},
        {"too many partitions", Status::OutOfRange, static_cast<int>(kMaxPartitions),
         [](Builder& b) {
             b.ops.clear();
             for (u32 i = 0; i <= kMaxPartitions; ++i)
                 b.ops.push_back(make_op(OpKind::CreatePartition, 2 + 2 * i, 3 + 2 * i, 0, 1, 0, "p"));
             b.ops.push_back(make_op(OpKind::Seal, 0));
         }},
        // MapFrame.
        {"mapping without access", Status::InvalidArgument, 6, [](Builder& b) { b.ops[6].arg[2] = 0; }},
        {"device attribute in the manifest (the kernel sets it)", Status::InvalidArgument, 10,
         [](Builder& b) { b.ops[10].arg[2] |= attr::kDevice; }},
        {"unknown memory attribute bits", Status::InvalidArgument, 6,
         [](Builder& b) { b.ops[6].arg[2] |= 1u << 3; }},
        {"unknown memory attribute bits", Status::InvalidArgument, 6,
         [](Builder& b) { b.ops[6].arg[2] = kTooBig | attr::kRead; }},
        // GrantCap.
        {"CSpace index out of range", Status::OutOfRange, 3, [](Builder& b) { b.ops[3].arg[1] = 0; }},
        {"CSpace index out of range", Status::OutOfRange, 7,
         [](Builder& b) { b.ops[7].arg[1] = 1u << caps::kMaxCNodeRadix; }},
        {"unknown rights bits", Status::InvalidArgument, 7, [](Builder& b) { b.ops[7].arg[2] = 1u << 5; }},
        {"unknown rights bits", Status::InvalidArgument, 11,
         [](Builder& b) { b.ops[11].arg[2] = kTooBig | Rights::kRead; }},
        // DeclareFlow: both partitions by boot slot (not 0, below kBootSlots), kind Memory or Signal.
        {"partition slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 0, 8, 1)); }},
        {"partition slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, kBootSlots, 8, 1)); }},
        {"destination partition slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 2, 0, 2)); }},
        {"destination partition slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 2, kTooBig, 2)); }},
        {"unknown flow kind", Status::InvalidArgument, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 2, 8, 0)); }},
        {"unknown flow kind", Status::InvalidArgument, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 2, 8, 4)); }},
        {"unknown flow kind", Status::InvalidArgument, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::DeclareFlow, 0, 2, 8, kTooBig | 1)); }},
        // CreateAuditLog: a program slot (once and before seal are the kernel's checks).
        {"boot slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::CreateAuditLog, kKernelUntypedSlot)); }},
        {"boot slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::CreateAuditLog, kBootSlots)); }},
        // CreateIrqHandler: a program slot and an assignable SPI (platform::kAssignableSpis).
        {"boot slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::CreateIrqHandler, kKernelUntypedSlot, 34)); }},
        {"boot slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::CreateIrqHandler, kBootSlots, 34)); }},
        {"interrupt not assignable to partitions", Status::InvalidArgument, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::CreateIrqHandler, 100, 33)); }},
        {"interrupt not assignable to partitions", Status::InvalidArgument, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::CreateIrqHandler, 100, kTooBig | 34)); }},
        // AssignPciFunction: a program slot, a partition, a function of bus 0, a 32-bit identity.
        {"boot slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::AssignPciFunction, kKernelUntypedSlot, 2, 0x18, 0x11e81234)); }},
        {"partition slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::AssignPciFunction, 100, 0, 0x18, 0x11e81234)); }},
        {"not a function of bus 0", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::AssignPciFunction, 100, 2, 0x100, 0x11e81234)); }},
        {"identity wider than 32 bits", Status::InvalidArgument, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::AssignPciFunction, 100, 2, 0x18, 1ull << 32)); }},
        // PlacePciBar: a partition, a function of bus 0, BAR 0..5, a 32-bit address.
        {"partition slot out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::PlacePciBar, 0, 0, 0x18, 0, 0x1000'0000)); }},
        {"not a function of bus 0", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::PlacePciBar, 0, 2, kTooBig, 0, 0x1000'0000)); }},
        {"BAR index out of range", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::PlacePciBar, 0, 2, 0x18, 6, 0x1000'0000)); }},
        {"BAR beyond the 32-bit window", Status::OutOfRange, 22,
         [](Builder& b) { b.ops.insert(b.ops.begin() + 22, make_op(OpKind::PlacePciBar, 0, 2, 0x18, 0, 1ull << 32)); }},
        // LoadImage.
        {"empty image", Status::InvalidArgument, 12, [](Builder& b) { b.ops[12].arg[3] = 0; }},
        {"image outside the manifest's image area", Status::OutOfRange, 19,
         [](Builder& b) { b.ops[19].arg[3] = 17; }},  // one byte past the end
        {"image outside the manifest's image area", Status::OutOfRange, 12,
         [](Builder& b) {
             b.rebase_images = false;
             b.ops[12].arg[2] = sizeof(ManifestHeader) + 20 * sizeof(ManifestOp);  // inside the ops
         }},
        {"image outside the manifest's image area", Status::OutOfRange, 12,
         [](Builder& b) {
             b.rebase_images = false;
             b.ops[12].arg[2] = 0xFFFF'FFFF'FFFF'FFF0ull;  // offset + size wraps
         }},
        {"image destination wraps", Status::OutOfRange, 12,
         [](Builder& b) { b.ops[12].arg[1] = 0xFFFF'FFFF'FFFF'FFF8ull; }},
        // BindVcpu (its Vcpu by boot slot; whether that slot holds one is the kernel's check), StartVcpu.
        {"boot slot out of range", Status::OutOfRange, 13, [](Builder& b) { b.ops[13].slot = 0; }},
        {"boot slot out of range", Status::OutOfRange, 13, [](Builder& b) { b.ops[13].slot = kBootSlots; }},
        {"vcpu index out of range", Status::OutOfRange, 14,
         [](Builder& b) { b.ops[14].arg[1] = kMaxVcpusPerPartition; }},
        {"physical core out of range", Status::OutOfRange, 20,
         [](Builder& b) { b.ops[20].arg[2] = platform::kMaxCores; }},
        {"physical core out of range", Status::OutOfRange, 20, [](Builder& b) { b.ops[20].arg[2] = kTooBig; }},
        {"vcpu index out of range", Status::OutOfRange, 21,
         [](Builder& b) { b.ops[21].arg[1] = kMaxVcpusPerPartition; }},
    };
    for (const Case& c : cases) {
        INFO("case: " << c.reason << " at op " << c.op_index);
        Builder b = valid_builder();
        c.edit(b);
        check(refuse(b), c.status, c.reason, c.op_index);
    }
}

TEST_CASE("manifest: limits are inclusive", "[manifest][T-27]") {
    Builder b;
    for (u32 i = 0; i < kMaxPartitions; ++i)
        b.ops.push_back(make_op(OpKind::CreatePartition, 2 + 2 * i, 3 + 2 * i, 0, kMaxVcpusPerPartition, 0,
                                "a-name-of-23-characters"));
    while (b.ops.size() < kMaxOps - 1)
        b.ops.push_back(make_op(OpKind::GrantCap, kBootSlots - 1, kBootSlots - 1, (1u << 12) - 1, Rights::kAllBits));
    b.ops.push_back(make_op(OpKind::Seal, 0));
    const auto m = b.build();
    ManifestReader r;
    const Status s = r.open(m.data(), m.size());
    INFO(r.error().reason);
    REQUIRE(s == Status::Ok);
    CHECK(r.partition_count() == kMaxPartitions);
    CHECK(r.op_count() == kMaxOps);
}

TEST_CASE("manifest: every single-bit corruption is refused with its exact reason", "[manifest][INV-2][T-27]") {
    // Each bit of the manifest flipped in turn, the checksum left as it was: the refusal is the
    // one the field that bit lies in calls for, decided here from the layout alone.
    const auto good = valid_builder().build();
    const ManifestHeader h = get_header(good);
    u32 flips = 0;
    for (std::size_t byte = 0; byte < good.size(); ++byte) {
        for (unsigned bit = 0; bit < 8; ++bit) {
            auto m = good;
            m[byte] ^= static_cast<u8>(1u << bit);
            Status status = Status::Corrupt;
            const char* reason = "checksum mismatch";  // every byte from kChecksumStart on, and the checksum
            if (byte < 4) {
                reason = "bad magic";
            } else if (byte < 6) {
                status = Status::NotSupported, reason = "unsupported manifest version";
            } else if (byte < 8) {
                status = Status::NotSupported, reason = "unexpected op size";
            } else if (byte < 12) {
                const u32 total = get_header(m).total_size;
                if (total < sizeof(ManifestHeader)) {
                    reason = "total size smaller than the header";
                } else if (total > m.size()) {
                    status = Status::OutOfRange, reason = "total size exceeds the buffer";
                } else {
                    // Shorter: the checksum now covers fewer bytes than it was computed over.
                    REQUIRE(crc32(m.data() + kChecksumStart, total - kChecksumStart) != h.checksum);
                }
            }
            INFO("byte " << byte << " bit " << bit);
            check(refuse(m), status, reason, -1);
            ++flips;
        }
    }
    CHECK(flips == good.size() * 8);
}

TEST_CASE("manifest: a corrupted header field with a matching checksum gets that field's refusal", "[manifest]") {
    // The same flips in the fields after the checksum, re-checksummed (as a writer that got the
    // field wrong would): op count, ops offset, RAM range.
    const auto good = valid_builder().build();
    const ManifestHeader h = get_header(good);
    REQUIRE(h.op_count == kValidOps);
    REQUIRE(h.ops_offset == sizeof(ManifestHeader));
    auto flipped = [&](auto edit) {
        auto m = good;
        ManifestHeader g = h;
        edit(g);
        put_header(m, g);
        return m;
    };
    for (unsigned bit = 0; bit < 32; ++bit) {
        INFO("op_count bit " << bit);
        const u32 count = h.op_count ^ (1u << bit);
        const auto m = flipped([&](ManifestHeader& g) { g.op_count = count; });
        if (count > kMaxOps) {
            check(refuse(m), Status::OutOfRange, "too many ops", -1);
        } else if (count > h.op_count) {  // the images are too short to hold the extra ops
            check(refuse(m), Status::OutOfRange, "ops extend past the total size", -1);
        } else {  // fewer ops: every one of them valid, the last not the seal
            check(refuse(m), Status::Corrupt, "manifest does not end with a seal op", -1);
        }
    }
    for (unsigned bit = 0; bit < 32; ++bit) {
        INFO("ops_offset bit " << bit);
        const u32 offset = h.ops_offset ^ (1u << bit);
        const auto m = flipped([&](ManifestHeader& g) { g.ops_offset = offset; });
        const u64 ops_end = u64{offset} + u64{kValidOps} * sizeof(ManifestOp);
        if (offset < sizeof(ManifestHeader)) {
            check(refuse(m), Status::Corrupt, "ops overlap the header", -1);
        } else if (ops_end > m.size()) {
            check(refuse(m), Status::OutOfRange, "ops extend past the total size", -1);
        } else if (offset == h.ops_offset + 4) {
            // Op 0 read 4 bytes late: Retype(slot 1, Partition, 16, ...) becomes kind 1
            // (CreateUntyped) in slot 3 with size_bits 2 << 32.
            check(refuse(m), Status::OutOfRange, "untyped size out of range", 0);
        } else {
            // 1, 2 or 16 bytes late: op 0's kind is 0x01000000, 0x00010000 or 16.
            INFO("offset " << offset);
            CHECK((offset == h.ops_offset + 1 || offset == h.ops_offset + 2 || offset == h.ops_offset + 16));
            check(refuse(m), Status::NotSupported, "unknown op kind", 0);
        }
    }
    // RAM: a misaligned or empty range is malformed; any other is taken by the reader and refused
    // by the boot's RAM check (platform::manifest_ram_supported).
    for (unsigned bit = 0; bit < 64; ++bit) {
        for (const bool is_size : {false, true}) {
            INFO((is_size ? "ram_size" : "ram_base") << " bit " << bit);
            const auto m = flipped([&](ManifestHeader& g) { (is_size ? g.ram_size : g.ram_base) ^= 1ull << bit; });
            if (bit < kPageShift || (is_size && (h.ram_size ^ (1ull << bit)) == 0)) {
                check(refuse(m), Status::Corrupt, "invalid RAM range", -1);
                continue;
            }
            ManifestReader r;
            REQUIRE(r.open(m.data(), m.size()) == Status::Ok);
            CHECK_FALSE(platform::manifest_ram_supported(r.header().ram_base, r.header().ram_size));
        }
    }
}

TEST_CASE("manifest: finalize", "[manifest][T-27]") {
    std::vector<u8> tiny(sizeof(ManifestHeader) - 1);
    CHECK(manifest_finalize(tiny.data(), tiny.size()) == 0);
    auto m = valid_builder().build();
    const ManifestHeader h = get_header(m);
    CHECK(h.total_size == m.size());
    CHECK(h.checksum == crc32(m.data() + kChecksumStart, m.size() - kChecksumStart));
}

TEST_CASE("manifest: partition flags are accepted in every combination the rules allow", "[manifest]") {
    namespace flag = partition_flag;
    for (u64 flags : {u64{0}, flag::kVirtualGic, flag::kVirtualUart, flag::kVirtualGic | flag::kVirtualUart,
                      flag::kVirtualUart | flag::kConsoleInput, flag::kAll}) {
        Builder b = valid_builder();
        b.ops[2].arg[3] = flags;
        b.ops[18].arg[3] = flags & ~flag::kConsoleInput;  // console input: one partition at most
        const std::vector<u8> m = b.build();
        ManifestReader r;
        INFO("flags " << flags);
        CHECK(r.open(m.data(), m.size()) == Status::Ok);
        CHECK(r.op(2).arg[3] == flags);
    }
}
