// json_property.cpp - the JSON writer, and libmsg's UTF-8 decoder
// (TextDecoder), replace bytes that are not UTF-8 as a decoder written
// after the WHATWG Encoding Standard does.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>

#include "msg/charset.hpp"
#include "msg/json.hpp"

namespace {

// `cp` appended to `out` as UTF-8.
void put(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// The reference: the UTF-8 decoder of the WHATWG Encoding Standard (4.1),
// with replacement, written out as the standard has it. It gives one U+FFFD
// per maximal subpart, as Python's bytes.decode("utf-8", "replace") does.
std::string whatwg_decode(std::string_view bytes) {
    std::string out;
    std::uint32_t cp = 0;
    int needed = 0, seen = 0;
    unsigned lower = 0x80, upper = 0xBF;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const unsigned b = static_cast<unsigned char>(bytes[i]);
        if (needed == 0) {
            if (b <= 0x7F) {
                put(b, out);
            } else if (b >= 0xC2 && b <= 0xDF) {
                needed = 1;
                cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0) lower = 0xA0;
                if (b == 0xED) upper = 0x9F;
                needed = 2;
                cp = b & 0xF;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0) lower = 0x90;
                if (b == 0xF4) upper = 0x8F;
                needed = 3;
                cp = b & 0x7;
            } else {
                put(0xFFFD, out);
            }
            continue;
        }
        if (b < lower || b > upper) {
            // The byte is not part of this sequence: U+FFFD for what came
            // before it, and the byte is read again.
            cp = 0;
            needed = seen = 0;
            lower = 0x80;
            upper = 0xBF;
            put(0xFFFD, out);
            --i;
            continue;
        }
        lower = 0x80;
        upper = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
        if (++seen == needed) {
            put(cp, out);
            cp = 0;
            needed = seen = 0;
        }
    }
    if (needed != 0) put(0xFFFD, out);
    return out;
}

std::string escaped(std::string_view s) {
    std::string out;
    msg::json_escape(s, out);
    return out;
}

// Bytes around the edges of UTF-8's grammar: the bounds of each lead and
// continuation range, overlong and surrogate leads, bytes never used.
rc::Gen<std::string> utf8ish_bytes() {
    return rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
        {{2, rc::gen::arbitrary<char>()},
         {1, rc::gen::element('a', ' ')},
         {4, rc::gen::element('\x80', '\x8f', '\x90', '\x9f', '\xa0', '\xbf')},
         {3, rc::gen::element('\xc0', '\xc1', '\xc2', '\xdf', '\xe0', '\xe1', '\xed', '\xef', '\xf0', '\xf4',
                              '\xf5', '\xff')}}));
}

}  // namespace

// The reference's examples, from Unicode 15 3.9 (table 3-8): one U+FFFD
// for each of 8 maximal subparts.
TEST(JsonReference, UnicodeTable38) {
    const std::string R = "\xEF\xBF\xBD";
    EXPECT_EQ(whatwg_decode("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
              "a" + R + R + R + "b" + R + "c" + R + R + "d");
}

// json_escape gives what escaping the reference's decoding gives: the same
// U+FFFD in the same places, and well-formed text unchanged.
RC_GTEST_PROP(Json, ReplacesAsWhatwgDecoderDoes, ()) {
    const std::string bytes = *utf8ish_bytes();
    const std::string decoded = whatwg_decode(bytes);
    RC_CLASSIFY(decoded != bytes, "ill-formed");
    RC_ASSERT(escaped(bytes) == escaped(decoded));
}

// TextDecoder's UTF-8, fed in random slices, gives the reference's text,
// one bad sequence for each U+FFFD it added: the text msgshow shows and
// msgcheck counts is the one the JSON writer would write.
RC_GTEST_PROP(Utf8Decoder, ReplacesAsWhatwgDecoderDoes, ()) {
    const std::string bytes = *utf8ish_bytes();
    msg::TextDecoder d("utf-8");
    std::string out;
    for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t n = *rc::gen::inRange<std::size_t>(1, bytes.size() - at + 1);
        d.step(std::string_view(bytes).substr(at, n), &out);
        at += n;
    }
    d.finish(&out);
    const std::string want = whatwg_decode(bytes);
    RC_ASSERT(out == want);
    std::size_t added = 0;
    for (std::size_t at = want.find("\xEF\xBF\xBD"); at != std::string::npos; at = want.find("\xEF\xBF\xBD", at + 3))
        ++added;
    for (std::size_t at = bytes.find("\xEF\xBF\xBD"); at != std::string::npos; at = bytes.find("\xEF\xBF\xBD", at + 3))
        --added;   // a U+FFFD the text held already
    RC_ASSERT(d.bad() == added);
}
