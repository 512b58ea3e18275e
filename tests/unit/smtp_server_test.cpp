// smtp_server_test.cpp - the server session (msg/smtp/server.hpp): replies
// per command and sequence, AUTH, STARTTLS, limits, a policy's verdicts,
// replies held for a group commit, and a policy's delays.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "msg/smtp/rules.hpp"
#include "msg/smtp/server.hpp"

using namespace msg::smtp;

namespace {

struct Policy : ServerPolicy {
    std::vector<ReceivedMessage> got;
    bool hold = false;
    Verdict rcpt_verdict, data_verdict;
    int data_stages = 0;
    Verdict decide(Stage s, std::string_view arg, const std::vector<std::string>&) override {
        if (s == Stage::rcpt && arg.starts_with("no@")) return rcpt_verdict;
        if (s == Stage::helo && arg.starts_with("bad.")) return Verdict{550, "5.7.1 bad helo", false};
        if (s == Stage::data) {
            ++data_stages;
            return data_verdict;
        }
        return {};
    }
    Verdict accept(ReceivedMessage&& m, bool& h) override {
        got.push_back(std::move(m));
        h = hold;
        return {};
    }
};

// Codes of the complete replies in `out`, in order.
std::vector<int> codes(const std::string& out) {
    std::vector<int> c;
    std::size_t at = 0;
    while (at < out.size()) {
        const std::size_t nl = out.find("\r\n", at);
        if (nl == std::string::npos) break;
        if (nl - at == 3 || (nl - at >= 4 && out[at + 3] == ' ')) c.push_back(std::stoi(out.substr(at, 3)));
        at = nl + 2;
    }
    return c;
}

struct Fixture {
    ServerOptions opt;
    Policy policy;
    std::unique_ptr<ServerSession> s;
    void start() {
        s = std::make_unique<ServerSession>(opt, policy);
        s->start();
    }
    std::vector<int> say(const std::string& in) {
        s->output().clear();
        s->receive(in);
        return codes(s->output());
    }
};

}  // namespace

TEST(SmtpServer, SequenceAndSyntax) {
    Fixture f;
    f.start();
    EXPECT_EQ(codes(f.s->output()), std::vector<int>{220});
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\n"), std::vector<int>{503});   // before EHLO
    EXPECT_EQ(f.say("EHLO c.example\r\n"), std::vector<int>{250});
    EXPECT_EQ(f.say("RCPT TO:<d@e.example>\r\n"), std::vector<int>{503});      // before MAIL
    EXPECT_EQ(f.say("DATA\r\n"), std::vector<int>{503});
    EXPECT_EQ(f.say("MAIL FROM:a@b.example\r\n"), std::vector<int>{501});
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example> FOO=1\r\n"), std::vector<int>{555});
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\nMAIL FROM:<a@b.example>\r\n"), (std::vector<int>{250, 503}));
    EXPECT_EQ(f.say("DATA\r\n"), std::vector<int>{554});                       // no recipient
    EXPECT_EQ(f.say("RCPT TO:<c>\r\n"), std::vector<int>{553});               // no domain
    EXPECT_EQ(f.say("XYZZY\r\n"), std::vector<int>{500});
    EXPECT_EQ(f.say("RSET\r\nNOOP\r\nVRFY x\r\nHELP\r\n"), (std::vector<int>{250, 250, 252, 214}));
    EXPECT_EQ(f.say("NOOP " + std::string(5000, 'x') + "\r\nNOOP\r\n"), (std::vector<int>{500, 250}));
    EXPECT_EQ(f.say("QUIT\r\n"), std::vector<int>{221});
    EXPECT_TRUE(f.s->closing());
}

