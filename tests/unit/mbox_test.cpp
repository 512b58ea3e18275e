// mbox_test.cpp - the streaming mbox reader and writer, plain and gzip,
// every format, and the mailbox lock (msg/mbox.hpp); the huge buffers
// archives are read into (detail/huge_buffer.hpp).
#include "msg/mbox.hpp"
#include "detail/huge_buffer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct TempFile {
    std::filesystem::path path;
    explicit TempFile(const std::string& name)
        : path(std::filesystem::temp_directory_path() /
               ("msg_mbox_test_" + std::to_string(::getpid()) + "_" + name)) {}
    ~TempFile() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
    void write(const std::string& bytes) const {
        std::ofstream f(path, std::ios::binary);
        f << bytes;
    }
    void write_gzip(const std::string& bytes) const {
        gzFile gz = gzopen(path.c_str(), "wb");
        ASSERT_NE(gz, nullptr);
        ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
                  static_cast<int>(bytes.size()));
        ASSERT_EQ(gzclose(gz), Z_OK);
    }
    std::string str() const { return path.string(); }
};

struct Copy {
    std::uint64_t index, offset, line, data_offset, data_line;
    std::string from_line, data;
    bool unquoted;
    bool from_crlf = false, separator = false, separator_crlf = false;
    msg::MboxFormat format = msg::MboxFormat::mboxrd;
    msg::Defects defects;
};

// Read all messages; the error (if any) ends the list.
std::vector<Copy> read_all(const std::string& path, const msg::MboxOptions& o = {},
                           std::string* error = nullptr, std::uint64_t* garbage = nullptr,
                           bool* compressed = nullptr) {
    std::vector<Copy> out;
    auto r = msg::MboxReader::open(path, o);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return out;
    auto& reader = *r.value();
    msg::MboxMessage m;
    for (;;) {
        auto n = reader.next(m);
        if (!n.ok()) {
            if (error) *error = n.error().message;
            break;
        }
        if (!n.value()) break;
        out.push_back({m.index, m.offset, m.line, m.data_offset, m.data_line, std::string(m.from_line),
                       std::string(m.data), m.unquoted, m.from_crlf, m.separator, m.separator_crlf, m.format,
                       m.defects});
    }
    if (garbage) *garbage = reader.leading_garbage();
    if (compressed) *compressed = reader.compressed();
    return out;
}

const std::string kArchive =
    "From a@b Mon Jan  1 00:00:00 2024\n"         // line 1
    "Subject: one\n"                              // 2
    "\n"                                          // 3
    "body one\n"                                  // 4
    ">From quoted\n"                              // 5
    ">>From double\n"                             // 6
    "From not-a-separator (no empty line)\n"      // 7
    "\n"                                          // 8
    "From c@d Tue Jan  2 00:00:00 2024\n"         // 9
    "Subject: two\n"                              // 10
    "\n"                                          // 11
    "body two\n";                                 // 12

void check_archive(const std::vector<Copy>& msgs, bool mboxrd) {  // else mboxo
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].index, 0u);
    EXPECT_EQ(msgs[0].offset, 0u);
    EXPECT_EQ(msgs[0].line, 1u);
    EXPECT_EQ(msgs[0].from_line, "a@b Mon Jan  1 00:00:00 2024");
    EXPECT_EQ(msgs[0].data_offset, kArchive.find("Subject: one"));
    EXPECT_EQ(msgs[0].data_line, 2u);
    if (mboxrd) {
        EXPECT_TRUE(msgs[0].unquoted);
        EXPECT_EQ(msgs[0].data,
                  "Subject: one\n\nbody one\nFrom quoted\n>From double\n"
                  "From not-a-separator (no empty line)\n");
    } else {
        EXPECT_TRUE(msgs[0].unquoted);  // one level, and only from ">From "
        EXPECT_EQ(msgs[0].data,
                  "Subject: one\n\nbody one\nFrom quoted\n>>From double\n"
                  "From not-a-separator (no empty line)\n");
    }
    EXPECT_EQ(msgs[1].index, 1u);
    EXPECT_EQ(msgs[1].offset, kArchive.find("From c@d"));
    EXPECT_EQ(msgs[1].line, 9u);
    EXPECT_EQ(msgs[1].from_line, "c@d Tue Jan  2 00:00:00 2024");
    EXPECT_EQ(msgs[1].data, "Subject: two\n\nbody two\n");
    EXPECT_EQ(msgs[1].data_offset, kArchive.find("Subject: two"));
    EXPECT_EQ(msgs[1].data_line, 10u);
    EXPECT_FALSE(msgs[1].unquoted);
}

}  // namespace

TEST(Mbox, PlainMboxrd) {
    TempFile f("plain.mbox");
    f.write(kArchive);
    std::string err;
    std::uint64_t garbage = 99;
    bool compressed = true;
    auto msgs = read_all(f.str(), {}, &err, &garbage, &compressed);
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_EQ(garbage, 0u);
    EXPECT_FALSE(compressed);
    check_archive(msgs, true);
}

TEST(Mbox, PlainMboxoUnquotesOneLevel) {
    TempFile f("plain-o.mbox");
    f.write(kArchive);
    msg::MboxOptions o;
    o.format = msg::MboxFormat::mboxo;
    check_archive(read_all(f.str(), o), false);
}

TEST(Mbox, Gzip) {
    TempFile f("archive.mbox.gz");
    f.write_gzip(kArchive);
    std::string err;
    bool compressed = false;
    auto msgs = read_all(f.str(), {}, &err, nullptr, &compressed);
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_TRUE(compressed);
    check_archive(msgs, true);
}

TEST(Mbox, ManyMessagesAcrossReadBuffers) {
    // Messages straddle the 4096-byte reads; the window must carry them over.
    std::string archive;
    std::vector<std::string> bodies;
    for (int i = 0; i < 300; ++i) {
        std::string body = "Subject: m" + std::to_string(i) + "\n\n" +
                           std::string(static_cast<std::size_t>(i * 7 % 150), 'x') + "\n";
        if (i % 10 == 0) body += ">From quoted " + std::to_string(i) + "\n";
        archive += "From sender" + std::to_string(i) + " Thu Jan  1 00:00:00 2024\n" + body + "\n";
        if (i % 10 == 0) body.replace(body.find(">From quoted"), 1, "");
        bodies.push_back(body);
    }
    // plain in large reads, plain in small ones, gzip
    for (int mode = 0; mode < 3; ++mode) {
        const bool gz = mode == 2;
        msg::MboxOptions o;
        o.read_size = mode == 0 ? 1 << 20 : 4096;
        SCOPED_TRACE(mode == 0 ? "plain, large reads" : mode == 1 ? "plain, small reads" : "gzip");
        TempFile f(gz ? "many.mbox.gz" : "many.mbox");
        if (gz) f.write_gzip(archive);
        else f.write(archive);
        std::string err;
        auto msgs = read_all(f.str(), o, &err);
        EXPECT_TRUE(err.empty()) << err;
        ASSERT_EQ(msgs.size(), bodies.size());
        std::uint64_t line = 1;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            EXPECT_EQ(msgs[i].data, bodies[i]) << i;
            EXPECT_EQ(msgs[i].from_line, "sender" + std::to_string(i) + " Thu Jan  1 00:00:00 2024");
            EXPECT_EQ(msgs[i].offset, archive.find("From sender" + std::to_string(i) + " "));
            EXPECT_EQ(msgs[i].line, line) << i;
            line += 1 + static_cast<std::uint64_t>(std::count(bodies[i].begin(), bodies[i].end(), '\n')) + 1;
        }
    }
}

// A message framed in pieces stays valid while its keep is held, after the
// pieces after it were framed (by the same thread, whose buffer is not
// taken again while a message holds it) and after the pieces are gone. An
// unquoted message's data is a copy, valid during the call only; its keep
// holds its From_ line.
TEST(Mbox, KeptMessagesOfPiecesOutliveTheFraming) {
    std::string archive;
    std::vector<std::string> bodies;
    for (int i = 0; i < 40; ++i) {
        // some small, some over a stretch (1 MiB here), one quoted line in every seventh
        const std::size_t fill = i % 9 == 4 ? (std::size_t{3} << 20) + static_cast<std::size_t>(i) : 1000u * i;
        std::string body = "Subject: m" + std::to_string(i) + "\n\n" + std::string(fill, static_cast<char>('a' + i % 26)) + "\n";
        std::string stored = body;
        if (i % 7 == 3) {
            stored += ">From quoted\n";
            body += "From quoted\n";
        }
        archive += "From s Thu Jan  1 00:00:00 2024\n" + stored + "\n";
        bodies.push_back(body);
    }
    TempFile f("keep.mbox");
    f.write(archive);
    std::vector<std::pair<std::shared_ptr<const void>, std::string_view>> held;
    std::size_t messages = 0;
    {
        auto pieces = msg::MboxPieces::open(f.str(), msg::MboxFormat::mboxrd, std::size_t{1} << 20);
        ASSERT_TRUE(pieces.ok() && pieces->has_value());
        msg::MboxPiece piece;
        while ((**pieces).next(piece)) {
            std::uint64_t at = 0;
            const auto framed = msg::MboxPieces::frame(piece, msg::MboxOptions{}, at, [&](msg::MboxMessage& m) {
                ASSERT_LT(messages, bodies.size());
                EXPECT_EQ(m.data, bodies[messages]) << messages;
                EXPECT_NE(m.keep, nullptr) << messages;
                if (!m.unquoted) held.emplace_back(m.keep, m.data);
                ++messages;
            });
            EXPECT_TRUE(framed.ok()) << framed.error().message;
        }
    }
    EXPECT_EQ(messages, bodies.size());
    ASSERT_EQ(held.size(), bodies.size() - 6);
    for (std::size_t i = 0, k = 0; i < bodies.size(); ++i)
        if (i % 7 != 3) {
            EXPECT_EQ(held[k++].second, bodies[i]) << i;
        }
}

