// spool_entry.cpp - reading and writing a spool entry's envelope
// (spool_entry.hpp, docs/spool-format.md).
#include <cstring>
#include <string>

#include "msg/charset.hpp"
#include "msg/datetime.hpp"
#include "msg/header.hpp"
#include "msg/spool_entry.hpp"

namespace msg {
namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

void add(Defects* d, DefectCode c, std::size_t at, std::string detail = {}) {
    if (d) d->push_back({c, at, std::move(detail)});
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
    } else if (path_too_long(l.path)) {
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
    // UTF-8 values are read; whether SMTPUTF8 was asked for is checked
    // against the whole envelope later (validate_envelope).
    std::vector<ParamProblem> problems;
    l.params = parse_esmtp_params(params, params_at, true, &problems);
    for (const ParamProblem& pr : problems)
        add(defects, DefectCode::EnvelopeParamSyntax, pr.at,
            pr.word.empty() ? std::string(pr.what) : std::string(pr.what) + ": " + std::string(pr.word));
    for (const EsmtpParam& p : l.params)
        if (std::string why = check_esmtp_param(p, mail); !why.empty())
            add(defects, DefectCode::EnvelopeParamSyntax, p.offset, std::move(why));
    return l;
}

// A value on one envelope line: CR and LF would end the line early.
void append_one_line(std::string& out, std::string_view s) {
    const std::size_t at = out.size();
    out += s;   // whole, then its line breaks made spaces
    for (std::size_t i = out.find_first_of("\r\n", at); i != std::string::npos; i = out.find_first_of("\r\n", i + 1))
        out[i] = ' ';
}

// ann-name = 1*(%d33-57 / %d59-126)
void append_ann_name(std::string& out, std::string_view s) {
    if (s.empty()) {
        out += "Note";
        return;
    }
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out += (u > 32 && u < 127 && c != ':') ? c : '-';
    }
}

void append_params(std::string& out, const std::vector<std::string>& params) {
    for (const std::string& p : params) {
        if (p.empty()) continue;
        out += ' ';
        append_one_line(out, p);
    }
}

// The text between "<" and ">" of a parsed MAIL or RCPT line.
std::string path_text(const EnvelopeLine& l) {
    const std::size_t start = l.path_offset - l.offset;  // just at "<"
    if (l.path.end < 2 || start + l.path.end > l.text.size()) return std::string(l.path.mailbox);
    return std::string(l.text.substr(start + 1, l.path.end - 2));
}

std::vector<std::string> params_of(const EnvelopeLine& l) {
    std::vector<std::string> out;
    for (const EsmtpParam& p : l.params) {
        std::string s(p.keyword);
        if (p.has_value) {
            s += '=';
            s += p.value;
        }
        out.push_back(std::move(s));
    }
    return out;
}

// The retry history's lines hold an RFC 3339 date-time (spool-format.md,
// Deferred entries): "Attempt: DATE-TIME [text]", "Next-Attempt: DATE-TIME".
// One that does not is reported where its value starts: a sender cannot
// tell when the entry is due, nor how long it has been tried.
void check_retry_time(const EnvelopeLine& l, Defects* defects) {
    const bool attempt = iequals(l.name, "Attempt");
    if (!attempt && !iequals(l.name, "Next-Attempt")) return;
    const std::string_view when = attempt ? l.value.substr(0, l.value.find(' ')) : l.value;
    if (parse_rfc3339(when)) return;
    const std::size_t at = l.offset + static_cast<std::size_t>(l.value.data() - l.text.data());
    add(defects, DefectCode::EnvelopeSyntax, at,
        std::string(l.name) + ": not an RFC 3339 date-time: " + std::string(when.substr(0, 40)));
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

SpoolEntry parse_spool_entry(std::string_view data) {
    SpoolEntry e;
    e.data = data;
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
                check_retry_time(l, d);
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

std::string format_envelope(const Envelope& e) {
    // Room for it all at once (escapes aside).
    std::size_t size = 16 + e.mail_from.size();
    const auto params = [&](const std::vector<std::string>& ps) {
        for (const std::string& p : ps) size += p.size() + 1;
    };
    params(e.mail_params);
    for (const Envelope::Rcpt& r : e.rcpts) {
        size += 12 + r.address.size();
        params(r.params);
    }
    for (const auto& [name, value] : e.annotations) size += name.size() + value.size() + 3;
    std::string out;
    out.reserve(size);
    out += "MAIL FROM:<";
    append_one_line(out, e.mail_from);
    out += '>';
    append_params(out, e.mail_params);
    out += '\n';
    for (const Envelope::Rcpt& r : e.rcpts) {
        out += "RCPT TO:<";
        append_one_line(out, r.address);
        out += '>';
        append_params(out, r.params);
        out += '\n';
    }
    for (const auto& [name, value] : e.annotations) {
        append_ann_name(out, name);
        out += ':';
        // Leading white space is not part of a value when it is read back.
        std::string_view v = value;
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        if (!v.empty()) {
            out += ' ';
            append_one_line(out, v);
        }
        out += '\n';
    }
    out += '\n';
    return out;
}

Envelope envelope_of(const SpoolEntry& entry) {
    Envelope e;
    bool have_mail = false;
    for (const EnvelopeLine& l : entry.envelope) {
        switch (l.kind) {
        case EnvelopeLine::Kind::mail:
            if (!l.path.ok || have_mail) break;
            have_mail = true;
            e.mail_from = l.path.null ? std::string() : path_text(l);
            e.mail_params = params_of(l);
            break;
        case EnvelopeLine::Kind::rcpt:
            if (!l.path.ok) break;
            e.rcpts.push_back({path_text(l), params_of(l)});
            break;
        case EnvelopeLine::Kind::annotation:
            e.annotations.emplace_back(std::string(l.name), std::string(l.value));
            break;
        case EnvelopeLine::Kind::invalid:
            break;
        }
    }
    return e;
}

std::string shown_path(const EnvelopeLine& l) {
    const std::string what = l.kind == EnvelopeLine::Kind::mail ? "MAIL FROM" : "RCPT TO";
    if (!l.path.ok) return "(malformed " + what + ")";
    if (path_too_long(l.path)) return "(" + what + " too long: " + std::to_string(l.path.mailbox.size()) + " octets)";
    return "<" + printable(l.path.null ? std::string() : path_text(l)) + ">";
}

std::string shown_sender(const SpoolEntry& entry) {
    const EnvelopeLine* mail = entry.mail();
    return mail ? shown_path(*mail) : "(no MAIL FROM)";
}

RetryInfo retry_info(const SpoolEntry& entry) {
    RetryInfo r;
    for (const EnvelopeLine& l : entry.envelope) {
        if (l.kind != EnvelopeLine::Kind::annotation) continue;
        auto is = [&](std::string_view n) {
            if (l.name.size() != n.size()) return false;
            for (std::size_t i = 0; i < n.size(); ++i)
                if ((l.name[i] | 0x20) != (n[i] | 0x20)) return false;
            return true;
        };
        if (is("Attempt")) {
            ++r.attempts;
            const std::size_t sp = l.value.find(' ');
            r.last = parse_rfc3339(l.value.substr(0, sp));
            r.last_what = sp == std::string_view::npos ? std::string_view{} : l.value.substr(sp + 1);
            // The earliest, not the first written: one written by a clock
            // that ran ahead must not keep max_age from ever coming.
            if (r.last && (!r.first || *r.last < *r.first)) r.first = r.last;
        } else if (is("Next-Attempt")) {
            r.next = parse_rfc3339(l.value);
        }
    }
    return r;
}

}  // namespace msg
