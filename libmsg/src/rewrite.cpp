// rewrite.cpp - the rewrite pipeline, header edits, line endings, spool
// entries, and what the steps share.
#include "msg/rewrite.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "detail/line_scan.hpp"
#include "detail/rewrite.hpp"
#include "msg/charset.hpp"
#include "msg/header.hpp"
#include "msg/json.hpp"
#include "msg/message.hpp"
#include "msg/source.hpp"
#include "msg/spool.hpp"
#include "msg/validate.hpp"

namespace msg {
namespace detail {

void Splice::replace(std::size_t begin, std::size_t end, std::string text) {
    edits_.push_back({begin, end, std::move(text), {}});
}

void Splice::replace(std::size_t begin, std::size_t end, std::string text, Deferred then) {
    edits_.push_back({begin, end, std::move(text), std::move(then)});
}

bool Splice::touches(std::size_t begin, std::size_t end) const {
    for (const Edit& e : edits_)
        if (e.begin < end && begin < e.end) return true;
    return false;
}

std::string Splice::apply(std::string_view in) const {
    std::vector<const Edit*> order;
    order.reserve(edits_.size());
    for (const Edit& e : edits_) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(),
                     [](const Edit* a, const Edit* b) {
                         // At one offset, insertions go before a replacement that starts there.
                         if (a->begin != b->begin) return a->begin < b->begin;
                         return (a->end == a->begin) > (b->end == b->begin);
                     });
    std::size_t size = in.size();
    for (const Edit* e : order) size += e->text.size() + e->deferred.size;
    std::string out;
    out.reserve(size);
    std::size_t pos = 0;
    for (const Edit* e : order) {
        // An edit overlapping an earlier one is a caller's bug: it is
        // dropped rather than written where it does not belong.
        if (e->begin < pos) continue;
        out.append(in.substr(pos, e->begin - pos));
        out.append(e->text);
        if (e->deferred.write) e->deferred.write(out);
        pos = e->end;
    }
    if (pos < in.size()) out.append(in.substr(pos));
    return out;
}

std::string_view eol_of(std::string_view data) noexcept {
    const std::size_t nl = data.find('\n');
    if (nl == std::string_view::npos) return "\n";
    return nl > 0 && data[nl - 1] == '\r' ? "\r\n" : "\n";
}

namespace {

// The message/rfc822 part that holds entity `i` as its message's root, or
// -1: the part that names that message ("part 2 message").
std::ptrdiff_t container_of(const Message& m, std::size_t i) {
    const std::int32_t p = m.entity(i).parent;
    return p >= 0 && m.entity(static_cast<std::size_t>(p)).kind == EntityKind::message ? p : -1;
}

}  // namespace

std::string entity_place(const Message& m, std::size_t entity) {
    if (entity == 0) return "message";
    // A multipart root has no section of its own (it shares its container's)
    if (const std::ptrdiff_t c = container_of(m, entity); c >= 0 && m.entity(entity).kind == EntityKind::multipart)
        return "part " + m.section(static_cast<std::size_t>(c)) + " message";
    const std::string s = m.section(entity);
    return s.empty() ? "message" : "part " + s;
}

std::string field_place(const Message& m, std::size_t entity, std::string_view field) {
    if (entity == 0) return "header " + std::string(field);
    // An embedded message's header is its container's message's (IMAP's
    // 2.HEADER), apart from the container's own fields (2.MIME).
    if (const std::ptrdiff_t c = container_of(m, entity); c >= 0)
        return "part " + m.section(static_cast<std::size_t>(c)) + " message header " + std::string(field);
    return entity_place(m, entity) + " header " + std::string(field);
}

std::size_t entity_at(const Message& m, std::size_t offset) {
    std::size_t best = 0;
    const auto all = m.entities();
    for (std::size_t i = 1; i < all.size(); ++i)
        if (all[i].begin <= offset && offset <= std::max(all[i].end, all[i].body_begin) &&
            all[i].depth >= all[best].depth)
            best = i;
    return best;
}

const HeaderField* field_at(const Message& m, const Entity& e, std::size_t offset) {
    for (const HeaderField& f : m.fields(e)) {
        // A field without a line break of its own (the last of a header
        // the input or a delimiter line cuts short) holds its end too: an
        // empty value's defect is placed there.
        const std::size_t end = f.offset + f.raw.size();
        if (f.offset <= offset && (offset < end || (offset == end && !f.raw.ends_with('\n')))) return &f;
    }
    return nullptr;
}

namespace {

// The entity of `o` that is entity `vi` of `version` (another version of
// the same message): the same rank among its siblings at each level, from
// the root down, as deep as `o` goes (`whole`: all the way).
std::size_t same_entity(const Message& version, std::size_t vi, const Message& o, bool& whole) {
    whole = true;
    std::vector<std::size_t> ranks;
    for (std::size_t i = vi; version.entity(i).parent >= 0; i = static_cast<std::size_t>(version.entity(i).parent)) {
        std::size_t rank = 0;
        for (std::int32_t c = version.entity(static_cast<std::size_t>(version.entity(i).parent)).first_child;
             c >= 0 && static_cast<std::size_t>(c) != i; c = version.entity(static_cast<std::size_t>(c)).next_sibling)
            ++rank;
        ranks.push_back(rank);
    }
    std::size_t oi = 0;
    for (auto r = ranks.rbegin(); r != ranks.rend(); ++r) {
        std::int32_t c = o.entity(oi).first_child;
        for (std::size_t k = 0; c >= 0 && k < *r; ++k) c = o.entity(static_cast<std::size_t>(c)).next_sibling;
        if (c < 0) {
            whole = false;
            return oi;
        }
        oi = static_cast<std::size_t>(c);
    }
    return oi;
}

}  // namespace

std::size_t Placer::place(const Message& version, std::size_t at, std::string& where) const {
    if (at > version.data().size()) return std::string::npos;
    if (version.data().data() == original_.data() && version.data().size() == original_.size()) return at;
    if (!parsed_) parsed_ = parse_message(original_, limits_);
    const Message& o = *parsed_;
    const std::size_t vi = entity_at(version, at);
    // As many parts: the steps kept the structure, the same entity (found
    // without walking its siblings for each problem of a message of
    // thousands of parts). A part an earlier step made (a bare CR that
    // became a line break, a delimiter line added) is no part of the input:
    // the problem is said of the input's part that holds its place.
    bool whole = true;
    const std::size_t oi = version.entities().size() == o.entities().size() ? vi : same_entity(version, vi, o, whole);
    if (!whole) where = entity_place(o, oi);
    const Entity& ve = version.entity(vi);
    const Entity& oe = o.entity(oi);
    // The same bytes before `at` from `vb` in the version as from `ob` in the
    // original: the same place, else `ob`. (A field's end is the next
    // field's start: not its place.)
    auto same = [&](std::size_t vb, std::size_t ob, std::size_t oend, bool end_too) {
        const std::size_t d = at - vb;
        const bool fits = end_too ? d <= oend - ob : d < oend - ob;
        return fits && version.data().substr(vb, d) == o.data().substr(ob, d) ? ob + d : ob;
    };
    if (at >= ve.body_begin) return same(ve.body_begin, oe.body_begin, std::max(oe.end, oe.body_begin), true);
    if (at >= ve.header_end) return oe.header_end;   // the line that ended a header with no empty line
    const HeaderField* f = field_at(version, ve, at);
    if (!f) return oe.begin;
    std::size_t rank = 0;
    for (const HeaderField& x : version.fields(ve)) {
        if (&x == f) break;
        if (iequals(x.name, f->name)) ++rank;
    }
    for (const HeaderField& x : o.fields(oe))
        if (iequals(x.name, f->name) && rank-- == 0) return same(f->offset, x.offset, x.offset + x.raw.size(), false);
    return oe.begin;
}

namespace {
bool in_list(std::string_view name, std::initializer_list<std::string_view> list) {
    for (std::string_view n : list)
        if (iequals(name, n)) return true;
    return false;
}
}  // namespace

// Fields of RFC 5322 and of later RFCs whose values are not unstructured
// text: addresses, identifiers, tokens, URLs, lists of phrases. An encoded
// word there would change what the field says (RFC 2047 5).
bool is_structured_field(std::string_view name) noexcept {
    if (name.size() > 8 && iequals(name.substr(0, 8), "Content-")) return true;
    return in_list(name, {"Date", "Resent-Date", "Message-ID", "Resent-Message-ID", "In-Reply-To",
                          "References", "Received", "Return-Path", "MIME-Version", "Keywords",
                          "DKIM-Signature", "ARC-Seal", "ARC-Message-Signature",
                          "ARC-Authentication-Results", "Authentication-Results",
                          "Received-SPF", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Post",
                          "List-Help", "List-Subscribe", "List-Archive", "List-Owner",
                          "Delivered-To", "X-Original-To", "Envelope-To", "Errors-To", "Original-Recipient",
                          "Final-Recipient", "Original-Message-ID", "Archived-At", "Auto-Submitted",
                          "MT-Priority", "Disposition-Notification-Options", "Accept-Language",
                          "Autocrypt", "Autocrypt-Gossip", "Require-Recipient-Valid-Since", "TLS-Required"});
}

std::vector<std::pair<std::size_t, std::size_t>> binary_spans(std::string_view in, const Message& m) {
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    for (const Entity& e : m.entities()) {
        if (e.kind != EntityKind::leaf || e.encoding != TransferEncoding::binary) continue;
        std::size_t end = e.end;
        if (end > e.body_begin && in[end - 1] == '\r') {
            if (end + 1 < in.size() && in[end] == '\r' && in[end + 1] == '\n') end += 2;
            else if (end < in.size() && in[end] == '\n') end += 1;
        }
        if (spans.empty() || e.body_begin >= spans.back().second) spans.emplace_back(e.body_begin, end);
    }
    return spans;
}

bool editable(const Entity& e) noexcept {
    const bool no_empty_line = e.body_begin == e.header_end;
    // No field at all: editable when an empty line (or nothing) follows. A
    // first line that is not a field (a byte-order mark, a space or 8-bit
    // byte in a name) may be a header to other readers; it is not made body.
    if (e.header_end == e.begin) return !no_empty_line || e.begin >= e.end;
    return !no_empty_line || e.header_end >= e.end;
}

bool without_delimiter(const Message& m, const Entity& e) noexcept {
    // Any other part begins after its delimiter line, past the multipart's
    // body_begin.
    if (e.parent < 0) return false;
    const Entity& p = m.entity(static_cast<std::size_t>(e.parent));
    return p.kind == EntityKind::multipart && e.begin == p.body_begin;
}

void insert_field(const Message& m, std::size_t at, std::string field, std::string_view eol, Splice& splice) {
    if (at > 0 && m.data()[at - 1] != '\n') field.insert(0, eol);
    splice.insert(at, std::move(field));
}

void set_transfer_encoding(const Message& m, const Entity& e, std::string_view value,
                           std::string_view eol, Splice& splice) {
    if (const HeaderField* f = m.field(e, "Content-Transfer-Encoding")) {
        const std::size_t vb = f->value_offset();
        std::size_t ve = vb + f->value.size();
        splice.replace(vb, ve, " " + std::string(value));
        // A second one would contradict it (a reader that takes the last
        // would decode the new body as the old encoding): removed.
        for (const HeaderField& g : m.fields(e))
            if (g.offset > f->offset && iequals(g.name, "Content-Transfer-Encoding") &&
                !splice.touches(g.offset, g.offset + g.raw.size()))
                splice.erase(g.offset, g.offset + g.raw.size());
        return;
    }
    insert_field(m, e.header_end, "Content-Transfer-Encoding: " + std::string(value) + std::string(eol), eol, splice);
}

// --- header edits ----------------------------------------------------------------

namespace {

bool glob_match(const std::string& pattern, std::string_view name) {
    const std::string n(name);
    return fnmatch(pattern.c_str(), n.c_str(), FNM_CASEFOLD) == 0;
}

// "Name: value" + eol, the value's own line breaks written as `eol`.
std::string make_field(std::string_view name, std::string_view value, std::string_view eol) {
    std::string out(name);
    out += ':';
    if (!value.empty() && value.front() != ' ' && value.front() != '\t') out += ' ';
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
        if (value[i] == '\n') out += eol;
        else out += value[i];
    }
    out += eol;
    return out;
}

}  // namespace

