// smtp_client_session_test.cpp - the I/O-free client session
// (msg/smtp/client_session.hpp) fed scripted server bytes: the opening
// (greeting, EHLO and the HELO fallback, STARTTLS, AUTH PLAIN and LOGIN),
// pipelined and one-by-one transactions with their per-recipient outcomes,
// the envelope behind the final dot, 421, malformed and over-long replies,
// a lost or stopped connection, and the time limit for each wait.
#include <gtest/gtest.h>
#include <msg/rewrite.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "msg/codec.hpp"
#include "msg/smtp/client_session.hpp"

using namespace msg;
using namespace msg::smtp;
using namespace std::string_literals;

namespace {

const char* kEhloPipelining = "250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1000000\r\n250 DSN\r\n";
const char* kEhloPlain = "250-mx.example\r\n250 SIZE\r\n";

struct Client {
    SessionOptions opt;
    std::vector<std::pair<Wire, std::string>> seen;
    std::unique_ptr<ClientSession> s;

    explicit Client(SessionOptions o = {}, bool loopback = true) : opt(std::move(o)) {
        opt.helo = "client.example";
        s = std::make_unique<ClientSession>(opt, "mx.example:25", loopback,
                                            [this](Wire w, std::string_view t) { seen.emplace_back(w, std::string(t)); });
    }
    // Feed the server's bytes; return what the session wants sent, and
    // consider it sent.
    std::string say(std::string_view bytes) {
        s->receive(bytes);
        return sent();
    }
    std::string sent() {
        std::string out = std::move(s->output());
        s->output().clear();
        return out;
    }
    void open(const char* ehlo = kEhloPipelining) {
        EXPECT_EQ(say("220 mx.example ESMTP\r\n"), "EHLO client.example\r\n");
        EXPECT_EQ(say(ehlo), "");
        ASSERT_TRUE(s->ready());
    }
};

Envelope envelope(std::vector<std::string> rcpts, std::vector<std::string> mail_params = {}) {
    Envelope e;
    e.mail_from = "a@example.org";
    e.mail_params = std::move(mail_params);
    for (auto& r : rcpts) e.rcpts.push_back(Envelope::Rcpt{std::move(r), {}});
    return e;
}

const std::string kMessage = "From: a@example.org\nSubject: hi\n\n.dot\nbody\n";

}  // namespace

TEST(ClientSession, WaitsForTheGreetingFirst) {
    Client c;
    EXPECT_EQ(c.s->waiting(), Limit::greeting);
    EXPECT_EQ(c.sent(), "");
    EXPECT_FALSE(c.s->ready());
    EXPECT_EQ(c.say("220-mx.example ESMTP\r\n220 welcome\r\n"), "EHLO client.example\r\n");
    EXPECT_EQ(c.s->greeting().lines.size(), 2u);
    EXPECT_EQ(c.s->waiting(), Limit::command);
    EXPECT_EQ(c.say(kEhloPipelining), "");
    EXPECT_TRUE(c.s->ready());
    EXPECT_EQ(c.s->waiting(), std::nullopt);
    const Capabilities& caps = c.s->capabilities();
    EXPECT_TRUE(caps.esmtp && caps.pipelining && caps.eightbitmime && caps.dsn && caps.size_offered);
    EXPECT_EQ(caps.size, 1000000u);
    EXPECT_EQ(c.s->progress(), 2u);
}

TEST(ClientSession, RefusedGreetingEndsTheSession) {
    Client c;
    // RFC 5321 3.1, 4.1.1.10: QUIT all the same (the server waits for it),
    // its reply awaited within the quit limit, and then the end.
    EXPECT_EQ(c.say("554 5.3.2 no service\r\n"), "QUIT\r\n");
    ASSERT_TRUE(c.s->error());
    EXPECT_EQ(c.s->error()->message, "mx.example:25 refused the session: 554 5.3.2 no service");
    EXPECT_TRUE(c.s->error()->permanent);
    EXPECT_FALSE(c.s->error()->unreachable);
    EXPECT_FALSE(c.s->closed());
    EXPECT_FALSE(c.s->usable());
    EXPECT_FALSE(c.s->ready());
    EXPECT_EQ(c.s->waiting(), Limit::quit);
    EXPECT_EQ(c.say("221 2.0.0 bye\r\n"), "");
    EXPECT_TRUE(c.s->closed());
    EXPECT_EQ(c.s->error()->message, "mx.example:25 refused the session: 554 5.3.2 no service");
    EXPECT_EQ(c.seen.back(), std::make_pair(Wire::received, "221 2.0.0 bye"s));
    // A server that closes instead of answering, or a time limit: the
    // reason stays the refusal.
    Client gone;
    gone.say("554 5.3.2 no service\r\n");
    gone.s->connection_closed();
    EXPECT_TRUE(gone.s->closed());
    EXPECT_EQ(gone.s->error()->message, "mx.example:25 refused the session: 554 5.3.2 no service");
    Client slow;
    slow.say("554 5.3.2 no service\r\n");
    slow.s->connection_failed("timed out waiting for mx.example:25");
    EXPECT_TRUE(slow.s->closed());
    EXPECT_EQ(slow.s->error()->message, "mx.example:25 refused the session: 554 5.3.2 no service");
    // A 421 has closed the session (RFC 5321 3.8): no QUIT.
    Client t;
    EXPECT_EQ(t.say("421 4.3.2 busy\r\n"), "");
    EXPECT_TRUE(t.s->closed());
    EXPECT_FALSE(t.s->error()->permanent);
}

TEST(ClientSession, HeloWhenEhloIsRefused) {
    Client c;
    c.say("220 old.example\r\n");
    EXPECT_EQ(c.say("500 5.5.1 what?\r\n"), "HELO client.example\r\n");
    EXPECT_EQ(c.say("250 old.example\r\n"), "");
    EXPECT_TRUE(c.s->ready());
    EXPECT_FALSE(c.s->capabilities().esmtp);
    // Without ESMTP no parameter goes out, commands go one by one.
    Prepared p = c.s->prepare(envelope({"b@example.net"}, {"BODY=7BIT"}), kMessage);
    c.s->submit(std::move(p));
    EXPECT_EQ(c.sent(), "MAIL FROM:<a@example.org>\r\n");
}

