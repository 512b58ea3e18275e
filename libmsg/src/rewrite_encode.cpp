// rewrite_encode.cpp - encoding header text and bodies for the rewrite
// steps: RFC 2047 encoded words, RFC 2231 parameters, quoted-printable
// bodies that keep their line breaks, and header folding.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "detail/rewrite.hpp"
#include "msg/charset.hpp"
#include "msg/codec.hpp"
#include "msg/header.hpp"

namespace msg {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr std::size_t kFoldPlain = 78;  // RFC 5322 2.1.1: SHOULD
constexpr std::size_t kHard = 998;  // RFC 5322 2.1.1: MUST

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string as_utf8(std::string_view text) {
    if (first_non_ascii(text) == std::string_view::npos || is_valid_utf8(text)) return std::string(text);
    // Read as windows-1252, its five undefined bytes (lead bytes of raw
    // Shift_JIS, GBK and Big5 text) as the C1 controls they stand for in
    // ISO 8859-1, as the iso-8859-1 label decodes: kept, not made U+FFFD.
    std::string out;
    to_utf8(text, "iso-8859-1", out);
    return out;
}

// RFC 2047 5(3): in a phrase only letters, digits and "!*+-/" may stand for
// themselves; elsewhere any printable character but "=?_" and the
// characters that end a comment or quoted string.
bool q_literal(unsigned char c, bool phrase) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    if (c == '!' || c == '*' || c == '+' || c == '-' || c == '/') return true;
    if (phrase) return false;
    return c > 32 && c < 127 && c != '=' && c != '?' && c != '_' && c != '"' && c != '(' &&
           c != ')' && c != '\\';
}

std::size_t utf8_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1;
}

}  // namespace

std::string encode_words(std::string_view text, bool phrase, std::string_view separator) {
    return detail::encode_words_from(text, phrase, separator, 0);
}

