// cli.hpp - the options every tool shares, and how they are parsed.
//
// Each tool builds a boost::program_options description of its own options;
// parse() adds --help, --version, -q and --color, reads defaults from the [tool]
// section of $XDG_CONFIG_HOME/msgtools/config (~/.config when unset), lets
// the command line win, and turns a bad command line into exit 64 with a
// one-line message.
#pragma once

#include <boost/program_options.hpp>

#include <msg/delivery.hpp>
#include <msg/json.hpp>

#include <chrono>
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

using msg::parse_duration;   // msg/delivery.hpp: "30s", "5m", "2h"

// Print "tool: message" to stderr.
void complain(const char* tool, const std::string& message);
// "cannot write to standard output", with the system's reason when there is one.
std::string stdout_failed();

// Whether to colour what goes to file descriptor `fd`: --color always or
// never, or by default (auto) when `fd` is a terminal and NO_COLOR is unset.
bool wants_color(int fd);

}  // namespace msgtools
