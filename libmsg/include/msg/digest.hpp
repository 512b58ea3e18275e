// digest.hpp - message digests for the JSON outputs (a part's decoded bytes):
// SHA-256, the library's own (with the x86 SHA extensions where the CPU has
// them).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace msg {

// SHA-256 (FIPS 180-4) of `data`, as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

// The same over data that comes in pieces (a body decoded in slices):
// update() with each, then hex() once.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::string_view data);
    std::string hex();   // ends the digest

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

}  // namespace msg
