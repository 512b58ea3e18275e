// delivery_test.cpp - the delivery policy (delivery.hpp): retry delays,
// max-age, what is due, settling a claim from per-recipient outcomes, the
// reports and DSNs, and SpoolWalk.
#include <gtest/gtest.h>
#include <msg/datetime.hpp>
#include <msg/delivery.hpp>
#include <msg/dsn.hpp>
#include <msg/message.hpp>
#include <msg/validate.hpp>
#include <msg/json.hpp>
#include <msg/rewrite.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <stdlib.h>

namespace fs = std::filesystem;
using namespace std::chrono;
using msg::RcptState;
using msg::SpoolState;

namespace {

const std::string kMessage = "From: a@example.org\nSubject: hi\n\nhello\n";

msg::Envelope envelope(std::vector<std::string> rcpts) {
    msg::Envelope e;
    e.mail_from = "a@example.org";
    for (auto& r : rcpts) e.rcpts.push_back({std::move(r), {}});
    return e;
}

msg::smtp::Reply reply(int code, std::string_view text) { return msg::smtp::make_reply(code, text); }

msg::RcptOutcome outcome(std::string address, RcptState st, std::optional<msg::smtp::Reply> r = std::nullopt) {
    return msg::RcptOutcome{std::move(address), st, std::move(r), {}, {}};
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class Delivery : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "delivery_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        base_ = tmpl;
        auto s = msg::Spool::open((base_ / "spool").string(), true);
        ASSERT_TRUE(s) << s.error().message;
        spool_.emplace(std::move(*s));
        opt_.server = "mx.example.net:25";
        opt_.remote_mta = "mx.example.net";
        opt_.reporting_mta = "sender.example.org";
        opt_.dsn = true;
        opt_.retry.max_age = hours(24 * 365 * 10);   // fixed dates in the future below stay young
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(base_, ec);
    }
    std::string enqueue(const msg::Envelope& e, const std::string& message = kMessage) {
        auto n = spool_->enqueue(e, message);
        EXPECT_TRUE(n) << n.error().message;
        return *n;
    }
    msg::Claim claim(const std::string& name) {
        auto c = spool_->claim(name);
        EXPECT_TRUE(c && c->has_value());
        return std::move(**c);
    }
    fs::path failed(const std::string& name) { return base_ / "spool" / "failed" / name; }

    fs::path base_;
    std::optional<msg::Spool> spool_;
    msg::SettleOptions opt_;
};

}  // namespace

TEST(RetryPolicy, DoublesUpToTheMaximumWithJitter) {
    msg::RetryPolicy p;
    p.base = seconds(300);
    p.max = seconds(4000);
    p.jitter = 0.1;
    EXPECT_DOUBLE_EQ(p.delay(1, 0.5).count(), 300.0);
    EXPECT_DOUBLE_EQ(p.delay(2, 0.5).count(), 600.0);
    EXPECT_DOUBLE_EQ(p.delay(4, 0.5).count(), 2400.0);
    EXPECT_DOUBLE_EQ(p.delay(5, 0.5).count(), 4000.0);   // 4800 capped
    EXPECT_DOUBLE_EQ(p.delay(1000, 0.5).count(), 4000.0);
    EXPECT_DOUBLE_EQ(p.delay(1, 0.0).count(), 270.0);    // -10%
    EXPECT_NEAR(p.delay(1, 0.999999).count(), 330.0, 0.01);  // +10%
    p.jitter = 0;
    EXPECT_DOUBLE_EQ(p.delay(3, 0.0).count(), 1200.0);
    p.base = seconds(0);
    EXPECT_DOUBLE_EQ(p.delay(3, 0.3).count(), 0.0);
}

TEST(RetryPolicy, HumanDurations) {
    EXPECT_EQ(msg::human_duration(seconds(45)), "45s");
    EXPECT_EQ(msg::human_duration(seconds(60)), "1m");
    EXPECT_EQ(msg::human_duration(seconds(150)), "2m30s");
    EXPECT_EQ(msg::human_duration(seconds(-2306033787)), "-26690d4h");   // not "-2306033787s"
    EXPECT_EQ(msg::human_duration(seconds(3 * 86400 + 4 * 3600 + 59)), "3d4h");
}

TEST(Unsendable, SaysWhy) {
    EXPECT_EQ(msg::unsendable(msg::parse_spool_entry("MAIL FROM:<a@x>\nRCPT TO:<b@y>\n\nm\n")), "");
    EXPECT_NE(msg::unsendable(msg::parse_spool_entry("MAIL FROM:<a@x>\n\nm\n")), "");
    EXPECT_NE(msg::unsendable(msg::parse_spool_entry("MAIL FROM:<a@x>\nRCPT TO:<b@y>\n")), "");
    EXPECT_NE(msg::unsendable(msg::parse_spool_entry("MAIL FROM:<a@x> FOO=\nRCPT TO:<b@y>\n\nm\n")), "");
}

// Why names the place in the entry, line and byte column, as msgcheck
// gives it, and the defect's detail: the line to mend.
TEST(Unsendable, SaysWhere) {
    EXPECT_EQ(msg::unsendable(msg::parse_spool_entry("MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.net\n\n"
                                                     "Subject: x\n\nhi\n")),
              "malformed spool entry: line 2, column 25: reverse-path or forward-path syntax error "
              "('>' expected after the domain)");
    EXPECT_EQ(msg::unsendable(msg::parse_spool_entry("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n")).substr(0, 41),
              "malformed spool entry: line 3, column 1: ");   // where the empty line should be
    // The detail comes from the entry: escaped.
    const std::string why = msg::unsendable(msg::parse_spool_entry("MAIL FROM:<a@x>\nRCPT TO:<b@y>\n\x1b[2J\n\nm\n"));
    EXPECT_EQ(why.find('\x1b'), std::string::npos) << why;
    EXPECT_EQ(why.substr(0, 41), "malformed spool entry: line 3, column 1: ") << why;
}

TEST_F(Delivery, AllSentMovesToSent) {
    const std::string n = enqueue(envelope({"b@example.net", "c@example.net"}));
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::sent, reply(250, "2.0.0 ok")),
               outcome("c@example.net", RcptState::sent, reply(250, "2.0.0 ok"))};
    auto s = msg::settle(c, d, opt_, system_clock::now(), 0.5);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->outcome, msg::Outcome::sent);
    EXPECT_EQ(s->attempt, 1u);
    EXPECT_EQ(spool_->find(n), SpoolState::sent);
}

