// codec.cpp - base64, quoted-printable, dot-stuffing, line endings.
#include "msg/codec.hpp"

#include "detail/codec_simd.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace msg {
namespace {

// 0..63 for the alphabet, kSkip for line breaks and blanks (ignored without a
// defect), kPad for '=', kBad for everything else.
constexpr std::uint8_t kSkip = 0xFD, kPad = 0xFE, kBad = 0xFF;

constexpr std::array<std::uint8_t, 256> make_b64_table() {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = kBad;
    const char* alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alpha[i])] = static_cast<std::uint8_t>(i);
    t['\r'] = t['\n'] = t[' '] = t['\t'] = kSkip;
    t['='] = kPad;
    return t;
}
constexpr auto kB64 = make_b64_table();
constexpr char kB64Alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kHex[] = "0123456789ABCDEF";

constexpr int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

inline void note_bad_padding(DecodeStatus& st, std::size_t pos) {
    if (st.first_bad_padding == static_cast<std::size_t>(-1)) st.first_bad_padding = pos;
}

inline void note_bad(DecodeStatus& st, std::size_t pos) {
    if (st.first_bad == static_cast<std::size_t>(-1)) st.first_bad = pos;
}

}  // namespace

// --- base64 ----------------------------------------------------------------

void Base64Decoder::reset() { *this = Base64Decoder{kernel_}; }

void Base64Decoder::step(std::string_view in, std::string& out) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t n = in.size();
    // Decode straight into `out`, grown once to the most this step can give
    // (3 bytes per 4 input bytes, a group carried over from the last step,
    // 2 bytes of a padded end, what a vector loop may write past its end) and
    // trimmed afterwards: appending 3 bytes at a time costs more than the
    // decoding itself.
    const std::size_t old = out.size();
    out.resize(old + n / 4 * 3 + 8 + detail::kBase64RunSlack);
    char* w = out.data() + old;
    // The vector loop, when this CPU has one and the input is long enough.
    const detail::Base64RunFn run = n >= 32 ? detail::base64_run_for(kernel_) : nullptr;
    std::size_t i = 0;
    while (i < n) {
        // Fast path: whole clean groups while no group is in progress.
        if (count_ == 0 && pad_ == 0 && !ended_) {
            if (run) {
                const detail::CodecRun r = run(p + i, n - i, w);
                i += r.read;
                w += r.written;
            }
            while (i + 4 <= n) {
                std::uint8_t a = kB64[p[i]], b = kB64[p[i + 1]], c = kB64[p[i + 2]], d = kB64[p[i + 3]];
                if ((a | b | c | d) & 0xC0) break;
                std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) |
                                  (std::uint32_t{c} << 6) | d;
                w[0] = static_cast<char>(v >> 16);
                w[1] = static_cast<char>(v >> 8);
                w[2] = static_cast<char>(v);
                w += 3;
                i += 4;
            }
            if (i >= n) break;
        }
        const std::uint8_t v = kB64[p[i]];
        const std::size_t at = pos_ + i;
        ++i;
        if (v == kSkip) continue;
        if (ended_) {
            // Data after the padding that ended the stream is ignored.
            ++status_.bad_chars;
            note_bad(status_, at);
            continue;
        }
        if (v == kBad) {
            ++status_.bad_chars;
            note_bad(status_, at);
            continue;
        }
        if (v == kPad) {
            if (pad_ == 0) pad_at_ = at;
            if (count_ >= 2 && count_ + (++pad_) >= 4) {
                // "xx==" or "xxx=": the group is complete and the data ends.
                if (count_ == 2) *w++ = static_cast<char>(acc_ >> 4);
                else {
                    *w++ = static_cast<char>(acc_ >> 10);
                    *w++ = static_cast<char>(acc_ >> 2);
                }
                acc_ = 0;
                count_ = 0;
                pad_ = 0;
                ended_ = true;
            } else if (count_ < 2) {
                status_.bad_padding = true;  // '=' where no data can end
                note_bad(status_, at);
                note_bad_padding(status_, at);
                pad_ = 0;
            }
            continue;
        }
        if (pad_ != 0) {  // "xx=x": a single '=' inside a group, ignore it
            status_.bad_padding = true;
            note_bad(status_, at);
            note_bad_padding(status_, pad_at_);
            pad_ = 0;
        }
        acc_ = (acc_ << 6) | v;
        if (++count_ == 4) {
            w[0] = static_cast<char>(acc_ >> 16);
            w[1] = static_cast<char>(acc_ >> 8);
            w[2] = static_cast<char>(acc_);
            w += 3;
            acc_ = 0;
            count_ = 0;
        }
    }
    out.resize(static_cast<std::size_t>(w - out.data()));
    pos_ += n;
}

