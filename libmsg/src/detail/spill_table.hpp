// detail/spill_table.hpp - a U64Table that holds at most so many keys in
// memory and the rest in a temporary file, sorted by key: the indexes of a
// spool and its archives (mbox2spool's "already in the spool") hold a
// bounded memory whatever the spool's size. Below its bound the table is a
// U64Table and nothing more.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "u64_table.hpp"
#include "msg/result.hpp"

namespace msg::detail {

// Fixed-size records, each starting with its 64-bit key (in the machine's
// order), sorted by key in a temporary file without a name. A record is
// found by one read of a block of them: memory holds the first key of each
// block (8 bytes for every kBlock records).
class SortedFile {
public:
    // `root`: the spool whose tmp/ holds the file (temporary_file()).
    SortedFile(std::string root, std::size_t record) : root_(std::move(root)), record_(record) {}
    SortedFile(const SortedFile&) = delete;
    SortedFile& operator=(const SortedFile&) = delete;
    ~SortedFile();

    std::size_t size() const { return count_; }
    // The greatest key in the file (size() > 0).
    std::uint64_t last() const { return last_; }
    // The record of `key` into `out` (record bytes); false when the file has
    // none, or could not be read (error() says why).
    bool find(std::uint64_t key, char* out);
    // The n records of `add` (sorted by key, each key once) merged into the
    // file: one of `add` takes the place of the file's of the same key. The
    // file is written anew beside the old one, which stays as it was when
    // this fails. Records whose keys are all past last() are appended
    // instead: the file is not read.
    Status merge(const char* add, std::size_t n);
    const std::optional<Error>& error() const { return error_; }

private:
    Status append(const char* add, std::size_t n);   // keys all past last()
    static constexpr std::size_t kBlock = 128;   // records a read brings
    std::string root_;
    std::size_t record_;
    int fd_ = -1;
    std::size_t count_ = 0;
    std::uint64_t last_ = 0;
    std::vector<std::uint64_t> first_;   // the first key of each block
    std::vector<char> block_;
    std::optional<Error> error_;
};

template <class V>
class SpillTable {
    static_assert(std::is_trivially_copyable_v<V>);

public:
    // At most `cap` keys in memory (at least 1); the file, when one is
    // needed, in the spool `root`'s tmp/.
    SpillTable(std::string root, std::size_t cap) : file_(std::move(root), sizeof(Record)), cap_(std::max<std::size_t>(cap, 1)) {}

    // The value of `k`: from memory; else read back from the file and kept
    // in memory from then on; else value-initialised (`made` then true).
    // The reference holds until the next call of at() or settle().
    // Keys past every key of the file (keys given in ascending order) are
    // not looked for there.
    V& at(std::uint64_t k, bool* made = nullptr) {
        if (file_.size() == 0 || k > file_.last()) return mem_.at(k, made);
        if (V* v = mem_.find(k)) {
            if (made) *made = false;
            return *v;
        }
        Record r{};
        const bool found = file_.find(k, reinterpret_cast<char*>(&r));
        V& v = mem_.at(k);
        if (found) v = r.value;
        if (made) *made = !found;
        return v;
    }

    // When memory holds `cap` keys or more: every key in memory written to
    // the file and memory emptied (appended to it when they are all past
    // its keys: a table filled in ascending order is written once). Where
    // no file can be written (none can be made, the disk is full), the keys
    // stay in memory, write_error() says why, and the table goes on as a
    // U64Table: memory grows, nothing is lost.
    void settle() {
        if (mem_.size() >= cap_) spill();
    }

    bool empty() const { return mem_.size() == 0 && file_.size() == 0; }
    std::size_t in_memory() const { return mem_.size(); }
    std::size_t in_file() const { return file_.size(); }
    // Why the file could not be read back: a key it held was read as absent.
    const std::optional<Error>& read_error() const { return file_.error(); }
    // Why no file could be written: memory holds every key since.
    const std::optional<Error>& write_error() const { return failed_; }

private:
    // Every key in memory to the file; memory emptied.
    void spill() {
        if (failed_ || mem_.size() == 0) return;
        std::vector<Record> recs;
        recs.reserve(mem_.size());
        mem_.drain([&](std::uint64_t k, V& v) { recs.push_back(Record{k, v}); });
        std::sort(recs.begin(), recs.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
        if (const Status st = file_.merge(reinterpret_cast<const char*>(recs.data()), recs.size()); !st) {
            failed_ = st.error();
            for (const Record& r : recs) mem_.at(r.key) = r.value;
        }
    }

    struct Record {
        std::uint64_t key;
        [[no_unique_address]] V value;
    };
    U64Table<V> mem_;
    SortedFile file_;
    std::size_t cap_;
    std::optional<Error> failed_;
};

}  // namespace msg::detail
