// header.cpp - field values: unfolding, RFC 2047, RFC 2045/2231 parameters.
#include "msg/header.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <utility>

#include "msg/charset.hpp"
#include "msg/codec.hpp"

namespace msg {
namespace {

inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// RFC 2045 5.1 tspecials, plus space and controls: what ends a token.
inline bool is_tspecial(unsigned char c) {
    switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
        return true;
    default:
        return c <= 32 || c == 127;
    }
}

void add_defect(Defects* d, DefectCode code, std::size_t offset, std::string detail = {}) {
    if (d) d->push_back(Defect{code, offset, std::move(detail)});
}

// Skip white space and (nested) comments from `i`; returns the new position.
std::size_t skip_cfws(std::string_view s, std::size_t i) {
    while (i < s.size()) {
        if (is_space(s[i])) { ++i; continue; }
        if (s[i] != '(') break;
        int depth = 0;
        while (i < s.size()) {
            const char c = s[i];
            if (c == '\\') { i += 2; continue; }
            ++i;
            if (c == '(') ++depth;
            else if (c == ')' && --depth == 0) break;
        }
    }
    return std::min(i, s.size());
}

std::size_t token_end(std::string_view s, std::size_t i) {
    while (i < s.size() && !is_tspecial(static_cast<unsigned char>(s[i]))) ++i;
    return i;
}

// --- RFC 2047 ------------------------------------------------------------

struct EncodedWord {
    std::size_t length = 0;   // bytes of the whole "=?...?=" in the input
    std::string_view charset;
    char encoding = 0;        // 'B' or 'Q'
    std::string_view text;
};

// Parse an encoded word starting at s[0] == '=' && s[1] == '?'. Returns
// false when it is not one (then it stays literal text).
// No encoded word is longer than this (RFC 2047 says 75; real mail has
// longer ones, but not this long). Searching no further keeps decoding a
// field linear in its length, whatever its number of "=?".
constexpr std::size_t kMaxEncodedWord = 4096;

bool parse_encoded_word(std::string_view s, EncodedWord& w) {
    // =?charset[*lang]?B|Q?text?=
    s = s.substr(0, kMaxEncodedWord);
    std::size_t q1 = s.find('?', 2);
    if (q1 == std::string_view::npos || q1 == 2 || q1 + 3 >= s.size()) return false;
    if (s[q1 + 2] != '?') return false;
    const char enc = static_cast<char>(s[q1 + 1] & ~0x20);
    if (enc != 'B' && enc != 'Q') return false;
    const std::size_t tstart = q1 + 3;
    const std::size_t close = s.find("?=", tstart);
    if (close == std::string_view::npos) return false;
    for (std::size_t k = 2; k < close; ++k)
        if (is_space(s[k]) || static_cast<unsigned char>(s[k]) < 32) return false;
    std::string_view cs = s.substr(2, q1 - 2);
    if (auto star = cs.find('*'); star != std::string_view::npos) cs = cs.substr(0, star);  // RFC 2231 language
    if (cs.empty()) return false;
    w.length = close + 2;
    w.charset = cs;
    w.encoding = enc;
    w.text = s.substr(tstart, close - tstart);
    return true;
}

// The length of "=?charset?B?" or "=?charset?Q?" when `s` starts as an
// encoder writes an encoded word (the charset printable, no white space),
// else 0.
std::size_t encoded_word_start(std::string_view s) {
    std::size_t k = 2;
    while (k < s.size() && k < 80 && s[k] != '?' && static_cast<unsigned char>(s[k]) > 32 &&
           static_cast<unsigned char>(s[k]) < 127)
        ++k;
    if (k == 2 || k + 2 >= s.size() || s[k] != '?' || s[k + 2] != '?') return 0;
    const char enc = static_cast<char>(s[k + 1] & ~0x20);
    return enc == 'B' || enc == 'Q' ? k + 3 : 0;
}

// The bytes an encoded word stands for (before charset conversion).
std::string encoded_word_bytes(const EncodedWord& w, bool& clean) {
    std::string bytes;
    if (w.encoding == 'B') {
        Base64Decoder d;
        d.step(w.text, bytes);
        d.finish(bytes);
        clean = d.status().clean();
        return bytes;
    }
    clean = true;
    const std::string_view t = w.text;
    bytes.reserve(t.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        if (c == '_') bytes.push_back(' ');
        else if (c == '=' && i + 2 < t.size() && std::isxdigit(static_cast<unsigned char>(t[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(t[i + 2]))) {
            const std::string hex{t.substr(i + 1, 2)};
            bytes.push_back(static_cast<char>(std::stoi(hex, nullptr, 16)));
            i += 2;
        } else {
            // A stray '=', a '?' (RFC 2047 2: never inside encoded text) or
            // a byte that is not printable ASCII: kept, and said.
            if (c == '=' || c == '?' || static_cast<unsigned char>(c) > 126) clean = false;
            bytes.push_back(c);
        }
    }
    return bytes;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string to_lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}

namespace {

// [b, e) of `s` without the white space at its ends (`space`: is_wsp, or
// is_space where line breaks count too).
std::pair<std::size_t, std::size_t> trimmed(std::string_view s, bool (*space)(char) = is_wsp) {
    std::size_t b = 0, e = s.size();
    while (b < e && space(s[b])) ++b;
    while (e > b && space(s[e - 1])) --e;
    return {b, e};
}

}  // namespace

std::string unfold(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
        if (c == '\n' || c == '\r') continue;
        out.push_back(c);
    }
    const auto [b, e] = trimmed(out);
    out.resize(e);
    out.erase(0, b);   // (in place: no second string)
    return out;
}

std::string_view unfold(std::string_view value, std::string& buf) {
    if (value.find_first_of("\r\n") != std::string_view::npos) return buf = unfold(value);
    const auto [b, e] = trimmed(value);
    return value.substr(b, e - b);
}

namespace {

std::string decode_text(std::string_view raw, bool raw_utf8, Defects* defects, std::size_t base);

}  // namespace

void append_raw_header_text(std::string_view s, bool utf8, std::string& out) {
    std::size_t k = 0;
    while (k < s.size()) {
        std::size_t j = k;
        while (j < s.size() && s[j] != '\r' && s[j] != '\n') ++j;
        const std::string_view line = s.substr(k, j - k);
        if (utf8 || first_non_ascii(line) == std::string_view::npos) {
            if (!raw_iso2022jp_to_utf8(line, out)) out.append(line);
        } else {
            to_utf8(line, "iso-8859-1", out);   // windows-1252, its five holes kept as C1
        }
        k = j;
        while (k < s.size() && (s[k] == '\r' || s[k] == '\n')) ++k;
    }
}

bool raw_iso2022jp_to_utf8(std::string_view text, std::string& out) {
    if (text.find('\x1b') == std::string_view::npos || first_non_ascii(text) != std::string_view::npos) return false;
    std::string utf8;
    std::size_t bad = 0;
    if (!to_utf8(text, "iso-2022-jp", utf8, &bad) || bad > 0) return false;
    out += utf8;
    return true;
}

std::string decode_header_text(std::string_view raw, Defects* defects, std::size_t base) {
    return decode_text(raw, is_valid_utf8(raw), defects, base);
}

bool is_whole_encoded_word(std::string_view t) noexcept {
    return t.size() >= 8 && t.substr(0, 2) == "=?" && t.substr(t.size() - 2) == "?=";
}

std::string decode_header_piece(std::string_view piece, std::string_view field) {
    return decode_header_piece(piece, is_valid_utf8(field));
}

std::string decode_header_piece(std::string_view piece, bool field_is_utf8) {
    return decode_text(piece, field_is_utf8, nullptr, 0);
}

namespace {

// An ISO-2022 run is probed for a cut character while it is this short.
constexpr std::size_t kProbeLimit = 256;

std::string decode_text(std::string_view raw, bool raw_utf8, Defects* defects, std::size_t base) {
    // Work on the raw value so that defect offsets stay exact: line breaks
    // of folding are dropped as we go, and the result is trimmed at the end.
    std::string out;
    out.reserve(raw.size());
    std::size_t i = 0;
    const std::size_t n = raw.size();
    std::size_t lit_start = 0;       // start of pending literal text
    bool last_was_word = false;      // the previous token was a decoded encoded word
    std::size_t ws_start = std::string_view::npos;  // white space after that word
    std::size_t reported_until = 0;  // end of the last malformed word reported

    // Bytes of adjacent encoded words in one stateless charset are converted
    // together, so that a character split across two words (as encoders do
    // with UTF-8 and other multibyte charsets) comes out whole, as in GMime
    // and Python. Words in a stateful charset (ISO-2022-*, UTF-7, HZ) are
    // converted one by one: each begins and ends in the initial state
    // (RFC 2047 5), and a joint of two escape sequences is not valid text;
    // but an ISO-2022 word an encoder cut in the middle of a character is
    // joined with the next, as Python joins them. A run is decoded as its
    // words come: the decoder carries a cut character from one word to the
    // next, and says a word ended inside one (header.encoded-word-split).
    std::optional<TextDecoder> run;
    bool run_eight = false;        // an 8-bit byte in a run labelled US-ASCII
    std::string word_bytes;
    std::string_view word_charset;
    std::size_t word_at = 0;       // offset of the first word of the run
    std::size_t last_word_at = 0;  // and of its last

    auto flush_word = [&] {
        if (!run) return;
        run->finish(&out);
        if (const std::size_t bad = run->bad())
            add_defect(defects, DefectCode::CharsetBadBytes, base + word_at, bad_sequences(word_charset, bad));
        else if (run_eight)
            add_defect(defects, DefectCode::CharsetBadBytes, base + word_at, std::string(word_charset) + ": 8-bit bytes");
        run_eight = false;
        run.reset();
        word_bytes.clear();
        word_charset = {};
    };
    auto flush_literal = [&](std::size_t end) {
        flush_word();
        if (end <= lit_start) return;
        append_raw_header_text(raw.substr(lit_start, end - lit_start), raw_utf8, out);
    };

    while (i < n) {
        const char c = raw[i];
        if (c == '=' && i + 1 < n && raw[i + 1] == '?') {
            EncodedWord w;
            if (parse_encoded_word(raw.substr(i), w)) {
                bool clean = true;
                std::string bytes = encoded_word_bytes(w, clean);
                // RFC 2047 2: encoded-text is one character at least; a
                // strict reader shows "=?UTF-8?B??=" as it is.
                if (w.text.empty()) clean = false;
                if (charset_known(w.charset)) {
                    // White space between two encoded words is dropped.
                    const bool adjacent = last_was_word && ws_start != std::string_view::npos;
                    // An ISO-2022 run cut in the middle of a character: it does not
                    // convert alone, this word goes on in its mode and returns to
                    // ASCII with an escape of its own, and the two convert better
                    // joined than apart (looked at while the run is short: a field
                    // of broken words costs no more than its words). A word with
                    // no escape ("hello") is text in ASCII, never joined.
                    const auto cut = [&] {
                        if (word_bytes.size() > kProbeLimit || bytes.find('\x1b') == std::string::npos ||
                            !(w.charset.size() > 8 && iequals(w.charset.substr(0, 8), "iso-2022")))
                            return false;
                        const auto bad_of = [&](std::string_view b) {
                            std::string probe;
                            std::size_t bad = 0;
                            to_utf8(b, w.charset, probe, &bad);
                            return bad;
                        };
                        const std::size_t apart = bad_of(word_bytes);
                        return apart > 0 && bad_of(word_bytes + bytes) < apart + bad_of(bytes);
                    };
                    if (!(adjacent && iequals(word_charset, w.charset) && (!charset_stateful(w.charset) || cut()))) {
                        flush_literal(adjacent ? ws_start : i);
                        word_at = i;
                        run.emplace(w.charset);
                    } else if (run->pending()) {
                        add_defect(defects, DefectCode::EncodedWordSplit, base + last_word_at, std::string(w.charset));
                    }
                    last_word_at = i;
                    word_charset = w.charset;
                    if (word_bytes.size() <= kProbeLimit) word_bytes += bytes;
                    run->step(bytes, &out);
                    if (!run_eight && first_non_ascii(bytes) != std::string::npos && charset_is_ascii(w.charset))
                        run_eight = true;
                    if (!clean)
                        add_defect(defects, DefectCode::EncodedWordMalformed, base + i,
                                   "decoded as far as it goes: " + std::string(raw.substr(i, w.length)));
                    i += w.length;
                    lit_start = i;
                    last_was_word = true;
                    ws_start = i;
                    continue;
                }
                add_defect(defects, DefectCode::EncodedWordCharset, base + i, std::string(w.charset));
                i += w.length;
                last_was_word = false;
                continue;
            }
            // Looks like the start of an encoded word but is not one: kept
            // as it is, and reported when it is a word ending in "?=" or
            // starts as an encoder writes one (=?charset?Q? or ?B?) and then
            // breaks (white space inside, no end): text that merely holds
            // "=?" is not a word. Each stretch is reported once (not again
            // from every "=?" inside it).
            if (i >= reported_until) {
                const std::size_t prefix = encoded_word_start(raw.substr(i));
                const std::string_view window = raw.substr(0, std::min(n, i + kMaxEncodedWord));
                const std::size_t close = window.find("?=", i + std::max<std::size_t>(prefix, 2));
                const std::string_view cand = close == std::string_view::npos ? std::string_view()
                                                                             : raw.substr(i, close + 2 - i);
                std::size_t end = 0;
                if (!cand.empty() && std::none_of(cand.begin(), cand.end(), is_space)) {
                    end = close + 2;
                } else if (prefix) {
                    // Up to its "?=" unless another word starts before it;
                    // else up to the white space after it.
                    if (!cand.empty() && cand.find("=?", 2) == std::string_view::npos) {
                        end = close + 2;
                    } else {
                        end = i + prefix;
                        while (end < n && !is_space(raw[end])) ++end;
                    }
                }
                if (end) {
                    add_defect(defects, DefectCode::EncodedWordMalformed, base + i,
                               "kept as it is: " + std::string(raw.substr(i, end - i)));
                    reported_until = end;
                }
            }
        }
        if (is_space(c)) {
            if (!(last_was_word && ws_start != std::string_view::npos)) ws_start = i;
            ++i;
            continue;
        }
        last_was_word = false;
        ws_start = std::string_view::npos;
        ++i;
    }
    flush_literal(n);  // converts a pending encoded word first

    const auto [b, e] = trimmed(out, is_space);
    if (b == 0 && e == out.size()) return out;
    return out.substr(b, e - b);
}

}  // namespace

// --- address fields for display ---------------------------------------------

bool is_address_field(std::string_view name) noexcept {
    for (std::string_view n : {"From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Resent-From", "Resent-Sender",
                               "Resent-To", "Resent-Cc", "Resent-Bcc", "Disposition-Notification-To",
                               "Return-Receipt-To", "Mail-Followup-To", "Mail-Reply-To"})
        if (iequals(name, n)) return true;
    return false;
}

namespace {

// The resent field's name as an index (0-7), or -1.
int resent_index(std::string_view name) noexcept {
    if (name.size() < 9 || !iequals(name.substr(0, 7), "Resent-")) return -1;
    static constexpr std::string_view kNames[] = {"Date", "From", "Sender", "To", "Cc", "Bcc", "Message-ID", "Reply-To"};
    for (int k = 0; k < 8; ++k)
        if (iequals(name.substr(7), kNames[k])) return k;
    return -1;
}

}  // namespace

bool is_resent_field(std::string_view name) noexcept { return resent_index(name) >= 0; }

const HeaderField* ResentBlock::find(std::string_view name) const noexcept {
    for (const HeaderField* f : fields)
        if (iequals(f->name, name)) return f;
    return nullptr;
}

namespace {

// RFC 5322 3.6's fields of the message itself (orig-date, originator,
// destination, identification, informational), and MIME's: the first of
// them ends the trace and resent blocks above.
bool is_message_field(std::string_view name) noexcept {
    for (std::string_view n : {"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To",
                               "References", "Subject", "Comments", "Keywords", "MIME-Version"})
        if (iequals(name, n)) return true;
    return name.size() > 8 && iequals(name.substr(0, 8), "Content-");
}

}  // namespace

std::vector<ResentBlock> resent_blocks(std::span<const HeaderField> header) {
    std::vector<ResentBlock> blocks;
    // Above the message's own fields: runs of resent fields, as RFC 5322
    // 3.6's grammar has them; any other field, or a name the run holds
    // already, ends one. (A block holds at most eight fields, one per
    // name, so find() is short.)
    std::size_t i = 0;
    bool open = false;
    for (; i < header.size() && !is_message_field(header[i].name); ++i) {
        const HeaderField& f = header[i];
        const bool resent = is_resent_field(f.name);
        open = open && resent && !blocks.back().find(f.name);
        if (!resent) continue;
        if (!open) blocks.emplace_back();
        blocks.back().fields.push_back(&f);
        open = true;
    }
    // Below them: fields an MTA appended (Postfix and sendmail add a
    // missing Resent-Date, Resent-Message-ID or Resent-From at the end of
    // the header). Each completes the newest block without that name; one
    // that none lacks begins a block of its own, as does one with no block
    // above.
    std::size_t lacks[8] = {};   // by name: no block before this one lacks it (blocks only gain names)
    for (; i < header.size(); ++i) {
        const HeaderField& f = header[i];
        const int n = resent_index(f.name);
        if (n < 0) continue;
        std::size_t& k = lacks[n];
        while (k < blocks.size() && blocks[k].find(f.name)) ++k;
        if (k == blocks.size()) blocks.emplace_back();
        blocks[k].fields.push_back(&f);
    }
    return blocks;
}

namespace {

// RFC 5322 3.2.3 specials, as a decoded display name must not hold them bare.
bool is_special(char c) { return std::string_view("()<>[]:;@\\,.\"").find(c) != std::string_view::npos; }

// Text decoded as decode_text does, but with the white space at its ends
// kept (decode_text trims it).
void append_decoded(std::string_view s, bool utf8, std::string& out) {
    const auto [b, e] = trimmed(s, is_space);
    append_raw_header_text(s.substr(0, b), utf8, out);
    out += decode_text(s.substr(b, e - b), utf8, nullptr, 0);
    append_raw_header_text(s.substr(e), utf8, out);
}

// A display name's words decoded: only a whole word is an encoded word in a
// phrase (RFC 2047 5(3)); a word that only looks like one (=?UTF-8? Q?x?=,
// a=?utf-8?q?b?=) is kept as written, and the encoded words around it are
// still decoded, each on its own side of it (as Python reads them).
std::string decode_phrase(std::string_view p, bool utf8) {
    std::string out;
    auto decoded = [&](std::string_view s) { append_decoded(s, utf8, out); };
    std::size_t from = 0;   // start of the words not yet written
    for (std::size_t k = 0; k < p.size();) {
        while (k < p.size() && is_space(p[k])) ++k;
        std::size_t e = k;
        while (e < p.size() && !is_space(p[e])) ++e;
        const std::string_view word = p.substr(k, e - k);
        if (word.find("=?") != std::string_view::npos && !is_whole_encoded_word(word)) {
            decoded(p.substr(from, k - from));
            append_raw_header_text(word, utf8, out);
            from = e;
        }
        k = e;
    }
    decoded(p.substr(from));
    return out;
}

std::string decode_address_text(std::string_view raw) {
    const bool utf8 = is_valid_utf8(raw);
    std::string out;
    out.reserve(raw.size());
    auto literal = [&](std::string_view s) { append_raw_header_text(s, utf8, out); };
    char before = 0;   // the last character that is not white space, before a run
    const std::size_t n = raw.size();
    std::size_t i = 0;
    while (i < n) {
        const char c = raw[i];
        if (c == '"' || c == '<' || c == '[') {   // a quoted string, an address, a domain literal: as written
            const char close = c == '"' ? '"' : c == '<' ? '>' : ']';
            std::size_t j = i + 1;
            while (j < n && raw[j] != close) j += raw[j] == '\\' && c == '"' ? 2 : 1;
            j = std::min(n, j + 1);
            literal(raw.substr(i, j - i));
            before = close;
            i = j;
            continue;
        }
        if (c == '(') {   // a comment: encoded words allowed (RFC 2047 5(2))
            std::size_t j = i + 1;
            int depth = 1;
            for (; j < n && depth > 0; ++j) {
                if (raw[j] == '\\') ++j;
                else if (raw[j] == '(') ++depth;
                else if (raw[j] == ')') --depth;
            }
            j = std::min(n, j);
            // Decoded text is the comment's text only: a parenthesis or a
            // backslash it holds is shown escaped, so that it can neither
            // close the comment nor open one (a decoded ") <ceo@bank> (" is
            // not an address beside it). Its white space is kept, and a
            // comment never closed is not closed when shown.
            const std::string_view inner = raw.substr(i + 1, j - i - 1 - (depth == 0 ? 1 : 0));
            std::string text;
            append_decoded(inner, utf8, text);
            if (text == inner) {
                out.append(raw.substr(i, j - i));
            } else {
                out += '(';
                for (const char t : text) {
                    if (t == '(' || t == ')' || t == '\\') out += '\\';
                    out += t;
                }
                if (depth == 0) out += ')';
            }
            before = ')';
            i = j;
            continue;
        }
        if (is_special(c) && c != '.') {
            out += c;
            before = c;
            ++i;
            continue;
        }
        // A run of words (and the white space between them) up to the next
        // special: a display name, unless it is part of an address.
        std::size_t j = i;
        while (j < n && (raw[j] == '.' || !is_special(raw[j]))) ++j;
        const std::string_view run = raw.substr(i, j - i);
        std::size_t next = j;
        while (next < n && is_space(raw[next])) ++next;
        const bool phrase = before != '@' && (next >= n || raw[next] != '@') && run.find("=?") != std::string_view::npos;
        if (!phrase) {
            literal(run);
        } else {
            const auto [b, e] = trimmed(run, is_space);
            literal(run.substr(0, b));
            const std::string text = decode_phrase(run.substr(b, e - b), utf8);
            // Quoted when decoding made specials appear (nothing decoded:
            // as written, like any other text).
            std::string as_written;
            append_raw_header_text(run.substr(b, e - b), utf8, as_written);
            if (text == as_written || std::none_of(text.begin(), text.end(), is_special)) {
                out += text;
            } else {
                out += '"';
                for (char t : text) {
                    if (t == '"' || t == '\\') out += '\\';
                    out += t;
                }
                out += '"';
            }
            literal(run.substr(e));
        }
        for (std::size_t k = run.size(); k > 0; --k)
            if (!is_space(run[k - 1])) {
                before = run[k - 1];
                break;
            }
        i = j;
    }
    const auto [b, e] = trimmed(out, is_space);
    return out.substr(b, e - b);
}

}  // namespace

std::string decode_field_text(std::string_view name, std::string_view value) {
    // A MIME parameter's quoted value is shown as written: an encoded word
    // there is the value's own characters (RFC 2047 5; a boundary may hold
    // "=?"), as parse_parameters() reads it; comments are decoded, as in an
    // address field.
    const bool parameters = iequals(name, "Content-Type") || iequals(name, "Content-Disposition");
    return is_address_field(name) || parameters ? decode_address_text(value) : decode_header_text(value);
}

// --- parameters --------------------------------------------------------------

namespace {

struct RawParam {
    std::string name;          // lower case, without the RFC 2231 suffix
    int section = -1;          // -1: not a continuation
    bool extended = false;     // value is charset'lang'percent-encoded (section 0) or percent-encoded
    std::string value;         // as written (quotes removed, escapes resolved)
    std::size_t offset = 0;
};

std::string percent_decode(std::string_view s, bool& bad) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            if (s[i] == '%') bad = true;
            out.push_back(s[i]);
        }
    }
    return out;
}

}  // namespace

