// mbox_property.cpp - MboxWriter and MboxReader are inverses: messages
// written in a format come back from reading in that format (exactly for
// mboxrd and mboxcl2, with the documented ">From " loss for mboxo and
// mboxcl), and for mboxrd rewriting what was read gives the same bytes.
// MboxParser gives the same events however an archive is split: written
// archives and arbitrary bytes, generated split points, any format, the
// usual and small limits.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../unit/mbox_feed.hpp"
#include "detail/huge_buffer.hpp"
#include "msg/mbox.hpp"

namespace {

struct Msg {
    std::string from_line, data;
    bool from_crlf = false, separator = true, separator_crlf = false;
};

std::string temp_path(const char* name) {
    static std::atomic<int> n{0};
    return (std::filesystem::temp_directory_path() /
            ("msg_mbox_prop_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + "_" + name))
        .string();
}

std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string write_archive(const std::vector<Msg>& msgs, msg::MboxFormat f) {
    const std::string p = temp_path("w.mbox");
    msg::MboxWriter::Options o;
    o.format = f;
    auto w = msg::MboxWriter::open(p, o);
    RC_ASSERT(w.ok());
    for (const Msg& m : msgs) RC_ASSERT((*w)->write(m.from_line, m.data, m.from_crlf, m.separator, m.separator_crlf).ok());
    RC_ASSERT((*w)->close().ok());
    std::string bytes = slurp(p);
    std::filesystem::remove(p);
    return bytes;
}

// Read `bytes` in large reads and in small ones; both must agree.
std::vector<Msg> read_archive(const std::string& bytes, msg::MboxFormat f) {
    const std::string p = temp_path("r.mbox");
    { std::ofstream(p, std::ios::binary) << bytes; }
    std::vector<Msg> first;
    for (const bool large : {true, false}) {
        msg::MboxOptions o;
        o.format = f;
        o.read_size = large ? std::size_t{1} << 20 : 4096;
        auto r = msg::MboxReader::open(p, o);
        RC_ASSERT(r.ok());
        std::vector<Msg> out;
        msg::MboxMessage m;
        for (;;) {
            auto n = (*r)->next(m);
            RC_ASSERT(n.ok());
            if (!*n) break;
            RC_ASSERT(m.defects.empty());
            out.push_back({std::string(m.from_line), std::string(m.data), m.from_crlf, m.separator, m.separator_crlf});
        }
        RC_ASSERT((*r)->leading_garbage() == 0u);
        if (large) {
            first = out;
            continue;
        }
        RC_ASSERT(out.size() == first.size());
        for (std::size_t i = 0; i < out.size(); ++i) {
            RC_ASSERT(out[i].data == first[i].data);
            RC_ASSERT(out[i].separator == first[i].separator);
        }
    }
    std::filesystem::remove(p);
    return first;
}

// One line of a message, without its line break.
rc::Gen<std::string> line_text() {
    return rc::gen::weightedOneOf<std::string>({
        {3, rc::gen::container<std::string>(rc::gen::element('a', 'F', 'r', 'o', 'm', ' ', '>', ':', '\r', '\t'))},
        {2, rc::gen::map(rc::gen::inRange(0, 4),
                         [](int q) { return std::string(static_cast<std::size_t>(q), '>') + "From x"; })},
        {1, rc::gen::just(std::string(">From"))},
        {2, rc::gen::just(std::string())},
        {1, rc::gen::map(rc::gen::inRange(3000, 9000), [](int n) { return std::string(static_cast<std::size_t>(n), 'l'); })},
    });
}

// Lines with LF or CRLF breaks; with `last_open`, maybe no final break.
std::string gen_lines(bool last_open) {
    const auto lines = *rc::gen::container<std::vector<std::string>>(line_text());
    std::string s;
    for (const std::string& l : lines) s += l + (*rc::gen::arbitrary<bool>() ? "\r\n" : "\n");
    if (last_open && !lines.empty() && *rc::gen::arbitrary<bool>()) {
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        if (s.empty()) s = "x";
    }
    return s;
}

bool ends_with_empty_line(const std::string& d) {
    return d == "\n" || d == "\r\n" || d.ends_with("\n\n") || d.ends_with("\n\r\n");
}

std::string gen_from_line() {
    return *rc::gen::element<std::string>("alice@example.org Mon Nov 23 09:15:00 2026", "MAILER-DAEMON Fri Jul  8 12:08:34 2011",
                                          "- Mon Nov 23 09:15:00 2026", "", "x");
}

// Messages for the From_ line formats: a message that is not the last is
// empty or ends with a line break and is followed by the empty separator
// line; the last may lack a final line break (then no separator) and
// takes a separator when it ends with an empty line.
std::vector<Msg> gen_from_framed(bool relaxed_last = false) {
    const int n = *rc::gen::inRange(0, 6);
    std::vector<Msg> msgs;
    for (int i = 0; i < n; ++i) {
        const bool last = i == n - 1;
        Msg m;
        m.from_line = gen_from_line();
        m.from_crlf = *rc::gen::arbitrary<bool>();
        m.separator_crlf = *rc::gen::arbitrary<bool>();
        m.data = *rc::gen::arbitrary<bool>() ? std::string() : gen_lines(last);
        const bool open = !m.data.empty() && m.data.back() != '\n';
        if (m.data.empty()) m.separator = *rc::gen::arbitrary<bool>();
        else if (!last) m.separator = true;
        else if (relaxed_last) m.separator = *rc::gen::arbitrary<bool>();
        else if (open) m.separator = false;
        else m.separator = ends_with_empty_line(m.data) || *rc::gen::arbitrary<bool>();
        msgs.push_back(m);
    }
    return msgs;
}

std::size_t count_from_lines(const std::string& s) {
    std::size_t n = s.starts_with("From ") ? 1 : 0;
    for (std::size_t p = s.find("\nFrom "); p != std::string::npos; p = s.find("\nFrom ", p + 1)) ++n;
    return n;
}

// Messages for the Content-Length formats: a header block with a correct
// Content-Length (of the body as stored: quoted for mboxcl), a body of
// any lines; separators may be left out (the next From_ line follows the
// body directly), except after an empty body, after a last line without
// its line break (a From_ line starts a line: the writer gives it one) and
// after an empty last line (the writer gives it the separator).
std::vector<Msg> gen_length_framed(bool quoted) {
    const int n = *rc::gen::inRange(0, 5);
    std::vector<Msg> msgs;
    for (int i = 0; i < n; ++i) {
        Msg m;
        m.from_line = gen_from_line();
        m.from_crlf = *rc::gen::arbitrary<bool>();
        m.separator_crlf = *rc::gen::arbitrary<bool>();
        const std::string eol = *rc::gen::arbitrary<bool>() ? "\r\n" : "\n";
        const std::string body = gen_lines(true);
        const std::size_t stored = body.size() + (quoted ? count_from_lines(body) : 0);
        m.data = "Subject: " + std::to_string(i) + eol + "Content-Length: " + std::to_string(stored) + eol + eol + body;
        m.separator = body.empty() || body.back() != '\n' || ends_with_empty_line(m.data) || *rc::gen::arbitrary<bool>();
        msgs.push_back(m);
    }
    return msgs;
}

// What mboxo reading gives for data written in mboxo: lines that were
// ">From " lose their '>'.
std::string mboxo_loss(const std::string& d) {
    std::string out;
    std::size_t i = 0;
    while (i < d.size()) {
        std::size_t e = d.find('\n', i);
        e = e == std::string::npos ? d.size() : e + 1;
        std::string_view line(d.data() + i, e - i);
        if (line.starts_with(">From ")) line.remove_prefix(1);
        out.append(line);
        i = e;
    }
    return out;
}

void check_round_trip(const std::vector<Msg>& msgs, msg::MboxFormat f) {
    const std::string bytes = write_archive(msgs, f);
    const auto back = read_archive(bytes, f);
    RC_ASSERT(back.size() == msgs.size());
    const bool lossy = f == msg::MboxFormat::mboxo || f == msg::MboxFormat::mboxcl;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        RC_ASSERT(back[i].from_line == msgs[i].from_line);
        RC_ASSERT(back[i].from_crlf == msgs[i].from_crlf);
        RC_ASSERT(back[i].data == (lossy ? mboxo_loss(msgs[i].data) : msgs[i].data));
        RC_ASSERT(back[i].separator == msgs[i].separator);
        if (msgs[i].separator) RC_ASSERT(back[i].separator_crlf == msgs[i].separator_crlf);
    }
    // Writing what was read gives the archive again, in every format.
    RC_ASSERT(write_archive(back, f) == bytes);
}

}  // namespace

RC_GTEST_PROP(MboxProperty, MboxrdRoundTrip, ()) { check_round_trip(gen_from_framed(), msg::MboxFormat::mboxrd); }

RC_GTEST_PROP(MboxProperty, MboxoRoundTripLosesOnlyQuotedFrom, ()) {
    check_round_trip(gen_from_framed(), msg::MboxFormat::mboxo);
}

RC_GTEST_PROP(MboxProperty, MboxclRoundTripLosesOnlyQuotedFrom, ()) {
    check_round_trip(gen_length_framed(true), msg::MboxFormat::mboxcl);
}

RC_GTEST_PROP(MboxProperty, Mboxcl2RoundTrip, ()) {
    check_round_trip(gen_length_framed(false), msg::MboxFormat::mboxcl2);
}

// Any archive the writer makes (the last message as it comes, with or
// without a final line break or separator) is rewritten byte for byte.
RC_GTEST_PROP(MboxProperty, MboxrdRewriteIsIdentity, ()) {
    const std::string a = write_archive(gen_from_framed(true), msg::MboxFormat::mboxrd);
    const auto msgs = read_archive(a, msg::MboxFormat::mboxrd);
    RC_ASSERT(write_archive(msgs, msg::MboxFormat::mboxrd) == a);
}

// detect reads a writer's mboxcl2 archive as mboxcl2.
// detect takes an archive for mboxcl2 on evidence: a message whose
// Content-Length frames a body that holds a "From " line. Messages before
// it that both readings give alike (no "From " line, quoted or not) leave
// the question open.
RC_GTEST_PROP(MboxProperty, DetectFindsMboxcl2, ()) {
    auto msgs = gen_length_framed(false);
    Msg first;
    first.from_line = "a@example.org Mon Nov 23 09:15:00 2026";
    const std::string body = "text\nFrom the start, this line is inside the body\n";
    first.data = "Subject: first\nContent-Length: " + std::to_string(body.size()) + "\n\n" + body;
    first.separator = true;
    msgs.insert(msgs.begin(), first);
    const int plain = *rc::gen::inRange(0, 4);
    for (int k = 0; k < plain; ++k) {
        Msg m;
        m.from_line = "b@example.org Mon Nov 23 09:16:00 2026";
        const std::string text = "plain text " + std::to_string(k) + "\n" + std::string(static_cast<std::size_t>(k), '\n');
        m.data = "Subject: plain\nContent-Length: " + std::to_string(text.size()) + "\n\n" + text;
        m.separator = true;
        msgs.insert(msgs.begin(), m);
    }
    const std::string bytes = write_archive(msgs, msg::MboxFormat::mboxcl2);
    const auto back = read_archive(bytes, msg::MboxFormat::detect);
    RC_ASSERT(back.size() == msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) RC_ASSERT(back[i].data == msgs[i].data);
}

// Without that evidence an archive with exact Content-Length fields is read
// as mboxrd, so its quoted ">From " lines are unquoted: a quoted line tells
// mboxrd, in the first message or in a later one.
TEST(MboxDetect, ExactContentLengthAloneMeansMboxrd) {
    const std::string body = "quoted:\n>From here\n";
    auto message = [](const std::string& b) {
        return "From a@example.org Mon Nov 23 09:15:00 2026\nSubject: x\nContent-Length: " + std::to_string(b.size()) +
               "\n\n" + b + "\n";
    };
    for (const std::string& a : {message(body), message("plain\n") + message(body)}) {
        const auto back = read_archive(a, msg::MboxFormat::detect);
        ASSERT_FALSE(back.empty());
        EXPECT_NE(back.back().data.find("\nFrom here\n"), std::string::npos);
    }
}

// A message too large to hold settles detect only by its framing: one whose
// Content-Length frames it as the From_ lines would leaves it open (the
// next message holds the evidence), and one framed where the From_ lines
// cannot (the next From_ line after a line of text) settles mboxcl2.
TEST(MboxDetect, AMessageTooLargeToHoldSettlesByItsFramingOnly) {
    const std::string body(40, 'x');
    const std::string a = "From a\nContent-Length: 40\n\n" + body.substr(0, 39) + "\n\nFrom b\nContent-Length: 12\n\nhi\n\nFrom me\n";
    const std::string b = "From a\nContent-Length: 40\n\n" + body.substr(0, 39) + "\nFrom b\nS: 2\n\nx\n";
    for (const auto& [archive, want] : {std::pair{a, std::size_t{2}}, std::pair{b, std::size_t{2}}}) {
        msg::MboxOptions o;
        o.format = msg::MboxFormat::detect;
        o.max_message = 45;
        const msg_test::MboxEvents e = msg_test::feed_at_once(archive, o, true);
        EXPECT_EQ(e.broken, "");
        EXPECT_EQ(e.events.size(), want) << archive;
        EXPECT_EQ(e.format, msg::MboxFormat::mboxcl2) << archive;
    }
}

// A Content-Length that ends inside a line never frames a message at a
// "From " there (a From_ line starts a line): the From_ lines do, and the
// mismatch is said.
TEST(MboxDetect, ContentLengthEndingInsideALineDoesNotFrameAtFrom) {
    const std::string a = "From a@example.org Mon Nov 23 09:15:00 2026\nSubject: x\nContent-Length: 6\n\n"
                          "Reply From here on\n\nFrom b@example.org Mon Nov 23 09:15:00 2026\nSubject: y\n\nz\n";
    const std::string p = temp_path("mid.mbox");
    { std::ofstream(p, std::ios::binary) << a; }
    for (const auto f : {msg::MboxFormat::mboxcl2, msg::MboxFormat::detect}) {
        msg::MboxOptions o;
        o.format = f;
        auto r = msg::MboxReader::open(p, o);
        ASSERT_TRUE(r.ok());
        msg::MboxMessage m;
        std::vector<std::string> data;
        bool mismatch = false;
        while (true) {
            auto n = (*r)->next(m);
            ASSERT_TRUE(n.ok());
            if (!*n) break;
            data.emplace_back(m.data);
            for (const msg::Defect& d : m.defects) mismatch = mismatch || d.code == msg::DefectCode::MboxContentLengthMismatch;
        }
        ASSERT_EQ(data.size(), 2u) << static_cast<int>(f);
        EXPECT_NE(data[0].find("Reply From here on\n"), std::string::npos);
        EXPECT_EQ(mismatch, f == msg::MboxFormat::mboxcl2);
    }
    std::filesystem::remove(p);
}

// --- the push parser at any split -----------------------------------------------

namespace {

// Where the pieces end: generated piece sizes, from 0 (the same bytes
// again) to a few hundred.
std::vector<std::size_t> gen_cuts(std::size_t size) {
    const auto pieces = *rc::gen::container<std::vector<std::size_t>>(
        rc::gen::weightedOneOf<std::size_t>({{3, rc::gen::inRange<std::size_t>(0, 8)},
                                             {1, rc::gen::inRange<std::size_t>(8, 400)}}));
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    for (std::size_t p : pieces) {
        at = std::min(size, at + p);
        cuts.push_back(at);
    }
    return cuts;
}

msg::MboxOptions gen_parser_options(msg::MboxFormat f) {
    msg::MboxOptions o;
    o.format = f;
    // Small limits make some messages too large to hold.
    if (*rc::gen::arbitrary<bool>()) o.max_message = *rc::gen::inRange<std::size_t>(0, 300);
    return o;
}

void check_any_split(const std::string& archive, const msg::MboxOptions& o) {
    const msg_test::MboxEvents whole = msg_test::feed_at_once(archive, o);
    RC_ASSERT(whole.broken == std::string());
    const msg_test::MboxEvents split = msg_test::feed(archive, o, gen_cuts(archive.size()));
    RC_ASSERT(split.broken == std::string());
    RC_ASSERT(split.events == whole.events);
    RC_ASSERT(split == whole);
}

}  // namespace

RC_GTEST_PROP(MboxParserProperty, AnySplitOfAWrittenArchiveGivesTheSameEvents, ()) {
    const auto f = *rc::gen::element(msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo, msg::MboxFormat::mboxcl,
                                     msg::MboxFormat::mboxcl2);
    const bool by_length = f == msg::MboxFormat::mboxcl || f == msg::MboxFormat::mboxcl2;
    const auto msgs = by_length ? gen_length_framed(f == msg::MboxFormat::mboxcl) : gen_from_framed(true);
    const std::string lead = *rc::gen::element<std::string>("", "\n", "\r\n", "junk\n\n", ">From x\n");
    const std::string archive = lead + write_archive(msgs, f);
    check_any_split(archive, gen_parser_options(*rc::gen::element(f, msg::MboxFormat::detect)));
}

RC_GTEST_PROP(MboxParserProperty, AnySplitOfArbitraryBytesGivesTheSameEvents, ()) {
    const auto parts = *rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
        "From ", "From a\n", "From b\r\n", "\n", "\r\n", "\r", ">From ", ">>From x\n", "Content-Length: 3\n",
        "Content-Length: 0\n", "Content-Length: 12\n", "content-length:x\n", "x", "abc\n", "Subject: s\n", " ",
        "\n\nFrom c\n"));
    std::string archive;
    for (const std::string& p : parts) archive += p;
    const auto f = *rc::gen::element(msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo, msg::MboxFormat::mboxcl,
                                     msg::MboxFormat::mboxcl2, msg::MboxFormat::detect);
    check_any_split(archive, gen_parser_options(f));
}

