// diag.cpp - compiler-style diagnostics.
#include "common/diag.hpp"
#include "common/cli.hpp"
#include "common/exit.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <ostream>

namespace msgtools {

DiagPrinter::DiagPrinter(std::ostream& out, bool color, bool columns) : out_(out), color_(color), columns_(columns) {}

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

// Each message's diagnostics are put together and written at once: standard
// error is unbuffered, and a write per piece of a line cost more than
// checking an archive with a few hundred defects.
void DiagPrinter::print(const Place& place, std::span<const msg::Defect> defects) {
    if (defects.empty()) return;
    const msg::LineIndex index(place.data);
    std::string text;
    for (const msg::Defect& d : defects) print_one(place, index, d, text);
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void DiagPrinter::print_one(const Place& place, const msg::LineIndex& index, const msg::Defect& d,
                            std::string& out) {
    msg::LineCol lc = index.locate(d.offset);
    const msg::DefectInfo& info = d.info();
    out.append(place.file).append(1, ':').append(std::to_string(place.first_line + lc.line - 1));
    if (columns_) out.append(1, ':').append(std::to_string(lc.column));
    out.append(": ");
    if (color_) out.append(color_of(info.severity));
    out.append(msg::severity_name(info.severity)).append(1, ':');
    if (color_) out.append("\033[0m");
    out.append(1, ' ').append(info.text);
    if (!d.detail.empty()) {
        out.append(" (");
        for (char c : d.detail.substr(0, 80))  // keep control bytes off the terminal
            out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
        out.append(1, ')');
    }
    out.append(" [").append(info.code).append("]\n");
}

void DiagPrinter::print(const std::string& file, msg::Severity sev, const std::string& text) {
    std::string line = file + ": ";
    if (color_) line.append(color_of(sev));
    line.append(msg::severity_name(sev)).append(1, ':');
    if (color_) line.append("\033[0m");
    line.append(1, ' ').append(text).append(1, '\n');
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
}

// Wrap `text` at `width` columns, each line starting with `indent`.
std::string wrap(std::string_view text, std::size_t width, std::string_view indent) {
    std::string out, line;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ') ++i;
        std::size_t e = text.find(' ', i);
        if (e == std::string_view::npos) e = text.size();
        const std::string_view word = text.substr(i, e - i);
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out.append(indent).append(line).append("\n");
            line.clear();
        }
        if (!line.empty()) line += ' ';
        line.append(word);
        i = e;
    }
    if (!line.empty()) out.append(indent).append(line).append("\n");
    return out;
}

static std::string indent_lines(std::string_view text, std::string_view indent) {
    std::string out;
    std::size_t i = 0;
    while (i <= text.size()) {
        std::size_t e = text.find('\n', i);
        if (e == std::string_view::npos) e = text.size();
        if (e > i) out.append(indent).append(text.substr(i, e - i));
        out.append("\n");
        i = e + 1;
    }
    return out;
}

int explain_defect(const char* tool, const std::string& code) {
    auto id = msg::defect_by_code(code);
    if (!id) {
        complain(tool, "no defect is called '" + code + "' (see msgcheck --list)");
        return exit_code::usage;
    }
    const msg::DefectInfo& d = msg::defect_info(*id);
    std::cout << d.code << " (" << msg::severity_name(d.severity) << ", " << d.rfc << ")\n  " << d.text
              << "\n\n"
              << wrap(d.explanation, 72, "  ") << "\n  Bad:\n"
              << indent_lines(d.bad, "    ") << "\n  Good:\n"
              << indent_lines(d.good, "    ");
    if (!d.repair.empty()) std::cout << "\n" << wrap("msgrewrite --fix: " + std::string(d.repair), 72, "  ");
    return exit_code::ok;
}

}  // namespace msgtools
