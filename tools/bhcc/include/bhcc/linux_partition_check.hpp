// The rules a Linux partition (one with `kernel`) adds to those of every partition: what an
// unmodified kernel needs from its description to boot, and what it must not be given.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/system_description.hpp>

namespace bhcc {

// Linux's COMMAND_LINE_SIZE on arm64, the terminating NUL included.
inline constexpr std::size_t kLinuxCommandLineSize = 2048;

void check_linux_partition(const Partition& partition, Diagnostics& diagnostics);

}  // namespace bhcc
