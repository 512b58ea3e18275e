// header.hpp - header field grammar.
//
// A HeaderField is a span of the input: its name, its raw value (folds kept)
// and the whole field including the line break that ends it. Nothing is
// copied until asked: unfold() and decode_header_text() build strings.
//
// Also here: RFC 2047 encoded words, RFC 2045/2231 parameters and the three
// MIME fields Content-Type, Content-Disposition, Content-Transfer-Encoding.
//
// Leniency (what real mail needs, each case recorded as a defect where one
// is passed in):
//  - encoded words are decoded wherever they are delimited by white space or
//    the field's start/end, and also inside quoted parameter values (as most
//    mail readers do); white space between adjacent encoded words is dropped;
//    a malformed word, or one in an unknown charset, is kept literally;
//  - raw 8-bit text is taken as UTF-8 when the field's is valid UTF-8
//    (all of it: where it is folded changes nothing), else as windows-1252;
//  - RFC 2231 continuations are joined in section order; missing sections
//    are reported and the rest is joined anyway.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/limits.hpp"

namespace msg {

// ABNF (RFC 5322 2.2, 3.6.8): field = field-name ":" unstructured CRLF
//                              field-name = 1*ftext ; %d33-57 / %d59-126
struct HeaderField {
    std::string_view name;   // as written, white space before the colon excluded
    std::string_view value;  // after the colon up to the final line break; folds kept
    std::string_view raw;    // the whole field, final line break included
    std::size_t offset = 0;  // of raw (and name) in the parsed buffer

    std::size_t value_offset() const {
        return offset + static_cast<std::size_t>(value.data() - raw.data());
    }
};

// ASCII case-insensitive comparison (field names, parameter names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;
std::string to_lower_ascii(std::string_view s);

// Remove the line breaks of folding (CRLF or LF followed by WSP) and trim
// white space at both ends.
std::string unfold(std::string_view value);
// The same, made in `buf` only when `value` is folded; else a view into
// `value` (no copy for the many values on one line).
std::string_view unfold(std::string_view value, std::string& buf);

// Decode an unstructured field value (already unfolded or not) to UTF-8:
// RFC 2047 encoded words, raw 8-bit text as described above. `base` is the
// offset of `value` in the parsed buffer, for defects.
std::string decode_header_text(std::string_view value, Defects* defects = nullptr,
                               std::size_t base = 0);
// Field text taken as it stands (no encoded word decoded), as UTF-8, to
// `out`: the line breaks of folding dropped; 8-bit text as it is when the
// field is UTF-8 (`field_is_utf8`), else as windows-1252, its five
// undefined bytes kept as the C1 controls ISO 8859-1 has there (no byte
// lost to U+FFFD); raw ISO-2022-JP as the Japanese it spells. The one rule
// for raw text in a header, which every decoder here follows.
void append_raw_header_text(std::string_view raw, bool field_is_utf8, std::string& out);
// Text an old Japanese mailer wrote into a field raw, in ISO-2022-JP with
// its escape sequences (ESC $ B ... ESC ( B), not as encoded words
// (header.control): its UTF-8 appended to `out`, when `text` holds an ESC,
// no 8-bit byte, and converts without a bad sequence; else false, `out`
// unchanged. Readers show such text as Japanese; so do libmsg's decoders.
bool raw_iso2022jp_to_utf8(std::string_view text, std::string& out);
// A token that is an encoded word from end to end ("=?...?="), as RFC
// 2047 5(3) wants one in a phrase; whether it decodes is another matter.
bool is_whole_encoded_word(std::string_view token) noexcept;

// A piece of field value `field` decoded as it is in place: its raw 8-bit
// text read as the whole field's is.
std::string decode_header_piece(std::string_view piece, std::string_view field);
// ... the same, told whether the whole field is valid UTF-8 (for a caller
// that decodes many pieces of one field: the field is looked at once).
std::string decode_header_piece(std::string_view piece, bool field_is_utf8);

// True for fields whose value is an address list (RFC 5322 3.6.2, 3.6.3,
// 3.6.6, and the common ones of the same grammar).
bool is_address_field(std::string_view name) noexcept;

// RFC 5322 3.6.6's resent fields, and the obsolete Resent-Reply-To (4.5.6).
// Other names that begin with "Resent-" are optional fields.
bool is_resent_field(std::string_view name) noexcept;

// The resent fields of one resending (RFC 5322 3.6.6), in header order.
struct ResentBlock {
    std::vector<const HeaderField*> fields;   // never empty: fields[0] begins the block
    // Its field of that name (each name comes once in a block), or nullptr.
    const HeaderField* find(std::string_view name) const noexcept;
};

// The resent blocks of a header, newest (topmost) first. Each resending
// prepends a block of its own, and the trace fields of its journey go on
// top of it: above the message's own fields (From, Date, Subject, ...) a
// block is a run of resent fields, as RFC 5322 3.6's grammar has it, ended
// by any other field or by a name it holds already (two blocks written one
// after the other). Resent fields below the message's own fields were
// appended by an MTA (Postfix and sendmail add a missing Resent-Date,
// Resent-Message-ID or Resent-From at the header's end): each completes
// the newest block that lacks its name, or begins a block when none does.
// This one rule is what msgcheck checks and what the envelope is derived
// from.
std::vector<ResentBlock> resent_blocks(std::span<const HeaderField> header);

// A field's value decoded for people to read (msgshow): decode_header_text,
// except in an address field, where encoded words are decoded only where
// RFC 2047 5 allows them (whole words of a display name, and comments),
// never inside an address or a quoted string; a display name that decodes
// to text with special characters is shown quoted, so that no decoded name
// passes for an address ("=?utf-8?q?a=40b.example?= <x@evil.example>" is
// shown as "\"a@b.example\" <x@evil.example>"). In Content-Type and
// Content-Disposition, quoted parameter values are shown as written (an
// encoded word is no encoded word there: a boundary may hold "=?").
std::string decode_field_text(std::string_view name, std::string_view value);

// A MIME parameter after RFC 2231 processing: name lower-cased, value joined
// from its continuations, percent-decoded and converted to UTF-8; but a
// boundary given plainly (not name*=charset'') keeps its bytes whatever
// they are, as its delimiter lines repeat them.
struct Parameter {
    std::string name{};
    std::string value{};
    std::string charset{};   // from RFC 2231 extended syntax, lower case; empty if none
    std::string language{};
    // The plain value given beside an RFC 2231 one of the same name
    // (filename="a.txt" with filename*=...), for readers that know only the
    // plain form; `value` is the RFC 2231 one. Empty when there is none.
    std::string plain{};
    // An RFC 2231 value in a charset libmsg does not know, or whose bytes
    // do not decode in it: its bytes as sent (escapes decoded), which
    // `value` shows as UTF-8 or windows-1252 text (U+FFFD for what does not
    // decode); a writer writes these again under `charset`. Empty otherwise.
    std::string unconverted{};
    // Where its name is written (of an RFC 2231 one, the section read
    // first), `base` of parse_parameters added: the place of a defect of
    // its value.
    std::size_t offset = 0;
};

using Parameters = std::vector<Parameter>;

// Parse "; name=value; name*0*=..." after the main token of a MIME field.
// `base` is the offset of `text` for defects.
Parameters parse_parameters(std::string_view text, Defects* defects = nullptr,
                            std::size_t base = 0, const Limits& limits = {});
// First parameter with that (case-insensitive) name, or nullptr.
const Parameter* find_parameter(const Parameters& params, std::string_view name) noexcept;

// RFC 2045 5.1: Content-Type := type "/" subtype *(";" parameter)
struct ContentType {
    std::string type = "text";      // lower case
    std::string subtype = "plain";  // lower case
    Parameters params;
    bool valid = true;              // false when the field did not parse (defaults used)

