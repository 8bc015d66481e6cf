// Hypercall ABI shared by the kernel and guests (docs/abi.md is the reference).
// HVC #0, SMC Calling Convention: x0 = function ID, x1 = capability address (reserved, 0 until
// capabilities land), x2..x7 = arguments. On return x0 = Status (0 or a negative error),
// x1..x7 = results.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::hvc {

// Vendor-specific hypervisor service range of the SMCCC, fast calls, SMC64.
inline constexpr u64 kVendorBase = 0xC600'0000;

enum class Function : u64 {
    AbiVersion = kVendorBase | 0x00,     // -> x1 = kAbiVersion
    ConsoleWrite = kVendorBase | 0x01,   // x2 = length (<= kConsoleChunk), x3..x7 = bytes
    PartitionInfo = kVendorBase | 0x02,  // -> x1 = partition, x2 = vcpu index, x3 = vcpus, x4 = restarts
};

inline constexpr u64 kAbiVersion = 1;
inline constexpr unsigned kConsoleChunk = 40;  // 5 registers of 8 bytes

// PSCI 1.1 function IDs that partitions may call (SMC or HVC); the kernel emulates them per
// partition: SYSTEM_OFF stops the calling partition, SYSTEM_RESET restarts it.
namespace psci {
inline constexpr u64 kVersion = 0x8400'0000;
inline constexpr u64 kCpuOff = 0x8400'0002;
inline constexpr u64 kCpuOn = 0xC400'0003;
inline constexpr u64 kAffinityInfo = 0xC400'0004;
inline constexpr u64 kSystemOff = 0x8400'0008;
inline constexpr u64 kSystemReset = 0x8400'0009;
inline constexpr u64 kFeatures = 0x8400'000A;
inline constexpr i64 kSuccess = 0;
inline constexpr i64 kNotSupported = -1;
inline constexpr i64 kInvalidParameters = -2;
inline constexpr i64 kDenied = -3;
inline constexpr i64 kAlreadyOn = -4;
}  // namespace psci

}  // namespace bh::hvc
