// digest.cpp - SHA-256 through OpenSSL EVP (digest.hpp).
#include "msg/digest.hpp"

#include <openssl/evp.h>

namespace msg {

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    // EVP_Digest does init, update and final in one call, with no state kept.
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

}  // namespace msg
