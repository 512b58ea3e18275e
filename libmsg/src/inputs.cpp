// inputs.cpp - files, stdin, directories, Maildirs and mbox archives.
#include "msg/inputs.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "detail/sorted_runs.hpp"
#include "detail/spool_io.hpp"
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
               bool& stop, InputCounts& c, const InputItem* folder = nullptr, int renames = 0) {
    auto src = path == "-" ? Source::read_fd(0, "<stdin>") : Source::open(path, o.max_read);
    if (!src.ok()) {
        // A Maildir's message that a reader renamed since it was listed
        // (its flags changed, or it was moved from new/ to cur/) is read
        // where it is now, under its new flags; a few times over, for a
        // reader that renames it again meanwhile.
        if (folder && folder->maildir && src.error().errnum == ENOENT && renames < 3)
            if (const auto now = maildir_renamed(path)) return read_file(*now, o, fn, stop, c, folder, renames + 1);
        return fail(o, c, problem_for(src.error().errnum), path, src.error().message);
    }
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

// A directory's identity (device, inode), to know it by whatever path.
using DirId = std::pair<dev_t, ino_t>;
std::optional<DirId> dir_id(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
    return DirId{st.st_dev, st.st_ino};
}

// An item as a string of the listing's runs (no NUL in it): its place
// in the order, each byte 1 written as 1 2 and the end as 1 1, so that the
// strings compare as the places do (a place before the longer ones it
// begins); then its kind, whether it is a Maildir's or an MH folder's,
// its problem, its path ("=" when it is its place, else its length, ":"
// and its bytes), its flags (length, ":", bytes) and its message.
void encode(std::string& out, std::string_view place, const InputItem& item) {
    out.clear();
    for (std::size_t i = 0, j; i < place.size(); i = j + 1) {
        j = place.find('\x01', i);
        if (j == std::string_view::npos) {
            out.append(place.substr(i));
            break;
        }
        out.append(place.substr(i, j + 1 - i)).push_back('\x02');
    }
    out.append("\x01\x01");
    out.push_back(static_cast<char>('0' + static_cast<int>(item.kind)));
    out.push_back(static_cast<char>('0' + (item.maildir ? 1 : 0) + (item.mh ? 2 : 0)));
    out.push_back(static_cast<char>('0' + static_cast<int>(item.problem)));
    auto field = [&out](std::string_view f) { out.append(std::to_string(f.size())).append(1, ':').append(f); };
    if (item.path == place) out.push_back('=');
    else field(item.path);
    field(item.flags);
    out.append(item.message);
}

// False for a string encode() did not write (a temporary file damaged
// under the listing).
bool decode(std::string_view s, InputItem& item) {
    std::size_t end = 0;   // of the place
    item.path.clear();
    while (true) {
        const std::size_t one = s.find('\x01', end);
        if (one == std::string_view::npos || one + 1 >= s.size()) return false;
        item.path.append(s.substr(end, one - end));
        end = one + 2;
        if (s[one + 1] == '\x01') break;
        item.path.push_back('\x01');
    }
    if (s.size() < end + 4) return false;
    const int kind = s[end] - '0', folder = s[end + 1] - '0', problem = s[end + 2] - '0';
    if (kind < 0 || kind > 2 || folder < 0 || folder > 3 || problem < 0 || problem > 4) return false;
    item.kind = static_cast<InputItem::Kind>(kind);
    item.maildir = folder & 1;
    item.mh = folder & 2;
    item.problem = static_cast<InputProblem>(problem);
    std::size_t at = end + 3;
    auto field = [&](std::string& f) {
        const std::size_t colon = s.find(':', at);
        if (colon == std::string_view::npos || colon == at || colon - at > 9) return false;
        std::size_t n = 0;
        for (std::size_t k = at; k < colon; ++k) {
            if (s[k] < '0' || s[k] > '9') return false;
            n = n * 10 + static_cast<std::size_t>(s[k] - '0');
        }
        if (n > s.size() - colon - 1) return false;
        f.assign(s.substr(colon + 1, n));
        at = colon + 1 + n;
        return true;
    };
    if (s[at] == '=') ++at;
    else if (!field(item.path)) return false;
    if (!field(item.flags)) return false;
    item.message.assign(s.substr(at));
    return true;
}

}  // namespace

