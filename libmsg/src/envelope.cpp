// envelope.cpp - ESMTP parameters, the envelope, what a message needs of
// it, and the envelope of a message that has none (envelope.hpp).
#include "msg/envelope.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "msg/address.hpp"
#include "msg/charset.hpp"
#include "msg/header.hpp"
#include "msg/message.hpp"

namespace msg {
namespace {

bool is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// xtext (RFC 3461 4): "+" HEXCHAR HEXCHAR, or printable ASCII other than
// "+" and "="; with `utf8`, UTF-8 too (RFC 6533's utf-8-addr-unitext, in
// an ORCPT under SMTPUTF8: the parameter parser lets 8-bit values through
// only then).
bool is_xtext(std::string_view s, bool utf8 = false) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '+') {
            if (i + 2 >= s.size()) return false;
            auto hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
            if (!hex(s[i + 1]) || !hex(s[i + 2])) return false;
            i += 2;
        } else if (c < 33 || (c > 126 && !(utf8 && c >= 0x80)) || c == '=') {
            return false;
        }
    }
    return true;
}

bool is_digits(std::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

std::string check_esmtp_param(const EsmtpParam& p, bool mail) {
    const std::string_view k = p.keyword, v = p.value;
    auto only = [&](bool on_mail) -> std::string {
        return std::string(k) + " belongs to " + (on_mail ? "MAIL FROM" : "RCPT TO");
    };
    if (iequals(k, "BODY")) {
        if (!mail) return only(true);
        if (!iequals(v, "7BIT") && !iequals(v, "8BITMIME") && !iequals(v, "BINARYMIME"))
            return "BODY must be 7BIT, 8BITMIME or BINARYMIME";
    } else if (iequals(k, "SIZE")) {
        if (!mail) return only(true);
        if (!is_digits(v)) return "SIZE must be a number of octets";
    } else if (iequals(k, "SMTPUTF8")) {
        if (!mail) return only(true);
        if (p.has_value) return "SMTPUTF8 takes no value";
    } else if (iequals(k, "RET")) {
        if (!mail) return only(true);
        if (!iequals(v, "FULL") && !iequals(v, "HDRS")) return "RET must be FULL or HDRS";
    } else if (iequals(k, "ENVID")) {
        if (!mail) return only(true);
        if (v.empty() || v.size() > 100 || !is_xtext(v)) return "ENVID must be 1 to 100 characters of xtext";
    } else if (iequals(k, "AUTH")) {
        if (!mail) return only(true);
        if (v != "<>" && (v.empty() || !is_xtext(v))) return "AUTH must be <> or xtext";
    } else if (iequals(k, "NOTIFY")) {
        if (mail) return only(false);
        if (iequals(v, "NEVER")) return {};
        std::size_t b = 0;
        for (;;) {
            std::size_t e = v.find(',', b);
            if (e == std::string_view::npos) e = v.size();
            const std::string_view w = v.substr(b, e - b);
            if (!iequals(w, "SUCCESS") && !iequals(w, "FAILURE") && !iequals(w, "DELAY"))
                return "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY";
            if (e == v.size()) break;
            b = e + 1;
        }
    } else if (iequals(k, "ORCPT")) {
        if (mail) return only(false);
        const std::size_t semi = v.find(';');
        if (semi == std::string_view::npos || semi == 0 || !is_xtext(v.substr(semi + 1), true) || semi + 1 == v.size())
            return "ORCPT must be addr-type;xtext";
    }
    return {};
}

std::string xtext_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string unescape_utf8_address(std::string_view a) {
    std::string out;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::size_t close = a.substr(i, 10).find('}');
        if (a.substr(i, 3) == "\\x{" && close != std::string_view::npos && close > 3) {
            const std::string_view hex = a.substr(i + 3, close - 3);
            std::uint32_t cp = 0;
            const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), cp, 16);
            if (r.ec == std::errc() && r.ptr == hex.data() + hex.size() && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)) {
                put_utf8(cp, out);
                i += close;
                continue;
            }
        }
        out += a[i];
    }
    return out;
}

