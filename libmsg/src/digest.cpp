// digest.cpp - SHA-256 through OpenSSL EVP (digest.hpp).
#include "msg/digest.hpp"

#include <openssl/evp.h>

namespace msg {
namespace {

std::string to_hex(const unsigned char* md, unsigned int len) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    // EVP_Digest does init, update and final in one call, with no state kept.
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
    return to_hex(md, len);
}

struct Sha256::Ctx {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1;
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {}
Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) {
    if (ctx_->ok && !data.empty()) ctx_->ok = EVP_DigestUpdate(ctx_->md, data.data(), data.size()) == 1;
}

std::string Sha256::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ctx_->ok || EVP_DigestFinal_ex(ctx_->md, md, &len) != 1) return {};
    ctx_->ok = false;   // ended
    return to_hex(md, len);
}

}  // namespace msg
