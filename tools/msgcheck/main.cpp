// msgcheck - validate messages like a compiler validates code.
#include <msg/message.hpp>
#include <msg/source.hpp>
#include <msg/spool.hpp>
#include <msg/validate.hpp>

#include <algorithm>
#include <iostream>
#include <set>
#include <string>

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "common/inputs.hpp"
#include "common/parallel.hpp"
#include <msg/json.hpp>

using namespace msgtools;

namespace {

const ToolInfo kInfo = {
    "msgcheck", "msgcheck [options] [FILE|DIR|-]...",
    "Check that messages are well formed (RFC 5322, MIME); report each defect with its place.",
    "Each defect is printed on standard output as file:line:col: severity: text [code],\n"
    "the summary on standard error. Exit status:\n"
    "0 no errors, 1 errors found (or warnings with --werror), 65/66 unusable or missing input.\n\n"
    "Examples:\n"
    "  msgcheck message.eml                    check one message\n"
    "  msgcheck --mbox archive.mbox.gz         check every message of an archive\n"
    "  msgcheck --ignore line.long out/        check a directory, without one warning\n"
    "  msgcheck --json message.eml | jq .defect  one JSON object per defect\n"
    "  msgcheck --format sarif -q out/ > msgcheck.sarif   errors as SARIF 2.1.0, for code scanning\n"
    "  msgcheck --explain mime.boundary-missing\n"};

int list() {
    for (const msg::DefectInfo& d : msg::defect_catalogue())
        std::cout << d.code << '\t' << msg::severity_name(d.severity) << '\t' << d.text << '\n';
    return exit_code::ok;
}

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("json", "print one JSON object per defect (JSON Lines) instead of text: --format json");
    add_input_options(opts, {"text", "json", "sarif"});
    opts.add_options()
        ("spool", "inputs are spool entries (envelope, empty line, message); without it, a file that "
                  "starts with MAIL FROM: or RCPT TO: is taken as one")
        ("utf8", "messages are internationalised (RFC 6532): UTF-8 header text is allowed")
        ("select", po::value<std::vector<std::string>>()->composing()->value_name("CODE"),
         "report only these codes or groups (repeatable, or comma-separated)")
        ("ignore", po::value<std::vector<std::string>>()->composing()->value_name("CODE"),
         "do not report these codes or groups (repeatable, or comma-separated)")
        ("werror", "treat warnings as errors for the exit status")
        ("explain", po::value<std::string>()->value_name("CODE"), "describe a defect code and exit")
        ("list", "list every defect code and exit")
        ("catalogue", "print the whole catalogue in Markdown (the defect list of docs/defects.md) and exit");
    add_jobs_option(opts, "check N messages at once, in N threads (default: the number of cores); the output "
                          "is the same, in input order");
    exclusive_options({"json", "format=text", "format=sarif"});
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    if (vm.count("explain")) return explain_defect(kInfo.name, vm["explain"].as<std::string>());
    if (vm.count("list")) return list();
    if (vm.count("catalogue")) return std::cout << msg::catalogue_markdown(), exit_code::ok;

    msg::DefectFilter filter;
    for (const char* which : {"select", "ignore"})
        if (vm.count(which))
            for (const std::string& p : vm[which].as<std::vector<std::string>>())
                msg::DefectFilter::add(which[0] == 's' ? filter.select : filter.ignore, p);
    for (const auto* l : {&filter.select, &filter.ignore})
        for (const std::string& p : *l)
            if (!msg::known_defect_pattern(p)) {
                complain(kInfo.name, "unknown defect code or group '" + p + "' (see msgcheck --list)");
                return exit_code::usage;
            }

    const bool werror = vm.count("werror") > 0;
    msg::ValidateOptions vo;
    vo.utf8 = vm.count("utf8") > 0;
    InputOptions in;
    in.tool = kInfo.name;
    in.quiet = cli.quiet;
    std::string output = vm.count("json") ? "json" : "text";
    if (const int usage = read_input_options(vm, in, &output)) return usage;
    if (vm.count("json") && output != "json") {
        complain(kInfo.name, "--json and --format " + output + " contradict each other");
        return exit_code::usage;
    }
    const bool json = output == "json", sarif = output == "sarif";
    const bool spool = vm.count("spool") > 0;
    in.spool_entries = spool;
    unsigned jobs = 1;
    if (const int usage = read_jobs_option(vm, kInfo.name, jobs)) return usage;

    // Diagnostics go to standard output, as other linters print them; the
    // summary and the tool's own troubles to standard error.
    const DiagPrinter diag(std::cout, wants_color(1));
    msg::SarifLog log(std::cout, kInfo.name, MSGTOOLS_VERSION);
    if (sarif) {
        log.begin();
        // An input that cannot be read is said on standard error, and in
        // the log too, where a reader of the log alone finds it.
        in.on_problem = [&](msg::InputProblem, const std::string& path, const std::string& message) {
            log.add_unreadable(path, message);
        };
    }
    std::uint64_t messages = 0, errors = 0, warnings = 0, notes = 0;
    std::uint64_t unusable = 0;

