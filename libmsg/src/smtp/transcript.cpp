// transcript.cpp - reading, writing and cutting SMTP transcripts
// (smtp/transcript.hpp, docs/transcript-format.md).
#include "msg/smtp/transcript.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <type_traits>

#include "msg/charset.hpp"
#include "msg/datetime.hpp"
#include "msg/header.hpp"
#include "msg/smtp/command.hpp"

namespace msg::smtp {

namespace {

constexpr std::string_view kNativeMagic = "# msgtools transcript 1";

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view ltrim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

// Lines of `text`, without their line ends, with the offset of each (and,
// for a caller that asks, whether the line ended in CR LF). A UTF-8 byte
// order mark before the first line (a file saved by a Windows editor) is
// not part of it; offsets stay those of the file.
template <class F>
void for_each_line(std::string_view text, F&& f) {
    std::size_t at = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        const bool last = nl == std::string_view::npos;
        if (last) nl = text.size();
        std::string_view line = text.substr(at, nl - at);
        const bool cr = !line.empty() && line.back() == '\r';
        if (cr) line.remove_suffix(1);
        if constexpr (std::is_invocable_v<F, std::string_view, std::size_t, bool>) f(line, at, cr);
        else f(line, at);
        at = nl + 1;
    }
}

// swaks prefixes: client " -> ", inside TLS " ~> "; server "<-  ", "<~  ",
// a failure reply "<** " ("<~* " inside TLS); information "=== " and
// errors "*** ".
struct SwaksPrefix {
    std::string_view prefix;
    Side side;
    bool tls;
};
constexpr SwaksPrefix kSwaks[] = {
    {" -> ", Side::client, false}, {" ~> ", Side::client, true}, {"<-  ", Side::server, false},
    {"<~  ", Side::server, true},  {"<** ", Side::server, false}, {"<~* ", Side::server, true},
    {"=== ", Side::event, false},  {"*** ", Side::event, false},
};

bool swaks_line(std::string_view line, TranscriptLine& out, std::size_t& skip) {
    for (const SwaksPrefix& p : kSwaks) {
        if (starts(line, p.prefix)) {
            out.side = p.side;
            out.tls = p.tls;
            skip = p.prefix.size();
            return true;
        }
    }
    // An empty line, its arrow's trailing spaces trimmed.
    const std::string_view bare = line.substr(0, line.find_last_not_of(' ') + 1);
    if (bare == " ->" || bare == " ~>" || bare == "<-" || bare == "<~") {
        out.side = bare[0] == '<' ? Side::server : Side::client;
        out.tls = bare.find('~') != std::string_view::npos;
        skip = line.size();
        return true;
    }
    return false;
}

// After a 220 to STARTTLS, what follows is inside TLS (for formats that do
// not mark it).
void infer_tls(Transcript& t) {
    bool pending = false, tls = false;
    for (TranscriptLine& l : t.lines) {
        if (l.side == Side::event) continue;
        l.tls = l.tls || tls;
        if (l.side == Side::client) {
            pending = !tls && parse_command(l.text, {.utf8 = true, .lenient = true}).verb == Verb::starttls;
        } else if (pending) {
            const ReplyLine r = parse_reply_line(l.text);
            if (r.ok && r.last) {
                tls = r.code == 220;
                pending = false;
            }
        }
    }
}

// swaks prints the lines of a message raw, each after its arrow: a line
// the client ended with CRLF shows its CR, one ended by a bare LF does not,
// and the last line of the block (the final dot) is printed without its
// CRLF. So where a file's client lines differ in that (a file saved with
// CRLF line ends has a CR on every line, one written by hand or converted
// on none), a message line without a CR that another client line follows
// was ended by a bare LF. `cr` says which lines of t.lines had a CR.
void infer_swaks_bare_lf(Transcript& t, const std::vector<bool>& cr) {
    bool any_cr = false, any_lf = false;
    for (std::size_t i = 0; i < t.lines.size(); ++i)
        if (t.lines[i].side == Side::client) (cr[i] ? any_cr : any_lf) = true;
    if (!any_cr || !any_lf) return;
    bool data_sent = false, in_body = false, after_lf = false;
    for (std::size_t i = 0; i < t.lines.size(); ++i) {
        TranscriptLine& l = t.lines[i];
        if (l.side == Side::event) continue;
        if (l.side == Side::server) {
            const ReplyLine r = parse_reply_line(l.text);
            if (data_sent && r.ok && r.last && r.code == 354) {
                in_body = true;
                after_lf = false;
                data_sent = false;
            }
            continue;
        }
        if (!in_body) {
            data_sent = parse_command(l.text, {.utf8 = true, .lenient = true}).verb == Verb::data;
            continue;
        }
        const bool block_goes_on = i + 1 < t.lines.size() && t.lines[i + 1].side == Side::client;
        l.bare_lf = !cr[i] && block_goes_on;
        if (l.text == "." && !l.bare_lf && !after_lf) in_body = false;
        after_lf = l.bare_lf;
    }
}

constexpr std::string_view kSwaksTls = "TLS started with cipher ";

// The native format's "tls PROTOCOL CIPHER" event of swaks's "TLS started
// with cipher PROTOCOL:CIPHER:BITS" line, and the other way round: TLS
// kept in a conversion.
std::string native_tls_event(std::string_view swaks) {
    std::string_view rest = swaks.substr(kSwaksTls.size());
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return "tls " + std::string(rest);
    std::string_view cipher = rest.substr(colon + 1);
    cipher = cipher.substr(0, cipher.find(':'));
    return "tls " + std::string(rest.substr(0, colon)) + " " + std::string(cipher);
}

std::string swaks_tls_event(std::string_view native) {
    std::string_view rest = ltrim(native.substr(3));
    if (rest.empty()) return "TLS started";
    std::string out(kSwaksTls);
    const std::size_t sp = rest.find(' ');
    out += rest.substr(0, sp);
    if (sp != std::string_view::npos) out += ":" + std::string(ltrim(rest.substr(sp + 1)));
    return out;
}

bool native_tls(std::string_view event) { return event == "tls" || starts(event, "tls "); }

}  // namespace

