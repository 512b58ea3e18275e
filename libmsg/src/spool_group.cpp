// spool_group.cpp - entries written in groups (Spool::GroupWriter), in the
// caller's thread, or created in a thread of the writer's own and committed
// by the caller.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "detail/huge_buffer.hpp"
#include "detail/spool_io.hpp"
#include "msg/spool.hpp"

namespace msg {

namespace {

using Durable = std::function<void(const std::string&)>;
using Told = std::vector<std::pair<std::string, Durable>>;   // entries in queue/, to tell

void tell(Told& told) {
    for (auto& [name, durable] : told)
        if (durable) durable(name);
    told.clear();
}

// The copies of the messages handed over to the background writer, made
// one after the other in blocks of huge pages (detail::HugeBuffer), each
// block used again once every copy in it is written and let go
// (detail::reuse_buffer): a copy costs no allocation, and once the first
// blocks are faulted in, no page fault (a copy in memory fresh from malloc
// took a fault every 4 KiB). The caller's thread's.
class CopyBlocks {
public:
    static constexpr std::size_t kBlock = detail::HugeBuffer::kHuge;
    static constexpr std::size_t kLargest = kBlock / 4;   // larger: a string of its own
    static constexpr std::size_t kKept = 8;               // blocks kept for use again (16 MiB)

    // A copy of `m` and what holds it; false when `m` is larger than
    // kLargest or no block could be mapped.
    bool copy(std::string_view m, std::string_view& copied, std::shared_ptr<const void>& keep) {
        if (m.size() > kLargest) return false;
        if (!current_ || kBlock - used_ < m.size()) {
            current_.reset();   // (taken again at once if its copies are all written)
            std::shared_ptr<detail::HugeBuffer> b = detail::reuse_buffer(blocks_, kKept);
            if (!b->reserve(kBlock)) return false;
            current_ = std::move(b);
            used_ = 0;
        }
        char* at = current_->data() + used_;
        std::memcpy(at, m.data(), m.size());
        used_ += m.size();
        copied = std::string_view(at, m.size());
        keep = std::shared_ptr<const void>(current_, at);   // (shares the block's count)
        return true;
    }

private:
    std::vector<std::shared_ptr<detail::HugeBuffer>> blocks_;
    std::shared_ptr<detail::HugeBuffer> current_;
    std::size_t used_ = 0;
};

}  // namespace

struct Spool::GroupWriter::State {
    State(Spool& s, Options o) : batch(s), opt(o) {}

    // An entry as the caller made it: its name, its envelope's text and
    // the message.
    struct Item {
        std::string name, head;
        std::string copy;                  // the message, copied (`copied`),
        std::string_view kept;             // or where it is, held by `keep`
        std::shared_ptr<const void> keep;  // (or by the caller until written)
        bool copied = false;
        Durable durable;
        std::string_view message() const { return copied ? std::string_view(copy) : kept; }
    };

    // The caller's: copies of the messages handed over.
    CopyBlocks copies;

    // The writing thread's (the caller's, or the background thread's).
    Batch batch;
    const Options opt;
    Told group;   // created in tmp/, in the batch
    std::size_t group_bytes = 0;
    std::atomic<std::uint64_t> lost{0};

    // Create the entry in tmp/ (`created`); commit the group when it is full
    // (in the background: hand it to the caller to commit, see seal()).
    // `by_caller`: an error is this entry's caller's to report (add() in the
    // caller's thread), so that a commit that fails does not count the
    // entry as lost too.
    Status write(Item& it, Told& out, bool& created, bool by_caller) {
        auto added = GroupWriter::create(batch, it.head, it.message(), std::move(it.name));
        created = added.ok();
        if (!added) return added.error();
        group.emplace_back(std::move(*added), std::move(it.durable));
        group_bytes += it.message().size();
        if (group.size() < opt.max_entries && group_bytes < opt.max_bytes) return Ok{};
        if (opt.background) {
            seal();
            return Ok{};
        }
        return commit(out, by_caller);
    }

    // Commit the group: the entries renamed into queue/ (in order) to be
    // told; on an error the others are removed and counted as lost (all
    // but the last when `last_reported`: its add() returns the error).
    Status commit(Told& out, bool last_reported = false) {
        group_bytes = 0;
        return commit(batch, group, out, last_reported);
    }
    Status commit(Batch& b, Told& g, Told& out, bool last_reported = false, std::vector<int>* open = nullptr) {
        if (g.empty()) return Ok{};
        const std::size_t before = b.size();
        const Status st = GroupWriter::commit(b, open);
        const std::size_t done = before - b.size();
        for (std::size_t i = 0; i < done; ++i) out.push_back(std::move(g[i]));
        if (!st) {
            lost += g.size() - done - (last_reported && done < g.size() ? 1 : 0);
            b.abandon();   // not left for the next group to commit unannounced
        }
        g.clear();
        return st;
    }

