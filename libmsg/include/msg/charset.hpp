// charset.hpp - conversion between charsets and UTF-8, through ICU.
//
// Charset names are matched as ICU matches them (IANA names and aliases,
// case-insensitive). Decoding follows what mail readers do, as the WHATWG
// Encoding Standard writes it down, and is the same everywhere in libmsg:
//  - a label whose charset has a superset that mail so labelled relies on
//    is decoded with the superset: us-ascii and iso-8859-1 as windows-1252,
//    gb2312 and gbk as gb18030, euc-kr and ks_c_5601-1987 as windows-949,
//    tis-620 and iso-8859-11 as windows-874, iso-8859-9 as windows-1254
//    (the table is in docs/parsing.md, "Charsets");
//  - bytes that still do not decode become U+FFFD and are counted.
// No shared state: a converter is opened per call or TextDecoder (UTF-8,
// ASCII and Latin-1 take a fast path without ICU); each thread remembers
// which charsets are ASCII-transparent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace msg {

// True when ICU knows this charset name (or one of our fallbacks covers it).
bool charset_known(std::string_view name);

// The canonical lower-case name ("utf-8", "iso-8859-1", "windows-1252"),
// or "" when the name is unknown.
std::string canonical_charset(std::string_view name);

// True for a charset whose decoding carries state from byte to byte
// (ISO-2022-*, UTF-7, HZ, UTF-16 and UTF-32 with a byte order mark, ...):
// two pieces of text in it cannot be decoded as one by joining them.
bool charset_stateful(std::string_view name);

// True for a US-ASCII label ("us-ascii", "ascii", "ANSI_X3.4-1968"): text
// in it is decoded as windows-1252, as readers do, but an 8-bit byte in it
// is a byte the label does not declare (RFC 2046 4.1.2).
bool charset_is_ascii(std::string_view name);

// What charset.bad-bytes says of `bad` sequences that do not decode in
// `charset`: "utf-8: 2 sequences".
std::string bad_sequences(std::string_view charset, std::size_t bad);

// True for a known charset of one byte a character (iso-8859-*,
// windows-125*, koi8-r, ...), US-ASCII aside: every byte is text in it.
bool charset_one_byte(std::string_view name);

// The canonical name of the charset that decodes text labelled `name`
// ("gb18030" for gb2312, "windows-1252" for iso-8859-1), or "" when the
// label is unknown.
std::string decoding_charset(std::string_view name);

// Convert `bytes` in `charset` to UTF-8, appended to `out`. Returns false
// (and leaves `out` unchanged) when the charset is unknown. `bad` receives
// the number of byte sequences that did not decode (replaced by U+FFFD),
// `first_bad` the offset in `bytes` of the first of them (left alone when
// there is none).
bool to_utf8(std::string_view bytes, std::string_view charset, std::string& out,
             std::size_t* bad = nullptr, std::size_t* first_bad = nullptr);

// to_utf8() in slices: text of any size fed in any split gives the same
// UTF-8 and the same counts as to_utf8() on the whole (a sequence cut by a
// slice is carried to the next one; ICU's converters carry their state,
// and are not reset after a bad sequence). The first bad offset is the
// same too, but for UTF-16 (and BOCU-1), where a cut may place it a byte
// or two late: ICU holds those bytes where no interface shows them.
// With `out` null only the counts are kept, so that a checker's memory
// does not follow the text's size.
class TextDecoder {
public:
    explicit TextDecoder(std::string_view charset);
    ~TextDecoder();
    TextDecoder(TextDecoder&&) noexcept;
    TextDecoder& operator=(TextDecoder&&) = delete;

    // False for a charset that neither ICU nor the fallbacks know: step()
    // and finish() then do nothing.
    bool known() const noexcept { return kind_ != Kind::unknown; }
    // True when US-ASCII bytes decode as themselves and leave no state, so
    // that a text's ASCII prefix need not be fed (UTF-8, the ISO-8859 and
    // windows single-byte sets, EUC, GB18030, Big5; not UTF-16, UTF-7,
    // ISO-2022, EBCDIC, or ICU's Shift_JIS, which maps a few controls).
    bool ascii_transparent() const noexcept { return ascii_transparent_; }
    // One byte a character (iso-8859-*, windows-125*, koi8-r, ...; not
    // US-ASCII): charset_one_byte() of the label.
    bool one_byte() const noexcept { return one_byte_; }

    void step(std::string_view bytes, std::string* out);
    // The end of the text: a sequence left incomplete is bad.
    void finish(std::string* out);

