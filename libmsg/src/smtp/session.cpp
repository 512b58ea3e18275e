// smtp/session.cpp - the ESMTP client session and its transactions.
#include "msg/smtp/session.hpp"

#include <algorithm>
#include <atomic>
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

std::string keyword_of(std::string_view param) { return upper(param.substr(0, param.find('='))); }

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Capabilities parse_capabilities(const Reply& r) {
    Capabilities c;
    c.esmtp = true;
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        const std::string line = upper(r.lines[i]);
        const std::string kw = line.substr(0, line.find_first_of(" ="));
        const std::string args = kw.size() < line.size() ? line.substr(kw.size() + 1) : "";
        if (kw == "PIPELINING") c.pipelining = true;
        else if (kw == "8BITMIME") c.eightbitmime = true;
        else if (kw == "SMTPUTF8") c.smtputf8 = true;
        else if (kw == "DSN") c.dsn = true;
        else if (kw == "CHUNKING") c.chunking = true;
        else if (kw == "STARTTLS") c.starttls = true;
        else if (kw == "ENHANCEDSTATUSCODES") c.enhanced = true;
        else if (kw == "SIZE") {
            c.size_offered = true;
            std::uint64_t v = 0;
            for (char ch : args) {
                if (ch < '0' || ch > '9' || v > UINT64_MAX / 10 - 9) break;
                v = v * 10 + static_cast<std::uint64_t>(ch - '0');
            }
            c.size = v;
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

std::string b64(std::string_view s) { return base64_encode(s, 0, ""); }

// The domain part of an address ("" when it has none).
std::size_t domain_at(std::string_view address) {
    const std::size_t at = address.rfind('@');
    return at == std::string_view::npos ? address.size() : at + 1;
}

}  // namespace

std::string data_payload(std::string_view m) {
    std::string out;
    out.reserve(m.size() + m.size() / 32 + 8);
    const char* p = m.data();
    const std::size_t n = m.size();
    std::size_t i = 0;
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
        if (e > i && p[i] == '.') out += '.';
        out.append(p + i, e - i);
        out += "\r\n";
        i = next;
    }
    out += ".\r\n";
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

Result<Reply> Session::command(std::string_view line, std::chrono::seconds limit, std::string_view secret) {
    conn_.set_timeout(limit);
    std::string wire(line);
    wire += "\r\n";
    if (auto w = conn_.write(wire, secret); !w) return w.error();
    return conn_.read_reply();
}

Result<Session> Session::open(const Endpoint& server, const SessionOptions& opt, WireObserver observer,
                              SessionError* error) {
    SessionError local;
    SessionError& err = error ? *error : local;
    auto conn = Connection::open(server, opt.greeting);
    if (!conn) {
        err = SessionError{conn.error().message, std::nullopt, false, true};
        return conn.error();
    }
    static std::atomic<std::uint64_t> next_id{1};
    Session s;
    s.id_ = next_id++;
    s.conn_ = std::move(*conn);
    s.server_ = server;
    s.opt_ = opt;
    if (observer) s.conn_.set_observer(std::move(observer));
    auto fail = [&](std::string message, std::optional<Reply> reply, bool unreachable) -> Result<Session> {
        err = SessionError{message, reply, reply && reply->klass() == 5, unreachable};
        return Error{EPROTO, std::move(message)};
    };
    if (opt.tls_mode == TlsMode::tls) {
        if (auto t = s.conn_.start_tls(opt.tls, server.host); !t) return fail(t.error().message, std::nullopt, true);
    }
    auto g = s.conn_.read_reply();
    if (!g) return fail("no greeting from " + server.str() + ": " + g.error().message, std::nullopt, true);
    s.greeting_ = *g;
    if (g->code != 220) return fail(server.str() + " refused the session: " + g->wire(), *g, false);
    if (!s.ehlo(&err)) return Error{EPROTO, err.message};
    if (opt.tls_mode == TlsMode::starttls) {
        if (!s.caps_.starttls) return fail(server.str() + " does not offer STARTTLS, which is required", std::nullopt, false);
        auto r = s.command("STARTTLS", opt.command);
        if (!r) return fail("STARTTLS with " + server.str() + ": " + r.error().message, std::nullopt, false);
        if (r->code != 220) return fail(server.str() + " refused STARTTLS: " + r->text(), *r, false);
        if (auto t = s.conn_.start_tls(opt.tls, server.host); !t) return fail(t.error().message, std::nullopt, false);
        if (!s.ehlo(&err)) return Error{EPROTO, err.message};
    }
    if (!opt.auth_user.empty() && !s.authenticate(&err)) return Error{EACCES, err.message};
    return s;
}

bool Session::ehlo(SessionError* error) {
    auto r = command("EHLO " + opt_.helo, opt_.command);
    if (!r) {
        *error = SessionError{"EHLO to " + server_.str() + ": " + r.error().message, std::nullopt, false, false};
        return false;
    }
    if (r->code == 250) {
        caps_ = parse_capabilities(*r);
        return true;
    }
    if (r->code == 421 || r->klass() == 4) {
        *error = SessionError{server_.str() + " answered EHLO " + r->wire(), *r, false, false};
        return false;
    }
    auto h = command("HELO " + opt_.helo, opt_.command);
    if (!h || h->code != 250) {
        *error = SessionError{server_.str() + " refused EHLO and HELO" + (h ? ": " + h->text() : ": " + h.error().message),
                              h ? std::optional<Reply>(*h) : std::nullopt, h && h->klass() == 5, false};
        return false;
    }
    caps_ = Capabilities{};
    return true;
}

bool Session::authenticate(SessionError* error) {
    auto fail = [&](std::string message, std::optional<Reply> reply) {
        // An authentication failure is retried later, like a 4xx: the
        // credentials or the server's configuration may change.
        *error = SessionError{std::move(message), std::move(reply), false, false};
        return false;
    };
    if (!conn_.tls() && !is_loopback(server_.host))
        return fail("refusing to send credentials to " + server_.str() + " without TLS (use --tls)", std::nullopt);
    const bool plain = std::find(caps_.auth.begin(), caps_.auth.end(), "PLAIN") != caps_.auth.end();
    const bool login = std::find(caps_.auth.begin(), caps_.auth.end(), "LOGIN") != caps_.auth.end();
    // Transcripts get the user name and, for the password, base64 of
    // "********": still a well-formed exchange that a checker accepts.
    const std::string hidden = "********";
    auto plain_token = [&](const std::string& password) {
        std::string token;
        token += '\0';
        token += opt_.auth_user;
        token += '\0';
        token += password;
        return b64(token);
    };
    if (plain) {
        auto r = command("AUTH PLAIN " + plain_token(opt_.auth_password), opt_.command,
                         "AUTH PLAIN " + plain_token(hidden));
        if (!r) return fail("AUTH with " + server_.str() + ": " + r.error().message, std::nullopt);
        if (r->code != 235) return fail(server_.str() + " refused AUTH PLAIN: " + r->text(), *r);
        return true;
    }
    if (login) {
        auto r = command("AUTH LOGIN", opt_.command);
        if (!r) return fail("AUTH with " + server_.str() + ": " + r.error().message, std::nullopt);
        if (r->code != 334) return fail(server_.str() + " refused AUTH LOGIN: " + r->text(), *r);
        r = command(b64(opt_.auth_user), opt_.command);
        if (!r) return fail("AUTH with " + server_.str() + ": " + r.error().message, std::nullopt);
        if (r->code != 334) return fail(server_.str() + " refused the user name: " + r->text(), *r);
        r = command(b64(opt_.auth_password), opt_.command, b64(hidden));
        if (!r) return fail("AUTH with " + server_.str() + ": " + r.error().message, std::nullopt);
        if (r->code != 235) return fail(server_.str() + " refused the credentials: " + r->text(), *r);
        return true;
    }
    return fail(server_.str() + " offers neither AUTH PLAIN nor AUTH LOGIN", std::nullopt);
}

Session::Prepared Session::prepare(const Envelope& m, std::string_view original) const {
    Prepared out;
    Delivery& d = out.delivery;
    for (const auto& r : m.rcpts) d.rcpts.push_back(RcptOutcome{r.address, RcptState::deferred, std::nullopt, {}});
    auto decide_all = [&](RcptState st, const std::optional<Reply>& reply, const std::string& detail) {
        for (RcptOutcome& o : d.rcpts) {
            o.state = st;
            o.reply = reply;
            o.detail = detail;
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
                              "the address needs SMTPUTF8 (RFC 6531) and " + server_.str() + " does not offer it");
        auto convert = [&](std::string& a) -> bool {
            const std::size_t at = domain_at(a);
            auto dom = domain_to_ascii(std::string_view(a).substr(at));
            if (!dom) return false;
            a = a.substr(0, at) + *dom;
            return true;
        };
        if (!convert(from)) return decide_all(RcptState::failed, std::nullopt, "sender domain is not a valid IDN");
        for (std::size_t i = 0; i < rcpt_addr.size(); ++i)
            if (!convert(rcpt_addr[i])) {
                d.rcpts[i].state = RcptState::failed;
                d.rcpts[i].detail = "not a valid internationalised domain";
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
        const std::string what = header_needs_utf8 ? "8-bit header and " + server_.str() + " does not offer SMTPUTF8"
                                                   : "8-bit message and " + server_.str() + " does not offer 8BITMIME";
        if (!opt_.downgrade_8bit) return decide_all(RcptState::failed, std::nullopt, what);
        RewriteOptions ro;
        ro.seven_bit = true;
        RewriteResult rr = rewrite(message, ro);
        if (!rr.problems.empty())
            return decide_all(RcptState::failed, std::nullopt,
                              what + ", and it cannot be made 7-bit: " + rr.problems.front().where + ": " +
                                  rr.problems.front().what);
        downgraded = std::move(rr.output);
        message = downgraded;
        d.notes.push_back(header_needs_utf8 ? "converted to 7 bit (the server does not offer SMTPUTF8)"
                                            : "converted to 7 bit (the server does not offer 8BITMIME)");
    }
    // BODY=8BITMIME for an 8-bit body, as needs() says (8-bit header text
    // is SMTPUTF8's business).
    const bool eight_now = caps_.eightbitmime && message_needs(message).eightbitmime;
    const std::string payload = data_payload(message);
    // RFC 1870: the size on the wire, CRLF line ends included (the dots
    // added by stuffing make it a slight overestimate, which is allowed);
    // without the final ".\r\n".
    const std::uint64_t size = payload.size() - 3;
    if (caps_.size && size > caps_.size)
        return decide_all(RcptState::failed, std::nullopt,
                          "message of " + std::to_string(size) + " bytes is over " + server_.str() + "'s SIZE limit of " +
                              std::to_string(caps_.size));

    // MAIL and RCPT lines, with the parameters this server can take.
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
        }
        if ((k == "RET" || k == "ENVID") && !caps_.dsn) continue;
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
            if (!caps_.esmtp) continue;
            l += ' ' + p;
        }
        rcpt_lines.push_back(std::move(l));
    }

    out.mail = std::move(mail);
    out.rcpt_lines = std::move(rcpt_lines);
    out.payload = std::move(payload);
    return out;
}

