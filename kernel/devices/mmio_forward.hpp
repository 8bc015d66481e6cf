// Forwarded MMIO (docs/isolation.md "Forwarded MMIO", docs/abi.md): a client partition's window
// whose loads and stores a server partition answers, the way Xen's ioreq or Bao's remote I/O
// forward a device's accesses to a device model outside the hypervisor. The kernel's part is
// small on purpose: decode the access (ISV syndromes only), hand it to the server, park the vCPU,
// validate the answer, complete the instruction. The device model is the server's.
//
// Locking: a vCPU's forward fields (Vcpu::forward_*) and the request page are guarded by the
// capability lock, as notifications are. The vCPU state machine is the notification wait's
// (partition/vcpu.hpp): Running -> Blocked on its own core; the answer (or the server going
// down) moves it Blocked -> Starting -> Runnable; a stop of the client moves it Blocked -> Off.
#pragma once

#include <arch/guest.hpp>
#include <bulkhead/status.hpp>
#include <caps/cap_lock.hpp>
#include <caps/capability.hpp>
#include <devices/mmio_forward_state.hpp>

namespace bh {

class Partition;
class PartitionTable;
struct FlowGraph;
struct Vcpu;

// --- boot (manifest op ForwardMmio): [base, base + size) of `client` is forwarded to `server`.
// `requests`: the Frame cap of the request page (at least 4 KiB); `doorbell`: a Notification cap
// with Write, signalled with `badge` (non-zero) for each request; `spi`: 0, or the client's
// virtual SPI for the device (client with a virtual GIC; an INTID of its distributor that is
// neither the UART's nor one the machine can assign to a partition, so it never meets a
// physical one). The window: page-aligned, non-empty, inside the IPA space, overlapping neither
// the client's mappings nor its emulated devices. At most one window per client.
[[nodiscard]] Outcome forward_configure(Partition& client, Partition& server, u64 base, u64 size, u32 spi,
                                        const Capability& requests, const Capability& doorbell, u64 badge);

enum class Forwarded { NotForwarded, Parked, Completed, Fault };
// A stage-2 data abort of `v` (exit path). NotForwarded: not in its window. Fault: in it, but
// without an instruction syndrome to complete it with (logged; the caller contains it as the
// partition's fault). Completed: the server is not running: a load reads forwarded::kNoDevice,
// a store is dropped, the guest continues. Parked: the request is in the page, the server's
// doorbell rung, `v` is Blocked and must not resume.
[[nodiscard]] Forwarded forward_access(Vcpu& v, const arch::GuestExit& exit);

// --- the server's calls: decode (everything checked, nothing changed), then invoke.
// MmioReply/MmioRaise through `cap`: the client partition it names when `cap` is a Partition cap
// with Write, the client forwards a window, and `caller` is its server (InvalidArgument: not a
// Partition cap; Denied: no Write, or not its server).
[[nodiscard]] Result<Partition*> forward_client_of(const PartitionTable& partitions, const Capability& cap,
                                                   const Partition& caller);
// The vCPU of `client` parked on request `sequence` (OutOfRange: no such vCPU; NotFound: it
// waits for no such request: answered, cancelled or never made).
[[nodiscard]] Result<Vcpu*> forward_check_reply(Partition& client, u64 vcpu, u64 sequence, const CapLockHeld&);
// Completes the parked access with `value` (a load's) and makes the vCPU runnable after it.
void forward_reply(Vcpu& v, u64 value, const CapLockHeld&);
// MmioRaise: NotSupported when the forward names no SPI.
[[nodiscard]] Status forward_check_raise(const Partition& client);
void forward_raise(Partition& client);

// INV-6: a forward is a flow both ways, of both kinds: the client's accesses reach the server
// (the request page, its doorbell), the server's answers reach the client (a load's value in
// its registers, the device's SPI). Part of live_flows, as audit_flows is.
void forward_flows(const PartitionTable& partitions, FlowGraph& out);

// --- life cycle: `p` is down (its take-down settled every vCPU). As a client: its vCPUs no
// longer wait for answers. As a server: every vCPU of its clients parked on it resumes as if no
// device had answered (forwarded::kNoDevice). Takes the capability lock.
void forward_partition_down(Partition& p);

}  // namespace bh
