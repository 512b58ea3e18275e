// diagnostics.hpp - defects shown where they are, as linters show them:
//
//   file:line:col: severity: text [code]      DiagPrinter (compilers' form)
//   a SARIF 2.1.0 log                         SarifLog (code-scanning services)
//   a defect's long explanation               explain()
//
// Lines and columns are those of the input file (for a message of an mbox
// archive, the archive's own lines): a Place says where a message sits.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/source.hpp"

namespace msg {

// Where a message sits in its input, to turn message offsets into file positions.
struct Place {
    std::string file;            // as given on the command line; "<stdin>" for -
    std::string_view data;       // the message's bytes
    std::uint64_t first_line = 1;  // line of data[0] in the file
    // data is an archive's message unquoted: MboxMessage::unquoted_lines,
    // for the columns as they are in the file.
    std::span<const std::size_t> unquoted_lines = {};
};

// FILE:LINE:1, where a diagnostic of a whole message or input is placed
// (DiagPrinter::print(file, ...)): the first column of its first line (an
// archive's message: its From_ line), in the form of every other
// diagnostic, so that an editor goes there.
inline std::string message_place(const std::string& file, std::uint64_t line) {
    return file + ":" + std::to_string(line) + ":1";
}

// Every line is one line whatever the text: the file's name and any text
// from the input (a note's, a defect's particulars) are escaped as
// printable() escapes them (msg/charset.hpp).
class DiagPrinter {
public:
    explicit DiagPrinter(std::ostream& out, bool color, bool columns = true);
    // Print defects of one message (one line index is built for them all;
    // nothing is cached between calls, since buffers are reused).
    void print(const Place& place, std::span<const Defect> defects);
    // The same, each said with severity `as` instead of the catalogue's: a
    // tool that works around the defects says them as warnings.
    void print(const Place& place, std::span<const Defect> defects, Severity as);
    // Print a message about a whole input (no line), e.g. an I/O error.
    void print(const std::string& file, Severity sev, const std::string& text);
    // Print what is said of a message beside its defects (what msgrewrite
    // could not do), in the same form: each note at its offset in
    // place.data.
    struct Note {
        std::size_t offset;
        Severity severity;
        std::string text;
    };
    void print(const Place& place, std::span<const Note> notes);
    // The same lines appended to `out` instead of printed: for a caller
    // that puts a message's diagnostics together in another thread.
    // (`as`: each said with that severity instead of the catalogue's.)
    void format(const Place& place, std::span<const Defect> defects, std::string& out,
                const Severity* as = nullptr) const;
    void format(const std::string& file, Severity sev, const std::string& text, std::string& out) const;

private:
    // "file:line:col: severity: " of `offset`.
    void format_at(const Place& place, const LineIndex& index, std::size_t offset, Severity sev,
                   std::string& out) const;
    void format_one(const Place& place, const LineIndex& index, const Defect& d, std::string& out,
                    const Severity* as = nullptr) const;

    std::ostream& out_;
    bool color_;
    bool columns_;   // file:line:col (else file:line)
};

// `text` wrapped at `width` columns, each line starting with `indent`.
std::string wrap(std::string_view text, std::size_t width, std::string_view indent);

// A defect's explanation with its bad and good examples (msgcheck --explain).
std::string explain(const DefectInfo& d);
// The whole catalogue in Markdown, by group: the generated part of
// docs/defects.md (msgcheck --catalogue).
std::string catalogue_markdown();

// Which defects to report: codes or whole groups (the part before the
// dot: "date", "envelope") to select, and to ignore.
struct DefectFilter {
    std::vector<std::string> select, ignore;
    // Add comma-separated patterns to `select` or `ignore`.
    static void add(std::vector<std::string>& to, std::string_view patterns);
    bool wanted(std::string_view code) const;
};
// True when `pattern` is a defect code or a group of the catalogue.
bool known_defect_pattern(std::string_view pattern);

// A defect's one line of text, as every output gives it (the compilers'
// form, JSON, SARIF, smtpreplay's): the catalogue's text, then the
// particulars in parentheses as printable() shows text (control bytes and
// bytes that are not UTF-8, a raw boundary's, as \xHH), at most
// `max_detail` bytes of them, cut between characters.
std::string defect_text(const Defect& d, std::size_t max_detail = static_cast<std::size_t>(-1));

// One defect as a JSON object (msgcheck --json, docs/json.md): {"source",
// "index", "line", "column", "offset", "defect", "severity", "text"}.
std::string defect_json(std::string_view source, std::uint64_t index, std::uint64_t line, std::uint64_t column,
                        std::uint64_t offset, const Defect& d);

// The SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format),
// streamed: begin() writes the run's tool with every rule of the defect
// catalogue, add() one result per defect as it is found, end() closes the
// document. Locations are the input file's line and column (columns in
// Unicode code points, as columnKind says) and its byte offset.
class SarifLog {
public:
    SarifLog(std::ostream& out, std::string tool, std::string version);
    void begin();
    // One defect of a message whose bytes are `data`, found at `line`,
    // `column` (bytes, 1-based) and `file_offset` of `file`; `message` is
    // the message's index in an archive.
    void add(const std::string& file, std::uint64_t message, std::string_view data, const Defect& d,
             std::uint64_t line, std::uint64_t column, std::uint64_t file_offset);
    // An input that is not mail at all (msg::not_mail_reason): a result of
    // the rule "input.not-mail", the last of the log's rules, at the file
    // (SARIF 3.27.5 wants a rule for every result; the defect catalogue has
    // none for it, as it is no defect of a message).
    void add_input(const std::string& file, Severity severity, const std::string& text);
    // The results add() and add_input() write, as JSON text, and a result
    // made so added: for a caller that makes results in other threads and
    // adds them in order.
    static std::string result(const std::string& file, std::uint64_t message, std::string_view data,
                              const Defect& d, std::uint64_t line, std::uint64_t column, std::uint64_t file_offset);
    static std::string input_result(const std::string& file, Severity severity, const std::string& text);
    void add_result(std::string_view result);
    // An input that could not be read (missing, a directory, not readable,
    // not an archive, a gzip stream cut or corrupt): a notification of the
    // run's invocation (toolExecutionNotifications), level "error", at the
    // file's URI as results give it. `message` is the sentence said on
    // standard error (InputOptions::on_error), made printable() as JSON
    // shows such text. end() writes them, in the order added.
    void add_unreadable(const std::string& file, const std::string& message);
    // The document's end: the invocation, with its exit code and the
    // notifications of add_unreadable().
    void end(int exit_code);

private:
    std::ostream& out_;
    std::string tool_, version_;
    bool first_ = true;
    std::vector<std::string> notifications_;
};

// A file name as a relative URI reference: bytes outside RFC 3986's
// unreserved set and "/" percent-encoded; a name starting with "//" starts
// with one "/" (not a network-path reference, whose host would follow).
std::string file_uri(std::string_view path);

}  // namespace msg
