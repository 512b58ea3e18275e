// describe_test.cpp - a message described (msg/describe.hpp): its JSON
// record, totals over messages, uuencoded sections, extensions.
#include <gtest/gtest.h>
#include <msg/describe.hpp>

#include <string>

TEST(Describe, UuSections) {
    EXPECT_EQ(msg::uu_section("2", 0), "2.u1");
    std::string s;
    std::size_t n = 0;
    ASSERT_TRUE(msg::split_uu_section("1.2.u12", s, n));
    EXPECT_EQ(s, "1.2");
    EXPECT_EQ(n, 12u);
    EXPECT_FALSE(msg::split_uu_section("1.2", s, n));
    EXPECT_FALSE(msg::split_uu_section("1.u0", s, n));
    EXPECT_FALSE(msg::split_uu_section("1.ux", s, n));
    EXPECT_FALSE(msg::split_uu_section("1.u", s, n));
}

TEST(Describe, JsonRecordAndStats) {
    const std::string data =
        "From: a@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=UTF-8\n\nhello\n"
        "--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"r.pdf\"\n\naGk=\n--b--\n";
    const msg::Message m = msg::parse_message(data);
    msg::Defects defects;
    const std::string j = msg::message_json(m, "m.eml", 3, &defects);
    EXPECT_EQ(j.rfind(R"({"source": "m.eml", "index": 3, "headers": [{"name": "From", "value": "a@example.org"}, )"
                      R"({"name": "Subject", "value": "café"}, )", 0), 0u) << j;
    EXPECT_NE(j.find(R"({"section": "1", "type": "text/plain", "charset": "utf-8", "encoding": "7bit", )"
                     R"("disposition": null, "filename": null, "size": 5, "sha256": )"
                     R"("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"})"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("type": "application/pdf", "charset": null, "encoding": "base64", "disposition": "attachment", )"
                     R"("filename": "r.pdf", "size": 2)"), std::string::npos) << j;
    EXPECT_TRUE(defects.empty());
    EXPECT_EQ(msg::extension_for(m.entity(m.leaves()[0])), ".txt");
    EXPECT_EQ(msg::extension_for(m.entity(m.leaves()[1])), ".pdf");

    msg::MessageStats st;
    st.add(m);
    st.add(msg::parse_message("Subject: x\n\nbody\n"));
    EXPECT_EQ(st.text(), "messages: 2\nparts: 4\nleaf parts: 3\ndecoded bytes: 12\ndefects: 0\n"
                         "content types:\n  2 text/plain\n  1 application/pdf\n");
}

// The content types the summary lists come from the messages: shown as
// printable() shows text, C1 controls and bidirectional overrides too.
TEST(Describe, StatsEscapeContentTypes) {
    msg::MessageStats st;
    st.add(msg::parse_message("Content-Type: te\xc2\x9bxt/pl\xe2\x80\xaein\x9b\n\nx\n"));
    st.add(msg::parse_message("Content-Type: text/x\x1b[2J\n\nx\n"));
    const std::string t = st.text();
    EXPECT_NE(t.find("  1 te\\xc2\\x9bxt/pl\\xe2\\x80\\xaein\\x9b\n"), std::string::npos) << t;
    EXPECT_EQ(t.find('\x1b'), std::string::npos) << t;
    EXPECT_EQ(t.find("\xc2\x9b"), std::string::npos) << t;
    EXPECT_EQ(t.find("\xe2\x80\xae"), std::string::npos) << t;
}

// A file uuencoded into text, damaged: a defect in the stats as in
// msgshow's listing and msgcheck's report.
TEST(Describe, StatsCountDamagedUuencodedFiles) {
    const std::string text = "Subject: x\n\nSee below.\nbegin 644 a.txt\n#86)C\n#8~)C\n`\nend\n";
    const msg::Message m = msg::parse_message(text);
    msg::Defects listed;
    (void)msg::message_json(m, "x", 0, &listed);
    msg::MessageStats st;
    msg::Defects counted;
    st.add(m, &counted);
    EXPECT_EQ(st.defects, 1u);
    ASSERT_EQ(counted.size(), 1u);
    EXPECT_EQ(std::string(counted[0].info().code), "body.uuencode-bad-line");
    EXPECT_EQ(listed.size(), counted.size());
}

// Counts made apart (in threads) and merged are the counts made in one.
TEST(Describe, StatsMerged) {
    const std::string a = "Subject: x\n\nbody\n";
    const std::string b = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=q\n\n--q\n"
                          "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\naGk=\n--q\n\nx\n--q--\n";
    const std::string bad = "Content-Transfer-Encoding: base64\n\n!!aGk\n";
    msg::MessageStats one, left, right;
    for (const std::string* d : {&a, &b, &bad, &b}) one.add(msg::parse_message(*d));
    left.add(msg::parse_message(a));
    left.add(msg::parse_message(b));
    right.add(msg::parse_message(bad));
    right.add(msg::parse_message(b));
    left.merge(right);
    EXPECT_EQ(left.text(), one.text());
    EXPECT_GT(one.defects, 0u);
    msg::MessageStats empty;
    empty.merge(one);
    EXPECT_EQ(empty.text(), one.text());
}
