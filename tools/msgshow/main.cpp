// msgshow - show a message's structure and decoded headers; extract parts.
#include <msg/message.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "common/inputs.hpp"
#include "common/parallel.hpp"
#include "msgshow/show.hpp"

using namespace msgtools;

namespace {

const ToolInfo kInfo = {
    "msgshow", "msgshow [options] [FILE...]",
    "Show the MIME structure and decoded headers of messages; extract parts.",
    "Examples:\n"
    "  msgshow message.eml                     tree of sections, types, sizes\n"
    "  msgshow --headers message.eml           decoded header fields, then the tree\n"
    "  msgshow --json --mbox archive.mbox.gz   one JSON line per message\n"
    "  msgshow --extract 2 message.eml > part  write section 2, decoded\n"
    "  msgshow --extract-all out/ message.eml  save every attachment in out/\n"
    "  msgshow --stats --mbox archive.mbox     count messages, parts, bytes, types\n"};

// --stats: the messages are counted in `jobs` threads at once, each with
// its own counts, added up at the end; what is printed of a message (a
// message too large to read) comes in input order (common/parallel.hpp).
int stats(const Cli& cli, const InputOptions& in, const ShowOptions& so, unsigned jobs) {
    DiagPrinter diag(std::cerr, wants_color(2));
    std::vector<std::unique_ptr<Shower>> showers;
    for (unsigned k = 0; k < jobs; ++k) showers.push_back(std::make_unique<Shower>(std::cout, cli.quiet));
    struct Counted {
        std::string err;   // for standard error
        bool too_large = false, not_mail = false;
    };
    auto count = [&](unsigned k, const InputMessage& im, Counted& c) {
        if (im.too_large()) {   // its bytes were skipped
            diag.format(Place{im.file, im.data, im.first_line}, *im.framing, c.err);
            c.too_large = true;
            showers[k]->count_too_large();
            return;
        }
        const msg::Message m = msg::parse_message(im.data);
        if (!im.intact()) return;   // cut short while parsed: not counted (the loop says so, exit 74)
        if (const std::string_view why = msg::not_mail_reason(m); !why.empty()) {
            diag.format(im.place(), msg::Severity::error, im.named() + std::string(why), c.err);
            c.not_mail = true;   // not counted
            return;
        }
        showers[k]->show(m, im, so);
    };
    int result = exit_code::ok;
    auto emit = [&](Counted& c) {
        std::cerr.write(c.err.data(), static_cast<std::streamsize>(c.err.size()));
        if (c.too_large) result = exit_code::worst(result, exit_code::problems);
        if (c.not_mail) result = exit_code::worst(result, exit_code::data_error);
    };
    OrderedWork<Counted> work(jobs, count, emit);
    const int read = for_each_message(cli.inputs, in, work);
    for (unsigned k = 1; k < jobs; ++k) showers[0]->merge_stats(*showers[k]);
    showers[0]->print_stats();
    std::cout.flush();
    if (!std::cout) {
        complain(kInfo.name, stdout_failed());
        return exit_code::io_error;
    }
    return exit_code::worst(result, read);
}

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("headers", "print the decoded header fields before the tree")
        ("json", "print one JSON object per message (JSON Lines)");
    add_input_options(opts);
    opts.add_options()
        ("extract", po::value<std::string>()->value_name("SECTION"),
         "write the decoded body of SECTION (e.g. 2.1) to standard output")
        ("extract-all", po::value<std::string>()->value_name("DIR"),
         "save every attachment under a safe name in DIR")
        ("stats", "summarise the inputs: messages, parts, decoded bytes, content types");
    add_jobs_option(opts, "with --stats: read N messages at once, in N threads (default: the number of cores); "
                          "the summary is the same");
    exclusive_options({"json", "extract", "extract-all", "stats"});
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;

    int modes = static_cast<int>(vm.count("json") + vm.count("extract") + vm.count("extract-all") +
                                 vm.count("stats"));
    if (modes > 1) {
        complain(kInfo.name, "--json, --extract, --extract-all and --stats exclude each other");
        return exit_code::usage;
    }

    Shower shower(std::cout, cli.quiet);
    DiagPrinter diag(std::cerr, wants_color(2));
    InputOptions in;
    in.tool = kInfo.name;
    in.quiet = cli.quiet;
    if (const int usage = read_input_options(vm, in)) return usage;
    unsigned jobs = 1;
    if (const int usage = read_jobs_option(vm, kInfo.name, jobs)) return usage;
    int result = exit_code::ok;

    Mode mode = Mode::tree;
    if (vm.count("json")) mode = Mode::json;
    if (vm.count("stats")) mode = Mode::stats;
    if (vm.count("extract")) mode = Mode::extract;
    if (vm.count("extract-all")) mode = Mode::extract_all;
    ShowOptions so;
    so.mode = mode;
    so.headers = vm.count("headers") > 0;
    if (mode == Mode::extract) so.section = vm["extract"].as<std::string>();
    if (mode == Mode::extract_all) so.dir = vm["extract-all"].as<std::string>();

    if (mode == Mode::stats) return stats(cli, in, so, jobs);

    int read = for_each_message(cli.inputs, in, [&](const InputMessage& im) {
        if (im.too_large()) {   // its bytes were skipped
            diag.print(Place{im.file, im.data, im.first_line}, *im.framing);
            result = exit_code::worst(result, exit_code::problems);
            return true;
        }
        msg::Message m = msg::parse_message(im.data);
        // Cut short while parsed (a large file is mapped): nothing is
        // shown of it; the loop says it could not be read (exit 74).
        if (!im.intact()) return mode != Mode::extract;
        if (const std::string_view why = msg::not_mail_reason(m); !why.empty()) {
            // Not shown, as msgcheck and msgrewrite refuse it: exit 65.
            diag.print(im.place(), msg::Severity::error, im.named() + std::string(why));
            result = exit_code::worst(result, exit_code::data_error);
            return mode != Mode::extract;
        }
        int r = shower.show(m, im, so);
        Place place{im.file, im.data, im.first_line};
        if (mode != Mode::stats) {
            // The archive's framing defects first, then the message's own;
            // -q: errors only.
            msg::Defects all;
            if (im.framing) all.assign(im.framing->begin(), im.framing->end());
            all.insert(all.end(), shower.defects().begin(), shower.defects().end());
            if (cli.quiet)
                std::erase_if(all, [](const msg::Defect& d) { return d.info().severity != msg::Severity::error; });
            diag.print(place, all);
        }
        result = exit_code::worst(result, r);
        return mode != Mode::extract;  // --extract takes the first message only
    });
    result = exit_code::worst(result, shower.finish());
    std::cout.flush();
    if (!std::cout) {
        complain(kInfo.name, stdout_failed());
        return exit_code::io_error;
    }
    return exit_code::worst(result, read);
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