namespace detail {

std::string encode_words_from(std::string_view text, bool phrase, std::string_view separator,
                              std::size_t column) {
    const std::string utf8 = as_utf8(text);
    constexpr std::string_view kQ = "=?utf-8?q?", kB = "=?utf-8?b?";
    constexpr std::size_t kPayload = 75 - 10 - 2;  // characters between "=?utf-8?x?" and "?="
    // Q or B: whichever gives fewer characters for the whole text.
    std::size_t q_len = 0;
    for (unsigned char c : utf8) q_len += (c == ' ' || q_literal(c, phrase)) ? 1 : 3;
    const bool use_q = q_len <= (utf8.size() + 2) / 3 * 4;

    std::string out;
    std::size_t i = 0;
    while (i < utf8.size()) {
        if (!out.empty()) out += separator;
        // The first word ends its line by column 76 (RFC 2047 2); it is
        // never shorter than a few characters of text.
        std::size_t room = kPayload;
        if (out.empty() && column + 75 > 76) room = column + 12 + 8 > 76 ? 8 : 76 - column - 12;
        std::string payload;
        std::size_t j = i;
        if (use_q) {
            while (j < utf8.size()) {
                const std::size_t n = utf8_length(static_cast<unsigned char>(utf8[j]));
                std::string ch;
                for (std::size_t k = j; k < std::min(j + n, utf8.size()); ++k) {
                    const auto c = static_cast<unsigned char>(utf8[k]);
                    if (c == ' ') ch += '_';
                    else if (q_literal(c, phrase)) ch += static_cast<char>(c);
                    else { ch += '='; ch += kHex[c >> 4]; ch += kHex[c & 15]; }
                }
                if (payload.size() + ch.size() > room) break;
                payload += ch;
                j = std::min(j + n, utf8.size());
            }
        } else {
            const std::size_t bytes = room / 4 * 3;  // 45 bytes make 60 characters
            while (j < utf8.size()) {
                const std::size_t n = utf8_length(static_cast<unsigned char>(utf8[j]));
                if (j + n - i > bytes) break;
                j = std::min(j + n, utf8.size());
            }
            payload = base64_encode(std::string_view(utf8).substr(i, j - i), 0, "");
        }
        if (j == i) {  // a character wider than the room: it goes alone
            j = std::min(i + utf8_length(static_cast<unsigned char>(utf8[i])), utf8.size());
            if (use_q) {
                payload.clear();
                for (std::size_t k = i; k < j; ++k) {
                    const auto c = static_cast<unsigned char>(utf8[k]);
                    payload += '=';
                    payload += kHex[c >> 4];
                    payload += kHex[c & 15];
                }
            } else {
                payload = base64_encode(std::string_view(utf8).substr(i, j - i), 0, "");
            }
        }
        out += use_q ? kQ : kB;
        out += payload;
        out += "?=";
        i = j;
    }
    return out;
}

namespace {

// What qp_encode_into writes to when only the size is wanted.
struct Counter {
    std::size_t n = 0;
    Counter& operator+=(char) {
        ++n;
        return *this;
    }
    Counter& operator+=(std::string_view s) {
        n += s.size();
        return *this;
    }
};

// The hard line breaks: in text, the data's line breaks that are the
// message's own (`eol`); in other data only a final one, the rest being
// data (RFC 2045 6.7 (4)). Any other CR or LF is written =0D or =0A, so
// that decoding gives back every byte whatever line ends the message is
// later given (a data LF written as a line break becomes CRLF on the wire).
template <class Out>
void qp_encode_into(std::string_view data, std::string_view eol, bool text, Out& out) {
    constexpr std::size_t kMax = 76;  // RFC 2045 6.7 (5)
    const bool final_break = data.size() >= eol.size() && data.substr(data.size() - eol.size()) == eol;
    const std::size_t final_at = final_break ? data.size() - eol.size() : std::string_view::npos;
    std::size_t start = 0;
    while (start < data.size()) {
        const std::size_t nl = text ? data.find(eol, start) : start <= final_at ? final_at : std::string_view::npos;
        const std::size_t end = nl == std::string_view::npos ? data.size() : nl;
        const std::string_view line = data.substr(start, end - start);
        std::size_t col = 0;
        for (std::size_t k = 0; k < line.size(); ++k) {
            const auto c = static_cast<unsigned char>(line[k]);
            const bool last = k + 1 == line.size();
            bool literal = (c >= 33 && c <= 126 && c != '=') || (is_wsp(static_cast<char>(c)) && !last);
            // An encoded line that starts with "From " or "." would be
            // changed by mbox quoting or SMTP transparency, one that starts
            // with "-" could read as a boundary: encode that character.
            auto risky_start = [&] { return c == '.' || c == '-' || (c == 'F' && line.substr(k, 5) == "From "); };
            if (col == 0 && risky_start()) literal = false;
            const std::size_t width = literal ? 1 : 3;
            // Room for a soft break's '=' unless this is the line's last character.
            const std::size_t room = last ? kMax : kMax - 1;
            // A UTF-8 character's escapes stay on one line (readers that
            // decode line by line show it whole).
            if (c >= 0xC0 && col > 0) {
                const std::size_t n = utf8_length(c);
                bool whole = n > 1 && k + n <= line.size();
                for (std::size_t t = 1; whole && t < n; ++t)
                    whole = (static_cast<unsigned char>(line[k + t]) & 0xC0) == 0x80;
                if (whole && col + 3 * n > kMax - 1) {
                    out += '=';
                    out += eol;
                    col = 0;
                }
            }
            if (col + width > room) {
                out += '=';
                out += eol;
                col = 0;
                if (literal && risky_start()) literal = false;
            }
            if (literal) {
                out += static_cast<char>(c);
                col += 1;
            } else {
                out += '=';
                out += kHex[c >> 4];
                out += kHex[c & 15];
                col += 3;
            }
        }
        if (nl == std::string_view::npos) break;
        out += eol;
        start = nl + eol.size();
    }
}


}  // namespace

std::size_t qp_encoded_size(std::string_view data, std::string_view eol, bool text) {
    Counter c;
    qp_encode_into(data, eol, text, c);
    return c.n;
}

Decoded decode_body(std::string_view body, TransferEncoding encoding) {
    switch (encoding) {
    case TransferEncoding::base64:
    case TransferEncoding::quoted_printable:
    case TransferEncoding::uuencode: {
        std::string out;
        decode_transfer(body, encoding, out);
        return hold(std::move(out));
    }
    default: return {body, nullptr};   // what decode_transfer passes through, not copied
    }
}

Decoded hold(std::string text) {
    auto owned = std::make_shared<const std::string>(std::move(text));
    return {*owned, owned};
}

Splice::Deferred qp_encode_body(Decoded data, std::string_view eol, bool text, std::optional<std::size_t> size) {
    const std::size_t n = size.value_or(qp_encoded_size(data.data, eol, text));
    return {n, [data = std::move(data), eol, text](std::string& out) { qp_encode_into(data.data, eol, text, out); }};
}

Splice::Deferred base64_encode_body(Decoded data, std::string_view eol, bool final_eol) {
    std::size_t n = base64_encoded_size(data.data.size(), 76, eol.size());
    const bool strip = !final_eol && n > 0;   // the encoding's last line break
    if (strip) n -= eol.size();
    return {n, [data = std::move(data), eol, strip](std::string& out) {
                base64_encode_append(data.data, 76, eol, out);
                if (strip) out.resize(out.size() - eol.size());
            }};
}

// --- MIME parameters ----------------------------------------------------------------

namespace {

// RFC 2045 5.1 token: no controls, space or tspecials.
bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 32 || c >= 127) return false;
        if (std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) != std::string_view::npos)
            return false;
    }
    return true;
}