// Frame the archive at `path` piece by piece and compare every message with
// what the reader of the whole archive gives: numbered, placed, with the
// same bytes and defects, each not too large held by its keep, its views
// (its From_ line, and its data unless unquoted) still the same once every
// piece is framed; and the lines of the pieces counted once.
void expect_pieces_frame_as_whole(const std::string& path, const msg::MboxOptions& o, std::size_t stretch,
                                  std::uint64_t archive_lines) {
    const std::vector<Copy> whole = read_all(path, o);
    auto pieces = msg::MboxPieces::open(path, o.format, stretch);
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    struct Held {
        std::shared_ptr<const void> keep;
        std::string_view from_line, data;   // data: empty when a copy
    };
    std::vector<Held> held;   // message i's
    std::uint64_t messages = 0, lines = 0;
    msg::MboxPiece piece;
    while ((**pieces).next(piece)) {
        std::uint64_t at = 0, count = 0;
        const auto framed = msg::MboxPieces::frame(piece, o, at, [&](msg::MboxMessage& m) {
            ASSERT_LT(messages + count, whole.size());
            const Copy& w = whole[messages + count];
            EXPECT_EQ(m.index + messages, w.index);
            EXPECT_EQ(m.offset + at, w.offset);
            EXPECT_EQ(m.line + lines, w.line);
            EXPECT_EQ(m.data_line + lines, w.data_line);
            EXPECT_EQ(m.from_line, w.from_line);
            EXPECT_TRUE(m.data == w.data) << w.index;   // (not printed: megabytes)
            EXPECT_EQ(m.unquoted, w.unquoted) << w.index;
            ASSERT_EQ(m.defects.size(), w.defects.size()) << w.index;
            for (std::size_t d = 0; d < m.defects.size(); ++d) EXPECT_EQ(m.defects[d].code, w.defects[d].code);
            EXPECT_EQ(m.keep != nullptr, !m.too_large) << w.index;
            if (m.keep) held.push_back({m.keep, m.from_line, m.unquoted ? std::string_view() : m.data});
            else held.push_back({});
            ++count;
        });
        ASSERT_TRUE(framed.ok()) << framed.error().message;
        messages += count;
        lines += *framed;
    }
    EXPECT_EQ(messages, whole.size());
    EXPECT_EQ(lines, archive_lines);
    std::size_t checked = 0;
    for (std::size_t i = 0; i < held.size(); ++i) {
        if (!held[i].keep) continue;
        EXPECT_EQ(held[i].from_line, whole[i].from_line) << i;
        if (!held[i].data.empty()) {
            EXPECT_TRUE(held[i].data == whole[i].data) << i;
            ++checked;
        }
    }
    EXPECT_GT(checked, 0u);
}

// An archive of short messages (every third with a quoted From_ line in
// its body, so framed as an unquoted copy) with one of `long_size` bytes
// of body after the first twenty and `after` short ones after it: message
// i's lines are 79 times the letter i.
std::string archive_with_a_long_message(std::size_t long_size, int after = 19) {
    std::string archive;
    const auto add = [&](int i, std::size_t size) {
        archive += "From s" + std::to_string(i) + " Thu Jan  1 00:00:00 2024\nSubject: " + std::to_string(i) + "\n\n";
        for (std::size_t n = 0; n < size; n += 80) archive += std::string(79, static_cast<char>('a' + i % 26)) + "\n";
        if (i % 3 == 0) archive += ">From quoted\n";
        archive += "\n";
    };
    for (int i = 0; i < 20; ++i) add(i, 2000);
    add(20, long_size);   // begun in the first stretch of 1 MiB
    for (int i = 21; i < 21 + after; ++i) add(i, 2000);
    return archive;
}

std::uint64_t lines_of(const std::string& s) { return static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n')); }

// A piece that goes on past its thread's buffer (a long message after
// short ones in the same stretch) goes on in a larger buffer of its own,
// the bytes read so far copied, which then grows where it is (past 64 MiB):
// every message once, as the reader of the whole archive gives it.
TEST(Mbox, APieceLongerThanItsBufferGoesOnInALargerOne) {
    const std::string archive = archive_with_a_long_message(std::size_t{70} << 20);
    TempFile f("long-piece.mbox");
    f.write(archive);
    expect_pieces_frame_as_whole(f.str(), msg::MboxOptions{}, std::size_t{1} << 20, lines_of(archive));
}

// A message too large to hold (past max_message) in a piece is skipped as
// it is read, and framed as the reader frames it (too_large, its size, no
// data); the messages before it and after it stay whole. When messages
// before it in the piece hold the buffer, the bytes go on in a new one;
// else (a stretch that begins just before it: a piece of its own) they
// move to the front of the same buffer as it goes; and an archive that
// ends with it ends a piece whose bytes have moved.
TEST(Mbox, AMessageTooLargeInAPieceIsSkippedAsItIsRead) {
    msg::MboxOptions o;
    o.max_message = std::size_t{1} << 20;
    for (int after : {19, 0}) {
        const std::string archive = archive_with_a_long_message(std::size_t{9} << 20, after);
        TempFile f("too-large-piece.mbox");
        f.write(archive);
        const std::size_t own = archive.find("From s20 ") - 100;   // its stretch's first cut: message 20
        for (std::size_t stretch : {std::size_t{1} << 20, own}) expect_pieces_frame_as_whole(f.str(), o, stretch, lines_of(archive));
        const std::vector<Copy> whole = read_all(f.str(), o);
        ASSERT_EQ(whole.size(), 21u + static_cast<std::size_t>(after));
        EXPECT_TRUE(whole[20].data.empty());
        ASSERT_EQ(whole[20].defects.size(), 1u);
        EXPECT_EQ(whole[20].defects[0].code, msg::DefectCode::MboxMessageTooLarge);
    }
}

// An archive cut short while a long message of a piece is read (past the
// thread's first buffer of 32 MiB) is an error naming it, not SIGBUS: the
// archive is read, never mapped.
TEST(Mbox, AnArchiveCutShortInALongMessageIsAnError) {
    const std::string archive = archive_with_a_long_message(std::size_t{40} << 20);
    TempFile f("cut-long.mbox");
    f.write(archive);
    auto pieces = msg::MboxPieces::open(f.str(), msg::MboxFormat::mboxrd, std::size_t{1} << 20);
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    std::filesystem::resize_file(f.str(), std::size_t{36} << 20);
    msg::MboxPiece piece;
    ASSERT_TRUE((**pieces).next(piece));
    std::uint64_t at = 0;
    std::size_t framed = 0;
    const auto lines = msg::MboxPieces::frame(piece, msg::MboxOptions{}, at, [&](msg::MboxMessage&) { ++framed; });
    ASSERT_FALSE(lines.ok());
    EXPECT_NE(lines.error().message.find("cut short"), std::string::npos) << lines.error().message;
    EXPECT_NE(lines.error().message.find(f.str()), std::string::npos) << lines.error().message;
    EXPECT_EQ(framed, 20u);   // the short ones before it, whole
}

// A piece with nowhere to cut it (empty messages, one From_ line after
// another) goes on past its buffer's first room: when no message holds the
// buffer any more, the bytes go on in it, not in a new one each time it
// fills (which a caller working on each message as it comes would have
// paid for in memory, a buffer's worth per fill).
TEST(Mbox, APieceWhoseMessagesAreLetGoGoesOnInItsBuffer) {
    const std::string line = "From s Thu Jan  1 00:00:00 2024\n";
    const std::size_t n = (std::size_t{40} << 20) / line.size();   // past the first room of 32 MiB
    std::string archive;
    archive.reserve(n * line.size());
    for (std::size_t i = 0; i < n; ++i) archive += line;
    TempFile f("no-cut.mbox");
    f.write(archive);
    auto pieces = msg::MboxPieces::open(f.str(), msg::MboxFormat::mboxrd, archive.size());
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    msg::MboxPiece piece;
    ASSERT_TRUE((**pieces).next(piece));
    std::uint64_t at = 0;
    std::size_t framed = 0, elsewhere = 0;
    const void* first = nullptr;
    const auto lines = msg::MboxPieces::frame(piece, msg::MboxOptions{}, at, [&](msg::MboxMessage& m) {
        if (!first) first = m.keep.get();
        elsewhere += m.keep.get() != first;
        ++framed;
    });
    ASSERT_TRUE(lines.ok()) << lines.error().message;
    EXPECT_EQ(*lines, n);
    EXPECT_EQ(framed, n);
    EXPECT_EQ(elsewhere, 0u) << "the piece went on in another buffer";
}

// A plain archive cut short while it is read is an error naming it, for
// the reader and for pieces (which read it where its size said it has
// bytes), not a crash and not a last message handed out cut.
TEST(Mbox, AnArchiveCutShortWhileReadIsAnError) {
    std::string archive;
    for (int i = 0; i < 200; ++i)
        archive += "From s Thu Jan  1 00:00:00 2024\nSubject: " + std::to_string(i) + "\n\n" + std::string(5000, 'x') +
                   "\n\n";
    TempFile f("cut.mbox");
    f.write(archive);
    msg::MboxOptions o;
    o.read_size = 4096;
    auto r = msg::MboxReader::open(f.str(), o);
    ASSERT_TRUE(r.ok());
    auto pieces = msg::MboxPieces::open(f.str(), msg::MboxFormat::mboxrd, 64 * 1024);
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    std::filesystem::resize_file(f.str(), archive.size() / 2);
    msg::MboxMessage m;
    std::size_t whole = 0;
    msg::Status st = msg::Ok{};
    for (;;) {
        auto n = (*r)->next(m);
        if (!n.ok()) {
            st = n.error();
            break;
        }
        if (!*n) break;
        EXPECT_EQ(m.data.size(), std::string("Subject: ").size() + std::to_string(whole).size() + 2 + 5000 + 1);
        ++whole;
    }
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("cut short"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find(f.str()), std::string::npos) << st.error().message;
    EXPECT_EQ(st.error().errnum, EIO) << "a read error (exit 74) with -j 1 as with -j N";
    msg::MboxPiece piece;
    std::size_t errors = 0, framed = 0;
    while ((**pieces).next(piece)) {
        std::uint64_t at = 0;
        auto lines = msg::MboxPieces::frame(piece, o, at, [&](msg::MboxMessage&) { ++framed; });
        if (!lines.ok()) {
            ++errors;
            EXPECT_NE(lines.error().message.find("cut short"), std::string::npos) << lines.error().message;
            EXPECT_EQ(lines.error().errnum, EIO);
        }
    }
    EXPECT_GT(errors, 0u);
    EXPECT_LE(framed, whole + 1);
}

TEST(Mbox, CrlfArchive) {
    TempFile f("crlf.mbox");
    f.write("From a\r\nX: 1\r\n\r\nbody\r\n\r\nFrom b\r\nX: 2\r\n\r\nb2\r\n");
    auto msgs = read_all(f.str());
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].from_line, "a");
    EXPECT_EQ(msgs[0].data, "X: 1\r\n\r\nbody\r\n");
    EXPECT_EQ(msgs[1].from_line, "b");
    EXPECT_EQ(msgs[1].data, "X: 2\r\n\r\nb2\r\n");
    EXPECT_EQ(msgs[1].line, 6u);
}

