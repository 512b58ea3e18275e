// message.cpp - the MIME tree: entities, boundaries, embedded messages.
//
// RFC 2046 5.1.1:
//   dash-boundary := "--" boundary
//   delimiter     := CRLF dash-boundary
//   close-delimiter := delimiter "--"
// A delimiter line may carry trailing white space (transport padding). The
// line break before a delimiter belongs to it. Each multipart scans only its
// own byte range for its own boundary, so a nested part that never closes
// ends where its parent's next boundary is found.
#include "msg/message.hpp"

#include <algorithm>
#include <cstring>

#include "msg/charset.hpp"

namespace msg {

class MessageParser {
public:
    MessageParser(Message& m, std::string_view data, const Limits& limits)
        : m_(m), limits_(limits) {
        m_.data_ = data;
    }

    void parse() {
        m_.entities_.reserve(4);
        parse_entity(0, m_.data_.size(), false, 0, -1);
        utf8_inside_global();
    }

    // UTF-8 header text is allowed inside a message/global part of any
    // message (RFC 6532 3.7: that type exists to carry one through mail
    // that is not), where it must be valid UTF-8 instead of 7-bit: its
    // header.8bit defects are dropped, header.utf8-invalid said instead.
    void utf8_inside_global() {
        std::vector<std::pair<std::size_t, std::size_t>> spans;   // [begin, end), in document order
        for (const Entity& e : m_.entities_)
            if (e.kind == EntityKind::message && e.content_type.is("message", "global") && e.first_child >= 0 &&
                (spans.empty() || e.begin >= spans.back().second)) {
                const Entity& inner = m_.entities_[static_cast<std::size_t>(e.first_child)];
                spans.emplace_back(inner.begin, inner.end);
            }
        if (spans.empty()) return;
        const auto inside = [&](std::size_t off) {
            auto it = std::upper_bound(spans.begin(), spans.end(), off,
                                       [](std::size_t o, const auto& span) { return o < span.first; });
            return it != spans.begin() && off < (it - 1)->second;
        };
        auto& d = m_.defects_;
        d.erase(std::remove_if(d.begin(), d.end(),
                               [&](const Defect& x) { return x.code == DefectCode::Header8Bit && inside(x.offset); }),
                d.end());
        for (const Entity& e : m_.entities_)
            if (inside(e.begin))
                for (const HeaderField& f : m_.fields(e))
                    if (const std::size_t bad = first_invalid_utf8(f.raw); bad != std::string_view::npos)
                        defect(DefectCode::HeaderUtf8Invalid, f.offset + bad, std::string(f.name));
    }

private:
    std::string_view data() const { return m_.data_; }
    void defect(DefectCode c, std::size_t off, std::string detail = {}) {
        m_.defects_.push_back({c, off, std::move(detail)});
    }

    // Parse the entity occupying [begin, end); returns its index.
    std::int32_t parse_entity(std::size_t begin, std::size_t end, bool digest_child,
                              std::uint16_t depth, std::int32_t parent);
    void read_mime_fields(Entity& e);
    void parse_multipart(std::int32_t idx, const std::string& boundary);

