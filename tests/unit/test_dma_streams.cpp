// DMA streams on the host (dma/dma_streams.hpp): DmaStreamBind/Unbind, unbinding by delete,
// revoke, stop and restart (before the memory is scrubbed), the SMMU's TLB invalidated on unmap,
// and fault records contained against the partition whose stream faulted. The fake SMMU
// (host_memory.hpp) caches STEs and translations as the hardware may, so every forgotten
// invalidation fails a check here.
#include <catch2/catch_test_macros.hpp>

#include <arch/aarch64/smmu_format.hpp>
#include <audit/audit_log.hpp>
#include <cstdio>
#include <string>

#include "dma_fixture.hpp"

using namespace bh;
using namespace bh::test;
using namespace bh::test::dma;

TEST_CASE("DmaStreamBind and Unbind: refusals, then the stream translates through the caller's stage 2", "[dma][hypercall][T-9][T-82][INV-3]") {
    DmaKernel f;
    Vcpu& v = f.dv();
    const u64 commands_before = host::smmu_commands().size();
    audit::reset();
    CHECK(f.bind(1) == st(Status::InvalidArgument));    // its CNode
    // A refused DMA call is a security event of its own class.
    const audit::ReadResult refused = audit::log().read(0);
    REQUIRE(refused.status == Status::Ok);
    CHECK(refused.entry.event == audit::Event::CallRefused);
    CHECK(refused.entry.detail == static_cast<u8>(audit::CallClass::Dma));
    CHECK(refused.entry.a == static_cast<u64>(F::DmaStreamBind));
    CHECK(f.bind(200) == st(Status::InvalidArgument));  // empty slot
    CHECK(f.unbind() == st(Status::NotFound));
    // Without Control: a mint with Grant only.
    REQUIRE(call_status(f.kernel, v, F::CapMint, {kIdx, 9, Rights::kGrant, 0}) == 0);
    CHECK(f.bind(9) == st(Status::Denied));
    CHECK(host::smmu_commands().size() == commands_before);  // nothing reached the SMMU
    CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);

    REQUIRE(f.bind() == 0);
    const arch::DmaStreamState state = arch::smmu_stream_state(kEdu);
    CHECK(state.kind == arch::DmaStreamState::Kind::Translate);
    CHECK(state.vmid == f.driver().vmid);
    CHECK(state.root == f.driver().stage2.root());
    CHECK(f.cspace(f.driver(), kIdx).cap.mapped());
    CHECK(f.cspace(f.driver(), kIdx).cap.mapped_partition() == f.driver().index);
    CHECK(f.bind() == st(Status::Exists));
    // Identify says bound.
    REQUIRE(call_status(f.kernel, v, F::CapIdentify, {kIdx}) == 0);
    CHECK(v.regs.x[1] == static_cast<u64>(ObjectType::DmaStream));
    CHECK(v.regs.x[5] == 1);
    // A device access of the driver's RAM now goes where its stage 2 says.
    const host::DmaAccess d = host::smmu_dma(kEdu, kGuestRam + 0x100, true);
    CHECK(d.outcome == host::DmaAccess::Outcome::Done);
    CHECK(d.pa == kPartitionPa + 0x100);
    CHECK(host::smmu_dma(kEdu, kGuestRam + 4 * kMiB, true).outcome == host::DmaAccess::Outcome::Faulted);
    // The other partition's cap at the same index is its own stream's, which it never bound.
    CHECK(call_status(f.kernel, f.ov(), F::DmaStreamUnbind, {kIdx}) == st(Status::NotFound));

    config_write(f.kernel, v, kEdu * 4096 + 0x04, 0x6, 2);
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

TEST_CASE("a bound stream aborts when the cap that bound it is deleted or revoked", "[dma][caps][T-46][T-82][INV-3]") {
    DmaKernel f;
    Vcpu& v = f.dv();
    SECTION("delete") {
        REQUIRE(f.bind() == 0);
        REQUIRE(call_status(f.kernel, v, F::CapDelete, {kIdx}) == 0);
        CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);
        CHECK_FALSE(f.bound(kEdu));
    }
    SECTION("revoke of the parent of the cap that bound it") {
        REQUIRE(call_status(f.kernel, v, F::CapMint, {kIdx, 9, Rights::kControl, 0}) == 0);
        REQUIRE(f.bind(9) == 0);
        REQUIRE(call_status(f.kernel, v, F::CapRevoke, {kIdx}) == 0);
        CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);
        CHECK(f.cspace(f.driver(), 9).empty());
        CHECK(f.bind() == 0);  // the parent binds anew
    }
    SECTION("deleting a cap that did not bind it leaves the binding") {
        REQUIRE(call_status(f.kernel, v, F::CapMint, {kIdx, 9, Rights::kControl, 0}) == 0);
        REQUIRE(f.bind() == 0);
        REQUIRE(call_status(f.kernel, v, F::CapDelete, {9}) == 0);
        CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Translate);
    }
}

