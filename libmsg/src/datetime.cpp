// datetime.cpp - RFC 5322 date-time and RFC 3339 timestamps (datetime.hpp).
#include "msg/datetime.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <vector>

#include "msg/header.hpp"

namespace msg {
namespace {

namespace chr = std::chrono;

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool all_alpha(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_alpha(c)) return false;
    return true;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

// Digits to a number, saturating at INT_MAX: a 30-digit year does not overflow.
int to_int(std::string_view s) {
    constexpr int kMax = std::numeric_limits<int>::max();
    int v = 0;
    for (char c : s) {
        const int digit = c - '0';
        if (v > (kMax - digit) / 10) return kMax;
        v = v * 10 + digit;
    }
    return v;
}

// The Gregorian calendar repeats every 400 years (146097 days, 20871
// weeks): a year has the leap days and weekdays of 2000 + year mod 400,
// which std::chrono::year (up to 32767) holds, whatever the year's length.
int calendar_year(std::string_view digits) {
    int r = 0;
    for (char c : digits) r = (r * 10 + (c - '0')) % 400;
    return 2000 + r;
}
chr::year calendar_year(int year) { return chr::year{2000 + (year % 400 + 400) % 400}; }

// The obsolete zone names of RFC 5322 4.3, with their offsets in minutes.
struct ZoneName {
    std::string_view name;
    int minutes;
};
constexpr std::array<ZoneName, 10> kZones{{{"UT", 0}, {"GMT", 0}, {"EST", -300}, {"EDT", -240}, {"CST", -360},
                                           {"CDT", -300}, {"MST", -420}, {"MDT", -360}, {"PST", -480},
                                           {"PDT", -420}}};

class DateParser {
public:
    DateParser(std::string_view s, std::size_t base, std::string_view field, DateParse& out)
        : s_(s), base_(base), field_(field), out_(out) {}

