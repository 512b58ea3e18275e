// inputs_test.cpp - the input loop (msg/inputs.hpp): files and directories
// in name order, links below a directory not followed, a Maildir's
// messages only, archives message by message, problems counted by kind
// and named, and an early stop.
#include <gtest/gtest.h>
#include <msg/inputs.hpp>

#include "detail/spool_io.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

class Inputs : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "inputs_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void put(const fs::path& rel, const std::string& text) {
        fs::create_directories((dir_ / rel).parent_path());
        std::ofstream(dir_ / rel, std::ios::binary) << text;
    }
    // (file, index, data) of every message; problems into `errors`, the
    // paths they are of into `error_paths`.
    std::vector<std::string> read(const std::vector<std::string>& inputs, msg::InputOptions o = {},
                                  msg::InputCounts* counts = nullptr, int stop_after = -1) {
        std::vector<std::string> seen;
        o.on_error = [&](msg::InputProblem, const std::string& path, const std::string& m) {
            error_paths.push_back(path);
            errors.push_back(m);
        };
        const msg::InputCounts c = msg::for_each_message(inputs, o, [&](const msg::InputMessage& m) {
            seen.push_back(fs::path(m.file).lexically_relative(dir_).string() + "#" + std::to_string(m.index) + ":" +
                           std::string(m.data));
            return stop_after < 0 || static_cast<int>(seen.size()) < stop_after;
        });
        if (counts) *counts = c;
        return seen;
    }
    fs::path dir_;
    std::vector<std::string> errors, error_paths;
};

// $TMPDIR pointed at `dir` for a test, and put back after it.
struct TmpDirSet {
    explicit TmpDirSet(const fs::path& dir) {
        if (const char* old = std::getenv("TMPDIR")) saved = old;
        ::setenv("TMPDIR", dir.c_str(), 1);
    }
    ~TmpDirSet() {
        if (saved) ::setenv("TMPDIR", saved->c_str(), 1);
        else ::unsetenv("TMPDIR");
    }
    std::optional<std::string> saved;
};

}  // namespace

TEST_F(Inputs, DirectoriesInNameOrderWithoutFollowingLinks) {
    put("tree/b.eml", "B: 1\n\nb\n");
    put("tree/a.eml", "A: 1\n\na\n");
    put("tree/sub/c.eml", "C: 1\n\nc\n");
    put("outside.eml", "O: 1\n\no\n");
    fs::create_symlink(dir_ / "outside.eml", dir_ / "tree" / "link.eml");
    fs::create_directory_symlink(dir_, dir_ / "tree" / "loop");
    msg::InputCounts c;
    const auto seen = read({(dir_ / "tree").string()}, {}, &c);
    EXPECT_EQ(seen, (std::vector<std::string>{"tree/a.eml#0:A: 1\n\na\n", "tree/b.eml#0:B: 1\n\nb\n",
                                              "tree/sub/c.eml#0:C: 1\n\nc\n"}));
    EXPECT_FALSE(c.any());
    // A link given by name is read.
    EXPECT_EQ(read({(dir_ / "tree" / "link.eml").string()}).size(), 1u);
}

