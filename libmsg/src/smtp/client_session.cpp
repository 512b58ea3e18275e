// smtp/client_session.cpp - the client side of an ESMTP session as a state
// machine: replies in, commands out. Each command sent pushes what its
// reply will answer (Expect) on a queue, so that pipelined groups and
// commands sent one by one are read the same way (Postfix keeps a send
// state and a receive state for the same reason).
#include "msg/smtp/client_session.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <unicode/uidna.h>

#include "msg/charset.hpp"
#include "msg/codec.hpp"
#include "msg/rewrite.hpp"

namespace msg::smtp {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
}

bool ascii(std::string_view s) { return first_non_ascii(s) == std::string_view::npos; }

// An ORCPT with UTF-8 in it as it goes to a server without SMTPUTF8, in
// the 7-bit form of RFC 6533 3: "utf-8;" and utf-8-addr-xtext, each
// character outside QCHAR (non-ASCII, '+', '=', '\\', controls, space)
// written \x{HEX} (upper-case, two to six digits). A utf-8 ORCPT keeps the
// \x{..} it already holds; an rfc822 one (which only SMTPUTF8 lets hold
// UTF-8, RFC 6531 3.7.3) has its xtext "+XX" decoded first, so that the
// final DSN still names the original recipient. Empty when it is neither,
// or its address is not valid UTF-8.
std::string orcpt_xtext(std::string_view p) {
    const std::size_t eq = p.find('='), semi = p.find(';');
    if (eq == std::string_view::npos || semi == std::string_view::npos || semi < eq) return {};
    const std::string type = upper(p.substr(eq + 1, semi - eq - 1));
    const bool utf8_type = type == "UTF-8";
    if (!utf8_type && type != "RFC822") return {};
    const std::string_view v = p.substr(semi + 1);
    const std::string addr = utf8_type ? std::string(v) : xtext_decode(v);
    std::string out(p.substr(0, eq + 1));
    out += utf8_type ? std::string(p.substr(eq + 1, semi - eq)) : std::string("utf-8;");
    for (std::size_t i = 0; i < addr.size();) {
        const auto b = static_cast<unsigned char>(addr[i]);
        std::uint32_t cp = b;
        std::size_t len = 1;
        if (b >= 0x80) {
            len = b >= 0xF8 ? 0 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
            if (len == 0 || i + len > addr.size()) return {};
            cp = b & (0x7Fu >> len);
            for (std::size_t k = 1; k < len; ++k) {
                const auto c = static_cast<unsigned char>(addr[i + k]);
                if ((c & 0xC0) != 0x80) return {};
                cp = cp << 6 | (c & 0x3Fu);
            }
        }
        // QCHAR (RFC 6533 3): %x21-2A / %x2C-3C / %x3E-5B / %x5D-7E; a
        // utf-8 ORCPT's own \x{..} escapes pass as they are.
        const bool escape_kept = utf8_type && cp == '\\';
        if ((cp >= 0x21 && cp <= 0x7E && cp != '+' && cp != '=' && cp != '\\') || escape_kept) {
            out += static_cast<char>(cp);
        } else {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\x{%02X}", static_cast<unsigned>(cp));
            out += buf;
        }
        i += len;
    }
    return out;
}

std::string keyword_of(std::string_view param) { return upper(param.substr(0, param.find('='))); }

std::string b64(std::string_view s) { return base64_encode(s, 0, ""); }

// The domain part of an address ("" when it has none).
std::size_t domain_at(std::string_view address) {
    const std::size_t at = address.rfind('@');
    return at == std::string_view::npos ? address.size() : at + 1;
}

const std::string kHidden(kMaskedSecret);   // the password as observers see it

// Why a rewrite left (part of) a message as it was: its first problem, or
// why it refused the message; "" when it says nothing.
std::string why_not_rewritten(const RewriteResult& rr) {
    if (!rr.problems.empty()) return rr.problems.front().where + ": " + rr.problems.front().what;
    if (rr.too_large) return "the message is too large to rewrite";
    if (!rr.not_mail.empty()) return "not a message to rewrite: " + rr.not_mail;
    return {};
}

}  // namespace

