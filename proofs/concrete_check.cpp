#include "concrete_check.hpp"

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <bulkhead/types.hpp>
#include <caps/capability.hpp>
#include <caps/untyped.hpp>
#include <boot/manifest_reader.hpp>
#include <z3++.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace bh::proofs {
namespace {

using manifest::OpKind;

struct Cap {
    ObjectType type = ObjectType::Null;
    u64 base = 0;
    unsigned bits = 0;      // log2 of the object's size in bytes (object_bits)
    unsigned cap_bits = 0;  // the cap's size_bits
    u8 rights = 0;
    bool device = false;
    u64 watermark = 0;
    unsigned children = 0;
};

struct Mapping {
    unsigned partition;
    u64 ipa, pa, size, attrs;
    ObjectType type;
    u64 object;  // base: with type and size, the object's identity
    int op;
};

// A PCIe function assigned to a partition, and a BAR placed for it (AssignPciFunction, PlacePciBar).
struct Bar {
    unsigned partition;
    u64 function;
    u64 address;
    int op;
};

struct Held {
    unsigned partition;
    ObjectType type;
    u64 object;
    unsigned bits;
    u8 rights;
};

std::string hexs(u64 v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

struct Replay {
    std::map<u32, Cap> slots;
    std::map<u32, unsigned> partition_of_slot;
    std::vector<std::string> names;
    std::vector<Mapping> maps;
    std::vector<Held> held;
    std::set<std::tuple<unsigned, unsigned, u64>> declared;
    std::map<u64, unsigned> function_owner;  // requester ID -> partition
    std::vector<Bar> bars;
    std::string error;

    bool fail(int op, const std::string& why) {
        error = "op " + std::to_string(op) + ": " + why;
        return false;
    }
    const Cap* cap(u32 slot) const {
        auto it = slots.find(slot);
        return it == slots.end() || it->second.type == ObjectType::Null ? nullptr : &it->second;
    }
    bool partition(u64 slot, unsigned& out) const {
        auto it = partition_of_slot.find(static_cast<u32>(slot));
        if (slot >= manifest::kBootSlots || it == partition_of_slot.end()) return false;
        out = it->second;
        return true;
    }

    bool run(const ManifestReader& r) {
        // BootSpace::init: the kernel's object memory, boot slot kKernelUntypedSlot.
        slots[manifest::kKernelUntypedSlot] = Cap{ObjectType::Untyped, platform::kObjectMemoryBase, platform::kObjectMemoryBits,
                                                  platform::kObjectMemoryBits, Rights::kWrite, false, 0, 0};
        for (u32 i = 0; i < r.op_count(); ++i) {
            const manifest::ManifestOp op = r.op(i);
            const int n = static_cast<int>(i);
            switch (op.kind) {
                case OpKind::CreateUntyped: {
                    if (op.arg[1] < caps::kMinObjectBits || op.arg[1] >= caps::kMaxUntypedBits) return fail(n, "untyped size");
                    slots[op.slot] = Cap{ObjectType::Untyped, op.arg[0], static_cast<unsigned>(op.arg[1]),
                                         static_cast<unsigned>(op.arg[1]), Rights::kWrite, op.arg[2] == manifest::kUntypedDevice, 0, 0};
                    break;
                }
                case OpKind::Retype: {  // untyped.cpp:22 retype, the carving part
                    auto it = slots.find(op.slot);
                    if (it == slots.end() || it->second.type != ObjectType::Untyped) return fail(n, "retype source is not an Untyped");
                    Cap& ut = it->second;
                    const auto type = static_cast<ObjectType>(op.arg[0]);
                    const unsigned sb = static_cast<unsigned>(op.arg[1]);
                    if (!caps::retype_type_allowed(type, ut.device) || !caps::retype_size_valid(type, sb, ut.bits) ||
                        op.arg[3] == 0 || op.arg[3] > caps::kMaxRetypeCount)
                        return fail(n, "retype refused (type/size/count)");
                    const unsigned cap_bits = caps::retype_cap_bits(type, sb);
                    const unsigned ob = caps::object_bits(type, cap_bits);
                    const u64 os = 1ull << ob, us = 1ull << ut.bits;
                    if (!is_aligned(ut.base, os)) return fail(n, "untyped misaligned for the object");
                    const u64 wm = ut.children == 0 ? 0 : ut.watermark;
                    const u64 start = align_up(wm, os);
                    if (start > us || op.arg[3] > ((us - start) >> ob)) return fail(n, "retype does not fit the untyped");
                    for (u64 k = 0; k < op.arg[3]; ++k) {
                        const u32 d = static_cast<u32>(op.arg[2] + k);
                        if (cap(d) != nullptr) return fail(n, "retype destination occupied");
                        slots[d] = Cap{type, ut.base + start + (k << ob), ob, cap_bits, caps::full_rights(type).bits(),
                                       ut.device && type == ObjectType::Untyped, 0, 0};
                    }
                    Cap& u2 = slots[op.slot];
                    u2.children += static_cast<unsigned>(op.arg[3]);
                    u2.watermark = start + (op.arg[3] << ob);
                    break;
                }
                case OpKind::CreatePartition: {
                    const Cap* p = cap(op.slot);
                    if (p == nullptr || p->type != ObjectType::Partition) return fail(n, "not a Partition cap");
                    partition_of_slot[op.slot] = static_cast<unsigned>(names.size());
                    names.emplace_back(op.name, strnlen(op.name, manifest::kNameLength));
                    break;
                }
                case OpKind::MapFrame: {  // check_map_frame
                    unsigned p;
                    const Cap* f = cap(op.slot);
                    if (!partition(op.arg[0], p)) return fail(n, "map-frame: no such partition");
                    if (f == nullptr || !caps::mappable(f->type)) return fail(n, "map-frame: not a mappable cap");
                    const u64 attrs = op.arg[2] | (f->type == ObjectType::DeviceMmio ? manifest::attr::kDevice : 0);
                    maps.push_back({p, op.arg[1], f->base, 1ull << f->bits, attrs, f->type, f->base, n});
                    break;
                }
                case OpKind::GrantCap: {  // BootSpace::grant_cap: a mint with the mask
                    unsigned p;
                    const Cap* s = cap(op.slot);
                    if (!partition(op.arg[0], p)) return fail(n, "grant: no such partition");
                    if (s == nullptr) return fail(n, "grant: empty source slot");
                    held.push_back({p, s->type, s->base, s->bits, static_cast<u8>(s->rights & Rights::from_bits(op.arg[2]).bits())});
                    break;
                }
                case OpKind::CreateIrqHandler:  // interrupts.cpp create_handler: names no memory
                    slots[op.slot] = Cap{ObjectType::IrqHandler, op.arg[0], 0, 0,
                                         static_cast<u8>(Rights::kControl | Rights::kGrant), false, 0, 0};
                    break;
                case OpKind::CreateAuditLog:  // audit_cap.cpp create_audit_log: names no memory
                    slots[op.slot] = Cap{ObjectType::AuditLog, 0, 0, 0,
                                         static_cast<u8>(Rights::kRead | Rights::kGrant), false, 0, 0};
                    break;
                case OpKind::AssignPciFunction: {  // pci/pci_boot.cpp assign_pci_function: a DmaStream cap names the stream
                    unsigned p;
                    if (!partition(op.arg[0], p)) return fail(n, "assign-pci-function: no such partition");
                    if (function_owner.count(op.arg[1]) != 0) return fail(n, "assign-pci-function: assigned twice");
                    function_owner[op.arg[1]] = p;
                    slots[op.slot] = Cap{ObjectType::DmaStream, op.arg[1], 0, 0,
                                         static_cast<u8>(Rights::kControl | Rights::kGrant), false, 0, 0};
                    break;
                }
                case OpKind::PlacePciBar: {
                    unsigned p;
                    if (!partition(op.arg[0], p)) return fail(n, "place-pci-bar: no such partition");
                    bars.push_back({p, op.arg[1], op.arg[3], n});
                    break;
                }
                case OpKind::DeclareFlow: {
                    unsigned a, b;
                    if (!partition(op.arg[0], a) || !partition(op.arg[1], b)) return fail(n, "declare-flow: no such partition");
                    declared.insert({a, b, op.arg[2]});
                    break;
                }
                default: break;
            }
        }
        return true;
    }
};

const char* flow_name(u64 k) {
    return k == static_cast<u64>(manifest::FlowKind::Memory)   ? "memory"
           : k == static_cast<u64>(manifest::FlowKind::Signal) ? "signal"
                                                                : "audit";
}

const char* type_name(ObjectType t) {
    switch (t) {
        case ObjectType::Frame: return "Frame";
        case ObjectType::DeviceMmio: return "DeviceMmio";
        case ObjectType::Channel: return "Channel";
        case ObjectType::Notification: return "Notification";
        default: return "memory";
    }
}

}  // namespace

ConcreteReport check_manifest(std::span<const std::uint8_t> bytes) {
    ConcreteReport rep;
    ManifestReader reader;
    if (reader.open(bytes.data(), bytes.size()) != Status::Ok) {
        rep.summary = std::string("manifest refused by the kernel's reader: ") + reader.error().reason;
        rep.details = rep.summary + "\n";
        return rep;
    }
    Replay rp;
    if (!rp.run(reader)) {
        rep.summary = "replay failed: " + rp.error;
        rep.details = rep.summary + "\n";
        return rep;
    }
    rep.partitions = static_cast<unsigned>(rp.names.size());
    rep.mappings = static_cast<unsigned>(rp.maps.size());
    std::ostringstream det;
    bool ok = true;
    std::set<std::string> violated;
    const auto t0 = std::chrono::steady_clock::now();

    z3::context c;
    auto v64 = [&](u64 x) { return c.bv_val(static_cast<uint64_t>(x), 64); };
    auto ipa_var = [&](const char* n) { return c.bv_const(n, platform::kIpaBits); };
    auto hit = [&](const Mapping& m, const z3::expr& ipa40) {
        const z3::expr ipa = z3::zext(ipa40, 64 - platform::kIpaBits);
        return z3::uge(ipa, v64(m.ipa)) && z3::ult(ipa, v64(m.ipa) + v64(m.size));
    };
    auto pa_of = [&](const Mapping& m, const z3::expr& ipa40) {
        return v64(m.pa) + (z3::zext(ipa40, 64 - platform::kIpaBits) - v64(m.ipa));
    };
    auto in_range = [&](const z3::expr& pa, u64 base, u64 size) { return z3::uge(pa, v64(base)) && z3::ult(pa, v64(base) + v64(size)); };
    auto in_windows = [&](const z3::expr& pa) {
        z3::expr r = c.bool_val(false);
        for (const auto& w : platform::kAssignableMmio) r = r || in_range(pa, w.base, w.size);
        return r;
    };
    auto check = [&](const z3::expr& q, z3::model* out) {
        z3::solver s(c);
        s.add(q);
        ++rep.queries;
        const auto r = s.check();
        if (r == z3::sat && out) *out = s.get_model();
        return r;
    };
    const unsigned np = rep.partitions;
    std::vector<std::vector<const Mapping*>> by(np);
    for (const auto& m : rp.maps) by[m.partition].push_back(&m);
    auto same_channel = [](const Mapping& a, const Mapping& b) {
        return a.type == ObjectType::Channel && b.type == ObjectType::Channel && a.object == b.object && a.size == b.size;
    };
    // Mappings must stay inside the 40-bit IPA space (Stage2Table::map refuses otherwise).
    for (const auto& m : rp.maps)
        if (m.ipa + m.size > (1ull << platform::kIpaBits) || m.ipa + m.size < m.ipa) {
            ok = false;
            det << "op " << m.op << ": mapping beyond the 40-bit IPA space\n";
        }
    // INV-2 per partition, for all IPAs.
    for (unsigned p = 0; p < np; ++p) {
        z3::expr ipa = ipa_var("ipa");
        z3::expr bad = c.bool_val(false);
        for (const Mapping* m : by[p]) {
            const z3::expr pa = pa_of(*m, ipa);
            const bool dev = (m->attrs & manifest::attr::kDevice) != 0;
            z3::expr b = in_range(pa, platform::kKernelRegionBase, platform::kKernelRegionSize);
            if (dev) b = b || !in_windows(pa) || c.bool_val((m->attrs & manifest::attr::kExecute) != 0);
            else b = b || in_windows(pa);
            bad = bad || (hit(*m, ipa) && b);
        }
        z3::model mdl(c);
        if (check(bad, &mdl) == z3::sat) {
            ok = false;
            violated.insert("INV-2");
            const u64 i = mdl.eval(ipa, true).get_numeral_uint64();
            for (const Mapping* m : by[p])
                if (i >= m->ipa && i < m->ipa + m->size) {
                    // Name the clause the counterexample breaks, on the concrete PA.
                    const u64 pa = m->pa + (i - m->ipa);
                    const bool dev = (m->attrs & manifest::attr::kDevice) != 0;
                    bool in_window = false;
                    for (const auto& w : platform::kAssignableMmio) in_window = in_window || (pa >= w.base && pa - w.base < w.size);
                    std::string why;
                    if (pa >= platform::kKernelRegionBase && pa - platform::kKernelRegionBase < platform::kKernelRegionSize)
                        why = "reaches the kernel region [" + hexs(platform::kKernelRegionBase) + ", +" +
                              hexs(platform::kKernelRegionSize) + ")";
                    else if (dev && !in_window) why = "device memory outside the assignable MMIO windows";
                    else if (dev) why = "executable device memory";
                    else why = "normal memory inside an MMIO window";
                    det << "INV-2 kernel integrity: partition '" << rp.names[p] << "' IPA " << hexs(i) << " -> PA " << hexs(pa)
                        << " (map op " << m->op << ", attrs " << hexs(m->attrs) << "): " << why << "\n";
                }
        }
    }
    // INV-1 per pair, for all IPA pairs.
    for (unsigned p = 0; p < np; ++p)
        for (unsigned q = p + 1; q < np; ++q) {
            z3::expr i1 = ipa_var("ipa1"), i2 = ipa_var("ipa2");
            z3::expr any = c.bool_val(false);
            for (const Mapping* a : by[p])
                for (const Mapping* b : by[q])
                    if (!same_channel(*a, *b)) any = any || (hit(*a, i1) && hit(*b, i2) && pa_of(*a, i1) == pa_of(*b, i2));
            z3::model mdl(c);
            if (check(any, &mdl) == z3::sat) {
                ok = false;
                violated.insert("INV-1");
                const u64 x = mdl.eval(i1, true).get_numeral_uint64(), y = mdl.eval(i2, true).get_numeral_uint64();
                u64 pa = 0;
                for (const Mapping* a : by[p])
                    if (x >= a->ipa && x < a->ipa + a->size) pa = a->pa + (x - a->ipa);
                det << "INV-1 memory exclusivity: PA " << hexs(pa) << " is reachable from partition '" << rp.names[p]
                    << "' (IPA " << hexs(x) << ") and from partition '" << rp.names[q] << "' (IPA " << hexs(y)
                    << ") and is not a Channel both map\n";
            }
        }
    // INV-3 DMA containment. A bound stream translates through its holder's stage 2, so (a) the
    // holder of each DmaStream cap must be its function's owner (else the owner's device would
    // write another partition's memory); (b) for all IPAs, what the owner's stage 2 gives a
    // device reaches neither the kernel region nor memory another partition maps (but a Channel
    // both map); (c) no other partition's IPA reaches a placed BAR.
    for (const auto& h : rp.held) {
        if (h.type != ObjectType::DmaStream) continue;
        auto owner = rp.function_owner.find(h.object);
        if (owner == rp.function_owner.end() || owner->second != h.partition) {
            ok = false;
            violated.insert("INV-3");
            det << "INV-3 DMA containment: partition '" << rp.names[h.partition] << "' holds the DmaStream cap of stream "
                << hexs(h.object) << ", whose function "
                << (owner == rp.function_owner.end() ? std::string("is assigned to no partition")
                                                       : "belongs to '" + rp.names[owner->second] + "'")
                << "\n";
        }
    }
    for (const auto& [stream, p] : rp.function_owner) {
        z3::expr ipa = ipa_var("ipa"), other = ipa_var("other");
        z3::expr bad = c.bool_val(false);
        for (const Mapping* m : by[p]) {
            z3::expr b = in_range(pa_of(*m, ipa), platform::kKernelRegionBase, platform::kKernelRegionSize);
            for (unsigned q = 0; q < np; ++q)
                if (q != p)
                    for (const Mapping* o : by[q])
                        if (!same_channel(*m, *o)) b = b || (hit(*o, other) && pa_of(*o, other) == pa_of(*m, ipa));
            bad = bad || (hit(*m, ipa) && b);
        }
        z3::model mdl(c);
        if (check(bad, &mdl) == z3::sat) {
            ok = false;
            violated.insert("INV-3");
            det << "INV-3 DMA containment: stream " << hexs(stream) << " of partition '" << rp.names[p] << "' reaches, at IPA "
                << hexs(mdl.eval(ipa, true).get_numeral_uint64()) << ", the kernel region or another partition's memory\n";
        }
    }
    for (const Bar& bar : rp.bars)
        for (unsigned q = 0; q < np; ++q) {
            if (q == bar.partition) continue;
            z3::expr ipa = ipa_var("ipa");
            z3::expr reach = c.bool_val(false);
            for (const Mapping* m : by[q]) reach = reach || (hit(*m, ipa) && pa_of(*m, ipa) == v64(bar.address));
            z3::model mdl(c);
            if (check(reach, &mdl) == z3::sat) {
                ok = false;
                violated.insert("INV-3");
                det << "INV-3 DMA containment: partition '" << rp.names[q] << "' reaches, at IPA "
                    << hexs(mdl.eval(ipa, true).get_numeral_uint64()) << ", the BAR at " << hexs(bar.address) << " of function "
                    << hexs(bar.function) << " placed for '" << rp.names[bar.partition] << "' (op " << bar.op << ")\n";
            }
        }
    // INV-6: flows the state makes possible.
    // Each possible flow with the first witness found (the IPAs/PA or the caps that make it).
    std::map<std::tuple<unsigned, unsigned, u64>, std::string> derived;
    const u64 kMem = static_cast<u64>(manifest::FlowKind::Memory), kSig = static_cast<u64>(manifest::FlowKind::Signal);
    for (unsigned p = 0; p < np; ++p)
        for (unsigned q = 0; q < np; ++q) {
            if (p == q) continue;
            z3::expr i1 = ipa_var("ipa1"), i2 = ipa_var("ipa2");
            z3::expr any = c.bool_val(false);
            for (const Mapping* a : by[p])
                for (const Mapping* b : by[q])
                    if ((a->attrs & manifest::attr::kWrite) && (b->attrs & manifest::attr::kRead))
                        any = any || (hit(*a, i1) && hit(*b, i2) && pa_of(*a, i1) == pa_of(*b, i2));
            z3::model mdl(c);
            if (check(any, &mdl) == z3::sat) {
                const u64 x = mdl.eval(i1, true).get_numeral_uint64(), y = mdl.eval(i2, true).get_numeral_uint64();
                const Mapping *ma = nullptr, *mb = nullptr;
                for (const Mapping* a : by[p])
                    if ((a->attrs & manifest::attr::kWrite) && x >= a->ipa && x - a->ipa < a->size) ma = a;
                for (const Mapping* b : by[q])
                    if ((b->attrs & manifest::attr::kRead) && y >= b->ipa && y - b->ipa < b->size) mb = b;
                std::string w = "shared memory";
                if (ma != nullptr && mb != nullptr)
                    w = "'" + rp.names[p] + "' writes PA " + hexs(ma->pa + (x - ma->ipa)) + " at IPA " + hexs(x) + " (map op " +
                        std::to_string(ma->op) + "), '" + rp.names[q] + "' reads it at IPA " + hexs(y) + " (map op " +
                        std::to_string(mb->op) + ")";
                derived.emplace(std::tuple{p, q, kMem}, w);
            }
        }
    for (const auto& a : rp.held)
        for (const auto& b : rp.held) {
            if (a.partition == b.partition || a.type != b.type || a.object != b.object || a.bits != b.bits) continue;
            if (!(a.rights & Rights::kWrite) || !(b.rights & Rights::kRead)) continue;
            const std::string w = "'" + rp.names[a.partition] + "' holds a " + type_name(a.type) + " cap with Write (rights " +
                                  hexs(a.rights) + ") and '" + rp.names[b.partition] + "' one with Read (rights " +
                                  hexs(b.rights) + ") to the object at PA " + hexs(a.object);
            if (a.type == ObjectType::Channel) derived.emplace(std::tuple{a.partition, b.partition, kMem}, w);
            if (a.type == ObjectType::Notification) derived.emplace(std::tuple{a.partition, b.partition, kSig}, w);
            if (a.type == ObjectType::Frame || a.type == ObjectType::DeviceMmio)
                derived.emplace(std::tuple{a.partition, b.partition, kMem}, w);  // both hold a cap to one frame
        }
    // Seal's frames_unshared: whatever the rights, two holders of one frame signal each other
    // through FrameMap's answer (a frame is mapped through one cap at a time).
    for (const auto& a : rp.held)
        for (const auto& b : rp.held) {
            if (a.partition >= b.partition || a.type != b.type || a.object != b.object || a.bits != b.bits) continue;
            if (a.type != ObjectType::Frame && a.type != ObjectType::DeviceMmio) continue;
            ok = false;
            violated.insert("INV-6");
            det << "INV-6 information flow: '" << rp.names[a.partition] << "' and '" << rp.names[b.partition] << "' both hold a "
                << type_name(a.type) << " cap to the object at PA " << hexs(a.object)
                << ": each one's FrameMap answer tells whether the other has it mapped\n";
        }
    // Audit: the holder of an AuditLog cap with Read learns what every other partition does.
    for (const auto& a : rp.held)
        if (a.type == ObjectType::AuditLog && (a.rights & Rights::kRead))
            for (unsigned p = 0; p < np; ++p)
                if (p != a.partition)
                    derived.emplace(std::tuple{p, a.partition, static_cast<u64>(manifest::FlowKind::Audit)},
                                    "'" + rp.names[a.partition] + "' holds the AuditLog cap with Read");
    for (const auto& [f, witness] : derived)
        if (!rp.declared.count(f)) {
            ok = false;
            violated.insert("INV-6");
            det << "INV-6 information flow: " << flow_name(std::get<2>(f)) << " flow '" << rp.names[std::get<0>(f)]
                << "' -> '" << rp.names[std::get<1>(f)] << "' is possible but not declared: " << witness << "\n";
        }
    for (const auto& f : rp.declared)
        if (!derived.count(f)) {
            ok = false;
            violated.insert("INV-6");
            det << "INV-6 information flow: declared " << flow_name(std::get<2>(f)) << " flow '" << rp.names[std::get<0>(f)]
                << "' -> '" << rp.names[std::get<1>(f)] << "' is not made possible by any capability or mapping\n";
        }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.ok = ok;
    rep.details = det.str();
    // "holds: INV-1, INV-2, INV-3, INV-6 over ..." or "VIOLATED: INV-1, INV-6 (checked ... over ...)".
    std::string verdict = "holds: INV-1, INV-2, INV-3, INV-6 over all 2^40 IPAs";
    if (!ok) {
        std::string list;
        for (const auto& v : violated) list += (list.empty() ? "" : ", ") + v;
        verdict = "VIOLATED: " + (list.empty() ? std::string("mapping outside the IPA space") : list) +
                  " (checked INV-1, INV-2, INV-3, INV-6 over all 2^40 IPAs)";
    }
    char line[320];
    std::snprintf(line, sizeof line, "proof: %s; %u partitions, %u mappings, %zu declared flows, %u z3 queries, %.3f s",
                  verdict.c_str(), rep.partitions, rep.mappings, rp.declared.size(), rep.queries, rep.seconds);
    rep.summary = line;
    return rep;
}

}  // namespace bh::proofs
