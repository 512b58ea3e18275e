// smtpsink - a small ESMTP server for tests and demos: receives into a
// spool (or only counts), answers as a rules file says.
//
// The event loop, TLS and time limits are msg::smtp::Listener's; the
// protocol is msg::smtp::ServerSession (with --script, a transcript's
// server side, msg::smtp::ServerScript). Here: the options, the rules, and
// the store. Messages received during one turn of the loop are written
// (Spool::Batch) and committed together at the turn's end (the files
// synced, moved into queue/, queue/ fsynced); only then does each get
// its 250, so a 250 always means the entry is whole and durable.
#include <atomic>
#include <csignal>
#include <iostream>
#include <optional>

#include "msg/charset.hpp"
#include "msg/diagnostics.hpp"
#include "msg/source.hpp"
#include "msg/smtp/listener.hpp"
#include "msg/smtp/script.hpp"
#include "msg/spool.hpp"
#include "msg/validate.hpp"

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "msg/smtp/receiver.hpp"

using namespace msgtools;
namespace smtp = msg::smtp;

namespace {

const ToolInfo kInfo = {
    "smtpsink", "smtpsink [--listen HOST:PORT] [options] SPOOL | --discard",
    "A small ESMTP server for tests: receive into SPOOL's queue/, answer as scripted.",
    "Every accepted message becomes a spool entry (docs/spool-format.md), written\n"
    "atomically and durably before its 250. With --discard messages are only counted.\n"
    "--rules FILE scripts answers per stage (see smtpsink(1)), e.g.\n"
    "  rcpt /^unknown@/ 550 5.1.1 no such user\n"
    "  dot  every 3     451 4.3.0 try again later\n"
    "  data /^drop@/    drop\n\n"
    "Examples:\n"
    "  smtpsink --listen 127.0.0.1:2525 in            receive into the spool in/\n"
    "  smtpsink --listen 127.0.0.1:0 --discard        any free port (printed), count only\n"
    "  smtpsink --tls-cert c.pem --tls-key k.pem --auth test:secret in\n"};

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("listen", po::value<std::string>()->default_value("127.0.0.1:2525"), "HOST:PORT to listen on (port 0: any free port)")
        ("discard", "count messages, store nothing (SPOOL may be omitted)")
        ("hostname", po::value<std::string>()->default_value("smtpsink.test"), "NAME in the greeting and EHLO reply")
        ("rules", po::value<std::string>(), "FILE of scripted answers (see smtpsink(1))")
        ("max-size", po::value<std::uint64_t>()->default_value(64ull << 20), "N: SIZE limit in octets; a message is held in memory until stored (0: no limit)")
        ("max-rcpts", po::value<unsigned>()->default_value(1000), "N recipients per message at most")
        ("max-connections", po::value<unsigned>()->default_value(1000), "N sessions at once at most")
        ("timeout", po::value<std::string>()->default_value("5m"), "time for each command, each message's data, and a client to read its replies (421)")
        ("no-pipelining", "do not offer PIPELINING")
        ("no-8bitmime", "do not offer 8BITMIME")
        ("no-smtputf8", "do not offer SMTPUTF8")
        ("no-chunking", "do not offer CHUNKING (BDAT)")
        ("no-dsn", "do not offer DSN")
        ("no-enhancedstatuscodes", "do not offer ENHANCEDSTATUSCODES: no reply carries an enhanced code")
        ("no-esmtp", "refuse EHLO (502), as a server of RFC 821's time: HELO only, no extension")
        ("auth", po::value<std::string>(), "USER:PASSWORD: offer AUTH PLAIN and LOGIN with this one credential")
        ("tls-auth-only", "offer AUTH only once TLS is on (538 5.7.11 before)")
        ("tls-cert", po::value<std::string>(), "PEM certificate (chain): offer STARTTLS")
        ("tls-key", po::value<std::string>(), "PEM private key for --tls-cert")
        ("implicit-tls", "TLS from the first byte (as on port 465) instead of STARTTLS")
        ("sessions", po::value<std::uint64_t>()->default_value(0), "N: exit after N sessions have ended")
        ("count", po::value<std::uint64_t>()->default_value(0), "N: exit after N messages were accepted")
        ("script", po::value<std::string>()->value_name("TRANSCRIPT"), "play its server side to every client (stores nothing)");
    exclusive_options({"script", "rules"});
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    auto usage = [](const std::string& m) {
        complain("smtpsink", m);
        return exit_code::usage;
    };
    const bool scripted = vm.count("script") > 0;
    const bool discard = vm.count("discard") > 0 || scripted;
    if (cli.inputs.size() > 1) return usage("give one SPOOL directory");
    if (cli.inputs.empty() && !discard) return usage("give a SPOOL directory, or --discard");
    if (scripted && (!cli.inputs.empty() || vm.count("rules"))) return usage("--script takes no SPOOL and no --rules");

