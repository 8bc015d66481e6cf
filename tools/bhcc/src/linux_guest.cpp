#include <bhcc/linux_guest.hpp>

#include <bhcc/guest_device_tree.hpp>
#include <bhcc/linux_image.hpp>

namespace bhcc {
namespace {

// One segment of the synthesized image: `data` appended to `image.bytes`, loaded at `ipa`.
void add_segment(ElfImage& image, u64 ipa, const std::vector<u8>& data, u64 memsz, u32 flags) {
    ElfSegment segment;
    segment.flags = flags;
    segment.offset = image.bytes.size();
    segment.vaddr = segment.paddr = ipa;
    segment.filesz = data.size();
    segment.memsz = memsz;
    image.bytes.insert(image.bytes.end(), data.begin(), data.end());
    image.loads.push_back(segment);
}

}  // namespace

std::optional<LinuxGuest> load_linux_guest(const Partition& partition, const ImageDirs& dirs, Diagnostics& diagnostics,
                                           const std::vector<GuestVirtioDevice>& devices) {
    const std::string kernel_label = "kernel \"" + partition.kernel + "\"";
    auto kernel_bytes = read_guest_file(partition.kernel, dirs);
    if (!kernel_bytes) {
        diagnostics.error(partition.node, kernel_label + " not found in " + describe_dirs(dirs));
        return std::nullopt;
    }
    LinuxImageParse kernel = parse_linux_image(std::move(*kernel_bytes));
    if (!kernel.image) {
        diagnostics.error(partition.node, kernel_label + " is not an arm64 Linux Image: " + kernel.error);
        return std::nullopt;
    }
    std::vector<u8> initramfs;
    if (!partition.initramfs.empty()) {
        const std::string label = "initramfs \"" + partition.initramfs + "\"";
        auto bytes = read_guest_file(partition.initramfs, dirs);
        if (!bytes) {
            diagnostics.error(partition.node, label + " not found in " + describe_dirs(dirs));
            return std::nullopt;
        }
        if (bytes->empty()) {
            diagnostics.error(partition.node, label + " is empty");
            return std::nullopt;
        }
        initramfs = std::move(*bytes);
    }
    return make_linux_guest(partition, *kernel.image, initramfs, diagnostics, devices);
}

std::optional<LinuxGuest> make_linux_guest(const Partition& partition, const LinuxImage& kernel,
                                           const std::vector<u8>& initramfs, Diagnostics& diagnostics,
                                           const std::vector<GuestVirtioDevice>& devices) {
    LinuxPlacement placement = place_linux(partition, kernel, initramfs.size());
    if (!placement.layout) {
        diagnostics.error(partition.node, placement.error);
        return std::nullopt;
    }

    LinuxGuest guest;
    guest.layout = *placement.layout;
    guest.device_tree = make_guest_device_tree(partition, guest.layout, devices);
    guest.image.entry = guest.layout.kernel_ipa;
    add_segment(guest.image, guest.layout.device_tree_ipa, guest.device_tree, guest.device_tree.size(), kSegmentRead);
    // The tail of image_size past the file (bss) is not carried: the kernel scrubs RAM to zero.
    add_segment(guest.image, guest.layout.kernel_ipa, kernel.bytes, guest.layout.kernel_size,
                kSegmentRead | kSegmentWrite | kSegmentExecute);
    if (!initramfs.empty()) add_segment(guest.image, guest.layout.initramfs_ipa, initramfs, initramfs.size(), kSegmentRead);
    return guest;
}

}  // namespace bhcc
