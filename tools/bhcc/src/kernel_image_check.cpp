#include <bhcc/kernel_image_check.hpp>

#include <bhcc/hex.hpp>

#include <bulkhead/platform.hpp>

namespace bhcc {

std::string check_kernel_image(const ElfImage& kernel) {
    namespace platform = bh::platform;
    const u64 window = platform::kKernelImageLimit - platform::kKernelImageBase;
    for (const ElfSegment& segment : kernel.loads) {
        if (!bh::range_inside(segment.paddr, segment.memsz, platform::kKernelImageBase, window)) {
            return "PT_LOAD " + hex_range(segment.paddr, segment.memsz) + " is outside the kernel image window " +
                   hex_range(platform::kKernelImageBase, window);
        }
    }
    if (!bh::range_inside(kernel.entry, 4, platform::kKernelImageBase, window)) {
        return "entry point " + hex(kernel.entry) + " is outside the kernel image window " +
               hex_range(platform::kKernelImageBase, window);
    }
    return {};
}

}  // namespace bhcc
