// The vendor calls that invoke no capability: the ABI version, console output and the caller's
// own description. Arguments come only from registers, so there is no guest memory to copy and
// nothing a guest can change while the kernel looks at it.
#include <arch/arch.hpp>
#include <calls/console.hpp>
#include <calls/guest_exit.hpp>
#include <lib/format.hpp>
#include <partition/partition.hpp>

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

// Control characters could rewrite the operator's terminal or forge other lines, so they are
// replaced.
void console_write(Partition& p, const char* bytes, u64 length) {
    LockGuard guard(p.console_lock);
    for (u64 i = 0; i < length; ++i) {
        char c = bytes[i];
        if (c == '\n') {
            flush_console_line(p);
            continue;
        }
        if (c == '\r') continue;
        if (c == '\t') c = ' ';  // harmless, and frequent in an OS's log
        if (c < 0x20 || c > 0x7e) c = '?';
        p.console_line[p.console_length++] = c;
        if (p.console_length == sizeof(p.console_line)) flush_console_line(p);
    }
}

void handle_vendor_call(Vcpu& vcpu, const GuestCall& call) {
    arch::GuestRegs& r = vcpu.regs;
    const Partition& p = *vcpu.partition;
    switch (call.id) {
        case CallId::AbiVersion: r.x[1] = hvc::kAbiVersion; break;
        case CallId::ConsoleWrite: console_write(*vcpu.partition, call.console.bytes, call.console.length); break;
        case CallId::PartitionInfo:
            r.x[1] = p.index.raw();
            r.x[2] = vcpu.index.raw();
            r.x[3] = p.vcpu_count;
            r.x[4] = p.restarts;
            r.x[5] = p.cspace_root.type == ObjectType::CNode ? p.cspace_root.size_bits : 0;
            break;
        default: break;
    }
    r.x[0] = status_value(Status::Ok);
}

}  // namespace bh
