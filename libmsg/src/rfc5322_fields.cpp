// rfc5322_fields.cpp - RFC 5322 structured fields: address lists (address.hpp)
// and message ids (validate.hpp).
//
// A small lexer turns a field value into tokens (atoms, quoted strings,
// domain literals, specials), skipping comments and folding white space but
// remembering where they were, because several obsolete forms (RFC 5322 4)
// differ from the current ones only by where CFWS may appear.
#include "msg/address.hpp"
#include "msg/validate.hpp"

#include <array>
#include <cstring>

namespace msg {
namespace {

enum class Tok : std::uint8_t { atom, qstring, dliteral, special, end, bad };

struct Token {
    Tok kind = Tok::end;
    char special = 0;           // for Tok::special
    std::string_view text;      // atom text, quoted-string or literal with delimiters
    std::size_t offset = 0;     // in the field value
    bool space_before = false;  // CFWS came before this token
    std::size_t space_at = 0;   // where it began (when space_before)
};

// Why an angle-bracketed address or id that should end at `next` does not:
// the field ends first, or something else follows what was read
// ("<a@b@c>").
std::string unclosed_angle(const Token& next) {
    if (next.kind == Tok::end) return "'<' not closed by '>'";
    if (next.kind == Tok::special) return std::string("'") + next.special + "' where '>' should close the '<'";
    return "text where '>' should close the '<'";
}

// Byte classes as tables: looked up for every byte of every structured field.
constexpr std::array<bool, 256> byte_set(std::string_view members, bool eight_bit = false) {
    std::array<bool, 256> t{};
    for (const char c : members) t[static_cast<unsigned char>(c)] = true;
    for (int c = 0x80; c < 0x100 && eight_bit; ++c) t[static_cast<std::size_t>(c)] = true;
    return t;
}

// RFC 5322 3.2.3 atext, plus 8-bit bytes (RFC 6532 UTF8-non-ascii; without
// --utf8 the parser has already reported them as header.8bit).
constexpr auto kAtext = byte_set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 "!#$%&'*+-/=?^_`{|}~", true);
inline bool is_atext(unsigned char c) { return kAtext[c]; }
// The specials a token can be (3.2.3, less '"' and '[' which open tokens).
constexpr auto kSpecial = byte_set("()<>@,;:\\.]");

class Lexer {
public:
    explicit Lexer(std::string_view s) : s_(s) {}

    Token next() {
        Token t;
        t.space_at = i_;
        t.space_before = skip_cfws();
        t.offset = i_;
        if (i_ >= s_.size()) { t.kind = Tok::end; return t; }
        const unsigned char c = static_cast<unsigned char>(s_[i_]);
        if (is_atext(c)) {
            std::size_t b = i_;
            while (i_ < s_.size() && is_atext(static_cast<unsigned char>(s_[i_]))) ++i_;
            t.kind = Tok::atom;
            t.text = s_.substr(b, i_ - b);
            return t;
        }
        if (c == '"') return delimited(t, '"', Tok::qstring);
        if (c == '[') return delimited(t, ']', Tok::dliteral);
        ++i_;
        t.text = s_.substr(t.offset, 1);
        if (kSpecial[c]) {
            t.kind = Tok::special;
            t.special = static_cast<char>(c);
        } else {
            t.kind = Tok::bad;  // a control character or unbalanced ')'
        }
        return t;
    }

    bool unclosed() const { return unclosed_; }
    std::size_t unclosed_at() const { return unclosed_at_; }

private:
    // Returns true when any white space or comment was skipped.
    bool skip_cfws() {
        bool any = false;
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { ++i_; any = true; continue; }
            if (c != '(') break;
            any = true;
            const std::size_t start = i_;
            int depth = 0;
            while (i_ < s_.size()) {
                const char d = s_[i_++];
                if (d == '\\') { if (i_ < s_.size()) ++i_; continue; }
                if (d == '(') ++depth;
                else if (d == ')' && --depth == 0) break;
            }
            if (depth > 0) note_unclosed(start);
        }
        return any;
    }

