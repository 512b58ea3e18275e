// source.cpp - files read whole (mapped only past the limit, cut short
// without SIGBUS), owned buffers, lazy line index.
#include "msg/source.hpp"

#include "detail/cut_short.hpp"
#include "detail/huge_buffer.hpp"
#include "detail/spool_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

namespace msg {

namespace {

// The line breaks in [p, end): their count, and where the last one is.
std::size_t count_breaks(const char* p, const char* end, const char*& last) {
    std::size_t n = 0;
    while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        if (!nl) break;
        p = static_cast<const char*>(nl) + 1;
        last = p - 1;
        ++n;
    }
    return n;
}

}  // namespace

std::size_t archive_offset(std::span<const std::size_t> lines, std::size_t offset) noexcept {
    // One byte more for each such line that begins at or before it.
    return offset + static_cast<std::size_t>(std::upper_bound(lines.begin(), lines.end(), offset) - lines.begin());
}

std::uint64_t archive_column(std::span<const std::size_t> lines, std::size_t offset, std::uint64_t column) noexcept {
    const std::size_t line_start = offset - static_cast<std::size_t>(column - 1);
    return std::binary_search(lines.begin(), lines.end(), line_start) ? column + 1 : column;
}

LineCol LineIndex::locate(std::size_t offset) const {
    const std::size_t upto = std::min(offset, text_.size());
    const std::size_t block = upto / kBlock;
    const char* base = text_.data();
    while (marks_.size() <= block) {   // marks as far as this offset
        const std::size_t from = (marks_.size() - 1) * kBlock;
        Mark m = marks_.back();
        const char* last = nullptr;
        m.line += count_breaks(base + from, base + from + kBlock, last);
        if (last) m.line_start = static_cast<std::size_t>(last - base) + 1;
        marks_.push_back(m);
    }
    // From the block's mark, or from the last position asked for when it
    // is in this block and not after `upto` (offsets asked in order: each
    // byte is counted once).
    std::size_t from = block * kBlock;
    Mark m = marks_[block];
    if (last_.at >= from && last_.at <= upto) {
        from = last_.at;
        m = last_.mark;
    }
    const char* last = nullptr;
    m.line += count_breaks(base + from, base + upto, last);
    if (last) m.line_start = static_cast<std::size_t>(last - base) + 1;
    last_ = {upto, m};
    return {m.line, offset - m.line_start + 1};
}

Source::Source(Source&& o) noexcept
    : name_(std::move(o.name_)), data_(o.data_), mtime_(o.mtime_), owned_(std::move(o.owned_)), read_(std::move(o.read_)),
      map_(o.map_), map_len_(o.map_len_), map_fd_(o.map_fd_), map_slot_(o.map_slot_) {
    // the index is made again: it points into the old buffer
    if (!map_ && !read_.bytes) data_ = owned_;
    o.read_.size = 0;
    o.map_ = nullptr;
    o.map_len_ = 0;
    o.map_fd_ = o.map_slot_ = -1;
    o.data_ = {};
    o.index_.reset();   // it points into the buffer given away
}

Source& Source::operator=(Source&& o) noexcept {
    if (this != &o) {
        unmap();
        give_back(std::move(read_));
        name_ = std::move(o.name_);
        mtime_ = o.mtime_;
        owned_ = std::move(o.owned_);
        read_ = std::move(o.read_);
        o.read_.size = 0;
        map_ = o.map_;
        map_len_ = o.map_len_;
        map_fd_ = o.map_fd_;
        map_slot_ = o.map_slot_;
        data_ = map_ || read_.bytes ? o.data_ : std::string_view(owned_);
        index_.reset();   // both point into the old buffers
        o.index_.reset();
        o.map_ = nullptr;
        o.map_len_ = 0;
        o.map_fd_ = o.map_slot_ = -1;
        o.data_ = {};
    }
    return *this;
}

Source::~Source() {
    unmap();
    give_back(std::move(read_));
}

