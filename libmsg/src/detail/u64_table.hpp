// detail/u64_table.hpp - a table keyed by 64-bit values, for the indexes that grow
// with a spool or an archive: one flat array probed in line, so that an
// entry costs its key and its value (16 bytes for two counters) and about
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

    std::size_t size() const { return used_ + (zero_used_ ? 1 : 0); }
    std::size_t slots() const { return slots_.size(); }

    // The value of `k`, value-initialised when it was not there (`made`
    // then true). The reference holds until the next call of at().
    V& at(std::uint64_t k, bool* made = nullptr) {
        if (k == 0) {
            if (made) *made = !zero_used_;
            zero_used_ = true;
            return zero_;
        }
        if ((used_ + 1) * 8 > slots_.size() * 7) grow();
        Slot* s = probe(slots_, k);
        if (made) *made = s->key == 0;
        if (s->key == 0) {
            s->key = k;
            ++used_;
        }
        return s->value;
    }

    V* find(std::uint64_t k) {
        if (k == 0) return zero_used_ ? &zero_ : nullptr;
        if (slots_.empty()) return nullptr;
        Slot* s = probe(slots_, k);
        return s->key == 0 ? nullptr : &s->value;
    }

    // f(key, value&) for every key, in no order.
    template <class F>
    void for_each(F&& f) {
        if (zero_used_) f(std::uint64_t{0}, zero_);
        for (Slot& s : slots_)
            if (s.key != 0) f(s.key, s.value);
    }

private:
    struct Slot {
        std::uint64_t key = 0;   // 0: a free slot (the key 0 lives in zero_)
        [[no_unique_address]] V value{};
    };

    std::size_t home(std::uint64_t k, std::size_t n) const {
        // splitmix64's finaliser, of the key and the seed
        std::uint64_t z = k ^ seed_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return static_cast<std::size_t>(z ^ (z >> 31)) & (n - 1);
    }

    Slot* probe(std::vector<Slot>& slots, std::uint64_t k) const {
        const std::size_t mask = slots.size() - 1;
        for (std::size_t i = home(k, slots.size());; i = (i + 1) & mask)
            if (slots[i].key == k || slots[i].key == 0) return &slots[i];
    }

    void grow() {
        std::vector<Slot> bigger(slots_.empty() ? 64 : slots_.size() * 2);
        for (Slot& s : slots_)
            if (s.key != 0) *probe(bigger, s.key) = std::move(s);
        slots_.swap(bigger);
    }

    std::vector<Slot> slots_;   // a power of two of them, at most 7/8 used
    std::size_t used_ = 0;
    std::uint64_t seed_;
    bool zero_used_ = false;
    V zero_{};
};

}  // namespace msg::detail
