// validate_report.cpp - reports written for programs to read: the
// multipart/report that holds them (RFC 6522), delivery status
// notifications (RFC 3464; RFC 6533's global form) and message disposition
// notifications (RFC 8098). A bounce processor or a list manager learns
// from these fields which recipient failed and why; one it cannot read is
// a bounce it cannot act on.
#include "detail/validate_report.hpp"

#include <algorithm>
#include <unordered_map>
#include <string>
#include <vector>

#include "msg/header.hpp"

namespace msg::detail {
namespace {

// RFC 6533 gives each report a global form (UTF-8 allowed); real MTAs write
// the report-type either way, so both are read as the same report.
std::string_view base_report(std::string_view type) {
    if (type.size() > 7 && iequals(type.substr(0, 7), "global-")) type.remove_prefix(7);
    return type;
}

void check_structure(const Message& m, const Entity& e, Defects& out) {
    if (e.kind != EntityKind::multipart || e.first_child < 0) return;   // the boundary's own defects say why
    const Parameter* type = find_parameter(e.content_type.params, "report-type");
    if (!type || type->value.empty()) {
        out.push_back({DefectCode::ReportTypeMismatch, m.field_offset(e, "Content-Type"), "no report-type parameter"});
        return;
    }
    const std::string_view base = base_report(type->value);
    if (!known_report_type(base)) return;
    const std::int32_t second = m.entity(static_cast<std::size_t>(e.first_child)).next_sibling;
    if (second < 0) {
        out.push_back({DefectCode::ReportTypeMismatch, m.field_offset(e, "Content-Type"),
                       "report-type=" + type->value + ", and no second part"});
        return;
    }
    const Entity& s = m.entity(static_cast<std::size_t>(second));
    if (s.content_type.type == "message" && iequals(base_report(s.content_type.subtype), base)) return;
    out.push_back({DefectCode::ReportTypeMismatch, m.field_offset(s, "Content-Type"),
                   "report-type=" + type->value + ", second part " + s.content_type.mime_type()});
}

// A field of a report's block: the name, the value with its folds, and
// where the field begins in the content.
struct Field {
    std::string_view name, value;
    std::size_t at = 0;
};

// The content as RFC 3464 2.1 writes it: blocks of fields, one empty line
// (or more) between them. A line that is neither a field nor the
// continuation of one is said at its start.
struct Blocks {
    std::vector<std::vector<Field>> blocks;
    std::vector<std::size_t> starts;   // where each block begins
};

struct Found {
    std::size_t at;   // in the content
    DefectCode code;
    std::string detail;
};

// What the checks find: a few of each code kept, the rest counted, so that
// a report part of a million bad lines costs no more memory than a good one.
class Findings {
public:
    explicit Findings(std::unordered_map<DefectCode, std::size_t>& uncounted) : uncounted_(uncounted) {}
    void add(std::size_t at, DefectCode code, std::string_view detail, std::string_view more = {}) {
        std::size_t& n = kept_[code];
        if (n >= kKept) {
            ++uncounted_[code];
            return;
        }
        ++n;
        std::string d(detail);
        d += more;
        list.push_back({at, code, std::move(d)});
    }
    std::vector<Found> list;

private:
    static constexpr std::size_t kKept = 10;
    std::unordered_map<DefectCode, std::size_t> kept_;
    std::unordered_map<DefectCode, std::size_t>& uncounted_;
};

bool is_ftext(char c) { return c > 32 && c < 127 && c != ':'; }

Blocks read_blocks(std::string_view text, Findings& found) {
    Blocks b;
    bool open = false;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t nl = text.find('\n', pos);
        const std::size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
        std::size_t end = nl == std::string_view::npos ? text.size() : nl;
        if (end > pos && text[end - 1] == '\r') --end;
        const std::string_view line = text.substr(pos, end - pos);
        if (line.empty()) {
            open = false;
        } else if (line[0] == ' ' || line[0] == '\t') {
            if (open && !b.blocks.back().empty()) {
                Field& f = b.blocks.back().back();
                f.value = text.substr(static_cast<std::size_t>(f.value.data() - text.data()),
                                      end - static_cast<std::size_t>(f.value.data() - text.data()));
            } else if (line.find_first_not_of(" \t") != std::string_view::npos) {
                found.add(pos, DefectCode::ReportSyntax, "a folded line that continues no field");
            }
        } else {
            std::size_t colon = line.find(':');
            std::size_t name_end = colon;
            while (name_end != std::string_view::npos && name_end > 0 && (line[name_end - 1] == ' ' || line[name_end - 1] == '\t'))
                --name_end;
            if (colon == std::string_view::npos || name_end == 0 ||
                !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(name_end), is_ftext)) {
                found.add(pos, DefectCode::ReportSyntax, "a line that is not a field");
            } else {
                if (!open) {
                    b.blocks.emplace_back();
                    b.starts.push_back(pos);
                    open = true;
                }
                b.blocks.back().push_back({line.substr(0, name_end), line.substr(colon + 1), pos});
            }
        }
        pos = next;
    }
    return b;
}

