// smtp/replay.cpp - replaying a transcript's client side and comparing the
// replies.
#include "msg/smtp/replay.hpp"

#include "msg/smtp/command.hpp"

namespace msg::smtp {
namespace {

// What a report shows for an exchange: never credentials, never a body.
std::string describe(const Transcript& t, const Exchange& e) {
    if (e.client.empty()) return e.kind == ExchangeKind::greeting ? "(greeting)" : "(no command)";
    const std::string& first = t.lines[e.client[0]].text;
    switch (e.kind) {
    case ExchangeKind::body:
        return "(message body, " + std::to_string(e.client.size()) + " lines)";
    case ExchangeKind::sasl:
        return "(AUTH response)";
    case ExchangeKind::command: {
        const Command c = parse_command(first, {.utf8 = true, .lenient = true});
        if (c.verb == Verb::auth && !c.initial_response.empty())
            return std::string(first.substr(0, first.size() - c.initial_response.size())) + "(initial response)";
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
    return parse_command(t.lines[e.client[0]].text, {.utf8 = true, .lenient = true}).verb;
}

bool same_lines(const Reply& a, const Reply& b) { return a.code == b.code && a.lines == b.lines; }

}  // namespace

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

    auto compare = [&](ReplayStep& s) {
        if (!s.recorded) {
            s.note = "no reply recorded; not compared";
            return;
        }
        s.compared = true;
        ++rep.compared;
        s.match = replies_match(*s.recorded, *s.live, opt.match);
        if (!s.match) ++rep.mismatches;
    };
    auto skip = [&](ReplayStep& s, const std::string& why) {
        s.match = false;
        s.note = why;
        ++rep.mismatches;
    };

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
            i = 1;
        }
    }

    bool open = true;
    std::string closed_why;
    int last_data = 0, last_sasl = 0;   // live codes to the latest DATA and AUTH step
    while (i < ex.size()) {
        const unsigned group = ex[i].group;
        std::size_t end = i;
        while (end < ex.size() && ex[end].group == group && ex[end].kind != ExchangeKind::greeting) ++end;
        if (end == i) end = i + 1;
        std::string bytes;
        std::vector<std::size_t> sent;
        for (std::size_t j = i; j < end; ++j) {
            ReplayStep& s = rep.steps[j];
            if (ex[j].kind == ExchangeKind::unanswered || ex[j].kind == ExchangeKind::greeting) {
                s.note = "recorded reply that no command asked for; not compared";
                continue;
            }
            if (!open) {
                skip(s, "not sent: " + closed_why);
                continue;
            }
            if (ex[j].kind == ExchangeKind::body && last_data != 354) {
                skip(s, "not sent: DATA was answered " + std::to_string(last_data));
                continue;
            }
            if (ex[j].kind == ExchangeKind::sasl && last_sasl != 334) {
                skip(s, "not sent: AUTH was answered " + std::to_string(last_sasl));
                continue;
            }
            bytes += client_bytes(t, ex[j]);
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
            if (!open) {
                skip(s, "no reply: " + closed_why);
                continue;
            }
            auto r = c.read_reply();
            if (!r) {
                open = false;
                closed_why = r.error().message;
                skip(s, "no reply: " + closed_why);
                continue;
            }
            s.live = *r;
            compare(s);
            const Verb v = verb_of(t, ex[j]);
            if (v == Verb::data) last_data = r->code;
            if (v == Verb::auth || ex[j].kind == ExchangeKind::sasl) last_sasl = r->code;
            if (v == Verb::starttls && r->code == 220) {
                if (auto tls = c.start_tls(opt.tls, server.host); !tls) {
                    open = false;
                    closed_why = tls.error().message;
                }
            }
            if (r->code == 221 || r->code == 421) {
                open = false;
                closed_why = "the server closed the session (" + std::to_string(r->code) + ")";
            }
        }
        i = end;
    }
    if (open) (void)c.write("QUIT\r\n");   // a transcript cut short still ends politely
    return rep;
}

}  // namespace msg::smtp
