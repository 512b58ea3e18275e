// files.cpp - safe names and atomic, non-clobbering writes.
#include "msg/files.hpp"

#include "msg/charset.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace msg {

namespace {

Status write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            return Error{e, std::string("cannot write: ") + std::strerror(e)};
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return Ok{};
}

// --- temporary files removed on a stopping signal ---------------------------------------
//
// A fixed table the handler can walk without allocating or locking: each
// slot holds a path in a buffer of its own, never freed, a flag saying
// whether it is in use, the process that filled it, and a sequence number
// that is odd while the path is being written (a seqlock). Threads take a
// mutex to fill or free a slot; the handler copies the path of each slot
// in use and removes the copy only when the number was even and unchanged
// around the copy and the slot is this process's (not a parent's, after a
// fork): a slot filled again while the handler reads it on another thread
// is skipped, never read as a mix of two names. Beyond kSlots temporaries
// at once, the others are not removed (a tool has one or two at a time).

constexpr std::size_t kSlots = 64;
constexpr std::size_t kPathRoom = 4096;
struct TempSlot {
    std::atomic<bool> used{false};
    std::atomic<unsigned> seq{0};
    std::atomic<pid_t> pid{0};
    char path[kPathRoom]{};
};
// Constant-initialised: zero pages no process touches before it needs them
// (built at start-up, the table's 256 KB took 64 page faults in every run).
constinit TempSlot g_temps[kSlots];
std::mutex g_temps_mutex;
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

void remove_temps() noexcept {
    const pid_t me = ::getpid();
    char copy[kPathRoom];
    for (TempSlot& slot : g_temps) {
        if (!slot.used.load(std::memory_order_acquire)) continue;
        const unsigned before = slot.seq.load(std::memory_order_acquire);
        if (before % 2 != 0) continue;
        std::memcpy(copy, slot.path, kPathRoom);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (slot.seq.load(std::memory_order_relaxed) != before || slot.pid.load(std::memory_order_relaxed) != me)
            continue;
        copy[kPathRoom - 1] = '\0';
        ::unlink(copy);
    }
}

extern "C" void remove_temps_and_stop(int sig) {
    remove_temps();
    // End as the signal would have: default action, raised again.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

// Install the handler for each stopping signal whose action is still the default.
void install_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        for (int sig : kStopSignals) {
            struct sigaction old {};
            if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;
            struct sigaction sa {};
            sa.sa_handler = remove_temps_and_stop;
            ::sigemptyset(&sa.sa_mask);
            for (int other : kStopSignals) ::sigaddset(&sa.sa_mask, other);
            ::sigaction(sig, &sa, nullptr);
        }
    });
}

void register_temp(const std::string& path) {
    install_handlers();
    if (path.size() >= kPathRoom) return;
    std::lock_guard<std::mutex> lock(g_temps_mutex);
    for (TempSlot& slot : g_temps)
        if (!slot.used.load(std::memory_order_relaxed)) {
            slot.seq.fetch_add(1, std::memory_order_relaxed);   // odd: being written
            std::atomic_thread_fence(std::memory_order_release);
            std::memcpy(slot.path, path.c_str(), path.size() + 1);
            slot.pid.store(::getpid(), std::memory_order_relaxed);
            slot.seq.fetch_add(1, std::memory_order_release);   // even: whole
            slot.used.store(true, std::memory_order_release);
            return;
        }
}

void release_temp(const std::string& path) {
    std::lock_guard<std::mutex> lock(g_temps_mutex);
    for (TempSlot& slot : g_temps)
        if (slot.used.load(std::memory_order_relaxed) && path == slot.path) {
            slot.used.store(false, std::memory_order_release);
            return;
        }
}

}  // namespace

void discard_all_temps() noexcept { remove_temps(); }

void remove_on_signal(const std::string& path) { register_temp(path); }

void keep_on_signal(const std::string& path) { release_temp(path); }

StoppingSignalsHeld::StoppingSignalsHeld() {
    sigset_t stop;
    ::sigemptyset(&stop);
    for (int sig : kStopSignals) ::sigaddset(&stop, sig);
    ::pthread_sigmask(SIG_BLOCK, &stop, &before_);
}

StoppingSignalsHeld::~StoppingSignalsHeld() { ::pthread_sigmask(SIG_SETMASK, &before_, nullptr); }