std::vector<EsmtpParam> parse_esmtp_params(std::string_view s, std::size_t base, bool utf8,
                                           std::vector<ParamProblem>* problems) {
    std::vector<EsmtpParam> out;
    auto problem = [&](std::size_t at, std::string_view what, std::string_view word = {}) {
        if (problems) problems->push_back({base + at, what, word, word.empty()});
    };
    // Spaces at the end are one problem, not one per empty word.
    std::size_t end = s.size();
    while (end > 0 && s[end - 1] == ' ') --end;
    if (end < s.size()) problem(end, "trailing space");
    s = s.substr(0, end);
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t e = s.find(' ', i);
        if (e == std::string_view::npos) e = s.size();
        const std::string_view word = s.substr(i, e - i);
        const std::size_t at = i;
        i = e + 1;
        if (word.empty()) {
            problem(at, "parameters are separated by one space");
            continue;
        }
        EsmtpParam p;
        p.offset = base + at;
        const std::size_t eq = word.find('=');
        p.keyword = word.substr(0, eq);
        if (eq != std::string_view::npos) {
            p.has_value = true;
            p.value = word.substr(eq + 1);
        }
        // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
        if (p.keyword.empty() || !is_alnum(static_cast<unsigned char>(p.keyword[0]))) {
            problem(at, "a parameter keyword starts with a letter or digit", word);
            continue;
        }
        const auto bad_kw = std::find_if(p.keyword.begin(), p.keyword.end(), [](char c) {
            return !is_alnum(static_cast<unsigned char>(c)) && c != '-';
        });
        if (bad_kw != p.keyword.end()) {
            problem(at + static_cast<std::size_t>(bad_kw - p.keyword.begin()),
                    "a parameter keyword holds letters, digits and '-' only", word);
            continue;
        }
        // esmtp-value = 1*(%d33-60 / %d62-126), and UTF-8 with SMTPUTF8 (RFC 6531 3.3)
        if (p.has_value) {
            if (p.value.empty()) {
                problem(at + eq + 1, "a parameter value after '=' is empty", word);
                continue;
            }
            const auto bad_v = std::find_if(p.value.begin(), p.value.end(), [&](char ch) {
                const auto c = static_cast<unsigned char>(ch);
                return !((c >= 33 && c <= 126 && c != '=') || (utf8 && c >= 0x80));
            });
            if (bad_v != p.value.end()) {
                problem(at + eq + 1 + static_cast<std::size_t>(bad_v - p.value.begin()),
                        "a parameter value holds a character ESMTP does not allow", word);
                continue;
            }
        }
        if (std::any_of(out.begin(), out.end(), [&](const EsmtpParam& q) { return iequals(q.keyword, p.keyword); })) {
            problem(at, "a parameter is repeated", word);
            continue;
        }
        out.push_back(p);
    }
    return out;
}

// --- Envelope ---------------------------------------------------------------------

std::string_view param_keyword(std::string_view param) { return param.substr(0, param.find('=')); }

std::string_view param_value(std::string_view param) {
    const std::size_t eq = param.find('=');
    return eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
}

std::string_view Envelope::annotation(std::string_view name) const {
    for (const auto& [n, v] : annotations)
        if (iequals(n, name)) return v;
    return {};
}

bool Envelope::has_param(std::string_view keyword) const {
    return std::any_of(mail_params.begin(), mail_params.end(),
                       [&](const std::string& p) { return iequals(param_keyword(p), keyword); });
}

std::string_view Envelope::Rcpt::param(std::string_view keyword) const {
    for (const std::string& p : params)
        if (iequals(param_keyword(p), keyword)) return param_value(p);
    return {};
}

