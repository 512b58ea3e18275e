// OrderedWork: results in input order whatever the thread count, message
// bytes that outlive the loop's callback, files read by the workers,
// problems reported in their place, work()'s exceptions thrown again.
#include <msg/parallel.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

struct Out {
    std::string text;
};

// Feeds `n` messages whose bytes live only for the add() call, the way
// the input loop's views do.
std::vector<std::string> run(unsigned threads, int n) {
    std::vector<std::string> emitted;
    msg::OrderedWork<Out> work(
        threads,
        [](unsigned worker, const msg::InputMessage& m, Out& r) {
            EXPECT_LT(worker, 4u);
            // Later messages finish first: order must come from the queue.
            if (m.index % 7 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
            r.text = std::to_string(m.index) + ":" + std::string(m.data);
        },
        [&](Out& r) { emitted.push_back(r.text); });
    for (int i = 0; i < n; ++i) {
        std::string bytes = "message " + std::string(static_cast<std::size_t>(i % 300), 'x');
        msg::InputMessage im;
        im.index = static_cast<std::size_t>(i);
        im.data = bytes;
        work.add(im);
        bytes.assign(bytes.size(), '#');   // the loop's buffer is reused
    }
    work.drain();
    return emitted;
}

// Each message of the archive at `path` described, as a reader of the
// whole archive in one thread hands them out.
template <class Describe>
std::vector<std::string> read_whole(const std::filesystem::path& path, Describe describe) {
    std::vector<std::string> whole;
    msg::InputOptions io;
    io.mbox = true;
    msg::for_each_message({path.string()}, io, [&](const msg::InputMessage& m) {
        whole.push_back(describe(m));
        return true;
    });
    return whole;
}

TEST(OrderedWork, ResultsComeInInputOrderWithAnyThreadCount) {
    const auto one = run(1, 500);
    ASSERT_EQ(one.size(), 500u);
    EXPECT_EQ(one[3], "3:message xxx");
    for (unsigned t : {2u, 3u, 4u}) EXPECT_EQ(run(t, 500), one) << t << " threads";
}

TEST(OrderedWork, AnExceptionOfWorkIsThrownWhereItsResultWouldBeEmitted) {
    for (unsigned t : {1u, 3u}) {
        std::vector<std::size_t> emitted;
        msg::OrderedWork<Out> work(
            t,
            [](unsigned, const msg::InputMessage& m, Out& r) {
                if (m.index == 5) throw std::runtime_error("bad five");
                r.text = std::to_string(m.index);
            },
            [&](Out& r) { emitted.push_back(std::stoul(r.text)); });
        bool thrown = false;
        try {
            for (std::size_t i = 0; i < 20; ++i) {
                msg::InputMessage im;
                im.index = i;
                im.data = "x";
                work.add(im);
            }
            work.drain();
        } catch (const std::runtime_error& e) {
            thrown = true;
            EXPECT_STREQ(e.what(), "bad five");
        }
        EXPECT_TRUE(thrown) << t;
        ASSERT_EQ(emitted.size(), 5u) << t;   // everything before it, nothing after
        for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(emitted[i], i);
    }
}

TEST(OrderedWork, FilesAreReadByWorkersAndProblemsReportedInTheirPlace) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("ordered-work-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "a.eml") << "Subject: a\r\n\r\nA\r\n";
    std::ofstream(dir / "c.eml") << "Subject: c\r\n\r\nC\r\n";
    std::vector<std::string> seen;
    msg::OrderedWork<Out> work(
        2, [](unsigned, const msg::InputMessage& m, Out& r) { r.text = std::string(m.data.substr(0, 10)); },
        [&](Out& r) { seen.push_back(r.text); });
    work.on_problem([&](msg::InputProblem p, const std::string& path, const std::string&) {
        seen.push_back((p == msg::InputProblem::missing ? "missing " : "other ") + fs::path(path).filename().string());
    });
    for (const char* name : {"a.eml", "b.eml", "c.eml"}) {
        msg::InputItem item;
        item.path = (dir / name).string();
        work.add_file(item);
    }
    work.drain();
    fs::remove_all(dir);
    EXPECT_EQ(seen, (std::vector<std::string>{"Subject: a", "missing b.eml", "Subject: c"}));
}

// A message larger than the bytes let in flight is not copied: it is
// worked on in the calling thread, in its place in the order.
TEST(OrderedWork, ALargeMessageKeepsItsPlace) {
    std::vector<std::string> emitted;
    std::thread::id large_in;
    msg::OrderedWork<Out> work(
        2,
        [&](unsigned, const msg::InputMessage& m, Out& r) {
            if (m.data.size() > 1000) large_in = std::this_thread::get_id();
            r.text = std::to_string(m.index) + ":" + std::to_string(m.data.size());
        },
        [&](Out& r) { emitted.push_back(r.text); });
    const std::size_t large = msg::OrderedWork<Out>::kMinBytes + 1;
    for (std::size_t i = 0; i < 9; ++i) {
        const std::string bytes(i == 4 ? large : 10, 'x');
        msg::InputMessage im;
        im.index = i;
        im.data = bytes;
        work.add(im);
    }
    work.drain();
    ASSERT_EQ(emitted.size(), 9u);
    EXPECT_EQ(emitted[3], "3:10");
    EXPECT_EQ(emitted[4], "4:" + std::to_string(large));
    EXPECT_EQ(emitted[5], "5:10");
    EXPECT_EQ(large_in, std::this_thread::get_id());
}

// An archive cut in pieces: each message reaches work() numbered, placed
// and framed as the reader of the whole archive hands it out, whatever the
// thread count and the stretch size; an exception of work() comes after
// the results before it.
TEST(OrderedWork, AnArchiveInPiecesIsNumberedAsWhole) {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("ordered-work-" + std::to_string(::getpid()) + ".mbox");
    {
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < 400; ++i) {
            out << "From sender" << i << "@example.org Mon Nov 23 09:15:00 2026\n"
                << "Subject: " << i << "\n\n" << std::string(static_cast<std::size_t>(i * 37 % 3000), 'b') << "\n";
            if (i % 50 == 7) out << ">From quoted\n";            // an unquoted copy
            if (i % 61 == 3) out << "From inside, no empty line before\n";
            out << (i % 3 == 0 ? "\r\n" : "\n");
        }
    }
    const auto describe = [](const msg::InputMessage& m) {
        return std::to_string(m.index) + " " + std::to_string(m.first_line) + " " + std::to_string(m.offset) + " " +
               std::to_string(m.mbox->line) + " " + std::to_string(m.mbox->data_end) + " " +
               std::to_string(m.framing->size()) + " " + std::string(m.mbox->from_line) + " " + std::string(m.data);
    };
    const std::vector<std::string> whole = read_whole(path, describe);
    ASSERT_EQ(whole.size(), 400u);
    for (unsigned threads : {2u, 3u})
        for (std::size_t stretch : {std::size_t{100}, std::size_t{4096}, std::size_t{1} << 20}) {
            std::vector<std::string> seen;
            msg::OrderedWork<Out> work(
                threads, [&](unsigned, const msg::InputMessage& m, Out& r) { r.text = describe(m); },
                [&](Out& r) { seen.push_back(r.text); });
            auto pieces = msg::MboxPieces::open(path.string(), msg::MboxFormat::mboxrd, stretch);
            ASSERT_TRUE(pieces.ok() && pieces->has_value());
            work.add_archive(**pieces, path.string(), msg::MboxFormat::mboxrd);
            work.drain();
            EXPECT_EQ(seen, whole) << threads << " threads, stretches of " << stretch;
        }
    // An exception: the results before it, then the exception.
    std::vector<std::string> seen;
    msg::OrderedWork<Out> work(
        2,
        [&](unsigned, const msg::InputMessage& m, Out& r) {
            if (m.index == 123) throw std::runtime_error("bad 123");
            r.text = describe(m);
        },
        [&](Out& r) { seen.push_back(r.text); });
    auto pieces = msg::MboxPieces::open(path.string(), msg::MboxFormat::mboxrd, 1000);
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    EXPECT_THROW(
        {
            work.add_archive(**pieces, path.string(), msg::MboxFormat::mboxrd);
            work.drain();
        },
        std::runtime_error);
    ASSERT_EQ(seen.size(), 123u);
    EXPECT_EQ(seen, std::vector<std::string>(whole.begin(), whole.begin() + 123));
    fs::remove(path);
}

