// maildir.hpp - Maildir folders: one message per file in cur/ and new/,
// written through tmp/ (the qmail maildir(5) layout, with the ":2,FLAGS"
// info of Maildir readers and Dovecot).
//
//   DIR/tmp/   being delivered; never read
//   DIR/new/   delivered, not yet seen by a reader (no info)
//   DIR/cur/   seen; the name ends in ":2," and flags (D draft, F flagged,
//              P passed, R replied, S seen, T trashed), in ASCII order
//
// Reading takes the regular files of cur/ and new/ only: names starting
// with "." and the files mail servers keep beside the messages (dovecot*,
// maildirfolder, courierimap*, subscriptions, ...) live in DIR itself or
// start with a dot, and are never taken for messages. Writing creates a
// unique name (time, microseconds, pid, a sequence and the host), writes
// tmp/NAME, fsyncs it and renames it into new/ (or cur/NAME:2,FLAGS).
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/result.hpp"

namespace msg {

// True when `dir` is a Maildir: it has cur/ and new/ directories.
bool is_maildir(const std::string& dir);

struct MaildirFile {
    std::string path;        // DIR/cur/NAME or DIR/new/NAME (DIR/NAME in an MH folder)
    std::string name;        // NAME, info included
    bool seen_dir = false;   // in cur/ (false: new/)
    std::string flags;       // the letters after ":2," ("" when none)
    // A message file of an MH folder (mh.hpp), not of a Maildir: `flags`
    // say in Maildir's letters what the folder's sequences say of it.
    bool mh = false;
    // The file's modification time (delivery time, for most writers), as
    // read_input (inputs.hpp) hands the message out; 0 in list_maildir's list.
    std::time_t mtime = 0;
};

// The messages of a Maildir, new/ and cur/ merged, in name order (which is
// delivery order for the usual time-first names).
Result<std::vector<MaildirFile>> list_maildir(const std::string& dir);
// The same messages' paths only (DIR/cur/NAME, DIR/new/NAME), in name
// order as list_maildir: a listing of a Maildir of a million messages
// holds no more than their paths.
Result<std::vector<std::string>> list_maildir_paths(const std::string& dir);
// Each of them in the order the directories give them, as its path, valid
// during the call: for a caller that puts them in an order of its own with
// a bounded memory (InputListing). new/ is read first, so that a message a
// reader moves to cur/ meanwhile is met there. When one of the two cannot
// be read, the other's messages are given all the same, and the error is
// the first one met, `failed` (when given) naming its directory.
Status for_each_maildir_path(const std::string& dir, const std::function<void(std::string_view path)>& fn,
                             std::string* failed = nullptr);
// Where a Maildir message file (DIR/cur/NAME or DIR/new/NAME) is now that
// it is no longer at `path`: a reader renamed it as its flags changed
// (cur/U:2,S to cur/U:2,RS) or as it was first seen (new/U to cur/U:2,).
// A file of the same Maildir's cur/ or new/ whose name has the same unique
// part (what comes before ':'); none when there is no such file.
std::optional<std::string> maildir_renamed(const std::string& path);
// A message file of a Maildir as list_maildir describes it, from its path
// (DIR/cur/NAME or DIR/new/NAME); mtime 0.
MaildirFile maildir_file(std::string path);

// The flags of a Maildir file name: the letters after ":2," ("" when it
// has no such info).
std::string_view maildir_flags(std::string_view name);

// Delivers messages into a Maildir, making it (and tmp/, new/, cur/, mode
// 0700) when it does not exist.
class MaildirWriter {
public:
    static Result<MaildirWriter> open(const std::string& dir);
    // Write `message` under a new unique name: tmp/, fsync, rename into
    // cur/ with ":2,FLAGS" when it has flags or a reader has `seen` it,
    // else into new/. Returns the path written.
    Result<std::string> deliver(std::string_view message, std::string_view flags = {}, bool seen = false);

private:
    std::string dir_;
};

}  // namespace msg