bool step_headers(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log) {
    const Message m = parse_message(in, o.limits);
    const Entity& root = m.root();
    const std::string_view eol = eol_of(in);
    // A header cut short by a line that is not a field is left alone, Bcc
    // included (removing a field can make the rest read differently); the
    // problem is reported and the exit status says so.
    if (!editable(root)) {
        log.problem(m, root.header_end, "message",
                    "the header ends at a line that is not a field, with no empty line: header edits left undone");
        return false;
    }

    // The header as a list of fields, each the original bytes or new text.
    struct Item {
        std::string name;
        std::string text;
        bool original;
        std::size_t offset;  // of the original field (or of the one it replaces)
        bool added = false;  // a new field at the end
    };
    std::vector<Item> items;
    for (const HeaderField& f : m.headers())
        items.push_back({std::string(f.name), std::string(f.raw), true, f.offset});
    bool changed = false;

    std::vector<Item> removed;  // originals removed by this run
    auto remove_if = [&](auto&& pred, std::string_view why) {
        for (auto it = items.begin(); it != items.end();) {
            if (pred(*it)) {
                log.change("header " + it->name, std::string(why));
                if (it->original) removed.push_back(*it);
                it = items.erase(it);
                changed = true;
            } else {
                ++it;
            }
        }
    };
    auto has = [&](std::string_view name) {
        return std::any_of(items.begin(), items.end(),
                           [&](const Item& i) { return iequals(i.name, name); });
    };
    auto add = [&](std::string_view name, std::string_view value) {
        items.push_back({std::string(name), make_field(name, value, eol), false, 0, true});
        log.change("header " + std::string(name), "added");
        changed = true;
    };

    for (const HeaderEdit& e : o.edits) {
        switch (e.kind) {
        case HeaderEdit::Kind::remove:
            remove_if([&](const Item& i) { return glob_match(e.name, i.name); }, "removed");
            break;
        case HeaderEdit::Kind::add: {
            // Not again when the same field is there, as readers read it
            // (so that adding is idempotent too, when --7bit, --fold or
            // --fix wrote the value of an earlier run as encoded words).
            const std::string text = make_field(e.name, e.value, eol);
            const std::string wanted = decode_field_text(e.name, unfold(text.substr(e.name.size() + 1)));
            auto same = [&](const Item& i) {
                return iequals(i.name, e.name) &&
                       decode_field_text(i.name, unfold(i.text.substr(i.name.size() + 1))) == wanted;
            };
            if (std::any_of(items.begin(), items.end(), same)) break;
            // Removed earlier in this run (--remove 'X-*' --add 'X-A: 1'):
            // it goes back where it was, so that a second run changes nothing.
            if (auto r = std::find_if(removed.begin(), removed.end(), same); r != removed.end()) {
                auto at = std::find_if(items.begin(), items.end(),
                                       [&](const Item& i) { return i.added || i.offset > r->offset; });
                items.insert(at, *r);
                log.change("header " + r->name, "kept (removed, then added again)");
                removed.erase(r);
                break;
            }
            add(e.name, e.value);
            break;
        }
        case HeaderEdit::Kind::set: {
            const std::string text = make_field(e.name, e.value, eol);
            bool first = true;
            for (auto it = items.begin(); it != items.end();) {
                if (!iequals(it->name, e.name)) { ++it; continue; }
                if (first) {
                    first = false;
                    if (it->text != text) {
                        it->text = text;
                        it->name = e.name;
                        it->original = false;
                        log.change("header " + e.name, "set");
                        changed = true;
                    }
                    ++it;
                } else {
                    log.change("header " + it->name, "removed (repeated field after --set)");
                    it = items.erase(it);
                    changed = true;
                }
            }
            if (first) add(e.name, e.value);
            break;
        }
        }
    }
    if (o.strip_bcc)
        remove_if([](const Item& i) { return iequals(i.name, "Bcc") || iequals(i.name, "Resent-Bcc"); },
                  "removed (Bcc)");
    if (!o.add_date.empty() && !has("Date")) add("Date", o.add_date);
    if (!o.add_message_id.empty() && !has("Message-ID")) add("Message-ID", o.add_message_id);
    if (!changed) return false;

    // Write the header back: the bytes between original fields (an mbox
    // From_ line, say) are kept where they were.
    out.clear();
    out.reserve(in.size() + 256);
    std::size_t pos = root.begin;
    out.append(in.substr(0, pos));
    const auto fields = m.headers();
    std::size_t next_original = 0;
    for (const Item& i : items) {
        if (i.original) {
            // Skip (and so remove) originals before this one, keeping the gaps.
            while (next_original < fields.size() && fields[next_original].offset != i.offset) {
                const HeaderField& f = fields[next_original];
                out.append(in.substr(pos, f.offset - pos));
                pos = f.offset + f.raw.size();
                ++next_original;
            }
            if (next_original < fields.size()) {
                const HeaderField& f = fields[next_original];
                out.append(in.substr(pos, f.offset - pos));
                pos = f.offset + f.raw.size();
                ++next_original;
            }
        }
        // A last field without a line break (a message that is only a
        // header) ends its line before a new field.
        if (!i.original && !out.empty() && out.back() != '\n') out += eol;
        out.append(i.text);
    }
    while (next_original < fields.size()) {
        const HeaderField& f = fields[next_original++];
        out.append(in.substr(pos, f.offset - pos));
        pos = f.offset + f.raw.size();
    }
    out.append(in.substr(pos));
    return true;
}

