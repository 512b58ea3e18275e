// smtp/reply.cpp - reply lines, whole replies and enhanced status codes.
#include "msg/smtp/reply.hpp"

namespace msg::smtp {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// 1 to 3 digits at s[i]; the value, or -1.
int small_number(std::string_view s, std::size_t& i) {
    const std::size_t start = i;
    int v = 0;
    while (i < s.size() && digit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    if (i == start || (i < s.size() && digit(s[i]))) return -1;
    return v;
}

}  // namespace

std::string EnhancedCode::str() const {
    return std::to_string(klass) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

std::optional<EnhancedCode> parse_enhanced(std::string_view s, std::size_t* len) {
    if (len) *len = 0;
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return std::nullopt;
    std::size_t i = 2;
    const int subject = small_number(s, i);
    if (subject < 0 || i >= s.size() || s[i] != '.') return std::nullopt;
    ++i;
    const int detail = small_number(s, i);
    if (detail < 0 || (i < s.size() && s[i] != ' ')) return std::nullopt;
    if (len) *len = i;
    return EnhancedCode{s[0] - '0', subject, detail};
}

ReplyLine parse_reply_line(std::string_view line) {
    ReplyLine r;
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2])) {
        r.error = "a reply line starts with a three-digit code";
        return r;
    }
    r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() == 3) {
        r.ok = true;
        return r;
    }
    if (line[3] != ' ' && line[3] != '-') {
        r.error = "the code must be followed by a space, '-' or the end of the line";
        return r;
    }
    r.last = line[3] == ' ';
    r.text = line.substr(4);
    r.ok = true;
    return r;
}

bool reply_code_in_range(int code) {
    const int a = code / 100, b = code / 10 % 10;
    return a >= 2 && a <= 5 && b <= 5;
}

EnhancedCode Reply::status() const {
    if (enhanced) return *enhanced;
    const int k = klass();
    return EnhancedCode{k == 2 || k == 5 ? k : 4, 0, 0};
}

void Reply::read_enhanced() {
    enhanced = lines.empty() ? std::nullopt : parse_enhanced(lines.front());
    enhanced_replaced = false;
    const int k = klass();
    if (enhanced && (k == 2 || k == 4 || k == 5) && enhanced->klass != k) {
        enhanced = EnhancedCode{k, 0, 0};
        enhanced_replaced = true;
    }
}

std::string Reply::wire() const {
    std::string out;
    const std::string c = std::to_string(code);
    if (lines.empty()) return c + "\r\n";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += c;
        const bool last = i + 1 == lines.size();
        if (!last || !lines[i].empty()) out += last ? ' ' : '-';
        out += lines[i];
        out += "\r\n";
    }
    return out;
}

std::string Reply::text() const {
    std::string out;
    for (const std::string& l : lines) {
        if (!out.empty()) out += ' ';
        out += l;
    }
    return out;
}

Reply make_reply(int code, std::string_view text) {
    Reply r;
    r.code = code;
    std::size_t i = 0;
    while (true) {
        const std::size_t nl = text.find('\n', i);
        r.lines.emplace_back(text.substr(i, nl == std::string_view::npos ? std::string_view::npos : nl - i));
        if (nl == std::string_view::npos) break;
        i = nl + 1;
    }
    r.read_enhanced();
    return r;
}

ReplyAssembler::Feed ReplyAssembler::fail(std::string why, bool too_big) {
    error_ = std::move(why);
    too_big_ = too_big;
    cur_ = Reply{};
    bytes_ = 0;
    return Feed::error;
}

ReplyAssembler::Feed ReplyAssembler::feed(std::string_view line) {
    if (line.size() > limits_.max_line) return fail("with a line over " + std::to_string(limits_.max_line) + " bytes", true);
    const ReplyLine l = parse_reply_line(line);
    if (!l.ok) return fail(std::string(l.error), false);
    // RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39. A client that
    // gets another "SHOULD normally treat [it] as a fatal error": 260 is no
    // success, nor 600 a refusal.
    if (!reply_code_in_range(l.code))
        return fail("code " + std::string(line.substr(0, 3)) + " is out of range (2xx to 5xx, second digit 0 to 5)",
                    false);
    if (!cur_.lines.empty() && l.code != cur_.code)
        return fail("a continuation line has code " + std::to_string(l.code) + ", the reply began with " +
                        std::to_string(cur_.code),
                    false);
    if (cur_.lines.size() >= limits_.max_lines)
        return fail("over " + std::to_string(limits_.max_lines) + " lines", true);
    bytes_ += line.size() + 2;
    if (bytes_ > limits_.max_bytes) return fail("over " + std::to_string(limits_.max_bytes) + " bytes", true);
    if (cur_.lines.empty()) cur_.code = l.code;
    cur_.lines.emplace_back(l.text);
    if (!l.last) return Feed::more;
    cur_.read_enhanced();
    return Feed::done;
}

Reply ReplyAssembler::take() {
    Reply r = std::move(cur_);
    cur_ = Reply{};
    bytes_ = 0;
    return r;
}

}  // namespace msg::smtp
