// mh.hpp - MH folders (nmh, mutt, Claws Mail, Sylpheed, exmh, Mew): one
// message per file, named by its number, and the folder's state in the
// file .mh_sequences, one sequence a line:
//
//   unseen: 4 7-9
//   flagged: 2
//   replied: 1-2
//
// A message is read (Maildir flag S) unless it is in "unseen" (when the
// folder has no .mh_sequences, nothing says so: no S), flagged (F)
// in "flagged" and answered (R) in "replied": the sequences nmh keeps for
// unread mail and mutt for the other two. A file named ",N" or "#N" is a
// message nmh's rmm deleted (kept until the folder is packed): flag T.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "msg/maildir.hpp"
#include "msg/result.hpp"

namespace msg {

// True when `dir` is an MH folder: it is not a Maildir, and it holds the
// file an MH reader keeps there (.mh_sequences; Claws Mail's and
// Sylpheed's .claws_mark, .sylpheed_mark and their caches, exmh's
// .xmhcache, Mew's .mew_cache), as mutt tells one.
bool is_mh_folder(const std::string& dir);

// The number of an MH message file's name ("17"), or of a deleted one
// (",17", "#17"; `deleted` set); nothing for any other name.
std::optional<std::uint64_t> mh_number(std::string_view name, bool* deleted = nullptr);

// The public sequences of a folder (.mh_sequences): names (compared
// without regard to case) and their ranges of message numbers. Lines it
// cannot read (no colon, a word that is no number or range) are skipped;
// a line starting with white space continues the one before.
class MhSequences {
public:
    static MhSequences parse(std::string_view text);
    bool has(std::string_view name) const;
    bool contains(std::string_view name, std::uint64_t n) const;

private:
    std::vector<std::pair<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>>> seqs_;
};

// The Maildir flags (sorted) an MH message has: S unless unseen, F when
// flagged, R when replied, T when deleted. `read_known`: the folder keeps
// .mh_sequences (whose lack of "unseen" means all is read, as nmh has it);
// a folder known only by another reader's files keeps its read marks
// elsewhere, and no message is said to be read.
std::string mh_flags(const MhSequences& s, std::uint64_t n, bool deleted, bool read_known = true);

// An MH folder's message file as list_mh describes it, from its path
// (DIR/NAME) and the flags its folder's sequences give it (mtime 0).
MaildirFile mh_file(std::string path, std::string flags);

// The messages of an MH folder in number order (a deleted ",N" after N),
// each with its flags (MaildirFile::mh set; mtime 0). Other files
// (.mh_sequences, a reader's caches) are not messages.
Result<std::vector<MaildirFile>> list_mh(const std::string& dir);
// The same messages in the order the folder gives them, each with its
// number and whether it is a deleted one (",N"): for a caller that puts
// them in an order of its own with a bounded memory (InputListing).
Status for_each_mh_file(const std::string& dir,
                        const std::function<void(MaildirFile&& file, std::uint64_t number, bool deleted)>& fn);

}  // namespace msg
