// Console output for guests: print("heartbeat ", n, "\n") formats its arguments into one
// buffer and hands it to the kernel in as few ConsoleWrite hypercalls as possible, so that a
// line is not split between vCPUs. The kernel prefixes every line with the partition's name.
//
// Arguments: C strings, char, bool, signed and unsigned integers (decimal), hex(v[, digits])
// (0x-prefixed hexadecimal), and pointers (as hex).
#pragma once

#include <bulkhead/types.hpp>

namespace bh::rt {

struct Hex {
    u64 value;
    unsigned min_digits;
};

// Hexadecimal with a 0x prefix and at least `min_digits` digits.
constexpr Hex hex(u64 value, unsigned min_digits = 1) { return Hex{value, min_digits}; }

// Writes `length` raw bytes to the console.
void write(const char* text, usize length);

// A fixed buffer; flushed when full and at the end of print().
class Output {
public:
    Output() = default;
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;
    ~Output() { flush(); }

    void put(char c) {
        if (length_ == sizeof(buffer_)) flush();
        buffer_[length_++] = c;
    }
    void put(const char* text);
    void put_unsigned(u64 value);
    void put_signed(i64 value);
    void put_hex(u64 value, unsigned min_digits);
    void flush();

private:
    char buffer_[160];
    usize length_ = 0;
};

inline void format(Output& out, const char* s) { out.put(s); }
inline void format(Output& out, char c) { out.put(c); }
inline void format(Output& out, bool b) { out.put(b ? "true" : "false"); }
inline void format(Output& out, int v) { out.put_signed(v); }
inline void format(Output& out, long v) { out.put_signed(v); }
inline void format(Output& out, long long v) { out.put_signed(v); }
inline void format(Output& out, unsigned v) { out.put_unsigned(v); }
inline void format(Output& out, unsigned long v) { out.put_unsigned(v); }
inline void format(Output& out, unsigned long long v) { out.put_unsigned(v); }
inline void format(Output& out, Hex h) { out.put_hex(h.value, h.min_digits); }
inline void format(Output& out, const void* p) { out.put_hex(reinterpret_cast<u64>(p), 1); }

template <typename... Args>
void print(const Args&... args) {
    Output out;
    (format(out, args), ...);
}

}  // namespace bh::rt
