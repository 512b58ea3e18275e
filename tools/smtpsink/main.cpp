// smtpsink - a small ESMTP server for tests and demos: receives into a
// spool (or only counts), answers as a rules file says.
//
// One thread, one epoll loop, non-blocking sockets; the protocol is
// msg::smtp::ServerSession. Messages received during one turn of the loop
// are written to tmp/ and committed together (Spool::Batch: each file
// fsynced, renamed into queue/, queue/ fsynced); only then does each get
// its 250, so a 250 always means the entry is whole and durable.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "msg/source.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/server.hpp"
#include "msg/spool.hpp"

#include "common/cli.hpp"
#include "common/exit.hpp"
#include "dialog.hpp"
#include "rules.hpp"

using namespace msgtools;
namespace smtp = msg::smtp;

namespace {

const ToolInfo kInfo = {
    "smtpsink", "smtpsink [--listen HOST:PORT] [options] SPOOL | --discard",
    "A small ESMTP server for tests: receive into SPOOL's queue/, answer as scripted.",
    "Every accepted message becomes a spool entry (docs/spool-format.md), written\n"
    "atomically and durably before its 250. With --discard messages are only counted.\n"
    "--rules FILE scripts answers per stage (see smtpsink(1)), e.g.\n"
    "  rcpt /^unknown@/ 550 5.1.1 no such user\n"
    "  dot  every 3     451 4.3.0 try again later\n"
    "  data /^drop@/    drop\n\n"
    "Examples:\n"
    "  smtpsink --listen 127.0.0.1:2525 in            receive into the spool in/\n"
    "  smtpsink --listen 127.0.0.1:0 --discard        any free port (printed), count only\n"
    "  smtpsink --tls-cert c.pem --tls-key k.pem --auth test:secret in\n"};

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

struct Conn;

struct Totals {
    std::uint64_t sessions = 0, messages = 0, recipients = 0, bytes = 0, refused = 0, store_errors = 0;
};

// The policy: rules first, then store (or count).
class Sink : public smtp::ServerPolicy {
public:
    Sink(std::vector<sink::Rule>& rules, msg::Spool* spool, Totals& totals) : rules_(rules), spool_(spool), totals_(totals) {}

    smtp::Verdict decide(smtp::Stage stage, std::string_view arg, const std::vector<std::string>& rcpts) override {
        smtp::Verdict v = sink::apply_rules(rules_, stage, arg, rcpts);
        if (v.code && v.code / 100 != 2) ++totals_.refused;
        return v;
    }

    smtp::Verdict accept(smtp::ReceivedMessage&& m, bool& hold) override {
        totals_.bytes += m.data.size();
        totals_.recipients += m.envelope.rcpts.size();
        if (!spool_) {
            ++totals_.messages;
            return {};
        }
        if (!current_peer_.empty()) m.envelope.annotations.emplace_back("Smtp-Peer", current_peer_);
        if (!m.helo.empty()) m.envelope.annotations.emplace_back("Smtp-Helo", m.helo);
        if (!m.user.empty()) m.envelope.annotations.emplace_back("Smtp-Auth", m.user);
        if (m.tls) m.envelope.annotations.emplace_back("Smtp-Tls", "yes");
        if (!batch_) batch_.emplace(*spool_);
        auto added = batch_->add(m.envelope, m.data);
        if (!added) {
            ++totals_.store_errors;
            std::cerr << "smtpsink: " << added.error().message << "\n";
            return smtp::Verdict{451, "4.3.0 cannot store the message", false};
        }
        hold = true;
        held_.push_back(current_);
        return {};
    }

    bool pending() const { return !held_.empty(); }

    // Commit what this turn received; answer each held session.
    template <class F>
    void commit(F&& answer) {
        if (held_.empty()) return;
        smtp::Verdict v;
        if (auto s = batch_->commit(); !s) {
            totals_.store_errors += held_.size();
            std::cerr << "smtpsink: " << s.error().message << "\n";
            v = smtp::Verdict{451, "4.3.0 cannot store the message", false};
        } else {
            totals_.messages += held_.size();
        }
        batch_.reset();
        std::vector<Conn*> held;
        held.swap(held_);
        for (Conn* c : held) answer(c, v);
    }

    void forget(Conn* c) { std::erase(held_, c); }

