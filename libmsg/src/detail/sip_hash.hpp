// detail/sip_hash.hpp - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a
// fast short-input PRF", 2012): a 64-bit hash of bytes under a 128-bit
// secret key, for sets of names that anyone may choose (a spool's entry
// names): without the key two names that share a value cannot be found
// faster than by trying 2^64 of them, where the collisions of an unkeyed
// hash (std::hash, a Murmur variant in libstdc++) are solved for at once.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace msg::detail {

struct SipKey {
    std::uint64_t k0 = 0, k1 = 0;
};

inline std::uint64_t sip_hash(const SipKey& key, std::string_view data) {
    std::uint64_t v0 = 0x736f6d6570736575ULL ^ key.k0, v1 = 0x646f72616e646f6dULL ^ key.k1,
                  v2 = 0x6c7967656e657261ULL ^ key.k0, v3 = 0x7465646279746573ULL ^ key.k1;
    const auto round = [&] {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    };
    const auto absorb = [&](std::uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    };
    // (words little-endian, whatever the machine's order)
    const auto byte = [&](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(data[i])}; };
    const std::size_t n = data.size();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t m = 0;
        for (std::size_t j = 0; j < 8; ++j) m |= byte(i + j) << (8 * j);
        absorb(m);
    }
    std::uint64_t last = static_cast<std::uint64_t>(n) << 56;
    for (std::size_t j = 0; i + j < n; ++j) last |= byte(i + j) << (8 * j);
    absorb(last);
    v2 ^= 0xff;
    round();
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace msg::detail
