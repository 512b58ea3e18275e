// smtp_rules_test.cpp - scripted answers per stage (msg/smtp/rules.hpp):
// the grammar, errors at their line and column, first match wins, every N
// counted per rule, regexes on the argument or on any recipient.
#include <gtest/gtest.h>
#include <msg/smtp/rules.hpp>

using msg::smtp::Rules;
using msg::smtp::Stage;

TEST(SmtpRules, ParsesEveryFormAndFirstMatchWins) {
    auto r = Rules::parse("# comment\n\nrcpt /^unknown@/ 550 5.1.1 no such user\r\n"
                          "rcpt * 250 2.1.5 ok\n"
                          "dot every 3 451 4.3.0 try again later\n"
                          "data /^drop@/ drop\n"
                          "  helo   /evil/   554\n",
                          "rules");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->size(), 5u);
    auto v = r->apply(Stage::rcpt, "unknown@example.org", {});
    EXPECT_EQ(v.code, 550);
    EXPECT_EQ(v.text, "5.1.1 no such user");
    v = r->apply(Stage::rcpt, "known@example.org", {});
    EXPECT_EQ(v.code, 250);
    EXPECT_EQ(r->apply(Stage::mail, "unknown@example.org", {}).code, 0);   // no rule: the session's answer
    // every 3: the 3rd and 6th time only.
    std::vector<int> codes;
    for (int i = 0; i < 6; ++i) codes.push_back(r->apply(Stage::dot, "", {"a@example.org"}).code);
    EXPECT_EQ(codes, (std::vector<int>{0, 0, 451, 0, 0, 451}));
    // At data, a regex is searched in any recipient.
    EXPECT_TRUE(r->apply(Stage::data, "", {"a@example.org", "drop@example.org"}).drop);
    EXPECT_FALSE(r->apply(Stage::data, "", {"a@example.org"}).drop);
    v = r->apply(Stage::helo, "evil.example", {});
    EXPECT_EQ(v.code, 554);
    EXPECT_EQ(v.text, "");
}

TEST(SmtpRules, DelayComesBeforeAnyAction) {
    auto r = Rules::parse("rcpt /^slow@/ delay 30s\n"
                          "rcpt /^late@/ delay 2m 451 4.3.0 later\n"
                          "data /^cut@/\tdelay\t1h drop\n"
                          "connect every 2 delay 1h30m\n",
                          "rules");
    ASSERT_TRUE(r) << r.error().message;
    auto v = r->apply(Stage::rcpt, "slow@example.org", {});
    EXPECT_EQ(v.code, 0);   // the session's own answer, late
    EXPECT_EQ(v.delay, std::chrono::seconds(30));
    v = r->apply(Stage::rcpt, "late@example.org", {});
    EXPECT_EQ(v.code, 451);
    EXPECT_EQ(v.text, "4.3.0 later");
    EXPECT_EQ(v.delay, std::chrono::minutes(2));
    v = r->apply(Stage::data, "", {"cut@example.org"});
    EXPECT_TRUE(v.drop);
    EXPECT_EQ(v.delay, std::chrono::hours(1));
    EXPECT_EQ(r->apply(Stage::connect, "", {}).delay.count(), 0);
    EXPECT_EQ(r->apply(Stage::connect, "", {}).delay, std::chrono::minutes(90));
    EXPECT_EQ(r->apply(Stage::rcpt, "other@example.org", {}).delay.count(), 0);
}

TEST(SmtpRules, StarttlsAuthAndQuit) {
    auto r = Rules::parse("starttls /^old\\./ 454 4.7.0 TLS not available\n"
                          "auth /^LOGIN$/ 534 5.7.9 mechanism too weak\n"
                          "quit * drop\n",
                          "rules");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->apply(Stage::starttls, "old.example", {}).code, 454);   // the HELO name
    EXPECT_EQ(r->apply(Stage::starttls, "new.example", {}).code, 0);
    EXPECT_EQ(r->apply(Stage::auth, "LOGIN", {}).code, 534);            // the mechanism
    EXPECT_EQ(r->apply(Stage::auth, "PLAIN", {}).code, 0);
    EXPECT_TRUE(r->apply(Stage::quit, "", {}).drop);
}

TEST(SmtpRules, ErrorsNameFileLineAndColumn) {
    struct Case {
        const char* text;
        const char* error;
    } cases[] = {
        {"rcpt * 250\nbounce * 550\n", "f:2:1: unknown stage \"bounce\""},
        {"rcpt /abc 550\n", "f:1:6: the regex has no closing /"},
        {"rcpt /[/ 550\n", "f:1:6: bad regex"},
        {"rcpt sometimes 550\n", "f:1:6: expected *, every N or /REGEX/"},
        {"dot every 0 451\n", "f:1:11: every needs a number above 0"},
        {"dot every x 451\n", "f:1:11: every needs a number"},
        {"rcpt * 55\n", "f:1:8: expected a reply (CODE [TEXT]), drop or delay TIME"},
        {"rcpt * delay\n", "f:1:13: delay needs a time above 0 and at most 24h"},
        {"rcpt * delay 0s\n", "f:1:14: delay needs a time above 0"},
        {"rcpt * delay 5x 550\n", "f:1:14: delay needs a time"},
        {"rcpt * delay 2d\n", "f:1:14: delay needs a time above 0 and at most 24h"},
        {"rcpt * delay 5s 55\n", "f:1:17: expected a reply"},
        {"rcpt * delay 5s delay 5s\n", "f:1:17: expected a reply"},
        {"dot * delay 5s 250 ok\n", "f:1:16: at dot a rule refuses"},
        {"quit * 221 bye\n", "f:1:8: at quit a rule drops or delays"},
        {"quit * delay 1s 421 x\n", "f:1:17: at quit a rule drops or delays"},
        {"starttls * 220 go\n", "f:1:12: at starttls a rule refuses"},
        {"auth * 235 ok\n", "f:1:8: at auth a rule refuses"},
        {"rcpt * 650 no\n", "f:1:8: a reply code is three digits, 200 to 559"},
        {"rcpt * 550x\n", "f:1:8: a reply code is three digits"},
        {"rcpt *\n", "f:1:7: expected a reply"},
        // 354 must be followed by reading the message; 2xx goes on only at mail, rcpt, vrfy.
        {"data * 354 go ahead\n", "f:1:8: at data a rule refuses: a code 400 to 559"},
        {"rcpt * 354 go ahead\n", "f:1:8: a rule's code is 2xx, 4xx or 5xx (no 3xx)"},
        {"dot * 250 2.0.0 queued\n", "f:1:7: at dot a rule refuses"},
        {"connect * 220 hi\n", "f:1:11: at connect a rule refuses"},
        {"helo * 250 hi\n", "f:1:8: at helo a rule refuses"},
    };
    for (const Case& c : cases) {
        auto r = Rules::parse(c.text, "f");
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().message.rfind(c.error, 0), 0u) << c.text << " -> " << r.error().message;
    }
    EXPECT_TRUE(Rules::parse("", "f"));
}
