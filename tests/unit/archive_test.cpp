// archive_test.cpp - the mbox <-> spool mapping (archive.hpp): keys, the
// Mbox-* annotations and their inverse.
#include <gtest/gtest.h>
#include <msg/archive.hpp>

#include <string>

namespace {

msg::MboxMessage message(std::string_view from_line, std::string_view data) {
    msg::MboxMessage m;
    m.from_line = from_line;
    m.data = data;
    m.separator = true;
    return m;
}

std::string entry_text(const msg::Envelope& e, std::string_view data) { return msg::format_envelope(e) + std::string(data); }

}  // namespace

TEST(Archive, KeysAreStableAndParse) {
    const std::string k = msg::message_key("a@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody\n");
    EXPECT_EQ(k.size(), 17u);
    EXPECT_EQ(k[0], 'm');
    EXPECT_EQ(k, msg::message_key("a@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody\n"));
    EXPECT_NE(k, msg::message_key("a@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody!\n"));
    EXPECT_NE(k, msg::message_key("b@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody\n"));
    std::uint64_t h = 0;
    EXPECT_TRUE(msg::parse_message_key(k, h));
    EXPECT_FALSE(msg::parse_message_key("x0123456789abcdef", h));
    EXPECT_FALSE(msg::parse_message_key("m0123456789ABCDEF", h));
    EXPECT_FALSE(msg::parse_message_key("m0123", h));
}

// Every byte of a long message counts; and a key is what spools already
// hold: pinned, so that a change of the hash (which would make a run over
// an archive enqueue again what an earlier build enqueued) cannot pass
// unnoticed.
TEST(Archive, KeysOfLongMessagesCountEveryByte) {
    std::string data = "Subject: long\n\n";
    for (int i = 0; data.size() < 200; ++i) data += static_cast<char>('a' + i % 26);
    const std::string from = "a@example.org Mon Nov 23 09:15:00 2026";
    const std::string k = msg::message_key(from, data);
    EXPECT_EQ(k, "m962aaa9f38e5b922");   // as every build has made it
    for (std::size_t i = 0; i < data.size(); ++i) {
        std::string changed = data;
        changed[i] ^= 1;
        EXPECT_NE(msg::message_key(from, changed), k) << i;
    }
    EXPECT_NE(msg::message_key(from, data + "x"), k);
    EXPECT_NE(msg::message_key(from, data.substr(0, data.size() - 1)), k);
}

TEST(Archive, AnnotationsAndTheirInverse) {
    const std::string data = "From: a@example.org\r\n\r\nFrom the top\r\nFrom here\r\n";
    msg::MboxMessage m = message("a@example.org Mon Nov 23 09:15:00 2026", data);
    m.from_crlf = true;
    m.separator_crlf = true;
    m.defects.push_back({msg::DefectCode::MboxUnquotedFrom, 23, {}});
    m.defects.push_back({msg::DefectCode::MboxUnquotedFrom, 37, {}});
    m.index = 4;
    msg::Envelope e;
    e.mail_from = "a@example.org";
    e.rcpts.push_back({"b@example.net", {}});
    msg::annotate_mbox(e, m, "old.mbox");
    EXPECT_EQ(e.annotation("Mbox-From"), "a@example.org Mon Nov 23 09:15:00 2026");
    EXPECT_EQ(e.annotation("Mbox-Unquoted-From"), "23 37");
    EXPECT_EQ(e.annotation("Mbox-Source"), "old.mbox 4");
    const std::string text = entry_text(e, data);
    const msg::SpoolEntry entry = msg::parse_spool_entry(text);
    const msg::MboxRecord r = msg::mbox_record(entry, 0);
    EXPECT_EQ(r.from_line, m.from_line);
    EXPECT_FALSE(r.from_made);
    EXPECT_TRUE(r.from_crlf);
    EXPECT_TRUE(r.separator);
    EXPECT_TRUE(r.separator_crlf);
    EXPECT_EQ(r.unquoted_from, (std::vector<std::size_t>{23, 37}));
}

TEST(Archive, FromLinesAnAnnotationCannotCarryGoInBase64) {
    for (std::string_view fl : {std::string_view(""), std::string_view(" leading blank"),
                                std::string_view("with\rCR"), std::string_view("nul\0byte", 8)}) {
        msg::Envelope e;
        e.mail_from = "a@example.org";
        e.rcpts.push_back({"b@example.net", {}});
        msg::MboxMessage m = message(fl, "x\n");
        m.separator = false;
        msg::annotate_mbox(e, m, "-");
        EXPECT_EQ(e.annotation("Mbox-From"), "");
        EXPECT_EQ(e.annotations.front().first, "Mbox-From-Base64");
        const std::string text = entry_text(e, "x\n");
        const msg::MboxRecord r = msg::mbox_record(msg::parse_spool_entry(text), 0);
        EXPECT_EQ(r.from_line, fl);
        EXPECT_FALSE(r.separator);
    }
}

TEST(Archive, EntriesFromElsewhereGetAFromLineAndEnvelopeFields) {
    const std::string text = "MAIL FROM:<>\nRCPT TO:<b@example.net>\nRCPT TO:<c@example.net>\n\nSubject: x\r\n\r\nFrom me\r\n";
    const msg::SpoolEntry entry = msg::parse_spool_entry(text);
    msg::MboxRecord r = msg::mbox_record(entry, 1700000000);
    EXPECT_TRUE(r.from_made);
    EXPECT_EQ(r.from_line, "MAILER-DAEMON Tue Nov 14 22:13:20 2023");
    r.unquoted_from = {14};
    const std::string with = msg::with_envelope_fields(entry, r);
    EXPECT_EQ(with, "X-Envelope-From: <>\r\nX-Envelope-To: <b@example.net>\r\nX-Envelope-To: <c@example.net>\r\n"
                    "Subject: x\r\n\r\nFrom me\r\n");
    EXPECT_EQ(with.substr(r.unquoted_from[0], 7), "From me");
}

TEST(Archive, MalformedUnquotedOffsetsAreIgnored) {
    const std::string text = "MAIL FROM:<a@x>\nRCPT TO:<b@y>\nMbox-From: a@x Mon Nov 23 09:15:00 2026\n"
                             "Mbox-Unquoted-From: 5 x 3 99999999999999999999999 1000\n\n0123456789\n";
    const msg::MboxRecord r = msg::mbox_record(msg::parse_spool_entry(text), 0);
    EXPECT_EQ(r.unquoted_from, std::vector<std::size_t>{5});
}
