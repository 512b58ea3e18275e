// source.hpp - an input buffer and its line index.
//
// A Source is one contiguous byte buffer: a file's bytes read into memory
// (a read-only memory map only for a file over the read limit), or bytes
// it owns (standard input, a decompressed archive member, a test string).
// Everything libmsg parses is a span of such a buffer; offsets are byte
// positions from its start.
//
// A mapped file cut short while it is in use does not take the process
// down (SIGBUS): the pages past its new end read as zeros, and intact()
// says so afterwards. Whoever opens a file checks intact() once done with
// its bytes.
//
// Line and column are computed only when a diagnostic is printed: LineIndex
// records where lines start on first use and then answers by binary search.
// Lines are counted at LF; a CR belongs to the line it ends. Columns are
// 1-based byte columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "msg/limits.hpp"
#include "msg/result.hpp"

namespace msg {

struct LineCol {
    std::uint64_t line = 1;   // 1-based
    std::uint64_t column = 1; // 1-based, in bytes
};

// Positions in a copy of a text from which one byte was removed at the
// start of some lines (an archive's message with its ">From " lines
// unquoted; `lines`: where those lines begin in the copy, ascending), as
// they are in the text: the offset, and the column on the line.
std::size_t archive_offset(std::span<const std::size_t> lines, std::size_t offset) noexcept;
std::uint64_t archive_column(std::span<const std::size_t> lines, std::size_t offset, std::uint64_t column) noexcept;

// Lines and columns of offsets in a buffer (which must outlive it). It
// keeps one mark per 4 KiB block, made as far as the offsets asked for
// reach: memory is a 256th of the text's size at most, not a word per line,
// and a locate() scans at most a block. Not for use by several threads at
// once.
class LineIndex {
public:
    LineIndex() = default;
    explicit LineIndex(std::string_view text) : text_(text) {}
    // Position of byte `offset`; an offset past the end maps past the last byte.
    LineCol locate(std::size_t offset) const;
    // The number of lines (line breaks + 1).
    std::size_t lines() const { return static_cast<std::size_t>(locate(text_.size()).line); }

private:
    static constexpr std::size_t kBlock = 4096;
    struct Mark {
        std::uint64_t line;       // the line a block's first byte is on
        std::size_t line_start;   // where that line starts
    };
    struct Position {
        std::size_t at;   // a byte offset (at most the text's size)
        Mark mark;        // the line it is on, and where that line starts
    };
    std::string_view text_;
    mutable std::vector<Mark> marks_{Mark{1, 0}};   // marks_[b]: block b
    mutable Position last_{0, Mark{1, 0}};          // the last offset located
};

class Source {
public:
    // Read a file whole: a small one (under 1 MiB) into a buffer its thread
    // reuses, a larger one into huge pages; once read, the file may change
    // or be cut short without touching the bytes held. A file larger than
    // `max` is mapped read-only instead (not refused for its size): cut
    // short while it is mapped, its pages past the new end read as zeros,
    // never SIGBUS, and intact() says it was.
    static Result<Source> open(const std::string& path, std::size_t max = kMaxRead);
    // Read all of standard input (or any fd) into an owned buffer.
    static Result<Source> read_fd(int fd, std::string name, std::size_t max = kMaxRead);
    // Standard input or a pipe longer than `max` bytes is refused (EFBIG,
    // the error names the limit) as soon as the reading passes it, not held
    // whole. The default is the limit of one message in an mbox archive
    // (limits.hpp).
    static constexpr std::size_t kMaxRead = Limits{}.max_mbox_message;
    // Own a copy of bytes (tests, decompressed data).
    static Source from_string(std::string bytes, std::string name = "-");

    Source(Source&&) noexcept;
    Source& operator=(Source&&) noexcept;
    ~Source();

    std::string_view data() const { return data_; }
    // Whether data() holds the file's bytes: an error naming the file
    // (EIO, "the file was cut short while it was read", as the mbox
    // readers say it: exit 74) when a mapped file was cut short since it
    // was opened, its pages past the new end read as zeros; Ok for
    // anything read into memory. Checked once the bytes were used (parsed,
    // copied), before what was made of them is kept.
    Status intact() const;
    // The modification time of the file open() read; 0 for any other source.
    std::time_t mtime() const { return mtime_; }
    const std::string& name() const { return name_; }
    // Lazily built line index of data().
    const LineIndex& lines() const;
    LineCol locate(std::size_t offset) const { return lines().locate(offset); }

private:
    Source() = default;
    std::string name_;
    std::string_view data_;
    std::time_t mtime_ = 0;
    std::string owned_;
    // A small file's bytes, read into a buffer that goes back to the thread
    // that frees it, for the next file it reads (no allocation, page faults
    // or zero-filling per file).
    struct Buffer {
        std::unique_ptr<char[]> bytes;
        std::size_t size = 0;
    };
    Buffer read_;
    static Buffer take_buffer(std::size_t at_least) noexcept;   // no bytes: no memory
    static void give_back(Buffer b);
    void* map_ = nullptr;
    std::size_t map_len_ = 0;
    // A mapped file: its descriptor (for its size now, intact()) and its
    // slot among the mappings the SIGBUS handler knows; -1 otherwise.
    int map_fd_ = -1;
    int map_slot_ = -1;
    void unmap() noexcept;
    mutable std::unique_ptr<LineIndex> index_;
};

}  // namespace msg