    smtp::ServerOptions opt;
    opt.hostname = vm["hostname"].as<std::string>();
    opt.pipelining = !vm.count("no-pipelining");
    opt.eightbitmime = !vm.count("no-8bitmime");
    opt.smtputf8 = !vm.count("no-smtputf8");
    opt.chunking = !vm.count("no-chunking");
    opt.dsn = !vm.count("no-dsn");
    opt.esmtp = !vm.count("no-esmtp");
    // A server of RFC 821's time offers no ENHANCEDSTATUSCODES either.
    opt.enhanced_codes = opt.esmtp && !vm.count("no-enhancedstatuscodes");
    opt.max_size = vm["max-size"].as<std::uint64_t>();
    opt.max_rcpts = vm["max-rcpts"].as<unsigned>();
    if (opt.max_rcpts == 0) return usage("--max-rcpts must be at least 1");
    const auto timeout = parse_duration(vm["timeout"].as<std::string>());
    if (!timeout || timeout->count() == 0) return usage("--timeout must be a duration above 0 (e.g. 30s, 5m)");
    if (vm.count("auth")) {
        const std::string a = vm["auth"].as<std::string>();
        const std::size_t colon = a.find(':');
        if (colon == std::string::npos || colon == 0) return usage("--auth must be USER:PASSWORD");
        opt.auth_user = a.substr(0, colon);
        opt.auth_password = a.substr(colon + 1);
    }
    if (vm.count("tls-cert") != vm.count("tls-key")) return usage("--tls-cert and --tls-key go together");
    if (vm.count("implicit-tls") && !vm.count("tls-cert")) return usage("--implicit-tls needs --tls-cert and --tls-key");
    if (vm.count("no-esmtp") && (vm.count("auth") || (vm.count("tls-cert") && !vm.count("implicit-tls"))))
        return usage("--no-esmtp offers no extension: not with --auth, nor --tls-cert without --implicit-tls");
    if (vm.count("tls-auth-only") && !(vm.count("auth") && vm.count("tls-cert")))
        return usage("--tls-auth-only needs --auth and --tls-cert");
    opt.auth_needs_tls = vm.count("tls-auth-only") > 0;
    smtp::ListenerOptions lopt;
    auto ep = smtp::parse_listen_endpoint(vm["listen"].as<std::string>(), 25);
    if (!ep) return usage("--listen: " + ep.error().message);
    lopt.endpoint = *ep;
    lopt.hostname = opt.hostname;
    lopt.max_connections = vm["max-connections"].as<unsigned>();
    if (lopt.max_connections == 0) return usage("--max-connections must be at least 1");
    lopt.command_timeout = lopt.data_timeout = lopt.send_timeout = *timeout;
    lopt.implicit_tls = vm.count("implicit-tls") > 0;

    std::optional<smtp::ServerScript> script;
    if (scripted) {
        const std::string file = vm["script"].as<std::string>();
        auto text = msg::Source::open(file);
        if (!text) {
            complain("smtpsink", text.error().message);
            return exit_code::no_input;
        }
        // What smtpreplay refuses to read as a transcript, smtpsink refuses
        // to play, in the same words.
        DiagPrinter diag(std::cerr, wants_color(2));
        if (const std::string_view why = smtp::not_transcript_reason(text->data()); !why.empty()) {
            diag.print(msg::message_place(file, 1), msg::Severity::error, std::string(why));
            return exit_code::data_error;
        }
        smtp::ParsedTranscript pt = smtp::parse_transcript(text->data());
        if (msg::Status whole = text->intact(); !whole) {
            complain("smtpsink", whole.error().message);
            return exit_code::no_input;   // (a file that cannot be read)
        }
        if (const auto at = smtp::no_smtp_command(pt.transcript)) {
            const DiagPrinter::Note n{*at, msg::Severity::error, std::string(smtp::kNoSmtpCommand)};
            diag.print(msg::Place{file, text->data()}, std::span<const DiagPrinter::Note>(&n, 1));
            return exit_code::data_error;
        }
        // A line that belongs to no side is left out, as smtpreplay leaves
        // it out (docs/transcript-format.md); each is said (ten of a kind at
        // most, as smtpreplay says them), and the script plays.
        if (!pt.defects.empty() && !cli.quiet) {
            msg::cap_repeats(pt.defects, msg::ValidateOptions{}.max_repeats);
            diag.print(msg::Place{file, text->data()}, pt.defects, msg::Severity::warning);
        }
        if (const std::string_view why = smtp::unplayable_script(pt.transcript); !why.empty()) {
            complain("smtpsink", file + ": " + std::string(why));
            return exit_code::data_error;
        }
        script.emplace(std::move(pt.transcript), vm.count("tls-cert") > 0);
        script->on_note = [file](std::string_view note) { complain("smtpsink", file + ": " + std::string(note)); };
    }

