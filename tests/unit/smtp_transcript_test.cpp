// smtp_transcript_test.cpp - transcripts: the four formats, exchanges
// (pairing, pipelined groups, AUTH, STARTTLS, BDAT, DATA bodies), client
// bytes, and the checker's codes on small sessions.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "msg/codec.hpp"
#include "msg/smtp/transcript.hpp"

using namespace msg::smtp;

namespace {

Transcript parse(const std::string& text, std::optional<Format> f = std::nullopt) {
    ParsedTranscript p = parse_transcript(text, f);
    EXPECT_TRUE(p.defects.empty()) << text;
    return p.transcript;
}

std::vector<std::string> codes(const std::string& text) {
    std::vector<std::string> out;
    ParsedTranscript p = parse_transcript(text);
    for (const auto& d : p.defects) out.emplace_back(d.info().code);
    for (const auto& d : check_transcript(p.transcript, p.format == Format::bsmtp)) out.emplace_back(d.info().code);
    return out;
}

const char* kSession =
    "S: 220 mx.example.net ESMTP\n"
    "C: EHLO client.example.org\n"
    "S: 250-mx.example.net\n"
    "S: 250-PIPELINING\n"
    "S: 250-STARTTLS\n"
    "S: 250 AUTH PLAIN LOGIN\n"
    "C: STARTTLS\n"
    "S: 220 2.0.0 go ahead\n"
    "C: EHLO client.example.org\n"
    "S: 250-mx.example.net\n"
    "S: 250-PIPELINING\n"
    "S: 250 AUTH PLAIN LOGIN\n"
    "C: AUTH LOGIN\n"
    "S: 334 VXNlcm5hbWU6\n"
    "C: dXNlcg==\n"
    "S: 334 UGFzc3dvcmQ6\n"
    "C: cGFzcw==\n"
    "S: 235 2.7.0 ok\n"
    "C: MAIL FROM:<a@example.org>\n"
    "C: RCPT TO:<b@example.net>\n"
    "C: DATA\n"
    "S: 250 2.1.0 ok\n"
    "S: 250 2.1.5 ok\n"
    "S: 354 go ahead\n"
    "C: Subject: x\n"
    "C:\n"
    "C: ..dot\n"
    "C: .\n"
    "S: 250 2.0.0 queued\n"
    "C: QUIT\n"
    "S: 221 2.0.0 bye\n";

}  // namespace

TEST(SmtpTranscript, DetectsFormats) {
    EXPECT_EQ(detect_format("S: 220 x\nC: QUIT\n"), Format::cs);
    EXPECT_EQ(detect_format("   C:EHLO x\n"), Format::cs);
    EXPECT_EQ(detect_format("=== Trying 127.0.0.1:25...\n<-  220 x\n -> QUIT\n"), Format::swaks);
    EXPECT_EQ(detect_format("# msgtools transcript 1\nC 0.1 QUIT\n"), Format::native);
    EXPECT_EQ(detect_format("HELO x\nMAIL FROM:<a@b.c>\n"), Format::bsmtp);
}

TEST(SmtpTranscript, ABatchStaysABatchThoughItsMessageQuotesOtherFormats) {
    // A message about SMTP quotes a session: its lines are the batch's.
    const std::string quoting = "EHLO client.example\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nDATA\n"
                                "Subject: how it went\n\nThe server said:\nS: 250 ok\nC: QUIT\n.\nQUIT\n";
    EXPECT_EQ(detect_format(quoting), Format::bsmtp);
    const std::string arrows = "  mail from:<a@example.org>\nrcpt to:<b@example.net>\ndata\n\n -> QUIT\n<-  221 bye\n.\n";
    EXPECT_EQ(detect_format(arrows), Format::bsmtp);
    const ParsedTranscript p = parse_transcript(quoting);
    ASSERT_EQ(p.format, Format::bsmtp);
    EXPECT_TRUE(p.defects.empty());
    // A first line that is no command leaves the guess to the lines after,
    // though it starts with a command's word.
    EXPECT_EQ(detect_format("Session of Monday:\nS: 220 x\nC: QUIT\n"), Format::cs);
    EXPECT_EQ(detect_format("Data from the Monday session:\nS: 220 x\nC: QUIT\n"), Format::cs);
}

TEST(SmtpTranscript, ExchangesPairRepliesAndGroupPipelinedCommands) {
    const Transcript t = parse(kSession);
    const std::vector<Exchange> ex = exchanges(t);
    ASSERT_EQ(ex.size(), 12u);
    EXPECT_EQ(ex[0].kind, ExchangeKind::greeting);
    EXPECT_EQ(ex[1].reply->lines.size(), 4u);                         // EHLO's four lines
    EXPECT_FALSE(ex[2].tls);                                           // STARTTLS itself
    EXPECT_TRUE(ex[3].tls);                                            // the second EHLO
    EXPECT_EQ(ex[5].kind, ExchangeKind::sasl);
    EXPECT_EQ(ex[6].kind, ExchangeKind::sasl);
    EXPECT_EQ(ex[6].reply->code, 235);
    EXPECT_EQ(ex[7].group, ex[8].group);                               // MAIL, RCPT, DATA pipelined
    EXPECT_EQ(ex[8].group, ex[9].group);
    EXPECT_NE(ex[9].group, ex[10].group);
    EXPECT_EQ(ex[9].reply->code, 354);
    EXPECT_EQ(ex[10].kind, ExchangeKind::body);
    EXPECT_EQ(ex[10].client.size(), 4u);
    EXPECT_EQ(client_bytes(t, ex[10]), "Subject: x\r\n\r\n..dot\r\n.\r\n");
    EXPECT_EQ(ex[11].reply->code, 221);
    EXPECT_TRUE(codes(kSession).empty());
}

// A reply whose lines change code is reported, and is a reply of its own:
// the one after it stands alone, whatever its code.
TEST(SmtpTranscript, ABrokenReplyLeavesTheNextWhole) {
    for (const std::string next : {"550 5.7.1 sender refused", "250 2.1.0 ok"}) {
        const std::string text = "S: 220 mx.example.net\nC: EHLO a.example\nS: 250-mx.example.net\nS: 251-PIPELINING\n"
                                 "S: 250 SIZE 1000\nC: MAIL FROM:<a@b.example>\nS: " + next + "\nC: QUIT\nS: 221 bye\n";
        const std::vector<Exchange> ex = exchanges(parse(text));
        ASSERT_EQ(ex.size(), 4u) << next;
        EXPECT_FALSE(ex[1].reply);
        EXPECT_EQ(ex[1].reply_lines.size(), 3u);
        ASSERT_TRUE(ex[2].reply) << next;
        EXPECT_EQ(ex[2].reply->code, std::stoi(next.substr(0, 3)));
        EXPECT_EQ(ex[2].reply->lines.size(), 1u);
        ASSERT_TRUE(ex[3].reply);
        EXPECT_EQ(ex[3].reply->code, 221);
        EXPECT_EQ(codes(text), std::vector<std::string>{"smtp.reply-syntax"}) << next;
    }
}