    Message& m_;
    const Limits& limits_;
};

namespace {

inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }

struct Delimiter {
    std::size_t break_begin;  // start of the line break before "--" (or the line start)
    std::size_t line_end;     // first byte after the delimiter line's line break
    bool close;
};

// Is there a delimiter line for `b` at line start `p` (data[p] == '-')?
// Fills the end of the line when so.
bool match_delimiter(std::string_view d, std::size_t p, std::size_t end, std::string_view b,
                     std::size_t& line_end, bool& close) {
    std::size_t need = 2 + b.size();
    if (end - p < need || d[p + 1] != '-' || d.compare(p + 2, b.size(), b) != 0) return false;
    std::size_t i = p + need;
    close = false;
    if (end - i >= 2 && d[i] == '-' && d[i + 1] == '-') {
        close = true;
        i += 2;
    }
    while (i < end && is_wsp(d[i])) ++i;
    if (i == end) {
        line_end = end;
        return true;
    }
    if (d[i] == '\n') {
        line_end = i + 1;
        return true;
    }
    if (d[i] == '\r' && (i + 1 == end || d[i + 1] == '\n')) {
        line_end = i + 1 < end ? i + 2 : end;
        return true;
    }
    return false;
}

// Next delimiter of `b` in [from, end). A delimiter starts a line: at
// `line_start_ok` position `from` itself counts as a line start.
bool find_delimiter(std::string_view d, std::size_t from, std::size_t end, std::string_view b,
                    bool from_is_line_start, Delimiter& out) {
    const char* base = d.data();
    std::size_t p = from;
    while (p < end) {
        const void* hit = std::memchr(base + p, '-', end - p);
        if (!hit) return false;
        std::size_t q = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
        bool line_start = (q == from && from_is_line_start) || (q > from && base[q - 1] == '\n');
        if (line_start) {
            std::size_t line_end;
            bool close;
            if (match_delimiter(d, q, end, b, line_end, close)) {
                std::size_t bb = q;
                if (q > from && base[q - 1] == '\n') {
                    bb = q - 1;
                    if (bb > from && base[bb - 1] == '\r') --bb;
                }
                out = {bb, line_end, close};
                return true;
            }
            // skip the rest of this "--..." run quickly
        }
        p = q + 1;
    }
    return false;
}

}  // namespace

void MessageParser::read_mime_fields(Entity& e) {
    const HeaderField* ct = nullptr;
    const HeaderField* cte = nullptr;
    const HeaderField* cd = nullptr;
    // The first of each; a second is a defect (readers that take the last disagree).
    auto take = [&](const HeaderField*& slot, const HeaderField& f) {
        if (!slot) slot = &f;
        else defect(DefectCode::MimeFieldDuplicate, f.offset, std::string(f.name));
    };
    for (const HeaderField& f : m_.fields(e)) {
        if (f.name.size() < 12 || (f.name[0] | 0x20) != 'c' || f.name[7] != '-') continue;
        if (f.name.size() == 12 && iequals(f.name, "content-type")) take(ct, f);
        else if (f.name.size() == 25 && iequals(f.name, "content-transfer-encoding")) take(cte, f);
        else if (f.name.size() == 19 && iequals(f.name, "content-disposition")) take(cd, f);
    }
    if (ct) {
        e.has_content_type = true;
        ContentType context_default = std::move(e.content_type);
        e.content_type = parse_content_type(ct->value, &m_.defects_, ct->value_offset(), limits_);
        if (!e.content_type.valid) {
            // Invalid: the context's default type (message/rfc822 in a
            // digest), keeping the parameters that did parse.
            e.has_content_type = false;
            e.content_type.type = std::move(context_default.type);
            e.content_type.subtype = std::move(context_default.subtype);
        }
    }
    if (cte) {
        e.encoding = parse_transfer_encoding(cte->value);
        // RFC 2045 6.3: an x- token is a legal private encoding; any other
        // value is not (uuencode and uue are the old spellings of x-uuencode,
        // decoded as such).
        const std::string_view token = transfer_encoding_token(cte->value);
        const std::size_t token_offset = cte->value_offset() + static_cast<std::size_t>(token.data() - cte->value.data());
        if (token.size() > 2 && (token[0] | 0x20) == 'x' && token[1] == '-')
            defect(DefectCode::PrivateEncoding, token_offset, std::string(token));
        else if (e.encoding == TransferEncoding::unknown || e.encoding == TransferEncoding::uuencode)
            defect(DefectCode::UnknownEncoding, token_offset, std::string(token));
        // RFC 2045 6.1: the mechanism alone ("base64;", "base64 gzip" are
        // read as base64 here, as an unknown encoding by other readers).
        if (const std::string_view rest = transfer_encoding_rest(cte->value); !rest.empty())
            defect(DefectCode::ParamSyntax,
                   cte->value_offset() + static_cast<std::size_t>(rest.data() - cte->value.data()),
                   "Content-Transfer-Encoding takes no parameters: " +
                       std::string(token.empty() ? std::string_view("7bit") : token) + " is read");
    }
    if (cd) {
        e.has_disposition = true;
        e.disposition = parse_content_disposition(cd->value, &m_.defects_, cd->value_offset(), limits_);
    }
}

