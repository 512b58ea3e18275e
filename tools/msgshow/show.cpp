// show.cpp - tree, headers, JSON, stats and extraction for msgshow.
#include "msgshow/show.hpp"

#include <msg/header.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <vector>

#include "common/cli.hpp"
#include "common/exit.hpp"
#include "msg/files.hpp"
#include <msg/json.hpp>
#include <msg/digest.hpp>

namespace msgtools {
namespace {

// Control bytes would reach the terminal: show them as '?'.
std::string printable(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = c == '\t' ? ' ' : '?';
    return out;
}

std::string title(const InputMessage& in) {
    if (!in.from_mbox) return in.file;
    return in.file + " #" + std::to_string(in.index) + " (line " +
           std::to_string(in.first_line - 1) + ")";
}

const char* extension_for(const msg::Entity& e) {
    // A short table of the types that most often come without a filename.
    static const struct { const char* type; const char* ext; } table[] = {
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

}  // namespace

const std::string& Shower::decode(const msg::Message& m, std::size_t i) {
    scratch_.clear();
    m.decode(m.entity(i), scratch_, &defects_);
    return scratch_;
}

std::vector<msg::Message::UuFile> Shower::uu_files(const msg::Message& m, std::size_t i, std::string_view content) {
    const msg::Entity& e = m.entity(i);
    if (!e.content_type.is("text", "plain")) return {};
    return m.uu_files(e, content, &defects_);
}

namespace {

// "2.u1" -> section "2" and file 1; false when `s` names no uuencoded file.
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

std::string uu_section(const std::string& section, std::size_t k) { return section + ".u" + std::to_string(k + 1); }

}  // namespace

int Shower::show(const msg::Message& m, const InputMessage& in, const ShowOptions& o) {
    defects_ = m.defects();
    switch (o.mode) {
    case Mode::tree: tree(m, in, o.headers); return exit_code::ok;
    case Mode::json: json(m, in); return exit_code::ok;
    case Mode::stats: stats(m); return exit_code::ok;
    case Mode::extract: return extract(m, in, o.section);
    case Mode::extract_all: return extract_all(m, in, o.dir);
    }
    return exit_code::ok;
}

void Shower::tree(const msg::Message& m, const InputMessage& in, bool headers) {
    if (messages_++ > 0) out_ << '\n';
    out_ << title(in) << '\n';
    if (headers) {
        for (const msg::HeaderField& f : m.headers())
            out_ << "  " << printable(f.name) << ": "
                 << printable(msg::decode_header_text(f.value)) << '\n';
        out_ << '\n';
    }
    auto row = [&](const std::string& sec, const std::string& type, const std::string& charset,
                   std::string_view enc, const std::string& size, const std::string& filename) {
        char line[512];
        std::snprintf(line, sizeof line, "  %-10s %-38s %-12s %-16s %10s  %s\n", sec.c_str(),
                      printable(type).c_str(), printable(charset).c_str(), std::string(enc).c_str(),
                      size.c_str(), printable(filename).c_str());
        std::string_view l(line);
        while (l.size() > 1 && l[l.size() - 2] == ' ') {  // no trailing blanks
            l.remove_suffix(1);
            const_cast<char*>(l.data())[l.size() - 1] = '\n';
        }
        out_ << l;
    };
    row("SECTION", "TYPE", "CHARSET", "ENCODING", "SIZE", "FILENAME");
    for (std::size_t i = 0; i < m.entities().size(); ++i) {
        const msg::Entity& e = m.entity(i);
        std::string sec = m.section(i);
        if (sec.empty() || e.kind != msg::EntityKind::leaf) {
            // containers: a multipart sharing its context's number shows "-"
            bool shared = e.kind == msg::EntityKind::multipart &&
                          (e.parent < 0 || m.entity(static_cast<std::size_t>(e.parent)).kind ==
                                               msg::EntityKind::message);
            if (shared) sec.assign(1, '-');  // not = "-": GCC 12 warns falsely (-Wrestrict)
        }
        std::string type = std::string(2 * e.depth, ' ') + e.content_type.mime_type();
        std::string size, charset = "-", enc = "-";
        std::vector<msg::Message::UuFile> files;
        if (e.kind == msg::EntityKind::leaf) {
            const std::string& content = decode(m, i);
            size = std::to_string(content.size());
            files = uu_files(m, i, content);
            enc = std::string(msg::transfer_encoding_name(e.encoding));
            std::string cs = m.charset(e);
            if (!cs.empty()) charset = cs;
        }
        row(sec, type, charset, enc, size, m.filename(e));
        for (std::size_t k = 0; k < files.size(); ++k)
            row(uu_section(sec, k), std::string(2 * e.depth + 2, ' ') + "application/octet-stream", "-",
                "x-uuencode", std::to_string(files[k].data.size()), files[k].name);
    }
}

void Shower::json(const msg::Message& m, const InputMessage& in) {
    Json j;
    j.begin_object();
    j.key("source").value(in.source);
    j.key("index").value(in.index);
    j.key("headers").begin_array();
    for (const msg::HeaderField& f : m.headers()) {
        j.begin_object();
        j.key("name").value(f.name);
        j.key("value").value(msg::decode_header_text(f.value));
        j.end_object();
    }
    j.end_array();
    j.key("parts").begin_array();
    for (std::size_t i : m.leaves()) {
        const msg::Entity& e = m.entity(i);
        const std::string& body = decode(m, i);
        j.begin_object();
        j.key("section").value(m.section(i));
        j.key("type").value(e.content_type.mime_type());
        std::string cs = m.charset(e);
        if (cs.empty()) j.key("charset").null();
        else j.key("charset").value(cs);
        j.key("encoding").value(msg::transfer_encoding_name(e.encoding));
        if (e.has_disposition && !e.disposition.type.empty()) j.key("disposition").value(e.disposition.type);
        else j.key("disposition").null();
        std::string fn = m.filename(e);
        if (fn.empty()) j.key("filename").null();
        else j.key("filename").value(fn);
        j.key("size").value(static_cast<std::uint64_t>(body.size()));
        j.key("sha256").value(msg::sha256_hex(body));
        const auto files = uu_files(m, i, body);
        if (!files.empty()) {
            j.key("uuencoded").begin_array();
            for (std::size_t k = 0; k < files.size(); ++k)
                j.begin_object()
                    .key("section").value(uu_section(m.section(i), k))
                    .key("filename").value(files[k].name)
                    .key("mode").value(files[k].mode)
                    .key("size").value(static_cast<std::uint64_t>(files[k].data.size()))
                    .key("sha256").value(msg::sha256_hex(files[k].data))
                    .end_object();
            j.end_array();
        }
        j.end_object();
    }
    j.end_array();
    j.end_object();
    out_ << j.str() << '\n';
}

void Shower::stats(const msg::Message& m) {
    ++messages_;
    parts_ += m.entities().size();
    for (std::size_t i : m.leaves()) {
        ++leaves_;
        bytes_ += decode(m, i).size();
        const msg::ContentType& t = m.entity(i).content_type;
        std::string key;
        key.reserve(t.type.size() + 1 + t.subtype.size());
        key.append(t.type).append("/").append(t.subtype);
        ++types_[key];
    }
    defect_count_ += defects_.size();
}

void Shower::print_stats() const {
    out_ << "messages: " << messages_ << "\nparts: " << parts_ << "\nleaf parts: " << leaves_
         << "\ndecoded bytes: " << bytes_ << "\ndefects: " << defect_count_
         << "\ncontent types:\n";
    std::vector<std::pair<std::string, std::uint64_t>> t(types_.begin(), types_.end());
    std::stable_sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [type, n] : t) out_ << "  " << n << ' ' << printable(type) << '\n';
}

int Shower::extract(const msg::Message& m, const InputMessage& in, const std::string& section) {
    std::string text_section;
    std::size_t n = 0;
    if (split_uu_section(section, text_section, n)) {
        // A file uuencoded into the text of a section.
        const std::ptrdiff_t t = m.find_section(text_section);
        if (t >= 0 && m.entity(static_cast<std::size_t>(t)).kind == msg::EntityKind::leaf) {
            const auto files = uu_files(m, static_cast<std::size_t>(t), decode(m, static_cast<std::size_t>(t)));
            if (n <= files.size()) {
                out_.write(files[n - 1].data.data(), static_cast<std::streamsize>(files[n - 1].data.size()));
                return exit_code::ok;
            }
        }
        complain("msgshow", in.file + ": no section " + section);
        return exit_code::data_error;
    }
    std::ptrdiff_t i = m.find_section(section);
    if (i < 0) {
        complain("msgshow", in.file + ": no section " + section);
        return exit_code::data_error;
    }
    const msg::Entity& e = m.entity(static_cast<std::size_t>(i));
    if (e.kind == msg::EntityKind::multipart) {
        complain("msgshow", in.file + ": section " + section + " is a " + e.content_type.mime_type() +
                                " container; extract its parts");
        return exit_code::data_error;
    }
    const std::string& body = decode(m, static_cast<std::size_t>(i));
    out_.write(body.data(), static_cast<std::streamsize>(body.size()));
    return exit_code::ok;
}

int Shower::extract_all(const msg::Message& m, const InputMessage& in, const std::string& dir) {
    int result = exit_code::ok;
    if (!files_ || files_->first != dir) {
        files_.reset();
        files_.emplace(dir, msg::NewFiles(dir));
    }
    auto save = [&](const std::string& wanted, const std::string& fallback, std::string_view data) {
        std::string name = msg::safe_filename(wanted);
        if (name.empty()) name = fallback;
        auto r = files_->second.write(name, data);
        if (!r.ok()) {
            complain("msgshow", in.file + ": " + r.error().message);
            return false;
        }
        if (!quiet_) out_ << dir << (dir.ends_with('/') ? "" : "/") << *r << '\n';
        return true;
    };
    for (std::size_t i : m.leaves()) {
        const msg::Entity& e = m.entity(i);
        std::string wanted = m.filename(e);
        bool attachment = e.has_disposition && e.disposition.type == "attachment";
        const std::string& body = decode(m, i);
        // Files uuencoded into the text are attachments, whatever the text is.
        const auto files = uu_files(m, i, body);
        if (!wanted.empty() || attachment)
            if (!save(wanted, "part-" + m.section(i) + extension_for(e), body)) return exit_code::cant_create;
        for (std::size_t k = 0; k < files.size(); ++k)
            if (!save(files[k].name, "part-" + uu_section(m.section(i), k) + ".bin", files[k].data))
                return exit_code::cant_create;
    }
    if (auto s = files_->second.sync(); !s) {
        complain("msgshow", s.error().message);
        return exit_code::io_error;
    }
    return result;
}

}  // namespace msgtools
