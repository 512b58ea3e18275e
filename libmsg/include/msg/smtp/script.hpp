// smtp/script.hpp - a transcript's server side played to live clients
// (smtpsink --script): a server that answers exactly as one recorded.
//
// Each session sends the recorded greeting, then, for each exchange, once
// the client has sent its lines (a command; a message through its final
// dot; a SASL response; a BDAT command and its chunk), the recorded reply,
// and any replies recorded without a command after it. A client line that
// differs from the recorded one is counted and reported through on_note
// (the recorded reply is sent all the same; body lines are not compared),
// but for one where a message begins (DATA answered 354, BDAT): a client
// that sends another command there sends no message, and is neither told
// 354 nor read as mail; the script passes over the message and answers
// that command (as its next exchange when that is the same command, else
// 250 to RSET and NOOP, 221 to QUIT, 503). A BDAT's chunk is the size the
// client gives; BDAT 0 LAST is answered at once.
// A recorded 221 closes after it; when the script is done, "421 4.3.0 end
// of the script" and close; an empty script answers only that. A recorded
// 220 to STARTTLS starts TLS when the driver can (can_tls), else the
// session reports it and closes. Sessions are Dialogs (smtp/server.hpp) for
// a Listener.
//
// Memory per session is bounded: a line longer than 64 KiB (no script has
// one) is skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "msg/smtp/server.hpp"
#include "msg/smtp/transcript.hpp"

namespace msg::smtp {

// Why `t` cannot be a script, or "" when it can: one that records no
// server line at all (batch SMTP, RFC 2442) has no server side to play,
// and its client would wait for a reply to its EHLO for ever. smtpsink
// --script refuses it at start (exit 65).
std::string_view unplayable_script(const Transcript& t);

class ServerScript {
public:
    // `t` as parse_transcript() read it.
    ServerScript(Transcript t, bool can_tls);
    ServerScript(const ServerScript&) = delete;
    ServerScript& operator=(const ServerScript&) = delete;

    // A new session playing the script; the script must outlive it.
    std::unique_ptr<Dialog> session();

    // Over every session so far.
    std::uint64_t sessions() const { return sessions_; }
    std::uint64_t differences() const { return differences_; }   // client lines unlike the script's

    // Told of each difference or problem, as a sentence: `the client sent
    // "RCPT TO:<x@y>" where the script has "RCPT TO:<b@c>"` (each line cut
    // to 80 bytes), `the script starts TLS, but TLS is not available`.
    std::function<void(std::string_view)> on_note;

private:
    friend class ScriptSession;
    Transcript t_;
    std::vector<Exchange> ex_;
    bool can_tls_;
    std::uint64_t sessions_ = 0, differences_ = 0;
};

}  // namespace msg::smtp
