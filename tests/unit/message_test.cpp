// message_test.cpp - header blocks and the MIME tree (msg/message.hpp).
//
// Expected offsets are computed from the test input with find(), following
// the layout documented in message.hpp (the line break before a delimiter
// belongs to the delimiter).
#include "defect_helpers.hpp"
#include "msg/message.hpp"
#include "msg/validate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "msg/charset.hpp"
#include "msg/source.hpp"

using msg::DefectCode;
using msg::EntityKind;
using namespace std::string_literals;

namespace {

using msg_test::count;
using msg_test::first;

std::string read_file(const std::string& rel) {
    std::ifstream f(std::string(MSG_TESTDATA) + "/" + rel, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Position just after `needle` (searching from `from`).
std::size_t after(const std::string& s, std::string_view needle, std::size_t from = 0) {
    std::size_t p = s.find(needle, from);
    EXPECT_NE(p, std::string::npos) << needle;
    return p + needle.size();
}

const msg::Entity& at_section(const msg::Message& m, std::string_view s) {
    std::ptrdiff_t i = m.find_section(s);
    EXPECT_GE(i, 0) << "no section " << s;
    return m.entity(static_cast<std::size_t>(std::max<std::ptrdiff_t>(i, 0)));
}

std::vector<std::string> leaf_sections(const msg::Message& m) {
    std::vector<std::string> out;
    for (std::size_t i : m.leaves()) out.push_back(m.section(i));
    return out;
}

std::vector<std::string> children_types(const msg::Message& m, const msg::Entity& e) {
    std::vector<std::string> out;
    for (std::int32_t c = e.first_child; c >= 0; c = m.entity(static_cast<std::size_t>(c)).next_sibling)
        out.push_back(m.entity(static_cast<std::size_t>(c)).content_type.mime_type());
    return out;
}

}  // namespace

// --- header blocks ---------------------------------------------------------------

TEST(HeaderBlock, FieldsAndSpans) {
    const std::string h = "From: a@b\r\nSubject: one\r\n two\r\nX-Empty:\r\nTo : c\r\n\r\nbody";
    std::vector<msg::HeaderField> f;
    msg::Defects d;
    std::size_t end = msg::parse_header_block(h, f, &d, 1000);
    EXPECT_EQ(end, h.find("\r\n\r\n") + 2);
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(f[0].name, "From");
    EXPECT_EQ(f[0].value, " a@b");
    EXPECT_EQ(f[0].raw, "From: a@b\r\n");
    EXPECT_EQ(f[0].offset, 1000u);
    EXPECT_EQ(f[1].name, "Subject");
    EXPECT_EQ(f[1].value, " one\r\n two");
    EXPECT_EQ(f[1].raw, "Subject: one\r\n two\r\n");
    EXPECT_EQ(f[1].offset, 1000 + h.find("Subject"));
    EXPECT_EQ(f[1].value_offset(), 1000 + h.find(" one"));
    EXPECT_EQ(f[2].name, "X-Empty");
    EXPECT_EQ(f[2].value, "");
    EXPECT_EQ(f[3].name, "To");
    EXPECT_EQ(f[3].value, " c");
    ASSERT_EQ(count(d, DefectCode::HeaderSpaceBeforeColon), 1u);
    EXPECT_EQ(first(d, DefectCode::HeaderSpaceBeforeColon)->offset, 1000 + h.find("To :") + 2);
    EXPECT_EQ(d.size(), 1u);
}

TEST(HeaderBlock, EndsAtLineWithoutColon) {
    const std::string h = "From: a\nthis is body\nTo: b\n";
    std::vector<msg::HeaderField> f;
    msg::Defects d;
    std::size_t end = msg::parse_header_block(h, f, &d);
    EXPECT_EQ(end, h.find("this"));
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].raw, "From: a\n");
    ASSERT_EQ(count(d, DefectCode::HeaderMissingColon), 1u);
    EXPECT_EQ(first(d, DefectCode::HeaderMissingColon)->offset, h.find("this"));
}

TEST(HeaderBlock, BodyLineBeforeAnyFieldIsNoSeparator) {
    // No field at all: there is no header block, and the body lacks the
    // empty line before it (a MIME part written without one).
    const std::string h = "just text\nmore text\n";
    std::vector<msg::HeaderField> f;
    msg::Defects d;
    EXPECT_EQ(msg::parse_header_block(h, f, &d), 0u);
    EXPECT_TRUE(f.empty());
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].code, DefectCode::HeaderNoSeparator);
    EXPECT_EQ(d[0].offset, 0u);
    // In a multipart: the part's first line after the delimiter.
    const std::string s = "Content-Type: multipart/mixed; boundary=b\n\n--b\nHello there\n--b--\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(count(m.defects(), DefectCode::HeaderNoSeparator), 1u);
    EXPECT_EQ(first(m.defects(), DefectCode::HeaderNoSeparator)->offset, s.find("Hello"));
    EXPECT_EQ(count(m.defects(), DefectCode::HeaderMissingColon), 0u);
}

TEST(HeaderBlock, BadBytesAndEnvelopeLines) {
    const std::string h = "From sender Mon Jan 1\nSubject: caf\xE9\nX: a\0b\n\nbody"s;
    std::vector<msg::HeaderField> f;
    msg::Defects d;
    msg::parse_header_block(h, f, &d);
    ASSERT_EQ(f.size(), 2u);  // the envelope line at offset 0 is skipped silently
    EXPECT_EQ(count(d, DefectCode::HeaderEnvelopeLine), 0u);
    ASSERT_EQ(count(d, DefectCode::Header8Bit), 1u);
    EXPECT_EQ(first(d, DefectCode::Header8Bit)->offset, h.find('\xE9'));
    ASSERT_EQ(count(d, DefectCode::HeaderNul), 1u);
    EXPECT_EQ(first(d, DefectCode::HeaderNul)->offset, h.find('\0'));
    // Elsewhere than at offset 0 an envelope line is a defect.
    f.clear();
    d.clear();
    msg::parse_header_block("A: 1\nFrom x\nB: 2\n\n", f, &d);
    EXPECT_EQ(f.size(), 2u);
    EXPECT_EQ(count(d, DefectCode::HeaderEnvelopeLine), 1u);
}

