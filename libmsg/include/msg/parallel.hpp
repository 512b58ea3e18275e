// parallel.hpp - the messages of the input loop (inputs.hpp) worked on by
// several threads, the results taken back in input order.
//
// The input loop stays in the calling thread. Message files are read by the
// workers themselves, and a plain archive cut in pieces (add_archive,
// MboxPieces) is framed by them too; a message of another archive handed
// out by the loop (gzip, standard input, a locked archive, the
// Content-Length formats, one with bytes before its first From_ line) is
// copied out of the loop, whose views last only for its callback.
// Messages go to the workers in batches, through a queue, and the calling
// thread takes the results back in the order the messages came, so that
// what a program prints is the same, byte for byte, whatever the number of
// threads. Memory is bounded: at most a few batches per thread and about
// kBytesPerThread of message bytes per thread are between the loop and the
// output at any time (a larger message is let in alone, or worked on in the
// calling thread when it would have to be copied), the buffers
// kept for reuse hold no more than that past their usual size, and an
// archive's piece of many messages (kPieceMessages) hands its results out
// as it goes.
//
// With one thread nothing is copied and no thread is started: each message
// is worked on and its result emitted at once, inside the loop's callback.
#pragma once

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <msg/inputs.hpp>

namespace msg {

// The number of cores this process may run on (its CPU affinity), at least 1.
unsigned available_cores();

// A message of the input loop, held: its names, framing and such copied,
// its bytes kept where they are when the message says they may be
// (InputMessage::keep), else appended to an arena shared
// with other messages (one copy per batch, into a buffer that is reused).
// view() is the InputMessage the loop handed out, pointing here and into
// the arena once attach() was called (after the arena's last append:
// appending may move it).
class HeldMessage {
public:
    HeldMessage() = default;
    HeldMessage(const HeldMessage&) = delete;
    HeldMessage& operator=(const HeldMessage&) = delete;

    void hold(const InputMessage& im, std::string& arena);
    void attach(const std::string& arena);
    // Done with: a kept message's bytes are let go (their pages may go).
    void let_go();
    const InputMessage& view() const { return view_; }
    std::size_t size() const { return size_; }

private:
    std::size_t at_ = 0, size_ = 0;   // the bytes in the arena (unless kept)
    std::string leading_, from_line_;
    Defects framing_;
    MboxMessage mbox_;
    std::optional<MaildirFile> maildir_;
    InputMessage view_;
};

// Works on the messages of the input loop in `threads` threads and emits
// the results in input order in the calling thread. `Result` is what one
// message gives (default-constructible, movable); `work(k, message,
// result)` runs in worker k (0 <= k < threads: state a worker keeps may be
// indexed by it; a message worked on in the calling thread, see add(),
// gets 0 while no batch is in flight), `emit(result)` in the thread that calls add(),
// add_file() and drain(). An exception thrown by work() is thrown again by
// the call that would have emitted that message's result.
template <class Result>
class OrderedWork {
public:
    using Work = std::function<void(unsigned worker, const InputMessage& message, Result& result)>;
    using Emit = std::function<void(Result& result)>;
    using Problem = std::function<void(InputProblem problem, const std::string& path, const std::string& message)>;

    static constexpr std::size_t kBatchBytes = 256 * 1024;   // a batch is closed past this many bytes
    static constexpr std::size_t kBatchEntries = 64;         // ... or this many messages or files
    static constexpr std::size_t kBytesPerThread = 2 << 20;  // message bytes in flight, per thread
    static constexpr std::size_t kMinBytes = 8 << 20;        // ... but at least this many
    // Archive pieces found to hold no message (stretches inside a long
    // one) let in flight beyond the window of batches, so that the pieces
    // after a long message are found and worked on while it is.
    static constexpr std::size_t kIdlePieces = 256;
    // A piece that frames more messages than this (an archive with no
    // place to cut it, such as empty messages one after another: it is
    // one piece) works on them as it frames them, and hands its results
    // to the calling thread this many at a time, so that its memory does
    // not grow with the archive.
    static constexpr std::size_t kPieceMessages = 4096;

    OrderedWork(unsigned threads, Work work, Emit emit)
        : threads_(std::max(1u, threads)), work_(std::move(work)), emit_(std::move(emit)),
          max_bytes_(std::max(kMinBytes, kBytesPerThread * threads_)), max_batches_(4 * threads_) {
        if (threads_ > 1) start();
    }
    OrderedWork(const OrderedWork&) = delete;
    OrderedWork& operator=(const OrderedWork&) = delete;
    ~OrderedWork() { stop(); }

