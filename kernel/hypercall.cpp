// The vendor-specific hypercalls of docs/abi.md. Arguments come only from registers, so there
// is no guest memory to copy and nothing a guest can change while the kernel looks at it.
#include <arch/arch.hpp>
#include <bulkhead/hypercall.hpp>
#include <console_line.hpp>
#include <guest_exit.hpp>
#include <lib/format.hpp>

namespace bh {

namespace {

void set_status(Vcpu& vcpu, Status s) { vcpu.regs.x[0] = static_cast<u64>(static_cast<i64>(s)); }

}  // namespace

bool handle_hypercall(System& system, Vcpu& vcpu) {
    GuestRegs& r = vcpu.regs;
    Partition& p = *vcpu.partition;
    if (is_cap_call(r.x[0])) return handle_cap_call(system, vcpu);
    const auto fn = static_cast<hvc::Function>(r.x[0]);
    if (fn != hvc::Function::AbiVersion && fn != hvc::Function::ConsoleWrite && fn != hvc::Function::PartitionInfo) {
        set_status(vcpu, Status::NotSupported);
        return true;
    }
    if (r.x[1] != 0) {  // these calls invoke no capability: x1 must be 0
        set_status(vcpu, Status::InvalidArgument);
        return true;
    }
    switch (fn) {
        case hvc::Function::AbiVersion:
            set_status(vcpu, Status::Ok);
            r.x[1] = hvc::kAbiVersion;
            return true;
        case hvc::Function::ConsoleWrite: {
            if (r.x[2] > hvc::kConsoleChunk) {
                set_status(vcpu, Status::InvalidArgument);
                return true;
            }
            char bytes[hvc::kConsoleChunk];
            for (unsigned i = 0; i < hvc::kConsoleChunk; ++i) bytes[i] = static_cast<char>(r.x[3 + i / 8] >> (8 * (i % 8)));
            console_line_write(p, bytes, r.x[2]);
            set_status(vcpu, Status::Ok);
            return true;
        }
        case hvc::Function::PartitionInfo:
            set_status(vcpu, Status::Ok);
            r.x[1] = p.index;
            r.x[2] = vcpu.index;
            r.x[3] = p.vcpu_count;
            r.x[4] = p.restarts;
            r.x[5] = p.cspace_root.type == ObjectType::CNode ? p.cspace_root.size_bits : 0;
            return true;
        default: break;  // the capability calls were dispatched above
    }
    set_status(vcpu, Status::NotSupported);
    return true;
}

}  // namespace bh
