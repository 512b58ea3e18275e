// mbox_parse.cpp - the mbox push parser: RFC 4155 framing in every format
// (mbox.hpp) as a state machine over the bytes it is given. No I/O.
//
// Every position is an archive offset; `base_` is the offset of in[0], so
// that a caller may move the bytes it has not consumed between calls. While
// a message fits in max_message its bytes are held (nothing is consumed
// until it is complete, and it is handed out as views into them); past
// that, the message is skipped: the search for its end goes on, consuming
// all but the few bytes a later decision may look back at.
#include <algorithm>
#include <cstring>
#include <limits>

#include "mbox_frame.hpp"
#include "msg/mbox.hpp"

namespace msg {
namespace {

using mbox_detail::count_newlines;
using mbox_detail::find_from;
using mbox_detail::starts_with_from;

constexpr std::size_t npos = std::string_view::npos;

// A header block is searched for Content-Length over at most this many bytes.
constexpr std::uint64_t kMaxHeader = std::uint64_t{1} << 20;

// One '>' removed from quoted lines: every line matching ^>+From  (mboxrd)
// or ^>From  (mboxo). Appends the result to `out` and the offsets (in
// `data`) of the removed bytes to `removed`; false when nothing is quoted.
bool unquote(std::string_view data, bool rd, std::string& out, std::vector<std::size_t>& removed) {
    std::size_t copied = 0;
    for (std::size_t q = find_from(data.data(), 0, data.size(), ">From "); q != npos;
         q = find_from(data.data(), q + 1, data.size(), ">From ")) {
        std::size_t s = q;
        while (s > 0 && data[s - 1] == '>') --s;
        if (s > 0 && data[s - 1] != '\n') continue;  // not at the start of a line
        if (!rd && s != q) continue;                  // mboxo: exactly one '>'
        if (removed.empty()) {
            out.clear();
            out.reserve(data.size());
        }
        out.append(data.substr(copied, s - copied));
        removed.push_back(s);
        copied = s + 1;
    }
    if (removed.empty()) return false;
    out.append(data.substr(copied));
    return true;
}

bool is_cl_format(MboxFormat f) { return f == MboxFormat::mboxcl || f == MboxFormat::mboxcl2; }

std::uint64_t plus(std::uint64_t a, std::uint64_t b) {  // saturating
    return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

}  // namespace

struct MboxParser::Impl {
    using Event = MboxParser::Event;
    using Step = MboxParser::Step;

    enum class State : std::uint8_t {
        start,       // before the first From_ line
        from_line,   // a message starts at msg_start_: looking for the end of its From_ line
        after_from,  // the 5 bytes after the From_ line: another From_ line makes the message empty
        header,      // Content-Length formats: scanning the header block
        length,      // Content-Length formats: waiting for the bytes after the body it gives
        scan,        // looking for the next From_ line that follows an empty line
        done,        // everything handed out
    };
    // Why Content-Length did not frame the message.
    enum class ClFailure : std::uint8_t { none, no_field, not_number, length, header_too_long };

    MboxFormat format;
    std::uint64_t max_message;
    State state = State::start;
    bool skipping = false;          // the message is too large: its bytes are consumed as they are scanned
    bool leading_skipped = false;   // leading bytes past max_message were consumed
    std::uint64_t base = 0;         // archive offset of in[0]
    std::uint64_t line = 1;         // line number at base
    std::uint64_t index = 0;
    std::uint64_t leading_size = 0;
    std::string_view leading;
    // The message being framed.
    std::uint64_t msg_start = 0, msg_line = 1, from_end = 0;
    std::uint64_t scan = 0;         // where the next search resumes
    std::uint64_t body_start = 0, body_end = 0;  // as Content-Length gives them
    bool cl_pending = false;        // body_end is past max_message: checked when the scan gets there
    bool saw_from = false;          // a "\nFrom " in [from_end, body_end) (detect)
    ClFailure cl_failure = ClFailure::none;
    mbox_detail::HeaderScanner hs;
    std::vector<std::uint64_t> from_lines;  // "From " lines inside the message, not after an empty line
    // A message too large to hold: its From_ line, copied (cut to max_message).
    std::string from_copy;
    bool from_crlf = false;
    std::string unquoted;
    std::vector<std::size_t> removed;

