// Boot is a program: the manifest's ops, validated as a whole by ManifestReader, then executed
// one by one through System's operations, the same ones later invoked at run time.
#pragma once

#include <manifest_reader.hpp>
#include <system.hpp>

namespace bh {

struct BootResult {
    Status status;
    const char* reason;  // static text; "ok" on success
    int op_index;        // failing op, -1 for a manifest-level problem
};

// Executes a manifest that `reader` has validated. Stops at the first refused op; the caller
// then runs nothing.
[[nodiscard]] BootResult run_boot_program(System& system, const ManifestReader& reader);

const char* op_name(manifest::OpKind kind);

}  // namespace bh
