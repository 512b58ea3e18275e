// inputs.cpp - files, stdin, directories, Maildirs and mbox archives.
#include "msg/inputs.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "msg/mh.hpp"
#include "msg/source.hpp"

namespace msg {

namespace {

namespace fs = std::filesystem;

InputProblem problem_for(int e) {
    if (e == EFBIG) return InputProblem::unusable;  // over the limit of what is read whole
    if (e == ENOMEM) return InputProblem::no_memory;
    const bool missing =
        e == ENOENT || e == EACCES || e == ENOTDIR || e == EISDIR || e == ELOOP || e == ENAMETOOLONG;
    return missing ? InputProblem::missing : InputProblem::unreadable;
}

void fail(const InputOptions& o, InputCounts& c, InputProblem p, const std::string& path, const std::string& message) {
    c.add(p);
    if (o.on_error) o.on_error(p, path, message);
}

void read_mbox(const std::string& path, const InputOptions& o, const std::function<bool(const InputMessage&)>& fn,
               bool& stop, InputCounts& c) {
    std::optional<MboxLock> lock;
    if (o.lock && path != "-") {
        auto l = MboxLock::acquire(path, std::chrono::seconds(30));
        if (!l.ok()) {
            return fail(o, c, InputProblem::locked, path, l.error().message);
        }
        lock.emplace(std::move(*l));
    }
    MboxOptions mo;
    mo.format = o.format;
    auto reader = MboxReader::open(path, mo);
    if (!reader.ok()) {
        return fail(o, c, problem_for(reader.error().errnum), path, reader.error().message);
    }
    struct stat st {};
    const std::uint64_t size = o.on_progress && path != "-" && ::stat(path.c_str(), &st) == 0 && !(*reader)->compressed()
                                   ? static_cast<std::uint64_t>(st.st_size)
                                   : 0;
    MboxMessage m;
    InputMessage im;
    im.file = path == "-" ? "<stdin>" : path;
    im.source = path;
    std::uint64_t count = 0;
    for (;;) {
        auto r = (*reader)->next(m);
        if (!r.ok()) {
            // An errno: the archive could not be read on (or its message
            // not held); none: what was read is not a usable archive.
            const int e = r.error().errnum;
            return fail(o, c, e == ENOMEM ? InputProblem::no_memory : e ? InputProblem::unreadable : InputProblem::unusable,
                        path, r.error().message);
        }
        if (!*r) break;
        ++count;
        point_at(im, m);
        im.leading = m.index == 0 ? (*reader)->leading_garbage() : 0;
        im.leading_bytes = m.index == 0 ? (*reader)->leading() : std::string_view{};
        if (o.on_progress) o.on_progress(m.data_offset + m.data.size(), size, count);
        if (!fn(im)) {
            stop = true;
            return;
        }
    }
    // An empty file is an archive of no messages (a mailbox with no new
    // mail); bytes and no From_ line are not an archive.
    if (count == 0 && (*reader)->leading_garbage() > 0) {
        return fail(o, c, InputProblem::unusable, path, im.file + ": not an mbox archive (no 'From ' line starts a message)");
    }
    if ((*reader)->leading_garbage() > 0 && o.on_leading)
        o.on_leading(im.file + ": " + std::to_string((*reader)->leading_garbage()) +
                     " bytes before the first 'From ' line are not part of any message");
}

void read_file(const std::string& path, const InputOptions& o, const std::function<bool(const InputMessage&)>& fn,
               bool& stop, InputCounts& c, const InputItem* folder = nullptr) {
    auto src = path == "-" ? Source::read_fd(0, "<stdin>") : Source::open(path, o.max_read);
    if (!src.ok()) return fail(o, c, problem_for(src.error().errnum), path, src.error().message);
    InputMessage im;
    im.file = path == "-" ? "<stdin>" : path;
    im.source = path;
    im.data = src->data();
    im.read_from = &*src;
    std::optional<MaildirFile> file;   // with its time, from the file read
    if (folder && folder->maildir) {
        file.emplace(maildir_file(path));
    } else if (folder && folder->mh) {
        file.emplace(mh_file(path, folder->flags));
    }
    if (file) {
        file->mtime = src->mtime();
        im.maildir = &*file;
    }
    if (!fn(im)) stop = true;
    // A large file is mapped: cut short while it was worked on, what was
    // made of it is of zeros past its new end; said as the read error it
    // is (after the callback, which is where the pages were touched).
    if (Status whole = src->intact(); !whole) fail(o, c, InputProblem::unreadable, path, whole.error().message);
}

// The files mail clients keep beside their mbox files, never archives
// themselves: an Apple Mail export's Info.plist and table_of_contents,
// Thunderbird's summaries (*.msf) and state files, macOS's .DS_Store.
// Also the index files KMail keeps beside its folders (.NAME.index,
// .NAME.index.ids, .NAME.index.sorted) and those Dovecot keeps for mbox
// folders (dovecot.index*, dovecot-uidlist), and the subscription lists
// of UW-IMAP and Pine (.subscriptions, .mailboxlist). (Not Dovecot's
// "subscriptions": a folder of that name is mail.)
bool client_metadata(std::string_view name) {
    static constexpr std::string_view names[] = {"Info.plist", "table_of_contents", ".DS_Store", "popstate.dat",
                                                 "msgFilterRules.dat", "filterlog.html", "folderTree.json",
                                                 "dovecot-uidlist", "dovecot-keywords", ".subscriptions",
                                                 ".mailboxlist"};
    if (name.ends_with(".msf")) return true;
    if (name.starts_with("dovecot.index") || name.starts_with("dovecot.list.index")) return true;
    if (name.starts_with('.') &&
        (name.ends_with(".index") || name.ends_with(".index.ids") || name.ends_with(".index.sorted")))
        return true;
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// The files a directory stands for: every regular file below it,
// but for a Maildir (at any depth) only the messages of its cur/ and new/
// (not tmp/, not a mail server's index files); below a Maildir only
// Maildirs give messages (Maildir++ subfolders, Dovecot's folders), and
// other directories there (Courier's courierimapkeywords/, ...) nothing;
// of an MH folder only its numbered files; elsewhere every file but a mail
// client's metadata (client_metadata: an index or a .DS_Store is neither
// a message nor an archive). Like find(1), symbolic links are not followed,
// so that a walk never leaves the tree it was given. A file that is not a
// Maildir's or an MH folder's is an item of kind `plain`; theirs are
// always message files. A
// directory that cannot be read is a problem item of its own, with its
// path (so in its place once sorted), and the walk goes on.
// A directory's identity (device, inode), to know it by whatever path.
using DirId = std::pair<dev_t, ino_t>;
std::optional<DirId> dir_id(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
    return DirId{st.st_dev, st.st_ino};
}

void walk(const fs::path& dir, InputItem::Kind plain, std::vector<InputItem>& out, const std::vector<DirId>& leave_out,
          bool below_maildir = false) {
    if (!leave_out.empty())
        if (const auto id = dir_id(dir.string()); id && std::find(leave_out.begin(), leave_out.end(), *id) != leave_out.end())
            return;
    auto problem = [&](const std::string& path, int e) {
        out.push_back({.kind = InputItem::Kind::problem, .path = path, .problem = problem_for(e),
                       .message = "cannot read directory " + path + ": " + std::strerror(e)});
    };
    const bool maildir = is_maildir(dir.string());
    if (maildir) {
        auto files = list_maildir_paths(dir.string(), MaildirOrder::path);
        if (!files) return problem(dir.string(), files.error().errnum);
        out.reserve(out.size() + files->size());
        for (std::string& f : *files) out.push_back({.kind = InputItem::Kind::file, .path = std::move(f), .maildir = true});
    }
    // An MH folder's messages are its numbered files; its other files are
    // a reader's state, never messages or archives.
    const bool mh = !maildir && !below_maildir && is_mh_folder(dir.string());
    if (mh) {
        auto files = list_mh(dir.string());
        if (!files) return problem(dir.string(), files.error().errnum);
        out.reserve(out.size() + files->size());
        for (MaildirFile& f : *files)
            out.push_back({.kind = InputItem::Kind::file, .path = std::move(f.path), .mh = true, .flags = std::move(f.flags)});
    }
    std::vector<fs::path> subdirs, files;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code e2;
        if (it->is_symlink(e2)) continue;
        const std::string name = it->path().filename().string();
        if (it->is_directory(e2)) {
            if (!maildir || (name != "cur" && name != "new" && name != "tmp")) subdirs.push_back(it->path());
        } else if (!maildir && !mh && !below_maildir && it->is_regular_file(e2)) {
            if (client_metadata(name)) continue;
            files.push_back(it->path());
        }
    }
    if (ec) problem(dir.string(), ec.value());
    for (const fs::path& f : files) out.push_back({.kind = plain, .path = f.string()});
    for (const fs::path& d : subdirs) walk(d, plain, out, leave_out, maildir || below_maildir);
}

// Items in path order, but an MH folder's messages in number order
// (1, 2, 10; a deleted ",N" after N), where they are in the folder's place.
void sort_by_path(std::vector<InputItem>& items) {
    const auto by_path = [](const InputItem& a, const InputItem& b) { return a.path < b.path; };
    if (std::none_of(items.begin(), items.end(), [](const InputItem& i) { return i.mh; })) {
        // Already so for a Maildir alone (its listing is in path order).
        if (!std::is_sorted(items.begin(), items.end(), by_path)) std::sort(items.begin(), items.end(), by_path);
        return;
    }
    // An MH message's key: its folder's path, "/", its number in 20 digits,
    // 0 for a message and 1 for a deleted one (",N" after "N"), its name.
    const auto key = [](const InputItem& i) {
        if (!i.mh) return i.path;
        const std::size_t slash = i.path.rfind('/');
        const std::string_view name = std::string_view(i.path).substr(slash + 1);
        bool deleted = false;
        const std::string n = std::to_string(mh_number(name, &deleted).value_or(0));
        return i.path.substr(0, slash + 1) + std::string(20 - n.size(), '0') + n + (deleted ? "/1" : "/0") +
               std::string(name);
    };
    std::vector<std::pair<std::string, std::size_t>> keys;
    keys.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) keys.emplace_back(key(items[i]), i);
    std::sort(keys.begin(), keys.end());
    std::vector<InputItem> sorted;
    sorted.reserve(items.size());
    for (const auto& k : keys) sorted.push_back(std::move(items[k.second]));
    items = std::move(sorted);
}

}  // namespace

