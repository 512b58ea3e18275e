// describe.cpp - JSON records, totals and uuencoded sections (describe.hpp).
#include "msg/describe.hpp"

#include <algorithm>
#include <optional>

#include "msg/charset.hpp"
#include "msg/digest.hpp"
#include "msg/header.hpp"
#include "msg/json.hpp"

namespace msg {

std::string uu_section(std::string_view section, std::size_t k) {
    return std::string(section) + ".u" + std::to_string(k + 1);
}

bool split_uu_section(std::string_view s, std::string& section, std::size_t& n) {
    const std::size_t dot = s.rfind(".u");
    if (dot == std::string_view::npos || dot + 2 >= s.size()) return false;
    n = 0;
    for (char c : s.substr(dot + 2)) {
        if (c < '0' || c > '9' || n > 100000) return false;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    section = std::string(s.substr(0, dot));
    return n > 0;
}

LeafSummary summarize_leaf(const Message& m, std::size_t i, bool digests, Defects* defects) {
    // The lambdas hold one pointer each: no std::function allocates.
    struct State {
        LeafSummary s;
        std::optional<Sha256> leaf, file;
        bool digests;
    } st{{}, {}, {}, digests};
    if (digests) st.leaf.emplace();
    UuScanner::Handler uu;
    uu.begin = [p = &st](const UuBlock& b) {
        p->s.files.push_back({b.name, b.mode, 0, {}});
        if (p->digests) p->file.emplace();
    };
    uu.data = [p = &st](std::string_view bytes) {
        p->s.files.back().size += bytes.size();
        if (p->file) p->file->update(bytes);
    };
    uu.end = [p = &st](const UuBlock&, const DecodeStatus&) {
        if (p->file) p->s.files.back().sha256 = p->file->hex();
    };
    m.decode_each(m.entity(i), [p = &st](std::string_view slice) {
        p->s.content.size += slice.size();
        if (p->leaf) p->leaf->update(slice);
    }, defects, uu);
    if (st.leaf) st.s.content.sha256 = st.leaf->hex();
    return std::move(st.s);
}

bool read_uu_file(const Message& m, std::size_t i, std::size_t n, const std::function<void(std::string_view)>& sink,
                  Defects* defects) {
    std::size_t k = 0;
    UuScanner::Handler uu;
    uu.begin = [&](const UuBlock&) { ++k; };
    uu.data = [&](std::string_view bytes) {
        if (k == n) sink(bytes);
    };
    m.decode_each(m.entity(i), [](std::string_view) {}, defects, uu);
    return n >= 1 && k >= n;
}

std::string_view extension_for(const Entity& e) {
    // The types that most often come without a filename.
    static const struct {
        std::string_view type, ext;
    } table[] = {
        {"text/plain", ".txt"},      {"text/html", ".html"},        {"text/calendar", ".ics"},
        {"text/csv", ".csv"},        {"image/png", ".png"},         {"image/jpeg", ".jpg"},
        {"image/gif", ".gif"},       {"application/pdf", ".pdf"},   {"application/zip", ".zip"},
        {"application/json", ".json"}, {"message/delivery-status", ".txt"},
    };
    const std::string type = e.content_type.mime_type();
    for (const auto& t : table)
        if (type == t.type) return t.ext;
    if (e.content_type.type == "message") return ".eml";
    return ".bin";
}

std::string message_json(const Message& m, std::string_view source, std::uint64_t index, Defects* defects) {
    Json j;
    j.begin_object().key("source").value(source).key("index").value(index).key("headers").begin_array();
    for (const HeaderField& f : m.headers())
        j.begin_object().key("name").value(f.name).key("value").value(decode_field_text(f.name, f.value)).end_object();
    j.end_array().key("parts").begin_array();
    for (std::size_t i : m.leaves()) {
        const Entity& e = m.entity(i);
        const LeafSummary leaf = summarize_leaf(m, i, true, defects);
        auto or_null = [&](std::string_view key, const std::string& v) {
            j.key(key);
            if (v.empty()) j.null();
            else j.value(v);
        };
        j.begin_object().key("section").value(m.section(i)).key("type").value(e.content_type.mime_type());
        or_null("charset", m.charset(e));
        j.key("encoding").value(transfer_encoding_name(e.encoding));
        or_null("disposition", e.has_disposition ? e.disposition.type : std::string());
        or_null("filename", m.filename(e));
        j.key("size").value(leaf.content.size).key("sha256").value(leaf.content.sha256);
        if (!leaf.files.empty()) {
            j.key("uuencoded").begin_array();
            for (std::size_t k = 0; k < leaf.files.size(); ++k)
                j.begin_object()
                    .key("section").value(uu_section(m.section(i), k))
                    .key("filename").value(leaf.files[k].name)
                    .key("mode").value(leaf.files[k].mode)
                    .key("size").value(leaf.files[k].size)
                    .key("sha256").value(leaf.files[k].sha256)
                    .end_object();
            j.end_array();
        }
        j.end_object();
    }
    j.end_array().end_object();
    return j.str();
}

void MessageStats::add(const Message& m, Defects* out) {
    ++messages;
    parts += m.entities().size();
    Defects found;
    for (std::size_t i : m.leaves()) {
        ++leaves;
        // In slices: a body of any size costs a window of memory. Files
        // uuencoded into text are looked for, as msgshow and msgcheck look,
        // so that a damaged one counts here too.
        m.decode_each(m.entity(i), [&](std::string_view slice) { bytes += slice.size(); }, &found, UuScanner::Handler{});
        const ContentType& t = m.entity(i).content_type;
        std::string key;
        key.reserve(t.type.size() + 1 + t.subtype.size());
        key.append(t.type).append("/").append(t.subtype);
        ++types[key];
    }
    defects += m.defects().size() + found.size();
    if (out) out->insert(out->end(), found.begin(), found.end());
}

void MessageStats::merge(const MessageStats& other) {
    messages += other.messages;
    parts += other.parts;
    leaves += other.leaves;
    bytes += other.bytes;
    defects += other.defects;
    for (const auto& [type, n] : other.types) types[type] += n;
}

std::string MessageStats::text() const {
    std::string out = "messages: " + std::to_string(messages) + "\nparts: " + std::to_string(parts) +
                      "\nleaf parts: " + std::to_string(leaves) + "\ndecoded bytes: " + std::to_string(bytes) +
                      "\ndefects: " + std::to_string(defects) + "\ncontent types:\n";
    std::vector<std::pair<std::string, std::uint64_t>> t(types.begin(), types.end());
    std::stable_sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [type, n] : t) {
        // From the messages: escaped as everywhere text is shown.
        out += "  " + std::to_string(n) + ' ' + printable(type) + '\n';
    }
    return out;
}

}  // namespace msg
