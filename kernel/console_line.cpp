#include <arch/arch.hpp>
#include <console_line.hpp>
#include <lib/format.hpp>
#include <partition.hpp>

namespace bh {

namespace {

void flush_console_line(Partition& p) {
    LineBuffer line;
    line.put('[');
    line.put(p.name);
    line.put("] ");
    line.put_bytes(p.console_line, p.console_length);
    line.end_line();
    arch::console_write(line.data(), line.size());
    p.console_length = 0;
}

}  // namespace

void console_line_write(Partition& p, const char* bytes, u64 length) {
    LockGuard guard(p.console_lock);
    for (u64 i = 0; i < length; ++i) {
        char c = bytes[i];
        if (c == '\n') {
            flush_console_line(p);
            continue;
        }
        if (c == '\r') continue;
        if (c == '\t') c = ' ';  // harmless, and frequent in an OS's log
        // Control characters could rewrite the operator's terminal or forge other lines.
        if (c < 0x20 || c > 0x7e) c = '?';
        p.console_line[p.console_length++] = c;
        if (p.console_length == sizeof(p.console_line)) flush_console_line(p);
    }
}

}  // namespace bh
