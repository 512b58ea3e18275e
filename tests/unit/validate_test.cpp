// validate_test.cpp - msgcheck's checks: fields, lines, MIME.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "msg/address.hpp"
#include "msg/codec.hpp"
#include "msg/datetime.hpp"
#include "msg/message.hpp"
#include "msg/validate.hpp"

namespace {

using msg::AddressKind;
using msg::DefectCode;

std::vector<std::string> codes(const msg::Defects& d) {
    std::vector<std::string> out;
    for (const msg::Defect& x : d) out.emplace_back(x.info().code);
    return out;
}

std::vector<std::string> address(std::string_view v, AddressKind k = AddressKind::address_list) {
    return codes(msg::parse_address_list(v, k, {.field = "To"}).defects);
}
std::vector<std::string> date(std::string_view v) { return codes(msg::parse_date_time(v).defects); }
std::vector<std::string> msgid(std::string_view v, bool list = false) {
    return codes(msg::check_msg_id_field("Message-ID", v, 0, list));
}
using V = std::vector<std::string>;

TEST(ValidateAddress, GoodForms) {
    EXPECT_EQ(address("bob@example.net"), V{});
    EXPECT_EQ(address(" Bob Smith <bob@example.net>, \"Smith, Al\" <al@example.net>"), V{});
    EXPECT_EQ(address("=?utf-8?q?Ren=C3=A9e?= <renee@example.org>"), V{});
    EXPECT_EQ(address("undisclosed-recipients:;"), V{});
    EXPECT_EQ(address("team: a@x.org, b@y.org;, c@z.org"), V{});
    EXPECT_EQ(address("\"quoted local\"@example.net"), V{});
    EXPECT_EQ(address("a@[192.0.2.1]"), V{});
    EXPECT_EQ(address("a@example.net (a comment)"), V{});
    EXPECT_EQ(address("", AddressKind::address_list_or_empty), V{});
}

TEST(ValidateAddress, Errors) {
    EXPECT_EQ(address("bob"), V{"address.syntax"});
    EXPECT_EQ(address("bob@"), V{"address.syntax"});
    EXPECT_EQ(address("Bob <bob@example.net"), V{"address.syntax"});
    EXPECT_EQ(address("a@x.org b@y.org"), V{"address.syntax"});
    EXPECT_EQ(address("a..b@x.org"), V{"address.syntax"});
    EXPECT_EQ(address("a@x..org"), V{"address.syntax"});
    EXPECT_EQ(address(""), V{"address.syntax"});
    EXPECT_EQ(address("<>"), V{"address.syntax"});
    EXPECT_EQ(address("group: a@x.org", AddressKind::address_list), V{"address.syntax"});
    EXPECT_EQ(address("group: a@x.org;", AddressKind::mailbox_list), V{"address.syntax"});
    EXPECT_EQ(address("a@x.org, b@y.org", AddressKind::mailbox), V{"address.syntax"});
}

TEST(ValidateAddress, Obsolete) {
    EXPECT_EQ(address("a@x.org,,b@y.org"), V{"address.obsolete"});
    EXPECT_EQ(address("<@relay.example:a@x.org>"), V{"address.obsolete"});
    EXPECT_EQ(address("John Q. Public <jqp@example.org>"), V{"address.obsolete"});
    EXPECT_EQ(address("a . b@x.org"), V{"address.obsolete"});
    EXPECT_EQ(address("a@x .org"), V{"address.obsolete"});    // obs-domain's atom ends in CFWS
    EXPECT_EQ(address("a@x . org"), V{"address.obsolete"});   // said once
    EXPECT_EQ(address("a@x.org (trailing)"), V{});
}

// White space inside an address or an id is said where it begins, not at
// the token after it.
TEST(ValidateAddress, WhiteSpaceInsideIsPlacedAtIt) {
    struct Case {
        std::string_view value;
        std::size_t at;
    };
    for (const Case c : {Case{"a .b@x.org", 1}, Case{"a@x .org", 3}, Case{"a@x. (c) org", 4}}) {
        const auto d = msg::parse_address_list(c.value, AddressKind::address_list, {.field = "To"}).defects;
        ASSERT_EQ(codes(d), V{"address.obsolete"}) << c.value;
        EXPECT_EQ(d[0].offset, c.at) << c.value;
    }
    const auto d = msg::check_msg_id_field("Message-ID", "<a.b @example.org>", 100, false);
    ASSERT_EQ(codes(d), V{"message-id.obsolete"});
    EXPECT_EQ(d[0].offset, 104u);
}

// RFC 5322 4.1: obs-phrase = word *(word / "." / CFWS), so a display name
// may hold dots after its first word (obsolete) but not begin with one.
TEST(ValidateAddress, DisplayNameBeginsWithAWord) {
    EXPECT_EQ(address(".John <j@example.org>"), V{"address.syntax"});
    EXPECT_EQ(address(". John <j@example.org>"), V{"address.syntax"});
    EXPECT_EQ(address(".team: a@x.org;"), V{"address.syntax"});
    EXPECT_EQ(address("John. <j@example.org>"), V{"address.obsolete"});
    EXPECT_EQ(address("\".John\" <j@example.org>"), V{});
    // placed at the dot; the address after the name is still read
    const auto r = msg::parse_address_list("a@x.org, .John <j@example.org>", AddressKind::mailbox_list);
    ASSERT_EQ(r.defects.size(), 1u);
    EXPECT_EQ(r.defects[0].offset, 9u);
    EXPECT_EQ(r.mailboxes, 2u);
}

// Return-Path holds a path (RFC 5322 3.6.7): an address in angle brackets
// with no display name, or "<>" with optional CFWS.
TEST(ValidateAddress, ReturnPathIsAPath) {
    auto path = [](std::string_view v) { return address(v, AddressKind::path); };
    EXPECT_EQ(path("<alice@example.org>"), V{});
    EXPECT_EQ(path(" <alice@example.org> (envelope sender)"), V{});
    EXPECT_EQ(path("<>"), V{});
    EXPECT_EQ(path(" (bounce) < (null) > "), V{});
    EXPECT_EQ(path("<@relay.example.net:alice@example.org>"), V{"address.obsolete"});
    EXPECT_EQ(path("alice@example.org"), V{"address.syntax"});
    EXPECT_EQ(path("Alice <alice@example.org>"), V{"address.syntax"});
    EXPECT_EQ(path("<alice@example.org>, <bob@example.net>"), V{"address.syntax"});
    EXPECT_EQ(path("<alice>"), V{"address.syntax"});
    EXPECT_EQ(path("<@relay.example.net:>"), (V{"address.obsolete", "address.syntax"}));
    EXPECT_EQ(path(""), V{"address.syntax"});
    EXPECT_EQ(path("<alice@example.org> (unclosed"), V{"address.syntax"});
    const auto r = msg::parse_address_list(" alice@example.org", AddressKind::path, {.base = 13, .field = {}});
    ASSERT_EQ(r.defects.size(), 1u);
    EXPECT_EQ(r.defects[0].offset, 14u);
    EXPECT_EQ(msg::parse_address_list("<>", AddressKind::path).mailboxes, 0u);
}

// An address in angle brackets that goes on where '>' should close it
// says what came instead, and where; one the field ends inside says so.
TEST(ValidateAddress, AnUnclosedAngleSaysWhatCameInstead) {
    auto r = msg::parse_address_list("<develop!nextmime@ebony@sblab.att.com>", AddressKind::mailbox,
                                     {.base = 0, .field = "From"});
    ASSERT_EQ(r.defects.size(), 1u);
    EXPECT_EQ(r.defects[0].offset, 23u);   // the second '@'
    EXPECT_EQ(r.defects[0].detail, "From: '@' where '>' should close the '<'");
    r = msg::parse_address_list("Bob <bob@example.org", AddressKind::mailbox, {.base = 0, .field = "From"});
    ASSERT_EQ(r.defects.size(), 1u);
    EXPECT_EQ(r.defects[0].detail, "From: '<' not closed by '>'");
}

TEST(ValidateAddress, CountsMailboxes) {
    EXPECT_EQ(msg::parse_address_list("a@x.org, B <b@y.org>", AddressKind::mailbox_list).mailboxes, 2u);
    EXPECT_EQ(msg::parse_address_list("g: a@x.org, b@y.org;", AddressKind::address_list).mailboxes, 2u);
}

TEST(ValidateAddress, OffsetPointsAtTheProblem) {
    auto r = msg::parse_address_list("a@x.org, bob", AddressKind::address_list, {.base = 100, .field = "To"});
    ASSERT_EQ(r.defects.size(), 1u);
    EXPECT_EQ(r.defects[0].offset, 109u);  // the start of "bob"
}

TEST(ValidateDate, Good) {
    EXPECT_EQ(date(" Mon, 23 Nov 2026 09:15:00 +0100"), V{});
    EXPECT_EQ(date("23 Nov 2026 09:15 -0000"), V{});
    EXPECT_EQ(date("Thu, 29 Feb 2024 23:59:60 +0000 (UTC)"), V{});
}

TEST(ValidateDate, Syntax) {
    EXPECT_EQ(date("2026-11-23T09:15:00Z"), V{"date.syntax"});
    EXPECT_EQ(date("Mon 23 Nov 2026 09:15:00 +0100"), V{"date.syntax"});
    EXPECT_EQ(date("Mon, 23 Nov 2026 09:15:00"), V{"date.syntax"});
    EXPECT_EQ(date("Mon, 23 Nov 2026 9:15:00 +0100"), V{"date.syntax"});
    EXPECT_EQ(date("Mon, 23 Nov 2026 09:15:00 +01"), V{"date.syntax"});
    EXPECT_EQ(date("Mon, 23 Nox 2026 09:15:00 +0100"), V{"date.syntax"});
    EXPECT_EQ(date(""), V{"date.syntax"});
}

TEST(ValidateDate, ObsoleteRangeWeekday) {
    EXPECT_EQ(date("Mon, 23 Nov 26 09:15:00 +0100"), V{"date.obsolete"});
    EXPECT_EQ(date("Mon, 23 Nov 2026 09:15:00 EST"), V{"date.obsolete"});
    EXPECT_EQ(date("Fri, 29 Feb 2026 09:15:00 +0100"), V{"date.range"});
    EXPECT_EQ(date("Mon, 23 Nov 2026 24:15:00 +0100"), V{"date.range"});
    EXPECT_EQ(date("Mon, 23 Nov 2026 09:15:00 +0175"), V{"date.range"});
    EXPECT_EQ(date("Tue, 23 Nov 2026 09:15:00 +0100"), V{"date.weekday"});
}

TEST(ValidateMessageId, Forms) {
    EXPECT_EQ(msgid("<20261123.4711@example.org>"), V{});
    EXPECT_EQ(msgid("<a@[192.0.2.1]>"), V{});
    EXPECT_EQ(msgid("20261123.4711@example.org"), V{"message-id.syntax"});
    EXPECT_EQ(msgid("<no-at-sign>"), V{"message-id.syntax"});
    EXPECT_EQ(msgid("<a@b> <c@d>"), V{"message-id.syntax"});
    EXPECT_EQ(msgid("<a@b> <c@d>", true), V{});
    EXPECT_EQ(msgid("<a@b> words <c@d>", true), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<\"q\"@b>"), V{"message-id.obsolete"});
    // obs-in-reply-to and obs-references (RFC 5322 4.5.4): phrases only, or
    // nothing, is obsolete, not wrong.
    EXPECT_EQ(msgid("Your message of \"Thu, 01 Aug 2002 17:15:27 BST.\"", true), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("", true), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("", false), V{"message-id.syntax"});
    // but not the specials of a mutt-style "<id>; from x@y on ..."
    EXPECT_EQ(msgid("<a@b>; from x@y", true), V{"message-id.syntax"});
    const msg::Defects d = msg::check_msg_id_field("In-Reply-To", "  Alice's message", 100, true);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].offset, 102u);
    EXPECT_EQ(d[0].detail, "In-Reply-To: only words, no message id");
}