TEST(Mbox, TrailingEmptyLineIsSeparator) {
    TempFile f("trailing.mbox");
    f.write("From a\nX: 1\n\nbody\n\n");
    auto msgs = read_all(f.str());
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "X: 1\n\nbody\n");
}

TEST(Mbox, LeadingGarbage) {
    TempFile f("garbage.mbox");
    f.write("garbage line\nmore\nFrom x\nA: b\n\nbody\n");
    std::uint64_t garbage = 0;
    auto msgs = read_all(f.str(), {}, nullptr, &garbage);
    EXPECT_EQ(garbage, 18u);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].offset, 18u);
    EXPECT_EQ(msgs[0].line, 3u);
    EXPECT_EQ(msgs[0].data, "A: b\n\nbody\n");
    EXPECT_EQ(msgs[0].data_line, 4u);
}

// The bytes before the first From_ line are handed out as bytes, and
// writing them back (write_raw) before the messages as read gives the
// archive byte for byte.
TEST(Mbox, LeadingBytesRoundTrip) {
    const std::vector<std::string> leads = {"\n", "\r\n", "junk before the archive\nmore\n\n", "x\n", ">From x\n",
                                            "From\n", std::string(5000, 'j') + "\n"};
    for (const std::string& lead : leads) {
        const std::string a = lead + "From a@b Mon Jan  1 00:00:00 2024\nX: 1\n\n>From q\n\nFrom c\nX: 2\n\nbody\n";
        TempFile plain("lead.mbox"), gz("lead.mbox.gz");
        plain.write(a);
        gz.write_gzip(a);
        for (int mode = 0; mode < 3; ++mode) {
            SCOPED_TRACE(std::to_string(lead.size()) + " leading bytes, " +
                         (mode == 0 ? "large reads" : mode == 1 ? "small reads" : "gzip"));
            msg::MboxOptions o;
            o.read_size = mode == 0 ? 1 << 20 : 4096;
            auto r = msg::MboxReader::open(mode == 2 ? gz.str() : plain.str(), o);
            ASSERT_TRUE(r.ok());
            TempFile out("lead-out.mbox");
            msg::MboxWriter::Options wo;
            auto w = msg::MboxWriter::open(out.str(), wo);
            ASSERT_TRUE(w.ok());
            msg::MboxMessage m;
            std::size_t count = 0;
            for (;;) {
                auto n = (*r)->next(m);
                ASSERT_TRUE(n.ok());
                if (!*n) break;
                if (count++ == 0) {
                    EXPECT_EQ((*r)->leading(), lead);
                    EXPECT_EQ((*r)->leading_garbage(), lead.size());
                    EXPECT_EQ(m.offset, lead.size());
                    ASSERT_TRUE((*w)->write_raw((*r)->leading()).ok());
                }
                ASSERT_TRUE((*w)->write(m).ok());
            }
            EXPECT_EQ(count, 2u);
            ASSERT_TRUE((*w)->close().ok());
            EXPECT_EQ(slurp(out.path), a);
        }
    }
}

TEST(Mbox, LeadingBytesWithoutMessagesOrPastTheLimit) {
    TempFile f("only-junk.mbox");
    f.write("no archive here\n");
    auto r = msg::MboxReader::open(f.str());
    ASSERT_TRUE(r.ok());
    msg::MboxMessage m;
    auto n = (*r)->next(m);
    ASSERT_TRUE(n.ok());
    EXPECT_FALSE(*n);
    EXPECT_EQ((*r)->leading(), "no archive here\n");
    EXPECT_EQ((*r)->leading_garbage(), 16u);
    // More leading bytes than max_message: counted, not kept.
    const std::string junk(20000, 'j');
    f.write(junk + "\nFrom a\nX: 1\n");
    for (const std::size_t read_size : {std::size_t{1} << 20, std::size_t{4096}}) {
        msg::MboxOptions o;
        o.max_message = 1000;
        o.read_size = read_size;
        auto big = msg::MboxReader::open(f.str(), o);
        ASSERT_TRUE(big.ok());
        n = (*big)->next(m);
        ASSERT_TRUE(n.ok());
        ASSERT_TRUE(*n);
        EXPECT_EQ(m.data, "X: 1\n");
        EXPECT_EQ((*big)->leading(), "");
        EXPECT_EQ((*big)->leading_garbage(), junk.size() + 1);
        EXPECT_EQ(m.line, 2u);
    }
}

TEST(Mbox, NoMessages) {
    TempFile f("nothing.mbox");
    f.write("just text\n");
    std::uint64_t garbage = 0;
    EXPECT_TRUE(read_all(f.str(), {}, nullptr, &garbage).empty());
    EXPECT_EQ(garbage, 10u);
    TempFile e("empty.mbox");
    e.write("");
    garbage = 99;
    EXPECT_TRUE(read_all(e.str(), {}, nullptr, &garbage).empty());
    EXPECT_EQ(garbage, 0u);
}

TEST(Mbox, TruncatedGzipIsAnError) {
    std::string archive;
    // Incompressible-ish content so that the compressed stream is long.
    std::uint32_t x = 12345;
    for (int i = 0; i < 50; ++i) {
        archive += "From s Thu Jan  1 00:00:00 2024\nSubject: " + std::to_string(i) + "\n\n";
        for (int k = 0; k < 200; ++k) {
            x = x * 1103515245u + 12345u;
            archive.push_back(static_cast<char>('a' + (x >> 16) % 26));
        }
        archive += "\n\n";
    }
    TempFile full("full.mbox.gz");
    full.write_gzip(archive);
    std::string gz;
    {
        std::ifstream in(full.path, std::ios::binary);
        gz.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ASSERT_GT(gz.size(), 1000u);
    TempFile cut("cut.mbox.gz");
    cut.write(gz.substr(0, gz.size() / 2));
    std::string err;
    auto msgs = read_all(cut.str(), {}, &err);
    EXPECT_FALSE(err.empty());
    EXPECT_NE(err.find(cut.str()), std::string::npos) << err;
    EXPECT_LT(msgs.size(), 50u);
    // The messages handed out before the error are intact.
    for (std::size_t i = 0; i < msgs.size(); ++i)
        EXPECT_EQ(msgs[i].data.substr(0, 9 + std::to_string(i).size()), "Subject: " + std::to_string(i));
    // The one lost is named.
    EXPECT_NE(err.find("; message " + std::to_string(msgs.size() + 1) + ", from line " +
                       std::to_string(msgs.size() * 5 + 1) + ", is cut short and not read"),
              std::string::npos)
        << err;
}

// An archive cut at every byte of its gzip file: the messages handed out
// are always whole ones of the archive, in order, and the error names the
// first one not read. Cut only in the trailer (the CRC and size gzip puts
// after the data), every message is read, the last one too, and the error
// says the data could not be checked. Text (compressed blocks) and random
// bytes (stored blocks) both.
TEST(Mbox, GzipCutAtEveryByte) {
    for (const bool random : {false, true}) {
        SCOPED_TRACE(random ? "stored blocks" : "compressed blocks");
        std::string archive;
        std::vector<std::string> bodies;
        std::uint32_t x = 99;
        for (int i = 0; i < 6; ++i) {
            std::string body;
            for (int k = 0; k < 1500; ++k) {
                x = x * 1103515245u + 12345u;
                body.push_back(random ? static_cast<char>('!' + (x >> 16) % 90) : "the mail "[(x >> 16) % 9]);
                if (k % 70 == 69) body.push_back('\n');
            }
            bodies.push_back("Subject: " + std::to_string(i) + "\n\n" + body + "\n");
            archive += "From s Thu Jan  1 00:00:00 2024\n" + bodies.back() + "\n";
        }
        TempFile full("every.mbox.gz");
        full.write_gzip(archive);
        const std::string gz = slurp(full.path);
        TempFile cut("every-cut.mbox.gz");
        std::size_t cut_short = 0, unchecked = 0;
        // (One byte is not gzip's magic: plain bytes, no From_ line.)
        for (std::size_t n = 2; n <= gz.size(); ++n) {
            cut.write(gz.substr(0, n));
            std::string err;
            auto msgs = read_all(cut.str(), {}, &err);
            ASSERT_LE(msgs.size(), bodies.size());
            for (std::size_t i = 0; i < msgs.size(); ++i) ASSERT_EQ(msgs[i].data, bodies[i]) << "cut at " << n;
            if (n == gz.size()) {
                EXPECT_TRUE(err.empty()) << err;
                EXPECT_EQ(msgs.size(), bodies.size());
            } else if (n >= gz.size() - 8) {
                ++unchecked;
                EXPECT_EQ(msgs.size(), bodies.size()) << "cut at " << n;
                EXPECT_NE(err.find("ends without its trailer (CRC and size), at byte " + std::to_string(n)),
                          std::string::npos)
                    << err;
            } else {
                ++cut_short;
                ASSERT_LT(msgs.size(), bodies.size()) << "cut at " << n;
                EXPECT_NE(err.find("(the archive is truncated or corrupt)"), std::string::npos)
                    << "cut at " << n << ": " << err;
                // Before the first From_ line is whole, no message is pending.
                if (err.find("; message ") != std::string::npos) {
                    EXPECT_NE(err.find("; message " + std::to_string(msgs.size() + 1) + ", from line "),
                              std::string::npos)
                        << "cut at " << n << ": " << err;
                }
            }
        }
        EXPECT_EQ(unchecked, 8u);
        EXPECT_GT(cut_short, gz.size() / 2);
    }
}

// A message longer than a read, whose deflate data ends in a long match
// (a run of one byte): cut in the trailer, the inflater still holds the
// end of it when the input is all read, and every byte comes out.
TEST(Mbox, GzipWithoutTrailerAfterALongRun) {
    const std::string head = "From a@example.org Mon Nov 23 09:00:00 2026\nFrom: a@example.org\nSubject: x\n\n";
    for (std::size_t extra : {1u, 21u, 100u, 200u, 257u}) {
        const std::string body(262144 + extra, 'x');
        z_stream z{};
        ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        std::string gz(deflateBound(&z, head.size() + body.size()) + 64, '\0');
        z.next_out = reinterpret_cast<Bytef*>(gz.data());
        z.avail_out = static_cast<uInt>(gz.size());
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(head.data()));
        z.avail_in = static_cast<uInt>(head.size());
        ASSERT_EQ(deflate(&z, Z_FULL_FLUSH), Z_OK);
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
        z.avail_in = static_cast<uInt>(body.size());
        ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
        gz.resize(z.total_out - 8);   // no trailer
        deflateEnd(&z);
        TempFile f("long-run.mbox.gz");
        f.write(gz);
        std::string err;
        const auto msgs = read_all(f.str(), {}, &err);
        ASSERT_EQ(msgs.size(), 1u) << extra << ": " << err;
        EXPECT_EQ(msgs[0].data.size(), head.size() - (head.find('\n') + 1) + body.size()) << extra;
        EXPECT_NE(err.find("without its trailer"), std::string::npos) << extra << ": " << err;
    }
}

