// A readable snapshot of everything a hypercall could change in a Kernel, for tests that claim a
// refused call "changes nothing": every occupied slot of the boot CNode and of each partition's
// CSpace (capability words and derivation links, by location), the object memory handed out,
// each partition's state, run, restarts, region records, image records and the leaves of its
// stage-2 tables as a walk finds them, every vCPU's state, binding, wait and registers, every
// Notification a capability names (word and waiter), every interrupt line's binding, which vCPU
// each core runs, and the declared flows.
//
// One line per fact, so a failing comparison names what changed. Left out on purpose: the
// calling vCPU's result registers (x0-x7; the `caller` argument) and the audit log, which records
// refused calls by design (docs/audit.md).
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <caps/cnode.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace bh::test {

class KernelState {
public:
    explicit KernelState(const Kernel& k, const Vcpu* caller = nullptr) : k_(k), caller_(caller) {
        boot();
        for (u32 i = 0; i < k.partitions.count(); ++i) partition(*k.partitions[PartitionId(i)]);
        notifications();
        interrupts();
        cores();
        flows();
    }

    const std::vector<std::string>& lines() const { return lines_; }

    // Every line of `before` not in `after` and the reverse, as "-" / "+" lines.
    static std::vector<std::string> diff(const KernelState& before, const KernelState& after) {
        std::vector<std::string> out;
        const std::multiset<std::string> a(before.lines_.begin(), before.lines_.end());
        const std::multiset<std::string> b(after.lines_.begin(), after.lines_.end());
        for (const std::string& l : before.lines_)
            if (b.count(l) < a.count(l)) out.push_back("- " + l);
        for (const std::string& l : after.lines_)
            if (a.count(l) < b.count(l)) out.push_back("+ " + l);
        return out;
    }

private:
    template <class... A>
    void add(const char* fmt, A... args) {
        char buf[512];
        std::snprintf(buf, sizeof buf, fmt, args...);
        lines_.emplace_back(buf);
    }
    // Where a slot is: "boot:N", "<partition>:N", or its address when in no CNode read here.
    std::string where(const CapSlot* s) const {
        if (s == nullptr) return "-";
        for (const Range& r : cnodes_)
            if (s >= r.slots && s < r.slots + r.count) return r.name + ":" + std::to_string(s - r.slots);
        char buf[32];
        std::snprintf(buf, sizeof buf, "@%p", static_cast<const void*>(s));
        return buf;
    }
    struct Range {
        std::string name;
        const CapSlot* slots;
        u64 count;
    };

    void cnode(const std::string& name, const Capability& cap) {
        const CapSlot* slots = caps::cnode_slots(cap);
        if (slots == nullptr) return;
        cnodes_.push_back(Range{name, slots, caps::cnode_slot_count(cap)});
    }
    void slots_of(const Range& r) {
        for (u64 i = 0; i < r.count; ++i) {
            const CapSlot& s = r.slots[i];
            // Only all-zero slots are left out: an empty slot with anything in it is a change too.
            static constexpr CapSlot kZero{};
            if (std::memcmp(&s, &kZero, sizeof s) == 0) continue;
            const Capability& c = s.cap;
            add("slot %s:%llu type=%u rights=%#x size_bits=%u flags=%u word32=%u object=%#llx badge=%#llx "
                "word64=%#llx parent=%s child=%s next=%s prev=%s",
                r.name.c_str(), (unsigned long long)i, unsigned(c.type), unsigned(c.rights.bits()),
                unsigned(c.size_bits), unsigned(c.flags), unsigned(c.word32), (unsigned long long)c.object,
                (unsigned long long)c.badge, (unsigned long long)c.word64, where(s.parent).c_str(),
                where(s.first_child).c_str(), where(s.next_sibling).c_str(), where(s.prev_sibling).c_str());
            if (!s.empty()) caps_.push_back(c);
        }
    }

    void boot() {
        const BootSpace::ObjectMemoryView om = k_.boot.object_memory();
        add("object memory base=%#llx size=%#llx used=%#llx", (unsigned long long)om.base.raw(),
            (unsigned long long)om.size, (unsigned long long)om.used);
        add("sealed=%d boot closed=%d", int(k_.sealed()), int(k_.boot.closed()));
        cnode("boot", k_.boot.cnode().cap);
        for (u32 i = 0; i < k_.partitions.count(); ++i) {
            const Partition& p = *k_.partitions[PartitionId(i)];
            cnode(p.name, p.cspace_root);
        }
        for (const Range& r : cnodes_) slots_of(r);
    }

    void partition(const Partition& p) {
        add("partition %s index=%u vmid=%u state=%u run=%u restarts=%u flags=%#llx entry=%#llx arg=%#llx "
            "vcpus=%u regions=%u images=%u cspace=%#llx console=%u pool used=%#llx",
            p.name, p.index.raw(), unsigned(p.vmid), unsigned(p.load_state()), p.run(), p.restarts,
            (unsigned long long)p.flags, (unsigned long long)p.entry, (unsigned long long)p.boot_arg, p.vcpu_count,
            p.region_count, p.image_count, (unsigned long long)p.cspace_root.object, p.console_length,
            (unsigned long long)p.table_pool.used());
        for (u32 r = 0; r < p.region_count && r < Partition::kMaxRegions; ++r) {
            const MemoryRegion& m = p.regions[r];
            add("region %s[%u] ipa=%#llx pa=%#llx size=%#llx attrs=%#llx channel=%d", p.name, r,
                (unsigned long long)m.ipa.raw(), (unsigned long long)m.pa.raw(), (unsigned long long)m.size,
                (unsigned long long)m.attrs.bits(), int(m.channel));
        }
        for (u32 i = 0; i < p.image_count && i < Partition::kMaxImages; ++i)
            add("image %s[%u] ipa=%#llx size=%#llx", p.name, i, (unsigned long long)p.images[i].ipa.raw(),
                (unsigned long long)p.images[i].size);
        p.stage2.for_each_mapping([&](Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
            add("leaf %s ipa=%#llx pa=%#llx size=%#llx attrs=%#llx", p.name, (unsigned long long)ipa.raw(),
                (unsigned long long)pa.raw(), (unsigned long long)size, (unsigned long long)attrs.bits());
        });
        for (u32 v = 0; v < manifest::kMaxVcpusPerPartition; ++v) {
            if (!p.vcpus.bound(v)) continue;
            const Vcpu& c = p.vcpus[v];
            add("vcpu %s.%u core=%u state=%u waiting_on=%s reset=%d not_before=%llu", p.name, v, c.core.raw(),
                unsigned(c.load_state()), c.waiting_on != nullptr ? "yes" : "no", int(c.reset_on_entry),
                (unsigned long long)c.start_not_before.load());
            const unsigned first = &c == caller_ ? 8 : 0;  // a caller's x0-x7 carry its results
            for (unsigned r = first; r < 31; ++r)
                add("vcpu %s.%u x%u=%#llx", p.name, v, r, (unsigned long long)c.regs.x[r]);
            add("vcpu %s.%u elr=%#llx spsr=%#llx", p.name, v, (unsigned long long)c.regs.elr,
                (unsigned long long)c.regs.spsr);
        }
    }

    void notifications() {
        std::set<u64> seen;
        for (const Capability& c : caps_) {
            if (c.type != ObjectType::Notification || !seen.insert(c.object).second) continue;
            const auto* n = static_cast<const Notification*>(arch::phys_to_virt(PhysAddr(c.object)));
            add("notification %#llx word=%#llx waiter=%s", (unsigned long long)c.object, (unsigned long long)n->word,
                n->waiter != nullptr ? "yes" : "no");
        }
    }

    void interrupts() {
        for (const platform::SpiRange& r : platform::kAssignableSpis)
            for (u32 intid = r.first; intid < r.first + r.count; ++intid) {
                const InterruptTable::Binding* b = k_.interrupts.binding(intid);
                add("spi %u notification=%#llx badge=%#llx owner=%u core=%u masked=%d created=%d virtual=%d", intid,
                    (unsigned long long)b->notification, (unsigned long long)b->badge, b->owner.raw(), b->core.raw(),
                    int(b->masked), int(b->created), int(b->virtual_delivery));
            }
    }

    void cores() {
        for (u32 c = 0; c < k_.cores.online(); ++c) {
            const Vcpu* v = k_.cores.on(CoreId(c));
            add("core %u runs %s.%u", c, v != nullptr && v->partition != nullptr ? v->partition->name : "-",
                v != nullptr ? v->index.raw() : 0u);
        }
    }

    void flows() {
        for (u32 i = 0; i < k_.partitions.count(); ++i)
            for (u32 j = 0; j < k_.partitions.count(); ++j)
                for (unsigned kind = 0; kind < FlowGraph::kKinds; ++kind)
                    add("declared %u->%u %s=%d", i, j, flow_kind_name(FlowGraph::kind(kind)),
                        int(k_.flows.declared().has(i, j, FlowGraph::kind(kind))));
    }

    const Kernel& k_;
    const Vcpu* caller_;
    std::vector<Range> cnodes_;
    std::vector<Capability> caps_;
    std::vector<std::string> lines_;
};

// Fails, listing what changed, unless `after` equals `before`.
inline void check_unchanged(const KernelState& before, const KernelState& after) {
    const std::vector<std::string> changed = KernelState::diff(before, after);
    std::string text;
    for (const std::string& l : changed) text += l + "\n";
    INFO("changed:\n" << text);
    CHECK(changed.empty());
}

}  // namespace bh::test