TEST(ValidateMessageId, ObsoleteLeftIsALocalPart) {
    // obs-id-left = local-part (RFC 5322 4.5.4), obs-local-part = word
    // *("." word): quoted strings and atoms joined by dots are obsolete.
    EXPECT_EQ(msgid("<\"a\".b@example.org>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a.\"b\"@example.org>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<\"a\".\"b c\".d@example.org>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a..\"b\"@example.org>"), V{"message-id.syntax"});
    EXPECT_EQ(msgid("<\"a\".@example.org>"), (V{"message-id.obsolete", "message-id.syntax"}));
    EXPECT_EQ(msgid("<\"a\" \"b\"@example.org>"), (V{"message-id.obsolete", "message-id.syntax"}));
}

TEST(ValidateMessageId, QuotedRightIsAnError) {
    // obs-id-right = domain (RFC 5322 4.5.4): never a quoted string.
    const msg::Defects d = msg::check_msg_id_field("Message-ID", "<a@\"example.org\">", 100, false);
    ASSERT_EQ(codes(d), V{"message-id.syntax"});
    EXPECT_EQ(d[0].offset, 103u);  // the quote
    EXPECT_EQ(msgid("<a@example.\"org\">"), V{"message-id.syntax"});
    EXPECT_EQ(msgid("<\"a\"@\"example.org\">"), (V{"message-id.obsolete", "message-id.syntax"}));
}

TEST(ValidateMessageId, CfwsInsideTheBracketsIsObsolete) {
    // obs-id-left = local-part and obs-id-right = domain (RFC 5322 4.5.4)
    // allow CFWS around each of their words, dots and the '@'.
    EXPECT_EQ(msgid("< a @ example.org (c) >"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<(c)a@example.org>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a @example.org>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a@ example.org>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a@example.org >"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a. b@example.org>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a@ [192.0.2.1]>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a@[192.0.2.1 ]>"), V{"message-id.obsolete"});  // domain-literal's FWS
    EXPECT_EQ(msgid("<a@[192.0.2.1](c)>"), V{"message-id.obsolete"});
    EXPECT_EQ(msgid(" (c) <a@example.org> (c) "), V{});  // outside the brackets: msg-id's own CFWS
    const msg::Defects d = msg::check_msg_id_field("Message-ID", "<a@example.org\r\n (c)>", 100, false);
    ASSERT_EQ(codes(d), V{"message-id.obsolete"});
    EXPECT_EQ(d[0].offset, 114u);  // where the folding white space begins
}

TEST(ValidateMessageId, PhrasesWithDotsAreObsolete) {
    // obs-in-reply-to, obs-references = *(phrase / msg-id), and a phrase may
    // be an obs-phrase = word *(word / "." / CFWS) (RFC 5322 4.1, 4.5.4).
    EXPECT_EQ(msgid("Mr. Smith's message <a@example.org>", true), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("<a@example.org> Mr. Smith's \"note\". <b@example.org>", true), V{"message-id.obsolete"});
    EXPECT_EQ(msgid("J. R. R. Tolkien.", true), V{"message-id.obsolete"});
    // a phrase starts with a word
    EXPECT_EQ(msgid(". Smith <a@example.org>", true), V{"message-id.syntax"});
    EXPECT_EQ(msgid("<a@example.org> . <b@example.org>", true), V{"message-id.syntax"});
    // nor is a control character or a literal part of one
    EXPECT_EQ(msgid("\x01 <a@example.org>", true), V{"message-id.syntax"});
    EXPECT_EQ(msgid("[note] <a@example.org>", true), V{"message-id.syntax"});
    // and a Message-ID has none
    EXPECT_EQ(msgid("Mr. <a@example.org>"), V{"message-id.syntax"});
}

TEST(ValidateMessageId, UnclosedCommentOrQuote) {
    // As in the address fields: one error, at the '(' or '"' that is never
    // closed, in place of what follows from it.
    struct Case { const char* name; const char* value; bool list; std::size_t at; };
    for (const Case& c : {Case{"Message-ID", "<1@example.org> (unclosed", false, 16},
                          Case{"Message-ID", "<1@example.org> (nested (comment)", false, 16},
                          Case{"Message-ID", "<1@example.org> \"unclosed", false, 16},
                          Case{"Message-ID", "<\"unclosed@example.org>", false, 1},
                          Case{"Message-ID", "<1@example.org (unclosed>", false, 15},
                          Case{"Message-ID", " (unclosed <1@example.org>", false, 1},
                          Case{"In-Reply-To", "<1@example.org> \"unclosed", true, 16},
                          Case{"References", "<1@example.org> (unclosed", true, 16},
                          Case{"References", "<1@example.org> <2@example.org (x", true, 31}}) {
        const msg::Defects d = msg::check_msg_id_field(c.name, c.value, 100, c.list);
        ASSERT_EQ(codes(d), V{"message-id.syntax"}) << c.value;
        EXPECT_EQ(d[0].offset, 100 + c.at) << c.value;
        EXPECT_EQ(d[0].detail, std::string(c.name) + ": unclosed comment or quote") << c.value;
    }
    // an error before it is the one said
    EXPECT_EQ(codes(msg::check_msg_id_field("References", "<1> (unclosed", 0, true)), V{"message-id.syntax"});
    EXPECT_EQ(msg::check_msg_id_field("References", "<1> (unclosed", 0, true)[0].offset, 2u);
    // a closed comment may hold a quote, and a quoted string a parenthesis
    EXPECT_EQ(msgid("<1@example.org> (he said \"hi)"), V{});
    EXPECT_EQ(msgid("\"see (this\" <1@example.org>", true), V{"message-id.obsolete"});
}

