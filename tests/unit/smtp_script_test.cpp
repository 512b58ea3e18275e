// smtp_script_test.cpp - a transcript's server side played to a client
// (msg/smtp/script.hpp): recorded replies in order, differences counted and
// noted, DATA and BDAT framing, STARTTLS, the end of the script.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "msg/smtp/script.hpp"

using namespace msg::smtp;

namespace {

const char* const kSession =
    "S: 220 mx.example ESMTP\n"
    "C: EHLO client.example\n"
    "S: 250-mx.example\n"
    "S: 250 CHUNKING\n"
    "C: MAIL FROM:<a@example.org>\n"
    "S: 250 2.1.0 ok\n"
    "C: RCPT TO:<b@example.net>\n"
    "S: 250 2.1.5 ok\n"
    "C: DATA\n"
    "S: 354 go ahead\n"
    "C: Subject: x\n"
    "C: \n"
    "C: body\n"
    "C: .\n"
    "S: 250 2.0.0 queued\n"
    "C: QUIT\n"
    "S: 221 2.0.0 bye\n";

ServerScript script(const char* text, bool can_tls = false) {
    ParsedTranscript pt = parse_transcript(text);
    EXPECT_TRUE(pt.defects.empty());
    return ServerScript(std::move(pt.transcript), can_tls);
}

// A session of a script, played as far as the client's `sent`, and what
// it answered so far cleared.
struct Played {
    ServerScript s;
    std::unique_ptr<Dialog> d;
    Played(const char* text, std::string_view sent) : s(script(text)), d(s.session()) {
        d->start();
        d->receive(sent);
        d->output().clear();
    }
};

}  // namespace

TEST(SmtpScript, PlaysTheRecordedRepliesInOrder) {
    ServerScript s = script(kSession);
    std::vector<std::string> notes;
    s.on_note = [&](std::string_view n) { notes.emplace_back(n); };
    auto d = s.session();
    d->start();
    EXPECT_EQ(d->output(), "220 mx.example ESMTP\r\n");
    d->output().clear();
    // Pipelined, and cut anywhere: the replies come as each exchange is whole.
    const std::string in = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n";
    for (char c : in) d->receive(std::string_view(&c, 1));
    EXPECT_EQ(d->output(), "250-mx.example\r\n250 CHUNKING\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n");
    EXPECT_EQ(d->completed(), 4u);
    EXPECT_TRUE(d->in_data());
    d->output().clear();
    d->receive("Subject: something else\r\n\r\n");
    EXPECT_EQ(d->output(), "");   // body lines are not compared, and the dot has not come
    d->receive(".\r\nQUIT\r\n");
    EXPECT_EQ(d->output(), "250 2.0.0 queued\r\n221 2.0.0 bye\r\n");
    EXPECT_FALSE(d->in_data());
    EXPECT_TRUE(d->closing());
    EXPECT_EQ(s.sessions(), 1u);
    EXPECT_EQ(s.differences(), 1u);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0], "the client sent \"RCPT TO:<c@example.net>\" where the script has \"RCPT TO:<b@example.net>\"");
}

TEST(SmtpScript, EndOfTheScriptAndStartTls) {
    ServerScript s = script("S: 220 hi\nC: EHLO x\nS: 250 ok\n");
    auto d = s.session();
    d->start();
    d->receive("EHLO x\r\n");
    EXPECT_EQ(d->output(), "220 hi\r\n250 ok\r\n421 4.3.0 end of the script, closing\r\n");
    EXPECT_TRUE(d->closing());

    const char* tls = "S: 220 hi\nC: EHLO x\nS: 250 STARTTLS\nC: STARTTLS\nS: 220 go ahead\nC: EHLO x\nS: 250 ok\nC: QUIT\nS: 221 bye\n";
    ServerScript with = script(tls, true);
    auto t = with.session();
    t->start();
    t->receive("EHLO x\r\nSTARTTLS\r\nEHLO pipelined in clear\r\n");
    EXPECT_TRUE(t->tls_requested());
    t->tls_started();
    t->output().clear();
    t->receive("EHLO x\r\n");
    EXPECT_EQ(t->output(), "250 ok\r\n");
    EXPECT_EQ(with.differences(), 0u);

    ServerScript without = script(tls, false);
    std::string note;
    without.on_note = [&](std::string_view n) { note = n; };
    auto u = without.session();
    u->start();
    u->receive("EHLO x\r\nSTARTTLS\r\n");
    EXPECT_TRUE(u->closing());
    EXPECT_FALSE(u->tls_requested());
    EXPECT_EQ(note, "the script starts TLS, but TLS is not available");
}