// A reply left open when the client speaks and no command waits for it (a
// "220-" greeting that never ends, as RFC 4954 4.1's examples print it)
// ends there, broken: the client would not have spoken before its end, so
// the reply after the command answers it. A reply still open while
// commands wait for theirs (pipelining) goes on past the client's lines.
TEST(SmtpTranscript, AnOpenReplyNoCommandWaitsForEndsWhenTheClientSpeaks) {
    const std::string text = "S: 220-smtp.example.com ESMTP Server\nC: EHLO client.example.com\n"
                             "S: 250-smtp.example.com Hello client.example.com\nS: 250 AUTH PLAIN\n"
                             "C: QUIT\nS: 221 bye\n";
    const std::vector<Exchange> ex = exchanges(parse(text));
    ASSERT_EQ(ex.size(), 3u);
    EXPECT_EQ(ex[0].kind, ExchangeKind::greeting);
    EXPECT_FALSE(ex[0].reply);
    EXPECT_EQ(std::vector<std::size_t>(ex[0].reply_lines.begin(), ex[0].reply_lines.end()), std::vector<std::size_t>{0});
    ASSERT_TRUE(ex[1].reply);
    EXPECT_EQ(ex[1].reply->code, 250);
    EXPECT_EQ(ex[1].reply->lines.size(), 2u);
    ASSERT_TRUE(ex[2].reply);
    EXPECT_EQ(ex[2].reply->code, 221);
    EXPECT_EQ(codes(text), std::vector<std::string>{"smtp.reply-syntax"});
    const std::string pipelined = "S: 220 mx.example.net\nC: EHLO a.example\nS: 250-mx.example.net\nS: 250 PIPELINING\n"
                                  "C: MAIL FROM:<a@b.example>\nS: 250-2.1.0 sender\nC: RCPT TO:<c@d.example>\n"
                                  "S: 250 2.1.0 ok\nS: 250 2.1.5 ok\nC: QUIT\nS: 221 bye\n";
    const std::vector<Exchange> px = exchanges(parse(pipelined));
    ASSERT_EQ(px.size(), 5u);
    ASSERT_TRUE(px[2].reply);
    EXPECT_EQ(px[2].reply->lines.size(), 2u);
    ASSERT_TRUE(px[3].reply);
    EXPECT_EQ(px[3].reply->code, 250);
}

// RFC 4954 4: AUTH ends a pipelined group, except with an initial response
// for a mechanism that completes in one round trip without a security layer
// (PLAIN, EXTERNAL).
TEST(SmtpTranscript, AuthPlainWithAnInitialResponseMayBeFollowedInItsGroup) {
    const std::string e = "S: 220 mx.example.net\nC: EHLO a.example\nS: 250-mx.example.net\nS: 250-PIPELINING\n"
                          "S: 250 AUTH PLAIN EXTERNAL SCRAM-SHA-1\n";
    const std::string then = "C: MAIL FROM:<a@b.example>\nS: 235 2.7.0 ok\nS: 250 2.1.0 ok\nC: QUIT\nS: 221 bye\n";
    EXPECT_EQ(codes(e + "C: AUTH PLAIN AHVzZXIAcGFzcw==\n" + then), std::vector<std::string>{});
    EXPECT_EQ(codes(e + "C: auth external =\n" + then), std::vector<std::string>{});
    // Another mechanism, though with an initial response, takes more round trips.
    EXPECT_EQ(codes(e + "C: AUTH SCRAM-SHA-1 biwsbj11c2VyLHI9YWJj\nC: MAIL FROM:<a@b.example>\nS: 535 5.7.8 no\n"
                        "S: 530 5.7.0 authenticate first\nC: QUIT\nS: 221 bye\n"),
              std::vector<std::string>{"smtp.pipelining"});
}

// The known parameters' values are checked as smtpsink and spool entries
// check them (check_esmtp_param), and reported with the spool entries' code.
TEST(SmtpTranscript, ParameterValuesAreChecked) {
    const std::string e = "S: 220 mx.example.net\nC: EHLO a.example\nS: 250-mx.example.net\nS: 250-SIZE 1000000\n"
                          "S: 250-8BITMIME\nS: 250 DSN\n";
    auto check = [&](const std::string& mail, const std::string& rcpt) {
        return codes(e + "C: " + mail + "\nS: 250 ok\nC: " + rcpt + "\nS: 250 ok\nC: QUIT\nS: 221 bye\n");
    };
    const std::string good_rcpt = "RCPT TO:<b@example.net>";
    EXPECT_EQ(check("MAIL FROM:<a@example.org> SIZE=12 BODY=8BITMIME RET=HDRS ENVID=x+2By", good_rcpt + " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b@example.net"),
              std::vector<std::string>{});
    const std::vector<std::string> one{"envelope.param-syntax"}, two{"envelope.param-syntax", "envelope.param-syntax"};
    EXPECT_EQ(check("MAIL FROM:<a@example.org> SIZE=12x", good_rcpt), one);
    EXPECT_EQ(check("MAIL FROM:<a@example.org> RET=BOGUS BODY=9BIT", good_rcpt), two);
    EXPECT_EQ(check("MAIL FROM:<a@example.org>", good_rcpt + " NOTIFY=SOMETIMES ORCPT=nosemicolon"), two);
    EXPECT_EQ(check("MAIL FROM:<a@example.org>", good_rcpt + " SIZE=5"), one);   // SIZE belongs to MAIL
    // Where the defect is: the parameter's keyword.
    ParsedTranscript p = parse_transcript(e + "C: MAIL FROM:<a@example.org> SIZE=12x\nS: 250 ok\n");
    const msg::Defects d = check_transcript(p.transcript);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].offset, p.transcript.lines[6].offset + 26);
}

// RFC 4954 4: no AUTH after one succeeded; RFC 3207 4, 4.2: STARTTLS after
// EHLO, and not inside TLS.
TEST(SmtpTranscript, AuthOnceStartTlsAfterEhloAndOnce) {
    const std::string g = "S: 220 mx.example.net\n",
                      e = "C: EHLO a.example\nS: 250-mx.example.net\nS: 250-STARTTLS\nS: 250 AUTH PLAIN\n";
    const std::string auth = "C: AUTH PLAIN AHVzZXIAcGFzcw==\nS: 235 2.7.0 ok\n";
    EXPECT_EQ(codes(g + e + auth + "C: QUIT\nS: 221 bye\n"), std::vector<std::string>{});
    EXPECT_EQ(codes(g + e + auth + auth + "C: QUIT\nS: 221 bye\n"), std::vector<std::string>{"smtp.sequence"});
    // A failed AUTH may be tried again.
    EXPECT_EQ(codes(g + e + "C: AUTH PLAIN AHVzZXIAcGFzcw==\nS: 535 5.7.8 no\n" + auth), std::vector<std::string>{});
    const std::string tls = "C: STARTTLS\nS: 220 2.0.0 go ahead\n";
    EXPECT_EQ(codes(g + e + tls + e + auth), std::vector<std::string>{});
    EXPECT_EQ(codes(g + e + tls + tls + e), std::vector<std::string>{"smtp.sequence"});
    EXPECT_EQ(codes(g + e + tls + e + tls), std::vector<std::string>{"smtp.sequence"});
    EXPECT_EQ(codes(g + tls + e), std::vector<std::string>{"smtp.sequence"});
}