// Sent to some, refused by the others: the entry in sent/ lists only the
// recipients it was sent to; the refused ones are in failed/.
TEST_F(Delivery, PartialFailureLeavesOnlyTheSentInSent) {
    const std::string n = enqueue(envelope({"ok@example.net", "bad@example.net"}));
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("ok@example.net", RcptState::sent, reply(250, "2.0.0 ok")),
               outcome("bad@example.net", RcptState::failed, reply(550, "5.1.1 no such user"))};
    auto s = msg::settle(c, d, opt_, system_clock::now(), 0.5);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->outcome, msg::Outcome::partial);
    ASSERT_EQ(spool_->find(n), SpoolState::sent);
    const std::string entry = *spool_->read(SpoolState::sent, n);
    EXPECT_NE(entry.find("RCPT TO:<ok@example.net>"), std::string::npos) << entry;
    EXPECT_EQ(entry.find("bad@"), std::string::npos) << entry;
    const std::string f = slurp(failed(s->failed_entry));
    EXPECT_NE(f.find("RCPT TO:<bad@example.net>"), std::string::npos);
    EXPECT_EQ(f.find("ok@"), std::string::npos);
}

TEST_F(Delivery, PartialFailureSplitsTheEntry) {
    const std::string n = enqueue(envelope({"b@example.net", "bad@example.net", "later@example.net"}));
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::sent, reply(250, "2.0.0 ok")),
               outcome("bad@example.net", RcptState::failed, reply(550, "5.1.1 no such user")),
               outcome("later@example.net", RcptState::deferred, reply(451, "4.2.0 try later"))};
    const auto now = system_clock::from_time_t(1800000000);
    auto s = msg::settle(c, d, opt_, now, 0.5);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->outcome, msg::Outcome::partial);
    ASSERT_TRUE(s->next_attempt);
    EXPECT_EQ(*s->next_attempt, now + seconds(300));
    // the deferred recipient stays, alone, with its history
    EXPECT_EQ(spool_->find(n), SpoolState::deferred);
    const std::string entry = *spool_->read(SpoolState::deferred, n);
    EXPECT_NE(entry.find("RCPT TO:<later@example.net>"), std::string::npos);
    EXPECT_EQ(entry.find("bad@"), std::string::npos);
    EXPECT_NE(entry.find("\nAttempt: 2027-01-15T08:00:00Z 451 4.2.0 try later\n"), std::string::npos) << entry;
    EXPECT_NE(entry.find("\nNext-Attempt: 2027-01-15T08:05:00Z\n"), std::string::npos) << entry;
    // the failed recipient has its own entry in failed/ with three reports
    ASSERT_FALSE(s->failed_entry.empty());
    const std::string f = slurp(failed(s->failed_entry));
    EXPECT_NE(f.find("RCPT TO:<bad@example.net>"), std::string::npos);
    EXPECT_NE(f.find("Failed-From: " + n), std::string::npos);
    const std::string report = slurp(failed(s->failed_entry + ".report"));
    EXPECT_NE(report.find("  <bad@example.net>: 550 5.1.1 no such user\n"), std::string::npos) << report;
    const std::string json = slurp(failed(s->failed_entry + ".json"));
    EXPECT_NE(json.find(R"("code": 550, "enhanced": "5.1.1")"), std::string::npos) << json;
    // The reports name the entry they are beside, as spoolctl list names
    // it, and the original as its Failed-From: line does.
    EXPECT_EQ(report.rfind("Entry: " + s->failed_entry + "\nFailed-From: " + n + "\nServer: ", 0), 0u) << report;
    EXPECT_EQ(json.rfind(R"({"entry": ")" + s->failed_entry + R"(", "failed_from": ")" + n + R"(", "server": )", 0), 0u)
        << json;
    const std::string dsn = slurp(failed(s->failed_entry + ".dsn"));
    EXPECT_NE(dsn.find("Status: 5.1.1\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Remote-MTA: dns; mx.example.net\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("To: <a@example.org>\r\n"), std::string::npos);
}

// max_age counts from the first attempt, not from the enqueueing: an entry
// first tried two days after it was enqueued (held meanwhile, or no sender
// ran) and greylisted is deferred, not failed.
TEST_F(Delivery, MaxAgeCountsFromTheFirstAttempt) {
    opt_.retry.max_age = hours(24);
    const std::string n = enqueue(envelope({"grey@example.net"}));
    const auto later = time_point_cast<seconds>(system_clock::now()) + hours(48);
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("grey@example.net", RcptState::deferred, reply(451, "4.7.1 greylisted"))};
    auto s = msg::settle(c, d, opt_, later, 0.5);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->outcome, msg::Outcome::deferred);
}

// A max_age or a retry delay of centuries ("never give up") is counted in
// seconds, not in the clock's nanoseconds, where it wrapped: the first
// greylisting failed the entry ("gave up after 1 attempts over 0s"), and a
// --retry-max of centuries made the next attempt one in 1734, due at once.
TEST_F(Delivery, CenturiesOfMaxAgeAndRetryDelayDoNotWrap) {
    opt_.retry.max_age = seconds(20000LL * 7 * 86400);   // --max-age 20000w
    opt_.retry.base = opt_.retry.max = seconds(20000LL * 7 * 86400);
    const std::string n = enqueue(envelope({"grey@example.net"}));
    const auto now = time_point_cast<seconds>(system_clock::now());
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("grey@example.net", RcptState::deferred, reply(451, "4.7.1 greylisted"))};
    auto s = msg::settle(c, d, opt_, now, 0.5);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->outcome, msg::Outcome::deferred);
    ASSERT_TRUE(s->next_attempt);
    EXPECT_GT(*s->next_attempt, now + hours(24 * 365 * 200));
}

// max_age counts from the earliest Attempt:, not the first line: one written
// while the clock ran years ahead must not keep an entry retried for years.
TEST_F(Delivery, MaxAgeCountsFromTheEarliestAttempt) {
    opt_.retry.max_age = hours(24);
    const auto now = time_point_cast<seconds>(system_clock::now());
    msg::Envelope e = envelope({"grey@example.net"});
    e.annotations.emplace_back("Attempt", msg::format_rfc3339(now + hours(24 * 365 * 5)) + " 451 4.7.1 greylisted");
    e.annotations.emplace_back("Attempt", msg::format_rfc3339(now - hours(48)) + " 451 4.7.1 greylisted");
    const std::string n = enqueue(e);
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("grey@example.net", RcptState::deferred, reply(451, "4.7.1 greylisted"))};
    auto s = msg::settle(c, d, opt_, now, 0.5);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->outcome, msg::Outcome::failed);
}

