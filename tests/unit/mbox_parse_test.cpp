// mbox_parse_test.cpp - the mbox push parser (msg::MboxParser in
// msg/mbox.hpp): every archive in testdata/ fed split at every byte (a
// stride in the middle of big ones) and one byte at a time gives the same
// events as fed at once; the bounds on what it holds; messages too large to
// hold, in memory and from a generated gzip bomb.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "mbox_feed.hpp"
#include "msg/mbox.hpp"

namespace {

namespace fs = std::filesystem;
using msg::MboxFormat;
using msg::MboxParser;

const MboxFormat kFormats[] = {MboxFormat::mboxrd, MboxFormat::mboxo, MboxFormat::mboxcl, MboxFormat::mboxcl2,
                               MboxFormat::detect};

using msg_test::feed;
using Events = msg_test::MboxEvents;

Events one_shot(std::string_view archive, const msg::MboxOptions& o) { return msg_test::feed_at_once(archive, o); }

void expect_same(const Events& a, const Events& b, const std::string& what) {
    EXPECT_EQ(a.broken, "") << what;
    EXPECT_EQ(b.broken, "") << what;
    EXPECT_EQ(a.events, b.events) << what;
    EXPECT_EQ(a.leading_size, b.leading_size) << what;
    EXPECT_EQ(a.format, b.format) << what;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string gunzip(const std::string& gz) {
    z_stream z{};
    EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    char buf[1 << 16];
    int r = Z_OK;
    while (r == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        r = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    }
    EXPECT_EQ(r, Z_STREAM_END);
    inflateEnd(&z);
    return out;
}

// Every archive under testdata/ (names with ".mbox" in them, gzip ones
// inflated), with its name.
std::vector<std::pair<std::string, std::string>> testdata_archives() {
    std::vector<std::pair<std::string, std::string>> out;
    const fs::path root = MSG_TESTDATA;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        const std::string name = e.path().filename().string();
        const bool gz = name.ends_with(".mbox.gz");
        if (!gz && !name.ends_with(".mbox") && !name.ends_with(".mbox.txt")) continue;
        const std::string bytes = slurp(e.path());
        out.emplace_back(fs::relative(e.path(), root).string(), gz ? gunzip(bytes) : bytes);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Each archive is fed split at every byte and one byte at a time; a big
// one (over 16 KiB) split at every byte of its first 4 KiB (as a prefix
// that ends there) and of its last 4 KiB (as the suffix that starts with
// the message holding them, or the one before), and at 64 points between.
void check_splits(std::string_view a, const msg::MboxOptions& o, const std::string& what) {
    constexpr std::size_t kSmall = 16384, kEdge = 4096;
    auto all_splits = [&](std::string_view part, std::size_t from, const std::string& which) {
        const Events whole = one_shot(part, o);
        for (std::size_t k = from; k <= part.size(); ++k) {
            expect_same(whole, feed(part, o, {k, part.size()}), what + which + " split at " + std::to_string(k));
            if (::testing::Test::HasFailure()) return;
        }
    };
    const Events whole = one_shot(a, o);
    if (a.size() <= kSmall) {
        all_splits(a, 0, "");
    } else {
        all_splits(a.substr(0, kEdge), 0, " (its first 4 KiB)");
        std::size_t suffix = 0;
        for (std::uint64_t off : whole.offsets)
            if (off + kEdge <= a.size()) suffix = static_cast<std::size_t>(off);
        all_splits(a.substr(suffix), a.size() - suffix - kEdge, " (from " + std::to_string(suffix) + ")");
        for (std::size_t k = 1; k < 64; ++k) {
            const std::size_t at = a.size() * k / 64;
            expect_same(whole, feed(a, o, {at, a.size()}), what + " split at " + std::to_string(at));
        }
    }
    if (::testing::Test::HasFailure()) return;
    std::vector<std::size_t> each(a.size());
    for (std::size_t k = 0; k < a.size(); ++k) each[k] = k + 1;
    expect_same(whole, feed(a, o, each), what + " one byte at a time");
}

}  // namespace

TEST(MboxParse, TestdataArchivesFoundAndFramedAsTheReaderDoes) {
    const auto archives = testdata_archives();
    EXPECT_GE(archives.size(), 16u);
    for (const auto& [name, bytes] : archives) {
        // The same messages as MboxReader over the file.
        const fs::path p = fs::path(MSG_TESTDATA) / name;
        msg::MboxOptions o;
        o.format = MboxFormat::detect;
        const Events r = one_shot(bytes, o);
        auto reader = msg::MboxReader::open(p.string(), o);
        ASSERT_TRUE(reader.ok());
        std::vector<std::string> events;
        msg::MboxMessage m;
        for (;;) {
            auto n = (*reader)->next(m);
            ASSERT_TRUE(n.ok()) << name;
            if (!*n) break;
            if (m.index == 0 && (*reader)->leading_garbage() > 0)
                events.push_back("leading " + std::to_string((*reader)->leading_garbage()) + " [" +
                                 std::string((*reader)->leading()) + "]");
            events.push_back(msg_test::describe(m));
        }
        EXPECT_EQ(events, r.events) << name;
    }
}

TEST(MboxParse, TestdataSplitAnywhere) {
    std::size_t too_large = 0;
    for (const auto& [name, bytes] : testdata_archives()) {
        for (MboxFormat f : kFormats) {
            // The usual limit, and one that makes the bigger messages too large.
            for (std::size_t max : {msg::Limits{}.max_mbox_message, std::size_t{700}}) {
                msg::MboxOptions o;
                o.format = f;
                o.max_message = max;
                const std::string what = name + " " + std::string(msg::format_name(f)) + " max " + std::to_string(max);
                SCOPED_TRACE(what);
                for (const auto& e : one_shot(bytes, o).events) too_large += e.find(" too-large ") != std::string::npos;
                check_splits(bytes, o, what);
                if (::testing::Test::HasFailure()) return;
            }
        }
    }
    EXPECT_GE(too_large, 100u) << "the small limit leaves the skipping untested";
}

// --- messages too large to hold ----------------------------------------------

namespace {

std::vector<msg::MboxMessage> parse_all(std::string_view a, MboxFormat f, std::size_t max,
                                        std::vector<std::string>* from_lines = nullptr) {
    msg::MboxOptions o;
    o.format = f;
    o.max_message = max;
    MboxParser parser(o);
    std::vector<msg::MboxMessage> out;
    msg::MboxMessage m;
    for (;;) {
        const MboxParser::Step s = parser.put(a, true, m);
        a.remove_prefix(s.consumed);
        if (s.event == MboxParser::Event::end) break;
        if (s.event != MboxParser::Event::message) continue;
        if (from_lines) from_lines->emplace_back(m.from_line);
        out.push_back(m);
    }
    return out;
}

}  // namespace

TEST(MboxParse, MessageTooLargeIsSkippedAndCounted) {
    const std::string head = "From big@example.org Mon Nov 23 09:15:00 2026\nSubject: big\n\n";
    const std::string body = std::string(500, 'b') + "\n";
    const std::string a = head + body + "\nFrom next\nX: 2\n\nsmall\n";
    for (MboxFormat f : {MboxFormat::mboxrd, MboxFormat::mboxo, MboxFormat::detect}) {
        std::vector<std::string> from_lines;
        const auto msgs = parse_all(a, f, 200, &from_lines);
        ASSERT_EQ(msgs.size(), 2u);
        EXPECT_TRUE(msgs[0].too_large);
        EXPECT_EQ(msgs[0].data, "");
        EXPECT_EQ(from_lines[0], "big@example.org Mon Nov 23 09:15:00 2026");
        EXPECT_EQ(msgs[0].data_offset, head.find("Subject"));
        EXPECT_EQ(msgs[0].data_end, head.size() + body.size());
        EXPECT_TRUE(msgs[0].separator);
        ASSERT_EQ(msgs[0].defects.size(), 1u);
        EXPECT_EQ(msgs[0].defects[0].code, msg::DefectCode::MboxMessageTooLarge);
        EXPECT_EQ(msgs[0].defects[0].offset, 0u);
        EXPECT_EQ(msgs[0].defects[0].detail, std::to_string(head.size() + body.size()) + " bytes, more than the limit of 200");
        EXPECT_FALSE(msgs[1].too_large);
        EXPECT_EQ(msgs[1].data, "X: 2\n\nsmall\n");
        EXPECT_EQ(msgs[1].line, 6u);
        EXPECT_EQ(msgs[1].data_end, a.size());
    }
    // Exactly at the limit is not too large; one byte more is.
    const std::size_t size = head.size() + body.size();
    EXPECT_FALSE(parse_all(a, MboxFormat::mboxrd, size)[0].too_large);
    EXPECT_TRUE(parse_all(a, MboxFormat::mboxrd, size - 1)[0].too_large);
    // A From_ line longer than the limit is cut.
    const std::string long_from = "From " + std::string(300, 'f') + "\r\nX: 1\n\nFrom c\nX: 3\n";
    std::vector<std::string> from_lines;
    const auto msgs = parse_all(long_from, MboxFormat::mboxrd, 100, &from_lines);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_TRUE(msgs[0].too_large);
    EXPECT_EQ(from_lines[0], std::string(100, 'f'));
    EXPECT_TRUE(msgs[0].from_crlf);
    EXPECT_EQ(msgs[1].data, "X: 3\n");
    // ... and to 1000 bytes under a larger limit: what is kept of a message
    // too large names it, and does not make the reader's memory twice the limit.
    from_lines.clear();
    const auto longer = parse_all("From " + std::string(3000, 'f') + "\nX: 1\n\nFrom c\nX: 3\n", MboxFormat::mboxrd, 2500,
                                  &from_lines);
    ASSERT_EQ(longer.size(), 2u);
    EXPECT_TRUE(longer[0].too_large);
    EXPECT_EQ(from_lines[0], std::string(1000, 'f'));
    // The writer refuses to write what was not read.
    msg::MboxWriter::Options wo;
    auto w = msg::MboxWriter::open("/dev/null", wo);
    ASSERT_TRUE(w.ok());
    auto st = (*w)->write(msgs[0]);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().errnum, EFBIG);
}

TEST(MboxParse, ContentLengthPastTheLimit) {
    // Content-Length frames the large message: it ends there, even with the
    // next From_ line straight after it (no empty line).
    const std::string body = "text\n" + std::string(600, 'x') + "\nFrom inside the body, not after an empty line\n";
    const std::string a = "From a\nContent-Length: " + std::to_string(body.size()) + "\n\n" + body +
                          "From b\nContent-Length: 3\n\nxy\n";
    for (MboxFormat f : {MboxFormat::mboxcl2, MboxFormat::detect}) {
        const auto msgs = parse_all(a, f, 300);
        ASSERT_EQ(msgs.size(), 2u);
        EXPECT_TRUE(msgs[0].too_large);
        EXPECT_EQ(msgs[0].data_end, a.find("From b"));
        EXPECT_EQ(msgs[0].format, MboxFormat::mboxcl2);
        EXPECT_FALSE(msgs[0].separator);
        EXPECT_EQ(msgs[1].data, "Content-Length: 3\n\nxy\n");
        EXPECT_TRUE(msgs[1].defects.empty());
    }
    // A wrong, huge Content-Length does not swallow the messages after it.
    const std::string bogus = "From a\nContent-Length: 99999999999\n\nshort\n\nFrom b\nContent-Length: 3\n\nxy\n";
    for (std::size_t max : {std::size_t{300}, msg::Limits{}.max_mbox_message}) {
        const auto msgs = parse_all(bogus, MboxFormat::mboxcl2, max);
        ASSERT_EQ(msgs.size(), 2u);
        EXPECT_FALSE(msgs[0].too_large);
        EXPECT_EQ(msgs[0].data, "Content-Length: 99999999999\n\nshort\n");
        ASSERT_EQ(msgs[0].defects.size(), 1u);
        EXPECT_EQ(msgs[0].defects[0].code, msg::DefectCode::MboxContentLengthMismatch);
        EXPECT_EQ(msgs[1].data, "Content-Length: 3\n\nxy\n");
    }
}

// A From_ line longer than the limit makes its message too large however
// the archive is cut into reads, also when the read ends just after that
// line: the message is skipped, framed by its From_ lines, and settles no
// format in detect mode; so the next one, whose Content-Length frames it
// where its From_ lines would not, is read as mboxcl2 every time.
TEST(MboxParse, FromLinePastTheLimitSettlesNoFormat) {
    const std::string body = "text\n" + std::string(100, 'x') + "\nFrom inside the body, not after an empty line\n";
    const std::string a = "From " + std::string(60, 'f') + "\n\nFrom a\nContent-Length: " +
                          std::to_string(body.size()) + "\n\n" + body + "From b\nContent-Length: 3\n\nxy\n";
    const auto msgs = parse_all(a, MboxFormat::detect, 50);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_TRUE(msgs[0].too_large);
    EXPECT_TRUE(msgs[1].too_large);
    EXPECT_EQ(msgs[1].format, MboxFormat::mboxcl2);
    EXPECT_EQ(msgs[1].data_end, a.find("From b"));
    EXPECT_EQ(msgs[2].data, "Content-Length: 3\n\nxy\n");
    msg::MboxOptions o;
    o.format = MboxFormat::detect;
    o.max_message = 50;
    check_splits(a, o, "long From_ line, detect");
}

namespace {

// Peak resident memory, in bytes, that `work` adds, measured in a child
// process (the peak is reset there first); -1 when the child failed.
long long peak_growth(const std::function<bool()>& work) {
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        auto status_kb = [](const char* key) -> long long {
            std::ifstream st("/proc/self/status");
            std::string line;
            while (std::getline(st, line))
                if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::strlen(key)));
            return -1;
        };
        // Reset the peak (Linux 4.0+); else measure from the peak so far.
        const bool reset = static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5");
        const long long before = reset ? status_kb("VmRSS:") : status_kb("VmHWM:");
        const bool ok = work();
        const long long grown = (status_kb("VmHWM:") - before) * 1024;
        (void)!::write(fds[1], &grown, sizeof grown);
        ::_exit(ok ? 0 : 1);
    }
    ::close(fds[1]);
    long long grown = -1;
    if (::read(fds[0], &grown, sizeof grown) != sizeof grown) grown = -1;
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? grown : -1;
}