    Token& delimited(Token& t, char close, Tok kind) {
        const std::size_t b = i_++;
        bool closed = false;
        while (i_ < s_.size()) {
            const char d = s_[i_++];
            if (d == '\\') { if (i_ < s_.size()) ++i_; continue; }
            if (d == close) { closed = true; break; }
            if (kind == Tok::dliteral && d == '[') break;
        }
        if (!closed) note_unclosed(b);
        t.kind = closed ? kind : Tok::bad;
        t.text = s_.substr(b, i_ - b);
        return t;
    }

    void note_unclosed(std::size_t at) {
        if (!unclosed_) { unclosed_ = true; unclosed_at_ = at; }
    }

    std::string_view s_;
    std::size_t i_ = 0;
    bool unclosed_ = false;
    std::size_t unclosed_at_ = 0;
};

// A token stream with one token of look-ahead.
class Tokens {
public:
    explicit Tokens(std::string_view s) : lex_(s) { cur_ = lex_.next(); }
    const Token& peek() const { return cur_; }
    Token take() { Token t = cur_; cur_ = lex_.next(); return t; }
    bool is(char special) const { return cur_.kind == Tok::special && cur_.special == special; }
    bool at_end() const { return cur_.kind == Tok::end; }
    const Lexer& lexer() const { return lex_; }

private:
    Lexer lex_;
    Token cur_;
};

struct FieldChecker {
    std::string_view value;
    std::size_t base;
    std::string_view name;
    Defects& defects;
    AddressList* list = nullptr;  // where found addresses go (address lists only)
    bool recover = false;  // go on after a bad element (to collect the good ones)
    std::size_t skipped = 0;  // bad elements skipped when recovering

    void error(DefectCode c, std::size_t at, std::string detail) {
        if (defects.empty() || defects.back().code != c)
            defects.push_back({c, base + at, name.empty() ? std::move(detail) : std::string(name) + ": " + detail});
    }

    // A comment or quoted string never closed (the lexer ran to the end of
    // the value in it): an error of code `c` at its '(' or '"'.
    void unclosed(const Lexer& lex, DefectCode c) {
        if (lex.unclosed()) error(c, lex.unclosed_at(), "unclosed comment or quote");
    }
};

// --- addresses (RFC 5322 3.4) ------------------------------------------------

class AddressParser {
public:
    AddressParser(FieldChecker& fc) : fc_(fc), t_(fc.value) {}