TEST_F(Delivery, SecondAttemptDoublesAndMaxAgeGivesUp) {
    opt_.retry.max_age = hours(24);
    const std::string n = enqueue(envelope({"later@example.net"}));
    const auto t0 = time_point_cast<seconds>(system_clock::now());
    {
        msg::Claim c = claim(n);
        msg::Delivery d;
        d.rcpts = {outcome("later@example.net", RcptState::deferred, reply(421, "4.4.2 busy"))};
        auto s = msg::settle(c, d, opt_, t0, 0.5);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->outcome, msg::Outcome::deferred);
    }
    {
        msg::Claim c = claim(n);
        msg::Delivery d;
        d.rcpts = {outcome("later@example.net", RcptState::deferred, reply(451, "4.3.0 again"))};
        auto s = msg::settle(c, d, opt_, t0 + hours(1), 0.5);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->attempt, 2u);
        EXPECT_EQ(*s->next_attempt, t0 + hours(1) + seconds(600));
    }
    {
        msg::Claim c = claim(n);
        msg::Delivery d;
        d.rcpts = {outcome("later@example.net", RcptState::deferred, reply(451, "4.3.0 still"))};
        auto s = msg::settle(c, d, opt_, t0 + hours(25), 0.5);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->outcome, msg::Outcome::failed);
        EXPECT_EQ(d.rcpts[0].state, RcptState::failed);
        EXPECT_EQ(d.rcpts[0].detail, "gave up after 3 attempts over 1d1h; last: 451 4.3.0 still");
    }
    EXPECT_EQ(spool_->find(n), SpoolState::failed);
    const std::string dsn = slurp(failed(n + ".dsn"));
    EXPECT_NE(dsn.find("Status: 5.4.7\r\n"), std::string::npos) << dsn;   // delivery time expired (RFC 3463)
}

// Every attempt counts: after settle(), retry_info(entry, state) of the
// entry where it landed gives the number settle() gave the attempt, which
// failed/NAME.json and .report give too: sent or failed at the first try
// (not written into the entry: 1, not 0), after a deferral (2, not 1), and
// both halves of a partial failure. The attempt that settled an entry is
// not its last recorded one: no last attempt, reply or next attempt then.
TEST_F(Delivery, EveryAttemptCountsWhereTheEntryLands) {
    auto counted = [&](const std::string& name) {
        const auto st = spool_->find(name);
        EXPECT_TRUE(st) << name;
        if (!st) return msg::RetryInfo{};
        return msg::retry_info(msg::parse_spool_entry(*spool_->read(*st, name)), *st);
    };
    auto json_attempts = [&](const std::string& name) {
        const std::string j = slurp(failed(name + ".json"));
        const std::size_t at = j.find(R"("attempts": )");
        return at == std::string::npos ? std::string() : j.substr(at + 12, j.find(',', at) - at - 12);
    };
    const auto t0 = time_point_cast<seconds>(system_clock::now());
    const msg::Delivery sent_all = [] {
        msg::Delivery d;
        d.rcpts = {outcome("b@example.net", RcptState::sent, reply(250, "2.0.0 ok"))};
        return d;
    }();

    // Sent at the first attempt.
    const std::string first = enqueue(envelope({"b@example.net"}));
    {
        msg::Claim c = claim(first);
        msg::Delivery d = sent_all;
        auto s = msg::settle(c, d, opt_, t0, 0.5);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->attempt, 1u);
    }
    msg::RetryInfo r = counted(first);
    EXPECT_EQ(r.attempts, 1u);
    EXPECT_TRUE(r.settled);
    EXPECT_FALSE(r.last);
    EXPECT_EQ(r.last_what, "");

    // Deferred, then sent: 2; the deferral is recorded, the sending is not
    // its last attempt's reply.
    const std::string second = enqueue(envelope({"b@example.net"}));
    {
        msg::Claim c = claim(second);
        msg::Delivery d;
        d.rcpts = {outcome("b@example.net", RcptState::deferred, reply(451, "4.2.0 busy"))};
        ASSERT_TRUE(msg::settle(c, d, opt_, t0, 0.5));
    }
    r = counted(second);
    EXPECT_EQ(r.attempts, 1u);
    EXPECT_FALSE(r.settled);
    EXPECT_EQ(r.last, t0);
    EXPECT_EQ(r.last_what, "451 4.2.0 busy");
    EXPECT_TRUE(r.next);
    {
        msg::Claim c = claim(second);
        msg::Delivery d = sent_all;
        auto s = msg::settle(c, d, opt_, t0 + hours(1), 0.5);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->attempt, 2u);
    }
    r = counted(second);
    EXPECT_EQ(r.attempts, 2u);
    EXPECT_FALSE(r.last);
    EXPECT_EQ(r.last_what, "");
    EXPECT_FALSE(r.next);   // its Next-Attempt: line is still in it, and means nothing in sent/

    // Refused at the first attempt: 1, as its report says.
    const std::string refused = enqueue(envelope({"bad@example.net"}));
    {
        msg::Claim c = claim(refused);
        msg::Delivery d;
        d.rcpts = {outcome("bad@example.net", RcptState::failed, reply(550, "5.1.1 no such user"))};
        ASSERT_TRUE(msg::settle(c, d, opt_, t0, 0.5));
    }
    EXPECT_EQ(counted(refused).attempts, 1u);
    EXPECT_EQ(json_attempts(refused), "1");
    EXPECT_NE(slurp(failed(refused + ".report")).find("\nAttempts: 1\n"), std::string::npos);

    // Deferred, then given up: 2 in the spool and in its report.
    opt_.retry.max_age = hours(24);
    const std::string given_up = enqueue(envelope({"later@example.net"}));
    for (const auto when : {t0, t0 + hours(25)}) {
        msg::Claim c = claim(given_up);
        msg::Delivery d;
        d.rcpts = {outcome("later@example.net", RcptState::deferred, reply(451, "4.2.0 busy"))};
        ASSERT_TRUE(msg::settle(c, d, opt_, when, 0.5));
    }
    ASSERT_EQ(spool_->find(given_up), SpoolState::failed);
    EXPECT_EQ(counted(given_up).attempts, 2u);
    EXPECT_EQ(json_attempts(given_up), "2");

    // Deferred, then sent to one and refused by the other: 2 for both halves.
    const std::string split = enqueue(envelope({"b@example.net", "bad@example.net"}));
    {
        msg::Claim c = claim(split);
        msg::Delivery d;
        d.rcpts = {outcome("b@example.net", RcptState::deferred, reply(451, "4.2.0 busy")),
                   outcome("bad@example.net", RcptState::deferred, reply(451, "4.2.0 busy"))};
        ASSERT_TRUE(msg::settle(c, d, opt_, t0, 0.5));
    }
    std::string split_failed;
    {
        msg::Claim c = claim(split);
        msg::Delivery d;
        d.rcpts = {outcome("b@example.net", RcptState::sent, reply(250, "2.0.0 ok")),
                   outcome("bad@example.net", RcptState::failed, reply(550, "5.1.1 no such user"))};
        auto s = msg::settle(c, d, opt_, t0 + hours(1), 0.5);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->attempt, 2u);
        split_failed = s->failed_entry;
    }
    EXPECT_EQ(spool_->find(split), SpoolState::sent);
    EXPECT_EQ(counted(split).attempts, 2u);
    EXPECT_EQ(counted(split_failed).attempts, 2u);
    EXPECT_EQ(json_attempts(split_failed), "2");

    // An entry that could not be sent at all was failed by one attempt, as
    // spoolsend --json numbers it.
    const std::string malformed = *spool_->enqueue(envelope({}), kMessage);
    {
        msg::Claim c = claim(malformed);
        ASSERT_TRUE(msg::settle_unsendable(c, msg::unsendable(c.entry()), opt_));
    }
    EXPECT_EQ(counted(malformed).attempts, 1u);

    // In the other states, what the entry records.
    const std::string queued = enqueue(envelope({"b@example.net"}));
    r = counted(queued);
    EXPECT_EQ(r.attempts, 0u);
    EXPECT_FALSE(r.settled);
}

