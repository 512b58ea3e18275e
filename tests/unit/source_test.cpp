// source_test.cpp - line index and input buffers (msg/source.hpp).
#include "msg/source.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

void expect_at(const msg::LineIndex& ix, std::size_t off, std::uint64_t line, std::uint64_t col) {
    auto lc = ix.locate(off);
    EXPECT_EQ(lc.line, line) << "offset " << off;
    EXPECT_EQ(lc.column, col) << "offset " << off;
}

std::filesystem::path temp_path(const char* name) {
    return std::filesystem::temp_directory_path() /
           ("msg_source_test_" + std::to_string(::getpid()) + "_" + name);
}

}  // namespace

TEST(LineIndex, LfAndCrlf) {
    const std::string text = "ab\ncd\r\nef";
    msg::LineIndex ix(text);
    EXPECT_EQ(ix.lines(), 3u);
    expect_at(ix, 0, 1, 1);
    expect_at(ix, 1, 1, 2);
    expect_at(ix, 2, 1, 3);   // the LF belongs to line 1
    expect_at(ix, 3, 2, 1);
    expect_at(ix, 5, 2, 3);   // the CR of CRLF
    expect_at(ix, 6, 2, 4);   // its LF
    expect_at(ix, 7, 3, 1);
    expect_at(ix, 8, 3, 2);
    expect_at(ix, 9, 3, 3);   // one past the end
    expect_at(ix, 100, 3, 94);
}

TEST(LineIndex, BareCrIsNotALineBreak) {
    msg::LineIndex ix("a\rb\nc");
    EXPECT_EQ(ix.lines(), 2u);
    expect_at(ix, 2, 1, 3);
    expect_at(ix, 4, 2, 1);
}

TEST(LineIndex, EmptyAndTrailingNewline) {
    msg::LineIndex empty;
    EXPECT_EQ(empty.lines(), 1u);
    expect_at(empty, 0, 1, 1);
    msg::LineIndex e2("");
    EXPECT_EQ(e2.lines(), 1u);
    msg::LineIndex t("x\n\n");
    EXPECT_EQ(t.lines(), 3u);
    expect_at(t, 2, 2, 1);
    expect_at(t, 3, 3, 1);
}

// Across its 4 KiB marks, in any order of offsets, against a count from
// the start: lines short and long (one of 10 KiB), CRLF and LF.
TEST(LineIndex, AgreesWithACountFromTheStartAcrossBlocks) {
    std::string text;
    for (int i = 0; i < 3000; ++i) text += std::string(static_cast<std::size_t>(i % 97), 'x') + (i % 3 ? "\n" : "\r\n");
    text += std::string(10240, 'y') + "\n\n" + std::string(5000, 'z');
    auto reference = [&](std::size_t off) {
        msg::LineCol lc;
        std::size_t start = 0;
        for (std::size_t i = 0; i < std::min(off, text.size()); ++i)
            if (text[i] == '\n') {
                ++lc.line;
                start = i + 1;
            }
        lc.column = off - start + 1;
        return lc;
    };
    msg::LineIndex ix(text);
    std::vector<std::size_t> offsets;
    for (std::size_t off = text.size() + 3; off > 0; off -= std::min<std::size_t>(off, 997)) offsets.push_back(off);
    for (std::size_t b = 4096; b < text.size(); b += 4096) offsets.insert(offsets.end(), {b - 1, b, b + 1});
    offsets.push_back(0);
    for (std::size_t off : offsets) {
        const msg::LineCol want = reference(off);
        expect_at(ix, off, want.line, want.column);
    }
    EXPECT_EQ(ix.lines(), reference(text.size()).line);
    // In order, as a diagnostics printer asks: from the last position.
    msg::LineIndex in_order(text);
    msg::LineCol want;
    std::size_t start = 0;
    for (std::size_t off = 0; off <= text.size(); ++off) {
        if (off % 7 == 0 || text[off - 1] == '\n') expect_at(in_order, off, want.line, off - start + 1);
        if (off < text.size() && text[off] == '\n') {
            ++want.line;
            start = off + 1;
        }
    }
}

