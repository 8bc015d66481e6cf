// A bounded check of a flattened device tree's whole structure block, before libfdt walks it.
// libfdt's own walks trust the lengths they read: one property whose length is negative sends
// fdt_next_tag backwards, and its subnode walk (and even fdt_check_full) then loops for ever
// (fuzz finding bhcc-hang-938-bytes). This walk reads every tag once, each step moving forward
// by at least one tag, so it ends after at most size / 4 steps whatever the bytes say; a blob
// it accepts is one that libfdt's walks traverse exactly as it did.
#pragma once

#include <bulkhead/types.hpp>

#include <span>
#include <string>

namespace bhcc {

struct FdtDamage {
    std::string node;     // path of the node the damage was found in ("/" for the header)
    std::string message;  // empty when the structure is sound
};

// Requires what fdt_check_header already established (magic, header fields inside the blob).
// Refuses: a version other than 16 or 17 (older layouts pad and name nodes differently), a
// structure or strings block outside the blob, an unknown tag, a node name or property value
// that runs past the structure block, a property name outside the strings block or not
// NUL-terminated there, END_NODE without a node, anything after the root node's END_NODE
// but NOPs and END, and a structure block without END.
[[nodiscard]] FdtDamage check_fdt_structure(std::span<const bh::u8> blob);

}  // namespace bhcc
