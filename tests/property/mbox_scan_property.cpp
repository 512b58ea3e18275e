// mbox_scan_property.cpp - the byte searches of mbox framing
// (libmsg/src/mbox_frame.hpp): find_from and count_newlines, with the AVX2
// loops and the portable ones, agree with a plain byte-by-byte reading at
// every start offset and every end.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mbox_frame.hpp"

namespace {

namespace md = msg::mbox_detail;

std::size_t reference_find(std::string_view s, std::size_t from, std::string_view needle) {
    for (std::size_t i = from; i + needle.size() <= s.size(); ++i)
        if (s.compare(i, needle.size(), needle) == 0) return i;
    return std::string_view::npos;
}

std::uint64_t reference_count(std::string_view s) {
    std::uint64_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

// Archive-like text: From_ lines, quoted ones, near misses ("Fro", "\nFrom"
// at the very end, "From" without the space), line breaks, filler.
rc::Gen<std::string> mbox_text() {
    return rc::gen::map(
        rc::gen::container<std::vector<std::string>>(rc::gen::weightedOneOf<std::string>(
            {{6, rc::gen::map(rc::gen::inRange<std::size_t>(0, 90), [](std::size_t k) { return std::string(k, 'F'); })},
             {6, rc::gen::map(rc::gen::inRange<std::size_t>(0, 90), [](std::size_t k) { return std::string(k, 'x'); })},
             {5, rc::gen::element<std::string>("\n", "\r\n", "\n\n")},
             {3, rc::gen::element<std::string>("From ", "\nFrom ", ">From ", "\n>From ", ">>From ", "\n\nFrom a@b x\n")},
             {2, rc::gen::element<std::string>("Fro", "From", "\nFrom", "\nFrom\n", ">", "\nF", "r")}})),
        [](const std::vector<std::string>& parts) {
            std::string s;
            for (const std::string& p : parts) s += p;
            return s;
        });
}

}  // namespace

RC_GTEST_PROP(MboxScan, FindFromAsTheByteByByteSearch, ()) {
    const std::string s = *mbox_text();
    const std::string_view needle = *rc::gen::element<std::string_view>("\nFrom ", ">From ", "From ", "\nF");
    const std::size_t n = s.empty() ? 0 : *rc::gen::inRange<std::size_t>(0, s.size() + 1);
    const std::string_view v(s.data(), n);
    for (std::size_t from = 0; from <= n; ++from) {
        const std::size_t want = reference_find(v, from, needle);
        RC_ASSERT(md::find_from_portable(s.data(), from, n, needle) == want);
        RC_ASSERT(md::find_from(s.data(), from, n, needle) == want);
        std::size_t at = 0;
        if (md::find_from_avx2(s.data(), from, n, needle, at)) RC_ASSERT(at == want);
    }
}

RC_GTEST_PROP(MboxScan, CountNewlinesAsTheByteByByteCount, ()) {
    const std::string s = *mbox_text();
    for (std::size_t from = 0; from <= s.size(); from += 1 + from / 8) {
        const std::string_view v = std::string_view(s).substr(from);
        const std::uint64_t want = reference_count(v);
        RC_ASSERT(md::count_newlines_portable(v.data(), v.size()) == want);
        RC_ASSERT(md::count_newlines(v.data(), v.size()) == want);
        std::uint64_t got = 0;
        if (md::count_newlines_avx2(v.data(), v.size(), got)) RC_ASSERT(got == want);
    }
}

// Every position of a needle in a long run, and every lane: the needle's
// first byte alone, the pair at a block's last byte and the next block's
// first.
TEST(MboxScan, EveryPlaceInTheVectors) {
    for (const std::string_view needle : {std::string_view("\nFrom "), std::string_view(">From ")})
        for (std::size_t len = 0; len <= 200; len += 7)
            for (std::size_t at = 0; at + needle.size() <= len + needle.size(); ++at) {
                std::string s(len + needle.size(), 'F');
                s.replace(at, needle.size(), needle);
                for (std::size_t k = 0; k < s.size(); k += 13) s[k] = s[k] == 'F' ? '\n' : s[k];  // lone first bytes
                for (std::size_t n : {s.size(), s.size() - 1, at + needle.size()}) {
                    if (n > s.size()) continue;
                    const std::string_view v(s.data(), n);
                    const std::size_t want = reference_find(v, 0, needle);
                    ASSERT_EQ(md::find_from(s.data(), 0, n, needle), want) << len << ' ' << at << ' ' << n;
                    std::size_t got = 0;
                    if (md::find_from_avx2(s.data(), 0, n, needle, got)) ASSERT_EQ(got, want) << len << ' ' << at;
                    std::uint64_t lines = 0;
                    if (md::count_newlines_avx2(s.data(), n, lines)) ASSERT_EQ(lines, reference_count(v));
                }
            }
}
