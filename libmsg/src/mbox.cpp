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

#include "detail/cut_short.hpp"
#include "detail/huge_buffer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

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
    // `plain`: a regular file read as it is; else the input is looked at
    // (gzip, or bytes passed through: standard input, a pipe).
    StreamMboxReader(bool plain, int fd, std::uint64_t expected, std::string name, const MboxOptions& o)
        : parser_(o), fd_(fd), expected_(expected), name_(std::move(name)), read_size_(o.read_size),
          mode_(plain ? Mode::plain : Mode::start) {
        constexpr std::size_t kSlack = 64;  // the parser holds less than max_message + 16
        max_window_ = o.max_message > SIZE_MAX - kSlack - read_size_ ? SIZE_MAX : o.max_message + kSlack + read_size_;
    }
    ~StreamMboxReader() override {
        if (inflating_) inflateEnd(&zs_);
        ::close(fd_);
    }

    Result<bool> next(MboxMessage& out) override {
        for (;;) {
            const MboxParser::Step s = parser_.put({buf_.data() + begin_, len_ - begin_}, eof_, out);
            begin_ += s.consumed;
            switch (s.event) {
            case MboxParser::Event::message: out.keep.reset(); return true;
            case MboxParser::Event::end:
                if (after_) return *after_;
                return false;
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
        if (mode_ == Mode::plain) return fill_plain();
        return fill_looked_at();
    }

    // Compressed bytes (or, passed through, plain ones) read from fd_ after
    // those not used yet; false at the end of the file.
    Result<bool> read_in() {
        if (!in_) in_ = std::make_unique<unsigned char[]>(kIn);
        if (zs_.avail_in > 0 && zs_.next_in != in_.get()) std::memmove(in_.get(), zs_.next_in, zs_.avail_in);
        zs_.next_in = in_.get();
        ssize_t n;
        do n = ::read(fd_, in_.get() + zs_.avail_in, kIn - zs_.avail_in);
        while (n < 0 && errno == EINTR);
        if (n < 0) return read_failed(errno);
        zs_.avail_in += static_cast<uInt>(n);
        raw_ += static_cast<std::uint64_t>(n);
        if (n == 0) in_eof_ = true;
        return n > 0;
    }

    // Inflated gzip members one after another (as gzip -d reads them), or
    // the bytes as they are when the input does not start with gzip's
    // magic. Bytes after the last member that are not another one are an
    // error, not ignored: mail appended to a compressed archive is not
    // lost without a word.
    Status fill_looked_at() {
        auto* const out = reinterpret_cast<unsigned char*>(buf_.data() + len_);
        zs_.next_out = out;
        zs_.avail_out = static_cast<uInt>(read_size_);
        while (zs_.avail_out == read_size_ && !eof_) {
            if (mode_ == Mode::start || mode_ == Mode::between) {
                // Two bytes say whether a member starts (or, at the start,
                // whether the input is gzip at all).
                if (zs_.avail_in < 2 && !in_eof_) {
                    if (auto r = read_in(); !r) return r.error();
                    continue;
                }
                const bool magic = zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b;
                if (mode_ == Mode::start) compressed_ = magic;
                if (!magic && mode_ == Mode::start) {
                    mode_ = Mode::direct;
                    continue;
                }
                if (!magic) {
                    // Zeros after the last member (a padded file, as tar
                    // leaves one) are skipped, as gzip -d skips them.
                    while (zs_.avail_in > 0 && zs_.next_in[0] == 0) {
                        ++zs_.next_in;
                        --zs_.avail_in;
                    }
                    if (zs_.avail_in == 0 && !in_eof_) {
                        if (auto r = read_in(); !r) return r.error();
                        continue;
                    }
                    if (zs_.avail_in > 0 && !after_) {
                        // Every message of the gzip data is handed out
                        // first: the error comes at the end.
                        after_ = Error{0, "cannot read " + name_ + ": the bytes after its gzip data, from byte " +
                                              std::to_string(raw_ - zs_.avail_in) + ", are not gzip (they are not read)"};
                    }
                    eof_ = true;
                    break;
                }
                if (!inflating_) {
                    if (inflateInit2(&zs_, 15 + 16) != Z_OK)
                        return Error{ENOMEM, "cannot read " + name_ + ": cannot start the gzip decompressor"};
                    inflating_ = true;
                } else {
                    inflateReset(&zs_);
                }
                mode_ = Mode::member;
                final_block_done_ = false;
                continue;
            }
            if (mode_ == Mode::direct) {
                // The bytes looked at go first; then the window is read
                // into as a plain file's is (no copy through in_).
                if (zs_.avail_in == 0) {
                    if (!in_eof_) return fill_plain();
                    eof_ = true;
                    break;
                }
                const uInt n = std::min(zs_.avail_in, zs_.avail_out);
                std::memcpy(zs_.next_out, zs_.next_in, n);
                zs_.next_in += n;
                zs_.avail_in -= n;
                zs_.next_out += n;
                zs_.avail_out -= n;
                continue;
            }
            // Mode::member
            if (zs_.avail_in == 0 && !in_eof_) {
                if (auto r = read_in(); !r) return r.error();
                continue;
            }
            // Z_BLOCK: inflate stops at each block's end, where data_type
            // says whether it was the member's final block. Once the input
            // is all read, what zlib still holds (the rest of a match, the
            // final block's end) comes out first: Z_BUF_ERROR says when
            // nothing more can.
            const int r = inflate(&zs_, Z_BLOCK);
            if ((zs_.data_type & 192) == 192) final_block_done_ = true;
            if (r == Z_STREAM_END) {
                mode_ = Mode::between;
            } else if (r == Z_BUF_ERROR && zs_.avail_in == 0 && in_eof_) {
                if (!final_block_done_) return cut_short("the gzip data ends early, at byte " + std::to_string(raw_));
                // Only the trailer is missing: every byte was inflated
                // (the last message too, handed out before the error),
                // but none could be checked against the CRC.
                after_ = Error{0, "cannot read " + name_ + ": the gzip data ends without its trailer (CRC and size), at byte " +
                                      std::to_string(raw_) + ": the data could not be checked"};
                eof_ = true;
                break;
            } else if (r == Z_DATA_ERROR && final_block_done_ && only_trailer_left()) {
                // The trailer's CRC or size does not match: every byte was
                // inflated (the last message too, handed out before the
                // error, as every one before it), but the data failed its
                // check. What follows is not read.
                after_ = Error{0, "cannot read " + name_ + ": the gzip data fails its check (" +
                                      std::string(zs_.msg ? zs_.msg : "trailer mismatch") + ") at byte " +
                                      std::to_string(raw_ - zs_.avail_in) + ": the data may be damaged"};
                eof_ = true;
                break;
            } else if (r != Z_OK && !(r == Z_BUF_ERROR && zs_.avail_in == 0)) {   // (no progress with input left: stuck)
                return cut_short(std::string(zs_.msg ? zs_.msg : "gzip data corrupt") + " at byte " +
                                 std::to_string(raw_ - zs_.avail_in));
            }
        }
        len_ += read_size_ - zs_.avail_out;
        return Ok{};
    }

    // After a trailer that does not match: is nothing left but the rest of
    // that trailer (its size field, at most 4 bytes), at the end of the
    // file? Then the member was the last and every byte was inflated; if
    // another member follows, the message it would go on with is cut.
    bool only_trailer_left() {
        while (zs_.avail_in <= 4 && !in_eof_)
            if (auto r = read_in(); !r) return false;
        return zs_.avail_in <= 4;
    }

    // The archive cannot be read past `what`: the messages before the one
    // being framed were handed out; that one is named, as it is lost.
    Error cut_short(const std::string& what) const {
        return Error{0, "cannot read " + name_ + ": " + what + " (the archive is truncated or corrupt)" + lost()};
    }
    // The archive cannot be read on (an I/O error): the same, so that the
    // reader knows where the archive's messages stopped.
    Error read_failed(int e) const { return Error{e, "cannot read " + name_ + ": " + std::strerror(e) + lost()}; }
    // "; message N, from line L, is cut short and not read", for the
    // message being framed, or "" between messages.
    std::string lost() const {
        const auto p = parser_.pending();
        if (!p) return {};
        return "; message " + std::to_string(p->index + 1) + ", from line " + std::to_string(p->line) +
               ", is cut short and not read";
    }

    Status fill_plain() {
        ssize_t n;
        do n = ::read(fd_, buf_.data() + len_, read_size_);
        while (n < 0 && errno == EINTR);
        if (n < 0) return read_failed(errno);
        if (n == 0) {
            eof_ = true;
            if (read_ < expected_)   // shrunk: the last message would be cut
                // a read error (EIO: exit 74), as MboxPieces says of it too
                return detail::cut_short(name_, read_, expected_);
        }
        len_ += static_cast<std::size_t>(n);
        read_ += static_cast<std::uint64_t>(n);
        return Ok{};
    }

    // How the input is read: a regular file as it is; else looked at
    // first, then gzip members (one, or between two) or passed through.
    enum class Mode : std::uint8_t { plain, start, member, between, direct };
    static constexpr std::size_t kIn = std::size_t{128} << 10;

    MboxParser parser_;
    std::string leading_;
    int fd_;
    std::uint64_t expected_ = 0, read_ = 0;   // its size when opened, bytes read
    std::string name_;
    std::size_t read_size_;
    detail::HugeBuffer buf_;       // the window
    std::size_t max_window_;       // ... which never needs to pass this
    std::size_t begin_ = 0;        // first byte the parser has not consumed
    std::size_t len_ = 0;          // bytes valid in buf_
    bool eof_ = false;
    bool compressed_ = false;
    Mode mode_;
    z_stream zs_{};                      // the looked-at input: what is left of it, and the inflater
    bool inflating_ = false;             // ... once started
    bool final_block_done_ = false;      // the member's deflate data ended: its trailer is next
    std::unique_ptr<unsigned char[]> in_;
    bool in_eof_ = false;                // the file's end was read
    std::uint64_t raw_ = 0;              // bytes read from the file
    std::optional<Error> after_;         // said once the messages before it are out
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
    return std::unique_ptr<MboxReader>(
        new StreamMboxReader(plain, fd, plain ? static_cast<std::uint64_t>(st.st_size) : 0, name, o));
}

}  // namespace msg
