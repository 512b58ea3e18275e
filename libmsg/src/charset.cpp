// charset.cpp - ICU conversion with the fallbacks described in charset.hpp.
#include "msg/charset.hpp"

#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>

namespace msg {
namespace {

std::string lower_trim(std::string_view name) {
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t' || name.front() == '"'))
        name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t' || name.back() == '"'))
        name.remove_suffix(1);
    std::string s(name.substr(0, 64));
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// latin: us-ascii and iso-8859-1 (decoded as windows-1252); cp1252: windows-1252 itself
enum class Fast { none, utf8, latin, cp1252 };

bool one_of(const std::string& n, std::initializer_list<std::string_view> names) {
    for (std::string_view x : names)
        if (n == x) return true;
    return false;
}

Fast fast_kind(const std::string& n) {
    if (n == "utf-8" || n == "utf8") return Fast::utf8;
    if (one_of(n, {"windows-1252", "cp1252", "x-cp1252"})) return Fast::cp1252;
    if (one_of(n, {"us-ascii", "ascii", "ansi_x3.4-1968", "iso-8859-1", "iso8859-1", "iso88591", "iso_8859-1",
                   "iso_8859-1:1987", "latin1", "latin-1", "l1", "cp819", "ibm819", "iso-ir-100", "csisolatin1"}))
        return Fast::latin;
    return Fast::none;
}

bool is_ascii_name(const std::string& n) { return one_of(n, {"us-ascii", "ascii", "ansi_x3.4-1968"}); }

// Labels decoded with a superset, as the WHATWG Encoding Standard and the
// mail readers that follow it do: the superset decodes every byte sequence
// of the declared charset to the same character (GB2312's two dashes
// excepted, see docs/parsing.md) and also the extensions that mail so
// labelled carries (most "gb2312" mail is GBK, most "euc-kr" mail is
// windows-949). The key is the lower-case label; the value, the converter.
struct Superset { std::string_view label, decoder; };
constexpr Superset kSupersets[] = {
    {"gb2312", "gb18030"},          {"gbk", "gb18030"},            {"x-gbk", "gb18030"},
    {"csgb2312", "gb18030"},        {"csiso58gb231280", "gb18030"}, {"gb_2312", "gb18030"},
    {"gb_2312-80", "gb18030"},      {"iso-ir-58", "gb18030"},      {"chinese", "gb18030"},
    {"euc-cn", "gb18030"},          {"cp936", "gb18030"},          {"windows-936", "gb18030"},
    {"euc-kr", "windows-949"},      {"cseuckr", "windows-949"},    {"ks_c_5601-1987", "windows-949"},
    {"ks_c_5601-1989", "windows-949"}, {"ksc5601", "windows-949"}, {"ksc_5601", "windows-949"},
    {"csksc56011987", "windows-949"}, {"iso-ir-149", "windows-949"}, {"korean", "windows-949"},
    {"tis-620", "windows-874"},     {"iso-8859-11", "windows-874"}, {"iso8859-11", "windows-874"},
    {"iso885911", "windows-874"},   {"dos-874", "windows-874"},
    {"iso-8859-9", "windows-1254"}, {"iso8859-9", "windows-1254"}, {"iso88599", "windows-1254"},
    {"iso_8859-9", "windows-1254"}, {"iso_8859-9:1989", "windows-1254"}, {"iso-ir-148", "windows-1254"},
    {"latin5", "windows-1254"},     {"l5", "windows-1254"},        {"csisolatin5", "windows-1254"},
    {"iso-8859-8-i", "iso-8859-8"}, {"csiso88598i", "iso-8859-8"}, {"logical", "iso-8859-8"},
};

// The converter that decodes label `n` (lower case, trimmed).
std::string decoder_for(const std::string& n) {
    for (const Superset& s : kSupersets)
        if (n == s.label) return std::string(s.decoder);
    return n;
}

struct ConverterCloser {
    void operator()(UConverter* c) const { ucnv_close(c); }
};
using Converter = std::unique_ptr<UConverter, ConverterCloser>;

Converter open_converter(const std::string& name) {
    UErrorCode err = U_ZERO_ERROR;
    UConverter* c = ucnv_open(name.c_str(), &err);
    if (U_FAILURE(err)) {
        if (c) ucnv_close(c);
        return nullptr;
    }
    return Converter(c);
}

// windows-1252 0x80..0x9F; 0 marks the five undefined positions.
constexpr std::array<char16_t, 32> kCp1252High = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
    0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};


// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid.
inline std::size_t utf8_seq(std::string_view s, std::size_t i) noexcept {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    std::size_t n = s.size() - i;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (b(i + 1) & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
        if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 ||
            (b(i + 3) & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
        if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // past U+10FFFF
        return 4;
    }
    return 0;
}

// True when s[i..] is the start of a valid sequence that the end of `s`
// cuts short: the next slice may complete it.
bool utf8_incomplete(std::string_view s, std::size_t i) noexcept {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    const std::size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    const std::size_t have = s.size() - i;
    if (need == 0 || have >= need) return false;
    for (std::size_t k = 1; k < have; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return false;
    if (have >= 2) {
        const unsigned char d = b(i + 1);
        if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d >= 0xA0) || (c == 0xF0 && d < 0x90) || (c == 0xF4 && d >= 0x90))
            return false;
    }
    return true;
}

bool stateful_type(UConverter* c) {
    switch (ucnv_getType(c)) {
    case UCNV_ISO_2022: case UCNV_HZ: case UCNV_UTF7: case UCNV_IMAP_MAILBOX: case UCNV_SCSU:
    case UCNV_BOCU1: case UCNV_EBCDIC_STATEFUL: case UCNV_ISCII: case UCNV_UTF16: case UCNV_UTF32:
        return true;
    default:
        return false;
    }
}

// Do the 128 US-ASCII bytes decode, one by one, as themselves?
bool ascii_identity(UConverter* c) {
    if (stateful_type(c)) return false;
    char in[128];
    for (int k = 0; k < 128; ++k) in[k] = static_cast<char>(k);
    UChar u[256];
    UErrorCode err = U_ZERO_ERROR;
    const int32_t n = ucnv_toUChars(c, u, 256, in, 128, &err);
    ucnv_resetToUnicode(c);
    if (U_FAILURE(err) || n != 128) return false;
    for (int k = 0; k < 128; ++k)
        if (u[k] != k) return false;
    return true;
}

}  // namespace

void put_utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::size_t first_non_ascii(std::string_view s) noexcept {
    const char* p = s.data();
    const std::size_t n = s.size();
    std::size_t i = 0;
#if defined(__SSE2__)
    // 64 bytes a step: their high bits ORed, looked at once.
    for (; n - i >= 64; i += 64) {
        const auto* q = reinterpret_cast<const __m128i*>(p + i);
        const __m128i a = _mm_loadu_si128(q), b = _mm_loadu_si128(q + 1), c = _mm_loadu_si128(q + 2),
                      d = _mm_loadu_si128(q + 3);
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0) break;
    }
#endif
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ULL) break;
    }
    for (; i < n; ++i)
        if (static_cast<unsigned char>(p[i]) >= 0x80) return i;
    return std::string_view::npos;
}

