// validate.cpp - message-level checks: lines, fields, MIME, bodies.
#include "msg/validate.hpp"

#include <unordered_map>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include "detail/line_scan.hpp"
#include "detail/validate_report.hpp"
#include "msg/address.hpp"
#include "msg/charset.hpp"
#include "msg/datetime.hpp"
#include "msg/codec.hpp"

namespace msg {
namespace {

// Each kind of line defect is kept at most this many times per message (the
// rest counted: the last kept says how many more); a file with CRLF on
// every line but one should not make 10000 of them.
constexpr std::size_t kMaxLineReports = 10;

class Validator {
public:
    Validator(const Message& m, const ValidateOptions& o) : m_(m), o_(o), out_(m.defects()) {}

    Defects run() {
        recheck_8bit_headers();
        lines();
        for (std::size_t i = 0; i < m_.entities().size(); ++i) {
            const Entity& e = m_.entity(i);
            if (i == 0 || (e.parent >= 0 && m_.entity(static_cast<std::size_t>(e.parent)).kind ==
                                                  EntityKind::message))
                message_fields(e, i == 0);
            mime(e);
        }
        std::stable_sort(out_.begin(), out_.end(),
                         [](const Defect& a, const Defect& b) { return a.offset < b.offset; });
        return std::move(out_);
    }

private:
    void add(DefectCode c, std::size_t at, std::string detail = {}) {
        out_.push_back({c, at, std::move(detail)});
    }
    void add_all(Defects&& d) {
        for (Defect& x : d) out_.push_back(std::move(x));
    }

    // --- 8-bit header text under RFC 6532 --------------------------------------
    // UTF-8 header text is allowed everywhere in an internationalised
    // message (and inside a message/global part of any message: the
    // parser's own rule, Message::defects()); there it must be valid UTF-8
    // instead of 7-bit.
    void recheck_8bit_headers() {
        if (!o_.utf8) return;
        out_.erase(std::remove_if(out_.begin(), out_.end(), [](const Defect& d) { return d.code == DefectCode::Header8Bit; }),
                   out_.end());
        std::vector<std::size_t> known;   // said by the parser already, inside message/global
        for (const Defect& d : out_)
            if (d.code == DefectCode::HeaderUtf8Invalid) known.push_back(d.offset);
        for (const Entity& e : m_.entities())
            for (const HeaderField& f : m_.fields(e))
                if (const std::size_t bad = first_invalid_utf8(f.raw); bad != std::string_view::npos)
                    if (std::find(known.begin(), known.end(), f.offset + bad) == known.end())
                        add(DefectCode::HeaderUtf8Invalid, f.offset + bad, std::string(f.name));
    }

    // --- line length, line endings, NUL -------------------------------------------
    // The innermost entity whose bytes hold `off`, or null. Entities are
    // stored in document order (ascending begin), so a binary search finds
    // the last one starting at or before `off`; its ancestors hold the rest.
    const Entity* innermost(std::size_t off) const {
        const auto& es = m_.entities();
        auto it = std::upper_bound(es.begin(), es.end(), off,
                                   [](std::size_t o, const Entity& e) { return o < e.begin; });
        if (it == es.begin()) return nullptr;
        const Entity* e = &*(it - 1);
        while (e && off >= e->end) e = e->parent >= 0 ? &m_.entity(static_cast<std::size_t>(e->parent)) : nullptr;
        return e;
    }
    bool in_header(std::size_t off) const {
        const Entity* e = innermost(off);
        return e && off < e->header_end;
    }
    // In the body of a binary part, whose bytes are data, not lines.
    bool in_binary_body(std::size_t off) const {
        const Entity* e = innermost(off);
        return e && e->kind == EntityKind::leaf && e->encoding == TransferEncoding::binary && off >= e->body_begin;
    }

