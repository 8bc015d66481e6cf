#include "console.hpp"

#include "hypercall.hpp"

namespace bh::rt {

void write(const char* text, usize length) { console_write(text, length); }

void Output::put(const char* text) {
    if (text == nullptr) text = "(null)";
    while (*text != '\0') put(*text++);
}

void Output::put_unsigned(u64 value) {
    char digits[20];
    unsigned n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n != 0) put(digits[--n]);
}

void Output::put_signed(i64 value) {
    if (value < 0) {
        put('-');
        put_unsigned(0 - static_cast<u64>(value));  // well-defined for INT64_MIN too
    } else {
        put_unsigned(static_cast<u64>(value));
    }
}

void Output::put_hex(u64 value, unsigned min_digits) {
    static constexpr char kDigits[] = "0123456789abcdef";
    unsigned digits = 1;
    while (digits < 16 && (value >> (4 * digits)) != 0) ++digits;
    if (digits < min_digits) digits = min_digits > 16 ? 16 : min_digits;
    put('0');
    put('x');
    while (digits != 0) {
        --digits;
        put(kDigits[(value >> (4 * digits)) & 0xf]);
    }
}

void Output::flush() {
    if (length_ != 0) console_write(buffer_, length_);
    length_ = 0;
}

}  // namespace bh::rt
