// mbox_frame.hpp - internals shared by the mbox reader and writer: the
// two-byte SIMD search, and the header scan that finds Content-Length and
// the start of the body the same way on both sides.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace msg::mbox_detail {

// Position of the next `needle` (at least 2 bytes) in [from, n), or npos.
// The needles here ("\nFrom ", ">From ", "From ") start with bytes that
// occur on every line or so, where memchr would stop again and again: look
// for the first two bytes together, 16 positions at a time.
// Kept out of line: inlined into the reader's loops it measured slower.
[[gnu::noinline]] inline std::size_t find_from(const char* p, std::size_t from, std::size_t n, std::string_view needle) {
    const std::size_t k = needle.size();
    std::size_t i = from;
#if defined(__SSE2__)
    const __m128i c0 = _mm_set1_epi8(needle[0]), c1 = _mm_set1_epi8(needle[1]);
    for (; i + 17 <= n; i += 16) {
        const __m128i a = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), c0);
        const __m128i b = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1)), c1);
        for (auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(a, b))); m; m &= m - 1) {
            const std::size_t q = i + static_cast<std::size_t>(std::countr_zero(m));
            if (q + k <= n && std::memcmp(p + q, needle.data(), k) == 0) return q;
        }
    }
#endif
    for (; i + k <= n; ++i)
        if (p[i] == needle[0] && std::memcmp(p + i, needle.data(), k) == 0) return i;
    return std::string_view::npos;
}

inline bool starts_with_from(std::string_view s) { return s.size() >= 5 && std::memcmp(s.data(), "From ", 5) == 0; }

// The header block of a message as the Content-Length formats see it. It
// ends at the first empty line (the body starts after it), at a line that
// begins "From " (the body, or the next message, starts there; no empty
// line), or at the end of the bytes.
struct HeaderScan {
    bool complete = false;          // the end of the header block was seen
    std::size_t body_start = 0;     // offset of the body
    std::size_t blank_len = 0;      // 1 or 2 (LF or CRLF) when an empty line ends the block, else 0
    bool crlf = false;              // the first line of the block ends in CRLF
    bool cl_present = false;        // a Content-Length field was found (the first one counts)
    bool cl_valid = false;          // ... and its value is a number
    std::uint64_t cl = 0;           // ... that number
    std::size_t cl_offset = 0;      // offset of the field's line
    std::size_t cl_value_begin = 0, cl_value_end = 0;  // the value, less surrounding white space
};

// The scan of `s`, a message's bytes from its first header line on, as it
// grows: step() may be called again with the same bytes and more after
// them, and goes on from the first line it had not finished.
struct HeaderScanner {
    HeaderScan h;
    std::size_t pos = 0;   // start of the first line not scanned yet
    bool first = true;

    // `at_end`: no bytes follow `s`; otherwise an unfinished scan (false)
    // asks for more. Returns h.complete.
    bool step(std::string_view s, bool at_end) {
        std::size_t i = pos;
        while (true) {
            if (i >= s.size()) {
                pos = i;
                if (!at_end) return false;
                h.complete = true;
                h.body_start = s.size();
                return true;
            }
            const void* nl = std::memchr(s.data() + i, '\n', s.size() - i);
            if (!nl && !at_end) {
                pos = i;
                return false;
            }
            const std::size_t e = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - s.data()) : s.size();
            std::string_view line = s.substr(i, e - i);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (first && nl) h.crlf = e > i && s[e - 1] == '\r';
            first = false;
            if (nl && line.empty()) {
                h.complete = true;
                h.body_start = e + 1;
                h.blank_len = e + 1 - i;
                return true;
            }
            if (starts_with_from(line)) {
                h.complete = true;
                h.body_start = i;
                return true;
            }
            constexpr std::string_view kName = "content-length";
            if (!h.cl_present && line.size() > kName.size()) {
                bool match = true;
                for (std::size_t k = 0; k < kName.size() && match; ++k) {
                    char c = line[k];
                    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                    match = c == kName[k];
                }
                std::size_t k = kName.size();
                while (match && k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
                if (match && k < line.size() && line[k] == ':') {
                    h.cl_present = true;
                    h.cl_offset = i;
                    ++k;
                    while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
                    std::size_t v = k, end = line.size();
                    while (end > v && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
                    h.cl_value_begin = i + v;
                    h.cl_value_end = i + end;
                    std::uint64_t n = 0;
                    bool ok = end > v && end - v <= 18;
                    for (std::size_t d = v; ok && d < end; ++d) {
                        ok = line[d] >= '0' && line[d] <= '9';
                        n = n * 10 + static_cast<std::uint64_t>(line[d] - '0');
                    }
                    h.cl_valid = ok;
                    h.cl = ok ? n : 0;
                }
            }
            if (!nl) {
                h.complete = true;
                h.body_start = s.size();
                return true;
            }
            i = e + 1;
        }
    }
};

// Scan `s`, a message's bytes from its first header line on, at once.
inline HeaderScan scan_header(std::string_view s, bool at_end) {
    HeaderScanner sc;
    sc.step(s, at_end);
    return sc.h;
}

}  // namespace msg::mbox_detail
