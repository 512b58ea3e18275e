// smtpreplay - check SMTP transcripts, convert and anonymise them, and
// replay their client side against a live server.
#include <cerrno>
#include <iostream>

#include "msg/charset.hpp"
#include "msg/diagnostics.hpp"
#include "msg/smtp/replay.hpp"
#include "msg/smtp/transcript.hpp"
#include "msg/source.hpp"
#include "msg/validate.hpp"

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "msg/files.hpp"
#include "common/inputs.hpp"
#include "common/smtp_client.hpp"
#include "replay.hpp"

using namespace msgtools;
namespace smtp = msg::smtp;

namespace {

const ToolInfo kInfo = {
    "smtpreplay", "smtpreplay --check FILE... | --server HOST[:PORT] FILE... | --convert FORMAT FILE",
    "Check SMTP transcripts, convert or anonymise them, replay them against a server.",
    "Transcripts: C:/S: lines as in the RFCs (cs), swaks output (swaks), batch SMTP\n"
    "(bsmtp, client lines only) or the native format spoolsend --transcript writes\n"
    "(docs/transcript-format.md); the format is detected unless --format says it.\n"
    "Lines inside DATA are wire lines, dot-stuffed, and are sent as recorded.\n\n"
    "Examples:\n"
    "  smtpreplay --check session.txt                     protocol errors, file:line:col\n"
    "  smtpreplay --server 127.0.0.1:2525 session.txt     replay, compare reply codes\n"
    "  smtpreplay --server mx:25 --match enhanced --json session.txt\n"
    "  smtpreplay --server mx:587 --auth-file pass --no-data session.txt\n"
    "                                                     the envelope only, logged in\n"
    "  smtpreplay --convert swaks session.txt             as swaks would print it\n"
    "  smtpreplay --anonymise --convert cs log.txt > shareable.txt\n"
    "  smtpreplay --explain smtp.body-dot\n"};

// The options only a replay (--server) takes.
constexpr const char* kReplayOnly[] = {"tls", "auth-file", "no-data", "ca-file"};

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("check", "check each transcript against RFC 5321 and its extensions (the default without --server or --convert)")
        ("server", po::value<std::string>(), "HOST[:PORT]: replay the client side there and compare the replies")
        ("match", po::value<std::string>()->default_value("code"), "class | code | enhanced | text: how alike replies must be")
        ("timeout", po::value<std::string>()->value_name("TIME")->default_value("30s"),
         "how long to wait for each reply when replaying (30s, 2m, ...)")
        ("tls", "replay: start TLS on connect (port 465), also when the transcript does not begin inside TLS")
        ("auth-file", po::value<std::string>()->value_name("FILE"),
         "replay: the password whose first line replaces the masked one in AUTH (as spoolsend's)")
        ("no-data", "replay: end each transaction with RSET instead of sending the message")
        ("diff", "replay: print only the exchanges that differ and the notes (those not compared)")
        ("json", "one JSON object per diagnostic or exchange, then a summary")
        ("convert", po::value<std::string>(), "FORMAT: write the transcript as cs, swaks, bsmtp or native")
        ("anonymise", "replace addresses, host names, IP addresses, credentials and message text")
        ("format", po::value<std::string>(), "FORMAT of the input: cs, swaks, bsmtp or native (default: detected)")
        ("output,o", po::value<std::string>(), "FILE for --convert/--anonymise (default: standard output)")
        ("explain", po::value<std::string>()->value_name("CODE"), "describe a defect code and exit");
    add_tls_check_options(opts);
    // The three ways to run (--anonymise goes with --convert), and what
    // only a replay takes.
    exclusive_options({"check", "server", "convert"});
    exclusive_options({"check", "server", "anonymise"});
    for (const char* o : kReplayOnly) option_goes_with(o, "server");
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    auto usage = [](const std::string& m) {
        complain("smtpreplay", m);
        return exit_code::usage;
    };
    if (vm.count("explain")) return explain_defect(kInfo.name, vm["explain"].as<std::string>());
    const bool replaying = vm.count("server") > 0;
    const bool rewriting = vm.count("convert") > 0 || vm.count("anonymise") > 0;
    if (replaying && rewriting) return usage("--server does not go with --convert or --anonymise");
    if (cli.inputs.empty()) return usage("give at least one transcript (or - for standard input)");
    if (rewriting && cli.inputs.size() != 1) return usage("--convert and --anonymise take one transcript");
    std::optional<smtp::Format> in_format, out_format;
    if (vm.count("format")) {
        in_format = smtp::format_by_name(vm["format"].as<std::string>());
        if (!in_format) return usage("--format must be cs, swaks, bsmtp or native");
    }
    if (vm.count("convert")) {
        out_format = smtp::format_by_name(vm["convert"].as<std::string>());
        if (!out_format) return usage("--convert must be cs, swaks, bsmtp or native");
    }
    const bool json = vm.count("json") > 0;