    // What checking one message gives: its output and its counts. Messages
    // are checked in `jobs` threads at once; the results are written in
    // input order (common/parallel.hpp), so the output is the same
    // whatever the number of threads.
    struct Checked {
        std::string out;                  // text or JSON Lines, for standard output
        std::vector<std::string> sarif;   // SARIF results
        std::uint64_t errors = 0, warnings = 0, notes = 0, unusable = 0;
    };
    // Report the defects found in `data`, which starts at `first_line` and
    // byte `offset` of the input.
    auto report = [&](const InputMessage& im, const msg::Defects& all, std::string_view data,
                      std::uint64_t first_line, std::uint64_t offset, Checked& c) {
        msg::Defects defects;
        for (const msg::Defect& d : all) {
            const msg::DefectInfo& info = d.info();
            if (!filter.wanted(info.code)) continue;
            switch (info.severity) {
            case msg::Severity::error: ++c.errors; break;
            case msg::Severity::warning: ++c.warnings; break;
            case msg::Severity::note: ++c.notes; break;
            }
            // -q: nothing but errors.
            if (!cli.quiet || info.severity == msg::Severity::error) defects.push_back(d);
        }
        if (defects.empty()) return;
        // An archive's message with ">From " lines unquoted: its positions
        // as they are in the file.
        const std::span<const std::size_t> unquoted =
            im.data.data() == data.data() ? im.unquoted_lines() : std::span<const std::size_t>();
        if (!json && !sarif) {
            diag.format(Place{im.file, data, first_line, unquoted}, defects, c.out);
            return;
        }
        const msg::LineIndex index(data);
        for (const msg::Defect& d : defects) {
            const msg::LineCol lc = index.locate(d.offset);
            const auto line = static_cast<std::uint64_t>(first_line + lc.line - 1);
            const std::uint64_t column = msg::archive_column(unquoted, d.offset, lc.column);
            const std::uint64_t at = offset + msg::archive_offset(unquoted, d.offset);
            if (sarif) {
                c.sarif.push_back(msg::SarifLog::result(im.source, im.index, data, d, line, column, at));
                continue;
            }
            c.out.append(msg::defect_json(im.source, im.index, line, column, at, d)).append(1, '\n');
        }
    };
    auto check = [&](unsigned, const InputMessage& im, Checked& c) {
        std::string_view data = im.data;
        std::uint64_t first_line = im.first_line, offset = im.offset;
        msg::ValidateOptions options = vo;
        if (!im.from_mbox && (spool || msg::looks_like_spool_entry(data))) {
            const msg::SpoolEntry entry = msg::parse_spool_entry(data);
            report(im, msg::validate_envelope(entry), data, first_line, offset, c);
            // An entry cut short before its message: envelope.no-separator says it all.
            if (!entry.has_separator && entry.message.empty()) return;
            options.utf8 = options.utf8 || entry.smtputf8();
            data = entry.message;
            first_line += entry.message_line - 1;
            offset += entry.message_offset;
        }
        if (im.too_large()) {   // its bytes were skipped: the framing defect is all there is to say
            report(im, *im.framing, data, first_line, offset, c);
            return;
        }
        const msg::Message m = msg::parse_message(data);
        const bool framing = im.framing && !im.framing->empty();
        // Not mail at all (msg::not_mail_reason): empty, an image, binary
        // data. A first line with a colon but a bad name is a defect,
        // reported below.
        if (const std::string_view why = msg::not_mail_reason(m); !why.empty()) {
            if (framing) report(im, *im.framing, data, first_line, offset, c);
            const std::string what(why);
            if (sarif) {
                c.sarif.push_back(msg::SarifLog::input_result(
                    im.source, msg::Severity::error,
                    what + (im.from_mbox ? " (message " + std::to_string(im.index + 1) + ")" : std::string())));
            } else if (json) {
                Json j;
                j.begin_object().key("source").value(im.source).key("index").value(im.index)
                    .key("severity").value("error").key("text").value(what).end_object();
                c.out.append(j.str()).append(1, '\n');
            } else {
                diag.format(im.place(), msg::Severity::error, im.named() + what, c.out);
            }
            ++c.unusable;
            return;
        }
        msg::Defects defects = msg::validate(m, options);
        // The archive's framing defects first, then the message's own.
        if (framing) defects.insert(defects.begin(), im.framing->begin(), im.framing->end());
        report(im, defects, data, first_line, offset, c);
    };
    auto emit = [&](Checked& c) {
        ++messages;
        errors += c.errors;
        warnings += c.warnings;
        notes += c.notes;
        unusable += c.unusable;
        std::cout.write(c.out.data(), static_cast<std::streamsize>(c.out.size()));
        for (const std::string& r : c.sarif) log.add_result(r);
    };
    OrderedWork<Checked> work(jobs, check, emit);
    const int read = for_each_message(cli.inputs, in, work);

    int result = (errors > 0 || (werror && warnings > 0)) ? exit_code::problems : exit_code::ok;
    if (unusable) result = exit_code::worst(result, exit_code::data_error);
    result = exit_code::worst(result, read);
    if (sarif) log.end(result);
    if (!cli.quiet) {
        std::cerr << kInfo.name << ": " << messages << (messages == 1 ? " message" : " messages") << ", "
                  << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
                  << (warnings == 1 ? " warning" : " warnings");
        if (notes) std::cerr << ", " << notes << (notes == 1 ? " note" : " notes");
        if (unusable) std::cerr << ", " << unusable << " not mail";
        std::cerr << '\n';
    }
    std::cout.flush();
    if (!std::cout) {
        complain(kInfo.name, stdout_failed());
        return exit_code::io_error;
    }
    return result;
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
