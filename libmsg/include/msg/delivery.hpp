// delivery.hpp - what becomes of a spool entry once a delivery was
// attempted: the recipients' outcomes, the retry policy, the entry's next
// state, and the reports a failure leaves (text, JSON and RFC 3464 DSN).
//
// A sender (spoolsend, or any program embedding libmsg) walks what is due
// with DueScan, claims each entry (Spool::claim), sends it (msg::Sender's
// sessions, smtp::ClientSession, give a Delivery), and hands the Delivery to settle(), which decides and
// moves the entry:
//
//   every recipient sent          -> sent/
//   some failed (5xx)             -> a new entry of the failed ones in failed/,
//                                    with NAME.report, NAME.json (and NAME.dsn)
//   all failed                    -> failed/, with the same reports
//   some deferred (4xx, no reply) -> deferred/ with only those recipients, an
//                                    Attempt: line and Next-Attempt: after the
//                                    retry delay
//   deferred past max_age         -> failed, "gave up after N attempts over D"
//
// The JSON formats (failed/NAME.json, the attempt events of spoolsend
// --json) are specified in docs/json.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/envelope.hpp"
#include "msg/result.hpp"
#include "msg/smtp/reply.hpp"
#include "msg/spool.hpp"

namespace msg {

using SystemTime = std::chrono::system_clock::time_point;

// --- a delivery attempt's outcome --------------------------------------------------

enum class RcptState : std::uint8_t { sent, failed, deferred };
std::string_view state_name(RcptState s);   // "sent", "failed", "deferred"

struct RcptOutcome {
    std::string address;
    RcptState state = RcptState::deferred;
    std::optional<smtp::Reply> reply;   // the reply that decided it (RCPT's, or DATA's)
    std::string detail;                 // a local reason when there is no reply (or why it was overridden)
    std::string status;                 // the enhanced status (RFC 3463) of a local decision ("5.3.4"), when known
};

// The server's reply on one line ("550 5.1.1 no such user"), else the
// detail, else "no reason recorded"; control characters escaped
// (printable()), so that it can go to a terminal, a report or an entry.
std::string reason(const RcptOutcome& o);

struct Delivery {
    std::vector<RcptOutcome> rcpts;     // in the order of the envelope's recipients
    bool connection_lost = false;       // the session cannot be used again
    bool refused_at_mail = false;       // MAIL FROM was refused: its reply is every recipient's
    bool unanswered_dot = false;        // the final "." was sent and no reply came: may have been delivered
    bool interrupted = false;           // given up on a stop request: what has no reply is unknown, and
                                        // unless unanswered_dot the entry is left as it was (as after SIGKILL)
    std::vector<std::string> notes;     // conversions made (7-bit downgrade, A-labels), for logs
    std::size_t count(RcptState s) const;
};

// --- the retry policy ---------------------------------------------------------------

struct RetryPolicy {
    std::chrono::seconds base{300};           // the first retry delay; doubled each attempt
    std::chrono::seconds max{4000};           // the longest delay
    std::chrono::seconds max_age{5 * 24 * 3600};  // deferred recipients fail after this long
    double jitter = 0.1;                      // delays vary by +-10%, so retries spread out

