// json_test.cpp - the JSON writer: escapes, and bytes that are not UTF-8
// (msg/json.hpp).
#include "msg/json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

// s as a JSON string, without its quotes.
std::string escaped(std::string_view s) {
    std::string out;
    msg::json_escape(s, out);
    return out.substr(1, out.size() - 2);
}

const std::string R = "\xEF\xBF\xBD";   // U+FFFD

}  // namespace

TEST(Json, ObjectsArraysAndEscapes) {
    msg::Json j;
    j.begin_object().key("a").value("x\"y\\z\n\t\x01\x7f").key("n").value(std::uint64_t{7})
        .key("l").begin_array().value(true).null().end_array().end_object();
    EXPECT_EQ(j.str(), R"({"a": "x\"y\\z\n\t\u0001\u007f", "n": 7, "l": [true, null]})");
}

// What may not be shown as it is (msg::unsafe_char_length) is a \\u escape:
// C1 controls, bidirectional overrides and isolates, U+2028 and U+2029.
// The string a reader gets is the same; the line on a terminal has no raw
// control and nothing that reorders it.
TEST(Json, UnsafeCharactersEscaped) {
    EXPECT_EQ(escaped("invoice\xe2\x80\xae" "fdp.exe"), "invoice\\u202efdp.exe");
    EXPECT_EQ(escaped("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad"), "\\u202a\\u202b\\u202c\\u202d");
    EXPECT_EQ(escaped("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");
    EXPECT_EQ(escaped("a\xe2\x80\xa8" "b\xe2\x80\xa9"), "a\\u2028b\\u2029");
    EXPECT_EQ(escaped("\xc2\x85\xc2\x9b[2J"), "\\u0085\\u009b[2J");
    EXPECT_EQ(escaped("\x1b]0;t\x07"), "\\u001b]0;t\\u0007");
    // Their neighbours are kept as they are.
    EXPECT_EQ(escaped("\xc2\xa0\xe2\x80\x94\xe2\x80\xaf"), "\xc2\xa0\xe2\x80\x94\xe2\x80\xaf");
}

// One U+FFFD for each maximal subpart of an ill-formed sequence (Unicode
// 3.9), as WHATWG's, ICU's and Python's decoders give them.
TEST(Json, OneReplacementPerMaximalSubpart) {
    EXPECT_EQ(escaped("a\xE1\x80z"), "a" + R + "z");                  // cut short: one
    EXPECT_EQ(escaped("\xE1\x80"), R);                                // cut by the end: one
    EXPECT_EQ(escaped("\xC0\xAF"), R + R);                            // overlong: two
    EXPECT_EQ(escaped("\xED\xA0\x80"), R + R + R);                    // surrogate: three
    EXPECT_EQ(escaped("\xF4\x90\x80\x80"), R + R + R + R);            // past U+10FFFF: four
    EXPECT_EQ(escaped("\x80\x80"), R + R);                            // lone continuations: two
    EXPECT_EQ(escaped("\xF0\x9F\x98z\xFF"), R + "z" + R);             // cut 4-byte sequence, then FF
    EXPECT_EQ(escaped("\xE2\x82\xAC\xE2\x82"), "\xE2\x82\xAC" + R);   // a valid one, then a cut one
    // Well-formed text is unchanged.
    const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD \xF4\x8F\xBF\xBF";
    EXPECT_EQ(escaped(text), text);
    // Control bytes next to bad bytes are still escaped.
    EXPECT_EQ(escaped("\x01\xC3\n"), "\\u0001" + R + "\\n");
}