    // --- background: the caller hands entries over; under mu -------------
    // A full group the thread created, for the caller to commit.
    struct Sealed {
        std::unique_ptr<Batch> batch;
        Told group;
    };
    // Full groups in the caller's hands (waiting, being committed, or
    // their files to close), at most: with the thread's open group, three
    // groups' files are open.
    static constexpr std::size_t kSealed = 2;
    static constexpr std::size_t kWakeEntries = 32, kWakeBytes = 256 << 10;
    std::mutex mu;
    std::condition_variable work_cv, room_cv;
    std::vector<Item> queue;     // handed over, not taken yet
    std::deque<Sealed> sealed;   // created, in order, to commit
    std::vector<Item> written;   // taken and written: freed by the caller, who made them
    std::size_t in_flight = 0;   // message bytes handed over and not written yet
    std::size_t queued = 0;      // entries handed over and not written yet
    bool idle = false;           // the thread waits for work_cv
    bool waiting = false;        // the caller waits for room_cv
    bool flushing = false;       // flush() waits for the queue and the group
    std::size_t committing = 0;  // groups the caller took and commits
    // Files of committed groups, for the thread to close (their close()
    // is the one system call of an entry that neither thread needs to
    // wait for), and how many groups they are.
    std::vector<int> to_close;
    std::size_t closing_groups = 0;
    bool closing = false;
    bool failed = false;         // after an error: no entry is taken any more
    bool reported = false;       // ... and the error was returned
    Error error;
    std::thread thread;

    // An error to return once: the first, or a later commit's after the
    // first was returned (the group written before it).
    void fail(const Error& e) {   // under mu
        if (!failed || reported) {
            failed = true;
            error = e;
            reported = false;
        }
        lost += queue.size();
        queued -= queue.size();
        for (const Item& it : queue) in_flight -= it.message().size();
        queue.clear();
    }

    // The thread's group to the caller, to commit (the thread's; mu not
    // held): waits while kSealed groups wait.
    void seal() {
        if (group.empty()) return;
        Sealed g{GroupWriter::take(batch), std::move(group)};
        group.clear();
        group_bytes = 0;
        std::unique_lock lock(mu);
        for (;;) {
            close_files(lock);
            if (closing || sealed.size() + committing + closing_groups < kSealed) break;
            work_cv.wait(lock, [&] { return closing || !to_close.empty() || sealed.size() + committing < kSealed; });
        }
        sealed.push_back(std::move(g));
        if (waiting) room_cv.notify_one();
    }

    // The thread's: close the files the caller committed (with `lock`).
    void close_files(std::unique_lock<std::mutex>& lock) {
        if (to_close.empty()) return;
        std::vector<int> fds;
        fds.swap(to_close);
        closing_groups = 0;
        lock.unlock();
        for (int fd : fds) spool_io::close_fd(fd);
        lock.lock();
    }

    // The caller's: commit the groups the thread sealed, in order, adding
    // those renamed into queue/ to `out`; an error is kept to return (the
    // entries after it in its group are lost). Called and returns with
    // `lock` held.
    void commit_sealed(std::unique_lock<std::mutex>& lock, Told& out) {
        std::deque<Sealed> taken;
        taken.swap(sealed);
        committing = taken.size();
        lock.unlock();
        std::vector<Error> errors;
        std::vector<int> open;
        for (Sealed& g : taken)
            if (Status st = commit(*g.batch, g.group, out, false, &open); !st) errors.push_back(st.error());
        taken.clear();
        lock.lock();
        if (!open.empty()) {
            to_close.insert(to_close.end(), open.begin(), open.end());
            closing_groups += committing;
        }
        committing = 0;
        work_cv.notify_one();   // files to close, room for the thread's next group
        for (const Error& e : errors) fail(e);
    }

    // The caller's: commit what the thread seals until `done()` (under mu).
    template <class Done>
    void commit_until(std::unique_lock<std::mutex>& lock, Told& out, Done done) {
        for (;;) {
            if (!sealed.empty()) {
                commit_sealed(lock, out);
                continue;
            }
            if (done()) return;
            if (idle && !queue.empty()) work_cv.notify_one();   // (woken for a few entries at once: see add())
            waiting = true;
            room_cv.wait(lock, [&] { return done() || !sealed.empty(); });
            waiting = false;
        }
    }

