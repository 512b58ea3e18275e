// codec_test.cpp - base64 / quoted-printable decoders and encoders,
// dot-stuffing and line-ending conversion (msg/codec.hpp).
#include "msg/codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

struct Decoded {
    std::string out;
    msg::DecodeStatus st;
};

template <class Decoder>
Decoded decode_whole(std::string_view in) {
    Decoder d;
    Decoded r;
    d.step(in, r.out);
    d.finish(r.out);
    r.st = d.status();
    return r;
}

template <class Decoder>
Decoded decode_bytewise(std::string_view in) {
    Decoder d;
    Decoded r;
    for (char c : in) d.step(std::string_view(&c, 1), r.out);
    d.finish(r.out);
    r.st = d.status();
    return r;
}

Decoded b64(std::string_view in) { return decode_whole<msg::Base64Decoder>(in); }
Decoded qp(std::string_view in) { return decode_whole<msg::QuotedPrintableDecoder>(in); }
Decoded uu(std::string_view in) { return decode_whole<msg::UuDecoder>(in); }

void expect_same_status(const msg::DecodeStatus& a, const msg::DecodeStatus& b) {
    EXPECT_EQ(a.bad_chars, b.bad_chars);
    EXPECT_EQ(a.bad_padding, b.bad_padding);
    EXPECT_EQ(a.bad_escapes, b.bad_escapes);
    EXPECT_EQ(a.uu_no_begin, b.uu_no_begin);
    EXPECT_EQ(a.uu_bad_lines, b.uu_bad_lines);
    EXPECT_EQ(a.uu_no_end, b.uu_no_end);
    EXPECT_EQ(a.first_bad, b.first_bad);
}

}  // namespace

// --- base64 decoding ---------------------------------------------------------

TEST(Base64Decode, WholeGroups) {
    auto r = b64("TWFu");
    EXPECT_EQ(r.out, "Man");
    EXPECT_TRUE(r.st.clean());
    EXPECT_EQ(r.st.first_bad, kNone);
    EXPECT_EQ(b64("TWFuTWFu").out, "ManMan");
    EXPECT_EQ(b64("").out, "");
    EXPECT_TRUE(b64("").st.clean());
}

TEST(Base64Decode, Padding) {
    auto one = b64("TQ==");
    EXPECT_EQ(one.out, "M");
    EXPECT_TRUE(one.st.clean());
    auto two = b64("TWE=");
    EXPECT_EQ(two.out, "Ma");
    EXPECT_TRUE(two.st.clean());
    // All 256 byte values survive.
    EXPECT_EQ(b64("AP8=").out, "\x00\xff"s);
}

TEST(Base64Decode, LineBreaksAndBlanksAreNotDefects) {
    auto r = b64("TW\r\nFu\nTW\tFu TQ==\r\n");
    EXPECT_EQ(r.out, "ManManM");
    EXPECT_TRUE(r.st.clean());
}

TEST(Base64Decode, JunkIsSkippedAndCounted) {
    auto r = b64("TW!Fu*");
    EXPECT_EQ(r.out, "Man");
    EXPECT_EQ(r.st.bad_chars, 2u);
    EXPECT_FALSE(r.st.bad_padding);
    EXPECT_EQ(r.st.first_bad, 2u);
    EXPECT_FALSE(r.st.clean());
    auto high = b64("\xffTWFu");
    EXPECT_EQ(high.out, "Man");
    EXPECT_EQ(high.st.bad_chars, 1u);
    EXPECT_EQ(high.st.first_bad, 0u);
}

TEST(Base64Decode, TruncatedLastGroup) {
    auto three = b64("TWFuTWF");  // "Ma" left in 3 sextets
    EXPECT_EQ(three.out, "ManMa");
    EXPECT_TRUE(three.st.bad_padding);
    EXPECT_EQ(three.st.bad_chars, 0u);
    EXPECT_EQ(three.st.first_bad, 7u);  // at the end of the input
    auto two = b64("TW");
    EXPECT_EQ(two.out, "M");
    EXPECT_TRUE(two.st.bad_padding);
    auto one = b64("TWFuT");  // a lone sextet holds no whole byte
    EXPECT_EQ(one.out, "Man");
    EXPECT_TRUE(one.st.bad_padding);
}

