// spool_dir_test.cpp - the spool directory (second half of spool.hpp):
// names, enqueue and group commit, claims (within one process and across
// processes, and after the holder was killed), defer, fail, keys, clean_tmp.
#include <gtest/gtest.h>
#include <msg/spool.hpp>

#include "detail/spool_io.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using msg::SpoolState;

namespace {

const std::string kMessage = "From: a@example.org\r\nSubject: caf\xc3\xa9\r\n\r\nhello\r\n\x01\xff bytes\r\n";

msg::Envelope envelope() {
    msg::Envelope e;
    e.mail_from = "a@example.org";
    e.mail_params = {"BODY=8BITMIME"};
    e.rcpts = {{"b@example.net", {}},
               {"c@example.net", {"NOTIFY=FAILURE,DELAY"}},
               {"d@example.net", {"ORCPT=rfc822;d@example.net"}}};
    e.annotations = {{"Mbox-From", "a@example.org Mon Nov 23 09:15:00 2026"}};
    return e;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void spit(const fs::path& p, const std::string& data) {
    std::ofstream out(p, std::ios::binary);
    out << data;
}

std::vector<std::string> files_in(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

using msg::spool_io::EntryFile;

// The ways of making an entry's file this system allows (linkat's
// AT_EMPTY_PATH may need a privilege, Linux before 6.10; the other way
// needs /proc).
std::vector<EntryFile> entry_files(const fs::path& dir) {
    std::vector<EntryFile> ways = {EntryFile::named};
    const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return ways;
    const fs::path probe = dir / ".probe";
    if (::linkat(fd, "", AT_FDCWD, probe.c_str(), AT_EMPTY_PATH) == 0) {
        ways.push_back(EntryFile::linked);
        ::unlink(probe.c_str());
    }
    const std::string by_proc = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, by_proc.c_str(), AT_FDCWD, probe.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        ways.push_back(EntryFile::linked_by_proc);
        ::unlink(probe.c_str());
    }
    ::close(fd);
    return ways;
}

class SpoolDir : public ::testing::Test {
public:   // for the helpers below the fixture too
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "spool_dir_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        base_ = tmpl;
        root_ = base_ / "spool";
        auto s = msg::Spool::open(root_.string(), true);
        ASSERT_TRUE(s) << s.error().message;
        spool_.emplace(std::move(*s));
    }
    void TearDown() override {
        msg::spool_io::force_entry_file(EntryFile::unknown);
        std::error_code ec;
        fs::remove_all(base_, ec);
    }
    msg::Spool& spool() { return *spool_; }
    // The spool opened again, its entries' files made `how` (unknown: as
    // the system allows).
    void make_entries(EntryFile how) {
        msg::spool_io::force_entry_file(how);
        auto s = msg::Spool::open(root_.string(), false);
        ASSERT_TRUE(s) << s.error().message;
        spool_.emplace(std::move(*s));
    }
    std::vector<std::string> list(SpoolState s) {
        auto r = spool_->list(s);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : std::vector<std::string>{};
    }
    std::string enqueue(std::string name = {}) {
        auto r = spool_->enqueue(envelope(), kMessage, std::move(name));
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : std::string();
    }

    fs::path base_, root_;
    std::optional<msg::Spool> spool_;
};

}  // namespace

TEST(SpoolNames, FormatKeyAndOrder) {
    const std::regex re(R"(^\d{8}T\d{6}\.\d{6}Z\.\d+\.\d{6}\.[A-Za-z0-9-]+$)");
    std::string prev;
    for (int i = 0; i < 50; ++i) {
        const std::string n = msg::new_entry_name();
        EXPECT_TRUE(std::regex_match(n, re)) << n;
        EXPECT_EQ(msg::entry_key(n), "");
        EXPECT_LT(prev, n);
        prev = n;
    }
    const std::string k = msg::new_entry_name("arch.mbox/3 x-y_z");
    EXPECT_EQ(msg::entry_key(k), "arch_mbox_3_x-y_z");
    EXPECT_TRUE(k.ends_with(".arch_mbox_3_x-y_z")) << k;
    // A key may not make an entry look like a report file.
    EXPECT_EQ(msg::entry_key(msg::new_entry_name("report")), "report_");
    EXPECT_EQ(msg::entry_key(msg::new_entry_name("json")), "json_");
    EXPECT_EQ(msg::entry_key("x"), "");
    // A long key is cut: NAME.report must stay a file name (NAME_MAX).
    const std::string l = msg::new_entry_name(std::string(300, 'k'));
    EXPECT_EQ(l.size(), msg::kMaxEntryName - 1);
    EXPECT_TRUE(msg::entry_key(l).starts_with("kkkk"));
    for (std::size_t len = 1; len <= 300; ++len) {
        const std::string n = msg::new_entry_name("report" + std::string(len, 'j'));
        EXPECT_LE(n.size(), msg::kMaxEntryName);
        EXPECT_FALSE(n.ends_with(".report")) << n;
    }
    EXPECT_EQ(msg::state_dir(SpoolState::deferred), "deferred");
}

TEST(SpoolEnvelope, FormatParseRoundTrip) {
    msg::Envelope e = envelope();
    e.annotations.emplace_back("Attempt", "2026-11-23T08:15:00Z 451 4.3.0 later");
    const std::string text = msg::format_envelope(e);
    EXPECT_EQ(text,
              "MAIL FROM:<a@example.org> BODY=8BITMIME\n"
              "RCPT TO:<b@example.net>\n"
              "RCPT TO:<c@example.net> NOTIFY=FAILURE,DELAY\n"
              "RCPT TO:<d@example.net> ORCPT=rfc822;d@example.net\n"
              "Mbox-From: a@example.org Mon Nov 23 09:15:00 2026\n"
              "Attempt: 2026-11-23T08:15:00Z 451 4.3.0 later\n"
              "\n");
    const std::string entry = text + kMessage;
    const msg::SpoolEntry parsed = msg::parse_spool_entry(entry);
    EXPECT_TRUE(parsed.defects.empty());
    EXPECT_EQ(parsed.message, kMessage);
    const msg::Envelope back = msg::envelope_of(parsed);
    EXPECT_EQ(back.mail_from, e.mail_from);
    EXPECT_EQ(back.mail_params, e.mail_params);
    ASSERT_EQ(back.rcpts.size(), e.rcpts.size());
    for (std::size_t i = 0; i < e.rcpts.size(); ++i) {
        EXPECT_EQ(back.rcpts[i].address, e.rcpts[i].address);
        EXPECT_EQ(back.rcpts[i].params, e.rcpts[i].params);
    }
    EXPECT_EQ(back.annotations, e.annotations);
    EXPECT_EQ(back.annotation("mbox-from"), "a@example.org Mon Nov 23 09:15:00 2026");
    EXPECT_EQ(msg::format_envelope(back), text);

    // The null reverse-path; a line break in a value cannot end the line.
    msg::Envelope bounce;
    bounce.rcpts = {{"postmaster@example.net", {}}};
    bounce.annotations = {{"Note", "two\nlines"}};
    const std::string b = msg::format_envelope(bounce);
    EXPECT_EQ(b, "MAIL FROM:<>\nRCPT TO:<postmaster@example.net>\nNote: two lines\n\n");
    const std::string bounce_entry = b + "x\n";
    const msg::SpoolEntry pb = msg::parse_spool_entry(bounce_entry);
    EXPECT_TRUE(pb.defects.empty());
    const msg::Envelope bb = msg::envelope_of(pb);
    EXPECT_EQ(bb.mail_from, "");
    EXPECT_EQ(msg::format_envelope(bb), b);
}

