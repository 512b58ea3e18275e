// smtp/transcript.hpp - SMTP transcripts: one session's dialogue, read from
// and written to the formats people keep them in, cut into exchanges, and
// checked against RFC 5321 and its extensions (docs/transcript-format.md).
//
// Formats:
//   cs      "C: EHLO x" / "S: 250 ok", as in the RFCs (leading white space
//           and a missing space after the colon are accepted)
//   swaks   " -> EHLO x" / "<-  250 ok"; "~>" / "<~" inside TLS; "<**" a
//           4xx/5xx reply; "===" and "***" information lines
//   bsmtp   batch SMTP (RFC 2442): the client's lines only, no replies
//   native  the project's own: "SIDE TIME TEXT" lines after a
//           "# msgtools transcript 1" line; timestamps, the connection, TLS
//           and errors as events (what spoolsend --transcript writes)
//
// A line's text is the line on the wire without its CRLF: DATA body lines
// are wire lines, dot-stuffed as sent.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "msg/defect.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

enum class Format : std::uint8_t { cs, swaks, bsmtp, native };
std::string_view format_name(Format f);                      // "cs", "swaks", "bsmtp", "native"
std::optional<Format> format_by_name(std::string_view name);

enum class Side : std::uint8_t { client, server, event };

// (The small members last: a line takes 56 bytes beside its text, not 72.)
struct TranscriptLine {
    std::string text;           // without line ending and without the format's prefix
    std::size_t offset = 0;     // byte offset of the line in the source (for line numbers)
    double time = -1;           // seconds since the session started; < 0 when not recorded
    Side side = Side::client;
    bool tls = false;           // sent or received inside TLS
    // A message line the client ended with LF alone, not CRLF. Only swaks
    // shows it (it prints DATA lines raw: a CRLF line with its CR); a "."
    // after such a line, or ended by one, is content (RFC 5321 4.1.1.4).
    bool bare_lf = false;
};

// One session.
struct Transcript {
    std::vector<TranscriptLine> lines;
    // Native format's connect event, when present: the peer "host:port" and
    // the RFC 3339 UTC time the session started.
    std::string peer;
    std::string started;
};

// The format of `text`, from its first meaningful lines (native's magic
// line, "C:"/"S:", swaks arrows, else bsmtp).
Format detect_format(std::string_view text);

// Text with no SMTP in it (prose, a program's log) reads as batch SMTP,
// the format of last resort: when no line of `t` is a server's and none is
// an SMTP command (a verb RFC 5321 or an extension defines), the offset of
// its first line, to be reported as kNoSmtpCommand says; else nullopt.
std::optional<std::size_t> no_smtp_command(const Transcript& t);
inline constexpr std::string_view kNoSmtpCommand = "not a transcript: no SMTP command";

struct ParsedTranscript {
    Transcript transcript;
    Format format = Format::cs;
    Defects defects;            // lines that belong to no side (smtp.transcript-syntax), offsets into the input
};
ParsedTranscript parse_transcript(std::string_view text, std::optional<Format> format = std::nullopt);

// Why `text` is not a transcript at all, or "" when it may be one: empty
// (or only line breaks), or binary data (a NUL, or four control bytes other
// than tab, line breaks, form feed and ESC, in its first KiB before its
// first DATA or BDAT line: an image, an archive; a message may hold any
// octet, and the native format, which says what it is, may hold any octet
// but LF and is never binary). Anything else is read, batch SMTP
// being the format of last resort, and its odd lines reported as defects.
// smtpreplay says so and exits 65, as msgcheck does of input that is not
// mail.
std::string_view not_transcript_reason(std::string_view text) noexcept;

// Write in a format (LF line endings). Events become the format's comment
// or information lines; bsmtp keeps the client's lines only. Message lines
// ended by a bare LF only swaks can keep: it writes the CR of the others,
// as swaks prints them. Reading the
// output back gives the same lines (sides, text, TLS), except what the
// format cannot hold (bsmtp: replies and events; cs, swaks: times).
std::string write_transcript(const Transcript& t, Format format);

// The index of the first line ended by a bare LF (TranscriptLine::bare_lf)
// when `format` cannot keep it, else nullopt: written in such a format, a
// "." after it would read as the end of the message.
std::optional<std::size_t> lost_line_end(const Transcript& t, Format format);

