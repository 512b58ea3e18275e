// server.cpp - the server side of an ESMTP session (smtp/server.hpp).
#include "msg/smtp/server.hpp"

#include <new>

#include <algorithm>
#include <cstring>
#include <utility>

#include "msg/codec.hpp"
#include "msg/envelope.hpp"
#include "msg/header.hpp"
#include "msg/smtp/command.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

namespace {

// Whether `got` is the credential `want`, in a time that depends on their
// lengths only, not on where they first differ.
bool same_secret(std::string_view got, std::string_view want) {
    std::size_t diff = got.size() ^ want.size();
    for (std::size_t i = 0; i < got.size(); ++i)
        diff |= static_cast<unsigned char>(got[i]) ^ (i < want.size() ? static_cast<unsigned char>(want[i]) : 0x100u);
    return diff == 0;
}

bool decode_b64(std::string_view in, std::string& out) {
    if (!is_base64_token(in)) return false;
    Base64Decoder d;
    d.step(in, out);
    d.finish(out);
    return d.status().clean();
}

// RFC 5321 4.5.3.1.10: "501 Path too long"; the limits a spool entry's
// path is held to.
std::string path_problem(const Path& p, bool mail) {
    if (!path_too_long(p)) return {};
    return std::string(mail ? "5.1.7" : "5.1.3") +
           " path too long: local part over 64 octets, domain over 255 or path over 256";
}

// A repeated parameter, or a value the spool entry would not take
// (check_esmtp_param: RFC 1870, 3461, 4954, 6152, 6531).
std::string param_problem(const Command& c, const EsmtpParam& p, bool mail) {
    for (const EsmtpParam& q : c.params) {
        if (&q == &p) break;
        if (iequals(q.keyword, p.keyword)) return "5.5.4 " + std::string(p.keyword) + " is repeated";
    }
    std::string why = check_esmtp_param(p, mail);
    return why.empty() ? why : "5.5.4 " + why;
}

std::string param_text(const EsmtpParam& p) {
    std::string s(p.keyword);
    if (p.has_value) {
        s += '=';
        s += p.value;
    }
    return s;
}

}  // namespace

std::string_view stage_name(Stage s) {
    switch (s) {
        case Stage::connect: return "connect";
        case Stage::helo: return "helo";
        case Stage::mail: return "mail";
        case Stage::rcpt: return "rcpt";
        case Stage::data: return "data";
        case Stage::dot: return "dot";
        case Stage::vrfy: return "vrfy";
        case Stage::starttls: return "starttls";
        case Stage::auth: return "auth";
        case Stage::quit: return "quit";
    }
    return "";
}

ServerSession::ServerSession(const ServerOptions& opt, ServerPolicy& policy) : opt_(opt), policy_(policy) {}

void ServerSession::reply(int code, std::string_view text) {
    Reply r = make_reply(code, text);
    // Without ENHANCEDSTATUSCODES no reply carries one (RFC 2034 3), the
    // session's own or a rule's.
    if (!opt_.enhanced_codes && r.enhanced && !r.lines.empty()) {
        const std::size_t sp = r.lines[0].find(' ');
        r.lines[0].erase(0, sp == std::string::npos ? r.lines[0].size() : sp + 1);
        r.enhanced.reset();
    }
    out_ += r.wire();
}

void ServerSession::error(int code, std::string_view text) {
    reply(code, text);
    if (++errors_ >= opt_.max_errors && !closing_) {
        reply(421, "4.7.0 " + opt_.hostname + " too many errors, closing");
        closing_ = true;
    }
}

// The policy's verdict; a delay in it holds back what the session says
// from here on (start_pause(), once the command is done).
Verdict ServerSession::decide(Stage stage, std::string_view arg, const std::vector<std::string>& rcpts) {
    Verdict v = policy_.decide(stage, arg, rcpts);
    if (v.delay.count() > 0 && cut_ == std::string::npos) {
        cut_ = out_.size();
        delay_ = v.delay;
    }
    return v;
}

// The command a delay was asked for is done: its reply, and whether it
// closes or drops, wait in delayed_ until unpause().
void ServerSession::start_pause() {
    delayed_.assign(out_, cut_);
    out_.resize(cut_);
    cut_ = std::string::npos;
    pause_ = delay_;
    delayed_closing_ = std::exchange(closing_, false);
    delayed_dropped_ = std::exchange(dropped_, false);
}

