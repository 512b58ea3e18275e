// codec_property.cpp - round trips and split invariance of the transfer codecs.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "msg/codec.hpp"
#include "../codec_expect.hpp"

namespace {

std::string bytes_string(const std::vector<std::uint8_t>& v) {
    return std::string(v.begin(), v.end());
}

// Arbitrary bytes with line breaks, blanks and '=' over-represented.
rc::Gen<std::string> qp_text() {
    return rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
        {{4, rc::gen::arbitrary<char>()},
         {2, rc::gen::element('\r', '\n', ' ', '\t', '=', '.')},
         {2, rc::gen::element('F', 'r', 'o', 'm', 'a')}}));
}

// Cut `in` into pieces whose lengths cycle through a generated list (0 allowed).
std::vector<std::string> random_split(const std::string& in) {
    const auto lens = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::size_t>>(
        rc::gen::inRange<std::size_t>(0, 9)));
    std::vector<std::string> parts;
    std::size_t i = 0, k = 0;
    std::size_t zeros = 0;
    while (i < in.size()) {
        std::size_t n = lens[k++ % lens.size()];
        if (n == 0 && ++zeros > in.size() + 8) n = 1;  // lists of zeros only
        parts.push_back(in.substr(i, n));
        i += n;
    }
    return parts;
}

template <class Decoder>
std::pair<std::string, msg::DecodeStatus> decode_parts(const std::vector<std::string>& parts) {
    Decoder d;
    std::string out;
    for (const auto& p : parts) d.step(p, out);
    d.finish(out);
    return {out, d.status()};
}

bool same_status(const msg::DecodeStatus& a, const msg::DecodeStatus& b) { return a == b; }

// uuencoded text: a begin line, data lines of the alphabet (some damaged,
// some short or long, an empty one), maybe the end line, with text around.
rc::Gen<std::string> uu_text() {
    return rc::gen::exec([] {
        std::string s = *rc::gen::element<std::string>("", "intro\n", "begin here\r\n");
        s += *rc::gen::element<std::string>("begin 644 a.bin\n", "begin 600 b\r\n", "begin 644\n", "");
        const auto lines = *rc::gen::inRange(0, 6);
        for (int i = 0; i < lines; ++i) {
            std::string l = *rc::gen::container<std::string>(rc::gen::inRange<char>(0x20, 0x61));
            if (*rc::gen::inRange(0, 8) == 0) l += *rc::gen::element<std::string>("~", "\x80", "\t");
            s += l + *rc::gen::element<std::string>("\n", "\r\n", "\n\n");
        }
        s += *rc::gen::element<std::string>("`\nend\n", "end\r\n", " end \n", "", "`\n");
        s += *rc::gen::element<std::string>("", "trailing words\n");
        return s;
    });
}

}  // namespace

RC_GTEST_PROP(Base64Property, EncodeThenDecodeIsIdentity, (const std::vector<std::uint8_t>& v)) {
    const std::string data = bytes_string(v);
    const auto line = *rc::gen::inRange<std::size_t>(0, 200);
    const std::string eol = *rc::gen::element<std::string>("\n", "\r\n");
    const std::string enc = msg::base64_encode(data, line, eol);
    std::string out;
    msg::DecodeStatus st;
    msg::decode_transfer(enc, msg::TransferEncoding::base64, out, &st);
    RC_ASSERT(out == data);
    RC_ASSERT(st.clean());
    // Lines hold whole groups and are no longer than asked.
    if (line >= 4) {
        std::size_t start = 0;
        while (start < enc.size()) {
            std::size_t nl = enc.find(eol, start);
            RC_ASSERT(nl != std::string::npos);
            RC_ASSERT(nl - start <= line);
            RC_ASSERT((nl - start) % 4 == 0);
            start = nl + eol.size();
        }
    }
}

