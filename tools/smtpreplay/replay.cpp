// replay.cpp - smtpreplay --server: run the library's replay and report.
#include "replay.hpp"

#include <iostream>

#include "common/exit.hpp"
#include <msg/json.hpp>
#include "msg/charset.hpp"
#include "msg/smtp/replay.hpp"
#include "msg/source.hpp"

namespace smtp = msg::smtp;
using msg::Json;
namespace ex = msgtools::exit_code;

namespace {

std::string show(const std::optional<smtp::Reply>& r) {
    if (!r) return "(none)";
    std::string s = std::to_string(r->code);
    if (!r->lines.empty() && !r->lines.back().empty()) s += ' ' + msg::printable(r->lines.back());
    if (r->lines.size() > 1) s += " (+" + std::to_string(r->lines.size() - 1) + " lines)";
    return s;
}

}  // namespace

int replay_transcript(const std::string& file, std::string_view text, const smtp::Transcript& t,
                      const ReplayOptions& opt, std::ostream& out) {
    const auto match = smtp::match_by_name(opt.match);
    if (!match) {
        std::cerr << "smtpreplay: --match must be class, code, enhanced or text, not '" << opt.match << "'\n";
        return ex::usage;
    }
    auto ep = smtp::parse_endpoint(opt.server, opt.tls_on_connect ? 465 : 25);
    if (!ep) {
        std::cerr << "smtpreplay: --server: " << ep.error().message << "\n";
        return ex::usage;
    }
    smtp::ReplayOptions ro;
    ro.match = *match;
    ro.timeout = std::chrono::milliseconds(static_cast<long long>(opt.timeout * 1000));
    ro.tls = opt.tls;
    ro.tls_on_connect = opt.tls_on_connect;
    ro.secret = opt.secret;
    ro.no_data = opt.no_data;
    const smtp::ReplayReport rep = smtp::replay(t, *ep, ro);
    if (!rep.reached) {
        std::cerr << "smtpreplay: " << msg::printable(file + ": " + rep.error) << "\n";
        if (opt.json) out << smtp::replay_summary_json(file, ep->str(), rep, *match) << '\n';
        return ex::unavailable;
    }
    const msg::LineIndex lines(text);
    auto line_of = [&](std::size_t index) {
        return index < t.lines.size() ? lines.locate(t.lines[index].offset).line : 0;
    };
    for (const smtp::ReplayStep& s : rep.steps) {
        const std::size_t line = line_of(s.line);
        if (opt.json) {
            out << smtp::replay_step_json(file, line, s) << '\n';
            continue;
        }
        if (opt.quiet || (s.match && s.compared && opt.mismatches_only)) continue;
        out << msg::printable(file) << ':' << line << ": " << (s.match ? (s.compared ? "same" : "note") : "DIFF") << ": " << msg::printable(s.sent)
            << ": recorded " << show(s.recorded) << ", live " << show(s.live);
        if (!s.note.empty()) out << " [" << msg::printable(s.note) << ']';
        out << '\n';
    }
    if (opt.json) {
        out << smtp::replay_summary_json(file, ep->str(), rep, *match) << '\n';
    } else {
        out << "smtpreplay: " << file << ": " << rep.steps.size() << " exchanges, " << rep.same << " same, "
            << rep.mismatches << " different (match by " << smtp::match_name(*match) << ")\n";
    }
    return rep.mismatches ? ex::problems : ex::ok;
}