// The codes of a message's defects, but message-id.missing: the short
// messages below are about other checks (Validate.MessageIdMissing is its).
std::vector<std::string> check(const std::string& text, msg::ValidateOptions o = {}) {
    const msg::Message m = msg::parse_message(text);
    std::vector<std::string> c = codes(msg::validate(m, o));
    std::erase(c, "message-id.missing");
    return c;
}

const std::string kHead =
    "From: Alice <alice@example.org>\n"
    "To: bob@example.net\n"
    "Date: Mon, 23 Nov 2026 09:15:00 +0100\n"
    "Message-ID: <1@example.org>\n"
    "Subject: test\n";

TEST(Validate, CleanMessageHasNoDefect) {
    EXPECT_EQ(check(kHead + "\nHello.\n"), V{});
    EXPECT_EQ(check(kHead +
                    "MIME-Version: 1.0\n"
                    "Content-Type: multipart/alternative; boundary=b\n\n"
                    "--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                    "caf\xC3\xA9\n--b\nContent-Type: text/html; charset=iso-8859-1\n"
                    "Content-Transfer-Encoding: quoted-printable\n\n<p>caf=E9</p>\n--b--\n"),
              V{});
}

// RFC 5322 3.6.4's SHOULD: said for the top-level header only, at its end.
TEST(Validate, MessageIdMissing) {
    const std::string no_id = "From: a@x.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n";
    const msg::Defects d = msg::validate(msg::parse_message(no_id));
    ASSERT_EQ(codes(d), V{"message-id.missing"});
    EXPECT_EQ(d[0].offset, no_id.find("\n\n") + 1);
    EXPECT_EQ(d[0].info().severity, msg::Severity::warning);
    EXPECT_TRUE(codes(msg::validate(msg::parse_message(kHead + "\nx\n"))).empty());
    // an embedded message without one is a copy, not mail being sent
    const std::string wrapped = kHead + "MIME-Version: 1.0\nContent-Type: message/rfc822\n\n" + no_id;
    EXPECT_TRUE(codes(msg::validate(msg::parse_message(wrapped))).empty());
}

TEST(Validate, RequiredAndSingleFields) {
    EXPECT_EQ(check("To: bob@example.net\n\nx\n"), (V{"field.missing", "field.missing"}));
    EXPECT_EQ(check(kHead + "Subject: again\n\nx\n"), V{"field.duplicate"});
    EXPECT_EQ(check("From: a@x.org, b@y.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n"),
              V{"field.sender-required"});
    EXPECT_EQ(check("From: a@x.org, b@y.org\nSender: a@x.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n"),
              V{});
}

// Received = *received-token ";" date-time (RFC 5322 3.6.7): the date
// after the last ';' outside comments and quoted strings is checked as a
// Date is; with no ';' the field is obs-received (4.5.7), a warning.
TEST(Validate, ReceivedDateTime) {
    auto one = [](const std::string& received) { return msg::validate(msg::parse_message(kHead + received + "\nx\n")); };
    EXPECT_EQ(codes(one("Received: from a.example.org (a.example.org [192.0.2.1]) by mx.example.net\n"
                        " with ESMTP id 4F2A1 for <bob@example.net>; Mon, 23 Nov 2026 09:15:02 +0100\n")),
              V{});
    EXPECT_EQ(codes(one("Received: (qmail 1 invoked by uid 0); 23 Nov 2026 08:15:02 -0000\n")), V{});
    // a ';' in a comment after the date, or in a quoted string, is text
    EXPECT_EQ(codes(one("Received: by mx.example.net; Mon, 23 Nov 2026 09:15:02 +0100 (a; b)\n")), V{});
    EXPECT_EQ(codes(one("Received: from \"a;b\" by mx.example.net; Mon, 23 Nov 2026 09:15:02 +0100\n")), V{});
    // the date's defects, at the date
    const std::string bad = "Received: by mx.example.net; Mon, 23 Nov 2026 25:15:02 +0100\n";
    msg::Defects d = one(bad);
    ASSERT_EQ(codes(d), V{"date.range"});
    EXPECT_EQ(d[0].offset, kHead.size() + bad.find("25:"));
    EXPECT_EQ(codes(one("Received: by mx.example.net; Mon, 23 Nov 26 09:15:02 GMT\n")),
              (V{"date.obsolete", "date.obsolete"}));
    EXPECT_EQ(codes(one("Received: by mx.example.net; 2026-11-23T09:15:02Z\n")), V{"date.syntax"});
    EXPECT_EQ(codes(one("Received: by mx.example.net;\n")), V{"date.syntax"});
    // no date at all: obs-received, at the field
    for (const std::string r : {"Received: by mx.example.net id 4F2A1\n", "Received: from a (b; c) by d\n"}) {
        d = one(r);
        ASSERT_EQ(codes(d), V{"trace.obsolete"}) << r;
        EXPECT_EQ(d[0].offset, kHead.size());
        EXPECT_EQ(d[0].info().severity, msg::Severity::warning);
    }
    // Return-Path is a path
    d = one("Return-Path: bob@example.net\n");
    ASSERT_EQ(codes(d), V{"address.syntax"});
    EXPECT_EQ(d[0].offset, kHead.size() + 13);
    EXPECT_EQ(codes(one("Return-Path: <>\n")), V{});
}

// RFC 5322 3.6.6: each resending prepends a block of resent fields, which
// needs Resent-Date and Resent-From, and Resent-Sender when Resent-From
// names several mailboxes. Blocks end at trace fields, other fields, or
// where a field of the block comes again; resent fields an MTA appended
// below the message's own fields complete the newest block that lacks them
// (resent_blocks, the rule the envelope is derived by too).
TEST(Validate, ResentBlocks) {
    const std::string date = "Mon, 23 Nov 2026 09:15:00 +0100\n";
    auto check_resent = [&](const std::string& fields) { return msg::validate(msg::parse_message(fields + kHead + "\nx\n")); };
    // two blocks one after the other, and blocks between trace fields
    EXPECT_EQ(codes(check_resent("Resent-From: a@x.org\nResent-To: b@y.org\nResent-Date: " + date +
                                 "Resent-Message-ID: <2@x.org>\nResent-From: b@y.org\nResent-Sender: c@y.org\n"
                                 "Resent-Cc: d@y.org\nResent-Date: " + date)),
              V{});
    EXPECT_EQ(codes(check_resent("Received: by mx.example.net; " + date + "Resent-Date: " + date +
                                 "Resent-From: a@x.org\nReceived: by mx.example.net; " + date +
                                 "Resent-From: b@y.org\nResent-Date: " + date)),
              V{});
    // Postfix's order: Resent-Date and Resent-Message-ID appended at the end
    EXPECT_EQ(codes(msg::validate(msg::parse_message("Received: by mx.example.net; " + date + "Resent-From: a@x.org\n"
                                                     "Resent-To: b@y.org\nReceived: by mx.example.org; " + date + kHead +
                                                     "Resent-Date: " + date + "Resent-Message-Id: <3@x.org>\n\nx\n"))),
              V{});
    // another field between two runs: two blocks
    EXPECT_EQ(codes(check_resent("Resent-From: b@y.org\nX-Note: ends the run\nResent-Date: " + date)),
              (V{"field.missing", "field.missing"}));
    // a block without Resent-Date, or without Resent-From: at its first field
    msg::Defects d = check_resent("Received: by mx.example.net; " + date + "Resent-From: a@x.org\nResent-To: b@y.org\n");
    ASSERT_EQ(codes(d), V{"field.missing"});
    EXPECT_EQ(d[0].offset, std::string("Received: by mx.example.net; " + date).size());
    EXPECT_EQ(d[0].detail, "Resent-Date");
    d = check_resent("Resent-Date: " + date);
    ASSERT_EQ(codes(d), V{"field.missing"});
    EXPECT_EQ(d[0].detail, "Resent-From");
    // a trace field ends a block: the Resent-To below it is a block of its own
    const std::string first = "Resent-From: a@x.org\nResent-Date: " + date + "Received: by mx.example.net; " + date;
    d = check_resent(first + "Resent-To: b@y.org\n");
    ASSERT_EQ(codes(d), (V{"field.missing", "field.missing"}));
    EXPECT_EQ(d[0].offset, first.size());
    // so does a second Resent-From
    const std::string one = "Resent-From: a@x.org\nResent-Date: " + date;
    d = check_resent(one + "Resent-From: b@y.org\n");
    ASSERT_EQ(codes(d), V{"field.missing"});
    EXPECT_EQ(d[0].offset, one.size());
    EXPECT_EQ(d[0].detail, "Resent-Date");
    // several Resent-From mailboxes need the block's own Resent-Sender
    d = check_resent("Resent-Date: " + date + "Resent-From: a@x.org, b@y.org\n");
    ASSERT_EQ(codes(d), V{"field.sender-required"});
    EXPECT_EQ(d[0].offset, std::string("Resent-Date: " + date).size());
    EXPECT_EQ(codes(check_resent("Resent-Date: " + date + "Resent-From: a@x.org, b@y.org\nResent-Sender: a@x.org\n")),
              V{});
    // a block's Resent-From appended below the message's fields, after a
    // later block's Resent-From of several mailboxes: that one still needs
    // its Resent-Sender
    d = msg::validate(msg::parse_message("Resent-Date: " + date + "Received: by mx.example.net; " + date +
                                         "Resent-From: a@x.org, b@y.org\nResent-Date: " + date + kHead +
                                         "Resent-From: c@y.org\n\nx\n"));
    ASSERT_EQ(codes(d), V{"field.sender-required"});
    EXPECT_EQ(d[0].detail, "Resent-From has several, and its block no Resent-Sender");
    EXPECT_EQ(codes(check_resent("Resent-Sender: c@y.org\nResent-From: c@y.org\nResent-Date: " + date +
                                 "Resent-From: a@x.org, b@y.org\nResent-Date: " + date)),
              V{"field.sender-required"});
}

