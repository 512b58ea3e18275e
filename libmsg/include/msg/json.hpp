// json.hpp - a small JSON writer, for the JSON Lines every tool prints and
// the JSON reports of the spool (docs/json.md).
//
// Strings are written as valid JSON whatever the bytes: the characters
// that may not be shown as they are (msg::unsafe_char_length: controls,
// C1, bidirectional overrides and isolates, U+2028 and U+2029) are escaped
// ("\n", "\u001b", "\u202e": the same string to a reader, nothing raw on a
// terminal that shows the line), and bytes that are not well-formed UTF-8
// become U+FFFD, one for each maximal subpart of an ill-formed sequence
// (Unicode 3.9, as WHATWG's, ICU's and Python's decoders replace them;
// utf8_char_length() in msg/charset.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace msg {

class Json {
public:
    Json& begin_object();
    Json& end_object();
    Json& begin_array();
    Json& end_array();
    Json& key(std::string_view k);
    Json& value(std::string_view s);
    Json& value(const char* s) { return value(std::string_view(s)); }
    Json& value(std::uint64_t n);
    Json& value(std::int64_t n);
    Json& value(int n) { return value(static_cast<std::int64_t>(n)); }
    Json& value(bool b);
    Json& null();
    // The text so far; clear() starts a new line.
    const std::string& str() const { return out_; }
    void clear();

private:
    void sep();
    std::string out_;
    bool need_comma_ = false;
};

void json_escape(std::string_view s, std::string& out);

}  // namespace msg