TEST(SmtpScript, BdatChunkIsTakenWhole) {
    Played p("S: 220 hi\nC: EHLO x\nS: 250 CHUNKING\nC: BDAT 5 LAST\nC: abc\nS: 250 done\n", "");
    p.d->receive("EHLO x\r\nBDAT 5 LAST\r\nab");
    EXPECT_EQ(p.d->output(), "250 CHUNKING\r\n");
    EXPECT_TRUE(p.d->in_data());
    p.d->receive("c\r\n");
    EXPECT_EQ(p.d->output(), "250 CHUNKING\r\n250 done\r\n421 4.3.0 end of the script, closing\r\n");
}

// A client that sends no message where the script has one (smtpreplay
// --no-data sends RSET for DATA; a client that finds no CHUNKING sends no
// BDAT) is never answered 354, and its next commands are never read as
// the message: the script passes over the message and goes on.
TEST(SmtpScript, AClientThatSendsNoMessageWhereTheScriptHasOneIsNotTakenIntoData) {
    const char* envelope = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n";
    {
        Played p(kSession, envelope);
        std::vector<std::string> notes;
        p.s.on_note = [&](std::string_view n) { notes.emplace_back(n); };
        p.d->receive("RSET\r\n");
        EXPECT_EQ(p.d->output(), "250 2.0.0 OK (the script has a message here)\r\n");
        EXPECT_FALSE(p.d->in_data());
        p.d->receive("QUIT\r\n");
        EXPECT_EQ(p.d->output(), "250 2.0.0 OK (the script has a message here)\r\n221 2.0.0 bye\r\n");
        EXPECT_TRUE(p.d->closing());
        EXPECT_EQ(p.s.differences(), 1u);
        ASSERT_EQ(notes.size(), 1u);
        EXPECT_EQ(notes[0], "the client sent \"RSET\" where the script has \"DATA\"");
    }
    {
        // The script's next command, sent in the message's place, is played.
        Played p(kSession, envelope);
        p.d->receive("QUIT\r\n");
        EXPECT_EQ(p.d->output(), "221 2.0.0 bye\r\n");
        EXPECT_EQ(p.s.differences(), 1u);
    }
    {
        // Anything else is out of sequence.
        Played p(kSession, envelope);
        p.d->receive("VRFY x\r\nQUIT\r\n");
        EXPECT_EQ(p.d->output(), "503 5.5.1 the script has DATA here\r\n221 2.0.0 bye\r\n");
    }
    const char* bdat = "S: 220 hi\nC: EHLO x\nS: 250 CHUNKING\nC: MAIL FROM:<a@b.c>\nS: 250 ok\nC: BDAT 3\nC: ab\nS: 250 more\n"
                       "C: BDAT 5 LAST\nC: abc\nS: 250 done\nC: QUIT\nS: 221 bye\n";
    {
        // Every BDAT of the message is passed over.
        Played p(bdat, "EHLO x\r\nMAIL FROM:<a@b.c>\r\n");
        p.d->receive("RSET\r\n");
        EXPECT_EQ(p.d->output(), "250 2.0.0 OK (the script has a message here)\r\n");
        EXPECT_FALSE(p.d->in_data());
        p.d->receive("QUIT\r\n");
        EXPECT_EQ(p.d->output(), "250 2.0.0 OK (the script has a message here)\r\n221 bye\r\n");
    }
    {
        // A BDAT that does not parse takes no chunk.
        Played p(bdat, "EHLO x\r\nMAIL FROM:<a@b.c>\r\n");
        p.d->receive("BDAT x\r\nQUIT\r\n");
        EXPECT_EQ(p.d->output(), "503 5.5.1 the script has BDAT here\r\n221 bye\r\n");
    }
}

// RFC 3030 2: BDAT 0 LAST carries no octets, and is answered at once.
TEST(SmtpScript, AnEmptyLastChunkIsAnsweredAtOnce) {
    Played p("S: 220 hi\nC: EHLO x\nS: 250 CHUNKING\nC: BDAT 5 LAST\nC: abc\nS: 250 done\nC: QUIT\nS: 221 bye\n", "");
    p.d->receive("EHLO x\r\nBDAT 0 LAST\r\n");
    EXPECT_EQ(p.d->output(), "250 CHUNKING\r\n250 done\r\n");
    EXPECT_FALSE(p.d->in_data());
    p.d->receive("QUIT\r\n");
    EXPECT_EQ(p.d->output(), "250 CHUNKING\r\n250 done\r\n221 bye\r\n");
    EXPECT_EQ(p.s.differences(), 1u);
}