    void parse() {
        split();
        std::size_t i = 0;
        if (toks_.empty()) return bad(unclosed_.value_or(0), "empty date");
        DateTime& d = out_.value;
        std::size_t dow_at = 0;
        if (all_alpha(toks_[0].text)) {
            for (int k = 0; k < 7; ++k)
                if (iequals(toks_[0].text, kDays[static_cast<std::size_t>(k)])) d.weekday = k;
            if (d.weekday < 0) return bad(toks_[0].at, "unknown day of the week");
            dow_at = toks_[0].at;
            i = 1;
            if (i >= toks_.size() || toks_[i].text != ",") return bad(at(i), "expected ',' after the day of the week");
            ++i;
        }
        // day month year
        if (i >= toks_.size() || !all_digits(toks_[i].text) || toks_[i].text.size() > 2)
            return bad(at(i), "expected the day of the month");
        d.day = to_int(toks_[i].text);
        const std::size_t day_at = toks_[i].at;
        ++i;
        if (i < toks_.size())
            for (int k = 0; k < 12; ++k)
                if (iequals(toks_[i].text, kMonths[static_cast<std::size_t>(k)])) d.month = k + 1;
        if (d.month == 0) return bad(at(i), "expected a month name (Jan ... Dec)");
        ++i;
        if (i >= toks_.size() || !all_digits(toks_[i].text) || toks_[i].text.size() < 2)
            return bad(at(i), "expected the year");
        // year = 4*DIGIT: any length; one past INT_MAX is held as INT_MAX,
        // checked as what it is.
        d.year = to_int(toks_[i].text);
        const std::size_t year_at = toks_[i].at;
        int cal_year = calendar_year(toks_[i].text);
        if (toks_[i].text.size() < 4) {
            obsolete(year_at, "two- or three-digit year");
            d.year += toks_[i].text.size() == 2 && d.year < 50 ? 2000 : 1900;
            cal_year = d.year;
        }
        ++i;
        // time-of-day = hour ":" minute [ ":" second ]
        auto two_digits = [&](const char* what) {
            if (i >= toks_.size() || !all_digits(toks_[i].text) || toks_[i].text.size() != 2) {
                bad(at(i), std::string("expected the ") + what + " (two digits)");
                return -1;
            }
            return to_int(toks_[i++].text);
        };
        const std::size_t hour_at = at(i);
        if ((d.hour = two_digits("hour")) < 0) return;
        if (i >= toks_.size() || toks_[i].text != ":") return bad(at(i), "expected ':' after the hour");
        ++i;
        const std::size_t minute_at = at(i);
        if ((d.minute = two_digits("minute")) < 0) return;
        std::size_t second_at = 0;
        if (i < toks_.size() && toks_[i].text == ":") {
            ++i;
            second_at = at(i);
            if ((d.second = two_digits("second")) < 0) return;
        }
        // zone
        if (i >= toks_.size()) return bad(at(i), "no time zone");
        const std::size_t zone_at = toks_[i].at;
        std::optional<std::size_t> zone_minutes_at;  // when over 59
        if (toks_[i].text == "+" || toks_[i].text == "-") {
            // zone = FWS ( "+" / "-" ) 4DIGIT: white space (not a comment)
            // right before the sign, the digits right after it.
            if (zone_at == 0 || !is_space(s_[zone_at - 1]))
                return bad(zone_at, "no white space before the time zone");
            const int sign = toks_[i].text == "-" ? -1 : 1;
            const std::size_t digits_at = zone_at + 1;
            ++i;
            const std::string_view hhmm =
                i < toks_.size() && toks_[i].at == digits_at && all_digits(toks_[i].text) ? toks_[i].text : "";
            if (hhmm.size() != 4)
                return bad(digits_at + std::min<std::size_t>(hhmm.size(), 4), "time zone must be +hhmm or -hhmm");
            const int hh = to_int(hhmm.substr(0, 2)), mm = to_int(hhmm.substr(2));
            if (mm > 59) zone_minutes_at = digits_at + 2;
            d.zone_minutes = sign * (hh * 60 + mm);
            ++i;
        } else if (all_alpha(toks_[i].text)) {
            bool known = false;
            for (const ZoneName& z : kZones)
                if (iequals(toks_[i].text, z.name)) {
                    known = true;
                    d.zone_minutes = z.minutes;
                }
            // Military letters (but J) are "-0000" by RFC 5322 4.3: unknown.
            const bool military = toks_[i].text.size() == 1 && !iequals(toks_[i].text, "J");
            if (!known && !military) return bad(zone_at, "unknown time zone name");
            obsolete(zone_at, "time zone name instead of a numeric offset");
            ++i;
        } else {
            return bad(zone_at, "time zone must be +hhmm or -hhmm");
        }
        if (i < toks_.size()) return bad(toks_[i].at, "text after the time zone");
        if (unclosed_) return bad(*unclosed_, "unclosed comment");
        // ranges, each at its value: the first of the date and time, and
        // the zone's minutes
        const bool in_range = [&] {
            if (d.year < 1900) return range(year_at, "year before 1900"), false;
            if (d.day < 1 || d.day > days_in_month(cal_year, d.month))
                return range(day_at, "no such day in that month"), false;
            if (d.hour > 23) return range(hour_at, "hour over 23"), false;
            if (d.minute > 59) return range(minute_at, "minutes over 59"), false;
            if (d.second > 60) return range(second_at, "seconds over 60"), false;
            return true;
        }();
        if (zone_minutes_at) range(*zone_minutes_at, "zone minutes over 59");
        if (!in_range) return;
        out_.ok = true;
        if (d.weekday >= 0) {
            const int real = weekday_of(cal_year, d.month, d.day);
            if (real != d.weekday)
                add(DefectCode::DateWeekday, dow_at, "the date is a " + std::string(kDays[static_cast<std::size_t>(real)]));
        }
    }

private:
    struct Tok {
        std::string_view text;
        std::size_t at;
    };

    void add(DefectCode c, std::size_t at, std::string detail) {
        out_.defects.push_back({c, base_ + at, field_.empty() ? std::move(detail) : std::string(field_) + ": " + detail});
    }
    // The first syntax error ends the parse. One at or after an unclosed
    // comment (RFC 5322 3.2.2), which took the rest of the value in, is
    // that comment's.
    void bad(std::size_t at, std::string why) {
        if (unclosed_ && at >= *unclosed_) {
            at = *unclosed_;
            why = "unclosed comment";
        }
        add(DefectCode::DateSyntax, at, std::move(why));
    }
    void obsolete(std::size_t at, std::string why) { add(DefectCode::DateObsolete, at, std::move(why)); }
    void range(std::size_t at, std::string why) { add(DefectCode::DateRange, at, std::move(why)); }
    std::size_t at(std::size_t i) const { return i < toks_.size() ? toks_[i].at : s_.size(); }

    // Words of letters or of digits, and single other characters;
    // comments and white space skipped, an unclosed comment noted.
    void split() {
        std::size_t i = 0;
        while (i < s_.size()) {
            const char c = s_[i];
            if (is_space(c)) {
                ++i;
                continue;
            }
            if (c == '(') {
                const std::size_t open = i;
                int depth = 0;
                while (i < s_.size()) {
                    const char d = s_[i++];
                    if (d == '\\') {
                        ++i;
                        continue;
                    }
                    if (d == '(') ++depth;
                    else if (d == ')' && --depth == 0) break;
                }
                if (depth > 0) unclosed_ = open;
                continue;
            }
            const std::size_t b = i;
            if (is_alpha(c)) {
                while (i < s_.size() && is_alpha(s_[i])) ++i;
            } else if (is_digit(c)) {
                while (i < s_.size() && is_digit(s_[i])) ++i;
            } else {
                ++i;
            }
            toks_.push_back({s_.substr(b, i - b), b});
        }
    }

