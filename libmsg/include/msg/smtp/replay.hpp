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
    TlsOptions tls{.verify = false, .ca_file = {}, .server_name = {}};  // a recorded STARTTLS starts TLS unchecked
};

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
};

struct ReplayReport {
    bool reached = false;                // connected and read a greeting
    std::string error;                   // when !reached, or why the replay stopped early
    std::vector<ReplayStep> steps;
    std::size_t compared = 0, mismatches = 0;
};

// Connect to `server`, play every exchange (pipelined groups sent in one
// write, body lines exactly as recorded, a STARTTLS answered 220 by both
// starts TLS), and compare. A step the live session cannot take (a body
// after DATA was refused, SASL lines after AUTH was refused, anything
// after the connection closed) is not sent and counts as a mismatch.
ReplayReport replay(const Transcript& t, const Endpoint& server, const ReplayOptions& opt);

}  // namespace msg::smtp
