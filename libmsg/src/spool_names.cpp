// spool_names.cpp - entry names and state directories (docs/spool-format.md, Names).
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "msg/datetime.hpp"
#include "msg/host.hpp"
#include "msg/spool.hpp"

namespace msg {
namespace {

std::atomic<std::uint32_t> g_sequence{0};  // the per-process name sequence

// The process id and host name go into every name; they are asked of the
// kernel once (a fork's child asks again for its own pid).
std::atomic<long> g_pid{0};

long process_id() {
    long pid = g_pid.load(std::memory_order_relaxed);
    if (pid == 0) {
        static std::once_flag once;
        std::call_once(once, [] { ::pthread_atfork(nullptr, nullptr, [] { g_pid = 0; }); });
        pid = static_cast<long>(::getpid());
        g_pid.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

// The host name with anything but letters, digits and '-' replaced by '-'.
const std::string& host_label() {
    static const std::string label = [] {
        std::string s;
        for (const char c : host_name()) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
            s += ok ? c : '-';
        }
        return s;
    }();
    return label;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

}  // namespace

std::string_view state_dir(SpoolState s) {
    switch (s) {
    case SpoolState::queue: return "queue";
    case SpoolState::deferred: return "deferred";
    case SpoolState::sent: return "sent";
    case SpoolState::failed: return "failed";
    case SpoolState::hold: return "hold";
    }
    return "queue";
}

std::optional<SpoolState> state_by_name(std::string_view dir) {
    for (SpoolState s : kAllStates)
        if (state_dir(s) == dir) return s;
    return std::nullopt;
}

std::string new_entry_name(std::string_view key) {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    ::gmtime_r(&ts.tv_sec, &tm);
    const std::uint32_t seq = g_sequence.fetch_add(1, std::memory_order_relaxed) % 1000000u;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%06ldZ.%ld.%06u.", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
                  static_cast<long>(process_id()), seq);
    const std::string_view host = host_label();
    std::string name;
    name.reserve(std::strlen(buf) + host.size() + 2 + key.size());   // (one allocation)
    name += buf;
    name += host;
    if (!key.empty() && name.size() + 2 <= kMaxEntryName) {
        name += '.';
        // Cut so that the name, and the "_" below, stay within kMaxEntryName.
        key = key.substr(0, kMaxEntryName - 1 - name.size());
        for (char c : key) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_';
            name += ok ? c : '_';
        }
        // NAME.report and NAME.json are the report files of failed/: a key
        // may not make an entry's name end that way.
        if (key == "report" || key == "json" || key == "dsn") name += '_';
    }
    return name;
}

std::string_view entry_key(std::string_view name) {
    // time "." micro "Z" "." pid "." seq "." host [ "." key ]
    std::size_t at = 0;
    for (int dots = 0; dots < 5; ++dots) {
        const std::size_t d = name.find('.', at);
        if (d == std::string_view::npos) return {};
        at = d + 1;
    }
    return name.substr(at);
}

std::optional<std::chrono::system_clock::time_point> entry_time(std::string_view name) {
    // 20261123T081500.123456Z.
    DateTime t;
    if (!digits(name, 0, 4, t.year) || !digits(name, 4, 2, t.month) || !digits(name, 6, 2, t.day) ||
        name.size() < 15 || name[8] != 'T' || !digits(name, 9, 2, t.hour) || !digits(name, 11, 2, t.minute) ||
        !digits(name, 13, 2, t.second))
        return std::nullopt;
    return to_time_point(t);
}

}  // namespace msg
