// smtp_client.hpp - the options of the tools that are SMTP clients
// (spoolsend, smtpreplay): how the server's certificate is checked and
// where the password comes from, spelled and read alike in both.
#pragma once

#include <string>

#include "common/cli.hpp"
#include "msg/result.hpp"
#include "msg/smtp/client.hpp"

namespace msgtools {

// --tls-verify yes|no and --ca-file FILE.
void add_tls_check_options(po::options_description& opts);
// The TlsOptions they ask for; an error message for a bad --tls-verify.
msg::Result<msg::smtp::TlsOptions> tls_check_options(const po::variables_map& vm);

// Whether the certificates --ca-file names can be loaded: said before any
// connection (message, exit 66) and not at the handshake, where it would
// pass for a server that cannot be reached. 0 when they can, or when TLS is
// not used (`using_tls` false).
int check_ca_file(const char* tool, const msg::smtp::TlsOptions& tls, bool using_tls);

// The secret in an --auth-file (its first line; msg::smtp::secret_from_file).
msg::Result<std::string> read_auth_file(const std::string& path);

}  // namespace msgtools