// BDAT content needs what DATA's does: 8-bit body data BODY=8BITMIME.
TEST(SmtpTranscript, EightBitChunksNeedTheirBody) {
    const std::string g = "S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250-8BITMIME\nS: 250 CHUNKING\n";
    const std::string rest = "S: 250 ok\nC: RCPT TO:<b@example.net>\nS: 250 ok\nC: BDAT 21 LAST\nC: Subject: x\nC:\n"
                             "C: caf\xc3\xa9\nS: 250 queued\nC: QUIT\nS: 221 bye\n";
    EXPECT_EQ(codes(g + "C: MAIL FROM:<a@example.org>\n" + rest), std::vector<std::string>{"envelope.8bitmime-needed"});
    EXPECT_EQ(codes(g + "C: MAIL FROM:<a@example.org> BODY=8BITMIME\n" + rest), std::vector<std::string>{});
}

// One trailing space after the path is as lax as two.
TEST(SmtpTranscript, ATrailingSpaceAfterThePathIsLax) {
    const std::string g = "S: 220 x\nC: EHLO a.example\nS: 250 x\n";
    EXPECT_EQ(codes(g + "C: MAIL FROM:<a@example.org> \nS: 250 ok\nC: RCPT TO:<b@example.net> \nS: 250 ok\n"),
              (std::vector<std::string>{"smtp.command-lax", "smtp.command-lax"}));
}

TEST(SmtpTranscript, BdatChunkLinesBelongToTheirCommand) {
    const Transcript t = parse("S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250 CHUNKING\nC: MAIL FROM:<a@b.example>\n"
                               "S: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\nC: BDAT 12 LAST\nC: Subject: x\n"
                               "S: 250 ok\nC: QUIT\nS: 221 bye\n");
    const auto ex = exchanges(t);
    ASSERT_EQ(ex.size(), 6u);
    EXPECT_EQ(ex[4].client.size(), 2u);
    EXPECT_EQ(ex[4].reply->code, 250);
}

TEST(SmtpTranscript, BatchSmtpBodiesFollowData) {
    const Transcript t = parse("HELO a.example\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nSubject: x\n\n"
                               "MAIL FROM:<looks@like.command>\n.\nQUIT\n", Format::bsmtp);
    const auto ex = exchanges(t);
    ASSERT_EQ(ex.size(), 6u);
    EXPECT_EQ(ex[4].kind, ExchangeKind::body);
    EXPECT_EQ(ex[4].client.size(), 4u);
    EXPECT_TRUE(check_transcript(t, true).empty());
}

TEST(SmtpTranscript, NativeFormatKeepsTimesPeerAndTls) {
    const std::string text =
        "# msgtools transcript 1\n"
        "= 0.000000 connect 127.0.0.1:2525 2026-11-24T03:00:00Z\n"
        "S 0.001000 220 x ESMTP\n"
        "C 0.001200 EHLO a.example\n"
        "S 0.002000 250 x\n"
        "C 0.002100 STARTTLS\n"
        "S 0.003000 220 go\n"
        "= 0.010000 tls TLSv1.3 TLS_AES_256_GCM_SHA384\n"
        "C 0.010100 EHLO a.example\n"
        "S 0.011000 250 x\n"
        "C 0.011100 \n"
        "S 0.012000 500 5.5.2 empty\n";
    const Transcript t = parse(text);
    EXPECT_EQ(t.peer, "127.0.0.1:2525");
    EXPECT_EQ(t.started, "2026-11-24T03:00:00Z");
    ASSERT_EQ(t.lines.size(), 11u);   // events are lines too
    EXPECT_EQ(t.lines[0].side, Side::event);
    EXPECT_DOUBLE_EQ(t.lines[2].time, 0.0012);
    EXPECT_FALSE(t.lines[5].tls);   // the 220 to STARTTLS
    EXPECT_TRUE(t.lines[7].tls);
    EXPECT_EQ(t.lines[9].text, "");
    EXPECT_EQ(write_transcript(t, Format::native), text);
}

TEST(SmtpTranscript, SwaksArrowsAndTls) {
    const Transcript t = parse("=== Trying 127.0.0.1:25...\n<-  220 x\n -> EHLO a.example\n<-  250 x\n"
                               " -> STARTTLS\n<-  220 go\n=== TLS started\n ~> EHLO a.example\n<~  250 x\n"
                               " ~> QUIT\n<~  221 bye\n");
    EXPECT_TRUE(t.lines[7].tls);
    EXPECT_EQ(t.lines[7].text, "EHLO a.example");
    const std::string back = write_transcript(t, Format::swaks);
    EXPECT_NE(back.find(" ~> QUIT\n<~  221 bye\n"), std::string::npos);
    const Transcript cs = parse(write_transcript(t, Format::cs));
    ASSERT_EQ(cs.lines.size(), t.lines.size());
    for (std::size_t i = 0; i < t.lines.size(); ++i) {
        EXPECT_EQ(cs.lines[i].text, t.lines[i].text);
        EXPECT_EQ(cs.lines[i].tls, t.lines[i].tls) << i;   // cs infers it from the 220 to STARTTLS
    }
}

// swaks prints a message's lines raw: a CRLF line shows its CR, a line
// ended by a bare LF does not, and the block's last line (the final dot)
// is printed without its CRLF. A "." next to a bare LF is content.
TEST(SmtpTranscript, SwaksBareLfDotIsContent) {
    const std::string swaks =
        "<-  220 x\n -> EHLO a.example\n<-  250 x\n -> MAIL FROM:<a@example.org>\n<-  250 ok\n"
        " -> RCPT TO:<b@example.net>\n<-  250 ok\n -> DATA\n<-  354 go\n"
        " -> Subject: s\r\n -> \r\n -> hello\n -> .\n -> MAIL FROM:<evil@example.org>\r\n"
        " -> x\r\n -> .\n<-  250 queued\n -> QUIT\n<-  221 bye\n";
    const Transcript t = parse(swaks);
    const std::vector<Exchange> ex = exchanges(t);
    const auto body = std::find_if(ex.begin(), ex.end(), [](const Exchange& e) { return e.kind == ExchangeKind::body; });
    ASSERT_NE(body, ex.end());
    ASSERT_EQ(body->client.size(), 7u);   // through the last dot, the smuggled MAIL inside
    ASSERT_TRUE(body->reply);
    EXPECT_EQ(body->reply->code, 250);
    EXPECT_EQ(client_bytes(t, *body), "Subject: s\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\nx\r\n.\r\n");
    EXPECT_EQ(std::count_if(ex.begin(), ex.end(), [](const Exchange& e) { return e.kind == ExchangeKind::command; }), 5);
    // The checker says where the bare LFs are, and nothing else.
    std::vector<std::string> c = codes(swaks);
    EXPECT_EQ(c, (std::vector<std::string>{"line.bare-lf", "line.bare-lf"}));
    // Written as swaks, it reads back the same; no other format can keep it.
    const std::string back = write_transcript(t, Format::swaks);
    const Transcript again = parse(back);
    ASSERT_EQ(again.lines.size(), t.lines.size());
    for (std::size_t i = 0; i < t.lines.size(); ++i) EXPECT_EQ(again.lines[i].bare_lf, t.lines[i].bare_lf) << i;
    EXPECT_FALSE(lost_line_end(t, Format::swaks));
    EXPECT_EQ(lost_line_end(t, Format::native), std::optional<std::size_t>(11));
    // A file with CRLF line ends (every line has a CR), or none: no bare LF.
    std::string crlf;
    for (char ch : std::string(" -> DATA\n<-  354 go\n -> a\n -> .\n<-  250 ok\n")) {
        if (ch == '\n') crlf += '\r';
        crlf += ch;
    }
    for (const std::string& text : {crlf, std::string(" -> DATA\n<-  354 go\n -> a\n -> .\n<-  250 ok\n")}) {
        const Transcript plain = parse(text);
        EXPECT_TRUE(std::none_of(plain.lines.begin(), plain.lines.end(), [](const TranscriptLine& l) { return l.bare_lf; }));
        EXPECT_EQ(exchanges(plain).back().reply->code, 250);
    }
}

