// DMA streams and PCIe functions on the host (kernel/dma_streams.hpp, pci_functions.hpp,
// emulated_mmio.hpp): assignment and BAR placement by the boot program, the owner's emulated
// configuration window, DmaStreamBind/Unbind, unbinding by delete, revoke, stop and restart
// (before the memory is scrubbed), the SMMU's TLB invalidated on unmap, and fault records
// contained against the partition whose stream faulted. The fake SMMU (host_memory.hpp) caches
// STEs and translations as the hardware may, so every forgotten invalidation fails a check here.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <arch/aarch64/smmu_format.hpp>
#include <arch/host/host_memory.hpp>
#include <emulated_mmio.hpp>
#include <invariants.hpp>

#include "guest_exits.hpp"
#include "system_fixture.hpp"

using namespace bh;
using namespace bh::test;
using F = hvc::Function;

namespace {

constexpr u32 kEdu = platform::pci_bdf(3, 0);      // stream 0x18
constexpr u32 kOther = platform::pci_bdf(4, 0);    // stream 0x20
constexpr u32 kEduId = 0x11e8'1234;
constexpr u64 kBar0 = 0x1000'0000;
constexpr u64 kOtherBar = 0x1020'0000;
constexpr u64 kConfig = platform::kPciConfigWindowIpa;
constexpr u64 kIdx = 5;  // where the tests grant the DmaStream cap in a CSpace

void plug_devices() {
    host::pci_add_function(kEdu, 0x1234, 0x11e8, {{1ull << 20}});
    host::pci_add_function(kOther, 0x1af4, 0x1042, {{0}, {0x1000}, {0}, {0}, {0x4000, true, true}});
    host::pci_add_function(platform::pci_bdf(5, 0), 0x1b36, 0x0001, {}, 1);  // a bridge (header type 1)
}

// A data abort of a single load or store the guest made at `ipa` (ISV = 1), as the arch layer
// hands it to handle_guest_exit.
u64 esr_access(bool write, unsigned size, u32 reg, bool sign_extend = false, bool sixty_four = false) {
    sixty_four = sixty_four || size == 8;
    const u32 sas = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    return (0x24ull << 26) | (1ull << 25) | (1ull << 24) | (u64{sas} << 22) | (sign_extend ? 1ull << 21 : 0) |
           (u64{reg} << 16) | (sixty_four ? 1ull << 15 : 0) | (write ? 1ull << 6 : 0) | 0x07;
}
bool access(System& s, Vcpu& v, u64 ipa, bool write, unsigned size, u32 reg) {
    return exit_with(s, v, ExitKind::Sync, esr_access(write, size, reg), ipa & 0xfff, (ipa >> 12) << 4);
}
// A load through the configuration window: the value the guest's x2 receives.
u64 config_read(System& s, Vcpu& v, u64 offset, unsigned size = 4) {
    v.regs.x[2] = 0xdead'beef'dead'beefull;
    REQUIRE(access(s, v, kConfig + offset, false, size, 2));
    return v.regs.x[2];
}
void config_write(System& s, Vcpu& v, u64 offset, u64 value, unsigned size = 4) {
    v.regs.x[3] = value;
    REQUIRE(access(s, v, kConfig + offset, true, size, 3));
}

std::size_t trace_index(const std::string& prefix, std::size_t from = 0) {
    const auto& t = host::trace();
    for (std::size_t i = from; i < t.size(); ++i)
        if (t[i].rfind(prefix, 0) == 0) return i;
    return t.size();
}

// A sealed system: `driver` (core 1) owns the edu function (BAR0 placed, its DmaStream cap at
// kIdx, BAR0's page mapped), `other` (core 2) owns the second function; both restart on faults.
struct DmaFixture : SystemFixture {
    u32 driver_slot = 0, other_slot = 0, stream_slot = 0;
    DmaFixture(bool seal = true) {
        plug_devices();
        driver_slot = make_slot("driver", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
        other_slot = make_slot("other", kPartitionPa + 4 * kMiB, 2, 1, manifest::RestartPolicy::Restart);
        stream_slot = slot();
        REQUIRE(ok(system.assign_pci_function(stream_slot, driver(), kEdu, kEduId)));
        REQUIRE(ok(system.place_pci_bar(driver(), kEdu, 0, kBar0)));
        REQUIRE(ok(system.grant_cap(stream_slot, driver(), kIdx, Rights::control() | Rights::grant())));
        const u32 other_stream = slot();
        REQUIRE(ok(system.assign_pci_function(other_stream, other(), kOther, 0x1042'1af4)));
        REQUIRE(ok(system.place_pci_bar(other(), kOther, 1, kOtherBar)));
        REQUIRE(ok(system.place_pci_bar(other(), kOther, 4, kOtherBar + 0x10'0000)));
        REQUIRE(ok(system.grant_cap(other_stream, other(), kIdx, Rights::control())));
        if (seal) REQUIRE(ok(system.seal()));
    }
    Partition& driver() { return partition(driver_slot); }
    Partition& other() { return partition(other_slot); }
    Vcpu& dv() { return driver().vcpus[0]; }
    Vcpu& ov() { return other().vcpus[0]; }
    CapSlot& cspace(Partition& p, u64 index) { return caps::cnode_slots(p.cspace_root)[index]; }
    i64 bind(u64 index = kIdx) { return call_status(system, dv(), F::DmaStreamBind, {index}); }
    i64 unbind(u64 index = kIdx) { return call_status(system, dv(), F::DmaStreamUnbind, {index}); }
    u32 command() { return host::pci_raw(kEdu, 0x04) & 0xffff; }
};

}  // namespace

TEST_CASE("the boot program assigns a function and places its BARs, refusing what does not fit", "[dma]") {
    SystemFixture f;
    plug_devices();
    const u32 ps = f.make_slot("driver", kPartitionPa, 1);
    Partition& p = f.partition(ps);
    host::pci_raw(kEdu, 0);
    // A decoding function: assignment switches it off before sizing its BARs.
    arch::pci_config_write(kEdu, 0x04, 2, 0x6);
    const u32 s = f.slot();
    CHECK(f.system.assign_pci_function(s, p, platform::pci_bdf(0, 0), 0) == Status::OutOfRange);
    CHECK(std::string(f.system.last_refusal()) == "not a function of bus 0, or the host bridge");
    CHECK(f.system.assign_pci_function(s, p, 256, kEduId) == Status::OutOfRange);
    CHECK(f.system.assign_pci_function(s, p, platform::pci_bdf(9, 0), kEduId) == Status::NotFound);
    CHECK(f.system.assign_pci_function(s, p, kEdu, 0x1234'1234) == Status::InvalidArgument);
    CHECK(f.system.assign_pci_function(s, p, platform::pci_bdf(5, 0), 0x0001'1b36) == Status::InvalidArgument);
    CHECK(f.system.assign_pci_function(manifest::kKernelUntypedSlot, p, kEdu, kEduId) == Status::Exists);
    CHECK(f.at(s).empty());
    REQUIRE(f.system.assign_pci_function(s, p, kEdu, kEduId) == Status::Ok);
    CHECK(f.at(s).cap.type == ObjectType::DmaStream);
    CHECK(f.at(s).cap.stream() == kEdu);
    CHECK(f.at(s).cap.rights == (Rights::control() | Rights::grant()));
    CHECK((host::pci_raw(kEdu, 0x04) & 0x7) == 0);  // off
    CHECK(f.system.assign_pci_function(f.slot(), p, kEdu, kEduId) == Status::Exists);
    const PciFunctions::Function* fn = f.system.pci().find(kEdu);
    REQUIRE(fn != nullptr);
    CHECK(fn->bars[0].kind == PciFunctions::BarKind::Memory32);
    CHECK(fn->bars[0].size == (1ull << 20));
    CHECK(fn->bars[1].kind == PciFunctions::BarKind::None);

    CHECK(f.system.place_pci_bar(p, kEdu, 6, kBar0) == Status::OutOfRange);
    CHECK(f.system.place_pci_bar(p, kEdu, 1, kBar0) == Status::InvalidArgument);  // not implemented
    CHECK(f.system.place_pci_bar(p, kEdu, 0, kBar0 + 0x8'0000) == Status::Misaligned);
    CHECK(f.system.place_pci_bar(p, kEdu, 0, 0x0010'0000) == Status::OutOfRange);  // below the window
    CHECK(f.system.place_pci_bar(p, kEdu, 0, 0x3f00'0000) == Status::OutOfRange);  // past it
    CHECK(f.system.place_pci_bar(p, kOther, 0, kBar0) == Status::NotFound);         // not its function
    CHECK(f.system.seal() == Status::Denied);
    CHECK(std::string(f.system.last_refusal()) == "a memory BAR of an assigned PCIe function is not placed");
    REQUIRE(f.system.place_pci_bar(p, kEdu, 0, kBar0) == Status::Ok);
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);
    CHECK(f.system.place_pci_bar(p, kEdu, 0, kBar0) == Status::Exists);
    // A second function's BAR may not overlap the first.
    const u32 ps2 = f.make_slot("other", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(f.system.assign_pci_function(f.slot(), f.partition(ps2), kOther, 0x1042'1af4) == Status::Ok);
    CHECK(f.system.place_pci_bar(f.partition(ps2), kOther, 1, kBar0 + 0x1000) == Status::Overlap);
    const PciFunctions::Function* o = f.system.pci().find(kOther);
    CHECK(o->bars[4].kind == PciFunctions::BarKind::Memory64);  // and its upper half is no BAR
    CHECK(o->bars[5].kind == PciFunctions::BarKind::None);
    CHECK(f.system.place_pci_bar(f.partition(ps2), kOther, 5, 0x1100'0000) == Status::InvalidArgument);
}

TEST_CASE("seal refuses a DmaStream cap away from its function's owner, and device memory over another's BAR", "[dma]") {
    SECTION("stream cap") {
        DmaFixture f(false);
        REQUIRE(ok(f.system.grant_cap(f.stream_slot, f.other(), 9, Rights::control())));
        CHECK(f.system.seal() == Status::Denied);
        CHECK(std::string(f.system.last_refusal()) == "a DmaStream cap is held by a partition its function is not assigned to");
    }
    SECTION("device memory") {
        DmaFixture f(false);
        const u32 us = f.slot(), ds = f.slot();
        REQUIRE(ok(f.system.create_untyped(us, PhysAddr(kBar0), 21, true)));
        REQUIRE(ok(f.system.retype(us, ObjectType::DeviceMmio, 21, ds, 1)));
        REQUIRE(ok(f.system.grant_cap(ds, f.other(), 9, Rights::read())));
        CHECK(f.system.seal() == Status::Denied);
        CHECK(std::string(f.system.last_refusal()) == "a partition holds device memory over another partition's PCIe BAR");
    }
    SECTION("device mapping") {
        DmaFixture f(false);
        const u32 us = f.slot(), ds = f.slot();
        REQUIRE(ok(f.system.create_untyped(us, PhysAddr(kBar0), 21, true)));
        REQUIRE(ok(f.system.retype(us, ObjectType::DeviceMmio, 21, ds, 1)));
        REQUIRE(ok(f.system.map_frame(f.other(), f.at(ds), Ipa(kBar0), manifest::attr::kRead)));
        CHECK(f.system.seal() == Status::Denied);
        CHECK(std::string(f.system.last_refusal()) == "a partition maps device memory over another partition's PCIe BAR");
    }
    SECTION("the owner may map its own BAR") {
        DmaFixture f(false);
        const u32 us = f.slot(), ds = f.slot();
        REQUIRE(ok(f.system.create_untyped(us, PhysAddr(kBar0), 21, true)));
        REQUIRE(ok(f.system.retype(us, ObjectType::DeviceMmio, 21, ds, 1)));
        REQUIRE(ok(f.system.map_frame(f.driver(), f.at(ds), Ipa(kBar0), manifest::attr::kRead | manifest::attr::kWrite)));
        CHECK(f.system.seal() == Status::Ok);
    }
}

TEST_CASE("the owner's configuration window shows its functions only, BARs fixed, bus mastering only while bound", "[dma]") {
    DmaFixture f;
    System& s = f.system;
    Vcpu& v = f.dv();
    f.dv().store_state(VcpuState::Running);
    // Its function, and nobody else's: the other partition's function and the host bridge are absent.
    CHECK(config_read(s, v, kEdu * 4096) == kEduId);
    CHECK(config_read(s, v, kOther * 4096) == 0xffff'ffffu);
    CHECK(config_read(s, v, 0) == 0xffff'ffffu);
    CHECK(config_read(s, v, kOther * 4096 + 2, 2) == 0xffffu);
    CHECK(config_read(s, v, kEdu * 4096 + 2, 2) == 0x11e8);
    CHECK(config_read(s, v, kEdu * 4096 + 1, 1) == 0x12);
    // Writes to another's function change nothing there.
    config_write(s, v, kOther * 4096 + 0x04, 0x6);
    CHECK((host::pci_raw(kOther, 0x04) & 0xffff) == 0);

    // BAR0: where it was placed, sizing answered, never moved.
    const u64 bar = kEdu * 4096 + 0x10;
    CHECK(config_read(s, v, bar) == kBar0);
    config_write(s, v, bar, 0xffff'ffff);
    CHECK(config_read(s, v, bar) == 0xfff0'0000u);
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);  // the device itself was not touched
    config_write(s, v, bar, kOtherBar);
    CHECK(config_read(s, v, bar) == kBar0);
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);
    CHECK(config_read(s, v, kEdu * 4096 + 0x14) == 0);  // not implemented
    CHECK(config_read(s, v, kEdu * 4096 + 0x30) == 0);  // no ROM
    config_write(s, v, kEdu * 4096 + 0x30, 0x2000'0001);
    CHECK(host::pci_raw(kEdu, 0x30) == 0);
    config_write(s, v, kEdu * 4096 + 0x00, 0x1111'2222);  // identity: read-only
    CHECK(config_read(s, v, kEdu * 4096) == kEduId);

    // Command: I/O space never; memory yes; bus mastering only while its stream is bound.
    config_write(s, v, kEdu * 4096 + 0x04, 0x7, 2);
    CHECK(f.command() == 0x2);
    REQUIRE(f.bind() == 0);
    config_write(s, v, kEdu * 4096 + 0x04, 0x7, 2);
    CHECK(f.command() == 0x6);
    config_write(s, v, kEdu * 4096 + 0x05, 0x04, 1);  // INTx disable through the high byte
    CHECK(f.command() == 0x406);
    REQUIRE(f.unbind() == 0);
    CHECK(f.command() == 0x402);  // cleared by the kernel
    // A command write puts the BARs back where they were placed (a reset may have cleared them).
    arch::pci_config_write(kEdu, 0x10, 4, 0);
    config_write(s, v, kEdu * 4096 + 0x04, 0x2, 2);
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);
    // The capabilities and the rest of the space pass through.
    config_write(s, v, kEdu * 4096 + 0x80, 0xabcd'0123);
    CHECK(host::pci_raw(kEdu, 0x80) == 0xabcd'0123u);
    CHECK(config_read(s, v, kEdu * 4096 + 0x80) == 0xabcd'0123u);

    // The other partition's 64-bit BAR: both halves answer sizing.
    Vcpu& w = f.ov();
    w.store_state(VcpuState::Running);
    CHECK(config_read(s, w, kOther * 4096 + 0x20) == ((kOtherBar + 0x10'0000) | 0xc));
    CHECK(config_read(s, w, kOther * 4096 + 0x24) == 0);
    config_write(s, w, kOther * 4096 + 0x20, 0xffff'ffff);
    config_write(s, w, kOther * 4096 + 0x24, 0xffff'ffff);
    CHECK(config_read(s, w, kOther * 4096 + 0x20) == (0xffff'c000u | 0xc));
    CHECK(config_read(s, w, kOther * 4096 + 0x24) == 0xffff'ffffu);
}

TEST_CASE("configuration accesses that are no single aligned load or store stay the partition's fault", "[dma]") {
    SECTION("misaligned: all ones, nothing written") {
        DmaFixture f;
        f.dv().store_state(VcpuState::Running);
        CHECK(config_read(f.system, f.dv(), kEdu * 4096 + 2, 4) == 0xffff'ffffu);
        CHECK(config_read(f.system, f.dv(), kEdu * 4096, 8) == ~0ull);
    }
    SECTION("no instruction syndrome") {
        DmaFixture f;
        f.dv().store_state(VcpuState::Running);
        const u64 esr = esr_access(false, 4, 2) & ~(1ull << 24);
        CHECK_FALSE(exit_with(f.system, f.dv(), ExitKind::Sync, esr, 0, ((kConfig + kEdu * 4096) >> 12) << 4));
        CHECK(f.driver().restarts == 1);  // a fault, and its policy restarts it
    }
    SECTION("a partition without functions") {
        SystemFixture f;
        Partition& p = f.make("plain", kPartitionPa, 1);
        REQUIRE(ok(f.system.seal()));
        p.vcpus[0].store_state(VcpuState::Running);
        CHECK_FALSE(access(f.system, p.vcpus[0], kConfig, false, 4, 2));
        CHECK(p.load_state() == PartitionState::Stopped);
    }
}

TEST_CASE("a load from the window is extended as the instruction says", "[dma]") {
    GuestRegs r{};
    r.elr = 0x4000'0000;
    const MmioAccess byte{Ipa(0), 1, false, 4, true, true};
    mmio_complete_load(r, byte, 0x80);
    CHECK(r.x[4] == 0xffff'ffff'ffff'ff80ull);
    CHECK(r.elr == 0x4000'0004);
    const MmioAccess word{Ipa(0), 2, false, 4, true, false};
    mmio_complete_load(r, word, 0x8000);
    CHECK(r.x[4] == 0xffff'8000ull);  // sign-extended into W, upper half cleared
    const MmioAccess plain{Ipa(0), 4, false, 4, false, true};
    mmio_complete_load(r, plain, 0x1'8000'0000ull);
    CHECK(r.x[4] == 0x8000'0000ull);
    const MmioAccess zr{Ipa(0), 4, false, 31, false, true};
    r.x[30] = 5;
    mmio_complete_load(r, zr, 7);
    CHECK(r.x[30] == 5);
    r.x[9] = 0x1234'5678'9abc'def0ull;
    CHECK(mmio_store_value(r, MmioAccess{Ipa(0), 2, true, 9, false, true}) == 0xdef0);
    CHECK(mmio_store_value(r, MmioAccess{Ipa(0), 8, true, 31, false, true}) == 0);
    CHECK_FALSE(decode_mmio_access(esr_access(false, 4, 2) & ~0x3full, Ipa(0)).ok());             // not a translation fault
    CHECK_FALSE(decode_mmio_access(esr_access(false, 4, 2) | (1ull << 8), Ipa(0)).ok());          // cache maintenance
    CHECK_FALSE(decode_mmio_access((0x20ull << 26) | (1ull << 24) | 0x07, Ipa(0)).ok());          // an instruction abort
    const Result<MmioAccess> d = decode_mmio_access(esr_access(true, 2, 17, false, true), Ipa(0x1234));
    REQUIRE(d.ok());
    CHECK(d.value().size == 2);
    CHECK(d.value().write);
    CHECK(d.value().reg == 17);
    CHECK(d.value().sixty_four);
}

TEST_CASE("DmaStreamBind and Unbind: refusals, then the stream translates through the caller's stage 2", "[dma][hypercall]") {
    DmaFixture f;
    Vcpu& v = f.dv();
    v.store_state(VcpuState::Running);
    const u64 translate_before = host::smmu_commands().size();
    CHECK(f.bind(1) == st(Status::InvalidArgument));  // its CNode
    CHECK(f.bind(200) == st(Status::InvalidArgument));  // empty slot
    CHECK(f.unbind() == st(Status::NotFound));
    // Without Control: a mint with Grant only.
    REQUIRE(call_status(f.system, v, F::CapMint, {kIdx, 9, Rights::kGrant, 0}) == 0);
    CHECK(f.bind(9) == st(Status::Denied));
    CHECK(host::smmu_commands().size() == translate_before);  // nothing reached the SMMU
    CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);

    REQUIRE(f.bind() == 0);
    const arch::DmaStreamState st8 = arch::smmu_stream_state(kEdu);
    CHECK(st8.kind == arch::DmaStreamState::Kind::Translate);
    CHECK(st8.vmid == f.driver().vmid);
    CHECK(st8.root == f.driver().stage2.root());
    CHECK(f.cspace(f.driver(), kIdx).cap.mapped());
    CHECK(f.cspace(f.driver(), kIdx).cap.mapped_partition_plus1() == f.driver().index + 1);
    CHECK(f.bind() == st(Status::Exists));
    // Identify says bound.
    REQUIRE(call_status(f.system, v, F::CapIdentify, {kIdx}) == 0);
    CHECK(v.regs.x[1] == static_cast<u64>(ObjectType::DmaStream));
    CHECK(v.regs.x[5] == 1);
    // A device access of the driver's RAM now goes where its stage 2 says.
    const host::DmaAccess d = host::smmu_dma(kEdu, kGuestRam + 0x100, true);
    CHECK(d.outcome == host::DmaAccess::Outcome::Done);
    CHECK(d.pa == kPartitionPa + 0x100);
    CHECK(host::smmu_dma(kEdu, kGuestRam + 4 * kMiB, true).outcome == host::DmaAccess::Outcome::Faulted);
    // The other partition cannot bind or unbind the driver's stream through its own cap (its own
    // stream is another) and has no cap for it.
    Vcpu& w = f.ov();
    w.store_state(VcpuState::Running);
    CHECK(call_status(f.system, w, F::DmaStreamUnbind, {kIdx}) == st(Status::NotFound));

    config_write(f.system, v, kEdu * 4096 + 0x04, 0x6, 2);
    REQUIRE((f.command() & 0x4) != 0);
    host::trace().clear();
    REQUIRE(f.unbind() == 0);
    CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);
    CHECK_FALSE(f.cspace(f.driver(), kIdx).cap.mapped());
    CHECK(host::smmu_dma(kEdu, kGuestRam, true).outcome == host::DmaAccess::Outcome::Aborted);
    CHECK(host::smmu_tlb_entries(f.driver().vmid) == 0);
    // Order: bus mastering off, STE abort, CFGI_STE, TLBI for the VMID, then the sync.
    const std::size_t ste = trace_index("ste 0x18 abort"), cfgi = trace_index("smmu cfgi-ste 0x18", ste),
                      tlbi = trace_index("smmu tlbi-vmid " + std::to_string(f.driver().vmid), cfgi),
                      sync = trace_index("smmu sync", tlbi);
    CHECK(trace_index("pci 24 write 4") < ste);
    CHECK(sync < host::trace().size());
    CHECK(f.unbind() == st(Status::NotFound));
}

TEST_CASE("a bound stream aborts when the cap that bound it is deleted or revoked", "[dma][caps]") {
    DmaFixture f;
    Vcpu& v = f.dv();
    v.store_state(VcpuState::Running);
    SECTION("delete") {
        REQUIRE(f.bind() == 0);
        REQUIRE(call_status(f.system, v, F::CapDelete, {kIdx}) == 0);
        CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);
        CHECK_FALSE(f.system.dma_streams().stream(kEdu).bound_plus1 != 0);
    }
    SECTION("revoke of the parent of the cap that bound it") {
        REQUIRE(call_status(f.system, v, F::CapMint, {kIdx, 9, Rights::kControl, 0}) == 0);
        REQUIRE(f.bind(9) == 0);
        REQUIRE(call_status(f.system, v, F::CapRevoke, {kIdx}) == 0);
        CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);
        CHECK(f.cspace(f.driver(), 9).empty());
        CHECK(f.bind() == 0);  // the parent binds anew
    }
    SECTION("deleting a cap that did not bind it leaves the binding") {
        REQUIRE(call_status(f.system, v, F::CapMint, {kIdx, 9, Rights::kControl, 0}) == 0);
        REQUIRE(f.bind() == 0);
        REQUIRE(call_status(f.system, v, F::CapDelete, {9}) == 0);
        CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Translate);
    }
}

TEST_CASE("a restart aborts the partition's streams, completed, before its memory is scrubbed", "[dma][containment]") {
    DmaFixture f;
    Vcpu& v = f.dv();
    v.store_state(VcpuState::Running);
    REQUIRE(f.bind() == 0);
    arch::pci_config_write(kEdu, 0x04, 2, 0x6);
    REQUIRE(host::smmu_dma(kEdu, kGuestRam, true).outcome == host::DmaAccess::Outcome::Done);  // cached
    host::trace().clear();
    REQUIRE(call_status(f.system, v, F::CapIdentify, {kIdx}) == 0);
    (void)hypercall(f.system, v, hvc::psci::kSystemReset);
    CHECK(f.driver().restarts == 1);
    const std::size_t abort = trace_index("ste 0x18 abort");
    const std::size_t sync = trace_index("smmu sync", abort);
    const std::size_t clean = trace_index("clean 0x" + [] {
        char b[24];
        std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(kPartitionPa));
        return std::string(b);
    }());
    REQUIRE(abort < host::trace().size());
    CHECK(sync < clean);  // the device could not write while the kernel scrubbed and reloaded
    CHECK(clean < host::trace().size());
    CHECK(host::smmu_dma(kEdu, kGuestRam, true).outcome == host::DmaAccess::Outcome::Aborted);
    CHECK((f.command() & 0x4) == 0);
    CHECK_FALSE(f.cspace(f.driver(), kIdx).cap.mapped());  // the new run binds anew
    CHECK(f.system.dma_streams().stream(kEdu).bound_plus1 == 0);
    f.driver().vcpus[0].store_state(VcpuState::Running);
    CHECK(f.bind() == 0);
}

TEST_CASE("an unmap removes the translation from the SMMU's TLB before the frame can be reused", "[dma][stage2]") {
    DmaFixture f(false);
    const u32 fs = f.frame(kPartitionPa + 8 * kMiB, 12);
    REQUIRE(ok(f.system.grant_cap(fs, f.driver(), 9, Rights::read() | Rights::write() | Rights::grant())));
    REQUIRE(ok(f.system.seal()));
    Vcpu& v = f.dv();
    v.store_state(VcpuState::Running);
    REQUIRE(call_status(f.system, v, F::FrameMap, {9, 0x5000'0000, 3}) == 0);
    REQUIRE(f.bind() == 0);
    REQUIRE(host::smmu_dma(kEdu, 0x5000'0000, true).outcome == host::DmaAccess::Outcome::Done);
    REQUIRE(host::smmu_tlb_entries(f.driver().vmid) >= 1);
    REQUIRE(call_status(f.system, v, F::FrameUnmap, {9}) == 0);
    CHECK(host::smmu_dma(kEdu, 0x5000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
}

TEST_CASE("a fault of a bound stream aborts it, is reported against its partition, and takes the partition down there", "[dma][containment]") {
    DmaFixture f;
    Vcpu& v = f.dv();
    v.store_state(VcpuState::Running);
    REQUIRE(f.bind() == 0);
    // The device writes outside its partition: 40 records, more than one service takes.
    for (u32 i = 0; i < 40; ++i) REQUIRE(host::smmu_dma(kEdu, 0x7000'0000 + 4 * i, true).outcome == host::DmaAccess::Outcome::Faulted);
    host::reset_console();
    host::reset_counters();
    f.system.dma_streams().service(f.system);
    const std::string& out = host::console_output();
    CHECK(out.find("DMA FAULT partition 'driver' stream 0x18 (00:03.0): translation fault, write at IPA 0x70000000; "
                   "stream aborted") != std::string::npos);
    CHECK(out.find("smmu: 31 more DMA fault records (32 in all)") != std::string::npos);
    CHECK(out.find("overflowed") != std::string::npos);  // 40 records into a queue of 32
    CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);
    CHECK(host::kick_count(1) == 1);  // its vCPU's core leaves the guest
    CHECK(host::kick_count(2) == 0);
    CHECK(f.driver().load_state() == PartitionState::Running);  // not yet: on its own core
    // The other partition's exits do not stop it.
    f.ov().store_state(VcpuState::Running);
    CHECK(call_status(f.system, f.ov(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.other().load_state() == PartitionState::Running);
    // Its next exit (the kick) restarts it, by its policy.
    CHECK_FALSE(exit_with(f.system, v, ExitKind::Irq));
    CHECK(f.driver().restarts == 1);
    CHECK(f.driver().load_state() == PartitionState::Running);
    // Once only.
    f.driver().vcpus[0].store_state(VcpuState::Running);
    CHECK(call_status(f.system, f.dv(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.driver().restarts == 1);
    // A record that arrives after the stream was aborted names no partition, and stops none.
    host::smmu_record_event(kEdu, 0x7000'0000, true);
    host::reset_console();
    f.system.dma_streams().service(f.system);
    CHECK(host::console_output().find("DMA FAULT stream 0x18 (00:03.0), bound to no partition: translation fault, "
                                      "write at 0x70000000") != std::string::npos);
    CHECK(f.system.dma_streams().faults() == 33);
    CHECK(f.system.dma_streams().lost() == 1);
    f.driver().vcpus[0].store_state(VcpuState::Running);
    CHECK(call_status(f.system, f.dv(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.driver().restarts == 1);
}

TEST_CASE("without a usable SMMU no stream can be bound", "[dma]") {
    DmaFixture f;
    host::smmu_set_available(false);
    f.dv().store_state(VcpuState::Running);
    CHECK(f.bind() == st(Status::NotSupported));
    CHECK_FALSE(f.cspace(f.driver(), kIdx).cap.mapped());
}

TEST_CASE("INV-3: the checker reads the SMMU's stream table and the devices, and finds each corruption", "[dma][invariants]") {
    DmaFixture f;
    f.dv().store_state(VcpuState::Running);
    const auto violation = [&]() -> std::string {
        const InvariantReport r = check_invariants(f.system);
        const InvariantViolation* v = r.find(InvariantId::DmaContainment);
        return v == nullptr ? std::string() : v->message;
    };
    CHECK(check_invariants(f.system).ok());
    REQUIRE(f.bind() == 0);
    config_write(f.system, f.dv(), kEdu * 4096 + 0x04, 0x6, 2);
    CHECK(check_invariants(f.system).ok());

    SECTION("a bound stream through other tables") {
        host::smmu_set_ste(kEdu, smmu::ste_stage2(f.other().stage2.root().raw(), f.driver().vmid));
        CHECK(violation() == "a bound stream does not translate through its partition's tables and VMID");
    }
    SECTION("a bound stream with another VMID") {
        host::smmu_set_ste(kEdu, smmu::ste_stage2(f.driver().stage2.root().raw(), f.other().vmid));
        CHECK(violation() == "a bound stream does not translate through its partition's tables and VMID");
    }
    SECTION("an unbound stream that bypasses") {
        smmu::Ste bypass{};
        bypass.word[0] = smmu::kSteValid | smmu::ste_config_bits(smmu::SteConfig::Bypass);
        host::smmu_set_ste(kOther, bypass);
        CHECK(violation() == "an unbound stream does not abort");
    }
    SECTION("an unbound stream left translating") {
        host::smmu_set_ste(kOther, smmu::ste_stage2(f.other().stage2.root().raw(), f.other().vmid));
        CHECK(violation() == "an unbound stream does not abort");
    }
    SECTION("the binding's cap forgets it") {
        f.cspace(f.driver(), kIdx).cap.set_mapping(0, 0);
        CHECK(violation() == "a bound stream's binding is recorded by no cap of its partition");
    }
    SECTION("a cap records a binding that is not there") {
        REQUIRE(f.unbind() == 0);
        f.cspace(f.driver(), kIdx).cap.set_mapping(f.driver().index + 1, 0);
        CHECK(violation() == "a DmaStream cap records a binding its stream does not have");
    }
    SECTION("bus mastering while unbound") {
        REQUIRE(f.unbind() == 0);
        arch::pci_config_write(kEdu, 0x04, 2, 0x6);
        CHECK(violation() == "a function masters the bus while its stream is unbound");
    }
    SECTION("the stream cap in another partition's CSpace") {
        REQUIRE(caps::copy(f.cspace(f.driver(), kIdx), f.cspace(f.other(), 9)) == Status::Ok);
        CHECK(violation() == "a DmaStream cap is held by a partition its function is not assigned to");
    }
}

TEST_CASE("the SMMU's global errors are reported once each", "[dma]") {
    DmaFixture f;
    host::reset_console();
    f.system.dma_streams().service(f.system);
    CHECK(host::console_output().empty());
    host::smmu_raise_global_error(1u << 8);
    f.system.dma_streams().service(f.system);
    CHECK(host::console_output().find("smmu: global error 0x100 (service failure: every stream aborts)") != std::string::npos);
    CHECK(f.system.dma_streams().global_errors() == 1);
    host::reset_console();
    f.system.dma_streams().service(f.system);
    CHECK(host::console_output().empty());  // acknowledged
}

TEST_CASE("a fault record of an earlier binding is not blamed on the next one", "[dma][containment]") {
    DmaFixture f;
    f.dv().store_state(VcpuState::Running);
    REQUIRE(f.bind() == 0);
    // The device faults, and before the SMMU's interrupt is serviced its partition restarts.
    REQUIRE(host::smmu_dma(kEdu, 0x7000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
    (void)hypercall(f.system, f.dv(), hvc::psci::kSystemReset);
    REQUIRE(f.driver().restarts == 1);
    f.driver().vcpus[0].store_state(VcpuState::Running);
    host::reset_console();
    REQUIRE(f.bind() == 0);  // the new run binds: the old record is taken first
    CHECK(host::console_output().find("bound to no partition") != std::string::npos);
    f.system.dma_streams().service(f.system);
    CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Translate);
    CHECK(call_status(f.system, f.dv(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.driver().restarts == 1);  // not stopped for the old run's fault
}