TEST(HeaderBlock, ControlCharacters) {
    // Every control byte but tab, CR and LF (and NUL, header.nul's), at
    // every place of fields shorter and longer than the scan's blocks, is
    // header.control at its offset, once per field; with 8-bit bytes and a
    // NUL beside it, each keeps its own code.
    for (int c = 1; c < 0x80; ++c) {
        if ((c >= 0x20 && c < 0x7F) || c == '\t' || c == '\r' || c == '\n') continue;
        for (const std::size_t size : {1, 6, 7, 8, 20, 23, 40})
        for (std::size_t at = 0; at < size; ++at) {
            std::string value(size, '\t');
            value[at] = static_cast<char>(c);
            value.back() = static_cast<char>(c);
            const std::string h = "A: 1\nS: " + value + "\r\n\tmore\r\nB: 2\n\n";
            std::vector<msg::HeaderField> f;
            msg::Defects d;
            msg::parse_header_block(h, f, &d);
            ASSERT_EQ(f.size(), 3u);
            ASSERT_EQ(d.size(), 1u) << c << " at " << at;
            EXPECT_EQ(d[0].code, DefectCode::HeaderControl);
            EXPECT_EQ(d[0].offset, h.find("S: ") + 3 + at) << c << " at " << at;
            EXPECT_EQ(d[0].detail, "S");
        }
    }
    const std::string h = "Subject: \xE9\x1B$B\0x\x7F\n\n"s;
    std::vector<msg::HeaderField> f;
    msg::Defects d;
    msg::parse_header_block(h, f, &d);
    ASSERT_EQ(count(d, DefectCode::Header8Bit), 1u);
    EXPECT_EQ(first(d, DefectCode::Header8Bit)->offset, h.find('\xE9'));
    ASSERT_EQ(count(d, DefectCode::HeaderNul), 1u);
    EXPECT_EQ(first(d, DefectCode::HeaderNul)->offset, h.find('\0'));
    ASSERT_EQ(count(d, DefectCode::HeaderControl), 1u);
    EXPECT_EQ(first(d, DefectCode::HeaderControl)->offset, h.find('\x1B'));
}

TEST(HeaderBlock, TabsAndFoldingAreNotControlCharacters) {
    const std::string h =
        "Subject:\tone\ttwo\r\n\tthree\r\n four five six seven eight\r\nReceived: from a\n\tby b;\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n\r\n";
    std::vector<msg::HeaderField> f;
    msg::Defects d;
    msg::parse_header_block(h, f, &d);
    EXPECT_EQ(f.size(), 2u);
    EXPECT_TRUE(d.empty());
}

TEST(HeaderBlock, LeadingContinuationAndLimits) {
    std::vector<msg::HeaderField> f;
    msg::Defects d;
    msg::parse_header_block(" folded first\nA: 1\n\n", f, &d);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].name, "A");
    EXPECT_EQ(count(d, DefectCode::HeaderFirstContinuation), 1u);

    msg::Limits lim;
    lim.max_header_fields = 2;
    f.clear();
    d.clear();
    const std::string h = "A: 1\nB: 2\nC: 3\n\n";
    EXPECT_EQ(msg::parse_header_block(h, f, &d, 0, lim), h.find("C:"));
    EXPECT_EQ(f.size(), 2u);
    EXPECT_EQ(count(d, DefectCode::HeaderTooManyFields), 1u);
}

TEST(HeaderBlock, NoTrailingLineBreak) {
    std::vector<msg::HeaderField> f;
    EXPECT_EQ(msg::parse_header_block("A: 1\nB: 2", f), 9u);
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[1].raw, "B: 2");
    EXPECT_EQ(f[1].value, " 2");
}

// --- single-part messages ------------------------------------------------------

TEST(Message, SinglePartLf) {
    const std::string s = "From: a@b\nSubject: hi\n\nbody\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 1u);
    const auto& r = m.root();
    EXPECT_EQ(r.kind, EntityKind::leaf);
    EXPECT_EQ(r.begin, 0u);
    EXPECT_EQ(r.header_end, 22u);
    EXPECT_EQ(r.body_begin, 23u);
    EXPECT_EQ(r.end, s.size());
    EXPECT_EQ(r.size(), s.size());
    EXPECT_EQ(m.body(r), "body\n");
    EXPECT_EQ(m.header_block(r), "From: a@b\nSubject: hi\n");
    EXPECT_FALSE(r.has_content_type);
    EXPECT_TRUE(r.content_type.is("text", "plain"));
    EXPECT_EQ(r.encoding, msg::TransferEncoding::seven_bit);
    ASSERT_EQ(m.headers().size(), 2u);
    ASSERT_NE(m.header("subject"), nullptr);
    EXPECT_EQ(m.header("SUBJECT")->value, " hi");
    EXPECT_EQ(m.header("Cc"), nullptr);
    EXPECT_EQ(m.section(0), "1");
    EXPECT_EQ(m.find_section("1"), 0);
    EXPECT_EQ(m.find_section(""), -1);
    EXPECT_EQ(m.leaves(), std::vector<std::size_t>{0});
    EXPECT_TRUE(m.defects().empty());
    EXPECT_EQ(m.data().data(), s.data());  // no copy
}

TEST(Message, HeaderOnlyAndEmpty) {
    auto m = msg::parse_message("Subject: x\r\n");
    EXPECT_EQ(m.root().header_end, 12u);
    EXPECT_EQ(m.root().body_begin, 12u);
    EXPECT_EQ(m.body(m.root()), "");
    auto e = msg::parse_message("");
    ASSERT_EQ(e.entities().size(), 1u);
    EXPECT_EQ(e.root().end, 0u);
    EXPECT_TRUE(e.headers().empty());
    // Body only, no header.
    auto b = msg::parse_message("\r\nhello");
    EXPECT_EQ(b.root().header_end, 0u);
    EXPECT_EQ(b.root().body_begin, 2u);
    EXPECT_EQ(b.body(b.root()), "hello");
}

TEST(Message, DecodeLeafAndFilenameAndCharset) {
    const std::string s =
        "Content-Type: text/plain; charset=ISO-8859-1; name=\"ct.txt\"\n"
        "Content-Disposition: attachment; filename*=utf-8''%C3%A9.txt\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "Y2Fm6Q==\n";
    auto m = msg::parse_message(s);
    const auto& r = m.root();
    EXPECT_TRUE(r.has_content_type);
    EXPECT_TRUE(r.has_disposition);
    EXPECT_EQ(r.disposition.type, "attachment");
    EXPECT_EQ(r.encoding, msg::TransferEncoding::base64);
    EXPECT_EQ(m.filename(r), "\xC3\xA9.txt");  // Content-Disposition wins
    EXPECT_EQ(m.charset(r), "iso-8859-1");
    std::string out;
    msg::Defects d;
    m.decode(r, out, &d);
    EXPECT_EQ(out, "caf\xE9");
    EXPECT_TRUE(d.empty());

    auto n = msg::parse_message("Content-Type: image/png; name=pic.png\n\nx");
    EXPECT_EQ(n.filename(n.root()), "pic.png");
    EXPECT_EQ(n.charset(n.root()), "");
    auto none = msg::parse_message("A: b\n\nx");
    EXPECT_EQ(none.filename(none.root()), "");
}

