// smtp/replay.cpp - replaying a transcript's client side and comparing the
// replies.
#include "msg/smtp/replay.hpp"

#include "msg/json.hpp"

#include "msg/charset.hpp"
#include "msg/codec.hpp"
#include "msg/header.hpp"
#include "msg/smtp/client_session.hpp"
#include "msg/smtp/command.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace msg::smtp {
namespace {

// What a report shows for an exchange: never credentials, never a body.
std::string describe(const Transcript& t, const Exchange& e) {
    if (e.client.empty()) return e.kind == ExchangeKind::greeting ? "(greeting)" : "(no command)";
    const std::string first(command_text(t, e));
    switch (e.kind) {
    case ExchangeKind::body:
        return "(message body, " + std::to_string(e.client.size()) + " lines)";
    case ExchangeKind::sasl:
        return "(AUTH response)";
    case ExchangeKind::command: {
        if (auto a = auth_line_shown(first)) return *a;
        const Command c = parse_command(first, {.utf8 = true, .lenient = true});
        if (c.verb == Verb::bdat && e.client.size() > 1)
            return first + " (chunk, " + std::to_string(e.client.size() - 1) + " lines)";
        return first;
    }
    default:
        return first;
    }
}

Verb verb_of(const Transcript& t, const Exchange& e) {
    if (e.kind != ExchangeKind::command || e.client.empty()) return Verb::unknown;
    return parse_command(command_text(t, e), {.utf8 = true, .lenient = true}).verb;
}

bool same_lines(const Reply& a, const Reply& b) { return a.code == b.code && a.lines == b.lines; }

// Whether the recording has a message after exchange j (its DATA): the next
// exchange but replies no command asked for is a body.
bool body_follows(const std::vector<Exchange>& ex, std::size_t j) {
    std::size_t k = j + 1;
    while (k < ex.size() && ex[k].kind == ExchangeKind::unanswered) ++k;
    return k < ex.size() && ex[k].kind == ExchangeKind::body;
}

// "535 5.7.8" for notes.
std::string code_of(const std::optional<Reply>& r) {
    if (!r) return "nothing";
    std::string s = std::to_string(r->code);
    if (r->enhanced) s += ' ' + r->enhanced->str();
    return s;
}

// What swaks --auth-hide-password writes in place of the password.
constexpr std::string_view kSwaksMask = "PROVIDED_BUT_REMOVED";

bool is_mask(std::string_view s) { return s == kMaskedSecret || s == kSwaksMask; }

std::optional<std::string> unmask_token(std::string_view token, std::string_view secret) {
    if (token.empty() || !is_base64_token(token)) return std::nullopt;
    std::string plain;
    DecodeStatus st;
    decode_transfer(token, TransferEncoding::base64, plain, &st);
    if (is_mask(plain)) return base64_encode(secret, 0, "");
    // PLAIN: authzid NUL authcid NUL passwd (RFC 4616).
    const std::size_t nul = plain.rfind('\0');
    if (nul == std::string::npos || plain.find('\0') == nul || !is_mask(std::string_view(plain).substr(nul + 1)))
        return std::nullopt;
    return base64_encode(plain.substr(0, nul + 1) + std::string(secret), 0, "");
}

}  // namespace

std::optional<std::string> unmask_auth_line(std::string_view line, std::string_view secret) {
    const Command c = parse_command(line, {.utf8 = true, .lenient = true});
    if (c.verb == Verb::auth) {
        if (c.initial_response.empty()) return std::nullopt;
        auto token = unmask_token(c.initial_response, secret);
        if (!token) return std::nullopt;
        return std::string(line.substr(0, line.size() - c.initial_response.size())) + *token;
    }
    return unmask_token(line, secret);
}

bool pipelines_after(const Transcript& t, const Exchange& prev, const Exchange& next, bool pipelining) {
    if (!pipelining) return false;
    if (prev.kind == ExchangeKind::sasl || next.kind == ExchangeKind::sasl) return false;
    if (prev.kind == ExchangeKind::greeting || prev.kind == ExchangeKind::unanswered) return false;
    if (prev.kind == ExchangeKind::body) return true;   // the next envelope may follow the final dot (RFC 2920 3.1)
    if (prev.client.empty()) return false;
    const Command c = parse_command(command_text(t, prev), {.utf8 = true, .lenient = true});
    return c.verb != Verb::unknown && !ends_pipelined_group(c);
}

std::optional<Match> match_by_name(std::string_view name) {
    if (name == "class") return Match::klass;
    if (name == "code") return Match::code;
    if (name == "enhanced") return Match::enhanced;
    if (name == "text") return Match::text;
    return std::nullopt;
}

