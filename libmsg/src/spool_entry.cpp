// spool_entry.cpp - reading one spool entry's envelope (docs/spool-format.md).
#include <cstring>
#include <string>

#include "msg/header.hpp"
#include "msg/spool.hpp"

namespace msg {
namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// xtext (RFC 3461 4): "+" HEXCHAR HEXCHAR, or printable ASCII other than "+" and "=".
bool is_xtext(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '+') {
            if (i + 2 >= s.size()) return false;
            auto hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
            if (!hex(s[i + 1]) || !hex(s[i + 2])) return false;
            i += 2;
        } else if (c < 33 || c > 126 || c == '=') {
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

void add(Defects* d, DefectCode c, std::size_t at, std::string detail = {}) {
    if (d) d->push_back({c, at, std::move(detail)});
}

// What a known parameter's value must look like (RFC 1870, 3461, 6152, 6531, 4954).
// Returns an empty string when fine, or what is wrong.
std::string check_param(const EsmtpParam& p, bool mail) {
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
        if (semi == std::string_view::npos || semi == 0 || !is_xtext(v.substr(semi + 1)) || semi + 1 == v.size())
            return "ORCPT must be addr-type;xtext";
    }
    return {};
}

EnvelopeLine command(std::string_view text, std::size_t offset, bool mail, Defects* defects) {
    EnvelopeLine l;
    l.kind = mail ? EnvelopeLine::Kind::mail : EnvelopeLine::Kind::rcpt;
    l.offset = offset;
    l.text = text;
    const std::size_t verb = mail ? 10 : 8;  // "MAIL FROM:" / "RCPT TO:"
    l.path_offset = offset + verb;
    std::string_view rest = text.substr(verb);
    if (!rest.empty() && rest.front() == ' ') {
        // reported, then read on as if the space were not there, so that the
        // parameters still count (SMTPUTF8, BODY)
        add(defects, DefectCode::EnvelopeSyntax, l.path_offset, "no space is allowed after the colon");
        while (!rest.empty() && rest.front() == ' ') {
            rest.remove_prefix(1);
            ++l.path_offset;
        }
    }
    // Parse with UTF-8 allowed; whether SMTPUTF8 was asked for is checked
    // against the whole envelope later.
    l.path = parse_path(rest, mail ? PathKind::reverse : PathKind::forward, true);
    std::size_t path_end = l.path.end;
    if (!l.path.ok) {
        add(defects, DefectCode::EnvelopePathSyntax, l.path_offset + l.path.error_at, std::string(l.path.error));
        // the parameters after a bad path are still read and checked: the
        // path is taken to end at the first '>' followed by a space or the end
        std::size_t gt = rest.find('>');
        while (gt != std::string_view::npos && gt + 1 < rest.size() && rest[gt + 1] != ' ')
            gt = rest.find('>', gt + 1);
        if (gt == std::string_view::npos) return l;
        path_end = gt + 1;
    } else if (l.path.local.size() > kMaxLocalPart || l.path.domain.size() > kMaxDomain || l.path.end > kMaxPath) {
        add(defects, DefectCode::EnvelopePathTooLong, l.path_offset,
            std::to_string(l.path.local.size()) + " octets of local part, " +
                std::to_string(l.path.domain.size()) + " of domain");
    }
    std::string_view params = rest.substr(path_end);
    std::size_t params_at = l.path_offset + path_end;
    if (!params.empty()) {
        if (params.front() != ' ') {
            add(defects, DefectCode::EnvelopeSyntax, params_at, "a space must separate the path and the parameters");
            return l;
        }
        if (params.size() == 1) {  // "<a@b> ": one space and nothing after it
            add(defects, DefectCode::EnvelopeParamSyntax, params_at, "trailing space");
            return l;
        }
        params.remove_prefix(1);
        ++params_at;
    }
    l.params = parse_esmtp_params(params, params_at, defects);
    for (std::size_t i = 0; i < l.params.size(); ++i) {
        const EsmtpParam& p = l.params[i];
        for (std::size_t j = 0; j < i; ++j)
            if (iequals(l.params[j].keyword, p.keyword)) {
                add(defects, DefectCode::EnvelopeParamSyntax, p.offset, std::string(p.keyword) + " is repeated");
                break;
            }
        const std::string why = check_param(p, mail);
        if (!why.empty()) add(defects, DefectCode::EnvelopeParamSyntax, p.offset, why);
    }
    return l;
}

}  // namespace

const EsmtpParam* EnvelopeLine::param(std::string_view keyword) const {
    for (const EsmtpParam& p : params)
        if (iequals(p.keyword, keyword)) return &p;
    return nullptr;
}

const EnvelopeLine* SpoolEntry::mail() const {
    for (const EnvelopeLine& l : envelope)
        if (l.kind == EnvelopeLine::Kind::mail) return &l;
    return nullptr;
}

std::vector<const EnvelopeLine*> SpoolEntry::recipients() const {
    std::vector<const EnvelopeLine*> r;
    for (const EnvelopeLine& l : envelope)
        if (l.kind == EnvelopeLine::Kind::rcpt) r.push_back(&l);
    return r;
}