TEST(Message, DecodeReportsRepairsAtTheirOffset) {
    const std::string s =
        "Content-Transfer-Encoding: base64\n\nTW!Fu\nTW\n";
    auto m = msg::parse_message(s);
    std::string out;
    msg::Defects d;
    m.decode(m.root(), out, &d);
    EXPECT_EQ(out, "ManM");
    ASSERT_EQ(count(d, DefectCode::Base64BadChar), 1u);
    EXPECT_EQ(first(d, DefectCode::Base64BadChar)->offset, s.find('!'));
    EXPECT_EQ(count(d, DefectCode::Base64BadPadding), 1u);
    EXPECT_EQ(first(d, DefectCode::Base64BadPadding)->offset, s.size() - 1);   // the data ends inside a group

    // An '=' out of place is said at it, however the body is read
    // (decoded, or only checked as msgcheck does), across a line break too.
    const std::vector<std::string> bodies{"QUJD\nQU=\nJD\n", "QUJD\n=QUJD\n", std::string(4000, 'Q') + "\nQU=JD\n"};
    for (const std::string& body : bodies) {
        const std::string b = "Content-Transfer-Encoding: base64\n\n" + body;
        auto mb = msg::parse_message(b);
        d.clear();
        mb.decode(mb.root(), out, &d);
        ASSERT_EQ(count(d, DefectCode::Base64BadPadding), 1u) << body;
        EXPECT_EQ(first(d, DefectCode::Base64BadPadding)->offset, b.find('=')) << body;
        const msg::Defects checked = msg::validate(mb);
        ASSERT_EQ(count(checked, DefectCode::Base64BadPadding), 1u) << body;
        EXPECT_EQ(first(checked, DefectCode::Base64BadPadding)->offset, b.find('=')) << body;
    }

    const std::string q = "Content-Transfer-Encoding: quoted-printable\n\nok=\nline =XY\n";
    auto mq = msg::parse_message(q);
    out.clear();
    d.clear();
    mq.decode(mq.root(), out, &d);
    EXPECT_EQ(out, "okline =XY\n");
    ASSERT_EQ(count(d, DefectCode::QpBadEscape), 1u);
    EXPECT_EQ(first(d, DefectCode::QpBadEscape)->offset, q.find("=XY"));
}

TEST(Message, UnknownTransferEncoding) {
    // An x- token is a legal private encoding (RFC 2045 6.3): a warning.
    const std::string s = "Content-Transfer-Encoding: x-gzip64\n\nH4sI\n";
    auto m = msg::parse_message(s);
    EXPECT_EQ(m.root().encoding, msg::TransferEncoding::unknown);
    EXPECT_EQ(count(m.defects(), DefectCode::UnknownEncoding), 0u);
    ASSERT_EQ(count(m.defects(), DefectCode::PrivateEncoding), 1u);
    EXPECT_EQ(first(m.defects(), DefectCode::PrivateEncoding)->offset, s.find("x-gzip64"));
    std::string out;
    m.decode(m.root(), out);
    EXPECT_EQ(out, "H4sI\n");
    // Anything else is not an encoding at all.
    const std::string u = "Content-Transfer-Encoding: base-64\n\nQQ==\n";
    auto mu = msg::parse_message(u);
    EXPECT_EQ(mu.root().encoding, msg::TransferEncoding::unknown);
    ASSERT_EQ(count(mu.defects(), DefectCode::UnknownEncoding), 1u);
    EXPECT_EQ(first(mu.defects(), DefectCode::UnknownEncoding)->offset, u.find("base-64"));
    EXPECT_EQ(count(mu.defects(), DefectCode::PrivateEncoding), 0u);
}

TEST(Message, UuencodedPart) {
    const std::string s =
        "Content-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: x-uuencode\n\n"
        "begin 644 abc.bin\n#86)C\n`\nend\n";
    auto m = msg::parse_message(s);
    EXPECT_EQ(m.root().encoding, msg::TransferEncoding::uuencode);
    EXPECT_EQ(count(m.defects(), DefectCode::PrivateEncoding), 1u);
    std::string out;
    msg::Defects d;
    m.decode(m.root(), out, &d);
    EXPECT_EQ(out, "abc");
    EXPECT_TRUE(d.empty());
    // Cut short, and a damaged line: reported at their lines.
    const std::string cut =
        "Content-Transfer-Encoding: x-uuencode\n\n"
        "begin 644 abc.bin\n#86)C\n#8~)C\n#86)C\n";
    auto mc = msg::parse_message(cut);
    out.clear();
    d.clear();
    mc.decode(mc.root(), out, &d);
    EXPECT_EQ(out.size(), 9u);
    ASSERT_EQ(count(d, DefectCode::UuBadLine), 1u);
    EXPECT_EQ(first(d, DefectCode::UuBadLine)->offset, cut.find("#8~"));
    ASSERT_EQ(count(d, DefectCode::UuNoEnd), 1u);
    EXPECT_EQ(first(d, DefectCode::UuNoEnd)->offset, cut.size() - 1);
    // No begin line: taken as it is.
    const std::string none = "Content-Transfer-Encoding: x-uuencode\n\nplain text\n";
    auto mn = msg::parse_message(none);
    out.clear();
    d.clear();
    mn.decode(mn.root(), out, &d);
    EXPECT_EQ(out, "plain text\n");
    ASSERT_EQ(count(d, DefectCode::UuNoBegin), 1u);
    EXPECT_EQ(first(d, DefectCode::UuNoBegin)->offset, none.find("plain"));
}

TEST(Message, UuencodedFilesInText) {
    const std::string s =
        "Content-Type: text/plain\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "See the file=3D\n"
        "begin 644 a.txt\n#86)C\n#8~)C\n`\nend\n"
        "bye\n";
    auto m = msg::parse_message(s);
    struct File {
        std::string name, mode, data;
        std::size_t begin = 0, end = 0;
    };
    std::vector<File> files;
    std::string content;
    msg::Defects d;
    msg::UuScanner::Handler h;
    h.begin = [&](const msg::UuBlock& b) { files.push_back({b.name, b.mode, {}, b.begin, 0}); };
    h.data = [&](std::string_view bytes) { files.back().data.append(bytes); };
    h.end = [&](const msg::UuBlock& b, const msg::DecodeStatus& st) {
        files.back().end = b.end;
        EXPECT_EQ(st.uu_bad_lines, 1u);
    };
    m.decode_each(m.root(), [&](std::string_view slice) { content.append(slice); }, &d, h);
    EXPECT_EQ(content.substr(0, 14), "See the file=\n");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].name, "a.txt");
    EXPECT_EQ(files[0].mode, "644");
    EXPECT_EQ(files[0].data.substr(0, 3), "abc");
    EXPECT_EQ(files[0].data.size(), 6u);
    EXPECT_EQ(files[0].begin, content.find("begin"));
    EXPECT_EQ(files[0].end, content.find("bye"));
    // Found in the decoded text, reported at the line of the buffer.
    ASSERT_EQ(count(d, DefectCode::UuBadLine), 1u);
    EXPECT_EQ(first(d, DefectCode::UuBadLine)->offset, s.find("#8~"));
}

