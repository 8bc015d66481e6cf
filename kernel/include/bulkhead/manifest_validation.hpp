// The kernel's verdict on a boot manifest, for host tools: the config compiler checks what it
// packed with exactly the validation the kernel runs at boot (kernel/manifest_reader.hpp),
// without including a kernel header. validate_manifest is defined by the kernel's host library
// only (kernel/manifest_validation.cpp); the EL2 image uses ManifestReader directly.
#pragma once

#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

namespace bh {

struct ManifestError {
    Status status;       // Ok when the manifest was accepted
    const char* reason;  // human-readable, static storage; "ok" when accepted
    int op_index;        // offending op, or -1 for a header/layout problem
};

// ManifestReader::open's result for `size` bytes at `data`.
[[nodiscard]] ManifestError validate_manifest(const void* data, usize size);

}  // namespace bh
