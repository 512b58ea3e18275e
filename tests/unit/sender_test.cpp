// sender_test.cpp - msg::Sender (sender.hpp) against an in-process server
// (libmsg's Listener and ServerSession on 127.0.0.1): every due entry is
// sent and settled by several workers, refusals and deferrals land where
// delivery.hpp says, an unsendable entry fails without a session, an
// unreachable server leaves every entry as it was, a stop ends a pass
// without touching the entries, and events come one at a time.
#include <gtest/gtest.h>
#include <msg/sender.hpp>
#include <msg/smtp/listener.hpp>
#include <msg/smtp/receiver.hpp>
#include <msg/smtp/server.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace smtp = msg::smtp;

namespace {

// Refuses rcpt "bad@", defers "later@", accepts the rest; counts messages.
struct Policy : smtp::ServerPolicy {
    std::atomic<int> messages{0}, rcpts{0};
    smtp::Verdict decide(smtp::Stage stage, std::string_view arg, const std::vector<std::string>&) override {
        if (stage == smtp::Stage::rcpt && arg.find("bad@") != std::string_view::npos) return {550, "5.1.1 no such user", false};
        if (stage == smtp::Stage::rcpt && arg.find("later@") != std::string_view::npos) return {451, "4.2.0 try later", false};
        return {};
    }
    smtp::Verdict accept(smtp::ReceivedMessage&& m, bool&) override {
        ++messages;
        rcpts += static_cast<int>(m.envelope.rcpts.size());
        return {};
    }
};

struct Server : smtp::ListenerHooks {
    smtp::ServerOptions options;
    Policy policy;
    std::unique_ptr<smtp::Dialog> open(const smtp::Peer&) override {
        return std::make_unique<smtp::ServerSession>(options, policy);
    }
};

// Records the events, and checks that no two overlap.
struct Recorder : msg::SendEvents {
    std::mutex m;
    std::atomic<int> inside{0};
    bool overlapped = false;
    std::vector<std::pair<std::string, msg::Outcome>> settled_;
    std::vector<std::string> unsendable_, problems_;
    std::uint64_t last_tick = 0;
    void enter() {
        if (++inside > 1) overlapped = true;
        std::this_thread::sleep_for(1ms);
    }
    void leave() { --inside; }
    void settled(const std::string& e, const msg::Settlement& s, const msg::Delivery&) override {
        enter();
        settled_.emplace_back(e, s.outcome);
        leave();
    }
    void unsendable(const std::string& e, const std::string&, const std::string&) override {
        enter();
        unsendable_.push_back(e);
        leave();
    }
    void problem(const std::string& p) override {
        enter();
        problems_.push_back(p);
        leave();
    }
    void tick(std::uint64_t done) override {
        enter();
        last_tick = done;
        leave();
    }
};

class SenderTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "sender_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        base_ = tmpl;
        auto s = msg::Spool::open((base_ / "spool").string(), true);
        ASSERT_TRUE(s) << s.error().message;
        spool_.emplace(std::move(*s));
        options_.settle.server = "test";
        options_.session.greeting = options_.session.command = 5s;
    }
    void TearDown() override {
        stop_server();
        std::error_code ec;
        fs::remove_all(base_, ec);
    }
    // A server on 127.0.0.1 in a thread, with these hooks (the fixture's
    // own by default), until stop_server() or the end of the test.
    void start_server() { start_server(server_); }
    void start_server(smtp::ListenerHooks& hooks) {
        smtp::ListenerOptions lo;
        lo.endpoint = smtp::Endpoint{"127.0.0.1", 0};
        auto l = smtp::Listener::open(lo);
        ASSERT_TRUE(l) << l.error().message;
        listener_.emplace(std::move(*l));
        options_.server = smtp::Endpoint{"127.0.0.1", listener_->bound().port};
        thread_ = std::thread([this, &hooks] { (void)listener_->run(hooks, server_stop_); });
    }
    void stop_server() {
        server_stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::string enqueue(std::vector<std::string> rcpts, std::string from = "a@example.org") {
        msg::Envelope e;
        e.mail_from = std::move(from);
        for (auto& r : rcpts) e.rcpts.push_back({std::move(r), {}});
        auto n = spool_->enqueue(e, "From: a@example.org\nSubject: hi\n\nhello\n");
        EXPECT_TRUE(n) << n.error().message;
        return n ? *n : std::string();
    }
    // `n` entries whose outcome the spool cannot record: sent/ cannot take
    // them (a directory of each one's name: the rename fails, as on a file
    // system gone read-only).
    std::vector<std::string> enqueue_unrecordable(int n) {
        std::vector<std::string> names;
        for (int i = 0; i < n; ++i) {
            names.push_back(enqueue({"b@example.net"}));
            fs::create_directory(base_ / "spool" / "sent" / names.back());
        }
        return names;
    }
    // Entry `name` deferred by an attempt at `when`, due again now.
    void deferred_since(const std::string& name, std::chrono::system_clock::time_point when) {
        auto c = spool_->claim(name);
        ASSERT_TRUE(c && *c);
        ASSERT_TRUE((*c)->defer({}, {when, "451 4.2.0 try later"}, std::chrono::system_clock::now() - 1s));
    }
    void together(unsigned jobs);   // SessionsOf*GoOnTogether
    // One pass over `entries` entries to a server with these hooks, then
    // the server stopped: what the pass and the sender's totals say.
    struct Passed {
        msg::SendPass pass;
        std::uint64_t sent = 0, deferred = 0;
    };
    Passed pass_over(smtp::ListenerHooks& hooks, int entries = 10) {
        start_server(hooks);
        for (int i = 0; i < entries; ++i) enqueue({"b" + std::to_string(i) + "@example.net"});
        Recorder events;
        msg::Sender sender(*spool_, options_, events);
        std::atomic<bool> stop{false};
        Passed p{sender.pass(stop)};
        stop_server();
        p.sent = sender.totals().sent;
        p.deferred = sender.totals().deferred;
        return p;
    }
    std::set<std::string> in(msg::SpoolState s) {
        auto l = spool_->list(s);
        EXPECT_TRUE(l);
        return l ? std::set<std::string>(l->begin(), l->end()) : std::set<std::string>();
    }

    fs::path base_;
    std::optional<msg::Spool> spool_;
    msg::SendOptions options_;
    Server server_;
    std::optional<smtp::Listener> listener_;
    std::atomic<bool> server_stop_{false};
    std::thread thread_;
};

}  // namespace

