// The arch SMMU and PCIe interfaces on the host: a fake SMMU that reads the same stream table
// entries and commands the EL2 driver writes (smmu_format.hpp), and behaves as QEMU's model does
// where it matters for isolation: it caches decoded STEs until CFGI_STE, caches translations per
// VMID until TLBI_S12_VMALL, walks the partition's stage-2 tables in simulated RAM, aborts
// silently on an abort STE and records an event for a stage-2 fault. So a kernel that forgets an
// invalidation is caught by a test doing a device access afterwards (host::smmu_dma). The fake
// PCI bus holds configuration spaces with BAR sizing and a command register.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <bulkhead/platform.hpp>

#include "arch/aarch64/smmu_format.hpp"
#include "arch/arch.hpp"
#include "arch/smmu.hpp"
#include "arch/host/host_memory.hpp"

namespace bh {
namespace {

constexpr u32 kEventQueueEntries = 32;  // as the EL2 driver's

struct Tlb {
    u64 pa_page;
    u64 attrs;
};

std::array<smmu::Ste, platform::kStreamCount> all_abort() {
    std::array<smmu::Ste, platform::kStreamCount> t;
    t.fill(smmu::ste_abort());
    return t;
}

// Out of the kernel's smmu_enable: every stream valid and aborting, nothing cached.
struct FakeSmmu {
    bool available = true;
    std::array<smmu::Ste, platform::kStreamCount> table = all_abort();
    std::array<std::optional<smmu::SteView>, platform::kStreamCount> config_cache{};
    std::map<std::pair<u16, u64>, Tlb> tlb;  // (VMID, IPA page) -> translation
    std::vector<smmu::Command> commands;
    std::deque<smmu::Event> events;
    bool overflowed = false;  // as EVENTQ_PROD.OVFLG: records were lost since the last look
    u32 global_errors = 0;    // active GERROR bits not yet acknowledged
};
FakeSmmu g_smmu;

// The driver's own state (as kernel/arch/aarch64/smmu.cpp): which VMID each stream translates
// with, and how many streams translate with each VMID; smmu_tlbi_vmid skips a VMID with none.
struct Driver {
    std::array<u16, platform::kStreamCount> vmid_of_stream{};
    std::map<u16, u32> streams_of_vmid;
};
Driver g_driver;

std::vector<std::string> g_trace;

std::string hex(u64 v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

void record_event(const smmu::Event& e) {
    if (g_smmu.events.size() >= kEventQueueEntries) {
        g_smmu.overflowed = true;
        return;
    }
    g_smmu.events.push_back(e);
}

// The SMMU consumes a command, as QEMU's smmuv3_cmdq_consume does.
void execute(const smmu::Command& c) {
    g_smmu.commands.push_back(c);
    switch (smmu::opcode(c)) {
        case smmu::Opcode::CfgiSte:
            if (smmu::cmd_sid(c) < platform::kStreamCount) g_smmu.config_cache[smmu::cmd_sid(c)].reset();
            g_trace.push_back("smmu cfgi-ste " + hex(smmu::cmd_sid(c)));
            break;
        case smmu::Opcode::CfgiAll:
            for (auto& e : g_smmu.config_cache) e.reset();
            g_trace.push_back("smmu cfgi-all");
            break;
        case smmu::Opcode::TlbiS12Vmall: {
            const u16 vmid = smmu::cmd_vmid(c);
            for (auto it = g_smmu.tlb.begin(); it != g_smmu.tlb.end();)
                it = it->first.first == vmid ? g_smmu.tlb.erase(it) : std::next(it);
            g_trace.push_back("smmu tlbi-vmid " + std::to_string(vmid));
            break;
        }
        case smmu::Opcode::TlbiNsnhAll:
            g_smmu.tlb.clear();
            g_trace.push_back("smmu tlbi-all");
            break;
        case smmu::Opcode::Sync: g_trace.push_back("smmu sync"); break;
    }
}

void submit(std::initializer_list<smmu::Command> commands) {
    for (const smmu::Command& c : commands) execute(c);
    execute(smmu::cmd_sync());
}

// A stage-2 walk of the tables at `root`, as the SMMU (and QEMU's smmu_ptw) does it.
std::optional<Tlb> walk(u64 root, u64 ipa) {
    if (ipa >= stage2::kIpaLimit) return std::nullopt;
    u64 table = root;
    for (unsigned level = stage2::kFirstLevel; level <= stage2::kLastLevel; ++level) {
        const u64* t = static_cast<const u64*>(arch::phys_to_virt(PhysAddr(table)));
        if (t == nullptr) return std::nullopt;
        const u64 d = t[stage2::entry_index(level, ipa)];
        if (stage2::is_leaf(level, d)) {
            const u64 page = stage2::leaf_output(level, d) | (ipa & (stage2::level_size(level) - 1) & ~(kPageSize - 1));
            return Tlb{page, stage2::decode_leaf_attrs(d).bits()};
        }
        if (!stage2::is_table(level, d)) return std::nullopt;
        table = d & stage2::kAddressMask;
    }
    return std::nullopt;
}

}  // namespace

namespace arch {

bool smmu_available() { return g_smmu.available; }

void smmu_stream_bind(u32 sid, PhysAddr root, u16 vmid) {
    if (!g_smmu.available || sid >= platform::kStreamCount) return;
    g_driver.vmid_of_stream[sid] = vmid;
    ++g_driver.streams_of_vmid[vmid];
    g_smmu.table[sid] = smmu::ste_stage2(root.raw(), vmid);
    g_trace.push_back("ste " + hex(sid) + " stage2 vmid " + std::to_string(vmid));
    submit({smmu::cmd_cfgi_ste(sid)});
}

void smmu_stream_abort(u32 sid, u16 vmid) {
    if (!g_smmu.available || sid >= platform::kStreamCount) return;
    g_smmu.table[sid] = smmu::ste_abort();
    g_trace.push_back("ste " + hex(sid) + " abort");
    submit({smmu::cmd_cfgi_ste(sid), smmu::cmd_tlbi_s12_vmall(vmid)});
    if (const u16 was = g_driver.vmid_of_stream[sid]; was != 0) --g_driver.streams_of_vmid[was];
    g_driver.vmid_of_stream[sid] = 0;
}

DmaStreamState smmu_stream_state(u32 sid) {
    if (sid >= platform::kStreamCount) return DmaStreamState{DmaStreamState::Kind::Other, 0, PhysAddr(0)};
    const smmu::SteView v = smmu::decode_ste(g_smmu.table[sid]);
    if (v.kind == smmu::SteView::Kind::Abort && v.exact) return DmaStreamState{DmaStreamState::Kind::Abort, 0, PhysAddr(0)};
    if (v.kind == smmu::SteView::Kind::Stage2 && v.exact)
        return DmaStreamState{DmaStreamState::Kind::Translate, v.vmid, PhysAddr(v.root)};
    return DmaStreamState{DmaStreamState::Kind::Other, 0, PhysAddr(0)};
}

u32 smmu_take_faults(DmaFault* out, u32 max, u64& lost) {
    if (g_smmu.overflowed) ++lost;
    g_smmu.overflowed = false;
    u32 n = 0;
    while (n < max && !g_smmu.events.empty()) {
        const smmu::EventView e = smmu::decode_event(g_smmu.events.front());
        g_smmu.events.pop_front();
        out[n++] = DmaFault{e.sid, e.address, e.read, smmu::event_name(e.type)};
    }
    return n;
}

u32 smmu_global_errors() {
    const u32 active = g_smmu.global_errors;
    g_smmu.global_errors = 0;
    return active;
}

}  // namespace arch

namespace host {

void smmu_raise_global_error(u32 bits) { g_smmu.global_errors |= bits; }

void smmu_tlbi_vmid(u16 vmid) {
    if (g_smmu.available && g_driver.streams_of_vmid[vmid] != 0) submit({smmu::cmd_tlbi_s12_vmall(vmid)});
}

DmaAccess smmu_dma(u32 sid, u64 address, bool write) {
    if (!g_smmu.available) return DmaAccess{DmaAccess::Outcome::Aborted, 0};  // GBPA abort
    if (sid >= platform::kStreamCount) {
        record_event(smmu::make_event(smmu::EventType::BadStreamId, sid, 0, !write, false));
        return DmaAccess{DmaAccess::Outcome::Faulted, 0};
    }
    auto& cached = g_smmu.config_cache[sid];
    if (!cached) cached = smmu::decode_ste(g_smmu.table[sid]);
    const smmu::SteView& cfg = *cached;
    switch (cfg.kind) {
        case smmu::SteView::Kind::Abort: return DmaAccess{DmaAccess::Outcome::Aborted, 0};  // no event
        case smmu::SteView::Kind::Stage2: break;
        default:  // the kernel never writes these: the test sees the difference
            record_event(smmu::make_event(smmu::EventType::BadSte, sid, 0, !write, false));
            return DmaAccess{DmaAccess::Outcome::Faulted, 0};
    }
    const u64 page = address & ~(kPageSize - 1);
    std::optional<Tlb> t;
    if (auto it = g_smmu.tlb.find({cfg.vmid, page}); it != g_smmu.tlb.end()) {
        t = it->second;
    } else {
        t = walk(cfg.root, page);
        if (!t) {
            record_event(smmu::make_event(smmu::EventType::Translation, sid, address, !write, true));
            return DmaAccess{DmaAccess::Outcome::Faulted, 0};
        }
        g_smmu.tlb[{cfg.vmid, page}] = *t;
    }
    const bool allowed = (t->attrs & (write ? manifest::attr::kWrite : manifest::attr::kRead)) != 0;
    if (!allowed) {
        record_event(smmu::make_event(smmu::EventType::Permission, sid, address, !write, true));
        return DmaAccess{DmaAccess::Outcome::Faulted, 0};
    }
    return DmaAccess{DmaAccess::Outcome::Done, t->pa_page | (address & (kPageSize - 1))};
}

void smmu_record_event(u32 sid, u64 address, bool write) {
    record_event(smmu::make_event(smmu::EventType::Translation, sid, address, !write, true));
}

void smmu_set_available(bool available) { g_smmu.available = available; }
const smmu::Ste& smmu_ste(u32 sid) { return g_smmu.table.at(sid); }
void smmu_set_ste(u32 sid, const smmu::Ste& ste) { g_smmu.table.at(sid) = ste; }
const std::vector<smmu::Command>& smmu_commands() { return g_smmu.commands; }
u64 smmu_tlb_entries(u16 vmid) {
    u64 n = 0;
    for (const auto& [key, value] : g_smmu.tlb) n += key.first == vmid ? 1 : 0;
    return n;
}
u64 smmu_pending_events() { return g_smmu.events.size(); }

bool smmu_config_current(u32 sid) {
    const auto& cached = g_smmu.config_cache.at(sid);
    if (!cached) return true;
    const smmu::SteView now = smmu::decode_ste(g_smmu.table[sid]);
    return cached->kind == now.kind && cached->vmid == now.vmid && cached->root == now.root && cached->exact == now.exact;
}

std::vector<SmmuTlbEntry> smmu_tlb() {
    std::vector<SmmuTlbEntry> out;
    for (const auto& [key, value] : g_smmu.tlb) out.push_back({key.first, key.second, value.pa_page, value.attrs});
    return out;
}

void smmu_reset() {
    g_smmu = FakeSmmu{};
    g_driver = Driver{};
}

std::vector<std::string>& trace() { return g_trace; }

}  // namespace host
}  // namespace bh
