// mbox2spool - turn mbox archives into spool entries, one per message.
#include <msg/archive.hpp>
#include <msg/envelope.hpp>
#include <msg/parallel.hpp>
#include <msg/spool.hpp>

#include <deque>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "common/inputs.hpp"
#include <msg/json.hpp>

using namespace msgtools;

namespace {

const ToolInfo kInfo = {
    "mbox2spool", "mbox2spool [options] ARCHIVE... SPOOL",
    "Turn mbox archives (plain or gzip) into spool entries, one per message, ready for spoolsend.",
    "The envelope of each entry: the sender from --sender, else <> for a bounce (Return-Path\n"
    "<>), else the From_ line, else Return-Path, else Resent-From when the message was\n"
    "resent, else From; the recipients from --rcpt, else Resent-To/Cc/Bcc when the\n"
    "message was resent, else To, Cc and Bcc. A message already in the spool (in any\n"
    "state) is not added again, so a run can be repeated or resumed after a crash.\n\n"
    "Examples:\n"
    "  mbox2spool archive.mbox.gz /var/spool/out          every message, its own envelope\n"
    "  mbox2spool --rcpt archive@example.org old.mbox out one recipient for all\n"
    "  mbox2spool --lock --json /var/mail/alice out       a live mailbox, JSON report\n"};

struct Counts {
    std::uint64_t messages = 0, enqueued = 0, duplicates = 0, skipped = 0, malformed = 0, deleted = 0;
    std::uint64_t unwritten = 0;   // read, then lost to a spool that failed
};

// One --json line: a message of `source` and what became of it (`key`:
// "entry" or "detail").
void print_status(std::string_view source, std::uint64_t index, std::uint64_t line, std::string_view status,
                  std::string_view key, std::string_view value) {
    Json j;
    j.begin_object().key("source").value(source).key("index").value(index).key("line").value(line)
        .key("status").value(status).key(key).value(value).end_object();
    std::cout << j.str() << '\n';
}

}  // namespace

