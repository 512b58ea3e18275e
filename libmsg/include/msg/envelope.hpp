// envelope.hpp - the SMTP envelope: MAIL FROM, RCPT TO and their ESMTP
// parameters; where it comes from for a message that has none; and what a
// message needs of it.
//
//   esmtp-param   = esmtp-keyword ["=" esmtp-value]          (RFC 5321 4.1.2)
//   esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//   esmtp-value   = 1*(%d33-60 / %d62-126)    UTF-8 too with SMTPUTF8 (RFC 6531 3.3)
//
// One envelope type serves every seam: a spool entry's envelope read back
// (spool_entry.hpp: envelope_of), the one a sender sends (smtp::ClientSession),
// the one a server received (smtp::ServerSession) and the one derived from
// an archived message (derive_envelope). One parameter parser serves the
// spool entry reader, the SMTP command parser and the server.
//
// What a message needs is decided in one place, needs(): SMTPUTF8 for a
// UTF-8 address or parameter value or 8-bit header text (RFC 6531 3.4,
// RFC 6532), BODY=8BITMIME for 8-bit bytes in the body (RFC 6152).
// msgcheck, spoolsend, mbox2spool, smtpsink and the transcript checker all
// ask it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "msg/defect.hpp"


namespace msg {

// One ESMTP parameter as written: spans into the line it was parsed from.
struct EsmtpParam {
    std::string_view keyword;
    std::string_view value;     // empty when there is no "="
    bool has_value = false;
    std::size_t offset = 0;     // of the keyword, relative to the base given to the parser
};

// A syntax problem of a parameter list: where, and a short phrase.
struct ParamProblem {
    std::size_t at = 0;
    std::string_view what;     // a fixed phrase
    std::string_view word;     // the parameter concerned, a span of the input ("" for spacing)
    bool spacing = false;      // two spaces or a trailing space, which lenient readers let pass
};

// The parameters of `s`, SP-separated ("BODY=8BITMIME SMTPUTF8"); `base`
// is added to every offset. Malformed parameters are left out and each one
// is added to `problems` (two spaces, trailing space, bad keyword or value,
// a repeated keyword); `utf8` allows 8-bit bytes in values (SMTPUTF8).
// The known parameters' values are checked apart, check_esmtp_param().
std::vector<EsmtpParam> parse_esmtp_params(std::string_view s, std::size_t base, bool utf8,
                                           std::vector<ParamProblem>* problems);

// What a known parameter's value must look like (BODY, SIZE, SMTPUTF8,
// RET, ENVID, AUTH on MAIL; NOTIFY, ORCPT on RCPT; RFC 1870, 3461, 4954,
// 6152, 6531), and on which command it belongs. Empty when fine, else what
// is wrong. Unknown keywords are fine.
std::string check_esmtp_param(const EsmtpParam& p, bool on_mail);

// xtext decoded (RFC 3461 4): each "+" HEXCHAR HEXCHAR becomes its byte;
// anything else is copied (a malformed "+" too).
std::string xtext_decode(std::string_view s);

// RFC 6533's "\x{HEX}" escapes of a utf-8 address (an ORCPT of type
// utf-8) as UTF-8; one that is not a Unicode scalar value is kept as
// written.
std::string unescape_utf8_address(std::string_view a);

// An envelope as values. Paths are without angle brackets ("" is the null
// reverse-path <>); parameters are "KEYWORD" or "KEYWORD=value".
struct Envelope {
    struct Rcpt {
        std::string address;
        std::vector<std::string> params;
        // RCPT's parameter `keyword` (case-insensitive): its value, "" when absent.
        std::string_view param(std::string_view keyword) const;
        // Whether the sender asked to be told of this event: `event` is
        // "FAILURE", "DELAY" or "SUCCESS". Without NOTIFY, failures and
        // delays are reported (RFC 3461 4.1); NOTIFY=NEVER reports nothing.
        bool notify(std::string_view event) const;
    };
    std::string mail_from;
    std::vector<std::string> mail_params;
    std::vector<Rcpt> rcpts;
    // Annotations in order, e.g. {"Mbox-From", "alice@example.org Mon Nov 23 09:15:00 2026"}:
    // lines of a spool entry that senders never send (docs/spool-format.md).
    std::vector<std::pair<std::string, std::string>> annotations;

