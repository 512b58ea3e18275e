// spool2mbox - write spool entries back into an mbox archive.
#include <msg/archive.hpp>
#include <msg/files.hpp>
#include <msg/maildir.hpp>
#include <msg/mbox.hpp>
#include <msg/spool.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "common/progress.hpp"

using namespace msgtools;

namespace {

const ToolInfo kInfo = {
    "spool2mbox", "spool2mbox [options] SPOOL[/STATE] [-o FILE]",
    "Write spool entries back into an mbox archive, in enqueue order.",
    "SPOOL alone takes the entries of every state (queue, deferred, hold, sent, failed)\n"
    "merged in enqueue order; SPOOL/STATE takes one. An entry made by mbox2spool comes back\n"
    "with its From_ line and line endings as they were, so that mbox2spool then spool2mbox\n"
    "gives the archive back byte for byte. A message from a Maildir gets its flags as the\n"
    "Status and X-Status fields mail clients read (mutt's), unless --no-status.\n\n"
    "Examples:\n"
    "  spool2mbox out -o all.mbox                      every entry\n"
    "  spool2mbox out/failed --gzip -o failed.mbox.gz  what could not be delivered\n"
    "  spool2mbox --envelope out/sent | less           with X-Envelope-From/To fields\n"};

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("output,o", po::value<std::string>()->value_name("FILE"),
         "write the archive to FILE (atomically: a temporary name, then rename); default standard output")
        ("format", po::value<std::string>()->value_name("FORMAT")->default_value("mboxrd"),
         "mboxrd, mboxo, mboxcl or mboxcl2")
        ("gzip", "compress the archive with gzip")
        ("envelope", "add X-Envelope-From and X-Envelope-To fields at the top of each message")
        ("no-status", "write a message from a Maildir as it is, without Status and X-Status fields for its flags")
        ("maildir", po::value<std::string>()->value_name("DIR"),
         "write the messages into the Maildir DIR instead (made when missing; new/, or cur/ with their flags)");
    exclusive_options({"maildir", "output"});
    exclusive_options({"maildir", "gzip"});
    exclusive_options({"maildir", "no-status"});
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    if (cli.inputs.size() != 1) {
        complain(kInfo.name, "give one spool, or one state directory of a spool (see --help)");
        return exit_code::usage;
    }
    const auto format = msg::parse_format(vm["format"].as<std::string>());
    if (!format || *format == msg::MboxFormat::detect) {
        complain(kInfo.name, "unknown format '" + vm["format"].as<std::string>() + "' (see --help)");
        return exit_code::usage;
    }
    const bool envelope = vm.count("envelope") > 0;
    const bool status_fields = vm.count("no-status") == 0;