    // The threads working: as asked, or fewer when the system would not
    // give them all (a limit on processes, or on memory for their stacks);
    // 1 when it gave none, and the work is done in the calling thread.
    unsigned threads() const { return threads_; }
    // The stretch the pieces of an archive of `size` bytes should have
    // (add_archive): at least 16 pieces per thread, so that the last ones
    // even out; between 1 and 4 MiB. Each stretch that begins inside a long
    // message has that message's rest read twice, once to find where the
    // piece begins and once by the piece the message belongs to (a
    // third of the reads at 1 MiB over the archive with attachments of
    // tests/bench): longer stretches meet fewer, but a piece is framed
    // whole before it is worked on, and past 4 MiB it is no longer in the
    // cache then. With 2 threads over that 100 MiB archive (3.2 MiB) -j 2
    // took 7-8% less time than with 1 MiB, over the text one as long.
    std::size_t archive_stretch(std::uint64_t size) const {
        constexpr std::uint64_t kMin = std::uint64_t{1} << 20, kMax = std::uint64_t{4} << 20;
        return static_cast<std::size_t>(std::clamp<std::uint64_t>(size / (16 * std::uint64_t{threads_}), kMin, kMax));
    }
    // Where a message file read by a worker (add_file) that could not be
    // read is reported, in its place in the order, as InputOptions::on_error
    // reports it (its kind, its path, why).
    void on_problem(Problem p) { problem_ = std::move(p); }

    // One message of the input loop (call from its callback): worked on at
    // once with one thread, else copied for a worker.
    void add(const InputMessage& im) {
        const std::size_t size = im.data.size();
        // With one thread, or larger than all the bytes let in flight (then
        // once the results before it are out): worked on here, not copied.
        if (threads_ == 1 || (!im.keep && size > max_bytes_)) {
            if (threads_ > 1) drain();
            single_ = Result{};
            work_(0, im, single_);
            // A message file cut short meanwhile (mapped, its end read as
            // zeros) gives no result: the loop says it is unreadable, as
            // for a file a worker read (add_file).
            if (im.intact()) emit_(single_);
            return;
        }
        Entry& e = make_room(size);
        Batch& b = *open_;
        if (!im.keep && b.arena.capacity() - b.arena.size() < size) {
            // A new arena, or a large message alone in its batch: nothing
            // (or little) is copied.
            large_bytes_ -= large(b.arena);
            b.arena.reserve(std::max(kBatchBytes, b.arena.size() + size));
            large_bytes_ += large(b.arena);
        }
        e.is_file = false;
        e.message.hold(im, b.arena);
        b.bytes += size;
        bytes_ += size;
    }

    // A message file (an item of an InputListing), read by a worker with
    // read_input: its one message is worked on there, or its problem
    // reported to on_problem() here, in order. Needs more than one thread.
    void add_file(const InputItem& item) {
        Entry& e = make_room(0);
        e.is_file = true;
        e.file = item;
    }

    // The messages of an archive cut in pieces (MboxPieces), each piece
    // found, framed and worked on by a worker, its messages numbered as a
    // reader of the whole archive numbers them: this thread does not read
    // the archive, its framing is spread over the workers too. Needs more
    // than one thread.
    void add_archive(MboxPieces& pieces, const std::string& path, MboxFormat format) {
        auto chain = std::make_shared<Chain>();
        MboxPiece piece;
        for (std::uint64_t n = 0; pieces.next(piece); ++n) {
            if (open_) dispatch();   // a piece is a batch of its own
            // Counted by number, not by bytes: a piece holds the bytes of
            // what it frames only while it is worked on, which may be
            // nothing at all (a stretch inside a long message), and the
            // window of batches bounds how many are in flight.
            Entry& e = make_room(0);
            e.is_file = false;
            e.is_piece = true;
            e.piece = piece;
            e.number = n;
            e.chain = chain;
            e.path = path;
            e.format = format;
            dispatch();
        }
    }

