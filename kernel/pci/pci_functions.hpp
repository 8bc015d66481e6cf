// PCIe functions given to partitions (docs/isolation.md "DMA and PCIe"): the kernel keeps the
// configuration space (ECAM) to itself. The boot program assigns a function of bus 0 to one
// partition (AssignPciFunction, which checks the device's identity and switches the function off)
// and places its memory BARs where bhcc put them in the 32-bit MMIO window (PlacePciBar, which
// checks the BAR's size against the device's own answer). Afterwards the owner sees bus 0's
// configuration space at platform::kPciConfigWindowIpa, reduced to its own functions:
//   - every other function reads as absent (all ones), writes to it are ignored;
//   - BARs read as placed and answer sizing, but never move (writes only switch sizing on/off);
//     the expansion ROM BAR reads 0 (never enabled);
//   - the command register: I/O space stays off; bus mastering only while the function's DMA
//     stream is bound to the owner (DmaStreamTable), and the kernel clears it when the stream is
//     unbound; every write first writes the placed BARs back, so a function reset cannot leave a
//     BAR where bhcc did not put it when memory decoding is switched on again;
//   - identity, class, header, capability pointer and interrupt registers are read-only; the
//     rest (capabilities, extended space) passes through: it configures only the owner's device.
//
// Locking: the capability lock, like the DMA streams whose binding decides bus mastering: the
// calls that change or read a function's state after seal take its witness.
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>
#include <caps/cap_lock.hpp>
#include <lib/ids.hpp>

namespace bh {

class PciFunctions {
public:
    static constexpr u32 kMaxFunctions = manifest::kMaxPciFunctions;
    static constexpr u32 kBars = 6;

    enum class BarKind : u8 { None, Memory32, Memory64, Io };
    struct Bar {
        BarKind kind = BarKind::None;
        u8 flags = 0;       // the BAR's low four bits as the device reports them
        u64 size = 0;       // as the device answers sizing (Memory*: a power of two >= 16)
        u64 address = 0;    // placed (Memory*): bus address == physical address == owner's IPA
        bool placed = false;
        bool sizing = false;       // the owner wrote all ones: reads give the size mask
        bool sizing_high = false;  // the same for the upper half of a 64-bit BAR
        bool memory() const { return kind == BarKind::Memory32 || kind == BarKind::Memory64; }
    };
    struct Function {
        u32 bdf = 0;
        PartitionId owner;
        u32 id = 0;  // vendor | device << 16
        Bar bars[kBars];
        bool bus_master_allowed = false;  // its stream is bound to the owner
    };

    // --- boot program (refused once closed)
    // Function `bdf` of bus 0 becomes partition `owner`'s: it must exist with identity `id`
    // (vendor | device << 16), be an endpoint (header type 0) and not the host bridge (device 0).
    // Its command register is cleared (no decoding, no bus mastering), its ROM BAR disabled, and
    // its BARs sized.
    Outcome assign(u32 bdf, PartitionId owner, u32 id);
    // BAR `index` of `owner`'s function `bdf` at `address`: a memory BAR the device implements,
    // address aligned to its size, the whole BAR inside the 32-bit window, disjoint from every
    // BAR placed so far; written to the device.
    Outcome place_bar(u32 bdf, PartitionId owner, u32 index, u64 address);
    // The first function with a memory BAR not placed, or nullptr (seal refuses such a system:
    // a BAR bhcc did not place could decode wherever its reset value says).
    const Function* unplaced_bar() const;
    void close() { closed_ = true; }

    // --- the owner's view (pci/config_window.hpp)
    bool owns_any(PartitionId partition) const;
    // `offset` from the start of the window; `size` 1, 2 or 4 and aligned (else reads all ones,
    // writes are ignored).
    u32 config_read(PartitionId partition, u64 offset, unsigned size, const CapLockHeld&) const;
    void config_write(PartitionId partition, u64 offset, unsigned size, u32 value, const CapLockHeld&);

    // --- DMA streams: bus mastering follows the binding of the function's stream.
    void bus_master_allowed(u32 bdf, bool allowed, const CapLockHeld&);
    // The owner stops or restarts: nothing of its view (BAR sizing) carries into its next run.
    void partition_stopped(PartitionId partition, const CapLockHeld&);

    // --- read-only views (invariant checker, seal)
    u32 count() const { return count_; }
    const Function& at(u32 i) const { return functions_[i]; }
    const Function* find(u32 bdf) const;
    // The placed BAR that overlaps [base, base + size) of a function another partition than
    // `partition` owns, or nullptr.
    const Function* bar_of_other(PartitionId partition, u64 base, u64 size) const;

private:
    Function* find_mutable(u32 bdf) { return const_cast<Function*>(static_cast<const PciFunctions*>(this)->find(bdf)); }
    u32 emulated_dword(const Function& f, u32 offset) const;
    void write_command(Function& f, u32 offset, unsigned size, u32 value);
    void write_bars(const Function& f);

    Function functions_[kMaxFunctions];
    u32 count_ = 0;
    bool closed_ = false;
};

}  // namespace bh
