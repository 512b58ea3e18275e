// message.hpp - a message parsed from a buffer: header fields and MIME tree.
//
// parse_message() never fails and never copies the input: it returns the
// best structure it can find, and a Defect for each departure from the
// RFCs. Every piece is a span of the buffer passed in, which must outlive
// the Message.
//
// Layout of an entity (offsets into the buffer):
//
//   begin            header_end      body_begin            end
//   |  header fields  | empty line     |  body ...           |
//
// For a multipart, the body is: preamble, then each child between boundary
// lines, then the epilogue. Per RFC 2046 the line break before a boundary
// line belongs to the boundary, so a child's end is the start of that line
// break. A multipart whose first delimiter line is its close delimiter
// (mime.no-body-part) has no preamble but one child with no delimiter line
// of its own: the text before that line, without a header, text/plain even
// in a digest (its begin is the multipart's body_begin, which no other
// child's is). For message/rfc822 (and message/global), the body is one
// child: the embedded message's root entity. An entity whose header block
// is missing (header_end == begin) has the default type of its context:
// text/plain, or message/rfc822 inside multipart/digest.
//
// The spans cover the input exactly: the root's header fields, the separator
// and the body re-serialise to the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msg/codec.hpp"
#include "msg/defect.hpp"
#include "msg/header.hpp"
#include "msg/limits.hpp"

namespace msg {

enum class EntityKind : std::uint8_t {
    leaf,       // a body that is not parsed further
    multipart,  // children are the parts between boundaries
    message,    // message/rfc822 or message/global: one child, the embedded message
};

struct Entity {
    std::size_t begin = 0;        // first byte of the header block
    std::size_t header_end = 0;   // end of the last field (start of the empty line)
    std::size_t body_begin = 0;   // first byte after the empty line
    std::size_t end = 0;          // one past the last byte of the body
    std::uint32_t first_field = 0, field_count = 0;   // range in Message::fields()
    std::int32_t parent = -1, first_child = -1, next_sibling = -1;  // entity indices
    std::uint16_t depth = 0;      // 0 for the root
    EntityKind kind = EntityKind::leaf;
    bool has_content_type = false;  // false: the context's default type is used
    TransferEncoding encoding = TransferEncoding::seven_bit;
    ContentType content_type;
    bool has_disposition = false;
    ContentDisposition disposition;
    // Multipart only: preamble and epilogue, as offsets (empty if none).
    std::size_t preamble_begin = 0, preamble_end = 0;
    std::size_t epilogue_begin = 0, epilogue_end = 0;

    std::size_t size() const { return end - begin; }
};

class Message {
public:
    Message() = default;

    std::string_view data() const { return data_; }
    const Entity& root() const { return entities_.front(); }
    std::span<const Entity> entities() const { return entities_; }
    const Entity& entity(std::size_t i) const { return entities_[i]; }
    const Defects& defects() const { return defects_; }

    // Header fields of the root (the message's own header) or of any entity.
    std::span<const HeaderField> headers() const { return fields(root()); }
    std::span<const HeaderField> fields(const Entity& e) const {
        return std::span<const HeaderField>(fields_).subspan(e.first_field, e.field_count);
    }
    // First field of that name (case-insensitive), or nullptr.
    const HeaderField* field(const Entity& e, std::string_view name) const noexcept;
    // Where that field is, or e's header when it has none: the place of
    // what is said of the field's value.
    std::size_t field_offset(const Entity& e, std::string_view name) const noexcept {
        const HeaderField* f = field(e, name);
        return f ? f->offset : e.begin;
    }
    const HeaderField* header(std::string_view name) const noexcept { return field(root(), name); }

    std::string_view header_block(const Entity& e) const {
        return data_.substr(e.begin, e.header_end - e.begin);
    }
    std::string_view body(const Entity& e) const {
        return data_.substr(e.body_begin, e.end - e.body_begin);
    }