    // True when the bytes fed so far end inside a character: a sequence
    // begun waits for bytes of the next slice (finish() would call it bad).
    bool pending() const noexcept;

    std::size_t bad() const noexcept { return bad_; }
    // Offset of the first bad sequence in all the bytes fed, npos when none.
    std::size_t first_bad() const noexcept { return first_bad_; }
    // Bytes fed so far; skip() moves it on, for text not fed (an ASCII
    // prefix, when ascii_transparent()) that offsets count from.
    std::size_t position() const noexcept { return pos_; }
    void skip(std::size_t n) noexcept { pos_ += n; }

private:
    enum class Kind : unsigned char { unknown, utf8, latin, cp1252, icu };
    struct Icu;
    void utf8_step(std::string_view in, std::string* out, bool last);
    void icu_step(std::string_view in, std::string* out, bool last);
    void note_bad(std::size_t at) noexcept {
        if (bad_++ == 0) first_bad_ = at;
    }

    Kind kind_ = Kind::unknown;
    bool ascii_transparent_ = false;
    bool one_byte_ = false;
    std::unique_ptr<Icu> icu_;
    std::string carry_;  // UTF-8: the start of a sequence that the last slice cut
    std::size_t pos_ = 0, bad_ = 0, first_bad_ = static_cast<std::size_t>(-1);
};

// Convert UTF-8 to `charset`, appended to `out`. Returns false when the
// charset is unknown. `unmappable` receives the number of characters that
// the charset cannot represent (written as its substitute character).
bool from_utf8(std::string_view utf8, std::string_view charset, std::string& out,
               std::size_t* unmappable = nullptr);

// RFC 3629 well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;
// Offset of the first byte where `s` stops being well-formed UTF-8 (the
// start of a bad or cut sequence), or npos when it is well-formed.
std::size_t first_invalid_utf8(std::string_view s) noexcept;

// Code point `cp` (a Unicode scalar value) appended to `out` as UTF-8.
void put_utf8(std::uint32_t cp, std::string& out);

// The length of the UTF-8 sequence at s[i] (i < s.size()) when it is
// valid, else of its maximal subpart (Unicode 3.9: the longest start of a
// valid sequence there, at least one byte), which a decoder (WHATWG's,
// ICU's, Python's) shows as one U+FFFD: one character either way.
std::size_t utf8_char_length(std::string_view s, std::size_t i) noexcept;

// Offset of the first byte >= 0x80 (8-bit data), or npos when `s` is
// US-ASCII. Eight bytes at a time: bodies are large.
std::size_t first_non_ascii(std::string_view s) noexcept;

// The one rule for what text from elsewhere may not carry as it is to a
// terminal, a log, a one-line record or a file name: the length of the
// character at s[i] (i < s.size()) when it is one of these, else 0:
//   - a control character: C0 (tab included; callers that keep tabs say
//     so), DEL, and C1 (U+0080..U+009F) in UTF-8;
//   - a bidirectional embedding, override or isolate (U+202A..U+202E,
//     U+2066..U+2069), which reorders the text after it:
//     "invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf";
//   - the line and paragraph separators U+2028 and U+2029, line breaks to
//     editors, browsers and JavaScript.
// Bytes that are not well-formed UTF-8 are for each caller to handle (0
// here).
// Inline: the JSON writer asks it of every byte.
inline std::size_t unsafe_char_length(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
    const unsigned c = b(i);
    if (c < 0x20 || c == 0x7f) return 1;
    // C1 controls: C2 80..C2 9F.
    if (c == 0xC2) return b(i + 1) >= 0x80 && b(i + 1) <= 0x9F ? 2 : 0;
    if (c != 0xE2) return 0;
    // U+2028..U+202E: E2 80 A8..AE; U+2066..U+2069: E2 81 A6..A9.
    const unsigned c1 = b(i + 1), c2 = b(i + 2);
    if (c1 == 0x80 && c2 >= 0xA8 && c2 <= 0xAE) return 3;
    if (c1 == 0x81 && c2 >= 0xA6 && c2 <= 0xA9) return 3;
    return 0;
}

// Text from elsewhere (a server's reply, a message's field) made safe to
// show on a terminal or store on one line: the characters of
// unsafe_char_length() but tab become "\xHH" escapes, one per byte
// (U+202E is "\xe2\x80\xae"), bytes that are not UTF-8 become "\xHH" too,
// a backslash stays as it is. Printable text comes back unchanged.
std::string printable(std::string_view s);
// printable() of each line of `s`, the line feeds between them kept: text
// of several lines (a report, a diagnostic) shown as lines.
std::string printable_lines(std::string_view s);

}  // namespace msg