TEST(Validate, Lines) {
    EXPECT_EQ(check(kHead + "X-Long: " + std::string(80, 'a') + "\n\nx\n"), V{"line.long"});
    EXPECT_EQ(check(kHead + "\n" + std::string(1000, 'a') + "\n"), V{"line.too-long"});
    EXPECT_EQ(check(kHead + "\n" + std::string(200, 'a') + "\n"), V{});  // body lines: only the 998 limit
    EXPECT_EQ(check(kHead + "\nbare\rcr\n"), V{"line.bare-cr"});
    EXPECT_EQ(check(kHead + "\nnul\0here\n" + std::string()), V{});
    EXPECT_EQ(check(kHead + std::string("\nnul\0here\n", 10)), V{"line.nul"});
    std::string crlf = "From: a@x.org\r\nDate: Mon, 23 Nov 2026 09:15:00 +0100\r\n\r\none\ntwo\r\n";
    EXPECT_EQ(check(crlf), V{"line.bare-lf"});
}

TEST(Validate, EightBitHeaders) {
    const std::string m = "From: Ren\xC3\xA9\x65 <r@x.org>\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n";
    EXPECT_EQ(check(m), V{"header.8bit"});
    msg::ValidateOptions utf8;
    utf8.utf8 = true;
    EXPECT_EQ(check(m, utf8), V{});
    const std::string latin1 = "From: Ren\xE9\x65 <r@x.org>\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n";
    EXPECT_EQ(check(latin1, utf8), V{"header.utf8-invalid"});
}

// RFC 6532 3.7: a message/global part carries an internationalised message
// through mail that is not one; its header (and its parts') may hold UTF-8,
// valid UTF-8 only. Outside it the 7-bit rule stays.
TEST(Validate, EightBitHeadersInMessageGlobal) {
    auto wrap = [](const std::string& type, const std::string& subject, const std::string& outer_extra) {
        return "From: a@x.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMIME-Version: 1.0\n" + outer_extra +
               "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: " + type +
               "\nContent-Transfer-Encoding: 8bit\n\nFrom: c@x.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n"
               "Subject: " + subject + "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=c\n\n--c\n"
               "Content-Type: text/plain; name=" + subject + "\n\nx\n--c--\n\n--b--\n";
    };
    const std::string utf8 = "Gr\xC3\xBC\xC3\x9F" "e", latin1 = "Gr\xFC\xDF" "e";
    EXPECT_EQ(check(wrap("message/global", utf8, "")), V{});
    EXPECT_EQ(check(wrap("message/global", latin1, "")), (V{"header.utf8-invalid", "header.utf8-invalid"}));
    EXPECT_EQ(check(wrap("message/rfc822", utf8, "")), (V{"header.8bit", "header.8bit"}));
    // the outer header is not inside the part
    EXPECT_EQ(check(wrap("message/global", utf8, "X-Note: " + utf8 + "\n")), V{"header.8bit"});
    // The parser's rule: msgshow (which shows Message::defects()) agrees.
    const std::string good_text = wrap("message/global", utf8, ""), bad_text = wrap("message/global", latin1, "");
    const msg::Message global = msg::parse_message(good_text);
    EXPECT_TRUE(global.defects().empty());
    const msg::Message bad = msg::parse_message(bad_text);
    ASSERT_EQ(bad.defects().size(), 2u);
    EXPECT_EQ(bad.defects()[0].code, DefectCode::HeaderUtf8Invalid);
    // An internationalised message (--utf8) says each invalid field once.
    msg::ValidateOptions o;
    o.utf8 = true;
    const msg::Defects u = msg::validate(bad, o);
    EXPECT_EQ(std::count_if(u.begin(), u.end(), [](const msg::Defect& d) { return d.code == DefectCode::HeaderUtf8Invalid; }), 2);
}

// RFC 6522 multipart/report, RFC 3464 delivery status (RFC 6533's global
// form read as the same report), RFC 8098 disposition notification.
namespace {

std::string report(const std::string& type, const std::string& second, const std::string& content,
                   const std::string& cte = "") {
    return kHead + "MIME-Version: 1.0\nContent-Type: multipart/report; " + type + "\n boundary=r\n\n--r\n"
           "Content-Type: text/plain\n\nNot delivered.\n--r\nContent-Type: " + second + "\n" + cte + "\n" + content +
           "--r--\n";
}

const std::string kDsn = "Reporting-MTA: dns; mx.example.org\nArrival-Date: Mon, 23 Nov 2026 09:15:00 +0100\n\n"
                         "Final-Recipient: rfc822; bob@example.net\nAction: failed\nStatus: 5.1.1 (no such user)\n"
                         "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 5.1.1\n  no such user\n\n"
                         "Final-Recipient: rfc822; carol@example.net\nAction: Delayed\nStatus: 4.4.7\n";

}  // namespace

TEST(Validate, ReportsAsTheirRfcsWriteThem) {
    const std::string dsn = "report-type=delivery-status; ";
    EXPECT_EQ(check(report(dsn, "message/delivery-status", kDsn)), V{});
    const std::string global = kDsn + "\nFinal-Recipient: utf-8; j\xC3\xBCrgen@example.net\nAction: failed\nStatus: 5.1.1\n";
    const std::string eight = "Content-Transfer-Encoding: 8bit\n";
    EXPECT_EQ(check(report("report-type=global-delivery-status; ", "message/global-delivery-status", global, eight)), V{});
    EXPECT_EQ(check(report(dsn, "message/global-delivery-status", global, eight)), V{});
    EXPECT_EQ(check(report("report-type=disposition-notification; ", "message/disposition-notification",
                           "Reporting-UA: mua.example.org; Mailer 1.0\nFinal-Recipient: rfc822; bob@example.net\n"
                           "Original-Message-ID: <1@example.org>\nDisposition: manual-action/MDN-sent-manually; displayed\n")),
              V{});
    // comments where RFC 3464 2.1.1 allows them
    EXPECT_EQ(check(report(dsn, "message/delivery-status",
                           "Reporting-MTA: (mta) dns; mx.example.org\n\nFinal-Recipient: rfc822 (addr); b@example.net\n"
                           "Action: (note) failed\nStatus: (class 5) 5.1.1 (user\n unknown)\n")),
              V{});
    EXPECT_EQ(check(report("report-type=disposition-notification; ", "message/disposition-notification",
                           "Final-Recipient: rfc822; bob@example.net\n"
                           "Disposition: automatic-action/MDN-sent-automatically; (c) deleted\n")),
              V{});
    // a report-type libmsg does not know: its parts are not compared
    EXPECT_EQ(check(report("report-type=tlsrpt; ", "application/tlsrpt+json", "{}\n")), V{});
}