std::size_t first_invalid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {  // not between two sequences (non-Latin text)
            const std::size_t ascii = first_non_ascii(s.substr(i));  // skip ASCII fast
            if (ascii == std::string_view::npos) break;
            i += ascii;
        }
        std::size_t n = utf8_seq(s, i);
        if (n == 0) return i;
        i += n;
    }
    return std::string_view::npos;
}

bool is_valid_utf8(std::string_view s) noexcept { return first_invalid_utf8(s) == std::string_view::npos; }

std::size_t utf8_char_length(std::string_view s, std::size_t i) noexcept {
    if (const std::size_t n = utf8_seq(s, i)) return n;
    // A maximal subpart is at most three bytes (a four-byte sequence cut
    // before its last).
    std::size_t k = 1;
    while (k < 3 && i + k < s.size() && utf8_incomplete(s.substr(0, i + k + 1), i)) ++k;
    return k;
}

std::string canonical_charset(std::string_view name) {
    std::string n = lower_trim(name);
    if (n.empty()) return {};
    switch (fast_kind(n)) {
    case Fast::utf8: return "utf-8";
    case Fast::cp1252: return "windows-1252";
    case Fast::latin: return is_ascii_name(n) ? "us-ascii" : "iso-8859-1";
    case Fast::none: break;
    }
    // The name this converter has in the MIME (else IANA) standard.
    // (ucnv_getCanonicalName would answer ICU's internal name, such as
    // "ibm-878_p100-1996" for koi8-r.)
    UErrorCode err = U_ZERO_ERROR;
    const char* canon = ucnv_getStandardName(n.c_str(), "MIME", &err);
    if (U_FAILURE(err) || !canon) {
        err = U_ZERO_ERROR;
        canon = ucnv_getStandardName(n.c_str(), "IANA", &err);
    }
    if (U_SUCCESS(err) && canon) return lower_trim(canon);
    // Known to ICU under a non-IANA alias: keep the name as given; a label
    // only our table knows ("x-gbk") has the name of its decoder.
    if (Converter c = open_converter(n)) return n;
    if (const std::string d = decoder_for(n); d != n) return canonical_charset(d);
    return {};
}

