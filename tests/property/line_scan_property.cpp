// line_scan_property.cpp - the line checks' scan (libmsg/src/detail/line_scan.hpp):
// its AVX2 loop and its portable loop stop at the same places as a plain
// byte-by-byte reading of its contract, with `line` moved the same way; and
// the scans built on it or beside it (long_line_at, first_non_ascii) answer
// as their byte-by-byte readings.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "detail/line_scan.hpp"
#include "msg/charset.hpp"
#include "msg/rewrite.hpp"

namespace {

// The contract, one byte at a time.
std::size_t reference(const char* p, std::size_t i, std::size_t n, std::size_t& line, bool crlf, std::size_t quiet) {
    for (; i < n; ++i) {
        if (p[i] == '\0') return i;
        if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n')) return i;
        if (p[i] == '\n') {
            const bool after_cr = i > 0 && p[i - 1] == '\r';
            if (i - line > quiet || (crlf && !after_cr)) return i;
            line = i + 1;
        }
    }
    return n;
}

using Scan = std::size_t (*)(const char*, std::size_t, std::size_t, std::size_t&, bool, std::size_t);

// Every stop from `from` to the end, with `line` at each, as the validator
// walks them (going on after each stop; a stop at '\n' starts a new line).
std::vector<std::pair<std::size_t, std::size_t>> walk(const std::string& s, std::size_t from, std::size_t line,
                                                      bool crlf, std::size_t quiet, int how) {
    std::vector<std::pair<std::size_t, std::size_t>> stops;
    std::size_t i = from;
    for (;;) {
        std::size_t j = 0;
        if (how == 0) j = reference(s.data(), i, s.size(), line, crlf, quiet);
        else if (how == 1) j = msg::detail::next_line_event_portable(s.data(), i, s.size(), line, crlf, quiet);
        else if (how == 2) j = msg::detail::next_line_event(s.data(), i, s.size(), line, crlf, quiet);
        else if (!msg::detail::next_line_event_avx2(s.data(), i, s.size(), line, crlf, quiet, j)) return {};
        stops.emplace_back(j, line);
        if (j >= s.size()) return stops;
        if (s[j] == '\n') line = j + 1;
        i = j + 1;
    }
}

// Text of short and long lines with LF, CRLF, bare CR and NUL in any mix.
rc::Gen<std::string> text_lines() {
    return rc::gen::map(
        rc::gen::container<std::vector<std::string>>(rc::gen::weightedOneOf<std::string>(
            {{6, rc::gen::map(rc::gen::inRange<std::size_t>(0, 120), [](std::size_t k) { return std::string(k, 'x'); })},
             {4, rc::gen::element<std::string>("\n", "\r\n")},
             {1, rc::gen::element<std::string>(std::string(1, '\r'), std::string(1, '\0'), "\n\r", "\r\r\n")}})),
        [](const std::vector<std::string>& parts) {
            std::string s;
            for (const std::string& p : parts) s += p;
            return s;
        });
}

// long_line_at's contract, one byte at a time: lines end at LF, CRLF or a
// bare CR; the first longer than 998 octets.
std::size_t long_line_reference(const std::string& s) {
    std::size_t line = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        const bool end = i == s.size() || s[i] == '\n' || s[i] == '\r';
        if (!end) continue;
        if (i - line > 998) return line;
        if (i < s.size() && s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        line = i + 1;
    }
    return std::string::npos;
}

}  // namespace

// Lines near the limit of 998 in every mix of line ends, NULs among them.
RC_GTEST_PROP(LineScan, LongLineAtAsItsContract, ()) {
    const auto parts = *rc::gen::container<std::vector<std::string>>(rc::gen::weightedOneOf<std::string>(
        {{4, rc::gen::map(rc::gen::inRange<std::size_t>(990, 1003), [](std::size_t k) { return std::string(k, 'x'); })},
         {3, rc::gen::map(rc::gen::inRange<std::size_t>(0, 100), [](std::size_t k) { return std::string(k, 'y'); })},
         {4, rc::gen::element<std::string>("\n", "\r\n", "\r", std::string(1, '\0'), "\r\r\n", "\n\r")}}));
    std::string s;
    for (const std::string& p : parts) s += p;
    RC_ASSERT(msg::long_line_at(s) == long_line_reference(s));
}

