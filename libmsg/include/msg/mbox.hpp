// mbox.hpp - mbox parsing (push parser and file reader), writing, and
// mailbox locking.
//
// MboxParser is the framing engine: it is fed an archive's bytes in pieces
// of any size and says, for each piece, how many bytes it is done with and
// whether a message is complete; it does no I/O, and its results do not
// depend on where the pieces are split. MboxReader drives it over a file or
// standard input ("-"; gzip is detected by its magic bytes and inflated on
// the fly) and hands out one message at a time. MboxWriter is the inverse.
//
// Framing (RFC 4155): a message starts at a line beginning "From " at the
// start of the archive, after an empty line, or directly after the From_
// line of an empty message. The message is everything up to the next such
// line, less the one empty line that separates messages. The Content-Length
// formats frame by that field instead (see MboxFormat). How the lines of a
// message are unquoted depends on the format. Bytes before the first From_
// line belong to no message; they are handed out apart (leading bytes).
//
// Limits: a message (its From_ line and its data as stored) may take at
// most MboxOptions::max_message bytes, Limits::max_mbox_message (192 MiB)
// by default. A larger one is not held in memory: its bytes are skipped
// while the end is looked for, and it is handed out with empty data,
// too_large set, its size in data_end, and [mbox.message-too-large].
// Memory is bounded by max_message plus one read buffer (and the leading
// bytes, which are kept up to max_message too), whatever the archive's or
// the message's size. A plain file is read with read(2), not mapped.
//
// Diagnostics: framing defects on each message (mbox.* codes, offsets into
// its data): [mbox.content-length-mismatch], [mbox.unquoted-from],
// [mbox.message-too-large]. I/O and gzip errors are Errors of MboxReader.
//
// BUGS: a header block longer than 1 MiB (or than max_message) is not
// searched for Content-Length: such a message is framed by its From_ lines.
// A message whose Content-Length would make it larger than max_message is
// framed by that field only when no From_ line that could start a message
// comes before the end the field gives (to frame it otherwise, its bytes
// would have to be held); else its From_ lines frame it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/limits.hpp"
#include "msg/result.hpp"