TEST(SmtpServer, MessageIsUnstuffedAndKeptWithItsEnvelope) {
    Fixture f;
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\nRCPT TO:<d@e.example> NOTIFY=NEVER\r\n"
                    "DATA\r\nSubject: x\r\n\r\n..one\r\n.\r\n"),
              (std::vector<int>{250, 250, 250, 354, 250}));
    ASSERT_EQ(f.policy.got.size(), 1u);
    const ReceivedMessage& m = f.policy.got[0];
    EXPECT_EQ(m.data, "Subject: x\r\n\r\n.one\r\n");
    EXPECT_EQ(m.envelope.mail_from, "a@b.example");
    EXPECT_EQ(m.envelope.mail_params, std::vector<std::string>{"BODY=8BITMIME"});
    ASSERT_EQ(m.envelope.rcpts.size(), 1u);
    EXPECT_EQ(m.envelope.rcpts[0].params, std::vector<std::string>{"NOTIFY=NEVER"});
    EXPECT_EQ(m.helo, "c.example");
}

TEST(SmtpServer, LimitsAndPolicy) {
    Fixture f;
    f.opt.max_rcpts = 2;
    f.opt.max_size = 10;
    f.policy.rcpt_verdict = Verdict{550, "5.1.1 no such user", false};
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nMAIL FROM:<a@b.example> SIZE=11\r\n"), (std::vector<int>{250, 552}));
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\nRCPT TO:<no@e.example>\r\nRCPT TO:<x@e.example>\r\n"
                    "RCPT TO:<y@e.example>\r\nRCPT TO:<z@e.example>\r\n"),
              (std::vector<int>{250, 550, 250, 250, 452}));
    EXPECT_NE(f.s->output().find("550 5.1.1 no such user"), std::string::npos);
    EXPECT_EQ(f.say("DATA\r\n0123456789abc\r\n.\r\n"), (std::vector<int>{354, 552}));
    EXPECT_TRUE(f.policy.got.empty());
}

// What the sender would refuse in a spool entry is refused here, with 501:
// a parameter's value (RFC 1870, 3461), a repeated one, a path over the
// limits of RFC 5321 4.5.3.1. Lines that the extensions lengthen past 512
// octets are taken.
TEST(SmtpServer, ParametersAndPathsAsTheSpoolTakesThem) {
    Fixture f;
    f.opt.max_size = 1000;
    f.opt.auth_user = "user";   // AUTH= on MAIL, below
    f.start();
    using V = std::vector<int>;
    EXPECT_EQ(f.say("EHLO c.example\r\n"), V{250});
    for (const char* bad : {"RET=BOGUS", "ENVID=a=b", "SIZE=12x", "SIZE=-1", "SIZE=", "RET=FULL RET=HDRS",
                            "SMTPUTF8=yes", "NOTIFY=NEVER"})
        EXPECT_EQ(f.say(std::string("MAIL FROM:<a@b.example> ") + bad + "\r\n"), V{501}) << bad;
    // 2^64 + 1 does not wrap to 1.
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example> SIZE=18446744073709551617\r\n"), V{552});
    EXPECT_EQ(f.say("MAIL FROM:<" + std::string(65, 'l') + "@b.example>\r\n"), V{501});
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159\r\n"), V{250});
    for (const char* bad : {"NOTIFY=NEVER,SUCCESS", "NOTIFY=BOGUS", "ORCPT=nosemicolon", "NOTIFY=NEVER NOTIFY=NEVER"})
        EXPECT_EQ(f.say(std::string("RCPT TO:<d@e.example> ") + bad + "\r\n"), V{501}) << bad;
    EXPECT_EQ(f.say("RCPT TO:<" + std::string(60, 'l') + "@" + std::string(200, 'd') + ".example>\r\n"), V{501});
    // 579 octets: NOTIFY and a long ORCPT (RFC 3461 4: RCPT grows by 500).
    const std::string orcpt = "ORCPT=rfc822;" + std::string(60, 'r') + "@" + std::string(380, 'o') + ".example";
    EXPECT_EQ(f.say("RCPT TO:<" + std::string(60, 'r') + "@e.example> NOTIFY=SUCCESS,FAILURE,DELAY " + orcpt + "\r\n"),
              V{250});
    EXPECT_EQ(f.say("RSET\r\n"), V{250});
    // 531 octets: a long sender with ENVID, SIZE and AUTH.
    EXPECT_EQ(f.say("MAIL FROM:<" + std::string(60, 's') + "@" + std::string(180, 'x') +
                    ".example> RET=HDRS ENVID=100 SIZE=12 AUTH=<" + std::string(200, 'u') + "@example.org>\r\n"),
              V{250});
}