// A directory below that cannot be read (here, its path is longer than
// the system takes; an unreadable one as another user) is a problem that
// names it, counted as missing, and the walk goes on past it.
TEST_F(Inputs, ADirectoryThatCannotBeReadIsAProblemAndTheRestIsRead) {
    put("tree/a.eml", "A: 1\n\na\n");
    put("tree/z.eml", "Z: 1\n\nz\n");
    // Made one level at a time, relative to the last: no path names it whole.
    const std::string name(200, 'd');
    std::vector<int> fds{::open((dir_ / "tree").c_str(), O_RDONLY | O_DIRECTORY)};
    ASSERT_GE(fds.back(), 0);
    for (std::size_t len = (dir_ / "tree").string().size(); len <= PATH_MAX; len += name.size() + 1) {
        ASSERT_EQ(::mkdirat(fds.back(), name.c_str(), 0700), 0);
        fds.push_back(::openat(fds.back(), name.c_str(), O_RDONLY | O_DIRECTORY));
        ASSERT_GE(fds.back(), 0);
    }
    msg::InputCounts c;
    const auto seen = read({(dir_ / "tree").string()}, {}, &c);
    EXPECT_EQ(seen, (std::vector<std::string>{"tree/a.eml#0:A: 1\n\na\n", "tree/z.eml#0:Z: 1\n\nz\n"}));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("cannot read directory " + (dir_ / "tree").string()), std::string::npos) << errors[0];
    // The problem is of the directory the walk could not read.
    ASSERT_EQ(error_paths.size(), 1u);
    EXPECT_EQ(error_paths[0].rfind((dir_ / "tree" / name).string(), 0), 0u) << error_paths[0];
    EXPECT_NE(errors[0].find("cannot read directory " + error_paths[0] + ":"), std::string::npos) << errors[0];
    EXPECT_EQ(c.missing, 1u);
    // Removed as made, deepest first (remove_all would need the whole path).
    for (std::size_t i = fds.size() - 1; i > 0; --i) {
        ::close(fds[i]);
        EXPECT_EQ(::unlinkat(fds[i - 1], name.c_str(), AT_REMOVEDIR), 0);
    }
    ::close(fds[0]);
}

TEST_F(Inputs, MaildirMessagesOnly) {
    put("md/cur/2.host:2,S", "S: 2\n\n2\n");
    put("md/new/1.host", "S: 1\n\n1\n");
    put("md/tmp/3.host", "S: 3\n\n3\n");
    put("md/dovecot.index.log", "index");
    put("md/.Sent/cur/4.host:2,S", "S: 4\n\n4\n");
    put("md/.Sent/new/.keep", "");
    put("md/.Sent/tmp/x", "");
    // Courier's keyword and ACL directories in a Maildir: not mail.
    put("md/courierimapkeywords/:list", "1 $Junk\n");
    put("md/courierimaphieracl/Sent", "owner aceilrstwx\n");
    put("md/courierimapuiddb", "1 2 3\n");
    // A Dovecot folder below another directory of the store.
    put("md/dir/Sub/cur/7.host:2,", "S: 7\n\n7\n");
    put("md/dir/Sub/new/.keep", "");
    // Not messages: a link (not followed) and a FIFO in cur/.
    fs::create_symlink(dir_ / "md" / "new" / "1.host", dir_ / "md" / "cur" / "5.link:2,S");
    ASSERT_EQ(::mkfifo((dir_ / "md" / "cur" / "6.fifo:2,S").c_str(), 0600), 0);
    // Each message carries its file's modification time.
    const auto when = fs::file_time_type::clock::now() - std::chrono::hours(24 * 400);
    fs::last_write_time(dir_ / "md" / "cur" / "2.host:2,S", when);
    const std::time_t expected = std::chrono::system_clock::to_time_t(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(
            when - fs::file_time_type::clock::now() + std::chrono::system_clock::now()));
    std::vector<std::string> flags;
    const auto seen = msg::for_each_message({(dir_ / "md").string()}, {}, [&](const msg::InputMessage& m) {
        EXPECT_NE(m.maildir, nullptr);
        if (!m.maildir) return true;
        flags.push_back(m.maildir->flags);
        if (m.maildir->name == "2.host:2,S") EXPECT_NEAR(static_cast<double>(m.maildir->mtime), expected, 2.0);
        else EXPECT_NEAR(static_cast<double>(m.maildir->mtime), std::time(nullptr), 60.0) << m.maildir->name;
        return true;
    });
    EXPECT_FALSE(seen.any());
    // .Sent/cur/4, cur/2, dir/Sub/cur/7, new/1 in path order
    EXPECT_EQ(flags, (std::vector<std::string>{"S", "S", "", ""}));
    // Even when archives are read, a Maildir's files are messages.
    msg::InputOptions o;
    o.mbox = true;
    EXPECT_EQ(read({(dir_ / "md").string()}, o).size(), 4u);
    EXPECT_TRUE(errors.empty());
}