namespace msg {

// RFC 4155 and the usual variants:
//   mboxrd   '>' added to every line matching ^>*From  on writing, one removed
//            from every line matching ^>+From  on reading (symmetric);
//   mboxo    "From " lines quoted as ">From " on writing; on reading one '>'
//            is removed from ">From " lines only (lossy: an original ">From "
//            line comes back as "From ");
//   mboxcl   mboxo quoting, and a Content-Length field giving the body's size;
//   mboxcl2  no quoting at all: Content-Length alone frames the body;
//   detect   on reading: mboxcl2 once a message's Content-Length frames it
//            where the From_ lines cannot (its body holds a line starting
//            "From ", which only a Content-Length format can carry
//            unquoted, or the next From_ line follows a line of text);
//            mboxrd once a message's Content-Length does not frame it or
//            the two readings give it differently; the messages before
//            are those both give alike (docs/parsing.md).
// Reading a Content-Length format, a body is never split at a "From " line
// inside it; when Content-Length is missing or does not frame the message,
// the From_ line framing is used and a defect says so. Content-Length counts
// the body's bytes as stored (after the empty line that ends the header
// block; for mboxcl after quoting); it frames the message when those bytes
// are followed by the end of the archive, by an empty line and the end, by
// an empty line and "From ", or directly by "From " at a line's start
// (separator false). A
// message without a header/body separator whose Content-Length is 0 takes
// a following empty line as its separator. Unquoting (mboxrd, mboxo,
// mboxcl) applies to the whole message, header block included.
enum class MboxFormat : std::uint8_t { mboxrd, mboxo, mboxcl, mboxcl2, detect };

std::string_view format_name(MboxFormat f);                   // "mboxrd", ...
std::optional<MboxFormat> parse_format(std::string_view name);  // the same names

// Whether `bytes` hold a line starting "From ", where a reader starts a
// message: such bytes cannot be an archive's leading bytes.
bool holds_from_line(std::string_view bytes) noexcept;

struct MboxOptions {
    MboxFormat format = MboxFormat::mboxrd;
    // Bytes per read from the file or inflater (at least 4096), by
    // MboxReader and by MboxPieces::frame: small enough that what was read
    // is still in the cache when it is parsed.
    std::size_t read_size = 256 << 10;
    // The most bytes one message may take in the archive, its From_ line
    // included; a larger one is skipped, not held [mbox.message-too-large].
    // The leading bytes are kept only up to this size as well.
    std::size_t max_message = Limits{}.max_mbox_message;
};

struct MboxMessage {
    std::uint64_t index = 0;        // from 0
    std::uint64_t offset = 0;       // of the From_ line in the (uncompressed) archive
    std::uint64_t line = 1;         // 1-based line of the From_ line
    std::string_view from_line;     // the From_ line, without "From " and line break
    std::string_view data;          // the message, valid until the next call to next()
    std::uint64_t data_offset = 0;  // offset of data[0] in the archive
    std::uint64_t data_line = 1;    // line of data[0] in the archive
    bool unquoted = false;          // data is an unquoted copy (">From " lines changed)
    // In an unquoted copy: where the lines that lost their first '>' begin
    // in data, ascending (source.hpp's archive_offset() and archive_column()
    // give positions in the archive back). Empty otherwise.
    std::vector<std::size_t> unquoted_lines;
    bool from_crlf = false;         // the From_ line ended with CRLF
    bool separator = false;         // an empty line followed the message (not part of data)
    bool separator_crlf = false;    // ... and that line was CRLF
    MboxFormat format = MboxFormat::mboxrd;  // how this message was framed (never detect)
    Defects defects;                // framing defects, offsets into data (mbox.* codes)
    // Offset just past the message's data in the archive (its separator not
    // included): data_end - data_offset is the data's size as stored, before
    // unquoting, also when the data was not kept.
    std::uint64_t data_end = 0;
    // The message took more than max_message bytes: data is empty, from_line
    // is a copy (cut to max_message bytes, and to 1000), the only defect is
    // [mbox.message-too-large] and data_end says how large it was.
    bool too_large = false;
    // For a message framed by MboxPieces::frame (not one too large): while
    // a copy of `keep` is held, its views into the piece (from_line, and
    // data unless it is an unquoted copy) stay valid after the call. Empty
    // otherwise (MboxReader: the views are valid until the next call).
    std::shared_ptr<const void> keep;
};

// The mbox framing engine as a push parser (no I/O): put() is given the
// archive's bytes from the first one it has not consumed, as many as the
// caller has, and answers with an event and the number of bytes at the
// front of `in` it is done with:
//   need_more  nothing to hand out yet: call again with the bytes not
//              consumed followed by more, or with eof set when there are no
//              more. `consumed` may be non-zero: bytes of a message too
//              large to hold (or leading bytes past max_message), skipped.
//   leading    the bytes before the first From_ line are known: leading().
//              Once per archive, and only when there are such bytes.
//   message    a message is complete and was written to `out`.
//   end        eof was given and everything was handed out (and stays so).
// The views of an event (out.from_line, out.data, leading()) point into the
// bytes the event consumed, valid while the caller keeps them, or into the
// parser (an unquoted copy of data, a too large message's from_line), valid
// until the next put(). The caller may move the bytes it has not consumed
// between calls (the parser keeps offsets, never pointers). The events, messages and leading bytes are the same whatever
// the sizes of the pieces. need_more without consuming anything is answered
// only while fewer than max_message + 16 bytes are given, so a caller never
// needs to hold more; it is never answered when eof is set.
class MboxParser {
public:
    enum class Event : std::uint8_t { need_more, leading, message, end };
    struct Step {
        Event event = Event::need_more;
        std::size_t consumed = 0;
    };

    // Uses options.format and options.max_message.
    explicit MboxParser(const MboxOptions& options = {});
    MboxParser(MboxParser&&) noexcept;
    MboxParser& operator=(MboxParser&&) noexcept;
    ~MboxParser();

    Step put(std::string_view in, bool eof, MboxMessage& out);

