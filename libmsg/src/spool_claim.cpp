// spool_claim.cpp - claiming an entry and its transitions: complete, defer,
// fail (docs/spool-format.md, "Claiming an entry").
//
// A claim is an OFD write lock (fcntl F_OFD_SETLK) on the whole entry file,
// held through an fd opened O_RDWR. OFD locks belong to the open file
// description, so two claims conflict even within one process, and the
// kernel drops the lock when the last fd on it closes - also when the
// holder is killed, which is how a dead sender's entry is recovered.
#include <algorithm>
#include <cerrno>
#include <iterator>
#include <string_view>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detail/spool_io.hpp"
#include "msg/datetime.hpp"
#include "msg/digest.hpp"
#include "msg/files.hpp"
#include "msg/header.hpp"
#include "msg/spool.hpp"

namespace msg {
namespace {

using spool_io::join;
using spool_io::sys_error;

// 0 when locked, else errno (EAGAIN or EACCES: another holder).
int lock_whole(int fd) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // to the end, however the file grows
    fl.l_pid = 0;  // required for OFD locks
    while (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        if (errno != EINTR) return errno;
    }
    return 0;
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Remove a leftover of a writer that died, then create `path` afresh: a
// file in tmp/ that a run stopped by SIGINT, SIGTERM or SIGHUP removes
// until the caller says keep_on_signal(path), once it is renamed into place
// or removed.
Result<int> recreate(const std::string& path, std::string_view data) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("remove", path, errno);
    remove_on_signal(path);
    Result<int> fd = spool_io::create_file(path, data, true);
    if (!fd) keep_on_signal(path);
    return fd;
}

// recreate(), and the new file gets the owner, group and mode of the entry
// it replaces (`like`, open): an entry rewritten by another user (root's
// spoolctl retry, say) stays the sender's to claim. Where the owner cannot
// be given (not root), the writer owns it, as it would a new entry.
Result<int> recreate_like(const std::string& path, std::string_view data, int like) {
    Result<int> fd = recreate(path, data);
    if (!fd) return fd;
    // Best effort: the group alone where the owner cannot be given; a
    // failure leaves the writer's, as for a new entry.
    struct stat was {}, now {};
    if (::fstat(like, &was) == 0 && ::fstat(*fd, &now) == 0) {
        if ((was.st_uid != now.st_uid || was.st_gid != now.st_gid) && ::fchown(*fd, was.st_uid, was.st_gid) != 0)
            (void)::fchown(*fd, static_cast<uid_t>(-1), was.st_gid);
        if ((was.st_mode & 07777) != (now.st_mode & 07777)) (void)::fchmod(*fd, was.st_mode & 07777);
    }
    return fd;
}

// The recipients named by a settlement (as written in the entry, or as
// their mailbox), looked up in one step each: an entry may hold tens of
// thousands.
using Named = std::unordered_set<std::string_view>;
Named named(const std::vector<std::string>& pending) { return Named(pending.begin(), pending.end()); }

bool is_pending(const Envelope::Rcpt& r, const Named& pending) {
    if (pending.contains(r.address)) return true;
    const std::string bracketed = "<" + r.address + ">";
    const Path p = parse_path(bracketed, PathKind::forward, true);
    return p.ok && pending.contains(p.mailbox);
}

}  // namespace

Claim::Claim(Claim&& o) noexcept
    : root_(std::move(o.root_)), name_(std::move(o.name_)), dirs_(std::move(o.dirs_)), data_(std::move(o.data_)),
      entry_(std::move(o.entry_)), state_(o.state_), fd_(o.fd_) {
    o.fd_ = -1;
}