TEST(SmtpServer, AuthParameterIsNoIdentityUnlessAuthenticated) {
    Fixture f;
    f.start();
    using V = std::vector<int>;
    EXPECT_EQ(f.say("EHLO c.example\r\n"), V{250});
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example> AUTH=forged+40victim.example\r\n"), V{555});   // AUTH not offered
    Fixture g;
    g.opt.auth_user = "user";
    g.opt.auth_password = "pass";
    g.start();
    // RFC 4954 5: from a client not authenticated, as if AUTH=<>.
    EXPECT_EQ(g.say("EHLO c.example\r\nMAIL FROM:<a@b.example> AUTH=forged+40victim.example\r\n"
                    "RCPT TO:<d@e.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n"),
              (V{250, 250, 250, 354, 250}));
    ASSERT_EQ(g.policy.got.size(), 1u);
    EXPECT_EQ(g.policy.got[0].envelope.mail_params, std::vector<std::string>{"AUTH=<>"});
    EXPECT_EQ(g.say("AUTH PLAIN AHVzZXIAcGFzcw==\r\nMAIL FROM:<a@b.example> AUTH=user@b.example\r\n"
                    "RCPT TO:<d@e.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n"),
              (V{235, 250, 250, 354, 250}));
    ASSERT_EQ(g.policy.got.size(), 2u);
    EXPECT_EQ(g.policy.got[1].envelope.mail_params, std::vector<std::string>{"AUTH=user@b.example"});
}

TEST(SmtpServer, RefusedGreetingAnswersOnlyQuit) {
    struct Refuse : Policy {
        Verdict decide(Stage s, std::string_view a, const std::vector<std::string>& r) override {
            return s == Stage::connect ? Verdict{554, "5.3.2 no service", false} : Policy::decide(s, a, r);
        }
    } refuse;
    ServerOptions opt;
    ServerSession s(opt, refuse);
    s.start();
    EXPECT_EQ(codes(s.output()), std::vector<int>{554});
    s.output().clear();
    s.receive("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nDATA\r\nSubject: x\r\n");
    EXPECT_EQ(codes(s.output()), (std::vector<int>{503, 503, 503, 503, 503}));
    EXPECT_FALSE(s.closing());
    s.output().clear();
    s.receive("QUIT\r\n");
    EXPECT_EQ(codes(s.output()), std::vector<int>{221});
    EXPECT_TRUE(refuse.got.empty());
}

TEST(SmtpServer, ALocalPathARuleAcceptsIsQualifiedAndChecked) {
    struct Accept : Policy {
        Verdict decide(Stage s, std::string_view a, const std::vector<std::string>& r) override {
            if (s == Stage::rcpt && a.starts_with("refused")) return Verdict{550, "5.1.1 no such user", false};
            if (s == Stage::rcpt && !a.starts_with("nobody")) return Verdict{250, "2.1.5 ok by rule", false};
            return Policy::decide(s, a, r);
        }
    } accept;
    ServerOptions opt;
    opt.hostname = "sink.example";
    opt.max_rcpts = 2;
    ServerSession s(opt, accept);
    s.start();
    s.output().clear();
    // No rule: a domain is needed; a rule's refusal is its own; the limits
    // and parameter checks hold as for any recipient.
    s.receive("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<nobody>\r\nRCPT TO:<refused>\r\n"
              "RCPT TO:<" + std::string(65, 'l') + ">\r\nRCPT TO:<user> FOO=bar\r\nRCPT TO:<j\xc3\xb6rg>\r\n"
              "RCPT TO:<user> NOTIFY=NEVER\r\nRCPT TO:<d@e.example>\r\nRCPT TO:<more>\r\n"
              "DATA\r\nSubject: x\r\n\r\n.\r\n");
    EXPECT_EQ(codes(s.output()), (std::vector<int>{250, 250, 553, 550, 501, 555, 553, 250, 250, 452, 354, 250}));
    ASSERT_EQ(accept.got.size(), 1u);
    ASSERT_EQ(accept.got[0].envelope.rcpts.size(), 2u);
    EXPECT_EQ(accept.got[0].envelope.rcpts[0].address, "user@sink.example");
    EXPECT_EQ(accept.got[0].envelope.rcpts[0].params, std::vector<std::string>{"NOTIFY=NEVER"});
    // <Postmaster> needs no rule (RFC 5321 4.5.1) and is this host's too.
    accept.got.clear();
    s.output().clear();
    s.receive("RSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nSubject: x\r\n\r\n.\r\n");
    EXPECT_EQ(codes(s.output()), (std::vector<int>{250, 250, 250, 354, 250}));
    ASSERT_EQ(accept.got.size(), 1u);
    EXPECT_EQ(accept.got[0].envelope.rcpts[0].address, "Postmaster@sink.example");
}