    std::string_view s_;
    std::size_t base_;
    std::string_view field_;
    DateParse& out_;
    std::vector<Tok> toks_;
    std::optional<std::size_t> unclosed_;  // where an unclosed comment opens
};

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (!is_digit(s[i])) return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

}  // namespace

DateParse parse_date_time(std::string_view value, std::size_t base, std::string_view field) {
    DateParse out;
    DateParser(value, base, field, out).parse();
    return out;
}

int weekday_of(int year, int month, int day) {
    const chr::year_month_day ymd{calendar_year(year), chr::month{static_cast<unsigned>(month)},
                                  chr::day{static_cast<unsigned>(day)}};
    return static_cast<int>(chr::weekday{chr::sys_days{ymd}}.c_encoding());
}

int days_in_month(int year, int month) {
    const chr::year_month_day_last last{calendar_year(year), chr::month_day_last{chr::month{static_cast<unsigned>(month)}}};
    return static_cast<int>(static_cast<unsigned>(last.day()));
}

namespace {

// system_clock may count nanoseconds in 64 bits: 1677 to 2262.
constexpr chr::sys_seconds kClockFirst = chr::ceil<chr::seconds>(chr::system_clock::time_point::min());
constexpr chr::sys_seconds kClockLast = chr::floor<chr::seconds>(chr::system_clock::time_point::max());

// The second a DateTime names, whatever the clock can hold; nothing when
// it names none (a 30 February, an hour 24).
std::optional<chr::sys_seconds> to_seconds(const DateTime& d) {
    // std::chrono::year would cut a larger year to 16 bits.
    if (d.year < static_cast<int>(chr::year::min()) || d.year > static_cast<int>(chr::year::max()) ||
        d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31 || d.hour < 0 || d.hour > 23 || d.minute < 0 ||
        d.minute > 59 || d.second < 0 || d.second > 60)
        return std::nullopt;
    const chr::year_month_day ymd{chr::year{d.year}, chr::month{static_cast<unsigned>(d.month)},
                                  chr::day{static_cast<unsigned>(d.day)}};
    if (!ymd.ok()) return std::nullopt;
    return chr::sys_days{ymd} + chr::hours{d.hour} + chr::minutes{d.minute} + chr::seconds{d.second} -
           chr::minutes{d.zone_minutes};
}

}  // namespace

std::optional<chr::system_clock::time_point> to_time_point(const DateTime& d) {
    const std::optional<chr::sys_seconds> t = to_seconds(d);
    if (!t || *t < kClockFirst || *t > kClockLast) return std::nullopt;
    return chr::time_point_cast<chr::system_clock::duration>(*t);
}

std::string format_date_time(std::time_t t) {
    const chr::sys_seconds s{chr::seconds{t}};
    const chr::sys_days day = chr::floor<chr::days>(s);
    const chr::year_month_day ymd{day};
    const chr::hh_mm_ss<chr::seconds> hms{s - day};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %u %s %04d %02ld:%02ld:%02ld +0000",
                  kDays[chr::weekday{day}.c_encoding()].data(), static_cast<unsigned>(ymd.day()),
                  kMonths[static_cast<unsigned>(ymd.month()) - 1].data(), static_cast<int>(ymd.year()),
                  static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                  static_cast<long>(hms.seconds().count()));
    return buf;
}

std::optional<chr::system_clock::time_point> parse_rfc3339(std::string_view s) {
    DateTime d;
    if (!digits(s, 0, 4, d.year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, d.month) || s[7] != '-' ||
        !digits(s, 8, 2, d.day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, d.hour) ||
        s[13] != ':' || !digits(s, 14, 2, d.minute) || s[16] != ':' || !digits(s, 17, 2, d.second))
        return std::nullopt;
    std::size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
    }
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om))
            return std::nullopt;
        d.zone_minutes = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
        i += 6;
    } else {
        return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    // Any year 0000 to 9999 is RFC 3339's: one the clock cannot hold is
    // its nearest end (a Next-Attempt: in 9999 waits as long as one in 2262).
    const std::optional<chr::sys_seconds> t = to_seconds(d);
    if (!t) return std::nullopt;
    return chr::time_point_cast<chr::system_clock::duration>(std::clamp(*t, kClockFirst, kClockLast));
}

std::string format_rfc3339(chr::system_clock::time_point t) {
    const chr::sys_seconds s = chr::floor<chr::seconds>(t);
    const chr::sys_days day = chr::floor<chr::days>(s);
    const chr::year_month_day ymd{day};
    const chr::hh_mm_ss<chr::seconds> hms{s - day};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                  static_cast<long>(hms.seconds().count()));
    return buf;
}

}  // namespace msg