// A reply that came in the same bytes as the one a command was sent in
// answer to answers nothing: taken for the command's, every later reply
// would be one command off (a recipient refused failed in another's name).
TEST(ClientSession, AReplyBeforeItsCommandWasSentIsAProtocolError) {
    Client c;
    EXPECT_EQ(c.say("220 mx.example ESMTP\r\n220 mx.example again\r\n"), "EHLO client.example\r\n");
    ASSERT_TRUE(c.s->error());
    EXPECT_NE(c.s->error()->message.find("before the command it would answer was sent: 220 mx.example again"),
              std::string::npos) << c.s->error()->message;
    EXPECT_FALSE(c.s->error()->permanent);
    EXPECT_FALSE(c.s->ready());
    // A line after the EHLO reply, in the same bytes: no transaction is
    // started on replies one off.
    Client d;
    d.say("220 mx.example\r\n");
    d.say(std::string(kEhloPipelining) + "250 2.1.0 stray\r\n");
    EXPECT_FALSE(d.s->usable());
    EXPECT_NE(d.s->broke().find("250 2.1.0 stray"), std::string::npos) << d.s->broke();
    // The same replies, each after its command went out, are fine; and a
    // 421 may come at any time (RFC 5321 3.8), early or not.
    Client e;
    e.open();
    Client f;
    EXPECT_EQ(f.say("220 mx.example\r\n421 4.3.2 going down\r\n"), "EHLO client.example\r\n");
    ASSERT_TRUE(f.s->error());
    EXPECT_NE(f.s->error()->message.find("closed the session: 421 4.3.2 going down"), std::string::npos)
        << f.s->error()->message;
}

// EHLO is refused (5xx: HELO then), deferred (4xx), or accepted (250);
// a 220 or a 354 to it is no answer, and HELO is not tried on it.
TEST(ClientSession, AnAnswerToEhloNoServerGivesIsAProtocolError) {
    for (const char* odd : {"220 mx.example\r\n", "354 go on\r\n", "251 hmm\r\n"}) {
        Client c;
        c.say("220 mx.example\r\n");
        EXPECT_EQ(c.say(odd), "") << odd;
        ASSERT_TRUE(c.s->error()) << odd;
        EXPECT_NE(c.s->error()->message.find("that no EHLO can have"), std::string::npos) << c.s->error()->message;
    }
}

TEST(ClientSession, TemporaryEhloFailureEndsAndHeloRefusalToo) {
    Client c;
    c.say("220 x\r\n");
    EXPECT_EQ(c.say("421 4.7.0 go away\r\n"), "");
    ASSERT_TRUE(c.s->error());
    EXPECT_TRUE(c.s->closed());
    EXPECT_NE(c.s->error()->message.find("answered EHLO 421 4.7.0 go away"), std::string::npos);
    Client d;
    d.say("220 x\r\n");
    d.say("502 no\r\n");
    EXPECT_EQ(d.say("550 5.7.1 not you\r\n"), "QUIT\r\n");
    ASSERT_TRUE(d.s->error());
    EXPECT_EQ(d.s->error()->message, "mx.example:25 refused EHLO and HELO: 550 5.7.1 not you");
    EXPECT_TRUE(d.s->error()->permanent);
}

TEST(ClientSession, StartTlsThenEhloAgain) {
    SessionOptions o;
    o.tls_mode = TlsMode::starttls;
    Client c(o);
    c.say("220 x\r\n");
    EXPECT_EQ(c.say("250-x\r\n250 STARTTLS\r\n"), "STARTTLS\r\n");
    EXPECT_EQ(c.say("220 2.0.0 go ahead\r\n"), "");
    EXPECT_TRUE(c.s->tls_requested());
    EXPECT_EQ(c.s->waiting(), std::nullopt);   // nothing is read before the handshake
    c.s->tls_started();
    EXPECT_TRUE(c.s->tls());
    EXPECT_EQ(c.sent(), "EHLO client.example\r\n");
    EXPECT_EQ(c.say("250-x\r\n250 PIPELINING\r\n"), "");
    EXPECT_TRUE(c.s->ready());
    EXPECT_TRUE(c.s->capabilities().pipelining);
}

TEST(ClientSession, BytesBeforeTheHandshakeEndTheSession) {
    SessionOptions o;
    o.tls_mode = TlsMode::starttls;
    Client c(o);
    c.say("220 x\r\n");
    c.say("250-x\r\n250 STARTTLS\r\n");
    c.say("220 go ahead\r\n250-injected\r\n");   // RFC 3207 4.2
    EXPECT_TRUE(c.s->closed());
    ASSERT_TRUE(c.s->error());
    EXPECT_NE(c.s->error()->message.find("sent data before the TLS handshake"), std::string::npos);
    // The same when they come in a later read.
    Client d(o);
    d.say("220 x\r\n");
    d.say("250-x\r\n250 STARTTLS\r\n");
    d.say("220 go ahead\r\n");
    d.say("2");
    EXPECT_TRUE(d.s->closed());
}

TEST(ClientSession, StartTlsRequiredButNotOfferedOrRefused) {
    SessionOptions o;
    o.tls_mode = TlsMode::starttls;
    Client c(o);
    c.say("220 x\r\n");
    EXPECT_EQ(c.say(kEhloPipelining), "QUIT\r\n");   // not in clear: the session ends as RFC 5321 says
    ASSERT_TRUE(c.s->error());
    EXPECT_EQ(c.s->error()->message, "mx.example:25 does not offer STARTTLS, which is required");
    EXPECT_EQ(c.s->waiting(), Limit::quit);
    c.say("221 bye\r\n");
    EXPECT_TRUE(c.s->closed());
    Client d(o);
    d.say("220 x\r\n");
    d.say("250-x\r\n250 STARTTLS\r\n");
    EXPECT_EQ(d.say("454 4.7.0 TLS not available\r\n"), "QUIT\r\n");
    ASSERT_TRUE(d.s->error());
    EXPECT_EQ(d.s->error()->message, "mx.example:25 refused STARTTLS: 454 4.7.0 TLS not available");
    d.say("500 5.5.1 what?\r\n");   // any answer to QUIT ends it
    EXPECT_TRUE(d.s->closed());
    d.s->connection_failed("late");   // no effect once closed
    EXPECT_EQ(d.s->error()->message, "mx.example:25 refused STARTTLS: 454 4.7.0 TLS not available");
}

TEST(ClientSession, ImplicitTlsComesBeforeTheGreeting) {
    SessionOptions o;
    o.tls_mode = TlsMode::tls;
    Client c(o);
    EXPECT_TRUE(c.s->tls_requested());
    EXPECT_EQ(c.s->waiting(), std::nullopt);
    c.s->tls_started();
    EXPECT_EQ(c.s->waiting(), Limit::greeting);
    EXPECT_EQ(c.say("220 x\r\n"), "EHLO client.example\r\n");
    Client d(o);
    d.s->connection_failed("TLS handshake with mx.example:465 failed: timed out");
    ASSERT_TRUE(d.s->error());
    EXPECT_TRUE(d.s->error()->unreachable);
}