Parameters parse_parameters(std::string_view text, Defects* defects, std::size_t base,
                            const Limits& limits) {
    std::vector<RawParam> raw;
    std::size_t i = 0;
    const std::size_t n = text.size();
    bool after_semi = false;
    while (i < n) {
        i = skip_cfws(text, i);
        if (i >= n) break;
        if (text[i] == ';') {
            ++i;
            after_semi = true;
            continue;
        }
        const std::size_t name_at = i;
        std::size_t ne = token_end(text, i);
        // RFC 2045 5.1: each parameter follows a ';'. Read all the same (as
        // GMime and MimeKit do; Python's email package ignores it).
        if (!after_semi && ne > i)
            add_defect(defects, DefectCode::ParamSyntax, base + name_at,
                       std::string(text.substr(i, ne - i)) + " has no ';' before it");
        after_semi = false;
        if (ne == i) {
            // Not a parameter name: skip to the next ';'.
            add_defect(defects, DefectCode::ParamSyntax, base + i);
            std::size_t semi = text.find(';', i);
            i = semi == std::string_view::npos ? n : semi + 1;
            after_semi = true;
            continue;
        }
        std::string_view name = text.substr(i, ne - i);
        i = skip_cfws(text, ne);
        if (i >= n || text[i] != '=') {
            add_defect(defects, DefectCode::ParamSyntax, base + name_at, std::string(name));
            std::size_t semi = text.find(';', i);
            i = semi == std::string_view::npos ? n : semi + 1;
            after_semi = true;
            continue;
        }
        i = skip_cfws(text, i + 1);
        std::string value;
        const bool quoted = i < n && text[i] == '"';
        if (quoted) {
            ++i;
            bool closed = false;
            while (i < n) {
                const char c = text[i];
                if (c == '\\' && i + 1 < n) { value.push_back(text[i + 1]); i += 2; continue; }
                if (c == '"') { closed = true; ++i; break; }
                if (c == '\r' || c == '\n') { ++i; continue; }  // folded inside quotes
                value.push_back(c);
                ++i;
            }
            if (!closed) add_defect(defects, DefectCode::ParamSyntax, base + name_at, "unclosed quote");
            // Anything up to the next ';' after the closing quote is junk.
            std::size_t k = skip_cfws(text, i);
            if (k < n && text[k] != ';') {
                add_defect(defects, DefectCode::ParamSyntax, base + k, std::string(name));
                std::size_t semi = text.find(';', k);
                k = semi == std::string_view::npos ? n : semi;
            }
            i = k;
        } else {
            // A token; real mail also has unquoted values with spaces or
            // tspecials, which are taken up to the next ';'.
            std::size_t ve = token_end(text, i);
            std::size_t semi = text.find(';', i);
            if (semi == std::string_view::npos) semi = n;
            std::size_t e = semi;
            while (e > i && is_space(text[e - 1])) --e;
            if (ve < e) {
                // Allow a trailing comment after a clean token.
                std::size_t k = skip_cfws(text, ve);
                if (k < semi) add_defect(defects, DefectCode::ParamSyntax, base + ve, std::string(name));
                else e = ve;
            }
            for (std::size_t k = i; k < e; ++k)
                if (text[k] != '\r' && text[k] != '\n') value.push_back(text[k]);
            i = semi;
        }

        if (raw.size() >= limits.max_params) continue;
        RawParam p;
        p.offset = base + name_at;
        p.value = std::move(value);
        std::string lname = to_lower_ascii(name);
        // RFC 2231: name*  name*N  name*N*
        if (!lname.empty() && lname.back() == '*') {
            p.extended = true;
            lname.pop_back();
            // RFC 2231 7: an extended value is never a quoted string. Read
            // without its quotes, as Python's email package and GMime do.
            if (quoted) add_defect(defects, DefectCode::ParamExtendedQuoted, p.offset, std::string(name));
        }
        if (auto star = lname.rfind('*'); star != std::string::npos && star + 1 < lname.size() &&
                                          std::all_of(lname.begin() + static_cast<long>(star) + 1, lname.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; }) &&
                                          lname.size() - star - 1 <= 4) {
            p.section = std::stoi(lname.substr(star + 1));
            // RFC 2231 3: section numbers have no leading zeros ("name*01")
            if (lname.size() - star - 1 > 1 && lname[star + 1] == '0')
                add_defect(defects, DefectCode::ParamSyntax, p.offset, lname);
            lname.resize(star);
        }
        p.name = std::move(lname);
        raw.push_back(std::move(p));
    }

    // Join continuations; keep first-seen order of names.
    Parameters out;
    std::vector<bool> out_rfc2231;  // out[i] came from RFC 2231 syntax (name* or name*N)
    // A name seen twice is a duplicate, and the first wins, except that an
    // RFC 2231 form beats a plain one: senders give both (filename= for old
    // readers, filename*= for the rest), and RFC 2231 readers use the latter.
    auto emit = [&](Parameter&& p, bool rfc2231, std::size_t at) {
        p.offset = at;
        for (std::size_t k = 0; k < out.size(); ++k) {
            if (out[k].name != p.name) continue;
            if (out_rfc2231[k] == rfc2231) {
                add_defect(defects, DefectCode::ParamDuplicate, at, p.name);
            } else if (rfc2231) {
                std::string plain = std::move(out[k].value);
                out[k] = std::move(p);
                out[k].plain = std::move(plain);
                out_rfc2231[k] = true;
            } else if (out[k].plain.empty()) {
                out[k].plain = std::move(p.value);
            } else {
                add_defect(defects, DefectCode::ParamDuplicate, at, p.name);   // a second plain one
            }
            return;
        }
        out.push_back(std::move(p));
        out_rfc2231.push_back(rfc2231);
    };
    // An RFC 2231 value's bytes (escapes decoded) as UTF-8 text. Bytes in
    // a charset libmsg does not know, or that do not decode in theirs, are
    // reported and kept as they came (Parameter::unconverted), so that a
    // writer gives them back rather than what `value` shows in their place.
    // A plain value is raw header text (as UTF-8 when it is UTF-8); a
    // boundary keeps its bytes, whatever they are.
    auto convert = [&](Parameter& param, std::string&& bytes, bool extended, std::size_t at) {
        std::size_t bad = 0;
        if (!extended && param.name == "boundary") {
            param.value = std::move(bytes);   // compared with delimiter lines byte for byte
        } else if (!extended || param.charset.empty() || !to_utf8(bytes, param.charset, param.value, &bad)) {
            append_raw_header_text(bytes, is_valid_utf8(bytes), param.value);
            if (extended && !param.charset.empty()) {
                add_defect(defects, DefectCode::CharsetUnknown, at, param.charset);
                param.unconverted = std::move(bytes);
            }
        } else if (bad) {
            add_defect(defects, DefectCode::CharsetBadBytes, at, bad_sequences(param.charset, bad) + " in " + param.name);
            param.unconverted = std::move(bytes);
        } else if (charset_is_ascii(param.charset) && first_non_ascii(bytes) != std::string::npos) {
            add_defect(defects, DefectCode::CharsetBadBytes, at, param.charset + ": 8-bit bytes in " + param.name);
            param.unconverted = std::move(bytes);
        }
    };
    std::vector<bool> used(raw.size(), false);
    for (std::size_t a = 0; a < raw.size(); ++a) {
        if (used[a]) continue;
        const std::string& name = raw[a].name;
        Parameter param;
        param.name = name;
        if (raw[a].section < 0) {
            used[a] = true;
            const RawParam& r = raw[a];
            if (r.extended) {
                // name*=charset'lang'value
                std::string_view v = r.value;
                std::size_t q1 = v.find('\''), q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
                bool bad = false;
                std::string bytes;
                if (q2 == std::string_view::npos) {
                    add_defect(defects, DefectCode::ParamSyntax, r.offset, name);
                    bytes = percent_decode(v, bad);
                } else {
                    param.charset = to_lower_ascii(v.substr(0, q1));
                    param.language = std::string(v.substr(q1 + 1, q2 - q1 - 1));
                    bytes = percent_decode(v.substr(q2 + 1), bad);
                }
                if (bad) add_defect(defects, DefectCode::ParamSyntax, r.offset, name);
                convert(param, std::move(bytes), true, r.offset);
            } else {
                // Encoded words inside a file's name are not standard but
                // common (RFC 2047 5 forbids them in any parameter); in
                // another parameter (a boundary, which may hold "=?") they
                // are the value's own characters.
                if ((name == "name" || name == "filename") && r.value.find("=?") != std::string::npos)
                    param.value = decode_header_text(r.value);
                else
                    convert(param, std::string(r.value), false, r.offset);
            }
            emit(std::move(param), r.extended, r.offset);
            continue;
        }
        // Continuations: collect every section of this name.
        std::map<int, const RawParam*> sections;
        for (std::size_t b = a; b < raw.size(); ++b) {
            if (raw[b].name != name || raw[b].section < 0) continue;
            used[b] = true;
            if (!sections.emplace(raw[b].section, &raw[b]).second)
                add_defect(defects, DefectCode::ParamDuplicate, raw[b].offset, name);
        }
        int expect = 0;
        std::string bytes;
        bool any_extended = false;
        for (const auto& [sec, r] : sections) {
            if (sec != expect) add_defect(defects, DefectCode::ParamContinuationGap, r->offset, name);
            expect = sec + 1;
            std::string_view v = r->value;
            if (r->extended) {
                any_extended = true;
                if (sec == sections.begin()->first && sec == 0) {
                    std::size_t q1 = v.find('\''), q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
                    if (q2 != std::string_view::npos) {
                        param.charset = to_lower_ascii(v.substr(0, q1));
                        param.language = std::string(v.substr(q1 + 1, q2 - q1 - 1));
                        v = v.substr(q2 + 1);
                    } else {
                        // RFC 2231 4: the first section begins charset'lang',
                        // as a value in one piece does (said the same way).
                        add_defect(defects, DefectCode::ParamSyntax, r->offset, name);
                    }
                }
                bool bad = false;
                bytes += percent_decode(v, bad);
                if (bad) add_defect(defects, DefectCode::ParamSyntax, r->offset, name);
            } else {
                bytes += v;
            }
        }
        convert(param, std::move(bytes), any_extended, raw[a].offset);
        emit(std::move(param), true, raw[a].offset);
    }
    return out;
}