TEST_CASE("a restart aborts the partition's streams, completed, before its memory is scrubbed", "[dma][containment][T-82][T-87][INV-3]") {
    DmaKernel f;
    Vcpu& v = f.dv();
    REQUIRE(f.bind() == 0);
    arch::pci_config_write(kEdu, 0x04, 2, 0x6);
    REQUIRE(host::smmu_dma(kEdu, kGuestRam, true).outcome == host::DmaAccess::Outcome::Done);  // cached
    host::trace().clear();
    (void)hypercall(f.kernel, v, hvc::psci::kSystemReset);
    CHECK(f.driver().restarts == 1);
    const std::size_t abort = trace_index("ste 0x18 abort");
    const std::size_t sync = trace_index("smmu sync", abort);
    char ram[32];
    std::snprintf(ram, sizeof ram, "clean 0x%llx", static_cast<unsigned long long>(kPartitionPa));
    const std::size_t clean = trace_index(ram);
    REQUIRE(abort < host::trace().size());
    CHECK(sync < clean);  // the device could not write while the kernel scrubbed and reloaded
    CHECK(clean < host::trace().size());
    CHECK(host::smmu_dma(kEdu, kGuestRam, true).outcome == host::DmaAccess::Outcome::Aborted);
    CHECK((f.command() & 0x4) == 0);
    CHECK_FALSE(f.cspace(f.driver(), kIdx).cap.mapped());  // the new run binds anew
    CHECK_FALSE(f.bound(kEdu));
    CHECK(f.bind() == 0);
}

