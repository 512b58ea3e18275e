// mbox_feed.hpp - feeds an archive to msg::MboxParser in given pieces, the
// way a reader does, and records what it hands out, one line of text per
// event; checks the parser's promises on the way. Shared by the unit tests,
// the RapidCheck properties and the fuzz target (no test framework here).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "msg/mbox.hpp"

namespace msg_test {

// Every field of a message on one line; the data itself when short, else
// its size, hash and ends.
inline std::string describe(const msg::MboxMessage& m) {
    std::string s = "message " + std::to_string(m.index) + " offset " + std::to_string(m.offset) + " line " +
                    std::to_string(m.line) + " data " + std::to_string(m.data_offset) + ".." +
                    std::to_string(m.data_end) + " line " + std::to_string(m.data_line) + " format " +
                    std::string(msg::format_name(m.format)) + (m.unquoted ? " unquoted" : "") +
                    (m.from_crlf ? " from-crlf" : "") + (m.separator ? " separator" : "") +
                    (m.separator_crlf ? " separator-crlf" : "") + (m.too_large ? " too-large" : "") +
                    " from_line [" + std::string(m.from_line) + "]";
    for (const msg::Defect& d : m.defects)
        s += " defect " + std::string(d.info().code) + "@" + std::to_string(d.offset) + " " + d.detail;
    if (m.data.size() <= 64)
        s += " data [" + std::string(m.data) + "]";
    else
        s += " data " + std::to_string(m.data.size()) + " bytes #" +
             std::to_string(std::hash<std::string_view>{}(m.data)) + " [" + std::string(m.data.substr(0, 24)) +
             "..." + std::string(m.data.substr(m.data.size() - 24)) + "]";
    return s;
}

struct MboxEvents {
    std::vector<std::string> events;     // "leading SIZE [bytes]", describe(message)
    std::vector<std::uint64_t> offsets;  // of the messages
    std::uint64_t leading_size = 0;
    msg::MboxFormat format = msg::MboxFormat::detect;
    std::string broken;                  // a promise the parser broke, or empty

    bool operator==(const MboxEvents&) const = default;
};

// Feed `archive` in pieces ending at `cuts` (ascending; the end of the
// archive is always the last one): a window holds the bytes not consumed
// and the next piece is appended when the parser needs more. The bytes not
// consumed move between calls (the parser must keep no pointers); with
// `exact`, each call is given a copy in a buffer of exactly its size, so
// that a sanitizer sees any read past it.
inline MboxEvents feed(std::string_view archive, const msg::MboxOptions& o, const std::vector<std::size_t>& cuts,
                       bool exact = false) {
    MboxEvents run;
    msg::MboxParser parser(o);
    msg::MboxMessage m;
    std::string window;
    std::size_t start = 0;   // window[start..] is not consumed
    std::size_t given = 0;   // archive bytes appended to the window
    std::uint64_t consumed = 0, breaks = 0;   // bytes consumed, line breaks in them
    std::size_t next_cut = 0;
    std::unique_ptr<char[]> copy;
    for (std::uint64_t calls = 0;; ++calls) {
        if (calls > 4 * archive.size() + 100) {
            run.broken = "no progress";
            return run;
        }
        const bool eof = given == archive.size();
        std::string_view in = std::string_view(window).substr(start);
        if (exact) {
            copy.reset(new char[in.size()]);
            in.copy(copy.get(), in.size());
            in = std::string_view(copy.get(), in.size());
        }
        const msg::MboxParser::Step s = parser.put(in, eof, m);
        if (s.consumed > in.size()) {
            run.broken = "consumed more than it was given";
            return run;
        }
        if (s.event == msg::MboxParser::Event::message) {
            run.events.push_back(describe(m));
            run.offsets.push_back(m.offset);
            if (m.data_offset < m.offset || m.data_end < m.data_offset || m.data_end > archive.size() ||
                m.data.size() > m.data_end - m.data_offset)
                run.broken = "offsets out of order or out of the archive";
        }
        if (s.event == msg::MboxParser::Event::leading)
            run.events.push_back("leading " + std::to_string(parser.leading_size()) + " [" +
                                 std::string(parser.leading()) + "]");
        start += s.consumed;
        breaks += static_cast<std::uint64_t>(std::count(archive.begin() + static_cast<std::ptrdiff_t>(consumed),
                                                        archive.begin() + static_cast<std::ptrdiff_t>(consumed + s.consumed), '\n'));
        consumed += s.consumed;
        if (parser.offset() != consumed) run.broken = "offset() is not the bytes consumed";
        if (parser.line_breaks() != breaks) run.broken = "line_breaks() is not those of the bytes consumed";
        if (s.event == msg::MboxParser::Event::end) break;
        if (s.event != msg::MboxParser::Event::need_more) continue;
        if (eof) {
            run.broken = "need_more at eof";
            return run;
        }
        if (s.consumed == 0 && in.size() >= o.max_message && in.size() - o.max_message >= 16)
            run.broken = "held more than the limit allows";
        window.erase(0, start);
        start = 0;
        while (next_cut < cuts.size() && cuts[next_cut] <= given) ++next_cut;
        const std::size_t to = next_cut < cuts.size() ? cuts[next_cut] : archive.size();
        window.append(archive.substr(given, to - given));
        given = to;
    }
    if (parser.put({}, true, m).event != msg::MboxParser::Event::end) run.broken = "no end after the end";
    run.leading_size = parser.leading_size();
    run.format = parser.format();
    return run;
}

inline MboxEvents feed_at_once(std::string_view archive, const msg::MboxOptions& o, bool exact = false) {
    return feed(archive, o, {archive.size()}, exact);
}

}  // namespace msg_test
