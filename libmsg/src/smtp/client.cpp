// smtp/client.cpp - the client connection: TCP with time limits, lines,
// replies and OpenSSL TLS.
#include "msg/smtp/client.hpp"

#include "../detail/openssl.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace msg::smtp {
namespace {

Error sys_error(const std::string& what) { return Error{errno, what + ": " + std::strerror(errno)}; }

// The longest a blocking call polls at once: deadlines and stop flags are
// looked at this often.
constexpr std::chrono::milliseconds kSlice{200};

bool stopped(const std::atomic<bool>* stop) { return stop && stop->load(std::memory_order_relaxed); }

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK; }

bool is_ip_literal(const std::string& host) {
    in6_addr a6{};
    in_addr a4{};
    return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

// Why a TLS read or write failed: OpenSSL's reasons, or the system's
// (a peer gone away is EPIPE or ECONNRESET, with nothing in OpenSSL's queue).
std::string tls_failure(int ssl_error) {
    const int sys = errno;
    std::string why = openssl::error_text("");
    if (why.empty()) why = ssl_error == SSL_ERROR_SYSCALL && sys != 0 ? std::strerror(sys) : "unknown TLS error";
    return why;
}

struct Connection::Tls {
    openssl::Ctx ctx;
    openssl::BioMethod bio;   // writes with MSG_NOSIGNAL: a peer gone is EPIPE, not SIGPIPE
    openssl::Ssl ssl;         // freed first: declared last
};

bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || host == "::1") return true;
    in_addr a4{};
    // 127.0.0.0/8, written as an address (not a name such as 127.example.net)
    return host.substr(0, 4) == "127." && inet_pton(AF_INET, std::string(host).c_str(), &a4) == 1;
}

std::string Endpoint::str() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view s, std::uint16_t port) {
    Endpoint ep;
    ep.port = port;
    std::string_view host = s, rest;
    if (!s.empty() && s[0] == '[') {
        const std::size_t close = s.find(']');
        if (close == std::string_view::npos) return Error{EINVAL, "unclosed '[' in " + std::string(s)};
        host = s.substr(1, close - 1);
        rest = s.substr(close + 1);
        if (!rest.empty() && rest[0] != ':') return Error{EINVAL, "':' expected after ']' in " + std::string(s)};
    } else if (const std::size_t colon = s.rfind(':'); colon != std::string_view::npos) {
        if (s.find(':') != colon) return Error{EINVAL, "an IPv6 address needs brackets: " + std::string(s)};
        host = s.substr(0, colon);
        rest = s.substr(colon);
    }
    if (host.empty()) return Error{EINVAL, "no host in " + std::string(s)};
    if (!rest.empty()) {
        const std::string_view digits = rest.substr(1);
        unsigned long v = 0;
        if (digits.empty() || digits.size() > 5) return Error{EINVAL, "bad port in " + std::string(s)};
        for (char c : digits) {
            if (c < '0' || c > '9') return Error{EINVAL, "bad port in " + std::string(s)};
            v = v * 10 + static_cast<unsigned long>(c - '0');
        }
        if (v == 0 || v > 65535) return Error{EINVAL, "port out of range in " + std::string(s)};
        ep.port = static_cast<std::uint16_t>(v);
    }
    ep.host = std::string(host);
    return ep;
}

Connection::Connection() = default;
Connection::Connection(Connection&& o) noexcept { *this = std::move(o); }
Connection& Connection::operator=(Connection&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = o.fd_;
        o.fd_ = -1;
        ep_ = std::move(o.ep_);
        addrs_ = std::move(o.addrs_);
        next_addr_ = o.next_addr_;
        connecting_ = o.connecting_;
        o.connecting_ = false;
        connect_error_ = std::move(o.connect_error_);
        tls_ = std::move(o.tls_);
        handshake_ = std::move(o.handshake_);
        buf_ = std::move(o.buf_);
        start_ = o.start_;
        end_ = o.end_;
        timeout_ = o.timeout_;
        o.start_ = o.end_ = 0;
        observer_ = std::move(o.observer_);
    }
    return *this;
}
Connection::~Connection() { close(); }

