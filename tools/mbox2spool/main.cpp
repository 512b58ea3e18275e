// mbox2spool - turn mbox archives into spool entries, one per message.
#include <msg/charset.hpp>
#include <msg/codec.hpp>
#include <msg/envelope.hpp>
#include <msg/mbox.hpp>
#include <msg/message.hpp>
#include <msg/spool.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/diag.hpp"
#include "common/exit.hpp"
#include "common/json.hpp"
#include "common/progress.hpp"

using namespace msgtools;

namespace {

const ToolInfo kInfo = {
    "mbox2spool", "mbox2spool [options] ARCHIVE... SPOOL",
    "Turn mbox archives (plain or gzip) into spool entries, one per message, ready for spoolsend.",
    "The envelope of each entry: the sender from --sender, else the From_ line, else\n"
    "Return-Path, else From; the recipients from --rcpt, else Resent-To/Cc/Bcc when the\n"
    "message was resent, else To, Cc and Bcc. A message already in the spool (in any\n"
    "state) is not added again, so a run can be repeated or resumed after a crash.\n\n"
    "Examples:\n"
    "  mbox2spool archive.mbox.gz /var/spool/out          every message, its own envelope\n"
    "  mbox2spool --rcpt archive@example.org old.mbox out one recipient for all\n"
    "  mbox2spool --lock --json /var/mail/alice out       a live mailbox, JSON report\n"};

// A 64-bit hash of a message (its From_ line and bytes), 8 bytes at a time:
// the key that recognises a message already in the spool. Not a security
// measure; two different messages sharing a hash would make the second
// count as already there (one chance in 2^64 per pair).
std::uint64_t message_hash(std::string_view from_line, std::string_view data) {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
    std::uint64_t h = 0x243F6A8885A308D3ULL;
    auto mix = [&](std::string_view s) {
        const char* p = s.data();
        std::size_t i = 0;
        for (; i + 8 <= s.size(); i += 8) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            h = (h ^ w) * k;
            h ^= h >> 29;
        }
        std::uint64_t w = 0;
        std::memcpy(&w, p + i, s.size() - i);
        h = (h ^ w ^ (static_cast<std::uint64_t>(s.size()) << 8)) * k;
        h ^= h >> 32;
    };
    mix(from_line);
    mix(data);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    return h;
}

std::string hex64(std::uint64_t v) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

bool has_8bit(std::string_view s) { return msg::first_non_ascii(s) != std::string_view::npos; }

struct Counts {
    std::uint64_t messages = 0, enqueued = 0, duplicates = 0, skipped = 0, malformed = 0;
};

struct Settings {
    msg::MboxFormat format = msg::MboxFormat::detect;
    std::string sender;
    bool have_sender = false;
    std::vector<std::string> rcpts;
    bool lock = false, json = false, quiet = false;
};

