// smtp_client.cpp - the SMTP clients' shared options (smtp_client.hpp).
#include "common/smtp_client.hpp"

#include "common/exit.hpp"
#include "msg/files.hpp"
#include "msg/smtp/client_session.hpp"

namespace msgtools {

void add_tls_check_options(po::options_description& opts) {
    opts.add_options()
        ("tls-verify", po::value<std::string>()->default_value("yes"), "yes | no: check the server's certificate and name")
        ("ca-file", po::value<std::string>(), "PEM file of trusted certificates (default: the system's)");
}

msg::Result<msg::smtp::TlsOptions> tls_check_options(const po::variables_map& vm) {
    msg::smtp::TlsOptions tls;
    const std::string verify = vm["tls-verify"].as<std::string>();
    if (verify != "yes" && verify != "no") return msg::Error{EINVAL, "--tls-verify must be yes or no"};
    tls.verify = verify == "yes";
    if (vm.count("ca-file")) tls.ca_file = vm["ca-file"].as<std::string>();
    return tls;
}

int check_ca_file(const char* tool, const msg::smtp::TlsOptions& tls, bool using_tls) {
    if (!using_tls) return 0;
    if (auto s = msg::smtp::check_tls_options(tls); !s) {
        complain(tool, "--ca-file: " + s.error().message);
        return exit_code::no_input;
    }
    return 0;
}

msg::Result<std::string> read_auth_file(const std::string& path) {
    auto text = msg::read_regular_file(path);
    if (!text) return msg::Error{text.error().errnum, "--auth-file: " + text.error().message};
    return msg::smtp::secret_from_file(*text);
}

}  // namespace msgtools
