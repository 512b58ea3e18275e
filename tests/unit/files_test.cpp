// files_test.cpp - safe output (msg/files.hpp): attachment names that
// cannot leave their directory, numbered names that never replace a file,
// atomic replacement keeping the mode, links followed only when trusted.
#include <gtest/gtest.h>
#include <msg/files.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class Files : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "files_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    fs::path dir_;
};

}  // namespace

TEST(SafeFilename, StaysInItsDirectory) {
    EXPECT_EQ(msg::safe_filename("../../etc/passwd"), "passwd");
    EXPECT_EQ(msg::safe_filename("C:\\Windows\\evil.exe"), "evil.exe");
    EXPECT_EQ(msg::safe_filename("..."), "");
    EXPECT_EQ(msg::safe_filename(" .hidden. "), "hidden");
    EXPECT_EQ(msg::safe_filename("a\nb:c\x7f"), "a_b_c_");
    // C1, a bidirectional override or isolate, a line separator: one '_'
    // each ("invoice<RLO>fdp.exe" would list as "invoiceexe.pdf").
    EXPECT_EQ(msg::safe_filename("invoice\xe2\x80\xae" "fdp.exe"), "invoice_fdp.exe");
    EXPECT_EQ(msg::safe_filename("\xe2\x81\xa7x\xe2\x81\xa9\xe2\x80\xa8y\xc2\x9b.txt"), "_x__y_.txt");
    EXPECT_EQ(msg::safe_filename("caf\xc3\xa9 \xe2\x82\xac.pdf"), "caf\xc3\xa9 \xe2\x82\xac.pdf");
    EXPECT_EQ(msg::safe_filename("\xc2\x9b" "2Jx\xc2\xa0y.txt"), "_2Jx\xc2\xa0y.txt");   // C1 CSI, not NBSP
    std::string two_byte;
    for (int i = 0; i < 120; ++i) two_byte += "\xc3\xa9";
    const std::string cut = msg::safe_filename(two_byte);
    EXPECT_LE(cut.size(), 200u);
    EXPECT_EQ(cut.size() % 2, 0u);
}

TEST_F(Files, NewFilesNeverReplaceAndNumberOn) {
    {
        std::ofstream(dir_ / "a.txt") << "old";
    }
    msg::NewFiles files(dir_.string());
    auto n1 = files.write("a.txt", "one");
    auto n2 = files.write("a.txt", "two");
    auto n3 = files.write("b", "three");
    ASSERT_TRUE(n1 && n2 && n3);
    EXPECT_EQ(*n1, "a-1.txt");
    EXPECT_EQ(*n2, "a-2.txt");
    EXPECT_EQ(*n3, "b");
    EXPECT_EQ(slurp(dir_ / "a.txt"), "old");
    EXPECT_EQ(slurp(dir_ / "a-2.txt"), "two");
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "b").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_TRUE(files.sync());
}

// A file written in pieces: named on close(); one never closed, or whose
// writing failed, leaves nothing behind.
TEST_F(Files, NewFilesInPieces) {
    msg::NewFiles files(dir_.string());
    ASSERT_TRUE(files.open());
    files.put("one ");
    files.put("two");
    auto n = files.close("a.txt");
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, "a.txt");
    EXPECT_EQ(slurp(dir_ / "a.txt"), "one two");
    EXPECT_FALSE(files.close("b.txt"));  // nothing open
    {
        msg::NewFiles abandoned(dir_.string());
        ASSERT_TRUE(abandoned.open());
        abandoned.put("half");
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
    // A second open() drops the first file.
    ASSERT_TRUE(files.open());
    files.put("dropped");
    ASSERT_TRUE(files.open());
    files.put("kept");
    ASSERT_TRUE(files.close("a.txt"));
    EXPECT_EQ(slurp(dir_ / "a-1.txt"), "kept");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 2);
}

TEST_F(Files, ReplaceFileKeepsTheModeAndLeavesNoTemporary) {
    const fs::path p = dir_ / "m.eml";
    {
        std::ofstream(p) << "old";
    }
    ::chmod(p.c_str(), 0640);
    ASSERT_TRUE(msg::replace_file(p.string(), "new"));
    EXPECT_EQ(slurp(p), "new");
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
    // A new file is private.
    ASSERT_TRUE(msg::replace_file((dir_ / "fresh").string(), "x"));
    ASSERT_EQ(::stat((dir_ / "fresh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Files, WriteTargetFollowsOwnLinksAndCountsHardLinks) {
    const fs::path target = dir_ / "real.eml", link = dir_ / "link.eml";
    {
        std::ofstream(target) << "x";
    }
    fs::create_symlink(target, link);
    auto t = msg::write_target(link.string());
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(fs::path(*t), fs::canonical(target));
    EXPECT_EQ(*msg::write_target(target.string()), target.string());
    EXPECT_TRUE(msg::check_replaceable(target.string(), false));
    fs::create_hard_link(target, dir_ / "hard.eml");
    EXPECT_FALSE(msg::check_replaceable(target.string(), false));
    EXPECT_TRUE(msg::check_replaceable(target.string(), true));
    // A pipe is no file to replace, forced or not.
    const fs::path fifo = dir_ / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(msg::check_replaceable(fifo.string(), true));
    EXPECT_FALSE(msg::check_replaceable("/dev/null", true));
}

TEST_F(Files, ReadRegularFileRefusesDirectories) {
    EXPECT_FALSE(msg::read_regular_file(dir_.string()));
    EXPECT_FALSE(msg::read_regular_file((dir_ / "missing").string()));
    {
        std::ofstream(dir_ / "f") << "secret\n";
    }
    auto r = msg::read_regular_file((dir_ / "f").string());
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "secret\n");
}

// remove_on_signal: a temporary file of any name (a Maildir's tmp/ file, a
// spool entry rewritten in tmp/) goes too; one kept (keep_on_signal) stays.
TEST_F(Files, AStoppingSignalRemovesWhatWasSaidOfAnyName) {
    const std::string half = (dir_ / "20261123T091500.123456Z.4711.000000.host").string();
    const std::string placed = (dir_ / "placed").string();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        msg::remove_on_signal(half);
        msg::remove_on_signal(placed);
        std::ofstream(half) << "half an entry";
        std::ofstream(placed) << "a whole one";
        msg::keep_on_signal(placed);
        ::raise(SIGTERM);
        ::_exit(4);   // not reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGTERM);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir_)) left.push_back(e.path().filename().string());
    EXPECT_EQ(left, std::vector<std::string>{"placed"});
}

// A run stopped by SIGTERM (or SIGINT, SIGHUP) leaves no temporary file
// behind, and still ends by that signal; a committed or discarded one is
// no longer its business.
TEST_F(Files, AStoppingSignalRemovesTheTemporaries) {
    const std::string out = (dir_ / "out.mbox").string();
    const std::string kept = (dir_ / "kept.mbox").string();
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            auto t = msg::make_temp_beside(out);
            auto k = msg::make_temp_beside(kept);
            if (!t || !k || !msg::commit_file(*k, kept)) ::_exit(3);
            if (auto d = msg::make_temp_beside(kept); d) msg::discard_temp(*d);
            std::ofstream(*t) << "half an archive";
            ::raise(sig);
            ::_exit(4);   // not reached
        }
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
        EXPECT_EQ(WTERMSIG(status), sig);
        std::vector<std::string> left;
        for (const auto& e : fs::directory_iterator(dir_)) left.push_back(e.path().filename().string());
        EXPECT_EQ(left, std::vector<std::string>{"kept.mbox"});
        fs::remove(kept);
    }
}
