// Boot is a program: the manifest's ops, validated as a whole by ManifestReader, then executed
// one by one through the kernel parts' operations, the same ones later invoked at run time.
#pragma once

#include <boot/manifest_reader.hpp>
#include <kernel.hpp>

namespace bh {

struct BootResult {
    Outcome outcome;  // the refused op's status and reason
    int op_index;     // failing op, -1 for a manifest-level problem
    bool ok() const { return outcome.ok(); }
};

// Executes a manifest that `reader` has validated. Stops at the first refused op; the caller
// then runs nothing.
[[nodiscard]] BootResult run_boot_program(Kernel& kernel, const ManifestReader& reader);

// One op, as the boot program executes it (tests drive single ops through this).
[[nodiscard]] Outcome execute_op(Kernel& kernel, const ManifestReader& reader, const manifest::ManifestOp& op);

const char* op_name(manifest::OpKind kind);

}  // namespace bh
