// message_header.cpp - splitting a header block into fields.
//
// RFC 5322 2.2:  field = field-name ":" field-body CRLF
//                field-name = 1*ftext ; printable US-ASCII except ":"
// A line that begins with WSP continues the previous field (folding, 2.2.3).
// The block ends at the first empty line. Lines may end in CRLF or bare LF.
//
// Leniency, each case a defect:
//  - white space between the name and the colon is accepted (obsolete
//    syntax, RFC 5322 4.5);
//  - a continuation line before any field is skipped;
//  - a "From " envelope line is skipped (silently on the very first line,
//    where mbox-style files carry it);
//  - a line with no colon, or a name with bytes outside ftext, ends the
//    header block: it is the first line of the body (before any field: the
//    entity has no header block and lacks the empty line before its body).
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "msg/message.hpp"

namespace msg {
namespace {

inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }

inline bool is_ftext(unsigned char c) { return c >= 33 && c <= 126 && c != ':'; }

// The first byte of [p, p+n) with the high bit set, the first NUL, and the
// first other control character (C0 but tab, CR and LF, or DEL: CR alone
// is line.bare-cr's, LF ends lines), each npos when there is none. One pass,
// a block at a time: a block is looked at byte by byte only when it holds
// a control character or a byte with the high bit (a line break does).
struct OddBytes {
    std::size_t high = std::string_view::npos, nul = std::string_view::npos,
                control = std::string_view::npos;
};

inline void look_at(const char* p, std::size_t from, std::size_t to, OddBytes& odd) {
    for (std::size_t i = from; i < to; ++i) {
        const auto c = static_cast<unsigned char>(p[i]);
        if (c & 0x80) {
            if (odd.high == std::string_view::npos) odd.high = i;
        } else if (c == 0) {
            if (odd.nul == std::string_view::npos) odd.nul = i;
        } else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F) {
            if (odd.control == std::string_view::npos) odd.control = i;
        }
    }
}

inline OddBytes odd_bytes(const char* p, std::size_t n) {
    OddBytes odd;
    std::size_t i = 0;
#if defined(__SSE2__)
    // 16 at a time: a signed compare with 0x20 finds the bytes below it and
    // those with the high bit (negative) in one go; tab, CR and LF are taken
    // out, DEL added. The last block overlaps the one before it (a byte seen
    // twice is recorded once: only the first of each kind is kept); a field
    // shorter than a block is looked at in a copy padded with spaces.
    const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F), tab = _mm_set1_epi8('\t'),
                  cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    const auto odd_in = [&](const char* at) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        const __m128i odd_or_break = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del));
        if (!_mm_movemask_epi8(odd_or_break)) return false;   // most blocks
        const __m128i breaks = _mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
        return _mm_movemask_epi8(_mm_andnot_si128(breaks, odd_or_break)) != 0;
    };
    if (n < 16) {
        char block[16];
        std::memset(block, ' ', sizeof block);
        std::memcpy(block, p, n);
        if (odd_in(block)) look_at(p, 0, n, odd);
        return odd;
    }
    for (; i + 16 <= n; i += 16)
        if (odd_in(p + i)) look_at(p, i, i + 16, odd);
    if (i < n && odd_in(p + n - 16)) look_at(p, n - 16, n, odd);
    return odd;
#else
    constexpr std::uint64_t k01 = 0x0101010101010101ULL, k80 = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        const std::uint64_t low7 = w & ~k80;
        // A byte below 0x20 has no carry into its top bit from adding 0x60;
        // DEL (0x7F) is the one that gets one from adding 1.
        const std::uint64_t control = (~(low7 + 0x60 * k01) | (low7 + k01)) & ~w & k80;
        if ((w & k80) | control) look_at(p, i, i + 8, odd);
    }
    look_at(p, i, n, odd);
    return odd;
#endif
}

void check_bytes(const HeaderField& f, Defects* defects) {
    // Its final line break left out, an unfolded field (most are) is looked
    // at byte by byte only where it holds an odd byte.
    std::size_t n = f.raw.size();
    if (n > 0 && f.raw[n - 1] == '\n') --n;
    if (n > 0 && f.raw[n - 1] == '\r') --n;
    const OddBytes odd = odd_bytes(f.raw.data(), n);
    if (odd.high != std::string_view::npos)
        defects->push_back({DefectCode::Header8Bit, f.offset + odd.high, std::string(f.name)});
    if (odd.nul != std::string_view::npos)
        defects->push_back({DefectCode::HeaderNul, f.offset + odd.nul, std::string(f.name)});
    if (odd.control != std::string_view::npos)
        defects->push_back({DefectCode::HeaderControl, f.offset + odd.control, std::string(f.name)});
}

}  // namespace