bool charset_known(std::string_view name) {
    std::string n = lower_trim(name);
    if (n.empty()) return false;
    if (fast_kind(n) != Fast::none) return true;
    return static_cast<bool>(open_converter(decoder_for(n)));
}

bool charset_stateful(std::string_view name) {
    const std::string n = lower_trim(name);
    if (fast_kind(n) != Fast::none) return false;
    Converter c = open_converter(decoder_for(n));
    return c && stateful_type(c.get());
}

bool charset_one_byte(std::string_view name) { return TextDecoder(name).one_byte(); }

bool charset_is_ascii(std::string_view name) { return is_ascii_name(lower_trim(name)); }

std::string bad_sequences(std::string_view charset, std::size_t bad) {
    return std::string(charset) + ": " + std::to_string(bad) + (bad == 1 ? " sequence" : " sequences");
}

std::string decoding_charset(std::string_view name) {
    const std::string n = lower_trim(name);
    switch (fast_kind(n)) {
    case Fast::utf8: return "utf-8";
    case Fast::latin:
    case Fast::cp1252: return "windows-1252";
    case Fast::none: break;
    }
    if (std::string d = decoder_for(n); d != n) return d;
    return canonical_charset(n);
}

struct TextDecoder::Icu {
    Converter conv;
    char16_t lead = 0;  // a lead surrogate that the last output ended with
    bool hkscs = false; // Big5-HKSCS: ICU's private-use code points remapped (hkscs_standard)
};

namespace {

// ICU's Big5-HKSCS table (ibm-1375, HKSCS-2004) gives 36 characters as
// private-use code points that HKSCS-2008, the Encoding Standard's big5
// index and other decoders give as the Unicode characters encoded since:
// the CJK strokes U+31C0-U+31CF, U+9FA6-U+9FB3, U+23DA and U+23DB, and
// four letters with two diacritics as two code points. A reader shows the
// private-use ones as boxes. The standard code point(s), or {0, 0}.
std::array<char32_t, 2> hkscs_standard(char32_t pua) {
    struct Map {
        char16_t pua;
        char32_t a, b;
    };
    static constexpr Map kMap[] = {
        {0xF303, 0x31C0, 0}, {0xF304, 0x31C1, 0}, {0xF305, 0x31C2, 0}, {0xF306, 0x31C3, 0},
        {0xF307, 0x31C4, 0}, {0xF309, 0x31C5, 0}, {0xF30C, 0x31C6, 0}, {0xF30D, 0x31C7, 0},
        {0xF310, 0x31C8, 0}, {0xF312, 0x31C9, 0}, {0xF313, 0x31CA, 0}, {0xF314, 0x31CB, 0},
        {0xF315, 0x31CC, 0}, {0xF317, 0x31CD, 0}, {0xF318, 0x31CE, 0}, {0xF325, 0x00CA, 0x0304},
        {0xF327, 0x00CA, 0x030C}, {0xF344, 0x00EA, 0x0304}, {0xF346, 0x00EA, 0x030C}, {0xF34A, 0x23DA, 0},
        {0xF34B, 0x23DB, 0}, {0xF57A, 0x9FA6, 0}, {0xF5A4, 0x9FA7, 0}, {0xF5AB, 0x9FA8, 0},
        {0xF5CC, 0x9FA9, 0}, {0xF5CE, 0x9FAA, 0}, {0xF5D0, 0x9FAB, 0}, {0xF5D5, 0x9FAC, 0},
        {0xF5EC, 0x9FAD, 0}, {0xF5ED, 0x9FAE, 0}, {0xF5EF, 0x9FAF, 0}, {0xF602, 0x9FB2, 0},
        {0xF61C, 0x9FB3, 0}, {0xF7E5, 0x31CF, 0}, {0xF7EB, 0x9FB0, 0}, {0xF7ED, 0x9FB1, 0},
    };
    const auto it = std::lower_bound(std::begin(kMap), std::end(kMap), pua,
                                     [](const Map& m, char32_t v) { return m.pua < v; });
    if (it == std::end(kMap) || it->pua != pua) return {0, 0};
    return {it->a, it->b};
}

}  // namespace

