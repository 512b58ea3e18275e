// diagnostics.cpp - compiler-style diagnostics, explanations, SARIF.
#include "msg/diagnostics.hpp"

#include <ostream>

#include "msg/charset.hpp"
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

// Each message's diagnostics are put together and written at once: standard
// error is unbuffered, and a write per piece of a line cost more than
// checking an archive with a few hundred defects.
void DiagPrinter::print(const Place& place, std::span<const Defect> defects) {
    if (defects.empty()) return;
    std::string text;
    format(place, defects, text);
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void DiagPrinter::print(const Place& place, std::span<const Defect> defects, Severity as) {
    if (defects.empty()) return;
    std::string text;
    format(place, defects, text, &as);
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void DiagPrinter::print(const std::string& file, Severity sev, const std::string& text) {
    std::string line;
    format(file, sev, text, line);
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
}

void DiagPrinter::format(const Place& place, std::span<const Defect> defects, std::string& out,
                         const Severity* as) const {
    if (defects.empty()) return;
    const LineIndex index(place.data);
    for (const Defect& d : defects) format_one(place, index, d, out, as);
}

void DiagPrinter::print(const Place& place, std::span<const Note> notes) {
    if (notes.empty()) return;
    std::string text;
    const LineIndex index(place.data);
    for (const Note& n : notes) {
        format_at(place, index, n.offset, n.severity, text);
        // A note may quote the message (a charset's name): one line, escaped.
        text.append(printable(n.text)).append(1, '\n');
    }
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void DiagPrinter::format_at(const Place& place, const LineIndex& index, std::size_t offset, Severity sev,
                            std::string& out) const {
    LineCol lc = index.locate(offset);
    lc.column = archive_column(place.unquoted_lines, offset, lc.column);
    // A file's name may hold control bytes, a line feed among them, which
    // would forge a diagnostic line of its own: escaped.
    out.append(printable(place.file)).append(1, ':').append(std::to_string(place.first_line + lc.line - 1));
    if (columns_) out.append(1, ':').append(std::to_string(lc.column));
    out.append(": ");
    if (color_) out.append(color_of(sev));
    out.append(severity_name(sev)).append(1, ':');
    if (color_) out.append("\033[0m");
    out.append(1, ' ');
}

void DiagPrinter::format_one(const Place& place, const LineIndex& index, const Defect& d, std::string& out,
                             const Severity* as) const {
    const DefectInfo& info = d.info();
    format_at(place, index, d.offset, as ? *as : info.severity, out);
    out.append(defect_text(d, 80));   // (a line, not a page)
    out.append(" [").append(info.code).append("]\n");
}

void DiagPrinter::format(const std::string& file, Severity sev, const std::string& text, std::string& out) const {
    out.append(printable(file)).append(": ");
    if (color_) out.append(color_of(sev));
    out.append(severity_name(sev)).append(1, ':');
    if (color_) out.append("\033[0m");
    out.append(1, ' ').append(printable(text)).append(1, '\n');
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

namespace {
bool matches(const std::vector<std::string>& list, std::string_view code) {
    for (const std::string& p : list)
        if (code == p || (code.size() > p.size() && code.starts_with(p) && code[p.size()] == '.')) return true;
    return false;
}
}  // namespace

void DefectFilter::add(std::vector<std::string>& to, std::string_view patterns) {
    std::size_t b = 0;
    while (b <= patterns.size()) {
        std::size_t e = patterns.find(',', b);
        if (e == std::string_view::npos) e = patterns.size();
        if (e > b) to.emplace_back(patterns.substr(b, e - b));
        b = e + 1;
    }
}

bool DefectFilter::wanted(std::string_view code) const {
    if (!select.empty() && !matches(select, code)) return false;
    return !matches(ignore, code);
}

bool known_defect_pattern(std::string_view p) {
    for (const DefectInfo& d : defect_catalogue())
        if (d.code == p || (d.code.starts_with(p) && d.code.size() > p.size() && d.code[p.size()] == '.')) return true;
    return false;
}

std::string defect_text(const Defect& d, std::size_t max_detail) {
    std::string out(d.info().text);
    if (d.detail.empty()) return out;
    std::size_t n = 0;
    while (n < d.detail.size()) {
        const std::size_t len = utf8_char_length(d.detail, n);
        if (n + len > max_detail) break;
        n += len;
    }
    return out.append(" (").append(printable(std::string_view(d.detail).substr(0, n))).append(1, ')');
}

std::string defect_json(std::string_view source, std::uint64_t index, std::uint64_t line, std::uint64_t column,
                        std::uint64_t offset, const Defect& d) {
    const DefectInfo& info = d.info();
    Json j;
    j.begin_object()
        .key("source").value(source).key("index").value(index)
        .key("line").value(line).key("column").value(column).key("offset").value(offset)
        .key("defect").value(info.code).key("severity").value(severity_name(info.severity))
        .key("text").value(defect_text(d))
        .end_object();
    return j.str();
}

std::string catalogue_markdown() {
    std::string out;
    std::string_view group;
    for (const DefectInfo& d : defect_catalogue()) {
        const std::string_view g = d.code.substr(0, d.code.find('.'));
        if (g != group) {
            out.append("\n## ").append(g).append("\n");
            group = g;
        }
        out.append("\n### `").append(d.code).append("`\n\n**").append(severity_name(d.severity)).append("** · ")
            .append(d.rfc).append(" · ").append(d.text).append("\n\n").append(wrap(d.explanation, 78, ""))
            .append("\nBad:\n\n```\n").append(d.bad).append("\n```\n\nGood:\n\n```\n").append(d.good)
            .append("\n```\n");
        if (!d.repair.empty())
            out.append("\n").append(wrap("Repaired by `msgrewrite --fix`: " + std::string(d.repair) + ".", 78, ""));
    }
    return out;
}

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
// whose byte column (1-based) is `byte_column`. Bytes before it that are
// not UTF-8 count as a reader decoding the line counts them: one U+FFFD
// for each maximal subpart (a lone continuation byte is one, an encoded
// surrogate three, a sequence cut short one).
std::uint64_t code_point_column(std::string_view data, std::size_t offset, std::uint64_t byte_column) {
    if (offset > data.size() || byte_column == 0 || byte_column - 1 > offset) return byte_column;
    const std::string_view before = data.substr(offset - (byte_column - 1), byte_column - 1);
    std::uint64_t column = 1;
    for (std::size_t i = 0; i < before.size(); i += utf8_char_length(before, i)) ++column;
    return column;
}

}  // namespace

std::string file_uri(std::string_view path) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    // "//x" would be a network-path reference, x its host: one slash
    // names the same file.
    while (path.starts_with("//")) path.remove_prefix(1);
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

namespace {
// The rule of an input that is not mail, after the catalogue's.
constexpr std::string_view kNotMailRule = "input.not-mail";
}  // namespace

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
    j.begin_object()
        .key("id").value(kNotMailRule)
        .key("shortDescription").begin_object().key("text").value("input that is not mail at all").end_object()
        .key("fullDescription").begin_object()
            .key("text").value("The input is empty, binary data (an image, an archive, an Outlook .msg file), "
                               "or text with no header field at its start: nothing in it can be checked.")
        .end_object()
        .key("defaultConfiguration").begin_object().key("level").value("error").end_object()
        .end_object();
    j.end_array();
    out_ << "{\"version\": \"2.1.0\", \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
            " \"runs\": [{\"tool\": {\"driver\": {\"name\": \""
         << tool_ << "\", \"version\": \"" << version_ << "\",\n  \"rules\": " << j.str()
         << "}},\n \"columnKind\": \"unicodeCodePoints\",\n \"results\": [";
    first_ = true;
    notifications_.clear();
}

std::string SarifLog::result(const std::string& file, std::uint64_t message, std::string_view data,
                             const Defect& d, std::uint64_t line, std::uint64_t column, std::uint64_t file_offset) {
    const DefectInfo& info = d.info();
    const std::string text = defect_text(d);
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
    return j.str();
}

namespace {

// The "locations" of a result or notification about a file as a whole.
Json& whole_file(Json& j, const std::string& file) {
    return j.key("locations").begin_array().begin_object()
        .key("physicalLocation").begin_object()
            .key("artifactLocation").begin_object().key("uri").value(file_uri(file)).end_object()
        .end_object()
        .end_object().end_array();
}

}  // namespace

std::string SarifLog::input_result(const std::string& file, Severity severity, const std::string& text) {
    Json j;
    j.begin_object()
        .key("ruleId").value(kNotMailRule)
        .key("ruleIndex").value(static_cast<std::uint64_t>(defect_catalogue().size()))
        .key("level").value(level_of(severity))
        .key("message").begin_object().key("text").value(text).end_object();
    whole_file(j, file).end_object();
    return j.str();
}

void SarifLog::add(const std::string& file, std::uint64_t message, std::string_view data, const Defect& d,
                   std::uint64_t line, std::uint64_t column, std::uint64_t file_offset) {
    add_result(result(file, message, data, d, line, column, file_offset));
}

void SarifLog::add_input(const std::string& file, Severity severity, const std::string& text) {
    add_result(input_result(file, severity, text));
}

void SarifLog::add_result(std::string_view result) {
    out_ << (first_ ? "\n  " : ",\n  ") << result;
    first_ = false;
}

void SarifLog::add_unreadable(const std::string& file, const std::string& message) {
    Json j;
    j.begin_object()
        .key("level").value("error")
        .key("message").begin_object().key("text").value(printable(message)).end_object();
    whole_file(j, file).end_object();
    notifications_.push_back(j.str());
}

void SarifLog::end(int exit_code) {
    out_ << (first_ ? "],\n" : "\n ],\n") << " \"invocations\": [{\"executionSuccessful\": "
         << (exit_code == 0 || exit_code == 1 ? "true" : "false") << ", \"exitCode\": " << exit_code;
    if (!notifications_.empty()) {
        out_ << ",\n  \"toolExecutionNotifications\": [";
        for (std::size_t i = 0; i < notifications_.size(); ++i) out_ << (i ? ",\n   " : "\n   ") << notifications_[i];
        out_ << "]";
    }
    out_ << "}]}]}\n";
}

}  // namespace msg
