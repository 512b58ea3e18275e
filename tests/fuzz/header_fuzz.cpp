// header_fuzz.cpp - the header grammar on its own: header blocks, RFC 2047
// text, Content-Type / Content-Disposition parameters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "msg/charset.hpp"
#include "msg/header.hpp"
#include "msg/message.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void check_params(const msg::Parameters& ps) {
    for (const auto& p : ps) {
        // UTF-8, but a boundary given plainly, which keeps its bytes.
        check(msg::is_valid_utf8(p.value) || (p.name == "boundary" && p.charset.empty()));
        check(msg::to_lower_ascii(p.name) == p.name);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    std::vector<msg::HeaderField> fields;
    msg::Defects defects;
    const std::size_t end = msg::parse_header_block(in, fields, &defects, 3);
    check(end <= size);
    for (const auto& f : fields) {
        check(f.offset >= 3 && f.offset - 3 + f.raw.size() <= end);
        check(msg::is_valid_utf8(msg::decode_header_text(f.value, &defects, f.value_offset())));
    }
    for (const auto& d : defects) check(d.offset <= size + 3);

    msg::Defects d2;
    const std::string text = msg::decode_header_text(in, &d2, 0);
    check(msg::is_valid_utf8(text));
    // An address field as shown: valid UTF-8, and nothing decoded where the
    // input has no encoded word at all.
    const std::string shown = msg::decode_field_text("From", in);
    check(msg::is_valid_utf8(shown));
    if (in.find("=?") == std::string_view::npos && msg::is_valid_utf8(in) &&
        in.find_first_of("\r\n") == std::string_view::npos)
        check(shown == text);
    for (const auto& d : d2) check(d.offset <= size);

    const msg::ContentType ct = msg::parse_content_type(in, &d2);
    check(ct.valid || ct.is("text", "plain"));
    check_params(ct.params);
    const msg::ContentDisposition cd = msg::parse_content_disposition(in, &d2);
    check_params(cd.params);
    check_params(msg::parse_parameters(in, &d2));
    (void)msg::parse_transfer_encoding(in);
    (void)msg::unfold(in);
    return 0;
}