// TLS survives a conversion: swaks's "TLS started" line is the native
// format's tls event and back; a format that infers TLS from STARTTLS gets
// the event where TLS begins; TLS on connect stays before the greeting.
TEST(SmtpTranscript, ConversionKeepsTls) {
    const Transcript tlsc = parse("=== Connected to 127.0.0.1.\n"
                                  "=== TLS started with cipher TLSv1.3:TLS_AES_256_GCM_SHA384:256\n"
                                  "<~  220 x\n ~> EHLO a.example\n<~  250 x\n ~> QUIT\n<~  221 bye\n");
    const std::string native = write_transcript(tlsc, Format::native);
    EXPECT_NE(native.find("= - tls TLSv1.3 TLS_AES_256_GCM_SHA384\nS - 220 x\n"), std::string::npos) << native;
    const Transcript back = parse(native);
    EXPECT_TRUE(begins_with_tls(back));
    for (std::size_t i = 0; i < back.lines.size(); ++i) {
        if (back.lines[i].side != Side::event) {
            EXPECT_TRUE(back.lines[i].tls) << i;
        }
    }
    const std::string swaks = write_transcript(back, Format::swaks);
    EXPECT_NE(swaks.find("=== TLS started with cipher TLSv1.3:TLS_AES_256_GCM_SHA384\n<~  220 x\n"), std::string::npos) << swaks;
    // cs says TLS by STARTTLS alone: the native file gets the event.
    const Transcript cs = parse("S: 220 x\nC: STARTTLS\nS: 220 go\nC: EHLO a\nS: 250 x\n");
    const std::string n2 = write_transcript(cs, Format::native);
    EXPECT_NE(n2.find("S - 220 go\n= - tls\nC - EHLO a\n"), std::string::npos) << n2;
    const Transcript b2 = parse(n2);
    EXPECT_TRUE(b2.lines.back().tls);
    EXPECT_FALSE(b2.lines[0].tls);
    // A native transcript with its own event gets no second one.
    const std::string n3 = write_transcript(parse(n2), Format::native);
    EXPECT_EQ(n3, n2);
}

TEST(SmtpTranscript, CheckerCodes) {
    const std::string g = "S: 220 x\n", e = "C: EHLO a.example\nS: 250-x\nS: 250 PIPELINING\n";
    EXPECT_EQ(codes(g + "C: HELO a.example\nS: 258 hi\n"), std::vector<std::string>{"smtp.reply-unexpected"});
    EXPECT_EQ(codes(g + e + "C: RCPT TO:<b@c.example>\nS: 503 5.5.1 no\n"), std::vector<std::string>{"smtp.rcpt-before-mail"});
    EXPECT_EQ(codes(g + e + "C: MAIL FROM:<a@b.example>\nC: RCPT TO:<c@d.example>\nC: DATA\nS: 250 ok\nS: 550 5.1.1 no\n"
                    "S: 554 5.5.1 no valid recipients\nC: QUIT\nS: 221 bye\n"),
              std::vector<std::string>{});   // DATA pipelined with its refused RCPT is allowed (RFC 2920)
    EXPECT_EQ(codes(g + e + "C: EHLO a.example\nC: NOOP\nS: 250 x\nS: 250 ok\n"), std::vector<std::string>{"smtp.pipelining"});
    EXPECT_EQ(codes(g + "C: HELO a.example\nS: 250 x\nC: AUTH PLAIN\nS: 502 no\n"),
              std::vector<std::string>{"smtp.extension-not-offered"});
    EXPECT_EQ(codes(g + "C: MAIL FROM:<a@b.example>\nS: 503 no hello\n"), std::vector<std::string>{"smtp.sequence"});
    EXPECT_EQ(codes(g + "C: NOOP\nS: 250 2.0.0 ok\nS: 221 bye\n"), std::vector<std::string>{"smtp.reply-unsolicited"});
    // RFC 5321 3.8: a 421 sent unasked (a server's timeout or shutdown), the
    // session's last reply, is no error; one the server goes on after, or a
    // reply too many of another code, still is.
    EXPECT_EQ(codes(g + e + "S: 421 4.4.2 mx Error: timeout exceeded\n"), std::vector<std::string>{});
    EXPECT_EQ(codes(g + e + "C: NOOP\nS: 250 ok\nS: 421 4.3.2 shutting down\nC: QUIT\n"),
              std::vector<std::string>{"smtp.reply-missing"});   // the QUIT the closed session never answered
    EXPECT_EQ(codes(g + e + "S: 421 4.4.2 timeout\nC: NOOP\nS: 250 ok\n"), std::vector<std::string>{"smtp.reply-unsolicited"});
    EXPECT_EQ(codes(g + e + "S: 554 5.3.2 go away\n"), std::vector<std::string>{"smtp.reply-unsolicited"});
    EXPECT_EQ(codes(g + "C: NOOP\nS: 250-ok\n"), std::vector<std::string>{"smtp.reply-syntax"});
    EXPECT_EQ(codes(g + "C: NOOP\nS: 25 ok\n"), std::vector<std::string>{"smtp.reply-syntax"});
    EXPECT_EQ(codes(g + "C: NOOP\nS: 250 5.0.0 ok\n"), std::vector<std::string>{"smtp.enhanced-class"});
    EXPECT_EQ(codes(g + "C: NOOP\nS: 250 ok\nC: QUIT\nS: 221 bye\nC: NOOP\nS: 250 ok\n"), std::vector<std::string>{"smtp.sequence"});
    // A command right after the final dot, before its reply: pipelining, an
    // error where the server did not offer it.
    const std::string tx = "C: MAIL FROM:<a@b.example>\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\n"
                           "C: DATA\nS: 354 go\nC: Subject: x\nC: \nC: hi\nC: .\nC: QUIT\nS: 250 queued\nS: 221 bye\n";
    EXPECT_EQ(codes(g + "C: EHLO a.example\nS: 250 x\n" + tx), std::vector<std::string>{"smtp.pipelining"});
    EXPECT_EQ(codes(g + e + tx), std::vector<std::string>{});
    // The dot added for transparency does not count in a content line's length.
    const std::string body = "C: MAIL FROM:<a@b.example>\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\nC: DATA\nS: 354 go\nC: ";
    EXPECT_EQ(codes(g + e + body + ".." + std::string(997, 'x') + "\nC: .\nS: 250 ok\n"), std::vector<std::string>{});
    EXPECT_EQ(codes(g + e + body + ".." + std::string(998, 'x') + "\nC: .\nS: 250 ok\n"),
              std::vector<std::string>{"smtp.body-line-too-long"});
}