TEST(Validate, ReportDefects) {
    const std::string dsn = "report-type=delivery-status; ";
    EXPECT_EQ(check(report("", "message/delivery-status", kDsn)), V{"report.type-mismatch"});
    EXPECT_EQ(check(report(dsn, "message/rfc822", "Subject: x\n\ny\n")), V{"report.type-mismatch"});
    // each required field, said at its block's first field
    const std::string text = report(dsn, "message/delivery-status",
                                    "Arrival-Date: Mon, 23 Nov 2026 09:15:00 +0100\n\nFinal-Recipient: rfc822; b@example.net\n"
                                    "Status: 5.1.1\n");
    msg::Defects d = msg::validate(msg::parse_message(text));
    ASSERT_EQ(codes(d), (V{"report.field-missing", "report.field-missing"}));
    EXPECT_EQ(d[0].offset, text.find("Arrival-Date"));
    EXPECT_EQ(d[0].detail, "Reporting-MTA");
    EXPECT_EQ(d[1].offset, text.find("Final-Recipient"));
    EXPECT_EQ(d[1].detail, "Action");
    // no recipient's block; a recipient's fields with no empty line before them
    EXPECT_EQ(check(report(dsn, "message/delivery-status", "Reporting-MTA: dns; mx.example.org\n")),
              V{"report.field-missing"});
    EXPECT_EQ(check(report(dsn, "message/delivery-status",
                           "Reporting-MTA: dns; mx.example.org\nFinal-Recipient: rfc822; b@example.net\nAction: failed\n"
                           "Status: 5.1.1\n")),
              V{"report.syntax"});
    // the first recipient's fields in the report's block, more blocks after
    // them: said, and checked as a recipient's
    EXPECT_EQ(check(report(dsn, "message/delivery-status",
                           "Reporting-MTA: dns; mx\nFinal-Recipient: rfc822; a@example.net\nAction: bogus\nStatus: 550\n\n"
                           "Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.1.1\n")),
              (V{"report.syntax", "report.action", "report.status"}));
    // a recipient's fields alone (no report fields at all): Reporting-MTA
    // is missing, and nothing else is said
    EXPECT_EQ(check(report(dsn, "message/delivery-status",
                           "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n")),
              V{"report.field-missing"});
    // a part of many bad lines: ten said, the rest counted
    std::string garbage = "Reporting-MTA: dns; mx\n\n";
    for (int i = 0; i < 1000; ++i) garbage += "x\n";
    const msg::Defects many = msg::validate(msg::parse_message(report(dsn, "message/delivery-status", garbage)));
    V expected(10, "report.syntax");
    expected.insert(expected.begin(), "report.field-missing");   // and no recipient's block
    ASSERT_EQ(codes(many), expected);
    EXPECT_EQ(many.back().detail.rfind("and 990 more like it", 0), 0u) << many.back().detail;
    // values: a type before ';', Action's five words, Status's code
    const std::string head = "Reporting-MTA: dns; mx.example.org\n\n";
    for (const auto& [fields, code] : std::vector<std::pair<std::string, std::string>>{
             {"Final-Recipient: b@example.net\nAction: failed\nStatus: 5.1.1\n", "report.syntax"},
             {"Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns;\n", "report.syntax"},
             {"Final-Recipient: rfc822; b@example.net\nAction: bounced\nStatus: 5.1.1\n", "report.action"},
             {"Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 550 user unknown\n", "report.status"},
             {"Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 3.1.1\n", "report.status"},
             {"Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.1.1234\n", "report.status"},
             {"Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.1\n", "report.status"},
             {"Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.1.1\nnot a field\n", "report.syntax"},
         }) {
        const std::string t = report(dsn, "message/delivery-status", head + fields);
        EXPECT_EQ(codes(msg::validate(msg::parse_message(t))), V{code}) << fields;
    }
    // a disposition notification needs its Disposition, written mode; type
    EXPECT_EQ(check(report("report-type=disposition-notification; ", "message/disposition-notification",
                           "Final-Recipient: rfc822; bob@example.net\n")),
              V{"report.field-missing"});
    EXPECT_EQ(check(report("report-type=disposition-notification; ", "message/disposition-notification",
                           "Final-Recipient: rfc822; bob@example.net\nDisposition: displayed\n")),
              V{"report.syntax"});
}

// In a base64 report (a global one: RFC 3464 wants 7bit for the others)
// the defect is placed at the line whose decoding holds it.
TEST(Validate, ReportDefectsInAnEncodedReport) {
    const std::string content = "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; b@example.net\n"
                                "Action: failed\nStatus: bad\n";
    std::string b64 = msg::base64_encode(content, 76, "\n");
    const std::string text = report("report-type=delivery-status; ", "message/global-delivery-status", b64,
                                    "Content-Transfer-Encoding: base64\n");
    const msg::Defects d = msg::validate(msg::parse_message(text));
    ASSERT_EQ(codes(d), V{"report.status"});
    const std::size_t body = text.find(b64);
    EXPECT_GE(d[0].offset, body + 77);   // the second line of base64 holds "Status: bad"
    EXPECT_LT(d[0].offset, body + b64.size());
}

// Content-Length is an mbox's framing (mboxcl), not a MIME field: it asks
// for no MIME-Version.
TEST(Validate, ContentLengthIsNoMimeField) {
    EXPECT_EQ(check(kHead + "Content-Length: 3\n\nhi\n"), V{});
    EXPECT_EQ(check(kHead + "Content-Length: 3\nContent-Type: text/plain\n\nhi\n"), V{"mime.version-missing-plain"});
}

TEST(Validate, MissedChecks) {
    const std::string mv = "MIME-Version: 1.0\n";
    // RFC 2045 6.4: a multipart is 7bit, 8bit or binary.
    EXPECT_EQ(check(kHead + mv + "Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n"
                                 "--b\n\nx\n--b--\n"),
              V{"mime.multipart-encoding"});
    EXPECT_EQ(check(kHead + mv + "Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: 8bit\n\n"
                                 "--b\n\nx\n--b--\n"),
              V{});
    // RFC 2045 6.7 (3): a quoted-printable line ending in literal white space.
    const std::string qp = kHead + mv + "Content-Transfer-Encoding: quoted-printable\n\nok\nTotal:  \t\nnext \n";
    const msg::Defects d = msg::validate(msg::parse_message(qp));
    ASSERT_EQ(codes(d), V{"body.qp-trailing-space"});
    EXPECT_EQ(d[0].offset, qp.find(" \t\n") - 1);
    EXPECT_EQ(check(kHead + mv + "Content-Transfer-Encoding: quoted-printable\n\nsoft=\nend=20\n"), V{});
    // A multipart with no body part.
    EXPECT_EQ(check(kHead + mv + "Content-Type: multipart/mixed; boundary=b\n\ntext\n--b--\n"), V{"mime.no-body-part"});
    // A line that begins with the boundary but is no delimiter.
    const std::string nested = kHead + mv + "Content-Type: multipart/mixed; boundary=a\n\n--a\n"
                               "Content-Type: multipart/alternative; boundary=a2\n\n--a2\n\nx\n--a2--\n--a--\n";
    const msg::Defects n = msg::validate(msg::parse_message(nested));
    ASSERT_EQ(codes(n), V{"mime.boundary-in-part"});
    EXPECT_EQ(n[0].offset, nested.find("--a2\n\n"));
    // x- encodings are legal: a warning, not an error.
    const msg::Defects x = msg::validate(msg::parse_message(kHead + mv + "Content-Transfer-Encoding: x-gzip64\n\nH4sI\n"));
    ASSERT_EQ(codes(x), V{"mime.private-encoding"});
    EXPECT_EQ(x[0].info().severity, msg::Severity::warning);
}

