// detail/spool_io.hpp - POSIX file helpers shared by the spool_*.cpp files.
// Internal to libmsg: every function reports failure as an Error naming the
// file and the errno text, never by throwing.
#pragma once

#include <sys/stat.h>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "msg/result.hpp"
#include "msg/spool.hpp"

namespace msg::spool_io {

// The order in which Spool::for_each_key lists the states, each pass: an
// entry that moves once from A to B while they are listed is met, for B is
// listed after A is first listed (spool_dir.cpp says why each is where it
// is).
inline constexpr SpoolState kKeyListing[] = {SpoolState::failed, SpoolState::hold, SpoolState::queue, SpoolState::deferred,
                                             SpoolState::hold,   SpoolState::sent, SpoolState::failed};

// "cannot <what> <path>: <strerror(err)>" ("out of memory (...)" for ENOMEM)
Error sys_error(std::string_view what, const std::string& path, int err);

// root + "/" + dir [+ "/" + name]
std::string join(const std::string& root, std::string_view dir, std::string_view name = {});

// The whole of `data` to `fd`, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data, const std::string& path);
// `head` then `body` to `fd` in one writev() where it can (no copy of
// the message to put the envelope before it).
Status write_all(int fd, std::string_view head, std::string_view body, const std::string& path);
// The whole file; `known` is its fstat when the caller has it already.
Result<std::string> read_all(int fd, const std::string& path, const struct stat* known = nullptr);
// fsync(fd), retrying on EINTR.
Status sync_fd(int fd, const std::string& path);
// Open the directory and fsync it.
Status sync_dir(const std::string& path);
// close() that keeps errno of the caller and ignores EINTR.
void close_fd(int fd) noexcept;
// A temporary file without a name, open for reading and writing: in the
// spool's tmp/ (its file system, never seen by anyone), else (or with no
// spool: root "") in $TMPDIR or /tmp, where a file system without
// O_TMPFILE has it made under a name of its own and unlinked at once; -1
// (errno set) when none can be made.
int temporary_file(const std::string& root);
// For tests: temporary_file's files made as on a file system without
// O_TMPFILE (true), or as usual (false).
void force_named_temporary(bool named);
// Where temporary files go outside a spool: $TMPDIR, or /tmp.
std::string temporary_dir();

// Create `path` exclusively (O_CREAT|O_EXCL, `mode` less the umask),
// write `data`, fsync. Returns the open fd (O_RDWR) or an error (the file
// is removed again on a write or fsync error).
Result<int> create_file(const std::string& path, std::string_view data, bool sync, mode_t mode = 0660);

// Create `name` in the directory `dir` (an fd) exclusively, as
// create_file does, writing `head` and `body`; not synced. Errors name it
// as root/dir_name/name (the path made only then).
Result<int> create_at(int dir, std::string_view name, std::string_view head, std::string_view body,
                      const std::string& root, std::string_view dir_name, mode_t mode = 0660);
// `name` from the directory `from` (root/from_name) to the directory `to`
// (root/to_name), there named `new_name` when it is not empty, never
// replacing unless `replace`, as move() does; errors name both paths, as
// move()'s do.
Status move_at(int from, std::string_view from_name, int to, std::string_view to_name, std::string_view name,
               const std::string& root, bool replace = false, std::string_view new_name = {});

// How a Batch makes an entry's file before its commit
// (docs/spool-format.md, "Writing entries from another program"):
// - named: a file tmp/NAME (O_EXCL), renamed into queue/;
// - linked: a file without a name, made in tmp/ (O_TMPFILE), linked into
//   queue/ as NAME by linkat(AT_EMPTY_PATH);
// - linked_by_proc: the same, linked through /proc/self/fd/N, where
//   AT_EMPTY_PATH needs a privilege the process lacks (Linux before 6.10).
// An unnamed file is never seen in tmp/ and vanishes with its last
// descriptor: a crash leaves nothing behind, and linking it into queue/
// does not take tmp/'s lock, which the creation of the next files holds.
enum class EntryFile : int { unknown, named, linked, linked_by_proc };

// Create a file without a name in the directory `dir` (an fd) holding
// `head` and `body`, not synced. Errors name the directory root/dir_name.
Result<int> create_unnamed(int dir, std::string_view head, std::string_view body, const std::string& root,
                           std::string_view dir_name, mode_t mode = 0660);
// Give the unnamed file `fd` the name `name` in the directory `to`
// (root/to_name), `how` (linked or linked_by_proc); never replaces a file
// (EEXIST).
Status link_unnamed(int fd, EntryFile how, int to, std::string_view to_name, const std::string& name,
                    const std::string& root);
// For tests: the way every Dirs that has not made an entry yet makes its
// entries (unknown: what the system allows, as without the call).
void force_entry_file(EntryFile how);

// A spool's directories (its states and tmp/), opened once (O_DIRECTORY):
// entries are created, opened, looked up and moved relative to them,
// without a walk of the spool's path for every call. Shared by a Spool, its
// Batches and its Claims. A directory that could not be opened is -1, with
// the errno of the attempt: claims then go by path, a Batch reports it.
struct Dirs {
    static constexpr int kTmp = 5;   // after the SpoolStates
    int fd[6] = {-1, -1, -1, -1, -1, -1};
    int error[6] = {};
    mutable std::atomic<EntryFile> entry_file_{EntryFile::unknown};
    Dirs() = default;
    Dirs(const Dirs&) = delete;
    Dirs& operator=(const Dirs&) = delete;
    ~Dirs();
    int of(SpoolState s) const { return fd[static_cast<int>(s)]; }
    int tmp() const { return fd[kTmp]; }
    // How entries are made in this spool: what the system allows, tried
    // once (an unnamed file linked into tmp/ under a dot name, then
    // removed), at the first call.
    EntryFile entry_file() const;
    static std::shared_ptr<const Dirs> open(const std::string& root);
};

// rename(from, to); with `no_replace`, fail with EEXIST when `to` exists
// (renameat2 RENAME_NOREPLACE, or link+unlink where the file system lacks it).
Status move(const std::string& from, const std::string& to, bool no_replace);

// Calls `fn(name, type, dirfd)` for each name in directory `dir` but "."
// and "..", in the order the directory gives them (`type`: the entry's
// DT_* type, DT_UNKNOWN where the file system does not say). An error naming `dir` when
// it cannot be opened or read (the names before a read error were seen).
Status for_each_name(const std::string& dir, const std::function<void(const char* name, unsigned char type, int dirfd)>& fn);
// Whether `name` in the directory `dirfd` is a regular file, not followed
// through a link: the directory's entry type `type` (DT_*) says so, and
// only where it says nothing (DT_UNKNOWN) is the file looked at.
bool is_regular(int dirfd, const char* name, unsigned char type);

// A name an entry may have: not empty, no '/', no NUL, not starting with
// '.', not ending with ".report" or ".json", at most 255 bytes.
bool is_entry_name(std::string_view name) noexcept;

}  // namespace msg::spool_io
