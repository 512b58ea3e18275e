// dsn.cpp - RFC 3464 delivery status notifications.
#include "msg/dsn.hpp"

#include <algorithm>
#include <cstdint>
#include <ctime>

#include "msg/charset.hpp"
#include "msg/datetime.hpp"
#include "msg/envelope.hpp"
#include "msg/header.hpp"
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

// At most `max` bytes of `s`, cut at a character's start, "..." after a
// cut: a server's reply can be 4 KiB on one line, and no line of a
// message may pass 998 octets.
std::string clipped(std::string s, std::size_t max = 900) {
    if (s.size() <= max) return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
    return s + "...";
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

bool ascii(std::string_view s) { return first_non_ascii(s) == std::string_view::npos; }

// "rfc822; a@example.org", or RFC 6533's "utf-8; ..." for a UTF-8 address.
std::string typed_address(std::string_view a, bool global) {
    if (ascii(a)) return "rfc822; " + one_line(a);
    return global ? "utf-8; " + one_line(a) : "rfc822; " + ascii_line(a);
}

// ORCPT's "type;address" as "type; address" (a utf-8 one unescaped).
std::string original_value(std::string_view o) {
    const std::size_t semi = o.find(';');
    std::string_view type = o.substr(0, semi), address = semi == std::string_view::npos ? "" : o.substr(semi + 1);
    while (!address.empty() && address.front() == ' ') address.remove_prefix(1);
    return std::string(type) + "; " +
           (iequals(type, "utf-8") ? unescape_utf8_address(address) : std::string(address));
}

// The lines of `s` with CRLF line ends, as they went on the wire (LF,
// CRLF and a bare CR each end a line), up to its first empty line when
// `header_only`.
void append_crlf(std::string& m, std::string_view s, bool header_only) {
    std::size_t at = 0;
    while (at < s.size()) {
        const std::size_t brk = std::min(s.find_first_of("\r\n", at), s.size());
        const std::string_view line = s.substr(at, brk - at);
        if (line.empty() && header_only) break;
        m.append(line);
        m += "\r\n";
        at = brk + (s.substr(brk, 2) == "\r\n" ? 2 : 1);
    }
}

}  // namespace

std::string make_dsn(const DsnInfo& info, std::chrono::system_clock::time_point now) {
    const std::string host = info.reporting_mta.empty() ? "localhost" : one_line(info.reporting_mta);
    const bool delayed_only = !info.recipients.empty() &&
                              std::all_of(info.recipients.begin(), info.recipients.end(),
                                          [](const DsnRecipient& r) { return r.action == "delayed"; });
    const std::string_view header = info.original.substr(0, header_end(info.original));
    // RFC 6533: a UTF-8 address or header makes the report an
    // internationalised one. A header of other 8-bit bytes (Latin-1, say)
    // is not UTF-8, which message/global requires (RFC 6532 3.5): it goes
    // back under the RFC 3464 types, declared 8bit.
    const bool utf8_header = !ascii(header) && is_valid_utf8(header);
    const bool eight_bit_header = !ascii(header) && !utf8_header;
    bool global = utf8_header || !ascii(info.sender);
    for (const DsnRecipient& r : info.recipients)
        global = global || !ascii(r.address) || !ascii(original_value(r.original));
    // Whole, as message/rfc822 can carry it: 8-bit at most, no NUL, no
    // line over 998 octets (RFC 2046 5.2.1).
    const bool carriable = info.original.find('\0') == std::string_view::npos &&
                           long_line_at(info.original) == std::string_view::npos;
    const bool full = info.full && info.original.size() <= info.max_full && carriable;
    const std::string_view returned = full ? info.original : header;
    std::string boundary = "=_dsn_" + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                                           now.time_since_epoch()).count());
    while (returned.find("--" + boundary) != std::string_view::npos) boundary += '_';

    std::string m;
    m += "From: Mail Delivery System <MAILER-DAEMON@" + host + ">\r\n";
    m += "To: <" + one_line(info.sender) + ">\r\n";
    m += std::string("Subject: ") + (delayed_only ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender") + "\r\n";
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    m += "Date: " + format_date_time(t) + "\r\n";
    m += "Message-ID: " + make_message_id(info.original.substr(0, 4096), t, host) + "\r\n";
    m += "Auto-Submitted: auto-replied\r\n";
    m += "MIME-Version: 1.0\r\n";
    m += std::string("Content-Type: multipart/report; report-type=") + (global ? "global-delivery-status" : "delivery-status") +
         ";\r\n\tboundary=\"" + boundary + "\"\r\n";
    m += "\r\n";
    m += "This is a MIME-encapsulated delivery status notification.\r\n";
    m += "\r\n--" + boundary + "\r\n";
    m += "Content-Type: text/plain; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    m += delayed_only ? "Your message has not been delivered yet to these recipients; delivery is being retried:\r\n\r\n"
                      : "Your message could not be delivered to these recipients:\r\n\r\n";
    for (const DsnRecipient& r : info.recipients) {
        m += "  <" + one_line(r.address) + ">: ";
        const std::string& why = !r.diagnostic.empty() ? r.diagnostic : r.detail;
        m += why.empty() ? std::string("no reason given") : clipped(one_line(why));
        m += "\r\n";
    }
    if (info.full && !full)
        m += !carriable ? std::string("\r\nThe message holds NUL bytes or lines over 998 octets, which a report "
                                      "cannot carry; its header follows.\r\n")
                        : "\r\nThe message, " + std::to_string(info.original.size()) +
                              " bytes, is too large to be returned whole; its header follows.\r\n";
    m += "\r\n--" + boundary + "\r\n";
    m += global ? "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                : "Content-Type: message/delivery-status\r\n\r\n";
    m += "Reporting-MTA: dns; " + host + "\r\n";
    if (!info.envid.empty()) m += "Original-Envelope-Id: " + clipped(ascii_line(info.envid)) + "\r\n";
    if (info.arrival.time_since_epoch().count() != 0) m += "Arrival-Date: " + format_date_time(std::chrono::system_clock::to_time_t(info.arrival)) + "\r\n";
    for (const DsnRecipient& r : info.recipients) {
        m += "\r\n";
        if (!r.original.empty()) {
            const std::string v = original_value(r.original);
            m += "Original-Recipient: " + clipped(global ? one_line(v) : ascii_line(v)) + "\r\n";
        }
        m += "Final-Recipient: " + typed_address(r.address, global) + "\r\n";
        m += "Action: " + one_line(r.action) + "\r\n";
        m += "Status: " + status_of(r) + "\r\n";
        if (!r.remote_mta.empty()) m += "Remote-MTA: dns; " + ascii_line(r.remote_mta) + "\r\n";
        if (!r.diagnostic.empty()) m += "Diagnostic-Code: smtp; " + clipped(ascii_line(r.diagnostic)) + "\r\n";
    }
    m += "\r\n--" + boundary + "\r\n";
    // The original, with CRLF line endings: its header block, or the
    // whole message (RET=FULL).
    if (full) {
        m += utf8_header ? "Content-Type: message/global\r\n" : "Content-Type: message/rfc822\r\n";
        if (!ascii(info.original)) m += "Content-Transfer-Encoding: 8bit\r\n";
        m += "\r\n";
        append_crlf(m, returned, false);
    } else {
        m += utf8_header        ? "Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
             : eight_bit_header ? "Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                                : "Content-Type: text/rfc822-headers\r\n\r\n";
        append_crlf(m, returned, true);
    }
    m += "\r\n--" + boundary + "--\r\n";
    return m;
}

}  // namespace msg
