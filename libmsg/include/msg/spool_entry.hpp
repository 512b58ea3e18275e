// spool_entry.hpp - a spool entry: an SMTP envelope, an empty line, a message.
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
// The directory the entries live in is spool.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/address.hpp"
#include "msg/defect.hpp"
#include "msg/envelope.hpp"

namespace msg {

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
    std::string_view data;       // the whole entry, which every span and offset here is in
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

// --- writing entries ---------------------------------------------------------

// The envelope lines (LF line endings) and the empty line that ends them.
// A path that needs quoting is written as given: the caller passes RFC 5321
// mailboxes. Annotation values must not contain line breaks (they are
// replaced by spaces).
std::string format_envelope(const Envelope& e);

// The envelope of a parsed entry, as values (invalid lines are dropped).
Envelope envelope_of(const SpoolEntry& entry);

// A MAIL or RCPT line's path as the tools show an entry (spoolctl list,
// spoolsend --dry-run): "<path>" with control bytes and bytes that are not
// UTF-8 escaped (printable()); "(malformed MAIL FROM)" or "(malformed RCPT
// TO)" for one that does not parse; "(MAIL FROM too long: N octets)" for one
// past RFC 5321 4.5.3.1's limits, which is never sent and never printed whole.
std::string shown_path(const EnvelopeLine& line);
// The sender so shown: shown_path() of the MAIL line, "(no MAIL FROM)"
// without one (never the null sender <>).
std::string shown_sender(const SpoolEntry& entry);

struct RetryRecord {
    std::chrono::system_clock::time_point when;
    std::string what;   // one line: the server's reply or the error
};

// The retry history of an entry (its Attempt: and Next-Attempt: lines).
// An entry in sent/ or failed/ has had one attempt more than it records:
// retry_info(entry, state) in delivery.hpp counts it.
struct RetryInfo {
    std::size_t attempts = 0;                                    // Attempt: lines
    std::optional<std::chrono::system_clock::time_point> first;  // the earliest Attempt:
    std::optional<std::chrono::system_clock::time_point> last;   // the last Attempt:
    std::string_view last_what;                                  // what the last Attempt: says (a reply, an error)
    std::optional<std::chrono::system_clock::time_point> next;   // Next-Attempt: (none: due now)
    bool settled = false;   // retry_info(entry, state): moved to sent/ or failed/ by an attempt it does not record
};
RetryInfo retry_info(const SpoolEntry& entry);

}  // namespace msg
