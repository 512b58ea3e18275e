// smtp_client_property.cpp - the client session does not depend on how the
// server's bytes are cut: a scripted server answers whatever the session
// sends (per a generated plan of MAIL, RCPT, DATA and final-dot replies,
// with and without PIPELINING), and its replies reach the session whole or
// cut at any points; the session sends the same bytes and every
// transaction ends with the same Delivery, the one the plan calls for.
// Arbitrary server bytes never crash the session and never make it keep
// more than one line's limit.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "msg/smtp/client_session.hpp"

namespace {

using namespace msg;
using namespace msg::smtp;

struct Plan {
    struct Msg {
        int mail = 250;
        std::vector<int> rcpt;
        int data = 354;
        int dot = 250;
    };
    bool pipelining = true;
    bool multiline = false;   // replies in two lines
    std::vector<Msg> msgs;
};

rc::Gen<Plan::Msg> gen_msg() {
    return rc::gen::build<Plan::Msg>(
        rc::gen::set(&Plan::Msg::mail, rc::gen::element(250, 250, 250, 451, 550)),
        rc::gen::set(&Plan::Msg::rcpt, rc::gen::mapcat(rc::gen::inRange<std::size_t>(1, 4), [](std::size_t n) {
                         return rc::gen::container<std::vector<int>>(n, rc::gen::element(250, 250, 451, 550));
                     })),
        rc::gen::set(&Plan::Msg::data, rc::gen::element(354, 354, 354, 451, 554)),
        rc::gen::set(&Plan::Msg::dot, rc::gen::element(250, 250, 451, 550)));
}

std::string reply(int code, const std::string& text, bool multiline) {
    const std::string c = std::to_string(code);
    const std::string enhanced = code == 354 ? "" : std::to_string(code / 100) + ".0.0 ";
    if (multiline) return c + "-" + enhanced + text + "\r\n" + c + " and more\r\n";
    return c + " " + enhanced + text + "\r\n";
}

// A server that answers the session's lines per the plan.
class Server {
public:
    explicit Server(const Plan& p) : plan_(p) { out_ = "220 mx.example ESMTP\r\n"; }
    void feed(const std::string& bytes) {
        in_ += bytes;
        std::size_t nl;
        while ((nl = in_.find("\r\n")) != std::string::npos) {
            const std::string line = in_.substr(0, nl);
            in_.erase(0, nl + 2);
            answer(line);
        }
    }
    const std::string& output() const { return out_; }

private:
    void answer(const std::string& l) {
        const bool ml = plan_.multiline;
        if (data_) {
            if (l != ".") return;
            data_ = false;
            out_ += any_ ? reply(plan_.msgs[msg_].dot, "end", ml) : reply(554, "no valid recipients", ml);
            return;
        }
        if (l.rfind("EHLO", 0) == 0) {
            out_ += plan_.pipelining ? "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
                                     : "250-mx.example\r\n250 8BITMIME\r\n";
        } else if (l.rfind("MAIL", 0) == 0) {
            msg_ = started_ ? msg_ + 1 : 0;
            started_ = true;
            rcpt_ = 0;
            any_ = false;
            mail_ok_ = plan_.msgs[msg_].mail == 250;
            out_ += reply(plan_.msgs[msg_].mail, "mail", ml);
        } else if (l.rfind("RCPT", 0) == 0) {
            const auto& r = plan_.msgs[msg_].rcpt;
            const int code = rcpt_ < r.size() ? r[rcpt_] : 250;
            ++rcpt_;
            any_ = any_ || (mail_ok_ && code == 250);
            out_ += reply(code, "rcpt", ml);
        } else if (l == "DATA") {
            const int code = plan_.msgs[msg_].data;
            data_ = code == 354;
            out_ += reply(code, "data", ml);
        } else if (l == "RSET") {
            out_ += reply(250, "reset", ml);
        } else if (l == "QUIT") {
            out_ += reply(221, "bye", ml);
        } else {
            out_ += reply(500, "what?", ml);
        }
    }

    const Plan& plan_;
    std::string in_, out_;
    std::size_t msg_ = 0, rcpt_ = 0;
    bool started_ = false, data_ = false, any_ = false, mail_ok_ = false;
};

struct Outcome {
    std::vector<int> states, codes;
    bool lost = false, unanswered = false;
    friend bool operator==(const Outcome&, const Outcome&) = default;
};

Outcome outcome(const Delivery& d) {
    Outcome o;
    for (const RcptOutcome& r : d.rcpts) {
        o.states.push_back(static_cast<int>(r.state));
        o.codes.push_back(r.reply ? r.reply->code : -1);
    }
    o.lost = d.connection_lost;
    o.unanswered = d.unanswered_dot;
    return o;
}

// What the plan calls for.
Outcome expected(const Plan::Msg& m) {
    Outcome o;
    auto state = [](int code) {
        return static_cast<int>(code / 100 == 2 ? RcptState::sent : code / 100 == 5 ? RcptState::failed
                                                                                     : RcptState::deferred);
    };
    for (int r : m.rcpt) {
        const int code = m.mail != 250 ? m.mail : r != 250 ? r : m.data != 354 ? m.data : m.dot;
        o.codes.push_back(code);
        o.states.push_back(state(code));
    }
    return o;
}

struct Run {
    std::string sent;        // all the session wrote
    std::vector<Outcome> got;
    bool closed = false;
    std::size_t max_buffered = 0;
};

// Drive a session against the plan's server. `cuts` sizes the pieces the
// server's bytes arrive in (0: all that is there).
Run run(const Plan& plan, const std::vector<std::size_t>& cuts) {
    SessionOptions opt;
    opt.helo = "client.example";
    ClientSession s(opt, "mx.example:25", true);
    Server server(plan);
    Run r;
    std::size_t next = 0, pos = 0, cut = 0;
    bool quit = false;
    auto drive = [&] {
        while (true) {
            if (next < plan.msgs.size() && (s.ready() || s.can_follow())) {
                Envelope e;
                e.mail_from = "a@example.org";
                for (std::size_t i = 0; i < plan.msgs[next].rcpt.size(); ++i)
                    e.rcpts.push_back({"r" + std::to_string(i) + "@example.net", {}});
                s.submit(s.prepare(e, "Subject: " + std::to_string(next) + "\n\n.body\n"));
                ++next;
                continue;
            }
            while (s.completed() > 0) r.got.push_back(outcome(s.take()));
            if (next == plan.msgs.size() && s.ready() && !quit) {
                s.quit();
                quit = true;
                continue;
            }
            break;
        }
        r.sent += s.output();
        server.feed(s.output());
        s.output().clear();
    };
    drive();
    while (pos < server.output().size() && !s.closed()) {
        std::size_t n = server.output().size() - pos;
        if (cut < cuts.size() && cuts[cut] > 0) n = std::min(n, cuts[cut]);
        ++cut;
        s.receive(std::string_view(server.output()).substr(pos, n));
        pos += n;
        r.max_buffered = std::max(r.max_buffered, s.buffered());
        drive();
    }
    r.closed = s.closed();
    return r;
}

}  // namespace