std::string_view format_name(Format f) {
    switch (f) {
        case Format::cs: return "cs";
        case Format::swaks: return "swaks";
        case Format::bsmtp: return "bsmtp";
        case Format::native: return "native";
    }
    return "cs";
}

std::optional<Format> format_by_name(std::string_view name) {
    if (name == "cs") return Format::cs;
    if (name == "swaks") return Format::swaks;
    if (name == "bsmtp") return Format::bsmtp;
    if (name == "native") return Format::native;
    return std::nullopt;
}

Format detect_format(std::string_view text) {
    std::optional<Format> found;
    int looked = 0;
    for_each_line(text, [&](std::string_view line, std::size_t) {
        if (found || looked > 50) return;
        if (starts(line, kNativeMagic)) {
            found = Format::native;
            return;
        }
        const std::string_view t = ltrim(line);
        if (t.empty()) return;
        ++looked;
        if (starts(t, "C:") || starts(t, "S:")) {
            found = Format::cs;
            return;
        }
        TranscriptLine l;
        std::size_t skip = 0;
        if (swaks_line(line, l, skip)) found = Format::swaks;
        // A batch starts with a command (HELO, EHLO, MAIL): the rest is
        // its own, though a message in it quotes "C:" lines or swaks arrows.
        else if (looked == 1 && parse_command(t, {.utf8 = true, .lenient = true}).ok)
            found = Format::bsmtp;
    });
    return found.value_or(Format::bsmtp);
}

