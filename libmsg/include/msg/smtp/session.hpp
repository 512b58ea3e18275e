// smtp/session.hpp - the ESMTP client session: greeting, EHLO (HELO when
// EHLO is refused), STARTTLS, AUTH, and transactions that report an outcome
// per recipient.
//
// Extensions used when offered: PIPELINING (RFC 2920: MAIL, every RCPT and
// DATA in one write), SIZE (RFC 1870: SIZE= sent, a message too big is
// refused before MAIL), 8BITMIME (RFC 6152: BODY=8BITMIME for an 8-bit
// body; to a server without it the message is converted to 7 bit, or
// refused when it cannot be), SMTPUTF8 (RFC 6531: sent when an address or
// the header needs it; to a server without it, domains become A-labels
// (UTS #46) when every local part is ASCII, else a permanent failure), DSN
// (RFC 3461: parameters passed through, dropped when not offered),
// ENHANCEDSTATUSCODES, AUTH PLAIN and LOGIN (RFC 4954), STARTTLS (RFC 3207).
// The message goes out with CRLF line endings (a bare CR or LF becomes
// CRLF, so no line of it can end DATA early or smuggle a second message),
// dot-stuffed, ended by CRLF.CRLF. Time limits follow RFC 5321 4.5.3.2.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/delivery.hpp"
#include "msg/envelope.hpp"
#include "msg/result.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

enum class TlsMode : std::uint8_t { none, starttls, tls };

struct SessionOptions {
    std::string helo = "localhost";     // the EHLO / HELO name
    TlsMode tls_mode = TlsMode::none;   // starttls: required (no fallback to plain text)
    TlsOptions tls;
    std::string auth_user;              // empty: no AUTH
    std::string auth_password;
    // RFC 5321 4.5.3.2 time limits (connect uses `greeting`).
    std::chrono::seconds greeting{300}, command{300}, data_start{120}, data_block{180}, data_end{600};
    bool downgrade_8bit = true;         // false: refuse 8-bit to a server without 8BITMIME
};

struct Capabilities {
    bool esmtp = false;                 // EHLO was accepted
    bool pipelining = false, eightbitmime = false, smtputf8 = false, dsn = false;
    bool chunking = false, starttls = false, enhanced = false;
    bool size_offered = false;
    std::uint64_t size = 0;             // SIZE's limit; 0: none given
    std::vector<std::string> auth;      // mechanisms, upper case
};

// Why a session could not be used: no connection, or a reply that ends it.
struct SessionError {
    std::string message;                // names the server and the step
    std::optional<Reply> reply;         // the server's reply, when there was one
    bool permanent = false;             // 5xx (or a local refusal that retrying cannot fix)
    bool unreachable = false;           // no connection was made or no greeting came
};

class Session {
public:
    // Connect, read the greeting, EHLO (HELO on 500/502), then STARTTLS and
    // EHLO again when asked, then AUTH when a user is given.
    static Result<Session> open(const Endpoint& server, const SessionOptions& opt, WireObserver observer,
                                SessionError* error);

    const Capabilities& capabilities() const { return caps_; }
    const Reply& greeting() const { return greeting_; }

    // A transaction made ready for this session: what can be decided
    // without the server decided (an address that needs SMTPUTF8, an 8-bit
    // message for a server without 8BITMIME, a message over SIZE), the
    // command lines and the DATA payload built.
    struct Prepared {
        Delivery delivery;
        bool done = false;                    // decided here: nothing to send
        std::string mail;
        std::vector<std::string> rcpt_lines;  // of recipients with no detail yet
        std::string payload;
        std::uint64_t sent_on = 0;            // the session its envelope was pipelined on
        bool rset = false;                    // and whether RSET went first
    };
    // `message` as stored (LF or CRLF, not dot-stuffed).
    Prepared prepare(const Envelope& envelope, std::string_view message) const;

    // Send a prepared transaction (after the first, RSET goes first:
    // pipelined with MAIL when the server offers PIPELINING). When the
    // server offers PIPELINING and `next` is given, it is asked, once DATA
    // was answered 354, for the transaction to follow; that one's envelope
    // then goes in the same write as this message's final dot (RFC 2920
    // 3.1), and transact() on it later only reads the replies. Never
    // throws; every recipient gets an outcome.
    Delivery transact(Prepared& p, const std::function<Prepared*()>& next = {});
    // prepare() and transact() in one.
    Delivery send(const Envelope& envelope, std::string_view message) {
        Prepared p = prepare(envelope, message);
        return transact(p);
    }
    std::uint64_t id() const { return id_; }   // unique per opened session
    // RSET; false when the session is no longer usable.
    bool reset();
    // QUIT and close (the reply is read but not required).
    void quit();
    bool usable() const { return conn_.is_open() && usable_; }

private:
    Session() = default;
    Result<Reply> command(std::string_view line, std::chrono::seconds limit, std::string_view secret = {});
    bool ehlo(SessionError* error);
    bool authenticate(SessionError* error);
    std::string envelope_group(const Prepared& p, bool rset) const;

    Connection conn_;
    Endpoint server_;
    SessionOptions opt_;
    Capabilities caps_;
    Reply greeting_;
    bool usable_ = true;
    unsigned transactions_ = 0;
    std::uint64_t id_ = 0;
};

// The message as DATA sends it: CRLF line endings (bare CR and LF become
// CRLF), dot-stuffed, a CRLF added when the last line has none, and the
// final ".\r\n".
std::string data_payload(std::string_view message);

// RFC 5321 domain to A-labels (UTS #46, nontransitional); an error when
// it is not a valid IDN. ASCII domains come back unchanged (lower case is
// not forced).
Result<std::string> domain_to_ascii(std::string_view domain);

}  // namespace msg::smtp
