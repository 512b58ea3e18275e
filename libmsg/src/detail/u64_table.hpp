// detail/u64_table.hpp - a table keyed by 64-bit values, for the indexes that grow
// with a spool or an archive: flat arrays probed in line, so that an
// entry costs its key and its value (16 bytes for mbox2spool's counts) and about
// as much again in free slots, where a std::unordered_map node costs 50 or
// more. The keys here are hashes already; they are mixed with a seed drawn
// per table, so that keys chosen to share their low bits (a spool's names
// are anyone's to make) do not make one long probe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace msg::detail {

// 64 random bits, for a seed or a key: from the system's source of
// randomness, or where none can be opened from the clock's nanoseconds.
inline std::uint64_t random_u64() {
    try {
        std::random_device r;
        return r() | std::uint64_t{r()} << 32;
    } catch (...) {
        return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
}

template <class V>
class U64Table {
public:
    U64Table() : seed_(random_u64()) {}

    std::size_t size() const {
        std::size_t n = zero_used_ ? 1 : 0;
        for (const Shard& s : shards_) n += s.used;
        return n;
    }
    std::size_t slots() const {
        std::size_t n = 0;
        for (const Shard& s : shards_) n += s.slots.size();
        return n;
    }

    // The value of `k`, value-initialised when it was not there (`made`
    // then true). The reference holds until the next call of at().
    V& at(std::uint64_t k, bool* made = nullptr) {
        if (k == 0) {
            if (made) *made = !zero_used_;
            zero_used_ = true;
            return zero_;
        }
        const std::uint64_t h = mix(k);
        Shard& sh = shards_[h >> (64 - kShardBits)];
        if ((sh.used + 1) * 8 > sh.slots.size() * 7) grow(sh);
        Slot* s = probe(sh.slots, k, h);
        if (made) *made = s->key == 0;
        if (s->key == 0) {
            s->key = k;
            ++sh.used;
        }
        return s->value;
    }

    V* find(std::uint64_t k) {
        if (k == 0) return zero_used_ ? &zero_ : nullptr;
        const std::uint64_t h = mix(k);
        Shard& sh = shards_[h >> (64 - kShardBits)];
        if (sh.slots.empty()) return nullptr;
        Slot* s = probe(sh.slots, k, h);
        return s->key == 0 ? nullptr : &s->value;
    }

    // f(key, value&) for every key, in no order.
    template <class F>
    void for_each(F&& f) {
        if (zero_used_) f(std::uint64_t{0}, zero_);
        for (Shard& sh : shards_)
            for (Slot& s : sh.slots)
                if (s.key != 0) f(s.key, s.value);
    }

    // f(key, value&) for every key, in no order, each array freed once
    // visited: the table is empty after, and its memory goes as f's grows.
    template <class F>
    void drain(F&& f) {
        if (zero_used_) f(std::uint64_t{0}, zero_);
        zero_used_ = false;
        zero_ = V{};
        for (Shard& sh : shards_) {
            for (Slot& s : sh.slots)
                if (s.key != 0) f(s.key, s.value);
            std::vector<Slot>().swap(sh.slots);
            sh.used = 0;
        }
    }

private:
    struct Slot {
        std::uint64_t key = 0;   // 0: a free slot (the key 0 lives in zero_)
        [[no_unique_address]] V value{};
    };
    // The table is 16 tables, each chosen by the top bits of a key's mix
    // and grown on its own by half again: a table grows a sixteenth at a
    // time (the old and the new array side by side for that sixteenth
    // only), and its arrays are 58-88% full, not 44-88% of a power of two.
    static constexpr int kShardBits = 4;
    struct Shard {
        std::vector<Slot> slots;
        std::size_t used = 0;
    };

    std::uint64_t mix(std::uint64_t k) const {
        // splitmix64's finaliser, of the key and the seed
        std::uint64_t z = k ^ seed_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    // The first slot of `k` (mixed: `h`) or the free one where it goes: from
    // the slot the mix's lower bits scale to, onward, round the end.
    static Slot* probe(std::vector<Slot>& slots, std::uint64_t k, std::uint64_t h) {
        const std::size_t n = slots.size();
        const std::uint64_t low = h << kShardBits;   // (the top bits chose the shard)
        std::size_t i = static_cast<std::size_t>((static_cast<unsigned __int128>(low) * n) >> 64);
        for (;; i = i + 1 == n ? 0 : i + 1)
            if (slots[i].key == k || slots[i].key == 0) return &slots[i];
    }

    void grow(Shard& sh) {
        std::vector<Slot> bigger(sh.slots.empty() ? 16 : sh.slots.size() + sh.slots.size() / 2);
        for (Slot& s : sh.slots)
            if (s.key != 0) *probe(bigger, s.key, mix(s.key)) = std::move(s);
        sh.slots.swap(bigger);
    }

    Shard shards_[std::size_t{1} << kShardBits];
    std::uint64_t seed_;
    bool zero_used_ = false;
    V zero_{};
};

}  // namespace msg::detail
