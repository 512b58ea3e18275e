// spool2mbox - write spool entries back into an mbox archive.
#include <msg/codec.hpp>
#include <msg/header.hpp>
#include <msg/mbox.hpp>
#include <msg/spool.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/exit.hpp"
#include "common/progress.hpp"

using namespace msgtools;

namespace {

const ToolInfo kInfo = {
    "spool2mbox", "spool2mbox [options] SPOOL[/STATE] [-o FILE]",
    "Write spool entries back into an mbox archive, in enqueue order.",
    "SPOOL alone takes the entries of every state (queue, deferred, sent, failed) merged in\n"
    "enqueue order; SPOOL/STATE takes one. An entry made by mbox2spool comes back with its\n"
    "From_ line and line endings as they were, so that mbox2spool then spool2mbox gives the\n"
    "archive back byte for byte.\n\n"
    "Examples:\n"
    "  spool2mbox out -o all.mbox                      every entry\n"
    "  spool2mbox out/failed --gzip -o failed.mbox.gz  what could not be delivered\n"
    "  spool2mbox --envelope out/sent | less           with X-Envelope-From/To fields\n"};

// "Mon Nov 23 09:15:00 2026" for a From_ line made from scratch.
std::string asctime_utc(std::time_t t) {
    std::tm tm {};
    gmtime_r(&t, &tm);
    char b[64];
    std::strftime(b, sizeof b, "%a %b %e %H:%M:%S %Y", &tm);
    return b;
}

// The line break the message itself uses (its first line's).
std::string_view eol_of(std::string_view message) {
    const std::size_t nl = message.find('\n');
    return nl != std::string_view::npos && nl > 0 && message[nl - 1] == '\r' ? "\r\n" : "\n";
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description opts("Options");
    opts.add_options()
        ("output,o", po::value<std::string>()->value_name("FILE"),
         "write the archive to FILE (atomically: a temporary name, then rename); default standard output")
        ("format", po::value<std::string>()->value_name("FORMAT")->default_value("mboxrd"),
         "mboxrd, mboxo, mboxcl or mboxcl2")
        ("gzip", "compress the archive with gzip")
        ("envelope", "add X-Envelope-From and X-Envelope-To fields at the top of each message");
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

    // SPOOL or SPOOL/STATE
    namespace fs = std::filesystem;
    fs::path in = fs::path(cli.inputs[0]).lexically_normal();
    if (in.has_filename() == false) in = in.parent_path();
    std::vector<msg::SpoolState> states = {msg::SpoolState::queue, msg::SpoolState::deferred, msg::SpoolState::sent,
                                           msg::SpoolState::failed};
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
    // Every state walked in name order, in batches (memory does not grow
    // with the spool), merged into one order.
    struct Cursor {
        msg::SpoolState state;
        std::vector<std::string> batch;
        std::size_t at = 0;
        std::string after;
        bool done = false;
    };
    std::vector<Cursor> cursors;
    for (msg::SpoolState st : states) cursors.push_back(Cursor{st, {}, 0, {}, false});
    std::string list_error;
    auto head = [&](Cursor& c) -> const std::string* {
        if (c.at == c.batch.size() && !c.done) {
            auto names = spool->list(c.state, c.after, 4096);
            if (!names.ok()) {
                list_error = names.error().message;
                c.done = true;
                return nullptr;
            }
            c.batch = std::move(*names);
            c.at = 0;
            c.done = c.batch.empty();
            if (!c.done) c.after = c.batch.back();
        }
        return c.at < c.batch.size() ? &c.batch[c.at] : nullptr;
    };
    // The next entry in name order; the same name twice in a row (an entry
    // that moved from one state to another while we walked) only once.
    std::string last;
    auto next_entry = [&]() -> std::optional<std::pair<std::string, msg::SpoolState>> {
        for (;;) {
            Cursor* best = nullptr;
            for (Cursor& c : cursors) {
                const std::string* h = head(c);
                if (h && (!best || *h < best->batch[best->at])) best = &c;
            }
            if (!best) return std::nullopt;
            std::string name = std::move(best->batch[best->at++]);
            if (name == last) continue;
            last = name;
            return std::make_pair(std::move(name), best->state);
        }
    };
    for (Cursor& c : cursors) head(c);   // a state that cannot be listed fails before any output
    if (!list_error.empty()) {
        complain(kInfo.name, list_error);
        return exit_code::io_error;
    }

    const std::string out = vm.count("output") ? vm["output"].as<std::string>() : "-";
    const std::string tmp = out == "-" ? out : out + ".tmp." + std::to_string(::getpid());
    msg::MboxWriter::Options wo;
    wo.format = *format;
    wo.gzip = vm.count("gzip") > 0;
    auto writer = msg::MboxWriter::open(tmp, wo);
    if (!writer.ok()) {
        complain(kInfo.name, writer.error().message);
        return exit_code::cant_create;
    }
    int result = exit_code::ok;
    Progress progress(0, "entries");
    std::uint64_t written = 0, bytes = 0, bad = 0;
    while (const auto entry = next_entry()) {
        const auto& [name, st] = *entry;
        auto data = spool->read(st, name);
        if (!data.ok() && data.error().errnum == ENOENT && states.size() > 1) {
            // A sender moved it since the listing (queue to deferred, sent or
            // failed): read it where it is now, so that it is not missed.
            for (int tries = 0; tries < 3 && !data.ok() && data.error().errnum == ENOENT; ++tries)
                if (const auto now = spool->find(name)) data = spool->read(*now, name);
        }
        if (!data.ok()) {
            // Gone from the one state asked for: it moved on, not an error.
            if (data.error().errnum == ENOENT && states.size() == 1) continue;
            complain(kInfo.name, data.error().message);
            result = exit_code::worst(result, exit_code::io_error);
            ++bad;
            continue;
        }
        const msg::SpoolEntry e = msg::parse_spool_entry(*data);
        if (!e.has_separator || !e.mail()) {
            complain(kInfo.name, root + "/" + std::string(msg::state_dir(st)) + "/" + name +
                                     ": not a spool entry (no envelope); left out");
            result = exit_code::worst(result, exit_code::problems);
            ++bad;
            continue;
        }
        // The From_ line: verbatim, or base64 when it had bytes an annotation
        // cannot carry (leading blanks, CR, nothing at all).
        std::string from_line;
        bool have_from = false;
        for (const msg::EnvelopeLine& l : e.envelope) {
            if (l.kind != msg::EnvelopeLine::Kind::annotation) continue;
            if (msg::iequals(l.name, "Mbox-From")) {
                from_line = l.value;
                have_from = true;
                break;
            }
            if (msg::iequals(l.name, "Mbox-From-Base64")) {
                msg::decode_transfer(l.value, msg::TransferEncoding::base64, from_line);
                have_from = true;
                break;
            }
        }
        if (!have_from) {
            const std::string_view sender = e.mail()->path.mailbox;
            from_line = (sender.empty() ? std::string("MAILER-DAEMON") : std::string(sender)) + " " +
                        asctime_utc(std::time(nullptr));
        }
        const bool from_crlf = msg::iequals(e.annotation("Mbox-From-Eol"), "crlf");
        const std::string_view sep = e.annotation("Mbox-Separator");
        std::string_view message = e.message;
        std::string with_envelope;
        if (envelope) {
            const std::string_view eol = eol_of(message);
            with_envelope = "X-Envelope-From: <" + std::string(e.mail()->path.mailbox) + ">";
            with_envelope += eol;
            for (const msg::EnvelopeLine* r : e.recipients()) {
                with_envelope += "X-Envelope-To: <" + std::string(r->path.mailbox) + ">";
                with_envelope += eol;
            }
            with_envelope += message;
            message = with_envelope;
        }
        // Offsets of "From " lines the source archive had left unquoted
        // (mbox2spool's Mbox-Unquoted-From), shifted past added fields.
        std::vector<std::size_t> unquoted;
        for (std::string_view v = e.annotation("Mbox-Unquoted-From"); !v.empty();) {
            const std::size_t sp = v.find(' ');
            const std::string_view word = v.substr(0, sp);
            std::size_t off = 0;
            bool digits = !word.empty();
            for (char ch : word) {
                digits = digits && ch >= '0' && ch <= '9';
                if (digits) off = off * 10 + static_cast<std::size_t>(ch - '0');
            }
            if (digits && off < e.message.size() && (unquoted.empty() || off > unquoted.back()))
                unquoted.push_back(off + (message.size() - e.message.size()));
            v = sp == std::string_view::npos ? std::string_view{} : v.substr(sp + 1);
        }
        const msg::Status w = (*writer)->write_keeping(from_line, message, from_crlf, !msg::iequals(sep, "none"),
                                                       msg::iequals(sep, "crlf"), unquoted);
        if (!w.ok()) {
            complain(kInfo.name, w.error().message);
            result = exit_code::io_error;
            break;
        }
        ++written;
        bytes += message.size();
        progress.update(0, written);
    }
    progress.finish();
    if (!list_error.empty()) {
        complain(kInfo.name, list_error);
        result = exit_code::io_error;
    }
    const msg::Status closed = (*writer)->close();
    if (!closed.ok() && result != exit_code::io_error) {
        complain(kInfo.name, closed.error().message);
        result = exit_code::io_error;
    }
    if (out != "-") {
        if (result == exit_code::io_error) {
            ::unlink(tmp.c_str());  // keep no partial archive; an older FILE stays as it was
        } else if (::rename(tmp.c_str(), out.c_str()) != 0) {
            complain(kInfo.name, "cannot rename " + tmp + " to " + out + ": " + std::strerror(errno));
            ::unlink(tmp.c_str());
            return exit_code::cant_create;
        }
    }
    if (!cli.quiet)
        std::cerr << kInfo.name << ": " << written << " messages written, " << bad << " entries left out\n";
    return result;
}