TEST(SmtpTranscript, AnonymiseKeepsTheShape) {
    const Transcript t = parse(kSession);
    const Transcript a = anonymise(t);
    ASSERT_EQ(a.lines.size(), t.lines.size());
    for (std::size_t i = 0; i < t.lines.size(); ++i) {
        EXPECT_EQ(a.lines[i].side, t.lines[i].side);
        EXPECT_EQ(a.lines[i].text.find("example.org"), std::string::npos) << a.lines[i].text;
    }
    EXPECT_TRUE(std::regex_match(a.lines[19].text, std::regex("RCPT TO:<user[0-9]+@host[0-9]+\\.example>"))) << a.lines[19].text;
    EXPECT_EQ(a.lines[26].text, "..xxx");                      // dot-stuffing and length kept
    EXPECT_TRUE(check_transcript(a).empty());
    // The same address always gets the same replacement.
    const Transcript b = anonymise(parse("S: 220 x\nC: HELO a.example\nS: 250 x\nC: MAIL FROM:<joe@x.example>\n"
                                         "S: 250 <joe@x.example> ok\n"));
    EXPECT_EQ(b.lines[3].text, "MAIL FROM:<user1@host2.example>");
    EXPECT_EQ(b.lines[4].text, "250 <user1@host2.example> ok");
}

namespace {

// The client lines of a batch, joined by LF.
std::string batch_of(const std::string& text, std::vector<std::string>* notes = nullptr) {
    const BatchConversion b = to_batch(parse(text));
    EXPECT_FALSE(b.refused);
    if (notes)
        for (const BatchNote& n : b.left_out) notes->push_back(n.why);
    return write_transcript(b.batch, Format::bsmtp);
}

// The issue's session: a RCPT refused, the pipelined DATA answered 503,
// RSET, then a second transaction that delivered.
const char* kRefusedThenSecond =
    "S: 220 mx.example.net ESMTP\n"
    "C: EHLO client.example.org\n"
    "S: 250-mx.example.net\n"
    "S: 250 PIPELINING\n"
    "C: MAIL FROM:<a@example.org>\n"
    "C: RCPT TO:<refused@example.net>\n"
    "C: DATA\n"
    "S: 250 OK\n"
    "S: 550 5.1.1 no such user\n"
    "S: 503 5.5.1 valid RCPT command must precede DATA\n"
    "C: RSET\n"
    "S: 250 Reset OK\n"
    "C: MAIL FROM:<a@example.org>\n"
    "C: RCPT TO:<refused@example.net>\n"
    "C: RCPT TO:<second@example.net>\n"
    "C: DATA\n"
    "S: 250 OK\n"
    "S: 550 5.1.1 no such user\n"
    "S: 250 Accepted\n"
    "S: 354 go ahead\n"
    "C: Subject: second\n"
    "C:\n"
    "C: ..dot\n"
    "C: .\n"
    "S: 250 OK id=1\n"
    "C: QUIT\n"
    "S: 221 bye\n";

}  // namespace

// IPv6 addresses (text, EHLO literals, the native peer), a single-label
// EHLO name wherever it comes again, and the TLS peer's DN are replaced too.
TEST(SmtpTranscript, AnonymiseIpv6SingleLabelNamesAndDn) {
    const Transcript t = parse("=== Trying 2a02:8071:1234:5678::1:25...\n"
                               "=== TLS peer DN=\"/C=DE/O=Acme Bank GmbH/CN=mail.acme-bank.de\"\n"
                               "<~  220 mx ESMTP\n ~> EHLO alice-laptop\n<~  250 mx greets alice-laptop\n"
                               " ~> EHLO [IPv6:2a02:8071:1234:5678::42]\n<~  250 hello [2a02:8071:1234:5678::42]\n"
                               " ~> QUIT\n<~  221 2.0.0 bye at 10:00:00\n");
    const std::string out = write_transcript(anonymise(t), Format::swaks);
    for (const char* gone : {"2a02", "alice-laptop", "Acme", "acme-bank"}) EXPECT_EQ(out.find(gone), std::string::npos) << gone << "\n" << out;
    EXPECT_NE(out.find("C=DE/O=name1/CN=host"), std::string::npos) << out;
    EXPECT_NE(out.find("EHLO [IPv6:2001:db8::"), std::string::npos) << out;
    EXPECT_NE(out.find("10:00:00"), std::string::npos) << out;   // a time is no address
    const Transcript a = parse(out);
    EXPECT_EQ(a.lines[3].text.substr(5), a.lines[4].text.substr(14));   // the same name in the reply
    EXPECT_EQ(a.lines[5].text.substr(11, a.lines[5].text.size() - 12), a.lines[6].text.substr(11, a.lines[6].text.size() - 12));
    Transcript native = parse("# msgtools transcript 1\n= 0.000000 connect [2a02:8071::1]:2525 2026-11-23T10:00:00Z\n"
                              "S 0.1 220 mx\nC 0.2 QUIT\n");
    EXPECT_EQ(anonymise(native).peer, "[2001:db8::1]:2525");
}

// What names someone outside an address's usual form goes too: a SASL
// challenge (CRAM-MD5's holds the server's name), VRFY's and EXPN's
// arguments and the names in their replies, and the xtext of AUTH=, ENVID=
// and ORCPT= ("+40" and \x{40} for '@').
TEST(SmtpTranscript, AnonymiseChallengesLookupsAndXtext) {
    const Transcript t = parse(
        "S: 220 mx.corp.example.net ESMTP\nC: EHLO c.example.org\nS: 250-mx.corp.example.net\nS: 250-DSN\nS: 250 AUTH CRAM-MD5 LOGIN\n"
        "C: AUTH CRAM-MD5\nS: 334 PDE4OTYuNjk3MTcwOTUyQG14LmNvcnAuZXhhbXBsZS5uZXQ+\n"   // <1896.697170952@mx.corp.example.net>
        "C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\nS: 235 2.7.0 ok\n"
        "C: VRFY jsmith\nS: 250 2.1.5 John Smith <jsmith@corp.example.net>\n"
        "C: VRFY Alice Jones\nS: 553 5.1.3 Alice Jones... User address required\n"
        "C: MAIL FROM:<alice@example.org> AUTH=alice+40example.org ENVID=QQ314159\n"
        "S: 250 ok\n"
        "C: RCPT TO:<bob@example.net> ORCPT=rfc822;bob+40example.net NOTIFY=FAILURE\nS: 250 ok\n"
        "C: RCPT TO:<dave@example.net> ORCPT=utf-8;dave\\x{40}example.net\nS: 250 ok\n"
        "C: QUIT\nS: 221 bye\n");
    const Transcript a = anonymise(t);
    std::string all;
    for (const TranscriptLine& l : a.lines) all += l.text + "\n";
    for (const char* gone : {"corp", "jsmith", "John", "Smith", "Alice", "Jones", "alice", "bob", "dave", "example.org",
                             "example.net"})
        EXPECT_EQ(all.find(gone), std::string::npos) << gone << "\n" << all;
    std::string challenge;
    msg::decode_transfer(a.lines[6].text.substr(4), msg::TransferEncoding::base64, challenge);
    EXPECT_TRUE(std::regex_match(challenge, std::regex("<user[0-9]+@host[0-9]+\\.example>"))) << challenge;
    EXPECT_TRUE(std::regex_match(a.lines[10].text, std::regex("250 2\\.1\\.5 name[0-9]+ <user[0-9]+@host[0-9]+\\.example>")))
        << a.lines[10].text;
    EXPECT_EQ(a.lines[9].text.substr(5), a.lines[10].text.substr(a.lines[10].text.find('<') + 1, a.lines[9].text.size() - 5));
    EXPECT_EQ(a.lines[11].text.substr(5), a.lines[12].text.substr(10, a.lines[11].text.size() - 5));   // one name, both places
    EXPECT_TRUE(std::regex_search(a.lines[13].text, std::regex(" AUTH=user[0-9]+@host[0-9]+\\.example ENVID=QQ314159$")))
        << a.lines[13].text;
    EXPECT_TRUE(std::regex_search(a.lines[15].text, std::regex(" ORCPT=rfc822;user[0-9]+@host[0-9]+\\.example NOTIFY=FAILURE$")))
        << a.lines[15].text;
    EXPECT_TRUE(std::regex_search(a.lines[17].text, std::regex(" ORCPT=utf-8;user[0-9]+@host[0-9]+\\.example$")))
        << a.lines[17].text;
    for (const auto& d : check_transcript(a)) ADD_FAILURE() << d.offset << ": " << d.info().code << " " << d.detail;
    // LOGIN's prompts name no one and stay.
    const Transcript login = anonymise(parse("S: 220 x\nC: EHLO c\nS: 250 AUTH LOGIN\nC: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\n"
                                             "C: YQ==\nS: 334 UGFzc3dvcmQ6\nC: Yg==\nS: 235 ok\n"));
    EXPECT_EQ(login.lines[4].text, "334 VXNlcm5hbWU6");
    EXPECT_EQ(login.lines[6].text, "334 UGFzc3dvcmQ6");
}

