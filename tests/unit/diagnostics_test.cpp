// diagnostics_test.cpp - defects shown where they are (msg/diagnostics.hpp):
// the compilers' line form with the file's own line numbers, colour and
// control bytes kept off the terminal; the SARIF log's rules and results;
// URIs; explanations.
#include <gtest/gtest.h>
#include <msg/diagnostics.hpp>

#include <algorithm>
#include <sstream>
#include <string>

using msg::DefectCode;

TEST(Diagnostics, CompilerFormWithTheFilesLines) {
    const std::string data = "A: b\nSubject: long\r\nx\n";
    std::ostringstream out;
    msg::DiagPrinter p(out, false);
    msg::Defect d1{DefectCode::LineLong, 5, "99 characters"};
    msg::Defect d2{DefectCode::LineBareLf, data.size() - 1, "a\x1b[31mb"};
    const msg::Defect ds[] = {d1, d2};
    p.print(msg::Place{"box.mbox", data, 40}, ds);
    EXPECT_EQ(out.str(),
              "box.mbox:41:1: warning: line is longer than 78 characters (99 characters) [line.long]\n"
              "box.mbox:42:2: error: LF without CR in a message that otherwise uses CRLF (a\\x1b[31mb) [line.bare-lf]\n");
    std::ostringstream coloured;
    msg::DiagPrinter c(coloured, true, false);
    c.print(msg::Place{"m.eml", data, 1}, std::span<const msg::Defect>(ds, 1));
    EXPECT_EQ(coloured.str(), "m.eml:2: \033[1;35mwarning:\033[0m line is longer than 78 characters (99 characters) [line.long]\n");
    std::ostringstream whole;
    msg::DiagPrinter(whole, false).print("img.png", msg::Severity::error, "not a message");
    EXPECT_EQ(whole.str(), "img.png: error: not a message\n");
}

// A note (what msgrewrite could not do) and a whole input's text may quote
// the message, a charset's name say: one line each, escaped as printable()
// escapes text, the file's name with them.
TEST(Diagnostics, NotesAndTextsAreOneEscapedLine) {
    const std::string data = "Content-Type: text/plain; charset=\"utf\x1b[2J8\"\n\nx\n";
    std::ostringstream out;
    msg::DiagPrinter p(out, false);
    const msg::DiagPrinter::Note notes[] = {
        {27, msg::Severity::warning, "part 1: charset utf\x1b[2J8 is not known\nforged: error: x"},
        {0, msg::Severity::warning, "name \xe2\x80\xae" "fdp.exe"}};
    p.print(msg::Place{"m.eml", data, 1}, notes);
    p.print("a\nb.eml", msg::Severity::error, "why\x1b]0;t\x07\r");
    EXPECT_EQ(out.str(), "m.eml:1:28: warning: part 1: charset utf\\x1b[2J8 is not known\\x0aforged: error: x\n"
                         "m.eml:1:1: warning: name \\xe2\\x80\\xae" "fdp.exe\n"
                         "a\\x0ab.eml: error: why\\x1b]0;t\\x07\\x0d\n");
}