std::string secret_from_file(std::string_view text) {
    std::string_view line = text.substr(0, text.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return std::string(line);
}

std::string_view limit_name(Limit l) {
    switch (l) {
    case Limit::greeting: return "greeting";
    case Limit::command: return "command";
    case Limit::data_start: return "data-start";
    case Limit::data_block: return "data-block";
    case Limit::data_end: return "data-end";
    case Limit::quit: return "quit";
    }
    return "command";
}

std::chrono::milliseconds SessionOptions::limit(Limit l) const {
    switch (l) {
    case Limit::greeting: return greeting;
    case Limit::command: return command;
    case Limit::data_start: return data_start;
    case Limit::data_block: return data_block;
    case Limit::data_end: return data_end;
    case Limit::quit: return std::min<std::chrono::milliseconds>(command, std::chrono::seconds(10));
    }
    return command;
}

bool Capabilities::offers(std::string_view keyword) const {
    return std::find(keywords.begin(), keywords.end(), keyword) != keywords.end();
}

Capabilities parse_capabilities(const Reply& r) {
    Capabilities c;
    c.esmtp = true;
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        const std::string line = upper(r.lines[i]);
        const std::string kw = line.substr(0, line.find_first_of(" ="));
        const std::string args = kw.size() < line.size() ? line.substr(kw.size() + 1) : "";
        if (!kw.empty()) c.keywords.push_back(kw);
        if (kw == "PIPELINING") c.pipelining = true;
        else if (kw == "8BITMIME") c.eightbitmime = true;
        else if (kw == "SMTPUTF8") c.smtputf8 = true;
        else if (kw == "DSN") c.dsn = true;
        else if (kw == "CHUNKING") c.chunking = true;
        else if (kw == "STARTTLS") c.starttls = true;
        else if (kw == "ENHANCEDSTATUSCODES") c.enhanced = true;
        else if (kw == "SIZE") {
            // RFC 1870 4: "SIZE" [SP 1*DIGIT]. A value that is not all
            // digits ("1e9", "12,5", "10 20") states no limit that can be
            // known: none is assumed rather than the digits it starts
            // with, which would fail messages for good on a typo. So for
            // one past what 64 bits hold.
            c.size_offered = true;
            std::string_view value = args;
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
            std::uint64_t v = 0;
            bool digits = !value.empty();
            for (char ch : value) {
                if (ch < '0' || ch > '9' || v > UINT64_MAX / 10 - 9) {
                    digits = false;
                    break;
                }
                v = v * 10 + static_cast<std::uint64_t>(ch - '0');
            }
            c.size = digits ? v : 0;
        } else if (kw == "AUTH") {
            std::size_t i0 = 0;
            while (i0 < args.size()) {
                std::size_t e = args.find(' ', i0);
                if (e == std::string::npos) e = args.size();
                std::string mech = args.substr(i0, e - i0);
                if (!mech.empty() && std::find(c.auth.begin(), c.auth.end(), mech) == c.auth.end())
                    c.auth.push_back(mech);
                i0 = e + 1;
            }
        }
    }
    return c;
}

std::string data_payload(std::string_view m, std::size_t* stuffed) {
    std::string out;
    // Room for the stuffing and for an envelope that may follow the dot in
    // the same write (ClientSession::submit).
    out.reserve(m.size() + m.size() / 32 + 512);
    const char* p = m.data();
    const std::size_t n = m.size();
    std::size_t i = 0, dots = 0;
    while (i < n) {
        // The line: up to the next LF, or a CR that is not part of CRLF.
        const void* lf = std::memchr(p + i, '\n', n - i);
        std::size_t e = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - p) : n;
        std::size_t next = lf ? e + 1 : n;
        if (const void* cr = std::memchr(p + i, '\r', e - i)) {
            const auto c = static_cast<std::size_t>(static_cast<const char*>(cr) - p);
            if (c + 1 == e && lf) {
                e = c;                 // CRLF
            } else {
                e = c;                 // a bare CR ends the line
                next = c + 1;
            }
        }
        if (e > i && p[i] == '.') {
            out += '.';
            ++dots;
        }
        out.append(p + i, e - i);
        out += "\r\n";
        i = next;
    }
    out += ".\r\n";
    if (stuffed) *stuffed = dots;
    return out;
}

Result<std::string> domain_to_ascii(std::string_view domain) {
    if (ascii(domain)) return std::string(domain);
    UErrorCode status = U_ZERO_ERROR;
    UIDNA* idna = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ, &status);
    if (U_FAILURE(status)) return Error{EINVAL, std::string("cannot open the IDNA converter: ") + u_errorName(status)};
    std::string out(domain.size() * 4 + 64, '\0');
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    const int32_t n = uidna_nameToASCII_UTF8(idna, domain.data(), static_cast<int32_t>(domain.size()), out.data(),
                                             static_cast<int32_t>(out.size()), &info, &status);
    uidna_close(idna);
    if (U_FAILURE(status) || info.errors != 0)
        return Error{EINVAL, "not a valid internationalised domain: " + std::string(domain)};
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// --- the session ------------------------------------------------------------------

ClientSession::ClientSession(const SessionOptions& opt, std::string server, bool loopback, WireObserver observer)
    : opt_(opt), server_(std::move(server)), loopback_(loopback), observer_(std::move(observer)),
      assembler_(opt.replies) {
    if (opt_.tls_mode == TlsMode::tls) tls_requested_ = true;   // the handshake comes before the greeting
    else expect(Await::greeting);
}

std::string ClientSession::quote(const Reply& r) const {
    std::string s = std::to_string(r.code);
    const std::string t = r.text();
    if (!t.empty()) s += ' ' + t;
    return printable(s);
}

// The driver wrote and cleared the output there was: a final dot in it went out.
void ClientSession::wrote_all() {
    out_data_ = false;
    if (dot_end_ > 0) dot_written_ = true;
    dot_end_ = 0;
}