// spoolctl list --json: a sent entry has had its attempt, whose reply and
// time are not recorded in it.
TEST_F(Delivery, EntryJsonOfASentEntryCountsItsAttempt) {
    const std::string n = enqueue(envelope({"b@example.net"}));
    {
        msg::Claim c = claim(n);
        msg::Delivery d;
        d.rcpts = {outcome("b@example.net", RcptState::sent, reply(250, "2.0.0 ok"))};
        ASSERT_TRUE(msg::settle(c, d, opt_, system_clock::now(), 0.5));
    }
    const auto data = spool_->read(SpoolState::sent, n);
    ASSERT_TRUE(data);
    const std::string j = msg::entry_json(n, SpoolState::sent, msg::parse_spool_entry(*data), system_clock::now());
    EXPECT_NE(j.find(R"("state": "sent")"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("attempts": 1, "last_attempt": null, "last_reply": null, "next_attempt": null)"),
              std::string::npos)
        << j;
}

TEST_F(Delivery, NoDsnForTheNullSender) {
    msg::Envelope e = envelope({"b@example.net"});
    e.mail_from = "";
    const std::string n = enqueue(e);
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::failed, reply(550, "5.7.1 no"))};
    ASSERT_TRUE(msg::settle(c, d, opt_, system_clock::now(), 0.5));
    EXPECT_TRUE(fs::exists(failed(n + ".report")));
    EXPECT_FALSE(fs::exists(failed(n + ".dsn")));
}

// RFC 3461: NOTIFY says which recipients' failures the sender hears of,
// ORCPT is returned as Original-Recipient, RET=FULL returns the message.
TEST_F(Delivery, DsnFollowsNotifyOrcptAndRet) {
    msg::Envelope e = envelope({"never@example.net", "success@example.net", "told@example.net", "plain@example.net"});
    e.rcpts[0].params = {"NOTIFY=NEVER"};
    e.rcpts[1].params = {"NOTIFY=SUCCESS,DELAY"};
    e.rcpts[2].params = {"NOTIFY=DELAY,FAILURE", "ORCPT=rfc822;Told+2Bme@example.net"};
    e.mail_params = {"RET=FULL"};
    const std::string n = enqueue(e);
    msg::Claim c = claim(n);
    msg::Delivery d;
    for (const auto& r : e.rcpts) d.rcpts.push_back(outcome(r.address, RcptState::failed, reply(550, "5.1.1 no such user")));
    ASSERT_TRUE(msg::settle(c, d, opt_, system_clock::now(), 0.5));
    const std::string dsn = slurp(failed(n + ".dsn"));
    EXPECT_EQ(dsn.find("never@"), std::string::npos) << dsn;
    EXPECT_EQ(dsn.find("success@"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Original-Recipient: rfc822; Told+me@example.net\r\nFinal-Recipient: rfc822; told@example.net\r\n"),
              std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Final-Recipient: rfc822; plain@example.net\r\n"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Content-Type: message/rfc822\r\n\r\nFrom: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"),
              std::string::npos) << dsn;
    // every recipient is in the operator's report all the same
    const std::string report = slurp(failed(n + ".report"));
    EXPECT_NE(report.find("never@example.net"), std::string::npos);
}

TEST_F(Delivery, NoDsnWhenNoFailedRecipientAsksForOne) {
    msg::Envelope e = envelope({"b@example.net"});
    e.rcpts[0].params = {"NOTIFY=NEVER"};
    const std::string n = enqueue(e);
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::failed, reply(550, "5.1.1 no"))};
    ASSERT_TRUE(msg::settle(c, d, opt_, system_clock::now(), 0.5));
    EXPECT_TRUE(fs::exists(failed(n + ".report")));
    EXPECT_FALSE(fs::exists(failed(n + ".dsn")));
}

msg::DsnInfo dsn_info(std::string_view original) {
    msg::DsnInfo info;
    info.reporting_mta = "sender.example.org";
    info.sender = "a@example.org";
    info.original = original;
    info.recipients.push_back({"b@example.net", "failed", "5.1.1", "550 5.1.1 no", "mx.example.net", "", ""});
    return info;
}