// --- an archive framed in pieces -------------------------------------------

namespace {

// The messages of `archive` framed whole by MboxReader and piece by piece
// (MboxPieces, stretches of `stretch` bytes, the counts of the pieces
// before added as parallel.hpp adds them): the same messages, numbered,
// placed and flagged the same, with the same defects.
void check_pieces(const std::string& archive, msg::MboxFormat f, std::size_t stretch, std::size_t max_message,
                  std::size_t read_size = msg::MboxOptions{}.read_size) {
    const std::string p = temp_path("pieces.mbox");
    { std::ofstream(p, std::ios::binary) << archive; }
    struct Remove {
        const std::string& path;
        ~Remove() { std::filesystem::remove(path); }
    } remove{p};   // also when an assertion fails
    msg::MboxOptions o;
    o.format = f;
    o.max_message = max_message;
    o.read_size = read_size;
    auto pieces = msg::MboxPieces::open(p, f, stretch);
    RC_ASSERT(pieces.ok());
    const bool cuttable = archive.starts_with("From ");
    RC_ASSERT(pieces->has_value() == cuttable);
    if (!cuttable) return;
    auto reader = msg::MboxReader::open(p, o);
    RC_ASSERT(reader.ok());
    msg::MboxMessage whole;
    std::uint64_t messages = 0, lines = 0;
    struct Kept {   // a message's views held by its keep, and what they showed
        std::shared_ptr<const void> keep;
        std::string_view from_line, data;
        std::string from_line_was, data_was;
    };
    std::vector<Kept> kept;
    msg::MboxPiece piece;
    while ((**pieces).next(piece)) {
        std::uint64_t at = 0, count = 0;
        const auto piece_lines = msg::MboxPieces::frame(piece, o, at, [&](msg::MboxMessage& m) {
            auto n = (*reader)->next(whole);
            RC_ASSERT(n.ok());
            RC_ASSERT(*n);
            RC_ASSERT(m.index + messages == whole.index);
            RC_ASSERT(m.offset + at == whole.offset);
            RC_ASSERT(m.line + lines == whole.line);
            RC_ASSERT(m.data_offset + at == whole.data_offset);
            RC_ASSERT(m.data_line + lines == whole.data_line);
            RC_ASSERT(m.data_end + at == whole.data_end);
            RC_ASSERT(m.from_line == whole.from_line);
            RC_ASSERT(m.data == whole.data);
            RC_ASSERT(m.unquoted == whole.unquoted);
            RC_ASSERT(m.too_large == whole.too_large);
            RC_ASSERT(m.from_crlf == whole.from_crlf);
            RC_ASSERT(m.separator == whole.separator);
            RC_ASSERT(m.separator_crlf == whole.separator_crlf);
            RC_ASSERT(m.defects.size() == whole.defects.size());
            for (std::size_t i = 0; i < m.defects.size(); ++i) {
                RC_ASSERT(m.defects[i].code == whole.defects[i].code);
                RC_ASSERT(m.defects[i].offset == whole.defects[i].offset);
            }
            // A view into the piece is held by keep, and stays as it was
            // while it is held (checked once every piece is framed).
            if (!m.unquoted && !m.too_large) RC_ASSERT(static_cast<bool>(m.keep));
            if (m.keep) {
                const std::string_view data = m.unquoted ? std::string_view() : m.data;
                kept.push_back({m.keep, m.from_line, data, std::string(m.from_line), std::string(data)});
            }
            ++count;
        });
        RC_ASSERT(piece_lines.ok());
        RC_ASSERT(at >= piece.begin);
        messages += count;
        lines += *piece_lines;
    }
    auto n = (*reader)->next(whole);
    RC_ASSERT(n.ok());
    RC_ASSERT(!*n);   // no message left out
    for (const Kept& k : kept) {
        RC_ASSERT(k.from_line == k.from_line_was);
        RC_ASSERT(k.data == k.data_was);
    }
}

}  // namespace

