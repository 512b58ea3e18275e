// huge_buffer.hpp - a buffer of bytes mapped in whole huge pages, for the
// large buffers that archives are read into (the mbox reader's window, a
// piece of an archive framed by a worker).
//
// Memory that read(2) fills for the first time is faulted in page by page;
// on a virtual machine a fault can cost ten microseconds or more, and a
// buffer of a few MiB takes a thousand of them. A HugeBuffer is aligned to
// and sized in 2 MiB pages, and the kernel is asked (madvise, where
// transparent huge pages are enabled for it) to back it with huge pages,
// so that it faults in 2 MiB at a time. Where that is not granted it
// behaves as any anonymous mapping. Pages never touched are never faulted in.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <msg/result.hpp>

namespace msg::detail {

// Anonymous memory for at least `len` bytes that starts on a huge page's
// boundary and is advised to be backed by huge pages: `len` is rounded up
// to whole huge pages, the length to unmap. `flags` are added to
// MAP_PRIVATE | MAP_ANONYMOUS (MAP_NORESERVE: address space reserved, as
// for a buffer sized for a limit). Null, with errno set, when none can be
// mapped.
char* map_huge(std::size_t& len, int flags = 0);

class HugeBuffer {
public:
    static constexpr std::size_t kHuge = std::size_t{2} << 20;

    HugeBuffer() = default;
    HugeBuffer(HugeBuffer&& o) noexcept;
    HugeBuffer& operator=(HugeBuffer&& o) noexcept;
    ~HugeBuffer();

    char* data() const { return bytes_; }
    std::size_t capacity() const { return capacity_; }

    // Room for at least `need` bytes, the first `keep` of those there kept
    // (keep <= capacity()): when the buffer moves, its pages move with it
    // (mremap), copied only where the system refuses that. An error when no
    // memory can be mapped; the buffer is then as it was.
    Status reserve(std::size_t need, std::size_t keep = 0);

private:
    void release();
    char* bytes_ = nullptr;
    std::size_t capacity_ = 0;
};

// A buffer of `pool` that nothing else holds any more (views into it, held
// by shared_ptrs that may have been let go in other threads), or else a new
// one, kept in `pool` in place of the oldest once it holds `keep`: a buffer
// used again costs no allocation and no page faults. The pool is the
// calling thread's (or guarded by the caller).
std::shared_ptr<HugeBuffer> reuse_buffer(std::vector<std::shared_ptr<HugeBuffer>>& pool, std::size_t keep);

}  // namespace msg::detail