    // Line length, bare CR, bare LF (in CRLF input) and NUL, in one pass.
    // Past kMaxLineReports of a kind, the rest are counted, not kept.
    void lines() {
        const std::string_view d = m_.data();
        const char* p = d.data();
        const std::size_t n = d.size();
        // The message "uses CRLF" when its first line ends with CRLF.
        const void* first_nl = std::memchr(p, '\n', n);
        const bool crlf = first_nl && first_nl != p && static_cast<const char*>(first_nl)[-1] == '\r';
        const std::size_t root_header_end = m_.root().header_end;
        std::size_t line = 0;                  // start of the current line
        std::size_t cr_line = SIZE_MAX, nul_line = SIZE_MAX;  // lines already reported
        const Entity* binary = nullptr;  // the binary part the last NUL was in
        auto end_line = [&](std::size_t eol, bool has_lf) {
            const bool has_cr = has_lf && eol > line && p[eol - 1] == '\r';
            const std::size_t len = eol - line - (has_cr ? 1 : 0);
            if (len > 998) {
                add_line(DefectCode::LineTooLong, line, std::to_string(len) + " octets");
            } else if (len > 78 && in_header(line)) {
                // 78 characters, not octets, in UTF-8 (RFC 6532 3.4: the
                // limit is about display width); other bytes count one each.
                const std::string_view text(p + line, len);
                std::size_t chars = len;
                if (first_non_ascii(text) != std::string_view::npos && is_valid_utf8(text))
                    chars = static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char ch) {
                        return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
                    }));
                if (chars > 78) add_line(DefectCode::LineLong, line, std::to_string(chars) + " characters");
            }
            if (has_lf && crlf && !has_cr && !in_binary_body(eol)) add_line(DefectCode::LineBareLf, eol);
        };
        std::size_t i = 0;
        for (;;) {
            // the next byte with something to check; short lines pass by
            const std::size_t j = detail::next_line_event(p, i, n, line, crlf, 78);
            if (j >= n) break;
            if (p[j] == '\n') {
                end_line(j, true);
                line = j + 1;
            } else if (p[j] == '\r') {
                // a CR not followed by LF; one report per line
                if ((j + 1 >= n || p[j + 1] != '\n') && cr_line != line && !in_binary_body(j)) {
                    cr_line = line;
                    add_line(DefectCode::LineBareCr, j);
                }
            } else if (nul_line != line && j >= root_header_end &&
                       !(binary && j >= binary->body_begin && j < binary->end)) {
                // NUL in a header is header.nul (the parser's); a binary part may hold any byte
                const Entity* e = innermost(j);
                if (e && e->kind == EntityKind::leaf && j >= e->body_begin &&
                    e->encoding == TransferEncoding::binary) {
                    binary = e;  // its other NULs are skipped without a search
                } else if (!e || j >= e->header_end) {
                    nul_line = line;
                    add_line(DefectCode::LineNul, j);
                }
            }
            i = j + 1;
        }
        if (line < n) end_line(n, false);
    }
    // A line defect: kept while there are fewer than kMaxLineReports of its
    // code, else counted (a file with CRLF on every line but one should
    // not make 10000 of them).
    void add_line(DefectCode c, std::size_t at, std::string detail = {}) {
        std::size_t& kept = line_reports_[c];
        if (kept < kMaxLineReports) {
            ++kept;
            add(c, at, std::move(detail));
        } else {
            ++uncounted_[c];
        }
    }

public:
    // Defects of each code found but not kept (the line checks' past their limit).
    const std::unordered_map<DefectCode, std::size_t>& uncounted() const { return uncounted_; }

