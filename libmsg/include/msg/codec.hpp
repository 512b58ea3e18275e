// codec.hpp - transfer encodings and line-level transformations.
//
// Decoders are streaming filters: step() takes any slice of the input, in any
// split, and appends what it can decode to `out`; finish() flushes what is
// left; reset() starts over. Feeding the same bytes in one call or one byte
// at a time gives the same output and the same status.
//
// Decoding is tolerant, as real mail needs: base64 skips characters outside
// its alphabet and decodes a truncated last group as far as it goes;
// quoted-printable keeps a malformed '=' escape literally; uuencode decodes
// what each line's length says and takes a body without a begin line as it
// is. Each such repair is counted in DecodeStatus so that callers can
// report it.
//
// Base64 is decoded 16 or 32 characters at a time on x86-64 CPUs with SSSE3
// or AVX2, and runs of quoted-printable escapes five at a time with SSSE3
// (chosen at run time; the library itself targets plain x86-64 or any other
// architecture, where the scalar loops do it all). The vector loops take only
// whole clean groups and the line breaks between them, or whole valid
// escapes, and leave everything else to the scalar loops, so results never
// depend on the CPU. uuencode has scalar loops only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/header.hpp"

namespace msg {

struct DecodeStatus {
    std::size_t bad_chars = 0;     // base64: bytes outside the alphabet (line breaks excluded)
    bool bad_padding = false;      // base64: data ended in the middle of a group, or '=' misplaced
    std::size_t bad_escapes = 0;   // quoted-printable: '=' not followed by 2 hex digits or a break
    bool uu_no_begin = false;      // uuencode: no begin line (the input is the output)
    std::size_t uu_bad_lines = 0;  // uuencode: lines with bytes outside the alphabet or past their length
    bool uu_no_end = false;        // uuencode: the data ended before the end line
    std::size_t first_bad = static_cast<std::size_t>(-1);  // input position of the first problem
    // base64: input position of the first '=' out of place (none when the
    // data only ends inside a group)
    std::size_t first_bad_padding = static_cast<std::size_t>(-1);
    bool clean() const {
        return bad_chars == 0 && !bad_padding && bad_escapes == 0 && !uu_no_begin && uu_bad_lines == 0 &&
               !uu_no_end;
    }
    bool operator==(const DecodeStatus&) const = default;
};

// The inner loops of base64 decoding and checking and of quoted-printable
// decoding. `automatic` (the default) is the fastest this CPU runs, chosen
// once at run time: AVX2, SSSE3, or the portable loop (`scalar`; SSE2 where
// the build targets it), which is the reference the others are tested
// against: same output, same status, on every input and in every split.
// Naming one is for tests and benchmarks: it allows the loops up to that
// level (quoted-printable has an SSSE3 loop only); one the CPU or the build
// lacks means the portable loop.
enum class CodecKernel : std::uint8_t { automatic, scalar, ssse3, avx2 };
bool codec_kernel_supported(CodecKernel k);

class Base64Decoder {
public:
    Base64Decoder() = default;
    explicit Base64Decoder(CodecKernel kernel) : kernel_(kernel) {}
    void step(std::string_view in, std::string& out);
    void finish(std::string& out);
    void reset();
    const DecodeStatus& status() const { return status_; }

private:
    std::uint32_t acc_ = 0;
    int count_ = 0;        // sextets in acc_
    int pad_ = 0;          // '=' seen in the current group
    std::size_t pad_at_ = 0;   // where the first of them is
    bool ended_ = false;   // padding ended the data
    std::size_t pos_ = 0;  // bytes consumed so far
    DecodeStatus status_;
    CodecKernel kernel_ = CodecKernel::automatic;
};

class QuotedPrintableDecoder {
public:
    QuotedPrintableDecoder() = default;
    explicit QuotedPrintableDecoder(CodecKernel kernel) : kernel_(kernel) {}
    void step(std::string_view in, std::string& out);
    void finish(std::string& out);
    void reset();
    const DecodeStatus& status() const { return status_; }

private:
    std::string pending_;  // an escape not yet resolved, carried between steps
    std::size_t pos_ = 0;
    DecodeStatus status_;
    CodecKernel kernel_ = CodecKernel::automatic;
};

// uuencode (POSIX; MIME's private x-uuencode). The data runs from a line
// "begin MODE NAME" (MODE in octal) to a line "end". Each data line is a
// length character, ' ' + n for n bytes (0 to 63; '`' also stands for 0),
// then four characters for every three bytes, each ' ' + 6 bits ('`' for
// 0). Text before the begin line is skipped, after the end line ignored.
// Leniency, as Python's uu module: a line shorter than its length says
// (trailing blanks lost in transport) is filled with zero bits, and ' '
// and '`' after the data are padding. A line with a byte outside ' '..'`',
// or more characters than its length needs, is decoded as far as its
// length says and counted; an empty line is skipped and counted. Without a
// begin line the whole input is the output (taken as it is). Lines are
// read as far as kUuLineKept bytes; of a longer one only its fate is kept
// (padding, blanks or other bytes past that): a begin line that long is no
// begin line, so that memory never follows a line's length.
constexpr std::size_t kUuLineKept = 4096;

namespace detail {
// A line of uuencoded text seen through its first kUuLineKept bytes.
struct UuRest {
    std::size_t length = 0;  // bytes past the kept ones (a last '\r' included)
    bool pad = true;         // all ' ' or '`' (but a last '\r')
    bool cr_last = false;
    // The whole line with its blanks trimmed (as an end line is read): its
    // first four bytes, and whether it holds more. Seen for lines that
    // have a rest only (begin() gives it the kept bytes).
    char core[4] = {};
    unsigned char core_len = 0;
    enum class Trim : unsigned char { leading, core, trailing, more } trim = Trim::leading;
    void begin(std::string_view kept) noexcept { see(kept); }
    void add(std::string_view s) noexcept;
    // Something past the kept bytes, the line's last '\r' aside?
    bool beyond() const noexcept { return length > (cr_last ? 1u : 0u); }
    // The trimmed line is `word` / is at most one byte.
    bool trimmed_is(std::string_view word) const noexcept {
        return trim != Trim::more && std::string_view(core, core_len) == word;
    }
    bool trimmed_short() const noexcept { return trim != Trim::more && core_len <= 1; }

private:
    void see(std::string_view s) noexcept;
};
// The line being read when a slice ends: its kept bytes and the rest.
struct UuPartial {
    std::string kept;
    UuRest rest;
    std::size_t at = 0;  // its offset in the input
    bool open = false;
    void add(std::string_view s);
    void clear() { kept.clear(); rest = {}; open = false; }
};
}  // namespace detail

class UuDecoder {
public:
    void step(std::string_view in, std::string& out);
    void finish(std::string& out);
    void reset();
    const DecodeStatus& status() const { return status_; }
    // From the begin line; empty before it.
    const std::string& name() const { return name_; }
    const std::string& mode() const { return mode_; }
    // After the end line: the offset just past it (and its line break) in
    // the input; step() reads nothing further.
    bool done() const { return state_ == State::done; }
    std::size_t end_offset() const { return end_; }
    // For callers that hold the whole input: the text before the begin
    // line is not kept, and finish() does not write it when there is no
    // begin line (status().uu_no_begin): the caller passes the input on.
    void forget_before() { keep_before_ = false; }

private:
    void line(std::string_view l, const detail::UuRest& rest, std::size_t at, std::string& out);
    void whole_line(std::string_view l, std::size_t at, std::string& out);
    enum class State : std::uint8_t { begin, data, done };
    State state_ = State::begin;
    bool keep_before_ = true;
    detail::UuPartial partial_;  // the line not yet ended, carried between steps
    std::string before_;         // the input before the begin line
    std::size_t pos_ = 0;        // bytes consumed so far
    std::size_t end_ = 0;
    std::string name_, mode_;
    DecodeStatus status_;
};

// Is `line` (line break excluded) a uuencode begin line, "begin MODE NAME"
// (NAME may be missing)? Fills `mode` and `name` when so.
bool uu_begin_line(std::string_view line, std::string* mode = nullptr, std::string* name = nullptr);

// The uuencoded blocks inside a text ("begin 644 name" ... "end"), as old
// clients put attachments into the body. A block starts at a begin line
// (MODE of three or four octal digits) directly followed by a well-formed
// data line, so that prose that happens to begin with "begin" is not taken
// for one; it ends after its "end" line, or at the end of the text.
struct UuBlock {
    std::size_t begin = 0;     // offset of the begin line in the text
    std::size_t end = 0;       // one past the end line and its line break
    std::size_t data_end = 0;  // one past its last byte that is not white space
    std::string mode, name;
};
std::vector<UuBlock> find_uu_blocks(std::string_view text);

// Just after the last byte of `s` that is not white space (line breaks,
// spaces, tabs), or 0: where encoded data that ends short ends, the place
// of a defect about its end.
std::size_t encoded_data_end(std::string_view s) noexcept;

// find_uu_blocks() on a text fed in slices of any split, each block decoded
// as it goes: `begin` is called when a block starts (its begin offset, mode
// and name known), `data` with its decoded bytes, `end` once it is over
// (its offsets known) with what its decoding had to repair (first_bad
// counted from the block's begin). Memory stays bounded by a few lines and
// a slice's output, whatever the text's size.
class UuScanner {
public:
    struct Handler {
        std::function<void(const UuBlock&)> begin;
        std::function<void(std::string_view)> data;
        std::function<void(const UuBlock&, const DecodeStatus&)> end;
    };
    explicit UuScanner(Handler h) : h_(std::move(h)) {}
    void step(std::string_view text);
    void finish();

private:
    enum class State : std::uint8_t { seek, begin_line, data_line, block };
    static constexpr std::size_t kPiece = std::size_t{64} << 10;  // block text decoded at a time
    void start(std::size_t at);                  // a line that may begin a block
    void feed(std::string_view s, std::size_t at);  // to the decoder, in any state but seek
    void begin_line_done();
    void data_line_done(bool at_end);
    void end_block(bool at_end);
    void flush();

