// sender.cpp - claim, send, settle: `jobs` sessions (lanes) driven by event
// loops over non-blocking sockets, a loop per 16 sessions, one per core at most.
//
// A lane is one SMTP connection at a time and the entries it carries: the
// one claimed and waiting for the session (or for its slot under the rate
// limit), and those submitted to the session, whose outcomes come back in
// the order they were submitted. Each turn of a loop first advances every
// lane without waiting (settle what completed, claim, connect, submit,
// write), then polls their sockets, at most 200 ms, then reads and writes
// what is ready and ends what is past its time limit (sender.hpp: a whole
// step under each limit, nothing written once stopped, half a second for a
// reply already on its way).
#include "msg/sender.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "detail/spool_io.hpp"
#include "msg/datetime.hpp"
#include "msg/parallel.hpp"
#include "msg/smtp/transcript.hpp"

namespace msg {

namespace {
using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;
using Want = smtp::Connection::Want;

constexpr std::size_t kReadSize = 16 * 1024;
// The longest a loop polls: a stop is seen this often.
constexpr std::chrono::milliseconds kTurn{200};
// How long a reply already on its way may take to arrive whole once the
// stop flag is set.
constexpr std::chrono::milliseconds kStopGrace{500};
// Reads per lane and turn: one server that floods cannot starve the others.
constexpr int kReadsPerTurn = 8;
// Sessions one loop drives. A loop sends tens of thousands of messages a
// second: a second one on the same cores only adds switching (measured:
// -j 10 to a local server on 2 cores, 1 loop 20% faster than 2), but the
// spool's work (claims, renames, fsync with durable settling) blocks a
// loop, so a large -j gets more of them.
constexpr unsigned kLanesPerLoop = 16;
// Transactions refused for now at MAIL FROM, one after another, that say a
// server throttles a lane.
constexpr unsigned kThrottleRefusals = 3;

short poll_bits(Want w) { return w == Want::write ? POLLOUT : POLLIN; }

}  // namespace

// What the lanes of a pass share: the scan, the server's addresses, the
// rate limit, the events' lock.
struct Sender::Shared {
    Shared(Spool& sp, const SendOptions& o, SendEvents& e, SendTotals& t) : spool(sp), options(o), events(e), totals(t) {}
    Spool& spool;
    const SendOptions& options;
    SendEvents& events;
    SendTotals& totals;
    DueScan* due = nullptr;                    // this pass's
    std::atomic<std::uint64_t>* done = nullptr;   // this pass's count of entries dealt with
    std::mutex resolve_mutex;
    // Each server's addresses, this pass's, once asked for.
    std::vector<std::optional<Result<smtp::Connection::Addresses>>> addresses;

    // The server, then the fallbacks, in the order they are tried.
    unsigned servers() const { return 1 + static_cast<unsigned>(options.fallback.size()); }
    const smtp::Endpoint& server(unsigned i) const { return i == 0 ? options.server : options.fallback[i - 1]; }
    // A server's addresses, resolved once per pass, when a session first
    // needs them: a slow resolver would otherwise stall every session of a
    // loop at each new connection.
    Result<smtp::Connection::Addresses> server_addresses(unsigned i) {
        std::lock_guard<std::mutex> lock(resolve_mutex);
        addresses.resize(servers());
        if (!addresses[i]) addresses[i] = smtp::Connection::resolve(server(i));
        return *addresses[i];
    }
    // The first server a new session tries: those before it gave none this
    // pass (RFC 5321 5.1's order, without knocking again at every session).
    std::atomic<unsigned> first_server{0};
    // Whether this call passed over server i (true once a pass for each).
    bool passed_over(unsigned i) {
        unsigned f = first_server.load();
        while (f <= i)
            if (first_server.compare_exchange_weak(f, i + 1)) return true;
        return false;
    }
    std::mutex events_mutex, pace_mutex;
    Steady::time_point next_slot{};

    // The time this message may start under the rate limit.
    Steady::time_point reserve() {
        std::lock_guard<std::mutex> lock(pace_mutex);
        const auto now = Steady::now();
        if (next_slot < now) next_slot = now;
        const Steady::time_point slot = next_slot;
        next_slot += std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(1.0 / options.rate));
        return slot;
    }
    template <class F>
    void tell(F&& f) {
        std::lock_guard<std::mutex> lock(events_mutex);
        f(events);
    }
    void problem(const std::string& message) {
        ++totals.errors;
        tell([&](SendEvents& e) { e.problem(message); });
    }
    // An outcome the spool could not record: the lanes claim no more.
    std::atomic<bool> unrecorded{false};
    // Some session of this pass got as far as a greeting (totals.reached:
    // of any pass, as --watch runs them).
    std::atomic<bool> reached{false};
    void unrecordable(const std::string& message) {
        unrecorded = true;
        problem(message);
    }
};

