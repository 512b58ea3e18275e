// validate.hpp - the checks of msgcheck, beyond what parsing finds.
//
// parse_message() reports what it meets while building the structure
// (header syntax, boundaries, parameters). validate() adds the rules a
// well-formed message must also follow: line length and line endings,
// required and single fields (RFC 5322 3.6), address, date and message-id
// syntax (3.3, 3.4, 3.6.4), MIME-Version, transfer encodings against the
// data, charsets, encoded words and attachment filenames. Every defect has
// its offset in the message buffer; see defects.def for the catalogue.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/message.hpp"
#include "msg/spool.hpp"

namespace msg {

struct ValidateOptions {
    // The message is internationalised (RFC 6532, sent with SMTPUTF8): 8-bit
    // header text is allowed, and must then be valid UTF-8.
    bool utf8 = false;
    // At most this many defects of one code are reported per message; the
    // last one kept says how many more there were ("and N more like it").
    // 0: no limit.
    std::size_t max_repeats = 10;
};

// Every defect of `m`: the parser's, then the checks', sorted by offset.
Defects validate(const Message& m, const ValidateOptions& options = {});

// Keep at most `max` defects of each code (the first ones, in order); the
// last kept of a code that had more tells the count first in its detail.
void cap_repeats(Defects& defects, std::size_t max);

// The envelope of a spool entry: its syntax (entry.defects), and whether it
// asks for what the message needs: SMTPUTF8 for UTF-8 in a path or in the
// header (RFC 6531), BODY=8BITMIME for 8-bit data in the body (RFC 6152).
// Offsets are in the entry. Check the message itself with validate(), with
// `utf8` set when entry.smtputf8().
Defects validate_envelope(const SpoolEntry& entry);

// One msg-id (Message-ID), or a list of them (In-Reply-To, References),
// RFC 5322 3.6.4. `base` is the offset of `value` in the buffer; defect
// texts start with the field name. (Addresses: address.hpp; dates:
// datetime.hpp.)
Defects check_msg_id_field(std::string_view name, std::string_view value, std::size_t base, bool list);

// MIME-Version's value, RFC 2045 4: two numbers joined by a dot, comments
// anywhere. `base` and the texts as for check_msg_id_field.
Defects check_mime_version(std::string_view name, std::string_view value, std::size_t base);

}  // namespace msg