TEST(Base64Decode, BadPadding) {
    // '=' where no data can end: after 0 or 1 sextets.
    auto r = b64("=TWFu");
    EXPECT_EQ(r.out, "Man");
    EXPECT_TRUE(r.st.bad_padding);
    EXPECT_EQ(r.st.first_bad, 0u);
    // A single '=' inside a group is ignored: "TW=F" decodes as "TWF".
    auto in_group = b64("TW=F");
    EXPECT_EQ(in_group.out, "Ma");
    EXPECT_TRUE(in_group.st.bad_padding);
    EXPECT_EQ(in_group.st.first_bad, 3u);
    // "TW=" then end: padding incomplete.
    auto half = b64("TW=");
    EXPECT_EQ(half.out, "M");
    EXPECT_TRUE(half.st.bad_padding);
}

TEST(Base64Decode, DataAfterFinalPaddingIsIgnored) {
    auto r = b64("TQ==TWFu");
    EXPECT_EQ(r.out, "M");
    EXPECT_EQ(r.st.bad_chars, 4u);
    EXPECT_EQ(r.st.first_bad, 4u);
    // ... but trailing line breaks after the padding are fine.
    auto ok = b64("TQ==\r\n");
    EXPECT_EQ(ok.out, "M");
    EXPECT_TRUE(ok.st.clean());
}

TEST(Base64Decode, ResetStartsOver) {
    msg::Base64Decoder d;
    std::string out;
    d.step("TQ==!!", out);
    EXPECT_FALSE(d.status().clean());
    d.reset();
    out.clear();
    d.step("TWFu", out);
    d.finish(out);
    EXPECT_EQ(out, "Man");
    EXPECT_TRUE(d.status().clean());
}

TEST(Base64Decode, ByteAtATimeEqualsOneCall) {
    const std::vector<std::string> inputs = {
        "TWFu", "TWFuTWE=", "TQ==", "TW\r\nFu\r\nTQ==\r\n", "TW!Fu*", "TWF", "TW=F", "=TWFu",
        "TQ==TWFu", "T", "TWFuTWFuTWFuTWFuTWFuTWFu\nTWFu", "TW==", "TWF=x", "\xff\xfe", ""};
    for (const auto& in : inputs) {
        SCOPED_TRACE(in);
        auto whole = b64(in);
        auto bytes = decode_bytewise<msg::Base64Decoder>(in);
        EXPECT_EQ(whole.out, bytes.out);
        expect_same_status(whole.st, bytes.st);
    }
}

// --- quoted-printable decoding ----------------------------------------------

TEST(QpDecode, Escapes) {
    auto r = qp("a=3Db=C3=A9");
    EXPECT_EQ(r.out, "a=b\xC3\xA9");
    EXPECT_TRUE(r.st.clean());
    EXPECT_EQ(qp("=3d=c3=a9").out, "=\xC3\xA9");  // lower-case hex accepted
    EXPECT_EQ(qp("plain text").out, "plain text");
}

TEST(QpDecode, SoftLineBreaks) {
    EXPECT_EQ(qp("ab=\r\ncd").out, "abcd");
    EXPECT_EQ(qp("ab=\ncd").out, "abcd");
    // '=' followed by transport padding, then the line break.
    auto r = qp("ab=  \r\ncd");
    EXPECT_EQ(r.out, "abcd");
    EXPECT_TRUE(r.st.clean());
    EXPECT_EQ(qp("ab= \t\ncd").out, "abcd");
    // A final soft break with the line break missing produces nothing.
    auto end = qp("abc=");
    EXPECT_EQ(end.out, "abc");
    EXPECT_TRUE(end.st.clean());
    EXPECT_EQ(qp("abc=  ").out, "abc");
}

TEST(QpDecode, HardLineBreaksAreKept) {
    EXPECT_EQ(qp("a\r\nb\r\n").out, "a\r\nb\r\n");
    EXPECT_EQ(qp("a\nb\n").out, "a\nb\n");
}

