// files.hpp - writing output files safely.
//
// Every output is written to a temporary name in its target directory,
// flushed, and renamed into place, so a reader never sees half a file.
#pragma once

#include <msg/result.hpp>

#include <string>
#include <string_view>

namespace msgtools {

// A name for an attachment that cannot leave its directory: the last path
// component of `wanted` (after '/' or '\'), with control characters, '/',
// '\' and ':' replaced by '_', leading dots and trailing dots and spaces
// removed, cut to 200 bytes at a UTF-8 boundary. Empty when nothing usable
// is left (the caller supplies a fallback).
std::string safe_filename(std::string_view wanted);

// Create DIR/name with `data`, never replacing an existing file: when the
// name is taken, "name-1.ext", "name-2.ext", ... are tried. Returns the name
// actually used.
msg::Result<std::string> write_new_file(const std::string& dir, const std::string& name,
                                        std::string_view data);

}  // namespace msgtools