TEST(SmtpServer, SmallerRulesOfTheRfcs) {
    Fixture f;
    f.opt.auth_user = "user";
    f.opt.auth_password = "pass";
    f.start();
    using V = std::vector<int>;
    // RFC 5321 4.1.1.6, 4.1.1.10: VRFY needs its argument, QUIT has none.
    EXPECT_EQ(f.say("VRFY\r\nQUIT now\r\n"), (V{501, 501}));
    // BDAT is CHUNKING's, offered after EHLO only (its chunk is read all the same).
    EXPECT_EQ(f.say("HELO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nBDAT 3 LAST\r\nabcNOOP\r\n"),
              (V{250, 250, 250, 502, 250}));
    // The reply to a chunk counts the chunk, however it arrived.
    EXPECT_EQ(f.say("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nBDAT 10\r\n01234"),
              (V{250, 250, 250}));
    EXPECT_EQ(f.say("56789"), V{250});
    EXPECT_NE(f.s->output().find("250 2.0.0 10 octets received"), std::string::npos) << f.s->output();
    EXPECT_EQ(f.say("BDAT 0 LAST\r\n"), V{250});
    // RFC 4954 4: "=" is an empty initial response; an empty line an empty
    // response. RFC 4616 2: no other authorization identity.
    EXPECT_EQ(f.say("AUTH LOGIN =\r\n\r\n"), (V{334, 535}));
    EXPECT_EQ(f.say("AUTH PLAIN =\r\n"), V{501});
    EXPECT_EQ(f.say("AUTH PLAIN YWRtaW4AdXNlcgBwYXNz\r\n"), V{535});   // admin\0user\0pass
    EXPECT_EQ(f.say("AUTH PLAIN dXNlcgB1c2VyAHBhc3M=\r\n"), V{235});   // user\0user\0pass
}

TEST(SmtpServer, AuthPlainAndLogin) {
    Fixture f;
    f.opt.auth_user = "user";
    f.opt.auth_password = "pass";
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\n"), std::vector<int>{250});
    EXPECT_NE(f.s->output().find("250-AUTH PLAIN LOGIN"), std::string::npos);
    EXPECT_EQ(f.say("AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n"), std::vector<int>{535});   // \0user\0wrong
    EXPECT_EQ(f.say("AUTH PLAIN AHVzZXIAcGFz\r\n"), std::vector<int>{535});       // \0user\0pas
    EXPECT_EQ(f.say("AUTH PLAIN AHVzZXIAcGFzc3M=\r\n"), std::vector<int>{535});   // \0user\0passs
    EXPECT_EQ(f.say("AUTH PLAIN AHVzZXJzAHBhc3M=\r\n"), std::vector<int>{535});   // \0users\0pass
    EXPECT_EQ(f.say("AUTH LOGIN\r\ndXNlcg==\r\n"), (std::vector<int>{334, 334}));
    EXPECT_EQ(f.say("not base64!\r\n"), std::vector<int>{501});
    EXPECT_EQ(f.say("AUTH PLAIN\r\nAHVzZXIAcGFzcw==\r\n"), (std::vector<int>{334, 235}));
    EXPECT_EQ(f.say("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"), std::vector<int>{503});   // already
    // A response line over the limit ends the exchange with 5.5.6 (RFC
    // 4954 4, 6), a command line's with 5.5.2.
    Fixture g;
    g.opt.auth_user = "user";
    g.opt.auth_password = "pass";
    g.start();
    EXPECT_EQ(g.say("EHLO c.example\r\nAUTH LOGIN\r\n"), (std::vector<int>{250, 334}));
    g.s->output().clear();
    EXPECT_EQ(g.say(std::string(5000, 'A') + "\r\n"), std::vector<int>{500});
    EXPECT_NE(g.s->output().find("500 5.5.6 "), std::string::npos) << g.s->output();
    g.s->output().clear();
    EXPECT_EQ(g.say(std::string(5000, 'A') + "\r\n"), std::vector<int>{500});
    EXPECT_NE(g.s->output().find("500 5.5.2 "), std::string::npos) << g.s->output();
}

