// A boot manifest written op by op, for the tests that run the boot program on a host Kernel.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <cstring>
#include <initializer_list>
#include <bulkhead/manifest_writer.hpp>
#include <vector>

namespace bh::test {

struct ManifestProgram {
    std::vector<manifest::ManifestOp> ops;

    void op(manifest::OpKind kind, u32 slot, std::initializer_list<u64> args, const char* name = "") {
        manifest::ManifestOp o{};
        o.kind = kind;
        o.slot = slot;
        unsigned k = 0;
        for (u64 a : args) o.arg[k++] = a;
        std::strncpy(o.name, name, sizeof o.name - 1);
        ops.push_back(o);
    }

    // Header (current version, the platform's RAM) and ops, with total size and checksum filled in.
    std::vector<u8> blob() const {
        manifest::ManifestHeader h{};
        h.magic = manifest::kMagic;
        h.version = manifest::kVersion;
        h.op_size = sizeof(manifest::ManifestOp);
        h.op_count = static_cast<u32>(ops.size());
        h.ops_offset = sizeof h;
        h.ram_base = platform::kRamBase;
        h.ram_size = platform::kDefaultRamSize;
        std::vector<u8> bytes(sizeof h + ops.size() * sizeof(manifest::ManifestOp));
        std::memcpy(bytes.data(), &h, sizeof h);
        std::memcpy(bytes.data() + sizeof h, ops.data(), ops.size() * sizeof(manifest::ManifestOp));
        REQUIRE(manifest_finalize(bytes.data(), bytes.size()) == bytes.size());
        return bytes;
    }
};

}  // namespace bh::test
