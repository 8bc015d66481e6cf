#include <bhcc/diagnostics.hpp>

namespace bhcc {

std::string Diagnostics::format(std::string_view source) const {
    std::string text;
    for (const Diagnostic& d : list_) {
        text.append(source).append(": ").append(d.node).append(": ").append(d.message).append("\n");
    }
    return text;
}

}  // namespace bhcc
