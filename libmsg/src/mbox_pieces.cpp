// mbox_pieces.cpp - a plain archive cut into pieces that frame on their own
// (MboxPieces, mbox.hpp), for threads that frame at once.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mbox_frame.hpp"
#include "msg/mbox.hpp"

namespace msg {
namespace {

struct Mapped {
    const char* map;
    std::size_t size;
    Mapped(const char* m, std::size_t n) : map(m), size(n) {}
    Mapped(const Mapped&) = delete;
    Mapped& operator=(const Mapped&) = delete;
    ~Mapped() { munmap(const_cast<char*>(map), size); }
};

// A piece's pages, released from the process (the file stays in the page
// cache) when the piece and every message kept from it are gone. Whole
// pages, rounded outwards: a neighbour still reading a page at the ends
// faults it in again from the page cache (the mapping is never written).
struct Held {
    std::shared_ptr<const void> mapping;
    const char* map;
    std::size_t begin, end;
    Held(std::shared_ptr<const void> m, const char* p, std::size_t b, std::size_t e)
        : mapping(std::move(m)), map(p), begin(b), end(e) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() {   // (end set before any message is let go)
        if (!mapping) return;   // not a piece of MboxPieces' mapping: not ours to release
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        const std::size_t b = begin / page * page;
        madvise(const_cast<char*>(map) + b, end - b, MADV_DONTNEED);
    }
};

// Whether a message that starts at `at` starts at a cut: after an empty
// line (not directly after the From_ line of an empty message), or at the
// archive's end.
bool at_cut(std::string_view a, std::size_t at) {
    if (at >= a.size()) return true;
    return (at >= 2 && a[at - 1] == '\n' && a[at - 2] == '\n') ||
           (at >= 3 && a[at - 1] == '\n' && a[at - 2] == '\r' && a[at - 3] == '\n');
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
        if ((q >= 1 && a[q - 1] == '\n') || (q >= 2 && a[q - 1] == '\r' && a[q - 2] == '\n')) return q + 1;
        at = q + 1;
    }
}

}  // namespace

Result<std::optional<MboxPieces>> MboxPieces::open(const std::string& path, MboxFormat format,
                                                   std::size_t stretch) {
    if (format != MboxFormat::mboxrd && format != MboxFormat::mboxo) return std::optional<MboxPieces>();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        return Error{e, "cannot open " + path + ": " + std::strerror(e)};
    }
    struct stat st {};
    char head[5] = {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 5 || ::pread(fd, head, 5, 0) != 5 ||
        std::memcmp(head, "From ", 5) != 0) {
        ::close(fd);
        return std::optional<MboxPieces>();   // gzip, leading bytes, not a file: read as a stream
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (m == MAP_FAILED) return Error{e, "cannot map " + path + ": " + std::strerror(e)};
    madvise(m, size, MADV_SEQUENTIAL);
    MboxPieces p;
    p.archive_ = std::string_view(static_cast<const char*>(m), size);
    p.mapping_ = std::make_shared<const Mapped>(p.archive_.data(), size);
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

std::uint64_t MboxPieces::frame(const MboxPiece& piece, const MboxOptions& options, std::uint64_t& at,
                                const std::function<void(MboxMessage&)>& fn) {
    const std::string_view a = piece.archive;
    const std::size_t b = cut(a, piece.begin, piece.end);
    at = b == std::string_view::npos ? piece.end : b;
    if (b == std::string_view::npos) return 0;   // inside a message of an earlier piece
    // The parser is given the rest of the archive and stops at the first
    // cut at or past the stretch's end: the next piece's first cut.
    auto held = std::make_shared<Held>(piece.mapping, a.data(), b, a.size());
    MboxParser parser(options);
    MboxMessage m;
    std::string_view rest = a.substr(b);
    std::size_t e = b;
    while (e < piece.end || !at_cut(a, e)) {
        const MboxParser::Step s = parser.put(rest, true, m);
        rest.remove_prefix(s.consumed);
        e += s.consumed;
        if (s.event == MboxParser::Event::end) break;
        if (s.event != MboxParser::Event::message) continue;   // never: a piece starts with a From_ line
        m.keep = m.unquoted || m.too_large ? nullptr : held;
        fn(m);
    }
    held->end = e;   // its pages, when the last message kept lets go
    return mbox_detail::count_newlines(a.data() + b, e - b);
}

}  // namespace msg
