// detail/cut_short.hpp - what is said of a file cut short while it was
// read: by the mbox readers (read(2), pread(2)) and by a Source that maps
// a file (Source::intact). A read error (EIO): the tools exit 74.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>

#include "msg/result.hpp"

namespace msg::detail {

// "cannot read NAME: the file was cut short while it was read"
inline Error cut_short(const std::string& name) {
    return Error{EIO, "cannot read " + name + ": the file was cut short while it was read"};
}

// The same, with how much of it there is: `now` bytes of `expected`.
inline Error cut_short(const std::string& name, std::uint64_t now, std::uint64_t expected) {
    Error e = cut_short(name);
    e.message += " (" + std::to_string(now) + " of " + std::to_string(expected) + " bytes)";
    return e;
}

}  // namespace msg::detail