TEST(Source, FromString) {
    auto s = msg::Source::from_string("line1\nline2\n", "mem");
    EXPECT_EQ(s.data(), "line1\nline2\n");
    EXPECT_EQ(s.name(), "mem");
    EXPECT_EQ(s.locate(6).line, 2u);
    EXPECT_EQ(s.locate(8).column, 3u);
    EXPECT_EQ(s.lines().lines(), 3u);
    // Moving keeps the data valid (also for short strings held inline).
    auto small = msg::Source::from_string("a\nb");
    msg::Source moved(std::move(small));
    EXPECT_EQ(moved.data(), "a\nb");
    EXPECT_EQ(moved.locate(2).line, 2u);
    auto other = msg::Source::from_string("zz");
    other = std::move(moved);
    EXPECT_EQ(other.data(), "a\nb");
    EXPECT_EQ(other.name(), "-");
    // A moved-from source keeps no line index into the buffer it gave away.
    auto first = msg::Source::from_string("x\ny\nz");
    EXPECT_EQ(first.locate(4).line, 3u);
    {
        msg::Source taker(std::move(first));
        EXPECT_EQ(taker.locate(4).line, 3u);
    }
    EXPECT_EQ(first.lines().lines(), 1u);   // empty now, not the freed text
    auto second = msg::Source::from_string("p\nq");
    EXPECT_EQ(second.locate(2).line, 2u);
    {
        auto taker = msg::Source::from_string("");
        taker = std::move(second);
        EXPECT_EQ(taker.locate(2).line, 2u);
    }
    EXPECT_EQ(second.lines().lines(), 1u);
}

TEST(Source, OpenFile) {
    auto p = temp_path("open.txt");
    {
        std::ofstream f(p, std::ios::binary);
        f << "From: a\r\nTo: b\r\n\r\nbody\n";
    }
    auto r = msg::Source::open(p.string());
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->data(), "From: a\r\nTo: b\r\n\r\nbody\n");
    EXPECT_EQ(r->name(), p.string());
    EXPECT_EQ(r->locate(9).line, 2u);
    msg::Source moved = std::move(r.value());
    EXPECT_EQ(moved.data().substr(0, 7), "From: a");
    std::filesystem::remove(p);

    // An empty file is fine too.
    auto e = temp_path("empty.txt");
    { std::ofstream f(e, std::ios::binary); }
    auto re = msg::Source::open(e.string());
    ASSERT_TRUE(re.ok());
    EXPECT_TRUE(re->data().empty());
    std::filesystem::remove(e);
}

// Small files are read and large ones mapped: the bytes are the same.
TEST(Source, OpenSmallAndLarge) {
    for (const std::size_t size : {std::size_t{1}, std::size_t{4095}, std::size_t{4096}, (std::size_t{1} << 20) - 1,
                                   std::size_t{1} << 20, (std::size_t{1} << 20) + 3}) {
        auto p = temp_path("size.txt");
        std::string bytes(size, 'x');
        for (std::size_t i = 0; i < size; i += 77) bytes[i] = '\n';
        bytes.back() = 'z';
        { std::ofstream(p, std::ios::binary) << bytes; }
        auto r = msg::Source::open(p.string());
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->data(), bytes) << size;
        msg::Source moved = std::move(r.value());
        EXPECT_EQ(moved.data(), bytes) << size;
        std::filesystem::remove(p);
    }
}