TEST_F(SenderTest, SendsEveryDueEntryWithSeveralWorkers) {
    start_server();
    std::set<std::string> ok;
    for (int i = 0; i < 30; ++i) ok.insert(enqueue({"b" + std::to_string(i) + "@example.net"}));
    const std::string bad = enqueue({"bad@example.net"});
    const std::string later = enqueue({"later@example.net"});
    const std::string partial = enqueue({"c@example.net", "bad@example.net"});
    options_.jobs = 4;
    options_.max_per_connection = 7;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    EXPECT_FALSE(pass.unreachable);
    EXPECT_FALSE(pass.left_behind);
    EXPECT_FALSE(pass.scan_error);
    EXPECT_FALSE(events.overlapped) << "events came at the same time";
    EXPECT_TRUE(events.problems_.empty()) << events.problems_[0];
    EXPECT_EQ(events.settled_.size(), 33u);
    EXPECT_EQ(events.last_tick, 33u);
    EXPECT_EQ(sender.totals().sent, 30u);
    EXPECT_EQ(sender.totals().failed, 1u);
    EXPECT_EQ(sender.totals().deferred, 1u);
    EXPECT_EQ(sender.totals().partial, 1u);
    EXPECT_GE(sender.totals().sessions, 5u);   // 33 messages, 7 a connection
    EXPECT_EQ(server_.policy.messages, 31);    // 30, and the partial one's good recipient
    std::set<std::string> sent = in(msg::SpoolState::sent);
    for (const std::string& n : ok) EXPECT_TRUE(sent.count(n)) << n;
    EXPECT_TRUE(in(msg::SpoolState::failed).count(bad));
    EXPECT_TRUE(in(msg::SpoolState::deferred).count(later));
    EXPECT_TRUE(in(msg::SpoolState::queue).empty());
    // A second pass finds nothing due (the deferred entry waits).
    const msg::SendPass again = sender.pass(stop);
    EXPECT_FALSE(again.unreachable);
    EXPECT_EQ(events.settled_.size(), 33u);
}

TEST_F(SenderTest, UnreachableServerLeavesEveryEntry) {
    const std::string a = enqueue({"b@example.net"}), b = enqueue({"c@example.net"});
    const std::string c = enqueue({"d@example.net"}), d = enqueue({"e@example.net"});
    options_.server = smtp::Endpoint{"127.0.0.1", 1};
    options_.jobs = 2;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    EXPECT_TRUE(pass.unreachable);
    EXPECT_FALSE(pass.session_error.empty());
    EXPECT_EQ(in(msg::SpoolState::queue), (std::set<std::string>{a, b, c, d}));
    EXPECT_EQ(pass.left, 4u) << "those in hand and those never taken";
    EXPECT_TRUE(events.settled_.empty());
}

