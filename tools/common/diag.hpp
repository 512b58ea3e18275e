// diag.hpp - printing defects as compiler-style diagnostics.
//
//   file:line:col: severity: text [code]
//
// Lines and columns are those of the input file (for a message of an mbox
// archive, the archive's own lines). On a terminal the severity is coloured.
#pragma once

#include <msg/defect.hpp>
#include <msg/source.hpp>

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace msgtools {

// Where a message sits in its input, to turn message offsets into file positions.
struct Place {
    std::string file;            // as given on the command line; "<stdin>" for -
    std::string_view data;       // the message's bytes
    std::uint64_t first_line = 1;  // line of data[0] in the file
};

class DiagPrinter {
public:
    explicit DiagPrinter(std::ostream& out, bool color, bool columns = true);
    // Print defects of one message (one line index is built for them all;
    // nothing is cached between calls, since buffers are reused).
    void print(const Place& place, std::span<const msg::Defect> defects);
    // Print a message about a whole input (no line), e.g. an I/O error.
    void print(const std::string& file, msg::Severity sev, const std::string& text);

private:
    void print_one(const Place& place, const msg::LineIndex& index, const msg::Defect& d, std::string& out);

    std::ostream& out_;
    bool color_;
    bool columns_;   // file:line:col (else file:line)
};

// `text` wrapped at `width` columns, each line starting with `indent`.
std::string wrap(std::string_view text, std::size_t width, std::string_view indent);

// `tool --explain CODE`: a defect's explanation with a bad and a good
// example, to standard output. Returns the exit code (64 for an unknown code).
int explain_defect(const char* tool, const std::string& code);

// True when standard error is a terminal and NO_COLOR is unset.
bool stderr_wants_color();

}  // namespace msgtools
