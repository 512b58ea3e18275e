// codec_qp_simd.cpp - runs of quoted-printable escapes decoded five at a
// time with SSSE3, for x86-64 CPUs that have it, chosen at run time.
//
// Text in a non-Latin script is almost all escapes: "=D0=BF=D0=BE=D1=87..."
// decodes to one byte per three, and one escape at a time costs more than
// all the rest of quoted-printable decoding. From a '=', 16 bytes hold five
// escapes in a row at offsets 0, 3, 6, 9 and 12 if they hold any:
//
//   classify  each byte's hex value (digits, A-F, a-f) and whether it is one;
//             against the bit masks of '=' and of hex digits, the first byte
//             that breaks the pattern "=XX=XX=XX=XX=XX" says how many escapes
//             are whole before it.
//   gather    pshufb brings the five high digits together and the five low
//             ones together; high << 4 | low are the five bytes.
//
// The loop goes on while all five are whole, and stops at the first that is
// not (or at anything else): that byte, escape or not, is the scalar
// decoder's, which alone decides what is malformed.
#include <bit>
#include <cstdint>

#include "detail/codec_simd.hpp"
#include "detail/cpu.hpp"

#if defined(MSG_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace msg::detail {
namespace {

#if defined(MSG_X86_DISPATCH)

[[gnu::target("ssse3")]] CodecRun run_ssse3(const unsigned char* in, std::size_t n, char* out) {
    const __m128i zero_char = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9), five = _mm_set1_epi8(5);
    const __m128i lower = _mm_set1_epi8(0x20), a_char = _mm_set1_epi8('a'), ten = _mm_set1_epi8(10);
    const __m128i eq = _mm_set1_epi8('=');
    const __m128i high_digits = _mm_setr_epi8(1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i low_digits = _mm_setr_epi8(2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    std::size_t i = 0;
    char* w = out;
    while (n - i >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
        // '0'..'9' -> 0..9 and 'A'..'F', 'a'..'f' -> 0..5 (+ 10), as unsigned bytes
        const __m128i digit = _mm_sub_epi8(v, zero_char);
        const __m128i letter = _mm_sub_epi8(_mm_or_si128(v, lower), a_char);
        const __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(digit, nine), digit);
        const __m128i is_letter = _mm_cmpeq_epi8(_mm_min_epu8(letter, five), letter);
        const __m128i value = _mm_or_si128(_mm_and_si128(is_digit, digit),
                                           _mm_and_si128(is_letter, _mm_add_epi8(letter, ten)));
        const auto hex = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(is_digit, is_letter)));
        const auto eqs = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, eq)));
        // the first place that breaks the pattern "=XX=XX=XX=XX=XX" (15 if none),
        // and the escapes whole before it
        const unsigned broken = (~eqs & 0x1249u) | (~hex & 0x6DB6u) | 0x8000u;
        const auto k = static_cast<std::size_t>(std::countr_zero(broken)) / 3;
        if (k == 0) break;
        const __m128i bytes = _mm_or_si128(_mm_slli_epi16(_mm_shuffle_epi8(value, high_digits), 4),
                                           _mm_shuffle_epi8(value, low_digits));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(w), bytes);
        i += 3 * k;
        w += k;
        if (k < 5) break;
    }
    return {i, static_cast<std::size_t>(w - out)};
}

QpRunFn run_of(CodecKernel k) {
    if ((k == CodecKernel::ssse3 || k == CodecKernel::avx2) && cpu_has_ssse3()) return run_ssse3;
    return nullptr;
}

#else  // no vector loops in this build

QpRunFn run_of(CodecKernel) { return nullptr; }

#endif

}  // namespace

QpRunFn qp_run_for(CodecKernel k) {
    if (k == CodecKernel::automatic) {
        static const QpRunFn best = run_of(CodecKernel::avx2);
        return best;
    }
    return run_of(k);
}

}  // namespace msg::detail
