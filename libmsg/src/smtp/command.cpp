// smtp/command.cpp - command lines (RFC 5321 4.1.1, RFC 3030, 3207, 4954,
// 1985), parsed into spans.
#include "msg/smtp/command.hpp"

#include <algorithm>
#include <array>

#include "msg/header.hpp"

namespace msg::smtp {
namespace {

bool istarts(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

struct VerbName {
    std::string_view name;
    Verb verb;
};
constexpr std::array<VerbName, 15> kVerbs{{
    {"HELO", Verb::helo}, {"EHLO", Verb::ehlo}, {"MAIL", Verb::mail}, {"RCPT", Verb::rcpt},
    {"DATA", Verb::data}, {"BDAT", Verb::bdat}, {"RSET", Verb::rset}, {"VRFY", Verb::vrfy},
    {"EXPN", Verb::expn}, {"HELP", Verb::help}, {"NOOP", Verb::noop}, {"QUIT", Verb::quit},
    {"STARTTLS", Verb::starttls}, {"AUTH", Verb::auth}, {"ETRN", Verb::etrn},
}};

Command& fail(Command& c, std::string_view why, std::size_t at) {
    c.ok = false;
    c.error = why;
    c.error_at = at;
    return c;
}

// esmtp-param *(SP esmtp-param) at line[at...]: the first problem fails
// the command (a lenient reader lets spacing pass).
bool parse_params(Command& c, std::string_view line, std::size_t at, const CommandOptions& opt) {
    std::vector<ParamProblem> problems;
    c.params = parse_esmtp_params(line.substr(at), at, opt.utf8, &problems);
    for (const ParamProblem& p : problems)
        if (!p.spacing || !opt.lenient) {
            c.params.clear();
            fail(c, p.what, p.at);
            return false;
        }
    return true;
}

// MAIL FROM:<path> [params] / RCPT TO:<path> [params].
void parse_path_command(Command& c, std::string_view line, std::size_t arg_at, const CommandOptions& opt) {
    const bool mail = c.verb == Verb::mail;
    const std::string_view keyword = mail ? "FROM:" : "TO:";
    std::string_view rest = line.substr(arg_at);
    if (!istarts(rest, keyword))
        return void(fail(c, mail ? "MAIL needs FROM:<reverse-path>" : "RCPT needs TO:<forward-path>", arg_at));
    std::size_t at = arg_at + keyword.size();
    if (at < line.size() && line[at] == ' ') {
        if (!opt.lenient) return void(fail(c, "no space is allowed before the path", at));
        while (at < line.size() && line[at] == ' ') ++at;
    }
    if (at >= line.size() || line[at] != '<') return void(fail(c, "the path must be in angle brackets", at));
    c.path_offset = at;
    c.path = parse_path(line.substr(at), mail ? PathKind::reverse : PathKind::forward, opt.utf8);
    if (!c.path.ok) {
        const std::size_t gt = line.find('>', at);
        if (gt != std::string_view::npos && gt > at + 1) {
            const std::string_view inner = line.substr(at + 1, gt - at - 1);
            c.local_path = inner.find_first_of("@ \"\\<>()[],;:") == std::string_view::npos &&
                           inner.front() != '.' && inner.back() != '.';
        }
        if (c.local_path) return void(fail(c, "the path has no domain", at + 1 + (gt - at - 1)));
        return void(fail(c, c.path.error.empty() ? "malformed path" : c.path.error, at + c.path.error_at));
    }
    std::size_t after = at + c.path.end;
    if (after == line.size()) {
        c.ok = true;
        return;
    }
    if (line[after] != ' ') return void(fail(c, "a space must separate the path from parameters", after));
    if (after + 1 == line.size() && !opt.lenient) return void(fail(c, "trailing space", after));
    c.ok = parse_params(c, line, after + 1, opt);
}

// A sasl-mech: 1*20(UPPER-ALPHA / DIGIT / "-" / "_"), case-insensitive in practice.
bool is_mechanism(std::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char ch : s)
        if (!alnum(ch) && ch != '-' && ch != '_') return false;
    return true;
}

// A mechanism's name that a line may show: one of the registered names
// (IANA's SASL mechanisms, any case) or of their families. A word that is
// only shaped like one (up to 20 letters and digits) may be a client's
// credential sent where the mechanism belongs, and is not shown.
bool known_mechanism(std::string_view s) {
    static constexpr std::string_view names[] = {
        "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "GSSAPI", "GSS-SPNEGO", "NTLM", "EXTERNAL", "ANONYMOUS",
        "XOAUTH", "XOAUTH2", "OAUTHBEARER", "OTP", "SKEY", "SECURID", "KERBEROS_V4", "KERBEROS_V5", "SRP",
        "SAML20", "OPENID20", "PASSDSS-3DES-1", "NMAS_LOGIN", "NMAS_AUTHEN", "NMAS-SAMBA-AUTH"};
    static constexpr std::string_view families[] = {"SCRAM-", "GS2-", "9798-", "EAP-"};
    for (std::string_view n : names)
        if (iequals(s, n)) return true;
    for (std::string_view f : families)
        if (s.size() > f.size() && istarts(s, f)) return true;
    return false;
}

}  // namespace

std::string_view verb_name(Verb v) {
    for (const VerbName& n : kVerbs)
        if (n.verb == v) return n.name;
    return {};
}

const EsmtpParam* Command::param(std::string_view keyword) const {
    for (const EsmtpParam& p : params)
        if (iequals(p.keyword, keyword)) return &p;
    return nullptr;
}

bool is_base64_token(std::string_view s) {
    if (s.empty() || s.size() % 4 != 0) return false;
    std::size_t pad = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char ch = s[i];
        if (ch == '=') {
            ++pad;
            continue;
        }
        if (pad > 0) return false;
        if (!alnum(ch) && ch != '+' && ch != '/') return false;
    }
    return pad <= 2;
}