TextDecoder::TextDecoder(std::string_view charset) {
    const std::string n = lower_trim(charset);
    switch (fast_kind(n)) {
    case Fast::utf8: kind_ = Kind::utf8; break;
    case Fast::latin:
        kind_ = Kind::latin;
        one_byte_ = !is_ascii_name(n);
        break;
    case Fast::cp1252:
        kind_ = Kind::cp1252;
        one_byte_ = true;
        break;
    case Fast::none:
        if (Converter c = open_converter(decoder_for(n))) {
            // Stop at each illegal sequence (ICU has consumed it) to count it.
            UErrorCode err = U_ZERO_ERROR;
            ucnv_setToUCallBack(c.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &err);
            kind_ = Kind::icu;
            // Asked once per converter and thread (keyed by ICU's name for
            // it: labels are many, converters a few hundred).
            struct Traits {
                bool ascii_transparent = false, one_byte = false;
            };
            thread_local std::unordered_map<std::string, Traits> known;
            UErrorCode e2 = U_ZERO_ERROR;
            const char* conv_name = ucnv_getName(c.get(), &e2);
            const auto [it, added] = known.try_emplace(U_SUCCESS(e2) && conv_name ? conv_name : n);
            if (added)
                it->second = {ascii_identity(c.get()),
                              ucnv_getType(c.get()) == UCNV_SBCS && ucnv_getMaxCharSize(c.get()) == 1};
            ascii_transparent_ = it->second.ascii_transparent;
            one_byte_ = it->second.one_byte;
            const bool hkscs = U_SUCCESS(e2) && conv_name && std::string_view(conv_name).starts_with("ibm-1375");
            icu_ = std::make_unique<Icu>(Icu{std::move(c), 0, hkscs});
        }
        return;
    }
    ascii_transparent_ = true;
}

TextDecoder::~TextDecoder() = default;
TextDecoder::TextDecoder(TextDecoder&&) noexcept = default;

void TextDecoder::step(std::string_view in, std::string* out) {
    switch (kind_) {
    case Kind::unknown: return;
    case Kind::utf8: utf8_step(in, out, false); break;
    case Kind::icu: icu_step(in, out, false); break;
    case Kind::latin:
        if (!out) break;  // every byte decodes: nothing to count
        [[fallthrough]];
    case Kind::cp1252: {
        // The five bytes windows-1252 leaves undefined are bad under its
        // own label; under iso-8859-1 they are the C1 controls they stand for.
        const bool holes_bad = kind_ == Kind::cp1252;
        if (out) out->reserve(out->size() + in.size() + in.size() / 4);
        for (std::size_t i = 0; i < in.size(); ++i) {
            const auto c = static_cast<unsigned char>(in[i]);
            if (c >= 0x80 && c < 0xA0) {
                char16_t u = kCp1252High[c - 0x80];
                if (u == 0 && !holes_bad) {
                    u = c;
                } else if (u == 0) {
                    note_bad(pos_ + i);
                    u = 0xFFFD;
                }
                if (out) put_utf8(u, *out);
            } else if (out) {
                put_utf8(c, *out);
            } else if (c < 0x80) {
                const std::size_t more = first_non_ascii(in.substr(i + 1));  // only counting: skip ASCII
                if (more == std::string_view::npos) break;
                i += more;
            }
        }
        break;
    }
    }
    pos_ += in.size();
}

bool TextDecoder::pending() const noexcept {
    if (kind_ == Kind::utf8) return !carry_.empty();
    if (kind_ != Kind::icu) return false;
    UErrorCode err = U_ZERO_ERROR;
    return ucnv_toUCountPending(icu_->conv.get(), &err) > 0 && U_SUCCESS(err);
}

void TextDecoder::finish(std::string* out) {
    if (kind_ == Kind::utf8) utf8_step({}, out, true);
    if (kind_ == Kind::icu) icu_step({}, out, true);
}

