// Line formatting for kernel reports: fixed-size buffer, no allocation, never overflows.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

struct Hex {
    u64 value;
};

class LineBuffer {
public:
    static constexpr usize kCapacity = 240;

    void put(char c) {
        if (length_ < kCapacity) text_[length_++] = c;
    }
    void put(const char* s);
    void put(u64 value);
    void put(u32 value) { put(static_cast<u64>(value)); }
    void put(int value);
    void put(Hex value);
    void put_bytes(const char* bytes, usize count);
    // Ends the line with '\n' even when the text was cut at capacity.
    void end_line() {
        if (length_ == kCapacity) --length_;
        text_[length_++] = '\n';
    }

    const char* data() const { return text_; }
    usize size() const { return length_; }
    void clear() { length_ = 0; }

private:
    char text_[kCapacity];
    usize length_ = 0;
};

// Writes one whole line to the console: "[bulkhead] " + parts + "\n".
void log_line(const LineBuffer& line);

template <typename... Parts>
void log(const Parts&... parts) {
    LineBuffer line;
    (line.put(parts), ...);
    log_line(line);
}

}  // namespace bh
