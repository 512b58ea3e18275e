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
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 15]);
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