    // SPOOL or SPOOL/STATE
    namespace fs = std::filesystem;
    fs::path in = fs::path(cli.inputs[0]).lexically_normal();
    if (in.has_filename() == false) in = in.parent_path();
    std::vector<msg::SpoolState> states(std::begin(msg::kAllStates), std::end(msg::kAllStates));
    std::string root = in.string();
    for (msg::SpoolState st : states)
        if (in.filename() == msg::state_dir(st)) {
            root = in.parent_path().empty() ? std::string(".") : in.parent_path().string();
            states = {st};
            break;
        }
    auto spool = msg::Spool::open(root, false);
    if (!spool.ok()) {
        complain(kInfo.name, spool.error().message);
        return exit_code::no_input;
    }
    // Every state walked in name order, merged; a state that cannot be
    // listed fails before any output.
    msg::SpoolWalk walk(*spool, states);
    std::optional<msg::SpoolWalk::Item> item = walk.next();
    if (walk.error()) {
        complain(kInfo.name, walk.error()->message);
        return exit_code::io_error;
    }
    if (vm.count("maildir") && (vm.count("output") || vm.count("gzip")))
        return complain(kInfo.name, "--maildir excludes -o and --gzip"), exit_code::usage;
    std::optional<msg::MaildirWriter> maildir;
    if (vm.count("maildir")) {
        auto m = msg::MaildirWriter::open(vm["maildir"].as<std::string>());
        if (!m) return complain(kInfo.name, m.error().message), exit_code::cant_create;
        maildir.emplace(std::move(*m));
    }
    const std::string out = maildir ? "" : vm.count("output") ? vm["output"].as<std::string>() : "-";
    // An archive FILE is written beside it (or beside a trusted link's
    // target), and renamed over it once whole.
    std::string real = out, tmp = out;
    if (!out.empty() && out != "-") {
        auto resolved = msg::write_target(out);
        auto made = resolved ? msg::make_temp_beside(*resolved) : msg::Result<std::string>(resolved.error());
        if (!made) return complain(kInfo.name, made.error().message), exit_code::cant_create;
        real = *resolved;
        tmp = *made;
    }
    msg::MboxWriter::Options wo;
    wo.format = *format;
    wo.gzip = vm.count("gzip") > 0;
    auto writer = maildir ? msg::Result<std::unique_ptr<msg::MboxWriter>>(nullptr) : msg::MboxWriter::open(tmp, wo);
    if (!writer.ok()) {
        if (tmp != out) msg::discard_temp(tmp);
        complain(kInfo.name, writer.error().message);
        return exit_code::cant_create;
    }
    int result = exit_code::ok;
    DiagPrinter diag(std::cerr, wants_color(2));
    Progress progress(0, "entries");
    std::uint64_t written = 0, bad = 0;
    const std::time_t now = std::time(nullptr);
    for (; item; item = walk.next()) {
        const std::string& name = item->name;
        auto data = walk.read(*item);   // followed when a sender moved it since the listing
        const msg::SpoolState st = item->state;
        if (!data.ok()) {
            // Gone from the states asked for: it moved on, not an error.
            if (data.error().errnum == ENOENT) continue;
            // One entry that cannot be read is left out, and said so; the
            // archive of the others is still written (74 is for an archive
            // that could not be written whole).
            complain(kInfo.name, data.error().message + "; left out");
            result = exit_code::worst(result, exit_code::read_failed(data.error().errnum, exit_code::problems));
            ++bad;
            continue;
        }
        const msg::SpoolEntry e = msg::parse_spool_entry(*data);
        const std::string file = root + "/" + std::string(msg::state_dir(st)) + "/" + name;
        if (!e.defects.empty()) {
            // Placed as msgcheck places them (the same parse). An entry
            // whose message is there is written all the same (without a
            // MAIL FROM, its From_ line names MAILER-DAEMON): its defects
            // are warnings; one cut short before its message has none to
            // write: errors, and left out.
            diag.print(msg::Place{file, *data}, e.defects, e.has_separator ? msg::Severity::warning : msg::Severity::error);
            result = exit_code::worst(result, exit_code::problems);
            if (!e.has_separator) {
                complain(kInfo.name, file + ": no message after the envelope; left out");
                ++bad;
                continue;
            }
        }
        msg::MboxRecord r = msg::mbox_record(e, now);
        if (!r.ignored.empty()) {
            complain(kInfo.name, file + ": " + r.ignored);
            result = exit_code::worst(result, exit_code::problems);
        }
        std::string with_status, with_envelope;
        std::string_view message = e.message;
        // A Maildir's flags go into an archive as its mail client's fields
        // (the annotations say: no header is parsed for the others).
        if (!maildir && status_fields)
            if (const auto state = msg::folder_state(e)) message = with_status = msg::with_status_fields(message, *state, r);
        if (envelope) message = with_envelope = msg::with_envelope_fields(e, message, r);
        msg::Status w = msg::Ok{};
        if (maildir) {
            const msg::MaildirState state = msg::maildir_state(e);
            if (auto d = maildir->deliver(message, state.flags, state.seen); !d) w = d.error();
        } else {
            // An archive's bytes before its first From_ line go back only
            // where they were, before the archive's first message (the
            // writer refuses them anywhere else, and says why).
            if (w = (*writer)->write_raw(r.leading); !w && w.error().errnum == EINVAL) {
                complain(kInfo.name, file + ": " + w.error().message);
                w = msg::Ok{};
            }
            if (w) w = (*writer)->write_keeping(r.from_line, message, r.from_crlf, r.separator, r.separator_crlf, r.unquoted_from);
        }
        if (!w.ok()) {
            complain(kInfo.name, w.error().message);
            result = exit_code::io_error;
            break;
        }
        ++written;
        progress.update(0, written);
    }
    if (walk.error()) {
        complain(kInfo.name, walk.error()->message);
        result = exit_code::io_error;
    }
    progress.finish();
    const msg::Status closed = maildir ? msg::Status(msg::Ok{}) : (*writer)->close();
    if (!closed.ok() && result != exit_code::io_error) {
        complain(kInfo.name, closed.error().message);
        result = exit_code::io_error;
    }
    if (!out.empty() && out != "-") {
        if (result == exit_code::io_error) {
            msg::discard_temp(tmp);  // keep no partial archive; an older FILE stays as it was
        } else if (const msg::Status s = msg::commit_file(tmp, real); !s) {
            complain(kInfo.name, s.error().message);
            return exit_code::cant_create;
        }
    }
    if (!cli.quiet) {
        const bool failed = result == exit_code::io_error;
        const bool to_stdout = out.empty() || out == "-";
        std::cerr << kInfo.name << ": " << counted(written, "message", "messages") << " "
                  << (!failed ? "written" : to_stdout ? "read, not all written" : "read, no archive written")
                  << ", " << counted(bad, "entry", "entries") << " left out\n";
    }
    return result;
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