    // Emit every result still to come, waiting for them: at the end, and
    // before the loop prints anything of its own (an input that cannot be
    // read), so that it comes after the output of the messages before.
    void drain() {
        if (open_) dispatch();
        while (!window_.empty()) retire_front();
    }

private:
    // The line and message counts of an archive's pieces, as their workers
    // learn them, and so the number of the first message and line of each
    // (under mu_).
    struct Counts {
        std::uint64_t messages = 0, lines = 0;
    };
    struct Chain {
        std::uint64_t next = 0;   // the pieces before it have said their counts,
        Counts sum;               // which together are its base
        std::map<std::uint64_t, Counts> counted;   // said out of turn
        std::map<std::uint64_t, Counts> bases = {{0, Counts{}}};   // known, not yet taken
        std::set<std::uint64_t> unwanted;   // pieces without messages, whose bases are not kept
        bool failed = false;                // a piece could not be read, and said so
    };
    struct Entry {
        HeldMessage message;   // a message of the loop, held,
        InputItem file;   // or a message file to read (is_file)
        bool is_file = false;
        // or a piece of an archive (is_piece): its results, one per message
        bool is_piece = false;
        MboxPiece piece;
        std::uint64_t number = 0;   // in its archive
        std::shared_ptr<Chain> chain;
        std::string path;   // the archive's (a piece), or the file's that could not be read
        MboxFormat format = MboxFormat::mboxrd;
        std::vector<Result> results;
        std::uint64_t framed = 0;   // its messages
        std::vector<Result> ready;  // results handed out before it is done, to emit before `results` (under mu_)
        Result result;
        bool failed = false;   // the file could not be read (or was cut short while
                               // worked on: its result is dropped, the problem said):
        InputProblem problem = InputProblem::missing;
        std::string error;     // why
    };
    struct Batch {
        std::string arena;                            // the held messages' bytes
        std::vector<std::unique_ptr<Entry>> entries;  // the first `used` are this batch's
        std::size_t used = 0, bytes = 0;
        std::exception_ptr error;   // thrown by work() on entry error_at
        std::size_t error_at = 0;
        bool done = false;
        bool idle = false;   // done, a piece that held no message (under mu_)
    };

    // The next entry of the open batch, after waiting for room for `size`
    // more bytes: the batches and bytes in flight stay within bounds.
    Entry& make_room(std::size_t size) {
        emit_ready();
        if (open_ && (open_->used >= kBatchEntries || open_->bytes + size > kBatchBytes)) dispatch();
        if (!open_) wait_for_batch_room();
        while (!window_.empty() && bytes_ + size > max_bytes_) {
            if (window_.front().get() == open_) dispatch();
            retire_front();
        }
        if (!open_) open_batch(size);
        Batch& b = *open_;
        if (b.entries.size() == b.used) b.entries.push_back(std::make_unique<Entry>());
        Entry& e = *b.entries[b.used++];
        e.result = Result{};
        e.failed = false;
        e.is_piece = false;
        e.results.clear();
        e.framed = 0;
        return e;
    }

    void start() {
        // Reserved first: a vector that cannot grow throws before any
        // worker runs (this is the constructor: a worker started would
        // outlive an exception leaving it).
        workers_.reserve(threads_);
        try {
            for (unsigned k = 0; k < threads_; ++k) workers_.emplace_back([this, k] { run(k); });
        } catch (const std::exception&) {   // (system_error, or bad_alloc for a thread's state)
            // The threads started do the work; with none, it is done here.
        }
        threads_ = std::max<unsigned>(1, static_cast<unsigned>(workers_.size()));
        if (workers_.empty()) return;
        max_bytes_ = std::max(kMinBytes, kBytesPerThread * threads_);
        max_batches_ = 4 * threads_;
    }

    void stop() {
        {
            std::lock_guard lock(mu_);
            closing_ = true;
            todo_.clear();
        }
        todo_cv_.notify_all();
        chain_cv_.notify_all();
        taken_cv_.notify_all();
        for (std::thread& t : workers_) t.join();
        workers_.clear();
    }

    void run(unsigned k) {
        for (;;) {
            Batch* b = nullptr;
            {
                std::unique_lock lock(mu_);
                todo_cv_.wait(lock, [&] { return closing_ || !todo_.empty(); });
                if (todo_.empty()) return;
                b = todo_.front();
                todo_.pop_front();
            }
            std::size_t i = 0;
            try {
                for (; i < b->used; ++i) work_on(k, *b->entries[i]);
            } catch (...) {
                b->error = std::current_exception();
                b->error_at = i;
            }
            bool wake = false;
            {
                std::lock_guard lock(mu_);
                b->done = true;
                b->idle = !b->error && b->used == 1 && b->entries[0]->is_piece && b->entries[0]->framed == 0;
                if (b->idle) ++idle_;
                // (A piece without a message makes room in the window.)
                wake = ++done_ >= wake_at_ || b->idle || handing_out_ > 0;
            }
            if (wake) done_cv_.notify_one();
        }
    }