TEST_F(SpoolDir, EnqueueListsInOrder) {
    std::vector<std::string> names;
    for (int i = 0; i < 5; ++i) names.push_back(enqueue());
    EXPECT_EQ(list(SpoolState::queue), names);
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    EXPECT_TRUE(list(SpoolState::deferred).empty());
    EXPECT_EQ(files_in(root_), (std::vector<std::string>{"deferred", "failed", "hold", "queue", "sent", "tmp"}));
    auto data = spool().read(SpoolState::queue, names[2]);
    ASSERT_TRUE(data) << data.error().message;
    EXPECT_EQ(*data, msg::format_envelope(envelope()) + kMessage);
    EXPECT_EQ(spool().find(names[2]), SpoolState::queue);
    EXPECT_EQ(spool().find("20990101T000000.000000Z.1.000000.nohost"), std::nullopt);
    // Opening an existing spool without `create` works.
    auto again = msg::Spool::open(root_.string() + "/", false);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->list(SpoolState::queue)->size(), 5u);
}

// Walking a spool in bounded batches gives every name once, in order,
// whatever the batch size, and never more than the batch at a time.
TEST_F(SpoolDir, ListInBatchesWalksInOrder) {
    std::vector<std::string> names;
    for (int i = 0; i < 23; ++i) names.push_back(enqueue());
    for (std::size_t batch : {1u, 2u, 5u, 22u, 23u, 100u}) {
        std::vector<std::string> walked;
        std::string after;
        for (;;) {
            auto r = spool().list(SpoolState::queue, after, batch);
            ASSERT_TRUE(r) << r.error().message;
            if (r->empty()) break;
            EXPECT_LE(r->size(), batch);
            EXPECT_TRUE(std::is_sorted(r->begin(), r->end()));
            walked.insert(walked.end(), r->begin(), r->end());
            after = r->back();
        }
        EXPECT_EQ(walked, names) << "batch " << batch;
    }
    EXPECT_TRUE(spool().list(SpoolState::queue, names.back(), 10)->empty());
    EXPECT_TRUE(spool().list(SpoolState::queue, {}, 0)->empty());
    auto tail = spool().list(SpoolState::queue, names[20], 10);
    ASSERT_TRUE(tail);
    EXPECT_EQ(*tail, (std::vector<std::string>{names[21], names[22]}));
}

TEST_F(SpoolDir, ListSkipsDotFilesReportsAndDirectories) {
    const std::string n = enqueue();
    spit(root_ / "queue" / ".hidden", "x");
    spit(root_ / "queue" / (n + ".report"), "x");
    spit(root_ / "queue" / (n + ".json"), "{}");
    fs::create_directory(root_ / "queue" / "subdir");
    EXPECT_EQ(list(SpoolState::queue), std::vector<std::string>{n});
}

// What is not a regular file is no entry to claim either (a link, a FIFO,
// a directory under an entry's name): not claimed, no error, as find()
// and list() see none there; nothing waits on the FIFO.
TEST_F(SpoolDir, OnlyARegularFileIsClaimed) {
    const std::string base = enqueue();
    const std::string link = base + "l", fifo = base + "f", dir = base + "d";
    fs::create_symlink(root_ / "queue" / base, root_ / "queue" / link);
    ASSERT_EQ(::mkfifo((root_ / "queue" / fifo).c_str(), 0600), 0);
    fs::create_directory(root_ / "queue" / dir);
    for (const std::string& n : {link, fifo, dir}) {
        auto c = spool().claim(n);
        ASSERT_TRUE(c) << n << ": " << c.error().message;
        EXPECT_FALSE(c->has_value()) << n;
        EXPECT_FALSE(spool().find(n)) << n;
        auto steered = msg::steer(spool(), n, msg::Steer::hold);
        ASSERT_TRUE(steered) << n << ": " << steered.error().message;
        EXPECT_FALSE(*steered) << n;
    }
    EXPECT_TRUE(fs::is_fifo(root_ / "queue" / fifo));
    EXPECT_TRUE(fs::is_symlink(root_ / "queue" / link));
    auto c = spool().claim(base);
    ASSERT_TRUE(c && c->has_value());
}

// Each way of making the files (tmp/NAME renamed, or unnamed and linked)
// gives the same entries, invisible to senders until the commit.
TEST_F(SpoolDir, BatchCommitsInOrder) {
    std::vector<EntryFile> ways = entry_files(root_ / "tmp");
    const bool unnamed = ways.size() > 1;
    ways.insert(ways.begin(), EntryFile::unknown);   // first as the system allows: unnamed where it can
    for (EntryFile how : ways) {
        make_entries(how);
        std::vector<std::string> names;
        {
            msg::Spool::Batch b(spool());
            for (int i = 0; i < 4; ++i) {
                auto r = b.add_keyed(envelope(), kMessage + std::to_string(i), "k");
                ASSERT_TRUE(r) << r.error().message;
                names.push_back(*r);
            }
            EXPECT_EQ(b.size(), 4u);
            if (how == EntryFile::named || (how == EntryFile::unknown && !unnamed))
                EXPECT_EQ(files_in(root_ / "tmp"), names);
            else
                EXPECT_TRUE(files_in(root_ / "tmp").empty()) << "unnamed files";
            EXPECT_TRUE(list(SpoolState::queue).empty());
            auto c = b.commit();
            ASSERT_TRUE(c) << c.error().message;
            EXPECT_EQ(b.size(), 0u);
        }
        EXPECT_EQ(list(SpoolState::queue), names);
        EXPECT_TRUE(files_in(root_ / "tmp").empty());
        for (int i = 0; i < 4; ++i) {
            const std::string& n = names[static_cast<std::size_t>(i)];
            EXPECT_EQ(spool().read(SpoolState::queue, n).value(),
                      msg::format_envelope(envelope()) + kMessage + std::to_string(i));
            struct stat st {};
            ASSERT_EQ(::stat((root_ / "queue" / n).c_str(), &st), 0);
            EXPECT_EQ(st.st_nlink, 1u);
            fs::remove(root_ / "queue" / n);
        }
    }
}

// A commit that fails part-way (a name taken meanwhile in queue/): the
// entries before it are in queue/, the file of that name is untouched, and
// nothing of the others is left anywhere, in each way of making the files.
TEST_F(SpoolDir, BatchFailingPartWayLeavesTheOthersOut) {
    for (EntryFile how : entry_files(root_ / "tmp")) {
        make_entries(how);
        std::vector<std::string> names;
        {
            msg::Spool::Batch b(spool());
            for (int i = 0; i < 3; ++i) names.push_back(b.add_keyed(envelope(), kMessage, "k").value());
            spit(root_ / "queue" / names[1], "another writer's entry");
            const msg::Status st = b.commit();
            ASSERT_FALSE(st);
            EXPECT_EQ(st.error().errnum, EEXIST);
            EXPECT_NE(st.error().message.find("queue/" + names[1]), std::string::npos) << st.error().message;
            EXPECT_EQ(b.size(), 2u);
        }
        EXPECT_EQ(list(SpoolState::queue), (std::vector<std::string>{names[0], names[1]}));
        EXPECT_EQ(slurp(root_ / "queue" / names[1]), "another writer's entry");
        EXPECT_TRUE(files_in(root_ / "tmp").empty());
        fs::remove(root_ / "queue" / names[0]);
        fs::remove(root_ / "queue" / names[1]);
    }
}