// --- line endings -------------------------------------------------------------------

bool step_line_ending(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log) {
    const bool crlf = o.line_ending == LineEnding::crlf;
    // Binary bodies are data, not lines: they are copied as they are (binary_spans).
    const Message m = parse_message(in, o.limits);
    const std::vector<std::pair<std::size_t, std::size_t>> keep = binary_spans(in, m);
    std::string result;
    result.reserve(in.size() + (crlf ? in.size() / 32 : 0));
    std::size_t pos = 0, converted = 0;
    auto convert = [&](std::size_t end) {
        const std::string_view s = in.substr(pos, end - pos);
        std::size_t i = 0;
        // A line break is LF with the CRs before it (CR CR LF, from a
        // doubled conversion, is one break). A CR alone is not a line
        // break (in a header it would end the field): it stays, for --fix.
        while (i < s.size()) {
            const std::size_t j = s.find('\n', i);
            if (j == std::string_view::npos) { result.append(s.substr(i)); break; }
            std::size_t b = j;
            while (b > i && s[b - 1] == '\r') --b;
            result.append(s.substr(i, b - i));
            const std::size_t len = j + 1 - b;
            const std::string_view was = s.substr(b, len);
            const std::string_view now = crlf ? "\r\n" : "\n";
            if (was != now) ++converted;
            result.append(now);
            i = b + len;
        }
        pos = end;
    };
    for (const auto& [b, e] : keep) {
        convert(b);
        result.append(in.substr(b, e - b));
        pos = e;
    }
    convert(in.size());
    if (converted == 0) return false;
    out = std::move(result);
    log.change("message", std::to_string(converted) + " line break" + (converted == 1 ? "" : "s") +
                              " made " + (crlf ? "CRLF" : "LF"));
    return true;
}

}  // namespace detail

