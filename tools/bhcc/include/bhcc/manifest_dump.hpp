// The op program in words, for auditors: decoded from the packed bytes (what the kernel will
// execute), not from bhcc's internal model.
#pragma once

#include <bhcc/elf_image.hpp>

#include <span>
#include <string>

namespace bhcc {

[[nodiscard]] std::string dump_manifest(std::span<const u8> bytes);

}  // namespace bhcc