TEST(SmtpTranscriptBatch, KeepsWhatTheServerAccepted) {
    std::vector<std::string> notes;
    EXPECT_EQ(batch_of(kRefusedThenSecond, &notes),
              "EHLO client.example.org\nMAIL FROM:<a@example.org>\nRCPT TO:<second@example.net>\nDATA\n"
              "Subject: second\n\n..dot\n.\nQUIT\n");
    ASSERT_EQ(notes.size(), 4u);
    EXPECT_EQ(notes[0], "RCPT TO:<refused@example.net> was refused, 550 5.1.1 no such user");
    EXPECT_EQ(notes[1], "transaction left out: DATA was answered 503 5.5.1 valid RCPT command must precede DATA");
    EXPECT_EQ(notes[2], "RSET: a batch holds finished transactions only");
    EXPECT_EQ(notes[3], "RCPT TO:<refused@example.net> was refused, 550 5.1.1 no such user");
    // What it keeps checks clean as a batch.
    const Transcript b = parse(batch_of(kRefusedThenSecond), Format::bsmtp);
    EXPECT_TRUE(check_transcript(b, true).empty());
}

TEST(SmtpTranscriptBatch, LeavesOutRefusedMessagesSessionCommandsAndUnfinishedOnes) {
    const std::string g = "S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250-STARTTLS\nS: 250 AUTH PLAIN\n";
    std::vector<std::string> notes;
    EXPECT_EQ(batch_of(g + "C: STARTTLS\nS: 220 go\nC: EHLO a.example\nS: 250 x\n"
                           "C: AUTH PLAIN AGFsaWNlACoqKioqKioq\nS: 235 ok\n"
                           "C: MAIL FROM:<a@b.example>\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\n"
                           "C: DATA\nS: 354 go\nC: Subject: spam\nC: .\nS: 554 5.7.1 rejected\n"
                           "C: MAIL FROM:<a@b.example>\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\n"
                           "C: DATA\nS: 354 go\nC: Subject: ok\nC: .\nS: 250 queued\n"
                           "C: MAIL FROM:<a@b.example>\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 451 later\n"
                           "C: MAIL FROM:<a@b.example>\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\n"
                           "C: DATA\nS: 354 go\nC: Subject: cut\n",
                       &notes),
              "EHLO a.example\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nSubject: ok\n.\n");
    const std::vector<std::string> want = {
        "STARTTLS: batch SMTP has no TLS",
        "EHLO a.example: the batch has its HELO or EHLO already",
        "AUTH and its responses: batch SMTP has no authentication",
        "transaction left out: the message was refused, 554 5.7.1 rejected",
        "RCPT TO:<c@d.example> was refused, 451 later",
        "transaction left out: not finished before the next MAIL",
        "transaction left out: the reply to the message's final dot is not recorded: no reply was recorded",
    };
    EXPECT_EQ(notes, want);
    // No password, masked or not, in any note.
    for (const std::string& n : notes) EXPECT_EQ(n.find("AGFsaWNl"), std::string::npos);
}

TEST(SmtpTranscriptBatch, RefusesBdatAndKeepsABatchWhole) {
    const BatchConversion b = to_batch(parse("S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250 CHUNKING\n"
                                             "C: MAIL FROM:<a@b.example>\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\n"
                                             "C: BDAT 5 LAST\nC: abc\nS: 250 queued\n"));
    ASSERT_TRUE(b.refused);
    EXPECT_EQ(b.refused->line, 8u);   // the BDAT line
    EXPECT_NE(b.refused->why.find("BDAT"), std::string::npos);
    EXPECT_TRUE(b.batch.lines.empty());
    const std::string batch = "HELO a.example\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nx\n.\nQUIT\n";
    EXPECT_EQ(batch_of(batch), batch);
}

TEST(SmtpTranscriptBatch, CheckFindsAMessageThatRunsIntoTheNextCommand) {
    // What the old conversion wrote for kRefusedThenSecond.
    const std::string runaway = "EHLO client.example.org\nMAIL FROM:<a@example.org>\nRCPT TO:<refused@example.net>\nDATA\n"
                                "RSET\nMAIL FROM:<a@example.org>\nRCPT TO:<second@example.net>\nDATA\n"
                                "Subject: second\n\nhi\n.\nQUIT\n";
    EXPECT_EQ(codes(runaway), std::vector<std::string>{"smtp.body-unterminated"});
    // A message without its final dot swallows the next transaction.
    const std::string no_dot = "HELO a.example\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\n"
                               "Subject: one\n\ntext\nMAIL FROM:<a@b.example>\nRCPT TO:<e@d.example>\nDATA\n"
                               "Subject: two\n\n.\nQUIT\n";
    EXPECT_EQ(codes(no_dot), std::vector<std::string>{"smtp.body-unterminated"});
    const ParsedTranscript p = parse_transcript(no_dot);
    const msg::Defects d = check_transcript(p.transcript, true);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].offset, no_dot.find("MAIL FROM:<a@b.example>\nRCPT TO:<e@"));
    // Text that only looks like a command, in the body, is the message's.
    EXPECT_EQ(codes("HELO a.example\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nSubject: x\n\n"
                    "MAIL FROM:<x@y.example>\nRCPT is a word\n.\nQUIT\n"),
              std::vector<std::string>{});
}

TEST(SmtpTranscriptBatch, CheckWarnsAboutStartTlsAndAuth) {
    EXPECT_EQ(codes("EHLO a.example\nSTARTTLS\nEHLO a.example\nAUTH PLAIN AGEAYg==\nQUIT\n"),
              (std::vector<std::string>{"smtp.batch-session", "smtp.batch-session"}));
}

TEST(SmtpTranscript, BeginsWithTls) {
    EXPECT_TRUE(begins_with_tls(parse("# msgtools transcript 1\n= 0.000000 connect 127.0.0.1:465 2026-01-01T00:00:00Z\n"
                                      "= 0.01 tls TLSv1.3 TLS_AES_256_GCM_SHA384\nS 0.02 220 x\nC 0.03 QUIT\nS 0.04 221 bye\n")));
    EXPECT_TRUE(begins_with_tls(parse("=== TLS started with cipher x\n<~  220 x\n ~> QUIT\n<~  221 bye\n")));
    EXPECT_FALSE(begins_with_tls(parse(kSession)));
}

