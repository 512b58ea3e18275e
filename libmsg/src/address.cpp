// address.cpp - RFC 5321 4.1.2 paths, with RFC 6531 UTF-8.
#include "msg/address.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "msg/charset.hpp"
#include "msg/header.hpp"

namespace msg {
namespace {

bool is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_atext(unsigned char c, bool utf8) {
    if (c >= 0x80) return utf8;
    return is_alnum(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// sub-domain = Let-dig [Ldh-str]: no leading or trailing hyphen.
bool is_label(std::string_view l, bool utf8) {
    if (l.empty() || l.size() > 63 * (utf8 ? 4 : 1)) return false;
    auto ok = [&](unsigned char c) { return is_alnum(c) || (utf8 && c >= 0x80); };
    if (!ok(static_cast<unsigned char>(l.front())) || !ok(static_cast<unsigned char>(l.back()))) return false;
    for (char ch : l) {
        const auto c = static_cast<unsigned char>(ch);
        if (!ok(c) && c != '-') return false;
    }
    return true;
}

// Snum = 1*3DIGIT representing a decimal integer value in the range 0 through 255
bool is_ipv4(std::string_view s) {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t b = i;
        int v = 0;
        while (i < s.size() && i - b < 3 && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
        if (i == b || v > 255 || (i < s.size() && s[i] >= '0' && s[i] <= '9')) return false;
        ++parts;
        if (i == s.size()) return parts == 4;
        if (s[i] != '.' || parts == 4) return false;
        ++i;
    }
}

bool is_address_literal(std::string_view s) {
    // s is the text between the brackets
    if (is_ipv4(s)) return true;
    const std::size_t colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    const std::string_view tag = s.substr(0, colon), rest = s.substr(colon + 1);
    if (iequals(tag, "IPv6")) {
        if (rest.empty() || rest.size() >= 64) return false;
        const std::string text(rest);
        unsigned char buf[16];
        return inet_pton(AF_INET6, text.c_str(), buf) == 1;
    }
    // General-address-literal = Standardized-tag ":" 1*dcontent
    if (!is_label(tag, false) || rest.empty()) return false;
    for (char ch : rest) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return false;
    }
    return true;
}

class PathParser {
public:
    PathParser(std::string_view s, bool utf8) : s_(s), utf8_(utf8) {}

    Path run(PathKind kind) {
        if (!eat('<')) return fail(0, "path must begin with '<'");
        if (kind == PathKind::reverse && peek() == '>') {
            p_.null = true;
            ++i_;
            return done();
        }
        if (kind == PathKind::forward) {
            const std::string_view pm = "postmaster>";
            if (s_.size() - i_ >= pm.size() && iequals(s_.substr(i_, pm.size()), pm)) {
                p_.postmaster = true;
                p_.local = s_.substr(i_, pm.size() - 1);
                p_.mailbox = p_.local;
                i_ += pm.size();
                return done();
            }
        }
        if (peek() == '@' && !source_route()) return p_;
        const std::size_t mb = i_;
        if (!local_part()) return p_;
        if (!eat('@')) return fail(i_, "'@' expected after the local part");
        if (!domain()) return p_;
        p_.mailbox = s_.substr(mb, i_ - mb);
        if (!eat('>')) return fail(i_, "'>' expected after the domain");
        return done();
    }

private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c) {
        if (peek() != c || i_ >= s_.size()) return false;
        ++i_;
        return true;
    }
    Path fail(std::size_t at, std::string_view why) {
        p_.ok = false;
        p_.error_at = at;
        p_.error = why;
        return p_;
    }
    Path done() {
        p_.ok = true;
        p_.end = i_;
        for (char c : s_.substr(0, i_))
            if (static_cast<unsigned char>(c) >= 0x80) p_.utf8 = true;
        if (p_.utf8 && !is_valid_utf8(s_.substr(0, i_))) return fail(0, "8-bit bytes are not valid UTF-8");
        return p_;
    }

    // A-d-l ":" = "@" Domain *( "," "@" Domain ) ":"
    bool source_route() {
        p_.source_route = true;
        for (;;) {
            if (!eat('@')) { fail(i_, "'@' expected in the source route"); return false; }
            const std::size_t b = i_;
            while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != ':' && s_[i_] != '>') ++i_;
            if (!domain_text(s_.substr(b, i_ - b))) { fail(b, "bad domain in the source route"); return false; }
            if (eat(',')) continue;
            if (eat(':')) return true;
            fail(i_, "':' expected after the source route");
            return false;
        }
    }