void Base64Decoder::finish(std::string& out) {
    if (count_ != 0) {
        // A truncated last group: decode the whole bytes it holds.
        status_.bad_padding = true;
        note_bad(status_, pos_);
        if (count_ == 2) out.push_back(static_cast<char>(acc_ >> 4));
        else if (count_ == 3) {
            out.push_back(static_cast<char>(acc_ >> 10));
            out.push_back(static_cast<char>(acc_ >> 2));
        }
    } else if (pad_ != 0) {
        status_.bad_padding = true;
        note_bad(status_, pos_);
    }
    acc_ = 0;
    count_ = 0;
    pad_ = 0;
}

// --- checking base64 without decoding ----------------------------------------
//
// A clean body is alphabet characters and line breaks (or blanks) only, and
// almost every body is clean: scan 32 (AVX2) or 16 bytes at a time for
// anything else and count the sextets. At the first '=' or bad byte, or when the count does not
// end on a whole group, the decoder proper takes over from the start of the
// group in progress, so the status is exactly the decoder's.

namespace {

// Without -mpopcnt, std::popcount is a library call; a table is faster.
constexpr std::array<std::uint8_t, 256> make_bits() {
    std::array<std::uint8_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) t[i] = static_cast<std::uint8_t>((i & 1) + t[i / 2]);
    return t;
}
constexpr auto kBits = make_bits();
inline std::size_t popcount16(unsigned x) { return kBits[x & 0xFF] + kBits[(x >> 8) & 0xFF]; }

}  // namespace