// UTF-8 is checked and copied; each maximal subpart of an ill-formed
// sequence (utf8_char_length) is one bad sequence, one U+FFFD, as ICU's
// converter and the JSON writer have it. A start that the slice cuts is
// carried until it is whole or cannot be.
void TextDecoder::utf8_step(std::string_view in, std::string* out, bool last) {
    if (!out && carry_.empty() && is_valid_utf8(in)) return;  // only counting, and nothing to count
    if (out) out->reserve(out->size() + in.size() + carry_.size());
    // The sequence at s[i], s[i] being byte `at` of the text: its length
    // (copied, or its maximal subpart's, as U+FFFD), or 0 when the slice
    // cuts it.
    auto one = [&](std::string_view s, std::size_t i, std::size_t at) -> std::size_t {
        if (const std::size_t n = utf8_seq(s, i); n > 0) {
            if (out) out->append(s.data() + i, n);
            return n;
        }
        if (!last && utf8_incomplete(s, i)) return 0;
        note_bad(at);
        if (out) out->append("\xEF\xBF\xBD");
        return utf8_char_length(s, i);
    };
    std::size_t i = 0;
    if (!carry_.empty()) {
        // The sequences that start in the carried bytes: at most three
        // bytes of this slice complete them.
        const std::size_t c = carry_.size();
        std::string head = carry_;
        head.append(in.substr(0, 3));
        std::size_t h = 0;
        while (h < c) {
            const std::size_t n = one(head, h, pos_ - c + h);
            if (n == 0) {  // still cut (a slice of a byte or two)
                carry_ = head.substr(h);
                return;
            }
            h += n;
        }
        carry_.clear();
        i = h - c;
    }
    while (i < in.size()) {
        if (static_cast<unsigned char>(in[i]) < 0x80) {
            const std::size_t ascii = first_non_ascii(in.substr(i));
            const std::size_t n = ascii == std::string_view::npos ? in.size() - i : ascii;
            if (out) out->append(in.data() + i, n);
            i += n;
            continue;
        }
        const std::size_t n = one(in, i, pos_ + i);
        if (n == 0) {
            carry_.assign(in.substr(i));
            return;
        }
        i += n;
    }
}

// ICU's converter carries partial sequences and its shift state between
// slices itself (flush only at the end).
void TextDecoder::icu_step(std::string_view in, std::string* out, bool last) {
    UConverter* conv = icu_->conv.get();
    const char* src = in.data();
    const char* const src_end = in.data() + in.size();
    std::array<char16_t, 2048> buf;
    std::size_t carry = 0;  // a lead surrogate kept for the next chunk
    if (icu_->lead) {
        buf[0] = icu_->lead;
        icu_->lead = 0;
        carry = 1;
    }
    auto emit = [&](const char16_t* p, const char16_t* end) {
        for (; out && p < end; ++p) {
            std::uint32_t cp = *p;
            if (cp >= 0xD800 && cp <= 0xDBFF && p + 1 < end && p[1] >= 0xDC00 && p[1] <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (p[1] - 0xDC00);
                ++p;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            } else if (icu_->hkscs && cp >= 0xF303 && cp <= 0xF7ED) {
                if (const auto std_cp = hkscs_standard(cp); std_cp[0]) {
                    put_utf8(std_cp[0], *out);
                    if (std_cp[1]) put_utf8(std_cp[1], *out);
                    continue;
                }
            }
            put_utf8(cp, *out);
        }
    };
    for (;;) {
        UChar* target = buf.data() + carry;
        UErrorCode err = U_ZERO_ERROR;
        ucnv_toUnicode(conv, &target, buf.data() + buf.size(), &src, src_end, nullptr, last, &err);
        // The output may end between the two halves of a surrogate pair:
        // keep the lead for the next chunk (or slice).
        carry = 0;
        if ((err == U_BUFFER_OVERFLOW_ERROR || (!last && U_SUCCESS(err))) && target > buf.data() &&
            target[-1] >= 0xD800 && target[-1] <= 0xDBFF) {
            --target;
            carry = 1;
        }
        emit(buf.data(), target);
        if (carry) buf[0] = *target;
        if (err == U_BUFFER_OVERFLOW_ERROR) continue;
        if (U_FAILURE(err)) {
            // An illegal or unmappable sequence: the converter has consumed
            // it (its bytes may have begun in an earlier slice).
            char invalid[32];
            int8_t len = sizeof invalid;
            UErrorCode e2 = U_ZERO_ERROR;
            ucnv_getInvalidChars(conv, invalid, &len, &e2);
            // Bytes read past it that wait in the converter (it cannot put
            // them back into an earlier slice) come after it too.
            UErrorCode e3 = U_ZERO_ERROR;
            const int32_t pending = ucnv_toUCountPending(conv, &e3);
            const std::size_t after = (U_SUCCESS(e2) ? static_cast<std::size_t>(len) : 1) +
                                      (U_SUCCESS(e3) && pending > 0 ? static_cast<std::size_t>(pending) : 0);
            const std::size_t consumed = pos_ + static_cast<std::size_t>(src - in.data());
            note_bad(consumed >= after ? consumed - after : 0);
            if (out) put_utf8(0xFFFD, *out);
            if (src < src_end) continue;
        }
        break;
    }
    if (carry) icu_->lead = buf[0];
}