bool Envelope::Rcpt::notify(std::string_view event) const {
    const bool given = std::any_of(params.begin(), params.end(),
                                   [](const std::string& p) { return iequals(param_keyword(p), "NOTIFY"); });
    if (!given) return !iequals(event, "SUCCESS");
    std::string_view v = param("NOTIFY");
    while (!v.empty()) {
        const std::size_t comma = std::min(v.find(','), v.size());
        if (iequals(v.substr(0, comma), event)) return true;
        v.remove_prefix(std::min(comma + 1, v.size()));
    }
    return false;
}

std::string_view Envelope::param(std::string_view keyword) const {
    for (const std::string& p : mail_params)
        if (iequals(param_keyword(p), keyword)) return param_value(p);
    return {};
}

void Envelope::set_param(std::string_view keyword, std::string_view value) {
    std::string p(keyword);
    if (!value.empty()) {
        p += '=';
        p += value;
    }
    for (std::string& q : mail_params)
        if (iequals(param_keyword(q), keyword)) {
            q = std::move(p);
            return;
        }
    mail_params.push_back(std::move(p));
}

void Envelope::remove_param(std::string_view keyword) {
    std::erase_if(mail_params, [&](const std::string& p) { return iequals(param_keyword(p), keyword); });
}

// --- what a message needs ----------------------------------------------------------

std::size_t header_end(std::string_view m) {
    std::size_t pos = 0;
    while (pos < m.size()) {
        const std::size_t nl = m.find('\n', pos);
        if (nl == std::string_view::npos) return m.size();
        if (nl == pos || (nl == pos + 1 && m[pos] == '\r')) return nl + 1;
        pos = nl + 1;
    }
    return m.size();
}

Needs message_needs(std::string_view message) {
    Needs n;
    const std::size_t hend = header_end(message);
    if (const std::size_t h8 = first_non_ascii(message.substr(0, hend)); h8 != std::string_view::npos) {
        n.smtputf8 = true;
        n.smtputf8_why = "8-bit header";
        n.header_8bit = h8;
    }
    if (const std::size_t b8 = first_non_ascii(message.substr(hend)); b8 != std::string_view::npos) {
        n.eightbitmime = true;
        n.body_8bit = hend + b8;
    }
    return n;
}

Needs needs(const Envelope& e, std::string_view message) {
    Needs n = message_needs(message);
    auto utf8 = [](std::string_view s) { return first_non_ascii(s) != std::string_view::npos; };
    auto any_utf8 = [&](const std::vector<std::string>& params) { return std::any_of(params.begin(), params.end(), utf8); };
    std::string_view why;
    if (utf8(e.mail_from) || std::any_of(e.rcpts.begin(), e.rcpts.end(), [&](const Envelope::Rcpt& r) { return utf8(r.address); }))
        why = "UTF-8 address";
    else if (any_utf8(e.mail_params) ||
             std::any_of(e.rcpts.begin(), e.rcpts.end(), [&](const Envelope::Rcpt& r) { return any_utf8(r.params); }))
        why = "UTF-8 in a parameter";
    if (!why.empty()) {
        n.smtputf8 = true;
        n.smtputf8_why = why;
    }
    return n;
}

bool declares(const Envelope& e, const Needs& n) {
    if (n.smtputf8 && !e.has_param("SMTPUTF8")) return false;
    const std::string_view body = e.param("BODY");
    if (n.eightbitmime && !iequals(body, "8BITMIME") && !iequals(body, "BINARYMIME")) return false;
    return true;
}

Needs declare_needs(Envelope& e, std::string_view message) {
    const Needs n = needs(e, message);
    const std::string_view body = e.param("BODY");
    if (n.eightbitmime && !iequals(body, "8BITMIME") && !iequals(body, "BINARYMIME")) e.set_param("BODY", "8BITMIME");
    if (n.smtputf8 && !e.has_param("SMTPUTF8")) e.mail_params.push_back("SMTPUTF8");
    return n;
}

// --- an envelope for a message that has none ------------------------------------------

