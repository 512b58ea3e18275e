// address.hpp - RFC 5321 paths: the addresses of the SMTP envelope, and
// RFC 5322 address lists: the addresses of From, To, Cc and their kin, that
// an envelope is built from and that msgcheck checks.
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

#include "msg/defect.hpp"

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

// RFC 5321 4.1.3 address-literal, brackets included: "[192.0.2.1]" (each
// number 0-255), "[IPv6:2001:db8::1]" (a valid IPv6 address), or a
// standardized tag ":" dcontent.
bool is_smtp_address_literal(std::string_view s);

// --- RFC 5322 3.4 address lists -------------------------------------------------
//
//   address      = mailbox / group
//   mailbox      = name-addr / addr-spec
//   name-addr    = [display-name] angle-addr
//   group        = display-name ":" [group-list] ";" [CFWS]
//   mailbox-list = (mailbox *("," mailbox)) / obs-mbox-list
//   address-list = (address *("," address)) / obs-addr-list
//
// The obsolete forms of RFC 5322 4.4 (routes, empty list elements, CFWS
// inside dot-atoms, dots in phrases) are read and reported as
// address.obsolete; what cannot be read is address.syntax.

// What a field may hold: From (mailbox-list), Sender (mailbox), To
// (address-list), Bcc (address-list or nothing), Return-Path (path, RFC
// 5322 3.6.7: an angle-addr with no display name, or "<>" with optional
// CFWS, the null path of a bounce).
enum class AddressKind { mailbox, mailbox_list, address_list, address_list_or_empty, path };

struct AddressListOptions {
    std::size_t base = 0;        // added to every defect's offset
    std::string_view field;      // defect texts start with "FIELD: " when given
    bool recover = false;        // go on after a malformed element (counted in `skipped`)
};

struct AddressList {
    // The addr-specs, local "@" domain with comments, folding and obsolete
    // white space removed, in the form RFC 5321 sends them: a local part
    // with quotes unquoted when it is a dot-atom without them, else quoted
    // whole with the least escaping; a domain literal keeps its brackets.
    // Group members included.
    std::vector<std::string> addresses;
    std::size_t mailboxes = 0;   // addresses.size()
    std::size_t skipped = 0;     // malformed elements skipped (with `recover`)
    Defects defects;             // address.syntax, address.obsolete
};

AddressList parse_address_list(std::string_view value, AddressKind kind, const AddressListOptions& options = {});

// The addr-specs of any address field, leniently: parse_address_list with
// recovery; a malformed element is counted in `bad`, the others are kept.
std::vector<std::string> field_addresses(std::string_view value, std::size_t* bad = nullptr);

// RFC 5321 4.5.3.1 size limits.
inline constexpr std::size_t kMaxLocalPart = 64;
inline constexpr std::size_t kMaxDomain = 255;
inline constexpr std::size_t kMaxPath = 256;

// Over one of those limits: the local part, the domain, or the path with
// its angle brackets.
inline bool path_too_long(const Path& p) noexcept {
    return p.local.size() > kMaxLocalPart || p.domain.size() > kMaxDomain || p.end > kMaxPath;
}

}  // namespace msg