// A group writer commits every N entries and at flush(), and tells each
// entry's callback once the entry is durable, in order.
TEST_F(SpoolDir, GroupWriterCommitsInGroupsAndTellsWhenDurable) {
    msg::Spool::GroupWriter w(spool(), 3);
    std::vector<std::string> told;
    for (int i = 0; i < 7; ++i) {
        auto st = w.add(envelope(), kMessage + std::to_string(i), "key" + std::to_string(i),
                        [&](const std::string& n) { told.push_back(n); });
        ASSERT_TRUE(st) << st.error().message;
        EXPECT_EQ(told.size(), static_cast<std::size_t>((i + 1) / 3 * 3)) << i;   // whole groups only
        EXPECT_EQ(list(SpoolState::queue), told);
    }
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(told.size(), 7u);
    EXPECT_EQ(list(SpoolState::queue), told);
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    EXPECT_EQ(w.lost(), 0u);
    for (int i = 0; i < 7; ++i) {
        EXPECT_EQ(msg::entry_key(told[static_cast<std::size_t>(i)]), "key" + std::to_string(i));
        EXPECT_EQ(spool().read(SpoolState::queue, told[static_cast<std::size_t>(i)]).value(),
                  msg::format_envelope(envelope()) + kMessage + std::to_string(i));
    }
}

// A group whose commit fails part-way: the entries renamed before the
// failure are told as enqueued, the others removed and counted as lost,
// none left in tmp/ for a later group.
TEST_F(SpoolDir, GroupWriterFailingPartWayTellsWhatWasEnqueued) {
    make_entries(EntryFile::named);   // the entries' names seen in tmp/
    msg::Spool::GroupWriter w(spool(), 100);
    std::vector<std::string> told;
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(w.add(envelope(), kMessage, "k" + std::to_string(i), [&](const std::string& n) { told.push_back(n); }));
    std::vector<std::string> in_tmp = files_in(root_ / "tmp");
    ASSERT_EQ(in_tmp.size(), 3u);
    std::sort(in_tmp.begin(), in_tmp.end());   // the order they were added in (the names sort by time and sequence)
    spit(root_ / "queue" / in_tmp[1], "another writer's entry");   // the second cannot be renamed
    const msg::Status st = w.flush();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().errnum, EEXIST);
    EXPECT_EQ(told, std::vector<std::string>{in_tmp[0]});
    EXPECT_EQ(w.lost(), 2u);
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    EXPECT_EQ(slurp(root_ / "queue" / in_tmp[1]), "another writer's entry");
    // The next group is its own.
    ASSERT_TRUE(w.add(envelope(), kMessage, "k3", [&](const std::string& n) { told.push_back(n); }));
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(told.size(), 2u);
    EXPECT_EQ(list(SpoolState::queue).size(), 3u);
}

// A group whose commit fails inside add(): that add() reports the error,
// and lost() counts only the entries whose add() returned Ok, so that Ok
// adds less lost() is what reached queue/.
TEST_F(SpoolDir, GroupWriterFailingInAddCountsTheOthersAsLost) {
    make_entries(EntryFile::named);   // the entries' names seen in tmp/
    msg::Spool::GroupWriter w(spool(), 3);
    std::vector<std::string> told;
    const auto add = [&](int i) {
        return w.add(envelope(), kMessage, "k" + std::to_string(i), [&](const std::string& n) { told.push_back(n); });
    };
    ASSERT_TRUE(add(0));
    ASSERT_TRUE(add(1));
    std::vector<std::string> in_tmp = files_in(root_ / "tmp");
    ASSERT_EQ(in_tmp.size(), 2u);
    std::sort(in_tmp.begin(), in_tmp.end());
    spit(root_ / "queue" / in_tmp[1], "another writer's entry");   // the second cannot be renamed
    const msg::Status st = add(2);   // the third fills the group: committed here
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().errnum, EEXIST);
    EXPECT_EQ(told, std::vector<std::string>{in_tmp[0]});
    EXPECT_EQ(w.lost(), 1u) << "the second; the third's add() said no";
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(2u - w.lost(), told.size());
}

// In the background, entries handed over (copied, or kept where they are)
// are written in the order added, each told once durable, in that order,
// in the caller's thread; a message larger than what may wait goes alone
// (kept, or lent until written: not copied).
TEST_F(SpoolDir, GroupWriterInTheBackgroundWritesEveryEntryInOrder) {
    msg::Spool::GroupWriter::Options o;
    o.max_entries = 7;
    o.background = true;
    std::vector<std::string> told, messages;
    const std::thread::id caller = std::this_thread::get_id();
    {
        msg::Spool::GroupWriter w(spool(), o);
        for (int i = 0; i < 300; ++i) {
            std::string m = kMessage + std::to_string(i);
            if (i == 150 || i == 151) m.append(msg::Spool::GroupWriter::kQueued + 1, 'x');   // larger than may wait
            messages.push_back(m);
            // Every third kept: the writer reads it where it is, held by `keep`.
            auto kept = i % 3 == 0 ? std::make_shared<std::string>(m) : nullptr;
            const std::string_view bytes = kept ? std::string_view(*kept) : std::string_view(m);
            auto st = w.add(envelope(), bytes, "k" + std::to_string(i),
                            [&, caller](const std::string& n) {
                                EXPECT_EQ(std::this_thread::get_id(), caller);
                                told.push_back(n);
                            },
                            kept);
            ASSERT_TRUE(st) << st.error().message;
            if (!kept) std::fill(m.begin(), m.end(), '?');   // a copy was taken: the caller's bytes may change
        }
        ASSERT_TRUE(w.flush());
        EXPECT_EQ(w.lost(), 0u);
    }
    ASSERT_EQ(told.size(), 300u);
    EXPECT_EQ(list(SpoolState::queue), told);
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    for (std::size_t i = 0; i < told.size(); ++i) {
        EXPECT_EQ(msg::entry_key(told[i]), "k" + std::to_string(i));
        EXPECT_EQ(spool().read(SpoolState::queue, told[i]).value(), msg::format_envelope(envelope()) + messages[i])
            << i;
    }
}