    bool is(std::string_view t, std::string_view s) const noexcept {
        return type == t && subtype == s;
    }
    bool is_multipart() const noexcept { return type == "multipart"; }
    std::string mime_type() const { return type + "/" + subtype; }
    const std::string* param(std::string_view name) const noexcept {
        const Parameter* p = find_parameter(params, name);
        return p ? &p->value : nullptr;
    }
    // A body that is itself a block of header fields: a known report's
    // second part (message/R or message/global-R, known_report_type(R)),
    // and a message's header alone (text/rfc822-headers, message/global-headers).
    bool is_field_block() const noexcept;
};

// The report types (multipart/report's report-type) whose second part
// libmsg knows, in either form (RFC 6533's global- prefix or none):
// delivery-status (RFC 3464), disposition-notification (RFC 8098) and
// feedback-report (RFC 5965). Case is ignored.
bool known_report_type(std::string_view report_type) noexcept;

ContentType parse_content_type(std::string_view value, Defects* defects = nullptr,
                               std::size_t base = 0, const Limits& limits = {});

// RFC 2183: disposition := disposition-type *(";" disposition-parm)
struct ContentDisposition {
    std::string type;   // lower case: "inline", "attachment", ...
    Parameters params;
    const std::string* param(std::string_view name) const noexcept {
        const Parameter* p = find_parameter(params, name);
        return p ? &p->value : nullptr;
    }
};

ContentDisposition parse_content_disposition(std::string_view value, Defects* defects = nullptr,
                                             std::size_t base = 0, const Limits& limits = {});

// RFC 2045 6.1, and the private x-uuencode (6.3) that old clients send.
enum class TransferEncoding : std::uint8_t {
    seven_bit, eight_bit, binary, quoted_printable, base64, unknown,
    uuencode,  // x-uuencode, x-uue, and the unprefixed uuencode and uue
};

// Case-insensitive, white space and comments ignored; "" means 7bit.
TransferEncoding parse_transfer_encoding(std::string_view value) noexcept;
// The token of a Content-Transfer-Encoding value, white space and comments
// around it skipped ("x-gzip64").
std::string_view transfer_encoding_token(std::string_view value) noexcept;
// What follows that token, comments and white space skipped: "" in a
// well-formed value (RFC 2045 6.1), ";" in "base64;".
std::string_view transfer_encoding_rest(std::string_view value) noexcept;
std::string_view transfer_encoding_name(TransferEncoding e) noexcept;  // "7bit", "base64", "x-uuencode", ...

}  // namespace msg
