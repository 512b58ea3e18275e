// envelope_test.cpp - envelopes derived from messages (envelope.hpp).
#include <gtest/gtest.h>
#include <msg/envelope.hpp>

#include <string>
#include <vector>

namespace {

msg::DerivedEnvelope derive(const std::string& text, std::string_view from_line = {}) {
    static std::string keep;  // the message's views point into it
    keep = text;
    return msg::derive_envelope(msg::parse_message(keep), from_line);
}

using V = std::vector<std::string>;

}  // namespace

TEST(DeriveEnvelope, SenderOrder) {
    const std::string m = "Return-Path: <bounces@example.org>\nFrom: Alice <alice@example.org>\n"
                          "To: bob@example.net\n\nhi\n";
    auto e = derive(m, "list@example.org Mon Nov 23 09:15:00 2026");
    EXPECT_EQ(e.sender, "list@example.org");
    EXPECT_EQ(e.sender_from, "From_ line");
    e = derive(m, "- Mon Nov 23 09:15:00 2026");  // not an address: next source
    EXPECT_EQ(e.sender, "bounces@example.org");
    EXPECT_EQ(e.sender_from, "Return-Path");
    e = derive("From: Alice <alice@example.org>\nTo: bob@example.net\n\nhi\n");
    EXPECT_EQ(e.sender, "alice@example.org");
    EXPECT_EQ(e.sender_from, "From");
    // a bounce keeps the null sender
    e = derive(m, "MAILER-DAEMON Fri Jul  8 12:08:34 2011");
    EXPECT_TRUE(e.have_sender);
    EXPECT_EQ(e.sender, "");
    e = derive("Return-Path: <>\nFrom: x@example.org\nTo: bob@example.net\n\nhi\n");
    EXPECT_TRUE(e.have_sender);
    EXPECT_EQ(e.sender, "");
    EXPECT_EQ(e.sender_from, "Return-Path");
    e = derive("To: bob@example.net\n\nhi\n");
    EXPECT_FALSE(e.have_sender);
}

TEST(DeriveEnvelope, Recipients) {
    auto e = derive("From: a@example.org\nTo: Bob <bob@example.net>, team: c@example.net;\n"
                    "Cc: BOB@EXAMPLE.NET, bob@Example.Net, Bob@example.net\nBcc: hidden@example.com\n\nx\n");
    // the domain's case does not matter, the local part's does (RFC 5321 2.4)
    EXPECT_EQ(e.rcpts, (V{"bob@example.net", "c@example.net", "BOB@EXAMPLE.NET", "Bob@example.net",
                          "hidden@example.com"}));
    EXPECT_EQ(e.rcpts_from, "To/Cc/Bcc");
}

TEST(DeriveEnvelope, ResentBlockWins) {
    auto e = derive("Received: from x by y; Mon, 23 Nov 2026 09:15:00 +0100\n"
                    "Resent-From: fwd@example.org\nResent-To: new@example.net\nResent-Date: Mon, 23 Nov 2026 09:15:00 +0100\n"
                    "Received: from p by q; Sun, 22 Nov 2026 09:15:00 +0100\n"
                    "Resent-From: older@example.org\nResent-To: older-target@example.net\n"
                    "From: a@example.org\nTo: original@example.net\n\nx\n");
    EXPECT_EQ(e.rcpts, V{"new@example.net"});
    EXPECT_EQ(e.rcpts_from, "Resent-To/Cc/Bcc");
}

TEST(DeriveEnvelope, UnusableAddressesAreListed) {
    auto e = derive("From: a@example.org\nTo: good@example.net, \"x y\"@example..net, j\xC3\xB6rg@example.net\n\nx\n");
    EXPECT_EQ(e.rcpts, (V{"good@example.net", "j\xC3\xB6rg@example.net"}));
    EXPECT_TRUE(e.utf8);
    EXPECT_EQ(e.rejected.size(), 0u);  // "x y"@example..net is no address at all:
    EXPECT_EQ(e.unparsed, 1u);         // counted apart
    e = derive("From: a@example.org\nTo: root@localhost, user@-bad-.example\n\nx\n");
    EXPECT_EQ(e.rcpts, V{"root@localhost"});
    EXPECT_EQ(e.rejected, V{"user@-bad-.example"});
}
