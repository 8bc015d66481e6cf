// The decode of a stage-2 data abort in an emulated window (kernel/arch/aarch64/trapped_access.hpp): every
// field of the instruction syndrome, every refusal, and the register a load fills.
#include <catch2/catch_test_macros.hpp>

#include <arch/aarch64/trapped_access.hpp>

#include "mmio_syndrome.hpp"

using namespace bh;
using namespace bh::test;

TEST_CASE("trapped access: the syndrome's size, direction, register, width and extension", "[mmio][T-80]") {
    struct Case {
        unsigned size;
        bool write, sse, sf;
        u8 reg;
    };
    const Case cases[] = {
        {1, false, false, false, 0},  {1, true, false, false, 30}, {2, false, true, false, 7},
        {2, false, true, true, 8},    {4, false, false, false, 1}, {4, true, false, false, 31},
        {4, false, true, true, 19},   {8, false, false, true, 2},  {8, true, false, true, 31},
    };
    for (const Case& c : cases) {
        const u64 ipa = 0x0800'0000 + 8 * c.size;
        const arch::DecodedMmio d = arch::decode_mmio(data_abort(c.size, c.write, c.reg, c.sf, c.sse), Ipa(ipa));
        INFO("size " << c.size << " write " << c.write << " reg " << int(c.reg));
        REQUIRE(d.ok());
        CHECK(d.access.ipa == Ipa(ipa));
        CHECK(d.access.size == c.size);
        CHECK(d.access.write == c.write);
        CHECK(d.access.sign_extend == c.sse);
        CHECK(d.access.wide == c.sf);
        CHECK(d.access.reg == c.reg);
    }
}

TEST_CASE("trapped access: what the syndrome cannot describe is refused with its reason", "[mmio][T-80]") {
    const Ipa ipa(0x0800'0000);
    const u64 good = data_abort(4, true, 3);
    REQUIRE(arch::decode_mmio(good, ipa).ok());
    struct Case {
        u64 esr;
        Ipa at;
        const char* reason;
    };
    const Case cases[] = {
        {good & ~kIsv, ipa, "no instruction syndrome (ISV = 0: pair, writeback, SIMD or exclusive access)"},
        {good | (1u << 7), ipa, "a stage-1 table walk touched the window"},
        {good | (1u << 8), ipa, "cache maintenance on an emulated window"},
        {good | (1u << 9), ipa, "external abort"},
        {good | (1u << 10), ipa, "no valid fault address"},
        {(good & ~0x3full) | 0x0f, ipa, "not a translation fault"},  // permission fault level 3
        {(good & ~0x3full) | 0x21, ipa, "not a translation fault"},  // alignment fault
        {good, Ipa(0x0800'0002), "misaligned access"},
        {data_abort(8, false, 3), Ipa(0x0800'0004), "misaligned access"},
        {data_abort(2, true, 3, false, true), ipa, "sign-extending store"},
        {data_abort(8, false, 3, false), ipa, "8-byte access to a 32-bit register"},
        {data_abort(8, false, 3, true, true), ipa, "8-byte access to a 32-bit register"},
        {(good & ~(0x3full << 26)) | (0x25ull << 26), ipa, "not a data abort from the guest"},
        {(good & ~(0x3full << 26)) | (0x18ull << 26), ipa, "not a data abort from the guest"},
    };
    for (const Case& c : cases) {
        INFO(c.reason);
        const arch::DecodedMmio d = arch::decode_mmio(c.esr, c.at);
        REQUIRE_FALSE(d.ok());
        CHECK(std::string(d.refusal) == c.reason);
    }
}

TEST_CASE("trapped access: stores take the register's low bytes, XZR stores zero", "[mmio][T-80]") {
    arch::GuestRegs regs{};
    regs.x[5] = 0x1122'3344'5566'7788;
    const auto value = [&](unsigned size, u8 reg) {
        return arch::store_value(arch::decode_mmio(data_abort(size, true, reg, size == 8), Ipa(0x0900'0000)).access, regs);
    };
    CHECK(value(1, 5) == 0x88);
    CHECK(value(2, 5) == 0x7788);
    CHECK(value(4, 5) == 0x5566'7788);
    CHECK(value(8, 5) == 0x1122'3344'5566'7788);
    regs.x[30] = ~0ull;
    CHECK(value(8, 31) == 0);  // XZR, not x30 or the saved frame's next word
}

TEST_CASE("trapped access: loads zero- or sign-extend to the register's width, XZR discards", "[mmio][T-80]") {
    arch::GuestRegs regs{};
    const auto load = [&](unsigned size, u8 reg, bool sf, bool sse, u64 device_value) {
        regs.x[reg < 31 ? reg : 0] = 0xdead'beef'dead'beef;
        arch::complete_load(arch::decode_mmio(data_abort(size, false, reg, sf, sse), Ipa(0x0900'0000)).access, regs,
                            device_value);
        return regs.x[reg < 31 ? reg : 0];
    };
    CHECK(load(1, 2, false, false, 0xffff'ff80) == 0x80);                  // LDRB: the byte only
    CHECK(load(1, 2, false, true, 0x80) == 0xffff'ff80);                   // LDRSB Wt: upper half cleared
    CHECK(load(1, 2, true, true, 0x80) == 0xffff'ffff'ffff'ff80);          // LDRSB Xt
    CHECK(load(2, 2, true, true, 0x7fff) == 0x7fff);                       // positive stays positive
    CHECK(load(4, 2, false, false, 0xffff'ffff'8000'0000) == 0x8000'0000);  // LDR Wt
    CHECK(load(4, 2, true, true, 0x8000'0000) == 0xffff'ffff'8000'0000);    // LDRSW
    CHECK(load(8, 2, true, false, 0x0123'4567'89ab'cdef) == 0x0123'4567'89ab'cdef);
    CHECK(load(4, 31, false, false, 0x1234) == 0xdead'beef'dead'beef);     // XZR: x0 untouched
}
