// spool_dir.cpp - the spool directory: open, enqueue (group commit), scan
// (docs/spool-format.md, "States" and "Writing entries from another program").
#include <algorithm>
#include <iterator>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detail/spool_io.hpp"
#include "detail/sorted_runs.hpp"
#include "msg/spool.hpp"

namespace msg {
namespace {

using spool_io::join;
using spool_io::sys_error;

constexpr std::array<std::string_view, 6> kDirs = {"tmp", "queue", "deferred", "sent", "failed", "hold"};
constexpr std::array<SpoolState, 5> kStates = {SpoolState::queue, SpoolState::deferred, SpoolState::hold,
                                               SpoolState::sent, SpoolState::failed};

// Whether a name a state directory's listing gave is an entry: an entry's
// name, of a regular file (the listing's type says so, else it is looked
// at, not followed through a link).
bool listed_entry(const char* name, unsigned char type, int dirfd) {
    return spool_io::is_entry_name(name) && spool_io::is_regular(dirfd, name, type);
}

// Whether root/STATE/name is a regular file (an entry), not followed through a link.
bool entry_in(const std::string& root, SpoolState s, std::string_view name) {
    struct stat st {};
    return ::lstat(join(root, state_dir(s), name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// mkdir that accepts an existing directory.
Status make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0770) == 0) return Ok{};
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Ok{};
    return sys_error("create directory", path, err == EEXIST ? ENOTDIR : err);
}

// mkdir -p
Status make_dirs(const std::string& path) {
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i != path.size() && path[i] != '/') continue;
        if (path[i - 1] == '/') continue;
        if (Status s = make_dir(path.substr(0, i)); !s) return s;
    }
    return Ok{};
}

Status invalid_name(std::string_view name) {
    return Error{EINVAL, "invalid spool entry name \"" + std::string(name) + "\""};
}

}  // namespace

Result<Spool> Spool::open(const std::string& path, bool create) {
    if (path.empty()) return Error{EINVAL, "cannot open spool: empty path"};
    Spool s;
    s.root_ = path;
    while (s.root_.size() > 1 && s.root_.back() == '/') s.root_.pop_back();
    if (create) {
        if (Status st = make_dirs(s.root_); !st) return st.error();
        for (std::string_view d : kDirs)
            if (Status st = make_dir(join(s.root_, d)); !st) return st.error();
        if (Status st = spool_io::sync_dir(s.root_); !st) return st.error();
    } else {
        // A spool is a directory with queue/. State directories another
        // writer did not make (docs/spool-format.md asks only for tmp/ and
        // queue/ to write entries) are made, with the spool's own mode.
        struct stat root {}, queue {};
        if (::stat(s.root_.c_str(), &root) != 0) return sys_error("open spool", s.root_, errno);
        if (!S_ISDIR(root.st_mode)) return sys_error("open spool", s.root_, ENOTDIR);
        const std::string q = join(s.root_, "queue");
        if (::stat(q.c_str(), &queue) != 0) return sys_error("open spool directory", q, errno);
        bool made = false;
        for (std::string_view d : kDirs) {
            const std::string p = join(s.root_, d);
            if (::mkdir(p.c_str(), root.st_mode & 07777) == 0) {
                ::chmod(p.c_str(), root.st_mode & 07777);   // the umask may have narrowed it
                made = true;
            } else if (errno != EEXIST) {
                return sys_error("create directory", p, errno);
            }
        }
        if (made)
            if (Status st = spool_io::sync_dir(s.root_); !st) return st.error();
    }
    for (std::string_view d : kDirs) {
        const std::string p = join(s.root_, d);
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) return sys_error("open spool directory", p, errno);
        if (!S_ISDIR(st.st_mode)) return sys_error("open spool directory", p, ENOTDIR);
    }
    s.dirs_ = spool_io::Dirs::open(s.root_);
    return s;
}

Result<std::string> Spool::enqueue(const Envelope& env, std::string_view message, std::string name) {
    Batch b(*this);
    Result<std::string> r = b.add(env, message, std::move(name));
    if (!r) return r;
    if (Status s = b.commit(); !s) return s.error();
    return r;
}

