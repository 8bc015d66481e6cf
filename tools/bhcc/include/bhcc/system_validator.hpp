// The semantic rules of a system description: cores, memory placement, overlaps, devices,
// partition control (`controls`: known names, no repeats, no cycles), channels (placement,
// members) and notifications (members, one waiter).
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/system_description.hpp>

namespace bhcc {

void validate_system(const SystemDescription& system, Diagnostics& diagnostics);

}  // namespace bhcc
