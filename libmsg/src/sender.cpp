// sender.cpp - claim, send, settle, over `jobs` sessions in threads.
#include "msg/sender.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "detail/spool_io.hpp"
#include "msg/datetime.hpp"
#include "msg/smtp/transcript.hpp"

namespace msg {

namespace {
using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;
}  // namespace

// What the workers of a pass share: the scan, the rate limit, the events' lock.
struct Sender::Shared {
    Shared(Spool& sp, const SendOptions& o, SendEvents& e, SendTotals& t) : spool(sp), options(o), events(e), totals(t) {}
    Spool& spool;
    const SendOptions& options;
    SendEvents& events;
    SendTotals& totals;
    DueScan* due = nullptr;   // this pass's
    std::mutex events_mutex, pace_mutex;
    Steady::time_point next_slot{};

    // Wait for this message's slot under the rate limit (or a stop), in
    // short naps so that a stop is not kept waiting.
    void pace(const std::atomic<bool>& stop) {
        if (options.rate <= 0) return;
        Steady::time_point slot;
        {
            std::lock_guard<std::mutex> lock(pace_mutex);
            const auto now = Steady::now();
            if (next_slot < now) next_slot = now;
            slot = next_slot;
            next_slot += std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(1.0 / options.rate));
        }
        while (!stop && Steady::now() < slot)
            std::this_thread::sleep_for(std::min<Steady::duration>(slot - Steady::now(), std::chrono::milliseconds(100)));
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
};

class Sender::Worker {
public:
    explicit Worker(Shared& s) : s_(s) {}
    ~Worker() { close_session(); }
    // Send until nothing is due or `stop` is set. False when no session
    // could be had: the entry in hand is left as it was, open_error says why.
    bool run(const std::atomic<bool>& stop, std::atomic<std::uint64_t>& done);
    std::optional<smtp::SessionError> open_error;

private:
    struct Job {
        Claim claim;
        Envelope env;
        smtp::Session::Prepared prepared;
        std::uint64_t prepared_for = 0;   // the session it was prepared for (its capabilities)
    };
    std::unique_ptr<Job> take();
    void finish(Job& job, Delivery& d);
    bool ensure_session(const std::atomic<bool>& stop);
    void close_session();
    void flush_transcript();

    Shared& s_;
    std::optional<smtp::Session> session_;
    unsigned on_session_ = 0;
    std::unique_ptr<Job> prefetched_;
    std::uint64_t done_ = 0;
    std::shared_ptr<smtp::Recorder> recorder_;
    int transcript_fd_ = -1;
    std::string transcript_path_;
    std::mt19937_64 rng_{std::random_device{}()};
};

void Sender::Worker::flush_transcript() {
    if (!recorder_ || transcript_fd_ < 0) return;
    if (auto w = spool_io::write_all(transcript_fd_, recorder_->take(), transcript_path_); !w)
        s_.problem(w.error().message);
}

void Sender::Worker::close_session() {
    if (session_) {
        session_->quit();
        session_.reset();
    }
    if (recorder_) recorder_->close();
    flush_transcript();
    if (transcript_fd_ >= 0) spool_io::close_fd(transcript_fd_);
    transcript_fd_ = -1;
    recorder_.reset();
}

bool Sender::Worker::ensure_session(const std::atomic<bool>& stop) {
    const SendOptions& o = s_.options;
    if (session_ && session_->usable() && on_session_ < o.max_per_connection) return true;
    close_session();
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
            recorder_ = std::make_shared<smtp::Recorder>(o.server.str());
            obs = [r = recorder_](smtp::Wire w, std::string_view text) { (*r)(w, text); };
        } else {
            s_.problem(spool_io::sys_error("create", transcript_path_, errno).message);
        }
    }
    smtp::SessionOptions so = o.session;
    so.stop = &stop;
    auto session = smtp::Session::open(o.server, so, obs);
    on_session_ = 0;
    if (!session) {
        open_error = session.error();
        if (recorder_) (*recorder_)(smtp::Wire::event, "error " + session.error().message);
        flush_transcript();
        return false;
    }
    open_error.reset();
    s_.totals.reached = true;
    ++s_.totals.sessions;
    session_.emplace(std::move(*session));
    flush_transcript();
    return true;
}

