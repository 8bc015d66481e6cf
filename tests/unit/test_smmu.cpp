// The SMMUv3 formats (kernel/arch/aarch64/smmu_format.hpp) and the host fake SMMU that reads them
// (kernel/arch/host/smmu_host.cpp): stream table entries, commands, event records, queue
// arithmetic, and the fake's caching, which makes a forgotten invalidation visible to tests.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>

#include "arch/aarch64/smmu_format.hpp"
#include "arch/arch.hpp"
#include "arch/smmu.hpp"
#include "arch/host/host_memory.hpp"
#include "memory/object_memory.hpp"
#include "arch/stage2.hpp"

using namespace bh;
using namespace bh::manifest::attr;

namespace {

constexpr u64 kRoot = 0x4100'6000;

bool same(const smmu::Ste& a, const smmu::Ste& b) { return std::equal(a.word, a.word + 8, b.word); }

}  // namespace

TEST_CASE("an STE aborts or translates with exactly the partition's stage-2 geometry", "[smmu][T-9][INV-3]") {
    const smmu::Ste a = smmu::ste_abort();
    CHECK(smmu::decode_ste(a).kind == smmu::SteView::Kind::Abort);
    CHECK(smmu::decode_ste(a).exact);

    const smmu::Ste s = smmu::ste_stage2(kRoot, 9);
    const smmu::SteView v = smmu::decode_ste(s);
    CHECK(v.kind == smmu::SteView::Kind::Stage2);
    CHECK(v.vmid == 9);
    CHECK(v.root == kRoot);
    CHECK(v.exact);
    // Word 2 carries VTCR_EL2's [18:0] at [50:32]: T0SZ 24, SL0 1, WBWA, inner shareable, 4 KiB, 40-bit PA.
    CHECK(((s.word[2] >> 32) & 0x7'FFFF) == (kVtcrEl2 & 0x7'FFFF));
    CHECK((s.word[2] & smmu::kSteS2Aa64) != 0);
    CHECK((s.word[2] & smmu::kSteS2R) != 0);  // every stage-2 fault is recorded
    CHECK((s.word[2] & (smmu::kSteS2S | smmu::kSteS2Affd | smmu::kSteS2Endi | smmu::kSteS2Ha | smmu::kSteS2Hd)) == 0);

    // Any other bit makes the entry one the kernel did not write.
    for (unsigned w = 0; w < 8; ++w) {
        for (unsigned bit = 0; bit < 64; bit += 7) {
            smmu::Ste t = s;
            t.word[w] ^= 1ull << bit;
            const smmu::SteView tv = smmu::decode_ste(t);
            const bool still_this = tv.kind == smmu::SteView::Kind::Stage2 && tv.exact && tv.vmid == 9 && tv.root == kRoot;
            CHECK_FALSE(still_this);
        }
    }
    // Config values: bypass and stage 1 are told apart from abort; an invalid entry is invalid.
    smmu::Ste bypass{};
    bypass.word[0] = smmu::kSteValid | smmu::ste_config_bits(smmu::SteConfig::Bypass);
    CHECK(smmu::decode_ste(bypass).kind == smmu::SteView::Kind::Bypass);
    smmu::Ste s1{};
    s1.word[0] = smmu::kSteValid | smmu::ste_config_bits(smmu::SteConfig::Stage1);
    CHECK(smmu::decode_ste(s1).kind == smmu::SteView::Kind::Other);
    CHECK(smmu::decode_ste(smmu::Ste{}).kind == smmu::SteView::Kind::Invalid);
}