    Conn* current_ = nullptr;
    std::string current_peer_;

private:
    std::vector<sink::Rule>& rules_;
    msg::Spool* spool_;
    Totals& totals_;
    std::optional<msg::Spool::Batch> batch_;
    std::vector<Conn*> held_;
};

struct Conn {
    int fd = -1;
    std::string peer;
    std::unique_ptr<sink::Dialog> session;
    SSL* ssl = nullptr;
    bool handshaking = false;
    bool want_write = false;
    std::chrono::steady_clock::time_point last;
};

// --script: the transcript whose server side every session plays.
struct Script {
    std::string file;
    smtp::Transcript transcript;
    std::vector<smtp::Exchange> exchanges;
    sink::ScriptStats stats;
};

class Server {
public:
    Server(int listener, const smtp::ServerOptions& opt, Sink& sink, Totals& totals, SSL_CTX* ctx,
           std::chrono::seconds timeout, unsigned max_conns, Script* script)
        : listener_(listener), opt_(opt), sink_(sink), totals_(totals), ctx_(ctx), timeout_(timeout),
          max_conns_(max_conns), script_(script) {}

    int run(std::uint64_t max_sessions, std::uint64_t max_messages);

private:
    void accept_all();
    void on_event(Conn* c, std::uint32_t events);
    void read_some(Conn* c);
    void flush(Conn* c);
    void after_io(Conn* c);
    void handshake(Conn* c);
    void close(Conn* c);
    void watch(Conn* c);