std::int32_t MessageParser::parse_entity(std::size_t begin, std::size_t end, bool digest_child,
                                         std::uint16_t depth, std::int32_t parent) {
    auto idx = static_cast<std::int32_t>(m_.entities_.size());
    m_.entities_.emplace_back();
    {
        Entity& e = m_.entities_.back();
        e.begin = begin;
        e.end = end;
        e.depth = depth;
        e.parent = parent;
        e.first_field = static_cast<std::uint32_t>(m_.fields_.size());
        std::size_t hend = begin + parse_header_block(data().substr(begin, end - begin), m_.fields_,
                                                      &m_.defects_, begin, limits_);
        e.field_count = static_cast<std::uint32_t>(m_.fields_.size() - e.first_field);
        e.header_end = hend;
        std::string_view d = data();
        if (hend < end && d[hend] == '\n') {
            e.body_begin = hend + 1;
        } else if (hend < end && d[hend] == '\r' && hend + 1 < end && d[hend + 1] == '\n') {
            e.body_begin = hend + 2;
        } else if (hend + 1 == end && d[hend] == '\r') {
            e.body_begin = end;
        } else {
            e.body_begin = hend;
            // A header-only message (no body) needs no empty line; a body
            // line met inside the header block was reported already.
        }
        if (digest_child) {
            e.content_type.type = "message";
            e.content_type.subtype = "rfc822";
        }
        read_mime_fields(e);
    }

    Entity& e = m_.entities_[static_cast<std::size_t>(idx)];
    const ContentType& ct = e.content_type;
    if (ct.type == "multipart") {
        const std::string* b = ct.param("boundary");
        const std::size_t ct_at = m_.field_offset(e, "Content-Type");
        if (!b || b->empty()) {
            defect(DefectCode::BoundaryMissing, ct_at);
            return idx;
        }
        if (depth >= limits_.max_depth) {
            defect(DefectCode::NestingTooDeep, e.body_begin);
            return idx;
        }
        if (b->size() > limits_.max_boundary_length) {
            defect(DefectCode::BoundaryOverLimit, ct_at,
                   std::to_string(b->size()) + " characters, limit " + std::to_string(limits_.max_boundary_length));
            return idx;
        }
        std::string boundary = *b;  // e may move while children are added
        parse_multipart(idx, boundary);
        return idx;
    }
    if (ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global") &&
        (e.encoding == TransferEncoding::seven_bit || e.encoding == TransferEncoding::eight_bit ||
         e.encoding == TransferEncoding::binary)) {
        if (depth >= limits_.max_depth) {
            defect(DefectCode::NestingTooDeep, e.body_begin);
            return idx;
        }
        if (m_.entities_.size() >= limits_.max_parts) {
            defect(DefectCode::TooManyParts, e.body_begin);
            return idx;
        }
        e.kind = EntityKind::message;
        std::size_t bb = e.body_begin, be = e.end;
        std::int32_t child = parse_entity(bb, be, false, static_cast<std::uint16_t>(depth + 1), idx);
        m_.entities_[static_cast<std::size_t>(idx)].first_child = child;
    }
    return idx;
}

