// The invariant checker's report as text, for test failure messages and comparisons.
#pragma once

#include <invariants/invariants.hpp>
#include <string>

namespace bh::test {

inline std::string line_of(const InvariantViolation& v) {
    LineBuffer line;
    format_violation(line, v);
    return std::string(line.data(), line.size());
}

inline std::string summary_of(const InvariantReport& r) {
    LineBuffer line;
    format_report_summary(line, r);
    return std::string(line.data(), line.size());
}

// The summary, then each stored violation on its own line.
inline std::string describe(const InvariantReport& r) {
    std::string text = summary_of(r);
    for (u32 i = 0; i < r.stored; ++i) text += "\n  " + line_of(r.violations[i]);
    return text;
}

}  // namespace bh::test