// The first byte over 0x7F, wherever it is in a long run of ASCII.
RC_GTEST_PROP(LineScan, FirstNonAsciiAsItsContract, ()) {
    std::string s(*rc::gen::inRange<std::size_t>(0, 400), 'a');
    const int marks = *rc::gen::inRange(0, 3);
    for (int k = 0; k < marks && !s.empty(); ++k)
        s[*rc::gen::inRange<std::size_t>(0, s.size())] = static_cast<char>(*rc::gen::inRange(0x80, 0x100));
    const std::size_t from = *rc::gen::inRange<std::size_t>(0, s.size() + 1);   // every alignment
    const std::string_view v = std::string_view(s).substr(from);
    std::size_t want = std::string::npos;
    for (std::size_t i = 0; i < v.size() && want == std::string::npos; ++i)
        if (static_cast<unsigned char>(v[i]) >= 0x80) want = i;
    RC_ASSERT(msg::first_non_ascii(v) == want);
}

RC_GTEST_PROP(LineScan, EveryLoopStopsWhereTheContractSays, ()) {
    const std::string s = *text_lines();
    const bool crlf = *rc::gen::arbitrary<bool>();
    const std::size_t quiet = *rc::gen::element<std::size_t>(0, 1, 5, 31, 32, 33, 76, 78, 998);
    const std::size_t from = s.empty() ? 0 : *rc::gen::inRange<std::size_t>(0, s.size() + 1);
    // where the line that `from` is in starts
    std::size_t line = from;
    while (line > 0 && s[line - 1] != '\n') --line;
    const auto want = walk(s, from, line, crlf, quiet, 0);
    RC_ASSERT(walk(s, from, line, crlf, quiet, 1) == want);
    RC_ASSERT(walk(s, from, line, crlf, quiet, 2) == want);
    const auto avx2 = walk(s, from, line, crlf, quiet, 3);
    RC_ASSERT(avx2.empty() || avx2 == want);
}

// A long message of 76-character lines: each loop passes over all of it.
TEST(LineScan, ShortLinesPassBy) {
    for (const char* eol : {"\n", "\r\n"}) {
        std::string s;
        for (int k = 0; k < 500; ++k) s += std::string(76, 'a') + eol;
        const bool crlf = eol[0] == '\r';
        std::size_t line = 0, at = 0;
        EXPECT_EQ(msg::detail::next_line_event_portable(s.data(), 0, s.size(), line, crlf, 78), s.size());
        EXPECT_EQ(line, s.size());
        line = 0;
        if (msg::detail::next_line_event_avx2(s.data(), 0, s.size(), line, crlf, 78, at)) {
            EXPECT_EQ(at, s.size());
            EXPECT_EQ(line, s.size());
        }
    }
}

// Asked to start at or past the end, every loop answers the end.
TEST(LineScan, PastTheEndIsTheEnd) {
    const std::string s(100, 'x');
    for (std::size_t from : {s.size(), s.size() + 1, s.size() + 64}) {
        std::size_t line = 0, at = 0;
        EXPECT_EQ(msg::detail::next_line_event(s.data(), from, s.size(), line, true, 0), s.size());
        EXPECT_EQ(msg::detail::next_line_event_portable(s.data(), from, s.size(), line, true, 0), s.size());
        if (msg::detail::next_line_event_avx2(s.data(), from, s.size(), line, true, 0, at)) EXPECT_EQ(at, s.size());
        EXPECT_EQ(line, 0u);
    }
}
