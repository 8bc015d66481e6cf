// The kernel ELF must load entirely inside the kernel image window of the reserved region;
// anything else would overwrite object memory, the payload, or a partition.
#pragma once

#include <bhcc/elf_image.hpp>

#include <string>

namespace bhcc {

// Empty when the kernel is acceptable, otherwise the rule it breaks.
[[nodiscard]] std::string check_kernel_image(const ElfImage& kernel);

}  // namespace bhcc
