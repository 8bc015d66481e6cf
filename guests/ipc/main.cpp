// Test guest for channels and notifications (config/tests/ipc.dts, tests/qemu/ipc.expect). One
// image, two roles chosen by the boot argument: 1 = producer, 2 = consumer. Both CSpace roots
// hold, as bhcc lays them out (check with bhcc --dump):
//   1 = its own CNode, 2 and 3 = the two 2 MiB frames of its RAM,
//   4 = the channel `ch0` (4 KiB): producer Read|Write (a writer), consumer Read (a reader),
//   5 = the notification `doorbell`: producer Write, badge 1 (its first signaller); consumer Read,
//   6 = the notification `ack`: producer Read; consumer Write, badge 1.
// Each maps the channel at IPA 0x5000_0000 itself (bhcc makes no boot mapping of a channel).
// For five rounds the producer writes "msg k" and the sequence number k into the channel, rings
// the doorbell and waits for the ack; the consumer waits, reads, prints what it got, acks.
// Then each tries what its caps do not allow and must be refused with Denied (-3): the consumer
// maps the channel writable and signals the doorbell through its Read cap, the producer polls
// the doorbell through its Write cap.
//
// The MMU is off (Device memory, -mstrict-align): the channel is touched only with naturally
// aligned volatile accesses, and a dsb orders the message before the doorbell.
#include <console.hpp>
#include <hypercall.hpp>

using namespace bh::rt;
using bh::i64;
using bh::u64;
using bh::u8;

namespace {

constexpr u64 kRoleProducer = 1;
constexpr u64 kRoleConsumer = 2;

// CSpace indices (config/tests/ipc.dts).
constexpr u64 kChannel = 4;
constexpr u64 kDoorbell = 5;
constexpr u64 kAck = 6;

constexpr u64 kChannelIpa = 0x5000'0000;
constexpr u64 kRounds = 5;

// The message layout in the channel: sequence number, text length, text (no NUL).
constexpr u64 kSequenceOffset = 0;
constexpr u64 kLengthOffset = 8;
constexpr u64 kTextOffset = 16;
constexpr u64 kMaxText = 32;

volatile u64& word_at(u64 offset) { return *reinterpret_cast<volatile u64*>(kChannelIpa + offset); }
volatile u8& byte_at(u64 offset) { return *reinterpret_cast<volatile u8*>(kChannelIpa + offset); }

void barrier() { asm volatile("dsb sy" ::: "memory"); }

// "msg <k>" into `out` (at least 24 bytes); returns its length.
u64 compose(u64 k, char* out) {
    const char prefix[] = "msg ";
    u64 length = 0;
    for (const char* p = prefix; *p != '\0'; ++p) out[length++] = *p;
    char digits[20];
    u64 count = 0;
    do {
        digits[count++] = static_cast<char>('0' + k % 10);
        k /= 10;
    } while (k != 0);
    while (count != 0) out[length++] = digits[--count];
    return length;
}

void show_cap(const char* what, u64 cptr) {
    const CapInfo cap = cap_identify(cptr);
    print(what, " cap ", cptr, ": status ", cap.status, " type ", cap.type, " rights ", cap.rights, " badge ",
          cap.badge, " size_bits ", cap.size_bits, "\n");
}

void show_caps() {
    show_cap("channel", kChannel);
    show_cap("doorbell", kDoorbell);
    show_cap("ack", kAck);
}

void producer() {
    show_caps();
    const i64 mapped = frame_map(kChannel, kChannelIpa, map_attr::kRead | map_attr::kWrite);
    print("map channel read-write at 0x50000000: status ", mapped, "\n");
    if (mapped != 0) return;
    for (u64 k = 1; k <= kRounds; ++k) {
        char text[kMaxText];
        const u64 length = compose(k, text);
        for (u64 i = 0; i < length; ++i) byte_at(kTextOffset + i) = static_cast<u8>(text[i]);
        word_at(kLengthOffset) = length;
        word_at(kSequenceOffset) = k;
        barrier();  // the message is in memory before the doorbell rings
        const i64 signalled = notification_signal(kDoorbell);
        if (signalled != 0) {
            print("signal doorbell ", k, ": status ", signalled, "\n");
            return;
        }
        const NotificationWord ack = notification_wait(kAck);
        print("ack ", k, ": status ", ack.status, " (badge ", ack.word, ")\n");
        if (ack.status != 0) return;
    }
    // The doorbell cap has Write only: waiting on it (or polling it) needs Read.
    print("poll doorbell through the signal cap: status ", notification_poll(kDoorbell).status, "\n");
}

void consumer() {
    show_caps();
    const i64 mapped = frame_map(kChannel, kChannelIpa, map_attr::kRead);
    print("map channel read-only at 0x50000000: status ", mapped, "\n");
    if (mapped != 0) return;
    for (u64 k = 1; k <= kRounds; ++k) {
        const NotificationWord rang = notification_wait(kDoorbell);
        if (rang.status != 0) {
            print("wait doorbell ", k, ": status ", rang.status, "\n");
            return;
        }
        barrier();
        const u64 sequence = word_at(kSequenceOffset);
        u64 length = word_at(kLengthOffset);
        if (length > kMaxText - 1) length = kMaxText - 1;
        char text[kMaxText];
        for (u64 i = 0; i < length; ++i) text[i] = static_cast<char>(byte_at(kTextOffset + i));
        text[length] = '\0';
        print("received ", sequence, ": ", static_cast<const char*>(text), " (badge ", rang.word, ")\n");
        const i64 acked = notification_signal(kAck);
        if (acked != 0) {
            print("signal ack ", k, ": status ", acked, "\n");
            return;
        }
    }
    // The channel cap has Read only: a writable mapping is refused. Unmapped first, so that only
    // the rights check can fail.
    print("unmap channel: status ", frame_unmap(kChannel), "\n");
    print("map channel read-write: status ", frame_map(kChannel, kChannelIpa, map_attr::kRead | map_attr::kWrite),
          "\n");
    // The doorbell cap has Read only: signalling the producer's doorbell is refused.
    print("signal doorbell through the wait cap: status ", notification_signal(kDoorbell), "\n");
}

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    if (boot_arg == kRoleProducer) {
        producer();
    } else if (boot_arg == kRoleConsumer) {
        consumer();
    } else {
        print("unknown role ", boot_arg, "\n");
    }
    print("done\n");
    system_off();
}
