// rules.hpp - scripted answers per stage for a test server (smtpsink's
// --rules file), as a ServerPolicy consults them.
//
// One rule per line; '#' starts a comment:
//
//   STAGE MATCH ACTION
//
//   STAGE   connect | helo | mail | rcpt | data | dot | vrfy | starttls |
//           auth | quit
//   MATCH   *            every time
//           every N      the Nth, 2Nth, ... time this rule's stage is reached
//           /REGEX/      ECMAScript regex searched in the HELO name (at
//                        helo, starttls, quit), the MAIL or RCPT address,
//                        VRFY's argument, AUTH's mechanism; at data and
//                        dot, in any accepted recipient
//   ACTION  [delay TIME] CODE [TEXT]
//                        answer this reply instead ("550 5.1.1 no such user")
//           [delay TIME] drop
//                        close the connection without a reply (at data: after
//                        the 354, once the message starts: "mid-DATA")
//           delay TIME   the session's own answer, TIME late
//
// A delay (parse_duration: "30s", "5m"; at most 24h) holds the answer back,
// reading nothing meanwhile: a slow server. At dot it comes before the
// message is stored.
//
// The first rule of a stage that matches decides. Examples:
//
//   rcpt /^unknown@/   550 5.1.1 no such user
//   dot  every 3       451 4.3.0 try again later
//   data /^drop@/      drop
//   dot  /^slow@/      delay 11m
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "msg/result.hpp"
#include "msg/smtp/server.hpp"

namespace msg::smtp {

struct Rule {
    Stage stage = Stage::rcpt;
    enum class Match : std::uint8_t { all, every, regex } match = Match::all;
    unsigned every = 0;
    std::regex re;
    Verdict verdict;
    std::uint64_t seen = 0;   // times the stage was reached (for every N)
    std::size_t line = 0;
};

class Rules {
public:
    // Parse a rules file's text; an error reads "FILE:LINE:COL: what".
    static Result<Rules> parse(std::string_view text, const std::string& file);
    // The first rule of `stage` that matches, or the default verdict (code
    // 0: the session's own answer). Counts for "every N": not thread-safe.
    Verdict apply(Stage stage, std::string_view arg, const std::vector<std::string>& rcpts);
    std::size_t size() const { return rules_.size(); }

private:
    std::vector<Rule> rules_;
};

}  // namespace msg::smtp
