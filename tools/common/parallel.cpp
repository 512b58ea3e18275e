// parallel.cpp - the -j/--jobs option.
#include "common/parallel.hpp"

#include "common/exit.hpp"

namespace msgtools {

void add_jobs_option(po::options_description& opts, const char* what) {
    opts.add_options()("jobs,j", po::value<unsigned>()->value_name("N"), what);
}

int read_jobs_option(const po::variables_map& vm, const char* tool, unsigned& jobs) {
    jobs = msg::available_cores();
    if (!vm.count("jobs")) return exit_code::ok;
    const unsigned n = vm["jobs"].as<unsigned>();
    if (n < 1 || n > 1024) {
        complain(tool, "--jobs takes a number of threads from 1 to 1024, not " + std::to_string(n));
        return exit_code::usage;
    }
    jobs = n;
    return exit_code::ok;
}

}  // namespace msgtools
