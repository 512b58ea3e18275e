// smtp/client_session.hpp - the client side of an ESMTP session, without
// I/O.
//
// A ClientSession is fed the bytes the server sent and produces the bytes
// to send; it owns no socket. Its driver (msg::Sender's event loop in
// sender.hpp, over a Connection, or a test feeding scripted replies) moves bytes,
// runs the TLS handshake when told, and keeps the time: waiting() says
// which RFC 5321 4.5.3.2 limit applies to what the session is waiting
// for, and a new limit starts whenever progress() moves on.
//
// What it does: the greeting, EHLO (HELO when EHLO is refused with 5xx),
// STARTTLS (RFC 3207) and EHLO again, AUTH PLAIN or LOGIN (RFC 4954), then
// transactions that give an outcome per recipient (msg::Delivery).
// Extensions used when offered: PIPELINING (RFC 2920: RSET, MAIL, every
// RCPT and DATA in one write; a transaction submitted while the previous
// message's final dot awaits its reply goes out behind that dot, RFC 2920
// 3.1), SIZE (RFC 1870), 8BITMIME (RFC 6152; else a 7-bit downgrade),
// SMTPUTF8 (RFC 6531; else A-labels when every local part is ASCII), DSN
// (RFC 3461; parameters dropped when not offered), ENHANCEDSTATUSCODES.
// Without PIPELINING, commands go one at a time.
//
// Limits: a reply is read within SessionOptions::replies (1000 lines, 64
// KiB, 4 KiB a line by default); past them the session ends ("reply from
// HOST over 1000 lines"), and so does a malformed reply line. Input is
// consumed as it comes: what the session keeps is at most one reply and
// one unfinished line.
//
// Diagnostics: a session that cannot be opened ends with error() (the
// server and the step named, the reply when there was one), and with QUIT
// when the server is still listening; one lost
// later ends its transactions with connection_lost and the reason in each
// pending recipient's detail. Server text in messages is printable()
// (control characters escaped).
//
// Security: after the 220 to STARTTLS nothing more is read until the
// handshake: bytes that came with or after that 220 end the session (RFC
// 3207 4.2, command injection). Credentials go only over TLS or to a
// loopback address; observers see base64 of "********" for the password.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/delivery.hpp"
#include "msg/envelope.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

enum class TlsMode : std::uint8_t { none, starttls, tls };

// The password as observers and transcripts show it: these eight
// characters in its place (base64-encoded where the protocol has base64).
inline constexpr std::string_view kMaskedSecret = "********";

// The secret an --auth-file holds: its first line, without CR LF (the
// rest of the file is not read). spoolsend's and smtpreplay's rule.
std::string secret_from_file(std::string_view text);

// The RFC 5321 4.5.3.2 time limits. Each covers a whole reply (from the
// moment the session starts waiting for it to its last line) or a whole
// write, never a single read: a server that answers a byte at a time still
// meets it.
enum class Limit : std::uint8_t {
    greeting,     // connecting, implicit TLS, the greeting
    command,      // every command's reply, a STARTTLS handshake
    data_start,   // the reply to DATA
    data_block,   // writing the message (per MiB begun)
    data_end,     // the reply to the final dot
    quit,         // the reply to QUIT: the command limit, at most 10 s
};
std::string_view limit_name(Limit l);   // "greeting", "command", ...

struct SessionOptions {
    std::string helo = "localhost";     // the EHLO / HELO name
    TlsMode tls_mode = TlsMode::none;   // starttls: required (no fallback to plain text)
    TlsOptions tls;
    std::string auth_user;              // empty: no AUTH
    std::string auth_password;
    std::chrono::seconds greeting{300}, command{300}, data_start{120}, data_block{180}, data_end{600};
    bool downgrade_8bit = true;         // false: refuse 8-bit to a server without 8BITMIME
    ReplyLimits replies;                // how much of one reply is read
    // For the driver (msg::Sender): it looks at the flag at least every
    // 200 ms; once it is true nothing more is written, a reply on its way
    // gets half a second, then the work in flight is given up
    // (Delivery::interrupted). Not owned.
    const std::atomic<bool>* stop = nullptr;

    std::chrono::milliseconds limit(Limit l) const;
};

struct Capabilities {
    bool esmtp = false;                 // EHLO was accepted
    bool pipelining = false, eightbitmime = false, smtputf8 = false, dsn = false;
    bool chunking = false, starttls = false, enhanced = false;
    bool size_offered = false;
    std::uint64_t size = 0;             // SIZE's limit; 0: none given
    std::vector<std::string> auth;      // mechanisms, upper case
    std::vector<std::string> keywords;  // every EHLO keyword, upper case
    bool offers(std::string_view keyword) const;   // keyword upper case
};

