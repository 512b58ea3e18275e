// datetime_test.cpp - RFC 5322 date-time and RFC 3339 (datetime.hpp).
#include <gtest/gtest.h>
#include <msg/datetime.hpp>

#include <chrono>
#include <climits>
#include <string>
#include <vector>

namespace {
using namespace std::chrono;
using V = std::vector<std::string>;

// Each defect of a date as "code@offset", in the order reported.
V found(std::string_view value) {
    V out;
    for (const msg::Defect& d : msg::parse_date_time(value).defects)
        out.push_back(std::string(d.info().code) + "@" + std::to_string(d.offset));
    return out;
}
}  // namespace

TEST(DateTime, ValuesOfAStrictDate) {
    const msg::DateParse p = msg::parse_date_time("Mon, 23 Nov 2026 09:15:07 +0130 (CET)");
    ASSERT_TRUE(p.ok);
    EXPECT_TRUE(p.defects.empty());
    EXPECT_EQ(p.value.year, 2026);
    EXPECT_EQ(p.value.month, 11);
    EXPECT_EQ(p.value.day, 23);
    EXPECT_EQ(p.value.hour, 9);
    EXPECT_EQ(p.value.second, 7);
    EXPECT_EQ(p.value.zone_minutes, 90);
    EXPECT_EQ(p.value.weekday, 1);
    // 09:15:07 +0130 is 07:45:07 UTC
    EXPECT_EQ(msg::format_rfc3339(*msg::to_time_point(p.value)), "2026-11-23T07:45:07Z");
}

TEST(DateTime, ObsoleteFormsAreReadAndReported) {
    msg::DateParse p = msg::parse_date_time("23 nov 99 9:15 EST");
    EXPECT_FALSE(p.ok);   // a one-digit hour is not a date
    p = msg::parse_date_time("23 Nov 99 09:15 EST", 40, "Resent-Date");
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.value.year, 1999);
    EXPECT_EQ(p.value.zone_minutes, -300);
    ASSERT_EQ(p.defects.size(), 2u);
    EXPECT_EQ(p.defects[0].code, msg::DefectCode::DateObsolete);
    EXPECT_EQ(p.defects[0].offset, 47u);
    EXPECT_EQ(p.defects[0].detail, "Resent-Date: two- or three-digit year");
    EXPECT_EQ(msg::parse_date_time("1 Jan 49 00:00 +0000").value.year, 2049);
}

TEST(DateTime, RangesAndWeekday) {
    EXPECT_EQ(msg::parse_date_time("29 Feb 2023 00:00 +0000").defects.at(0).code, msg::DefectCode::DateRange);
    EXPECT_TRUE(msg::parse_date_time("29 Feb 2024 00:00 +0000").ok);
    EXPECT_TRUE(msg::parse_date_time("1 Jan 123456789012345678901234567890 00:00 +0000").ok);
    const msg::DateParse p = msg::parse_date_time("Tue, 23 Nov 2026 09:15:00 +0100");
    EXPECT_TRUE(p.ok);
    ASSERT_EQ(p.defects.size(), 1u);
    EXPECT_EQ(p.defects[0].code, msg::DefectCode::DateWeekday);
    EXPECT_EQ(msg::weekday_of(2000, 1, 1), 6);
    EXPECT_EQ(msg::days_in_month(1900, 2), 28);
    EXPECT_EQ(msg::days_in_month(2000, 2), 29);
}

// RFC 5322 3.3: zone = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
TEST(DateTime, ZoneIsWhiteSpaceSignAndFourDigits) {
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 + 0100"), V{"date.syntax@27"});      // white space after the sign
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00+0100"), V{"date.syntax@25"});        // none before it
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 (CET)+0100"), V{"date.syntax@31"});  // a comment is not FWS
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 -(x)0100"), V{"date.syntax@27"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 +01 00"), V{"date.syntax@29"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 +01000"), V{"date.syntax@31"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 +01"), V{"date.syntax@29"});
    // zone is not optional, not even in RFC 5322 4.3
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 (CET)"), V{"date.syntax@31"});
    // what the RFC allows: FWS (folded, obs-FWS) before the sign, comments
    // around the zone and, obsolete, between the other tokens; obs-zone
    // names with or without white space before them
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 (CET) +0100 (Paris)"), V{});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00\r\n\t-0000"), V{});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00\r\n \r\n +0100"), V{});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 (a (b) \\)) +0100"), V{});
    EXPECT_TRUE(msg::parse_date_time("Mon (a), (b) 23 (c) Nov (d) 2026 (e) 09 (f) : (g) 15 \t+0100").ok);
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00GMT"), V{"date.obsolete@25"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 (x) Z"), V{"date.obsolete@30"});
}

