// rewrite.hpp - composable rewrites of a message, each idempotent.
//
// rewrite() applies the operations an options object asks for, always in
// the same order (the order of RewriteStep), each to the output of the one
// before; but line_ending runs first as well, so that every step reads the
// structure the output will have (CR CR LF is one line break), and last
// only when a step between wrote lines:
//
//   fix         repair the defects the catalogue marks repairable
//               (DefectInfo::repair says how)
//   headers     --remove, --strip-bcc, --set, --add, --add-date,
//               --add-message-id: the edits of the root header, in order
//   to_utf8     text parts in another charset converted to UTF-8
//   seven_bit   everything 8-bit made 7-bit: bodies to quoted-printable or
//               base64, header text to RFC 2047 encoded words, MIME
//               parameters to RFC 2231
//   line_limit  only what has a line over 998 octets (RFC 5321 4.5.3.1.6,
//               RFC 5322 2.1.1): that field folded, that body encoded
//               again as quoted-printable or base64
//   fold        header lines over 78 characters folded at white space
//   line_ending every line break made CRLF or LF
//
// Minimal difference: an operation replaces only the spans it must change
// (one field, one body, one line break) and copies every other byte, so a
// DKIM signature over untouched fields and bodies still verifies. Each
// operation is idempotent (applying it to its own output changes nothing),
// and each keeps what a reader sees: the decoded content of every part
// (fold, seven_bit) and the unfolded, decoded value of every field.
//
// What an operation could not do (8-bit in an address that only SMTPUTF8
// can carry, a charset ICU does not know) is reported, never guessed at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/limits.hpp"

namespace msg {

enum class LineEnding : std::uint8_t { keep, crlf, lf };

struct HeaderEdit {
    enum class Kind : std::uint8_t {
        remove,  // every field whose name matches `name`, a glob (* ? [...]), case-insensitive
        set,     // replace the first `name` field's value (removing later ones), or add it
        add,     // append a `name` field at the end of the header, unless the same
                 // field (name and unfolded value) is already there
    };
    Kind kind = Kind::add;
    std::string name;
    std::string value;  // set, add: the value as it is to be written after "Name: "
};

// Parse "Name: value" (for --set and --add). Returns false when there is no
// colon or the name is not a valid field name.
bool parse_header_edit(std::string_view text, HeaderEdit::Kind kind, HeaderEdit& edit);

struct RewriteOptions {
    bool fix = false;
    std::vector<HeaderEdit> edits;  // applied in order
    bool strip_bcc = false;         // remove Bcc and Resent-Bcc
    std::string add_date;           // when not empty: the Date value added if Date is missing
    std::string add_message_id;     // when not empty: the Message-ID added if missing ("<...>")
    bool to_utf8 = false;
    bool seven_bit = false;
    bool line_limit = false;
    bool fold = false;
    LineEnding line_ending = LineEnding::keep;
    Limits limits;
};

enum class RewriteStep : std::uint8_t { fix, headers, to_utf8, seven_bit, line_limit, fold, line_ending };
// "fix", "headers", "to-utf8", "7bit", "line-limit", "fold", "line-ending"
std::string_view step_name(RewriteStep s);

// The offset of the first line longer than 998 octets (its line break not
// counted), or npos: what SMTP may not carry (RFC 5321 4.5.3.1.6). Lines
// are counted as they go on the wire: a bare CR ends one, as LF and CRLF do.
std::size_t long_line_at(std::string_view s) noexcept;

// One change made, or one that could not be made.
struct Change {
    RewriteStep step;
    std::string where;  // "header Subject", "part 2.1", "message"
    std::string what;   // "8bit -> quoted-printable", "folded 2 lines", ...
    // A problem's place in the input given to rewrite() or
    // rewrite_spool_entry() (the field, the line or the part's first byte),
    // npos when it has none (changes, the envelope as a whole).
    std::size_t offset = std::string::npos;
};

struct RewriteResult {
    // The rewritten message when `changed`; empty when not (the input is
    // the result then, not copied: see text()).
    std::string output;
    bool changed = false;
    std::vector<Change> changes;    // what was done, in order
    std::vector<Change> problems;   // what an operation could not do
    // fix: the defects the result still has (offsets in text()), when
    // options.fix is set.
    Defects remaining;
    // Why the input was refused, untouched, when it is not mail at all
    // (msg::not_mail_reason: empty, no header field, binary data); "" when
    // it was rewritten. No operation applies to such input.
    std::string not_mail;
    // The message is larger than options.limits.max_rewrite_message: no
    // operation applied, left as it is.
    bool too_large = false;
    // Not rewritten at all: not mail, or too large.
    bool refused() const { return too_large || !not_mail.empty(); }
    // The result of rewriting `input` (the message or entry given to
    // rewrite()): `output` when changed, else `input` itself.
    std::string_view text(std::string_view input) const { return changed ? std::string_view(output) : input; }
};

RewriteResult rewrite(std::string_view message, const RewriteOptions& options);  // see refused()

// `message` with `fields` (whole "Name: value" lines, without line breaks)
// added at the end of its header block, in the message's line endings, and
// not another byte changed: no parse beyond the header, so it works where
// rewrite() refuses (a message over limits.max_rewrite_message; not mail:
// an empty header, an empty message). A message with an empty header gets
// them before its empty line; an empty message becomes the fields and an
// empty line. (Date and Message-ID for a submission, RFC 6409 8.2, 8.3.)
std::string with_header_fields(std::string_view message, const std::vector<std::string>& fields);

// A rewrite as a JSON object (msgrewrite --json, docs/json.md): {"source",
// "index", "changed", "not_mail"?, "too_large"?, "changes": [{"step", "where", "what"}],
// "problems": [{"step", "where", "what", "line"?, "column"?}], "remaining"?
// (with `fix`): [{"defect", "severity", "line", "column", "repairable"}]}.
// `input`: what was rewritten; its first line is line `first_line` of its
// file, `unquoted_lines` as in Place (an archive's message): problems are
// placed in the file, the remaining defects in r.text(input).
std::string rewrite_json(std::string_view source, std::uint64_t index, const RewriteResult& r, std::string_view input,
                         bool fix, std::uint64_t first_line = 1, std::span<const std::size_t> unquoted_lines = {});

// A spool entry (envelope, empty line, message; see spool.hpp): the message
// is rewritten, the envelope kept byte for byte but for what the rewrite
// makes wrong or asks for: BODY=8BITMIME is dropped from MAIL FROM when the
// message came out 7-bit, and the envelope's line breaks follow
// options.line_ending. An entry without its empty line is left unchanged,
// with a problem reported.
RewriteResult rewrite_spool_entry(std::string_view entry, const RewriteOptions& options);

// --- values for the header edits ---------------------------------------------

// A msg-id "<left@domain>" whose left part is derived from `seed` (the
// message's bytes, say) and `t`: the same inputs give the same identifier.
std::string make_message_id(std::string_view seed, std::time_t t, std::string_view domain);

// --- building blocks, also used by the sender ----------------------------------

// RFC 2047 encoded words for `text` (any bytes: valid UTF-8 is taken as
// UTF-8, anything else as windows-1252, and converted), charset utf-8, Q or
// B whichever is shorter, each word at most 75 characters, words separated
// by `separator` (a space, or a line break and a space to fold). `phrase`:
// the stricter Q alphabet for words in a display name (RFC 2047 5(3)).
std::string encode_words(std::string_view text, bool phrase, std::string_view separator = " ");

}  // namespace msg