std::string safe_filename(std::string_view wanted) {
    std::size_t cut = wanted.find_last_of("/\\");
    if (cut != std::string_view::npos) wanted.remove_prefix(cut + 1);
    std::string out;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        // Controls (C0, DEL, C1) and what reorders or breaks the name
        // where it is shown (bidirectional overrides, U+2028): one '_' each.
        if (const std::size_t n = unsafe_char_length(wanted, i)) {
            out.push_back('_');
            i += n - 1;
            continue;
        }
        out.push_back(wanted[i] == ':' ? '_' : wanted[i]);
    }
    std::size_t b = out.find_first_not_of(". ");
    out.erase(0, b == std::string::npos ? out.size() : b);
    while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
    if (out.size() > 200) {
        std::size_t n = 200;
        while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
        out.resize(n);
    }
    return out;
}

namespace {

std::string numbered(const std::string& name, std::uint64_t k) {
    if (k == 0) return name;
    std::size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0)
        return name + "-" + std::to_string(k);
    return name.substr(0, dot) + "-" + std::to_string(k) + name.substr(dot);
}

}  // namespace

NewFiles::~NewFiles() {
    discard();
    if (dfd_ >= 0) ::close(dfd_);
}

namespace {
std::string temp_name() { return ".msgtools-" + std::to_string(getpid()) + ".tmp"; }
}  // namespace

void NewFiles::discard() {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    ::unlinkat(dfd_, temp_name().c_str(), 0);
    release_temp(tmp_);
}