RC_GTEST_PROP(Base64Property, RandomSplitsEqualOneCall, (const std::vector<std::uint8_t>& v)) {
    // Either valid base64 or arbitrary junk.
    const std::string in = *rc::gen::element(true, false)
                               ? msg::base64_encode(bytes_string(v), *rc::gen::inRange<std::size_t>(0, 80),
                                                    *rc::gen::element<std::string>("\n", "\r\n"))
                               : bytes_string(v);
    const auto whole = decode_parts<msg::Base64Decoder>({in});
    const auto split = decode_parts<msg::Base64Decoder>(random_split(in));
    RC_ASSERT(whole.first == split.first);
    RC_ASSERT(same_status(whole.second, split.second));
}

RC_GTEST_PROP(QpProperty, EncodeThenDecodeIsIdentity, ()) {
    const std::string data = *qp_text();
    const std::string eol = *rc::gen::element<std::string>("\n", "\r\n");
    const std::string enc = msg::qp_encode(data, eol);
    std::string out;
    msg::DecodeStatus st;
    msg::decode_transfer(enc, msg::TransferEncoding::quoted_printable, out, &st);
    RC_ASSERT(out == msg_test::normalise_breaks(data, eol));
    RC_ASSERT(st.clean());
    // The encoding is 7-bit and its lines are at most 76 characters.
    std::size_t start = 0;
    while (start < enc.size()) {
        std::size_t nl = enc.find(eol, start);
        RC_ASSERT(nl != std::string::npos);
        RC_ASSERT(nl - start <= 76u);
        start = nl + eol.size();
    }
    for (char c : enc) RC_ASSERT(static_cast<unsigned char>(c) < 128);
}

RC_GTEST_PROP(QpProperty, RandomSplitsEqualOneCall, ()) {
    const std::string raw = *qp_text();
    const std::string in = *rc::gen::element(true, false) ? msg::qp_encode(raw) : raw;
    const auto whole = decode_parts<msg::QuotedPrintableDecoder>({in});
    const auto split = decode_parts<msg::QuotedPrintableDecoder>(random_split(in));
    RC_ASSERT(whole.first == split.first);
    RC_ASSERT(same_status(whole.second, split.second));
}

RC_GTEST_PROP(UuProperty, RandomSplitsEqualOneCall, ()) {
    const std::string in = *uu_text();
    const auto whole = decode_parts<msg::UuDecoder>({in});
    const auto split = decode_parts<msg::UuDecoder>(random_split(in));
    RC_ASSERT(whole.first == split.first);
    RC_ASSERT(same_status(whole.second, split.second));
    // Without a begin line the input is the output.
    if (whole.second.uu_no_begin) RC_ASSERT(whole.first == in);
}

RC_GTEST_PROP(UuProperty, BlocksOfATextDecodeAsTheirOwn, ()) {
    const std::string text = *uu_text() + *uu_text();
    std::size_t last = 0;
    for (const msg::UuBlock& b : msg::find_uu_blocks(text)) {
        RC_ASSERT(b.begin >= last);
        RC_ASSERT(b.end > b.begin);
        RC_ASSERT(b.end <= text.size());
        RC_ASSERT(msg::uu_begin_line(text.substr(b.begin, text.find('\n', b.begin) - b.begin)));
        const auto [out, st] = decode_parts<msg::UuDecoder>({text.substr(b.begin, b.end - b.begin)});
        RC_ASSERT(!st.uu_no_begin);
        last = b.end;
    }
}