void ServerSession::unpause() {
    if (pause_.count() == 0) return;
    pause_ = std::chrono::milliseconds(0);
    out_ += delayed_;
    delayed_.clear();
    closing_ = delayed_closing_;
    dropped_ = delayed_dropped_;
    if (dot_verdict_) end_message();
    process();
}

// A policy's verdict, or the session's own reply.
void ServerSession::finish(const Verdict& v, int code, std::string_view text) {
    if (v.drop) {
        dropped_ = true;
        return;
    }
    if (v.code) {
        reply(v.code, v.text);
        if (v.code == 421) closing_ = true;
        return;
    }
    reply(code, text);
}

void ServerSession::shutting_down() {
    if (closing_ || dropped_) return;
    reply(421, "4.3.2 " + opt_.hostname + " shutting down, closing");   // a message not answered is not stored
    closing_ = true;
}

void ServerSession::start() {
    const Verdict v = decide(Stage::connect, {}, rcpts_);
    if (v.drop) {
        dropped_ = true;
    } else if (v.code) {
        reply(v.code, v.text);
        // RFC 5321 3.1: after a 554 greeting the server waits for QUIT,
        // answering 503 to anything else; a 421 closes at once.
        if (v.code == 421) closing_ = true;
        else no_service_ = true;
    } else {
        reply(220, opt_.hostname + (opt_.esmtp ? " ESMTP smtpsink" : " SMTP smtpsink"));
    }
    if (cut_ != std::string::npos) start_pause();
}

void ServerSession::reset_transaction() {
    in_mail_ = false;
    env_ = Envelope{};
    rcpts_.clear();
    data_.clear();
    too_big_ = drop_in_data_ = bdat_refused_ = utf8_ = bdat_started_ = bdat_failed_ = no_room_ = false;
    bdat_rule_ = Verdict{};
}

void ServerSession::receive(std::string_view bytes) {
    if (closing_ || dropped_ || tls_requested_) return;
    // Keep the buffer from growing: drop what was consumed once it is most of it.
    if (pos_ > 0 && pos_ >= in_.size() / 2) {
        in_.erase(0, pos_);
        pos_ = 0;
    }
    in_.append(bytes);
    process();
}

void ServerSession::process() {
    while (!closing_ && !dropped_ && !held_ && !tls_requested_ && pause_.count() == 0 && pos_ < in_.size()) {
        if (cut_ != std::string::npos) break;
        if (mode_ == Mode::data) {
            data_bytes();
            if (mode_ == Mode::data) break;   // needs more input
            continue;
        }
        if (mode_ == Mode::bdat) {
            bdat_bytes();
            if (mode_ == Mode::bdat) break;
            continue;
        }
        const char* base = in_.data() + pos_;
        const std::size_t avail = in_.size() - pos_;
        const void* nl = std::memchr(base, '\n', avail);
        if (!nl) {
            if (avail > opt_.max_line) {
                // Too long: forget it, and answer once its end comes.
                skipping_ = true;
                pos_ = in_.size();
            }
            break;
        }
        const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
        std::string_view line(base, len);
        pos_ += len + 1;
        ++completed_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (skipping_ || line.size() > opt_.max_line) {
            skipping_ = false;
            // An AUTH response too long ends the exchange: 500 5.5.6
            // (RFC 4954 4, 6), not a command's 5.5.2.
            const bool sasl_line = mode_ != Mode::command;
            if (sasl_line) mode_ = Mode::command;
            error(500, sasl_line ? "5.5.6 authentication exchange line is too long" : "5.5.2 line too long");
            continue;
        }
        if (mode_ == Mode::command) command(line);
        else sasl(line);
    }
    if (cut_ != std::string::npos && !held_) start_pause();
    if (pos_ == in_.size()) {
        in_.clear();
        pos_ = 0;
    }
}

