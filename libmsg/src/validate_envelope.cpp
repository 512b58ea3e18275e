// validate_envelope.cpp - a spool entry's envelope against its message: does
// it declare what needs() says the message needs?
#include <algorithm>

#include "msg/charset.hpp"
#include "msg/header.hpp"
#include "msg/validate.hpp"

namespace msg {

Defects validate_envelope(const SpoolEntry& entry) {
    Defects out = entry.defects;
    const Envelope env = envelope_of(entry);
    const Needs n = needs(env, entry.message);
    // What MAIL declares, even when its path is malformed (envelope_of
    // leaves such a line out).
    Envelope declared;
    if (const EnvelopeLine* mail = entry.mail())
        for (const EsmtpParam& p : mail->params) declared.set_param(p.keyword, p.value);
    if (n.smtputf8 && !declared.has_param("SMTPUTF8")) {
        // Each place that needs it, as needs() looks at them.
        for (const EnvelopeLine& l : entry.envelope) {
            if ((l.kind == EnvelopeLine::Kind::mail || l.kind == EnvelopeLine::Kind::rcpt) && l.path.ok && l.path.utf8)
                out.push_back({DefectCode::EnvelopeSmtputf8Needed, l.path_offset, "UTF-8 address"});
            const auto p8 = std::find_if(l.params.begin(), l.params.end(), [](const EsmtpParam& p) {
                return first_non_ascii(p.value) != std::string_view::npos;
            });
            if (p8 != l.params.end())
                out.push_back({DefectCode::EnvelopeSmtputf8Needed, p8->offset, "UTF-8 in " + std::string(p8->keyword)});
        }
        if (n.header_8bit != Needs::npos)
            out.push_back({DefectCode::EnvelopeSmtputf8Needed, entry.message_offset + n.header_8bit, "8-bit header"});
    }
    const std::string_view body_type = entry.body_type();
    Needs body_only;
    body_only.eightbitmime = true;
    if (n.eightbitmime && !declares(declared, body_only))
        out.push_back({DefectCode::Envelope8BitmimeNeeded, entry.message_offset + n.body_8bit,
                       body_type.empty() ? "no BODY parameter" : "BODY=" + std::string(body_type)});
    std::stable_sort(out.begin(), out.end(), [](const Defect& a, const Defect& b) { return a.offset < b.offset; });
    return out;
}

}  // namespace msg
