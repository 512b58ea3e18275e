// mh.cpp - reading MH folders (mh.hpp).
#include "msg/mh.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <tuple>

#include "detail/spool_io.hpp"
#include "msg/header.hpp"

namespace msg {
namespace {

bool is_file(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A decimal number of at most 18 digits (no overflow), nothing else.
std::optional<std::uint64_t> number(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::uint64_t n = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// A regular file's first 16 MiB (a sequences file is a few lines); nothing
// when it is missing or not a regular file (a FIFO planted there is not
// waited on).
std::optional<std::string> read_small_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::optional<std::string> text;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        text.emplace();
        char buf[65536];
        ssize_t n;
        while (text->size() < (16u << 20) && ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
            if (n > 0) text->append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

}  // namespace

bool is_mh_folder(const std::string& dir) {
    static constexpr const char* marks[] = {".mh_sequences", ".xmhcache",    ".mew_cache",   ".mew-cache",
                                            ".sylpheed_cache", ".sylpheed_mark", ".claws_cache", ".claws_mark"};
    // The marks first: a walk has asked is_maildir() already, and most
    // directories have none of them.
    return std::any_of(std::begin(marks), std::end(marks), [&](const char* m) { return is_file(dir + "/" + m); }) &&
           !is_maildir(dir);
}

MaildirFile mh_file(std::string path, std::string flags) {
    MaildirFile f;
    const std::size_t slash = path.rfind('/');
    f.name = path.substr(slash == std::string::npos ? 0 : slash + 1);
    f.path = std::move(path);
    f.flags = std::move(flags);
    f.seen_dir = f.flags.find('S') != std::string::npos;
    f.mh = true;
    return f;
}

std::optional<std::uint64_t> mh_number(std::string_view name, bool* deleted) {
    const bool del = !name.empty() && (name.front() == ',' || name.front() == '#');
    if (deleted) *deleted = del;
    return number(del ? name.substr(1) : name);
}

MhSequences MhSequences::parse(std::string_view text) {
    MhSequences out;
    // Lines joined where one continues the last (white space first).
    std::vector<std::string> lines;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!lines.empty() && !line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            lines.back().append(" ").append(trim(line));
        } else {
            lines.emplace_back(line);
        }
    }
    for (const std::string& l : lines) {
        const std::size_t colon = l.find(':');
        if (colon == std::string::npos) continue;
        const std::string_view name = trim(std::string_view(l).substr(0, colon));
        if (name.empty()) continue;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
        std::string_view rest = std::string_view(l).substr(colon + 1);
        while (!rest.empty()) {
            const std::size_t sp = rest.find_first_of(" \t");
            const std::string_view word = trim(rest.substr(0, sp));
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
            if (word.empty()) continue;
            const std::size_t dash = word.find('-');
            const auto lo = number(word.substr(0, dash));
            const auto hi = dash == std::string_view::npos ? lo : number(word.substr(dash + 1));
            if (lo && hi && *lo <= *hi) ranges.emplace_back(*lo, *hi);
        }
        // Sorted and merged, so that one range at most can hold a number.
        std::sort(ranges.begin(), ranges.end());
        std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
        for (const auto& r : ranges) {
            if (!merged.empty() && r.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, r.second);
            else merged.push_back(r);
        }
        out.seqs_.emplace_back(to_lower_ascii(name), std::move(merged));
    }
    return out;
}

bool MhSequences::has(std::string_view name) const {
    return std::any_of(seqs_.begin(), seqs_.end(), [&](const auto& s) { return iequals(s.first, name); });
}

bool MhSequences::contains(std::string_view name, std::uint64_t n) const {
    for (const auto& [seq, ranges] : seqs_) {
        if (!iequals(seq, name)) continue;
        // The last range starting at or before n.
        const auto it = std::upper_bound(ranges.begin(), ranges.end(), std::make_pair(n, UINT64_MAX));
        if (it != ranges.begin() && std::prev(it)->second >= n) return true;
    }
    return false;
}

std::string mh_flags(const MhSequences& s, std::uint64_t n, bool deleted, bool read_known) {
    std::string f;
    if (s.contains("flagged", n)) f += 'F';
    if (s.contains("replied", n)) f += 'R';
    if (read_known && !s.contains("unseen", n)) f += 'S';
    if (deleted) f += 'T';
    return f;
}

Status for_each_mh_file(const std::string& dir,
                        const std::function<void(MaildirFile&& file, std::uint64_t number, bool deleted)>& fn) {
    const std::optional<std::string> sequences = read_small_file(dir + "/.mh_sequences");
    const MhSequences seq = MhSequences::parse(sequences.value_or(""));
    return spool_io::for_each_name(dir, [&](const char* name, unsigned char type, int dirfd) {
        bool deleted = false;
        const auto n = mh_number(name, &deleted);
        if (n && spool_io::is_regular(dirfd, name, type))
            fn(mh_file(dir + "/" + name, mh_flags(seq, *n, deleted, sequences.has_value())), *n, deleted);
    });
}

Result<std::vector<MaildirFile>> list_mh(const std::string& dir) {
    std::vector<std::tuple<std::uint64_t, bool, MaildirFile>> files;
    const Status st = for_each_mh_file(dir, [&](MaildirFile&& f, std::uint64_t n, bool deleted) {
        files.emplace_back(n, deleted, std::move(f));
    });
    if (!st) return st.error();
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
        return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a).path) <
               std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b).path);
    });
    std::vector<MaildirFile> out;
    out.reserve(files.size());
    for (auto& f : files) out.push_back(std::move(std::get<2>(f)));
    return out;
}

}  // namespace msg
