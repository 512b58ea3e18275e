// header_test.cpp - unfolding, RFC 2047 words, RFC 2045/2231 parameters and
// the MIME fields (msg/header.hpp).
#include "defect_helpers.hpp"
#include "msg/header.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "msg/charset.hpp"
#include "msg/message.hpp"

using msg::DefectCode;

namespace {

using msg_test::count;
using msg_test::first;

}  // namespace

TEST(Iequals, CaseInsensitiveAscii) {
    EXPECT_TRUE(msg::iequals("Content-Type", "content-TYPE"));
    EXPECT_FALSE(msg::iequals("Content-Type", "Content-Typ"));
    EXPECT_FALSE(msg::iequals("a", "b"));
    EXPECT_TRUE(msg::iequals("", ""));
    EXPECT_EQ(msg::to_lower_ascii("MiXeD-123\xC3\x89"), "mixed-123\xC3\x89");
}

TEST(Unfold, RemovesFoldingAndTrims) {
    EXPECT_EQ(msg::unfold("  Hello\r\n World  "), "Hello World");
    EXPECT_EQ(msg::unfold("a\n\tb"), "a\tb");
    EXPECT_EQ(msg::unfold(" x\r\n  y\r\n\tz"), "x  y\tz");
    EXPECT_EQ(msg::unfold(""), "");
    EXPECT_EQ(msg::unfold(" \t "), "");
    // Into a buffer only when folded; else a view into the value, trimmed alike.
    for (std::string_view v : {"  Hello\r\n World  ", "a\n\tb", " plain value\t", "", " \t ", "x"}) {
        std::string buf;
        const std::string_view u = msg::unfold(v, buf);
        EXPECT_EQ(u, msg::unfold(v)) << v;
        const bool folded = v.find_first_of("\r\n") != std::string_view::npos;
        EXPECT_EQ(buf.empty(), !folded || u.empty()) << v;
        if (!folded && !u.empty()) {
            EXPECT_TRUE(u.data() >= v.data() && u.data() + u.size() <= v.data() + v.size()) << v;
        }
    }
}

// --- decode_header_text --------------------------------------------------------

TEST(DecodeHeaderText, PlainAsciiIsTrimmed) {
    EXPECT_EQ(msg::decode_header_text(" Hello world "), "Hello world");
    EXPECT_EQ(msg::decode_header_text(" Hello\r\n world"), "Hello world");
    EXPECT_EQ(msg::decode_header_text(""), "");
}

TEST(DecodeHeaderText, QAndBEncodings) {
    msg::Defects d;
    EXPECT_EQ(msg::decode_header_text("=?iso-8859-1?q?caf=E9?=", &d), "caf\xC3\xA9");
    EXPECT_EQ(msg::decode_header_text("=?UTF-8?B?w6k=?=", &d), "\xC3\xA9");
    EXPECT_EQ(msg::decode_header_text("=?utf-8?Q?a_b?=", &d), "a b");
    EXPECT_EQ(msg::decode_header_text("Re: =?ISO-8859-1?Q?caf=E9?= ok", &d), "Re: caf\xC3\xA9 ok");
    // RFC 2231 language suffix in the charset.
    EXPECT_EQ(msg::decode_header_text("=?US-ASCII*EN?Q?Keith_Moore?=", &d), "Keith Moore");
    EXPECT_TRUE(d.empty());
}

TEST(DecodeHeaderText, SeveralCharsets) {
    // "Привет" in KOI8-R, base64.
    EXPECT_EQ(msg::decode_header_text("=?koi8-r?B?8NLJ18XU?="),
              "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
    // "日本語" in Shift_JIS, base64 and Q.
    EXPECT_EQ(msg::decode_header_text("=?shift_jis?B?k/qWe4zq?="),
              "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
    EXPECT_EQ(msg::decode_header_text("=?Shift_JIS?Q?=93=FA=96{=8C=EA?="),
              "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
    // iso-8859-1 is read as windows-1252: 0x80 is the euro sign.
    EXPECT_EQ(msg::decode_header_text("=?iso-8859-1?Q?=80?="), "\xE2\x82\xAC");
}

TEST(DecodeHeaderText, StatefulCharsetsWordByWord) {
    // Each ISO-2022-JP word is complete ("テスト", ESC $ B ... ESC ( B): they
    // are converted one by one, not joined (a joint of two escape sequences
    // is not valid ISO-2022-JP to ICU).
    msg::Defects d;
    const std::string tesuto = "\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88";
    EXPECT_EQ(msg::decode_header_text("=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", &d),
              tesuto + tesuto);
    EXPECT_TRUE(d.empty());
    // UTF-7: a base64 run that ends with its word (no '-') must not run on
    // into the next word's '+'.
    EXPECT_EQ(msg::decode_header_text("=?utf-7?Q?+MEIwRA?= =?utf-7?Q?+MEY-?=", &d),
              "\xE3\x81\x82\xE3\x81\x84\xE3\x81\x86");  // あいう
    EXPECT_TRUE(d.empty());
    // A word cut in the middle of a character (Exchange 2007 does it) does
    // not convert alone: it is joined with the next, "ニャ" (as Python),
    // and the cut is said.
    EXPECT_EQ(msg::decode_header_text("=?iso-2022-jp?B?GyRCJUsl?=\n =?iso-2022-jp?B?YxsoQg==?=", &d),
              "\xE3\x83\x8B\xE3\x83\xA3");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::EncodedWordSplit);
    d.clear();
    // A broken word takes no good word after it into its mode: "hello"
    // (no escape of its own) is ASCII text, not two-byte characters.
    EXPECT_EQ(msg::decode_header_text("=?iso-2022-jp?B?GyRCJA==?= =?iso-2022-jp?B?aGVsbG8=?= =?iso-2022-jp?B?IHdvcmxk?=", &d),
              "\xEF\xBF\xBDhello world");
    EXPECT_EQ(d.size(), 1u);
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-7?B?KzJEMw==?= =?utf-7?B?K01FSXdSQS0=?=", &d).substr(6),
              "\xE3\x81\x82\xE3\x81\x84");   // the second word's "あい" whatever the first gives
    d.clear();
    // A stateless multibyte charset is still joined: one euro sign split in
    // two, said once (RFC 2047 5: each word holds whole characters).
    EXPECT_EQ(msg::decode_header_text("=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", &d), "\xE2\x82\xAC");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::EncodedWordSplit);
    EXPECT_EQ(d[0].offset, 0u);
    d.clear();
    // whole characters in each word: nothing to say
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?Gr=C3=BC?= =?utf-8?q?=C3=9Fe?=", &d), "Gr\xC3\xBC\xC3\x9F" "e");
    EXPECT_TRUE(d.empty());
    // Any multibyte charset: "日本" in Shift_JIS (93 FA 96 7B) and in GBK
    // (C8 D5 B1 BE), each cut after a lead byte, said at the word that ends
    // inside the character (the second word here); cut between characters,
    // nothing said.
    EXPECT_EQ(msg::decode_header_text("=?shift_jis?q?=93=FA?= =?shift_jis?q?=96?= =?shift_jis?q?=7B?=", &d, 10),
              "\xE6\x97\xA5\xE6\x9C\xAC");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::EncodedWordSplit);
    EXPECT_EQ(d[0].offset, 10u + 23u);
    EXPECT_EQ(d[0].detail, "shift_jis");
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?gbk?b?yA==?= =?gbk?b?1bG+?=", &d), "\xE6\x97\xA5\xE6\x9C\xAC");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::EncodedWordSplit);
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?shift_jis?q?=93=FA?= =?shift_jis?q?=96=7B?=", &d), "\xE6\x97\xA5\xE6\x9C\xAC");
    EXPECT_TRUE(d.empty());
    // A byte that can begin no character is bad bytes, not a cut.
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a=C0?= =?utf-8?q?b?=", &d), "a\xEF\xBF\xBD" "b");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::CharsetBadBytes);
    d.clear();
}

