#include <bhcc/manifest_dump.hpp>

#include <bhcc/hex.hpp>

#include <bulkhead/manifest.hpp>
#include <bulkhead/crc32.hpp>

#include <bulkhead/objects.hpp>

#include <cstdio>
#include <cstring>
#include <map>

namespace bhcc {
namespace {

namespace manifest = bh::manifest;
using bh::ObjectType;
namespace rights = bh::rights;
using manifest::ManifestHeader;
using manifest::ManifestOp;
using manifest::OpKind;

[[nodiscard]] std::string type_name(u64 type) {
    switch (type) {
        case 1: return "Untyped";
        case 2: return "CNode";
        case 3: return "Partition";
        case 4: return "Vcpu";
        case 5: return "Frame";
        case 6: return "DeviceMmio";
        case 7: return "IrqHandler";
        case 8: return "Notification";
        case 9: return "Channel";
        case 10: return "DmaStream";
        case 11: return "AuditLog";
        default: return "type" + std::to_string(type);
    }
}

// CreatePartition's flags as the description spells them: "" without any, else
// " virtual-gic virtual-uart console-input" (and "flags=0x.." for bits no property names).
[[nodiscard]] std::string flag_words(u64 flags) {
    namespace flag = manifest::partition_flag;
    std::string words;
    if ((flags & flag::kVirtualGic) != 0) words += " virtual-gic";
    if ((flags & flag::kVirtualUart) != 0) words += " virtual-uart";
    if ((flags & flag::kConsoleInput) != 0) words += " console-input";
    if ((flags & flag::kOsGuest) != 0) words += " os-guest";
    if ((flags & flag::kInjectFaults) != 0) words += " faults=inject";
    if ((flags & ~flag::kAll) != 0) words += " flags=" + hex(flags & ~flag::kAll);
    return words;
}

[[nodiscard]] std::string size_text(unsigned bits) {
    if (bits >= 64) return "2^" + std::to_string(bits);
    const u64 size = 1ull << bits;
    if (size >= (1ull << 30) && size % (1ull << 30) == 0) return std::to_string(size >> 30) + " GiB";
    if (size >= (1ull << 20) && size % (1ull << 20) == 0) return std::to_string(size >> 20) + " MiB";
    if (size >= (1ull << 10) && size % (1ull << 10) == 0) return std::to_string(size >> 10) + " KiB";
    return std::to_string(size) + " B";
}

[[nodiscard]] std::string access_letters(u64 attrs) {
    std::string text;
    text += (attrs & manifest::attr::kRead) ? 'r' : '-';
    text += (attrs & manifest::attr::kWrite) ? 'w' : '-';
    text += (attrs & manifest::attr::kExecute) ? 'x' : '-';
    if (attrs & manifest::attr::kDevice) text += " device";
    if (attrs & ~manifest::attr::kAll) text += " +" + hex(attrs & ~manifest::attr::kAll);
    return text;
}

// "00:03.0" for a function of bus 0.
[[nodiscard]] std::string function_name(u64 bdf) {
    char text[24];
    std::snprintf(text, sizeof text, "%02llx:%02llx.%llx", static_cast<unsigned long long>(bdf >> 8),
                  static_cast<unsigned long long>((bdf >> 3) & 0x1f), static_cast<unsigned long long>(bdf & 7));
    return text;
}

[[nodiscard]] std::string rights_letters(u64 rights) {
    std::string text;
    if (rights & rights::kRead) text += 'R';
    if (rights & rights::kWrite) text += 'W';
    if (rights & rights::kExecute) text += 'X';
    if (rights & rights::kGrant) text += 'G';
    if (rights & rights::kControl) text += 'C';
    if (text.empty()) text = "none";
    if (rights & ~static_cast<u64>(rights::kAllBits)) text += " +" + hex(rights & ~static_cast<u64>(rights::kAllBits));
    return text;
}

// What the program has put in each boot slot so far, simulated from the ops (the kernel's
// untyped in slot 1 has no known address here), so that later ops can say what they touch.
struct SlotInfo {
    u64 type = 0;
    unsigned bits = 0;
    bool address_known = false;
    u64 pa = 0;
    bool device = false;
    u64 watermark = 0;  // Untyped only
    std::string partition;  // Partition only: its name
};

class Describer {
public:
    Describer() {
        SlotInfo kernel;
        kernel.type = static_cast<u64>(ObjectType::Untyped);
        slots_[manifest::kKernelUntypedSlot] = kernel;
    }