// UTF-8 text labelled with a one-byte charset: valid UTF-8 throughout, 8-bit
// and so mojibake in every reader. Text really in the charset is not.
TEST(Validate, Utf8LabelledWithAOneByteCharset) {
    const std::string mv = "MIME-Version: 1.0\n";
    const auto part = [&](const std::string& cs, const std::string& cte, const std::string& body) {
        return kHead + mv + "Content-Type: text/plain; charset=" + cs + "\nContent-Transfer-Encoding: " + cte +
               "\n\n" + body;
    };
    const std::string latin = part("iso-8859-1", "8bit", "fine\ncaf\xC3\xA9 cr\xC3\xA8me\n");
    msg::Defects d = msg::validate(msg::parse_message(latin));
    ASSERT_EQ(codes(d), V{"charset.mislabelled"});
    EXPECT_EQ(d[0].offset, latin.find("\xC3\xA9"));
    EXPECT_EQ(d[0].detail, "labelled iso-8859-1");
    EXPECT_EQ(d[0].info().severity, msg::Severity::warning);
    EXPECT_EQ(check(part("windows-1252", "quoted-printable", "It=E2=80=99s\n")), V{"charset.mislabelled"});
    EXPECT_EQ(check(part("koi8-r", "base64", "0J/RgNC40LLQtdGC\n")), V{"charset.mislabelled"});   // "Привет"
    EXPECT_EQ(check(part("latin1", "8bit", "\xF0\x9F\x98\x80\n")), V{"charset.mislabelled"});
    // Not so: text in the charset it says, ASCII, UTF-8 labelled so, or a
    // cut sequence at the end.
    EXPECT_EQ(check(part("iso-8859-1", "8bit", "caf\xE9\n")), V{});
    EXPECT_EQ(check(part("windows-1252", "8bit", "It\x92s \x93quoted\x94\n")), V{});
    EXPECT_EQ(check(part("iso-8859-1", "8bit", "caf\xC3\xA9 and caf\xE9\n")), V{});
    EXPECT_EQ(check(part("iso-8859-1", "8bit", "plain\n")), V{});
    EXPECT_EQ(check(part("utf-8", "8bit", "caf\xC3\xA9\n")), V{});
    EXPECT_EQ(check(part("iso-8859-1", "8bit", "caf\xC3")), V{});
    EXPECT_EQ(check(part("shift_jis", "8bit", "\xE3\x81\x82\n")), V{"charset.bad-bytes"});   // not one byte a character
}

// Text in a charset whose ASCII is not itself (ISO-2022-JP, UTF-7, HZ,
// UTF-16) is read though it is 7-bit: bytes that do not decode in it are
// found, as msgrewrite --to-utf8 finds them; good text passes.
TEST(Validate, SevenBitTextOfAStatefulCharsetIsRead) {
    const std::string mv = "MIME-Version: 1.0\n";
    const auto part = [&](const std::string& cs, const std::string& body) {
        return kHead + mv + "Content-Type: text/plain; charset=" + cs + "\nContent-Transfer-Encoding: 7bit\n\n" + body;
    };
    const std::string half = part("iso-2022-jp", "ab \x1b$B!\x1b(B cd\n");
    const msg::Defects d = msg::validate(msg::parse_message(half));
    ASSERT_EQ(codes(d), V{"charset.bad-bytes"});
    EXPECT_GE(d[0].offset, half.find("ab "));
    EXPECT_EQ(check(part("utf-7", "a+~~-\n")), V{"charset.bad-bytes"});
    EXPECT_EQ(check(part("iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B\n")), V{});   // "konnichiwa"
    EXPECT_EQ(check(part("utf-7", "caf+AOk-\n")), V{});
    EXPECT_EQ(check(part("iso-2022-jp", "plain ASCII\n")), V{});
}

TEST(Validate, BodyDefectsAtTheirLine) {
    const std::string mv = "MIME-Version: 1.0\n";
    // charset.bad-bytes at the line with the bytes, not at Content-Type.
    const std::string utf8 = kHead + mv + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                                          "fine\ncaf\xE9\n";
    msg::Defects d = msg::validate(msg::parse_message(utf8));
    ASSERT_EQ(codes(d), V{"charset.bad-bytes"});
    EXPECT_EQ(d[0].offset, utf8.find("caf\xE9") + 3);
    // In quoted-printable text: the encoded line.
    const std::string qp = kHead + mv + "Content-Type: text/plain; charset=us-ascii\n"
                                        "Content-Transfer-Encoding: quoted-printable\n\nfine\nna=EFve\n";
    d = msg::validate(msg::parse_message(qp));
    ASSERT_EQ(codes(d), V{"charset.bad-bytes"});
    EXPECT_EQ(d[0].offset, qp.find("na=EF"));
    // charset.missing at the first 8-bit line too.
    const std::string missing = kHead + mv + "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
                                             "YWJj\nw6k=\n";
    d = msg::validate(msg::parse_message(missing));
    ASSERT_EQ(codes(d), V{"charset.missing"});
    EXPECT_EQ(d[0].offset, missing.find("w6k="));
    // A file uuencoded into the text, damaged.
    const std::string uu = kHead + "\nSee below.\nbegin 644 a.txt\n#86)C\n#8~)C\n`\nend\n";
    d = msg::validate(msg::parse_message(uu));
    ASSERT_EQ(codes(d), V{"body.uuencode-bad-line"});
    EXPECT_EQ(d[0].offset, uu.find("#8~"));
}

