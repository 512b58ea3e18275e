// spoolctl - the spool seen and steered: list, show, add, retry, hold,
// release, remove. Every change claims the entry as spoolsend does, so it
// never races a sender.
#include <msg/charset.hpp>
#include <msg/datetime.hpp>
#include <msg/delivery.hpp>
#include <msg/envelope.hpp>
#include <msg/header.hpp>
#include <msg/host.hpp>
#include <msg/message.hpp>
#include <msg/rewrite.hpp>
#include <msg/source.hpp>
#include <msg/spool.hpp>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "msg/files.hpp"

using namespace msgtools;
using Clock = std::chrono::system_clock;

namespace {

const ToolInfo kInfo = {
    "spoolctl", "spoolctl COMMAND [options] SPOOL [NAME...|FILE]",
    "See and steer a spool's entries: list, show, add, retry, hold, release, remove.",
    "Commands:\n"
    "  list SPOOL                one line per entry (--state S to choose, --json)\n"
    "  show SPOOL NAME...        an entry's envelope, retry history and failure report\n"
    "  add SPOOL [FILE|-]        enqueue one message: --sender and --rcpt, or -t to take\n"
    "                            them from its header as mbox2spool does\n"
    "  retry SPOOL NAME...|--all deferred entries become due now\n"
    "  hold SPOOL NAME...|--all  put queued or deferred entries aside: never sent until released\n"
    "  release SPOOL NAME...|--all  held entries go back to the queue\n"
    "  remove SPOOL NAME...      delete entries (in any state; with their reports)\n\n"
    "Examples:\n"
    "  spoolctl list out                                  the whole spool\n"
    "  spoolctl list --state deferred --json out          what waits for a retry\n"
    "  spoolctl add -t out < reply.eml                    sender and recipients from the header\n"
    "  spoolctl add --sender a@example.org --rcpt b@example.net out msg.eml\n"
    "  spoolctl hold out 20261123T081500.123456Z.4711.000000.host\n"
    "  spoolctl retry --all out                           try every deferred entry now\n"};

// The commands each option of the tool's own goes with (the standard
// ones, -q and --color, go with every command).
const std::map<std::string, std::vector<std::string>> kTakenBy = {
    {"state", {"list"}},       {"json", {"list"}},
    {"sender", {"add"}},       {"rcpt", {"add"}},
    {"from-header", {"add"}},  {"verbatim", {"add"}},
    {"all", {"retry", "hold", "release"}}};

// "retry, hold and release".
std::string joined(const std::vector<std::string>& words) {
    std::string s;
    for (std::size_t i = 0; i < words.size(); ++i)
        s += (i == 0 ? "" : i + 1 == words.size() ? " and " : ", ") + words[i];
    return s;
}

std::string human_size(std::uint64_t n) {
    char b[32];
    if (n < 1024) std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(n));
    else if (n < 1024 * 1024) std::snprintf(b, sizeof b, "%.1fK", static_cast<double>(n) / 1024);
    else std::snprintf(b, sizeof b, "%.1fM", static_cast<double>(n) / (1024 * 1024));
    return b;
}

// One line (or JSON object) per entry of the chosen states, in enqueue order.
int list(msg::Spool& spool, const std::vector<msg::SpoolState>& states, bool json, bool quiet) {
    msg::SpoolWalk walk(spool, states);
    const auto now = Clock::now();
    std::uint64_t n = 0;
    int result = exit_code::ok;
    DiagPrinter diag(std::cerr, wants_color(2));
    while (auto item = walk.next()) {
        auto data = walk.read(*item);   // followed when it moved since the listing
        if (!data) {
            if (data.error().errnum == ENOENT) continue;   // removed, or moved out of the states listed
            complain(kInfo.name, data.error().message);
            result = exit_code::worst(result, exit_code::read_failed(data.error().errnum, exit_code::io_error));
            continue;
        }
        const msg::SpoolEntry e = msg::parse_spool_entry(*data);
        const msg::Envelope env = msg::envelope_of(e);
        const msg::RetryInfo r = msg::retry_info(e, item->state);
        const auto born = msg::entry_time(item->name).value_or(now);
        const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - born);
        ++n;
        // A malformed entry (what keeps it from being sent: unsendable())
        // is a problem found; its defects are said as msgcheck places
        // them (the JSON object has them as its "problem").
        if (!e.defects.empty()) {
            result = exit_code::worst(result, exit_code::problems);
            if (!json)
                diag.print(msg::Place{spool.path() + "/" + std::string(msg::state_dir(item->state)) + "/" + item->name, *data},
                           e.defects);
        }
        if (json) {
            std::cout << msg::entry_json(item->name, item->state, e, now) << '\n';
            continue;
        }
        const std::string sender = msg::shown_sender(e);   // no MAIL FROM is not the null sender <>
        std::cout << msg::printable(item->name) << "  " << msg::state_dir(item->state) << "  " << human_size(e.message.size())
                  << "  " << msg::human_duration(age) << "  " << r.attempts << "  " << sender << " " << env.rcpts.size()
                  << (env.rcpts.size() == 1 ? " rcpt" : " rcpts");
        if (const auto next = msg::waits_until(r, item->state, now)) std::cout << "  next " << msg::format_rfc3339(*next);
        if (r.attempts && !r.settled) std::cout << "  last: " << msg::printable(r.last_what);
        std::cout << '\n';
    }
    if (walk.error()) {
        complain(kInfo.name, walk.error()->message);
        return exit_code::io_error;
    }
    if (!quiet && !json) std::cerr << kInfo.name << ": " << n << (n == 1 ? " entry\n" : " entries\n");
    return result;
}

