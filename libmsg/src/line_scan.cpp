// line_scan.cpp - the line checks' pass over a message (detail/line_scan.hpp).
//
// The AVX2 loop makes three bit masks of each 64 bytes ('\n', '\r', NUL) and
// finds the events with bit arithmetic: a CR is bare unless the bit after it
// is an LF, an LF (in CRLF mode) is bare unless the bit before it is a CR;
// then only the LFs before the first such event are visited, to measure
// their lines. A message with short lines and consistent line ends costs
// one visit per line.
#include "detail/line_scan.hpp"

#include <bit>
#include <cstdint>

#include "detail/cpu.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(MSG_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace msg::detail {
namespace {

// Offset of the next '\n', '\r' or NUL at or after i (n when none).
std::size_t next_special(const char* p, std::size_t i, std::size_t n) {
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), zero = _mm_setzero_si128();
    for (; n - i >= 16; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)),
                                         _mm_cmpeq_epi8(v, zero));
        if (const int m = _mm_movemask_epi8(hit))
            return i + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(m)));
    }
#endif
    while (i < n && p[i] != '\n' && p[i] != '\r' && p[i] != '\0') ++i;
    return i;
}

#if defined(MSG_X86_DISPATCH)
// The mask of the 64 bytes a, b (a first): bit k is set when byte k is c.
[[gnu::target("avx2")]] inline std::uint64_t mask64(__m256i a, __m256i b, __m256i c) {
    const auto lo = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, c)));
    const auto hi = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, c)));
    return std::uint64_t{hi} << 32 | lo;
}

[[gnu::target("avx2")]] std::size_t scan_avx2(const char* p, std::size_t i, std::size_t n, std::size_t& line,
                                              bool crlf, std::size_t quiet) {
    const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'), zero = _mm256_setzero_si256();
    while (n - i >= 64) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
        const std::uint64_t l = mask64(a, b, lf), c = mask64(a, b, cr);
        std::uint64_t ev = mask64(a, b, zero);
        if (c) {
            // a CR with an LF after it, the last one looking at the next byte
            const std::uint64_t lf_next = (l >> 1) | (i + 64 < n && p[i + 64] == '\n' ? std::uint64_t{1} << 63 : 0);
            ev |= c & ~lf_next;
        }
        if (crlf && l) {
            const std::uint64_t cr_before = (c << 1) | (i > 0 && p[i - 1] == '\r' ? 1u : 0u);
            ev |= l & ~cr_before;
        }
        const std::uint64_t before = ev ? (ev & (0 - ev)) - 1 : ~std::uint64_t{0};  // bits before the first event
        for (std::uint64_t m = l & before; m; m &= m - 1) {
            const std::size_t j = i + static_cast<std::size_t>(std::countr_zero(m));
            if (j - line > quiet) return j;
            line = j + 1;
        }
        if (ev) return i + static_cast<std::size_t>(std::countr_zero(ev));
        i += 64;
    }
    return next_line_event_portable(p, i, n, line, crlf, quiet);
}
#endif

using ScanFn = std::size_t (*)(const char*, std::size_t, std::size_t, std::size_t&, bool, std::size_t);

ScanFn best_scan() {
#if defined(MSG_X86_DISPATCH)
    if (cpu_has_avx2()) return scan_avx2;
#endif
    return next_line_event_portable;
}

}  // namespace

std::size_t next_line_event_portable(const char* p, std::size_t i, std::size_t n, std::size_t& line,
                                     bool crlf, std::size_t quiet) {
    for (; i < n; ++i) {
        i = next_special(p, i, n);
        if (i >= n) return n;
        if (p[i] == '\n') {
            if (i - line > quiet || (crlf && (i == 0 || p[i - 1] != '\r'))) return i;
            line = i + 1;
        } else if (p[i] == '\r') {
            if (i + 1 >= n || p[i + 1] != '\n') return i;
        } else {
            return i;
        }
    }
    return n;
}

bool next_line_event_avx2(const char* p, std::size_t i, std::size_t n, std::size_t& line, bool crlf,
                          std::size_t quiet, std::size_t& at) {
#if defined(MSG_X86_DISPATCH)
    if (cpu_has_avx2()) {
        at = i < n ? scan_avx2(p, i, n, line, crlf, quiet) : n;
        return true;
    }
#else
    (void)p, (void)i, (void)n, (void)line, (void)crlf, (void)quiet, (void)at;
#endif
    return false;
}

std::size_t next_line_event(const char* p, std::size_t i, std::size_t n, std::size_t& line, bool crlf,
                            std::size_t quiet) {
    static const ScanFn scan = best_scan();
    return i < n ? scan(p, i, n, line, crlf, quiet) : n;
}

}  // namespace msg::detail
