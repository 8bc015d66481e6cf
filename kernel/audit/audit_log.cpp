#include <arch/arch.hpp>
#include <audit/audit_log.hpp>
#include <bulkhead/hypercall.hpp>
#include <lib/format.hpp>
#include <partition/partition.hpp>

namespace bh::audit {

namespace {

// Seqlock stamps: odd while an entry is written, even (and non-zero) once it is complete.
constexpr u64 writing(u64 sequence) { return 2 * (sequence + 1) + 1; }
constexpr u64 complete(u64 sequence) { return 2 * (sequence + 1); }

}  // namespace

u64 Ring::record(unsigned core, Event event, u8 detail, u32 partition_plus1, u64 a, u64 b, u64 time) {
    if (core >= platform::kMaxCores) return 0;  // core numbers come from the kernel, never a guest
    CoreRing& r = cores_[core];
    // Publish a lower bound of our sequence before taking it, so that a reader that finds this
    // core idle knows that any sequence below the head it read is complete or overwritten.
    r.claim.store(head_.load(Order::SeqCst) + 1, Order::SeqCst);
    const u64 sequence = head_.fetch_add(1, Order::SeqCst);
    const u64 count = r.count.load_relaxed();
    Slot& slot = r.slots[count % kPerCore];
    slot.stamp.store_relaxed(writing(sequence));
    fence(Order::Release);
    slot.time.store_relaxed(time);
    Entry e{sequence, time, event, detail, static_cast<u8>(core), 0, partition_plus1, a, b};
    slot.header.store_relaxed(pack_header(e));
    slot.a.store_relaxed(a);
    slot.b.store_relaxed(b);
    slot.stamp.store(complete(sequence));
    r.count.store(count + 1);
    r.claim.store(0, Order::SeqCst);
    return sequence;
}

ReadResult Ring::read(u64 cursor) const {
    ReadResult out{Status::NotFound, {}, cursor, 0, 0};
    // Head first, then the claims: a sequence below `bound` was taken by a core whose claim we
    // see, or by one that has finished writing it.
    u64 bound = head_.load(Order::SeqCst);
    for (const CoreRing& r : cores_) {
        const u64 claim = r.claim.load(Order::SeqCst);
        if (claim != 0 && claim - 1 < bound) bound = claim - 1;
    }
    bool found = false;
    for (const CoreRing& r : cores_) {
        const u64 count = r.count.load();
        out.overwritten += count > kPerCore ? count - kPerCore : 0;
        for (const Slot& slot : r.slots) {
            const u64 stamp = slot.stamp.load();
            if (stamp == 0 || (stamp & 1) != 0) continue;
            const u64 sequence = stamp / 2 - 1;
            if (sequence < cursor || sequence >= bound || (found && sequence >= out.entry.sequence)) continue;
            const u64 time = slot.time.load_relaxed(), header = slot.header.load_relaxed(), a = slot.a.load_relaxed(),
                      b = slot.b.load_relaxed();
            fence(Order::Acquire);
            if (slot.stamp.load_relaxed() != stamp) continue;  // overwritten while we copied it
            out.entry = Entry{sequence,
                              time,
                              static_cast<Event>(header & 0xff),
                              static_cast<u8>(header >> 8),
                              static_cast<u8>(header >> 16),
                              0,
                              static_cast<u32>(header >> 32),
                              a,
                              b};
            found = true;
        }
    }
    if (found) {
        out.status = Status::Ok;
        out.lost = out.entry.sequence - cursor;
        out.next = out.entry.sequence + 1;
    } else if (cursor < bound) {
        out.lost = bound - cursor;  // every one of them complete and overwritten since
        out.next = bound;
    }
    return out;
}

void Ring::clear() {
    head_.store(0);
    for (CoreRing& r : cores_) {
        r.claim.store(0);
        r.count.store(0);
        for (Slot& slot : r.slots) {
            slot.stamp.store(0);
            slot.time.store(0);
            slot.header.store(0);
            slot.a.store(0);
            slot.b.store(0);
        }
    }
}

// ---------------------------------------------------------------------------- the kernel's log

namespace {

Ring g_ring;
Atomic<u64> g_refusals[manifest::kMaxPartitions];  // per partition index, for the console echo's limit

bool echo_refusal(u32 partition_index) {
    if (partition_index >= manifest::kMaxPartitions) return false;
    const u64 n = g_refusals[partition_index].add_fetch(1);
    return n <= 4 || (n & (n - 1)) == 0;
}

void echo(u64 sequence, unsigned core, Event event, const Partition* p, const char* what, u64 a, u64 b,
          u64 refusals = 0) {
    LineBuffer line;
    line.put("audit #");
    line.put(sequence);
    line.put(" core ");
    line.put(static_cast<u64>(core));
    line.put(": ");
    line.put(event_name(event));
    if (p != nullptr) {
        line.put(" '");
        line.put(p->name);
        line.put('\'');
    }
    if (what != nullptr) {
        line.put(' ');
        line.put(what);
    }
    line.put(" a=");
    line.put(Hex{a});
    line.put(" b=");
    line.put(Hex{b});
    if (refusals != 0) {
        line.put(" (refusal ");
        line.put(refusals);
        line.put(" of this partition)");
    }
    log_line(line);
}

u32 plus1(const Partition& p) { return p.index.raw() + 1; }

}  // namespace

Ring& log() { return g_ring; }

void reset() {
    g_ring.clear();
    for (Atomic<u64>& n : g_refusals) n.store(0);
}

bool is_refusal(u64 fid, u64 result) {
    const i64 r = static_cast<i64>(result);
    if (r >= 0) return false;
    if (fid == static_cast<u64>(hvc::Function::CapRevoke) && r == static_cast<i64>(Status::Busy)) return false;
    if (fid == static_cast<u64>(hvc::Function::AuditRead) && r == static_cast<i64>(Status::NotFound)) return false;
    // PSCI_FEATURES answers "not implemented" about the function it is asked of: an answer, not
    // a refusal of the call (Linux asks it of functions it may not use at every boot).
    if (fid == hvc::psci::kFeatures && r == hvc::psci::kNotSupported) return false;
    return true;
}

CallClass call_class(u64 fid) {
    using F = hvc::Function;
    if ((fid & ~0x1full) == 0x8400'0000 || (fid & ~0x1full) == 0xC400'0000) return CallClass::Psci;
    switch (static_cast<F>(fid)) {
        case F::AbiVersion:
        case F::ConsoleWrite:
        case F::PartitionInfo: return CallClass::Info;
        case F::CapIdentify:
        case F::CapCopy:
        case F::CapMint:
        case F::CapMove:
        case F::CapDelete:
        case F::CapRevoke: return CallClass::Capability;
        case F::FrameMap:
        case F::FrameUnmap: return CallClass::Memory;
        case F::NotificationSignal:
        case F::NotificationWait:
        case F::NotificationPoll: return CallClass::Notification;
        case F::PartitionStop:
        case F::PartitionRestart: return CallClass::Control;
        case F::IrqBind:
        case F::IrqAck:
        case F::IrqUnbind: return CallClass::Interrupt;
        case F::AuditRead: return CallClass::Audit;
        case F::DmaStreamBind:
        case F::DmaStreamUnbind: return CallClass::Dma;
        case F::MmioReply:
        case F::MmioRaise: return CallClass::Forward;
    }
    return CallClass::Unknown;
}

const char* event_name(Event e) {
    switch (e) {
        case Event::FaultContained: return "fault contained";
        case Event::CallRefused: return "call refused";
        case Event::PartitionStopped: return "partition stopped";
        case Event::PartitionRestarted: return "partition restarted";
        case Event::ManifestRejected: return "manifest rejected";
        case Event::Sealed: return "sealed";
        case Event::SmmuEvent: return "SMMU event";
    }
    return "unknown event";
}

const char* call_class_name(CallClass c) {
    switch (c) {
        case CallClass::Unknown: return "unknown function";
        case CallClass::Info: return "info";
        case CallClass::Capability: return "capability";
        case CallClass::Memory: return "memory";
        case CallClass::Notification: return "notification";
        case CallClass::Control: return "control";
        case CallClass::Interrupt: return "interrupt";
        case CallClass::Psci: return "PSCI";
        case CallClass::Audit: return "audit";
        case CallClass::Dma: return "DMA";
        case CallClass::Forward: return "forwarded MMIO";
    }
    return "unknown class";
}

void fault_contained(const Partition& p, unsigned core, u8 exit_kind, u64 esr, u64 ipa) {
    const u64 s = g_ring.record(core, Event::FaultContained, exit_kind, plus1(p), esr, ipa, arch::counter_now());
    echo(s, core, Event::FaultContained, &p, nullptr, esr, ipa);
}

void call_refused(const Partition& p, unsigned core, u64 function_id, u64 result) {
    const CallClass c = call_class(function_id);
    const u64 s = g_ring.record(core, Event::CallRefused, static_cast<u8>(c), plus1(p), function_id, result,
                                arch::counter_now());
    if (echo_refusal(p.index.raw())) echo(s, core, Event::CallRefused, &p, call_class_name(c), function_id, result,
                                    g_refusals[p.index.raw()].load_relaxed());
}

void partition_down(const Partition& p, unsigned core, bool restart, u8 reason, u64 restarts) {
    const Event e = restart ? Event::PartitionRestarted : Event::PartitionStopped;
    const u64 s = g_ring.record(core, e, reason, plus1(p), restarts, 0, arch::counter_now());
    echo(s, core, e, &p, nullptr, restarts, 0);
}

void manifest_rejected(unsigned core, u64 op_index, Status status) {
    const u64 b = static_cast<u64>(static_cast<i64>(status));
    const u64 s = g_ring.record(core, Event::ManifestRejected, 0, 0, op_index, b, arch::counter_now());
    echo(s, core, Event::ManifestRejected, nullptr, status_name(status), op_index, b);
}

void sealed(unsigned core, u32 partitions) {
    const u64 s = g_ring.record(core, Event::Sealed, 0, 0, partitions, 0, arch::counter_now());
    echo(s, core, Event::Sealed, nullptr, nullptr, partitions, 0);
}

void smmu_fault(const Partition* p, unsigned core, u32 stream, u64 address, bool write) {
    const u64 s = g_ring.record(core, Event::SmmuEvent, write ? 1 : 0, p != nullptr ? plus1(*p) : 0, stream, address,
                                arch::counter_now());
    echo(s, core, Event::SmmuEvent, p, write ? "write" : "read", stream, address);
}

}  // namespace bh::audit