TEST(QpDecode, BadEscapesAreKeptLiterally) {
    auto r = qp("a=ZZb");
    EXPECT_EQ(r.out, "a=ZZb");
    EXPECT_EQ(r.st.bad_escapes, 1u);
    EXPECT_EQ(r.st.first_bad, 1u);
    auto half = qp("a=3Zb");
    EXPECT_EQ(half.out, "a=3Zb");
    EXPECT_EQ(half.st.bad_escapes, 1u);
    EXPECT_EQ(half.st.first_bad, 1u);
    // '=' followed by blanks that are not followed by a line break.
    auto blank = qp("x= y");
    EXPECT_EQ(blank.out, "x= y");
    EXPECT_EQ(blank.st.bad_escapes, 1u);
    EXPECT_EQ(blank.st.first_bad, 1u);
    // A truncated escape at the end.
    auto trunc = qp("abc=4");
    EXPECT_EQ(trunc.out, "abc=4");
    EXPECT_EQ(trunc.st.bad_escapes, 1u);
    EXPECT_EQ(trunc.st.first_bad, 3u);
    // Two bad ones are both counted; the first position is kept.
    auto two = qp("=G1 and =H2");
    EXPECT_EQ(two.out, "=G1 and =H2");
    EXPECT_EQ(two.st.bad_escapes, 2u);
    EXPECT_EQ(two.st.first_bad, 0u);
    // "==41": the first '=' is bad, the second starts a good escape.
    auto dbl = qp("==41");
    EXPECT_EQ(dbl.out, "=A");
    EXPECT_EQ(dbl.st.bad_escapes, 1u);
}

TEST(QpDecode, ByteAtATimeEqualsOneCall) {
    const std::vector<std::string> inputs = {
        "a=3Db=C3=A9", "ab=\r\ncd", "ab=  \r\ncd", "ab= \t\ncd", "abc=", "abc=  ", "a=ZZb", "a=3Zb",
        "x= y", "abc=4", "==41", "=\r=\n=\r\n", "a\r\nb\n", "= \r\n= x=", "=4"};
    for (const auto& in : inputs) {
        SCOPED_TRACE(in);
        auto whole = qp(in);
        auto bytes = decode_bytewise<msg::QuotedPrintableDecoder>(in);
        EXPECT_EQ(whole.out, bytes.out);
        expect_same_status(whole.st, bytes.st);
    }
}

TEST(DecodeTransfer, DispatchesOnEncoding) {
    std::string out;
    msg::DecodeStatus st;
    msg::decode_transfer("TWFu", msg::TransferEncoding::base64, out, &st);
    EXPECT_EQ(out, "Man");
    EXPECT_TRUE(st.clean());
    msg::decode_transfer("=41", msg::TransferEncoding::quoted_printable, out, &st);
    EXPECT_EQ(out, "ManA");  // appends
    msg::decode_transfer("=41", msg::TransferEncoding::seven_bit, out, &st);
    EXPECT_EQ(out, "ManA=41");
    st.bad_chars = 9;
    msg::decode_transfer("x", msg::TransferEncoding::unknown, out, &st);
    EXPECT_EQ(out, "ManA=41x");
    EXPECT_TRUE(st.clean());
    msg::decode_transfer("T!Q==", msg::TransferEncoding::base64, out, &st);
    EXPECT_EQ(st.bad_chars, 1u);
}

// --- encoders -----------------------------------------------------------------

TEST(Base64Encode, Basic) {
    EXPECT_EQ(msg::base64_encode("Man"), "TWFu\r\n");
    EXPECT_EQ(msg::base64_encode("Ma", 0), "TWE=");
    EXPECT_EQ(msg::base64_encode("M", 0), "TQ==");
    EXPECT_EQ(msg::base64_encode("", 76), "");
    EXPECT_EQ(msg::base64_encode("", 0), "");
}

TEST(Base64Encode, LineLength) {
    EXPECT_EQ(msg::base64_encode("abcdefghijkl", 8, "\n"), "YWJjZGVm\nZ2hpamts\n");
    // Rounded down to whole groups: 10 -> 8.
    EXPECT_EQ(msg::base64_encode("abcdefghijkl", 10, "\r\n"), "YWJjZGVm\r\nZ2hpamts\r\n");
    EXPECT_EQ(msg::base64_encode("abcdefghijkl", 0), "YWJjZGVmZ2hpamts");
    // 57 bytes make exactly one 76-character line.
    std::string in(57, 'x');
    std::string enc = msg::base64_encode(in);
    EXPECT_EQ(enc.size(), 78u);
    EXPECT_EQ(enc.substr(76), "\r\n");
    std::string in2(58, 'x');
    std::string enc2 = msg::base64_encode(in2);
    EXPECT_EQ(enc2.find("\r\n"), 76u);
    EXPECT_EQ(enc2.substr(78), "eA==\r\n");
}

