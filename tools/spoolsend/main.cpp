// spoolsend - deliver a spool's entries over SMTP, per recipient, with
// retries, deferral and failure reports.
#include <atomic>
#include <csignal>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <msg/charset.hpp>
#include <msg/datetime.hpp>
#include <msg/files.hpp>
#include <msg/host.hpp>
#include <msg/json.hpp>
#include <msg/sender.hpp>

#include "common/cli.hpp"
#include "common/exit.hpp"
#include "common/progress.hpp"
#include "common/smtp_client.hpp"

using namespace msgtools;
namespace smtp = msg::smtp;

namespace {

const ToolInfo kInfo = {
    "spoolsend", "spoolsend --server HOST[:PORT] [options] SPOOL",
    "Deliver a spool's queued (and due deferred) entries over SMTP.",
    "Each recipient's outcome decides where the entry goes: accepted by all -> sent/;\n"
    "refused (5xx) -> a report in failed/; a temporary failure (4xx, a broken\n"
    "connection) -> deferred/ with only the pending recipients, retried after an\n"
    "exponential backoff until --max-age. The password for --auth-user comes from\n"
    "--auth-file or the SPOOLSEND_PASSWORD environment variable, never the command line.\n\n"
    "Examples:\n"
    "  spoolsend --server 127.0.0.1:2525 out                  send everything due, once\n"
    "  spoolsend --server smtp.example.org:587 --tls starttls \\\n"
    "            --auth-user alice --auth-file ~/.smtp-pass -j 4 out\n"
    "  spoolsend --server mx.example.net --watch --rate 10 out  keep sending as entries arrive\n"
    "  spoolsend --dry-run out                                 what would be sent\n"};

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

// What a run prints: a JSON line per attempt with --json, else a line per
// recipient not sent, on standard error; and the progress bar.
class Printer : public msg::SendEvents {
public:
    Printer(bool json, bool quiet) : json_(json), quiet_(quiet) {}
    void settled(const std::string& entry, const msg::Settlement& st, const msg::Delivery& d) override {
        if (json_) return say(msg::attempt_json(entry, st, d, st.server), true);
        if (quiet_ || st.outcome == msg::Outcome::sent) return;
        if (!st.failed_entry.empty())
            say("spoolsend: " + entry + ": the failed recipients are in failed/" + st.failed_entry, false);
        const std::string next = st.next_attempt ? " (next attempt " + msg::format_rfc3339(*st.next_attempt) + ")" : "";
        for (const msg::RcptOutcome& o : d.rcpts)
            if (o.state != msg::RcptState::sent)
                say("spoolsend: " + entry + ": <" + o.address + "> " + std::string(msg::state_name(o.state)) + ": " +
                        msg::reason(o) + (o.state == msg::RcptState::deferred ? next : ""),
                    false);
    }
    void unsendable(const std::string& entry, const std::string& why, const std::string& failed_as) override {
        if (json_) {
            Json j;
            j.begin_object().key("entry").value(entry).key("attempt").value(std::uint64_t{1}).key("outcome")
                .value("failed").key("error").value(why);
            if (!failed_as.empty()) j.key("failed_entry").value(failed_as);
            j.end_object();
            say(j.str(), true);
        } else if (!quiet_) {
            say("spoolsend: " + entry + ": failed: " + why + (failed_as.empty() ? "" : " (in failed/" + failed_as + ")"),
                false);
        }
    }
    void problem(const std::string& message) override { say("spoolsend: " + message, false); }
    void fell_back(const std::string& why, const std::string& next) override {
        if (!quiet_) say("spoolsend: " + why + "; trying " + next, false);
    }
    void tick(std::uint64_t done) override { progress_.update(0, done); }
    void finish() { progress_.finish(); }

private:
    // A line on standard output is JSON; one on standard error is text
    // from entry names and servers' replies, its control bytes escaped.
    void say(const std::string& line, bool to_stdout) {
        progress_.finish();
        std::fputs(to_stdout ? line.c_str() : msg::printable(line).c_str(), to_stdout ? stdout : stderr);
        std::fputc('\n', to_stdout ? stdout : stderr);
        if (to_stdout) std::fflush(stdout);
    }
    bool json_, quiet_;
    Progress progress_{0, "entries"};
};

// Dry run: what each due entry would send, and why one that cannot be
// sent would be failed instead.
int dry_run(msg::Spool& spool, bool json) {
    msg::DueScan due(spool, std::chrono::system_clock::now());
    std::uint64_t count = 0, unsendable = 0, unread = 0;
    int result = exit_code::ok;
    while (const auto next = due.next()) {
        const std::string& name = *next;
        const auto st = spool.find(name);
        if (!st) continue;   // taken meanwhile by a run, or removed
        auto data = spool.read(*st, name);
        if (!data) {
            if (data.error().errnum == ENOENT) continue;
            // A run could not take it either: said, as a run says it.
            complain("spoolsend", data.error().message);
            result = exit_code::worst(result, exit_code::read_failed(data.error().errnum, exit_code::io_error));
            ++unread;
            continue;
        }
        const msg::SpoolEntry e = msg::parse_spool_entry(*data);
        const msg::Envelope env = msg::envelope_of(e);
        const msg::Needs needs = msg::needs(env, e.message);
        const std::string why = msg::unsendable(e);
        ++(why.empty() ? count : unsendable);
        if (json) {
            std::cout << msg::plan_json(name, *st, e) << '\n';
        } else {
            std::cout << msg::printable(name) << " (" << msg::state_dir(*st) << "): " << msg::shown_sender(e) << " ->";
            for (const msg::EnvelopeLine* r : e.recipients()) std::cout << " " << msg::shown_path(*r);
            std::cout << ", " << e.message.size() << " bytes" << (needs.eightbitmime ? ", 8-bit" : "")
                      << (needs.smtputf8 ? ", SMTPUTF8" : "");
            // Listed as due all the same: a run takes it, and fails it.
            if (!why.empty()) std::cout << " (cannot be sent, would fail: " << why << ")";
            std::cout << "\n";
        }
    }
    if (const auto err = due.error()) {
        complain("spoolsend", err->message);
        return exit_code::io_error;
    }
    if (!json)
        std::cout << "spoolsend: " << counted(count, "entry", "entries") << " would be sent"
                  << (unsendable ? ", " + std::to_string(unsendable) + " would fail (cannot be sent)" : "")
                  << (unread ? ", " + std::to_string(unread) + " cannot be read" : "") << " (dry run)\n";
    return result;
}

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("server", po::value<std::vector<std::string>>()->composing(),
         "HOST[:PORT] of the SMTP server (port 25 unless given, 465 with --tls tls); again for a fallback, tried in order "
         "when no session can be had")
        ("jobs,j", po::value<unsigned>()->default_value(1), "N parallel connections")
        ("max-per-connection", po::value<unsigned>()->default_value(100), "N messages per connection (RSET between them)")
        ("rate", po::value<double>()->default_value(0), "MSGS/S at most, all connections together (0: no limit)")
        ("helo", po::value<std::string>(), "NAME for EHLO/HELO (default: this host's name)")
        ("tls", po::value<std::string>()->default_value("none"), "none | starttls (required) | tls (implicit, port 465)");
    add_tls_check_options(opts);
    opts.add_options()
        ("auth-user", po::value<std::string>(), "USER for AUTH PLAIN or LOGIN")
        ("auth-file", po::value<std::string>(), "FILE whose first line is the password (else $SPOOLSEND_PASSWORD)")
        ("dry-run", "print what would be sent, and what cannot be and would fail; connect to nothing, change nothing")
        ("once", "one pass over what is due, then exit (the default)")
        ("watch", "keep sending as entries arrive and deferred ones come due, until SIGINT/SIGTERM/SIGHUP")
        ("interval", po::value<std::string>()->default_value("2s"), "how often --watch looks for work")
        ("max-age", po::value<std::string>()->default_value("5d"), "give up on deferred recipients after this long (s/m/h/d/w)")
        ("retry-base", po::value<std::string>()->default_value("5m"), "first retry delay; doubles each attempt")
        ("retry-max", po::value<std::string>()->default_value("4000s"), "longest retry delay")
        ("timeout", po::value<std::string>(), "one time limit for every step, instead of RFC 5321's (5m, 10m for the final reply)")
        ("no-downgrade", "refuse 8-bit messages to a server without 8BITMIME instead of converting them to 7 bit, "
                         "and send lines over 998 octets as they are")
        ("transcript", po::value<std::string>(), "DIR: write each session's transcript there (docs/transcript-format.md)")
        ("dsn", "also write an RFC 3464 delivery status notification beside each failure report")
        ("json", "one JSON line per delivery attempt on stdout");
    exclusive_options({"once", "watch"});
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    auto usage = [](const std::string& m) {
        complain("spoolsend", m);
        return exit_code::usage;
    };
    if (cli.inputs.size() != 1) return usage("give exactly one SPOOL directory");
    if (vm.count("once") && vm.count("watch")) return usage("--once and --watch exclude each other");
    const bool dry = vm.count("dry-run") > 0;
    if (!dry && !vm.count("server")) return usage("--server HOST[:PORT] is required");

