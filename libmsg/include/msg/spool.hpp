// spool.hpp - the spool directory: entries move between tmp/, queue/,
// deferred/, sent/ and failed/ by rename only, so an entry is always whole
// in exactly one state (docs/spool-format.md). The entry format itself is
// spool_entry.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "msg/result.hpp"
#include "msg/spool_entry.hpp"

namespace msg {

namespace spool_io {
struct Dirs;   // the state directories, opened once (internal)
}

// hold: put aside by an operator (spoolctl hold); never sent until released.
enum class SpoolState : std::uint8_t { queue, deferred, sent, failed, hold };
std::string_view state_dir(SpoolState s);  // "queue", "deferred", "sent", "failed", "hold"
std::optional<SpoolState> state_by_name(std::string_view dir);
// Every state, in the order an entry usually goes through them.
inline constexpr SpoolState kAllStates[] = {SpoolState::queue, SpoolState::deferred, SpoolState::hold,
                                            SpoolState::sent, SpoolState::failed};

// A new entry name: unique across hosts and processes, sorting in enqueue
// order: "<UTC time to the microsecond>.<pid>.<sequence>.<host>" and, when
// `key` is not empty, ".<key>" (letters, digits, '-' and '_' only; others
// are replaced by '_'; a key "report" or "json" becomes "report_", "json_",
// so that no entry name ends like a report file). See docs/spool-format.md.
// The only global state of the spool code is the atomic sequence used here.
// The name is at most kMaxEntryName bytes: a longer key is cut.
std::string new_entry_name(std::string_view key = {});
// The longest name the library gives an entry: NAME.report must fit in
// NAME_MAX (255). Readers take names of up to 255 bytes.
inline constexpr std::size_t kMaxEntryName = 255 - 7;
// The key part of a name ("" when none).
std::string_view entry_key(std::string_view name);

// When an entry was enqueued, from its name (docs/spool-format.md, Names).
std::optional<std::chrono::system_clock::time_point> entry_time(std::string_view name);

class Spool;

// What a failed entry has beside it in failed/ (Claim::fail, fail_some).
struct FailureReports {
    std::string report;   // NAME.report, text
    std::string json;     // NAME.json, when not empty
    std::string dsn;      // NAME.dsn, when not empty
};
// The reports of a failed entry, made for the name it has in failed/: a
// report names the entry it is beside, and that name is known only once
// the entry is failed (a new one, or a shortened one).
using ReportsFor = std::function<FailureReports(const std::string& name)>;

// An entry held by this process. While a Claim is alive no other process
// can claim the entry (an OFD fcntl lock on its file, released by the
// kernel if this process dies, which is how a dead sender's entry is
// recovered). The transitions end the claim; one that fails before the
// entry changed keeps it (state() tells where the entry is), and a Claim
// whose claim has ended answers EBADF. A Claim must not cross fork().
// The entry's bytes and their parse are the Claim's and never change while
// it lives (a transition writes a new file, it does not touch them), so
// spans into entry() stay valid as long as the Claim.
class Claim {
public:
    Claim(Claim&&) noexcept;
    Claim& operator=(Claim&&) noexcept;
    ~Claim();  // releases the lock; the entry stays where it is

    const std::string& name() const { return name_; }
    SpoolState state() const { return state_; }
    bool held() const { return fd_ >= 0; }
    const std::string& data() const { return *data_; }     // the whole entry file
    const SpoolEntry& entry() const { return entry_; }     // parsed, spans into data()

