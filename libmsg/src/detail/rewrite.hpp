// detail/rewrite.hpp - what the rewrite steps share: the splice list that
// keeps every untouched byte, the step context, and the field-level
// helpers several steps use.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/charset.hpp"
#include "msg/message.hpp"
#include "msg/rewrite.hpp"

namespace msg::detail {

inline bool has_8bit(std::string_view s) noexcept { return first_non_ascii(s) != std::string_view::npos; }

// Replacements of byte ranges of one buffer. apply() copies the buffer
// with each range replaced; ranges must not overlap. Insertions at one
// offset keep their order and come before a replacement starting there.
class Splice {
public:
    // Text made only when the splice is applied, straight into its output:
    // `write` appends exactly `size` bytes. A re-encoded body is so never
    // held beside the output that holds it too. What `write` reads must
    // live until apply().
    struct Deferred {
        std::size_t size = 0;
        std::function<void(std::string&)> write;
    };
    void replace(std::size_t begin, std::size_t end, std::string text);
    // `text` is written first (an empty line before a body, say), then `then`.
    void replace(std::size_t begin, std::size_t end, std::string text, Deferred then);
    void insert(std::size_t at, std::string text) { replace(at, at, std::move(text)); }
    void erase(std::size_t begin, std::size_t end) { replace(begin, end, std::string()); }
    // The edits of `other` made part of this splice (one kept aside until
    // the rest of its change was known to be possible).
    void take(Splice&& other) {
        for (Edit& e : other.edits_) edits_.push_back(std::move(e));
    }
    bool empty() const { return edits_.empty(); }
    // True when some edit overlaps [begin, end) (touching ends do not count).
    bool touches(std::size_t begin, std::size_t end) const;
    std::string apply(std::string_view in) const;

private:
    struct Edit {
        std::size_t begin, end;
        std::string text;
        Deferred deferred;  // written after `text`
    };
    std::vector<Edit> edits_;
};

// The line break a message uses: that of its first line ("\r\n" or "\n";
// "\n" for a message with no line break at all).
std::string_view eol_of(std::string_view data) noexcept;

// Places what a step says in the message given to rewrite(). A step reads
// a version of it that earlier steps may have changed; an offset there is
// moved to the same entity (the same index when both have as many, else
// by its rank among its siblings, level by level) and the same field (by
// name and rank among the fields of that name) or body in the original: to
// the same byte when the bytes before it in that field or body are
// unchanged, else to the field's or body's start, or to the entity's
// first byte when the original has no such field. npos for an offset past
// the version's end.
class Placer {
public:
    Placer(std::string_view original, const Limits& limits) : original_(original), limits_(limits) {}
    // `at` in `version` as an offset in the original; `where` is renamed
    // when the version's part has no counterpart there.
    std::size_t place(const Message& version, std::size_t at, std::string& where) const;

private:
    std::string_view original_;
    const Limits& limits_;
    mutable std::optional<Message> parsed_;   // the original, parsed when first needed
};

// What a step reports into.
struct StepLog {
    RewriteStep step;
    std::vector<Change>* changes;
    std::vector<Change>* problems;
    const Placer* placer;
    void change(std::string where, std::string what) const {
        changes->push_back({step, std::move(where), std::move(what)});
    }
    // What could not be done at offset `at` of `m` (the version the step reads).
    void problem(const Message& m, std::size_t at, std::string where, std::string what) const {
        const std::size_t placed = placer->place(m, at, where);
        problems->push_back({step, std::move(where), std::move(what), placed});
    }
};

// The field of entity `e` whose bytes hold `offset`, or null.
const HeaderField* field_at(const Message& m, const Entity& e, std::size_t offset);

// "header Subject", "part 2 header Content-Type", or "part 2 message header
// Subject" in the header of the message that part 2 (message/rfc822) holds.
std::string field_place(const Message& m, std::size_t entity, std::string_view field);
// "message" for the root, "part 2.1" otherwise; "part 2 message" for the
// multipart root of the message part 2 holds, which has no number of its own.
std::string entity_place(const Message& m, std::size_t entity);

// Index of the innermost entity whose bytes contain `offset`.
std::size_t entity_at(const Message& m, std::size_t offset);

// True for fields with a grammar of their own (dates, ids, trace, MIME,
// signatures): never re-encoded as a whole.
bool is_structured_field(std::string_view name) noexcept;

// The value of `f` (leading white space kept, final line break excluded)
// made 7-bit: encoded words for 8-bit text (phrases and comments of
// address fields, runs of words elsewhere), RFC 2231 for 8-bit MIME
// parameters. Appends to `out` and returns true when every 8-bit byte
// could be encoded; otherwise reports why through `log` and returns false
// (the field is then left as it was).
bool encode_field_8bit(const Message& m, std::size_t entity, const HeaderField& f,
                       std::string_view eol, std::string& out, const StepLog& log);

// A Content-Type or Content-Disposition value written from parsed values:
// " type/subtype; name=value; ..." with values quoted when they are not
// tokens, RFC 2231 (utf-8, continuations) when not ASCII or too long for
// one line, and folded.
std::string format_mime_value(std::string_view name, std::string_view main,
                              const Parameters& params, std::string_view eol);

// A Content-Type or Content-Disposition value as format_mime_value() needs
// it: the type ("type/subtype", or the disposition; empty when the value
// has none) and the parameters. The parser's defects go to `defects`.
struct MimeFieldValue {
    std::string main;
    Parameters params;
};
bool is_mime_parameter_field(std::string_view name) noexcept;
MimeFieldValue parse_mime_field(std::string_view name, std::string_view value, Defects* defects = nullptr);
// A field written again from its parameters holds the first of a
// repeated one only: the others are not dropped unasked. Why not, from
// parse_mime_field's defects, or "" when no parameter is repeated.
std::string repeated_parameter(const Defects& defects);

// encode_words() for text that starts at `column` of its line (0-based):
// the first word is kept short enough to end by column 76.
std::string encode_words_from(std::string_view text, bool phrase, std::string_view separator,
                              std::size_t column);

// Fold one field's raw text (name, colon, value, final line break) so that
// no line is longer than 78 characters where white space allows; returns
// false when nothing had to change (76 instead of 78 when the field holds
// encoded words, RFC 2047 2). `lines_over_998` receives the number of lines
// still over 998 octets.
bool fold_field(std::string_view raw, std::string_view eol, std::string& out,
                std::size_t& lines_over_998);

// Fold header field `f` of entity `entity` as --fold does: at white space
// (fold_field); a free-text field (Subject, ...) with a line over 998
// octets and nowhere to fold is cut into encoded words instead, a
// Content-Type or Content-Disposition one written again with its long
// parameter values in RFC 2231 sections. The new
// text goes into `splice`; returns false when the field stays as it is.
// A line left over 998 octets is reported through `log`.
bool fold_header_field(const Message& m, std::size_t entity, const HeaderField& f, std::string_view eol,
                       Splice& splice, const StepLog& log);

// A body's decoded content: a view of the body itself for the encodings
// decode_transfer passes through (no copy), else decoded into storage it
// owns. Copies share it.
struct Decoded {
    std::string_view data;
    std::shared_ptr<const std::string> owned;
};
Decoded decode_body(std::string_view body, TransferEncoding encoding);
Decoded hold(std::string text);

// Quoted-printable for a body: the line breaks of `text` that are the
// message's own (`eol`) as hard line breaks, any other CR or LF (all but a
// final line break in other data: RFC 2045 6.7 (4)) encoded, soft breaks
// written as `eol`, no break added after a last line that has none;
// decoding gives back the data exactly. Written when the splice is applied
// (the Deferred keeps `data` alive); `size` is qp_encoded_size() when the
// caller has counted it.
Splice::Deferred qp_encode_body(Decoded data, std::string_view eol, bool text, std::optional<std::size_t> size = {});
// Its size, counted without writing it.
std::size_t qp_encoded_size(std::string_view data, std::string_view eol, bool text);
// base64 of a body in lines of 76, ended by `eol` when `final_eol`; as
// qp_encode_body.
Splice::Deferred base64_encode_body(Decoded data, std::string_view eol, bool final_eol);

// The bytes no line-ending change may touch, in order: every binary body,
// with the line break after it when the body ends in CR (converted, that
// CR would join the break, CR CR LF being one, and leave the body).
std::vector<std::pair<std::size_t, std::size_t>> binary_spans(std::string_view in, const Message& m);

// False for an entity whose header and body cannot be told apart for
// sure, so that neither its body nor its fields are changed: a part with
// neither a header nor the empty line before its body (an added field would
// land in the header before it), and a header cut short by a line that is
// not a field (header.missing-colon, header.bad-field-name, a header over
// the parser's limits), where what follows may be fields to other readers.
bool editable(const Entity& e) noexcept;

// True for the one part of a multipart that holds only its close delimiter
// (mime.no-body-part): the text before that delimiter, with no delimiter
// line and no header of its own, so not editable(). --fix gives it its
// delimiter line; until then nothing can be added to it.
bool without_delimiter(const Message& m, const Entity& e) noexcept;

// Insert a field (its text ending in `eol`) at `at`, a header's end, on a
// line of its own even when the header's last field has no line break.
void insert_field(const Message& m, std::size_t at, std::string field, std::string_view eol, Splice& splice);

// Set the Content-Transfer-Encoding of entity `e` to `value`: its (first)
// field's value replaced, any later one removed, or a field added at the
// end of its header.
void set_transfer_encoding(const Message& m, const Entity& e, std::string_view value,
                           std::string_view eol, Splice& splice);

// What step_fix says of a repairable defect it left for no reason it
// knows: a gap in its rules (the property tests look for it).
inline constexpr std::string_view kNoRule = "no rule of --fix repaired it";

// The steps.
bool step_fix(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log);
bool step_headers(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log);
bool step_to_utf8(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log);
bool step_seven_bit(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log);
bool step_line_limit(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log);
bool step_fold(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log);
bool step_line_ending(std::string_view in, std::string& out, const RewriteOptions& o, const StepLog& log);

}  // namespace msg::detail