// DATA: lines up to CRLF "." CRLF; a leading dot is removed (RFC 5321
// 4.5.2). The end counts only after a CRLF, so "<LF>.<CRLF>" cannot end a
// message early (a bare LF is kept as data).
void ServerSession::data_bytes() {
    if (drop_in_data_) {
        dropped_ = true;
        return;
    }
    while (pos_ < in_.size()) {
        const char* base = in_.data() + pos_;
        std::size_t avail = in_.size() - pos_;
        // A dot at the start of a line that followed CRLF is the end or a
        // stuffed dot; after a bare LF it is data, kept as it is.
        if (line_start_ && after_crlf_ && base[0] == '.') {
            if (avail < 3 && std::string_view(".\r\n").substr(0, avail) == std::string_view(base, avail))
                return;   // could be the end: wait
            if (avail >= 3 && base[1] == '\r' && base[2] == '\n') {
                pos_ += 3;
                mode_ = Mode::command;
                ++completed_;
                end_message();
                return;
            }
            ++pos_;   // the stuffed dot
            ++base;
            --avail;
            if (avail == 0) {
                line_start_ = prev_cr_ = false;
                return;
            }
        }
        const void* nl = std::memchr(base, '\n', avail);
        const std::size_t take = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - base) + 1 : avail;
        keep_data(std::string_view(base, take));
        if (nl) {
            // The CR of a CRLF may have come with the previous read.
            after_crlf_ = take >= 2 ? base[take - 2] == '\r' : prev_cr_;
            line_start_ = true;
        } else {
            line_start_ = false;
        }
        prev_cr_ = base[take - 1] == '\r';
        pos_ += take;
    }
}

void ServerSession::bdat_bytes() {
    if (drop_in_data_ && (pos_ < in_.size() || bdat_left_ == 0)) {
        dropped_ = true;
        return;
    }
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(bdat_left_, in_.size() - pos_));
    if (!bdat_refused_) keep_data(std::string_view(in_).substr(pos_, take));
    pos_ += take;
    bdat_left_ -= take;
    if (bdat_left_ > 0) return;
    mode_ = Mode::command;
    ++completed_;
    if (bdat_refused_) {
        // The chunk was read only to stay in step; the command was refused.
        if (bdat_rule_.code) {   // by a rule of the data stage: the transaction ends
            finish(bdat_rule_, 250, "");
            reset_transaction();
            return;
        }
        if (!opt_.chunking || !esmtp_) error(502, "5.5.1 BDAT not available (no CHUNKING, or not after EHLO)");
        else if (!in_mail_) error(503, "5.5.1 need MAIL before BDAT");
        else if (bdat_failed_) error(503, "5.5.1 an earlier BDAT of this transaction was refused");
        else error(554, "5.5.1 no valid recipients");
        // RFC 3030 2: a refused chunk fails the transaction; the chunks the
        // client had already sent are read and refused, and none of them
        // makes a message of what is left.
        if (bdat_last_ || !in_mail_) reset_transaction();
        else bdat_failed_ = true;
        bdat_refused_ = false;
        return;
    }
    if (!bdat_last_) {
        reply(250, "2.0.0 " + std::to_string(bdat_size_) + " octets received");
        return;
    }
    end_message();
}

// The message's bytes, kept up to the size limit; past it, or when this
// process has no memory for them, no more (answered at its end: 552, or
// 452 4.3.1, RFC 3463: the client may try again later).
void ServerSession::keep_data(std::string_view bytes) {
    if (too_big_ || no_room_) return;
    if (opt_.max_size && data_.size() + bytes.size() > opt_.max_size) {
        too_big_ = true;
    } else {
        try {
            data_.append(bytes);
            return;
        } catch (const std::bad_alloc&) {
            no_room_ = true;
        }
    }
    data_.clear();
    data_.shrink_to_fit();
}

void ServerSession::end_message() {
    if (too_big_) {
        reply(552, "5.3.4 message exceeds the size limit of " + std::to_string(opt_.max_size) + " octets");
        reset_transaction();
        return;
    }
    if (no_room_) {
        reply(452, "4.3.1 insufficient system storage: no memory for the message now");
        reset_transaction();
        return;
    }
    // A delay at dot comes before the message is stored: a server stopped
    // during it has stored nothing it did not answer.
    Verdict v;
    if (dot_verdict_) {
        v = std::move(*dot_verdict_);
        dot_verdict_.reset();
    } else {
        v = policy_.decide(Stage::dot, {}, rcpts_);
        if (v.delay.count() > 0) {
            cut_ = out_.size();
            delay_ = std::exchange(v.delay, std::chrono::milliseconds(0));
            dot_verdict_ = std::move(v);
            start_pause();
            return;
        }
    }
    if (v.drop || v.code) {
        finish(v, 250, "");
        reset_transaction();
        return;
    }
    ReceivedMessage m;
    m.envelope = std::move(env_);
    m.data = std::move(data_);
    // What the message needs and the client did not declare (8-bit data
    // without BODY=8BITMIME, UTF-8 header text without SMTPUTF8, which
    // many clients send all the same) is added, so that the envelope kept
    // describes the message as needs() does everywhere else.
    declare_needs(m.envelope, m.data);
    m.helo = helo_;
    m.user = user_;
    m.tls = tls_;
    bool hold = false;
    Verdict a;
    try {
        a = policy_.accept(std::move(m), hold);
    } catch (const std::bad_alloc&) {   // not stored: the client keeps it
        hold = false;
        a = Verdict{452, "4.3.1 insufficient system storage: no memory to store the message now", false};
    }
    reset_transaction();
    if (hold) {
        held_ = true;
        return;
    }
    ++messages_;
    finish(a, 250, "2.0.0 message accepted");
}

