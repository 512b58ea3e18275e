// smtp/reply.hpp - SMTP replies (RFC 5321 4.2) and enhanced status codes
// (RFC 3463, RFC 2034).
//
//   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//                   Reply-code [ SP textstring ] CRLF
//   Reply-code = %x32-35 %x30-35 %x30-39
//
// A reply is one or more lines with the same code; every line but the last
// has "-" after the code. Parsing works on single lines (without CRLF) so
// that the same code serves the network client, the transcript reader and
// the checker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace msg::smtp {

// class.subject.detail, e.g. 5.1.1 (RFC 3463 2): class 2, 4 or 5, subject
// and detail 1 to 3 digits.
struct EnhancedCode {
    int klass = 0, subject = 0, detail = 0;
    std::string str() const;  // "5.1.1"
    friend bool operator==(const EnhancedCode&, const EnhancedCode&) = default;
};

// "5.1.1" at the start of `s`, followed by SP or the end; the length taken
// is stored in `len` (0 when there is none).
std::optional<EnhancedCode> parse_enhanced(std::string_view s, std::size_t* len = nullptr);

// One reply line, split (spans into the line).
struct ReplyLine {
    bool ok = false;            // three digits, then "-", SP or the end of the line
    std::string_view error;     // when !ok: what is wrong, a short phrase
    int code = 0;               // 0..999 when the first three bytes are digits
    bool last = true;           // not a "-" continuation
    std::string_view text;      // after "NNN-" / "NNN " (empty when there is none)
};
ReplyLine parse_reply_line(std::string_view line);

// True when the three digits are in RFC 5321's range: first 2..5, second 0..5.
bool reply_code_in_range(int code);

// A whole reply, owned.
//
// The enhanced code is sanitised once, where a reply is made (make_reply,
// ReplyAssembler), as Postfix's smtp_chat does: one whose class differs
// from the reply's (a "250 5.1.1", a "550 2.0.0") is replaced by class.0.0
// of the reply's class, and `enhanced_replaced` says so; every later user
// (DSNs, reports, JSON) can trust `enhanced`.
struct Reply {
    int code = 0;
    std::vector<std::string> lines;   // the text of each line, without code and separator
    std::optional<EnhancedCode> enhanced;  // of the first line, when it has one (sanitised)
    bool enhanced_replaced = false;   // the written code's class did not match: enhanced is X.0.0

    int klass() const { return code / 100; }    // 2, 3, 4, 5
    // The enhanced status: `enhanced`, else X.0.0 of the reply's class (2,
    // 4 or 5; a 3xx or malformed reply counts as 4.0.0).
    EnhancedCode status() const;
    // Set `enhanced` from the first line's text, sanitised.
    void read_enhanced();
    bool positive() const { return code >= 200 && code < 400; }
    // The lines as on the wire ("250-a", "250 b"), CRLF after each.
    std::string wire() const;
    // Text of every line joined by a space (for reports).
    std::string text() const;
};

// Build a reply from lines of text; "\n" in `text` separates lines.
Reply make_reply(int code, std::string_view text);

// How much of one reply is kept: a server that never ends a multi-line
// reply (or sends one endless line) must not make the reader grow. Like
// Postfix's reply reader, the reader gives up past a bound; unlike it,
// it does not go on reading: the session ends with the reason. The
// defaults leave room for any real EHLO reply (a few dozen lines) a
// thousand times over.
struct ReplyLimits {
    std::size_t max_lines = 1000;        // lines in one reply
    std::size_t max_bytes = 64 * 1024;   // bytes of one reply, its lines' text and codes together
    std::size_t max_line = 4096;         // bytes of one line without CRLF (RFC 5321 4.5.3.1.5: 512)
    // No bound: for text that is in memory already (a transcript file).
    static ReplyLimits none() { return {SIZE_MAX, SIZE_MAX, SIZE_MAX}; }
};

// Collects reply lines into replies. feed() returns done when `line`
// completed a reply (take() it); a line that is not a reply line, or a
// continuation with another code, is an error (error() says what; the
// partial reply is dropped), and so is a reply that grows past its limits
// (too_big() is then true, error() says "over 1000 lines", "over 65536
// bytes" or "with a line over 4096 bytes": "reply from HOST " goes before).
class ReplyAssembler {
public:
    explicit ReplyAssembler(ReplyLimits limits = {}) : limits_(limits) {}
    enum class Feed { more, done, error };
    Feed feed(std::string_view line);
    Reply take();
    const std::string& error() const { return error_; }
    bool too_big() const { return too_big_; }
    bool pending() const { return !cur_.lines.empty(); }

private:
    Feed fail(std::string why, bool too_big);
    ReplyLimits limits_;
    Reply cur_;
    std::size_t bytes_ = 0;
    std::string error_;
    bool too_big_ = false;
};

}  // namespace msg::smtp