void MessageParser::parse_multipart(std::int32_t idx, const std::string& boundary) {
    std::string_view d = data();
    std::size_t body_begin, end;
    std::uint16_t depth;
    bool digest;
    {
        const Entity& e = m_.entities_[static_cast<std::size_t>(idx)];
        body_begin = e.body_begin;
        end = e.end;
        depth = e.depth;
        digest = e.content_type.subtype == "digest";
    }

    Delimiter first;
    if (!find_delimiter(d, body_begin, end, boundary, true, first)) {
        defect(DefectCode::BoundaryNotFound, body_begin, boundary);
        return;  // stays a leaf: the whole body is its content
    }
    // Count the parts first, so that a limit applies before any is added.
    std::vector<Delimiter> delims{first};
    while (!delims.back().close) {
        Delimiter next;
        if (!find_delimiter(d, delims.back().line_end, end, boundary, true, next)) break;
        delims.push_back(next);
    }
    // The close delimiter ends the last part; it does not start one. A
    // close delimiter with no part before it (RFC 2046 5.1.1 wants one at
    // least) leaves the text before it as the only content: it is read as
    // one part without a header, text/plain, as Python shows it.
    const bool no_part = first.close;
    const std::size_t parts = no_part ? 1 : delims.size() - (delims.back().close ? 1 : 0);
    if (m_.entities_.size() + parts > limits_.max_parts) {
        defect(DefectCode::TooManyParts, body_begin);
        return;
    }
    {
        Entity& e = m_.entities_[static_cast<std::size_t>(idx)];
        e.kind = EntityKind::multipart;
        e.preamble_begin = body_begin;
        e.preamble_end = no_part ? body_begin : first.break_begin;
        if (delims.back().close) {
            e.epilogue_begin = delims.back().line_end;
            e.epilogue_end = end;
        } else {
            e.epilogue_begin = e.epilogue_end = end;
        }
    }
    auto child_depth = static_cast<std::uint16_t>(depth + 1);
    if (no_part) {
        std::size_t at = first.break_begin;
        while (at < end && (d[at] == '\r' || d[at] == '\n')) ++at;
        defect(DefectCode::NoBodyPart, at, boundary);
        auto c = static_cast<std::int32_t>(m_.entities_.size());
        Entity& part = m_.entities_.emplace_back();
        part.begin = part.header_end = part.body_begin = body_begin;
        part.end = first.break_begin;
        part.first_field = static_cast<std::uint32_t>(m_.fields_.size());
        part.depth = child_depth;
        part.parent = idx;
        m_.entities_[static_cast<std::size_t>(idx)].first_child = c;
        return;
    }
    std::int32_t prev = -1;
    for (std::size_t k = 0; k < delims.size(); ++k) {
        if (delims[k].close) break;
        std::size_t cb = delims[k].line_end;
        std::size_t ce = k + 1 < delims.size() ? delims[k + 1].break_begin : end;
        if (ce < cb) ce = cb;
        // Two delimiter lines in a row: a part of no bytes, which Python
        // drops and others keep. An empty line between them is an empty
        // body part by RFC 2046's grammar (the delimiter's CRLF is that
        // line's), which every reader keeps: no defect.
        if (ce == cb && k + 1 < delims.size() && d[cb] == '-')
            defect(DefectCode::EmptyPart, delims[k + 1].break_begin, boundary);
        std::int32_t c = parse_entity(cb, ce, digest, child_depth, idx);
        if (prev < 0)
            m_.entities_[static_cast<std::size_t>(idx)].first_child = c;
        else
            m_.entities_[static_cast<std::size_t>(prev)].next_sibling = c;
        prev = c;
    }
    if (!delims.back().close) {
        // At the end of the last line, not on a line after it.
        std::size_t at = end;
        if (at > body_begin && d[at - 1] == '\n') --at;
        if (at > body_begin && d[at - 1] == '\r') --at;
        defect(DefectCode::BoundaryUnclosed, at, boundary);
    }
}

Message parse_message(std::string_view data, const Limits& limits) {
    Message m;
    MessageParser p(m, data, limits);
    p.parse();
    return m;
}

std::string_view not_mail_reason(const Message& m) noexcept {
    const std::string_view d = m.data();
    if (d.empty()) return "empty input, not a message";
    if (!m.headers().empty()) return {};
    const std::string_view first = d.substr(0, d.find('\n'));
    if (first.find(':') == std::string_view::npos) return "not a message: no header field at the start";
    for (std::size_t i = 0; i < first.size(); ++i) {
        const auto c = static_cast<unsigned char>(first[i]);
        // CR is a line break of old Mac files (line.bare-cr, which --fix
        // repairs), not binary data
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
            return "not a message: binary data (control bytes on the first line)";
    }
    return {};
}

const HeaderField* Message::field(const Entity& e, std::string_view name) const noexcept {
    for (const HeaderField& f : fields(e))
        if (f.name.size() == name.size() && iequals(f.name, name)) return &f;
    return nullptr;
}