namespace {

// Texts with uuencoded blocks among prose: well-formed data lines, bad
// ones, begin lines that start no block, ends missing.
rc::Gen<std::string> uu_prose() {
    return rc::gen::exec([] {
        std::string s;
        const auto pieces = *rc::gen::inRange(0, 5);
        for (int i = 0; i < pieces; ++i) {
            s += *uu_text();
            if (*rc::gen::inRange(0, 3) == 0) s += *rc::gen::element<std::string>("begin 644 c.txt\n#86)C\n", "#86)C\n", "`\n", "begin 644 d\nbegin 644 e\n#86)C\nend\n");
        }
        return s;
    });
}

struct FoundBlock {
    msg::UuBlock block;
    std::string data;
    msg::DecodeStatus status;
    bool operator==(const FoundBlock& o) const {
        return block.begin == o.block.begin && block.end == o.block.end && block.data_end == o.block.data_end &&
               block.mode == o.block.mode && block.name == o.block.name && data == o.data && status == o.status;
    }
};

std::vector<FoundBlock> scan_parts(const std::vector<std::string>& parts) {
    std::vector<FoundBlock> found;
    msg::UuScanner scan({[&](const msg::UuBlock& b) { found.push_back({b, {}, {}}); },
                         [&](std::string_view d) { found.back().data.append(d); },
                         [&](const msg::UuBlock& b, const msg::DecodeStatus& st) {
                             found.back().block = b;
                             found.back().status = st;
                         }});
    for (const std::string& p : parts) scan.step(p);
    scan.finish();
    return found;
}

// The rule of docs and codec.hpp, line by line, as plainly as it can be
// written: the model the scanner is checked against.
std::vector<std::pair<std::size_t, std::size_t>> model_blocks(const std::string& text) {
    std::vector<std::pair<std::size_t, std::size_t>> blocks;
    std::vector<std::pair<std::size_t, std::string>> lines;  // offset, line without its break
    for (std::size_t at = 0; at < text.size();) {
        std::size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        std::string l = text.substr(at, nl - at);
        if (!l.empty() && l.back() == '\r') l.pop_back();
        lines.emplace_back(at, l);
        at = nl + 1;
    }
    auto trimmed = [](std::string l) {
        while (!l.empty() && std::string(" \t\r\f").find(l.back()) != std::string::npos) l.pop_back();
        while (!l.empty() && std::string(" \t\f").find(l.front()) != std::string::npos) l.erase(0, 1);
        return l;
    };
    auto data_line = [&](const std::string& l) {
        if (l.empty()) return false;
        const std::size_t n = (static_cast<unsigned char>(l[0]) - 0x20u) & 0x3F;
        for (std::size_t k = 0; k < l.size(); ++k) {
            const auto c = static_cast<unsigned char>(l[k]);
            if (c < 0x20 || c > 0x60) return false;
            if (k > (n + 2) / 3 * 4 && c != ' ' && c != '`') return false;
        }
        return l.size() >= 1 + (n * 4 + 2) / 3 && (n > 0 || trimmed(l).size() <= 1);
    };
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        std::string mode, name;
        if (!msg::uu_begin_line(lines[i].second, &mode, &name) || mode.size() < 3 || mode.size() > 4 || name.empty() ||
            !data_line(lines[i + 1].second))
            continue;
        std::size_t j = i + 2, end = text.size();
        for (; j < lines.size(); ++j)
            if (trimmed(lines[j].second) == "end") {
                end = j + 1 < lines.size() ? lines[j + 1].first : text.size();
                break;
            }
        blocks.emplace_back(lines[i].first, end);
        i = j;  // the line after the end line is read next
    }
    return blocks;
}

}  // namespace

// The scanner reads a text fed in any split as it reads it whole: the same
// blocks, the same data, the same repairs.
RC_GTEST_PROP(UuProperty, ScannerSlicesGiveWhatTheWholeGives, ()) {
    const std::string text = *uu_prose();
    const auto whole = scan_parts({text});
    RC_CLASSIFY(!whole.empty(), "blocks");
    RC_ASSERT(scan_parts(random_split(text)) == whole);
}

// ... and finds the blocks the rule finds, each decoding as its own text.
RC_GTEST_PROP(UuProperty, ScannerFindsWhatTheRuleFinds, ()) {
    const std::string text = *uu_prose();
    const auto found = scan_parts({text});
    const auto model = model_blocks(text);
    RC_ASSERT(found.size() == model.size());
    for (std::size_t k = 0; k < found.size(); ++k) {
        RC_ASSERT(found[k].block.begin == model[k].first);
        RC_ASSERT(found[k].block.end == model[k].second);
        const auto [out, st] = decode_parts<msg::UuDecoder>({text.substr(model[k].first, model[k].second - model[k].first)});
        RC_ASSERT(found[k].data == out);
        RC_ASSERT(found[k].status == st);
    }
}

