// deliver.hpp - spoolsend's work: claim an entry, send it over a session,
// and move it to the state its recipients' outcomes call for.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/smtp/session.hpp"
#include "msg/spool.hpp"

struct SendConfig {
    msg::smtp::Endpoint server;
    msg::smtp::SessionOptions session;
    unsigned max_per_connection = 100;
    double rate = 0;                                // messages per second, all connections together; 0: no limit
    std::chrono::seconds max_age{5 * 24 * 3600};    // deferred longer than this: failed
    std::chrono::seconds retry_base{300}, retry_max{4000};
    bool json = false;
    bool dsn = false;
    bool quiet = false;
    std::string transcript_dir;                     // empty: no transcripts
    std::string reporting_host;                     // for reports and DSNs
};

struct Totals {
    std::atomic<std::uint64_t> sent{0}, deferred{0}, failed{0}, partial{0}, skipped{0};
    std::atomic<std::uint64_t> bytes{0}, sessions{0}, connect_failures{0}, errors{0};
    std::atomic<bool> reached{false};               // some session got a greeting
};

// Spreads sends over time: at most `rate` per second across threads.
class RateLimiter {
public:
    explicit RateLimiter(double rate) : rate_(rate) {}
    void wait();

private:
    double rate_;
    std::mutex m_;
    std::chrono::steady_clock::time_point next_{};
};

class DueFeed;

// One connection's worth of work: takes due entries from the feed (claiming
// each; an entry another sender holds is skipped), sends them over its
// session and moves each to the state its recipients' outcomes call for.
// With PIPELINING it claims the next entry while the current one is under
// way, so that the next envelope can follow the final dot in one write.
// Thread-safe across workers sharing the feed, `totals`, `limiter` and
// `out_mutex`.
class Worker {
public:
    Worker(msg::Spool& spool, const SendConfig& cfg, Totals& totals, RateLimiter& limiter, std::mutex& out_mutex,
           DueFeed& feed);
    ~Worker();
    // Send until the feed is empty or `stop` is set; `done` counts entries
    // dealt with. False when no session could be had: the entry in hand is
    // left as it was and open_error() says why.
    bool run(const std::atomic<bool>& stop, std::atomic<std::uint64_t>& done);
    const std::optional<msg::smtp::SessionError>& open_error() const { return open_error_; }
    void close();

private:
    struct Job;
    std::unique_ptr<Job> take(const std::string& name);   // claimed and well-formed, or nullptr
    std::unique_ptr<Job> next_job();                     // from the feed; nullptr when it is empty
    void finish(Job& job, msg::smtp::Delivery& d);
    bool ensure_session();
    void report(const std::string& name, std::size_t attempt, const msg::smtp::Delivery& d, std::string_view outcome,
                const std::string& next);

    msg::Spool& spool_;
    const SendConfig& cfg_;
    Totals& totals_;
    RateLimiter& limiter_;
    std::mutex& out_;
    DueFeed& feed_;
    std::optional<msg::smtp::Session> session_;
    unsigned on_session_ = 0;
    std::unique_ptr<Job> prefetched_;
    std::uint64_t done_ = 0;                        // entries dealt with, not yet added to run()'s count
    std::optional<msg::smtp::SessionError> open_error_;
    std::string transcript_;                        // the current session's transcript, native format
    std::chrono::steady_clock::time_point session_start_;
};

// What one pass sends: deferred entries whose next attempt is due, then
// queued ones, each state in name (enqueue) order. The spool is listed in
// batches, so memory stays the same whatever its size. Thread-safe.
class DueFeed {
public:
    static constexpr std::size_t kBatch = 8192;
    explicit DueFeed(const msg::Spool& spool) : spool_(spool), now_(std::chrono::system_clock::now()) {}
    std::optional<std::string> next();   // nullopt: done (or error() is set)
    std::string error() const;

private:
    void refill();
    const msg::Spool& spool_;
    const std::chrono::system_clock::time_point now_;
    mutable std::mutex mutex_;
    std::vector<std::string> batch_;
    std::size_t at_ = 0;
    int phase_ = 0;   // 0 deferred, 1 queue, 2 done
    std::string after_, error_;
};
