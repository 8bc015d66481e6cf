// kernel/arch/vgic_hw.hpp on the host: each core's virtual CPU interface as arrays whose status
// registers are computed from the list registers exactly as the GICv3 specification defines
// them (ICH_ELRSR_EL2, ICH_EISR_EL2, ICH_MISR_EL2), so the generic vGIC meets the same rules as
// on hardware; the physical GIC and the console UART as recorders.
#include <array>
#include <cstdlib>
#include <deque>

#include <arch/arch.hpp>
#include <arch/host/host_vgic.hpp>
#include <arch/vgic_hw.hpp>
#include <bulkhead/platform.hpp>

namespace bh {
namespace {

constexpr u32 kPrivateInterrupts = 32;  // SGIs and PPIs

struct Interface {
    u64 lr[arch::kMaxListRegisters] = {};
    u32 hcr = 0;
    u32 vmcr = 0;
    u32 ap0r[arch::kMaxActivePriorityRegisters] = {};
    u32 ap1r[arch::kMaxActivePriorityRegisters] = {};
};

std::array<Interface, platform::kMaxCores> g_ich{};
std::vector<host::Deactivation> g_deactivations;
std::array<bool, platform::kSpiLimit> g_spi_pending{};
std::array<std::array<bool, kPrivateInterrupts>, platform::kMaxCores> g_ppi_enabled{};
std::deque<u8> g_console_input;
bool g_console_input_held = false;
int g_console_input_core = -1;

Interface& here() { return g_ich[arch::current_core()]; }

u64 state(u64 lr) { return lr & arch::lr::kStateMask; }

void check_index(unsigned index) {
    if (index >= host::kHostListRegisters) std::abort();  // the generic code asked for a register that is not there
}

}  // namespace

namespace arch {

unsigned vgic_list_registers() { return host::kHostListRegisters; }

u64 vgic_read_lr(unsigned index) {
    check_index(index);
    return here().lr[index];
}

void vgic_write_lr(unsigned index, u64 value) {
    check_index(index);
    here().lr[index] = value;
}

void vgic_write_first_lr(u64 value) { vgic_write_lr(0, value); }

u32 vgic_empty_lrs() {
    u32 bits = 0;
    for (unsigned i = 0; i < host::kHostListRegisters; ++i) {
        const u64 lr = here().lr[i];
        if (state(lr) == 0 && ((lr & lr::kHw) != 0 || (lr & lr::kEoi) == 0)) bits |= 1u << i;
    }
    return bits;
}

u32 vgic_eoi_lrs() {
    u32 bits = 0;
    for (unsigned i = 0; i < host::kHostListRegisters; ++i) {
        const u64 lr = here().lr[i];
        if (state(lr) == 0 && (lr & lr::kHw) == 0 && (lr & lr::kEoi) != 0) bits |= 1u << i;
    }
    return bits;
}

u32 vgic_maintenance_status() {
    const Interface& c = here();
    if ((c.hcr & ich::kEnable) == 0) return 0;
    u32 misr = vgic_eoi_lrs() != 0 ? ich::kEoi : 0;
    unsigned valid = 0;
    for (unsigned i = 0; i < host::kHostListRegisters; ++i) valid += state(c.lr[i]) != 0 ? 1 : 0;
    if ((c.hcr & ich::kUnderflow) != 0 && valid < 2) misr |= ich::kUnderflow;
    return misr;
}

void vgic_set_control(u32 hcr) { here().hcr = hcr; }

void vgic_save(arch::CpuInterfaceState& out) {
    const Interface& c = here();
    out.vmcr = c.vmcr;
    for (unsigned i = 0; i < arch::kMaxActivePriorityRegisters; ++i) {
        out.ap0r[i] = c.ap0r[i];
        out.ap1r[i] = c.ap1r[i];
    }
    for (unsigned i = 0; i < host::kHostListRegisters; ++i) out.lr[i] = c.lr[i];
}

void vgic_restore(const arch::CpuInterfaceState& in) {
    Interface& c = here();
    c.vmcr = in.vmcr;
    for (unsigned i = 0; i < arch::kMaxActivePriorityRegisters; ++i) {
        c.ap0r[i] = in.ap0r[i];
        c.ap1r[i] = in.ap1r[i];
    }
    for (unsigned i = 0; i < host::kHostListRegisters; ++i) c.lr[i] = in.lr[i];
}

void irq_deactivate(u32 intid, unsigned core) {
    if (intid >= platform::kSpiLimit || core >= platform::kMaxCores) std::abort();
    g_deactivations.push_back({intid, intid < platform::kFirstSpi ? core : current_core()});
}

void irq_set_pending(u32 intid) {
    if (intid < platform::kFirstSpi || intid >= platform::kSpiLimit) std::abort();
    g_spi_pending[intid] = true;
}

void irq_clear_pending(u32 intid) {
    if (intid < platform::kFirstSpi || intid >= platform::kSpiLimit) std::abort();
    g_spi_pending[intid] = false;
}

void local_ppi_enable(u32 intid, bool enable) {
    if (intid >= kPrivateInterrupts) std::abort();
    g_ppi_enabled[current_core()][intid] = enable;
}

bool console_read(u8& byte) {
    if (g_console_input.empty()) return false;
    byte = g_console_input.front();
    g_console_input.pop_front();
    return true;
}

void console_input_route(unsigned core) {
    if (core >= platform::kMaxCores) std::abort();
    g_console_input_core = static_cast<int>(core);
    g_console_input_held = false;
}

void console_input_hold(bool hold) { g_console_input_held = hold; }

}  // namespace arch

namespace host {

u32 guest_acknowledge(unsigned core) {
    Interface& c = g_ich.at(core);
    if ((c.hcr & arch::ich::kEnable) == 0) return 1023;
    int best = -1;
    u64 best_priority = 0x100;
    for (unsigned i = 0; i < kHostListRegisters; ++i) {
        const u64 lr = c.lr[i];
        if (state(lr) != arch::lr::kPending) continue;
        const u64 priority = (lr >> arch::lr::kPriorityShift) & 0xff;
        if (priority < best_priority) {
            best = static_cast<int>(i);
            best_priority = priority;
        }
    }
    if (best < 0) return 1023;
    c.lr[best] = (c.lr[best] & ~arch::lr::kStateMask) | arch::lr::kActive;
    return static_cast<u32>(c.lr[best] & arch::lr::kVirtualMask);
}

bool guest_end_of_interrupt(unsigned core, u32 intid) {
    Interface& c = g_ich.at(core);
    for (unsigned i = 0; i < kHostListRegisters; ++i) {
        u64& lr = c.lr[i];
        if ((lr & arch::lr::kActive) == 0 || (lr & arch::lr::kVirtualMask) != intid) continue;
        lr &= ~arch::lr::kActive;
        if ((lr & arch::lr::kHw) != 0) {
            const u32 physical = static_cast<u32>((lr & arch::lr::kPhysicalMask) >> arch::lr::kPhysicalShift);
            g_deactivations.push_back({physical, core});
        }
        return true;
    }
    return false;
}

u64 list_register(unsigned core, unsigned index) { return g_ich.at(core).lr[index]; }
u32 ich_control(unsigned core) { return g_ich.at(core).hcr; }
const u32* active_priorities(unsigned core) { return g_ich.at(core).ap1r; }
const std::vector<Deactivation>& deactivations() { return g_deactivations; }
bool spi_pending(u32 intid) { return intid < g_spi_pending.size() && g_spi_pending[intid]; }
bool local_ppi_enabled(unsigned core, u32 intid) { return g_ppi_enabled.at(core).at(intid); }

void console_receive(const std::string& bytes) {
    for (char c : bytes) g_console_input.push_back(static_cast<u8>(c));
}
u64 console_bytes_waiting() { return g_console_input.size(); }
bool console_input_held() { return g_console_input_held; }
int console_input_core() { return g_console_input_core; }

void reset_vgic() {
    g_ich.fill(Interface{});
    g_deactivations.clear();
    g_spi_pending.fill(false);
    for (auto& core : g_ppi_enabled) core.fill(false);
    g_console_input.clear();
    g_console_input_held = false;
    g_console_input_core = -1;
}

}  // namespace host
}  // namespace bh