Command parse_command(std::string_view line, const CommandOptions& opt) {
    Command c;
    std::size_t sp = line.find(' ');
    c.name = line.substr(0, sp);
    if (sp != std::string_view::npos) c.arg = line.substr(sp + 1);
    for (const VerbName& n : kVerbs)
        if (iequals(c.name, n.name)) c.verb = n.verb;
    if (c.verb == Verb::unknown) return fail(c, c.name.empty() ? "empty command line" : "unknown command", 0);
    if (const std::size_t max = max_command_line(c.verb); line.size() > max) {
        static_assert(max_command_line(Verb::mail) == 1162 && max_command_line(Verb::rcpt) == 1010);
        return fail(c,
                    c.verb == Verb::mail   ? "MAIL line longer than 1164 octets with CRLF"
                    : c.verb == Verb::rcpt ? "RCPT line longer than 1012 octets with CRLF"
                                           : "command line longer than 512 octets with CRLF",
                    max);
    }
    for (std::size_t i = 0; i < line.size(); ++i) {
        const auto u = static_cast<unsigned char>(line[i]);
        if (u < 32 || u == 127) return fail(c, "control character in a command line", i);
        if (u >= 0x80 && !opt.utf8 && c.verb != Verb::mail && c.verb != Verb::rcpt && c.verb != Verb::vrfy &&
            c.verb != Verb::expn)
            return fail(c, "8-bit byte in a command line", i);
    }
    const std::size_t arg_at = c.name.size() + 1;
    const bool has_arg = sp != std::string_view::npos;
    auto no_arg = [&]() -> Command& {
        if (has_arg && !(opt.lenient && c.arg.find_first_not_of(' ') == std::string_view::npos))
            return fail(c, "this command takes no argument", sp);
        c.ok = true;
        return c;
    };
    switch (c.verb) {
    case Verb::helo:
    case Verb::ehlo: {
        if (!has_arg || c.arg.empty()) return fail(c, "HELO and EHLO need a domain", line.size());
        std::string_view d = c.arg;
        if (opt.lenient)
            while (!d.empty() && d.back() == ' ') d.remove_suffix(1);
        c.domain = d;
        const bool good = c.verb == Verb::ehlo ? (is_smtp_domain(d, false) || is_smtp_address_literal(d))
                                                : (is_smtp_domain(d, false) || (opt.lenient && is_smtp_address_literal(d)));
        if (!good) return fail(c, "not a domain or address literal", arg_at);
        c.ok = true;
        return c;
    }
    case Verb::mail:
    case Verb::rcpt:
        if (!has_arg) return fail(c, c.verb == Verb::mail ? "MAIL needs FROM:<reverse-path>" : "RCPT needs TO:<forward-path>", line.size());
        parse_path_command(c, line, arg_at, opt);
        return c;
    case Verb::data:
    case Verb::rset:
    case Verb::quit:
    case Verb::starttls:
        return no_arg();
    case Verb::vrfy:
    case Verb::expn:
        if (!has_arg || c.arg.empty()) return fail(c, "VRFY and EXPN need a string", line.size());
        c.domain = c.arg;
        c.ok = true;
        return c;
    case Verb::help:
    case Verb::noop:
        c.domain = c.arg;
        c.ok = true;
        return c;
    case Verb::etrn:
        if (!has_arg || c.arg.empty()) return fail(c, "ETRN needs a node name", line.size());
        c.domain = c.arg;
        c.ok = true;
        return c;
    case Verb::bdat: {
        if (!has_arg || c.arg.empty()) return fail(c, "BDAT needs a chunk size", line.size());
        std::size_t i = arg_at;
        std::uint64_t n = 0;
        while (i < line.size() && line[i] >= '0' && line[i] <= '9') {
            if (n > (UINT64_MAX - 9) / 10) return fail(c, "chunk size too large", arg_at);
            n = n * 10 + static_cast<std::uint64_t>(line[i++] - '0');
        }
        if (i == arg_at) return fail(c, "BDAT needs a chunk size", arg_at);
        c.chunk_size = n;
        if (i == line.size()) {
            c.ok = true;
            return c;
        }
        if (line[i] != ' ' || !iequals(line.substr(i + 1), "LAST")) {
            if (opt.lenient && line.substr(i).find_first_not_of(' ') == std::string_view::npos) {
                c.ok = true;
                return c;
            }
            return fail(c, "after the chunk size only LAST may follow", i);
        }
        c.last = true;
        c.ok = true;
        return c;
    }
    case Verb::auth: {
        if (!has_arg || c.arg.empty()) return fail(c, "AUTH needs a mechanism", line.size());
        const std::size_t sp2 = c.arg.find(' ');
        c.mechanism = c.arg.substr(0, sp2);
        if (!is_mechanism(c.mechanism)) return fail(c, "not a SASL mechanism name", arg_at);
        if (sp2 != std::string_view::npos) {
            c.initial_response = c.arg.substr(sp2 + 1);
            if (c.initial_response != "=" && !is_base64_token(c.initial_response))
                return fail(c, "the initial response is not base64 (or '=')", arg_at + sp2 + 1);
        }
        c.ok = true;
        return c;
    }
    case Verb::unknown:
        break;
    }
    return fail(c, "unknown command", 0);
}

