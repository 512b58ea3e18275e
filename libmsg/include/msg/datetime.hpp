// datetime.hpp - dates and times of mail: RFC 5322 date-time (the Date:
// field, strict and obsolete forms), and RFC 3339 timestamps (the spool's
// retry history, reports, JSON).
//
//   date-time   = [ day-of-week "," ] date time [CFWS]        (RFC 5322 3.3)
//   date        = day month year
//   time        = time-of-day zone
//   time-of-day = hour ":" minute [ ":" second ]
//   zone        = FWS ( "+" / "-" ) 4DIGIT
//   obs-zone    = "UT" / "GMT" / "EST" / "EDT" / "CST" / "CDT" / "MST" / "MDT"
//                 / "PST" / "PDT" / military letters          (RFC 5322 4.3)
//
// Comments and folding white space are skipped anywhere between tokens
// but inside the zone, whose sign follows white space (not a comment); an
// unclosed comment is an error (RFC 5322 3.2.2);
// two- and three-digit years are read as RFC 5322 4.3 says (00-49: 20xx,
// 50-999: 1900 + y). Calendar arithmetic is C++20 <chrono>'s.
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "msg/defect.hpp"

namespace msg {

struct DateTime {
    // RFC 5322 sets no last year: one past INT_MAX is held as INT_MAX (the
    // parser's checks use the year as written; to_time_point gives nothing).
    int year = 0, month = 0, day = 0;   // month 1..12
    int hour = 0, minute = 0, second = 0;
    int zone_minutes = 0;               // offset east of UTC; obsolete names converted, military letters 0
    int weekday = -1;                   // 0 = Sunday .. 6, as written; -1 when none was given
};

struct DateParse {
    bool ok = false;                    // a date-time was read (it may still carry defects)
    DateTime value;
    // date.syntax, date.obsolete, date.range, date.weekday; offsets are
    // `base` + the offset in the value, texts start with `field` and ": ".
    Defects defects;
};

// Parse an RFC 5322 date-time (a Date: or Resent-Date: field's value).
DateParse parse_date_time(std::string_view value, std::size_t base = 0, std::string_view field = "Date");

// Day of the week of a civil date, 0 = Sunday; days in a month. Any year:
// the Gregorian calendar repeats every 400 years.
int weekday_of(int year, int month, int day);
int days_in_month(int year, int month);

// The instant a DateTime names; nothing when it is out of range, the
// clock's included (system_clock may end in 2262).
std::optional<std::chrono::system_clock::time_point> to_time_point(const DateTime& d);

// "Mon, 23 Nov 2026 08:15:00 +0000": an RFC 5322 date-time in UTC.
std::string format_date_time(std::time_t t);

// RFC 3339 ("2026-11-23T08:15:00Z"; fractions of a second and numeric
// offsets accepted); nothing when malformed. A time the clock cannot hold
// (system_clock may span 1677 to 2262, RFC 3339 years 0000 to 9999) is the
// clock's nearest end.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);
// "2026-11-23T08:15:00Z" (whole seconds, UTC).
std::string format_rfc3339(std::chrono::system_clock::time_point t);

}  // namespace msg
