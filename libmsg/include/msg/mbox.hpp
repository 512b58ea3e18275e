// mbox.hpp - streaming mbox reader.
//
// Reads an archive (a file, or standard input as "-"; gzip is detected by
// its magic bytes and inflated on the fly) and hands out one message at a
// time. Memory is bounded by the largest message plus one read buffer,
// whatever the archive's size (a mapped plain archive releases the pages of
// the messages it has handed out).
//
// Framing (RFC 4155): a message starts at a line beginning "From " at the
// start of the archive or after an empty line. The message is everything up
// to the next such line, less the one empty line that separates messages.
// In mboxrd (the default), one '>' is removed from every line that matches
// ^>+From ; in mboxo nothing is unquoted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "msg/defect.hpp"
#include "msg/result.hpp"

namespace msg {

enum class MboxFormat : std::uint8_t { mboxrd, mboxo };

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
};

}  // namespace msg