void ServerSession::resume(const Verdict& v) {
    if (!held_) return;
    held_ = false;
    if (!v.code || v.code / 100 == 2) ++messages_;
    finish(v, 250, "2.0.0 message accepted");
    process();
}

void ServerSession::tls_started() {
    // RFC 3207 4.2: everything learnt from the client in clear is
    // forgotten, its EHLO and its authentication too.
    tls_requested_ = false;
    tls_ = true;
    in_.clear();
    pos_ = 0;
    helo_.clear();
    esmtp_ = false;
    user_.clear();
    mode_ = Mode::command;
    reset_transaction();
}

bool ServerSession::check_auth(std::string_view user, std::string_view pass) {
    const bool user_ok = same_secret(user, opt_.auth_user);
    if (same_secret(pass, opt_.auth_password) && user_ok) {
        user_ = std::string(user);
        reply(235, "2.7.0 authentication successful");
        return true;
    }
    error(535, "5.7.8 authentication credentials invalid");
    return false;
}

void ServerSession::sasl(std::string_view line) {
    const Mode m = mode_;
    mode_ = Mode::command;
    if (line == "*") {
        error(501, "5.0.0 authentication cancelled");
        return;
    }
    std::string decoded;   // an empty line is an empty response (RFC 4954 4)
    if (!line.empty() && !decode_b64(line, decoded)) {
        error(501, "5.5.2 cannot decode the response (base64)");
        return;
    }
    if (m == Mode::auth_plain) {
        // authzid NUL authcid NUL passwd (RFC 4616)
        const std::size_t a = decoded.find('\0');
        const std::size_t b = a == std::string::npos ? a : decoded.find('\0', a + 1);
        if (b == std::string::npos) {
            error(501, "5.5.2 malformed PLAIN response");
            return;
        }
        // RFC 4616 2: an authorization identity other than the user's own
        // is one this server does not grant.
        if (a > 0 && std::string_view(decoded).substr(0, a) != std::string_view(decoded).substr(a + 1, b - a - 1)) {
            error(535, "5.7.8 authentication credentials invalid");
            return;
        }
        check_auth(std::string_view(decoded).substr(a + 1, b - a - 1), std::string_view(decoded).substr(b + 1));
    } else if (m == Mode::auth_login_user) {
        login_user_ = decoded;
        mode_ = Mode::auth_login_pass;
        reply(334, "UGFzc3dvcmQ6");   // "Password:"
    } else {
        check_auth(login_user_, decoded);
        login_user_.clear();
    }
}