// The capabilities a 250 reply to EHLO lists (its lines after the first).
Capabilities parse_capabilities(const Reply& ehlo);

// Why a session could not be used: no connection, or a reply that ends it.
struct SessionError {
    std::string message;                // names the server and the step
    std::optional<Reply> reply;         // the server's reply, when there was one
    bool permanent = false;             // 5xx (or a local refusal that retrying cannot fix)
    bool unreachable = false;           // no connection was made or no greeting came
};

// A transaction made ready for a session: what can be decided without the
// server decided (an address that needs SMTPUTF8, an 8-bit message for a
// server without 8BITMIME, a message over SIZE), the command lines and the
// DATA payload built.
struct Prepared {
    Delivery delivery;
    bool done = false;                    // decided here: nothing to send
    std::string mail;
    std::vector<std::string> rcpt_lines;  // of recipients with no detail yet
    std::string payload;                  // data_payload() of the message, final dot included
    std::uint64_t sent_on = 0;            // a driver's: the session its envelope was pipelined on
    bool rset = false;                    // and whether RSET went first
};

class ClientSession {
public:
    // `server` names the peer in messages ("host:port"); `loopback` allows
    // AUTH without TLS. The observer, when given, sees each line sent and
    // received (without CRLF) as it is queued or read, and "error WHY"
    // when an open session breaks.
    ClientSession(const SessionOptions& opt, std::string server, bool loopback = false, WireObserver observer = {});

    // --- bytes --------------------------------------------------------------
    // Bytes from the server, in any pieces.
    void receive(std::string_view bytes);
    // Bytes to send, in order; the driver writes them all, then clears
    // them. Left unsent when the connection fails, they tell the session
    // that a final dot never went out.
    std::string& output() { return out_; }
    const std::string& output() const { return out_; }
    // A driver that writes output() in pieces says how many of its bytes
    // went out so far: a final dot among them went out, though what
    // follows it (the next envelope, pipelined) may not have.
    void written(std::size_t n) {
        if (dot_end_ > 0 && n >= dot_end_) dot_written_ = true;
    }
    // The limit for writing output(): data_block (per MiB begun) when it
    // holds a message, else command.
    Limit output_limit() const { return out_data_ ? Limit::data_block : Limit::command; }
    // The server closed the connection, or it failed (an I/O error, a time
    // limit, the stop flag: `interrupted`). Everything in flight ends.
    void connection_closed();
    void connection_failed(std::string_view why, bool interrupted = false);

    // --- what the driver does next -------------------------------------------
    // Implicit TLS (TlsMode::tls, before anything else) or a 220 to
    // STARTTLS: write output(), run the handshake, then tls_started() (or
    // connection_failed() with why it failed).
    bool tls_requested() const { return tls_requested_; }
    void tls_started();
    // The limit for the reply awaited; nothing when none is (idle, closed).
    std::optional<Limit> waiting() const;
    // Replies completed so far: when it changes, a new reply is awaited.
    std::uint64_t progress() const { return replies_; }
    // Open and idle: a transaction can start at once.
    bool ready() const { return open_ && !closed_ && txns_.empty() && expect_.empty(); }
    // Open and not closed: transactions can be submitted.
    bool usable() const { return open_ && !closed_ && !closing_; }
    // Nothing more will be sent or read: close the connection (after
    // writing output()).
    bool closed() const { return closed_; }
    // Why the session could not be opened. When the server refused it (a
    // reply, or an extension missing) with the connection in order, QUIT
    // goes out first (RFC 5321 4.1.1.10) and closed() comes once it is
    // answered, the connection ends or the quit limit passes; after a 421,
    // a lost connection or a protocol error, closed() at once.
    const std::optional<SessionError>& error() const { return error_; }
    // Why an open session ended without QUIT: the server's 421, a refused
    // RSET, a lost connection, a time limit; "" while it goes on, after
    // QUIT and after a stop.
    const std::string& broke() const { return broke_; }

    const Capabilities& capabilities() const { return caps_; }
    const Reply& greeting() const { return greeting_; }
    bool tls() const { return tls_; }
    const std::string& server() const { return server_; }
    const SessionOptions& options() const { return opt_; }

