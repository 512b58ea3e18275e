// mbox.cpp - the mbox reader: a driver of MboxParser over plain or gzip input.
//
// The archive is read in chunks into one window buffer: a plain file with
// read(2), anything else (gzip, pipes, standard input) through zlib's gz*
// interface, which inflates gzip and passes other bytes through unchanged.
// The window keeps only the bytes the parser has not consumed (at most one
// message), so memory follows max_message, not the archive. A plain file
// is read, not mapped: a chunk read into a buffer that stays in the cache
// costs less than mapping every page of the archive, faulting it in and
// releasing it, and a file cut short while it is read gives an error, not
// SIGBUS.
#include "msg/mbox.hpp"

#include "detail/huge_buffer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace msg {
namespace {

// The reader: the parser is given the window's bytes it has not consumed,
// and more are read when it needs them, until it hands out a message or
// the end. The window is filled through zlib, which inflates gzip and
// passes other bytes through, or, for a plain file, with read(2) itself
// (`fd`, no zlib: one copy less).
class StreamMboxReader final : public MboxReader {
public:
    // `expected`: a plain file's size when it was opened.
    StreamMboxReader(gzFile gz, int fd, std::uint64_t expected, std::string name, const MboxOptions& o)
        : parser_(o), gz_(gz), fd_(fd), expected_(expected), name_(std::move(name)), read_size_(o.read_size) {
        constexpr std::size_t kSlack = 64;  // the parser holds less than max_message + 16
        max_window_ = o.max_message > SIZE_MAX - kSlack - read_size_ ? SIZE_MAX : o.max_message + kSlack + read_size_;
    }
    ~StreamMboxReader() override {
        if (gz_) gzclose(gz_);
        else ::close(fd_);
    }

    Result<bool> next(MboxMessage& out) override {
        for (;;) {
            const MboxParser::Step s = parser_.put({buf_.data() + begin_, len_ - begin_}, eof_, out);
            begin_ += s.consumed;
            switch (s.event) {
            case MboxParser::Event::message: out.keep.reset(); return true;
            case MboxParser::Event::end: return false;
            // Copied: the window moves (and there are max_message at most).
            case MboxParser::Event::leading: leading_.assign(parser_.leading()); break;
            case MboxParser::Event::need_more:
                if (eof_) return false;  // never: the parser finishes at eof
                if (Status st = fill(); !st.ok()) return st.error();
                break;
            }
        }
    }
    std::uint64_t leading_garbage() const override { return parser_.leading_size(); }
    std::string_view leading() const override { return leading_; }
    MboxFormat format() const override { return parser_.format(); }
    bool compressed() const override { return compressed_; }

private:
    // Drop the consumed bytes and read more after the rest; at the end of
    // input, set eof_.
    Status fill() {
        if (begin_ > 0) {
            std::memmove(buf_.data(), buf_.data() + begin_, len_ - begin_);
            len_ -= begin_;
            begin_ = 0;
        }
        if (buf_.capacity() < len_ + read_size_) {
            // Grow geometrically, but never past what the parser may hold
            // plus one read: memory follows max_message, not the message.
            const std::size_t cap = std::max(len_ + read_size_, std::min(buf_.capacity() * 2, max_window_));
            if (Status st = buf_.reserve(cap, len_); !st)
                return Error{st.error().errnum, "cannot read " + name_ + ": " + st.error().message};
        }
        if (!gz_) return fill_plain();
        const int n = gzread(gz_, buf_.data() + len_, static_cast<unsigned>(read_size_));
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
        }
        len_ += static_cast<std::size_t>(n);
        return Ok{};
    }

    Status fill_plain() {
        ssize_t n;
        do n = ::read(fd_, buf_.data() + len_, read_size_);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            const int e = errno;
            return Error{e, "cannot read " + name_ + ": " + std::strerror(e)};
        }
        if (n == 0) {
            eof_ = true;
            if (read_ < expected_)   // shrunk: the last message would be cut
                return Error{0, "cannot read " + name_ + ": the file was cut short while it was read (" +
                                    std::to_string(read_) + " of " + std::to_string(expected_) + " bytes)"};
        }
        len_ += static_cast<std::size_t>(n);
        read_ += static_cast<std::uint64_t>(n);
        return Ok{};
    }

    MboxParser parser_;
    std::string leading_;
    gzFile gz_;   // or, without it, a plain file read from
    int fd_;
    std::uint64_t expected_ = 0, read_ = 0;   // its size when opened, bytes read
    std::string name_;
    std::size_t read_size_;
    detail::HugeBuffer buf_;       // the window
    std::size_t max_window_;       // ... which never needs to pass this
    std::size_t begin_ = 0;        // first byte the parser has not consumed
    std::size_t len_ = 0;          // bytes valid in buf_
    bool eof_ = false;
    bool started_ = false;
    bool compressed_ = false;
};

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
    // A regular, non-empty file that does not start with the gzip magic
    // (standard input aside: it may not be read from its start) is read
    // without zlib.
    struct stat st {};
    unsigned char magic[2] = {0, 0};
    const bool plain = path != "-" && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
                       pread(fd, magic, 2, 0) >= 1 && !(magic[0] == 0x1f && magic[1] == 0x8b);
    if (plain) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    const std::string name = path == "-" ? "<stdin>" : path;
    if (plain)
        return std::unique_ptr<MboxReader>(
            new StreamMboxReader(nullptr, fd, static_cast<std::uint64_t>(st.st_size), name, o));
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        ::close(fd);
        return Error{ENOMEM, "cannot open " + path + ": out of memory"};
    }
    gzbuffer(gz, 1 << 17);
    return std::unique_ptr<MboxReader>(new StreamMboxReader(gz, -1, 0, name, o));
}

}  // namespace msg
