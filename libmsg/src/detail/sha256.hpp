// sha256.hpp - the SHA-256 compression function (FIPS 180-4, section 6.2)
// of digest.cpp: a portable loop, which is the reference, and one with the
// x86 SHA extensions, chosen at run time. tests/property/digest_property.cpp
// compares both, and OpenSSL, on every length and split.
#pragma once

#include <cstddef>
#include <cstdint>

namespace msg::detail {

// Runs `blocks` 64-byte blocks at `p` through the hash state (the eight
// words H0..H7).
using Sha256BlocksFn = void (*)(std::uint32_t state[8], const unsigned char* p, std::size_t blocks);

void sha256_blocks_portable(std::uint32_t state[8], const unsigned char* p, std::size_t blocks);
// The loop with the SHA extensions, or nullptr where the CPU or the build
// has none.
Sha256BlocksFn sha256_blocks_shani();
// What sha256_hex and Sha256 use: the fastest of the two.
Sha256BlocksFn sha256_blocks();

}  // namespace msg::detail
