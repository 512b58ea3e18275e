// progress.cpp - the terminal progress bar.
#include "common/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace msgtools {

namespace {
bool g_allowed = true;
}

void set_progress_allowed(bool allowed) { g_allowed = allowed; }

Progress::Progress(std::uint64_t total, std::string what)
    : enabled_(g_allowed && isatty(2) == 1), total_(total), what_(std::move(what)),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(std::uint64_t bytes, std::uint64_t items) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double mb = static_cast<double>(bytes) / 1048576.0;
    char line[160];
    if (total_ > 0) {
        const double frac = bytes >= total_ ? 1.0 : static_cast<double>(bytes) / static_cast<double>(total_);
        const int width = 30, done = static_cast<int>(frac * width);
        std::string bar(static_cast<std::size_t>(done), '#');
        bar.resize(width, '.');
        std::snprintf(line, sizeof line, "\r[%s] %3.0f%%  %llu %s  %.1f MB/s ", bar.c_str(), frac * 100,
                      static_cast<unsigned long long>(items), what_.c_str(), secs > 0 ? mb / secs : 0.0);
    } else {
        std::snprintf(line, sizeof line, "\r%llu %s  %.1f MB  %.1f MB/s ", static_cast<unsigned long long>(items),
                      what_.c_str(), mb, secs > 0 ? mb / secs : 0.0);
    }
    std::fputs(line, stderr);
    std::fflush(stderr);
}

void Progress::finish() {
    if (!enabled_ || !drawn_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
}

}  // namespace msgtools