Base64Check base64_check(std::string_view in, std::size_t max_line, CodecKernel kernel) {
    const char* p = in.data();
    const std::size_t n = in.size();
    detail::LineTracker lines{max_line, 0, static_cast<std::size_t>(-1), 0, p};
    std::size_t sextets = 0, i = 0, stop = n;  // stop: first byte that is neither alphabet nor blank
    if (n >= 32)
        if (const detail::Base64ScanFn scan = detail::base64_scan_for(kernel)) i = scan(p, n, sextets, lines);
#if defined(__SSE2__)
    auto range = [](__m128i v, char lo, char hi) {
        return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    auto eq = [](__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
    const __m128i case_bit = _mm_set1_epi8(0x20);
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        // letters of either case (x | 0x20 folds only A-Z into a-z), '/' and
        // the digits (adjacent: 0x2F-0x39), '+'
        const __m128i alpha = _mm_or_si128(_mm_or_si128(range(_mm_or_si128(v, case_bit), 'a', 'z'),
                                                        range(v, '/', '9')),
                                           eq(v, '+'));
        const auto a = static_cast<unsigned>(_mm_movemask_epi8(alpha));
        if (a == 0xFFFFu) {  // the common case: 16 alphabet characters
            sextets += 16;
            continue;
        }
        const __m128i nl = eq(v, '\n');
        const __m128i blank = _mm_or_si128(_mm_or_si128(nl, eq(v, '\r')), _mm_or_si128(eq(v, ' '), eq(v, '\t')));
        const auto b = static_cast<unsigned>(_mm_movemask_epi8(blank));
        auto nls = static_cast<unsigned>(_mm_movemask_epi8(nl));
        const unsigned other = ~(a | b) & 0xFFFFu;
        const unsigned upto = other ? (1u << std::countr_zero(other)) - 1 : 0xFFFFu;
        sextets += popcount16(a & upto);
        for (nls &= upto; nls; nls &= nls - 1) lines.newline(i + static_cast<std::size_t>(std::countr_zero(nls)));
        if (other) {
            stop = i + static_cast<std::size_t>(std::countr_zero(other));
            break;
        }
    }
    if (stop == n)
#endif
        for (; i < n; ++i) {
            const std::uint8_t v = kB64[static_cast<unsigned char>(p[i])];
            if (v < 64) ++sextets;
            else if (v != kSkip) { stop = i; break; }
            else if (p[i] == '\n') lines.newline(i);
        }
    Base64Check r;
    if (stop == n && sextets % 4 == 0) {
        if (n > lines.start) lines.newline(n, true);  // the last line, without a line break
        r.long_line = lines.long_at;
        r.long_line_length = lines.long_len;
        return r;
    }
    // Hand over to the decoder at the start of the group in progress.
    std::size_t k = stop, back = sextets % 4;
    while (back > 0 && k > 0)
        if (kB64[static_cast<unsigned char>(p[--k])] < 64) --back;
    // In windows: the output is thrown away, its memory must not follow
    // the body's size.
    Base64Decoder d(kernel);
    std::string scratch;
    constexpr std::size_t kWindow = std::size_t{1} << 20;
    for (std::size_t at = k; at < n; at += kWindow) {
        scratch.clear();
        d.step(in.substr(at, kWindow), scratch);
    }
    d.finish(scratch);
    r.status = d.status();
    if (r.status.first_bad != static_cast<std::size_t>(-1)) r.status.first_bad += k;
    if (r.status.first_bad_padding != static_cast<std::size_t>(-1)) r.status.first_bad_padding += k;
    for (std::size_t j = stop; j < n; ++j)
        if (p[j] == '\n') lines.newline(j);
    if (n > lines.start) lines.newline(n, true);
    r.long_line = lines.long_at;
    r.long_line_length = lines.long_len;
    return r;
}

// --- quoted-printable --------------------------------------------------------
//
// pending_ holds the bytes of an escape not yet resolved: "=", "=X", or "="
// followed by blanks (a soft line break when a line break comes next).

void QuotedPrintableDecoder::reset() { *this = QuotedPrintableDecoder{kernel_}; }

namespace {

// Copy p[i, n) to w up to the first '=' (or the end); returns its offset and
// advances w past the bytes copied. 16 bytes at a time, stored whole before
// looking: the caller's buffer has room for every byte of the input.
inline std::size_t copy_to_escape(const char* p, std::size_t i, std::size_t n, char*& w) {
#if defined(__SSE2__)
    const __m128i eq = _mm_set1_epi8('=');
    for (; n - i >= 16; i += 16, w += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w), v);
        if (const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, eq)))) {
            const auto k = static_cast<std::size_t>(std::countr_zero(m));
            w += k;
            return i + k;
        }
    }
#endif
    while (i < n && p[i] != '=') *w++ = p[i++];
    return i;
}

// Hex digit values, either case; 0xFF for anything else.
constexpr std::array<std::uint8_t, 256> make_hex_table() {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = 0xFF;
    for (int c = 0; c < 256; ++c)
        if (hexval(static_cast<unsigned char>(c)) >= 0) t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(hexval(static_cast<unsigned char>(c)));
    return t;
}
constexpr auto kHexValue = make_hex_table();

}  // namespace

