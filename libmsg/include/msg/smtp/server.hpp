// smtp/server.hpp - the server side of an ESMTP session, without I/O.
//
// A ServerSession is fed the bytes a client sent and produces the bytes to
// send back; the caller owns the socket (and TLS) and the policy: what to
// answer at each stage and what to do with a message received whole. It
// speaks RFC 5321 with PIPELINING (RFC 2920: every complete command in the
// input is answered in order, so pipelined groups get their replies in one
// write), 8BITMIME (RFC 6152), SIZE (RFC 1870), SMTPUTF8 (RFC 6531),
// CHUNKING (RFC 3030), DSN parameters (RFC 3461), ENHANCEDSTATUSCODES
// (RFC 2034, codes from RFC 3463), STARTTLS (RFC 3207) and AUTH PLAIN and
// LOGIN (RFC 4954, one test credential).
//
// Memory per session is bounded: a command line longer than
// ServerOptions::max_line is refused (500 5.5.2) without being kept, and a
// message over the SIZE limit is read to its end and refused (552 5.3.4)
// without being kept. Replies are not bounded here (every command gets its
// reply, however many come at once): whoever sends them must stop reading
// while too many are unsent, as a Listener (smtp/listener.hpp) does.
//
// A ServerSession is a Dialog, the shape a Listener (smtp/listener.hpp)
// drives on each connection; anything else of that shape can be driven
// too (smtp/script.hpp plays a transcript's server side).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/envelope.hpp"

namespace msg::smtp {

struct Command;   // msg/smtp/command.hpp

struct ServerOptions {
    std::string hostname = "smtpsink.invalid";
    bool pipelining = true, eightbitmime = true, smtputf8 = true, chunking = true, dsn = true;
    bool esmtp = true;                  // false: EHLO is refused (502), HELO only, no extension
    bool enhanced_codes = true;         // ENHANCEDSTATUSCODES (RFC 2034): false, replies have none
    bool starttls = false;              // offer STARTTLS (the caller can start TLS)
    std::string auth_user, auth_password;   // AUTH PLAIN LOGIN offered when auth_user is set
    bool auth_needs_tls = false;        // ... and only once TLS is on (RFC 4954 4; 538 before)
    std::uint64_t max_size = 0;         // SIZE limit in octets; 0: no limit ("SIZE")
    std::size_t max_rcpts = 1000;       // more RCPTs get 452 4.5.3
    std::size_t max_line = 4096;        // longest command line taken (RFC 5321 asks for 512)
    unsigned max_errors = 20;           // then 421 4.7.0 and close
};

// The stages at which a policy may answer instead of the session.
enum class Stage : std::uint8_t { connect, helo, mail, rcpt, data, dot, vrfy, starttls, auth, quit };
std::string_view stage_name(Stage s);   // "connect", "helo", ...

// A policy's answer. code 0: the session's own answer.
struct Verdict {
    int code = 0;
    std::string text;     // may start with an enhanced code ("5.1.1 no such user")
    bool drop = false;    // close the connection without a reply (at data: once the body starts)
    // Wait this long before the answer (the reply, or the drop), reading
    // nothing meanwhile: a slow server. At dot the wait comes before the
    // message is given to accept(), so that a server stopped meanwhile has
    // stored nothing it did not answer.
    std::chrono::milliseconds delay{0};
};

struct ReceivedMessage {
    Envelope envelope;    // MAIL FROM, its parameters, accepted RCPTs with theirs
    std::string data;     // the message: dot-stuffing removed, line ends as sent
    std::string helo;
    std::string user;     // authenticated as ("" when not)
    bool tls = false;
};

// Record in the message's envelope how it came (docs/spool-format.md):
// Smtp-Peer (the client's address), Smtp-Helo, Smtp-Auth (the user) and
// Smtp-Tls annotations, each when known.
void annotate_received(ReceivedMessage& m, std::string_view peer);

// The server side of one connection, without I/O: what a Listener drives.
// The driver calls start() once, then receive() with what the client sends,
// sends output() (erasing what it sent), and after each call looks at the
// states below.
class Dialog {
public:
    virtual ~Dialog() = default;
    // The greeting into output() (or closing() / dropped()).
    virtual void start() = 0;
    // Bytes from the client; replies are appended to output().
    virtual void receive(std::string_view bytes) = 0;
    // Bytes to send; the driver erases what it has sent.
    virtual std::string& output() = 0;
    // Send output(), then close.
    virtual bool closing() const = 0;
    // Close now, sending nothing more.
    virtual bool dropped() const = 0;
    // Send output(), run a TLS handshake as the server, then tls_started().
    virtual bool tls_requested() const = 0;
    virtual void tls_started() = 0;
    // Waiting for its owner (a reply held for a group commit): the driver
    // reads nothing more until it is no longer held.
    virtual bool held() const = 0;
    // Pausing for a policy's delay: the driver sends output() as usual but
    // gives no input and applies no time limit until `paused()` has
    // passed, then calls unpause(), which may pause again. Zero: not
    // pausing.
    virtual std::chrono::milliseconds paused() const { return std::chrono::milliseconds(0); }
    virtual void unpause() {}
    // For time limits: how many commands and data blocks (a DATA body
    // through its final dot, a BDAT chunk) were received whole so far, and
    // whether a data block is being received now.
    virtual std::uint64_t completed() const = 0;
    virtual bool in_data() const = 0;
    // The server stops: a last reply into output() (RFC 5321 3.8: a 421
    // before the channel closes), sent as far as the socket takes it.
    virtual void shutting_down() {}
};

class ServerSession;

class ServerPolicy {
public:
    virtual ~ServerPolicy() = default;
    // arg: the HELO name (at helo, starttls and quit), the MAIL or RCPT
    // address ("" for <>; a RCPT path without a domain as written, which
    // the session refuses 553 unless the policy accepts it), VRFY's
    // argument, AUTH's mechanism, "" for connect, data and dot; rcpts: the
    // accepted recipients so far. At starttls and auth a verdict only refuses (the
    // session's own 220 or 334 goes on), at quit it only drops or delays.
    virtual Verdict decide(Stage stage, std::string_view arg, const std::vector<std::string>& rcpts) = 0;
    // A message received whole and not refused at the dot stage. Return the
    // reply (code 0: 250), or set `hold` to answer later with resume() (e.g.
    // after a group commit); the session then waits, keeping later input.
    virtual Verdict accept(ReceivedMessage&& m, bool& hold) = 0;
};

class ServerSession : public Dialog {
public:
    ServerSession(const ServerOptions& opt, ServerPolicy& policy);

