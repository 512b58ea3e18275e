// deliver.hpp - spoolsend's workers: each takes due entries, sends them
// over its own session and lets libmsg settle them (msg/delivery.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "msg/delivery.hpp"
#include "msg/smtp/session.hpp"
#include "msg/smtp/transcript.hpp"

struct SendConfig {
    msg::smtp::Endpoint server;
    msg::smtp::SessionOptions session;
    msg::SettleOptions settle;
    unsigned max_per_connection = 100;
    double rate = 0;                 // messages per second, all connections together; 0: no limit
    bool json = false, quiet = false;
    std::string transcript_dir;      // empty: no transcripts
};

struct Totals {
    std::atomic<std::uint64_t> sent{0}, deferred{0}, failed{0}, partial{0}, skipped{0};
    std::atomic<std::uint64_t> sessions{0}, errors{0};
    std::atomic<bool> reached{false};   // some session got a greeting
};

// What the workers share: the configuration, the scan, the totals, the
// rate limit and the output.
class Shared {
public:
    Shared(msg::Spool& sp, const SendConfig& c, Totals& t) : spool(sp), cfg(c), totals(t) {}
    msg::Spool& spool;
    const SendConfig& cfg;
    Totals& totals;
    msg::DueScan* due = nullptr;     // this pass's
    void pace(const std::atomic<bool>& stop);   // wait for this message's slot under --rate (or a stop)
    void say(const std::string& line, bool to_stdout);   // one line, whole, under a lock

private:
    std::mutex m_;
    std::chrono::steady_clock::time_point next_{};
};

// One connection's worth of work. With PIPELINING it claims the next entry
// while the current one is under way, so that the next envelope follows
// the final dot in the same write.
class Worker {
public:
    explicit Worker(Shared& s);
    ~Worker();
    // Send until nothing is due or `stop` is set. False when no session
    // could be had: the entry in hand is left as it was, open_error() says why.
    bool run(const std::atomic<bool>& stop, std::atomic<std::uint64_t>& done);
    const std::optional<msg::smtp::SessionError>& open_error() const { return open_error_; }

private:
    struct Job;
    std::unique_ptr<Job> take();         // the next due entry, claimed and sendable; nullptr when none is left
    void finish(Job& job, msg::Delivery& d);
    bool ensure_session();
    void close_session();
    void flush_transcript();
    void problem(const std::string& message);

    Shared& s_;
    std::optional<msg::smtp::Session> session_;
    unsigned on_session_ = 0;
    std::unique_ptr<Job> prefetched_;
    std::uint64_t done_ = 0;
    std::optional<msg::smtp::SessionError> open_error_;
    std::shared_ptr<msg::smtp::Recorder> recorder_;
    int transcript_fd_ = -1;
    std::mt19937_64 rng_{std::random_device{}()};
};
