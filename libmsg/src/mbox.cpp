// mbox.cpp - streaming mbox reader over plain or gzip input.
//
// A plain archive that is a regular file is memory-mapped and messages are
// views into the mapping; pages already handed out are dropped from the
// process as reading goes on, so resident memory stays bounded. Anything
// else (gzip, pipes, standard input) is read through zlib's gz* interface,
// which inflates gzip and passes other bytes through unchanged, in chunks
// into one window buffer; the window keeps only the message being read, so
// memory follows the largest message, not the archive.
#include "msg/mbox.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace msg {
namespace {

// Number of '\n' bytes in [p, p+n), 16 bytes at a time.
std::uint64_t count_newlines(const char* p, std::size_t n) {
    std::uint64_t lines = 0;
    std::size_t i = 0;
    // 16 byte-wide counters, summed before they can overflow: compilers turn
    // the inner loop into vector compare-and-subtract.
    while (n - i >= 16) {
        std::size_t blocks = (n - i) / 16;
        if (blocks > 255) blocks = 255;
        std::uint8_t lane[16] = {};
        for (std::size_t b = 0; b < blocks; ++b, i += 16)
            for (int k = 0; k < 16; ++k) lane[k] = static_cast<std::uint8_t>(lane[k] + (p[i + k] == '\n'));
        for (int k = 0; k < 16; ++k) lines += lane[k];
    }
    for (; i < n; ++i) lines += p[i] == '\n';
    return lines;
}

// Position of the next `needle` (at least 2 bytes) in [from, n), or npos.
// The needles here ("\nFrom ", ">From ") start with bytes that occur on
// every line or so, where memchr would stop again and again: look for the
// first two bytes together, 16 positions at a time.
std::size_t find_from(const char* p, std::size_t from, std::size_t n, std::string_view needle) {
    const std::size_t k = needle.size();
    std::size_t i = from;
#if defined(__SSE2__)
    const __m128i c0 = _mm_set1_epi8(needle[0]), c1 = _mm_set1_epi8(needle[1]);
    for (; i + 17 <= n; i += 16) {
        const __m128i a = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), c0);
        const __m128i b = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1)), c1);
        for (auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(a, b))); m; m &= m - 1) {
            const std::size_t q = i + static_cast<std::size_t>(std::countr_zero(m));
            if (q + k <= n && std::memcmp(p + q, needle.data(), k) == 0) return q;
        }
    }
#endif
    for (; i + k <= n; ++i)
        if (p[i] == needle[0] && std::memcmp(p + i, needle.data(), k) == 0) return i;
    return std::string_view::npos;
}

bool is_from_line(const char* p, std::size_t n) { return n >= 5 && std::memcmp(p, "From ", 5) == 0; }

class GzMboxReader final : public MboxReader {
public:
    GzMboxReader(gzFile gz, std::string name, const MboxOptions& o)
        : gz_(gz), name_(std::move(name)), opt_(o) {}
    // A mapped plain archive: the window is the whole mapping.
    GzMboxReader(const char* map, std::size_t size, std::string name, const MboxOptions& o)
        : gz_(nullptr), name_(std::move(name)), opt_(o), map_(map), map_size_(size) {
        len_ = size;
        eof_ = true;
        started_ = true;
    }
    ~GzMboxReader() override {
        if (gz_) gzclose(gz_);
        if (map_) munmap(const_cast<char*>(map_), map_size_);
    }

    Result<bool> next(MboxMessage& out) override;
    std::uint64_t leading_garbage() const override { return garbage_; }
    bool compressed() const override { return compressed_; }

private:
    // Read more input to the end of the window; false at end of input.
    Result<bool> fill();
    void compact();
    std::size_t find_next_from(std::size_t from) const;
    // The window: the read buffer, or the unread part of the mapping.
    const char* win() const { return map_ ? map_ + map_pos_ : buf_.data(); }

