// dsn.cpp - RFC 3464 delivery status notifications.
#include "msg/dsn.hpp"

#include <algorithm>
#include <ctime>

#include "msg/charset.hpp"
#include "msg/datetime.hpp"
#include "msg/message.hpp"
#include "msg/rewrite.hpp"

namespace msg {
namespace {

// A value on one line: line breaks and tabs become spaces, other control
// characters and bytes that are not UTF-8 escapes (printable()).
std::string one_line(std::string_view s) {
    std::string spaced(s);
    for (char& c : spaced)
        if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    return printable(spaced);
}

std::string status_of(const DsnRecipient& r) {
    if (!r.status.empty()) return r.status;
    return r.action == "delayed" ? "4.0.0" : "5.0.0";
}

// For the message/delivery-status fields, which are 7-bit (RFC 3464 2.1):
// 8-bit bytes escaped too.
std::string ascii_line(std::string_view s) {
    std::string out;
    for (char c : one_line(s)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80) {
            out += c;
            continue;
        }
        static const char hex[] = "0123456789abcdef";
        out += "\\x";
        out += hex[u >> 4];
        out += hex[u & 15];
    }
    return out;
}

}  // namespace

std::string make_dsn(const DsnInfo& info, std::chrono::system_clock::time_point now) {
    const std::string boundary = "=_dsn_" + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                                                 now.time_since_epoch()).count());
    const std::string host = info.reporting_mta.empty() ? "localhost" : one_line(info.reporting_mta);
    const bool delayed_only = !info.recipients.empty() &&
                              std::all_of(info.recipients.begin(), info.recipients.end(),
                                          [](const DsnRecipient& r) { return r.action == "delayed"; });
    std::string m;
    m += "From: Mail Delivery System <MAILER-DAEMON@" + host + ">\r\n";
    m += "To: <" + one_line(info.sender) + ">\r\n";
    m += std::string("Subject: ") + (delayed_only ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender") + "\r\n";
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    m += "Date: " + format_date_time(t) + "\r\n";
    m += "Message-ID: " + make_message_id(info.original.substr(0, 4096), t, host) + "\r\n";
    m += "Auto-Submitted: auto-replied\r\n";
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n";
    m += "\r\n";
    m += "This is a MIME-encapsulated delivery status notification.\r\n";
    m += "\r\n--" + boundary + "\r\n";
    m += "Content-Type: text/plain; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    m += delayed_only ? "Your message has not been delivered yet to these recipients; delivery is being retried:\r\n\r\n"
                      : "Your message could not be delivered to these recipients:\r\n\r\n";
    for (const DsnRecipient& r : info.recipients) {
        m += "  <" + one_line(r.address) + ">: ";
        m += r.diagnostic.empty() ? std::string("no reason given") : one_line(r.diagnostic);
        m += "\r\n";
    }
    m += "\r\n--" + boundary + "\r\n";
    m += "Content-Type: message/delivery-status\r\n\r\n";
    m += "Reporting-MTA: dns; " + host + "\r\n";
    if (!info.envid.empty()) m += "Original-Envelope-Id: " + ascii_line(info.envid) + "\r\n";
    if (info.arrival.time_since_epoch().count() != 0) m += "Arrival-Date: " + format_date_time(std::chrono::system_clock::to_time_t(info.arrival)) + "\r\n";
    for (const DsnRecipient& r : info.recipients) {
        m += "\r\n";
        m += "Final-Recipient: rfc822; " + one_line(r.address) + "\r\n";
        m += "Action: " + one_line(r.action) + "\r\n";
        m += "Status: " + status_of(r) + "\r\n";
        if (!r.remote_mta.empty()) m += "Remote-MTA: dns; " + ascii_line(r.remote_mta) + "\r\n";
        if (!r.diagnostic.empty()) m += "Diagnostic-Code: smtp; " + ascii_line(r.diagnostic) + "\r\n";
    }
    m += "\r\n--" + boundary + "\r\n";
    m += "Content-Type: text/rfc822-headers\r\n\r\n";
    // The original's header block, with CRLF line endings.
    std::string_view o = info.original;
    std::size_t end = 0;
    while (end < o.size()) {
        std::size_t nl = o.find('\n', end);
        if (nl == std::string_view::npos) nl = o.size();
        std::string_view line = o.substr(end, nl - end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;
        m.append(line);
        m += "\r\n";
        end = nl + 1;
    }
    m += "\r\n--" + boundary + "--\r\n";
    return m;
}

}  // namespace msg
