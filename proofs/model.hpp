// The abstract capability model and the bit-level lemmas (design.md "Verification harness").
#pragma once

#include <string>
#include <vector>

#include "runner.hpp"

namespace bh::proofs {

// Planted bugs (BH_PLANTED_BUG; the first four share their names with the kernel-side fuzz
// plants, irq-bind-without-read is model-only).
inline constexpr const char* kPlantedBugs[] = {"mint-ignores-mask", "revoke-skips-descendant", "frame-double-map",
                                               "retype-ignores-watermark", "irq-bind-without-read"};

// Every operation x invariant group (+ op-specific postconditions, + the initial state).
// only_op / only_claim: run only the operations / claims (invariant group, spec, non-vacuity row)
// whose names start with them.
std::vector<QueryResult> run_model(const std::string& planted, const std::string& only_op = "",
                                   const std::string& only_claim = "");
// Descriptor encoders, rights masks, range arithmetic.
std::vector<QueryResult> run_lemmas(const std::string& planted);

}  // namespace bh::proofs