    void work_on(unsigned k, Entry& e) {
        if (e.is_piece) return work_on_piece(k, e);
        if (!e.is_file) {
            work_(k, e.message.view(), e.result);
            return;
        }
        InputOptions o;
        o.on_error = [&](InputProblem p, const std::string& path, const std::string& message) {
            e.failed = true;
            e.problem = p;
            e.path = path;
            e.error = message;
        };
        InputCounts counts;   // counted where reported
        read_input(e.file, o, [&](const InputMessage& im) {
            work_(k, im, e.result);
            return true;
        }, counts);
    }

    // A piece: found and framed (its messages held, an unquoted copy or a
    // too large message's From_ line copied), its counts said, then, once
    // the pieces before have said theirs, its messages numbered and worked
    // on. A piece of more than kPieceMessages messages waits for its base
    // as it frames, then works on each message as it is framed and hands
    // the results out as it goes: what it holds stays bounded, and it says
    // its counts at its end.
    void work_on_piece(unsigned k, Entry& e) {
        struct Framed {
            MboxMessage m;
            std::string data, from_line;   // copies the parser made
        };
        std::deque<Framed> framed;   // does not move its elements
        Counts counts;
        MboxOptions mo;
        mo.format = e.format;
        std::uint64_t at = 0;   // the piece's offset in the archive
        std::optional<Counts> base;   // taken: the messages are worked on as framed
        InputMessage im;
        im.file = e.path;
        im.source = e.path;
        MboxMessage numbered;
        // A message numbered as in the whole archive, and worked on.
        const auto work_one = [&](const MboxMessage& m) {
            numbered = m;
            numbered.index += base->messages;
            numbered.offset += at;
            numbered.line += base->lines;
            numbered.data_offset += at;
            numbered.data_line += base->lines;
            numbered.data_end += at;
            point_at(im, numbered);
            e.results.emplace_back();
            try {
                work_(k, im, e.results.back());
            } catch (...) {
                e.results.pop_back();   // the results before it are emitted, then this is thrown
                throw;
            }
            numbered.keep.reset();   // its bytes may go
            im.keep.reset();
            // (Only a piece worked on as framed has more than kPieceMessages.)
            if (e.framed > kPieceMessages && e.results.size() >= kPieceMessages) hand_out(e);
        };
        msg::Result<std::uint64_t> lines = std::uint64_t{0};
        try {
            lines = MboxPieces::frame(e.piece, mo, at, [&](MboxMessage& m) {
                ++e.framed;
                if (base) return work_one(m);
                Framed& f = framed.emplace_back();
                f.m = m;
                if (m.unquoted) f.m.data = f.data.assign(m.data);
                if (m.too_large) f.m.from_line = f.from_line.assign(m.from_line);
                if (framed.size() <= kPieceMessages) return;
                base = take_base(e);
                for (Framed& held : framed) work_one(held.m);
                framed.clear();
            });
        } catch (...) {
            say_counts(e, counts);   // the pieces after this one go on
            throw;
        }
        if (!lines) {
            // The archive cannot be read here (cut short since it was
            // opened): said in this piece's place, once per archive, as a
            // reader of the whole archive would stop there.
            {
                std::lock_guard lock(mu_);
                if (!e.chain->failed) {
                    e.chain->failed = true;
                    e.failed = true;
                    e.problem = lines.error().errnum == ENOMEM ? InputProblem::no_memory : InputProblem::unreadable;
                    e.error = lines.error().message;
                }
            }
            say_counts(e, counts, base.has_value());
            return;
        }
        counts.lines = *lines;
        counts.messages = e.framed;
        if (e.framed == 0) {   // a stretch inside a message: nothing to number
            say_counts(e, counts, false);
            return;
        }
        say_counts(e, counts);
        if (base) return;   // worked on as framed
        base = take_base(e);
        for (Framed& f : framed) {
            work_one(f.m);
            f.m.keep.reset();
        }
    }

    // Thrown in a worker when the work is given up (stop()).
    struct Closing {};

    // The counts of the pieces before this one, once they said them.
    Counts take_base(Entry& e) {
        std::unique_lock lock(mu_);
        Chain& c = *e.chain;
        chain_cv_.wait(lock, [&] { return closing_ || c.bases.count(e.number) > 0; });
        if (closing_) throw Closing{};
        const Counts base = c.bases[e.number];
        c.bases.erase(e.number);
        return base;
    }

