// codec_fuzz.cpp - the transfer codecs against their own promises:
// decoding in any split equals decoding in one call (output and status;
// base64, quoted-printable, uuencode and the uuencoded blocks of a text,
// found by the scanner in any split),
// base64_check agrees with the base64 decoder, the vector base64 and
// quoted-printable loops agree with the scalar ones, encode-then-decode is the identity, dot-stuffing and line-ending
// conversion undo / repeat cleanly. Any difference aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>

#include "msg/codec.hpp"
#include "../codec_expect.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool same(const msg::DecodeStatus& a, const msg::DecodeStatus& b) { return a == b; }

// All of `in` through `d`, in one step or in steps of `chunk` bytes (0: one).
template <class Decoder>
std::string decode(Decoder& d, std::string_view in, std::size_t chunk = 0) {
    std::string out;
    if (chunk == 0) d.step(in, out);
    else
        for (std::size_t i = 0; i < in.size(); i += chunk) d.step(in.substr(i, chunk), out);
    d.finish(out);
    return out;
}

// The blocks a UuScanner finds in `in` fed in steps of `chunk` bytes (0:
// one), written down with their data and status, to compare.
std::string scan_blocks(std::string_view in, std::size_t chunk) {
    std::string log;
    msg::UuScanner scan({[&](const msg::UuBlock& b) { log += "begin " + std::to_string(b.begin) + " " + b.name + "\n"; },
                         [&](std::string_view d) { log.append(d); },
                         [&](const msg::UuBlock& b, const msg::DecodeStatus& st) {
                             log += "\nend " + std::to_string(b.end) + " " + std::to_string(b.data_end) + " " +
                                    std::to_string(st.uu_bad_lines) + " " + std::to_string(st.first_bad) +
                                    (st.uu_no_end ? " no-end" : "") + "\n";
                         }});
    if (chunk == 0) scan.step(in);
    else
        for (std::size_t i = 0; i < in.size(); i += chunk) scan.step(in.substr(i, chunk));
    scan.finish();
    return log;
}

template <class Decoder>
void split_invariance(std::string_view in, std::size_t chunk) {
    Decoder whole, split;
    check(decode(whole, in) == decode(split, in, chunk));
    check(same(whole.status(), split.status()));
}

// Each vector loop `kernels` names that this CPU runs gives the scalar
// decoder's output and status, whole and in chunks.
template <class Decoder>
void vector_loops_agree(std::string_view in, std::size_t chunk, std::initializer_list<msg::CodecKernel> kernels) {
    Decoder ref(msg::CodecKernel::scalar);
    const std::string want = decode(ref, in);
    for (auto k : kernels) {
        if (!msg::codec_kernel_supported(k)) continue;
        Decoder whole(k), split(k);
        check(decode(whole, in) == want && decode(split, in, chunk) == want);
        check(same(whole.status(), ref.status()) && same(split.status(), ref.status()));
    }
}

// The base64 loops (SSSE3, AVX2), and base64_check's answer with each.
void kernels_agree(std::string_view in, std::size_t chunk) {
    vector_loops_agree<msg::Base64Decoder>(in, chunk,
                                           {msg::CodecKernel::ssse3, msg::CodecKernel::avx2, msg::CodecKernel::automatic});
    const msg::Base64Check portable = msg::base64_check(in, chunk, msg::CodecKernel::scalar);
    for (auto k : {msg::CodecKernel::ssse3, msg::CodecKernel::avx2, msg::CodecKernel::automatic}) {
        if (!msg::codec_kernel_supported(k)) continue;
        const msg::Base64Check c = msg::base64_check(in, chunk, k);
        check(same(c.status, portable.status) && c.long_line == portable.long_line &&
              c.long_line_length == portable.long_line_length);
    }
}

// The quoted-printable decoder's vector loop (SSSE3).
void qp_kernels_agree(std::string_view in, std::size_t chunk) {
    vector_loops_agree<msg::QuotedPrintableDecoder>(in, chunk, {msg::CodecKernel::ssse3, msg::CodecKernel::automatic});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t chunk = 1 + data[0] % 7;
    const std::string_view eol = (data[0] & 0x80) ? "\r\n" : "\n";
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

    split_invariance<msg::Base64Decoder>(in, chunk);
    split_invariance<msg::QuotedPrintableDecoder>(in, chunk);
    split_invariance<msg::UuDecoder>(in, chunk);
    // uuencoded blocks found in any text lie inside it, in order, and the
    // scanner finds the same blocks and data in any split.
    std::size_t last_end = 0;
    const std::string whole_scan = scan_blocks(in, 0);
    check(scan_blocks(in, chunk) == whole_scan);
    for (const msg::UuBlock& b : msg::find_uu_blocks(in)) {
        check(b.begin >= last_end && b.begin < b.end && b.end <= in.size() && b.data_end <= b.end);
        split_invariance<msg::UuDecoder>(in.substr(b.begin, b.end - b.begin), chunk);
        last_end = b.end;
    }

    // base64_check is the decoder's status without the decoding
    {
        msg::Base64Decoder d;
        decode(d, in);
        check(same(msg::base64_check(in, chunk * 11).status, d.status()));
    }

    // base64: encode then decode is the identity, clean.
    const std::string b64 = msg::base64_encode(in, (data[0] >> 2) % 100, eol);
    std::string back;
    msg::DecodeStatus st;
    msg::decode_transfer(b64, msg::TransferEncoding::base64, back, &st);
    check(back == in && st.clean());
    split_invariance<msg::Base64Decoder>(b64, chunk);

    // the vector base64 loops against the scalar one: on the input itself, on
    // its encoding, and on the encoding with a few of its bytes replaced by
    // bytes of the input (line breaks, '=', junk in the middle of long lines)
    const std::size_t long_chunk = 1 + (std::size_t{data[0]} * 7) % 100;
    kernels_agree(in, long_chunk);
    kernels_agree(b64, long_chunk);
    if (!b64.empty()) {
        std::string damaged = b64;
        for (std::size_t k = 0; k < in.size() && k < 16; ++k)
            damaged[(static_cast<unsigned char>(in[k]) * 257 + k * 7919) % damaged.size()] = in[in.size() - 1 - k];
        kernels_agree(damaged, long_chunk);
    }

    // quoted-printable: identity up to line breaks, lines of at most 76.
    const std::string qp = msg::qp_encode(in, eol);
    qp_kernels_agree(in, long_chunk);
    qp_kernels_agree(qp, long_chunk);
    if (!qp.empty()) {
        std::string damaged = qp;
        for (std::size_t k = 0; k < in.size() && k < 16; ++k)
            damaged[(static_cast<unsigned char>(in[k]) * 131 + k * 7907) % damaged.size()] = in[in.size() - 1 - k];
        qp_kernels_agree(damaged, long_chunk);
    }
    back.clear();
    msg::decode_transfer(qp, msg::TransferEncoding::quoted_printable, back, &st);
    check(back == msg_test::normalise_breaks(in, eol) && st.clean());
    for (std::size_t start = 0; start < qp.size();) {
        const std::size_t nl = qp.find(eol, start);
        check(nl != std::string::npos && nl - start <= 76);
        start = nl + eol.size();
    }

    check(msg::dot_unstuff(msg::dot_stuff(in)) == in);
    const std::string lf = msg::to_lf(in), crlf = msg::to_crlf(in);
    check(msg::to_lf(crlf) == lf && msg::to_crlf(lf) == crlf);
    return 0;
}