RC_GTEST_PROP(MboxPiecesProperty, PiecesFrameAsTheWholeArchive, ()) {
    const auto parts = *rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
        "From ", "From a\n", "From b\r\n", "\n", "\r\n", "\r", ">From ", ">>From x\n", "x", "abc\n", "Subject: s\n",
        " ", "\n\nFrom c\n", "\r\n\r\nFrom d\r\n", "\n\r\nFrom e\n", std::string(300, 'y') + "\n"));
    std::string archive = *rc::gen::element<std::string>("From first\n", "From \n", "", "junk\n\nFrom z\n");
    for (const std::string& part : parts) archive += part;
    const auto f = *rc::gen::element(msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo);
    const std::size_t stretch = *rc::gen::inRange<std::size_t>(1, 120);
    const std::size_t max_message = *rc::gen::arbitrary<bool>() ? *rc::gen::inRange<std::size_t>(0, 300)
                                                                : msg::MboxOptions{}.max_message;
    // Small reads and a small limit: a piece's bytes move on in its buffer,
    // or to a new one, many times.
    const std::size_t read_size = *rc::gen::element<std::size_t>(4096, msg::MboxOptions{}.read_size);
    check_pieces(archive, f, stretch, max_message, read_size);
}

// Archives larger than a piece's buffer with small reads (4096 bytes) and
// a small limit: the bytes a piece has not framed yet move on, to the
// front of its buffer or to a new one, many times, messages too large are
// skipped across those moves, and the pieces still frame as the whole.
RC_GTEST_PROP(MboxPiecesProperty, PiecesThatMoveTheirBytesOnFrameAsTheWhole, ()) {
    const auto parts = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
        "\n\nFrom c\n", "\r\n\r\nFrom d\r\n", ">From ", "Subject: s\n", "\n", std::string(700, 'y') + "\n",
        std::string(2500, 'z') + "\r\n", "\n\nFrom e\n" + std::string(5000, 'w') + "\n")));
    std::string archive = "From first\n";
    const int times = *rc::gen::inRange(1, 12);
    for (int t = 0; t < times; ++t)
        for (const std::string& part : parts) archive += part;
    const auto f = *rc::gen::element(msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo);
    const std::size_t stretch = *rc::gen::inRange<std::size_t>(1, 20000);
    const std::size_t max_message = *rc::gen::inRange<std::size_t>(0, 9000);
    check_pieces(archive, f, stretch, max_message, 4096);
}

