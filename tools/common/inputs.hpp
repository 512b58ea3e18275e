// inputs.hpp - the input loop every tool shares: libmsg's (msg/inputs.hpp)
// with the tools' options, their messages on stderr, the progress bar and
// exit codes (66 missing input, 65 unusable data, 74 read error, 75 an
// archive locked by another program, or an input too large for the memory
// the process may have).
#pragma once

#include <msg/inputs.hpp>
#include <msg/mbox.hpp>

#include <cstdint>
#include <initializer_list>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli.hpp"

namespace msgtools {

using msg::InputMessage;

struct InputOptions {
    bool mbox = false;         // inputs are mbox archives
    msg::MboxFormat format = msg::MboxFormat::mboxrd;  // the archives' variant
    bool lock = false;         // lock each archive while reading it (msg::MboxLock; 75 when it cannot be had)
    bool progress = false;     // a progress bar on a terminal
    bool report_leading = true;  // complain of bytes before an archive's first From_ line (else the tool does)
    std::size_t max_read = msg::Source::kMaxRead;   // a larger message file is mapped, not read (msg::InputOptions)
    std::vector<std::string> leave_out;   // directories a walk leaves out (msg::InputOptions)
    bool spool_entries = false;  // a walk gives only a spool's entries (msg::InputOptions)
    const char* tool = "msgtools";
    bool quiet = false;        // -q: no warnings of the loop's own (a listing held in memory)
    // Called before the loop prints anything of its own (an input that
    // cannot be read, bytes before an archive's first message): a tool that
    // holds output of earlier messages back (parallel.hpp) writes it first.
    std::function<void()> flush;
    // Called after an input that cannot be read is said on standard error,
    // with its path ("-" for standard input) and the sentence said: a tool
    // that also puts it in its output (msgcheck's SARIF log) takes it here.
    std::function<void(msg::InputProblem, const std::string& path, const std::string& message)> on_problem;
};

// The options that choose the inputs' kind, the same in every tool that
// reads messages or archives: --mbox, --format FORMAT, --mboxo (the old
// spelling of --format mboxo). A tool with `outputs` (msgcheck: text, json,
// sarif) also takes those names in --format, which may then be repeated:
// the two sets of names do not meet.
void add_input_options(po::options_description& opts, std::initializer_list<const char*> outputs = {});
// Read them into `in` (in.tool names the tool in messages); `output` gets
// the output format named in --format, if any. Returns 0, or the usage
// exit code after saying what is wrong.
int read_input_options(const po::variables_map& vm, InputOptions& in, std::string* output = nullptr);

// Call `fn` for each message of each input; returns the worst exit code of
// the reading itself (0 when everything could be read). `fn` returns false
// to stop the loop early. With `take`, each message file and archive (not
// standard input) is offered to it first; when it returns true it has
// taken the input, to read it elsewhere (parallel.hpp), and the loop goes on.
int for_each_message(const std::vector<std::string>& inputs, const InputOptions& options,
                     const std::function<bool(const InputMessage&)>& fn,
                     const std::function<bool(const msg::InputItem&)>& take = {});

// The exit code for the problems counted: 65 unusable, 66 missing, 74
// unreadable, 75 locked or out of memory, the worst of them; 0 for none.
// Every tool's input loop ends here, so that each problem gives the same
// status in all of them.
int input_exit_code(const msg::InputCounts& counts);

}  // namespace msgtools
