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
#include <deque>
#include <memory>
#include <vector>

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
            case MboxParser::Event::message: kept(out); return true;
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
    virtual void kept(MboxMessage& out) { out.keep.reset(); }  // MboxMessage::keep for a message handed out
    // The parser needs more after the window (`skipped`: it consumed bytes).
    virtual Status more(bool skipped) = 0;

private:
    MboxParser parser_;
    std::string leading_;
};

// A plain archive's mapping, unmapped when the reader and every message
// kept from it (MboxMessage::keep) are gone.
struct Mapping {
    const char* map;
    std::size_t size;
    Mapping(const char* m, std::size_t n) : map(m), size(n) {}
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() { munmap(const_cast<char*>(map), size); }
};

// A stretch of a mapping whose pages are released from the process (the
// file stays in the page cache) when the reader has passed it and no kept
// message holds it any more.
struct Stretch {
    std::shared_ptr<const Mapping> mapping;
    std::size_t begin, end;
    Stretch(std::shared_ptr<const Mapping> m, std::size_t b, std::size_t e) : mapping(std::move(m)), begin(b), end(e) {}
    Stretch(const Stretch&) = delete;
    Stretch& operator=(const Stretch&) = delete;
    ~Stretch() { madvise(const_cast<char*>(mapping->map) + begin, end - begin, MADV_DONTNEED); }
};

// A plain archive, mapped: the parser is given the mapping from its first
// unconsumed byte, in slices of at most max_message plus a few MiB so that
// a message too large to hold is skipped, its pages released, as it goes.
// Pages are released 4 MiB at a time behind the reader; with
// MboxOptions::keep, a stretch that a kept message holds stays until that
// message is let go too.
class MappedMboxReader final : public DrivenMboxReader {
public:
    MappedMboxReader(const char* map, std::size_t size, const MboxOptions& o)
        : DrivenMboxReader(o), mapping_(std::make_shared<const Mapping>(map, size)), map_(map), size_(size),
          keep_(o.keep) {
        constexpr std::size_t kMore = std::size_t{4} << 20;
        slice_ = o.max_message > SIZE_MAX - kMore ? SIZE_MAX : o.max_message + kMore;
    }
    bool compressed() const override { return false; }

private:
    static constexpr std::size_t kStep = std::size_t{4} << 20;

    std::string_view window() const override { return {map_ + pos_, std::min(size_ - pos_, slice_)}; }
    bool at_eof() const override { return size_ - pos_ <= slice_; }
    void consume(std::size_t n) override { pos_ += n; }
    void handed_out() override { release(); }
    Status more(bool skipped) override {
        if (skipped) release();
        else slice_ = slice_ > SIZE_MAX / 2 ? SIZE_MAX : slice_ * 2;  // never: the parser needs less
        return Ok{};
    }

    // Let go of the stretches wholly behind the reader: released now, or
    // when the last message kept in one goes.
    void release() {
        const std::size_t upto = pos_ / kStep;
        while (first_ < upto) {
            std::shared_ptr<Stretch> s;
            if (!live_.empty()) {
                s = std::move(live_.front());
                live_.pop_front();
            }
            if (!s) {
                const std::size_t b = first_ * kStep;
                madvise(const_cast<char*>(map_) + b, std::min(kStep, size_ - b), MADV_DONTNEED);
            }
            ++first_;
        }
    }

    std::shared_ptr<Stretch> stretch(std::size_t k) {
        while (live_.size() <= k - first_) live_.emplace_back();
        std::shared_ptr<Stretch>& s = live_[k - first_];
        if (!s) s = std::make_shared<Stretch>(mapping_, k * kStep, std::min((k + 1) * kStep, size_));
        return s;
    }

    void kept(MboxMessage& out) override {
        out.keep.reset();
        if (!keep_ || out.unquoted || out.too_large || out.data.empty()) return;
        const char* d = out.data.data();
        if (d < map_ || d + out.data.size() > map_ + size_) return;
        const std::size_t b = static_cast<std::size_t>(d - map_), e = b + out.data.size();
        const std::size_t k0 = b / kStep, k1 = (e - 1) / kStep;
        if (k0 < first_) return;   // never: a message starts at or after the reader's last release
        if (k0 == k1) {
            out.keep = stretch(k0);
            return;
        }
        auto all = std::make_shared<std::vector<std::shared_ptr<Stretch>>>();
        for (std::size_t k = k0; k <= k1; ++k) all->push_back(stretch(k));
        out.keep = std::move(all);
    }

    std::shared_ptr<const Mapping> mapping_;
    const char* map_;
    std::size_t size_;
    std::size_t slice_;
    std::size_t pos_ = 0;     // mapping offset of the first byte not consumed
    bool keep_;
    std::size_t first_ = 0;   // stretches before this one were let go
    std::deque<std::shared_ptr<Stretch>> live_;  // from stretch first_ on, made when a message was kept in it
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
