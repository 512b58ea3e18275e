// envelope_test.cpp - ESMTP parameters, what a message needs, and envelopes
// derived from messages (envelope.hpp).
#include <gtest/gtest.h>
#include <msg/envelope.hpp>
#include <msg/limits.hpp>
#include <msg/message.hpp>

#include <string>
#include <vector>

namespace {

msg::Derivation derive(const std::string& text, std::string_view from_line = {}) {
    static std::string keep;  // the derivation's views point into it
    keep = text;
    return msg::derive_envelope(keep, from_line);
}

using V = std::vector<std::string>;

V rcpts(const msg::Derivation& d) {
    V out;
    for (const auto& r : d.envelope.rcpts) out.push_back(r.address);
    return out;
}

}  // namespace

TEST(DeriveEnvelope, SenderOrder) {
    const std::string m = "Return-Path: <bounces@example.org>\nFrom: Alice <alice@example.org>\n"
                          "To: bob@example.net\n\nhi\n";
    auto e = derive(m, "list@example.org Mon Nov 23 09:15:00 2026");
    EXPECT_EQ(e.envelope.mail_from, "list@example.org");
    EXPECT_EQ(e.sender_from, "From_ line");
    e = derive(m, "- Mon Nov 23 09:15:00 2026");  // not an address: next source
    EXPECT_EQ(e.envelope.mail_from, "bounces@example.org");
    EXPECT_EQ(e.sender_from, "Return-Path");
    e = derive("From: Alice <alice@example.org>\nTo: bob@example.net\n\nhi\n");
    EXPECT_EQ(e.envelope.mail_from, "alice@example.org");
    EXPECT_EQ(e.sender_from, "From");
    // a bounce keeps the null sender
    e = derive(m, "MAILER-DAEMON Fri Jul  8 12:08:34 2011");
    EXPECT_TRUE(e.have_sender);
    EXPECT_EQ(e.envelope.mail_from, "");
    e = derive(m, "<> Fri Jul  8 12:08:34 2011");  // the null path itself
    EXPECT_EQ(e.sender_from, "From_ line");
    EXPECT_EQ(e.envelope.mail_from, "");
    e = derive("Return-Path: <>\nFrom: x@example.org\nTo: bob@example.net\n\nhi\n");
    EXPECT_TRUE(e.have_sender);
    EXPECT_EQ(e.envelope.mail_from, "");
    EXPECT_EQ(e.sender_from, "Return-Path");
    e = derive("To: bob@example.net\n\nhi\n");
    EXPECT_FALSE(e.have_sender);
    // Gmail Takeout's From_ lines carry the message's id at "xxx", not a sender.
    e = derive(m, "1784034651234567890@xxx Thu Nov 26 10:22:07 +0000 2026");
    EXPECT_EQ(e.envelope.mail_from, "bounces@example.org");
    EXPECT_EQ(e.sender_from, "Return-Path");
    EXPECT_TRUE(e.rejected.empty());
    e = derive(m, "billing@xxx Thu Nov 26 10:22:07 2026");   // an address all the same
    EXPECT_EQ(e.envelope.mail_from, "billing@xxx");
}

TEST(DeriveEnvelope, Recipients) {
    auto e = derive("From: a@example.org\nTo: Bob <bob@example.net>, team: c@example.net;\n"
                    "Cc: BOB@EXAMPLE.NET, bob@Example.Net, Bob@example.net\nBcc: hidden@example.com\n\nx\n");
    // the domain's case does not matter, the local part's does (RFC 5321 2.4)
    EXPECT_EQ(rcpts(e), (V{"bob@example.net", "c@example.net", "BOB@EXAMPLE.NET", "Bob@example.net",
                           "hidden@example.com"}));
    EXPECT_EQ(e.rcpts_from, "To/Cc/Bcc");
}

TEST(DeriveEnvelope, ManyRecipientsAreDeduplicatedInLinearTime) {
    std::string to = "To: ";
    // (Under the header block's limit of 1 MiB.)
    for (int i = 0; i < 40000; ++i) to += "user" + std::to_string(i % 20000) + "@Example.org, ";
    to += "last@example.org\n";
    ASSERT_LT(to.size(), msg::Limits{}.max_header_bytes);
    const auto e = derive("From: a@example.org\n" + to + "\nx\n");
    EXPECT_EQ(e.envelope.rcpts.size(), 20001u);
}