// Convert one archive; returns its exit code (0 when every message is in the spool).
int convert(const std::string& path, msg::Spool& spool, const Settings& s, Counts& total, DiagPrinter& diag,
            Json& j) {
    std::optional<msg::MboxLock> lock;
    if (s.lock && path != "-") {
        auto l = msg::MboxLock::acquire(path, std::chrono::seconds(30));
        if (!l.ok()) {
            complain(kInfo.name, l.error().message);
            return exit_code::temp_fail;
        }
        lock.emplace(std::move(l.value()));
    }
    msg::MboxOptions mo;
    mo.format = s.format;
    auto reader = msg::MboxReader::open(path, mo);
    if (!reader.ok()) {
        complain(kInfo.name, reader.error().message);
        return reader.error().errnum ? exit_code::no_input : exit_code::data_error;
    }
    const std::string file = path == "-" ? "<stdin>" : path;
    struct stat st {};
    const std::uint64_t size = path != "-" && ::stat(path.c_str(), &st) == 0 && !(*reader)->compressed()
                                   ? static_cast<std::uint64_t>(st.st_size)
                                   : 0;
    Progress progress(size, "messages");

    int result = exit_code::ok;
    msg::Spool::Batch batch(spool);
    std::uint64_t batch_bytes = 0;
    // Messages already in the spool, in any state, by their key: how many
    // entries carry each hash, and how many of those this run has met (so
    // that an archive holding the same message twice gets both copies).
    std::vector<std::uint64_t> present;
    std::unordered_map<std::uint64_t, std::uint32_t> met;
    {
        auto keys = spool.keys();
        if (!keys.ok()) {
            complain(kInfo.name, keys.error().message);
            return exit_code::io_error;
        }
        for (const std::string& k : *keys)
            if (k.size() == 17 && k[0] == 'm') {
                char* end = nullptr;
                const std::uint64_t h = std::strtoull(k.c_str() + 1, &end, 16);
                if (end == k.c_str() + 17) present.push_back(h);
            }
        std::sort(present.begin(), present.end());
    }
    msg::MboxMessage m;
    Counts c;
    auto event = [&](const msg::MboxMessage& mm, std::string_view status, std::string_view entry,
                     std::string_view reason) {
        if (!s.json) return;
        j.clear();
        j.begin_object()
            .key("archive").value(path)
            .key("index").value(mm.index)
            .key("line").value(mm.line)
            .key("status").value(status);
        if (!entry.empty()) j.key("entry").value(entry);
        if (!reason.empty()) j.key("reason").value(reason);
        j.end_object();
        std::cout << j.str() << '\n';
    };
    struct Added { std::uint64_t index, line; std::string entry; };
    std::vector<Added> added_events;  // reported once their group is committed
    auto commit = [&]() -> bool {
        if (batch.size() == 0) return true;
        const msg::Status st2 = batch.commit();
        batch_bytes = 0;
        if (!st2.ok()) {
            complain(kInfo.name, st2.error().message);
            result = exit_code::cant_create;
            c.enqueued -= added_events.size();
            added_events.clear();
            return false;
        }
        for (const Added& a : added_events) {
            msg::MboxMessage mm;
            mm.index = a.index;
            mm.line = a.line;
            event(mm, "enqueued", a.entry, {});
        }
        added_events.clear();
        return true;
    };
    for (;;) {
        auto r = (*reader)->next(m);
        if (!r.ok()) {
            complain(kInfo.name, r.error().message);
            result = exit_code::worst(result, r.error().errnum ? exit_code::io_error : exit_code::data_error);
            break;
        }
        if (!*r) break;
        ++c.messages;
        progress.update(m.data_offset + m.data.size(), c.messages);
        const std::uint64_t hash = message_hash(m.from_line, m.data);
        const auto [lo, hi] = std::equal_range(present.begin(), present.end(), hash);
        if (lo != hi && met[hash]++ < static_cast<std::uint32_t>(hi - lo)) {
            ++c.duplicates;
            event(m, "duplicate", {}, "already in the spool");
            continue;
        }
        const msg::Message parsed = msg::parse_message(m.data);
        msg::DerivedEnvelope de = msg::derive_envelope(parsed, m.from_line);
        if (s.have_sender) {
            de.have_sender = true;
            de.sender = s.sender;
        }
        if (!s.rcpts.empty()) de.rcpts = s.rcpts;
        const std::string where = file + ":" + std::to_string(m.line);
        if (!de.have_sender || de.rcpts.empty()) {
            const std::string why = !de.have_sender ? "no sender in the From_ line, Return-Path or From"
                                                    : "no recipient in " + de.rcpts_from;
            diag.print(where, msg::Severity::error, "message " + std::to_string(m.index + 1) +
                                                        " not enqueued: " + why);
            ++c.skipped;
            result = exit_code::worst(result, exit_code::problems);
            event(m, "skipped", {}, why);
            continue;
        }
        const std::size_t defects = parsed.defects().size() + m.defects.size();
        if (defects > 0) {
            ++c.malformed;
            if (!s.quiet) {
                const msg::Defect& d0 = !m.defects.empty() ? m.defects.front() : parsed.defects().front();
                diag.print(where, msg::Severity::warning,
                           "message " + std::to_string(m.index + 1) + " has " + std::to_string(defects) +
                               (defects == 1 ? " defect" : " defects") + " (first: " +
                               std::string(d0.info().text) + " [" + std::string(d0.info().code) +
                               "]); enqueued as it is (see msgcheck --mbox)");
            }
        }
        if (de.unparsed > 0 && !s.quiet && s.rcpts.empty())
            diag.print(where, msg::Severity::warning,
                       "message " + std::to_string(m.index + 1) + ": " + std::to_string(de.unparsed) +
                           " malformed element(s) in " + de.rcpts_from + " left out");
        if (!de.rejected.empty() && !s.quiet)
            diag.print(where, msg::Severity::warning,
                       "message " + std::to_string(m.index + 1) + ": not a usable address, left out: " +
                           de.rejected.front() +
                           (de.rejected.size() > 1 ? " and " + std::to_string(de.rejected.size() - 1) + " more" : ""));

        msg::Envelope env;
        env.mail_from = de.sender;
        const std::string_view header = parsed.header_block(parsed.root());
        if (has_8bit(m.data.substr(header.size()))) env.mail_params.push_back("BODY=8BITMIME");
        if (de.utf8 || has_8bit(header)) env.mail_params.push_back("SMTPUTF8");
        for (const std::string& rc : de.rcpts) env.rcpts.push_back({rc, {}});
        // The From_ line verbatim, unless an annotation cannot carry it: then base64.
        const std::string_view fl = m.from_line;
        const bool plain = !fl.empty() && fl.front() != ' ' && fl.front() != '\t' &&
                           std::none_of(fl.begin(), fl.end(), [](char ch) {
                               return ch == '\r' || ch == '\n' || ch == '\0';
                           });
        if (plain) env.annotations.emplace_back("Mbox-From", std::string(fl));
        else env.annotations.emplace_back("Mbox-From-Base64", msg::base64_encode(fl, 0, ""));
        if (m.from_crlf) env.annotations.emplace_back("Mbox-From-Eol", "crlf");
        if (!m.separator) env.annotations.emplace_back("Mbox-Separator", "none");
        else if (m.separator_crlf) env.annotations.emplace_back("Mbox-Separator", "crlf");
        // "From " lines the archive left unquoted inside the message, so that
        // spool2mbox leaves them so too (byte for byte)
        std::string unquoted;
        for (const msg::Defect& d : m.defects)
            if (d.code == msg::DefectCode::MboxUnquotedFrom)
                unquoted += (unquoted.empty() ? "" : " ") + std::to_string(d.offset);
        if (!unquoted.empty()) env.annotations.emplace_back("Mbox-Unquoted-From", unquoted);
        env.annotations.emplace_back("Mbox-Source", path + " " + std::to_string(m.index));

        auto added = batch.add(env, m.data, msg::new_entry_name("m" + hex64(hash)));
        if (!added.ok()) {
            complain(kInfo.name, added.error().message);
            result = exit_code::cant_create;
            break;
        }
        ++c.enqueued;
        if (s.json) added_events.push_back({m.index, m.line, *added});
        batch_bytes += m.data.size();
        if (batch.size() >= 256 || batch_bytes >= (std::size_t{32} << 20))
            if (!commit()) break;
    }
    if (result != exit_code::cant_create) commit();
    progress.finish();
    if ((*reader)->leading_garbage() > 0 && c.messages > 0) {
        diag.print(file, msg::Severity::error,
                   std::to_string((*reader)->leading_garbage()) +
                       " bytes before the first From_ line are not part of any message; not enqueued");
        result = exit_code::worst(result, exit_code::problems);
    }
    if (c.messages == 0 && result == exit_code::ok) {
        complain(kInfo.name, file + ": not an mbox archive (no 'From ' line starts a message)");
        result = exit_code::data_error;
    }
    total.messages += c.messages;
    total.enqueued += c.enqueued;
    total.duplicates += c.duplicates;
    total.skipped += c.skipped;
    total.malformed += c.malformed;
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("format", po::value<std::string>()->value_name("FORMAT")->default_value("detect"),
         "mboxrd, mboxo, mboxcl, mboxcl2 or detect")
        ("sender", po::value<std::string>()->value_name("ADDR"), "envelope sender of every entry ('' for <>)")
        ("rcpt", po::value<std::vector<std::string>>()->composing()->value_name("ADDR"),
         "envelope recipient of every entry (repeatable)")
        ("lock", "lock each archive (dotlock and fcntl) while reading it, for live mailboxes")
        ("json", "print one JSON object per message (JSON Lines)");
    auto parsed = parse_cli(argc, argv, kInfo, opts);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Cli& cli = std::get<Cli>(parsed);
    const auto& vm = cli.vm;
    if (cli.inputs.size() < 2) {
        complain(kInfo.name, "give one or more archives and then the spool directory (see --help)");
        return exit_code::usage;
    }
    Settings s;
    const auto format = msg::parse_format(vm["format"].as<std::string>());
    if (!format) {
        complain(kInfo.name, "unknown format '" + vm["format"].as<std::string>() + "' (see --help)");
        return exit_code::usage;
    }
    s.format = *format;
    if (vm.count("sender")) {
        s.have_sender = true;
        s.sender = vm["sender"].as<std::string>();
        if (s.sender.size() >= 2 && s.sender.front() == '<' && s.sender.back() == '>')
            s.sender = s.sender.substr(1, s.sender.size() - 2);
        if (!s.sender.empty() && !msg::is_smtp_mailbox(s.sender)) {
            complain(kInfo.name, "--sender " + s.sender + " is not an RFC 5321 mailbox");
            return exit_code::usage;
        }
    }
    if (vm.count("rcpt"))
        for (std::string r : vm["rcpt"].as<std::vector<std::string>>()) {
            if (r.size() >= 2 && r.front() == '<' && r.back() == '>') r = r.substr(1, r.size() - 2);
            if (!msg::is_smtp_mailbox(r)) {
                complain(kInfo.name, "--rcpt " + r + " is not an RFC 5321 mailbox");
                return exit_code::usage;
            }
            s.rcpts.push_back(r);
        }
    s.lock = vm.count("lock") > 0;
    s.json = vm.count("json") > 0;
    s.quiet = cli.quiet;

    const std::string spool_path = cli.inputs.back();
    auto spool = msg::Spool::open(spool_path, true);
    if (!spool.ok()) {
        complain(kInfo.name, spool.error().message);
        return exit_code::cant_create;
    }
    // Entries a killed run left half-written in tmp/ (invisible to senders).
    (void)spool->clean_tmp(std::chrono::hours(1));

    DiagPrinter diag(std::cerr, stderr_wants_color());
    Json j;
    Counts total;
    int result = exit_code::ok;
    for (std::size_t i = 0; i + 1 < cli.inputs.size(); ++i)
        result = exit_code::worst(result, convert(cli.inputs[i], *spool, s, total, diag, j));

    std::cout.flush();
    if (!cli.quiet && !s.json)
        std::cerr << kInfo.name << ": " << total.messages << " messages, " << total.enqueued << " enqueued, "
                  << total.duplicates << " already in the spool, " << total.skipped << " not enqueued, "
                  << total.malformed << " with defects\n";
    return result;
}