// A member whose trailer does not match (CRC or size) was inflated to its
// end: every message is handed out, the last too, then the error says the
// data failed its check (not that a message was cut short).
TEST(Mbox, GzipFailingItsCheckHandsOutEveryMessage) {
    const std::string text = "From a Mon Jan  1 00:00:00 2024\nSubject: 1\n\none\n\n"
                             "From b Mon Jan  1 00:00:01 2024\nSubject: 2\n\ntwo\n";
    TempFile t("member.gz");
    t.write_gzip(text);
    std::string gz;
    {
        std::ifstream in(t.path, std::ios::binary);
        gz.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    for (const std::size_t at : {gz.size() - 8, gz.size() - 1}) {   // a CRC byte, a size byte
        std::string bad = gz;
        bad[at] = static_cast<char>(bad[at] ^ 0x40);
        TempFile f("bad-check.mbox.gz");
        f.write(bad);
        std::string err;
        const auto msgs = read_all(f.str(), {}, &err);
        ASSERT_EQ(msgs.size(), 2u) << at << ": " << err;
        EXPECT_EQ(msgs[1].data, "Subject: 2\n\ntwo\n");
        EXPECT_NE(err.find("fails its check"), std::string::npos) << err;
        EXPECT_EQ(err.find("cut short"), std::string::npos) << err;
    }
}

// A trailer that does not match, with another member after it: the
// message the next member goes on with is cut short, and said so.
TEST(Mbox, GzipFailingItsCheckBeforeAnotherMember) {
    auto gz_of = [](const std::string& text) {
        TempFile t("member.gz");
        t.write_gzip(text);
        std::ifstream in(t.path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    std::string first = gz_of("From a Mon Jan  1 00:00:00 2024\nS: 1\n\nhello");
    first[first.size() - 8] = static_cast<char>(first[first.size() - 8] ^ 0x40);
    TempFile f("two-members.mbox.gz");
    f.write(first + gz_of(" world\n\nFrom b Mon Jan  1 00:00:01 2024\nS: 2\n\nsecond\n"));
    std::string err;
    const auto msgs = read_all(f.str(), {}, &err);
    EXPECT_TRUE(msgs.empty()) << msgs.size();
    EXPECT_NE(err.find("cut short"), std::string::npos) << err;
}

// gzip members one after another are one archive (as gzip -d reads
// them); bytes after the last that are not gzip (mail appended to a
// compressed archive) are an error once the messages before them are out,
// not ignored; zeros padding the file are skipped.
TEST(Mbox, BytesAfterTheGzipDataAreAnError) {
    const std::string one = "From a Mon Jan  1 00:00:00 2024\nSubject: 1\n\none\n\n";
    const std::string two = "From b Mon Jan  1 00:00:01 2024\nSubject: 2\n\ntwo\n";
    auto gz_of = [](const std::string& text) {
        TempFile t("member.gz");
        t.write_gzip(text);
        std::ifstream in(t.path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    TempFile f("tail.mbox.gz");
    std::string err;
    f.write(gz_of(one) + gz_of(two));
    EXPECT_EQ(read_all(f.str(), {}, &err).size(), 2u);
    EXPECT_TRUE(err.empty()) << err;
    f.write(gz_of(one) + two);
    auto msgs = read_all(f.str(), {}, &err);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "Subject: 1\n\none\n");
    EXPECT_NE(err.find(f.str() + ": the bytes after its gzip data, from byte " + std::to_string(gz_of(one).size()) +
                       ", are not gzip"),
              std::string::npos)
        << err;
    err.clear();
    f.write(gz_of(one + two) + std::string(1000, '\0'));
    EXPECT_EQ(read_all(f.str(), {}, &err).size(), 2u);
    EXPECT_TRUE(err.empty()) << err;
    f.write(gz_of(one) + std::string(10, '\0') + "x");
    EXPECT_EQ(read_all(f.str(), {}, &err).size(), 1u);
    EXPECT_NE(err.find("are not gzip"), std::string::npos) << err;
}

TEST(Mbox, OpenErrors) {
    auto r = msg::MboxReader::open("/nonexistent/dir/x.mbox");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().errnum, ENOENT);
    EXPECT_NE(r.error().message.find("/nonexistent/dir/x.mbox"), std::string::npos);
}

TEST(Mbox, MimekitSamples) {
    const std::string dir = std::string(MSG_TESTDATA) + "/mimekit/mbox/";
    auto simple = read_all(dir + "simple.mbox.txt");
    EXPECT_GE(simple.size(), 1u);
    for (const auto& m : simple) {
        EXPECT_FALSE(m.data.empty());
        EXPECT_NE(m.data.substr(0, 5), "From ");
    }
    auto big = read_all(dir + "content-length.mbox.txt");
    EXPECT_GE(big.size(), 2u);
    for (std::size_t i = 0; i < big.size(); ++i) EXPECT_EQ(big[i].index, i);
}

TEST(Mbox, LinesLongerThanTheReadSize) {
    const std::string from_rest = "x@y " + std::string(9000, 'f');
    const std::string body1 = "Subject: big\n\n" + std::string(20000, 'b') + "\n>From q\n";
    const std::string body2 = "Subject: small\n\nend";  // no final line break
    const std::string archive = "From " + from_rest + "\n" + body1 + "\nFrom z\n" + body2;
    TempFile f("long.mbox");
    f.write(archive);
    for (const std::size_t read_size : {std::size_t{4096}, std::size_t{1} << 20}) {
        SCOPED_TRACE(read_size);
        msg::MboxOptions o;
        o.read_size = read_size;
        std::string err;
        auto msgs = read_all(f.str(), o, &err);
        EXPECT_TRUE(err.empty()) << err;
        ASSERT_EQ(msgs.size(), 2u);
        EXPECT_EQ(msgs[0].from_line, from_rest);
        EXPECT_TRUE(msgs[0].data == "Subject: big\n\n" + std::string(20000, 'b') + "\nFrom q\n");
        EXPECT_EQ(msgs[0].data_offset, 5 + from_rest.size() + 1);
        EXPECT_EQ(msgs[1].from_line, "z");
        EXPECT_EQ(msgs[1].data, body2);
        EXPECT_EQ(msgs[1].line, 7u);
        EXPECT_EQ(msgs[1].offset, archive.find("\nFrom z") + 1);
    }
}

// --- formats, framing flags, defects ------------------------------------------

namespace {

msg::MboxOptions with_format(msg::MboxFormat f, std::size_t read_size = 1 << 20) {
    msg::MboxOptions o;
    o.format = f;
    o.read_size = read_size;
    return o;
}

// Read `archive` as plain in large reads, plain in small reads and gzip;
// all three must agree. Returns the first reading.
std::vector<Copy> read_string(const std::string& archive, msg::MboxFormat f,
                              msg::MboxFormat* resolved = nullptr) {
    TempFile plain("s.mbox"), gz("s.mbox.gz");
    plain.write(archive);
    gz.write_gzip(archive);
    std::vector<Copy> first;
    for (int mode = 0; mode < 3; ++mode) {
        SCOPED_TRACE(mode == 0 ? "large reads" : mode == 1 ? "small reads" : "gzip");
        std::string err;
        auto r = msg::MboxReader::open(mode == 2 ? gz.str() : plain.str(), with_format(f, mode == 0 ? 1 << 20 : 4096));
        EXPECT_TRUE(r.ok());
        if (!r.ok()) return {};
        std::vector<Copy> msgs;
        msg::MboxMessage m;
        for (;;) {
            auto n = (*r)->next(m);
            EXPECT_TRUE(n.ok());
            if (!n.ok() || !*n) break;
            msgs.push_back({m.index, m.offset, m.line, m.data_offset, m.data_line, std::string(m.from_line),
                            std::string(m.data), m.unquoted, m.from_crlf, m.separator, m.separator_crlf,
                            m.format, m.defects});
        }
        if (mode == 0) {
            first = msgs;
            if (resolved) *resolved = (*r)->format();
            continue;
        }
        EXPECT_EQ((*r)->format(), first.empty() ? (*r)->format() : first[0].format);
        EXPECT_EQ(msgs.size(), first.size());
        for (std::size_t i = 0; i < std::min(msgs.size(), first.size()); ++i) {
            EXPECT_EQ(msgs[i].data, first[i].data) << i;
            EXPECT_EQ(msgs[i].from_line, first[i].from_line) << i;
            EXPECT_EQ(msgs[i].offset, first[i].offset) << i;
            EXPECT_EQ(msgs[i].line, first[i].line) << i;
            EXPECT_EQ(msgs[i].separator, first[i].separator) << i;
            EXPECT_EQ(msgs[i].separator_crlf, first[i].separator_crlf) << i;
            EXPECT_EQ(msgs[i].from_crlf, first[i].from_crlf) << i;
            EXPECT_EQ(msgs[i].defects.size(), first[i].defects.size()) << i;
        }
    }
    return first;
}

// Write messages with MboxWriter and return the archive's bytes.
std::string write_string(const std::vector<Copy>& msgs, msg::MboxFormat f, bool gzip = false) {
    TempFile out(gzip ? "w.mbox.gz" : "w.mbox");
    msg::MboxWriter::Options o;
    o.format = f;
    o.gzip = gzip;
    auto w = msg::MboxWriter::open(out.str(), o);
    EXPECT_TRUE(w.ok());
    if (!w.ok()) return {};
    for (const Copy& m : msgs) {
        auto st = (*w)->write(m.from_line, m.data, m.from_crlf, m.separator, m.separator_crlf);
        EXPECT_TRUE(st.ok()) << st.error().message;
    }
    auto st = (*w)->close();
    EXPECT_TRUE(st.ok());
    if (!gzip) return slurp(out.path);
    std::string bytes;
    gzFile gz = gzopen(out.str().c_str(), "rb");
    char buf[4096];
    for (int n; (n = gzread(gz, buf, sizeof buf)) > 0;) bytes.append(buf, static_cast<std::size_t>(n));
    gzclose(gz);
    return bytes;
}

Copy msg_of(std::string from_line, std::string data, bool separator = true) {
    Copy c{};
    c.from_line = std::move(from_line);
    c.data = std::move(data);
    c.separator = separator;
    return c;
}

}  // namespace

TEST(Mbox, FormatNames) {
    for (auto f : {msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo, msg::MboxFormat::mboxcl,
                   msg::MboxFormat::mboxcl2, msg::MboxFormat::detect})
        EXPECT_EQ(msg::parse_format(msg::format_name(f)), f);
    EXPECT_EQ(msg::format_name(msg::MboxFormat::mboxcl2), "mboxcl2");
    EXPECT_FALSE(msg::parse_format("mbox"));
    EXPECT_FALSE(msg::parse_format("MBOXRD"));
}

// Every testdata/mbox/<variant>/archive.mbox gives the messages in expected/,
// in the plain, window and gzip paths; writing them back gives the archive.
TEST(Mbox, TestdataVariants) {
    const std::filesystem::path root = std::string(MSG_TESTDATA) + "/mbox";
    int variants = 0;
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
        if (!entry.is_directory()) continue;
        const std::string name = entry.path().filename().string();
        SCOPED_TRACE(name);
        ++variants;
        const msg::MboxFormat f = msg::parse_format(name).value_or(msg::MboxFormat::mboxrd);
        const std::string archive = slurp(entry.path() / "archive.mbox");
        std::vector<std::filesystem::path> expected;
        for (const auto& e : std::filesystem::directory_iterator(entry.path() / "expected"))
            expected.push_back(e.path());
        std::sort(expected.begin(), expected.end());
        auto msgs = read_string(archive, f);
        ASSERT_EQ(msgs.size(), expected.size());
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            EXPECT_EQ(msgs[i].data, slurp(expected[i])) << expected[i];
            EXPECT_TRUE(msgs[i].defects.empty()) << expected[i] << ": " << msgs[i].defects[0].info().code;
            EXPECT_EQ(msgs[i].format, f);
        }
        EXPECT_EQ(write_string(msgs, f), archive);
    }
    EXPECT_GE(variants, 9);
}

TEST(Mbox, MboxoUnquotesExactlyOneLevel) {
    const std::string a = "From x\nA: b\n\n>From one\n>>From two\n >From not at start\nx>From no\n";
    auto msgs = read_string(a, msg::MboxFormat::mboxo);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "A: b\n\nFrom one\n>>From two\n >From not at start\nx>From no\n");
    EXPECT_TRUE(msgs[0].unquoted);
    // mboxrd removes one level from both
    msgs = read_string(a, msg::MboxFormat::mboxrd);
    EXPECT_EQ(msgs[0].data, "A: b\n\nFrom one\n>From two\n >From not at start\nx>From no\n");
}

