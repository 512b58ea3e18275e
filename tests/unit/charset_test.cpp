// charset_test.cpp - charset names, conversion to and from UTF-8, UTF-8
// validation (msg/charset.hpp).
#include "msg/charset.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace std::string_literals;

TEST(Charset, Known) {
    EXPECT_TRUE(msg::charset_known("utf-8"));
    EXPECT_TRUE(msg::charset_known("UTF-8"));
    EXPECT_TRUE(msg::charset_known(" \"iso-8859-1\" "));
    EXPECT_TRUE(msg::charset_known("us-ascii"));
    EXPECT_TRUE(msg::charset_known("koi8-r"));
    EXPECT_TRUE(msg::charset_known("Shift_JIS"));
    EXPECT_TRUE(msg::charset_known("iso-2022-jp"));
    EXPECT_TRUE(msg::charset_known("gb2312"));
    EXPECT_FALSE(msg::charset_known("x-no-such-charset"));
    EXPECT_FALSE(msg::charset_known(""));
}

TEST(Charset, CanonicalNames) {
    EXPECT_EQ(msg::canonical_charset("UTF8"), "utf-8");
    EXPECT_EQ(msg::canonical_charset("utf-8"), "utf-8");
    EXPECT_EQ(msg::canonical_charset("Latin1"), "iso-8859-1");
    EXPECT_EQ(msg::canonical_charset("ISO-8859-1"), "iso-8859-1");
    EXPECT_EQ(msg::canonical_charset("ascii"), "us-ascii");
    EXPECT_EQ(msg::canonical_charset("ANSI_X3.4-1968"), "us-ascii");
    EXPECT_EQ(msg::canonical_charset("CP1252"), "windows-1252");
    // The MIME / IANA name, not ICU's internal one ("ibm-878_p100-1996").
    EXPECT_EQ(msg::canonical_charset("KOI8-R"), "koi8-r");
    EXPECT_EQ(msg::canonical_charset("csKOI8R"), "koi8-r");
    EXPECT_EQ(msg::canonical_charset("Shift_JIS"), "shift_jis");
    EXPECT_EQ(msg::canonical_charset("ISO-2022-JP"), "iso-2022-jp");
    EXPECT_EQ(msg::canonical_charset("latin2"), "iso-8859-2");
    EXPECT_EQ(msg::canonical_charset("x-no-such-charset"), "");
    EXPECT_EQ(msg::canonical_charset(""), "");
}

