// spool_io.cpp - POSIX file helpers for the spool directory (detail/spool_io.hpp).
#include "detail/spool_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace msg::spool_io {

Error sys_error(std::string_view what, const std::string& path, int err) {
    std::string m = "cannot ";
    m += what;
    m += ' ';
    m += path;
    m += ": ";
    // Memory running out is said as such: a file larger than this process
    // may hold (a ulimit -v), not a fault of the file.
    if (err == ENOMEM) m += "out of memory (";
    m += std::strerror(err);
    if (err == ENOMEM) m += ')';
    return Error{err, std::move(m)};
}

Status for_each_name(const std::string& dir, const std::function<void(const char* name, unsigned char type, int dirfd)>& fn) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return sys_error("open directory", dir, errno);
    for (;;) {
        errno = 0;
        const dirent* e = ::readdir(d);
        if (!e) {
            const int err = errno;
            ::closedir(d);
            if (err != 0) return sys_error("read directory", dir, err);
            return Ok{};
        }
        const char* n = e->d_name;
        if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
        fn(n, e->d_type, ::dirfd(d));
    }
}

bool is_regular(int dirfd, const char* name, unsigned char type) {
    if (type != DT_UNKNOWN) return type == DT_REG;
    struct stat st {};
    return ::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

std::string join(const std::string& root, std::string_view dir, std::string_view name) {
    std::string p = root;
    if (p.empty() || p.back() != '/') p += '/';
    p += dir;
    if (!name.empty()) {
        p += '/';
        p += name;
    }
    return p;
}

namespace {

std::atomic<bool> named_temporary{false};

}  // namespace

int temporary_file(const std::string& root) {
    const bool unnamed = !named_temporary.load();
    if (unnamed && !root.empty())
        if (const int f = ::open(join(root, "tmp").c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600); f >= 0) return f;
    const std::string dir = temporary_dir();
    if (unnamed)
        if (const int f = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
            f >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
            return f;
    // A file system without O_TMPFILE (overlayfs before Linux 6.6, NFS):
    // a file made under a name of its own, mode 0600, and unlinked at once.
    std::string path = join(dir, "msgtools.XXXXXX");
    const int f = ::mkostemp(path.data(), O_CLOEXEC);
    if (f < 0) return -1;
    if (::unlink(path.c_str()) != 0) {
        close_fd(f);
        return -1;
    }
    return f;
}

void force_named_temporary(bool named) { named_temporary = named; }

std::string temporary_dir() {
    const char* dir = std::getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("write", path, errno);
        }
        if (n == 0) return sys_error("write", path, EIO);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return Ok{};
}

Status write_all(int fd, std::string_view head, std::string_view body, const std::string& path) {
    while (!head.empty()) {
        struct iovec v[2] = {{const_cast<char*>(head.data()), head.size()},
                             {const_cast<char*>(body.data()), body.size()}};
        const ssize_t n = ::writev(fd, v, body.empty() ? 1 : 2);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("write", path, errno);
        }
        if (n == 0) return sys_error("write", path, EIO);
        auto done = static_cast<std::size_t>(n);
        if (done >= head.size()) {
            body.remove_prefix(done - head.size());
            head = {};
        } else {
            head.remove_prefix(done);
        }
    }
    return write_all(fd, body, path);
}

Result<std::string> read_all(int fd, const std::string& path, const struct stat* known) {
    struct stat st {};
    if (!known) {
        if (::fstat(fd, &st) != 0) return sys_error("stat", path, errno);
        known = &st;
    }
    // One byte more than the file's size: a short read then means the end
    // of the file, without a second call to find it.
    std::string out;
    std::size_t at = 0;
    try {
        out.resize(static_cast<std::size_t>(std::max<off_t>(known->st_size, 0)) + 1);
        for (;;) {
            const ssize_t n = ::pread(fd, out.data() + at, out.size() - at, static_cast<off_t>(at));
            if (n < 0) {
                if (errno == EINTR) continue;
                return sys_error("read", path, errno);
            }
            at += static_cast<std::size_t>(n);
            if (at < out.size()) break;          // short read: the end
            out.resize(out.size() * 2);          // the file grew since fstat
        }
    } catch (const std::bad_alloc&) {   // larger than this process may hold
        return sys_error("read", path, ENOMEM);
    }
    out.resize(at);
    return out;
}