TEST(Message, ContentOffset) {
    const std::string q =
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "line one=\n"
        " still one\n"
        "two =E9\n";
    auto m = msg::parse_message(q);
    std::string content;
    m.decode(m.root(), content);
    EXPECT_EQ(content, "line one still one\ntwo \xE9\n");
    EXPECT_EQ(m.content_offset(m.root(), 0), q.find("line one"));
    EXPECT_EQ(m.content_offset(m.root(), 10), q.find(" still"));
    EXPECT_EQ(m.content_offset(m.root(), content.find('\xE9')), q.find("two"));
    const std::string b = "Content-Transfer-Encoding: base64\n\nYWJj\nZGVm\n";
    auto mb = msg::parse_message(b);
    EXPECT_EQ(mb.content_offset(mb.root(), 4), b.find("ZGVm"));
    EXPECT_EQ(mb.content_offset(mb.root(), 99), b.find("ZGVm"));  // past the end: the last line
    const std::string p = "Subject: x\n\nabc\ndef\n";
    auto mp = msg::parse_message(p);
    EXPECT_EQ(mp.content_offset(mp.root(), 5), p.find("ef"));
    // x-uuencode without a begin line: the body is its content.
    const std::string u = "Content-Transfer-Encoding: x-uuencode\n\ncaf\xE9\nmore text\n";
    auto mu = msg::parse_message(u);
    EXPECT_EQ(mu.content_offset(mu.root(), 3), u.find("caf") + 3);
    EXPECT_EQ(mu.content_offsets(mu.root(), {0, 6}), (std::vector<std::size_t>{u.find("caf"), u.find("more") + 1}));
    // A long base64 line is decoded in pieces: its offsets are those of the line.
    std::string line;
    for (int i = 0; i < 400000; ++i) line += "QUJD";
    const std::string l = "Content-Transfer-Encoding: base64\n\n" + line + "\nREVG\n";
    auto ml = msg::parse_message(l);
    EXPECT_EQ(ml.content_offsets(ml.root(), {0, 1199999, 1200000}),
              (std::vector<std::size_t>{l.find("QUJD"), l.find("QUJD"), l.find("REVG")}));
}

// --- multipart -------------------------------------------------------------------

TEST(Message, MultipartWithOnlyTheCloseDelimiter) {
    // RFC 2046 5.1.1 wants a body part at least: the text before the close
    // delimiter is shown as one, without a header.
    const std::string s =
        "Content-Type: multipart/alternative; boundary=b\n\n"
        "<p>Minutes attached.</p>\n"
        "--b--\n"
        "epilogue\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(count(m.defects(), DefectCode::NoBodyPart), 1u);
    EXPECT_EQ(first(m.defects(), DefectCode::NoBodyPart)->offset, s.find("--b--"));
    const auto& r = m.root();
    EXPECT_EQ(r.kind, EntityKind::multipart);
    EXPECT_EQ(r.preamble_begin, r.preamble_end);
    EXPECT_EQ(r.epilogue_begin, s.find("epilogue"));
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1"}));
    const auto& part = m.entity(static_cast<std::size_t>(r.first_child));
    EXPECT_EQ(part.header_end, part.begin);
    EXPECT_TRUE(part.content_type.is("text", "plain"));
    EXPECT_EQ(m.body(part), "<p>Minutes attached.</p>");
    // An empty body before the close delimiter: an empty part.
    auto e = msg::parse_message("Content-Type: multipart/mixed; boundary=b\n\n--b--\n");
    EXPECT_EQ(count(e.defects(), DefectCode::NoBodyPart), 1u);
    ASSERT_EQ(e.leaves().size(), 1u);
    EXPECT_EQ(e.body(e.entity(e.leaves()[0])), "");
}

TEST(Message, MultipartWithOnlyTheCloseDelimiterInADigestOrNested) {
    // In a digest too the text is text/plain: it has no header that could
    // make it a message.
    auto d = msg::parse_message("Content-Type: multipart/digest; boundary=b\n\nFrom: a@example.org\n--b--\n");
    ASSERT_EQ(d.leaves().size(), 1u);
    const auto& dp = d.entity(d.leaves()[0]);
    EXPECT_TRUE(dp.content_type.is("text", "plain"));
    EXPECT_EQ(dp.kind, EntityKind::leaf);
    EXPECT_EQ(d.body(dp), "From: a@example.org");
    EXPECT_EQ(d.fields(dp).size(), 0u);
    // Nested: the inner multipart's one part ends at its close delimiter,
    // the outer multipart goes on after it.
    const std::string s =
        "Content-Type: multipart/mixed; boundary=out\n\n"
        "--out\n"
        "Content-Type: multipart/alternative; boundary=in\n\n"
        "lost opening\n"
        "--in--\n"
        "--out\n"
        "Content-Type: text/html\n\n"
        "<p>two</p>\n"
        "--out--\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(count(m.defects(), DefectCode::NoBodyPart), 1u);
    EXPECT_EQ(first(m.defects(), DefectCode::NoBodyPart)->offset, s.find("--in--"));
    EXPECT_EQ(first(m.defects(), DefectCode::NoBodyPart)->detail, "in");
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1.1", "2"}));
    EXPECT_EQ(m.body(m.entity(m.leaves()[0])), "lost opening");
    const auto& inner = m.entity(static_cast<std::size_t>(m.root().first_child));
    EXPECT_EQ(m.entity(static_cast<std::size_t>(inner.first_child)).begin, inner.body_begin);
    EXPECT_TRUE(m.entity(m.leaves()[1]).content_type.is("text", "html"));
}