// RFC 5322 3.2.2: a comment ends with ')'
TEST(DateTime, UnclosedCommentIsAnError) {
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 +0100 (unclosed"), V{"date.syntax@32"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 +0100 (a (b)"), V{"date.syntax@32"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 +0100 (a\\)"), V{"date.syntax@32"});
    // one that takes the rest of the date in is what is said
    EXPECT_EQ(found("Mon, 23 Nov 2026 (09:15:00 +0100"), V{"date.syntax@17"});
    // an error before it is the first one
    EXPECT_EQ(found("Mon, 23 Nox 2026 09:15:00 +0100 (x"), V{"date.syntax@8"});
    EXPECT_EQ(found(" (no date"), V{"date.syntax@1"});
    const msg::DateParse p = msg::parse_date_time("Mon, 23 Nov 2026 09:15:00 +0100 (x", 6);
    EXPECT_FALSE(p.ok);
    ASSERT_EQ(p.defects.size(), 1u);
    EXPECT_EQ(p.defects[0].offset, 38u);
    EXPECT_EQ(p.defects[0].detail, "Date: unclosed comment");
}

// RFC 5322 3.3: year = 4*DIGIT, any year from 1900 on
TEST(DateTime, YearsAfter9999) {
    const msg::DateParse p = msg::parse_date_time("Thu, 23 Nov 10000 09:15:00 +0100");
    EXPECT_TRUE(p.ok);
    EXPECT_EQ(found("Thu, 23 Nov 10000 09:15:00 +0100"), V{});
    EXPECT_EQ(p.value.year, 10000);
    // leap years and weekdays repeat every 400 years, whatever the length
    EXPECT_EQ(found("29 Feb 10000 00:00 +0000"), V{});
    EXPECT_EQ(found("29 Feb 10100 00:00 +0000"), V{"date.range@0"});
    EXPECT_EQ(found("Sat, 1 Jan 40000 00:00 +0000"), V{});
    EXPECT_EQ(found("Fri, 1 Jan 40000 00:00 +0000"), V{"date.weekday@0"});
    EXPECT_EQ(found("29 Feb 99999999999999999600 00:00 +0000"), V{});
    EXPECT_EQ(found("29 Feb 99999999999999999700 00:00 +0000"), V{"date.range@0"});
    EXPECT_EQ(found("Tue, 23 Nov 99999999999999999999 09:15:00 +0100"), V{});
    EXPECT_EQ(found("Mon, 23 Nov 99999999999999999999 09:15:00 +0100"), V{"date.weekday@0"});
    // a year too large for an int is held as INT_MAX, which no clock reaches
    const msg::DateParse huge = msg::parse_date_time("23 Nov 99999999999999999999 09:15:00 +0100");
    EXPECT_TRUE(huge.ok);
    EXPECT_EQ(huge.value.year, INT_MAX);
    EXPECT_FALSE(msg::to_time_point(huge.value));
    EXPECT_EQ(found("1 Jan 1899 00:00 +0000"), V{"date.range@6"});
    EXPECT_EQ(found("1 Jan 0002026 00:00 +0000"), V{});
    // the same for the library's calendar functions
    EXPECT_EQ(msg::weekday_of(40000, 1, 1), 6);
    EXPECT_EQ(msg::weekday_of(-40000, 1, 1), 6);
    EXPECT_EQ(msg::days_in_month(40100, 2), 28);
    EXPECT_EQ(msg::days_in_month(INT_MAX, 2), 28);
}

// date.range at the value out of range, not at the time or the zone's sign
TEST(DateTime, RangeErrorsPointAtTheValue) {
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:61 +0160"), (V{"date.range@23", "date.range@29"}));
    EXPECT_EQ(found("Mon, 23 Nov 2026 24:15:00 +0100"), V{"date.range@17"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:60:00 -0100"), V{"date.range@20"});
    EXPECT_EQ(found("Mon, 31 Nov 2026 09:15:00 +0100"), V{"date.range@5"});
    EXPECT_EQ(found("Mon, 23 Nov 2026 09:15:00 +0160"), V{"date.range@29"});
    EXPECT_TRUE(msg::parse_date_time("Mon, 23 Nov 2026 09:15:00 +0160").ok);  // as before: the zone is used
}

// The instant of a date, when the clock can hold it
TEST(DateTime, TimePointOnlyWithinTheClock) {
    msg::DateTime d{.year = 9999, .month = 12, .day = 31, .hour = 23, .minute = 59, .second = 59};
    // system_clock may count nanoseconds (to 2262) or less finely
    if (const auto t = msg::to_time_point(d)) {
        EXPECT_EQ(msg::format_rfc3339(*t), "9999-12-31T23:59:59Z");
    }
    d.year = 2200;
    ASSERT_TRUE(msg::to_time_point(d));
    EXPECT_EQ(msg::format_rfc3339(*msg::to_time_point(d)), "2200-12-31T23:59:59Z");
    d.year = 40000;  // past std::chrono::year
    EXPECT_FALSE(msg::to_time_point(d));
    d.year = -40000;
    EXPECT_FALSE(msg::to_time_point(d));
    d.year = INT_MAX;
    EXPECT_FALSE(msg::to_time_point(d));
}

// Every RFC 3339 year (0000 to 9999) is read; one the clock cannot hold is
// its nearest end, so that a Next-Attempt: far ahead still waits and an
// Attempt: far back still counts (they were "not an RFC 3339 date-time",
// and the entry failed unsent).
TEST(Rfc3339, YearsPastTheClockAreItsEnds) {
    const auto end = msg::parse_rfc3339("9999-12-31T23:59:59Z");
    const auto start = msg::parse_rfc3339("0000-01-01T00:00:00Z");
    ASSERT_TRUE(end && start);
    EXPECT_EQ(*end, std::chrono::floor<std::chrono::seconds>(system_clock::time_point::max()));
    EXPECT_EQ(*start, std::chrono::ceil<std::chrono::seconds>(system_clock::time_point::min()));
    EXPECT_GT(*end, *msg::parse_rfc3339("2200-01-01T00:00:00Z"));
    EXPECT_LT(*start, *msg::parse_rfc3339("1700-01-01T00:00:00Z"));
    EXPECT_FALSE(msg::parse_rfc3339("9999-02-30T00:00:00Z"));   // still no such day
}

TEST(DateTime, Formatting) {
    EXPECT_EQ(msg::format_date_time(1700000000), "Tue, 14 Nov 2023 22:13:20 +0000");
    EXPECT_EQ(msg::format_date_time(0), "Thu, 1 Jan 1970 00:00:00 +0000");
    const auto t = system_clock::from_time_t(1700000000) + milliseconds(999);
    EXPECT_EQ(msg::format_rfc3339(t), "2023-11-14T22:13:20Z");
}

TEST(Rfc3339, RoundTripAndOffsets) {
    const auto t = msg::parse_rfc3339("2023-11-14T22:13:20Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(system_clock::to_time_t(*t), 1700000000);
    EXPECT_EQ(msg::parse_rfc3339("2023-11-14T23:13:20.250+01:00"), t);
    EXPECT_EQ(msg::parse_rfc3339("2023-11-14t22:13:20z"), t);
    EXPECT_FALSE(msg::parse_rfc3339("2023-11-14T22:13:20"));
    EXPECT_FALSE(msg::parse_rfc3339("2023-13-14T22:13:20Z"));
    EXPECT_FALSE(msg::parse_rfc3339("2023-02-30T22:13:20Z"));
    EXPECT_FALSE(msg::parse_rfc3339("2023-11-14T22:13:20Z "));
}