TEST(Mbox, FirstLineQuotedAndCrlfQuoted) {
    auto msgs = read_string("From x\r\n>From a\r\n>>From b\r\n", msg::MboxFormat::mboxrd);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "From a\r\n>From b\r\n");
    EXPECT_TRUE(msgs[0].from_crlf);
}

TEST(Mbox, CrlfFlags) {
    const std::string a = "From a\r\nX: 1\r\n\r\nbody\r\n\r\nFrom b\nX: 2\n\r\nFrom c\r\nX: 3\r\n\n";
    auto msgs = read_string(a, msg::MboxFormat::mboxrd);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_TRUE(msgs[0].from_crlf);
    EXPECT_TRUE(msgs[0].separator);
    EXPECT_TRUE(msgs[0].separator_crlf);
    EXPECT_EQ(msgs[0].data, "X: 1\r\n\r\nbody\r\n");
    EXPECT_FALSE(msgs[1].from_crlf);
    EXPECT_TRUE(msgs[1].separator_crlf);
    EXPECT_EQ(msgs[1].data, "X: 2\n");
    EXPECT_TRUE(msgs[2].from_crlf);
    EXPECT_TRUE(msgs[2].separator);
    EXPECT_FALSE(msgs[2].separator_crlf);
    EXPECT_EQ(msgs[2].data, "X: 3\r\n");
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxrd), a);
}

TEST(Mbox, NoFinalNewline) {
    auto msgs = read_string("From a\nX: 1\n\nlast", msg::MboxFormat::mboxrd);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "X: 1\n\nlast");
    EXPECT_FALSE(msgs[0].separator);
    msgs = read_string("From a\nX: 1\n\nlast\n", msg::MboxFormat::mboxrd);
    EXPECT_EQ(msgs[0].data, "X: 1\n\nlast\n");
    EXPECT_FALSE(msgs[0].separator);
    msgs = read_string("From a\nX: 1\n\nlast\n\n", msg::MboxFormat::mboxrd);
    EXPECT_EQ(msgs[0].data, "X: 1\n\nlast\n");
    EXPECT_TRUE(msgs[0].separator);
}

TEST(Mbox, EmptyMessages) {
    const std::string a = "From a\n\nFrom b\nFrom c\r\n\r\nFrom d\nX: 1\n\nFrom e\n";
    for (auto f : {msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo, msg::MboxFormat::mboxcl2}) {
        SCOPED_TRACE(std::string(msg::format_name(f)));
        auto msgs = read_string(a, f);
        ASSERT_EQ(msgs.size(), 5u);
        EXPECT_EQ(msgs[0].data, "");
        EXPECT_TRUE(msgs[0].separator);
        EXPECT_EQ(msgs[1].data, "");
        EXPECT_FALSE(msgs[1].separator);
        EXPECT_EQ(msgs[1].line, 3u);
        EXPECT_EQ(msgs[2].data, "");
        EXPECT_TRUE(msgs[2].separator_crlf);
        EXPECT_EQ(msgs[3].data, "X: 1\n");
        EXPECT_EQ(msgs[4].data, "");
        EXPECT_FALSE(msgs[4].separator);
        EXPECT_EQ(msgs[4].from_line, "e");
        if (f != msg::MboxFormat::mboxcl2) {
            for (const Copy& m : msgs) EXPECT_TRUE(m.defects.empty());
            EXPECT_EQ(write_string(msgs, f), a);
        } else {
            // X: 1 has no Content-Length
            EXPECT_EQ(msgs[3].defects.size(), 1u);
        }
    }
}