TEST_CASE("an unmap removes the translation from the SMMU's TLB before the frame can be reused", "[dma][stage2][T-82][INV-1]") {
    DmaKernel f(false);
    const u32 fs = f.frame(kPartitionPa + 8 * kMiB, 12);
    REQUIRE(f.grant(fs, f.driver(), 9, Rights::read() | Rights::write() | Rights::grant()).ok());
    REQUIRE(f.seal().ok());
    Vcpu& v = f.dv();
    REQUIRE(call_status(f.kernel, v, F::FrameMap, {9, 0x5000'0000, 3}) == 0);
    REQUIRE(f.bind() == 0);
    REQUIRE(host::smmu_dma(kEdu, 0x5000'0000, true).outcome == host::DmaAccess::Outcome::Done);
    REQUIRE(host::smmu_tlb_entries(f.driver().vmid) >= 1);
    REQUIRE(call_status(f.kernel, v, F::FrameUnmap, {9}) == 0);
    CHECK(host::smmu_dma(kEdu, 0x5000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
}

TEST_CASE("a fault of a bound stream aborts it, is reported against its partition, and takes the partition down there", "[dma][containment][T-9][T-33][T-84][INV-3]") {
    DmaKernel f;
    REQUIRE(f.bind() == 0);
    // The device writes outside its partition: 40 records, more than one service takes.
    for (u32 i = 0; i < 40; ++i)
        REQUIRE(host::smmu_dma(kEdu, 0x7000'0000 + 4 * i, true).outcome == host::DmaAccess::Outcome::Faulted);
    host::reset_console();
    host::reset_counters();
    audit::reset();
    f.kernel.dma.service();
    const std::string& out = host::console_output();
    // One security audit event for the stream, naming its partition, the stream and the address.
    const audit::ReadResult event = audit::log().read(0);
    REQUIRE(event.status == Status::Ok);
    CHECK(event.entry.event == audit::Event::SmmuEvent);
    CHECK(event.entry.partition_plus1 == f.driver().index.raw() + 1);
    CHECK(event.entry.detail == 1);  // a write
    CHECK(event.entry.a == kEdu);
    CHECK(event.entry.b == 0x7000'0000);
    CHECK(audit::log().read(event.next).status == Status::NotFound);  // one per stream, not per record
    CHECK(out.find("audit #0 core 0: SMMU event 'driver' write a=0x18 b=0x70000000") != std::string::npos);
    CHECK(out.find("DMA FAULT partition 'driver' stream 0x18 (00:03.0): translation fault, write at IPA 0x70000000; "
                   "stream aborted") != std::string::npos);
    CHECK(out.find("smmu: 31 more DMA fault records (32 in all)") != std::string::npos);
    CHECK(out.find("overflowed") != std::string::npos);  // 40 records into a queue of 32
    CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Abort);
    CHECK(host::kick_count(1) == 1);  // its vCPU's core leaves the guest
    CHECK(host::kick_count(2) == 0);
    CHECK(f.driver().load_state() == PartitionState::Running);  // not yet: on its own core
    // The other partition's exits do not stop it.
    CHECK(call_status(f.kernel, f.ov(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.other().load_state() == PartitionState::Running);
    // Its next exit (the kick) restarts it, by its policy.
    CHECK_FALSE(exit_with(f.kernel, f.dv(), ExitVector::Irq));
    CHECK(f.driver().restarts == 1);
    CHECK(f.driver().load_state() == PartitionState::Running);
    CHECK(host::console_output().find("partition 'driver' restarting (restart 1)") != std::string::npos);
    // Once only.
    CHECK(call_status(f.kernel, f.dv(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.driver().restarts == 1);
    // A record that arrives after the stream was aborted names no partition, and stops none.
    host::smmu_record_event(kEdu, 0x7000'0000, true);
    host::reset_console();
    f.kernel.dma.service();
    CHECK(host::console_output().find("DMA FAULT stream 0x18 (00:03.0), bound to no partition: translation fault, "
                                      "write at 0x70000000") != std::string::npos);
    CHECK(f.kernel.dma.faults() == 33);
    CHECK(f.kernel.dma.lost() == 1);
    CHECK(call_status(f.kernel, f.dv(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.driver().restarts == 1);
}

TEST_CASE("a partition whose device faulted while none of its vCPUs ran is stopped before one runs again",
          "[dma][containment][T-9][INV-3]") {
    DmaKernel f;
    REQUIRE(f.bind() == 0);
    REQUIRE(host::smmu_dma(kEdu, 0x7000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
    f.dv().store_state(VcpuState::Runnable);  // it left its core (parked, or not yet entered)
    host::reset_counters();
    f.kernel.dma.service();
    CHECK(host::kick_count(1) == 0);  // nothing to kick
    CHECK(f.driver().restarts == 0);
    // Its core claims it to enter it: the partition is taken down there instead, by its policy.
    Vcpu* v = f.kernel.cores.claim(f.dv().core);
    REQUIRE(v == &f.dv());
    CHECK(stop_if_device_faulted(f.kernel, *v));
    CHECK(f.driver().restarts == 1);
    CHECK(f.driver().load_state() == PartitionState::Running);
    // Once: its next run enters as usual, when the restart back-off lets it start.
    CHECK(f.kernel.cores.claim(f.dv().core) == nullptr);
    host::set_counter(f.dv().start_not_before.load());
    v = f.kernel.cores.claim(f.dv().core);
    REQUIRE(v == &f.dv());
    CHECK_FALSE(stop_if_device_faulted(f.kernel, *v));
    CHECK(f.other().restarts == 0);
}

TEST_CASE("a fault record of an earlier binding is not blamed on the next one", "[dma][containment][T-87][INV-3]") {
    DmaKernel f;
    REQUIRE(f.bind() == 0);
    // The device faults, and before the SMMU's interrupt is serviced its partition restarts.
    REQUIRE(host::smmu_dma(kEdu, 0x7000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
    (void)hypercall(f.kernel, f.dv(), hvc::psci::kSystemReset);
    REQUIRE(f.driver().restarts == 1);
    host::reset_console();
    REQUIRE(f.bind() == 0);  // the new run binds: the old record is taken first
    CHECK(host::console_output().find("bound to no partition") != std::string::npos);
    f.kernel.dma.service();
    CHECK(arch::smmu_stream_state(kEdu).kind == arch::DmaStreamState::Kind::Translate);
    CHECK(call_status(f.kernel, f.dv(), F::CapIdentify, {kIdx}) == 0);
    CHECK(f.driver().restarts == 1);  // not stopped for the old run's fault
}

TEST_CASE("without a usable SMMU no stream can be bound", "[dma][T-9][INV-3]") {
    DmaKernel f;
    host::smmu_set_available(false);
    CHECK(f.bind() == st(Status::NotSupported));
    CHECK_FALSE(f.cspace(f.driver(), kIdx).cap.mapped());
}

TEST_CASE("the SMMU's global errors are reported once each", "[dma][T-84]") {
    DmaKernel f;
    host::reset_console();
    f.kernel.dma.service();
    CHECK(host::console_output().empty());
    host::smmu_raise_global_error(1u << 8);
    f.kernel.dma.service();
    CHECK(host::console_output().find("smmu: global error 0x100 (service failure: every stream aborts)") != std::string::npos);
    CHECK(f.kernel.dma.global_errors() == 1);
    host::reset_console();
    f.kernel.dma.service();
    CHECK(host::console_output().empty());  // acknowledged
}