void ClientSession::send(std::string_view line, std::string_view shown) {
    if (out_.empty()) wrote_all();
    out_.append(line);
    out_ += "\r\n";
    if (observer_) observer_(Wire::sent, shown.empty() ? line : shown);
}

void ClientSession::send_bytes(std::string&& bytes, bool data) {
    if (observer_) {
        std::size_t i = 0;
        while (i < bytes.size()) {
            const std::size_t nl = bytes.find('\n', i);
            const std::size_t end = nl == std::string::npos ? bytes.size() : nl;
            std::string_view l(bytes.data() + i, end - i);
            if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
            observer_(Wire::sent, l);
            i = nl == std::string::npos ? bytes.size() : nl + 1;
        }
    }
    // The message is moved, not copied, when nothing else waits to go.
    if (out_.empty()) {
        wrote_all();
        out_ = std::move(bytes);
        out_data_ = data;
    } else {
        out_ += bytes;
        out_data_ = out_data_ || data;
    }
}

std::optional<Limit> ClientSession::waiting() const {
    if (closed_ || tls_requested_ || expect_.empty()) return std::nullopt;
    switch (expect_.front().what) {
    case Await::greeting: return Limit::greeting;
    case Await::data: return Limit::data_start;
    case Await::dot:
    case Await::empty_dot: return Limit::data_end;
    case Await::quit: return Limit::quit;
    default: return Limit::command;
    }
}

void ClientSession::receive(std::string_view bytes) {
    if (closed_ || bytes.empty()) return;
    if (tls_requested_) {
        // RFC 3207 4.2: nothing the server sent before the handshake counts.
        protocol_error(server_ + " sent data before the TLS handshake (possible command injection)");
        return;
    }
    std::string_view data = bytes;
    if (!in_.empty()) {
        in_.append(bytes);
        data = in_;
    }
    answerable_ = next_serial_;
    std::size_t pos = 0;
    while (!closed_) {
        const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
        if (!nl) break;
        const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - data.data());
        std::string_view l = data.substr(pos, at - pos);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        pos = at + 1;
        line(l);
        if (tls_requested_ && pos < data.size() && !closed_) {
            protocol_error(server_ + " sent data before the TLS handshake (possible command injection)");
            break;
        }
    }
    if (closed_) {
        in_.clear();
        return;
    }
    const std::string_view rest = data.substr(pos);
    if (rest.size() > opt_.replies.max_line) {
        protocol_error("reply from " + server_ + " with a line over " + std::to_string(opt_.replies.max_line) + " bytes");
        in_.clear();
        return;
    }
    if (data.data() == in_.data()) in_.erase(0, pos);
    else in_.assign(rest);
}

void ClientSession::line(std::string_view l) {
    if (observer_) observer_(Wire::received, l);
    switch (assembler_.feed(l)) {
    case ReplyAssembler::Feed::more: return;
    case ReplyAssembler::Feed::error:
        if (assembler_.too_big()) protocol_error("reply from " + server_ + " " + assembler_.error());
        else protocol_error("malformed reply from " + server_ + " (" + assembler_.error() + "): \"" + printable(l) + "\"");
        return;
    case ReplyAssembler::Feed::done:
        ++replies_;
        reply(assembler_.take());
        return;
    }
}

void ClientSession::reply(const Reply& r) {
    // A reply that came with the one a command was sent in answer to (a
    // second greeting, a line after the EHLO reply) answers nothing: taken
    // for that command's, it would put every later reply one command off
    // (RFC 5321 4.2, RFC 2920 3.1: replies come in the order of commands).
    const bool early = !expect_.empty() && expect_.front().serial >= answerable_;
    if (expect_.empty() || early) {
        // RFC 5321 3.8: a server may send 421 at any time, then close.
        if (r.code == 421 && !open_) {
            connection_failed(server_ + " closed the session: " + quote(r), false);
        } else if (r.code == 421) {
            broke_ = server_ + " closed the session: " + quote(r);
            end_all(broke_, false);
        } else if (early) protocol_error("reply from " + server_ + " before the command it would answer was sent: " + quote(r));
        else protocol_error("unexpected reply from " + server_ + ": " + quote(r));
        return;
    }
    const Expect e = expect_.front();
    expect_.pop_front();
    if (!open_) return opening_reply(e.what, r);
    std::string why;
    if (r.code == 421) {
        closing_ = true;
        why = server_ + " closed the session: " + quote(r);
    }
    switch (e.what) {
    case Await::quit:
        closed_ = true;
        return;
    case Await::rset_idle:
        if (r.code != 250 && !closing_) {
            closing_ = true;
            why = server_ + " refused RSET: " + quote(r);
        }
        break;
    case Await::rset_after:
        if (r.code != 250 && !closing_) {
            closing_ = true;
            why = server_ + " refused RSET: " + quote(r);
        }
        finish_txn();
        break;
    case Await::rset_before:
        if (!txns_.front().pipelined && r.code != 250 && !closing_) {
            closing_ = true;
            why = "RSET was refused or the connection broke: " + quote(r);
        }
        if (!closing_) txn_reply(e, r);
        break;
    default:
        txn_reply(e, r);
        break;
    }
    if (closing_) {
        broke_ = why;
        end_all(why, false);
    } else {
        start_next();
    }
}