TEST(Dsn, HeaderOnlyUnlessFullAndSmallEnough) {
    const std::string original = "From: a@example.org\nSubject: hi\n\nthe body\n";
    msg::DsnInfo info = dsn_info(original);
    std::string dsn = msg::make_dsn(info, system_clock::from_time_t(1700000000));
    EXPECT_NE(dsn.find("report-type=delivery-status;"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: a@example.org\r\nSubject: hi\r\n\r\n--"),
              std::string::npos) << dsn;
    EXPECT_EQ(dsn.find("the body"), std::string::npos);
    info.full = true;
    dsn = msg::make_dsn(info, system_clock::from_time_t(1700000000));
    EXPECT_NE(dsn.find("Content-Type: message/rfc822\r\n\r\nFrom: a@example.org\r\nSubject: hi\r\n\r\nthe body\r\n"),
              std::string::npos) << dsn;
    info.max_full = original.size() - 1;
    dsn = msg::make_dsn(info, system_clock::from_time_t(1700000000));
    EXPECT_EQ(dsn.find("the body"), std::string::npos);
    EXPECT_NE(dsn.find("too large to be returned whole"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers"), std::string::npos);
}

// RFC 6533: a UTF-8 address or header makes the report a global one.
TEST(Dsn, Utf8MakesAGlobalReport) {
    const std::string original = "From: a@example.org\nSubject: Gr\xc3\xbc\xc3\x9f" "e\n\nhello\n";
    msg::DsnInfo info = dsn_info(original);
    // ORCPT as RFC 6533 writes it: utf-8-addr-xtext, "\x{FC}" for U+00FC
    info.recipients.push_back({"j\xc3\xbcrgen@example.net", "failed", "5.1.1", "550 5.1.1 no", "mx.example.net",
                               "utf-8;j\\x{FC}rgen@example.net", ""});
    const std::string dsn = msg::make_dsn(info, system_clock::from_time_t(1700000000));
    EXPECT_NE(dsn.find("report-type=global-delivery-status;"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Content-Type: message/global-delivery-status\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Final-Recipient: rfc822; b@example.net\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Original-Recipient: utf-8; j\xc3\xbcrgen@example.net\r\n"
                       "Final-Recipient: utf-8; j\xc3\xbcrgen@example.net\r\n"),
              std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Content-Type: message/global-headers\r\n"), std::string::npos);
    EXPECT_NE(dsn.find("Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n"), std::string::npos);
    // ASCII everywhere: the RFC 3464 types, UTF-8 nowhere in the status fields
    const std::string plain = msg::make_dsn(dsn_info("From: a@example.org\n\nx\n"), system_clock::from_time_t(1700000000));
    EXPECT_NE(plain.find("Content-Type: message/delivery-status\r\n"), std::string::npos);
}

// What make_dsn writes is what msgcheck's report checks read (one seam,
// both in libmsg): plain, global, with Original-Recipient, delayed with no
// status given, whole or header only, and no error of any kind.
TEST(Dsn, PassesTheReportChecks) {
    const auto now = system_clock::from_time_t(1700000000);
    for (const std::string& original : {std::string("From: a@example.org\nSubject: hi\n\nx\n"),
                                       std::string("From: a@example.org\nSubject: Gr\xc3\xbc\xc3\x9f" "e\n\nx\n")}) {
        for (const bool full : {false, true}) {
            msg::DsnInfo info = dsn_info(original);
            info.full = full;
            info.recipients.push_back({"c@example.net", "delayed", "", "451 try later", "", "rfc822;C@example.net", ""});
            info.recipients.push_back({"j\xc3\xbcrgen@example.net", "failed", "", "", "", "", "no server answered"});
            const std::string dsn = msg::make_dsn(info, now);
            for (const msg::Defect& d : msg::validate(msg::parse_message(dsn)))
                if (d.info().severity == msg::Severity::error || std::string_view(d.info().code).starts_with("report."))
                    ADD_FAILURE() << d.info().code << " " << d.detail << " at " << d.offset << "\n" << dsn;
        }
    }
}

// A header of 8-bit bytes that are not UTF-8 (Latin-1) cannot go into
// message/global or message/global-headers (RFC 6532 3.5 wants UTF-8):
// the RFC 3464 types carry it, declared 8bit.
TEST(Dsn, Latin1HeaderIsNotAGlobalReport) {
    const auto now = system_clock::from_time_t(1700000000);
    msg::DsnInfo info = dsn_info("From: a@example.org\nSubject: Gr\xfc\xdf" "e\n\nhello\n");
    std::string dsn = msg::make_dsn(info, now);
    EXPECT_NE(dsn.find("report-type=delivery-status;"), std::string::npos) << dsn;
    EXPECT_EQ(dsn.find("message/global"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                       "From: a@example.org\r\nSubject: Gr\xfc\xdf" "e\r\n"),
              std::string::npos) << dsn;
    info.full = true;
    dsn = msg::make_dsn(info, now);
    EXPECT_NE(dsn.find("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"), std::string::npos)
        << dsn;
    EXPECT_EQ(dsn.find("message/global"), std::string::npos) << dsn;
}

// What a report must not do: pass 998 octets a line (a server's reply of
// 4 KiB), return a body as "headers" (bare CR line ends, as the wire has
// them), carry NUL in message/rfc822, or call a local reason an SMTP reply.
TEST(Dsn, StaysAWellFormedMessage) {
    const auto now = system_clock::from_time_t(1700000000);
    msg::DsnInfo info = dsn_info("From: a@example.org\rSubject: h\r\rsecret body\rline2\r");
    info.recipients[0].diagnostic = "550 5.1.1 " + std::string(3000, 'z');
    info.recipients.push_back({"c@example.net", "failed", "5.0.0", "", "", "", "message of 10 bytes is over the SIZE limit"});
    info.envid = "QQ+123";
    std::string dsn = msg::make_dsn(info, now);
    EXPECT_EQ(msg::long_line_at(dsn), std::string::npos);
    EXPECT_EQ(dsn.find("secret"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: a@example.org\r\nSubject: h\r\n\r\n--"),
              std::string::npos) << dsn;
    EXPECT_NE(dsn.find("  <c@example.net>: message of 10 bytes is over the SIZE limit\r\n"), std::string::npos);
    const std::size_t c = dsn.find("Final-Recipient: rfc822; c@example.net");
    ASSERT_NE(c, std::string::npos);
    EXPECT_EQ(dsn.find("Diagnostic-Code", c), std::string::npos);   // no SMTP reply to quote
    EXPECT_NE(dsn.find("Original-Envelope-Id: QQ+123\r\n"), std::string::npos);
    // RET=FULL of a message with NUL: its header, and why.
    const std::string with_nul("From: a@example.org\n\nnul \0 byte\n", 32);
    info = dsn_info(with_nul);
    info.full = true;
    dsn = msg::make_dsn(info, now);
    EXPECT_EQ(dsn.find('\0'), std::string::npos);
    EXPECT_NE(dsn.find("NUL bytes or lines over 998 octets"), std::string::npos);
}

// ENVID comes back xtext-decoded (RFC 3461 6.3), as ORCPT does.
TEST_F(Delivery, DsnEnvidDecoded) {
    msg::Envelope e = envelope({"b@example.net"});
    e.mail_params = {"ENVID=QQ+2B123"};
    const std::string n = enqueue(e);
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::failed, reply(550, "5.1.1 no"))};
    ASSERT_TRUE(msg::settle(c, d, opt_, system_clock::now(), 0.5));
    EXPECT_NE(slurp(failed(n + ".dsn")).find("Original-Envelope-Id: QQ+123\r\n"), std::string::npos);
}

// The original returned inside the report cannot end it early.
TEST(Dsn, BoundaryNotInTheReturnedMessage) {
    const auto now = system_clock::from_time_t(1700000000);
    const std::string b = "=_dsn_" + std::to_string(duration_cast<microseconds>(now.time_since_epoch()).count());
    const std::string original = "From: a@example.org\n\n--" + b + "--\nmore\n";
    msg::DsnInfo info = dsn_info(original);
    info.full = true;
    const std::string dsn = msg::make_dsn(info, now);
    EXPECT_NE(dsn.find("boundary=\"" + b + "_\""), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("\r\n--" + b + "_--\r\n"), std::string::npos);
}

// A name of 249-255 bytes is an entry (NAME_MAX allows it), but its
// NAME.report would not be a file name: it fails under a new name.
TEST_F(Delivery, AnEntryNamedTooLongForItsReportsFailsUnderANewName) {
    const std::string n = "20261123T081500.123456Z.4242.000017.host." + std::string(250 - 41, 'k');
    ASSERT_EQ(n.size(), 250u);
    {
        std::ofstream f(base_ / "spool" / "queue" / n, std::ios::binary);
        f << "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\n" << kMessage;
    }
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::failed, reply(550, "5.1.1 no"))};
    auto s = msg::settle(c, d, opt_, system_clock::now(), 0.5);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->outcome, msg::Outcome::failed);
    ASSERT_FALSE(s->failed_entry.empty());
    EXPECT_LE(s->failed_entry.size(), msg::kMaxEntryName);
    EXPECT_EQ(s->failed_entry, c.name());
    EXPECT_FALSE(spool_->find(n));
    EXPECT_EQ(spool_->find(s->failed_entry), SpoolState::failed);
    // Its reports name it as it is now; it was split from no other entry.
    const std::string report = slurp(failed(s->failed_entry + ".report"));
    EXPECT_EQ(report.rfind("Entry: " + s->failed_entry + "\nServer: ", 0), 0u) << report;
    EXPECT_EQ(slurp(failed(s->failed_entry + ".json")).rfind(R"({"entry": ")" + s->failed_entry + R"(", "server": )", 0),
              0u);
    EXPECT_TRUE(fs::exists(failed(s->failed_entry + ".dsn")));
    EXPECT_NE(slurp(failed(s->failed_entry)).find("RCPT TO:<b@example.net>"), std::string::npos);
    EXPECT_EQ(s->failed_entry.substr(0, 231), n.substr(0, 231));   // its time and order kept
    EXPECT_EQ(msg::entry_time(s->failed_entry), msg::entry_time(n));
}