    gzFile gz_;
    std::string name_;
    MboxOptions opt_;
    const char* map_ = nullptr;     // the mapping of a plain archive, or null
    std::size_t map_size_ = 0;
    std::size_t map_pos_ = 0;       // mapping offset of the window
    std::size_t map_dropped_ = 0;   // pages before this offset were released
    std::string buf_;           // the window (when not mapped)
    std::size_t begin_ = 0;     // first byte not yet handed out
    std::size_t len_ = 0;       // bytes valid in buf_
    std::uint64_t buf_offset_ = 0;  // archive offset of buf_[0]
    std::uint64_t begin_line_ = 1;  // line number at buf_[begin_]
    bool eof_ = false;
    bool started_ = false;
    bool compressed_ = false;
    std::uint64_t garbage_ = 0;
    std::uint64_t index_ = 0;
    std::string unquoted_;
};

Result<bool> GzMboxReader::fill() {
    if (eof_ || map_) return false;
    if (buf_.size() < len_ + opt_.read_size) buf_.resize(len_ + opt_.read_size);
    int n = gzread(gz_, buf_.data() + len_, static_cast<unsigned>(opt_.read_size));
    if (n < 0) {
        int err = 0;
        const char* what = gzerror(gz_, &err);
        return Error{err == Z_ERRNO ? errno : 0, "cannot read " + name_ + ": " +
                                                     (err == Z_ERRNO ? std::strerror(errno) : what)};
    }
    if (!started_) compressed_ = gzdirect(gz_) == 0;
    started_ = true;
    if (n == 0) {
        eof_ = true;
        int err = 0;
        const char* what = gzerror(gz_, &err);
        if (err != Z_OK && err != Z_STREAM_END)
            return Error{0, "cannot read " + name_ + ": " + what + " (the archive is truncated or corrupt)"};
        return false;
    }
    len_ += static_cast<std::size_t>(n);
    return true;
}

void GzMboxReader::compact() {
    if (begin_ == 0) return;
    if (map_) {
        map_pos_ += begin_;
        buf_offset_ += begin_;
        len_ -= begin_;
        begin_ = 0;
        // Release what was handed out, 16 MiB at a time (the file stays in
        // the page cache; only this process's resident pages go).
        constexpr std::size_t kStep = std::size_t{16} << 20;
        if (map_pos_ - map_dropped_ >= kStep) {
            const std::size_t upto = map_pos_ / kStep * kStep;
            madvise(const_cast<char*>(map_) + map_dropped_, upto - map_dropped_, MADV_DONTNEED);
            map_dropped_ = upto;
        }
        return;
    }
    std::memmove(buf_.data(), buf_.data() + begin_, len_ - begin_);
    buf_offset_ += begin_;
    len_ -= begin_;
    begin_ = 0;
}

// Position of the next From_ line that follows an empty line, searching
// from `from`; npos when none is in the window yet.
std::size_t GzMboxReader::find_next_from(std::size_t from) const {
    std::string_view w(win(), len_);
    while (true) {
        std::size_t p = find_from(w.data(), from, w.size(), "\nFrom ");
        if (p == std::string_view::npos) return p;
        // the line before must be empty: "\n\nFrom " or "\n\r\nFrom "
        if (p >= 1 && w[p - 1] == '\n') return p + 1;
        if (p >= 2 && w[p - 1] == '\r' && w[p - 2] == '\n') return p + 1;
        from = p + 1;
    }
}

