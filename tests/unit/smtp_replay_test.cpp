// smtp_replay_test.cpp - what a replay may send in one write (RFC 2920,
// RFC 3207 4.2) and how a masked password is put back
// (msg/smtp/replay.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "msg/codec.hpp"
#include "msg/smtp/client_session.hpp"
#include "msg/smtp/replay.hpp"
#include "msg/smtp/server.hpp"

using namespace msg::smtp;

namespace {

std::string b64(std::string_view s) { return msg::base64_encode(s, 0, ""); }

// The writes a replay makes of every recorded group, as the first line of
// each exchange in it, with or without PIPELINING live.
std::vector<std::vector<std::string>> writes(const std::string& text, bool pipelining) {
    const Transcript t = parse_transcript(text).transcript;
    const std::vector<Exchange> ex = exchanges(t);
    std::vector<std::vector<std::string>> out;
    for (std::size_t i = 0; i < ex.size(); ++i) {
        if (ex[i].client.empty()) continue;
        const bool joins = i > 0 && !out.empty() && ex[i - 1].group == ex[i].group &&
                           pipelines_after(t, ex[i - 1], ex[i], pipelining);
        if (!joins) out.emplace_back();
        out.back().push_back(t.lines[ex[i].client[0]].text);
    }
    return out;
}

}  // namespace

TEST(SmtpReplay, OneCommandAtATimeWithoutPipelining) {
    const std::string batch = "EHLO a.example\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nx\n.\nQUIT\n";
    using W = std::vector<std::vector<std::string>>;
    EXPECT_EQ(writes(batch, false), (W{{"EHLO a.example"}, {"MAIL FROM:<a@b.example>"}, {"RCPT TO:<c@d.example>"},
                                       {"DATA"}, {"x"}, {"QUIT"}}));
    // With PIPELINING: EHLO and DATA end a group; the final dot may take
    // the next commands along (RFC 2920 3.1).
    EXPECT_EQ(writes(batch, true), (W{{"EHLO a.example"}, {"MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>", "DATA"},
                                      {"x", "QUIT"}}));
}

// Nothing after STARTTLS, nor after an AUTH that needs more round trips
// (LOGIN, or PLAIN without its initial response); an AUTH PLAIN with its
// initial response completes in one and may take the next commands along
// (RFC 4954 4), as --check lets a recorded client do (one rule:
// ends_pipelined_group).
TEST(SmtpReplay, NothingAfterStartTlsOrAuthInTheSameWrite) {
    using W = std::vector<std::vector<std::string>>;
    EXPECT_EQ(writes("EHLO a.example\nSTARTTLS\nEHLO a.example\nAUTH PLAIN AGEAYg==\nMAIL FROM:<a@b.example>\nRSET\nNOOP\nQUIT\n",
                     true),
              (W{{"EHLO a.example"}, {"STARTTLS"}, {"EHLO a.example"}, {"AUTH PLAIN AGEAYg==", "MAIL FROM:<a@b.example>", "RSET", "NOOP"},
                 {"QUIT"}}));
    EXPECT_EQ(writes("EHLO a.example\nAUTH LOGIN YQ==\nMAIL FROM:<a@b.example>\nRSET\nQUIT\n", true),
              (W{{"EHLO a.example"}, {"AUTH LOGIN YQ=="}, {"MAIL FROM:<a@b.example>", "RSET", "QUIT"}}));
}

TEST(SmtpReplay, UnmasksTheRecordedPassword) {
    const std::string masked_plain = b64(std::string("\0alice\0", 7) + std::string(kMaskedSecret));
    const std::string real_plain = b64(std::string("\0alice\0s3cret", 13));
    EXPECT_EQ(unmask_auth_line("AUTH PLAIN " + masked_plain, "s3cret"), "AUTH PLAIN " + real_plain);
    EXPECT_EQ(unmask_auth_line(masked_plain, "s3cret"), real_plain);   // PLAIN after an empty 334
    EXPECT_EQ(unmask_auth_line(b64(kMaskedSecret), "s3cret"), b64("s3cret"));   // LOGIN's password
    EXPECT_EQ(unmask_auth_line(b64("alice"), "s3cret"), std::nullopt);          // LOGIN's user name
    EXPECT_EQ(unmask_auth_line("AUTH LOGIN", "s3cret"), std::nullopt);
    EXPECT_EQ(unmask_auth_line("AUTH PLAIN " + real_plain, "other"), std::nullopt);   // not masked: as recorded
    EXPECT_EQ(unmask_auth_line("*", "s3cret"), std::nullopt);
    // swaks --auth-hide-password: base64 of PROVIDED_BUT_REMOVED, for PLAIN and LOGIN.
    const std::string swaks_plain = b64(std::string("\0alice\0", 7) + "PROVIDED_BUT_REMOVED");
    EXPECT_EQ(unmask_auth_line("AUTH PLAIN " + swaks_plain, "s3cret"), "AUTH PLAIN " + real_plain);
    EXPECT_EQ(unmask_auth_line(b64("PROVIDED_BUT_REMOVED"), "s3cret"), b64("s3cret"));
}

