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

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "mbox_frame.hpp"

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

using mbox_detail::find_from;
using mbox_detail::starts_with_from;

// One '>' removed from quoted lines: every line matching ^>+From  (mboxrd)
// or ^>From  (mboxo). Appends the result to `out` and the offsets (in
// `data`) of the removed bytes to `removed`; false when nothing is quoted.
bool unquote(std::string_view data, bool rd, std::string& out, std::vector<std::size_t>& removed) {
    std::size_t copied = 0;
    for (std::size_t q = find_from(data.data(), 0, data.size(), ">From "); q != std::string_view::npos;
         q = find_from(data.data(), q + 1, data.size(), ">From ")) {
        std::size_t s = q;
        while (s > 0 && data[s - 1] == '>') --s;
        if (s > 0 && data[s - 1] != '\n') continue;  // not at the start of a line
        if (!rd && s != q) continue;                  // mboxo: exactly one '>'
        if (removed.empty()) {
            out.clear();
            out.reserve(data.size());
        }
        out.append(data.substr(copied, s - copied));
        removed.push_back(s);
        copied = s + 1;
    }
    if (removed.empty()) return false;
    out.append(data.substr(copied));
    return true;
}

bool is_cl_format(MboxFormat f) { return f == MboxFormat::mboxcl || f == MboxFormat::mboxcl2; }

// An unmapped window is not grown past this to follow a Content-Length.
constexpr std::size_t kMaxClSpan = std::size_t{1} << 30;