TEST(Message, MultipartWithPreambleEpilogueCrlf) {
    const std::string s =
        "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
        "\r\n"
        "preamble\r\n"
        "--XX\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "part one\r\n"
        "--XX  \t\r\n"
        "\r\n"
        "part two\r\n"
        "--XX--\r\n"
        "epilogue\r\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 3u);
    const auto& r = m.root();
    EXPECT_EQ(r.kind, EntityKind::multipart);
    EXPECT_TRUE(r.content_type.is("multipart", "mixed"));
    EXPECT_EQ(r.preamble_begin, after(s, "\r\n\r\n"));
    EXPECT_EQ(r.preamble_end, s.find("\r\n--XX\r\n"));
    EXPECT_EQ(r.epilogue_begin, after(s, "--XX--\r\n"));
    EXPECT_EQ(r.epilogue_end, s.size());
    EXPECT_EQ(s.substr(r.preamble_begin, r.preamble_end - r.preamble_begin), "preamble");

    const auto& c1 = m.entity(static_cast<std::size_t>(r.first_child));
    EXPECT_EQ(c1.parent, 0);
    EXPECT_EQ(c1.depth, 1);
    EXPECT_EQ(c1.begin, after(s, "--XX\r\n"));
    EXPECT_EQ(c1.end, s.find("\r\n--XX  "));
    EXPECT_EQ(m.body(c1), "part one");
    EXPECT_TRUE(c1.has_content_type);
    const auto& c2 = m.entity(static_cast<std::size_t>(c1.next_sibling));
    EXPECT_EQ(c2.begin, after(s, "--XX  \t\r\n"));  // delimiter with transport padding
    EXPECT_EQ(c2.header_end, c2.begin);             // no header block
    EXPECT_EQ(c2.body_begin, c2.begin + 2);
    EXPECT_EQ(c2.end, s.find("\r\n--XX--"));
    EXPECT_EQ(m.body(c2), "part two");
    EXPECT_FALSE(c2.has_content_type);
    EXPECT_TRUE(c2.content_type.is("text", "plain"));
    EXPECT_EQ(c2.next_sibling, -1);

    EXPECT_EQ(m.section(0), "");
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(m.find_section("2"), 2);
    EXPECT_EQ(m.find_section("3"), -1);
    EXPECT_TRUE(m.defects().empty());
}

TEST(Message, MultipartLfAndMixedLineBreaks) {
    // Header in CRLF, body delimiters in LF, parts in either.
    const std::string s =
        "Content-Type: multipart/alternative; boundary=b\r\n"
        "\r\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "\n"
        "lf part\n"
        "--b\r\n"
        "Content-Type: text/html\r\n"
        "\r\n"
        "<p>crlf</p>\r\n"
        "--b--";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 3u);
    EXPECT_EQ(m.root().preamble_begin, m.root().preamble_end);  // no preamble
    EXPECT_EQ(m.root().epilogue_begin, s.size());
    EXPECT_EQ(children_types(m, m.root()), (std::vector<std::string>{"text/plain", "text/html"}));
    EXPECT_EQ(m.body(m.entity(1)), "lf part");
    EXPECT_EQ(m.body(m.entity(2)), "<p>crlf</p>");
    EXPECT_TRUE(m.defects().empty());
}

TEST(Message, NotABoundary) {
    // Lines that start like the boundary but continue are content.
    const std::string s =
        "Content-Type: multipart/mixed; boundary=ab\n\n"
        "--ab\n\n"
        "--abc\n"
        "x --ab\n"
        "--ab--\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 2u);
    EXPECT_EQ(m.body(m.entity(1)), "--abc\nx --ab");
}

TEST(Message, NestedMultiparts) {
    const std::string s =
        "Content-Type: multipart/mixed; boundary=outer\n"
        "\n"
        "--outer\n"
        "Content-Type: multipart/alternative; boundary=inner\n"
        "\n"
        "--inner\n"
        "Content-Type: text/plain\n"
        "\n"
        "plain\n"
        "--inner\n"
        "Content-Type: text/html\n"
        "\n"
        "<b>html</b>\n"
        "--inner--\n"
        "--outer\n"
        "Content-Type: image/png\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "iVBORw==\n"
        "--outer--\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 5u);
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1.1", "1.2", "2"}));
    const auto& alt = at_section(m, "1");
    EXPECT_EQ(alt.kind, EntityKind::multipart);
    EXPECT_TRUE(alt.content_type.is("multipart", "alternative"));
    EXPECT_EQ(alt.depth, 1);
    // The inner multipart ends where the outer delimiter's line break starts.
    EXPECT_EQ(alt.end, s.find("\n--outer\nContent-Type: image"));
    // "--inner--" is the last line of its range: the epilogue is empty.
    EXPECT_EQ(alt.epilogue_begin, s.find("--inner--") + 9);
    EXPECT_EQ(alt.epilogue_begin, alt.end);
    EXPECT_EQ(alt.epilogue_end, alt.end);
    const auto& html = at_section(m, "1.2");
    EXPECT_EQ(html.depth, 2);
    EXPECT_EQ(m.body(html), "<b>html</b>");
    const auto& png = at_section(m, "2");
    std::string out;
    m.decode(png, out);
    EXPECT_EQ(out, "\x89PNG");
    EXPECT_TRUE(m.defects().empty());
}

TEST(Message, EmbeddedMessageSections) {
    const std::string s =
        "Content-Type: multipart/mixed; boundary=\"=_outer\"\r\n"
        "\r\n"
        "--=_outer\r\n"
        "\r\n"
        "intro\r\n"
        "--=_outer\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: inner\r\n"
        "Content-Type: multipart/alternative; boundary=alt\r\n"
        "\r\n"
        "--alt\r\n"
        "\r\n"
        "text\r\n"
        "--alt\r\n"
        "Content-Type: text/html\r\n"
        "\r\n"
        "<p>html</p>\r\n"
        "--alt--\r\n"
        "--=_outer\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: single\r\n"
        "\r\n"
        "just text\r\n"
        "--=_outer--\r\n";
    auto m = msg::parse_message(s);
    // root, intro, message, inner multipart, text, html, message, inner leaf
    ASSERT_EQ(m.entities().size(), 8u);
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1", "2.1", "2.2", "3.1"}));

    const auto& msg2 = at_section(m, "2");
    EXPECT_EQ(msg2.kind, EntityKind::message);
    EXPECT_TRUE(msg2.content_type.is("message", "rfc822"));
    const auto& inner = m.entity(static_cast<std::size_t>(msg2.first_child));
    EXPECT_EQ(inner.kind, EntityKind::multipart);
    EXPECT_EQ(inner.begin, msg2.body_begin);
    EXPECT_EQ(inner.end, msg2.end);
    EXPECT_EQ(inner.depth, 2);
    ASSERT_NE(m.field(inner, "subject"), nullptr);
    EXPECT_EQ(m.field(inner, "subject")->value, " inner");
    EXPECT_EQ(m.field(msg2, "subject"), nullptr);
    // The embedded multipart shares its container's number.
    EXPECT_EQ(m.section(static_cast<std::size_t>(msg2.first_child)), "2");
    EXPECT_EQ(m.body(at_section(m, "2.2")), "<p>html</p>");
    EXPECT_EQ(at_section(m, "2.2").depth, 3);

    const auto& msg3 = at_section(m, "3");
    EXPECT_EQ(msg3.kind, EntityKind::message);
    const auto& single = at_section(m, "3.1");
    EXPECT_EQ(single.parent, m.find_section("3"));
    EXPECT_EQ(m.body(single), "just text");
    EXPECT_EQ(m.field(single, "Subject")->value, " single");
    EXPECT_TRUE(m.defects().empty());
}