void ClientSession::opening_reply(Await what, const Reply& r) {
    switch (what) {
    case Await::greeting:
        greeting_ = r;
        if (r.code != 220) return give_up(server_ + " refused the session: " + quote(r), r, r.klass() == 5);
        send("EHLO " + opt_.helo);
        return expect(Await::ehlo);
    case Await::ehlo:
        if (r.code == 250) {
            caps_ = parse_capabilities(r);
            return after_ehlo();
        }
        if (r.code == 421 || r.klass() == 4) return give_up(server_ + " answered EHLO " + quote(r), r, false);
        // A server without EHLO refuses it (500, 502, 504, 550): HELO then.
        // Any other answer is none EHLO can have (RFC 5321 4.3.2).
        if (r.klass() != 5) return protocol_error("reply to EHLO from " + server_ + " that no EHLO can have: " + quote(r));
        send("HELO " + opt_.helo);
        return expect(Await::helo);
    case Await::helo:
        if (r.code != 250)
            return give_up(server_ + " refused EHLO and HELO: " + quote(r), r, r.klass() == 5);
        caps_ = Capabilities{};
        return after_ehlo();
    case Await::starttls:
        if (r.code != 220) return give_up(server_ + " refused STARTTLS: " + quote(r), r, r.klass() == 5);
        tls_requested_ = true;
        return;
    // An authentication failure is retried later, like a 4xx: the
    // credentials or the server's configuration may change.
    case Await::auth_plain:
        if (r.code == 334) return cancel_auth(server_ + " asked for more after AUTH PLAIN: " + quote(r), r);
        if (r.code != 235) return give_up(server_ + " refused AUTH PLAIN: " + quote(r), r, false);
        return opened();
    case Await::auth_login:
        if (r.code != 334) return give_up(server_ + " refused AUTH LOGIN: " + quote(r), r, false);
        send(b64(opt_.auth_user));
        return expect(Await::auth_user);
    case Await::auth_user:
        if (r.code != 334) return give_up(server_ + " refused the user name: " + quote(r), r, false);
        send(b64(opt_.auth_password), b64(kHidden));
        return expect(Await::auth_pass);
    case Await::auth_pass:
        if (r.code == 334) return cancel_auth(server_ + " asked for more after the password: " + quote(r), r);
        if (r.code != 235) return give_up(server_ + " refused the credentials: " + quote(r), r, false);
        return opened();
    case Await::auth_cancel:   // whatever the answer to "*" (501), QUIT now
        if (r.code == 421) {
            closed_ = true;
            return;
        }
        send("QUIT");
        return expect(Await::quit);
    case Await::quit:   // after give_up(): whatever the answer, that is all
        closed_ = true;
        return;
    default:
        return protocol_error("unexpected reply from " + server_ + ": " + quote(r));
    }
}

void ClientSession::after_ehlo() {
    if (opt_.tls_mode == TlsMode::starttls && !tls_) {
        if (!caps_.starttls) return give_up(server_ + " does not offer STARTTLS, which is required", std::nullopt, false);
        send("STARTTLS");
        return expect(Await::starttls);
    }
    if (!opt_.auth_user.empty()) return authenticate();
    opened();
}

void ClientSession::authenticate() {
    if (!tls_ && !loopback_)
        return give_up("refusing to send credentials to " + server_ + " without TLS (use --tls)", std::nullopt, false);
    const bool plain = std::find(caps_.auth.begin(), caps_.auth.end(), "PLAIN") != caps_.auth.end();
    const bool login = std::find(caps_.auth.begin(), caps_.auth.end(), "LOGIN") != caps_.auth.end();
    // Observers get the user name and, for the password, base64 of
    // "********": still a well-formed exchange that a checker accepts.
    auto plain_token = [&](const std::string& password) {
        std::string token;
        token += '\0';
        token += opt_.auth_user;
        token += '\0';
        token += password;
        return b64(token);
    };
    if (plain) {
        send("AUTH PLAIN " + plain_token(opt_.auth_password), "AUTH PLAIN " + plain_token(kHidden));
        return expect(Await::auth_plain);
    }
    if (login) {
        send("AUTH LOGIN");
        return expect(Await::auth_login);
    }
    give_up(server_ + " offers neither AUTH PLAIN nor AUTH LOGIN", std::nullopt, false);
}

void ClientSession::opened() { open_ = true; }

void ClientSession::fail(std::string message, std::optional<Reply> reply, bool permanent, bool unreachable) {
    error_ = SessionError{std::move(message), std::move(reply), permanent, unreachable};
    expect_.clear();
    tls_requested_ = false;
    closed_ = true;
}

