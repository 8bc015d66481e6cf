// Hypercall sequences against the host-built kernel, with the invariant checker as the oracle.
//
// The system under test is built once through the same kernel operations the boot program
// uses: two partitions ("alpha", restart policy Restart, 2 vCPUs on cores 0-1; "beta", policy
// Stop, 1 vCPU on core 2, an OS guest: the debug and PMU registers of
// arch/aarch64/os_registers.hpp read as zero for it, so its trapped system register exits reach
// that code), each with a 4 KiB RAM frame, a CSpace holding its own CNode, spare frames (alpha
// holds a cap to a frame the boot program mapped into beta: alpha may not map it), a channel
// both hold and may map, a notification both can signal and only alpha waits on (one waiting partition per
// notification), Partition caps with Control (alpha controls beta, beta and itself, beta
// controls itself), a Vcpu cap of the other partition's vCPU and a device page (beta). Its
// private frames carry their partition's canary. Then it is snapshotted
// (the Kernel object and the simulated RAM it uses) and every input starts from a restored copy,
// which costs a few memcpy and zero checks instead of a rebuild.
//
// An input is a program (see docs/fuzzing.md "hypercall input format"): each step is one guest
// exit of one vCPU — a hypercall with its function picked from the real ABI (vendor calls,
// capability calls, PSCI), arguments drawn from biased pools (slot indices, IPAs near the mapped
// ranges, rights, attributes, badges, MPIDRs) or raw, or an IRQ/FIQ/SError/AArch32 exit, a
// stage-2 abort with a fuzzed syndrome, another trapped exception class, an HVC with a non-zero
// immediate. After every step (docs/fuzzing.md "What the oracle checks when"):
//   * if it may have changed the state, check_invariants_since(system, baseline) must report ok
//     (INV-1/2/4/5/6/7, STATE-1/2; of the boot CNode only the slots occupied in the snapshot),
//     and at the end of the input the full check_invariants(system);
//   * a resumed hypercall's x0 must be a Status value (or SMCCC unknown, or a PSCI result);
//   * a vCPU the kernel resumes must still be Running, one it parks must not be;
//   * the functional oracles (hypercall_oracle.hpp): the mirror's status and effect for the
//     simple capability and notification calls, no leaf reading another partition's canary,
//     a partition that (re)starts scrubbed.
// Any violation prints the report and traps.
// covers: T-5 T-11 T-15 T-45 T-46 T-49 T-57 T-58 T-65 T-66 T-74 INV-1 INV-2 INV-4 INV-5 INV-6 INV-7
#include <arch/host/host_memory.hpp>
#include <audit/audit_log.hpp>
#include <bulkhead/hypercall.hpp>
#include <bulkhead/platform.hpp>
#include <caps/cspace.hpp>
#include <calls/guest_exit.hpp>
#include <invariants/invariants.hpp>
#include <kernel.hpp>
#include <memory/frame_mapping.hpp>
#include <boot/boot_program.hpp>
#include <boot/manifest_reader.hpp>
#include <policy/seal.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <new>
#include <utility>

#include "fuzz_common.hpp"
#include "fuzz_oracle.hpp"
#include "hypercall_oracle.hpp"
#include "interleave.hpp"

using namespace bh;
namespace attr = bh::manifest::attr;