std::size_t parse_header_block(std::string_view data, std::vector<HeaderField>& fields,
                               Defects* defects, std::size_t base, const Limits& limits) {
    const char* const start = data.data();
    const std::size_t n = data.size();
    std::size_t pos = 0;
    std::size_t first = fields.size();
    bool open = false;  // a field is open for continuation lines
    auto close_open = [&](std::size_t end) {
        if (!open) return;
        HeaderField& f = fields.back();
        std::size_t fbeg = f.offset - base;
        f.raw = std::string_view(start + fbeg, end - fbeg);
        // value runs to the end of the last line, less its line break
        std::size_t vend = end;
        if (vend > fbeg && start[vend - 1] == '\n') {
            --vend;
            if (vend > fbeg && start[vend - 1] == '\r') --vend;
        }
        const char* vbeg = f.value.data();
        f.value = std::string_view(vbeg, static_cast<std::size_t>(start + vend - vbeg));
        if (defects) check_bytes(f, defects);
        open = false;
    };

    while (pos < n) {
        const char* nl = static_cast<const char*>(std::memchr(start + pos, '\n', n - pos));
        std::size_t next = nl ? static_cast<std::size_t>(nl - start) + 1 : n;
        std::size_t eol = nl ? static_cast<std::size_t>(nl - start) : n;
        if (eol > pos && start[eol - 1] == '\r') --eol;
        if (eol == pos && (nl || pos + 1 == n)) {
            // the empty line ("\n", "\r\n"; or a lone trailing "\r")
            close_open(pos);
            return pos;
        }
        // The block holds at most max_header_bytes: a line that would end
        // past it is not taken (one field of megabytes on one line would
        // else be read whole, whatever the limit).
        if (next > limits.max_header_bytes) {
            close_open(pos);
            if (defects) defects->push_back({DefectCode::HeaderBlockTooLarge, base + pos, {}});
            return pos;
        }
        char c0 = start[pos];
        if (is_wsp(c0)) {
            if (open) {  // folded continuation of the open field
                pos = next;
                continue;
            }
            // a continuation with no field to continue is skipped
            if (fields.size() == first && defects)
                defects->push_back({DefectCode::HeaderFirstContinuation, base + pos, {}});
            pos = next;
            continue;
        }
        // field-name, then optional WSP, then ':'
        std::size_t i = pos;
        while (i < eol && is_ftext(static_cast<unsigned char>(start[i]))) ++i;
        std::size_t name_end = i;
        while (i < eol && is_wsp(start[i])) ++i;
        bool has_colon = i < eol && start[i] == ':';
        if (!has_colon || name_end == pos) {
            if (eol - pos >= 5 && std::memcmp(start + pos, "From ", 5) == 0) {
                // An envelope line: silently skipped at the very start of the
                // buffer (mbox-style files), a defect anywhere else.
                close_open(pos);
                if (defects && base + pos != 0)
                    defects->push_back({DefectCode::HeaderEnvelopeLine, base + pos, {}});
                pos = next;
                continue;
            }
            close_open(pos);
            if (defects) {
                // A name with a bad byte ("Subj\x80ect:") or a space inside
                // ("X Mailer:") before a colon, rather than a line with no colon.
                const void* colon = name_end < eol ? std::memchr(start + name_end, ':', eol - name_end) : nullptr;
                // ... or no name at all (": text"): a field name has one
                // character at least (RFC 5322 2.2).
                const bool no_name = has_colon && name_end == pos;
                bool bad_name = no_name || (colon != nullptr && start[name_end] != ':');
                if (bad_name && is_wsp(start[name_end])) {
                    // only ftext and blanks up to the colon: a name with a space in it
                    for (const char* q = start + name_end; q < static_cast<const char*>(colon); ++q)
                        if (!is_wsp(*q) && !is_ftext(static_cast<unsigned char>(*q))) bad_name = false;
                }
                // Before any field, a line that is no header line at all
                // means there is no header block, and the body does not
                // begin with the empty line (RFC 2046 5.1.1 body-part).
                const DefectCode code = bad_name                 ? DefectCode::HeaderBadFieldName
                                        : fields.size() == first ? DefectCode::HeaderNoSeparator
                                                                 : DefectCode::HeaderMissingColon;
                std::string what;
                if (no_name) {
                    what = "no name before the colon";
                } else if (bad_name) {
                    const auto c = static_cast<unsigned char>(start[name_end]);
                    if (eol - name_end >= 3 && std::memcmp(start + name_end, "\xEF\xBB\xBF", 3) == 0)
                        what = name_end == 0 && base == 0 ? "a UTF-8 byte-order mark before the first field"
                                                          : "a UTF-8 byte-order mark";
                    else if (is_wsp(static_cast<char>(c))) what = "a space";
                    else {
                        static constexpr char hex[] = "0123456789ABCDEF";
                        what = std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
                    }
                }
                defects->push_back({code, base + (bad_name ? name_end : pos), std::move(what)});
            }
            return pos;  // this line begins the body
        }
        close_open(pos);
        if (fields.size() - first >= limits.max_header_fields) {
            if (defects) defects->push_back({DefectCode::HeaderTooManyFields, base + pos, {}});
            return pos;
        }
        if (name_end != i && defects)
            defects->push_back({DefectCode::HeaderSpaceBeforeColon, base + name_end, {}});
        HeaderField f;
        f.name = std::string_view(start + pos, name_end - pos);
        f.offset = base + pos;
        f.value = std::string_view(start + i + 1, 0);
        fields.push_back(f);
        open = true;
        pos = next;
    }
    close_open(n);
    return n;
}

}  // namespace msg
