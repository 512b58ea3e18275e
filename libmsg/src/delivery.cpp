// delivery.cpp - outcomes, the retry policy, what is due, settling an entry
// and its reports (delivery.hpp).
#include "msg/delivery.hpp"

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cmath>
#include <limits>

#include "msg/charset.hpp"
#include "msg/datetime.hpp"
#include "msg/dsn.hpp"
#include "msg/header.hpp"
#include "msg/json.hpp"
#include "msg/source.hpp"

namespace msg {

std::string_view state_name(RcptState s) {
    switch (s) {
    case RcptState::sent: return "sent";
    case RcptState::failed: return "failed";
    case RcptState::deferred: return "deferred";
    }
    return "deferred";
}

std::string_view outcome_name(Outcome o) {
    switch (o) {
    case Outcome::sent: return "sent";
    case Outcome::partial: return "partial";
    case Outcome::deferred: return "deferred";
    case Outcome::failed: return "failed";
    }
    return "failed";
}

std::string reason(const RcptOutcome& o) {
    if (o.reply) {
        std::string s = std::to_string(o.reply->code);
        if (const std::string t = o.reply->text(); !t.empty()) s += ' ' + printable(t);
        return s;
    }
    return o.detail.empty() ? "no reason recorded" : printable(o.detail);
}

std::size_t Delivery::count(RcptState s) const {
    return static_cast<std::size_t>(
        std::count_if(rcpts.begin(), rcpts.end(), [s](const RcptOutcome& r) { return r.state == s; }));
}

// --- the retry policy ---------------------------------------------------------------

std::chrono::duration<double> RetryPolicy::delay(std::size_t attempts, double u) const {
    const std::size_t doublings = std::min<std::size_t>(attempts == 0 ? 0 : attempts - 1, 40);
    double d = static_cast<double>(base.count()) * std::ldexp(1.0, static_cast<int>(doublings));
    d = std::min(d, static_cast<double>(max.count()));
    d *= 1.0 - jitter + 2.0 * jitter * std::clamp(u, 0.0, 1.0);
    return std::chrono::duration<double>(d);
}

RetryInfo retry_info(const SpoolEntry& e, SpoolState state) {
    RetryInfo r = retry_info(e);
    if (state != SpoolState::sent && state != SpoolState::failed) return r;
    // Moved there by one attempt more than it records: the one settle()
    // numbered retry_info(e).attempts + 1, which it did not write in.
    ++r.attempts;
    r.settled = true;
    r.last.reset();
    r.last_what = {};
    r.next.reset();
    return r;
}

std::optional<SystemTime> waits_until(const RetryInfo& r, SpoolState state, SystemTime now) {
    if (state == SpoolState::deferred && r.next && *r.next > now) return r.next;
    return std::nullopt;
}

std::chrono::seconds entry_age(const SpoolEntry& e, SystemTime now) {
    // Counted in seconds: in the clock's nanoseconds the age of an Attempt:
    // at the clock's start (1677, where an older one is put) wraps.
    const auto secs = [](SystemTime t) { return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()); };
    return std::max(std::chrono::seconds(0), secs(now) - secs(entry_born(e, now)));
}

bool past_max_age(const SpoolEntry& e, SystemTime now, const RetryPolicy& policy) {
    return entry_age(e, now) >= policy.max_age;
}

SystemTime entry_born(const SpoolEntry& e, SystemTime now) {
    if (const RetryInfo r = retry_info(e); r.first) return *r.first;
    return now;
}

std::string human_duration(std::chrono::seconds s) {
    const long long v = s.count();
    // An entry named in the future (a clock set back): its age said as such.
    if (v < 0) return "-" + human_duration(std::chrono::seconds(v == LLONG_MIN ? LLONG_MAX : -v));
    auto two = [](long long big, const char* a, long long small, const char* b) {
        return std::to_string(big) + a + (small ? std::to_string(small) + b : "");
    };
    if (v >= 86400) return two(v / 86400, "d", v % 86400 / 3600, "h");
    if (v >= 3600) return two(v / 3600, "h", v % 3600 / 60, "m");
    if (v >= 60) return two(v / 60, "m", v % 60, "s");
    return std::to_string(v) + "s";
}

// --- what is due ------------------------------------------------------------------------

