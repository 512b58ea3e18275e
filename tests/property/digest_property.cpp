// digest_property.cpp - SHA-256 (digest.hpp, detail/sha256.hpp): the loop with
// the SHA extensions and the portable loop agree on every state and block,
// and the digest, in one call or in pieces cut anywhere, is OpenSSL's.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "detail/sha256.hpp"
#include "msg/digest.hpp"

namespace {

std::string openssl_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "(openssl failed)";
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

// Bytes of every value, of a length near the block and padding boundaries
// as often as anywhere else.
rc::Gen<std::string> data() {
    return rc::gen::oneOf(rc::gen::container<std::string>(rc::gen::arbitrary<char>()),
                          rc::gen::mapcat(rc::gen::element<std::size_t>(0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127,
                                                                        128, 129, 1000, 4095, 4096, 65537),
                                          [](std::size_t n) {
                                              return rc::gen::container<std::string>(n, rc::gen::arbitrary<char>());
                                          }));
}

}  // namespace

RC_GTEST_PROP(Sha256, IsOpenSslsDigest, ()) {
    const std::string s = *data();
    RC_ASSERT(msg::sha256_hex(s) == openssl_hex(s));
}

RC_GTEST_PROP(Sha256, InPiecesCutAnywhereIsTheSame, ()) {
    const std::string s = *data();
    const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, s.size() + 1));
    std::vector<std::size_t> at(cuts);
    at.push_back(0);
    at.push_back(s.size());
    std::sort(at.begin(), at.end());
    msg::Sha256 d;
    for (std::size_t i = 0; i + 1 < at.size(); ++i) d.update(std::string_view(s).substr(at[i], at[i + 1] - at[i]));
    RC_ASSERT(d.hex() == openssl_hex(s));
    RC_ASSERT(d.hex().empty());   // ended: a second hex() says nothing
}

RC_GTEST_PROP(Sha256, ExtensionsLoopIsThePortableLoop, ()) {
    const msg::detail::Sha256BlocksFn fast = msg::detail::sha256_blocks_shani();
    if (!fast) RC_DISCARD("no SHA extensions on this CPU");
    const auto state = *rc::gen::container<std::vector<std::uint32_t>>(8, rc::gen::arbitrary<std::uint32_t>());
    const std::size_t blocks = *rc::gen::inRange<std::size_t>(0, 5);
    const auto bytes = *rc::gen::container<std::string>(64 * blocks, rc::gen::arbitrary<char>());
    std::uint32_t a[8], b[8];
    std::memcpy(a, state.data(), sizeof a);
    std::memcpy(b, state.data(), sizeof b);
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    msg::detail::sha256_blocks_portable(a, p, blocks);
    fast(b, p, blocks);
    RC_ASSERT(std::memcmp(a, b, sizeof a) == 0);
}

// Where the CPU has the extensions, the digests above were theirs: the
// portable loop gives the FIPS 180-4 examples too.
TEST(Sha256, PortableLoopKnownAnswer) {
    std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char block[64] = {'a', 'b', 'c', 0x80};
    block[63] = 24;   // three bytes, in bits
    msg::detail::sha256_blocks_portable(h, block, 1);
    const std::uint32_t want[8] = {0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
                                   0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad};
    for (int i = 0; i < 8; ++i) EXPECT_EQ(h[i], want[i]) << i;
}