TEST(Message, EncodedMessageRfc822IsALeaf) {
    // A base64 message/rfc822 is not parsed further.
    auto m = msg::parse_message("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n");
    ASSERT_EQ(m.entities().size(), 1u);
    EXPECT_EQ(m.root().kind, EntityKind::leaf);
}

TEST(Message, MessageGlobal) {
    const std::string s =
        "Content-Type: message/global\n\nSubject: =?utf-8?q?caf=C3=A9?=\n\nbody\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 2u);
    EXPECT_EQ(m.root().kind, EntityKind::message);
    EXPECT_EQ(m.root().first_child, 1);
    EXPECT_EQ(m.body(m.entity(1)), "body\n");
    EXPECT_EQ(m.section(1), "1.1");
    EXPECT_EQ(msg::decode_header_text(m.field(m.entity(1), "Subject")->value), "caf\xC3\xA9");
}

TEST(Message, DigestDefaultType) {
    const std::string s =
        "Content-Type: multipart/digest; boundary=d\n"
        "\n"
        "--d\n"
        "\n"
        "Subject: first\n"
        "\n"
        "one\n"
        "--d\n"
        "Content-Type: text/plain\n"
        "\n"
        "not a message\n"
        "--d\n"
        "Content-Type: message/rfc822\n"
        "\n"
        "Subject: third\n"
        "\n"
        "three\n"
        "--d--\n";
    auto m = msg::parse_message(s);
    const auto& root = m.root();
    EXPECT_EQ(children_types(m, root),
              (std::vector<std::string>{"message/rfc822", "text/plain", "message/rfc822"}));
    const auto& first_part = at_section(m, "1");
    EXPECT_FALSE(first_part.has_content_type);
    EXPECT_EQ(first_part.kind, EntityKind::message);
    EXPECT_EQ(first_part.header_end, first_part.begin);
    const auto& inner = at_section(m, "1.1");
    EXPECT_EQ(m.field(inner, "Subject")->value, " first");
    EXPECT_EQ(m.body(inner), "one");
    EXPECT_EQ(at_section(m, "2").kind, EntityKind::leaf);
    EXPECT_EQ(m.body(at_section(m, "3.1")), "three");
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1.1", "2", "3.1"}));
}

TEST(Message, DigestPartWithInvalidContentTypeKeepsDigestDefault) {
    // RFC 2045 5.2: an invalid Content-Type means the default type, and in a
    // digest the default is message/rfc822.
    const std::string s =
        "Content-Type: multipart/digest; boundary=d\n"
        "\n"
        "--d\n"
        "Content-Type: garbage\n"
        "\n"
        "Subject: x\n"
        "\n"
        "body\n"
        "--d--\n";
    auto m = msg::parse_message(s);
    const auto& part = at_section(m, "1");
    EXPECT_FALSE(part.has_content_type);
    EXPECT_TRUE(part.content_type.is("message", "rfc822"));
    EXPECT_EQ(count(m.defects(), DefectCode::ContentTypeSyntax), 1u);
}

TEST(Message, MissingClosingBoundary) {
    const std::string s =
        "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
        "--XX\r\n\r\na\r\n"
        "--XX\r\n\r\nb\r\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 3u);
    EXPECT_EQ(m.root().kind, EntityKind::multipart);
    EXPECT_EQ(m.body(m.entity(1)), "a");
    EXPECT_EQ(m.entity(2).end, s.size());
    EXPECT_EQ(m.body(m.entity(2)), "b\r\n");
    EXPECT_EQ(m.root().epilogue_begin, s.size());
    EXPECT_EQ(m.root().epilogue_end, s.size());
    ASSERT_EQ(count(m.defects(), DefectCode::BoundaryUnclosed), 1u);
    // at the end of the last line (before its CRLF), not on a line after it
    EXPECT_EQ(first(m.defects(), DefectCode::BoundaryUnclosed)->offset, s.size() - 2);
    EXPECT_EQ(first(m.defects(), DefectCode::BoundaryUnclosed)->detail, "XX");
}

TEST(Message, UnclosedNestedPartEndsAtParentBoundary) {
    const std::string s =
        "Content-Type: multipart/mixed; boundary=o\n\n"
        "--o\n"
        "Content-Type: multipart/mixed; boundary=i\n\n"
        "--i\n\ninner\n"
        "--o\n\nsecond\n"
        "--o--\n";
    auto m = msg::parse_message(s);
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1.1", "2"}));
    EXPECT_EQ(m.body(at_section(m, "1.1")), "inner");
    EXPECT_EQ(m.body(at_section(m, "2")), "second");
    EXPECT_EQ(count(m.defects(), DefectCode::BoundaryUnclosed), 1u);
}

TEST(Message, BoundaryNeverFound) {
    const std::string s =
        "Content-Type: multipart/mixed; boundary=nothere\n\n--other\n\ntext\n--other--\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.entities().size(), 1u);
    EXPECT_EQ(m.root().kind, EntityKind::leaf);
    EXPECT_EQ(m.body(m.root()), "--other\n\ntext\n--other--\n");
    ASSERT_EQ(count(m.defects(), DefectCode::BoundaryNotFound), 1u);
    EXPECT_EQ(first(m.defects(), DefectCode::BoundaryNotFound)->offset, m.root().body_begin);
    EXPECT_EQ(m.section(0), "1");
}

// Readers match the delimiter lines byte for byte, so a boundary outside
// RFC 2046's characters (8-bit, or raw ISO-2022-JP) still splits the parts.
TEST(Message, BoundaryWithBytesOutsideAsciiSplitsTheParts) {
    for (const std::string b : {"\xe9t\xe9", "caf\xc3\xa9", "\x1b$BF|\x1b(B"}) {
        const std::string s = "Content-Type: multipart/mixed; boundary=\"" + b + "\"\n\n--" + b + "\n\none\n--" + b +
                              "\n\ntwo\n--" + b + "--\n";
        auto m = msg::parse_message(s);
        EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1", "2"})) << b;
        EXPECT_EQ(count(m.defects(), DefectCode::BoundaryNotFound), 0u) << b;
    }
}