    Impl(MboxFormat f, std::size_t max) : format(f), max_message(max) {}

    std::size_t rel(std::uint64_t abs) const { return static_cast<std::size_t>(abs - base); }
    // The format messages are read in: detect not settled yet gives those
    // both readings frame alike, as mboxrd reads them.
    MboxFormat resolved() const { return format == MboxFormat::detect ? MboxFormat::mboxrd : format; }

    // Drop the first k bytes of `in`.
    void advance(std::string_view in, std::size_t k) {
        line += count_newlines(in.data(), k);
        base += k;
    }

    // While skipping: consume the bytes before `keep` (never past in's end).
    std::size_t skip_to(std::string_view in, std::uint64_t keep) {
        if (keep <= base) return 0;
        const std::size_t k = std::min(rel(keep), in.size());
        advance(in, k);
        return k;
    }

    void begin_message() {
        state = State::from_line;
        msg_start = base;
        msg_line = line;
        scan = base;
        skipping = false;
        cl_pending = false;
        saw_from = false;
        cl_failure = ClFailure::none;
        hs = {};
        from_lines.clear();
    }

    // The From_ line of a held message (from_end known), less "From " and
    // exactly its line break (LF or CRLF): any other CR stays part of it.
    std::string_view held_from_line(std::string_view in, bool& crlf) const {
        const char* w = in.data() + rel(msg_start);
        const std::size_t end = static_cast<std::size_t>(from_end - msg_start);
        std::size_t len = end;
        if (len > 0 && w[len - 1] == '\n') {
            --len;
            if (len > 5 && w[len - 1] == '\r') --len;
        }
        crlf = end >= 2 && w[end - 1] == '\n' && w[end - 2] == '\r';
        return std::string_view(w, len).substr(len >= 5 ? 5 : len);
    }

    // The message is too large: from now on its bytes are consumed as they
    // are scanned. Keep the start of its From_ line (what names the message;
    // a too-large message is only reported, never written, so a From_ line
    // of the limit's size, kept whole, would only double the memory).
    static constexpr std::size_t kFromLineKept = 1000;
    void start_skipping(std::string_view in) {
        skipping = true;
        from_lines.clear();
        from_lines.shrink_to_fit();
        if (state == State::from_line) {  // the From_ line itself is that long
            const std::size_t from = std::min<std::size_t>(rel(msg_start) + 5, in.size());
            from_copy.assign(in.data() + from, std::min<std::uint64_t>({in.size() - from, kFromLineKept, max_message}));
            from_crlf = false;  // until its line break is seen
            return;
        }
        from_copy.assign(held_from_line(in, from_crlf).substr(0, std::min<std::uint64_t>(kFromLineKept, max_message)));
    }

    // Where an empty line ends just before `end` (a From_ line or the end of
    // the archive): its length (1 or 2 for CRLF), or 0 when there is none.
    // (Only what the window holds is looked at: a message too large to hold
    // has had its bytes consumed.)
    int empty_line_before(std::string_view in, std::uint64_t end) const {
        if (end <= from_end || end - base < 2 || in[rel(end) - 1] != '\n') return 0;
        if (in[rel(end) - 2] == '\n') return 1;
        if (end - 2 >= from_end && end - base >= 3 && in[rel(end) - 2] == '\r' && in[rel(end) - 3] == '\n') return 2;
        return 0;
    }

    // Does the body Content-Length gives end where a message can end: at
    // the end of the archive, at an empty line and the end or "From ", or
    // directly at "From "? `in` holds the bytes up to body_end + 7 or to eof.
    bool frames_at_body_end(std::string_view in, std::uint64_t& next_from, int& sep) const {
        if (body_end > base + in.size()) return false;
        const std::string_view rest = in.substr(rel(body_end));
        sep = 0;
        if (rest.empty()) {
            next_from = body_end;
        } else if (rest == "\n" || rest == "\r\n" || rest.starts_with("\nFrom ") || rest.starts_with("\r\nFrom ")) {
            sep = rest[0] == '\r' ? 2 : 1;
            next_from = body_end + static_cast<std::uint64_t>(sep);
        } else if (starts_with_from(rest) && at_line_start(in, body_end)) {
            // (A "From " inside a line starts no message, whatever the count says.)
            next_from = body_end;
        } else {
            return false;
        }
        return true;
    }
    bool at_line_start(std::string_view in, std::uint64_t at) const {
        return at == from_end || (at > base && in[rel(at) - 1] == '\n');
    }

