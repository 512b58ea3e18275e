// smtp_server_property.cpp - the server session does not depend on how its
// input is cut: any split of a pipelined session into reads gives the same
// replies and the same messages; spoolsend's dot-stuffing (data_payload)
// and the server's unstuffing are inverses; arbitrary bytes never crash it
// and never make it keep more than its limits.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "msg/smtp/server.hpp"
#include "msg/smtp/client_session.hpp"

namespace {

using namespace msg::smtp;

struct Collect : ServerPolicy {
    std::vector<std::string> data;
    std::vector<std::string> rcpts;
    Verdict decide(Stage, std::string_view, const std::vector<std::string>&) override { return {}; }
    Verdict accept(ReceivedMessage&& m, bool& hold) override {
        hold = false;
        data.push_back(m.data);
        for (const auto& r : m.envelope.rcpts) rcpts.push_back(r.address);
        return {};
    }
};

struct Run {
    std::string out;
    std::vector<std::string> data;
    bool closing = false;
};

Run feed(const std::string& input, const std::vector<std::size_t>& cuts, const ServerOptions& opt = {}) {
    Collect policy;
    ServerSession s(opt, policy);
    s.start();
    std::size_t at = 0;
    for (std::size_t c : cuts) {
        const std::size_t n = std::min(c, input.size() - at);
        s.receive(std::string_view(input).substr(at, n));
        at += n;
    }
    s.receive(std::string_view(input).substr(at));
    return Run{s.output(), policy.data, s.closing()};
}

// Message text: lines of printable bytes, dots, bare CRs and LFs.
rc::Gen<std::string> message_text() {
    return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
                            "a", ".", "..", ".x", "\r", "\n", "\r\n", "text line", " ", "\xc3\xa9", "QUIT", "\r\n.\r\n")),
                        [](const std::vector<std::string>& parts) {
                            std::string s;
                            for (const auto& p : parts) s += p;
                            return s;
                        });
}

std::string crlf(const std::string& m) {
    // What the server should keep: data_payload's lines without the stuffing.
    std::string wire = data_payload(m);
    wire.resize(wire.size() - 3);   // the final ".\r\n"
    std::string out;
    std::size_t i = 0;
    while (i < wire.size()) {
        if (wire[i] == '.') ++i;    // every line starting with a dot was stuffed
        const std::size_t nl = wire.find('\n', i);
        out.append(wire, i, nl + 1 - i);
        i = nl + 1;
    }
    return out;
}

}  // namespace

RC_GTEST_PROP(SmtpServer, AnySplitGivesTheSameSession, ()) {
    const std::vector<std::string> messages = *rc::gen::container<std::vector<std::string>>(message_text());
    std::string input = "EHLO client.example\r\n";
    for (const std::string& m : messages)
        input += "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" + data_payload(m);
    input += "QUIT\r\n";
    const Run whole = feed(input, {});
    RC_ASSERT(whole.data.size() == messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) RC_ASSERT(whole.data[i] == crlf(messages[i]));
    RC_ASSERT(whole.closing);
    const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, 8));
    const Run split = feed(input, cuts);
    RC_ASSERT(split.out == whole.out);
    RC_ASSERT(split.data == whole.data);
}

RC_GTEST_PROP(SmtpServer, ArbitraryInputNeverCrashesAndStaysBounded, ()) {
    const std::string prefix = *rc::gen::element<std::string>(
        "", "EHLO x\r\n", "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n",
        "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 20\r\n", "EHLO x\r\nAUTH LOGIN\r\n");
    const std::string junk = *rc::gen::string<std::string>();
    ServerOptions opt;
    opt.auth_user = "u";
    opt.auth_password = "p";
    opt.max_line = 64;
    opt.max_size = 256;
    Collect policy;
    ServerSession s(opt, policy);
    s.start();
    s.receive(prefix);
    for (std::size_t i = 0; i < 4; ++i) s.receive(junk);
    RC_ASSERT(s.buffered() <= junk.size() + opt.max_line + 8);
    for (const auto& d : policy.data) RC_ASSERT(d.size() <= opt.max_size);
}