    smtp::Rules rules;
    if (vm.count("rules")) {
        const std::string file = vm["rules"].as<std::string>();
        auto text = msg::Source::open(file);
        if (!text) {
            complain("smtpsink", text.error().message);
            return exit_code::no_input;
        }
        auto read = smtp::Rules::parse(text->data(), file);
        if (msg::Status whole = text->intact(); !whole) {
            complain("smtpsink", whole.error().message);
            return exit_code::no_input;   // (a file that cannot be read)
        }
        if (!read) {
            std::cerr << msg::printable(read.error().message) << "\n";
            return exit_code::data_error;
        }
        rules = std::move(*read);
    }

    std::optional<smtp::ServerTls> tls;
    if (vm.count("tls-cert")) {
        auto t = smtp::ServerTls::load(vm["tls-cert"].as<std::string>(), vm["tls-key"].as<std::string>());
        if (!t) {
            complain("smtpsink", t.error().message);
            return exit_code::no_input;
        }
        tls.emplace(std::move(*t));
        opt.starttls = !lopt.implicit_tls;
    }

    std::optional<msg::Spool> spool;
    if (!discard) {
        auto s = msg::Spool::open(cli.inputs[0], true);
        if (!s) {
            complain("smtpsink", s.error().message);
            return exit_code::cant_create;
        }
        spool.emplace(std::move(*s));
    }

    auto listener = smtp::Listener::open(lopt, tls ? &*tls : nullptr);
    if (!listener) {
        complain("smtpsink", listener.error().message);
        return exit_code::unavailable;
    }
    // The handlers first: a signal sent as soon as the line below is read
    // (a test waits for it) stops the sink as any other, with its summary.
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);   // its terminal gone: stopped as by SIGTERM
    std::cout << "listening on " << listener->bound().str() << std::endl;

    smtp::Receiver sink(opt, rules, spool ? &*spool : nullptr, script ? &*script : nullptr);
    sink.on_error = [](const std::string& m) { complain("smtpsink", m); };
    sink.max_sessions = vm["sessions"].as<std::uint64_t>();
    sink.max_messages = vm["count"].as<std::uint64_t>();
    const auto run = listener->run(sink, g_stop);
    if (!run) complain("smtpsink", run.error().message);
    const smtp::ReceiverTotals& t = sink.totals;
    const smtp::ListenerStats& ls = listener->stats();
    if (!cli.quiet) {
        std::cerr << "smtpsink: " << t.sessions << (t.sessions == 1 ? " session, " : " sessions, ") << counted(t.messages, "message", "messages")
                  << ", " << counted(t.recipients, "recipient", "recipients") << ", " << counted(t.bytes, "byte", "bytes") << "; " << t.refused
                  << " answers refused by rules"
                  << (t.store_errors ? ", " + std::to_string(t.store_errors) + " not stored" : "");
        if (ls.busy || ls.timed_out || ls.stalled)
            std::cerr << "; " << ls.busy << " refused (too many connections), " << ls.timed_out << " timed out, "
                      << ls.stalled << " dropped (replies not read)";
        std::cerr << "\n";
    }
    if (!run) return exit_code::io_error;
    if (script) {
        if (!cli.quiet)
            std::cerr << "smtpsink: script " << vm["script"].as<std::string>() << ": " << script->sessions()
                      << (script->sessions() == 1 ? " session, " : " sessions, ") << script->differences()
                      << " client lines differed\n";
        return script->differences() ? exit_code::problems : exit_code::ok;
    }
    return t.store_errors ? exit_code::io_error : exit_code::ok;
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