int show(msg::Spool& spool, const std::vector<std::string>& names) {
    int result = exit_code::ok;
    for (const std::string& name : names) {
        const auto st = spool.find(name);
        auto data = st ? spool.read(*st, name) : msg::Result<std::string>(msg::Error{ENOENT, ""});
        if (!data && data.error().errnum != ENOENT) {
            complain(kInfo.name, data.error().message);
            result = exit_code::worst(result, exit_code::read_failed(data.error().errnum, exit_code::io_error));
            continue;
        }
        if (!data) {
            complain(kInfo.name, "no entry " + name + " in " + spool.path());
            result = exit_code::worst(result, exit_code::no_input);
            continue;
        }
        const msg::SpoolEntry e = msg::parse_spool_entry(*data);
        std::cout << "Entry: " << msg::printable(name) << "\nState: " << msg::state_dir(*st) << "\nSize: " << e.message.size()
                  << "\nEnvelope:\n";
        for (const msg::EnvelopeLine& l : e.envelope) std::cout << "  " << msg::printable(l.text) << '\n';
        std::vector<msg::HeaderField> fields;
        msg::parse_header_block(e.message, fields);
        std::cout << "Header:\n";
        for (const char* f : {"From", "To", "Subject", "Date", "Message-ID"})
            for (const msg::HeaderField& h : fields)
                if (msg::iequals(h.name, f)) {
                    std::cout << "  " << f << ": " << msg::printable(msg::decode_field_text(h.name, h.value)) << '\n';
                    break;
                }
        if (const std::string why = msg::unsendable(e); !why.empty()) {
            std::cout << "Problem: " << why << '\n';
            result = exit_code::worst(result, exit_code::problems);
        }
        if (*st == msg::SpoolState::failed) {
            if (auto report = spool.report(name)) {
                // (Line by line, control bytes escaped; ends with a line feed.)
                std::cout << "Report:\n" << msg::printable_lines(*report);
                if (!report->empty() && report->back() != '\n') std::cout << '\n';
            } else if (report.error().errnum != ENOENT) {
                complain(kInfo.name, report.error().message);
                result = exit_code::worst(result, exit_code::io_error);
            }
        }
        std::cout << '\n';
    }
    return result;
}