RC_GTEST_PROP(LineEndingProperty, ConversionsAgree, ()) {
    const std::string s = *qp_text();
    const std::string lf = msg::to_lf(s);
    const std::string crlf = msg::to_crlf(s);
    RC_ASSERT(lf.find('\r') == std::string::npos);
    RC_ASSERT(msg::to_lf(crlf) == lf);
    RC_ASSERT(msg::to_crlf(lf) == crlf);
    RC_ASSERT(msg::to_crlf(crlf) == crlf);
}

RC_GTEST_PROP(DotStuffProperty, UnstuffUndoesStuff, ()) {
    const std::string s = *qp_text();
    RC_ASSERT(msg::dot_unstuff(msg::dot_stuff(s)) == s);
}

// base64_check is a fast path: on any input it must give the decoder's
// status, and find the same first long line as a plain line scan.
namespace {
rc::Gen<std::string> base64ish() {
    return rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
        {{20, rc::gen::elementOf(std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))},
         {3, rc::gen::element('\r', '\n', ' ', '\t')},
         {1, rc::gen::element('=', '-', '\x80', '\0', '.')}}));
}

std::pair<std::size_t, std::size_t> first_long_line(const std::string& s, std::size_t max) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t nl = s.find('\n', pos);
        const std::size_t end = nl == std::string::npos ? s.size() : nl;
        std::size_t len = end - pos;
        if (nl != std::string::npos && len > 0 && s[end - 1] == '\r') --len;
        if (len > max) return {pos, len};
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    return {static_cast<std::size_t>(-1), 0};
}
}  // namespace

RC_GTEST_PROP(Base64Check, SameStatusAsTheDecoder, ()) {
    const std::string in = *rc::gen::oneOf(base64ish(), rc::gen::map(rc::gen::arbitrary<std::vector<std::uint8_t>>(),
                                                                      bytes_string));
    const std::size_t max = *rc::gen::inRange<std::size_t>(1, 100);
    const msg::Base64Check c = msg::base64_check(in, max);
    const auto [out, st] = decode_parts<msg::Base64Decoder>({in});
    RC_ASSERT(same_status(c.status, st));
    const auto [at, len] = first_long_line(in, max);
    RC_ASSERT(c.long_line == at);
    RC_ASSERT(c.long_line_length == len);
}

TEST(Base64Check, CleanEncodedDataIsClean) {
    std::string data;
    for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>(i * 7));
    for (const char* eol : {"\n", "\r\n"}) {
        const std::string enc = msg::base64_encode(data, 76, eol);
        const msg::Base64Check c = msg::base64_check(enc);
        EXPECT_TRUE(c.status.clean());
        EXPECT_EQ(c.long_line, static_cast<std::size_t>(-1));
        const msg::Base64Check c2 = msg::base64_check(enc, 75);
        EXPECT_EQ(c2.long_line, 0u);
        EXPECT_EQ(c2.long_line_length, 76u);
    }
}

// Every byte value, at every position of a 16-byte block and of the tail.
TEST(Base64Check, EveryByteEverywhere) {
    for (int c = 0; c < 256; ++c)
        for (std::size_t at = 0; at < 40; ++at) {
            std::string in(40, 'Q');
            in[at] = static_cast<char>(c);
            const auto [out, st] = decode_parts<msg::Base64Decoder>({in});
            ASSERT_TRUE(same_status(msg::base64_check(in).status, st)) << "byte " << c << " at " << at;
        }
}