std::string unsendable(const SpoolEntry& e) {
    if (!e.defects.empty()) {
        // Placed as msgcheck places it (the same parse, the same line and
        // byte column), so that the report leads to the line to mend.
        const Defect& d = e.defects.front();
        const LineCol at = LineIndex(e.data).locate(d.offset);
        std::string why = "malformed spool entry: line " + std::to_string(at.line) + ", column " +
                          std::to_string(at.column) + ": " + std::string(d.info().text);
        if (!d.detail.empty()) why += " (" + printable(d.detail) + ")";
        return why;
    }
    if (!e.has_separator) return "malformed spool entry: no empty line after the envelope";
    if (!e.mail()) return "malformed spool entry: no MAIL FROM line";
    if (e.recipients().empty()) return "malformed spool entry: no RCPT TO line";
    return {};
}

DueScan::DueScan(const Spool& spool, SystemTime now, std::size_t batch)
    : spool_(spool), now_(now), batch_size_(batch), walk_(spool, {SpoolState::deferred}, batch) {}

std::optional<std::string> DueScan::next() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (true) {
        if (at_ < batch_.size()) return std::move(batch_[at_++]);
        if (phase_ > 1 || error_) return std::nullopt;
        refill();
    }
}

void DueScan::refill() {
    batch_.clear();
    at_ = 0;
    while (batch_.size() < batch_size_) {
        auto item = walk_.next();
        if (!item) {
            if (walk_.error()) {
                error_ = walk_.error();
                return;
            }
            if (++phase_ == 1) walk_ = SpoolWalk(spool_, {SpoolState::queue}, batch_size_);
            return;
        }
        if (phase_ == 0) {
            auto data = spool_.read(SpoolState::deferred, item->name);
            if (!data && data.error().errnum == ENOENT) continue;   // moved on meanwhile
            // One that cannot be read is handed out all the same: its claim
            // fails and says why, as a queued one's does.
            if (data && waits_until(retry_info(parse_spool_entry(*data)), SpoolState::deferred, now_)) continue;
        }
        batch_.push_back(std::move(item->name));
    }
}

std::optional<Error> DueScan::error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

// --- the reports --------------------------------------------------------------------------

namespace {

void reply_fields(Json& j, const RcptOutcome& o) {
    j.key("reply");
    if (o.reply) j.value(reason(o));
    else j.null();
    j.key("code");
    if (o.reply) j.value(o.reply->code);
    else j.null();
    j.key("enhanced");
    if (o.reply && o.reply->enhanced) j.value(o.reply->enhanced->str());
    else j.null();
    if (!o.detail.empty()) j.key("detail").value(o.detail);
}

}  // namespace

std::string failure_report(std::string_view name, const Envelope& env, std::size_t attempts, const Delivery& d,
                           std::string_view server, std::string_view failed_from) {
    std::string r = "Entry: " + std::string(name) + "\n";
    if (!failed_from.empty()) r += "Failed-From: " + std::string(failed_from) + "\n";
    r += "Server: " + std::string(server) + "\nSender: <" + env.mail_from + ">\nAttempts: " + std::to_string(attempts) +
         "\nFailed recipients:\n";
    for (const RcptOutcome& o : d.rcpts)
        if (o.state == RcptState::failed) r += "  <" + o.address + ">: " + reason(o) + "\n";
    return r;
}

std::string failure_json(std::string_view name, const Envelope& env, std::size_t attempts, const Delivery& d,
                         std::string_view server, std::string_view failed_from) {
    Json j;
    j.begin_object().key("entry").value(name);
    if (!failed_from.empty()) j.key("failed_from").value(failed_from);
    j.key("server").value(server).key("sender").value(env.mail_from)
        .key("attempts").value(static_cast<std::uint64_t>(attempts)).key("recipients").begin_array();
    for (const RcptOutcome& o : d.rcpts) {
        if (o.state != RcptState::failed) continue;
        j.begin_object().key("address").value(o.address);
        reply_fields(j, o);
        j.end_object();
    }
    j.end_array().end_object();
    return j.str();
}

