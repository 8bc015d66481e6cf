// INV-3 DMA containment in the invariant checker (invariants/check_dma.cpp): it reads the SMMU's
// stream table (through the fake SMMU, as the hardware would) and the devices' command registers,
// and finds each way a kernel bug could leave them apart from the bindings and capabilities.
#include <catch2/catch_test_macros.hpp>

#include <arch/aarch64/smmu_format.hpp>
#include <invariants/invariants.hpp>
#include <string>

#include "dma_fixture.hpp"

using namespace bh;
using namespace bh::test;
using namespace bh::test::dma;

TEST_CASE("INV-3: the checker reads the SMMU's stream table and the devices, and finds each corruption", "[dma][invariants][T-9][T-85][T-88][INV-3]") {
    DmaKernel f;
    const auto violation = [&]() -> std::string {
        const InvariantReport r = check_invariants(f.kernel);
        const InvariantViolation* v = r.find(InvariantId::DmaContainment);
        return v == nullptr ? std::string() : v->message;
    };
    CHECK(check_invariants(f.kernel).ok());
    REQUIRE(f.bind() == 0);
    config_write(f.kernel, f.dv(), kEdu * 4096 + 0x04, 0x6, 2);
    CHECK(check_invariants(f.kernel).ok());

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
        f.cspace(f.driver(), kIdx).cap.set_mapping(PartitionId::none(), 0);
        CHECK(violation() == "a bound stream's binding is recorded by no cap of its partition");
    }
    SECTION("a cap records a binding that is not there") {
        REQUIRE(f.unbind() == 0);
        f.cspace(f.driver(), kIdx).cap.set_mapping(f.driver().index, 0);
        CHECK(violation() == "a DmaStream cap records a binding its stream does not have");
    }
    SECTION("bus mastering while unbound") {
        REQUIRE(f.unbind() == 0);
        arch::pci_config_write(kEdu, 0x04, 2, 0x6);
        CHECK(violation() == "a function masters the bus while its stream is unbound");
    }
    SECTION("the stream cap in another partition's CSpace") {
        REQUIRE(f.copy(f.cspace(f.driver(), kIdx), f.cspace(f.other(), 9)) == Status::Ok);
        CHECK(violation() == "a DmaStream cap is held by a partition its function is not assigned to");
    }
    SECTION("a cap for a stream the kernel made none for") {
        Capability forged{};
        forged.type = ObjectType::DmaStream;
        forged.rights = Rights::control();
        forged.object = platform::pci_bdf(7, 0);
        f.cspace(f.other(), 9).cap = forged;
        CHECK(violation() == "a DmaStream cap names a stream the kernel made no cap for");
    }
}

TEST_CASE("INV-3 holds after every DMA stream operation", "[dma][invariants][T-82][INV-3]") {
    DmaKernel f;
    const auto clean = [&](const char* after) {
        const InvariantReport r = check_invariants(f.kernel);
        INFO("after " << after);
        CHECK(r.ok());
    };
    clean("seal");
    REQUIRE(f.bind() == 0);
    clean("bind");
    REQUIRE(call_status(f.kernel, f.dv(), F::CapMint, {kIdx, 9, Rights::kControl, 0}) == 0);
    clean("mint");
    REQUIRE(f.unbind() == 0);
    REQUIRE(f.bind(9) == 0);
    clean("bind through the mint");
    REQUIRE(host::smmu_dma(kEdu, 0x7000'0000, true).outcome == host::DmaAccess::Outcome::Faulted);
    f.kernel.dma.service();
    clean("a fault");
    CHECK_FALSE(exit_with(f.kernel, f.dv(), ExitVector::Irq));
    clean("the restart it caused");
    REQUIRE(f.bind() == 0);
    REQUIRE(call_status(f.kernel, f.dv(), F::CapRevoke, {kIdx}) == 0);
    clean("revoke");
}