// The vector base64 loops (SSSE3, AVX2) against the scalar decoder, the
// reference: the same output and the same status on any input, whole or cut
// at any byte. Inputs are base64 of random data, wrapped at any line length
// (odd ones too) with LF or CRLF, then damaged: blanks, line breaks and bare
// CRs anywhere, '=' anywhere, bytes outside the alphabet, characters dropped
// (groups cut short), the end cut off.
namespace {

std::vector<msg::CodecKernel> vector_kernels() {
    std::vector<msg::CodecKernel> ks;
    for (auto k : {msg::CodecKernel::ssse3, msg::CodecKernel::avx2, msg::CodecKernel::automatic})
        if (msg::codec_kernel_supported(k)) ks.push_back(k);
    return ks;
}

std::pair<std::string, msg::DecodeStatus> decode_with(msg::CodecKernel k, std::string_view a,
                                                      std::string_view b = {}) {
    msg::Base64Decoder d(k);
    std::string out = "prefix";  // decoding appends
    d.step(a, out);
    d.step(b, out);
    d.finish(out);
    return {out, d.status()};
}

rc::Gen<std::string> damaged_base64() {
    return rc::gen::exec([] {
        const auto data = *rc::gen::resize(400, rc::gen::arbitrary<std::vector<std::uint8_t>>());
        std::string flat = msg::base64_encode(bytes_string(data), 0, "");
        const auto line = *rc::gen::inRange<std::size_t>(0, 130);
        const std::string eol = *rc::gen::element<std::string>("\n", "\r\n", " \r\n", "\n\n");
        std::string s;
        for (std::size_t i = 0; i < flat.size(); i += line ? line : flat.size()) {
            if (i) s += eol;
            s += flat.substr(i, line ? line : flat.size());
        }
        if (*rc::gen::element(true, false)) s += eol;
        const auto edits = *rc::gen::inRange(0, 6);
        for (int e = 0; e < edits && !s.empty(); ++e) {
            const auto at = *rc::gen::inRange<std::size_t>(0, s.size());
            switch (*rc::gen::inRange(0, 5)) {
            case 0:  // a blank or line break
                s.insert(at, *rc::gen::element<std::string>(" ", "\t", "\r", "\n", "\r\n", "  \t"));
                break;
            case 1:  // padding in the wrong place
                s.insert(at, *rc::gen::element<std::string>("=", "==", "===", "=\n="));
                break;
            case 2:  // a byte outside the alphabet
                s.insert(at, 1, *rc::gen::element('-', '.', '*', '@', '[', '`', '{', ':', '_', '\0',
                                                  '\x7f', '\x80', '\xc3', '\xff'));
                break;
            case 3:  // a character dropped: a group cut short
                if (at < s.size()) s.erase(at, 1);
                break;
            default:  // the end cut off
                s.resize(at);
                break;
            }
        }
        return s;
    });
}

}  // namespace

RC_GTEST_PROP(Base64Kernels, SameAsScalarWholeAndAtEverySplit, ()) {
    const std::string in = *damaged_base64();
    const auto ref = decode_with(msg::CodecKernel::scalar, in);
    for (const msg::CodecKernel k : vector_kernels()) {
        const auto whole = decode_with(k, in);
        RC_ASSERT(whole.first == ref.first);
        RC_ASSERT(same_status(whole.second, ref.second));
        for (std::size_t cut = 0; cut <= in.size(); ++cut) {
            const auto split = decode_with(k, std::string_view(in).substr(0, cut),
                                           std::string_view(in).substr(cut));
            RC_ASSERT(split.first == ref.first);
            RC_ASSERT(same_status(split.second, ref.second));
        }
    }
}

RC_GTEST_PROP(Base64Kernels, SameAsScalarOnArbitraryBytes, (const std::vector<std::uint8_t>& v)) {
    const std::string in = bytes_string(v);
    const auto ref = decode_with(msg::CodecKernel::scalar, in);
    for (const msg::CodecKernel k : vector_kernels()) {
        const auto r = decode_with(k, in);
        RC_ASSERT(r.first == ref.first);
        RC_ASSERT(same_status(r.second, ref.second));
    }
}

// Every byte value at every position of a few lines of clean base64: each
// lane of a vector, the tails, the line breaks.
TEST(Base64Kernels, EveryByteEverywhere) {
    std::string data;
    for (int i = 0; i < 120; ++i) data.push_back(static_cast<char>(i * 37 + 11));
    for (const char* eol : {"\n", "\r\n"}) {
        const std::string clean = msg::base64_encode(data, 76, eol);
        for (int c = 0; c < 256; ++c)
            for (std::size_t at = 0; at < clean.size(); ++at) {
                std::string in = clean;
                in[at] = static_cast<char>(c);
                const auto ref = decode_with(msg::CodecKernel::scalar, in);
                const msg::Base64Check check = msg::base64_check(in, 76, msg::CodecKernel::scalar);
                for (const msg::CodecKernel k : vector_kernels()) {
                    const auto r = decode_with(k, in);
                    ASSERT_EQ(r.first, ref.first) << "byte " << c << " at " << at;
                    ASSERT_TRUE(same_status(r.second, ref.second)) << "byte " << c << " at " << at;
                    const msg::Base64Check kc = msg::base64_check(in, 76, k);
                    ASSERT_TRUE(same_status(kc.status, check.status)) << "byte " << c << " at " << at;
                    ASSERT_EQ(kc.long_line, check.long_line) << "byte " << c << " at " << at;
                }
            }
    }
}

