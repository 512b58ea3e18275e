// digest.cpp - SHA-256 (FIPS 180-4) for the JSON outputs (digest.hpp), and its
// compression function (detail/sha256.hpp). The library's own, so that a tool
// that only parses and describes messages does not load a TLS library at
// every start.
#include "msg/digest.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "detail/cpu.hpp"
#include "detail/sha256.hpp"

#if defined(MSG_X86_DISPATCH)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace msg {
namespace detail {
namespace {

// The round constants (section 4.2.2) and the initial hash value (5.3.3).
alignas(16) constexpr std::uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

std::uint32_t load_be32(const unsigned char* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

#if defined(MSG_X86_DISPATCH)
// The SHA extensions, with the SSSE3 and SSE4.1 shuffles and blends their
// loop needs (CPUID leaf 7: EBX bit 29; leaf 1: ECX bits 9 and 19).
bool cpu_has_sha() {
    static const bool yes = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19))) return false;
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
        return (b & (1u << 29)) != 0;
    }();
    return yes;
}

// Four rounds a step. The state is held as the instructions want it: one
// register with A, B, E, F and one with C, D, G, H (highest word first).
// The message schedule is kept in four registers, each four words of W;
// SHA256MSG1 and SHA256MSG2 add the sigma terms, the words seven back are
// put in between them.
__attribute__((target("sha,sse4.1,ssse3"))) void blocks_shani(std::uint32_t state[8], const unsigned char* p,
                                                             std::size_t blocks) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);   // each word's bytes
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)), 0xB1);
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), 0x1B);
    __m128i abef = _mm_alignr_epi8(dcba, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);
    for (; blocks > 0; --blocks, p += 64) {
        const __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i w[4];
#pragma GCC unroll 16
        for (int r = 0; r < 16; ++r) {
            __m128i m;
            if (r < 4) {
                m = w[r] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * r)), swap);
            } else {
                // W[4r..4r+3] from W[4r-16..], W[4r-12..], W[4r-8..], W[4r-4..]:
                // the slots r, r+1, r+2 and r+3 (mod 4).
                __m128i t = _mm_sha256msg1_epu32(w[r & 3], w[(r + 1) & 3]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(w[(r + 3) & 3], w[(r + 2) & 3], 4));
                m = w[r & 3] = _mm_sha256msg2_epu32(t, w[(r + 3) & 3]);
            }
            __m128i k = _mm_add_epi32(m, _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * r)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, k);   // two rounds: now the new A, B, E, F
            k = _mm_shuffle_epi32(k, 0x0E);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, k);   // two more
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}
#endif

}  // namespace

void sha256_blocks_portable(std::uint32_t state[8], const unsigned char* p, std::size_t blocks) {
    for (; blocks > 0; --blocks, p += 64) {
        std::uint32_t w[64];
        for (int t = 0; t < 16; ++t) w[t] = load_be32(p + 4 * t);
        for (int t = 16; t < 64; ++t) {
            const std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            const std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        std::uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int t = 0; t < 64; ++t) {
            const std::uint32_t t1 =
                h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[t] + w[t];
            const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

Sha256BlocksFn sha256_blocks_shani() {
#if defined(MSG_X86_DISPATCH)
    if (cpu_has_sha()) return blocks_shani;
#endif
    return nullptr;
}

Sha256BlocksFn sha256_blocks() {
    static const Sha256BlocksFn fn = [] {
        const Sha256BlocksFn fast = sha256_blocks_shani();
        return fast ? fast : sha256_blocks_portable;
    }();
    return fn;
}

}  // namespace detail

struct Sha256::Ctx {
    std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char pending[64];
    std::size_t npending = 0;
    std::uint64_t total = 0;   // bytes hashed
    bool ended = false;
    const detail::Sha256BlocksFn blocks = detail::sha256_blocks();

    void update(const unsigned char* p, std::size_t n) {
        total += n;
        if (npending > 0) {
            const std::size_t take = std::min(n, sizeof pending - npending);
            std::memcpy(pending + npending, p, take);
            npending += take;
            p += take;
            n -= take;
            if (npending < sizeof pending) return;
            blocks(h, pending, 1);
            npending = 0;
        }
        if (n >= 64) {
            blocks(h, p, n / 64);
            p += n / 64 * 64;
            n %= 64;
        }
        std::memcpy(pending, p, n);
        npending = n;
    }

    // Padding (section 5.1.1): a one bit, zeros, and the length in bits in
    // the block's last eight bytes.
    std::string finish() {
        const std::uint64_t bits = total * 8;
        unsigned char tail[128] = {};
        std::memcpy(tail, pending, npending);
        tail[npending] = 0x80;
        const std::size_t len = npending < 56 ? 64 : 128;
        for (int i = 0; i < 8; ++i) tail[len - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
        blocks(h, tail, len / 64);
        static const char hex[] = "0123456789abcdef";
        std::string out(64, '0');
        for (int i = 0; i < 32; ++i) {
            const unsigned byte = (h[i / 4] >> (24 - 8 * (i % 4))) & 0xff;
            out[2 * i] = hex[byte >> 4];
            out[2 * i + 1] = hex[byte & 15];
        }
        return out;
    }
};

std::string sha256_hex(std::string_view data) {
    Sha256 d;
    d.update(data);
    return d.hex();
}

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {}
Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) {
    if (!ctx_->ended) ctx_->update(reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::string Sha256::hex() {
    if (ctx_->ended) return {};
    ctx_->ended = true;
    return ctx_->finish();
}

}  // namespace msg
