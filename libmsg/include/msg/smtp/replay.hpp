// smtp/replay.hpp - play a transcript's client side against a live server
// and compare each reply with the recorded one.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/smtp/client.hpp"
#include "msg/smtp/transcript.hpp"

namespace msg::smtp {

// How closely a live reply must follow the recorded one.
//   klass     the first digit (2, 3, 4, 5)
//   code      the three digits
//   enhanced  the three digits and the enhanced status code, when the
//             recorded reply has one
//   text      the three digits and every line's text, exactly
enum class Match : std::uint8_t { klass, code, enhanced, text };
std::optional<Match> match_by_name(std::string_view name);   // "class", "code", "enhanced", "text"
std::string_view match_name(Match m);
bool replies_match(const Reply& recorded, const Reply& live, Match m);

struct ReplayOptions {
    Match match = Match::code;
    std::chrono::milliseconds timeout{30000};
    // How the live server's certificate is checked, for STARTTLS and TLS
    // on connect alike (as spoolsend checks it).
    TlsOptions tls;
    // TLS before the greeting (port 465, RFC 8314), also when the
    // transcript does not begin inside TLS (begins_with_tls()).
    bool tls_on_connect = false;
    // The password that replaces the masked one (kMaskedSecret) in a
    // recorded AUTH; it goes only over TLS or to a loopback address and
    // is never reported. Empty: AUTH is sent as recorded.
    std::string secret;
    // End each transaction with RSET instead of DATA (or its first BDAT):
    // the server's answers to the envelope, and nothing delivered.
    bool no_data = false;
};

// Whether a replay may send `next` in the same write as `prev`, the
// exchange before it in one recorded pipelined group, without waiting
// for prev's reply: only when the live server offered PIPELINING, and
// never after a command that must end a group (ends_pipelined_group():
// EHLO, DATA, STARTTLS, AUTH but for a PLAIN or EXTERNAL one with its
// initial response, ...) nor after or as a SASL response: the rule
// `smtpreplay --check` holds a recorded client to.
bool pipelines_after(const Transcript& t, const Exchange& prev, const Exchange& next, bool pipelining);

// A recorded AUTH client line with `secret` in place of the masked
// password: an "AUTH PLAIN" initial response or a SASL response holding
// base64 of "\0user\0********", or a response holding base64 of
// "********" (AUTH LOGIN). swaks --auth-hide-password's mask,
// "PROVIDED_BUT_REMOVED", is taken as well. Nothing when the line holds no
// masked password.
std::optional<std::string> unmask_auth_line(std::string_view line, std::string_view secret);

struct ReplayStep {
    std::size_t exchange = 0;            // index into exchanges(t)
    std::size_t line = 0;                // index of the exchange's first transcript line
    ExchangeKind kind = ExchangeKind::command;
    std::string sent;                    // what it sends, for reports (a body as "<N lines>", SASL as "<credentials>")
    std::optional<Reply> recorded;
    std::optional<Reply> live;
    bool compared = false;               // both replies known
    bool match = true;                   // false: a difference (or it could not be played)
    std::string note;                    // why it was not sent or compared, or the connection error
    unsigned write = 0;                  // the write it went out in (1, 2, ...; 0: not sent)
};

// A step as a JSON object (smtpreplay --json, docs/json.md): {"source",
// "line", "sent", "recorded", "live", "compared", "match", "note"?}, each
// reply {"code", "enhanced", "lines"} or null; `line` is the transcript's.
std::string replay_step_json(std::string_view source, std::uint64_t line, const ReplayStep& s);

struct ReplayReport {
    bool reached = false;                // connected and read a greeting
    bool tls_on_connect = false;         // TLS was started before the greeting
    std::string error;                   // when !reached, or why the replay stopped early
    std::vector<ReplayStep> steps;
    // Steps whose replies were compared, and of those the ones that
    // matched; mismatches: the steps that differed or could not be taken
    // (not sent, no reply), so that same + mismatches may be less than the
    // steps (notes: nothing recorded to compare).
    std::size_t compared = 0, same = 0, mismatches = 0;
};

// A replay's summary as a JSON object: {"source", "server", "reached",
// "error"? (when not reached) or "match_by", "exchanges", "compared",
// "same", "mismatches"}.
std::string replay_summary_json(std::string_view source, std::string_view server, const ReplayReport& r, Match match);

// Connect to `server` (TLS first when the transcript begins inside TLS or
// tls_on_connect says so), play every exchange and compare. Commands go
// one at a time, unless the live server offered PIPELINING: then a
// recorded pipelined group goes in as few writes as RFC 2920 allows
// (pipelines_after()); nothing follows STARTTLS before the handshake
// (RFC 3207 4.2). Body lines go exactly as recorded; a STARTTLS the live
// server answers 220 starts TLS. A step the live session cannot take (a
// body after DATA was refused, SASL lines after AUTH was refused, lines
// recorded inside TLS when the live session has none, credentials that
// would go in clear to a host that is not loopback, anything after the
// connection closed) is not sent and counts as a mismatch. A DATA the live
// server answers 354 where the recording has no message (its server
// refused the DATA) is followed by no command, which the server would take
// as the message's content (RFC 5321 4.1.1.4): the connection is closed
// without the final dot, which delivers nothing, and the rest is not sent.
ReplayReport replay(const Transcript& t, const Endpoint& server, const ReplayOptions& opt);

}  // namespace msg::smtp