RC_GTEST_PROP(SmtpClient, AnySplitGivesTheSameSession, ()) {
    Plan plan;
    plan.pipelining = *rc::gen::arbitrary<bool>();
    plan.multiline = *rc::gen::arbitrary<bool>();
    plan.msgs = *rc::gen::mapcat(rc::gen::inRange<std::size_t>(0, 6), [](std::size_t n) {
        return rc::gen::container<std::vector<Plan::Msg>>(n, gen_msg());
    });
    const Run whole = run(plan, {});
    RC_ASSERT(whole.closed);   // QUIT was answered
    RC_ASSERT(whole.got.size() == plan.msgs.size());
    for (std::size_t i = 0; i < plan.msgs.size(); ++i) RC_ASSERT(whole.got[i] == expected(plan.msgs[i]));
    const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, 9));
    const Run split = run(plan, cuts);
    RC_ASSERT(split.sent == whole.sent);
    RC_ASSERT(split.got == whole.got);
    RC_ASSERT(split.closed);
    // One byte at a time.
    const Run bytes = run(plan, std::vector<std::size_t>(100000, 1));
    RC_ASSERT(bytes.sent == whole.sent);
    RC_ASSERT(bytes.got == whole.got);
}

RC_GTEST_PROP(SmtpClient, ArbitraryRepliesNeverCrashAndStayBounded, ()) {
    const std::string prefix = *rc::gen::element<std::string>(
        "", "220 x\r\n", "220 x\r\n250-x\r\n250 PIPELINING\r\n", "220 x\r\n250 x\r\n",
        "220 x\r\n250-x\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n");
    const std::string junk = *rc::gen::string<std::string>();
    SessionOptions opt;
    opt.replies.max_line = 64;
    opt.replies.max_lines = 20;
    opt.replies.max_bytes = 512;
    opt.auth_user = *rc::gen::element<std::string>("", "u");
    opt.auth_password = "p";
    opt.tls_mode = *rc::gen::element(TlsMode::none, TlsMode::starttls);
    ClientSession s(opt, "mx.example:25", true);
    s.receive(prefix);
    if (s.tls_requested()) s.tls_started();
    std::size_t submitted = 0;
    if (s.ready()) {
        Envelope e;
        e.mail_from = "a@example.org";
        e.rcpts.push_back({"b@example.net", {}});
        s.submit(s.prepare(e, "Subject: x\n\nbody\n"));
        ++submitted;
    }
    for (std::size_t i = 0; i < 4; ++i) {
        s.receive(junk);
        if (s.tls_requested()) s.tls_started();
        RC_ASSERT(s.buffered() <= opt.replies.max_line);
        if (s.closed()) RC_ASSERT(!s.waiting());
    }
    s.connection_closed();
    RC_ASSERT(s.closed());
    RC_ASSERT(s.completed() == submitted);
    while (s.completed() > 0) {
        const Delivery d = s.take();
        for (const RcptOutcome& o : d.rcpts) RC_ASSERT(o.reply || !o.detail.empty());
    }
}

RC_GTEST_PROP(SmtpClient, AnEndlessReplyIsGivenUp, ()) {
    // A server that never ends its EHLO reply, however its bytes come.
    const auto sizes = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 5000)));
    ClientSession s(SessionOptions{}, "mx.example:25", true);
    s.receive("220 x\r\n");
    const std::string stream = "250-" + std::string(50, 'x') + "\r\n";
    std::size_t fed = 0, i = 0;
    while (!s.closed()) {
        const std::size_t n = sizes[i++ % sizes.size()];
        std::string chunk;
        for (std::size_t k = 0; k < n; ++k) chunk += stream[(fed + k) % stream.size()];
        fed += n;
        s.receive(chunk);
        RC_ASSERT(s.buffered() <= SessionOptions{}.replies.max_line);
        RC_ASSERT(fed < 2 * 64 * 1024 + 10000);   // given up near the limits, not later
    }
    RC_ASSERT(s.error().has_value());
    RC_ASSERT(s.error()->message.find("reply from mx.example:25 over") != std::string::npos);
}
