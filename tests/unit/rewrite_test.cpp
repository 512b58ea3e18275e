// rewrite_test.cpp - rewrite.hpp: each operation on small messages, what it
// changes and, as much, what it leaves alone.
#include <gtest/gtest.h>

#include <msg/charset.hpp>
#include <msg/datetime.hpp>
#include <msg/codec.hpp>
#include <msg/header.hpp>
#include <msg/message.hpp>
#include <msg/rewrite.hpp>
#include <msg/validate.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using msg::RewriteOptions;
using namespace std::string_literals;

msg::RewriteResult run(const std::string& in, auto&& set) {
    RewriteOptions o;
    set(o);
    msg::RewriteResult r = msg::rewrite(in, o);
    // Unchanged, the input is the result, not copied; filled in here for
    // the checks of the callers.
    if (!r.changed) {
        EXPECT_TRUE(r.output.empty());
        r.output = in;
    }
    // Every operation is idempotent.
    const msg::RewriteResult again = msg::rewrite(r.output, o);
    EXPECT_FALSE(again.changed) << "not idempotent; second output:\n" << again.output;
    EXPECT_EQ(again.text(r.output), r.output);
    return r;
}

std::vector<std::string> decoded_leaves(const std::string& data) {
    const msg::Message m = msg::parse_message(data);
    std::vector<std::string> out;
    for (std::size_t i : m.leaves()) {
        std::string s;
        m.decode(m.entity(i), s);
        out.push_back(s);
    }
    return out;
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::size_t b = 0;
    while (b < s.size()) {
        std::size_t e = s.find('\n', b);
        if (e == std::string::npos) e = s.size();
        std::string line = s.substr(b, e - b);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
        b = e + 1;
    }
    return out;
}

bool has_8bit(const std::string& s) { return msg::first_non_ascii(s) != std::string::npos; }

// --- building blocks ------------------------------------------------------------

TEST(EncodeWords, ShortWordsThatDecodeBack) {
    const std::string text = "Grüße aus Köln, und noch ein paar Wörter: ÄÖÜ äöü ß € 日本語のテキスト";
    for (bool phrase : {false, true}) {
        const std::string w = msg::encode_words(text, phrase, " ");
        EXPECT_FALSE(has_8bit(w));
        std::size_t b = 0;
        while (b < w.size()) {
            std::size_t e = w.find(' ', b);
            if (e == std::string::npos) e = w.size();
            EXPECT_LE(e - b, 75u) << w.substr(b, e - b);
            b = e + 1;
        }
        EXPECT_EQ(msg::decode_header_text(w), text);
    }
}

TEST(EncodeWords, PhraseAlphabetHasNoSpecials) {
    const std::string w = msg::encode_words("Café, \"Bob\" <x> (y)", true, " ");
    EXPECT_EQ(w.find_first_of(",\"<>()"), std::string::npos) << w;
    EXPECT_EQ(msg::decode_header_text(w), "Café, \"Bob\" <x> (y)");
}

TEST(EncodeWords, NotUtf8IsWindows1252) {
    EXPECT_EQ(msg::decode_header_text(msg::encode_words("caf\xe9", false, " ")), "café");
}

// --- fold -----------------------------------------------------------------------------

TEST(Fold, LongSubjectFoldedAtWhiteSpaceOnly) {
    const std::string subject =
        "Subject: This subject line is far longer than seventy-eight characters and so it has to be folded\n";
    const std::string in = "From: a@example.org\n" + subject + "\nbody line that is long but is body and must not be folded at all, no, not at all\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fold = true; });
    ASSERT_TRUE(r.changed);
    for (const std::string& l : lines_of(r.output.substr(0, r.output.find("\n\n"))))
        EXPECT_LE(l.size(), 78u) << l;
    const msg::Message a = msg::parse_message(in), b = msg::parse_message(r.output);
    EXPECT_EQ(msg::unfold(b.header("Subject")->value), msg::unfold(a.header("Subject")->value));
    // Only the Subject changed.
    EXPECT_EQ(r.output.substr(0, 20), in.substr(0, 20));
    EXPECT_EQ(r.output.substr(r.output.find("\n\n")), in.substr(in.find("\n\n")));
}

TEST(Fold, NoLineOfWhiteSpaceOnlyAndShortFieldsUntouched) {
    const std::string in = "To: x@example.org\nX-Long: " + std::string(70, 'a') + "      " + std::string(20, 'b') +
                           "\nX-Short: a  b\n\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fold = true; });
    for (const std::string& l : lines_of(r.output)) {
        if (l.empty()) continue;
        EXPECT_NE(l.find_first_not_of(" \t"), std::string::npos) << "a line of white space only";
    }
    EXPECT_NE(r.output.find("\nX-Short: a  b\n"), std::string::npos);
}

// A MIME field is folded between its parameters, never inside a quoted
// value (a boundary or a file name with spaces, which readers would cut or
// keep a line break in); a quoted string in an unstructured field folds.
TEST(Fold, NotInsideAQuotedMimeValue) {
    const std::string name = "Quarterly report for the board meeting, final version (\\\"signed\\\") .pdf";
    const std::string in = "Content-Type: application/pdf; name=\"" + name + "\"\n"
                           "Content-Disposition: attachment; filename=\"" + name + "\"; size=123\n"
                           "Subject: \"" + name + " and more words to fold\"\n\nx\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fold = true; });
    ASSERT_TRUE(r.changed);
    const msg::Message m = msg::parse_message(r.output);
    EXPECT_EQ(m.header("Content-Type")->value, " application/pdf;\n name=\"" + name + "\"");
    EXPECT_EQ(m.header("Content-Disposition")->value, " attachment;\n filename=\"" + name + "\";\n size=123");
    EXPECT_NE(msg::unfold(m.header("Subject")->value), m.header("Subject")->value);   // folded
    // Free text (Content-Description) has no quoted values: a stray '"'
    // stops nothing. A quoted value that would keep a line over 998 octets
    // is folded inside all the same (RFC 5322 2.1.1's MUST comes first).
    std::string words;
    for (int i = 0; i < 250; ++i) words += i ? " word" : "word";
    const auto more = run("Content-Description: a 5\" floppy " + words + "\nContent-Type: application/pdf; name=\"" + words +
                              "\"\n\nx\n",
                          [](RewriteOptions& o) { o.fold = true; });
    const std::string head = more.output.substr(0, more.output.find("\n\n"));
    for (const std::string& l : lines_of(head)) EXPECT_LE(l.size(), 998u) << l.substr(0, 60);
    const msg::Message mm = msg::parse_message(more.output);
    for (const std::string& l : lines_of(std::string(mm.header("Content-Description")->value))) EXPECT_LE(l.size(), 78u);
    EXPECT_EQ(msg::unfold(mm.header("Content-Type")->value), "application/pdf; name=\"" + words + "\"");
}

TEST(Fold, WordLongerThanTheLimitKeptWhole) {
    const std::string token(120, 'x');
    const std::string in = "References: <" + token + "@example.org>\n\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fold = true; });
    EXPECT_FALSE(r.changed);
    EXPECT_TRUE(r.problems.empty());
}

// An encoded word too long for a line stays after the colon: a fold there
// gains nothing and leaves the first line without a value (Python then
// shows a leading space). One that then fits its line is folded there.
TEST(Fold, NoFoldAfterTheColonThatGainsNothing) {
    const std::string word = "=?UTF-8?q?" + std::string(70, 'a') + "?=";
    const std::string in = "From: a@example.org\nSubject: " + word + "\n\nx\n";
    EXPECT_FALSE(run(in, [](RewriteOptions& o) { o.fold = true; }).changed);
    const std::string name = "X-" + std::string(60, 'n');
    const std::string fits = "=?UTF-8?q?" + std::string(40, 'b') + "?=";
    const auto r = run("From: a@example.org\n" + name + ": " + fits + "\n\nx\n", [](RewriteOptions& o) { o.fold = true; });
    ASSERT_TRUE(r.changed);
    EXPECT_NE(r.output.find(name + ":\n " + fits + "\n"), std::string::npos) << r.output;
}

TEST(Fold, UnstructuredLineOver998BecomesEncodedWords) {
    const std::string token(1200, 'y');
    const std::string in = "Subject: see " + token + "\n\nbody\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fold = true; });
    ASSERT_TRUE(r.changed);
    for (const std::string& l : lines_of(r.output)) EXPECT_LE(l.size(), 998u);
    const msg::Message m = msg::parse_message(r.output);
    EXPECT_EQ(msg::decode_header_text(msg::unfold(m.header("Subject")->value)), "see " + token);
}

TEST(Fold, StructuredLineOver998IsReported) {
    const std::string in = "Message-ID: <" + std::string(1100, 'z') + "@example.org>\n\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.fold = true; return o; }());
    EXPECT_FALSE(r.changed);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header Message-ID");
}

// --- 7bit -----------------------------------------------------------------------------

const std::string kMixed8 =
    "From: J\xc3\xb6rg <joerg@example.org>\n"
    "To: \"M\xc3\xbcller, Anna\" <anna@example.net>, plain@example.net\n"
    "Subject: Gr\xc3\xbc\xc3\x9f" "e\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from:to; bh=abc=; b=def=\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "preamble\n"
    "--b1\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9f" "e an alle, und danke f\xc3\xbcr die Arbeit an dem neuen Release.\n"
    "From the team.\n"
    "--b1\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "plain ascii part\n"
    "--b1\n"
    "Content-Type: application/octet-stream; name=\"r\xc3\xa9sum\xc3\xa9.bin\"\n"
    "Content-Transfer-Encoding: binary\n"
    "\n"
    "\x01\x02\xff\x00\r\x0a\x80\n"
    "--b1--\n"s;  // (a std::string literal: the part holds a NUL)

TEST(SevenBit, MessageBecomes7BitAndKeepsItsContent) {
    const auto r = run(kMixed8, [](RewriteOptions& o) { o.seven_bit = true; });
    ASSERT_TRUE(r.changed);
    EXPECT_TRUE(r.problems.empty());
    EXPECT_FALSE(has_8bit(r.output)) << r.output;
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(kMixed8));
    const msg::Message m = msg::parse_message(r.output);
    ASSERT_EQ(m.leaves().size(), 3u);
    EXPECT_EQ(m.entity(m.leaves()[0]).encoding, msg::TransferEncoding::quoted_printable);
    EXPECT_EQ(m.entity(m.leaves()[2]).encoding, msg::TransferEncoding::base64);
    EXPECT_EQ(m.root().encoding, msg::TransferEncoding::seven_bit);
    EXPECT_EQ(m.filename(m.entity(m.leaves()[2])), "résumé.bin");
    // Decoded header values are unchanged.
    const msg::Message a = msg::parse_message(kMixed8);
    for (const char* name : {"From", "Subject"})
        EXPECT_EQ(msg::decode_header_text(msg::unfold(m.header(name)->value)),
                  msg::decode_header_text(msg::unfold(a.header(name)->value)))
            << name;
    // A quoted display name becomes an encoded word: the same name, the same addresses.
    EXPECT_EQ(msg::decode_header_text(msg::unfold(m.header("To")->value)),
              "M\xc3\xbcller, Anna <anna@example.net>, plain@example.net");
    EXPECT_EQ(msg::parse_address_list(m.header("To")->value, msg::AddressKind::address_list).addresses,
              msg::parse_address_list(a.header("To")->value, msg::AddressKind::address_list).addresses);
    // What did not have to change did not: the signature field, the preamble,
    // the 7-bit part.
    EXPECT_NE(r.output.find("DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from:to; bh=abc=; b=def=\n"),
              std::string::npos);
    EXPECT_NE(r.output.find("\n\npreamble\n--b1\n"), std::string::npos);
    EXPECT_NE(r.output.find("--b1\nContent-Type: text/plain; charset=us-ascii\n\nplain ascii part\n--b1\n"),
              std::string::npos);
    // "From " at the start of a line is encoded, so mbox quoting cannot touch it.
    EXPECT_NE(r.output.find("=46rom the team."), std::string::npos);
    for (const msg::Defect& d : msg::validate(m))  // no Date or Message-ID, and the unfolded header: nothing else
        if (d.code != msg::DefectCode::LineLong && d.code != msg::DefectCode::FieldMissing &&
            d.code != msg::DefectCode::MessageIdMissing)
            ADD_FAILURE() << d.info().code << " " << d.detail;
}

