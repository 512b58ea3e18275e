// diagnostics.cpp - compiler-style diagnostics, explanations, SARIF.
#include "msg/diagnostics.hpp"

#include <ostream>

#include "msg/json.hpp"

namespace msg {

DiagPrinter::DiagPrinter(std::ostream& out, bool color, bool columns) : out_(out), color_(color), columns_(columns) {}


namespace {
const char* color_of(Severity s) {
    switch (s) {
    case Severity::error: return "\033[1;31m";
    case Severity::warning: return "\033[1;35m";
    case Severity::note: return "\033[1;36m";
    }
    return "";
}
}  // namespace

void DiagPrinter::print(const Place& place, std::span<const Defect> defects) {
    if (defects.empty()) return;
    const LineIndex index(place.data);
    for (const Defect& d : defects) print_one(place, index, d);
}

void DiagPrinter::print_one(const Place& place, const LineIndex& index, const Defect& d) {
    LineCol lc = index.locate(d.offset);
    const DefectInfo& info = d.info();
    out_ << place.file << ':' << (place.first_line + lc.line - 1);
    if (columns_) out_ << ':' << lc.column;
    out_ << ": ";
    if (color_) out_ << color_of(info.severity);
    out_ << severity_name(info.severity) << ':';
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

void DiagPrinter::print(const std::string& file, Severity sev, const std::string& text) {
    out_ << file << ": ";
    if (color_) out_ << color_of(sev);
    out_ << severity_name(sev) << ':';
    if (color_) out_ << "\033[0m";
    out_ << ' ' << text << '\n';
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

namespace {
std::string indent_lines(std::string_view text, std::string_view indent) {
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
}  // namespace

std::string explain(const DefectInfo& d) {
    std::string out = std::string(d.code) + " (" + std::string(severity_name(d.severity)) + ", " + std::string(d.rfc) +
                      ")\n  " + std::string(d.text) + "\n\n" + wrap(d.explanation, 72, "  ") + "\n  Bad:\n" +
                      indent_lines(d.bad, "    ") + "\n  Good:\n" + indent_lines(d.good, "    ");
    if (!d.repair.empty()) out += "\n" + wrap("msgrewrite --fix: " + std::string(d.repair), 72, "  ");
    return out;
}

namespace {

const char* level_of(Severity s) {
    switch (s) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::note: return "note";
    }
    return "none";
}

// The 1-based column in code points of the byte at `offset` of `data`,
// whose byte column (1-based) is `byte_column`.
std::uint64_t code_point_column(std::string_view data, std::size_t offset, std::uint64_t byte_column) {
    if (offset > data.size() || byte_column == 0 || byte_column - 1 > offset) return byte_column;
    std::uint64_t column = 1;
    for (std::size_t i = offset - (byte_column - 1); i < offset; ++i)
        if ((static_cast<unsigned char>(data[i]) & 0xC0) != 0x80) ++column;
    return column;
}

}  // namespace

std::string file_uri(std::string_view path) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : path) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~' || c == '/') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

SarifLog::SarifLog(std::ostream& out, std::string tool, std::string version)
    : out_(out), tool_(std::move(tool)), version_(std::move(version)) {}

void SarifLog::begin() {
    Json j;
    j.begin_array();
    for (const DefectInfo& info : defect_catalogue()) {
        j.begin_object()
            .key("id").value(info.code)
            .key("shortDescription").begin_object().key("text").value(info.text).end_object();
        if (!info.explanation.empty())
            j.key("fullDescription").begin_object().key("text").value(info.explanation).end_object();
        j.key("defaultConfiguration").begin_object().key("level").value(level_of(info.severity)).end_object();
        if (!info.rfc.empty()) j.key("properties").begin_object().key("rfc").value(info.rfc).end_object();
        j.end_object();
    }
    j.end_array();
    out_ << "{\"version\": \"2.1.0\", \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
            " \"runs\": [{\"tool\": {\"driver\": {\"name\": \""
         << tool_ << "\", \"version\": \"" << version_ << "\",\n  \"rules\": " << j.str()
         << "}},\n \"columnKind\": \"unicodeCodePoints\",\n \"results\": [";
    first_ = true;
}

void SarifLog::add(const std::string& file, std::uint64_t message, std::string_view data, const Defect& d,
                   std::uint64_t line, std::uint64_t column, std::uint64_t file_offset) {
    const DefectInfo& info = d.info();
    const std::string text = d.detail.empty() ? std::string(info.text) : std::string(info.text) + " (" + d.detail + ")";
    Json j;
    j.begin_object()
        .key("ruleId").value(info.code)
        .key("ruleIndex").value(static_cast<std::uint64_t>(&info - defect_catalogue().data()))
        .key("level").value(level_of(info.severity))
        .key("message").begin_object().key("text").value(text).end_object()
        .key("locations").begin_array().begin_object()
            .key("physicalLocation").begin_object()
                .key("artifactLocation").begin_object().key("uri").value(file_uri(file)).end_object()
                .key("region").begin_object()
                    .key("startLine").value(line)
                    .key("startColumn").value(code_point_column(data, d.offset, column))
                    .key("byteOffset").value(file_offset)
                .end_object()
            .end_object()
        .end_object().end_array()
        .key("properties").begin_object().key("index").value(message).end_object()
        .end_object();
    out_ << (first_ ? "\n  " : ",\n  ") << j.str();
    first_ = false;
}

void SarifLog::add_input(const std::string& file, Severity severity, const std::string& text) {
    Json j;
    j.begin_object()
        .key("level").value(level_of(severity))
        .key("message").begin_object().key("text").value(text).end_object()
        .key("locations").begin_array().begin_object()
            .key("physicalLocation").begin_object()
                .key("artifactLocation").begin_object().key("uri").value(file_uri(file)).end_object()
            .end_object()
        .end_object().end_array()
        .end_object();
    out_ << (first_ ? "\n  " : ",\n  ") << j.str();
    first_ = false;
}

void SarifLog::end(int exit_code) {
    out_ << (first_ ? "],\n" : "\n ],\n") << " \"invocations\": [{\"executionSuccessful\": "
         << (exit_code == 0 || exit_code == 1 ? "true" : "false") << ", \"exitCode\": " << exit_code << "}]}]}\n";
}

}  // namespace msg
