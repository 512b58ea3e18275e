// defect.hpp - what is wrong with a message, and where.
//
// Every defect has a stable code from defects.def, a severity and an RFC
// reference. A Defect found by the parser carries the byte offset (from the
// start of the parsed buffer) where the problem is; tools turn it into
// file:line:col through a LineIndex. A Defect never stops a parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace msg {

enum class Severity : std::uint8_t { error, warning, note };

enum class DefectCode : std::uint16_t {
#define MSG_DEFECT(id, code, sev, rfc, text) id,
#include "msg/defects.def"
#undef MSG_DEFECT
};

struct DefectInfo {
    DefectCode id{};
    std::string_view code;     // "header.missing-colon"
    Severity severity{};
    std::string_view rfc;      // "RFC 5322 2.2"
    std::string_view text;     // one line
    // The long form, for msgcheck --explain and docs/defects.md:
    std::string_view explanation;  // a paragraph: the rule, why it matters, the fix
    std::string_view bad;          // a short example that has the defect ('\n' between lines)
    std::string_view good;         // the same, fixed
    // What msgrewrite --fix (rewrite.hpp) does about it; empty when the
    // defect is not repairable by rule (from defect_repairs.def).
    std::string_view repair;
};

const DefectInfo& defect_info(DefectCode id);
std::span<const DefectInfo> defect_catalogue();
std::optional<DefectCode> defect_by_code(std::string_view code);
std::string_view severity_name(Severity s);   // "error", "warning", "note"

struct Defect {
    DefectCode code;
    std::size_t offset = 0;   // byte offset into the parsed buffer
    std::string detail;       // optional extra words, e.g. the offending value

    const DefectInfo& info() const { return defect_info(code); }
};

using Defects = std::vector<Defect>;

}  // namespace msg