// A file of megabytes is read, not mapped: cut short (or rewritten) once
// opened, the Source still holds every byte it read (a mapping would take
// the pages from under it: SIGBUS). Only a file over the limit is mapped,
// and never refused for its size.
TEST(Source, ALargeFileIsReadSoThatCuttingItShortTakesNothing) {
    auto p = temp_path("large.txt");
    std::string bytes((std::size_t{5} << 20) + 17, 'y');
    for (std::size_t i = 0; i < bytes.size(); i += 101) bytes[i] = '\n';
    { std::ofstream(p, std::ios::binary) << bytes; }
    auto r = msg::Source::open(p.string());
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::filesystem::resize_file(p, 0);
    EXPECT_TRUE(r->data() == bytes);   // (not printed: megabytes)
    EXPECT_EQ(r->locate(bytes.size()).line, static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n')) + 1);
    { std::ofstream(p, std::ios::binary) << bytes; }
    auto over = msg::Source::open(p.string(), std::size_t{2} << 20);   // over the limit: mapped
    ASSERT_TRUE(over.ok()) << over.error().message;
    EXPECT_TRUE(over->data() == bytes);
    std::filesystem::remove(p);
}

// Every byte of a buffer, read as a parser would: each page touched.
std::size_t count_x(std::string_view data) {
    volatile const char* p = data.data();
    std::size_t n = 0;
    for (std::size_t i = 0; i < data.size(); ++i) n += p[i] == 'x';
    return n;
}

// A file over the read limit is mapped; cut short while it is open, the
// pages past its new end read as zeros (no SIGBUS), and intact() says the
// file was cut short, naming it (EIO: exit 74), as the mbox readers do.
// Whole, or grown, it is intact.
TEST(Source, AMappedFileCutShortReadsAsZerosAndSaysSo) {
    const std::size_t limit = std::size_t{64} << 10;     // lowered: a small file is mapped
    const std::size_t size = (std::size_t{1} << 20) + 123;
    auto p = temp_path("cut.txt");
    { std::ofstream(p, std::ios::binary) << std::string(size, 'x'); }
    {
        auto whole = msg::Source::open(p.string(), limit);
        ASSERT_TRUE(whole.ok()) << whole.error().message;
        EXPECT_EQ(count_x(whole->data()), size);
        EXPECT_TRUE(whole->intact().ok());
        std::filesystem::resize_file(p, size + 5000);   // grown: what was mapped is all there
        EXPECT_TRUE(whole->intact().ok());
        std::filesystem::resize_file(p, size);
    }
    // Cut at page boundaries and within a page, before any page is touched
    // and after some were; the Source moved in between.
    for (const std::size_t cut : {std::size_t{0}, std::size_t{4096 * 7}, std::size_t{300001}, size - 1}) {
        auto r = msg::Source::open(p.string(), limit);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(count_x(r->data().substr(0, 1000)), 1000u);
        std::filesystem::resize_file(p, cut);
        msg::Source s = std::move(*r);
        ASSERT_EQ(s.data().size(), size);
        const std::size_t xs = count_x(s.data());   // no SIGBUS
        EXPECT_LE(xs, std::max<std::size_t>(cut, 4096)) << cut;   // past the cut, zeros (the first page was read)
        EXPECT_EQ(s.data().back(), '\0') << cut;
        const msg::Status st = s.intact();
        ASSERT_FALSE(st.ok()) << cut;
        EXPECT_EQ(st.error().errnum, EIO);
        EXPECT_NE(st.error().message.find(p.string()), std::string::npos) << st.error().message;
        EXPECT_NE(st.error().message.find("the file was cut short while it was read"), std::string::npos)
            << st.error().message;
        EXPECT_NE(st.error().message.find(std::to_string(cut) + " of " + std::to_string(size) + " bytes"),
                  std::string::npos) << st.error().message;
        { std::ofstream(p, std::ios::binary) << std::string(size, 'x'); }
    }
    // Read into memory (under the limit), the bytes are held: intact.
    auto read = msg::Source::open(p.string());
    ASSERT_TRUE(read.ok());
    std::filesystem::resize_file(p, 10);
    EXPECT_EQ(count_x(read->data()), size);
    EXPECT_TRUE(read->intact().ok());
    EXPECT_TRUE(msg::Source::from_string("x").intact().ok());
    std::filesystem::remove(p);
}

// A SIGBUS that is not a Source's mapping cut short still ends the process,
// as it would without the handler a mapped Source installs.
TEST(SourceDeathTest, ASigbusElsewhereStillEndsTheProcess) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    auto p = temp_path("other.txt");
    { std::ofstream(p, std::ios::binary) << std::string(std::size_t{256} << 10, 'x'); }
    EXPECT_EXIT(
        {
            auto mapped = msg::Source::open(p.string(), 4096);   // the handler is installed
            if (!mapped.ok()) std::_Exit(3);
            const int fd = ::open(p.string().c_str(), O_RDONLY);
            void* m = ::mmap(nullptr, 65536, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) std::_Exit(4);
            if (::ftruncate(::open(p.string().c_str(), O_WRONLY), 0) != 0) std::_Exit(5);
            std::_Exit(static_cast<volatile const char*>(m)[8192]);   // not a Source's: SIGBUS
        },
        ::testing::KilledBySignal(SIGBUS), "");
    { std::ofstream(p, std::ios::binary) << std::string(std::size_t{256} << 10, 'x'); }   // (cut by the child)
    EXPECT_EXIT(
        {
            auto mapped = msg::Source::open(p.string(), 4096);
            if (!mapped.ok()) std::_Exit(3);
            ::raise(SIGBUS);   // sent, not a fault
            std::_Exit(6);
        },
        ::testing::KilledBySignal(SIGBUS), "");
    std::filesystem::remove(p);
}

