// transcript_check.cpp - check_transcript(): a recorded SMTP session against
// RFC 5321 and its extensions (smtp/transcript.hpp; the codes are the
// "smtp.*" ones of defects.def).
#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>

#include "msg/charset.hpp"
#include "msg/envelope.hpp"
#include "msg/header.hpp"
#include "msg/smtp/command.hpp"
#include "msg/smtp/transcript.hpp"

namespace msg::smtp {

namespace {

struct Caps {
    bool known = false;   // an EHLO or HELO reply was recorded
    bool pipelining = false, chunking = false, starttls = false, auth = false, eightbit = false, smtputf8 = false,
         size = false, dsn = false;
};

Caps caps_of(const Reply& r, bool ehlo) {
    Caps c;
    c.known = true;
    if (!ehlo) return c;
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        std::string_view l = r.lines[i];
        const std::size_t sp = l.find_first_of(" =");
        const std::string_view kw = l.substr(0, sp);
        if (iequals(kw, "PIPELINING")) c.pipelining = true;
        else if (iequals(kw, "CHUNKING")) c.chunking = true;
        else if (iequals(kw, "STARTTLS")) c.starttls = true;
        else if (iequals(kw, "AUTH")) c.auth = true;
        else if (iequals(kw, "8BITMIME")) c.eightbit = true;
        else if (iequals(kw, "SMTPUTF8")) c.smtputf8 = true;
        else if (iequals(kw, "SIZE")) c.size = true;
        else if (iequals(kw, "DSN")) c.dsn = true;
    }
    return c;
}

bool in(int code, std::initializer_list<int> codes) { return std::find(codes.begin(), codes.end(), code) != codes.end(); }

// RFC 5321 4.3.2 (and RFC 3207, 4954, 3030, 1985): the positive replies a
// command may get. Negative ones are taken from any command.
bool positive_fits(Verb v, ExchangeKind kind, int code) {
    if (kind == ExchangeKind::greeting) return code == 220;
    if (kind == ExchangeKind::body) return code == 250;
    if (kind == ExchangeKind::sasl) return in(code, {235, 334});
    switch (v) {
        case Verb::helo: case Verb::ehlo: case Verb::mail: case Verb::rset: case Verb::noop: case Verb::bdat:
            return code == 250;
        case Verb::rcpt: return in(code, {250, 251, 252});
        case Verb::data: return code == 354;
        case Verb::vrfy: return in(code, {250, 251, 252});
        case Verb::expn: return in(code, {250, 252});
        case Verb::help: return in(code, {211, 214});
        case Verb::quit: return code == 221;
        case Verb::starttls: return code == 220;
        case Verb::auth: return in(code, {235, 334});
        case Verb::etrn: return in(code, {250, 251, 252, 253});
        case Verb::unknown: return true;
    }
    return true;
}

// A header field's line (name, colon) or a folded continuation of one.
bool header_line(std::string_view l) {
    if (l.empty()) return false;
    if (l[0] == ' ' || l[0] == '\t') return true;
    const std::size_t colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    for (std::size_t i = 0; i < colon; ++i)
        if (static_cast<unsigned char>(l[i]) < 33 || static_cast<unsigned char>(l[i]) > 126) return false;
    return true;
}

Verb strict_verb(std::string_view l) {
    const Command c = parse_command(l, {.utf8 = true, .lenient = false});
    return c.ok ? c.verb : Verb::unknown;
}

// In batch SMTP nothing but the final dot ends a message: a DATA that a
// server refused, or a message without its dot, swallows the commands
// after it. The first line of such a message that is the next command
// instead: a line of its header that is no header line but a command
// ("RSET", "MAIL FROM:<...>"), or MAIL, RCPT... and DATA in a row
// anywhere in it (a whole envelope: the next transaction).
std::optional<std::size_t> runs_into_command(const Transcript& t, const Exchange& e) {
    bool header = true;
    for (std::size_t i : e.client) {
        const std::string& l = t.lines[i].text;
        if (l.empty()) header = false;
        if (!header) break;
        if (!header_line(l) && parse_command(l, {.utf8 = true, .lenient = true}).verb != Verb::unknown) return i;
    }
    for (std::size_t k = 0; k < e.client.size(); ++k) {
        if (strict_verb(t.lines[e.client[k]].text) != Verb::mail) continue;
        std::size_t j = k + 1, rcpts = 0;
        while (j < e.client.size() && strict_verb(t.lines[e.client[j]].text) == Verb::rcpt) ++j, ++rcpts;
        if (rcpts && j < e.client.size() && strict_verb(t.lines[e.client[j]].text) == Verb::data) {
            if (k > 0 && strict_verb(t.lines[e.client[k - 1]].text) == Verb::rset) --k;
            return e.client[k];
        }
    }
    return std::nullopt;
}

}  // namespace