// RFC 2231 7: attribute-char, the characters that need no percent escape.
bool attribute_char(unsigned char c) {
    return c > 32 && c < 127 && std::string_view("*'%()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) ==
                                    std::string_view::npos;
}

// `v` as a quoted string: CR and LF cannot be in one.
std::string quoted_value(std::string_view v) {
    std::string q = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') q += '\\';
        if (c == '\r' || c == '\n') continue;
        q += c;
    }
    return q + "\"";
}

std::string parameter_pieces(const Parameter& p, std::vector<std::string>& pieces) {
    // A value in a charset libmsg does not know goes out as its bytes came,
    // under its own charset: never relabelled as the UTF-8 text shown.
    const bool unconverted = !p.charset.empty() && !p.unconverted.empty();
    const std::string& v = unconverted ? p.unconverted : p.value;
    // A boundary is its bytes, which the delimiter lines repeat: written
    // as they are, 8-bit ones too, never as RFC 2231 text (which would
    // name other bytes).
    if (!unconverted && (p.name == "boundary" || first_non_ascii(v) == std::string::npos)) {
        std::string one = p.name + "=" + (is_token(v) ? v : quoted_value(v));
        // After "; " and a fold it must still fit a line of 998 octets;
        // longer, RFC 2231 3 cuts it into sections name*0, name*1, ...
        if (one.size() + 2 <= 998) return one;
        for (std::size_t i = 0, n = 0; i < v.size(); i += 60, ++n)
            pieces.push_back(p.name + "*" + std::to_string(n) + "=" + quoted_value(v.substr(i, 60)));
        return {};
    }
    // RFC 2231: charset'language'percent-encoded, in sections of at most
    // 60 characters, never splitting an escape.
    std::string enc;
    for (unsigned char c : unconverted ? v : as_utf8(v)) {
        if (attribute_char(c)) enc += static_cast<char>(c);
        else { enc += '%'; enc += kHex[c >> 4]; enc += kHex[c & 15]; }
    }
    const std::string head = (unconverted ? p.charset : std::string("utf-8")) + "'" + p.language + "'";
    if (enc.size() <= 60) return p.name + "*=" + head + enc;
    std::size_t i = 0, n = 0;
    while (i < enc.size()) {
        std::size_t len = std::min<std::size_t>(60, enc.size() - i);
        // Do not cut "%XX".
        for (std::size_t back = 1; back <= 2 && i + len < enc.size(); ++back)
            if (enc[i + len - back] == '%') { len -= back; break; }
        pieces.push_back(p.name + "*" + std::to_string(n) + "*=" + (n == 0 ? head : "") + enc.substr(i, len));
        i += len;
        ++n;
    }
    return {};
}

}  // namespace

