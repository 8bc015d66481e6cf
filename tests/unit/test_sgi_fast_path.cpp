// The vectors' SGI fast path (vectors.S lower_sync's EC 0x18 branch, arch/aarch64/sgi_trap.hpp,
// vgic::send_sgi_to_self_at_once): every SGI register write leaves the same registers, the same
// vGIC state, the same list registers and the same kicks whether the fast path takes it or the
// full path alone does (both of the full path's ways: the machine's early SGI exit,
// kernel_entry::sgi_register_write, and the decoded exit, handle_guest_exit); a write it does not
// take changes nothing before the full path runs.
#include <catch2/catch_test_macros.hpp>

#include <array>
#include <vector>

#include "vgic_fixture.hpp"

using namespace bh;
using namespace bh::test;

namespace {

constexpr u32 kOn = 3, kOff = 9;  // SGIs enabled on every vCPU of `guest` / never enabled

// guest: virtual GIC, vCPUs 0 and 1 on cores 1 and 2 (vCPU 1 started or not), SGI kOn enabled on
//        both; vCPU 0 is the sender.
// other: virtual GIC, one vCPU on core 3, SGI kOn enabled: no SGI of guest may reach it.
// plain: no virtual GIC, core 0: its SGI register writes are its faults, fast path or not.
struct World : VgicFixture {
    Partition* guest = nullptr;
    Partition* other = nullptr;
    Partition* plain = nullptr;
    World(bool start_vcpu1, bool lr_in_use) {
        guest = &make("guest", kPartitionPa, 1, 2, manifest::RestartPolicy::Stop, flag::kVirtualGic);
        other = &make("other", kPartitionPa + 4 * kMiB, 3, 1, manifest::RestartPolicy::Stop, flag::kVirtualGic);
        plain = &make("plain", kPartitionPa + 8 * kMiB, 0);
        REQUIRE(seal().ok());
        enter(guest->vcpus[0]);
        enter(other->vcpus[0]);
        enter(plain->vcpus[0]);
        enable_private(guest->vcpus[0], 0, kOn);
        enable_private(other->vcpus[0], 0, kOn);
        if (start_vcpu1) {
            start(guest->vcpus[0], *guest, 1);
            enable_private(guest->vcpus[1], 1, kOn);
        }
        if (lr_in_use) {
            // SGI 5, enabled and taken: active in vCPU 0's first list register.
            enable_private(guest->vcpus[0], 0, 5);
            sgi(guest->vcpus[0], sgir(5, 0b1));
            REQUIRE(acknowledge(guest->vcpus[0]) == 5);
        }
    }
};

// What one exit leaves behind, everywhere an SGI could land.
struct VcpuSnapshot {
    u32 enabled = 0, pending = 0, pending_spi = 0, hcr = 0;
    std::array<u32, arch::kMaxListRegisters> lr_intid{};
    VcpuState state = VcpuState::Off;
    bool operator==(const VcpuSnapshot&) const = default;
};
struct Snapshot {
    bool resume = false;
    std::array<u64, 31> x{};
    u64 elr = 0, spsr = 0;
    std::array<VcpuSnapshot, 4> vcpus{};  // guest 0, guest 1, other 0, plain 0
    std::array<std::array<u64, host::kHostListRegisters>, 4> lrs{};  // per core
    std::array<u64, 4> kicks{};
    std::array<PartitionState, 3> partitions{};
    bool operator==(const Snapshot&) const = default;
};

VcpuSnapshot snapshot(const Vcpu& v) {
    VcpuSnapshot s;
    s.enabled = v.vgic.enabled.load();
    s.pending = v.vgic.pending.load();
    s.pending_spi = v.vgic.pending_spi.load();
    s.hcr = v.vgic.hcr;
    for (unsigned i = 0; i < arch::kMaxListRegisters; ++i) s.lr_intid[i] = v.vgic.lr_intid[i];
    s.state = v.load_state();
    return s;
}

Snapshot snapshot(World& w, const Vcpu& sender, bool resume) {
    Snapshot s;
    s.resume = resume;
    for (unsigned i = 0; i < 31; ++i) s.x[i] = sender.regs.x[i];
    s.elr = sender.regs.elr;
    s.spsr = sender.regs.spsr;
    s.vcpus = {snapshot(w.guest->vcpus[0]), snapshot(w.guest->vcpus[1]), snapshot(w.other->vcpus[0]),
               snapshot(w.plain->vcpus[0])};
    for (unsigned core = 0; core < 4; ++core) {
        for (unsigned i = 0; i < host::kHostListRegisters; ++i) s.lrs[core][i] = host::list_register(core, i);
        s.kicks[core] = host::kick_count(core);
    }
    s.partitions = {w.guest->load_state(), w.other->load_state(), w.plain->load_state()};
    return s;
}

enum class Way { Vectors, EarlyExit, DecodedExit };
enum class Sender { Guest, Plain };

struct Case {
    u64 esr;
    u64 value;
    bool start_vcpu1;
    bool lr_in_use;
    Sender sender;
};

// The guest's registers before the write: each its own value, the written one in Rt.
void set_registers(Vcpu& v, u64 esr, u64 value) {
    for (unsigned i = 0; i < 31; ++i) v.regs.x[i] = 0x1111 * (i + 1);
    const unsigned rt = static_cast<unsigned>(esr >> 5 & 31);
    if (rt != 31) v.regs.x[rt] = value;
}

// One exit of the write, taken one way; `taken`: the vectors' fast path settled it.
Snapshot run(const Case& c, Way way, bool* taken = nullptr) {
    World w(c.start_vcpu1, c.lr_in_use);
    Vcpu& v = c.sender == Sender::Guest ? w.guest->vcpus[0] : w.plain->vcpus[0];
    set_registers(v, c.esr, c.value);
    w.on_core(v);
    g_vectors_fast_path = false;  // below, exit() is the full path alone
    bool resume = false, fast = false;
    switch (way) {
        case Way::Vectors:
            fast = vectors_send_sgi(v, c.esr);
            resume = fast || w.exit(v, ExitVector::Sync, c.esr);
            break;
        case Way::EarlyExit: {
            // bh_guest_exit: the SGI register write recognised first, with the whole frame saved.
            const arch::SgiRegisterWrite sgi = arch::sgi_register_write(c.esr);
            resume = (sgi.found && kernel_entry::sgi_register_write(v, sgi.rt == 31 ? 0 : v.regs.x[sgi.rt], sgi.group1)) ||
                     w.exit(v, ExitVector::Sync, c.esr);
            break;
        }
        case Way::DecodedExit: resume = w.exit(v, ExitVector::Sync, c.esr); break;
    }
    g_vectors_fast_path = true;
    if (taken != nullptr) *taken = fast;
    return snapshot(w, v, resume);
}

// The classes of ICC_SGI1R_EL1 value: the sender's own bit, another vCPU of its partition (on
// another core), cores of other partitions, all but self (IRM), targets beyond its vCPUs or in
// other clusters (Aff1..3), the range selector, the sender among other targets.
const std::vector<u64> kValues = {
    sgir(kOn, 0b1),                    // self
    sgir(kOff, 0b1),                   // self, not enabled
    sgir(5, 0b1),                      // self, the SGI a busy list register holds
    sgir(kOn, 0b10),                   // vCPU 1, on core 2
    sgir(kOn, 0b11),                   // self and vCPU 1
    sgir(kOn, 0b1000),                 // Aff0 3: core 3 runs another partition's vCPU
    sgir(kOn, 0xfffc),                 // every Aff0 but its own
    sgir_all_but_self(kOn),            // IRM = 1
    sgir_all_but_self(kOn) | 0b1,      // IRM = 1 ignores the list: not the sender
    sgir(kOn, 0b1, 1),                 // RS = 1: Aff0 16, not vCPU 0
    sgir(kOn, 0b1, 15),
    sgir(kOn, 0b1, 0, 1),              // Aff1 = 1
    sgir(kOn, 0b1, 0, 0, 1),           // Aff2 = 1
    sgir(kOn, 0b1, 0, 0, 0, 1),        // Aff3 = 1
    sgir(kOn, 0),                      // nobody
    sgir(kOn, 0b1) | 0xfull << 56 | 0xfull << 20,  // RES0 bits set around a self-IPI
};

std::vector<Case> cases() {
    std::vector<Case> out;
    for (bool vcpu1 : {false, true})
        for (bool busy : {false, true})
            for (u64 value : kValues) out.push_back({msr_sgi1r(4), value, vcpu1, busy, Sender::Guest});
    // Every register the value may come from: x19..x29 are not in the vectors' partial frame.
    for (u8 rt = 0; rt < 32; ++rt) {
        out.push_back({msr_sgi1r(rt), sgir(kOn, 0b1), false, false, Sender::Guest});
        out.push_back({msr_sgi1r(rt), sgir(kOn, 0b10), true, false, Sender::Guest});
    }
    // The other SGI registers, which deliver nothing; a partition without a virtual GIC.
    for (u64 esr : {msr_sgi0r(4), msr_asgi1r(4), msr_sgi1r(4)}) {
        out.push_back({esr, sgir(kOn, 0b1), false, false, Sender::Guest});
        out.push_back({esr, sgir(kOn, 0b1), false, false, Sender::Plain});
    }
    return out;
}

}  // namespace

