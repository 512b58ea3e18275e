// charset_property.cpp - text decoded in slices is text decoded whole, and
// what is only counted agrees with what is written.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "msg/charset.hpp"

namespace {

// Every kind of charset: UTF-8, the single-byte fast paths, ICU's
// single-byte, multi-byte and stateful converters.
rc::Gen<std::string> any_charset() {
    return rc::gen::element<std::string>("utf-8", "iso-8859-1", "windows-1252", "us-ascii", "koi8-r", "shift_jis",
                                         "euc-jp", "iso-2022-jp", "gb18030", "big5", "utf-16", "utf-16be", "utf-7",
                                         "ibm037");
}

// Bytes that hit the interesting cases: escapes and shifts of the stateful
// charsets, lead and trail bytes, the holes of windows-1252.
rc::Gen<std::string> text_bytes() {
    return rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
        {{3, rc::gen::arbitrary<char>()},
         {2, rc::gen::element('a', ' ', '\n', '\x1b', '$', 'B', '(', '+', '-')},
         {2, rc::gen::element('\x80', '\x81', '\x8d', '\x9d', '\xa4', '\xc3', '\xe3', '\xef', '\xf0', '\xff')}}));
}

// TextDecoder fed in random slices, writing or only counting, gives what
// to_utf8() gives on the whole: the same UTF-8, the same number of bad
// sequences at the same first offset.
RC_GTEST_PROP(Charset, SlicesGiveWhatTheWholeGives, ()) {
    const std::string charset = *any_charset();
    const std::string bytes = *text_bytes();
    const bool write = *rc::gen::arbitrary<bool>();
    std::string whole;
    std::size_t bad = 0, first = 12345;
    RC_ASSERT(msg::to_utf8(bytes, charset, whole, &bad, &first));

    msg::TextDecoder d(charset);
    RC_ASSERT(d.known());
    std::string out;
    for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t n = *rc::gen::inRange<std::size_t>(1, bytes.size() - at + 1);
        d.step(std::string_view(bytes).substr(at, n), write ? &out : nullptr);
        at += n;
    }
    d.finish(write ? &out : nullptr);
    RC_CLASSIFY(bad > 0, "bad sequences");
    RC_ASSERT(d.bad() == bad);
    // ICU's UTF-16 converters hold an odd byte where no API shows it: a
    // slice that cuts one may put the first bad sequence a byte later.
    if (bad && charset.starts_with("utf-16")) RC_ASSERT(d.first_bad() >= first && d.first_bad() <= first + 1);
    else if (bad) RC_ASSERT(d.first_bad() == first);
    if (write) RC_ASSERT(out == whole);
    RC_ASSERT(d.position() == bytes.size());
}

// Text of whole characters in a stateless charset, cut anywhere: the
// decoder says bytes wait for more exactly when the cut is inside a
// character (the header decoder's encoded-word-split rests on this).
RC_GTEST_PROP(Charset, PendingExactlyWhenCutInsideACharacter, ()) {
    const std::string charset = *rc::gen::element<std::string>("utf-8", "shift_jis", "euc-jp", "gb18030", "big5", "euc-kr");
    // one, two, three and four bytes in UTF-8; two and four in GB18030
    const auto chars = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
        "a", " ", "\xE6\x97\xA5", "\xE6\x9C\xAC", "\xE8\xAA\x9E", "\xC3\xA9", "\xF0\x9F\x98\x80")));
    std::string bytes;
    std::vector<bool> boundary{true};
    for (const std::string& c : chars) {
        std::string enc;
        std::size_t unmappable = 0;
        RC_ASSERT(msg::from_utf8(c, charset, enc, &unmappable));
        if (unmappable) continue;   // not in this charset
        bytes += enc;
        boundary.resize(bytes.size(), false);
        boundary.push_back(true);
    }
    RC_PRE(!bytes.empty());
    const std::size_t cut = *rc::gen::inRange<std::size_t>(0, bytes.size() + 1);
    msg::TextDecoder d(charset);
    d.step(std::string_view(bytes).substr(0, cut), nullptr);
    RC_CLASSIFY(!boundary[cut], "inside a character");
    RC_ASSERT(d.pending() == !boundary[cut]);
    RC_ASSERT(d.bad() == 0u);
    d.step(std::string_view(bytes).substr(cut), nullptr);
    RC_ASSERT(!d.pending());
    d.finish(nullptr);
    RC_ASSERT(d.bad() == 0u);
}

// A charset that says it is ASCII-transparent counts the same when a
// text's ASCII prefix is skipped instead of fed.
RC_GTEST_PROP(Charset, AsciiPrefixNeedNotBeFed, ()) {
    const std::string charset = *any_charset();
    const std::string prefix = *rc::gen::container<std::string>(rc::gen::inRange<char>(0, 0x7f));
    const std::string bytes = prefix + *text_bytes();
    msg::TextDecoder all(charset), skipping(charset);
    RC_PRE(skipping.ascii_transparent());
    all.step(bytes, nullptr);
    all.finish(nullptr);
    skipping.skip(prefix.size());
    skipping.step(std::string_view(bytes).substr(prefix.size()), nullptr);
    skipping.finish(nullptr);
    RC_ASSERT(skipping.bad() == all.bad());
    if (all.bad()) RC_ASSERT(skipping.first_bad() == all.first_bad());
}

TEST(Charset, AsciiTransparentCharsets) {
    for (const char* cs : {"utf-8", "iso-8859-1", "windows-1252", "koi8-r", "euc-jp", "gb18030", "big5"})
        EXPECT_TRUE(msg::TextDecoder(cs).ascii_transparent()) << cs;
    for (const char* cs : {"utf-16", "utf-16be", "utf-7", "iso-2022-jp", "ibm037"})
        EXPECT_FALSE(msg::TextDecoder(cs).ascii_transparent()) << cs;
}

TEST(Charset, AnUnknownCharsetIsNotDecoded) {
    msg::TextDecoder d("x-no-such-charset");
    EXPECT_FALSE(d.known());
    std::string out;
    d.step("abc", &out);
    d.finish(&out);
    EXPECT_EQ(out, "");
    std::string o2;
    EXPECT_FALSE(msg::to_utf8("abc", "x-no-such-charset", o2));
}

}  // namespace
