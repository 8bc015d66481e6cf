// The bootable image: one ELF64 whose PT_LOADs are the kernel's segments plus the payload at
// platform::kPayloadBase. QEMU's -kernel loads every PT_LOAD and enters at e_entry.
#pragma once

#include <bhcc/elf_image.hpp>

#include <span>
#include <vector>

namespace bhcc {

[[nodiscard]] std::vector<u8> write_boot_image(const ElfImage& kernel, std::span<const u8> payload);

}  // namespace bhcc