TEST(Message, BoundaryMissingAndTooLong) {
    auto m = msg::parse_message("Content-Type: multipart/mixed\n\n--x\n\na\n--x--\n");
    EXPECT_EQ(m.entities().size(), 1u);
    EXPECT_EQ(count(m.defects(), DefectCode::BoundaryMissing), 1u);
    msg::Limits lim;
    lim.max_boundary_length = 4;
    auto t = msg::parse_message("Content-Type: multipart/mixed; boundary=abcde\n\n--abcde\n\na\n--abcde--\n", lim);
    EXPECT_EQ(t.entities().size(), 1u);
    EXPECT_EQ(count(t.defects(), DefectCode::BoundaryOverLimit), 1u);
}

TEST(Message, BoundaryMissingIsReportedAtContentType) {
    const std::string s = "Subject: x\nContent-Type: multipart/mixed\n\n--x\n\na\n--x--\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(count(m.defects(), DefectCode::BoundaryMissing), 1u);
    EXPECT_EQ(first(m.defects(), DefectCode::BoundaryMissing)->offset, s.find("Content-Type"));
    msg::Limits lim;
    lim.max_boundary_length = 4;
    const std::string t = "Subject: x\nContent-Type: multipart/mixed; boundary=abcde\n\n--abcde\n\na\n--abcde--\n";
    auto n = msg::parse_message(t, lim);
    ASSERT_EQ(count(n.defects(), DefectCode::BoundaryOverLimit), 1u);
    EXPECT_EQ(first(n.defects(), DefectCode::BoundaryOverLimit)->offset, t.find("Content-Type"));
}

TEST(Message, EmptyMultipartFromTestdata) {
    std::string s = read_file("mimekit/messages/empty-multipart.txt");
    ASSERT_FALSE(s.empty());
    auto m = msg::parse_message(s);
    EXPECT_TRUE(m.root().content_type.is_multipart());
    for (const auto& e : m.entities()) {
        EXPECT_LE(e.begin, e.header_end);
        EXPECT_LE(e.header_end, e.body_begin);
        EXPECT_LE(e.body_begin, e.end);
        EXPECT_LE(e.end, s.size());
    }
}

TEST(Message, SimpleEmbeddedFromTestdata) {
    std::string s = read_file("mimekit/messages/simple-embedded-message.eml");
    ASSERT_FALSE(s.empty());
    auto m = msg::parse_message(s);
    EXPECT_EQ(leaf_sections(m), (std::vector<std::string>{"1", "2.1"}));
    EXPECT_EQ(m.body(at_section(m, "1")), "This is the message body.\n");
    const auto& inner = at_section(m, "2.1");
    EXPECT_EQ(m.body(inner), "This is the embedded message body.\n");
    EXPECT_EQ(m.field(inner, "Subject")->value, " embedded message");
    EXPECT_EQ(m.charset(inner), "utf-8");
}

// --- limits ----------------------------------------------------------------------

TEST(Message, NestingDepthLimit) {
    // 200 nested multiparts: parsing stops nesting at the limit.
    std::string s;
    const int n = 200;
    for (int i = 0; i < n; ++i)
        s += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
             std::to_string(i) + "\n";
    s += "\ntext\n";
    for (int i = n - 1; i >= 0; --i) s += "--b" + std::to_string(i) + "--\n";
    auto m = msg::parse_message(s);
    EXPECT_EQ(count(m.defects(), DefectCode::NestingTooDeep), 1u);
    std::size_t max_depth = 0;
    for (const auto& e : m.entities()) max_depth = std::max<std::size_t>(max_depth, e.depth);
    EXPECT_EQ(max_depth, msg::Limits{}.max_depth);
    EXPECT_EQ(m.entities().size(), msg::Limits{}.max_depth + 1);

    msg::Limits lim;
    lim.max_depth = 3;
    auto small = msg::parse_message(s, lim);
    EXPECT_EQ(small.entities().size(), 4u);
    EXPECT_EQ(count(small.defects(), DefectCode::NestingTooDeep), 1u);
    // The innermost entity kept is a leaf holding the rest.
    EXPECT_EQ(small.entity(3).kind, EntityKind::leaf);
    EXPECT_EQ(small.section(3), "1.1.1");
}

TEST(Message, NestedMessageRfc822DepthLimit) {
    std::string s;
    for (int i = 0; i < 300; ++i) s += "Content-Type: message/rfc822\n\n";
    s += "Subject: bottom\n\nbody\n";
    auto m = msg::parse_message(s);
    EXPECT_EQ(count(m.defects(), DefectCode::NestingTooDeep), 1u);
    EXPECT_EQ(m.entities().size(), msg::Limits{}.max_depth + 1);
}

TEST(Message, StackOverflowSampleDoesNotCrash) {
    std::string s = read_file("mimekit/messages/stack-overflow.txt");
    ASSERT_GT(s.size(), 100000u);
    auto m = msg::parse_message(s);
    ASSERT_FALSE(m.entities().empty());
    for (const auto& f : m.headers()) {
        std::string text = msg::decode_header_text(f.value);
        EXPECT_TRUE(msg::is_valid_utf8(text)) << f.name;
    }
    ASSERT_NE(m.header("To"), nullptr);
    std::string to = msg::decode_header_text(m.header("To")->value);
    EXPECT_NE(to.find("date>2017-08-20T10:08:28.617</pr"), std::string::npos);
    for (std::size_t i : m.leaves()) {
        std::string out;
        m.decode(m.entity(i), out);
    }
}

TEST(Message, TooManyParts) {
    std::string s = "Content-Type: multipart/mixed; boundary=p\n\n";
    for (int i = 0; i < 10; ++i) s += "--p\n\npart\n";
    s += "--p--\n";
    msg::Limits lim;
    lim.max_parts = 5;
    auto m = msg::parse_message(s, lim);
    EXPECT_LE(m.entities().size(), 5u);
    EXPECT_EQ(count(m.defects(), DefectCode::TooManyParts), 1u);
    auto ok = msg::parse_message(s);
    EXPECT_EQ(ok.entities().size(), 11u);
}

TEST(Message, TooManyPartsDoesNotCountTheCloseDelimiter) {
    // Root and two parts: three entities, within a limit of three.
    const std::string s = "Content-Type: multipart/mixed; boundary=p\n\n--p\n\na\n--p\n\nb\n--p--\n";
    msg::Limits lim;
    lim.max_parts = 3;
    auto m = msg::parse_message(s, lim);
    EXPECT_EQ(count(m.defects(), DefectCode::TooManyParts), 0u);
    EXPECT_EQ(m.entities().size(), 3u);
    lim.max_parts = 2;
    auto small = msg::parse_message(s, lim);
    EXPECT_EQ(count(small.defects(), DefectCode::TooManyParts), 1u);
    EXPECT_EQ(small.entities().size(), 1u);
}

