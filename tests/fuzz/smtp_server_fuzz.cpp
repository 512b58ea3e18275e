// smtp_server_fuzz.cpp - smtpsink's side of SMTP: the command parser and the
// server session fed arbitrary client bytes, cut into reads where the input
// says. Every reply the session writes must be a well-formed reply line, and
// the session must keep within its line and size limits. Then the sink
// under flood: the input sent again and again by a client that never reads
// must not make the replies grow faster than a bounded amount per input
// byte (what lets a Listener's back-pressure bound a session's memory).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "msg/smtp/command.hpp"
#include "msg/smtp/reply.hpp"
#include "msg/smtp/server.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// What the driver does when the session waits: answer a held reply, end a
// pause (a policy's delay).
void settle(msg::smtp::ServerSession& s) {
    // Each resume() or unpause() goes on with input already taken, and a
    // new wait needs a new command: this ends.
    while (s.held() || s.paused().count() > 0) {
        if (s.held()) s.resume({});
        else s.unpause();
    }
}

struct Keep : msg::smtp::ServerPolicy {
    std::size_t n = 0, largest = 0;
    msg::smtp::Verdict decide(msg::smtp::Stage s, std::string_view arg, const std::vector<std::string>&) override {
        // Some answers from a "rules file", so that those paths run too.
        using std::chrono::milliseconds;
        if (s == msg::smtp::Stage::rcpt && arg.starts_with("x")) return {550, "5.1.1 no", false};
        if (s == msg::smtp::Stage::rcpt && arg.starts_with("s")) return {0, "", false, milliseconds(5)};
        if (s == msg::smtp::Stage::rcpt && arg.starts_with("q")) return {421, "4.3.0 bye", false, milliseconds(5)};
        if (s == msg::smtp::Stage::helo && arg.starts_with("s")) return {0, "", false, milliseconds(5)};
        if (s == msg::smtp::Stage::auth && arg.starts_with("L")) return {454, "4.7.0 not now", false};
        if (s == msg::smtp::Stage::quit && arg.starts_with("q")) return {0, "", true};
        if (s == msg::smtp::Stage::data && arg.empty() && n % 2) return {0, "", false, milliseconds(5)};
        if (s == msg::smtp::Stage::dot && ++n % 3 == 0) return {451, "4.3.0 later", false};
        if (s == msg::smtp::Stage::dot && n % 5 == 0) return {0, "", false, milliseconds(5)};
        return {};
    }
    msg::smtp::Verdict accept(msg::smtp::ReceivedMessage&& m, bool& hold) override {
        largest = std::max(largest, m.data.size());
        hold = m.data.size() % 2 == 1;   // sometimes answer later
        return {};
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    // Each line alone through the command parser.
    std::size_t at = 0;
    while (at < in.size()) {
        std::size_t nl = in.find('\n', at);
        if (nl == std::string_view::npos) nl = in.size();
        std::string_view line = in.substr(at, nl - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const msg::smtp::Command c = msg::smtp::parse_command(line);
        check(c.error_at <= line.size());
        if (c.ok) check(c.error.empty());
        at = nl + 1;
    }
    // The whole input as a session, read in pieces of 1 to 64 bytes.
    msg::smtp::ServerOptions opt;
    opt.auth_user = "user";
    opt.auth_password = "pass";
    opt.max_line = 200;
    opt.max_size = 4096;
    Keep policy;
    msg::smtp::ServerSession s(opt, policy);
    s.start();
    settle(s);
    std::size_t pos = 0, step = size ? (data[0] % 64) + 1 : 1;
    while (pos < size) {
        const std::size_t n = std::min(step, size - pos);
        s.receive(in.substr(pos, n));
        pos += n;
        settle(s);
        check(s.buffered() <= opt.max_line + 64);
    }
    check(policy.largest <= opt.max_size);
    // Flood: the same bytes sixteen times, nothing sent.
    {
        Keep p2;
        msg::smtp::ServerSession f(opt, p2);
        f.start();
        settle(f);
        const std::size_t greeting = f.output().size();
        std::size_t fed = 0;
        for (int round = 0; round < 16 && size > 0 && !f.closing() && !f.dropped(); ++round) {
            for (std::size_t at = 0; at < size; at += 4096) {
                const std::size_t n = std::min<std::size_t>(4096, size - at);
                f.receive(in.substr(at, n));
                fed += n;
                settle(f);
                check(f.buffered() <= opt.max_line + 4096);
                check(f.output().size() <= greeting + 64 * fed + 8192);
            }
        }
    }
    // Every reply line is well formed.
    std::string_view out = s.output();
    at = 0;
    while (at < out.size()) {
        const std::size_t nl = out.find("\r\n", at);
        check(nl != std::string_view::npos);
        const msg::smtp::ReplyLine r = msg::smtp::parse_reply_line(out.substr(at, nl - at));
        check(r.ok && msg::smtp::reply_code_in_range(r.code));
        at = nl + 2;
    }
    return 0;
}
