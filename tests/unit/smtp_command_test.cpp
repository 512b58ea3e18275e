// Command lines (msg/smtp/command.hpp).
#include <gtest/gtest.h>

#include <string>

#include "msg/smtp/command.hpp"

using namespace msg::smtp;

TEST(SmtpCommand, Verbs) {
    EXPECT_EQ(parse_command("ehlo client.example").verb, Verb::ehlo);
    EXPECT_EQ(parse_command("QUIT").verb, Verb::quit);
    EXPECT_EQ(parse_command("StartTLS").verb, Verb::starttls);
    const Command c = parse_command("XYZZY now");
    EXPECT_EQ(c.verb, Verb::unknown);
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(verb_name(Verb::bdat), "BDAT");
}

TEST(SmtpCommand, HeloAndEhlo) {
    Command c = parse_command("EHLO client.example");
    EXPECT_TRUE(c.ok);
    EXPECT_EQ(c.domain, "client.example");
    EXPECT_TRUE(parse_command("EHLO [192.0.2.1]").ok);
    EXPECT_TRUE(parse_command("HELO localhost").ok);
    EXPECT_FALSE(parse_command("EHLO").ok);
    EXPECT_FALSE(parse_command("EHLO bad_domain!").ok);
    EXPECT_FALSE(parse_command("HELO [192.0.2.1]").ok);           // HELO takes a Domain only
    EXPECT_TRUE(parse_command("HELO [192.0.2.1]", {.lenient = true}).ok);
    // RFC 5321 4.1.3: an address literal is a real address, as in a path.
    EXPECT_TRUE(parse_command("EHLO [IPv6:2001:db8::1]").ok);
    EXPECT_TRUE(parse_command("EHLO [x-tag:anything]").ok);
    for (const char* bad : {"EHLO [999.0.0.1]", "EHLO [1.2.3]", "EHLO [garbage]", "EHLO [IPv6:1::2::3]", "EHLO []",
                            "EHLO [1.2.3.4.5]"}) {
        const Command b = parse_command(bad);
        EXPECT_FALSE(b.ok) << bad;
        EXPECT_EQ(b.error, "not a domain or address literal") << bad;
    }
}

TEST(SmtpCommand, MailWithParameters) {
    const Command c = parse_command("MAIL FROM:<alice@example.org> SIZE=1000 BODY=8BITMIME");
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.path.mailbox, "alice@example.org");
    EXPECT_EQ(c.path_offset, 10u);
    ASSERT_EQ(c.params.size(), 2u);
    EXPECT_EQ(c.params[0].keyword, "SIZE");
    EXPECT_EQ(c.params[0].value, "1000");
    EXPECT_EQ(c.params[1].offset, 40u);
    ASSERT_NE(c.param("body"), nullptr);
    EXPECT_EQ(c.param("body")->value, "8BITMIME");
    EXPECT_EQ(c.param("ret"), nullptr);
}

TEST(SmtpCommand, NullReversePathAndPostmaster) {
    Command c = parse_command("MAIL FROM:<>");
    ASSERT_TRUE(c.ok);
    EXPECT_TRUE(c.path.null);
    c = parse_command("RCPT TO:<Postmaster>");
    ASSERT_TRUE(c.ok);
    EXPECT_TRUE(c.path.postmaster);
    EXPECT_FALSE(parse_command("RCPT TO:<>").ok);
}

TEST(SmtpCommand, PathErrors) {
    Command c = parse_command("MAIL FROM: <a@example.org>");
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.error_at, 10u);
    EXPECT_TRUE(parse_command("MAIL FROM: <a@example.org>", {.lenient = true}).ok);
    EXPECT_FALSE(parse_command("MAIL FROM:a@example.org").ok);
    EXPECT_FALSE(parse_command("MAIL TO:<a@example.org>").ok);
    EXPECT_FALSE(parse_command("RCPT TO:<a@example.org>NOTIFY=NEVER").ok);
    EXPECT_FALSE(parse_command("RCPT TO:<a@@example.org>").ok);
    c = parse_command("RCPT TO:<rich>");
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.local_path);
    EXPECT_FALSE(parse_command("RCPT TO:<a@b@c>").local_path);
}

TEST(SmtpCommand, ParameterSyntax) {
    EXPECT_FALSE(parse_command("MAIL FROM:<a@example.org>  SIZE=1").ok);      // two spaces
    EXPECT_TRUE(parse_command("MAIL FROM:<a@example.org>  SIZE=1", {.lenient = true}).ok);
    EXPECT_FALSE(parse_command("MAIL FROM:<a@example.org> SIZE=").ok);
    EXPECT_FALSE(parse_command("MAIL FROM:<a@example.org> -X=1").ok);
    EXPECT_FALSE(parse_command("MAIL FROM:<a@example.org> SIZE=1 size=2").ok);
    EXPECT_FALSE(parse_command("MAIL FROM:<a@example.org> X=a=b").ok);
    EXPECT_FALSE(parse_command("MAIL FROM:<a@example.org> SIZE=1 ").ok);
    EXPECT_TRUE(parse_command("MAIL FROM:<a@example.org> SMTPUTF8").ok);
}

