// parallel.cpp - the -j/--jobs option.
#include "common/parallel.hpp"

#include "common/exit.hpp"

namespace msgtools {

void add_jobs_option(po::options_description& opts, const char* what) {
    // Read signed: "-j -1" is said as -1, not as the unsigned it wraps to.
    opts.add_options()("jobs,j", po::value<long long>()->value_name("N"), what);
}

int read_jobs_option(const po::variables_map& vm, const char* tool, unsigned& jobs) {
    jobs = msg::available_cores();
    if (!vm.count("jobs")) return exit_code::ok;
    const long long n = vm["jobs"].as<long long>();
    if (n < 1 || n > 1024) {
        complain(tool, "--jobs takes a number of threads from 1 to 1024, not " + std::to_string(n));
        return exit_code::usage;
    }
    jobs = static_cast<unsigned>(n);
    return exit_code::ok;
}

}  // namespace msgtools