// In the background, megabytes of copies (made in blocks that are used
// again once written) each reach their entry whole, whatever the caller
// does with its bytes after add(); a copy too large for a block is made
// apart.
TEST_F(SpoolDir, GroupWriterInTheBackgroundCopiesMegabytesWhole) {
    msg::Spool::GroupWriter::Options o;
    o.background = true;
    std::vector<std::string> told;
    std::vector<std::size_t> sizes;
    std::string buf;   // one buffer for every message, written over after each add()
    const auto message = [](std::size_t i, std::size_t size) {
        std::string m = "Subject: " + std::to_string(i) + "\n\n";
        for (std::size_t k = 0; m.size() < size; ++k) m += static_cast<char>('a' + (i * 7 + k) % 26);
        m.resize(size);
        return m;
    };
    {
        msg::Spool::GroupWriter w(spool(), o);
        for (std::size_t i = 0; i < 1500; ++i) {
            const std::size_t size = i % 300 == 299 ? 700 * 1024 : 100 + (i * 2654435761u) % 8000;
            sizes.push_back(size);
            buf = message(i, size);
            ASSERT_TRUE(w.add(envelope(), buf, "k", [&](const std::string& n) { told.push_back(n); }));
            std::fill(buf.begin(), buf.end(), '?');
        }
        ASSERT_TRUE(w.flush());
        EXPECT_EQ(w.lost(), 0u);
    }
    ASSERT_EQ(told.size(), sizes.size());
    for (std::size_t i = 0; i < told.size(); ++i)
        ASSERT_EQ(spool().read(SpoolState::queue, told[i]).value(), msg::format_envelope(envelope()) + message(i, sizes[i]))
            << i;
}

// In the background, an idle writer is woken for a few entries at once,
// and always when the caller waits for it: a message larger than may wait
// after a few small ones does not wait for ever.
TEST_F(SpoolDir, GroupWriterInTheBackgroundWakesTheWriterItWaitsFor) {
    msg::Spool::GroupWriter::Options o;
    o.max_entries = 2;
    o.background = true;
    std::vector<std::string> told;
    msg::Spool::GroupWriter w(spool(), o);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));   // the writer idle
    const auto tell = [&](const std::string& n) { told.push_back(n); };
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.add(envelope(), kMessage, "small", tell));
    const std::string large(msg::Spool::GroupWriter::kQueued + 1, 'x');
    ASSERT_TRUE(w.add(envelope(), large, "large", tell));   // lent: returns once written
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(told.size(), 4u);
    EXPECT_EQ(list(SpoolState::queue), told);
}

// In the background, an error is an earlier entry's: the next add() (and
// each after it) or flush() returns it, the entries written before it are
// committed and told, and those handed over after it are counted as lost.
TEST_F(SpoolDir, GroupWriterInTheBackgroundFailingTellsWhatWasEnqueued) {
    msg::Spool::GroupWriter::Options o;
    o.max_entries = 1000;
    o.background = true;
    for (EntryFile how : entry_files(root_ / "tmp")) {
        fs::create_directory(root_ / "tmp");
        make_entries(how);
        for (const std::string& n : list(SpoolState::queue)) fs::remove(root_ / "queue" / n);
        msg::Spool::GroupWriter w(spool(), o);
        std::vector<std::string> told;
        const auto add = [&](int i) {
            return w.add(envelope(), kMessage, "k" + std::to_string(i), [&](const std::string& n) { told.push_back(n); });
        };
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(add(i));
        ASSERT_TRUE(w.flush());
        ASSERT_EQ(told.size(), 5u);
        // tmp/ gone (the writer holds it open): no entry can be created any more.
        fs::remove(root_ / "tmp");
        std::uint64_t handed = 0;
        msg::Status st = msg::Ok{};
        for (int i = 5; i < 200 && st; ++i)
            if ((st = add(i))) ++handed;
        msg::Status last = w.flush();
        if (st) {   // every add() was taken before the writer met the error
            ASSERT_FALSE(last);
            st = last;
        } else {
            EXPECT_TRUE(last) << "the error is returned once";
            EXPECT_FALSE(add(999)) << "no entry is taken after an error";
        }
        // (an unnamed file in a removed directory: EPERM on Linux 6)
        if (how == EntryFile::named) EXPECT_EQ(st.error().errnum, ENOENT) << st.error().message;
        else EXPECT_TRUE(st.error().errnum == ENOENT || st.error().errnum == EPERM) << st.error().message;
        EXPECT_NE(st.error().message.find("tmp"), std::string::npos) << st.error().message;
        EXPECT_EQ(told.size(), 5u);
        EXPECT_EQ(list(SpoolState::queue), told);
        EXPECT_EQ(w.lost(), handed);
    }
}

// A writer that goes without flush(): what was committed is told, what was
// not is removed from tmp/, in the background as in the caller's thread.
TEST_F(SpoolDir, GroupWriterWithoutFlushLeavesNothingHalfDone) {
    for (const bool background : {false, true}) {
        std::vector<std::string> told;
        {
            msg::Spool::GroupWriter::Options o;
            o.max_entries = 4;
            o.background = background;
            msg::Spool::GroupWriter w(spool(), o);
            for (int i = 0; i < 10; ++i)
                ASSERT_TRUE(w.add(envelope(), kMessage, "k", [&](const std::string& n) { told.push_back(n); }));
        }
        EXPECT_TRUE(files_in(root_ / "tmp").empty()) << background;
        EXPECT_EQ(list(SpoolState::queue), told) << background;
        EXPECT_EQ(told.size() % 4, 0u) << background;   // whole groups
        for (const std::string& n : told) fs::remove(root_ / "queue" / n);
    }
}

// A batch of names the caller chose (tmp/NAME in every way) and names
// made for it (unnamed files where the system allows) commits in order.
TEST_F(SpoolDir, BatchOfChosenAndMadeNamesCommitsInOrder) {
    for (EntryFile how : entry_files(root_ / "tmp")) {
        make_entries(how);
        std::vector<std::string> names;
        {
            msg::Spool::Batch b(spool());
            for (int i = 0; i < 6; ++i)
                names.push_back(i % 2 ? b.add(envelope(), kMessage + std::to_string(i), msg::new_entry_name("c")).value()
                                      : b.add_keyed(envelope(), kMessage + std::to_string(i), "k").value());
            ASSERT_TRUE(b.commit());
        }
        EXPECT_EQ(list(SpoolState::queue), names);
        EXPECT_TRUE(files_in(root_ / "tmp").empty());
        for (std::size_t i = 0; i < names.size(); ++i) {
            EXPECT_EQ(spool().read(SpoolState::queue, names[i]).value(),
                      msg::format_envelope(envelope()) + kMessage + std::to_string(i));
            fs::remove(root_ / "queue" / names[i]);
        }
    }
}

// A group writer whose commit cannot move anything (queue/ gone): the
// error is returned, every entry counted as lost, nothing left behind, in
// each way of making the files, in the background as in the caller's thread.
TEST_F(SpoolDir, GroupWriterWhoseCommitFailsLosesNothingSilently) {
    for (EntryFile how : entry_files(root_ / "tmp"))
        for (const bool background : {false, true}) {
            fs::create_directory(root_ / "queue");
            make_entries(how);
            msg::Spool::GroupWriter::Options o;
            o.max_entries = 100;
            o.background = background;
            msg::Spool::GroupWriter w(spool(), o);
            std::vector<std::string> told;
            for (int i = 0; i < 3; ++i)
                ASSERT_TRUE(w.add(envelope(), kMessage, "k", [&](const std::string& n) { told.push_back(n); }));
            fs::remove(root_ / "queue");   // (empty: the writer holds it open)
            const msg::Status st = w.flush();
            ASSERT_FALSE(st) << background;
            EXPECT_EQ(st.error().errnum, ENOENT) << st.error().message;
            EXPECT_NE(st.error().message.find("queue/"), std::string::npos) << st.error().message;
            EXPECT_TRUE(told.empty());
            EXPECT_EQ(w.lost(), 3u);
            EXPECT_TRUE(files_in(root_ / "tmp").empty());
        }
}