void Connection::close() {
    if (tls_ && tls_->ssl && fd_ >= 0) SSL_shutdown(tls_->ssl.get());   // close_notify, if the socket takes it
    tls_.reset();
    handshake_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    connecting_ = false;
}

void Connection::note(Wire w, std::string_view text) {
    if (observer_) observer_(w, text);
}

// --- connecting -------------------------------------------------------------------

Result<Connection::Addresses> Connection::resolve(const Endpoint& ep) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const std::string port = std::to_string(ep.port);
    const int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) return Error{EHOSTUNREACH, "cannot resolve " + ep.host + ": " + gai_strerror(rc)};
    Addresses out;
    for (addrinfo* a = list; a; a = a->ai_next) out.emplace_back(reinterpret_cast<const char*>(a->ai_addr), a->ai_addrlen);
    freeaddrinfo(list);
    return out;
}

Result<Connection> Connection::connect_start(const Endpoint& ep) {
    auto addresses = resolve(ep);
    if (!addresses) return addresses.error();
    return connect_start(ep, std::move(*addresses));
}

Result<Connection> Connection::connect_start(const Endpoint& ep, Addresses addresses) {
    Connection c;
    c.ep_ = ep;
    c.addrs_ = std::move(addresses);
    if (auto s = c.next_address(); !s) return s.error();
    return c;
}

// Connect to the next address not tried: connected, under way, or the
// error of the last one once none is left.
Status Connection::next_address() {
    while (next_addr_ < addrs_.size()) {
        const std::string& a = addrs_[next_addr_++];
        const auto* sa = reinterpret_cast<const sockaddr*>(a.data());
        const int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            connect_error_ = sys_error("cannot create a socket for " + ep_.str());
            continue;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const int r = ::connect(fd, sa, static_cast<socklen_t>(a.size()));
        if (r == 0 || errno == EINPROGRESS) {
            fd_ = fd;
            connecting_ = r != 0;
            return Ok{};
        }
        connect_error_ = sys_error("cannot connect to " + ep_.str());
        ::close(fd);
    }
    connecting_ = false;
    return connect_error_ ? *connect_error_ : Error{ECONNREFUSED, "cannot connect to " + ep_.str()};
}

Status Connection::connect_step(bool timed_out) {
    if (!connecting_) return Ok{};
    int err = ETIMEDOUT;
    if (!timed_out) {
        pollfd p{fd_, POLLOUT, 0};
        if (poll(&p, 1, 0) == 0) return Ok{};   // not yet
        socklen_t len = sizeof err;
        if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err == 0) {
        connecting_ = false;
        return Ok{};
    }
    errno = err;
    connect_error_ = sys_error("cannot connect to " + ep_.str());
    ::close(fd_);
    fd_ = -1;
    return next_address();
}

Result<Connection> Connection::open(const Endpoint& ep, std::chrono::milliseconds timeout,
                                    const std::atomic<bool>* stop) {
    auto c = connect_start(ep);
    if (!c) return c.error();
    auto until = Clock::now() + timeout;   // each address gets the whole limit
    while (c->connecting_) {
        const std::size_t addr = c->addresses_tried();
        const auto due = c->due(until, stop, "connecting to");
        if (!due && due.error().errnum == ECANCELED) return Error{ECANCELED, "connecting to " + ep.str() + ": stopped"};
        if (due) c->poll_for(Want::write, until);
        if (auto s = c->connect_step(!due); !s) return s.error();
        if (c->addresses_tried() != addr) until = Clock::now() + timeout;
    }
    c->timeout_ = timeout;
    return c;
}

bool Connection::tls() const { return tls_ && tls_->ssl; }

bool Connection::pending() const { return tls() && SSL_pending(tls_->ssl.get()) > 0; }

std::string Connection::tls_description() const {
    if (!tls()) return {};
    return std::string(SSL_get_version(tls_->ssl.get())) + " " + SSL_get_cipher_name(tls_->ssl.get());
}

Connection::Clock::time_point Connection::deadline() const {
    return timeout_.count() > 0 ? Clock::now() + timeout_ : Clock::time_point::max();
}

// --- non-blocking steps ----------------------------------------------------------