TEST(Base64Kernels, TheVectorLoopsRunHere) {
    // Not a requirement of the library (it runs on any x86-64), but on the
    // machines the tests run on the comparison above should not be empty.
    if (vector_kernels().size() < 2) GTEST_SKIP() << "this CPU has no SSSE3 or AVX2";
    EXPECT_TRUE(msg::codec_kernel_supported(msg::CodecKernel::scalar));
}

// base64_check with each vector loop: the status and the first long line of
// the portable loop.
RC_GTEST_PROP(Base64Kernels, CheckSameAsPortable, ()) {
    const std::string in = *damaged_base64();
    const std::size_t max = *rc::gen::inRange<std::size_t>(1, 100);
    const msg::Base64Check ref = msg::base64_check(in, max, msg::CodecKernel::scalar);
    const auto [at, len] = first_long_line(in, max);
    RC_ASSERT(ref.long_line == at);
    RC_ASSERT(ref.long_line_length == len);
    RC_ASSERT(same_status(ref.status, decode_with(msg::CodecKernel::scalar, in).second));
    for (const msg::CodecKernel k : vector_kernels()) {
        const msg::Base64Check c = msg::base64_check(in, max, k);
        RC_ASSERT(same_status(c.status, ref.status));
        RC_ASSERT(c.long_line == ref.long_line);
        RC_ASSERT(c.long_line_length == ref.long_line_length);
    }
}

// The vector quoted-printable loop against the scalar decoder: the same
// output and status on any input, whole or cut at any byte. Inputs are the
// encoding of mostly 8-bit text (runs of escapes), damaged: '=' anywhere,
// escapes with a digit missing or not hex, lower-case hex, soft breaks
// (with blanks, CRLF or LF), line breaks and blanks, the end cut off.
namespace {

std::pair<std::string, msg::DecodeStatus> qp_with(msg::CodecKernel k, std::string_view a, std::string_view b = {}) {
    msg::QuotedPrintableDecoder d(k);
    std::string out = "prefix";
    d.step(a, out);
    d.step(b, out);
    d.finish(out);
    return {out, d.status()};
}

rc::Gen<std::string> damaged_qp() {
    return rc::gen::exec([] {
        const std::string text = *rc::gen::resize(
            300, rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
                     {{6, rc::gen::inRange<char>('\x80', '\xff')},
                      {2, rc::gen::inRange<char>('a', 'z')},
                      {1, rc::gen::element(' ', '\n', '=', '\t')}})));
        std::string s = msg::qp_encode(text, *rc::gen::element<std::string>("\n", "\r\n"));
        if (*rc::gen::arbitrary<bool>())  // lower-case hex, which decoders accept
            for (char& c : s)
                if (c >= 'A' && c <= 'F' && *rc::gen::inRange(0, 4) == 0) c = static_cast<char>(c | 0x20);
        const auto edits = *rc::gen::inRange(0, 6);
        for (int e = 0; e < edits && !s.empty(); ++e) {
            const auto at = *rc::gen::inRange<std::size_t>(0, s.size());
            switch (*rc::gen::inRange(0, 4)) {
            case 0:
                s.insert(at, *rc::gen::element<std::string>("=", "==", "=G", "=1", "=1G", "=\r", "=\n", "= \n",
                                                            "=\t\r\n", "=  x", "=3D", "=e9"));
                break;
            case 1:
                s.insert(at, *rc::gen::element<std::string>(" ", "\t", "\n", "\r\n", "\r", "\xc3", std::string(1, '\0')));
                break;
            case 2:
                if (at < s.size()) s.erase(at, 1);  // an escape cut short
                break;
            default:
                s.resize(at);
                break;
            }
        }
        return s;
    });
}