    // Is `at` (a From_ line, or the end of the archive) after an empty line,
    // as a From_ line format needs? The end of the archive always is.
    bool after_empty_line(std::string_view in, std::uint64_t at) const {
        return rel(at) == in.size() || empty_line_before(in, at) > 0;
    }

    // Detect mode, a message Content-Length frames: which format it tells.
    // mboxcl2 when the count frames it where the From_ lines would not (its
    // body holds a "From " line, or the next From_ line does not follow an
    // empty line); mboxrd when the two readings frame it alike but give
    // other bytes (a quoted ">From " line, or a last empty line mboxrd
    // takes for the separator); detect (not settled) when both give the
    // same message.
    MboxFormat told(std::string_view in, std::uint64_t msg_end, std::uint64_t next_from, int sep) const {
        const char* p = in.data();
        const bool last = rel(next_from) == in.size();
        if (find_from(p, rel(from_end), rel(msg_end), "\nFrom ") != npos) return MboxFormat::mboxcl2;
        const std::size_t blank = empty_line_before(in, next_from);
        if (!last && blank == 0) return MboxFormat::mboxcl2;
        if (sep == 0 && blank > 0) return MboxFormat::mboxrd;  // mboxrd's separator is the body's last line
        if (sep > 0 && !at_line_start(in, msg_end)) return MboxFormat::mboxrd;  // mboxrd's last line break is the body's
        for (std::size_t q = find_from(p, rel(from_end), rel(msg_end), ">From "); q != npos;
             q = find_from(p, q + 1, rel(msg_end), ">From ")) {
            std::size_t b = q;
            while (b > rel(from_end) && p[b - 1] == '>') --b;
            if (b == rel(from_end) || p[b - 1] == '\n') return MboxFormat::mboxrd;
        }
        return MboxFormat::detect;
    }

    // Content-Length does not frame the message: its From_ lines do. In
    // detect mode that settles the format (mboxrd, no defect).
    void cl_failed(ClFailure why) {
        if (format == MboxFormat::detect) format = MboxFormat::mboxrd;
        else cl_failure = why;
        cl_pending = false;
    }
    // ... found before the scan for From_ lines began: it begins.
    void not_framed(ClFailure why) {
        cl_failed(why);
        state = State::scan;
        scan = std::max(from_end - 1, base);
    }

    std::string cl_detail(std::uint64_t msg_end) const {
        switch (cl_failure) {
        case ClFailure::no_field: return "no Content-Length field";
        case ClFailure::not_number: return "Content-Length is not a number";
        case ClFailure::header_too_long:
            return "the header block is longer than " +
                   std::to_string(std::min(kMaxHeader, max_message)) + " bytes";
        case ClFailure::length:
        case ClFailure::none: break;
        }
        const std::uint64_t body = msg_end - std::min(msg_end, body_start);
        return "Content-Length " + std::to_string(hs.h.cl) + ", the body has " + std::to_string(body) +
               " bytes up to the next From_ line";
    }