    bool local_part() {
        const std::size_t b = i_;
        if (peek() == '"') {
            ++i_;
            for (;;) {
                if (i_ >= s_.size()) { fail(b, "unterminated quoted local part"); return false; }
                const auto c = static_cast<unsigned char>(s_[i_]);
                if (c == '"') { ++i_; break; }
                if (c == '\\') {
                    if (i_ + 1 >= s_.size() || static_cast<unsigned char>(s_[i_ + 1]) < 32 ||
                        static_cast<unsigned char>(s_[i_ + 1]) > 126) {
                        fail(i_, "bad quoted pair in the local part");
                        return false;
                    }
                    i_ += 2;
                    continue;
                }
                // qtextSMTP = %d32-33 / %d35-91 / %d93-126, and UTF-8 with SMTPUTF8
                if (c < 32 || c == 127 || (c >= 0x80 && !utf8_)) {
                    fail(i_, c >= 0x80 ? "8-bit byte in the local part (needs SMTPUTF8)"
                                       : "control character in the quoted local part");
                    return false;
                }
                ++i_;
            }
        } else {
            // Dot-string = Atom *("." Atom)
            for (;;) {
                const std::size_t a = i_;
                while (i_ < s_.size() && is_atext(static_cast<unsigned char>(s_[i_]), utf8_)) ++i_;
                if (i_ == a) {
                    if (i_ < s_.size() && static_cast<unsigned char>(s_[i_]) >= 0x80)
                        fail(i_, "8-bit byte in the local part (needs SMTPUTF8)");
                    else
                        fail(i_, i_ == b ? "empty local part" : "empty atom in the local part");
                    return false;
                }
                if (!eat('.')) break;
            }
            // "jö@": an atom that stops at an 8-bit byte is cut by it, not
            // missing its '@'.
            if (!utf8_ && i_ < s_.size() && static_cast<unsigned char>(s_[i_]) >= 0x80) {
                fail(i_, "8-bit byte in the local part (needs SMTPUTF8)");
                return false;
            }
        }
        p_.local = s_.substr(b, i_ - b);
        return true;
    }

    bool domain_text(std::string_view d) const {
        if (d.size() >= 2 && d.front() == '[' && d.back() == ']') return is_address_literal(d.substr(1, d.size() - 2));
        return is_smtp_domain(d, utf8_);
    }

    bool domain() {
        const std::size_t b = i_;
        if (peek() == '[') {
            while (i_ < s_.size() && s_[i_] != ']') ++i_;
            if (!eat(']')) return fail(b, "unterminated address literal"), false;
        } else {
            while (i_ < s_.size() && s_[i_] != '>') ++i_;
        }
        const std::string_view d = s_.substr(b, i_ - b);
        if (d.empty()) return fail(b, "empty domain"), false;
        if (!domain_text(d)) {
            for (std::size_t k = 0; k < d.size(); ++k)
                if (static_cast<unsigned char>(d[k]) >= 0x80 && !utf8_)
                    return fail(b + k, "8-bit byte in the domain (needs SMTPUTF8)"), false;
            return fail(b, d.front() == '[' ? "bad address literal" : "bad domain"), false;
        }
        p_.domain = d;
        return true;
    }

    std::string_view s_;
    bool utf8_;
    std::size_t i_ = 0;
    Path p_;
};

}  // namespace

bool is_smtp_address_literal(std::string_view s) {
    return s.size() >= 2 && s.front() == '[' && s.back() == ']' && is_address_literal(s.substr(1, s.size() - 2));
}

bool is_smtp_domain(std::string_view s, bool utf8) {
    if (s.empty()) return false;
    std::size_t b = 0;
    for (;;) {
        std::size_t e = s.find('.', b);
        if (e == std::string_view::npos) e = s.size();
        if (!is_label(s.substr(b, e - b), utf8)) return false;
        if (e == s.size()) return true;
        b = e + 1;
    }
}

Path parse_path(std::string_view s, PathKind kind, bool utf8) { return PathParser(s, utf8).run(kind); }

}  // namespace msg