// Below 32 recipients they are compared one by one, beyond by a hash set:
// the same rule either side of the switch, and folded fields read whole.
TEST(DeriveEnvelope, RecipientsOnceEachOnBothSidesOfTheSwitch) {
    std::string to = "To: ", cc = "Cc: ";
    V want;
    for (int i = 0; i < 40; ++i) {
        const std::string n = "u" + std::to_string(i);
        to += n + "@example.org,\r\n\t";   // folded
        want.push_back(n + "@example.org");
    }
    for (int i = 0; i < 40; ++i) {
        const std::string n = "u" + std::to_string(i);
        cc += n + "@EXAMPLE.org, ";              // the same mailbox
        if (i % 10 == 0) cc += "U" + std::to_string(i) + "@example.org, ";   // another one
    }
    for (int i = 0; i < 40; i += 10) want.push_back("U" + std::to_string(i) + "@example.org");
    to += "u0@example.ORG\r\n";
    cc += "last@example.org\r\n";
    want.push_back("last@example.org");
    const auto e = derive("From: a@example.org\r\n" + to + cc + "\r\nx\r\n");
    EXPECT_EQ(rcpts(e), want);
    EXPECT_EQ(e.unparsed, 0u);
    EXPECT_TRUE(e.rejected.empty());
}

// Groups: their members are recipients, read after the group's name (the
// parser's words are used again for each).
TEST(DeriveEnvelope, RecipientsInGroups) {
    auto e = derive("From: a@example.org\nTo: Team: Ann <ann@x.example>, cc@z.example;, Dee <dee@z.example>\n"
                    "Cc: Empty:;, \"Q. Uoted\" <q@z.example>, Two: b@x.example, Bee <b@X.example>;\n\nx\n");
    EXPECT_EQ(rcpts(e), (V{"ann@x.example", "cc@z.example", "dee@z.example", "q@z.example", "b@x.example"}));
    EXPECT_EQ(e.unparsed, 0u);
}

TEST(DeriveEnvelope, ResentBlockWins) {
    auto e = derive("Received: from x by y; Mon, 23 Nov 2026 09:15:00 +0100\n"
                    "Resent-From: fwd@example.org\nResent-To: new@example.net\nResent-Date: Mon, 23 Nov 2026 09:15:00 +0100\n"
                    "Received: from p by q; Sun, 22 Nov 2026 09:15:00 +0100\n"
                    "Resent-From: older@example.org\nResent-To: older-target@example.net\n"
                    "From: a@example.org\nTo: original@example.net\n\nx\n");
    EXPECT_EQ(rcpts(e), V{"new@example.net"});
    EXPECT_EQ(e.rcpts_from, "Resent-To/Cc/Bcc");
}

// Blocks with nothing between them: a second Resent-Date (each block has
// one of each field, RFC 5322 3.6.6) begins the older block, whose
// recipients are not the newest resending's. A newest block without
// recipients gives none (never the first sending's To). The resender is
// the sender.
TEST(DeriveEnvelope, ResentBlocksEndAtARepeatedName) {
    const std::string older = "Resent-Date: Mon, 1 Jan 2024 10:00:00 +0000\nResent-From: bob@example.org\n"
                              "Resent-To: carol@example.org\nFrom: alice@example.org\nTo: bob@example.org\n\nx\n";
    auto e = derive("Resent-Date: Tue, 2 Jan 2024 10:00:00 +0000\nResent-From: Carol <carol@example.org>\n"
                    "Resent-Message-ID: <r2@example.org>\nResent-To: dave@example.net\n" + older);
    EXPECT_EQ(rcpts(e), V{"dave@example.net"});
    EXPECT_EQ(e.envelope.mail_from, "carol@example.org");
    EXPECT_EQ(e.sender_from, "Resent-From");
    e = derive("Resent-Date: Tue, 2 Jan 2024 10:00:00 +0000\nResent-From: carol@example.org\n"
               "Received: from a by b; Tue, 2 Jan 2024 10:00:01 +0000\n" + older);
    EXPECT_TRUE(e.envelope.rcpts.empty());
    EXPECT_EQ(e.rcpts_from, "Resent-To/Cc/Bcc");
    EXPECT_EQ(msg::derivation_unusable(e), "no recipient in Resent-To/Cc/Bcc");
}

