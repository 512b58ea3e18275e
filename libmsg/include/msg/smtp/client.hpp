// smtp/client.hpp - a client connection to an SMTP server: TCP with
// timeouts, line-oriented reads, replies, and TLS (implicit or after
// STARTTLS, RFC 3207) through OpenSSL.
//
// The socket is non-blocking. Its primitives (connect_step, read_some,
// write_some, tls_step) do what can be done at once and say what they wait
// for: an event loop (msg::Sender) polls many connections with them. The
// blocking calls are those primitives and poll(2) under deadlines: each
// call is given the time by which it must be done (a whole reply, a whole
// write), and an optional stop flag that ends it within 200 ms (the
// longest poll). One Connection is one socket; it is not shared between
// threads. The SMTP dialogue itself is smtp::ClientSession's
// (client_session.hpp); msg::Sender (sender.hpp) drives many over
// Connections.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/result.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

struct Endpoint {
    std::string host;          // name, IPv4 or IPv6 address (without brackets)
    std::uint16_t port = 25;
    std::string str() const;   // "host:port", "[::1]:port"
};

// "host", "host:port", "[v6]:port", "[v6]". The port defaults to `port`.
Result<Endpoint> parse_endpoint(std::string_view s, std::uint16_t port = 25);

// A loopback host ("localhost", 127.0.0.0/8, ::1): the one place where
// credentials may go without TLS.
bool is_loopback_host(std::string_view host);

struct TlsOptions {
    bool verify = true;        // check the certificate chain and the host name
    std::string ca_file;       // PEM bundle; empty: the system's default paths
    std::string server_name;   // SNI and the name checked; empty: the endpoint's host
};

// Whether the trusted certificates `opt` names (ca_file, when the chain is
// checked) load as a handshake would load them: a file that is missing or
// holds no certificate is a mistake to say before any connection, not a
// server that cannot be reached. The error names the file.
Status check_tls_options(const TlsOptions& opt);

// What a Connection reports as it goes, for transcripts: each line without
// its CRLF, and events ("tls TLSv1.3 TLS_AES_...", "error ...").
enum class Wire : std::uint8_t { sent, received, event };
using WireObserver = std::function<void(Wire, std::string_view)>;

class Connection {
public:
    using Clock = std::chrono::steady_clock;

    Connection();
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    // Connect to the first address of `ep` that answers within `timeout`
    // (each address gets the whole limit). Errors name the endpoint; when
    // `stop` becomes true (checked every 200 ms) it gives up (ECANCELED).
    static Result<Connection> open(const Endpoint& ep, std::chrono::milliseconds timeout,
                                   const std::atomic<bool>* stop = nullptr);

    // --- non-blocking steps (an event loop's) ---------------------------------
    // What a step that could not finish waits for on fd().
    enum class Want : std::uint8_t { none, read, write };
    struct Io {
        std::size_t n = 0;        // bytes read or written
        bool eof = false;         // read: the peer closed the connection
        Want want = Want::none;   // nothing could be done: wait for this
    };
    // The addresses of `ep` (getaddrinfo), in the order to try them: what
    // connect_start takes, so that a caller connecting again and again
    // (msg::Sender, once per pass) asks the resolver once.
    using Addresses = std::vector<std::string>;   // sockaddr bytes
    static Result<Addresses> resolve(const Endpoint& ep);
    // Start connecting to `addresses` of `ep` (resolve()'s; resolved here
    // when not given), in order, without waiting: Want::write until
    // connected (then Want::none). Errors name the endpoint.
    static Result<Connection> connect_start(const Endpoint& ep);
    static Result<Connection> connect_start(const Endpoint& ep, Addresses addresses);
    Want connecting() const { return connecting_ ? Want::write : Want::none; }
    // Addresses tried so far (connect_step moved on when this grew).
    std::size_t addresses_tried() const { return next_addr_; }
    // fd() became writable (or, with `timed_out`, the address in hand took
    // too long): connected, or on to the next address, or the last error.
    Status connect_step(bool timed_out = false);
    // What the socket (or TLS) has, up to `n` bytes; Io::want when nothing.
    Result<Io> read_some(char* buf, std::size_t n);
    // As much of `bytes` as goes at once. With TLS, a write that wanted
    // must be repeated with at least the bytes it was given (more may follow).
    Result<Io> write_some(std::string_view bytes);
    // The TLS handshake, one step: Want::none once it is done. The observer
    // sees "tls VERSION CIPHER" or "error TLS handshake: why".
    Result<Want> tls_step(const TlsOptions& opt, const std::string& host);
    // End a handshake under way that took too long or was stopped: the
    // observer sees "error TLS handshake: why"; the error to report.
    Error tls_give_up(const std::string& why);
    // Decrypted bytes are waiting: read_some() has more without a poll.
    bool pending() const;
    int fd() const { return fd_; }

