// sender.hpp - delivering a spool: `jobs` SMTP sessions at once, each
// claiming due entries, sending them and settling them by the rules of
// delivery.hpp. One pass takes every entry due at its start (DueScan); the
// sessions are driven by event loops over non-blocking sockets, a loop for
// every 16 sessions and at most one per core, not by a thread per session. The caller decides how often to pass (once, or again and again
// to watch a spool) and prints what it is told.
//
//   msg::Sender sender(spool, options, events);
//   msg::SendPass p = sender.pass(stop);      // returns when nothing is due, or at `stop`
//
// Each session carries up to max_per_connection messages; with PIPELINING
// the next entry is claimed and prepared while the current one is under
// way, so that its envelope follows the final dot in the same write. A
// session that cannot be had (no connection, a 421 or 554 greeting, a
// failed STARTTLS or AUTH) is tried with each fallback server in turn
// (RFC 5321 5.1; one that failed is not tried again in the same pass);
// when none gives one, the lane leaves its entry as it was and stops,
// rather than knock again for every entry. An entry stopped before its
// outcome was known stays as it was, as after SIGKILL; one whose final dot
// went unanswered is deferred (it may have been delivered).
//
// Time limits (SessionOptions, RFC 5321 4.5.3.2): each covers a whole step,
// never a single read, set when the step begins: connecting (the greeting
// limit, for each address of the server's name), a TLS handshake, a whole
// reply, a whole write (the data-block limit for each MiB begun). A server
// that answers a byte at a time meets them too.
//
// Stopping: pass()'s flag is looked at at least every 200 ms. Once it is
// set nothing more is written; a reply already on its way gets half a
// second to arrive whole (so that a message whose final dot was answered is
// not sent again); then what is in flight is given up (Delivery::
// interrupted, and unanswered_dot when a final dot went out), no QUIT.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "msg/delivery.hpp"
#include "msg/result.hpp"
#include "msg/smtp/client.hpp"
#include "msg/smtp/client_session.hpp"
#include "msg/spool.hpp"

namespace msg {

struct SendOptions {
    smtp::Endpoint server;
    std::vector<smtp::Endpoint> fallback;   // tried in order when no session can be had with server
    smtp::SessionOptions session;    // session.stop is set by pass() from its `stop`
    SettleOptions settle;            // its server and remote_mta are set by the Sender: the session's server
    unsigned jobs = 1;               // sessions at once
    unsigned max_per_connection = 100;
    double rate = 0;                 // messages per second, all sessions together; 0: no limit
    std::string transcript_dir;      // a transcript (0600) per session here; empty: none
};

// What a run tells its caller. Calls come from the loops' threads and, for
// tick(), from the thread in pass(), one at a time: the Sender serialises
// them, so an implementation needs no lock of its own.
class SendEvents {
public:
    virtual ~SendEvents() = default;
    // An entry was attempted and settled (sent, partial, deferred, failed).
    virtual void settled(const std::string& entry, const Settlement& s, const Delivery& d) = 0;
    // An entry that cannot be sent as it is (unsendable()) was failed;
    // `failed_as`: its name in failed/ when not `entry` (a name too long
    // for its reports', shortened: Claim::fail), else "".
    virtual void unsendable(const std::string& entry, const std::string& why, const std::string& failed_as) = 0;
    // A spool or transcript operation failed; the entry stays where it was.
    virtual void problem(const std::string& message) = 0;
    // No session could be had with a server (`why` names it), and the
    // next fallback is tried instead: once a pass for each server.
    virtual void fell_back(const std::string& why, const std::string& next) { (void)why, (void)next; }
    // About ten times a second: how many entries this pass has dealt with.
    virtual void tick(std::uint64_t done) { (void)done; }
};

struct SendTotals {
    std::atomic<std::uint64_t> sent{0}, deferred{0}, failed{0}, partial{0}, skipped{0};
    std::atomic<std::uint64_t> sessions{0}, errors{0};
    std::atomic<std::uint64_t> no_memory{0};   // of the errors: an entry too large to read (it stays queued)
    std::atomic<std::uint64_t> unrecorded{0};  // of the errors: an entry the server accepted, its outcome not recorded
    std::atomic<bool> reached{false};   // some session got as far as a greeting
};

struct SendPass {
    bool unreachable = false;    // no session was ever had: nothing was sent (but `expired` failed)
    std::uint64_t expired = 0;   // unreachable: deferred entries past max_age, failed (5.4.7)
    bool left_behind = false;    // some session lost its server: entries wait for a later pass
    std::uint64_t left = 0;      // how many: those the sessions had in hand and the due ones not taken
    bool stopped = false;        // the stop flag ended the pass: entries not dealt with wait for a later one
    std::string session_error;   // why a session could not be had (never empty when unreachable)
    std::optional<Error> scan_error;   // the spool could not be walked
    // An outcome could not be recorded (a rename or write in the spool
    // failed): no more entries were claimed, since what is sent and not
    // recorded is sent again by the next pass, and the sessions stopped as
    // at `stop` (nothing more written: not even the message of an entry
    // whose envelope was pipelined behind a final dot).
    bool unrecorded = false;
};

class Sender {
public:
    Sender(Spool& spool, const SendOptions& options, SendEvents& events);
    ~Sender();
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    // Deliver every entry due now over `jobs` sessions. Once a second, and
    // at the end, the spool is synced (settle() moves to sent/ are not
    // fsynced one by one: this bounds what a power failure could send
    // twice); not once `stop` is set, which ends the pass as SIGKILL would.
    // Returns when nothing is left or `stop` is set (within about a
    // second: sessions look at it too).
    SendPass pass(const std::atomic<bool>& stop);
    // Counts over every pass so far.
    const SendTotals& totals() const { return totals_; }

private:
    class Lane;
    struct Shared;
    void run(std::vector<std::unique_ptr<Lane>>& lanes);
    std::uint64_t expire_unreached(const std::string& why, const std::atomic<bool>& stop);
    std::string servers_text() const;
    Spool& spool_;
    SendOptions options_;
    SendEvents& events_;
    SendTotals totals_;
    std::unique_ptr<Shared> shared_;
};

}  // namespace msg