// A Maildir read while a reader renames its messages (flags changed, new/
// to cur/) between the listing and the reading: each is read where it is
// now, with its new flags, and nothing is missing; one removed meanwhile
// is missing, as before.
TEST_F(Inputs, MaildirMessagesRenamedWhileReadAreReadWhereTheyAreNow) {
    put("md/cur/1.host:2,S", "S: 1\n\n1\n");
    put("md/new/2.host", "S: 2\n\n2\n");
    put("md/new/3.host", "S: 3\n\n3\n");
    put("md/new/4.host", "S: 4\n\n4\n");
    msg::InputOptions o;
    o.on_error = [&](msg::InputProblem, const std::string& path, const std::string& m) {
        error_paths.push_back(path);
        errors.push_back(m);
    };
    msg::InputCounts c;
    std::vector<std::string> got;
    msg::InputItem item;
    std::vector<msg::InputItem> items;
    for (msg::InputListing l((dir_ / "md").string(), o); l.next(item);) items.push_back(item);
    ASSERT_EQ(items.size(), 4u);
    fs::rename(dir_ / "md/cur/1.host:2,S", dir_ / "md/cur/1.host:2,FS");
    fs::rename(dir_ / "md/new/2.host", dir_ / "md/cur/2.host:2,");
    fs::rename(dir_ / "md/new/3.host", dir_ / "md/cur/3.host:2,RS");
    fs::remove(dir_ / "md/new/4.host");
    for (const msg::InputItem& i : items)
        msg::read_input(i, o, [&](const msg::InputMessage& m) {
            got.push_back(fs::path(m.file).lexically_relative(dir_).string() + " " + m.maildir->flags + " " +
                          std::string(m.data.substr(0, 4)));
            return true;
        }, c);
    EXPECT_EQ(got, (std::vector<std::string>{"md/cur/1.host:2,FS FS S: 1", "md/cur/2.host:2,  S: 2",
                                             "md/cur/3.host:2,RS RS S: 3"}));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(error_paths[0], (dir_ / "md/new/4.host").string());
    EXPECT_EQ(c.missing, 1u);
}

// An MH folder: its numbered files in number order, with the flags its
// sequences give; its other files are a reader's state; its subfolders
// after its messages; in a walk for archives too, each file is a message.
TEST_F(Inputs, MhFolderMessagesInNumberOrder) {
    put("mh/inbox/.mh_sequences", "unseen: 2 10\nflagged: 1\nreplied: 1-2\n");
    put("mh/inbox/1", "S: 1\n\n1\n");
    put("mh/inbox/2", "S: 2\n\n2\n");
    put("mh/inbox/10", "S: 10\n\n10\n");
    put("mh/inbox/,3", "S: 3\n\n3\n");
    put("mh/inbox/,1", "S: 1 deleted\n\n1\n");
    put("mh/inbox/.xmhcache", "cache");
    put("mh/inbox/notes.txt", "not a message\n");
    put("mh/inbox/lists/.claws_mark", "\x01mark");
    put("mh/inbox/lists/7", "S: 7\n\n7\n");
    // A subfolder is a folder with or without marks of its own (nmh
    // writes .mh_sequences only once it has a sequence).
    put("mh/inbox/lists/work/3", "S: 3\n\n3\n");
    put("mh/inbox/lists/work/notes", "not a message\n");
    for (const bool mbox : {false, true}) {
        msg::InputOptions o;
        o.mbox = mbox;
        std::vector<std::string> got;
        const auto c = msg::for_each_message({(dir_ / "mh").string()}, o, [&](const msg::InputMessage& m) {
            EXPECT_NE(m.maildir, nullptr);
            if (!m.maildir) return true;
            EXPECT_TRUE(m.maildir->mh);
            got.push_back(m.maildir->name + ":" + m.maildir->flags);
            return true;
        });
        EXPECT_FALSE(c.any()) << mbox;
        EXPECT_EQ(got, (std::vector<std::string>{"1:FRS", ",1:FRST", "2:R", ",3:ST", "10:", "7:", "3:"})) << mbox;
    }
}