void ServerSession::command(std::string_view line) {
    const Command c = parse_command(line, CommandOptions{.utf8 = true, .lenient = true});
    if (no_service_ && c.verb != Verb::quit) return error(503, "5.5.1 no service here: only QUIT");
    switch (c.verb) {
        case Verb::unknown:
            error(500, "5.5.2 command not recognized");
            return;
        case Verb::quit:
            if (!c.arg.empty()) return error(501, "5.5.4 QUIT takes no argument");
            // A policy may drop the connection instead of the 221, or
            // delay it: a client must not wait for ever (RFC 5321 4.1.1.10).
            if (decide(Stage::quit, helo_, rcpts_).drop) {
                dropped_ = true;
                return;
            }
            reply(221, "2.0.0 " + opt_.hostname + " closing connection");
            closing_ = true;
            return;
        case Verb::noop:
            reply(250, "2.0.0 OK");
            return;
        case Verb::rset:
            if (!c.arg.empty()) return error(501, "5.5.4 RSET takes no argument");
            reset_transaction();
            reply(250, "2.0.0 OK");
            return;
        case Verb::help:
            reply(214, "2.0.0 commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH");
            return;
        case Verb::vrfy: {
            if (c.arg.empty()) return error(501, "5.5.4 VRFY needs a user or mailbox");
            const Verdict v = decide(Stage::vrfy, c.arg, rcpts_);
            return finish(v, 252, "2.5.2 cannot VRFY a user, but will accept the message and attempt delivery");
        }
        case Verb::expn:
        case Verb::etrn:
            error(502, "5.5.1 command not implemented");
            return;
        default:
            break;
    }
    if (!c.ok && !(c.local_path && (c.verb == Verb::mail || c.verb == Verb::rcpt)))
        return error(501, "5.5.4 syntax error: " + std::string(c.error));

    switch (c.verb) {
        case Verb::helo:
        case Verb::ehlo: {
            // A server without extensions refuses EHLO, so that the client
            // says HELO (RFC 5321 3.2, 4.1.4); with no enhanced code, as
            // no ENHANCEDSTATUSCODES was offered.
            if (c.verb == Verb::ehlo && !opt_.esmtp) return error(502, "5.5.1 command not implemented");
            // RFC 5321 4.1.4: refused, it leaves the session as it was;
            // accepted, it ends the transaction as RSET does.
            const Verdict v = decide(Stage::helo, c.domain, {});
            if (v.drop || v.code) return finish(v, 250, "");
            reset_transaction();
            helo_ = std::string(c.domain);
            esmtp_ = c.verb == Verb::ehlo;
            if (!esmtp_) return reply(250, opt_.hostname);
            std::string text = opt_.hostname + " greets " + helo_;
            if (opt_.pipelining) text += "\nPIPELINING";
            text += opt_.max_size ? "\nSIZE " + std::to_string(opt_.max_size) : std::string("\nSIZE");
            if (opt_.eightbitmime) text += "\n8BITMIME";
            if (opt_.smtputf8) text += "\nSMTPUTF8";
            if (opt_.chunking) text += "\nCHUNKING";
            if (opt_.dsn) text += "\nDSN";
            if (opt_.starttls && !tls_) text += "\nSTARTTLS";
            if (auth_offered()) text += "\nAUTH PLAIN LOGIN";
            if (opt_.enhanced_codes) text += "\nENHANCEDSTATUSCODES";
            return reply(250, text);
        }
        case Verb::starttls:
            if (!opt_.starttls || tls_) return error(502, "5.5.1 STARTTLS not available");
            if (!c.arg.empty()) return error(501, "5.5.4 STARTTLS takes no argument");
            // A policy's refusal (454 4.7.0 TLS not available, RFC 3207 4).
            if (const Verdict v = decide(Stage::starttls, helo_, rcpts_); v.drop || v.code) return finish(v, 220, "");
            reply(220, "2.0.0 ready to start TLS");
            tls_requested_ = true;
            in_.clear();   // RFC 3207 4.2: what was pipelined after STARTTLS is dropped
            pos_ = 0;
            return;
        case Verb::auth: {
            if (opt_.auth_user.empty() || !esmtp_) return error(503, "5.5.1 AUTH not available");
            // RFC 4954 6: a server that takes no password in clear.
            if (!auth_offered()) return error(538, "5.7.11 encryption required for requested authentication mechanism");
            if (!user_.empty()) return error(503, "5.5.1 already authenticated");
            if (in_mail_) return error(503, "5.5.1 AUTH not allowed during a mail transaction");
            // A policy's refusal (454 4.7.0 temporary authentication
            // failure, 534 5.7.9 mechanism too weak, RFC 4954 6).
            if (const Verdict v = decide(Stage::auth, c.mechanism, rcpts_); v.drop || v.code) return finish(v, 235, "");
            if (iequals(c.mechanism, "PLAIN")) {
                if (c.initial_response.empty()) {
                    mode_ = Mode::auth_plain;
                    out_ += "334 \r\n";   // an empty challenge (RFC 4954 4)
                    return;
                }
                mode_ = Mode::auth_plain;
                return sasl(c.initial_response == "=" ? std::string_view() : c.initial_response);
            }
            if (iequals(c.mechanism, "LOGIN")) {
                if (!c.initial_response.empty()) {
                    mode_ = Mode::auth_login_user;
                    return sasl(c.initial_response == "=" ? std::string_view() : c.initial_response);
                }
                mode_ = Mode::auth_login_user;
                return reply(334, "VXNlcm5hbWU6");   // "Username:"
            }
            return error(504, "5.5.4 unrecognized authentication mechanism");
        }
        case Verb::mail: {
            if (helo_.empty()) return error(503, "5.5.1 send HELO or EHLO first");
            if (in_mail_) return error(503, "5.5.1 nested MAIL command");
            if (c.local_path) return error(553, "5.1.3 the address needs a domain");
            if (const std::string why = path_problem(c.path, true); !why.empty()) return error(501, why);
            Envelope env;
            env.mail_from = std::string(c.path.null ? std::string_view() : c.path.mailbox);
            bool utf8 = false;
            for (const EsmtpParam& p : c.params) {
                if (!esmtp_) return error(555, "5.5.4 parameters need EHLO");
                // What a spool entry's MAIL line must be, the sender takes:
                // a value it would refuse is refused here (RFC 3461 4, 501).
                if (const std::string why = param_problem(c, p, true); !why.empty()) return error(501, why);
                if (iequals(p.keyword, "SIZE")) {
                    std::uint64_t n = 0;   // 1*20DIGIT (RFC 1870 6): saturates
                    for (char ch : p.value)
                        n = n > (UINT64_MAX - 9) / 10 ? UINT64_MAX : n * 10 + static_cast<std::uint64_t>(ch - '0');
                    if (opt_.max_size && n > opt_.max_size)
                        return error(552, "5.3.4 message size exceeds the limit of " + std::to_string(opt_.max_size));
                } else if (iequals(p.keyword, "BODY")) {
                    if (!iequals(p.value, "7BIT") && !(opt_.eightbitmime && iequals(p.value, "8BITMIME")))
                        return error(555, "5.5.4 unsupported BODY value");
                } else if (iequals(p.keyword, "SMTPUTF8")) {
                    if (!opt_.smtputf8) return error(555, "5.5.4 SMTPUTF8 not offered");
                    utf8 = true;
                } else if (iequals(p.keyword, "RET") || iequals(p.keyword, "ENVID")) {
                    if (!opt_.dsn) return error(555, "5.5.4 DSN not offered");
                } else if (iequals(p.keyword, "AUTH")) {
                    if (!auth_offered()) return error(555, "5.5.4 AUTH not offered");
                    // RFC 4954 5: from a client that has not authenticated,
                    // as if AUTH=<> was given; the identity is not passed on.
                    if (user_.empty()) {
                        env.mail_params.push_back("AUTH=<>");
                        continue;
                    }
                } else {
                    return error(555, "5.5.4 unsupported parameter " + std::string(p.keyword));
                }
                env.mail_params.push_back(param_text(p));
            }
            if (c.path.utf8 && !utf8) return error(553, "5.6.7 a UTF-8 address needs SMTPUTF8");
            const Verdict v = decide(Stage::mail, env.mail_from, rcpts_);
            if (v.drop || (v.code && v.code / 100 != 2)) return finish(v, 250, "");
            in_mail_ = true;
            utf8_ = utf8;
            env_ = std::move(env);
            return finish(v, 250, "2.1.0 sender OK");
        }
        case Verb::rcpt: {
            if (!in_mail_) return error(503, "5.5.1 need MAIL before RCPT");
            // RFC 3030 2: the envelope comes before the message's chunks.
            if (bdat_started_) return error(503, "5.5.1 RCPT after BDAT");
            if (!c.local_path) return recipient(c, {});
            // "<user>": a local user, if a rule accepts it (sendmail's way),
            // qualified with the server's name as sendmail does, and then
            // held to every rule of a recipient: the entry holds a mailbox
            // spoolsend can send to.
            const std::size_t lt = line.find('<'), gt = line.find('>', lt);
            const std::string qualified =
                std::string(line.substr(0, gt)) + "@" + opt_.hostname + std::string(line.substr(gt));
            const Command q = parse_command(qualified, CommandOptions{.utf8 = true, .lenient = true});
            if (!q.ok) return error(501, "5.5.4 syntax error: " + std::string(q.error));
            return recipient(q, line.substr(lt + 1, gt - lt - 1));
        }
        case Verb::data: {
            if (!c.arg.empty()) return error(501, "5.5.4 DATA takes no argument");
            if (!in_mail_) return error(503, "5.5.1 need MAIL before DATA");
            if (rcpts_.empty()) return error(554, "5.5.1 no valid recipients");
            // RFC 3030 2: DATA and BDAT are not used in one transaction.
            if (bdat_started_) return error(503, "5.5.1 DATA after BDAT in one transaction");
            const Verdict v = decide(Stage::data, {}, rcpts_);
            if (v.code) return finish(v, 354, "");
            drop_in_data_ = v.drop;
            data_.clear();
            line_start_ = after_crlf_ = true;
            prev_cr_ = false;
            mode_ = Mode::data;
            return reply(354, "end data with <CR><LF>.<CR><LF>");
        }
        case Verb::bdat: {
            bdat_left_ = bdat_size_ = c.chunk_size;
            bdat_last_ = c.last;
            mode_ = Mode::bdat;
            bdat_refused_ = !opt_.chunking || !esmtp_ || !in_mail_ || rcpts_.empty() || bdat_failed_;
            // The data stage, once a transaction, at its first BDAT: a rule
            // that refuses is answered once the chunk is read (to stay in
            // step with the client), and nothing is stored.
            if (!bdat_refused_ && !bdat_started_) {
                const Verdict v = decide(Stage::data, {}, rcpts_);
                // Dropped once the message starts arriving, as with DATA:
                // at the chunk's first byte (or at once for an empty one).
                drop_in_data_ = v.drop;
                if (v.code) {
                    bdat_rule_ = v;
                    bdat_refused_ = true;
                }
            }
            if (opt_.chunking && esmtp_ && in_mail_) bdat_started_ = true;
            if (bdat_left_ == 0) bdat_bytes();
            return;
        }
        default:
            return error(502, "5.5.1 command not implemented");
    }
}