TEST(Mbox, OddFromLines) {
    const std::vector<std::string> froms = {
        "MAILER-DAEMON Fri Jul  8 12:08:34 2011",
        "- Mon Nov 23 09:15:00 2026",
        "user@example.org Sat Jan  3 01:05:34 1996 remote from host",
        "a@example.org Mon Nov 23 09:15:00 CET 2026",
        "a@example.org Mon Nov 23 09:15:00 PST8PDT 2026",
        "a@example.org Mon Nov 23 09:15 2026",
        "\"quoted local\"@example.org Mon Nov 23 09:15:00 2026",
        "",
    };
    std::string a;
    for (std::size_t i = 0; i < froms.size(); ++i) a += "From " + froms[i] + "\nX: " + std::to_string(i) + "\n\n";
    auto msgs = read_string(a, msg::MboxFormat::mboxrd);
    ASSERT_EQ(msgs.size(), froms.size());
    for (std::size_t i = 0; i < froms.size(); ++i) {
        EXPECT_EQ(msgs[i].from_line, froms[i]);
        EXPECT_EQ(msgs[i].data, "X: " + std::to_string(i) + "\n");
        EXPECT_EQ(msgs[i].line, 1 + 3 * i);
    }
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxrd), a);
}

TEST(Mbox, ContentLengthBodyWithFromLines) {
    const std::string body = "text\n\nFrom inside Mon Nov 23 09:15:00 2026\n\nFrom again\n";
    const std::string m1 = "Subject: one\nContent-Length: " + std::to_string(body.size()) + "\n\n" + body;
    const std::string a = "From a\n" + m1 + "\nFrom b\nSubject: two\nContent-Length: 3\n\nxy\n";
    auto msgs = read_string(a, msg::MboxFormat::mboxcl2);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].data, m1);
    EXPECT_TRUE(msgs[0].separator);
    EXPECT_TRUE(msgs[0].defects.empty());
    EXPECT_EQ(msgs[0].format, msg::MboxFormat::mboxcl2);
    EXPECT_EQ(msgs[1].data, "Subject: two\nContent-Length: 3\n\nxy\n");
    EXPECT_FALSE(msgs[1].separator);
    EXPECT_EQ(msgs[1].line, 11u);
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxcl2), a);
    // detect: the first message is framed by its Content-Length
    msg::MboxFormat resolved = msg::MboxFormat::detect;
    auto d = read_string(a, msg::MboxFormat::detect, &resolved);
    EXPECT_EQ(resolved, msg::MboxFormat::mboxcl2);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].data, m1);
    EXPECT_EQ(d[1].format, msg::MboxFormat::mboxcl2);
    // read as mboxrd, the From lines after empty lines split the message
    EXPECT_EQ(read_string(a, msg::MboxFormat::mboxrd).size(), 4u);
}

TEST(Mbox, ContentLengthWithoutEmptyLineBeforeNextFrom) {
    const std::string a = "From a\r\nContent-Length: 4\r\n\r\nabc\nFrom b\r\nContent-Length: 2\r\n\r\nzz";
    auto msgs = read_string(a, msg::MboxFormat::mboxcl2);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].data, "Content-Length: 4\r\n\r\nabc\n");
    EXPECT_FALSE(msgs[0].separator);
    EXPECT_TRUE(msgs[0].from_crlf);
    EXPECT_EQ(msgs[1].data, "Content-Length: 2\r\n\r\nzz");
    EXPECT_TRUE(msgs[1].defects.empty());
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxcl2), a);
}

TEST(Mbox, ContentLengthWrongFallsBackWithDefect) {
    const std::string a =
        "From a\nSubject: one\nContent-Length: 999\n\nbody\n\nFrom b\nSubject: two\n\nno length\n\n"
        "From c\nSubject: three\nContent-Length: x1\n\nz\n";
    for (auto f : {msg::MboxFormat::mboxcl, msg::MboxFormat::mboxcl2}) {
        SCOPED_TRACE(std::string(msg::format_name(f)));
        auto msgs = read_string(a, f);
        ASSERT_EQ(msgs.size(), 3u);
        EXPECT_EQ(msgs[0].data, "Subject: one\nContent-Length: 999\n\nbody\n");
        ASSERT_EQ(msgs[0].defects.size(), 1u);
        EXPECT_EQ(msgs[0].defects[0].code, msg::DefectCode::MboxContentLengthMismatch);
        EXPECT_EQ(msgs[0].defects[0].offset, 13u);  // the field's line
        EXPECT_NE(msgs[0].defects[0].detail.find("999"), std::string::npos);
        EXPECT_EQ(msgs[1].data, "Subject: two\n\nno length\n");
        ASSERT_EQ(msgs[1].defects.size(), 1u);
        EXPECT_EQ(msgs[1].defects[0].offset, 0u);
        EXPECT_NE(msgs[1].defects[0].detail.find("no Content-Length"), std::string::npos);
        ASSERT_EQ(msgs[2].defects.size(), 1u);
        // the writer corrects and adds the field
        auto fixed = read_string(write_string(msgs, f), f);
        ASSERT_EQ(fixed.size(), 3u);
        EXPECT_EQ(fixed[0].data, "Subject: one\nContent-Length: 5\n\nbody\n");
        EXPECT_EQ(fixed[1].data, "Subject: two\nContent-Length: 10\n\nno length\n");
        EXPECT_EQ(fixed[2].data, "Subject: three\nContent-Length: 2\n\nz\n");
        for (const Copy& m : fixed) EXPECT_TRUE(m.defects.empty());
    }
    // detect: no Content-Length framing on the first message means mboxrd, no defects
    msg::MboxFormat resolved = msg::MboxFormat::detect;
    auto msgs = read_string(a, msg::MboxFormat::detect, &resolved);
    EXPECT_EQ(resolved, msg::MboxFormat::mboxrd);
    ASSERT_EQ(msgs.size(), 3u);
    for (const Copy& m : msgs) EXPECT_TRUE(m.defects.empty());
}

TEST(Mbox, ContentLengthPastTheEnd) {
    auto msgs = read_string("From a\nContent-Length: 50\n\nshort\n", msg::MboxFormat::mboxcl2);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "Content-Length: 50\n\nshort\n");
    ASSERT_EQ(msgs[0].defects.size(), 1u);
    msgs = read_string("From a\nContent-Length: 18446744073709551615\n\nx\n", msg::MboxFormat::mboxcl2);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].defects.size(), 1u);
}

TEST(Mbox, HeadersOnlyContentLength) {
    // Content-Length 0 and no body: the empty line is the separator.
    const std::string a = "From a\nX: 1\nContent-Length: 0\n\nFrom b\nX: 2\nContent-Length: 0\n";
    auto msgs = read_string(a, msg::MboxFormat::mboxcl2);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].data, "X: 1\nContent-Length: 0\n");
    EXPECT_TRUE(msgs[0].separator);
    EXPECT_EQ(msgs[1].data, "X: 2\nContent-Length: 0\n");
    EXPECT_FALSE(msgs[1].separator);
    EXPECT_TRUE(msgs[0].defects.empty());
    EXPECT_TRUE(msgs[1].defects.empty());
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxcl2), a);
    // The writer adds the field to a message without body.
    EXPECT_EQ(write_string({msg_of("a", "X: 1\n"), msg_of("b", "Y: 2", false)}, msg::MboxFormat::mboxcl2),
              "From a\nX: 1\nContent-Length: 0\n\nFrom b\nY: 2\nContent-Length: 0\n");
}

TEST(Mbox, MboxclUnquotesAndCountsQuotedBytes) {
    const std::string a = "From a\nContent-Length: 13\n\n>From x\n\n>>y\n\nFrom b\nContent-Length: 0\n\n";
    auto msgs = read_string(a, msg::MboxFormat::mboxcl);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].data, "Content-Length: 13\n\nFrom x\n\n>>y\n");
    EXPECT_TRUE(msgs[0].defects.empty());
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxcl), a);
}

TEST(Mbox, UnquotedFromDefect) {
    const std::string a = "From a\nX: 1\n\n>From q\nFrom here\nand\nFrom there\n\nFrom b\nX: 2\n\nok\n";
    for (auto f : {msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo}) {
        auto msgs = read_string(a, f);
        ASSERT_EQ(msgs.size(), 2u);
        ASSERT_EQ(msgs[0].defects.size(), 2u);
        EXPECT_EQ(msgs[0].data, "X: 1\n\nFrom q\nFrom here\nand\nFrom there\n");
        // offsets are into the unquoted data
        EXPECT_EQ(msgs[0].defects[0].code, msg::DefectCode::MboxUnquotedFrom);
        EXPECT_EQ(msgs[0].defects[0].offset, msgs[0].data.find("From here"));
        EXPECT_EQ(msgs[0].defects[1].offset, msgs[0].data.find("From there"));
        EXPECT_TRUE(msgs[1].defects.empty());
    }
    // A long message read in small pieces reports each line once.
    std::string big = "From a\nX: 1\n\n";
    for (int i = 0; i < 2000; ++i) big += "line " + std::to_string(i) + "\nFrom " + std::to_string(i) + "\n";
    auto msgs = read_string(big, msg::MboxFormat::mboxrd);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].defects.size(), 2000u);
}

TEST(Mbox, WriteAsReadKeepsUnquotedFromLines) {
    const std::string a = "From a\nX: 1\n\n>From q\nFrom here\n>>From x\nFrom there\n\nFrom b\nX: 2\n\nok\n";
    for (auto f : {msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo}) {
        SCOPED_TRACE(std::string(msg::format_name(f)));
        auto msgs = read_string(a, f);
        ASSERT_EQ(msgs.size(), 2u);
        TempFile out("asread.mbox");
        msg::MboxWriter::Options o;
        o.format = f;
        auto w = msg::MboxWriter::open(out.str(), o);
        ASSERT_TRUE(w.ok());
        for (const Copy& c : msgs) {
            msg::MboxMessage m;
            m.from_line = c.from_line;
            m.data = c.data;
            m.from_crlf = c.from_crlf;
            m.separator = c.separator;
            m.separator_crlf = c.separator_crlf;
            m.defects = c.defects;
            ASSERT_TRUE((*w)->write(m).ok());
        }
        ASSERT_TRUE((*w)->close().ok());
        EXPECT_EQ(slurp(out.path), a);
        // the plain write() quotes them: the archive is repaired
        const std::string repaired = write_string(msgs, f);
        EXPECT_NE(repaired.find(">From here"), std::string::npos);
        for (const Copy& m : read_string(repaired, f)) EXPECT_TRUE(m.defects.empty());
    }
}

