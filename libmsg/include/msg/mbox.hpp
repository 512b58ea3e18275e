// mbox.hpp - streaming mbox reader and writer, and mailbox locking.
//
// Reads an archive (a file, or standard input as "-"; gzip is detected by
// its magic bytes and inflated on the fly) and hands out one message at a
// time. Memory is bounded by the largest message plus one read buffer,
// whatever the archive's size (a mapped plain archive releases the pages of
// the messages it has handed out).
//
// Framing (RFC 4155): a message starts at a line beginning "From " at the
// start of the archive, after an empty line, or directly after the From_
// line of an empty message. The message is everything up to the next such
// line, less the one empty line that separates messages. The Content-Length
// formats frame by that field instead (see MboxFormat). How the lines of a
// message are unquoted depends on the format.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "msg/defect.hpp"
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
//   detect   on reading: mboxcl2 when the first message carries a
//            Content-Length that frames it exactly and its body holds a
//            line starting "From " (which only a Content-Length format can
//            carry unquoted), mboxrd otherwise.
// Reading a Content-Length format, a body is never split at a "From " line
// inside it; when Content-Length is missing or does not frame the message,
// the From_ line framing is used and a defect says so. Content-Length counts
// the body's bytes as stored (after the empty line that ends the header
// block; for mboxcl after quoting); it frames the message when those bytes
// are followed by the end of the archive, by an empty line and the end, by
// an empty line and "From ", or directly by "From " (separator false). A
// message without a header/body separator whose Content-Length is 0 takes
// a following empty line as its separator. Unquoting (mboxrd, mboxo,
// mboxcl) applies to the whole message, header block included.
enum class MboxFormat : std::uint8_t { mboxrd, mboxo, mboxcl, mboxcl2, detect };

std::string_view format_name(MboxFormat f);                   // "mboxrd", ...
std::optional<MboxFormat> parse_format(std::string_view name);  // the same names

struct MboxOptions {
    MboxFormat format = MboxFormat::mboxrd;
    std::size_t read_size = 1 << 20;   // bytes per read from the file or inflater
    bool map = true;                   // memory-map a plain archive that is a regular file
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
    bool from_crlf = false;         // the From_ line ended with CRLF
    bool separator = false;         // an empty line followed the message (not part of data)
    bool separator_crlf = false;    // ... and that line was CRLF
    MboxFormat format = MboxFormat::mboxrd;  // how this message was framed (never detect)
    Defects defects;                // framing defects, offsets into data (mbox.* codes)
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
    virtual bool compressed() const = 0;
    // The format in use (detect resolved after the first message).
    virtual MboxFormat format() const = 0;
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
    // Create or truncate `path` ("-" is standard output). The caller writes
    // to a temporary name and renames it when it wants atomicity.
    static Result<std::unique_ptr<MboxWriter>> open(const std::string& path, const Options& options);
    virtual ~MboxWriter() = default;

    // "From " + from_line + (CR)LF, the message quoted as the format says,
    // then (CR)LF when `separator`.
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
    // the writer corrects.
    Status write(const MboxMessage& m);
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