// RFC 4954 4, 6: a server may take no password in clear (Postfix's
// smtpd_tls_auth_only): AUTH is not offered before STARTTLS, and asked for
// all the same it gets 538; AUTH= on MAIL is not offered either.
TEST(SmtpServer, AuthOnlyOnceTlsIsOn) {
    Fixture f;
    f.opt.auth_user = "user";
    f.opt.auth_password = "pass";
    f.opt.auth_needs_tls = true;
    f.opt.starttls = true;
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\n"), std::vector<int>{250});
    EXPECT_EQ(f.s->output().find("AUTH"), std::string::npos) << f.s->output();
    EXPECT_NE(f.s->output().find("STARTTLS"), std::string::npos);
    EXPECT_EQ(f.say("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"), std::vector<int>{538});
    EXPECT_NE(f.s->output().find("538 5.7.11 "), std::string::npos) << f.s->output();
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example> AUTH=<>\r\n"), std::vector<int>{555});
    EXPECT_EQ(f.say("STARTTLS\r\n"), std::vector<int>{220});
    f.s->tls_started();
    EXPECT_EQ(f.say("EHLO c.example\r\n"), std::vector<int>{250});
    EXPECT_NE(f.s->output().find("250-AUTH PLAIN LOGIN"), std::string::npos) << f.s->output();
    EXPECT_EQ(f.say("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"), std::vector<int>{235});
}

// A server of RFC 821's time: EHLO refused, HELO taken, no extension.
TEST(SmtpServer, NoEsmtpRefusesEhloAndEveryExtension) {
    Fixture f;
    f.opt.esmtp = false;
    f.opt.enhanced_codes = false;
    f.start();
    EXPECT_NE(f.s->output().find(" SMTP smtpsink"), std::string::npos) << f.s->output();
    EXPECT_EQ(f.say("EHLO c.example\r\n"), std::vector<int>{502});
    EXPECT_EQ(f.s->output(), "502 command not implemented\r\n");
    EXPECT_EQ(f.say("HELO c.example\r\n"), std::vector<int>{250});
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example> BODY=8BITMIME\r\n"), std::vector<int>{555});
    EXPECT_EQ(f.s->output(), "555 parameters need EHLO\r\n") << "no enhanced code";
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nBDAT 1 LAST\r\nx"),
              (std::vector<int>{250, 250, 502}));
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n"),
              (std::vector<int>{250, 250, 354, 250}));
    EXPECT_EQ(f.policy.got.size(), 1u);
}

// RFC 2034: without ENHANCEDSTATUSCODES offered, no reply carries one, a
// policy's neither.
TEST(SmtpServer, NoEnhancedStatusCodes) {
    Fixture f;
    f.opt.enhanced_codes = false;
    f.policy.rcpt_verdict = Verdict{550, "5.1.1 no such user", false};
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\n"), std::vector<int>{250});
    EXPECT_EQ(f.s->output().find("ENHANCEDSTATUSCODES"), std::string::npos) << f.s->output();
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\n"), std::vector<int>{250});
    EXPECT_EQ(f.s->output(), "250 sender OK\r\n");
    EXPECT_EQ(f.say("RCPT TO:<no@e.example>\r\n"), std::vector<int>{550});
    EXPECT_EQ(f.s->output(), "550 no such user\r\n");
}