// What a reader decodes stays what it was: an encoded word inside a token
// next to the 8-bit run ("=?..?=b") keeps the white space between them,
// and a field whose raw text is not UTF-8 is read as a whole (windows-1252)
// in every run, folded or not.
TEST(SevenBit, DecodedTextStaysTheSame) {
    for (const std::string subject : {"\xC3\xA9 =?utf-8?q?a?=b", "x=?utf-8?q?a?= \xC3\xA9", "caf\xE9 \xE2\x82\xAC",
                                      "caf\xE9\n \xE2\x82\xAC", "=?utf-8?q?a?= \xC3\xA9 =?utf-8?q?b?=c d"}) {
        const std::string in = "From: a@example.org\nSubject: " + subject + "\n\nx\n";
        for (auto set : {+[](RewriteOptions& o) { o.seven_bit = true; }, +[](RewriteOptions& o) { o.fix = true; }}) {
            const auto r = run(in, set);
            ASSERT_TRUE(r.changed) << subject;
            const msg::Message before = msg::parse_message(in), after = msg::parse_message(r.output);
            EXPECT_EQ(msg::decode_header_text(after.header("Subject")->value),
                      msg::decode_header_text(before.header("Subject")->value)) << r.output;
        }
    }
}

// RFC 6532 3.7: a message/global part may be encoded; base64 keeps every
// byte of the message inside, its UTF-8 address included, where encoded
// words cannot. Its parts are not touched one by one.
TEST(SevenBit, MessageGlobalIsEncodedWhole) {
    const std::string inner = "From: J\xC3\xB6rg <j\xC3\xB6rg@example.org>\nSubject: Gr\xC3\xBC\xC3\x9F" "e\n"
                              "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHall\xC3\xB6\n";
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
                           "Content-Transfer-Encoding: 8bit\n\n--b\nContent-Type: message/global\n"
                           "Content-Transfer-Encoding: 8bit\n\n" + inner + "--b--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    ASSERT_TRUE(r.changed);
    EXPECT_TRUE(r.problems.empty()) << r.problems[0].what;
    EXPECT_EQ(msg::first_non_ascii(r.output), std::string::npos) << r.output;
    const msg::Message m = msg::parse_message(r.output);
    const msg::Entity& part = m.entity(static_cast<std::size_t>(m.root().first_child));
    EXPECT_TRUE(part.content_type.is("message", "global"));
    EXPECT_EQ(part.encoding, msg::TransferEncoding::base64);
    std::string back;
    msg::decode_transfer(m.body(part), msg::TransferEncoding::base64, back);
    EXPECT_EQ(back, inner.substr(0, inner.size() - 1));   // the line break before the delimiter is the delimiter's
    EXPECT_NE(r.output.find("Content-Transfer-Encoding: 7bit"), std::string::npos) << r.output;   // the multipart
    EXPECT_FALSE(run(r.output, [](RewriteOptions& o) { o.seven_bit = true; }).changed);
}

// Keywords is a list of phrases (RFC 5322 3.6.5): each element's 8-bit
// words become encoded words of a phrase (RFC 2047 5(3)), the commas stay,
// and an encoded word stands apart from a comma by a space (a comma is a
// special, 5(3)), which msgcheck then finds nothing to say of.
TEST(SevenBit, KeywordsAreEncodedPhraseByPhrase) {
    const std::string in = "From: a@example.org\nKeywords: M\xC3\xBCller, plain, K\xC3\xB6ln Dom\n\nx\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    ASSERT_TRUE(r.changed);
    EXPECT_TRUE(r.problems.empty()) << r.problems[0].what;
    const msg::Message after = msg::parse_message(r.output);
    const std::string v(after.header("Keywords")->value);
    EXPECT_EQ(std::count(v.begin(), v.end(), ','), 2) << v;
    EXPECT_EQ(msg::decode_header_text(v), "M\xC3\xBCller , plain, K\xC3\xB6ln Dom") << v;
    EXPECT_EQ(msg::first_non_ascii(r.output), std::string::npos) << r.output;
    for (const msg::Defect& d : msg::validate(after))
        EXPECT_NE(d.code, msg::DefectCode::EncodedWordInWord) << r.output;
    // Nor does one touch a comma before it.
    const auto before = run("From: a@example.org\nKeywords: plain,M\xC3\xBCller\n\nx\n",
                            [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_NE(before.output.find("Keywords: plain, =?utf-8?"), std::string::npos) << before.output;
    EXPECT_FALSE(run(r.output, [](RewriteOptions& o) { o.seven_bit = true; }).changed);
    // A quoted element with 8-bit text: left, and said.
    const auto q = run("From: a@example.org\nKeywords: \"M\xC3\xBCller\", x\n\nx\n",
                       [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_FALSE(q.changed);
    ASSERT_EQ(q.problems.size(), 1u);
}

// "=?...?=" inside a quoted display name is no encoded word (RFC 2047 5):
// encoded for its 8-bit text, it is kept as the characters it is, so the
// name a reader shows does not change.
TEST(SevenBit, QuotedTextThatLooksEncodedStaysLiteral) {
    const std::string in = "From: a@example.org\nReply-To: \"=?utf-8?q?x?= J\xC3\xB6rg\" <a@example.org>\n\nx\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    ASSERT_TRUE(r.changed);
    const msg::Message after = msg::parse_message(r.output);
    EXPECT_EQ(msg::decode_header_text(after.header("Reply-To")->value), "=?utf-8?q?x?= J\xC3\xB6rg <a@example.org>")
        << r.output;
    EXPECT_FALSE(run(r.output, [](RewriteOptions& o) { o.seven_bit = true; }).changed);
}

// An encoded word too long for libmsg to decode (over 4,096 characters) on
// a line over 998 octets: left as it is and said, not encoded again as its
// literal text.
TEST(LineLimit, EncodedWordTooLongToDecodeIsLeftAlone) {
    std::string word = "=?utf-8?q?";
    for (int i = 0; i < 700; ++i) word += "=C3=A9";
    word += "?=";
    const std::string in = "From: a@example.org\nSubject: " + word + "\n\nx\n";
    const auto r = run(in, [](RewriteOptions& o) { o.line_limit = true; });
    EXPECT_EQ(r.output, in);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header Subject");
}

// The same for a word in a charset libmsg does not know, beside ordinary
// text: the field is still folded where it has white space, and said why a
// line stays long.
TEST(LineLimit, UnknownCharsetWordStillLetsTheFieldFold) {
    std::string words;
    for (int i = 0; i < 30; ++i) words += " word" + std::to_string(i);
    const std::string in = "From: a@example.org\nSubject: =?x-unknown?q?abc?=" + words + " " + std::string(1000, 'w') +
                           "\n\nx\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fold = true; });
    EXPECT_NE(r.output, in);
    EXPECT_NE(r.output.find("=?x-unknown?q?abc?="), std::string::npos);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_NE(r.problems[0].what.find("charset it does not know"), std::string::npos) << r.problems[0].what;
    const msg::Message before = msg::parse_message(in), after = msg::parse_message(r.output);
    EXPECT_EQ(msg::unfold(after.field(after.entity(0), "Subject")->value),
              msg::unfold(before.field(before.entity(0), "Subject")->value));
}

TEST(SevenBit, AddressWith8BitIsAProblemAndTheFieldStays) {
    const std::string in = "From: j\xc3\xb6rg@example.org\nTo: b@example.net\n\nhi\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.seven_bit = true; return o; }());
    EXPECT_FALSE(r.changed);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header From");
    EXPECT_NE(r.problems[0].what.find("SMTPUTF8"), std::string::npos);
}

// Fields of later RFCs whose values are addresses, tokens or URLs are not
// unstructured text: an encoded word over the whole value would change
// what they say (an address turned into a word). Each is a problem and
// stays as it was, with --7bit and --fix. (Keywords, a list of phrases, is
// encoded phrase by phrase: KeywordsAreEncodedPhraseByPhrase.)
TEST(SevenBit, StructuredFieldsOfOtherRfcsAreNotEncodedWhole) {
    for (const char* field : {"Auto-Submitted: auto-replied (caf\xc3\xa9)",
                              "Original-Recipient: rfc822;caf\xc3\xa9@example.net",
                              "Delivered-To: caf\xc3\xa9@example.net", "Archived-At: <http://example.net/caf\xc3\xa9>",
                              "MT-Priority: 4 (caf\xc3\xa9)"}) {
        const std::string line = field;
        const std::string in = "From: a@example.org\nTo: b@example.net\n" + line + "\n\nhi\n";
        for (const bool fix : {false, true}) {
            const auto r = run(in, [&](RewriteOptions& o) { (fix ? o.fix : o.seven_bit) = true; });
            EXPECT_NE(r.output.find(line + "\n"), std::string::npos) << r.output;
            EXPECT_EQ(r.output.find("=?"), std::string::npos) << r.output;
            ASSERT_FALSE(r.problems.empty()) << line;
            EXPECT_EQ(r.problems[0].where, "header " + line.substr(0, line.find(':'))) << line;
        }
    }
    // List-Id's description is a phrase (RFC 2919 3): encoded, its id kept.
    const std::string in = "From: a@example.org\nList-Id: Liste caf\xc3\xa9 <cafe.lists.example.org>\n\nhi\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_TRUE(r.problems.empty());
    EXPECT_FALSE(has_8bit(r.output)) << r.output;
    EXPECT_NE(r.output.find("List-Id: =?utf-8?q?Liste_caf=C3=A9?= <cafe.lists.example.org>\n"), std::string::npos)
        << r.output;
}

// Where a problem is: an offset in the input given to rewrite(), also when
// the step that met it read a version an earlier step had changed.
TEST(Problems, ArePlacedInTheInput) {
    auto run_with = [](const std::string& in, auto set) {
        RewriteOptions o;
        set(o);
        return msg::rewrite(in, o);
    };
    // Read as it came: the first 8-bit byte of the address.
    const std::string addr = "From: j\xc3\xb6rg@example.org\nTo: b@example.net\n\nhi\n";
    auto r = run_with(addr, [](RewriteOptions& o) { o.seven_bit = true; });
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].offset, addr.find('\xc3'));

    // Part 2 of a multipart: --fix first adds MIME-Version and a charset to
    // part 1 (every later byte moves); --to-utf8 then finds the body of part
    // 2 undecodable, and says so at its byte in the input.
    const std::string multi = "From: a@example.org\nDate: Mon, 6 May 2024 11:24:09 +0200\n"
                              "Content-Type: multipart/mixed; boundary=b\n\n"
                              "--b\nContent-Type: text/plain\n\ncaf\xc3\xa9\n"
                              "--b\nContent-Type: text/plain; charset=us-ascii\n\nok\nna\xefve\n--b--\n";
    r = run_with(multi, [](RewriteOptions& o) { o.fix = true; o.to_utf8 = true; });
    EXPECT_TRUE(r.changed);
    const auto undecodable = std::find_if(r.problems.begin(), r.problems.end(), [](const msg::Change& c) {
        return c.step == msg::RewriteStep::to_utf8;
    });
    ASSERT_NE(undecodable, r.problems.end());
    EXPECT_EQ(undecodable->where, "part 2");
    EXPECT_EQ(undecodable->offset, multi.find("na\xefve") + 2);

    // A field an earlier step rewrote (--set) is met again at its start in
    // the input: the bytes before the problem are no longer those there.
    const std::string in = "Subject: x\nFrom: j\xc3\xb6rg@example.org\nTo: b@example.net\n\nhi\n";
    r = run_with(in, [](RewriteOptions& o) {
        o.seven_bit = true;
        msg::HeaderEdit e;
        ASSERT_TRUE(msg::parse_header_edit("From: Zo\xc3\xab <z\xc3\xab@example.org>", msg::HeaderEdit::Kind::set, e));
        o.edits.push_back(e);
    });
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header From");
    EXPECT_EQ(r.problems[0].offset, in.find("From:"));

    // Text that does not decode in its charset: at the first byte that
    // does not.
    const std::string sjis = "From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain; charset=shift_jis\n"
                             "Content-Transfer-Encoding: 8bit\n\nline \x82\xa0 ok\nline \xff\xff bad\n";
    r = run_with(sjis, [](RewriteOptions& o) { o.to_utf8 = true; });
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].offset, sjis.find('\xff'));

    // A spool entry: in the entry, after its envelope.
    const std::string entry = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\n" + addr;
    r = msg::rewrite_spool_entry(entry, [] { RewriteOptions o; o.seven_bit = true; return o; }());
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].offset, entry.find('\xc3'));
}

