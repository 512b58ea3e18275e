// spool.hpp - spool entries: an SMTP envelope, an empty line, a message.
//
//   MAIL FROM:<alice@example.org> BODY=8BITMIME
//   RCPT TO:<bob@example.net>
//   RCPT TO:<carol@example.net> NOTIFY=FAILURE
//   Mbox-From: alice@example.org Mon Nov 23 09:15:00 2026
//                                              <- empty line
//   From: Alice <alice@example.org>
//   ...
//
// Envelope lines are SMTP commands (MAIL, RCPT) or annotations (Name: value)
// that senders never send. docs/spool-format.md is the full specification.
// parse_spool_entry() reads an entry from memory; every piece is a span
// into it, and what is malformed is reported as a defect, never thrown.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "msg/address.hpp"
#include "msg/defect.hpp"

namespace msg {

// One ESMTP parameter, esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2).
struct EsmtpParam {
    std::string_view keyword;
    std::string_view value;     // empty when there is no "="
    bool has_value = false;
    std::size_t offset = 0;     // of the keyword, in the entry
};

struct EnvelopeLine {
    enum class Kind { mail, rcpt, annotation, invalid };
    Kind kind = Kind::invalid;
    std::size_t offset = 0;     // of the line in the entry
    std::string_view text;      // the line without its line ending
    // mail, rcpt:
    Path path;                  // offsets in `path` are relative to path_offset
    std::size_t path_offset = 0;
    std::vector<EsmtpParam> params;
    // annotation:
    std::string_view name, value;

    const EsmtpParam* param(std::string_view keyword) const;  // case-insensitive
};

struct SpoolEntry {
    std::vector<EnvelopeLine> envelope;
    bool has_separator = false;  // the empty line was found
    std::size_t message_offset = 0;
    std::string_view message;    // the message's bytes
    std::size_t message_line = 1;  // line of the entry where the message starts
    Defects defects;             // envelope syntax (offsets in the entry)

    const EnvelopeLine* mail() const;                      // the first MAIL line, or null
    std::vector<const EnvelopeLine*> recipients() const;   // RCPT lines in order
    std::string_view annotation(std::string_view name) const;  // first value, or ""
    bool smtputf8() const;       // MAIL has SMTPUTF8
    std::string_view body_type() const;  // MAIL's BODY= value ("" when absent)
};

// True when `data` looks like a spool entry: it starts with "MAIL FROM:" or
// "RCPT TO:" (neither can begin a message: a field name has no space).
bool looks_like_spool_entry(std::string_view data) noexcept;

// Parse an entry. Syntax defects of the envelope (envelope.*) are in
// `defects`; the message itself is not parsed.
SpoolEntry parse_spool_entry(std::string_view data);

// ESMTP parameters after a path: SP-separated esmtp-param list. `base` is
// the offset of `s` in the entry; malformed ones are reported.
std::vector<EsmtpParam> parse_esmtp_params(std::string_view s, std::size_t base, Defects* defects);

}  // namespace msg