    // Delivered to every recipient: move to sent/. With `durable` false
    // the two directories are not fsynced: a power failure may then bring
    // the entry back to queue/ (sent again, never lost); call Spool::sync()
    // now and then to bound that window. A process that is killed loses
    // nothing either way: the rename is done when this returns.
    Status complete(bool durable = true);
    // Temporary failure: keep only `pending` recipients (all when empty),
    // add `record` to the entry's retry history (Attempt: annotations) and
    // set Next-Attempt:, then move to deferred/. A pending address matches a
    // RCPT path as written between the brackets or its mailbox; when none
    // matches, EINVAL and nothing changes (the claim stays). Once the
    // rewritten entry has replaced the old one the claim ends, whether the
    // rest (the move to deferred/, the fsyncs) succeeds or not.
    Status defer(const std::vector<std::string>& pending, const RetryRecord& record,
                 std::chrono::system_clock::time_point next_attempt);
    // Permanent failure: write failed/NAME.report (text) and, when `json` is
    // not empty, failed/NAME.json, and when `dsn` is not empty
    // failed/NAME.dsn (an RFC 3464 report message), then move the entry to
    // failed/. An entry whose name is longer than kMaxEntryName (its
    // reports' names would be over NAME_MAX) is first renamed where it is,
    // to its first bytes and a hash of the name (its time and order kept),
    // which name() then returns.
    Status fail(std::string_view report, std::string_view json = {}, std::string_view dsn = {});
    // The same, with reports that name the entry: made for the name it
    // has in failed/, the shortened one if it was.
    Status fail(const ReportsFor& reports);
    // Permanent failure of some recipients only: a new entry with this
    // entry's MAIL line and annotations, the RCPT lines of `failed` (matched
    // as defer() matches them), a "Failed-From: NAME" annotation and the
    // message is written to failed/ with its reports (as fail() writes
    // them, made for the new entry's name); then this entry is written
    // again without those recipients (in place, still claimed), for
    // complete() or defer() of the others, so that sent/ lists only the
    // recipients it was sent to. Returns the new entry's name.
    Result<std::string> fail_some(const std::vector<std::string>& failed, const ReportsFor& reports);

    // An operator's moves (spoolctl). hold(): to hold/, where no sender
    // takes it. release(): from hold/ to queue/ (due at once). retry_now():
    // a deferred entry without its Next-Attempt: (due at once; its history
    // stays). remove(): the entry is deleted, with its reports in failed/.
    Status hold();
    Status release();
    Status retry_now();
    Status remove();

private:
    friend class Spool;
    Claim() = default;
    // Move the entry into `to`, fsync both directories and end the claim.
    Status move_and_end(SpoolState to, bool durable = true);
    // Rename the entry where it is to its first bytes and a hash of its
    // name, within kMaxEntryName, and fsync the directory (fail()).
    Status shorten_name();
    // Replace the entry's file in its directory by `content`, locked before
    // it takes the name; the claim holds the new file.
    Status replace(const std::string& content);
    std::string root_, name_;
    std::shared_ptr<const spool_io::Dirs> dirs_;   // the spool's, when it could open them
    std::unique_ptr<const std::string> data_;   // heap: entry_'s spans survive a move of the Claim
    SpoolEntry entry_;
    SpoolState state_ = SpoolState::queue;
    int fd_ = -1;
};

// How many keys mbox2spool's index of a spool (SpoolIndex, archive.hpp)
// holds in memory before the rest go to a temporary file, and how many
// names Spool::for_each_key sorts in memory at a time: a few MB each,
// whatever the spool's size.
inline constexpr std::size_t kIndexMemoryKeys = std::size_t{1} << 18;
inline constexpr std::size_t kNamesInMemory = std::size_t{1} << 14;

class Spool {
public:
    // Open a spool; with `create`, make the directory and its state
    // directories when missing. Without it, the directory and its queue/
    // must exist; missing state directories are made with the mode of the
    // spool's directory.
    static Result<Spool> open(const std::string& path, bool create);

    const std::string& path() const { return root_; }

    // Write an entry: a file made in tmp/, fsync, moved into queue/ as
    // NAME (then fsync queue/); see Batch.
    // `name` empty: new_entry_name(). Returns the name.
    Result<std::string> enqueue(const Envelope& env, std::string_view message, std::string name = {});