void QuotedPrintableDecoder::step(std::string_view in, std::string& out) {
    const char* p = in.data();
    const std::size_t n = in.size();
    // Decode straight into `out`, grown once to the most this step can give
    // (every byte literal, and the escape carried over from the last step)
    // and trimmed afterwards.
    const std::size_t old = out.size();
    out.resize(old + n + pending_.size());
    char* w = out.data() + old;
    auto flush_pending = [&] {
        std::memcpy(w, pending_.data(), pending_.size());
        w += pending_.size();
        pending_.clear();
    };
    // The vector loop for runs of escapes, when this CPU has one.
    const detail::QpRunFn run = n >= 16 ? detail::qp_run_for(kernel_) : nullptr;
    std::size_t i = 0;
    constexpr std::size_t kMaxPending = 1024;
    while (i < n) {
        if (pending_.empty()) {
            const std::size_t j = copy_to_escape(p, i, n, w);
            if (j == n) {
                i = n;
                break;
            }
            if (run && n - j >= 16 && p[j + 3] == '=') {  // a run of escapes, not a lone one
                const detail::CodecRun r = run(reinterpret_cast<const unsigned char*>(p + j), n - j, w);
                if (r.read != 0) {
                    w += r.written;
                    i = j + r.read;
                    continue;
                }
            }
            // The common cases whole within this step: "=XX" and soft breaks.
            if (j + 2 < n) {
                const std::uint8_t hi = kHexValue[static_cast<unsigned char>(p[j + 1])];
                const std::uint8_t lo = kHexValue[static_cast<unsigned char>(p[j + 2])];
                if ((hi | lo) < 16) {
                    *w++ = static_cast<char>(hi << 4 | lo);
                    i = j + 3;
                    continue;
                }
                if (p[j + 1] == '\r' && p[j + 2] == '\n') {
                    i = j + 3;
                    continue;
                }
            }
            if (j + 1 < n && p[j + 1] == '\n') {
                i = j + 2;
                continue;
            }
            pending_.push_back('=');
            i = j + 1;
            continue;
        }
        const unsigned char c = static_cast<unsigned char>(p[i]);
        const std::size_t at = pos_ + i;
        if (pending_.size() == 1) {
            if (hexval(c) >= 0) { pending_.push_back(static_cast<char>(c)); ++i; continue; }
            if (c == '\n') { pending_.clear(); ++i; continue; }          // soft break
            if (c == '\r') { pending_ = "=\r"; ++i; continue; }           // soft break, LF may follow
            if (c == ' ' || c == '\t') { pending_.push_back(static_cast<char>(c)); ++i; continue; }
            // "=" followed by something else: keep the '=' literally.
            ++status_.bad_escapes;
            note_bad(status_, at - 1);
            flush_pending();
            continue;  // reprocess c normally
        }
        if (pending_[1] == '\r') {  // after "=\r": swallow one LF
            pending_.clear();
            if (c == '\n') ++i;
            continue;
        }
        if (pending_[1] == ' ' || pending_[1] == '\t') {
            // "=" + blanks: a soft break if a line break follows.
            if ((c == ' ' || c == '\t') && pending_.size() < kMaxPending) {
                pending_.push_back(static_cast<char>(c));
                ++i;
                continue;
            }
            if (c == '\n') { pending_.clear(); ++i; continue; }
            if (c == '\r') { pending_ = "=\r"; ++i; continue; }
            ++status_.bad_escapes;
            note_bad(status_, at - pending_.size());
            flush_pending();
            continue;
        }
        // pending_ is "=X" with X a hex digit.
        const int hi = hexval(static_cast<unsigned char>(pending_[1]));
        const int lo = hexval(c);
        if (lo >= 0) {
            *w++ = static_cast<char>(hi * 16 + lo);
            pending_.clear();
            ++i;
            continue;
        }
        ++status_.bad_escapes;
        note_bad(status_, at - 2);
        flush_pending();
    }
    out.resize(static_cast<std::size_t>(w - out.data()));
    pos_ += n;
}

void QuotedPrintableDecoder::finish(std::string& out) {
    if (!pending_.empty()) {
        if (pending_ == "=" || pending_[1] == '\r' || pending_[1] == ' ' || pending_[1] == '\t') {
            // A '=' (maybe with blanks) at the very end: a soft break with
            // the final line break missing. Nothing to output.
        } else {
            ++status_.bad_escapes;
            note_bad(status_, pos_ - pending_.size());
            out.append(pending_);
        }
        pending_.clear();
    }
}

