// cli.cpp - standard options and the config file.
#include "common/cli.hpp"

#include "common/exit.hpp"
#include "common/progress.hpp"
#include "msg/charset.hpp"
#include "msg/files.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <new>
#include <fstream>
#include <iostream>
#include <streambuf>

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

}  // namespace

void complain(const char* tool, const std::string& message) {
    // Names and text from files and peers (an entry's name, a filename) may
    // hold control bytes: escaped, line by line, before they reach a terminal.
    std::cerr << tool << ": " << msg::printable_lines(message) << '\n';
}

int run_tool(const char* tool, int (*body)(int, char**), int argc, char** argv) {
    static const char* name = tool;
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
        return body(argc, argv);
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

// Options of the config file's [tool] section, renamed without the prefix.
void store_config(const char* tool, const po::options_description& all, po::variables_map& vm) {
    std::string path = config_path();
    if (path.empty()) return;
    std::ifstream in(path);
    if (!in) return;
    po::parsed_options parsed = po::parse_config_file(in, all, true);
    std::string prefix = std::string(tool) + ".";
    po::parsed_options mine(&all);
    for (po::option& o : parsed.options) {
        if (o.string_key.rfind(prefix, 0) != 0) continue;
        std::string key = o.string_key.substr(prefix.size());
        if (!all.find_nothrow(key, false)) {
            throw po::error("unknown option '" + key + "' in [" + tool + "] of " + path);
        }
        o.string_key = key;
        o.unregistered = false;
        mine.options.push_back(o);
    }
    po::store(mine, vm);
}

}  // namespace

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
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), cli.vm);
        store_config(info.name, all, cli.vm);
        po::notify(cli.vm);
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
        std::cout << "Usage: " << info.synopsis << "\n" << info.summary << "\n\n" << visible;
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