    // mailbox-list / address-list / a single mailbox, per `kind`.
    void parse(AddressKind kind) {
        if (kind == AddressKind::path) {
            path();
            return;
        }
        const bool groups = kind == AddressKind::address_list;
        const bool single = kind == AddressKind::mailbox;
        if (t_.at_end()) {
            if (kind != AddressKind::address_list_or_empty)
                syntax(t_.peek().offset, "no address");
            return;
        }
        std::size_t count = 0;
        while (true) {
            if (t_.is(',')) {  // obs-mbox-list / obs-addr-list: empty element
                if (single) {   // a mailbox is no list (Sender)
                    syntax(t_.peek().offset, "only one mailbox is allowed here");
                    return;
                }
                obsolete(t_.peek().offset, "empty element in a list");
                t_.take();
                if (t_.at_end()) break;
                continue;
            }
            if (!address(groups || kind == AddressKind::address_list_or_empty)) {
                if (!skip_to_comma()) return;
                if (t_.is(';')) t_.take();  // the end of a group that failed
                if (t_.at_end()) break;
                if (!t_.is(',')) continue;
            }
            ++count;
            if (t_.at_end()) break;
            if (!t_.is(',')) {
                syntax(t_.peek().offset, "expected ',' between addresses");
                // collecting: whatever follows up to the next ',' or ';' is
                // one bad element ("a@x; b@y", "a@x b@y, c@z")
                if (!skip_to_comma()) return;
                if (t_.at_end()) break;
                t_.take();
                if (t_.at_end()) break;
                continue;
            }
            if (single) {
                syntax(t_.peek().offset, "only one mailbox is allowed here");
                return;
            }
            t_.take();
            if (t_.at_end()) {
                obsolete(t_.peek().offset, "list ends with ','");
                break;
            }
        }
        // obs-mbox-list and obs-addr-list hold empty elements around at
        // least one address (obs-bcc may hold none).
        if (count == 0 && kind != AddressKind::address_list_or_empty) syntax(t_.peek().offset, "no address");
        fc_.unclosed(t_.lexer(), DefectCode::AddressSyntax);
    }

private:
    // path = angle-addr / ([CFWS] "<" [CFWS] ">" [CFWS]) (RFC 5322 3.6.7):
    // the reverse path of RFC 5321 4.4 as the delivering server wrote it,
    // in angle brackets always, with no display name; "<>" is a bounce's.
    void path() {
        const Token& k = t_.peek();
        if (!t_.is('<')) {
            syntax(k.offset, k.kind == Tok::end ? "no path" : "a path is an address in angle brackets");
        } else if (angle_addr(true) && !t_.at_end()) {
            syntax(t_.peek().offset, "text after the path");
        }
        fc_.unclosed(t_.lexer(), DefectCode::AddressSyntax);
    }

    void syntax(std::size_t at, std::string why) { fc_.error(DefectCode::AddressSyntax, at, std::move(why)); }
    void obsolete(std::size_t at, std::string why) {
        fc_.error(DefectCode::AddressObsolete, at, std::move(why));
    }

    // Collect a phrase: words (atoms, quoted strings) and, obsolete, dots.
    // Returns the number of words; `dots` set when obs-phrase was used.
    std::size_t phrase(bool& dots, std::size_t& first_dot) {
        std::size_t words = 0;
        dots = false;
        while (true) {
            const Token& k = t_.peek();
            if (k.kind == Tok::atom || k.kind == Tok::qstring) { ++words; t_.take(); continue; }
            if (k.kind == Tok::special && k.special == '.' && words > 0) {
                if (!dots) first_dot = k.offset;
                dots = true;
                t_.take();
                continue;
            }
            return words;
        }
    }

    bool address(bool groups_allowed) {
        const std::size_t start = t_.peek().offset;
        // Could be: addr-spec (local-part "@" ...), name-addr, group.
        // Collect words and dots first, then decide by what follows. (The
        // parser's one vector: a group's addresses, parsed by the calls
        // below, come after its words are done with.)
        std::vector<Token>& words = words_;
        words.clear();
        while (true) {
            const Token& k = t_.peek();
            if (k.kind == Tok::atom || k.kind == Tok::qstring ||
                (k.kind == Tok::special && k.special == '.')) {
                words.push_back(t_.take());
                continue;
            }
            break;
        }
        const Token& k = t_.peek();
        if (k.kind == Tok::special && k.special == '@') {
            if (words.empty()) { syntax(k.offset, "no local part before '@'"); return false; }
            if (!local_part(words)) return false;
            t_.take();
            if (!domain(&dom_)) return false;
            found(words, dom_);
            return true;
        }
        if (k.kind == Tok::special && k.special == '<') {
            display_name(words);
            return angle_addr();
        }
        if (k.kind == Tok::special && k.special == ':') {
            if (!groups_allowed) { syntax(k.offset, "a group is not allowed in this field"); return false; }
            if (words.empty()) { syntax(k.offset, "group has no name"); return false; }
            display_name(words);
            t_.take();
            // group-list: mailbox-list / CFWS / obs-group-list
            bool want = true;   // a mailbox may come here: a ',' now is an empty element
            while (!t_.is(';')) {
                if (t_.at_end()) { syntax(t_.peek().offset, "group is not closed with ';'"); return false; }
                if (t_.is(',')) {   // a separator, or (obs-group-list, obs-mbox-list) an empty element
                    if (want) obsolete(t_.peek().offset, "empty element in a group");
                    want = true;
                    t_.take();
                    continue;
                }
                want = false;
                if (!address(false)) {
                    if (!skip_to_comma()) return false;
                    continue;
                }
                if (!t_.is(',') && !t_.is(';')) {
                    syntax(t_.peek().offset, "expected ',' or ';' in a group");
                    return false;
                }
            }
            t_.take();
            return true;
        }
        if (words.empty()) {
            syntax(k.offset, k.kind == Tok::end ? "no address" : "unexpected character");
            return false;
        }
        if (k.kind == Tok::end || (k.kind == Tok::special && (k.special == ',' || k.special == ';')))
            syntax(start, "no '@' in address");
        else
            syntax(k.offset, "unexpected character in address");
        return false;
    }

