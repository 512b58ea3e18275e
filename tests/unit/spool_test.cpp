// spool_test.cpp - spool entries: reading the envelope (spool.hpp) and
// checking it against the message (validate_envelope in validate.hpp).
#include <gtest/gtest.h>
#include <msg/delivery.hpp>
#include <msg/spool.hpp>
#include <msg/validate.hpp>

#include <string>

#include "defect_helpers.hpp"

using msg::DefectCode;
using msg_test::count;
using msg_test::first;

namespace {
const std::string kMessage = "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\n\nhello\n";
}

TEST(SpoolEntry, ReadsEnvelopeAnnotationsAndMessage) {
    const std::string e = "MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=64\n"
                          "RCPT TO:<b@example.net>\n"
                          "RCPT TO:<c@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40example.net\n"
                          "Mbox-From: a@example.org Mon Nov 23 09:15:00 2026\n"
                          "\n" + kMessage;
    const msg::SpoolEntry s = msg::parse_spool_entry(e);
    EXPECT_TRUE(s.defects.empty()) << s.defects.front().info().code << " " << s.defects.front().detail;
    ASSERT_NE(s.mail(), nullptr);
    EXPECT_EQ(s.mail()->path.mailbox, "a@example.org");
    EXPECT_EQ(s.body_type(), "8BITMIME");
    ASSERT_EQ(s.recipients().size(), 2u);
    EXPECT_EQ(s.recipients()[1]->path.mailbox, "c@example.net");
    ASSERT_NE(s.recipients()[1]->param("notify"), nullptr);
    EXPECT_EQ(s.recipients()[1]->param("NOTIFY")->value, "SUCCESS,FAILURE");
    EXPECT_EQ(s.annotation("mbox-from"), "a@example.org Mon Nov 23 09:15:00 2026");
    EXPECT_EQ(s.message, kMessage);
    EXPECT_EQ(s.message_line, 6u);
    EXPECT_EQ(s.message_offset, e.size() - kMessage.size());
    EXPECT_TRUE(msg::looks_like_spool_entry(e));
    EXPECT_FALSE(msg::looks_like_spool_entry(kMessage));
}

TEST(SpoolEntry, CrlfEnvelope) {
    const std::string e = "MAIL FROM:<>\r\nRCPT TO:<b@example.net>\r\n\r\n" + kMessage;
    const msg::SpoolEntry s = msg::parse_spool_entry(e);
    EXPECT_TRUE(s.defects.empty());
    EXPECT_TRUE(s.mail()->path.null);
    EXPECT_EQ(s.message, kMessage);
}

TEST(SpoolEntry, StructureDefects) {
    {
        const msg::SpoolEntry s = msg::parse_spool_entry("RCPT TO:<b@example.net>\n\n" + kMessage);
        ASSERT_EQ(count(s.defects, DefectCode::EnvelopeMailMissing), 1u);  // once, not per RCPT
        EXPECT_EQ(first(s.defects, DefectCode::EnvelopeMailMissing)->offset, 0u);
    }
    {
        const msg::SpoolEntry s =
            msg::parse_spool_entry("RCPT TO:<b@example.net>\nMAIL FROM:<a@example.org>\n\n" + kMessage);
        ASSERT_EQ(count(s.defects, DefectCode::EnvelopeMailMissing), 1u);  // at the late MAIL
        EXPECT_EQ(first(s.defects, DefectCode::EnvelopeMailMissing)->offset, 24u);
    }
    {
        const msg::SpoolEntry s = msg::parse_spool_entry("MAIL FROM:<a@example.org>\n\n" + kMessage);
        ASSERT_EQ(count(s.defects, DefectCode::EnvelopeRcptMissing), 1u);
        EXPECT_EQ(first(s.defects, DefectCode::EnvelopeRcptMissing)->offset, 26u);  // the empty line
    }
    {
        const std::string e = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n";
        const msg::SpoolEntry s = msg::parse_spool_entry(e);
        ASSERT_EQ(count(s.defects, DefectCode::EnvelopeNoSeparator), 1u);
        EXPECT_EQ(first(s.defects, DefectCode::EnvelopeNoSeparator)->offset, e.size());
        EXPECT_TRUE(s.message.empty());
    }
    {
        const msg::SpoolEntry s =
            msg::parse_spool_entry("MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nno colon here\n\n");
        ASSERT_EQ(count(s.defects, DefectCode::EnvelopeSyntax), 1u);
        EXPECT_EQ(first(s.defects, DefectCode::EnvelopeSyntax)->offset, 50u);
    }
}