// A Content-Type is written again from its parsed parameters, which keep
// the first of a repeated one: --7bit alone does not drop the others (an
// 8-bit filename, say) but says so; with --fix, which keeps the first as
// its repair, the field is encoded.
TEST(SevenBit, RepeatedParameterIsAProblemUnlessFixed) {
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\n"
                           "Content-Type: text/plain; charset=utf-8; name=\"a.txt\"; name=\"\xc3\xa9.txt\"\n\nhi\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.seven_bit = true; return o; }());
    EXPECT_FALSE(r.changed);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header Content-Type");
    EXPECT_NE(r.problems[0].what.find("parameter name is repeated"), std::string::npos) << r.problems[0].what;
    const auto fixed = run(in, [](RewriteOptions& o) { o.seven_bit = true; o.fix = true; });
    EXPECT_FALSE(has_8bit(fixed.output)) << fixed.output;
    EXPECT_NE(fixed.output.find("Content-Type: text/plain; charset=utf-8; name=a.txt\n"), std::string::npos)
        << fixed.output;
}

// A boundary's bytes are its delimiter lines' too: --7bit leaves an 8-bit
// one and says why; --fix gives the multipart a new boundary, its parts kept.
TEST(SevenBit, EightBitBoundaryIsReplacedNotEncoded) {
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\n"
                           "Content-Type: multipart/mixed; boundary=\"\xe9t\xe9\"; x=\"caf\xc3\xa9\"\n\n"
                           "--\xe9t\xe9\n\none\n--\xe9t\xe9\n\ntwo\n--\xe9t\xe9--\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.seven_bit = true; return o; }());
    EXPECT_FALSE(r.changed);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header Content-Type");
    EXPECT_NE(r.problems[0].what.find("boundary"), std::string::npos) << r.problems[0].what;
    for (const bool seven : {false, true}) {
        const auto fixed = run(in, [&](RewriteOptions& o) { o.seven_bit = seven; o.fix = true; });
        EXPECT_FALSE(has_8bit(fixed.output)) << fixed.output;
        EXPECT_EQ(decoded_leaves(fixed.output), (std::vector<std::string>{"one", "two"})) << fixed.output;
        EXPECT_NE(fixed.output.find("x*=utf-8''caf%C3%A9"), std::string::npos) << fixed.output;
    }
    // Every other writer of the field (here the fold of a line over 998
    // octets) writes the boundary as its bytes too.
    const std::string long_line = "From: a@example.org\nMIME-Version: 1.0\n"
                                  "Content-Type: multipart/mixed; boundary=\"\xe9t\xe9\"; name=\"" +
                                  std::string(1100, 'n') + "\"\n\n--\xe9t\xe9\n\none\n--\xe9t\xe9\n\ntwo\n--\xe9t\xe9--\n";
    const auto folded = run(long_line, [](RewriteOptions& o) { o.fold = true; });
    EXPECT_TRUE(folded.changed);
    EXPECT_NE(folded.output.find("boundary=\"\xe9t\xe9\";"), std::string::npos) << folded.output;
    EXPECT_EQ(decoded_leaves(folded.output), (std::vector<std::string>{"one", "two"})) << folded.output;
}

// The signed part of a multipart/signed is the bytes its signature covers
// (RFC 1847 2.1): neither --7bit nor --to-utf8 changes it; each says so.
TEST(SevenBit, SignedPartIsLeftAndReported) {
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\n"
                           "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"s\"\n\n"
                           "--s\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\ncaf\xe9\n"
                           "--s\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\nx\n"
                           "-----END PGP SIGNATURE-----\n--s--\n";
    for (const bool seven : {true, false}) {
        const auto r = msg::rewrite(in, [&] {
            RewriteOptions o;
            (seven ? o.seven_bit : o.to_utf8) = true;
            return o;
        }());
        EXPECT_FALSE(r.changed) << seven;
        ASSERT_EQ(r.problems.size(), 1u) << seven;
        EXPECT_EQ(r.problems[0].where, "part 1");
        EXPECT_NE(r.problems[0].what.find("would break the signature"), std::string::npos);
    }
    // The same part outside a signature is encoded.
    std::string plain = in;
    plain.replace(plain.find("multipart/signed"), 16, "multipart/mixed");
    EXPECT_TRUE(run(plain, [](RewriteOptions& o) { o.seven_bit = true; }).changed);
}

// --fix repairs nothing inside a signed part either (an 8-bit field, a
// missing charset or transfer encoding, bare CRs): its bytes stay, and it
// is reported; the rest of the message is repaired.
TEST(Fix, SignedPartIsLeftAndReported) {
    const std::string part = "Content-Type: text/plain\nX-Note: caf\xc3\xa9\n\ncaf\xc3\xa9\rline\n";
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\nSubject: t\xc3\xa9st\n"
                           "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"s\"\n\n"
                           "--s\n" + part + "--s\nContent-Type: application/pgp-signature\n\nsig\n--s--\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.fix = true; return o; }());
    EXPECT_TRUE(r.changed);
    EXPECT_NE(r.output.find("\n--s\n" + part + "--s\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Subject: =?utf-8?"), std::string::npos) << r.output;
    ASSERT_FALSE(r.problems.empty());
    for (const auto& p : r.problems) EXPECT_NE(p.what.find("would break the signature"), std::string::npos) << p.what;
}

// Quoted-printable or base64 with encoded lines over 998 octets is not safe
// to relay either: encoded again, in lines of 76, to the same content.
TEST(SevenBit, EncodedLinesOver998AreEncodedAgain) {
    for (const char* cte : {"quoted-printable", "base64"}) {
        const std::string in = std::string("From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\n"
                                           "Content-Transfer-Encoding: ") + cte + "\n\n" + std::string(1200, 'Q') + "\n";
        const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
        ASSERT_TRUE(r.changed) << cte;
        EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in)) << cte;
        const std::string body = r.output.substr(r.output.find("\n\n") + 2);
        std::size_t longest = 0, at = 0;
        for (std::size_t nl; (nl = body.find('\n', at)) != std::string::npos; at = nl + 1)
            longest = std::max(longest, nl - at);
        EXPECT_LE(longest, 76u) << cte;
    }
}

TEST(SevenBit, CommentAndGroupNamesAreEncoded) {
    const std::string in = "To: b@example.net (B\xc3\xb6" "b), Fr\xc3\xbc" "nde: c@example.net;\n\nhi\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_FALSE(has_8bit(r.output)) << r.output;
    const msg::AddressList c =
        msg::parse_address_list(msg::parse_message(r.output).header("To")->value, msg::AddressKind::address_list);
    EXPECT_TRUE(c.defects.empty());
    EXPECT_EQ(c.mailboxes, 2u);
}

TEST(SevenBit, LongLinesIn7BitTextAreEncodedToo) {
    const std::string in = "Subject: x\n\n" + std::string(1500, 'a') + "\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    for (const std::string& l : lines_of(r.output)) EXPECT_LE(l.size(), 998u);
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    EXPECT_NE(r.output.find("MIME-Version: 1.0\n"), std::string::npos);
}

TEST(SevenBit, EmbeddedMessageHeaderEncodedAndContainerRelabelled) {
    const std::string in =
        "MIME-Version: 1.0\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n"
        "Subject: \xc3\xa9t\xc3\xa9\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "\xc3\xa9t\xc3\xa9\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_FALSE(has_8bit(r.output)) << r.output;
    // Text made base64 is in its canonical form: CRLF line breaks (RFC 2045 6.8).
    EXPECT_EQ(decoded_leaves(r.output), std::vector<std::string>{"\xc3\xa9t\xc3\xa9\r\n"});
    EXPECT_NE(r.output.find("Content-Type: message/rfc822\nContent-Transfer-Encoding: 7bit\n"), std::string::npos);
}

TEST(SevenBit, CrlfMessageStaysCrlf) {
    const std::string in = "Subject: a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nl\xc3\xa4nger\r\nzweite\r\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_EQ(msg::to_crlf(r.output), r.output);
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
}

// --- quoted-printable bodies -----------------------------------------------------------------

TEST(SevenBit, QuotedPrintableKeepsOddLineBreaksExactly) {
    const std::string text = std::string("a\xc3\xa4  \nb\r\nc\rd ") + std::string(200, 'x') + "\n.\nFrom x\n\xc3\xa4";
    const std::string in = "Content-Type: text/plain; charset=utf-8\n\n" + text;
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    for (const std::string& l : lines_of(r.output)) EXPECT_LE(l.size(), 76u) << l;
}

// --- header edits ------------------------------------------------------------------------------

TEST(Headers, RemoveSetAddStripBcc) {
    const std::string in =
        "From: a@example.org\nX-Spam-Score: 5\nBcc: hidden@example.org\nSubject: old\nx-spam-flag: YES\n"
        "Subject: older\nResent-Bcc: r@example.org\n\nbody\n";
    const auto r = run(in, [](RewriteOptions& o) {
        o.edits.push_back({msg::HeaderEdit::Kind::remove, "X-Spam-*", {}});
        o.edits.push_back({msg::HeaderEdit::Kind::set, "Subject", "new"});
        o.edits.push_back({msg::HeaderEdit::Kind::add, "X-Test", "1"});
        o.strip_bcc = true;
    });
    EXPECT_EQ(r.output, "From: a@example.org\nSubject: new\nX-Test: 1\n\nbody\n");
}

TEST(Headers, DateAndMessageIdOnlyWhenMissing) {
    RewriteOptions o;
    o.add_date = msg::format_date_time(1700000000);
    o.add_message_id = msg::make_message_id("seed", 1700000000, "example.org");
    EXPECT_EQ(o.add_date, "Tue, 14 Nov 2023 22:13:20 +0000");
    const auto r = msg::rewrite("From: a@example.org\n\nx\n", o);
    EXPECT_EQ(r.output, "From: a@example.org\nDate: " + o.add_date + "\nMessage-ID: " + o.add_message_id + "\n\nx\n");
    EXPECT_TRUE(msg::check_msg_id_field("Message-ID", o.add_message_id, 0, false).empty());
    EXPECT_FALSE(msg::rewrite(r.output, o).changed);
}

TEST(Headers, HeaderOnlyMessageWithoutFinalBreak) {
    RewriteOptions o;
    o.edits.push_back({msg::HeaderEdit::Kind::add, "X-A", "1"});
    EXPECT_EQ(msg::rewrite("Subject: s", o).output, "Subject: s\nX-A: 1\n");
}

TEST(Headers, EditTextIsChecked) {
    msg::HeaderEdit e;
    EXPECT_TRUE(msg::parse_header_edit("Subject: a\n b", msg::HeaderEdit::Kind::set, e));
    EXPECT_EQ(e.name, "Subject");
    EXPECT_EQ(e.value, "a\n b");
    EXPECT_FALSE(msg::parse_header_edit("Subject: a\nBcc: x@example.org", msg::HeaderEdit::Kind::set, e));
    // A fold that leaves a line of white space only (obsolete, RFC 5322 4.2).
    EXPECT_FALSE(msg::parse_header_edit("Subject: a\n \n b", msg::HeaderEdit::Kind::set, e));
    EXPECT_FALSE(msg::parse_header_edit("Subject: a\n ", msg::HeaderEdit::Kind::set, e));
    EXPECT_FALSE(msg::parse_header_edit("Subject: a\r\n\t\r\n b", msg::HeaderEdit::Kind::add, e));
    EXPECT_TRUE(msg::parse_header_edit("Subject: a\r\n\t b", msg::HeaderEdit::Kind::add, e));
    EXPECT_FALSE(msg::parse_header_edit("no colon", msg::HeaderEdit::Kind::add, e));
    EXPECT_FALSE(msg::parse_header_edit("Bad Name: x", msg::HeaderEdit::Kind::add, e));
}