Status sync_fd(int fd, const std::string& path) {
    while (::fsync(fd) != 0) {
        if (errno != EINTR) return sys_error("fsync", path, errno);
    }
    return Ok{};
}

Status sync_dir(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error("open directory", path, errno);
    Status s = sync_fd(fd, path);
    close_fd(fd);
    return s;
}

void close_fd(int fd) noexcept {
    if (fd < 0) return;
    const int saved = errno;
    ::close(fd);  // on Linux the fd is released even when close reports EINTR
    errno = saved;
}

namespace {

// A new file `name` in `dir` (never an existing one, never through a link)
// holding head and body. On failure nothing is left: -1, with `err` and
// `step` ("create" or "write") set.
int create_exclusive(int dir, const char* name, std::string_view head, std::string_view body, mode_t mode,
                     int& err, const char*& step) {
    step = "create";
    const int fd = ::openat(dir, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        err = errno;
        return -1;
    }
    if (Status s = write_all(fd, head, body, {}); !s) {
        step = "write";
        err = s.error().errnum;
        ::unlinkat(dir, name, 0);
        close_fd(fd);
        return -1;
    }
    return fd;
}

}  // namespace

Result<int> create_file(const std::string& path, std::string_view data, bool sync, mode_t mode) {
    int err = 0;
    const char* step = nullptr;
    const int fd = create_exclusive(AT_FDCWD, path.c_str(), data, {}, mode, err, step);
    if (fd < 0) return sys_error(step, path, err);
    if (sync)
        if (Status s = sync_fd(fd, path); !s) {
            ::unlink(path.c_str());
            close_fd(fd);
            return s.error();
        }
    return fd;
}

Result<int> create_at(int dir, std::string_view name, std::string_view head, std::string_view body,
                      const std::string& root, std::string_view dir_name, mode_t mode) {
    const std::string n(name);
    int err = 0;
    const char* step = nullptr;
    const int fd = create_exclusive(dir, n.c_str(), head, body, mode, err, step);
    if (fd < 0) return sys_error(step, join(root, dir_name, name), err);
    return fd;
}

namespace {

// renameat2(RENAME_NOREPLACE), or, where the file system cannot refuse to
// replace in one step, link() (which refuses an existing name) and
// unlink(): the tmp/ name a crash in between leaves is invisible to
// senders and removed by clean_tmp. 0, or the errno of the call named in
// `step` ("rename", "link" or "remove").
int rename_no_replace(int from_dir, const char* from, int to_dir, const char* to, const char*& step) {
    step = "rename";
    if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    step = "link";
    if (::linkat(from_dir, from, to_dir, to, 0) != 0) return errno;
    step = "remove";
    if (::unlinkat(from_dir, from, 0) != 0) return errno;
    return 0;
}

// The error of a failed rename_no_replace or rename: "cannot rename FROM
// to TO: ...", "cannot remove FROM: ...".
Error move_error(std::string_view step, const std::string& from, const std::string& to, int err) {
    if (step == "remove") return sys_error(step, from, err);
    return sys_error(std::string(step) + " " + from + " to", to, err);
}

}  // namespace

Status move_at(int from, std::string_view from_name, int to, std::string_view to_name, std::string_view name,
               const std::string& root, bool replace, std::string_view new_name) {
    const std::string n(name), m(new_name.empty() ? name : new_name);
    const char* step = "rename";
    const int err = replace ? (::renameat(from, n.c_str(), to, m.c_str()) == 0 ? 0 : errno)
                            : rename_no_replace(from, n.c_str(), to, m.c_str(), step);
    if (err) return move_error(step, join(root, from_name, name), join(root, to_name, m), err);
    return Ok{};
}