    Step finish(std::string_view in, MboxMessage& out, std::uint64_t msg_end, std::uint64_t next_from, int sep);
    Step put(std::string_view in, bool eof, MboxMessage& out);
};

MboxParser::Step MboxParser::Impl::finish(std::string_view in, MboxMessage& out, std::uint64_t msg_end,
                                          std::uint64_t next_from, int sep) {
    out.defects.clear();
    out.index = index++;
    out.offset = msg_start;
    out.line = msg_line;
    out.data_offset = from_end;
    out.data_line = msg_line + 1;
    out.data_end = msg_end;
    out.separator = sep > 0;
    out.separator_crlf = sep == 2;
    out.format = resolved();
    out.unquoted = false;
    out.unquoted_lines.clear();
    const std::uint64_t size = msg_end - msg_start;
    out.too_large = skipping || size > max_message;
    if (out.too_large) {
        if (!skipping) start_skipping(in);  // held, but a few bytes over the limit
        out.from_line = from_copy;
        out.from_crlf = from_crlf;
        out.data = {};
        out.defects.push_back({DefectCode::MboxMessageTooLarge, 0,
                               std::to_string(size) + " bytes, more than the limit of " +
                                   std::to_string(max_message)});
    } else {
        out.from_line = held_from_line(in, out.from_crlf);
        std::string_view data(in.data() + rel(from_end), static_cast<std::size_t>(msg_end - from_end));
        if (cl_failure != ClFailure::none && is_cl_format(format) && msg_end > from_end)
            out.defects.push_back({DefectCode::MboxContentLengthMismatch,
                                   hs.h.cl_present ? hs.h.cl_offset : 0, cl_detail(msg_end)});
        if (format == MboxFormat::mboxrd || format == MboxFormat::mboxo)
            for (std::uint64_t p : from_lines)
                if (p < msg_end) out.defects.push_back({DefectCode::MboxUnquotedFrom, static_cast<std::size_t>(p - from_end), {}});
        removed.clear();
        if (format != MboxFormat::mboxcl2 && unquote(data, format == MboxFormat::mboxrd, unquoted, removed)) {
            data = unquoted;
            out.unquoted = true;
            // Defect offsets are into the unquoted copy.
            for (Defect& d : out.defects)
                d.offset -= static_cast<std::size_t>(
                    std::lower_bound(removed.begin(), removed.end(), d.offset) - removed.begin());
            out.unquoted_lines.resize(removed.size());
            for (std::size_t k = 0; k < removed.size(); ++k) out.unquoted_lines[k] = removed[k] - k;
        }
        out.data = data;
    }
    const std::size_t consumed = rel(next_from);
    advance(in, consumed);
    begin_message();
    return {Event::message, consumed};
}

MboxParser::Step MboxParser::Impl::put(std::string_view in, bool eof, MboxMessage& out) {
    const char* p = in.data();
    const std::size_t n = in.size();
    const std::uint64_t end = base + n;
    for (;;) {
        switch (state) {
        case State::start: {
            // The first From_ line: at the start of the archive, or any line
            // that begins "From ".
            std::size_t q = npos;
            if (base == 0) {
                if (n < 5 && !eof && (n == 0 || std::memcmp(p, "From ", n) == 0)) return {Event::need_more, 0};
                if (starts_with_from(in)) q = 0;
            }
            if (q == npos) {
                const std::size_t f = find_from(p, rel(scan), n, "\nFrom ");
                if (f != npos) q = f + 1;
                else scan = base + std::max(rel(scan), n >= 5 ? n - 5 : 0);
            }
            if (q == 0) {
                begin_message();
                continue;
            }
            if (q == npos && !eof) {
                if (n <= plus(max_message, 5)) return {Event::need_more, 0};
                // More leading bytes than are kept: skip them.
                const std::size_t k = n - 5;
                leading_skipped = true;
                leading_size += k;
                advance(in, k);
                scan = base;
                return {Event::need_more, k};
            }
            if (q == npos) q = n;  // eof: every byte is leading
            leading_size += q;
            if (leading_size == 0) {  // an empty archive
                state = State::done;
                return {Event::end, 0};
            }
            leading = leading_skipped || leading_size > max_message ? std::string_view() : in.substr(0, q);
            advance(in, q);
            if (q < n || !eof) begin_message();
            else state = State::done;
            return {Event::leading, q};
        }

        case State::from_line: {
            if (n == 0 && !skipping) {  // between messages
                if (!eof) return {Event::need_more, 0};
                state = State::done;
                continue;
            }
            const std::size_t from = std::min(rel(scan), n);
            const void* nl = std::memchr(p + from, '\n', n - from);
            if (nl || eof) {
                from_end = nl ? base + static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1 : end;
                if (skipping) {
                    // The copy of the From_ line was cut long before here;
                    // only its line break is still to be seen.
                    const std::size_t fe = rel(from_end);
                    from_crlf = fe >= 2 && p[fe - 1] == '\n' && p[fe - 2] == '\r';
                }
                state = State::after_from;
                continue;
            }
            scan = end;
            if (!skipping && end - msg_start > plus(max_message, 5)) start_skipping(in);
            if (!skipping) return {Event::need_more, 0};
            // Keep the last two bytes: the line break may be CRLF.
            return {Event::need_more, skip_to(in, end >= 2 ? end - 2 : 0)};
        }

        case State::after_from: {
            const std::size_t fe = rel(from_end);
            // A From_ line that already takes more than the limit makes the
            // message too large, whether or not the bytes after it are here
            // yet: decided before looking at them, so that how the archive
            // is cut into reads changes nothing (a message skipped is framed
            // by its From_ lines and settles no format).
            if (!skipping && from_end - msg_start > max_message) start_skipping(in);
            if (n - fe < 5 && !eof) {
                if (!skipping) return {Event::need_more, 0};
                return {Event::need_more, skip_to(in, from_end - 1)};
            }
            if (starts_with_from(in.substr(fe))) {
                // An empty message: the next From_ line follows at once (in
                // every format: detect stays unsettled).
                return finish(in, out, from_end, from_end, 0);
            }
            if (!skipping && (format == MboxFormat::detect || is_cl_format(format))) {
                state = State::header;
                continue;
            }
            // A message too large to hold is framed by its From_ lines (its
            // bytes are not held: detect is not settled by it).
            state = State::scan;
            scan = std::max(from_end - 1, base);
            continue;
        }

        case State::header: {
            // The header block must end within kMaxHeader bytes and within
            // max_message of the message's start.
            const std::uint64_t cap =
                std::max(from_end, std::min(plus(from_end, kMaxHeader), plus(msg_start, max_message)));
            const bool capped = cap < end;
            const std::size_t fe = rel(from_end);
            const std::size_t lim = capped ? rel(cap) : n;
            if (!hs.step(in.substr(fe, lim - fe), eof && !capped)) {
                if (end < cap) return {Event::need_more, 0};
                not_framed(ClFailure::header_too_long);
                continue;
            }
            if (!hs.h.cl_present) {
                not_framed(ClFailure::no_field);
                continue;
            }
            if (!hs.h.cl_valid) {
                not_framed(ClFailure::not_number);
                continue;
            }
            body_start = from_end + hs.h.body_start;
            body_end = body_start + hs.h.cl;  // at most 18 digits: no overflow
            if (body_end - msg_start > max_message) {
                // Too large to hold up to body_end: see where the scan for
                // From_ lines gets first.
                cl_pending = true;
                state = State::scan;
                scan = std::max(from_end - 1, base);
                continue;
            }
            state = State::length;
            continue;
        }

        case State::length: {
            if (end < body_end + 7 && !eof) return {Event::need_more, 0};
            std::uint64_t next_from = 0;
            int sep = 0;
            if (frames_at_body_end(in, next_from, sep)) {
                std::uint64_t msg_end = body_end;
                // A message without a body: the empty line after its header
                // block is the separator, not the start of an empty body.
                if (hs.h.cl == 0 && hs.h.blank_len > 0 && sep == 0) {
                    msg_end = body_start - hs.h.blank_len;
                    sep = static_cast<int>(hs.h.blank_len);
                }
                if (format != MboxFormat::detect) return finish(in, out, msg_end, next_from, sep);
                // mboxcl2 only on evidence (told()): many mboxrd writers add an
                // exact Content-Length too, and reading those as mboxcl2 would
                // leave their ">From " lines quoted. A message both readings
                // give alike leaves the question to the next one.
                const MboxFormat t = told(in, msg_end, next_from, sep);
                if (t != MboxFormat::mboxrd) {
                    format = t;
                    return finish(in, out, msg_end, next_from, sep);
                }
            }
            not_framed(ClFailure::length);
            continue;
        }

        case State::scan: {
            // With Content-Length pending, only From_ lines that start
            // before body_end are looked for until the bytes there are seen.
            std::size_t limit = n;
            if (cl_pending && plus(body_end, 4) < end) limit = rel(body_end + 4);
            std::size_t from = std::min(rel(std::max(scan, base)), limit);
            for (;;) {
                const std::size_t q = find_from(p, from, limit, "\nFrom ");
                if (q == npos) break;
                // The line before must be empty: "\n\nFrom " or "\n\r\nFrom ".
                if ((q >= 1 && p[q - 1] == '\n') || (q >= 2 && p[q - 1] == '\r' && p[q - 2] == '\n')) {
                    // One at the end Content-Length gives: the count decides, below.
                    if (cl_pending && base + q + 1 >= body_end) break;
                    if (cl_pending) cl_failed(ClFailure::length);  // a From_ line before the end Content-Length gives wins
                    const std::uint64_t next_from = base + q + 1;
                    const int sep = empty_line_before(in, next_from);
                    return finish(in, out, next_from - static_cast<std::uint64_t>(sep), next_from, sep);
                }
                // A "From " line inside the message (searches overlap: once each).
                const std::uint64_t at = base + q + 1;
                if (!skipping && at >= from_end && (from_lines.empty() || from_lines.back() < at))
                    from_lines.push_back(at);
                if (cl_pending && at > from_end && at + 5 <= body_end) saw_from = true;
                from = q + 1;
            }
            scan = base + std::max(from, limit >= 5 ? limit - 5 : 0);
            if (cl_pending && (end >= plus(body_end, 7) || eof)) {
                // No From_ line starts a message before body_end: Content-Length decides.
                std::uint64_t next_from = 0;
                int sep = 0;
                if (frames_at_body_end(in, next_from, sep)) {
                    // detect, the message's bytes not held: mboxcl2 when the
                    // From_ lines would frame it elsewhere (a "From " line in
                    // its body, or the next From_ line after a line of
                    // text); else both frame it alike, and it settles nothing.
                    if (format == MboxFormat::detect && (saw_from || !after_empty_line(in, next_from)))
                        format = MboxFormat::mboxcl2;
                    cl_pending = false;
                    return finish(in, out, body_end, next_from, sep);
                }
                cl_failed(ClFailure::length);
                continue;
            }
            if (eof) {
                const int sep = empty_line_before(in, end);
                return finish(in, out, end - static_cast<std::uint64_t>(sep), end, sep);
            }
            if (!skipping && end - msg_start > plus(max_message, 8)) start_skipping(in);
            if (!skipping) return {Event::need_more, 0};
            // Keep what a match still to be found looks back at (and the
            // bytes before body_end that say how a line ends there).
            std::uint64_t keep = scan >= 8 ? scan - 8 : 0;
            if (cl_pending) keep = std::min(keep, body_end >= 3 ? body_end - 3 : 0);
            return {Event::need_more, skip_to(in, keep)};
        }

        case State::done:
            return {Event::end, 0};
        }
    }
}

MboxParser::MboxParser(const MboxOptions& options)
    : impl_(std::make_unique<Impl>(options.format, options.max_message)) {}
MboxParser::MboxParser(MboxParser&&) noexcept = default;
MboxParser& MboxParser::operator=(MboxParser&&) noexcept = default;
MboxParser::~MboxParser() = default;

MboxParser::Step MboxParser::put(std::string_view in, bool eof, MboxMessage& out) { return impl_->put(in, eof, out); }
std::string_view MboxParser::leading() const { return impl_->leading; }
std::uint64_t MboxParser::leading_size() const { return impl_->leading_size; }
MboxFormat MboxParser::format() const { return impl_->resolved(); }
std::uint64_t MboxParser::offset() const { return impl_->base; }
std::uint64_t MboxParser::line_breaks() const { return impl_->line - 1; }
std::optional<MboxParser::Pending> MboxParser::pending() const {
    if (impl_->state == Impl::State::start || impl_->state == Impl::State::done) return std::nullopt;
    return Pending{impl_->index, impl_->msg_start, impl_->msg_line};
}

}  // namespace msg
