// deliver.cpp - claim, send, settle; the rules are libmsg's (delivery.hpp).
#include "deliver.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

#include <unistd.h>

#include "common/files.hpp"
#include "msg/datetime.hpp"
#include "msg/json.hpp"

namespace smtp = msg::smtp;
using Clock = std::chrono::system_clock;

void Shared::pace(const std::atomic<bool>& stop) {
    if (cfg.rate <= 0) return;
    std::chrono::steady_clock::time_point slot;
    {
        std::lock_guard<std::mutex> lock(m_);
        const auto now = std::chrono::steady_clock::now();
        if (next_ < now) next_ = now;
        slot = next_;
        next_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(1.0 / cfg.rate));
    }
    // In short naps, so that a stop request is not kept waiting.
    while (!stop && std::chrono::steady_clock::now() < slot)
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            slot - std::chrono::steady_clock::now(), std::chrono::milliseconds(100)));
}

void Shared::say(const std::string& line, bool to_stdout) {
    std::lock_guard<std::mutex> lock(m_);
    std::fputs(line.c_str(), to_stdout ? stdout : stderr);
    std::fputc('\n', to_stdout ? stdout : stderr);
    if (to_stdout) std::fflush(stdout);
}

struct Worker::Job {
    msg::Claim claim;
    msg::Envelope env;
    smtp::Session::Prepared prepared;
    std::uint64_t prepared_for = 0;   // the session it was prepared for (its capabilities)
};

Worker::Worker(Shared& s) : s_(s) {}

Worker::~Worker() { close_session(); }

void Worker::problem(const std::string& message) {
    ++s_.totals.errors;
    s_.say("spoolsend: " + message, false);
}

void Worker::flush_transcript() {
    if (!recorder_ || transcript_fd_ < 0) return;
    if (auto w = msgtools::write_all(transcript_fd_, recorder_->take()); !w) problem(w.error().message);
}

void Worker::close_session() {
    if (session_) {
        session_->quit();
        session_.reset();
    }
    if (recorder_) recorder_->close();
    flush_transcript();
    if (transcript_fd_ >= 0) ::close(transcript_fd_);
    transcript_fd_ = -1;
    recorder_.reset();
}

bool Worker::ensure_session() {
    if (session_ && session_->usable() && on_session_ < s_.cfg.max_per_connection) return true;
    close_session();
    smtp::WireObserver obs;
    if (!s_.cfg.transcript_dir.empty()) {
        static std::atomic<unsigned> seq{0};
        char name[96];
        std::snprintf(name, sizeof name, "%s.%ld.%u.txt", msg::format_rfc3339(Clock::now()).c_str(),
                      static_cast<long>(getpid()), seq.fetch_add(1));
        auto fd = msgtools::create_private(s_.cfg.transcript_dir, name);
        if (fd) {
            transcript_fd_ = *fd;
            recorder_ = std::make_shared<smtp::Recorder>(s_.cfg.server.str());
            obs = [r = recorder_](smtp::Wire w, std::string_view text) { (*r)(w, text); };
        } else {
            problem(fd.error().message);
        }
    }
    smtp::SessionError err;
    auto session = smtp::Session::open(s_.cfg.server, s_.cfg.session, obs, &err);
    on_session_ = 0;
    if (!session) {
        open_error_ = err;
        if (recorder_) (*recorder_)(smtp::Wire::event, "error " + err.message);
        flush_transcript();
        return false;
    }
    open_error_.reset();
    s_.totals.reached = true;
    ++s_.totals.sessions;
    session_.emplace(std::move(*session));
    flush_transcript();
    return true;
}