TEST(SmtpServer, StartTlsDropsWhatWasPipelinedAfterIt) {
    Fixture f;
    f.opt.starttls = true;
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nSTARTTLS\r\nMAIL FROM:<a@b.example>\r\n"), (std::vector<int>{250, 220}));
    EXPECT_TRUE(f.s->tls_requested());
    EXPECT_EQ(f.s->buffered(), 0u);
    f.s->tls_started();
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\n"), std::vector<int>{503});   // EHLO again first
    EXPECT_EQ(f.say("EHLO c.example\r\n"), std::vector<int>{250});
    EXPECT_EQ(f.s->output().find("STARTTLS"), std::string::npos);
}

// RFC 3207 4.2: what the client said in clear is forgotten at STARTTLS,
// an authentication too: AUTH again inside TLS.
TEST(SmtpServer, StartTlsForgetsAnAuthenticationInClear) {
    Fixture f;
    f.opt.starttls = true;
    f.opt.auth_user = "user";
    f.opt.auth_password = "pass";
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\nSTARTTLS\r\n"), (std::vector<int>{250, 235, 220}));
    f.s->tls_started();
    EXPECT_EQ(f.say("EHLO c.example\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\n"), (std::vector<int>{250, 235}));
}

// RFC 3030 2: DATA after BDAT in one transaction is 503, and the chunks
// already taken stay the message's.
TEST(SmtpServer, DataAfterBdatIsRefused) {
    Fixture f;
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nBDAT 6\r\nX: 1\r\n"),
              (std::vector<int>{250, 250, 250, 250}));
    EXPECT_EQ(f.say("DATA\r\n"), std::vector<int>{503});
    EXPECT_EQ(f.say("BDAT 4 LAST\r\n\r\nx\n"), std::vector<int>{250});
    ASSERT_EQ(f.policy.got.size(), 1u);
    EXPECT_EQ(f.policy.got[0].data, "X: 1\r\n\r\nx\n");
    EXPECT_EQ(f.policy.data_stages, 1);   // once a transaction, not once a chunk
}

// RFC 3030 2: the envelope comes before the chunks. A RCPT after a BDAT
// is 503, and a chunk refused (no recipient yet) fails the transaction:
// the chunks after it are read and refused, and no message is made of them.
TEST(SmtpServer, NoRecipientAfterAChunkAndNoMessageOfWhatFollowsARefusedOne) {
    Fixture f;
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nBDAT 6\r\nX: 1\r\n"
                    "RCPT TO:<late@e.example>\r\nBDAT 4 LAST\r\n\r\nx\n"),
              (std::vector<int>{250, 250, 250, 250, 503, 250}));
    ASSERT_EQ(f.policy.got.size(), 1u);
    EXPECT_EQ(f.policy.got[0].envelope.rcpts.size(), 1u);
    EXPECT_EQ(f.policy.got[0].data, "X: 1\r\n\r\nx\n");

    f.s->output().clear();
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\nBDAT 12\r\nSubject: 2\r\nRCPT TO:<c@e.example>\r\n"
                    "BDAT 6 LAST\r\nbody\r\n"),
              (std::vector<int>{250, 554, 503, 503}));
    EXPECT_EQ(f.policy.got.size(), 1u);   // nothing more stored
    // The transaction ended with the last chunk: a new one works.
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@e.example>\r\nBDAT 3 LAST\r\nabc"),
              (std::vector<int>{250, 250, 250}));
    EXPECT_EQ(f.policy.got.size(), 2u);
}

// RFC 5321 4.1.4: an EHLO refused leaves the transaction as it was; one
// accepted ends it as RSET does.
TEST(SmtpServer, ARefusedEhloKeepsTheTransaction) {
    Fixture f;
    f.start();
    EXPECT_EQ(f.say("EHLO good.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\n"
                    "EHLO bad.example\r\nDATA\r\nx\r\n.\r\n"),
              (std::vector<int>{250, 250, 250, 550, 354, 250}));
    EXPECT_EQ(f.policy.got.size(), 1u);
    EXPECT_EQ(f.say("MAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nEHLO good.example\r\nDATA\r\n"),
              (std::vector<int>{250, 250, 250, 503}));
}

