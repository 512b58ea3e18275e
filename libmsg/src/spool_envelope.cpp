// spool_envelope.cpp - writing envelopes and naming entries (docs/spool-format.md).
#include <atomic>
#include <cstdio>
#include <ctime>

#include <time.h>
#include <unistd.h>

#include "msg/header.hpp"
#include "msg/spool.hpp"

namespace msg {
namespace {

// A value on one envelope line: CR and LF would end the line early.
void append_one_line(std::string& out, std::string_view s) {
    for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
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

std::atomic<std::uint32_t> g_sequence{0};  // the per-process name sequence

}  // namespace

std::string_view Envelope::annotation(std::string_view name) const {
    for (const auto& [n, v] : annotations)
        if (iequals(n, name)) return v;
    return {};
}

std::string format_envelope(const Envelope& e) {
    std::string out;
    out.reserve(64 + 48 * e.rcpts.size());
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

std::string_view state_dir(SpoolState s) {
    switch (s) {
    case SpoolState::queue: return "queue";
    case SpoolState::deferred: return "deferred";
    case SpoolState::sent: return "sent";
    case SpoolState::failed: return "failed";
    }
    return "queue";
}

std::string new_entry_name(std::string_view key) {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    ::gmtime_r(&ts.tv_sec, &tm);
    const std::uint32_t seq = g_sequence.fetch_add(1, std::memory_order_relaxed) % 1000000u;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%06ldZ.%ld.%06u.", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
                  static_cast<long>(::getpid()), seq);
    std::string name = buf;

    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "localhost");
    for (const char* h = host; *h; ++h) {
        const char c = *h;
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        name += ok ? c : '-';
    }
    if (!key.empty()) {
        name += '.';
        for (char c : key) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_';
            name += ok ? c : '_';
        }
        // NAME.report and NAME.json are the report files of failed/: a key
        // may not make an entry's name end that way.
        if (key == "report" || key == "json" || key == "dsn") name += '_';
    }
    return name;
}

std::string_view entry_key(std::string_view name) {
    // time "." micro "Z" "." pid "." seq "." host [ "." key ]
    std::size_t at = 0;
    for (int dots = 0; dots < 5; ++dots) {
        const std::size_t d = name.find('.', at);
        if (d == std::string_view::npos) return {};
        at = d + 1;
    }
    return name.substr(at);
}

namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

std::optional<std::chrono::system_clock::time_point> from_fields(int y, int mo, int d, int h, int mi, int sec,
                                                                 long offset_seconds) {
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    const std::time_t t = ::timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return std::chrono::system_clock::from_time_t(t - offset_seconds);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
    int y, mo, d, h, mi, sec;
    if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
        s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
        return std::nullopt;
    std::size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    }
    long offset = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om))
            return std::nullopt;
        offset = (s[i] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        i += 6;
    } else {
        return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    return from_fields(y, mo, d, h, mi, sec, offset);
}

std::optional<std::chrono::system_clock::time_point> entry_time(std::string_view name) {
    // 20261123T081500.123456Z.
    int y, mo, d, h, mi, sec;
    if (!digits(name, 0, 4, y) || !digits(name, 4, 2, mo) || !digits(name, 6, 2, d) || name.size() < 15 ||
        name[8] != 'T' || !digits(name, 9, 2, h) || !digits(name, 11, 2, mi) || !digits(name, 13, 2, sec))
        return std::nullopt;
    return from_fields(y, mo, d, h, mi, sec, 0);
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
            if (!r.first) r.first = parse_rfc3339(l.value.substr(0, l.value.find(' ')));
        } else if (is("Next-Attempt")) {
            r.next = parse_rfc3339(l.value);
        }
    }
    return r;
}

}  // namespace msg