TEST(Base64Encode, SizeAndAppend) {
    // The size is what the encoder writes, for every length, line length
    // and line break (a splice reserves it before encoding into place).
    for (std::size_t n = 0; n < 200; ++n)
        for (std::size_t line : {std::size_t{0}, std::size_t{4}, std::size_t{10}, std::size_t{76}})
            for (std::string_view eol : {"\n", "\r\n"}) {
                const std::string data(n, static_cast<char>('a' + n % 26));
                const std::string enc = msg::base64_encode(data, line, eol);
                EXPECT_EQ(msg::base64_encoded_size(n, line, eol.size()), enc.size()) << n << " " << line;
                std::string out = "prefix";
                msg::base64_encode_append(data, line, eol, out);
                EXPECT_EQ(out, "prefix" + enc);
            }
}

TEST(QpEncode, Basic) {
    EXPECT_EQ(msg::qp_encode("a=b\n"), "a=3Db\r\n");
    EXPECT_EQ(msg::qp_encode("a=b\r\n", "\n"), "a=3Db\n");
    // No final line break: a final soft break keeps the round trip exact.
    EXPECT_EQ(msg::qp_encode("abc"), "abc=\r\n");
    EXPECT_EQ(msg::qp_encode(""), "");
    // Trailing blanks are encoded, inner ones are not.
    EXPECT_EQ(msg::qp_encode("a b \n"), "a b=20\r\n");
    EXPECT_EQ(msg::qp_encode("a\t\n"), "a=09\r\n");
    // 8-bit and control bytes.
    EXPECT_EQ(msg::qp_encode("\xC3\xA9\x01\n"), "=C3=A9=01\r\n");
    // A bare CR is data.
    EXPECT_EQ(msg::qp_encode("a\rb\n"), "a=0Db\r\n");
    // "From " and "." at line start are protected.
    EXPECT_EQ(msg::qp_encode("From me\n.\n"), "=46rom me\r\n=2E\r\n");
    EXPECT_EQ(msg::qp_encode("Frog\n"), "Frog\r\n");
}

TEST(QpEncode, LongLinesGetSoftBreaks) {
    std::string in(100, 'a');
    std::string expect = std::string(75, 'a') + "=\r\n" + std::string(25, 'a') + "=\r\n";
    EXPECT_EQ(msg::qp_encode(in), expect);
    // Exactly 76 characters before a hard break fit on one line.
    std::string in76 = std::string(76, 'b') + "\n";
    EXPECT_EQ(msg::qp_encode(in76), std::string(76, 'b') + "\r\n");
    // Without a final line break the last line ends in a soft break, so its
    // last character must leave room for the '=' too.
    EXPECT_EQ(msg::qp_encode(std::string(76, 'c')), std::string(75, 'c') + "=\r\nc=\r\n");
    EXPECT_EQ(msg::qp_encode(std::string(75, 'c')), std::string(75, 'c') + "=\r\n");
    EXPECT_EQ(msg::qp_encode(std::string(74, 'c') + "\x01"), std::string(74, 'c') + "=\r\n=01=\r\n");
    // No encoded line is longer than 76 characters (eol excluded).
    std::string mixed;
    for (int i = 0; i < 500; ++i) mixed.push_back(static_cast<char>(i % 7 == 0 ? '=' : 'a' + i % 26));
    std::string enc = msg::qp_encode(mixed, "\n");
    std::size_t start = 0;
    while (start < enc.size()) {
        std::size_t nl = enc.find('\n', start);
        ASSERT_NE(nl, std::string::npos);
        EXPECT_LE(nl - start, 76u);
        start = nl + 1;
    }
    EXPECT_EQ(qp(enc).out, mixed);
}

// --- dot-stuffing and line endings -----------------------------------------------

