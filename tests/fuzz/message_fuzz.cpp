// message_fuzz.cpp - parse_message, then everything a reader of the result
// would do: walk every entity, decode every body and header, ask for
// sections, filenames and charsets; then msgcheck's validation, the
// envelope mbox2spool would derive, and the same bytes read as a spool
// entry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "msg/charset.hpp"
#include "msg/envelope.hpp"
#include "msg/message.hpp"
#include "msg/spool.hpp"
#include "msg/validate.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const msg::Message m = msg::parse_message(in);
    check(!m.entities().empty());
    check(m.root().end == size);
    std::size_t budget = 0;  // keep section() (quadratic in siblings) bounded
    for (std::size_t i = 0; i < m.entities().size(); ++i) {
        const msg::Entity& e = m.entity(i);
        check(e.begin <= e.header_end && e.header_end <= e.body_begin && e.body_begin <= e.end &&
              e.end <= size);
        for (const msg::HeaderField& f : m.fields(e)) {
            check(f.offset + f.raw.size() <= size);
            msg::Defects d;
            const std::string text = msg::decode_header_text(f.value, &d, f.value_offset());
            check(msg::is_valid_utf8(text));
            for (const auto& x : d) check(x.offset <= size);
            (void)msg::unfold(f.value);
        }
        std::string out;
        msg::Defects d;
        m.decode(e, out, &d);
        for (const auto& x : d) check(x.offset <= size);
        (void)m.filename(e);
        const std::string cs = m.charset(e);
        if (e.kind == msg::EntityKind::leaf && !cs.empty() && out.size() < 4096) {
            std::string utf8;
            if (msg::to_utf8(out, cs, utf8)) check(msg::is_valid_utf8(utf8));
        }
        if (budget < 2000) {
            ++budget;
            const std::string s = m.section(i);
            if (i < 64) check(m.find_section(s) >= 0);
        }
    }
    (void)m.leaves();
    for (const auto& x : m.defects()) check(x.offset <= size);

    msg::ValidateOptions vo;
    vo.utf8 = size > 0 && (data[size - 1] & 1);
    const msg::Defects all = msg::validate(m, vo);
    for (std::size_t i = 0; i < all.size(); ++i) {
        check(all[i].offset <= size);
        check(i == 0 || all[i - 1].offset <= all[i].offset);
    }

    // The envelope: each recipient a usable mailbox, none twice; the
    // first line taken for a From_ line's rest.
    const msg::Derivation dv = msg::derive_envelope(in, in.substr(0, in.find('\n')));
    const auto key = [](std::string k) {   // the local part as it is, the domain in lower case
        for (std::size_t i = k.rfind('@'); i < k.size(); ++i)
            if (k[i] >= 'A' && k[i] <= 'Z') k[i] = static_cast<char>(k[i] + 32);
        return k;
    };
    for (std::size_t i = 0; i < dv.envelope.rcpts.size(); ++i) {
        const std::string& a = dv.envelope.rcpts[i].address;
        check(msg::is_smtp_mailbox(a));
        if (i < 64)
            for (std::size_t j = 0; j < i; ++j) check(key(dv.envelope.rcpts[j].address) != key(a));
    }
    if (dv.have_sender && !dv.envelope.mail_from.empty()) check(msg::is_smtp_mailbox(dv.envelope.mail_from));

    const msg::SpoolEntry entry = msg::parse_spool_entry(in);
    check(entry.message_offset <= size && entry.message.size() == size - entry.message_offset);
    for (const auto& x : msg::validate_envelope(entry)) check(x.offset <= size);
    return 0;
}