// msgcheck --spool over a spool: only what its readers take for entries
// (docs/spool-format.md), as spoolctl lists them.
TEST_F(Inputs, ASpoolGivesItsEntriesOnly) {
    const std::string entry = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nS: x\n\nbody\n";
    put("sp/queue/e1", entry);
    put("sp/queue/.swap", "junk\n");
    put("sp/failed/e2", entry);
    put("sp/failed/e2.report", "Final-Recipient: b\n");
    put("sp/failed/e2.json", "{}\n");
    put("sp/failed/e2.dsn", "S: dsn\n");
    put("sp/tmp/e3", "MAIL FROM:<a@exa");
    put("sp/hold/e4", entry);
    put("other/tmp/kept", entry);   // a tmp/ that is no spool's
    msg::InputOptions o;
    o.spool_entries = true;
    std::vector<std::string> got;
    for (const std::string& m : read({(dir_ / "sp").string(), (dir_ / "other").string()}, o))
        got.push_back(m.substr(0, m.find('#')));
    EXPECT_EQ(got, (std::vector<std::string>{"sp/failed/e2", "sp/hold/e4", "sp/queue/e1", "other/tmp/kept"}));
    EXPECT_TRUE(errors.empty());
    got.clear();
    for (const std::string& m : read({(dir_ / "sp").string()})) got.push_back(m.substr(0, m.find('#')));
    EXPECT_EQ(got.size(), 8u);   // without it, every file
}

// What KMail and Dovecot keep beside mbox folders is not an archive.
TEST_F(Inputs, IndexFilesBesideArchivesAreNotArchives) {
    const std::string one = "From x Mon Nov 23 09:15:00 2026\nA: 1\n\none\n";
    put("mail/inbox", one);
    put("mail/.inbox.index", "\x01index");
    put("mail/.inbox.index.ids", "ids");
    put("mail/.inbox.index.sorted", "sorted");
    put("mail/.imap/INBOX/dovecot.index.log", "log");
    put("mail/.imap/INBOX/dovecot.index", "index");
    put("mail/.imap/dovecot.list.index.log", "log");
    put("mail/.subscriptions", "INBOX\n");
    put("mail/subscriptions", one);   // a folder of that name
    put("mail/dovecot-uidlist", "3 V1\n");
    msg::InputOptions o;
    o.mbox = true;
    msg::InputCounts c;
    EXPECT_EQ(read({(dir_ / "mail").string()}, o, &c).size(), 2u);
    EXPECT_FALSE(c.any()) << (errors.empty() ? "" : errors.front());
    // Nor is such a file a message, beside message files (a folder of .eml
    // files copied from a Mac, with its .DS_Store).
    put("eml/a.eml", "A: 1\n\none\n");
    put("eml/.DS_Store", std::string("\0\0\0\1Bud1", 8));
    put("eml/Info.plist", "<plist/>\n");
    msg::InputCounts f;
    EXPECT_EQ(read({(dir_ / "eml").string()}, {}, &f).size(), 1u);
    EXPECT_FALSE(f.any()) << (errors.empty() ? "" : errors.front());
}

TEST_F(Inputs, ArchivesMessageByMessageAndProblemsCounted) {
    put("a.mbox", "From x Mon Nov 23 09:15:00 2026\nA: 1\n\none\n\nFrom y Mon Nov 23 09:16:00 2026\nA: 2\n\ntwo\n");
    put("not.mbox", "A: 1\n\nno From_ line\n");
    put("bad.mbox.gz", std::string("\x1f\x8b\x08\x00\0\0\0\0\0\x03", 10) + "not deflate data at all");
    msg::InputOptions o;
    o.mbox = true;
    std::vector<std::string> leading;
    o.on_leading = [&](const std::string& m) { leading.push_back(m); };
    msg::InputCounts c;
    const std::vector<std::string> inputs = {(dir_ / "a.mbox").string(), (dir_ / "missing.mbox").string(),
                                             (dir_ / "not.mbox").string(), (dir_ / "bad.mbox.gz").string()};
    const auto seen = read(inputs, o, &c);
    EXPECT_EQ(seen, (std::vector<std::string>{"a.mbox#0:A: 1\n\none\n", "a.mbox#1:A: 2\n\ntwo\n"}));
    EXPECT_EQ(c.missing, 1u);
    EXPECT_EQ(c.unusable + c.unreadable, 2u);
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_NE(errors[0].find("missing.mbox"), std::string::npos) << errors[0];
    EXPECT_NE(errors[1].find("not an mbox archive"), std::string::npos) << errors[1];
    EXPECT_NE(errors[2].find("bad.mbox.gz"), std::string::npos) << errors[2];
    // Each problem comes with the path of its input, as given.
    EXPECT_EQ(error_paths, (std::vector<std::string>{inputs[1], inputs[2], inputs[3]}));
    EXPECT_TRUE(leading.empty());   // not.mbox is not an archive: one error says it all
    put("junk.mbox", "junk\nFrom x Mon Nov 23 09:15:00 2026\nA: 1\n\none\n");
    EXPECT_EQ(read({(dir_ / "junk.mbox").string()}, o).size(), 1u);
    ASSERT_EQ(leading.size(), 1u);
    EXPECT_NE(leading[0].find("5 bytes before the first 'From ' line"), std::string::npos) << leading[0];
    // An empty mailbox (no new mail) is an archive of no messages; a file of
    // one line break is not an archive.
    put("empty.mbox", "");
    put("newline.mbox", "\n");
    errors.clear();
    msg::InputCounts e;
    EXPECT_TRUE(read({(dir_ / "empty.mbox").string()}, o, &e).empty());
    EXPECT_FALSE(e.any());
    EXPECT_TRUE(errors.empty());
    EXPECT_TRUE(read({(dir_ / "newline.mbox").string()}, o, &e).empty());
    EXPECT_EQ(e.unusable, 1u);
}

