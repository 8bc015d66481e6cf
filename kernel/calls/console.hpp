// A partition's console output, collected per partition and printed a line at a time with the
// partition's name in front, so a partition can neither interleave with nor forge other lines
// (docs/isolation.md, "Console"). Written by ConsoleWrite (calls/console.cpp) and by the
// partition's emulated PL011 (devices/virtual_uart.cpp).
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

class Partition;

// Appends `length` bytes; each '\n' ends a line, '\r' is dropped, a tab becomes a space, other
// control characters and bytes outside printable ASCII become '?', and a line is broken at the
// buffer's length.
void console_write(Partition& p, const char* bytes, u64 length);

}  // namespace bh