// The block is the one msgcheck checks (resent_blocks): the Resent-Date
// and Resent-Message-ID Postfix appends to the header complete the newest
// block; a field between two resendings ends the newer one, whose lack of
// recipients is not filled from the older; a name that only begins with
// "Resent-" is no resending.
TEST(DeriveEnvelope, ResentBlockIsMsgchecksBlock) {
    const std::string date = "Mon, 23 Nov 2026 09:15:00 +0100";
    auto e = derive("Received: by mx.example.net; " + date + "\nResent-From: fwd@example.org\n"
                    "Resent-To: new@example.net\nReceived: by mx.example.org; " + date + "\n"
                    "From: a@example.org\nTo: original@example.net\nSubject: x\n"
                    "Resent-Date: " + date + "\nResent-Message-Id: <2@example.org>\n\nx\n");
    EXPECT_EQ(rcpts(e), V{"new@example.net"});
    EXPECT_EQ(e.envelope.mail_from, "fwd@example.org");
    e = derive("Resent-From: alice@example.org\nResent-Date: " + date + "\nX-Mailer: m\n"
               "Resent-To: old@example.net\nResent-From: bob@example.org\nResent-Date: " + date + "\n"
               "From: orig@example.org\nTo: first@example.net\n\nx\n");
    EXPECT_TRUE(e.envelope.rcpts.empty());
    EXPECT_EQ(e.rcpts_from, "Resent-To/Cc/Bcc");
    EXPECT_EQ(e.envelope.mail_from, "alice@example.org");
    e = derive("Resent-Comments: forwarded by hand\nFrom: a@example.org\nTo: original@example.net\n\nx\n");
    EXPECT_EQ(rcpts(e), V{"original@example.net"});
    EXPECT_EQ(e.rcpts_from, "To/Cc/Bcc");
    EXPECT_EQ(e.sender_from, "From");
}

// A null Return-Path is a bounce's record of its null sender: it wins over
// the address a From_ line gives (Yahoo writes "From MAILER-DAEMON@host").
TEST(DeriveEnvelope, NullReturnPathWinsOverTheFromLine) {
    const std::string m = "Return-Path: <>\nFrom: MAILER-DAEMON@yahoo.example\nTo: alice@example.org\n\nSorry.\n";
    auto e = derive(m, "MAILER-DAEMON@yahoo.example Sat Dec  6 13:45:31 2014");
    EXPECT_EQ(e.envelope.mail_from, "");
    EXPECT_EQ(e.sender_from, "Return-Path");
    // one below a resent block was written by an earlier delivery: the
    // From_ line, this delivery's, stays the sender
    e = derive("Resent-From: r@example.org\nResent-To: c@example.net\nResent-Date: Mon, 23 Nov 2026 10:00:00 +0100\n" + m,
               "r@example.org Mon Nov 23 10:00:00 2026");
    EXPECT_EQ(e.envelope.mail_from, "r@example.org");
    EXPECT_EQ(e.sender_from, "From_ line");
    e = derive("Return-Path: <bounces@example.org>\n" + m.substr(m.find('\n') + 1), "list@example.org Sat Dec  6 13:45:31 2014");
    EXPECT_EQ(e.envelope.mail_from, "list@example.org");
    EXPECT_EQ(e.sender_from, "From_ line");
}

// Recipients as RFC 5321 sends them: quotes only where needed, obsolete
// local parts and domain literals with white space made plain, so that one
// mailbox written three ways is one recipient; a source route's leading
// comma (obs-domain-list) read; a null Return-Path with CFWS is null.
TEST(DeriveEnvelope, AddressesInTheirSmtpForm) {
    auto e = derive("From: a@example.org\nTo: bob@example.org, \"bob\"@example.org, \"b\\ob\"@example.org\n"
                    "Cc: a.\"b c\".d@example.org, \"john\".smith@example.org, <,@relay.example:eve@example.org>,\n"
                    " bob@[ 192.0.2.1 ], \"x\\\"y\"@example.org\n\nx\n");
    EXPECT_EQ(rcpts(e), (V{"bob@example.org", "\"a.b c.d\"@example.org", "john.smith@example.org", "eve@example.org",
                           "bob@[192.0.2.1]", "\"x\\\"y\"@example.org"}));
    EXPECT_EQ(e.unparsed, 0u);
    EXPECT_TRUE(e.rejected.empty());
    for (const char* rp : {"< >", "(bounce) <>", "<(c)>", " <> (after)"}) {
        e = derive(std::string("Return-Path: ") + rp + "\nFrom: x@example.org\nTo: b@example.net\n\nhi\n");
        EXPECT_EQ(e.sender_from, "Return-Path") << rp;
        EXPECT_EQ(e.envelope.mail_from, "") << rp;
    }
}