namespace {

// Where the first message of `text` begins: just past its first DATA or
// BDAT command line (after "C:", a swaks arrow, or bare as in a batch), or
// text.size() when none comes.
std::size_t message_start(std::string_view text) noexcept {
    std::size_t found = text.size();
    for_each_line(text, [&](std::string_view line, std::size_t at) {
        if (found != text.size()) return;
        std::string_view cmd = ltrim(line);
        if (starts(cmd, "C:") || starts(cmd, "->") || starts(cmd, "~>")) cmd = ltrim(cmd.substr(2));
        const std::string_view verb = cmd.substr(0, cmd.find(' '));
        if (iequals(verb, "DATA") || iequals(verb, "BDAT")) {
            const std::size_t nl = text.find('\n', at);
            found = nl == std::string_view::npos ? text.size() : nl + 1;
        }
    });
    return found;
}

}  // namespace

std::string_view not_transcript_reason(std::string_view text) noexcept {
    if (text.find_first_not_of("\r\n") == std::string_view::npos) return "empty input, not a transcript";
    // The native format says what it is, and its lines may hold any octet
    // but LF (a message's form feeds and escapes, as sent).
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);   // a byte order mark
    if (text.starts_with("# msgtools transcript ")) return {};
    // A picture or an archive has a NUL, or several control bytes, within
    // its first few hundred bytes; text has tabs, form feeds and the ESC of
    // ISO-2022-JP, and now and then a stray control byte. Only the lines
    // before the first message are judged: a message may hold any octet (a
    // NUL is its defect, not the transcript's), and a file that gets as far
    // as DATA as text is a transcript.
    std::string_view head = text.substr(0, 1024);
    head = head.substr(0, message_start(head));
    int controls = 0;
    for (const char ch : head) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == 0) return "not a transcript: binary data (a NUL byte near the start)";
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != 0x1b) || c == 0x7f) ++controls;
    }
    if (controls >= 4) return "not a transcript: binary data (control bytes near the start)";
    // Lines that end in CR alone (old Mac text) would be read as one line:
    // the whole session as a greeting, every command lost without a word.
    // Such text has CRs and no LF; where an LF ends the first line, a CR
    // inside it is the line's text, as in any later line.
    if (const std::size_t cr = text.find('\r');
        cr < 1024 && text.find('\n') >= 1024 && cr + 1 < text.size() && text[cr + 1] != '\n')
        return "not a transcript as it is: its first line ends in CR alone (make its line ends LF or CRLF)";
    return {};
}