    std::string describe(const ManifestOp& op) {
        const std::string slot = "slot " + std::to_string(op.slot);
        switch (op.kind) {
            case OpKind::CreateUntyped: {
                SlotInfo info;
                info.type = static_cast<u64>(ObjectType::Untyped);
                info.bits = static_cast<unsigned>(op.arg[1]);
                info.address_known = op.arg[1] < 64;
                info.pa = op.arg[0];
                info.device = op.arg[2] == manifest::kUntypedDevice;
                slots_[op.slot] = info;
                const std::string range = op.arg[1] < 64 ? hex_range(op.arg[0], 1ull << op.arg[1]) : hex(op.arg[0]);
                return "CreateUntyped   " + slot + " := Untyped " + range + " (" + size_text(info.bits) + ")" +
                       (info.device ? " device" : op.arg[2] == 0 ? " ram" : " flags=" + hex(op.arg[2]));
            }
            case OpKind::Retype: {
                const u64 first = op.arg[2];
                const u64 count = op.arg[3];
                std::string text = "Retype          " + slot + " (" + what(op.slot) + ") -> " +
                                   std::to_string(count) + " x " + type_name(op.arg[0]) +
                                   (op.arg[0] == static_cast<u64>(ObjectType::CNode) ? " radix " : " size_bits ") +
                                   std::to_string(op.arg[1]) + " in slots " + std::to_string(first) +
                                   (count > 1 ? ".." + std::to_string(first + count - 1) : "");
                retype(op.slot, op.arg[0], static_cast<unsigned>(op.arg[1]), first, count);
                return text;
            }
            case OpKind::CreatePartition: {
                const std::string name(op.name, strnlen(op.name, manifest::kNameLength));
                slots_[op.slot].partition = name;
                return "CreatePartition " + slot + " name=\"" + name + "\" cspace=slot " + std::to_string(op.arg[0]) +
                       " restart=" +
                       (op.arg[1] == static_cast<u64>(manifest::RestartPolicy::Restart) ? "restart" : "stop") +
                       " vcpus=" + std::to_string(op.arg[2]) + flag_words(op.arg[3]);
            }
            case OpKind::MapFrame:
                return "MapFrame        " + slot + " (" + what(op.slot) + ") -> " + partition(op.arg[0]) +
                       " ipa=" + hex(op.arg[1]) + " " + access_letters(op.arg[2]);
            case OpKind::GrantCap:
                return "GrantCap        " + slot + " (" + what(op.slot) + ") -> " + partition(op.arg[0]) +
                       " cspace[" + std::to_string(op.arg[1]) + "] rights=" + rights_letters(op.arg[2]) +
                       (op.arg[3] != 0 ? " badge=" + hex(op.arg[3]) : "");
            case OpKind::LoadImage:
                return "LoadImage       " + partition(op.arg[0]) + " ipa=" + hex(op.arg[1]) + " payload+" +
                       hex(op.arg[2]) + " size=" + hex(op.arg[3]);
            case OpKind::BindVcpu:
                return "BindVcpu        " + slot + " (" + what(op.slot) + ") -> " + partition(op.arg[0]) +
                       " vcpu=" + std::to_string(op.arg[1]) +
                       " core=" + std::to_string(op.arg[2]);
            case OpKind::StartVcpu:
                return "StartVcpu       " + partition(op.arg[0]) + " vcpu=" + std::to_string(op.arg[1]) +
                       " entry=" + hex(op.arg[2]) + " x0=" + hex(op.arg[3]);
            case OpKind::DeclareFlow:
                return "DeclareFlow     " + partition(op.arg[0]) + " -> " + partition(op.arg[1]) + " " +
                       (op.arg[2] == static_cast<u64>(manifest::FlowKind::Memory)   ? "memory"
                        : op.arg[2] == static_cast<u64>(manifest::FlowKind::Signal) ? "signal"
                        : op.arg[2] == static_cast<u64>(manifest::FlowKind::Audit)  ? "audit"
                                                                                     : "kind " + std::to_string(op.arg[2]));
            case OpKind::CreateIrqHandler: {
                SlotInfo info;
                info.type = static_cast<u64>(ObjectType::IrqHandler);
                info.pa = op.arg[0];
                slots_[op.slot] = info;
                return "CreateIrqHandler " + slot + " := IrqHandler INTID " + std::to_string(op.arg[0]);
            }
            case OpKind::CreateAuditLog: {
                SlotInfo info;
                info.type = static_cast<u64>(ObjectType::AuditLog);
                slots_[op.slot] = info;
                return "CreateAuditLog  " + slot + " := AuditLog";
            }
            case OpKind::AssignPciFunction: {
                SlotInfo info;
                info.type = static_cast<u64>(ObjectType::DmaStream);
                info.pa = op.arg[1];
                slots_[op.slot] = info;
                return "AssignPciFunction " + function_name(op.arg[1]) + " id " + hex(op.arg[2] & 0xffff) + ":" +
                       hex(op.arg[2] >> 16) + " -> " + partition(op.arg[0]) + "; " + slot + " := DmaStream " +
                       hex(op.arg[1]);
            }
            case OpKind::PlacePciBar:
                return "PlacePciBar     " + function_name(op.arg[1]) + " BAR" + std::to_string(op.arg[2]) + " at " +
                       hex(op.arg[3]) + " (" + partition(op.arg[0]) + ")";
            case OpKind::ForwardMmio:
                return "ForwardMmio     " + partition(op.arg[0]) + " window " + hex_range(op.arg[1], op.arg[2] & 0xffff'ffff) +
                       " -> " + partition(op.arg[3] & 0xffff'ffff) + " requests " + slot + " (" + what(op.slot) +
                       ") doorbell slot " + std::to_string(op.arg[2] >> 48) + " badge=" + hex(op.arg[3] >> 32) +
                       ((op.arg[2] >> 32 & 0xffff) != 0 ? " spi " + std::to_string(op.arg[2] >> 32 & 0xffff) : "");
            case OpKind::Seal: return "Seal";
        }
        return "unknown op kind " + std::to_string(static_cast<u32>(op.kind));
    }

private:
    std::string what(u64 slot) const {
        if (slot == manifest::kKernelUntypedSlot) return "kernel Untyped";
        auto found = slots_.find(slot);
        if (found == slots_.end()) return "empty";
        const SlotInfo& info = found->second;
        if (info.type == static_cast<u64>(ObjectType::IrqHandler)) return "IrqHandler INTID " + std::to_string(info.pa);
        if (info.type == static_cast<u64>(ObjectType::AuditLog)) return "AuditLog";
        if (info.type == static_cast<u64>(ObjectType::DmaStream)) return "DmaStream " + hex(info.pa);
        std::string text = type_name(info.type);
        if (!info.partition.empty()) text += " \"" + info.partition + "\"";
        if (info.address_known) text += " " + hex(info.pa);
        if (info.type != static_cast<u64>(ObjectType::CNode) && info.type != static_cast<u64>(ObjectType::Partition))
            text += " " + size_text(info.bits);
        else if (info.type == static_cast<u64>(ObjectType::CNode))
            text += " radix " + std::to_string(info.bits);
        return text;
    }

    std::string partition(u64 slot) const {
        auto found = slots_.find(slot);
        if (found != slots_.end() && !found->second.partition.empty())
            return found->second.partition + "@" + std::to_string(slot);
        return "slot " + std::to_string(slot);
    }

    // Objects are carved at the untyped's watermark, each aligned to its size (as retype does).
    void retype(u64 untyped_slot, u64 type, unsigned bits, u64 first, u64 count) {
        auto found = slots_.find(untyped_slot);
        SlotInfo* untyped = found == slots_.end() ? nullptr : &found->second;
        const unsigned object_bits = type < bh::kObjectTypeCount
                                         ? bh::caps::object_bits(static_cast<ObjectType>(type), bits)
                                         : 0;
        for (u64 i = 0; i < count && i < manifest::kBootSlots; ++i) {
            SlotInfo info;
            info.type = type;
            // Notification and Vcpu are asked for with size_bits 0 and are one page (retype_cap_bits).
            info.bits = type < bh::kObjectTypeCount
                            ? bh::caps::retype_cap_bits(static_cast<ObjectType>(type), bits)
                            : bits;
            if (untyped != nullptr && untyped->address_known && object_bits != 0 && object_bits < 64) {
                const u64 size = 1ull << object_bits;
                const u64 offset = bh::align_up(untyped->watermark, size);
                info.address_known = true;
                info.pa = untyped->pa + offset;
                untyped->watermark = offset + size;
            }
            info.device = untyped != nullptr && untyped->device;
            slots_[first + i] = info;
        }
    }

    std::map<u64, SlotInfo> slots_;
};

}  // namespace

std::string dump_manifest(std::span<const u8> bytes) {
    ManifestHeader header{};
    if (bytes.size() < sizeof header) return "manifest: truncated\n";
    std::memcpy(&header, bytes.data(), sizeof header);
    const u32 crc = bh::crc32(bytes.data() + manifest::kChecksumStart, bytes.size() - manifest::kChecksumStart);
    std::string text = "manifest v" + std::to_string(header.version) + ": " + std::to_string(header.op_count) +
                       " ops, " + std::to_string(header.total_size) + " bytes, crc32 " + hex(header.checksum) +
                       (crc == header.checksum ? " (ok)" : " (MISMATCH)") + ", RAM " +
                       hex_range(header.ram_base, header.ram_size) + "\n";
    Describer describer;
    for (u32 i = 0; i < header.op_count; ++i) {
        const u64 at = header.ops_offset + u64{i} * sizeof(ManifestOp);
        if (at + sizeof(ManifestOp) > bytes.size()) return text + "  (op table truncated)\n";
        ManifestOp op{};
        std::memcpy(&op, bytes.data() + at, sizeof op);
        char index[16];
        std::snprintf(index, sizeof index, "%4u  ", i);
        text += index + describer.describe(op) + "\n";
    }
    return text;
}

}  // namespace bhcc