    // --- transactions ----------------------------------------------------------
    // `message` as stored (LF or CRLF, not dot-stuffed). Needs the
    // capabilities: call it once the session is open.
    Prepared prepare(const Envelope& envelope, std::string_view message) const;
    // Start `p` (not done()) or queue it behind the one in flight. With
    // PIPELINING, when the one in flight has its final dot in output() or
    // sent and awaits the reply (can_follow()), `p`'s envelope is queued at
    // once: it goes out in the same write as that dot. After the first
    // transaction, RSET goes first. Every recipient gets an outcome; a
    // session that is not usable gives every pending one "the session is
    // closed" at once.
    void submit(Prepared p);
    bool can_follow() const;
    // Transactions completed, in the order submitted.
    std::size_t completed() const { return done_.size(); }
    Delivery take();
    // Transactions submitted and not completed.
    std::size_t in_flight() const { return txns_.size(); }
    // Bytes of an unfinished line held (at most ReplyLimits::max_line).
    std::size_t buffered() const { return in_.size(); }

    // RSET when ready (then ready() again once it is answered; a refusal
    // makes the session unusable).
    void reset();
    // QUIT when ready and usable (closed() once answered or when the
    // connection ends); otherwise closed() at once.
    void quit();

private:
    enum class Await : std::uint8_t {
        greeting, ehlo, helo, starttls, auth_plain, auth_login, auth_user, auth_pass, auth_cancel,
        rset_idle, rset_before, mail, rcpt, data, dot, empty_dot, rset_after, quit,
    };
    struct Expect {
        Await what;
        std::size_t rcpt = 0;
        std::uint64_t serial = 0;   // in the order expected
    };
    struct Txn {
        Prepared p;
        std::vector<bool> accepted;
        std::size_t next_rcpt = 0;   // one-by-one mode: the next RCPT to send
        bool pipelined = false, rset = false, sent = false, mail_ok = false, any = false, dot_queued = false;
    };

    void send(std::string_view line, std::string_view shown = {});
    void send_bytes(std::string&& bytes, bool data);
    void wrote_all();
    void expect(Await what, std::size_t rcpt = 0) { expect_.push_back(Expect{what, rcpt, next_serial_++}); }
    void line(std::string_view l);
    void reply(const Reply& r);
    void opening_reply(Await what, const Reply& r);
    void txn_reply(const Expect& e, const Reply& r);
    void after_ehlo();
    void authenticate();
    void opened();
    void fail(std::string message, std::optional<Reply> reply, bool permanent, bool unreachable = false);
    void give_up(std::string message, std::optional<Reply> reply, bool permanent);
    void cancel_auth(std::string message, const Reply& challenge);
    void protocol_error(const std::string& why);
    void begin(Txn& t);
    void send_group(Txn& t);
    void next_command(Txn& t);
    void finish_txn();
    void end_all(const std::string& why, bool interrupted);
    void start_next();
    std::string quote(const Reply& r) const;   // "550 5.1.1 no such user", printable

    SessionOptions opt_;
    std::string server_;
    bool loopback_ = false;
    WireObserver observer_;
    ReplyAssembler assembler_;
    std::string in_, out_;
    bool out_data_ = false;
    std::size_t dot_end_ = 0;    // out_'s bytes through the last final dot queued (0: none in out_)
    bool dot_written_ = false;   // that dot went out (out_ was written through it)
    std::deque<Expect> expect_;
    // Replies are awaited for commands queued before the bytes being read
    // arrived (serials below answerable_); one queued in answer to a reply
    // of the same bytes has not been written yet, and nothing answers it.
    std::uint64_t next_serial_ = 0, answerable_ = 0;
    std::deque<Txn> txns_;
    std::deque<Delivery> done_;
    std::uint64_t replies_ = 0;
    unsigned transactions_ = 0;
    Capabilities caps_;
    Reply greeting_;
    std::optional<SessionError> error_;
    std::string broke_;
    bool open_ = false, closed_ = false, closing_ = false, tls_ = false, tls_requested_ = false;
};

// The message as DATA sends it: CRLF line endings (bare CR and LF become
// CRLF), dot-stuffed, a CRLF added when the last line has none, and the
// final ".\r\n". `stuffed`, when given, gets the number of dots stuffing
// added (RFC 1870 4 does not count them in a message's size).
std::string data_payload(std::string_view message, std::size_t* stuffed = nullptr);

// RFC 5321 domain to A-labels (UTS #46, nontransitional); an error when
// it is not a valid IDN. ASCII domains come back unchanged (lower case is
// not forced).
Result<std::string> domain_to_ascii(std::string_view domain);

}  // namespace msg::smtp