// --- the public API ---------------------------------------------------------------

std::size_t long_line_at(std::string_view s) noexcept {
    // The line checks' scanner passes over every line of at most 998
    // octets (and a CR before its LF) and stops at what is left to judge:
    // a longer line, a bare CR (a line's end on the wire), a NUL.
    constexpr std::size_t kMax = 998;
    const char* p = s.data();
    const std::size_t n = s.size();
    std::size_t line = 0;
    for (std::size_t i = 0;; ++i) {
        i = detail::next_line_event(p, i, n, line, false, kMax);
        if (i >= n) return n - line > kMax ? line : std::string_view::npos;
        if (p[i] == '\0') continue;
        const std::size_t end = p[i] == '\n' && i > line && p[i - 1] == '\r' ? i - 1 : i;
        if (end - line > kMax) return line;
        line = i + 1;
    }
}

std::string_view step_name(RewriteStep s) {
    switch (s) {
    case RewriteStep::fix: return "fix";
    case RewriteStep::headers: return "headers";
    case RewriteStep::to_utf8: return "to-utf8";
    case RewriteStep::seven_bit: return "7bit";
    case RewriteStep::line_limit: return "line-limit";
    case RewriteStep::fold: return "fold";
    case RewriteStep::line_ending: return "line-ending";
    }
    return "?";
}