TEST(DecodeHeaderText, BytesThatDoNotDecodeAreReported) {
    msg::Defects d;
    EXPECT_EQ(msg::decode_header_text("ok =?utf-8?Q?caf=E9?=", &d, 100), "ok caf\xEF\xBF\xBD");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, msg::DefectCode::CharsetBadBytes);
    EXPECT_EQ(d[0].offset, 103u);
    // GBK in a word labelled gb2312 decodes.
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?gb2312?Q?=81=40?=", &d), "\xE4\xB8\x82");
    EXPECT_TRUE(d.empty());
}

TEST(DecodeHeaderText, WhiteSpaceBetweenAdjacentWordsIsDropped) {
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a?= =?utf-8?q?b?="), "ab");
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a?=\r\n =?utf-8?q?b?=\r\n\t=?utf-8?q?c?="), "abc");
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a?==?utf-8?q?b?="), "ab");
    // ... but not between a word and ordinary text.
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a?= b =?utf-8?q?c?="), "a b c");
    EXPECT_EQ(msg::decode_header_text("x =?utf-8?q?a?=  y"), "x a  y");
    // A multi-byte character split across two words is joined.
    EXPECT_EQ(msg::decode_header_text("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?="), "\xC3\xA9\xC3\xA9");
}

// RFC 2047 2: encoded-text is one character at least. An empty word
// decodes to nothing, as lenient readers take it, and is said.
TEST(DecodeHeaderText, EmptyEncodedWordIsSaid) {
    msg::Defects d;
    EXPECT_EQ(msg::decode_header_text("=?UTF-8?B?\?= x =?utf-8?q?\?=", &d, 10), "x");
    ASSERT_EQ(count(d, DefectCode::EncodedWordMalformed), 2u);
    EXPECT_EQ(first(d, DefectCode::EncodedWordMalformed)->offset, 10u);
    EXPECT_EQ(first(d, DefectCode::EncodedWordMalformed)->detail, "decoded as far as it goes: =?UTF-8?B?\?=");
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a?=", &d), "a");
    EXPECT_TRUE(d.empty());
}