Result<std::string> Spool::Batch::add(const Envelope& env, std::string_view message, std::string name) {
    if (name.empty()) return create(format_envelope(env), message, new_entry_name());
    if (!spool_io::is_entry_name(name)) return invalid_name(name).error();
    // A caller-chosen name must be new in every state, not only in tmp/.
    if (std::optional<SpoolState> st = spool_.find(name))
        return Error{EEXIST, "cannot create spool entry " + join(spool_.root_, state_dir(*st), name) + ": File exists"};
    return create(format_envelope(env), message, std::move(name), true);
}

Result<std::string> Spool::Batch::add_keyed(const Envelope& env, std::string_view message, std::string_view key) {
    return create(format_envelope(env), message, new_entry_name(key));
}

Result<std::string> Spool::Batch::create(std::string_view head, std::string_view message, std::string name,
                                         bool chosen) {
    // Each entry is created, moved and synced relative to the spool's
    // tmp/ and queue/, opened once (spool_io::Dirs).
    const spool_io::Dirs& d = *spool_.dirs_;
    if (tmp() < 0) return sys_error("open directory", join(spool_.root_, "tmp"), d.error[spool_io::Dirs::kTmp]);
    if (queue() < 0)
        return sys_error("open directory", join(spool_.root_, "queue"), d.error[static_cast<int>(SpoolState::queue)]);
    const spool_io::EntryFile how = chosen ? spool_io::EntryFile::named : d.entry_file();
    Result<int> fd = how == spool_io::EntryFile::named
                         ? spool_io::create_at(tmp(), name, head, message, spool_.root_, "tmp")
                         : spool_io::create_unnamed(tmp(), head, message, spool_.root_, "tmp");
    if (!fd) return fd.error();
    pending_.push_back({name, *fd, static_cast<int>(how)});
    return name;
}

Status Spool::Batch::commit() { return commit(nullptr); }

