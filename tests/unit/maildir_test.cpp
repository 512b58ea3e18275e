// maildir_test.cpp - Maildir folders (maildir.hpp).
#include <gtest/gtest.h>
#include <msg/maildir.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <stdlib.h>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "maildir_test.XXXXXX").string();
        path = ::mkdtemp(t.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST(Maildir, FlagsFromNames) {
    EXPECT_EQ(msg::maildir_flags("1700000000.M1P2.host:2,RS"), "RS");
    EXPECT_EQ(msg::maildir_flags("1700000000.M1P2.host:2,"), "");
    EXPECT_EQ(msg::maildir_flags("1700000000.M1P2.host"), "");
}

TEST(Maildir, ReadsMessagesOnly) {
    TempDir t;
    const fs::path m = t.path / "Mail";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(m / d);
    spit(m / "new" / "1700000002.M1P1.host", "Subject: two\n\n2\n");
    spit(m / "cur" / "1700000001.M1P1.host:2,S", "Subject: one\n\n1\n");
    spit(m / "tmp" / "1700000003.M1P1.host", "being written");
    spit(m / "cur" / ".hidden", "x");
    spit(m / "dovecot.index.log", "index");
    spit(m / "dovecot-uidlist", "3 V1");
    fs::create_directories(m / "cur" / "subdir");
    EXPECT_TRUE(msg::is_maildir(m.string()));
    EXPECT_FALSE(msg::is_maildir((m / "cur").string()));
    auto list = msg::list_maildir(m.string());
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].name, "1700000001.M1P1.host:2,S");
    EXPECT_TRUE((*list)[0].seen_dir);
    EXPECT_EQ((*list)[0].flags, "S");
    EXPECT_EQ((*list)[1].name, "1700000002.M1P1.host");
    EXPECT_FALSE((*list)[1].seen_dir);
    EXPECT_EQ((*list)[1].path, (m / "new" / "1700000002.M1P1.host").string());
    // The paths alone, in the same order; a file described from its path.
    auto paths = msg::list_maildir_paths(m.string());
    ASSERT_TRUE(paths) << paths.error().message;
    ASSERT_EQ(paths->size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ((*paths)[i], (*list)[i].path);
        const msg::MaildirFile f = msg::maildir_file((*paths)[i]);
        EXPECT_EQ(f.name, (*list)[i].name);
        EXPECT_EQ(f.flags, (*list)[i].flags);
        EXPECT_EQ(f.seen_dir, (*list)[i].seen_dir);
    }
    EXPECT_FALSE(msg::maildir_file("Mail/xcur/1.host:2,S").seen_dir);   // cur/ itself, not a name ending so
    EXPECT_TRUE(msg::maildir_file("Mail/cur/1.host:2,S").seen_dir);
}