// The pieces inside a long message hold nothing: they do not keep the
// message after it waiting, which is worked on while the long one is.
TEST(OrderedWork, TheMessageAfterALongOneIsWorkedOnMeanwhile) {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("ordered-work-long-" + std::to_string(::getpid()) + ".mbox");
    {
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < 4; ++i)
            out << "From sender@example.org Mon Nov 23 09:15:00 2026\nSubject: " << i << "\n\n"
                << std::string(i == 0 ? 100 * 1024 : 100, 'b') << "\n\n";
    }
    std::mutex mu;
    std::condition_variable cv;
    bool second_started = false, overlapped = false;
    std::vector<std::uint64_t> seen;
    msg::OrderedWork<Out> work(
        2,
        [&](unsigned, const msg::InputMessage& m, Out& r) {
            r.text = std::to_string(m.index);
            std::unique_lock lock(mu);
            if (m.index == 1) {
                second_started = true;
                cv.notify_all();
            } else if (m.index == 0) {
                overlapped = cv.wait_for(lock, std::chrono::seconds(5), [&] { return second_started; });
            }
        },
        [&](Out& r) { seen.push_back(std::stoull(r.text)); });
    // Stretches of 1 KiB: the long message spans a hundred of them, far
    // more than the batches let in flight.
    auto pieces = msg::MboxPieces::open(path.string(), msg::MboxFormat::mboxrd, 1024);
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    work.add_archive(**pieces, path.string(), msg::MboxFormat::mboxrd);
    work.drain();
    EXPECT_TRUE(overlapped) << "message 1 waited for message 0";
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{0, 1, 2, 3}));
    fs::remove(path);
}