TEST_F(Delivery, UnsendableFailsWithAReport) {
    const std::string n = *spool_->enqueue(envelope({}), kMessage);
    msg::Claim c = claim(n);
    const std::string why = msg::unsendable(c.entry());
    ASSERT_NE(why, "");
    ASSERT_TRUE(msg::settle_unsendable(c, why, opt_));
    EXPECT_EQ(spool_->find(n), SpoolState::failed);
    EXPECT_NE(slurp(failed(n + ".report")).find("Failed: " + why), std::string::npos);
}

// Failed under a shorter name, its reports name it by that one.
TEST_F(Delivery, AnUnsendableEntryNamedTooLongIsReportedUnderItsNewName) {
    const std::string n = "20261123T081500.123456Z.4242.000018.host." + std::string(250 - 41, 'k');
    {
        std::ofstream f(base_ / "spool" / "queue" / n, std::ios::binary);
        f << "MAIL FROM:<a@example.org>\n\n" << kMessage;
    }
    msg::Claim c = claim(n);
    const std::string why = msg::unsendable(c.entry());
    ASSERT_NE(why, "");
    ASSERT_TRUE(msg::settle_unsendable(c, why, opt_));
    ASSERT_NE(c.name(), n);
    EXPECT_EQ(spool_->find(c.name()), SpoolState::failed);
    const std::string report = slurp(failed(c.name() + ".report"));
    EXPECT_EQ(report.rfind("Entry: " + c.name() + "\n", 0), 0u) << report;
    EXPECT_EQ(slurp(failed(c.name() + ".json")).rfind(R"({"entry": ")" + c.name() + R"(", "error": )", 0), 0u);
}

TEST_F(Delivery, ControlCharactersFromTheServerAreEscapedEverywhere) {
    const std::string n = enqueue(envelope({"b@example.net", "c@example.net"}));
    msg::Claim c = claim(n);
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::failed, reply(550, "5.1.1 \x1b[31mred\x07 bell")),
               outcome("c@example.net", RcptState::deferred, reply(451, "4.0.0 nul\x01 and CR\r here"))};
    ASSERT_TRUE(msg::settle(c, d, opt_, system_clock::now(), 0.5));
    const std::string entry = *spool_->read(SpoolState::deferred, n);
    EXPECT_NE(entry.find("451 4.0.0 nul\\x01 and CR\\x0d here\n"), std::string::npos) << entry;
    for (const auto& f : fs::directory_iterator(base_ / "spool" / "failed")) {
        const std::string text = slurp(f.path());
        EXPECT_EQ(text.find('\x1b'), std::string::npos) << f.path();
        EXPECT_EQ(text.find('\x07'), std::string::npos) << f.path();
    }
    EXPECT_EQ(msg::reason(d.rcpts[0]), "550 5.1.1 \\x1b[31mred\\x07 bell");
}

// A dot that went out unanswered is said once in the attempt, whether or
// not the session's reason says it already.
TEST_F(Delivery, MayHaveBeenDeliveredIsSaidOnce) {
    for (const std::string& detail : {std::string("connection closed by h:25"),
                                     std::string("no reply after the message was sent (it may have been delivered): "
                                                 "connection closed by h:25")}) {
        const std::string n = enqueue(envelope({"b@example.net"}));
        msg::Claim c = claim(n);
        msg::Delivery d;
        d.rcpts = {outcome("b@example.net", RcptState::deferred)};
        d.rcpts[0].detail = detail;
        d.unanswered_dot = true;
        auto s = msg::settle(c, d, opt_, system_clock::from_time_t(1800000000), 0.5);
        ASSERT_TRUE(s) << s.error().message;
        const std::string entry = *spool_->read(SpoolState::deferred, n);
        const std::size_t at = entry.find("may have been delivered");
        ASSERT_NE(at, std::string::npos) << entry;
        EXPECT_EQ(entry.find("may have been delivered", at + 1), std::string::npos) << entry;
    }
}

TEST_F(Delivery, AttemptJson) {
    msg::Delivery d;
    d.rcpts = {outcome("b@example.net", RcptState::sent, reply(250, "ok")),
               outcome("c@example.net", RcptState::deferred)};
    d.rcpts[1].detail = "connection closed";
    d.unanswered_dot = true;
    d.notes = {"converted to 7 bit"};
    msg::Settlement s;
    s.outcome = msg::Outcome::partial;
    s.attempt = 2;
    s.next_attempt = system_clock::from_time_t(1800000000);
    EXPECT_EQ(msg::attempt_json("N", s, d, "h:25"),
              R"({"entry": "N", "attempt": 2, "server": "h:25", "outcome": "partial", "recipients": [)"
              R"({"address": "b@example.net", "state": "sent", "reply": "250 ok", "code": 250, "enhanced": null}, )"
              R"({"address": "c@example.net", "state": "deferred", "reply": null, "code": null, "enhanced": null, )"
              R"("detail": "connection closed"}], "next_attempt": "2027-01-15T08:00:00Z", "may_be_delivered": true, )"
              R"("notes": ["converted to 7 bit"]})");
}

