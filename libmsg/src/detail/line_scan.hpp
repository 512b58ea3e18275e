// line_scan.hpp - the one pass over a message's bytes that the line checks
// make (validate.cpp): where lines end, how long they are, bare CRs, bare
// LFs, NULs.
//
// Almost every byte of almost every message needs no attention: lines are
// short and end the same way, and there is no NUL. next_line_event() skips
// all of that, 64 bytes at a time with AVX2 (chosen at run time) or 16 with
// SSE2, and stops only where the checks have something to decide.
#pragma once

#include <cstddef>

namespace msg::detail {

// The first offset at or after `i` in p[0, n) where the line checks must look:
//   - a '\n' that ends a line of more than `quiet` bytes (a CR before it
//     counted), the line starting at `line`;
//   - with `crlf`, a '\n' without a '\r' before it;
//   - a '\r' without a '\n' after it;
//   - a NUL.
// n when there is none (or when i >= n). `line` is moved past every '\n'
// passed over.
std::size_t next_line_event(const char* p, std::size_t i, std::size_t n, std::size_t& line, bool crlf,
                            std::size_t quiet);

// The same with the portable loop only (SSE2 where the build targets it),
// or with AVX2 (false when this CPU has none): for tests that compare them.
std::size_t next_line_event_portable(const char* p, std::size_t i, std::size_t n, std::size_t& line,
                                     bool crlf, std::size_t quiet);
bool next_line_event_avx2(const char* p, std::size_t i, std::size_t n, std::size_t& line, bool crlf,
                          std::size_t quiet, std::size_t& at);

}  // namespace msg::detail
