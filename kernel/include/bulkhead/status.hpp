// Status and Result: every fallible kernel operation returns one, and callers must look at it.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

// Values are the hypercall ABI's x0 (see docs/abi.md): 0 is success, errors are negative so
// that NotSupported matches the SMC Calling Convention's "unknown function" (-1).
enum class [[nodiscard]] Status : i64 {
    Ok = 0,
    NotSupported = -1,
    InvalidArgument = -2,
    Denied = -3,
    OutOfRange = -4,
    Misaligned = -5,
    Overlap = -6,
    NoMemory = -7,
    Exists = -8,
    NotFound = -9,
    Corrupt = -10,
    Busy = -11,
};

constexpr const char* status_name(Status s) {
    switch (s) {
        case Status::Ok: return "ok";
        case Status::NotSupported: return "not supported";
        case Status::InvalidArgument: return "invalid argument";
        case Status::Denied: return "denied";
        case Status::OutOfRange: return "out of range";
        case Status::Misaligned: return "misaligned";
        case Status::Overlap: return "overlap";
        case Status::NoMemory: return "no memory";
        case Status::Exists: return "exists";
        case Status::NotFound: return "not found";
        case Status::Corrupt: return "corrupt";
        case Status::Busy: return "busy";
    }
    return "unknown status";
}

constexpr bool ok(Status s) { return s == Status::Ok; }

template <typename T>
class [[nodiscard]] Result {
public:
    constexpr Result(T value) : value_(value), status_(Status::Ok) {}
    constexpr Result(Status status) : value_(), status_(status) {}
    constexpr bool ok() const { return status_ == Status::Ok; }
    constexpr Status status() const { return status_; }
    constexpr T value() const { return value_; }

private:
    T value_;
    Status status_;
};

}  // namespace bh
