// Reads a flattened device tree into a SystemDescription. Reports shape errors only (missing
// properties, wrong cell counts, unknown strings); numeric and cross-node rules belong to
// system_validator.hpp.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/system_description.hpp>

#include <optional>
#include <span>

namespace bhcc {

// nullopt when the tree is so broken that no rule after it is meaningful (not an FDT, wrong
// root compatible, no partitions, too many partitions); the reason is in `diagnostics`.
[[nodiscard]] std::optional<SystemDescription> parse_description(std::span<const bh::u8> blob,
                                                                 Diagnostics& diagnostics);

}  // namespace bhcc