    // After Event::leading: the bytes before the first From_ line, or an
    // empty view when there were more than max_message of them.
    std::string_view leading() const;
    // Bytes before the first From_ line seen so far (all of them, kept or not).
    std::uint64_t leading_size() const;
    // The format in use (mboxrd while detect is not settled).
    MboxFormat format() const;
    // Archive offset of the first byte not consumed.
    std::uint64_t offset() const;
    // Line breaks in the bytes consumed.
    std::uint64_t line_breaks() const;
    // The message being framed when the input stops short of its end: its
    // index, and the offset and line of its From_ line. None between
    // messages (before the first From_ line, after the last).
    struct Pending {
        std::uint64_t index = 0, offset = 0, line = 1;
    };
    std::optional<Pending> pending() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class MboxReader {
public:
    // Open a path ("-" for standard input). Fails when it cannot be opened.
    static Result<std::unique_ptr<MboxReader>> open(const std::string& path,
                                                    const MboxOptions& options = {});
    virtual ~MboxReader() = default;

    // Fill `out` with the next message. Returns true, or false at the end of
    // the archive; an Error when reading failed (a truncated gzip stream,
    // an I/O error): messages handed out before stay valid results.
    virtual Result<bool> next(MboxMessage& out) = 0;
    // Bytes of the archive before the first From_ line (0 for a well-formed
    // archive); such bytes are not a message and are reported by the caller.
    virtual std::uint64_t leading_garbage() const = 0;
    // Those bytes themselves, once next() has met them (it has after its
    // first call), so that a caller can keep them, e.g. write them back with
    // MboxWriter::write_raw(); valid until the next call to next(). Empty
    // when there are none, and when there were more than max_message of
    // them (leading().size() != leading_garbage() says so).
    virtual std::string_view leading() const = 0;
    virtual bool compressed() const = 0;
    // The format in use (mboxrd while detect is not settled).
    virtual MboxFormat format() const = 0;
};

// An archive framed in pieces, by several threads at once (parallel.hpp).
// In the From_-line formats (mboxrd, mboxo) a From_ line that follows an
// empty line starts a message whatever came before it, so an archive cut
// before such lines frames, piece by piece, into exactly the messages it
// frames into whole. The archive is divided into stretches of equal size
// without looking at it; the piece of a stretch runs from the first cut in
// it to the first cut at or after its end (none when the stretch has no
// cut: a message began before it and goes on past it). Each worker finds
// its own piece, so that no thread reads the archive ahead of the others.
// A piece's messages are numbered from its start (index 0, line 1, offset
// 0): a caller adds the counts of the pieces before.
struct MboxPiece {
    std::uint64_t begin = 0, end = 0;  // the stretch
    std::shared_ptr<const void> file;  // the archive, open
};

class MboxPieces {
public:
    // A plain archive (a regular file, not gzip) in a From_-line format that
    // starts with a From_ line: opened, to be handed out in stretches of
    // `stretch` bytes. No value, and no error, for any other archive: the
    // caller reads it with MboxReader, which frames leading bytes, gzip and
    // the Content-Length formats. An error when the file cannot be opened.
    static Result<std::optional<MboxPieces>> open(const std::string& path, MboxFormat format,
                                                  std::size_t stretch = std::size_t{4} << 20);
    // The next stretch, in archive order; false after the last.
    bool next(MboxPiece& piece);
    std::uint64_t size() const { return size_; }
    // The stretches handed out from here on are of `stretch` bytes (at least 1).
    void set_stretch(std::size_t stretch) { stretch_ = std::max<std::size_t>(stretch, 1); }

