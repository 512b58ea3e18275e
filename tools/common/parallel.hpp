// parallel.hpp - the tools' -j/--jobs option, and their input loop
// (inputs.hpp) over libmsg's OrderedWork (msg/parallel.hpp): msgcheck -j,
// msgshow --stats -j.
#pragma once

#include <msg/parallel.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/exit.hpp"
#include "common/inputs.hpp"

namespace msgtools {

using msg::OrderedWork;

// -j/--jobs N; `what` ends the help text ("check messages in N threads at
// once ...").
void add_jobs_option(po::options_description& opts, const char* what);
// Reads it into `jobs` (default: available_cores()). Returns 0, or the usage
// exit code after saying what is wrong (N must be 1 to 1024).
int read_jobs_option(const po::variables_map& vm, const char* tool, unsigned& jobs);

// for_each_message (inputs.hpp) with each message worked on by `work`:
// message files (of directories, or named) are read in its worker threads
// too, and plain archives framed there piece by piece (MboxPieces); other
// archives and standard input are read here. Returns the exit code of the
// reading, as for_each_message does.
template <class Result>
int for_each_message(const std::vector<std::string>& inputs, InputOptions o, OrderedWork<Result>& work) {
    msg::InputCounts problems;   // of the files read by the workers
    work.on_problem([&](msg::InputProblem p, const std::string& path, const std::string& message) {
        problems.add(p);
        complain(o.tool, message);
        if (o.on_problem) o.on_problem(p, path, message);
    });
    o.flush = [&] { work.drain(); };
    std::function<bool(const msg::InputItem&)> take;
    if (work.threads() > 1)
        take = [&](const msg::InputItem& item) {
            if (item.kind == msg::InputItem::Kind::file) {
                work.add_file(item);
                return true;
            }
            // A plain archive in a From_-line format is framed by the workers
            // too, piece by piece. Any other (gzip, leading bytes, the
            // Content-Length formats, one to lock, one that cannot be
            // opened) is read here, which says what is wrong with it.
            if (o.lock) return false;
            auto pieces = msg::MboxPieces::open(item.path, o.format);
            if (!pieces || !*pieces) return false;
            (*pieces)->set_stretch(work.archive_stretch((*pieces)->size()));
            work.add_archive(**pieces, item.path, o.format);
            return true;
        };
    const int read = for_each_message(inputs, o, [&](const InputMessage& im) {
        work.add(im);
        return true;
    }, take);
    work.drain();
    work.on_problem(nullptr);   // it refers to this call's locals
    return exit_code::worst(read, input_exit_code(problems));
}

}  // namespace msgtools
