// address_test.cpp - RFC 5321 paths (address.hpp).
#include <gtest/gtest.h>
#include <msg/address.hpp>

#include <string>

using msg::parse_path;
using msg::PathKind;

TEST(Path, PlainMailbox) {
    const msg::Path p = parse_path("<alice@example.org> SIZE=10", PathKind::forward, false);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.local, "alice");
    EXPECT_EQ(p.domain, "example.org");
    EXPECT_EQ(p.mailbox, "alice@example.org");
    EXPECT_EQ(p.end, 19u);
    EXPECT_FALSE(p.utf8);
}

TEST(Path, NullReversePathOnlyForMail) {
    EXPECT_TRUE(parse_path("<>", PathKind::reverse, false).null);
    EXPECT_FALSE(parse_path("<>", PathKind::forward, false).ok);
}

TEST(Path, PostmasterOnlyAsForwardPath) {
    const msg::Path p = parse_path("<postMaster>", PathKind::forward, false);
    ASSERT_TRUE(p.ok);
    EXPECT_TRUE(p.postmaster);
    EXPECT_FALSE(parse_path("<Postmaster>", PathKind::reverse, false).ok);
}

TEST(Path, QuotedLocalPartAndLiterals) {
    EXPECT_TRUE(parse_path(R"(<"john smith"@example.org>)", PathKind::forward, false).ok);
    EXPECT_TRUE(parse_path(R"(<"a\"b"@example.org>)", PathKind::forward, false).ok);
    EXPECT_TRUE(parse_path("<root@[192.0.2.1]>", PathKind::forward, false).ok);
    EXPECT_TRUE(parse_path("<root@[IPv6:2001:db8::1]>", PathKind::forward, false).ok);
    EXPECT_FALSE(parse_path("<root@[192.0.2.256]>", PathKind::forward, false).ok);
    EXPECT_FALSE(parse_path("<root@[IPv6:2001:db8::g]>", PathKind::forward, false).ok);
    EXPECT_FALSE(parse_path("<root@[1.2.3]>", PathKind::forward, false).ok);
}

TEST(Path, SourceRouteIsAcceptedAndFlagged) {
    const msg::Path p = parse_path("<@relay.example,@b.example:joe@example.org>", PathKind::forward, false);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_TRUE(p.source_route);
    EXPECT_EQ(p.mailbox, "joe@example.org");
}

TEST(Path, SyntaxErrorsSayWhere) {
    struct Case { const char* in; std::size_t at; };
    const Case cases[] = {
        {"alice@example.org", 0},     // no brackets
        {"<alice@example.org", 18},   // no closing bracket
        {"<alice.@example.org>", 7},  // empty atom
        {"<.alice@example.org>", 1},
        {"<alice>", 6},               // no @
        {"<alice@>", 7},              // empty domain
        {"<alice@-example.org>", 7},  // label starts with a hyphen
        {"<alice@example..org>", 7},
        {"<al ice@example.org>", 3},
    };
    for (const Case& c : cases) {
        const msg::Path p = parse_path(c.in, PathKind::forward, false);
        EXPECT_FALSE(p.ok) << c.in;
        EXPECT_EQ(p.error_at, c.at) << c.in << ": " << p.error;
    }
}

TEST(Path, Utf8NeedsSmtputf8) {
    const std::string in = "<j\xC3\xB6rg@b\xC3\xBC" "cher.example>";
    const msg::Path without = parse_path(in, PathKind::forward, false);
    EXPECT_FALSE(without.ok);
    EXPECT_EQ(without.error, "8-bit byte in the local part (needs SMTPUTF8)");   // not "'@' expected"
    EXPECT_EQ(without.error_at, 2u);
    EXPECT_EQ(parse_path("<\xC3\xB6@b.example>", PathKind::forward, false).error,
              "8-bit byte in the local part (needs SMTPUTF8)");
    const msg::Path p = parse_path(in, PathKind::forward, true);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_TRUE(p.utf8);
    // invalid UTF-8 is refused even then
    EXPECT_FALSE(parse_path("<j\xC3@example.org>", PathKind::forward, true).ok);
}

TEST(Domain, Labels) {
    EXPECT_TRUE(msg::is_smtp_domain("mail-1.example.org", false));
    EXPECT_FALSE(msg::is_smtp_domain("example.org.", false));
    EXPECT_FALSE(msg::is_smtp_domain("exa_mple.org", false));
    EXPECT_FALSE(msg::is_smtp_domain(std::string(64, 'a') + ".org", false));
    EXPECT_TRUE(msg::is_smtp_domain(std::string(63, 'a') + ".org", false));
}

TEST(FieldAddresses, EveryForm) {
    using V = std::vector<std::string>;
    EXPECT_EQ(msg::field_addresses("bob@example.net"), V{"bob@example.net"});
    EXPECT_EQ(msg::field_addresses("Bob Smith <bob@example.net>, \"Smith, Al\" <al@example.net>"),
              (V{"bob@example.net", "al@example.net"}));
    EXPECT_EQ(msg::field_addresses("team: a@x.example, b@y.example;, c@z.example"),
              (V{"a@x.example", "b@y.example", "c@z.example"}));
    EXPECT_EQ(msg::field_addresses("undisclosed-recipients:;"), V{});
    EXPECT_EQ(msg::field_addresses(""), V{});
    EXPECT_EQ(msg::field_addresses("\"john q\"@example.net (John), root@[192.0.2.1]"),
              (V{"\"john q\"@example.net", "root@[192.0.2.1]"}));
    // obsolete forms come out in their plain form
    EXPECT_EQ(msg::field_addresses("john . q @ example . net"), V{"john.q@example.net"});
    EXPECT_EQ(msg::field_addresses("<@relay.example:joe@example.net>"), V{"joe@example.net"});
    EXPECT_EQ(msg::field_addresses("a@example.net,\r\n (comment) b@example.net"),
              (V{"a@example.net", "b@example.net"}));
}

TEST(FieldAddresses, BadElementsAreSkippedAndCounted) {
    std::size_t bad = 0;
    EXPECT_EQ(msg::field_addresses("a@example.net, not an address, b@example.net", &bad),
              (std::vector<std::string>{"a@example.net", "b@example.net"}));
    EXPECT_EQ(bad, 1u);
    EXPECT_EQ(msg::field_addresses("x@@y, team: c@d.example, broken;, e@f.example", &bad),
              (std::vector<std::string>{"c@d.example", "e@f.example"}));
    EXPECT_EQ(bad, 2u);
    // a missing comma: the rest of that element is bad, the next ones count
    EXPECT_EQ(msg::field_addresses("b@y.example; c@z.example", &bad),
              (std::vector<std::string>{"b@y.example", "c@z.example"}));
    EXPECT_EQ(bad, 1u);
    EXPECT_EQ(msg::field_addresses("d@w.example e@v.example, f@u.example", &bad),
              (std::vector<std::string>{"d@w.example", "f@u.example"}));
    EXPECT_EQ(bad, 1u);
    EXPECT_EQ(msg::field_addresses("a@example.net", &bad).size(), 1u);
    EXPECT_EQ(bad, 0u);
}

// Empty list elements (obs-mbox-list, obs-addr-list, obs-group-list) are
// obsolete around an address, wrong with none; a mailbox (Sender) is no
// list at all; Bcc may be empty (obs-bcc).
TEST(AddressList, EmptyElements) {
    using msg::AddressKind;
    const auto codes = [](std::string_view v, AddressKind k) {
        std::vector<std::string> out;
        for (const msg::Defect& d : msg::parse_address_list(v, k).defects) out.emplace_back(d.info().code);
        return out;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(codes(",", AddressKind::address_list), (V{"address.obsolete", "address.syntax"}));
    EXPECT_EQ(codes("(c) , (d)", AddressKind::address_list), (V{"address.obsolete", "address.syntax"}));
    EXPECT_EQ(codes(", a@example.org", AddressKind::mailbox), V{"address.syntax"});
    EXPECT_EQ(codes(", a@example.org", AddressKind::mailbox_list), V{"address.obsolete"});
    EXPECT_EQ(codes(",", AddressKind::address_list_or_empty), V{"address.obsolete"});
    EXPECT_EQ(codes("G: ,, b@example.org ,;", AddressKind::address_list), V{"address.obsolete"});
    EXPECT_EQ(codes("G: a@example.org, b@example.org;, undisclosed-recipients:;", AddressKind::address_list), V{});
}