Result<int> create_unnamed(int dir, std::string_view head, std::string_view body, const std::string& root,
                           std::string_view dir_name, mode_t mode) {
    const int fd = ::openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    if (fd < 0) return sys_error("create a file in", join(root, dir_name), errno);
    if (Status s = write_all(fd, head, body, {}); !s) {
        close_fd(fd);
        return sys_error("write a new file in", join(root, dir_name), s.error().errnum);
    }
    return fd;
}

namespace {

// linkat() of an unnamed file: 0 or -1 with errno.
int link_fd(int fd, EntryFile how, int to, const char* name) {
    if (how == EntryFile::linked) return ::linkat(fd, "", to, name, AT_EMPTY_PATH);
    if (how != EntryFile::linked_by_proc) {
        errno = EINVAL;
        return -1;
    }
    char path[32];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return ::linkat(AT_FDCWD, path, to, name, AT_SYMLINK_FOLLOW);
}

std::atomic<EntryFile> forced{EntryFile::unknown};

// The first way the system allows, tried in `tmp`.
EntryFile probe(int tmp) {
    if (EntryFile f = forced.load(); f != EntryFile::unknown) return f;
    if (tmp < 0) return EntryFile::named;
    const int fd = ::openat(tmp, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return EntryFile::named;   // EOPNOTSUPP, EISDIR (an older kernel), ...
    static std::atomic<unsigned> seq{0};
    char name[64];
    std::snprintf(name, sizeof name, ".link-probe.%ld.%u", static_cast<long>(::getpid()), seq++);
    EntryFile how = EntryFile::named;
    for (EntryFile f : {EntryFile::linked, EntryFile::linked_by_proc})
        if (link_fd(fd, f, tmp, name) == 0) {
            how = f;
            ::unlinkat(tmp, name, 0);
            break;
        }
    close_fd(fd);
    return how;
}

}  // namespace

Status link_unnamed(int fd, EntryFile how, int to, std::string_view to_name, const std::string& name,
                    const std::string& root) {
    if (link_fd(fd, how, to, name.c_str()) != 0) return sys_error("link a new file to", join(root, to_name, name), errno);
    return Ok{};
}

void force_entry_file(EntryFile how) { forced = how; }

EntryFile Dirs::entry_file() const {
    EntryFile how = entry_file_.load(std::memory_order_relaxed);
    if (how != EntryFile::unknown) return how;
    // Two threads may both try; the first answer stays (each entry keeps
    // the way it was made, in any case).
    EntryFile tried = probe(tmp());
    if (entry_file_.compare_exchange_strong(how, tried, std::memory_order_relaxed)) return tried;
    return how;
}

Dirs::~Dirs() {
    for (int f : fd) close_fd(f);
}

std::shared_ptr<const Dirs> Dirs::open(const std::string& root) {
    auto d = std::make_shared<Dirs>();
    auto one = [&](int i, std::string_view dir) {
        d->fd[i] = ::open(join(root, dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d->error[i] = d->fd[i] < 0 ? errno : 0;
    };
    for (SpoolState s : kAllStates) one(static_cast<int>(s), state_dir(s));
    one(kTmp, "tmp");
    return d;
}

Status move(const std::string& from, const std::string& to, bool no_replace) {
    const char* step = "rename";
    const int err = !no_replace ? (::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno)
                                : rename_no_replace(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), step);
    if (err) return move_error(step, from, to, err);
    return Ok{};
}

bool is_entry_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255 || name.front() == '.') return false;
    if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) return false;
    auto ends = [&](std::string_view suffix) {
        return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
    };
    return !ends(".report") && !ends(".json") && !ends(".dsn");
}

}  // namespace msg::spool_io