TEST(ClientSession, AuthPlainHidesThePassword) {
    SessionOptions o;
    o.auth_user = "alice";
    o.auth_password = "s3cret";
    Client c(o);
    c.say("220 x\r\n");
    const std::string token = base64_encode(std::string("\0alice\0s3cret", 13), 0, "");
    EXPECT_EQ(c.say("250-x\r\n250 AUTH LOGIN PLAIN\r\n"), "AUTH PLAIN " + token + "\r\n");
    EXPECT_EQ(c.say("235 2.7.0 ok\r\n"), "");
    EXPECT_TRUE(c.s->ready());
    const std::string hidden = base64_encode(std::string("\0alice\0********", 15), 0, "");
    bool shown = false;
    for (const auto& [w, t] : c.seen) {
        EXPECT_EQ(t.find(token), std::string::npos);
        shown = shown || t == "AUTH PLAIN " + hidden;
    }
    EXPECT_TRUE(shown);
}

TEST(ClientSession, AuthLogin) {
    SessionOptions o;
    o.auth_user = "alice";
    o.auth_password = "s3cret";
    Client c(o);
    c.say("220 x\r\n");
    EXPECT_EQ(c.say("250-x\r\n250 AUTH LOGIN\r\n"), "AUTH LOGIN\r\n");
    EXPECT_EQ(c.say("334 VXNlcm5hbWU6\r\n"), base64_encode("alice", 0, "") + "\r\n");
    EXPECT_EQ(c.say("334 UGFzc3dvcmQ6\r\n"), base64_encode("s3cret", 0, "") + "\r\n");
    EXPECT_EQ(c.seen.back().second, base64_encode("********", 0, ""));
    EXPECT_EQ(c.say("235 ok\r\n"), "");
    EXPECT_TRUE(c.s->ready());
}

TEST(ClientSession, AuthFailures) {
    SessionOptions o;
    o.auth_user = "alice";
    o.auth_password = "s3cret";
    Client far(o, false);   // not loopback, no TLS
    far.say("220 x\r\n");
    EXPECT_EQ(far.say("250-x\r\n250 AUTH PLAIN\r\n"), "QUIT\r\n");
    ASSERT_TRUE(far.s->error());
    EXPECT_EQ(far.s->error()->message, "refusing to send credentials to mx.example:25 without TLS (use --tls)");
    Client c(o);
    c.say("220 x\r\n");
    c.say("250-x\r\n250 AUTH PLAIN\r\n");
    c.say("535 5.7.8 bad credentials\r\n");
    ASSERT_TRUE(c.s->error());
    EXPECT_EQ(c.s->error()->message, "mx.example:25 refused AUTH PLAIN: 535 5.7.8 bad credentials");
    EXPECT_FALSE(c.s->error()->permanent);   // tried again later
    ASSERT_TRUE(c.s->error()->reply);
    EXPECT_EQ(c.s->error()->reply->code, 535);
    // A refusal names its code and enhanced code, as every other one does.
    Client login(o);
    login.say("220 x\r\n");
    login.say("250-x\r\n250 AUTH LOGIN\r\n");
    login.say("334 VXNlcm5hbWU6\r\n");
    login.say("334 UGFzc3dvcmQ6\r\n");
    login.say("535 5.7.8 Authentication credentials invalid\r\n");
    ASSERT_TRUE(login.s->error());
    EXPECT_EQ(login.s->error()->message, "mx.example:25 refused the credentials: 535 5.7.8 Authentication credentials invalid");
    // RFC 4954 4: a challenge after the credentials (a second factor, say)
    // is cancelled with "*", and QUIT waits for the reply to it.
    Client more(o);
    more.say("220 x\r\n");
    more.say("250-x\r\n250 AUTH LOGIN\r\n");
    more.say("334 VXNlcm5hbWU6\r\n");
    EXPECT_EQ(more.say("334 UGFzc3dvcmQ6\r\n"), base64_encode("s3cret", 0, "") + "\r\n");
    EXPECT_EQ(more.say("334 T1RQOg==\r\n"), "*\r\n");
    ASSERT_TRUE(more.s->error());
    EXPECT_EQ(more.s->error()->message, "mx.example:25 asked for more after the password: 334 T1RQOg==");
    EXPECT_FALSE(more.s->error()->permanent);
    EXPECT_EQ(more.say("501 5.7.0 authentication cancelled\r\n"), "QUIT\r\n");
    EXPECT_EQ(more.say("221 bye\r\n"), "");
    EXPECT_TRUE(more.s->closed());
    Client plain(o);
    plain.say("220 x\r\n");
    plain.say("250-x\r\n250 AUTH PLAIN\r\n");
    EXPECT_EQ(plain.say("334 \r\n"), "*\r\n");
    EXPECT_EQ(plain.say("421 4.7.0 bye\r\n"), "");   // closing: no QUIT
    Client none(o);
    none.say("220 x\r\n");
    none.say("250-x\r\n250 AUTH CRAM-MD5\r\n");
    ASSERT_TRUE(none.s->error());
    EXPECT_EQ(none.s->error()->message, "mx.example:25 offers neither AUTH PLAIN nor AUTH LOGIN");
}

