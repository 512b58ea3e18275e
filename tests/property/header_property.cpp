// header_property.cpp - decode_header_text and the MIME field parsers on
// arbitrary input: no crash, always UTF-8.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "msg/charset.hpp"
#include "msg/codec.hpp"
#include "msg/header.hpp"
#include "msg/message.hpp"

namespace {

// Text made of pieces that exercise RFC 2047 and RFC 2231 parsing.
rc::Gen<std::string> header_like() {
    auto piece = rc::gen::weightedOneOf<std::string>({
        {3, rc::gen::container<std::string>(rc::gen::arbitrary<char>())},
        {3, rc::gen::element<std::string>("=?", "?=", "?B?", "?Q?", "?b?", "?q?", " ", "\r\n ", "\t",
                                          "utf-8", "koi8-r", "shift_jis", "utf-16", "iso-2022-jp",
                                          "x-unknown", "*en", "=E9", "=", "_", "\"", ";", "'", "%",
                                          "*0*=", "*1=", "(", ")", "\\", "name", "=?utf-8?q?",
                                          "=?iso-8859-1?b?")},
        {1, rc::gen::map(rc::gen::arbitrary<std::vector<std::uint8_t>>(),
                         [](const std::vector<std::uint8_t>& v) {
                             return "=?utf-8?B?" +
                                    msg::base64_encode(std::string(v.begin(), v.end()), 0) + "?=";
                         })},
    });
    return rc::gen::map(rc::gen::container<std::vector<std::string>>(piece),
                        [](const std::vector<std::string>& parts) {
                            std::string s;
                            for (const auto& p : parts) s += p;
                            return s;
                        });
}

}  // namespace

RC_GTEST_PROP(DecodeHeaderTextProperty, ArbitraryBytesGiveUtf8, (const std::vector<std::uint8_t>& v)) {
    const std::string in(v.begin(), v.end());
    msg::Defects d;
    const std::string out = msg::decode_header_text(in, &d, 7);
    RC_ASSERT(msg::is_valid_utf8(out));
    for (const auto& x : d) RC_ASSERT(x.offset >= 7 && x.offset <= 7 + in.size());
}

RC_GTEST_PROP(DecodeHeaderTextProperty, HeaderLikeTextGivesUtf8, ()) {
    const std::string in = *header_like();
    msg::Defects d;
    const std::string out = msg::decode_header_text(in, &d);
    RC_ASSERT(msg::is_valid_utf8(out));
    for (const auto& x : d) RC_ASSERT(x.offset <= in.size());
}

RC_GTEST_PROP(DecodeHeaderTextProperty, Utf8EncodedWordRoundTrip, ()) {
    // Any valid UTF-8 text (no leading/trailing blanks) survives a B word.
    const std::string raw = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
    std::string text;
    msg::to_utf8(raw, "utf-8", text);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' || text.front() == '\n'))
        text.erase(text.begin());
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
        text.pop_back();
    RC_PRE(!text.empty());   // an empty word is no encoded word (RFC 2047 2), and is said so
    const std::string word = "=?utf-8?B?" + msg::base64_encode(text, 0) + "?=";
    msg::Defects d;
    RC_ASSERT(msg::decode_header_text(word, &d) == text);
    RC_ASSERT(d.empty());
}

RC_GTEST_PROP(MimeFieldsProperty, NeverCrashAndUtf8Values, ()) {
    const std::string in = *header_like();
    msg::Defects d;
    msg::Limits lim;
    lim.max_params = *rc::gen::inRange<std::size_t>(0, 8);
    auto ct = msg::parse_content_type(in, &d, 0, lim);
    RC_ASSERT(ct.params.size() <= lim.max_params);
    if (ct.valid) {
        RC_ASSERT(!ct.type.empty());
        RC_ASSERT(!ct.subtype.empty());
        RC_ASSERT(msg::to_lower_ascii(ct.type) == ct.type);
    } else {
        RC_ASSERT(ct.is("text", "plain"));
    }
    auto cd = msg::parse_content_disposition(in, &d, 0, lim);
    for (const auto* ps : {&ct.params, &cd.params}) {
        for (const auto& p : *ps) {
            // UTF-8, but a boundary given plainly, which keeps its bytes.
            RC_ASSERT(msg::is_valid_utf8(p.value) || (p.name == "boundary" && p.charset.empty()));
            RC_ASSERT(msg::to_lower_ascii(p.name) == p.name);
        }
    }
    auto params = msg::parse_parameters(in, &d);
    for (const auto& p : params) RC_ASSERT(msg::is_valid_utf8(p.value) || (p.name == "boundary" && p.charset.empty()));
    (void)msg::parse_transfer_encoding(in);
    (void)msg::unfold(in);
}

RC_GTEST_PROP(HeaderBlockProperty, FieldsTileAGeneratedBlock, ()) {
    // Fields with folded continuation lines, LF / CRLF / mixed breaks, then
    // the empty line and a body: the fields' raw spans tile the block, and
    // names and values come back as written.
    const auto nfields = *rc::gen::inRange(0, 8);
    const int eol_mode = *rc::gen::inRange(0, 3);
    auto eol = [&] {
        return eol_mode == 0 ? std::string("\n")
               : eol_mode == 1 ? std::string("\r\n")
                               : *rc::gen::element<std::string>("\n", "\r\n");
    };
    std::string block;
    std::vector<std::pair<std::string, std::string>> expect;  // name, value (folds kept)
    for (int i = 0; i < nfields; ++i) {
        const std::string name = *rc::gen::nonEmpty(rc::gen::container<std::string>(
            rc::gen::element('A', 'b', 'Z', '-', '_', '0', '.', '~', '!')));
        std::string value = *rc::gen::container<std::string>(rc::gen::element('a', ' ', ':', '=', '?', '\t', '"'));
        const auto folds = *rc::gen::inRange(0, 3);
        for (int f = 0; f < folds; ++f)
            value += eol() + *rc::gen::element<std::string>(" ", "\t") +
                     *rc::gen::container<std::string>(rc::gen::element('x', ' ', ';'));
        block += name + ":" + value + eol();
        expect.emplace_back(name, value);
    }
    const std::string data = block + eol() + "body: not a field\n";
    std::vector<msg::HeaderField> fields;
    msg::Defects d;
    const std::size_t end = msg::parse_header_block(data, fields, &d, 5);
    RC_ASSERT(end == block.size());
    RC_ASSERT(d.empty());
    RC_ASSERT(fields.size() == expect.size());
    std::size_t pos = 0;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        RC_ASSERT(fields[i].offset == pos + 5);
        RC_ASSERT(fields[i].name == expect[i].first);
        RC_ASSERT(fields[i].value == expect[i].second);
        RC_ASSERT(fields[i].raw == std::string_view(data).substr(pos, fields[i].raw.size()));
        pos += fields[i].raw.size();
    }
    RC_ASSERT(pos == block.size());
}