    Handler h_;
    State state_ = State::seek;
    bool line_start_ = true;     // seek: the next byte starts a line
    detail::UuPartial line_;     // begin_line, data_line: the line being read
    UuBlock block_;
    UuDecoder dec_;
    std::string out_;            // decoded, not yet handed over
    std::size_t pos_ = 0;        // offset of the slice being read
    std::size_t data_end_ = 0;
};

// Decode a whole body. 7bit, 8bit, binary and unknown encodings pass through.
// Appends to `out`.
void decode_transfer(std::string_view body, TransferEncoding encoding, std::string& out,
                     DecodeStatus* status = nullptr);

// decode_transfer in slices of `window` input bytes: `sink` gets each
// slice's output, in a buffer reused between calls, so that memory follows
// the window and not the body's size (the same bytes and status as
// decode_transfer). The default keeps a slice's output in the cache while
// the sink reads it (1 MiB took 10% longer over the mixed corpus of
// tests/bench, and faulted its buffer in). 7bit, 8bit, binary and unknown encodings are handed
// over whole, without a copy.
void decode_transfer_each(std::string_view body, TransferEncoding encoding,
                          const std::function<void(std::string_view)>& sink, DecodeStatus* status = nullptr,
                          std::size_t window = std::size_t{1} << 16);

// Check a base64 body without decoding it, for validators: the status that
// decoding would give, and the first line longer than `max_line` characters
// (line breaks not counted). Several times faster than decoding.
struct Base64Check {
    DecodeStatus status;
    std::size_t long_line = static_cast<std::size_t>(-1);  // offset of the first long line, or -1
    std::size_t long_line_length = 0;
};
Base64Check base64_check(std::string_view body, std::size_t max_line = 76,
                         CodecKernel kernel = CodecKernel::automatic);

// base64 with lines of `line_length` characters (0: one line), ended by `eol`.
std::string base64_encode(std::string_view data, std::size_t line_length = 76,
                          std::string_view eol = "\r\n");
// The same, appended to `out` (reserved once, exactly).
void base64_encode_append(std::string_view data, std::size_t line_length, std::string_view eol,
                          std::string& out);
// The size base64_encode gives for `n` bytes, with line breaks of `eol` bytes.
std::size_t base64_encoded_size(std::size_t n, std::size_t line_length, std::size_t eol);
// Quoted-printable of text (line breaks of the input, LF or CRLF, become
// `eol` hard breaks; lines over 76 characters get soft breaks).
std::string qp_encode(std::string_view data, std::string_view eol = "\r\n");

// SMTP DATA transparency (RFC 5321 4.5.2): double a '.' that starts a line.
std::string dot_stuff(std::string_view data);
std::string dot_unstuff(std::string_view data);

// Line endings: every LF, CRLF or bare CR becomes CRLF (to_crlf) or LF (to_lf).
std::string to_crlf(std::string_view data);
std::string to_lf(std::string_view data);

}  // namespace msg
