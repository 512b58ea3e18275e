// smtp/listener.hpp - the server's event loop: accept connections and drive
// one Dialog (smtp/server.hpp) per connection over non-blocking sockets and
// TLS, in one thread.
//
// A Listener binds an address, then run() serves until a stop flag is set:
// one epoll(7) loop (level-triggered), each connection's bytes given to its
// Dialog as they come and its output sent as the socket takes it. Its owner
// (ListenerHooks) makes each connection's Dialog, and is called at the end
// of every turn of the loop, after the input of that turn was handled: the
// place for a group commit that answers the replies the Dialogs held
// (ServerSession's hold/resume), so that a 250 can wait until what it
// acknowledges is durable without a write and an fsync per message.
//
// Limits (ListenerOptions), each applied to every connection:
//   max_connections  one more is answered "421 4.7.0 too many connections"
//                    and closed;
//   command_timeout  time to receive each command whole (RFC 5321 4.5.3.2,
//                    "server timeout"), from the end of the previous one or
//                    from the connection; not reset by a partial line, so a
//                    client that sends a byte now and then is cut off in
//                    time: "421 4.4.2 HOST timeout, closing";
//   data_timeout     the same for each data block as a whole: a DATA body
//                    through its final dot, a BDAT chunk;
//   max_unsent       replies not yet sent (the client does not read): input
//                    is given to the Dialog 4 KiB at a time, and none while
//                    they are past max_unsent; the connection is then not
//                    read until they fall to half of it, and blocked like
//                    that for longer than send_timeout, it is closed
//                    (nothing more can be sent to it).
// A TLS handshake counts as a command. A held Dialog is not timed (its
// owner decides), nor one that pauses (Dialog::paused(): the wait is the
// server's, and its limit starts again when the pause ends); a blocked one
// only by send_timeout, its command's time starting again once its replies
// drain. The limits are looked at about
// eight times per the shortest of them, at most once a second: a client is
// cut off at most an eighth of the limit (or a second) late. With
// implicit_tls, a connection over max_connections is closed without the
// 421 (it would not be read as TLS). Memory per connection is then about
// max_unsent plus the replies to 4 KiB of input, 64 KiB of input read and
// not yet given, and the Dialog's own bounds, whatever the client does.
//
// TLS: with a ServerTls, a Dialog that asks for STARTTLS gets its handshake
// (non-blocking), and with implicit_tls every connection starts with one
// (port 465), the Dialog starting once it is done. A failed handshake
// closes the connection. TLS 1.2 or later. Sockets are written with
// MSG_NOSIGNAL (TLS too): the process need not ignore SIGPIPE.
//
// No global state: any number of Listeners, one thread each. Diagnostics
// are values: open() and ServerTls::load() return errors that name the
// address or file; run() returns an error only when the loop itself fails.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "msg/result.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/server.hpp"

namespace msg::smtp {

// A certificate (chain) and its private key, ready for TLS as a server.
class ServerTls {
public:
    // PEM files. Errors: "cannot load the TLS certificate FILE: REASON",
    // "cannot load the TLS key FILE: REASON", "the TLS key FILE does not
    // match the certificate FILE".
    static Result<ServerTls> load(const std::string& cert_file, const std::string& key_file);
    ServerTls(ServerTls&&) noexcept;
    ServerTls& operator=(ServerTls&&) noexcept;
    ~ServerTls();

private:
    friend class Listener;
    struct Impl;
    ServerTls();
    std::unique_ptr<Impl> impl_;
};

// "host:port" as parse_endpoint() reads it, but port 0 is allowed: any free
// port, chosen when the Listener binds. "PORT" and ":PORT" alone mean
// 127.0.0.1:PORT.
Result<Endpoint> parse_listen_endpoint(std::string_view s, std::uint16_t port = 25);

struct ListenerOptions {
    Endpoint endpoint{"127.0.0.1", 25};   // port 0: any free port (see bound())
    std::string hostname = "smtpsink.invalid";   // in the 421 replies
    std::size_t max_connections = 1000;
    std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds data_timeout{std::chrono::minutes(5)};
    std::size_t max_unsent = 256 * 1024;
    std::chrono::milliseconds send_timeout{std::chrono::minutes(5)};
    bool implicit_tls = false;            // needs a ServerTls
};

// Who is on the other end of a new connection.
struct Peer {
    std::string address;   // "192.0.2.1:40000", "[2001:db8::1]:40000"
    bool tls = false;      // TLS from the first byte (implicit_tls)
};

// What the owner of a Listener supplies.
class ListenerHooks {
public:
    virtual ~ListenerHooks() = default;
    // The Dialog for a new connection. It lives until closed() has been
    // called for it and the turn of the loop has ended.
    virtual std::unique_ptr<Dialog> open(const Peer& peer) = 0;
    // The connection of `d` is closed (by either side, a time limit, a
    // failed handshake, or the end of run()). `d` is still alive.
    virtual void closed(Dialog& d) { (void)d; }
    // The end of a turn of the loop: answer held Dialogs here (a Dialog
    // that is no longer held afterwards has its output sent and its input
    // read again; one held again by that input gets another turn_end()).
    virtual void turn_end() {}
    // Checked every turn: once false, no more connections are accepted and
    // run() returns when the last one has closed.
    virtual bool accepting() { return true; }
};

struct ListenerStats {
    std::uint64_t accepted = 0;     // connections given a Dialog
    std::uint64_t busy = 0;         // refused: max_connections reached
    std::uint64_t timed_out = 0;    // cut off by command_timeout or data_timeout
    std::uint64_t stalled = 0;      // closed after send_timeout with unsent replies
    std::uint64_t tls_failed = 0;   // handshakes that failed
};

class Listener {
public:
    // Bind and listen (SO_REUSEADDR, backlog 1024). `tls` may be null; it
    // is needed for implicit_tls and for Dialogs that ask for STARTTLS
    // (without it such a connection is closed). `tls` must outlive the
    // Listener. Errors: "cannot resolve HOST: ...", "cannot listen on
    // HOST:PORT: ...", "implicit TLS needs a certificate".
    static Result<Listener> open(const ListenerOptions& opt, const ServerTls* tls = nullptr);
    Listener(Listener&&) noexcept;
    Listener& operator=(Listener&&) noexcept;
    ~Listener();

    // Where it listens, the port chosen when 0 was asked.
    const Endpoint& bound() const;

    // Serve until `stop` is set (looked at least every second, and at once
    // when a signal interrupts the wait; open connections are then closed
    // without a reply, after the turn's held replies were settled) or until
    // hooks.accepting() turned false and the last connection closed. An
    // error only when epoll fails. One run() at a time.
    Status run(ListenerHooks& hooks, const std::atomic<bool>& stop);

    const ListenerStats& stats() const;

private:
    struct Impl;
    Listener();
    std::unique_ptr<Impl> impl_;
};

}  // namespace msg::smtp
