// deliver.cpp - claim, send, and the state an entry moves to.
#include "deliver.hpp"

#include <cstdio>
#include <ctime>
#include <iostream>
#include <random>
#include <thread>

#include <unistd.h>

#include "common/files.hpp"
#include "common/json.hpp"
#include "msg/dsn.hpp"

namespace smtp = msg::smtp;
using Clock = std::chrono::system_clock;

namespace {

std::string one_line(const smtp::Reply& r) {
    std::string s = std::to_string(r.code);
    const std::string t = r.text();
    if (!t.empty()) s += ' ' + t;
    return s;
}

std::string why(const smtp::RcptOutcome& o) {
    if (o.reply) return one_line(*o.reply);
    return o.detail.empty() ? "no reason recorded" : o.detail;
}

std::string iso(Clock::time_point t) {
    const std::time_t s = Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string human_duration(std::chrono::seconds s) {
    const long long v = s.count();
    if (v >= 86400) return std::to_string(v / 86400) + "d" + (v % 86400 ? std::to_string(v % 86400 / 3600) + "h" : "");
    if (v >= 3600) return std::to_string(v / 3600) + "h" + (v % 3600 ? std::to_string(v % 3600 / 60) + "m" : "");
    if (v >= 60) return std::to_string(v / 60) + "m" + (v % 60 ? std::to_string(v % 60) + "s" : "");
    return std::to_string(v) + "s";
}

void reply_fields(msgtools::Json& j, const smtp::RcptOutcome& o) {
    j.key("reply");
    if (o.reply) j.value(one_line(*o.reply));
    else j.null();
    j.key("code");
    if (o.reply) j.value(o.reply->code);
    else j.null();
    j.key("enhanced");
    if (o.reply && o.reply->enhanced) j.value(o.reply->enhanced->str());
    else j.null();
    if (!o.detail.empty()) j.key("detail").value(o.detail);
}

std::string_view state_name(smtp::RcptState s) {
    switch (s) {
    case smtp::RcptState::sent: return "sent";
    case smtp::RcptState::failed: return "failed";
    case smtp::RcptState::deferred: return "deferred";
    }
    return "deferred";
}

thread_local std::mt19937_64 t_rng{std::random_device{}()};

}  // namespace

void RateLimiter::wait() {
    if (rate_ <= 0) return;
    std::chrono::steady_clock::time_point slot;
    {
        std::lock_guard<std::mutex> lock(m_);
        const auto now = std::chrono::steady_clock::now();
        if (next_ < now) next_ = now;
        slot = next_;
        next_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(1.0 / rate_));
    }
    std::this_thread::sleep_until(slot);
}

std::optional<std::string> DueFeed::next() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (true) {
        if (at_ < batch_.size()) return std::move(batch_[at_++]);
        if (phase_ > 1 || !error_.empty()) return std::nullopt;
        refill();
    }
}

// Deferred entries first (they are older, and an entry deferred by this
// pass lands in deferred/ only after that listing is done, so it is not
// tried twice in one pass), then the queue; each in name order, in
// batches of at most kBatch names.
void DueFeed::refill() {
    batch_.clear();
    at_ = 0;
    const msg::SpoolState st = phase_ == 0 ? msg::SpoolState::deferred : msg::SpoolState::queue;
    auto names = spool_.list(st, after_, kBatch);
    if (!names) {
        error_ = names.error().message;
        return;
    }
    if (names->empty()) {
        ++phase_;
        after_.clear();
        return;
    }
    after_ = names->back();
    if (st == msg::SpoolState::queue) {
        batch_ = std::move(*names);
        return;
    }
    for (std::string& name : *names) {
        auto data = spool_.read(st, name);
        if (!data) continue;   // moved on meanwhile
        const msg::RetryInfo r = msg::retry_info(msg::parse_spool_entry(*data));
        if (!r.next || *r.next <= now_) batch_.push_back(std::move(name));
    }
}

std::string DueFeed::error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

struct Worker::Job {
    std::string name;
    std::optional<msg::Claim> claim;
    msg::SpoolEntry entry;     // spans into claim->data()
    msg::Envelope env;
    msg::RetryInfo retry;
    std::size_t attempt = 1;
    smtp::Outgoing out;
    smtp::Session::Prepared prepared;
    std::uint64_t prepared_for = 0;   // the session prepared for (its capabilities)
};