TEST(Message, HeaderBlockTooLarge) {
    msg::Limits lim;
    lim.max_header_bytes = 20;
    // B's line would end past the limit: the block ends before it.
    const std::string s = "A: 1234567890\nB: 1234567890\nC: x\n\nbody\n";
    auto m = msg::parse_message(s, lim);
    EXPECT_EQ(count(m.defects(), DefectCode::HeaderBlockTooLarge), 1u);
    ASSERT_EQ(m.headers().size(), 1u);
    EXPECT_EQ(m.headers()[0].raw, "A: 1234567890\n");
    // One field on one line longer than the limit is not read at all.
    const std::string one = "To: " + std::string(100, 'a') + "\nSubject: x\n\nbody\n";
    auto o = msg::parse_message(one, lim);
    EXPECT_EQ(count(o.defects(), DefectCode::HeaderBlockTooLarge), 1u);
    EXPECT_TRUE(o.headers().empty());
    // A block of exactly the limit is whole.
    lim.max_header_bytes = 14;
    auto exact = msg::parse_message(std::string("A: 1234567890\n\nbody\n"), lim);
    EXPECT_EQ(count(exact.defects(), DefectCode::HeaderBlockTooLarge), 0u);
    EXPECT_EQ(exact.headers().size(), 1u);
}

// --- field positions ---------------------------------------------------------------

TEST(Message, FieldOffsetsLineAndColumn) {
    const std::string s =
        "From: a\r\n"
        "Subject: b\r\n"
        " c\r\n"
        "To: x\r\n"
        "\r\n"
        "--b\r\n"
        "body\r\n";
    auto m = msg::parse_message(s);
    ASSERT_EQ(m.headers().size(), 3u);
    msg::LineIndex ix(s);
    const auto& subj = m.headers()[1];
    EXPECT_EQ(subj.offset, 9u);
    EXPECT_EQ(subj.raw, "Subject: b\r\n c\r\n");
    auto lc = ix.locate(subj.offset);
    EXPECT_EQ(lc.line, 2u);
    EXPECT_EQ(lc.column, 1u);
    const auto& to = m.headers()[2];
    EXPECT_EQ(to.offset, 25u);
    EXPECT_EQ(ix.locate(to.offset).line, 4u);
    EXPECT_EQ(to.value_offset(), 28u);
    EXPECT_EQ(ix.locate(to.value_offset()).column, 4u);
    for (const auto& f : m.headers()) {
        EXPECT_EQ(s.substr(f.offset, f.raw.size()), f.raw);
        EXPECT_EQ(s.substr(f.value_offset(), f.value.size()), f.value);
        EXPECT_EQ(f.raw.substr(0, f.name.size()), f.name);
    }

    // In a nested part, offsets are into the whole buffer.
    const std::string n =
        "Content-Type: multipart/mixed; boundary=z\n\n--z\nX-Part: yes\n\nhi\n--z--\n";
    auto mn = msg::parse_message(n);
    ASSERT_EQ(mn.entities().size(), 2u);
    auto fs = mn.fields(mn.entity(1));
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].offset, n.find("X-Part"));
    EXPECT_EQ(msg::LineIndex(n).locate(fs[0].offset).line, 4u);
}

TEST(Message, DefectOffsetsInNestedParts) {
    const std::string s =
        "Content-Type: multipart/mixed; boundary=z\n\n"
        "--z\n"
        "Content-Type: text/plain; charset=\"unclosed\n"
        "Content-Transfer-Encoding: x-weird\n\n"
        "hi\n--z--\n";
    auto m = msg::parse_message(s);
    ASSERT_NE(first(m.defects(), DefectCode::PrivateEncoding), nullptr);
    EXPECT_EQ(first(m.defects(), DefectCode::PrivateEncoding)->offset, s.find("x-weird"));
    ASSERT_NE(first(m.defects(), DefectCode::ParamSyntax), nullptr);
    EXPECT_EQ(first(m.defects(), DefectCode::ParamSyntax)->offset, s.find("charset"));
}

// Positions in an unquoted copy, given back as they are in the archive:
// "From a\n>From b\n>>From c\nx" unquoted is "From a\nFrom b\n>From c\nx",
// its quoted lines beginning at 7 and 14 of the copy.
TEST(Source, ArchivePositionsOfAnUnquotedCopy) {
    const std::vector<std::size_t> lines{7, 14};
    EXPECT_EQ(msg::archive_offset(lines, 0), 0u);
    EXPECT_EQ(msg::archive_offset(lines, 6), 6u);
    EXPECT_EQ(msg::archive_offset(lines, 7), 8u);    // 'F' of "From b", after the removed '>'
    EXPECT_EQ(msg::archive_offset(lines, 14), 16u);  // the '>' kept of ">>From c"
    EXPECT_EQ(msg::archive_offset(lines, 22), 24u);  // 'x'
    EXPECT_EQ(msg::archive_column(lines, 7, 1), 2u);
    EXPECT_EQ(msg::archive_column(lines, 9, 3), 4u);
    EXPECT_EQ(msg::archive_column(lines, 22, 1), 1u);
    EXPECT_EQ(msg::archive_column({}, 9, 3), 3u);
}

// message/external-body's name parameter names the remote file (RFC 2046
// 5.2.3): a path, and no name to save the part under.
TEST(Message, ExternalBodyNameIsNoFilename) {
    const std::string s = "MIME-Version: 1.0\nContent-Type: message/external-body; access-type=local-file;\n"
                          " name=\"/u/nsb/writing/rfcs/RFC-MIME.ps\"\n\n"
                          "Content-Type: application/postscript\n\n";
    const msg::Message m = msg::parse_message(s);
    EXPECT_EQ(m.filename(m.root()), "");
    const msg::Message p = msg::parse_message("MIME-Version: 1.0\nContent-Type: application/pdf; name=\"a.pdf\"\n\nx\n");
    EXPECT_EQ(p.filename(p.root()), "a.pdf");
}

// What is not mail at all: nothing, no field at the start, control bytes
// on the first line. A CR there is an old Mac file's line break (a defect
// --fix repairs), not binary data.
TEST(Message, NotMailReasons) {
    EXPECT_EQ(msg::not_mail_reason(msg::parse_message("")), "empty input, not a message");
    EXPECT_EQ(msg::not_mail_reason(msg::parse_message("just text\n")), "not a message: no header field at the start");
    EXPECT_EQ(msg::not_mail_reason(msg::parse_message(std::string("\x01\x02: x\n", 6))),
              "not a message: binary data (control bytes on the first line)");
    EXPECT_EQ(msg::not_mail_reason(msg::parse_message("From MAILER-DAEMON Thu Jan  1 00:00:00 2026\rFrom: a@example.org\r\rhi\r")),
              "");
    EXPECT_EQ(msg::not_mail_reason(msg::parse_message("Subject: x\n\nhi\n")), "");
}