std::vector<msg::CodecKernel> qp_kernels() {
    std::vector<msg::CodecKernel> ks;
    for (auto k : {msg::CodecKernel::ssse3, msg::CodecKernel::avx2, msg::CodecKernel::automatic})
        if (msg::codec_kernel_supported(k)) ks.push_back(k);
    return ks;
}

}  // namespace

RC_GTEST_PROP(QpKernels, SameAsScalarWholeAndAtEverySplit, ()) {
    const std::string in = *damaged_qp();
    const auto ref = qp_with(msg::CodecKernel::scalar, in);
    for (const msg::CodecKernel k : qp_kernels()) {
        const auto whole = qp_with(k, in);
        RC_ASSERT(whole.first == ref.first);
        RC_ASSERT(same_status(whole.second, ref.second));
        for (std::size_t cut = 0; cut <= in.size(); ++cut) {
            const auto split = qp_with(k, std::string_view(in).substr(0, cut), std::string_view(in).substr(cut));
            RC_ASSERT(split.first == ref.first);
            RC_ASSERT(same_status(split.second, ref.second));
        }
    }
}

RC_GTEST_PROP(QpKernels, SameAsScalarOnArbitraryBytes, ()) {
    const std::string in = *qp_text();
    const auto ref = qp_with(msg::CodecKernel::scalar, in);
    for (const msg::CodecKernel k : qp_kernels()) {
        const auto r = qp_with(k, in);
        RC_ASSERT(r.first == ref.first);
        RC_ASSERT(same_status(r.second, ref.second));
    }
}

// Every byte value at every position of a run of escapes: each of the five
// places, the '=' and both digits of each.
TEST(QpKernels, EveryByteEverywhere) {
    std::string clean;
    for (int i = 0; i < 24; ++i) clean += "=D0=BF";
    clean += " =C3=A9t=C3=A9=\r\n";
    for (int c = 0; c < 256; ++c)
        for (std::size_t at = 0; at < clean.size(); ++at) {
            std::string in = clean;
            in[at] = static_cast<char>(c);
            const auto ref = qp_with(msg::CodecKernel::scalar, in);
            for (const msg::CodecKernel k : qp_kernels()) {
                const auto r = qp_with(k, in);
                ASSERT_EQ(r.first, ref.first) << "byte " << c << " at " << at;
                ASSERT_TRUE(same_status(r.second, ref.second)) << "byte " << c << " at " << at;
            }
        }
}

// decode_transfer_each, at any window, gives what decode_transfer gives:
// the same bytes (the slices joined) and the same status, for every
// encoding, on encoded and on junk input.
RC_GTEST_PROP(DecodeEach, SlicesJoinedEqualTheWholeDecode, ()) {
    const auto enc = *rc::gen::element(msg::TransferEncoding::base64, msg::TransferEncoding::quoted_printable,
                                       msg::TransferEncoding::uuencode, msg::TransferEncoding::seven_bit);
    std::string in;
    switch (*rc::gen::inRange(0, 3)) {
    case 0: in = msg::base64_encode(*qp_text(), 76, *rc::gen::element<std::string>("\n", "\r\n")); break;
    case 1: in = *uu_text(); break;
    default: in = *qp_text(); break;
    }
    const std::size_t window = *rc::gen::inRange<std::size_t>(1, 300);
    std::string whole;
    msg::DecodeStatus whole_st, each_st;
    msg::decode_transfer(in, enc, whole, &whole_st);
    std::string joined;
    std::size_t calls = 0;
    msg::decode_transfer_each(in, enc, [&](std::string_view s) {
        RC_ASSERT(!s.empty());
        joined.append(s);
        ++calls;
    }, &each_st, window);
    RC_ASSERT(joined == whole);
    RC_ASSERT(same_status(whole_st, each_st));
    if (whole.empty()) RC_ASSERT(calls == 0u);
}