namespace {

constexpr u64 kKiB = 1024, kMiB = 1024 * kKiB;
constexpr u64 kGuestRam = platform::kGuestRamIpa;
constexpr u64 kRwx = attr::kRead | attr::kWrite | attr::kExecute;
constexpr u64 kRw = attr::kRead | attr::kWrite;
constexpr u64 kBetaFrameIpa = 0x5000'0000;  // in the IPA pool: where the seeds map too
constexpr u64 kFramePa = 0x4800'0000;  // frames are carved from here upwards
constexpr u64 kDevicePa = 0x0901'0000;  // the RTC page: the one assignable device on the board

using F = hvc::Function;
struct FunctionInfo {
    u64 id;
    unsigned args;  // x1.. that the step supplies (the rest are zero)
};
// Every function of the ABI (bulkhead/hypercall.hpp) and PSCI; keep in sync with docs/abi.md.
constexpr FunctionInfo kFunctions[] = {
    {static_cast<u64>(F::AbiVersion), 1},         {static_cast<u64>(F::ConsoleWrite), 7},
    {static_cast<u64>(F::PartitionInfo), 1},      {static_cast<u64>(F::CapIdentify), 1},
    {static_cast<u64>(F::CapCopy), 2},            {static_cast<u64>(F::CapMint), 4},
    {static_cast<u64>(F::CapMove), 2},            {static_cast<u64>(F::CapDelete), 1},
    {static_cast<u64>(F::CapRevoke), 1},          {static_cast<u64>(F::FrameMap), 3},
    {static_cast<u64>(F::FrameUnmap), 1},         {static_cast<u64>(F::NotificationSignal), 1},
    {static_cast<u64>(F::NotificationWait), 1},   {static_cast<u64>(F::NotificationPoll), 1},
    {static_cast<u64>(F::PartitionStop), 1},      {static_cast<u64>(F::PartitionRestart), 1},
    {hvc::psci::kVersion, 0},                     {hvc::psci::kCpuOff, 0},
    {hvc::psci::kCpuOn, 3},                       {hvc::psci::kAffinityInfo, 2},
    {hvc::psci::kSystemOff, 0},                   {hvc::psci::kSystemReset, 0},
    {hvc::psci::kFeatures, 1},                    {static_cast<u64>(F::IrqBind), 3},
    {static_cast<u64>(F::IrqAck), 1},             {static_cast<u64>(F::IrqUnbind), 1},
    {static_cast<u64>(F::AuditRead), 2},          {static_cast<u64>(F::DmaStreamBind), 1},
    {static_cast<u64>(F::DmaStreamUnbind), 1},    {static_cast<u64>(F::MmioReply), 4},
    {static_cast<u64>(F::MmioRaise), 1},
};
constexpr unsigned kFunctionCount = sizeof kFunctions / sizeof kFunctions[0];

// Value pools for arguments: what reaches deep paths rather than the first range check.
constexpr u64 kSlots[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 100, 254, 255, 256, 257, 1ull << 32, ~0ull};
constexpr u64 kIpas[] = {kGuestRam,          kGuestRam + 0x1000,  kGuestRam + 2 * kMiB, 0x5000'0000,
                         0x5000'1000,        0x5020'0000,         0x5000'0800,          kDevicePa,
                         0,                  0x1000,              kGuestRam - 0x1000,   0x8000'0000,
                         (1ull << 40) - 0x1000, 1ull << 40,       ~0ull & ~0xfffull,    platform::kObjectMemoryBase};
constexpr u64 kSpecials[] = {0, 1, 2, 3, 0x10000, 0x8000'0000ull, 0x7fff'ffff'ffff'ffffull, 0x8000'0000'0000'0000ull,
                             ~0ull, 0x100, 0xC600'0000ull, 0x8400'0000ull, kGuestRam + 0x80, kGuestRam + 2};
constexpr u32 kEsrClasses[] = {0x00, 0x01, 0x07, 0x0e, 0x15, 0x16, 0x17, 0x18, 0x20,
                               0x21, 0x22, 0x24, 0x25, 0x26, 0x2f, 0x30, 0x32, 0x34, 0x3c, 0x3f};

// One argument: the top 3 bits of a byte pick the pool, the low 5 bits the element.
u64 arg(fuzz::Bytes& in) {
    const u8 b = in.u8();
    const u8 low = b & 31;
    switch (b >> 5) {
        case 0: return low;  // small numbers: slots, counts, rights, attributes
        case 1: return kSlots[low % (sizeof kSlots / sizeof kSlots[0])];
        case 2: return kIpas[low % (sizeof kIpas / sizeof kIpas[0])];
        case 3: return kIpas[low % (sizeof kIpas / sizeof kIpas[0])] + (static_cast<u64>(in.u8()) << 12);
        case 4: return kSpecials[low % (sizeof kSpecials / sizeof kSpecials[0])];
        case 5: return in.u64();
        case 6: return static_cast<u64>(low) | (static_cast<u64>(in.u8()) << 5);  // 13-bit: past radix
        default: return in.u32();
    }
}

// ---- the system, built once and snapshotted ----------------------------------------------
struct Range {
    u64 pa;
    u64 size;
};

struct World {
    alignas(Kernel) unsigned char storage[sizeof(Kernel)];
    alignas(Kernel) unsigned char saved[sizeof(Kernel)];
    Kernel* system = nullptr;
    Partition* alpha = nullptr;
    Partition* beta = nullptr;
    u32 next_slot = manifest::kFirstFreeBootSlot;
    std::vector<Range> ranges;
    // Every partition and every bound vCPU, in partition order (the steps' vCPU numbers).
    std::vector<Partition*> parts;
    std::vector<Vcpu*> vcpus;
    std::vector<u8> manifest;  // BH_FUZZ_MANIFEST's bytes: the images' bytes stay here
    unsigned char* ram_saved = nullptr;
    u64 ram_saved_size = 0;
    // The snapshot's RAM as runs of 64-byte lines that are all zero or not: most of the object
    // memory (CNode slots, table pool, object padding) is zero and stays so, and checking that
    // reads half the bytes a copy moves and dirties nothing.
    struct Segment {
        unsigned char* at;         // in simulated RAM
        const unsigned char* from;  // in ram_saved; nullptr: zero in the snapshot
        u64 size;
    };
    Segment* segments = nullptr;
    unsigned segment_count = 0;
    // The boot CNode's occupied slots in the snapshot, which every input starts from: the
    // checks after each step read only those boot slots (check_invariants_since).
    InvariantBaseline baseline;
    // The end-of-input check (equal to the full check): the baseline's occupied boot slots plus
    // every slot below first_protected; the boot CNode's pages from first_protected on are
    // read-only (mprotect), so nothing can write a cap there without a fault, a finding.
    InvariantBaseline end_baseline;
    u32 first_protected = manifest::kBootSlots;
};
World world;

[[noreturn]] void setup_failed(const char* what, const char* why = "") {
    std::fprintf(stderr, "fuzz_hypercall: setup: %s (%s)\n", what, why);
    std::abort();
}
void must(const Outcome& o, const char* what) {
    if (!o.ok()) setup_failed(what, o.reason());
}
// Setup runs alone: build() holds the capability lock only for the witness the capability
// operations ask for, while it makes caps.
const CapLockHeld* g_held = nullptr;
const CapLockHeld& held() { return *g_held; }

u32 slot() { return world.next_slot++; }
constexpr BootSlot kObjects{manifest::kKernelUntypedSlot};
Outcome grant(u32 source, Partition& p, u64 index, Rights mask) {
    return world.system->boot.grant_cap(BootSlot(source), p, index, mask, 0, held());
}

u32 partition(const char* name, u32 vcpus, manifest::RestartPolicy policy, u64 flags = 0) {
    Kernel& s = *world.system;
    const u32 ps = slot(), cs = slot();
    must(s.boot.retype(kObjects, ObjectType::Partition, 16, BootSlot(ps), 1, s, held()), "retype partition");
    must(s.boot.retype(kObjects, ObjectType::CNode, PartitionTable::kCSpaceRadix, BootSlot(cs), 1, s, held()), "retype cnode");
    must(s.partitions.create(s.boot, BootSlot(ps), BootSlot(cs), name, policy, vcpus, flags, held()), "create partition");
    return ps;
}

u64 next_frame_pa = kFramePa;
u32 frame(unsigned bits, bool snapshot) {
    Kernel& s = *world.system;
    const u64 size = 1ull << bits;
    next_frame_pa = (next_frame_pa + size - 1) & ~(size - 1);
    const u64 pa = next_frame_pa;
    next_frame_pa += size;
    const u32 us = slot(), fs = slot();
    must(s.boot.create_untyped(BootSlot(us), PhysAddr(pa), bits, false), "untyped");
    must(s.boot.retype(BootSlot(us), ObjectType::Frame, bits, BootSlot(fs), 1, s, held()), "retype frame");
    if (snapshot) world.ranges.push_back({pa, size});
    return fs;
}

CapSlot& at(u32 s) { return *world.system->boot.slot(BootSlot(s)); }

void* ram(u64 pa) { return static_cast<u8*>(host::ram_base_pointer()) + (pa - platform::kRamBase); }

const u8 kImage[] = {0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x00, 0x14};  // nop; b .

void build() {
    host::reset_all();
    world.system = new (world.storage) Kernel();
    Kernel& s = *world.system;
    auto* lock = new CapLockGuard(cap_lock);  // released before seal, below
    g_held = &lock->held();
    must(s.init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores), "init");
    const Rights rwg = Rights::read() | Rights::write() | Rights::grant();
    const Rights all = Rights::from_bits(Rights::kAllBits);