    msg::SendOptions cfg;
    const bool json = vm.count("json") > 0;
    cfg.settle.dsn = vm.count("dsn") > 0;
    cfg.settle.reporting_mta = msg::host_name();
    if (vm.count("server")) {
        const std::string tls = vm["tls"].as<std::string>();
        const auto& given = vm["server"].as<std::vector<std::string>>();
        for (const std::string& s : given) {
            auto ep = smtp::parse_endpoint(s, tls == "tls" ? 465 : 25);
            if (!ep) return usage("--server: " + ep.error().message);
            if (&s == &given.front()) cfg.server = *ep;
            else cfg.fallback.push_back(*ep);
        }
    }
    const std::string tls = vm["tls"].as<std::string>();
    if (tls == "none") cfg.session.tls_mode = smtp::TlsMode::none;
    else if (tls == "starttls") cfg.session.tls_mode = smtp::TlsMode::starttls;
    else if (tls == "tls") cfg.session.tls_mode = smtp::TlsMode::tls;
    else return usage("--tls must be none, starttls or tls");
    if (auto t = tls_check_options(vm); !t) return usage(t.error().message);
    else cfg.session.tls = *t;
    // Said now, as an --auth-file that cannot be read is (at the handshake it
    // would also fail deferred entries past --max-age).
    if (int rc = check_ca_file("spoolsend", cfg.session.tls, !dry && cfg.session.tls_mode != smtp::TlsMode::none))
        return rc;
    cfg.session.helo = vm.count("helo") ? vm["helo"].as<std::string>() : msg::host_name();
    cfg.session.downgrade_8bit = vm.count("no-downgrade") == 0;
    if (vm.count("auth-user")) {
        cfg.session.auth_user = vm["auth-user"].as<std::string>();
        if (vm.count("auth-file")) {
            auto secret = read_auth_file(vm["auth-file"].as<std::string>());
            if (!secret) {
                complain("spoolsend", secret.error().message);
                return exit_code::no_input;
            }
            cfg.session.auth_password = *secret;
        } else if (const char* p = std::getenv("SPOOLSEND_PASSWORD")) {
            cfg.session.auth_password = p;
        } else {
            return usage("--auth-user needs --auth-file or SPOOLSEND_PASSWORD");
        }
    }
    const unsigned jobs = vm["jobs"].as<unsigned>();
    if (jobs == 0 || jobs > 1000) return usage("-j must be 1 to 1000");
    cfg.max_per_connection = vm["max-per-connection"].as<unsigned>();
    if (cfg.max_per_connection == 0) return usage("--max-per-connection must be at least 1");
    cfg.rate = vm["rate"].as<double>();
    if (cfg.rate < 0) return usage("--rate must not be negative");
    auto duration = [&](const char* name, std::chrono::seconds& out) {
        auto d = parse_duration(vm[name].as<std::string>());
        if (!d) return false;
        out = *d;
        return true;
    };
    std::chrono::seconds interval{2};
    if (!duration("max-age", cfg.settle.retry.max_age) || !duration("retry-base", cfg.settle.retry.base) ||
        !duration("retry-max", cfg.settle.retry.max) || !duration("interval", interval))
        return usage("a duration is a number with s, m, h, d or w (e.g. 5d, 300s, 1h30m)");
    if (vm.count("timeout")) {
        auto t = parse_duration(vm["timeout"].as<std::string>());
        if (!t || t->count() == 0) return usage("--timeout must be a duration above 0");
        cfg.session.greeting = cfg.session.command = cfg.session.data_start = cfg.session.data_block =
            cfg.session.data_end = *t;
    }
    if (vm.count("transcript")) {
        cfg.transcript_dir = vm["transcript"].as<std::string>();
        struct stat st {};
        if (stat(cfg.transcript_dir.c_str(), &st) != 0 && mkdir(cfg.transcript_dir.c_str(), 0700) != 0) {
            complain("spoolsend", "cannot create --transcript directory " + cfg.transcript_dir + ": " + std::strerror(errno));
            return exit_code::cant_create;
        }
    }