TEST(DecodeHeaderText, MalformedWordKeptLiterallyWithDefect) {
    msg::Defects d;
    // 'X' is not an encoding.
    EXPECT_EQ(msg::decode_header_text("a =?utf-8?X?abc?= b", &d, 100), "a =?utf-8?X?abc?= b");
    ASSERT_EQ(count(d, DefectCode::EncodedWordMalformed), 1u);
    EXPECT_EQ(first(d, DefectCode::EncodedWordMalformed)->offset, 102u);
    EXPECT_EQ(first(d, DefectCode::EncodedWordMalformed)->detail, "kept as it is: =?utf-8?X?abc?=");
    // Begun as an encoder begins a word, then broken (not closed, white
    // space inside): kept as it is, and reported (Python decodes the
    // second, so readers differ), up to its end or to the white space.
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?abc", &d), "=?utf-8?q?abc");
    ASSERT_EQ(count(d, DefectCode::EncodedWordMalformed), 1u);
    EXPECT_EQ(d[0].detail, "kept as it is: =?utf-8?q?abc");
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?UTF-8?Q?Gr=C3=BC=C3=9Fe aus K=C3=B6ln?= x", &d, 10),
              "=?UTF-8?Q?Gr=C3=BC=C3=9Fe aus K=C3=B6ln?= x");
    ASSERT_EQ(count(d, DefectCode::EncodedWordMalformed), 1u);
    EXPECT_EQ(d[0].offset, 10u);
    EXPECT_EQ(d[0].detail, "kept as it is: =?UTF-8?Q?Gr=C3=BC=C3=9Fe aus K=C3=B6ln?=");
    // A broken one before a good one: reported up to its white space, the
    // good one decoded.
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a b =?utf-8?q?c?=", &d), "=?utf-8?q?a b c");
    ASSERT_EQ(count(d, DefectCode::EncodedWordMalformed), 1u);
    EXPECT_EQ(d[0].detail, "kept as it is: =?utf-8?q?a");
    // Text that merely holds "=?" is no word: nothing to say.
    d.clear();
    EXPECT_EQ(msg::decode_header_text("what =? is this ?= then", &d), "what =? is this ?= then");
    EXPECT_EQ(msg::decode_header_text("a=?b", &d), "a=?b");
    EXPECT_TRUE(d.empty());
    // A bad Q escape inside a well-formed word: decoded as far as possible, reported.
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a=ZZ?=", &d), "a=ZZ");
    EXPECT_EQ(count(d, DefectCode::EncodedWordMalformed), 1u);
    // Bad base64 inside a word.
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-8?b?TWF?=", &d), "Ma");
    EXPECT_EQ(count(d, DefectCode::EncodedWordMalformed), 1u);
    // A '?' or an 8-bit byte in Q text (RFC 2047 2: printable ASCII but
    // '?'): decoded as far as possible, reported; a clean word is not.
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a?b?= =?utf-8?q?caf\xC3\xA9?=", &d), "a?bcaf\xC3\xA9");
    EXPECT_EQ(count(d, DefectCode::EncodedWordMalformed), 2u);
    d.clear();
    EXPECT_EQ(msg::decode_header_text("=?utf-8?q?a=3Fb?=", &d), "a?b");
    EXPECT_TRUE(d.empty());
}

TEST(DecodeHeaderText, UnknownCharsetKeptLiterally) {
    msg::Defects d;
    EXPECT_EQ(msg::decode_header_text("x =?x-no-such-charset?q?abc?= y", &d, 10),
              "x =?x-no-such-charset?q?abc?= y");
    ASSERT_EQ(count(d, DefectCode::EncodedWordCharset), 1u);
    EXPECT_EQ(first(d, DefectCode::EncodedWordCharset)->offset, 12u);
    EXPECT_EQ(first(d, DefectCode::EncodedWordCharset)->detail, "x-no-such-charset");
    // The white space after it is kept, and a following good word decodes.
    EXPECT_EQ(msg::decode_header_text("=?x-no-such-charset?q?a?= =?utf-8?q?b?="),
              "=?x-no-such-charset?q?a?= b");
}

TEST(DecodeHeaderText, Raw8BitText) {
    // Valid UTF-8 passes through.
    EXPECT_EQ(msg::decode_header_text("caf\xC3\xA9"), "caf\xC3\xA9");
    // Anything else is windows-1252.
    EXPECT_EQ(msg::decode_header_text("caf\xE9"), "caf\xC3\xA9");
    EXPECT_EQ(msg::decode_header_text("\x80 5"), "\xE2\x82\xAC 5");
    // Mixed with an encoded word.
    EXPECT_EQ(msg::decode_header_text("\xE9t\xE9 =?utf-8?q?ok?="), "\xC3\xA9t\xC3\xA9 ok");
    EXPECT_TRUE(msg::is_valid_utf8(msg::decode_header_text("\xFF\xFE\x81\x8D\x8F\x90\x9D")));
}

// The rule for raw 8-bit text is the field's, not a line's: where the field
// is folded changes nothing (RFC 5322 2.2.3), and a piece of it decodes as
// it does in place.
TEST(DecodeHeaderText, Raw8BitTextReadAsTheWholeField) {
    const std::string one_line = "caf\xE9 \xE2\x82\xAC", folded = "caf\xE9\n \xE2\x82\xAC";
    EXPECT_EQ(msg::decode_header_text(one_line), "caf\xC3\xA9 \xC3\xA2\xE2\x80\x9A\xC2\xAC");
    EXPECT_EQ(msg::decode_header_text(folded), msg::decode_header_text(one_line));
    EXPECT_EQ(msg::decode_header_piece("\xE2\x82\xAC", one_line), "\xC3\xA2\xE2\x80\x9A\xC2\xAC");
    EXPECT_EQ(msg::decode_header_piece("\xE2\x82\xAC", "x \xE2\x82\xAC"), "\xE2\x82\xAC");
}

// --- parameters -----------------------------------------------------------------

namespace {

// resent_blocks() of a header, as the indices of each block's fields.
std::vector<std::vector<std::size_t>> blocks_of(const std::string& h) {
    static std::vector<msg::HeaderField> fields;
    static std::string keep;
    keep = h;
    fields.clear();
    msg::parse_header_block(keep, fields, nullptr);
    std::vector<std::vector<std::size_t>> got;
    for (const msg::ResentBlock& b : msg::resent_blocks(fields)) {
        got.emplace_back();
        for (const msg::HeaderField* f : b.fields) got.back().push_back(static_cast<std::size_t>(f - fields.data()));
    }
    return got;
}

}  // namespace

