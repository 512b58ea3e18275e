// smtp/session.cpp - the blocking driver: a ClientSession's bytes over a
// Connection, under whole-reply deadlines and a stop flag.
#include "msg/smtp/session.hpp"

#include <atomic>

namespace msg::smtp {
namespace {

using Clock = Connection::Clock;

constexpr std::size_t kReadSize = 16 * 1024;
// How long a reply already on its way may take to arrive whole once the
// stop flag is set.
constexpr std::chrono::milliseconds kStopGrace{500};

}  // namespace

Session::Session(Connection conn, ClientSession engine)
    : conn_(std::move(conn)), engine_(std::move(engine)), buf_(new char[kReadSize]) {
    static std::atomic<std::uint64_t> next_id{1};
    id_ = next_id++;
}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

bool Session::stopping() {
    if (!stop_seen_) {
        const std::atomic<bool>* stop = engine_.options().stop;
        if (stop && stop->load()) {
            stop_seen_ = true;
            grace_end_ = Clock::now() + kStopGrace;
        }
    }
    return stop_seen_;
}

// Move bytes until enough() or until the engine waits for nothing. A
// failing connection is told to the engine, which ends what is in flight;
// the connection is closed once the engine is.
void Session::pump(const std::function<bool()>& enough) {
    const SessionOptions& opt = engine_.options();
    std::uint64_t seen = engine_.progress();
    bool fresh = true;                 // a new wait begins: set its deadline
    Clock::time_point deadline{};
    while (true) {
        if (enough()) break;
        std::string& out = engine_.output();
        if (!out.empty()) {
            if (stopping()) {
                // Nothing more goes out once stopped.
                engine_.connection_failed("stopped", true);
            } else {
                auto limit = opt.limit(engine_.output_limit());
                if (engine_.output_limit() == Limit::data_block)
                    limit *= static_cast<long>(1 + out.size() / (1024 * 1024));
                auto w = conn_.send(out, Clock::now() + limit, opt.stop);
                if (!w) engine_.connection_failed(w.error().errnum == ECANCELED ? "stopped" : w.error().message,
                                                  w.error().errnum == ECANCELED);
            }
            if (out.capacity() > (1u << 20)) std::string().swap(out);   // a big message's buffer goes
            else out.clear();
            fresh = true;
            continue;
        }
        if (engine_.closed()) break;
        if (engine_.tls_requested()) {
            const Limit l = engine_.greeting().code == 0 ? Limit::greeting : Limit::command;
            const std::string host = conn_.endpoint().host;
            auto t = conn_.start_tls(opt.tls, host, Clock::now() + opt.limit(l), stopping() ? nullptr : opt.stop);
            if (t) engine_.tls_started();
            else engine_.connection_failed(t.error().message, stopping());
            fresh = true;
            continue;
        }
        const std::optional<Limit> waiting = engine_.waiting();
        if (!waiting) break;
        if (fresh || engine_.progress() != seen) {
            seen = engine_.progress();
            fresh = false;
            deadline = Clock::now() + opt.limit(*waiting);
        }
        const bool stopped = stopping();
        auto n = conn_.receive(buf_.get(), kReadSize, stopped ? std::min(deadline, grace_end_) : deadline,
                               stopped ? nullptr : opt.stop);
        if (!n) {
            const int e = n.error().errnum;
            if (e == ECANCELED) continue;   // stopping() sees it now: the grace begins
            if (e == ETIMEDOUT && stopped) {
                engine_.connection_failed("stopped", true);
            } else if (e == ETIMEDOUT) {
                engine_.connection_failed(n.error().message + " (no whole reply within " +
                                          std::to_string(opt.limit(*waiting).count() / 1000) + " s, the " +
                                          std::string(limit_name(*waiting)) + " limit)");
            } else {
                engine_.connection_failed(n.error().message);
            }
            continue;
        }
        if (*n == 0) engine_.connection_closed();
        else engine_.receive(std::string_view(buf_.get(), *n));
    }
    if (engine_.closed()) conn_.close();
}

Result<Session, SessionError> Session::open(const Endpoint& server, const SessionOptions& opt, WireObserver observer) {
    auto conn = Connection::open(server, opt.greeting, opt.stop);
    if (!conn) return SessionError{conn.error().message, std::nullopt, false, true};
    conn->set_observer(observer);   // TLS events; the engine shows the lines
    Session s(std::move(*conn), ClientSession(opt, server.str(), is_loopback_host(server.host), std::move(observer)));
    ClientSession& e = s.engine_;
    s.pump([&] { return e.ready() || e.closed(); });
    if (e.ready()) return s;
    return e.error() ? *e.error() : SessionError{"no session with " + server.str(), std::nullopt, false, false};
}

Delivery Session::transact(Prepared& p, const std::function<Prepared*()>& next) {
    if (p.done) return std::move(p.delivery);
    if (p.sent_on == id_) {
        // Its envelope went behind the previous message's dot: the engine
        // has it, unless the session ended first.
        if (engine_.in_flight() + engine_.completed() == 0) {
            Delivery d = std::move(p.delivery);
            d.connection_lost = true;
            for (RcptOutcome& o : d.rcpts)
                if (o.detail.empty() && !o.reply) o.detail = "the session is closed";
            return d;
        }
    } else {
        engine_.submit(std::move(p));   // an unusable session answers at once
    }
    bool asked = false;
    pump([&] {
        if (engine_.completed() > 0) return true;
        // Once DATA was answered 354 and the message waits to go: the
        // next envelope goes in the same write.
        if (next && !asked && engine_.can_follow()) {
            asked = true;
            if (Prepared* n = next(); n && !n->done) {
                Prepared moving = std::move(*n);
                n->delivery = moving.delivery;   // the caller's keeps its recipients
                n->sent_on = id_;
                n->rset = true;
                engine_.submit(std::move(moving));
            }
        }
        return false;
    });
    // A session that waits for nothing has ended what it had: there is one.
    return engine_.take();
}

bool Session::reset() {
    engine_.reset();
    pump([&] { return engine_.ready() || engine_.closed(); });
    return usable();
}

void Session::quit() {
    if (conn_.is_open() && !stopping()) {
        engine_.quit();
        pump([&] { return engine_.closed(); });
    }
    conn_.close();
}

}  // namespace msg::smtp
