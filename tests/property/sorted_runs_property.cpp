// sorted_runs_property.cpp - detail::SortedRuns (libmsg/src/detail/
// sorted_runs.hpp), the sort behind a spool's walk and the listing of its
// keys, gives back every string added, in order, equal ones included:
// whatever the runs' sizes, whichever runs go to the file and which stay
// in memory, and where no file can be made or written.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "detail/sorted_runs.hpp"

namespace {

using msg::detail::SortedRuns;

// Short strings over a small alphabet: many equal ones, many that are a
// prefix of another, and the empty string.
rc::Gen<std::string> text() {
    return rc::gen::container<std::string>(rc::gen::element('a', 'b', 'z', '/', '\x01', '\xff'));
}

std::vector<std::string> drain(SortedRuns& runs) {
    std::vector<std::string> out;
    for (runs.start(); !runs.empty(); runs.pop()) out.emplace_back(runs.least());
    return out;
}

// RAII: $TMPDIR pointed at a directory that does not exist, so that a
// spool without tmp/ gets no temporary file at all.
struct NoTemporaryFile {
    std::string saved;
    bool had;
    NoTemporaryFile() {
        const char* old = std::getenv("TMPDIR");
        had = old != nullptr;
        if (had) saved = old;
        ::setenv("TMPDIR", "/nonexistent-tmp", 1);
    }
    ~NoTemporaryFile() {
        if (had) ::setenv("TMPDIR", saved.c_str(), 1);
        else ::unsetenv("TMPDIR");
    }
    NoTemporaryFile(const NoTemporaryFile&) = delete;
    NoTemporaryFile& operator=(const NoTemporaryFile&) = delete;
};

RC_GTEST_PROP(SortedRuns, GivesBackWhatWasAddedInOrder, ()) {
    const auto strings = *rc::gen::container<std::vector<std::string>>(text());
    const auto run = *rc::gen::inRange<std::size_t>(1, 12);
    const auto spills = *rc::gen::container<std::vector<bool>>(rc::gen::arbitrary<bool>());
    const bool file = *rc::gen::arbitrary<bool>();
    std::optional<NoTemporaryFile> none;
    if (!file) none.emplace();
    SortedRuns runs(file ? std::filesystem::temp_directory_path().string() : "/nonexistent-spool");
    std::size_t closed = 0;
    bool no_file = false;
    auto close = [&] {
        const bool spill = closed < spills.size() && spills[closed];
        ++closed;
        const bool some = runs.pending() > 0;
        const SortedRuns::Closed c = runs.close_run(spill);
        RC_ASSERT(c == (some && spill && !file ? SortedRuns::Closed::no_file : SortedRuns::Closed::ok));
        no_file = no_file || c == SortedRuns::Closed::no_file;
        RC_ASSERT(runs.pending() == 0u);
    };
    for (const std::string& s : strings) {
        runs.add(s);
        if (runs.pending() >= run) close();
    }
    close();
    std::vector<std::string> want = strings;
    std::sort(want.begin(), want.end());
    RC_ASSERT(drain(runs) == want);
    RC_ASSERT(runs.greatest() == (want.empty() ? std::string() : want.back()));
    RC_ASSERT(!runs.read_error());
    RC_ASSERT(runs.write_error().has_value() == no_file);   // why the runs stayed in memory
}

// A file that stops taking runs part way (a file size limit: EFBIG, as a
// full disk gives ENOSPC) keeps that run and those after it in memory:
// nothing is lost, and the merge reads what the file did take.
TEST(SortedRuns, AFileThatFillsUpKeepsTheRestInMemory) {
    std::vector<std::string> strings;
    for (int i = 0; i < 400; ++i) strings.push_back("name-" + std::to_string(i * 7919 % 400));
    SortedRuns runs(std::filesystem::temp_directory_path().string());
    struct rlimit old {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    const auto saved_signal = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 1000;   // bytes: the first few runs of 10 fit
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    std::vector<SortedRuns::Closed> closed;
    for (const std::string& s : strings) {
        runs.add(s);
        if (runs.pending() == 10) closed.push_back(runs.close_run(true));
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, saved_signal);
    ASSERT_EQ(closed.size(), 40u);
    EXPECT_EQ(closed.front(), SortedRuns::Closed::ok);
    EXPECT_EQ(closed.back(), SortedRuns::Closed::write_failed);
    const auto first_failed = std::find(closed.begin(), closed.end(), SortedRuns::Closed::write_failed);
    EXPECT_TRUE(std::all_of(first_failed, closed.end(), [](auto c) { return c == SortedRuns::Closed::write_failed; }))
        << "no run goes to the file after one failed";
    ASSERT_TRUE(runs.write_error());
    EXPECT_NE(runs.write_error()->message.find("temporary file"), std::string::npos) << runs.write_error()->message;
    std::sort(strings.begin(), strings.end());
    EXPECT_EQ(drain(runs), strings);
    EXPECT_FALSE(runs.read_error());
}

}  // namespace