// Recipients read from a header over the parser's limits could miss one
// past them: not usable. What was left out is said.
TEST(DeriveEnvelope, UnusableAndLeftOut) {
    std::string h = "From: a@example.org\nTo: b@example.net\n";
    for (int i = 0; i < 10001; ++i) h += "X-N: " + std::to_string(i) + "\n";
    h += "Bcc: late@example.net\n\nx\n";
    auto e = derive(h);
    EXPECT_NE(msg::derivation_unusable(e).find("header.too-many-fields"), std::string::npos);
    e = derive("From: a@example.org\nTo: ok@example.net, bad <x, user@-bad-.example\n\nx\n");
    EXPECT_EQ(msg::derivation_unusable(e), "");
    EXPECT_EQ(msg::derivation_left_out(e),
              (V{"1 malformed element(s) in To/Cc/Bcc left out", "not a usable address, left out: user@-bad-.example"}));
    EXPECT_EQ(msg::derivation_unusable(derive("To: b@example.net\n\nx\n")),
              "no sender in the From_ line, Return-Path, Resent-From or From");
}

TEST(DeriveEnvelope, UnusableAddressesAreListed) {
    auto e = derive("From: a@example.org\nTo: good@example.net, \"x y\"@example..net, j\xC3\xB6rg@example.net\n\nx\n");
    EXPECT_EQ(rcpts(e), (V{"good@example.net", "j\xC3\xB6rg@example.net"}));
    EXPECT_TRUE(e.envelope.has_param("SMTPUTF8"));
    EXPECT_EQ(e.rejected.size(), 0u);  // "x y"@example..net is no address at all:
    EXPECT_EQ(e.unparsed, 1u);         // counted apart
    e = derive("From: a@example.org\nTo: root@localhost, user@-bad-.example\n\nx\n");
    EXPECT_EQ(rcpts(e), V{"root@localhost"});
    EXPECT_EQ(e.rejected, V{"user@-bad-.example"});
}

TEST(DeriveEnvelope, ParametersAreWhatTheMessageNeeds) {
    EXPECT_EQ(derive("From: a@example.org\nTo: b@example.net\n\nplain\n").envelope.mail_params, V{});
    EXPECT_EQ(derive("From: a@example.org\nTo: b@example.net\n\nGr\xC3\xBC\xC3\x9F" "e\n").envelope.mail_params,
              V{"BODY=8BITMIME"});
    EXPECT_EQ(derive("From: J\xC3\xBCrgen <j@example.org>\nTo: b@example.net\n\nplain\n").envelope.mail_params,
              V{"SMTPUTF8"});
    EXPECT_EQ(derive("From: J\xC3\xBCrgen <j@example.org>\nTo: b@example.net\n\n\xC3\xBC\n").envelope.mail_params,
              (V{"BODY=8BITMIME", "SMTPUTF8"}));
}

// --sender and --rcpt: taken instead of the derived ones, and the needs
// declared for the envelope that results (a UTF-8 recipient: SMTPUTF8).
TEST(DeriveEnvelope, FixedSenderAndRecipientsWin) {
    static const std::string m = "From: a@example.org\nTo: b@example.net, \"broken\nCc: c@example.net\n\nplain\n";
    msg::DeriveOptions fixed;
    fixed.sender = "";
    fixed.rcpts.push_back({"j\xC3\xBCrgen@example.org", {}});
    const msg::Derivation d = msg::derive_envelope(m, "x@example.com Mon Nov 23 09:15:00 2026", fixed);
    EXPECT_TRUE(d.have_sender);
    EXPECT_EQ(d.envelope.mail_from, "");
    EXPECT_EQ(d.sender_from, "--sender");
    EXPECT_EQ(rcpts(d), V{"j\xC3\xBCrgen@example.org"});
    EXPECT_EQ(d.rcpts_from, "--rcpt");
    EXPECT_EQ(d.unparsed, 0u);   // the recipient fields were not read
    EXPECT_EQ(d.envelope.mail_params, V{"SMTPUTF8"});
    msg::DeriveOptions only_sender;
    only_sender.sender = "s@example.org";
    EXPECT_EQ(rcpts(msg::derive_envelope(m, {}, only_sender)), (V{"b@example.net", "c@example.net"}));
}

