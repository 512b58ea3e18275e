// Reply lines, whole replies and enhanced status codes (msg/smtp/reply.hpp).
#include <gtest/gtest.h>

#include "msg/smtp/reply.hpp"

using namespace msg::smtp;

TEST(SmtpReply, SplitsLines) {
    auto l = parse_reply_line("250-mx.example Hello");
    ASSERT_TRUE(l.ok);
    EXPECT_EQ(l.code, 250);
    EXPECT_FALSE(l.last);
    EXPECT_EQ(l.text, "mx.example Hello");
    l = parse_reply_line("250 OK");
    EXPECT_TRUE(l.ok && l.last);
    l = parse_reply_line("354");
    EXPECT_TRUE(l.ok && l.last && l.text.empty());
}

TEST(SmtpReply, RejectsMalformedLines) {
    for (const char* bad : {"", "25", "2x0 ok", "250ok", "250\tok", "abc def"}) {
        const auto l = parse_reply_line(bad);
        EXPECT_FALSE(l.ok) << bad;
        EXPECT_FALSE(l.error.empty()) << bad;
    }
}

TEST(SmtpReply, CodeRange) {
    EXPECT_TRUE(reply_code_in_range(250));
    EXPECT_TRUE(reply_code_in_range(554));
    EXPECT_FALSE(reply_code_in_range(199));
    EXPECT_FALSE(reply_code_in_range(600));
    EXPECT_TRUE(reply_code_in_range(258));   // in range, though no command has it
    EXPECT_FALSE(reply_code_in_range(260));  // second digit 5 is the highest
    EXPECT_TRUE(reply_code_in_range(252));
}

TEST(SmtpReply, EnhancedCodes) {
    std::size_t len = 0;
    auto e = parse_enhanced("5.1.1 No such user", &len);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->klass, 5);
    EXPECT_EQ(e->subject, 1);
    EXPECT_EQ(e->detail, 1);
    EXPECT_EQ(len, 5u);
    EXPECT_EQ(e->str(), "5.1.1");
    e = parse_enhanced("2.0.0", &len);
    ASSERT_TRUE(e);
    EXPECT_EQ(len, 5u);
    EXPECT_TRUE(parse_enhanced("4.7.999 slow down"));
    EXPECT_FALSE(parse_enhanced("3.0.0 no such class"));
    EXPECT_FALSE(parse_enhanced("5.1.1000 too long"));
    EXPECT_FALSE(parse_enhanced("5.1 short"));
    EXPECT_FALSE(parse_enhanced("5.1.1.2 extra"));
    EXPECT_FALSE(parse_enhanced("5.1.1x"));
    EXPECT_FALSE(parse_enhanced("Ok"));
}

TEST(SmtpReply, AssemblesMultiline) {
    ReplyAssembler a;
    EXPECT_EQ(a.feed("250-mx.example"), ReplyAssembler::Feed::more);
    EXPECT_TRUE(a.pending());
    EXPECT_EQ(a.feed("250-PIPELINING"), ReplyAssembler::Feed::more);
    EXPECT_EQ(a.feed("250 SIZE 1000"), ReplyAssembler::Feed::done);
    const Reply r = a.take();
    EXPECT_FALSE(a.pending());
    EXPECT_EQ(r.code, 250);
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[2], "SIZE 1000");
    EXPECT_EQ(r.wire(), "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
    EXPECT_EQ(r.text(), "mx.example PIPELINING SIZE 1000");
}

TEST(SmtpReply, ContinuationWithAnotherCodeIsAnError) {
    ReplyAssembler a;
    EXPECT_EQ(a.feed("250-one"), ReplyAssembler::Feed::more);
    EXPECT_EQ(a.feed("251 two"), ReplyAssembler::Feed::error);
    EXPECT_NE(a.error().find("251"), std::string::npos);
    EXPECT_FALSE(a.pending());
    EXPECT_EQ(a.feed("junk"), ReplyAssembler::Feed::error);
}

// RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39; a client treats any
// other as a fatal error (4.2, "out-of-range codes").
TEST(SmtpReply, CodesOutOfRangeAreErrors) {
    for (const char* line : {"260 queued", "299 ok", "600 no", "199 wait", "099 what", "100 x", "270 x"}) {
        ReplyAssembler a;
        EXPECT_EQ(a.feed(line), ReplyAssembler::Feed::error) << line;
        EXPECT_NE(a.error().find(std::string(line, 3) + " is out of range"), std::string::npos) << a.error();
        EXPECT_FALSE(a.too_big());
    }
    for (const char* line : {"200 ok", "256 ok", "259 ok", "354 go", "421 bye", "559 no"}) {
        ReplyAssembler a;
        EXPECT_EQ(a.feed(line), ReplyAssembler::Feed::done) << line;
    }
}

TEST(SmtpReply, AssemblerLimits) {
    ReplyAssembler lines(ReplyLimits{3, 1000, 100});
    EXPECT_EQ(lines.feed("250-a"), ReplyAssembler::Feed::more);
    EXPECT_EQ(lines.feed("250-b"), ReplyAssembler::Feed::more);
    EXPECT_EQ(lines.feed("250-c"), ReplyAssembler::Feed::more);
    EXPECT_EQ(lines.feed("250 d"), ReplyAssembler::Feed::error);
    EXPECT_TRUE(lines.too_big());
    EXPECT_EQ(lines.error(), "over 3 lines");
    EXPECT_FALSE(lines.pending());
    // A reply of exactly the limit is whole, and the count starts again.
    EXPECT_EQ(lines.feed("250-a"), ReplyAssembler::Feed::more);
    EXPECT_EQ(lines.feed("250-b"), ReplyAssembler::Feed::more);
    EXPECT_EQ(lines.feed("250 c"), ReplyAssembler::Feed::done);
    EXPECT_EQ(lines.take().lines.size(), 3u);
    EXPECT_EQ(lines.feed("250 again"), ReplyAssembler::Feed::done);

    ReplyAssembler bytes(ReplyLimits{100, 20, 100});
    EXPECT_EQ(bytes.feed("250-0123456789"), ReplyAssembler::Feed::more);   // 16 with CRLF
    EXPECT_EQ(bytes.feed("250 x"), ReplyAssembler::Feed::error);
    EXPECT_EQ(bytes.error(), "over 20 bytes");

    ReplyAssembler line(ReplyLimits{100, 1000, 8});
    EXPECT_EQ(line.feed("250 12345"), ReplyAssembler::Feed::error);
    EXPECT_EQ(line.error(), "with a line over 8 bytes");
    EXPECT_EQ(line.feed("250 1234"), ReplyAssembler::Feed::done);

    // A malformed line is not a size problem.
    ReplyAssembler bad;
    EXPECT_EQ(bad.feed("hello"), ReplyAssembler::Feed::error);
    EXPECT_FALSE(bad.too_big());
    // The default: 1000 lines.
    ReplyAssembler dflt;
    for (int i = 0; i < 999; ++i) ASSERT_EQ(dflt.feed("250-x"), ReplyAssembler::Feed::more);
    EXPECT_EQ(dflt.feed("250 last"), ReplyAssembler::Feed::done);
}

TEST(SmtpReply, EnhancedCodeOfTheFirstLine) {
    ReplyAssembler a;
    a.feed("550-5.1.1 unknown");
    a.feed("550 5.1.1 really");
    const Reply r = a.take();
    ASSERT_TRUE(r.enhanced);
    EXPECT_EQ(r.enhanced->str(), "5.1.1");
    EXPECT_EQ(r.klass(), 5);
    EXPECT_FALSE(r.positive());
}

TEST(SmtpReply, MakeReply) {
    const Reply r = make_reply(250, "2.0.0 first\nsecond");
    EXPECT_EQ(r.wire(), "250-2.0.0 first\r\n250 second\r\n");
    ASSERT_TRUE(r.enhanced);
    EXPECT_EQ(make_reply(354, "").wire(), "354\r\n");
}