    // The greeting (220, or the policy's answer at the connect stage).
    void start() override;
    // Bytes from the client. Replies are appended to output().
    void receive(std::string_view bytes) override;
    // Bytes to send; the caller erases what it has sent.
    std::string& output() override { return out_; }

    // Send output(), then close (after QUIT, a 421, or a 5xx greeting).
    bool closing() const override { return closing_; }
    void shutting_down() override;
    // Close now, sending nothing more (a policy's drop).
    bool dropped() const override { return dropped_; }
    // STARTTLS was answered 220: send output(), run the TLS handshake, then
    // call tls_started(). Input received before the handshake is discarded
    // (RFC 3207 4.2: nothing sent in clear after STARTTLS counts). For TLS
    // from the first byte (port 465), call tls_started() before start().
    bool tls_requested() const override { return tls_requested_; }
    void tls_started() override;
    // Waiting for resume() after accept() held the reply.
    bool held() const override { return held_; }
    void resume(const Verdict& v);
    // A policy's delay: the replies to the commands before the one it
    // delays are in output(); that command's reply, and everything after
    // it, wait for unpause().
    std::chrono::milliseconds paused() const override { return pause_; }
    void unpause() override;
    // Command lines (also SASL responses and lines refused as too long),
    // DATA bodies and BDAT chunks received whole so far; in a body or chunk.
    std::uint64_t completed() const override { return completed_; }
    bool in_data() const override { return mode_ == Mode::data || mode_ == Mode::bdat; }

    bool tls() const { return tls_; }
    const std::string& helo() const { return helo_; }
    std::uint64_t messages() const { return messages_; }
    std::size_t buffered() const { return in_.size() - pos_; }

private:
    enum class Mode : std::uint8_t { command, data, bdat, auth_plain, auth_login_user, auth_login_pass };
    void process();
    void command(std::string_view line);
    void data_bytes();
    void bdat_bytes();
    void keep_data(std::string_view bytes);
    void sasl(std::string_view line);
    void end_message();
    void recipient(const Command& c, std::string_view local);
    void finish(const Verdict& v, int code, std::string_view text);
    void reply(int code, std::string_view text);
    void error(int code, std::string_view text);
    void reset_transaction();
    Verdict decide(Stage stage, std::string_view arg, const std::vector<std::string>& rcpts);
    void start_pause();
    bool check_auth(std::string_view user, std::string_view pass);
    bool auth_offered() const { return !opt_.auth_user.empty() && (tls_ || !opt_.auth_needs_tls); }

    const ServerOptions opt_;   // a copy: the session outlives no caller's temporary
    ServerPolicy& policy_;
    std::string in_, out_;
    std::size_t pos_ = 0;
    Mode mode_ = Mode::command;
    bool closing_ = false, dropped_ = false, tls_requested_ = false, tls_ = false, held_ = false;
    bool no_service_ = false;   // a rule refused the greeting: 503 to all but QUIT (RFC 5321 3.1)
    bool esmtp_ = false, skipping_ = false, line_start_ = true, after_crlf_ = true, prev_cr_ = false;
    bool too_big_ = false, drop_in_data_ = false, bdat_last_ = false, bdat_refused_ = false, utf8_ = false;
    bool bdat_started_ = false;   // a BDAT of this transaction was read: no DATA or RCPT now (RFC 3030 2)
    bool bdat_failed_ = false;    // ... and refused: the rest of its chunks are refused too
    bool no_room_ = false;        // memory ran out for this message: 452 at its end
    Verdict bdat_rule_;           // the data stage's refusal, answered once its chunk is read
    // A policy's delay: output from `cut_` on waits (npos: none asked);
    // while pause_ runs, delayed_ holds it and whether it closes or drops.
    std::size_t cut_ = std::string::npos;
    std::chrono::milliseconds delay_{0}, pause_{0};
    std::string delayed_;
    bool delayed_closing_ = false, delayed_dropped_ = false;
    std::optional<Verdict> dot_verdict_;   // taken at dot, acted on after its delay
    unsigned errors_ = 0;
    std::uint64_t bdat_left_ = 0, bdat_size_ = 0, messages_ = 0, completed_ = 0;   // bdat_size_: the chunk's
    std::string helo_, user_, login_user_;
    // The transaction.
    bool in_mail_ = false;
    Envelope env_;
    std::vector<std::string> rcpts_;
    std::string data_;
};

}  // namespace msg::smtp
