// spool.hpp - spool entries: an SMTP envelope, an empty line, a message.
//
//   MAIL FROM:<alice@example.org> BODY=8BITMIME
//   RCPT TO:<bob@example.net>
//   RCPT TO:<carol@example.net> NOTIFY=FAILURE
//   Mbox-From: alice@example.org Mon Nov 23 09:15:00 2026
//                                              <- empty line
//   From: Alice <alice@example.org>
//   ...
//
// Envelope lines are SMTP commands (MAIL, RCPT) or annotations (Name: value)
// that senders never send. docs/spool-format.md is the full specification.
// parse_spool_entry() reads an entry from memory; every piece is a span
// into it, and what is malformed is reported as a defect, never thrown.
//
// The second half of this header is the spool directory: entries move
// between tmp/, queue/, deferred/, sent/ and failed/ by rename only, so an
// entry is always whole in exactly one state (docs/spool-format.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "msg/address.hpp"
#include "msg/defect.hpp"
#include "msg/result.hpp"

namespace msg {

// One ESMTP parameter, esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2).
struct EsmtpParam {
    std::string_view keyword;
    std::string_view value;     // empty when there is no "="
    bool has_value = false;
    std::size_t offset = 0;     // of the keyword, in the entry
};

struct EnvelopeLine {
    enum class Kind { mail, rcpt, annotation, invalid };
    Kind kind = Kind::invalid;
    std::size_t offset = 0;     // of the line in the entry
    std::string_view text;      // the line without its line ending
    // mail, rcpt:
    Path path;                  // offsets in `path` are relative to path_offset
    std::size_t path_offset = 0;
    std::vector<EsmtpParam> params;
    // annotation:
    std::string_view name, value;

    const EsmtpParam* param(std::string_view keyword) const;  // case-insensitive
};

struct SpoolEntry {
    std::vector<EnvelopeLine> envelope;
    bool has_separator = false;  // the empty line was found
    std::size_t message_offset = 0;
    std::string_view message;    // the message's bytes
    std::size_t message_line = 1;  // line of the entry where the message starts
    Defects defects;             // envelope syntax (offsets in the entry)

    const EnvelopeLine* mail() const;                      // the first MAIL line, or null
    std::vector<const EnvelopeLine*> recipients() const;   // RCPT lines in order
    std::string_view annotation(std::string_view name) const;  // first value, or ""
    bool smtputf8() const;       // MAIL has SMTPUTF8
    std::string_view body_type() const;  // MAIL's BODY= value ("" when absent)
};

// True when `data` looks like a spool entry: it starts with "MAIL FROM:" or
// "RCPT TO:" (neither can begin a message: a field name has no space).
bool looks_like_spool_entry(std::string_view data) noexcept;

// Parse an entry. Syntax defects of the envelope (envelope.*) are in
// `defects`; the message itself is not parsed.
SpoolEntry parse_spool_entry(std::string_view data);

// ESMTP parameters after a path: SP-separated esmtp-param list. `base` is
// the offset of `s` in the entry; malformed ones are reported.
std::vector<EsmtpParam> parse_esmtp_params(std::string_view s, std::size_t base, Defects* defects);

// --- writing entries ---------------------------------------------------------

// An envelope to write. Paths are without angle brackets ("" is the null
// reverse-path <>); parameters are "KEYWORD" or "KEYWORD=value".
struct Envelope {
    struct Rcpt {
        std::string address;
        std::vector<std::string> params;
    };
    std::string mail_from;
    std::vector<std::string> mail_params;
    std::vector<Rcpt> rcpts;
    // Annotations in order, e.g. {"Mbox-From", "alice@example.org Mon Nov 23 09:15:00 2026"}.
    std::vector<std::pair<std::string, std::string>> annotations;

    std::string_view annotation(std::string_view name) const;  // first value, or ""
};

// The envelope lines (LF line endings) and the empty line that ends them.
// A path that needs quoting is written as given: the caller passes RFC 5321
// mailboxes. Annotation values must not contain line breaks (they are
// replaced by spaces).
std::string format_envelope(const Envelope& e);

// The envelope of a parsed entry, as values (invalid lines are dropped).
Envelope envelope_of(const SpoolEntry& entry);

// --- the spool directory ------------------------------------------------------

enum class SpoolState : std::uint8_t { queue, deferred, sent, failed };
std::string_view state_dir(SpoolState s);  // "queue", "deferred", "sent", "failed"

// A new entry name: unique across hosts and processes, sorting in enqueue
// order: "<UTC time to the microsecond>.<pid>.<sequence>.<host>" and, when
// `key` is not empty, ".<key>" (letters, digits, '-' and '_' only; others
// are replaced by '_'; a key "report" or "json" becomes "report_", "json_",
// so that no entry name ends like a report file). See docs/spool-format.md.
// The only global state of the spool code is the atomic sequence used here.
std::string new_entry_name(std::string_view key = {});
// The key part of a name ("" when none).
std::string_view entry_key(std::string_view name);

struct RetryRecord {
    std::chrono::system_clock::time_point when;
    std::string what;   // one line: the server's reply or the error
};

// The retry history of an entry (its Attempt: and Next-Attempt: lines).
struct RetryInfo {
    std::size_t attempts = 0;                                    // Attempt: lines
    std::optional<std::chrono::system_clock::time_point> first;  // the first Attempt:
    std::optional<std::chrono::system_clock::time_point> next;   // Next-Attempt: (none: due now)
};
RetryInfo retry_info(const SpoolEntry& entry);

// An RFC 3339 date-time ("2026-11-23T08:15:00Z", fractions and offsets
// accepted); nothing when malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);
// When an entry was enqueued, from its name (docs/spool-format.md, Names).
std::optional<std::chrono::system_clock::time_point> entry_time(std::string_view name);

class Spool;

// An entry held by this process. While a Claim is alive no other process
// can claim the entry (an OFD fcntl lock on its file, released by the
// kernel if this process dies, which is how a dead sender's entry is
// recovered). The transitions end the claim; one that fails keeps it while
// the entry has not moved (state() tells where it is), and a Claim whose
// claim has ended answers EBADF. A Claim must not cross fork().
class Claim {
public:
    Claim(Claim&&) noexcept;
    Claim& operator=(Claim&&) noexcept;
    ~Claim();  // releases the lock; the entry stays where it is