private:
    // --- RFC 5322 fields of a message (the root or an embedded one) ------------
    void message_fields(const Entity& e, bool top) {
        struct Count { std::string_view name; std::size_t n = 0; const HeaderField* first = nullptr; };
        // RFC 5322 3.6: fields that occur at most once (Date and From exactly once).
        Count once[] = {{"Date"}, {"From"}, {"Sender"}, {"Reply-To"}, {"To"}, {"Cc"}, {"Bcc"},
                        {"Message-ID"}, {"In-Reply-To"}, {"References"}, {"Subject"}};
        std::size_t from_mailboxes = 0;
        bool have_mime_version = false, have_mime_fields = false;
        const HeaderField* first_mime = nullptr;
        // Resent-From's mailboxes, for each block's Resent-Sender (below).
        std::vector<std::pair<const HeaderField*, std::size_t>> resent_from;
        for (const HeaderField& f : m_.fields(e)) {
            for (Count& c : once)
                if (iequals(f.name, c.name)) {
                    if (++c.n == 2) add(DefectCode::FieldDuplicate, f.offset, std::string(f.name));
                    if (!c.first) c.first = &f;
                }
            const std::size_t vo = f.value_offset();
            const std::string_view name = f.name;
            auto address = [&](AddressKind k) {
                AddressList r = parse_address_list(f.value, k, {.base = vo, .field = name});
                add_all(std::move(r.defects));
                return r.mailboxes;
            };
            if (iequals(name, "From")) {
                const std::size_t n = address(AddressKind::mailbox_list);
                if (!from_mailboxes) from_mailboxes = n;
            } else if (iequals(name, "Resent-From")) {
                resent_from.emplace_back(&f, address(AddressKind::mailbox_list));
            }
            else if (iequals(name, "Sender") || iequals(name, "Resent-Sender")) address(AddressKind::mailbox);
            else if (iequals(name, "Return-Path")) address(AddressKind::path);
            else if (iequals(name, "Received")) received(f);
            else if (iequals(name, "To") || iequals(name, "Cc") || iequals(name, "Reply-To") ||
                     iequals(name, "Resent-To") || iequals(name, "Resent-Cc"))
                address(AddressKind::address_list);
            else if (iequals(name, "Bcc") || iequals(name, "Resent-Bcc"))
                address(AddressKind::address_list_or_empty);
            else if (iequals(name, "Date") || iequals(name, "Resent-Date"))
                add_all(parse_date_time(f.value, vo, name).defects);
            else if (iequals(name, "Message-ID") || iequals(name, "Resent-Message-ID"))
                add_all(check_msg_id_field(name, f.value, vo, false));
            else if (iequals(name, "In-Reply-To") || iequals(name, "References"))
                add_all(check_msg_id_field(name, f.value, vo, true));
            else if (iequals(name, "MIME-Version")) {
                have_mime_version = true;
                add_all(check_mime_version(name, f.value, vo));
            }
            else if (name.size() > 8 && iequals(name.substr(0, 8), "Content-") &&
                     !iequals(name, "Content-Length")) {   // an mbox's framing (mboxcl), not MIME's
                have_mime_fields = true;
                if (!first_mime) first_mime = &f;
            }
            if (is_text_field(name)) encoded_words(f);
        }
        if (top) {
            if (once[0].n == 0) add(DefectCode::FieldMissing, e.header_end, "Date");
            if (once[1].n == 0) add(DefectCode::FieldMissing, e.header_end, "From");
            if (once[7].n == 0) add(DefectCode::MessageIdMissing, e.header_end);
            if (from_mailboxes > 1 && once[2].n == 0)
                add(DefectCode::FieldSenderRequired, once[1].first->offset);
            // Each resent block (resent_blocks: the one rule) needs its
            // Resent-Date and Resent-From, and a Resent-Sender when
            // Resent-From names several mailboxes, as the message needs
            // Date, From and Sender.
            for (const ResentBlock& b : resent_blocks(m_.fields(e))) {
                const std::size_t at = b.fields.front()->offset;
                if (!b.find("Resent-Date")) add(DefectCode::FieldMissing, at, "Resent-Date");
                const HeaderField* from = b.find("Resent-From");
                if (!from) {
                    add(DefectCode::FieldMissing, at, "Resent-From");
                    continue;
                }
                // resent_from is in header order, so by address: a block's
                // Resent-From may be one appended below a later block's
                const auto it = std::lower_bound(resent_from.begin(), resent_from.end(), from,
                                                 [](const auto& x, const HeaderField* f) { return x.first < f; });
                if (it != resent_from.end() && it->first == from && it->second > 1 && !b.find("Resent-Sender"))
                    add(DefectCode::FieldSenderRequired, from->offset, "Resent-From has several, and its block no Resent-Sender");
            }
        }
        if (top && have_mime_fields && !have_mime_version)
            add(restates_plain_text(e) ? DefectCode::MimeVersionMissingPlain : DefectCode::MimeVersionMissing,
                first_mime->offset);
    }

    // received = "Received:" *received-token ";" date-time (RFC 5322
    // 3.6.7; RFC 5321 4.4 writes it as a Stamp ending in ";" FWS
    // date-time). The tokens are the servers' own business; the date-time
    // after the last ';' is checked as Date's is. A ';' inside a comment
    // or a quoted string is text. With no ';' the field is obs-received
    // (RFC 5322 4.5.7), which has no date at all: obsolete, not wrong.
    void received(const HeaderField& f) {
        const std::string_view v = f.value;
        std::size_t semi = std::string_view::npos;
        int comment = 0;
        bool quoted = false;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const char c = v[i];
            if (c == '\\' && (quoted || comment > 0)) ++i;
            else if (quoted) quoted = c != '"';
            else if (c == '(') ++comment;
            else if (comment > 0) comment -= c == ')';
            else if (c == '"') quoted = true;
            else if (c == ';') semi = i;
        }
        if (semi == std::string_view::npos) {
            add(DefectCode::TraceObsolete, f.offset, std::string(f.name));
            return;
        }
        add_all(parse_date_time(v.substr(semi + 1), f.value_offset() + semi + 1, f.name).defects);
    }

    // A leaf whose MIME fields say what a reader without MIME assumes anyway
    // (RFC 2045 5.2): text/plain, US-ASCII, 7bit or 8bit, no 8-bit byte, no
    // parameter that changes the display (format=flowed).
    bool restates_plain_text(const Entity& e) const {
        if (e.kind != EntityKind::leaf || e.content_type.mime_type() != "text/plain") return false;
        if (e.encoding != TransferEncoding::seven_bit && e.encoding != TransferEncoding::eight_bit) return false;
        for (const Parameter& p : e.content_type.params) {
            if (iequals(p.name, "charset") ? !charset_is_ascii(p.value) : iequals(p.name, "format") || iequals(p.name, "delsp"))
                return false;
        }
        return first_non_ascii(m_.body(e)) == std::string_view::npos;
    }

    static bool is_text_field(std::string_view name) {
        static constexpr std::string_view names[] = {
            "Subject",     "Comments",      "Keywords",  "From",      "To",        "Cc",        "Bcc",
            "Reply-To",    "Sender",        "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
            "Content-Description"};
        for (const std::string_view n : names)
            if (iequals(name, n)) return true;
        return false;
    }

    // Encoded words: malformed or unknown charset (reported by the decoder),
    // longer than 75 characters, inside a quoted string, or not a whole word.
    void encoded_words(const HeaderField& f) {
        const std::string_view v = f.value;
        if (v.find("=?") == std::string_view::npos) return;
        decode_header_text(v, &out_, f.value_offset());
        // Quoted strings, comments and angle addresses exist only in
        // structured fields; in Subject a '"' or '(' is text.
        const bool structured = !iequals(f.name, "Subject") && !iequals(f.name, "Comments") &&
                                !iequals(f.name, "Content-Description");
        bool quoted = false;
        int comment = 0;       // depth of nested comments
        bool angle = false;    // inside <...>: an address, where "=?" is no encoded word
        for (std::size_t i = 0; i < v.size(); ++i) {
            const char c = v[i];
            if (structured) {
                // RFC 5322 3.2: a quoted-pair in a quoted string or a
                // comment; a '"' in a comment and a '(' in a quoted
                // string are text.
                if (c == '\\' && (quoted || comment > 0)) { ++i; continue; }
                if (quoted) {
                    if (c == '"') { quoted = false; continue; }
                } else if (comment > 0) {
                    if (c == '(') { ++comment; continue; }
                    if (c == ')') { --comment; continue; }
                } else {
                    if (c == '"') { quoted = true; continue; }
                    if (c == '(') { comment = 1; continue; }
                    if (c == '<') angle = true;
                    if (c == '>') angle = false;
                }
            }
            if (c != '=' || i + 1 >= v.size() || v[i + 1] != '?') continue;
            // The word runs to "?=" after the charset and encoding parts.
            std::size_t q = i + 2;
            int marks = 0;
            while (q < v.size() && marks < 2 && v[q] != ' ' && v[q] != '\t' && v[q] != '\r' && v[q] != '\n')
                if (v[q++] == '?') ++marks;
            if (marks < 2) continue;
            const std::size_t close = v.find("?=", q);
            if (close == std::string_view::npos) continue;
            const std::string_view word = v.substr(i, close + 2 - i);
            if (word.find_first_of(" \t\r\n") != std::string_view::npos) continue;
            if (angle && !quoted && comment == 0) {
                i = close + 1;
                continue;
            }
            // A whole word (RFC 2047 5): white space on both sides; in a
            // comment a parenthesis will do too. In a phrase (a display
            // name) a special joined to it ("=?..?=<a@b>") is not enough,
            // and in text "H=?..?=hn" is text to a conforming reader.
            auto glued = [&](std::size_t at) {
                if (at >= v.size()) return false;
                const char ch = v[at];
                if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') return false;
                return !(comment > 0 && (ch == '(' || ch == ')'));
            };
            if (quoted) add(DefectCode::EncodedWordInQuotes, f.value_offset() + i, std::string(f.name));
            else if ((i > 0 && glued(i - 1)) || glued(close + 2))
                add(DefectCode::EncodedWordInWord, f.value_offset() + i, std::string(f.name));
            else if (word.size() > 75)
                add(DefectCode::EncodedWordTooLong, f.value_offset() + i, std::to_string(word.size()) + " characters");
            i = close + 1;
        }
    }

    // --- MIME entities ------------------------------------------------------------
    // Where a parameter is written, for a defect of its value (on its own
    // line when the field is folded); else where field `name` is.
    std::size_t param_or_field_offset(const Entity& e, const Parameter* p, std::string_view name) const {
        return p ? p->offset : m_.field_offset(e, name);
    }

    // Where a Content-Transfer-Encoding field names its encoding.
    static std::size_t encoding_offset(const HeaderField& cte) {
        return cte.value_offset() + static_cast<std::size_t>(transfer_encoding_token(cte.value).data() - cte.value.data());
    }

    void mime(const Entity& e) {
        detail::check_report(m_, e, out_, uncounted_);
        // RFC 2045 6.4: a multipart body is never encoded; its parts are.
        if (const HeaderField* cte = m_.field(e, "Content-Transfer-Encoding");
            cte && e.content_type.is_multipart() && e.encoding != TransferEncoding::seven_bit &&
            e.encoding != TransferEncoding::eight_bit && e.encoding != TransferEncoding::binary)
            add(DefectCode::MultipartEncoding, encoding_offset(*cte), std::string(transfer_encoding_token(cte->value)));
        if (e.kind == EntityKind::multipart) boundary_in_part(e);
        if (e.content_type.is_multipart()) {  // also when its boundary was never found
            // A nested multipart must not reuse an enclosing boundary.
            const Parameter* boundary = find_parameter(e.content_type.params, "boundary");
            const std::string* b = boundary ? &boundary->value : nullptr;
            // RFC 2046 5.1.1: at most 70 characters. Longer ones (up to the
            // parser's limit, past which it reports them itself) still work.
            if (b && b->size() > 70 && b->size() <= Limits{}.max_boundary_length)
                add(DefectCode::BoundaryTooLong, param_or_field_offset(e, boundary, "Content-Type"), *b);
            if (b && !b->empty() && b->size() <= Limits{}.max_boundary_length) boundary_chars(e, boundary);
            for (std::int32_t p = e.parent; b && p >= 0; p = m_.entity(static_cast<std::size_t>(p)).parent) {
                const Entity& a = m_.entity(static_cast<std::size_t>(p));
                const std::string* ab = a.content_type.is_multipart() ? a.content_type.param("boundary") : nullptr;
                if (ab && *ab == *b) {
                    add(DefectCode::BoundaryReused, param_or_field_offset(e, boundary, "Content-Type"), *b);
                    break;
                }
            }
        }
        const bool qp_or_b64 = e.encoding == TransferEncoding::base64 ||
                               e.encoding == TransferEncoding::quoted_printable;
        // RFC 6533 allows any encoding for message/global and its relatives
        // (global-headers, global-delivery-status, global-disposition-notification).
        if (e.content_type.type == "message" && qp_or_b64 && !e.content_type.subtype.starts_with("global"))
            if (const HeaderField* cte = m_.field(e, "Content-Transfer-Encoding"))
                add(DefectCode::MessageEncoding, encoding_offset(*cte), e.content_type.mime_type());
        if (e.has_disposition || e.content_type.param("name")) {
            const std::string name = m_.filename(e);   // not external-body's access parameter
            if (name.find_first_of("/\\") != std::string::npos || name.starts_with("..")) {
                const Parameter* p = e.has_disposition ? find_parameter(e.disposition.params, "filename") : nullptr;
                if (!p) p = find_parameter(e.content_type.params, "name");
                add(DefectCode::FilenamePath,
                    param_or_field_offset(e, p, e.has_disposition ? "Content-Disposition" : "Content-Type"), name);
            }
        }
        for (const std::string_view fname : {std::string_view("Content-Type"), std::string_view("Content-Disposition")})
            if (const HeaderField* f = m_.field(e, fname)) encoded_words_in_quotes(*f);
        if (e.kind != EntityKind::leaf) return;

        const std::string_view body = m_.body(e);
        const bool text = e.content_type.type == "text";
        if (e.encoding == TransferEncoding::seven_bit) {
            if (const std::size_t at = first_non_ascii(body); at != std::string_view::npos)
                add(DefectCode::Body8BitIn7Bit, e.body_begin + at);
        }
        if (e.encoding == TransferEncoding::base64) {
            const Base64Check c = base64_check(body, 76);
            if (c.long_line != static_cast<std::size_t>(-1))
                add(DefectCode::Base64LineTooLong, e.body_begin + c.long_line,
                    std::to_string(c.long_line_length) + " characters");
            // Only text needs its bytes (to check them against the charset);
            // the check gives what decoding would repair.
            if (!text) m_.decode_defects(e, c.status, &out_);
        }
        if (e.encoding == TransferEncoding::quoted_printable) qp_lines(e, body);
        if (text) {
            text_content(e);
        } else if (e.encoding == TransferEncoding::quoted_printable || e.encoding == TransferEncoding::uuencode) {
            m_.decode_each(e, [](std::string_view) {}, &out_);  // for what decoding repairs
        }
    }

    // The decoded text of a leaf, read in slices whatever its size: files
    // uuencoded into it (text/plain), its 8-bit bytes, and whether they
    // decode in its charset.
    void text_content(const Entity& e) {
        const std::string* cs = e.content_type.param("charset");
        // us-ascii is decoded as windows-1252, but RFC 2046 4.1.2 has no 8-bit in it.
        const bool ascii = cs && charset_is_ascii(*cs);
        std::optional<TextDecoder> dec;
        if (cs && !ascii) dec.emplace(*cs);
        if (dec && !dec->known()) dec.reset();
        // Text in a one-byte charset is read as UTF-8 too: valid, it is
        // UTF-8 mislabelled.
        std::optional<TextDecoder> utf8;
        if (dec && dec->one_byte()) utf8.emplace("utf-8");
        std::size_t pos = 0, eight = std::string_view::npos;
        auto content = [&](std::string_view s) {
            std::size_t from = 0;  // where this slice is fed to the decoder
            if (eight == std::string_view::npos) {
                if (const std::size_t at = first_non_ascii(s); at != std::string_view::npos) eight = pos + at;
                // A text's ASCII prefix decodes as itself in most charsets.
                if (dec && dec->ascii_transparent()) from = eight == std::string_view::npos ? s.size() : eight - pos;
            }
            pos += s.size();
            if (!dec) return;
            dec->skip(from);
            dec->step(s.substr(from), nullptr);
            if (utf8 && eight != std::string_view::npos && utf8->bad() == 0) utf8->step(s.substr(from), nullptr);
        };
        m_.decode_each(e, content, &out_, UuScanner::Handler{});  // and files uuencoded into it
        if (!cs) {
            if (eight != std::string_view::npos) add(DefectCode::CharsetMissing, m_.content_offset(e, eight));
            return;
        }
        if (!ascii && !dec) {
            add(DefectCode::CharsetUnknown,
                param_or_field_offset(e, find_parameter(e.content_type.params, "charset"), "Content-Type"), *cs);
            return;
        }
        if (ascii) {
            if (eight != std::string_view::npos) add(DefectCode::CharsetBadBytes, m_.content_offset(e, eight), *cs + ": 8-bit bytes");
            return;
        }
        // 7-bit text is text in any charset whose ASCII is itself; in
        // others (ISO-2022-*, UTF-7, HZ, UTF-16) it is read all the same.
        if (eight == std::string_view::npos && dec->ascii_transparent()) return;
        dec->finish(nullptr);
        if (const std::size_t bad = dec->bad())
            add(DefectCode::CharsetBadBytes, m_.content_offset(e, dec->first_bad()), bad_sequences(*cs, bad));
        if (utf8 && eight != std::string_view::npos) {
            utf8->finish(nullptr);
            if (utf8->bad() == 0) add(DefectCode::CharsetMislabelled, m_.content_offset(e, eight), "labelled " + *cs);
        }
    }

    // Quoted-printable lines: the first over 76 characters (RFC 2045 6.7
    // rule 5), the first that ends in literal white space (rule 3).
    void qp_lines(const Entity& e, std::string_view body) {
        bool long_seen = false, blank_seen = false;
        for (std::size_t pos = 0; pos < body.size() && !(long_seen && blank_seen);) {
            std::size_t nl = body.find('\n', pos);
            if (nl == std::string_view::npos) nl = body.size();
            std::size_t len = nl - pos;
            if (len > 0 && body[pos + len - 1] == '\r') --len;
            if (len > 76 && !long_seen) {
                add(DefectCode::QpLineTooLong, e.body_begin + pos, std::to_string(len) + " characters");
                long_seen = true;
            }
            if (len > 0 && (body[pos + len - 1] == ' ' || body[pos + len - 1] == '\t') && !blank_seen) {
                std::size_t b = pos + len;
                while (b > pos && (body[b - 1] == ' ' || body[b - 1] == '\t')) --b;
                add(DefectCode::QpTrailingSpace, e.body_begin + b);
                blank_seen = true;
            }
            pos = nl + 1;
        }
    }

    // RFC 2046 5.1.1: boundary := 0*69<bchars> bcharsnospace, bchars being
    // digits, letters, "'()+_,-./:=?" and the space. (An empty one is the
    // parser's mime.boundary-missing.) Readers match the delimiter lines
    // against the boundary byte for byte, so another character works (a
    // warning); white space at the end does not (an error), since Python's
    // email package strips it from the boundary and then takes the close
    // delimiter "--b --" for text.
    void boundary_chars(const Entity& e, const Parameter* boundary) {
        const std::string& b = boundary->value;
        static constexpr std::string_view kBcharsNoSpace =
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";
        const std::size_t at = param_or_field_offset(e, boundary, "Content-Type");
        for (const char c : b)
            if (c != ' ' && kBcharsNoSpace.find(c) == std::string_view::npos) {
                const auto u = static_cast<unsigned char>(c);
                char shown[8];
                if (u > 0x20 && u < 0x7F) std::snprintf(shown, sizeof shown, "'%c'", c);
                else std::snprintf(shown, sizeof shown, "0x%02X", u);
                add(DefectCode::BoundaryChars, at, std::string(shown) + " in " + b);
                break;
            }
        if (b.back() == ' ' || b.back() == '\t') add(DefectCode::BoundaryTrailingSpace, at, "\"" + b + "\"");
    }

    // A line of the multipart that begins with "--" and its boundary but is
    // no delimiter line (more follows the boundary): readers that match the
    // boundary as a prefix take it for one. Reported once per multipart.
    void boundary_in_part(const Entity& e) {
        const std::string* b = e.content_type.param("boundary");
        if (!b) return;
        const std::string dash = "--" + *b;
        const std::string_view d = m_.data().substr(0, e.end);
        for (std::size_t p = d.find(dash, e.body_begin); p != std::string_view::npos; p = d.find(dash, p + 1)) {
            if (p > e.body_begin && d[p - 1] != '\n') continue;
            std::size_t i = p + dash.size();
            if (d.compare(i, 2, "--") == 0) i += 2;
            while (i < d.size() && (d[i] == ' ' || d[i] == '\t')) ++i;
            if (i == d.size() || d[i] == '\n' || (d[i] == '\r' && (i + 1 == d.size() || d[i + 1] == '\n'))) continue;
            add(DefectCode::BoundaryInPart, p, *b);
            return;
        }
    }

    // Whether the quoted string at `q` is a boundary parameter's value:
    // nobody decodes one, and it may hold "=?" and "?=" (RFC 2046 5.1.1).
    static bool boundary_value(std::string_view v, std::size_t q) {
        std::size_t k = q;
        while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t')) --k;
        if (k == 0 || v[k - 1] != '=') return false;
        --k;
        while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t')) --k;
        constexpr std::string_view name = "boundary";
        if (k < name.size() || !iequals(v.substr(k - name.size(), name.size()), name)) return false;
        const std::size_t before = k - name.size();
        return before == 0 || v[before - 1] == ';' || v[before - 1] == ' ' || v[before - 1] == '\t' || v[before - 1] == '\n';
    }

    void encoded_words_in_quotes(const HeaderField& f) {
        const std::string_view v = f.value;
        bool quoted = false;
        std::size_t qstart = 0;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i] == '\\' && quoted) { ++i; continue; }
            if (v[i] != '"') continue;
            if (!quoted) { quoted = true; qstart = i; continue; }
            quoted = false;
            const std::string_view inner = v.substr(qstart + 1, i - qstart - 1);
            const std::size_t a = inner.find("=?");
            if (a != std::string_view::npos && inner.find("?=", a + 2) != std::string_view::npos &&
                !boundary_value(v, qstart))
                add(DefectCode::EncodedWordInQuotes, f.value_offset() + qstart + 1 + a, std::string(f.name));
        }
    }

    const Message& m_;
    const ValidateOptions& o_;
    Defects out_;
    std::unordered_map<DefectCode, std::size_t> line_reports_;  // line defects kept, by code
    std::unordered_map<DefectCode, std::size_t> uncounted_;
};

