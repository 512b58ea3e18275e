// inputs.cpp - the tools' side of the input loop (msg/inputs.hpp).
#include "common/inputs.hpp"

#include <algorithm>
#include <memory>

#include "common/cli.hpp"
#include "common/exit.hpp"
#include "common/progress.hpp"

namespace msgtools {

namespace {
std::vector<std::string> g_outputs;   // the output format names of this tool's --format
}

void add_input_options(po::options_description& opts, std::initializer_list<const char*> outputs) {
    g_outputs.assign(outputs.begin(), outputs.end());
    opts.add_options()("mbox", "inputs are mbox archives (plain or gzip)");
    if (g_outputs.empty()) {
        opts.add_options()("format", po::value<std::vector<std::string>>()->value_name("FORMAT"),
                           "with --mbox: the archives' variant, mboxrd (default), mboxo, mboxcl, mboxcl2 or detect");
    } else {
        std::string names;
        for (const std::string& o : g_outputs) names += (names.empty() ? "" : ", ") + o;
        opts.add_options()("format", po::value<std::vector<std::string>>()->composing()->value_name("FORMAT"),
                           ("the output: " + names + " (default " + g_outputs.front() +
                            "); with --mbox, also the archives' variant: mboxrd (default), mboxo, mboxcl, mboxcl2 "
                            "or detect (give --format twice for both)").c_str());
    }
    opts.add_options()("mboxo", "with --mbox: the same as --format mboxo");
    exclusive_options({"mboxo", "format=mboxrd", "format=mboxcl", "format=mboxcl2", "format=detect"});
}

int read_input_options(const po::variables_map& vm, InputOptions& in, std::string* output) {
    in.mbox = vm.count("mbox") > 0;
    const bool mboxo = vm.count("mboxo") > 0;
    if (mboxo) in.format = msg::MboxFormat::mboxo;
    if (!vm.count("format")) return exit_code::ok;
    bool have_output = false, have_mbox = false;
    for (const std::string& name : vm["format"].as<std::vector<std::string>>()) {
        if (std::find(g_outputs.begin(), g_outputs.end(), name) != g_outputs.end()) {
            if (have_output) {
                complain(in.tool, "two output formats in --format");
                return exit_code::usage;
            }
            have_output = true;
            if (output) *output = name;
            continue;
        }
        const auto f = msg::parse_format(name);
        if (!f) {
            std::string known;
            for (const std::string& o : g_outputs) known += o + ", ";
            complain(in.tool, "unknown format '" + name + "' (" + known + "mboxrd, mboxo, mboxcl, mboxcl2 or detect)");
            return exit_code::usage;
        }
        if (have_mbox) {
            complain(in.tool, "two mbox formats in --format");
            return exit_code::usage;
        }
        have_mbox = true;
        if (mboxo && *f != msg::MboxFormat::mboxo) {
            complain(in.tool, "--mboxo and --format " + name + " contradict each other");
            return exit_code::usage;
        }
        in.format = *f;
    }
    return exit_code::ok;
}

int input_exit_code(const msg::InputCounts& c) {
    int worst = exit_code::ok;
    if (c.unusable) worst = exit_code::worst(worst, exit_code::data_error);
    if (c.missing) worst = exit_code::worst(worst, exit_code::no_input);
    if (c.unreadable) worst = exit_code::worst(worst, exit_code::io_error);
    // Try again later: when the archive is free, or with more memory.
    if (c.locked || c.no_memory) worst = exit_code::worst(worst, exit_code::temp_fail);
    return worst;
}

int for_each_message(const std::vector<std::string>& inputs, const InputOptions& o,
                     const std::function<bool(const InputMessage&)>& fn,
                     const std::function<bool(const msg::InputItem&)>& take) {
    msg::InputOptions lo;
    lo.mbox = o.mbox;
    lo.format = o.format;
    lo.lock = o.lock;
    lo.max_read = o.max_read;
    lo.leave_out = o.leave_out;
    lo.spool_entries = o.spool_entries;
    // One progress bar per archive, as the archive's size is known; it is
    // cleared before a message is printed.
    std::unique_ptr<Progress> progress;
    auto say = [&](const std::string& message) {
        if (o.flush) o.flush();
        if (progress) progress->finish();
        complain(o.tool, message);
    };
    lo.on_error = [&](msg::InputProblem p, const std::string& path, const std::string& message) {
        say(message);
        if (o.on_problem) o.on_problem(p, path, message);
    };
    if (o.report_leading) lo.on_leading = say;
    std::uint64_t total = ~std::uint64_t{0};
    if (o.progress)
        lo.on_progress = [&](std::uint64_t bytes, std::uint64_t size, std::uint64_t messages) {
            if (!progress || size != total) {
                progress = std::make_unique<Progress>(size, "messages");
                total = size;
            }
            progress->update(bytes, messages);
        };
    msg::InputCounts c;
    const std::vector<std::string> list = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
    bool more = true;
    msg::InputItem item;
    for (std::size_t k = 0; k < list.size() && more; ++k) {
        msg::InputListing listing(list[k], lo);
        if (const auto& e = listing.held_in_memory(); e && !o.quiet)
            complain(o.tool, e->message + " (the listing of " + list[k] + " was held in memory)");
        while (listing.next(item)) {
            if (take && item.kind != msg::InputItem::Kind::problem && item.path != "-" && take(item)) continue;
            if (!(more = msg::read_input(item, lo, fn, c))) break;
        }
    }
    progress.reset();
    return input_exit_code(c);
}

}  // namespace msgtools