    const std::string& name() const { return name_; }
    SpoolState state() const { return state_; }
    const std::string& data() const { return data_; }  // the whole entry file

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
    // matches, EINVAL and nothing changes (the claim stays).
    Status defer(const std::vector<std::string>& pending, const RetryRecord& record,
                 std::chrono::system_clock::time_point next_attempt);
    // Permanent failure: write failed/NAME.report (text) and, when `json` is
    // not empty, failed/NAME.json, and when `dsn` is not empty
    // failed/NAME.dsn (an RFC 3464 report message), then move the entry to
    // failed/.
    Status fail(std::string_view report, std::string_view json = {}, std::string_view dsn = {});
    // Permanent failure of some recipients only: a new entry with this
    // entry's MAIL line and annotations, the RCPT lines of `failed` (matched
    // as defer() matches them), a "Failed-From: NAME" annotation and the
    // message is written to failed/ with its reports (as fail() writes
    // them); the claim stays, for complete() or defer() of the others.
    // Returns the new entry's name.
    Result<std::string> fail_some(const std::vector<std::string>& failed, std::string_view report,
                                  std::string_view json = {}, std::string_view dsn = {});

private:
    friend class Spool;
    Claim() = default;
    // Move the entry into `to`, fsync both directories and end the claim.
    Status move_and_end(SpoolState to, bool durable = true);
    std::string root_, name_, data_;
    SpoolState state_ = SpoolState::queue;
    int fd_ = -1;
};

class Spool {
public:
    // Open a spool; with `create`, make the directory and its state
    // directories when missing.
    static Result<Spool> open(const std::string& path, bool create);

    const std::string& path() const { return root_; }

    // Write an entry: tmp/NAME, fsync, rename into queue/ (then fsync queue/).
    // `name` empty: new_entry_name(). Returns the name.
    Result<std::string> enqueue(const Envelope& env, std::string_view message, std::string name = {});

    // Group commit for bulk writers: add() writes tmp/NAME without fsync;
    // commit() makes every added entry durable (fsync each file), renames
    // them into queue/ in order and fsyncs queue/. Entries not committed
    // stay in tmp/, invisible to senders. A caller-chosen name that exists
    // in any state, or in tmp/, is an error (EEXIST), never an overwrite.
    // When commit() fails part-way, the entries renamed before the failure
    // are in queue/ (and durable); the others stay pending (commit again,
    // or let the destructor remove them).
    class Batch {
    public:
        explicit Batch(Spool& s) : spool_(s) {}
        Batch(const Batch&) = delete;             // owns open fds and tmp/ files
        Batch& operator=(const Batch&) = delete;
        Result<std::string> add(const Envelope& env, std::string_view message, std::string name = {});
        Status commit();
        std::size_t size() const { return pending_.size(); }
        ~Batch();  // entries added and not committed are removed from tmp/

    private:
        Spool& spool_;
        std::vector<std::pair<std::string, int>> pending_;  // name, open fd
    };

    // Entry names in a state, sorted (enqueue order).
    Result<std::vector<std::string>> list(SpoolState s) const;
    // The first `max` names (sorted) greater than `after`: a spool of any
    // size walked in order with memory bounded by `max` names, at the cost
    // of reading the directory once per batch.
    Result<std::vector<std::string>> list(SpoolState s, std::string_view after, std::size_t max) const;
    // The state an entry is in, if any.
    std::optional<SpoolState> find(std::string_view name) const;
    // Every key (entry_key) present in any state, for idempotent writers.
    Result<std::vector<std::string>> keys() const;
    // Make every change to the spool's file system durable (syncfs).
    Status sync() const;
    // Remove leftovers in tmp/ older than `age` (writers that died).
    Status clean_tmp(std::chrono::seconds age);

    // Claim an entry of queue/ or deferred/. Returns no value (and no error)
    // when another process holds it or it has moved on.
    Result<std::optional<Claim>> claim(std::string_view name);
    // Read an entry without claiming it.
    Result<std::string> read(SpoolState s, std::string_view name) const;

private:
    std::string root_;
};

}  // namespace msg