const Parameter* find_parameter(const Parameters& params, std::string_view name) noexcept {
    for (const Parameter& p : params)
        if (iequals(p.name, name)) return &p;
    return nullptr;
}

bool known_report_type(std::string_view type) noexcept {
    if (type.size() > 7 && iequals(type.substr(0, 7), "global-")) type.remove_prefix(7);
    return iequals(type, "delivery-status") || iequals(type, "disposition-notification") ||
           iequals(type, "feedback-report");
}

bool ContentType::is_field_block() const noexcept {
    if (type == "message") return subtype == "global-headers" || known_report_type(subtype);
    return is("text", "rfc822-headers");
}

ContentType parse_content_type(std::string_view value, Defects* defects, std::size_t base,
                               const Limits& limits) {
    ContentType ct;
    std::size_t i = skip_cfws(value, 0);
    const std::size_t t0 = i;
    std::size_t te = token_end(value, i);
    std::size_t j = skip_cfws(value, te);
    bool ok = te > t0 && j < value.size() && value[j] == '/';
    std::size_t s0 = 0, se = 0;
    if (ok) {
        s0 = skip_cfws(value, j + 1);
        se = token_end(value, s0);
        ok = se > s0;
    }
    if (!ok) {
        ct.valid = false;
        add_defect(defects, DefectCode::ContentTypeSyntax, base + t0, unfold(value));
        // Parameters may still be usable (charset), but the type is not.
        std::size_t semi = value.find(';');
        if (semi != std::string_view::npos)
            ct.params = parse_parameters(value.substr(semi), defects, base + semi, limits);
        return ct;
    }
    ct.type = to_lower_ascii(value.substr(t0, te - t0));
    ct.subtype = to_lower_ascii(value.substr(s0, se - s0));
    ct.params = parse_parameters(value.substr(se), defects, base + se, limits);
    return ct;
}