// Groups fit the limit on open files (each entry's file is open until its
// group is committed): groups of 1,000 asked for under a limit of 200
// files still write every entry, in the background as in the caller's thread.
TEST_F(SpoolDir, GroupWriterFitsTheLimitOnOpenFiles) {
    struct rlimit old {};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
    ASSERT_TRUE(old.rlim_cur == RLIM_INFINITY || old.rlim_cur >= 200);
    struct Restore {
        rlimit r;
        ~Restore() { ::setrlimit(RLIMIT_NOFILE, &r); }
    } restore{old};
    rlimit low = old;
    low.rlim_cur = 200;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    for (const bool background : {false, true}) {
        msg::Spool::GroupWriter::Options o;
        o.max_entries = 1000;
        o.background = background;
        std::vector<std::string> told;
        msg::Spool::GroupWriter w(spool(), o);
        for (int i = 0; i < 700; ++i) {
            const msg::Status st = w.add(envelope(), kMessage, "k", [&](const std::string& n) { told.push_back(n); });
            ASSERT_TRUE(st) << i << ": " << st.error().message;
        }
        const msg::Status st = w.flush();
        ASSERT_TRUE(st) << st.error().message;
        EXPECT_EQ(told.size(), 700u);
        EXPECT_EQ(w.lost(), 0u);
        for (const std::string& n : told) fs::remove(root_ / "queue" / n);
    }
}

TEST_F(SpoolDir, BatchNotCommittedLeavesNothing) {
    for (EntryFile how : entry_files(root_ / "tmp")) {
        make_entries(how);
        {
            msg::Spool::Batch b(spool());
            ASSERT_TRUE(b.add(envelope(), kMessage, msg::new_entry_name("c")));   // chosen: tmp/NAME in every way
            ASSERT_TRUE(b.add_keyed(envelope(), kMessage, "k"));
            EXPECT_EQ(files_in(root_ / "tmp").size(), how == EntryFile::named ? 2u : 1u);
        }
        EXPECT_TRUE(files_in(root_ / "tmp").empty());
        EXPECT_TRUE(list(SpoolState::queue).empty());
    }
}

TEST_F(SpoolDir, NameCollisionIsAnErrorNotAnOverwrite) {
    const std::string name = msg::new_entry_name("k");
    spit(root_ / "tmp" / name, "precious");  // another writer's file
    auto r = spool().enqueue(envelope(), kMessage, name);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().errnum, EEXIST);
    EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
    EXPECT_EQ(slurp(root_ / "tmp" / name), "precious");
    fs::remove(root_ / "tmp" / name);

    ASSERT_EQ(enqueue(name), name);
    auto twice = spool().enqueue(envelope(), "other", name);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().errnum, EEXIST);
    EXPECT_EQ(spool().read(SpoolState::queue, name).value(), msg::format_envelope(envelope()) + kMessage);
    EXPECT_TRUE(files_in(root_ / "tmp").empty());

    for (const char* bad : {"../x", ".hidden", "a/b", "x.report", "x.json", ""}) {
        if (*bad == '\0') continue;  // empty means "make a name"
        auto b = spool().enqueue(envelope(), kMessage, bad);
        ASSERT_FALSE(b) << bad;
        EXPECT_EQ(b.error().errnum, EINVAL) << bad;
    }
}

TEST_F(SpoolDir, ClaimIsExclusiveWithinOneProcess) {
    const std::string n = enqueue();
    {
        auto c1 = spool().claim(n);
        ASSERT_TRUE(c1) << c1.error().message;
        ASSERT_TRUE(c1->has_value());
        EXPECT_EQ((*c1)->name(), n);
        EXPECT_EQ((*c1)->state(), SpoolState::queue);
        EXPECT_EQ((*c1)->data(), spool().read(SpoolState::queue, n).value());

        auto c2 = spool().claim(n);  // another Spool object would be the same: OFD locks
        ASSERT_TRUE(c2) << c2.error().message;
        EXPECT_FALSE(c2->has_value());
        auto other = msg::Spool::open(root_.string(), false);
        auto c3 = other->claim(n);
        ASSERT_TRUE(c3);
        EXPECT_FALSE(c3->has_value());

        msg::Claim moved = std::move(**c1);  // the lock goes with the claim
        EXPECT_FALSE(spool().claim(n)->has_value());
    }
    auto c4 = spool().claim(n);  // released with the Claim; the entry stayed
    ASSERT_TRUE(c4);
    ASSERT_TRUE(c4->has_value());
    ASSERT_TRUE((*c4)->complete());
    EXPECT_EQ(list(SpoolState::sent), std::vector<std::string>{n});
    EXPECT_TRUE(list(SpoolState::queue).empty());
    auto again = (*c4)->complete();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().errnum, EBADF);
    // Sent entries and unknown names cannot be claimed.
    EXPECT_FALSE(spool().claim(n)->has_value());
    EXPECT_FALSE(spool().claim("20990101T000000.000000Z.1.000000.nohost")->has_value());
    EXPECT_FALSE(spool().claim("../queue/x"));
}

