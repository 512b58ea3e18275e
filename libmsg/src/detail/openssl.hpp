// detail/openssl.hpp - OpenSSL handles owned by RAII types, and the text of
// OpenSSL's errors. Internal to libmsg: nothing else frees a handle.
#pragma once

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>

#include <sys/socket.h>

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

// A BIO method over a socket that writes with MSG_NOSIGNAL, so that a peer
// gone away is an error (EPIPE), not a SIGPIPE that kills the process: the
// tools need not ignore the signal. A BIO of it holds the fd as its data
// (socket_bio); the method must outlive its BIOs.
namespace socket_detail {
inline int fd_of(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }
inline bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }
inline int write(BIO* b, const char* data, int n) {
    BIO_clear_retry_flags(b);
    const ssize_t r = ::send(fd_of(b), data, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    if (r < 0 && would_block(errno)) BIO_set_retry_write(b);
    return static_cast<int>(r);
}
inline int read(BIO* b, char* data, int n) {
    BIO_clear_retry_flags(b);
    const ssize_t r = ::recv(fd_of(b), data, static_cast<std::size_t>(n), 0);
    if (r < 0 && would_block(errno)) BIO_set_retry_read(b);
    return static_cast<int>(r);
}
inline long ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
}  // namespace socket_detail

// The method, or null when OpenSSL cannot make one.
inline BioMethod socket_method() {
    BioMethod m(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "msg socket"));
    if (m) {
        BIO_meth_set_write(m.get(), socket_detail::write);
        BIO_meth_set_read(m.get(), socket_detail::read);
        BIO_meth_set_ctrl(m.get(), socket_detail::ctrl);
    }
    return m;
}

// Set a BIO of `method` over `fd` on `ssl` (which owns it from then on);
// false when OpenSSL cannot make one.
inline bool set_socket_bio(SSL* ssl, BIO_METHOD* method, int fd) {
    BIO* bio = BIO_new(method);
    if (!bio) return false;
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl, bio, bio);
    return true;
}

}  // namespace msg::openssl