bool to_utf8(std::string_view bytes, std::string_view charset, std::string& out,
             std::size_t* bad, std::size_t* first_bad) {
    TextDecoder d(charset);
    if (!d.known()) return false;
    d.step(bytes, &out);
    d.finish(&out);
    if (bad) *bad = d.bad();
    if (first_bad && d.bad()) *first_bad = d.first_bad();
    return true;
}

bool from_utf8(std::string_view utf8, std::string_view charset, std::string& out,
               std::size_t* unmappable) {
    std::string n = lower_trim(charset);
    Fast k = fast_kind(n);
    if (k == Fast::utf8) return to_utf8(utf8, "utf-8", out, unmappable);
    Converter to = open_converter((k == Fast::latin && !is_ascii_name(n)) || k == Fast::cp1252
                                      ? std::string("windows-1252")
                                      : n);
    if (!to) return false;
    Converter from8 = open_converter("utf-8");
    if (!from8) return false;
    std::size_t nbad = 0;
    // UTF-8 -> UTF-16 -> target, counting unmappable characters via the
    // number of substitution events reported by a stop callback.
    std::u16string u16;
    {
        UErrorCode err = U_ZERO_ERROR;
        u16.resize(utf8.size() + 1);
        int32_t len = ucnv_toUChars(from8.get(), u16.data(), static_cast<int32_t>(u16.size()),
                                    utf8.data(), static_cast<int32_t>(utf8.size()), &err);
        if (U_FAILURE(err)) return false;
        u16.resize(static_cast<std::size_t>(len));
    }
    UErrorCode err = U_ZERO_ERROR;
    ucnv_setFromUCallBack(to.get(), UCNV_FROM_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &err);
    const UChar* src = u16.data();
    const UChar* src_end = u16.data() + u16.size();
    std::array<char, 4096> buf;
    for (;;) {
        char* target = buf.data();
        err = U_ZERO_ERROR;
        ucnv_fromUnicode(to.get(), &target, buf.data() + buf.size(), &src, src_end, nullptr, true,
                         &err);
        out.append(buf.data(), static_cast<std::size_t>(target - buf.data()));
        if (err == U_BUFFER_OVERFLOW_ERROR) continue;
        if (U_FAILURE(err)) {
            ++nbad;
            char sub[8];
            int8_t sublen = sizeof sub;
            UErrorCode e2 = U_ZERO_ERROR;
            ucnv_getSubstChars(to.get(), sub, &sublen, &e2);
            if (U_SUCCESS(e2)) out.append(sub, static_cast<std::size_t>(sublen));
            ucnv_resetFromUnicode(to.get());
            if (src >= src_end) break;
            continue;
        }
        break;
    }
    if (unmappable) *unmappable = nbad;
    return true;
}

std::string printable_lines(std::string_view s) {
    std::string out;
    for (;;) {
        const std::size_t nl = s.find('\n');
        out += printable(s.substr(0, nl));
        if (nl == std::string_view::npos) return out;
        out += '\n';
        s.remove_prefix(nl + 1);
    }
}

std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto escape = [&](unsigned char c) {
        static const char hex[] = "0123456789abcdef";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
    };
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\t') {
            out += '\t';
            ++i;
            continue;
        }
        if (const std::size_t unsafe = unsafe_char_length(s, i)) {
            for (std::size_t k = 0; k < unsafe; ++k) escape(static_cast<unsigned char>(s[i + k]));
            i += unsafe;
            continue;
        }
        if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        // A well-formed UTF-8 sequence is kept; any other byte escaped.
        const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (len && i + len <= s.size() && is_valid_utf8(s.substr(i, len))) {
            out.append(s.substr(i, len));
            i += len;
            continue;
        }
        escape(c);
        ++i;
    }
    return out;
}

}  // namespace msg