TEST(SmtpCommand, Utf8NeedsTheOption) {
    const std::string line = "MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8";
    EXPECT_FALSE(parse_command(line).ok);
    const Command c = parse_command(line, {.utf8 = true});
    EXPECT_TRUE(c.ok) << c.error;
    EXPECT_TRUE(c.path.utf8);
    EXPECT_FALSE(parse_command("NOOP \xc3\xa9").ok);
}

TEST(SmtpCommand, NoArgumentCommands) {
    EXPECT_TRUE(parse_command("DATA").ok);
    EXPECT_FALSE(parse_command("DATA now").ok);
    EXPECT_FALSE(parse_command("RSET ").ok);
    EXPECT_TRUE(parse_command("RSET ", {.lenient = true}).ok);
    EXPECT_TRUE(parse_command("NOOP anything at all").ok);
    EXPECT_TRUE(parse_command("HELP").ok);
    EXPECT_FALSE(parse_command("VRFY").ok);
    EXPECT_TRUE(parse_command("VRFY rich").ok);
}

TEST(SmtpCommand, Bdat) {
    Command c = parse_command("BDAT 86 LAST");
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.chunk_size, 86u);
    EXPECT_TRUE(c.last);
    c = parse_command("bdat 0");
    ASSERT_TRUE(c.ok);
    EXPECT_FALSE(c.last);
    EXPECT_FALSE(parse_command("BDAT").ok);
    EXPECT_FALSE(parse_command("BDAT x").ok);
    EXPECT_FALSE(parse_command("BDAT 10 FIRST").ok);
    EXPECT_FALSE(parse_command("BDAT 99999999999999999999999").ok);
}

TEST(SmtpCommand, Auth) {
    Command c = parse_command("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    ASSERT_TRUE(c.ok);
    EXPECT_EQ(c.mechanism, "PLAIN");
    EXPECT_EQ(c.initial_response, "AGFsaWNlAHNlY3JldA==");
    c = parse_command("AUTH LOGIN");
    ASSERT_TRUE(c.ok);
    EXPECT_TRUE(c.initial_response.empty());
    EXPECT_TRUE(parse_command("AUTH PLAIN =").ok);
    EXPECT_FALSE(parse_command("AUTH PLAIN not*base64").ok);
    EXPECT_FALSE(parse_command("AUTH").ok);
    EXPECT_FALSE(parse_command("AUTH MECHANISM-NAME-TOO-LONG-X").ok);
}

TEST(SmtpCommand, LineLimits) {
    EXPECT_FALSE(parse_command("NOOP " + std::string(600, 'x')).ok);
    EXPECT_FALSE(parse_command(std::string("NOOP a\x01")).ok);
    EXPECT_FALSE(parse_command("").ok);
}

TEST(SmtpCommand, Base64Token) {
    EXPECT_TRUE(is_base64_token("dmFzaWE="));
    EXPECT_TRUE(is_base64_token("c2VjcmV0"));
    EXPECT_FALSE(is_base64_token("c2VjcmV"));
    EXPECT_FALSE(is_base64_token("c2=jcmV0"));
    EXPECT_FALSE(is_base64_token(""));
    EXPECT_FALSE(is_base64_token("a==="));
}

// Notes and reports show an AUTH line without what may be a credential,
// parsed or not (smtpsink --script's notes, smtpreplay's reports).
TEST(SmtpCommand, AuthLineShownWithoutItsCredential) {
    using msg::smtp::auth_line_shown;
    EXPECT_EQ(auth_line_shown("MAIL FROM:<a@b.example>"), std::nullopt);
    EXPECT_EQ(auth_line_shown("AUTHX PLAIN AGE="), std::nullopt);
    EXPECT_EQ(auth_line_shown("AUTH PLAIN"), "AUTH PLAIN");
    EXPECT_EQ(auth_line_shown("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), "AUTH PLAIN (initial response)");
    EXPECT_EQ(auth_line_shown("auth\tplain\tAGFsaWNlAHNlY3JldA=="), "auth\tplain (initial response)");
    EXPECT_EQ(auth_line_shown("AUTH   LOGIN   YWxpY2U="), "AUTH   LOGIN (initial response)");
    EXPECT_EQ(auth_line_shown("AUTH AGFsaWNlAHNlY3JldA=="), "AUTH (initial response)");   // no mechanism's name
    EXPECT_EQ(auth_line_shown("AUTH PLAIN AGFsaWNlAHNlY3JldA== !"), "AUTH PLAIN (initial response)");
    // A word shaped like a mechanism's name but not one may be a credential.
    EXPECT_EQ(auth_line_shown("AUTH hunter2"), "AUTH (initial response)");
    EXPECT_EQ(auth_line_shown("AUTH QUJD"), "AUTH (initial response)");
    EXPECT_EQ(auth_line_shown("auth login"), "auth login");
    EXPECT_EQ(auth_line_shown("AUTH SCRAM-SHA-256"), "AUTH SCRAM-SHA-256");
    EXPECT_EQ(auth_line_shown("AUTH XOAUTH2 dXNlcj1h"), "AUTH XOAUTH2 (initial response)");
}