Status NewFiles::open() {
    discard();
    failed_.reset();
    if (dfd_ < 0) {
        // The directory itself may be a link: followed only where the
        // kernel's protected_symlinks rule would (write_target), never one
        // another user planted in a shared directory such as /tmp.
        std::string dir = dir_;
        while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
        Result<std::string> target = write_target(dir);
        if (!target) return target.error();
        if ((dfd_ = ::open(target->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            const int e = errno;
            return Error{e, "cannot open directory " + dir_ + ": " + std::strerror(e)};
        }
        tmp_ = *target + "/" + temp_name();
    }
    const std::string tmp = temp_name();
    // A run stopped while a file is written leaves no half of it.
    register_temp(tmp_);
    fd_ = ::openat(dfd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        const int e = errno;
        release_temp(tmp_);
        return Error{e, "cannot create " + dir_ + "/" + tmp + ": " + std::strerror(e)};
    }
    return Ok{};
}

void NewFiles::put(std::string_view data) {
    if (fd_ < 0 || failed_) return;
    if (Status w = write_all(fd_, data); !w) failed_ = w.error();
}

Result<std::string> NewFiles::close(const std::string& name) {
    if (fd_ < 0) return Error{EBADF, dir_ + "/" + name + ": no file open"};
    if (::close(std::exchange(fd_, -1)) != 0 && !failed_)
        failed_ = Error{errno, std::string("cannot write: ") + std::strerror(errno)};
    const std::string tmp = temp_name();
    const KeepOnSignalAtExit release{tmp_};
    if (failed_) {
        ::unlinkat(dfd_, tmp.c_str(), 0);
        return Error{failed_->errnum, dir_ + "/" + name + ": " + failed_->message};
    }
    for (std::uint64_t& k = next_[name];; ++k) {
        std::string candidate = numbered(name, k);
        if (::renameat2(dfd_, tmp.c_str(), dfd_, candidate.c_str(), RENAME_NOREPLACE) == 0) {
            ++k;
            return candidate;
        }
        if (errno != EEXIST) break;
    }
    const int e = errno;
    ::unlinkat(dfd_, tmp.c_str(), 0);
    return Error{e, "cannot create " + dir_ + "/" + name + ": " + std::strerror(e)};
}

Result<std::string> NewFiles::write(const std::string& name, std::string_view data) {
    if (Status o = open(); !o) return o.error();
    put(data);
    return close(name);
}

Status NewFiles::sync() {
    if (dfd_ >= 0 && ::syncfs(dfd_) != 0) {
        const int e = errno;
        return Error{e, "cannot sync " + dir_ + ": " + std::strerror(e)};
    }
    return Ok{};
}

Result<std::string> write_target(const std::string& path) {
    struct stat link {};
    if (::lstat(path.c_str(), &link) != 0 || !S_ISLNK(link.st_mode)) return path;
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    struct stat d {};
    if (::stat(dir.c_str(), &d) != 0) {
        const int e = errno;
        return Error{e, "cannot check " + dir + ": " + std::strerror(e)};
    }
    const uid_t me = ::geteuid();
    const bool trusted = link.st_uid == me || (d.st_uid == me && !(d.st_mode & S_ISVTX));
    if (!trusted)
        return Error{EPERM, "refusing to write through " + path + ": a symbolic link of another user (uid " +
                                     std::to_string(link.st_uid) + ") in a directory that is not yours alone"};
    char* real = ::realpath(path.c_str(), nullptr);
    if (!real) return path;   // a dangling link: writing creates the name itself, never the target
    std::string out(real);
    std::free(real);
    return out;
}

Status check_replaceable(const std::string& path, bool force) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Ok{};
    if (!S_ISREG(st.st_mode))
        return Error{EINVAL, path + " is not a regular file (a pipe or a device): it cannot be replaced"};
    if (force || st.st_nlink <= 1) return Ok{};
    return Error{EMLINK, path + " has " + std::to_string(st.st_nlink) +
                                  " hard links; replacing it would leave the others as they were (--force to do it anyway)"};
}

std::string temp_beside(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    return dir + "." + base + "." + std::to_string(::getpid()) + ".tmp";
}

bool written_in_place(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

Result<std::string> make_temp_beside(const std::string& path) {
    if (written_in_place(path)) return path;
    const std::string tmp = temp_beside(path);
    const int fd = create_temp(tmp, path);
    if (fd < 0) {
        const int e = errno;
        return Error{e, "cannot create " + tmp + ": " + std::strerror(e)};
    }
    ::close(fd);
    return tmp;
}

void discard_temp(const std::string& tmp) {
    if (!written_in_place(tmp)) ::unlink(tmp.c_str());
    release_temp(tmp);
}

Status commit_file(const std::string& tmp, const std::string& path) {
    if (tmp == path && written_in_place(path)) return Ok{};   // written where it is (make_temp_beside)
    struct Release {
        const std::string& tmp;
        ~Release() { release_temp(tmp); }
    } release{tmp};
    auto fail = [&](const std::string& what) -> Status {
        const int e = errno;
        ::unlink(tmp.c_str());
        return Error{e, what + ": " + std::strerror(e)};
    };
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + tmp);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        (void)::fchown(fd, st.st_uid, st.st_gid);  // allowed for root, or for a group of ours
        (void)::fchmod(fd, st.st_mode & 07777);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        return fail("cannot write " + tmp);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename " + tmp + " to " + path);
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
    return Ok{};
}

int create_temp(const std::string& tmp, const std::string& path) {
    // Never readable by more than the file it replaces, not even while written.
    struct stat st {};
    const mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0666) : 0600;
    ::unlink(tmp.c_str());
    // Registered before it exists, so that no signal finds it unregistered.
    register_temp(tmp);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        const int e = errno;
        release_temp(tmp);
        errno = e;
    }
    return fd;
}

Status replace_file(const std::string& path_given, std::string_view data) {
    const auto target = write_target(path_given);
    if (!target) return target.error();
    const std::string& path = *target;
    if (written_in_place(path)) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            const int e = errno;
            return Error{e, "cannot open " + path + ": " + std::strerror(e)};
        }
        Status w = write_all(fd, data);
        if (::close(fd) != 0 && w) w = Error{errno, std::string("cannot write: ") + std::strerror(errno)};
        if (!w) return Error{w.error().errnum, path + ": " + w.error().message};
        return Ok{};
    }
    const std::string tmp = temp_beside(path);
    const int fd = create_temp(tmp, path);
    if (fd < 0) {
        const int e = errno;
        return Error{e, "cannot create " + tmp + ": " + std::strerror(e)};
    }
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            discard_temp(tmp);
            return Error{e, "cannot write " + tmp + ": " + std::strerror(e)};
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        const int e = errno;
        discard_temp(tmp);
        return Error{e, "cannot write " + tmp + ": " + std::strerror(e)};
    }
    return commit_file(tmp, path);
}


Result<std::string> read_regular_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        return Error{e, "cannot read " + path + ": " + std::strerror(e)};
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        ::close(fd);
        return Error{e, "cannot read " + path + ": " + (e == EISDIR ? "it is a directory" : "not a regular file")};
    }
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            return Error{e, "cannot read " + path + ": " + std::strerror(e)};
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace msg