Worker::Worker(msg::Spool& spool, const SendConfig& cfg, Totals& totals, RateLimiter& limiter, std::mutex& out_mutex,
               DueFeed& feed)
    : spool_(spool), cfg_(cfg), totals_(totals), limiter_(limiter), out_(out_mutex), feed_(feed) {}

Worker::~Worker() { close(); }

void Worker::close() {
    if (session_) {
        session_->quit();
        session_.reset();
    }
    if (!transcript_.empty() && !cfg_.transcript_dir.empty()) {
        char name[96];
        static std::atomic<unsigned> seq{0};
        std::snprintf(name, sizeof name, "%s.%ld.%u.txt", iso(Clock::now()).c_str(), static_cast<long>(getpid()),
                      seq.fetch_add(1));
        if (auto s = msgtools::write_new_file(cfg_.transcript_dir, name, transcript_); !s) {
            std::lock_guard<std::mutex> lock(out_);
            std::cerr << "spoolsend: " << s.error().message << "\n";
        }
    }
    transcript_.clear();
}

bool Worker::ensure_session() {
    if (session_ && session_->usable() && on_session_ < cfg_.max_per_connection) return true;
    close();
    smtp::WireObserver obs;
    if (!cfg_.transcript_dir.empty()) {
        session_start_ = std::chrono::steady_clock::now();
        transcript_ = "# msgtools transcript 1\n";
        transcript_ += "= 0.000000 connect " + cfg_.server.str() + " " + iso(Clock::now()) + "\n";
        obs = [this](smtp::Wire w, std::string_view text) {
            const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - session_start_).count();
            char stamp[32];
            std::snprintf(stamp, sizeof stamp, " %.6f ", t);
            transcript_ += w == smtp::Wire::sent ? 'C' : w == smtp::Wire::received ? 'S' : '=';
            transcript_ += stamp;
            transcript_.append(text);
            transcript_ += '\n';
        };
    }
    smtp::SessionError err;
    auto s = smtp::Session::open(cfg_.server, cfg_.session, obs, &err);
    on_session_ = 0;
    if (!s) {
        open_error_ = err;
        ++totals_.connect_failures;
        if (!transcript_.empty()) transcript_ += "= - error " + err.message + "\n";
        return false;
    }
    open_error_.reset();
    totals_.reached = true;
    ++totals_.sessions;
    session_.emplace(std::move(*s));
    return true;
}

void Worker::report(const std::string& name, std::size_t attempt, const smtp::Delivery& d, std::string_view outcome,
                    const std::string& next) {
    std::lock_guard<std::mutex> lock(out_);
    if (cfg_.json) {
        msgtools::Json j;
        j.begin_object().key("entry").value(name).key("attempt").value(static_cast<std::uint64_t>(attempt))
            .key("server").value(cfg_.server.str()).key("outcome").value(outcome).key("recipients").begin_array();
        for (const smtp::RcptOutcome& o : d.rcpts) {
            j.begin_object().key("address").value(o.address).key("state").value(state_name(o.state));
            reply_fields(j, o);
            j.end_object();
        }
        j.end_array();
        if (!next.empty()) j.key("next_attempt").value(next);
        if (d.unanswered_dot) j.key("may_be_delivered").value(true);
        if (!d.notes.empty()) {
            j.key("notes").begin_array();
            for (const std::string& n : d.notes) j.value(n);
            j.end_array();
        }
        j.end_object();
        std::cout << j.str() << '\n';
        return;
    }
    if (cfg_.quiet || outcome == "sent") return;
    for (const smtp::RcptOutcome& o : d.rcpts) {
        if (o.state == smtp::RcptState::sent) continue;
        std::cerr << "spoolsend: " << name << ": <" << o.address << "> " << state_name(o.state) << ": " << why(o);
        if (o.state == smtp::RcptState::deferred && !next.empty()) std::cerr << " (next attempt " << next << ")";
        std::cerr << '\n';
    }
}


