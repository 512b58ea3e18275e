// codec_base64_simd.cpp - base64 decoding 16 (SSSE3) or 32 (AVX2) characters
// at a time, for x86-64 CPUs that have them, chosen at run time.
//
// The library is built for plain x86-64 (or any other architecture): only the
// functions here are compiled for SSSE3 or AVX2, each through its own target
// attribute, and called only after the CPU said it runs them. Elsewhere this
// file gives no vector loop and the scalar decoder does everything.
//
// The method is the one described by Wojciech Muła and Daniel Lemire
// ("Faster Base64 Encoding and Decoding Using AVX2 Instructions", 2018):
//
//   classify   a byte is in the alphabet when the bit sets looked up by its
//              low and by its high nibble (pshufb on 16-entry tables) share no
//              bit; one table bit per class of high nibble, one for "never".
//   translate  sextet = byte + offset, the offset looked up by the high
//              nibble, except '/' which shares its high nibble with '+' and
//              gets the entry below it.
//   pack       pmaddubsw joins pairs of sextets into 12 bits, pmaddwd pairs of
//              those into 24, and a byte shuffle keeps three bytes of four.
//
// A block that is not all alphabet is still decoded, and the groups before
// its first other byte are kept; at a line break between groups the loop
// steps over it and goes on. Anything else stops the loop (see
// detail/codec_simd.hpp) and the scalar decoder takes over.
#include "detail/codec_simd.hpp"

#include <bit>
#include <cstdint>

#include "detail/cpu.hpp"

#if defined(MSG_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace msg::detail {
namespace {

#if defined(MSG_X86_DISPATCH)

inline bool is_blank(unsigned char c) { return c == '\n' || c == '\r' || c == ' ' || c == '\t'; }

// After a block of `width` input bytes was decoded (`good`: bit k set when
// byte k is in the alphabet): past the whole block, or past the whole
// groups before the first byte of another kind and the blanks there.
// False when the vector loop must stop: a byte that is neither, or a
// group cut by a blank (the scalar loop takes over).
inline bool advance(const unsigned char* in, std::size_t n, std::uint32_t good, std::size_t width, std::size_t& i,
                    char*& w) {
    const auto k = static_cast<std::size_t>(std::countr_one(good));   // first byte of another kind
    if (k >= width) {
        i += width;
        w += width / 4 * 3;
        return true;
    }
    i += k / 4 * 4;
    w += k / 4 * 3;
    if (k % 4 != 0 || !is_blank(in[i])) return false;
    while (i < n && is_blank(in[i])) ++i;
    return true;
}

// Classes of high nibble: bit 0x01 for 2 ('+', '/'), 0x02 for 3 (digits),
// 0x04 for 4 and 6 (A-O, a-o), 0x08 for 5 and 7 (P-Z, p-z), 0x10 for the rest
// (control bytes, 8-bit bytes): never in the alphabet.
#define MSG_B64_HI_CLASSES 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, \
                           0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10
// For each low nibble, the classes of high nibble it is NOT in the alphabet
// with: 0x?0 is '@' '`' (not 0x30 '0', 0x50 'P', 0x70 'p'); 0x?A is 'Z' 'z'
// but not ':'; 0x?B and 0x?F are '+' '/' but not '[' '{' '_' DEL ...
#define MSG_B64_LO_CLASSES 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, \
                           0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A
// Offset from character to sextet by high nibble; index 1 is '/' (high
// nibble 2, less one): 63 - '/' = 16; index 2 is '+': 62 - '+' = 19.
#define MSG_B64_ROLL 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0
// Three output bytes of each 32-bit lane (bits 23..0, high byte first).
#define MSG_B64_PACK 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1

[[gnu::target("ssse3")]] CodecRun run_ssse3(const unsigned char* in, std::size_t n, char* out) {
    const __m128i lut_hi = _mm_setr_epi8(MSG_B64_HI_CLASSES);
    const __m128i lut_lo = _mm_setr_epi8(MSG_B64_LO_CLASSES);
    const __m128i lut_roll = _mm_setr_epi8(MSG_B64_ROLL);
    const __m128i pack = _mm_setr_epi8(MSG_B64_PACK);
    const __m128i nibble = _mm_set1_epi8(0x0F), slash = _mm_set1_epi8('/');
    const __m128i join6 = _mm_set1_epi32(0x01400140), join12 = _mm_set1_epi32(0x00011000);
    std::size_t i = 0;
    char* w = out;
    while (n - i >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
        const __m128i hi = _mm_and_si128(_mm_srli_epi32(v, 4), nibble);
        const __m128i lo = _mm_and_si128(v, nibble);
        const __m128i bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo), _mm_shuffle_epi8(lut_hi, hi));
        const auto good = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())));
        const __m128i roll = _mm_shuffle_epi8(lut_roll, _mm_add_epi8(hi, _mm_cmpeq_epi8(v, slash)));
        const __m128i sextets = _mm_add_epi8(v, roll);
        const __m128i bits = _mm_madd_epi16(_mm_maddubs_epi16(sextets, join6), join12);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w), _mm_shuffle_epi8(bits, pack));
        if (!advance(in, n, good, 16, i, w)) break;
    }
    return {i, static_cast<std::size_t>(w - out)};
}

