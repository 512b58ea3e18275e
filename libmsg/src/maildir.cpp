// maildir.cpp - reading and writing Maildir folders (maildir.hpp).
#include "msg/maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <utility>
#include <vector>

#include "detail/spool_io.hpp"
#include "msg/files.hpp"
#include "msg/host.hpp"

namespace msg {
namespace {

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::atomic<std::uint32_t> g_seq{0};

std::string host_part() {
    const std::string host = host_name();
    // maildir(5): '/' and ':' cannot be in a name; write them as \057 and \072.
    std::string out;
    for (char h : host) {
        if (h == '/') out += "\\057";
        else if (h == ':') out += "\\072";
        else out += h;
    }
    return out;
}

}  // namespace

bool is_maildir(const std::string& dir) { return is_dir(dir + "/cur") && is_dir(dir + "/new"); }

std::string_view maildir_flags(std::string_view name) {
    const std::size_t info = name.rfind(":2,");
    return info == std::string_view::npos ? std::string_view{} : name.substr(info + 3);
}

namespace {

std::string_view base_name(std::string_view path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The names of a directory's messages (regular files, not hidden), sorted:
// held in one string, each a view into it (no allocation per name, and
// names compared without the directory's path before them).
struct SortedNames {
    std::string bytes;
    std::vector<std::string_view> names;
};

// Whether a name of cur/ or new/ is a message: a regular file, not
// followed through a link, whose name does not start with a dot. The
// directory says what the file is, and only where it does not is the file
// looked at (a stat per file is most of the time of a large Maildir's
// listing, which comes before any message is read).
bool message_name(const char* name, unsigned char type, int dirfd) {
    return name[0] != '.' && spool_io::is_regular(dirfd, name, type);
}

Status read_sorted_names(const std::string& d, SortedNames& out) {
    std::vector<std::pair<std::size_t, std::size_t>> at;   // offset and length in bytes
    const Status st = spool_io::for_each_name(d, [&](const char* name, unsigned char type, int dirfd) {
        if (!message_name(name, type, dirfd)) return;
        const std::size_t n = std::strlen(name);
        at.emplace_back(out.bytes.size(), n);
        out.bytes.append(name, n);
    });
    if (!st) return st;
    out.names.reserve(at.size());
    for (const auto& [off, n] : at) out.names.emplace_back(out.bytes.data() + off, n);
    std::sort(out.names.begin(), out.names.end());
    return Ok{};
}

}  // namespace

Result<std::vector<std::string>> list_maildir_paths(const std::string& dir) {
    const std::string cur_dir = dir + "/cur", new_dir = dir + "/new";
    SortedNames cur, fresh;
    if (Status st = read_sorted_names(new_dir, fresh); !st) return st.error();
    if (Status st = read_sorted_names(cur_dir, cur); !st) return st.error();
    std::vector<std::string> out;
    out.reserve(cur.names.size() + fresh.names.size());
    auto add = [&out](const std::string& d, std::string_view name) {
        std::string& path = out.emplace_back();
        path.reserve(d.size() + 1 + name.size());
        path.append(d).append(1, '/').append(name);
    };
    // The two merged in name order.
    std::size_t i = 0, j = 0;
    while (i < cur.names.size() || j < fresh.names.size()) {
        if (j == fresh.names.size() || (i < cur.names.size() && cur.names[i] <= fresh.names[j])) add(cur_dir, cur.names[i++]);
        else add(new_dir, fresh.names[j++]);
    }
    return out;
}

Status for_each_maildir_path(const std::string& dir, const std::function<void(std::string_view path)>& fn,
                             std::string* failed) {
    std::string path;
    Status first = Ok{};
    for (const char* sub : {"/new", "/cur"}) {
        const std::string d = dir + sub;
        const Status st = spool_io::for_each_name(d, [&](const char* name, unsigned char type, int dirfd) {
            if (!message_name(name, type, dirfd)) return;
            path.assign(d).append(1, '/').append(name);
            fn(path);
        });
        if (!st && first) {
            first = st;
            if (failed) *failed = d;
        }
    }
    return first;
}

std::optional<std::string> maildir_renamed(const std::string& path) {
    const std::string_view name = base_name(path);
    const std::string_view dir = std::string_view(path).substr(0, path.size() - name.size());
    const bool in_maildir = dir == "cur/" || dir == "new/" || dir.ends_with("/cur/") || dir.ends_with("/new/");
    if (name.empty() || !in_maildir) return std::nullopt;
    const std::string_view unique = name.substr(0, name.find(':'));
    const std::string maildir = dir.size() == 4 ? "." : std::string(dir.substr(0, dir.size() - 5));
    std::optional<std::string> found;
    (void)for_each_maildir_path(maildir, [&](std::string_view p) {
        const std::string_view n = base_name(p);
        if (!found && n != name && n.starts_with(unique) && (n.size() == unique.size() || n[unique.size()] == ':'))
            found = p;
    });
    return found;
}

MaildirFile maildir_file(std::string path) {
    MaildirFile f;
    const std::string_view name = base_name(path);
    f.name = name;
    f.flags = maildir_flags(name);
    const std::string_view dir = std::string_view(path).substr(0, path.size() - name.size());
    f.seen_dir = dir == "cur/" || dir.ends_with("/cur/");
    f.path = std::move(path);
    return f;
}

Result<std::vector<MaildirFile>> list_maildir(const std::string& dir) {
    auto paths = list_maildir_paths(dir);
    if (!paths) return paths.error();
    std::vector<MaildirFile> out;
    out.reserve(paths->size());
    for (std::string& p : *paths) out.push_back(maildir_file(std::move(p)));
    return out;
}

Result<MaildirWriter> MaildirWriter::open(const std::string& dir) {
    for (const std::string& d : {dir, dir + "/tmp", dir + "/new", dir + "/cur"})
        if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return spool_io::sys_error("create directory", d, errno);
    if (!is_maildir(dir)) return Error{ENOTDIR, dir + " is not a Maildir (no cur/ and new/ directories)"};
    MaildirWriter w;
    w.dir_ = dir;
    return w;
}

Result<std::string> MaildirWriter::deliver(std::string_view message, std::string_view flags, bool seen) {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    static const std::string host = host_part();
    char unique[96];
    std::snprintf(unique, sizeof unique, "%lld.M%06ldP%ldQ%u.", static_cast<long long>(ts.tv_sec), ts.tv_nsec / 1000,
                  static_cast<long>(::getpid()), g_seq.fetch_add(1) + 1);
    const std::string name = unique + host;
    const std::string tmp = dir_ + "/tmp/" + name;
    // Not left in tmp/ by a run stopped meanwhile (SIGINT, SIGTERM, SIGHUP).
    remove_on_signal(tmp);
    const KeepOnSignalAtExit keep{tmp};
    Result<int> fd = spool_io::create_file(tmp, message, true, 0600);
    if (!fd) return fd.error();
    ::close(*fd);
    // Flags are ASCII letters (upper case the standard ones, lower case a
    // reader's keywords): anything else, which a spool entry from elsewhere
    // may hold ('/', a NUL), is no flag and goes no further into a name.
    std::string sorted;
    for (const char c : flags)
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) sorted.push_back(c);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    const std::string target =
        sorted.empty() && !seen ? dir_ + "/new/" + name : dir_ + "/cur/" + name + ":2," + sorted;
    if (Status s = spool_io::move(tmp, target, true); !s) {
        ::unlink(tmp.c_str());
        return s.error();
    }
    if (Status s = spool_io::sync_dir(target.substr(0, target.rfind('/'))); !s) return s.error();
    return target;
}

}  // namespace msg