TEST(Mbox, WriterQuoting) {
    const std::string data = "From a\n>From b\n>>From c\nx From d\n\nFrom e\r\n>From";
    EXPECT_EQ(write_string({msg_of("s", data, false)}, msg::MboxFormat::mboxrd),
              "From s\n>From a\n>>From b\n>>>From c\nx From d\n\n>From e\r\n>From");
    EXPECT_EQ(write_string({msg_of("s", data, false)}, msg::MboxFormat::mboxo),
              "From s\n>From a\n>From b\n>>From c\nx From d\n\n>From e\r\n>From");
    EXPECT_EQ(write_string({msg_of("s", data, false)}, msg::MboxFormat::mboxcl2),
              "From s\nContent-Length: " + std::to_string(data.size()) + "\n" + data);
}

// A message without its separator (the last of an archive that did not
// end with an empty line) gets one, and a line break it lacks, when
// another message follows and its end is not an empty line already: else
// the next From_ line would not start a message. The last message keeps
// its bytes, and so does every archive the reader read (the property
// tests' round trips: an empty message, Content-Length framing).
TEST(Mbox, WriterEndsAMessageWithoutItsSeparatorWhenMoreFollow) {
    const std::vector<Copy> msgs = {msg_of("a", "X: 1\n\nno line break", false), msg_of("b", "X: 2\n\n", false),
                                    msg_of("c", "X: 3\r\n\r\ncrlf\r\n", false), msg_of("d", "X: 4\n\nlast", false)};
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxrd),
              "From a\nX: 1\n\nno line break\n\nFrom b\nX: 2\n\n\nFrom c\nX: 3\r\n\r\ncrlf\r\n\nFrom d\nX: 4\n\nlast");
    for (const auto f : {msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo, msg::MboxFormat::mboxcl,
                         msg::MboxFormat::mboxcl2}) {
        const std::vector<Copy> back = read_string(write_string(msgs, f), f);
        ASSERT_EQ(back.size(), 4u) << static_cast<int>(f);
        // (The Content-Length formats add their field, and keep a last
        // line without its line break.)
        const bool by_length = f == msg::MboxFormat::mboxcl || f == msg::MboxFormat::mboxcl2;
        EXPECT_EQ(back[0].data, by_length ? "X: 1\nContent-Length: 13\n\nno line break" : "X: 1\n\nno line break\n");
        EXPECT_EQ(back[3].data, by_length ? "X: 4\nContent-Length: 4\n\nlast" : "X: 4\n\nlast");
        // A last line that is empty is the message's, not a separator.
        if (!by_length) {
            EXPECT_EQ(back[1].data, "X: 2\n\n");
        }
        for (const Copy& m : back) EXPECT_TRUE(m.defects.empty()) << static_cast<int>(f) << " " << m.from_line;
    }
    // A From_ line starts a line in every format: in the Content-Length
    // formats a last line without its line break gets one, not counted.
    EXPECT_NE(write_string(msgs, msg::MboxFormat::mboxcl2).find("\n\nno line break\nFrom b\n"), std::string::npos);
}

// A message that lacks its last line break but is to get its separator
// (an entry from elsewhere, a Maildir file) gets the line break first: the
// next From_ line follows an empty line, and the archive reads back as many
// messages as were written.
TEST(Mbox, WriterGivesTheSeparatorALineBreakToFollow) {
    const std::vector<Copy> msgs = {msg_of("a", "X: 1\n\nno line break"), msg_of("b", "X: 2\n\ntwo\n"),
                                    msg_of("c", "X: 3\n\nlast")};
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxrd),
              "From a\nX: 1\n\nno line break\n\nFrom b\nX: 2\n\ntwo\n\nFrom c\nX: 3\n\nlast\n\n");
    for (const auto f : {msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo, msg::MboxFormat::mboxcl,
                         msg::MboxFormat::mboxcl2}) {
        const std::vector<Copy> back = read_string(write_string(msgs, f), f);
        ASSERT_EQ(back.size(), 3u) << static_cast<int>(f);
        EXPECT_EQ(back[1].data.substr(back[1].data.find("two")), "two\n") << static_cast<int>(f);
    }
}

// Long spans of plain output are written from the caller's bytes, not
// copied into the buffer: the bytes are those of the buffered way (gzip
// output, decompressed), the quoting and the message ends the same.
TEST(Mbox, WriterLongSpansAsBuffered) {
    const std::string big(200000, 'b');
    std::vector<Copy> msgs = {
        msg_of("a", "X: 1\n\n" + big + "\nFrom x\n" + big + "\n>From y\n" + big, false),   // no line break
        msg_of("b", "X: 2\r\n\r\n" + big + "\r\n\r\n", false),                          // ends with an empty line
        msg_of("c", "X: 3\n\nshort\n"),
        msg_of("d", "X: 4\n\n" + big + "\n"),
        msg_of("e", "X: 5\n\n" + big, false)};
    // (Compared with EXPECT_TRUE: a failure is not printed in full.)
    for (const auto f : {msg::MboxFormat::mboxrd, msg::MboxFormat::mboxo, msg::MboxFormat::mboxcl2}) {
        SCOPED_TRACE(static_cast<int>(f));
        const std::string plain = write_string(msgs, f);
        EXPECT_TRUE(plain == write_string(msgs, f, true));
        const std::vector<Copy> back = read_string(plain, f);
        ASSERT_EQ(back.size(), msgs.size());
        if (f == msg::MboxFormat::mboxcl2) continue;
        // (mboxo cannot keep the ">From y" line: it reads back as "From y".)
        if (f == msg::MboxFormat::mboxrd) {
            EXPECT_TRUE(back[0].data == msgs[0].data + "\n");   // given its line break
        }
        EXPECT_EQ(back[0].data.size(), msgs[0].data.size() + (f == msg::MboxFormat::mboxrd ? 1 : 0));
        EXPECT_TRUE(back[0].separator);
        EXPECT_TRUE(back[1].data == msgs[1].data);           // given the separator its last empty line would be
        EXPECT_TRUE(back[3].data == msgs[3].data);
        EXPECT_TRUE(back[4].data == msgs[4].data);           // the last keeps its bytes
        EXPECT_FALSE(back[4].separator);
    }
    EXPECT_NE(write_string(msgs, msg::MboxFormat::mboxrd).find(big + "\n>From x\n" + big + "\n>>From y\n"),
              std::string::npos);
}

TEST(Mbox, WriterGzipAndStdout) {
    std::vector<Copy> msgs = {msg_of("a", "X: 1\n\nbody\n"), msg_of("b", "X: 2\n\nFrom x\n", false)};
    const std::string plain = write_string(msgs, msg::MboxFormat::mboxrd);
    EXPECT_EQ(plain, "From a\nX: 1\n\nbody\n\nFrom b\nX: 2\n\n>From x\n");
    EXPECT_EQ(write_string(msgs, msg::MboxFormat::mboxrd, true), plain);
    // Many messages through the compressor's buffers.
    std::vector<Copy> many;
    for (int i = 0; i < 5000; ++i) many.push_back(msg_of("s" + std::to_string(i), "X: " + std::string(500, 'y') + "\n"));
    EXPECT_EQ(write_string(many, msg::MboxFormat::mboxrd, true), write_string(many, msg::MboxFormat::mboxrd));
}

TEST(Mbox, WriterErrors) {
    msg::MboxWriter::Options o;
    auto r = msg::MboxWriter::open("/nonexistent/dir/out.mbox", o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().errnum, ENOENT);
    EXPECT_NE(r.error().message.find("/nonexistent/dir/out.mbox"), std::string::npos);
    o.format = msg::MboxFormat::detect;
    TempFile f("never.mbox");
    EXPECT_FALSE(msg::MboxWriter::open(f.str(), o).ok());
    if (std::filesystem::exists("/dev/full")) {
        o.format = msg::MboxFormat::mboxrd;
        auto w = msg::MboxWriter::open("/dev/full", o);
        ASSERT_TRUE(w.ok());
        EXPECT_TRUE((*w)->write("a", "X: 1\n").ok());  // buffered
        auto st = (*w)->close();
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().errnum, ENOSPC);
        EXPECT_NE(st.error().message.find("/dev/full"), std::string::npos);
    }
}

// --- locking ---------------------------------------------------------------------