const Field* find_field(const std::vector<Field>& block, std::string_view name) {
    for (const Field& f : block)
        if (iequals(f.name, name)) return &f;
    return nullptr;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// Where a field's value begins in the content (past the white space).
std::size_t value_at(std::string_view text, const Field& f) {
    std::size_t at = static_cast<std::size_t>(f.value.data() - text.data());
    const std::size_t skip = f.value.find_first_not_of(" \t\r\n");
    return skip == std::string_view::npos ? at : at + skip;
}

// A field's value unfolded, its comments removed (RFC 3464 2.1.1 allows
// RFC 5322's comments in these fields) and trimmed: a view into `value`
// when it has neither folds nor comments, else into `buf`.
std::string_view plain(std::string_view value, std::string& buf) {
    const std::string_view v = unfold(value, buf);   // trimmed already
    if (v.find('(') == std::string_view::npos) return v;
    std::string out;
    int depth = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        if (depth > 0 && c == '\\') ++i;
        else if (c == '(') ++depth;
        else if (depth > 0 && c == ')') --depth;
        else if (depth == 0) out += c;
    }
    buf = std::move(out);
    return trim(buf);
}

// type ";" value (RFC 3464 2.1.2: address-type, mta-name-type,
// diagnostic-type): an atom before the ';', and something after it unless
// `empty_ok` (Diagnostic-Code's text may be empty).
void typed(std::string_view text, const Field* f, bool empty_ok, Findings& found) {
    if (!f) return;
    std::string buf;
    const std::string_view v = plain(f->value, buf);
    const std::size_t semi = v.find(';');
    const std::string_view type = semi == std::string_view::npos ? std::string_view() : trim(v.substr(0, semi));
    const bool atom = !type.empty() && std::all_of(type.begin(), type.end(), [](char c) {
        return is_ftext(c) && std::string_view("()<>@,;\\\"[]").find(c) == std::string_view::npos;
    });
    if (!atom) {
        found.add(value_at(text, *f), DefectCode::ReportSyntax, f->name, ": no type before ';' (as in rfc822; or dns;)");
    } else if (!empty_ok && trim(v.substr(semi + 1)).empty()) {
        found.add(value_at(text, *f), DefectCode::ReportSyntax, f->name, ": nothing after its type");
    }
}

// A value's first word (comments removed): what precedes white space or a ';'.
std::string_view first_word(std::string_view v) {
    v = trim(v);
    const std::size_t e = v.find_first_of(" \t\r\n;");
    return e == std::string_view::npos ? v : v.substr(0, e);
}

// status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT with class 2, 4 or 5 (RFC
// 3464 2.3.4, RFC 3463 2), comments removed; nothing else.
bool status_code(std::string_view v) {
    v = trim(v);
    if (v.size() < 5 || (v[0] != '2' && v[0] != '4' && v[0] != '5') || v[1] != '.') return false;
    std::size_t i = 2;
    for (int part = 0; part < 2; ++part) {
        const std::size_t b = i;
        while (i < v.size() && i - b < 4 && v[i] >= '0' && v[i] <= '9') ++i;
        if (i == b || i - b > 3) return false;
        if (part == 0) {
            if (i >= v.size() || v[i] != '.') return false;
            ++i;
        }
    }
    return trim(v.substr(i)).empty();
}