    // Frame the piece of a stretch as MboxParser frames the archive, `fn`
    // called with each message (its views valid during the call;
    // MboxMessage::keep, for a message that is not a copy, holds the bytes
    // it views while a copy of it is held). The piece is read from the file
    // (never mapped) into a buffer of the calling thread's and framed as it
    // is read; a long message goes on in a buffer of its own, as large as
    // it needs (max_message at most: a larger one is skipped as it is read,
    // as MboxReader skips it).
    // Sets `at`, the piece's offset in the archive, and returns the number
    // of line breaks in the piece; an error, naming the file, when it cannot
    // be read where its size said it has bytes (cut short since it was
    // opened): the messages handed out before are whole.
    static Result<std::uint64_t> frame(const MboxPiece& piece, const MboxOptions& options, std::uint64_t& at,
                                       const std::function<void(MboxMessage&)>& fn);

private:
    MboxPieces() = default;
    std::shared_ptr<const void> file_;
    std::uint64_t size_ = 0, at_ = 0;
    std::size_t stretch_ = 0;
};

// Writes an archive message by message: the inverse of MboxReader, so that
// writing what a reader handed out (from_line, data, from_crlf, separator,
// separator_crlf) gives back the archive's bytes. For mboxcl and mboxcl2 a
// message whose Content-Length does not give its body's size gets a
// corrected Content-Length field.
class MboxWriter {
public:
    struct Options {
        MboxFormat format = MboxFormat::mboxrd;  // not detect
        bool gzip = false;
        int level = 6;                           // gzip level
    };
    // Create (mode 0600: mail is private) or truncate `path` ("-" is
    // standard output; a symbolic link is not followed). The caller writes
    // to a temporary name and renames it when it wants atomicity.
    static Result<std::unique_ptr<MboxWriter>> open(const std::string& path, const Options& options);
    virtual ~MboxWriter() = default;

    // "From " + from_line + (CR)LF, the message quoted as the format says,
    // then (CR)LF when `separator`, or in the From_ line formats when the
    // message's own last line is empty (a reader would take that line for
    // the separator). A message written without it gets it (and a line
    // break it lacks) when another message or raw bytes come after it, so
    // that every message is read back whole: only the last one ends as it
    // was. In the Content-Length formats only the missing line break is
    // added then (a separator too when its last line is empty): the count
    // frames the message, and a From_ line starts a line.
    virtual Status write(std::string_view from_line, std::string_view data, bool from_crlf = false,
                         bool separator = true, bool separator_crlf = false) = 0;
    // As write(), but the lines of `data` that start at the offsets in
    // `unquoted_from` (ascending) are not quoted: the "From " lines an
    // archive had left unquoted (the mbox.unquoted-from defects a reader
    // reports), so that such an archive's bytes come back too. The quoting
    // rules above would otherwise quote them, which repairs the archive.
    virtual Status write_keeping(std::string_view from_line, std::string_view data, bool from_crlf,
                                 bool separator, bool separator_crlf,
                                 std::span<const std::size_t> unquoted_from) = 0;
    // A message as a reader handed it out, its unquoted "From " lines kept:
    // for every archive the reader reads, writing each message this way (in
    // the format it was read in) gives back the archive's bytes, but for
    // mboxo/mboxcl lines that were ">From " and for Content-Length values
    // the writer corrects (and leading bytes: write_raw()). A message whose
    // data was not kept (too_large) is not written: an Error (EFBIG) says so.
    Status write(const MboxMessage& m);
    // `bytes` as they are: no From_ line, quoting or separator. For an
    // archive's leading bytes (MboxReader::leading()) before its first
    // message, so that writing them and then every message as read gives
    // back the archive. Once a message was written they have no place (they
    // would be read as its end): then nothing is written and an Error
    // (EINVAL) says so; the archive is still whole.
    virtual Status write_raw(std::string_view bytes) = 0;
    // Flush everything (the gzip trailer too) and fsync a regular file.
    virtual Status close() = 0;
};

// Locks a live mailbox for reading, the way mail delivery agents expect:
// a dot lock (PATH.lock, made NFS-safe by link()ing a unique temporary file
// to it; a lock older than five minutes is taken for stale and removed) and
// an fcntl() read lock on PATH (an open file description lock, which other
// descriptors of the file opened and closed by this process do not release).
// Both are retried until `timeout` has passed.
// Released (both) when the lock is destroyed; movable, not copyable.
class MboxLock {
public:
    static Result<MboxLock> acquire(const std::string& path, std::chrono::seconds timeout);
    MboxLock(MboxLock&& other) noexcept;
    MboxLock& operator=(MboxLock&& other) noexcept;
    MboxLock(const MboxLock&) = delete;
    MboxLock& operator=(const MboxLock&) = delete;
    ~MboxLock();
    // Release now (what the destructor does).
    void release();

private:
    MboxLock() = default;
    std::string lock_path_;   // PATH.lock, empty when not held
    int fd_ = -1;             // PATH, open with the fcntl lock, or -1
};

}  // namespace msg
