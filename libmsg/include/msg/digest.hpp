// digest.hpp - message digests for the JSON outputs (a part's decoded bytes),
// through OpenSSL's EVP interface.
#pragma once

#include <string>
#include <string_view>

namespace msg {

// SHA-256 (FIPS 180-4) of `data`, as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace msg
