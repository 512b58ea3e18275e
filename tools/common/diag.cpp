// diag.cpp - msgcheck --explain and its kin.
#include "common/diag.hpp"

#include <iostream>

#include "common/cli.hpp"
#include "common/exit.hpp"

namespace msgtools {

int explain_defect(const char* tool, const std::string& code) {
    auto id = msg::defect_by_code(code);
    if (!id) {
        complain(tool, "no defect is called '" + code + "' (see msgcheck --list)");
        return exit_code::usage;
    }
    std::cout << msg::explain(msg::defect_info(*id));
    return exit_code::ok;
}

}  // namespace msgtools