Result<bool> GzMboxReader::next(MboxMessage& out) {
    compact();
    // Find the From_ line that starts the next message.
    if (index_ == 0) {
        for (;;) {
            std::string_view w(win(), len_);
            std::size_t p = std::string_view::npos;
            if (is_from_line(w.data(), w.size())) p = 0;
            else if (std::size_t q = find_from(w.data(), 0, w.size(), "\nFrom "); q != std::string_view::npos)
                p = q + 1;
            if (p != std::string_view::npos) {
                garbage_ = p;
                begin_line_ += count_newlines(w.data(), p);
                begin_ = p;
                compact();
                break;
            }
            if (len_ >= 5 && eof_) {
                garbage_ = len_;
                return false;
            }
            auto r = fill();
            if (!r.ok()) return r.error();
            if (!*r) {
                garbage_ = len_;
                return false;
            }
        }
    }
    if (len_ == 0) {
        auto r = fill();
        if (!r.ok()) return r.error();
        if (!*r) return false;
    }
    // The window now starts at a From_ line; find its end.
    std::size_t from_end;
    for (;;) {
        const void* nl = std::memchr(win(), '\n', len_);
        if (nl) {
            from_end = static_cast<std::size_t>(static_cast<const char*>(nl) - win()) + 1;
            break;
        }
        auto r = fill();
        if (!r.ok()) return r.error();
        if (!*r) {
            from_end = len_;
            break;
        }
    }
    // Find the next message's From_ line, reading more as needed.
    std::size_t search = from_end > 0 ? from_end - 1 : 0;
    std::size_t next_from;
    for (;;) {
        next_from = find_next_from(search);
        if (next_from != std::string_view::npos) break;
        search = len_ > 8 ? len_ - 8 : 0;
        if (search < from_end - 1) search = from_end - 1;
        auto r = fill();
        if (!r.ok()) return r.error();
        if (!*r) {
            next_from = len_;
            break;
        }
    }
    // The message ends before the separating empty line.
    std::size_t msg_end = next_from;
    if (next_from < len_ || (len_ >= 2 && win()[len_ - 1] == '\n' && (win()[len_ - 2] == '\n' ||
                                                                      (len_ >= 3 && win()[len_ - 2] == '\r' && win()[len_ - 3] == '\n')))) {
        if (msg_end > from_end && win()[msg_end - 1] == '\n') {
            --msg_end;
            if (msg_end > from_end && win()[msg_end - 1] == '\r') --msg_end;
        }
    }
    if (msg_end < from_end) msg_end = from_end;

    std::size_t fl_len = from_end;
    while (fl_len > 0 && (win()[fl_len - 1] == '\n' || win()[fl_len - 1] == '\r')) --fl_len;
    out.index = index_++;
    out.offset = buf_offset_;
    out.line = begin_line_;
    out.from_line = std::string_view(win(), fl_len).substr(fl_len >= 5 ? 5 : fl_len);
    out.data_offset = buf_offset_ + from_end;
    out.data_line = begin_line_ + 1;
    std::string_view data(win() + from_end, msg_end - from_end);
    out.unquoted = false;
    if (opt_.format == MboxFormat::mboxrd &&
        find_from(data.data(), 0, data.size(), ">From ") != std::string_view::npos) {
        // mboxrd: remove one '>' from each line matching ^>+From
        unquoted_.clear();
        unquoted_.reserve(data.size());
        std::size_t i = 0;
        while (i < data.size()) {
            std::size_t e = data.find('\n', i);
            e = e == std::string_view::npos ? data.size() : e + 1;
            std::string_view line = data.substr(i, e - i);
            std::size_t g = 0;
            while (g < line.size() && line[g] == '>') ++g;
            if (g > 0 && line.substr(g).starts_with("From ")) line.remove_prefix(1);
            unquoted_.append(line);
            i = e;
        }
        data = unquoted_;
        out.unquoted = true;
    }
    out.data = data;
    begin_line_ += count_newlines(win(), next_from);
    begin_ = next_from;
    return true;
}

}  // namespace

Result<std::unique_ptr<MboxReader>> MboxReader::open(const std::string& path,
                                                     const MboxOptions& options) {
    int fd = path == "-" ? ::dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return Error{e, "cannot open " + path + ": " + std::strerror(e)};
    }
    MboxOptions o = options;
    if (o.read_size < 4096) o.read_size = 4096;
    // A regular, non-empty file that does not start with the gzip magic is mapped.
    struct stat st {};
    unsigned char magic[2] = {0, 0};
    if (o.map && path != "-" && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        pread(fd, magic, 2, 0) >= 1 && !(magic[0] == 0x1f && magic[1] == 0x8b)) {
        const auto size = static_cast<std::size_t>(st.st_size);
        void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            ::close(fd);
            madvise(m, size, MADV_SEQUENTIAL);
            return std::unique_ptr<MboxReader>(new GzMboxReader(static_cast<const char*>(m), size, path, o));
        }
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        ::close(fd);
        return Error{ENOMEM, "cannot open " + path + ": out of memory"};
    }
    gzbuffer(gz, 1 << 17);
    return std::unique_ptr<MboxReader>(new GzMboxReader(gz, path == "-" ? "<stdin>" : path, o));
}

}  // namespace msg
