// cli.hpp - the options every tool shares, and how they are parsed.
//
// Each tool builds a boost::program_options description of its own options;
// parse() adds --help, --version, -q and --color, reads defaults from the [tool]
// section of $XDG_CONFIG_HOME/msgtools/config (~/.config when unset), lets
// the command line win (an option it gives replaces the file's, and drops
// the file's options it excludes), and turns a bad command line or file
// into exit 64 with a one-line message.
#pragma once

#include <boost/program_options.hpp>

#include <msg/delivery.hpp>
#include <msg/json.hpp>

#include <chrono>
#include <ctime>
#include <initializer_list>
#include <optional>
#include <variant>
#include <string>
#include <vector>

namespace msgtools {

namespace po = boost::program_options;
using msg::Json;

struct Cli {
    po::variables_map vm;
    std::vector<std::string> inputs;  // positional arguments
    // The command line's options, without the config file's: a tool may
    // refuse there what it takes from the file as a default.
    std::vector<po::option> given;
    bool quiet = false;
};

struct ToolInfo {
    const char* name;      // "msgshow"
    const char* synopsis;  // "msgshow [options] [FILE...]"
    const char* summary;   // one line
    const char* epilog;    // examples, printed after the options by --help
};

// Parse argv. Returns the parsed options, or an exit code when the tool
// should stop now (0 after --help/--version, 64 after a usage error).
std::variant<Cli, int> parse_cli(int argc, char** argv, const ToolInfo& info,
                                 po::options_description& tool_options);

// The value of an option whose value may be left out, such as msgrewrite's
// --add-message-id[=DOMAIN]: given only after '=' (--add-message-id=
// example.org). Alone, the option has the value `alone`, and the word after
// it is an argument of its own (an input), never its value: Boost's
// implicit_value would take that word. --help shows it as --NAME[=VALUE].
po::typed_value<std::string>* optional_value(const char* value_name, std::string alone = "");

// Options that exclude each other (--crlf, --lf), for the config file: a
// value the file gives one of them is not used when the command line gives
// another, as it is not when the command line gives that option itself. A
// member is an option's long name, or NAME=VALUE for one value of an
// option whose values are alternatives (msgcheck's --format sarif against
// --json). Call before parse_cli. The tool still refuses such options
// given together on the command line, or together in the file.
void exclusive_options(std::initializer_list<const char*> group);
// A value the config file gives `option` is used only when `with` is set
// too, on the command line or in the file: smtpreplay's --ca-file goes with
// --server, and a default for replays is no error in a check.
void option_goes_with(const char* option, const char* with);

using msg::parse_duration;   // msg/delivery.hpp: "30s", "5m", "2h"

// Print "tool: message" to stderr, on one line: the message as
// msg::printable() shows it.
void complain(const char* tool, const std::string& message);

// Run a tool's main, `body`: what none of its paths handles ends it with a
// sentence and an exit code, its temporary files removed, never an abort:
// memory running out (75, try again: with more memory, or fewer jobs) or
// another exception (74). An exception in a thread that no path catches
// still aborts, its temporary files removed first.
int run_tool(const char* tool, int (*body)(int, char**), int argc, char** argv);
// "cannot write to standard output", with the system's reason when there is one.
std::string stdout_failed();

// The time a header field written now gets (Date, a Message-ID's seed):
// SOURCE_DATE_EPOCH when set, for output that builds reproduce, else now.
// False, after saying why, when SOURCE_DATE_EPOCH is not a whole number of
// seconds from 0 to the end of the year 9999 (a Date's year has 4 digits):
// the tool then exits with the usage code.
bool header_time(const char* tool, std::time_t& now);

// A count and its noun for a summary: "1 message", "2 messages".
std::string counted(std::uint64_t n, std::string_view one, std::string_view many);

// Whether to colour what goes to file descriptor `fd`: --color always or
// never, or by default (auto) when `fd` is a terminal and NO_COLOR is unset.
bool wants_color(int fd);

}  // namespace msgtools
