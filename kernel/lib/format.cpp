#include <arch/arch.hpp>
#include <lib/format.hpp>

namespace bh {

void LineBuffer::put(const char* s) {
    if (s == nullptr) s = "(null)";
    while (*s != '\0') put(*s++);
}

void LineBuffer::put_bytes(const char* bytes, usize count) {
    for (usize i = 0; i < count; ++i) put(bytes[i]);
}

void LineBuffer::put(u64 value) {
    char digits[20];
    unsigned n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0) put(digits[--n]);
}

void LineBuffer::put(int value) {
    if (value < 0) {
        put('-');
        put(static_cast<u64>(-static_cast<i64>(value)));
    } else {
        put(static_cast<u64>(value));
    }
}

void LineBuffer::put(Hex value) {
    put("0x");
    bool started = false;
    for (int shift = 60; shift >= 0; shift -= 4) {
        unsigned nibble = (value.value >> shift) & 0xf;
        if (nibble != 0 || started || shift == 0) {
            put("0123456789abcdef"[nibble]);
            started = true;
        }
    }
}

void log_line(const LineBuffer& line) {
    // One console_write per line so that lines from different cores never interleave.
    LineBuffer out;
    out.put("[bulkhead] ");
    out.put_bytes(line.data(), line.size());
    out.end_line();
    arch::console_write(out.data(), out.size());
}

}  // namespace bh