bool parse_header_edit(std::string_view text, HeaderEdit::Kind kind, HeaderEdit& edit) {
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view name = text.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    for (char ch : name)
        if (static_cast<unsigned char>(ch) < 33 || static_cast<unsigned char>(ch) > 126) return false;
    if (name.empty()) return false;
    std::string_view value = text.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
    // A line break inside the value must fold (be followed by white space):
    // anything else would start a field of its own. Nor may the line it
    // starts be white space only: that is obsolete syntax (RFC 5322 4.2,
    // never generated), and a reader may take it for the header's end.
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && (i + 1 >= value.size() || value[i + 1] != '\n')) return false;
        if (value[i] != '\n') continue;
        std::size_t j = i + 1;
        while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
        if (j == i + 1 || j >= value.size() || value[j] == '\r' || value[j] == '\n') return false;
    }
    edit.kind = kind;
    edit.name = std::string(name);
    edit.value = std::string(value);
    return true;
}

std::string with_header_fields(std::string_view message, const std::vector<std::string>& fields) {
    const std::string_view eol = detail::eol_of(message);
    std::vector<HeaderField> parsed;
    const std::size_t end = parse_header_block(message, parsed);
    std::size_t size = message.size() + 2 * eol.size();
    for (const std::string& f : fields) size += f.size() + eol.size();
    std::string out;
    out.reserve(size);
    out.append(message.substr(0, end));
    // A header whose last line lacks its line break (a message of header
    // only): the fields start on a line of their own.
    if (!out.empty() && out.back() != '\n') out.append(eol);
    for (const std::string& f : fields) out.append(f).append(eol);
    if (message.empty()) out.append(eol);   // the header's end: an empty body
    out.append(message.substr(end));
    return out;
}

