// diag.hpp - the tools' side of diagnostics (msg/diagnostics.hpp).
#pragma once

#include <msg/diagnostics.hpp>

#include <string>

namespace msgtools {

using msg::DiagPrinter;
using msg::Place;
using msg::wrap;

// `tool --explain CODE`: a defect's explanation with a bad and a good
// example, to standard output. Returns the exit code (64 for an unknown code).
int explain_defect(const char* tool, const std::string& code);

}  // namespace msgtools