class GzMboxReader final : public MboxReader {
public:
    GzMboxReader(gzFile gz, std::string name, const MboxOptions& o)
        : gz_(gz), name_(std::move(name)), opt_(o), format_(o.format) {}
    // A mapped plain archive: the window is the whole mapping.
    GzMboxReader(const char* map, std::size_t size, std::string name, const MboxOptions& o)
        : gz_(nullptr), name_(std::move(name)), opt_(o), format_(o.format), map_(map), map_size_(size) {
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
    MboxFormat format() const override { return format_; }

private:
    // Where a message ends: data is [from_end, msg_end), the next From_ line
    // (or the end of the window) is at next_from.
    struct Frame {
        std::size_t msg_end = 0, next_from = 0;
        bool separator = false, separator_crlf = false;
    };
    // Read more input to the end of the window; false at end of input.
    Result<bool> fill();
    // Read until the window holds `n` bytes or the input ends.
    Status fill_to(std::size_t n);
    void compact();
    std::size_t find_next_from(std::size_t from, std::size_t from_end);
    // From_ line framing of the message whose From_ line ends at from_end.
    Result<Frame> frame_by_from(std::size_t from_end);
    // Content-Length framing; no value (false) when it does not frame the
    // message, and then `scan` says why.
    Result<bool> frame_by_length(std::size_t from_end, Frame& f, mbox_detail::HeaderScan& scan);
    // The window: the read buffer, or the unread part of the mapping.
    const char* win() const { return map_ ? map_ + map_pos_ : buf_.data(); }

    gzFile gz_;
    std::string name_;
    MboxOptions opt_;
    MboxFormat format_;             // detect until the first message resolves it
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
    std::vector<std::size_t> removed_;     // offsets of the '>' unquoting removed
    std::vector<std::size_t> from_lines_;  // window offsets of unquoted "From " lines in the message
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

Status GzMboxReader::fill_to(std::size_t n) {
    while (len_ < n && !eof_) {
        auto r = fill();
        if (!r.ok()) return r.error();
    }
    return Ok{};
}

void GzMboxReader::compact() {
    if (begin_ == 0) return;
    if (map_) {
        map_pos_ += begin_;
        buf_offset_ += begin_;
        len_ -= begin_;
        begin_ = 0;
        // Release what was handed out, 4 MiB at a time (the file stays in
        // the page cache; only this process's resident pages go).
        constexpr std::size_t kStep = std::size_t{4} << 20;
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
// from `from`; npos when none is in the window yet. "From " lines passed
// over (not after an empty line) are remembered in from_lines_.
std::size_t GzMboxReader::find_next_from(std::size_t from, std::size_t from_end) {
    std::string_view w(win(), len_);
    while (true) {
        std::size_t p = find_from(w.data(), from, w.size(), "\nFrom ");
        if (p == std::string_view::npos) return p;
        // the line before must be empty: "\n\nFrom " or "\n\r\nFrom "
        if (p >= 1 && w[p - 1] == '\n') return p + 1;
        if (p >= 2 && w[p - 1] == '\r' && w[p - 2] == '\n') return p + 1;
        // A "From " line inside the message (searches overlap: once each).
        if (p + 1 >= from_end && (from_lines_.empty() || from_lines_.back() < p + 1))
            from_lines_.push_back(p + 1);
        from = p + 1;
    }
}

Result<GzMboxReader::Frame> GzMboxReader::frame_by_from(std::size_t from_end) {
    Frame f;
    from_lines_.clear();
    // Find the next message's From_ line, reading more as needed.
    std::size_t search = from_end - 1;
    std::size_t next_from;
    for (;;) {
        next_from = find_next_from(search, from_end);
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
    // The message ends before the separating empty line: the one before
    // the next From_ line, or a last empty line at the end of the archive.
    const char* w = win();
    std::size_t msg_end = next_from;
    auto empty_line_before = [&](std::size_t end) -> std::size_t {  // its length, or 0
        if (end <= from_end || w[end - 1] != '\n') return 0;
        if (end - 1 >= from_end && end >= 2 && w[end - 2] == '\n') return 1;
        if (end - 2 >= from_end && end >= 3 && w[end - 2] == '\r' && w[end - 3] == '\n') return 2;
        return 0;
    };
    const std::size_t sep = empty_line_before(next_from);
    if (sep > 0) {
        msg_end = next_from - sep;
        f.separator = true;
        f.separator_crlf = sep == 2;
    }
    f.msg_end = msg_end;
    f.next_from = next_from;
    return f;
}

Result<bool> GzMboxReader::frame_by_length(std::size_t from_end, Frame& f, mbox_detail::HeaderScan& h) {
    constexpr std::size_t kMaxHeader = std::size_t{1} << 20;
    for (;;) {
        h = mbox_detail::scan_header(std::string_view(win() + from_end, len_ - from_end), eof_);
        if (h.complete) break;
        if (len_ - from_end > kMaxHeader) return false;
        auto r = fill();
        if (!r.ok()) return r.error();
    }
    if (!h.cl_present || !h.cl_valid) return false;
    const std::size_t body_start = from_end + h.body_start;
    if (h.cl > std::uint64_t{SIZE_MAX} - body_start - 8) return false;
    const std::size_t body_end = body_start + static_cast<std::size_t>(h.cl);
    if (!map_ && body_end > kMaxClSpan) return false;
    if (auto st = fill_to(body_end + 7); !st.ok()) return st.error();
    if (body_end > len_) return false;
    const std::string_view rest(win() + body_end, len_ - body_end);
    f.msg_end = body_end;
    f.separator = false;
    f.separator_crlf = false;
    if (rest.empty()) {
        f.next_from = body_end;
    } else if (rest == "\n" || rest == "\r\n" || rest.starts_with("\nFrom ") || rest.starts_with("\r\nFrom ")) {
        f.separator = true;
        f.separator_crlf = rest[0] == '\r';
        f.next_from = body_end + (f.separator_crlf ? 2 : 1);
    } else if (starts_with_from(rest)) {
        f.next_from = body_end;
    } else {
        return false;
    }
    // A message without a body: the empty line after its header block is
    // the separator, not the start of an empty body.
    if (h.cl == 0 && h.blank_len > 0 && !f.separator) {
        f.msg_end = body_start - h.blank_len;
        f.separator = true;
        f.separator_crlf = h.blank_len == 2;
    }
    return true;
}

Result<bool> GzMboxReader::next(MboxMessage& out) {
    compact();
    // Find the From_ line that starts the next message.
    if (index_ == 0) {
        for (;;) {
            std::string_view w(win(), len_);
            std::size_t p = std::string_view::npos;
            if (starts_with_from(w)) p = 0;
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
    if (auto st = fill_to(from_end + 5); !st.ok()) return st.error();

    out.defects.clear();
    Frame f;
    from_lines_.clear();
    if (starts_with_from(std::string_view(win() + from_end, len_ - from_end))) {
        // An empty message: the next From_ line follows at once.
        f.msg_end = f.next_from = from_end;
        if (format_ == MboxFormat::detect) format_ = MboxFormat::mboxrd;
    } else {
        bool framed = false;
        mbox_detail::HeaderScan h;
        if (format_ == MboxFormat::detect || is_cl_format(format_)) {
            auto r = frame_by_length(from_end, f, h);
            if (!r.ok()) return r.error();
            framed = *r;
            if (format_ == MboxFormat::detect) {
                // mboxcl2 only on evidence: a body framed by its Content-Length
                // that holds a "From " line, which only a Content-Length format
                // can carry unquoted. Many mboxrd writers add an exact
                // Content-Length too, and reading those as mboxcl2 would leave
                // their ">From " lines quoted.
                bool cl2 = false;
                if (framed)
                    cl2 = find_from(win(), from_end, f.msg_end, "\nFrom ") != std::string_view::npos;
                if (!cl2) framed = false;
                format_ = cl2 ? MboxFormat::mboxcl2 : MboxFormat::mboxrd;
            }
        }
        if (!framed) {
            auto r = frame_by_from(from_end);
            if (!r.ok()) return r.error();
            f = *r;
            if (is_cl_format(format_)) {
                from_lines_.clear();
                if (f.msg_end > from_end) {
                    std::string detail;
                    if (!h.cl_present) detail = "no Content-Length field";
                    else if (!h.cl_valid) detail = "Content-Length is not a number";
                    else
                        detail = "Content-Length " + std::to_string(h.cl) + ", the body has " +
                                 std::to_string(f.msg_end - std::min(f.msg_end, from_end + h.body_start)) +
                                 " bytes up to the next From_ line";
                    const std::size_t at = h.cl_present ? h.cl_offset : 0;
                    out.defects.push_back({DefectCode::MboxContentLengthMismatch, at, std::move(detail)});
                }
            }
        }
    }

    const char* w = win();
    // Strip exactly the line break (LF or CRLF): any other CR stays part of
    // the line, so that a writer can give it back.
    std::size_t fl_len = from_end;
    if (fl_len > 0 && w[fl_len - 1] == '\n') {
        --fl_len;
        if (fl_len > 5 && w[fl_len - 1] == '\r') --fl_len;
    }
    out.index = index_++;
    out.offset = buf_offset_;
    out.line = begin_line_;
    out.from_line = std::string_view(w, fl_len).substr(fl_len >= 5 ? 5 : fl_len);
    out.from_crlf = from_end >= 2 && w[from_end - 1] == '\n' && w[from_end - 2] == '\r';
    out.separator = f.separator;
    out.separator_crlf = f.separator_crlf;
    out.format = format_;
    out.data_offset = buf_offset_ + from_end;
    out.data_line = begin_line_ + 1;
    std::string_view data(w + from_end, f.msg_end - from_end);
    if (format_ == MboxFormat::mboxrd || format_ == MboxFormat::mboxo)
        for (std::size_t p : from_lines_)
            if (p < f.msg_end)
                out.defects.push_back({DefectCode::MboxUnquotedFrom, p - from_end, {}});
    out.unquoted = false;
    removed_.clear();
    if (format_ != MboxFormat::mboxcl2 &&
        unquote(data, format_ == MboxFormat::mboxrd, unquoted_, removed_)) {
        data = unquoted_;
        out.unquoted = true;
        // Defect offsets are into the unquoted copy.
        for (Defect& d : out.defects)
            d.offset -= static_cast<std::size_t>(
                std::lower_bound(removed_.begin(), removed_.end(), d.offset) - removed_.begin());
    }
    out.data = data;
    begin_line_ += count_newlines(w, f.next_from);
    begin_ = f.next_from;
    return true;
}

}  // namespace

std::string_view format_name(MboxFormat f) {
    switch (f) {
    case MboxFormat::mboxrd: return "mboxrd";
    case MboxFormat::mboxo: return "mboxo";
    case MboxFormat::mboxcl: return "mboxcl";
    case MboxFormat::mboxcl2: return "mboxcl2";
    case MboxFormat::detect: return "detect";
    }
    return "mboxrd";
}

std::optional<MboxFormat> parse_format(std::string_view name) {
    for (MboxFormat f : {MboxFormat::mboxrd, MboxFormat::mboxo, MboxFormat::mboxcl, MboxFormat::mboxcl2,
                         MboxFormat::detect})
        if (name == format_name(f)) return f;
    return std::nullopt;
}

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