TEST(DotStuff, StuffAndUnstuff) {
    EXPECT_EQ(msg::dot_stuff(".a\n.b\nc.\n.\n"), "..a\n..b\nc.\n..\n");
    EXPECT_EQ(msg::dot_stuff("a\r\n.b"), "a\r\n..b");
    EXPECT_EQ(msg::dot_stuff(""), "");
    EXPECT_EQ(msg::dot_unstuff("..a\n..b\nc.\n..\n"), ".a\n.b\nc.\n.\n");
    // A single leading dot is not unstuffed (only a doubled one).
    EXPECT_EQ(msg::dot_unstuff(".a\n"), ".a\n");
    EXPECT_EQ(msg::dot_unstuff("x..y\n...z"), "x..y\n..z");
    const std::string text = "..\r\n.x\r\nplain\r\n.\r\n";
    EXPECT_EQ(msg::dot_unstuff(msg::dot_stuff(text)), text);
}

TEST(LineEndings, ToCrlfAndLf) {
    EXPECT_EQ(msg::to_crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
    EXPECT_EQ(msg::to_lf("a\nb\r\nc\rd"), "a\nb\nc\nd");
    EXPECT_EQ(msg::to_lf("\r\r\n\n"), "\n\n\n");
    EXPECT_EQ(msg::to_crlf("\r\r\n\n"), "\r\n\r\n\r\n");
    EXPECT_EQ(msg::to_crlf("no break"), "no break");
    EXPECT_EQ(msg::to_crlf(""), "");
    EXPECT_EQ(msg::to_crlf(msg::to_crlf("x\ny\r")), "x\r\ny\r\n");
}

// --- uuencode ------------------------------------------------------------------------

namespace {
// "Hello, world!\n" (14 bytes) and "abc", as uuencode writes them.
const std::string kUuHello = "begin 644 hello.txt\n.2&5L;&\\L('=O<FQD(0H`\n`\nend\n";
}  // namespace

TEST(UuDecode, BeginDataEnd) {
    msg::UuDecoder d;
    std::string out;
    d.step("some text first\r\n" + kUuHello + "trailing words\n", out);
    d.finish(out);
    EXPECT_EQ(out, "Hello, world!\n");
    EXPECT_TRUE(d.status().clean());
    EXPECT_EQ(d.name(), "hello.txt");
    EXPECT_EQ(d.mode(), "644");
    // CRLF lines, '`' or ' ' for zero, a line short of its trailing blanks
    // (the missing characters are zero bits: "8" alone gives '`').
    auto r = uu("begin 600 x\r\n#86)C\r\n$86)C80  \r\n$86)C8\r\n \r\nend\r\n");
    EXPECT_EQ(r.out, "abcabcaabc`");
    EXPECT_TRUE(r.st.clean());
}

TEST(UuDecode, SameForAnySplit) {
    const std::string in = "x\n" + kUuHello;
    const Decoded whole = uu(in);
    const Decoded bytes = decode_bytewise<msg::UuDecoder>(in);
    EXPECT_EQ(whole.out, bytes.out);
    expect_same_status(whole.st, bytes.st);
    const std::string broken = "begin 644 a\n#8~)C\n\n#86)C";
    const Decoded w2 = uu(broken), b2 = decode_bytewise<msg::UuDecoder>(broken);
    EXPECT_EQ(w2.out, b2.out);
    expect_same_status(w2.st, b2.st);
    EXPECT_EQ(w2.st.uu_bad_lines, 2u);
    EXPECT_TRUE(w2.st.uu_no_end);
}

TEST(UuDecode, BadLines) {
    // A byte outside ' '..'`': the line is decoded as far as its length says,
    // the bad byte as zero bits, and counted.
    auto r = uu("begin 644 a\n#8~)C\nend\n");
    EXPECT_EQ(r.out.size(), 3u);
    EXPECT_EQ(r.st.uu_bad_lines, 1u);
    EXPECT_EQ(r.st.first_bad, 12u);
    // Characters past the groups the length needs (padding aside).
    r = uu("begin 644 a\n#86)C86)C\n#86)C``\nend\n");
    EXPECT_EQ(r.out, "abcabc");
    EXPECT_EQ(r.st.uu_bad_lines, 1u);
    // An empty line inside the data.
    r = uu("begin 644 a\n#86)C\n\n#86)C\nend\n");
    EXPECT_EQ(r.out, "abcabc");
    EXPECT_EQ(r.st.uu_bad_lines, 1u);
    EXPECT_EQ(r.st.first_bad, 18u);
}

TEST(UuDecode, NoBeginOrNoEnd) {
    // Without a begin line the input is the output, as it is.
    auto r = uu("The archive index is below.\n\nPriya\n");
    EXPECT_EQ(r.out, "The archive index is below.\n\nPriya\n");
    EXPECT_TRUE(r.st.uu_no_begin);
    EXPECT_FALSE(r.st.clean());
    // "begin" without a mode is no begin line.
    r = uu("begin here\n#86)C\nend\n");
    EXPECT_TRUE(r.st.uu_no_begin);
    // Cut short: what is there is decoded.
    r = uu("begin 644 a\n#86)C\n#86)C");
    EXPECT_EQ(r.out, "abcabc");
    EXPECT_TRUE(r.st.uu_no_end);
    EXPECT_EQ(r.st.uu_bad_lines, 0u);
    // decode_transfer knows it.
    std::string out;
    msg::DecodeStatus st;
    msg::decode_transfer(kUuHello, msg::TransferEncoding::uuencode, out, &st);
    EXPECT_EQ(out, "Hello, world!\n");
    EXPECT_TRUE(st.clean());
}

TEST(UuDecode, BeginLine) {
    std::string mode, name;
    EXPECT_TRUE(msg::uu_begin_line("begin 644 my file.txt\r\n", &mode, &name));
    EXPECT_EQ(mode, "644");
    EXPECT_EQ(name, "my file.txt");
    EXPECT_FALSE(msg::uu_begin_line("begin 6x4 a"));
    EXPECT_TRUE(msg::uu_begin_line("begin 644", &mode, &name));
    EXPECT_EQ(name, "");
    EXPECT_FALSE(msg::uu_begin_line("begin 644x a"));
    EXPECT_FALSE(msg::uu_begin_line("Begin 644 a"));
}

// Lines longer than kUuLineKept are judged by what is past the kept bytes,
// whole or in slices: padding keeps a data line good, anything else makes
// it bad, blanks keep an end line; a begin line that long is none.
TEST(UuDecode, LongLines) {
    const std::string pad(msg::kUuLineKept * 3, '`');
    const std::string padded = "begin 644 a\n#86)C" + pad + "\r\n`\nend\n";
    for (const Decoded& r : {uu(padded), decode_bytewise<msg::UuDecoder>(padded)}) {
        EXPECT_EQ(r.out, "abc");
        EXPECT_TRUE(r.st.clean());
    }
    const std::string junk = "begin 644 a\n#86)C" + pad + "x\n`\nend\n";
    for (const Decoded& r : {uu(junk), decode_bytewise<msg::UuDecoder>(junk)}) {
        EXPECT_EQ(r.out, "abc");
        EXPECT_EQ(r.st.uu_bad_lines, 1u);
        EXPECT_EQ(r.st.first_bad, 12u);
    }
    const std::string end = "begin 644 a\n#86)C\nend" + std::string(msg::kUuLineKept * 2, ' ') + "\n#86)C\n";
    for (const Decoded& r : {uu(end), decode_bytewise<msg::UuDecoder>(end)}) {
        EXPECT_EQ(r.out, "abc");
        EXPECT_TRUE(r.st.clean());
    }
    const std::string long_begin = "begin 644 " + std::string(msg::kUuLineKept, 'n') + "\n#86)C\nend\n";
    for (const Decoded& r : {uu(long_begin), decode_bytewise<msg::UuDecoder>(long_begin)}) {
        EXPECT_TRUE(r.st.uu_no_begin);
        EXPECT_EQ(r.out, long_begin);
    }
    EXPECT_TRUE(msg::find_uu_blocks(long_begin).empty());
    // Blanks before the kept bytes' end count as blanks: an end line, and
    // a zero-length data line padded far out, whatever their length.
    const std::string far_end = "begin 644 a\n" + std::string(msg::kUuLineKept - 2, ' ') + "end\n#86)C\nend\n";
    for (const Decoded& r : {uu(far_end), decode_bytewise<msg::UuDecoder>(far_end)}) {
        EXPECT_EQ(r.out, "");
        EXPECT_TRUE(r.st.clean());
    }
    const std::string not_end = "begin 644 a\n" + std::string(msg::kUuLineKept - 2, ' ') + "end x\n`\nend\n";
    EXPECT_EQ(uu(not_end).st.uu_bad_lines, 1u);
    EXPECT_EQ(decode_bytewise<msg::UuDecoder>(not_end).st.uu_bad_lines, 1u);
    const std::string far_pad = "x\nbegin 644 a\n" + std::string(msg::kUuLineKept, ' ') + "`\nend\n";
    EXPECT_EQ(msg::find_uu_blocks(far_pad).size(), 1u);
    // More than one visible byte on a zero-length line: not a data line
    // that starts a block, however far out they are.
    EXPECT_TRUE(msg::find_uu_blocks("begin 644 a\n" + std::string(msg::kUuLineKept, ' ') + "``\nend\n").empty());
    EXPECT_TRUE(msg::find_uu_blocks("begin 644 a\n" + std::string(msg::kUuLineKept, ' ') + "` `\nend\n").empty());
    // Exactly the kept length, its '\r' past it: still a begin line.
    const std::string name(msg::kUuLineKept - 10, 'n');
    const std::string fits = "begin 644 " + name + "\r\n#86)C\nend\n";
    ASSERT_EQ(msg::find_uu_blocks(fits).size(), 1u);
    EXPECT_EQ(msg::find_uu_blocks(fits)[0].name, name);
    EXPECT_EQ(decode_bytewise<msg::UuDecoder>(fits).out, "abc");
}

// decode_transfer_each hands a uuencoded body without a begin line over
// from the buffer, as decode_transfer gives it.
TEST(UuDecode, NoBeginInSlices) {
    const std::string body = "no begin line\nhere\n";
    std::string out;
    msg::DecodeStatus st;
    msg::decode_transfer_each(body, msg::TransferEncoding::uuencode, [&](std::string_view s) { out.append(s); }, &st,
                              64);
    EXPECT_EQ(out, body);
    EXPECT_TRUE(st.uu_no_begin);
}

// The scanner in slices: blocks split anywhere, a begin line cut before
// its "begin ", a candidate whose next line begins the real block.
TEST(UuBlocks, ScannerInSlices) {
    const std::string text = "intro\nbegin 644 x\nbegin 644 hello.txt\n#86)C\n`\nend\nbeg\nbegin 600 two\n#86)C\n";
    std::vector<msg::UuBlock> blocks;
    std::vector<std::string> data;
    for (std::size_t cut = 1; cut <= text.size(); ++cut) {
        blocks.clear();
        data.clear();
        msg::UuScanner scan({[&](const msg::UuBlock&) { data.emplace_back(); },
                             [&](std::string_view d) { data.back().append(d); },
                             [&](const msg::UuBlock& b, const msg::DecodeStatus&) { blocks.push_back(b); }});
        for (std::size_t at = 0; at < text.size(); at += cut) scan.step(std::string_view(text).substr(at, cut));
        scan.finish();
        ASSERT_EQ(blocks.size(), 2u) << cut;
        EXPECT_EQ(blocks[0].begin, text.find("begin 644 hello")) << cut;
        EXPECT_EQ(blocks[0].end, text.find("beg\n")) << cut;
        EXPECT_EQ(blocks[1].name, "two");
        EXPECT_EQ(blocks[1].end, text.size());
        EXPECT_EQ(blocks[1].data_end, text.size() - 1);
        EXPECT_EQ(data, (std::vector<std::string>{"abc", "abc"})) << cut;
    }
}

TEST(UuBlocks, FoundInText) {
    const std::string text = "Hi Bob,\n\nthe notes:\n\n" + kUuHello + "\nbegin 644 words are not data\nbye\n";
    const auto blocks = msg::find_uu_blocks(text);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].begin, text.find("begin 644 hello"));
    EXPECT_EQ(blocks[0].end, text.find("end\n") + 4);
    EXPECT_EQ(blocks[0].name, "hello.txt");
    EXPECT_EQ(blocks[0].mode, "644");
    // Prose that begins with "begin": not a block.
    EXPECT_TRUE(msg::find_uu_blocks("begin 123 steps to success\nfirst, wake up\n").empty());
    EXPECT_TRUE(msg::find_uu_blocks("we begin 644 a\n#86)C\nend\n").empty());
    // A block without its end line runs to the end of the text.
    const std::string cut = "x\nbegin 644 a.bin\n#86)C\n#86)C\n";
    const auto c = msg::find_uu_blocks(cut);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].end, cut.size());
    // Two blocks.
    EXPECT_EQ(msg::find_uu_blocks(kUuHello + kUuHello).size(), 2u);
}
