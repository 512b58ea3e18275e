// detail/sorted_runs.hpp - strings put in order with a bounded memory,
// whatever their number: they are sorted in runs, a run past what memory
// should hold goes to a temporary file without a name (a NUL after each
// string), and the runs are merged, each read back a little at a time.
// Each string is written once and read once. A spool's walk (SpoolWalk:
// a directory's names), the listing of its keys (Spool::for_each_key) and
// the listing of a directory given as input (InputListing) sort this way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "msg/result.hpp"

namespace msg::detail {

class SortedRuns {
public:
    // `root`: the spool whose tmp/ holds the file (spool_io::temporary_file;
    // "": $TMPDIR or /tmp); `what`: the file, as errors name it.
    explicit SortedRuns(std::string root, std::string what = "a temporary file of the spool's names")
        : root_(std::move(root)), what_(std::move(what)) {}
    SortedRuns(const SortedRuns&) = delete;
    SortedRuns& operator=(const SortedRuns&) = delete;
    ~SortedRuns();

    // A string (no NUL in it) to the current run.
    void add(std::string_view s);
    // The same, the run then closed to the file once it holds `run`
    // strings (kept in memory once the file failed: close_run(true)).
    void add(std::string_view s, std::size_t run) {
        add(s);
        if (pending() >= run) close_run(true);
    }
    // How many strings the current run holds.
    std::size_t pending() const { return at_.size(); }
    enum class Closed { ok, no_file, write_failed };
    // The current run, sorted, closed: written to the file with `spill`,
    // else kept in memory. A run that could not be written is kept in
    // memory: no_file when no temporary file could be made, write_failed
    // when the file could not take it (write_error() says why, either
    // way); runs after it are kept in memory too, and their closing says
    // the same.
    Closed close_run(bool spill);
    // The greatest string added so far.
    const std::string& greatest() const { return greatest_; }

    // The runs closed so far are merged from here on.
    void start();
    bool empty() const { return heap_.empty(); }
    // The least string not taken yet (not empty()); valid until pop().
    std::string_view least() const { return head(heap_.front()); }
    // The least string taken. A run of the file that cannot be read back
    // ends there, and read_error() says why.
    void pop();
    const std::optional<Error>& read_error() const { return read_error_; }
    const std::optional<Error>& write_error() const { return write_error_; }

private:
    struct Run {
        std::string buf;                 // strings, a NUL after each; of a run in the file, the part read
        std::size_t pos = 0;             // the next string in buf
        std::size_t head = 0, len = 0;   // the run's least string not taken yet: buf[head, head + len)
        off_t at = 0, end = 0;           // what is left of it in the file
    };
    std::string_view head(std::size_t r) const { return std::string_view(runs_[r].buf).substr(runs_[r].head, runs_[r].len); }
    bool advance(Run& r);   // the run's next string as its head; false at its end
    // Greater-than on the runs' heads: the heap keeps the least on top.
    auto order() const {
        return [this](std::size_t a, std::size_t b) { return head(a) > head(b); };
    }

    std::string root_, what_;
    std::string bytes_;                                      // the current run's strings, one after another
    std::vector<std::pair<std::size_t, std::size_t>> at_;    // each one's offset and length in bytes_
    std::vector<Run> runs_;
    std::vector<std::size_t> heap_;   // the runs with a string left, the least on top
    int fd_ = -1;
    off_t size_ = 0;
    std::size_t read_ = 4096;   // bytes read back at a time, for a run
    Closed failed_ = Closed::ok;   // how a run failed to go to the file: none goes there since
    std::string greatest_;
    std::optional<Error> read_error_, write_error_;
};

}  // namespace msg::detail