void delivery_status(std::string_view text, const Blocks& b, Findings& found) {
    if (b.blocks.empty()) {
        found.add(0, DefectCode::ReportFieldMissing, "Reporting-MTA (no fields at all)");
        return;
    }
    // RFC 3464 2.2: the per-message fields
    const std::vector<Field>& message = b.blocks.front();
    const Field* mta = find_field(message, "Reporting-MTA");
    if (!mta) found.add(b.starts.front(), DefectCode::ReportFieldMissing, "Reporting-MTA");
    typed(text, mta, false, found);
    typed(text, find_field(message, "DSN-Gateway"), false, found);
    typed(text, find_field(message, "Received-From-MTA"), false, found);
    // RFC 3464 2.3: one block per recipient, after the report's. The
    // first block holds a recipient's fields too when the empty line
    // between the two is missing (said, unless the first line already is
    // one: then the report's fields are missing, said above): its fields
    // are checked as a recipient's all the same.
    std::size_t first = 1;
    const Field* rcpt_field = nullptr;
    for (const Field& f : message)
        if (!rcpt_field && (iequals(f.name, "Final-Recipient") || iequals(f.name, "Original-Recipient") ||
                            iequals(f.name, "Action") || iequals(f.name, "Status")))
            rcpt_field = &f;
    if (rcpt_field) {
        if (rcpt_field != &message.front())
            found.add(rcpt_field->at, DefectCode::ReportSyntax, "a recipient's field with no empty line before its block");
        first = 0;
    } else if (b.blocks.size() == 1) {
        found.add(b.starts.front(), DefectCode::ReportFieldMissing,
                  "Final-Recipient, Action, Status (no recipient's block after the empty line)");
        return;
    }
    for (std::size_t k = first; k < b.blocks.size(); ++k) {
        const std::vector<Field>& r = b.blocks[k];
        const Field* final_rcpt = find_field(r, "Final-Recipient");
        const Field* action = find_field(r, "Action");
        const Field* status = find_field(r, "Status");
        for (const auto& [f, name] : {std::pair{final_rcpt, "Final-Recipient"}, std::pair{action, "Action"},
                                      std::pair{status, "Status"}})
            if (!f) found.add(b.starts[k], DefectCode::ReportFieldMissing, name);
        typed(text, final_rcpt, false, found);
        typed(text, find_field(r, "Original-Recipient"), false, found);
        typed(text, find_field(r, "Remote-MTA"), false, found);
        typed(text, find_field(r, "Diagnostic-Code"), true, found);
        if (action) {
            std::string buf;
            const std::string_view a = first_word(plain(action->value, buf));
            if (!iequals(a, "failed") && !iequals(a, "delayed") && !iequals(a, "delivered") && !iequals(a, "relayed") &&
                !iequals(a, "expanded"))
                found.add(value_at(text, *action), DefectCode::ReportAction, a.empty() ? "an empty value" : a);
        }
        if (status) {
            std::string buf;
            const std::string_view v = plain(status->value, buf);
            if (!status_code(v)) found.add(value_at(text, *status), DefectCode::ReportStatus, v.substr(0, 40));
        }
    }
}

// RFC 8098 3.1: one block; Final-Recipient and Disposition required, the
// disposition written action-mode/sending-mode; disposition-type.
void disposition_notification(std::string_view text, const Blocks& b, Findings& found) {
    if (b.blocks.empty()) {
        found.add(0, DefectCode::ReportFieldMissing, "Final-Recipient, Disposition (no fields at all)");
        return;
    }
    std::vector<Field> all;
    for (const auto& block : b.blocks) all.insert(all.end(), block.begin(), block.end());
    const Field* final_rcpt = find_field(all, "Final-Recipient");
    const Field* disposition = find_field(all, "Disposition");
    if (!final_rcpt) found.add(b.starts.front(), DefectCode::ReportFieldMissing, "Final-Recipient");
    if (!disposition) found.add(b.starts.front(), DefectCode::ReportFieldMissing, "Disposition");
    typed(text, final_rcpt, false, found);
    typed(text, find_field(all, "Original-Recipient"), false, found);
    if (disposition) {
        std::string buf;
        const std::string_view v = plain(disposition->value, buf);
        const std::size_t semi = v.find(';');
        const std::string_view mode = semi == std::string_view::npos ? v : trim(v.substr(0, semi));
        if (semi == std::string_view::npos || mode.find('/') == std::string_view::npos || first_word(v.substr(semi + 1)).empty())
            found.add(value_at(text, *disposition), DefectCode::ReportSyntax,
                      "Disposition: not action-mode/sending-mode; disposition-type");
    }
}

}  // namespace

void check_report(const Message& m, const Entity& e, Defects& out,
                  std::unordered_map<DefectCode, std::size_t>& uncounted) {
    if (e.content_type.is("multipart", "report")) {
        check_structure(m, e, out);
        return;
    }
    if (e.kind != EntityKind::leaf || e.content_type.type != "message") return;
    const std::string_view base = base_report(e.content_type.subtype);
    const bool dsn = base == "delivery-status", mdn = base == "disposition-notification";
    if (!dsn && !mdn) return;
    std::string decoded;
    std::string_view text;
    if (e.encoding == TransferEncoding::base64 || e.encoding == TransferEncoding::quoted_printable ||
        e.encoding == TransferEncoding::uuencode) {
        m.decode(e, decoded);
        text = decoded;
    } else {
        text = m.body(e);
    }
    Findings findings(uncounted);
    const Blocks b = read_blocks(text, findings);
    if (dsn) delivery_status(text, b, findings);
    else disposition_notification(text, b, findings);
    std::vector<Found>& found = findings.list;
    if (found.empty()) return;
    std::stable_sort(found.begin(), found.end(), [](const Found& x, const Found& y) { return x.at < y.at; });
    std::vector<std::size_t> at;
    for (const Found& f : found) at.push_back(f.at);
    at = m.content_offsets(e, at);
    for (std::size_t i = 0; i < found.size(); ++i) out.push_back({found[i].code, at[i], std::move(found[i].detail)});
}

}  // namespace msg::detail