std::string attempt_json(std::string_view name, const Settlement& s, const Delivery& d, std::string_view server) {
    Json j;
    j.begin_object().key("entry").value(name).key("attempt").value(static_cast<std::uint64_t>(s.attempt))
        .key("server").value(server).key("outcome").value(outcome_name(s.outcome)).key("recipients").begin_array();
    for (const RcptOutcome& o : d.rcpts) {
        j.begin_object().key("address").value(o.address).key("state").value(state_name(o.state));
        reply_fields(j, o);
        j.end_object();
    }
    j.end_array();
    if (s.next_attempt) j.key("next_attempt").value(format_rfc3339(*s.next_attempt));
    if (!s.failed_entry.empty()) j.key("failed_entry").value(s.failed_entry);
    if (d.unanswered_dot) j.key("may_be_delivered").value(true);
    if (!d.notes.empty()) {
        j.key("notes").begin_array();
        for (const std::string& n : d.notes) j.value(n);
        j.end_array();
    }
    j.end_object();
    return j.str();
}

// --- settling ------------------------------------------------------------------------------

Status settle_unsendable(Claim& claim, std::string_view why, const SettleOptions& o) {
    // Made for the name the entry has in failed/ (shortened, if too long).
    return claim.fail([&](const std::string& name) {
        Json j;
        j.begin_object().key("entry").value(name).key("error").value(why).end_object();
        return FailureReports{"Entry: " + name + "\nServer: " + o.server + "\nFailed: " + std::string(why) + "\n",
                              j.str(), {}};
    });
}

Result<Settlement> settle(Claim& claim, Delivery& d, const SettleOptions& o, SystemTime now, double u) {
    const SpoolEntry& entry = claim.entry();
    const RetryInfo retry = retry_info(entry);
    Settlement s;
    s.server = o.server;
    // This attempt is written into the entry only if it defers it; one that
    // settles it is counted by retry_info(entry, state), with this number.
    s.attempt = retry.attempts + 1;

    // Recipients deferred for longer than max_age fail.
    if (past_max_age(entry, now, o.retry)) {
        const std::string over = human_duration(entry_age(entry, now));
        for (RcptOutcome& r : d.rcpts)
            if (r.state == RcptState::deferred) {
                r.state = RcptState::failed;
                r.status = "5.4.7";   // delivery time expired (RFC 3463)
                r.detail = "gave up after " + std::to_string(s.attempt) + " attempts over " + over + "; last: " +
                           reason(r);
                r.reply.reset();
            }
    }

    std::vector<std::string> failed, deferred;
    for (const RcptOutcome& r : d.rcpts) {
        if (r.state == RcptState::failed) failed.push_back(r.address);
        if (r.state == RcptState::deferred) deferred.push_back(r.address);
    }
    if (!failed.empty()) {
        const Envelope env = envelope_of(entry);
        std::string dsn;
        if (o.dsn && !env.mail_from.empty()) {
            DsnInfo info;
            info.reporting_mta = o.reporting_mta;
            info.sender = env.mail_from;
            info.envid = xtext_decode(env.param("ENVID"));   // RFC 3461 6.3: decoded, as ORCPT
            info.arrival = entry_time(claim.name()).value_or(now);
            info.original = entry.message;
            info.full = iequals(env.param("RET"), "FULL");
            // Only the recipients whose NOTIFY asks for failures (RFC 3461 4.1).
            for (const RcptOutcome& r : d.rcpts) {
                if (r.state != RcptState::failed) continue;
                const auto e = std::find_if(env.rcpts.begin(), env.rcpts.end(),
                                            [&](const Envelope::Rcpt& x) { return x.address == r.address; });
                if (e != env.rcpts.end() && !e->notify("FAILURE")) continue;
                const std::string_view orcpt = e != env.rcpts.end() ? e->param("ORCPT") : std::string_view{};
                DsnRecipient x;
                x.address = r.address;
                x.status = r.reply ? r.reply->status().str() : !r.status.empty() ? r.status : "5.0.0";
                (r.reply ? x.diagnostic : x.detail) = reason(r);
                x.remote_mta = r.reply ? o.remote_mta : "";
                x.original = xtext_decode(orcpt);
                info.recipients.push_back(std::move(x));
            }
            if (!info.recipients.empty()) dsn = make_dsn(info, now);
        }
        // The reports name the failed entry they are beside, as spoolctl
        // list names it: this one (its name shortened, if too long), or the
        // new entry of a partial failure, whose Failed-From: names this one.
        const bool all_failed = failed.size() == d.rcpts.size();
        const std::string was = claim.name();
        const auto reports = [&](const std::string& name) {
            const std::string_view from = all_failed ? std::string_view() : std::string_view(was);
            return FailureReports{failure_report(name, env, s.attempt, d, o.server, from),
                                  failure_json(name, env, s.attempt, d, o.server, from), dsn};
        };
        if (all_failed) {
            if (Status st = claim.fail(reports); !st) return st.error();
            if (claim.name() != was) s.failed_entry = claim.name();
            s.outcome = Outcome::failed;
            return s;
        }
        auto name = claim.fail_some(failed, reports);
        if (!name) return name.error();
        s.failed_entry = std::move(*name);
        s.outcome = Outcome::partial;
    }
    if (!deferred.empty()) {
        // A delay past the clock's end (a --retry-max of centuries) would
        // wrap to a time long past, due at once on every pass: the end of
        // the clock instead.
        const double room =
            std::chrono::duration<double>(SystemTime::max() - std::max(now, SystemTime{})).count() - 1.0;
        const double delay = std::min(o.retry.delay(s.attempt, u).count(), room);
        const SystemTime when = now + std::chrono::duration_cast<SystemTime::duration>(std::chrono::duration<double>(delay));
        std::string what;
        for (const RcptOutcome& r : d.rcpts)
            if (r.state == RcptState::deferred) {
                what = reason(r);
                break;
            }
        // Said once: the reason may say it already (the session's own words).
        if (d.unanswered_dot && what.find("may have been delivered") == std::string::npos)
            what += " (the message may have been delivered)";
        if (Status st = claim.defer(deferred, RetryRecord{now, what}, when); !st) return st.error();
        s.next_attempt = when;
        if (s.outcome == Outcome::sent) s.outcome = d.count(RcptState::sent) ? Outcome::partial : Outcome::deferred;
        return s;
    }
    if (Status st = claim.complete(o.durable); !st) return st.error();
    return s;
}

