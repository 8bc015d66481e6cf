#include <bhcc/fdt_structure.hpp>

#include <bhcc/hex.hpp>

#include <cstring>
#include <vector>

namespace bhcc {
namespace {

using bh::u32;
using bh::u64;

// The FDT format (devicetree specification, "Flattened Devicetree (DTB) Format").
constexpr u32 kBeginNode = 1, kEndNode = 2, kProp = 3, kNop = 4, kEnd = 9;
constexpr u64 kTagSize = 4;

[[nodiscard]] u32 be32(std::span<const bh::u8> blob, u64 offset) {
    return (u32{blob[offset]} << 24) | (u32{blob[offset + 1]} << 16) | (u32{blob[offset + 2]} << 8) |
           u32{blob[offset + 3]};
}

// `path` of the node stack, for messages.
[[nodiscard]] std::string path_of(const std::vector<std::string>& stack) {
    if (stack.size() <= 1) return "/";
    std::string path;
    for (std::size_t i = 1; i < stack.size(); ++i) path += "/" + stack[i];
    return path;
}

}  // namespace

FdtDamage check_fdt_structure(std::span<const bh::u8> blob) {
    // Header fields (big endian, devicetree specification table "fdt_header").
    if (blob.size() < 40) return {"/", "header truncated"};
    const u64 total = be32(blob, 4), off_struct = be32(blob, 8), off_strings = be32(blob, 12),
              version = be32(blob, 20), size_strings = be32(blob, 32), size_struct = be32(blob, 36);
    if (version != 16 && version != 17) return {"/", "device tree version " + std::to_string(version) + ", expected 16 or 17"};
    if (total > blob.size()) return {"/", "totalsize exceeds the file"};
    if (off_struct > total || size_struct > total - off_struct) return {"/", "structure block outside the blob"};
    if (off_strings > total || size_strings > total - off_strings) return {"/", "strings block outside the blob"};
    if (off_struct % kTagSize != 0) return {"/", "structure block not 4-byte aligned"};

    const u64 end = off_struct + size_struct;
    std::vector<std::string> stack;  // open nodes, root first (its name is empty)
    bool root_closed = false;
    for (u64 at = off_struct;;) {
        if (end - at < kTagSize) return {path_of(stack), "structure block ends without an END tag"};
        const u32 tag = be32(blob, at);
        const std::string where = " at structure offset " + hex(at - off_struct);
        u64 next = at + kTagSize;
        switch (tag) {
            case kBeginNode: {
                if (root_closed) return {"/", "a second root node" + where};
                const auto* name = reinterpret_cast<const char*>(blob.data() + next);
                const void* nul = std::memchr(name, '\0', end - next);
                if (nul == nullptr) return {path_of(stack), "node name runs past the structure block" + where};
                const u64 length = static_cast<u64>(static_cast<const char*>(nul) - name);
                stack.emplace_back(name, length);
                next = bh::align_up(next + length + 1, kTagSize);
                break;
            }
            case kEndNode:
                if (stack.empty()) return {"/", "END_NODE without a node" + where};
                stack.pop_back();
                root_closed = stack.empty();
                break;
            case kProp: {
                if (stack.empty()) return {"/", "property outside any node" + where};
                if (end - next < 8) return {path_of(stack), "property header runs past the structure block" + where};
                const u64 length = be32(blob, next), name_offset = be32(blob, next + 4);
                next += 8;
                // Both as unsigned 64-bit values: a length libfdt would read as negative is
                // simply too long here.
                if (length > end - next) return {path_of(stack), "property value runs past the structure block" + where};
                if (name_offset >= size_strings ||
                    std::memchr(blob.data() + off_strings + name_offset, '\0', size_strings - name_offset) == nullptr)
                    return {path_of(stack), "property name outside the strings block" + where};
                next = bh::align_up(next + length, kTagSize);
                break;
            }
            case kNop: break;
            case kEnd:
                if (!root_closed) return {path_of(stack), "END before the root node is closed" + where};
                return {"", ""};
            default: return {path_of(stack), "unknown tag " + hex(tag) + where};
        }
        // align_up may step past the block's end by up to 3 bytes of padding.
        if (next > end) return {path_of(stack), "structure block ends inside a tag" + where};
        at = next;
    }
}

}  // namespace bhcc
