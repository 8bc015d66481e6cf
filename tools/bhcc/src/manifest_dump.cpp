#include <bhcc/manifest_dump.hpp>

#include <bhcc/hex.hpp>

#include <bulkhead/manifest.hpp>
#include <lib/crc32.hpp>

#include <cstdio>
#include <cstring>

namespace bhcc {
namespace {

namespace manifest = bh::manifest;
using manifest::ManifestHeader;
using manifest::ManifestOp;
using manifest::OpKind;

[[nodiscard]] std::string access_letters(u64 attrs) {
    std::string text;
    text += (attrs & manifest::attr::kRead) ? 'r' : '-';
    text += (attrs & manifest::attr::kWrite) ? 'w' : '-';
    text += (attrs & manifest::attr::kExecute) ? 'x' : '-';
    if (attrs & manifest::attr::kDevice) text += " device";
    return text;
}

[[nodiscard]] std::string describe(const ManifestOp& op) {
    const std::string p = "p" + std::to_string(op.partition) + "  ";
    switch (op.kind) {
        case OpKind::CreatePartition: {
            const std::string name(op.name, strnlen(op.name, manifest::kNameLength));
            return "CreatePartition " + p + "name=\"" + name + "\" restart=" +
                   (op.arg[0] == static_cast<u64>(manifest::RestartPolicy::Restart) ? "restart" : "stop") +
                   " vcpus=" + std::to_string(op.arg[1]);
        }
        case OpKind::MapMemory:
            return "MapMemory       " + p + "ipa=" + hex_range(op.arg[0], op.arg[2]) + " pa=" + hex(op.arg[1]) +
                   " size=" + hex(op.arg[2]) + " " + access_letters(op.arg[3]);
        case OpKind::LoadImage:
            return "LoadImage       " + p + "ipa=" + hex(op.arg[0]) + " payload+" + hex(op.arg[1]) +
                   " size=" + hex(op.arg[2]);
        case OpKind::BindCore:
            return "BindCore        " + p + "vcpu=" + std::to_string(op.arg[0]) + " core=" + std::to_string(op.arg[1]);
        case OpKind::StartVcpu:
            return "StartVcpu       " + p + "vcpu=" + std::to_string(op.arg[0]) + " entry=" + hex(op.arg[1]) +
                   " x0=" + hex(op.arg[2]);
        case OpKind::Seal: return "Seal";
    }
    return "unknown op kind " + std::to_string(static_cast<u32>(op.kind));
}

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
    for (u32 i = 0; i < header.op_count; ++i) {
        const u64 at = header.ops_offset + u64{i} * sizeof(ManifestOp);
        if (at + sizeof(ManifestOp) > bytes.size()) return text + "  (op table truncated)\n";
        ManifestOp op{};
        std::memcpy(&op, bytes.data() + at, sizeof op);
        char index[16];
        std::snprintf(index, sizeof index, "%4u  ", i);
        text += index + describe(op) + "\n";
    }
    return text;
}

}  // namespace bhcc