// The header block's defects come with the derivation; the body is not parsed.
TEST(DeriveEnvelope, HeaderDefectsAreReported) {
    EXPECT_TRUE(derive("From: a@example.org\nTo: b@example.net\n\nbody\n").defects.empty());
    const msg::Derivation d = derive("From: a@example.org\nTo: b@example.net\nBad Name: x\n\nbody\n");
    ASSERT_FALSE(d.defects.empty());
}

TEST(Needs, HeaderAndBodyApart) {
    const std::string m = "Subject: caf\xC3\xA9\r\n\r\nplain\r\n";
    msg::Needs n = msg::message_needs(m);
    EXPECT_TRUE(n.smtputf8);
    EXPECT_FALSE(n.eightbitmime);
    EXPECT_EQ(n.header_8bit, 12u);
    n = msg::message_needs("Subject: x\n\n\xFF\n");
    EXPECT_FALSE(n.smtputf8);
    EXPECT_TRUE(n.eightbitmime);
    EXPECT_EQ(n.body_8bit, 12u);
    // no empty line: everything is header
    n = msg::message_needs("Subject: \xFF");
    EXPECT_TRUE(n.smtputf8);
    EXPECT_FALSE(n.eightbitmime);
}

TEST(Needs, EnvelopeAddressesAndParameters) {
    msg::Envelope e;
    e.mail_from = "a@example.org";
    e.rcpts.push_back({"b@example.net", {}});
    EXPECT_FALSE(msg::needs(e, "To: b@example.net\n\nx\n").smtputf8);
    e.rcpts.push_back({"\xC3\xBC@example.net", {}});
    msg::Needs n = msg::needs(e, "To: b@example.net\n\nx\n");
    EXPECT_TRUE(n.smtputf8);
    EXPECT_EQ(n.smtputf8_why, "UTF-8 address");
    e.rcpts.pop_back();
    e.rcpts[0].params.push_back("ORCPT=rfc822;\xC3\xBC@example.net");
    EXPECT_EQ(msg::needs(e, "\n").smtputf8_why, "UTF-8 in a parameter");
}

TEST(Needs, DeclareAddsWhatIsMissingOnly) {
    msg::Envelope e;
    e.mail_from = "a@example.org";
    e.mail_params = {"BODY=7BIT", "RET=HDRS"};
    const std::string m = "Subject: \xC3\xA9t\xC3\xA9\n\n\xC3\xA9t\xC3\xA9\n";
    EXPECT_FALSE(msg::declares(e, msg::needs(e, m)));
    msg::declare_needs(e, m);
    EXPECT_EQ(e.mail_params, (V{"BODY=8BITMIME", "RET=HDRS", "SMTPUTF8"}));
    EXPECT_TRUE(msg::declares(e, msg::needs(e, m)));
    const V before = e.mail_params;
    msg::declare_needs(e, m);  // idempotent
    EXPECT_EQ(e.mail_params, before);
    e.set_param("BODY", "BINARYMIME");  // also carries 8-bit
    msg::declare_needs(e, m);
    EXPECT_EQ(e.param("BODY"), "BINARYMIME");
}

TEST(EsmtpParams, OneParserForEveryReader) {
    std::vector<msg::ParamProblem> problems;
    auto ps = msg::parse_esmtp_params("BODY=8BITMIME SIZE=100 SMTPUTF8", 10, false, &problems);
    ASSERT_EQ(ps.size(), 3u);
    EXPECT_EQ(ps[0].keyword, "BODY");
    EXPECT_EQ(ps[0].value, "8BITMIME");
    EXPECT_EQ(ps[1].offset, 24u);
    EXPECT_FALSE(ps[2].has_value);
    EXPECT_TRUE(problems.empty());

    problems.clear();
    ps = msg::parse_esmtp_params("A=1  -B=2 C= D=x=y E=\xC3\xA9 A=3 ", 0, false, &problems);
    EXPECT_EQ(ps.size(), 1u);   // only A=1 is whole
    ASSERT_EQ(problems.size(), 7u);
    EXPECT_TRUE(problems[0].spacing);   // trailing space
    EXPECT_TRUE(problems[1].spacing);   // two spaces
    EXPECT_EQ(problems[2].word, "-B=2");
    EXPECT_EQ(problems[3].what, "a parameter value after '=' is empty");
    EXPECT_EQ(problems[4].at, 16u);     // the second '=' of D=x=y
    EXPECT_EQ(problems[5].word, "E=\xC3\xA9");
    EXPECT_EQ(problems[6].what, "a parameter is repeated");

    problems.clear();  // UTF-8 values with SMTPUTF8
    ps = msg::parse_esmtp_params("ORCPT=rfc822;\xC3\xA9@x", 0, true, &problems);
    EXPECT_EQ(ps.size(), 1u);
    EXPECT_TRUE(problems.empty());
}