namespace {

// A recipient's key for de-duplication: the local part as it is and the
// domain in lower case (RFC 5321 2.4).
std::string mailbox_key(std::string_view a) {
    std::string k(a);
    const std::size_t at = k.rfind('@');
    if (at != std::string::npos)
        for (std::size_t i = at; i < k.size(); ++i)
            if (k[i] >= 'A' && k[i] <= 'Z') k[i] = static_cast<char>(k[i] + 32);
    return k;
}

// Whether two mailboxes are one by mailbox_key, without making the keys.
bool same_mailbox(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    const std::size_t at = a.rfind('@');
    if (at != b.rfind('@')) return false;
    if (at == std::string_view::npos) return a == b;
    return a.substr(0, at) == b.substr(0, at) && iequals(a.substr(at), b.substr(at));
}

const HeaderField* first_field(const std::vector<HeaderField>& fields, std::string_view name) {
    for (const HeaderField& f : fields)
        if (iequals(f.name, name)) return &f;
    return nullptr;
}

}  // namespace

std::optional<std::string> mailbox_argument(std::string_view a, bool null_ok) {
    if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
    if ((a.empty() && null_ok) || is_smtp_mailbox(a)) return std::string(a);
    return std::nullopt;
}

bool is_smtp_mailbox(std::string_view address) {
    thread_local std::string path;   // (no allocation per address)
    path.clear();
    path.push_back('<');
    path.append(address);
    path.push_back('>');
    const Path p = parse_path(path, PathKind::forward, true);
    const bool ok = p.ok && !p.postmaster && p.end == path.size() && !p.source_route && !path_too_long(p);
    if (path.capacity() > 4096) std::string().swap(path);   // (a long one's room not kept)
    return ok;
}

