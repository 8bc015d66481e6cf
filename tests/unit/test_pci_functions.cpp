// PCIe functions on the host (pci/pci_functions.hpp, pci/pci_boot.hpp, pci/config_window.hpp):
// assignment and BAR placement by the boot program, seal's checks of them, and the owner's
// emulated configuration window with the loads and stores the arch decodes for it.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "dma_fixture.hpp"

using namespace bh;
using namespace bh::test;
using namespace bh::test::dma;

TEST_CASE("the boot program assigns a function and places its BARs, refusing what does not fit", "[dma][T-83][T-88]") {
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

TEST_CASE("seal refuses a DmaStream cap away from its function's owner, and device memory over another's BAR", "[dma][T-83][T-85][INV-3]") {
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

TEST_CASE("the owner's configuration window shows its functions only, BARs fixed, bus mastering only while bound", "[dma][T-26][T-83][T-88][INV-3]") {
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

TEST_CASE("a restart forgets BAR sizing: the next run reads the BAR where it was placed", "[dma][T-83]") {
    DmaKernel f;
    config_write(f.kernel, f.dv(), kEdu * 4096 + 0x10, 0xffff'ffff);
    REQUIRE(config_read(f.kernel, f.dv(), kEdu * 4096 + 0x10) == 0xfff0'0000u);
    (void)hypercall(f.kernel, f.dv(), hvc::psci::kSystemReset);
    REQUIRE(f.driver().restarts == 1);
    CHECK(config_read(f.kernel, f.dv(), kEdu * 4096 + 0x10) == kBar0);
}

TEST_CASE("configuration accesses that are no single aligned load or store stay the partition's fault", "[dma][T-26]") {
    SECTION("8 bytes: all ones, nothing written") {
        DmaKernel f;
        CHECK(config_read(f.kernel, f.dv(), kEdu * 4096, 8) == ~0ull);
        const u32 command_before = host::pci_raw(kEdu, 0x04);
        config_write(f.kernel, f.dv(), kEdu * 4096, ~0ull, 8);  // over the identity and the command
        CHECK(host::pci_raw(kEdu, 0x00) == kEduId);
        CHECK(host::pci_raw(kEdu, 0x04) == command_before);
    }
    SECTION("misaligned") {
        DmaKernel f;
        CHECK_FALSE(access(f.kernel, f.dv(), kConfig + kEdu * 4096 + 2, false, 4, 2));
        CHECK(f.driver().restarts == 1);
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

TEST_CASE("a load through the window is extended as the instruction says; a store of XZR writes 0", "[dma][T-26]") {
    DmaKernel f;
    Kernel& k = f.kernel;
    Vcpu& v = f.dv();
    const u64 device_id_low = kConfig + kEdu * 4096 + 2;  // 0xe8, the low byte of edu's device ID 0x11e8
    const auto load = [&](unsigned size, bool sign_extend, bool x_register) {
        v.regs.x[4] = 0x5555'5555'5555'5555ull;
        REQUIRE(exit_with(k, v, ExitVector::Sync, esr_access(false, size, 4, sign_extend, x_register),
                          device_id_low & 0xfff, (device_id_low >> 12) << 4));
        return v.regs.x[4];
    };
    const u64 elr = v.regs.elr;
    CHECK(load(1, true, true) == 0xffff'ffff'ffff'ffe8ull);  // LDRSB Xt
    CHECK(v.regs.elr == elr + 4);
    CHECK(load(1, true, false) == 0xffff'ffe8ull);            // LDRSB Wt: the upper half cleared
    CHECK(load(1, false, false) == 0xe8);                     // LDRB
    CHECK(load(2, true, false) == 0x11e8);                    // LDRSH of a positive halfword
    // STR WZR into the capabilities (passed through): zero, not whatever x30 or sp hold.
    arch::pci_config_write(kEdu, 0x80, 4, 0xabcd'0123);
    v.regs.x[30] = 0xffff'ffff;
    const u64 cap = kConfig + kEdu * 4096 + 0x80;
    REQUIRE(exit_with(k, v, ExitVector::Sync, esr_access(true, 4, 31), cap & 0xfff, (cap >> 12) << 4));
    CHECK(host::pci_raw(kEdu, 0x80) == 0);
}