    // A display name is a phrase: words, and in obs-phrase (RFC 5322 4.1)
    // also dots, but only after a first word (obs-phrase = word *(word /
    // "." / CFWS)): ".John" is no phrase at all, while "John Q. Public" is
    // an obsolete one. The address after the name is still read.
    void display_name(const std::vector<Token>& words) {
        if (!words.empty() && words[0].kind == Tok::special) {
            syntax(words[0].offset, "display name begins with '.'");
            return;
        }
        for (std::size_t i = 0; i < words.size(); ++i)
            if (words[i].kind == Tok::special) {  // a '.' in a phrase: obs-phrase
                obsolete(words[i].offset, "unquoted '.' in a display name");
                return;
            }
    }

    // local-part = dot-atom / quoted-string / obs-local-part
    bool local_part(const std::vector<Token>& w) {
        // Alternate word "." word ...
        bool expect_word = true;
        for (std::size_t i = 0; i < w.size(); ++i) {
            const bool is_dot = w[i].kind == Tok::special;
            if (expect_word == is_dot) {
                syntax(w[i].offset, is_dot ? "misplaced '.' in the local part" : "words in the local part must be joined by '.'");
                return false;
            }
            expect_word = !expect_word;
        }
        if (expect_word) { syntax(w.back().offset, "local part ends with '.'"); return false; }
        if (w.size() > 1) {
            for (std::size_t i = 0; i < w.size(); ++i) {
                if (i > 0 && w[i].space_before) { obsolete(w[i].space_at, "white space inside the local part"); break; }
                if (w[i].kind == Tok::qstring) { obsolete(w[i].offset, "quoted word inside a dotted local part"); break; }
            }
        }
        return true;
    }

    // domain = dot-atom / domain-literal / obs-domain; `out` gets it without CFWS
    bool domain(std::string* out = nullptr) {
        const Token& k = t_.peek();
        if (out) out->clear();
        if (k.kind == Tok::dliteral) {
            if (out) *out = k.text;
            t_.take();
            return true;
        }
        if (k.kind != Tok::atom) { syntax(k.offset, "no domain after '@'"); return false; }
        bool first = true, spaced = false;
        // CFWS around a dot (obs-domain's atoms may hold it), said once.
        auto space = [&](const Token& dot_or_label) {
            if (dot_or_label.space_before && !spaced) obsolete(dot_or_label.space_at, "white space inside the domain");
            spaced = spaced || dot_or_label.space_before;
        };
        while (true) {
            Token a = t_.take();
            if (a.kind != Tok::atom) { syntax(a.offset, "domain has an empty label"); return false; }
            if (!first) space(a);
            if (out) {
                if (!first) out->push_back('.');
                out->append(a.text);
            }
            first = false;
            if (!t_.is('.')) break;
            space(t_.take());
        }
        return true;
    }

