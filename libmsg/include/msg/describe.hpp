// describe.hpp - a parsed message described for people and programs: its
// JSON record (msgshow --json, docs/json.md), totals over many messages
// (msgshow --stats), and how files uuencoded into a text part are named
// ("2.u1": the first file in the text of section 2).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "msg/defect.hpp"
#include "msg/message.hpp"

namespace msg {

// The section of the k-th (from 0) file uuencoded into `section`'s text.
std::string uu_section(std::string_view section, std::size_t k);
// "2.u1" -> section "2" and file 1 (from 1); false when `s` names no
// uuencoded file.
bool split_uu_section(std::string_view s, std::string& section, std::size_t& n);
// What leaf `i` holds, read in slices whatever its size: the size of its
// decoded content and, with `digests`, its SHA-256 (hex); the same for
// each file uuencoded into it, with its name and mode.
struct ContentSummary {
    std::string name, mode;  // a uuencoded file's; empty for the leaf itself
    std::uint64_t size = 0;
    std::string sha256;
};
struct LeafSummary {
    ContentSummary content;
    std::vector<ContentSummary> files;
};
LeafSummary summarize_leaf(const Message& m, std::size_t i, bool digests, Defects* defects = nullptr);
// The bytes of the n-th (from 1) file uuencoded into leaf `i`, in slices;
// false when it has no such file.
bool read_uu_file(const Message& m, std::size_t i, std::size_t n, const std::function<void(std::string_view)>& sink,
                  Defects* defects = nullptr);
// An extension for a part that came without a filename, from its type
// (".txt", ".html", ".pdf", ".eml", ... ".bin").
std::string_view extension_for(const Entity& e);

// The message as one JSON object: {"source", "index", "headers": [{"name",
// "value"}], "parts": [{"section", "type", "charset", "encoding",
// "disposition", "filename", "size", "sha256", "uuencoded"?}]}, header
// values decoded to UTF-8, sizes and digests of the decoded content. The
// defects found while decoding are added to `defects`.
std::string message_json(const Message& m, std::string_view source, std::uint64_t index, Defects* defects = nullptr);

// Totals over messages: messages, entities, leaf parts, decoded bytes,
// defects, and leaf parts by media type.
class MessageStats {
public:
    // Count `m`; decoding it adds to `defects` (which are counted too,
    // with the message's own).
    void add(const Message& m, Defects* defects = nullptr);
    // "messages: N\nparts: ...\ncontent types:\n  N type\n..." (the
    // types by count, most first).
    std::string text() const;
    // Add the counts of `other` (of other messages, e.g. counted in
    // another thread): as if its messages had been added here.
    void merge(const MessageStats& other);

    std::uint64_t messages = 0, parts = 0, leaves = 0, bytes = 0, defects = 0;
    std::map<std::string, std::uint64_t> types;
};

}  // namespace msg