namespace {

// Calls fn(decoder) with a new decoder for `encoding`; false for the
// encodings that pass through (7bit, 8bit, binary and unknown ones).
template <class Fn>
bool with_decoder(TransferEncoding encoding, Fn&& fn) {
    switch (encoding) {
    case TransferEncoding::base64: {
        Base64Decoder d;
        fn(d);
        return true;
    }
    case TransferEncoding::quoted_printable: {
        QuotedPrintableDecoder d;
        fn(d);
        return true;
    }
    case TransferEncoding::uuencode: {
        UuDecoder d;
        fn(d);
        return true;
    }
    default: return false;
    }
}

}  // namespace

void decode_transfer(std::string_view body, TransferEncoding encoding, std::string& out,
                     DecodeStatus* status) {
    const bool decoded = with_decoder(encoding, [&](auto& d) {
        d.step(body, out);
        d.finish(out);
        if (status) *status = d.status();
    });
    if (decoded) return;
    out.append(body);
    if (status) *status = DecodeStatus{};
}

void decode_transfer_each(std::string_view body, TransferEncoding encoding,
                          const std::function<void(std::string_view)>& sink, DecodeStatus* status,
                          std::size_t window) {
    const bool decoded = with_decoder(encoding, [&](auto& d) {
        // uuencode without a begin line is the body as it is: handed over
        // from the buffer, not kept by the decoder.
        constexpr bool uu = std::is_same_v<std::decay_t<decltype(d)>, UuDecoder>;
        if constexpr (uu) d.forget_before();
        // One slice's output, in a buffer that the thread keeps for the
        // next body (taken, not shared: a sink may decode another body).
        thread_local std::string spare;
        std::string out;
        out.swap(spare);
        window = std::max<std::size_t>(window, 64);
        for (std::size_t at = 0; at < body.size(); at += window) {
            out.clear();
            d.step(body.substr(at, window), out);
            if (!out.empty()) sink(out);
        }
        out.clear();
        d.finish(out);
        if (!out.empty()) sink(out);
        if constexpr (uu)
            if (d.status().uu_no_begin && !body.empty()) sink(body);
        if (status) *status = d.status();
        out.clear();
        if (out.capacity() <= 2 * window) spare.swap(out);
    });
    if (decoded) return;
    if (!body.empty()) sink(body);
    if (status) *status = DecodeStatus{};
}

// --- encoders ----------------------------------------------------------------

std::size_t base64_encoded_size(std::size_t n, std::size_t line_length, std::size_t eol) {
    line_length -= line_length % 4;
    const std::size_t chars = (n + 2) / 3 * 4;
    return chars + (line_length ? (chars + line_length - 1) / line_length * eol : 0);
}

void base64_encode_append(std::string_view data, std::size_t line_length, std::string_view eol,
                          std::string& out) {
    line_length -= line_length % 4;  // whole groups per line
    out.reserve(out.size() + base64_encoded_size(data.size(), line_length, eol.size()));
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t col = 0;
    auto put = [&](const char (&g)[4]) {
        out.append(g, 4);
        col += 4;
        if (line_length && col >= line_length) {
            out.append(eol);
            col = 0;
        }
    };
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
        const char g[4] = {kB64Alpha[v >> 18], kB64Alpha[(v >> 12) & 63], kB64Alpha[(v >> 6) & 63],
                           kB64Alpha[v & 63]};
        put(g);
    }
    if (const std::size_t rest = data.size() - i) {
        std::uint32_t v = std::uint32_t{p[i]} << 16;
        if (rest == 2) v |= std::uint32_t{p[i + 1]} << 8;
        const char g[4] = {kB64Alpha[v >> 18], kB64Alpha[(v >> 12) & 63],
                           rest == 2 ? kB64Alpha[(v >> 6) & 63] : '=', '='};
        put(g);
    }
    if (line_length && col != 0) out.append(eol);
}