std::optional<std::string> auth_line_shown(std::string_view l) {
    const Command c = parse_command(l, {.utf8 = true, .lenient = true});
    if (c.verb == Verb::auth && !c.initial_response.empty())
        return std::string(l.substr(0, static_cast<std::size_t>(c.initial_response.data() - l.data()))) + "(initial response)";
    constexpr std::string_view blank = " \t";
    const std::size_t verb = l.find_first_not_of(blank);
    if (verb == std::string_view::npos) return std::nullopt;
    const std::size_t verb_end = std::min(l.find_first_of(blank, verb), l.size());
    const std::string_view word = l.substr(verb, verb_end - verb);
    if (!iequals(word, "AUTH")) return std::nullopt;
    const std::size_t mech = l.find_first_not_of(blank, verb_end);
    if (mech == std::string_view::npos) return std::string(l);
    const std::size_t mech_end = std::min(l.find_first_of(blank, mech), l.size());
    const std::string_view name = l.substr(mech, mech_end - mech);
    if (!is_mechanism(name) || !known_mechanism(name)) return std::string(l.substr(0, verb_end)) + " (initial response)";
    if (l.find_first_not_of(blank, mech_end) != std::string_view::npos)
        return std::string(l.substr(0, mech_end)) + " (initial response)";
    return std::string(l);
}

bool ends_pipelined_group(Verb v) {
    switch (v) {
    case Verb::ehlo: case Verb::helo: case Verb::data: case Verb::vrfy: case Verb::expn: case Verb::quit:
    case Verb::noop: case Verb::starttls: case Verb::auth:
        return true;
    default:
        return false;
    }
}

bool ends_pipelined_group(const Command& c) {
    if (c.verb == Verb::auth && !c.initial_response.empty() &&
        (iequals(c.mechanism, "PLAIN") || iequals(c.mechanism, "EXTERNAL")))
        return false;
    return ends_pipelined_group(c.verb);
}

}  // namespace msg::smtp