// --- limits ------------------------------------------------------------------------------------

TEST(Limits, MessageOverTheLimitIsLeftAsItIs) {
    const std::string in = "Subject: caf\xc3\xa9\n\nbody\r\n";
    RewriteOptions o;
    o.seven_bit = true;
    o.line_ending = msg::LineEnding::lf;
    o.limits.max_rewrite_message = in.size() - 1;
    const msg::RewriteResult r = msg::rewrite(in, o);
    EXPECT_TRUE(r.too_large);
    EXPECT_TRUE(r.refused());
    EXPECT_FALSE(r.changed);
    EXPECT_TRUE(r.output.empty());
    EXPECT_TRUE(r.changes.empty());
    EXPECT_NE(msg::rewrite_json("m.eml", 0, r, in, false).find("\"too_large\": true"), std::string::npos);
    // A spool entry's message is what the limit measures.
    const std::string entry = "MAIL FROM:<a@example.org> BODY=8BITMIME\nRCPT TO:<b@example.org>\n\n" + in;
    const msg::RewriteResult e = msg::rewrite_spool_entry(entry, o);
    EXPECT_TRUE(e.too_large);
    EXPECT_FALSE(e.changed);
    // At the limit, it is rewritten.
    o.limits.max_rewrite_message = in.size();
    const msg::RewriteResult at = msg::rewrite(in, o);
    EXPECT_FALSE(at.refused());
    EXPECT_TRUE(at.changed);
    EXPECT_EQ(msg::first_non_ascii(at.output), std::string::npos);
}

// --- line endings ------------------------------------------------------------------------------

TEST(LineEnding, BinaryBodiesKeepTheirBytes) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\ny\n--b\n"
        "Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n\x01\n\x02\r\x03\n--b--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.line_ending = msg::LineEnding::crlf; });
    EXPECT_NE(r.output.find("\r\n\r\n\x01\n\x02\r\x03\r\n--b--\r\n"), std::string::npos);
    EXPECT_NE(r.output.find("x\r\ny\r\n--b\r\n"), std::string::npos);
    const auto back = run(r.output, [](RewriteOptions& o) { o.line_ending = msg::LineEnding::lf; });
    EXPECT_EQ(back.output, in);
    // A binary body that ends in CR keeps the line break after it: converted,
    // that CR would join it and leave the body.
    const std::string cr = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                           "Content-Transfer-Encoding: binary\r\n\r\nx\r\r\n--b--\r\n";
    const auto lf = run(cr, [](RewriteOptions& o) { o.line_ending = msg::LineEnding::lf; });
    EXPECT_EQ(lf.output, "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: binary\n\n"
                         "x\r\r\n--b--\n");
    EXPECT_EQ(decoded_leaves(lf.output), decoded_leaves(cr));
}