class Sender::Lane {
public:
    Lane(Shared& s, const std::atomic<bool>& stop) : s_(s), stop_(stop), settle_(s.options.settle) { name_server(); }
    ~Lane() { end_session(); }
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;

    // Everything that needs no readiness: settle, claim, connect, submit, write.
    void advance(Steady::time_point now);
    // What to poll for (fd -1: nothing), and by when the lane must be looked at.
    pollfd events() const;
    Steady::time_point wake() const;
    // Bytes wait that need no poll (decrypted TLS input).
    bool more() const { return conn_ && conn_->pending(); }
    // The socket is ready (or in error).
    void ready(short revents);
    // End what is past its limit.
    void expire(Steady::time_point now);
    bool finished() const { return !engine_ && (drained_ || gave_up_ || stop_seen_); }

    bool gave_up() const { return gave_up_; }
    unsigned left() const { return left_; }   // entries it had in hand when it gave up
    std::optional<smtp::SessionError> open_error;

private:
    struct Job {
        Claim claim;
        Envelope env;
    };
    std::unique_ptr<Job> take();
    bool submit(std::unique_ptr<Job> job);   // true: settled here, without the server
    void settle_completed();
    void settle_job(Job& job, Delivery& d);
    void open_session();
    const smtp::Endpoint& server() const { return s_.server(server_); }
    // The settlements name the session's server (before any session, the first).
    void name_server() {
        settle_.server = server().str();
        settle_.remote_mta = server().host;
    }
    void give_up(smtp::SessionError e);
    void open_failed(smtp::SessionError e);
    void throttled(std::string why);
    void end_session();
    void flush_transcript();
    bool stopping();
    void write();
    void read();
    void tls_step();
    void set_deadline(Steady::time_point now);

    Shared& s_;
    const std::atomic<bool>& stop_;
    std::optional<smtp::Connection> conn_;
    std::optional<smtp::ClientSession> engine_;
    bool counted_ = false;                       // the session got as far as open: counted
    unsigned server_ = 0;                        // the session's server (Shared::server)
    bool falling_back_ = false;                  // its entry waits for a session with the next server
    std::string passed_over_;                    // why the servers before it gave none ("A: why; ")
    SettleOptions settle_;                       // the pass's, naming the session's server
    std::unique_ptr<Job> waiting_;               // claimed, not yet submitted
    std::optional<Steady::time_point> slot_;     // its start under the rate limit
    std::deque<std::unique_ptr<Job>> inflight_;  // submitted, outcomes to come in this order
    unsigned on_session_ = 0;
    unsigned accepted_on_session_ = 0;   // messages the server took in this session
    unsigned refused_in_a_row_ = 0;      // transactions refused for now at MAIL FROM, one after another
    bool drained_ = false, gave_up_ = false;
    unsigned left_ = 0;
    bool stop_seen_ = false;
    Steady::time_point grace_end_{};

    // I/O state of the connection.
    std::size_t out_done_ = 0;                   // bytes of engine output written
    Want write_want_ = Want::none, read_want_ = Want::none, tls_want_ = Want::none;
    // Time limits: one for the step in hand (connecting, the handshake, a
    // whole write, a whole reply), set when it begins.
    enum class Step : std::uint8_t { none, connect, tls, write, reply } step_ = Step::none;
    smtp::Limit limit_ = smtp::Limit::command;
    std::uint64_t seen_ = 0;                     // replies completed when the deadline was set
    Steady::time_point deadline_ = Steady::time_point::max();

    std::shared_ptr<smtp::Recorder> recorder_;
    int transcript_fd_ = -1;
    std::string transcript_path_;
    std::unique_ptr<char[]> buf_;
    std::mt19937_64 rng_{std::random_device{}()};
};

// A stop, or an outcome that could not be recorded (by this lane or
// another): either way nothing more goes out, not even the message of an
// entry whose envelope was pipelined behind a final dot and answered 354
// (a transaction whose data never ends with the dot is discarded by the
// server, RFC 5321 3.8): sent and not recorded, it would be sent
// again by the next run.
bool Sender::Lane::stopping() {
    if (!stop_seen_ && (stop_.load(std::memory_order_relaxed) || s_.unrecorded)) {
        stop_seen_ = true;
        grace_end_ = Steady::now() + kStopGrace;
    }
    return stop_seen_;
}