    const u32 a = partition("alpha", 2, manifest::RestartPolicy::Restart);
    const u32 b = partition("beta", 1, manifest::RestartPolicy::Stop, manifest::partition_flag::kOsGuest);
    Partition& pa = *s.partitions.in_slot(s.boot, BootSlot(a));
    Partition& pb = *s.partitions.in_slot(s.boot, BootSlot(b));
    world.alpha = &pa;
    world.beta = &pb;

    // RAM: one 4 KiB frame each at the guest RAM IPA, with a tiny image.
    must(map_frame(pa, at(frame(12, true)), Ipa(kGuestRam), MapAttributes::from_bits(kRwx)), "map alpha ram");
    must(map_frame(pb, at(frame(12, true)), Ipa(kGuestRam), MapAttributes::from_bits(kRwx)), "map beta ram");
    must(s.partitions.load_image(pa, Ipa(kGuestRam), kImage, sizeof kImage), "load alpha");
    must(s.partitions.load_image(pb, Ipa(kGuestRam), kImage, sizeof kImage), "load beta");

    // CSpaces. Slot 1: its own CNode. 2, 3, 4 (alpha): spare 4 KiB frames. 4 (beta): the
    // device page (beta). 5 (alpha): a frame the boot program mapped into beta at kBetaFrameIpa
    // (a frame's caps are in one partition, seal's frames_unshared; the boot cap's mapping is
    // beta's for good, so alpha's FrameMap of it is refused, always). 5 (beta), 10 (alpha): a
    // 4 KiB channel. 6: the notification. 7: a Partition cap with Control (alpha: beta; beta:
    // itself). 8: alpha's own Partition cap. 9: an IrqHandler cap with Control (alpha: the
    // RTC's SPI 34; beta: the GPIO's SPI 39).
    must(grant(a + 1, pa, 1, all), "grant alpha cnode");
    must(grant(b + 1, pb, 1, all), "grant beta cnode");
    must(grant(frame(12, true), pa, 2, all), "alpha frame 2");
    must(grant(frame(12, true), pa, 3, rwg), "alpha frame 3");
    must(grant(frame(12, true), pb, 2, all), "beta frame 2");
    must(grant(frame(12, true), pb, 3, Rights::read() | Rights::grant()), "beta frame 3");
    must(grant(frame(12, true), pa, 4, all), "alpha frame 4");
    const u32 du = slot(), dp = slot();
    must(s.boot.create_untyped(BootSlot(du), PhysAddr(kDevicePa), 12, true), "device untyped");
    must(s.boot.retype(BootSlot(du), ObjectType::DeviceMmio, 12, BootSlot(dp), 1, s, held()), "device page");
    must(grant(dp, pb, 4, rwg), "beta device");
    const u32 betas = frame(12, true);
    must(map_frame(pb, at(betas), Ipa(kBetaFrameIpa), MapAttributes::from_bits(kRw)), "map beta's frame");
    must(grant(betas, pa, 5, all), "alpha: beta's frame");
    const u32 cu = slot(), channel = slot();
    next_frame_pa = (next_frame_pa + 0xfff) & ~0xfffull;
    must(s.boot.create_untyped(BootSlot(cu), PhysAddr(next_frame_pa), 12, false), "channel untyped");
    must(s.boot.retype(BootSlot(cu), ObjectType::Channel, 12, BootSlot(channel), 1, s, held()), "retype channel");
    world.ranges.push_back({next_frame_pa, 0x1000});
    next_frame_pa += 0x1000;
    must(grant(channel, pb, 5, rwg), "beta channel");
    must(grant(channel, pa, 10, all), "alpha channel");
    const u32 ntfn = slot();
    must(s.boot.retype(kObjects, ObjectType::Notification, 0, BootSlot(ntfn), 1, s, held()), "notification");
    must(grant(ntfn, pa, 6, all), "alpha notification");
    // Beta may only signal it: one waiting partition per notification (seal's rule).
    must(grant(ntfn, pb, 6, Rights::write() | Rights::grant()), "beta notification");
    must(grant(b, pa, 7, Rights::control() | Rights::grant()), "alpha controls beta");
    must(grant(b, pb, 7, Rights::control()), "beta controls itself");
    must(grant(a, pa, 8, Rights::control()), "alpha controls itself");
    const u32 rtc_irq = slot(), gpio_irq = slot();
    must(s.boot.create_irq_handler(BootSlot(rtc_irq), 34, s.interrupts), "rtc irq handler");
    must(s.boot.create_irq_handler(BootSlot(gpio_irq), 39, s.interrupts), "gpio irq handler");
    must(grant(rtc_irq, pa, 9, Rights::control() | Rights::grant()), "alpha rtc irq");
    must(grant(gpio_irq, pb, 9, Rights::control()), "beta gpio irq");

