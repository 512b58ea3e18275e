// sarif.hpp - defects as a SARIF 2.1.0 log (OASIS Static Analysis Results
// Interchange Format), the form code-scanning services read from linters.
//
// The log is streamed: begin() writes the run's tool with every rule of
// the defect catalogue, add() one result per defect as it is found, end()
// closes the document. Locations are the input file's line and column
// (columns in Unicode code points, as columnKind says) and its byte offset.
#pragma once

#include <msg/defect.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace msgtools {

class SarifLog {
public:
    SarifLog(std::ostream& out, const char* tool);
    void begin();
    // One defect of a message whose bytes are `data`, found at `line`,
    // `column` (bytes, 1-based) and `file_offset` of `file`; `message` is
    // the message's index in an archive.
    void add(const std::string& file, std::uint64_t message, std::string_view data, const msg::Defect& d,
             std::uint64_t line, std::uint64_t column, std::uint64_t file_offset);
    // A problem with a whole input (not mail, unreadable): a result
    // without a rule at the file.
    void add_input(const std::string& file, msg::Severity severity, const std::string& text);
    void end(int exit_code);

private:
    std::ostream& out_;
    const char* tool_;
    bool first_ = true;
};

// A file name as a relative URI reference: bytes outside RFC 3986's
// unreserved set and "/" percent-encoded.
std::string file_uri(std::string_view path);

}  // namespace msgtools