    std::string_view annotation(std::string_view name) const;  // first value, or ""
    // MAIL's parameter `keyword` (case-insensitive): whether present, and its value.
    bool has_param(std::string_view keyword) const;
    std::string_view param(std::string_view keyword) const;
    // Add KEYWORD[=value] to MAIL, or replace the value of the one there.
    void set_param(std::string_view keyword, std::string_view value = {});
    void remove_param(std::string_view keyword);
};

// The keyword of a "KEYWORD=value" parameter, and its value.
std::string_view param_keyword(std::string_view param);
std::string_view param_value(std::string_view param);

// --- what a message needs ------------------------------------------------------

struct Needs {
    static constexpr std::size_t npos = std::string_view::npos;
    bool smtputf8 = false;          // RFC 6531: UTF-8 in an address, a parameter value or the header
    bool eightbitmime = false;      // RFC 6152: 8-bit bytes in the body
    std::string_view smtputf8_why;  // "UTF-8 address", "UTF-8 in a parameter", "8-bit header"
    std::size_t header_8bit = npos; // offset in the message of the first 8-bit header byte
    std::size_t body_8bit = npos;   // offset in the message of the first 8-bit body byte
};

// Where a message's header block ends: just after the empty line that ends
// it, or the message's size when there is none.
std::size_t header_end(std::string_view message);

// What the message alone needs: 8-bit header text (SMTPUTF8) and 8-bit
// body bytes (BODY=8BITMIME).
Needs message_needs(std::string_view message);
// What an envelope and its message need together.
Needs needs(const Envelope& e, std::string_view message);

// Whether the envelope declares what `n` calls for: SMTPUTF8 on MAIL when
// n.smtputf8, BODY=8BITMIME (or BINARYMIME) when n.eightbitmime.
bool declares(const Envelope& e, const Needs& n);
// Add to MAIL what the message needs and the envelope does not declare
// (SMTPUTF8, BODY=8BITMIME); nothing is removed. Returns `e`'s needs.
Needs declare_needs(Envelope& e, std::string_view message);

// True when `address` (no brackets) is an RFC 5321 mailbox (UTF-8 allowed)
// within 4.5.3.1's limits (path_too_long): what a spool entry may carry.
bool is_smtp_mailbox(std::string_view address);
// An address a person typed (an option's value), with or without angle
// brackets: the mailbox, "" for the null path when `null_ok`, or nothing
// when it is not a mailbox.
std::optional<std::string> mailbox_argument(std::string_view typed, bool null_ok);

// --- an envelope for a message that has none -------------------------------------

// The sender comes from the mbox From_ line, else Return-Path, else From;
// the recipients from Resent-To/Cc/Bcc when the message was resent (the
// topmost Resent- block, RFC 5322 3.6.6), else To, Cc and Bcc. Every
// address is checked as an RFC 5321 path; those that are not valid are
// listed apart, never silently dropped. Recipients are de-duplicated
// (local part exact, domain without regard to case, RFC 5321 2.4).
struct Derivation {
    Envelope envelope;             // MAIL parameters: what the message needs (declare_needs)
    bool have_sender = false;      // envelope.mail_from is meaningful ("" then is the null path <>)
    std::string_view sender_from;  // "From_ line", "Return-Path", "Resent-From", "From"
    std::string_view rcpts_from;   // "Resent-To/Cc/Bcc" or "To/Cc/Bcc"
    std::vector<std::string> rejected;  // addresses found but not usable as RFC 5321 paths
    std::size_t unparsed = 0;      // elements of the recipient fields that are no address at all
    // Recipients taken from Bcc or Resent-Bcc. Deriving leaves the message
    // as it is: a writer that sends it so shows them to every recipient
    // (spoolctl add -t removes the fields, as sendmail -t does).
    std::size_t bcc_rcpts = 0;
    Defects defects;               // of the header block (the body is not parsed)
    // The mark of a mail client that deleted the message and left it in the
    // archive until it compacts it: "X-Mozilla-Status 0x0008" (Thunderbird),
    // "X-Status D" (mutt, Pine); "" when none. See archive.hpp's
    // marked_deleted().
    std::string_view deleted;
};

struct HeaderField;

// What the mail client that kept a message in an mbox archive wrote about
// it (mutt, Pine, mb2md's reading): `flags` are the Maildir flags that say
// the same, sorted: Status R (read) is S; X-Status A (answered) R, F F
// (flagged), T D (draft), D T (deleted); X-Mozilla-Status (Thunderbird's,
// hexadecimal) 0x0001 S, 0x0002 R, 0x0004 F, 0x0008 T. `old`: a reader has
// seen the message (Status O, or any flag), which a Maildir says by keeping
// it in cur/ rather than new/. `deleted`: the mark that says the message was
// deleted ("X-Mozilla-Status 0x0008", else "X-Status D"), or "". The first
// field of each name counts.
struct ClientFlags {
    std::string flags;
    bool old = false;
    std::string_view deleted;
};
ClientFlags client_flags(std::span<const HeaderField> header);

// What the caller fixes for every message, instead of deriving it
// (mbox2spool --sender, --rcpt).
struct DeriveOptions {
    std::optional<std::string> sender;   // "" for the null path
    std::vector<Envelope::Rcpt> rcpts;   // none: derived
};

// `message` is the whole message (only its header block is parsed; the
// body is scanned for 8-bit bytes); `from_line` is the rest of an mbox
// From_ line (after "From "), or "". A From_ sender of MAILER-DAEMON gives
// the null path (a bounce must not be bounced); "-" and other
// non-addresses are skipped. What `fixed` gives is taken instead (and the
// recipient fields are not read when it gives recipients); the needs are
// declared for the envelope that results.
Derivation derive_envelope(std::string_view message, std::string_view from_line, const DeriveOptions& fixed = {});

// Why a derived envelope cannot be used, "" when it can: no sender, no
// recipient, or recipients read from a header block over the parser's
// limits (the fields past them are not read: a recipient there would be
// lost). mbox2spool and spoolctl add -t say it and enqueue nothing.
std::string derivation_unusable(const Derivation& d);
// What a usable derivation left out, one sentence each for a warning
// (malformed elements of the recipient fields, addresses that are no
// RFC 5321 path); none when nothing was.
std::vector<std::string> derivation_left_out(const Derivation& d);

}  // namespace msg