// A detail is shown as printable() shows text: bytes that are not UTF-8
// (a boundary's) escaped like control bytes; cut at 80 bytes, never inside
// a character.
TEST(Diagnostics, DetailIsPrintableAndCutBetweenCharacters) {
    const std::string data = "Content-Type: x\n";
    std::ostringstream out;
    msg::DiagPrinter p(out, false, false);
    const msg::Defect ds[] = {msg::Defect{DefectCode::BoundaryChars, 0, "0xE9 in \xe9t\xe9"},
                              msg::Defect{DefectCode::BoundaryChars, 0, std::string(79, 'a') + "\xc3\xa9z"},
                              msg::Defect{DefectCode::BoundaryChars, 0, std::string(78, 'a') + "\xc3\xa9z"}};
    p.print(msg::Place{"m.eml", data, 1}, ds);
    const std::string a79(79, 'a'), a78(78, 'a');
    EXPECT_EQ(out.str(), "m.eml:1: warning: boundary has a character other than the letters, digits, space and "
                         "'()+_,-./:=? that RFC 2046 allows (0xE9 in \\xe9t\\xe9) [mime.boundary-chars]\n"
                         "m.eml:1: warning: boundary has a character other than the letters, digits, space and "
                         "'()+_,-./:=? that RFC 2046 allows (" + a79 + ") [mime.boundary-chars]\n"
                         "m.eml:1: warning: boundary has a character other than the letters, digits, space and "
                         "'()+_,-./:=? that RFC 2046 allows (" + a78 + "\xc3\xa9) [mime.boundary-chars]\n");
    // Bytes that are not UTF-8 are a character each: cut after the 80th,
    // not backed up over as if they were inside a character.
    const msg::Defect latin1{DefectCode::BoundaryChars, 0, a78 + "\xa3\xa9\xb0\xa3"};
    EXPECT_EQ(msg::defect_text(latin1, 80), std::string(latin1.info().text) + " (" + a78 + "\\xa3\\xa9)");
    // JSON and SARIF say the same text, whole.
    EXPECT_NE(msg::defect_json("m.eml", 0, 1, 1, 0, latin1).find(a78 + "\\\\xa3\\\\xa9\\\\xb0\\\\xa3)"),
              std::string::npos) << msg::defect_json("m.eml", 0, 1, 1, 0, latin1);
}

TEST(Diagnostics, SarifLogHasEveryRuleAndEachResultAtItsPlace) {
    std::ostringstream out;
    msg::SarifLog log(out, "msgcheck", "1.2.3");
    log.begin();
    const std::string data = "Subject: caf\xc3\xa9 x\n";
    log.add("dir/a b.eml", 0, data, msg::Defect{DefectCode::LineLong, 15, ""}, 7, 16, 115);
    log.add_input("img.png", msg::Severity::error, "not a message");
    log.end(1);
    const std::string s = out.str();
    EXPECT_NE(s.find("\"version\": \"2.1.0\""), std::string::npos);
    EXPECT_NE(s.find("\"name\": \"msgcheck\", \"version\": \"1.2.3\""), std::string::npos);
    for (const msg::DefectInfo& info : msg::defect_catalogue())
        EXPECT_NE(s.find("{\"id\": \"" + std::string(info.code) + "\""), std::string::npos) << info.code;
    EXPECT_NE(s.find("\"ruleId\": \"line.long\""), std::string::npos);
    EXPECT_NE(s.find("\"uri\": \"dir/a%20b.eml\""), std::string::npos) << s;
    // Byte column 16 is code point 15: the é is two bytes.
    EXPECT_NE(s.find("\"startLine\": 7, \"startColumn\": 15, \"byteOffset\": 115"), std::string::npos) << s;
    EXPECT_NE(s.find("\"uri\": \"img.png\""), std::string::npos);
    // Every result has a rule (SARIF 3.27.5): an input that is not mail
    // the last one, after the catalogue's.
    EXPECT_NE(s.find("{\"id\": \"input.not-mail\""), std::string::npos) << s;
    EXPECT_NE(s.find("\"ruleId\": \"input.not-mail\", \"ruleIndex\": " +
                     std::to_string(msg::defect_catalogue().size()) + ","),
              std::string::npos) << s;
    const auto count = [&](std::string_view what) {
        std::size_t n = 0;
        for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("\"ruleId\""), count("\"locations\"")) << "a result without a rule";
    EXPECT_NE(s.find("\"exitCode\": 1"), std::string::npos);
    EXPECT_EQ(s.back(), '\n');
    // Bytes that are not UTF-8 before the place count as a reader decoding
    // the line counts them, one U+FFFD for each maximal subpart: a lone
    // continuation byte one, an encoded surrogate three, an overlong NUL
    // two, a sequence cut short (E2 82) one. Byte column 18 is code point
    // 17 (13 before).
    std::ostringstream bad;
    msg::SarifLog b(bad, "msgcheck", "1");
    b.begin();
    const std::string odd = "Subject: \x80\xed\xa0\x80\xc0\x80\xe2\x82\x01\n";
    b.add("m.eml", 0, odd, msg::Defect{DefectCode::HeaderControl, 17, ""}, 1, 18, 17);
    b.end(1);
    EXPECT_NE(bad.str().find("\"startLine\": 1, \"startColumn\": 17, \"byteOffset\": 17"), std::string::npos)
        << bad.str().substr(bad.str().find("\"results\""));
    // Balanced: as many opening as closing braces and brackets.
    EXPECT_EQ(std::count(s.begin(), s.end(), '{'), std::count(s.begin(), s.end(), '}'));
    EXPECT_EQ(std::count(s.begin(), s.end(), '['), std::count(s.begin(), s.end(), ']'));
}