    // A piece's results so far to the calling thread (ready), once it took
    // those handed out before.
    void hand_out(Entry& e) {
        {
            std::unique_lock lock(mu_);
            if (!e.ready.empty()) {
                // Waiting for this thread: it takes them once the piece is at
                // the front, so it must retire each batch before as soon as
                // it is done, not wait for several (wake_at_). It may be
                // asleep with the front done already.
                ++handing_out_;
                done_cv_.notify_one();
                taken_cv_.wait(lock, [&] { return closing_ || e.ready.empty(); });
                --handing_out_;
            }
            if (closing_) throw Closing{};
            e.ready.swap(e.results);
        }
        done_cv_.notify_one();
    }

    // A piece's counts; `wants_base`: it has messages to number, and waits
    // for the counts of the pieces before it.
    void say_counts(Entry& e, Counts counts, bool wants_base = true) {
        {
            std::lock_guard lock(mu_);
            Chain& c = *e.chain;
            if (!wants_base && c.bases.erase(e.number) == 0) c.unwanted.insert(e.number);
            c.counted[e.number] = counts;
            for (auto it = c.counted.find(c.next); it != c.counted.end(); it = c.counted.find(c.next)) {
                c.sum.messages += it->second.messages;
                c.sum.lines += it->second.lines;
                c.counted.erase(it);
                if (c.unwanted.erase(++c.next) == 0) c.bases[c.next] = c.sum;
            }
        }
        chain_cv_.notify_all();
    }

    // The part of an arena's capacity past a batch's usual size.
    static std::size_t large(const std::string& arena) {
        return arena.capacity() > kBatchBytes ? arena.capacity() - kBatchBytes : 0;
    }

    // A batch, reused when there is a spare one: the one whose arena holds
    // `size` bytes with the least room to spare, else the largest.
    void open_batch(std::size_t size) {
        std::unique_ptr<Batch> b;
        if (!spare_.empty()) {
            std::size_t best = 0;
            for (std::size_t i = 1; i < spare_.size(); ++i) {
                const std::size_t c = spare_[i]->arena.capacity(), bc = spare_[best]->arena.capacity();
                if (bc < size ? c > bc : (c >= size && c < bc)) best = i;
            }
            std::swap(spare_[best], spare_.back());
            b = std::move(spare_.back());
            spare_.pop_back();
        } else {
            b = std::make_unique<Batch>();
        }
        b->arena.clear();
        b->used = b->bytes = 0;
        b->error = nullptr;
        b->done = false;
        b->idle = false;
        open_ = b.get();
        window_.push_back(std::move(b));
    }

    // The open batch to the workers.
    void dispatch() {
        for (std::size_t i = 0; i < open_->used; ++i)
            if (!open_->entries[i]->is_file) open_->entries[i]->message.attach(open_->arena);
        {
            std::lock_guard lock(mu_);
            todo_.push_back(open_);
        }
        open_ = nullptr;
        todo_cv_.notify_one();
    }

    // Emit the results of the batches at the front that are done, and
    // those a piece at the front handed out.
    void emit_ready() {
        while (!window_.empty() && window_.front().get() != open_) {
            std::unique_lock lock(mu_);
            if (Entry* p = front_ready()) {
                take_ready(lock, *p);
                continue;
            }
            if (!window_.front()->done) return;
            lock.unlock();
            finish_front();
        }
    }

    // Under mu_: the piece at the front of the window when it handed out
    // results (ready) before it is done.
    Entry* front_ready() const {
        if (window_.empty()) return nullptr;
        const Batch& b = *window_.front();
        if (&b == open_ || b.used != 1 || !b.entries[0]->is_piece || b.entries[0]->ready.empty()) return nullptr;
        return b.entries[0].get();
    }

    // Emit the results piece `e` handed out (mu_ held by `lock`, let go
    // while they are emitted), and let it hand out more.
    void take_ready(std::unique_lock<std::mutex>& lock, Entry& e) {
        taken_.swap(e.ready);
        lock.unlock();
        taken_cv_.notify_all();
        struct Clear {   // (also when emit_ throws)
            std::vector<Result>& v;
            ~Clear() { v.clear(); }
        } clear{taken_};
        for (Result& r : taken_) emit_(r);
        lock.lock();
    }

