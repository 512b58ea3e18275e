// rewrite_fuzz.cpp - rewrite() on arbitrary input with the options chosen by
// the first byte, then its promises: the result is a fixed point (rewriting
// the output again changes nothing), an unchanged result is the input (output left empty), and
// with seven_bit the output is 7-bit unless a problem was reported, and
// input that is not mail is refused and left as it is, and every problem
// is placed in the input: in the part it names, at its field when it
// names one ("header X", "part 1.2 header X"), at that part's first byte
// when the part has no such field. The same message as a spool entry goes through
// rewrite_spool_entry() too.
//
// First byte: bit 0 fix, 1 seven_bit, 2 fold, 3 line_ending (with bit 4:
// 0 crlf, 1 lf), 5 to_utf8, 6 strip_bcc; bit 7: also the spool entry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "msg/message.hpp"
#include "msg/rewrite.hpp"
#include "msg/spool.hpp"

#include "../rewrite_place.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool has_8bit(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    return false;
}

// A problem's offset is in the input, in the part its place names, and in
// a field of the name it gives ("header X", "part 1.2 header X", "part 2
// message header X"), or at that part's first byte when the part has no
// such field.
void check_placed(const msg::Change& c, std::string_view in, const msg::Message& m) {
    if (c.offset == std::string::npos) return;
    check(c.offset <= in.size());
    check(msg_test::lies_in(m, msg_test::named_place(m, c.where), c.offset));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

    msg::RewriteOptions o;
    o.fix = flags & 1;
    o.seven_bit = flags & 2;
    o.fold = flags & 4;
    if (flags & 8) o.line_ending = (flags & 16) ? msg::LineEnding::lf : msg::LineEnding::crlf;
    o.to_utf8 = flags & 32;
    o.strip_bcc = flags & 64;

    const msg::RewriteResult r = msg::rewrite(in, o);
    if (!r.problems.empty()) {
        const msg::Message m = msg::parse_message(in);
        for (const msg::Change& c : r.problems) check_placed(c, in, m);
    }
    if (!r.changed) check(r.output.empty());   // the input is the result, not copied
    const std::string_view out = r.text(in);
    if (o.seven_bit && r.problems.empty() && r.not_mail.empty()) check(!has_8bit(out));
    if (!r.not_mail.empty()) check(!r.changed);  // not mail is left as it is
    const msg::RewriteResult again = msg::rewrite(out, o);
    check(!again.changed);
    (void)msg::parse_message(out);

    if (flags & 128) {
        const std::string entry = "MAIL FROM:<a@b> BODY=8BITMIME\nRCPT TO:<c@d>\n\n" + std::string(in);
        const msg::RewriteResult s = msg::rewrite_spool_entry(entry, o);
        if (!s.changed) check(s.output.empty());
        (void)msg::parse_spool_entry(s.text(entry));
    }
    return 0;
}
