// smtp/client.hpp - a client connection to an SMTP server: TCP with
// timeouts, line-oriented reads, replies, and TLS (implicit or after
// STARTTLS, RFC 3207) through OpenSSL.
//
// Blocking I/O with a time limit on every connect, read and write
// (SO_RCVTIMEO/SO_SNDTIMEO, so TLS records obey it too). One Connection is
// one socket; it is not shared between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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

struct TlsOptions {
    bool verify = true;        // check the certificate chain and the host name
    std::string ca_file;       // PEM bundle; empty: the system's default paths
    std::string server_name;   // SNI and the name checked; empty: the endpoint's host
};

// What a Connection reports as it goes, for transcripts: each line without
// its CRLF, and events ("tls TLSv1.3 TLS_AES_...", "error ...").
enum class Wire : std::uint8_t { sent, received, event };
using WireObserver = std::function<void(Wire, std::string_view)>;

class Connection {
public:
    Connection();
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    // Connect to the first address of `ep` that answers within `timeout`
    // (each address gets the whole limit). Errors name the endpoint.
    static Result<Connection> open(const Endpoint& ep, std::chrono::milliseconds timeout);

    void set_timeout(std::chrono::milliseconds t);
    void set_observer(WireObserver obs) { observer_ = std::move(obs); }

    // Send bytes as they are (the caller adds CRLF). The observer sees each
    // line; `secret` replaces the text shown to it (e.g. AUTH responses).
    Status write(std::string_view bytes, std::string_view secret = {});
    // A line up to LF, without CR LF; an error on timeout, on close, or when
    // the line is longer than `max` bytes.
    Result<std::string> read_line(std::size_t max = 64 * 1024);
    // A whole reply (multi-line continuations gathered); a malformed line is
    // an error that quotes it.
    Result<Reply> read_reply();

    // TLS handshake on this connection (after a 220 to STARTTLS, or at once
    // for implicit TLS). Bytes the server sent before the handshake and
    // that were already read are an error (RFC 3207 injection defence).
    Status start_tls(const TlsOptions& opt, const std::string& host);
    bool tls() const;
    std::string tls_description() const;   // "TLSv1.3 TLS_AES_256_GCM_SHA384"

    // Whether bytes are already buffered (pipelining checks).
    bool buffered() const { return start_ < end_; }
    void close();
    bool is_open() const { return fd_ >= 0; }
    const Endpoint& endpoint() const { return ep_; }

private:
    struct Tls;
    Result<std::size_t> read_some(char* buf, std::size_t n);
    void note(Wire w, std::string_view text);

    int fd_ = -1;
    Endpoint ep_;
    std::unique_ptr<Tls> tls_;
    std::string buf_;
    std::size_t start_ = 0, end_ = 0;
    WireObserver observer_;
    bool patient(std::chrono::milliseconds& waited) const;   // wait another period?
    std::chrono::milliseconds timeout_{-1};          // the limit asked for
    std::chrono::milliseconds socket_timeout_{-1};   // the one set on the socket (<= timeout_)
};

}  // namespace msg::smtp