ContentDisposition parse_content_disposition(std::string_view value, Defects* defects,
                                             std::size_t base, const Limits& limits) {
    ContentDisposition cd;
    std::size_t i = skip_cfws(value, 0);
    std::size_t e = token_end(value, i);
    cd.type = to_lower_ascii(value.substr(i, e - i));
    if (cd.type.empty()) {
        // Said once: the parameters are read from the first ';', as for a
        // Content-Type with no type, not from the text that is no type.
        add_defect(defects, DefectCode::ParamSyntax, base + i, "no disposition type");
        e = value.find(';', i);
        if (e == std::string_view::npos) return cd;
    }
    cd.params = parse_parameters(value.substr(e), defects, base + e, limits);
    return cd;
}

std::string_view transfer_encoding_token(std::string_view value) noexcept {
    std::size_t i = skip_cfws(value, 0);
    std::size_t e = i;
    while (e < value.size() && !is_space(value[e]) && value[e] != '(' && value[e] != ';') ++e;
    return value.substr(i, e - i);
}

std::string_view transfer_encoding_rest(std::string_view value) noexcept {
    const std::string_view t = transfer_encoding_token(value);
    return value.substr(skip_cfws(value, static_cast<std::size_t>(t.data() - value.data()) + t.size()));
}

TransferEncoding parse_transfer_encoding(std::string_view value) noexcept {
    const std::string_view t = transfer_encoding_token(value);
    if (t.empty() || iequals(t, "7bit")) return TransferEncoding::seven_bit;
    if (iequals(t, "8bit")) return TransferEncoding::eight_bit;
    if (iequals(t, "binary")) return TransferEncoding::binary;
    if (iequals(t, "quoted-printable")) return TransferEncoding::quoted_printable;
    if (iequals(t, "base64")) return TransferEncoding::base64;
    for (std::string_view uu : {"x-uuencode", "x-uue", "uuencode", "uue"})
        if (iequals(t, uu)) return TransferEncoding::uuencode;
    return TransferEncoding::unknown;
}

std::string_view transfer_encoding_name(TransferEncoding e) noexcept {
    switch (e) {
    case TransferEncoding::seven_bit: return "7bit";
    case TransferEncoding::eight_bit: return "8bit";
    case TransferEncoding::binary: return "binary";
    case TransferEncoding::quoted_printable: return "quoted-printable";
    case TransferEncoding::base64: return "base64";
    case TransferEncoding::uuencode: return "x-uuencode";
    case TransferEncoding::unknown: break;
    }
    return "unknown";
}

}  // namespace msg
