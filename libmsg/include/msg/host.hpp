// host.hpp - this machine's name, as mail needs it: in HELO/EHLO, a DSN's
// Reporting-MTA, a new Message-ID's domain, and unique file names (the
// spool's, Maildir's, a lock's temporary file).
#pragma once

#include <string>

namespace msg {

// gethostname(), or "localhost" when the machine has no name.
std::string host_name();

}  // namespace msg
