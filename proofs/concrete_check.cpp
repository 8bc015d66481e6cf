#include "concrete_check.hpp"

#include "concrete_world.hpp"
#include "runner.hpp"

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <z3++.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>

namespace bh::proofs {
namespace {

const char* type_name(ObjectType t) {
    switch (t) {
        case ObjectType::Frame: return "Frame";
        case ObjectType::DeviceMmio: return "DeviceMmio";
        case ObjectType::Channel: return "Channel";
        default: return "memory";
    }
}

bool in_windows(u64 pa) {
    for (const auto& w : platform::kAssignableMmio)
        if (pa >= w.base && pa - w.base < w.size) return true;
    return false;
}
bool in_kernel(u64 pa) { return pa >= platform::kKernelRegionBase && pa - platform::kKernelRegionBase < platform::kKernelRegionSize; }

// How a partition reaches a PA: through a leaf of its tables (at an IPA) or a held cap.
struct Route {
    const Leaf* leaf = nullptr;
    const HeldCap* cap = nullptr;
};

class Checker {
public:
    explicit Checker(const World& w) : w_(w) {}

    ConcreteReport run() {
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& p : w_.partitions) {
            rep_.mappings += static_cast<unsigned>(p.leaves.size());
            for (const auto& c : p.caps) rep_.held += mappable_now(c) ? 1 : 0;
        }
        rep_.partitions = static_cast<unsigned>(w_.partitions.size());
        for (unsigned p = 0; p < rep_.partitions; ++p) kernel_integrity(p);
        for (unsigned p = 0; p < rep_.partitions; ++p)
            for (unsigned q = p + 1; q < rep_.partitions; ++q) exclusivity(p, q);
        flows();
        if (!w_.dma_violations.empty()) {
            violated_.insert("INV-3");
            for (const std::string& v : w_.dma_violations) det_ << v << "\n";
        }
        rep_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rep_.ok = violated_.empty() && undecided_.empty();
        rep_.details = det_.str();
        std::string verdict = "holds: INV-1, INV-2, INV-6 over all 2^40 IPAs and every held frame, INV-3 on the stream table";
        if (!rep_.ok) {
            std::string list;
            for (const auto& v : violated_) list += (list.empty() ? "" : ", ") + v;
            for (const auto& v : undecided_) list += (list.empty() ? "" : ", ") + v + " (unknown)";
            verdict = "VIOLATED: " + list + " (checked INV-1, INV-2, INV-6 over all 2^40 IPAs and every held frame, INV-3 on the stream table)";
        }
        char line[400];
        std::snprintf(line, sizeof line,
                      "proof: %s; %u partitions, %u stage-2 leaves, %u mappable held caps, %u z3 queries, %.3f s, "
                      "rlimit %llu",
                      verdict.c_str(), rep_.partitions, rep_.mappings, rep_.held, rep_.queries, rep_.seconds,
                      static_cast<unsigned long long>(rep_.rlimit));
        rep_.summary = line;
        return rep_;
    }

private:
    z3::expr v64(u64 x) { return c_.bv_val(static_cast<uint64_t>(x), 64); }
    z3::expr in_range(const z3::expr& pa, u64 base, u64 size) { return z3::uge(pa, v64(base)) && z3::ult(pa - v64(base), v64(size)); }
    z3::expr windows(const z3::expr& pa) {
        z3::expr r = c_.bool_val(false);
        for (const auto& w : platform::kAssignableMmio) r = r || in_range(pa, w.base, w.size);
        return r;
    }
    z3::expr channel_memory(const z3::expr& pa) {
        z3::expr r = c_.bool_val(false);
        for (const auto& [base, size] : w_.channels) r = r || in_range(pa, base, size);
        return r;
    }
    // The leaf maps `ipa` (40-bit) and translates it to `pa`.
    z3::expr through(const Leaf& l, const z3::expr& ipa40, const z3::expr& pa) {
        const z3::expr ipa = z3::zext(ipa40, 64 - platform::kIpaBits);
        return z3::uge(ipa, v64(l.ipa)) && z3::ult(ipa - v64(l.ipa), v64(l.size)) && pa == v64(l.pa) + (ipa - v64(l.ipa));
    }
    // `per_route` restricts each route (e.g. to the PAs that break INV-2 through it).
    template <class F>
    z3::expr reach(unsigned p, const z3::expr& ipa40, const z3::expr& pa, F&& per_route) {
        z3::expr r = c_.bool_val(false);
        for (const Leaf& l : w_.partitions[p].leaves) r = r || (through(l, ipa40, pa) && per_route(Route{&l, nullptr}));
        for (const HeldCap& h : w_.partitions[p].caps)
            if (mappable_now(h)) r = r || (in_range(pa, h.object, h.size) && per_route(Route{nullptr, &h}));
        return r;
    }
    z3::expr reach(unsigned p, const z3::expr& ipa40, const z3::expr& pa) {
        return reach(p, ipa40, pa, [this](const Route&) { return c_.bool_val(true); });
    }
    // Which route of `p` a concrete witness took (the first that fits).
    Route route_of(unsigned p, u64 ipa, u64 pa) const {
        for (const Leaf& l : w_.partitions[p].leaves)
            if (ipa >= l.ipa && ipa - l.ipa < l.size && pa == l.pa + (ipa - l.ipa)) return Route{&l, nullptr};
        for (const HeldCap& h : w_.partitions[p].caps)
            if (mappable_now(h) && pa >= h.object && pa - h.object < h.size) return Route{nullptr, &h};
        return Route{};
    }
    std::string describe(unsigned p, const Route& r, u64 ipa) const {
        const std::string who = "partition '" + w_.partitions[p].name + "'";
        if (r.leaf != nullptr)
            return who + " (IPA " + hex(ipa) + ", stage-2 leaf [" + hex(r.leaf->ipa) + ", +" + hex(r.leaf->size) + ") attrs " +
                   hex(r.leaf->attrs.bits()) + ")";
        if (r.cap != nullptr)
            return who + " (the " + type_name(r.cap->type) + " cap in its CSpace slot " + std::to_string(r.cap->slot) +
                   ", rights " + hex(r.cap->rights.bits()) + ", which it can FrameMap at any IPA)";
        return who;
    }