ParsedTranscript parse_transcript(std::string_view text, std::optional<Format> format) {
    ParsedTranscript p;
    p.format = format.value_or(detect_format(text));
    Transcript& t = p.transcript;
    bool native_tls = false;
    bool seen_magic = false;
    std::vector<bool> cr;   // swaks: whether each line of t.lines ended in CR
    // A line each: no room doubled, nothing moved as they come. But no
    // more than one per three bytes ("C:" and its end), so that a file of
    // empty lines, which keeps few, does not reserve 56 bytes for each;
    // where lines are shorter still (batch SMTP's), the vector grows.
    const auto breaks = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    t.lines.reserve(std::min(breaks, text.size() / 3) + 1);
    for_each_line(text, [&](std::string_view line, std::size_t at, bool line_cr) {
        TranscriptLine l;
        l.offset = at;
        switch (p.format) {
            case Format::cs: {
                const std::string_view s = ltrim(line);
                const std::size_t lead = line.size() - s.size();
                if (s.empty()) return;
                if (s[0] == '#') {   // a comment or an event, as this project writes them
                    l.side = Side::event;
                    l.text = std::string(ltrim(s.substr(1)));
                    l.offset = at + lead;
                    break;
                }
                if (s.size() >= 2 && (s[0] == 'C' || s[0] == 'S') && s[1] == ':') {
                    l.side = s[0] == 'C' ? Side::client : Side::server;
                    std::size_t skip = 2;
                    if (s.size() > 2 && s[2] == ' ') skip = 3;
                    l.text = std::string(s.substr(skip));
                    l.offset = at + lead + skip;
                    break;
                }
                p.defects.push_back({DefectCode::SmtpTranscriptSyntax, at + lead, "neither C: nor S:"});
                return;
            }
            case Format::swaks: {
                std::size_t skip = 0;
                if (line.empty()) return;
                if (!swaks_line(line, l, skip)) {
                    p.defects.push_back({DefectCode::SmtpTranscriptSyntax, at, "no swaks arrow (->, <-, ~>, <~, ===)"});
                    return;
                }
                l.text = std::string(line.substr(skip));
                l.offset = at + skip;
                cr.push_back(line_cr);
                break;
            }
            case Format::bsmtp:
                l.side = Side::client;
                l.text = std::string(line);
                break;
            case Format::native: {
                if (!seen_magic) {
                    if (starts(line, kNativeMagic)) {
                        seen_magic = true;
                        return;
                    }
                    if (ltrim(line).empty()) return;
                    p.defects.push_back({DefectCode::SmtpTranscriptSyntax, at, "the first line must be \"# msgtools transcript 1\""});
                    seen_magic = true;
                }
                if (line.empty() || line[0] == '#') return;
                // SIDE SP TIME SP TEXT (TEXT may be empty: "C 0.5 ")
                const char side = line[0];
                const std::size_t sp1 = line.find(' ');
                const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
                if (line.size() < 2 || line[1] != ' ' || (side != 'C' && side != 'S' && side != '=') ||
                    sp2 == std::string_view::npos) {
                    if (line.size() >= 3 && line[1] == ' ' && (side == 'C' || side == 'S' || side == '=') &&
                        sp2 == std::string_view::npos) {
                        // "C TIME" with nothing after: an empty line.
                    } else {
                        p.defects.push_back({DefectCode::SmtpTranscriptSyntax, at, "expected C, S or =, a time and the text"});
                        return;
                    }
                }
                l.side = side == 'C' ? Side::client : side == 'S' ? Side::server : Side::event;
                const std::string_view time = line.substr(2, (sp2 == std::string_view::npos ? line.size() : sp2) - 2);
                if (time != "-") {
                    char* end = nullptr;
                    const std::string ts(time);
                    l.time = std::strtod(ts.c_str(), &end);
                    if (end != ts.c_str() + ts.size() || l.time < 0) {
                        p.defects.push_back({DefectCode::SmtpTranscriptSyntax, at + 2, "bad time"});
                        return;
                    }
                }
                const std::size_t text_at = sp2 == std::string_view::npos ? line.size() : sp2 + 1;
                l.text = std::string(line.substr(text_at));
                l.offset = at + text_at;
                if (l.side == Side::event) {
                    if (starts(l.text, "connect ")) {
                        const std::string_view rest = std::string_view(l.text).substr(8);
                        const std::size_t sp = rest.find(' ');
                        t.peer = std::string(rest.substr(0, sp));
                        if (sp != std::string_view::npos) t.started = std::string(rest.substr(sp + 1));
                    } else if (starts(l.text, "tls")) {
                        native_tls = true;
                    }
                }
                l.tls = native_tls && l.side != Side::event;
                break;
            }
        }
        t.lines.push_back(std::move(l));
    });
    // swaks and the native format mark TLS themselves.
    if (p.format == Format::cs || p.format == Format::bsmtp) infer_tls(t);
    if (p.format == Format::swaks) infer_swaks_bare_lf(t, cr);
    return p;
}

std::optional<std::size_t> no_smtp_command(const Transcript& t) {
    std::optional<std::size_t> first;
    for (const TranscriptLine& l : t.lines) {
        if (l.side == Side::server) return std::nullopt;
        if (l.side != Side::client) continue;
        if (!first && !l.text.empty()) first = l.offset;
        if (parse_command(l.text, {.utf8 = true, .lenient = true}).verb != Verb::unknown) return std::nullopt;
    }
    return first.value_or(0);
}

std::optional<std::size_t> lost_line_end(const Transcript& t, Format format) {
    if (format == Format::swaks) return std::nullopt;
    for (std::size_t i = 0; i < t.lines.size(); ++i)
        if (t.lines[i].bare_lf) return i;
    return std::nullopt;
}