TEST(SpoolEntry, PathAndParameterDefectsPointAtTheirByte) {
    const std::string e = "MAIL FROM: <a@example.org>\n"                       // 0: space after colon
                          "RCPT TO:<b@example..net>\n"                         // 27: bad domain at 38
                          "RCPT TO:<c@example.net> NOTIFY=NEVER,SUCCESS\n"     // 52: param at 76
                          "RCPT TO:<d@example.net> BODY=8BITMIME\n"            // 97: MAIL-only param at 121
                          "RCPT TO:<e@example.net> X-A=1 X-A=2\n"              // 135: repeat at 165
                          "\n" + kMessage;
    const msg::SpoolEntry s = msg::parse_spool_entry(e);
    ASSERT_EQ(count(s.defects, DefectCode::EnvelopeSyntax), 1u);
    EXPECT_EQ(first(s.defects, DefectCode::EnvelopeSyntax)->offset, 10u);
    ASSERT_EQ(count(s.defects, DefectCode::EnvelopePathSyntax), 1u);
    EXPECT_EQ(first(s.defects, DefectCode::EnvelopePathSyntax)->offset, 38u);
    ASSERT_EQ(count(s.defects, DefectCode::EnvelopeParamSyntax), 3u);
    std::vector<std::size_t> at;
    for (const msg::Defect& d : s.defects)
        if (d.code == DefectCode::EnvelopeParamSyntax) at.push_back(d.offset);
    EXPECT_EQ(at, (std::vector<std::size_t>{76, 121, 165}));
}

TEST(SpoolEntry, PathLimits) {
    const std::string local(65, 'x');
    const msg::SpoolEntry s =
        msg::parse_spool_entry("MAIL FROM:<" + local + "@example.org>\nRCPT TO:<b@example.net>\n\n" + kMessage);
    EXPECT_EQ(count(s.defects, DefectCode::EnvelopePathTooLong), 1u);
    EXPECT_EQ(count(s.defects, DefectCode::EnvelopePathSyntax), 0u);
}

// How the tools show a path: never a missing or broken sender as <>,
// never a path past the limits whole.
TEST(SpoolEntry, PathsAsTheToolsShowThem) {
    auto sender = [](const std::string& envelope) { return msg::shown_sender(msg::parse_spool_entry(envelope + "\n" + kMessage)); };
    EXPECT_EQ(sender("MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n"), "<a@example.org>");
    EXPECT_EQ(sender("MAIL FROM:<>\nRCPT TO:<b@example.net>\n"), "<>");
    EXPECT_EQ(sender("RCPT TO:<b@example.net>\n"), "(no MAIL FROM)");
    EXPECT_EQ(sender("MAIL FROM:a@example.org\nRCPT TO:<b@example.net>\n"), "(malformed MAIL FROM)");
    EXPECT_EQ(sender("MAIL FROM:<" + std::string(65, 'x') + "@example.org>\nRCPT TO:<b@example.net>\n"),
              "(MAIL FROM too long: 77 octets)");
    EXPECT_EQ(sender("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8\nRCPT TO:<b@example.net>\n"), "<j\xc3\xb6rg@example.org>");
    const msg::SpoolEntry e = msg::parse_spool_entry("MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nRCPT TO:<c@>\n\n" + kMessage);
    const auto r = e.recipients();
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(msg::shown_path(*r[0]), "<b@example.net>");
    EXPECT_EQ(msg::shown_path(*r[1]), "(malformed RCPT TO)");
}

TEST(ValidateEnvelope, Smtputf8AndEightBitMime) {
    const std::string hdr8 = "From: a@example.org\nSubject: caf\xC3\xA9\n\nbody\n";
    const std::string body8 = "From: a@example.org\n\ncaf\xC3\xA9\n";
    auto check = [](const std::string& e) { return msg::validate_envelope(msg::parse_spool_entry(e)); };

    msg::Defects d = check("MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\n" + hdr8);
    ASSERT_EQ(count(d, DefectCode::EnvelopeSmtputf8Needed), 1u);
    EXPECT_EQ(first(d, DefectCode::EnvelopeSmtputf8Needed)->offset, 51u + 20 + 12);
    EXPECT_EQ(count(d, DefectCode::Envelope8BitmimeNeeded), 0u);
    EXPECT_TRUE(check("MAIL FROM:<a@example.org> SMTPUTF8\nRCPT TO:<b@example.net>\n\n" + hdr8).empty());

    d = check("MAIL FROM:<a@example.org> BODY=7BIT\nRCPT TO:<b@example.net>\n\n" + body8);
    ASSERT_EQ(count(d, DefectCode::Envelope8BitmimeNeeded), 1u);
    EXPECT_EQ(count(d, DefectCode::EnvelopeSmtputf8Needed), 0u);
    EXPECT_TRUE(check("MAIL FROM:<a@example.org> BODY=8BITMIME\nRCPT TO:<b@example.net>\n\n" + body8).empty());

    d = check("MAIL FROM:<a@example.org>\nRCPT TO:<j\xC3\xB6rg@example.net>\n\n" + kMessage);
    ASSERT_EQ(count(d, DefectCode::EnvelopeSmtputf8Needed), 1u);
    EXPECT_EQ(first(d, DefectCode::EnvelopeSmtputf8Needed)->offset, 34u);
    EXPECT_TRUE(
        check("MAIL FROM:<a@example.org> SMTPUTF8\nRCPT TO:<j\xC3\xB6rg@example.net>\n\n" + kMessage).empty());
}

