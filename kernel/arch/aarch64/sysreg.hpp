// System register access for the aarch64 arch layer only.
#pragma once

#include <bulkhead/types.hpp>

#define BH_READ_SYSREG(name)                                 \
    ({                                                       \
        ::bh::u64 value_;                                    \
        asm volatile("mrs %0, " #name : "=r"(value_));       \
        value_;                                              \
    })
#define BH_WRITE_SYSREG(name, value) asm volatile("msr " #name ", %0" ::"r"(static_cast<::bh::u64>(value)) : "memory")

namespace bh::aarch64 {

inline void isb() { asm volatile("isb" ::: "memory"); }
inline void dsb_ish() { asm volatile("dsb ish" ::: "memory"); }
inline void dsb_sy() { asm volatile("dsb sy" ::: "memory"); }

template <typename T>
inline T mmio_read(u64 address) {
    return *reinterpret_cast<volatile T*>(address);
}
template <typename T>
inline void mmio_write(u64 address, T value) {
    *reinterpret_cast<volatile T*>(address) = value;
}

}  // namespace bh::aarch64