RewriteResult rewrite(std::string_view message, const RewriteOptions& options) {
    RewriteResult r;
    if (message.size() > options.limits.max_rewrite_message) {
        r.too_large = true;
        return r;
    }
    // Not mail (an Outlook .msg file, a picture): nothing to repair, and
    // "repairs" such as added fields or normalised line breaks would only
    // damage it.
    if (const std::string_view why = not_mail_reason(parse_message(message, options.limits)); !why.empty()) {
        r.not_mail = std::string(why);
        return r;
    }
    // Each step reads the latest output (the message itself until a step
    // changes it: not copied) and writes the next; the one before is freed
    // at once, so that at most two versions are held besides the input.
    std::string cur, next;
    bool owned = false;   // cur holds the latest version
    const detail::Placer placer(message, options.limits);
    auto latest = [&] { return owned ? std::string_view(cur) : message; };
    bool wrote_since_lines = false;   // a step changed the message after the line breaks were made
    auto run = [&](RewriteStep step, bool on, auto fn) {
        if (!on) return;
        const detail::StepLog log{step, &r.changes, &r.problems, &placer};
        const std::size_t logged = r.changes.size();
        next.clear();
        const bool wrote = fn(latest(), next, options, log);
        if (!wrote || next == latest()) {
            if (wrote) r.changes.resize(logged);   // a rewrite that gave back the same bytes did nothing
            std::string().swap(next);
            return;
        }
        cur.swap(next);
        std::string().swap(next);
        owned = true;
        r.changed = true;
        wrote_since_lines = step != RewriteStep::line_ending;
    };
    const bool edits = !options.edits.empty() || options.strip_bcc || !options.add_date.empty() ||
                       !options.add_message_id.empty();
    // Line breaks are made first, so that every step reads the structure
    // the output will have: CR CR LF (a file converted twice) is one line
    // break, and where it ends a header or a delimiter line, the message
    // read before the conversion is another one (no body, no parts). They
    // are made again last when a step between wrote lines of its own.
    const bool lines = options.line_ending != LineEnding::keep;
    run(RewriteStep::line_ending, lines, detail::step_line_ending);
    run(RewriteStep::fix, options.fix, detail::step_fix);
    run(RewriteStep::headers, edits, detail::step_headers);
    run(RewriteStep::to_utf8, options.to_utf8, detail::step_to_utf8);
    run(RewriteStep::seven_bit, options.seven_bit, detail::step_seven_bit);
    run(RewriteStep::line_limit, options.line_limit, detail::step_line_limit);
    run(RewriteStep::fold, options.fold, detail::step_fold);
    run(RewriteStep::line_ending, lines && wrote_since_lines, detail::step_line_ending);
    if (options.fix) r.remaining = validate(parse_message(latest(), options.limits));
    if (owned) r.output = std::move(cur);
    return r;
}