// A rule of the data stage that refuses holds for BDAT as for DATA: its
// reply once the chunk is read, and nothing stored.
TEST(SmtpServer, DataStageRefusalHoldsForBdat) {
    Fixture f;
    f.policy.data_verdict = Verdict{554, "5.7.1 data refused by rule", false};
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nDATA\r\n"),
              (std::vector<int>{250, 250, 250, 554}));
    EXPECT_EQ(f.say("RSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nBDAT 6 LAST\r\nX: 1\r\n"
                    "NOOP\r\n"),
              (std::vector<int>{250, 250, 250, 554, 250}));
    EXPECT_NE(f.s->output().find("554 5.7.1 data refused by rule"), std::string::npos);
    EXPECT_TRUE(f.policy.got.empty());
    EXPECT_EQ(f.say("BDAT 3 LAST\r\nabc"), std::vector<int>{503});   // the transaction ended
}

TEST(SmtpServer, HeldReplyWaitsAndKeepsOrder) {
    Fixture f;
    f.policy.hold = true;
    f.start();
    EXPECT_EQ(f.say("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<d@e.example>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n"),
              (std::vector<int>{250, 250, 250, 354}));
    EXPECT_TRUE(f.s->held());
    f.s->output().clear();
    f.s->resume(Verdict{451, "4.3.0 cannot store", false});
    EXPECT_EQ(codes(f.s->output()), (std::vector<int>{451, 250}));   // then the NOOP that waited
    EXPECT_FALSE(f.s->held());
}

// --- a policy's delay ------------------------------------------------------------

namespace {

struct RulesPolicy : ServerPolicy {
    Rules rules;
    std::vector<ReceivedMessage> got;
    explicit RulesPolicy(std::string_view text) : rules(*Rules::parse(text, "rules")) {}
    Verdict decide(Stage s, std::string_view arg, const std::vector<std::string>& rcpts) override {
        return rules.apply(s, arg, rcpts);
    }
    Verdict accept(ReceivedMessage&& m, bool&) override {
        got.push_back(std::move(m));
        return {};
    }
};

struct Delayed {
    ServerOptions opt;
    RulesPolicy policy;
    ServerSession s{opt, policy};
    explicit Delayed(std::string_view rules) : policy(rules) {}
    std::vector<int> say(const std::string& in) {
        s.output().clear();
        s.receive(in);
        return codes(s.output());
    }
    std::vector<int> wake() {
        s.output().clear();
        s.unpause();
        return codes(s.output());
    }
};

}  // namespace

// The replies before the delayed command go out; its own, and those of
// the commands pipelined after it, wait for the pause to end.
TEST(SmtpServer, DelayHoldsTheReplyAndWhatFollows) {
    Delayed d("rcpt /^slow@/ delay 2s\n");
    d.s.start();
    EXPECT_EQ(d.s.paused().count(), 0);
    EXPECT_EQ(d.say("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<slow@e.example>\r\nRCPT TO:<f@e.example>\r\n"),
              (std::vector<int>{250, 250}));
    EXPECT_EQ(d.s.paused(), std::chrono::milliseconds(2000));
    EXPECT_EQ(d.say("NOOP\r\n"), std::vector<int>{});   // nothing is read meanwhile
    EXPECT_EQ(d.wake(), (std::vector<int>{250, 250, 250}));
    EXPECT_EQ(d.s.paused().count(), 0);
    EXPECT_EQ(d.say("DATA\r\nx\r\n.\r\n"), (std::vector<int>{354, 250}));
    ASSERT_EQ(d.policy.got.size(), 1u);
    EXPECT_EQ(d.policy.got[0].envelope.rcpts.size(), 2u);
}

TEST(SmtpServer, DelayedGreetingRefusalAndDrop) {
    Delayed g("connect * delay 5s\n");
    g.s.start();
    EXPECT_TRUE(g.s.output().empty());
    EXPECT_EQ(g.s.paused(), std::chrono::milliseconds(5000));
    EXPECT_EQ(g.wake(), std::vector<int>{220});

    Delayed d("rcpt /^bye@/ delay 1s 421 4.3.0 going away\nrcpt /^cut@/ delay 1s drop\n");
    d.s.start();
    EXPECT_EQ(d.say("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<bye@e.example>\r\n"), (std::vector<int>{250, 250}));
    EXPECT_FALSE(d.s.closing());   // not before its reply is due
    EXPECT_EQ(d.wake(), std::vector<int>{421});
    EXPECT_TRUE(d.s.closing());

    Delayed e("rcpt /^cut@/ delay 1s drop\n");
    e.s.start();
    EXPECT_EQ(e.say("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<cut@e.example>\r\n"), (std::vector<int>{250, 250}));
    EXPECT_FALSE(e.s.dropped());
    e.wake();
    EXPECT_TRUE(e.s.dropped());
}