TEST(ClientSession, PipelinedTransaction) {
    Client c;
    c.open();
    Prepared p = c.s->prepare(envelope({"b@example.net", "c@example.net"}), kMessage);
    const std::string payload = p.payload;
    EXPECT_EQ(payload, "From: a@example.org\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
    c.s->submit(std::move(p));
    EXPECT_EQ(c.sent(), "MAIL FROM:<a@example.org> SIZE=48\r\nRCPT TO:<b@example.net>\r\n"
                        "RCPT TO:<c@example.net>\r\nDATA\r\n");
    EXPECT_EQ(c.s->waiting(), Limit::command);
    EXPECT_EQ(c.say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n"), "");
    EXPECT_EQ(c.s->waiting(), Limit::command);
    EXPECT_EQ(c.say("550 5.1.1 no such user\r\n"), "");
    EXPECT_EQ(c.s->waiting(), Limit::data_start);
    EXPECT_EQ(c.say("354 go ahead\r\n"), payload);
    EXPECT_EQ(c.s->waiting(), Limit::data_end);
    EXPECT_EQ(c.s->completed(), 0u);
    EXPECT_EQ(c.say("250 2.0.0 queued\r\n"), "");
    ASSERT_EQ(c.s->completed(), 1u);
    const Delivery d = c.s->take();
    ASSERT_EQ(d.rcpts.size(), 2u);
    EXPECT_EQ(d.rcpts[0].state, RcptState::sent);
    EXPECT_EQ(d.rcpts[0].reply->code, 250);
    EXPECT_EQ(d.rcpts[1].state, RcptState::failed);
    EXPECT_EQ(d.rcpts[1].reply->status().str(), "5.1.1");
    EXPECT_FALSE(d.connection_lost);
    EXPECT_TRUE(c.s->ready());
    // The next one starts with RSET, in the same write.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    EXPECT_EQ(c.sent().substr(0, 17), "RSET\r\nMAIL FROM:<");
}

TEST(ClientSession, NextEnvelopeFollowsTheFinalDot) {
    Client c;
    c.open();
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    EXPECT_FALSE(c.s->can_follow());
    c.s->receive("250 ok\r\n250 ok\r\n354 go\r\n");
    EXPECT_TRUE(c.s->can_follow());
    c.s->submit(c.s->prepare(envelope({"d@example.net"}), kMessage));
    EXPECT_FALSE(c.s->can_follow());
    const std::string both = c.sent();
    EXPECT_EQ(both, "From: a@example.org\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n"
                    "RSET\r\nMAIL FROM:<a@example.org> SIZE=48\r\nRCPT TO:<d@example.net>\r\nDATA\r\n");
    // The dot's reply and the whole next envelope's in one read.
    EXPECT_EQ(c.say("250 first\r\n250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
              "From: a@example.org\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
    ASSERT_EQ(c.s->completed(), 1u);
    EXPECT_EQ(c.s->take().rcpts[0].reply->text(), "first");
    EXPECT_TRUE(c.s->can_follow());
    c.say("250 second\r\n");
    ASSERT_EQ(c.s->completed(), 1u);
    EXPECT_EQ(c.s->take().rcpts[0].state, RcptState::sent);
    EXPECT_TRUE(c.s->ready());
}

// The final dot went out and the next envelope behind it did not, when the
// connection broke: the message may have been delivered (the driver said
// how much it wrote), the next one was not.
TEST(ClientSession, DotWrittenButNotTheEnvelopeBehindIt) {
    for (const bool told : {true, false}) {
        Client c;
        c.open();
        c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
        c.sent();
        c.s->receive("250 ok\r\n250 ok\r\n354 go\r\n");
        c.s->submit(c.s->prepare(envelope({"d@example.net"}), kMessage));
        const std::string& out = c.s->output();
        const std::size_t dot = out.find("\r\n.\r\n") + 5;
        ASSERT_LT(dot, out.size());   // the envelope follows
        if (told) c.s->written(dot);
        else c.s->written(dot - 1);   // the dot's last byte did not go
        c.s->connection_failed("cannot write to mx.example:25: Connection reset by peer");
        ASSERT_EQ(c.s->completed(), 2u);
        const Delivery first = c.s->take(), second = c.s->take();
        EXPECT_EQ(first.unanswered_dot, told);
        EXPECT_TRUE(first.connection_lost);
        EXPECT_FALSE(second.unanswered_dot);
        EXPECT_EQ(second.rcpts[0].state, RcptState::deferred);
    }
    // Written whole and cleared, then the envelope queued on its own: the
    // dot went out.
    Client w;
    w.open();
    w.s->submit(w.s->prepare(envelope({"b@example.net"}), kMessage));
    w.sent();
    w.s->receive("250 ok\r\n250 ok\r\n354 go\r\n");
    w.sent();
    w.s->submit(w.s->prepare(envelope({"d@example.net"}), kMessage));
    EXPECT_FALSE(w.s->output().empty());
    w.s->connection_failed("cannot write to mx.example:25: Connection reset by peer");
    EXPECT_TRUE(w.s->take().unanswered_dot);
}

// RFC 5321 4.1.1.4: the reply to a message comes after its final dot. One
// that comes before the dot went out (with the 354, or while the message
// is still being written) delivered nothing: the session ends and the
// message is deferred, not sent and not "may have been delivered".
TEST(ClientSession, AReplyBeforeTheDotWentOutDeliversNothing) {
    for (const std::size_t written : {std::size_t{0}, std::size_t{10}}) {
        Client c;
        c.open();
        c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
        c.sent();
        c.s->receive("250 ok\r\n250 ok\r\n354 go\r\n");
        ASSERT_FALSE(c.s->output().empty());   // the message, queued
        if (written > 0) c.s->written(written);
        c.s->receive("250 2.0.0 accepted already\r\n");
        ASSERT_EQ(c.s->completed(), 1u) << written;
        const Delivery d = c.s->take();
        EXPECT_EQ(d.rcpts[0].state, RcptState::deferred);
        EXPECT_NE(d.rcpts[0].detail.find("before the message was sent whole"), std::string::npos) << d.rcpts[0].detail;
        EXPECT_TRUE(d.connection_lost);
        EXPECT_FALSE(d.unanswered_dot);
        EXPECT_TRUE(c.s->closed());
    }
    // The same reply once the dot went out (what follows it need not have):
    // the message was accepted.
    Client c;
    c.open();
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    c.s->receive("250 ok\r\n250 ok\r\n354 go\r\n");
    c.s->written(c.s->output().size());
    c.s->receive("250 2.0.0 ok\r\n");
    ASSERT_EQ(c.s->completed(), 1u);
    EXPECT_EQ(c.s->take().rcpts[0].state, RcptState::sent);
}

TEST(ClientSession, QueuedBehindATransactionThatIsNotAtItsDot) {
    Client c;
    c.open();
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    c.s->submit(c.s->prepare(envelope({"c@example.net"}), kMessage));
    EXPECT_EQ(c.sent(), "");   // waits: the first may still need RSET after a refusal
    EXPECT_EQ(c.s->in_flight(), 2u);
    EXPECT_EQ(c.say("250 ok\r\n250 ok\r\n451 4.3.0 later\r\n"), "RSET\r\n");
    EXPECT_EQ(c.say("250 reset\r\n"), "RSET\r\nMAIL FROM:<a@example.org> SIZE=48\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
    ASSERT_EQ(c.s->completed(), 1u);
    const Delivery d = c.s->take();
    EXPECT_EQ(d.rcpts[0].state, RcptState::deferred);
    EXPECT_EQ(d.rcpts[0].reply->code, 451);
}

TEST(ClientSession, OneByOneWithoutPipelining) {
    Client c;
    c.open(kEhloPlain);
    c.s->submit(c.s->prepare(envelope({"b@example.net", "c@example.net"}), kMessage));
    EXPECT_EQ(c.sent(), "MAIL FROM:<a@example.org> SIZE=48\r\n");
    EXPECT_EQ(c.say("250 ok\r\n"), "RCPT TO:<b@example.net>\r\n");
    EXPECT_EQ(c.say("550 5.1.1 no\r\n"), "RCPT TO:<c@example.net>\r\n");
    EXPECT_EQ(c.say("250 ok\r\n"), "DATA\r\n");
    EXPECT_EQ(c.s->waiting(), Limit::data_start);
    EXPECT_EQ(c.say("354 go\r\n"), "From: a@example.org\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
    EXPECT_FALSE(c.s->can_follow());   // no PIPELINING
    EXPECT_EQ(c.say("250 queued\r\n"), "");
    Delivery d = c.s->take();
    EXPECT_EQ(d.rcpts[0].state, RcptState::failed);
    EXPECT_EQ(d.rcpts[1].state, RcptState::sent);
    // The second: RSET first, alone.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    EXPECT_EQ(c.sent(), "RSET\r\n");
    EXPECT_EQ(c.say("250 ok\r\n"), "MAIL FROM:<a@example.org> SIZE=48\r\n");
    // MAIL refused: every recipient gets its reply, then RSET.
    EXPECT_EQ(c.say("451 4.3.0 try later\r\n"), "RSET\r\n");
    EXPECT_EQ(c.say("250 ok\r\n"), "");
    d = c.s->take();
    EXPECT_EQ(d.rcpts[0].state, RcptState::deferred);
    EXPECT_EQ(d.rcpts[0].reply->code, 451);
    // Every recipient refused: no DATA, RSET.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    c.say("250 ok\r\n");
    c.say("250 ok\r\n");
    EXPECT_EQ(c.say("550 no\r\n"), "RSET\r\n");
    EXPECT_EQ(c.say("250 ok\r\n"), "");
    EXPECT_EQ(c.s->take().rcpts[0].state, RcptState::failed);
    // A refused RSET ends the session.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    EXPECT_EQ(c.sent(), "RSET\r\n");
    c.say("500 what\r\n");
    d = c.s->take();
    EXPECT_TRUE(d.connection_lost);
    EXPECT_NE(d.rcpts[0].detail.find("RSET was refused"), std::string::npos);
    EXPECT_FALSE(c.s->usable());
}

TEST(ClientSession, PipelinedRefusals) {
    Client c;
    c.open();
    // Every RCPT refused and DATA refused too (554): no message, RSET.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    EXPECT_EQ(c.say("250 ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n"), "RSET\r\n");
    c.say("250 ok\r\n");
    Delivery d = c.s->take();
    EXPECT_EQ(d.rcpts[0].state, RcptState::failed);
    EXPECT_EQ(d.rcpts[0].reply->code, 550);
    // DATA accepted though no recipient was: an empty message ends it.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    EXPECT_EQ(c.say("250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n"), ".\r\n");
    EXPECT_EQ(c.s->waiting(), Limit::data_end);
    c.say("554 no recipients\r\n");
    EXPECT_EQ(c.s->take().rcpts[0].state, RcptState::failed);
    // MAIL refused: its reply decides every recipient; the RCPT replies don't.
    c.s->submit(c.s->prepare(envelope({"b@example.net", "c@example.net"}), kMessage));
    c.sent();
    EXPECT_EQ(c.say("250 ok\r\n550 5.7.1 sender refused\r\n503 no\r\n503 no\r\n503 no\r\n"), "");
    d = c.s->take();
    EXPECT_EQ(d.rcpts[0].reply->code, 550);
    EXPECT_EQ(d.rcpts[1].reply->code, 550);
    EXPECT_EQ(d.rcpts[1].state, RcptState::failed);
    // DATA refused with 451 after an accepted recipient.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    EXPECT_EQ(c.say("250 ok\r\n250 ok\r\n250 ok\r\n451 4.3.0 not now\r\n"), "RSET\r\n");
    c.say("250 ok\r\n");
    d = c.s->take();
    EXPECT_EQ(d.rcpts[0].state, RcptState::deferred);
    EXPECT_EQ(d.rcpts[0].reply->code, 451);
    // 552 to RCPT is "too many recipients" (RFC 5321 4.5.3.1.10): that
    // recipient waits for another transaction; 550 is refused for good.
    c.s->submit(c.s->prepare(envelope({"b@example.net", "c@example.net", "d@example.net"}), kMessage));
    EXPECT_EQ(c.sent(), "RSET\r\nMAIL FROM:<a@example.org> SIZE=48\r\nRCPT TO:<b@example.net>\r\n"
                        "RCPT TO:<c@example.net>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n");
    c.say("250 reset\r\n250 ok\r\n250 ok\r\n552 5.5.3 too many recipients\r\n550 5.1.1 no such user\r\n"
          "354 go\r\n");
    c.say("250 2.0.0 queued\r\n");
    ASSERT_EQ(c.s->completed(), 1u);
    d = c.s->take();
    EXPECT_EQ(d.rcpts[0].state, RcptState::sent);
    EXPECT_EQ(d.rcpts[1].state, RcptState::deferred);
    EXPECT_EQ(d.rcpts[1].reply->code, 552);
    EXPECT_EQ(d.rcpts[2].state, RcptState::failed);
    // 552 to MAIL is the message's size (RFC 1870): refused for good.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.sent();
    c.say("250 reset\r\n552 5.3.4 message size exceeds fixed maximum\r\n503 no\r\n503 no\r\n");
    ASSERT_EQ(c.s->completed(), 1u);
    d = c.s->take();
    EXPECT_EQ(d.rcpts[0].state, RcptState::failed);
    EXPECT_EQ(d.rcpts[0].reply->code, 552);
}

TEST(ClientSession, FinalDotReplies) {
    for (const auto& [reply, state] : std::vector<std::pair<std::string, RcptState>>{
             {"250 2.0.0 ok\r\n", RcptState::sent},
             {"451 4.3.0 later\r\n", RcptState::deferred},
             {"550 5.7.1 spam\r\n", RcptState::failed},
             {"552-5.3.4 too\r\n552 5.3.4 big\r\n", RcptState::failed}}) {
        Client c;
        c.open();
        c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
        c.say("250 ok\r\n250 ok\r\n354 go\r\n");
        c.say(reply);
        ASSERT_EQ(c.s->completed(), 1u);
        const Delivery d = c.s->take();
        EXPECT_EQ(d.rcpts[0].state, state) << reply;
        EXPECT_EQ(d.rcpts[0].reply->wire(), reply);
        EXPECT_TRUE(c.s->ready());
    }
}

// A reply to the final dot whose code is out of RFC 5321's range is no
// answer: the message may have been delivered, and is deferred so.
TEST(ClientSession, AnOutOfRangeReplyToTheDotIsNoDelivery) {
    for (const char* reply : {"260 2.0.0 queued\r\n", "600 no\r\n", "099 what\r\n"}) {
        Client c;
        c.open();
        c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
        c.say("250 ok\r\n250 ok\r\n354 go\r\n");
        c.say(reply);
        ASSERT_EQ(c.s->completed(), 1u) << reply;
        const Delivery d = c.s->take();
        EXPECT_EQ(d.rcpts[0].state, RcptState::deferred) << reply;
        EXPECT_TRUE(d.unanswered_dot) << reply;
        EXPECT_NE(d.rcpts[0].detail.find("out of range"), std::string::npos) << d.rcpts[0].detail;
        EXPECT_TRUE(c.s->closed());
    }
}

TEST(ClientSession, A421EndsTheSession) {
    Client c;
    c.open();
    c.s->submit(c.s->prepare(envelope({"b@example.net", "c@example.net"}), kMessage));
    c.sent();
    c.say("250 ok\r\n250 ok\r\n421 4.3.2 shutting down\r\n");
    ASSERT_EQ(c.s->completed(), 1u);
    const Delivery d = c.s->take();
    EXPECT_TRUE(d.connection_lost);
    EXPECT_EQ(d.rcpts[1].reply->code, 421);
    EXPECT_EQ(d.rcpts[1].state, RcptState::deferred);
    EXPECT_TRUE(c.s->closed());
    EXPECT_FALSE(c.s->usable());
    // Later transactions are answered at once.
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    EXPECT_EQ(c.sent(), "");
    EXPECT_EQ(c.s->take().rcpts[0].detail, "the session is closed");
    // A 421 while idle, as RFC 5321 3.8 allows.
    Client idle;
    idle.open();
    idle.say("421 4.4.2 idle too long\r\n");
    EXPECT_TRUE(idle.s->closed());
    // Something else unasked for is a protocol error.
    Client odd;
    odd.open();
    odd.say("250 what?\r\n");
    EXPECT_TRUE(odd.s->closed());
}

TEST(ClientSession, MalformedReplies) {
    Client c;
    c.say("22O hello\r\n");
    ASSERT_TRUE(c.s->error());
    EXPECT_EQ(c.s->error()->message.substr(0, 56), "no greeting from mx.example:25: malformed reply from mx.");
    EXPECT_TRUE(c.s->error()->unreachable);
    Client e;
    e.say("220 x\r\n");
    e.say("250-x\r\n251 y\r\n");
    ASSERT_TRUE(e.s->error());
    EXPECT_NE(e.s->error()->message.find("EHLO to mx.example:25: malformed reply"), std::string::npos);
    // In a transaction: the transaction ends, the session too; control
    // characters in the quoted line are escaped.
    Client t;
    t.open();
    t.s->submit(t.s->prepare(envelope({"b@example.net"}), kMessage));
    t.say("250 ok\r\n\x1b[31mred\0\r\n"s);
    const Delivery d = t.s->take();
    EXPECT_TRUE(d.connection_lost);
    EXPECT_NE(d.rcpts[0].detail.find("malformed reply"), std::string::npos);
    EXPECT_EQ(d.rcpts[0].detail.find('\x1b'), std::string::npos);
    EXPECT_TRUE(t.s->closed());
}

TEST(ClientSession, RepliesAreBounded) {
    // A reply that never ends: given up past 1000 lines, in pieces or not.
    Client c;
    c.say("220 x\r\n");
    std::string lines;
    for (int i = 0; i < 999; ++i) lines += "250-line\r\n";
    c.say(lines);
    EXPECT_FALSE(c.s->closed());
    c.say("250-one too many\r\n250-and more\r\n");
    ASSERT_TRUE(c.s->error());
    EXPECT_EQ(c.s->error()->message, "EHLO to mx.example:25: reply from mx.example:25 over 1000 lines");
    // Bytes: 64 KiB.
    Client b;
    b.say("220 x\r\n");
    for (int i = 0; i < 40 && !b.s->closed(); ++i) b.say("250-" + std::string(2000, 'x') + "\r\n");
    ASSERT_TRUE(b.s->error());
    EXPECT_NE(b.s->error()->message.find("over 65536 bytes"), std::string::npos);
    // One endless line, long before its LF.
    Client l;
    l.say("220 x\r\n");
    for (int i = 0; i < 10 && !l.s->closed(); ++i) l.say(std::string(1000, 'x'));
    ASSERT_TRUE(l.s->error());
    EXPECT_NE(l.s->error()->message.find("with a line over 4096 bytes"), std::string::npos);
    // Limits of one's own.
    SessionOptions o;
    o.replies.max_lines = 3;
    Client s(o);
    s.say("220 x\r\n250-a\r\n250-b\r\n250-c\r\n250-d\r\n");
    ASSERT_TRUE(s.s->error());
    EXPECT_NE(s.s->error()->message.find("over 3 lines"), std::string::npos);
}

TEST(ClientSession, LostConnectionAndTheUnansweredDot) {
    // Closed while waiting for the final dot's reply: it may have been delivered.
    Client c;
    c.open();
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.say("250 ok\r\n250 ok\r\n354 go\r\n");
    c.s->connection_closed();
    Delivery d = c.s->take();
    EXPECT_TRUE(d.connection_lost && d.unanswered_dot);
    EXPECT_FALSE(d.interrupted);
    EXPECT_EQ(d.rcpts[0].state, RcptState::deferred);
    EXPECT_EQ(d.rcpts[0].detail,
              "no reply after the message was sent (it may have been delivered): connection closed by mx.example:25");
    EXPECT_EQ(c.s->waiting(), std::nullopt);
    EXPECT_EQ(c.seen.back().first, Wire::event);
    EXPECT_EQ(c.seen.back().second, "error connection closed by mx.example:25");
    // The message never went out (the write failed): not delivered.
    Client w;
    w.open();
    w.s->submit(w.s->prepare(envelope({"b@example.net"}), kMessage));
    w.say("250 ok\r\n250 ok\r\n");
    w.s->receive("354 go\r\n");   // the message waits in output()
    w.s->connection_failed("cannot write to mx.example:25: Broken pipe");
    d = w.s->take();
    EXPECT_FALSE(d.unanswered_dot);
    EXPECT_EQ(d.rcpts[0].detail, "cannot write to mx.example:25: Broken pipe");
    // In the middle of a line.
    Client m;
    m.open();
    m.s->submit(m.s->prepare(envelope({"b@example.net"}), kMessage));
    m.say("250 o");
    m.s->connection_closed();
    EXPECT_EQ(m.s->take().rcpts[0].detail, "connection closed by mx.example:25 in the middle of a line");
}

TEST(ClientSession, StoppedWorkIsInterrupted) {
    Client c;
    c.open();
    c.s->submit(c.s->prepare(envelope({"b@example.net"}), kMessage));
    c.say("250 ok\r\n");
    c.s->connection_failed("stopped", true);
    Delivery d = c.s->take();
    EXPECT_TRUE(d.interrupted);
    EXPECT_FALSE(d.unanswered_dot);
    EXPECT_EQ(d.rcpts[0].reply, std::nullopt);
    // Stopped while the final dot awaits its reply: may have been delivered.
    Client t;
    t.open();
    t.s->submit(t.s->prepare(envelope({"b@example.net"}), kMessage));
    t.say("250 ok\r\n250 ok\r\n354 go\r\n");
    t.s->connection_failed("stopped", true);
    d = t.s->take();
    EXPECT_TRUE(d.interrupted && d.unanswered_dot);
}

TEST(ClientSession, QuitAndReset) {
    Client c;
    c.open();
    c.s->reset();
    EXPECT_EQ(c.sent(), "RSET\r\n");
    EXPECT_FALSE(c.s->ready());
    c.say("250 ok\r\n");
    EXPECT_TRUE(c.s->ready());
    c.s->quit();
    EXPECT_EQ(c.sent(), "QUIT\r\n");
    EXPECT_EQ(c.s->waiting(), Limit::quit);
    c.say("221 bye\r\n");
    EXPECT_TRUE(c.s->closed());
    // QUIT with a transaction in flight: closed at once, nothing sent.
    Client f;
    f.open();
    f.s->submit(f.s->prepare(envelope({"b@example.net"}), kMessage));
    f.sent();
    f.s->quit();
    EXPECT_EQ(f.sent(), "");
    EXPECT_TRUE(f.s->closed());
    EXPECT_EQ(f.s->take().rcpts[0].state, RcptState::deferred);
}

TEST(ClientSession, PreparedForTheServersExtensions) {
    Client c;
    c.open("250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
    // Over SIZE: decided here.
    Prepared big = c.s->prepare(envelope({"b@example.net"}), kMessage + std::string(200, 'x') + "\n");
    EXPECT_TRUE(big.done);
    EXPECT_NE(big.delivery.rcpts[0].detail.find("SIZE limit of 100"), std::string::npos);
    EXPECT_EQ(big.delivery.rcpts[0].status, "5.3.4");   // message too big for system (RFC 3463)
    // The dots stuffing adds are not the message's size (RFC 1870 4): 100
    // octets with 20 dot lines are sent, as SIZE=100.
    std::string dots = "S: x\n\n";   // 8 octets with CRLF line ends,
    for (int i = 0; i < 20; ++i) dots += ".\n";   // 60,
    dots += std::string(30, 'y') + "\n";           // 32: 100
    Prepared dotted = c.s->prepare(envelope({"b@example.net"}), dots);
    EXPECT_FALSE(dotted.done) << dotted.delivery.rcpts[0].detail;
    EXPECT_EQ(dotted.mail, "MAIL FROM:<a@example.org> SIZE=100");
    EXPECT_EQ(dotted.payload.size(), 100u + 20u + 3u);
    // 8-bit without 8BITMIME: made 7-bit, and said so.
    Prepared eight = c.s->prepare(envelope({"b@example.net"}), "Subject: x\n\ncaf\xc3\xa9\n");
    EXPECT_FALSE(eight.done);
    EXPECT_EQ(eight.mail.find("BODY=8BITMIME"), std::string::npos);
    ASSERT_EQ(eight.delivery.notes.size(), 1u);
    EXPECT_EQ(eight.payload.find('\xc3'), std::string::npos);
    // 8-bit that no conversion takes (not mail: binary data) is not sent as
    // if it had been made 7-bit.
    Prepared png = c.s->prepare(envelope({"b@example.net"}), std::string("\x89PNG\r\n\x1a\n\xff\xfe\x00\x01", 12));
    EXPECT_TRUE(png.done);
    EXPECT_EQ(png.delivery.rcpts[0].state, RcptState::failed);
    EXPECT_EQ(png.delivery.rcpts[0].status, "5.6.3");
    EXPECT_NE(png.delivery.rcpts[0].detail.find("cannot be made 7-bit"), std::string::npos) << png.delivery.rcpts[0].detail;
    // DSN parameters dropped without DSN.
    Prepared dsn = c.s->prepare(envelope({"b@example.net"}, {"RET=HDRS"}), kMessage);
    EXPECT_EQ(dsn.mail.find("RET="), std::string::npos);
    // With 8BITMIME, SMTPUTF8 and DSN.
    Client e;
    e.open("250-mx\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n");
    Prepared u = e.s->prepare(envelope({"j\xc3\xbcrgen@example.net"}, {"RET=HDRS"}), "Subject: x\n\ncaf\xc3\xa9\n");
    EXPECT_EQ(u.mail, "MAIL FROM:<a@example.org> RET=HDRS BODY=8BITMIME SMTPUTF8");
    // A UTF-8 local part to a server without SMTPUTF8: refused here.
    Prepared no = c.s->prepare(envelope({"j\xc3\xbcrgen@example.net"}), kMessage);
    EXPECT_TRUE(no.done);
    EXPECT_EQ(no.delivery.rcpts[0].state, RcptState::failed);
    EXPECT_EQ(no.delivery.rcpts[0].status, "5.6.7");   // non-ASCII address not permitted (RFC 6531)
    // Only the parameters of extensions the EHLO offered (RFC 5321 2.2.1):
    // AUTH= without AUTH, an unknown one, BINARYMIME over DATA are left out.
    Envelope other = envelope({"b@example.net"}, {"AUTH=<>", "MT-PRIORITY=3", "BODY=BINARYMIME", "X-FOO"});
    other.rcpts[0].params = {"RRVS=2030-01-01T00:00:00Z", "NOTIFY=NEVER"};
    Prepared plain = c.s->prepare(other, kMessage);
    EXPECT_EQ(plain.mail, "MAIL FROM:<a@example.org> SIZE=" + std::to_string(plain.payload.size() - 4));   // a dot line
    EXPECT_EQ(plain.rcpt_lines, std::vector<std::string>{"RCPT TO:<b@example.net>"});
    Client o;
    o.open("250-mx\r\n250-AUTH PLAIN\r\n250-MT-PRIORITY MIXER\r\n250-RRVS\r\n250-8BITMIME\r\n250 DSN\r\n");
    Prepared offered = o.s->prepare(other, kMessage);
    EXPECT_EQ(offered.mail, "MAIL FROM:<a@example.org> AUTH=<> MT-PRIORITY=3");
    EXPECT_EQ(offered.rcpt_lines,
              std::vector<std::string>{"RCPT TO:<b@example.net> RRVS=2030-01-01T00:00:00Z NOTIFY=NEVER"});
    // A utf-8 ORCPT to a server with DSN but without SMTPUTF8 goes in its
    // 7-bit form (RFC 6533 3), not dropped: the final DSN names the
    // original recipient. With SMTPUTF8 it goes as it is.
    Envelope orig = envelope({"b@example.net"});
    orig.rcpts[0].params = {"NOTIFY=FAILURE", "ORCPT=utf-8;j\xc3\xbcrgen\\x{2B}1@b\xc3\xbc" "cher.example\xe4\xb8\xad"};
    EXPECT_EQ(o.s->prepare(orig, kMessage).rcpt_lines,
              std::vector<std::string>{"RCPT TO:<b@example.net> NOTIFY=FAILURE "
                                       "ORCPT=utf-8;j\\x{FC}rgen\\x{2B}1@b\\x{FC}cher.example\\x{4E2D}"});
    // An rfc822 ORCPT that holds UTF-8 (only SMTPUTF8 allows it, RFC 6531
    // 3.7.3) goes as the same address of type utf-8, its xtext decoded:
    // "+2B" is '+', which utf-8-addr-xtext writes \x{2B}.
    Envelope r822 = envelope({"b@example.net"});
    r822.rcpts[0].params = {"ORCPT=rfc822;b+2Bx@m\xc3\xbcller.example"};
    EXPECT_EQ(o.s->prepare(r822, kMessage).rcpt_lines,
              std::vector<std::string>{"RCPT TO:<b@example.net> ORCPT=utf-8;b\\x{2B}x@m\\x{FC}ller.example"});
    r822.rcpts[0].params = {"ORCPT=rfc822;b@m\xc3ller.example"};   // not UTF-8: nothing to say it with
    EXPECT_EQ(o.s->prepare(r822, kMessage).rcpt_lines, std::vector<std::string>{"RCPT TO:<b@example.net>"});
    Envelope utf8 = envelope({"b@example.net"}, {"SMTPUTF8"});
    utf8.rcpts[0].params = orig.rcpts[0].params;
    const Prepared as_is = e.s->prepare(utf8, kMessage);
    EXPECT_EQ(as_is.mail, "MAIL FROM:<a@example.org> SMTPUTF8");
    EXPECT_EQ(as_is.rcpt_lines,
              std::vector<std::string>{"RCPT TO:<b@example.net> " + orig.rcpts[0].params[0] + " " + orig.rcpts[0].params[1]});
    // REQUIRETLS (RFC 8689): over TLS to a server that offers it, or failed.
    Prepared tls = o.s->prepare(envelope({"b@example.net"}, {"REQUIRETLS"}), kMessage);
    EXPECT_TRUE(tls.done);
    EXPECT_EQ(tls.delivery.rcpts[0].state, RcptState::failed);
    EXPECT_NE(tls.delivery.rcpts[0].detail.find("REQUIRETLS"), std::string::npos);
    EXPECT_EQ(tls.delivery.rcpts[0].status, "5.7.30");   // REQUIRETLS support required (RFC 8689 5)
}

// RFC 5321 4.5.3.1.6: no line over 998 octets goes out. The field or body
// that has one is folded or encoded again; the rest goes byte for byte.
TEST(ClientSession, LinesOver998OctetsAreMadeToFit) {
    const std::string words = [] {
        std::string w;
        for (int i = 0; i < 150; ++i) w += " word" + std::to_string(i);
        return w;
    }();
    const std::string message = "From: a@example.org\nX-List:" + words + "\nSubject: hi\n\nshort line\n" +
                                std::string(1500, 'x') + "\ncaf\xc3\xa9\n";
    Client c;
    c.open();
    Prepared p = c.s->prepare(envelope({"b@example.net"}), message);
    ASSERT_FALSE(p.done);
    EXPECT_EQ(msg::long_line_at(p.payload), std::string::npos);
    EXPECT_NE(p.payload.find("\r\nSubject: hi\r\n"), std::string::npos) << p.payload;
    EXPECT_NE(p.payload.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
    EXPECT_NE(p.payload.find(" word149\r\nSubject: hi\r\n"), std::string::npos);   // folded: unfolds to the same value
    EXPECT_LE(p.payload.find("\r\n", p.payload.find("X-List:")) - p.payload.find("X-List:"), 78u);
    ASSERT_EQ(p.delivery.notes.size(), 1u);
    EXPECT_NE(p.delivery.notes[0].find("998"), std::string::npos);
    // The same message, with conversions off: as it is, and said so.
    SessionOptions off;
    off.downgrade_8bit = false;
    Client k(off);
    k.open();
    Prepared q = k.s->prepare(envelope({"b@example.net"}), message);
    ASSERT_FALSE(q.done);
    EXPECT_NE(q.payload.find(std::string(1500, 'x')), std::string::npos);
    ASSERT_EQ(q.delivery.notes.size(), 1u);
    // Short lines: nothing changed, nothing said.
    Prepared r = c.s->prepare(envelope({"b@example.net"}), kMessage);
    EXPECT_TRUE(r.delivery.notes.empty());
    EXPECT_EQ(r.payload, "From: a@example.org\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
}

TEST(ClientSession, ReplyLimitsOfTheOptions) {
    SessionOptions o;
    o.command = std::chrono::seconds(7);
    o.data_end = std::chrono::seconds(9);
    EXPECT_EQ(o.limit(Limit::command), std::chrono::seconds(7));
    EXPECT_EQ(o.limit(Limit::data_end), std::chrono::seconds(9));
    EXPECT_EQ(o.limit(Limit::quit), std::chrono::seconds(7));
    o.command = std::chrono::seconds(300);
    EXPECT_EQ(o.limit(Limit::quit), std::chrono::seconds(10));
    EXPECT_EQ(limit_name(Limit::data_start), "data-start");
}

// RFC 1870 4: SIZE [SP 1*DIGIT]. A value that is not all digits states no
// limit that can be known (none assumed), never the digits it starts with.
TEST(ClientSession, SizeValuesThatAreNotNumbersGiveNoLimit) {
    const auto size = [](const std::string& line) {
        Reply r;
        r.code = 250;
        r.lines = {"mx.example", line};
        const Capabilities c = parse_capabilities(r);
        EXPECT_TRUE(c.size_offered) << line;
        return c.size;
    };
    EXPECT_EQ(size("SIZE 35882577"), 35882577u);
    EXPECT_EQ(size("SIZE 10485760 "), 10485760u);   // white space around the number is no part of it
    EXPECT_EQ(size("SIZE  10485760"), 10485760u);
    EXPECT_EQ(size("SIZE"), 0u);
    EXPECT_EQ(size("SIZE 0"), 0u);
    EXPECT_EQ(size("SIZE 1e9"), 0u);
    EXPECT_EQ(size("SIZE 12,5"), 0u);
    EXPECT_EQ(size("SIZE 10 20"), 0u);
    EXPECT_EQ(size("SIZE 0x10"), 0u);
    EXPECT_EQ(size("SIZE 99999999999999999999999"), 0u);
    // Such a server does not fail a message for its size.
    Client c;
    c.open("250-mx\r\n250-PIPELINING\r\n250 SIZE 1e9\r\n");
    Prepared p = c.s->prepare(envelope({"b@example.net"}), kMessage);
    EXPECT_FALSE(p.done) << p.delivery.rcpts[0].detail;
}
