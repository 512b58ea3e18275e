// cli.cpp - standard options and the config file.
#include "common/cli.hpp"

#include "common/exit.hpp"
#include "common/progress.hpp"
#include "msg/charset.hpp"
#include "msg/files.hpp"
#include "msg/header.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <new>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <streambuf>
#include <string_view>
#include <utility>
#include <vector>

namespace msgtools {

namespace {

// Standard error, line-buffered: each thread's text goes out a whole line
// per write(2), so that the lines of tools run side by side on one stderr
// (xargs -P, a service's journal) do not cut into each other, as std::cerr's
// write per insertion lets them. A line of a thread that ends without its
// newline goes out when the thread ends, or at exit.
class LineBufferedStderr : public std::streambuf {
public:
    int sync() override {
        put(pending(), pending().size());
        return 0;
    }

protected:
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
        const char ch = traits_type::to_char_type(c);
        xsputn(&ch, 1);
        return c;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        std::string& p = pending();
        p.append(s, static_cast<std::size_t>(n));
        if (const std::size_t nl = p.rfind('\n'); nl != std::string::npos) put(p, nl + 1);
        return n;
    }

private:
    struct Pending {
        std::string text;
        ~Pending() { put(text, text.size()); }
    };
    static std::string& pending() {
        thread_local Pending p;
        return p.text;
    }
    static void put(std::string& text, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            const ssize_t w = ::write(2, text.data() + done, n - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;   // nowhere to say it: dropped, as std::cerr would
            done += static_cast<std::size_t>(w);
        }
        text.erase(0, n);
    }
};

void name_config_lines(const char* tool);   // below, with the config file

}  // namespace

void complain(const char* tool, const std::string& message) {
    // Names and text from files and peers (an entry's name, a filename) may
    // hold control bytes, a line feed among them: escaped, so that a
    // complaint is one line and cannot forge another.
    std::cerr << tool << ": " << msg::printable(message) << '\n';
}

int run_tool(const char* tool, int (*body)(int, char**), int argc, char** argv) {
    static const char* name = tool;
    // A descriptor 0, 1 or 2 the tool was started without is opened on
    // /dev/null for reading, so that no file the tool opens takes its
    // number (a spool directory read as standard input): reading it gives
    // end of file, and writing it fails as a standard output that cannot be
    // written does.
    for (int fd = 0; fd <= 2; ++fd)
        if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) (void)!::open("/dev/null", O_RDONLY);
    // A file grown past the size limit (ulimit -f) fails its write with
    // EFBIG, said and cleaned up as any failed write, rather than killing
    // the tool with its temporary files left behind.
    ::signal(SIGXFSZ, SIG_IGN);
    // Never destroyed: lines said during static destruction still go out.
    static LineBufferedStderr* const err = new LineBufferedStderr;
    std::cerr.rdbuf(err);
    std::cerr.unsetf(std::ios_base::unitbuf);
    std::set_terminate([] {
        msg::discard_all_temps();
        static const char said[] = ": stopped on an error no path of it handles\n";
        (void)!::write(2, name, std::strlen(name));
        (void)!::write(2, said, sizeof said - 1);
        std::abort();
    });
    try {
        int code = body(argc, argv);
        if (code == exit_code::usage) name_config_lines(tool);
        // What the tool wrote to standard output must have gone out: a
        // tool that found a write failing has said so (and exits 74); for
        // every other, the output is flushed and checked once more here,
        // so that a full disk or a pipe nobody reads is never an exit 0
        // with the output lost.
        if (code == exit_code::ok || code == exit_code::problems) {
            std::cout.flush();
            errno = 0;
            const bool flushed = std::fflush(stdout) == 0;
            if (!flushed || std::ferror(stdout) || !std::cout.good()) {
                complain(tool, stdout_failed());
                code = exit_code::io_error;
            }
        }
        return code;
    } catch (const std::bad_alloc&) {
        msg::discard_all_temps();
        std::cout.flush();
        complain(tool, "out of memory: stopped (a message larger than this process may hold, or too many at once "
                       "with -j); nothing half-written is left");
        return exit_code::temp_fail;
    } catch (const std::exception& e) {
        msg::discard_all_temps();
        std::cout.flush();
        complain(tool, std::string("stopped: ") + e.what());
        return exit_code::io_error;
    }
}

