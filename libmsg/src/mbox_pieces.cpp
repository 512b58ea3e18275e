// mbox_pieces.cpp - a plain archive cut into pieces that frame on their own
// (MboxPieces, mbox.hpp), for threads that frame at once.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "detail/huge_buffer.hpp"
#include "mbox_frame.hpp"
#include "msg/mbox.hpp"

namespace msg {
namespace {

// The archive mapped, and its file open, from which pieces are read
// (cut_read, frame_read).
struct Mapped {
    const char* map;
    std::size_t size;
    int fd;
    std::string path;
    Mapped(const char* m, std::size_t n, int f, std::string p) : map(m), size(n), fd(f), path(std::move(p)) {}
    // The file could not be read where its size said it has bytes: an
    // error (errno), or it was cut short since it was opened (0).
    Error read_error(int e) const {
        return Error{e, "cannot read " + path + ": " +
                            (e != 0 ? std::strerror(e) : "the file was cut short while it was read")};
    }
    Mapped(const Mapped&) = delete;
    Mapped& operator=(const Mapped&) = delete;
    ~Mapped() {
        munmap(const_cast<char*>(map), size);
        ::close(fd);
    }
};

// Release the pages of [begin, end) from the process (the file stays in
// the page cache): whole pages, rounded outwards; a neighbour still reading
// a page at the ends faults it in again (the mapping is never written).
// Only for pieces of MboxPieces' own mapping.
void release(const std::shared_ptr<const void>& mapping, const char* map, std::size_t begin, std::size_t end) {
    if (!mapping || begin >= end) return;
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t b = begin / page * page;
    madvise(const_cast<char*>(map) + b, end - b, MADV_DONTNEED);
}

// The pages a piece read, released when the piece and every message kept
// from it are gone.
struct Held {
    std::shared_ptr<const void> mapping;
    const char* map;
    std::size_t begin, end;   // end grows as the piece is framed
    Held(std::shared_ptr<const void> m, const char* p, std::size_t b, std::size_t e)
        : mapping(std::move(m)), map(p), begin(b), end(e) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() { release(mapping, map, begin, end); }
};

// Whether the line break at p[q] ends an empty line ("\n\n", "\n\r\n").
bool ends_empty_line(const char* p, std::size_t q) {
    return (q >= 1 && p[q - 1] == '\n') || (q >= 2 && p[q - 1] == '\r' && p[q - 2] == '\n');
}

// Whether a message that starts at `at` starts at a cut: after an empty
// line (not directly after the From_ line of an empty message), or at the
// archive's end.
bool at_cut(std::string_view a, std::size_t at) {
    if (at >= a.size()) return true;
    return at >= 1 && a[at - 1] == '\n' && ends_empty_line(a.data(), at - 1);
}

// The first cut at or after `from` and before `limit`: a From_ line after
// an empty line ("\n\nFrom ", "\n\r\nFrom "), or the archive's start; npos
// when there is none.
std::size_t cut(std::string_view a, std::size_t from, std::size_t limit) {
    if (from == 0) return 0;   // the archive starts with a From_ line
    const std::size_t n = std::min(a.size(), limit + 5);   // "\nFrom " whose "From " starts before limit
    for (std::size_t at = from - 1;;) {
        const std::size_t q = mbox_detail::find_from(a.data(), at, n, "\nFrom ");
        if (q == std::string_view::npos || q + 1 >= limit) return std::string_view::npos;
        if (ends_empty_line(a.data(), q)) return q + 1;
        at = q + 1;
    }
}

// Read `n` bytes at `offset` of the file: an error naming it when they are
// not there (a read error, or the file cut short since it was opened).
Status pread_all(const Mapped& file, char* to, std::size_t n, std::size_t offset) {
    for (std::size_t got = 0; got < n;) {
        const ssize_t r = ::pread(file.fd, to + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return file.read_error(r < 0 ? errno : 0);
        got += static_cast<std::size_t>(r);
    }
    return Ok{};
}

// cut(), reading the file through a small buffer rather than the mapping:
// a stretch inside a long message (no cut in it) is searched without its
// pages entering the process, where they would stay after the worker that
// frames the message has let them go, and a file cut short since it was
// opened is an error, not SIGBUS.
Result<std::size_t> cut_read(const Mapped& file, std::string_view a, std::size_t from, std::size_t limit) {
    if (from == 0) return std::size_t{0};
    constexpr std::size_t kBlock = std::size_t{64} << 10;
    char buf[kBlock];   // on the stack: no allocation, zero-filling or page faults per search
    const std::size_t last = std::min(a.size(), limit + 5);   // a match's bytes end by here
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

// A piece is read into its buffer through at most this many bytes (nor
// more than max_message); a piece that goes on past them (a long message)
// is framed on through the mapping, which lets the pages of a message too
// large to hold go as it passes them. (With a cap of 2 MiB, msgcheck -j 2
// over the mixed corpus of tests/bench took 8% less time, over forty 10 MB
// messages 39% more: faulting a mapping's pages in costs more than reading
// them on the virtual machine measured.)
constexpr std::size_t kReadCap = std::size_t{32} << 20;
// ... in reads of this many bytes, each framed while it is in the cache.
constexpr std::size_t kChunk = std::size_t{256} << 10;
// The buffer a thread read its last piece into, taken again when nothing
// holds it any more (no allocation and no page faults per piece).
thread_local std::vector<std::shared_ptr<PieceBuffer>> t_spare;

std::shared_ptr<PieceBuffer> take_buffer() { return detail::reuse_buffer(t_spare, 1); }

// Frame the piece that starts at the cut `b` (a parser's offset 0) from the
// file itself, read into a buffer of the calling thread's a chunk at a time
// and framed as it comes, while the chunk is in the cache, up to the first
// cut at or past the stretch's end; the messages are views into the
// buffer, held by their keep. On this path no page of the archive is
// mapped, which costs more than the copy read() makes, and each byte of
// the piece is read once. True when the piece is framed; false when it
// goes on past the buffer's room (a long message): `e` is then where
// `parser` stopped, to go on through the mapping. `e` (from b) and `lines`
// (the line breaks before it) are where framing got to. An error when the
// file cannot be read as its size said.
Result<bool> frame_read(const Mapped& file, std::size_t size, std::size_t stretch_end, std::size_t b,
                        const MboxOptions& options, MboxParser& parser,
                        const std::function<void(MboxMessage&)>& fn, std::size_t& e, std::uint64_t& lines) {
    const std::size_t room = size - b;   // the piece's bytes at most
    const std::size_t cap = std::min({room, kReadCap, std::max<std::size_t>(options.max_message, 1)});
    std::shared_ptr<PieceBuffer> buf = take_buffer();
    if (Status st = buf->reserve(cap); !st) return st.error();
    char* const p = buf->data();
    std::size_t filled = 0;
    std::uint64_t read_lines = 0;   // in [0, filled)
    MboxMessage m;
    e = 0;
    for (;;) {
        const MboxParser::Step s = parser.put(std::string_view(p + e, filled - e), filled == room, m);
        e += s.consumed;
        if (s.event == MboxParser::Event::end) break;
        if (s.event == MboxParser::Event::message) {
            // Every message: an unquoted one's from_line is a view into the
            // buffer too.
            m.keep = m.too_large ? nullptr : buf;
            fn(m);
            if (b + e >= stretch_end && at_cut(std::string_view(p, room), e)) break;   // (bytes before e are read)
            continue;
        }
        if (s.event != MboxParser::Event::need_more) continue;   // (a piece starts with a From_ line: no leading)
        if (filled == cap) {   // a long message: on through the mapping
            lines = read_lines - mbox_detail::count_newlines(p + e, filled - e);
            return false;
        }
        const std::size_t n = std::min(kChunk, cap - filled);
        if (Status st = pread_all(file, p + filled, n, b + filled); !st) return st.error();
        read_lines += mbox_detail::count_newlines(p + filled, n);
        filled += n;
    }
    lines = read_lines - mbox_detail::count_newlines(p + e, filled - e);
    return true;
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
    const auto size = static_cast<std::size_t>(st.st_size);
    void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        return Error{e, "cannot map " + path + ": " + std::strerror(e)};
    }
    madvise(m, size, MADV_SEQUENTIAL);
    MboxPieces p;
    p.archive_ = std::string_view(static_cast<const char*>(m), size);
    p.mapping_ = std::make_shared<const Mapped>(p.archive_.data(), size, fd, path);
    p.stretch_ = std::max<std::size_t>(stretch, 1);
    return std::optional<MboxPieces>(std::move(p));
}

bool MboxPieces::next(MboxPiece& piece) {
    if (at_ >= archive_.size()) return false;
    piece.archive = archive_;
    piece.begin = at_;
    piece.end = at_ = std::min(archive_.size(), at_ + stretch_);
    piece.mapping = mapping_;
    return true;
}

Result<std::uint64_t> MboxPieces::frame(const MboxPiece& piece, const MboxOptions& options, std::uint64_t& at,
                                        const std::function<void(MboxMessage&)>& fn) {
    const std::string_view a = piece.archive;
    // The stretch's first cut, read from the file where it was opened here
    // (not through the mapping: a stretch inside a long message is searched
    // without its pages entering the process, and a file cut short since
    // it was opened is an error, not SIGBUS); pieces of bytes in memory
    // are searched where they are.
    const Mapped* file = static_cast<const Mapped*>(piece.mapping.get());
    std::size_t b = std::string_view::npos;
    if (file) {
        const auto found = cut_read(*file, a, piece.begin, piece.end);
        if (!found) return found.error();
        b = *found;
    } else {
        b = cut(a, piece.begin, piece.end);
    }
    if (b == std::string_view::npos) {   // inside a message of an earlier piece
        at = piece.end;
        return std::uint64_t{0};
    }
    at = b;
    MboxParser parser(options);
    std::size_t e = b;           // where the parser got to
    std::uint64_t lines = 0;     // the line breaks before e
    if (file) {
        std::size_t got = 0;
        auto read = frame_read(*file, a.size(), piece.end, b, options, parser, fn, got, lines);
        if (!read) return read.error();
        if (*read) return lines;
        e = b + got;
    }
    // On through the mapping (a piece longer than its buffer's room, from
    // where the parser stopped in it), or the bytes in memory: the pages
    // from there to where framing stops are held.
    const std::size_t from = e;
    auto held = std::make_shared<Held>(piece.mapping, a.data(), from, from);
    // The parser is given the archive from the first byte it has not
    // consumed, in slices of max_message and a few MiB, as MboxReader does
    // (a message too large to hold is skipped, its pages released, as it
    // goes), until the first cut at or past the stretch's end: the next
    // piece's first cut.
    constexpr std::size_t kMore = std::size_t{4} << 20;
    std::size_t slice = options.max_message > SIZE_MAX - kMore ? SIZE_MAX : options.max_message + kMore;
    MboxMessage m;
    // (Stopped at only after a message: where a message too large to hold
    // is skipped to may look like a cut.)
    while (e < a.size()) {
        const std::size_t n = std::min(a.size() - e, slice);
        const bool eof = e + n == a.size();
        const MboxParser::Step s = parser.put(a.substr(e, n), eof, m);
        if (s.event == MboxParser::Event::need_more) {
            if (s.consumed > 0) release(piece.mapping, a.data(), e, e + s.consumed);   // skipped
            else slice = slice > SIZE_MAX / 2 ? SIZE_MAX : slice * 2;   // never: the parser needs less
        }
        e += s.consumed;
        held->end = e;
        if (s.event == MboxParser::Event::end) break;
        if (s.event != MboxParser::Event::message) continue;   // (a piece starts with a From_ line: no leading)
        m.keep = m.too_large ? nullptr : held;   // an unquoted message's From_ line is a view into the piece
        fn(m);
        if (e >= piece.end && at_cut(a, e)) break;
    }
    return lines + mbox_detail::count_newlines(a.data() + from, e - from);
}

}  // namespace msg