// An input that could not be read is a notification of the run's
// invocation, not a result: level error, the text standard error gets made
// printable, at the file's URI as a result gives it. A log with none has
// no such list.
TEST(Diagnostics, SarifLogNotesInputsThatCannotBeRead) {
    std::ostringstream out;
    msg::SarifLog log(out, "msgcheck", "1");
    log.begin();
    log.add_input("img.png", msg::Severity::error, "not a message");
    log.add_unreadable("dir/a b.eml", "cannot open dir/a b.eml: No such file or directory");
    log.add_unreadable("x\x1b\xff.mbox", "x\x1b\xff.mbox: not an mbox archive");
    log.end(66);
    const std::string s = out.str();
    const std::string invocation =
        R"j( "invocations": [{"executionSuccessful": false, "exitCode": 66,)j" "\n"
        R"j(  "toolExecutionNotifications": [)j" "\n"
        R"j(   {"level": "error", "message": {"text": "cannot open dir/a b.eml: No such file or directory"}, )j"
        R"j("locations": [{"physicalLocation": {"artifactLocation": {"uri": "dir/a%20b.eml"}}}]},)j" "\n"
        R"j(   {"level": "error", "message": {"text": "x\\x1b\\xff.mbox: not an mbox archive"}, )j"
        R"j("locations": [{"physicalLocation": {"artifactLocation": {"uri": "x%1B%FF.mbox"}}}]}]}]}]})j" "\n";
    ASSERT_GE(s.size(), invocation.size());
    EXPECT_EQ(s.substr(s.size() - invocation.size()), invocation) << s.substr(s.find("\"invocations\""));
    // The input that is not mail stays a result, and is the only one.
    const std::size_t results = s.find("\"results\""), invocations = s.find("\"invocations\"");
    const std::string listed = s.substr(results, invocations - results);
    EXPECT_NE(listed.find("img.png"), std::string::npos) << listed;
    EXPECT_EQ(listed.find("a%20b.eml"), std::string::npos) << listed;
    EXPECT_EQ(std::count(s.begin(), s.end(), '{'), std::count(s.begin(), s.end(), '}'));
    EXPECT_EQ(std::count(s.begin(), s.end(), '['), std::count(s.begin(), s.end(), ']'));

    std::ostringstream none;
    msg::SarifLog clean(none, "msgcheck", "1");
    clean.begin();
    clean.end(0);
    EXPECT_EQ(none.str().find("toolExecutionNotifications"), std::string::npos) << none.str();
    EXPECT_NE(none.str().find(R"j("executionSuccessful": true, "exitCode": 0}]}]})j"), std::string::npos) << none.str();
}