    // The delay after `attempts` attempts (1 for the first), for a random
    // draw `u` in [0, 1): base * 2^(attempts-1), at most max, times
    // 1 - jitter + 2 * jitter * u.
    std::chrono::duration<double> delay(std::size_t attempts, double u) const;
};

// Every delivery attempt of an entry in `state`, as the spool shows them
// (spoolctl list, entry_json()). The attempt that settles an entry, moving
// it to sent/ or failed/, is not written into it (docs/spool-format.md,
// "Counting attempts"): for such an entry `attempts` is its Attempt: lines
// plus that one, the number settle() gave the attempt (failed/NAME.json's
// "attempts", spoolsend --json's "attempt"), `settled` is true, and `last`,
// `last_what` and `next` are empty: what the entry records is no longer its
// last attempt, and it is not tried again. In the other states, retry_info(e).
RetryInfo retry_info(const SpoolEntry& e, SpoolState state);

// Until when an entry in `state` waits for its retry: a deferred entry's
// Next-Attempt: while it is still ahead of `now`. None for one due now, nor
// in another state: a held or released entry keeps its Next-Attempt: line,
// which no sender reads (a released one is due at once). What senders skip
// and what spoolctl list shows as "next".
std::optional<SystemTime> waits_until(const RetryInfo& r, SpoolState state, SystemTime now);

// When an entry was first tried (its earliest Attempt:), else `now` (this is
// its first attempt): what max_age counts from. Not when it was enqueued:
// an entry held for a week, or enqueued long before any sender ran, would
// fail at the first greylisting reply of its first attempt.
SystemTime entry_born(const SpoolEntry& e, SystemTime now);

// How long ago an entry was first tried (entry_born), in whole seconds:
// never negative, and with no overflow whatever its Attempt: lines say.
std::chrono::seconds entry_age(const SpoolEntry& e, SystemTime now);
// Whether its deferred recipients fail at the next temporary failure: the
// entry was first tried at least policy.max_age ago.
bool past_max_age(const SpoolEntry& e, SystemTime now, const RetryPolicy& policy);

// "3d4h", "2h30m", "45s": a duration as people read it.
std::string human_duration(std::chrono::seconds s);
// A duration as people write it, the inverse of human_duration: "90s",
// "5m", "1h30m", "5d", "2w" (a bare number is seconds); nothing when
// malformed. Every tool's times are read by it.
std::optional<std::chrono::seconds> parse_duration(std::string_view s);

// --- what is due ------------------------------------------------------------------------

// Why an entry cannot be sent as it is ("" when it can): an envelope
// syntax error, no empty line after the envelope, no MAIL FROM, no RCPT TO,
// placed in the entry as msgcheck places it ("malformed spool entry: line 2,
// column 25: reverse-path or forward-path syntax error ('>' expected after
// the domain)").
std::string unsendable(const SpoolEntry& e);

// The names a pass over the spool sends: deferred entries whose next
// attempt is due at `now` (they are older; an entry deferred during this
// pass lands in deferred/ after that listing is done, so it is not tried
// twice), then every queued entry; each state in name (enqueue) order,
// walked with SpoolWalk so that memory does not grow with the spool. Held
// entries are never due. Thread-safe: workers share one scan.
class DueScan {
public:
    DueScan(const Spool& spool, SystemTime now, std::size_t batch = 8192);
    std::optional<std::string> next();   // nothing when done, or after an error
    std::optional<Error> error() const;

private:
    void refill();
    const Spool& spool_;
    const SystemTime now_;
    const std::size_t batch_size_;
    mutable std::mutex mutex_;
    SpoolWalk walk_;
    std::vector<std::string> batch_;
    std::size_t at_ = 0;
    int phase_ = 0;   // 0 deferred, 1 queue, 2 done
    std::optional<Error> error_;
};

// --- settling a claimed entry -----------------------------------------------------------

enum class Outcome : std::uint8_t { sent, partial, deferred, failed };
std::string_view outcome_name(Outcome o);   // "sent", "partial", "deferred", "failed"

struct SettleOptions {
    RetryPolicy retry;
    std::string server;           // "host:port" the attempt went to, for reports
    std::string remote_mta;       // its host name, for DSNs ("" when none was reached)
    std::string reporting_mta;    // this host's name, for DSNs
    bool dsn = false;             // write failed/NAME.dsn for a sender that is not <>
    bool durable = false;         // fsync the directories on the move to sent/ (else Spool::sync() later)
};

struct Settlement {
    Outcome outcome = Outcome::sent;
    std::size_t attempt = 1;              // this attempt's number (1 for the first)
    std::optional<SystemTime> next_attempt;  // when deferred recipients are tried again
    std::string failed_entry;             // the entry of the failed recipients in failed/, when not this one
                                          // (partial; or renamed, its name too long: Claim::fail)
    std::string server;                   // where the attempt went (SettleOptions::server)
};

// Decide and carry out what `d` means for the claimed entry (see the top
// of this header). `d` is updated in place: recipients deferred past
// max_age become failed, with why in their detail. `u` in [0, 1) is the
// random draw for the retry delay's jitter. On error the entry is where
// the Claim says (state()), whole.
Result<Settlement> settle(Claim& claim, Delivery& d, const SettleOptions& o, SystemTime now, double u);
// An entry that cannot be sent (unsendable()): failed/ with a report.
Status settle_unsendable(Claim& claim, std::string_view why, const SettleOptions& o);

// --- the reports --------------------------------------------------------------------------

// failed/NAME.report: "Entry: NAME" (the failed entry's own name),
// "Failed-From: ORIGINAL" when `failed_from` is not empty (the entry a
// partial failure split it from), "Server:", "Sender:", "Attempts:", then
// "Failed recipients:" and one "  <address>: reason" line each.
std::string failure_report(std::string_view name, const Envelope& env, std::size_t attempts, const Delivery& d,
                           std::string_view server, std::string_view failed_from = {});
// failed/NAME.json (docs/json.md): {"entry", "failed_from"?, "server",
// "sender", "attempts", "recipients": [{"address", "reply", "code",
// "enhanced", "detail"?}]}, the names as in failure_report().
std::string failure_json(std::string_view name, const Envelope& env, std::size_t attempts, const Delivery& d,
                         std::string_view server, std::string_view failed_from = {});
// One attempt as a JSON event (docs/json.md): {"entry", "attempt", "server",
// "outcome", "recipients": [{"address", "state", "reply", "code",
// "enhanced", "detail"?}], "next_attempt"?, "may_be_delivered"?, "notes"?}.
std::string attempt_json(std::string_view name, const Settlement& s, const Delivery& d, std::string_view server);
// An entry as the queue shows it (spoolctl list --json, docs/json.md):
// {"entry", "state", "sender", "recipients", "size", "enqueued",
// "attempts", "last_attempt", "last_reply", "next_attempt", "problem"?}.
std::string entry_json(std::string_view name, SpoolState state, const SpoolEntry& e, SystemTime now);
// What sending an entry would do (spoolsend --dry-run --json): {"entry",
// "state", "from", "size", "8bit", "smtputf8", "recipients", "valid"}.
std::string plan_json(std::string_view name, SpoolState state, const SpoolEntry& e);

}  // namespace msg