// RFC 5322 3.6.6: each resending prepends a block, with its trace fields
// above it. Above the message's own fields a block is a run of resent
// fields, ended by any other field or by a name it holds already; resent
// fields below them (appended by an MTA) complete the newest block that
// lacks their name.
TEST(ResentBlocks, RunsAboveTheMessagesFieldsAndFieldsAppendedBelow) {
    using B = std::vector<std::vector<std::size_t>>;
    const std::string date = "Mon, 23 Nov 2026 09:15:00 +0100";
    EXPECT_EQ(blocks_of("Received: by c.example; " + date + "\n"                                 // 0
                        "Resent-From: c@example.org\nX-Loop: c\nRESENT-TO: d@example.org\n"      // 1 2 3
                        "Resent-Date: " + date + "\nResent-Date: " + date + "\n"                 // 4 5
                        "Resent-From: b@example.org\nReturn-Path: <b@example.org>\n"             // 6 7
                        "Resent-To: c@example.org\nResent-Comments: not a resent field\n"        // 8 9
                        "From: a@example.org\nResent-Message-ID: <1@b.example>\n\n"),           // 10 11
              (B{{1, 11}, {3, 4}, {5, 6}, {8}}));
    // Postfix's order: the resender's fields on top of the first journey's
    // Received; the Resent-Date and Resent-Message-ID it adds at the end.
    EXPECT_EQ(blocks_of("Received: by mx.example.net; " + date + "\nResent-From: fwd@example.org\n"      // 0 1
                        "Resent-To: new@example.net\nReceived: by mx.example.org; " + date + "\n"        // 2 3
                        "From: a@example.org\nTo: b@example.org\nSubject: s\n"                           // 4 5 6
                        "Resent-Date: " + date + "\nResent-Message-Id: <2@example.org>\n\n"),            // 7 8
              (B{{1, 2, 7, 8}}));
    // Appended twice (two resendings, each completed): the newest block
    // lacking a name takes it; a name no block lacks begins a block.
    EXPECT_EQ(blocks_of("Resent-From: c@example.org\nReceived: by x; " + date + "\nResent-From: b@example.org\n"
                        "Subject: s\nResent-Date: " + date + "\nResent-Date: " + date + "\nResent-Date: " + date + "\n\n"),
              (B{{0, 4}, {2, 5}, {6}}));
    // All of them below (a program that appends its fields)
    EXPECT_EQ(blocks_of("From: a@example.org\nResent-From: b@example.org\nX-A: 1\nResent-To: c@example.org\n\n"),
              (B{{1, 3}}));
    EXPECT_TRUE(blocks_of("From: a@example.org\nResent-Comments: x\n\n").empty());

    std::vector<msg::HeaderField> fields;
    const std::string h = "Resent-From: a@example.org\nResent-To: b@example.org\n\n";
    msg::parse_header_block(h, fields, nullptr);
    const std::vector<msg::ResentBlock> blocks = msg::resent_blocks(fields);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].find("resent-to"), &fields[1]);
    EXPECT_EQ(blocks[0].find("Resent-Sender"), nullptr);
    EXPECT_TRUE(msg::is_resent_field("Resent-Reply-To"));
    EXPECT_FALSE(msg::is_resent_field("Resent-Comments"));
    EXPECT_FALSE(msg::is_resent_field("Resent-"));
    EXPECT_TRUE(msg::resent_blocks({}).empty());
}

// Appended fields of one name, none with a block that lacks it: each
// begins a block (and finds where without a look at every block before).
TEST(ResentBlocks, ManyAppendedFieldsOfOneName) {
    std::string h = "From: a@example.org\n";
    for (int i = 0; i < 9000; ++i) h += "Resent-To: b@example.org\n";
    h += "\n";
    const auto got = blocks_of(h);
    EXPECT_EQ(got.size(), 9000u);
}

TEST(Parameters, TokensAndQuotedStrings) {
    msg::Defects d;
    auto p = msg::parse_parameters("; charset=\"us-ascii\"; Format=flowed ;delsp=yes", &d);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0].name, "charset");
    EXPECT_EQ(p[0].value, "us-ascii");
    EXPECT_EQ(p[1].name, "format");
    EXPECT_EQ(p[1].value, "flowed");
    EXPECT_EQ(p[2].name, "delsp");
    EXPECT_EQ(p[2].value, "yes");
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(msg::find_parameter(p, "FORMAT"), &p[1]);
    EXPECT_EQ(msg::find_parameter(p, "name"), nullptr);

    auto q = msg::parse_parameters("; name=\"a \\\"b\\\" c;d\"", &d);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].value, "a \"b\" c;d");
    // A quoted string folded across lines.
    auto f = msg::parse_parameters(";\r\n\tname=\"long\r\n name\"", &d);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].value, "long name");
    // Comments between parameters.
    auto c = msg::parse_parameters(" (comment) ; a=1 (why) ; b=2", &d);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].value, "1");
    EXPECT_EQ(c[1].value, "2");
    EXPECT_TRUE(d.empty());
}

TEST(Parameters, Rfc2231Extended) {
    msg::Defects d;
    auto p = msg::parse_parameters(
        "; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", &d);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].name, "title");
    EXPECT_EQ(p[0].value, "This is ***fun***");
    EXPECT_EQ(p[0].charset, "us-ascii");
    EXPECT_EQ(p[0].language, "en-us");
    auto u = msg::parse_parameters("; filename*=UTF-8''%E2%82%AC.txt", &d);
    ASSERT_EQ(u.size(), 1u);
    EXPECT_EQ(u[0].value, "\xE2\x82\xAC.txt");
    EXPECT_EQ(u[0].charset, "utf-8");
    EXPECT_EQ(u[0].language, "");
    auto k = msg::parse_parameters("; filename*=koi8-r''%F0%D2%C9%D7%C5%D4", &d);
    ASSERT_EQ(k.size(), 1u);
    EXPECT_EQ(k[0].value, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
    EXPECT_TRUE(d.empty());
}

