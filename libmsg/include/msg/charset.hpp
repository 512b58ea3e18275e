// charset.hpp - conversion between charsets and UTF-8, through ICU.
//
// Charset names are matched as ICU matches them (IANA names and aliases,
// case-insensitive). Fallbacks follow what mail readers do and are the
// same everywhere in libmsg:
//  - us-ascii and iso-8859-1 are decoded as windows-1252, a superset that
//    mislabelled mail relies on;
//  - bytes that do not decode become U+FFFD and are counted.
// No global state: a converter is opened per call (UTF-8, ASCII and Latin-1
// take a fast path without ICU).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace msg {

// True when ICU knows this charset name (or one of our fallbacks covers it).
bool charset_known(std::string_view name);

// The canonical lower-case name ("utf-8", "iso-8859-1", "windows-1252"),
// or "" when the name is unknown.
std::string canonical_charset(std::string_view name);

// Convert `bytes` in `charset` to UTF-8, appended to `out`. Returns false
// (and leaves `out` unchanged) when the charset is unknown. `bad` receives
// the number of byte sequences that did not decode (replaced by U+FFFD).
bool to_utf8(std::string_view bytes, std::string_view charset, std::string& out,
             std::size_t* bad = nullptr);

// Convert UTF-8 to `charset`, appended to `out`. Returns false when the
// charset is unknown. `unmappable` receives the number of characters that
// the charset cannot represent (written as its substitute character).
bool from_utf8(std::string_view utf8, std::string_view charset, std::string& out,
               std::size_t* unmappable = nullptr);

// RFC 3629 well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

// Offset of the first byte >= 0x80 (8-bit data), or npos when `s` is
// US-ASCII. Eight bytes at a time: bodies are large.
std::size_t first_non_ascii(std::string_view s) noexcept;

// Text from elsewhere (a server's reply, a message's field) made safe to
// show on a terminal or store on one line: control characters (C0 but
// tab, DEL, and C1 in UTF-8) become "\xHH" escapes, bytes that are not
// UTF-8 become "\xHH" too, a backslash stays as it is. Printable text
// comes back unchanged.
std::string printable(std::string_view s);

}  // namespace msg
