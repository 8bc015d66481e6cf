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
// Locking: cap_lock, like the DMA streams whose binding decides bus mastering.
#pragma once

#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

namespace bh {

class PciFunctions {
public:
    static constexpr u32 kMaxFunctions = 32;
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
    };
    struct Function {
        u32 bdf = 0;
        u32 owner = 0;  // partition index
        u32 id = 0;     // vendor | device << 16
        Bar bars[kBars];
        bool bus_master_allowed = false;  // its stream is bound to the owner
    };

    // --- boot program
    // Function `bdf` of bus 0 becomes partition `owner`'s: it must exist with identity `id`
    // (vendor | device << 16), be an endpoint (header type 0) and not the host bridge (device 0).
    // Its command register is cleared (no decoding, no bus mastering), its ROM BAR disabled, and
    // its BARs sized.
    //   OutOfRange bdf beyond bus 0, or device 0; NotFound no function there; InvalidArgument
    //   another identity, or not an endpoint; Exists already assigned; NoMemory table full.
    Status assign(u32 bdf, u32 owner, u32 id);
    // BAR `index` of `owner`'s function `bdf` at `address`: a memory BAR the device implements,
    // address aligned to its size, the whole BAR inside the 32-bit window, disjoint from every
    // BAR placed so far; written to the device.
    //   NotFound not owner's function; OutOfRange index > 5, or outside the window; InvalidArgument
    //   not a memory BAR (none, I/O, or the upper half of a 64-bit one); Misaligned; Exists placed
    //   already; Overlap another placed BAR.
    Status place_bar(u32 bdf, u32 owner, u32 index, u64 address);
    // The first function with a memory BAR not placed, or nullptr (seal refuses such a system:
    // a BAR bhcc did not place could decode wherever its reset value says).
    const Function* unplaced_bar() const;

    // --- the owner's view (a stage-2 fault in its configuration window; cap_lock held)
    bool owns_any(u32 partition) const;
    // `offset` from the start of the window; `size` 1, 2 or 4 and aligned (else reads all ones,
    // writes are ignored).
    u32 config_read(u32 partition, u64 offset, unsigned size);
    void config_write(u32 partition, u64 offset, unsigned size, u32 value);

    // --- DMA streams (cap_lock held): bus mastering follows the binding of the function's stream.
    void bus_master_allowed(u32 bdf, bool allowed);
    // The owner stops or restarts: nothing of its view (BAR sizing) carries into its next run.
    void partition_stopped(u32 partition);

    // --- read-only views (invariant checker, seal)
    u32 count() const { return count_; }
    const Function& at(u32 i) const { return functions_[i]; }
    const Function* find(u32 bdf) const;
    // The placed BAR that overlaps [base, base + size) of a function another partition than
    // `partition` owns, or nullptr.
    const Function* bar_of_other(u32 partition, u64 base, u64 size) const;

private:
    Function* find_mutable(u32 bdf) { return const_cast<Function*>(static_cast<const PciFunctions*>(this)->find(bdf)); }
    u32 emulated_dword(const Function& f, u32 offset) const;
    void write_command(Function& f, u32 offset, unsigned size, u32 value);
    void write_bars(const Function& f);

    Function functions_[kMaxFunctions];
    u32 count_ = 0;
};

}  // namespace bh

namespace bh {

class System;

// Seal's checks of the PCIe functions and their streams (nullptr: fine, else why not):
//   - every memory BAR of an assigned function is placed;
//   - every DmaStream cap is held by the partition its function is assigned to (a stream bound
//     to another partition's stage 2 would let the owner's device write that partition's memory,
//     a flow no DeclareFlow expresses);
//   - no partition but a BAR's owner holds a DeviceMmio cap or a device mapping over that BAR.
const char* pci_seal_refusal(const System& system);

}  // namespace bh
