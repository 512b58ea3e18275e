// smtp/client.cpp - the client connection: TCP with time limits, lines,
// replies and OpenSSL TLS.
#include "msg/smtp/client.hpp"

#include "../detail/openssl.hpp"

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace msg::smtp {
namespace {

Error sys_error(const std::string& what) { return Error{errno, what + ": " + std::strerror(errno)}; }

// The longest the socket blocks at once: deadlines and stop flags are
// looked at this often.
constexpr std::chrono::milliseconds kSlice{200};

void set_slices(int fd) {
    timeval tv{};
    tv.tv_sec = 0;
    tv.tv_usec = static_cast<suseconds_t>(kSlice.count() * 1000);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool stopped(const std::atomic<bool>* stop) { return stop && stop->load(std::memory_order_relaxed); }

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK; }

bool is_ip_literal(const std::string& host) {
    in6_addr a6{};
    in_addr a4{};
    return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

struct Connection::Tls {
    openssl::Ctx ctx;
    openssl::Ssl ssl;   // freed first: declared last
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
        tls_ = std::move(o.tls_);
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
    if (tls_ && tls_->ssl && fd_ >= 0) SSL_shutdown(tls_->ssl.get());
    tls_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void Connection::note(Wire w, std::string_view text) {
    if (observer_) observer_(w, text);
}

Result<Connection> Connection::open(const Endpoint& ep, std::chrono::milliseconds timeout,
                                    const std::atomic<bool>* stop) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const std::string port = std::to_string(ep.port);
    const int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) return Error{EHOSTUNREACH, "cannot resolve " + ep.host + ": " + gai_strerror(rc)};
    Error last{ECONNREFUSED, "cannot connect to " + ep.str()};
    for (addrinfo* a = list; a; a = a->ai_next) {
        const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            last = sys_error("cannot create a socket for " + ep.str());
            continue;
        }
        int r = connect(fd, a->ai_addr, a->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            const auto until = Clock::now() + timeout;
            while (true) {
                if (stopped(stop)) {
                    ::close(fd);
                    freeaddrinfo(list);
                    return Error{ECANCELED, "connecting to " + ep.str() + ": stopped"};
                }
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
                if (left.count() <= 0) {
                    errno = ETIMEDOUT;
                    r = -1;
                    break;
                }
                pollfd p{fd, POLLOUT, 0};
                r = poll(&p, 1, static_cast<int>(std::min(left, kSlice).count()));
                if (r < 0 && errno == EINTR) continue;
                if (r == 0) continue;
                if (r > 0) {
                    int err = 0;
                    socklen_t len = sizeof err;
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                    errno = err;
                    r = err == 0 ? 0 : -1;
                }
                break;
            }
        }
        if (r != 0) {
            last = sys_error("cannot connect to " + ep.str());
            ::close(fd);
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_slices(fd);
        freeaddrinfo(list);
        Connection c;
        c.fd_ = fd;
        c.timeout_ = timeout;
        c.ep_ = ep;
        return c;
    }
    freeaddrinfo(list);
    return last;
}

bool Connection::tls() const { return tls_ && tls_->ssl; }

std::string Connection::tls_description() const {
    if (!tls()) return {};
    return std::string(SSL_get_version(tls_->ssl.get())) + " " + SSL_get_cipher_name(tls_->ssl.get());
}

Connection::Clock::time_point Connection::deadline() const {
    return timeout_.count() > 0 ? Clock::now() + timeout_ : Clock::time_point::max();
}

Result<std::size_t> Connection::receive(char* buf, std::size_t n, Clock::time_point until,
                                        const std::atomic<bool>* stop) {
    if (fd_ < 0) return Error{ENOTCONN, "not connected to " + ep_.str()};
    while (true) {
        // Decrypted bytes that TLS holds already are taken at once.
        const bool pending = tls() && SSL_pending(tls_->ssl.get()) > 0;
        if (!pending) {
            if (stopped(stop)) return Error{ECANCELED, "stopped while waiting for " + ep_.str()};
            if (Clock::now() >= until) return Error{ETIMEDOUT, "timed out waiting for " + ep_.str()};
        }
        if (tls()) {
            const int r = SSL_read(tls_->ssl.get(), buf, static_cast<int>(std::min<std::size_t>(n, 1 << 20)));
            if (r > 0) return static_cast<std::size_t>(r);
            const int e = SSL_get_error(tls_->ssl.get(), r);
            if (e == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;   // a slice went by
            if (e == SSL_ERROR_SYSCALL && (would_block() || errno == EINTR)) continue;
            if (e == SSL_ERROR_SYSCALL && r == 0) return std::size_t{0};
            return Error{EIO, "TLS read from " + ep_.str() + " failed: " + openssl::error_text()};
        }
        const long r = ::recv(fd_, buf, n, 0);
        if (r >= 0) return static_cast<std::size_t>(r);
        if (errno == EINTR || would_block()) continue;
        return sys_error("cannot read from " + ep_.str());
    }
}

Status Connection::send(std::string_view bytes, Clock::time_point until, const std::atomic<bool>* stop) {
    if (fd_ < 0) return Error{ENOTCONN, "not connected to " + ep_.str()};
    std::size_t done = 0;
    int chunk = 0;   // TLS: a write that must be retried is retried with the same length
    while (done < bytes.size()) {
        if (stopped(stop)) return Error{ECANCELED, "stopped while writing to " + ep_.str()};
        if (Clock::now() >= until) return Error{ETIMEDOUT, "timed out writing to " + ep_.str()};
        if (tls()) {
            if (chunk == 0) chunk = static_cast<int>(std::min<std::size_t>(bytes.size() - done, 1 << 20));
            const int n = SSL_write(tls_->ssl.get(), bytes.data() + done, chunk);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
                chunk = 0;
                continue;
            }
            const int e = SSL_get_error(tls_->ssl.get(), n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
            if (e == SSL_ERROR_SYSCALL && (would_block() || errno == EINTR)) continue;
            return Error{EIO, "TLS write to " + ep_.str() + " failed: " + openssl::error_text()};
        }
        const long n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n >= 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR || would_block()) continue;
        return sys_error("cannot write to " + ep_.str());
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
    if (fd_ < 0) return Error{ENOTCONN, "not connected to " + ep_.str()};
    if (tls()) return Error{EALREADY, "TLS is already on with " + ep_.str()};
    auto t = std::make_unique<Tls>();
    t->ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!t->ctx) return Error{EIO, "cannot create a TLS context: " + openssl::error_text()};
    SSL_CTX_set_min_proto_version(t->ctx.get(), TLS1_2_VERSION);
    if (opt.verify) {
        SSL_CTX_set_verify(t->ctx.get(), SSL_VERIFY_PEER, nullptr);
        const int ok = opt.ca_file.empty() ? SSL_CTX_set_default_verify_paths(t->ctx.get())
                                            : SSL_CTX_load_verify_locations(t->ctx.get(), opt.ca_file.c_str(), nullptr);
        if (ok != 1) return Error{EIO, "cannot load CA certificates " + opt.ca_file + ": " + openssl::error_text()};
    }
    t->ssl.reset(SSL_new(t->ctx.get()));
    if (!t->ssl) return Error{EIO, "cannot create a TLS session: " + openssl::error_text()};
    const std::string name = opt.server_name.empty() ? host : opt.server_name;
    if (!name.empty() && !is_ip_literal(name)) SSL_ctrl(t->ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str()));  // SSL_set_tlsext_host_name without its C cast
    if (opt.verify && !name.empty()) {
        if (is_ip_literal(name)) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl.get()), name.c_str());
        else SSL_set1_host(t->ssl.get(), name.c_str());
    }
    SSL_set_fd(t->ssl.get(), fd_);
    auto failed = [&](const std::string& why) -> Status {
        note(Wire::event, "error TLS handshake: " + why);
        return Error{EPROTO, "TLS handshake with " + ep_.str() + " failed: " + why};
    };
    while (true) {
        const int r = SSL_connect(t->ssl.get());
        if (r == 1) break;
        const int e = SSL_get_error(t->ssl.get(), r);
        const bool again = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
                           (e == SSL_ERROR_SYSCALL && (would_block() || errno == EINTR));
        if (!again) {
            std::string why = openssl::error_text();
            const long v = SSL_get_verify_result(t->ssl.get());
            if (v != X509_V_OK) why = std::string("certificate not trusted: ") + X509_verify_cert_error_string(v);
            return failed(why);
        }
        if (stopped(stop)) return failed("stopped");
        if (Clock::now() >= until) return failed("timed out");
    }
    tls_ = std::move(t);
    note(Wire::event, "tls " + tls_description());
    return Ok{};
}

}  // namespace msg::smtp
