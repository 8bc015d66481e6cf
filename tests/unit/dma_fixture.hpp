// Shared by the tests of PCIe functions and DMA streams (test_pci_functions.cpp,
// test_dma_streams.cpp, test_invariants_dma.cpp): the host's fake PCI bus with the functions the
// tests assign, guest loads and stores through the configuration window as the hardware reports
// them, and a sealed kernel whose two partitions each own a function.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <arch/host/host_memory.hpp>
#include <arch/pci.hpp>
#include <arch/smmu.hpp>
#include <caps/cnode.hpp>
#include <pci/pci_boot.hpp>
#include <string>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

namespace bh::test::dma {

using F = hvc::Function;

inline constexpr u32 kEdu = platform::pci_bdf(3, 0);    // stream 0x18
inline constexpr u32 kOther = platform::pci_bdf(4, 0);  // stream 0x20
inline constexpr u32 kBridge = platform::pci_bdf(5, 0);
inline constexpr u32 kEduId = 0x11e8'1234;
inline constexpr u32 kOtherId = 0x1042'1af4;
inline constexpr u64 kBar0 = 0x1000'0000;
inline constexpr u64 kOtherBar = 0x1020'0000;
inline constexpr u64 kConfig = platform::kPciConfigWindowIpa;
inline constexpr u64 kIdx = 5;  // where the tests grant the DmaStream cap in a CSpace

// edu (BAR0 1 MiB), a virtio-like function (BAR1 4 KiB, BAR4 16 KiB 64-bit prefetchable), a bridge.
inline void plug_devices() {
    host::pci_add_function(kEdu, 0x1234, 0x11e8, {{1ull << 20}});
    host::pci_add_function(kOther, 0x1af4, 0x1042, {{0}, {0x1000}, {0}, {0}, {0x4000, true, true}});
    host::pci_add_function(kBridge, 0x1b36, 0x0001, {}, 1);  // header type 1
}

// ESR_EL2 of a data abort of a single load or store (ISV = 1), translation fault at level 3.
inline u64 esr_access(bool write, unsigned size, u32 reg, bool sign_extend = false, bool sixty_four = false) {
    sixty_four = sixty_four || size == 8;
    const u32 sas = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    return (0x24ull << 26) | (1ull << 25) | (1ull << 24) | (u64{sas} << 22) | (sign_extend ? 1ull << 21 : 0) |
           (u64{reg} << 16) | (sixty_four ? 1ull << 15 : 0) | (write ? 1ull << 6 : 0) | 0x07;
}
// The guest's access at `ipa` as its exit reports it (FAR's page offset, HPFAR's page); true
// when the vCPU resumes.
inline bool access(Kernel& k, Vcpu& v, u64 ipa, bool write, unsigned size, u32 reg) {
    return exit_with(k, v, ExitVector::Sync, esr_access(write, size, reg), ipa & 0xfff, (ipa >> 12) << 4);
}
// A load through the configuration window: the value the guest's x2 receives.
inline u64 config_read(Kernel& k, Vcpu& v, u64 offset, unsigned size = 4) {
    v.regs.x[2] = 0xdead'beef'dead'beefull;
    REQUIRE(access(k, v, kConfig + offset, false, size, 2));
    return v.regs.x[2];
}
inline void config_write(Kernel& k, Vcpu& v, u64 offset, u64 value, unsigned size = 4) {
    v.regs.x[3] = value;
    REQUIRE(access(k, v, kConfig + offset, true, size, 3));
}

// The index in host::trace() of the first entry from `from` on that starts with `prefix` (the
// trace's size when there is none).
inline std::size_t trace_index(const std::string& prefix, std::size_t from = 0) {
    const auto& t = host::trace();
    for (std::size_t i = from; i < t.size(); ++i)
        if (t[i].rfind(prefix, 0) == 0) return i;
    return t.size();
}

struct PciKernel : KernelFixture {
    PciKernel() { plug_devices(); }
    // The boot program's AssignPciFunction and PlacePciBar.
    Outcome assign(u32 s, const Partition& p, u32 bdf, u32 id) {
        return assign_pci_function(kernel.boot, kernel.pci, kernel.dma, BootSlot(s), p, bdf, id);
    }
    Outcome place(const Partition& p, u32 bdf, u32 index, u64 address) {
        return kernel.pci.place_bar(bdf, p.index, index, address);
    }
    // A DeviceMmio cap of 2 MiB at `pa` (its own root untyped); returns its boot slot.
    u32 device_memory(u64 pa) {
        const u32 us = slot(), ds = slot();
        REQUIRE(create_untyped(us, pa, 21, true).ok());
        REQUIRE(retype(us, ObjectType::DeviceMmio, 21, ds, 1).ok());
        return ds;
    }
};

// `driver` (core 1) owns the edu function (BAR0 placed, its DmaStream cap at kIdx), `other`
// (core 2) owns the second function; both restart on faults. Sealed unless asked not to.
struct DmaKernel : PciKernel {
    u32 driver_slot = 0, other_slot = 0, stream_slot = 0;
    explicit DmaKernel(bool sealed = true) {
        driver_slot = make_slot("driver", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
        other_slot = make_slot("other", kPartitionPa + 4 * kMiB, 2, 1, manifest::RestartPolicy::Restart);
        stream_slot = slot();
        REQUIRE(assign(stream_slot, driver(), kEdu, kEduId).ok());
        REQUIRE(place(driver(), kEdu, 0, kBar0).ok());
        REQUIRE(grant(stream_slot, driver(), kIdx, Rights::control() | Rights::grant()).ok());
        const u32 other_stream = slot();
        REQUIRE(assign(other_stream, other(), kOther, kOtherId).ok());
        REQUIRE(place(other(), kOther, 1, kOtherBar).ok());
        REQUIRE(place(other(), kOther, 4, kOtherBar + 0x10'0000).ok());
        REQUIRE(grant(other_stream, other(), kIdx, Rights::control()).ok());
        if (sealed) REQUIRE(seal().ok());
    }
    Partition& driver() { return partition(driver_slot); }
    Partition& other() { return partition(other_slot); }
    Vcpu& dv() { return driver().vcpus[0]; }
    Vcpu& ov() { return other().vcpus[0]; }
    CapSlot& cspace(const Partition& p, u64 index) { return caps::cnode_slots(p.cspace_root)[index]; }
    i64 bind(u64 index = kIdx) { return call_status(kernel, dv(), F::DmaStreamBind, {index}); }
    i64 unbind(u64 index = kIdx) { return call_status(kernel, dv(), F::DmaStreamUnbind, {index}); }
    u32 command() { return host::pci_raw(kEdu, 0x04) & 0xffff; }
    bool bound(u32 sid) const { return !kernel.dma.stream(sid).bound.is_none(); }
};

}  // namespace bh::test::dma