[[gnu::target("avx2")]] CodecRun run_avx2(const unsigned char* in, std::size_t n, char* out) {
    const __m256i lut_hi = _mm256_setr_epi8(MSG_B64_HI_CLASSES, MSG_B64_HI_CLASSES);
    const __m256i lut_lo = _mm256_setr_epi8(MSG_B64_LO_CLASSES, MSG_B64_LO_CLASSES);
    const __m256i lut_roll = _mm256_setr_epi8(MSG_B64_ROLL, MSG_B64_ROLL);
    const __m256i pack = _mm256_setr_epi8(MSG_B64_PACK, MSG_B64_PACK);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);  // 12 + 12 bytes together
    const __m256i nibble = _mm256_set1_epi8(0x0F), slash = _mm256_set1_epi8('/');
    const __m256i join6 = _mm256_set1_epi32(0x01400140), join12 = _mm256_set1_epi32(0x00011000);
    std::size_t i = 0;
    char* w = out;
    while (n - i >= 32) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), nibble);
        const __m256i lo = _mm256_and_si256(v, nibble);
        const __m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, lo), _mm256_shuffle_epi8(lut_hi, hi));
        const auto good = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bad, _mm256_setzero_si256())));
        const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(hi, _mm256_cmpeq_epi8(v, slash)));
        const __m256i sextets = _mm256_add_epi8(v, roll);
        const __m256i bits = _mm256_madd_epi16(_mm256_maddubs_epi16(sextets, join6), join12);
        const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(bits, pack), lanes);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(w), bytes);
        if (!advance(in, n, good, 32, i, w)) break;
    }
    return {i, static_cast<std::size_t>(w - out)};
}

// Bit k set when byte k of v is in the alphabet.
[[gnu::target("avx2")]] inline std::uint32_t alphabet_mask(__m256i v, __m256i lut_lo, __m256i lut_hi, __m256i nibble) {
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), nibble);
    const __m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, _mm256_and_si256(v, nibble)),
                                         _mm256_shuffle_epi8(lut_hi, hi));
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bad, _mm256_setzero_si256())));
}
// Bit k set when byte k of a and b are equal.
[[gnu::target("avx2")]] inline std::uint32_t equal_mask(__m256i a, __m256i b) {
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, b)));
}

