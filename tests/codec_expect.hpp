// codec_expect.hpp - what the codec tests (property tests and the codec
// fuzzer) expect of the encoders, written once for both.
#pragma once

#include <string>
#include <string_view>

namespace msg_test {

// What qp_encode promises to preserve: each LF or CRLF of the input becomes
// `eol` (a bare CR stays as it is).
inline std::string normalise_breaks(std::string_view s, std::string_view eol) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
            out += eol;
            ++i;
        } else if (s[i] == '\n') {
            out += eol;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

}  // namespace msg_test
