// result.hpp - a value or an error, for library calls that can fail.
//
// libmsg reports failures as values, never as exceptions thrown through a
// parser. Result<T> holds either a T or an Error (an errno-style number and a
// message that already names what failed, e.g. "cannot open x.eml: No such
// file or directory").
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace msg {

struct Error {
    int errnum = 0;        // errno value when the failure came from the OS, else 0
    std::string message;   // complete sentence fragment, no trailing newline
};

// The value, or why there is none: an Error, or a richer type `E` where a
// caller needs more than a message (smtp::ClientSession's SessionError).
template <class T, class E = Error>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
    Result(E error) : v_(std::move(error)) {}             // NOLINT: implicit by design

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T value() && { return std::get<0>(std::move(v_)); }   // by value: safe on a temporary
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T operator*() && { return std::move(*this).value(); }
    const E& error() const { return std::get<1>(v_); }

private:
    std::variant<T, E> v_;
};

// For calls that return nothing but can fail: `return Ok{};` or an Error.
struct Ok {};
using Status = Result<Ok>;

}  // namespace msg
