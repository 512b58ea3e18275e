// charset_property.cpp - what the charset conversions count agrees with
// what they write.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>

#include "msg/charset.hpp"

namespace {

// count_undecodable() is to_utf8() without the text: the same number of bad
// sequences at the same first offset, for any bytes, in every kind of
// charset (UTF-8, the single-byte fast paths, ICU's multi-byte and
// stateful converters).
RC_GTEST_PROP(Charset, CountingAgreesWithConverting, ()) {
    const std::string charset = *rc::gen::element<std::string>(
        "utf-8", "iso-8859-1", "windows-1252", "us-ascii", "koi8-r", "shift_jis", "euc-jp",
        "iso-2022-jp", "gb18030", "big5", "utf-16", "utf-7");
    const std::string bytes = *rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
        {{3, rc::gen::arbitrary<char>()},
         {2, rc::gen::element('a', ' ', '\n', '\x1b', '$', 'B', '(', '+', '-')},
         {2, rc::gen::element('\x80', '\x81', '\x8d', '\x9d', '\xa4', '\xc3', '\xe3', '\xef', '\xff')}}));
    std::string out;
    std::size_t bad = 0, first = 12345, cbad = 99, cfirst = 12345;
    RC_ASSERT(msg::to_utf8(bytes, charset, out, &bad, &first));
    RC_ASSERT(msg::count_undecodable(bytes, charset, cbad, &cfirst));
    RC_CLASSIFY(bad > 0, "bad sequences");
    RC_ASSERT(cbad == bad);
    RC_ASSERT(cfirst == first);
}

TEST(Charset, CountingAnUnknownCharsetFails) {
    std::size_t bad = 0;
    EXPECT_FALSE(msg::count_undecodable("abc", "x-no-such-charset", bad));
}

}  // namespace