// An archive cut short after its pieces were cut: the messages before the
// cut come out in order, then the problem, once, in its place; no crash.
TEST(OrderedWork, AnArchiveCutShortIsReportedInItsPlace) {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("ordered-work-cut-" + std::to_string(::getpid()) + ".mbox");
    std::string archive;
    for (int i = 0; i < 100; ++i)
        archive += "From s@example.org Mon Nov 23 09:15:00 2026\nSubject: " + std::to_string(i) + "\n\n" +
                   std::string(3000, 'b') + "\n\n";
    { std::ofstream(path, std::ios::binary) << archive; }
    std::vector<std::string> seen;
    msg::OrderedWork<Out> work(
        2, [&](unsigned, const msg::InputMessage& m, Out& r) { r.text = std::to_string(m.index); },
        [&](Out& r) { seen.push_back(r.text); });
    work.on_problem([&](msg::InputProblem p, const std::string& at, const std::string& message) {
        EXPECT_EQ(p, msg::InputProblem::unreadable);
        EXPECT_EQ(at, path.string());
        EXPECT_NE(message.find(path.string()), std::string::npos) << message;
        seen.push_back("problem");
    });
    auto pieces = msg::MboxPieces::open(path.string(), msg::MboxFormat::mboxrd, 4096);
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    fs::resize_file(path, archive.size() / 2);
    work.add_archive(**pieces, path.string(), msg::MboxFormat::mboxrd);
    work.drain();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), "problem");
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "problem"), 1);
    for (std::size_t i = 0; i + 1 < seen.size(); ++i) EXPECT_EQ(seen[i], std::to_string(i));
    EXPECT_LT(seen.size(), 100u);
    fs::remove(path);
}

