// defect.cpp - the catalogue table, built at compile time from defects.def
// (codes, severities, one-line texts) and defect_docs.def (explanations and
// examples). The build fails when the two files disagree.
#include "msg/defect.hpp"

#include <array>

namespace msg {
namespace {

struct Row { DefectCode id; std::string_view code; Severity severity; std::string_view rfc, text; };
constexpr Row kRows[] = {
#define MSG_DEFECT(id, code, sev, rfc, text) {DefectCode::id, code, Severity::sev, rfc, text},
#include "msg/defects.def"
#undef MSG_DEFECT
};

struct Doc { DefectCode id; std::string_view explanation, bad, good; };
constexpr Doc kDocs[] = {
#define MSG_DEFECT_DOC(id, explanation, bad, good) {DefectCode::id, explanation, bad, good},
#include "defect_docs.def"
#undef MSG_DEFECT_DOC
};

struct Repair { DefectCode id; std::string_view how; };
constexpr Repair kRepairs[] = {
#define MSG_DEFECT_REPAIR(id, how) {DefectCode::id, how},
#include "defect_repairs.def"
#undef MSG_DEFECT_REPAIR
};

constexpr std::size_t kCount = std::size(kRows);
static_assert(std::size(kDocs) == kCount, "every code of defects.def needs one entry in defect_docs.def");

constexpr bool docs_match() {
    for (std::size_t i = 0; i < kCount; ++i)
        if (kRows[i].id != static_cast<DefectCode>(i) || kDocs[i].id != static_cast<DefectCode>(i) ||
            kDocs[i].explanation.empty() || kDocs[i].bad.empty() || kDocs[i].good.empty())
            return false;
    return true;
}
static_assert(docs_match(), "defect_docs.def must follow the order of defects.def, with every field filled");

constexpr std::array<DefectInfo, kCount> make_catalogue() {
    std::array<DefectInfo, kCount> a{};
    for (std::size_t i = 0; i < kCount; ++i)
        a[i] = {kRows[i].id, kRows[i].code, kRows[i].severity, kRows[i].rfc, kRows[i].text,
                kDocs[i].explanation, kDocs[i].bad, kDocs[i].good, {}};
    for (const Repair& r : kRepairs) a[static_cast<std::size_t>(r.id)].repair = r.how;
    return a;
}
constexpr std::array<DefectInfo, kCount> kCatalogue = make_catalogue();

}  // namespace

const DefectInfo& defect_info(DefectCode id) {
    return kCatalogue[static_cast<std::size_t>(id)];
}

std::span<const DefectInfo> defect_catalogue() { return kCatalogue; }

std::optional<DefectCode> defect_by_code(std::string_view code) {
    for (const DefectInfo& d : kCatalogue)
        if (d.code == code) return d.id;
    return std::nullopt;
}

std::string_view severity_name(Severity s) {
    switch (s) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::note: return "note";
    }
    return "error";
}

}  // namespace msg