TEST(SmtpTranscriptBatch, MailLosesItsSizeOnly) {
    EXPECT_EQ(batch_of("S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250-SIZE\nS: 250 8BITMIME\n"
                       "C: MAIL FROM:<a@b.example> SIZE=87 BODY=8BITMIME\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\n"
                       "C: DATA\nS: 354 go\nC: x\nC: .\nS: 250 queued\n"
                       "C: MAIL FROM:<a@b.example> size=9\nS: 250 ok\nC: RCPT TO:<c@d.example>\nS: 250 ok\n"
                       "C: DATA\nS: 354 go\nC: y\nC: .\nS: 250 queued\n"),
              "EHLO a.example\nMAIL FROM:<a@b.example> BODY=8BITMIME\nRCPT TO:<c@d.example>\nDATA\nx\n.\n"
              "MAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\ny\n.\n");
}

// Empty input and binary data are no transcript at all (smtpreplay: exit
// 65); any text may be one, batch SMTP being the format of last resort.
TEST(NotTranscript, EmptyAndBinaryInput) {
    using msg::smtp::not_transcript_reason;
    EXPECT_EQ(not_transcript_reason(""), "empty input, not a transcript");
    EXPECT_EQ(not_transcript_reason("\n\r\n\n"), "empty input, not a transcript");
    const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    EXPECT_EQ(not_transcript_reason(png), "not a transcript: binary data (a NUL byte near the start)");
    EXPECT_EQ(not_transcript_reason(std::string("S: 220 ok\nC: EHLO a\0", 20)),
              "not a transcript: binary data (a NUL byte near the start)");
    EXPECT_EQ(not_transcript_reason("PK\x03\x04\x14\x01\x02\x08" "data"),
              "not a transcript: binary data (control bytes near the start)");
    // A form feed, ISO-2022-JP's escapes or one stray control byte in a
    // message's first lines is text.
    EXPECT_EQ(not_transcript_reason("C: DATA\nC: Subject: \x1b$B$3$s\x1b(B\nC: \f\nC: a\x01b\n"), "");
    // The native format may hold any octet but LF.
    EXPECT_EQ(not_transcript_reason(std::string("# msgtools transcript 1\nC 0.1 a\0\x01\x02\x03\x04b\n", 37)), "");
    EXPECT_EQ(not_transcript_reason("S: 220 mx ESMTP\r\nC: EHLO a\r\n\tfolded\r\n"), "");
    EXPECT_EQ(not_transcript_reason("hello\nworld\n"), "");   // read as a batch, with defects
    // CR alone ending the lines would make the whole file one line.
    EXPECT_EQ(not_transcript_reason("S: 220 mx ESMTP\rC: EHLO a\rS: 250 ok\r"),
              "not a transcript as it is: its first line ends in CR alone (make its line ends LF or CRLF)");
    EXPECT_EQ(not_transcript_reason("S: 220 mx\r\nC: DATA\nC: a\rb\n"), "");   // a CR inside a later line is text
    EXPECT_EQ(not_transcript_reason("S: 220 mx\r\r\nC: QUIT\r\r\n"), "");       // CR CR LF: read as before
    // A CR inside a first line that LF ends is that line's text too.
    EXPECT_EQ(not_transcript_reason("S: 220 mx.example.net\rESMTP\nC: EHLO a.example\nS: 250 mx\n"), "");
    EXPECT_EQ(not_transcript_reason("S: 220 mx\rC: EHLO a\r" + std::string(1100, 'x') + "\n"),
              "not a transcript as it is: its first line ends in CR alone (make its line ends LF or CRLF)");
    // Only the start is looked at: a control byte deep in a message's text is the message's.
    EXPECT_EQ(not_transcript_reason("C: DATA\n" + std::string(2000, 'x') + "\x1b[0m\n"), "");
}

// A UTF-8 byte order mark (a Windows editor's) is not part of the first
// line; offsets stay the file's.
TEST(SmtpTranscript, AByteOrderMarkIsSkipped) {
    const std::string bom = "\xEF\xBB\xBF";
    for (const std::string& text : {std::string("S: 220 x\nC: QUIT\nS: 221 bye\n"),
                                    std::string("<-  220 x\n -> QUIT\n<-  221 bye\n"),
                                    std::string("# msgtools transcript 1\nS 0.1 220 x\nC 0.2 QUIT\nS 0.3 221 bye\n"),
                                    std::string("HELO a.example\nQUIT\n")}) {
        const ParsedTranscript plain = parse_transcript(text);
        const ParsedTranscript marked = parse_transcript(bom + text);
        EXPECT_EQ(marked.format, plain.format) << text;
        EXPECT_TRUE(marked.defects.empty()) << text;
        ASSERT_EQ(marked.transcript.lines.size(), plain.transcript.lines.size()) << text;
        for (std::size_t i = 0; i < plain.transcript.lines.size(); ++i) {
            EXPECT_EQ(marked.transcript.lines[i].text, plain.transcript.lines[i].text);
            EXPECT_EQ(marked.transcript.lines[i].offset, plain.transcript.lines[i].offset + 3);
        }
    }
    EXPECT_EQ(not_transcript_reason(bom + "# msgtools transcript 1\nC 0.1 a\x01\x02\x03\x04\n"), "");
}

// Prose, or a client's log, reads as batch SMTP of no commands: refused.
TEST(NotTranscript, NoSmtpCommand) {
    auto none = [](const std::string& text) { return no_smtp_command(parse_transcript(text).transcript); };
    EXPECT_EQ(none("hello world\nthis is not smtp\n"), std::optional<std::size_t>(0));
    EXPECT_EQ(none("\n\n* Trying 127.0.0.1:25...\n> EHLO vm\n< 250 ok\n"), std::optional<std::size_t>(2));
    EXPECT_FALSE(none("HELO client.example\nQUIT\n"));
    EXPECT_FALSE(none("the text\nquit\n"));   // one command is enough: the rest are its defects
    EXPECT_FALSE(none("S: 220 mx.example\n"));   // a server's side
    EXPECT_FALSE(none(kSession));
}

