// host.cpp - this machine's name (host.hpp).
#include "msg/host.hpp"

#include <unistd.h>

namespace msg {

std::string host_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
    return host;
}

}  // namespace msg