// The loop in two steps: what an input stands for, in order, then each
// item read alone, gives the messages and problems of the loop itself.
TEST_F(Inputs, ListedThenReadAsTheLoopReads) {
    put("d/b/2.eml", "A: 2\n\n2\n");
    put("d/a.eml", "A: 1\n\n1\n");
    put("d/c.mbox", "From x Mon Nov 23 09:15:00 2026\nA: 3\n\n3\n");
    put("one.eml", "A: 4\n\n4\n");
    const std::vector<std::string> inputs = {(dir_ / "d").string(), (dir_ / "missing.eml").string(),
                                             (dir_ / "one.eml").string()};
    for (const bool mbox : {false, true}) {
        msg::InputOptions o;
        o.mbox = mbox;
        errors.clear();
        error_paths.clear();
        msg::InputCounts whole;
        const auto want = read(inputs, o, &whole);
        const auto want_errors = errors, want_paths = error_paths;
        errors.clear();
        error_paths.clear();
        std::vector<std::string> seen;
        msg::InputCounts c;
        o.on_error = [&](msg::InputProblem, const std::string& path, const std::string& m) {
            error_paths.push_back(path);
            errors.push_back(m);
        };
        std::vector<msg::InputItem::Kind> kinds;
        msg::InputItem item;
        for (const std::string& in : inputs)
            for (msg::InputListing l(in, o); l.next(item);) {
                kinds.push_back(item.kind);
                EXPECT_TRUE(msg::read_input(item, o, [&](const msg::InputMessage& m) {
                    seen.push_back(fs::path(m.file).lexically_relative(dir_).string() + "#" + std::to_string(m.index) +
                                   ":" + std::string(m.data));
                    return true;
                }, c));
            }
        EXPECT_EQ(seen, want);
        EXPECT_EQ(errors, want_errors);
        EXPECT_EQ(error_paths, want_paths);
        EXPECT_EQ(c.missing, whole.missing);
        EXPECT_EQ(c.missing, 1u);
        using K = msg::InputItem::Kind;
        const K archive_or_file = mbox ? K::archive : K::file;
        EXPECT_EQ(kinds, (std::vector<K>{archive_or_file, archive_or_file, archive_or_file, archive_or_file,
                                         archive_or_file}));
    }
    // A directory that cannot be read is an item of its own, in its place.
    msg::InputItem p{.kind = msg::InputItem::Kind::problem, .path = "x", .message = "cannot read x"};
    msg::InputCounts c;
    std::vector<std::string> said;
    msg::InputOptions o;
    o.on_error = [&](msg::InputProblem, const std::string& path, const std::string& m) {
        said.push_back(path + "|" + m);
    };
    EXPECT_TRUE(msg::read_input(p, o, [](const msg::InputMessage&) { return true; }, c));
    EXPECT_EQ(c.missing, 1u);
    EXPECT_EQ(said, (std::vector<std::string>{"x|cannot read x"}));
}