std::vector<std::size_t> Message::leaves() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < entities_.size(); ++i)
        if (entities_[i].kind == EntityKind::leaf) out.push_back(i);
    return out;
}

std::string Message::section(std::size_t i) const {
    const Entity& e = entities_[i];
    if (e.parent < 0) return e.kind == EntityKind::multipart ? std::string() : std::string("1");
    auto p = static_cast<std::size_t>(e.parent);
    std::string ps = section(p);
    if (entities_[p].kind == EntityKind::message) {
        // the embedded message's root: a multipart shares its container's
        // number, anything else is its first (only) part
        if (e.kind == EntityKind::multipart) return ps;
        return ps.empty() ? std::string("1") : ps + ".1";
    }
    std::size_t n = 1;
    for (std::int32_t c = entities_[p].first_child; c >= 0 && static_cast<std::size_t>(c) != i;
         c = entities_[static_cast<std::size_t>(c)].next_sibling)
        ++n;
    return ps.empty() ? std::to_string(n) : ps + "." + std::to_string(n);
}

std::ptrdiff_t Message::find_section(std::string_view s) const {
    for (std::size_t i = 0; i < entities_.size(); ++i)
        if (section(i) == s) return static_cast<std::ptrdiff_t>(i);
    return -1;
}

void Message::decode(const Entity& e, std::string& out, Defects* defects) const {
    DecodeStatus st;
    decode_transfer(body(e), e.encoding, out, &st);
    decode_defects(e, st, defects);
}

void Message::decode_each(const Entity& e, const std::function<void(std::string_view)>& sink,
                          Defects* defects) const {
    DecodeStatus st;
    decode_transfer_each(body(e), e.encoding, sink, &st);
    decode_defects(e, st, defects);
}

namespace {

// The defects of a decoder status `st` for `size` bytes of encoded data at
// offset `base`, whose data ends (white space aside) at `base + end`.
void status_defects(std::size_t size, std::size_t end, std::size_t base, const DecodeStatus& st, Defects& out) {
    const std::size_t at = base + (st.first_bad < size ? st.first_bad : 0);
    if (st.bad_chars) out.push_back({DefectCode::Base64BadChar, at, {}});
    // At the '=' out of place, else where the data ends inside a group.
    if (st.bad_padding)
        out.push_back(
            {DefectCode::Base64BadPadding, base + (st.first_bad_padding < size ? st.first_bad_padding : end), {}});
    if (st.bad_escapes) out.push_back({DefectCode::QpBadEscape, at, {}});
    if (st.uu_no_begin) out.push_back({DefectCode::UuNoBegin, base, {}});
    if (st.uu_bad_lines)
        out.push_back({DefectCode::UuBadLine, at, std::to_string(st.uu_bad_lines) + (st.uu_bad_lines == 1 ? " line" : " lines")});
    if (st.uu_no_end) out.push_back({DefectCode::UuNoEnd, base + end, {}});
}

}  // namespace

void Message::decode_defects(const Entity& e, const DecodeStatus& st, Defects* defects) const {
    if (!defects || st.clean()) return;
    const std::string_view b = body(e);
    status_defects(b.size(), encoded_data_end(b), e.body_begin, st, *defects);
}

bool may_hold_uu_files(const Entity& e) { return e.content_type.is("text", "plain"); }

void Message::decode_each(const Entity& e, const std::function<void(std::string_view)>& sink, Defects* defects,
                          const UuScanner::Handler& uu) const {
    if (!may_hold_uu_files(e)) return decode_each(e, sink, defects);
    Defects found;  // placed in the content, until the body is decoded
    // The caller's handler, passed on: each lambda holds one pointer, so
    // that no std::function here allocates (this runs for every text part).
    struct Ctx {
        const UuScanner::Handler& uu;
        Defects* defects;
        Defects& found;
    } ctx{uu, defects, found};
    UuScanner::Handler h;
    if (uu.begin) h.begin = [c = &ctx](const UuBlock& b) { c->uu.begin(b); };
    if (uu.data) h.data = [c = &ctx](std::string_view d) { c->uu.data(d); };
    h.end = [c = &ctx](const UuBlock& b, const DecodeStatus& st) {
        if (c->defects && !st.clean()) status_defects(b.end - b.begin, b.data_end - b.begin, b.begin, st, c->found);
        if (c->uu.end) c->uu.end(b, st);
    };
    UuScanner scan(std::move(h));
    decode_each(e, [&](std::string_view slice) {
        sink(slice);
        scan.step(slice);
    }, defects);
    scan.finish();
    if (found.empty()) return;
    // Moved to the buffer line by line, all in one pass.
    std::vector<std::size_t> order(found.size()), at;
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return found[x].offset < found[y].offset; });
    for (std::size_t k : order) at.push_back(found[k].offset);
    at = content_offsets(e, at);
    for (std::size_t k = 0; k < order.size(); ++k) found[order[k]].offset = at[k];
    defects->insert(defects->end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
}

