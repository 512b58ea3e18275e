// codec_uu.cpp - uuencode: the streaming decoder and the blocks of it that
// old clients put into text bodies.
#include <algorithm>
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

namespace detail {

// The line trimmed as trim_blanks() trims it: ' ', '\t' and '\f' before,
// those and '\r' after.
void UuRest::see(std::string_view s) noexcept {
    for (const char c : s) {
        const bool lead_blank = c == ' ' || c == '\t' || c == '\f';
        switch (trim) {
        case Trim::leading:
            if (lead_blank) break;
            trim = Trim::core;
            [[fallthrough]];
        case Trim::core:
            if (lead_blank || c == '\r') {
                trim = Trim::trailing;
            } else if (core_len < sizeof core) {
                core[core_len++] = c;
            } else {
                trim = Trim::more;
            }
            break;
        case Trim::trailing:
            if (!lead_blank && c != '\r') trim = Trim::more;  // blanks inside: not trimmed away
            break;
        case Trim::more:
            return;
        }
    }
}

void UuRest::add(std::string_view s) noexcept {
    for (const char c : s) {
        if (cr_last) pad = false;  // that '\r' was not the line's last byte
        cr_last = c == '\r';
        if (c != '\r' && c != ' ' && c != '`') pad = false;
    }
    see(s);
    length += s.size();
}

void UuPartial::add(std::string_view s) {
    open = true;
    const std::size_t room = kUuLineKept - std::min(kept.size(), kUuLineKept);
    const std::size_t take = std::min(s.size(), room);
    kept.append(s.substr(0, take));
    if (take == s.size()) return;
    if (rest.length == 0) rest.begin(kept);
    rest.add(s.substr(take));
}

}  // namespace detail

namespace {

// A line whose kept bytes are `l` and the rest `rest`, its '\r' taken off.
std::string_view kept_line(std::string_view l, const detail::UuRest& rest) {
    if (rest.length == 0 && !l.empty() && l.back() == '\r') l.remove_suffix(1);
    return l;
}

// A begin line of a block inside a text: MODE of three or four octal
// digits, a NAME, and not longer than kUuLineKept.
bool block_begin_line(std::string_view l, const detail::UuRest& rest, std::string& mode, std::string& name) {
    return !rest.beyond() && uu_begin_line(kept_line(l, rest), &mode, &name) && mode.size() >= 3 &&
           mode.size() <= 4 && !name.empty();
}

// The line after a block's begin line is a well-formed data line: its
// length character fits its groups, and nothing else is on it.
bool block_data_line(std::string_view l, const detail::UuRest& rest) {
    l = kept_line(l, rest);
    const std::size_t n = l.empty() ? 0 : uu_value(static_cast<unsigned char>(l[0]));
    return uu_line_ok(l) && rest.pad && (rest.beyond() || l.size() >= 1 + (n * 4 + 2) / 3) &&
           (n > 0 || (rest.length ? rest.trimmed_short() : trim_blanks(l).size() <= 1));
}

}  // namespace

void UuDecoder::reset() { *this = UuDecoder{}; }

void UuDecoder::whole_line(std::string_view l, std::size_t at, std::string& out) {
    detail::UuRest rest;
    if (l.size() > kUuLineKept) {
        rest.begin(l.substr(0, kUuLineKept));
        rest.add(l.substr(kUuLineKept));
        l = l.substr(0, kUuLineKept);
    }
    line(l, rest, at, out);
}