void InputCounts::add(InputProblem p) {
    switch (p) {
    case InputProblem::missing: ++missing; break;
    case InputProblem::unusable: ++unusable; break;
    case InputProblem::unreadable: ++unreadable; break;
    case InputProblem::locked: ++locked; break;
    case InputProblem::no_memory: ++no_memory; break;
    }
}

void point_at(InputMessage& im, const MboxMessage& m) {
    im.from_mbox = true;
    im.index = m.index;
    im.data = m.data;
    im.first_line = m.data_line;
    im.offset = m.data_offset;
    im.framing = &m.defects;
    im.mbox = &m;
    im.keep = m.keep;
}

std::vector<InputItem> list_input(const std::string& in, const InputOptions& o) {
    std::vector<InputItem> items;
    std::error_code ec;
    if (in != "-" && fs::is_directory(in, ec)) {
        std::vector<DirId> leave_out;
        for (const std::string& d : o.leave_out)
            if (const auto id = dir_id(d)) leave_out.push_back(*id);
        walk(in, o.mbox ? InputItem::Kind::archive : InputItem::Kind::file, items, leave_out);
        sort_by_path(items);
        return items;
    }
    items.push_back({.kind = o.mbox ? InputItem::Kind::archive : InputItem::Kind::file, .path = in});
    return items;
}

bool read_input(const InputItem& item, const InputOptions& o, const std::function<bool(const InputMessage&)>& fn,
                InputCounts& c) {
    bool stop = false;
    switch (item.kind) {
    case InputItem::Kind::problem: fail(o, c, item.problem, item.path, item.message); break;
    case InputItem::Kind::archive: read_mbox(item.path, o, fn, stop, c); break;
    case InputItem::Kind::file: read_file(item.path, o, fn, stop, c, &item); break;
    }
    return !stop;
}

InputCounts for_each_message(const std::vector<std::string>& inputs, const InputOptions& o,
                             const std::function<bool(const InputMessage&)>& fn) {
    const std::vector<std::string> list = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
    InputCounts c;
    for (const std::string& in : list)
        for (const InputItem& item : list_input(in, o))
            if (!read_input(item, o, fn, c)) return c;
    return c;
}

}  // namespace msg
