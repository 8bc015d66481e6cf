#include <arch/pci.hpp>
#include <boot/boot_space.hpp>
#include <pci/pci_functions.hpp>

namespace bh {

namespace {

// Type 0 configuration header (PCI Local Bus 3.0, 6.1).
constexpr u32 kIdRegister = 0x00;
constexpr u32 kCommand = 0x04;
constexpr u32 kStatus = 0x06;
constexpr u32 kClassRegister = 0x08;
constexpr u32 kHeaderType = 0x0E;
constexpr u32 kBar0 = 0x10;
constexpr u32 kBarEnd = 0x28;
constexpr u32 kRomBar = 0x30;
constexpr u32 kHeaderEnd = 0x40;
constexpr u32 kCommandIo = 1u << 0;
constexpr u32 kCommandBusMaster = 1u << 2;
constexpr u32 kHeaderTypeMask = 0x7f;  // bit 7: multi-function
constexpr u32 kBarIo = 1u << 0;
constexpr u32 kBarType64 = 2u << 1;
constexpr u32 kBarTypeMask = 3u << 1;
constexpr u32 kAbsent = 0xffff'ffffu;

constexpr u32 size_mask(unsigned size) { return size == 4 ? ~0u : (1u << (8 * size)) - 1; }
constexpr bool access_valid(u64 offset, unsigned size) {
    return (size == 1 || size == 2 || size == 4) && offset % size == 0 && offset < platform::kPcieBusConfigSize;
}

u32 read32(u32 bdf, u32 reg) { return arch::pci_config_read(bdf, reg, 4); }

// A BAR's size as the device answers the all-ones write; restores the BAR. 0: not implemented.
u64 probe_size(u32 bdf, u32 reg, bool is64, bool io) {
    const u32 low = read32(bdf, reg), high = is64 ? read32(bdf, reg + 4) : 0;
    arch::pci_config_write(bdf, reg, 4, kAbsent);
    if (is64) arch::pci_config_write(bdf, reg + 4, 4, kAbsent);
    const u64 mask_low = read32(bdf, reg) & (io ? ~3u : ~0xfu);
    const u64 mask = is64 ? (static_cast<u64>(read32(bdf, reg + 4)) << 32) | mask_low : (0xffff'ffffull << 32) | mask_low;
    arch::pci_config_write(bdf, reg, 4, low);
    if (is64) arch::pci_config_write(bdf, reg + 4, 4, high);
    if (mask_low == 0 && (!is64 || (mask >> 32) == 0)) return 0;
    return ~mask + 1;
}

}  // namespace

const PciFunctions::Function* PciFunctions::find(u32 bdf) const {
    for (u32 i = 0; i < count_; ++i)
        if (functions_[i].bdf == bdf) return &functions_[i];
    return nullptr;
}

Outcome PciFunctions::assign(u32 bdf, PartitionId owner, u32 id) {
    if (closed_) return kSealed;
    if (bdf >= platform::kStreamCount || platform::pci_device(bdf) == 0)
        return refuse(Status::OutOfRange, "not a function of bus 0, or the host bridge");
    if (find(bdf) != nullptr) return refuse(Status::Exists, "function already assigned");
    if (count_ == kMaxFunctions) return refuse(Status::NoMemory, "too many PCIe functions");
    const u32 found = read32(bdf, kIdRegister);
    if ((found & 0xffff) == 0xffff) return refuse(Status::NotFound, "no PCIe function at that address");
    if (found != id || (arch::pci_config_read(bdf, kHeaderType, 1) & kHeaderTypeMask) != 0)
        return refuse(Status::InvalidArgument, "the function is another device, or not an endpoint");

    // Off before anything else: sizing a BAR of a decoding function would move it for a moment.
    arch::pci_config_write(bdf, kCommand, 2, 0);
    arch::pci_config_write(bdf, kRomBar, 4, 0);
    Function f{};
    f.bdf = bdf;
    f.owner = owner;
    f.id = id;
    for (u32 i = 0; i < kBars; ++i) {
        const u32 reg = kBar0 + 4 * i;
        const u32 raw = read32(bdf, reg);
        Bar& b = f.bars[i];
        b.flags = static_cast<u8>(raw & 0xf);
        const bool io = (raw & kBarIo) != 0;
        const bool is64 = !io && (raw & kBarTypeMask) == kBarType64 && i + 1 < kBars;
        b.size = probe_size(bdf, reg, is64, io);
        if (b.size == 0) continue;
        b.kind = io ? BarKind::Io : is64 ? BarKind::Memory64 : BarKind::Memory32;
        if (is64) ++i;  // the next register is this BAR's upper half
    }
    functions_[count_++] = f;
    return Outcome();
}

Outcome PciFunctions::place_bar(u32 bdf, PartitionId owner, u32 index, u64 address) {
    if (closed_) return kSealed;
    Function* f = find_mutable(bdf);
    if (f == nullptr || f->owner != owner) return refuse(Status::NotFound, "not a PCIe function of this partition");
    if (index >= kBars) return refuse(Status::OutOfRange, "no such BAR");
    Bar& b = f->bars[index];
    if (!b.memory()) return refuse(Status::InvalidArgument, "not a memory BAR of the function");
    if (b.placed) return refuse(Status::Exists, "BAR already placed");
    if (!is_aligned(address, b.size)) return refuse(Status::Misaligned, "BAR address not aligned to its size");
    if (!range_inside(address, b.size, platform::kPcieMmio32Base, platform::kPcieMmio32Size))
        return refuse(Status::OutOfRange, "BAR outside the 32-bit PCIe MMIO window");
    for (u32 i = 0; i < count_; ++i)
        for (const Bar& other : functions_[i].bars)
            if (other.placed && ranges_overlap(address, b.size, other.address, other.size))
                return refuse(Status::Overlap, "BAR overlaps another placed BAR");
    b.address = address;
    b.placed = true;
    write_bars(*f);
    return Outcome();
}

const PciFunctions::Function* PciFunctions::unplaced_bar() const {
    for (u32 i = 0; i < count_; ++i)
        for (const Bar& b : functions_[i].bars)
            if (b.memory() && !b.placed) return &functions_[i];
    return nullptr;
}

const PciFunctions::Function* PciFunctions::bar_of_other(PartitionId partition, u64 base, u64 size) const {
    for (u32 i = 0; i < count_; ++i) {
        if (functions_[i].owner == partition) continue;
        for (const Bar& b : functions_[i].bars)
            if (b.placed && ranges_overlap(base, size, b.address, b.size)) return &functions_[i];
    }
    return nullptr;
}

bool PciFunctions::owns_any(PartitionId partition) const {
    for (u32 i = 0; i < count_; ++i)
        if (functions_[i].owner == partition) return true;
    return false;
}

void PciFunctions::write_bars(const Function& f) {
    for (u32 i = 0; i < kBars; ++i) {
        const Bar& b = f.bars[i];
        if (!b.placed) continue;
        arch::pci_config_write(f.bdf, kBar0 + 4 * i, 4, static_cast<u32>(b.address));
        if (b.kind == BarKind::Memory64) arch::pci_config_write(f.bdf, kBar0 + 4 * (i + 1), 4, static_cast<u32>(b.address >> 32));
    }
}

u32 PciFunctions::emulated_dword(const Function& f, u32 reg) const {
    if (reg >= kBar0 && reg < kBarEnd) {
        const u32 i = (reg - kBar0) / 4;
        const Bar& b = f.bars[i];
        if (b.memory()) {
            const u64 value = b.sizing ? ~(b.size - 1) : b.address;
            return (static_cast<u32>(value) & ~0xfu) | b.flags;
        }
        if (i > 0 && f.bars[i - 1].kind == BarKind::Memory64) {
            const Bar& low = f.bars[i - 1];
            return static_cast<u32>((low.sizing_high ? ~(low.size - 1) : low.address) >> 32);
        }
        return 0;  // not implemented, or I/O (never enabled: hidden)
    }
    if (reg == kRomBar) return 0;
    return read32(f.bdf, reg);
}

u32 PciFunctions::config_read(PartitionId partition, u64 offset, unsigned size, const CapLockHeld&) const {
    if (!access_valid(offset, size)) return kAbsent & size_mask(size == 0 || size > 4 ? 4 : size);
    const u32 bdf = static_cast<u32>(offset / platform::kPcieFunctionConfigSize);
    const u32 reg = static_cast<u32>(offset % platform::kPcieFunctionConfigSize);
    const Function* f = find(bdf);
    if (f == nullptr || f->owner != partition) return kAbsent & size_mask(size);
    return (emulated_dword(*f, reg & ~3u) >> (8 * (reg & 3))) & size_mask(size);
}

void PciFunctions::write_command(Function& f, u32 reg, unsigned size, u32 value) {
    if (reg >= kStatus) {  // the status register only: its bits are write-one-to-clear
        arch::pci_config_write(f.bdf, reg, size, value);
        return;
    }
    // The command register as this write would leave it, then the kernel's rules applied.
    const u32 shift = 8 * (reg - kCommand);
    const u32 mask = (size_mask(size) << shift) & 0xffff;
    u32 command = (arch::pci_config_read(f.bdf, kCommand, 2) & ~mask) | ((value << shift) & mask);
    command &= ~kCommandIo;
    if (!f.bus_master_allowed) command &= ~kCommandBusMaster;
    write_bars(f);
    if (size == 4) {
        arch::pci_config_write(f.bdf, kCommand, 4, command | (value & 0xffff'0000u));
    } else {
        arch::pci_config_write(f.bdf, kCommand, 2, command);
    }
}

void PciFunctions::config_write(PartitionId partition, u64 offset, unsigned size, u32 value, const CapLockHeld&) {
    if (!access_valid(offset, size)) return;
    const u32 bdf = static_cast<u32>(offset / platform::kPcieFunctionConfigSize);
    const u32 reg = static_cast<u32>(offset % platform::kPcieFunctionConfigSize);
    Function* f = find_mutable(bdf);
    if (f == nullptr || f->owner != partition) return;
    if (reg >= kCommand && reg < kClassRegister) {
        write_command(*f, reg, size, value);
    } else if (reg >= kBar0 && reg < kBarEnd) {
        if (size != 4) return;
        const u32 i = (reg - kBar0) / 4;
        Bar& b = f->bars[i];
        if (b.memory()) {
            b.sizing = value == kAbsent;
        } else if (i > 0 && f->bars[i - 1].kind == BarKind::Memory64) {
            f->bars[i - 1].sizing_high = value == kAbsent;
        }
    } else if (reg >= kHeaderEnd) {
        arch::pci_config_write(bdf, reg, size, value);
    }
    // Identity, class, header type, BIST, subsystem, ROM, capability pointer, interrupt
    // registers: read-only here.
}

void PciFunctions::partition_stopped(PartitionId partition, const CapLockHeld&) {
    for (u32 i = 0; i < count_; ++i) {
        if (functions_[i].owner != partition) continue;
        for (Bar& b : functions_[i].bars) b.sizing = b.sizing_high = false;
    }
}

void PciFunctions::bus_master_allowed(u32 bdf, bool allowed, const CapLockHeld&) {
    Function* f = find_mutable(bdf);
    if (f == nullptr) return;
    f->bus_master_allowed = allowed;
    if (allowed) return;
    const u32 command = arch::pci_config_read(bdf, kCommand, 2);
    if ((command & kCommandBusMaster) != 0) arch::pci_config_write(bdf, kCommand, 2, command & ~kCommandBusMaster);
}

}  // namespace bh