TEST(Validate, Mime) {
    const std::string mv = "MIME-Version: 1.0\n";
    // MIME fields that only restate plain US-ASCII text: a warning.
    EXPECT_EQ(check(kHead + "Content-Type: text/plain\n\nx\n"), V{"mime.version-missing-plain"});
    EXPECT_EQ(check(kHead + "Content-Type: text/plain; charset=US-ASCII; encoding=utf-8\n"
                            "Content-Transfer-Encoding: 7bit\n\nx\n"),
              V{"mime.version-missing-plain"});
    EXPECT_EQ(check(kHead + "Content-Transfer-Encoding: 8bit\n\nx\n"), V{"mime.version-missing-plain"});
    // Anything that changes the reading: an error.
    EXPECT_EQ(check(kHead + "Content-Type: text/plain; charset=utf-8\n\nx\n"), V{"mime.version-missing"});
    EXPECT_EQ(check(kHead + "Content-Type: text/plain; format=flowed\n\nx\n"), V{"mime.version-missing"});
    EXPECT_EQ(check(kHead + "Content-Type: text/html\n\nx\n"), V{"mime.version-missing"});
    EXPECT_EQ(check(kHead + "Content-Transfer-Encoding: quoted-printable\n\nx\n"), V{"mime.version-missing"});
    EXPECT_EQ(check(kHead + "Content-Type: text/plain; charset=us-ascii\n\n\xC3\xA9\n"),
              (V{"mime.version-missing", "body.8bit-in-7bit", "charset.bad-bytes"}));
    EXPECT_EQ(check(kHead + "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n"),
              V{"mime.version-missing"});
    EXPECT_EQ(check(kHead + mv + "Content-Type: text/plain\n\ncaf\xC3\xA9\n"),
              (V{"body.8bit-in-7bit", "charset.missing"}));
    EXPECT_EQ(check(kHead + mv + "Content-Type: text/plain; charset=x-nonesuch\n\nx\n"), V{"charset.unknown"});
    EXPECT_EQ(check(kHead + mv + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                                 "bad \xC3\x28\n"),
              V{"charset.bad-bytes"});
    EXPECT_EQ(check(kHead + mv + "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nQQ==\n"),
              V{"mime.message-encoding"});
    // both placed at the encoding the field names
    for (const std::string type : {"message/rfc822", "multipart/mixed; boundary=b"}) {
        const std::string text = kHead + mv + "Content-Type: " + type + "\nContent-Transfer-Encoding: (c) base64\n\n--b\n\nx\n--b--\n";
        const msg::Defects d = msg::validate(msg::parse_message(text));
        ASSERT_FALSE(d.empty()) << type;
        EXPECT_EQ(d.front().offset, text.find("base64")) << type;
    }
    EXPECT_EQ(check(kHead + mv + "Content-Type: application/pdf\n"
                                 "Content-Disposition: attachment; filename=\"../x.pdf\"\n\nx\n"),
              V{"mime.filename-path"});
    EXPECT_EQ(check(kHead + mv + "Content-Type: text/plain; charset=us-ascii\n"
                                 "Content-Transfer-Encoding: base64\n\n" + std::string(80, 'Q') + "\n"),
              V{"body.base64-line-too-long"});
    EXPECT_EQ(check(kHead + mv + "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                                 "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n--b--\n"),
              (V{"mime.boundary-reused", "mime.boundary-not-found"}));
}

// version := 1*DIGIT "." 1*DIGIT (RFC 2045 4), comments ignored wherever
// they are, white space between the tokens.
TEST(Validate, MimeVersionSyntax) {
    auto version = [](const std::string& v) {
        return msg::validate(msg::parse_message(kHead + "MIME-Version:" + v + "\n\nx\n"));
    };
    for (const std::string good : {" 1.0", " 1.0 (produced by MetaSend Vx.x)", " (produced by MetaSend Vx.x) 1.0",
                                   " 1.(produced by MetaSend Vx.x)0", " 1 . 0", "1.0", " 2.12"})
        EXPECT_EQ(codes(version(good)), V{}) << good;
    const std::size_t value = kHead.size() + 13;  // where the value begins
    const std::pair<std::string, std::size_t> bad[] = {
        {" 1.0 produced by MailKit", 5}, {" 1", 2}, {" 1.0.0", 4}, {" yes", 1}, {"", 0}, {" 1.0;", 4},
        {" .0", 1}, {" 1.", 3}, {" 1.0 (unclosed", 5}, {" 1.(x", 3}};
    for (const auto& [v, at] : bad) {
        const msg::Defects d = version(v);
        ASSERT_EQ(codes(d), V{"mime.version-syntax"}) << v;
        EXPECT_EQ(d[0].offset, value + at) << v;
    }
}

TEST(Validate, BoundaryOver70) {
    const std::string b(71, 'b');
    EXPECT_EQ(check(kHead + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=" + b + "\n\n--" + b +
                    "\n\nx\n--" + b + "--\n"),
              (V{"line.long", "mime.boundary-too-long"}));  // the field line is long too
}

// RFC 2046 5.1.1: boundary := 0*69<bchars> bcharsnospace. Other characters
// are a warning (readers match the boundary as given); white space at the
// end an error (Python strips it and misses the close delimiter).
TEST(Validate, BoundaryCharacters) {
    auto multipart = [](const std::string& param, const std::string& b) {
        return msg::validate(msg::parse_message(kHead + "MIME-Version: 1.0\nContent-Type: multipart/mixed;\n " + param +
                                                "\n\n--" + b + "\n\nx\n--" + b + "--\n"));
    };
    for (const std::string good : {"a", "'()+_,-./:=?", "==Multipart Boundary ?:/=(x)", "----=_NextPart_000_0042.01DA"})
        EXPECT_EQ(codes(multipart("boundary=\"" + good + "\"", good)), V{}) << good;
    const std::size_t param = kHead.size() + std::string("MIME-Version: 1.0\nContent-Type: multipart/mixed;\n ").size();
    for (const std::string bad : {"b1_#7f3a9c", "a%b", "a!b", "x~y", "a@b", "[b]", "a\tb"}) {
        std::string quoted;   // the value quoted, '"' and '\\' escaped
        for (const char c : bad) quoted += (c == '"' || c == '\\' ? "\\" : "") + std::string(1, c);
        const msg::Defects d = multipart("boundary=\"" + quoted + "\"", bad);
        ASSERT_EQ(codes(d), V{"mime.boundary-chars"}) << bad;
        EXPECT_EQ(d[0].offset, param) << bad;
        EXPECT_EQ(d[0].info().severity, msg::Severity::warning);
    }
    msg::Defects d = multipart("boundary=\"mixed b1 \"", "mixed b1 ");
    ASSERT_EQ(codes(d), V{"mime.boundary-trailing-space"});
    EXPECT_EQ(d[0].offset, param);
    EXPECT_EQ(d[0].info().severity, msg::Severity::error);
    // a tab at the end is both
    EXPECT_EQ(codes(multipart("boundary=\"b1\t\"", "b1\t")), (V{"mime.boundary-chars", "mime.boundary-trailing-space"}));
    // in RFC 2231 sections, at the first section
    d = multipart("boundary*0=\"b1_\"; boundary*1=\"#7f\"", "b1_#7f");
    ASSERT_EQ(codes(d), V{"mime.boundary-chars"});
    EXPECT_EQ(d[0].offset, param);
}

TEST(Validate, EncodedWords) {
    const std::string longword = "=?utf-8?q?" + std::string(70, 'a') + "?=";
    EXPECT_EQ(check(kHead + "Comments: " + longword + "\n\nx\n"), (V{"line.long", "header.encoded-word-too-long"}));
    EXPECT_EQ(check(kHead + "Comments: =?x-none?q?a?=\n\nx\n"), V{"header.encoded-word-charset"});
    EXPECT_EQ(check("From: \"=?utf-8?q?a?=\" <a@x.org>\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n"),
              V{"header.encoded-word-in-quotes"});
    // A boundary is never decoded, and may hold "=?" and "?=" (RFC 2046
    // 5.1.1); a file's name in quotes is the sender's mistake.
    EXPECT_EQ(check(kHead + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=?utf-8?q?abc?=\"\n\n"
                            "--=?utf-8?q?abc?=\nContent-Type: text/plain\n\nx\n--=?utf-8?q?abc?=--\n"),
              V{});
    EXPECT_EQ(check(kHead + "MIME-Version: 1.0\nContent-Type: application/pdf; x-boundary=\"a\";\n"
                            " name=\"=?utf-8?q?a.pdf?=\"\nContent-Transfer-Encoding: base64\n\nJVBERg==\n"),
              V{"header.encoded-word-in-quotes"});
}

// RFC 2047 5: in a display name an encoded word stands apart from every
// other word and special by white space; in a comment a parenthesis may
// touch it; a '"' inside a comment opens no quoted string.
TEST(Validate, EncodedWordsInStructuredFields) {
    auto from = [](const std::string& value) {
        return check("From: " + value + "\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n");
    };
    EXPECT_EQ(from("Bob (he said \"hi) =?utf-8?q?J=C3=B6rg?= <jorg@example.org>"), V{});
    EXPECT_EQ(from("(\\\") =?utf-8?q?J=C3=B6rg?= <jorg@example.org>"), V{});
    EXPECT_EQ(from("(\") \"=?utf-8?q?J=C3=B6rg?=\" <jorg@example.org>"), V{"header.encoded-word-in-quotes"});
    EXPECT_EQ(from("\"a\\\"b\" =?utf-8?q?J=C3=B6rg?= <jorg@example.org>"), V{});
    EXPECT_EQ(from("=?utf-8?q?J=C3=B6rg?= <jorg@example.org> (=?utf-8?q?J=C3=B6rg?=)"), V{});
    EXPECT_EQ(from("=?utf-8?q?J=C3=B6rg?=<jorg@example.org>"), V{"header.encoded-word-in-word"});
    EXPECT_EQ(from("\"Bob\"=?utf-8?q?_B=C3=A9?= <bob@example.org>"), V{"header.encoded-word-in-word"});
    EXPECT_EQ(from("jorg@example.org (J=?utf-8?q?=C3=B6?=rg)"), V{"header.encoded-word-in-word"});
    // in an address "=?" is no encoded word: not a word of a phrase either
    EXPECT_EQ(from("<=?utf-8?q?a?=@example.org>"), V{});
    // Resent-From is an address field like From
    EXPECT_EQ(check(kHead + "Resent-From: =?x-none?q?a?= <a@example.org>\nResent-Date: Mon, 23 Nov 2026 09:15:00 +0100\n\nx\n"),
              V{"header.encoded-word-charset"});
}

// A defect about a parameter or a token points at it, on the line it is
// on when the field is folded, not at the field's start.
TEST(Validate, PlacesOfParametersAndTokens) {
    auto offset_of = [](const std::string& text, msg::DefectCode code, msg::ValidateOptions o = {}) {
        for (const msg::Defect& d : msg::validate(msg::parse_message(text), o))
            if (d.code == code) return d.offset;
        return std::string::npos;
    };
    const std::string mime = kHead + "MIME-Version: 1.0\n";
    std::string t = mime + "Content-Type: text/plain;\n charset=x-nonexistent\n\n\xE9\n";
    EXPECT_EQ(offset_of(t, msg::DefectCode::CharsetUnknown), t.find("charset="));
    // the parameter itself, not its name quoted in another's value
    t = mime + "Content-Type: text/plain; name=\"a charset=b\";\n charset=x-nonexistent\n\n\xE9\n";
    EXPECT_EQ(offset_of(t, msg::DefectCode::CharsetUnknown), t.find("charset=x"));
    t = mime + "Content-Type: text/plain\nContent-Transfer-Encoding:\n base-64\n\nx\n";
    EXPECT_EQ(offset_of(t, msg::DefectCode::UnknownEncoding), t.find("base-64"));
    t = mime + "Content-Type: application/pdf\nContent-Disposition: attachment;\n filename=\"../x.pdf\"\n\nx\n";
    EXPECT_EQ(offset_of(t, msg::DefectCode::FilenamePath), t.find("filename="));
    const std::string b(71, 'b');
    t = mime + "Content-Type: multipart/mixed;\n boundary=" + b + "\n\n--" + b + "\n\nx\n--" + b + "--\n";
    EXPECT_EQ(offset_of(t, msg::DefectCode::BoundaryTooLong), t.find("boundary="));
    msg::ValidateOptions utf8;
    utf8.utf8 = true;
    t = kHead + "Subject: caf\xC3\xA9\n and \xFF here\n\nx\n";
    EXPECT_EQ(offset_of(t, msg::DefectCode::HeaderUtf8Invalid, utf8), t.find('\xFF'));
}

// RFC 6532 3.4: the 78-character limit counts characters, not octets.
TEST(Validate, LongLinesCountUtf8Characters) {
    std::string e60;
    for (int i = 0; i < 60; ++i) e60 += "\xC3\xA9";
    msg::ValidateOptions utf8;
    utf8.utf8 = true;
    EXPECT_EQ(check(kHead + "X-Text: " + e60 + "\n\nx\n", utf8), V{});                   // 68 characters, 128 octets
    EXPECT_EQ(check(kHead + "X-Text: " + e60 + e60 + "\n\nx\n", utf8), V{"line.long"});  // 128 characters
    // not UTF-8: 88 bytes, 88 characters
    EXPECT_EQ(check(kHead + "X-Text: " + std::string(60, '\xE9') + std::string(20, 'a') + "\n\nx\n"),
              (V{"line.long", "header.8bit"}));
}

// Each case below was a wrong report (or a missing one) found by review.
TEST(Validate, ReviewedCases) {
    const std::string mime = kHead + "MIME-Version: 1.0\n";
    // 8-bit bytes in a part labelled us-ascii (ICU would decode them as windows-1252)
    EXPECT_EQ(check(mime + "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 8bit\n\n"
                           "caf\xE9\n"),
              V{"charset.bad-bytes"});
    // a '"' in an unstructured field opens no quoted string
    EXPECT_EQ(check("From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n"
                    "Subject: 5\" screen =?utf-8?q?caf=C3=A9?=\n\nx\n"),
              V{});
    // filename= for old readers and filename*= for the rest: no duplicate, RFC 2231 wins
    {
        const std::string text =
            mime + "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
                   "Content-Disposition: attachment; filename=\"cafe.pdf\";\n filename*=utf-8''caf%C3%A9.pdf\n\n"
                   "JVBERg==\n";
        const msg::Message m = msg::parse_message(text);  // views into `text`
        EXPECT_EQ(codes(msg::validate(m)), V{});
        EXPECT_EQ(m.filename(m.root()), "caf\xC3\xA9.pdf");
    }
    // section numbers with a leading zero (RFC 2231 3)
    EXPECT_EQ(check(mime + "Content-Type: text/plain; charset=us-ascii; name*0=a; name*01=b\n\nx\n"),
              V{"mime.param-syntax"});
    // RFC 6533: message/global-delivery-status may be base64
    EXPECT_EQ(check(mime + "Content-Type: message/global-delivery-status\nContent-Transfer-Encoding: base64\n\n"
                           "UmVwb3J0aW5nLU1UQTogZG5zOyBleGFtcGxlLm9yZwoKRmluYWwtUmVjaXBpZW50OiByZmM4MjI7\nIGJAZXhhbXBsZS5vcmcKQWN0aW9uOiBmYWlsZWQKU3RhdHVzOiA1LjEuMQo=\n"),
              V{});
    // a year too long for an int is a year all the same (RFC 5322 3.3), without an overflow
    EXPECT_EQ(date("Tue, 23 Nov 99999999999999999999 09:15:00 +0100"), V{});
    EXPECT_EQ(date("Mon, 23 Nov 99999999999999999999 09:15:00 +0100"), V{"date.weekday"});
    // NUL in a nested header is header.nul only; a binary part may hold NUL
    EXPECT_EQ(check(mime + "Content-Type: multipart/mixed; boundary=b\n\n--b\nX-A: a" + std::string(1, '\0') +
                    "b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\nz" +
                    std::string(1, '\0') + "z\n--b--\n"),
              V{"header.nul"});
    // a space inside a field name
    EXPECT_EQ(check(kHead + "X Mailer: mailer 1.0\n\nx\n"), V{"header.bad-field-name"});
}

TEST(Validate, BadFieldNameSaysWhichCharacter) {
    auto detail = [](const std::string& text) {
        for (const msg::Defect& d : msg::validate(msg::parse_message(text)))
            if (d.code == msg::DefectCode::HeaderBadFieldName) return d.detail;
        return std::string("(none)");
    };
    EXPECT_EQ(detail("\xEF\xBB\xBF" "From: a@example.org\n\nx\n"), "a UTF-8 byte-order mark before the first field");
    EXPECT_EQ(detail("From: a@example.org\nX Mailer: m\n\nx\n"), "a space");
    EXPECT_EQ(detail("From: a@example.org\nX-Priorit\xC3\xA4t: 1\n\nx\n"), "byte 0xC3");
    // a colon with no name before it: not a line without a colon
    EXPECT_EQ(detail("From: a@example.org\n: empty name\n\nx\n"), "no name before the colon");
}

TEST(Validate, SortedByOffset) {
    const msg::Message m = msg::parse_message("To: bob\n\nx\n");
    const msg::Defects d = msg::validate(m);
    EXPECT_TRUE(std::is_sorted(d.begin(), d.end(),
                               [](const msg::Defect& a, const msg::Defect& b) { return a.offset < b.offset; }));
    EXPECT_GE(d.size(), 3u);
}

}  // namespace