static int tool_main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("format", po::value<std::string>()->value_name("FORMAT")->default_value("detect"),
         "mboxrd, mboxo, mboxcl, mboxcl2 or detect")
        ("sender", po::value<std::string>()->value_name("ADDR"), "envelope sender of every entry ('' for <>)")
        ("rcpt", po::value<std::vector<std::string>>()->composing()->value_name("ADDR"),
         "envelope recipient of every entry (repeatable)")
        ("lock", "lock each archive (dotlock and fcntl) while reading it, for live mailboxes")
        ("keep-deleted", "enqueue the messages a mail client marked deleted and kept until it compacts "
                         "(X-Mozilla-Status 0x0008, X-Status D, Maildir flag T, an MH ,N file) like the others")
        ("json", "print one JSON object per message (JSON Lines)");
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    if (cli.inputs.size() < 2) {
        complain(kInfo.name, "give one or more archives and then the spool directory (see --help)");
        return exit_code::usage;
    }
    InputOptions in;
    in.tool = kInfo.name;
    in.quiet = cli.quiet;
    in.mbox = true;
    in.lock = vm.count("lock") > 0;
    in.progress = !cli.quiet;
    in.report_leading = false;
    in.leave_out = {cli.inputs.back()};   // an archive directory holding the spool: not read back
    const auto format = msg::parse_format(vm["format"].as<std::string>());
    if (!format) {
        complain(kInfo.name, "unknown format '" + vm["format"].as<std::string>() + "' (see --help)");
        return exit_code::usage;
    }
    in.format = *format;
    msg::DeriveOptions fixed;
    if (vm.count("sender") && !(fixed.sender = msg::mailbox_argument(vm["sender"].as<std::string>(), true))) {
        complain(kInfo.name, "--sender " + vm["sender"].as<std::string>() + " is not an RFC 5321 mailbox");
        return exit_code::usage;
    }
    if (vm.count("rcpt"))
        for (const std::string& r : vm["rcpt"].as<std::vector<std::string>>()) {
            const auto a = msg::mailbox_argument(r, false);
            if (!a) {
                complain(kInfo.name, "--rcpt " + r + " is not an RFC 5321 mailbox");
                return exit_code::usage;
            }
            fixed.rcpts.push_back({*a, {}});
        }
    const bool json = vm.count("json") > 0;
    const bool keep_deleted = vm.count("keep-deleted") > 0;

    auto spool = msg::Spool::open(cli.inputs.back(), true);
    if (!spool) {
        complain(kInfo.name, spool.error().message);
        return exit_code::cant_create;
    }
    (void)spool->clean_tmp(std::chrono::hours(1));   // what a killed run left in tmp/
    // Another run that enqueues into this spool finishes first: what it
    // enqueued is then in the index, not enqueued twice.
    auto index = msg::SpoolIndex::of(*spool, [&] {
        if (!cli.quiet) complain(kInfo.name, "waiting for another run that enqueues into " + spool->path());
    });
    if (!index) {
        complain(kInfo.name, index.error().message);
        return exit_code::io_error;
    }

    DiagPrinter diag(std::cerr, wants_color(2));
    // Entries are written in groups, each fsynced and renamed into queue/
    // together, and reported once durable. With a second core, the entries
    // are written there while this thread reads the archive and derives the
    // next envelopes (each message copied for it: reading the archive in
    // chunks costs less than mapping it).
    msg::Spool::GroupWriter::Options wo;
    wo.background = msg::available_cores() > 1;
    msg::Spool::GroupWriter writer(*spool, wo);
    Counts c;
    int result = exit_code::ok;
    // The messages handed to the writer and not yet durable, in order. The
    // writer tells them in that order; one it skips, and any left at the
    // end, did not reach queue/ (the spool failed with its group): each is
    // said where it was read, never only counted. (Small records: this is
    // done for every message.)
    struct Tracker {
        struct Pending {
            std::uint64_t seq, index, line;
            std::size_t archive;
            bool own_file;   // a Maildir or MH message: its input is its own file
        };
        std::deque<Pending> pending;
        // The inputs (source, file) of the pending messages, the last one
        // always kept; Pending::archive counts the ones dropped before them
        // too. Each message file of a Maildir is an input of its own: the
        // others go as their messages are told.
        std::deque<std::pair<std::string, std::string>> archives;
        std::size_t dropped = 0;
        std::uint64_t next_seq = 0;
        bool json = false;
        DiagPrinter* diag = nullptr;

        std::uint64_t add(const InputMessage& m, std::uint64_t line) {
            if (archives.empty() || archives.back().first != m.source) archives.emplace_back(m.source, m.file);
            pending.push_back({next_seq, m.index, line, dropped + archives.size() - 1, m.maildir != nullptr});
            return next_seq++;
        }
        const std::pair<std::string, std::string>& archive(const Pending& p) const { return archives[p.archive - dropped]; }
        void drop_told() {
            const std::size_t first = pending.empty() ? dropped + archives.size() - 1 : pending.front().archive;
            while (dropped < first && archives.size() > 1) {
                archives.pop_front();
                ++dropped;
            }
        }
        void unwritten(const Pending& p) {
            const auto& [source, file] = archive(p);
            if (json) {
                print_status(source, p.index, p.line, "unwritten", "detail", "the spool failed before it was durable");
            } else {
                diag->print(msg::message_place(file, p.own_file ? 1 : p.line), msg::Severity::error,
                            (p.own_file ? std::string("message") : "message " + std::to_string(p.index + 1)) +
                                " not enqueued: the spool failed before it was durable");
            }
        }
        // Entry `entry` holds message `seq`: those before it were lost.
        void told(std::uint64_t seq, const std::string& entry) {
            while (!pending.empty() && pending.front().seq != seq) {
                unwritten(pending.front());
                pending.pop_front();
            }
            if (!pending.empty()) {
                if (json) {
                    const Pending& p = pending.front();
                    print_status(archive(p).first, p.index, p.line, "enqueued", "entry", entry);
                }
                pending.pop_front();
            }
            drop_told();
        }
        void drop_last(std::uint64_t seq) {
            if (!pending.empty() && pending.back().seq == seq) pending.pop_back();
        }
        void finish() {
            for (const Pending& p : pending) unwritten(p);
            pending.clear();
        }
    } tracker;
    tracker.json = json;
    tracker.diag = &diag;
    auto event = [&](const InputMessage& m, std::string_view status, std::string_view reason) {
        if (json) print_status(m.source, m.index, m.mbox ? m.mbox->line : 1, status, "detail", reason);
    };
    const std::vector<std::string> archives(cli.inputs.begin(), cli.inputs.end() - 1);
    std::string leading;   // an archive's leading bytes, until its first entry takes them
    const int read = for_each_message(archives, in, [&](const InputMessage& m) {
        // A message of an archive, or a file of a Maildir or an MH folder (which has no From_ line).
        static const msg::MboxMessage kNone;
        const msg::MboxMessage& mm = m.mbox ? *m.mbox : kNone;
        ++c.messages;
        if (m.index == 0) {
            leading = m.leading_bytes;
            index->next_archive();   // an archive named twice is read twice, not one of twice the copies
        }
        if (m.leading > 0) {
            // Kept with the first entry of this archive, so that spool2mbox
            // gives the archive back whole; still worth saying.
            const bool kept = leading.size() == m.leading;
            if (!cli.quiet || !kept)
                diag.print(msg::message_place(m.file, 1), kept ? msg::Severity::warning : msg::Severity::error,
                           std::to_string(m.leading) + " bytes before the first From_ line belong to no message; " +
                               (kept ? "kept with the first entry" : "too many to keep: left out"));
            if (!kept) result = exit_code::worst(result, exit_code::problems);
        }
        if (m.too_large()) {
            diag.print(msg::message_place(m.file, mm.line), msg::Severity::error,
                       "message " + std::to_string(m.index + 1) + " is larger than the limit (" +
                           std::to_string(mm.data_end - mm.offset) + " bytes with its From_ line); not enqueued");
            ++c.skipped;
            result = exit_code::worst(result, exit_code::problems);
            event(m, "skipped", "larger than the limit");
            return true;
        }
        const std::string key = msg::message_key(mm.from_line, m.data);
        if (index->holds(key, mm.from_line, m.data)) {
            leading.clear();   // an earlier run kept them with this message's entry
            ++c.duplicates;
            event(m, "duplicate", "already in the spool");
            return true;
        }
        // The header is parsed, the body only scanned for 8-bit bytes:
        // msgcheck is the tool that checks a whole message.
        msg::Derivation d = msg::derive_envelope(m.data, mm.from_line, fixed);
        // (made only for a diagnostic)
        const auto where = [&] { return msg::message_place(m.file, m.maildir ? 1 : mm.line); };
        const auto which = [&] { return m.maildir ? std::string("message") : "message " + std::to_string(m.index + 1); };
        if (const std::string_view mark = msg::marked_deleted(d, m.maildir); !mark.empty() && !keep_deleted) {
            // Deleted by its mail client, which had not compacted the folder
            // yet: not mail to deliver. Counted and said, never silently.
            if (!cli.quiet && !json)
                diag.print(where(), msg::Severity::note,
                           which() + " marked deleted (" + std::string(mark) + "); not enqueued (--keep-deleted enqueues it)");
            ++c.deleted;
            event(m, "deleted", mark);
            return true;
        }
        if (const std::string why = msg::derivation_unusable(d); !why.empty()) {
            diag.print(where(), msg::Severity::error, which() + " not enqueued: " + why);
            ++c.skipped;
            result = exit_code::worst(result, exit_code::problems);
            event(m, "skipped", why);
            return true;
        }
        if (const std::size_t n = d.defects.size() + mm.defects.size(); n > 0) {
            ++c.malformed;
            const msg::Defect& d0 = !mm.defects.empty() ? mm.defects.front() : d.defects.front();
            if (!cli.quiet)
                diag.print(where(), msg::Severity::warning,
                           which() + " has " + std::to_string(n) + (n == 1 ? " defect" : " defects") + " (first: " +
                               std::string(d0.info().text) + " [" + std::string(d0.info().code) +
                               "]); enqueued as it is (msgcheck --mbox checks the whole message)");
        }
        if (!cli.quiet)
            for (const std::string& what : msg::derivation_left_out(d))
                diag.print(where(), msg::Severity::warning, which() + ": " + what);
        // The entry keeps the archive's bytes, Bcc included: sent to the
        // header's recipients, every one of them would see it.
        if (d.bcc_rcpts > 0 && !cli.quiet)
            diag.print(where(), msg::Severity::warning,
                       which() + ": " + counted(d.bcc_rcpts, "recipient", "recipients") +
                           " from its Bcc field, which stays in the message for every recipient to see "
                           "(give --rcpt, or remove the field first: msgrewrite --mbox --strip-bcc)");
        if (m.maildir) msg::annotate_maildir(d.envelope, *m.maildir);
        else msg::annotate_mbox(d.envelope, mm, m.source, leading);
        leading = {};
        const std::uint64_t seq = tracker.add(m, m.mbox ? mm.line : 1);
        auto enqueued = [t = &tracker, seq](const std::string& entry) { t->told(seq, entry); };
        if (auto st = writer.add(std::move(d.envelope), m.data, key, std::move(enqueued), m.keep); !st) {
            // The spool failed: reading stops here, at this message (said
            // here; the ones before it not yet durable are said below).
            tracker.drop_last(seq);
            diag.print(where(), msg::Severity::error, which() + " and those after it not enqueued: " + st.error().message);
            event(m, "unwritten", st.error().message);
            ++c.unwritten;
            result = exit_code::cant_create;
            return false;
        }
        index->added(key);
        ++c.enqueued;
        return true;
    });
    if (auto st = writer.flush(); !st) {
        complain(kInfo.name, st.error().message);
        result = exit_code::cant_create;
    }
    tracker.finish();
    if (const auto e = index->write_error(); e && !cli.quiet)
        complain(kInfo.name, e->message + " (the index of the spool's keys was held in memory)");
    if (const auto e = index->error()) {
        complain(kInfo.name, e->message + " (messages it held may have been enqueued again)");
        result = exit_code::worst(result, exit_code::io_error);
    }
    c.enqueued -= writer.lost();
    c.unwritten += writer.lost();
    result = exit_code::worst(result, read);
    std::cout.flush();
    if (!cli.quiet && !json)
        std::cerr << kInfo.name << ": " << counted(c.messages, "message", "messages") << ", " << c.enqueued << " enqueued, " << c.duplicates
                  << " already in the spool, " << c.skipped << " not enqueued, "
                  << (c.deleted ? std::to_string(c.deleted) + " marked deleted (not enqueued), " : "") << c.malformed
                  << " with defects"
                  << (c.unwritten ? ", " + std::to_string(c.unwritten) + " not written (the spool failed)" : "")
                  << "\n";
    return result;
}

int main(int argc, char** argv) { return msgtools::run_tool(kInfo.name, tool_main, argc, argv); }
