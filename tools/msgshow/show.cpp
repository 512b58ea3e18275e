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
#include <msg/charset.hpp>
#include <msg/describe.hpp>

namespace msgtools {
namespace {

// Control bytes (C0, DEL, C1) would reach the terminal: escaped, as every
// tool escapes them (msg::printable); a tab (of a folded field) is a space.
std::string printable(std::string_view s) {
    std::string t(s);
    std::replace(t.begin(), t.end(), '\t', ' ');
    return msg::printable(t);
}

// `s` padded with spaces to `width` columns (never cut).
std::string padded(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string title(const InputMessage& in) {
    if (!in.from_mbox) return in.file;
    return in.file + " #" + std::to_string(in.index) + " (line " +
           std::to_string(in.first_line - 1) + ")";
}

}  // namespace

void Shower::write_out(std::string_view bytes) { out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); }

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
    out_ << printable(title(in)) << '\n';
    if (headers) {
        for (const msg::HeaderField& f : m.headers())
            out_ << "  " << printable(f.name) << ": "
                 << printable(msg::decode_field_text(f.name, f.value)) << '\n';
        out_ << '\n';
    }
    auto row = [&](const std::string& sec, const std::string& type, const std::string& charset,
                   std::string_view enc, const std::string& size, const std::string& filename) {
        // The columns padded (a longer value is not cut, it moves the rest),
        // the file name (of any length) last, no trailing blanks.
        std::string line = "  " + padded(sec, 10) + " " + padded(printable(type), 38) + " " +
                           padded(printable(charset), 12) + " " + padded(std::string(enc), 16) + " " +
                           (size.size() < 10 ? std::string(10 - size.size(), ' ') : std::string()) + size + "  " +
                           printable(filename);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out_ << line << '\n';
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
        std::vector<msg::ContentSummary> files;
        if (e.kind == msg::EntityKind::leaf) {
            msg::LeafSummary leaf = msg::summarize_leaf(m, i, false, &defects_);
            size = std::to_string(leaf.content.size);
            files = std::move(leaf.files);
            enc = std::string(msg::transfer_encoding_name(e.encoding));
            std::string cs = m.charset(e);
            if (!cs.empty()) charset = cs;
        }
        row(sec, type, charset, enc, size, m.filename(e));
        for (std::size_t k = 0; k < files.size(); ++k)
            row(msg::uu_section(sec, k), std::string(2 * e.depth + 2, ' ') + "application/octet-stream", "-",
                "x-uuencode", std::to_string(files[k].size), files[k].name);
    }
}

void Shower::json(const msg::Message& m, const InputMessage& in) {
    out_ << msg::message_json(m, in.source, in.index, &defects_) << '\n';
}

void Shower::stats(const msg::Message& m) { stats_.add(m, &defects_); }

void Shower::print_stats() const { out_ << stats_.text(); }

int Shower::extract(const msg::Message& m, const InputMessage& in, const std::string& section) {
    std::string text_section;
    std::size_t n = 0;
    if (msg::split_uu_section(section, text_section, n)) {
        // A file uuencoded into the text of a section.
        const std::ptrdiff_t t = m.find_section(text_section);
        if (t >= 0 && m.entity(static_cast<std::size_t>(t)).kind == msg::EntityKind::leaf) {
            if (msg::read_uu_file(m, static_cast<std::size_t>(t), n, [&](std::string_view b) { write_out(b); }, &defects_))
                return exit_code::ok;
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
    m.decode_each(e, [&](std::string_view b) { write_out(b); }, &defects_);
    return exit_code::ok;
}

int Shower::extract_all(const msg::Message& m, const InputMessage& in, const std::string& dir) {
    int result = exit_code::ok;
    if (!files_ || files_->first != dir) {
        files_.reset();
        files_.emplace(dir, msg::NewFiles(dir));
    }
    msg::NewFiles& files = files_->second;
    // Name the file being written (the fallback when `wanted` gives none),
    // or say why it could not be written.
    auto close = [&](const std::string& wanted, const std::string& fallback) {
        std::string name = msg::safe_filename(wanted);
        if (name.empty()) name = fallback;
        auto r = files.close(name);
        if (!r.ok()) {
            complain("msgshow", in.file + ": " + r.error().message);
            return false;
        }
        if (!quiet_) out_ << printable(dir) << (dir.ends_with('/') ? "" : "/") << printable(*r) << '\n';
        return true;
    };
    auto open = [&]() {
        if (auto o = files.open(); !o) {
            complain("msgshow", in.file + ": " + o.error().message);
            return false;
        }
        return true;
    };
    auto put = [&](std::string_view b) { files.put(b); };
    const auto all = m.entities();
    for (std::size_t i = 0; i < all.size(); ++i) {
        const msg::Entity& e = all[i];
        if (e.kind == msg::EntityKind::multipart) continue;
        const std::string wanted = m.filename(e);
        const bool attachment = e.has_disposition && e.disposition.type == "attachment";
        if (e.kind == msg::EntityKind::message) {
            // A message attached (a forward, "original.eml"): saved whole,
            // as --extract gives it; its own attachments follow.
            if (e.parent < 0 || (wanted.empty() && !attachment)) continue;
            if (!open()) return exit_code::cant_create;
            m.decode_each(e, put, &defects_);
            if (!close(wanted, "part-" + m.section(i) + ".eml")) return exit_code::cant_create;
            continue;
        }
        const bool uu = msg::may_hold_uu_files(e);
        if (!wanted.empty() || attachment) {
            if (!open()) return exit_code::cant_create;
            // Decoded once for the part's file, once more (a text only) for
            // the files uuencoded into it: never two files at a time.
            m.decode_each(e, put, uu ? nullptr : &defects_);
            if (!close(wanted, "part-" + m.section(i) + std::string(msg::extension_for(e)))) return exit_code::cant_create;
        } else if (!uu) {
            m.decode_each(e, [](std::string_view) {}, &defects_);  // for what decoding repairs
        }
        if (!uu) continue;
        // Files uuencoded into the text are attachments, whatever the text is.
        std::size_t k = 0;
        bool ok = true;
        msg::UuScanner::Handler h;
        h.begin = [&](const msg::UuBlock&) { ok = ok && open(); };
        h.data = put;
        h.end = [&](const msg::UuBlock& b, const msg::DecodeStatus&) {
            ok = ok && close(b.name, "part-" + msg::uu_section(m.section(i), k) + ".bin");
            ++k;
        };
        m.decode_each(e, [](std::string_view) {}, &defects_, h);
        if (!ok) return exit_code::cant_create;
    }
    return result;
}

int Shower::finish() {
    if (!files_) return exit_code::ok;
    if (auto s = files_->second.sync(); !s) {
        complain("msgshow", s.error().message);
        return exit_code::io_error;
    }
    return exit_code::ok;
}

}  // namespace msgtools