TEST(EsmtpParams, KnownValuesChecked) {
    auto check = [](std::string_view text, bool mail) {
        const auto ps = msg::parse_esmtp_params(text, 0, true, nullptr);
        return ps.empty() ? std::string("unparsed") : msg::check_esmtp_param(ps.front(), mail);
    };
    EXPECT_EQ(check("BODY=8BITMIME", true), "");
    EXPECT_EQ(check("BODY=9BIT", true), "BODY must be 7BIT, 8BITMIME or BINARYMIME");
    EXPECT_EQ(check("BODY=8BITMIME", false), "BODY belongs to MAIL FROM");
    EXPECT_EQ(check("NOTIFY=SUCCESS,DELAY", false), "");
    EXPECT_EQ(check("NOTIFY=SOMETIMES", false), "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY");
    EXPECT_EQ(check("SMTPUTF8=yes", true), "SMTPUTF8 takes no value");
    EXPECT_EQ(check("X-ANYTHING=1", true), "");
    // RFC 6533: an ORCPT's address may be UTF-8 (under SMTPUTF8, when the
    // parser lets 8-bit values through at all), or escaped.
    EXPECT_EQ(check("ORCPT=utf-8;caf\xc3\xa9@example.org", false), "");
    EXPECT_EQ(check("ORCPT=utf-8;caf\\x{E9}@example.org", false), "");
    EXPECT_EQ(check("ORCPT=rfc822;a+zz@example.org", false), "ORCPT must be addr-type;xtext");
}

TEST(Envelope, MailboxArgument) {
    EXPECT_EQ(msg::mailbox_argument("<a@example.org>", false), "a@example.org");
    EXPECT_EQ(msg::mailbox_argument("a@example.org", false), "a@example.org");
    EXPECT_EQ(msg::mailbox_argument("", true), "");
    EXPECT_EQ(msg::mailbox_argument("<>", true), "");
    EXPECT_FALSE(msg::mailbox_argument("", false));
    EXPECT_FALSE(msg::mailbox_argument("not an address", true));
    EXPECT_FALSE(msg::mailbox_argument("<a@example.org", false));
}

// A mailbox is what an entry may carry: RFC 5321 4.5.3.1's limits too,
// so that what spoolctl add and mbox2spool take, spoolsend sends.
TEST(Envelope, MailboxWithinTheLimits) {
    const std::string local64(64, 'a'), label63(63, 'd');
    std::string domain255 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'd');
    ASSERT_EQ(domain255.size(), 253u);
    domain255 += ".x";
    EXPECT_TRUE(msg::is_smtp_mailbox(local64 + "@example.org"));
    EXPECT_FALSE(msg::is_smtp_mailbox(local64 + "a@example.org"));
    EXPECT_FALSE(msg::is_smtp_mailbox("b@" + domain255 + "x"));
    EXPECT_FALSE(msg::is_smtp_mailbox(local64 + "@" + domain255.substr(0, 191)));   // the path over 256
    EXPECT_TRUE(msg::is_smtp_mailbox(local64 + "@" + domain255.substr(0, 189)));
    EXPECT_FALSE(msg::mailbox_argument(local64 + "a@example.org", false));
}

TEST(Envelope, ParamHelpers) {
    msg::Envelope e;
    e.set_param("SIZE", "10");
    e.set_param("size", "20");
    e.set_param("SMTPUTF8");
    EXPECT_EQ(e.mail_params, (V{"size=20", "SMTPUTF8"}));
    EXPECT_TRUE(e.has_param("Size"));
    EXPECT_EQ(e.param("SIZE"), "20");
    e.remove_param("size");
    EXPECT_EQ(e.mail_params, V{"SMTPUTF8"});
    EXPECT_EQ(msg::param_keyword("A=b=c"), "A");
    EXPECT_EQ(msg::param_value("A=b=c"), "b=c");
}

