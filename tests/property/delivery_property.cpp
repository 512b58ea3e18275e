// delivery_property.cpp - settling an entry never loses or duplicates a
// recipient: whatever the outcomes, every sent recipient is in no entry
// any more, every failed one is in exactly one failed/ entry (with its
// reports), every deferred one is in the deferred entry; retry delays stay
// within the policy's bounds; DSNs are well-formed messages.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "msg/delivery.hpp"
#include "msg/dsn.hpp"
#include "msg/message.hpp"
#include "msg/validate.hpp"

namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

fs::path temp_dir() {
    static std::atomic<int> n{0};
    fs::path p = fs::temp_directory_path() /
                 ("msg_delivery_prop_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(p);
    return p;
}

std::set<std::string> recipients_of(const msg::Spool& spool, msg::SpoolState st) {
    std::set<std::string> out;
    for (const std::string& n : *spool.list(st)) {
        const std::string data = *spool.read(st, n);
        for (const msg::EnvelopeLine* r : msg::parse_spool_entry(data).recipients()) {
            const bool added = out.insert(std::string(r->path.mailbox)).second;
            RC_ASSERT(added);   // no recipient twice
        }
    }
    return out;
}

}  // namespace

RC_GTEST_PROP(DeliveryProperty, SettlingKeepsEveryRecipientExactlyOnce, ()) {
    const auto states = *rc::gen::container<std::vector<msg::RcptState>>(
        *rc::gen::inRange<std::size_t>(1, 8),
        rc::gen::element(msg::RcptState::sent, msg::RcptState::failed, msg::RcptState::deferred));
    const bool expired = *rc::gen::arbitrary<bool>();
    const double u = *rc::gen::inRange(0, 1000) / 1000.0;
    const fs::path dir = temp_dir();
    auto spool = msg::Spool::open((dir / "s").string(), true);
    RC_ASSERT(spool.ok());
    msg::Envelope env;
    env.mail_from = "a@example.org";
    msg::Delivery d;
    for (std::size_t i = 0; i < states.size(); ++i) {
        const std::string a = "r" + std::to_string(i) + "@example.net";
        env.rcpts.push_back({a, {}});
        const int code = states[i] == msg::RcptState::sent ? 250 : states[i] == msg::RcptState::failed ? 550 : 451;
        d.rcpts.push_back({a, states[i], msg::smtp::make_reply(code, "x.y.z text"), {}});
    }
    const std::string name = *spool->enqueue(env, "From: a@example.org\nSubject: s\n\nbody\n");
    auto claimed = spool->claim(name);
    RC_ASSERT(claimed.ok() && claimed->has_value());
    msg::SettleOptions o;
    o.dsn = true;
    o.retry.max_age = expired ? seconds(0) : hours(1);
    const auto now = system_clock::now();
    auto s = msg::settle(**claimed, d, o, now, u);
    RC_ASSERT(s.ok());

    std::set<std::string> sent, failed, deferred;
    for (const msg::RcptOutcome& r : d.rcpts)
        (r.state == msg::RcptState::sent ? sent : r.state == msg::RcptState::failed ? failed : deferred).insert(r.address);
    if (expired) RC_ASSERT(deferred.empty());
    RC_ASSERT(recipients_of(*spool, msg::SpoolState::failed) == failed);
    RC_ASSERT(recipients_of(*spool, msg::SpoolState::deferred) == deferred);
    RC_ASSERT(spool->list(msg::SpoolState::queue)->empty());
    const bool in_sent = !spool->list(msg::SpoolState::sent)->empty();
    RC_ASSERT(in_sent == (deferred.empty() && failed.size() != d.rcpts.size()));
    // The outcome names it.
    const msg::Outcome want = failed.size() == d.rcpts.size() ? msg::Outcome::failed
                              : deferred.size() == d.rcpts.size() ? msg::Outcome::deferred
                              : sent.size() == d.rcpts.size()     ? msg::Outcome::sent
                                                                  : msg::Outcome::partial;
    RC_ASSERT(s->outcome == want);
    // Every failed/ entry has its three reports.
    for (const std::string& n : *spool->list(msg::SpoolState::failed))
        for (const char* suffix : {".report", ".json", ".dsn"}) RC_ASSERT(fs::exists(dir / "s" / "failed" / (n + suffix)));
    if (!deferred.empty()) {
        RC_ASSERT(s->next_attempt.has_value());
        const auto delay = *s->next_attempt - now;
        RC_ASSERT(delay >= seconds(270) && delay <= seconds(330));
    }
    fs::remove_all(dir);
}

RC_GTEST_PROP(DeliveryProperty, DsnIsAWellFormedReport, ()) {
    msg::DsnInfo info;
    info.reporting_mta = "sender.example.org";
    info.sender = "a@example.org";
    info.arrival = system_clock::from_time_t(1700000000);
    // A subject in ASCII or UTF-8, a body of any lines, returned whole or not.
    const bool utf8 = *rc::gen::arbitrary<bool>();
    const std::string subject = *rc::gen::container<std::string>(rc::gen::inRange<char>(32, 127));
    const std::string body = *rc::gen::container<std::string>(rc::gen::element('a', ' ', '-', '\n', '=', '\xc3', '\xa9'));
    const std::string original = "From: a@example.org\nSubject: " + subject + (utf8 ? "\xc3\xa9" : "") + "\n\n" + body;
    info.original = original;
    info.full = *rc::gen::arbitrary<bool>();
    const auto n = *rc::gen::inRange<std::size_t>(1, 5);
    for (std::size_t i = 0; i < n; ++i)
        info.recipients.push_back({"r" + std::to_string(i) + (utf8 && i == 0 ? "\xc3\xa9" : "") + "@example.net", "failed",
                                   "5.1.1", "550 5.1.1 " + *rc::gen::container<std::string>(rc::gen::arbitrary<char>()), "mx",
                                   *rc::gen::element<std::string>("", "rfc822;r@example.net", "rfc822;\x01+2B"), ""});
    const std::string dsn = msg::make_dsn(info, system_clock::from_time_t(1700000100));
    const msg::Message m = msg::parse_message(dsn);
    // No error but the original's own, inside the returned message.
    const std::size_t returned = dsn.find("Content-Type: message/rfc822\r\n") != std::string::npos
                                     ? dsn.find("Content-Type: message/rfc822\r\n")
                                     : dsn.find("Content-Type: message/global\r\n");
    RC_ASSERT((returned != std::string::npos) == (info.full && body.size() < 10000));
    for (const msg::Defect& d : msg::validate(m))
        RC_ASSERT(d.info().severity != msg::Severity::error || (returned != std::string::npos && d.offset > returned));
    // text, status, and the original (its header, or the message's own leaves)
    RC_ASSERT(m.leaves().size() >= 3u);
    RC_ASSERT(m.entity(m.leaves()[1]).content_type.mime_type() ==
              (utf8 ? "message/global-delivery-status" : "message/delivery-status"));
    for (std::size_t i = 0; i < n; ++i)
        RC_ASSERT(dsn.find(std::string("Final-Recipient: ") + (utf8 && i == 0 ? "utf-8; r0\xc3\xa9" : "rfc822; r" + std::to_string(i)) +
                           "@example.net\r\n") != std::string::npos);
}
