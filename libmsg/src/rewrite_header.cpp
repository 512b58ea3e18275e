// rewrite_header.cpp - header fields made 7-bit, and folded.
#include <string>
#include <string_view>
#include <vector>

#include "detail/rewrite.hpp"
#include "msg/charset.hpp"
#include "msg/header.hpp"

namespace msg::detail {
namespace {

bool is_wsp_or_break(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool has_8bit(std::string_view s) { return first_non_ascii(s) != std::string_view::npos; }

// The words of an encoded-word-looking token: "=?...?=".
bool looks_encoded(std::string_view t) {
    return t.size() >= 8 && t.substr(0, 2) == "=?" && t.substr(t.size() - 2) == "?=";
}

// Unstructured text: each run of words that has 8-bit bytes (with the
// encoded words next to it, whose white space a reader would drop once the
// run is encoded) becomes encoded words.
std::string encode_unstructured(std::string_view value, std::string_view eol) {
    struct Tok { std::size_t b, e; bool eight, encoded; };
    std::vector<Tok> toks;
    for (std::size_t i = 0; i < value.size();) {
        if (is_wsp_or_break(value[i])) { ++i; continue; }
        std::size_t j = i;
        while (j < value.size() && !is_wsp_or_break(value[j])) ++j;
        const std::string_view t = value.substr(i, j - i);
        toks.push_back({i, j, has_8bit(t), looks_encoded(t)});
        i = j;
    }
    std::string out;
    std::size_t pos = 0;
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
            const std::string text = decode_header_text(span);
            std::string words = encode_words(text, false, " ");
            if (words.size() > 70) words = encode_words(text, false, std::string(eol) + " ");
            out.append(value.substr(pos, toks[k].b - pos));
            out += words;
            pos = toks[last].e;
        }
        k = last + 1;
    }
    out.append(value.substr(pos));
    return out;
}

// An address list: 8-bit text in display names and comments becomes
// encoded words; 8-bit in an address itself cannot (RFC 6532 needs
// SMTPUTF8 for that) and is reported.
bool encode_addresses(std::string_view value, std::string_view eol, std::string& out, std::string& why) {
    std::size_t pos = 0;  // copied up to here
    std::size_t i = 0;
    // The current run of phrase words: [run_b, run_e), with its words
    // unquoted for decoding.
    std::size_t run_b = std::string_view::npos, run_e = 0;
    std::string run_text;
    bool run_8bit = false;
    auto end_run = [&](char next) -> bool {
        if (run_b == std::string_view::npos) return true;
        const bool phrase = next == '<' || next == ':';
        if (run_8bit) {
            if (!phrase) {
                why = "8-bit text in an address";
                return false;
            }
            out.append(value.substr(pos, run_b - pos));
            std::string words = encode_words(decode_header_text(run_text), true, " ");
            if (words.size() > 70) words = encode_words(decode_header_text(run_text), true, std::string(eol) + " ");
            out += words;
            pos = run_e;
        }
        run_b = std::string_view::npos;
        run_text.clear();
        run_8bit = false;
        return true;
    };
    auto add_word = [&](std::size_t b, std::size_t e, std::string_view text) {
        if (run_b == std::string_view::npos) run_b = b;
        else run_text += ' ';
        run_e = e;
        run_text += text;
        if (has_8bit(value.substr(b, e - b))) run_8bit = true;
    };
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
            add_word(i, j, text);
            i = j;
            continue;
        }
        if (c == '(') {
            if (!end_run('(')) return false;
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
            if (has_8bit(value.substr(i, j - i))) {
                out.append(value.substr(pos, i - pos));
                out += '(' + encode_words(decode_header_text(text), true, " ") + ')';
                pos = j;
            }
            i = j;
            continue;
        }
        if (c == '<') {
            if (!end_run('<')) return false;
            const std::size_t j = value.find('>', i);
            const std::size_t e = j == std::string_view::npos ? value.size() : j + 1;
            if (has_8bit(value.substr(i, e - i))) {
                why = "8-bit text in an address";
                return false;
            }
            i = e;
            continue;
        }
        if (c == ',' || c == ';' || c == ':' || c == '@' || c == '>' || c == '[' || c == ']' ||
            c == '\\') {
            if (c == '@' && run_8bit) {
                why = "8-bit text in an address";
                return false;
            }
            if (c == '@') {
                // The local part before it is an address, not a phrase.
                run_b = std::string_view::npos;
                run_text.clear();
                run_8bit = false;
                // The domain after it: up to the next separator.
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
            if (!end_run(c)) return false;
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < value.size() && !is_wsp_or_break(value[j]) &&
               std::string_view("\"(<>,;:@[]\\").find(value[j]) == std::string_view::npos)
            ++j;
        add_word(i, j, value.substr(i, j - i));
        i = j;
    }
    if (!end_run('\0')) return false;
    out.append(value.substr(pos));
    return true;
}

}  // namespace