// Bytes that do not decode in the charset named (or 8-bit under
// us-ascii) are charset.bad-bytes, shown with U+FFFD (or as windows-1252)
// and kept as they came for a writer; in sections too.
TEST(Parameters, Rfc2231BytesThatDoNotDecode) {
    for (const auto& [text, shown, bytes] :
         {std::tuple<std::string, std::string, std::string>{"; filename*=utf-8''caf%E9.txt", "caf\xEF\xBF\xBD.txt",
                                                             "caf\xE9.txt"},
          {"; filename*=US-ASCII''caf%E9.txt", "caf\xC3\xA9.txt", "caf\xE9.txt"},
          {"; filename*0*=utf-8''caf%E9; filename*1=.txt", "caf\xEF\xBF\xBD.txt", "caf\xE9.txt"}}) {
        SCOPED_TRACE(text);
        msg::Defects d;
        const auto p = msg::parse_parameters(text, &d, 100);
        ASSERT_EQ(p.size(), 1u);
        EXPECT_EQ(p[0].value, shown);
        EXPECT_EQ(p[0].unconverted, bytes);
        ASSERT_EQ(d.size(), 1u);
        EXPECT_EQ(d[0].code, DefectCode::CharsetBadBytes);
        EXPECT_EQ(d[0].offset, 102u);
    }
    msg::Defects none;
    EXPECT_TRUE(msg::parse_parameters("; filename*=utf-8''caf%C3%A9.txt", &none)[0].unconverted.empty());
    EXPECT_TRUE(none.empty());
}

// An encoded word labelled us-ascii with an 8-bit byte is bad bytes too.
TEST(EncodedWords, EightBitUnderUsAscii) {
    msg::Defects d;
    EXPECT_EQ(msg::decode_header_text("=?us-ascii?q?caf=E9?=", &d), "caf\xC3\xA9");
    ASSERT_EQ(count(d, DefectCode::CharsetBadBytes), 1u);
    msg::Defects clean;
    msg::decode_header_text("=?us-ascii?q?cafe?= =?utf-8?q?caf=C3=A9?=", &clean);
    EXPECT_TRUE(clean.empty());
}

TEST(Parameters, Rfc2231Continuations) {
    msg::Defects d;
    auto p = msg::parse_parameters("; title*0=\"foo \"; title*1=bar; other=x", &d);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].name, "title");
    EXPECT_EQ(p[0].value, "foo bar");
    EXPECT_EQ(p[1].name, "other");
    EXPECT_TRUE(d.empty());
    // Out of order: joined in section order.
    auto o = msg::parse_parameters("; t*2=c; t*0=a; t*1=b", &d);
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].value, "abc");
    // Sections 10 and up sort numerically.
    std::string many;
    for (int i = 11; i >= 0; --i) many += "; n*" + std::to_string(i) + "=" + char('a' + i);
    auto m = msg::parse_parameters(many, &d);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].value, "abcdefghijkl");
    EXPECT_TRUE(d.empty());
}

TEST(Parameters, Rfc2231ExtendedContinuations) {
    msg::Defects d;
    auto p = msg::parse_parameters(
        "; title*0*=iso-8859-1'fr'caf%E9; title*1=\" au lait\"; title*2*=%20%E0%20moi", &d);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].value, "caf\xC3\xA9 au lait \xC3\xA0 moi");
    EXPECT_EQ(p[0].charset, "iso-8859-1");
    EXPECT_EQ(p[0].language, "fr");
    EXPECT_TRUE(d.empty());
}

// RFC 2231 4: the first section of an extended value begins with
// charset'lang', whether the value is in one piece or continued; one
// without it is said the same way in both.
TEST(Parameters, Rfc2231FirstSectionWithoutItsCharsetIsADefect) {
    for (const char* params : {"; filename*=utf-8'x.pdf", "; filename*0*=utf-8'; filename*1=x.pdf"}) {
        msg::Defects d;
        auto p = msg::parse_parameters(params, &d);
        ASSERT_EQ(p.size(), 1u) << params;
        ASSERT_EQ(d.size(), 1u) << params;
        EXPECT_EQ(d[0].code, msg::DefectCode::ParamSyntax) << params;
        EXPECT_EQ(d[0].offset, 2u) << params;
    }
    msg::Defects d;
    msg::parse_parameters("; filename*0*=utf-8''; filename*1=x.pdf", &d);
    EXPECT_TRUE(d.empty());
}

// RFC 2231 7: an extended value has no quoted form. In quotes it is read
// all the same (as Python's email package and GMime read it) and reported
// at its name; a quoted plain section beside it is not.
TEST(Parameters, Rfc2231ExtendedValueInQuotes) {
    msg::Defects d;
    auto p = msg::parse_parameters("; filename*=\"utf-8''%E2%82%AC.pdf\"", &d, 30);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].value, "\xE2\x82\xAC.pdf");
    EXPECT_EQ(p[0].charset, "utf-8");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::ParamExtendedQuoted);
    EXPECT_EQ(d[0].offset, 32u);
    EXPECT_EQ(d[0].detail, "filename*");
    d.clear();
    auto c = msg::parse_parameters("; t*0*=\"us-ascii'en'a%20\"; t*1=\"b c\"", &d);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].value, "a b c");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::ParamExtendedQuoted);
    EXPECT_EQ(d[0].detail, "t*0*");
    d.clear();
    (void)msg::parse_parameters("; filename*=utf-8''%E2%82%AC.pdf; name*0=\"a b\"", &d);
    EXPECT_TRUE(d.empty());
}

TEST(Parameters, Rfc2231GapsAreReportedAndJoined) {
    msg::Defects d;
    auto p = msg::parse_parameters("; a*0=x; a*2=z", &d, 40);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].value, "xz");
    ASSERT_EQ(count(d, DefectCode::ParamContinuationGap), 1u);
    // Reported at the section after the gap ("a*2" starts at 9).
    EXPECT_EQ(first(d, DefectCode::ParamContinuationGap)->offset, 49u);
    // Missing section 0.
    d.clear();
    auto q = msg::parse_parameters("; a*1=y", &d);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].value, "y");
    EXPECT_EQ(count(d, DefectCode::ParamContinuationGap), 1u);
}