void Sender::Lane::flush_transcript() {
    if (!recorder_ || transcript_fd_ < 0) return;
    const std::string text = recorder_->take();
    if (text.empty()) return;
    if (auto w = spool_io::write_all(transcript_fd_, text, transcript_path_); !w) {
        // Cut short (a full file system): named so, and not written on, so
        // that no transcript passes for a whole one.
        spool_io::close_fd(transcript_fd_);
        transcript_fd_ = -1;
        const std::string cut = transcript_path_ + ".incomplete";
        const bool renamed = ::rename(transcript_path_.c_str(), cut.c_str()) == 0;
        s_.problem(w.error().message + (renamed ? "; the transcript so far is " + cut : std::string()));
    }
}

// The connection closes (after QUIT, or without it once the session broke
// or a stop came); the transcript is written out.
void Sender::Lane::end_session() {
    if (conn_) conn_->close();
    conn_.reset();
    engine_.reset();
    step_ = Step::none;
    deadline_ = Steady::time_point::max();
    out_done_ = 0;
    write_want_ = read_want_ = tls_want_ = Want::none;
    if (recorder_ && counted_) recorder_->close();
    flush_transcript();
    if (transcript_fd_ >= 0) spool_io::close_fd(transcript_fd_);
    transcript_fd_ = -1;
    recorder_.reset();
    counted_ = false;
}

// The lane stops for the pass: no session could be had, or the server
// throttles it. An entry claimed and not yet sent is left as it was, one in
// flight gets its reply, and an open session ends with QUIT once idle;
// rather than knock again for every entry, so that a busy server sees
// fewer connections (a stop is no failure).
void Sender::Lane::give_up(smtp::SessionError e) {
    if (waiting_ && !stop_seen_) ++left_;
    waiting_.reset();
    slot_.reset();
    if (!stop_seen_ && !gave_up_) {
        open_error = std::move(e);
        gave_up_ = true;
    }
}

// No session with this server: the entry in hand waits for the next one
// (wake() brings the lane back at once); after the last, the lane gives up
// with why each failed.
void Sender::Lane::open_failed(smtp::SessionError e) {
    if (recorder_) (*recorder_)(smtp::Wire::event, "error " + e.message);
    if (server_ + 1 < s_.servers() && !stopping()) {
        passed_over_ += e.message + "; ";
        const bool first = s_.passed_over(server_);
        ++server_;
        if (first) s_.tell([&](SendEvents& ev) { ev.fell_back(e.message, server().str()); });
        falling_back_ = true;
        end_session();
        return;
    }
    e.message = passed_over_ + e.message;
    passed_over_.clear();
    falling_back_ = false;
    give_up(std::move(e));
    end_session();
}

// (What the server said is in the transcript already.)
void Sender::Lane::throttled(std::string why) {
    if (!gave_up_ && !stop_seen_) give_up(smtp::SessionError{std::move(why), std::nullopt, false, false});
}

void Sender::Lane::open_session() {
    const SendOptions& o = s_.options;
    // (One another session passed over meanwhile is not tried again.)
    server_ = falling_back_ ? std::max(server_, s_.first_server.load()) : s_.first_server.load();
    name_server();
    smtp::WireObserver obs;
    if (!o.transcript_dir.empty()) {
        static std::atomic<unsigned> seq{0};
        char name[96];
        std::snprintf(name, sizeof name, "%s.%ld.%u.txt", format_rfc3339(Clock::now()).c_str(),
                      static_cast<long>(::getpid()), seq.fetch_add(1));
        transcript_path_ = o.transcript_dir + "/" + name;
        const int fd = ::open(transcript_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            transcript_fd_ = fd;
            recorder_ = std::make_shared<smtp::Recorder>(server().str());
            obs = [r = recorder_](smtp::Wire w, std::string_view text) { (*r)(w, text); };
        } else {
            s_.problem(spool_io::sys_error("create", transcript_path_, errno).message);
        }
    }
    on_session_ = 0;
    accepted_on_session_ = 0;
    auto addresses = s_.server_addresses(server_);
    if (!addresses) return open_failed(smtp::SessionError{addresses.error().message, std::nullopt, false, true});
    auto conn = smtp::Connection::connect_start(server(), std::move(*addresses));
    if (!conn) return open_failed(smtp::SessionError{conn.error().message, std::nullopt, false, true});
    conn_.emplace(std::move(*conn));
    conn_->set_observer(obs);   // TLS events; the engine shows the lines
    smtp::SessionOptions so = o.session;
    so.stop = &stop_;
    engine_.emplace(so, server().str(), smtp::is_loopback_host(server().host), std::move(obs));
    if (!buf_) buf_.reset(new char[kReadSize]);
    step_ = Step::none;
}

