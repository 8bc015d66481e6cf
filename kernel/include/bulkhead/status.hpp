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

// A value or the reason there is none: a Status and a static text saying why (Hedron's
// Result). value() of a refusal is a bug in the caller, never a guest's doing: it traps.
template <typename T>
class [[nodiscard]] Result {
public:
    constexpr Result(T value) : value_(value), status_(Status::Ok), reason_(nullptr) {}
    constexpr Result(Status status, const char* reason = nullptr) : value_(), status_(status), reason_(reason) {}
    constexpr bool ok() const { return status_ == Status::Ok; }
    constexpr Status status() const { return status_; }
    // What the refusal says: its own text, or the status's name when it gave none.
    constexpr const char* reason() const { return reason_ != nullptr ? reason_ : status_name(status_); }
    constexpr T value() const {
        if (!ok()) __builtin_trap();
        return value_;
    }

private:
    T value_;
    Status status_;
    const char* reason_;
};

// The result of an operation that yields nothing but success or a refusal with its reason.
template <>
class [[nodiscard]] Result<void> {
public:
    constexpr Result(Status status = Status::Ok, const char* reason = nullptr) : status_(status), reason_(reason) {}
    template <typename T>
    constexpr Result(const Result<T>& other) : status_(other.status()), reason_(other.ok() ? nullptr : other.reason()) {}
    constexpr bool ok() const { return status_ == Status::Ok; }
    constexpr Status status() const { return status_; }
    constexpr const char* reason() const { return reason_ != nullptr ? reason_ : status_name(status_); }

private:
    Status status_;
    const char* reason_;
};
using Outcome = Result<void>;

constexpr Outcome refuse(Status status, const char* reason) { return Outcome(status, reason); }
constexpr bool ok(const Outcome& o) { return o.ok(); }

}  // namespace bh