    // A mailbox was found: count it, and keep its addr-spec in the form
    // RFC 5321 4.1.2 sends it: the local part's words joined without CFWS,
    // quotes and quoted pairs taken away, and then quoted again, with the
    // least escaping, only when what results is not a dot-atom ("bob"@x
    // and "b\ob"@x are bob@x, a."b c".d@x is "a.b c.d"@x); a domain literal
    // without the white space obs-dtext allows in it.
    void found(const std::vector<Token>& local, const std::string& dom) {
        ++fc_.list->mailboxes;
        std::string a;
        bool quoted = false;
        for (const Token& w : local) {
            if (w.kind != Tok::qstring) {
                a.append(w.text);
                continue;
            }
            quoted = true;
            const std::string_view q = w.text.substr(1, w.text.size() - 2);
            for (std::size_t i = 0; i < q.size(); ++i) {
                if (q[i] == '\\' && i + 1 < q.size()) ++i;
                else if (q[i] == '\r' || q[i] == '\n') continue;   // folding inside the quotes
                a.push_back(q[i]);
            }
        }
        if (quoted && !is_dot_atom(a)) {
            std::string q = "\"";
            for (const char c : a) {
                if (c == '"' || c == '\\') q.push_back('\\');
                q.push_back(c);
            }
            q.push_back('"');
            a = std::move(q);
        }
        a.push_back('@');
        if (dom.starts_with('[')) {
            for (const char c : dom)
                if (c != ' ' && c != '\t' && c != '\r' && c != '\n') a.push_back(c);
        } else {
            a.append(dom);
        }
        fc_.list->addresses.push_back(std::move(a));
    }

    // RFC 5322 3.2.3 dot-atom-text: atext words joined by single dots.
    static bool is_dot_atom(std::string_view s) {
        if (s.empty() || s.front() == '.' || s.back() == '.') return false;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '.' ? s[i - 1] == '.' : !is_atext(static_cast<unsigned char>(s[i]))) return false;
        }
        return true;
    }

    // After a bad element, with `recover`: go on at the next ',' (or ';' in a group).
    bool skip_to_comma() {
        if (!fc_.recover) return false;
        ++fc_.skipped;
        while (!t_.at_end() && !t_.is(',') && !t_.is(';')) t_.take();
        return true;
    }

    // angle-addr = "<" addr-spec ">" ; obs-angle-addr with a route. With
    // `null_path`, "<>" (a path's) is taken too, and is no mailbox.
    bool angle_addr(bool null_path = false) {
        const Token open = t_.take();
        const bool route = t_.is('@') || t_.is(',');
        if (route) {  // obs-route: obs-domain-list ":", commas allowed before and between
            obsolete(t_.peek().offset, "source route");
            bool any = false;
            while (t_.is('@') || t_.is(',')) {
                if (t_.take().special != '@') continue;
                if (!domain()) return false;
                any = true;
            }
            if (!any || !t_.is(':')) { syntax(t_.peek().offset, "source route not ended by ':'"); return false; }
            t_.take();
        }
        if (t_.is('>')) {
            t_.take();
            if (null_path && !route) return true;
            syntax(open.offset, "empty angle brackets");  // <> only in Return-Path
            return false;
        }
        std::vector<Token>& words = words_;   // (the display name's, done with)
        words.clear();
        while (t_.peek().kind == Tok::atom || t_.peek().kind == Tok::qstring || t_.is('.'))
            words.push_back(t_.take());
        if (!t_.is('@')) {
            syntax(t_.peek().offset, words.empty() ? "empty address in angle brackets" : "no '@' in address");
            return false;
        }
        if (words.empty()) { syntax(t_.peek().offset, "no local part before '@'"); return false; }
        if (!local_part(words)) return false;
        t_.take();
        if (!domain(&dom_)) return false;
        if (!t_.is('>')) { syntax(t_.peek().offset, unclosed_angle(t_.peek())); return false; }
        t_.take();
        found(words, dom_);
        return true;
    }

    FieldChecker& fc_;
    Tokens t_;
    std::vector<Token> words_;   // the words of the address being parsed
    std::string dom_;            // its domain
};