// The session cannot be had, but the connection is in order, between
// commands: QUIT before it closes (RFC 5321 4.1.1.10; a server that greeted
// with 554 waits for it, 3.1), and its reply awaited within the quit limit.
// error() says why from now on; closed() once QUIT is answered or the
// connection ends. After a 421 the server has closed the session already.
void ClientSession::give_up(std::string message, std::optional<Reply> reply, bool permanent) {
    const bool server_closed = reply && reply->code == 421;
    fail(std::move(message), std::move(reply), permanent);
    if (server_closed) return;
    closed_ = false;
    send("QUIT");
    expect(Await::quit);
}

// RFC 4954 4: a challenge the client has no answer for is answered "*",
// which cancels the exchange; QUIT only after the server's reply to it (sent
// now, it would be read as the response, and counted as a failed login).
void ClientSession::cancel_auth(std::string message, const Reply& challenge) {
    fail(std::move(message), challenge, false);
    closed_ = false;
    send("*");
    expect(Await::auth_cancel);
}

void ClientSession::protocol_error(const std::string& why) { connection_failed(why, false); }

void ClientSession::tls_started() {
    if (!tls_requested_) return;
    tls_requested_ = false;
    tls_ = true;
    if (greeting_.code == 0) return expect(Await::greeting);   // implicit TLS: the greeting comes now
    send("EHLO " + opt_.helo);
    expect(Await::ehlo);
}

void ClientSession::connection_closed() {
    connection_failed(in_.empty() ? "connection closed by " + server_
                                  : "connection closed by " + server_ + " in the middle of a line");
}

void ClientSession::connection_failed(std::string_view why_view, bool interrupted) {
    if (closed_) return;
    if (error_) {   // given up, and waiting for QUIT's reply: why stays the same
        expect_.clear();
        closed_ = true;
        return;
    }
    const std::string why(why_view);
    if (!open_) {
        std::string message = why;
        bool unreachable = false;
        if (tls_requested_ || expect_.empty()) {
            unreachable = greeting_.code == 0;   // the implicit TLS handshake
        } else {
            switch (expect_.front().what) {
            case Await::greeting:
                message = "no greeting from " + server_ + ": " + why;
                unreachable = true;
                break;
            case Await::ehlo: message = "EHLO to " + server_ + ": " + why; break;
            case Await::helo: message = server_ + " refused EHLO and HELO: " + why; break;
            case Await::starttls: message = "STARTTLS with " + server_ + ": " + why; break;
            default: message = "AUTH with " + server_ + ": " + why; break;
            }
        }
        return fail(std::move(message), std::nullopt, false, unreachable);
    }
    // A transcript says why the session broke (an opening that failed is
    // the driver's to report, with error()).
    if (observer_) observer_(Wire::event, "error " + printable(why));
    if (!interrupted && (expect_.empty() || expect_.front().what != Await::quit)) broke_ = why;
    end_all(why, interrupted);
}

// Everything in flight ends: the session cannot be used again. A final dot
// that went out whole and got no reply may have delivered the message.
void ClientSession::end_all(const std::string& why, bool interrupted) {
    // Whether the final dot awaited went out: all the output was written, or
    // at least the bytes through that dot (a pipelined envelope after it
    // may not have).
    const bool dot_out = !expect_.empty() && expect_.front().what == Await::dot &&
                         (out_.empty() || dot_written_);
    for (Txn& t : txns_) {
        Delivery& d = t.p.delivery;
        std::string w = why;
        if (&t == &txns_.front() && dot_out && t.dot_queued) {
            d.unanswered_dot = true;
            w = "no reply after the message was sent (it may have been delivered): " + why;
        }
        d.connection_lost = true;
        d.interrupted = interrupted;
        // A recipient accepted at RCPT is still pending: RCPT's reply did
        // not decide it, the loss did.
        for (RcptOutcome& o : d.rcpts)
            if (o.state == RcptState::deferred && o.detail.empty() && (!o.reply || o.reply->positive())) {
                o.reply.reset();
                o.detail = w;
            }
        done_.push_back(std::move(d));
    }
    txns_.clear();
    expect_.clear();
    tls_requested_ = false;
    closing_ = true;
    closed_ = true;
}

// --- transactions -------------------------------------------------------------------

