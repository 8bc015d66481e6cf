// The boot-manifest decoder (ManifestReader) and, for manifests it accepts, the boot program
// that executes them on a fresh host Kernel, with the invariant checker as the oracle.
//
// Input: byte 0 picks the mode.
//   even: the rest is a manifest blob, taken as it is (header, checksum and all): the decoder's
//         refusal paths.
//   odd:  the rest is [ManifestOp x N][image bytes]; N = the ops that fit in the first
//         min(size, 64 x kOpsLimit) bytes after the count byte below. The target writes a
//         correct header (magic, version, op size, RAM) and fixes total size and checksum
//         with manifest_finalize, so the structural validation of every op is reached
//         instead of stopping at the CRC.
//         byte 1: N (number of ops, capped by the input's length)
// Oracles: the decoder never reads outside the buffer (ASan), an accepted manifest's ops and
// images read back within it, and after the boot program (whatever it refused)
// check_invariants() is ok.
// covers: T-2 T-27 T-29 INV-1 INV-2 INV-4
#include <arch/host/host_memory.hpp>
#include <boot/boot_program.hpp>
#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <invariants/invariants.hpp>
#include <boot/manifest_reader.hpp>
#include <bulkhead/manifest_writer.hpp>
#include <kernel.hpp>

#include <algorithm>
#include <new>
#include <vector>

#include "fuzz_common.hpp"

using namespace bh;

namespace {

constexpr unsigned kOpsLimit = 256;  // what one input may program (the kernel allows 4096)

alignas(Kernel) unsigned char storage[sizeof(Kernel)];

void boot(const ManifestReader& reader) {
    host::reset_all();
    Kernel* system = new (storage) Kernel();
    if (!ok(system->init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores))) {
        fuzz::finding("Kernel::init failed on a fresh machine");
    }
    const BootResult r = run_boot_program(*system, reader);
    (void)r;
    const InvariantReport report = check_invariants(*system);
    if (!report.ok()) {
        LineBuffer line;
        format_report_summary(line, report);
        std::fprintf(stderr, "boot program (%s at op %d): %.*s\n", r.outcome.reason(), r.op_index,
                     static_cast<int>(line.size()), line.data());
        for (u32 i = 0; i < report.stored; ++i) {
            LineBuffer v;
            format_violation(v, report.violations[i]);
            std::fprintf(stderr, "  %.*s\n", static_cast<int>(v.size()), v.data());
        }
        fuzz::finding("invariant violated after the boot program");
    }
    system->~Kernel();
}

void decode(const u8* data, size_t size) {
    ManifestReader reader;
    if (!ok(reader.open(data, size))) {
        if (reader.valid()) fuzz::finding("a refused manifest left the reader valid");
        return;
    }
    if (!reader.valid()) fuzz::finding("an accepted manifest left the reader invalid");
    const manifest::ManifestHeader& h = reader.header();
    if (h.total_size > size) fuzz::finding("accepted a manifest larger than the buffer");
    volatile u8 sink = 0;
    for (u32 i = 0; i < reader.op_count(); ++i) {
        const manifest::ManifestOp op = reader.op(i);
        if (const u8* image = reader.image(op)) {
            if (image < data || image + op.arg[3] > data + size) fuzz::finding("an image outside the manifest");
            if (op.arg[3] != 0) sink = sink + image[0] + image[op.arg[3] - 1];  // ASan checks both ends
        }
    }
    (void)sink;
    boot(reader);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    if ((data[0] & 1) == 0) {
        // A private copy sized exactly, so that ASan sees any read past the end.
        std::vector<u8> blob(data + 1, data + size);
        decode(blob.data(), blob.size());
        return 0;
    }
    if (size < 2) return 0;
    const u8* rest = data + 2;
    const size_t rest_size = size - 2;
    const size_t ops = std::min<size_t>({size_t{data[1]}, rest_size / sizeof(manifest::ManifestOp), size_t{kOpsLimit}});
    manifest::ManifestHeader h{};
    h.magic = manifest::kMagic;
    h.version = manifest::kVersion;
    h.op_size = sizeof(manifest::ManifestOp);
    h.op_count = static_cast<u32>(ops);
    h.ops_offset = sizeof h;
    h.ram_base = platform::kRamBase;
    h.ram_size = platform::kDefaultRamSize;
    std::vector<u8> blob(sizeof h + rest_size);
    std::memcpy(blob.data(), &h, sizeof h);
    if (rest_size != 0) std::memcpy(blob.data() + sizeof h, rest, rest_size);
    if (manifest_finalize(blob.data(), blob.size()) != blob.size()) return 0;
    decode(blob.data(), blob.size());
    return 0;
}
