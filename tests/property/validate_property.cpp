// validate_property.cpp - checks whose loops were made fast, against the
// plain reading of their rule.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "msg/message.hpp"
#include "msg/validate.hpp"

namespace {

// Lines of any length around the limit, LF or CRLF, a bare CR or a NUL now
// and then, with or without a last line break.
rc::Gen<std::string> qp_body() {
    return rc::gen::map(
        rc::gen::container<std::vector<std::string>>(rc::gen::weightedOneOf<std::string>(
            {{6, rc::gen::map(rc::gen::inRange<std::size_t>(0, 90), [](std::size_t k) { return std::string(k, 'q'); })},
             {4, rc::gen::element<std::string>("\n", "\r\n")},
             {1, rc::gen::element<std::string>(std::string(1, '\r'), std::string(1, '\0'), "=\r\n", "=41")}})),
        [](const std::vector<std::string>& parts) {
            std::string s;
            for (const std::string& p : parts) s += p;
            return s;
        });
}

}  // namespace

// body.qp-line-too-long: the first line over 76 characters, a CR before its
// line break (or at the very end) not counted, reported at its start.
RC_GTEST_PROP(ValidateProperty, QpLineTooLongIsTheFirstLongLine, ()) {
    const std::string body = *qp_body();
    const std::string head = "From: a@example.org\nDate: Mon, 23 Nov 2026 09:15:00 +0100\nMIME-Version: 1.0\n"
                             "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable\n\n";
    const std::string text = head + body;
    const msg::Message m = msg::parse_message(text);
    std::vector<msg::Defect> got;
    for (const msg::Defect& d : msg::validate(m))
        if (d.code == msg::DefectCode::QpLineTooLong) got.push_back(d);
    std::vector<std::pair<std::size_t, std::string>> want;
    for (std::size_t pos = 0; pos < body.size();) {
        std::size_t nl = body.find('\n', pos);
        if (nl == std::string::npos) nl = body.size();
        std::size_t len = nl - pos;
        if (len > 0 && body[nl - 1] == '\r') --len;
        if (len > 76) {
            want.emplace_back(head.size() + pos, std::to_string(len) + " characters");
            break;
        }
        pos = nl + 1;
    }
    RC_ASSERT(got.size() == want.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        RC_ASSERT(got[k].offset == want[k].first);
        RC_ASSERT(got[k].detail == want[k].second);
    }
}