Prepared ClientSession::prepare(const Envelope& m, std::string_view original) const {
    Prepared out;
    Delivery& d = out.delivery;
    for (const auto& r : m.rcpts) d.rcpts.push_back(RcptOutcome{r.address, RcptState::deferred, std::nullopt, {}, {}});
    // Every recipient failed here, with the RFC 3463 status of the reason.
    auto decide_all = [&](RcptState st, const std::optional<Reply>& reply, const std::string& detail,
                          std::string_view status) {
        for (RcptOutcome& o : d.rcpts) {
            o.state = st;
            o.reply = reply;
            o.detail = detail;
            o.status = status;
        }
        out.done = true;
        return out;
    };

    // What the message and envelope need (the envelope may ask for more).
    const Needs needed = needs(m, original);
    std::string from = m.mail_from;
    std::vector<std::string> rcpt_addr;
    for (const auto& r : m.rcpts) rcpt_addr.push_back(r.address);
    bool need_utf8 = needed.smtputf8 || m.has_param("SMTPUTF8");
    bool address_utf8 = !ascii(from);
    for (const auto& a : rcpt_addr) address_utf8 = address_utf8 || !ascii(a);
    if (need_utf8 && !caps_.smtputf8 && address_utf8) {
        bool local_ascii = ascii(from.substr(0, domain_at(from)));
        for (const auto& a : rcpt_addr) local_ascii = local_ascii && ascii(std::string_view(a).substr(0, domain_at(a)));
        if (!local_ascii)
            return decide_all(RcptState::failed, std::nullopt,
                              "the address needs SMTPUTF8 (RFC 6531) and " + server_ + " does not offer it", "5.6.7");
        auto convert = [&](std::string& a) -> bool {
            const std::size_t at = domain_at(a);
            auto dom = domain_to_ascii(std::string_view(a).substr(at));
            if (!dom) return false;
            a = a.substr(0, at) + *dom;
            return true;
        };
        if (!convert(from)) return decide_all(RcptState::failed, std::nullopt, "sender domain is not a valid IDN", "5.1.7");
        for (std::size_t i = 0; i < rcpt_addr.size(); ++i)
            if (!convert(rcpt_addr[i])) {
                d.rcpts[i].state = RcptState::failed;
                d.rcpts[i].detail = "not a valid internationalised domain";
                d.rcpts[i].status = "5.1.3";
            }
        d.notes.push_back("domains sent as A-labels (the server does not offer SMTPUTF8)");
    }
    if (!caps_.smtputf8) need_utf8 = false;

    // 8-bit data the server cannot take: a body without 8BITMIME, header
    // text without SMTPUTF8 (RFC 6532). Both are made 7-bit (encoded words,
    // quoted-printable or base64), or the message is refused.
    std::string_view message = original;
    std::string downgraded;
    const bool eight = !ascii(message);
    const bool header_needs_utf8 = needed.header_8bit != Needs::npos && !caps_.smtputf8;
    if ((eight && !caps_.eightbitmime) || header_needs_utf8) {
        const std::string what = header_needs_utf8 ? "8-bit header and " + server_ + " does not offer SMTPUTF8"
                                                   : "8-bit message and " + server_ + " does not offer 8BITMIME";
        if (!opt_.downgrade_8bit) return decide_all(RcptState::failed, std::nullopt, what, "5.6.3");
        RewriteOptions ro;
        ro.seven_bit = true;
        RewriteResult rr = rewrite(message, ro);
        // A part it could not convert, a message it refused (too large, not
        // mail), or one it left as it was: not 7-bit, and not sent as if it were.
        if (!rr.problems.empty() || rr.refused() || !rr.changed) {
            const std::string why = why_not_rewritten(rr);
            return decide_all(RcptState::failed, std::nullopt,
                              what + ", and it cannot be made 7-bit: " +
                                  (why.empty() ? "the conversion changed nothing" : why),
                              "5.6.3");
        }
        downgraded = std::move(rr.output);
        message = downgraded;
        d.notes.push_back(header_needs_utf8 ? "converted to 7 bit (the server does not offer SMTPUTF8)"
                                            : "converted to 7 bit (the server does not offer 8BITMIME)");
    }
    // No line over 998 octets goes out (RFC 5321 4.5.3.1.6): the field is
    // folded, the body encoded again, and nothing else changed (rewrite's
    // line_limit, msgrewrite --line-limit). What cannot be (a signed part,
    // or conversions refused) goes as it is, and the server decides.
    std::string limited;
    if (long_line_at(message) != std::string_view::npos) {
        std::string left;   // why a line over 998 octets stays
        if (!opt_.downgrade_8bit) {
            left = "conversions are off";
        } else {
            RewriteOptions ro;
            ro.line_limit = true;
            RewriteResult rr = rewrite(message, ro);
            if (rr.changed && !rr.refused()) {
                limited = std::move(rr.output);
                message = limited;
                d.notes.push_back("lines over 998 octets folded or encoded again (RFC 5321 4.5.3.1.6)");
            }
            left = why_not_rewritten(rr);
        }
        if (long_line_at(message) != std::string_view::npos)
            d.notes.push_back("a line over 998 octets sent as it is" + (left.empty() ? "" : " (" + left + ")"));
    }
    // BODY=8BITMIME for an 8-bit body, as needs() says (8-bit header text
    // is SMTPUTF8's business).
    const bool eight_now = caps_.eightbitmime && message_needs(message).eightbitmime;
    std::size_t stuffed = 0;
    std::string payload = data_payload(message, &stuffed);
    // RFC 1870 4: the octets sent after the 354, CRLF line ends included,
    // but neither the final ".\r\n" nor the dots added by stuffing (a
    // message with dot lines is no larger for them: refused here for them,
    // it would have been taken).
    const std::uint64_t size = payload.size() - 3 - stuffed;
    if (caps_.size && size > caps_.size)
        return decide_all(RcptState::failed, std::nullopt,
                          "message of " + std::to_string(size) + " bytes is over " + server_ + "'s SIZE limit of " +
                              std::to_string(caps_.size),
                          "5.3.4");

    // RFC 8689: a message that requires TLS goes only over TLS, with the
    // server's certificate verified (4.2.1), to a server that offers
    // REQUIRETLS, and fails rather than lose the requirement.
    if (m.has_param("REQUIRETLS") && !(tls_ && opt_.tls.verify && caps_.offers("REQUIRETLS")))
        return decide_all(RcptState::failed, std::nullopt,
                          "the message requires TLS (REQUIRETLS, RFC 8689) and " + server_ +
                              (!tls_              ? " was reached without TLS"
                               : !opt_.tls.verify ? " was reached without a verified certificate (--tls-verify no)"
                                                  : " does not offer REQUIRETLS"),
                          "5.7.30");

    // MAIL and RCPT lines, with the parameters this server can take: those
    // of an extension its EHLO offered (RFC 5321 2.2.1), no other.
    std::string mail = "MAIL FROM:<" + from + ">";
    bool body_done = false;
    for (const std::string& p : m.mail_params) {
        const std::string k = keyword_of(p);
        if (k == "SIZE" || k == "SMTPUTF8") continue;
        if (k == "BODY") {
            if (!caps_.eightbitmime) continue;
            if (eight_now) {
                mail += " BODY=8BITMIME";
                body_done = true;
                continue;
            }
            // BINARYMIME goes with BDAT only (RFC 3030 3), and DATA is sent.
            if (upper(p) != "BODY=7BIT" && upper(p) != "BODY=8BITMIME") continue;
        }
        if ((k == "RET" || k == "ENVID") && !caps_.dsn) continue;
        if (k == "AUTH" && caps_.auth.empty()) continue;   // RFC 4954 5
        if (k != "BODY" && k != "RET" && k != "ENVID" && k != "AUTH" && !caps_.offers(k)) continue;
        if (!caps_.esmtp) continue;
        mail += ' ' + p;
    }
    if (eight_now && !body_done) mail += " BODY=8BITMIME";
    if (caps_.size_offered) mail += " SIZE=" + std::to_string(size);
    if (need_utf8) mail += " SMTPUTF8";
    std::vector<std::string> rcpt_lines;
    for (std::size_t i = 0; i < m.rcpts.size(); ++i) {
        std::string l = "RCPT TO:<" + rcpt_addr[i] + ">";
        for (const std::string& p : m.rcpts[i].params) {
            const std::string k = keyword_of(p);
            if ((k == "NOTIFY" || k == "ORCPT") && !caps_.dsn) continue;
            if (k != "NOTIFY" && k != "ORCPT" && !caps_.offers(k)) continue;
            if (!caps_.esmtp) continue;
            if (!need_utf8 && !ascii(p)) {
                // Raw UTF-8 goes only with SMTPUTF8; a utf-8 ORCPT has a
                // 7-bit form (RFC 6533 3), so that the final DSN still
                // names the original recipient.
                const std::string x = k == "ORCPT" ? orcpt_xtext(p) : std::string();
                if (!x.empty()) l += ' ' + x;
                continue;
            }
            l += ' ' + p;
        }
        rcpt_lines.push_back(std::move(l));
    }

    out.mail = std::move(mail);
    out.rcpt_lines = std::move(rcpt_lines);
    out.payload = std::move(payload);
    return out;
}