std::string base64_encode(std::string_view data, std::size_t line_length, std::string_view eol) {
    std::string out;
    base64_encode_append(data, line_length, eol, out);
    return out;
}

std::string qp_encode(std::string_view data, std::string_view eol) {
    constexpr std::size_t kMax = 76;  // RFC 2045 6.7 (5): encoded lines at most 76 characters
    std::string out;
    out.reserve(data.size() + data.size() / 8 + 16);
    std::size_t start = 0;
    while (start <= data.size()) {
        std::size_t nl = data.find('\n', start);
        const bool last = nl == std::string_view::npos;
        std::size_t end = last ? data.size() : nl;
        if (!last && end > start && data[end - 1] == '\r') --end;
        if (last && start == data.size()) break;
        const std::string_view line = data.substr(start, end - start);
        std::size_t col = 0;
        for (std::size_t k = 0; k < line.size(); ++k) {
            const unsigned char c = static_cast<unsigned char>(line[k]);
            const bool at_end = k + 1 == line.size();
            bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end);
            // "From " and "." at the start of a line survive mbox and SMTP
            // untouched when encoded.
            if (k == 0 && col == 0 && ((c == 'F' && line.substr(0, 5) == "From ") || c == '.'))
                literal = false;
            const std::size_t width = literal ? 1 : 3;
            // Keep room for the soft break '=' unless this is the line's last
            // character and a hard break follows (the input's last line, with
            // no line break, ends in a soft break too).
            const std::size_t room = at_end && !last ? kMax : kMax - 1;
            if (col + width > room) {
                out.push_back('=');
                out.append(eol);
                col = 0;
            }
            if (literal) out.push_back(static_cast<char>(c));
            else {
                const char esc[3] = {'=', kHex[c >> 4], kHex[c & 15]};
                out.append(esc, 3);
            }
            col += width;
        }
        if (last) {
            // No final line break in the input: end with a soft break so that
            // decoding gives back exactly the input.
            if (!line.empty()) {
                out.push_back('=');
                out.append(eol);
            }
            break;
        }
        out.append(eol);
        start = nl + 1;
    }
    return out;
}

std::string dot_stuff(std::string_view data) {
    std::string out;
    out.reserve(data.size() + 16);
    bool bol = true;
    std::size_t i = 0;
    while (i < data.size()) {
        if (bol && data[i] == '.') out.push_back('.');
        const std::size_t nl = data.find('\n', i);
        const std::size_t end = nl == std::string_view::npos ? data.size() : nl + 1;
        out.append(data.substr(i, end - i));
        bol = nl != std::string_view::npos;
        i = end;
    }
    return out;
}

std::string dot_unstuff(std::string_view data) {
    std::string out;
    out.reserve(data.size());
    std::size_t i = 0;
    while (i < data.size()) {
        if (data[i] == '.' && i + 1 < data.size() && data[i + 1] == '.') ++i;
        const std::size_t nl = data.find('\n', i);
        const std::size_t end = nl == std::string_view::npos ? data.size() : nl + 1;
        out.append(data.substr(i, end - i));
        i = end;
    }
    return out;
}

namespace {
std::string convert_eol(std::string_view data, std::string_view eol) {
    std::string out;
    out.reserve(data.size() + data.size() / 32 + 2);
    std::size_t i = 0;
    const std::size_t n = data.size();
    while (i < n) {
        std::size_t j = i;
        while (j < n && data[j] != '\r' && data[j] != '\n') ++j;
        out.append(data.substr(i, j - i));
        if (j == n) break;
        out.append(eol);
        if (data[j] == '\r' && j + 1 < n && data[j + 1] == '\n') ++j;
        i = j + 1;
    }
    return out;
}
}  // namespace

std::string to_crlf(std::string_view data) { return convert_eol(data, "\r\n"); }
std::string to_lf(std::string_view data) { return convert_eol(data, "\n"); }

}  // namespace msg
