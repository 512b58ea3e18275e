// detail/validate_report.hpp - the checks of reports (validate_report.cpp),
// run by validate() on each entity.
#pragma once

#include <cstddef>
#include <unordered_map>

#include "msg/defect.hpp"
#include "msg/message.hpp"

namespace msg::detail {

// RFC 6522: a multipart/report's report-type and the type of its second
// part; RFC 3464 (and RFC 6533's global form): a delivery status's fields;
// RFC 8098: a disposition notification's. Nothing for other entities.
// Past ten of a code in one report part, the rest are only counted in
// `uncounted` (as the line checks count theirs).
void check_report(const Message& m, const Entity& e, Defects& out,
                  std::unordered_map<DefectCode, std::size_t>& uncounted);

}  // namespace msg::detail
