// sorted_runs.cpp - detail::SortedRuns: strings sorted in runs, merged.
#include "detail/sorted_runs.hpp"

#include <algorithm>
#include <cerrno>

#include <unistd.h>

#include "detail/spool_io.hpp"

namespace msg::detail {

namespace {

// The runs' reading share about this much memory while they are merged:
// each reads back from 1 to 64 KiB at a time.
constexpr std::size_t kMergeMemory = std::size_t{1} << 20;
constexpr std::size_t kWrite = 1 << 16;  // bytes written at a time

}  // namespace

SortedRuns::~SortedRuns() { spool_io::close_fd(fd_); }

void SortedRuns::add(std::string_view s) {
    at_.emplace_back(bytes_.size(), s.size());
    bytes_.append(s);
}

SortedRuns::Closed SortedRuns::close_run(bool spill) {
    if (at_.empty()) return Closed::ok;
    std::vector<std::string_view> sorted;
    sorted.reserve(at_.size());
    for (const auto& [off, n] : at_) sorted.emplace_back(bytes_.data() + off, n);
    std::vector<std::pair<std::size_t, std::size_t>>().swap(at_);
    std::sort(sorted.begin(), sorted.end());
    if (greatest_ < sorted.back()) greatest_ = sorted.back();
    Run r;
    Closed closed = spill ? failed_ : Closed::ok;
    if (spill && closed == Closed::ok && fd_ < 0 && (fd_ = spool_io::temporary_file(root_)) < 0) {
        write_error_ = spool_io::sys_error("make", what_, errno);
        closed = failed_ = Closed::no_file;
    }
    if (spill && closed == Closed::ok) {
        // Written a piece at a time, not joined first: the run is in memory once.
        std::string piece;
        off_t written = 0;
        Status st = Ok{};
        for (std::size_t i = 0; st && i < sorted.size(); ++i) {
            piece.append(sorted[i]).push_back('\0');
            if (piece.size() < kWrite && i + 1 < sorted.size()) continue;
            st = spool_io::write_all(fd_, piece, what_);
            written += static_cast<off_t>(piece.size());
            piece.clear();
        }
        if (st) {
            r.at = size_;
            r.end = size_ += written;
            std::string().swap(bytes_);
            runs_.push_back(std::move(r));
            return Closed::ok;
        }
        // What was written of it lies past size_: no run reads it.
        write_error_ = st.error();
        closed = failed_ = Closed::write_failed;
    }
    r.buf.reserve(bytes_.size() + sorted.size());
    for (std::string_view s : sorted) r.buf.append(s).push_back('\0');
    std::string().swap(bytes_);
    runs_.push_back(std::move(r));
    return closed;
}

bool SortedRuns::advance(Run& r) {
    for (;;) {
        const std::size_t nul = r.buf.find('\0', r.pos);
        if (nul != std::string::npos) {
            r.head = r.pos;
            r.len = nul - r.pos;
            r.pos = nul + 1;
            return true;
        }
        if (r.at >= r.end) {
            // Bytes after the last NUL: the file was damaged under the run.
            if (r.pos < r.buf.size() && !read_error_) read_error_ = spool_io::sys_error("read", what_, EIO);
            std::string().swap(r.buf);   // used up: its memory goes
            return false;
        }
        r.buf.erase(0, r.pos);
        r.pos = 0;
        const std::size_t old = r.buf.size();
        const auto want = static_cast<std::size_t>(std::min<off_t>(static_cast<off_t>(read_), r.end - r.at));
        r.buf.resize(old + want);
        ssize_t n;
        while ((n = ::pread(fd_, r.buf.data() + old, want, r.at)) < 0 && errno == EINTR) {
        }
        if (n <= 0) {
            if (!read_error_) read_error_ = spool_io::sys_error("read", what_, n < 0 ? errno : EIO);
            r.at = r.end;
            std::string().swap(r.buf);
            return false;
        }
        r.buf.resize(old + static_cast<std::size_t>(n));
        r.at += n;
    }
}

void SortedRuns::start() {
    read_ = std::clamp<std::size_t>(kMergeMemory / std::max<std::size_t>(runs_.size(), 1), 1024, 64 << 10);
    heap_.clear();
    for (std::size_t i = 0; i < runs_.size(); ++i)
        if (advance(runs_[i])) heap_.push_back(i);
    std::make_heap(heap_.begin(), heap_.end(), order());
}

void SortedRuns::pop() {
    std::pop_heap(heap_.begin(), heap_.end(), order());
    if (advance(runs_[heap_.back()])) std::push_heap(heap_.begin(), heap_.end(), order());
    else heap_.pop_back();
}

}  // namespace msg::detail
