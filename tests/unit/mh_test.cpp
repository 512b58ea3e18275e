// mh_test.cpp - MH folders (mh.hpp): sequences, names, flags, listing.
#include <gtest/gtest.h>
#include <msg/mh.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

TEST(Mh, Numbers) {
    bool deleted = true;
    EXPECT_EQ(msg::mh_number("17", &deleted), 17u);
    EXPECT_FALSE(deleted);
    EXPECT_EQ(msg::mh_number(",17", &deleted), 17u);
    EXPECT_TRUE(deleted);
    EXPECT_EQ(msg::mh_number("#3", &deleted), 3u);
    EXPECT_TRUE(deleted);
    EXPECT_FALSE(msg::mh_number(""));
    EXPECT_FALSE(msg::mh_number(","));
    EXPECT_FALSE(msg::mh_number("1a"));
    EXPECT_FALSE(msg::mh_number(".mh_sequences"));
    EXPECT_FALSE(msg::mh_number("1234567890123456789"));   // too long to be a count
    EXPECT_EQ(msg::mh_number("123456789012345678"), 123456789012345678u);
}

TEST(Mh, Sequences) {
    const msg::MhSequences s = msg::MhSequences::parse(
        "cur: 5\n"
        "Unseen: 9-12 2\n"
        "  20 30-31\n"          // continues "Unseen"
        "flagged: 4-6 5-8 x 7-3 -\r\n"   // overlapping ranges merge; junk and reversed ranges are skipped
        "no colon here\n"
        ": 1\n"
        "replied:\n");
    EXPECT_TRUE(s.has("unseen"));
    EXPECT_TRUE(s.has("replied"));
    EXPECT_FALSE(s.has("flaggd"));
    for (const std::uint64_t n : {2u, 9u, 10u, 12u, 20u, 30u, 31u}) EXPECT_TRUE(s.contains("unseen", n)) << n;
    for (const std::uint64_t n : {1u, 3u, 8u, 13u, 19u, 21u, 32u}) EXPECT_FALSE(s.contains("unseen", n)) << n;
    for (std::uint64_t n = 4; n <= 8; ++n) EXPECT_TRUE(s.contains("flagged", n)) << n;
    EXPECT_FALSE(s.contains("flagged", 3));
    EXPECT_FALSE(s.contains("flagged", 9));
    EXPECT_FALSE(s.contains("replied", 1));
    EXPECT_EQ(msg::mh_flags(s, 5, false), "FS");
    EXPECT_EQ(msg::mh_flags(s, 10, false), "");
    EXPECT_EQ(msg::mh_flags(s, 10, true), "T");
    EXPECT_EQ(msg::mh_flags(msg::MhSequences::parse(""), 1, false), "S");   // no unseen: all read
}

TEST(Mh, FolderAndListing) {
    const fs::path d = fs::temp_directory_path() / ("mh_test." + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d / "sub");
    const auto put = [](const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; };
    EXPECT_FALSE(msg::is_mh_folder(d.string()));   // numbered files alone do not say MH
    put(d / "2", "S: 2\n\n");
    EXPECT_FALSE(msg::is_mh_folder(d.string()));
    put(d / ".mh_sequences", "unseen: 2\n");
    EXPECT_TRUE(msg::is_mh_folder(d.string()));
    put(d / "11", "S: 11\n\n");
    put(d / "#2", "S: old 2\n\n");
    put(d / "x", "not a message\n");
    fs::create_directory(d / "3");   // a folder with a number for a name is no message
    auto list = msg::list_mh(d.string());
    ASSERT_TRUE(list) << list.error().message;
    std::vector<std::string> got;
    for (const msg::MaildirFile& f : *list) {
        EXPECT_TRUE(f.mh);
        EXPECT_EQ(f.path, (d / f.name).string());
        got.push_back(f.name + ":" + f.flags + (f.seen_dir ? ":seen" : ""));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"2:", "#2:T", "11:S:seen"}));
    // A FIFO in the place of .mh_sequences is not waited on: no sequences, all read.
    fs::remove(d / ".mh_sequences");
    put(d / ".xmhcache", "");
    ASSERT_EQ(::mkfifo((d / ".mh_sequences").c_str(), 0600), 0);
    list = msg::list_mh(d.string());
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->size(), 3u);
    EXPECT_EQ(list->front().flags, "");   // no .mh_sequences: nothing says it was read
    EXPECT_EQ(msg::mh_flags(msg::MhSequences::parse("flagged: 1"), 1, false, false), "F");
    // A Maildir is not an MH folder, whatever files it holds.
    fs::create_directories(d / "cur");
    fs::create_directories(d / "new");
    EXPECT_FALSE(msg::is_mh_folder(d.string()));
    fs::remove_all(d);
}