// Enqueue one message: the envelope from the options, or its header (-t).
int add(msg::Spool& spool, const po::variables_map& vm, const std::string& file) {
    auto src = file == "-" ? msg::Source::read_fd(0, "<stdin>") : msg::Source::open(file);
    if (!src) {
        complain(kInfo.name, src.error().message);
        // Past the limit of a message read whole: a data error (security.md).
        return src.error().errnum == EFBIG ? exit_code::data_error : exit_code::no_input;
    }
    std::string_view message = src->data();
    msg::Envelope env;
    const bool from_header = vm.count("from-header") > 0;
    // As a submission does (RFC 6409 8.2, 8.3; Postfix's cleanup, sendmail):
    // a Date and a Message-ID when the message has none, unless --verbatim;
    // and, as sendmail -t does, Bcc and Resent-Bcc removed when the
    // recipients come from the header: they get the message, nobody sees them.
    msg::RewriteOptions o;
    o.strip_bcc = from_header;
    if (!vm.count("verbatim")) {
        std::time_t now = 0;
        if (!header_time(kInfo.name, now)) return exit_code::usage;
        o.add_date = msg::format_date_time(now);
        o.add_message_id = msg::make_message_id(message, now, msg::host_name());
    }
    std::string rewritten;
    if (o.strip_bcc || !o.add_date.empty()) {
        msg::RewriteResult r = msg::rewrite(message, o);
        if (r.changed) rewritten = std::move(r.output);
        // What rewrite() refuses (a message over its size limit, an empty
        // header, an empty message) still gets Date and Message-ID, inserted
        // at its header's end without a rewrite: never enqueued without them.
        if (r.refused() && !o.add_date.empty()) {
            std::vector<msg::HeaderField> had;
            msg::parse_header_block(message, had);
            const auto has = [&](std::string_view name) {
                return std::any_of(had.begin(), had.end(), [&](const msg::HeaderField& f) { return msg::iequals(f.name, name); });
            };
            std::vector<std::string> missing;
            if (!has("Date")) missing.push_back("Date: " + o.add_date);
            if (!has("Message-ID")) missing.push_back("Message-ID: " + o.add_message_id);
            if (!missing.empty()) rewritten = msg::with_header_fields(message, missing);
        }
        std::vector<msg::HeaderField> fields;
        if (from_header) msg::parse_header_block(rewritten.empty() ? message : std::string_view(rewritten), fields);
        for (const msg::HeaderField& f : fields)
            if (msg::iequals(f.name, "Bcc") || msg::iequals(f.name, "Resent-Bcc")) {
                // Never sent with the field every recipient would see.
                complain(kInfo.name, file + ": the Bcc field cannot be removed" +
                                         (r.problems.empty() ? std::string() : ": " + r.problems[0].what) +
                                         "; not enqueued");
                return exit_code::data_error;
            }
    }
    if (from_header) {
        msg::Derivation d = msg::derive_envelope(message, {});
        if (const std::string why = msg::derivation_unusable(d); !why.empty()) {
            complain(kInfo.name, file + ": " + why + "; not enqueued");
            return exit_code::data_error;
        }
        for (const std::string& what : msg::derivation_left_out(d)) complain(kInfo.name, file + ": " + what);
        env = std::move(d.envelope);
    }
    if (!rewritten.empty()) message = rewritten;
    // Brackets dropped; what is not a mailbox is refused below.
    auto mailbox = [](const std::string& a) { return msg::mailbox_argument(a, true).value_or(a); };
    if (vm.count("sender")) env.mail_from = mailbox(vm["sender"].as<std::string>());
    if (vm.count("rcpt")) {
        env.rcpts.clear();
        for (const std::string& r : vm["rcpt"].as<std::vector<std::string>>()) env.rcpts.push_back({mailbox(r), {}});
    }
    if (!vm.count("from-header") && (!vm.count("sender") || env.rcpts.empty())) {
        complain(kInfo.name, "add needs --sender and --rcpt, or -t");
        return exit_code::usage;
    }
    for (const auto& a : env.rcpts)
        if (!msg::is_smtp_mailbox(a.address)) {
            complain(kInfo.name, "not an RFC 5321 mailbox: " + a.address);
            return exit_code::usage;
        }
    if (!env.mail_from.empty() && !msg::is_smtp_mailbox(env.mail_from)) {
        complain(kInfo.name, "not an RFC 5321 mailbox: " + env.mail_from);
        return exit_code::usage;
    }
    msg::declare_needs(env, message);
    // Written, then committed only if the file was whole all along (a
    // large one is mapped: cut short meanwhile, its end reads as zeros).
    msg::Spool::Batch batch(spool);
    // (Written from the mapped file itself, --verbatim, a file cut short
    // fails the write, EFAULT: said as the cut it is.)
    auto name = batch.add(env, message);
    if (msg::Status whole = src->intact(); !whole) {
        complain(kInfo.name, whole.error().message + "; not enqueued");
        return exit_code::io_error;   // the batch's entry, if any, is removed
    }
    if (!name) {
        complain(kInfo.name, name.error().message);
        return exit_code::cant_create;
    }
    if (msg::Status done = batch.commit(); !done) {
        complain(kInfo.name, done.error().message);
        return exit_code::cant_create;
    }
    std::cout << *name << '\n';
    return exit_code::ok;
}