void UuDecoder::line(std::string_view l, const detail::UuRest& rest, std::size_t at, std::string& out) {
    l = kept_line(l, rest);
    switch (state_) {
    case State::begin:
        if (!rest.beyond() && uu_begin_line(l, &mode_, &name_)) {
            state_ = State::data;
            before_.clear();
            before_.shrink_to_fit();
        }
        return;
    case State::data: {
        if (rest.length ? rest.trimmed_is("end") : trim_blanks(l) == "end") {
            state_ = State::done;
            return;
        }
        const bool ok = uu_line_ok(l) && rest.pad;
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
    if (state_ == State::begin && keep_before_) before_.append(in);
    std::size_t i = 0;
    while (i < in.size() && state_ != State::done) {
        const void* nl = std::memchr(in.data() + i, '\n', in.size() - i);
        if (!nl) {
            if (!partial_.open) partial_.at = pos_ + i;
            partial_.add(in.substr(i));
            break;
        }
        const auto j = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
        if (!partial_.open) {
            whole_line(in.substr(i, j - i), pos_ + i, out);
        } else {
            partial_.add(in.substr(i, j - i));
            line(partial_.kept, partial_.rest, partial_.at, out);
            partial_.clear();
        }
        i = j + 1;
        if (state_ == State::done) end_ = pos_ + i;
    }
    pos_ += in.size();
}

void UuDecoder::finish(std::string& out) {
    if (partial_.open) {
        line(partial_.kept, partial_.rest, partial_.at, out);
        partial_.clear();
        if (state_ == State::done) end_ = pos_;
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

// --- blocks inside a text ----------------------------------------------------

std::size_t encoded_data_end(std::string_view s) noexcept {
    std::size_t n = s.size();
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) --n;
    return n;
}

void UuScanner::feed(std::string_view s, std::size_t at) {
    dec_.step(s, out_);
    // The decoder stops after an end line: the rest is not the block's.
    const std::size_t used = dec_.done() ? block_.begin + dec_.end_offset() - at : s.size();
    if (const std::size_t d = encoded_data_end(s.substr(0, used)); d > 0) data_end_ = at + d;
}

void UuScanner::start(std::size_t at) {
    state_ = State::begin_line;
    dec_.reset();
    dec_.forget_before();
    out_.clear();
    block_ = UuBlock{};
    block_.begin = at;
    data_end_ = at;
    line_.clear();
    line_.at = at;
}

void UuScanner::begin_line_done() {
    if (!block_begin_line(line_.kept, line_.rest, block_.mode, block_.name)) {
        state_ = State::seek;
        line_start_ = true;
        return;
    }
    state_ = State::data_line;
    line_.clear();
}

void UuScanner::data_line_done(bool at_end) {
    if (block_data_line(line_.kept, line_.rest)) {
        state_ = State::block;
        if (h_.begin) h_.begin(block_);
        flush();
        if (at_end) end_block(true);
        return;
    }
    // No block; but this line may begin one.
    const detail::UuPartial l = std::move(line_);
    state_ = State::seek;
    line_start_ = true;
    if (at_end || l.rest.beyond() || !std::string_view(l.kept).starts_with("begin ")) return;
    start(l.at);
    feed(l.kept, l.at);
    feed(l.rest.length ? "\r\n" : "\n", l.at + l.kept.size());
    line_ = l;
    begin_line_done();
    if (state_ == State::data_line) line_.at = l.at + l.kept.size() + l.rest.length + 1;
}

void UuScanner::end_block(bool at_end) {
    if (at_end) {
        dec_.finish(out_);
        block_.end = pos_;
    } else {
        block_.end = block_.begin + dec_.end_offset();
    }
    block_.data_end = std::max(data_end_, block_.begin);
    flush();
    if (h_.end) h_.end(block_, dec_.status());
    state_ = State::seek;
    line_start_ = true;
}

void UuScanner::flush() {
    if (!out_.empty() && h_.data) h_.data(out_);
    out_.clear();
}

void UuScanner::step(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        switch (state_) {
        case State::seek: {
            // The next line that starts with "begin ".
            if (!line_start_) {
                const void* nl = std::memchr(s.data() + i, '\n', s.size() - i);
                if (!nl) {
                    i = s.size();
                    break;
                }
                i = static_cast<std::size_t>(static_cast<const char*>(nl) - s.data()) + 1;
                line_start_ = true;
                break;
            }
            std::size_t hit = i;
            while ((hit = s.find("begin ", hit)) != std::string_view::npos && hit != i && s[hit - 1] != '\n') ++hit;
            if (hit != std::string_view::npos) {
                start(pos_ + hit);
                i = hit;
                break;
            }
            // None here; the slice's last line may be the start of one.
            const std::size_t nl = s.rfind('\n');
            const std::size_t tail = nl == std::string_view::npos || nl < i ? i : nl + 1;
            const std::string_view t = s.substr(tail);
            if (!t.empty() && std::string_view("begin ").starts_with(t)) {
                start(pos_ + tail);
                i = tail;
                break;
            }
            line_start_ = t.empty();
            i = s.size();
            break;
        }
        case State::begin_line:
        case State::data_line: {
            const void* nl = std::memchr(s.data() + i, '\n', s.size() - i);
            const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - s.data()) : s.size();
            line_.add(s.substr(i, end - i));
            const std::size_t next = nl ? end + 1 : end;
            feed(s.substr(i, next - i), pos_ + i);
            i = next;
            if (!nl) break;
            if (state_ == State::begin_line) {
                begin_line_done();
                line_.at = pos_ + i;
            } else {
                data_line_done(false);
            }
            break;
        }
        case State::block: {
            // In pieces, each one's output handed over at once: a file of
            // any size (in a body handed over whole) costs a piece.
            const std::size_t piece = std::min(s.size() - i, kPiece);
            feed(s.substr(i, piece), pos_ + i);
            if (!dec_.done()) {
                i += piece;
                flush();
                break;
            }
            i = block_.begin + dec_.end_offset() - pos_;
            end_block(false);
            break;
        }
        }
    }
    pos_ += s.size();
}

void UuScanner::finish() {
    if (state_ == State::data_line && line_.open) data_line_done(true);
    else if (state_ == State::block) end_block(true);
    state_ = State::seek;
    line_start_ = true;
}

std::vector<UuBlock> find_uu_blocks(std::string_view text) {
    std::vector<UuBlock> blocks;
    UuScanner scan({nullptr, nullptr, [&](const UuBlock& b, const DecodeStatus&) { blocks.push_back(b); }});
    scan.step(text);
    scan.finish();
    return blocks;
}

}  // namespace msg