// The files below a directory are put in order in runs, the runs past
// the first in a temporary file: whatever the runs' size, the listing is
// the same, each item whole (its kind, a Maildir's or an MH folder's, its
// flags), in path order with names of any bytes (1 and 2 included: the
// listing's runs mark a place's end with them) and an MH folder's files
// in number order in the folder's place.
TEST_F(Inputs, AListingIsTheSameWhateverItsRuns) {
    const std::vector<std::string> plain = {"a", std::string("a\x01", 2), std::string("a\x01" "b", 3),
                                            std::string("a\x01" "d/y", 5), std::string("a\x02", 2), "a b", "a-",
                                            "a.d/x", "b/c/d", "mh0", "\xff"};
    for (const std::string& p : plain) put("big/" + p, "P: 1\n\n" + p + "\n");
    put("big/md/cur/2.h:2,S", "S: 2\n\n2\n");
    put("big/md/new/1.h", "S: 1\n\n1\n");
    put("big/md/tmp/3.h", "S: 3\n\n3\n");
    put("big/mh/.mh_sequences", "flagged: 2\n");
    for (const char* n : {"1", ",1", "2", "10"}) put(std::string("big/mh/") + n, "M: 1\n\nm\n");
    auto list = [&](std::size_t run) {
        msg::InputOptions o;
        o.listed_in_memory = run;
        msg::InputListing l((dir_ / "big").string(), o);
        std::vector<std::string> got;
        msg::InputItem item;
        while (l.next(item))
            got.push_back(std::to_string(static_cast<int>(item.kind)) + (item.maildir ? "m" : "") + (item.mh ? "h" : "") +
                          ":" + item.flags + ":" + fs::path(item.path).lexically_relative(dir_ / "big").string());
        EXPECT_FALSE(l.held_in_memory()) << l.held_in_memory()->message;
        return got;
    };
    const std::vector<std::string> want = {
        "0::a", std::string("0::a\x01", 5), std::string("0::a\x01" "b", 6), std::string("0::a\x01" "d/y", 8),
        std::string("0::a\x02", 5), "0::a b", "0::a-", "0::a.d/x", "0::b/c/d", "0m::md/cur/2.h:2,S",
        "0m::md/new/1.h", "0h:S:mh/1", "0h:ST:mh/,1", "0h:FS:mh/2", "0h:S:mh/10", "0::mh0", "0::\xff"};
    for (const std::size_t run : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{1} << 14})
        EXPECT_EQ(list(run), want) << run;
    // Archives: the plain files are archives, the others still messages.
    msg::InputOptions o;
    o.mbox = true;
    o.listed_in_memory = 2;
    msg::InputItem item;
    std::size_t archives = 0, files = 0;
    for (msg::InputListing l((dir_ / "big").string(), o); l.next(item);)
        ++(item.kind == msg::InputItem::Kind::archive ? archives : files);
    EXPECT_EQ(archives, plain.size());
    EXPECT_EQ(files, 6u);
}

