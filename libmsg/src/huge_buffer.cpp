// huge_buffer.cpp - HugeBuffer (detail/huge_buffer.hpp).
#include "detail/huge_buffer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace msg::detail {

HugeBuffer::HugeBuffer(HugeBuffer&& o) noexcept
    : bytes_(std::exchange(o.bytes_, nullptr)), capacity_(std::exchange(o.capacity_, 0)) {}

HugeBuffer& HugeBuffer::operator=(HugeBuffer&& o) noexcept {
    if (this != &o) {
        release();
        bytes_ = std::exchange(o.bytes_, nullptr);
        capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
}

HugeBuffer::~HugeBuffer() { release(); }

void HugeBuffer::release() {
    if (bytes_) munmap(bytes_, capacity_);
    bytes_ = nullptr;
    capacity_ = 0;
}

char* map_huge(std::size_t& len, int flags) {
    constexpr std::size_t kHuge = HugeBuffer::kHuge;
    if (len > SIZE_MAX - 2 * kHuge) {
        errno = ENOMEM;
        return nullptr;
    }
    const std::size_t cap = (len + kHuge - 1) / kHuge * kHuge;
    // Mapped a huge page larger, then trimmed to the aligned part (both
    // ends on page boundaries: cap is whole huge pages).
    void* m = mmap(nullptr, cap + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    const auto at = reinterpret_cast<std::uintptr_t>(m);
    const std::uintptr_t aligned = (at + kHuge - 1) / kHuge * kHuge;
    if (aligned > at) munmap(m, aligned - at);
    if (const std::size_t tail = at + kHuge - aligned; tail > 0) munmap(reinterpret_cast<char*>(aligned + cap), tail);
    char* p = reinterpret_cast<char*>(aligned);
    madvise(p, cap, MADV_HUGEPAGE);   // advice: refused, it stays in small pages
    len = cap;
    return p;
}

Status HugeBuffer::reserve(std::size_t need, std::size_t keep) {
    if (need <= capacity_) return Ok{};
    std::size_t cap = need;
    char* const grown = map_huge(cap);
    if (!grown) {
        const int e = errno;
        return Error{e, "cannot make room for " + std::to_string(need) + " bytes: " + std::strerror(e)};
    }
    if (keep > 0 && bytes_) {
        // The bytes kept move with their pages (mremap moves the page
        // tables over the new mapping's start): nothing is copied, and they
        // are never resident twice. Copied where that is refused.
        if (mremap(bytes_, capacity_, capacity_, MREMAP_MAYMOVE | MREMAP_FIXED, grown) != MAP_FAILED) {
            bytes_ = nullptr;   // moved: nothing left to unmap
            capacity_ = 0;
        } else {
            std::memcpy(grown, bytes_, std::min(keep, capacity_));
        }
    }
    release();
    bytes_ = grown;
    capacity_ = cap;
    return Ok{};
}

std::shared_ptr<HugeBuffer> reuse_buffer(std::vector<std::shared_ptr<HugeBuffer>>& pool, std::size_t keep) {
    for (const std::shared_ptr<HugeBuffer>& b : pool)
        if (b.use_count() == 1) {
            // The last other holder may have gone in another thread: what
            // it read of the buffer happened before the caller writes it.
            std::atomic_thread_fence(std::memory_order_acquire);
            return b;
        }
    auto b = std::make_shared<HugeBuffer>();
    if (keep == 0) return b;
    if (pool.size() >= keep) pool.erase(pool.begin());
    pool.push_back(b);
    return b;
}

}  // namespace msg::detail
