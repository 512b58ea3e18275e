// mbox_scan.cpp - the byte searches of mbox framing (mbox_frame.hpp): the
// next "\nFrom " (or ">From ", "From "), and line counting. The reader runs
// them over every byte of an archive, in the thread that hands messages
// out, so they are the part of reading that does not spread over threads.
//
// The portable loops are the reference (SSE2 where the build targets it);
// the AVX2 loops, chosen at run time, take 64 bytes at a time and leave the
// tail to the portable ones, so answers never depend on the CPU.
#include <bit>
#include <cstdint>
#include <cstring>

#include "detail/cpu.hpp"
#include "mbox_frame.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(MSG_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace msg::mbox_detail {

std::size_t find_from_portable(const char* p, std::size_t from, std::size_t n, std::string_view needle) {
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

// 16 byte-wide counters, summed before they can overflow: compilers turn
// the inner loop into vector compare-and-subtract (std::popcount would be a
// libgcc call on plain x86-64).
std::uint64_t count_newlines_portable(const char* p, std::size_t n) {
    std::uint64_t lines = 0;
    std::size_t i = 0;
    while (n - i >= 16) {
        std::size_t blocks = (n - i) / 16;
        if (blocks > 255) blocks = 255;
        std::uint8_t lane[16] = {};
        for (std::size_t b = 0; b < blocks; ++b, i += 16)
            for (int k = 0; k < 16; ++k) lane[k] = static_cast<std::uint8_t>(lane[k] + (p[i + k] == '\n'));
        for (int k = 0; k < 16; ++k) lines += lane[k];
    }
    for (; i < n; ++i) lines += p[i] == '\n';
    return lines;
}

namespace {

#if defined(MSG_X86_DISPATCH)
// Bit j set when byte j of the 64 at p is c.
[[gnu::target("avx2,popcnt")]] inline std::uint64_t eq64(const char* p, __m256i c) {
    const auto lo = static_cast<std::uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), c)));
    const auto hi = static_cast<std::uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)), c)));
    return std::uint64_t{hi} << 32 | lo;
}

[[gnu::target("avx2,popcnt")]] std::size_t find_avx2(const char* p, std::size_t from, std::size_t n,
                                                     std::string_view needle) {
    const std::size_t k = needle.size();
    const __m256i c0 = _mm256_set1_epi8(needle[0]), c1 = _mm256_set1_epi8(needle[1]);
    std::size_t i = from;
    for (; i + 65 <= n; i += 64) {
        // needle[0] at j and needle[1] at j + 1
        for (std::uint64_t m = eq64(p + i, c0) & eq64(p + i + 1, c1); m; m &= m - 1) {
            const std::size_t q = i + static_cast<std::size_t>(std::countr_zero(m));
            if (q + k <= n && std::memcmp(p + q, needle.data(), k) == 0) return q;
        }
    }
    return find_from_portable(p, i, n, needle);
}

[[gnu::target("avx2,popcnt")]] std::uint64_t count_avx2(const char* p, std::size_t n) {
    const __m256i nl = _mm256_set1_epi8('\n');
    std::uint64_t lines = 0;
    std::size_t i = 0;
    for (; n - i >= 64; i += 64) lines += static_cast<std::uint64_t>(__builtin_popcountll(eq64(p + i, nl)));
    return lines + count_newlines_portable(p + i, n - i);
}
#endif

using FindFn = std::size_t (*)(const char*, std::size_t, std::size_t, std::string_view);
using CountFn = std::uint64_t (*)(const char*, std::size_t);

FindFn best_find() {
#if defined(MSG_X86_DISPATCH)
    if (detail::cpu_has_avx2()) return find_avx2;
#endif
    return find_from_portable;
}

CountFn best_count() {
#if defined(MSG_X86_DISPATCH)
    if (detail::cpu_has_avx2()) return count_avx2;
#endif
    return count_newlines_portable;
}

}  // namespace

std::size_t find_from(const char* p, std::size_t from, std::size_t n, std::string_view needle) {
    static const FindFn find = best_find();
    return find(p, from, n, needle);
}

std::uint64_t count_newlines(const char* p, std::size_t n) {
    static const CountFn count = best_count();
    return count(p, n);
}

bool find_from_avx2(const char* p, std::size_t from, std::size_t n, std::string_view needle, std::size_t& at) {
#if defined(MSG_X86_DISPATCH)
    if (detail::cpu_has_avx2()) {
        at = find_avx2(p, from, n, needle);
        return true;
    }
#else
    (void)p, (void)from, (void)n, (void)needle, (void)at;
#endif
    return false;
}

bool count_newlines_avx2(const char* p, std::size_t n, std::uint64_t& lines) {
#if defined(MSG_X86_DISPATCH)
    if (detail::cpu_has_avx2()) {
        lines = count_avx2(p, n);
        return true;
    }
#else
    (void)p, (void)n, (void)lines;
#endif
    return false;
}

}  // namespace msg::mbox_detail