TEST(Maildir, WritesThroughTmpWithUniqueNames) {
    TempDir t;
    const fs::path m = t.path / "new-folder";
    auto w = msg::MaildirWriter::open(m.string());
    ASSERT_TRUE(w) << w.error().message;
    auto a = w->deliver("Subject: a\n\n", "");
    auto b = w->deliver("Subject: b\n\n", "SR");
    auto c = w->deliver("Subject: c\n\n", "");
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(fs::path(*a).parent_path().filename(), "new");
    EXPECT_EQ(fs::path(*b).parent_path().filename(), "cur");
    EXPECT_EQ(msg::maildir_flags(*b), "RS");   // sorted
    EXPECT_NE(*a, *c);
    EXPECT_EQ(slurp(*b), "Subject: b\n\n");
    EXPECT_TRUE(fs::is_empty(m / "tmp"));
    struct stat st {};
    ASSERT_EQ(::stat(a->c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto list = msg::list_maildir(m.string());
    ASSERT_TRUE(list);
    EXPECT_EQ(list->size(), 3u);
    // Flags are letters: a '/' (from an entry written elsewhere) leaves the
    // folder no way, and no letter left is no flag.
    auto d = w->deliver("Subject: d\n\n", "S/../x");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(fs::path(*d).parent_path(), m / "cur");
    EXPECT_EQ(msg::maildir_flags(*d), "Sx");
    auto e = w->deliver("Subject: e\n\n", "/.");
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(fs::path(*e).parent_path(), m / "new");
    // Seen without flags (an mbox's Status O, a file of cur/): cur/NAME:2,
    auto f = w->deliver("Subject: f\n\n", "", true);
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(fs::path(*f).parent_path(), m / "cur");
    EXPECT_TRUE(f->ends_with(":2,")) << *f;
}

// Names written one after another sort in the order they were written
// (the microseconds are zero-padded), so a Maildir written from a spool
// reads back in the spool's order.
TEST(Maildir, ListedInNameOrderOrAsTheDirectoriesGiveThem) {
    TempDir t;
    const fs::path m = t.path / "Mail";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(m / d);
    // Names of cur/ and new/ interleaved, written in neither order.
    const std::vector<std::pair<const char*, const char*>> files = {
        {"new", "5.host"}, {"cur", "2.host:2,S"}, {"new", "1.host"}, {"cur", "4.host:2,RS"},
        {"new", "3.host"}, {"cur", "6.host:2,"},
    };
    for (const auto& [d, n] : files) spit(m / d / n, "Subject: x\n\nx\n");
    auto names = msg::list_maildir_paths(m.string());
    ASSERT_TRUE(names) << names.error().message;
    std::vector<std::string> got;
    for (const std::string& p : *names) got.push_back(fs::path(p).parent_path().filename().string() + "/" +
                                                      fs::path(p).filename().string());
    EXPECT_EQ(got, (std::vector<std::string>{"new/1.host", "cur/2.host:2,S", "new/3.host", "cur/4.host:2,RS",
                                             "new/5.host", "cur/6.host:2,"}));
    // Each message once in the directories' own order, for a caller that
    // sorts them itself; dot files and directories are not messages.
    spit(m / "cur" / ".hidden", "x");
    fs::create_directories(m / "new" / "sub");
    std::vector<std::string> each;
    ASSERT_TRUE(msg::for_each_maildir_path(m.string(), [&](std::string_view p) { each.emplace_back(p); }));
    std::sort(each.begin(), each.end());
    ASSERT_EQ(each.size(), 6u);
    EXPECT_EQ(each[0], (m / "cur" / "2.host:2,S").string());
    EXPECT_EQ(each[5], (m / "new" / "5.host").string());
    // A Maildir that cannot be read is an error naming the directory.
    auto none = msg::list_maildir_paths((t.path / "nothing").string());
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("nothing/new"), std::string::npos) << none.error().message;
    const msg::Status each_none = msg::for_each_maildir_path((t.path / "nothing").string(), [](std::string_view) {});
    ASSERT_FALSE(each_none);
    EXPECT_NE(each_none.error().message.find("nothing/new"), std::string::npos) << each_none.error().message;
    // One of the two that cannot be read: the other's messages all the
    // same, and the error names the one.
    const fs::path half = t.path / "half";
    fs::create_directories(half / "cur");
    spit(half / "new", "not a directory");
    spit(half / "cur" / "1.host:2,S", "x");
    spit(half / "cur" / "2.host:2,", "x");
    std::vector<std::string> some;
    std::string failed;
    const msg::Status st = msg::for_each_maildir_path(half.string(), [&](std::string_view p) { some.emplace_back(p); }, &failed);
    ASSERT_FALSE(st);
    EXPECT_EQ(failed, (half / "new").string());
    EXPECT_EQ(some.size(), 2u);
}

// A message a reader renamed (its flags changed, or moved from new/ to
// cur/) is found where it is now, by the unique part of its name.
TEST(Maildir, ARenamedMessageIsFoundByItsUniquePart) {
    TempDir t;
    const fs::path m = t.path / "Mail";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(m / d);
    spit(m / "cur" / "1.a.host:2,RS", "x");
    spit(m / "cur" / "1.a.hostname:2,S", "x");   // a longer unique part: another message
    spit(m / "cur" / "2.b.host:2,", "x");
    spit(m / "new" / "3.c.host", "x");
    spit(m / "cur" / ".4.d.host:2,S", "x");       // hidden: not a message
    auto at = [&](const fs::path& p) { return msg::maildir_renamed(p.string()).value_or("none"); };
    EXPECT_EQ(at(m / "cur" / "1.a.host:2,S"), (m / "cur" / "1.a.host:2,RS").string());
    EXPECT_EQ(at(m / "new" / "1.a.host"), (m / "cur" / "1.a.host:2,RS").string());
    EXPECT_EQ(at(m / "new" / "2.b.host"), (m / "cur" / "2.b.host:2,").string());
    EXPECT_EQ(at(m / "cur" / "3.c.host:2,S"), (m / "new" / "3.c.host").string());
    EXPECT_EQ(at(m / "cur" / "4.d.host:2,S"), "none");
    EXPECT_EQ(at(m / "cur" / "5.e.host:2,S"), "none");
    EXPECT_EQ(at(m / "tmp" / "1.a.host"), "none");   // not a message's place
    EXPECT_EQ(at(t.path / "1.a.host:2,S"), "none");
}

TEST(Maildir, NamesSortInDeliveryOrder) {
    TempDir t;
    auto w = msg::MaildirWriter::open((t.path / "m").string());
    ASSERT_TRUE(w) << w.error().message;
    std::vector<std::string> written;
    for (int i = 0; i < 200; ++i) {
        auto p = w->deliver("Subject: " + std::to_string(i) + "\n\n", "");
        ASSERT_TRUE(p);
        written.push_back(fs::path(*p).filename().string());
    }
    auto list = msg::list_maildir((t.path / "m").string());
    ASSERT_TRUE(list);
    std::vector<std::string> listed;
    for (const auto& f : *list) listed.push_back(f.name);
    EXPECT_EQ(listed, written);
}
