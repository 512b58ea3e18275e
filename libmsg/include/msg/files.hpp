// files.hpp - writing output files safely, as every tool does.
//
// Every output is written to a temporary name in its target directory,
// flushed, and renamed into place, so a reader never sees half a file; new
// files are private (0600); no output is written through a symbolic link
// that another user could have planted; attachment names cannot leave
// their directory.
#pragma once

#include "msg/result.hpp"

#include <signal.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace msg {

// A name for an attachment that cannot leave its directory: the last path
// component of `wanted` (after '/' or '\'), with the characters of
// unsafe_char_length() in msg/charset.hpp (controls, bidirectional
// overrides and isolates, U+2028, U+2029) and ':' replaced by '_', leading
// dots and trailing dots and spaces removed, cut to 200 bytes at a UTF-8
// boundary. Empty when nothing usable
// is left (the caller supplies a fallback).
std::string safe_filename(std::string_view wanted);

// Creates files in one directory without ever replacing one: when a name
// is taken, "name-1.ext", "name-2.ext", ... are used. The numbers go on
// from the last one used for that name, so that writing n files of one
// name costs n tries, not n^2. Files are created 0600 (mail is private),
// written whole under a temporary name and renamed; sync() makes what was
// written durable (one syncfs, not an fsync per file).
class NewFiles {
public:
    explicit NewFiles(std::string dir) : dir_(std::move(dir)) {}
    NewFiles(NewFiles&& o) noexcept
        : dir_(std::move(o.dir_)), tmp_(std::move(o.tmp_)), dfd_(std::exchange(o.dfd_, -1)), fd_(std::exchange(o.fd_, -1)),
          failed_(std::move(o.failed_)), next_(std::move(o.next_)) {}
    NewFiles& operator=(NewFiles&&) = delete;
    ~NewFiles();  // a file opened and not closed is removed
    // Returns the name actually used.
    Result<std::string> write(const std::string& name, std::string_view data);
    // The same in pieces, one file at a time, so that a file of any size
    // costs no memory: open() starts it, put() appends (the first error is
    // kept), close() names it, or reports that error and removes it.
    Status open();
    void put(std::string_view data);
    Result<std::string> close(const std::string& name);
    Status sync();

private:
    void discard();
    std::string dir_;
    std::string tmp_;             // the temporary file's path (removed on a stopping signal)
    int dfd_ = -1;
    int fd_ = -1;                 // the file being written, under a temporary name
    std::optional<Error> failed_;  // its first write error
    std::unordered_map<std::string, std::uint64_t> next_;   // name -> the next number to try
};

// The file to write when output goes to `path`: `path` itself, or the
// target of a symbolic link (so that replacing it keeps the link) - but
// only a link the invoking user may trust, as the kernel's
// protected_symlinks would: one the user owns, or one in a directory the
// user owns that is not sticky. A link another user planted in /tmp or any
// directory not the user's is refused (EPERM, the message says why), so
// that no output is ever written through it.
Result<std::string> write_target(const std::string& path);

// Refuse to replace a file that is not a regular file (a pipe, a device:
// what is written into it is gone, or waits for a reader forever), or one
// that has other hard links (a rename would split them) unless `force`: an
// error saying so.
Status check_replaceable(const std::string& path, bool force);

// Create the temporary file `tmp` for output that will replace `path`,
// with `path`'s permission bits from the start (0600 when it does not
// exist: mail is private). Returns the descriptor, or -1 with errno set.
// Until commit_file() or discard_temp(), `tmp` is removed if SIGINT,
// SIGTERM or SIGHUP ends the process (when the program has not set a
// handler of its own for it): a stopped run leaves no half-written file.
// (Up to 64 such files at once, remove_on_signal's included.)
int create_temp(const std::string& tmp, const std::string& path);

// For output that will replace `path` (a trusted link's target: see
// write_target): the temporary file beside it (temp_beside), made by
// create_temp and closed again, for a writer that opens it by name. Its
// name, or an error naming it.
Result<std::string> make_temp_beside(const std::string& path);

// Remove the temporary file `tmp` (output abandoned).
void discard_temp(const std::string& tmp);

// Output to `path` that is written where it is, not replaced: an existing
// file that is neither a regular file nor a directory (a terminal, a pipe,
// /dev/null). make_temp_beside() then gives `path` itself, commit_file()
// and discard_temp() leave it be, replace_file() writes into it: a device
// is never replaced by a regular file, nor removed.
bool written_in_place(const std::string& path);

// Remove every temporary file of this process not yet committed or
// discarded: for a program that stops on what it cannot handle.
void discard_all_temps() noexcept;

// A temporary file made some other way (a Maildir's tmp/ file, a spool
// entry rewritten in the spool's tmp/, NewFiles' file before its name):
// `path` is removed if SIGINT, SIGTERM or SIGHUP ends the process, as
// create_temp's files are, until keep_on_signal(path) - called once the
// file is renamed into place or removed. Say it before the file is
// created, so that no signal finds it unsaid.
void remove_on_signal(const std::string& path);
void keep_on_signal(const std::string& path);
// keep_on_signal(path) when it goes out of scope: on every way out of the
// code that writes the file. (`path` must outlive it.)
struct KeepOnSignalAtExit {
    const std::string& path;
    ~KeepOnSignalAtExit() { keep_on_signal(path); }
};

// While it lives, SIGINT, SIGTERM and SIGHUP wait (blocked in this thread,
// then delivered when it ends): for two changes that must both be made or
// neither, such as an entry and its reports removed together. The mask is
// the thread's: in a program with other threads, they must block these
// signals too (or the signal goes to one of them at once).
class StoppingSignalsHeld {
public:
    StoppingSignalsHeld();
    ~StoppingSignalsHeld();
    StoppingSignalsHeld(const StoppingSignalsHeld&) = delete;
    StoppingSignalsHeld& operator=(const StoppingSignalsHeld&) = delete;

private:
    sigset_t before_;
};

// A temporary name beside `path` for output that will replace it
// ("DIR/.NAME.PID.tmp"): the same file system, so rename() is atomic.
std::string temp_beside(const std::string& path);

// Make `tmp` (a finished temporary file) take the place of `path`: fsync it,
// give it `path`'s permission bits when `path` exists, rename it over
// `path`, fsync the directory. On failure `tmp` is removed and `path` is
// as it was. Either way `tmp` is no longer removed on a signal.
Status commit_file(const std::string& tmp, const std::string& path);

// The whole of a file that must be one (a password, a rules file, a
// script): a directory, a device or a missing file is an error naming it.
Result<std::string> read_regular_file(const std::string& path);

// Replace `path` (a trusted link's target, for a symbolic link: see
// write_target) with `data` atomically: temp_beside, create_temp, write,
// commit_file.
Status replace_file(const std::string& path, std::string_view data);

}  // namespace msg