// An archive with nowhere to cut it after its start (empty messages, one
// From_ line after another) is one piece of as many messages as it has: it
// works on them as it frames them and hands their results out as it goes,
// so the results alive at once stay bounded whatever the archive's size;
// numbered as a reader of the whole archive numbers them, in order, and an
// exception among them thrown after the results before it.
TEST(OrderedWork, APieceOfManyMessagesHandsItsResultsOutAsItGoes) {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("ordered-work-many-" + std::to_string(::getpid()) + ".mbox");
    constexpr std::size_t kLong = 16 * msg::OrderedWork<Out>::kPieceMessages;
    {
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < 50; ++i)   // pieces of their own before it: its base is waited for
            out << "From s@example.org Mon Nov 23 09:15:00 2026\nSubject: " << i << "\n\n" << std::string(900, 'b')
                << "\n\n";
        for (std::size_t i = 0; i < kLong; ++i) out << "From s@example.org Mon Nov 23 09:15:00 2026\n";
        out << "\nFrom s@example.org Mon Nov 23 09:15:00 2026\nSubject: last\n\nbody\n";
    }
    const auto describe = [](const msg::InputMessage& m) {
        return std::to_string(m.index) + " " + std::to_string(m.first_line) + " " + std::to_string(m.offset);
    };
    const std::vector<std::string> whole = read_whole(path, describe);
    ASSERT_EQ(whole.size(), 50 + kLong + 1);
    static std::atomic<std::size_t> alive{0}, most{0};
    struct Counted {
        std::string text;
        Counted() { most = std::max(most.load(), ++alive); }
        Counted(Counted&& o) noexcept : text(std::move(o.text)) { most = std::max(most.load(), ++alive); }
        Counted& operator=(Counted&&) noexcept = default;
        ~Counted() { --alive; }
    };
    for (std::size_t fail_at : {std::size_t{0}, std::size_t{50} + kLong / 2}) {
        alive = most = 0;
        std::vector<std::string> seen;
        msg::OrderedWork<Counted> work(
            2,
            [&](unsigned, const msg::InputMessage& m, Counted& r) {
                if (fail_at != 0 && m.index == fail_at) throw std::runtime_error("bad");
                r.text = describe(m);
            },
            [&](Counted& r) { seen.push_back(r.text); });
        auto pieces = msg::MboxPieces::open(path.string(), msg::MboxFormat::mboxrd, 4096);
        ASSERT_TRUE(pieces.ok() && pieces->has_value());
        if (fail_at == 0) {
            work.add_archive(**pieces, path.string(), msg::MboxFormat::mboxrd);
            work.drain();
            EXPECT_EQ(seen, whole);
        } else {
            EXPECT_THROW(
                {
                    work.add_archive(**pieces, path.string(), msg::MboxFormat::mboxrd);
                    work.drain();
                },
                std::runtime_error);
            EXPECT_EQ(seen, std::vector<std::string>(whole.begin(), whole.begin() + static_cast<long>(fail_at)));
        }
        EXPECT_LT(most.load(), 4 * msg::OrderedWork<Counted>::kPieceMessages) << "results held at once";
    }
    fs::remove(path);
}