// Claim and read an entry. A malformed one fails here, with a report;
// one another sender holds is skipped. nullptr in both cases.
std::unique_ptr<Worker::Job> Worker::take(const std::string& name) {
    auto claimed = spool_.claim(name);
    if (!claimed) {
        ++totals_.errors;
        std::lock_guard<std::mutex> lock(out_);
        std::cerr << "spoolsend: " << claimed.error().message << "\n";
        return nullptr;
    }
    if (!*claimed) {
        ++totals_.skipped;   // another sender has it, or it has moved on
        return nullptr;
    }
    auto job = std::make_unique<Job>();
    job->name = name;
    job->claim.emplace(std::move(**claimed));
    msg::Claim& claim = *job->claim;
    job->entry = msg::parse_spool_entry(claim.data());
    const msg::SpoolEntry& entry = job->entry;
    job->env = msg::envelope_of(entry);
    job->retry = msg::retry_info(entry);
    const std::size_t attempt = job->attempt = job->retry.attempts + 1;

    auto fail_entry = [&](const std::string& text) {
        std::string rep = "Entry: " + name + "\nServer: " + cfg_.server.str() + "\nFailed: " + text + "\n";
        msgtools::Json j;
        j.begin_object().key("entry").value(name).key("error").value(text).end_object();
        if (auto s = claim.fail(rep, j.str()); !s) {
            ++totals_.errors;
            std::lock_guard<std::mutex> lock(out_);
            std::cerr << "spoolsend: " << s.error().message << "\n";
            return;
        }
        ++totals_.failed;
        std::lock_guard<std::mutex> lock(out_);
        if (cfg_.json) {
            msgtools::Json e;
            e.begin_object().key("entry").value(name).key("attempt").value(static_cast<std::uint64_t>(attempt))
                .key("outcome").value("failed").key("error").value(text).end_object();
            std::cout << e.str() << '\n';
        } else if (!cfg_.quiet) {
            std::cerr << "spoolsend: " << name << ": failed: " << text << "\n";
        }
    };
    if (!entry.has_separator || !entry.mail() || entry.recipients().empty() || !entry.defects.empty()) {
        std::string text = "malformed spool entry";
        if (!entry.defects.empty()) text += ": " + std::string(entry.defects.front().info().text);
        else if (!entry.has_separator) text += ": no empty line after the envelope";
        else if (!entry.mail()) text += ": no MAIL FROM line";
        else text += ": no RCPT TO line";
        fail_entry(text);
        return nullptr;
    }

    smtp::Outgoing& out = job->out;
    out.mail_from = job->env.mail_from;
    out.mail_params = job->env.mail_params;
    for (const auto& r : job->env.rcpts) out.rcpts.push_back({r.address, r.params});
    out.message = entry.message;
    return job;
}

std::unique_ptr<Worker::Job> Worker::next_job() {
    while (const auto name = feed_.next()) {
        if (auto job = take(*name)) return job;
        ++done_;
    }
    return nullptr;
}

bool Worker::run(const std::atomic<bool>& stop, std::atomic<std::uint64_t>& done) {
    done_ = 0;
    auto count = [&] {
        done += done_;
        done_ = 0;
    };
    while (!stop) {
        std::unique_ptr<Job> job = std::move(prefetched_);
        if (!job) job = next_job();
        count();
        if (!job) return true;
        if (!ensure_session()) {
            // No session (no connection, or the server refused it: a 421
            // or 554 greeting, a failed STARTTLS or AUTH): nothing about
            // this entry, which stays as it is (its claim ends here); this
            // worker stops rather than knock again for every entry.
            return false;
        }
        if (job->prepared_for != session_->id()) {
            job->prepared = session_->prepare(job->out);
            job->prepared_for = session_->id();
        }
        if (job->prepared.sent_on != session_->id()) limiter_.wait();
        // The next entry, claimed while this one is under way, when the
        // session will carry it and no rate limit spaces messages out.
        std::function<smtp::Session::Prepared*()> ahead;
        if (cfg_.rate <= 0 && on_session_ + 1 < cfg_.max_per_connection)
            ahead = [&]() -> smtp::Session::Prepared* {
                if (stop) return nullptr;
                prefetched_ = next_job();
                if (!prefetched_) return nullptr;
                prefetched_->prepared = session_->prepare(prefetched_->out);
                prefetched_->prepared_for = session_->id();
                return &prefetched_->prepared;
            };
        smtp::Delivery d = session_->transact(job->prepared, ahead);
        ++on_session_;
        if (d.connection_lost) close();
        finish(*job, d);
        ++done_;
        count();
    }
    return true;
}