RewriteResult rewrite_spool_entry(std::string_view entry, const RewriteOptions& options) {
    const SpoolEntry e = parse_spool_entry(entry);
    if (!e.has_separator) {
        RewriteResult r;
        r.problems.push_back({RewriteStep::fix, "envelope",
                              "no empty line between the envelope and the message; entry left as it is"});
        return r;
    }
    RewriteResult r = rewrite(e.message, options);
    if (r.refused()) return r;
    for (Change& c : r.problems)
        if (c.offset != std::string::npos) c.offset += e.message_offset;
    std::string envelope(entry.substr(0, e.message_offset));
    bool envelope_changed = false;
    // BODY=8BITMIME on a message that is now 7-bit is dropped.
    if (options.seven_bit && r.problems.empty() && first_non_ascii(r.text(e.message)) == std::string::npos) {
        if (const EnvelopeLine* mail = e.mail()) {
            for (const EsmtpParam& p : mail->params) {
                if (!iequals(p.keyword, "BODY")) continue;
                if (!iequals(p.value, "8BITMIME") && !iequals(p.value, "BINARYMIME")) continue;
                // The parameter's text, with the space before it.
                const std::size_t at = p.offset;
                std::size_t b = at;
                while (b > mail->offset && (entry[b - 1] == ' ' || entry[b - 1] == '\t')) --b;
                const std::size_t end = at + p.keyword.size() + 1 + p.value.size();
                envelope.erase(b, end - b);
                r.changes.push_back({RewriteStep::seven_bit, "envelope", "BODY=" + std::string(p.value) + " dropped"});
                envelope_changed = true;
                break;
            }
        }
    }
    // A message that came out 8-bit (--to-utf8 of a 7-bit charset, --fix
    // relabelling) from a 7-bit one needs BODY=8BITMIME (RFC 6152).
    if (r.changed && first_non_ascii(e.message) == std::string::npos &&
        first_non_ascii(r.output) != std::string::npos && e.body_type().empty()) {
        if (const EnvelopeLine* mail = e.mail()) {
            const std::size_t at = mail->offset + mail->text.size();
            envelope.insert(at, " BODY=8BITMIME");
            r.changes.push_back({options.to_utf8 ? RewriteStep::to_utf8 : RewriteStep::fix, "envelope",
                                 "BODY=8BITMIME added"});
            envelope_changed = true;
        }
    }
    if (options.line_ending != LineEnding::keep) {
        const std::string converted = options.line_ending == LineEnding::crlf ? to_crlf(envelope) : to_lf(envelope);
        if (converted != envelope) {
            envelope = converted;
            envelope_changed = true;
        }
    }
    // Offsets of the remaining defects are moved to the entry (unchanged,
    // the envelope is the entry's own).
    for (Defect& d : r.remaining) d.offset += envelope.size();
    if (!r.changed && !envelope_changed) return r;
    if (!r.changed) r.output = std::string(e.message);
    r.changed = true;
    r.output.insert(0, envelope);
    return r;
}