    // sat: the model; unsat: nullopt and `holds`; unknown: a failure, never a pass.
    z3::check_result ask(const z3::expr& q, const char* property, const std::string& what, z3::model& out) {
        z3::solver s(c_);
        s.add(q);
        ++rep_.queries;
        limit(s, kConcreteRlimit);
        const std::uint64_t before = rlimit_count(s);
        const z3::check_result r = s.check();
        rep_.rlimit = std::max<std::uint64_t>(rep_.rlimit, rlimit_count(s) - before);
        if (r == z3::sat) out = s.get_model();
        if (r == z3::unknown) {
            undecided_.insert(property);
            det_ << property << ": Z3 gave no answer for " << what << " (" << s.reason_unknown()
                 << "): not counted as holding\n";
        }
        return r;
    }

    // INV-2: nothing a partition reaches is kernel memory, device memory outside the windows or
    // executable, or normal memory inside a window.
    void kernel_integrity(unsigned p) {
        z3::expr ipa = c_.bv_const("ipa", platform::kIpaBits), pa = c_.bv_const("pa", 64);
        const z3::expr bad = reach(p, ipa, pa, [&](const Route& r) {
            const bool dev = r.leaf != nullptr ? r.leaf->attrs.device() : r.cap->type == ObjectType::DeviceMmio;
            const bool exec = r.leaf != nullptr && r.leaf->attrs.executable();
            return in_range(pa, platform::kKernelRegionBase, platform::kKernelRegionSize) ||
                   (dev ? !windows(pa) || c_.bool_val(exec) : windows(pa));
        });
        z3::model m(c_);
        if (ask(bad, "INV-2", "partition '" + w_.partitions[p].name + "'", m) != z3::sat) return;
        violated_.insert("INV-2");
        const u64 i = eval_u64(m, ipa), a = eval_u64(m, pa);
        const Route r = route_of(p, i, a);
        const bool dev = r.leaf != nullptr ? r.leaf->attrs.device() : r.cap != nullptr && r.cap->type == ObjectType::DeviceMmio;
        const char* why = in_kernel(a)             ? "reaches the kernel region"
                          : dev && !in_windows(a) ? "device memory outside the assignable MMIO windows"
                          : dev                    ? "executable device memory"
                                                   : "normal memory inside an MMIO window";
        det_ << "INV-2 kernel integrity: " << describe(p, r, i) << " -> PA " << hex(a) << ": " << why << " [" << hex(platform::kKernelRegionBase)
             << ", +" << hex(platform::kKernelRegionSize) << ") is the kernel region\n";
    }

    // INV-1: two partitions reach one PA only if it is Channel memory.
    void exclusivity(unsigned p, unsigned q) {
        z3::expr i1 = c_.bv_const("ipa1", platform::kIpaBits), i2 = c_.bv_const("ipa2", platform::kIpaBits);
        z3::expr pa = c_.bv_const("pa", 64);
        z3::model m(c_);
        const std::string what = "partitions '" + w_.partitions[p].name + "' and '" + w_.partitions[q].name + "'";
        if (ask(reach(p, i1, pa) && reach(q, i2, pa) && !channel_memory(pa), "INV-1", what, m) != z3::sat) return;
        violated_.insert("INV-1");
        const u64 x = eval_u64(m, i1), y = eval_u64(m, i2), a = eval_u64(m, pa);
        det_ << "INV-1 memory exclusivity: PA " << hex(a) << " is reachable from " << describe(p, route_of(p, x, a), x)
             << " and from " << describe(q, route_of(q, y, a), y) << " and is not Channel memory\n";
    }

    // INV-6: the kernel's rule over the leaves and held caps gives exactly the declared graph.
    void flows() {
        const unsigned n = rep_.partitions;
        for (unsigned a = 0; a < n; ++a)
            for (unsigned b = 0; b < n; ++b)
                for (unsigned k = 0; k < FlowGraph::kKinds; ++k) {
                    const bool live = w_.possible.edge[a][b][k], declared = w_.declared.edge[a][b][k];
                    if (live == declared) continue;
                    violated_.insert("INV-6");
                    det_ << "INV-6 information flow: " << (live ? "" : "declared ") << flow_kind_name(FlowGraph::kind(k))
                         << " flow '" << w_.partitions[a].name << "' -> '" << w_.partitions[b].name << "' "
                         << (live ? "is possible (the kernel's flow rule over the stage-2 leaves and held caps) but not declared"
                                  : "is not made possible by any capability or mapping")
                         << "\n";
                }
    }

    const World& w_;
    z3::context c_;
    ConcreteReport rep_;
    std::ostringstream det_;
    std::set<std::string> violated_, undecided_;
};

}  // namespace

ConcreteReport check_world(const World& world) { return Checker(world).run(); }

ConcreteReport check_manifest(std::span<const std::uint8_t> bytes) {
    std::string error;
    const std::optional<World> world = boot_world(bytes, error);
    if (!world) {
        ConcreteReport rep;
        rep.summary = error;
        rep.details = error + "\n";
        return rep;
    }
    return check_world(*world);
}

}  // namespace bh::proofs