bool ClientSession::can_follow() const {
    return caps_.pipelining && usable() && txns_.size() == 1 && txns_.front().dot_queued;
}

void ClientSession::submit(Prepared p) {
    Delivery& d = p.delivery;
    if (p.done) {
        done_.push_back(std::move(d));
        return;
    }
    if (!usable()) {
        for (RcptOutcome& o : d.rcpts)
            if (o.detail.empty()) {
                o.state = RcptState::deferred;
                o.detail = "the session is closed";
            }
        done_.push_back(std::move(d));
        return;
    }
    const bool follow = can_follow();
    Txn t;
    t.accepted.assign(p.delivery.rcpts.size(), false);
    t.p = std::move(p);
    t.pipelined = caps_.pipelining;
    t.rset = transactions_ > 0;
    ++transactions_;
    txns_.push_back(std::move(t));
    if (follow) send_group(txns_.back());   // behind the final dot, in the same write (RFC 2920 3.1)
    else start_next();
}

void ClientSession::start_next() {
    if (closed_ || txns_.empty() || txns_.front().sent || !expect_.empty()) return;
    begin(txns_.front());
}

void ClientSession::begin(Txn& t) {
    if (t.pipelined) return send_group(t);
    t.sent = true;
    if (t.rset) {
        send("RSET");
        return expect(Await::rset_before);
    }
    send(t.p.mail);
    expect(Await::mail);
}