    // Both may write the channel (and beta's frame reaches alpha's cap), beta may signal alpha: declare those flows (INV-6),
    // so that seal accepts them and the checker flags any flow beyond them.
    for (Partition* from : {&pa, &pb}) {
        Partition& to = from == &pa ? pb : pa;
        must(s.flows.declare(s.partitions, *from, to, manifest::FlowKind::Memory), "declare memory flow");
    }
    must(s.flows.declare(s.partitions, pb, pa, manifest::FlowKind::Signal), "declare signal flow");

    const u32 vcpus = slot();
    slot();
    slot();
    must(s.boot.retype(kObjects, ObjectType::Vcpu, 0, BootSlot(vcpus), 3, s, held()), "vcpu objects");
    // 11: a Vcpu cap of the other partition's vCPU (alpha: beta's vCPU 0; beta: alpha's vCPU 1).
    // No call invokes a Vcpu cap; they are caps to copy, mint, move and delete (the last one of a
    // bound vCPU is refused: the kernel uses the object for good).
    must(grant(vcpus + 2, pa, 11, all), "alpha: beta's vcpu");
    must(grant(vcpus + 1, pb, 11, all), "beta: alpha's vcpu 1");
    g_held = nullptr;
    delete lock;
    must(s.cores.bind(s.boot, pa, BootSlot(vcpus), VcpuIndex(0), CoreId(0)), "bind alpha 0");
    must(s.cores.bind(s.boot, pa, BootSlot(vcpus + 1), VcpuIndex(1), CoreId(1)), "bind alpha 1");
    must(s.cores.bind(s.boot, pb, BootSlot(vcpus + 2), VcpuIndex(0), CoreId(2)), "bind beta");
    must(s.partitions.set_entry(pa, VcpuIndex(0), kGuestRam, 1), "entry alpha");
    must(s.partitions.set_entry(pb, VcpuIndex(0), kGuestRam, 2), "entry beta");
    must(seal(s), "seal");
    world.parts = {&pa, &pb};
    world.vcpus = {&pa.vcpus[0], &pa.vcpus[1], &pb.vcpus[0]};
}

// BH_FUZZ_MANIFEST=<file>: the world is what the boot program builds from a packed manifest
// (bhcc's --manifest output, e.g. build/images/caps.manifest.bin), the boot program the kernel
// runs at boot, seal included. Every Frame and Channel the boot CNode holds is snapshotted.
void build_from_manifest(const char* path) {
    FILE* f = std::fopen(path, "rb");
    if (f == nullptr) setup_failed("BH_FUZZ_MANIFEST", path);
    u8 buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) world.manifest.insert(world.manifest.end(), buffer, buffer + n);
    std::fclose(f);
    host::reset_all();
    world.system = new (world.storage) Kernel();
    Kernel& s = *world.system;
    must(s.init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores), "init");
    static ManifestReader reader;  // the images' bytes are read from the manifest on every restart
    if (reader.open(world.manifest.data(), world.manifest.size()) != Status::Ok) setup_failed("manifest", reader.error().reason);
    const BootResult booted = run_boot_program(s, reader);
    if (!booted.ok()) setup_failed("boot program", booted.outcome.reason());
    const CapSlot* boot = caps::cnode_slots(s.boot.cnode().cap);
    for (u32 k = 0; k < manifest::kBootSlots; ++k) {
        const Capability& c = boot[k].cap;
        if (c.type != ObjectType::Null) world.next_slot = k + 1;
        if (c.type != ObjectType::Frame && c.type != ObjectType::Channel) continue;
        bool seen = false;
        for (const Range& r : world.ranges) seen = seen || r.pa == c.object;
        if (!seen) world.ranges.push_back({c.object, c.object_size()});
    }
    s.partitions.for_each([&](Partition& p) {
        world.parts.push_back(&p);
        for (u32 v = 0; v < p.vcpu_count; ++v)
            if (p.vcpus.bound(v)) world.vcpus.push_back(&p.vcpus[v]);
    });
    if (world.vcpus.empty()) setup_failed("manifest", "no vCPU");
}