bool is_mime_parameter_field(std::string_view name) noexcept {
    return iequals(name, "Content-Type") || iequals(name, "Content-Disposition");
}

MimeFieldValue parse_mime_field(std::string_view name, std::string_view value, Defects* defects) {
    MimeFieldValue out;
    if (iequals(name, "Content-Type")) {
        ContentType ct = parse_content_type(value, defects);
        if (ct.valid) out.main = ct.mime_type();
        out.params = std::move(ct.params);
    } else {
        ContentDisposition cd = parse_content_disposition(value, defects);
        out.main = std::move(cd.type);
        out.params = std::move(cd.params);
    }
    return out;
}

std::string format_mime_value(std::string_view name, std::string_view main, const Parameters& params,
                              std::string_view eol) {
    std::string out = " " + std::string(main);
    std::size_t col = name.size() + 1 + out.size();
    std::vector<std::string> seen;
    for (const Parameter& p : params) {
        if (std::find(seen.begin(), seen.end(), p.name) != seen.end()) continue;  // first one wins
        seen.push_back(p.name);
        std::vector<std::string> pieces;
        std::string one = parameter_pieces(p, pieces);
        if (!one.empty()) pieces.push_back(std::move(one));
        // The plain value given beside an RFC 2231 one stays, first, for
        // readers that know only the plain form (when the RFC 2231 one is
        // written as such: a second plain one would be a duplicate).
        if (!p.plain.empty() && pieces.front().starts_with(p.name + "*")) {
            Parameter plain{p.name, p.plain};
            std::vector<std::string> more;
            if (std::string q = parameter_pieces(plain, more); more.empty() && !q.empty() && !q.starts_with(p.name + "*"))
                pieces.insert(pieces.begin(), std::move(q));
        }
        for (const std::string& piece : pieces) {
            out += ';';
            ++col;
            if (col + 1 + piece.size() > kFoldPlain) {
                out += eol;
                col = 0;
            }
            out += ' ';
            out += piece;
            col += 1 + piece.size();
        }
    }
    // A piece longer than a line (a quoted value with white space in it)
    // is folded there, as --fold and --fix would fold it: what this writes
    // needs no repair.
    std::string folded;
    std::size_t over = 0;
    if (fold_field(std::string(name) + ":" + out, eol, folded, over)) out = folded.substr(name.size() + 1);
    return out;
}

// --- folding ----------------------------------------------------------------------

