// exit.hpp - the exit codes of every msgtools tool (sysexits where they fit).
// This is the only place they are defined.
#pragma once

#include <cerrno>

namespace msgtools::exit_code {

inline constexpr int ok = 0;            // success
inline constexpr int problems = 1;      // ran and found problems (defects, failures)
inline constexpr int usage = 64;        // EX_USAGE: bad command line
inline constexpr int data_error = 65;   // EX_DATAERR: input is not usable as mail
inline constexpr int no_input = 66;     // EX_NOINPUT: input missing or unreadable
inline constexpr int unavailable = 69;  // EX_UNAVAILABLE: server unavailable
inline constexpr int cant_create = 73;  // EX_CANTCREAT: cannot create output
inline constexpr int io_error = 74;     // EX_IOERR
inline constexpr int temp_fail = 75;    // EX_TEMPFAIL: try again later

// Output that failed with errno `errnum`: it could not be written (74: the
// file system or quota is full, a write failed) or not be made at all (73).
inline int output_failed(int errnum) {
    return errnum == ENOSPC || errnum == EDQUOT || errnum == EIO || errnum == EFBIG ? io_error : cant_create;
}

// Input that could not be read with errno `errnum`: 75 when memory ran out
// (larger than this process may hold: try again with more), else `otherwise`.
inline int read_failed(int errnum, int otherwise) { return errnum == ENOMEM ? temp_fail : otherwise; }

// Keep the most severe of two outcomes: any failure beats success, and a
// usage or input error beats "found problems".
inline int worst(int a, int b) { return a > b ? a : b; }

}  // namespace msgtools::exit_code