std::size_t Message::content_offset(const Entity& e, std::size_t decoded) const {
    return content_offsets(e, {decoded}).front();
}

std::vector<std::size_t> Message::content_offsets(const Entity& e, const std::vector<std::size_t>& decoded) const {
    const std::string_view b = body(e);
    std::vector<std::size_t> at(decoded.size());
    auto identity = [&] {
        for (std::size_t k = 0; k < decoded.size(); ++k) at[k] = e.body_begin + std::min(decoded[k], b.size());
    };
    // Decoded line by line, a long line in pieces: only sizes are kept.
    auto by_lines = [&](auto& decoder) {
        constexpr std::size_t kPiece = std::size_t{1} << 20;
        std::string out;
        std::size_t total = 0, line = 0, k = 0;
        while (line < b.size() && k < decoded.size()) {
            const std::size_t nl = b.find('\n', line);
            const std::size_t next = nl == std::string_view::npos ? b.size() : nl + 1;
            for (std::size_t at_ = line; at_ < next; at_ += kPiece) {
                decoder.step(b.substr(at_, std::min(kPiece, next - at_)), out);
                total += out.size();
                out.clear();
            }
            if (next == b.size()) decoder.finish(out);
            total += out.size();
            out.clear();
            for (; k < decoded.size() && total > decoded[k]; ++k) at[k] = e.body_begin + line;
            line = next;
        }
        // Past the content: the last line.
        const std::size_t last = e.body_begin + (b.empty() ? 0 : b.rfind('\n', b.size() - 1 - (b.back() == '\n')) + 1);
        for (; k < decoded.size(); ++k) at[k] = last;
    };
    switch (e.encoding) {
    case TransferEncoding::base64: {
        Base64Decoder d;
        by_lines(d);
        break;
    }
    case TransferEncoding::quoted_printable: {
        QuotedPrintableDecoder d;
        by_lines(d);
        break;
    }
    case TransferEncoding::uuencode: {
        // Without a begin line the body is its content (decode_each): the
        // offsets are its own.
        UuDecoder d;
        d.forget_before();
        by_lines(d);
        if (!b.empty() && d.status().uu_no_begin) identity();
        break;
    }
    default:
        identity();
    }
    return at;
}

std::string Message::filename(const Entity& e) const {
    if (e.has_disposition)
        if (const std::string* f = e.disposition.param("filename")) return *f;
    // message/external-body's name is the remote file's (RFC 2046 5.2.3.3:
    // a path, for local-file and anon-ftp), not what to save the part as.
    if (const std::string* n = e.content_type.param("name");
        n && !(e.content_type.type == "message" && e.content_type.subtype == "external-body"))
        return *n;
    if (e.encoding == TransferEncoding::uuencode) {
        // The name on the begin line of the uuencoded data.
        const std::string_view b = body(e);
        for (std::size_t pos = 0; pos < b.size();) {
            const std::size_t nl = std::min(b.find('\n', pos), b.size());
            std::string mode, name;
            if (uu_begin_line(b.substr(pos, nl - pos), &mode, &name)) return name;
            pos = nl + 1;
        }
    }
    return {};
}

std::string Message::charset(const Entity& e) const {
    if (const std::string* c = e.content_type.param("charset")) return to_lower_ascii(*c);
    return {};
}

}  // namespace msg