TEST_F(Delivery, DueScanDeferredFirstAndOnlyWhenDue) {
    const auto now = system_clock::now();
    const std::string q1 = enqueue(envelope({"b@example.net"}));
    const std::string late = enqueue(envelope({"late@example.net"}));
    const std::string due = enqueue(envelope({"due@example.net"}));
    const std::string q2 = enqueue(envelope({"c@example.net"}));
    auto defer = [&](const std::string& n, system_clock::time_point next) {
        msg::Claim c = claim(n);
        ASSERT_TRUE(c.defer({}, msg::RetryRecord{now, "451 later"}, next));
    };
    defer(late, now + hours(1));
    defer(due, now - seconds(1));
    msg::DueScan scan(*spool_, now, 2);   // batches of two: the walk goes on across them
    std::vector<std::string> got;
    while (auto n = scan.next()) got.push_back(*n);
    EXPECT_FALSE(scan.error());
    EXPECT_EQ(got, (std::vector<std::string>{due, q1, q2}));
}

TEST_F(Delivery, SpoolWalkMergesStatesInNameOrder) {
    std::vector<std::string> names;
    for (int i = 0; i < 7; ++i) names.push_back(enqueue(envelope({"b@example.net"})));
    for (int i : {1, 4}) ASSERT_TRUE(claim(names[static_cast<std::size_t>(i)]).complete());
    ASSERT_TRUE(claim(names[5]).fail("x"));
    msg::SpoolWalk walk(*spool_, {SpoolState::queue, SpoolState::sent, SpoolState::failed}, 2);
    std::vector<std::string> got;
    std::vector<SpoolState> states;
    while (auto it = walk.next()) {
        got.push_back(it->name);
        states.push_back(it->state);
    }
    EXPECT_EQ(got, names);
    EXPECT_EQ(states[1], SpoolState::sent);
    EXPECT_EQ(states[5], SpoolState::failed);
    EXPECT_EQ(states[6], SpoolState::queue);
}

// An entry that moves from one walked state to another while the walk goes
// on is met once: here into a state whose directory was read to its end
// before the move, out of one whose batch does not reach it yet.
TEST_F(Delivery, SpoolWalkMeetsAnEntryThatMovesMeanwhile) {
    std::vector<std::string> names;
    for (int i = 0; i < 6; ++i) names.push_back(enqueue(envelope({"b@example.net"})));
    msg::SpoolWalk walk(*spool_, {SpoolState::queue, SpoolState::hold}, 2);
    std::vector<std::string> got;
    std::vector<SpoolState> states;
    while (auto it = walk.next()) {
        got.push_back(it->name);
        states.push_back(it->state);
        if (got.size() == 1) {
            ASSERT_TRUE(claim(names[3]).hold());   // queue/ -> hold/, read already
        }
        if (got.size() == 3) {
            ASSERT_TRUE(claim(names[5]).hold());   // past queue/'s batch, into hold/ read
        }
    }
    EXPECT_FALSE(walk.error());
    EXPECT_EQ(got, names);
    EXPECT_EQ(states[3], SpoolState::hold);
    EXPECT_EQ(states[4], SpoolState::queue);
    EXPECT_EQ(states[5], SpoolState::hold);
}

// An entry met by the walk that moves before it is read (an operator's
// hold, a sender's completion) is read where it is now, when that is a
// walked state; gone from every walked state, it is ENOENT.
TEST_F(Delivery, SpoolWalkReadsAnEntryWhereItMoved) {
    std::vector<std::string> names;
    for (int i = 0; i < 3; ++i) names.push_back(enqueue(envelope({"b@example.net"})));
    msg::SpoolWalk walk(*spool_, {SpoolState::queue, SpoolState::hold});
    auto first = walk.next();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->state, SpoolState::queue);
    ASSERT_TRUE(claim(names[0]).hold());   // queue/ -> hold/ after it was met
    auto data = walk.read(*first);
    ASSERT_TRUE(data) << data.error().message;
    EXPECT_EQ(first->state, SpoolState::hold);
    EXPECT_NE(data->find(kMessage), std::string::npos);
    auto second = walk.next();
    ASSERT_TRUE(second);
    ASSERT_TRUE(claim(names[1]).complete());   // into sent/, not walked
    auto gone = walk.read(*second);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().errnum, ENOENT);
    EXPECT_EQ(second->state, SpoolState::queue);
}

// A walk of a large spool reads each directory a few times, not once per
// batch (which made a walk's time grow with the square of the spool's
// size): its names are sorted in runs, kept in a temporary file, merged.
// Every entry is met once, in order, in the state it is in.
TEST_F(Delivery, SpoolWalkReadsEachDirectoryAFewTimesWhateverItsSize) {
    constexpr std::size_t kEntries = 3000, kBatch = 50;
    std::vector<std::string> names;
    {
        msg::Spool::Batch b(*spool_);
        for (std::size_t i = 0; i < kEntries; ++i) {
            auto n = b.add(envelope({"b@example.net"}), kMessage);
            ASSERT_TRUE(n) << n.error().message;
            names.push_back(*n);
        }
        ASSERT_TRUE(b.commit());
    }
    for (std::size_t i = 0; i < kEntries; i += 7) ASSERT_TRUE(claim(names[i]).complete(false));
    std::size_t to_hold = 0;
    for (std::size_t i = 3; i < kEntries; i += 11)
        if (i % 7 != 0) {
            ASSERT_TRUE(claim(names[i]).hold());
            ++to_hold;
        }
    // One state, then three merged.
    for (const auto& states : {std::vector<SpoolState>{SpoolState::queue},
                               std::vector<SpoolState>{SpoolState::queue, SpoolState::hold, SpoolState::sent}}) {
        msg::SpoolWalk walk(*spool_, states, kBatch);
        std::vector<std::string> got;
        std::size_t held = 0;
        while (auto it = walk.next()) {
            got.push_back(it->name);
            held += it->state == SpoolState::hold;
            // A move meanwhile, past where the walk is: met where it went.
            if (got.size() == 100 && states.size() > 1) {
                ASSERT_TRUE(claim(names[1002]).hold());
            }
        }
        EXPECT_FALSE(walk.error());
        if (states.size() == 1) {
            std::vector<std::string> queued;
            for (std::size_t i = 0; i < kEntries; ++i)
                if (i % 7 != 0 && (i < 3 || (i - 3) % 11 != 0)) queued.push_back(names[i]);
            EXPECT_EQ(got, queued);
        } else {
            EXPECT_EQ(got, names);
            EXPECT_EQ(held, to_hold + 1);   // names[1002] held meanwhile
        }
        // A batch per reading would be 60 readings of queue/ and more.
        EXPECT_LE(walk.directory_reads(), 4 * states.size()) << walk.directory_reads();
    }
}

