// sarif.cpp - the SARIF 2.1.0 log of msgcheck --format sarif.
#include "common/sarif.hpp"

#include <msg/json.hpp>

namespace msgtools {

namespace {

const char* level_of(msg::Severity s) {
    switch (s) {
    case msg::Severity::error: return "error";
    case msg::Severity::warning: return "warning";
    case msg::Severity::note: return "note";
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

SarifLog::SarifLog(std::ostream& out, const char* tool) : out_(out), tool_(tool) {}

void SarifLog::begin() {
    msg::Json j;
    j.begin_array();
    for (const msg::DefectInfo& info : msg::defect_catalogue()) {
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
         << tool_ << "\", \"version\": \"" << MSGTOOLS_VERSION << "\",\n  \"rules\": " << j.str()
         << "}},\n \"columnKind\": \"unicodeCodePoints\",\n \"results\": [";
    first_ = true;
}

void SarifLog::add(const std::string& file, std::uint64_t message, std::string_view data, const msg::Defect& d,
                   std::uint64_t line, std::uint64_t column, std::uint64_t file_offset) {
    const msg::DefectInfo& info = d.info();
    const std::string text = d.detail.empty() ? std::string(info.text) : std::string(info.text) + " (" + d.detail + ")";
    msg::Json j;
    j.begin_object()
        .key("ruleId").value(info.code)
        .key("ruleIndex").value(static_cast<std::uint64_t>(&info - msg::defect_catalogue().data()))
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

void SarifLog::add_input(const std::string& file, msg::Severity severity, const std::string& text) {
    msg::Json j;
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

}  // namespace msgtools