TEST(Parameters, DuplicatesKeepTheFirst) {
    msg::Defects d;
    auto p = msg::parse_parameters("; a=1; A=2; b=3", &d, 0);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].value, "1");
    EXPECT_EQ(p[1].name, "b");
    ASSERT_EQ(count(d, DefectCode::ParamDuplicate), 1u);
    EXPECT_EQ(first(d, DefectCode::ParamDuplicate)->offset, 7u);
    // A duplicate continuation section.
    d.clear();
    auto c = msg::parse_parameters("; a*0=x; a*0=y; a*1=z", &d);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].value, "xz");
    EXPECT_EQ(count(d, DefectCode::ParamDuplicate), 1u);
}

TEST(Parameters, SyntaxErrors) {
    msg::Defects d;
    auto p = msg::parse_parameters("; =x; novalue; ok=1", &d);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].name, "ok");
    EXPECT_EQ(count(d, DefectCode::ParamSyntax), 2u);
    d.clear();
    auto u = msg::parse_parameters("; name=\"unclosed", &d);
    ASSERT_EQ(u.size(), 1u);
    EXPECT_EQ(u[0].value, "unclosed");
    EXPECT_EQ(count(d, DefectCode::ParamSyntax), 1u);
    // Unquoted value with spaces: taken up to the ';', reported.
    d.clear();
    auto s = msg::parse_parameters("; name=my file.txt; x=1", &d);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].value, "my file.txt");
    EXPECT_EQ(count(d, DefectCode::ParamSyntax), 1u);
}

TEST(Parameters, EncodedWordsInQuotedValues) {
    auto p = msg::parse_parameters("; name=\"=?utf-8?B?w6k=?=.txt\"; FileName=\"=?utf-8?q?=C3=A9?=\"");
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].value, "\xC3\xA9.txt");
    EXPECT_EQ(p[1].value, "\xC3\xA9");
    // Elsewhere (RFC 2047 5) they are the value's characters: a boundary
    // is compared with its delimiter lines as written.
    auto b = msg::parse_parameters("; boundary=\"=?utf-8?q?abc?=\"; x=\"=?utf-8?q?abc?=\"");
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[0].value, "=?utf-8?q?abc?=");
    EXPECT_EQ(b[1].value, "=?utf-8?q?abc?=");
}

// A plain value is raw header text: 8-bit bytes as UTF-8 or windows-1252,
// raw ISO-2022-JP as the Japanese it spells (an old Japanese mailer's file
// name). A boundary keeps its bytes: the delimiter lines repeat them.
TEST(Parameters, RawTextDecodedButBoundaryKeptAsItIs) {
    const auto p = msg::parse_parameters("; filename=\"\x1b$BF|\x1b(B.txt\"; name*0=\"\x1b$BF|\"; name*1=\"\x1b(B\"; "
                                         "x=\"caf\xe9\"; boundary=\"\x1b$BF|\x1b(B\xe9\"");
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(p[0].value, "\xe6\x97\xa5.txt");   // 日.txt
    EXPECT_EQ(p[1].value, "\xe6\x97\xa5");
    EXPECT_EQ(p[2].value, "caf\xc3\xa9");
    EXPECT_EQ(p[3].value, "\x1b$BF|\x1b(B\xe9");
    const auto b = msg::parse_parameters("; boundary*0=\"\xe9\"; boundary*1=x");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].value, "\xe9x");
    // An escape that is not ISO-2022-JP text stays as it is.
    EXPECT_EQ(msg::parse_parameters("; name=\"a\x1b[31mb\"")[0].value, "a\x1b[31mb");
}

TEST(Parameters, LimitOnCount) {
    std::string text;
    for (int i = 0; i < 20; ++i) text += "; p" + std::to_string(i) + "=v";
    msg::Limits lim;
    lim.max_params = 5;
    auto p = msg::parse_parameters(text, nullptr, 0, lim);
    EXPECT_EQ(p.size(), 5u);
}

// --- Content-Type, Content-Disposition, Content-Transfer-Encoding ----------------

TEST(ContentType, Valid) {
    msg::Defects d;
    auto ct = msg::parse_content_type("Text/HTML; charset=UTF-8", &d);
    EXPECT_TRUE(ct.valid);
    EXPECT_EQ(ct.type, "text");
    EXPECT_EQ(ct.subtype, "html");
    EXPECT_TRUE(ct.is("text", "html"));
    EXPECT_FALSE(ct.is_multipart());
    EXPECT_EQ(ct.mime_type(), "text/html");
    ASSERT_NE(ct.param("charset"), nullptr);
    EXPECT_EQ(*ct.param("charset"), "UTF-8");
    EXPECT_EQ(ct.param("boundary"), nullptr);

    auto mp = msg::parse_content_type(" multipart/mixed;\r\n\tboundary=\"----=_Part_1\"", &d);
    EXPECT_TRUE(mp.valid);
    EXPECT_TRUE(mp.is_multipart());
    EXPECT_EQ(*mp.param("boundary"), "----=_Part_1");
    // Comments around the slash.
    auto c = msg::parse_content_type("text (a) / (b) plain (c); format=flowed", &d);
    EXPECT_TRUE(c.valid);
    EXPECT_TRUE(c.is("text", "plain"));
    EXPECT_EQ(*c.param("format"), "flowed");
    EXPECT_TRUE(d.empty());
}

TEST(ContentType, FieldBlockBodies) {
    for (const char* t : {"message/delivery-status", "Message/Global-Delivery-Status", "message/disposition-notification",
                          "message/global-disposition-notification", "message/feedback-report",
                          "message/global-headers", "text/rfc822-headers"}) {
        SCOPED_TRACE(t);
        EXPECT_TRUE(msg::parse_content_type(t).is_field_block());
    }
    for (const char* t : {"message/rfc822", "message/global", "text/plain", "text/delivery-status", "message/global-",
                          "message/x-delivery-status", "application/feedback-report"}) {
        SCOPED_TRACE(t);
        EXPECT_FALSE(msg::parse_content_type(t).is_field_block());
    }
    EXPECT_TRUE(msg::known_report_type("Feedback-Report"));
    EXPECT_TRUE(msg::known_report_type("global-delivery-status"));
    EXPECT_FALSE(msg::known_report_type("global-"));
    EXPECT_FALSE(msg::known_report_type("rfc822-headers"));
}