    // Group commit for bulk writers: add() writes the entry's file without
    // fsync; commit() makes every added entry durable (one syncfs, or an
    // fsync of each file), moves them into queue/ in order and fsyncs
    // queue/. The file is made in tmp/ without a name (O_TMPFILE) and
    // linked into queue/ at commit where the system allows it (a crash
    // then leaves nothing behind); else, and always for a name the caller
    // chose, it is tmp/NAME, renamed into queue/. Entries not committed
    // are invisible to senders. A caller-chosen name that exists in any
    // state, or in tmp/, is an error (EEXIST), never an overwrite; a name
    // taken in queue/ meanwhile is one at commit().
    // When commit() fails part-way, the entries moved before the failure
    // are in queue/ (and durable); the others stay pending (commit again,
    // or let the destructor remove them).
    class GroupWriter;
    class Batch {
    public:
        explicit Batch(Spool& s) : spool_(s) {}
        Batch(const Batch&) = delete;             // owns open files (and their names in tmp/)
        Batch& operator=(const Batch&) = delete;
        Result<std::string> add(const Envelope& env, std::string_view message, std::string name = {});
        // An entry named new_entry_name(key): new by construction (the
        // time, this process's id and sequence), so no state is searched
        // for it, as a bulk writer wants.
        Result<std::string> add_keyed(const Envelope& env, std::string_view message, std::string_view key);
        // Makes the entries durable and moves them into queue/, in the order
        // added. On an error the first entries may be in queue/, durable,
        // and the others not: size() is how many are left out (each entry
        // is in queue/ exactly when commit() took it out of the batch).
        Status commit();
        std::size_t size() const { return pending_.size(); }
        // Remove what was added and not committed (as the destructor does).
        void abandon();
        ~Batch();  // entries added and not committed are removed

    private:
        friend class GroupWriter;
        // An entry of the envelope's text `head` and the message, named
        // `name`: a file without a name until commit() links it into
        // queue/, where the system allows, or else tmp/NAME; always
        // tmp/NAME for a name the caller chose (`chosen`), so that a file
        // of that name in tmp/ is refused (docs/spool-format.md).
        Result<std::string> create(std::string_view head, std::string_view message, std::string name,
                                   bool chosen = false);
        // commit(), the files of the entries moved into queue/ left open,
        // appended to `open` for the caller to close (nullptr: closed here).
        Status commit(std::vector<int>* open);
        struct Pending {
            std::string name;
            int fd;
            int how;   // a spool_io::EntryFile: named (tmp/NAME, renamed), or how to link it
        };
        Spool& spool_;
        std::vector<Pending> pending_;
        int tmp() const;     // the spool's tmp/ and queue/ (spool_io::Dirs)
        int queue() const;
    };

    // Many entries written in groups, as a bulk writer wants: a Batch
    // committed every `max_entries` entries or `max_bytes` bytes and at
    // flush(), each entry's `durable` callback called once it is in queue/,
    // in the order the entries were added, always in the thread that calls
    // add() and flush().
    //
    // With `background`, the entries are created in a thread of the
    // writer's own while the caller prepares the next ones (on a second
    // core: a bulk writer's reading and its system calls overlap); each
    // full group is committed by the caller, at its next add() or flush()
    // (so that the system calls of an entry are shared between the two
    // threads, and groups are committed and told in order). At most two
    // full groups wait to be committed: the writer waits beyond that. The
    // files of three groups may then be open at once (768 with the default
    // max_entries), one group's without `background`: a group is made
    // smaller than `max_entries` where the limit on open files
    // (RLIMIT_NOFILE, less 64 for the rest of the process) asks for it.
    // add() hands an entry over: the message's bytes are copied unless
    // `keep` holds them where they are until the writer is done with them
    // (a message larger than kQueued is not copied either: add() returns
    // once it is written); at most kQueued bytes (or kQueuedEntries
    // entries) wait, and add() waits for room beyond that. An error is then an earlier entry's: it
    // is returned by the next add() (and each after it: no entry is taken
    // any more) or, when none came, by flush(); a later error (the commit
    // at flush() of the entries written before the first) is returned by
    // flush() as well. lost() counts the entries whose add() returned Ok
    // and that did not reach queue/: Ok adds less lost() is what was
    // enqueued.
    class GroupWriter {
    public:
        struct Options {
            std::size_t max_entries = 256;
            std::size_t max_bytes = std::size_t{32} << 20;
            bool background = false;
        };
        static constexpr std::size_t kQueued = std::size_t{4} << 20;
        static constexpr std::size_t kQueuedEntries = 1024;