void snapshot() {
    Kernel& s = *world.system;
    if (!check_invariants(s, world.baseline).ok()) setup_failed("invariants after seal");

    // Each partition's data in its frames (hypercall_oracle.hpp): the canary of the partition
    // that holds an unmapped frame's cap, then of the partition a mapped frame is mapped into.
    for (Partition* p : world.parts)
        for_each_cspace_cap(*p, [&](const Capability& c) {
            if (c.type == ObjectType::Frame && !c.mapped()) fuzz::oracle::fill_canary(c.object, c.object_size(), p->index.raw());
        });
    for (Partition* p : world.parts)
        for (u32 r = 0; r < p->region_count; ++r)
            if (p->regions[r].is_private_ram())
                fuzz::oracle::fill_canary(p->regions[r].pa.raw(), p->regions[r].size, p->index.raw());

    // Snapshot: the boot CNode's used slots, the object memory handed out so far, the frames.
    world.ranges.push_back({platform::kBootCNodeBase, static_cast<u64>(world.next_slot + 1) * sizeof(CapSlot)});
    // Object memory, except the free part of each partition's table pool: pages handed out
    // from it during an input are free again once the pool's watermark (in the partition
    // object) is restored, and ObjectMemory::allocate zeroes a page when it hands it out.
    const BootSpace::ObjectMemoryView om = s.boot.object_memory();
    std::vector<Range> skip;
    for (const Partition* p : world.parts)
        skip.push_back({p->table_pool.base().raw() + p->table_pool.used(), p->table_pool.size() - p->table_pool.used()});
    std::sort(skip.begin(), skip.end(), [](const Range& x, const Range& y) { return x.pa < y.pa; });
    u64 from = om.base.raw();
    for (const Range& r : skip) {
        if (r.pa < from || r.pa + r.size > om.base.raw() + om.used) setup_failed("table pool outside object memory");
        if (r.pa > from) world.ranges.push_back({from, r.pa - from});
        from = r.pa + r.size;
    }
    if (om.base.raw() + om.used > from) world.ranges.push_back({from, om.base.raw() + om.used - from});
    for (const Range& r : world.ranges) world.ram_saved_size += r.size;
    world.ram_saved = static_cast<unsigned char*>(std::malloc(world.ram_saved_size));
    u64 off = 0;
    for (unsigned i = 0; i < world.ranges.size(); ++i) {
        std::memcpy(world.ram_saved + off, ram(world.ranges[i].pa), world.ranges[i].size);
        off += world.ranges[i].size;
    }
    std::memcpy(static_cast<void*>(world.saved), static_cast<const void*>(world.storage), sizeof(Kernel));

    // After seal nothing addresses the boot CNode but its occupied slots (their derivation
    // links): write-protect its pages past the occupied ones. A write there (a kernel bug) is an
    // access fault, which the engine reports as a finding; the end-of-input check then reads the
    // slots below those pages (the occupied ones and their empty neighbours) instead of all
    // 4096, with the same result as the full check (docs/fuzzing.md "What the oracle checks when").
    constexpr u64 kSlotsPerPage = kPageSize / sizeof(CapSlot);
    // Past every occupied slot and past what restore() copies back (next_slot + 1 slots).
    u64 end = u64{world.next_slot} + 1;
    for (u32 k = 0; k < world.baseline.occupied_count; ++k)
        if (world.baseline.occupied[k] + 1ull > end) end = world.baseline.occupied[k] + 1ull;
    world.first_protected = static_cast<u32>(align_up(end, kSlotsPerPage));
    if (world.first_protected < manifest::kBootSlots) {
        const u64 from = platform::kBootCNodeBase + u64{world.first_protected} * sizeof(CapSlot);
        if (mprotect(ram(from), (manifest::kBootSlots - world.first_protected) * sizeof(CapSlot), PROT_READ) != 0)
            setup_failed("mprotect of the boot CNode's empty pages");
    }
    world.end_baseline.boot_slots = world.baseline.boot_slots;
    world.end_baseline.boot_count = world.baseline.boot_count;
    for (u32 k = 0; k < world.first_protected; ++k) world.end_baseline.occupied[world.end_baseline.occupied_count++] = k;
    for (u32 k = 0; k < world.baseline.occupied_count; ++k)
        if (world.baseline.occupied[k] >= world.first_protected)
            world.end_baseline.occupied[world.end_baseline.occupied_count++] = world.baseline.occupied[k];

    constexpr u64 kLine = 64;
    world.segments = static_cast<World::Segment*>(std::malloc(sizeof(World::Segment) * (world.ram_saved_size / kLine + 1)));
    off = 0;
    for (unsigned i = 0; i < world.ranges.size(); ++i) {
        for (u64 o = 0; o < world.ranges[i].size; o += kLine) {
            const u64 n = world.ranges[i].size - o < kLine ? world.ranges[i].size - o : kLine;
            const unsigned char* from = world.ram_saved + off + o;
            bool zero = true;
            for (u64 k = 0; k < n; ++k) zero = zero && from[k] == 0;
            World::Segment* last = world.segment_count != 0 ? &world.segments[world.segment_count - 1] : nullptr;
            unsigned char* at = static_cast<unsigned char*>(ram(world.ranges[i].pa)) + o;
            if (last != nullptr && last->at + last->size == at && (last->from == nullptr) == zero) {
                last->size += n;
            } else {
                world.segments[world.segment_count++] = World::Segment{at, zero ? nullptr : from, n};
            }
        }
        off += world.ranges[i].size;
    }
}