TEST(ContentType, InvalidUsesDefaults) {
    msg::Defects d;
    auto ct = msg::parse_content_type("text; charset=koi8-r", &d, 30);
    EXPECT_FALSE(ct.valid);
    EXPECT_TRUE(ct.is("text", "plain"));
    ASSERT_NE(ct.param("charset"), nullptr);  // parameters are still read
    EXPECT_EQ(*ct.param("charset"), "koi8-r");
    ASSERT_EQ(count(d, DefectCode::ContentTypeSyntax), 1u);
    EXPECT_EQ(first(d, DefectCode::ContentTypeSyntax)->offset, 30u);

    for (const char* bad : {"", "/html", "text/", "image", "; x=y"}) {
        SCOPED_TRACE(bad);
        msg::Defects dd;
        auto b = msg::parse_content_type(bad, &dd);
        EXPECT_FALSE(b.valid);
        EXPECT_TRUE(b.is("text", "plain"));
        EXPECT_EQ(count(dd, DefectCode::ContentTypeSyntax), 1u);
    }
}

TEST(ContentDisposition, TypeAndParams) {
    msg::Defects d;
    auto cd = msg::parse_content_disposition("Attachment; filename=\"a b.txt\"; size=42", &d);
    EXPECT_EQ(cd.type, "attachment");
    ASSERT_NE(cd.param("filename"), nullptr);
    EXPECT_EQ(*cd.param("filename"), "a b.txt");
    EXPECT_EQ(*cd.param("SIZE"), "42");
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(msg::parse_content_disposition("INLINE", &d).type, "inline");
    EXPECT_TRUE(d.empty());
    auto empty = msg::parse_content_disposition("; filename=x", &d);
    EXPECT_EQ(empty.type, "");
    EXPECT_EQ(*empty.param("filename"), "x");
    EXPECT_EQ(count(d, DefectCode::ParamSyntax), 1u);
    // Text that is no type is said once, not again as a parameter.
    for (const char* v : {"=?utf-8?Q?invalid?=", "=x", "=", "\"inline\"", "\"inline\"; filename=y"}) {
        d.clear();
        const auto none = msg::parse_content_disposition(v, &d);
        EXPECT_EQ(none.type, "") << v;
        EXPECT_EQ(d.size(), 1u) << v;
    }
    EXPECT_EQ(*msg::parse_content_disposition("\"inline\"; filename=y", &d).param("filename"), "y");
}

TEST(TransferEncoding, ParseAndName) {
    using TE = msg::TransferEncoding;
    EXPECT_EQ(msg::parse_transfer_encoding("Base64"), TE::base64);
    EXPECT_EQ(msg::parse_transfer_encoding(" quoted-printable (comment)"), TE::quoted_printable);
    EXPECT_EQ(msg::parse_transfer_encoding("QUOTED-PRINTABLE\r\n"), TE::quoted_printable);
    EXPECT_EQ(msg::parse_transfer_encoding(""), TE::seven_bit);
    EXPECT_EQ(msg::parse_transfer_encoding("  "), TE::seven_bit);
    EXPECT_EQ(msg::parse_transfer_encoding("7BIT"), TE::seven_bit);
    EXPECT_EQ(msg::parse_transfer_encoding("8bit"), TE::eight_bit);
    EXPECT_EQ(msg::parse_transfer_encoding("binary"), TE::binary);
    EXPECT_EQ(msg::parse_transfer_encoding("x-uuencode"), TE::uuencode);
    EXPECT_EQ(msg::parse_transfer_encoding("X-UUE"), TE::uuencode);
    EXPECT_EQ(msg::parse_transfer_encoding("uuencode"), TE::uuencode);
    EXPECT_EQ(msg::transfer_encoding_name(TE::uuencode), "x-uuencode");
    EXPECT_EQ(msg::parse_transfer_encoding("x-gzip64"), TE::unknown);
    EXPECT_EQ(msg::transfer_encoding_token(" x-gzip64 (compressed)"), "x-gzip64");
    EXPECT_EQ(msg::parse_transfer_encoding("base64x"), TE::unknown);
    EXPECT_EQ(msg::transfer_encoding_name(TE::seven_bit), "7bit");
    EXPECT_EQ(msg::transfer_encoding_name(TE::eight_bit), "8bit");
    EXPECT_EQ(msg::transfer_encoding_name(TE::binary), "binary");
    EXPECT_EQ(msg::transfer_encoding_name(TE::quoted_printable), "quoted-printable");
    EXPECT_EQ(msg::transfer_encoding_name(TE::base64), "base64");
    EXPECT_EQ(msg::transfer_encoding_name(TE::unknown), "unknown");
    for (TE e : {TE::seven_bit, TE::eight_bit, TE::binary, TE::quoted_printable, TE::base64})
        EXPECT_EQ(msg::parse_transfer_encoding(msg::transfer_encoding_name(e)), e);
}

TEST(DecodeHeaderText, ManyWordStartsStayLinear) {
    // 20000 "=?" that never form a word, and one "?=" at the very end: each
    // stretch is reported once, with a bounded detail, in linear time (this
    // took seconds and hundreds of MB when every "=?" searched to the end).
    std::string in;
    for (int i = 0; i < 20000; ++i) in += "=?a";
    in += "?=";
    msg::Defects d;
    EXPECT_EQ(msg::decode_header_text(in, &d), in);
    EXPECT_EQ(count(d, DefectCode::EncodedWordMalformed), 1u);
    for (const auto& x : d) EXPECT_LE(x.detail.size(), 4096u + std::string_view("kept as it is: ").size());
    // Several malformed words are still reported, once each.
    d.clear();
    msg::decode_header_text("=?a?x?b?= and =?=?c?Y?d?=", &d);
    EXPECT_EQ(count(d, DefectCode::EncodedWordMalformed), 2u);
}

