// json.cpp - JSON text with guaranteed-valid UTF-8.
#include "msg/json.hpp"

#include <msg/charset.hpp>

namespace msg {

void json_escape(std::string_view s, std::string& out) {
    out.push_back('"');
    // Decoded as UTF-8 text is everywhere: each maximal subpart of an
    // ill-formed sequence becomes one U+FFFD (Unicode 3.9), as WHATWG's,
    // ICU's and Python's decoders do: C0 AF is two, E1 80 (cut short) one,
    // ED A0 80 (a surrogate) three.
    std::string clean;
    if (!is_valid_utf8(s)) {
        to_utf8(s, "utf-8", clean);
        s = clean;
    }
    static const char hex[] = "0123456789abcdef";
    auto u_escape = [&](std::uint32_t cp) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out.push_back(hex[(cp >> shift) & 15]);
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char ch = s[i];
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            // What may not be shown as it is (unsafe_char_length: controls,
            // C1, bidirectional overrides and isolates, U+2028 and U+2029)
            // is written as \uXXXX: the same string to a JSON reader, and
            // no raw control or reordering on a terminal that shows the line.
            if (const std::size_t n = unsafe_char_length(s, i)) {
                const auto at = [&](std::size_t k) { return std::uint32_t{static_cast<unsigned char>(s[i + k])}; };
                const std::uint32_t cp = n == 1   ? at(0)
                                         : n == 2 ? (at(0) & 0x1F) << 6 | (at(1) & 0x3F)
                                                  : (at(0) & 0x0F) << 12 | (at(1) & 0x3F) << 6 | (at(2) & 0x3F);
                u_escape(cp);
                i += n - 1;
            } else {
                out.push_back(ch);
            }
        }
    }
    out.push_back('"');
}

void Json::sep() {
    if (need_comma_) out_ += ", ";
    need_comma_ = true;
}
Json& Json::begin_object() {
    sep();
    out_.push_back('{');
    need_comma_ = false;
    return *this;
}
Json& Json::end_object() {
    out_.push_back('}');
    need_comma_ = true;
    return *this;
}
Json& Json::begin_array() {
    sep();
    out_.push_back('[');
    need_comma_ = false;
    return *this;
}
Json& Json::end_array() {
    out_.push_back(']');
    need_comma_ = true;
    return *this;
}
Json& Json::key(std::string_view k) {
    sep();
    json_escape(k, out_);
    out_ += ": ";
    need_comma_ = false;
    return *this;
}
Json& Json::value(std::string_view s) {
    sep();
    json_escape(s, out_);
    return *this;
}
Json& Json::value(std::uint64_t n) {
    sep();
    out_ += std::to_string(n);
    return *this;
}
Json& Json::value(std::int64_t n) {
    sep();
    out_ += std::to_string(n);
    return *this;
}
Json& Json::value(bool b) {
    sep();
    out_ += b ? "true" : "false";
    return *this;
}
Json& Json::null() {
    sep();
    out_ += "null";
    return *this;
}
void Json::clear() {
    out_.clear();
    need_comma_ = false;
}

}  // namespace msg