Claim& Claim::operator=(Claim&& o) noexcept {
    if (this != &o) {
        spool_io::close_fd(fd_);
        root_ = std::move(o.root_);
        name_ = std::move(o.name_);
        dirs_ = std::move(o.dirs_);
        data_ = std::move(o.data_);
        entry_ = std::move(o.entry_);
        state_ = o.state_;
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Claim::~Claim() { spool_io::close_fd(fd_); }

Status Claim::complete(bool durable) {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    return move_and_end(SpoolState::sent, durable);
}

Status Claim::move_and_end(SpoolState to, bool durable) {
    const SpoolState from = state_;
    const int from_fd = dirs_ ? dirs_->of(from) : -1, to_fd = dirs_ ? dirs_->of(to) : -1;
    const std::string from_dir = join(root_, state_dir(from));
    const std::string to_dir = join(root_, state_dir(to));
    if (Status s = from_fd >= 0 && to_fd >= 0
                       ? spool_io::move_at(from_fd, state_dir(from), to_fd, state_dir(to), name_, root_, true)
                       : spool_io::move(join(from_dir, name_), join(to_dir, name_), false);
        !s)
        return s;
    state_ = to;
    auto sync = [](int fd, const std::string& path) { return fd >= 0 ? spool_io::sync_fd(fd, path) : spool_io::sync_dir(path); };
    Status s = Ok{};
    if (durable) s = sync(to_fd, to_dir);
    if (s && durable) s = sync(from_fd, from_dir);
    spool_io::close_fd(fd_);
    fd_ = -1;
    return s;
}

Status Claim::defer(const std::vector<std::string>& pending, const RetryRecord& record,
                    std::chrono::system_clock::time_point next_attempt) {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    const SpoolEntry& parsed = entry_;
    Envelope env = envelope_of(parsed);
    if (!pending.empty()) {
        const Named names = named(pending);
        std::vector<Envelope::Rcpt> kept;
        for (Envelope::Rcpt& r : env.rcpts)
            if (is_pending(r, names)) kept.push_back(std::move(r));
        if (kept.empty())
            return Error{EINVAL, "none of the pending recipients is a recipient of spool entry " + name_};
        env.rcpts = std::move(kept);
    }
    std::erase_if(env.annotations, [](const auto& a) { return iequals(a.first, "Next-Attempt"); });
    std::string attempt = format_rfc3339(record.when);
    std::string_view what = record.what;  // one line; a reply's CR LF is not part of it
    while (!what.empty() && (what.back() == ' ' || what.back() == '\t' || what.back() == '\r' || what.back() == '\n'))
        what.remove_suffix(1);
    if (!what.empty()) {
        attempt += ' ';
        attempt += what;
    }
    env.annotations.emplace_back("Attempt", std::move(attempt));
    env.annotations.emplace_back("Next-Attempt", format_rfc3339(next_attempt));
    std::string content = format_envelope(env);
    content.append(parsed.message);

    Status s = replace(content);
    if (s && state_ != SpoolState::deferred) return move_and_end(SpoolState::deferred);
    spool_io::close_fd(fd_);
    fd_ = -1;
    return s;
}

Status Claim::replace(const std::string& content) {
    // The new file is locked before it takes the entry's name, so that the
    // claim is never open to another sender while the entry moves on.
    const std::string tmp = join(root_, "tmp", name_);
    Result<int> fd = recreate_like(tmp, content, fd_);
    if (!fd) return fd.error();
    const KeepOnSignalAtExit kept{tmp};   // (the new file locked: no other writer's tmp/ file meanwhile)
    if (const int err = lock_whole(*fd); err != 0) {
        ::unlink(tmp.c_str());
        spool_io::close_fd(*fd);
        return sys_error("lock", tmp, err);
    }
    const std::string cur_dir = join(root_, state_dir(state_));
    const std::string cur = join(cur_dir, name_);
    if (Status s = spool_io::move(tmp, cur, false); !s) {
        ::unlink(tmp.c_str());
        spool_io::close_fd(*fd);
        return s;
    }
    // The entry is the new file now: the claim holds it (data() stays the
    // bytes it was claimed with).
    spool_io::close_fd(fd_);
    fd_ = *fd;
    return spool_io::sync_dir(cur_dir);
}

namespace {

// Write failed/FILE.report, .json and .dsn (those not empty) through tmp/,
// then fsync failed/: what fail() and fail_some() leave beside an entry.
Status write_reports(const std::string& root, const std::string& name, std::string_view report,
                     std::string_view json, std::string_view dsn) {
    const std::string failed_dir = join(root, "failed");
    auto write_one = [&](std::string_view suffix, std::string_view text) -> Status {
        const std::string file = name + std::string(suffix);
        const std::string tmp = join(root, "tmp", file);
        Result<int> fd = recreate(tmp, text);
        if (!fd) return fd.error();
        const KeepOnSignalAtExit kept{tmp};
        spool_io::close_fd(*fd);
        if (Status s = spool_io::move(tmp, join(failed_dir, file), false); !s) {
            ::unlink(tmp.c_str());
            return s;
        }
        return Ok{};
    };
    if (Status s = write_one(".report", report); !s) return s;
    if (!json.empty())
        if (Status s = write_one(".json", json); !s) return s;
    if (!dsn.empty())
        if (Status s = write_one(".dsn", dsn); !s) return s;
    return spool_io::sync_dir(failed_dir);
}

}  // namespace

Status Claim::fail(std::string_view report, std::string_view json, std::string_view dsn) {
    return fail([&](const std::string&) {
        return FailureReports{std::string(report), std::string(json), std::string(dsn)};
    });
}

Status Claim::fail(const ReportsFor& reports) {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    // A name too long for its reports' names gets a shorter one first,
    // where the entry is (still claimed: the lock is the file's): a crash
    // after it leaves a whole entry that fails as any other.
    if (name_.size() > kMaxEntryName)
        if (Status s = shorten_name(); !s) return s;
    // The reports first: an entry in failed/ always has its report beside it.
    const FailureReports r = reports(name_);
    if (Status s = write_reports(root_, name_, r.report, r.json, r.dsn); !s) return s;
    return move_and_end(SpoolState::failed);
}

Status Claim::shorten_name() {
    // Its first bytes (time, pid, sequence, host: its place in the order
    // and its arrival) and a hash of the whole name, which keeps it unique.
    const std::string shorter = name_.substr(0, kMaxEntryName - 17) + "_" + sha256_hex(name_).substr(0, 16);
    const std::string dir = join(root_, state_dir(state_));
    const int dfd = dirs_ ? dirs_->of(state_) : -1;
    if (Status s = dfd >= 0 ? spool_io::move_at(dfd, state_dir(state_), dfd, state_dir(state_), name_, root_, false,
                                                shorter)
                            : spool_io::move(join(dir, name_), join(dir, shorter), true);
        !s)
        return s;
    name_ = shorter;
    return dfd >= 0 ? spool_io::sync_fd(dfd, dir) : spool_io::sync_dir(dir);
}

Result<std::string> Claim::fail_some(const std::vector<std::string>& failed, const ReportsFor& reports) {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    const SpoolEntry& entry = entry_;
    Envelope env = envelope_of(entry);
    // The failed recipients go to the new entry, the others stay in this one.
    const Named names = named(failed);
    const auto others = std::stable_partition(env.rcpts.begin(), env.rcpts.end(),
                                              [&](const Envelope::Rcpt& r) { return is_pending(r, names); });
    if (others == env.rcpts.begin()) return Error{EINVAL, "none of the failed recipients is in spool entry " + name_};
    Envelope rest = env;
    rest.rcpts.assign(std::make_move_iterator(others), std::make_move_iterator(env.rcpts.end()));
    env.rcpts.erase(others, env.rcpts.end());
    env.annotations.emplace_back("Failed-From", name_);
    const std::string name = new_entry_name(entry_key(name_));
    std::string data = format_envelope(env);
    data.append(entry.message);
    const FailureReports r = reports(name);   // (before tmp/ holds a file a throw would leave)
    const std::string tmp = join(root_, "tmp", name);
    remove_on_signal(tmp);   // (a new name: no other writer's file)
    const KeepOnSignalAtExit kept{tmp};
    Result<int> fd = spool_io::create_file(tmp, data, true);
    if (!fd) return fd.error();
    spool_io::close_fd(*fd);
    if (Status s = write_reports(root_, name, r.report, r.json, r.dsn); !s) {
        ::unlink(tmp.c_str());
        return s.error();
    }
    if (Status s = spool_io::move(tmp, join(root_, "failed", name), true); !s) {
        ::unlink(tmp.c_str());
        return s.error();
    }
    if (Status s = spool_io::sync_dir(join(root_, "failed")); !s) return s.error();
    // This entry keeps the others: sent/ or deferred/ will list only them.
    if (!rest.rcpts.empty()) {
        std::string content = format_envelope(rest);
        content.append(entry.message);
        if (Status s = replace(content); !s) return s.error();
    }
    return name;
}

Status Claim::hold() {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    return move_and_end(SpoolState::hold);
}

Status Claim::release() {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    if (state_ != SpoolState::hold) return Error{EINVAL, "spool entry " + name_ + " is not held"};
    return move_and_end(SpoolState::queue);
}

Status Claim::retry_now() {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    if (state_ != SpoolState::deferred) return Error{EINVAL, "spool entry " + name_ + " is not deferred"};
    // Only the Next-Attempt lines go; every other byte stays as it is (an
    // entry that is malformed stays so, and is failed as it would be).
    const std::string& data = *data_;
    std::string content;
    content.reserve(data.size());
    std::size_t kept = 0;
    for (const EnvelopeLine& l : entry_.envelope) {
        if (l.kind != EnvelopeLine::Kind::annotation || !iequals(l.name, "Next-Attempt")) continue;
        const std::size_t eol = data.find('\n', l.offset + l.text.size());
        content.append(data, kept, l.offset - kept);
        kept = eol == std::string::npos ? data.size() : eol + 1;
    }
    content.append(data, kept);
    const std::string tmp = join(root_, "tmp", name_);
    Result<int> fd = recreate_like(tmp, content, fd_);
    if (!fd) return fd.error();
    const std::string dir = join(root_, state_dir(state_));
    Status s = spool_io::move(tmp, join(dir, name_), false);
    if (!s) ::unlink(tmp.c_str());
    // At once: the entry in its place is free to claim, and a sender that
    // claims it may write tmp/NAME again, which is not this run's to remove.
    keep_on_signal(tmp);
    spool_io::close_fd(*fd);
    if (!s) return s;
    spool_io::close_fd(fd_);   // the old file is gone: the claim ends
    fd_ = -1;
    return spool_io::sync_dir(dir);
}

Status Claim::remove() {
    if (fd_ < 0) return Error{EBADF, "the claim on spool entry " + name_ + " has ended"};
    const std::string dir = join(root_, state_dir(state_));
    {
        // A failed entry goes with its reports: a stopping signal waits
        // until both are gone, so that no report is left without its entry.
        const StoppingSignalsHeld held;
        if (::unlink(join(dir, name_).c_str()) != 0) return sys_error("remove", join(dir, name_), errno);
        if (state_ == SpoolState::failed)
            for (const char* suffix : {".report", ".json", ".dsn"}) ::unlink(join(dir, name_ + suffix).c_str());
    }
    spool_io::close_fd(fd_);
    fd_ = -1;
    return spool_io::sync_dir(dir);
}

Result<std::optional<Claim>> Spool::claim(std::string_view name) {
    static constexpr SpoolState sendable[] = {SpoolState::queue, SpoolState::deferred};
    return claim(name, sendable);
}

Result<std::optional<Claim>> Spool::claim(std::string_view name, std::span<const SpoolState> states) {
    if (!spool_io::is_entry_name(name))
        return Error{EINVAL, "invalid spool entry name \"" + std::string(name) + "\""};
    const std::string n(name);
    for (SpoolState s : states) {
        // Relative to the state's directory when the spool could open it.
        const int dir = dirs_ ? dirs_->of(s) : -1;
        const std::string path = join(root_, state_dir(s), name);
        // Only a regular file is an entry (docs/spool-format.md): a link
        // (ELOOP), a directory (EISDIR), a FIFO or a device under an entry's
        // name is none, as for every reader of the spool (O_NONBLOCK: opening
        // one never waits).
        const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
        const int fd = dir >= 0 ? ::openat(dir, n.c_str(), flags) : ::open(path.c_str(), flags);
        if (fd < 0) {
            if (errno == ENOENT || errno == ELOOP || errno == EISDIR) continue;
            return sys_error("open", path, errno);
        }
        if (const int err = lock_whole(fd); err != 0) {
            spool_io::close_fd(fd);
            if (err == EAGAIN || err == EACCES) return std::optional<Claim>();
            return sys_error("lock", path, err);
        }
        // Locked - but the entry may have moved on between open and lock
        // (its holder renamed it and let go): the name must still lead to
        // the file we hold.
        struct stat held {}, now {};
        if (::fstat(fd, &held) != 0) {
            const int err = errno;
            spool_io::close_fd(fd);
            return sys_error("stat", path, err);
        }
        if (!S_ISREG(held.st_mode)) {
            spool_io::close_fd(fd);
            continue;
        }
        if ((dir >= 0 ? ::fstatat(dir, n.c_str(), &now, 0) : ::stat(path.c_str(), &now)) != 0 || !same_file(held, now)) {
            spool_io::close_fd(fd);
            return std::optional<Claim>();
        }
        Result<std::string> data = spool_io::read_all(fd, path, &held);
        if (!data) {
            spool_io::close_fd(fd);
            return data.error();
        }
        Claim c;
        c.root_ = root_;
        c.name_ = n;
        c.dirs_ = dirs_;
        c.data_ = std::make_unique<const std::string>(std::move(*data));
        c.entry_ = parse_spool_entry(*c.data_);
        c.state_ = s;
        c.fd_ = fd;
        return std::optional<Claim>(std::move(c));
    }
    return std::optional<Claim>();
}

}  // namespace msg