std::string write_transcript(const Transcript& t, Format format) {
    std::string out;
    char stamp[32];
    // swaks: when a message line was ended by a bare LF, the lines of
    // messages are written as swaks prints them, the CR of each line that
    // had one shown, so that reading the file back finds the bare LFs.
    std::vector<bool> raw_cr;
    if (format == Format::swaks && std::any_of(t.lines.begin(), t.lines.end(), [](const TranscriptLine& l) { return l.bare_lf; })) {
        raw_cr.assign(t.lines.size(), false);
        for (const Exchange& e : exchanges(t)) {
            if (e.kind != ExchangeKind::body) continue;
            for (const std::size_t i : e.client)
                raw_cr[i] = !t.lines[i].bare_lf && i + 1 < t.lines.size() && t.lines[i + 1].side == Side::client;
        }
    }
    if (format == Format::native) {
        out += kNativeMagic;
        out += '\n';
        if (!t.peer.empty()) {
            out += "= 0.000000 connect " + t.peer;
            if (!t.started.empty()) out += " " + t.started;
            out += '\n';
        }
    }
    // TLS as the target format says it: a native "tls" event where TLS
    // begins (swaks's "TLS started" line, or before the first line inside
    // TLS when the source marked none, as cs does not), swaks's line for a
    // native event.
    bool tls_said = false;
    for (const TranscriptLine& l : t.lines) {
        if (format == Format::native && !tls_said && l.side != Side::event && l.tls) {
            out += "= - tls\n";
            tls_said = true;
        }
        switch (format) {
            case Format::cs:
                if (l.side == Side::event) out += "# " + l.text;
                else out += (l.side == Side::client ? "C: " : "S: ") + l.text;
                break;
            case Format::swaks:
                if (l.side == Side::event) out += "=== " + (native_tls(l.text) ? swaks_tls_event(l.text) : l.text);
                else if (l.side == Side::client) out += (l.tls ? " ~> " : " -> ") + l.text;
                else out += (l.tls ? "<~  " : "<-  ") + l.text;
                if (!raw_cr.empty() && raw_cr[static_cast<std::size_t>(&l - t.lines.data())]) out += '\r';
                break;
            case Format::bsmtp:
                if (l.side != Side::client) continue;
                out += l.text;
                break;
            case Format::native:
                if (l.side == Side::event && starts(l.text, "connect ") && !t.peer.empty()) continue;
                if (l.time >= 0) std::snprintf(stamp, sizeof stamp, " %.6f ", l.time);
                else std::snprintf(stamp, sizeof stamp, " - ");
                out += l.side == Side::client ? 'C' : l.side == Side::server ? 'S' : '=';
                out += stamp;
                if (l.side == Side::event && starts(l.text, kSwaksTls)) {
                    out += native_tls_event(l.text);
                    tls_said = true;
                } else {
                    out += l.text;
                    tls_said = tls_said || (l.side == Side::event && native_tls(l.text));
                }
                break;
        }
        out += '\n';
    }
    return out;
}