struct InputListing::Impl {
    std::optional<InputItem> one;   // a file, an archive or standard input
    std::string input;
    std::optional<detail::SortedRuns> runs;
    bool said = false;   // the problem of a listing not read back
    std::optional<Error> in_memory;

    // The files a directory stands for: every regular file below it,
    // but for a Maildir (at any depth) only the messages of its cur/ and new/
    // (not tmp/, not a mail server's index files); below a Maildir only
    // Maildirs give messages (Maildir++ subfolders, Dovecot's folders), and
    // other directories there (Courier's courierimapkeywords/, ...) nothing;
    // of an MH folder only its numbered files (its subfolders are MH
    // folders); elsewhere every file but a mail client's metadata
    // (client_metadata: an index or a .DS_Store is neither a message nor an
    // archive), and for spool entries only what a spool calls entries.
    // Like find(1), symbolic links are not followed, so that a walk never
    // leaves the tree it was given. A file that is not a
    // Maildir's or an MH folder's is an item of kind `plain`; theirs are
    // always message files. A directory that cannot be read is a problem
    // item of its own, with its path (so in its place once sorted), and the
    // walk goes on. Each is put in its run (add()) as it is met.
    struct Walk {
        Impl& impl;
        InputItem::Kind plain;
        std::vector<DirId> leave_out;
        std::size_t run;
        bool entries;   // InputOptions::spool_entries
        std::string buf;
        InputItem item;