bool header_time(const char* tool, std::time_t& now) {
    now = std::time(nullptr);
    const char* sde = std::getenv("SOURCE_DATE_EPOCH");
    if (!sde || !*sde) return true;
    constexpr long long kEndOf9999 = 253402300799;   // 9999-12-31T23:59:59Z
    long long t = 0;
    const char* end = sde + std::strlen(sde);
    const auto [p, ec] = std::from_chars(sde, end, t);
    if (ec != std::errc() || p != end || t < 0 || t > kEndOf9999) {
        complain(tool, "SOURCE_DATE_EPOCH '" + std::string(sde) +
                           "': give a whole number of seconds since 1970-01-01 UTC, from 0 to 253402300799 (the end of "
                           "the year 9999)");
        return false;
    }
    now = static_cast<std::time_t>(t);
    return true;
}

std::string counted(std::uint64_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string stdout_failed() {
    const int e = errno;
    return std::string("cannot write to standard output") + (e ? std::string(": ") + std::strerror(e) : "");
}

namespace {

enum class ColorMode { automatic, always, never };
ColorMode g_color = ColorMode::automatic;

std::string config_path() {
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
        return std::string(x) + "/msgtools/config";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.config/msgtools/config";
    return {};
}

// A mistake in the config file, said as FILE:LINE: what, without the
// command line's "Try --help": the command line is not at fault.
struct ConfigError : po::error {
    using po::error::error;
};

// A NAME = VALUE line of the tool's section: its number, what it says (for
// the notes after a usage error) and its name and value.
struct ConfigLine {
    std::size_t number = 0;
    std::string text, key, value;
};

// The config file and the lines of it this run uses, named after a usage
// error (name_config_lines): the mistake may be in the file.
std::string g_config_file;
std::vector<ConfigLine> g_config_used;

std::vector<std::vector<std::string>> g_exclusive;             // exclusive_options()
std::vector<std::pair<std::string, std::string>> g_goes_with;   // option_goes_with()

// Whether `member` of an exclusive group is option `key` with `value`.
bool is_member(const std::string& member, const std::string& key, const std::string& value) {
    return member == key || member == key + "=" + value;
}

// Whether the command line's options replace the file's line: they give
// its option (all of its values go, for one that may be repeated: the
// command line's are not added to them), or another of a group that
// excludes it.
bool overridden(const ConfigLine& l, const std::vector<po::option>& given) {
    for (const po::option& o : given) {
        if (o.position_key != -1) continue;   // an argument
        if (o.string_key == l.key) return true;
        const std::vector<std::string> values = o.value.empty() ? std::vector<std::string>{""} : o.value;
        for (const std::vector<std::string>& group : g_exclusive) {
            const auto is_line = [&](const std::string& m) { return is_member(m, l.key, l.value); };
            if (std::none_of(group.begin(), group.end(), is_line)) continue;
            for (const std::string& m : group)
                for (const std::string& v : values)
                    if (!is_line(m) && is_member(m, o.string_key, v)) return true;
        }
    }
    return false;
}

std::string trim(std::string_view s) {
    const char* const space = " \t\r\n\f\v";
    const std::size_t b = s.find_first_not_of(space);
    if (b == std::string_view::npos) return {};
    return std::string(s.substr(b, s.find_last_not_of(space) - b + 1));
}

// The NAME = VALUE lines of the file's [tool] section. As Boost's reader
// took the file: '#' starts a comment anywhere on a line, white space
// around names and values is dropped, lines before the first [section]
// are no tool's. A line of none of these forms is an error in any section:
// the file is every tool's.
std::vector<ConfigLine> read_config_section(std::istream& in, const std::string& path, const char* tool) {
    std::vector<ConfigLine> lines;
    std::string raw, section;
    for (std::size_t n = 1; std::getline(in, raw); ++n) {
        const std::string s = trim(std::string_view(raw).substr(0, raw.find('#')));
        if (s.empty()) continue;
        if (s.front() == '[' && s.back() == ']') {
            section = trim(std::string_view(s).substr(1, s.size() - 2));
            continue;
        }
        const std::size_t eq = s.find('=');
        const std::string key = eq == std::string::npos ? std::string() : trim(std::string_view(s).substr(0, eq));
        if (key.empty())
            throw ConfigError(path + ":" + std::to_string(n) + ": '" + s +
                              "' is neither NAME = VALUE, nor a [section], nor a # comment");
        if (section == tool) lines.push_back({n, s, key, trim(std::string_view(s).substr(eq + 1))});
    }
    return lines;
}

bool is_flag(const po::option_description& d) { return d.semantic()->max_tokens() == 0; }

// A line as the option it sets: a flag with no value, another with its one.
po::option option_of(const po::option_description& d, const ConfigLine& l) {
    return po::option(l.key, is_flag(d) ? std::vector<std::string>() : std::vector<std::string>{l.value});
}

// The options of the config file's [tool] section. Every line is checked,
// and a mistake said with the file's name and the line's number.
void store_config(const char* tool, const po::options_description& all, const std::vector<po::option>& given,
                  po::variables_map& vm) {
    g_config_used.clear();
    const std::string path = config_path();
    if (path.empty()) return;
    // A file of settings, not a pipe or a device that would be read
    // forever (/dev/zero), nor one larger than settings can be.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;
    if (!S_ISREG(st.st_mode)) throw ConfigError(path + ": not a regular file");
    if (st.st_size > (1 << 20)) throw ConfigError(path + ": larger than 1 MiB, too large for a file of settings");
    std::ifstream in(path);
    if (!in) return;
    std::vector<ConfigLine> lines = read_config_section(in, path, tool);
    std::vector<ConfigLine> used;
    std::map<std::string, std::size_t> seen;   // options that take one value: where they were set
    po::variables_map check;                   // each value, checked on its own line
    for (ConfigLine& l : lines) {
        const std::string at = path + ":" + std::to_string(l.number) + ": ";
        // "input" is where the arguments go, not an option of the file.
        const po::option_description* d = l.key == "input" ? nullptr : all.find_nothrow(l.key, false);
        if (!d) throw ConfigError(at + "unknown option '" + l.key + "' in [" + tool + "]");
        if (is_flag(*d)) {
            // Set by nothing, true, yes, on or 1; left unset by false, no,
            // off or 0 (Boost's reader set a flag whatever its value).
            const std::string v = msg::to_lower_ascii(l.value);
            if (v == "false" || v == "no" || v == "off" || v == "0") continue;   // not set
            if (!v.empty() && v != "true" && v != "yes" && v != "on" && v != "1")
                throw ConfigError(at + l.key + " takes no value but true or false, not '" + l.value + "'");
        }
        if (!d->semantic()->is_composing()) {
            const auto [first, fresh] = seen.emplace(l.key, l.number);
            if (!fresh)
                throw ConfigError(at + l.key + " is set twice in [" + tool + "] (first on line " +
                                  std::to_string(first->second) + ")");
        }
        po::parsed_options one(&all);
        one.options.push_back(option_of(*d, l));
        try {
            po::store(one, check);
        } catch (const po::error& e) {
            throw ConfigError(at + e.what());
        }
        used.push_back(std::move(l));
    }
    // The command line wins: its options replace the file's, and drop those
    // of the file they exclude; an option that goes with another is used
    // only with it.
    std::erase_if(used, [&](const ConfigLine& l) { return overridden(l, given); });
    const auto is_set = [&](const std::string& key) {
        return std::any_of(given.begin(), given.end(), [&](const po::option& o) { return o.string_key == key; }) ||
               std::any_of(used.begin(), used.end(), [&](const ConfigLine& l) { return l.key == key; });
    };
    std::vector<std::string> alone;   // options whose partner is not set
    for (const auto& [option, with] : g_goes_with)
        if (!is_set(with)) alone.push_back(option);
    std::erase_if(used, [&](const ConfigLine& l) { return std::find(alone.begin(), alone.end(), l.key) != alone.end(); });
    po::parsed_options mine(&all);
    for (const ConfigLine& l : used) mine.options.push_back(option_of(*all.find_nothrow(l.key, false), l));
    po::store(mine, vm);
    g_config_file = path;
    g_config_used = std::move(used);
}

// After a usage error: the lines of the config file the run used, which
// may hold the mistake (jobs = 0) although the message speaks of options.
void name_config_lines(const char* tool) {
    for (const ConfigLine& l : g_config_used)
        complain(tool, g_config_file + ":" + std::to_string(l.number) + ": note: this run took '" + l.text +
                           "' from the config file");
}

// The token an optional value's option alone stands for: no argument can
// hold it (a NUL), so it never comes from the command line itself.
const std::string kAlone("\0alone", 6);

class OptionalValue final : public po::typed_value<std::string> {
public:
    OptionalValue(std::string value_name, std::string alone)
        : po::typed_value<std::string>(nullptr), value_name_(std::move(value_name)), alone_(std::move(alone)) {}
    std::string name() const override { return "[=" + value_name_ + "]"; }
    void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
        if (tokens.size() != 1 || tokens[0] != kAlone) return po::typed_value<std::string>::xparse(store, tokens);
        po::validators::check_first_occurrence(store);   // given twice: said, as of any option
        store = alone_;
    }

private:
    std::string value_name_, alone_;
};

bool is_optional_value(const po::option_description& d) {
    return dynamic_cast<const OptionalValue*>(d.semantic().get()) != nullptr;
}

// Boost gives an option whose value it may take the next word when it is
// not an option (cmdline::run, for implicit values too), whatever parser
// found the option: an optional value's option alone is therefore handed
// over with kAlone as its value, which leaves it nothing to take.
std::pair<std::string, std::string> optional_value_alone(const po::options_description& all,
                                                         const std::string& token) {
    if (token.size() <= 2 || token.compare(0, 2, "--") != 0 || token.find('=') != std::string::npos) return {};
    const po::option_description* d = nullptr;
    try {
        d = all.find_nothrow(token.substr(2), true);   // abbreviated, as the parser allows
    } catch (const po::error&) {
        return {};   // ambiguous: the parser says so
    }
    if (!d || !is_optional_value(*d)) return {};
    return {d->long_name(), kAlone};
}

// Boost prints an option and its value apart ("--add-message-id [=DOMAIN]"):
// joined, as the value is given ("--add-message-id[=DOMAIN]"), the space
// moved after it so that the descriptions stay in their column.
std::string join_optional_values(std::string help, const po::options_description& visible) {
    for (const auto& d : visible.options()) {
        if (!is_optional_value(*d)) continue;
        const std::string apart = "--" + d->long_name() + " [=";
        const std::size_t at = help.find(apart);
        const std::size_t end = at == std::string::npos ? at : help.find(']', at);
        if (end == std::string::npos) continue;
        help.insert(end + 1, 1, ' ');
        help.erase(at + apart.size() - 3, 1);
    }
    return help;
}

}  // namespace

