// address.hpp - RFC 5321 paths: the addresses of the SMTP envelope, and
// the addresses of RFC 5322 fields that an envelope is built from.
//
//   Reverse-path = Path / "<>"             (MAIL FROM)
//   Forward-path = Path / "<Postmaster>"   (RCPT TO)
//   Path         = "<" [ A-d-l ":" ] Mailbox ">"
//   Mailbox      = Local-part "@" ( Domain / address-literal )
//
// With SMTPUTF8 (RFC 6531 3.3) the local part and the domain may also hold
// UTF-8. The parsed pieces are spans into the input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace msg {

struct Path {
    bool ok = false;
    std::size_t error_at = 0;       // when !ok: offset in the input of the first bad byte
    std::string_view error;         // when !ok: what is wrong, a short phrase
    bool null = false;              // "<>"
    bool postmaster = false;        // "<Postmaster>" (any case), only as a forward-path
    bool source_route = false;      // obsolete A-d-l present (RFC 5321 4.1.2: ignore it)
    std::string_view local;         // local part as written (quoted string with its quotes)
    std::string_view domain;        // domain or address literal with its brackets
    std::string_view mailbox;       // local "@" domain
    bool utf8 = false;              // some byte is 8-bit (needs SMTPUTF8)
    std::size_t end = 0;            // offset just after ">"
};

enum class PathKind { reverse, forward };

// Parse a path at the start of `s`; anything after ">" is left to the
// caller (ESMTP parameters). `utf8` allows RFC 6531 UTF-8 and, without
// it, an 8-bit byte is an error.
Path parse_path(std::string_view s, PathKind kind, bool utf8);

// RFC 5321 4.1.2 Domain (letters, digits, hyphens in dot-separated labels)
// or, with `utf8`, labels that also hold UTF-8 (U-labels, not checked
// against IDNA here). No trailing dot.
bool is_smtp_domain(std::string_view s, bool utf8);

// The addr-specs of an RFC 5322 address field (To, Cc, From, Resent-To,
// ...: a mailbox-list or an address-list, group members included), each as
// local "@" domain with comments, folding and obsolete white space removed
// (a quoted local part keeps its quotes; a domain literal its brackets).
// A malformed element is skipped and counted in `bad`; the others are kept.
std::vector<std::string> field_addresses(std::string_view value, std::size_t* bad = nullptr);

// RFC 5321 4.5.3.1 size limits.
inline constexpr std::size_t kMaxLocalPart = 64;
inline constexpr std::size_t kMaxDomain = 255;
inline constexpr std::size_t kMaxPath = 256;

}  // namespace msg