std::string_view match_name(Match m) {
    switch (m) {
    case Match::klass: return "class";
    case Match::code: return "code";
    case Match::enhanced: return "enhanced";
    case Match::text: return "text";
    }
    return "code";
}

bool replies_match(const Reply& recorded, const Reply& live, Match m) {
    switch (m) {
    case Match::klass: return recorded.klass() == live.klass();
    case Match::code: return recorded.code == live.code;
    case Match::enhanced:
        return recorded.code == live.code && (!recorded.enhanced || recorded.enhanced == live.enhanced);
    case Match::text: return same_lines(recorded, live);
    }
    return false;
}

ReplayReport replay(const Transcript& t, const Endpoint& server, const ReplayOptions& opt) {
    ReplayReport rep;
    const std::vector<Exchange> ex = exchanges(t);
    rep.steps.resize(ex.size());
    for (std::size_t i = 0; i < ex.size(); ++i) {
        ReplayStep& s = rep.steps[i];
        s.exchange = i;
        s.line = ex[i].first_line();
        s.kind = ex[i].kind;
        s.sent = describe(t, ex[i]);
        s.recorded = ex[i].reply;
    }
    auto conn = Connection::open(server, opt.timeout);
    if (!conn) {
        rep.error = conn.error().message;
        return rep;
    }
    Connection& c = *conn;
    c.set_timeout(opt.timeout);

    auto compare = [&](ReplayStep& s) {
        if (!s.recorded) {
            s.note = "no reply recorded; not compared";
            return;
        }
        s.compared = true;
        ++rep.compared;
        s.match = replies_match(*s.recorded, *s.live, opt.match);
        ++(s.match ? rep.same : rep.mismatches);
    };
    auto skip = [&](ReplayStep& s, const std::string& why) {
        s.match = false;
        s.note = why;
        ++rep.mismatches;
    };

    bool open = true;
    std::string closed_why;

    // No live reply: the connection is closed. Where the recording ends
    // the same way, its server silent from this exchange on (it dropped
    // the connection), the outcome is the same; a batch, which records no
    // reply at all, says nothing of the kind.
    const bool has_replies =
        std::any_of(t.lines.begin(), t.lines.end(), [](const TranscriptLine& l) { return l.side == Side::server; });
    auto no_reply = [&](std::size_t j) {
        ReplayStep& s = rep.steps[j];
        const bool silent_on = has_replies && std::all_of(ex.begin() + static_cast<std::ptrdiff_t>(j), ex.end(),
                                                          [](const Exchange& e) { return e.reply_lines.empty(); });
        if (!silent_on) {
            skip(s, "no reply: " + closed_why);
            return;
        }
        s.compared = true;
        ++rep.compared;
        s.match = true;
        ++rep.same;
        s.note = "no reply, as recorded: " + closed_why;
    };

    // Replies the server has sent beyond those asked for, already read
    // into the buffer when the last one asked for was (a reply too many,
    // RFC 5321 4.2: each command gets one): taken off, so that the next
    // command's reply is its own, and the step before them differs. A 421
    // with nothing after it is the server ending the session, as RFC 5321
    // 3.8 lets it at any time (smtpsink --script at the end of its
    // script): noted, not compared, and the session is over.
    auto unsolicited = [&](std::size_t j) {
        // Recorded too (replies no command asked for, right after this
        // step): each is compared with the next one buffered.
        std::size_t k = j + 1;
        for (; k < ex.size() && ex[k].kind == ExchangeKind::unanswered && c.buffered(); ++k) {
            auto r = c.read_reply();
            if (!r) break;
            rep.steps[k].live = *r;
            compare(rep.steps[k]);
        }
        ReplayStep& s = rep.steps[j];
        std::string seen;
        while (c.buffered()) {
            auto r = c.read_reply();
            if (!r) break;
            if (r->code == 421 && !c.buffered()) {
                s.note += (s.note.empty() ? "" : "; ") + std::string("then the server closed the session unasked: 421 ") +
                          r->text() + " (not compared)";
                open = false;
                closed_why = "the server closed the session (421)";
                break;
            }
            seen += (seen.empty() ? "" : "; ") + std::to_string(r->code) + " " + r->text();
        }
        if (seen.empty()) return;
        if (s.match) {
            if (s.compared) --rep.same;
            ++rep.mismatches;
        }
        s.match = false;
        s.note += (s.note.empty() ? "" : "; ") + std::string("then a reply no command asked for: ") + seen;
    };

    // TLS on connect comes before the greeting.
    bool tls = false;
    if (opt.tls_on_connect || begins_with_tls(t)) {
        if (auto h = c.start_tls(opt.tls, server.host); !h) {
            rep.error = h.error().message;
            return rep;
        }
        tls = rep.tls_on_connect = true;
    }

    // The greeting comes first, recorded or not.
    std::size_t i = 0;
    {
        auto g = c.read_reply();
        if (!g) {
            rep.error = g.error().message;
            return rep;
        }
        rep.reached = true;
        if (!ex.empty() && ex[0].kind == ExchangeKind::greeting) {
            rep.steps[0].live = *g;
            compare(rep.steps[0]);
            unsolicited(0);
            i = 1;
        } else {
            // No greeting recorded: one sent in two is taken off all the same.
            while (c.buffered())
                if (!c.read_reply()) break;
        }
    }

    const bool loopback = is_loopback_host(server.host);
    bool pipelining = false, chunking = false;
    // This transaction was ended by RSET: --no-data, or BDAT to a server
    // that did not offer CHUNKING.
    bool no_data_reset = false;
    std::optional<Reply> last_data, last_sasl;   // live replies to the latest DATA and AUTH step
    unsigned writes = 0;
    while (i < ex.size()) {
        // One write: exchanges of one recorded group, as far as RFC 2920
        // lets them go without waiting (one when there is no PIPELINING).
        const unsigned group = ex[i].group;
        std::size_t end = i + 1;
        while (end < ex.size() && ex[end].group == group && ex[end].kind != ExchangeKind::greeting &&
               pipelines_after(t, ex[end - 1], ex[end], pipelining))
            ++end;
        std::string bytes;
        std::vector<std::size_t> sent;
        std::vector<bool> instead_of_data(ex.size() - i, false);   // --no-data: RSET sent for it
        ++writes;
        for (std::size_t j = i; j < end; ++j) {
            ReplayStep& s = rep.steps[j];
            const Exchange& e = ex[j];
            if (e.kind == ExchangeKind::unanswered || e.kind == ExchangeKind::greeting) {
                if (!s.live) s.note = "recorded reply that no command asked for; not compared";
                continue;
            }
            if (!open) {
                skip(s, "not sent: " + closed_why);
                continue;
            }
            if (e.tls && !tls) {
                skip(s, "not sent: recorded inside TLS, and the live session is not");
                continue;
            }
            const Verb v = verb_of(t, e);
            if (v == Verb::mail) no_data_reset = false;
            if (no_data_reset && (e.kind == ExchangeKind::body || v == Verb::bdat)) {
                if (opt.no_data) s.note = "not sent: --no-data";
                else skip(s, "not sent: the server did not offer CHUNKING");
                continue;
            }
            if (e.kind == ExchangeKind::body && (!last_data || last_data->code != 354)) {
                skip(s, "not sent: DATA was answered " + code_of(last_data));
                continue;
            }
            if (e.kind == ExchangeKind::sasl && (!last_sasl || last_sasl->code != 334)) {
                skip(s, "not sent: AUTH was answered " + code_of(last_sasl));
                continue;
            }
            // RFC 3030 2: no BDAT unless the server offered CHUNKING; one
            // that did not would read the chunk's lines as commands.
            const bool unchunked = v == Verb::bdat && !chunking;
            if ((opt.no_data && (v == Verb::data || v == Verb::bdat)) || unchunked) {
                bytes += "RSET\r\n";
                s.sent = "RSET (" + std::string(opt.no_data ? "--no-data" : "no CHUNKING") + ", instead of " +
                         s.sent + ")";
                instead_of_data[j - i] = true;
                no_data_reset = true;
                sent.push_back(j);
                continue;
            }
            std::string out = client_bytes(t, e);
            if ((v == Verb::auth || e.kind == ExchangeKind::sasl) && !opt.secret.empty()) {
                if (auto line = unmask_auth_line(t.lines[e.client[0]].text, opt.secret)) {
                    if (!tls && !loopback) {
                        skip(s, "not sent: credentials go only over TLS or to a loopback address");
                        continue;
                    }
                    out = *line + "\r\n";
                    s.note = "the password from --auth-file in place of the masked one";
                }
            }
            bytes += out;
            sent.push_back(j);
        }
        if (!sent.empty()) {
            if (auto w = c.write(bytes); !w) {
                open = false;
                closed_why = w.error().message;
            }
        }
        for (std::size_t j : sent) {
            ReplayStep& s = rep.steps[j];
            s.write = writes;
            if (!open) {
                no_reply(j);
                continue;
            }
            auto r = c.read_reply();
            if (!r) {
                open = false;
                closed_why = r.error().message;
                no_reply(j);
                continue;
            }
            s.live = *r;
            if (instead_of_data[j - i]) {
                // RSET's reply is not DATA's: noted, not compared. Without
                // CHUNKING the step is a difference: the recording's server
                // took BDAT, this one cannot.
                if (opt.no_data) {
                    s.match = r->klass() == 2;
                    s.note = "--no-data: RSET instead of DATA; not compared";
                } else {
                    s.match = false;
                    s.note = "the server did not offer CHUNKING: RSET instead of BDAT, its chunk not sent";
                }
                if (!s.match) ++rep.mismatches;
                continue;
            }
            const std::string kept_note = std::exchange(s.note, std::string());
            compare(s);
            if (!kept_note.empty()) s.note = s.note.empty() ? kept_note : kept_note + "; " + s.note;
            const Verb v = verb_of(t, ex[j]);
            if (v == Verb::ehlo && r->code == 250) {
                const Capabilities caps = parse_capabilities(*r);
                pipelining = caps.pipelining;
                chunking = caps.chunking;
            }
            if (v == Verb::helo && r->code == 250) pipelining = chunking = false;
            if (v == Verb::data) last_data = *r;
            // After a 354 nothing but a message may follow, through its final
            // dot (RFC 5321 4.1.1.4): a command written now would be taken as
            // its content. Where the recording has no message (its server
            // refused the DATA, or it ends there) the transaction is abandoned
            // by closing the connection without the dot, which delivers
            // nothing; the session cannot go on, as after any close.
            if (v == Verb::data && r->code == 354 && !body_follows(ex, j)) {
                s.note += (s.note.empty() ? "" : "; ") +
                          std::string("the recording has no message for this DATA: the connection was closed "
                                      "without the final dot, so nothing was delivered");
                c.close();
                open = false;
                closed_why = "the connection was closed to abandon a message the recording does not have";
                continue;
            }
            if (v == Verb::auth || ex[j].kind == ExchangeKind::sasl) last_sasl = *r;
            if (v == Verb::starttls && r->code == 220) {
                if (auto h = c.start_tls(opt.tls, server.host); !h) {
                    open = false;
                    closed_why = h.error().message;
                } else {
                    tls = true;
                    pipelining = chunking = false;   // until the next EHLO says otherwise
                }
            }
            if (r->code == 221 || r->code == 421) {
                open = false;
                closed_why = "the server closed the session (" + std::to_string(r->code) + ")";
            }
        }
        if (open && !sent.empty()) unsolicited(sent.back());
        i = end;
    }
    if (open) (void)c.write("QUIT\r\n");   // a transcript cut short still ends politely
    return rep;
}