        explicit GroupWriter(Spool& s, std::size_t max_entries = 256, std::size_t max_bytes = std::size_t{32} << 20)
            : GroupWriter(s, Options{max_entries, max_bytes, false}) {}
        GroupWriter(Spool& s, Options o);
        GroupWriter(const GroupWriter&) = delete;
        GroupWriter& operator=(const GroupWriter&) = delete;
        // Entries not committed are removed (flush() first to keep them).
        ~GroupWriter();
        // Add an entry named for `key` (see Batch::add_keyed). Without
        // `background`, an error is this entry's (it is not added) or,
        // after a group could not be committed, that group's (this entry
        // was in it: not counted by lost()).
        Status add(Envelope env, std::string_view message, std::string_view key,
                   std::function<void(const std::string& name)> durable = {},
                   std::shared_ptr<const void> keep = {});
        // Commit what is pending. On an error the entries already moved
        // into queue/ are told as usual; the others are removed and
        // counted by lost().
        Status flush();
        std::uint64_t lost() const;

    private:
        struct State;
        static Result<std::string> create(Batch& b, std::string_view head, std::string_view message,
                                          std::string name) {
            return b.create(head, message, std::move(name));
        }
        static Status commit(Batch& b, std::vector<int>* open) { return b.commit(open); }
        // A batch of what `from` holds (created, not committed); `from` is left empty.
        static std::unique_ptr<Batch> take(Batch& from) {
            auto b = std::make_unique<Batch>(from.spool_);
            b->pending_.swap(from.pending_);
            return b;
        }
        std::unique_ptr<State> s_;
    };

    // Entry names in a state, sorted (enqueue order).
    Result<std::vector<std::string>> list(SpoolState s) const;
    // The first `max` names (sorted) greater than `after`: a spool of any
    // size walked in order with memory bounded by `max` names, at the cost
    // of reading the directory once per batch (SpoolWalk reads it once).
    Result<std::vector<std::string>> list(SpoolState s, std::string_view after, std::size_t max) const;
    // The state an entry is in, if any.
    std::optional<SpoolState> find(std::string_view name) const;
    // Calls `each` with the key (entry_key) of every entry that has one, in
    // any state: once per entry, also when the entry moves on while the
    // states are listed; the entries of one key one after another, and keys
    // of one length in bytewise order (the order of key + "/"). For
    // idempotent writers, which count a key's entries as they come. The
    // names met are sorted in runs of `names_in_memory` (up to about 200
    // bytes a name in memory: 3 MB at the default), each full run written
    // to a temporary file in tmp/ (a name's length and two bytes, for each
    // time it is met), and the runs merged, each read back 1 to 64 KiB at
    // a time: a name is written once and read once. Where no such file can
    // be written the names stay in memory (`in_memory`, when given, says
    // why); fails when it cannot be read back.
    Status for_each_key(const std::function<void(std::string_view key)>& each,
                        std::size_t names_in_memory = kNamesInMemory,
                        std::optional<Error>* in_memory = nullptr) const;
    // Make every change to the spool's file system durable (syncfs).
    Status sync() const;
    // Remove leftovers in tmp/ older than `age` (writers that died).
    Status clean_tmp(std::chrono::seconds age);