TEST_CASE("commands and event records encode the fields the kernel uses", "[smmu][T-82]") {
    CHECK(smmu::opcode(smmu::cmd_cfgi_ste(0x18)) == smmu::Opcode::CfgiSte);
    CHECK(smmu::cmd_sid(smmu::cmd_cfgi_ste(0xff)) == 0xff);
    CHECK(smmu::opcode(smmu::cmd_tlbi_s12_vmall(0x7f)) == smmu::Opcode::TlbiS12Vmall);
    CHECK(smmu::cmd_vmid(smmu::cmd_tlbi_s12_vmall(0x7f)) == 0x7f);
    CHECK(smmu::opcode(smmu::cmd_sync()) == smmu::Opcode::Sync);
    CHECK(smmu::cmd_sync().word[0] == 0x46);  // CS = SIG_NONE: the kernel polls CMDQ_CONS
    CHECK(smmu::opcode(smmu::cmd_cfgi_all()) == smmu::Opcode::CfgiAll);

    const smmu::EventView e = smmu::decode_event(smmu::make_event(smmu::EventType::Permission, 0x1a, 0x4000'1000, true, true));
    CHECK(e.type == 0x13);
    CHECK(e.sid == 0x1a);
    CHECK(e.address == 0x4000'1000);
    CHECK(e.read);
    CHECK(e.stage2);
    CHECK(std::string(smmu::event_name(0x10)) == "translation fault");
    CHECK(std::string(smmu::event_name(0x77)) == "event");
}

TEST_CASE("queue positions wrap with the wrap bit", "[smmu]") {
    constexpr u32 kLog2 = 5;
    u32 prod = 0, cons = 0;
    for (u32 i = 0; i < 32; ++i) {
        REQUIRE_FALSE(smmu::queue_full(prod, cons, kLog2));
        prod = smmu::queue_next(prod, kLog2);
    }
    CHECK(smmu::queue_full(prod, cons, kLog2));
    CHECK(prod == 32);  // index 0, wrap bit set
    for (u32 i = 0; i < 32; ++i) cons = smmu::queue_next(cons, kLog2);
    CHECK(smmu::queue_empty(prod, cons));
    prod = smmu::queue_next(prod, kLog2);
    CHECK(smmu::queue_index(prod, kLog2) == 1);
    // Register bits above the position (CMDQ_CONS.ERR, OVFLG) are not part of it.
    CHECK(smmu::queue_position(0x8000'0021u, kLog2) == 0x21);
    CHECK(smmu::cmdq_cons_error(0x0100'0000u) == 1);
    CHECK(smmu::queue_base(0x4010'8000, kLog2) == (0x4010'8000ull | smmu::kQueueAllocate | kLog2));
    CHECK(smmu::strtab_base(0x4010'4000) == (0x4010'4000ull | smmu::kStrtabRa));
}

TEST_CASE("the host SMMU translates a bound stream through stage 2 and caches as the hardware may", "[smmu][T-9][T-82]") {
    host::reset_all();
    ObjectMemory memory;
    REQUIRE(memory.init(PhysAddr(platform::kObjectMemoryBase), 1ull << 20) == Status::Ok);
    Stage2Table table;
    REQUIRE(table.init(memory, 3) == Status::Ok);
    REQUIRE(table.map(Ipa(0x4000'0000), PhysAddr(0x4800'0000), 0x20'0000, MapAttributes::from_bits(kRead | kWrite)) == Status::Ok);
    REQUIRE(table.map(Ipa(0x5000'0000), PhysAddr(0x4900'0000), 0x1000, MapAttributes::from_bits(kRead)) == Status::Ok);

    // Every stream aborts until bound, and an abort records nothing.
    CHECK(host::smmu_dma(0x18, 0x4000'0000, true).outcome == host::DmaAccess::Outcome::Aborted);
    CHECK(host::smmu_pending_events() == 0);
    CHECK(arch::smmu_stream_state(0x18).kind == arch::DmaStreamState::Kind::Abort);

    arch::smmu_stream_bind(0x18, table.root(), 3);
    const arch::DmaStreamState st = arch::smmu_stream_state(0x18);
    CHECK(st.kind == arch::DmaStreamState::Kind::Translate);
    CHECK(st.vmid == 3);
    CHECK(st.root == table.root());
    CHECK(same(host::smmu_ste(0x18), smmu::ste_stage2(table.root().raw(), 3)));
    // The STE change is followed by CFGI_STE and a sync.
    const auto& cmds = host::smmu_commands();
    REQUIRE(cmds.size() >= 2);
    CHECK(smmu::opcode(cmds[cmds.size() - 2]) == smmu::Opcode::CfgiSte);
    CHECK(smmu::opcode(cmds.back()) == smmu::Opcode::Sync);

    host::DmaAccess d = host::smmu_dma(0x18, 0x4000'1234, true);
    CHECK(d.outcome == host::DmaAccess::Outcome::Done);
    CHECK(d.pa == 0x4800'1234);
    CHECK(host::smmu_tlb_entries(3) == 1);
    // Permissions: a read-only mapping refuses a device's write, with an event.
    CHECK(host::smmu_dma(0x18, 0x5000'0000, false).outcome == host::DmaAccess::Outcome::Done);
    CHECK(host::smmu_dma(0x18, 0x5000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
    // Unmapped IPA: a translation fault event naming the stream and the address.
    CHECK(host::smmu_dma(0x18, 0x6000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
    arch::DmaFault faults[4];
    u64 lost = 0;
    REQUIRE(arch::smmu_take_faults(faults, 4, lost) == 2);
    CHECK(std::string(faults[0].what) == "permission fault");
    CHECK(faults[1].sid == 0x18);
    CHECK(faults[1].address == 0x6000'0000);
    CHECK_FALSE(faults[1].read);
    CHECK(std::string(faults[1].what) == "translation fault");
    CHECK(lost == 0);

    // A descriptor cleared behind the SMMU's back is still used from its TLB (as hardware may):
    // only the invalidation of the VMID makes the fault visible. This is what makes the kernel's
    // invalidations testable on the host.
    u64* root = static_cast<u64*>(arch::phys_to_virt(table.root()));
    const u64 saved = root[stage2::entry_index(1, 0x4000'0000)];
    root[stage2::entry_index(1, 0x4000'0000)] = 0;
    CHECK(host::smmu_dma(0x18, 0x4000'1000, false).outcome == host::DmaAccess::Outcome::Done);  // stale
    host::smmu_tlbi_vmid(3);
    CHECK(host::smmu_dma(0x18, 0x4000'1000, false).outcome == host::DmaAccess::Outcome::Faulted);
    root[stage2::entry_index(1, 0x4000'0000)] = saved;

    // Likewise the cached STE: only CFGI_STE makes a changed entry count.
    CHECK(host::smmu_dma(0x18, 0x4000'1000, false).outcome == host::DmaAccess::Outcome::Done);
    host::smmu_set_ste(0x18, smmu::ste_abort());
    CHECK(host::smmu_dma(0x18, 0x4000'1000, false).outcome == host::DmaAccess::Outcome::Done);  // cached
    arch::smmu_stream_abort(0x18, 3);
    CHECK(host::smmu_dma(0x18, 0x4000'1000, false).outcome == host::DmaAccess::Outcome::Aborted);
    CHECK(host::smmu_tlb_entries(3) == 0);
}

TEST_CASE("the host SMMU's event queue overflows into an overflow indication", "[smmu][T-84]") {
    host::reset_all();
    for (u32 i = 0; i < 40; ++i) host::smmu_record_event(0x20, 0x1000 * i, true);
    arch::DmaFault faults[64];
    u64 lost = 0;
    CHECK(arch::smmu_take_faults(faults, 64, lost) == 32);
    CHECK(lost == 1);  // one overflow: the SMMU says that records were lost, not how many
    CHECK(arch::smmu_take_faults(faults, 64, lost) == 0);
    CHECK(lost == 1);
}

TEST_CASE("without a usable SMMU nothing translates and nothing is bound", "[smmu][T-9]") {
    host::reset_all();
    host::smmu_set_available(false);
    CHECK_FALSE(arch::smmu_available());
    arch::smmu_stream_bind(0x18, PhysAddr(kRoot), 1);
    CHECK(arch::smmu_stream_state(0x18).kind == arch::DmaStreamState::Kind::Abort);
    CHECK(host::smmu_dma(0x18, 0x4000'0000, true).outcome == host::DmaAccess::Outcome::Aborted);
}
