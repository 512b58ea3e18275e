// transcript_anon.cpp - anonymise(): a transcript with the people and hosts
// taken out, still a valid transcript (smtp/transcript.hpp).
#include <arpa/inet.h>

#include <map>
#include <string>

#include "msg/codec.hpp"
#include "msg/envelope.hpp"
#include "msg/smtp/command.hpp"
#include "msg/smtp/transcript.hpp"

namespace msg::smtp {

namespace {

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

std::string lower(std::string_view s) {
    std::string o(s);
    for (char& c : o)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return o;
}

class Scrubber {
public:
    // Every address, domain name and IP address in `s` replaced, and the
    // names replaced before (a single-label EHLO name) wherever they come.
    std::string text(std::string_view s) {
        std::string out;
        std::size_t i = 0;
        while (i < s.size()) {
            if (const std::size_t n = ipv6_at(s, i)) {
                out += ip(s.substr(i, n));
                i += n;
                continue;
            }
            if (!alnum(s[i]) && s[i] != '_' && s[i] != '+' && s[i] != '-') {
                out += s[i++];
                continue;
            }
            // A token of name characters, dots, hyphens, and at most one '@'.
            std::size_t j = i;
            while (j < s.size() && (alnum(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '_' || s[j] == '+' || s[j] == '@')) ++j;
            std::string_view tok = s.substr(i, j - i);
            while (!tok.empty() && (tok.back() == '.' || tok.back() == '-')) tok.remove_suffix(1);
            out += token(tok);
            i += tok.size();
            if (tok.empty()) out += s[i++];
        }
        return out;
    }

    std::string token(std::string_view tok) {
        const std::size_t at = tok.find('@');
        if (at != std::string_view::npos && at > 0 && at + 1 < tok.size() && tok.find('@', at + 1) == std::string_view::npos)
            return local(tok.substr(0, at)) + "@" + (name_like(tok.substr(at + 1)) ? domain(tok.substr(at + 1)) : std::string(tok.substr(at + 1)));
        if (ipv4(tok)) return ip(tok);
        if (name_like(tok) || domains_.count(lower(tok))) return domain(tok);
        return std::string(tok);
    }

    // An EHLO or HELO argument: a name, one label or more, or an address
    // literal ("[192.0.2.1]", "[IPv6:2001:db8::1]").
    std::string host(std::string_view h) {
        if (h.size() > 2 && h.front() == '[' && h.back() == ']') return "[" + text(h.substr(1, h.size() - 2)) + "]";
        for (char c : h)
            if (!alnum(c) && c != '.' && c != '-') return text(h);
        return domain(h);
    }

    // A distinguished name as swaks shows the TLS peer's ("/C=DE/O=Acme
    // Bank/CN=mx.example.com"): each value but the country replaced.
    std::string dn(std::string_view d) {
        std::string out;
        std::size_t i = 0;
        while (i < d.size()) {
            const std::size_t eq = d.find('=', i);
            if (eq == std::string_view::npos) {
                out += d.substr(i);
                break;
            }
            std::size_t end = d.find_first_of("/,", eq + 1);
            if (end == std::string_view::npos) end = d.size();
            const std::string_view key = d.substr(i, eq + 1 - i), value = d.substr(eq + 1, end - eq - 1);
            out += key;
            const std::string k = lower(ltrim_sep(key));
            if (k == "c=") out += value;
            else if (name_like(value) || (k == "cn=" && value.find(' ') == std::string_view::npos)) out += domain(value);
            else out += mapped(names_, std::string(value), "name");
            if (end < d.size()) out += d[end];
            i = end + 1;
        }
        return out;
    }

    // A person's name ("John Smith", as VRFY's reply gives it).
    std::string name(std::string_view n) { return mapped(names_, std::string(n), "name"); }

    // A VRFY or EXPN argument: an address, a user name, or a person's name.
    std::string lookup(std::string_view a) {
        if (a.find('@') != std::string_view::npos) return text(a);
        if (a.find(' ') != std::string_view::npos) return name(a);
        return local(a);
    }

    // An ESMTP parameter's value that may name someone: AUTH's and ENVID's
    // xtext (RFC 4954 5, RFC 3461 4.4), ORCPT's addr-type;xtext (or RFC
    // 6533's \x{HH} escapes under utf-8), decoded, scrubbed and written in
    // the same form again, so that "+40" for '@' hides nothing.
    std::string xtext_value(std::string_view v, bool orcpt) {
        std::string prefix;
        bool unitext = false;
        if (orcpt) {
            const std::size_t semi = v.find(';');
            if (semi == std::string_view::npos) return text(v);
            prefix = std::string(v.substr(0, semi + 1));
            unitext = lower(v.substr(0, semi)) == "utf-8";
            v.remove_prefix(semi + 1);
        }
        const std::string plain = unitext ? unescape_utf8_address(v) : xtext_decode(v);
        const std::string scrubbed = text(plain);
        std::string out = prefix;
        for (const char c : scrubbed) {
            const auto u = static_cast<unsigned char>(c);
            if (u >= 33 && u <= 126 && c != '+' && c != '=' && !(unitext && c == '\\')) {
                out += c;
            } else if (unitext && u >= 0x80) {
                out += c;
            } else {
                static const char* hex = "0123456789ABCDEF";
                out += unitext ? std::string("\\x{") : std::string("+");
                out += hex[u >> 4];
                out += hex[u & 15];
                if (unitext) out += '}';
            }
        }
        return out;
    }

    std::string local(std::string_view l) {
        if (lower(l) == "postmaster") return std::string(l);
        return mapped(locals_, lower(l), "user");
    }
    std::string domain(std::string_view d) { return mapped(domains_, lower(d), "host", ".example"); }
    std::string ip(std::string_view a) {
        const bool v6 = a.find(':') != std::string_view::npos;
        auto& m = v6 ? ip6s_ : ips_;
        auto [it, fresh] = m.try_emplace(std::string(a), "");
        // Documentation addresses (RFC 5737, RFC 3849).
        if (fresh) it->second = (v6 ? "2001:db8::" : "192.0.2.") + std::to_string(v6 ? m.size() : m.size() % 254 + 1);
        return it->second;
    }

private:
    static std::string_view ltrim_sep(std::string_view k) {
        while (!k.empty() && (k.front() == '/' || k.front() == ',' || k.front() == ' ')) k.remove_prefix(1);
        return k;
    }
    // The length of an IPv6 address starting at s[i] (not inside a word),
    // or 0: hex digits, colons and dots (an IPv4 tail), two colons or more.
    static std::size_t ipv6_at(std::string_view s, std::size_t i) {
        const bool tagged = i >= 5 && lower(s.substr(i - 5, 5)) == "ipv6:";   // an address literal's tag
        if (i > 0 && (alnum(s[i - 1]) || (s[i - 1] == ':' && !tagged) || s[i - 1] == '.')) return 0;
        std::size_t j = i, colons = 0;
        bool hex = false;
        for (; j < s.size(); ++j) {
            const char c = s[j];
            if (c == ':') ++colons;
            else if (digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) hex = true;
            else if (c != '.') break;
        }
        if (j < s.size() && (alnum(s[j]) || s[j] == '_' || s[j] == '-')) return 0;   // a word goes on
        while (j > i && s[j - 1] == '.') --j;   // a sentence's full stop, swaks's "..."
        if (colons < 2 || !hex || j - i > 45) return 0;
        const std::string cand(s.substr(i, j - i));
        in6_addr a{};
        return inet_pton(AF_INET6, cand.c_str(), &a) == 1 ? j - i : 0;
    }
    static bool ipv4(std::string_view t) {
        int dots = 0, run = 0;
        for (char c : t) {
            if (c == '.') {
                if (run == 0) return false;
                ++dots;
                run = 0;
            } else if (digit(c) && run < 3) {
                ++run;
            } else {
                return false;
            }
        }
        return dots == 3 && run > 0;
    }
    // Two labels or more, the last alphabetic: a host or domain name.
    static bool name_like(std::string_view t) {
        const std::size_t dot = t.rfind('.');
        if (dot == std::string_view::npos || dot == 0 || dot + 2 > t.size()) return false;
        for (char c : t.substr(dot + 1))
            if (!alpha(c)) return false;
        for (char c : t)
            if (!alnum(c) && c != '.' && c != '-') return false;
        return true;
    }
    static std::string mapped(std::map<std::string, std::string>& m, const std::string& key, const char* stem,
                              const char* tail = "") {
        auto [it, fresh] = m.try_emplace(key, "");
        if (fresh) it->second = stem + std::to_string(m.size()) + tail;
        return it->second;
    }

    std::map<std::string, std::string> locals_, domains_, ips_, ip6s_, names_;
};

// Message content: header field names, MIME structure (Content-* and
// MIME-Version fields, boundary lines), line lengths and dot-stuffing kept;
// letters and digits elsewhere become 'x' and '0'.
std::string mask(std::string_view s) {
    std::string o(s);
    for (char& c : o) {
        if (alpha(c)) c = 'x';
        else if (digit(c)) c = '0';
        else if (static_cast<unsigned char>(c) >= 0x80) c = 'x';
    }
    return o;
}

std::string body_line(std::string_view l, bool& in_header, bool& keep_value) {
    if (l.empty()) {
        in_header = false;
        return {};
    }
    std::size_t dots = 0;
    while (dots < l.size() && l[dots] == '.') ++dots;
    const std::string_view rest = l.substr(dots);
    std::string out(l.substr(0, dots));
    if (rest.substr(0, 2) == "--") return out + std::string(rest);   // a boundary, kept
    if (in_header) {
        if (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t'))
            return out + (keep_value ? std::string(rest) : mask(rest));
        const std::size_t colon = rest.find(':');
        if (colon != std::string_view::npos) {
            const std::string name = lower(rest.substr(0, colon));
            keep_value = name.rfind("content-", 0) == 0 || name == "mime-version";
            const std::string_view value = rest.substr(colon);
            return out + std::string(rest.substr(0, colon)) + (keep_value ? std::string(value) : ":" + mask(value.substr(1)));
        }
    }
    return out + mask(rest);
}

// A 334 challenge: LOGIN's prompts kept (they name no one), any other
// decoded and scrubbed when it is text (CRAM-MD5's "<pid.time@host>",
// DIGEST-MD5's realm), else replaced whole (NTLM's binary challenge holds
// the server's and its domain's names).
std::string challenge(Scrubber& s, std::string_view b64) {
    if (b64.empty() || !is_base64_token(b64)) return s.text(b64);
    std::string plain;
    decode_transfer(b64, TransferEncoding::base64, plain);
    const std::string l = lower(plain);
    if (l == "username:" || l == "password:") return std::string(b64);
    for (const char c : plain)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)
            return base64_encode("challenge", 0, "");
    return base64_encode(s.text(plain), 0, "");
}

// A reply to VRFY or EXPN (RFC 5321 3.5.1: "Full Name <mailbox>"): the
// name before the mailbox mapped as a name, and the argument wherever the
// server repeats it ("Alice Jones... User address required").
std::string lookup_answer(Scrubber& s, std::string_view t, std::string_view arg) {
    const std::size_t lt = t.find('<');
    std::size_t b = 0, e = lt == std::string_view::npos ? 0 : lt;
    while (b < e && t[b] == ' ') ++b;
    while (e > b && t[e - 1] == ' ') --e;
    if (b < e) return std::string(t.substr(0, b)) + s.name(t.substr(b, e - b)) + std::string(t.substr(e, lt - e)) + s.text(t.substr(lt));
    std::string out;
    for (std::size_t at = arg.empty() ? std::string_view::npos : t.find(arg); at != std::string_view::npos;
         at = t.find(arg)) {
        out += s.text(t.substr(0, at)) + s.lookup(arg);
        t.remove_prefix(at + arg.size());
    }
    return out + s.text(t);
}

// MAIL's or RCPT's path and parameters: the path scrubbed, the parameters
// that may name someone decoded first (Scrubber::xtext_value), the others
// scrubbed as text.
std::string path_and_params(Scrubber& s, std::string_view args) {
    std::string out;
    std::size_t i = 0;
    bool first = true;
    while (i <= args.size()) {
        std::size_t e = args.find(' ', i);
        if (e == std::string_view::npos) e = args.size();
        const std::string_view w = args.substr(i, e - i);
        const std::size_t eq = w.find('=');
        const std::string key = eq == std::string_view::npos ? std::string() : lower(w.substr(0, eq));
        if (!first) out += ' ';
        if (!first && (key == "auth" || key == "envid" || key == "orcpt"))
            out += std::string(w.substr(0, eq + 1)) + s.xtext_value(w.substr(eq + 1), key == "orcpt");
        else
            out += s.text(w);
        first = false;
        i = e + 1;
    }
    return out;
}

}  // namespace

Transcript anonymise(const Transcript& t) {
    Transcript o = t;
    Scrubber s;
    if (!o.peer.empty()) {
        // HOST:PORT, an IPv6 address in brackets ("[2001:db8::1]:25").
        const std::size_t close = o.peer.front() == '[' ? o.peer.find(']') : std::string::npos;
        const std::size_t colon = close != std::string::npos ? o.peer.find(':', close) : o.peer.rfind(':');
        const std::string host = o.peer.substr(0, colon);
        o.peer = (close != std::string::npos ? s.text(host) : s.token(host)) +
                 (colon == std::string::npos ? "" : o.peer.substr(colon));
    }
    const std::vector<Exchange> ex = exchanges(t);
    std::vector<int> role(t.lines.size(), 0);   // 1 body, 2 SASL response, 3 AUTH command
    // The reply lines of VRFY and EXPN, with the argument each answers.
    std::map<std::size_t, std::string> lookup_reply;
    for (const Exchange& e : ex) {
        for (std::size_t i : e.client) {
            if (e.kind == ExchangeKind::body) role[i] = 1;
            else if (e.kind == ExchangeKind::sasl) role[i] = 2;
        }
        if (e.kind == ExchangeKind::command && !e.client.empty()) {
            const Command c = parse_command(t.lines[e.client[0]].text, {.utf8 = true, .lenient = true});
            if (c.verb == Verb::auth) role[e.client[0]] = 3;
            if (c.verb == Verb::vrfy || c.verb == Verb::expn)
                for (std::size_t k : e.reply_lines) lookup_reply[k] = std::string(c.arg);
            if (c.verb == Verb::bdat)
                for (std::size_t k = 1; k < e.client.size(); ++k) role[e.client[k]] = 1;
        }
    }
    bool in_header = true, keep_value = false;
    unsigned sasl_step = 0;
    for (std::size_t i = 0; i < o.lines.size(); ++i) {
        TranscriptLine& l = o.lines[i];
        if (l.side == Side::event) {
            // swaks: TLS peer DN="/C=../O=../CN=..", TLS local DN=...
            const std::size_t dn = l.text.find("DN=\"");
            if (dn != std::string::npos) {
                const std::size_t end = l.text.find('"', dn + 4);
                const std::size_t stop = end == std::string::npos ? l.text.size() : end;
                l.text = s.text(l.text.substr(0, dn)) + "DN=\"" + s.dn(std::string_view(l.text).substr(dn + 4, stop - dn - 4)) +
                         (end == std::string::npos ? "" : s.text(l.text.substr(end)));
            } else {
                l.text = s.text(l.text);
            }
            continue;
        }
        if (l.side == Side::server) {
            // Code and enhanced code kept, the text scrubbed.
            const ReplyLine r = parse_reply_line(l.text);
            if (!r.ok) {
                l.text = s.text(l.text);
                continue;
            }
            const std::size_t head = l.text.size() - r.text.size();
            std::size_t elen = 0;
            parse_enhanced(r.text, &elen);
            const std::string_view rest = std::string_view(r.text).substr(elen);
            std::string scrubbed;
            if (r.code == 334) {
                scrubbed = challenge(s, rest);
            } else if (const auto a = lookup_reply.find(i); a != lookup_reply.end()) {
                scrubbed = lookup_answer(s, rest, a->second);
            } else {
                scrubbed = s.text(rest);
            }
            l.text = l.text.substr(0, head + elen) + scrubbed;
            continue;
        }
        switch (role[i]) {
            case 1:
                if (l.text == "." && !l.bare_lf) {
                    in_header = true;
                    keep_value = false;
                } else {
                    l.text = body_line(l.text, in_header, keep_value);
                }
                break;
            case 2:
                // LOGIN sends the user, then the password; PLAIN one response.
                if (l.text != "*") l.text = base64_encode(sasl_step++ == 0 ? "user" : "password", 0, "");
                break;
            case 3: {
                const Command c = parse_command(l.text, {.utf8 = true, .lenient = true});
                sasl_step = 0;
                if (!c.initial_response.empty() && c.initial_response != "=") {
                    const bool plain = c.mechanism.size() == 5 && (c.mechanism[0] == 'P' || c.mechanism[0] == 'p');
                    l.text = l.text.substr(0, l.text.size() - c.initial_response.size()) +
                             base64_encode(plain ? std::string("\0user\0password", 14) : std::string("user"), 0, "");
                    sasl_step = 1;
                }
                break;
            }
            default: {
                // The verb kept, the arguments scrubbed; HELO's and EHLO's
                // name whatever it looks like (a laptop's single label).
                const std::size_t sp = l.text.find(' ');
                const Command c = parse_command(l.text, {.utf8 = true, .lenient = true});
                const Verb v = c.verb;
                const std::string_view args = sp == std::string::npos ? std::string_view() : std::string_view(l.text).substr(sp + 1);
                if (sp != std::string::npos && (v == Verb::helo || v == Verb::ehlo) &&
                    args.find(' ') == std::string_view::npos && !args.empty())
                    l.text = l.text.substr(0, sp + 1) + s.host(args);
                else if ((v == Verb::vrfy || v == Verb::expn) && !c.arg.empty())
                    l.text = l.text.substr(0, l.text.size() - c.arg.size()) + s.lookup(c.arg);
                else if (v == Verb::mail || v == Verb::rcpt)
                    l.text = l.text.substr(0, sp + 1) + path_and_params(s, args);
                else if (sp != std::string::npos)
                    l.text = l.text.substr(0, sp + 1) + s.text(args);
                in_header = true;
                keep_value = false;
                break;
            }
        }
    }
    return o;
}

}  // namespace msg::smtp