std::string entry_json(std::string_view name, SpoolState state, const SpoolEntry& e, SystemTime now) {
    const Envelope env = envelope_of(e);
    const RetryInfo r = retry_info(e, state);
    Json j;
    j.begin_object().key("entry").value(name).key("state").value(state_dir(state))
        .key("sender").value(env.mail_from).key("recipients").begin_array();
    for (const auto& rc : env.rcpts) j.value(rc.address);
    j.end_array().key("size").value(static_cast<std::uint64_t>(e.message.size()))
        .key("enqueued").value(format_rfc3339(entry_time(name).value_or(now)))
        .key("attempts").value(static_cast<std::uint64_t>(r.attempts)).key("last_attempt");
    if (r.last) j.value(format_rfc3339(*r.last));
    else j.null();
    j.key("last_reply");
    if (r.attempts && !r.settled) j.value(printable(r.last_what));
    else j.null();
    j.key("next_attempt");
    if (const auto next = waits_until(r, state, now)) j.value(format_rfc3339(*next));
    else j.null();
    if (const std::string why = unsendable(e); !why.empty()) j.key("problem").value(why);
    j.end_object();
    return j.str();
}

std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::size_t i = 0;
    long long total = 0;
    while (i < s.size()) {
        long long v = 0;
        const std::size_t start = i;
        constexpr long long kMax = std::numeric_limits<long long>::max();
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (v > (kMax - (s[i] - '0')) / 10) return std::nullopt;   // would overflow
            v = v * 10 + (s[i++] - '0');
        }
        if (i == start) return std::nullopt;
        long long unit = 1;
        if (i < s.size()) {
            switch (s[i]) {
            case 's': unit = 1; break;
            case 'm': unit = 60; break;
            case 'h': unit = 3600; break;
            case 'd': unit = 86400; break;
            case 'w': unit = 7 * 86400; break;
            default: return std::nullopt;
            }
            ++i;
        }
        if (v > (kMax - total) / unit) return std::nullopt;
        total += v * unit;
    }
    return std::chrono::seconds(total);
}

std::string plan_json(std::string_view name, SpoolState state, const SpoolEntry& e) {
    const Envelope env = envelope_of(e);
    const Needs n = needs(env, e.message);
    Json j;
    j.begin_object().key("entry").value(name).key("state").value(state_dir(state)).key("from").value(env.mail_from)
        .key("size").value(static_cast<std::uint64_t>(e.message.size())).key("8bit").value(n.eightbitmime)
        .key("smtputf8").value(n.smtputf8).key("recipients").begin_array();
    for (const auto& r : env.rcpts) j.value(r.address);
    j.end_array().key("valid").value(unsendable(e).empty()).end_object();
    return j.str();
}

}  // namespace msg