// --- msg-id (RFC 5322 3.6.4) ----------------------------------------------------

// A msg-id syntax error. One at or after a comment or quoted string that is
// never closed comes from it (the rest of the value went into it): that is
// the error, said at its opening.
void id_syntax(const Tokens& t, FieldChecker& fc, std::size_t at, std::string why) {
    if (t.lexer().unclosed() && at >= t.lexer().unclosed_at()) fc.unclosed(t.lexer(), DefectCode::MessageIdSyntax);
    else fc.error(DefectCode::MessageIdSyntax, at, std::move(why));
}

// Parse one msg-id at the current token; returns false (with a defect) on error.
bool msg_id(Tokens& t, FieldChecker& fc) {
    const Token open = t.peek();
    if (!t.is('<')) { id_syntax(t, fc, open.offset, "expected '<'"); return false; }
    t.take();
    // Inside the brackets, CFWS before a token is obsolete: obs-id-left and
    // obs-id-right (RFC 5322 4.5.4) allow it around every word, dot and '@'.
    auto take = [&] {
        const Token k = t.take();
        if (k.space_before) fc.error(DefectCode::MessageIdObsolete, k.space_at, "white space or comment in the id");
        return k;
    };
    // id-left = dot-atom-text / obs-id-left ; id-right = dot-atom-text /
    // no-fold-literal / obs-id-right. obs-id-left = local-part (RFC 5322
    // 4.5.4), whose obs-local-part = word *("." word): quoted strings among
    // the atoms; obs-id-right = domain, whose obs-domain = atom *("." atom):
    // never a quoted string.
    auto dot_atom = [&](bool right) {
        for (bool first = true;; first = false) {
            const Token w = t.peek();
            if (w.kind == Tok::qstring && right) {
                id_syntax(t, fc, w.offset, "quoted string in the right part of the id");
                return false;
            }
            if (w.kind != Tok::atom && w.kind != Tok::qstring) {
                id_syntax(t, fc, w.offset,
                          !first ? "empty label in the id" : right ? "expected the right part" : "expected the left part");
                return false;
            }
            take();
            if (w.kind == Tok::qstring) fc.error(DefectCode::MessageIdObsolete, w.offset, "quoted string in the id");
            if (!t.is('.')) return true;
            take();
        }
    };
    if (!dot_atom(false)) return false;
    if (!t.is('@')) { id_syntax(t, fc, t.peek().offset, "no '@' in the id"); return false; }
    take();
    if (t.peek().kind == Tok::dliteral) {
        // no-fold-literal, or (obs-id-right = domain) a domain-literal with
        // FWS between its characters
        const Token l = take();
        const std::size_t ws = l.text.find_first_of(" \t\r\n");
        if (ws != std::string_view::npos) fc.error(DefectCode::MessageIdObsolete, l.offset + ws, "white space in the literal");
    } else if (!dot_atom(true)) {
        return false;
    }
    if (!t.is('>')) { id_syntax(t, fc, t.peek().offset, unclosed_angle(t.peek())); return false; }
    take();
    return true;
}

}  // namespace

AddressList parse_address_list(std::string_view value, AddressKind kind, const AddressListOptions& options) {
    AddressList r;
    FieldChecker fc{value, options.base, options.field, r.defects, &r, options.recover};
    AddressParser(fc).parse(kind);
    r.skipped = fc.skipped;
    return r;
}

std::vector<std::string> field_addresses(std::string_view value, std::size_t* bad) {
    AddressListOptions o;
    o.recover = true;
    AddressList r = parse_address_list(value, AddressKind::address_list_or_empty, o);
    if (bad) *bad = r.skipped;
    return std::move(r.addresses);
}

