// show.hpp - msgshow's views of a parsed message.
#pragma once

#include <msg/describe.hpp>
#include <msg/message.hpp>

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "msg/files.hpp"
#include "common/inputs.hpp"

namespace msgtools {

enum class Mode { tree, json, stats, extract, extract_all };

struct ShowOptions {
    Mode mode = Mode::tree;
    bool headers = false;   // with tree: decoded header fields first
    std::string section;    // extract
    std::string dir;        // extract_all
};

class Shower {
public:
    Shower(std::ostream& out, bool quiet) : out_(out), quiet_(quiet) {}
    // Show one message; returns an exit code. defects() then holds the
    // parser's defects and those found while decoding.
    int show(const msg::Message& m, const InputMessage& in, const ShowOptions& o);
    const msg::Defects& defects() const { return defects_; }
    void print_stats() const;
    // After the last message: --extract-all's files made durable, once for
    // the run (syncfs of their directory). An exit code.
    int finish();
    // Add the counts of another Shower's --stats (of other messages).
    void merge_stats(const Shower& other) { stats_.merge(other.stats_); }
    // --stats: an archive's message too large to read, counted as a message
    // with one defect (mbox.message-too-large) and no parts.
    void count_too_large() {
        ++stats_.messages;
        ++stats_.defects;
    }

private:
    // Leaves are decoded in slices (a part of any size costs a window of
    // memory), adding their defects to defects_. Files uuencoded into a
    // text/plain leaf S are shown as sections "S.u1", "S.u2", ...
    void write_out(std::string_view bytes);
    void tree(const msg::Message& m, const InputMessage& in, bool headers);
    void json(const msg::Message& m, const InputMessage& in);
    void stats(const msg::Message& m);
    int extract(const msg::Message& m, const InputMessage& in, const std::string& section);
    int extract_all(const msg::Message& m, const InputMessage& in, const std::string& dir);

    std::ostream& out_;
    bool quiet_;
    msg::Defects defects_;
    std::uint64_t messages_ = 0;   // shown in the tree
    msg::MessageStats stats_;
    std::optional<std::pair<std::string, msg::NewFiles>> files_;   // --extract-all's directory
};

}  // namespace msgtools
