// codec_simd.hpp - the vector loops of the transfer codecs (codec_base64_simd.cpp,
// codec_qp_simd.cpp), chosen at run time by what the CPU supports.
//
// Each loop does only the part of the work where nothing can go wrong: whole
// groups of clean base64 (and the line breaks between them), the alphabet
// scan of base64_check, runs of valid quoted-printable escapes. Everything else, and every defect, is left to the
// scalar code in codec.cpp, which stays the reference: a vector loop stops
// where the scalar code has to decide, so both give the same output and the
// same status on every input (tests/property/codec_property.cpp and
// tests/fuzz/codec_fuzz.cpp compare them).
#pragma once

#include <cstddef>

#include "msg/codec.hpp"

namespace msg::detail {

// What a vector loop did: input bytes consumed, output bytes written.
struct CodecRun {
    std::size_t read = 0, written = 0;
};

// Decodes in[0, n) from a group boundary, four alphabet characters to three
// bytes, skipping line breaks and blanks (CR, LF, SP, TAB) that fall between
// groups. Stops, at a group boundary, before the first '=' or byte outside
// the alphabet, before a group that a blank or line break cuts, or when less
// than one vector of input is left; what is left is the scalar decoder's.
// May write up to kBase64RunSlack bytes past what it reports as written.
using Base64RunFn = CodecRun (*)(const unsigned char* in, std::size_t n, char* out);
constexpr std::size_t kBase64RunSlack = 32;

// The loop of kernel `k`, or nullptr for the scalar decoder (asked for, or
// the CPU or the build has no vector loop). `automatic` is the fastest
// supported, chosen once.
Base64RunFn base64_run_for(CodecKernel k);

// Decodes a run of quoted-printable escapes ("=XX", X a hex digit of either
// case) from in[0], a '=': whole vectors' worth of them (five for 16 bytes)
// while each holds nothing else; stops at the first escape that is not
// whole and valid, at anything else after one, or with less than a vector
// left. Writes at most 8 bytes at `out`, and never more bytes past it than
// the 16 it reads from `in`.
using QpRunFn = CodecRun (*)(const unsigned char* in, std::size_t n, char* out);
QpRunFn qp_run_for(CodecKernel k);

// base64_check's line lengths: the first line longer than `max` characters
// (a CR before the LF not counted).
struct LineTracker {
    std::size_t max, start = 0, long_at = static_cast<std::size_t>(-1), long_len = 0;
    const char* p;
    // A '\n' at nl ends a line (or, with `last`, the end of the data does).
    void newline(std::size_t nl, bool last = false) {
        if (long_at != static_cast<std::size_t>(-1)) return;
        std::size_t len = nl - start;
        if (!last && len > 0 && p[nl - 1] == '\r') --len;
        if (len > max) {
            long_at = start;
            long_len = len;
        }
        start = nl + 1;
    }
};

// base64_check's scan of p[0, n): counts the alphabet characters into
// `sextets` and gives each '\n' to `lines`, while whole vectors hold nothing
// but alphabet characters, blanks and line breaks. Returns where it stopped:
// at the first vector holding anything else, or with less than a vector
// left; the caller's own loop goes on from there.
using Base64ScanFn = std::size_t (*)(const char* p, std::size_t n, std::size_t& sextets, LineTracker& lines);
Base64ScanFn base64_scan_for(CodecKernel k);

}  // namespace msg::detail