// RFC 3461 4.1: without NOTIFY, failures and delays are reported.
TEST(Envelope, RecipientNotify) {
    msg::Envelope::Rcpt r{"b@example.net", {}};
    EXPECT_TRUE(r.notify("FAILURE"));
    EXPECT_TRUE(r.notify("DELAY"));
    EXPECT_FALSE(r.notify("SUCCESS"));
    r.params = {"ORCPT=rfc822;b@example.net", "notify=never"};
    EXPECT_FALSE(r.notify("FAILURE"));
    EXPECT_FALSE(r.notify("DELAY"));
    EXPECT_EQ(r.param("orcpt"), "rfc822;b@example.net");
    r.params = {"NOTIFY=SUCCESS,failure"};
    EXPECT_TRUE(r.notify("FAILURE"));
    EXPECT_TRUE(r.notify("SUCCESS"));
    EXPECT_FALSE(r.notify("DELAY"));
    EXPECT_EQ(r.param("ORCPT"), "");
}

TEST(Envelope, XtextDecode) {
    EXPECT_EQ(msg::xtext_decode("rfc822;a+2Bb+3Dc@example.org"), "rfc822;a+b=c@example.org");
    EXPECT_EQ(msg::xtext_decode("a+2"), "a+2");       // cut short: kept
    EXPECT_EQ(msg::xtext_decode("a+zz+41"), "a+zzA");
    EXPECT_EQ(msg::xtext_decode(""), "");
}

// A mail client's "deleted" mark: Thunderbird's X-Mozilla-Status bit
// 0x0008 (expunged, until the folder is compacted), X-Status D.
TEST(DeriveEnvelope, DeletedMarks) {
    const std::string rest = "From: a@example.org\nTo: b@example.net\n\nhi\n";
    EXPECT_EQ(derive("X-Mozilla-Status: 0009\n" + rest).deleted, "X-Mozilla-Status 0x0008");
    EXPECT_EQ(derive("X-Mozilla-Status:  0x000B\n" + rest).deleted, "X-Mozilla-Status 0x0008");
    EXPECT_EQ(derive("X-Mozilla-Status: 0001\n" + rest).deleted, "");
    EXPECT_EQ(derive("X-Mozilla-Status: 8000\n" + rest).deleted, "");
    EXPECT_EQ(derive("X-Mozilla-Status: zz\n" + rest).deleted, "");
    EXPECT_EQ(derive("Status: RO\nX-Status: AD\n" + rest).deleted, "X-Status D");
    EXPECT_EQ(derive("X-Status: F\n" + rest).deleted, "");
    EXPECT_EQ(derive(rest).deleted, "");
}

// What a mail client wrote into an mbox message, as Maildir flags (the
// marks mb2md reads): sorted, each once, the first field of a name.
TEST(ClientFlags, StatusXStatusAndMozillaStatus) {
    const auto flags = [](const std::string& header) {
        const std::string text = header + "\n\nbody\n";
        std::vector<msg::HeaderField> fields;
        msg::parse_header_block(text, fields);
        const msg::ClientFlags f = msg::client_flags(fields);
        return f.flags + (f.old ? "|old|" : "|new|") + std::string(f.deleted);
    };
    EXPECT_EQ(flags("From: a@example.org"), "|new|");
    EXPECT_EQ(flags("Status: O"), "|old|");   // seen, not read: a Maildir's cur/ without flags
    EXPECT_EQ(flags("Status: RO"), "S|old|");
    EXPECT_EQ(flags("Status: R"), "S|old|");   // a flagged message is never new
    EXPECT_EQ(flags("Status: RO\nX-Status: AF"), "FRS|old|");
    EXPECT_EQ(flags("X-Status: T"), "D|old|");
    EXPECT_EQ(flags("X-Status: D"), "T|old|X-Status D");
    EXPECT_EQ(flags("X-Mozilla-Status: 0001"), "S|old|");
    EXPECT_EQ(flags("X-Mozilla-Status: 0x0007"), "FRS|old|");
    EXPECT_EQ(flags("X-Mozilla-Status: 0009\nX-Status: D"), "ST|old|X-Mozilla-Status 0x0008");
    EXPECT_EQ(flags("X-Mozilla-Status: zz"), "|new|");
    EXPECT_EQ(flags("Status: O\nStatus: R"), "|old|");   // the first Status counts
}
