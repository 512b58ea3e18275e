// envelope.hpp - an SMTP envelope derived from a message.
//
// A message taken from an archive has no envelope of its own. The sender
// comes from the mbox From_ line, else Return-Path, else From; the
// recipients from Resent-To/Cc/Bcc when the message was resent (the
// topmost Resent- block, RFC 5322 3.6.6), else To, Cc and Bcc. Every
// address is checked as an RFC 5321 path; those that are not valid are
// listed apart, never silently dropped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "msg/message.hpp"

namespace msg {

struct DerivedEnvelope {
    bool have_sender = false;
    std::string sender;            // mailbox, without brackets; "" with have_sender: the null path <>
    std::string sender_from;       // where it came from: "From_ line", "Return-Path", "From"
    std::vector<std::string> rcpts;  // mailboxes, without brackets, duplicates removed, in order
    std::string rcpts_from;        // "Resent-To/Cc/Bcc" or "To/Cc/Bcc"
    std::vector<std::string> rejected;  // addresses found but not usable as RFC 5321 paths
    std::size_t unparsed = 0;      // elements of the recipient fields that are no address at all
    bool utf8 = false;             // some address needs SMTPUTF8
};

// `from_line` is the rest of an mbox From_ line (after "From "), or "".
// A From_ sender of MAILER-DAEMON gives the null path (a bounce must not be
// bounced); "-" and other non-addresses are skipped.
DerivedEnvelope derive_envelope(const Message& m, std::string_view from_line);

// True when `address` (no brackets) is an RFC 5321 mailbox (UTF-8 allowed).
bool is_smtp_mailbox(std::string_view address);

}  // namespace msg