TEST(Charset, ToUtf8FastPaths) {
    std::string out;
    std::size_t bad = 99;
    EXPECT_TRUE(msg::to_utf8("caf\xC3\xA9", "UTF-8", out, &bad));
    EXPECT_EQ(out, "caf\xC3\xA9");
    EXPECT_EQ(bad, 0u);
    // Invalid UTF-8 becomes U+FFFD, one per maximal subpart (Unicode 3.9):
    // E1 80 (cut short) is one, ED A0 80 (a surrogate) and C0 AF three
    // and two, as ICU's converter and Python's decoder have them.
    out.clear();
    EXPECT_TRUE(msg::to_utf8("a\xFF" "b\xC3", "utf-8", out, &bad));
    EXPECT_EQ(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    EXPECT_EQ(bad, 2u);
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\xE1\x80z\xED\xA0\x80z\xC0\xAF", "utf-8", out, &bad));
    const std::string R = "\xEF\xBF\xBD";
    EXPECT_EQ(out, R + "z" + R + R + R + "z" + R + R);
    EXPECT_EQ(bad, 6u);
    // Latin-1 and us-ascii are decoded as windows-1252.
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\xE9\x80\xFF", "iso-8859-1", out, &bad));
    EXPECT_EQ(out, "\xC3\xA9\xE2\x82\xAC\xC3\xBF");
    EXPECT_EQ(bad, 0u);
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\x93q\x94", "us-ascii", out, &bad));
    EXPECT_EQ(out, "\xE2\x80\x9Cq\xE2\x80\x9D");
    // The five holes of windows-1252 are bad bytes.
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\x81\x8D", "windows-1252", out, &bad));
    EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(bad, 2u);
}

TEST(Charset, ToUtf8ThroughIcu) {
    std::string out = "prefix:";
    std::size_t bad = 99;
    EXPECT_TRUE(msg::to_utf8("\xF0\xD2\xC9\xD7\xC5\xD4", "koi8-r", out, &bad));
    EXPECT_EQ(out, "prefix:\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");  // appended
    EXPECT_EQ(bad, 0u);
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\x93\xFA\x96\x7B\x8C\xEA", "shift_jis", out, &bad));
    EXPECT_EQ(out, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\x1B$B$3$s$K$A$O\x1B(B", "ISO-2022-JP", out, &bad));
    EXPECT_EQ(out, "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF");  // こんにちは
    // Characters outside BMP come out as 4-byte UTF-8 (UTF-16 surrogates joined).
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\xD8\x3D\xDE\x00"s, "utf-16be", out, &bad));
    EXPECT_EQ(out, "\xF0\x9F\x98\x80");
    // A truncated multi-byte sequence: U+FFFD, counted.
    out.clear();
    EXPECT_TRUE(msg::to_utf8("ab\x93", "shift_jis", out, &bad));
    EXPECT_EQ(out.substr(0, 2), "ab");
    EXPECT_GE(bad, 1u);
    EXPECT_TRUE(msg::is_valid_utf8(out));
    EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos);
}

// Big5-HKSCS: the characters ICU's table gives as private-use code points
// come out as the Unicode ones HKSCS-2008 and other decoders give, in any
// slicing; the rest as ICU has them.
TEST(Charset, Big5HkscsWithoutPrivateUse) {
    const std::string bytes = "\x88\x40 \x8c\x43 \x88\x62 \xa4\x40";
    const std::string want = "\xE3\x87\x80 \xE9\xBE\xA6 \xC3\x8A\xCC\x84 \xE4\xB8\x80";   // U+31C0 U+9FA6 U+00CA U+0304 U+4E00
    for (const char* label : {"big5-hkscs", "Big5-HKSCS"}) {
        std::string out;
        std::size_t bad = 0;
        ASSERT_TRUE(msg::to_utf8(bytes, label, out, &bad));
        EXPECT_EQ(out, want);
        EXPECT_EQ(bad, 0u);
    }
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
        msg::TextDecoder d("big5-hkscs");
        std::string out;
        d.step(std::string_view(bytes).substr(0, cut), &out);
        d.step(std::string_view(bytes).substr(cut), &out);
        d.finish(&out);
        EXPECT_EQ(out, want) << cut;
    }
    std::string plain;   // big5 itself (windows-950) is not touched
    ASSERT_TRUE(msg::to_utf8("\xa4\x40", "big5", plain));
    EXPECT_EQ(plain, "\xE4\xB8\x80");
}

TEST(Charset, LabelsDecodedWithTheirSuperset) {
    std::string out;
    std::size_t bad = 99;
    // GBK bytes in mail labelled gb2312 (0x81 0x40 is GBK only): gb18030.
    EXPECT_TRUE(msg::to_utf8("\xB0\xA1\x81\x40", "gb2312", out, &bad));
    EXPECT_EQ(out, "\xE5\x95\x8A\xE4\xB8\x82");  // 啊丂
    EXPECT_EQ(bad, 0u);
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\x81\x40", "x-gbk", out, &bad));
    EXPECT_EQ(out, "\xE4\xB8\x82");
    // windows-949 (UHC) bytes labelled euc-kr or ks_c_5601-1987.
    for (const char* label : {"euc-kr", "EUC-KR", "ks_c_5601-1987", "korean"}) {
        out.clear();
        EXPECT_TRUE(msg::to_utf8("\x81\x41\xB0\xA1", label, out, &bad)) << label;
        EXPECT_EQ(out, "\xEA\xB0\x82\xEA\xB0\x80") << label;  // 갂가
        EXPECT_EQ(bad, 0u) << label;
    }
    // windows-874 for tis-620, windows-1254 for iso-8859-9: the euro sign.
    for (const char* label : {"tis-620", "iso-8859-11", "iso-8859-9", "latin5"}) {
        out.clear();
        EXPECT_TRUE(msg::to_utf8("\x80", label, out, &bad)) << label;
        EXPECT_EQ(out, "\xE2\x82\xAC") << label;
        EXPECT_EQ(bad, 0u) << label;
    }
    // iso-8859-1: windows-1252, whose five holes are the Latin-1 controls.
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\x80\x81", "iso-8859-1", out, &bad));
    EXPECT_EQ(out, "\xE2\x82\xAC\xC2\x81");
    EXPECT_EQ(bad, 0u);
    // Bytes that the superset does not decode either are still bad.
    out.clear();
    EXPECT_TRUE(msg::to_utf8("a\xFF", "gb2312", out, &bad));
    EXPECT_EQ(bad, 1u);
    EXPECT_TRUE(msg::charset_known("x-gbk"));
    EXPECT_EQ(msg::decoding_charset("GB2312"), "gb18030");
    EXPECT_EQ(msg::decoding_charset("x-gbk"), "gb18030");
    EXPECT_EQ(msg::decoding_charset("ks_c_5601-1987"), "windows-949");
    EXPECT_EQ(msg::decoding_charset("tis-620"), "windows-874");
    EXPECT_EQ(msg::decoding_charset("us-ascii"), "windows-1252");
    EXPECT_EQ(msg::decoding_charset("koi8-r"), "koi8-r");
    EXPECT_EQ(msg::decoding_charset("x-no-such-charset"), "");
}

TEST(Charset, FirstBadOffset) {
    std::string out;
    std::size_t bad = 0, first = 99;
    EXPECT_TRUE(msg::to_utf8("ab\xFF" "c\xFF", "utf-8", out, &bad, &first));
    EXPECT_EQ(bad, 2u);
    EXPECT_EQ(first, 2u);
    first = 99;
    out.clear();
    EXPECT_TRUE(msg::to_utf8("abc\x81", "windows-1252", out, &bad, &first));
    EXPECT_EQ(first, 3u);
    first = 99;
    out.clear();
    EXPECT_TRUE(msg::to_utf8("\x93\xFA\x93\xFA\xA0x", "shift_jis", out, &bad, &first));
    EXPECT_GE(bad, 1u);
    EXPECT_EQ(first, 4u);
    first = 99;
    out.clear();
    EXPECT_TRUE(msg::to_utf8("clean", "koi8-r", out, &bad, &first));
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(first, 99u);  // left alone
}

TEST(Charset, Stateful) {
    for (const char* cs : {"iso-2022-jp", "ISO-2022-KR", "utf-7", "hz-gb-2312", "utf-16"})
        EXPECT_TRUE(msg::charset_stateful(cs)) << cs;
    for (const char* cs : {"utf-8", "iso-8859-1", "shift_jis", "gb2312", "euc-kr", "utf-16be", "x-no-such"})
        EXPECT_FALSE(msg::charset_stateful(cs)) << cs;
}

TEST(Charset, ToUtf8UnknownLeavesOutputUnchanged) {
    std::string out = "keep";
    EXPECT_FALSE(msg::to_utf8("abc", "x-no-such-charset", out));
    EXPECT_EQ(out, "keep");
}

TEST(Charset, FromUtf8) {
    std::string out;
    std::size_t unmappable = 99;
    EXPECT_TRUE(msg::from_utf8("caf\xC3\xA9", "iso-8859-1", out, &unmappable));
    EXPECT_EQ(out, "caf\xE9");
    EXPECT_EQ(unmappable, 0u);
    out.clear();
    EXPECT_TRUE(msg::from_utf8("\xE2\x82\xAC", "iso-8859-1", out, &unmappable));  // via windows-1252
    EXPECT_EQ(out, "\x80");
    out.clear();
    EXPECT_TRUE(msg::from_utf8("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", "koi8-r", out,
                               &unmappable));
    EXPECT_EQ(out, "\xF0\xD2\xC9\xD7\xC5\xD4");
    EXPECT_EQ(unmappable, 0u);
    out.clear();
    EXPECT_TRUE(msg::from_utf8("a\xE6\x97\xA5" "b", "us-ascii", out, &unmappable));
    EXPECT_EQ(unmappable, 1u);
    EXPECT_EQ(out.front(), 'a');
    EXPECT_EQ(out.back(), 'b');
    EXPECT_EQ(out.size(), 3u);
    out = "keep";
    EXPECT_FALSE(msg::from_utf8("abc", "x-no-such-charset", out));
    EXPECT_EQ(out, "keep");
    // Round trip through a multi-byte charset.
    const std::string text = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E abc";
    std::string sjis, back;
    ASSERT_TRUE(msg::from_utf8(text, "shift_jis", sjis));
    ASSERT_TRUE(msg::to_utf8(sjis, "shift_jis", back));
    EXPECT_EQ(back, text);
}

TEST(Charset, IsValidUtf8) {
    EXPECT_TRUE(msg::is_valid_utf8(""));
    EXPECT_TRUE(msg::is_valid_utf8("plain ascii text that is longer than eight bytes"));
    EXPECT_TRUE(msg::is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
    EXPECT_TRUE(msg::is_valid_utf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
    EXPECT_TRUE(msg::is_valid_utf8("\xED\x9F\xBF"));       // U+D7FF
    EXPECT_TRUE(msg::is_valid_utf8("\x00"s));
    EXPECT_FALSE(msg::is_valid_utf8("\xC0\x80"));          // overlong NUL
    EXPECT_FALSE(msg::is_valid_utf8("\xC1\xBF"));          // overlong
    EXPECT_FALSE(msg::is_valid_utf8("\xE0\x9F\xBF"));      // overlong 3-byte
    EXPECT_FALSE(msg::is_valid_utf8("\xF0\x8F\xBF\xBF"));  // overlong 4-byte
    EXPECT_FALSE(msg::is_valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(msg::is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(msg::is_valid_utf8("\xF5\x80\x80\x80"));
    EXPECT_FALSE(msg::is_valid_utf8("\xE2\x82"));          // truncated
    EXPECT_FALSE(msg::is_valid_utf8("\x80"));              // lone continuation
    EXPECT_FALSE(msg::is_valid_utf8("abcdefghijklmn\xFF"));  // after the fast path
    EXPECT_FALSE(msg::is_valid_utf8("\xC3\xA9\xC3"));
}

// One character per valid sequence, and per maximal subpart of what is not
// one (Unicode 3.9), as decoders count U+FFFD: the lengths of the pieces.
TEST(Charset, Utf8CharLengthCountsAsDecodersDo) {
    const auto pieces = [](std::string_view s) {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < s.size(); i += out.back()) out.push_back(msg::utf8_char_length(s, i));
        return out;
    };
    using V = std::vector<std::size_t>;
    EXPECT_EQ(pieces("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), (V{1, 2, 3, 4}));
    EXPECT_EQ(pieces("\x80"), (V{1}));                       // lone continuation
    EXPECT_EQ(pieces("\xED\xA0\x80"), (V{1, 1, 1}));         // surrogate: ED A0 starts nothing valid
    EXPECT_EQ(pieces("\xC0\x80"), (V{1, 1}));                // overlong NUL
    EXPECT_EQ(pieces("\xE2\x82z"), (V{2, 1}));               // cut short: one U+FFFD
    EXPECT_EQ(pieces("\xE2\x82"), (V{2}));
    EXPECT_EQ(pieces("\xF0\x9F\x98z"), (V{3, 1}));
    EXPECT_EQ(pieces("\xF4\x90\x80\x80"), (V{1, 1, 1, 1}));   // past U+10FFFF
    EXPECT_EQ(pieces("\xF5\x80"), (V{1, 1}));
}

TEST(Charset, SurrogatePairAcrossConversionChunks) {
    // Characters outside the BMP at every position around ICU's output chunk
    // boundaries must come out whole, never as two U+FFFD.
    for (std::size_t lead : {2046u, 2047u, 2048u, 4095u}) {
        SCOPED_TRACE(lead);
        std::string in;
        for (std::size_t i = 0; i < lead; ++i) in += "\x00\x61"s;  // 'a' in UTF-16BE
        for (int i = 0; i < 3; ++i) in += "\xD8\x3D\xDE\x00"s;     // U+1F600
        std::string out;
        std::size_t bad = 99;
        ASSERT_TRUE(msg::to_utf8(in, "utf-16be", out, &bad));
        EXPECT_EQ(bad, 0u);
        std::string expect(lead, 'a');
        for (int i = 0; i < 3; ++i) expect += "\xF0\x9F\x98\x80";
        EXPECT_TRUE(out == expect) << "output differs at the chunk boundary; size " << out.size()
                                   << " instead of " << expect.size();
    }
}

// Text from elsewhere shown on a terminal: control bytes escaped (C0, DEL,
// C1 in UTF-8, bytes that are not UTF-8); printable_lines keeps the line
// feeds between lines, and only those.
TEST(Charset, PrintableAndPrintableLines) {
    EXPECT_EQ(msg::printable("ok\tcaf\xc3\xa9"), "ok\tcaf\xc3\xa9");
    EXPECT_EQ(msg::printable("a\x1b[2J\nb\xc2\x9b\x7f\xff"), "a\\x1b[2J\\x0ab\\xc2\\x9b\\x7f\\xff");
    EXPECT_EQ(msg::printable_lines("550 no\x1b[2J\nsecond\r\n\nlast"), "550 no\\x1b[2J\nsecond\\x0d\n\nlast");
    EXPECT_EQ(msg::printable_lines("one\n"), "one\n");
    EXPECT_EQ(msg::printable_lines(""), "");
}

// What may not reach a terminal as it is, decided once: controls, C1, the
// bidirectional embeddings, overrides and isolates, U+2028 and U+2029;
// printable() escapes each of their bytes. "invoice<RLO>fdp.exe" would
// show as "invoiceexe.pdf"; a U+2028 would break a line in an editor.
TEST(Charset, UnsafeCharactersAreOneRule) {
    using msg::unsafe_char_length;
    EXPECT_EQ(unsafe_char_length("\x1b", 0), 1u);
    EXPECT_EQ(unsafe_char_length("\t", 0), 1u);
    EXPECT_EQ(unsafe_char_length("\x7f", 0), 1u);
    EXPECT_EQ(unsafe_char_length("a", 0), 0u);
    EXPECT_EQ(unsafe_char_length("\xc2\x85", 0), 2u);          // U+0085 NEL
    EXPECT_EQ(unsafe_char_length("\xc2\x9b", 0), 2u);          // U+009B CSI
    EXPECT_EQ(unsafe_char_length("\xc2\xa0", 0), 0u);          // U+00A0 no-break space
    for (const char* bidi : {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae",
                             "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9"})
        EXPECT_EQ(unsafe_char_length(bidi, 0), 3u) << bidi;
    EXPECT_EQ(unsafe_char_length("\xe2\x80\xa8", 0), 3u);      // U+2028 LINE SEPARATOR
    EXPECT_EQ(unsafe_char_length("\xe2\x80\xa9", 0), 3u);      // U+2029 PARAGRAPH SEPARATOR
    EXPECT_EQ(unsafe_char_length("\xe2\x80\xa7", 0), 0u);      // U+2027 HYPHENATION POINT
    EXPECT_EQ(unsafe_char_length("\xe2\x80\xaf", 0), 0u);      // U+202F narrow no-break space
    EXPECT_EQ(unsafe_char_length("\xe2\x81\xa5", 0), 0u);      // U+2065 (unassigned)
    EXPECT_EQ(unsafe_char_length("\xe2\x81\xaa", 0), 0u);      // U+206A (deprecated, inert)
    EXPECT_EQ(unsafe_char_length("\xe2\x82\xac", 0), 0u);      // the euro sign
    EXPECT_EQ(unsafe_char_length("x\xe2\x80", 1), 0u);         // cut short: the caller's
    EXPECT_EQ(unsafe_char_length("\xc2", 0), 0u);

    EXPECT_EQ(msg::printable("invoice\xe2\x80\xae" "fdp.exe"), "invoice\\xe2\\x80\\xae" "fdp.exe");
    EXPECT_EQ(msg::printable("a\xe2\x81\xa6" "b\xe2\x81\xa9" "c"), "a\\xe2\\x81\\xa6" "b\\xe2\\x81\\xa9" "c");
    EXPECT_EQ(msg::printable("one\xe2\x80\xa8two\xe2\x80\xa9"), "one\\xe2\\x80\\xa8two\\xe2\\x80\\xa9");
    // Text around them, and other characters of those blocks, unchanged.
    EXPECT_EQ(msg::printable("\xe2\x80\x94 \xe2\x82\xac \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"),
              "\xe2\x80\x94 \xe2\x82\xac \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
    // Escaped text is printable: printable() of it changes nothing.
    const std::string once = msg::printable("\x1b]0;t\x07\xe2\x80\xae\xc2\x9b\xff\\x");
    EXPECT_EQ(msg::printable(once), once);
}
