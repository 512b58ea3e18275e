// smtp_transcript_property.cpp - transcripts written in any format read
// back as the same lines (what the format can hold); parsing and checking
// never crash on any input; anonymising keeps a clean transcript clean.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "msg/smtp/transcript.hpp"

namespace {

using namespace msg::smtp;

// Printable line text (no line breaks), sometimes empty, sometimes dotted.
rc::Gen<std::string> line_text() {
    return rc::gen::oneOf(rc::gen::element<std::string>("", ".", "..x", "250 ok", "EHLO a.example", "MAIL FROM:<a@b.example>"),
                          rc::gen::container<std::string>(rc::gen::inRange<char>(' ', '~')));
}

rc::Gen<TranscriptLine> line() {
    return rc::gen::build<TranscriptLine>(
        rc::gen::set(&TranscriptLine::side, rc::gen::element(Side::client, Side::server, Side::event)),
        rc::gen::set(&TranscriptLine::text, line_text()),
        rc::gen::set(&TranscriptLine::time, rc::gen::map(rc::gen::inRange(0, 1000000), [](int us) { return us / 1e6; })));
}

}  // namespace

RC_GTEST_PROP(SmtpTranscript, WriteThenReadGivesTheSameLines, ()) {
    Transcript t;
    t.lines = *rc::gen::container<std::vector<TranscriptLine>>(line());
    const Format f = *rc::gen::element(Format::cs, Format::swaks, Format::bsmtp, Format::native);
    for (TranscriptLine& l : t.lines) {
        // What each format can hold: after a cs or swaks prefix, leading
        // blanks are not told apart from the prefix's; a cs event is a "#"
        // line (its trailing blanks and a leading "#" are not kept apart);
        // "connect" and "tls" events have a meaning; bsmtp holds client
        // lines only.
        if (f == Format::cs || f == Format::swaks)
            while (!l.text.empty() && (l.text[0] == ' ' || l.text[0] == '\t')) l.text.erase(0, 1);
        if (l.side == Side::event && f != Format::native) l.text = "note " + l.text;
        if (f == Format::cs && l.side == Side::event) while (!l.text.empty() && l.text.back() == ' ') l.text.pop_back();
        if (l.text.rfind("connect", 0) == 0 || l.text.rfind("tls", 0) == 0) l.text = "x" + l.text;
    }
    if (f == Format::bsmtp) std::erase_if(t.lines, [](const TranscriptLine& l) { return l.side != Side::client; });
    const std::string text = write_transcript(t, f);
    const ParsedTranscript p = parse_transcript(text, f);
    RC_ASSERT(p.defects.empty());
    const std::vector<TranscriptLine>& want = t.lines;
    RC_ASSERT(p.transcript.lines.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        RC_ASSERT(p.transcript.lines[i].side == want[i].side);
        RC_ASSERT(p.transcript.lines[i].text == want[i].text);
        if (f == Format::native) RC_ASSERT(std::abs(p.transcript.lines[i].time - want[i].time) < 1e-6);
    }
}

RC_GTEST_PROP(SmtpTranscript, AnyInputParsesAndChecksWithoutCrashing, ()) {
    const std::string junk = *rc::gen::container<std::string>(rc::gen::element<char>(
        'C', 'S', ':', ' ', '\n', '\r', '2', '5', '0', '3', '4', '-', '.', '<', '>', '@', 'a', '=', '~', '#'));
    for (Format f : {Format::cs, Format::swaks, Format::bsmtp, Format::native}) {
        const ParsedTranscript p = parse_transcript(junk, f);
        for (const auto& d : p.defects) RC_ASSERT(d.offset <= junk.size());
        const auto ex = exchanges(p.transcript);
        for (const auto& e : ex) {
            for (std::size_t i : e.client) RC_ASSERT(i < p.transcript.lines.size());
            for (std::size_t i : e.reply_lines) RC_ASSERT(i < p.transcript.lines.size());
        }
        (void)check_transcript(p.transcript, f == Format::bsmtp);
        (void)anonymise(p.transcript);
    }
}

RC_GTEST_PROP(SmtpTranscript, AnonymisedCleanSessionStaysClean, ()) {
    const auto local = *rc::gen::element<std::string>("alice", "bob.smith", "x+tag");
    const auto domain = *rc::gen::element<std::string>("example.org", "mail.example.co.uk", "a-b.example");
    const int n = *rc::gen::inRange(1, 4);
    std::string s = "S: 220 mx." + domain + " ESMTP\nC: EHLO client." + domain + "\nS: 250-mx." + domain +
                    " hello\nS: 250 PIPELINING\n";
    for (int i = 0; i < n; ++i) {
        s += "C: MAIL FROM:<" + local + "@" + domain + ">\nS: 250 2.1.0 <" + local + "@" + domain + "> ok\n";
        s += "C: RCPT TO:<" + local + std::to_string(i) + "@" + domain + ">\nS: 250 2.1.5 ok\n";
        s += "C: DATA\nS: 354 go\nC: From: " + local + "@" + domain + "\nC:\nC: ..line " + std::to_string(i) +
             "\nC: .\nS: 250 2.0.0 queued\n";
    }
    s += "C: QUIT\nS: 221 2.0.0 bye\n";
    const ParsedTranscript p = parse_transcript(s);
    RC_ASSERT(check_transcript(p.transcript).empty());
    const Transcript a = anonymise(p.transcript);
    RC_ASSERT(check_transcript(a).empty());
    const std::string out = write_transcript(a, Format::cs);
    RC_ASSERT(out.find(domain) == std::string::npos);
    RC_ASSERT(out.find(local + "@") == std::string::npos);
}
