// detail/validate_report.hpp - the checks of reports (validate_report.cpp),
// run by validate() on each entity.
#pragma once

#include "msg/defect.hpp"
#include "msg/message.hpp"

namespace msg::detail {

// RFC 6522: a multipart/report's report-type and the type of its second
// part; RFC 3464 (and RFC 6533's global form): a delivery status's fields;
// RFC 8098: a disposition notification's. Nothing for other entities.
void check_report(const Message& m, const Entity& e, Defects& out);

}  // namespace msg::detail