void Worker::finish(Job& job, smtp::Delivery& d) {
    const std::string& name = job.name;
    msg::Claim& claim = *job.claim;
    const msg::SpoolEntry& entry = job.entry;
    const msg::Envelope& env = job.env;
    const msg::RetryInfo& retry = job.retry;
    const std::size_t attempt = job.attempt;
    const auto now = Clock::now();

    // Give up on recipients deferred for longer than --max-age.
    const auto born = retry.first ? *retry.first : msg::entry_time(name).value_or(now);
    const bool too_old = now - born >= cfg_.max_age;
    if (too_old)
        for (smtp::RcptOutcome& o : d.rcpts)
            if (o.state == smtp::RcptState::deferred) {
                o.state = smtp::RcptState::failed;
                o.detail = "gave up after " + std::to_string(attempt) + " attempts over " +
                           human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - born)) +
                           "; last: " + why(o);
                o.reply.reset();
            }

    std::vector<std::string> failed, deferred;
    for (const smtp::RcptOutcome& o : d.rcpts) {
        if (o.state == smtp::RcptState::failed) failed.push_back(o.address);
        if (o.state == smtp::RcptState::deferred) deferred.push_back(o.address);
    }
    totals_.bytes += entry.message.size();

    std::string next;
    std::string_view outcome = "sent";
    if (!failed.empty()) {
        std::string rep = "Entry: " + name + "\nServer: " + cfg_.server.str() + "\nSender: <" + env.mail_from +
                          ">\nAttempts: " + std::to_string(attempt) + "\nFailed recipients:\n";
        msgtools::Json j;
        j.begin_object().key("entry").value(name).key("server").value(cfg_.server.str()).key("sender")
            .value(env.mail_from).key("attempts").value(static_cast<std::uint64_t>(attempt)).key("recipients")
            .begin_array();
        msg::DsnInfo dsn;
        dsn.reporting_mta = cfg_.reporting_host;
        dsn.sender = env.mail_from;
        dsn.arrival = msg::entry_time(name).value_or(now);
        dsn.original = entry.message;
        for (const smtp::RcptOutcome& o : d.rcpts) {
            if (o.state != smtp::RcptState::failed) continue;
            rep += "  <" + o.address + ">: " + why(o) + "\n";
            j.begin_object().key("address").value(o.address);
            reply_fields(j, o);
            j.end_object();
            dsn.recipients.push_back(msg::DsnRecipient{o.address, "failed", "", why(o), o.reply ? cfg_.server.host : ""});
        }
        j.end_array().end_object();
        const std::string dsn_text = cfg_.dsn && !env.mail_from.empty() ? msg::make_dsn(dsn, now) : std::string();
        const bool all = failed.size() == d.rcpts.size();
        msg::Status st = all ? claim.fail(rep, j.str(), dsn_text)
                             : [&]() -> msg::Status {
                                   auto r = claim.fail_some(failed, rep, j.str(), dsn_text);
                                   if (!r) return r.error();
                                   return msg::Ok{};
                               }();
        if (!st) {
            ++totals_.errors;
            std::lock_guard<std::mutex> lock(out_);
            std::cerr << "spoolsend: " << st.error().message << "\n";
            return;
        }
        outcome = all ? "failed" : "partial";
        if (all) {
            ++totals_.failed;
            report(name, attempt, d, outcome, next);
            return;
        }
    }
    if (!deferred.empty()) {
        double delay = static_cast<double>(cfg_.retry_base.count()) * static_cast<double>(1ULL << std::min<std::size_t>(attempt - 1, 20));
        delay = std::min(delay, static_cast<double>(cfg_.retry_max.count()));
        std::uniform_real_distribution<double> jitter(0.9, 1.1);
        delay *= jitter(t_rng);
        const auto when = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay));
        std::string what;
        for (const smtp::RcptOutcome& o : d.rcpts)
            if (o.state == smtp::RcptState::deferred) {
                what = why(o);
                break;
            }
        if (d.unanswered_dot) what += " (the message may have been delivered)";
        if (auto s = claim.defer(deferred, msg::RetryRecord{now, what}, when); !s) {
            ++totals_.errors;
            std::lock_guard<std::mutex> lock(out_);
            std::cerr << "spoolsend: " << s.error().message << "\n";
            return;
        }
        next = iso(when);
        if (outcome == "sent") outcome = "deferred";
        else outcome = "partial";
        if (outcome == "deferred") ++totals_.deferred;
        else ++totals_.partial;
        report(name, attempt, d, outcome, next);
        return;
    }
    if (auto s = claim.complete(false); !s) {   // Spool::sync() after the pass bounds the window
        ++totals_.errors;
        std::lock_guard<std::mutex> lock(out_);
        std::cerr << "spoolsend: " << s.error().message << "\n";
        return;
    }
    if (outcome == "partial") ++totals_.partial;
    else ++totals_.sent;
    report(name, attempt, d, outcome, next);
}