bool encode_field_8bit(const Message& m, std::size_t entity, const HeaderField& f, std::string_view eol,
                       std::string& out, const StepLog& log) {
    const std::string_view name = f.name;
    const std::string place = field_place(m, entity, name);
    if (iequals(name, "Content-Type") || iequals(name, "Content-Disposition")) {
        if (iequals(name, "Content-Type")) {
            const ContentType ct = parse_content_type(f.value);
            if (!ct.valid || has_8bit(ct.mime_type())) {
                log.problem(place, "8-bit text outside a parameter value");
                return false;
            }
            out += format_mime_value(name, ct.mime_type(), ct.params, eol);
        } else {
            const ContentDisposition cd = parse_content_disposition(f.value);
            if (cd.type.empty() || has_8bit(cd.type)) {
                log.problem(place, "8-bit text outside a parameter value");
                return false;
            }
            out += format_mime_value(name, cd.type, cd.params, eol);
        }
        return true;
    }
    if (is_address_field(name)) {
        std::string why;
        std::string v;
        if (!encode_addresses(f.value, eol, v, why)) {
            log.problem(place, why + ": only SMTPUTF8 (RFC 6531, 6532) can carry it");
            return false;
        }
        out += v;
        return true;
    }
    if (is_structured_field(name) && !iequals(name, "Content-Description")) {
        log.problem(place, "8-bit text in a structured field cannot be encoded");
        return false;
    }
    out += encode_unstructured(f.value, eol);
    return true;
}

bool step_fold(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log) {
    const Message m = parse_message(in, o.limits);
    const std::string_view eol = eol_of(in);
    Splice splice;
    const auto all = m.entities();
    for (std::size_t ei = 0; ei < all.size(); ++ei) {
        for (const HeaderField& f : m.fields(all[ei])) {
            std::string folded;
            std::size_t over = 0;
            const bool changed = fold_field(f.raw, eol, folded, over);
            if (over > 0 && !is_structured_field(f.name) && !is_address_field(f.name)) {
                // No white space to fold at within 998 octets: unstructured
                // text can be cut into encoded words, which readers join.
                std::string field(f.name);
                field += ':';
                field += encode_words(decode_header_text(unfold(f.value)), false, std::string(eol) + " ");
                field += eol;
                if (f.raw.empty() || f.raw.back() != '\n') field.resize(field.size() - eol.size());
                splice.replace(f.offset, f.offset + f.raw.size(), std::move(field));
                log.change(field_place(m, ei, f.name), "encoded as RFC 2047 words to fold a line over 998 octets");
                continue;
            }
            if (over > 0)
                log.problem(field_place(m, ei, f.name), "a line stays over 998 octets: no white space to fold at");
            if (!changed) continue;
            splice.replace(f.offset, f.offset + f.raw.size(), std::move(folded));
            log.change(field_place(m, ei, f.name), "folded");
        }
    }
    if (splice.empty()) return false;
    out = splice.apply(in);
    return true;
}

}  // namespace msg::detail