// A message that repeats one defect thousands of times gets ten reports
// of it, the last with the count of the others.
TEST(Validate, RepeatsOfOneCodeAreCappedWithACount) {
    std::string subject = "Subject:";
    for (int i = 0; i < 500; ++i) subject += " =?utf-8?q?" + std::string(80, 'a') + "?=";
    const std::string data = "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0000\n" + subject + "\n\nx\n";
    const msg::Message m = msg::parse_message(data);
    auto count = [](const msg::Defects& ds, msg::DefectCode c) {
        return std::count_if(ds.begin(), ds.end(), [&](const msg::Defect& d) { return d.code == c; });
    };
    const msg::Defects capped = msg::validate(m);
    EXPECT_EQ(count(capped, msg::DefectCode::EncodedWordTooLong), 10);
    const auto last = std::find_if(capped.rbegin(), capped.rend(), [](const msg::Defect& d) {
        return d.code == msg::DefectCode::EncodedWordTooLong;
    });
    EXPECT_EQ(last->detail.rfind("and 490 more like it; ", 0), 0u) << last->detail;
    msg::ValidateOptions every;
    every.max_repeats = 0;
    EXPECT_EQ(count(msg::validate(m, every), msg::DefectCode::EncodedWordTooLong), 500);
}

// The line checks keep ten of a kind and count the rest: the tenth says how
// many more there were, as for every other code, also with no limit asked
// (when the line checks' own limit is the one that applies) and with a
// lower one.
TEST(Validate, LineDefectsPastTheirLimitAreCounted) {
    std::string data = "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0000\nSubject: s\n\n";
    for (int i = 0; i < 15; ++i) data += "a\rb\n" + std::string(1000, 'l') + "\n";
    const msg::Message m = msg::parse_message(data);
    for (const std::size_t max : {std::size_t{10}, std::size_t{0}, std::size_t{4}}) {
        msg::ValidateOptions o;
        o.max_repeats = max;
        const msg::Defects ds = msg::validate(m, o);
        for (const msg::DefectCode c : {msg::DefectCode::LineBareCr, msg::DefectCode::LineTooLong}) {
            std::vector<const msg::Defect*> of;
            for (const msg::Defect& d : ds)
                if (d.code == c) of.push_back(&d);
            const std::size_t kept = max == 4 ? 4 : 10;
            ASSERT_EQ(of.size(), kept) << max;
            EXPECT_EQ(of.back()->detail.rfind("and " + std::to_string(15 - kept) + " more like it", 0), 0u)
                << max << ": " << of.back()->detail;
            for (std::size_t k = 0; k + 1 < of.size(); ++k) EXPECT_EQ(of[k]->detail.find("more like it"), std::string::npos);
        }
    }
}
