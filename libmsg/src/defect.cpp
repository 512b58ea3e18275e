// defect.cpp - the catalogue table generated from defects.def.
#include "msg/defect.hpp"

#include <array>

namespace msg {
namespace {

constexpr DefectInfo kCatalogue[] = {
#define MSG_DEFECT(id, code, sev, rfc, text) {DefectCode::id, code, Severity::sev, rfc, text},
#include "msg/defects.def"
#undef MSG_DEFECT
};

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