// The next due entry that this lane could claim and that can be sent; one
// that cannot fails here with a report, one another sender holds is skipped.
std::unique_ptr<Sender::Lane::Job> Sender::Lane::take() {
    if (s_.unrecorded) return nullptr;
    while (const auto name = s_.due->next()) {
        auto claimed = s_.spool.claim(*name);
        if (!claimed) {
            ++*s_.done;
            if (claimed.error().errnum == ENOMEM) ++s_.totals.no_memory;
            s_.problem(claimed.error().message);
            continue;
        }
        if (!*claimed) {
            ++*s_.done;
            ++s_.totals.skipped;
            continue;
        }
        Claim& claim = **claimed;
        // Listed in queue/ but deferred by another sender before the claim
        // (spool-format.md: never sent before its Next-Attempt:).
        if (waits_until(retry_info(claim.entry()), claim.state(), Clock::now())) {
            ++*s_.done;
            ++s_.totals.skipped;   // as one another sender holds: its own run deals with it
            continue;
        }
        if (const std::string why = unsendable(claim.entry()); !why.empty()) {
            ++*s_.done;
            if (auto st = settle_unsendable(claim, why, settle_); !st) {
                s_.unrecordable(st.error().message);
                return nullptr;
            }
            ++s_.totals.failed;
            const std::string failed_as = claim.name() != *name ? claim.name() : std::string();
            s_.tell([&](SendEvents& e) { e.unsendable(*name, why, failed_as); });
            continue;
        }
        auto job = std::make_unique<Job>(Job{std::move(claim), {}});
        job->env = envelope_of(job->claim.entry());
        // A recipient listed twice is sent one RCPT: else the server may take
        // one and defer the other, and each retry delivers again. (Settling
        // goes by address, so both lines share its outcome.)
        // (One pass with a set: an entry may hold tens of thousands.)
        auto& rcpts = job->env.rcpts;
        std::vector<bool> again(rcpts.size());
        {
            std::unordered_set<std::string_view> seen;
            for (std::size_t i = 0; i < rcpts.size(); ++i) again[i] = !seen.insert(rcpts[i].address).second;
        }
        std::size_t kept = 0;
        for (std::size_t i = 0; i < rcpts.size(); ++i)
            if (!again[i]) {
                if (kept != i) rcpts[kept] = std::move(rcpts[i]);
                ++kept;
            }
        rcpts.resize(kept);
        return job;
    }
    return nullptr;
}

// To the session: after the one in flight, or behind its final dot in the
// same write when it can follow (RFC 2920 3.1). One decided without the
// server (over SIZE, say) is settled at once.
bool Sender::Lane::submit(std::unique_ptr<Job> job) {
    smtp::Prepared p = engine_->prepare(job->env, job->claim.entry().message);
    ++on_session_;
    if (p.done) {
        settle_job(*job, p.delivery);
        return true;
    }
    engine_->submit(std::move(p));
    inflight_.push_back(std::move(job));
    return false;
}

// The outcomes the session has given, settled in the order submitted.
void Sender::Lane::settle_completed() {
    while (engine_->completed() > 0 && !inflight_.empty()) {
        Delivery d = engine_->take();
        const std::unique_ptr<Job> job = std::move(inflight_.front());
        inflight_.pop_front();
        settle_job(*job, d);
    }
}

