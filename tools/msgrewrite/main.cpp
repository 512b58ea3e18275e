// msgrewrite - rewrite and repair messages, changing only what must change.
#include <msg/datetime.hpp>
#include <msg/host.hpp>
#include <msg/mbox.hpp>
#include <msg/rewrite.hpp>
#include <msg/source.hpp>
#include <msg/spool.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <ctime>
#include <iostream>
#include <string>

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "msg/files.hpp"
#include "common/inputs.hpp"
#include <msg/json.hpp>

using namespace msgtools;

namespace {

const ToolInfo kInfo = {
    "msgrewrite", "msgrewrite [operations] [options] [FILE...]",
    "Rewrite and repair messages, mbox archives and spool entries; bytes no operation has to "
    "change stay as they are.\nOperations run in this order, whatever the order on the command line: "
    "--fix, --remove, --set, --add, --strip-bcc, --add-date, --add-message-id, --to-utf8, --7bit, "
    "--line-limit, --fold, --crlf/--lf.",
    "Examples:\n"
    "  msgrewrite --7bit --fold message.eml > out.eml    make a message fit a 7-bit hop\n"
    "  msgrewrite --fix --in-place broken.eml             repair in place, report what is left\n"
    "  msgrewrite --strip-bcc --add-date --add-message-id=example.org draft.eml\n"
    "  msgrewrite --remove 'X-*' --set 'Subject: Minutes' message.eml\n"
    "  msgrewrite --mbox --to-utf8 -o utf8.mbox.gz archive.mbox\n"
    "  msgrewrite --7bit --in-place spool/queue/       spool entries: BODY=8BITMIME dropped too\n"
    "  msgrewrite --line-limit -o fits.eml report.eml  no line over 998 octets, nothing else changed\n"
    "  msgrewrite --json --dry-run --fix --mbox archive.mbox   what would change, one JSON line per message\n"};

struct Counts {
    std::uint64_t messages = 0, changed = 0, with_problems = 0;
};

class Rewriter {
public:
    Rewriter(const msg::RewriteOptions& o, bool json, bool quiet, std::string domain, std::time_t now,
             bool date, bool message_id)
        : options_(o), json_(json), quiet_(quiet), domain_(std::move(domain)), now_(now), date_(date),
          message_id_(message_id), diag_(std::cerr, wants_color(2)) {}

    // Rewrite one message or spool entry; report; return the result.
    msg::RewriteResult run(const InputMessage& im, bool entry) {
        const std::string_view data = im.data;
        msg::RewriteOptions o = options_;
        if (date_) o.add_date = msg::format_date_time(now_);
        if (message_id_) o.add_message_id = msg::make_message_id(data, now_, domain_);
        msg::RewriteResult r = entry ? msg::rewrite_spool_entry(data, o) : msg::rewrite(data, o);
        ++counts_.messages;
        if (r.refused()) {
            // Not mail, or too large to rewrite: left as it is, exit 65
            // (as msgcheck says of what is not mail). An error, so said
            // under -q too.
            ++counts_.with_problems;
            worst_ = exit_code::worst(worst_, exit_code::data_error);
            const std::string why = r.too_large ? std::to_string(data.size()) + " bytes, over the limit of " +
                                                      std::to_string(o.limits.max_rewrite_message) + " (--max-size)"
                                                : r.not_mail;
            if (json_) print_json(im, r);
            else diag_.print(im.place(), msg::Severity::error, im.named() + why + "; left as it is");
            return r;
        }
        if (r.changed) ++counts_.changed;
        bool bad = !r.problems.empty();
        for (const msg::Defect& d : r.remaining) bad = bad || d.info().severity == msg::Severity::error;
        if (bad) ++counts_.with_problems;
        worst_ = exit_code::worst(worst_, bad ? exit_code::problems : exit_code::ok);
        if (json_) print_json(im, r);
        else if (!quiet_) print_problems(im, r);
        return r;
    }
    const Counts& counts() const { return counts_; }
    // `n` changed messages were not written after all (the output refused
    // or failed): the summary counts changes made.
    void not_written(std::uint64_t n) { counts_.changed -= std::min(n, counts_.changed); }
    int worst() const { return worst_; }

private:
    void print_json(const InputMessage& im, const msg::RewriteResult& r) {
        std::cout << msg::rewrite_json(im.source, im.index, r, im.data, options_.fix, im.first_line,
                                       im.unquoted_lines())
                  << '\n';
    }
    void print_problems(const InputMessage& im, const msg::RewriteResult& r) {
        // Each at its place in the input (a field, a line, a part's first
        // byte), or where the message is when it has none.
        std::vector<DiagPrinter::Note> notes;
        for (const msg::Change& c : r.problems) {
            std::string text = im.named() + c.where + ": " + c.what + " [" + std::string(msg::step_name(c.step)) + "]";
            if (c.offset == std::string::npos) diag_.print(im.place(), msg::Severity::warning, text);
            else notes.push_back({c.offset, msg::Severity::warning, std::move(text)});
        }
        diag_.print(Place{im.file, im.data, im.first_line, im.unquoted_lines()}, notes);
        // What --fix left: placed in the rewritten message.
        if (!r.remaining.empty()) {
            const std::string as = im.from_mbox ? im.file + ": message " + std::to_string(im.index + 1) : im.file;
            diag_.print(Place{as + " (as rewritten)", r.text(im.data), 1}, r.remaining);
        }
    }

