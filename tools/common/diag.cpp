// diag.cpp - compiler-style diagnostics.
#include "common/diag.hpp"

#include <unistd.h>

#include <cstdlib>
#include <ostream>

namespace msgtools {

DiagPrinter::DiagPrinter(std::ostream& out, bool color) : out_(out), color_(color) {}

bool stderr_wants_color() { return isatty(2) && !std::getenv("NO_COLOR"); }

namespace {
const char* color_of(msg::Severity s) {
    switch (s) {
    case msg::Severity::error: return "\033[1;31m";
    case msg::Severity::warning: return "\033[1;35m";
    case msg::Severity::note: return "\033[1;36m";
    }
    return "";
}
}  // namespace

void DiagPrinter::print(const Place& place, std::span<const msg::Defect> defects) {
    if (defects.empty()) return;
    const msg::LineIndex index(place.data);
    for (const msg::Defect& d : defects) print_one(place, index, d);
}

void DiagPrinter::print_one(const Place& place, const msg::LineIndex& index, const msg::Defect& d) {
    msg::LineCol lc = index.locate(d.offset);
    const msg::DefectInfo& info = d.info();
    out_ << place.file << ':' << (place.first_line + lc.line - 1) << ':' << lc.column << ": ";
    if (color_) out_ << color_of(info.severity);
    out_ << msg::severity_name(info.severity) << ':';
    if (color_) out_ << "\033[0m";
    out_ << ' ' << info.text;
    if (!d.detail.empty()) {
        out_ << " (";
        for (char c : d.detail.substr(0, 80))  // keep control bytes off the terminal
            out_ << (static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
        out_ << ')';
    }
    out_ << " [" << info.code << "]\n";
}

void DiagPrinter::print(const std::string& file, msg::Severity sev, const std::string& text) {
    out_ << file << ": ";
    if (color_) out_ << color_of(sev);
    out_ << msg::severity_name(sev) << ':';
    if (color_) out_ << "\033[0m";
    out_ << ' ' << text << '\n';
}

}  // namespace msgtools
