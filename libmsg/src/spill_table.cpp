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

Status SortedFile::holds(const std::uint64_t* keys, std::size_t n, std::vector<bool>& held) {
    held.assign(n, false);
    constexpr std::size_t kRecords = 4096;
    std::vector<char> in;
    std::size_t at = 0, i = 0;
    while (at < count_ && i < n) {
        const std::size_t k = std::min(kRecords, count_ - at);
        in.resize(k * record_);
        if (Status st = read_at(fd_, in.data(), in.size(), static_cast<off_t>(at * record_)); !st) {
            error_ = st.error();
            return st;
        }
        at += k;
        for (std::size_t r = 0; r < k && i < n; ++r) {
            const std::uint64_t key = key_at(in.data() + r * record_);
            while (i < n && keys[i] < key) ++i;
            if (i < n && keys[i] == key) held[i++] = true;
        }
    }
    return Ok{};
}

Status SortedFile::merge(const char* add, std::size_t n, Combine combine) {
    const int out = spool_io::temporary_file(root_);
    if (out < 0) return spool_io::sys_error("make", kWhat, errno);
    constexpr std::size_t kRecords = 4096;   // records read, and written, at a time
    std::vector<char> in, buf, both(record_);
    buf.reserve(kRecords * record_);
    std::vector<std::uint64_t> first;
    std::size_t written = 0, old_at = 0, in_pos = 0, add_at = 0;
    auto put = [&](const char* rec) -> Status {
        if (written % kBlock == 0) first.push_back(key_at(rec));
        ++written;
        buf.insert(buf.end(), rec, rec + record_);
        if (buf.size() < kRecords * record_) return Ok{};
        Status st = spool_io::write_all(out, std::string_view(buf.data(), buf.size()), kWhat);
        buf.clear();
        return st;
    };
    // The old file's next record, read a chunk at a time; null at its end.
    auto old_next = [&](Status& st) -> const char* {
        if (in_pos == in.size()) {
            if (old_at == count_) return nullptr;
            const std::size_t k = std::min(kRecords, count_ - old_at);
            in.resize(k * record_);
            if (st = read_at(fd_, in.data(), in.size(), static_cast<off_t>(old_at * record_)); !st) return nullptr;
            old_at += k;
            in_pos = 0;
        }
        return in.data() + in_pos;
    };
    Status st = Ok{};
    for (;;) {
        const char* o = old_next(st);
        if (!st) break;
        const char* a = add_at < n ? add + add_at * record_ : nullptr;
        if (!o && !a) break;
        if (o && a && key_at(o) == key_at(a)) {   // the one added takes its place
            if (combine) {
                std::memcpy(both.data(), a, record_);
                combine(both.data(), o);
                in_pos += record_;
                st = put(both.data());
                ++add_at;
                if (!st) break;
                continue;
            }
            in_pos += record_;
        }
        if (a && (!o || key_at(a) <= key_at(o))) {
            st = put(a);
            ++add_at;
        } else {
            st = put(o);
            in_pos += record_;
        }
        if (!st) break;
    }
    if (st && !buf.empty()) st = spool_io::write_all(out, std::string_view(buf.data(), buf.size()), kWhat);
    if (!st) {
        spool_io::close_fd(out);
        return st;
    }
    spool_io::close_fd(fd_);
    fd_ = out;
    count_ = written;
    first_ = std::move(first);
    return Ok{};
}

}  // namespace msg::detail