// Run `children` processes that start at once on the spool at `root`; each
// runs body(spool, write_line) and exits with what it returns. Returns the
// lines every child wrote; fails the test when a child does not exit 0.
namespace {
template <class Body>
std::vector<std::string> race(const fs::path& root, int children, Body body) {
    std::vector<std::string> lines;
    int go[2];
    if (::pipe(go) != 0) {
        ADD_FAILURE() << "pipe";
        return lines;
    }
    std::vector<pid_t> pids;
    std::vector<int> outs;
    for (int i = 0; i < children; ++i) {
        int out[2];
        if (::pipe(out) != 0) break;
        const pid_t pid = ::fork();
        if (pid < 0) break;
        if (pid == 0) {
            ::close(go[1]);
            ::close(out[0]);
            char c;
            while (::read(go[0], &c, 1) > 0) {}  // wait for the start (EOF)
            auto sp = msg::Spool::open(root.string(), false);
            if (!sp) ::_exit(2);
            auto write_line = [&](const std::string& l) {
                const std::string line = l + "\n";
                if (::write(out[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(6);
            };
            ::_exit(body(*sp, write_line));
        }
        ::close(out[1]);
        pids.push_back(pid);
        outs.push_back(out[0]);
    }
    ::close(go[0]);
    ::close(go[1]);  // start them all at once
    for (int fd : outs) {
        std::string got;
        char buf[4096];
        ssize_t k;
        while ((k = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(k));
        ::close(fd);
        std::istringstream in(got);
        for (std::string l; std::getline(in, l);) lines.push_back(l);
    }
    EXPECT_EQ(pids.size(), static_cast<std::size_t>(children));
    for (pid_t pid : pids) {
        int status = 0;
        EXPECT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
    return lines;
}
}  // namespace

TEST_F(SpoolDir, ProcessesRacingCompleteEachEntryOnce) {
    constexpr int kEntries = 60, kChildren = 4;
    {
        msg::Spool::Batch b(spool());
        for (int i = 0; i < kEntries; ++i) ASSERT_TRUE(b.add(envelope(), kMessage));
        ASSERT_TRUE(b.commit());
    }
    const std::vector<std::string> completed = race(root_, kChildren, [](msg::Spool& sp, auto write_line) {
        auto names = sp.list(SpoolState::queue);
        if (!names) return 3;
        for (const std::string& n : *names) {
            auto claim = sp.claim(n);
            if (!claim) return 4;
            if (!claim->has_value()) continue;
            if (!(*claim)->complete()) return 5;
            write_line(n);
        }
        return 0;
    });
    EXPECT_EQ(completed.size(), static_cast<std::size_t>(kEntries));
    EXPECT_EQ(std::set<std::string>(completed.begin(), completed.end()).size(), completed.size());
    EXPECT_EQ(files_in(root_ / "sent").size(), static_cast<std::size_t>(kEntries));
    EXPECT_TRUE(files_in(root_ / "queue").empty());
}

// Deferring replaces the entry's file while it is claimed: the new file
// must never be claimable before the holder lets go.
TEST_F(SpoolDir, ProcessesRacingDeferThenComplete) {
    constexpr int kEntries = 30, kChildren = 4;
    {
        msg::Spool::Batch b(spool());
        for (int i = 0; i < kEntries; ++i) ASSERT_TRUE(b.add(envelope(), kMessage));
        ASSERT_TRUE(b.commit());
    }
    const std::vector<std::string> completed = race(root_, kChildren, [](msg::Spool& sp, auto write_line) {
        for (int round = 0; round < 100000; ++round) {
            auto queued = sp.list(SpoolState::queue);
            auto deferred = sp.list(SpoolState::deferred);
            if (!queued || !deferred) return 3;
            if (queued->empty() && deferred->empty()) return 0;
            std::vector<std::string> names = *queued;
            names.insert(names.end(), deferred->begin(), deferred->end());
            for (const std::string& n : names) {
                auto claim = sp.claim(n);
                if (!claim) return 4;
                if (!claim->has_value()) continue;
                msg::Claim& c = **claim;
                if (c.state() == SpoolState::queue) {
                    if (!c.defer({"b@example.net"}, {std::chrono::system_clock::now(), "451 later"},
                                 std::chrono::system_clock::now()))
                        return 5;
                } else {
                    if (!c.complete()) return 5;
                    write_line(n);
                }
            }
        }
        return 7;
    });
    EXPECT_EQ(completed.size(), static_cast<std::size_t>(kEntries));
    EXPECT_EQ(std::set<std::string>(completed.begin(), completed.end()).size(), completed.size());
    EXPECT_EQ(list(SpoolState::sent).size(), static_cast<std::size_t>(kEntries));
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    for (const std::string& n : list(SpoolState::sent)) {
        const std::string data = spool().read(SpoolState::sent, n).value();
        const msg::SpoolEntry e = msg::parse_spool_entry(data);
        EXPECT_TRUE(e.defects.empty());
        EXPECT_EQ(e.message, kMessage);
        ASSERT_EQ(e.recipients().size(), 1u);
        std::size_t attempts = 0;
        for (const msg::EnvelopeLine& l : e.envelope) attempts += l.name == "Attempt";
        EXPECT_EQ(attempts, 1u) << n;  // deferred exactly once
    }
}

TEST_F(SpoolDir, ClaimOfAKilledHolderIsRecovered) {
    const std::string n = enqueue();
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(ready[0]);
        auto sp = msg::Spool::open(root_.string(), false);
        if (!sp) ::_exit(2);
        auto c = sp->claim(n);
        if (!c || !c->has_value()) ::_exit(3);
        if (::write(ready[1], "x", 1) != 1) ::_exit(4);
        for (;;) ::pause();
    }
    ::close(ready[1]);
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    auto busy = spool().claim(n);
    ASSERT_TRUE(busy);
    EXPECT_FALSE(busy->has_value());
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status));
    auto mine = spool().claim(n);
    ASSERT_TRUE(mine) << mine.error().message;
    ASSERT_TRUE(mine->has_value());
    EXPECT_EQ((*mine)->state(), SpoolState::queue);
    ASSERT_TRUE((*mine)->complete());
}

TEST_F(SpoolDir, DeferKeepsPendingRecipientsAndHistory) {
    const std::string n = enqueue();
    const auto t1 = std::chrono::system_clock::time_point(std::chrono::seconds(1795421700));  // 2026-11-23T08:15:00Z
    const auto t2 = t1 + std::chrono::minutes(30);
    {
        auto c = spool().claim(n);
        ASSERT_TRUE(c && c->has_value());
        auto d = (*c)->defer({"c@example.net", "d@example.net"}, {t1, "451 4.3.0 greylisted\r\n"},
                             t1 + std::chrono::minutes(15));
        ASSERT_TRUE(d) << d.error().message;
        EXPECT_EQ((*c)->state(), SpoolState::deferred);
        EXPECT_FALSE((*c)->complete());  // the claim has ended
    }
    EXPECT_TRUE(list(SpoolState::queue).empty());
    EXPECT_EQ(list(SpoolState::deferred), std::vector<std::string>{n});
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    std::string data = spool().read(SpoolState::deferred, n).value();
    EXPECT_EQ(data,
              "MAIL FROM:<a@example.org> BODY=8BITMIME\n"
              "RCPT TO:<c@example.net> NOTIFY=FAILURE,DELAY\n"
              "RCPT TO:<d@example.net> ORCPT=rfc822;d@example.net\n"
              "Mbox-From: a@example.org Mon Nov 23 09:15:00 2026\n"
              "Attempt: 2026-11-23T08:15:00Z 451 4.3.0 greylisted\n"
              "Next-Attempt: 2026-11-23T08:30:00Z\n"
              "\n" + kMessage);

    // Deferred again from deferred/: all recipients stay, the history grows,
    // Next-Attempt is replaced.
    {
        auto c = spool().claim(n);
        ASSERT_TRUE(c && c->has_value());
        EXPECT_EQ((*c)->state(), SpoolState::deferred);
        auto none = (*c)->defer({"nobody@example.net"}, {t2, "x"}, t2);
        ASSERT_FALSE(none);  // no pending recipient is in the entry: nothing changes
        EXPECT_EQ(none.error().errnum, EINVAL);
        auto d = (*c)->defer({}, {t2, "421 4.4.2 timeout"}, t2 + std::chrono::hours(1));
        ASSERT_TRUE(d) << d.error().message;
    }
    data = spool().read(SpoolState::deferred, n).value();
    const msg::SpoolEntry e = msg::parse_spool_entry(data);
    EXPECT_TRUE(e.defects.empty());
    EXPECT_EQ(e.message, kMessage);
    ASSERT_EQ(e.recipients().size(), 2u);
    std::vector<std::string> attempts, next;
    for (const msg::EnvelopeLine& l : e.envelope)
        if (l.kind == msg::EnvelopeLine::Kind::annotation) {
            if (l.name == "Attempt") attempts.emplace_back(l.value);
            if (l.name == "Next-Attempt") next.emplace_back(l.value);
        }
    EXPECT_EQ(attempts, (std::vector<std::string>{"2026-11-23T08:15:00Z 451 4.3.0 greylisted",
                                                  "2026-11-23T08:45:00Z 421 4.4.2 timeout"}));
    EXPECT_EQ(next, std::vector<std::string>{"2026-11-23T09:45:00Z"});
    EXPECT_EQ(e.annotation("Mbox-From"), "a@example.org Mon Nov 23 09:15:00 2026");

    auto c = spool().claim(n);
    ASSERT_TRUE(c && c->has_value());
    ASSERT_TRUE((*c)->complete());
    EXPECT_EQ(list(SpoolState::sent), std::vector<std::string>{n});
    EXPECT_TRUE(list(SpoolState::deferred).empty());
}

TEST_F(SpoolDir, FailWritesReportsBesideTheEntry) {
    const std::string n = enqueue();
    const std::string other = enqueue();
    {
        auto c = spool().claim(n);
        ASSERT_TRUE(c && c->has_value());
        auto f = (*c)->fail("550 5.1.1 <b@example.net>: no such user\n", R"({"reply":"550 5.1.1"})");
        ASSERT_TRUE(f) << f.error().message;
        auto c2 = spool().claim(other);
        ASSERT_TRUE(c2 && c2->has_value());
        ASSERT_TRUE((*c2)->fail("554 rejected\n"));  // no JSON report
    }
    EXPECT_EQ(list(SpoolState::failed), (std::vector<std::string>{n, other}));
    EXPECT_EQ(files_in(root_ / "failed"),
              (std::vector<std::string>{n, n + ".json", n + ".report", other, other + ".report"}));
    EXPECT_EQ(slurp(root_ / "failed" / (n + ".report")), "550 5.1.1 <b@example.net>: no such user\n");
    EXPECT_EQ(slurp(root_ / "failed" / (n + ".json")), R"({"reply":"550 5.1.1"})");
    EXPECT_EQ(spool().read(SpoolState::failed, n).value(), msg::format_envelope(envelope()) + kMessage);
    EXPECT_EQ(spool().find(n), SpoolState::failed);
    EXPECT_FALSE(spool().claim(n)->has_value());
    EXPECT_TRUE(list(SpoolState::queue).empty());
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
}

TEST_F(SpoolDir, KeysOfEveryState) {
    enqueue(msg::new_entry_name("k-1"));
    const std::string k2 = enqueue(msg::new_entry_name("k_2"));
    enqueue();
    enqueue(msg::new_entry_name("k-1"));  // a key is listed once per entry that has it
    enqueue(msg::new_entry_name("k"));
    auto c = spool().claim(k2);
    ASSERT_TRUE(c && c->has_value());
    ASSERT_TRUE((*c)->fail("x"));
    spit(root_ / "tmp" / msg::new_entry_name("k-3"), "not committed");
    // In memory, and with the names met written to a file past one or two.
    for (const std::size_t memory : {msg::kIndexMemoryKeys, std::size_t{1}, std::size_t{2}}) {
        std::vector<std::string> keys;
        std::optional<msg::Error> in_memory;
        auto st = spool().for_each_key([&](std::string_view k) { keys.emplace_back(k); }, memory, &in_memory);
        ASSERT_TRUE(st) << st.error().message;
        EXPECT_FALSE(in_memory) << in_memory->message;
        // A key's entries one after another, in the order of key + "/".
        EXPECT_EQ(keys, (std::vector<std::string>{"k-1", "k-1", "k", "k_2"})) << memory;
    }
    EXPECT_EQ(files_in(root_ / "tmp").size(), 1u) << "the file of names has no name";
}

// Where no temporary file can be made (no tmp/ in the spool, and $TMPDIR
// not a directory), the names met stay in memory: every key still once.
TEST_F(SpoolDir, KeysWithoutATemporaryFile) {
    for (int i = 0; i < 9; ++i) enqueue(msg::new_entry_name("k" + std::to_string(i % 4)));
    fs::remove_all(root_ / "tmp");
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", (root_ / "none").c_str(), 1);
    std::vector<std::string> keys;
    std::optional<msg::Error> in_memory;
    auto st = spool().for_each_key([&](std::string_view k) { keys.emplace_back(k); }, 2, &in_memory);
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    fs::create_directory(root_ / "tmp");
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_TRUE(in_memory) << "the names held in memory are reported";
    EXPECT_NE(in_memory->message.find("temporary file"), std::string::npos) << in_memory->message;
    EXPECT_EQ(keys, (std::vector<std::string>{"k0", "k0", "k0", "k1", "k1", "k2", "k2", "k3", "k3"}));
}

// Two entries whose names share a 64-bit hash of the kind anyone can
// compute are two entries: names are anyone's to make (a hand-made entry,
// a copy), and these two, both well formed, are one value to libstdc++'s
// std::hash, which has no secret (such a pair takes a moment to find). Met
// as one, the key of the entry in sent/ would be missing from the index and
// mbox2spool would enqueue its message again. (Names are compared whole.)
TEST_F(SpoolDir, KeysOfEntriesWhoseNamesShareAnUnkeyedHash) {
    const std::string sent = "20261123T081500.123456Z.4242.000017.mail-relay-example-org.n0123456789abcdef";
    const std::string queued = "20261123T081500.123456Z.4242.000018.mailcx774tnay3KIicJjrg.nfedcba9876543210";
    spit(root_ / "sent" / sent, "x");
    spit(root_ / "queue" / queued, "y");
    std::vector<std::string> keys;
    auto st = spool().for_each_key([&](std::string_view k) { keys.emplace_back(k); });
    ASSERT_TRUE(st) << st.error().message;
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"n0123456789abcdef", "nfedcba9876543210"}));
}

