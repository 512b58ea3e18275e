// smtp/command.hpp - SMTP commands (RFC 5321 4.1 and the extensions'
// RFCs), parsed from one line without its CRLF.
//
// The parser is shared by the server (smtpsink), the transcript checker and
// the replay client. It never allocates for a line without parameters, and
// every piece is a span into the line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/address.hpp"
#include "msg/envelope.hpp"

namespace msg::smtp {

enum class Verb : std::uint8_t {
    unknown, helo, ehlo, mail, rcpt, data, bdat, rset, vrfy, expn, help, noop, quit,
    starttls, auth, etrn,
};
std::string_view verb_name(Verb v);   // "EHLO"; "" for unknown

// ESMTP parameters are msg::EsmtpParam (envelope.hpp), offsets in the line.

struct Command {
    Verb verb = Verb::unknown;
    std::string_view name;      // the verb as written (first word)
    std::string_view arg;       // everything after the verb and one SP ("" when none)

    // Syntax: ok, or the first problem and where it is.
    bool ok = false;
    std::string_view error;     // a short phrase ("MAIL needs FROM:<path>")
    std::size_t error_at = 0;   // offset in the line

    // MAIL, RCPT: the path and its parameters.
    Path path;                  // offsets relative to path_offset
    std::size_t path_offset = 0;
    std::vector<EsmtpParam> params;
    // "<rich>": a local part without a domain. RFC 5321 does not allow it
    // (ok is false) but servers take it for a local user; a checker may
    // treat it as a warning.
    bool local_path = false;
    // HELO, EHLO: the domain or address literal; VRFY, EXPN, HELP, ETRN: arg.
    std::string_view domain;
    // BDAT: chunk size and LAST.
    std::uint64_t chunk_size = 0;
    bool last = false;
    // AUTH: mechanism and the initial response ("" when none; "=" means empty).
    std::string_view mechanism;
    std::string_view initial_response;

    const EsmtpParam* param(std::string_view keyword) const;  // case-insensitive
};

struct CommandOptions {
    bool utf8 = false;          // SMTPUTF8 was given on MAIL: UTF-8 in paths and values
    bool lenient = false;       // accept "MAIL FROM: <a@b>" (a space before the path), as many servers do
};

// Parse one command line. Verbs are case-insensitive (RFC 5321 2.4).
// Checked: the verb's argument grammar (4.1.1), paths (4.1.2), esmtp-param
// syntax, the BDAT chunk size, the AUTH mechanism name and base64 initial
// response, and that the line is not longer than max_command_line() (510
// octets of text, 4.5.3.1.4's 512 with CRLF, more for MAIL and RCPT).
Command parse_command(std::string_view line, const CommandOptions& opt = {});

// RFC 5321 4.5.3.1.4 and 4.5.3.1.5.
inline constexpr std::size_t kMaxCommandLine = 510;   // without CRLF

// The longest line of a command, without CRLF: 510 octets, more for MAIL
// and RCPT, which extensions lengthen (4.5.3.1.4 allows it): MAIL by 26
// for SIZE (RFC 1870), 100 for RET and ENVID (RFC 3461 4), 500 for AUTH
// (RFC 4954 5), 10 for SMTPUTF8 (RFC 6531 3.4) and 16 for BODY
// (RFC 6152, 3030); RCPT by 500 for NOTIFY and ORCPT (RFC 3461 4).
constexpr std::size_t max_command_line(Verb v) noexcept {
    return v == Verb::mail ? kMaxCommandLine + 26 + 100 + 500 + 10 + 16
         : v == Verb::rcpt ? kMaxCommandLine + 500
                           : kMaxCommandLine;
}
inline constexpr std::size_t kMaxReplyLine = 510;
inline constexpr std::size_t kMaxTextLine = 998;

// True when `s` is base64 as RFC 4954 allows it in AUTH (no white space;
// "=" padding only at the end).
bool is_base64_token(std::string_view s);

// An AUTH command line as notes and reports may show it, never with a
// credential: up to its mechanism, then "(initial response)" when more
// follows. A line that only looks like AUTH (spaced with tabs or runs of
// spaces, a mechanism that is no SASL name, RFC 4422 3.1) is shown so too,
// only "AUTH" when its mechanism is no name: whatever follows may be a
// credential. Nothing for a line that is no AUTH command.
std::optional<std::string> auth_line_shown(std::string_view line);

// Commands that can only be the last of a pipelined group, because what
// the client may send next depends on their reply: EHLO, HELO, DATA, VRFY,
// EXPN, QUIT and NOOP (RFC 2920 3.1), STARTTLS (RFC 3207 4.2: nothing
// goes after it before the TLS handshake) and AUTH (RFC 4954 4).
bool ends_pipelined_group(Verb v);
// The same for a parsed command, with RFC 4954 4's one exception: AUTH
// with an initial response, for a mechanism that lets the client send
// first, completes in one round trip and negotiates no security layer
// (PLAIN, EXTERNAL), may be followed in its group.
bool ends_pipelined_group(const Command& c);

}  // namespace msg::smtp
