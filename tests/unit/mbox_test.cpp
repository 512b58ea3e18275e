// mbox_test.cpp - the streaming mbox reader, plain and gzip (msg/mbox.hpp).
#include "msg/mbox.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

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
        out.push_back({m.index, m.offset, m.line, m.data_offset, m.data_line,
                       std::string(m.from_line), std::string(m.data), m.unquoted});
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

void check_archive(const std::vector<Copy>& msgs, bool mboxrd) {
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
        EXPECT_FALSE(msgs[0].unquoted);
        EXPECT_EQ(msgs[0].data,
                  "Subject: one\n\nbody one\n>From quoted\n>>From double\n"
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

TEST(Mbox, PlainMboxoDoesNotUnquote) {
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
    // plain mapped, plain read through the window, gzip
    for (int mode = 0; mode < 3; ++mode) {
        const bool gz = mode == 2;
        msg::MboxOptions o;
        o.read_size = 4096;
        o.map = mode == 0;
        SCOPED_TRACE(mode == 0 ? "plain, mapped" : mode == 1 ? "plain, read" : "gzip");
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
    for (bool map : {false, true}) {
        SCOPED_TRACE(map ? "mapped" : "read");
        msg::MboxOptions o;
        o.read_size = 4096;
        o.map = map;
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
