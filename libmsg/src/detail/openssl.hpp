// detail/openssl.hpp - OpenSSL handles owned by RAII types, and the text of
// OpenSSL's errors. Internal to libmsg: nothing else frees a handle.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace msg::openssl {

struct CtxFree {
    void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct SslFree {
    void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct BioMethodFree {
    void operator()(BIO_METHOD* p) const noexcept { BIO_meth_free(p); }
};
using Ctx = std::unique_ptr<SSL_CTX, CtxFree>;
using Ssl = std::unique_ptr<SSL, SslFree>;   // owns the BIOs set on it
using BioMethod = std::unique_ptr<BIO_METHOD, BioMethodFree>;

// The reasons in this thread's OpenSSL error queue, emptying it:
// "error:...:reason; error:...:reason", or `none` when it is empty.
inline std::string error_text(const char* none = "unknown TLS error") {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? none : out;
}

}  // namespace msg::openssl
