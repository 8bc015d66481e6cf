// The abstract capability model and the bit-level lemmas (design.md "Verification harness").
#pragma once

#include <string>
#include <vector>

#include "runner.hpp"

namespace bh::proofs {

// Planted bugs (BH_PLANTED_BUG, shared names with the kernel-side fuzz plants).
inline constexpr const char* kPlantedBugs[] = {"mint-ignores-mask", "revoke-skips-descendant", "frame-double-map",
                                               "retype-ignores-watermark"};

// Every operation x invariant group (+ op-specific postconditions, + the initial state).
std::vector<QueryResult> run_model(const std::string& planted, const std::string& only_op = "");
// Descriptor encoders, rights masks, range arithmetic.
std::vector<QueryResult> run_lemmas(const std::string& planted);

}  // namespace bh::proofs