// Whether [p, p + size) is all zero; size a multiple of 8, p 8-aligned (whole 64-byte lines).
// Not instrumented: it reads ~100 KiB per input, and with ASan/UBSan checks and coverage counters
// on every word it cost more than the copy it saves.
[[nodiscard]] __attribute__((no_sanitize("address", "undefined", "coverage"))) bool all_zero(const unsigned char* p, u64 size) {
    const u64* w = reinterpret_cast<const u64*>(p);
    u64 any = 0;
    for (u64 k = 0; k < size / 8; ++k) any |= w[k];
    return any == 0;
}

void restore() {
    // Frames are all 4 KiB: a restart scrubs every mapped frame, and a 2 MiB scrub costs a
    // millisecond instrumented. 2 MiB blocks are the stage2 target's business.
    for (unsigned i = 0; i < world.segment_count; ++i) {
        const World::Segment& g = world.segments[i];
        if (g.from != nullptr) {
            std::memcpy(g.at, g.from, g.size);
        } else if (!all_zero(g.at, g.size)) {
            std::memset(g.at, 0, g.size);
        }
    }
    std::memcpy(static_cast<void*>(world.storage), static_cast<const void*>(world.saved), sizeof(Kernel));
    host::reset_console();
    audit::reset();  // the log is global kernel state: every input starts with an empty one
    // host::reset_counters() is left out on purpose: the kernel never reads the counters, and
    // zeroing their 512 KiB per input would cost more than the rest of the restore.
}

// ---- the oracle ----------------------------------------------------------------------------
// `full`: the full check (check_invariants_since the end baseline: every boot slot not
// write-protected, and the occupied ones); otherwise check_invariants_since the snapshot's
// baseline (every check but a re-read of the boot CNode's empty slots).
void check(const Kernel& s, const char* after, bool full) {
    fuzz::require_ok(check_invariants_since(s, full ? world.end_baseline : world.baseline), after);
}

// Calls whose only effect, by the ABI (docs/abi.md, PSCI), is on the caller's registers. They
// are half of the calls that succeed in a campaign (AbiVersion is function 0, and zero bytes
// abound), so the step oracle skips them: the next check, at the latest the full one at the end
// of the input, still sees any state one of them changed.
[[nodiscard]] bool query(u64 fid) {
    return fid == static_cast<u64>(F::AbiVersion) || fid == static_cast<u64>(F::PartitionInfo) ||
           fid == static_cast<u64>(F::CapIdentify) || fid == hvc::psci::kVersion || fid == hvc::psci::kFeatures ||
           fid == hvc::psci::kAffinityInfo;
}

