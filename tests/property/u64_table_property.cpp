// u64_table_property.cpp - the flat table of the spool's key index
// (libmsg/src/detail/u64_table.hpp) holds what a std::unordered_map holds,
// after any sequence of insertions and lookups: the key 0 (its free-slot
// mark, kept apart), keys that share their low bits, and growth included;
// and the same of the table that writes what is past its memory to a sorted file
// (detail/spill_table.hpp), at every size of that memory.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "detail/spill_table.hpp"
#include "detail/u64_table.hpp"

namespace {

using Table = msg::detail::U64Table<std::uint32_t>;

// Keys from a few kinds: small ones (0 among them), ones that differ only
// in their high bits (the same home slot without the seed's mixing), and
// any 64-bit value.
rc::Gen<std::uint64_t> key() {
    return rc::gen::weightedOneOf<std::uint64_t>(
        {{3, rc::gen::inRange<std::uint64_t>(0, 8)},
         {3, rc::gen::map(rc::gen::inRange<std::uint64_t>(0, 4096), [](std::uint64_t k) { return k << 52; })},
         {4, rc::gen::arbitrary<std::uint64_t>()}});
}

void expect_same(Table& t, const std::unordered_map<std::uint64_t, std::uint32_t>& model) {
    RC_ASSERT(t.size() == model.size());
    std::size_t visited = 0;
    t.for_each([&](std::uint64_t k, std::uint32_t& v) {
        ++visited;
        const auto it = model.find(k);
        RC_ASSERT(it != model.end());
        RC_ASSERT(v == it->second);
    });
    RC_ASSERT(visited == model.size());
    for (const auto& [k, v] : model) {
        const std::uint32_t* found = t.find(k);
        RC_ASSERT(found != nullptr);
        RC_ASSERT(*found == v);
    }
    RC_ASSERT(t.slots() == 0 || t.size() * 8 <= t.slots() * 7 + 8);
}

RC_GTEST_PROP(U64Table, HoldsWhatAMapHolds, ()) {
    const auto ops = *rc::gen::container<std::vector<std::pair<bool, std::uint64_t>>>(
        rc::gen::pair(rc::gen::arbitrary<bool>(), key()));
    Table t;
    std::unordered_map<std::uint64_t, std::uint32_t> model;
    for (const auto& [insert, k] : ops) {
        if (insert) {
            bool made = false;
            ++t.at(k, &made);
            RC_ASSERT(made == (model.find(k) == model.end()));
            ++model[k];
        } else {
            const std::uint32_t* v = t.find(k);
            const auto it = model.find(k);
            RC_ASSERT((v == nullptr) == (it == model.end()));
            if (v) RC_ASSERT(*v == it->second);
        }
    }
    expect_same(t, model);
}

// Many keys, through several doublings: every one is found, with its count.
TEST(U64Table, GrowsAndKeepsEveryKey) {
    Table t;
    std::unordered_map<std::uint64_t, std::uint32_t> model;
    for (std::uint64_t i = 0; i < 100000; ++i) {
        const std::uint64_t k = (i % 3 == 0) ? i << 40 : i * 0x9E3779B97F4A7C15ULL;
        t.at(k) += static_cast<std::uint32_t>(i % 7 + 1);
        model[k] += static_cast<std::uint32_t>(i % 7 + 1);
    }
    EXPECT_EQ(t.size(), model.size());
    // Each of its arrays at most 7/8 used, and grown by half only when it
    // was: no more than 12/7 slots a key (and 16 arrays' first 16).
    EXPECT_LE(t.size() * 8, t.slots() * 7 + 8);
    EXPECT_LE(t.slots(), t.size() * 12 / 7 + 16 * 17) << "no more slots than needed";
    for (const auto& [k, v] : model) {
        const std::uint32_t* found = t.find(k);
        ASSERT_NE(found, nullptr) << k;
        EXPECT_EQ(*found, v) << k;
    }
    EXPECT_EQ(t.find(12345), nullptr);
}

// A table of at most `cap` keys in memory (a file in a spool that does not
// exist: the file goes to $TMPDIR) against the map, over insertions,
// lookups and spills in any order, and keys given in ascending order (the
// spills that append them); keys written to the file are read back with
// their counts, and the counts go on from there.
RC_GTEST_PROP(SpillTable, HoldsWhatAMapHolds, ()) {
    const auto cap = *rc::gen::inRange<std::size_t>(1, 40);
    const auto ops = *rc::gen::container<std::vector<std::pair<int, std::uint64_t>>>(
        rc::gen::pair(rc::gen::inRange(0, 5), key()));
    msg::detail::SpillTable<std::uint32_t> t("/nonexistent-spool", cap);
    std::unordered_map<std::uint64_t, std::uint32_t> model;
    for (const auto& [op, k] : ops) {
        if (op == 4) {   // keys past every key so far, in ascending order (the spool's listing)
            std::uint64_t past = model.empty() ? 0 : std::max_element(model.begin(), model.end())->first;
            for (std::uint64_t i = 0; i < 1 + k % 5 && past < ~std::uint64_t{0} - 3; ++i) {
                past += 1 + (k >> 8) % 3;
                t.settle();
                bool made = false;
                t.at(past, &made) = 2;
                RC_ASSERT(made);
                model[past] = 2;
            }
            continue;
        }
        if (op == 0) {
            t.settle();
            RC_ASSERT(t.in_memory() < cap);
            RC_ASSERT(t.in_file() <= model.size());   // each key once
            continue;
        }
        bool made = false;
        std::uint32_t& v = t.at(k, &made);
        RC_ASSERT(made == (model.find(k) == model.end()));
        RC_ASSERT(v == model[k]);
        if (op != 1) {   // 1: only looked at (a key not there is made 0)
            ++v;
            ++model[k];
        }
    }
    for (const auto& [k, want] : model) RC_ASSERT(t.at(k) == want);
    RC_ASSERT(t.empty() == model.empty());
    RC_ASSERT(!t.read_error());
    RC_ASSERT(!t.write_error());
}

// Where no file can be made, nothing is lost: every key stays in memory.
TEST(SpillTable, NoFileKeepsEveryKeyInMemory) {
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", "/nonexistent-tmp", 1);
    msg::detail::SpillTable<std::uint32_t> t("/nonexistent-spool", 4);
    for (std::uint64_t k = 0; k < 100; ++k) {
        t.settle();
        t.at(k * 7919) = static_cast<std::uint32_t>(k + 1);
    }
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    ASSERT_TRUE(t.write_error());
    EXPECT_NE(t.write_error()->message.find("temporary file"), std::string::npos) << t.write_error()->message;
    EXPECT_EQ(t.in_memory(), 100u);
    for (std::uint64_t k = 0; k < 100; ++k) EXPECT_EQ(t.at(k * 7919), k + 1) << k;
}

// The file takes many keys (several merges, each key once in it) while
// memory holds at most its cap, and empty values (a set) cost 8 bytes a key.
TEST(SpillTable, ManyKeysThroughTheFile) {
    struct Nothing {};
    msg::detail::SpillTable<Nothing> set(std::filesystem::temp_directory_path().string(), 1000);
    for (std::uint64_t i = 0; i < 20000; ++i) {
        set.settle();
        bool made = false;
        set.at(i * 0x9E3779B97F4A7C15ULL, &made);
        ASSERT_TRUE(made) << i;
        ASSERT_LE(set.in_memory(), 1000u);
    }
    for (std::uint64_t i = 0; i < 20000; i += 7) {
        set.settle();
        bool made = true;
        set.at(i * 0x9E3779B97F4A7C15ULL, &made);
        ASSERT_FALSE(made) << i;
    }
    bool made = false;
    set.at(12345, &made);
    EXPECT_TRUE(made);
    EXPECT_FALSE(set.read_error());
}

}  // namespace