// The envelope as one pipelined group: RSET when asked, MAIL, each RCPT not
// refused locally, DATA.
void ClientSession::send_group(Txn& t) {
    t.sent = true;
    if (t.rset) {
        send("RSET");
        expect(Await::rset_before);
    }
    send(t.p.mail);
    expect(Await::mail);
    for (std::size_t i = 0; i < t.p.rcpt_lines.size(); ++i)
        if (t.p.delivery.rcpts[i].detail.empty()) {
            send(t.p.rcpt_lines[i]);
            expect(Await::rcpt, i);
        }
    send("DATA");
    expect(Await::data);
}

// One by one: the next RCPT, else DATA when a recipient was accepted, else
// RSET and the end.
void ClientSession::next_command(Txn& t) {
    const auto& rcpts = t.p.delivery.rcpts;
    while (t.next_rcpt < rcpts.size() && !rcpts[t.next_rcpt].detail.empty()) ++t.next_rcpt;
    if (t.next_rcpt < rcpts.size()) {
        send(t.p.rcpt_lines[t.next_rcpt]);
        expect(Await::rcpt, t.next_rcpt);
        ++t.next_rcpt;
        return;
    }
    if (t.any) {
        send("DATA");
        return expect(Await::data);
    }
    if (usable()) {
        send("RSET");
        return expect(Await::rset_after);
    }
    finish_txn();
}

void ClientSession::txn_reply(const Expect& e, const Reply& r) {
    Txn& t = txns_.front();
    Delivery& d = t.p.delivery;
    auto state_of = [](const Reply& x) { return x.klass() == 5 ? RcptState::failed : RcptState::deferred; };
    switch (e.what) {
    case Await::rset_before:
        if (!t.pipelined) {
            send(t.p.mail);
            expect(Await::mail);
        }
        return;
    case Await::mail:
        t.mail_ok = r.klass() == 2;
        d.refused_at_mail = !t.mail_ok;
        if (!t.mail_ok)
            for (RcptOutcome& o : d.rcpts)
                if (o.detail.empty()) {
                    o.reply = r;
                    o.state = state_of(r);
                }
        if (t.pipelined) return;
        if (t.mail_ok) return next_command(t);
        if (usable()) {
            send("RSET");
            return expect(Await::rset_after);
        }
        return finish_txn();
    case Await::rcpt:
        if (t.mail_ok) {
            RcptOutcome& o = d.rcpts[e.rcpt];
            o.reply = r;
            if (r.klass() == 2) {
                t.accepted[e.rcpt] = true;
                t.any = true;
            } else {
                // RFC 5321 4.5.3.1.10: 552 to RCPT is RFC 821's "too many
                // recipients", whose right code is 452: a client treats it
                // as temporary, and the recipient goes in another
                // transaction.
                o.state = r.code == 552 ? RcptState::deferred : state_of(r);
            }
        }
        if (!t.pipelined && !closing_) next_command(t);
        return;
    case Await::data:
        if (r.code == 354) {
            if (!t.any) {
                // RFC 2920 3.1: DATA was accepted though no recipient was;
                // end it with an empty message that the server must refuse.
                send(".");
                return expect(Await::empty_dot);
            }
            t.dot_queued = true;
            send_bytes(std::move(t.p.payload), true);
            dot_end_ = out_.size();
            dot_written_ = false;
            return expect(Await::dot);
        }
        for (std::size_t i = 0; i < t.accepted.size(); ++i)
            if (t.accepted[i]) {
                d.rcpts[i].reply = r;
                d.rcpts[i].state = state_of(r);
            }
        if (usable() && t.mail_ok) {
            send("RSET");
            return expect(Await::rset_after);
        }
        return finish_txn();
    case Await::dot:
        // RFC 5321 4.1.1.4: the server replies once it has the final dot. A
        // reply that comes before the dot went out answers nothing this
        // client sent (a broken or hostile server): nothing was delivered.
        if (!out_.empty() && !dot_written_)
            return protocol_error("reply from " + server_ + " before the message was sent whole: " + quote(r));
        for (std::size_t i = 0; i < t.accepted.size(); ++i)
            if (t.accepted[i]) {
                d.rcpts[i].reply = r;
                d.rcpts[i].state = r.klass() == 2 ? RcptState::sent : state_of(r);
            }
        return finish_txn();
    case Await::empty_dot:
        return finish_txn();
    default:
        return;
    }
}

void ClientSession::finish_txn() {
    if (txns_.empty()) return;
    done_.push_back(std::move(txns_.front().p.delivery));
    txns_.pop_front();
}

Delivery ClientSession::take() {
    if (done_.empty()) return {};
    Delivery d = std::move(done_.front());
    done_.pop_front();
    return d;
}

void ClientSession::reset() {
    if (!ready() || closing_) return;
    send("RSET");
    expect(Await::rset_idle);
}

void ClientSession::quit() {
    if (closed_) return;
    if (ready() && usable()) {
        send("QUIT");
        return expect(Await::quit);
    }
    if (!txns_.empty()) end_all("the session was closed", false);
    closed_ = true;
}

}  // namespace msg::smtp
