// inputs.cpp - files, stdin, directories and mbox archives.
#include "common/inputs.hpp"

#include <msg/maildir.hpp>
#include <msg/mbox.hpp>
#include <msg/source.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <system_error>

#include "common/cli.hpp"
#include "common/exit.hpp"
#include "common/progress.hpp"

namespace msgtools {
namespace {

namespace fs = std::filesystem;

int code_for_errno(int e) {
    return e == ENOENT || e == EACCES || e == ENOTDIR || e == EISDIR || e == ELOOP
               ? exit_code::no_input
               : exit_code::io_error;
}

int read_mbox(const std::string& path, const InputOptions& o,
              const std::function<bool(const InputMessage&)>& fn, bool& stop) {
    std::optional<msg::MboxLock> lock;
    if (o.lock && path != "-") {
        auto l = msg::MboxLock::acquire(path, std::chrono::seconds(30));
        if (!l.ok()) {
            complain(o.tool, l.error().message);
            return exit_code::temp_fail;
        }
        lock.emplace(std::move(*l));
    }
    msg::MboxOptions mo;
    mo.format = o.format;
    auto reader = msg::MboxReader::open(path, mo);
    if (!reader.ok()) {
        complain(o.tool, reader.error().message);
        return code_for_errno(reader.error().errnum);
    }
    struct stat st {};
    const std::uint64_t size = o.progress && path != "-" && ::stat(path.c_str(), &st) == 0 && !(*reader)->compressed()
                                   ? static_cast<std::uint64_t>(st.st_size)
                                   : 0;
    Progress progress(o.progress ? size : 0, "messages");
    msg::MboxMessage m;
    InputMessage im;
    im.file = path == "-" ? "<stdin>" : path;
    im.source = path;
    im.from_mbox = true;
    std::uint64_t count = 0;
    for (;;) {
        auto r = (*reader)->next(m);
        if (!r.ok()) {
            complain(o.tool, r.error().message);
            return r.error().errnum ? exit_code::io_error : exit_code::data_error;
        }
        if (!*r) break;
        ++count;
        im.index = m.index;
        im.data = m.data;
        im.first_line = m.data_line;
        im.offset = m.data_offset;
        im.framing = &m.defects;
        im.mbox = &m;
        im.leading = m.index == 0 ? (*reader)->leading_garbage() : 0;
        im.leading_bytes = m.index == 0 ? (*reader)->leading() : std::string_view{};
        if (o.progress) progress.update(m.data_offset + m.data.size(), count);
        if (!fn(im)) {
            stop = true;
            return exit_code::ok;
        }
    }
    if (count == 0) {
        complain(o.tool, im.file + ": not an mbox archive (no 'From ' line starts a message)");
        return exit_code::data_error;
    }
    if ((*reader)->leading_garbage() > 0 && o.report_leading)
        complain(o.tool, im.file + ": " + std::to_string((*reader)->leading_garbage()) +
                             " bytes before the first 'From ' line are not part of any message");
    return exit_code::ok;
}

int read_file(const std::string& path, const InputOptions& o,
              const std::function<bool(const InputMessage&)>& fn, bool& stop,
              const msg::MaildirFile* maildir = nullptr) {
    auto src = path == "-" ? msg::Source::read_fd(0, "<stdin>") : msg::Source::open(path);
    if (!src.ok()) {
        complain(o.tool, src.error().message);
        return code_for_errno(src.error().errnum);
    }
    InputMessage im;
    im.file = path == "-" ? "<stdin>" : path;
    im.source = path;
    im.data = src->data();
    im.maildir = maildir;
    if (!fn(im)) stop = true;
    return exit_code::ok;
}

}  // namespace

namespace {
std::vector<std::string> g_outputs;   // the output format names of this tool's --format
}

void add_input_options(po::options_description& opts, std::initializer_list<const char*> outputs) {
    g_outputs.assign(outputs.begin(), outputs.end());
    opts.add_options()("mbox", "inputs are mbox archives (plain or gzip)");
    if (g_outputs.empty()) {
        opts.add_options()("format", po::value<std::vector<std::string>>()->value_name("FORMAT"),
                           "with --mbox: the archives' variant, mboxrd (default), mboxo, mboxcl, mboxcl2 or detect");
    } else {
        std::string names;
        for (const std::string& o : g_outputs) names += (names.empty() ? "" : ", ") + o;
        opts.add_options()("format", po::value<std::vector<std::string>>()->composing()->value_name("FORMAT"),
                           ("the output: " + names + " (default " + g_outputs.front() +
                            "); with --mbox, also the archives' variant: mboxrd (default), mboxo, mboxcl, mboxcl2 "
                            "or detect (give --format twice for both)").c_str());
    }
    opts.add_options()("mboxo", "with --mbox: the same as --format mboxo");
}

int read_input_options(const po::variables_map& vm, InputOptions& in, std::string* output) {
    in.mbox = vm.count("mbox") > 0;
    const bool mboxo = vm.count("mboxo") > 0;
    if (mboxo) in.format = msg::MboxFormat::mboxo;
    if (!vm.count("format")) return exit_code::ok;
    bool have_output = false, have_mbox = false;
    for (const std::string& name : vm["format"].as<std::vector<std::string>>()) {
        if (std::find(g_outputs.begin(), g_outputs.end(), name) != g_outputs.end()) {
            if (have_output) {
                complain(in.tool, "two output formats in --format");
                return exit_code::usage;
            }
            have_output = true;
            if (output) *output = name;
            continue;
        }
        const auto f = msg::parse_format(name);
        if (!f) {
            std::string known;
            for (const std::string& o : g_outputs) known += o + ", ";
            complain(in.tool, "unknown format '" + name + "' (" + known + "mboxrd, mboxo, mboxcl, mboxcl2 or detect)");
            return exit_code::usage;
        }
        if (have_mbox) {
            complain(in.tool, "two mbox formats in --format");
            return exit_code::usage;
        }
        have_mbox = true;
        if (mboxo && *f != msg::MboxFormat::mboxo) {
            complain(in.tool, "--mboxo and --format " + name + " contradict each other");
            return exit_code::usage;
        }
        in.format = *f;
    }
    return exit_code::ok;
}

namespace {

// The files a directory stands for: every regular file below it,
// but for a Maildir (at any depth) only the messages of its cur/ and new/
// (not tmp/, not a mail server's index files); Maildir++ subfolders are
// walked too. Like find(1), symbolic links are not followed, so that a
// walk never leaves the tree it was given.
struct Walked {
    std::string path;
    std::optional<msg::MaildirFile> maildir;
};

void walk(const fs::path& dir, std::vector<Walked>& out, std::error_code& ec) {
    const bool maildir = msg::is_maildir(dir.string());
    if (maildir) {
        auto files = msg::list_maildir(dir.string());
        if (!files) {
            ec = std::error_code(files.error().errnum, std::generic_category());
            return;
        }
        for (msg::MaildirFile& f : *files) out.push_back({f.path, std::move(f)});
    }
    std::vector<fs::path> subdirs, files;
    for (auto it = fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code e2;
        if (it->is_symlink(e2)) continue;
        const std::string name = it->path().filename().string();
        if (it->is_directory(e2)) {
            if (!maildir || (name != "cur" && name != "new" && name != "tmp")) subdirs.push_back(it->path());
        } else if (!maildir && it->is_regular_file(e2)) {
            files.push_back(it->path());
        }
    }
    for (const fs::path& f : files) out.push_back({f.string(), std::nullopt});
    for (const fs::path& d : subdirs)
        if (!ec) walk(d, out, ec);
}

}  // namespace

int for_each_message(const std::vector<std::string>& inputs, const InputOptions& o,
                     const std::function<bool(const InputMessage&)>& fn) {
    std::vector<std::string> list = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
    int worst = exit_code::ok;
    bool stop = false;
    for (const std::string& in : list) {
        if (stop) break;
        std::error_code ec;
        if (in != "-" && fs::is_directory(in, ec)) {
            std::vector<Walked> files;
            walk(in, files, ec);
            if (ec) {
                complain(o.tool, "cannot read directory " + in + ": " + ec.message());
                worst = exit_code::worst(worst, exit_code::no_input);
            }
            std::sort(files.begin(), files.end(), [](const Walked& a, const Walked& b) { return a.path < b.path; });
            for (const Walked& f : files) {
                if (stop) break;
                // A Maildir's files are messages even when archives are read.
                const bool archive = o.mbox && !f.maildir;
                worst = exit_code::worst(worst, archive ? read_mbox(f.path, o, fn, stop)
                                                        : read_file(f.path, o, fn, stop, f.maildir ? &*f.maildir : nullptr));
            }
            continue;
        }
        worst = exit_code::worst(worst, o.mbox ? read_mbox(in, o, fn, stop) : read_file(in, o, fn, stop));
    }
    return worst;
}

}  // namespace msgtools