// Senders give filename= for old readers beside filename*=: the RFC 2231
// value is the one read, the plain one is kept beside it, in either order.
TEST(Parameters, PlainValueBesideAnRfc2231One) {
    msg::Defects d;
    for (const char* text : {"; filename=\"naive.txt\"; filename*=utf-8''na%C3%AFve.txt",
                             "; filename*=utf-8''na%C3%AFve.txt; filename=\"naive.txt\""}) {
        const auto p = msg::parse_parameters(text, &d);
        ASSERT_EQ(p.size(), 1u) << text;
        EXPECT_EQ(p[0].value, "na\xc3\xafve.txt");
        EXPECT_EQ(p[0].plain, "naive.txt");
    }
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(msg::parse_parameters("; filename=a.txt")[0].plain, "");
    // A second plain one is a duplicate: the first stays.
    d.clear();
    const auto p = msg::parse_parameters("; filename=\"a\"; filename*=utf-8''x; filename=\"b\"", &d);
    EXPECT_EQ(p[0].plain, "a");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, msg::DefectCode::ParamDuplicate);
}

// MIME parameters are shown as written: in a quoted value an encoded word
// is the value's own characters (a boundary may hold "=?"), as the parser
// reads it; a subject is decoded as ever.
TEST(DecodeFieldText, MimeParametersAreShownAsWritten) {
    EXPECT_EQ(msg::decode_field_text("Content-Type", " multipart/mixed; boundary=\"=?utf-8?q?abc?=\""),
              "multipart/mixed; boundary=\"=?utf-8?q?abc?=\"");
    EXPECT_EQ(msg::decode_field_text("content-disposition", " attachment; filename=\"=?utf-8?q?n=C3=B6te.pdf?=\""),
              "attachment; filename=\"=?utf-8?q?n=C3=B6te.pdf?=\"");
    EXPECT_EQ(msg::decode_field_text("Subject", " =?utf-8?q?n=C3=B6te?="), "n\xC3\xB6te");
}

// What msgshow shows of an address field: encoded words only where RFC 2047
// 5 allows them, and a decoded display name that holds specials quoted, so
// that no decoded text passes for an address.
TEST(DecodeFieldText, AddressFieldsCannotBeSpoofed) {
    EXPECT_EQ(msg::decode_field_text("From", "=?utf-8?q?Bank_=3Cceo=40bank.example=3E?= <attacker@evil.example>"),
              "\"Bank <ceo@bank.example>\" <attacker@evil.example>");
    EXPECT_EQ(msg::decode_field_text("To", " =?utf-8?q?a=40b.example?=@evil.example"),
              "=?utf-8?q?a=40b.example?=@evil.example");
    EXPECT_EQ(msg::decode_field_text("Cc", " =?utf-8?q?J=C3=B6rg?=\n =?utf-8?q?_M=C3=BCller?= <j@x.org> (=?utf-8?q?c=C3=A9?=)"),
              "J\xC3\xB6rg M\xC3\xBCller <j@x.org> (c\xC3\xA9)");
    EXPECT_EQ(msg::decode_field_text("To", "\"Q =?utf-8?q?x?=\" <q@x>, a=?utf-8?q?b?= c <d@e>"),
              "\"Q =?utf-8?q?x?=\" <q@x>, a=?utf-8?q?b?= c <d@e>");
    EXPECT_EQ(msg::decode_field_text("to", "team: =?utf-8?q?M=C3=BCller?= <m@x>;"), "team: M\xC3\xBCller <m@x>;");
    // A word that only looks like an encoded word keeps the words beside
    // it from nothing: they are decoded, it is kept.
    EXPECT_EQ(msg::decode_field_text("From", "=?UTF-8? Q?x?= =?UTF-8?Q?Andr=C3=A9?= <andre@example.org>"),
              "=?UTF-8? Q?x?= Andr\xC3\xA9 <andre@example.org>");
    EXPECT_EQ(msg::decode_field_text("From", "=?utf-8?q?J=C3=B6rg?= x=?utf-8?q?y?=  =?utf-8?q?M=C3=BCller?= <j@x>"),
              "J\xC3\xB6rg x=?utf-8?q?y?=  M\xC3\xBCller <j@x>");
    EXPECT_EQ(msg::decode_field_text("From", "Ren\xE9 <r@x.org>"), "Ren\xC3\xA9 <r@x.org>");
    // A comment's decoded text cannot close it: its parentheses escaped.
    EXPECT_EQ(msg::decode_field_text("From", "(=?utf-8?q?=29_=3Cceo=40bank=2Eexample=3E_=28?=) <x@evil.example>"),
              "(\\) <ceo@bank.example> \\() <x@evil.example>");
    EXPECT_EQ(msg::decode_field_text("From", "a@b.example (plain (nested))"), "a@b.example (plain (nested))");
    // A comment is shown with its white space, and one never closed is not
    // closed: without an encoded word, the field is shown as written.
    EXPECT_EQ(msg::decode_field_text("From", "a@b.example (plain "), "a@b.example (plain");
    EXPECT_EQ(msg::decode_field_text("From", "a@b.example (plain ) x"), "a@b.example (plain ) x");
    EXPECT_EQ(msg::decode_field_text("From", "a@b.example ( =?utf-8?q?c=C3=A9?= )"), "a@b.example ( c\xC3\xA9 )");
    EXPECT_EQ(msg::decode_field_text("From", "a@b.example (=?utf-8?q?c=C3=A9?= x"), "a@b.example (c\xC3\xA9 x");
    // Not an address field: free text, decoded wherever a word is.
    EXPECT_EQ(msg::decode_field_text("Subject", "a=?utf-8?q?b?=c"), "abc");
}