// The end of a message is CRLF "." CRLF only, as for the server without a
// script: "<LF>.<CR><LF>" and a "." line ended by a bare LF are content, so
// that a smuggled second transaction is not answered as one.
TEST(SmtpScript, OnlyCrlfDotCrlfEndsTheMessage) {
    for (const char* smuggled : {"hello\n.\r\nMAIL FROM:<evil@example.org>\r\n", "hello\r\n.\nMAIL FROM:<e@example.org>\r\n"}) {
        ServerScript s = script(kSession);
        auto d = s.session();
        d->start();
        d->receive("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        d->output().clear();
        d->receive(smuggled);
        EXPECT_EQ(d->output(), "") << smuggled;
        d->receive("more\r\n.\r\n");
        EXPECT_EQ(d->output(), "250 2.0.0 queued\r\n") << smuggled;
    }
}

// A script without a recorded greeting still greets; a recorded 421 closes
// the session, with no reply of the script's own after it.
TEST(SmtpScript, GreetingWhenNoneIsRecordedAnd421Closes) {
    ServerScript s = script("C: EHLO client.example\nS: 250 mx.example\nC: MAIL FROM:<a@example.org>\n"
                            "S: 421 4.7.0 too busy, closing\n");
    auto d = s.session();
    d->start();
    EXPECT_EQ(d->output().substr(0, 4), "220 ");
    d->output().clear();
    d->receive("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n");
    EXPECT_EQ(d->output(), "250 mx.example\r\n421 4.7.0 too busy, closing\r\n");
    EXPECT_TRUE(d->closing());
    // A 421 recorded with no command asking for it closes too.
    ServerScript u = script("S: 220 mx.example\nC: EHLO client.example\nS: 250 mx.example\nS: 421 4.3.2 shutting down\n");
    auto e = u.session();
    e->start();
    e->receive("EHLO client.example\r\n");
    EXPECT_EQ(e->output(), "220 mx.example\r\n250 mx.example\r\n421 4.3.2 shutting down\r\n");
    EXPECT_TRUE(e->closing());
}

// DATA ended by a bare LF: the message's first line starts fresh, so a
// "." line ended by CRLF right after it ends the (empty) message.
TEST(SmtpScript, DotRightAfterDataEndedByALineFeed) {
    ServerScript s = script(kSession);
    auto d = s.session();
    d->start();
    d->receive("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\n");
    d->output().clear();
    d->receive(".\r\n");
    EXPECT_EQ(d->output(), "250 2.0.0 queued\r\n");
}

// A batch records no replies: there is nothing to play, and a client would
// wait for ever for the reply to its EHLO. Such a script is refused.
TEST(SmtpScript, ABatchIsNoScript) {
    EXPECT_EQ(unplayable_script(parse_transcript("EHLO client.example\nMAIL FROM:<a@example.org>\nQUIT\n").transcript),
              "the transcript records no replies (batch SMTP): there is no server side to play");
    EXPECT_EQ(unplayable_script(parse_transcript(kSession).transcript), "");
    // A script without a greeting, or with only one, still plays.
    EXPECT_EQ(unplayable_script(parse_transcript("C: EHLO x\nS: 250 ok\n").transcript), "");
    EXPECT_EQ(unplayable_script(parse_transcript("S: 220 hi\n").transcript), "");
}

// A chunk that ends inside a line, the next BDAT right after it: the
// client sends what was recorded, and each BDAT gets its own reply.
TEST(SmtpScript, BdatAfterAChunkThatEndsInsideALine) {
    ServerScript s = script("S: 220 x\nC: EHLO a.example\nS: 250-x\nS: 250 CHUNKING\nC: BDAT 5\nC: HelloBDAT 8 LAST\n"
                            "C:  World\nS: 250 5 octets\nS: 250 message ok\nC: QUIT\nS: 221 bye\n");
    std::vector<std::string> notes;
    s.on_note = [&](std::string_view n) { notes.emplace_back(n); };
    auto d = s.session();
    d->start();
    d->receive("EHLO a.example\r\nBDAT 5\r\nHelloBDAT 8 LAST\r\n World\r\nQUIT\r\n");
    EXPECT_EQ(d->output(), "220 x\r\n250-x\r\n250 CHUNKING\r\n250 5 octets\r\n250 message ok\r\n221 bye\r\n");
    EXPECT_EQ(s.differences(), 0u);
    EXPECT_TRUE(notes.empty()) << notes[0];
}

// A note is shown on the operator's terminal: what the client sent is
// escaped there, its terminal controls and bytes that are not UTF-8.
TEST(SmtpScript, ANoteEscapesWhatTheClientSent) {
    ServerScript s = script(kSession);
    std::vector<std::string> notes;
    s.on_note = [&](std::string_view n) { notes.emplace_back(n); };
    auto d = s.session();
    d->start();
    d->receive("EHLO \x1b]0;pwned\x07\x1b[2J\xff\r\n");
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0], "the client sent \"EHLO \\x1b]0;pwned\\x07\\x1b[2J\\xff\" where the script has \"EHLO client.example\"");
}