Result<Connection::Io> Connection::read_some(char* buf, std::size_t n) {
    if (fd_ < 0 || connecting_) return Error{ENOTCONN, "not connected to " + ep_.str()};
    Io io;
    if (tls()) {
        ERR_clear_error();
        errno = 0;
        SSL* ssl = tls_->ssl.get();
        const int r = SSL_read(ssl, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 20)));
        if (r > 0) {
            io.n = static_cast<std::size_t>(r);
            return io;
        }
        const int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) io.eof = true;
        else if (e == SSL_ERROR_WANT_READ) io.want = Want::read;
        else if (e == SSL_ERROR_WANT_WRITE) io.want = Want::write;   // a TLS 1.3 key update to answer
        else if (e == SSL_ERROR_SYSCALL && (would_block() || errno == EINTR)) io.want = Want::read;
        else if (e == SSL_ERROR_SYSCALL && r == 0) io.eof = true;
        else return Error{EIO, "TLS read from " + ep_.str() + " failed: " + tls_failure(e)};
        return io;
    }
    while (true) {
        const long r = ::recv(fd_, buf, n, 0);
        if (r > 0) io.n = static_cast<std::size_t>(r);
        else if (r == 0) io.eof = true;
        else if (errno == EINTR) continue;
        else if (would_block()) io.want = Want::read;
        else return sys_error("cannot read from " + ep_.str());
        return io;
    }
}

Result<Connection::Io> Connection::write_some(std::string_view bytes) {
    if (fd_ < 0 || connecting_) return Error{ENOTCONN, "not connected to " + ep_.str()};
    Io io;
    if (bytes.empty()) return io;
    if (tls()) {
        ERR_clear_error();
        errno = 0;
        SSL* ssl = tls_->ssl.get();
        const int r = SSL_write(ssl, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
        if (r > 0) {
            io.n = static_cast<std::size_t>(r);
            return io;
        }
        const int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_WRITE) io.want = Want::write;
        else if (e == SSL_ERROR_WANT_READ) io.want = Want::read;
        else if (e == SSL_ERROR_SYSCALL && (would_block() || errno == EINTR)) io.want = Want::write;
        else return Error{EIO, "TLS write to " + ep_.str() + " failed: " + tls_failure(e)};
        return io;
    }
    while (true) {
        const long r = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (r >= 0) io.n = static_cast<std::size_t>(r);
        else if (errno == EINTR) continue;
        else if (would_block()) io.want = Want::write;
        else return sys_error("cannot write to " + ep_.str());
        return io;
    }
}

namespace {

// The certificates a client trusts: opt.ca_file, or the system's.
Status load_trusted(SSL_CTX* ctx, const TlsOptions& opt) {
    ERR_clear_error();
    const int ok = opt.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                       : SSL_CTX_load_verify_locations(ctx, opt.ca_file.c_str(), nullptr);
    if (ok != 1) return Error{EIO, "cannot load CA certificates " + opt.ca_file + ": " + openssl::error_text()};
    return Ok{};
}

}  // namespace

Status check_tls_options(const TlsOptions& opt) {
    if (!opt.verify || opt.ca_file.empty()) return Ok{};
    openssl::Ctx ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return Error{EIO, "cannot create a TLS context: " + openssl::error_text()};
    return load_trusted(ctx.get(), opt);
}