// base64_check's scan, 64 bytes at a time: the same classification; blanks
// and line breaks found with one more lookup (the blank with that low nibble,
// if any: ' ', '\t', '\n', '\r'; 0xFF never matches a byte the lookup gives
// back).
[[gnu::target("avx2,popcnt")]] std::size_t scan_avx2(const char* p, std::size_t n, std::size_t& sextets,
                                                     LineTracker& lines) {
    const __m256i lut_hi = _mm256_setr_epi8(MSG_B64_HI_CLASSES, MSG_B64_HI_CLASSES);
    const __m256i lut_lo = _mm256_setr_epi8(MSG_B64_LO_CLASSES, MSG_B64_LO_CLASSES);
#define MSG_B64_BLANKS ' ', -1, -1, -1, -1, -1, -1, -1, -1, '\t', '\n', -1, -1, '\r', -1, -1
    const __m256i blanks = _mm256_setr_epi8(MSG_B64_BLANKS, MSG_B64_BLANKS);
#undef MSG_B64_BLANKS
    const __m256i nibble = _mm256_set1_epi8(0x0F), lf = _mm256_set1_epi8('\n');
    std::size_t i = 0, count = 0;
    while (n - i >= 64) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
        const std::uint64_t good = std::uint64_t{alphabet_mask(b, lut_lo, lut_hi, nibble)} << 32 |
                                   alphabet_mask(a, lut_lo, lut_hi, nibble);
        if (good == ~std::uint64_t{0}) {
            count += 64;
            i += 64;
            continue;
        }
        const std::uint64_t other = ~(good | std::uint64_t{equal_mask(_mm256_shuffle_epi8(blanks, b), b)} << 32 |
                                      equal_mask(_mm256_shuffle_epi8(blanks, a), a));
        if (other != 0) break;  // something else: the caller's loop decides
        count += static_cast<std::size_t>(__builtin_popcountll(good));
        for (std::uint64_t nl = std::uint64_t{equal_mask(b, lf)} << 32 | equal_mask(a, lf); nl; nl &= nl - 1)
            lines.newline(i + static_cast<std::size_t>(std::countr_zero(nl)));
        i += 64;
    }
    sextets += count;
    return i;
}

#undef MSG_B64_HI_CLASSES
#undef MSG_B64_LO_CLASSES
#undef MSG_B64_ROLL
#undef MSG_B64_PACK

bool cpu_has(CodecKernel k) {
    switch (k) {
    case CodecKernel::scalar: return true;
    case CodecKernel::ssse3: return cpu_has_ssse3();
    case CodecKernel::avx2: return cpu_has_avx2();
    default: return false;
    }
}

Base64RunFn run_of(CodecKernel k) {
    switch (k) {
    case CodecKernel::ssse3: return cpu_has(k) ? run_ssse3 : nullptr;
    case CodecKernel::avx2: return cpu_has(k) ? run_avx2 : nullptr;
    default: return nullptr;
    }
}

// Only an AVX2 scan: SSE2, which every x86-64 has, is the caller's own loop.
Base64ScanFn scan_of(CodecKernel k) { return k == CodecKernel::avx2 && cpu_has(k) ? scan_avx2 : nullptr; }

#else  // no vector loops in this build

bool cpu_has(CodecKernel k) { return k == CodecKernel::scalar; }
Base64RunFn run_of(CodecKernel) { return nullptr; }
Base64ScanFn scan_of(CodecKernel) { return nullptr; }

#endif

CodecKernel best_kernel() {
    static const CodecKernel best = cpu_has(CodecKernel::avx2)    ? CodecKernel::avx2
                                     : cpu_has(CodecKernel::ssse3) ? CodecKernel::ssse3
                                                                    : CodecKernel::scalar;
    return best;
}

}  // namespace

Base64RunFn base64_run_for(CodecKernel k) {
    if (k == CodecKernel::automatic) {
        static const Base64RunFn best = run_of(best_kernel());
        return best;
    }
    return run_of(k);
}

Base64ScanFn base64_scan_for(CodecKernel k) {
    if (k == CodecKernel::automatic) {
        static const Base64ScanFn best = scan_of(best_kernel());
        return best;
    }
    return scan_of(k);
}

}  // namespace msg::detail

namespace msg {

bool codec_kernel_supported(CodecKernel k) {
    return k == CodecKernel::automatic || detail::cpu_has(k);
}

}  // namespace msg
