// archive.hpp - how an archived message becomes a spool entry, and back.
//
// mbox2spool and spool2mbox (and anything that moves mail between an mbox
// archive and a spool) agree here on one mapping, so that an archive taken
// into a spool and written out again comes back byte for byte:
//
//   Mbox-From: REST              the From_ line after "From ", verbatim
//   Mbox-From-Base64: B64        instead, when REST cannot be an annotation
//                                value (empty, leading blank, CR, LF, NUL)
//   Mbox-From-Eol: crlf          the From_ line ended in CRLF
//   Mbox-Separator: none | crlf  no empty line followed the message / a CRLF one
//   Mbox-Unquoted-From: N N ...  offsets in the message of "From " lines the
//                                archive had left unquoted (kept unquoted)
//   Mbox-Leading-Base64: B64     bytes before the archive's first From_ line
//                                (with the first message taken from it)
//   Mbox-Source: FILE INDEX      where it came from (informational)
//
// A message taken from a Maildir gets the From_ line an archive would
// give it (the sender and the file's delivery time) as Mbox-From, and:
//
//   Maildir-Flags: FLAGS         its flags (":2,FLAGS"), when it had any
//   Maildir-Source: PATH         the file it came from (informational)
// and one from an MH folder's file (mh.hpp):
//   Maildir-Flags: FLAGS         what the folder's sequences say, in Maildir's letters
//   MH-Source: PATH              the file it came from (informational)
//
// The entry's name carries a key (message_key) computed from the From_
// line and the message bytes, by which a writer recognises a message
// already in the spool (docs/spool-format.md, "Names").
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msg/envelope.hpp"
#include "msg/maildir.hpp"
#include "msg/mbox.hpp"
#include "msg/result.hpp"
#include "msg/spool.hpp"
#include "msg/spool_entry.hpp"

