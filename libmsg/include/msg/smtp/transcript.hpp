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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

enum class Format : std::uint8_t { cs, swaks, bsmtp, native };
std::string_view format_name(Format f);                      // "cs", "swaks", "bsmtp", "native"
std::optional<Format> format_by_name(std::string_view name);

enum class Side : std::uint8_t { client, server, event };

struct TranscriptLine {
    Side side = Side::client;
    std::string text;           // without line ending and without the format's prefix
    std::size_t offset = 0;     // byte offset of the line in the source (for line numbers)
    bool tls = false;           // sent or received inside TLS
    double time = -1;           // seconds since the session started; < 0 when not recorded
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
// its first line, to be reported as "not a transcript: no SMTP command";
// else nullopt.
std::optional<std::size_t> no_smtp_command(const Transcript& t);

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

// What the client sent in one turn and the reply to it. Exchanges sent in
// one write without waiting (RFC 2920 pipelining) share a group number.
struct Exchange {
    ExchangeKind kind = ExchangeKind::command;
    std::vector<std::size_t> client;      // indices into Transcript::lines
    std::vector<std::size_t> reply_lines; // indices of the reply's lines (empty: none recorded)
    std::optional<Reply> reply;           // when reply_lines form a well-formed reply
    unsigned group = 0;
    bool tls = false;                     // sent inside TLS
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