// A client's credentials never reach a note (the operator's terminal, a
// log): a recorded AUTH whose password is masked, as spoolsend and swaks
// record it, stands for whatever password the client gives, and a response
// that differs all the same is named, not shown.
TEST(SmtpScript, CredentialsAreNeitherNotedNorCountedAsDifferences) {
    const char* const kAuth =
        "S: 220 mx.example ESMTP\n"
        "C: EHLO client.example\n"
        "S: 250-mx.example\n"
        "S: 250 AUTH PLAIN LOGIN\n"
        "C: AUTH PLAIN AGFsaWNlACoqKioqKioq\n"          // \0alice\0********
        "S: 235 2.7.0 ok\n"
        "C: AUTH LOGIN\n"
        "S: 334 VXNlcm5hbWU6\n"
        "C: YWxpY2U=\n"                                  // alice
        "S: 334 UGFzc3dvcmQ6\n"
        "C: KioqKioqKio=\n"                              // ********
        "S: 235 2.7.0 ok\n"
        "C: QUIT\n"
        "S: 221 2.0.0 bye\n";
    {
        ServerScript s = script(kAuth);
        std::vector<std::string> notes;
        s.on_note = [&](std::string_view n) { notes.emplace_back(n); };
        auto d = s.session();
        d->start();
        d->receive("EHLO client.example\r\nAUTH PLAIN AGFsaWNlAHMzY3JldC1wdw==\r\n");   // the real password
        d->receive("AUTH LOGIN\r\nYWxpY2U=\r\nczNjcmV0LXB3\r\nQUIT\r\n");
        EXPECT_EQ(s.differences(), 0u);
        EXPECT_TRUE(notes.empty()) << notes[0];
    }
    {
        ServerScript s = script(kAuth);
        std::vector<std::string> notes;
        s.on_note = [&](std::string_view n) { notes.emplace_back(n); };
        auto d = s.session();
        d->start();
        // Another user: a difference, noted without the response.
        d->receive("EHLO client.example\r\nAUTH PLAIN AG1hbGxvcnkAczNjcmV0LXB3\r\n");
        d->receive("AUTH LOGIN\r\nYWxpY2U=\r\n!!\r\nQUIT\r\n");
        EXPECT_EQ(s.differences(), 2u);
        ASSERT_EQ(notes.size(), 2u);
        EXPECT_EQ(notes[0], "the client sent \"AUTH PLAIN (initial response)\" where the script has "
                            "\"AUTH PLAIN (initial response)\"");
        EXPECT_EQ(notes[1], "the client sent \"(AUTH response)\" where the script has \"(AUTH response)\"");
        for (const std::string& n : notes) EXPECT_EQ(n.find("czNj"), std::string::npos) << n;
    }
}

// An AUTH line that does not parse (a tab, runs of spaces, no mechanism
// name) is still an AUTH line: what follows its mechanism is not shown.
TEST(SmtpScript, AnAuthLineThatDoesNotParseHidesItsCredentials) {
    const char* const kAuth =
        "S: 220 mx.example ESMTP\n"
        "C: EHLO client.example\n"
        "S: 250-mx.example\n"
        "S: 250 AUTH PLAIN LOGIN\n"
        "C: AUTH PLAIN AGFsaWNlACoqKioqKioq\n"
        "S: 235 2.7.0 ok\n"
        "C: QUIT\n"
        "S: 221 2.0.0 bye\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"AUTH\tPLAIN AGFsaWNlAHMzY3JldC1wdw==", "AUTH\tPLAIN (initial response)"},
        {"AUTH   PLAIN   AGFsaWNlAHMzY3JldC1wdw==", "AUTH   PLAIN (initial response)"},
        {"auth\tplain\tAGFsaWNlAHMzY3JldC1wdw==", "auth\tplain (initial response)"},
        {"AUTH AGFsaWNlAHMzY3JldC1wdw==", "AUTH (initial response)"},
        {"AUTH PLAIN AGFsaWNlAHMzY3JldC1wdw== !", "AUTH PLAIN (initial response)"},
    };
    for (const auto& [line, note] : cases) {
        ServerScript s = script(kAuth);
        std::vector<std::string> notes;
        s.on_note = [&](std::string_view n) { notes.emplace_back(n); };
        auto d = s.session();
        d->start();
        d->receive("EHLO client.example\r\n" + line + "\r\n");
        ASSERT_EQ(notes.size(), 1u) << line;
        EXPECT_EQ(notes[0], "the client sent \"" + note + "\" where the script has \"AUTH PLAIN (initial response)\"");
        EXPECT_EQ(notes[0].find("AGFsaWNl"), std::string::npos) << notes[0];
    }
}