// Entries moved from one state to another while for_each_key() lists the
// states are all met, each once: each listing holds every key (an importer
// that missed one would enqueue its message again). `from`: where the
// entries are first; `move`: what moves one on.
void keys_meet_entries_moved(SpoolDir& t, SpoolState from, const std::function<void(const std::string&)>& move) {
    constexpr int kEntries = 600;
    std::vector<std::string> names;
    for (int i = 0; i < kEntries; ++i) {
        names.push_back(t.enqueue(msg::new_entry_name("k" + std::to_string(i))));
        if (from != SpoolState::queue)
            fs::rename(t.root_ / "queue" / names.back(), t.root_ / msg::state_dir(from) / names.back());
    }
    std::atomic<bool> done{false};
    std::thread mover([&] {
        for (const std::string& n : names) move(n);
        done = true;
    });
    int scans = 0, short_scans = 0;
    while (!done || scans < 5) {
        std::vector<std::string> keys;
        // Every other listing with the names met mostly in a file.
        auto st = t.spool().for_each_key([&](std::string_view k) { keys.emplace_back(k); },
                                         scans % 2 ? 7 : msg::kIndexMemoryKeys);
        ASSERT_TRUE(st) << st.error().message;
        const std::set<std::string> distinct(keys.begin(), keys.end());
        short_scans += distinct.size() != kEntries;
        ASSERT_EQ(keys.size(), distinct.size()) << "an entry met twice was counted twice";
        ++scans;
    }
    mover.join();
    EXPECT_EQ(short_scans, 0) << "of " << scans << " scans";
    EXPECT_EQ(t.list(from).size(), 0u);
}