Result<Connection::Want> Connection::tls_step(const TlsOptions& opt, const std::string& host) {
    if (fd_ < 0 || connecting_) return Error{ENOTCONN, "not connected to " + ep_.str()};
    if (tls()) return Error{EALREADY, "TLS is already on with " + ep_.str()};
    if (!handshake_) {
        auto t = std::make_unique<Tls>();
        t->ctx.reset(SSL_CTX_new(TLS_client_method()));
        if (!t->ctx) return Error{EIO, "cannot create a TLS context: " + openssl::error_text()};
        SSL_CTX_set_min_proto_version(t->ctx.get(), TLS1_2_VERSION);
        // A write that must be repeated may be repeated from a buffer that
        // moved or grew (the session's output, appended to).
        SSL_CTX_set_mode(t->ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        if (opt.verify) {
            SSL_CTX_set_verify(t->ctx.get(), SSL_VERIFY_PEER, nullptr);
            if (auto ca = load_trusted(t->ctx.get(), opt); !ca) return ca.error();
        }
        t->ssl.reset(SSL_new(t->ctx.get()));
        if (!t->ssl) return Error{EIO, "cannot create a TLS session: " + openssl::error_text()};
        const std::string name = opt.server_name.empty() ? host : opt.server_name;
        if (!name.empty() && !is_ip_literal(name))
            SSL_ctrl(t->ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(name.c_str()));   // SSL_set_tlsext_host_name without its C cast
        if (opt.verify && !name.empty()) {
            if (is_ip_literal(name)) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl.get()), name.c_str());
            else SSL_set1_host(t->ssl.get(), name.c_str());
            // A wildcard is a whole leftmost label (*.example.net), never
            // part of one (w*.example.net; RFC 9525 6.3, which OpenSSL
            // otherwise allows).
            SSL_set_hostflags(t->ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        }
        t->bio = openssl::socket_method();
        if (!t->bio || !openssl::set_socket_bio(t->ssl.get(), t->bio.get(), fd_))
            return Error{EIO, "cannot create a TLS session: " + openssl::error_text()};
        handshake_ = std::move(t);
    }
    ERR_clear_error();
    errno = 0;
    SSL* ssl = handshake_->ssl.get();
    const int r = SSL_connect(ssl);
    if (r == 1) {
        tls_ = std::move(handshake_);
        note(Wire::event, "tls " + tls_description());
        return Want::none;
    }
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) return Want::read;
    if (e == SSL_ERROR_WANT_WRITE) return Want::write;
    if (e == SSL_ERROR_SYSCALL && (would_block() || errno == EINTR)) return Want::read;
    // OpenSSL's reasons; else the system's (a reset), or a server that
    // closed the connection in the middle of the handshake, which leaves
    // neither (an end of input with no reason of its own).
    const int sys = errno;
    std::string why = openssl::error_text("");
    if (why.empty())
        why = e != SSL_ERROR_SYSCALL ? "unknown TLS error"
              : sys != 0             ? std::strerror(sys)
                                     : "the connection was closed during the handshake";
    // OpenSSL checks the chain even when told not to, and keeps the result:
    // it is why the handshake failed only when the check was asked for
    // (SSL_VERIFY_PEER ends the handshake on it). Without, the failure is
    // something else (an alert from the server, say), and that is said.
    if (const long v = SSL_get_verify_result(ssl); opt.verify && v != X509_V_OK)
        why = std::string("certificate not trusted: ") + X509_verify_cert_error_string(v);
    return tls_give_up(why);
}

Error Connection::tls_give_up(const std::string& why) {
    handshake_.reset();
    note(Wire::event, "error TLS handshake: " + why);
    return Error{EPROTO, "TLS handshake with " + ep_.str() + " failed: " + why};
}

// --- blocking, under deadlines ------------------------------------------------------

Status Connection::due(Clock::time_point until, const std::atomic<bool>* stop, const char* doing) const {
    if (stopped(stop)) return Error{ECANCELED, std::string("stopped while ") + doing + " " + ep_.str()};
    if (Clock::now() >= until) return Error{ETIMEDOUT, std::string("timed out ") + doing + " " + ep_.str()};
    return Ok{};
}

void Connection::poll_for(Want w, Clock::time_point until) const {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    pollfd p{fd_, static_cast<short>(w == Want::write ? POLLOUT : POLLIN), 0};
    poll(&p, 1, static_cast<int>(std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds(0), kSlice).count()));
}

Result<std::size_t> Connection::receive(char* buf, std::size_t n, Clock::time_point until,
                                        const std::atomic<bool>* stop) {
    if (fd_ < 0) return Error{ENOTCONN, "not connected to " + ep_.str()};
    while (true) {
        // Decrypted bytes that TLS holds already are taken at once; else the
        // deadline is looked at before each read, so that a peer that sends a
        // byte now and then still meets it.
        if (!pending())
            if (auto d = due(until, stop, "waiting for"); !d) return d.error();
        auto io = read_some(buf, n);
        if (!io) return io.error();
        if (io->n > 0 || io->eof) return io->n;
        poll_for(io->want, until);
    }
}

