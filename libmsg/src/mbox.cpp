// mbox.cpp - the mbox reader: a driver of MboxParser over plain or gzip input.
//
// A plain archive that is a regular file is memory-mapped and messages are
// views into the mapping; pages already handed out (or skipped) are dropped
// from the process as reading goes on, so resident memory stays bounded.
// Anything else (gzip, pipes, standard input) is read through zlib's gz*
// interface, which inflates gzip and passes other bytes through unchanged,
// in chunks into one window buffer; the window keeps only the bytes the
// parser has not consumed (at most one message), so memory follows
// max_message, not the archive.
#include "msg/mbox.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace msg {
namespace {

// The loop both kinds of input share: give the parser the bytes it has not
// consumed, and more when it needs them, until it hands out a message or
// the end.
class DrivenMboxReader : public MboxReader {
public:
    explicit DrivenMboxReader(const MboxOptions& o) : parser_(o) {}

    Result<bool> next(MboxMessage& out) override {
        handed_out();
        for (;;) {
            const bool eof = at_eof();
            const MboxParser::Step s = parser_.put(window(), eof, out);
            consume(s.consumed);
            switch (s.event) {
            case MboxParser::Event::message: return true;
            case MboxParser::Event::end: return false;
            // Copied: the window moves (and there are max_message at most).
            case MboxParser::Event::leading: leading_.assign(parser_.leading()); break;
            case MboxParser::Event::need_more:
                if (eof) return false;  // never: the parser finishes at eof
                if (Status st = more(s.consumed > 0); !st.ok()) return st.error();
                break;
            }
        }
    }
    std::uint64_t leading_garbage() const override { return parser_.leading_size(); }
    std::string_view leading() const override { return leading_; }
    MboxFormat format() const override { return parser_.format(); }

protected:
    virtual std::string_view window() const = 0;  // from the first byte not consumed
    virtual bool at_eof() const = 0;              // the window holds the rest of the input
    virtual void consume(std::size_t n) = 0;
    virtual void handed_out() {}                  // the last message's bytes are no longer needed
    // The parser needs more after the window (`skipped`: it consumed bytes).
    virtual Status more(bool skipped) = 0;

private:
    MboxParser parser_;
    std::string leading_;
};

// A plain archive, mapped: the parser is given the mapping from its first
// unconsumed byte, in slices of at most max_message plus a few MiB so that
// a message too large to hold is skipped, its pages released, as it goes.
class MappedMboxReader final : public DrivenMboxReader {
public:
    MappedMboxReader(const char* map, std::size_t size, const MboxOptions& o)
        : DrivenMboxReader(o), map_(map), size_(size) {
        constexpr std::size_t kMore = std::size_t{4} << 20;
        slice_ = o.max_message > SIZE_MAX - kMore ? SIZE_MAX : o.max_message + kMore;
    }
    ~MappedMboxReader() override { munmap(const_cast<char*>(map_), size_); }
    bool compressed() const override { return false; }

private:
    std::string_view window() const override { return {map_ + pos_, std::min(size_ - pos_, slice_)}; }
    bool at_eof() const override { return size_ - pos_ <= slice_; }
    void consume(std::size_t n) override { pos_ += n; }
    void handed_out() override { release(); }
    Status more(bool skipped) override {
        if (skipped) release();
        else slice_ = slice_ > SIZE_MAX / 2 ? SIZE_MAX : slice_ * 2;  // never: the parser needs less
        return Ok{};
    }

    // Release what was handed out or skipped, 4 MiB at a time (the file stays
    // in the page cache; only this process's resident pages go).
    void release() {
        constexpr std::size_t kStep = std::size_t{4} << 20;
        if (pos_ - dropped_ < kStep) return;
        const std::size_t upto = pos_ / kStep * kStep;
        madvise(const_cast<char*>(map_) + dropped_, upto - dropped_, MADV_DONTNEED);
        dropped_ = upto;
    }

    const char* map_;
    std::size_t size_;
    std::size_t slice_;
    std::size_t pos_ = 0;      // mapping offset of the first byte not consumed
    std::size_t dropped_ = 0;  // pages before this offset were released
};

// Anything else, read through zlib into a window buffer.
class StreamMboxReader final : public DrivenMboxReader {
public:
    StreamMboxReader(gzFile gz, std::string name, const MboxOptions& o)
        : DrivenMboxReader(o), gz_(gz), name_(std::move(name)), read_size_(o.read_size) {
        constexpr std::size_t kSlack = 64;  // the parser holds less than max_message + 16
        max_window_ = o.max_message > SIZE_MAX - kSlack - read_size_ ? SIZE_MAX : o.max_message + kSlack + read_size_;
    }
    ~StreamMboxReader() override { gzclose(gz_); }
    bool compressed() const override { return compressed_; }

private:
    std::string_view window() const override { return {buf_.get() + begin_, len_ - begin_}; }
    bool at_eof() const override { return eof_; }
    void consume(std::size_t n) override { begin_ += n; }
    Status more(bool) override { return fill(); }

    // Drop the consumed bytes and read more after the rest; at the end of
    // input, set eof_.
    Status fill() {
        if (begin_ > 0) {
            std::memmove(buf_.get(), buf_.get() + begin_, len_ - begin_);
            len_ -= begin_;
            begin_ = 0;
        }
        if (cap_ < len_ + read_size_) {
            // Grow geometrically, but never past what the parser may hold
            // plus one read: memory follows max_message, not the message.
            // realloc: a large block is moved by remapping its pages, so
            // that growing does not need the old and the new at once.
            const std::size_t cap = std::max(len_ + read_size_, std::min(cap_ * 2, max_window_));
            char* grown = static_cast<char*>(std::realloc(buf_.get(), cap));
            if (!grown) return Error{ENOMEM, "cannot read " + name_ + ": out of memory"};
            (void)buf_.release();
            buf_.reset(grown);
            cap_ = cap;
        }
        const int n = gzread(gz_, buf_.get() + len_, static_cast<unsigned>(read_size_));
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

    MboxParser parser_;
    gzFile gz_;
    std::string name_;
    std::size_t read_size_;
    std::unique_ptr<char, decltype(&std::free)> buf_{nullptr, &std::free};  // the window
    std::size_t cap_ = 0;          // its size
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
            return std::unique_ptr<MboxReader>(new MappedMboxReader(static_cast<const char*>(m), size, o));
        }
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        ::close(fd);
        return Error{ENOMEM, "cannot open " + path + ": out of memory"};
    }
    gzbuffer(gz, 1 << 17);
    return std::unique_ptr<MboxReader>(new StreamMboxReader(gz, path == "-" ? "<stdin>" : path, o));
}

}  // namespace msg
