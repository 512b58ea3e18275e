// smtp_client_fuzz.cpp - spoolsend's side of SMTP: the client session fed
// arbitrary server bytes, cut into reads where the input says, with
// transactions submitted whenever the session takes them (and behind a
// final dot). The first byte picks the options (PIPELINING is the
// server's to offer; STARTTLS, AUTH, small reply limits are the client's),
// the second the size of the reads; the rest is what the server sends.
// The session must never keep more than a line's limit, every line it
// sends must end in CRLF, and once the connection ends every transaction
// must have ended with an outcome for each recipient.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "msg/smtp/client_session.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t flags = data[0];
    const std::size_t step = (data[1] % 64) + 1;
    const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

    msg::smtp::SessionOptions opt;
    opt.helo = "client.example";
    if (flags & 1) opt.tls_mode = msg::smtp::TlsMode::starttls;
    if (flags & 2) {
        opt.auth_user = "user";
        opt.auth_password = "pass";
    }
    if (flags & 4) opt.replies = {8, 256, 64};
    if (flags & 8) opt.tls_mode = msg::smtp::TlsMode::tls;
    const std::size_t max_line = opt.replies.max_line;
    msg::smtp::ClientSession s(opt, "mx.example:25", (flags & 16) == 0);

    msg::Envelope env;
    env.mail_from = "a@example.org";
    env.rcpts.push_back({"b@example.net", {}});
    env.rcpts.push_back({"c@example.net", {"NOTIFY=FAILURE"}});
    const std::string message = (flags & 32) ? "Subject: caf\xc3\xa9\n\n.line\n" : "Subject: x\n\nbody\n";
    std::size_t submitted = 0, taken = 0;
    const std::size_t want = (flags >> 6) + 1;

    auto drive = [&] {
        if (s.tls_requested()) s.tls_started();
        while (submitted < want && (s.ready() || s.can_follow())) {
            s.submit(s.prepare(env, message));
            ++submitted;
        }
        while (s.completed() > 0) {
            const msg::Delivery d = s.take();
            ++taken;
            check(d.rcpts.size() == 2);
        }
        if (submitted == want && s.ready()) s.quit();
        // Every line sent ends in CRLF.
        const std::string& out = s.output();
        check(out.empty() || (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0));
        s.output().clear();
    };
    drive();
    std::size_t pos = 0;
    while (pos < in.size() && !s.closed()) {
        const std::size_t n = std::min(step, in.size() - pos);
        s.receive(in.substr(pos, n));
        pos += n;
        check(s.buffered() <= max_line);
        drive();
    }
    s.connection_closed();
    drive();
    check(s.closed());
    check(!s.waiting());
    check(taken == submitted);
    return 0;
}