void Sender::Lane::settle_job(Job& job, Delivery& d) {
    ++*s_.done;
    if (d.interrupted && !d.unanswered_dot) return;   // as after SIGKILL
    const std::string name = job.claim.name();
    auto settled = settle(job.claim, d, settle_, Clock::now(),
                          std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
    if (!settled) {
        // Said with what the server took: the summary counts only outcomes
        // recorded, and this one is sent again by the next run.
        if (d.count(RcptState::sent) == 0) return s_.unrecordable(settled.error().message);
        ++s_.totals.unrecorded;
        return s_.unrecordable(name + ": accepted by the server, but its outcome could not be recorded " +
                               "(it will be sent again): " + settled.error().message);
    }
    switch (settled->outcome) {
    case Outcome::sent: ++s_.totals.sent; break;
    case Outcome::partial: ++s_.totals.partial; break;
    case Outcome::deferred: ++s_.totals.deferred; break;
    case Outcome::failed: ++s_.totals.failed; break;
    }
    // A server that refuses the sender for now, message after message
    // (451, 452, 454 to MAIL FROM: a rate limit, too many connections), is
    // throttling: the lane stops (RCPT's 4xx, greylisting, does not count:
    // each recipient's first attempt is what starts its clock).
    if (settled->outcome == Outcome::sent || settled->outcome == Outcome::partial) {
        ++accepted_on_session_;
        refused_in_a_row_ = 0;
    } else if (d.refused_at_mail && d.count(RcptState::deferred) == d.rcpts.size() && !d.connection_lost) {
        if (++refused_in_a_row_ == kThrottleRefusals)
            throttled(server().str() + " refused MAIL FROM for now " + std::to_string(kThrottleRefusals) +
                      " times in a row, last: " + (d.rcpts.empty() ? std::string() : reason(d.rcpts.front())));
    } else {
        refused_in_a_row_ = 0;
    }
    s_.tell([&](SendEvents& e) { e.settled(name, *settled, d); });
}

void Sender::Lane::advance(Steady::time_point now) {
    // What went out and came in is on disk before the lane waits again
    // (whichever way this returns): a run killed while a server holds the
    // reply to the dot leaves the transcript that says what was sent.
    struct FlushAtEnd {
        Lane& lane;
        ~FlushAtEnd() { lane.flush_transcript(); }
    } flush_at_end{*this};
    const SendOptions& o = s_.options;
    if (engine_) {
        settle_completed();
        if (!counted_ && engine_->usable()) {
            counted_ = true;
            falling_back_ = false;
            passed_over_.clear();
            s_.totals.reached = true;
            s_.reached = true;
            ++s_.totals.sessions;
        }
        if (engine_->closed()) {
            if (!counted_) {
                // Why, when the session says: given up, or broken (a
                // protocol error as it opened).
                auto e = engine_->error();
                const std::string& broke = engine_->broke();
                open_failed(e ? *e
                              : smtp::SessionError{broke.empty() ? "no session with " + server().str() : broke,
                                                   std::nullopt, false, false});
                return;
            }
            // A session the server broke before it took a message (a 421, a
            // dropped connection, a time limit) would break again at once.
            if (!engine_->broke().empty() && on_session_ > 0 && accepted_on_session_ == 0)
                throttled(engine_->broke() + " before a message was accepted");
            end_session();
        }
    }
    if (stopping()) {
        // Nothing more goes out; an idle session closes without QUIT, one
        // that waits keeps its grace (expire()).
        if (engine_ && (!engine_->output().empty() || conn_->connecting() != Want::none))
            engine_->connection_failed("stopped", true);
        if (engine_ && engine_->tls_requested())
            engine_->connection_failed(conn_->tls_give_up("stopped").message, true);
        if (engine_ && (engine_->closed() || !engine_->waiting())) {
            settle_completed();
            if (!counted_) open_failed(smtp::SessionError{"stopped", std::nullopt, false, false});
            else end_session();
        }
        waiting_.reset();
        if (engine_) set_deadline(Steady::now());
        return;
    }
    // An entry settled without the server (over SIZE, say) is no reason to
    // wait for the socket: the next is taken at once.
    for (bool again = true; again;) {
        again = false;
        if (!waiting_ && inflight_.empty() && !drained_ && !gave_up_) {
            waiting_ = take();
            drained_ = !waiting_;
        }
        if (waiting_) {
            if (!engine_) {
                open_session();
            } else if (engine_->ready()) {
                if (on_session_ >= std::max(1u, o.max_per_connection)) {
                    engine_->quit();   // a fresh session once this one is closed
                } else {
                    if (o.rate > 0 && !slot_) slot_ = s_.reserve();
                    if (!slot_ || *slot_ <= now) {
                        slot_.reset();
                        again = submit(std::move(waiting_));
                    }
                }
            }
        } else if (engine_ && inflight_.empty() && (drained_ || gave_up_) && engine_->ready()) {
            engine_->quit();
        }
    }
    // Pipelining: once DATA was answered 354, the next envelope goes in
    // the same write as the final dot.
    while (engine_ && !drained_ && !gave_up_ && !waiting_ && o.rate <= 0 && on_session_ < o.max_per_connection &&
           inflight_.size() == 1 && engine_->can_follow()) {
        auto next = take();
        if (!next) drained_ = true;
        else if (!submit(std::move(next))) break;
    }
    if (engine_ && conn_->connecting() == Want::none && !engine_->closed()) {
        if (engine_->tls_requested()) {
            if (tls_want_ == Want::none) tls_step();   // the first step; the rest as the socket allows
        } else if (!engine_->output().empty() && write_want_ == Want::none) {
            write();
        }
    }
    if (engine_) set_deadline(Steady::now());
}

// The limit for what the lane waits for now, set when that step begins.
void Sender::Lane::set_deadline(Steady::time_point now) {
    const smtp::SessionOptions& opt = engine_->options();
    auto begin = [&](Step st, smtp::Limit l, std::chrono::milliseconds len) {
        step_ = st;
        limit_ = l;
        deadline_ = now + len;
    };
    if (conn_->connecting() != Want::none) {
        if (step_ != Step::connect) begin(Step::connect, smtp::Limit::greeting, opt.limit(smtp::Limit::greeting));
    } else if (engine_->tls_requested()) {
        const smtp::Limit l = engine_->greeting().code == 0 ? smtp::Limit::greeting : smtp::Limit::command;
        if (step_ != Step::tls) begin(Step::tls, l, opt.limit(l));
    } else if (!engine_->output().empty()) {
        if (step_ != Step::write) {
            const smtp::Limit l = engine_->output_limit();
            auto len = opt.limit(l);
            if (l == smtp::Limit::data_block) len *= static_cast<long>(1 + engine_->output().size() / (1024 * 1024));
            begin(Step::write, l, len);
        }
    } else if (const auto w = engine_->waiting()) {
        if (step_ != Step::reply || engine_->progress() != seen_) {
            seen_ = engine_->progress();
            begin(Step::reply, *w, opt.limit(*w));
        }
    } else {
        step_ = Step::none;
        deadline_ = Steady::time_point::max();
    }
}

pollfd Sender::Lane::events() const {
    pollfd p{-1, 0, 0};
    if (!engine_ || !conn_ || conn_->fd() < 0) return p;
    p.fd = conn_->fd();
    if (conn_->connecting() != Want::none) {
        p.events = POLLOUT;
    } else if (engine_->tls_requested()) {
        p.events = poll_bits(tls_want_);
    } else {
        if (!engine_->output().empty()) p.events |= poll_bits(write_want_ == Want::none ? Want::write : write_want_);
        if (engine_->waiting() || engine_->ready())
            p.events |= poll_bits(read_want_ == Want::none ? Want::read : read_want_);
    }
    return p;
}

Steady::time_point Sender::Lane::wake() const {
    Steady::time_point t = deadline_;
    if (stop_seen_) t = std::min(t, grace_end_);
    if (waiting_ && slot_ && engine_ && engine_->ready()) t = std::min(t, *slot_);
    if (falling_back_ && !engine_) t = Steady::time_point{};   // the next server, at once
    return t;
}

void Sender::Lane::ready(short revents) {
    if (!engine_ || !conn_) return;
    if (conn_->connecting() != Want::none) {
        const std::size_t tried = conn_->addresses_tried();
        if (auto c = conn_->connect_step(); !c) open_failed(smtp::SessionError{c.error().message, std::nullopt, false, true});
        else if (conn_->addresses_tried() != tried) step_ = Step::none;   // the next address gets the whole limit
        return;
    }
    if (engine_->tls_requested()) return tls_step();
    const short in = POLLIN | POLLHUP | POLLERR, out = POLLOUT | POLLHUP | POLLERR;
    // Once stopped nothing more goes out; a reply on its way is still read.
    if (!stopping() && !engine_->output().empty() && (revents & (write_want_ == Want::read ? in : out))) write();
    if (!engine_->closed() && (revents & (read_want_ == Want::write ? out : in))) read();
}

void Sender::Lane::tls_step() {
    auto w = conn_->tls_step(engine_->options().tls, conn_->endpoint().host);
    if (!w) return engine_->connection_failed(w.error().message);
    tls_want_ = *w;
    if (*w == Want::none) engine_->tls_started();
}

void Sender::Lane::write() {
    std::string& out = engine_->output();
    write_want_ = Want::none;
    while (out_done_ < out.size()) {
        auto io = conn_->write_some(std::string_view(out).substr(out_done_));
        if (!io) return engine_->connection_failed(io.error().message);
        out_done_ += io->n;
        engine_->written(out_done_);
        if (io->want != Want::none) {
            write_want_ = io->want;
            return;
        }
    }
    if (out.capacity() > (1u << 20)) std::string().swap(out);   // a big message's buffer goes
    else out.clear();
    out_done_ = 0;
}

void Sender::Lane::read() {
    read_want_ = Want::none;
    for (int i = 0; i < kReadsPerTurn && engine_ && !engine_->closed(); ++i) {
        auto io = conn_->read_some(buf_.get(), kReadSize);
        if (!io) return engine_->connection_failed(io.error().message);
        if (io->eof) return engine_->connection_closed();
        if (io->want != Want::none) {
            read_want_ = io->want;
            return;
        }
        engine_->receive(std::string_view(buf_.get(), io->n));
        if (io->n < kReadSize && !conn_->pending()) return;   // the socket is empty
    }
}

void Sender::Lane::expire(Steady::time_point now) {
    if (!engine_) return;
    const bool stopped = stopping();
    if (stopped) {
        if (now >= std::min(grace_end_, deadline_)) engine_->connection_failed("stopped", true);
        return;
    }
    if (now < deadline_) return;
    const std::string host = server().str();
    switch (step_) {
    case Step::connect:
        if (auto c = conn_->connect_step(true); !c)
            open_failed(smtp::SessionError{c.error().message, std::nullopt, false, true});
        step_ = Step::none;   // the next address gets the whole limit
        deadline_ = Steady::time_point::max();
        return;
    case Step::tls: return engine_->connection_failed(conn_->tls_give_up("timed out").message);
    case Step::write: return engine_->connection_failed("timed out writing to " + host);
    case Step::reply:
        return engine_->connection_failed("timed out waiting for " + host + " (no whole reply within " +
                                          std::to_string(engine_->options().limit(limit_).count() / 1000) + " s, the " +
                                          std::string(smtp::limit_name(limit_)) + " limit)");
    case Step::none: return;
    }
}

Sender::Sender(Spool& spool, const SendOptions& options, SendEvents& events)
    : spool_(spool), options_(options), events_(events),
      shared_(std::make_unique<Shared>(spool_, options_, events_, totals_)) {}

Sender::~Sender() = default;

// "A", or "A, B or C" with fallbacks.
std::string Sender::servers_text() const {
    std::string s = options_.server.str();
    for (std::size_t i = 0; i < options_.fallback.size(); ++i)
        s += (i + 1 == options_.fallback.size() ? " or " : ", ") + options_.fallback[i].str();
    return s;
}

// One event loop over its lanes, until every one has finished.
void Sender::run(std::vector<std::unique_ptr<Lane>>& lanes) {
    std::vector<pollfd> fds;
    std::vector<Lane*> polled;
    while (true) {
        fds.clear();
        polled.clear();
        auto now = Steady::now();
        Steady::time_point wake = now + kTurn;
        bool busy = false, again = false;
        for (auto& lane : lanes) {
            if (lane->finished()) continue;
            lane->advance(now);
            if (lane->finished()) continue;
            busy = true;
            const pollfd p = lane->events();
            if (p.fd >= 0 && p.events) {
                fds.push_back(p);
                polled.push_back(lane.get());
            }
            wake = std::min(wake, lane->wake());
            again = again || lane->more();
        }
        if (!busy) return;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(wake - Steady::now());
        const int timeout = again ? 0 : static_cast<int>(std::clamp<long>(left.count(), 0, kTurn.count()));
        if (::poll(fds.data(), fds.size(), timeout) > 0)
            for (std::size_t i = 0; i < fds.size(); ++i)
                if (fds[i].revents) polled[i]->ready(fds[i].revents);
        for (auto& lane : lanes)
            if (lane->more()) lane->ready(POLLIN);
        now = Steady::now();
        for (auto& lane : lanes) lane->expire(now);
    }
}

// No session could be had with the server this pass. Its outage counts
// against max_age as any temporary failure does (RFC 5321 4.5.4.1: a
// sender gives up after some days, a relay down for weeks included): a
// deferred entry whose first attempt is max_age ago fails now, as it
// would at its next 4xx, with why the server was not reached. An entry
// never tried waits, as its age counts from its first attempt; every other
// entry is left as it was, nothing held against it.
std::uint64_t Sender::expire_unreached(const std::string& why, const std::atomic<bool>& stop) {
    const SystemTime now = Clock::now();
    std::uint64_t expired = 0;
    // Deferred entries only (one released to queue/ with its attempts fails
    // at its next 4xx): a queue of a million new entries is not read on
    // every pass of a --watch through an outage. Each is read once, and
    // claimed only when past max_age: another sender's claim, or
    // spoolctl's, meets no lock on the entries this leaves.
    const auto expires = [&](const SpoolEntry& e, SpoolState state) {
        const RetryInfo r = retry_info(e);
        return r.attempts > 0 && !waits_until(r, state, now) && unsendable(e).empty() &&
               past_max_age(e, now, options_.settle.retry);
    };
    // Its reports name every server tried, as the reason does.
    SettleOptions settle_options = options_.settle;
    settle_options.server = servers_text();
    SpoolWalk walk(spool_, {SpoolState::deferred});
    while (!stop) {
        auto item = walk.next();
        if (!item) break;
        const auto data = walk.read(*item);
        if (!data || !expires(parse_spool_entry(*data), item->state)) continue;
        auto claimed = spool_.claim(item->name);
        if (!claimed || !*claimed) continue;   // gone, or another sender's
        Claim& claim = **claimed;
        if (!expires(claim.entry(), claim.state())) continue;   // changed since it was read
        Delivery d;
        for (const Envelope::Rcpt& rcpt : envelope_of(claim.entry()).rcpts)
            d.rcpts.push_back({rcpt.address, RcptState::deferred, std::nullopt,
                               "no session with " + servers_text() + ": " + why, "4.4.1"});
        const std::string entry = claim.name();
        auto settled = settle(claim, d, settle_options, now, 0.0);
        if (!settled) {
            shared_->unrecordable(settled.error().message);
            break;
        }
        ++expired;
        ++totals_.failed;
        events_.settled(entry, *settled, d);   // the loops are gone: no lock needed
    }
    return expired;
}

SendPass Sender::pass(const std::atomic<bool>& stop) {
    SendPass result;
    DueScan due(spool_, Clock::now());
    std::atomic<std::uint64_t> done{0};
    shared_->due = &due;
    shared_->done = &done;
    shared_->addresses.clear();   // resolved again for each pass
    shared_->first_server = 0;    // and the first server tried again
    shared_->unrecorded = false;
    shared_->reached = false;
    // `jobs` lanes, kLanesPerLoop to a loop, at most one loop per core.
    const unsigned jobs = std::max(1u, options_.jobs);
    const unsigned loops = std::min((jobs + kLanesPerLoop - 1) / kLanesPerLoop, std::max(1u, available_cores()));
    std::vector<std::vector<std::unique_ptr<Lane>>> lanes(loops);
    for (unsigned j = 0; j < jobs; ++j) lanes[j % loops].push_back(std::make_unique<Lane>(*shared_, stop));
    unsigned running = loops;
    std::mutex running_mutex;
    std::condition_variable finished;
    std::vector<std::thread> threads;
    std::exception_ptr thrown;   // (memory that ran out): the pass's, once every loop has ended
    const auto loop = [&](unsigned l) {
        std::exception_ptr e;
        try {
            run(lanes[l]);
        } catch (...) {   // its claims end with the process; nothing was half-written
            e = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(running_mutex);
        if (e && !thrown) thrown = e;
        if (--running == 0) finished.notify_one();
    };
    threads.reserve(loops);   // so that starting one allocates nothing but the thread
    for (unsigned l = 0; l < loops; ++l) {
        try {
            threads.emplace_back(loop, l);
        } catch (const std::exception&) {   // (system_error, or bad_alloc for a thread's state)
            // No more threads to be had (a limit on processes, or on memory
            // for their stacks): the loops started send the whole spool;
            // with none started, every connection is run here.
            {
                std::lock_guard<std::mutex> lock(running_mutex);
                running -= loops - l;
            }
            if (l == 0) {
                for (unsigned k = 1; k < loops; ++k)
                    for (auto& lane : lanes[k]) lanes[0].push_back(std::move(lane));
                lanes.resize(1);   // no loop is left holding a lane moved out
                running = 1;
                loop(0);
            }
            break;
        }
    }
    auto last_sync = Steady::now();
    while (true) {
        shared_->tell([&](SendEvents& e) { e.tick(done); });
        {
            std::unique_lock<std::mutex> lock(running_mutex);
            if (finished.wait_for(lock, std::chrono::milliseconds(100), [&] { return running == 0; })) break;
        }
        if (!stop && Steady::now() - last_sync >= std::chrono::seconds(1)) {
            (void)spool_.sync();
            last_sync = Steady::now();
        }
    }
    for (std::thread& t : threads) t.join();
    if (thrown) std::rethrow_exception(thrown);
    events_.tick(done);   // the loops are gone: no lock needed
    unsigned gave_up = 0;
    for (auto& group : lanes)
        for (auto& lane : group)
            if (lane->gave_up()) {
                ++gave_up;
                result.left += lane->left();
                if (lane->open_error) result.session_error = lane->open_error->message;
            }
    // A pass that gave up (no server, or its server lost) leaves the due
    // entries it never took as well as those its sessions had in hand.
    if (gave_up > 0 && !stop)
        while (due.next()) ++result.left;
    lanes.clear();   // sessions still open end here (none once the loops have returned)
    shared_->due = nullptr;
    shared_->done = nullptr;
    // Stopped: no sync, as after SIGKILL (a syncfs of a busy file system can
    // take seconds); what reverts after a power failure is sent again, never lost.
    if (!stop)
        if (auto s = spool_.sync(); !s) shared_->problem(s.error().message);
    result.scan_error = due.error();
    result.unreachable = gave_up > 0 && !shared_->reached;
    if (result.unreachable && result.session_error.empty()) result.session_error = "cannot reach " + servers_text();
    if (result.unreachable && !stop && !shared_->unrecorded) {
        result.expired = expire_unreached(result.session_error, stop);
        result.left -= std::min(result.left, result.expired);
    }
    result.unrecorded = shared_->unrecorded;
    result.left_behind = gave_up > 0 && !result.unreachable && !stop;
    result.stopped = stop;
    return result;
}

}  // namespace msg
