// spill_table.cpp - the sorted file behind detail::SpillTable.
#include "detail/spill_table.hpp"

#include <cerrno>

#include <unistd.h>

#include "detail/spool_io.hpp"

namespace msg::detail {

namespace {

const std::string kWhat = "a temporary file of the spool's index";

std::uint64_t key_at(const char* rec) {
    std::uint64_t k;
    std::memcpy(&k, rec, 8);
    return k;
}

// `want` bytes at `at`, or an error (a short file is one).
Status read_at(int fd, char* to, std::size_t want, off_t at) {
    while (want > 0) {
        const ssize_t n = ::pread(fd, to, want, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return spool_io::sys_error("read", kWhat, n < 0 ? errno : EIO);
        to += n;
        want -= static_cast<std::size_t>(n);
        at += n;
    }
    return Ok{};
}

constexpr std::size_t kChunk = 4096;   // records read, and written, at a time

// The records of a file, in order, read a chunk at a time.
class InOrder {
public:
    InOrder(int fd, std::size_t count, std::size_t record) : fd_(fd), count_(count), record_(record) {}
    // The next record; null at the end, or on a read error (`st`).
    const char* next(Status& st) {
        if (pos_ == buf_.size()) {
            if (at_ == count_) return nullptr;
            const std::size_t k = std::min(kChunk, count_ - at_);
            buf_.resize(k * record_);
            if (st = read_at(fd_, buf_.data(), buf_.size(), static_cast<off_t>(at_ * record_)); !st) return nullptr;
            at_ += k;
            pos_ = 0;
        }
        const char* rec = buf_.data() + pos_;
        pos_ += record_;
        return rec;
    }

private:
    int fd_;
    std::size_t count_, record_, at_ = 0, pos_ = 0;
    std::vector<char> buf_;
};

}  // namespace

SortedFile::~SortedFile() { spool_io::close_fd(fd_); }

bool SortedFile::find(std::uint64_t key, char* out) {
    if (count_ == 0 || key < first_.front()) return false;
    const std::size_t b = static_cast<std::size_t>(std::upper_bound(first_.begin(), first_.end(), key) - first_.begin()) - 1;
    const std::size_t n = std::min(kBlock, count_ - b * kBlock);
    block_.resize(n * record_);
    if (Status st = read_at(fd_, block_.data(), n * record_, static_cast<off_t>(b * kBlock * record_)); !st) {
        error_ = st.error();
        return false;
    }
    std::size_t lo = 0, hi = n;   // the first record of key >= `key`
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (key_at(block_.data() + mid * record_) < key) lo = mid + 1;
        else hi = mid;
    }
    if (lo == n || key_at(block_.data() + lo * record_) != key) return false;
    std::memcpy(out, block_.data() + lo * record_, record_);
    return true;
}

Status SortedFile::merge(const char* add, std::size_t n) {
    if (n == 0) return Ok{};
    if (count_ > 0 && key_at(add) > last_) return append(add, n);
    const int out = spool_io::temporary_file(root_);
    if (out < 0) return spool_io::sys_error("make", kWhat, errno);
    std::vector<char> buf;
    buf.reserve(kChunk * record_);
    std::vector<std::uint64_t> first;
    std::uint64_t last = 0;
    std::size_t written = 0, add_at = 0;
    auto put = [&](const char* rec) -> Status {
        if (written % kBlock == 0) first.push_back(key_at(rec));
        last = key_at(rec);
        ++written;
        buf.insert(buf.end(), rec, rec + record_);
        if (buf.size() < kChunk * record_) return Ok{};
        Status st = spool_io::write_all(out, std::string_view(buf.data(), buf.size()), kWhat);
        buf.clear();
        return st;
    };
    InOrder file(fd_, count_, record_);
    Status st = Ok{};
    const char* o = file.next(st);
    while (st) {
        const char* a = add_at < n ? add + add_at * record_ : nullptr;
        if (!o && !a) break;
        if (a && (!o || key_at(a) <= key_at(o))) {   // an equal one added takes the file's place
            if (o && key_at(o) == key_at(a)) o = file.next(st);
            if (st) st = put(a);
            ++add_at;
        } else {
            st = put(o);
            if (st) o = file.next(st);
        }
    }
    if (st && !buf.empty()) st = spool_io::write_all(out, std::string_view(buf.data(), buf.size()), kWhat);
    if (!st) {
        spool_io::close_fd(out);
        return st;
    }
    spool_io::close_fd(fd_);
    fd_ = out;
    last_ = last;
    count_ = written;
    first_ = std::move(first);
    return Ok{};
}

Status SortedFile::append(const char* add, std::size_t n) {
    // At the end of the records: a write that failed part way left its
    // bytes past them, where this one starts again.
    if (::lseek(fd_, static_cast<off_t>(count_ * record_), SEEK_SET) < 0) return spool_io::sys_error("seek", kWhat, errno);
    if (Status st = spool_io::write_all(fd_, std::string_view(add, n * record_), kWhat); !st) return st;
    for (std::size_t i = 0; i < n; ++i)
        if ((count_ + i) % kBlock == 0) first_.push_back(key_at(add + i * record_));
    count_ += n;
    last_ = key_at(add + (n - 1) * record_);
    return Ok{};
}

}  // namespace msg::detail