// Where no temporary file can be made (the spool's tmp/ is not a
// directory, TMPDIR names none), the walk reads a batch per reading of the
// directory instead: the same entries, in the same order, all met.
TEST_F(Delivery, SpoolWalkWithoutATemporaryFileReadsInBatches) {
    constexpr std::size_t kEntries = 120, kBatch = 10;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < kEntries; ++i) names.push_back(enqueue(envelope({"b@example.net"})));
    for (std::size_t i = 0; i < kEntries; i += 5) ASSERT_TRUE(claim(names[i]).hold());
    const fs::path tmp = base_ / "spool" / "tmp";
    fs::rename(tmp, base_ / "tmp.away");
    std::ofstream(tmp.string()) << "not a directory\n";
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", (base_ / "no such directory").c_str(), 1);
    for (const auto& states : {std::vector<SpoolState>{SpoolState::queue},
                               std::vector<SpoolState>{SpoolState::queue, SpoolState::hold}}) {
        msg::SpoolWalk walk(*spool_, states, kBatch);
        std::vector<std::string> got;
        while (auto it = walk.next()) {
            const auto i = static_cast<std::size_t>(std::find(names.begin(), names.end(), it->name) - names.begin());
            EXPECT_EQ(it->state, i % 5 == 0 ? SpoolState::hold : SpoolState::queue) << it->name;
            got.push_back(it->name);
        }
        EXPECT_FALSE(walk.error());
        std::vector<std::string> want;
        for (std::size_t i = 0; i < kEntries; ++i)
            if (states.size() > 1 || i % 5 != 0) want.push_back(names[i]);
        EXPECT_EQ(got, want);
        // A reading per batch, at least: the fallback was taken.
        EXPECT_GE(walk.directory_reads(), want.size() / kBatch) << walk.directory_reads();
    }
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    fs::remove(tmp);
    fs::rename(base_ / "tmp.away", tmp);
}

// Entries enqueued while a walk goes on are met when it gets to them.
TEST_F(Delivery, SpoolWalkMeetsEntriesEnqueuedMeanwhile) {
    std::vector<std::string> names;
    for (int i = 0; i < 5; ++i) names.push_back(enqueue(envelope({"b@example.net"})));
    msg::SpoolWalk walk(*spool_, {SpoolState::queue}, 2);
    std::vector<std::string> got;
    while (auto it = walk.next()) {
        got.push_back(it->name);
        if (got.size() == 3) names.push_back(enqueue(envelope({"b@example.net"})));
    }
    EXPECT_FALSE(walk.error());
    EXPECT_EQ(got, names);
}

// An entry as the queue shows it: never tried, then after an attempt.
TEST_F(Delivery, EntryJson) {
    const std::string n = enqueue(envelope({"b@example.net", "c@example.net"}));
    auto data = spool_->read(SpoolState::queue, n);
    ASSERT_TRUE(data);
    const auto now = msg::entry_time(n).value();
    std::string j = msg::entry_json(n, SpoolState::queue, msg::parse_spool_entry(*data), now);
    EXPECT_EQ(j, R"({"entry": ")" + n + R"(", "state": "queue", "sender": "a@example.org", )"
                 R"("recipients": ["b@example.net", "c@example.net"], "size": )" + std::to_string(kMessage.size()) +
                 R"(, "enqueued": ")" + msg::format_rfc3339(now) +
                 R"(", "attempts": 0, "last_attempt": null, "last_reply": null, "next_attempt": null})");
    // No recipient: the problem is named.
    j = msg::entry_json(n, SpoolState::queue, msg::parse_spool_entry("MAIL FROM:<a@example.org>\n\nx\n"), now);
    EXPECT_NE(j.find(R"("problem": )"), std::string::npos) << j;
}

// next_attempt only while the entry waits for a retry (json.md): not for a
// deferred entry due now, nor for a held or released one that still has its
// Next-Attempt: line (release makes it due at once).
TEST_F(Delivery, EntryJsonNextAttemptOnlyWhileWaiting) {
    const auto now = time_point_cast<seconds>(system_clock::now());
    auto with_next = [&](system_clock::time_point next) {
        return msg::parse_spool_entry("MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nAttempt: " +
                                      msg::format_rfc3339(now - hours(1)) + " 451 4.2.0 busy\nNext-Attempt: " +
                                      msg::format_rfc3339(next) + "\n\nx\n");
    };
    const std::string n = "20261123T081500.123456Z.4711.000000.host";
    const std::string later = msg::format_rfc3339(now + hours(1));
    EXPECT_NE(msg::entry_json(n, SpoolState::deferred, with_next(now + hours(1)), now)
                  .find(R"("next_attempt": ")" + later + "\""),
              std::string::npos);
    for (const auto& [state, next] : {std::pair{SpoolState::deferred, now - hours(1)},
                                      std::pair{SpoolState::hold, now + hours(1)},
                                      std::pair{SpoolState::queue, now + hours(1)}}) {
        const std::string j = msg::entry_json(n, state, with_next(next), now);
        EXPECT_NE(j.find(R"("next_attempt": null)"), std::string::npos) << j;
    }
}

TEST(DeliveryDurations, ParsedAsPeopleWriteThem) {
    EXPECT_EQ(msg::parse_duration("90s"), seconds(90));
    EXPECT_EQ(msg::parse_duration("90"), seconds(90));
    EXPECT_EQ(msg::parse_duration("1h30m"), seconds(5400));
    EXPECT_EQ(msg::parse_duration("5d"), seconds(5 * 86400));
    EXPECT_EQ(msg::parse_duration("2w"), seconds(14 * 86400));
    EXPECT_FALSE(msg::parse_duration(""));
    EXPECT_FALSE(msg::parse_duration("5x"));
    EXPECT_FALSE(msg::parse_duration("m"));
    EXPECT_FALSE(msg::parse_duration("1.5h"));
    // Too large for the count of seconds: refused, not wrapped.
    EXPECT_FALSE(msg::parse_duration("99999999999999999999s"));
    EXPECT_FALSE(msg::parse_duration("9223372036854775807w"));
    EXPECT_FALSE(msg::parse_duration("9223372036854775807s1s"));
    EXPECT_EQ(msg::parse_duration("9223372036854775807s"), seconds(9223372036854775807LL));
}