std::vector<Exchange> exchanges(const Transcript& t) {
    std::vector<Exchange> ex;
    std::deque<std::size_t> waiting;   // exchanges sent and not yet answered, in order
    ReplyAssembler assembler(ReplyLimits::none());   // the transcript is in memory already
    LineIndices reply_lines;
    bool reply_bad = false;
    enum class Next { command, body, sasl } next = Next::command;
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t body = none;   // the body exchange being collected
    std::uint64_t bdat_left = 0;
    std::size_t bdat = none;   // the BDAT exchange whose chunk is being collected
    unsigned group = 0;
    bool last_was_client = false, tls = false;
    // Batch SMTP and other client-only transcripts: every command is taken
    // as accepted, so DATA is followed by its body.
    bool no_replies = true;
    for (const TranscriptLine& l : t.lines) no_replies = no_replies && l.side != Side::server;

    auto deliver = [&](std::optional<Reply> r) {
        std::size_t target;
        if (!waiting.empty()) {
            target = waiting.front();
            waiting.pop_front();
        } else {
            Exchange e;
            e.kind = ex.empty() ? ExchangeKind::greeting : ExchangeKind::unanswered;
            e.group = ++group;
            e.tls = tls;
            ex.push_back(std::move(e));
            target = ex.size() - 1;
        }
        Exchange& e = ex[target];
        e.reply_lines = std::move(reply_lines);
        reply_lines.clear();
        e.reply = std::move(r);
        if (!e.reply) return;
        const int code = e.reply->code;
        if (e.kind == ExchangeKind::command && !e.client.empty()) {
            const Command c = parse_command(command_text(t, e), {.utf8 = true, .lenient = true});
            if (c.verb == Verb::data && code == 354) next = Next::body;
            if (c.verb == Verb::auth && code == 334) next = Next::sasl;
            if (c.verb == Verb::starttls && code == 220) tls = true;
        } else if (e.kind == ExchangeKind::sasl && code == 334) {
            next = Next::sasl;
        }
    };

    for (std::size_t i = 0; i < t.lines.size(); ++i) {
        const TranscriptLine& l = t.lines[i];
        if (l.side == Side::event) {
            if (starts(l.text, "tls")) tls = true;
            continue;
        }
        if (l.side == Side::server) {
            // A server answers BDAT once it has read the whole chunk: its
            // reply ends a chunk whose lines are fewer octets. (Replies to
            // commands pipelined before the BDAT may come amid its lines.)
            if (bdat != none && bdat_left > 0 && !waiting.empty() && waiting.front() == bdat) {
                ex[bdat].chunk_short = bdat_left;
                bdat_left = 0;
            }
            last_was_client = false;
            reply_lines.push_back(i);
            switch (assembler.feed(l.text)) {
                case ReplyAssembler::Feed::more: break;
                case ReplyAssembler::Feed::done:
                    if (reply_bad) {
                        // The broken reply's tail, from the line after the
                        // broken one: dropped, so that the next reply
                        // starts afresh.
                        reply_bad = false;
                        (void)assembler.take();
                        deliver(std::nullopt);
                    } else {
                        deliver(assembler.take());
                    }
                    break;
                case ReplyAssembler::Feed::error: {
                    // A broken line ends the reply it is in, if it is a
                    // last line; else wait for the reply's end.
                    const ReplyLine rl = parse_reply_line(l.text);
                    if (!rl.ok || rl.last) {
                        reply_bad = false;
                        deliver(std::nullopt);
                    } else {
                        reply_bad = true;
                    }
                    break;
                }
            }
            continue;
        }
        // The client.
        if (!reply_lines.empty() && waiting.empty() && body == none && bdat == none) {
            // A reply still open, that no command waits for (a greeting
            // whose last line never came, as in RFC 4954 4.1's examples):
            // the client would not have spoken before its end, so it ends
            // here, broken, and what the server says next answers this line.
            reply_bad = false;
            (void)assembler.take();
            deliver(std::nullopt);
        }
        if (body != none) {
            // The end of the content is CRLF "." CRLF (RFC 5321 4.1.1.4): a
            // "." after a bare LF, or ended by one, is content.
            const bool after_lf = t.lines[ex[body].client.back()].bare_lf;
            ex[body].client.push_back(i);
            if (l.text == "." && !l.bare_lf && !after_lf) {
                waiting.push_back(body);
                body = none;
            }
            last_was_client = true;
            continue;
        }
        if (bdat != none && bdat_left > 0) {
            ex[bdat].client.push_back(i);
            const std::uint64_t n = l.text.size() + 2;
            if (n > bdat_left && bdat_left < l.text.size()) {
                // The chunk ends inside this line. When the next BDAT follows
                // it there (the octets go on, the chunk needs no CRLF), that
                // BDAT is a command of its own, sent before the chunk's reply.
                const auto cut = static_cast<std::size_t>(bdat_left);
                const Command c = parse_command(std::string_view(l.text).substr(cut), {.utf8 = true, .lenient = true});
                if (c.verb == Verb::bdat) {
                    ex[bdat].cut = cut;
                    Exchange e;
                    e.kind = ExchangeKind::command;
                    e.client.push_back(i);
                    e.from = cut;
                    e.tls = l.tls || tls;
                    e.group = ex[bdat].group;
                    ex.push_back(std::move(e));
                    waiting.push_back(ex.size() - 1);
                    bdat = none;
                    bdat_left = 0;
                    if (c.ok && c.chunk_size > 0) {
                        bdat = ex.size() - 1;
                        bdat_left = c.chunk_size;
                    }
                    continue;
                }
            }
            if (n > bdat_left) ex[bdat].chunk_over = n - bdat_left;
            bdat_left = n >= bdat_left ? 0 : bdat_left - n;
            continue;
        }
        Exchange e;
        e.client.push_back(i);
        e.tls = l.tls || tls;
        if (next == Next::body) {
            e.kind = ExchangeKind::body;
            e.group = ++group;
            next = Next::command;
            ex.push_back(std::move(e));
            if (l.text == "." && !l.bare_lf) waiting.push_back(ex.size() - 1);
            else body = ex.size() - 1;
            last_was_client = true;
            continue;
        }
        if (next == Next::sasl) {
            e.kind = ExchangeKind::sasl;
            next = Next::command;
        } else {
            e.kind = ExchangeKind::command;
        }
        // Pipelining: commands sent before the reply to the previous one
        // came (nothing from the server in between) share its group.
        e.group = last_was_client && e.kind == ExchangeKind::command && !ex.empty() ? ex.back().group : ++group;
        ex.push_back(std::move(e));
        waiting.push_back(ex.size() - 1);
        last_was_client = true;
        if (ex.back().kind == ExchangeKind::command) {
            const Command c = parse_command(l.text, {.utf8 = true, .lenient = true});
            if (c.verb == Verb::bdat && c.ok && c.chunk_size > 0) {
                bdat = ex.size() - 1;
                bdat_left = c.chunk_size;
            }
            if (no_replies && c.verb == Verb::data) next = Next::body;
        }
    }
    if (!reply_lines.empty()) deliver(std::nullopt);   // the transcript ends inside a reply
    if (bdat != none && bdat_left > 0) ex[bdat].chunk_short = bdat_left;   // or inside a chunk
    return ex;
}