// The envelope as one pipelined group: RSET when asked, MAIL, each RCPT
// not refused locally, DATA.
std::string Session::envelope_group(const Prepared& p, bool rset) const {
    std::string batch = rset ? "RSET\r\n" : "";
    batch += p.mail + "\r\n";
    for (std::size_t i = 0; i < p.rcpt_lines.size(); ++i)
        if (p.delivery.rcpts[i].detail.empty()) batch += p.rcpt_lines[i] + "\r\n";
    batch += "DATA\r\n";
    return batch;
}

Delivery Session::transact(Prepared& p, const std::function<Prepared*()>& next) {
    Delivery& d = p.delivery;
    if (p.done) return std::move(d);
    if (!usable()) {
        for (RcptOutcome& o : d.rcpts)
            if (o.detail.empty()) {
                o.state = RcptState::deferred;
                o.detail = "the session is closed";
            }
        return std::move(d);
    }
    const std::string& mail = p.mail;
    const std::vector<std::string>& rcpt_lines = p.rcpt_lines;
    const std::string& payload = p.payload;
    auto lost = [&](const std::string& why) {
        usable_ = false;
        d.connection_lost = true;
        for (RcptOutcome& o : d.rcpts)
            if (o.state == RcptState::deferred && !o.reply && o.detail.empty()) o.detail = why;
        return std::move(d);
    };
    auto closing = [&](const Reply& r) {
        if (r.code == 421) usable_ = false;
    };

    // Envelope: pipelined in one write when offered, else one by one.
    std::vector<bool> accepted(d.rcpts.size(), false);
    std::optional<Reply> data_reply;
    conn_.set_timeout(std::max(opt_.command, opt_.data_block));
    // RSET between messages: in the same write when pipelining, so it
    // costs no round trip. The envelope may have gone already, after the
    // previous message's final dot.
    const bool early = p.sent_on == id_ && id_ != 0;
    const bool rset = early ? p.rset : transactions_ > 0;
    ++transactions_;
    if (!early) {
        if (rset && !caps_.pipelining && !reset()) return lost("RSET was refused or the connection broke");
        if (caps_.pipelining)
            if (auto w = conn_.write(envelope_group(p, rset)); !w) return lost(w.error().message);
    }
    auto next_reply = [&](std::string_view line) -> Result<Reply> {
        if (caps_.pipelining) return conn_.read_reply();
        return command(line, opt_.command);
    };
    if (rset && caps_.pipelining) {
        auto rr = conn_.read_reply();
        if (!rr) return lost(rr.error().message);
        closing(*rr);
    }
    auto mr = next_reply(mail);
    if (!mr) return lost(mr.error().message);
    const bool mail_ok = mr->klass() == 2;
    closing(*mr);
    for (std::size_t i = 0; i < rcpt_lines.size(); ++i) {
        if (!d.rcpts[i].detail.empty()) continue;           // refused locally (bad IDN)
        if (!mail_ok && !caps_.pipelining) break;
        auto rr = next_reply(rcpt_lines[i]);
        if (!rr) return lost(rr.error().message);
        closing(*rr);
        RcptOutcome& o = d.rcpts[i];
        if (!mail_ok) continue;
        o.reply = *rr;
        if (rr->klass() == 2) accepted[i] = true;
        else o.state = rr->klass() == 5 ? RcptState::failed : RcptState::deferred;
    }
    if (!mail_ok) {
        for (RcptOutcome& o : d.rcpts)
            if (o.detail.empty()) {
                o.reply = *mr;
                o.state = mr->klass() == 5 ? RcptState::failed : RcptState::deferred;
            }
    }
    const bool any = std::find(accepted.begin(), accepted.end(), true) != accepted.end();
    if (!caps_.pipelining && (!mail_ok || !any)) {
        if (usable_) reset();
        return std::move(d);
    }
    auto dr = next_reply("DATA");
    if (!dr) return lost(dr.error().message);
    closing(*dr);
    if (dr->code != 354) {
        for (std::size_t i = 0; i < accepted.size(); ++i)
            if (accepted[i]) {
                d.rcpts[i].reply = *dr;
                d.rcpts[i].state = dr->klass() == 5 ? RcptState::failed : RcptState::deferred;
            }
        if (usable_ && mail_ok) reset();
        return std::move(d);
    }
    if (!any) {
        // RFC 2920 3.1: DATA was accepted though no recipient was; end it
        // with an empty message that the server must refuse.
        conn_.set_timeout(opt_.data_end);
        if (auto w = conn_.write(".\r\n"); !w) return lost(w.error().message);
        if (auto r = conn_.read_reply(); !r) return lost(r.error().message);
        return std::move(d);
    }
    // The message goes out under the longer of the command and data-block
    // limits (both are minimums, RFC 5321 4.5.3.2), saving a switch.
    conn_.set_timeout(std::max(opt_.command, opt_.data_block));
    // The next message's envelope may follow the final dot in the same
    // write (RFC 2920 3.1: message content may start a group): one round
    // trip a message instead of two.
    Prepared* n = next && caps_.pipelining ? next() : nullptr;
    if (n && !n->done) {
        std::string both;
        both.reserve(payload.size() + 256);
        both = payload;
        both += envelope_group(*n, true);
        n->sent_on = id_;
        n->rset = true;
        if (auto w = conn_.write(both); !w) return lost(w.error().message);
    } else if (auto w = conn_.write(payload); !w) {
        return lost(w.error().message);
    }
    conn_.set_timeout(opt_.data_end);
    auto fr = conn_.read_reply();
    if (!fr) {
        d.unanswered_dot = true;
        return lost("no reply after the message was sent (it may have been delivered): " + fr.error().message);
    }
    closing(*fr);
    data_reply = *fr;
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        if (!accepted[i]) continue;
        d.rcpts[i].reply = *fr;
        d.rcpts[i].state = fr->klass() == 2 ? RcptState::sent : fr->klass() == 5 ? RcptState::failed : RcptState::deferred;
    }
    return std::move(d);
}

bool Session::reset() {
    auto r = command("RSET", opt_.command);
    if (!r || r->code != 250) usable_ = false;
    return usable_;
}

void Session::quit() {
    if (conn_.is_open()) {
        if (usable_) (void)command("QUIT", std::chrono::seconds(10));
        conn_.close();
    }
    usable_ = false;
}

}  // namespace msg::smtp
