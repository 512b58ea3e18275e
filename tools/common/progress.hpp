// progress.hpp - a one-line progress bar on standard error, only when it is
// a terminal (never in pipes, logs or tests).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace msgtools {

// -q turns every progress bar off (parse_cli calls this).
void set_progress_allowed(bool allowed);

class Progress {
public:
    // `total` bytes expected (0: unknown, no percentage); `what` names the items.
    Progress(std::uint64_t total, std::string what);
    ~Progress() { finish(); }
    bool enabled() const { return enabled_; }
    // Redraws at most ten times a second.
    void update(std::uint64_t bytes, std::uint64_t items);
    // Clears the line (idempotent).
    void finish();

private:
    bool enabled_;
    bool drawn_ = false;
    std::uint64_t total_;
    std::string what_;
    std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace msgtools