// STARTTLS and AUTH refused by a rule, the session going on in clear; QUIT
// dropped instead of its 221, or answered late.
TEST(SmtpServer, RulesAtStarttlsAuthAndQuit) {
    Delayed d("starttls * 454 4.7.0 TLS not available\nauth /^LOGIN$/ 534 5.7.9 mechanism too weak\nquit * drop\n");
    d.opt.starttls = true;
    d.opt.auth_user = "user";
    d.opt.auth_password = "pass";
    ServerSession s(d.opt, d.policy);
    s.start();
    s.output().clear();
    s.receive("EHLO c\r\nSTARTTLS\r\nAUTH LOGIN\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\nNOOP\r\n");
    EXPECT_EQ(codes(s.output()), (std::vector<int>{250, 454, 534, 235, 250}));
    EXPECT_FALSE(s.tls_requested());
    s.receive("QUIT\r\n");
    EXPECT_TRUE(s.dropped());

    Delayed late("quit * delay 2s\n");
    late.s.start();
    EXPECT_EQ(late.say("QUIT\r\n"), std::vector<int>{});
    EXPECT_FALSE(late.s.closing());
    EXPECT_EQ(late.wake(), std::vector<int>{221});
    EXPECT_TRUE(late.s.closing());
}

// At dot the delay comes before the message is stored: a server stopped
// meanwhile has stored nothing it did not answer.
TEST(SmtpServer, DelayAtDotComesBeforeTheMessageIsStored) {
    Delayed d("dot * delay 3s\n");
    d.s.start();
    EXPECT_EQ(d.say("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@e.example>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n"),
              (std::vector<int>{250, 250, 250, 354}));
    EXPECT_EQ(d.s.paused(), std::chrono::milliseconds(3000));
    EXPECT_TRUE(d.policy.got.empty());
    EXPECT_EQ(d.wake(), (std::vector<int>{250, 250}));   // the message, then the NOOP that waited
    EXPECT_EQ(d.policy.got.size(), 1u);
    EXPECT_EQ(d.s.messages(), 1u);

    Delayed stopped("dot * delay 3s\n");
    stopped.s.start();
    stopped.say("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@e.example>\r\nDATA\r\nx\r\n.\r\n");
    stopped.s.output().clear();
    stopped.s.shutting_down();
    EXPECT_EQ(codes(stopped.s.output()), std::vector<int>{421});
    EXPECT_TRUE(stopped.policy.got.empty());

    Delayed refused("dot * delay 1s 451 4.3.0 later\n");
    refused.s.start();
    refused.say("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@e.example>\r\nDATA\r\nx\r\n.\r\n");
    EXPECT_EQ(refused.wake(), std::vector<int>{451});
    EXPECT_TRUE(refused.policy.got.empty());
}

// DATA's 354 and the first BDAT's reply come late; the chunk is read after.
TEST(SmtpServer, DelayAtTheDataStage) {
    Delayed d("data * delay 2s\n");
    d.s.start();
    EXPECT_EQ(d.say("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@e.example>\r\nDATA\r\n"), (std::vector<int>{250, 250, 250}));
    EXPECT_EQ(d.wake(), std::vector<int>{354});
    EXPECT_EQ(d.say("x\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<b@e.example>\r\nBDAT 3 LAST\r\nabc"),
              (std::vector<int>{250, 250, 250}));
    EXPECT_GT(d.s.paused().count(), 0);
    EXPECT_EQ(d.wake(), std::vector<int>{250});
    ASSERT_EQ(d.policy.got.size(), 2u);
    EXPECT_EQ(d.policy.got[1].data, "abc");
}
