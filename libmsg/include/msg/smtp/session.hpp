// smtp/session.hpp - the ESMTP client session over a connection: a thin
// blocking driver (a connector) that moves bytes between a Connection
// (TCP, OpenSSL) and a ClientSession (client_session.hpp), which holds the
// whole dialogue: greeting, EHLO (HELO when EHLO is refused), STARTTLS,
// AUTH, and transactions that report an outcome per recipient, with
// PIPELINING, SIZE, 8BITMIME, SMTPUTF8 and DSN as described there.
//
// The message goes out with CRLF line endings (a bare CR or LF becomes
// CRLF, so no line of it can end DATA early or smuggle a second message),
// dot-stuffed, ended by CRLF.CRLF.
//
// Time limits follow RFC 5321 4.5.3.2 (SessionOptions), each one for a
// whole reply or a whole write, never per read: the deadline is set when
// the driver starts waiting for a reply and the socket is polled with the
// time left, so a server that answers a byte at a time meets it too. The
// message is written under the data-block limit for each MiB begun.
//
// Stopping: with SessionOptions::stop, the driver looks at the flag at
// least every 200 ms. Once it is set nothing more is written; a reply
// already on its way gets half a second to arrive whole (so that a
// message whose final dot was answered is not sent again); then the
// session gives up: what is in flight ends with Delivery::interrupted
// (and unanswered_dot when a final dot went out), no QUIT is sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "msg/delivery.hpp"
#include "msg/envelope.hpp"
#include "msg/result.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/client_session.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

class Session {
public:
    using Prepared = smtp::Prepared;

    // Connect, read the greeting, EHLO (HELO on 500/502), then STARTTLS and
    // EHLO again when asked, then AUTH when a user is given. On failure the
    // SessionError says why (the step, the server's reply, whether it was
    // reached, whether retrying could help).
    static Result<Session, SessionError> open(const Endpoint& server, const SessionOptions& opt,
                                              WireObserver observer = {});

    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    ~Session();

    const Capabilities& capabilities() const { return engine_.capabilities(); }
    const Reply& greeting() const { return engine_.greeting(); }

    // A transaction made ready for this session (ClientSession::prepare).
    // `message` as stored (LF or CRLF, not dot-stuffed).
    Prepared prepare(const Envelope& envelope, std::string_view message) const {
        return engine_.prepare(envelope, message);
    }

    // Send a prepared transaction (after the first, RSET goes first:
    // pipelined with MAIL when the server offers PIPELINING). When the
    // server offers PIPELINING and `next` is given, it is asked, once DATA
    // was answered 354, for the transaction to follow; that one's envelope
    // then goes in the same write as this message's final dot (RFC 2920
    // 3.1), and transact() on it later only reads the replies. `p` is
    // consumed. Never throws; every recipient gets an outcome.
    Delivery transact(Prepared& p, const std::function<Prepared*()>& next = {});
    // prepare() and transact() in one.
    Delivery send(const Envelope& envelope, std::string_view message) {
        Prepared p = prepare(envelope, message);
        return transact(p);
    }
    std::uint64_t id() const { return id_; }   // unique per opened session
    // RSET; false when the session is no longer usable.
    bool reset();
    // QUIT and close (the reply is read but not required; skipped once
    // the stop flag is set).
    void quit();
    bool usable() const { return conn_.is_open() && engine_.usable(); }

private:
    Session(Connection conn, ClientSession engine);
    void pump(const std::function<bool()>& enough);
    bool stopping();

    Connection conn_;
    ClientSession engine_;
    bool stop_seen_ = false;
    Connection::Clock::time_point grace_end_{};
    std::unique_ptr<char[]> buf_;
    std::uint64_t id_ = 0;
};

}  // namespace msg::smtp