    msg::RewriteOptions options_;
    bool json_, quiet_;
    std::string domain_;
    std::time_t now_;
    bool date_, message_id_;
    DiagPrinter diag_;
    Counts counts_;
    int worst_ = exit_code::ok;
};

bool write_all(std::FILE* f, std::string_view data) {
    return std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0;
}

// Rewrite the messages of one archive into `out` ("-" for standard output,
// a temporary file for --in-place). Returns an exit code.
int rewrite_archive(const std::string& path, const InputOptions& in, const std::string& out, bool gzip,
                    bool dry_run, Rewriter& rw, std::unique_ptr<msg::MboxWriter>& writer) {
    int result = exit_code::ok;
    const int read = for_each_message({path}, in, [&](const InputMessage& im) {
        const msg::MboxMessage& m = *im.mbox;
        if (im.too_large()) {
            // Its bytes were not read: writing the archive would lose it.
            complain(kInfo.name, im.file + ": message " + std::to_string(m.index + 1) +
                                     " is larger than the limit; the archive cannot be rewritten");
            result = exit_code::data_error;
            return false;
        }
        const msg::RewriteResult r = rw.run(im, false);
        if (dry_run) return true;
        if (!writer) {
            msg::MboxWriter::Options wo;
            wo.format = m.format;
            wo.gzip = gzip;
            auto w = msg::MboxWriter::open(out, wo);
            if (!w.ok()) {
                complain(kInfo.name, w.error().message);
                result = exit_code::cant_create;
                return false;
            }
            writer = std::move(*w);
        }
        // Bytes before the archive's first From_ line stay where they were;
        // before a later archive's first message they have no place (the
        // writer says so, and the output is still whole).
        if (const msg::Status s = writer->write_raw(im.leading_bytes); !s) {
            complain(kInfo.name, im.file + ": " + s.error().message);
            if (s.error().errnum != EINVAL) {
                result = exit_code::io_error;
                return false;
            }
            result = exit_code::worst(result, exit_code::problems);
        }
        // An unchanged message goes out as it came in (its archive's
        // unquoted "From " lines too); a changed one is quoted afresh.
        const msg::Status s = r.changed ? writer->write(m.from_line, r.output, m.from_crlf, m.separator, m.separator_crlf)
                                        : writer->write(m);
        if (!s.ok()) {
            complain(kInfo.name, s.error().message);
            result = exit_code::io_error;
            return false;
        }
        return true;
    });
    return exit_code::worst(result, read);
}

bool is_gzip_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    unsigned char b[2] = {0, 0};
    const bool gz = std::fread(b, 1, 2, f) == 2 && b[0] == 0x1f && b[1] == 0x8b;
    std::fclose(f);
    return gz;
}

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description ops("Operations");
    ops.add_options()
        ("fix", "repair every defect the catalogue marks repairable (msgcheck --explain CODE says how); "
                "report what is left")
        ("remove", po::value<std::vector<std::string>>()->composing()->value_name("NAME"),
         "remove the fields whose name matches NAME, a glob, case-insensitive (repeatable)")
        ("set", po::value<std::vector<std::string>>()->composing()->value_name("'NAME: VALUE'"),
         "set a field: replace the first of that name (removing the others), or add it (repeatable)")
        ("add", po::value<std::vector<std::string>>()->composing()->value_name("'NAME: VALUE'"),
         "add a field at the end of the header (repeatable)")
        ("strip-bcc", "remove Bcc and Resent-Bcc")
        ("add-date", "add a Date field when there is none (the time is $SOURCE_DATE_EPOCH when set)")
        ("add-message-id", optional_value("DOMAIN"),
         "add a Message-ID when there is none, in DOMAIN (default: this host's name); DOMAIN only after '='")
        ("to-utf8", "convert text parts to UTF-8 and label them so")
        ("7bit", "make the message 7-bit: 8-bit bodies to quoted-printable or base64 (the shorter), "
                 "8-bit header text to RFC 2047 words, 8-bit parameters to RFC 2231")
        ("line-limit", "only where a line is over 998 octets (which SMTP cannot carry): fold that header "
                       "field, encode that body again as quoted-printable or base64")
        ("fold", "fold header lines over 78 characters at white space")
        ("crlf", "make every line break CRLF")
        ("lf", "make every line break LF");
    po::options_description opts("Input and output");
    add_input_options(opts);
    opts.add_options()
        ("spool", "inputs are spool entries; without it a file that starts with MAIL FROM: or RCPT TO: "
                  "is taken as one")
        ("output,o", po::value<std::string>()->value_name("FILE"),
         "write to FILE (atomically) instead of standard output; with --mbox a FILE ending in .gz is "
         "compressed")
        ("gzip", "with --mbox: compress the output archive")
        ("in-place,i", "replace each input with its rewritten form (atomically; untouched when nothing changes "
                       "or something fails)")
        ("force", "with --in-place: replace a file that has other hard links too (they keep the old content)")
        ("max-size", po::value<std::uint64_t>()->value_name("N"),
         "rewrite messages of at most N bytes (default 64 MiB: memory is a few times a message's size); a "
         "larger one is left as it is, with an error (0: no limit)")
        ("dry-run,n", "write nothing: report what would change")
        ("json", "print one JSON object per message (JSON Lines) on standard output: what changed, what could "
                 "not be done; needs --output, --in-place or --dry-run");
    ops.add(opts);
    exclusive_options({"crlf", "lf"});
    exclusive_options({"in-place", "output"});
    exclusive_options({"in-place", "dry-run"});
    auto parsed = parse_cli(argc, argv, kInfo, ops);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;

    msg::RewriteOptions o;
    o.fix = vm.count("fix") > 0;
    o.strip_bcc = vm.count("strip-bcc") > 0;
    o.to_utf8 = vm.count("to-utf8") > 0;
    o.seven_bit = vm.count("7bit") > 0;
    o.line_limit = vm.count("line-limit") > 0;
    o.fold = vm.count("fold") > 0;
    if (vm.count("crlf") && vm.count("lf")) {
        complain(kInfo.name, "--crlf and --lf exclude each other");
        return exit_code::usage;
    }
    if (vm.count("max-size")) {
        const std::uint64_t n = vm["max-size"].as<std::uint64_t>();
        o.limits.max_rewrite_message = n == 0 ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(n);
    }
    o.line_ending = vm.count("crlf") ? msg::LineEnding::crlf : vm.count("lf") ? msg::LineEnding::lf : msg::LineEnding::keep;
    if (vm.count("remove"))
        for (const std::string& n : vm["remove"].as<std::vector<std::string>>())
            o.edits.push_back({msg::HeaderEdit::Kind::remove, n, {}});
    for (const auto& [opt, kind] : {std::pair{"set", msg::HeaderEdit::Kind::set}, std::pair{"add", msg::HeaderEdit::Kind::add}}) {
        if (!vm.count(opt)) continue;
        for (const std::string& text : vm[opt].as<std::vector<std::string>>()) {
            msg::HeaderEdit e;
            if (!msg::parse_header_edit(text, kind, e)) {
                complain(kInfo.name, "--" + std::string(opt) + " '" + text +
                                         "': give 'Name: value' (a printable ASCII name; a line break only to fold)");
                return exit_code::usage;
            }
            o.edits.push_back(std::move(e));
        }
    }
    std::time_t now = 0;
    if ((vm.count("add-date") || vm.count("add-message-id")) && !header_time(kInfo.name, now)) return exit_code::usage;
    std::string domain;
    if (vm.count("add-message-id")) {
        domain = vm["add-message-id"].as<std::string>();
        if (domain.empty()) domain = msg::host_name();
    }

    InputOptions in;
    in.tool = kInfo.name;
    in.quiet = cli.quiet;
    if (const int usage = read_input_options(vm, in)) return usage;
    // A message file over --max-size is refused without being read.
    in.max_read = std::min(in.max_read, o.limits.max_rewrite_message);
    const bool in_place = vm.count("in-place") > 0, dry_run = vm.count("dry-run") > 0, force = vm.count("force") > 0;
    const bool json = vm.count("json") > 0, spool = vm.count("spool") > 0;
    const std::string output = vm.count("output") ? vm["output"].as<std::string>() : "-";
    if (cli.inputs.empty()) cli.inputs.push_back("-");
    if (in_place && (vm.count("output") || dry_run)) {
        complain(kInfo.name, "--in-place excludes --output and --dry-run");
        return exit_code::usage;
    }
    if (in_place && std::find(cli.inputs.begin(), cli.inputs.end(), "-") != cli.inputs.end()) {
        complain(kInfo.name, "--in-place needs files, not standard input");
        return exit_code::usage;
    }
    if (json && output == "-" && !in_place && !dry_run) {
        complain(kInfo.name, "--json prints on standard output: write the messages with --output or --in-place, "
                             "or add --dry-run");
        return exit_code::usage;
    }
    // One output holds one message: several inputs, or a directory of them,
    // need --in-place.
    std::error_code ec;
    if (!in.mbox && !in_place && !dry_run &&
        (cli.inputs.size() > 1 || (cli.inputs[0] != "-" && std::filesystem::is_directory(cli.inputs[0], ec)))) {
        complain(kInfo.name, "several inputs (or a directory) need --in-place (or --mbox, to write one archive)");
        return exit_code::usage;
    }

    Rewriter rw(o, json, cli.quiet, domain, now, vm.count("add-date") > 0, vm.count("add-message-id") > 0);
    int worst = exit_code::ok;

    if (in.mbox) {
        // One archive out (or each archive replaced, with --in-place).
        std::unique_ptr<msg::MboxWriter> writer;
        // One archive to FILE: written beside it (or beside a trusted link's
        // target), renamed over it at the end.
        std::string out_file = output, target = output;
        if (!in_place && !dry_run && output != "-") {
            auto resolved = msg::write_target(output);
            auto made = resolved ? msg::make_temp_beside(*resolved) : msg::Result<std::string>(resolved.error());
            if (!made) {
                complain(kInfo.name, made.error().message);
                return exit_code::cant_create;
            }
            out_file = *resolved;
            target = *made;
        }
        const bool gzip = vm.count("gzip") > 0 || output.ends_with(".gz");
        for (const std::string& path : cli.inputs) {
            if (!in_place) {
                worst = exit_code::worst(worst, rewrite_archive(path, in, target, gzip, dry_run, rw, writer));
                continue;
            }
            const auto resolved = msg::write_target(path);
            msg::Status linked = resolved ? msg::check_replaceable(*resolved, force) : msg::Status(resolved.error());
            if (!linked) {
                complain(kInfo.name, linked.error().message + "; " + path + " left as it was");
                worst = exit_code::worst(worst, exit_code::cant_create);
                continue;
            }
            const std::string& real = *resolved;
            const auto made = msg::make_temp_beside(real);   // the writer opens it again, keeping its mode
            if (!made) {
                complain(kInfo.name, made.error().message + "; " + path + " left as it was");
                worst = exit_code::worst(worst, exit_code::cant_create);
                continue;
            }
            const std::string& tmp = *made;
            std::unique_ptr<msg::MboxWriter> w;
            const std::uint64_t changed_before = rw.counts().changed;
            int code = rewrite_archive(path, in, tmp, is_gzip_file(path), false, rw, w);
            const bool changed = rw.counts().changed != changed_before;
            if (w) {
                const msg::Status closed = w->close();
                if (!closed.ok()) {
                    complain(kInfo.name, closed.error().message);
                    code = exit_code::worst(code, exit_code::io_error);
                }
            }
            if ((code == exit_code::ok || code == exit_code::problems) && !changed) {
                msg::discard_temp(tmp);  // nothing changed: the archive is not written again
            } else if (code == exit_code::ok || code == exit_code::problems) {
                if (const msg::Status s = msg::commit_file(tmp, real); !s.ok()) {
                    complain(kInfo.name, s.error().message);
                    code = exit_code::output_failed(s.error().errnum);
                    rw.not_written(rw.counts().changed - changed_before);
                }
            } else {
                msg::discard_temp(tmp);
                complain(kInfo.name, path + " left as it was");
                rw.not_written(rw.counts().changed - changed_before);
            }
            worst = exit_code::worst(worst, code);
        }
        if (writer) {
            const msg::Status closed = writer->close();
            if (!closed.ok()) {
                complain(kInfo.name, closed.error().message);
                worst = exit_code::worst(worst, exit_code::io_error);
            }
        }
        if (!in_place && !dry_run && target != "-") {
            const bool failed = worst != exit_code::ok && worst != exit_code::problems;
            if (failed || !writer) {
                msg::discard_temp(target);
                if (failed) {
                    complain(kInfo.name, output + " not written");
                    rw.not_written(rw.counts().changed);
                }
            } else if (const msg::Status s = msg::commit_file(target, out_file); !s.ok()) {
                complain(kInfo.name, s.error().message);
                worst = exit_code::worst(worst, exit_code::output_failed(s.error().errnum));
                rw.not_written(rw.counts().changed);
            }
        }
    } else {
        const int read = for_each_message(cli.inputs, in, [&](const InputMessage& im) {
            const bool entry = spool || msg::looks_like_spool_entry(im.data);
            const msg::RewriteResult r = rw.run(im, entry);
            if (dry_run || r.refused()) return true;  // left as it is: nothing is written
            if (in_place) {
                if (!r.changed) return true;
                if (!im.intact()) {   // cut short meanwhile: left as it is (the loop says why)
                    rw.not_written(1);
                    return true;
                }
                msg::Status s = msg::check_replaceable(im.source, force);
                if (s) s = msg::replace_file(im.source, r.output);
                if (!s) {
                    complain(kInfo.name, s.error().message + "; " + im.file + " left as it was");
                    worst = exit_code::worst(worst, exit_code::output_failed(s.error().errnum));
                    rw.not_written(1);
                }
                return true;
            }
            if (output == "-") {
                if (!write_all(stdout, r.text(im.data))) {
                    complain(kInfo.name, stdout_failed());
                    worst = exit_code::worst(worst, exit_code::io_error);
                    return false;
                }
            } else if (const msg::Status s = msg::replace_file(output, r.text(im.data)); !s.ok()) {
                complain(kInfo.name, s.error().message);
                worst = exit_code::worst(worst, exit_code::output_failed(s.error().errnum));
                if (r.changed) rw.not_written(1);
            }
            return true;
        });
        worst = exit_code::worst(worst, read);
    }
    worst = exit_code::worst(worst, rw.worst());
    const Counts& c = rw.counts();
    if (!cli.quiet && !json && (in.mbox || in_place || c.messages > 1))
        std::cerr << kInfo.name << ": " << c.messages << " message" << (c.messages == 1 ? "" : "s") << ", "
                  << c.changed << " changed" << (dry_run ? " (dry run: nothing written)" : "") << ", "
                  << c.with_problems << " with problems\n";
    return worst;
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