TEST_F(SpoolDir, KeysMeetEntriesReleasedWhileTheyAreListed) {
    keys_meet_entries_moved(*this, SpoolState::hold, [&](const std::string& n) { (void)msg::steer(spool(), n, msg::Steer::release); });
    EXPECT_EQ(list(SpoolState::queue).size(), 600u);
}

TEST_F(SpoolDir, KeysMeetEntriesHeldWhileTheyAreListed) {
    keys_meet_entries_moved(*this, SpoolState::queue, [&](const std::string& n) { (void)msg::steer(spool(), n, msg::Steer::hold); });
    EXPECT_EQ(list(SpoolState::hold).size(), 600u);
}

// Each move an entry can make (docs/spool-format.md, States: libmsg's, and
// an operator's from failed/ back to queue/) is met by the order the states
// are listed in, without the passes made again when a directory changed
// (which coarse timestamps can hide): the state moved to is listed after
// the state moved from is first listed.
TEST(SpoolNames, KeyListingMeetsEveryMove) {
    const std::pair<SpoolState, SpoolState> moves[] = {
        {SpoolState::queue, SpoolState::sent},     {SpoolState::queue, SpoolState::deferred},
        {SpoolState::queue, SpoolState::failed},   {SpoolState::deferred, SpoolState::sent},
        {SpoolState::deferred, SpoolState::failed}, {SpoolState::queue, SpoolState::hold},
        {SpoolState::deferred, SpoolState::hold},  {SpoolState::hold, SpoolState::queue},
        {SpoolState::failed, SpoolState::queue},
    };
    const auto& order = msg::spool_io::kKeyListing;
    for (const auto& [from, to] : moves) {
        const auto first_from = std::find(std::begin(order), std::end(order), from);
        const auto last_to = std::find(std::rbegin(order), std::rend(order), to);
        ASSERT_NE(first_from, std::end(order)) << msg::state_dir(from);
        ASSERT_NE(last_to, std::rend(order)) << msg::state_dir(to);
        EXPECT_LT(first_from - std::begin(order), std::rend(order) - last_to - 1)
            << msg::state_dir(from) << " -> " << msg::state_dir(to);
    }
}

// An operator retries failed entries by hand (docs/spool-format.md: mv
// failed/NAME queue/NAME).
TEST_F(SpoolDir, KeysMeetFailedEntriesMovedBackByHand) {
    keys_meet_entries_moved(*this, SpoolState::failed,
                            [&](const std::string& n) { fs::rename(root_ / "failed" / n, root_ / "queue" / n); });
    EXPECT_EQ(list(SpoolState::queue).size(), 600u);
}

TEST_F(SpoolDir, CleanTmpRemovesOldLeftoversOnly) {
    const fs::path old_file = root_ / "tmp" / "old", new_file = root_ / "tmp" / "new";
    spit(old_file, "x");
    spit(new_file, "y");
    struct timespec times[2];
    ::clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= 7200;
    times[1] = times[0];
    ASSERT_EQ(::utimensat(AT_FDCWD, old_file.c_str(), times, 0), 0);
    const std::string queued = enqueue();
    auto s = spool().clean_tmp(std::chrono::hours(1));
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(files_in(root_ / "tmp"), std::vector<std::string>{"new"});
    EXPECT_EQ(list(SpoolState::queue), std::vector<std::string>{queued});
    ASSERT_TRUE(spool().clean_tmp(std::chrono::seconds(0)));
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
}

TEST_F(SpoolDir, ErrorsNameTheFile) {
    const std::string missing = (base_ / "missing").string();
    auto m = msg::Spool::open(missing, false);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().errnum, ENOENT);
    EXPECT_NE(m.error().message.find(missing), std::string::npos) << m.error().message;
    EXPECT_NE(m.error().message.find("No such file or directory"), std::string::npos) << m.error().message;

    // Under a regular file (root can write anywhere, but not there).
    spit(base_ / "file", "x");
    const std::string under = (base_ / "file" / "spool").string();
    auto u = msg::Spool::open(under, true);
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().errnum, ENOTDIR);
    EXPECT_NE(u.error().message.find((base_ / "file").string()), std::string::npos) << u.error().message;

    // A spool whose state directory went missing.
    fs::remove_all(root_ / "queue");
    auto q = spool().enqueue(envelope(), kMessage);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().errnum, ENOENT);
    EXPECT_NE(q.error().message.find((root_ / "queue").string()), std::string::npos) << q.error().message;
    EXPECT_TRUE(files_in(root_ / "tmp").empty());
    auto l = spool().list(SpoolState::queue);
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().message.find("queue"), std::string::npos);
    auto r = spool().read(SpoolState::sent, "20990101T000000.000000Z.1.000000.nohost");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().errnum, ENOENT);
}

TEST_F(SpoolDir, MissingStateDirectoriesAreMadeWithTheSpoolsMode) {
    // What another program writing entries by docs/spool-format.md may make.
    const fs::path other = base_ / "other";
    fs::create_directories(other / "queue");
    fs::create_directories(other / "tmp");
    ::chmod(other.c_str(), 0750);
    spit(other / "queue" / msg::new_entry_name(), msg::format_envelope(envelope()) + kMessage);
    auto s = msg::Spool::open(other.string(), false);
    ASSERT_TRUE(s) << s.error().message;
    for (const char* d : {"deferred", "sent", "failed"}) {
        struct stat st {};
        ASSERT_EQ(::stat((other / d).c_str(), &st), 0) << d;
        EXPECT_EQ(st.st_mode & 07777, 0750u) << d;
    }
    EXPECT_EQ(s->list(SpoolState::queue)->size(), 1u);
    // Without queue/ it is no spool.
    fs::create_directories(base_ / "notaspool");
    auto n = msg::Spool::open((base_ / "notaspool").string(), false);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().errnum, ENOENT);
    EXPECT_NE(n.error().message.find("queue"), std::string::npos);
}

// The operator's commands take an entry only from the states their rule
// names; one in another state is left where it is.
TEST_F(SpoolDir, SteerFollowsTheTransitionRules) {
    const std::string a = enqueue();
    std::optional<SpoolState> where;
    EXPECT_EQ(msg::steer(spool(), a, msg::Steer::retry, &where).value(), false);   // queued, not deferred
    EXPECT_EQ(where, SpoolState::queue);
    EXPECT_TRUE(msg::steer(spool(), a, msg::Steer::hold).value());
    EXPECT_EQ(spool().find(a), SpoolState::hold);
    EXPECT_FALSE(msg::steer(spool(), a, msg::Steer::hold).value());
    EXPECT_TRUE(msg::steer(spool(), a, msg::Steer::release).value());
    EXPECT_EQ(spool().find(a), SpoolState::queue);
    EXPECT_TRUE(msg::steer(spool(), a, msg::Steer::remove).value());
    EXPECT_EQ(spool().find(a), std::nullopt);
    where.reset();
    EXPECT_FALSE(msg::steer(spool(), a, msg::Steer::remove, &where).value());
    EXPECT_EQ(where, std::nullopt);
    EXPECT_EQ(msg::steer_by_name("hold"), msg::Steer::hold);
    EXPECT_FALSE(msg::steer_by_name("list"));
    EXPECT_EQ(msg::steer_from(msg::Steer::remove).size(), std::size(msg::kAllStates));
}