Status Spool::Batch::commit(std::vector<int>* open) {
    if (pending_.empty()) return Ok{};
    // Make every added file durable. For a group, one syncfs() of the file
    // system commits them all at once (one journal commit instead of one
    // per file: the group commit); it also flushes other dirty data of that
    // file system, which is the price. A single entry, or a failing
    // syncfs(), gets an fsync() per file.
    bool synced = false;
#if defined(__linux__)
    if (pending_.size() > 1) synced = ::syncfs(pending_.front().fd) == 0;
#endif
    if (!synced)
        for (const Pending& p : pending_)
            if (Status s = spool_io::sync_fd(p.fd, p.how == static_cast<int>(spool_io::EntryFile::named)
                                                       ? join(spool_.root_, "tmp", p.name)
                                                       : join(spool_.root_, "queue", p.name) + " (not linked yet)");
                !s)
                return s;
    std::size_t done = 0;
    Status result = Ok{};
    for (; done < pending_.size(); ++done) {
        const Pending& p = pending_[done];
        const auto how = static_cast<spool_io::EntryFile>(p.how);
        result = how == spool_io::EntryFile::named
                     ? spool_io::move_at(tmp(), "tmp", queue(), "queue", p.name, spool_.root_)
                     : spool_io::link_unnamed(p.fd, how, queue(), "queue", p.name, spool_.root_);
        if (!result) break;
    }
    if (done > 0) {
        if (Status s = spool_io::sync_fd(queue(), join(spool_.root_, "queue")); !s) {
            // Linked, but not known to be durable: taken out again, so that
            // an entry is in queue/ exactly when commit() says so (a server
            // answers 451 for it, and must not have it delivered too). They
            // stay pending, for abandon() to close.
            for (std::size_t i = 0; i < done; ++i) ::unlinkat(queue(), pending_[i].name.c_str(), 0);
            done = 0;
            if (result) result = s;
        }
    }
    for (std::size_t i = 0; i < done; ++i) {
        if (open) open->push_back(pending_[i].fd);
        else spool_io::close_fd(pending_[i].fd);
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    return result;
}

void Spool::Batch::abandon() {
    for (const Pending& p : pending_) {
        if (p.how == static_cast<int>(spool_io::EntryFile::named)) ::unlinkat(tmp(), p.name.c_str(), 0);
        spool_io::close_fd(p.fd);   // (an unnamed file is gone with it)
    }
    pending_.clear();
}

Spool::Batch::~Batch() {
    abandon();
}

int Spool::Batch::tmp() const { return spool_.dirs_->tmp(); }
int Spool::Batch::queue() const { return spool_.dirs_->of(SpoolState::queue); }

Result<std::vector<std::string>> Spool::list(SpoolState s) const { return list(s, {}, SIZE_MAX); }

Result<std::vector<std::string>> Spool::list(SpoolState s, std::string_view after, std::size_t max) const {
    if (max == 0) return std::vector<std::string>();
    const std::string dir = join(root_, state_dir(s));
    std::vector<std::string> names;
    const Status st = spool_io::for_each_name(dir, [&](const char* name, unsigned char type, int dirfd) {
        const std::string_view n = name;
        if (n <= after || !listed_entry(name, type, dirfd)) return;
        // Keep the `max` smallest: a max-heap once full.
        if (names.size() < max) {
            names.emplace_back(n);
            if (names.size() == max && max != SIZE_MAX) std::make_heap(names.begin(), names.end());
        } else if (n < names.front()) {
            std::pop_heap(names.begin(), names.end());
            names.back().assign(n);
            std::push_heap(names.begin(), names.end());
        }
    });
    if (!st) return st.error();
    std::sort(names.begin(), names.end());
    return names;
}

std::optional<SpoolState> Spool::find(std::string_view name) const {
    if (!spool_io::is_entry_name(name)) return std::nullopt;
    // Two passes: an entry moving from one state to a later one while the
    // first pass looks may be missed once, not twice in a row.
    for (int pass = 0; pass < 2; ++pass)
        for (SpoolState s : kStates)
            if (entry_in(root_, s, name)) return s;
    return std::nullopt;
}

Status Spool::for_each_key(const std::function<void(std::string_view key)>& each, std::size_t names_in_memory,
                           std::optional<Error>* in_memory) const {
    // The states are listed (spool_io::kKeyListing) in an order where an
    // entry that moves once while they are listed is met: for each move
    // from A to B, B is listed after A is first listed. Entries move on
    // from queue/ to deferred/, from both to sent/, failed/ and hold/, back
    // from hold/ to queue/, and an operator may move one from failed/ back
    // to queue/ by hand (docs/spool-format.md, States): so failed/ and
    // hold/ are listed before queue/ and again after it and deferred/
    // (they are usually small; queue/, often the largest, and sent/ are
    // listed once). An entry can still slip through twice moved at the
    // wrong moments (held while hold/ is listed, then released while
    // queue/ and deferred/ are), or moved by hand some other way (sent/ to
    // queue/): so the whole pass is made again while a state directory
    // changed during the last one (its modification time), three passes at
    // most. A spool that nothing changes is listed once.
    //
    // An entry met twice is one: every name met is put in order (runs of
    // `names_in_memory` in memory, the rest in a temporary file, each
    // written once and read once: detail::SortedRuns), as its key, "/" (in
    // no name) and the rest of the name, so that the same name is met
    // twice in a row and a key's entries one after another.
    const std::size_t run = std::max<std::size_t>(names_in_memory, 1);
    detail::SortedRuns met(root_);
    std::string item;
    auto add = [&](SpoolState s) -> Status {
        return spool_io::for_each_name(join(root_, state_dir(s)), [&](const char* name, unsigned char type, int dirfd) {
            const std::string_view n = name;
            const std::string_view key = entry_key(n);
            if (key.empty() || !listed_entry(name, type, dirfd)) return;
            item.assign(key).append(1, '/').append(n.substr(0, n.size() - key.size()));
            met.add(item, run);
        });
    };
    auto stamps = [&] {
        std::vector<std::pair<std::int64_t, std::int64_t>> t;
        for (SpoolState s : kStates) {
            struct stat st {};
            if (::stat(join(root_, state_dir(s)).c_str(), &st) == 0) t.emplace_back(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
            else t.emplace_back(-1, -1);
        }
        return t;
    };
    auto before_stamps = stamps();
    for (int pass = 0; pass < 3; ++pass) {
        for (SpoolState s : spool_io::kKeyListing)
            if (Status st = add(s); !st) return st;
        auto after = stamps();   // the next pass's "before"
        if (after == before_stamps) break;
        before_stamps = std::move(after);
    }
    met.close_run(false);
    std::string last;
    for (met.start(); !met.empty(); met.pop()) {
        const std::string_view s = met.least();
        if (s == last) continue;
        last.assign(s);
        each(s.substr(0, s.find('/')));
    }
    if (const std::optional<Error>& e = met.read_error()) return *e;
    if (in_memory) *in_memory = met.write_error();
    return Ok{};
}

Status Spool::sync() const {
    const int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error("open", root_, errno);
    const int rc = ::syncfs(fd);
    const int err = errno;
    spool_io::close_fd(fd);
    if (rc != 0) return sys_error("sync", root_, err);
    return Ok{};
}

Status Spool::clean_tmp(std::chrono::seconds age) {
    const std::string dir = join(root_, "tmp");
    const auto now = std::chrono::system_clock::now();
    Status result = Ok{};
    const Status listed = spool_io::for_each_name(dir, [&](const char* name, unsigned char, int dirfd) {
        struct stat st {};
        if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;  // gone meanwhile
        if (S_ISDIR(st.st_mode)) return;
        const auto mtime = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
        if (now - mtime < age) return;
        if (::unlinkat(dirfd, name, 0) != 0 && errno != ENOENT && result)
            result = sys_error("remove", join(root_, "tmp", name), errno);
    });
    if (!listed && result) result = listed;
    return result;
}

Result<std::string> Spool::read(SpoolState s, std::string_view name) const {
    if (!spool_io::is_entry_name(name)) return invalid_name(name).error();
    const std::string path = join(root_, state_dir(s), name);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sys_error("open", path, errno);
    Result<std::string> r = spool_io::read_all(fd, path);
    spool_io::close_fd(fd);
    return r;
}

Result<std::string> Spool::report(std::string_view name) const {
    if (!spool_io::is_entry_name(name)) return invalid_name(name).error();
    const std::string path = join(root_, "failed", std::string(name) + ".report");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return sys_error("open", path, errno == ELOOP ? EINVAL : errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        spool_io::close_fd(fd);
        return sys_error("open", path, EINVAL);
    }
    Result<std::string> r = spool_io::read_all(fd, path, &st);
    spool_io::close_fd(fd);
    return r;
}

// --- the walk -------------------------------------------------------------------------------

// What one or two readings of a directory found past a name, sorted: runs
// of at most `batch` names each, merged. A reading that finds no more than
// `batch` names keeps them in memory; one that finds more writes each run
// to a temporary file (detail::SortedRuns), so that memory holds about one
// run, whatever the directory's size.
struct SpoolWalk::Names : detail::SortedRuns {
    enum class Scan { ok, no_file, failed };
    using SortedRuns::SortedRuns;
    std::optional<Error> error;

    // One reading of the directory root/dir: its entries' names past
    // `after`, added as sorted runs of at most `batch`. no_file when a run
    // could not be written (no temporary file can be made: read in batches
    // instead), failed when the directory could not be read (error).
    Scan scan(const std::string& root, std::string_view dir, std::string_view after, std::size_t batch) {
        Closed closed = Closed::ok;
        bool spilled = false;
        const Status st = spool_io::for_each_name(join(root, dir), [&](const char* name, unsigned char type, int dirfd) {
            const std::string_view n = name;
            if (closed != Closed::ok || n <= after || !listed_entry(name, type, dirfd)) return;
            add(n);
            if (pending() < batch) return;
            spilled = true;
            closed = close_run(true);
        });
        // The last run of a reading that wrote some goes to the file too:
        // memory holds runs of readings that found few names only.
        if (closed == Closed::ok && st) closed = close_run(spilled);
        if (closed == Closed::no_file) return Scan::no_file;
        if (closed == Closed::write_failed) error = write_error();
        else if (!st) error = st.error();
        return error ? Scan::failed : Scan::ok;
    }
};

SpoolWalk::SpoolWalk(const Spool& spool, std::vector<SpoolState> states, std::size_t batch)
    : spool_(&spool), batch_(batch == 0 ? 1 : batch) {
    for (SpoolState s : states) cursors_.push_back(Cursor{s, {}, 0, {}, false, nullptr});
}

SpoolWalk::SpoolWalk(SpoolWalk&&) noexcept = default;
SpoolWalk& SpoolWalk::operator=(SpoolWalk&&) noexcept = default;
SpoolWalk::~SpoolWalk() = default;

bool SpoolWalk::reread() {
    std::vector<Cursor*> need;
    for (Cursor& c : cursors_)
        if (!c.done && (!c.read || c.read->empty())) need.push_back(&c);
    for (Cursor* c : need) c->read = std::make_unique<Names>(spool_->path());
    // Each directory is read twice when several states are walked (A B,
    // then A B again): an entry that moves from one to another while they
    // are read, in either direction, is in the first reading of the one or
    // the second of the other. A name read twice is met once.
    const int passes = cursors_.size() > 1 ? 2 : 1;
    for (int pass = 0; pass < passes; ++pass)
        for (Cursor* c : need) {
            ++reads_;
            switch (c->read->scan(spool_->path(), state_dir(c->state), c->after, batch_)) {
            case Names::Scan::ok: break;
            case Names::Scan::failed: error_ = c->read->error; return false;
            case Names::Scan::no_file:
                // A reading per batch from here on, past what was met.
                batched_ = true;
                for (Cursor& d : cursors_) {
                    d.read.reset();
                    d.names.clear();
                    d.at = 0;
                    d.after = last_;
                    d.done = false;
                }
                return true;
            }
        }
    for (Cursor* c : need) {
        c->read->start();
        if (c->read->read_error()) {
            error_ = c->read->read_error();
            return false;
        }
        // Read again once used up, past the greatest name read: entries
        // enqueued meanwhile are met; a reading that finds none ends it.
        if (c->read->empty()) c->done = true;
        else c->after = c->read->greatest();
    }
    return true;
}

std::optional<SpoolWalk::Item> SpoolWalk::next() {
    for (;;) {
        if (batched_) return next_batched();
        if (error_) return std::nullopt;
        if (std::any_of(cursors_.begin(), cursors_.end(), [](const Cursor& c) { return !c.done && (!c.read || c.read->empty()); })) {
            if (!reread()) return std::nullopt;
            continue;
        }
        Cursor* best = nullptr;
        for (Cursor& c : cursors_)
            if (c.read && !c.read->empty() && (!best || c.read->least() < best->read->least())) best = &c;
        if (!best) return std::nullopt;   // every cursor done
        std::string name(best->read->least());
        best->read->pop();
        if (best->read->read_error()) {
            error_ = best->read->read_error();
            return std::nullopt;
        }
        if (name == last_) continue;   // read twice, or in two walked states: moved meanwhile
        // Met in the state it is in now: one that moved since its name was
        // read is followed into another walked state; gone from all of them
        // (removed, or moved to a state not walked), it is not met.
        SpoolState state = best->state;
        if (!entry_in(spool_->path(), state, name)) {
            const std::optional<SpoolState> now = spool_->find(name);
            if (!now || std::none_of(cursors_.begin(), cursors_.end(), [&](const Cursor& c) { return c.state == *now; }))
                continue;
            state = *now;
        }
        last_ = name;
        return Item{std::move(name), state};
    }
}

bool SpoolWalk::fill(Cursor& c) {
    ++reads_;
    auto names = spool_->list(c.state, c.after, batch_);
    if (!names) {
        error_ = names.error();
        return false;
    }
    c.names = std::move(*names);
    c.at = 0;
    c.done = c.names.empty();
    if (!c.done) c.after = c.names.back();
    return true;
}

bool SpoolWalk::refresh(Cursor& c) {
    // What the directory holds now past the last name given, up to where
    // the cursor has read (to the end when it has read all), joined to
    // what it still holds from before: an entry seen in either is met.
    ++reads_;
    auto fresh = spool_->list(c.state, last_, batch_);
    if (!fresh) {
        error_ = fresh.error();
        return false;
    }
    std::string_view hi = c.done ? std::string_view() : std::string_view(c.after);
    const bool full = fresh->size() == batch_;
    if (full && (hi.empty() || fresh->back() < hi)) {
        // More past the fresh batch than it holds: read on from its end.
        c.after = fresh->back();
        c.done = false;
        hi = c.after;
    }
    std::vector<std::string> merged;
    merged.reserve(c.names.size() - c.at + fresh->size());
    std::set_union(std::make_move_iterator(c.names.begin() + static_cast<std::ptrdiff_t>(c.at)),
                   std::make_move_iterator(c.names.end()), std::make_move_iterator(fresh->begin()),
                   std::make_move_iterator(fresh->end()), std::back_inserter(merged));
    if (!hi.empty()) merged.erase(std::upper_bound(merged.begin(), merged.end(), hi), merged.end());
    c.names = std::move(merged);
    c.at = 0;
    return true;
}

std::optional<SpoolWalk::Item> SpoolWalk::next_batched() {
    for (;;) {
        bool read = false;
        for (Cursor& c : cursors_)
            if (c.at == c.names.size() && !c.done) {
                if (!fill(c)) return std::nullopt;
                read = true;
            }
        // Each time a directory is read, every state's is read once more
        // (A B, then A B again): an entry that moves from one walked state
        // to another while they are read, in either direction, is in the
        // first reading of the one or the second of the other.
        if (read && cursors_.size() > 1)
            for (Cursor& c : cursors_)
                if (!refresh(c)) return std::nullopt;
        Cursor* best = nullptr;
        for (Cursor& c : cursors_)
            if (c.at < c.names.size() && (!best || c.names[c.at] < best->names[best->at])) best = &c;
        if (!best) {
            if (std::any_of(cursors_.begin(), cursors_.end(), [](const Cursor& c) { return !c.done; })) continue;
            return std::nullopt;
        }
        std::string name = std::move(best->names[best->at++]);
        if (name == last_) continue;   // met in two walked states: moved meanwhile
        last_ = name;
        return Item{std::move(name), best->state};
    }
}

Result<std::string> SpoolWalk::read(Item& item) const {
    Result<std::string> data = spool_->read(item.state, item.name);
    for (int moves = 0; moves < 3 && !data && data.error().errnum == ENOENT; ++moves) {
        const std::optional<SpoolState> now = spool_->find(item.name);
        if (!now || *now == item.state ||
            std::none_of(cursors_.begin(), cursors_.end(), [&](const Cursor& c) { return c.state == *now; }))
            break;
        item.state = *now;
        data = spool_->read(item.state, item.name);
    }
    return data;
}

std::optional<Steer> steer_by_name(std::string_view name) {
    if (name == "retry") return Steer::retry;
    if (name == "hold") return Steer::hold;
    if (name == "release") return Steer::release;
    if (name == "remove") return Steer::remove;
    return std::nullopt;
}

std::span<const SpoolState> steer_from(Steer s) {
    static constexpr SpoolState retry[] = {SpoolState::deferred};
    static constexpr SpoolState hold[] = {SpoolState::queue, SpoolState::deferred};
    static constexpr SpoolState release[] = {SpoolState::hold};
    switch (s) {
    case Steer::retry: return retry;
    case Steer::hold: return hold;
    case Steer::release: return release;
    case Steer::remove: break;
    }
    return kAllStates;
}

Result<bool> steer(Spool& spool, std::string_view name, Steer s, std::optional<SpoolState>* where) {
    auto claimed = spool.claim(name, steer_from(s));
    if (!claimed) return claimed.error();
    if (!*claimed) {
        if (where) *where = spool.find(name);
        return false;
    }
    Claim& c = **claimed;
    const Status st = s == Steer::retry ? c.retry_now() : s == Steer::hold ? c.hold() : s == Steer::release ? c.release() : c.remove();
    if (!st) return st.error();
    return true;
}

}  // namespace msg