namespace {
void reply_json(Json& j, std::string_view key, const std::optional<Reply>& r) {
    j.key(key);
    if (!r) {
        j.null();
        return;
    }
    j.begin_object().key("code").value(r->code).key("enhanced");
    if (r->enhanced) j.value(r->enhanced->str());
    else j.null();
    j.key("lines").begin_array();
    // A server's text, recorded or live: its control characters (and bytes
    // that are not UTF-8) as \xHH, as docs/json.md has peer text and as the
    // text report shows it.
    for (const std::string& l : r->lines) j.value(printable(l));
    j.end_array().end_object();
}
}  // namespace

std::string replay_step_json(std::string_view source, std::uint64_t line, const ReplayStep& s) {
    Json j;
    j.begin_object().key("source").value(source).key("line").value(line).key("sent").value(s.sent);
    reply_json(j, "recorded", s.recorded);
    reply_json(j, "live", s.live);
    j.key("compared").value(s.compared).key("match").value(s.match);
    if (!s.note.empty()) j.key("note").value(printable(s.note));   // may quote a reply
    j.end_object();
    return j.str();
}

std::string replay_summary_json(std::string_view source, std::string_view server, const ReplayReport& r, Match match) {
    Json j;
    j.begin_object().key("source").value(source).key("server").value(server).key("reached").value(r.reached);
    if (!r.reached) j.key("error").value(printable(r.error));
    else
        j.key("match_by").value(match_name(match))
            .key("exchanges").value(static_cast<std::uint64_t>(r.steps.size()))
            .key("compared").value(static_cast<std::uint64_t>(r.compared))
            .key("same").value(static_cast<std::uint64_t>(r.same))
            .key("mismatches").value(static_cast<std::uint64_t>(r.mismatches));
    j.end_object();
    return j.str();
}

}  // namespace msg::smtp