// A file converted twice ends its lines in CR CR LF: one line break. Read
// before the conversion, its header has no empty line and its delimiters
// are no delimiters; the line breaks are made first, so --7bit works on
// the parts and body the output has, and a second run changes nothing.
TEST(LineEnding, MadeBeforeTheOtherStepsReadTheMessage) {
    const std::string in = "Subject: x\r\r\nContent-Type: multipart/mixed; boundary=b\r\r\n\r\r\n--b\r\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\r\n\r\r\ncaf\xc3\xa9\r\r\n--b--\r\r\n";
    const auto both = [](RewriteOptions& o) {
        o.seven_bit = true;
        o.line_ending = msg::LineEnding::crlf;
    };
    const auto r = run(in, both);
    EXPECT_TRUE(r.problems.empty());
    EXPECT_EQ(r.output, "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\nMIME-Version: 1.0\r\n\r\n--b\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                        "caf=C3=A9\r\n--b--\r\n");
    EXPECT_FALSE(run(r.output, both).changed);
    // The header's end in CR CR LF after a line in LF (what the fuzzer found).
    const std::string mixed = "To: a@example.org\nContent-Transfer-Encoding: quoted-printable\n\r\r\nGr\xc3\xbc\xc3\x9f""e\r\n";
    const auto m = run(mixed, both);
    EXPECT_TRUE(m.problems.empty());
    EXPECT_EQ(m.output, "To: a@example.org\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n"
                        "Gr=C3=BC=C3=9Fe\r\n");
    EXPECT_FALSE(run(m.output, both).changed);
}

// A bare CR in a header where other readers end the line (before a field
// name, a fold, another break) becomes a line break; inside a field's text
// a space. "Subject: hi<CR>Bcc: x" must not become a Subject showing the
// Bcc address. A message in CR-only lines comes out as header and body.
TEST(Fix, BareCrInAHeaderEndsALineWhereOthersEndOne) {
    const auto r = run("From: a@example.org\nSubject: hi\rBcc: secret@example.com\nX: a\rb\n\nbody\n",
                       [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(r.output, "From: a@example.org\nSubject: hi\nBcc: secret@example.com\nX: a b\n\nbody\n");
    const auto mac = run("From: a@example.org\rTo: b@example.org\rSubject: hi\r\rline one\rline two\r",
                         [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(mac.output, "From: a@example.org\nTo: b@example.org\nSubject: hi\n\nline one\nline two\n");
    // CR CR LF (converted twice) ends a line once: no field becomes body,
    // a fold stays a fold.
    const auto twice = run("From: a@example.org\r\r\nTo: b@example.org\r\r\nSubject: hi\r\r\n  folded\r\r\n\r\r\nbody\r\r\n",
                           [](RewriteOptions& o) { o.fix = true; });
    // The body's lines end once too.
    EXPECT_EQ(twice.output, "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n  folded\r\n\r\nbody\r\n");
    EXPECT_EQ(msg::parse_message(twice.output).headers().size(), 3u);
    // A field name with white space before its colon is a field name too.
    const auto spaced = run("From: a@example.org\nSubject: hi\rBcc : secret@example.com\n\nbody\n",
                            [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(spaced.output, "From: a@example.org\nSubject: hi\nBcc: secret@example.com\n\nbody\n");
}

// A delivery report's fields are a header's: a bare CR in one is not a
// line break that cuts the field (the report would lose its Diagnostic-Code).
TEST(Fix, BareCrInADeliveryReportsFieldsIsAHeadersBareCr) {
    const std::string in =
        "From: MAILER-DAEMON@example.org\r\nTo: a@example.org\r\nMessage-ID: <r@example.org>\r\n"
        "Date: Mon, 23 Nov 2026 09:15:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; b@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The account\rdoes\r\r\n not exist\r\n--b--\r\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(r.output.find("Diagnostic-Code: smtp; 550-5.1.1 The account does\r\n not exist\r\n--b--"), std::string::npos)
        << r.output;
    for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code;
}

// So are an abuse report's (RFC 5965): the same list (ContentType::is_field_block)
// says which bodies are blocks of fields, for msgrewrite as for msgcheck.
TEST(Fix, BareCrInAFeedbackReportsFieldsIsAHeadersBareCr) {
    const std::string in =
        "From: abuse@example.org\r\nTo: a@example.org\r\nMessage-ID: <f@example.org>\r\n"
        "Date: Mon, 23 Nov 2026 09:15:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n"
        "--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
        "User-Agent: SomeGenerator/1.0\rbeta\r\nVersion: 1\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: x@example.com\r\n--b--\r\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(r.output.find("User-Agent: SomeGenerator/1.0 beta\r\nVersion: 1\r\n"), std::string::npos) << r.output;
}

// --- to-utf8 -----------------------------------------------------------------------------------

TEST(ToUtf8, Latin1QuotedPrintableAndUnknownCharset) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n"
        "--b\nContent-Type: text/plain; charset=x-nonesuch\n\nabc\n--b--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.to_utf8 = true; });
    const msg::Message m = msg::parse_message(r.output);
    const msg::Entity& first = m.entity(m.leaves()[0]);
    EXPECT_EQ(m.charset(first), "utf-8");
    EXPECT_EQ(decoded_leaves(r.output)[0], "caf\xc3\xa9");
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "part 2");
}

TEST(ToUtf8, SevenBitCharsetBecomes8Bit) {
    const std::string in = "Content-Type: text/plain; charset=iso-2022-jp\n\n\x1b$B$3$s$K$A$O\x1b(B\n";
    const auto r = run(in, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(decoded_leaves(r.output)[0], "こんにちは\n");
    EXPECT_NE(r.output.find("Content-Transfer-Encoding: 8bit\n"), std::string::npos);
}

// Text written again as UTF-8 that no longer fits an 8bit body (a Latin-1
// line grown past 998 octets, a NUL or a lone LF that UTF-7 escaped)
// becomes quoted-printable, not a body msgcheck would call broken.
TEST(ToUtf8, TextThatNoLongerFits8BitBecomesQuotedPrintable) {
    const std::string latin = "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n" +
                              std::string(600, '\xE9') + "\n";
    const auto grown = run(latin, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_NE(grown.output.find("Content-Transfer-Encoding: quoted-printable\n"), std::string::npos);
    EXPECT_EQ(decoded_leaves(grown.output)[0], [] {
        std::string s;
        for (int i = 0; i < 600; ++i) s += "\xC3\xA9";
        return s + "\n";
    }());
    const std::string utf7 = "Content-Type: text/plain; charset=utf-7\n\na+AAA-b+AAo-c\n";
    const auto controls = run(utf7, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(decoded_leaves(controls.output)[0], std::string("a\0b\nc\n", 6));
    EXPECT_EQ(controls.output.find('\0'), std::string::npos);
    EXPECT_NE(controls.output.find("\n\na=00b\nc\n"), std::string::npos) << controls.output;
}

TEST(ToUtf8, TwoContentTypeFieldsLeftAndReported) {
    const std::string in = "Content-Type: text/plain; charset=iso-8859-1\nContent-Type: text/plain; charset=iso-8859-1\n"
                           "Content-Transfer-Encoding: 8bit\n\ncaf\xE9\n";
    const auto r = run(in, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(r.output, in);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_NE(r.problems[0].what.find("two Content-Type fields"), std::string::npos);
}

// The charset's value is replaced where it is written, the rest of the
// field as it was: a repeated parameter is not lost, nor a quoted or odd
// spelling; where it cannot be (RFC 2231 sections), a repeated parameter
// leaves the part as it is, reported.
TEST(ToUtf8, ReplacesTheCharsetAloneInItsField) {
    const auto r = run("Content-Type: text/plain; charset=iso-8859-1; name=\"a.txt\"; name=\"b.txt\"\n"
                       "Content-Transfer-Encoding: 8bit\n\ncaf\xE9\n",
                       [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(r.output, "Content-Type: text/plain; charset=utf-8; name=\"a.txt\"; name=\"b.txt\"\n"
                        "Content-Transfer-Encoding: 8bit\n\ncaf\xC3\xA9\n");
    EXPECT_TRUE(r.problems.empty());
    const auto q = run("Content-Type: text/plain;\n CHARSET = \"ISO-8859-1\" (latin)\n\ncaf=E9\n",
                       [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_NE(q.output.find("Content-Type: text/plain;\n CHARSET = \"utf-8\" (latin)\n"), std::string::npos) << q.output;
    const std::string sections = "Content-Type: text/plain; charset*0=iso-8859-1; name=a; name=b\n"
                                 "Content-Transfer-Encoding: 8bit\n\ncaf\xE9\n";
    const auto s = run(sections, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(s.output, sections);
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_NE(s.problems[0].what.find("is repeated"), std::string::npos) << s.problems[0].what;
}

TEST(ToUtf8, EightBitBytesUnderUsAsciiLeftAndReported) {
    // UTF-8 (or Latin-1) bytes under a US-ASCII label decode in no charset
    // the label names: the part stays as it is, as msgcheck's
    // charset.bad-bytes says, and is not relabelled with a guess.
    const std::string in = "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 8bit\n\n"
                           "caf\xc3\xa9\n";
    const auto r = run(in, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(r.output, in);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_NE(r.problems[0].what.find("do not decode in us-ascii"), std::string::npos) << r.problems[0].what;
    // ASCII under the label: nothing to convert, nothing to say.
    const std::string plain = "Content-Type: text/plain; charset=us-ascii\n\ncafe\n";
    const auto p = run(plain, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(p.output, plain);
    EXPECT_TRUE(p.problems.empty());
}

// --- fix ---------------------------------------------------------------------------------------

bool has_code(const msg::Defects& ds, msg::DefectCode c) {
    for (const msg::Defect& d : ds)
        if (d.code == c) return true;
    return false;
}

// Quoted-printable written again keeps every byte: a CR or LF that is data
// (=0A in an attachment, an LF in a CRLF message's text) stays encoded, and
// is not written as a line break, which the message's line ends (and the
// wire's) would then turn into another byte.
TEST(Fix, QuotedPrintableKeepsDataLineBreaks) {
    const std::string head = "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
                             "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    const std::string bin = head + "=01=0A=02 =ZZ\r\n";   // a bad escape for --fix to repair
    const auto fixed = run(bin, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(decoded_leaves(fixed.output), decoded_leaves(bin));
    EXPECT_EQ(fixed.output.find("\x01"), std::string::npos);
    // Fixing again changes nothing.
    EXPECT_EQ(run(fixed.output, [](RewriteOptions& o) { o.fix = true; }).output, fixed.output);
    // --7bit of a long binary line: soft breaks only.
    const std::string longer = head + "=01=0A=02" + std::string(300, 'x') + "\r\n";
    const auto seven = run(longer, [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_EQ(decoded_leaves(seven.output), decoded_leaves(longer));
    std::size_t bare_lf = 0;
    for (std::size_t i = 0; i < seven.output.size(); ++i) bare_lf += seven.output[i] == '\n' && (i == 0 || seven.output[i - 1] != '\r');
    EXPECT_EQ(bare_lf, 0u) << seven.output;
    // Text in a CRLF message whose data holds an LF alone: =0A, not a bare LF.
    const std::string text = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                             "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9=0Anext\r\nline\r\n";
    const auto utf8 = run(text, [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_EQ(decoded_leaves(utf8.output)[0], "caf\xC3\xA9\nnext\r\nline\r\n");
    EXPECT_NE(utf8.output.find("=0Anext\r\nline\r\n"), std::string::npos) << utf8.output;
}

TEST(Fix, RepairsWhatTheCatalogueSays) {
    const std::string in =
        "From: a@example.org\r\nTo: b@example.net\r\nSubject : mixed\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <1@example.org>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nna\xc3\xafve\r\n"
        "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9Q\r\n";
    const msg::Defects before = msg::validate(msg::parse_message(in));
    for (msg::DefectCode c : {msg::DefectCode::LineBareLf, msg::DefectCode::HeaderSpaceBeforeColon,
                              msg::DefectCode::MimeVersionMissing, msg::DefectCode::BoundaryUnclosed,
                              msg::DefectCode::Body8BitIn7Bit, msg::DefectCode::CharsetMissing,
                              msg::DefectCode::Base64LineTooLong})
        EXPECT_TRUE(has_code(before, c)) << msg::defect_info(c).code;
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code;
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
}

TEST(Fix, EightBitHeaderAndParameterSyntax) {
    const std::string in =
        "From: a@example.org\nTo: b@example.net\nSubject: \xc3\xa9t\xc3\xa9\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
        "Message-ID: <1@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii; name=my file.txt\n\nx\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code;
    EXPECT_NE(r.output.find("name=\"my file.txt\""), std::string::npos) << r.output;
}

TEST(Fix, RawIso2022JpTextIsEncodedOtherControlsAreLeft) {
    // 見積 and a display name 山田 written raw in ISO-2022-JP, as old
    // Japanese mailers did: encoded as UTF-8 words, which decode to the text
    // the escapes stood for.
    const std::string subject = "\x1b$B8+@Q\x1b(B (2)";
    const std::string in =
        "From: \x1b$B;3ED\x1b(B <taro@example.jp>\nTo: b@example.net\nSubject: " + subject +
        "\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <1@example.org>\n\nx\n";
    EXPECT_EQ(msg::decode_header_text(subject), "\xe8\xa6\x8b\xe7\xa9\x8d (2)");
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code;
    EXPECT_TRUE(r.problems.empty()) << r.problems[0].what;
    EXPECT_EQ(r.output.find('\x1b'), std::string::npos) << r.output;
    const msg::Message m = msg::parse_message(r.output);
    ASSERT_NE(m.header("Subject"), nullptr);
    ASSERT_NE(m.header("From"), nullptr);
    EXPECT_EQ(msg::decode_header_text(m.header("Subject")->value), "\xe8\xa6\x8b\xe7\xa9\x8d (2)");
    EXPECT_EQ(msg::decode_field_text("From", m.header("From")->value), "\xe5\xb1\xb1\xe7\x94\xb0 <taro@example.jp>");

    // A terminal's colour escape is no ISO-2022-JP: left, and said so.
    const std::string colour =
        "From: a@example.org\nTo: b@example.net\nSubject: \x1b[31mred\x1b[0m\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <1@example.org>\n\nx\n";
    const auto q = run(colour, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_FALSE(q.changed);
    ASSERT_EQ(q.problems.size(), 1u);
    EXPECT_NE(q.problems[0].what.find("header.control left"), std::string::npos) << q.problems[0].what;
    ASSERT_EQ(q.remaining.size(), 1u);
    EXPECT_EQ(q.remaining[0].code, msg::DefectCode::HeaderControl);
}

TEST(Fix, MultipartWithNoBodyPartGetsItsOpeningDelimiter) {
    // The text before the lone close delimiter is the part libmsg shows; its
    // first line, shaped like a field, must stay text.
    const std::string head = "From: a@example.org\nTo: b@example.net\nSubject: s\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
                             "Message-ID: <1@example.org>\nMIME-Version: 1.0\n";
    const std::string in = head + "Content-Type: multipart/alternative; boundary=\"b\"\n\n"
                                  "Re: caf\xc3\xa9 minutes\n--b--\nepilogue\n";
    ASSERT_TRUE(has_code(msg::validate(msg::parse_message(in)), msg::DefectCode::NoBodyPart));
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code;
    EXPECT_NE(r.output.find("boundary=\"b\"\n\n--b\n"), std::string::npos) << r.output;
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    const msg::Message m = msg::parse_message(r.output);
    ASSERT_EQ(m.leaves().size(), 1u);
    const msg::Entity& part = m.entity(m.leaves()[0]);
    EXPECT_TRUE(part.content_type.is("text", "plain"));
    EXPECT_EQ(m.charset(part), "utf-8");  // added by the next round, now that the part has a header
    EXPECT_NE(r.output.find("\n--b--\nepilogue\n"), std::string::npos);
    EXPECT_TRUE(std::any_of(r.changes.begin(), r.changes.end(), [](const msg::Change& c) {
        return c.where == "message" && c.what.find("opening delimiter line added") != std::string::npos;
    }));

    // In a digest the part is labelled: without a header it would be a message.
    const std::string digest = head + "Content-Type: multipart/digest; boundary=d\n\nFrom: x@example.org\n--d--\n";
    const auto rd = run(digest, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(rd.output.find("\n\n--d\nContent-Type: text/plain\n\nFrom: x@example.org\n--d--"),
              std::string::npos) << rd.output;
    const msg::Message md = msg::parse_message(rd.output);
    ASSERT_EQ(md.leaves().size(), 1u);
    EXPECT_TRUE(md.entity(md.leaves()[0]).content_type.is("text", "plain"));
    EXPECT_EQ(decoded_leaves(rd.output), decoded_leaves(digest));

    // Nothing before the close delimiter: an empty part.
    const auto re = run(head + "Content-Type: multipart/mixed; boundary=b\n\n--b--\n", [](RewriteOptions& o) { o.fix = true; });
    for (const msg::Defect& d : re.remaining) ADD_FAILURE() << "left: " << d.info().code;
    EXPECT_EQ(decoded_leaves(re.output), std::vector<std::string>{""});

    // A boundary to replace as well: the delimiter line gets the new one.
    const std::string long_b(75, 'x');
    const auto rb = run(head + "Content-Type: multipart/mixed; boundary=" + long_b + "\n\ntext\n--" + long_b + "--\n",
                        [](RewriteOptions& o) { o.fix = true; });
    for (const msg::Defect& d : rb.remaining) ADD_FAILURE() << "left: " << d.info().code;
    EXPECT_EQ(rb.output.find(long_b), std::string::npos) << rb.output;
    EXPECT_EQ(decoded_leaves(rb.output), std::vector<std::string>{"text"});
}

TEST(Fix, PartWithoutItsDelimiterLineIsExplained) {
    const std::string in = "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\ncaf\xc3\xa9\n--b--\n";
    // 7bit alone cannot give the text a header: it says why.
    const auto r7 = msg::rewrite(in, [] { RewriteOptions o; o.seven_bit = true; return o; }());
    EXPECT_FALSE(r7.changed);
    ASSERT_EQ(r7.problems.size(), 1u);
    EXPECT_EQ(r7.problems[0].where, "part 1");
    EXPECT_NE(r7.problems[0].what.find("multipart with no body part"), std::string::npos) << r7.problems[0].what;
    // With --fix first, the part gets its delimiter line and is encoded.
    const auto r = run(in, [](RewriteOptions& o) { o.fix = o.seven_bit = true; });
    EXPECT_FALSE(has_8bit(r.output)) << r.output;
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    // A multipart whose header is cut short gets no delimiter line; what is
    // left is explained.
    const std::string cut = "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
                            "caf\xc3\xa9\n--b--\n";
    const auto rc = msg::rewrite(cut, [] { RewriteOptions o; o.fix = true; return o; }());
    EXPECT_FALSE(rc.changed);
    EXPECT_TRUE(has_code(rc.remaining, msg::DefectCode::NoBodyPart));
    std::vector<std::string> where;
    for (const msg::Change& c : rc.problems) {
        where.push_back(c.where);
        EXPECT_EQ(c.what.find("no rule"), std::string::npos) << c.what;
        if (c.where == "part 1") {
            EXPECT_NE(c.what.find("no delimiter line was added"), std::string::npos) << c.what;
        }
    }
    EXPECT_EQ(where, (std::vector<std::string>{"part 1", "message"}));
}

// An embedded message's header is named by the part that holds it ("part
// 2 message header Subject", IMAP's 2.HEADER), apart from that part's own
// fields ("part 2 header Content-Description"), whether the embedded
// message is multipart (its root shares the part's number) or not (its
// body is 3.1).
TEST(Places, AnEmbeddedMessagesHeaderIsNamedByItsPart) {
    const std::string in =
        "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n\n"
        "--o\nContent-Type: text/plain\n\nx\n"
        "--o\nContent-Type: message/rfc822\nContent-Description: Gr\xc3\xbc\xc3\x9f" "e\n\n"
        "Subject: Gr\xc3\xbc\xc3\x9f" "e\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=i\n\n"
        "--i\nContent-Type: text/plain\n\ny\n--i--\n"
        "--o\nContent-Type: message/rfc822\n\nSubject: caf\xc3\xa9\n\nz\n"
        "--o--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    std::vector<std::string> where;
    for (const msg::Change& c : r.changes) where.push_back(c.where);
    EXPECT_EQ(where, (std::vector<std::string>{"part 2 header Content-Description", "part 2 message header Subject",
                                               "part 3 message header Subject"}));
}

// A MIME-Version with no version that ends the input, without a line
// break: its defect is placed at its end, which is still the field's.
TEST(Fix, MimeVersionThatEndsTheInput) {
    const auto r = run("From: a@example.org\r\nDate: Mon, 23 Nov 2026 20:54:09 +0000\r\nMessage-ID: <1@example.org>\r\nMIME-Version:",
                       [](RewriteOptions& o) { o.fix = true; });
    EXPECT_TRUE(r.problems.empty());
    EXPECT_TRUE(r.remaining.empty());
    EXPECT_TRUE(r.output.ends_with("MIME-Version: 1.0")) << r.output;
}

// A multipart inside the signed part of a multipart/signed is not closed
// by --fix: the closing delimiter line would be signed text that was not
// signed. The outer multipart is closed (its delimiter line is not in the
// signed part), and what is left is said.
TEST(Fix, NoClosingBoundaryAddedInsideASignedPart) {
    const std::string in = "From: a@example.org\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
                           "Content-Type: multipart/signed; boundary=s; protocol=\"application/pgp-signature\"\n\n"
                           "--s\nContent-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nsigned\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.fix = true; return o; }());
    EXPECT_EQ(r.text(in).find("--m--"), std::string::npos) << r.text(in);
    EXPECT_TRUE(r.text(in).starts_with(in)) << r.text(in);
    EXPECT_TRUE(std::any_of(r.problems.begin(), r.problems.end(), [](const msg::Change& c) {
        return c.what.find("signed part") != std::string::npos;
    }));
}

// A boundary with characters outside bchars or white space at its end is
// replaced by a fresh one in the field and every delimiter line, the parts
// read as before; a MIME-Version that is no version is written 1.0. A
// boundary none of whose delimiter lines is found is left, and said why.
TEST(Fix, BoundaryCharactersAndMimeVersionSyntax) {
    const std::string head =
        "From: a@example.org\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <1@example.org>\nMIME-Version: 1.0 (x) y\n";
    for (const std::string b : {"b#1", "mixed b1 "}) {
        const std::string in = head + "Content-Type: multipart/mixed; boundary=\"" + b + "\"\n\n--" + b +
                               "\nContent-Type: text/plain\n\none\n--" + b + "\nContent-Type: text/plain\n\ntwo\n--" + b +
                               "--\n";
        const msg::Defects before = msg::validate(msg::parse_message(in));
        EXPECT_TRUE(has_code(before, msg::DefectCode::MimeVersionSyntax));
        EXPECT_TRUE(has_code(before, b.back() == ' ' ? msg::DefectCode::BoundaryTrailingSpace
                                                     : msg::DefectCode::BoundaryChars)) << b;
        const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
        for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code << " for " << b;
        EXPECT_EQ(r.output.find(b), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("MIME-Version: 1.0\n"), std::string::npos) << r.output;
        EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in)) << b;
    }
    const std::string lost = head + "Content-Type: multipart/mixed; boundary=\"b \"\n\n--b\n\nx\n--b--\n";
    const auto r = msg::rewrite(lost, [] { RewriteOptions o; o.fix = true; return o; }());
    EXPECT_TRUE(has_code(r.remaining, msg::DefectCode::BoundaryTrailingSpace));
    bool said = false;
    for (const msg::Change& c : r.problems) said = said || c.what.find("no delimiter line of it was found") != std::string::npos;
    EXPECT_TRUE(said);
}

TEST(Fix, CleanMessageIsLeftAlone) {
    const std::string in = "From: a@example.org\nTo: b@example.net\nSubject: fine\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
                           "Message-ID: <1@example.org>\n\nx\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.fix = true; return o; }());
    EXPECT_FALSE(r.changed);
    EXPECT_EQ(r.text(in), in);
    EXPECT_TRUE(r.output.empty());
    EXPECT_TRUE(r.remaining.empty());
}

// --- spool entries -----------------------------------------------------------------------------

TEST(SpoolEntry, SevenBitDropsBody8BitMimeAndKeepsTheRest) {
    const std::string env = "MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=100\nRCPT TO:<b@example.net> NOTIFY=NEVER\nMbox-From: x\n\n";
    const std::string in = env + "Subject: s\nContent-Type: text/plain; charset=utf-8\n\nh\xc3\xa9\n";
    const auto r = msg::rewrite_spool_entry(in, [] { RewriteOptions o; o.seven_bit = true; return o; }());
    ASSERT_TRUE(r.changed);
    EXPECT_EQ(r.output.substr(0, r.output.find("\n\n") + 2),
              "MAIL FROM:<a@example.org> SIZE=100\nRCPT TO:<b@example.net> NOTIFY=NEVER\nMbox-From: x\n\n");
    EXPECT_FALSE(has_8bit(r.output));
}

// What --fix leaves is placed in the entry, changed or not: its offsets
// count the envelope.
TEST(SpoolEntry, RemainingDefectsArePlacedInTheEntry) {
    const std::string envelope = "MAIL FROM:<a@b>\nRCPT TO:<c@d>\n\n";
    const std::string message = "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\ncaf\xc3\xa9\n--b--\n";
    RewriteOptions o;
    o.fix = true;
    const msg::RewriteResult alone = msg::rewrite(message, o);
    const msg::RewriteResult entry = msg::rewrite_spool_entry(envelope + message, o);
    ASSERT_FALSE(alone.remaining.empty());
    ASSERT_EQ(entry.remaining.size(), alone.remaining.size());
    EXPECT_FALSE(entry.changed);   // (the case that returned early)
    EXPECT_EQ(entry.changed, alone.changed);
    for (std::size_t k = 0; k < alone.remaining.size(); ++k)
        EXPECT_EQ(entry.remaining[k].offset, alone.remaining[k].offset + envelope.size()) << k;
}

TEST(SpoolEntry, EnvelopeWithout8BitMimeUntouched) {
    const std::string in = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nSubject: s\n\nplain\n";
    const auto r = msg::rewrite_spool_entry(in, [] { RewriteOptions o; o.seven_bit = true; o.fold = true; return o; }());
    EXPECT_FALSE(r.changed);
    EXPECT_EQ(r.text(in), in);
    EXPECT_TRUE(r.output.empty());
}

// --- cases from review ---------------------------------------------------------------------------

TEST(Review, SoftBreakNeverStartsABoundaryLine) {
    const std::string in = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\n"
                           "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n" +
                           std::string(75, 'x') + "--b1\n--b1\nContent-Type: text/plain\n\nsecond\n--b1--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    for (const std::string& l : lines_of(r.output.substr(r.output.find("quoted-printable"))))
        EXPECT_NE(l.rfind("--b1", 0) == 0 && l != "--b1" && l != "--b1--", true) << l;
}

TEST(Review, FoldsNeverSplitAQuotedPair) {
    const std::string in = "From: \"" + std::string(66, 'A') + "\\ BBBBBBBBBB\" <a@example.com>\n\nbody\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fold = true; });
    EXPECT_EQ(r.output.find("\\\n"), std::string::npos) << r.output;
}

TEST(Review, LongFieldNameWithEncodedWordsKeepsTo76) {
    const std::string in = "X-Long-Header-Name-That-Is-Quite-Long-Indeed-And-Longer-Still-Yes: h\xc3\xa9llo\n\nx\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    for (const std::string& l : lines_of(r.output)) EXPECT_LE(l.size(), 76u) << l;
    EXPECT_EQ(msg::decode_header_text(msg::unfold(msg::parse_message(r.output).headers()[0].value)), "h\xc3\xa9llo");
}

TEST(Review, UnknownFieldOver998IsNotEncoded) {
    const std::string in = "Autocrypt: addr=a@example.com; keydata=" + std::string(1200, 'Q') + "\n\nx\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.fold = true; return o; }());
    EXPECT_EQ(r.output.find("=?"), std::string::npos);  // folded at its space, the key data left whole
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header Autocrypt");
}

TEST(Review, FixWithTwoRepairsOfOneFieldKeepsTheHeader) {
    std::string comment;
    for (int i = 0; i < 600; ++i) comment += i ? " w" : "w";
    const std::string in = "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
                           "Content-Transfer-Encoding: 7bit (" + comment + ")\n\ncaf\xe9\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    const msg::Message m = msg::parse_message(r.output);
    EXPECT_EQ(m.root().encoding, msg::TransferEncoding::eight_bit);
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    for (const msg::Defect& d : r.remaining)
        if (!d.info().repair.empty()) ADD_FAILURE() << "left: " << d.info().code;
}

TEST(Review, HeaderCutShortIsLeftAlone) {
    const std::string in = "Subject: x\nbroken line\nContent-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9\n";
    RewriteOptions o;
    o.seven_bit = true;
    o.edits.push_back({msg::HeaderEdit::Kind::set, "Subject", "y"});
    const auto r = msg::rewrite(in, o);
    EXPECT_FALSE(r.changed);
    EXPECT_EQ(r.text(in), in);
    EXPECT_TRUE(r.output.empty());
    EXPECT_EQ(r.problems.size(), 2u);
}

TEST(Review, RemoveThenAddTheSameFieldIsIdempotent) {
    const auto r = run("Subject: x\n\nb\n", [](RewriteOptions& o) {
        o.edits.push_back({msg::HeaderEdit::Kind::remove, "X-*", {}});
        o.edits.push_back({msg::HeaderEdit::Kind::add, "X-A", "1"});
        o.add_date = "Mon, 23 Nov 2026 10:00:00 +0000";
    });
    EXPECT_EQ(r.output, "Subject: x\nX-A: 1\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\nb\n");
}

// --add with 8-bit text, or a word too long to fold, together with --7bit,
// --fix or --fold: the field the first run encoded is the same field the
// second run would add (run() checks that the second changes nothing).
// Raw 8-bit header text that is not UTF-8 (here raw Shift_JIS, whose lead
// bytes include 0x81, 0x8F and 0x90) encoded by --7bit loses no byte: the
// five windows-1252 leaves undefined are read as C1 controls, as msgshow
// reads them, not made U+FFFD.
TEST(Review, RawHeaderBytesUndefinedInWindows1252AreKept) {
    const std::string in = "From: a@example.org\nSubject: \x89\xEF\x8B\x63\x81\x8D\x8F\x90\x9D\n\nb\n";
    const auto r = run(in, [](RewriteOptions& o) { o.seven_bit = true; });
    const msg::Message before = msg::parse_message(in), after = msg::parse_message(r.output);
    const std::string subject = msg::decode_header_text(after.field(after.entity(0), "Subject")->value);
    EXPECT_EQ(subject, msg::decode_header_text(before.field(before.entity(0), "Subject")->value));
    EXPECT_EQ(subject.find("\xEF\xBF\xBD"), std::string::npos);
    EXPECT_NE(subject.find("\xC2\x81\xC2\x8D\xC2\x8F\xC2\x90\xC2\x9D"), std::string::npos);
}

TEST(Review, AddWithAnEncodingOperationIsIdempotent) {
    const std::string in = "From: a@example.org\nSubject: x\n\nb\n";
    const auto seven = run(in, [](RewriteOptions& o) {
        o.edits.push_back({msg::HeaderEdit::Kind::add, "X-Note", "caf\xC3\xA9"});
        o.seven_bit = true;
    });
    EXPECT_NE(seven.output.find("X-Note: =?utf-8?"), std::string::npos) << seven.output;
    // --fix runs before the edits (the man page): its second run encodes
    // what the first added, and adds no second field.
    RewriteOptions fix;
    fix.edits.push_back({msg::HeaderEdit::Kind::add, "X-Note", "caf\xC3\xA9"});
    fix.fix = true;
    const std::string twice = msg::rewrite(msg::rewrite(in, fix).output, fix).output;
    EXPECT_EQ(twice, "From: a@example.org\nSubject: x\nX-Note: =?utf-8?b?Y2Fmw6k=?=\n\nb\n");
    EXPECT_FALSE(msg::rewrite(twice, fix).changed);
    run(in, [](RewriteOptions& o) {
        o.edits.push_back({msg::HeaderEdit::Kind::add, "X-Note", "a " + std::string(120, 'w') + " b"});
        o.fold = true;
    });
}

TEST(Review, ToUtf8OfASpoolEntryAsksFor8BitMime) {
    const std::string in = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n\nFrom: a@example.org\n"
                           "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-2022-jp\n\n\x1b$B$3$s\x1b(B\n";
    const auto r = msg::rewrite_spool_entry(in, [] { RewriteOptions o; o.to_utf8 = true; return o; }());
    EXPECT_EQ(r.output.substr(0, r.output.find('\n')), "MAIL FROM:<a@example.org> BODY=8BITMIME");
}

TEST(Review, HeaderCutShortKeepsBccButSaysSo) {
    const std::string in = "From: a@b\nBcc: secret@e\nX Bad: y\nDate: x\n\nbody\n";
    const auto r = msg::rewrite(in, [] { RewriteOptions o; o.strip_bcc = true; return o; }());
    EXPECT_EQ(r.text(in), in);
    EXPECT_TRUE(r.output.empty());
    ASSERT_EQ(r.problems.size(), 1u);
}

TEST(Review, ReAddedFieldKeepsItsPlaceNextToASetOne) {
    const auto r = run("From: a@b\nSubject: old\nX-A: 1\nTo: c@d\nX-B: 2\n\nbody\n", [](RewriteOptions& o) {
        o.edits.push_back({msg::HeaderEdit::Kind::remove, "X-*", {}});
        o.edits.push_back({msg::HeaderEdit::Kind::set, "Subject", "new"});
        o.edits.push_back({msg::HeaderEdit::Kind::add, "X-B", "2"});
    });
    EXPECT_EQ(r.output, "From: a@b\nSubject: new\nTo: c@d\nX-B: 2\n\nbody\n");
}

TEST(Review, ToUtf8NeverMakesABoundaryLine) {
    const std::string in = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"xb\"\n\n--xb\n"
                           "Content-Type: text/plain; charset=utf-7\n\nhello +AOk-\n+AC0ALQ-xb\nsecret line\n"
                           "--xb\nContent-Type: text/plain\n\nsecond\n--xb--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.to_utf8 = true; });
    ASSERT_EQ(decoded_leaves(r.output).size(), 2u);
    EXPECT_EQ(decoded_leaves(r.output)[0], "hello \xc3\xa9\n--xb\nsecret line");
}

}  // namespace

TEST(SevenBit, FirstLineNotAFieldLeavesTheMessageAlone) {
    // A byte-order mark, a space or an 8-bit byte in the first field's name:
    // to other readers that may be the header; it is not made into body.
    for (const std::string& first : {std::string("\xEF\xBB\xBF" "From: a@example.org\n"),
                                    std::string("X Original Sender: l@example.org\nFrom: a@example.org\n")}) {
        const std::string in = first + "Subject: Gr\xC3\xBC\xC3\x9F" "e\nContent-Type: text/plain; charset=utf-8\n"
                                       "\nGr\xC3\xBC\xC3\x9F" "e\n";
        for (auto set : {+[](RewriteOptions& o) { o.seven_bit = true; }, +[](RewriteOptions& o) { o.fix = true; }}) {
            RewriteOptions o;
            set(o);
            const auto r = msg::rewrite(in, o);
            EXPECT_FALSE(r.changed) << r.output;
            EXPECT_EQ(r.text(in), in);
            EXPECT_TRUE(r.output.empty());
            EXPECT_FALSE(r.problems.empty());
        }
    }
}

// A line of white space only reads as a fold (RFC 5322 4.2), so a body
// part's header can land in the message's: its Content-Type is then a
// second one. --fix does not remove it (its writer meant the blank line to
// end the header), and says why.
TEST(Fix, ASecondFieldAfterALineOfWhiteSpaceIsLeft) {
    const std::string in =
        "From: a@example.org\nDate: Thu, 02 Dec 2004 10:55:50 -0500\nMessage-ID: <1@example.org>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/alternative;\n boundary=\"--9-27=:18061\"\n \n"
        "----9-27=:18061\nContent-Type: text/html; charset=utf-8\n\n<p>Hi</p>\n\n----9-27=:18061--\n";
    EXPECT_TRUE(has_code(msg::validate(msg::parse_message(in)), msg::DefectCode::MimeFieldDuplicate));
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(r.text(in).find("Content-Type: text/html; charset=utf-8\n"), std::string::npos) << r.text(in);
    EXPECT_TRUE(std::any_of(r.problems.begin(), r.problems.end(), [](const msg::Change& c) {
        return c.what.find("white space only") != std::string::npos;
    })) << (r.problems.empty() ? "" : r.problems[0].what);
    // Without the line of white space, the second field goes.
    std::string plain = in;
    plain.replace(plain.find("\n \n----"), 4, "\n----");
    const auto p = run(plain, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(p.output.find("Content-Type: text/html"), std::string::npos) << p.output;
}

TEST(Fix, CharsetForTextWindows1252CannotRead) {
    const std::string head =
        "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <1@example.org>\nMIME-Version: 1.0\n";
    // 0x81 is undefined in windows-1252: the label that reads every byte the
    // same way is iso-8859-1, and nothing is left to report.
    const auto r = run(head + "\ncaf\xE9 \x81\n", [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(r.output.find("charset=iso-8859-1"), std::string::npos) << r.output;
    for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code;
    const auto w = run(head + "\ncaf\xE9 \x80\n", [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(w.output.find("charset=windows-1252"), std::string::npos) << w.output;
    for (const msg::Defect& d : w.remaining) ADD_FAILURE() << "left: " << d.info().code;
}

// UTF-8 text labelled iso-8859-1 (or any one-byte charset) is labelled
// utf-8, the label's other parameters kept; text in its charset is not.
TEST(Fix, Utf8LabelledWithAOneByteCharsetIsLabelledUtf8) {
    const std::string head =
        "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <1@example.org>\nMIME-Version: 1.0\n";
    const std::string in = head + "Content-Type: text/plain; charset=\"ISO-8859-1\"; format=flowed\n"
                                  "Content-Transfer-Encoding: 8bit\n\ncaf\xC3\xA9\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(r.output.find("Content-Type: text/plain; charset=utf-8; format=flowed\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\n\ncaf\xC3\xA9\n"), std::string::npos) << r.output;   // the text as it was
    for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code;
    const std::string latin = head + "Content-Type: text/plain; charset=iso-8859-1\n"
                                     "Content-Transfer-Encoding: 8bit\n\ncaf\xE9\n";
    const auto l = run(latin, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(l.output, latin);
    // Idempotent: the output fixed again is the same.
    const auto again = run(r.output, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(again.output, r.output);
}

// A multipart that ends on a delimiter line with no part after it: that
// line becomes the close delimiter, not an empty part before an added one.
TEST(Fix, ALastDelimiterLineBecomesTheClose) {
    const std::string head =
        "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <1@example.org>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nhello\n";
    for (const std::string& end : {std::string("--b1\n"), std::string("--b1"), std::string("--b1  \n\n")}) {
        const auto r = run(head + end, [](RewriteOptions& o) { o.fix = true; });
        EXPECT_NE(r.output.find("hello\n--b1--"), std::string::npos) << r.output;
        for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code << " in " << r.output;
        EXPECT_EQ(msg::parse_message(r.output).leaves().size(), 1u);
    }
    // The multipart's only delimiter line opens its first part: made a
    // close, it would leave no part and show the preamble.
    const std::string only =
        "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <1@example.org>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\n\npreamble\n--b\n";
    const auto single = run(only, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(single.output.find("--b\n\npreamble"), std::string::npos) << single.output;   // the preamble stays one
    EXPECT_NE(single.output.find("\npreamble\n--b\n"), std::string::npos) << single.output;
    // A delimiter of another boundary is text: the close is added after it.
    const auto other = run(head + "--b2\n", [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(other.output.find("--b2\n\n--b1--"), std::string::npos) << other.output;
}

TEST(Fix, UnclosedMultipartGivenAFreshBoundaryIsClosedWithIt) {
    const std::string head =
        "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMessage-ID: <1@example.org>\nMIME-Version: 1.0\n";
    // Unclosed, and a line of the last part begins with the boundary
    // (renamed); or unclosed with a boundary over 70 characters.
    const std::string long_b(75, 'y');
    const std::pair<std::string, std::string> cases[] = {
        {head + "Content-Type: multipart/mixed; boundary=sep\n\n--sep\n\nfirst\n--sep\n\nsecond\n--separator\nlast\n",
         "--sep--"},
        {head + "Content-Type: multipart/mixed; boundary=" + long_b + "\n\n--" + long_b + "\n\nonly part\n", long_b},
        {head + "Content-Type: multipart/mixed; boundary=sep\n\n--sep\nContent-Type: multipart/alternative; "
                "boundary=in\n\n--in\n\nplain\n--in\n\nrich\n--inner\n",
         "--in--"}};
    for (const auto& [in, stale] : cases) {
        const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
        for (const msg::Defect& d : r.remaining) ADD_FAILURE() << "left: " << d.info().code << "\n" << r.output;
        // No part gains the old close delimiter (or anything else).
        EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in)) << r.output;
        EXPECT_EQ(r.output.find(stale), std::string::npos) << r.output;
    }
}

// A parameter without its ';' and a transfer encoding with text after it
// are read by libmsg (as GMime does) and not by Python's email package: both
// are reported, and --fix writes them as libmsg read them.
TEST(Fix, MimeFieldsReadLeniently) {
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed boundary=\"xx\"\n\n"
                           "--xx\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable;\n\n"
                           "caf=C3=A9\n--xx\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64 (the usual) gzip\n\n"
                           "AAECAw==\n--xx--\n";
    const msg::Message m = msg::parse_message(in);
    const msg::Defects d = msg::validate(m);
    std::size_t params = 0;
    for (const msg::Defect& x : d) params += x.code == msg::DefectCode::ParamSyntax;
    EXPECT_EQ(params, 3u);
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(r.output.find("Content-Type: multipart/mixed; boundary=xx\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Content-Transfer-Encoding: base64\n\nAAECAw=="), std::string::npos) << r.output;
    for (const msg::Defect& x : msg::validate(msg::parse_message(r.output)))
        EXPECT_NE(x.code, msg::DefectCode::ParamSyntax) << x.detail;
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    // No mechanism before the text: 7bit, as read.
    const auto empty = run("Content-Transfer-Encoding: ;\n\nx\n", [](RewriteOptions& o) { o.fix = true; });
    EXPECT_EQ(empty.output.substr(0, 32), "Content-Transfer-Encoding: 7bit\n");
    // A comment after the mechanism is no text after it.
    msg::Defects none = msg::validate(msg::parse_message("Content-Transfer-Encoding: base64 (binary)\n\nAAEC\n"));
    for (const msg::Defect& x : none) EXPECT_NE(x.code, msg::DefectCode::ParamSyntax);
}

// line_limit: only the field and the body with a line over 998 octets
// change; what cannot be made to fit is reported.
TEST(LineLimit, OnlyWhatIsTooLong) {
    const std::string part1 = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n";
    const std::string in = "From: a@example.org\nSubject: " + std::string(1200, 's') + "\nX-Token: " +
                           std::string(1100, 't') + "\nX-Short: " + std::string(100, 'x') +
                           "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" + part1 +
                           "--b\nContent-Type: text/plain\n\n" + std::string(2000, 'y') + "\n--b--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.line_limit = true; });
    EXPECT_TRUE(r.changed);
    EXPECT_NE(r.output.find(part1), std::string::npos);                       // the 8-bit part as it was
    EXPECT_NE(r.output.find("\nX-Short: " + std::string(100, 'x') + "\n"), std::string::npos);   // 78 < line <= 998
    EXPECT_NE(r.output.find("Subject: =?"), std::string::npos);               // free text: encoded words
    EXPECT_NE(r.output.find("Content-Transfer-Encoding: quoted-printable\n\nyyy"), std::string::npos) << r.output;
    EXPECT_EQ(decoded_leaves(r.output), decoded_leaves(in));
    // X-Token has no white space and no known grammar: it stays, reported.
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "header X-Token");
    EXPECT_EQ(r.problems[0].step, msg::RewriteStep::line_limit);
    for (const std::string& l : lines_of(r.output))
        if (!l.starts_with("X-Token:")) {
            EXPECT_LE(l.size(), 998u);
        }
    EXPECT_EQ(msg::long_line_at(r.output), r.output.find("X-Token:"));
    // Nothing too long: nothing changed.
    EXPECT_FALSE(run("From: a@example.org\n\n" + std::string(998, 'z') + "\r\n", [](RewriteOptions& o) { o.line_limit = true; }).changed);
}

// A parameter value with no white space and too long for a line goes in
// RFC 2231 sections (name*0, name*1, ...), which readers join: the value
// read is the same, no line passes 998 octets, nothing is reported, and
// the rule runs once (the sections are short).
TEST(LineLimit, LongParameterValueInRfc2231Sections) {
    const std::string name = std::string(1100, 'n') + ".pdf";
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\nContent-Type: application/pdf; name=\"" + name +
                           "\"\nContent-Disposition: attachment; filename=" + name + "; size=3\n\nabc\n";
    for (auto set : {+[](RewriteOptions& o) { o.line_limit = true; }, +[](RewriteOptions& o) { o.fold = true; }}) {
        const auto r = run(in, set);
        ASSERT_TRUE(r.changed);
        EXPECT_TRUE(r.problems.empty()) << r.problems[0].what;
        EXPECT_EQ(msg::long_line_at(r.output), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("filename*0=\"nnn"), std::string::npos) << r.output;
        const msg::Message m = msg::parse_message(r.output);
        EXPECT_EQ(*m.root().content_type.param("name"), name);
        EXPECT_EQ(m.root().disposition.params.size(), 2u);
        EXPECT_EQ(m.root().disposition.params[0].value, name);
        EXPECT_EQ(m.root().disposition.params[1].value, "3");
        for (const msg::Defect& d : msg::validate(m)) EXPECT_NE(d.code, msg::DefectCode::LineTooLong);
        EXPECT_FALSE(run(r.output, set).changed);
    }
}

// A field written again keeps the plain filename= given beside filename*=,
// before it, for readers that know only the plain form.
TEST(Fix, KeepsThePlainFilenameBesideTheRfc2231One) {
    const std::string in =
        "From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\n"
        "Content-Disposition: attachment; filename*=utf-8''na%C3%AFve.txt; filename=\"naive file.txt\"; size=1 2\n\nhi\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    EXPECT_NE(r.output.find("filename=\"naive file.txt\";"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("filename*=utf-8''na%C3%AFve.txt"), std::string::npos) << r.output;
    EXPECT_LT(r.output.find("filename=\""), r.output.find("filename*="));
    const msg::Message m = msg::parse_message(r.output);
    EXPECT_EQ(m.root().disposition.params.size(), 2u);   // filename and size
    for (const msg::Defect& d : msg::validate(m)) EXPECT_NE(d.code, msg::DefectCode::ParamDuplicate);
}

// Every repairable code left at a place is named: two left for one
// reason, in one sentence (charset.missing went unnamed beside
// body.8bit-in-7bit).
TEST(Fix, NamesEveryCodeLeftAtAPlace) {
    const auto r = run("From: a@example.org\nMIME-Version: 1.0\nInval\xe9" "d-Header: x\n\nbody\n",
                       [](RewriteOptions& o) { o.fix = true; });
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "message");
    EXPECT_EQ(r.problems[0].what.find("body.8bit-in-7bit, charset.missing left: a line that is not a field"), 0u)
        << r.problems[0].what;
}

// --fix leaves a line over 78 characters only (a warning): folding a
// signed field, or a part's header inside a signed body, breaks DKIM.
// --fold folds it; a line over 998 octets is --fix's too.
TEST(Fix, LeavesLinesOver78OnlyToFold) {
    const std::string in =
        "From: a@example.org\nTo: b@example.net\nSubject: " + std::string(40, 'w') + " " + std::string(40, 'v') +
        "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"report.docx\"\n\nx\n--b--\n";
    EXPECT_FALSE(run(in, [](RewriteOptions& o) { o.fix = true; }).changed);
    const auto folded = run(in, [](RewriteOptions& o) { o.fold = true; });
    EXPECT_TRUE(folded.changed);
    EXPECT_NE(folded.output.find("\n vvvv"), std::string::npos) << folded.output;
    const std::string over = "From: a@example.org\nSubject: " + std::string(600, 'w') + " " + std::string(600, 'v') +
                             "\nTo: b@example.net, " + std::string(40, 'c') + "@example.org, d@example.org\n\nx\n";
    const auto fixed = run(over, [](RewriteOptions& o) { o.fix = true; });
    ASSERT_TRUE(fixed.changed);
    EXPECT_EQ(msg::long_line_at(fixed.output), std::string::npos);
    EXPECT_NE(fixed.output.find("\nTo: b@example.net, " + std::string(40, 'c') + "@example.org, d@example.org\n"),
              std::string::npos) << fixed.output;   // only over 78: left
}

// A value in a charset libmsg does not know is written again as its bytes
// came, under that charset (never relabelled as UTF-8 of a guess), when
// the field is written again for another parameter; in sections too.
TEST(Fix, KeepsAnUnknownCharsetValueAsItCame) {
    const std::string in = "From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\n"
                           "Content-Disposition: attachment; filename*=x-weird'fr'caf%E9%20%FF.txt; size=1 2\n\nhi\n";
    const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
    ASSERT_TRUE(r.changed);
    EXPECT_NE(r.output.find("filename*=x-weird'fr'caf%E9%20%FF.txt;"), std::string::npos) << r.output;
    const msg::Message m = msg::parse_message(r.output);
    ASSERT_EQ(m.root().disposition.params.size(), 2u);
    EXPECT_EQ(m.root().disposition.params[0].unconverted, "caf\xE9 \xFF.txt");
    EXPECT_EQ(m.root().disposition.params[0].charset, "x-weird");
    EXPECT_FALSE(run(r.output, [](RewriteOptions& o) { o.fix = true; }).changed);

    std::string longer = "From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\n"
                         "Content-Disposition: attachment; filename*=x-weird''";
    for (int i = 0; i < 400; ++i) longer += "%E9";
    longer += "\n\nhi\n";
    const auto s = run(longer, [](RewriteOptions& o) { o.line_limit = true; });
    ASSERT_TRUE(s.changed);
    EXPECT_NE(s.output.find("filename*0*=x-weird''%E9"), std::string::npos) << s.output;
    EXPECT_EQ(s.output.find("utf-8"), std::string::npos) << s.output;
    EXPECT_EQ(msg::parse_message(s.output).root().disposition.params[0].unconverted, std::string(400, '\xE9'));
}

// So is one whose bytes do not decode in the charset it names (or are
// 8-bit under us-ascii): what a reader falls back on is the bytes, and a
// U+FFFD written in their place would be for good.
TEST(Fix, KeepsAValueThatDoesNotDecodeAsItCame) {
    for (const char* value : {"utf-8''caf%E9.txt", "iso-2022-jp''a%8Ab.txt", "us-ascii''caf%E9.txt"}) {
        SCOPED_TRACE(value);
        const std::string in = std::string("From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\n"
                                           "Content-Disposition: attachment; filename*=") +
                               value + "; size=1 2\n\nhi\n";
        const auto r = run(in, [](RewriteOptions& o) { o.fix = true; });
        ASSERT_TRUE(r.changed);
        EXPECT_NE(r.output.find(std::string("filename*=") + value + ";"), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("%EF%BF%BD"), std::string::npos) << r.output;
        EXPECT_FALSE(run(r.output, [](RewriteOptions& o) { o.fix = true; }).changed);
    }
    // --to-utf8 writes Content-Type again for its charset: a name that does
    // not decode stays as it came.
    const auto u = run("Content-Type: text/plain; charset=iso-8859-1; name*=utf-8''caf%E9.txt\n\ncaf\xE9\n",
                       [](RewriteOptions& o) { o.to_utf8 = true; });
    EXPECT_NE(u.output.find("charset=utf-8; name*=utf-8''caf%E9.txt\n"), std::string::npos) << u.output;
}

// Lines are counted as they go on the wire: bare CRs end them, so a
// message of CR line ends has no long line and is left as it is.
TEST(LineLimit, BareCrEndsALine) {
    std::string body;
    for (int i = 0; i < 20; ++i) body += "line " + std::to_string(i) + " " + std::string(90, 'c') + "\r";
    const std::string cr_only = "From: a@x\rSubject: s\r\r" + body;
    EXPECT_FALSE(run(cr_only, [](RewriteOptions& o) { o.line_limit = true; }).changed);
    const std::string cr_body = "From: a@x\nSubject: s\n\n" + body + "\n";
    EXPECT_FALSE(run(cr_body, [](RewriteOptions& o) { o.line_limit = true; }).changed);
    EXPECT_EQ(msg::long_line_at(std::string(999, 'a') + "\r" + std::string(998, 'b')), 0u);
    EXPECT_EQ(msg::long_line_at(std::string(998, 'a') + "\r\n" + std::string(998, 'b') + "\r"), std::string::npos);
}

// A second Content-Transfer-Encoding would contradict the new one: gone.
TEST(LineLimit, OneTransferEncodingAfterEncodingAgain) {
    const std::string in = "From: a@x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
                           "Content-Transfer-Encoding: 8bit\nContent-Transfer-Encoding: 8bit\n\n" +
                           std::string(1200, '\xe9') + "\n";
    const auto r = run(in, [](RewriteOptions& o) { o.line_limit = true; });
    std::size_t n = 0;
    for (std::size_t at = r.output.find("Content-Transfer-Encoding:"); at != std::string::npos;
         at = r.output.find("Content-Transfer-Encoding:", at + 1))
        ++n;
    EXPECT_EQ(n, 1u) << r.output;
    EXPECT_EQ(decoded_leaves(r.output), std::vector<std::string>{std::string(1200, '\xe9') + "\r\n"});   // canonical
}

// A boundary line padded past 998 octets is no field and no body: said.
TEST(LineLimit, ALongLineItCannotReachIsReported) {
    const std::string in = "From: a@x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b" +
                           std::string(1200, ' ') + "\n\nhi\n--b--\n";
    const auto r = run(in, [](RewriteOptions& o) { o.line_limit = true; });
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].where, "message");
}

// Fields added at the header's end without a rewrite: what spoolctl add
// needs for a message rewrite() refuses (RFC 6409 8.2, 8.3).
TEST(WithHeaderFields, AtTheHeadersEndInItsLineEndings) {
    const std::vector<std::string> f = {"Date: Mon, 23 Nov 2026 09:15:00 +0000", "Message-ID: <x@example.org>"};
    EXPECT_EQ(msg::with_header_fields("From: a@example.org\nSubject: s\n\nbody\n", f),
              "From: a@example.org\nSubject: s\nDate: Mon, 23 Nov 2026 09:15:00 +0000\n"
              "Message-ID: <x@example.org>\n\nbody\n");
    EXPECT_EQ(msg::with_header_fields("From: a@example.org\r\n\r\nbody\r\n", {f[1]}),
              "From: a@example.org\r\nMessage-ID: <x@example.org>\r\n\r\nbody\r\n");
    // An empty header takes them before its empty line.
    EXPECT_EQ(msg::with_header_fields("\nbody after an empty header\n", f),
              f[0] + "\n" + f[1] + "\n\nbody after an empty header\n");
    // An empty message: the fields and the empty line that ends them.
    EXPECT_EQ(msg::with_header_fields("", f), f[0] + "\n" + f[1] + "\n\n");
    // A header only, its last line without a line break.
    EXPECT_EQ(msg::with_header_fields("From: a@example.org", {f[1]}), "From: a@example.org\n" + f[1] + "\n");
    // Over rewrite()'s limit: inserted all the same, the body untouched.
    msg::RewriteOptions o;
    o.limits.max_rewrite_message = 64;
    o.add_date = "Mon, 23 Nov 2026 09:15:00 +0000";
    const std::string big = "From: a@example.org\n\n" + std::string(100, 'x') + "\n";
    ASSERT_TRUE(msg::rewrite(big, o).refused());
    EXPECT_EQ(msg::with_header_fields(big, {f[0]}), "From: a@example.org\n" + f[0] + "\n\n" + std::string(100, 'x') + "\n");
}
