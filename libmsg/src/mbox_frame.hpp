// mbox_frame.hpp - internals shared by the mbox reader and writer: the
// two-byte SIMD search, and the header scan that finds Content-Length and
// the start of the body the same way on both sides.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace msg::mbox_detail {

// Position of the next `needle` (at least 2 bytes) in [from, n), or npos.
// The needles here ("\nFrom ", ">From ", "From ") start with bytes that
// occur on every line or so, where memchr would stop again and again: look
// for the first two bytes together, 64 positions at a time with AVX2
// (chosen at run time), else 16 with SSE2 (mbox_scan.cpp).
std::size_t find_from(const char* p, std::size_t from, std::size_t n, std::string_view needle);
// Number of '\n' bytes in [p, p+n), the same way.
std::uint64_t count_newlines(const char* p, std::size_t n);

// The same with the portable loops only (SSE2 where the build targets it),
// or with AVX2 (false when this CPU has none): for tests that compare them.
std::size_t find_from_portable(const char* p, std::size_t from, std::size_t n, std::string_view needle);
bool find_from_avx2(const char* p, std::size_t from, std::size_t n, std::string_view needle, std::size_t& at);
std::uint64_t count_newlines_portable(const char* p, std::size_t n);
bool count_newlines_avx2(const char* p, std::size_t n, std::uint64_t& lines);

inline bool starts_with_from(std::string_view s) { return s.size() >= 5 && std::memcmp(s.data(), "From ", 5) == 0; }

// The header block of a message as the Content-Length formats see it. It
// ends at the first empty line (the body starts after it), at a line that
// begins "From " (the body, or the next message, starts there; no empty
// line), or at the end of the bytes.
struct HeaderScan {
    bool complete = false;          // the end of the header block was seen
    std::size_t body_start = 0;     // offset of the body
    std::size_t blank_len = 0;      // 1 or 2 (LF or CRLF) when an empty line ends the block, else 0
    bool crlf = false;              // the first line of the block ends in CRLF
    bool cl_present = false;        // a Content-Length field was found (the first one counts)
    bool cl_valid = false;          // ... and its value is a number
    std::uint64_t cl = 0;           // ... that number
    std::size_t cl_offset = 0;      // offset of the field's line
    std::size_t cl_value_begin = 0, cl_value_end = 0;  // the value, less surrounding white space
};

// The scan of `s`, a message's bytes from its first header line on, as it
// grows: step() may be called again with the same bytes and more after
// them, and goes on from the first line it had not finished.
struct HeaderScanner {
    HeaderScan h;
    std::size_t pos = 0;   // start of the first line not scanned yet
    bool first = true;

    // `at_end`: no bytes follow `s`; otherwise an unfinished scan (false)
    // asks for more. Returns h.complete.
    bool step(std::string_view s, bool at_end) {
        std::size_t i = pos;
        while (true) {
            if (i >= s.size()) {
                pos = i;
                if (!at_end) return false;
                h.complete = true;
                h.body_start = s.size();
                return true;
            }
            const void* nl = std::memchr(s.data() + i, '\n', s.size() - i);
            if (!nl && !at_end) {
                pos = i;
                return false;
            }
            const std::size_t e = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - s.data()) : s.size();
            std::string_view line = s.substr(i, e - i);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (first && nl) h.crlf = e > i && s[e - 1] == '\r';
            first = false;
            if (nl && line.empty()) {
                h.complete = true;
                h.body_start = e + 1;
                h.blank_len = e + 1 - i;
                return true;
            }
            if (starts_with_from(line)) {
                h.complete = true;
                h.body_start = i;
                return true;
            }
            constexpr std::string_view kName = "content-length";
            if (!h.cl_present && line.size() > kName.size()) {
                bool match = true;
                for (std::size_t k = 0; k < kName.size() && match; ++k) {
                    char c = line[k];
                    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                    match = c == kName[k];
                }
                std::size_t k = kName.size();
                while (match && k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
                if (match && k < line.size() && line[k] == ':') {
                    h.cl_present = true;
                    h.cl_offset = i;
                    ++k;
                    while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
                    std::size_t v = k, end = line.size();
                    while (end > v && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
                    h.cl_value_begin = i + v;
                    h.cl_value_end = i + end;
                    std::uint64_t n = 0;
                    bool ok = end > v && end - v <= 18;
                    for (std::size_t d = v; ok && d < end; ++d) {
                        ok = line[d] >= '0' && line[d] <= '9';
                        n = n * 10 + static_cast<std::uint64_t>(line[d] - '0');
                    }
                    h.cl_valid = ok;
                    h.cl = ok ? n : 0;
                }
            }
            if (!nl) {
                h.complete = true;
                h.body_start = s.size();
                return true;
            }
            i = e + 1;
        }
    }
};

// Scan `s`, a message's bytes from its first header line on, at once.
inline HeaderScan scan_header(std::string_view s, bool at_end) {
    HeaderScanner sc;
    sc.step(s, at_end);
    return sc.h;
}

}  // namespace msg::mbox_detail
