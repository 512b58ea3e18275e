// dsn.hpp - delivery status notifications (RFC 3464): the report a sender
// returns to the author of a message it could not deliver.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace msg {

struct DsnRecipient {
    std::string address;        // the forward-path, without brackets
    std::string action = "failed";  // failed, delayed, delivered (RFC 3464 2.3.3)
    std::string status;         // enhanced status "5.1.1" (smtp::Reply::status()); "" gives 5.0.0 or 4.0.0
    std::string diagnostic;     // the server's reply on one line, e.g. "550 5.1.1 no such user"
    std::string remote_mta;     // the server's name or address ("" when none was reached)
    std::string original;       // RCPT's ORCPT, xtext-decoded ("rfc822;a@example.org"), "" when none
    std::string detail;         // why, when no server said it (a local reason): text part only
};

struct DsnInfo {
    std::string reporting_mta;  // this host's name
    std::string sender;         // the original reverse-path, without brackets
    std::string envid;          // MAIL's ENVID, xtext-decoded, when given
    std::chrono::system_clock::time_point arrival{};
    std::vector<DsnRecipient> recipients;
    std::string_view original;  // the original message; its header block is included
    bool full = false;          // MAIL's RET=FULL: return the whole message (RFC 3461 4.3)
    std::size_t max_full = 128 * 1024;   // a larger message is returned as its header only
};

// A complete RFC 5322 message (CRLF line endings): multipart/report with a
// text part, a message/delivery-status part and the original's header as
// text/rfc822-headers (the whole message as message/rfc822 when `full`
// and it is at most max_full bytes). Each recipient's Original-Recipient
// is written when it has one. When an address or the original's header
// holds UTF-8, the report is RFC 6533's: message/global-delivery-status
// with "utf-8" address types, message/global-headers (message/global).
// The caller sends it from the null reverse-path "<>" to `sender`, and
// never for a message whose sender is already null.
std::string make_dsn(const DsnInfo& info, std::chrono::system_clock::time_point now);

}  // namespace msg