    int result = exit_code::ok;
    std::uint64_t errors = 0, warnings = 0, files = 0;
    DiagPrinter diag(json ? std::cerr : std::cout, !json && wants_color(1));
    InputOptions in;
    in.tool = kInfo.name;
    in.quiet = cli.quiet;
    if (replaying) {
        const auto timeout = parse_duration(vm["timeout"].as<std::string>());
        if (!timeout || timeout->count() <= 0)
            return usage("--timeout takes a time above 0 such as 30s, 2m or 1h, not '" + vm["timeout"].as<std::string>() + "'");
        if (!smtp::match_by_name(vm["match"].as<std::string>())) return usage("--match must be class, code, enhanced or text");
        if (auto ep = smtp::parse_endpoint(vm["server"].as<std::string>()); !ep) return usage("--server: " + ep.error().message);
    } else {
        for (const char* o : kReplayOnly)
            if (vm.count(o)) return usage(std::string("--") + o + " goes with --server");
    }
    auto tls = tls_check_options(vm);
    if (!tls) return usage(tls.error().message);
    if (int rc = check_ca_file("smtpreplay", *tls, replaying)) return rc;
    std::string secret;
    if (vm.count("auth-file") && replaying) {
        auto s = read_auth_file(vm["auth-file"].as<std::string>());
        if (!s) {
            complain("smtpreplay", s.error().message);
            return exit_code::no_input;
        }
        secret = std::move(*s);
    }
    // A write to standard output that failed: its reason (errno), kept
    // from the moment it failed, and no further transcript is taken (a
    // replay's report, a conversion, would be lost as well).
    int stdout_errno = 0;
    auto stdout_ok = [&] {
        if (!stdout_errno && !std::cout.flush()) stdout_errno = errno ? errno : EIO;
        return stdout_errno == 0;
    };
    const int read = for_each_message(cli.inputs, in, [&](const InputMessage& im) {
        if (!stdout_ok()) return false;
        const std::string_view text = im.data;
        const std::string& name = im.file;
        if (const std::string_view why = smtp::not_transcript_reason(text); !why.empty()) {
            diag.print(msg::message_place(name, 1), msg::Severity::error, std::string(why));   // exit 65, and on to the next
            result = exit_code::worst(result, exit_code::data_error);
            return true;
        }
        smtp::ParsedTranscript p = smtp::parse_transcript(text, in_format);
        // Cut short while parsed (a large file is mapped): not checked or
        // played; the loop says it could not be read (exit 74).
        if (!im.intact()) return true;
        if (const auto at = smtp::no_smtp_command(p.transcript)) {
            // Prose or a program's log, read as a batch of no commands.
            const DiagPrinter::Note n{*at, msg::Severity::error, std::string(smtp::kNoSmtpCommand)};
            diag.print(Place{name, text, 1}, std::span<const DiagPrinter::Note>(&n, 1));
            result = exit_code::worst(result, exit_code::data_error);
            return true;
        }
        ++files;

        if (rewriting) {
            smtp::Transcript t = vm.count("anonymise") ? smtp::anonymise(p.transcript) : p.transcript;
            const smtp::Format target = out_format.value_or(p.format);
            if (target == smtp::Format::bsmtp) {
                // A batch holds what the recorded server accepted.
                smtp::BatchConversion b = smtp::to_batch(t);
                const msg::LineIndex index(text);
                auto where = [&](std::size_t line) {
                    return name + ":" +
                           std::to_string(line < t.lines.size() ? index.locate(t.lines[line].offset).line : 0);
                };
                if (b.refused) {
                    complain("smtpreplay", where(b.refused->line) + ": no batch SMTP written: " + b.refused->why);
                    result = exit_code::data_error;
                    return false;
                }
                if (!cli.quiet)
                    for (const smtp::BatchNote& n : b.left_out)
                        std::cerr << msg::printable(where(n.line) + ": note: left out of the batch: " + n.why) << '\n';
                t = std::move(b.batch);
            }
            if (const auto lost = smtp::lost_line_end(t, target)) {
                // A "." after a bare LF would read back as the message's end.
                const msg::LineIndex index(text);
                complain("smtpreplay", name + ":" + std::to_string(index.locate(t.lines[*lost].offset).line) +
                                           ": nothing written: a message line ended by a bare LF, which only "
                                           "the swaks format keeps");
                result = exit_code::data_error;
                return false;
            }
            const std::string out = smtp::write_transcript(t, target);
            if (vm.count("output")) {
                if (auto s = msg::replace_file(vm["output"].as<std::string>(), out); !s) {
                    complain("smtpreplay", s.error().message);
                    result = exit_code::output_failed(s.error().errnum);
                    return false;
                }
            } else {
                std::cout << out;
            }
            if (!p.defects.empty()) {
                diag.print(Place{name, text, 1}, p.defects);
                result = exit_code::problems;
            }
            return false;
        }

        if (replaying) {
            // A transcript the parser could not read whole is still played:
            // its broken lines are reported first.
            if (!p.defects.empty()) diag.print(Place{name, text, 1}, p.defects);
            ReplayOptions ro;
            ro.server = vm["server"].as<std::string>();
            ro.match = vm["match"].as<std::string>();
            ro.json = json;
            ro.quiet = cli.quiet;
            ro.mismatches_only = vm.count("diff") > 0;
            ro.timeout = static_cast<double>(parse_duration(vm["timeout"].as<std::string>())->count());
            ro.tls = *tls;
            ro.tls_on_connect = vm.count("tls") > 0;
            ro.secret = secret;
            ro.no_data = vm.count("no-data") > 0;
            result = exit_code::worst(result, replay_transcript(name, text, p.transcript, ro, std::cout));
            return true;
        }

        // --check
        msg::Defects defects = std::move(p.defects);
        msg::Defects more = smtp::check_transcript(p.transcript, p.format == smtp::Format::bsmtp);
        defects.insert(defects.end(), more.begin(), more.end());
        std::stable_sort(defects.begin(), defects.end(),
                         [](const msg::Defect& a, const msg::Defect& b) { return a.offset < b.offset; });
        // At most ten of one code, the tenth saying how many more, as
        // msgcheck reports a message: a hostile transcript cannot bury the
        // rest under a hundred thousand lines.
        msg::cap_repeats(defects, msg::ValidateOptions{}.max_repeats);
        std::uint64_t file_errors = 0;
        for (const msg::Defect& d : defects) {
            if (d.info().severity == msg::Severity::error) ++file_errors;
            else if (d.info().severity == msg::Severity::warning) ++warnings;
        }
        errors += file_errors;
        if (json) {
            const msg::LineIndex index(text);
            for (const msg::Defect& d : defects) {
                Json j;
                if (cli.quiet && d.info().severity != msg::Severity::error) continue;
                const auto lc = index.locate(d.offset);
                j.begin_object().key("source").value(name).key("line").value(static_cast<std::uint64_t>(lc.line))
                    .key("column").value(static_cast<std::uint64_t>(lc.column))
                    .key("severity").value(msg::severity_name(d.info().severity)).key("defect").value(d.info().code)
                    .key("text").value(msg::defect_text(d));
                // (The particulars are in `text`, as msgcheck has them; `detail`
                // repeats them for the consumers that read it there.)
                if (!d.detail.empty()) j.key("detail").value(msg::printable(d.detail));
                j.end_object();
                std::cout << j.str() << '\n';
            }
        } else {
            if (cli.quiet)   // -q: nothing but errors
                std::erase_if(defects, [](const msg::Defect& d) { return d.info().severity != msg::Severity::error; });
            diag.print(Place{name, text, 1}, defects);
        }
        if (file_errors) result = exit_code::worst(result, exit_code::problems);
        return true;
    });
    result = exit_code::worst(result, read);
    if (!replaying && !rewriting) {
        if (json) {
            Json j;
            j.begin_object().key("summary").begin_object().key("transcripts").value(files).key("errors").value(errors)
                .key("warnings").value(warnings).end_object().end_object();
            std::cout << j.str() << '\n';
        } else if (!cli.quiet) {
            std::cerr << "smtpreplay: " << files << (files == 1 ? " transcript, " : " transcripts, ") << errors
                      << (errors == 1 ? " error, " : " errors, ") << warnings << (warnings == 1 ? " warning\n" : " warnings\n");
        }
    }
    // Output lost is a failure whatever else happened: 0 would say the
    // conversion or the report was written.
    if (!stdout_ok()) {
        errno = stdout_errno;
        complain(kInfo.name, stdout_failed());
        return exit_code::io_error;
    }
    return result;
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
