// PCIe functions on the host (pci/pci_functions.hpp, pci/pci_boot.hpp, pci/config_window.hpp):
// assignment and BAR placement by the boot program, seal's checks of them, and the owner's
// emulated configuration window with the loads and stores the arch decodes for it.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "dma_fixture.hpp"

using namespace bh;
using namespace bh::test;
using namespace bh::test::dma;

TEST_CASE("the boot program assigns a function and places its BARs, refusing what does not fit", "[dma][T-76][T-81]") {
    PciKernel f;
    Partition& p = f.make("driver", kPartitionPa, 1);
    // A decoding function: assignment switches it off before sizing its BARs.
    arch::pci_config_write(kEdu, 0x04, 2, 0x6);
    const u32 s = f.slot();
    CHECK_REFUSED(f.assign(s, p, platform::pci_bdf(0, 0), 0), Status::OutOfRange, "not a function of bus 0, or the host bridge");
    CHECK_REFUSED(f.assign(s, p, 256, kEduId), Status::OutOfRange, "not a function of bus 0, or the host bridge");
    CHECK_REFUSED(f.assign(s, p, platform::pci_bdf(9, 0), kEduId), Status::NotFound, "no PCIe function at that address");
    CHECK_REFUSED(f.assign(s, p, kEdu, 0x1234'1234), Status::InvalidArgument,
                  "the function is another device, or not an endpoint");
    CHECK_REFUSED(f.assign(s, p, kBridge, 0x0001'1b36), Status::InvalidArgument,
                  "the function is another device, or not an endpoint");
    CHECK_REFUSED(f.assign(manifest::kKernelUntypedSlot, p, kEdu, kEduId), Status::Exists, "slot occupied");
    CHECK_REFUSED(f.assign(manifest::kBootSlots, p, kEdu, kEduId), Status::OutOfRange, "no such boot slot");
    CHECK(f.at(s).empty());
    CHECK(f.kernel.pci.count() == 0);  // nothing of a refused op stays
    REQUIRE(f.assign(s, p, kEdu, kEduId).ok());
    CHECK(f.at(s).cap.type == ObjectType::DmaStream);
    CHECK(f.at(s).cap.stream() == kEdu);
    CHECK(f.at(s).cap.rights == (Rights::control() | Rights::grant()));
    CHECK((host::pci_raw(kEdu, 0x04) & 0x7) == 0);  // off
    CHECK_REFUSED(f.assign(f.slot(), p, kEdu, kEduId), Status::Exists, "function already assigned");
    const PciFunctions::Function* fn = f.kernel.pci.find(kEdu);
    REQUIRE(fn != nullptr);
    CHECK(fn->owner == p.index);
    CHECK(fn->bars[0].kind == PciFunctions::BarKind::Memory32);
    CHECK(fn->bars[0].size == (1ull << 20));
    CHECK(fn->bars[1].kind == PciFunctions::BarKind::None);

    CHECK_REFUSED(f.place(p, kEdu, 6, kBar0), Status::OutOfRange, "no such BAR");
    CHECK_REFUSED(f.place(p, kEdu, 1, kBar0), Status::InvalidArgument, "not a memory BAR of the function");
    CHECK_REFUSED(f.place(p, kEdu, 0, kBar0 + 0x8'0000), Status::Misaligned, "BAR address not aligned to its size");
    CHECK_REFUSED(f.place(p, kEdu, 0, 0x0010'0000), Status::OutOfRange, "BAR outside the 32-bit PCIe MMIO window");
    CHECK_REFUSED(f.place(p, kEdu, 0, 0x3f00'0000), Status::OutOfRange, "BAR outside the 32-bit PCIe MMIO window");
    CHECK_REFUSED(f.place(p, kOther, 0, kBar0), Status::NotFound, "not a PCIe function of this partition");
    CHECK_REFUSED(f.seal(), Status::Denied, "a memory BAR of an assigned PCIe function is not placed");
    REQUIRE(f.place(p, kEdu, 0, kBar0).ok());
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);
    CHECK_REFUSED(f.place(p, kEdu, 0, kBar0), Status::Exists, "BAR already placed");
    // A second function's BAR may not overlap the first.
    Partition& q = f.make("other", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(f.assign(f.slot(), q, kOther, kOtherId).ok());
    CHECK_REFUSED(f.place(q, kOther, 1, kBar0 + 0x1000), Status::Overlap, "BAR overlaps another placed BAR");
    const PciFunctions::Function* o = f.kernel.pci.find(kOther);
    CHECK(o->bars[4].kind == PciFunctions::BarKind::Memory64);  // and its upper half is no BAR
    CHECK(o->bars[5].kind == PciFunctions::BarKind::None);
    CHECK_REFUSED(f.place(q, kOther, 5, 0x1100'0000), Status::InvalidArgument, "not a memory BAR of the function");
    REQUIRE(f.place(q, kOther, 1, 0x1100'0000).ok());
    REQUIRE(f.place(q, kOther, 4, 0x1110'0000).ok());
    REQUIRE(f.seal().ok());
    // Sealed: construction is over.
    CHECK_REFUSED(f.assign(f.slot(), q, kBridge, 0x0001'1b36), Status::Denied, "system is sealed");
    CHECK_REFUSED(f.place(q, kOther, 1, 0x1200'0000), Status::Denied, "system is sealed");
}

TEST_CASE("seal refuses a DmaStream cap away from its function's owner, and device memory over another's BAR", "[dma][T-76][T-78][INV-3]") {
    SECTION("stream cap") {
        DmaKernel f(false);
        REQUIRE(f.grant(f.stream_slot, f.other(), 9, Rights::control()).ok());
        CHECK_REFUSED(f.seal(), Status::Denied, "a DmaStream cap is held by a partition its function is not assigned to");
    }
    SECTION("device memory") {
        DmaKernel f(false);
        REQUIRE(f.grant(f.device_memory(kBar0), f.other(), 9, Rights::read()).ok());
        CHECK_REFUSED(f.seal(), Status::Denied, "a partition holds device memory over another partition's PCIe BAR");
    }
    SECTION("device mapping") {
        DmaKernel f(false);
        REQUIRE(f.map(f.other(), f.at(f.device_memory(kBar0)), kBar0, manifest::attr::kRead).ok());
        CHECK_REFUSED(f.seal(), Status::Denied, "a partition maps device memory over another partition's PCIe BAR");
    }
    SECTION("the owner may map its own BAR") {
        DmaKernel f(false);
        REQUIRE(f.map(f.driver(), f.at(f.device_memory(kBar0)), kBar0, manifest::attr::kRead | manifest::attr::kWrite).ok());
        CHECK(f.seal().ok());
    }
}

TEST_CASE("the owner's configuration window shows its functions only, BARs fixed, bus mastering only while bound", "[dma][T-26][T-76][T-81][INV-3]") {
    DmaKernel f;
    Kernel& k = f.kernel;
    Vcpu& v = f.dv();
    // Its function, and nobody else's: the other partition's function and the host bridge are absent.
    CHECK(config_read(k, v, kEdu * 4096) == kEduId);
    CHECK(config_read(k, v, kOther * 4096) == 0xffff'ffffu);
    CHECK(config_read(k, v, 0) == 0xffff'ffffu);
    CHECK(config_read(k, v, kOther * 4096 + 2, 2) == 0xffffu);
    CHECK(config_read(k, v, kEdu * 4096 + 2, 2) == 0x11e8);
    CHECK(config_read(k, v, kEdu * 4096 + 1, 1) == 0x12);
    // Writes to another's function change nothing there.
    config_write(k, v, kOther * 4096 + 0x04, 0x6);
    CHECK((host::pci_raw(kOther, 0x04) & 0xffff) == 0);

    // BAR0: where it was placed, sizing answered, never moved.
    const u64 bar = kEdu * 4096 + 0x10;
    CHECK(config_read(k, v, bar) == kBar0);
    config_write(k, v, bar, 0xffff'ffff);
    CHECK(config_read(k, v, bar) == 0xfff0'0000u);
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);  // the device itself was not touched
    config_write(k, v, bar, kOtherBar);
    CHECK(config_read(k, v, bar) == kBar0);
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);
    CHECK(config_read(k, v, kEdu * 4096 + 0x14) == 0);  // not implemented
    CHECK(config_read(k, v, kEdu * 4096 + 0x30) == 0);  // no ROM
    config_write(k, v, kEdu * 4096 + 0x30, 0x2000'0001);
    CHECK(host::pci_raw(kEdu, 0x30) == 0);
    config_write(k, v, kEdu * 4096 + 0x00, 0x1111'2222);  // identity: read-only
    CHECK(config_read(k, v, kEdu * 4096) == kEduId);

    // Command: I/O space never; memory yes; bus mastering only while its stream is bound.
    config_write(k, v, kEdu * 4096 + 0x04, 0x7, 2);
    CHECK(f.command() == 0x2);
    REQUIRE(f.bind() == 0);
    config_write(k, v, kEdu * 4096 + 0x04, 0x7, 2);
    CHECK(f.command() == 0x6);
    config_write(k, v, kEdu * 4096 + 0x05, 0x04, 1);  // INTx disable through the high byte
    CHECK(f.command() == 0x406);
    REQUIRE(f.unbind() == 0);
    CHECK(f.command() == 0x402);  // cleared by the kernel
    // A command write puts the BARs back where they were placed (a reset may have cleared them).
    arch::pci_config_write(kEdu, 0x10, 4, 0);
    config_write(k, v, kEdu * 4096 + 0x04, 0x2, 2);
    CHECK(host::pci_raw(kEdu, 0x10) == kBar0);
    // The capabilities and the rest of the space pass through.
    config_write(k, v, kEdu * 4096 + 0x80, 0xabcd'0123);
    CHECK(host::pci_raw(kEdu, 0x80) == 0xabcd'0123u);
    CHECK(config_read(k, v, kEdu * 4096 + 0x80) == 0xabcd'0123u);

    // The other partition's 64-bit BAR: both halves answer sizing.
    Vcpu& w = f.ov();
    CHECK(config_read(k, w, kOther * 4096 + 0x20) == ((kOtherBar + 0x10'0000) | 0xc));
    CHECK(config_read(k, w, kOther * 4096 + 0x24) == 0);
    config_write(k, w, kOther * 4096 + 0x20, 0xffff'ffff);
    config_write(k, w, kOther * 4096 + 0x24, 0xffff'ffff);
    CHECK(config_read(k, w, kOther * 4096 + 0x20) == (0xffff'c000u | 0xc));
    CHECK(config_read(k, w, kOther * 4096 + 0x24) == 0xffff'ffffu);
}

TEST_CASE("a restart forgets BAR sizing: the next run reads the BAR where it was placed", "[dma][T-76]") {
    DmaKernel f;
    config_write(f.kernel, f.dv(), kEdu * 4096 + 0x10, 0xffff'ffff);
    REQUIRE(config_read(f.kernel, f.dv(), kEdu * 4096 + 0x10) == 0xfff0'0000u);
    (void)hypercall(f.kernel, f.dv(), hvc::psci::kSystemReset);
    REQUIRE(f.driver().restarts == 1);
    CHECK(config_read(f.kernel, f.dv(), kEdu * 4096 + 0x10) == kBar0);
}

TEST_CASE("configuration accesses that are no single aligned load or store stay the partition's fault", "[dma][T-26]") {
    SECTION("misaligned, or 8 bytes: all ones, nothing written") {
        DmaKernel f;
        CHECK(config_read(f.kernel, f.dv(), kEdu * 4096 + 2, 4) == 0xffff'ffffu);
        CHECK(config_read(f.kernel, f.dv(), kEdu * 4096, 8) == ~0ull);
        const u32 command_before = host::pci_raw(kEdu, 0x04);
        config_write(f.kernel, f.dv(), kEdu * 4096 + 0x04, ~0ull, 8);
        CHECK(host::pci_raw(kEdu, 0x04) == command_before);
    }
    SECTION("no instruction syndrome") {
        DmaKernel f;
        const u64 esr = esr_access(false, 4, 2) & ~(1ull << 24);
        CHECK_FALSE(exit_with(f.kernel, f.dv(), ExitVector::Sync, esr, 0, ((kConfig + kEdu * 4096) >> 12) << 4));
        CHECK(f.driver().restarts == 1);  // a fault, and its policy restarts it
    }
    SECTION("a partition without functions") {
        PciKernel f;
        Partition& p = f.make("plain", kPartitionPa, 1);
        REQUIRE(f.seal().ok());
        CHECK_FALSE(access(f.kernel, p.vcpus[0], kConfig, false, 4, 2));
        CHECK(p.load_state() == PartitionState::Stopped);
        CHECK(host::console_output().find("FAULT partition 'plain'") != std::string::npos);
    }
}

TEST_CASE("the arch decodes a single load or store from the syndrome, and completes it as the instruction says", "[dma][T-26]") {
    using arch::MmioAccess;
    arch::GuestRegs r{};
    r.elr = 0x4000'0000;
    const MmioAccess byte{true, 1, 4, true, true};
    arch::mmio_complete_load(r, byte, 0x80);
    CHECK(r.x[4] == 0xffff'ffff'ffff'ff80ull);
    CHECK(r.elr == 0x4000'0004);
    const MmioAccess half{true, 2, 4, true, false};
    arch::mmio_complete_load(r, half, 0x8000);
    CHECK(r.x[4] == 0xffff'8000ull);  // sign-extended into W, upper half cleared
    const MmioAccess word{true, 4, 4, false, true};
    arch::mmio_complete_load(r, word, 0x1'8000'0000ull);
    CHECK(r.x[4] == 0x8000'0000ull);
    const MmioAccess zr{true, 4, 31, false, true};
    r.x[30] = 5;
    arch::mmio_complete_load(r, zr, 7);
    CHECK(r.x[30] == 5);
    r.x[9] = 0x1234'5678'9abc'def0ull;
    CHECK(arch::mmio_store_value(r, MmioAccess{true, 2, 9, false, true}) == 0xdef0);
    CHECK(arch::mmio_store_value(r, MmioAccess{true, 8, 31, false, true}) == 0);

    CHECK_FALSE(arch::decode_mmio_access(esr_access(false, 4, 2) & ~0x3full).valid);             // not a translation fault
    CHECK_FALSE(arch::decode_mmio_access(esr_access(false, 4, 2) | (1ull << 8)).valid);          // cache maintenance
    CHECK_FALSE(arch::decode_mmio_access(esr_access(false, 4, 2) | (1ull << 7)).valid);          // a stage-1 walk
    CHECK_FALSE(arch::decode_mmio_access((0x20ull << 26) | (1ull << 24) | 0x07).valid);          // an instruction abort
    const arch::GuestExit e =
        arch::decode_exit(ExitVector::Sync, arch::Syndrome{esr_access(true, 2, 17, false, true), 0x234, 0x1000 << 4});
    CHECK(e.cause == arch::GuestExit::Cause::MemoryAbort);
    CHECK(e.write);
    CHECK(e.ipa == Ipa(0x100'0234));
    REQUIRE(e.access.valid);
    CHECK(e.access.size == 2);
    CHECK(e.access.reg == 17);
    CHECK(e.access.sixty_four);
    CHECK_FALSE(e.access.sign_extend);
}
