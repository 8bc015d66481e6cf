// The model's transition relation evaluated on concrete values (the differential test,
// proofs/tests/test_differential.cpp): the same operation code that builds the proofs' Z3 terms
// (model.cpp operations()) is run on a pre-state given value by value; every guard quantifier
// is expanded over the finite slot sort, and Z3 evaluates the guard and the post-state.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace bh::proofs {

// The slots and SPIs a concrete state gives; the model's sorts are larger (16 each), the rest
// are empty slots and unused lines.
inline constexpr unsigned kModelSlots = 8;
inline constexpr unsigned kModelSpis = 8;

// One slot, in the model's vocabulary (docs/proofs.md "State"): addresses are page numbers.
struct AbsCap {
    unsigned type = 0, rights = 0, badge = 0;
    std::int64_t base = 0, len = 0, watermark = 0;
    bool device = false, has_parent = false;
    unsigned parent = 0, mapped_plus1 = 0, attrs = 0, irq = 0;
};

// One SPI line of the binding table; `notification` and `handler` are the ghost caps (slots).
struct AbsSpi {
    bool bound = false, masked = false, created = false;
    unsigned owner_plus1 = 0, notification = 0, handler = 0;
};

struct AbsState {
    std::array<AbsCap, kModelSlots> slot{};
    bool anc[kModelSlots][kModelSlots] = {};  // anc[a][b]: a is a proper ancestor of b
    std::array<AbsSpi, kModelSpis> spi{};
    bool sealed = false;
    // Fixed: the CSpace of each slot (0 = boot CNode, p+1 = partition p), the declared flows,
    // and the platform (kernel region K, MMIO window W) in page numbers.
    unsigned own[kModelSlots] = {};
    bool declared[kModelSlots][kModelSlots] = {};
    std::int64_t kb = 0, kl = 0, wb = 0, wl = 0;
};

struct AbsStep {
    bool guard = false;    // the kernel's checks, as modelled
    bool assumed = true;   // seal's whole-state conditions the proofs fold into the step
    AbsState post;         // meaningful when guard holds
};

// Runs the model operation named `op` (as in the report: "mint", "retype [fix KF-1] (in use)",
// ...) at `pre` with its arguments given by the names of their Z3 constants (e.g. "mint.src").
// nullopt with `error` set when the operation is unknown or an argument is missing.
std::optional<AbsStep> eval_operation(const std::string& op, const AbsState& pre,
                                      const std::map<std::string, std::int64_t>& args, std::string& error);

}  // namespace bh::proofs
