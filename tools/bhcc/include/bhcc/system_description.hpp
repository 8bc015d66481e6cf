// The system description after parsing: what the integrator asked for, before any rule beyond
// "the property has the right shape" has been checked (see system_validator.hpp).
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <bulkhead/types.hpp>

#include <string>
#include <vector>

namespace bhcc {

using bh::u64;

struct MemoryRegion {
    std::string node;  // full path, used in messages
    u64 ipa = 0;
    u64 phys = 0;
    u64 size = 0;
    u64 attrs = 0;  // manifest::attr bits derived from `access`
    // False for an `unmapped` region: its frames are made and granted to the partition but not
    // mapped at boot; it then has no `ipa` (ipa stays 0 and is never used).
    bool mapped = true;
    // False when a property was missing or malformed; such a region is reported once by the
    // parser and then left out of every cross-region rule, so one mistake gives one message.
    bool well_formed = true;
};

struct Partition {
    std::string name;
    std::string node;
    std::vector<unsigned> cpus;  // vcpu i runs on cpus[i]
    bool cpus_present = false;
    std::string image;  // file name inside an --image-dir; empty when missing
    u64 boot_arg = 0;
    bool boot_arg_present = false;
    // A Linux partition names an arm64 kernel Image (`kernel`, instead of `image`), optionally an
    // initramfs and bootargs: bhcc generates its device tree (guest_device_tree.hpp) and loads
    // the three per the arm64 boot protocol (linux_layout.hpp), x0 = the device tree's IPA.
    std::string kernel;
    std::string initramfs;
    std::string bootargs;
    bh::manifest::RestartPolicy restart = bh::manifest::RestartPolicy::Stop;
    // `faults`: a contained fault ends the run (Stop) or is delivered to the partition (Inject).
    bh::manifest::FaultPolicy faults = bh::manifest::FaultPolicy::Stop;
    std::vector<std::string> devices;
    // Names of the partitions this one may stop and restart (`controls`): each gets a Partition
    // cap with the Control right in this partition's CSpace, after its frames and device pages.
    std::vector<std::string> controls;
    // Interrupts (INTIDs, `interrupts`): each gets the IrqHandler cap of that SPI (rights
    // Control only), after the `controls` caps, in `interrupts` order.
    std::vector<u64> interrupts;
    // `virtual-gic;`, `virtual-uart;`, `console-input;`: bh::manifest::partition_flag bits, carried
    // in CreatePartition (docs/system-description.md, "Emulated devices").
    u64 flags = 0;
    // `audit` (no value): the partition reads the kernel's security audit log. It gets the
    // AuditLog cap (Read only) after its interrupts' caps, and every other partition gets a
    // declared Audit flow to it (docs/audit.md).
    bool audit = false;
    std::vector<MemoryRegion> regions;  // every memory child, well formed or not

    [[nodiscard]] bool is_linux() const { return !kernel.empty(); }
};

// A `/channels` child: a shared region of RAM (one Channel object) and who may write and read it.
// Writers get a cap with Read|Write (writing implies reading), readers-only a cap with Read.
struct Channel {
    std::string node;  // full path, used in messages
    u64 phys = 0;
    u64 size = 0;
    std::vector<std::string> writers;  // partition names, as written
    std::vector<std::string> readers;
    // False when phys or size was missing or malformed (reported once by the parser); such a
    // channel takes part in no placement rule.
    bool well_formed = true;
    // False when `writers` or `readers` was not a list of strings (reported by the parser); the
    // rules about who is a member are then skipped.
    bool members_well_formed = true;
};

// A `/notifications` child: one Notification object. Each signaller gets a Write cap badged with
// its own bit (1 << its position in `signallers`), the waiter a Read cap.
struct Notification {
    std::string node;
    std::vector<std::string> signallers;
    std::vector<std::string> waiters;  // exactly one when valid (rule N5)
    bool members_well_formed = true;   // as Channel's
};

// A `/pci` child: one PCIe function of bus 0 given to one partition (docs/system-description.md,
// "PCIe functions"). Its BARs are placed by bhcc (pci_layout.hpp), its stream bound by the owner.
struct PciBar {
    unsigned index = 0;  // BAR register 0..5 (a 64-bit BAR by its lower register)
    u64 size = 0;        // bytes, a power of two
};
struct PciFunction {
    std::string node;
    std::string partition;  // owner, as written
    unsigned device = 0;    // 1..31 on bus 0
    unsigned function = 0;  // 0..7
    unsigned pin = 1;       // its interrupt pin, INTA..INTD = 1..4
    bh::u32 vendor = 0;
    bh::u32 device_id = 0;
    std::vector<PciBar> bars;  // every memory BAR the function implements
    std::string qemu_device;   // for tools/qemu-run: the -device driver and its options; empty: none
    std::string qemu_disk;     // a raw disk image file (next to the boot image) for that device
    bool well_formed = true;   // false: reported by the parser, left out of the later rules
    [[nodiscard]] bh::u32 bdf() const { return (device << 3) | function; }
};

// A `/forwards` child (docs/system-description.md, "Forwarded MMIO"): a window of `client`'s IPA
// space whose loads and stores the kernel forwards to `server` (bulkhead/forwarded_mmio.hpp).
// For a Linux client it is described as a virtio-mmio device; its `dma-window` channel is mapped
// into the client at boot and is the only memory the device's DMA may use.
struct MmioForward {
    std::string node;
    std::string client;
    std::string server;
    u64 ipa = 0;            // `window`: in the client
    u64 size = 0;
    u64 interrupt = 0;      // the client's virtual SPI for the device (INTID); 0: none
    u64 requests = 0;       // physical page the kernel writes requests to
    u64 requests_ipa = 0;   // where the server maps it, read-only
    std::string doorbell;   // a /notifications node whose waiter is the server
    std::string dma_window;  // a /channels node; empty: none
    u64 dma_window_ipa = 0;  // where it is mapped into the client
    bool well_formed = true;
};

struct SystemDescription {
    std::string ram_node = "/";  // where the RAM range came from, for messages
    u64 ram_base = bh::platform::kRamBase;
    u64 ram_size = bh::platform::kDefaultRamSize;
    std::vector<Partition> partitions;
    std::vector<Channel> channels;            // `/channels` children, in document order
    std::vector<Notification> notifications;  // `/notifications` children, in document order
    std::vector<PciFunction> pci_functions;   // `/pci` children, in document order
    std::vector<MmioForward> forwards;        // `/forwards` children, in document order
};

}  // namespace bhcc
