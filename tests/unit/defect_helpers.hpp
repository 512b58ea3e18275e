// defect_helpers.hpp - looking up defects in the unit tests.
#pragma once

#include <algorithm>
#include <cstddef>

#include "msg/defect.hpp"

namespace msg_test {

inline std::size_t count(const msg::Defects& d, msg::DefectCode c) {
    return static_cast<std::size_t>(
        std::count_if(d.begin(), d.end(), [&](const msg::Defect& x) { return x.code == c; }));
}

// The first defect with that code, or nullptr.
inline const msg::Defect* first(const msg::Defects& d, msg::DefectCode c) {
    for (const auto& x : d)
        if (x.code == c) return &x;
    return nullptr;
}

}  // namespace msg_test