Status Connection::send(std::string_view bytes, Clock::time_point until, const std::atomic<bool>* stop) {
    if (fd_ < 0) return Error{ENOTCONN, "not connected to " + ep_.str()};
    std::size_t done = 0;
    while (done < bytes.size()) {
        if (auto d = due(until, stop, "writing to"); !d) return d.error();
        auto io = write_some(bytes.substr(done));
        if (!io) return io.error();
        done += io->n;
        if (io->want != Want::none) poll_for(io->want, until);
    }
    return Ok{};
}

Status Connection::write(std::string_view bytes, std::string_view secret) {
    if (fd_ < 0) return Error{ENOTCONN, "not connected to " + ep_.str()};
    if (observer_) {
        if (!secret.empty()) {
            note(Wire::sent, secret);
        } else {
            std::size_t i = 0;
            while (i < bytes.size()) {
                std::size_t nl = bytes.find('\n', i);
                std::size_t end = nl == std::string_view::npos ? bytes.size() : nl;
                std::string_view line = bytes.substr(i, end - i);
                if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                note(Wire::sent, line);
                i = nl == std::string_view::npos ? bytes.size() : nl + 1;
            }
        }
    }
    return send(bytes, deadline());
}

Result<std::string> Connection::read_line(std::size_t max) { return read_line_until(max, deadline()); }

Result<std::string> Connection::read_line_until(std::size_t max, Clock::time_point until) {
    if (fd_ < 0) return Error{ENOTCONN, "not connected to " + ep_.str()};
    if (buf_.empty()) buf_.resize(16 * 1024);
    std::size_t scanned = start_;
    while (true) {
        const char* base = buf_.data();
        if (const void* nl = std::memchr(base + scanned, '\n', end_ - scanned)) {
            const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
            std::size_t e = at;
            if (e > start_ && buf_[e - 1] == '\r') --e;
            std::string line(base + start_, e - start_);
            start_ = at + 1;
            note(Wire::received, line);
            return line;
        }
        scanned = end_;
        if (end_ - start_ > max) return Error{EPROTO, "line longer than " + std::to_string(max) + " bytes from " + ep_.str()};
        if (start_ > 0 && end_ == buf_.size()) {
            std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
            end_ -= start_;
            scanned -= start_;
            start_ = 0;
        }
        if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
        auto n = receive(buf_.data() + end_, buf_.size() - end_, until);
        if (!n) return n.error();
        if (*n == 0)
            return Error{ECONNRESET, end_ > start_ ? "connection closed by " + ep_.str() + " in the middle of a line"
                                                   : "connection closed by " + ep_.str()};
        end_ += *n;
    }
}

Result<Reply> Connection::read_reply(const ReplyLimits& limits) {
    ReplyAssembler a(limits);
    const auto until = deadline();   // one limit for the whole reply
    while (true) {
        auto line = read_line_until(limits.max_line, until);
        if (!line) return line.error();
        switch (a.feed(*line)) {
        case ReplyAssembler::Feed::more: continue;
        case ReplyAssembler::Feed::done: return a.take();
        case ReplyAssembler::Feed::error:
            if (a.too_big()) return Error{EPROTO, "reply from " + ep_.str() + " " + a.error()};
            return Error{EPROTO, "malformed reply from " + ep_.str() + " (" + a.error() + "): \"" + *line + "\""};
        }
    }
}

Status Connection::start_tls(const TlsOptions& opt, const std::string& host) {
    if (start_ < end_)
        return Error{EPROTO, ep_.str() + " sent data before the TLS handshake (possible command injection)"};
    return start_tls(opt, host, deadline());
}

Status Connection::start_tls(const TlsOptions& opt, const std::string& host, Clock::time_point until,
                             const std::atomic<bool>* stop) {
    while (true) {
        auto w = tls_step(opt, host);
        if (!w) return w.error();
        if (*w == Want::none) return Ok{};
        if (auto d = due(until, stop, "in"); !d) return tls_give_up(d.error().errnum == ECANCELED ? "stopped" : "timed out");
        poll_for(*w, until);
    }
}

}  // namespace msg::smtp