// cap_repeats, where `uncounted` defects of some codes were found but not
// kept: they are in the count the last kept one of their code tells.
void cap(Defects& defects, std::size_t max, const std::unordered_map<DefectCode, std::size_t>& uncounted) {
    if (uncounted.empty() && (max == 0 || defects.size() <= max)) return;
    std::unordered_map<DefectCode, std::size_t> seen;     // code -> defects of it so far
    std::unordered_map<DefectCode, std::size_t> last;     // code -> index of its last kept one (in `out`)
    Defects out;
    out.reserve(defects.size());
    for (Defect& d : defects) {
        const std::size_t n = ++seen[d.code];
        if (max == 0 || n <= max) {
            last[d.code] = out.size();
            out.push_back(std::move(d));
        }
    }
    for (const auto& [code, n] : seen) {
        const auto u = uncounted.find(code);
        const std::size_t more = (max != 0 && n > max ? n - max : 0) + (u == uncounted.end() ? 0 : u->second);
        if (more == 0) continue;
        std::string& detail = out[last[code]].detail;
        // First, so that a long detail cut short for display keeps it.
        detail = "and " + std::to_string(more) + " more like it" + (detail.empty() ? "" : "; " + detail);
    }
    defects = std::move(out);
}

}  // namespace

Defects validate(const Message& m, const ValidateOptions& options) {
    Validator v(m, options);
    Defects d = v.run();
    cap(d, options.max_repeats, v.uncounted());
    return d;
}

void cap_repeats(Defects& defects, std::size_t max) { cap(defects, max, {}); }

}  // namespace msg