TEST(SpoolEntry, ParametersCountEvenAfterABadPath) {
    const std::string body8 = "From: a@example.org\nSubject: caf\xC3\xA9\n\ncaf\xC3\xA9\n";
    for (const char* mail : {"MAIL FROM:<a@b..example> SMTPUTF8 BODY=8BITMIME\n",
                             "MAIL FROM: <a@example.org> SMTPUTF8 BODY=8BITMIME\n"}) {
        const std::string text = std::string(mail) + "RCPT TO:<c@example.net>\n\n" + body8;
        const msg::SpoolEntry s = msg::parse_spool_entry(text);  // views into `text`
        EXPECT_TRUE(s.smtputf8()) << mail;
        EXPECT_EQ(s.body_type(), "8BITMIME") << mail;
        const msg::Defects d = msg::validate_envelope(s);
        EXPECT_EQ(d.size(), 1u) << mail;  // the path or the space, nothing about SMTPUTF8 or BODY
        EXPECT_EQ(count(d, DefectCode::EnvelopeSmtputf8Needed) + count(d, DefectCode::Envelope8BitmimeNeeded), 0u);
    }
}

TEST(SpoolEntry, TrailingSpacesAreOneDefect) {
    for (const char* line : {"MAIL FROM:<a@example.org> \n", "MAIL FROM:<a@example.org>   \n",
                             "MAIL FROM:<a@example.org> SIZE=10 \n", "MAIL FROM:<a@example.org> SIZE=10  \n"}) {
        const std::string text = std::string(line) + "RCPT TO:<c@example.net>\n\n" + kMessage;
        const msg::SpoolEntry s = msg::parse_spool_entry(text);
        EXPECT_EQ(s.defects.size(), 1u) << line;
        EXPECT_EQ(count(s.defects, DefectCode::EnvelopeParamSyntax), 1u) << line;
    }
}

TEST(ValidateEnvelope, Utf8ParameterValueNeedsSmtputf8) {
    const std::string rest = "RCPT TO:<c@example.net> ORCPT=utf-8;c\xC3\xA9@example.net\n\n" + kMessage;
    const std::string plain = "MAIL FROM:<a@example.org>\n" + rest, utf8 = "MAIL FROM:<a@example.org> SMTPUTF8\n" + rest;
    msg::Defects d = msg::validate_envelope(msg::parse_spool_entry(plain));
    EXPECT_EQ(count(d, DefectCode::EnvelopeSmtputf8Needed), 1u);
    d = msg::validate_envelope(msg::parse_spool_entry(utf8));
    EXPECT_EQ(count(d, DefectCode::EnvelopeSmtputf8Needed), 0u);
}

// The retry history's date-times (spool-format.md, Deferred entries): one
// that is not RFC 3339 is an envelope syntax error at its value, so that no
// reader takes the entry as due now or as never tried.
TEST(SpoolEntry, RetryTimesMustBeRfc3339) {
    const std::string head = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n";
    {
        const std::string e = head + "Attempt: 2026-11-23T08:15:00Z 451 4.7.1 busy\n"
                                     "attempt: 2026-11-23T09:15:00+01:00\n"
                                     "Next-Attempt: 2026-11-23T08:30:00.5Z\n\n" + kMessage;
        const msg::SpoolEntry s = msg::parse_spool_entry(e);
        EXPECT_TRUE(s.defects.empty()) << s.defects.front().detail;
    }
    {
        const std::string e = head + "Next-Attempt: 2099-13-45T99:99:99Z\n\n" + kMessage;
        const msg::SpoolEntry s = msg::parse_spool_entry(e);
        ASSERT_EQ(s.defects.size(), 1u);
        EXPECT_EQ(s.defects[0].code, DefectCode::EnvelopeSyntax);
        EXPECT_EQ(s.defects[0].offset, head.size() + 14);   // at the value
        EXPECT_NE(s.defects[0].detail.find("Next-Attempt"), std::string::npos);
        EXPECT_NE(msg::unsendable(s), "");
        EXPECT_NE(msg::unsendable(s).find("line 3, column 15"), std::string::npos) << msg::unsendable(s);
    }
    {
        const std::string e = head + "Attempt:   yesterday 451 4.3.0 busy\nNext-Attempt:\n\n" + kMessage;
        const msg::SpoolEntry s = msg::parse_spool_entry(e);
        ASSERT_EQ(s.defects.size(), 2u);
        EXPECT_EQ(s.defects[0].offset, head.size() + 11);
        EXPECT_NE(s.defects[0].detail.find("yesterday"), std::string::npos);
        EXPECT_EQ(s.defects[1].code, DefectCode::EnvelopeSyntax);
        // Other annotations are not date-times.
        EXPECT_TRUE(msg::parse_spool_entry(head + "Attempts: soon\nNext: never\n\n" + kMessage).defects.empty());
    }
}