std::string_view SpoolEntry::annotation(std::string_view name) const {
    for (const EnvelopeLine& l : envelope)
        if (l.kind == EnvelopeLine::Kind::annotation && iequals(l.name, name)) return l.value;
    return {};
}

bool SpoolEntry::smtputf8() const {
    const EnvelopeLine* m = mail();
    return m && m->param("SMTPUTF8");
}

std::string_view SpoolEntry::body_type() const {
    const EnvelopeLine* m = mail();
    const EsmtpParam* p = m ? m->param("BODY") : nullptr;
    return p ? p->value : std::string_view{};
}

bool looks_like_spool_entry(std::string_view data) noexcept {
    return starts_with_nocase(data, "MAIL FROM:") || starts_with_nocase(data, "RCPT TO:");
}

std::vector<EsmtpParam> parse_esmtp_params(std::string_view s, std::size_t base, Defects* defects) {
    std::vector<EsmtpParam> out;
    // Spaces at the end are one defect, not one per empty word.
    std::size_t end = s.size();
    while (end > 0 && s[end - 1] == ' ') --end;
    if (end < s.size()) add(defects, DefectCode::EnvelopeParamSyntax, base + end, "trailing space");
    s = s.substr(0, end);
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t e = s.find(' ', i);
        if (e == std::string_view::npos) e = s.size();
        const std::string_view word = s.substr(i, e - i);
        EsmtpParam p;
        p.offset = base + i;
        const std::size_t eq = word.find('=');
        p.keyword = word.substr(0, eq);
        if (eq != std::string_view::npos) {
            p.has_value = true;
            p.value = word.substr(eq + 1);
        }
        // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
        // esmtp-value   = 1*(%d33-60 / %d62-126), and UTF-8 with SMTPUTF8 (RFC 6531 3.3)
        bool ok = !p.keyword.empty() && is_alnum(static_cast<unsigned char>(p.keyword[0]));
        for (char c : p.keyword) ok = ok && (is_alnum(static_cast<unsigned char>(c)) || c == '-');
        if (p.has_value) {
            ok = ok && !p.value.empty();
            for (char ch : p.value) {
                const auto c = static_cast<unsigned char>(ch);
                ok = ok && c != '=' && (c >= 0x80 || (c >= 33 && c <= 126));
            }
        }
        if (word.empty()) add(defects, DefectCode::EnvelopeParamSyntax, base + i, "two spaces between parameters");
        else if (!ok) add(defects, DefectCode::EnvelopeParamSyntax, base + i, std::string(word));
        else out.push_back(p);
        i = e + 1;
    }
    return out;
}

SpoolEntry parse_spool_entry(std::string_view data) {
    SpoolEntry e;
    Defects* d = &e.defects;
    std::size_t pos = 0, line = 1, separator = 0;
    bool seen_mail = false, seen_rcpt = false;
    while (pos < data.size()) {
        const std::size_t nl = data.find('\n', pos);
        const std::size_t next = nl == std::string_view::npos ? data.size() : nl + 1;
        std::string_view text = data.substr(pos, (nl == std::string_view::npos ? data.size() : nl) - pos);
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (text.empty() && nl != std::string_view::npos) {
            e.has_separator = true;
            separator = pos;
            e.message_offset = next;
            e.message_line = line + 1;
            break;
        }
        EnvelopeLine l;
        if (starts_with_nocase(text, "MAIL FROM:")) {
            l = command(text, pos, true, d);
            if (seen_mail || seen_rcpt)
                add(d, DefectCode::EnvelopeMailMissing, pos, seen_mail ? "a second MAIL FROM" : "MAIL FROM after RCPT TO");
            seen_mail = true;
        } else if (starts_with_nocase(text, "RCPT TO:")) {
            l = command(text, pos, false, d);
            seen_rcpt = true;
        } else {
            l.offset = pos;
            l.text = text;
            // annotation: a field name (RFC 5322 ftext), a colon, a value
            const std::size_t colon = text.find(':');
            bool ok = colon != std::string_view::npos && colon > 0;
            for (std::size_t k = 0; ok && k < colon; ++k)
                ok = text[k] > 32 && text[k] < 127;
            if (ok) {
                l.kind = EnvelopeLine::Kind::annotation;
                l.name = text.substr(0, colon);
                l.value = text.substr(colon + 1);
                while (!l.value.empty() && (l.value.front() == ' ' || l.value.front() == '\t')) l.value.remove_prefix(1);
            } else {
                add(d, DefectCode::EnvelopeSyntax, pos, std::string(text.substr(0, 40)));
            }
        }
        e.envelope.push_back(std::move(l));
        pos = next;
        ++line;
    }
    if (!e.has_separator) {
        add(d, DefectCode::EnvelopeNoSeparator, data.size());
        e.message_offset = data.size();
        e.message_line = line;
    }
    e.message = data.substr(e.message_offset);
    if (!seen_mail) add(d, DefectCode::EnvelopeMailMissing, 0, "no MAIL FROM");
    if (!seen_rcpt) add(d, DefectCode::EnvelopeRcptMissing, e.has_separator ? separator : data.size());
    return e;
}

}  // namespace msg