namespace {

// Files below this size are read, not mapped (Source::open).
constexpr std::size_t kReadBelow = std::size_t{1} << 20;

// The buffer a thread read its last small file into, kept for its next:
// at most one per thread, and no larger than a file read whole needs. Plain
// thread-local data (no destructor), freed by t_free at the thread's exit;
// a Source destroyed after that frees its buffer itself.
struct Spare {
    char* bytes = nullptr;
    std::size_t size = 0;
    bool gone = false;   // the thread is exiting
};
thread_local Spare t_spare;
struct SpareFree {
    ~SpareFree() {
        delete[] t_spare.bytes;
        t_spare = Spare{nullptr, 0, true};
    }
};
thread_local SpareFree t_free;

}  // namespace

Source::Buffer Source::take_buffer(std::size_t at_least) noexcept {
    Buffer b;
    if (t_spare.bytes && t_spare.size >= at_least) {
        b.bytes.reset(std::exchange(t_spare.bytes, nullptr));
        b.size = std::exchange(t_spare.size, 0);
        return b;
    }
    // Rounded up, so that files of about the same size share one buffer.
    b.size = std::max<std::size_t>(std::size_t{64} << 10, std::bit_ceil(at_least));
    b.bytes.reset(new (std::nothrow) char[b.size]);   // not zero-filled
    if (!b.bytes) b.size = 0;
    return b;
}

void Source::give_back(Buffer b) {
    if (!b.bytes || t_spare.gone || b.size > 2 * kReadBelow || b.size <= t_spare.size) return;
    (void)&t_free;   // made (to free the spare at the thread's exit) on first use
    delete[] t_spare.bytes;
    t_spare.bytes = b.bytes.release();
    t_spare.size = b.size;
}

Source Source::from_string(std::string bytes, std::string name) {
    Source s;
    s.name_ = std::move(name);
    s.owned_ = std::move(bytes);
    s.data_ = s.owned_;
    return s;
}

namespace {

Error too_long(const std::string& name, std::size_t max) {
    return Error{EFBIG, "cannot read " + name + ": longer than " + std::to_string(max) +
                            " bytes, the limit of one message read whole (not read)"};
}

// A message too large for the memory this process may have (a ulimit -v,
// strict overcommit): said of the file, which is then not read.
Error no_memory(const std::string& name) { return spool_io::sys_error("read", name, ENOMEM); }

}  // namespace

Result<Source> Source::read_fd(int fd, std::string name, std::size_t max) {
    // Read into address space reserved for the limit and one byte more:
    // only the pages read into are ever committed, and the buffer never
    // moves (a growing string holds its old and new copies at once). Where
    // that space cannot be had (a ulimit -v, strict overcommit), a string.
    // In huge pages where the kernel grants them, from the first byte: a
    // page fault per 2 MiB read, not per 4 KiB (on a virtual machine each
    // costs ten microseconds or more).
    std::size_t len = max + 1;
    char* const m = max < (std::size_t{1} << 40) ? detail::map_huge(len, MAP_NORESERVE) : nullptr;
    Source s;
    s.name_ = std::move(name);
    std::string grown;
    char* buf = nullptr;
    if (m) {
        s.map_ = m;
        s.map_len_ = len;
        buf = m;
    }
    // Until more than `max` bytes are read: there is room for one more.
    std::size_t got = 0;
    char chunk[65536];
    for (;;) {
        char* into = buf ? buf + got : chunk;
        const std::size_t want = buf ? std::min<std::size_t>(max + 1 - got, std::size_t{1} << 20) : sizeof chunk;
        const ssize_t n = ::read(fd, into, want);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            return Error{e, "cannot read " + s.name_ + ": " + std::strerror(e)};
        }
        got += static_cast<std::size_t>(n);
        if (got > max) return too_long(s.name_, max);
        if (!buf) {
            try {
                grown.append(chunk, static_cast<std::size_t>(n));
            } catch (const std::bad_alloc&) {
                return no_memory(s.name_);
            }
        }
    }
    if (!buf) return from_string(std::move(grown), std::move(s.name_));
    s.data_ = std::string_view(buf, got);
    return s;
}

