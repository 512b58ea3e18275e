// mbox_pieces.cpp - a plain archive cut into pieces that frame on their own
// (MboxPieces, mbox.hpp), for threads that frame at once.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "detail/cut_short.hpp"
#include "detail/huge_buffer.hpp"
#include "mbox_frame.hpp"
#include "msg/mbox.hpp"

namespace msg {
namespace {

// The archive's file, open, from which pieces are read (cut_read,
// frame_read), and its size when it was opened. It is read, never mapped:
// a file cut short since it was opened is an error, not SIGBUS.
struct File {
    int fd;
    std::size_t size;
    std::string path;
    File(int f, std::size_t n, std::string p) : fd(f), size(n), path(std::move(p)) {}
    // The file could not be read where its size said it has bytes: an
    // error (errno), or it was cut short since it was opened (0).
    Error read_error(int e) const {
        if (e == 0) return detail::cut_short(path);
        return Error{e, "cannot read " + path + ": " + std::strerror(e)};
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File() { ::close(fd); }
};

// Whether the line break at p[q] ends an empty line ("\n\n", "\n\r\n").
bool ends_empty_line(const char* p, std::size_t q) {
    return (q >= 1 && p[q - 1] == '\n') || (q >= 2 && p[q - 1] == '\r' && p[q - 2] == '\n');
}

// Read `n` bytes at `offset` of the file: an error naming it when they are
// not there (a read error, or the file cut short since it was opened).
Status pread_all(const File& file, char* to, std::size_t n, std::size_t offset) {
    for (std::size_t got = 0; got < n;) {
        const ssize_t r = ::pread(file.fd, to + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return file.read_error(r < 0 ? errno : 0);
        got += static_cast<std::size_t>(r);
    }
    return Ok{};
}

// No memory for a piece's bytes: an error naming the file.
Error no_room(const File& file, const Status& st) {
    return Error{st.error().errnum, "cannot read " + file.path + ": " + st.error().message};
}

// The first cut at or after `from` and before `limit`: a From_ line after
// an empty line ("\n\nFrom ", "\n\r\nFrom "), or the archive's start; npos
// when there is none. Read through a small buffer: a stretch inside a long
// message (no cut in it) is searched without holding its bytes.
Result<std::size_t> cut_read(const File& file, std::size_t from, std::size_t limit) {
    if (from == 0) return std::size_t{0};   // the archive starts with a From_ line
    constexpr std::size_t kBlock = std::size_t{64} << 10;
    char buf[kBlock];   // on the stack: no allocation, zero-filling or page faults per search
    const std::size_t last = std::min(file.size, limit + 5);   // a match's bytes end by here
    for (std::size_t q0 = from - 1; q0 + 6 <= last;) {
        const std::size_t lo = q0 >= 2 ? q0 - 2 : 0;   // two bytes before, for the empty line
        const std::size_t hi = std::min(last, lo + kBlock);
        if (Status st = pread_all(file, buf, hi - lo, lo); !st) return st.error();
        for (std::size_t from_q = q0 - lo;;) {
            const std::size_t q = mbox_detail::find_from(buf, from_q, hi - lo, "\nFrom ");
            if (q == std::string_view::npos) break;
            if (lo + q + 1 >= limit) return std::string_view::npos;
            if (ends_empty_line(buf, q)) return lo + q + 1;
            from_q = q + 1;
        }
        if (hi >= last) break;
        q0 = hi - 5;   // a match across the block's end starts at hi - 5 or later
    }
    return std::string_view::npos;
}

// A piece read from the file: the buffer its messages are views into,
// held by their MboxMessage::keep. In huge pages: the buffers of -j 2 over
// the mixed corpus of tests/bench took 1,300 faults of small pages, at
// about 12 µs each on the virtual machine measured.
using PieceBuffer = detail::HugeBuffer;

// The room a thread's buffer is first given (address space: its pages are
// faulted in only as they are read into). A piece that goes on past it (a
// long message) goes on in a larger buffer of its own.
constexpr std::size_t kFirstRoom = std::size_t{32} << 20;
// Bytes the parser consumed kept before those it did not when the window
// moves on: the check for a cut after a message looks back at the line
// breaks before it.
constexpr std::size_t kBack = 8;
// The buffer a thread read its last piece into, taken again when nothing
// holds it any more (no allocation and no page faults per piece).
thread_local std::vector<std::shared_ptr<PieceBuffer>> t_spare;

std::shared_ptr<PieceBuffer> take_buffer() { return detail::reuse_buffer(t_spare, 1); }

// Frame the piece that starts at the cut `b` (a parser's offset 0), read
// from the file into a buffer a read at a time and framed as it comes,
// while the read is in the cache, up to the first cut at or past
// `stretch_end`; the messages are views into the buffer, held by their
// keep. Each byte of the piece is read once. When the buffer is full, the
// bytes the parser has not consumed (at most a message, max_message) go on
// in a buffer of their own, twice as large when they fill most of it (a
// long message; a buffer of its own that no message holds grows where it
// is), or at the front of this one when no message holds it (a message
// too large to hold, skipped as it goes). Returns the line breaks
// before where framing stopped; an error when the file cannot be read as
// its size said.
Result<std::uint64_t> frame_read(const File& file, std::size_t stretch_end, std::size_t b,
                                 const MboxOptions& options, const std::function<void(MboxMessage&)>& fn) {
    const std::size_t room = file.size - b;   // the piece's bytes at most
    // Read options.read_size at a time (at least 4096, as MboxReader reads),
    // each read framed while it is in the cache.
    const std::size_t chunk = std::max<std::size_t>(options.read_size, 4096);
    // What the parser may leave unconsumed (less than max_message + 16),
    // the bytes kept before it and one read more.
    constexpr std::size_t kSlack = 64;
    const std::size_t max_window = options.max_message > SIZE_MAX - kSlack - chunk
                                       ? SIZE_MAX
                                       : options.max_message + kSlack + chunk;
    std::shared_ptr<PieceBuffer> buf = take_buffer();
    std::size_t limit = std::min({room, kFirstRoom, max_window});   // buf is filled to this at most
    if (Status st = buf->reserve(limit); !st) return no_room(file, st);
    bool held = false;          // a message handed out views buf
    bool own = false;           // buf is this piece's, not the thread's to reuse
    std::size_t base = 0;       // the piece offset of buf's first byte
    std::size_t filled = 0;     // bytes in buf
    std::size_t e = 0;          // ... of which the parser consumed these
    MboxParser parser(options);
    MboxMessage m;
    for (;;) {
        char* const p = buf->data();
        const MboxParser::Step s = parser.put(std::string_view(p + e, filled - e), base + filled == room, m);
        e += s.consumed;
        if (s.event == MboxParser::Event::end) break;
        if (s.event == MboxParser::Event::message) {
            // Every message but one too large (its from_line a copy): an
            // unquoted one's from_line is a view into the buffer too.
            m.keep = m.too_large ? nullptr : buf;
            held = held || !m.too_large;
            fn(m);
            // Stopped at the first cut at or past the stretch's end (the
            // archive's end is one): a message starts after an empty line.
            const bool cut = base + e == room || (p[e - 1] == '\n' && ends_empty_line(p, e - 1));
            if (b + base + e >= stretch_end && cut) break;
            continue;
        }
        if (s.event != MboxParser::Event::need_more) continue;   // (a piece starts with a From_ line: no leading)
        if (filled == limit) {
            // Held only while a message handed out still holds it (a caller
            // that works on each message as it comes lets it go at once):
            // else its bytes move to its front, its pages used again.
            m.keep.reset();
            if (held && buf.use_count() == (own ? 1 : 2)) {   // (the thread's is in t_spare too)
                std::atomic_thread_fence(std::memory_order_acquire);   // as detail::reuse_buffer
                held = false;
            }
            const std::size_t from = e - std::min(e, kBack);
            const std::size_t tail = filled - from;
            if (held || tail + chunk > limit) {
                // Twice as large for a long message; as large for the bytes
                // after messages that hold this one.
                const std::size_t next =
                    std::max(tail + chunk, tail > limit / 2 ? std::min(2 * limit, max_window) : limit);
                if (own && !held) {
                    // Grown where it is: its pages move, nothing is copied.
                    if (from > 0) std::memmove(p, p + from, tail);
                    if (Status st = buf->reserve(next, tail); !st) return no_room(file, st);
                } else {
                    auto more = std::make_shared<PieceBuffer>();
                    if (Status st = more->reserve(next); !st) return no_room(file, st);
                    std::memcpy(more->data(), p + from, tail);
                    buf = std::move(more);
                    own = true;
                }
                limit = next;
                held = false;
            } else {
                std::memmove(p, p + from, tail);
            }
            base += from;
            filled = tail;
            e -= from;
        }
        const std::size_t n = std::min({chunk, limit - filled, room - base - filled});
        if (Status st = pread_all(file, buf->data() + filled, n, b + base + filled); !st) return st.error();
        filled += n;
    }
    return parser.line_breaks();   // (counted as it consumed)
}

}  // namespace

Result<std::optional<MboxPieces>> MboxPieces::open(const std::string& path, MboxFormat format,
                                                   std::size_t stretch) {
    if (format != MboxFormat::mboxrd && format != MboxFormat::mboxo) return std::optional<MboxPieces>();
    // Looked at before it is opened: a FIFO is not opened twice (here, and
    // by the reader that reads it as a stream).
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return std::optional<MboxPieces>();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        return Error{e, "cannot open " + path + ": " + std::strerror(e)};
    }
    char head[5] = {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 5 || ::pread(fd, head, 5, 0) != 5 ||
        std::memcmp(head, "From ", 5) != 0) {
        ::close(fd);
        return std::optional<MboxPieces>();   // gzip, leading bytes, not a file: read as a stream
    }
    MboxPieces p;
    p.size_ = static_cast<std::uint64_t>(st.st_size);
    p.file_ = std::make_shared<const File>(fd, static_cast<std::size_t>(p.size_), path);
    p.set_stretch(stretch);
    return std::optional<MboxPieces>(std::move(p));
}

bool MboxPieces::next(MboxPiece& piece) {
    if (at_ >= size_) return false;
    piece.begin = at_;
    piece.end = at_ = std::min<std::uint64_t>(size_, at_ + stretch_);
    piece.file = file_;
    return true;
}

Result<std::uint64_t> MboxPieces::frame(const MboxPiece& piece, const MboxOptions& options, std::uint64_t& at,
                                        const std::function<void(MboxMessage&)>& fn) {
    const auto* file = static_cast<const File*>(piece.file.get());
    if (!file) return Error{EINVAL, "a piece of no archive"};
    // The stretch's first cut: none when it lies inside a message of an
    // earlier piece.
    const auto b = cut_read(*file, piece.begin, piece.end);
    if (!b) return b.error();
    if (*b == std::string_view::npos) {
        at = piece.end;
        return std::uint64_t{0};
    }
    at = *b;
    return frame_read(*file, piece.end, *b, options, fn);
}

}  // namespace msg