    // --- I/O under a deadline (what an I/O-free session's driver uses) ---
    // Each waits at most 200 ms at a time, so that a deadline and a stop
    // flag are looked at that often, whatever the peer does.
    //
    // Up to `n` bytes as they come; 0 when the peer closed the connection.
    // ETIMEDOUT once `until` has passed (checked before each read, so a
    // peer that sends a byte now and then still meets it); ECANCELED when
    // *stop is true. Lines are not shown to the observer.
    Result<std::size_t> receive(char* buf, std::size_t n, Clock::time_point until,
                                const std::atomic<bool>* stop = nullptr);
    // All of `bytes`, by `until`: one deadline for the whole write.
    Status send(std::string_view bytes, Clock::time_point until, const std::atomic<bool>* stop = nullptr);
    // The TLS handshake (after a 220 to STARTTLS, or at once for implicit
    // TLS), by `until`. The observer sees "tls VERSION CIPHER" or "error
    // TLS handshake: why".
    Status start_tls(const TlsOptions& opt, const std::string& host, Clock::time_point until,
                     const std::atomic<bool>* stop = nullptr);

    // --- line I/O, each call under the time limit set (smtpreplay) ---
    void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
    void set_observer(WireObserver obs) { observer_ = std::move(obs); }

    // Send bytes as they are (the caller adds CRLF). The observer sees each
    // line; `secret` replaces the text shown to it (e.g. AUTH responses).
    Status write(std::string_view bytes, std::string_view secret = {});
    // A line up to LF, without CR LF; an error on timeout, on close, or when
    // the line is longer than `max` bytes.
    Result<std::string> read_line(std::size_t max = 64 * 1024);
    // A whole reply (multi-line continuations gathered) within one time
    // limit and within `limits`; a malformed line is an error that quotes
    // it, a reply past the limits one that says so.
    Result<Reply> read_reply(const ReplyLimits& limits = {});
    // start_tls() under the time limit. Bytes the server sent before the
    // handshake and that read_line() already buffered are an error (RFC
    // 3207 injection defence).
    Status start_tls(const TlsOptions& opt, const std::string& host);

    bool tls() const;
    std::string tls_description() const;   // "TLSv1.3 TLS_AES_256_GCM_SHA384"

    // Whether read_line() holds bytes not yet returned.
    bool buffered() const { return start_ < end_; }
    void close();
    bool is_open() const { return fd_ >= 0; }
    const Endpoint& endpoint() const { return ep_; }

private:
    struct Tls;
    Result<std::string> read_line_until(std::size_t max, Clock::time_point until);
    Clock::time_point deadline() const;
    void note(Wire w, std::string_view text);
    Status next_address();
    // ETIMEDOUT once `until` has passed, ECANCELED on *stop ("timed out
    // DOING HOST:PORT").
    Status due(Clock::time_point until, const std::atomic<bool>* stop, const char* doing) const;
    // Wait until fd() is ready for `w`, at most 200 ms and not past `until`.
    void poll_for(Want w, Clock::time_point until) const;

    int fd_ = -1;
    Endpoint ep_;
    std::vector<std::string> addrs_;   // sockaddrs still to try when connecting
    std::size_t next_addr_ = 0;
    bool connecting_ = false;
    std::optional<Error> connect_error_;   // the last address's
    std::unique_ptr<Tls> tls_;         // once the handshake is done
    std::unique_ptr<Tls> handshake_;   // while it is under way
    std::string buf_;
    std::size_t start_ = 0, end_ = 0;
    WireObserver observer_;
    std::chrono::milliseconds timeout_{300000};   // the line I/O's limit per call
};

}  // namespace msg::smtp