namespace {

// A file larger than the read limit is mapped, and a mapping does not hold
// the file's bytes: cut short (truncated by another process) while it is
// parsed, the pages past its new end are gone, and touching one raises
// SIGBUS, which would end the process. So each such mapping is entered in
// a table the SIGBUS handler below looks in: for a fault inside one, it
// maps zero pages over the rest of that mapping (from the faulting page),
// marks it cut short and returns, so that the parser reads zeros and goes
// on; Source::intact() then says the file was cut short. Any other SIGBUS
// is left as it would be without the handler.
//
// The table is what a signal handler may read: a fixed array of atomics,
// no lock, no allocation. A slot is claimed (`used`) by the thread that
// maps a file, its range written, then `begin` published; it is let go
// (begin cleared) before the mapping is unmapped, so that no range in the
// table is one the process no longer maps.
struct Watched {
    std::atomic<bool> used{false};
    std::atomic<std::uintptr_t> begin{0};   // 0: no mapping (yet)
    std::atomic<std::uintptr_t> end{0};
    std::atomic<bool> cut{false};           // zero pages were mapped over its end
};
// Each mapping is of a file over the read limit (192 MiB by default): far
// more than a process maps at once (one per thread reading).
constexpr int kWatched = 1024;
Watched g_watched[kWatched];
struct sigaction g_previous {};   // SIGBUS's action before the handler
std::uintptr_t g_page = 4096;

void on_sigbus(int sig, siginfo_t* info, void* context) {
    const int saved = errno;
    // A fault (si_code > 0), not a SIGBUS sent by kill(2) or raise(3).
    if (info && info->si_code > 0) {
        const auto at = reinterpret_cast<std::uintptr_t>(info->si_addr);
        for (Watched& w : g_watched) {
            const std::uintptr_t begin = w.begin.load(std::memory_order_acquire);
            if (begin == 0 || at < begin) continue;
            const std::uintptr_t end = w.end.load(std::memory_order_acquire);
            if (at >= end || w.begin.load(std::memory_order_acquire) != begin) continue;
            const std::uintptr_t page = at & ~(g_page - 1);
            if (::mmap(reinterpret_cast<void*>(page), end - page, PROT_READ,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
                break;   // as if not ours: the process ends
            w.cut.store(true, std::memory_order_release);
            errno = saved;
            return;   // the access is made again, and reads a zero
        }
    }
    // Not in a mapping of ours: the action before ours is put back. A fault
    // recurs as the faulting instruction is run again, a signal sent is
    // sent again; either is then handled (or ends the process) as it would
    // have been without this handler.
    ::sigaction(SIGBUS, &g_previous, nullptr);
    if (!info || info->si_code <= 0) ::raise(sig);
    (void)context;
    errno = saved;
}

// Installed once, the first time a file is mapped.
void install_sigbus_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (const long page = ::sysconf(_SC_PAGESIZE); page > 0) g_page = static_cast<std::uintptr_t>(page);
        ::sigaction(SIGBUS, nullptr, &g_previous);
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGBUS, &sa, nullptr);
    });
}

// A slot for the mapping [m, m + len), or -1 when every slot is taken.
int watch(void* m, std::size_t len) {
    install_sigbus_handler();
    for (int i = 0; i < kWatched; ++i) {
        bool free = false;
        Watched& w = g_watched[i];
        if (!w.used.compare_exchange_strong(free, true, std::memory_order_acq_rel)) continue;
        w.cut.store(false, std::memory_order_relaxed);
        w.end.store(reinterpret_cast<std::uintptr_t>(m) + len, std::memory_order_release);
        w.begin.store(reinterpret_cast<std::uintptr_t>(m), std::memory_order_release);
        return i;
    }
    return -1;
}

void unwatch(int slot) {
    Watched& w = g_watched[slot];
    w.begin.store(0, std::memory_order_release);
    w.end.store(0, std::memory_order_release);
    w.used.store(false, std::memory_order_release);
}

}  // namespace

void Source::unmap() noexcept {
    if (map_slot_ >= 0) unwatch(map_slot_);   // first: the range is in the table only while mapped
    if (map_) munmap(map_, map_len_);
    if (map_fd_ >= 0) ::close(map_fd_);
    map_ = nullptr;
    map_len_ = 0;
    map_fd_ = map_slot_ = -1;
}