    // Leaf entities in depth-first order (the "parts" of msgshow --json).
    std::vector<std::size_t> leaves() const;
    // IMAP section number (RFC 3501 6.4.5) of entity i: "1", "2.1", ...
    // A multipart root, and the multipart root of an embedded message, have
    // no number of their own: they answer with the section of their context
    // ("" for the top-level root).
    std::string section(std::size_t i) const;
    // Index of the entity with that section number, or -1.
    std::ptrdiff_t find_section(std::string_view section) const;

    // Append the transfer-decoded body of `e` to `out`. What the decoder had
    // to repair (junk in base64, bad quoted-printable escapes) is appended to
    // `defects` when given, at its offset in the buffer.
    void decode(const Entity& e, std::string& out, Defects* defects = nullptr) const;
    // The same bytes handed to `sink` in slices (decode_transfer_each):
    // memory bounded whatever the body's size.
    void decode_each(const Entity& e, const std::function<void(std::string_view)>& sink,
                     Defects* defects = nullptr) const;
    // The defects decode() reports for a decoder status of `e`'s body (for
    // callers that decode or check the body themselves).
    void decode_defects(const Entity& e, const DecodeStatus& st, Defects* defects) const;
    // decode_each(), a text/plain leaf's content also read for the files
    // uuencoded in it ("begin 644 name" ... "end", UuScanner) as it goes:
    // `uu` gets their events. What their decoding had to repair is appended
    // to `defects` too, after the body's, placed in the buffer. Other leaves
    // hold no such files (may_hold_uu_files).
    void decode_each(const Entity& e, const std::function<void(std::string_view)>& sink, Defects* defects,
                     const UuScanner::Handler& uu) const;
    // The offset in the buffer of the line of `e`'s body whose decoding
    // gives byte `decoded` of its content (for 7bit, 8bit, binary and
    // unknown encodings, that byte itself): where a defect found in the
    // decoded content is reported.
    std::size_t content_offset(const Entity& e, std::size_t decoded) const;
    // The same for several offsets, in ascending order, in one pass.
    std::vector<std::size_t> content_offsets(const Entity& e, const std::vector<std::size_t>& decoded) const;
    // The filename of an entity (Content-Disposition filename, else
    // Content-Type name but not message/external-body's, a remote file's,
    // else for x-uuencode the name on its begin line), decoded, or "" when
    // it has none.
    std::string filename(const Entity& e) const;
    // The charset parameter of a text entity, lower case, or "" when none.
    std::string charset(const Entity& e) const;

private:
    friend class MessageParser;
    std::string_view data_;
    std::vector<HeaderField> fields_;
    std::vector<Entity> entities_;
    Defects defects_;
};

// Files uuencoded into text are looked for in text/plain leaves only.
bool may_hold_uu_files(const Entity& e);

// Parse `data` (one message: header, empty line, body; LF, CRLF or mixed).
Message parse_message(std::string_view data, const Limits& limits = {});

// Why `m` is not mail at all, or "" when it is: an empty input, or no
// header field at the start and a first line that is not even shaped like
// one (no colon: a picture, a text file), or that holds control bytes
// (binary data, such as an Outlook .msg file). A first line with a colon
// but a bad field name is mail with a defect (header.bad-field-name).
// msgcheck calls such input not mail (exit 65) and msgrewrite refuses it.
std::string_view not_mail_reason(const Message& m) noexcept;

// Parse only a header block starting at data[0]; stops at the empty line,
// at a line that cannot be a header line, or at the end. Returns the offset
// in `data` where the header block ends (the start of the empty line, or of
// the first body line). Fields are appended; `base` is the offset of data[0]
// in the whole buffer, added to field and defect offsets.
std::size_t parse_header_block(std::string_view data, std::vector<HeaderField>& fields,
                               Defects* defects = nullptr, std::size_t base = 0,
                               const Limits& limits = {});

}  // namespace msg