TEST(SmtpReplay, SecretFromFileIsTheFirstLine) {
    EXPECT_EQ(secret_from_file("s3cret\r\nmore\n"), "s3cret");
    EXPECT_EQ(secret_from_file("s3cret"), "s3cret");
    EXPECT_EQ(secret_from_file(""), "");
}

TEST(SmtpReplay, CredentialsInClearOnlyToLoopback) {
    // The rule replay() and the client session share for a password
    // without TLS.
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("127.1.2.3"));
    EXPECT_TRUE(is_loopback_host("::1"));
    EXPECT_TRUE(is_loopback_host("localhost"));
    EXPECT_FALSE(is_loopback_host("mx.example.net"));
    EXPECT_FALSE(is_loopback_host("192.0.2.1"));
    EXPECT_FALSE(is_loopback_host("127.example.net"));
}

TEST(SmtpReplayJson, StepsSummaryAndReceivedAnnotations) {
    ReplayStep s;
    s.sent = "MAIL FROM:<a@example.org>";
    s.recorded = make_reply(250, "2.1.0 Ok");
    s.compared = true;
    s.match = false;
    s.note = "no reply";
    EXPECT_EQ(replay_step_json("t.txt", 7, s),
              R"j({"source": "t.txt", "line": 7, "sent": "MAIL FROM:<a@example.org>", )j"
              R"j("recorded": {"code": 250, "enhanced": "2.1.0", "lines": ["2.1.0 Ok"]}, "live": null, )j"
              R"j("compared": true, "match": false, "note": "no reply"})j");
    // A server's text is shown as everywhere else: its control characters
    // and bytes that are not UTF-8 as \xHH, in the lines and in a note or
    // an error that quotes it.
    ReplayStep hostile;
    hostile.sent = "RCPT TO:<b@example.net>";
    hostile.live = make_reply(550, "5.1.1 no\xff such \x1b]0;x\x07user");
    hostile.match = false;
    hostile.note = "no reply: malformed reply (\"551 \x1b[31m\")";
    EXPECT_EQ(replay_step_json("t.txt", 9, hostile),
              R"j({"source": "t.txt", "line": 9, "sent": "RCPT TO:<b@example.net>", "recorded": null, )j"
              R"j("live": {"code": 550, "enhanced": "5.1.1", "lines": ["5.1.1 no\\xff such \\x1b]0;x\\x07user"]}, )j"
              R"j("compared": false, "match": false, "note": "no reply: malformed reply (\"551 \\x1b[31m\")"})j");
    ReplayReport refused;
    refused.error = "greeting 554 \x1b[2Jgo away";
    EXPECT_EQ(replay_summary_json("t.txt", "mx:25", refused, Match::code),
              R"({"source": "t.txt", "server": "mx:25", "reached": false, "error": "greeting 554 \\x1b[2Jgo away"})");
    ReplayReport r;
    r.error = "cannot connect";
    EXPECT_EQ(replay_summary_json("t.txt", "mx:25", r, Match::code),
              R"({"source": "t.txt", "server": "mx:25", "reached": false, "error": "cannot connect"})");
    r.reached = true;
    r.steps.resize(3);
    r.compared = 2;
    r.same = 1;
    r.mismatches = 1;
    EXPECT_EQ(replay_summary_json("t.txt", "mx:25", r, Match::enhanced),
              R"({"source": "t.txt", "server": "mx:25", "reached": true, "match_by": "enhanced", )"
              R"("exchanges": 3, "compared": 2, "same": 1, "mismatches": 1})");

    ReceivedMessage m;
    m.helo = "client.example";
    m.tls = true;
    annotate_received(m, "192.0.2.1:4000");
    ASSERT_EQ(m.envelope.annotations.size(), 3u);
    EXPECT_EQ(m.envelope.annotations[0], (std::pair<std::string, std::string>{"Smtp-Peer", "192.0.2.1:4000"}));
    EXPECT_EQ(m.envelope.annotations[1].first, "Smtp-Helo");
    EXPECT_EQ(m.envelope.annotations[2], (std::pair<std::string, std::string>{"Smtp-Tls", "yes"}));
}