Defects check_transcript(const Transcript& t, bool client_only) {
    Defects out;
    auto add = [&](DefectCode code, std::size_t line, std::string detail, std::size_t col = 0) {
        out.push_back(Defect{code, t.lines[line].offset + col, std::move(detail)});
    };
    const std::vector<Exchange> ex = exchanges(t);

    // Replies: syntax, one code per reply, enhanced codes.
    for (const Exchange& e : ex) {
        int first = -1;
        for (std::size_t k = 0; k < e.reply_lines.size(); ++k) {
            const std::size_t i = e.reply_lines[k];
            const ReplyLine r = parse_reply_line(t.lines[i].text);
            if (!r.ok) {
                add(DefectCode::SmtpReplySyntax, i, std::string(r.error));
                continue;
            }
            if (!reply_code_in_range(r.code)) add(DefectCode::SmtpReplySyntax, i, "code " + std::to_string(r.code) + " is out of range");
            if (first >= 0 && r.code != first)
                add(DefectCode::SmtpReplySyntax, i, std::to_string(r.code) + " inside a " + std::to_string(first) + " reply");
            if (first < 0) first = r.code;
            if (k + 1 == e.reply_lines.size() && !r.last) add(DefectCode::SmtpReplySyntax, i, "the reply ends with a continuation line");
        }
        if (e.reply && e.reply->enhanced_replaced)
            add(DefectCode::SmtpEnhancedClass, e.reply_lines[0],
                (e.reply->lines.empty() ? std::string() : e.reply->lines.front().substr(0, e.reply->lines.front().find(' '))) +
                    " with " + std::to_string(e.reply->code));
    }

    Caps caps;
    bool helo_done = false, in_mail = false, quit = false;
    bool authed = false;   // an AUTH succeeded (235): no other may follow (RFC 4954 4)
    bool utf8 = false, body8 = false;   // the current transaction's MAIL asked for SMTPUTF8, BODY=8BITMIME
    // What a message needs (message_needs(), line by line here) against what
    // its MAIL declared: 8-bit header text SMTPUTF8, 8-bit body text
    // BODY=8BITMIME, each said once per message. Its header runs to the
    // first empty line (across BDAT chunks too).
    struct Needs {
        bool header = true, said_utf8 = false, said_8bit = false;
    };
    auto needs_line = [&](Needs& n, std::size_t line, std::string_view l) {
        if (l.empty()) n.header = false;
        const std::size_t b = first_non_ascii(l);
        if (b == std::string_view::npos) return;
        if (n.header && !utf8 && !n.said_utf8) {
            add(DefectCode::EnvelopeSmtputf8Needed, line, "8-bit header", b);
            n.said_utf8 = true;
        } else if (!n.header && !body8 && !n.said_8bit) {
            add(DefectCode::Envelope8BitmimeNeeded, line, "8-bit body", b);
            n.said_8bit = true;
        }
    };
    Needs chunks;   // the BDAT chunks of the current transaction
    unsigned accepted = 0;
    // The commands and contents of the pipelined groups, with the
    // capabilities known when each was sent (a group's are its first's);
    // grouped at the end. Group numbers count up from 1.
    struct Member {
        unsigned group;
        Caps caps;
        std::size_t exchange;
    };
    std::vector<Member> members;
    struct GroupSeen {
        bool mail = false, rcpt = false;
    };
    std::vector<GroupSeen> group_seen;
    for (std::size_t k = 0; k < ex.size(); ++k) {
        const Exchange& e = ex[k];
        if (e.kind == ExchangeKind::unanswered) {
            // RFC 5321 3.8: a server may send 421 at any time, unasked (its
            // timeout, a shutdown), and close: the session's end, not a reply
            // too many, when no reply follows it.
            const bool closing = e.reply && e.reply->code == 421 &&
                                 std::none_of(ex.begin() + static_cast<std::ptrdiff_t>(k) + 1, ex.end(),
                                              [](const Exchange& later) { return !later.reply_lines.empty(); });
            if (!closing) add(DefectCode::SmtpReplyUnsolicited, e.reply_lines[0], "");
            continue;
        }
        if (e.kind == ExchangeKind::greeting) {
            if (e.reply && e.reply->klass() <= 3 && !positive_fits(Verb::unknown, e.kind, e.reply->code))
                add(DefectCode::SmtpReplyUnexpected, e.reply_lines[0], std::to_string(e.reply->code) + " as the greeting");
            continue;
        }
        const std::size_t line = e.client[0];
        const std::string_view text = command_text(t, e);   // a BDAT may begin inside a chunk's last line
        if (e.reply_lines.empty() && !client_only) add(DefectCode::SmtpReplyMissing, line, "");
        Verb verb = Verb::unknown;

        if (e.kind == ExchangeKind::body) {
            // A command sent after the final dot, before its reply, is in the
            // content's group: pipelined (RFC 2920 3.1).
            members.push_back({e.group, caps, k});
            Needs needs;
            for (std::size_t m = 0; m < e.client.size(); ++m) {
                const std::size_t i = e.client[m];
                const std::string& l = t.lines[i].text;
                const bool lf = t.lines[i].bare_lf;
                if (m + 1 == e.client.size() && l == "." && !lf) continue;
                // RFC 5321 2.3.8: lines end in CRLF. A server that takes a
                // bare LF for one may take a "." next to it for the end of
                // the message, and what follows for commands (smuggling).
                if (lf) {
                    const bool dot_next = m + 1 < e.client.size() && t.lines[e.client[m + 1]].text == ".";
                    add(DefectCode::LineBareLf, i,
                        l == "."   ? "a \".\" line ended by a bare LF: content, not the end"
                        : dot_next ? "a \".\" line after a bare LF: content, not the end"
                                   : "a message line ended by LF alone");
                }
                needs_line(needs, i, l);
                if (l.size() > 1 && l[0] == '.' && l[1] != '.') add(DefectCode::SmtpBodyDot, i, "");
                // The dot added for transparency does not count (RFC 5321 4.5.3.1.6).
                if (const std::size_t n = l.size() - (l.starts_with("..") ? 1 : 0); n > kMaxTextLine)
                    add(DefectCode::SmtpBodyLineTooLong, i, std::to_string(n) + " octets");
            }
            const std::size_t end = e.client.back();
            if (t.lines[end].text != "." || t.lines[end].bare_lf ||
                (e.client.size() > 1 && t.lines[e.client[e.client.size() - 2]].bare_lf))
                add(DefectCode::SmtpBodyUnterminated, end, "");
            else if (client_only)
                if (const auto at = runs_into_command(t, e))
                    add(DefectCode::SmtpBodyUnterminated, *at,
                        "runs into the next command: " + printable(t.lines[*at].text.substr(0, 40)));
            in_mail = false;
            accepted = 0;
            utf8 = body8 = false;
        } else if (e.kind == ExchangeKind::sasl) {
            if (text != "*" && !text.empty() && !is_base64_token(text))
                add(DefectCode::SmtpAuth, line, "the response is not base64");
        } else {
            if (quit) add(DefectCode::SmtpSequence, line, "command after QUIT");
            // UTF-8 is allowed in a MAIL that asks for SMTPUTF8 itself, and in
            // the RCPTs of that transaction (RFC 6531 3.4), not elsewhere.
            const Command probe = parse_command(text, {.utf8 = true, .lenient = true});
            const std::size_t max = max_command_line(probe.verb);
            if (text.size() > max)
                add(DefectCode::SmtpCommandTooLong, line, std::to_string(text.size() + 2) + " octets");
            if (probe.verb == Verb::mail) {
                chunks = Needs{};
                utf8 = probe.param("SMTPUTF8") != nullptr;
                const EsmtpParam* body = probe.param("BODY");
                body8 = body && (iequals(body->value, "8BITMIME") || iequals(body->value, "BINARYMIME"));
            }
            const Command c = parse_command(text, {.utf8 = utf8, .lenient = false});
            verb = c.verb;
            if (c.verb == Verb::unknown) {
                add(DefectCode::SmtpCommandUnknown, line, std::string(c.name));
            } else if (!c.ok && text.size() <= max) {
                const Command lax = parse_command(text, {.utf8 = utf8, .lenient = true});
                if (lax.ok || c.local_path) add(DefectCode::SmtpCommandLax, line, std::string(c.error), e.from + c.error_at);
                else add(DefectCode::SmtpCommandSyntax, line, std::string(c.error), e.from + c.error_at);
            }
            members.push_back({e.group, caps, k});
            const bool ok_reply = e.reply && e.reply->klass() == 2;
            const bool unknown_reply = !e.reply;   // taken as accepted (batch SMTP, a missing reply)
            // Whether an earlier command of this pipelined group was a MAIL
            // (a RCPT): kept as the group grows, not looked for again.
            if (group_seen.size() <= e.group) group_seen.resize(e.group + 1);
            GroupSeen& seen = group_seen[e.group];
            auto same_group_has = [&](Verb v) { return v == Verb::mail ? seen.mail : seen.rcpt; };
            auto need = [&](bool offered, std::string what) {
                if (caps.known && !offered) add(DefectCode::SmtpExtensionNotOffered, line, std::move(what));
            };
            // The known parameters' values, as smtpsink (501) and a spool
            // entry check them; the line's spacing is the syntax's concern.
            auto check_values = [&](bool mail) {
                const Command lax = c.ok ? c : parse_command(text, {.utf8 = utf8, .lenient = true});
                for (const EsmtpParam& p : lax.params)
                    if (std::string why = check_esmtp_param(p, mail); !why.empty())
                        add(DefectCode::EnvelopeParamSyntax, line, std::move(why), p.offset);
            };
            switch (c.verb) {
                case Verb::helo:
                case Verb::ehlo:
                    if (ok_reply || unknown_reply) {
                        helo_done = true;
                        in_mail = false;
                        accepted = 0;
                        if (e.reply) caps = caps_of(*e.reply, c.verb == Verb::ehlo);
                    }
                    break;
                case Verb::mail: {
                    check_values(true);
                    if (!helo_done) add(DefectCode::SmtpSequence, line, "MAIL before HELO or EHLO");
                    else if (in_mail) add(DefectCode::SmtpSequence, line, "MAIL inside a transaction");
                    for (const EsmtpParam& p : c.params) {
                        if (iequals(p.keyword, "BODY") && iequals(p.value, "8BITMIME")) need(caps.eightbit, "BODY=8BITMIME without 8BITMIME");
                        else if (iequals(p.keyword, "SMTPUTF8")) need(caps.smtputf8, "SMTPUTF8 not offered");
                        else if (iequals(p.keyword, "SIZE")) need(caps.size, "SIZE= without SIZE");
                        else if (iequals(p.keyword, "RET") || iequals(p.keyword, "ENVID")) need(caps.dsn, std::string(p.keyword) + " without DSN");
                        else if (iequals(p.keyword, "AUTH")) need(caps.auth, "AUTH= without AUTH");
                    }
                    if (ok_reply || unknown_reply) {
                        in_mail = true;
                        accepted = 0;
                    }
                    break;
                }
                case Verb::rcpt:
                    check_values(false);
                    if (!in_mail && !same_group_has(Verb::mail)) add(DefectCode::SmtpRcptBeforeMail, line, "");
                    for (const EsmtpParam& p : c.params)
                        if (iequals(p.keyword, "NOTIFY") || iequals(p.keyword, "ORCPT"))
                            need(caps.dsn, std::string(p.keyword) + " without DSN");
                    if (ok_reply || unknown_reply) ++accepted;
                    break;
                case Verb::data:
                case Verb::bdat:
                    if (c.verb == Verb::bdat) {
                        need(caps.chunking, "BDAT without CHUNKING");
                        if (e.chunk_short)
                            add(DefectCode::SmtpChunkSize, line,
                                std::to_string(e.chunk_short) + " octets short: the server reads on");
                        if (e.chunk_over)
                            add(DefectCode::SmtpChunkSize, e.client.back(),
                                std::to_string(e.chunk_over) + " octets over: the rest is read as a command");
                        for (std::size_t n = 1; n < e.client.size(); ++n)
                            needs_line(chunks, e.client[n], client_line(t, e, n));
                    }
                    if (accepted == 0 && !same_group_has(Verb::rcpt))
                        add(DefectCode::SmtpDataWithoutRcpt, line, in_mail ? "" : "no MAIL transaction either");
                    if (c.verb == Verb::bdat && c.last && (ok_reply || unknown_reply)) {
                        in_mail = false;
                        accepted = 0;
                    }
                    break;
                case Verb::rset:
                    in_mail = false;
                    accepted = 0;
                    utf8 = body8 = false;
                    break;
                case Verb::quit:
                    quit = true;
                    break;
                case Verb::starttls:
                    if (client_only) add(DefectCode::SmtpBatchSession, line, "STARTTLS");
                    need(caps.starttls, "STARTTLS not offered");
                    // RFC 3207 4, 4.2: EHLO first (STARTTLS is an extension it
                    // offers), and TLS is started once.
                    if (e.tls) add(DefectCode::SmtpSequence, line, "STARTTLS inside TLS");
                    else if (!helo_done) add(DefectCode::SmtpSequence, line, "STARTTLS before EHLO");
                    if (e.reply && e.reply->code == 220) {
                        helo_done = false;
                        in_mail = false;
                        accepted = 0;
                        caps = Caps{};
                        authed = false;   // the server forgets what it knew of the client (RFC 3207 4.2)
                    }
                    break;
                case Verb::auth:
                    if (client_only) add(DefectCode::SmtpBatchSession, line, "AUTH");
                    need(caps.auth, "AUTH not offered");
                    if (in_mail) add(DefectCode::SmtpSequence, line, "AUTH inside a transaction");
                    if (!helo_done) add(DefectCode::SmtpSequence, line, "AUTH before EHLO");
                    if (authed) add(DefectCode::SmtpSequence, line, "AUTH after a successful AUTH");
                    break;
                default:
                    break;
            }
            seen.mail = seen.mail || probe.verb == Verb::mail;
            seen.rcpt = seen.rcpt || probe.verb == Verb::rcpt;
        }
        if (e.reply && e.reply->klass() <= 3 && !positive_fits(verb, e.kind, e.reply->code)) {
            std::string what = e.kind == ExchangeKind::body   ? std::string("the end of the message")
                               : e.kind == ExchangeKind::sasl ? std::string("an AUTH response")
                                                              : std::string(verb_name(verb));
            add(DefectCode::SmtpReplyUnexpected, e.reply_lines[0], std::to_string(e.reply->code) + " to " + what);
        }
        if (e.reply && e.reply->code == 235 && (verb == Verb::auth || e.kind == ExchangeKind::sasl)) authed = true;
        // A 334 challenge is base64 (empty for PLAIN).
        if (e.reply && e.reply->code == 334 && (verb == Verb::auth || e.kind == ExchangeKind::sasl)) {
            const std::string& ch = e.reply->lines.empty() ? std::string() : e.reply->lines[0];
            if (!ch.empty() && !is_base64_token(ch)) add(DefectCode::SmtpAuth, e.reply_lines[0], "the challenge is not base64");
        }
        if (e.reply && e.reply->code == 334 && verb != Verb::auth && e.kind != ExchangeKind::sasl && e.kind == ExchangeKind::command)
            add(DefectCode::SmtpAuth, e.reply_lines[0], "334 without AUTH");
    }

    // Pipelined groups.
    if (!client_only) {
        std::stable_sort(members.begin(), members.end(),
                         [](const Member& a, const Member& b) { return a.group < b.group; });
        for (std::size_t b = 0, n; b < members.size(); b += n) {
            n = 1;
            while (b + n < members.size() && members[b + n].group == members[b].group) ++n;
            if (n < 2) continue;
            const Caps& gc = members[b].caps;
            for (std::size_t m = 0; m < n; ++m) {
                const Exchange& e = ex[members[b + m].exchange];
                const std::size_t line = e.client[0];
                if (m == 1 && gc.known && !gc.pipelining)
                    add(DefectCode::SmtpPipelining, line, "sent before the previous reply, without PIPELINING");
                if (m + 1 == n || e.kind == ExchangeKind::body) continue;
                const Command c = parse_command(command_text(t, e), {.utf8 = true, .lenient = true});
                if (ends_pipelined_group(c))
                    add(DefectCode::SmtpPipelining, ex[members[b + m + 1].exchange].client[0],
                        "sent before the reply to " + std::string(verb_name(c.verb)));
            }
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const Defect& a, const Defect& b) { return a.offset < b.offset; });
    return out;
}

}  // namespace msg::smtp