Defects check_mime_version(std::string_view name, std::string_view value, std::size_t base) {
    // version := 1*DIGIT "." 1*DIGIT (RFC 2045 4), its comments ignored
    // wherever they are ("1.(produced by X)0" is 1.0) and, as in every
    // structured field of RFC 822, white space allowed between the three
    // tokens (the lexer skips both). The first thing out of place is
    // reported; a comment never closed took the rest of the value in, so
    // an error after it is that comment's.
    Defects r;
    FieldChecker fc{value, base, name, r};
    Tokens t(value);
    const auto bad = [&](std::size_t at, const char* why) {
        const Lexer& lex = t.lexer();
        if (lex.unclosed() && lex.unclosed_at() < at) fc.error(DefectCode::MimeVersionSyntax, lex.unclosed_at(), "unclosed comment");
        else fc.error(DefectCode::MimeVersionSyntax, at, why);
        return r;
    };
    // The digits a token begins with: a number is the whole token, or
    // what is out of place comes right after them.
    const auto digits = [](const Token& k) {
        std::size_t n = 0;
        while (k.kind == Tok::atom && n < k.text.size() && k.text[n] >= '0' && k.text[n] <= '9') ++n;
        return n;
    };
    const Token major = t.take();
    if (const std::size_t n = digits(major); n == 0)
        return bad(major.offset, major.kind == Tok::end ? "no version" : "expected the major version number");
    else if (n < major.text.size())
        return bad(major.offset + n, "expected '.' after the major version number");
    if (!t.is('.')) return bad(t.peek().offset, "expected '.' after the major version number");
    t.take();
    const Token minor = t.take();
    if (const std::size_t n = digits(minor); n == 0) return bad(minor.offset, "expected the minor version number");
    else if (n < minor.text.size()) return bad(minor.offset + n, "text after the version");
    if (!t.at_end()) return bad(t.peek().offset, "text after the version");
    if (t.lexer().unclosed()) fc.error(DefectCode::MimeVersionSyntax, t.lexer().unclosed_at(), "unclosed comment");
    return r;
}

Defects check_msg_id_field(std::string_view name, std::string_view value, std::size_t base, bool list) {
    Defects r;
    FieldChecker fc{value, base, name, r};
    Tokens t(value);
    std::size_t n = 0;
    std::size_t first_word = std::string_view::npos;
    // obs-in-reply-to and obs-references (RFC 5322 4.5.4) allow phrases
    // among the ids, and no id at all: obsolete, not wrong.
    auto words = [&](bool ids) {
        if (first_word == std::string_view::npos) return;
        fc.error(DefectCode::MessageIdObsolete, first_word,
                 ids ? "words between message ids" : "only words, no message id");
        first_word = std::string_view::npos;
    };
    // A phrase is words (atoms, quoted strings) and, obs-phrase, dots after
    // its first word ("Mr. Smith's message"); anything else opens a msg-id.
    bool in_phrase = false;
    while (!t.at_end()) {
        const Token& k = t.peek();
        if (list && (k.kind == Tok::atom || k.kind == Tok::qstring || (in_phrase && t.is('.')))) {
            if (first_word == std::string_view::npos) first_word = k.offset;
            in_phrase = true;
            t.take();
            continue;
        }
        in_phrase = false;
        if (!msg_id(t, fc)) { words(true); return r; }
        ++n;
        if (!list) break;
    }
    if (list && n == 0 && first_word == std::string_view::npos)
        fc.error(DefectCode::MessageIdObsolete, t.peek().offset, "no message id");
    words(n > 0);
    if (n == 0 && !list) id_syntax(t, fc, t.peek().offset, "no message id");
    else if (!t.at_end()) id_syntax(t, fc, t.peek().offset, "text after the message id");
    fc.unclosed(t.lexer(), DefectCode::MessageIdSyntax);
    return r;
}

}  // namespace msg