// A file read whole leaves no address space behind once let go, however
// many are read (each is read into space reserved for the limit, on a huge
// page's boundary; what is given back must be whole pages).
TEST(Source, ReadingLargeFilesLeavesNoMappingBehind) {
    auto p = temp_path("mappings.txt");
    { std::ofstream(p, std::ios::binary) << std::string((std::size_t{3} << 20) + 5, 'm'); }
    const auto mappings = [] {   // the process's address space, in pages
        std::size_t pages = 0;
        std::ifstream("/proc/self/statm") >> pages;
        return pages;
    };
    { auto first = msg::Source::open(p.string()); ASSERT_TRUE(first.ok()); }   // (whatever a first read sets up)
    const auto before = mappings();
    for (int i = 0; i < 20; ++i) {
        auto r = msg::Source::open(p.string());
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->data().size(), (std::size_t{3} << 20) + 5);
    }
    EXPECT_EQ(mappings(), before);
    std::filesystem::remove(p);
}

// A thread reads its next small file into the buffer of its last one once
// that is let go: a buffer still held (here, or moved) is never reused.
TEST(Source, ABufferIsReusedOnlyWhenLetGo) {
    const auto make = [](const char* name, char fill, std::size_t size) {
        auto p = temp_path(name);
        std::string bytes(size, fill);
        bytes.back() = '\n';
        { std::ofstream(p, std::ios::binary) << bytes; }
        return std::make_pair(p, bytes);
    };
    const auto [pa, a] = make("reuse_a", 'a', 70000);
    const auto [pb, b] = make("reuse_b", 'b', 5000);
    const auto [pc, c] = make("reuse_c", 'c', 300000);
    auto first = msg::Source::open(pa.string());
    ASSERT_TRUE(first.ok());
    msg::Source held = std::move(first.value());
    const char* second_buffer = nullptr;
    {
        auto second = msg::Source::open(pb.string());
        ASSERT_TRUE(second.ok());
        EXPECT_EQ(second->data(), b);
        EXPECT_EQ(held.data(), a);   // not read over by the second
        second_buffer = second->data().data();
    }
    {
        // An allocation in between takes what a free() gave back: the
        // buffer is the thread's, not the allocator's next.
        const auto filler = std::make_unique<char[]>(b.size() + 1);
        auto again = msg::Source::open(pb.string());   // into the buffer let go
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(again->data(), b);
        EXPECT_EQ(again->data().data(), second_buffer);
        EXPECT_NE(again->data().data(), held.data().data());
    }
    for (int round = 0; round < 3; ++round) {   // the second's buffer, then larger ones, in turn
        auto next = msg::Source::open((round % 2 ? pc : pb).string());
        ASSERT_TRUE(next.ok());
        EXPECT_EQ(next->data(), round % 2 ? c : b) << round;
        EXPECT_EQ(held.data(), a) << round;
        msg::Source other = msg::Source::from_string("x");
        other = std::move(next.value());   // the assigned-over and moved-from keep nothing
        EXPECT_EQ(other.data(), round % 2 ? c : b) << round;
    }
    EXPECT_EQ(held.data(), a);
    for (const auto& p : {pa, pb, pc}) std::filesystem::remove(p);
}

TEST(Source, OpenErrors) {
    auto r = msg::Source::open("/nonexistent/dir/x.eml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().errnum, ENOENT);
    EXPECT_NE(r.error().message.find("/nonexistent/dir/x.eml"), std::string::npos);
    auto d = msg::Source::open(std::filesystem::temp_directory_path().string());
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().errnum, EISDIR);
}

// Input read whole stops at its limit: longer is refused, not held.
TEST(Source, ReadFdStopsAtItsLimit) {
    for (const std::size_t max : {std::size_t{9}, std::size_t{10}}) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const std::string text = "0123456789";
        ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
        ::close(fds[1]);
        auto r = msg::Source::read_fd(fds[0], "<pipe>", max);
        ::close(fds[0]);
        if (max < text.size()) {
            ASSERT_FALSE(r.ok());
            EXPECT_EQ(r.error().errnum, EFBIG);
            EXPECT_NE(r.error().message.find("<pipe>"), std::string::npos);
            EXPECT_NE(r.error().message.find("9 bytes"), std::string::npos);
        } else {
            ASSERT_TRUE(r.ok());
            EXPECT_EQ(r->data(), text);
            msg::Source moved = std::move(*r);
            EXPECT_EQ(moved.data(), text);
        }
    }
}

TEST(Source, ReadFd) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string text = "piped\ndata";
    ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fds[1]);
    auto r = msg::Source::read_fd(fds[0], "<pipe>");
    ::close(fds[0]);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->data(), text);
    EXPECT_EQ(r->name(), "<pipe>");
    EXPECT_EQ(r->locate(6).line, 2u);
}