namespace {

// The From_ line sender of a Gmail Takeout archive: the message's id at
// "xxx" ("1784034651234567890@xxx"), a placeholder, not an address.
bool gmail_placeholder(std::string_view a) {
    const std::size_t at = a.find('@');
    if (at == 0 || at == std::string_view::npos || !iequals(a.substr(at + 1), "xxx")) return false;
    return std::all_of(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(at), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether a Return-Path value is the null path: "<>" with comments and
// white space anywhere around and inside (RFC 5322 3.6.7, CFWS).
bool is_null_path(std::string_view v) {
    std::string bare;
    int depth = 0;
    for (std::size_t i = 0; i < v.size() && bare.size() < 3; ++i) {
        const char c = v[i];
        if (c == '\\' && depth > 0) ++i;
        else if (c == '(') ++depth;
        else if (c == ')' && depth > 0) --depth;
        else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') bare.push_back(c);
    }
    return bare == "<>";
}

}  // namespace

Derivation derive_envelope(std::string_view message, std::string_view from_line, const DeriveOptions& fixed) {
    Derivation d;
    Envelope& env = d.envelope;
    // Its room kept from one message to the next (up to 1,024 fields: a
    // header of a million does not keep its room for the thread's life).
    thread_local std::vector<HeaderField> fields;
    fields.clear();
    parse_header_block(message, fields, &d.defects);
    auto take_sender = [&](std::string_view where, std::string_view address) {
        d.have_sender = true;
        d.sender_from = where;
        env.mail_from = address;
    };
    // --- the sender ---
    if (fixed.sender) {
        d.have_sender = true;
        d.sender_from = "--sender";
        env.mail_from = *fixed.sender;
    }
    std::string_view first = from_line.substr(0, from_line.find_first_of(" \t"));
    if (!first.empty() && first.front() == '<' && first.back() == '>' && first.size() >= 2)
        first = first.substr(1, first.size() - 2);
    // A null Return-Path is a bounce's delivery record (RFC 5321 4.4,
    // 4.5.5): the null sender, whatever address the From_ line gives
    // ("From MAILER-DAEMON@host", as some hosts write it); but not one
    // below a resent field, which an earlier delivery wrote.
    const HeaderField* return_path = first_field(fields, "Return-Path");
    std::string rp_buf;
    const bool null_return_path =
        return_path && is_null_path(unfold(return_path->value, rp_buf)) &&
        std::none_of(static_cast<const HeaderField*>(fields.data()), return_path,
                     [](const HeaderField& f) { return is_resent_field(f.name); });
    if (!d.have_sender && null_return_path) take_sender("Return-Path", "");
    if (!d.have_sender) {
        if (iequals(first, "MAILER-DAEMON") || from_line.starts_with("<>"))  // "<>": the null path
            take_sender("From_ line", "");
        else if (gmail_placeholder(first))
            ;   // not a sender: Return-Path or From below
        else if (!first.empty() && first.find('@') != std::string_view::npos && is_smtp_mailbox(first))
            take_sender("From_ line", first);
        else if (!first.empty() && first.find('@') != std::string_view::npos)
            d.rejected.emplace_back(first);   // (over RFC 5321's limits, say: said, not dropped silently)
    }
    if (!d.have_sender && return_path) {
        const std::vector<std::string> a = field_addresses(unfold(return_path->value, rp_buf));
        if (!a.empty() && is_smtp_mailbox(a.front())) take_sender("Return-Path", a.front());
    }
    // The topmost resent block (resent_blocks: blocks are prepended, so the
    // first is the newest resending's).
    const std::vector<ResentBlock> blocks = resent_blocks(fields);
    const ResentBlock* const newest = blocks.empty() ? nullptr : &blocks.front();
    // The sender named in a field: its first mailbox.
    auto sender_of = [&](const HeaderField* f, std::string_view where) {
        if (d.have_sender || !f) return;
        for (std::string buf; const std::string& a : field_addresses(unfold(f->value, buf))) {
            if (is_smtp_mailbox(a)) {
                take_sender(where, a);
                break;
            }
            d.rejected.push_back(a);
        }
    };
    // A resent message is the resender's: the newest block's Resent-From
    // (RFC 5322 3.6.6), as From is the first sending's.
    if (newest) sender_of(newest->find("Resent-From"), "Resent-From");
    sender_of(first_field(fields, "From"), "From");
    // --- the recipients ---
    // Recipients once each (mailbox_key): compared one by one while they
    // are few, as they nearly always are, by a hash set beyond that.
    std::unordered_set<std::string> seen;
    const auto is_new = [&](const std::string& a) {
        constexpr std::size_t kFew = 32;
        if (env.rcpts.size() < kFew) {
            return std::none_of(env.rcpts.begin(), env.rcpts.end(),
                                [&](const Envelope::Rcpt& r) { return same_mailbox(r.address, a); });
        }
        if (seen.empty())
            for (const Envelope::Rcpt& r : env.rcpts) seen.insert(mailbox_key(r.address));
        return seen.insert(mailbox_key(a)).second;
    };
    auto collect = [&](const HeaderField& f, std::initializer_list<std::string_view> names) {
        if (std::none_of(names.begin(), names.end(), [&](std::string_view n) { return iequals(f.name, n); }))
            return;
        std::size_t bad = 0;
        std::string buf;
        std::vector<std::string> found = field_addresses(unfold(f.value, buf), &bad);
        d.unparsed += bad;
        const bool bcc = iequals(f.name, "Bcc") || iequals(f.name, "Resent-Bcc");
        for (std::string& a : found) {
            if (!is_smtp_mailbox(a)) {
                d.rejected.push_back(std::move(a));
            } else if (is_new(a)) {
                env.rcpts.push_back({std::move(a), {}});
                d.bcc_rcpts += bcc;
            }
        }
    };
    // A resent message goes to the newest block's Resent-To/Cc/Bcc only,
    // never to To/Cc/Bcc, which name the first sending's recipients: a
    // block without them (its Resent-Bcc removed, say) gives none.
    if (!fixed.rcpts.empty()) {
        env.rcpts = fixed.rcpts;
        d.rcpts_from = "--rcpt";
    } else if (newest) {
        for (const HeaderField* f : newest->fields) collect(*f, {"Resent-To", "Resent-Cc", "Resent-Bcc"});
        d.rcpts_from = "Resent-To/Cc/Bcc";
    } else {
        for (const HeaderField& f : fields) collect(f, {"To", "Cc", "Bcc"});
        d.rcpts_from = "To/Cc/Bcc";
    }
    declare_needs(env, message);
    d.deleted = client_flags(fields).deleted;   // a client's "deleted" mark
    if (fields.capacity() > 1024) std::vector<HeaderField>().swap(fields);
    return d;
}

ClientFlags client_flags(std::span<const HeaderField> header) {
    // The first field of each name, in one pass over the header.
    const HeaderField *status = nullptr, *x_status = nullptr, *mozilla = nullptr;
    for (const HeaderField& f : header) {
        if (!status && iequals(f.name, "Status")) status = &f;
        else if (!x_status && iequals(f.name, "X-Status")) x_status = &f;
        else if (!mozilla && iequals(f.name, "X-Mozilla-Status")) mozilla = &f;
    }
    ClientFlags out;
    std::string& flags = out.flags;
    std::string buf;
    if (status) {
        const std::string_view v = unfold(status->value, buf);
        if (v.find('R') != std::string_view::npos) flags += 'S';
        out.old = v.find('O') != std::string_view::npos;
    }
    if (mozilla) {
        std::string_view v = unfold(mozilla->value, buf);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        if (v.starts_with("0x") || v.starts_with("0X")) v.remove_prefix(2);
        unsigned bits = 0;
        if (std::from_chars(v.data(), v.data() + std::min<std::size_t>(v.size(), 4), bits, 16).ec == std::errc()) {
            if (bits & 0x0001) flags += 'S';
            if (bits & 0x0002) flags += 'R';
            if (bits & 0x0004) flags += 'F';
            if (bits & 0x0008) {
                flags += 'T';
                out.deleted = "X-Mozilla-Status 0x0008";
            }
        }
    }
    if (x_status) {
        const std::string_view v = unfold(x_status->value, buf);
        if (v.find('A') != std::string_view::npos) flags += 'R';
        if (v.find('F') != std::string_view::npos) flags += 'F';
        if (v.find('T') != std::string_view::npos) flags += 'D';
        if (v.find('D') != std::string_view::npos) {
            flags += 'T';
            if (out.deleted.empty()) out.deleted = "X-Status D";
        }
    }
    std::sort(flags.begin(), flags.end());
    flags.erase(std::unique(flags.begin(), flags.end()), flags.end());
    out.old = out.old || !flags.empty();
    return out;
}

std::string derivation_unusable(const Derivation& d) {
    if (!d.have_sender) return "no sender in the From_ line, Return-Path, Resent-From or From";
    if (d.envelope.rcpts.empty()) return "no recipient in " + std::string(d.rcpts_from);
    if (d.rcpts_from != "--rcpt")
        for (const Defect& x : d.defects)
            if (x.code == DefectCode::HeaderTooManyFields || x.code == DefectCode::HeaderBlockTooLarge)
                return "the header block is over the parser's limits (" + std::string(x.info().code) +
                       "): recipients in the fields past them would be lost";
    return {};
}

std::vector<std::string> derivation_left_out(const Derivation& d) {
    std::vector<std::string> out;
    if (d.unparsed > 0 && d.rcpts_from != "--rcpt")
        out.push_back(std::to_string(d.unparsed) + " malformed element(s) in " + std::string(d.rcpts_from) +
                      " left out");
    if (!d.rejected.empty())
        out.push_back("not a usable address, left out: " + d.rejected.front() +
                      (d.rejected.size() > 1 ? " and " + std::to_string(d.rejected.size() - 1) + " more" : ""));
    return out;
}

}  // namespace msg
