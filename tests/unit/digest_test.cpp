// digest_test.cpp - SHA-256 (digest.hpp): the FIPS 180-4 examples, whole and in pieces.
#include <gtest/gtest.h>
#include <msg/digest.hpp>

#include <string>

TEST(Digest, Sha256KnownAnswers) {
    // FIPS 180-4 examples.
    EXPECT_EQ(msg::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(msg::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(msg::sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// In pieces of any size, the same digest as in one call.
TEST(Digest, Sha256InPiecesIsTheSame) {
    msg::Sha256 none;
    EXPECT_EQ(none.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const std::string data(1000000, 'a');
    for (std::size_t piece : {1u, 63u, 64u, 65u, 4096u, 999999u}) {
        if (piece == 1u) {
            msg::Sha256 d;
            for (char c : std::string("abc")) d.update(std::string_view(&c, 1));
            EXPECT_EQ(d.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
            continue;
        }
        msg::Sha256 d;
        for (std::size_t at = 0; at < data.size(); at += piece) d.update(std::string_view(data).substr(at, piece));
        EXPECT_EQ(d.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") << piece;
    }
}
