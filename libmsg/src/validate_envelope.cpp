// validate_envelope.cpp - a spool entry's envelope against its message.
#include <algorithm>

#include "msg/charset.hpp"
#include "msg/header.hpp"
#include "msg/validate.hpp"

namespace msg {
namespace {

// End of the header block: just after the empty line (or the whole message).
std::size_t header_end(std::string_view m) {
    std::size_t pos = 0;
    while (pos < m.size()) {
        const std::size_t nl = m.find('\n', pos);
        if (nl == std::string_view::npos) return m.size();
        if (nl == pos || (nl == pos + 1 && m[pos] == '\r')) return nl + 1;
        pos = nl + 1;
    }
    return m.size();
}

}  // namespace

Defects validate_envelope(const SpoolEntry& entry) {
    Defects out = entry.defects;
    const bool utf8 = entry.smtputf8();
    if (!utf8) {
        for (const EnvelopeLine& l : entry.envelope)
            if ((l.kind == EnvelopeLine::Kind::mail || l.kind == EnvelopeLine::Kind::rcpt) && l.path.ok &&
                l.path.utf8)
                out.push_back({DefectCode::EnvelopeSmtputf8Needed, l.path_offset, "UTF-8 address"});
        // RFC 6531 3.3: UTF-8 in parameter values too
        for (const EnvelopeLine& l : entry.envelope)
            for (const EsmtpParam& p : l.params)
                if (first_non_ascii(p.value) != std::string_view::npos) {
                    out.push_back({DefectCode::EnvelopeSmtputf8Needed, p.offset, "UTF-8 in " + std::string(p.keyword)});
                    break;
                }
    }
    const std::string_view m = entry.message;
    const std::size_t hend = header_end(m);
    if (!utf8) {
        const std::size_t h8 = first_non_ascii(m.substr(0, hend));
        if (h8 != std::string_view::npos)
            out.push_back({DefectCode::EnvelopeSmtputf8Needed, entry.message_offset + h8, "8-bit header"});
    }
    const std::string_view body_type = entry.body_type();
    if (!iequals(body_type, "8BITMIME") && !iequals(body_type, "BINARYMIME")) {
        const std::size_t b8 = first_non_ascii(m.substr(hend));
        if (b8 != std::string_view::npos)
            out.push_back({DefectCode::Envelope8BitmimeNeeded, entry.message_offset + hend + b8,
                           body_type.empty() ? "no BODY parameter" : "BODY=" + std::string(body_type)});
    }
    std::stable_sort(out.begin(), out.end(), [](const Defect& a, const Defect& b) { return a.offset < b.offset; });
    return out;
}

}  // namespace msg