    // Wait until a new batch may go in flight: fewer than max_batches_ in
    // the window, not counting up to kIdlePieces pieces done without a
    // message; the batches done at the front are retired meanwhile.
    void wait_for_batch_room() {
        while (!window_.empty()) {
            {
                std::unique_lock lock(mu_);
                const auto room = [&] { return window_.size() < max_batches_ + std::min(idle_, kIdlePieces); };
                Batch* front = window_.front().get();
                if (!room() && !front->done && !front_ready()) {
                    // Woken once several batches are done, not after each:
                    // a wake-up of this thread takes a core from a worker.
                    std::size_t pending = 0;
                    for (const std::unique_ptr<Batch>& w : window_) pending += w->done ? 0 : 1;
                    wake_at_ = done_ + std::min(pending, std::max<std::size_t>(1, max_batches_ / 2));
                    done_cv_.wait(lock, [&] {
                        return done_ >= wake_at_ || room() || front_ready() ||
                               (handing_out_ > 0 && window_.front()->done);
                    });
                    wake_at_ = 0;
                }
                if (Entry* p = front_ready()) {
                    take_ready(lock, *p);
                    continue;
                }
                if (room()) return;
                if (!front->done) continue;
            }
            finish_front();
        }
    }

    void retire_front() {
        {
            Batch* b = window_.front().get();
            std::unique_lock lock(mu_);
            for (;;) {
                done_cv_.wait(lock, [&] { return b->done || front_ready(); });
                Entry* p = front_ready();
                if (!p) break;
                take_ready(lock, *p);
            }
        }
        finish_front();
    }

    void finish_front() {
        std::unique_ptr<Batch> b = std::move(window_.front());
        window_.pop_front();
        bytes_ -= b->bytes;
        if (b->idle) {
            std::lock_guard lock(mu_);
            --idle_;
        }
        const std::exception_ptr error = b->error;
        const std::size_t emit = error ? b->error_at : b->used;   // the results before an exception
        for (std::size_t i = 0; i < emit; ++i) {
            Entry& e = *b->entries[i];
            if (e.is_piece) {
                for (Result& r : e.ready) emit_(r);
                for (Result& r : e.results) emit_(r);
                if (e.failed && problem_) problem_(e.problem, e.path, e.error);
            } else if (!e.failed) {
                emit_(e.result);
            } else if (problem_) {
                problem_(e.problem, e.path, e.error);
            }
        }
        if (error && emit < b->used && b->entries[emit]->is_piece) {   // the results before the exception
            for (Result& r : b->entries[emit]->ready) emit_(r);
            for (Result& r : b->entries[emit]->results) emit_(r);
        }
        for (std::size_t i = 0; i < b->used; ++i) {
            Entry& e = *b->entries[i];
            e.message.let_go();
            if (e.is_piece) {   // its buffer may go
                e.piece = MboxPiece{};
                e.chain.reset();
                e.results.clear();
                e.ready.clear();
            }
        }
        // Arenas are kept for reuse (a new one costs page faults as it is
        // filled); those grown past a batch's usual size for large messages,
        // while their growth together stays within the bound.
        if (large_bytes_ > max_bytes_ && large(b->arena) > 0) {
            large_bytes_ -= large(b->arena);
            std::string().swap(b->arena);
        }
        spare_.push_back(std::move(b));
        if (error) std::rethrow_exception(error);
    }

    unsigned threads_;
    Work work_;
    Emit emit_;
    Problem problem_;
    std::size_t max_bytes_, max_batches_;
    Result single_;

    // The calling thread's: batches in input order (the last may be open,
    // still taking messages), their message bytes, spare batches.
    std::deque<std::unique_ptr<Batch>> window_;
    Batch* open_ = nullptr;
    std::size_t bytes_ = 0;
    std::size_t large_bytes_ = 0;   // large() of every batch's arena
    std::vector<std::unique_ptr<Batch>> spare_;
    std::vector<Result> taken_;   // results a piece handed out, being emitted

    // Shared with the workers, under mu_: batches to work on, each batch's
    // done flag, closing_.
    std::mutex mu_;
    std::condition_variable todo_cv_, done_cv_, chain_cv_, taken_cv_;
    std::deque<Batch*> todo_;
    std::size_t idle_ = 0;   // batches in the window with idle set
    std::size_t handing_out_ = 0;   // workers waiting in hand_out()
    std::size_t done_ = 0;   // batches done so far; the calling thread is
    std::size_t wake_at_ = 0;   // woken when done_ reaches this
    bool closing_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace msg