bool is_psci(u64 fid) { return (fid & 0xFFFF'FF00) == 0x8400'0000 || (fid & 0xFFFF'FF00) == 0xC400'0000; }

void check_result(u64 fid, u64 x0, bool hvc_abi) {
    const i64 v = static_cast<i64>(x0);
    if (!hvc_abi) {
        if (x0 != ~0ull) fuzz::finding("a call outside the ABI did not get SMCCC unknown");
        return;
    }
    if ((fid & 0xFF00'0000) == 0xC600'0000) {
        if (v < static_cast<i64>(Status::Busy) || v > 0) fuzz::finding("a hypercall returned a status outside Status");
    } else if (is_psci(fid)) {
        if (!(x0 == 0x10001 || (v >= -9 && v <= 2))) fuzz::finding("a PSCI call returned a value outside PSCI");
    } else if (x0 != ~0ull) {
        fuzz::finding("an unknown function did not get SMCCC unknown");
    }
}

// When the invariant checker runs (BH_FUZZ_ORACLE): "step" after every step that may have
// changed the state and at the end (the default), "end" once per input (campaign throughput:
// the checker costs more than the steps; replay a finding with "step" to see which step broke
// it), "off" never (to measure the rest; the status and vCPU-state oracles stay on).
enum class Oracle { Step, End, Off };
Oracle oracle = Oracle::Step;

constexpr u64 kEsrIl = 1ull << 25;
constexpr u64 esr_of(u32 ec, u32 iss) { return (static_cast<u64>(ec) << 26) | kEsrIl | (iss & 0x1FF'FFFF); }

// BH_FUZZ_INTERLEAVE=1: the interleaving mode (docs/fuzzing.md "Interleaving mode"). Each step
// is two hypercalls of two different vCPUs, interleaved at a lock point the input chooses.
bool interleaving = false;

// One vCPU's half of an interleaved step: the call as the normal mode's hypercall action makes it
// (function byte, then its arguments from the pools), run, then its core's decision.
struct Half {
    Vcpu* v = nullptr;
    u64 x[8] = {};
    bool resume = false;
};

void read_half(fuzz::Bytes& in, Half& h) {
    const FunctionInfo& f = kFunctions[in.u8() % kFunctionCount];
    h.x[0] = f.id;
    for (unsigned k = 1; k <= f.args; ++k) h.x[k] = arg(in);
}

void run_half(Kernel& s, Half& h) {
    Vcpu& v = *h.v;
    for (unsigned k = 0; k < 8; ++k) v.regs.x[k] = h.x[k];
    h.resume = handle_guest_exit(s, v, arch::decode_exit(arch::ExitVector::Sync, arch::Syndrome{esr_of(0x16, 0), 0, 0}));
    const VcpuState after = v.load_state();
    if (h.resume) {
        if (after != VcpuState::Running) fuzz::finding("the kernel resumed a vCPU that is not Running");
        check_result(h.x[0], v.regs.x[0], true);
        v.store_state(VcpuState::Runnable);
    } else if (after == VcpuState::Running) {
        fuzz::finding("the kernel parked a vCPU that is still Running");
    }
}

// Step byte: bits 0-1 vCPU A, 2-3 vCPU B (0/1 = alpha.0/alpha.1, 2 = beta.0, 3 = alpha.0; B
// moves to the next vCPU when it is A), 4-7 the lock point of A's call after which B runs (0:
// none, A runs first to the end). Then A's function byte and arguments, then B's.
void interleaved_step(Kernel& s, fuzz::Bytes& in, Vcpu* const* vcpus) {
    const u8 sel = in.u8();
    const unsigned n = static_cast<unsigned>(world.vcpus.size());
    if (n < 2) return;
    const unsigned ia = (sel & 3) % n;
    unsigned ib = ((sel >> 2) & 3) % n;
    if (ib == ia) ib = (ib + 1) % n;
    Half a, b;
    a.v = vcpus[ia];
    b.v = vcpus[ib];
    read_half(in, a);
    read_half(in, b);
    for (const Half* h : {&a, &b})
        if (h->v->load_state() != VcpuState::Runnable || h->v->partition->load_state() != PartitionState::Running) return;
    a.v->store_state(VcpuState::Running);
    b.v->store_state(VcpuState::Running);
    fuzz::interleave::run(a.v->core.raw(), b.v->core.raw(), sel >> 4, [&] { run_half(s, a); }, [&] { run_half(s, b); });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* o = std::getenv("BH_FUZZ_ORACLE")) {
        oracle = std::strcmp(o, "end") == 0 ? Oracle::End : std::strcmp(o, "off") == 0 ? Oracle::Off : Oracle::Step;
    }
    if (const char* i = std::getenv("BH_FUZZ_INTERLEAVE")) interleaving = std::strcmp(i, "1") == 0;
    if (const char* m = std::getenv("BH_FUZZ_MANIFEST"); m != nullptr && *m != '\0') {
        build_from_manifest(m);
    } else {
        build();
    }
    snapshot();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (world.system == nullptr) {
        build();
        snapshot();
    }
    restore();
    Kernel& s = *world.system;
    Vcpu* const* vcpus = world.vcpus.data();
    const unsigned vcpu_count = static_cast<unsigned>(world.vcpus.size());
    fuzz::Bytes in(data, size);

    for (unsigned step = 0; interleaving && step < 128 && !in.done(); ++step) {
        interleaved_step(s, in, vcpus);
        if (oracle == Oracle::Step) {
            check(s, "an interleaved step", false);
            fuzz::oracle::no_foreign_canary(s);
        }
    }
    for (unsigned step = 0; !interleaving && step < 256 && !in.done(); ++step) {
        const u8 op = in.u8();
        Vcpu& v = *vcpus[(op & 3) % vcpu_count];
        const unsigned action = op >> 2;  // 0..63
        // A vCPU that is not runnable takes no exit (it is off, blocked or being started).
        if (v.load_state() != VcpuState::Runnable) continue;
        if (v.partition->load_state() != PartitionState::Running) continue;
        // Only the driven vCPU is Running: a stop on the host waits for Running vCPUs to leave,
        // and nobody else leaves here.
        v.store_state(VcpuState::Running);
        host::set_current_core(v.core.raw());

        arch::ExitVector kind = arch::ExitVector::Sync;
        arch::Syndrome syn{};
        bool call = false;      // a hypercall whose result x0 is checked
        bool abi = true;        // through HVC #0 or SMC #0
        u64 fid = 0;
        const char* what = "hypercall";
        bool spi = false;       // a bound SPI may have signalled a notification
        if (action < 44 || action == 63) {
            const FunctionInfo& f = kFunctions[(action == 63 ? in.u8() : action) % kFunctionCount];
            fid = f.id;
            for (unsigned k = 0; k < 8; ++k) v.regs.x[k] = 0;
            v.regs.x[0] = fid;
            const unsigned n = action == 63 ? 7 : f.args;
            for (unsigned k = 1; k <= n; ++k) v.regs.x[k] = action == 63 ? in.u64() : arg(in);
            // PSCI through SMC #0 as well as HVC #0.
            syn.esr = esr_of(is_psci(fid) && (op & 0x80) ? 0x17 : 0x16, 0);
            call = true;
        } else if (action < 48) {  // a function id near the ABI's, or any
            fid = action == 44 ? (0xC600'0000ull | in.u8()) : action == 45 ? (0x8400'0000ull | in.u8())
                                                           : action == 46 ? (0xC400'0000ull | in.u8()) : in.u64();
            v.regs.x[0] = fid;
            for (unsigned k = 1; k < 8; ++k) v.regs.x[k] = arg(in);
            syn.esr = esr_of(in.u8() & 1 ? 0x17 : 0x16, 0);
            call = true;
        } else if (action < 50) {  // HVC/SMC with a non-zero immediate
            fid = kFunctions[in.u8() % kFunctionCount].id;
            v.regs.x[0] = fid;
            syn.esr = esr_of(action == 48 ? 0x16 : 0x17, static_cast<u32>(in.u16()) | 1);
            call = true;
            abi = action != 48;  // HVC #imm != 0 is not the ABI; SMC's immediate is not checked
            what = "hvc/smc with an immediate";
        } else if (action < 54) {  // stage-2 data abort
            const u64 ipa = arg(in) + (in.u8() & 0xff);
            syn.esr = esr_of(0x24, in.u32());
            syn.far = ipa & 0xfff;
            syn.hpfar = (ipa >> 12) << 4;
            what = "stage-2 data abort";
        } else if (action < 56) {  // stage-2 instruction abort
            const u64 ipa = arg(in);
            syn.esr = esr_of(0x20, in.u32());
            syn.far = ipa & 0xfff;
            syn.hpfar = (ipa >> 12) << 4;
            what = "stage-2 instruction abort";
        } else if (action < 58) {  // another exception class, or anything at all
            syn.esr = action == 56 ? esr_of(kEsrClasses[in.u8() % (sizeof kEsrClasses / sizeof kEsrClasses[0])], in.u32())
                                   : in.u64();
            syn.far = arg(in);
            syn.hpfar = arg(in);
            if ((syn.esr >> 26 & 0x3f) == 0x16 || (syn.esr >> 26 & 0x3f) == 0x17) {
                v.regs.x[0] = kFunctions[in.u8() % kFunctionCount].id;
            }
            what = "trapped exception";
        } else if (action == 62) {
            // A device raises an SPI on this vCPU's core: INTIDs 32..47 (34..39 assignable), as
            // the arch IRQ path passes them on, then the exit that interrupted the guest.
            s.interrupts.fired(32 + (in.u8() & 15));
            kind = arch::ExitVector::Irq;
            what = "SPI";
            spi = true;
        } else {
            static constexpr arch::ExitVector kKinds[] = {arch::ExitVector::Irq, arch::ExitVector::Fiq,
                                                         arch::ExitVector::SError, arch::ExitVector::Aarch32};
            kind = kKinds[action - 58];
            syn.esr = in.u32();
            what = "asynchronous exit";
        }

        // The functional oracles (hypercall_oracle.hpp): the mirror for HVC #0 calls it models,
        // the scrub of a partition that (re)starts during the step.
        fuzz::oracle::Expected expected;
        if (oracle != Oracle::Off && call && kind == arch::ExitVector::Sync && syn.esr == esr_of(0x16, 0))
            expected = fuzz::oracle::expect(*v.partition, v.regs.x);
        u32 runs[manifest::kMaxPartitions] = {};
        for (u32 i = 0; i < world.parts.size(); ++i) runs[i] = world.parts[i]->run();
        const bool resume = handle_guest_exit(s, v, arch::decode_exit(kind, syn));
        const VcpuState after = v.load_state();
        bool changed = !resume;
        if (resume) {
            if (after != VcpuState::Running) fuzz::finding("the kernel resumed a vCPU that is not Running");
            if (call) check_result(fid, v.regs.x[0], abi);
            changed = call && v.regs.x[0] == 0 && !query(fid);
            v.store_state(VcpuState::Runnable);
        } else if (after == VcpuState::Running) {
            fuzz::finding("the kernel parked a vCPU that is still Running");
        }
        // The checker runs after every step that may have changed the state (a call that
        // succeeded, other than a query; an exit that parked the vCPU) and once at the end: a
        // refusal or a query that changed something anyway is still caught, at the next check.
        if ((changed || spi) && oracle == Oracle::Step) {
            check(s, what, false);
            fuzz::oracle::no_foreign_canary(s);
        }
        // After the checker, so that a bug both see is reported as the invariant it breaks.
        if (resume && expected.checked) fuzz::oracle::verify(expected, v);
        if (oracle != Oracle::Off) {
            for (u32 i = 0; i < world.parts.size(); ++i)
                if (world.parts[i]->run() != runs[i] && world.parts[i]->load_state() == PartitionState::Running)
                    fuzz::oracle::scrubbed(*world.parts[i]);
        }
    }
    if (oracle != Oracle::Off) {
        check(s, "the last step", true);
        fuzz::oracle::no_foreign_canary(s);
    }
    return 0;
}
