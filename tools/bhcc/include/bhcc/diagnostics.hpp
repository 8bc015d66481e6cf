// Validation findings. Every rule that fails adds exactly one Diagnostic naming the node it is
// about, so an integrator can fix each problem where it is written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bhcc {

struct Diagnostic {
    std::string node;     // device-tree path, e.g. "/partitions/alpha/ram"
    std::string message;  // the rule that failed, see docs/system-description.md
};

class Diagnostics {
public:
    void error(std::string node, std::string message) {
        list_.push_back({std::move(node), std::move(message)});
    }
    [[nodiscard]] bool empty() const { return list_.empty(); }
    [[nodiscard]] std::size_t count() const { return list_.size(); }
    [[nodiscard]] const std::vector<Diagnostic>& all() const { return list_; }

    // One line per finding: "<source>: <node>: <message>\n".
    [[nodiscard]] std::string format(std::string_view source) const;

private:
    std::vector<Diagnostic> list_;
};

}  // namespace bhcc