    // The thread: takes what was handed over, all of it at once, and
    // writes it; seals the group when flush() asks.
    void run() {
        std::vector<Item> taken;
        std::unique_lock lock(mu);
        for (;;) {
            idle = true;
            work_cv.wait(lock, [&] { return closing || flushing || !queue.empty() || !to_close.empty(); });
            idle = false;
            close_files(lock);
            if (closing) return;
            if (!flushing && queue.empty()) continue;
            Told none;   // (the caller commits: see seal())
            Status st = Ok{};
            std::size_t bytes = 0, count = 0;
            if (!queue.empty()) {
                taken.swap(queue);
                lock.unlock();
                std::uint64_t not_in_tmp = 0;
                for (Item& it : taken) {
                    bytes += it.message().size();
                    ++count;
                    bool created = false;
                    if (st) st = write(it, none, created, false);   // after an error: handed over, not written
                    if (!created) ++not_in_tmp;
                }
                lost += not_in_tmp;
                lock.lock();
                // Back to the caller, whose thread made them, to free (and
                // to let go of the kept bytes).
                if (written.empty()) written.swap(taken);
                else written.insert(written.end(), std::make_move_iterator(taken.begin()),
                                    std::make_move_iterator(taken.end()));
                taken.clear();
            } else {   // flushing, nothing handed over: the last group to the caller
                lock.unlock();
                seal();
                lock.lock();
                flushing = false;
            }
            in_flight -= bytes;
            queued -= count;
            if (!st) fail(st.error());
            if (waiting) room_cv.notify_one();
        }
    }
};

namespace {

// Groups no larger than the open files allowed: each entry's file stays
// open until its group is committed, and in the background three groups'
// files may be open at once. 64 are left to the rest of the process.
Spool::GroupWriter::Options fit_open_files(Spool::GroupWriter::Options o) {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        const std::size_t groups = o.background ? 3 : 1;
        const auto limit = static_cast<std::size_t>(rl.rlim_cur);
        o.max_entries = std::min(o.max_entries, limit > 64 + groups ? (limit - 64) / groups : 1);
    }
    o.max_entries = std::max<std::size_t>(o.max_entries, 1);
    return o;
}

}  // namespace

Spool::GroupWriter::GroupWriter(Spool& s, Options o) : s_(std::make_unique<State>(s, fit_open_files(o))) {
    if (!o.background) return;
    try {
        s_->thread = std::thread([st = s_.get()] { st->run(); });
    } catch (const std::exception&) {   // (system_error, or bad_alloc for a thread's state)
        // No thread to be had (a limit on processes, or on memory for its
        // stack): the entries are written in the caller's thread.
        o.background = false;
        s_ = std::make_unique<State>(s, fit_open_files(o));
    }
}

Spool::GroupWriter::~GroupWriter() {
    if (!s_->thread.joinable()) return;
    {
        std::lock_guard lock(s_->mu);
        s_->closing = true;
        s_->lost += s_->queue.size();
        s_->queue.clear();
    }
    s_->work_cv.notify_one();
    s_->thread.join();
    for (int fd : s_->to_close) spool_io::close_fd(fd);
    // The batches' destructors remove what was created and not committed.
}

std::uint64_t Spool::GroupWriter::lost() const { return s_->lost; }

Status Spool::GroupWriter::add(Envelope env, std::string_view message, std::string_view key, Durable durable,
                               std::shared_ptr<const void> keep) {
    State& s = *s_;
    State::Item it;
    it.name = new_entry_name(key);
    it.head = format_envelope(env);
    if (!s.thread.joinable()) {
        it.kept = message;
        it.durable = std::move(durable);
        Told told;
        bool created = false;
        // lost() counts only entries whose add() said yes: this one's error
        // is returned here.
        Status st = s.write(it, told, created, true);
        tell(told);
        return st;
    }
    // A message larger than may wait, and not kept, is not copied: this
    // call waits until the writer is done with it.
    const bool lend = !keep && message.size() > kQueued;
    if (keep || lend) {
        it.kept = message;
        it.keep = std::move(keep);
    } else if (!s.copies.copy(message, it.kept, it.keep)) {   // (a large one: a string of its own)
        it.copy.assign(message);
        it.copied = true;
    }
    it.durable = std::move(durable);
    Told told;
    std::vector<State::Item> written;
    Status result = Ok{};
    bool wake = false;
    {
        std::unique_lock lock(s.mu);
        const std::size_t size = message.size();
        // Room for it, or nothing else in flight (a large message alone).
        const auto room = [&] {
            return s.failed || s.queued == 0 || (s.in_flight + size <= kQueued && s.queued < kQueuedEntries);
        };
        s.commit_until(lock, told, room);
        written.swap(s.written);
        if (s.failed) {
            result = s.error;
            s.reported = true;
        } else {
            s.queue.push_back(std::move(it));
            s.in_flight += size;
            ++s.queued;
            if (lend) {
                s.work_cv.notify_one();
                s.commit_until(lock, told, [&] { return s.queued == 0; });
                written.insert(written.end(), std::make_move_iterator(s.written.begin()),
                               std::make_move_iterator(s.written.end()));
                s.written.clear();
            } else {
                // An idle thread is woken for a few entries at once, not
                // for each (flush() and a lent message wake it too).
                wake = s.idle && (s.queued >= State::kWakeEntries || s.in_flight >= State::kWakeBytes);
            }
        }
    }
    if (wake) s.work_cv.notify_one();
    written.clear();
    tell(told);
    return result;
}

Status Spool::GroupWriter::flush() {
    State& s = *s_;
    Told told;
    if (!s.thread.joinable()) {
        Status st = s.commit(told);
        tell(told);
        return st;
    }
    Status result = Ok{};
    {
        std::unique_lock lock(s.mu);
        s.flushing = true;
        s.work_cv.notify_one();
        s.commit_until(lock, told, [&] { return !s.flushing; });   // the last group sealed first
        s.written.clear();
        if (s.failed && !s.reported) {
            s.reported = true;
            result = s.error;
        }
    }
    tell(told);
    return result;
}

}  // namespace msg