void exclusive_options(std::initializer_list<const char*> group) {
    g_exclusive.emplace_back(group.begin(), group.end());
}

void option_goes_with(const char* option, const char* with) { g_goes_with.emplace_back(option, with); }

po::typed_value<std::string>* optional_value(const char* value_name, std::string alone) {
    return new OptionalValue(value_name, std::move(alone));
}

bool wants_color(int fd) {
    switch (g_color) {
    case ColorMode::always: return true;
    case ColorMode::never: return false;
    case ColorMode::automatic: break;
    }
    const char* no = std::getenv("NO_COLOR");
    return isatty(fd) == 1 && !(no && *no);
}

std::variant<Cli, int> parse_cli(int argc, char** argv, const ToolInfo& info,
                                 po::options_description& tool_options) {
    po::options_description standard("Standard options");
    standard.add_options()
        ("help,h", "show this help and exit")
        ("version", "show the version and exit")
        ("quiet,q", "print nothing but errors (no summary, no progress bar)")
        ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
         "colour diagnostics: auto (on a terminal, unless NO_COLOR is set), always or never");
    po::options_description visible;
    visible.add(tool_options).add(standard);
    po::options_description all;
    all.add(visible);
    all.add_options()("input", po::value<std::vector<std::string>>(), "input files");
    po::positional_options_description pos;
    pos.add("input", -1);

    Cli cli;
    try {
        const po::parsed_options given =
            po::command_line_parser(argc, argv)
                .options(all)
                .positional(pos)
                .extra_parser([&all](const std::string& token) { return optional_value_alone(all, token); })
                .run();
        po::store(given, cli.vm);
        store_config(info.name, all, given.options, cli.vm);
        for (const po::option& o : given.options)
            if (o.position_key == -1) cli.given.push_back(o);
        po::notify(cli.vm);
    } catch (const ConfigError& e) {
        complain(info.name, e.what());
        return 64;
    } catch (const po::error& e) {
        complain(info.name, e.what());
        std::cerr << "Try '" << info.name << " --help' for more information.\n";
        return 64;
    }
    const std::string color = cli.vm["color"].as<std::string>();
    if (color == "auto") g_color = ColorMode::automatic;
    else if (color == "always") g_color = ColorMode::always;
    else if (color == "never") g_color = ColorMode::never;
    else {
        complain(info.name, "--color takes auto, always or never, not '" + color + "'");
        std::cerr << "Try '" << info.name << " --help' for more information.\n";
        return 64;
    }
    if (cli.vm.count("help")) {
        std::ostringstream options;
        options << visible;
        std::cout << "Usage: " << info.synopsis << "\n" << info.summary << "\n\n"
                  << join_optional_values(options.str(), visible);
        if (info.epilog && *info.epilog) std::cout << "\n" << info.epilog;
        return 0;
    }
    if (cli.vm.count("version")) {
        std::cout << info.name << " (msgtools) " << MSGTOOLS_VERSION << "\n";
        return 0;
    }
    cli.quiet = cli.vm.count("quiet") > 0;
    set_progress_allowed(!cli.quiet);
    if (cli.vm.count("input")) cli.inputs = cli.vm["input"].as<std::vector<std::string>>();
    return cli;
}


}  // namespace msgtools