Status Source::intact() const {
    if (map_slot_ < 0) return Ok{};   // read into memory: every byte is held
    // A fault past the new end (zero pages mapped there), or a size now
    // smaller than mapped: cut within a page, the rest of that page reads
    // as zeros with no fault at all.
    const bool faulted = g_watched[map_slot_].cut.load(std::memory_order_acquire);
    struct stat st {};
    if (::fstat(map_fd_, &st) != 0) {
        const int e = errno;
        return Error{e, "cannot read " + name_ + ": " + std::strerror(e)};
    }
    const auto now = static_cast<std::uint64_t>(st.st_size);
    if (!faulted && now >= map_len_) return Ok{};
    return detail::cut_short(name_, std::min<std::uint64_t>(now, map_len_), map_len_);
}

Result<Source> Source::open(const std::string& path, std::size_t max) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return Error{e, "cannot open " + path + ": " + std::strerror(e)};
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return Error{e, "cannot stat " + path + ": " + std::strerror(e)};
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return Error{EISDIR, "cannot read " + path + ": " + std::strerror(EISDIR)};
    }
    // A file is read whole (below, and read_fd for a large one): its bytes
    // are then the process's, and a file cut short while it is parsed
    // cannot take pages from under the parser. Only a file over the limit
    // is mapped, so that no message file is refused for its size and none
    // is read only to be refused; cut short while mapped, its pages past
    // the new end read as zeros (on_sigbus) and intact() says so. The
    // file stays open, for its size then.
    if (S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<std::size_t>(st.st_size) > max) {
        auto len = static_cast<std::size_t>(st.st_size);
        void* m = mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            const int slot = watch(m, len);
            if (slot < 0) {
                munmap(m, len);
                ::close(fd);
                return Error{ENOMEM, "cannot read " + path + ": too many large files mapped at once"};
            }
            madvise(m, len, MADV_SEQUENTIAL);
            Source s;
            s.name_ = path;
            s.mtime_ = st.st_mtime;
            s.map_ = m;
            s.map_len_ = len;
            s.map_fd_ = fd;
            s.map_slot_ = slot;
            s.data_ = std::string_view(static_cast<const char*>(m), len);
            return s;
        }
    }
    // A small file is read: one read() costs less than mapping it, faulting
    // its pages in and unmapping it, and it takes none of the process's
    // locks on its address space, which threads reading files at once would
    // all wait for. The buffer is the one this thread read its last file
    // into, when that is large enough.
    if (S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<std::size_t>(st.st_size) < kReadBelow) {
        // One byte more than the size: a file that grew since fstat is read on.
        Buffer buf = take_buffer(static_cast<std::size_t>(st.st_size) + 1);
        if (!buf.bytes) {
            ::close(fd);
            return no_memory(path);
        }
        const auto size = static_cast<std::size_t>(st.st_size);
        std::size_t got = 0;
        for (;;) {
            const std::size_t want = buf.size - got;
            const ssize_t n = ::read(fd, buf.bytes.get() + got, want);
            if (n < 0) {
                if (errno == EINTR) continue;
                const int e = errno;
                ::close(fd);
                give_back(std::move(buf));
                return Error{e, "cannot read " + path + ": " + std::strerror(e)};
            }
            got += static_cast<std::size_t>(n);
            if (got > max) {
                ::close(fd);
                give_back(std::move(buf));
                return too_long(path, max);
            }
            if (n == 0) break;   // the end
            // Short, with every byte fstat counted: the end, without a
            // read() more to say so (a short read before that, as FUSE or
            // NFS may give, is read on).
            if (static_cast<std::size_t>(n) < want && got >= size) break;
            if (got == buf.size) {   // the file grew since fstat
                Buffer larger = take_buffer(2 * buf.size);
                if (!larger.bytes) {
                    ::close(fd);
                    give_back(std::move(buf));
                    return no_memory(path);
                }
                std::memcpy(larger.bytes.get(), buf.bytes.get(), got);
                buf = std::move(larger);
            }
        }
        ::close(fd);
        Source s;
        s.name_ = path;
        s.data_ = std::string_view(buf.bytes.get(), got);
        s.mtime_ = st.st_mtime;
        s.read_ = std::move(buf);
        return s;
    }
    Result<Source> r = read_fd(fd, path, max);
    ::close(fd);
    if (r) r->mtime_ = st.st_mtime;
    return r;
}

const LineIndex& Source::lines() const {
    if (!index_) index_ = std::make_unique<LineIndex>(data_);
    return *index_;
}

}  // namespace msg