// A piece that waits for the calling thread to take its results, behind a
// batch still being worked on, while that thread waits for room in a full
// window: once the batch in front is done the calling thread must retire
// it at once (not wait for several batches, as it otherwise does), or the
// piece never comes to the front and nothing is done again.
TEST(OrderedWork, APieceHandingOutBehindASlowBatchIsNotLeftWaiting) {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("ordered-work-behind-" + std::to_string(::getpid()) + ".mbox");
    constexpr std::size_t kStretch = std::size_t{1} << 20;
    std::size_t messages = 0;
    {
        std::ofstream out(path, std::ios::binary);
        const std::string from = "From s@example.org Mon Nov 23 09:15:00 2026\n";
        const auto normal = [&] {
            out << from << "Subject: " << messages++ << "\n\n" << std::string(900, 'b') << "\n\n";
        };
        while (out.tellp() < static_cast<std::streamoff>(kStretch + 2000)) normal();   // the first piece
        // The second: more than twice kPieceMessages empty messages, inside its stretch.
        for (std::size_t k = 0; k < 3 * msg::OrderedWork<int>::kPieceMessages; ++k, ++messages) out << from;
        out << "\n";
        // Pieces after it, enough to fill the window of batches.
        while (out.tellp() < static_cast<std::streamoff>(14 * kStretch)) normal();
    }
    std::size_t emitted = 0, out_of_order = 0;
    auto run = std::async(std::launch::async, [&] {
        msg::OrderedWork<int> work(
            2,
            [&](unsigned, const msg::InputMessage& m, int& r) {
                // The first piece is done long after the second handed out.
                if (m.index == 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
                r = static_cast<int>(m.index);
            },
            [&](int& r) { out_of_order += static_cast<std::size_t>(r) != emitted++; });
        auto pieces = msg::MboxPieces::open(path.string(), msg::MboxFormat::mboxrd, kStretch);
        ASSERT_TRUE(pieces.ok() && pieces->has_value());
        work.add_archive(**pieces, path.string(), msg::MboxFormat::mboxrd);
        work.drain();
    });
    if (run.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
        ADD_FAILURE() << "no progress in 60 s: the calling thread and a worker wait for each other";
        std::_Exit(1);   // (the threads cannot be stopped)
    }
    run.get();
    EXPECT_EQ(emitted, messages);
    EXPECT_EQ(out_of_order, 0u);
    fs::remove(path);
}

TEST(OrderedWork, AvailableCoresIsAtLeastOne) { EXPECT_GE(msg::available_cores(), 1u); }

// At least 16 pieces per thread, each between 1 and 4 MiB; and the
// stretches handed out follow the stretch set.
TEST(OrderedWork, AnArchivesStretchFollowsItsSizeAndTheThreads) {
    constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
    const auto check = [&](unsigned threads, std::uint64_t size, std::uint64_t want) {
        msg::OrderedWork<Out> work(threads, [](unsigned, const msg::InputMessage&, Out&) {}, [](Out&) {});
        if (work.threads() != threads) return;   // (the system gave fewer)
        EXPECT_EQ(work.archive_stretch(size), want) << threads << " threads, " << size << " bytes";
    };
    check(1, 0, kMiB);
    check(2, 0, kMiB);
    check(2, 32 * kMiB, kMiB);
    check(2, 100 * kMiB, 100 * kMiB / 32);
    check(3, 150 * kMiB, 150 * kMiB / 48);
    check(2, std::uint64_t{50} << 30, 4 * kMiB);
    check(8, 100 * kMiB, kMiB);

    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("ordered-work-stretch-" + std::to_string(::getpid()) + ".mbox");
    {
        std::ofstream out(path, std::ios::binary);
        out << "From a@example.org Mon Nov 23 09:15:00 2026\nSubject: x\n\n" << std::string(3000, 'b') << "\n";
    }
    auto pieces = msg::MboxPieces::open(path.string(), msg::MboxFormat::mboxrd, 1000);
    ASSERT_TRUE(pieces.ok() && pieces->has_value());
    msg::MboxPiece p;
    ASSERT_TRUE((*pieces)->next(p));
    EXPECT_EQ(p.begin, 0u);
    EXPECT_EQ(p.end, 1000u);
    (*pieces)->set_stretch(300);
    ASSERT_TRUE((*pieces)->next(p));
    EXPECT_EQ(p.begin, 1000u);
    EXPECT_EQ(p.end, 1300u);
    (*pieces)->set_stretch(0);   // at least one byte
    ASSERT_TRUE((*pieces)->next(p));
    EXPECT_EQ(p.end, 1301u);
    (*pieces)->set_stretch(1u << 20);
    ASSERT_TRUE((*pieces)->next(p));
    EXPECT_EQ(p.end, (*pieces)->size());
    EXPECT_FALSE((*pieces)->next(p));
    fs::remove(path);
}

}  // namespace
