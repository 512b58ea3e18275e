// smtp/listener.cpp - the server's event loop (smtp/listener.hpp).
//
// One epoll set, level-triggered. Per connection: the socket, its TLS
// state, its Dialog, what it is waiting for and until when. A connection
// closed during a turn keeps its place until the turn ends, so that no
// pointer to it (in this turn's events, or the held list) dangles.
#include "msg/smtp/listener.hpp"

#include <new>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../detail/openssl.hpp"

#include <openssl/x509.h>

namespace msg::smtp {

namespace {

using Clock = std::chrono::steady_clock;

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

std::string load_error(const std::string& what, const std::string& file) {
    std::string reason = openssl::error_text("");
    if (reason.empty()) reason = std::strerror(errno ? errno : ENOENT);
    return "cannot load the TLS " + what + " " + file + ": " + reason;
}

}  // namespace

// --- ServerTls -------------------------------------------------------------------

struct ServerTls::Impl {
    openssl::Ctx ctx;
    openssl::BioMethod bio;
};

ServerTls::ServerTls() : impl_(std::make_unique<Impl>()) {}
ServerTls::ServerTls(ServerTls&&) noexcept = default;
ServerTls& ServerTls::operator=(ServerTls&&) noexcept = default;
ServerTls::~ServerTls() = default;

Result<ServerTls> ServerTls::load(const std::string& cert_file, const std::string& key_file) {
    ERR_clear_error();
    ServerTls t;
    t.impl_->ctx.reset(SSL_CTX_new(TLS_server_method()));
    t.impl_->bio = openssl::socket_method();
    if (!t.impl_->ctx || !t.impl_->bio) return Error{ENOMEM, "cannot set up TLS: " + openssl::error_text()};
    SSL_CTX* ctx = t.impl_->ctx.get();
    errno = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
        return Error{EINVAL, load_error("certificate", cert_file)};
    errno = 0;
    const bool key_loaded = SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
    if (!key_loaded && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH)
        return Error{EINVAL, load_error("key", key_file)};
    if (!key_loaded || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        return Error{EINVAL, "the TLS key " + key_file + " does not match the certificate " + cert_file};
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    // Replies are appended to the buffer being sent: a retried write may
    // start elsewhere in memory, and a short write is taken as it comes.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return t;
}

Result<Endpoint> parse_listen_endpoint(std::string_view s, std::uint16_t port) {
    // "PORT" and ":PORT" listen on the loopback address only: a test
    // server is never opened to the network by accident.
    std::string local;
    if (const std::string_view digits = s.substr(!s.empty() && s[0] == ':' ? 1 : 0);
        !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
        local = "127.0.0.1:" + std::string(digits);
        s = local;
    }
    const bool any = s.size() >= 2 && s.substr(s.size() - 2) == ":0";
    auto ep = parse_endpoint(any ? s.substr(0, s.size() - 2) : s, port);
    if (ep && any) ep->port = 0;
    return ep;
}

// --- the loop --------------------------------------------------------------------

namespace {

struct Conn {
    Fd fd;
    openssl::Ssl ssl;
    std::unique_ptr<Dialog> dialog;
    enum class Phase : std::uint8_t { handshake, open, closed } phase = Phase::open;
    bool implicit = false;       // the handshake comes first; start() after it
    bool tls_up = false;         // a handshake has completed
    bool want_write = false;     // output pending, or TLS needs to write
    bool read_wants_write = false;   // a TLS read must write first (a key update)
    bool blocked = false;        // back-pressure: not read until replies drain
    bool parked = false;         // input came while held: not read until resumed
    bool paused = false;         // the Dialog pauses (a policy's delay) until `wake`
    bool listed_held = false, listed_again = false;
    std::string unfed;           // read, not yet given to the Dialog (back-pressure, held)
    std::uint32_t watched = 0;   // the events registered with epoll
    std::uint64_t completed = 0; // dialog->completed() when last looked at
    Clock::time_point deadline, blocked_since, wake;
};

}  // namespace

struct Listener::Impl {
    ListenerOptions opt;
    const ServerTls* tls = nullptr;
    Fd listen_fd;
    Endpoint bound;
    ListenerStats stats;

    // While run() runs.
    Fd ep;
    ListenerHooks* hooks = nullptr;
    std::vector<std::unique_ptr<Conn>> conns;
    std::vector<Conn*> held, again, paused;
    std::size_t open = 0, closed = 0;
    bool accepting = true, registered = false;
    Clock::time_point now, accept_paused_until;

    void accept_all();
    void on_event(Conn* c, std::uint32_t events);
    void read_some(Conn* c);
    void read_input(Conn* c);
    void feed(Conn* c, std::string_view bytes);
    void flush(Conn* c);
    void after_io(Conn* c);
    void handshake(Conn* c);
    void start_tls(Conn* c);
    void close(Conn* c);
    void watch(Conn* c);
    void settle();
    void wake_paused();
    void sweep();
    void listen_events(bool on);

    bool readable(const Conn* c) const {
        // (A Dialog that has just paused is not yet listed in `paused`.)
        return c->phase == Conn::Phase::open && !c->blocked && !c->parked && !c->paused && !c->dialog->held() &&
               c->dialog->paused().count() == 0 &&
               !c->dialog->closing() && !c->dialog->dropped() && !c->dialog->tls_requested();
    }
    std::chrono::milliseconds limit(const Conn* c) const {
        return c->phase == Conn::Phase::open && c->dialog->in_data() ? opt.data_timeout : opt.command_timeout;
    }
};

void Listener::Impl::watch(Conn* c) {
    std::uint32_t ev = 0;
    if (c->phase == Conn::Phase::handshake) ev = c->want_write ? EPOLLOUT : EPOLLIN;
    else ev = (c->blocked || c->parked || c->paused ? 0u : EPOLLIN) | (c->want_write || c->read_wants_write ? EPOLLOUT : 0u);
    if (ev == c->watched) return;
    epoll_event e{};
    e.events = ev;
    e.data.ptr = c;
    epoll_ctl(ep.get(), EPOLL_CTL_MOD, c->fd.get(), &e);
    c->watched = ev;
}

void Listener::Impl::close(Conn* c) {
    if (c->phase == Conn::Phase::closed) return;
    if (c->ssl && c->tls_up) {
        SSL_shutdown(c->ssl.get());   // close_notify, if the socket takes it
        ERR_clear_error();
    }
    epoll_ctl(ep.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr);
    c->fd.reset();
    c->phase = Conn::Phase::closed;
    --open;
    ++closed;
    if (c->listed_held) std::erase(held, c);
    if (c->listed_again) std::erase(again, c);
    if (c->paused) std::erase(paused, c);
    c->listed_held = c->listed_again = c->paused = false;
    hooks->closed(*c->dialog);
}

void Listener::Impl::listen_events(bool on) {
    if (on == registered) return;
    if (on) {
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.ptr = nullptr;
        epoll_ctl(ep.get(), EPOLL_CTL_ADD, listen_fd.get(), &e);
    } else {
        epoll_ctl(ep.get(), EPOLL_CTL_DEL, listen_fd.get(), nullptr);
    }
    registered = on;
}

void Listener::Impl::accept_all() {
    for (;;) {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        Fd fd(::accept4(listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (fd.get() < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Out of descriptors: the pending connection would wake
                // epoll at once, again and again. Try again a little later.
                listen_events(false);
                accept_paused_until = now + std::chrono::milliseconds(100);
            }
            return;
        }
        if (open >= opt.max_connections) {
            ++stats.busy;
            static constexpr char busy[] = "421 4.7.0 too many connections, try again later\r\n";
            if (!opt.implicit_tls) (void)!::send(fd.get(), busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;
        }
        const int one = 1;
        setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
        getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        Peer peer;
        peer.address = addr.ss_family == AF_INET6 ? "[" + std::string(host) + "]:" + serv : std::string(host) + ":" + serv;
        peer.tls = opt.implicit_tls;
        auto conn = std::make_unique<Conn>();
        conn->dialog = hooks->open(peer);
        if (!conn->dialog) continue;
        conn->fd = std::move(fd);
        Conn* c = conn.get();
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.ptr = c;
        if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, c->fd.get(), &e) != 0) {
            hooks->closed(*c->dialog);
            continue;
        }
        c->watched = EPOLLIN;
        c->deadline = now + opt.command_timeout;
        conns.push_back(std::move(conn));
        ++open;
        ++stats.accepted;
        if (opt.implicit_tls) {
            c->implicit = true;
            start_tls(c);
        } else {
            c->dialog->start();
            after_io(c);
        }
    }
}

void Listener::Impl::start_tls(Conn* c) {
    if (!tls) {   // a Dialog offered STARTTLS without a certificate
        close(c);
        return;
    }
    // Bytes read in clear and not yet given to the Dialog (kept while it
    // was held, or past a slice) came before the handshake: nothing sent in
    // clear after STARTTLS counts (RFC 3207 4.2), wherever it waits.
    c->unfed.clear();
    ERR_clear_error();
    c->ssl.reset(SSL_new(tls->impl_->ctx.get()));
    if (!c->ssl || !openssl::set_socket_bio(c->ssl.get(), tls->impl_->bio.get(), c->fd.get())) {
        ERR_clear_error();
        ++stats.tls_failed;
        close(c);
        return;
    }
    c->phase = Conn::Phase::handshake;
    c->want_write = false;
    handshake(c);
}

void Listener::Impl::handshake(Conn* c) {
    ERR_clear_error();
    const int r = SSL_accept(c->ssl.get());
    if (r != 1) {
        const int e = SSL_get_error(c->ssl.get(), r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            c->want_write = e == SSL_ERROR_WANT_WRITE;
            watch(c);
            return;
        }
        ERR_clear_error();
        ++stats.tls_failed;
        close(c);
        return;
    }
    c->phase = Conn::Phase::open;
    c->tls_up = true;
    c->want_write = false;
    c->dialog->tls_started();
    if (c->implicit) c->dialog->start();
    c->completed = c->dialog->completed();
    c->deadline = now + opt.command_timeout;
    after_io(c);
    // The client may have sent its first command with the handshake's end.
    if (c->phase == Conn::Phase::open) {
        read_some(c);
        after_io(c);
    }
}

// Give input to the Dialog a slice at a time, stopping when its unsent
// replies pass the bound or it cannot take more now; keep the rest.
void Listener::Impl::feed(Conn* c, std::string_view bytes) {
    static constexpr std::size_t slice = 4096;
    while (!bytes.empty() && readable(c)) {
        const std::string_view piece = bytes.substr(0, slice);
        bytes.remove_prefix(piece.size());
        c->dialog->receive(piece);
        std::string& out = c->dialog->output();
        if (out.size() >= 64 * 1024) flush(c);
        if (c->phase != Conn::Phase::open || out.size() > opt.max_unsent) break;
    }
    // After STARTTLS nothing sent in clear counts (RFC 3207 4.2).
    if (c->phase == Conn::Phase::open && !c->dialog->tls_requested()) c->unfed.assign(bytes);
    else c->unfed.clear();
}

void Listener::Impl::read_some(Conn* c) {
    // Memory that runs out while one client's input is worked on ends that
    // connection (the message it was sending is not taken: the client
    // keeps it), not the server with every other session.
    try {
        read_input(c);
    } catch (const std::bad_alloc&) {
        close(c);
    }
}

void Listener::Impl::read_input(Conn* c) {
    char buf[65536];
    c->read_wants_write = false;
    if (!c->unfed.empty() && readable(c)) {
        const std::string pending = std::move(c->unfed);
        feed(c, pending);
        if (!c->unfed.empty()) return;
    }
    for (int round = 0; round < 16 && readable(c); ++round) {
        long n;
        if (c->ssl) {
            ERR_clear_error();
            n = SSL_read(c->ssl.get(), buf, static_cast<int>(sizeof buf));
            if (n <= 0) {
                const int e = SSL_get_error(c->ssl.get(), static_cast<int>(n));
                if (e == SSL_ERROR_WANT_READ) return;
                if (e == SSL_ERROR_WANT_WRITE) {   // a TLS 1.3 key update to answer
                    c->read_wants_write = true;
                    return;
                }
                ERR_clear_error();
                // The client's end of input (a FIN, with or without
                // close_notify): the replies to what it sent before still go
                // out, as they do in clear text.
                flush(c);
                close(c);
                return;
            }
        } else {
            n = ::recv(c->fd.get(), buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            if (n <= 0) {
                if (n == 0) flush(c);
                close(c);
                return;
            }
        }
        feed(c, std::string_view(buf, static_cast<std::size_t>(n)));
        if (!c->unfed.empty()) return;
        if (!c->ssl && static_cast<std::size_t>(n) < sizeof buf) return;   // drained
    }
}

void Listener::Impl::flush(Conn* c) {
    if (c->phase != Conn::Phase::open) return;
    std::string& out = c->dialog->output();
    std::size_t done = 0;
    while (done < out.size()) {
        long n;
        if (c->ssl) {
            ERR_clear_error();
            n = SSL_write(c->ssl.get(), out.data() + done, static_cast<int>(std::min<std::size_t>(out.size() - done, INT_MAX)));
            if (n <= 0) {
                const int e = SSL_get_error(c->ssl.get(), static_cast<int>(n));
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
                ERR_clear_error();
                out.clear();
                close(c);
                return;
            }
        } else {
            n = ::send(c->fd.get(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                out.clear();
                close(c);
                return;
            }
        }
        done += static_cast<std::size_t>(n);
    }
    out.erase(0, done);
    c->want_write = !out.empty();
}

// After input, a resumed reply or a write: send, apply back-pressure, note
// progress for the time limits, then close or start TLS as the Dialog asks.
void Listener::Impl::after_io(Conn* c) {
    if (c->phase != Conn::Phase::open) return;
    Dialog& d = *c->dialog;
    if (d.dropped()) {
        // The replies owed to the commands before the one dropped (a 250
        // for a message stored, pipelined before it) go out first, as far
        // as the socket takes them now; the dropped one gets none.
        flush(c);
        d.output().clear();
        close(c);
        return;
    }
    flush(c);
    if (c->phase != Conn::Phase::open) return;
    const std::size_t unsent = d.output().size();
    if (!c->blocked && unsent > opt.max_unsent) {
        c->blocked = true;
        c->blocked_since = now;
    } else if (c->blocked && unsent <= opt.max_unsent / 2) {
        c->blocked = false;
        c->deadline = now + limit(c);   // its time was spent waiting for the client to read
    }
    if (d.completed() != c->completed) {
        c->completed = d.completed();
        c->deadline = now + limit(c);
    }
    if (unsent == 0) {
        if (d.closing()) {
            close(c);
            return;
        }
        if (d.tls_requested() && !c->ssl) {
            start_tls(c);
            return;
        }
    }
    if (!c->paused && d.paused().count() > 0) {
        c->paused = true;
        c->wake = now + d.paused();
        paused.push_back(c);
    }
    if (d.held()) {
        if (!c->listed_held) {
            held.push_back(c);
            c->listed_held = true;
        }
    } else {
        c->parked = false;
    }
    watch(c);
    // Input kept back, and TLS records already read and decrypted, do not
    // wake epoll.
    if (readable(c) && !c->listed_again && (!c->unfed.empty() || (c->ssl && SSL_has_pending(c->ssl.get())))) {
        again.push_back(c);
        c->listed_again = true;
    }
}

void Listener::Impl::on_event(Conn* c, std::uint32_t events) {
    if (c->phase == Conn::Phase::closed) return;
    if (c->phase == Conn::Phase::handshake) {
        handshake(c);
        return;
    }
    if (events & EPOLLOUT) flush(c);
    if (c->phase != Conn::Phase::open) return;
    if (events & (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        if (readable(c)) {
            read_some(c);
        } else if (c->dialog->held() && (events & EPOLLIN)) {
            c->parked = true;   // held past the end of a turn: stop waking for it
        } else if ((events & (EPOLLHUP | EPOLLERR)) && !(c->watched & EPOLLIN)) {
            close(c);   // gone, and nothing will read the news
            return;
        }
    }
    after_io(c);
}

// The end of a turn: the owner answers held Dialogs; those it resumed send
// their replies and go on with input they had kept, which may hold them
// again (pipelined messages): then the owner gets another turn_end().
void Listener::Impl::settle() {
    bool moved;
    do {
        hooks->turn_end();
        moved = false;
        std::vector<Conn*> list;
        list.swap(held);
        for (Conn* c : list) c->listed_held = false;
        for (Conn* c : list) {
            if (c->phase == Conn::Phase::closed) continue;
            // Held again after going on with the input it had kept (the
            // next pipelined message): its replies so far are sent now, and
            // the owner gets another turn for the new hold, not one a tick
            // later (nothing else would wake the loop for that input).
            if (c->dialog->held() && c->dialog->completed() == c->completed) {
                held.push_back(c);
                c->listed_held = true;
                continue;
            }
            moved = true;
            after_io(c);
        }
    } while (moved && !held.empty());
}

// Dialogs whose pause is over go on: their delayed replies are sent, and
// their time limit starts again (the pause was the server's time).
void Listener::Impl::wake_paused() {
    std::vector<Conn*> due;
    std::erase_if(paused, [&](Conn* c) {
        if (c->wake > now) return false;
        due.push_back(c);
        return true;
    });
    for (Conn* c : due) {
        c->paused = false;
        if (c->phase != Conn::Phase::open) continue;
        c->dialog->unpause();
        c->completed = c->dialog->completed();
        c->deadline = now + limit(c);
        after_io(c);
    }
}

void Listener::Impl::sweep() {
    static constexpr std::string_view timeout_text = " timeout, closing\r\n";
    for (auto& p : conns) {
        Conn* c = p.get();
        if (c->phase == Conn::Phase::closed) continue;
        if (c->blocked) {
            if (now - c->blocked_since >= opt.send_timeout) {
                ++stats.stalled;
                c->dialog->output().clear();
                close(c);
            }
            continue;
        }
        if (c->listed_held || c->paused || now < c->deadline) continue;
        ++stats.timed_out;
        if (c->phase == Conn::Phase::open) {
            c->dialog->output() += "421 4.4.2 " + opt.hostname + std::string(timeout_text);
            flush(c);
        }
        close(c);
    }
}

Status Listener::run(ListenerHooks& hooks, const std::atomic<bool>& stop) {
    Impl& m = *impl_;
    m.ep = Fd(epoll_create1(EPOLL_CLOEXEC));
    if (m.ep.get() < 0) return Error{errno, std::string("epoll: ") + std::strerror(errno)};
    m.hooks = &hooks;
    m.registered = false;
    m.accepting = true;
    m.now = Clock::now();
    m.accept_paused_until = {};
    m.listen_events(true);
    // Time limits are looked at about eight times per limit, at least once a
    // second (and so is the stop flag).
    const auto shortest = std::min({m.opt.command_timeout, m.opt.data_timeout, m.opt.send_timeout});
    const auto tick = std::clamp(shortest / 8, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    auto next_sweep = m.now + tick;
    epoll_event events[256];
    Status result = Ok{};
    while (!stop.load(std::memory_order_relaxed)) {
        int wait = 0;
        if (m.again.empty()) {
            auto until = next_sweep;
            for (const Conn* c : m.paused) until = std::min(until, c->wake);
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            wait = static_cast<int>(std::clamp<long long>(left.count() + 1, 0, 1000));
        }
        const int n = epoll_wait(m.ep.get(), events, 256, wait);
        if (n < 0 && errno != EINTR) {
            result = Error{errno, std::string("epoll_wait: ") + std::strerror(errno)};
            break;
        }
        // Interrupted (a signal, or SIGCONT after SIGSTOP: epoll_wait does
        // not resume): wait again, at once, before any time limit is looked
        // at, so that what clients sent while this process was stopped is
        // read, not taken for a silence past the limit.
        if (n < 0) continue;
        m.now = Clock::now();
        for (int i = 0; i < n; ++i) {
            if (!events[i].data.ptr) m.accept_all();
            else m.on_event(static_cast<Conn*>(events[i].data.ptr), events[i].events);
        }
        m.wake_paused();
        if (!m.again.empty()) {
            std::vector<Conn*> list;
            list.swap(m.again);
            for (Conn* c : list) c->listed_again = false;
            for (Conn* c : list) {
                m.read_some(c);
                m.after_io(c);
            }
        }
        m.settle();
        if (m.now >= next_sweep) {
            m.sweep();
            next_sweep = m.now + tick;
        }
        if (m.closed) {
            std::erase_if(m.conns, [](const std::unique_ptr<Conn>& c) { return c->phase == Conn::Phase::closed; });
            m.closed = 0;
        }
        if (m.accepting && !hooks.accepting()) m.accepting = false;
        m.listen_events(m.accepting && m.now >= m.accept_paused_until);
        if (!m.accepting && m.open == 0) break;
    }
    for (auto& c : m.conns) {
        if (c->phase == Conn::Phase::open && stop.load(std::memory_order_relaxed)) {
            c->dialog->shutting_down();
            m.flush(c.get());
        }
        m.close(c.get());
    }
    m.conns.clear();
    m.held.clear();
    m.again.clear();
    m.paused.clear();
    m.listen_events(false);
    m.ep.reset();
    m.hooks = nullptr;
    return result;
}

// --- opening ---------------------------------------------------------------------

Listener::Listener() : impl_(std::make_unique<Impl>()) {}
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&&) noexcept = default;
Listener::~Listener() = default;

const Endpoint& Listener::bound() const { return impl_->bound; }
const ListenerStats& Listener::stats() const { return impl_->stats; }

Result<Listener> Listener::open(const ListenerOptions& opt, const ServerTls* tls) {
    if (opt.implicit_tls && !tls) return Error{EINVAL, "implicit TLS needs a certificate"};
    Listener l;
    l.impl_->opt = opt;
    l.impl_->tls = tls;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string port = std::to_string(opt.endpoint.port);
    const std::string& host = opt.endpoint.host;
    if (const int r = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &list); r != 0)
        return Error{EHOSTUNREACH, "cannot resolve " + host + ": " + gai_strerror(r)};
    Error error{EADDRNOTAVAIL, "cannot listen on " + opt.endpoint.str() + ": no address"};
    Fd fd;
    for (addrinfo* a = list; a && fd.get() < 0; a = a->ai_next) {
        Fd s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (s.get() < 0) continue;
        const int one = 1;
        setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(s.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(s.get(), 1024) == 0) fd = std::move(s);
        else error = Error{errno, "cannot listen on " + opt.endpoint.str() + ": " + std::strerror(errno)};
    }
    freeaddrinfo(list);
    if (fd.get() < 0) return error;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    char h[NI_MAXHOST] = "", serv[NI_MAXSERV] = "0";
    getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, h, sizeof h, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    l.impl_->bound.host = h;
    l.impl_->bound.port = static_cast<std::uint16_t>(std::stoi(serv));
    l.impl_->listen_fd = std::move(fd);
    return l;
}

}  // namespace msg::smtp