// Records a live session in the native format as it goes: give it as the
// session's WireObserver; client lines are kept as sent, the control bytes
// of server lines and events escaped ("\\x0d", as msg::printable() does).
// take() returns what was recorded since the last
// call, so that a caller appending it to a file now and then leaves a
// readable transcript even when it is killed (one without the final
// "close" event: cut short).
class Recorder {
public:
    // Starts with the magic line and "connect PEER TIME".
    explicit Recorder(std::string_view peer);
    void operator()(Wire w, std::string_view text);
    // "close" when the session ended as planned.
    void close() { (*this)(Wire::event, "close"); }
    std::string take();

private:
    std::chrono::steady_clock::time_point start_;
    std::string out_;
};

// --- exchanges ---------------------------------------------------------------

enum class ExchangeKind : std::uint8_t {
    greeting,   // the server's opening reply; no client lines
    command,    // one command line (BDAT: followed by its chunk's lines)
    body,       // DATA's body lines after 354, through the final "."
    sasl,       // a client line answering a 334 AUTH challenge
    unanswered, // server lines no client line asked for (a reply too many)
};

// Indices of transcript lines, as a vector holds them; one (a command, a
// one-line reply: most exchanges of a long transcript) is held in place,
// with no allocation of its own.
class LineIndices {
public:
    LineIndices() noexcept = default;
    LineIndices(const LineIndices& o) : LineIndices() { assign(o.begin(), o.end()); }
    LineIndices(LineIndices&& o) noexcept : LineIndices() { swap(o); }
    LineIndices& operator=(LineIndices o) noexcept {
        swap(o);
        return *this;
    }
    ~LineIndices() {
        if (cap_ > 1) delete[] heap();
    }
    void swap(LineIndices& o) noexcept {
        std::swap(size_, o.size_);
        std::swap(cap_, o.cap_);
        std::swap(slot_, o.slot_);
    }
    void push_back(std::size_t i) {
        if (size_ == cap_) grow();
        data()[size_++] = i;
    }
    void clear() noexcept { size_ = 0; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t operator[](std::size_t k) const noexcept { return data()[k]; }
    std::size_t front() const noexcept { return data()[0]; }
    std::size_t back() const noexcept { return data()[size_ - 1]; }
    const std::size_t* begin() const noexcept { return data(); }
    const std::size_t* end() const noexcept { return data() + size_; }
    friend bool operator==(const LineIndices& a, const LineIndices& b) noexcept {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    static_assert(sizeof(std::size_t) == sizeof(std::size_t*));
    std::size_t* heap() const noexcept { return std::bit_cast<std::size_t*>(slot_); }
    const std::size_t* data() const noexcept { return cap_ > 1 ? heap() : &slot_; }
    std::size_t* data() noexcept { return cap_ > 1 ? heap() : &slot_; }
    void assign(const std::size_t* b, const std::size_t* e) {
        for (; b != e; ++b) push_back(*b);
    }
    void grow() {
        const std::size_t cap = cap_ * 2;
        std::size_t* bigger = new std::size_t[cap];
        std::copy(begin(), end(), bigger);
        if (cap_ > 1) delete[] heap();
        slot_ = std::bit_cast<std::size_t>(bigger);
        cap_ = cap;
    }
    std::size_t slot_ = 0;   // the one index; with more, the address of their array
    std::size_t size_ = 0, cap_ = 1;
};

// What the client sent in one turn and the reply to it. Exchanges sent in
// one write without waiting (RFC 2920 pipelining) share a group number.
struct Exchange {
    LineIndices client;                   // indices into Transcript::lines
    LineIndices reply_lines;              // indices of the reply's lines (empty: none recorded)
    std::optional<Reply> reply;           // when reply_lines form a well-formed reply
    ExchangeKind kind = ExchangeKind::command;
    bool tls = false;                     // sent inside TLS
    unsigned group = 0;
    // BDAT: octets its size gave that no recorded line brought before the
    // reply (or the end), and octets of its last line (with CRLF) past it.
    std::uint64_t chunk_short = 0, chunk_over = 0;
    // A chunk that ends inside a line, the next BDAT right after it on that
    // line (as the octets go on the wire: "BDAT 5", "HelloBDAT 8 LAST"):
    // the chunk's exchange ends at octet `cut` of its last line, without
    // CRLF, and the next BDAT's exchange begins at octet `from` of it.
    std::size_t from = 0;
    std::size_t cut = static_cast<std::size_t>(-1);

    std::size_t first_line() const { return client.empty() ? (reply_lines.empty() ? 0 : reply_lines[0]) : client[0]; }
};

// Cut a transcript into exchanges. The pairing follows the protocol: each
// command, body and SASL response gets the next reply in order; after a
// 354 to DATA the client's lines are body through "."; after a 334 to AUTH
// the next client line is a SASL response; after a 220 to STARTTLS the rest
// is inside TLS (also when the format does not mark it).
std::vector<Exchange> exchanges(const Transcript& t);

// Client line `k` of an exchange as it went on the wire, without its
// CRLF: the first from Exchange::from, the last to Exchange::cut.
std::string_view client_line(const Transcript& t, const Exchange& e, std::size_t k);

// The bytes the client sent in an exchange, as on the wire (its
// client_line()s, CRLF after each but a last one cut short).
std::string client_bytes(const Transcript& t, const Exchange& e);

// The exchange's first client line from Exchange::from: its command line
// ("" when it has no client line).
std::string_view command_text(const Transcript& t, const Exchange& e);

// Whether the session began inside TLS (TLS on connect, port 465, RFC
// 8314): its first line, the greeting, is marked as inside TLS (native: a
// "tls" event before it; swaks: "<~  220 ...").
bool begins_with_tls(const Transcript& t);

// --- batch SMTP ------------------------------------------------------------------

// A transcript as batch SMTP (RFC 2442) keeps what the recorded server
// accepted, so that a batch fed to a server delivers what the session did:
//   - the first HELO or EHLO the server accepted;
//   - each transaction that delivered a message: its MAIL, the RCPTs the
//     server accepted (2xx), DATA and the message through its final dot,
//     when the reply to that dot was 250 (MAIL without SIZE=, a limit
//     for a server that answers, which batch readers refuse);
//   - other commands the server accepted (NOOP, VRFY, ...), and QUIT.
// Left out, each with a note: refused commands, transactions with no
// accepted recipient, whose DATA was refused (or answered 503), whose
// message was refused or whose outcome was not recorded; RSET; HELO or
// EHLO after the first; STARTTLS and AUTH with its responses, which a
// batch has nothing to negotiate with. A transcript without replies (a
// batch already) is kept whole. BDAT chunks have no batch form: such a
// transcript is refused, with the reason.
struct BatchNote {
    std::size_t line = 0;   // index into Transcript::lines of the first line left out
    std::string why;
};
struct BatchConversion {
    Transcript batch;              // client lines only
    std::vector<BatchNote> left_out;
    std::optional<BatchNote> refused;   // set: no batch was made, and why
};
BatchConversion to_batch(const Transcript& t);

// --- checking ------------------------------------------------------------------

// Check a transcript: command and reply syntax, the command sequence, DATA
// and BDAT framing, dot-stuffing, enhanced codes against the reply class,
// AUTH exchanges, pipelining, extensions used without being offered,
// replies that do not fit their command. Codes "smtp.*" of the defect
// catalogue; offsets are those of the lines (TranscriptLine::offset).
// `client_only` is for bsmtp (no replies to check): there, a message that
// runs into the next command (a line of its header that is an SMTP
// command, or MAIL, RCPT and DATA inside it) is smtp.body-unterminated,
// and STARTTLS and AUTH, which a batch cannot negotiate, are
// smtp.batch-session.
Defects check_transcript(const Transcript& t, bool client_only = false);

// --- rewriting -----------------------------------------------------------------

// Replace what identifies people and hosts, consistently within the
// transcript (the same address gives the same replacement): mailbox local
// parts and domains, host names, IP addresses, AUTH credentials (replaced
// by base64 of fixed placeholders, keeping the exchange's shape), and the
// text of message bodies (header field names, MIME structure, line lengths
// and dot-stuffing are kept). The result is still a valid transcript.
Transcript anonymise(const Transcript& t);

}  // namespace msg::smtp
