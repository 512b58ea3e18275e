// inputs.hpp - the input loop every tool shares.
//
// Inputs are files, "-" (standard input), directories (every regular file
// below them, recursively, in sorted order; symbolic links below a
// directory are not followed; of a Maildir, at any depth, only the
// messages in cur/ and new/) and, with `mbox`, archives whose
// messages are handed out one at a time (gzip is detected). A failing input
// is reported on stderr and the loop goes on with the next; the worst
// outcome is returned as an exit code (66 missing input, 65 unusable data,
// 74 read error).
#pragma once

#include <msg/defect.hpp>
#include <msg/maildir.hpp>
#include <msg/mbox.hpp>

#include <cstdint>
#include <initializer_list>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli.hpp"

namespace msgtools {

struct InputMessage {
    std::string file;              // name for diagnostics ("<stdin>" for -)
    std::string source;            // name for JSON output ("-" for stdin)
    std::uint64_t index = 0;       // message number within the file, from 0
    std::string_view data;         // valid during the callback only
    std::uint64_t first_line = 1;  // line of data[0] in the file
    std::uint64_t offset = 0;      // byte offset of data[0] in the (uncompressed) file
    bool from_mbox = false;
    // Framing defects of an mbox message (mbox.* codes), offsets into data;
    // null for files. Valid during the callback only.
    const msg::Defects* framing = nullptr;
    // The archive's message as the reader handed it out (From_ line,
    // separators, ...); null for files. Valid during the callback only.
    const msg::MboxMessage* mbox = nullptr;
    // With the first message of an archive: the bytes before its first
    // From_ line, which belong to no message (their count; `leading_bytes`
    // holds them when they were kept, i.e. unless they passed the limit).
    std::uint64_t leading = 0;
    std::string_view leading_bytes;
    // An archive's message too large to hold (msg::MboxMessage::too_large):
    // `data` is empty, `framing` says why. Tools leave it out and count it.
    bool too_large() const { return mbox && mbox->too_large; }
    // A message file of a Maildir (name, flags, delivery time); null otherwise.
    const msg::MaildirFile* maildir = nullptr;
};

struct InputOptions {
    bool mbox = false;         // inputs are mbox archives
    msg::MboxFormat format = msg::MboxFormat::mboxrd;  // the archives' variant
    bool lock = false;         // lock each archive while reading it (msg::MboxLock; 75 when it cannot be had)
    bool progress = false;     // a progress bar on a terminal
    bool report_leading = true;  // complain of bytes before an archive's first From_ line (else the tool does)
    const char* tool = "msgtools";
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
// to stop the loop early.
int for_each_message(const std::vector<std::string>& inputs, const InputOptions& options,
                     const std::function<bool(const InputMessage&)>& fn);

}  // namespace msgtools