namespace msg {

// "n" and 16 hex digits: a 64-bit hash of the From_ line and the message.
// Not a security measure: two different messages sharing it would make the
// second count as already there (one chance in 2^64 per pair).
std::string message_key(std::string_view from_line, std::string_view data);
// The key earlier builds gave the message: "m" and 16 hex digits of
// another hash (slower; see docs/spool-format.md).
std::string earlier_message_key(std::string_view from_line, std::string_view data);
// The hash of a key made by either, or false when `key` is neither.
bool parse_message_key(std::string_view key, std::uint64_t& hash);

// Which archived messages a spool holds already: each message key's number
// of entries, in any state. Copies are counted per archive: the k-th copy
// of a message in an archive is there already when the spool holds k
// entries of its key. So an archive holding the same message twice keeps
// both copies, a message found in two archives of one run is enqueued
// once, and a run repeated adds nothing.
class SpoolIndex {
public:
    // Takes the spool's import lock first (an flock on its directory, held
    // until the index is destroyed), so that two runs that enqueue by key
    // take turns and the second sees what the first enqueued; `waiting` is
    // called once when another run holds it.
    // The first `memory_keys` keys of each kind are held in memory, the rest
    // in a temporary file in the spool's tmp/ (Spool::for_each_key).
    static Result<SpoolIndex> of(const Spool& spool, const std::function<void()>& waiting = {},
                                 std::size_t memory_keys = kIndexMemoryKeys);
    SpoolIndex(SpoolIndex&&) noexcept;
    SpoolIndex& operator=(SpoolIndex&&) noexcept;
    ~SpoolIndex();
    // The messages asked of next are another archive's (or Maildir
    // file's), read in order: its copies are counted afresh. Called at each
    // archive's first message, also when one archive is given twice.
    void next_archive();
    // True when the spool holds this message of the current archive: by its
    // key, or by the key an earlier build gave it (earlier_message_key,
    // computed only when the spool holds such keys, so that a message
    // enqueued before an upgrade is found after it).
    bool holds(std::string_view key, std::string_view from_line, std::string_view data);
    // The message was enqueued under `key`: one more entry of it.
    void added(std::string_view key);
    // Why the index's file could not be read back. A key read from it as
    // absent is one the spool does not hold: its message is enqueued again,
    // never lost.
    std::optional<Error> error() const;
    // Why no temporary file could be written (no tmp/, the disk full): the
    // spool's names were sorted in memory, or the index is held in memory
    // from then on; memory grows with them.
    std::optional<Error> write_error() const;

private:
    SpoolIndex(const std::string& root, std::size_t memory_keys);
    // Per key hash: the spool's entries and the current archive's copies,
    // 16 bytes a slot in a table 58-88% full (archive.cpp), up to
    // `memory_keys` keys (4 to 7 MB at the default); past them the keys in
    // memory are merged into a file sorted by key (16 bytes each), memory
    // is emptied, and a key not in memory is read back from the file.
    struct Tables;
    std::unique_ptr<Tables> t_;
    std::shared_ptr<const int> lock_;   // the directory's fd, closed last
};

// Add the Mbox-* annotations of `m` (read from archive `source`) to `e`;
// `leading`: the archive's bytes before its first From_ line, given with
// the first message taken from it.
void annotate_mbox(Envelope& e, const MboxMessage& m, std::string_view source, std::string_view leading = {});

// The From_ line (after "From ") an archive gives a message of this sender
// delivered at `t`: "alice@example.org Mon Nov 23 09:15:00 2026"
// (MAILER-DAEMON for the null sender).
std::string make_from_line(std::string_view sender, std::time_t t);

// The Mbox-From and Maildir-* (or MH-Source) annotations of a Maildir's
// or an MH folder's message.
void annotate_maildir(Envelope& e, const MaildirFile& f);
// How the entry's message is kept in a Maildir. A message neither flagged
// nor seen is new (new/).
struct MaildirState {
    std::string flags;          // sorted
    bool seen = false;          // cur/ (a reader has seen it), not new/
};
// As it was in a Maildir (the Maildir-Flags and Maildir-Source annotations:
// its flags, and seen for a file of cur/) or an MH folder (Maildir-Flags
// and MH-Source: seen when flagged at all); nothing for an entry that was
// made from no folder's file. Reads the annotations only.
std::optional<MaildirState> folder_state(const SpoolEntry& e);
// folder_state(), else as its mail client marked it in an archive
// (client_flags: Status, X-Status, X-Mozilla-Status, as mb2md reads them).
MaildirState maildir_state(const SpoolEntry& e);

// Whether the mail client that kept the message had deleted it (it stays
// in an archive until the client compacts it, in a Maildir until it
// expunges, in an MH folder until it is packed): what marks it so
// ("X-Mozilla-Status 0x0008", "X-Status D", "Maildir flag T", "MH's
// deleted name ,N"), or "" when nothing does. `f`: the message's Maildir
// or MH file, when it is one.
std::string_view marked_deleted(const Derivation& d, const MaildirFile* f);

// What an MboxWriter needs to write an entry's message back.
struct MboxRecord {
    std::string from_line;         // after "From "
    bool from_made = false;        // the entry had no usable Mbox-From: one was made from MAIL FROM and `now`
    std::string ignored;           // why an annotation was not used ("" when all were)
    bool from_crlf = false;
    bool separator = true;
    bool separator_crlf = false;
    std::vector<std::size_t> unquoted_from;   // ascending offsets in the message
    std::string leading;           // bytes to write before the From_ line (MboxWriter::write_raw)
};
MboxRecord mbox_record(const SpoolEntry& e, std::time_t now);

// The entry's `message` with X-Envelope-From and X-Envelope-To fields
// before its header (in its own line endings); the offsets of
// `r.unquoted_from` move with it.
std::string with_envelope_fields(const SpoolEntry& e, std::string_view message, MboxRecord& r);

// `message` with a Maildir's state written as mail clients keep it in an
// mbox archive (mutt, mblaze's mexport -S), the reverse of client_flags:
// Status R for S, O for seen; X-Status A for R, F for F, T for D (draft),
// D for T (trashed). The fields go at the end of the header, in the
// message's line endings, in place of the Status, X-Status and
// X-Mozilla-Status it had (the Maildir's flags are newer than what a
// client once wrote there, and are read back alone); one with
// nothing to say is left out, so a new message has neither. The offsets
// of `r.unquoted_from` move with the bytes.
std::string with_status_fields(std::string_view message, const MaildirState& s, MboxRecord& r);

}  // namespace msg