std::string_view client_line(const Transcript& t, const Exchange& e, std::size_t k) {
    std::string_view l = t.lines[e.client[k]].text;
    if (k + 1 == e.client.size() && e.cut < l.size()) l = l.substr(0, e.cut);
    if (k == 0) l.remove_prefix(std::min(e.from, l.size()));
    return l;
}

std::string client_bytes(const Transcript& t, const Exchange& e) {
    std::string out;
    for (std::size_t k = 0; k < e.client.size(); ++k) {
        out += client_line(t, e, k);
        if (k + 1 < e.client.size() || e.cut == static_cast<std::size_t>(-1))
            out += t.lines[e.client[k]].bare_lf ? "\n" : "\r\n";
    }
    return out;
}

std::string_view command_text(const Transcript& t, const Exchange& e) {
    return e.client.empty() ? std::string_view() : client_line(t, e, 0);
}

Recorder::Recorder(std::string_view peer) : start_(std::chrono::steady_clock::now()) {
    out_ = "# msgtools transcript 1\n= 0.000000 connect ";
    out_ += peer;
    out_ += ' ';
    out_ += format_rfc3339(std::chrono::system_clock::now());
    out_ += '\n';
}

void Recorder::operator()(Wire w, std::string_view text) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char stamp[40];
    std::snprintf(stamp, sizeof stamp, " %.6f ", t);
    out_ += w == Wire::sent ? 'C' : w == Wire::received ? 'S' : '=';
    out_ += stamp;
    // What the client sent is kept as sent, to be replayed; a server's
    // line is shown, never sent: its control bytes (a CR that would end
    // the line for a reader, an ESC for a terminal) are escaped.
    if (w == Wire::sent) out_.append(text);
    else out_ += printable(text);
    out_ += '\n';
}

std::string Recorder::take() {
    std::string s;
    s.swap(out_);
    return s;
}

}  // namespace msg::smtp