    // Claim an entry of queue/ or deferred/ (what senders take), or of the
    // states given. Returns no value (and no error) when another process
    // holds it or it has moved on (or is in none of those states).
    Result<std::optional<Claim>> claim(std::string_view name);
    Result<std::optional<Claim>> claim(std::string_view name, std::span<const SpoolState> states);
    // Read an entry without claiming it.
    Result<std::string> read(SpoolState s, std::string_view name) const;
    // A failed entry's report (failed/NAME.report); a symbolic link, or any
    // file that is not a regular one, is refused, never followed.
    Result<std::string> report(std::string_view name) const;

private:
    std::string root_;
    std::shared_ptr<const spool_io::Dirs> dirs_;
};

// The entries of one or more states in name (enqueue) order, the states
// merged: a spool of any size walked with memory bounded by `batch` names
// a state (and about 1 MiB for the runs being merged, at least 1 KiB a
// run), in a time linear in its size. A directory is read once (twice
// when several states are walked: A B, then A B again) and its names are
// sorted in runs of `batch`, which go to a temporary file without a name
// (in the spool's tmp/, else in $TMPDIR or /tmp) and are merged as the
// walk goes on; once they are used up the directory is read again for
// names past them (entries enqueued meanwhile). Where no such file can be
// made the walk reads the directory again for each batch instead (memory
// still bounded, time quadratic in the spool's size).
// An entry that moves once from one walked state to another while the
// walk goes on is met once, in the state it is in when it is met (its
// name was read in the other). Not thread-safe.
class SpoolWalk {
public:
    SpoolWalk(const Spool& spool, std::vector<SpoolState> states, std::size_t batch = 4096);
    SpoolWalk(SpoolWalk&&) noexcept;
    SpoolWalk& operator=(SpoolWalk&&) noexcept;
    ~SpoolWalk();
    struct Item {
        std::string name;
        SpoolState state;
    };
    // The next entry; nothing at the end or after an error (error()).
    std::optional<Item> next();
    // The entry's bytes, read where it is now: one that moved since it was
    // listed (a sender took it on, an operator held or released it) into
    // another walked state is followed there, and `item.state` says where.
    // ENOENT when it is in no walked state any more (removed, or moved to
    // a state not walked: it is not lost, it is there).
    Result<std::string> read(Item& item) const;
    const std::optional<Error>& error() const { return error_; }
    // How many times the walk has read a state's directory so far: a few
    // for a whole walk, whatever the spool's size (each batch's, where no
    // temporary file could be made).
    std::size_t directory_reads() const { return reads_; }

private:
    struct Names;   // a directory's names past a point, sorted: runs merged
    struct Cursor {
        SpoolState state;
        std::vector<std::string> names;
        std::size_t at = 0;
        std::string after;
        bool done = false;
        std::unique_ptr<Names> read;   // what the last reading found, when not batched
    };
    bool fill(Cursor& c);      // the cursor's next batch; false on an error
    bool refresh(Cursor& c);   // its directory read again; false on an error
    bool reread();             // the used-up cursors' directories read; false on an error
    std::optional<Item> next_batched();   // next(), a batch per reading
    const Spool* spool_;
    std::size_t batch_;
    std::vector<Cursor> cursors_;
    std::string last_;
    std::optional<Error> error_;
    bool batched_ = false;   // no temporary file: a reading per batch
    std::size_t reads_ = 0;
};

// An operator's command on one entry (spoolctl): retry (a deferred entry
// due now), hold (a queued or deferred entry aside), release (a held entry
// back to the queue), remove (an entry in any state, with its reports).
enum class Steer : std::uint8_t { retry, hold, release, remove };
std::optional<Steer> steer_by_name(std::string_view name);   // "retry", "hold", "release", "remove"
// The states an entry may be in for the command to apply.
std::span<const SpoolState> steer_from(Steer s);
// Claim `name` in one of those states, as a sender would, and apply the
// command. False (and `where` the entry's state, if it has one) when the
// entry is in no such state, or a sender holds it now.
Result<bool> steer(Spool& spool, std::string_view name, Steer s, std::optional<SpoolState>* where = nullptr);

}  // namespace msg
