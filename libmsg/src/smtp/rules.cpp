// rules.cpp - scripted answers per stage (rules.hpp).
#include "msg/smtp/rules.hpp"

#include <cerrno>

#include "msg/delivery.hpp"
#include "msg/smtp/reply.hpp"

namespace msg::smtp {

namespace {

std::string_view next_word(std::string_view line, std::size_t& i) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    return line.substr(start, i - start);
}

}  // namespace

Result<Rules> Rules::parse(std::string_view text, const std::string& file) {
    Rules rules;
    std::vector<Rule>& out = rules.rules_;
    std::size_t lineno = 0, at = 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(at, nl - at);
        at = nl + 1;
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto fail = [&](std::size_t col, const std::string& what) -> Result<Rules> {
            return Error{EINVAL, file + ":" + std::to_string(lineno) + ":" + std::to_string(col + 1) + ": " + what};
        };
        std::size_t i = 0;
        const std::string_view stage = next_word(line, i);
        if (stage.empty() || stage[0] == '#') continue;
        Rule r;
        r.line = lineno;
        const std::size_t stage_col = i - stage.size();
        // The stages by the names stage_name() gives them, in their order.
        std::string names;
        bool known = false;
        for (auto s = static_cast<unsigned>(Stage::connect); s <= static_cast<unsigned>(Stage::quit) && !known; ++s) {
            r.stage = static_cast<Stage>(s);
            known = stage == stage_name(r.stage);
            names += (names.empty() ? "" : ", ") + std::string(stage_name(r.stage));
        }
        if (!known) return fail(stage_col, "unknown stage \"" + std::string(stage) + "\" (" + names + ")");

        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const std::size_t match_col = i;
        if (i < line.size() && line[i] == '/') {
            const std::size_t end = line.find('/', i + 1);
            if (end == std::string_view::npos) return fail(match_col, "the regex has no closing /");
            try {
                r.re = std::regex(std::string(line.substr(i + 1, end - i - 1)), std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                return fail(match_col, std::string("bad regex: ") + e.what());
            }
            r.match = Rule::Match::regex;
            i = end + 1;
        } else {
            const std::string_view m = next_word(line, i);
            if (m == "*") {
                r.match = Rule::Match::all;
            } else if (m == "every") {
                const std::string_view n = next_word(line, i);
                unsigned v = 0;
                for (char c : n) {
                    if (c < '0' || c > '9' || v > 1000000) return fail(i - n.size(), "every needs a number");
                    v = v * 10 + static_cast<unsigned>(c - '0');
                }
                if (n.empty() || v == 0) return fail(i - n.size(), "every needs a number above 0");
                r.match = Rule::Match::every;
                r.every = v;
            } else {
                return fail(match_col, "expected *, every N or /REGEX/");
            }
        }
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (line.substr(i, 6) == "delay " || line.substr(i, 6) == "delay\t" || line.substr(i) == "delay") {
            i += 5;
            const std::string_view t = next_word(line, i);
            const auto d = parse_duration(t);
            if (t.empty() || !d || d->count() == 0 || *d > std::chrono::hours(24))
                return fail(i - t.size(), "delay needs a time above 0 and at most 24h (30s, 5m)");
            r.verdict.delay = *d;
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        }
        const std::size_t action_col = i;
        const std::string_view action = line.substr(i);
        if (action.empty() && r.verdict.delay.count() > 0) {
            // The session's own answer, after the delay.
        } else if (action == "drop") {
            r.verdict.drop = true;
        } else if (r.stage == Stage::quit) {
            // QUIT's answer is 221 and the end: a rule drops it or delays it.
            return fail(action_col, "at quit a rule drops or delays");
        } else {
            if (action.size() < 3) return fail(action_col, "expected a reply (CODE [TEXT]), drop or delay TIME");
            int code = 0;
            for (std::size_t k = 0; k < 3; ++k) {
                if (action[k] < '0' || action[k] > '9') return fail(action_col, "expected a reply (CODE [TEXT]), drop or delay TIME");
                code = code * 10 + (action[k] - '0');
            }
            if (!reply_code_in_range(code) || (action.size() > 3 && action[3] != ' '))
                return fail(action_col, "a reply code is three digits, 200 to 559");
            // A rule accepts only where the session goes on as after its
            // own 2xx (mail, rcpt, vrfy); elsewhere it refuses, and no rule
            // may say 3xx (a 354 must be followed by reading the message).
            const bool may_accept = r.stage == Stage::mail || r.stage == Stage::rcpt || r.stage == Stage::vrfy;
            if (code / 100 == 3 || (code / 100 == 2 && !may_accept))
                return fail(action_col, may_accept ? "a rule's code is 2xx, 4xx or 5xx (no 3xx)"
                                                   : "at " + std::string(stage) + " a rule refuses: a code 400 to 559");
            r.verdict.code = code;
            r.verdict.text = std::string(action.size() > 4 ? action.substr(4) : std::string_view());
        }
        out.push_back(std::move(r));
    }
    return rules;
}

Verdict Rules::apply(Stage stage, std::string_view arg, const std::vector<std::string>& rcpts) {
    for (Rule& r : rules_) {
        if (r.stage != stage) continue;
        bool hit = false;
        switch (r.match) {
            case Rule::Match::all: hit = true; break;
            case Rule::Match::every: hit = ++r.seen % r.every == 0; break;
            case Rule::Match::regex:
                if (stage == Stage::data || stage == Stage::dot) {
                    for (const std::string& x : rcpts)
                        if (std::regex_search(x, r.re)) hit = true;
                } else {
                    hit = std::regex_search(arg.begin(), arg.end(), r.re);
                }
                break;
        }
        if (hit) return r.verdict;
    }
    return {};
}

}  // namespace msg::smtp
