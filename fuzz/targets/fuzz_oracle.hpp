// The kernel targets' invariant oracle: a report that is not ok is printed (the summary and every
// stored violation) and is a finding.
#pragma once

#include <invariants/invariants.hpp>

#include "fuzz_common.hpp"

namespace bh::fuzz {

inline void require_ok(const InvariantReport& report, const char* after) {
    if (report.ok()) return;
    LineBuffer line;
    format_report_summary(line, report);
    std::fprintf(stderr, "after %s: %.*s\n", after, static_cast<int>(line.size()), line.data());
    for (u32 i = 0; i < report.stored; ++i) {
        LineBuffer v;
        format_violation(v, report.violations[i]);
        std::fprintf(stderr, "  %.*s\n", static_cast<int>(v.size()), v.data());
    }
    finding("invariant violated");
}

}  // namespace bh::fuzz