// Read `path` with a 16 MiB limit: a message whose data takes `big` bytes
// that must come out too large, then a small one.
bool read_bomb(const std::string& path, std::uint64_t big) {
    msg::MboxOptions o;
    o.max_message = std::size_t{16} << 20;
    auto r = msg::MboxReader::open(path, o);
    if (!r.ok()) return false;
    msg::MboxMessage m;
    auto n = (*r)->next(m);
    if (!n.ok() || !*n || !m.too_large || m.data_end - m.data_offset != big) return false;
    n = (*r)->next(m);
    if (!n.ok() || !*n || m.too_large || m.data != "Subject: after\n\nfine\n") return false;
    n = (*r)->next(m);
    return n.ok() && !*n;
}

}  // namespace

// A small gzip archive that inflates to 300 MiB, one message: read with a
// 16 MiB limit, memory stays far below the message's size.
TEST(MboxParse, GzipBombStaysBounded) {
    const std::string head = "From bomb@example.org Mon Nov 23 09:15:00 2026\nSubject: bomb\n\n";
    const std::string tail = "\nFrom after@example.org Mon Nov 23 09:16:00 2026\nSubject: after\n\nfine\n";
    std::string line(76, 'A');
    line += '\n';
    std::string chunk;
    while (chunk.size() < (std::size_t{1} << 20)) chunk += line;
    constexpr int kChunks = 300;
    const std::uint64_t big = std::uint64_t{kChunks} * chunk.size();
    const fs::path path = fs::temp_directory_path() / ("msg_mbox_bomb_" + std::to_string(::getpid()) + ".mbox.gz");
    {
        z_stream z{};
        ASSERT_EQ(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        std::ofstream out(path, std::ios::binary);
        std::vector<char> buf(1 << 16);
        auto put = [&](std::string_view s, int flush) {
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
            z.avail_in = static_cast<uInt>(s.size());
            do {
                z.next_out = reinterpret_cast<Bytef*>(buf.data());
                z.avail_out = static_cast<uInt>(buf.size());
                deflate(&z, flush);
                out.write(buf.data(), static_cast<std::streamsize>(buf.size() - z.avail_out));
            } while (z.avail_out == 0);
        };
        put(head, Z_NO_FLUSH);
        for (int i = 0; i < kChunks; ++i) put(chunk, Z_NO_FLUSH);
        put(tail, Z_FINISH);
        deflateEnd(&z);
    }
    EXPECT_LT(fs::file_size(path), std::uintmax_t{8} << 20);
    const std::uint64_t data = head.size() - head.find('\n') - 1 + big;
    const long long grown = peak_growth([&] { return read_bomb(path.string(), data); });
    fs::remove(path);
    ASSERT_GE(grown, 0) << "the archive was not read as expected";
    EXPECT_LT(grown, 48ll << 20) << "peak memory grew by " << (grown >> 20) << " MiB for a " << (big >> 20)
                                  << " MiB message with a 16 MiB limit";
}

// The same through a plain archive (a sparse file: the message is a hole
// of 300 MiB), read with read(2): the window stays within the limit while
// the message's bytes are skipped.
TEST(MboxParse, PlainHugeMessageStaysBounded) {
    const std::string head = "From bomb@example.org Mon Nov 23 09:15:00 2026\nSubject: bomb\n\n";
    // The hole's NUL bytes, a line break, the empty line, the next message.
    const std::string tail = "\n\nFrom after@example.org Mon Nov 23 09:16:00 2026\nSubject: after\n\nfine\n";
    const std::uint64_t big = std::uint64_t{300} << 20;
    const fs::path path = fs::temp_directory_path() / ("msg_mbox_sparse_" + std::to_string(::getpid()) + ".mbox");
    {
        std::ofstream out(path, std::ios::binary);
        out << head;
        out.seekp(static_cast<std::streamoff>(head.size() + big));
        out << tail;
    }
    ASSERT_EQ(fs::file_size(path), head.size() + big + tail.size());
    const std::uint64_t data = head.size() - head.find('\n') - 1 + big + 1;
    const long long grown = peak_growth([&] { return read_bomb(path.string(), data); });
    fs::remove(path);
    ASSERT_GE(grown, 0) << "the archive was not read as expected";
    EXPECT_LT(grown, 48ll << 20) << "peak memory grew by " << (grown >> 20) << " MiB";
}