// The next due entry that this worker could claim and that can be sent;
// one that cannot fails here with a report, one another sender holds is
// skipped.
std::unique_ptr<Sender::Worker::Job> Sender::Worker::take() {
    while (const auto name = s_.due->next()) {
        ++done_;
        auto claimed = s_.spool.claim(*name);
        if (!claimed) {
            s_.problem(claimed.error().message);
            continue;
        }
        if (!*claimed) {
            ++s_.totals.skipped;
            continue;
        }
        Claim& claim = **claimed;
        if (const std::string why = unsendable(claim.entry()); !why.empty()) {
            if (auto st = settle_unsendable(claim, why, s_.options.settle); !st) {
                s_.problem(st.error().message);
                continue;
            }
            ++s_.totals.failed;
            s_.tell([&](SendEvents& e) { e.unsendable(*name, why); });
            continue;
        }
        --done_;   // counted when it is settled
        auto job = std::make_unique<Job>(Job{std::move(claim), {}, {}, 0});
        job->env = envelope_of(job->claim.entry());
        return job;
    }
    return nullptr;
}

bool Sender::Worker::run(const std::atomic<bool>& stop, std::atomic<std::uint64_t>& done) {
    auto count = [&] {
        done += done_;
        done_ = 0;
    };
    const SendOptions& o = s_.options;
    while (!stop) {
        std::unique_ptr<Job> job = std::move(prefetched_);
        if (!job) job = take();
        count();
        if (!job) return true;
        if (!ensure_session(stop)) return stop.load();   // a stop ends connecting too: no failure
        auto prepare = [&](Job& j) {
            j.prepared = session_->prepare(j.env, j.claim.entry().message);
            j.prepared_for = session_->id();
        };
        if (job->prepared_for != session_->id()) prepare(*job);
        if (job->prepared.sent_on != session_->id()) s_.pace(stop);
        std::function<smtp::Session::Prepared*()> ahead;
        if (o.rate <= 0 && on_session_ + 1 < o.max_per_connection)
            ahead = [&]() -> smtp::Session::Prepared* {
                if (stop || !(prefetched_ = take())) return nullptr;
                prepare(*prefetched_);
                return &prefetched_->prepared;
            };
        Delivery d = session_->transact(job->prepared, ahead);
        ++on_session_;
        flush_transcript();
        if (d.connection_lost) close_session();
        finish(*job, d);
        ++done_;
        count();
    }
    return true;
}

void Sender::Worker::finish(Job& job, Delivery& d) {
    if (d.interrupted && !d.unanswered_dot) return;   // as after SIGKILL
    const std::string name = job.claim.name();
    auto settled = settle(job.claim, d, s_.options.settle, Clock::now(),
                          std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
    if (!settled) return s_.problem(settled.error().message);
    switch (settled->outcome) {
    case Outcome::sent: ++s_.totals.sent; break;
    case Outcome::partial: ++s_.totals.partial; break;
    case Outcome::deferred: ++s_.totals.deferred; break;
    case Outcome::failed: ++s_.totals.failed; break;
    }
    s_.tell([&](SendEvents& e) { e.settled(name, *settled, d); });
}

Sender::Sender(Spool& spool, const SendOptions& options, SendEvents& events)
    : spool_(spool), options_(options), events_(events),
      shared_(std::make_unique<Shared>(spool_, options_, events_, totals_)) {}

Sender::~Sender() = default;

SendPass Sender::pass(const std::atomic<bool>& stop) {
    SendPass result;
    DueScan due(spool_, Clock::now());
    shared_->due = &due;
    std::atomic<std::uint64_t> done{0};
    std::atomic<unsigned> gave_up{0}, running{std::max(1u, options_.jobs)};
    std::mutex error_mutex;
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < std::max(1u, options_.jobs); ++w)
        workers.emplace_back([&] {
            Worker worker(*shared_);
            if (!worker.run(stop, done)) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (worker.open_error) result.session_error = worker.open_error->message;
                ++gave_up;
            }
            --running;
        });
    auto last_sync = Steady::now();
    while (running > 0) {
        shared_->tell([&](SendEvents& e) { e.tick(done); });
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (!stop && Steady::now() - last_sync >= std::chrono::seconds(1)) {
            (void)spool_.sync();
            last_sync = Steady::now();
        }
    }
    for (std::thread& t : workers) t.join();
    events_.tick(done);   // the workers are gone: no lock needed
    shared_->due = nullptr;
    // Stopped: no sync, as after SIGKILL (a syncfs of a busy file system can
    // take seconds); what reverts after a power failure is sent again, never lost.
    if (!stop)
        if (auto s = spool_.sync(); !s) shared_->problem(s.error().message);
    result.scan_error = due.error();
    result.unreachable = gave_up > 0 && !totals_.reached;
    result.left_behind = gave_up > 0 && !result.unreachable && !stop;
    return result;
}

}  // namespace msg