    auto spool = msg::Spool::open(cli.inputs[0], false);
    if (!spool) {
        complain("spoolsend", spool.error().message);
        return exit_code::no_input;
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_signal);   // its terminal gone: a stop as any other, not death mid-session

    const bool watch = vm.count("watch") > 0;
    if (dry) return dry_run(*spool, json);
    const auto started = std::chrono::steady_clock::now();
    cfg.jobs = jobs;
    Printer printer(json, cli.quiet);
    msg::Sender sender(*spool, cfg, printer);
    msg::SendPass pass;
    do {   // sessions give up within a second of SIGINT/SIGTERM
        pass = sender.pass(g_stop);
        printer.finish();
        if (pass.scan_error) {
            complain("spoolsend", pass.scan_error->message);
            return exit_code::io_error;
        }
        // Sending on would send again, on every pass, what cannot be recorded.
        if (pass.unrecorded) {
            complain("spoolsend", "an outcome could not be recorded in the spool: no more entries were sent");
            break;
        }
        if (!watch || g_stop) break;
        const auto until = std::chrono::steady_clock::now() + interval;
        while (!g_stop && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (!g_stop);

    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const msg::SendTotals& totals = sender.totals();
    const std::uint64_t sent = totals.sent, deferred = totals.deferred, failed = totals.failed,
                        partial = totals.partial, skipped = totals.skipped, errors = totals.errors,
                        unrecorded = totals.unrecorded;
    // A spool error: 74; an entry too large to read (it stays queued): 75,
    // try again with more memory.
    const int trouble = totals.no_memory ? exit_code::temp_fail : errors ? exit_code::io_error : exit_code::ok;
    if (json) {
        Json j;
        j.begin_object().key("summary").begin_object().key("sent").value(sent).key("partial").value(partial)
            .key("deferred").value(deferred).key("failed").value(failed).key("skipped").value(skipped)
            .key("errors").value(errors).key("unrecorded").value(unrecorded)
            .key("left").value(pass.left).key("sessions").value(static_cast<std::uint64_t>(totals.sessions))
            .key("seconds").value(static_cast<std::uint64_t>(secs)).key("reached").value(static_cast<bool>(totals.reached))
            .end_object().end_object();
        std::cout << j.str() << '\n';
    }
    if (!cli.quiet) {
        char rate[64];
        std::snprintf(rate, sizeof rate, "%.1f", secs > 0 ? static_cast<double>(sent + partial) / secs : 0.0);
        std::cerr << "spoolsend: " << sent << " sent, " << partial << " partly sent, " << deferred << " deferred, "
                  << failed << " failed"
                  << (unrecorded ? ", " + std::to_string(unrecorded) + " accepted but not recorded" : "")
                  << (errors > unrecorded ? ", " + counted(errors - unrecorded, "spool error", "spool errors") + " (said above)" : "")
                  << (skipped ? ", " + std::to_string(skipped) + " held by another sender" : "")
                  << (pass.left ? ", " + std::to_string(pass.left) + " left for a later run" : "")
                  << " in " << static_cast<long long>(secs * 1000) / 1000.0 << " s (" << rate << " msgs/s, "
                  << totals.sessions << (totals.sessions == 1 ? " session)\n" : " sessions)\n");
    }
    if (pass.unreachable) {
        complain("spoolsend", pass.session_error + "; nothing was sent");
        // 69 says nothing changed: not so when an entry that could never be
        // sent, or one past --max-age (pass.expired), was failed without a
        // session.
        return failed ? exit_code::problems : exit_code::unavailable;
    }
    if (pass.left_behind) {
        // (Left: entries not taken, or taken and put back as they were; a
        // transaction the server ended is one of the deferred above.)
        complain("spoolsend", pass.left ? counted(pass.left, "entry", "entries") + " left for a later run: " + pass.session_error
                                        : "a session ended: " + pass.session_error);
        return exit_code::problems;
    }
    // Stopped while entries were being sent: those not dealt with wait, as
    // entries left over do, and the status says so (0 would say every due
    // entry was sent).
    if (pass.stopped) {
        complain("spoolsend", "stopped by a signal: entries not sent yet stay for a later run");
        return exit_code::worst(trouble, exit_code::problems);
    }
    if (errors) return trouble;
    return (deferred || failed || partial) ? exit_code::problems : exit_code::ok;
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