bool fold_field(std::string_view raw, std::string_view eol, std::string& out, std::size_t& over) {
    // RFC 2047 2: a line that holds an encoded word is at most 76 characters.
    const std::size_t kFold = raw.find("=?") != std::string_view::npos ? 76 : kFoldPlain;
    over = 0;
    bool changed = false;
    std::string result;
    result.reserve(raw.size() + 16);
    std::size_t start = 0;
    bool first_line = true;
    const std::size_t colon = raw.find(':');
    // In a field with MIME parameters no fold goes inside a quoted value
    // unless the line would stay over 998 octets: RFC 5322 allows it, but
    // readers (Python's compat32 among them) keep the line break in a file
    // name or lose a boundary (RFC 2231 3 warns of it).
    std::string_view fname = colon == std::string_view::npos ? std::string_view() : raw.substr(0, colon);
    while (!fname.empty() && is_wsp(fname.back())) fname.remove_suffix(1);   // "Name :"
    const bool mime = iequals(fname, "Content-Type") || iequals(fname, "Content-Disposition");
    bool quoted = false;   // inside a quoted string where a line begins
    int comment = 0;       // the depth of comments there
    std::vector<bool> in_quotes;
    while (start < raw.size()) {
        const std::size_t nl = raw.find('\n', start);
        std::size_t end = nl == std::string_view::npos ? raw.size() : nl;
        if (nl != std::string_view::npos && end > start && raw[end - 1] == '\r') --end;
        const std::string_view line = raw.substr(start, end - start);
        const std::string_view brk = raw.substr(end, (nl == std::string_view::npos ? raw.size() : nl + 1) - end);
        // Where a fold may go: before white space that is followed by a
        // visible character, with a visible character before it on the
        // same output line (no line may be only white space) and, on the
        // field's first line, after the first word of the value.
        // (In a field with encoded words, right after the colon too: a
        // long name leaves no other way to keep to 76.)
        if (mime) {
            in_quotes.assign(line.size(), false);
            for (std::size_t k = first_line ? colon + 1 : 0; k < line.size(); ++k) {
                in_quotes[k] = quoted;
                if (line[k] == '\\' && (quoted || comment > 0)) {
                    if (++k < line.size()) in_quotes[k] = quoted;
                } else if (line[k] == '"' && comment == 0) {
                    quoted = !quoted;
                } else if (!quoted && line[k] == '(') {
                    ++comment;
                } else if (!quoted && line[k] == ')' && comment > 0) {
                    --comment;
                }
            }
        }
        std::size_t min_visible = 0;  // a fold point needs a visible char at or after this, before it
        if (first_line && colon != std::string_view::npos && colon < line.size() && kFold == kFoldPlain)
            min_visible = colon + 1;
        auto candidate = [&](std::size_t seg, std::size_t i, bool inside_quotes = false) {
            if (i + 1 >= line.size() || !is_wsp(line[i]) || is_wsp(line[i + 1])) return false;
            if (line[i - 1] == '\\') return false;  // the white space of a quoted-pair
            if (first_line && colon != std::string_view::npos && i <= colon) return false;
            if (mime && in_quotes[i] && !inside_quotes) return false;
            bool visible = false;
            for (std::size_t k = std::max(seg, min_visible); k < i && !visible; ++k) visible = !is_wsp(line[k]);
            if (!visible) return false;
            // Right after the colon (a field with encoded words): only when
            // the value's first word then fits its line, or the field's
            // first line would else stay over 998 octets. A fold there that
            // gains nothing leaves the first line without a value, which
            // some readers (Python's) show as a leading space.
            if (first_line && colon != std::string_view::npos && seg == 0 &&
                std::all_of(line.begin() + static_cast<std::ptrdiff_t>(colon) + 1,
                            line.begin() + static_cast<std::ptrdiff_t>(i), is_wsp)) {
                std::size_t word_end = i + 1;
                while (word_end < line.size() && !is_wsp(line[word_end])) ++word_end;
                if (word_end - i > kFold && word_end <= kHard) return false;
            }
            return true;
        };
        std::size_t seg = 0;
        while (line.size() - seg > kFold) {
            std::size_t best = std::string_view::npos;
            for (std::size_t i = seg + 1; i <= seg + kFold && i < line.size(); ++i)
                if (candidate(seg, i)) best = i;
            if (best == std::string_view::npos)
                for (std::size_t i = seg + kFold + 1; i < line.size(); ++i)
                    if (candidate(seg, i)) { best = i; break; }
            // Inside a quoted value only when the line would stay over 998.
            if ((best == std::string_view::npos || best - seg > kHard) && mime && line.size() - seg > kHard) {
                best = std::string_view::npos;
                for (std::size_t i = seg + 1; i <= seg + kFold && i < line.size(); ++i)
                    if (candidate(seg, i, true)) best = i;
            }
            if (best == std::string_view::npos) break;
            result.append(line.substr(seg, best - seg));
            result.append(eol);
            changed = true;
            if (best - seg > kHard) ++over;
            seg = best;
            min_visible = 0;
        }
        if (line.size() - seg > kHard) ++over;
        result.append(line.substr(seg));
        result.append(brk);
        start = end + brk.size();
        first_line = false;
    }
    if (changed) out = std::move(result);
    return changed;
}

}  // namespace detail
}  // namespace msg