// The next due entry that this worker could claim and that can be sent;
// one that cannot fails here with a report, one another sender holds is
// skipped.
std::unique_ptr<Worker::Job> Worker::take() {
    while (const auto name = s_.due->next()) {
        ++done_;
        auto claimed = s_.spool.claim(*name);
        if (!claimed) {
            problem(claimed.error().message);
            continue;
        }
        if (!*claimed) {
            ++s_.totals.skipped;
            continue;
        }
        msg::Claim& claim = **claimed;
        if (const std::string why = msg::unsendable(claim.entry()); !why.empty()) {
            if (auto st = msg::settle_unsendable(claim, why, s_.cfg.settle); !st) {
                problem(st.error().message);
                continue;
            }
            ++s_.totals.failed;
            if (s_.cfg.json) {
                msg::Json j;
                j.begin_object().key("entry").value(*name).key("attempt").value(std::uint64_t{1}).key("outcome")
                    .value("failed").key("error").value(why).end_object();
                s_.say(j.str(), true);
            } else if (!s_.cfg.quiet) {
                s_.say("spoolsend: " + *name + ": failed: " + why, false);
            }
            continue;
        }
        --done_;   // counted when it is settled
        auto job = std::make_unique<Job>(Job{std::move(claim), {}, {}, 0});
        job->env = msg::envelope_of(job->claim.entry());
        return job;
    }
    return nullptr;
}

bool Worker::run(const std::atomic<bool>& stop, std::atomic<std::uint64_t>& done) {
    auto count = [&] {
        done += done_;
        done_ = 0;
    };
    while (!stop) {
        std::unique_ptr<Job> job = std::move(prefetched_);
        if (!job) job = take();
        count();
        if (!job) return true;
        // No session (no connection, or a 421/554 greeting, a failed
        // STARTTLS or AUTH): this entry stays as it is and the worker stops
        // rather than knock again for every entry.
        if (!ensure_session()) return stop.load();   // a stop ends connecting too: no failure
        auto prepare = [&](Job& j) {
            j.prepared = session_->prepare(j.env, j.claim.entry().message);
            j.prepared_for = session_->id();
        };
        if (job->prepared_for != session_->id()) prepare(*job);
        if (job->prepared.sent_on != session_->id()) s_.pace(stop);
        std::function<smtp::Session::Prepared*()> ahead;
        if (s_.cfg.rate <= 0 && on_session_ + 1 < s_.cfg.max_per_connection)
            ahead = [&]() -> smtp::Session::Prepared* {
                if (stop || !(prefetched_ = take())) return nullptr;
                prepare(*prefetched_);
                return &prefetched_->prepared;
            };
        msg::Delivery d = session_->transact(job->prepared, ahead);
        ++on_session_;
        flush_transcript();
        if (d.connection_lost) close_session();
        finish(*job, d);
        ++done_;
        count();
    }
    return true;
}

void Worker::finish(Job& job, msg::Delivery& d) {
    // Stopped before the outcome was known: the entry stays as it was, as
    // after SIGKILL (one whose final dot went unanswered is deferred below).
    if (d.interrupted && !d.unanswered_dot) return;
    const std::string name = job.claim.name();
    auto settled = msg::settle(job.claim, d, s_.cfg.settle, Clock::now(),
                               std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
    if (!settled) return problem(settled.error().message);
    const msg::Settlement& st = *settled;
    switch (st.outcome) {
    case msg::Outcome::sent: ++s_.totals.sent; break;
    case msg::Outcome::partial: ++s_.totals.partial; break;
    case msg::Outcome::deferred: ++s_.totals.deferred; break;
    case msg::Outcome::failed: ++s_.totals.failed; break;
    }
    if (s_.cfg.json) return s_.say(msg::attempt_json(name, st, d, s_.cfg.settle.server), true);
    if (s_.cfg.quiet || st.outcome == msg::Outcome::sent) return;
    const std::string next = st.next_attempt ? " (next attempt " + msg::format_rfc3339(*st.next_attempt) + ")" : "";
    for (const msg::RcptOutcome& o : d.rcpts)
        if (o.state != msg::RcptState::sent)
            s_.say("spoolsend: " + name + ": <" + o.address + "> " + std::string(msg::state_name(o.state)) + ": " +
                       msg::reason(o) + (o.state == msg::RcptState::deferred ? next : ""),
                   false);
}