// Where no temporary file can be made, the runs stay in memory: the
// listing is whole, and says why it was held there.
TEST_F(Inputs, AListingWithoutATemporaryFileIsWholeAndSaysSo) {
    for (int i = 0; i < 20; ++i) put("many/" + std::to_string(i), "N: 1\n\nn\n");
    const TmpDirSet tmpdir(dir_ / "none");
    msg::InputOptions o;
    o.listed_in_memory = 3;
    std::vector<std::string> got;
    {
        msg::InputListing l((dir_ / "many").string(), o);
        msg::InputItem item;
        while (l.next(item)) got.push_back(fs::path(item.path).filename().string());
        ASSERT_TRUE(l.held_in_memory());
        EXPECT_NE(l.held_in_memory()->message.find("a temporary file in " + (dir_ / "none").string() +
                                                   " for the listing of " + (dir_ / "many").string()),
                  std::string::npos)
            << l.held_in_memory()->message;
    }
    std::vector<std::string> want;
    for (int i = 0; i < 20; ++i) want.push_back(std::to_string(i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    // One file or archive given by name is listed as itself, with no run.
    msg::InputListing one((dir_ / "many" / "7").string(), o);
    msg::InputItem item;
    ASSERT_TRUE(one.next(item));
    EXPECT_EQ(item.path, (dir_ / "many" / "7").string());
    EXPECT_FALSE(one.next(item));
    EXPECT_FALSE(one.held_in_memory());
}

// On a file system without O_TMPFILE the listing's file is made under a
// name and unlinked at once: nothing is left in $TMPDIR, even while it is
// read, and the listing is whole.
TEST_F(Inputs, AListingWhereFilesWithoutANameCannotBeMade) {
    for (int i = 0; i < 20; ++i) put("many/" + std::to_string(i), "N: 1\n\nn\n");
    fs::create_directories(dir_ / "tmpd");
    const TmpDirSet tmpdir(dir_ / "tmpd");
    msg::spool_io::force_named_temporary(true);
    msg::InputOptions o;
    o.listed_in_memory = 3;
    std::vector<std::string> got;
    {
        msg::InputListing l((dir_ / "many").string(), o);
        EXPECT_TRUE(fs::is_empty(dir_ / "tmpd"));
        msg::InputItem item;
        while (l.next(item)) got.push_back(fs::path(item.path).filename().string());
        EXPECT_FALSE(l.held_in_memory()) << l.held_in_memory()->message;
    }
    msg::spool_io::force_named_temporary(false);
    std::vector<std::string> want;
    for (int i = 0; i < 20; ++i) want.push_back(std::to_string(i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_TRUE(fs::is_empty(dir_ / "tmpd"));
}

// The listing's temporary file damaged under it (another program writing
// into it through /proc): never a crash, and never a file left out
// unsaid; what comes back damaged is a problem of the directory.
TEST_F(Inputs, AListingWhoseTemporaryFileIsDamagedSaysSo) {
    // Runs longer than what the merge reads of each at first (64 KiB).
    const std::string name(200, 'n');
    for (int i = 0; i < 3000; ++i) put("many/" + name + std::to_string(i), "N: 1\n\nn\n");
    fs::create_directories(dir_ / "tmpd");
    const TmpDirSet tmpdir(dir_ / "tmpd");
    // Each filling: strings that are no item's; then bytes with no end.
    for (const auto& [fill, why] : {std::pair<std::string, std::string>{std::string("zz\0", 3), "came back damaged"},
                                    std::pair<std::string, std::string>{"x", "some files below"}}) {
        msg::InputOptions o;
        o.listed_in_memory = 1000;
        msg::InputListing l((dir_ / "many").string(), o);
        int fd = -1;
        for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
            std::error_code ec;
            const std::string to = fs::read_symlink(e.path(), ec).string();
            if (!ec && to.rfind((dir_ / "tmpd").string(), 0) == 0) fd = std::stoi(e.path().filename().string());
        }
        ASSERT_GE(fd, 0);
        struct stat st {};
        ASSERT_EQ(::fstat(fd, &st), 0);
        std::string junk;
        while (junk.size() < static_cast<std::size_t>(st.st_size)) junk += fill;
        ASSERT_EQ(::pwrite(fd, junk.data(), static_cast<std::size_t>(st.st_size), 0), st.st_size);
        std::size_t files = 0, problems = 0;
        std::string said;
        msg::InputItem item;
        while (l.next(item)) {
            if (item.kind == msg::InputItem::Kind::problem) {
                ++problems;
                said = item.message;
                EXPECT_EQ(item.path, (dir_ / "many").string());
                EXPECT_EQ(item.problem, msg::InputProblem::unreadable);
            } else {
                ++files;
            }
        }
        EXPECT_GE(problems, 1u);
        EXPECT_LT(files, 3000u);
        EXPECT_NE(said.find((dir_ / "many").string()), std::string::npos) << said;
        EXPECT_NE(said.find(why), std::string::npos) << said;
    }
}

TEST_F(Inputs, StopEndsTheLoop) {
    put("d/1.eml", "A: 1\n\n1\n");
    put("d/2.eml", "A: 2\n\n2\n");
    put("d/3.eml", "A: 3\n\n3\n");
    EXPECT_EQ(read({(dir_ / "d").string(), (dir_ / "d").string()}, {}, nullptr, 2).size(), 2u);
}