namespace {

// A child process that takes the lock (or, with `fcntl_only`, just an
// fcntl write lock), says so on a pipe, and holds it until told to go.
struct Holder {
    pid_t pid = -1;
    int go[2] = {-1, -1};
    Holder(const std::string& path, bool fcntl_only) {
        int ready[2];
        if (::pipe(ready) != 0 || ::pipe(go) != 0) return;
        pid = ::fork();
        if (pid == 0) {
            ::close(ready[0]);
            ::close(go[1]);
            std::optional<msg::MboxLock> held;
            int fd = -1;
            if (fcntl_only) {
                fd = ::open(path.c_str(), O_RDWR);
                struct flock fl {};
                fl.l_type = F_WRLCK;
                fl.l_whence = SEEK_SET;
                if (fd < 0 || ::fcntl(fd, F_SETLK, &fl) != 0) ::_exit(2);
            } else {
                auto l = msg::MboxLock::acquire(path, std::chrono::seconds(5));
                if (!l.ok()) ::_exit(2);
                held.emplace(std::move(*l));
            }
            char c = 'r';
            (void)!::write(ready[1], &c, 1);
            (void)!::read(go[0], &c, 1);
            held.reset();
            ::_exit(0);
        }
        ::close(ready[1]);
        ::close(go[0]);
        char c = 0;
        if (::read(ready[0], &c, 1) != 1) pid = -1;
        ::close(ready[0]);
    }
    int release(bool tell = true) {
        char c = 'g';
        if (tell) (void)!::write(go[1], &c, 1);
        ::close(go[1]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        return status;
    }
};

}  // namespace

TEST(MboxLock, AcquireReleaseAndTimeout) {
    for (bool fcntl_only : {false, true}) {
        SCOPED_TRACE(fcntl_only ? "fcntl lock held" : "dot lock held");
        TempFile box("locked.mbox");
        box.write("From a\nX: 1\n");
        const std::string lock_path = box.str() + ".lock";
        Holder h(box.str(), fcntl_only);
        ASSERT_GT(h.pid, 0);
        EXPECT_EQ(std::filesystem::exists(lock_path), !fcntl_only);
        const auto t0 = std::chrono::steady_clock::now();
        auto r = msg::MboxLock::acquire(box.str(), std::chrono::seconds(1));
        const auto waited = std::chrono::steady_clock::now() - t0;
        ASSERT_FALSE(r.ok());
        EXPECT_GE(waited, std::chrono::milliseconds(900));
        EXPECT_NE(r.error().message.find(box.str()), std::string::npos);
        // The failed attempt left no files behind, and did not remove the holder's lock.
        EXPECT_EQ(std::filesystem::exists(lock_path), !fcntl_only);
        int leftovers = 0;
        for (const auto& e : std::filesystem::directory_iterator(box.path.parent_path()))
            if (e.path().filename().string().starts_with(box.path.filename().string() + ".lock.")) ++leftovers;
        EXPECT_EQ(leftovers, 0);
        EXPECT_EQ(h.release(), 0);
        {
            auto l = msg::MboxLock::acquire(box.str(), std::chrono::seconds(1));
            ASSERT_TRUE(l.ok()) << l.error().message;
            EXPECT_TRUE(std::filesystem::exists(lock_path));
            msg::MboxLock moved = std::move(*l);
            EXPECT_TRUE(std::filesystem::exists(lock_path));
        }
        EXPECT_FALSE(std::filesystem::exists(lock_path));
    }
}

TEST(MboxLock, WaitsForTheHolder) {
    TempFile box("wait.mbox");
    box.write("From a\n");
    Holder h(box.str(), false);
    ASSERT_GT(h.pid, 0);
    // Release the holder in 300 ms, while we wait for the lock.
    pid_t releaser = ::fork();
    if (releaser == 0) {
        ::usleep(300000);
        char c = 'g';
        (void)!::write(h.go[1], &c, 1);
        ::_exit(0);
    }
    auto l = msg::MboxLock::acquire(box.str(), std::chrono::seconds(10));
    EXPECT_TRUE(l.ok());
    ::waitpid(releaser, nullptr, 0);
    EXPECT_EQ(h.release(false), 0);
}

TEST(MboxLock, StaleDotLockIsRemoved) {
    TempFile box("stale.mbox");
    box.write("From a\n");
    const std::string lock_path = box.str() + ".lock";
    { std::ofstream(lock_path) << "12345\n"; }
    struct utimbuf old {};
    old.actime = old.modtime = std::time(nullptr) - 600;
    ASSERT_EQ(::utime(lock_path.c_str(), &old), 0);
    auto l = msg::MboxLock::acquire(box.str(), std::chrono::seconds(1));
    ASSERT_TRUE(l.ok()) << l.error().message;
    l->release();
    EXPECT_FALSE(std::filesystem::exists(lock_path));
    // A fresh one is respected.
    { std::ofstream(lock_path) << "12345\n"; }
    EXPECT_FALSE(msg::MboxLock::acquire(box.str(), std::chrono::seconds(0)).ok());
    std::filesystem::remove(lock_path);
    EXPECT_FALSE(msg::MboxLock::acquire(box.str() + ".missing", std::chrono::seconds(0)).ok());
}

// The reader opens, reads and closes the archive itself; closing a descriptor
// drops a process's classic fcntl locks, so the lock must survive that.
TEST(MboxLock, HeldWhileTheReaderReadsTheArchive) {
    TempFile f("held.mbox");
    f.write("From a@example.org Mon Nov 23 09:15:00 2026\nSubject: x\n\nbody\n");
    auto lock = msg::MboxLock::acquire(f.str(), std::chrono::seconds(2));
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    {
        auto r = msg::MboxReader::open(f.str());
        ASSERT_TRUE(r.ok());
        msg::MboxMessage m;
        ASSERT_TRUE((*r)->next(m).ok());
    }
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const int fd = ::open(f.str().c_str(), O_RDWR);
        struct flock fl {};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        ::_exit(fd >= 0 && ::fcntl(fd, F_SETLK, &fl) != 0 ? 0 : 1);  // 0: refused, as it must be
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "another process could write-lock the archive";
}

// A buffer grown keeps its first bytes (moved with their pages, or copied),
// again and again, and a buffer grown with nothing to keep is just larger.
TEST(HugeBuffer, GrowsKeepingItsBytes) {
    msg::detail::HugeBuffer b;
    ASSERT_TRUE(b.reserve(1000).ok());
    EXPECT_GE(b.capacity(), 1000u);
    std::size_t filled = 0;
    const auto fill = [&](std::size_t n) {
        for (; filled < n; ++filled) b.data()[filled] = static_cast<char>((filled * 7 + filled / 4099) & 0xff);
    };
    const auto kept = [&] {
        for (std::size_t i = 0; i < filled; ++i)
            if (b.data()[i] != static_cast<char>((i * 7 + i / 4099) & 0xff)) return false;
        return true;
    };
    fill(b.capacity());
    for (std::size_t need : {std::size_t{5} << 20, std::size_t{9} << 20, std::size_t{40} << 20}) {
        const char* before = b.data();
        ASSERT_TRUE(b.reserve(need, filled).ok());
        EXPECT_GE(b.capacity(), need);
        EXPECT_NE(b.data(), before);
        EXPECT_TRUE(kept()) << need;
        fill(need);
    }
    EXPECT_TRUE(b.reserve(filled).ok());   // room enough: as it was
    EXPECT_TRUE(kept());
    msg::detail::HugeBuffer c;
    ASSERT_TRUE(c.reserve(100).ok());
    c.data()[0] = 'x';
    ASSERT_TRUE(c.reserve(std::size_t{4} << 20, 1).ok());
    EXPECT_EQ(c.data()[0], 'x');
}

// Leading bytes go only before the first message: after one they would be
// read as its end, so the writer refuses them and the archive stays whole.
TEST(Mbox, LeadingBytesOnlyBeforeTheFirstMessage) {
    TempFile out("lead.mbox");
    auto w = msg::MboxWriter::open(out.str(), {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->write_raw("garbage\n\n").ok());
    ASSERT_TRUE((*w)->write("a@example.org Mon Nov 23 09:00:00 2026", "Subject: one\n\nbody\n", false, true, false).ok());
    const msg::Status late = (*w)->write_raw("more garbage\n");
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.error().errnum, EINVAL);
    EXPECT_TRUE((*w)->write_raw("").ok()) << "nothing to place is no error";
    ASSERT_TRUE((*w)->write("a@example.org Mon Nov 23 09:01:00 2026", "Subject: two\n\nbody\n", false, true, false).ok());
    ASSERT_TRUE((*w)->close().ok());
    EXPECT_EQ(slurp(out.path), "garbage\n\nFrom a@example.org Mon Nov 23 09:00:00 2026\nSubject: one\n\nbody\n\n"
                               "From a@example.org Mon Nov 23 09:01:00 2026\nSubject: two\n\nbody\n\n");
}

// What the writer is told comes from spool entries other programs may have
// written: nothing it writes adds a message. A From_ line with a line break,
// leading bytes with a "From " line, a "From " line kept unquoted where it
// follows an empty line: each would start one.
TEST(Mbox, NothingTheWriterIsGivenStartsAnotherMessage) {
    TempFile out("frame.mbox");
    auto w = msg::MboxWriter::open(out.str(), {});
    ASSERT_TRUE(w.ok());
    const msg::Status lead = (*w)->write_raw("junk\nFrom evil@example.org Mon Nov 23 09:00:00 2026\nSubject: x\n\n");
    ASSERT_FALSE(lead.ok());
    EXPECT_EQ(lead.error().errnum, EINVAL);
    EXPECT_FALSE((*w)->write_raw("From x\n").ok());
    const msg::Status from = (*w)->write("a@example.org Mon Nov 23 09:00:00 2026\nSubject: injected\n\n", "body\n",
                                         false, true, false);
    ASSERT_FALSE(from.ok());
    EXPECT_EQ(from.error().errnum, EINVAL);
    // Offsets of "From " lines: 18 follows a text line (kept), 36 an empty
    // one and 0 the From_ line (quoted all the same).
    const std::string data = "From the start\nhi\nFrom a text line\n\nFrom evil Mon Nov 23 09:00:00 2026\nx\n";
    const std::vector<std::size_t> keep{0, 18, 36};
    ASSERT_EQ(data.substr(18, 5), "From ");
    ASSERT_EQ(data.substr(36, 5), "From ");
    ASSERT_TRUE((*w)->write_keeping("a@example.org Mon Nov 23 09:00:00 2026", data, false, true, false, keep).ok());
    ASSERT_TRUE((*w)->close().ok());
    EXPECT_EQ(slurp(out.path), "From a@example.org Mon Nov 23 09:00:00 2026\n>From the start\nhi\nFrom a text line\n\n"
                               ">From evil Mon Nov 23 09:00:00 2026\nx\n\n");
    auto r = msg::MboxReader::open(out.str());
    ASSERT_TRUE(r.ok());
    msg::MboxMessage m;
    int n = 0;
    for (auto more = (*r)->next(m); more.ok() && *more; more = (*r)->next(m)) ++n;
    EXPECT_EQ(n, 1);
}