// A NUL in a message (a real defect of real mail) does not make the
// transcript binary: what --convert writes of such a session reads back,
// in every format, with the same lines. Before the first DATA a NUL is
// still binary data.
TEST(NotTranscript, ANulInTheMessageIsTheMessages) {
    using msg::smtp::not_transcript_reason;
    using namespace std::string_literals;
    const std::string native =
        "# msgtools transcript 1\nS 0.1 220 mx ESMTP\nC 0.1 EHLO a.example\nS 0.1 250 mx\n"
        "C 0.1 MAIL FROM:<a@b.example>\nS 0.1 250 ok\nC 0.1 RCPT TO:<c@d.example>\nS 0.1 250 ok\n"
        "C 0.1 DATA\nS 0.1 354 go\nC 0.1 Subject: x\nC 0.1 \nC 0.1 nul:\0:x\x01\x02\x03\x04\nC 0.1 .\nS 0.1 250 queued\n"
        "C 0.1 QUIT\nS 0.1 221 bye\n"s;
    const Transcript t = parse(native);
    for (const Format f : {Format::cs, Format::swaks, Format::bsmtp}) {
        const std::string out = write_transcript(t, f);
        ASSERT_NE(out.find('\0'), std::string::npos) << format_name(f);
        EXPECT_EQ(not_transcript_reason(out), "") << format_name(f);
        const Transcript back = parse(out, f);
        std::vector<std::string> want, got;
        for (const TranscriptLine& l : t.lines)
            if (l.side == Side::client || (f != Format::bsmtp && l.side == Side::server)) want.push_back(l.text);
        for (const TranscriptLine& l : back.lines)
            if (l.side != Side::event) got.push_back(l.text);
        EXPECT_EQ(got, want) << format_name(f);
    }
    EXPECT_EQ(not_transcript_reason("S: 220 ok\nC: EHLO a\nC: data\nC: a\0b\n"s), "");
    EXPECT_EQ(not_transcript_reason(" -> BDAT 5 LAST\n -> a\0b\n"s), "");
    // Before the message, or with no message at all, it is binary.
    EXPECT_EQ(not_transcript_reason("S: 220 ok\nC: EH\0LO a\nC: DATA\nC: x\n"s),
              "not a transcript: binary data (a NUL byte near the start)");
    EXPECT_EQ(not_transcript_reason("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\nDATA\n"s),
              "not a transcript: binary data (a NUL byte near the start)");
    EXPECT_EQ(not_transcript_reason("C: DATAX\n\x01\x02\x03\x04\n"),
              "not a transcript: binary data (control bytes near the start)");
}

// The recorder's output is read back by the parser: a client line exactly as
// sent (form feed, ESC, a CR inside it); a server line with its control
// bytes escaped, so that a CR cannot end it early or forge a line.
TEST(Recorder, WritesWhatTheParserReadsBack) {
    msg::smtp::Recorder rec("127.0.0.1:25");
    rec(msg::smtp::Wire::sent, "Subject: \x1b$B$3\x1b(B \f x\ry");
    rec(msg::smtp::Wire::received, "450 4.2.0 busy\rS 0.1 250 forged\x1b[2J");
    rec.close();
    const std::string text = rec.take();
    EXPECT_EQ(msg::smtp::not_transcript_reason(text), "");
    const msg::smtp::ParsedTranscript p = msg::smtp::parse_transcript(text);
    EXPECT_EQ(p.format, msg::smtp::Format::native);
    EXPECT_TRUE(p.defects.empty());
    std::vector<std::string> client, server;
    for (const msg::smtp::TranscriptLine& l : p.transcript.lines) {
        if (l.side == msg::smtp::Side::client) client.push_back(l.text);
        if (l.side == msg::smtp::Side::server) server.push_back(l.text);
    }
    EXPECT_EQ(client, std::vector<std::string>{"Subject: \x1b$B$3\x1b(B \f x\ry"});
    EXPECT_EQ(server, std::vector<std::string>{"450 4.2.0 busy\\x0dS 0.1 250 forged\\x1b[2J"});
}

TEST(SmtpTranscript, ABdatChunkIsItsSizeInOctetsEachLineWithItsCrlf) {
    const std::string g = "S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250 CHUNKING\nC: MAIL FROM:<a@example.org>\nS: 250 ok\n"
                          "C: RCPT TO:<b@example.net>\nS: 250 ok\n";
    // "Subject: hi" CRLF, CRLF, "text" CRLF: 21 octets.
    EXPECT_TRUE(codes(g + "C: BDAT 21 LAST\nC: Subject: hi\nC:\nC: text\nS: 250 queued\nC: QUIT\nS: 221 bye\n").empty());
    EXPECT_EQ(codes(g + "C: BDAT 20 LAST\nC: Subject: hi\nC:\nC: text\nS: 250 queued\nC: QUIT\nS: 221 bye\n"),
              std::vector<std::string>{"smtp.chunk-size"});
    // Short: the reply ends the chunk, and the QUIT after it is a command.
    const Transcript t = parse(g + "C: BDAT 40 LAST\nC: Subject: hi\nS: 250 queued\nC: QUIT\nS: 221 bye\n");
    const std::vector<Exchange> ex = exchanges(t);
    ASSERT_EQ(ex.size(), 6u);
    EXPECT_EQ(ex[4].chunk_short, 27u);
    EXPECT_EQ(ex[4].client.size(), 2u);
    EXPECT_EQ(t.lines[ex[5].client[0]].text, "QUIT");
    ASSERT_TRUE(ex[5].reply);
    EXPECT_EQ(ex[5].reply->code, 221);
    EXPECT_EQ(codes(g + "C: BDAT 40 LAST\nC: Subject: hi\nS: 250 queued\nC: QUIT\nS: 221 bye\n"),
              std::vector<std::string>{"smtp.chunk-size"});
    // A transcript that ends inside a chunk.
    EXPECT_EQ(exchanges(parse(g + "C: BDAT 40 LAST\nC: Subject: hi\n")).back().chunk_short, 27u);
    // Pipelined: the replies to MAIL and RCPT may come amid the chunk's
    // lines; only the BDAT's own reply ends it.
    const std::string p = "S: 220 x\nC: EHLO x\nS: 250-x\nS: 250-PIPELINING\nS: 250 CHUNKING\nC: MAIL FROM:<a@b.c>\n"
                          "C: RCPT TO:<d@e.f>\nC: BDAT 12 LAST\nS: 250 ok\nS: 250 ok\nC: Subject: a\nS: 250 queued\n"
                          "C: QUIT\nS: 221 bye\n";
    EXPECT_TRUE(codes(p).empty());
    // A chunk that ends inside a line, the next BDAT after it (as the bytes
    // go): no chunk-size defect, and that BDAT is a command of its own.
    const std::vector<std::string> inside =
        codes(g + "C: BDAT 5\nC: helloBDAT 0 LAST\nS: 250 5 octets\nS: 250 queued\nC: QUIT\nS: 221 bye\n");
    EXPECT_EQ(std::count(inside.begin(), inside.end(), "smtp.chunk-size"), 0);
}

TEST(SmtpTranscript, ABdatAfterAChunkThatEndsInsideALineIsItsOwnCommand) {
    const std::string text = "S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250-PIPELINING\nS: 250 CHUNKING\n"
                             "C: MAIL FROM:<a@example.org>\nC: RCPT TO:<b@example.net>\nS: 250 ok\nS: 250 ok\n"
                             "C: BDAT 5\nC: HelloBDAT 8 LAST\nC:  World\nS: 250 5 octets\nS: 250 message ok\n"
                             "C: QUIT\nS: 221 bye\n";
    EXPECT_EQ(codes(text), std::vector<std::string>{});
    const Transcript t = parse(text);
    const std::vector<Exchange> ex = exchanges(t);
    ASSERT_EQ(ex.size(), 7u);
    EXPECT_EQ(client_bytes(t, ex[4]), "BDAT 5\r\nHello");
    EXPECT_EQ(ex[4].reply->lines[0], "5 octets");
    EXPECT_EQ(command_text(t, ex[5]), "BDAT 8 LAST");
    EXPECT_EQ(client_bytes(t, ex[5]), "BDAT 8 LAST\r\n World\r\n");
    EXPECT_EQ(ex[5].reply->lines[0], "message ok");
    EXPECT_EQ(ex[4].group, ex[5].group);
    EXPECT_EQ(command_text(t, ex[6]), "QUIT");
    EXPECT_EQ(ex[6].reply->code, 221);
}