// RCPT: `local` is the user of a "<user>" path, which `c` holds qualified.
void ServerSession::recipient(const Command& c, std::string_view local) {
    if (c.path.null) return error(553, "5.1.3 a recipient cannot be <>");
    if (rcpts_.size() >= opt_.max_rcpts) return reply(452, "4.5.3 too many recipients");
    if (c.path.utf8 && !utf8_) return error(553, "5.6.7 a UTF-8 address needs SMTPUTF8");
    if (const std::string why = path_problem(c.path, false); !why.empty()) return error(501, why);
    Envelope::Rcpt r;
    // <postmaster> (RFC 5321 4.5.1, accepted without a domain) is this
    // host's: held qualified, as a local user is, so that a sender passing
    // the entry on does not give it to the next hop's postmaster.
    r.address = c.path.postmaster ? std::string(c.path.local) + "@" + opt_.hostname
                                                             : std::string(c.path.mailbox);
    for (const EsmtpParam& p : c.params) {
        if (!esmtp_) return error(555, "5.5.4 parameters need EHLO");
        if (!(opt_.dsn && (iequals(p.keyword, "NOTIFY") || iequals(p.keyword, "ORCPT"))))
            return error(555, "5.5.4 unsupported parameter " + std::string(p.keyword));
        if (const std::string why = param_problem(c, p, false); !why.empty()) return error(501, why);
        r.params.push_back(param_text(p));
    }
    const Verdict v = decide(Stage::rcpt, local.empty() ? std::string_view(r.address) : local, rcpts_);
    if (v.drop || (v.code && v.code / 100 != 2)) return finish(v, 250, "");
    if (!local.empty() && !v.code) return error(553, "5.1.3 the address needs a domain");
    rcpts_.push_back(r.address);
    env_.rcpts.push_back(std::move(r));
    finish(v, 250, "2.1.5 recipient OK");
}

void annotate_received(ReceivedMessage& m, std::string_view peer) {
    auto& notes = m.envelope.annotations;
    notes.emplace_back("Smtp-Peer", std::string(peer));
    if (!m.helo.empty()) notes.emplace_back("Smtp-Helo", m.helo);
    if (!m.user.empty()) notes.emplace_back("Smtp-Auth", m.user);
    if (m.tls) notes.emplace_back("Smtp-Tls", "yes");
}

}  // namespace msg::smtp
