// rewrite_header.cpp - header fields made 7-bit, and folded.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "detail/rewrite.hpp"
#include "msg/charset.hpp"
#include "msg/header.hpp"

namespace msg::detail {
namespace {

bool is_wsp_or_break(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Each word of `value` (a run between white space and line breaks) as its
// [b, e) to `fn`, in order, while fn returns true.
template <class Fn>
void each_word(std::string_view value, Fn fn) {
    for (std::size_t i = 0; i < value.size();) {
        if (is_wsp_or_break(value[i])) { ++i; continue; }
        std::size_t j = i;
        while (j < value.size() && !is_wsp_or_break(value[j])) ++j;
        if (!fn(i, j)) return;
        i = j;
    }
}

// A token that holds an encoded word a reader decodes: whole, or inside
// it ("x=?utf-8?q?a?=b", which libmsg decodes too); the white space
// between it and an encoded word next to it is dropped by readers.
bool holds_encoded(std::string_view t) {
    return is_whole_encoded_word(t) || (t.find("=?") != std::string_view::npos && decode_header_text(t) != t);
}

// The column at which byte `at` of a (folded) field value stands, the
// value starting at `column` of its line; asked with `at` growing, the
// value is scanned once (a field of one long line is not scanned back to
// its start for each word).
class Columns {
public:
    Columns(std::string_view value, std::size_t column) : value_(value), column_(column) {}
    std::size_t at(std::size_t at) {
        if (at < scanned_) {   // asked out of order: looked up
            const std::size_t nl = at == 0 ? std::string_view::npos : value_.rfind('\n', at - 1);
            return nl == std::string_view::npos ? column_ + at : at - nl - 1;
        }
        for (; scanned_ < at; ++scanned_)
            if (value_[scanned_] == '\n') last_nl_ = scanned_;
        return last_nl_ == std::string_view::npos ? column_ + at : at - last_nl_ - 1;
    }

private:
    std::string_view value_;
    std::size_t column_;
    std::size_t scanned_ = 0;
    std::size_t last_nl_ = std::string_view::npos;   // the last line break before scanned_
};

// Unstructured text: each run of words that has 8-bit bytes (with the
// encoded words next to it, whose white space a reader would drop once the
// run is encoded) becomes encoded words.
std::string encode_unstructured(std::string_view value, std::size_t column, bool phrase = false) {
    struct Tok { std::size_t b, e; bool eight, encoded; };
    std::vector<Tok> toks;
    each_word(value, [&](std::size_t b, std::size_t e) {
        const std::string_view t = value.substr(b, e - b);
        toks.push_back({b, e, has_8bit(t), holds_encoded(t)});
        return true;
    });
    std::string out;
    std::size_t pos = 0;
    Columns columns(value, column);
    const bool utf8 = is_valid_utf8(value);
    for (std::size_t k = 0; k < toks.size();) {
        if (!toks[k].eight && !toks[k].encoded) { ++k; continue; }
        std::size_t last = k;
        bool eight = toks[k].eight;
        while (last + 1 < toks.size() && (toks[last + 1].eight || toks[last + 1].encoded)) {
            ++last;
            eight = eight || toks[last].eight;
        }
        if (eight) {
            const std::string_view span = value.substr(toks[k].b, toks[last].e - toks[k].b);
            out.append(value.substr(pos, toks[k].b - pos));
            out += encode_words_from(decode_header_piece(span, utf8), phrase, " ", columns.at(toks[k].b));
            pos = toks[last].e;
        }
        k = last + 1;
    }
    out.append(value.substr(pos));
    return out;
}

// A list of phrases (Keywords, RFC 5322 3.6.5): the 8-bit words of each
// become encoded words of a phrase (RFC 2047 5(3)), the commas between
// them kept outside. An element with a quoted string or a comment is left
// to a problem.
bool encode_phrase_list(std::string_view value, std::size_t column, std::string& out, std::string& why) {
    Columns columns(value, column);
    std::size_t b = 0;
    for (;;) {
        const std::size_t e = std::min(value.find(',', b), value.size());
        const std::string_view item = value.substr(b, e - b);
        if (has_8bit(item)) {
            if (item.find_first_of("\"()\\") != std::string_view::npos) {
                why = "8-bit text in a quoted string or comment of a list of phrases";
                return false;
            }
            // An encoded word stands apart from the commas beside it (RFC
            // 2047 5(3): a comma is a special).
            const bool gap = b > 0 && !item.empty() && !is_wsp_or_break(item.front());
            if (gap) out += ' ';
            out += encode_unstructured(item, columns.at(b) + gap, true);
            if (e < value.size() && !out.empty() && !is_wsp_or_break(out.back())) out += ' ';
        } else {
            out += item;
        }
        if (e == value.size()) return true;
        out += ',';
        b = e + 1;
    }
}

// An address list: 8-bit text in display names and comments becomes
// encoded words; 8-bit in an address itself cannot (RFC 6532 needs
// SMTPUTF8 for that) and is reported. `column` is where the value starts
// on its line.
bool encode_addresses(std::string_view value, std::size_t column, std::string& out, std::string& why) {
    // `phrase`: encoded words of a display name, which stand apart from a
    // special or a word beside them (RFC 2047 5(3)); a comment's may touch
    // its parentheses (5(2)).
    struct Repl { std::size_t b, e; std::string text; bool phrase = false; };
    std::vector<Repl> repl;
    Columns columns(value, column);
    const bool utf8 = is_valid_utf8(value);
    auto encode = [&](std::size_t at, const std::string& text) {
        return encode_words_from(decode_header_piece(text, utf8), true, " ", columns.at(at));
    };
    // The words since the last separator, not yet known to be a display
    // name (they are when '<' or ':' follows) or an address; comments split
    // them in groups, each encoded as one run. A quoted string's text is
    // taken as it stands: "=?...?=" inside quotes is no encoded word (RFC
    // 2047 5), and a reader shows it as written.
    struct Seg { std::size_t b, e; std::string text; bool eight, quoted = false; };
    std::vector<std::vector<Seg>> pending(1);
    auto settle = [&](char next) -> bool {
        const bool phrase = next == '<' || next == ':';
        for (const auto& group : pending) {
            bool eight = false;
            for (const Seg& g : group) eight = eight || g.eight;
            if (!eight) continue;
            if (!phrase) {
                why = "8-bit text in an address";
                return false;
            }
            std::string text;
            for (const Seg& g : group) {
                if (!text.empty()) text += ' ';
                if (!g.quoted) text += decode_header_piece(g.text, utf8);
                else append_raw_header_text(g.text, utf8, text);
            }
            const std::size_t b = group.front().b;
            const bool gap = b > 0 && !is_wsp_or_break(value[b - 1]);   // a space goes before it
            repl.push_back({b, group.back().e, encode_words_from(text, true, " ", columns.at(b) + gap), true});
        }
        pending.assign(1, {});
        return true;
    };
    std::size_t i = 0;
    while (i < value.size()) {
        const char c = value[i];
        if (is_wsp_or_break(c)) { ++i; continue; }
        if (c == '"') {
            std::string text;
            std::size_t j = i + 1;
            for (; j < value.size() && value[j] != '"'; ++j) {
                if (value[j] == '\\' && j + 1 < value.size()) ++j;
                if (value[j] == '\r' || value[j] == '\n') continue;
                text += value[j];
            }
            j = std::min(j + 1, value.size());
            pending.back().push_back({i, j, text, has_8bit(value.substr(i, j - i)), true});
            i = j;
            continue;
        }
        if (c == '(') {
            int depth = 0;
            std::size_t j = i;
            std::string text;
            for (; j < value.size(); ++j) {
                if (value[j] == '\\' && j + 1 < value.size()) { text += value[++j]; continue; }
                if (value[j] == '(') { if (depth++ > 0) text += '('; continue; }
                if (value[j] == ')') { if (--depth == 0) break; text += ')'; continue; }
                if (value[j] != '\r' && value[j] != '\n') text += value[j];
            }
            j = std::min(j + 1, value.size());
            if (!pending.back().empty()) pending.emplace_back();
            if (has_8bit(value.substr(i, j - i))) {
                repl.push_back({i, j, "(" + encode(i + 1, text) + ")"});
            }
            i = j;
            continue;
        }
        if (c == '<') {
            if (!settle('<')) return false;
            const std::size_t j = value.find('>', i);
            const std::size_t e = j == std::string_view::npos ? value.size() : j + 1;
            if (has_8bit(value.substr(i, e - i))) {
                why = "8-bit text in an address";
                return false;
            }
            i = e;
            continue;
        }
        if (c == '@') {
            // The words before it are a local part; the domain follows.
            if (!settle('@')) return false;
            std::size_t j = i + 1;
            while (j < value.size() && value[j] != ',' && value[j] != ';' && value[j] != '(' &&
                   value[j] != '>' && !is_wsp_or_break(value[j]))
                ++j;
            if (has_8bit(value.substr(i, j - i))) {
                why = "8-bit text in an address";
                return false;
            }
            i = j;
            continue;
        }
        if (c == ',' || c == ';' || c == ':' || c == '>' || c == '[' || c == ']' || c == '\\') {
            if (!settle(c)) return false;
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < value.size() && !is_wsp_or_break(value[j]) &&
               std::string_view("\"(<>,;:@[]\\").find(value[j]) == std::string_view::npos)
            ++j;
        pending.back().push_back({i, j, std::string(value.substr(i, j - i)), has_8bit(value.substr(i, j - i))});
        i = j;
    }
    if (!settle('\0')) return false;
    // Replacements in order of position (they never overlap).
    std::sort(repl.begin(), repl.end(), [](const Repl& x, const Repl& y) { return x.b < y.b; });
    std::size_t pos = 0;
    for (const Repl& r : repl) {
        if (r.b < pos) continue;
        out.append(value.substr(pos, r.b - pos));
        if (r.phrase && r.b > 0 && !is_wsp_or_break(value[r.b - 1])) out += ' ';
        out += r.text;
        pos = r.e;
        if (r.phrase && pos < value.size() && !is_wsp_or_break(value[pos])) out += ' ';
    }
    out.append(value.substr(pos));
    return true;
}

}  // namespace

std::string repeated_parameter(const Defects& defects) {
    for (const Defect& d : defects)
        if (d.code == DefectCode::ParamDuplicate)
            return "the parameter " + d.detail + " is repeated: --fix keeps the first, the one readers use";
    return {};
}

bool encode_field_8bit(const Message& m, std::size_t entity, const HeaderField& f, std::string_view eol,
                       std::string& out, const StepLog& log) {
    const std::string_view name = f.name;
    const std::string place = field_place(m, entity, name);
    // Problems are placed at the field's first 8-bit byte.
    const std::size_t first8 = first_non_ascii(f.raw);
    const std::size_t at = f.offset + (first8 == std::string_view::npos ? 0 : first8);
    std::string v;
    if (is_mime_parameter_field(name)) {
        Defects defects;
        const MimeFieldValue mf = parse_mime_field(name, f.value, &defects);
        if (const std::string why = repeated_parameter(defects); !why.empty()) {
            log.problem(m, at, place, why);
            return false;
        }
        bool names_ok = !mf.main.empty() && !has_8bit(mf.main);
        for (const Parameter& p : mf.params) names_ok = names_ok && !has_8bit(p.name);
        if (!names_ok) {
            log.problem(m, at, place, "8-bit text outside a parameter value");
            return false;
        }
        // A boundary's bytes are its delimiter lines' too: encoded, it
        // would no longer match them.
        if (const Parameter* b = find_parameter(mf.params, "boundary"); b && has_8bit(b->value)) {
            log.problem(m, at, place, "8-bit bytes in the boundary, which the delimiter lines repeat: --fix gives the multipart a new one");
            return false;
        }
        v = format_mime_value(name, mf.main, mf.params, eol);
    } else if (is_address_field(name) || iequals(name, "List-Id")) {
        // (List-Id's description is a phrase before its <id>, RFC 2919 3.)
        std::string why;
        if (!encode_addresses(f.value, f.name.size() + 1, v, why)) {
            log.problem(m, at, place, why + ": only SMTPUTF8 (RFC 6531, 6532) can carry it");
            return false;
        }
    } else if (iequals(name, "Keywords")) {
        std::string why;
        if (!encode_phrase_list(f.value, f.name.size() + 1, v, why)) {
            log.problem(m, at, place, why);
            return false;
        }
    } else if (is_structured_field(name) && !iequals(name, "Content-Description")) {
        log.problem(m, at, place, "8-bit text in a structured field cannot be encoded");
        return false;
    } else {
        v = encode_unstructured(f.value, f.name.size() + 1);
    }
    if (has_8bit(v)) {  // what the parser kept of a malformed field, say
        log.problem(m, at, place, "8-bit text that is not in a phrase, a comment or a parameter value");
        return false;
    }
    // Lines that now hold encoded words are folded to 76 (RFC 2047 2).
    const std::string field = std::string(name) + ":" + v;
    std::string folded;
    std::size_t over = 0;
    if (fold_field(field, eol, folded, over)) v = folded.substr(name.size() + 1);
    out += v;
    return true;
}

bool fold_header_field(const Message& m, std::size_t entity, const HeaderField& f, std::string_view eol,
                       Splice& splice, const StepLog& log) {
    std::string folded;
    std::size_t over = 0;
    const bool changed = fold_field(f.raw, eol, folded, over);
    // Only fields known to hold free text: an unknown one may have a
    // grammar of its own (Autocrypt, X-Google-DKIM-Signature).
    const bool free_text = iequals(f.name, "Subject") || iequals(f.name, "Comments") ||
                           iequals(f.name, "Content-Description") || iequals(f.name, "Thread-Topic");
    const std::string place = field_place(m, entity, f.name);
    // Problems are placed at the long line.
    const std::size_t long_line = long_line_at(f.raw);
    const std::size_t at = f.offset + (long_line == std::string_view::npos ? 0 : long_line);
    // An encoded word libmsg leaves as it is (one over 4,096 characters, or
    // in a charset it does not know) would be encoded again as its literal
    // text: the field is only folded where it has white space.
    bool undecoded_word = false;
    if (over > 0 && free_text)
        each_word(f.value, [&](std::size_t b, std::size_t e) {
            const std::string_view t = f.value.substr(b, e - b);
            undecoded_word = is_whole_encoded_word(t) && decode_header_text(t) == t;
            return !undecoded_word;
        });
    if (undecoded_word) {
        log.problem(m, at, place, "a line stays over 998 octets: the field holds an encoded word libmsg does not decode "
                           "(too long, or in a charset it does not know), which encoding the text again would "
                           "turn into its literal text");
        // Folded where the text has white space; not only after the colon
        // (the long word on a line of its own gains nothing, and a reader
        // may then show a leading space).
        const std::string bare = std::string(f.name) + ":" + std::string(eol);
        if (!changed || folded.compare(0, bare.size(), bare) == 0) return false;
        splice.replace(f.offset, f.offset + f.raw.size(), std::move(folded));
        log.change(place, "folded");
        return true;
    }
    if (over > 0 && free_text) {
        // No white space to fold at within 998 octets: unstructured text
        // can be cut into encoded words, which readers join.
        std::string field(f.name);
        field += ':';
        field += ' ';
        field += encode_words_from(decode_header_text(unfold(f.value)), false, std::string(eol) + " ",
                                   f.name.size() + 2);
        field += eol;
        if (f.raw.empty() || f.raw.back() != '\n') field.resize(field.size() - eol.size());
        splice.replace(f.offset, f.offset + f.raw.size(), std::move(field));
        log.change(place, "encoded as RFC 2047 words to fold a line over 998 octets");
        return true;
    }
    if (over > 0 && is_mime_parameter_field(f.name)) {
        // A parameter value too long for a line: written again, in RFC
        // 2231 sections (format_mime_value), when the field parses.
        Defects defects;
        const MimeFieldValue mf = parse_mime_field(f.name, f.value, &defects);
        if (!mf.main.empty() && repeated_parameter(defects).empty()) {
            std::string field = std::string(f.name) + ":" + format_mime_value(f.name, mf.main, mf.params, eol);
            if (!f.raw.empty() && f.raw.back() == '\n') field += eol;
            if (long_line_at(field) == std::string_view::npos) {
                splice.replace(f.offset, f.offset + f.raw.size(), std::move(field));
                log.change(place, "parameters written again, long values in RFC 2231 sections, to fold a line "
                                  "over 998 octets");
                return true;
            }
        }
    }
    if (over > 0) log.problem(m, at, place, "a line stays over 998 octets: no white space to fold at");
    if (!changed) return false;
    splice.replace(f.offset, f.offset + f.raw.size(), std::move(folded));
    log.change(place, "folded");
    return true;
}

bool step_fold(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log) {
    const Message m = parse_message(in, o.limits);
    const std::string_view eol = eol_of(in);
    Splice splice;
    const auto all = m.entities();
    for (std::size_t ei = 0; ei < all.size(); ++ei)
        for (const HeaderField& f : m.fields(all[ei])) fold_header_field(m, ei, f, eol, splice, log);
    if (splice.empty()) return false;
    out = splice.apply(in);
    return true;
}

}  // namespace msg::detail