std::string make_message_id(std::string_view seed, std::time_t t, std::string_view domain) {
    // FNV-1a, 64 bits, twice with different offsets: 128 bits of the seed.
    auto fnv = [&](std::uint64_t h) {
        for (char c : seed) {
            h ^= static_cast<unsigned char>(c);
            h *= 0x100000001b3ULL;
        }
        return h;
    };
    const std::uint64_t a = fnv(0xcbf29ce484222325ULL), b = fnv(0x84222325cbf29ce4ULL);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d.%016llx%08llx", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<unsigned long long>(a), static_cast<unsigned long long>(b >> 32));
    return "<" + std::string(buf) + "@" + std::string(domain) + ">";
}

std::string rewrite_json(std::string_view source, std::uint64_t index, const RewriteResult& r, std::string_view input,
                         bool fix, std::uint64_t first_line, std::span<const std::size_t> unquoted_lines) {
    Json j;
    j.begin_object().key("source").value(source).key("index").value(index).key("changed").value(r.changed);
    if (!r.not_mail.empty()) j.key("not_mail").value(r.not_mail);
    if (r.too_large) j.key("too_large").value(true);
    const LineIndex input_lines(input);
    for (const auto* list : {&r.changes, &r.problems}) {
        j.key(list == &r.changes ? "changes" : "problems").begin_array();
        for (const Change& c : *list) {
            j.begin_object().key("step").value(step_name(c.step)).key("where").value(c.where).key("what").value(c.what);
            if (c.offset != std::string::npos) {
                const LineCol lc = input_lines.locate(c.offset);
                j.key("line").value(first_line + lc.line - 1)
                    .key("column").value(archive_column(unquoted_lines, c.offset, lc.column));
            }
            j.end_object();
        }
        j.end_array();
    }
    if (fix) {
        const LineIndex lines(r.text(input));
        j.key("remaining").begin_array();
        for (const Defect& d : r.remaining) {
            const LineCol lc = lines.locate(d.offset);
            j.begin_object().key("defect").value(d.info().code).key("severity").value(severity_name(d.info().severity))
                .key("line").value(static_cast<std::uint64_t>(lc.line))
                .key("column").value(static_cast<std::uint64_t>(lc.column))
                .key("repairable").value(!d.info().repair.empty()).end_object();
        }
        j.end_array();
    }
    j.end_object();
    return j.str();
}

}  // namespace msg