// format() gives the lines print() writes, and results made apart and
// added in order make the log add() makes.
TEST(Diagnostics, FormattedApartAsPrinted) {
    const std::string data = "A: b\nSubject: long\r\nx\n";
    const msg::Defect ds[] = {{DefectCode::LineLong, 5, "99 characters"}, {DefectCode::LineBareLf, data.size() - 1, ""}};
    for (const bool color : {false, true}) {
        std::ostringstream printed;
        msg::DiagPrinter p(printed, color);
        p.print(msg::Place{"box.mbox", data, 40}, ds);
        p.print("img.png", msg::Severity::error, "not a message");
        std::string formatted;
        p.format(msg::Place{"box.mbox", data, 40}, ds, formatted);
        p.format("img.png", msg::Severity::error, "not a message", formatted);
        EXPECT_EQ(formatted, printed.str());
    }
    std::ostringstream direct, apart;
    msg::SarifLog a(direct, "msgcheck", "1"), b(apart, "msgcheck", "1");
    a.begin();
    b.begin();
    a.add("m.eml", 2, data, ds[0], 2, 1, 105);
    a.add_input("img.png", msg::Severity::error, "not a message");
    a.add("m.eml", 2, data, ds[1], 3, 2, 120);
    b.add_result(msg::SarifLog::result("m.eml", 2, data, ds[0], 2, 1, 105));
    b.add_result(msg::SarifLog::input_result("img.png", msg::Severity::error, "not a message"));
    b.add_result(msg::SarifLog::result("m.eml", 2, data, ds[1], 3, 2, 120));
    a.end(1);
    b.end(1);
    EXPECT_EQ(apart.str(), direct.str());
}

TEST(Diagnostics, UrisAndExplanations) {
    EXPECT_EQ(msg::file_uri("a/b-c_d.~e"), "a/b-c_d.~e");
    EXPECT_EQ(msg::file_uri("x y#%\xc3\xa9"), "x%20y%23%25%C3%A9");
    // Not a network-path reference, whose authority "tmp" would be a host.
    EXPECT_EQ(msg::file_uri("//tmp/m.eml"), "/tmp/m.eml");
    EXPECT_EQ(msg::file_uri("///m.eml"), "/m.eml");
    EXPECT_EQ(msg::file_uri("a//b"), "a//b");
    const std::string e = msg::explain(msg::defect_info(DefectCode::LineLong));
    EXPECT_EQ(e.rfind("line.long (warning, RFC 5322 2.1.1)", 0), 0u) << e;
    EXPECT_NE(e.find("\n  Bad:\n"), std::string::npos);
    EXPECT_NE(e.find("\n  Good:\n"), std::string::npos);
    EXPECT_EQ(msg::wrap("one two three four", 9, "> "), "> one two\n> three\n> four\n");
}

TEST(Diagnostics, FilterJsonAndCatalogue) {
    msg::DefectFilter f;
    msg::DefectFilter::add(f.select, "date,line.long");
    msg::DefectFilter::add(f.ignore, "date.weekday,");
    EXPECT_TRUE(f.wanted("date.zone"));
    EXPECT_FALSE(f.wanted("date.weekday"));
    EXPECT_TRUE(f.wanted("line.long"));
    EXPECT_FALSE(f.wanted("line.bare-lf"));
    EXPECT_FALSE(f.wanted("dates.x"));   // a group is the part before the dot, not a prefix
    EXPECT_TRUE(msg::known_defect_pattern("date"));
    EXPECT_TRUE(msg::known_defect_pattern("line.long"));
    EXPECT_FALSE(msg::known_defect_pattern("dat"));
    EXPECT_EQ(msg::defect_json("m.eml", 2, 7, 3, 99, msg::Defect{DefectCode::LineLong, 0, "80 characters"}),
              R"j({"source": "m.eml", "index": 2, "line": 7, "column": 3, "offset": 99, "defect": "line.long", )j"
              R"j("severity": "warning", "text": "line is longer than 78 characters (80 characters)"})j");
    const std::string md = msg::catalogue_markdown();
    EXPECT_EQ(md.rfind("\n## ", 0), 0u);
    for (const msg::DefectInfo& info : msg::defect_catalogue())
        EXPECT_NE(md.find("### `" + std::string(info.code) + "`"), std::string::npos) << info.code;
}