RC_GTEST_PROP(MboxPiecesProperty, PiecesOfAWrittenArchiveFrameAsTheWhole, ()) {
    const auto f = *rc::gen::element(msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo);
    const std::string archive = write_archive(gen_from_framed(true), f);
    check_pieces(archive, f, *rc::gen::inRange<std::size_t>(1, 2000), msg::MboxOptions{}.max_message);
}

// Only the From_-line formats are cut; the others are read whole.
TEST(MboxPieces, OtherFormatsAndInputsAreNotCut) {
    const std::string p = temp_path("other.mbox");
    { std::ofstream(p, std::ios::binary) << "From a\nx\n\nFrom b\ny\n"; }
    for (const auto f : {msg::MboxFormat::mboxcl, msg::MboxFormat::mboxcl2, msg::MboxFormat::detect}) {
        auto r = msg::MboxPieces::open(p, f);
        ASSERT_TRUE(r.ok());
        EXPECT_FALSE(r->has_value());
    }
    auto ok = msg::MboxPieces::open(p, msg::MboxFormat::mboxrd);
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(ok->has_value());
    auto missing = msg::MboxPieces::open(p + ".missing", msg::MboxFormat::mboxrd);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().errnum, ENOENT);
    std::filesystem::remove(p);
}

// The buffer archives are read into (the reader's window, a piece's
// buffer): grown in any steps, it keeps the bytes it is told to keep, and
// is always aligned to and sized in whole huge pages.
RC_GTEST_PROP(HugeBufferProperty, GrowingKeepsWhatItIsToldTo, ()) {
    msg::detail::HugeBuffer b;
    std::string shadow;   // what the buffer should hold
    const auto steps = *rc::gen::inRange(1, 6);
    for (int i = 0; i < steps; ++i) {
        const std::size_t need = *rc::gen::inRange<std::size_t>(0, std::size_t{9} << 20);
        const std::size_t keep = std::min(shadow.size(), *rc::gen::inRange<std::size_t>(0, shadow.size() + 1));
        const char* before = b.data();
        RC_ASSERT(b.reserve(need, keep).ok());
        RC_ASSERT(b.capacity() >= need);
        RC_ASSERT(b.capacity() % msg::detail::HugeBuffer::kHuge == 0);
        if (b.capacity() > 0)
            RC_ASSERT(reinterpret_cast<std::uintptr_t>(b.data()) % msg::detail::HugeBuffer::kHuge == 0);
        if (b.data() != before) shadow.resize(keep);   // moved: only `keep` bytes came along
        RC_ASSERT(std::string_view(b.data() ? b.data() : "", shadow.size()) == shadow);
        // Fill some more of it, to be kept or not by the next step.
        const std::size_t more = std::min(b.capacity() - shadow.size(), *rc::gen::inRange<std::size_t>(0, 70000));
        const char c = static_cast<char>('a' + i);
        shadow.append(more, c);
        std::memset(b.data() + shadow.size() - more, c, more);
    }
    msg::detail::HugeBuffer moved = std::move(b);
    RC_ASSERT(b.data() == nullptr);
    RC_ASSERT(std::string_view(moved.data() ? moved.data() : "", shadow.size()) == shadow);
}