        void add(std::string_view place) {
            encode(buf, place, item);
            impl.runs->add(buf, run);
        }
        void file(std::string_view path, bool maildir, bool mh, std::string_view flags = {}) {
            item.kind = maildir || mh ? InputItem::Kind::file : plain;
            item.path.assign(path);
            item.maildir = maildir;
            item.mh = mh;
            item.flags.assign(flags);
            item.problem = InputProblem::missing;
            item.message.clear();
        }
        // `what`: the directory that could not be read, when it is not
        // `path` (a Maildir's cur/ or new/, an item of the Maildir's).
        void problem(const std::string& path, int e, const std::string& what = {}) {
            item = InputItem{.kind = InputItem::Kind::problem, .path = path, .problem = problem_for(e),
                             .message = "cannot read directory " + (what.empty() ? path : what) + ": " + std::strerror(e)};
            add(path);
        }
        // What a directory lies below: a Maildir (only Maildirs give
        // messages there) or an MH folder (its subdirectories are MH
        // folders too, with or without marks of their own: nmh writes
        // .mh_sequences only once a folder has a sequence).
        enum class Below { nothing, maildir, mh };
        void dir(const fs::path& d, Below below = Below::nothing) {
            const bool below_maildir = below == Below::maildir;
            const std::string ds = d.string();
            if (!leave_out.empty())
                if (const auto id = dir_id(ds); id && std::find(leave_out.begin(), leave_out.end(), *id) != leave_out.end())
                    return;
            const bool maildir = is_maildir(ds);
            if (maildir) {
                // A Maildir whose new/ or cur/ cannot be read gives what
                // could be read of it, and the problem.
                std::string failed;
                const Status st = for_each_maildir_path(ds, [&](std::string_view path) {
                    file(path, true, false);
                    add(path);
                }, &failed);
                if (!st) return problem(ds, st.error().errnum, failed);
            }
            // An MH folder's messages are its numbered files, in number
            // order (1, 2, 10; a deleted ",N" after N) in the folder's
            // place: its path, "/", the number in 20 digits, "/0" for a
            // message and "/1" for a deleted one, the name. Its other
            // files are a reader's state, never messages or archives.
            const bool mh = !maildir && !below_maildir && (below == Below::mh || is_mh_folder(ds));
            const Below inner = maildir || below_maildir ? Below::maildir : mh ? Below::mh : Below::nothing;
            if (mh) {
                std::string place;
                const Status st = for_each_mh_file(ds, [&](MaildirFile&& f, std::uint64_t number, bool deleted) {
                    const std::string n = std::to_string(number);
                    place.assign(ds).append(1, '/').append(20 - n.size(), '0').append(n);
                    place.append(deleted ? "/1" : "/0").append(f.name);
                    file(f.path, false, true, f.flags);
                    add(place);
                });
                if (!st) return problem(ds, st.error().errnum);
            }
            std::vector<fs::path> subdirs;
            std::error_code ec;
            for (auto it = fs::directory_iterator(d, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
                std::error_code e2;
                if (it->is_symlink(e2)) continue;
                const std::string name = it->path().filename().string();
                if (it->is_directory(e2)) {
                    // Walked once this directory is listed; past a run's
                    // number of them, as they are met (this listing held
                    // open meanwhile), so that memory does not follow them.
                    if (maildir && (name == "cur" || name == "new" || name == "tmp")) continue;
                    // A spool's tmp/ holds what is being written, not entries yet.
                    if (entries && name == "tmp" && fs::is_directory(ds + "/queue", e2)) continue;
                    if (subdirs.size() < run) subdirs.push_back(it->path());
                    else dir(it->path(), inner);
                } else if (!maildir && !mh && !below_maildir && it->is_regular_file(e2)) {
                    if (client_metadata(name)) continue;
                    // Of a spool, only its entries (docs/spool-format.md): not
                    // a failed entry's .report, .json or .dsn, no dot file.
                    if (entries && !spool_io::is_entry_name(name)) continue;
                    const std::string path = it->path().string();
                    file(path, false, false);
                    add(path);
                }
            }
            if (ec) problem(ds, ec.value());
            for (const fs::path& sub : subdirs) dir(sub, inner);
        }
    };
};

InputListing::InputListing(const std::string& in, const InputOptions& o) : impl_(std::make_unique<Impl>()) {
    std::error_code ec;
    if (in == "-" || !fs::is_directory(in, ec)) {
        impl_->one = InputItem{.kind = o.mbox ? InputItem::Kind::archive : InputItem::Kind::file, .path = in};
        return;
    }
    impl_->input = in;
    impl_->runs.emplace("", "a temporary file in " + spool_io::temporary_dir() + " for the listing of " + in);
    Impl::Walk w{.impl = *impl_, .plain = o.mbox ? InputItem::Kind::archive : InputItem::Kind::file, .leave_out = {},
                 .run = std::max<std::size_t>(o.listed_in_memory, 1), .entries = o.spool_entries, .buf = {},
                 .item = {}};
    for (const std::string& d : o.leave_out)
        if (const auto id = dir_id(d)) w.leave_out.push_back(*id);
    w.dir(in);
    impl_->runs->close_run(false);
    impl_->in_memory = impl_->runs->write_error();
    impl_->runs->start();
}

InputListing::~InputListing() = default;

bool InputListing::next(InputItem& item) {
    Impl& l = *impl_;
    if (!l.runs) {
        if (!l.one) return false;
        item = std::move(*l.one);
        l.one.reset();
        return true;
    }
    if (!l.runs->empty()) {
        const bool whole = decode(l.runs->least(), item);
        l.runs->pop();
        if (!whole)
            item = InputItem{.kind = InputItem::Kind::problem, .path = l.input, .problem = InputProblem::unreadable,
                             .message = "the listing of " + l.input + " came back damaged from its temporary file: a file below it was not read"};
        return true;
    }
    if (l.said || !l.runs->read_error()) return false;
    l.said = true;
    item = InputItem{.kind = InputItem::Kind::problem, .path = l.input, .problem = InputProblem::unreadable,
                     .message = l.runs->read_error()->message + ": some files below " + l.input + " were not read"};
    return true;
}

const std::optional<Error>& InputListing::held_in_memory() const { return impl_->in_memory; }

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
    InputItem item;
    for (const std::string& in : list)
        for (InputListing l(in, o); l.next(item);)
            if (!read_input(item, o, fn, c)) return c;
    return c;
}

}  // namespace msg