    int ep_ = -1;
    int listener_;
    const smtp::ServerOptions& opt_;
    Sink& sink_;
    Totals& totals_;
    SSL_CTX* ctx_;
    std::chrono::seconds timeout_;
    unsigned max_conns_;
    Script* script_;
    // Sessions by fd. A closed one keeps its place (fd -1) until the end of
    // the loop's turn, so that no pointer to it dangles meanwhile; one whose
    // fd number is taken again in the same turn waits in graveyard_.
    std::unordered_map<int, std::unique_ptr<Conn>> conns_;
    std::vector<std::unique_ptr<Conn>> graveyard_;
    std::size_t open_ = 0, dead_ = 0;
    std::uint64_t ended_ = 0;
};

void Server::watch(Conn* c) {
    epoll_event ev{};
    ev.events = EPOLLIN | (c->want_write ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
}

void Server::close(Conn* c) {
    if (c->fd < 0) return;
    sink_.forget(c);
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = nullptr;
    }
    epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    c->fd = -1;
    ++ended_;
    --open_;
    ++dead_;
}

void Server::accept_all() {
    for (;;) {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        const int fd = ::accept4(listener_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
                std::cerr << "smtpsink: accept: " << std::strerror(errno) << "\n";
            return;
        }
        if (open_ >= max_conns_) {
            static const char busy[] = "421 4.7.0 too many connections, try again later\r\n";
            (void)!::send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            continue;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
        getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        auto c = std::make_unique<Conn>();
        if (script_)
            c->session = std::make_unique<sink::ScriptDialog>(script_->transcript, script_->exchanges, ctx_ != nullptr,
                                                              script_->stats, script_->file);
        else
            c->session = std::make_unique<sink::ServerDialog>(opt_, sink_);
        c->fd = fd;
        c->peer = std::string(host) + ":" + serv;
        c->last = std::chrono::steady_clock::now();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = c.get();
        epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
        ++totals_.sessions;
        ++open_;
        Conn* p = c.get();
        if (auto it = conns_.find(fd); it != conns_.end()) graveyard_.push_back(std::move(it->second));
        conns_[fd] = std::move(c);
        sink_.current_ = p;
        sink_.current_peer_ = p->peer;
        p->session->start();
        after_io(p);
    }
}

void Server::read_some(Conn* c) {
    char buf[65536];
    // Plain: a few reads, then let others have their turn (epoll reports
    // the rest). TLS: until the TLS layer wants more, as records it has
    // already read would not wake epoll again.
    for (int rounds = 0; (rounds < 16 || c->ssl) && c->fd >= 0; ++rounds) {
        long n;
        if (c->ssl) {
            ERR_clear_error();
            n = SSL_read(c->ssl, buf, sizeof buf);
            if (n <= 0) {
                const int e = SSL_get_error(c->ssl, static_cast<int>(n));
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
                close(c);
                return;
            }
        } else {
            n = ::recv(c->fd, buf, sizeof buf, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                close(c);
                return;
            }
            if (n == 0) {
                close(c);
                return;
            }
        }
        c->last = std::chrono::steady_clock::now();
        sink_.current_ = c;
        sink_.current_peer_ = c->peer;
        c->session->receive(std::string_view(buf, static_cast<std::size_t>(n)));
        if (c->session->dropped() || c->session->closing() || c->session->tls_requested()) return;
        if (static_cast<std::size_t>(n) < sizeof buf && !c->ssl) return;
    }
}

void Server::flush(Conn* c) {
    std::string& out = c->session->output();
    std::size_t done = 0;
    while (done < out.size()) {
        long n;
        if (c->ssl) {
            ERR_clear_error();
            n = SSL_write(c->ssl, out.data() + done, static_cast<int>(out.size() - done));
            if (n <= 0) {
                const int e = SSL_get_error(c->ssl, static_cast<int>(n));
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
                out.clear();
                close(c);
                return;
            }
        } else {
            n = ::send(c->fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
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
    const bool want = !out.empty();
    if (want != c->want_write) {
        c->want_write = want;
        watch(c);
    }
}

void Server::handshake(Conn* c) {
    ERR_clear_error();
    const int r = SSL_accept(c->ssl);
    if (r == 1) {
        c->handshaking = false;
        c->session->tls_started();
        if (c->want_write) {
            c->want_write = false;
            watch(c);
        }
        return;
    }
    const int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        const bool want = e == SSL_ERROR_WANT_WRITE;
        if (want != c->want_write) {
            c->want_write = want;
            watch(c);
        }
        return;
    }
    close(c);   // a failed handshake ends the session
}

// After input or a resumed reply: send, then close or start TLS as the
// session asks.
void Server::after_io(Conn* c) {
    if (c->fd < 0) return;
    if (c->session->dropped()) {
        close(c);
        return;
    }
    flush(c);
    if (c->fd < 0 || c->want_write) return;
    if (c->session->closing()) {
        close(c);
        return;
    }
    if (c->session->tls_requested() && !c->ssl) {
        c->ssl = SSL_new(ctx_);
        SSL_set_fd(c->ssl, c->fd);
        c->handshaking = true;
        handshake(c);
    }
}

void Server::on_event(Conn* c, std::uint32_t events) {
    if (c->fd < 0) return;
    if (c->handshaking) {
        handshake(c);
        if (c->handshaking || c->fd < 0) return;
        read_some(c);   // the client may have sent its EHLO with the handshake's end
        after_io(c);
        return;
    }
    if (events & EPOLLOUT) flush(c);
    if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_some(c);
    after_io(c);
}

int Server::run(std::uint64_t max_sessions, std::uint64_t max_messages) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
        complain("smtpsink", std::string("epoll: ") + std::strerror(errno));
        return exit_code::io_error;
    }
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.ptr = nullptr;
    epoll_ctl(ep_, EPOLL_CTL_ADD, listener_, &lev);
    bool listening = true;
    epoll_event events[256];
    auto last_sweep = std::chrono::steady_clock::now();
    while (!g_stop) {
        const int n = epoll_wait(ep_, events, 256, 1000);
        if (n < 0 && errno != EINTR) {
            complain("smtpsink", std::string("epoll_wait: ") + std::strerror(errno));
            return exit_code::io_error;
        }
        for (int i = 0; i < n; ++i) {
            if (!events[i].data.ptr) accept_all();
            else on_event(static_cast<Conn*>(events[i].data.ptr), events[i].events);
        }
        // Group commit: every message of this turn at once, then the 250s
        // (a session resumed may go on to its next pipelined message: again).
        while (sink_.pending())
            sink_.commit([&](Conn* c, const smtp::Verdict& v) {
                if (c->fd < 0) return;
                sink_.current_ = c;
                sink_.current_peer_ = c->peer;
                c->session->resume(v);
                after_io(c);
            });
        const auto now = std::chrono::steady_clock::now();
        if (now - last_sweep >= std::chrono::seconds(1)) {
            last_sweep = now;
            for (auto& [fd, c] : conns_) {
                if (c->fd < 0 || now - c->last < timeout_) continue;
                c->session->output() += "421 4.4.2 " + opt_.hostname + " timeout, closing\r\n";
                flush(c.get());
                close(c.get());
            }
        }
        if (dead_) {
            for (auto it = conns_.begin(); it != conns_.end();)
                it = it->second->fd < 0 ? conns_.erase(it) : std::next(it);
            dead_ = 0;
        }
        graveyard_.clear();
        const bool enough = (max_sessions && ended_ >= max_sessions) || (max_messages && totals_.messages >= max_messages);
        if (enough && listening) {
            epoll_ctl(ep_, EPOLL_CTL_DEL, listener_, nullptr);
            listening = false;
        }
        if (enough && conns_.empty()) break;
    }
    for (auto& [fd, c] : conns_) close(c.get());
    conns_.clear();
    ::close(ep_);
    return exit_code::ok;
}

int listen_on(const smtp::Endpoint& ep, std::string& bound, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string port = std::to_string(ep.port);
    if (const int r = getaddrinfo(ep.host.empty() ? nullptr : ep.host.c_str(), port.c_str(), &hints, &list); r != 0) {
        error = "cannot resolve " + ep.host + ": " + gai_strerror(r);
        return -1;
    }
    int fd = -1;
    for (addrinfo* a = list; a; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) break;
        error = "cannot listen on " + ep.str() + ": " + std::strerror(errno);
        ::close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd < 0) return -1;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    bound = addr.ss_family == AF_INET6 ? "[" + std::string(host) + "]:" + serv : std::string(host) + ":" + serv;
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("listen", po::value<std::string>()->default_value("127.0.0.1:2525"), "HOST:PORT to listen on (port 0: any free port)")
        ("discard", "count messages, store nothing (SPOOL may be omitted)")
        ("hostname", po::value<std::string>()->default_value("smtpsink.test"), "NAME in the greeting and EHLO reply")
        ("rules", po::value<std::string>(), "FILE of scripted answers (see smtpsink(1))")
        ("max-size", po::value<std::uint64_t>()->default_value(64ull << 20), "N: SIZE limit in octets; a message is held in memory until stored (0: no limit)")
        ("max-rcpts", po::value<unsigned>()->default_value(1000), "N recipients per message at most")
        ("max-connections", po::value<unsigned>()->default_value(1000), "N sessions at once at most")
        ("timeout", po::value<std::string>()->default_value("5m"), "idle time before a session is closed (421)")
        ("no-pipelining", "do not offer PIPELINING")
        ("no-8bitmime", "do not offer 8BITMIME")
        ("no-smtputf8", "do not offer SMTPUTF8")
        ("no-chunking", "do not offer CHUNKING (BDAT)")
        ("no-dsn", "do not offer DSN")
        ("auth", po::value<std::string>(), "USER:PASSWORD: offer AUTH PLAIN and LOGIN with this one credential")
        ("tls-cert", po::value<std::string>(), "PEM certificate (chain): offer STARTTLS")
        ("tls-key", po::value<std::string>(), "PEM private key for --tls-cert")
        ("sessions", po::value<std::uint64_t>()->default_value(0), "N: exit after N sessions have ended")
        ("count", po::value<std::uint64_t>()->default_value(0), "N: exit after N messages were accepted")
        ("script", po::value<std::string>(), "TRANSCRIPT: play its server side to every client (stores nothing)");
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    auto usage = [](const std::string& m) {
        complain("smtpsink", m);
        return exit_code::usage;
    };
    const bool scripted = vm.count("script") > 0;
    const bool discard = vm.count("discard") > 0 || scripted;
    if (cli.inputs.size() > 1) return usage("give one SPOOL directory");
    if (cli.inputs.empty() && !discard) return usage("give a SPOOL directory, or --discard");
    if (scripted && (!cli.inputs.empty() || vm.count("rules"))) return usage("--script takes no SPOOL and no --rules");
    std::optional<Script> script;
    if (scripted) {
        script.emplace();
        script->file = vm["script"].as<std::string>();
        std::ifstream in(script->file, std::ios::binary);
        if (!in) {
            complain("smtpsink", "cannot read " + script->file);
            return exit_code::no_input;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        smtp::ParsedTranscript pt = smtp::parse_transcript(ss.str());
        if (!pt.defects.empty()) {
            const msg::LineIndex index(ss.str());
            std::cerr << script->file << ":" << index.locate(pt.defects[0].offset).line << ": "
                      << pt.defects[0].info().text << " [" << pt.defects[0].info().code << "]\n";
            return exit_code::data_error;
        }
        script->transcript = std::move(pt.transcript);
        script->exchanges = smtp::exchanges(script->transcript);
    }

    smtp::ServerOptions opt;
    opt.hostname = vm["hostname"].as<std::string>();
    opt.pipelining = !vm.count("no-pipelining");
    opt.eightbitmime = !vm.count("no-8bitmime");
    opt.smtputf8 = !vm.count("no-smtputf8");
    opt.chunking = !vm.count("no-chunking");
    opt.dsn = !vm.count("no-dsn");
    opt.max_size = vm["max-size"].as<std::uint64_t>();
    opt.max_rcpts = vm["max-rcpts"].as<unsigned>();
    if (opt.max_rcpts == 0) return usage("--max-rcpts must be at least 1");
    auto timeout = parse_duration(vm["timeout"].as<std::string>());
    if (!timeout || timeout->count() == 0) return usage("--timeout must be a duration above 0 (e.g. 30s, 5m)");
    if (vm.count("auth")) {
        const std::string a = vm["auth"].as<std::string>();
        const std::size_t colon = a.find(':');
        if (colon == std::string::npos || colon == 0) return usage("--auth must be USER:PASSWORD");
        opt.auth_user = a.substr(0, colon);
        opt.auth_password = a.substr(colon + 1);
    }
    if (vm.count("tls-cert") != vm.count("tls-key")) return usage("--tls-cert and --tls-key go together");

    std::vector<sink::Rule> rules;
    if (vm.count("rules")) {
        const std::string file = vm["rules"].as<std::string>();
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            complain("smtpsink", "cannot read " + file);
            return exit_code::no_input;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        std::string error;
        if (!sink::parse_rules(ss.str(), file, rules, error)) {
            std::cerr << error << "\n";
            return exit_code::data_error;
        }
    }

    SSL_CTX* ctx = nullptr;
    if (vm.count("tls-cert")) {
        ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, vm["tls-cert"].as<std::string>().c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, vm["tls-key"].as<std::string>().c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            char buf[256];
            ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
            complain("smtpsink", std::string("cannot load the TLS certificate and key: ") + buf);
            return exit_code::no_input;
        }
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        opt.starttls = true;
    }

    std::optional<msg::Spool> spool;
    if (!discard) {
        auto s = msg::Spool::open(cli.inputs[0], true);
        if (!s) {
            complain("smtpsink", s.error().message);
            return exit_code::cant_create;
        }
        spool.emplace(std::move(*s));
    }

    // Port 0 asks the system for a free port (printed); parse_endpoint,
    // made for clients, refuses it.
    std::string listen = vm["listen"].as<std::string>();
    const bool any_port = listen.size() >= 2 && listen.compare(listen.size() - 2, 2, ":0") == 0;
    if (any_port) listen.resize(listen.size() - 2);
    auto ep = smtp::parse_endpoint(listen, 25);
    if (!ep) return usage("--listen: " + ep.error().message);
    if (any_port) ep->port = 0;
    std::string bound, error;
    const int listener = listen_on(*ep, bound, error);
    if (listener < 0) {
        complain("smtpsink", error);
        return exit_code::unavailable;
    }
    std::cout << "listening on " << bound << std::endl;

    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    Totals totals;
    Sink sink(rules, spool ? &*spool : nullptr, totals);
    const unsigned max_conns = vm["max-connections"].as<unsigned>();
    if (max_conns == 0) return usage("--max-connections must be at least 1");
    Server server(listener, opt, sink, totals, ctx, *timeout, max_conns, script ? &*script : nullptr);
    const int rc = server.run(vm["sessions"].as<std::uint64_t>(), vm["count"].as<std::uint64_t>());
    ::close(listener);
    if (ctx) SSL_CTX_free(ctx);
    if (!cli.quiet)
        std::cerr << "smtpsink: " << totals.sessions << (totals.sessions == 1 ? " session, " : " sessions, ")
                  << totals.messages << " messages, " << totals.recipients << " recipients, " << totals.bytes
                  << " bytes; " << totals.refused << " answers refused by rules"
                  << (totals.store_errors ? ", " + std::to_string(totals.store_errors) + " not stored" : "") << "\n";
    if (rc != exit_code::ok) return rc;
    if (script) {
        if (!cli.quiet)
            std::cerr << "smtpsink: script " << script->file << ": " << script->stats.sessions << (script->stats.sessions == 1 ? " session, " : " sessions, ")
                      << script->stats.differences << " client lines differed\n";
        return script->stats.differences ? exit_code::problems : exit_code::ok;
    }
    return totals.store_errors ? exit_code::io_error : exit_code::ok;
}
