// inputs.hpp - the messages of a list of inputs, one at a time: what every
// tool that reads mail loops over.
//
// Inputs are files, "-" (standard input), directories (every regular file
// below them, recursively, in sorted order; symbolic links below a
// directory are not followed, as find(1) does not, so a walk never leaves
// the tree it was given; of a Maildir, at any depth, only the messages in
// cur/ and new/, never tmp/ or a mail server's index files; of an MH
// folder only its numbered files, in number order) and, with
// `mbox`, archives whose messages are handed out one at a time (gzip is
// detected; memory does not grow with the archive). A failing input is
// reported to `on_error` and the loop goes on with the next. A message
// file cut short while it was read (Source::intact) is reported after
// its message was handed out: unreadable, as an archive cut short is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/diagnostics.hpp"
#include "msg/maildir.hpp"
#include "msg/mbox.hpp"
#include "msg/source.hpp"

namespace msg {

struct InputMessage {
    std::string file;              // name for diagnostics ("<stdin>" for -)
    std::string source;            // name for JSON output ("-" for stdin)
    std::uint64_t index = 0;       // message number within the file, from 0
    std::string_view data;         // valid during the callback only
    std::uint64_t first_line = 1;  // line of data[0] in the file
    std::uint64_t offset = 0;      // byte offset of data[0] in the (uncompressed) file
    bool from_mbox = false;
    // Framing defects of an mbox message (mbox.* codes), offsets into data;
    // null for files. Valid during the callback only.
    const Defects* framing = nullptr;
    // The archive's message as the reader handed it out (From_ line,
    // separators, ...); null for files. Valid during the callback only.
    const MboxMessage* mbox = nullptr;
    // With the first message of an archive: the bytes before its first
    // From_ line, which belong to no message (their count; `leading_bytes`
    // holds them when they were kept, i.e. unless they passed the limit).
    std::uint64_t leading = 0;
    std::string_view leading_bytes;
    // An archive's message too large to hold (MboxMessage::too_large):
    // `data` is empty, `framing` says why. Callers leave it out and count it.
    bool too_large() const { return mbox && mbox->too_large; }
    // Where the lines of data that lost a '>' begin (MboxMessage::
    // unquoted_lines), for positions as they are in the file.
    std::span<const std::size_t> unquoted_lines() const {
        return mbox ? std::span<const std::size_t>(mbox->unquoted_lines) : std::span<const std::size_t>();
    }
    // Where what is said of a message as a whole (not mail, too large) is
    // placed (message_place()): its file's start, or in an archive its
    // From_ line; and the words that name it there ("message N: ", empty
    // for a file).
    std::string place() const { return message_place(file, from_mbox ? first_line - 1 : 1); }
    std::string named() const { return from_mbox ? "message " + std::to_string(index + 1) + ": " : std::string(); }
    // A message file of a Maildir or an MH folder (name, flags, delivery
    // time); null otherwise.
    const MaildirFile* maildir = nullptr;
    // Whether `data` is the file's bytes (Source::intact): a message file
    // larger than max_read is mapped, and cut short while it is worked on,
    // reads as zeros past its new end. A callback that keeps what it made
    // of the message where the file's own bytes were (msgrewrite
    // --in-place) asks first; the loop asks after every callback and
    // reports an input cut short as unreadable. Ok for anything else.
    Status intact() const { return read_from ? read_from->intact() : Status(Ok{}); }
    const Source* read_from = nullptr;   // the message file's; null for archives, copies
    // For a message of an archive framed in pieces (MboxMessage::keep):
    // while a copy is held, data stays valid after the callback. Empty
    // otherwise.
    std::shared_ptr<const void> keep;
};

// Point `im` at an archive's message as the loop hands it out: its data,
// numbers, framing defects and keep (the names and leading bytes are the
// caller's). The views last as long as `m`'s.
void point_at(InputMessage& im, const MboxMessage& m);

// What went wrong with an input, by kind (a tool maps each to its exit
// status: missing 66, unusable 65, unreadable 74, locked 75, no_memory 75).
// no_memory: the input could be read, but not held (a message larger than
// the process may have under a ulimit -v): worth trying again with more
// memory, unlike a read error.
enum class InputProblem : std::uint8_t { missing, unusable, unreadable, locked, no_memory };

struct InputOptions {
    bool mbox = false;             // inputs are mbox archives
    MboxFormat format = MboxFormat::mboxrd;   // the archives' variant
    bool lock = false;             // lock each archive while reading it (MboxLock, 30 s at most)
    // A message file is read whole up to this size (Source::open), a larger
    // one mapped, its pages touched only as it is parsed (cut short
    // meanwhile: reported as unreadable once handed out): a tool that
    // refuses larger messages without reading them sets its limit here.
    std::size_t max_read = Source::kMaxRead;
    // Directories a walk leaves out, whatever the path that reaches them
    // (the same device and inode): a tool's own output, such as the spool
    // mbox2spool writes into, is never read back as its input.
    std::vector<std::string> leave_out;
    // Inputs are spool entries (msgcheck --spool): a walk gives only the
    // files a spool's readers take for entries (docs/spool-format.md,
    // "Which files are entries"; not a failed entry's .report, .json or
    // .dsn, not a dot file), and not a spool's tmp/.
    bool spool_entries = false;
    // Each problem with an input: its kind, the input's path (as given, or
    // as a directory's walk found it; "-" for standard input, as
    // InputMessage::source names it) and a whole sentence naming the input.
    std::function<void(InputProblem, const std::string& path, const std::string& message)> on_error;
    // Bytes before an archive's first From_ line (a warning, once per
    // archive); none when unset, for a caller that keeps them itself.
    std::function<void(const std::string&)> on_leading;
    // After each message of an archive: bytes read of `total` (0 when
    // unknown, as for standard input or gzip) and messages so far.
    std::function<void(std::uint64_t bytes, std::uint64_t total, std::uint64_t messages)> on_progress;
    // The files below a directory held in memory at once while they are
    // put in order (InputListing); more go to a temporary file.
    std::size_t listed_in_memory = std::size_t{1} << 14;
};

// The problems met, counted by kind.
struct InputCounts {
    std::uint64_t missing = 0, unusable = 0, unreadable = 0, locked = 0, no_memory = 0;
    bool any() const { return missing || unusable || unreadable || locked || no_memory; }
    // Count one problem of kind `p`.
    void add(InputProblem p);
};

// Call `fn` for each message of each input (standard input when `inputs`
// is empty); `fn` returns false to stop the loop early.
InputCounts for_each_message(const std::vector<std::string>& inputs, const InputOptions& options,
                             const std::function<bool(const InputMessage&)>& fn);

// The same loop in two steps, for a caller that reads message files in
// several threads: what one input stands for, in order (a file, an
// archive, standard input, the files below a directory, and where a
// directory could not be read, that problem), then each item read on its
// own. for_each_message does exactly this, input by input.
//
// The files below a directory come in path order (an MH folder's in
// number order, in the folder's place), whatever their number, with a
// bounded memory: they are put in order in runs of
// InputOptions::listed_in_memory, each full run written to a temporary
// file without a name in $TMPDIR (or /tmp) and read back as the runs are
// merged (the last stays in memory). A directory's subdirectories past
// that many are walked as they are met, so that memory follows neither.
struct InputItem {
    enum class Kind : std::uint8_t { file, archive, problem };
    Kind kind = Kind::file;
    std::string path;                     // "-" for standard input
    bool maildir = false;   // a Maildir's message file (see maildir_file())
    InputProblem problem = InputProblem::missing;  // Kind::problem: what went wrong,
    std::string message{};                         // in a whole sentence
    bool mh = false;        // an MH folder's message file (mh.hpp), with
    std::string flags{};    // the flags its folder's sequences give it
};
class InputListing {
public:
    InputListing(const std::string& input, const InputOptions& options);
    InputListing(const InputListing&) = delete;
    InputListing& operator=(const InputListing&) = delete;
    ~InputListing();
    // The next item, into `item`; false after the last. When the
    // temporary file cannot be read back, the last item is a problem
    // (unreadable) saying so: the files of its runs past the failure are
    // not listed.
    bool next(InputItem& item);
    // Why the runs were kept in memory instead (no temporary file could be
    // made or written: the listing is whole, only larger); none when they
    // were not.
    const std::optional<Error>& held_in_memory() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};
// The messages of one item, as for_each_message hands them out; a problem
// item, or one that cannot be read, is reported to options.on_error and
// counted in `counts`. Returns false when `fn` stopped the loop.
bool read_input(const InputItem& item, const InputOptions& options,
                const std::function<bool(const InputMessage&)>& fn, InputCounts& counts);

}  // namespace msg