TEST_CASE("vgic: the SGI fast path: every SGI register write leaves the same state with or without it",
          "[vgic][fast-path][T-43][T-75]") {
    unsigned taken = 0, declined = 0;
    for (const Case& c : cases()) {
        INFO("esr " << std::hex << c.esr << " value " << c.value << " vCPU 1 " << c.start_vcpu1 << " busy "
                    << c.lr_in_use << " plain " << (c.sender == Sender::Plain));
        bool fast = false;
        const Snapshot vectors = run(c, Way::Vectors, &fast);
        const Snapshot early = run(c, Way::EarlyExit);
        const Snapshot decoded = run(c, Way::DecodedExit);
        CHECK(vectors == early);
        CHECK(vectors == decoded);
        ++(fast ? taken : declined);
    }
    // Both occur: the test would say nothing if the fast path took every write or none.
    CHECK(taken >= 10);
    CHECK(declined >= 50);
}

TEST_CASE("vgic: the SGI fast path: it takes exactly the self-IPIs that go straight into a list register",
          "[vgic][fast-path][T-75]") {
    const auto takes = [](const Case& c) {
        bool fast = false;
        (void)run(c, Way::Vectors, &fast);
        return fast;
    };
    CHECK(takes({msr_sgi1r(4), sgir(kOn, 0b1), false, false, Sender::Guest}));
    CHECK(takes({msr_sgi1r(0), sgir(kOn, 0b1), true, false, Sender::Guest}));
    CHECK(takes({msr_sgi1r(18), sgir(kOn, 0b1), false, false, Sender::Guest}));
    CHECK(takes({msr_sgi1r(30), sgir(kOn, 0b1), false, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi1r(31), sgir(kOn, 0b1), false, false, Sender::Guest}));  // XZR: 0 names nobody
    CHECK_FALSE(takes({msr_sgi1r(19), sgir(kOn, 0b1), false, false, Sender::Guest}));  // not in the partial frame
    CHECK_FALSE(takes({msr_sgi1r(29), sgir(kOn, 0b1), false, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOff, 0b1), false, false, Sender::Guest}));  // not enabled: pending
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOn, 0b1), false, true, Sender::Guest}));    // a list register busy
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOn, 0b11), true, false, Sender::Guest}));   // another core too
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOn, 0b10), true, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi1r(4), sgir_all_but_self(kOn), true, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOn, 0b1, 1), false, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOn, 0b1, 0, 1), false, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOn, 0), false, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi0r(4), sgir(kOn, 0b1), false, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_asgi1r(4), sgir(kOn, 0b1), false, false, Sender::Guest}));
    CHECK_FALSE(takes({msr_sgi1r(4), sgir(kOn, 0b1), false, false, Sender::Plain}));
    // Not an SGI register: another trapped MSR, an MRS of ICC_SGI1R_EL1's encoding, an HVC.
    CHECK_FALSE(takes({msr(3, 0, 12, 12, 1, 4), sgir(kOn, 0b1), false, false, Sender::Guest}));
    CHECK_FALSE(takes({mrs(3, 0, 12, 11, 5, 4), sgir(kOn, 0b1), false, false, Sender::Guest}));
}

TEST_CASE("vgic: the SGI fast path: a write it does not take changes nothing", "[vgic][fast-path][T-75]") {
    unsigned declined = 0;
    for (const Case& c : cases()) {
        World w(c.start_vcpu1, c.lr_in_use);
        Vcpu& v = c.sender == Sender::Guest ? w.guest->vcpus[0] : w.plain->vcpus[0];
        set_registers(v, c.esr, c.value);
        w.on_core(v);
        const Snapshot before = snapshot(w, v, true);
        if (arch::sgi_fast_list_register(v, c.esr, v.regs, arch::vgic_empty_lrs()) != 0) continue;
        ++declined;
        INFO("esr " << std::hex << c.esr << " value " << c.value << " vCPU 1 " << c.start_vcpu1 << " busy "
                    << c.lr_in_use);
        CHECK(snapshot(w, v, true) == before);
    }
    CHECK(declined >= 50);
}
