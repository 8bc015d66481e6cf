// The reference platform's devices as a system description may name them in `devices`.
// Assignable ones come from platform::kAssignableMmio, the same table the kernel checks device
// mappings against, and are passed through to one partition at IPA == PA. The kernel-owned
// ones are listed here only so that naming them gets a clear refusal.
#pragma once

#include <bulkhead/types.hpp>

#include <span>
#include <string_view>

namespace bhcc {

struct PlatformDevice {
    std::string_view name;
    bh::u64 base;
    bh::u64 size;
    bool assignable;
};

[[nodiscard]] std::span<const PlatformDevice> platform_devices();
[[nodiscard]] const PlatformDevice* find_platform_device(std::string_view name);

}  // namespace bhcc
