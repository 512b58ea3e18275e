// codec_uu.cpp - uuencode: the streaming decoder and the blocks of it that
// old clients put into text bodies.
#include <cstring>

#include "msg/codec.hpp"

namespace msg {
namespace {

// ' ' (0x20) to '`' (0x60): the uuencode alphabet, '`' standing for 0.
inline bool uu_char(unsigned char c) { return c >= 0x20 && c <= 0x60; }
inline unsigned uu_value(unsigned char c) { return (c - 0x20u) & 0x3Fu; }

inline bool is_octal(char c) { return c >= '0' && c <= '7'; }

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\f'))
        s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\f')) s.remove_prefix(1);
    return s;
}

// False for a data line with a byte outside the alphabet, or with
// characters past the groups its length needs (other than ' ' and '`'
// padding); an empty line is not a data line either.
bool uu_line_ok(std::string_view l) {
    if (l.empty() || !uu_char(static_cast<unsigned char>(l[0]))) return false;
    const std::size_t groups = (uu_value(static_cast<unsigned char>(l[0])) + 2) / 3;
    for (std::size_t k = 1; k < l.size(); ++k) {
        const auto c = static_cast<unsigned char>(l[k]);
        if (!uu_char(c) || (k > groups * 4 && c != ' ' && c != '`')) return false;
    }
    return true;
}

// Append the bytes data line `l` stands for (as far as its length says).
void uu_decode_line(std::string_view l, std::string& out) {
    std::size_t n = uu_value(static_cast<unsigned char>(l[0]));
    std::size_t k = 1;
    while (n > 0) {
        unsigned v[4];
        for (unsigned& x : v) {
            const auto c = k < l.size() ? static_cast<unsigned char>(l[k]) : 0x20;  // lost blanks are 0
            x = uu_char(c) ? uu_value(c) : 0;
            ++k;
        }
        const char b[3] = {static_cast<char>((v[0] << 2) | (v[1] >> 4)),
                           static_cast<char>(((v[1] & 0xF) << 4) | (v[2] >> 2)),
                           static_cast<char>(((v[2] & 0x3) << 6) | v[3])};
        const std::size_t take = n < 3 ? n : 3;
        out.append(b, take);
        n -= take;
    }
}

}  // namespace

bool uu_begin_line(std::string_view line, std::string* mode, std::string* name) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (line.substr(0, 6) != "begin ") return false;
    std::size_t i = 6, m = i;
    while (m < line.size() && is_octal(line[m])) ++m;
    if (m == i || (m < line.size() && line[m] != ' ')) return false;
    if (mode) *mode = std::string(line.substr(i, m - i));
    if (name) *name = m < line.size() ? std::string(trim_blanks(line.substr(m + 1))) : std::string();
    return true;
}

void UuDecoder::reset() { *this = UuDecoder{}; }

void UuDecoder::line(std::string_view l, std::size_t at, std::string& out) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    switch (state_) {
    case State::begin:
        if (uu_begin_line(l, &mode_, &name_)) {
            state_ = State::data;
            before_.clear();
            before_.shrink_to_fit();
        }
        return;
    case State::data: {
        if (trim_blanks(l) == "end") {
            state_ = State::done;
            return;
        }
        const bool ok = uu_line_ok(l);
        if (!ok) {
            ++status_.uu_bad_lines;
            if (status_.first_bad == static_cast<std::size_t>(-1)) status_.first_bad = at;
        }
        if (!l.empty()) uu_decode_line(l, out);
        return;
    }
    case State::done:
        return;
    }
}

void UuDecoder::step(std::string_view in, std::string& out) {
    if (state_ == State::begin) before_.append(in);
    std::size_t i = 0;
    while (i < in.size() && state_ != State::done) {
        const void* nl = std::memchr(in.data() + i, '\n', in.size() - i);
        if (!nl) {
            if (partial_.empty()) partial_at_ = pos_ + i;
            partial_.append(in.substr(i));
            break;
        }
        const auto j = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
        if (partial_.empty()) {
            line(in.substr(i, j - i), pos_ + i, out);
        } else {
            partial_.append(in.substr(i, j - i));
            line(partial_, partial_at_, out);
            partial_.clear();
        }
        i = j + 1;
    }
    pos_ += in.size();
}

void UuDecoder::finish(std::string& out) {
    if (!partial_.empty()) {
        line(partial_, partial_at_, out);
        partial_.clear();
    }
    if (state_ == State::begin) {
        status_.uu_no_begin = true;
        if (status_.first_bad == static_cast<std::size_t>(-1)) status_.first_bad = 0;
        out.append(before_);
        before_.clear();
    } else if (state_ == State::data) {
        status_.uu_no_end = true;
    }
    state_ = State::done;
}

std::vector<UuBlock> find_uu_blocks(std::string_view text) {
    std::vector<UuBlock> blocks;
    std::size_t pos = 0;
    auto next_line = [&](std::size_t from, std::string_view& l) {
        const std::size_t nl = text.find('\n', from);
        const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
        l = text.substr(from, end - from);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        return nl == std::string_view::npos ? text.size() : nl + 1;
    };
    while (pos < text.size()) {
        // Candidates only: lines that start with "begin ".
        const std::size_t hit = text.find("begin ", pos);
        if (hit == std::string_view::npos) break;
        if (hit > 0 && text[hit - 1] != '\n') {
            pos = hit + 1;
            continue;
        }
        std::string_view first;
        const std::size_t data_at = next_line(hit, first);
        UuBlock b;
        b.begin = hit;
        if (!uu_begin_line(first, &b.mode, &b.name) || b.mode.size() < 3 || b.mode.size() > 4 ||
            b.name.empty() || data_at >= text.size()) {
            pos = data_at;
            continue;
        }
        std::string_view data;
        next_line(data_at, data);
        const std::size_t n = data.empty() ? 0 : uu_value(static_cast<unsigned char>(data[0]));
        const bool well_formed = uu_line_ok(data) && data.size() >= 1 + (n * 4 + 2) / 3 &&
                                 (n > 0 || trim_blanks(data).size() <= 1);
        if (!well_formed) {
            pos = data_at;
            continue;
        }
        // To the end line, or the end of the text.
        std::size_t at = data_at;
        b.end = text.size();
        while (at < text.size()) {
            std::string_view l;
            const std::size_t after = next_line(at, l);
            if (trim_blanks(l) == "end") {
                b.end = after;
                break;
            }
            at = after;
        }
        pos = b.end;
        blocks.push_back(std::move(b));
    }
    return blocks;
}

}  // namespace msg