TEST_F(SenderTest, UnsendableEntryFailsWithoutASession) {
    // An entry that another program wrote with no recipient.
    const fs::path tmp = base_ / "spool" / "tmp" / "20260101T000000.000000Z.1.000000.elsewhere";
    {
        std::FILE* f = std::fopen(tmp.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("MAIL FROM:<a@example.org>\n\nSubject: x\n\nx\n", f);
        std::fclose(f);
    }
    fs::rename(tmp, base_ / "spool" / "queue" / tmp.filename());
    options_.server = smtp::Endpoint{"127.0.0.1", 1};   // never needed
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    ASSERT_EQ(events.unsendable_.size(), 1u);
    EXPECT_EQ(events.unsendable_[0], tmp.filename().string());
    EXPECT_EQ(sender.totals().failed, 1u);
    EXPECT_EQ(sender.totals().sessions, 0u);
    EXPECT_TRUE(in(msg::SpoolState::failed).count(tmp.filename().string()));
    EXPECT_FALSE(pass.unreachable);
}

TEST_F(SenderTest, AnOutcomeTheSpoolCannotRecordStopsTheClaims) {
    // Sent on, each would be sent again by every later pass.
    start_server();
    const std::vector<std::string> names = enqueue_unrecordable(6);
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    EXPECT_TRUE(pass.unrecorded);
    // The first only: the next one's envelope went out behind its final dot
    // and was answered 354, but its message is not sent.
    EXPECT_EQ(server_.policy.messages, 1);
    EXPECT_FALSE(events.problems_.empty());
    EXPECT_EQ(in(msg::SpoolState::queue), std::set<std::string>(names.begin(), names.end()));
    // The next pass starts afresh, and stops again.
    const int before = server_.policy.messages;
    EXPECT_TRUE(sender.pass(stop).unrecorded);
    EXPECT_EQ(server_.policy.messages - before, 1);
}

TEST_F(SenderTest, AnOutcomeTheSpoolCannotRecordStopsEverySession) {
    // As above, over three sessions: once one outcome cannot be recorded, the
    // others send nothing more either (a message under way each, at most).
    start_server();
    const std::vector<std::string> names = enqueue_unrecordable(12);
    options_.jobs = 3;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    EXPECT_TRUE(sender.pass(stop).unrecorded);
    EXPECT_GE(server_.policy.messages, 1);
    EXPECT_LE(server_.policy.messages, 3);
    EXPECT_EQ(in(msg::SpoolState::queue), std::set<std::string>(names.begin(), names.end()));
}

// An outage counts against max_age as any temporary failure does: an entry
// tried before, first over max_age ago, fails when the server cannot be
// reached (5.4.7, with why); one tried lately, and one never tried, wait.
TEST_F(SenderTest, UnreachableServerFailsWhatIsPastMaxAgeAndLeavesTheRest) {
    const std::string old = enqueue({"b@example.net", "c@example.net"}), recent = enqueue({"d@example.net"});
    const std::string fresh = enqueue({"e@example.net"}), ancient = enqueue({"f@example.net"});
    const auto now = std::chrono::system_clock::now();
    // (An Attempt: at the clock's start, where an older one is put: its
    // age counted in nanoseconds would wrap negative.)
    deferred_since(old, now - 10 * 24h);
    deferred_since(recent, now - 1h);
    deferred_since(ancient, std::chrono::system_clock::time_point::min() + 1h);
    options_.server = smtp::Endpoint{"127.0.0.1", 1};
    options_.settle.retry.max_age = 5 * 24h;
    options_.jobs = 2;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    EXPECT_TRUE(pass.unreachable);
    EXPECT_EQ(pass.expired, 2u);
    EXPECT_EQ(pass.left, 2u);
    EXPECT_EQ(in(msg::SpoolState::failed), (std::set<std::string>{old, ancient}));
    EXPECT_EQ(in(msg::SpoolState::deferred), (std::set<std::string>{recent}));
    EXPECT_EQ(in(msg::SpoolState::queue), (std::set<std::string>{fresh}));
    EXPECT_EQ(sender.totals().failed, 2u);
    ASSERT_EQ(events.settled_.size(), 2u);
    EXPECT_EQ(events.settled_[0], std::pair(old, msg::Outcome::failed));
    auto report = spool_->report(old);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_NE(report->find("gave up after 2 attempts over 10d"), std::string::npos) << *report;
    EXPECT_NE(report->find("no session with 127.0.0.1:1"), std::string::npos) << *report;
    EXPECT_NE(report->find("c@example.net"), std::string::npos) << *report;
}

// Unreachable is said of a pass: under --watch, a server lost after an
// earlier pass reached it still lets entries past max_age fail.
TEST_F(SenderTest, AServerLostAfterAnEarlierPassIsUnreachableForTheNext) {
    start_server();
    const std::string first = enqueue({"b@example.net"});
    Recorder events;
    options_.settle.retry.max_age = 5 * 24h;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    EXPECT_FALSE(sender.pass(stop).unreachable);
    EXPECT_TRUE(in(msg::SpoolState::sent).count(first));
    stop_server();
    const std::string old = enqueue({"c@example.net"});
    deferred_since(old, std::chrono::system_clock::now() - 10 * 24h);
    const msg::SendPass second = sender.pass(stop);
    EXPECT_TRUE(second.unreachable);
    EXPECT_EQ(second.expired, 1u);
    EXPECT_TRUE(in(msg::SpoolState::failed).count(old));
}

TEST_F(SenderTest, AnEntryDeferredByAnotherSenderAfterTheListingWaitsForItsTime) {
    // Another sender defers the second entry while this one is at its first
    // (at the EHLO of its session): listed in queue/, it is claimed from
    // deferred/, and is not due.
    struct Other : Server {
        msg::Spool* spool = nullptr;
        std::string name;
        std::atomic<bool> deferred{false};
        struct Hook : smtp::ServerPolicy {
            Other* o;
            smtp::Verdict decide(smtp::Stage stage, std::string_view a, const std::vector<std::string>& r) override {
                if (stage == smtp::Stage::helo && !o->deferred.exchange(true)) {
                    auto c = o->spool->claim(o->name);
                    if (c && *c)
                        (void)(*c)->defer({}, {std::chrono::system_clock::now(), "451 4.2.0 later"},
                                          std::chrono::system_clock::now() + std::chrono::hours(1));
                }
                return o->policy.decide(stage, a, r);
            }
            smtp::Verdict accept(smtp::ReceivedMessage&& m, bool& h) override { return o->policy.accept(std::move(m), h); }
        } hook;
        std::unique_ptr<smtp::Dialog> open(const smtp::Peer&) override {
            hook.o = this;
            return std::make_unique<smtp::ServerSession>(options, hook);
        }
    } other;
    const std::string first = enqueue({"b@example.net"});
    other.name = enqueue({"c@example.net"});
    auto handle = msg::Spool::open((base_ / "spool").string(), false);
    ASSERT_TRUE(handle);
    other.spool = &*handle;
    start_server(other);
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    (void)sender.pass(stop);
    ASSERT_TRUE(in(msg::SpoolState::deferred).count(other.name)) << "the other sender's deferral did not happen first";
    EXPECT_EQ(other.policy.messages, 1);
    EXPECT_TRUE(in(msg::SpoolState::sent).count(first));
    auto data = spool_->read(msg::SpoolState::deferred, other.name);
    ASSERT_TRUE(data);
    EXPECT_EQ(msg::retry_info(msg::parse_spool_entry(*data)).attempts, 1u);
    EXPECT_EQ(sender.totals().skipped, 1u);   // said in the summary
}

TEST_F(SenderTest, ARecipientListedTwiceGetsOneRcpt) {
    start_server();
    const std::string a = enqueue({"b@example.net", "c@example.net", "b@example.net"});
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    (void)sender.pass(stop);
    EXPECT_EQ(server_.policy.messages, 1);
    EXPECT_EQ(server_.policy.rcpts, 2);
    EXPECT_TRUE(in(msg::SpoolState::sent).count(a));
}

TEST_F(SenderTest, StopLeavesTheEntries) {
    start_server();
    const std::string a = enqueue({"b@example.net"});
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{true};
    const msg::SendPass pass = sender.pass(stop);
    EXPECT_FALSE(pass.unreachable);
    EXPECT_FALSE(pass.left_behind);
    EXPECT_EQ(in(msg::SpoolState::queue), (std::set<std::string>{a}));
    EXPECT_EQ(server_.policy.messages, 0);
}

TEST_F(SenderTest, TranscriptsArePrivateAndWhole) {
    start_server();
    enqueue({"b@example.net"});
    enqueue({"c@example.net"});
    options_.transcript_dir = (base_ / "tr").string();
    fs::create_directory(options_.transcript_dir);
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    (void)sender.pass(stop);
    std::vector<fs::path> files(fs::directory_iterator(options_.transcript_dir), fs::directory_iterator{});
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(fs::status(files[0]).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    std::FILE* f = std::fopen(files[0].c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::string text(1 << 16, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    EXPECT_NE(text.find("RCPT TO:<b@example.net>"), std::string::npos) << text;
    EXPECT_NE(text.find("RCPT TO:<c@example.net>"), std::string::npos) << text;
    EXPECT_NE(text.find("QUIT"), std::string::npos) << text;
}

// Both ends in libmsg: a Sender delivers to a Receiver that answers by
// Rules and stores into another spool, each message durable before its 250.
TEST_F(SenderTest, DeliversToAReceiverThatStoresIntoASpool) {
    auto inbox = msg::Spool::open((base_ / "inbox").string(), true);
    ASSERT_TRUE(inbox) << inbox.error().message;
    auto rules = smtp::Rules::parse("rcpt /^bad@/ 550 5.1.1 no such user\n", "rules");
    ASSERT_TRUE(rules);
    smtp::ServerOptions so;
    smtp::Receiver receiver(so, *rules, &*inbox);
    start_server(receiver);
    for (int i = 0; i < 9; ++i) enqueue({"b" + std::to_string(i) + "@example.net"});
    enqueue({"bad@example.net"});
    options_.jobs = 2;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    (void)sender.pass(stop);
    stop_server();
    EXPECT_EQ(sender.totals().sent, 9u);
    EXPECT_EQ(sender.totals().failed, 1u);
    EXPECT_EQ(receiver.totals.messages, 9u);
    EXPECT_EQ(receiver.totals.refused, 1u);
    EXPECT_EQ(receiver.totals.store_errors, 0u);
    auto stored = inbox->list(msg::SpoolState::queue);
    ASSERT_TRUE(stored);
    ASSERT_EQ(stored->size(), 9u);
    auto data = inbox->read(msg::SpoolState::queue, (*stored)[0]);
    ASSERT_TRUE(data);
    EXPECT_NE(data->find("Smtp-Peer: 127.0.0.1:"), std::string::npos) << *data;
    EXPECT_NE(data->find("Subject: hi\r\n\r\nhello\r\n"), std::string::npos) << *data;   // as sent: CRLF
}

namespace {

// Holds the reply to each message's final dot until `gate` messages wait at
// once, then answers them all (and every later one at once).
struct Gate : smtp::ListenerHooks {
    struct Session : smtp::ServerPolicy, smtp::ServerSession {
        Session(Gate& g, const smtp::ServerOptions& o) : smtp::ServerSession(o, *this), gate(g) {}
        smtp::Verdict decide(smtp::Stage, std::string_view, const std::vector<std::string>&) override { return {}; }
        smtp::Verdict accept(smtp::ReceivedMessage&&, bool& hold) override {
            ++gate.messages;
            if (gate.opened) return {};
            hold = true;
            gate.waiting.push_back(this);
            gate.most = std::max(gate.most, gate.waiting.size());
            return {};
        }
        Gate& gate;
    };
    explicit Gate(std::size_t n) : gate(n) {}
    std::unique_ptr<smtp::Dialog> open(const smtp::Peer&) override { return std::make_unique<Session>(*this, options); }
    void closed(smtp::Dialog& d) override { std::erase(waiting, static_cast<Session*>(&d)); }
    void turn_end() override {
        if (waiting.size() < gate) return;
        opened = true;
        for (Session* s : waiting) s->resume({});
        waiting.clear();
    }
    smtp::ServerOptions options;
    std::size_t gate, most = 0;
    bool opened = false;
    int messages = 0;   // the listener's thread only
    std::vector<Session*> waiting;
};

}  // namespace

// Every session of -j N is under way at once, though sessions share a
// loop: no message is answered until N - 2 of them wait for it. Sessions
// taken one at a time would stop at the first held reply. -j 8 is one
// loop; -j 20 two on two cores or more.
TEST_F(SenderTest, SessionsOfOneLoopGoOnTogether) { together(8); }
TEST_F(SenderTest, SessionsOfSeveralLoopsGoOnTogether) { together(20); }

void SenderTest::together(unsigned jobs) {
    Gate gate(jobs - 2);
    start_server(gate);
    options_.session.data_end = 10s;
    const unsigned entries = 2 * jobs;
    for (unsigned i = 0; i < entries; ++i) enqueue({"b" + std::to_string(i) + "@example.net"});
    options_.jobs = jobs;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const auto start = std::chrono::steady_clock::now();
    const msg::SendPass pass = sender.pass(stop);
    const auto took = std::chrono::steady_clock::now() - start;
    stop_server();   // the gate is the server thread's until then
    EXPECT_FALSE(pass.left_behind);
    EXPECT_EQ(sender.totals().sent, entries);
    EXPECT_EQ(gate.messages, static_cast<int>(entries));
    EXPECT_GE(gate.most, jobs - 2);
    EXPECT_EQ(sender.totals().sessions, jobs);
    EXPECT_LT(took, 10s) << "a held reply was waited for to its time limit";
    EXPECT_TRUE(in(msg::SpoolState::queue).empty());
}

namespace {

// Serves its first connection; every later one gets a 421 greeting.
struct FirstOnly : smtp::ServerPolicy, smtp::ListenerHooks {
    std::atomic<int> connections{0}, messages{0};
    smtp::ServerOptions options;
    smtp::Verdict decide(smtp::Stage st, std::string_view, const std::vector<std::string>&) override {
        if (st == smtp::Stage::connect && ++connections > 1) return {421, "4.7.0 one connection only", false};
        return {};
    }
    smtp::Verdict accept(smtp::ReceivedMessage&&, bool&) override {
        ++messages;
        return {};
    }
    std::unique_ptr<smtp::Dialog> open(const smtp::Peer&) override {
        return std::make_unique<smtp::ServerSession>(options, *this);
    }
};

}  // namespace

// A session refused at its greeting leaves its entry and stops for the
// pass, though its loop goes on with the others: one knock each.
TEST_F(SenderTest, ARefusedSessionDoesNotKnockAgain) {
    FirstOnly srv;
    start_server(srv);
    for (int i = 0; i < 40; ++i) enqueue({"b" + std::to_string(i) + "@example.net"});
    options_.jobs = 8;
    options_.max_per_connection = 1000;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    stop_server();
    EXPECT_EQ(srv.connections, 8) << "a refused session knocked again";
    EXPECT_EQ(in(msg::SpoolState::queue).size(), 7u);   // one entry for each refused session
    EXPECT_EQ(sender.totals().sent, 33u);
    EXPECT_EQ(srv.messages, 33);
    EXPECT_TRUE(pass.left_behind);
    EXPECT_EQ(pass.left, 7u) << "each refused session's entry is counted";
    EXPECT_FALSE(pass.unreachable);
    EXPECT_NE(pass.session_error.find("one connection only"), std::string::npos) << pass.session_error;
}

namespace {

// Answers MAIL FROM as `mail` says, given the number of the MAIL in its
// connection (1 for the first); counts connections and messages.
struct MailGate : smtp::ListenerHooks {
    struct PerConnection : smtp::ServerPolicy {
        MailGate& gate;
        int mails = 0;
        explicit PerConnection(MailGate& g) : gate(g) {}
        smtp::Verdict decide(smtp::Stage st, std::string_view, const std::vector<std::string>&) override {
            if (st == smtp::Stage::mail) return gate.mail(++mails);
            if (st == smtp::Stage::rcpt && gate.greylist) return {451, "4.7.1 greylisted, try again later", false};
            return {};
        }
        smtp::Verdict accept(smtp::ReceivedMessage&&, bool&) override {
            ++gate.messages;
            return {};
        }
    };
    struct Session : smtp::ServerSession {
        std::unique_ptr<PerConnection> policy;
        Session(const smtp::ServerOptions& o, std::unique_ptr<PerConnection> p)
            : smtp::ServerSession(o, *p), policy(std::move(p)) {}
    };
    std::function<smtp::Verdict(int)> mail;
    bool greylist = false;
    std::atomic<int> connections{0}, messages{0};
    smtp::ServerOptions options;
    std::unique_ptr<smtp::Dialog> open(const smtp::Peer&) override {
        ++connections;
        return std::make_unique<Session>(options, std::make_unique<PerConnection>(*this));
    }
};

}  // namespace

// A server that refuses the sender for now, message after message (454 to
// MAIL FROM), throttles the lane: three entries are deferred, the rest wait
// untouched for a later pass, and the pass says why.
TEST_F(SenderTest, RefusalsAtMailFromOneAfterAnotherStopTheLane) {
    MailGate srv;
    srv.mail = [](int) { return smtp::Verdict{454, "4.7.0 rate limit exceeded", false}; };
    const auto [pass, sent, deferred] = pass_over(srv);
    EXPECT_EQ(srv.connections, 1);
    EXPECT_EQ(deferred, 3u);
    EXPECT_EQ(in(msg::SpoolState::deferred).size(), 3u);
    EXPECT_EQ(in(msg::SpoolState::queue).size(), 7u);
    EXPECT_TRUE(pass.left_behind);
    EXPECT_EQ(pass.left, 7u);
    EXPECT_NE(pass.session_error.find("refused MAIL FROM for now 3 times in a row"), std::string::npos) << pass.session_error;
    EXPECT_NE(pass.session_error.find("rate limit exceeded"), std::string::npos) << pass.session_error;
}

// Greylisting defers at RCPT: every entry gets its first attempt (which is
// what starts the greylist's clock), in one session.
TEST_F(SenderTest, GreylistingAtRcptStopsNothing) {
    MailGate srv;
    srv.mail = [](int) { return smtp::Verdict{}; };
    srv.greylist = true;
    const auto [pass, sent, deferred] = pass_over(srv);
    EXPECT_EQ(srv.connections, 1);
    EXPECT_EQ(in(msg::SpoolState::deferred).size(), 10u);
    EXPECT_FALSE(pass.left_behind);
    EXPECT_EQ(pass.left, 0u);
}

// A 421 before the session took a message stops the lane (a connection
// again at once would meet the same); one after messages were taken is
// the server's limit per connection, and the lane connects again.
TEST_F(SenderTest, A421BeforeAnyMessageStopsTheLaneOneAfterDoesNot) {
    {
        MailGate srv;
        srv.mail = [](int) { return smtp::Verdict{421, "4.7.0 too many connections from your host", false}; };
        options_.jobs = 2;
        const auto [pass, sent, deferred] = pass_over(srv);
        EXPECT_EQ(srv.connections, 2) << "a throttled lane connected again";
        EXPECT_EQ(in(msg::SpoolState::deferred).size(), 2u);
        EXPECT_EQ(in(msg::SpoolState::queue).size(), 8u);
        EXPECT_TRUE(pass.left_behind);
        EXPECT_EQ(pass.left, 8u);
        EXPECT_NE(pass.session_error.find("too many connections"), std::string::npos) << pass.session_error;
        EXPECT_NE(pass.session_error.find("before a message was accepted"), std::string::npos) << pass.session_error;
    }
    TearDown();
    server_stop_ = false;
    SetUp();
    MailGate srv;
    // two messages a connection
    srv.mail = [](int n) { return n <= 2 ? smtp::Verdict{} : smtp::Verdict{421, "4.7.0 two messages a connection", false}; };
    options_.jobs = 1;
    const auto [pass, sent, deferred] = pass_over(srv);
    EXPECT_FALSE(pass.left_behind) << pass.session_error;
    EXPECT_EQ(sent + deferred, 10u);
    EXPECT_GE(sent, 7u);
    EXPECT_EQ(srv.messages, static_cast<int>(sent));
}

// Entries failed without the server (over its SIZE) do not wait for the
// socket: the next is taken at once. Before, each cost a turn of the loop
// (200 ms): twenty of them took four seconds.
TEST_F(SenderTest, EntriesDecidedWithoutTheServerDoNotWait) {
    server_.options.max_size = 200;
    start_server();
    msg::Envelope e;
    e.mail_from = "a@example.org";
    e.rcpts.push_back({"b@example.net", {}});
    const std::string big = "From: a@example.org\nSubject: big\n\n" + std::string(400, 'x') + "\n";
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(spool_->enqueue(e, big));
    enqueue({"c@example.net"});
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const auto t0 = std::chrono::steady_clock::now();
    const msg::SendPass pass = sender.pass(stop);
    const auto took = std::chrono::steady_clock::now() - t0;
    stop_server();
    EXPECT_EQ(sender.totals().failed, 20u);
    EXPECT_EQ(sender.totals().sent, 1u);
    EXPECT_FALSE(pass.left_behind);
    EXPECT_LT(took, 2s) << "entries failed here waited for the socket";
}

namespace {

// Greets with 421, always; counts connections.
struct Busy : smtp::ServerPolicy, smtp::ListenerHooks {
    std::atomic<int> connections{0};
    smtp::ServerOptions options;
    smtp::Verdict decide(smtp::Stage st, std::string_view, const std::vector<std::string>&) override {
        if (st == smtp::Stage::connect) ++connections;
        return {421, "4.3.2 busy, try another", false};
    }
    smtp::Verdict accept(smtp::ReceivedMessage&&, bool&) override { return {}; }
    std::unique_ptr<smtp::Dialog> open(const smtp::Peer&) override {
        return std::make_unique<smtp::ServerSession>(options, *this);
    }
};

// A Listener of its own in a thread, for a second server in a test.
struct OtherServer {
    std::optional<smtp::Listener> listener;
    std::atomic<bool> stop{false};
    std::thread thread;
    explicit OtherServer(smtp::ListenerHooks& hooks) {
        smtp::ListenerOptions lo;
        lo.endpoint = smtp::Endpoint{"127.0.0.1", 0};
        auto l = smtp::Listener::open(lo);
        if (!l) {
            ADD_FAILURE() << l.error().message;
            return;
        }
        listener.emplace(std::move(*l));
        thread = std::thread([this, &hooks] { (void)listener->run(hooks, stop); });
    }
    smtp::Endpoint endpoint() const { return {"127.0.0.1", listener ? listener->bound().port : std::uint16_t{0}}; }
    ~OtherServer() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
};

// Which server each settled attempt names.
struct ServerNames : Recorder {
    std::set<std::string> servers;
    std::vector<std::string> fell_back_to;
    void fell_back(const std::string&, const std::string& next) override { fell_back_to.push_back(next); }
    void settled(const std::string& e, const msg::Settlement& s, const msg::Delivery& d) override {
        Recorder::settled(e, s, d);
        std::lock_guard<std::mutex> lock(m);
        servers.insert(s.server);
    }
};

}  // namespace

// No session with the server (nothing listens; a 421 greeting): the next
// in the list is tried, in order (RFC 5321 5.1), and one that gave none is
// not tried again by later sessions of the pass, only in the next pass.
TEST_F(SenderTest, FallbackServersAreTriedInOrder) {
    Busy busy;
    OtherServer second(busy);
    start_server();
    const smtp::Endpoint good = options_.server;
    options_.server = smtp::Endpoint{"127.0.0.1", 1};
    options_.fallback = {second.endpoint(), good};
    options_.jobs = 2;
    options_.max_per_connection = 3;
    for (int i = 0; i < 12; ++i) enqueue({"b" + std::to_string(i) + "@example.net"});
    ServerNames events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    EXPECT_FALSE(pass.unreachable);
    EXPECT_FALSE(pass.left_behind) << pass.session_error;
    EXPECT_EQ(sender.totals().sent, 12u);
    EXPECT_GE(sender.totals().sessions, 4u);   // 12 messages, 3 a connection
    EXPECT_LE(busy.connections, 2) << "a server that gave no session was tried again in the same pass";
    EXPECT_GE(busy.connections, 1);
    EXPECT_EQ(events.servers, std::set<std::string>{good.str()}) << "reports name the server the attempt went to";
    // Said once for each server passed over.
    EXPECT_EQ(events.fell_back_to, (std::vector<std::string>{second.endpoint().str(), good.str()}));
    EXPECT_TRUE(in(msg::SpoolState::queue).empty());
    // The next pass starts with the first server again.
    enqueue({"c@example.net"});
    const int before = busy.connections;
    (void)sender.pass(stop);
    EXPECT_EQ(busy.connections, before + 1);
    EXPECT_EQ(sender.totals().sent, 13u);
}

TEST_F(SenderTest, NoServerOfTheListGivesASession) {
    Busy busy;
    OtherServer second(busy);
    options_.server = smtp::Endpoint{"127.0.0.1", 1};
    options_.fallback = {second.endpoint()};
    const std::string a = enqueue({"b@example.net"});
    const std::string old = enqueue({"c@example.net"});
    deferred_since(old, std::chrono::system_clock::now() - 10 * 24h);
    options_.settle.retry.max_age = 5 * 24h;
    Recorder events;
    msg::Sender sender(*spool_, options_, events);
    std::atomic<bool> stop{false};
    const msg::SendPass pass = sender.pass(stop);
    EXPECT_TRUE(pass.unreachable);
    EXPECT_EQ(in(msg::SpoolState::queue), std::set<std::string>{a});
    // Why, for each server in turn.
    EXPECT_NE(pass.session_error.find("127.0.0.1:1"), std::string::npos) << pass.session_error;
    EXPECT_NE(pass.session_error.find("421 4.3.2 busy"), std::string::npos) << pass.session_error;
    EXPECT_LT(pass.session_error.find("127.0.0.1:1"), pass.session_error.find("421")) << pass.session_error;
    EXPECT_EQ(busy.connections, 1);
    // An entry past max-age fails, its report naming every server tried.
    EXPECT_EQ(pass.expired, 1u);
    auto report = spool_->report(old);
    ASSERT_TRUE(report) << report.error().message;
    const std::string both = "127.0.0.1:1 or " + second.endpoint().str();
    EXPECT_NE(report->find("Server: " + both), std::string::npos) << *report;
    EXPECT_NE(report->find("no session with " + both), std::string::npos) << *report;
}