// retry, hold, release, remove: claim each entry, as a sender would, and move it.
// With --all the entries are steered as the walk meets them, none of them
// kept: memory does not grow with the spool (the moves do not disturb the
// walk: an entry leaves the states walked, or keeps its name and state).
int steer(msg::Spool& spool, const std::string& command, const std::vector<std::string>& names, bool all, bool quiet) {
    const msg::Steer what = *msg::steer_by_name(command);
    const auto from = msg::steer_from(what);
    int result = exit_code::ok;
    std::uint64_t done = 0;
    auto one = [&](const std::string& name) {
        std::optional<msg::SpoolState> where;
        const auto r = msg::steer(spool, name, what, &where);
        if (r && *r) {
            ++done;
            return;
        }
        complain(kInfo.name, !r ? r.error().message
                             : where ? name + " is " + std::string(msg::state_dir(*where)) +
                                           (std::find(from.begin(), from.end(), *where) != from.end()
                                                ? ", held by a sender now; try again"
                                                : ": nothing to " + command)
                                     : "no entry " + name + " in " + spool.path());
        // (EINVAL: a name no entry can have, as good as a missing one.)
        result = exit_code::worst(result, !r ? (r.error().errnum == EINVAL ? exit_code::no_input : exit_code::io_error)
                                          : where ? exit_code::problems : exit_code::no_input);
    };
    for (const std::string& name : names) one(name);
    if (all) {
        msg::SpoolWalk walk(spool, std::vector<msg::SpoolState>(from.begin(), from.end()));
        while (const auto item = walk.next()) one(item->name);
        if (walk.error()) {
            complain(kInfo.name, walk.error()->message);
            result = exit_code::worst(result, exit_code::io_error);
        }
    }
    if (!quiet) std::cerr << kInfo.name << ": " << command << ": " << done << (done == 1 ? " entry\n" : " entries\n");
    return result;
}

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("state", po::value<std::vector<std::string>>()->composing()->value_name("STATE"),
         "list: only entries in STATE (queue, deferred, hold, sent, failed; repeatable)")
        ("json", "list: one JSON object per entry (docs/json.md)")
        ("sender", po::value<std::string>()->value_name("ADDR"), "add: the envelope sender ('' for <>)")
        ("rcpt", po::value<std::vector<std::string>>()->composing()->value_name("ADDR"),
         "add: an envelope recipient (repeatable)")
        ("from-header,t", "add: sender and recipients from the message's header, as mbox2spool derives them")
        ("verbatim", "add: enqueue the message as it is, without the Date and Message-ID added when missing")
        ("all", "retry, hold, release: every entry in the state the command takes");
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    auto usage = [](const std::string& m) {
        complain(kInfo.name, m + " (see --help)");
        return exit_code::usage;
    };
    static const std::set<std::string> commands = {"list", "show", "add", "retry", "hold", "release", "remove"};
    if (cli.inputs.size() < 2 || !commands.count(cli.inputs[0])) return usage("give a command and a SPOOL");
    const std::string command = cli.inputs[0];
    std::vector<std::string> rest(cli.inputs.begin() + 2, cli.inputs.end());
    // An option the command line gives a command that does not take it is
    // refused, never ignored: show --json would print text to a reader of
    // JSON, retry --state queue --all would retry every deferred entry. A
    // default from the config file is only for the commands that take it.
    for (const po::option& o : cli.given) {
        const auto takes = kTakenBy.find(o.string_key);
        if (takes == kTakenBy.end() || std::count(takes->second.begin(), takes->second.end(), command)) continue;
        const bool short_form = !o.original_tokens.empty() && o.original_tokens[0].rfind("--", 0) != 0;
        const std::string name = opts.find(o.string_key, false).canonical_display_name(
            short_form ? po::command_line_style::allow_dash_for_short : po::command_line_style::allow_long);
        return usage(name + " goes with " + joined(takes->second) + ", not " + command);
    }
    const bool steering = command == "retry" || command == "hold" || command == "release";
    const bool all = steering && vm.count("all") > 0;
    if ((command == "show" || command == "remove" || (steering && !all)) && rest.empty())
        return usage(command + " needs entry names" + (command == "show" || command == "remove" ? "" : " or --all"));
    if (command == "add" && rest.size() > 1) return usage("add takes one message");
    auto spool = msg::Spool::open(cli.inputs[1], command == "add");
    if (!spool) {
        complain(kInfo.name, spool.error().message);
        return command == "add" ? exit_code::cant_create : exit_code::no_input;
    }
    if (command == "list") {
        std::vector<msg::SpoolState> states;
        if (vm.count("state"))
            for (const std::string& s : vm["state"].as<std::vector<std::string>>()) {
                const auto st = msg::state_by_name(s);
                if (!st) return usage("unknown state '" + s + "'");
                states.push_back(*st);
            }
        else
            states.assign(std::begin(msg::kAllStates), std::end(msg::kAllStates));
        return list(*spool, states, vm.count("json") > 0, cli.quiet);
    }
    if (command == "show") return show(*spool, rest);
    if (command == "add") return add(*spool, vm, rest.empty() ? "-" : rest[0]);
    return steer(*spool, command, rest, all, cli.quiet);
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
