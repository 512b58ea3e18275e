// archive.cpp - the mbox <-> spool mapping (archive.hpp).
#include "msg/archive.hpp"

#include <algorithm>
#include <optional>
#include <vector>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "msg/charset.hpp"
#include "msg/codec.hpp"
#include "msg/header.hpp"
#include "msg/message.hpp"
#include "detail/spill_table.hpp"

namespace msg {
namespace {

// The keys' 64-bit hash of a message. With `lanes` ("n" keys), 32 bytes
// at a time in four independent lanes, then 8 at a time for the rest.
// Without ("m" keys, which earlier builds wrote), 8 at a time only: one
// multiply chain, at about 1.4 GB/s a tenth of mbox2spool's time over
// list mail, computed only for a spool that holds such keys, so that a
// run after an upgrade still finds what an earlier build enqueued.
std::uint64_t hash_message(std::string_view from_line, std::string_view data, bool lanes) {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
    std::uint64_t h = 0x243F6A8885A308D3ULL;
    const auto step = [](std::uint64_t& x, std::uint64_t w) {
        x = (x ^ w) * k;
        x ^= x >> 29;
    };
    const auto word = [](const char* p) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
    };
    auto mix = [&](std::string_view s) {
        const char* p = s.data();
        std::size_t i = 0;
        if (lanes && s.size() >= 32) {
            std::uint64_t l[4] = {h, h ^ 0x13198A2E03707344ULL, h ^ 0xA4093822299F31D0ULL, h ^ 0x082EFA98EC4E6C89ULL};
            for (; i + 32 <= s.size(); i += 32)
                for (int j = 0; j < 4; ++j) step(l[j], word(p + i + 8 * j));
            for (int j = 1; j < 4; ++j) step(l[0], l[j]);
            h = l[0];
        }
        for (; i + 8 <= s.size(); i += 8) step(h, word(p + i));
        std::uint64_t w = 0;
        if (i < s.size()) std::memcpy(&w, p + i, s.size() - i);
        h = (h ^ w ^ (static_cast<std::uint64_t>(s.size()) << 8)) * k;
        h ^= h >> 32;
    };
    mix(from_line);
    mix(data);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    return h;
}

std::string key_of(char kind, std::uint64_t h) {
    char b[20];
    std::snprintf(b, sizeof b, "%c%016llx", kind, static_cast<unsigned long long>(h));
    return b;
}

// An annotation value carries any byte but CR, LF and NUL, and no leading
// blank (which a reader strips).
// What an annotation's value may hold (docs/spool-format.md, ann-value:
// no control character but HTAB), not starting with white space.
bool fits_annotation(std::string_view s) {
    return !s.empty() && s.front() != ' ' && s.front() != '\t' && std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return c == '\t' || (u >= 32 && u != 127);
    });
}

std::string asctime_utc(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[64];
    std::strftime(b, sizeof b, "%a %b %e %H:%M:%S %Y", &tm);
    return b;
}

// The line break the message itself uses (its first line's).
std::string_view eol_of(std::string_view message) {
    const std::size_t nl = message.find('\n');
    return nl != std::string_view::npos && nl > 0 && message[nl - 1] == '\r' ? "\r\n" : "\n";
}

// An annotation's base64 value, or nothing when it is not clean base64
// (a hand-made or damaged entry: its bytes are not guessed at).
std::optional<std::string> b64_decode(std::string_view v) {
    std::string out;
    DecodeStatus st;
    decode_transfer(v, TransferEncoding::base64, out, &st);
    if (!st.clean()) return std::nullopt;
    return out;
}

}  // namespace

std::string message_key(std::string_view from_line, std::string_view data) {
    return key_of('n', hash_message(from_line, data, true));
}

std::string earlier_message_key(std::string_view from_line, std::string_view data) {
    return key_of('m', hash_message(from_line, data, false));
}

bool parse_message_key(std::string_view key, std::uint64_t& hash) {
    if (key.size() != 17 || (key[0] != 'n' && key[0] != 'm')) return false;
    std::uint64_t h = 0;
    for (char c : key.substr(1)) {
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else return false;
        h = h << 4 | static_cast<std::uint64_t>(d);
    }
    hash = h;
    return true;
}

struct SpoolIndex::Tables {
    // 8 bytes, so that a slot of the table is 16. The counts stop short of
    // their top: `have` at 65,534 copies of one message (more copies in the
    // spool than that are enqueued again, not lost), `seen` at 65,535,
    // past any `have`.
    struct Counts {
        std::uint16_t have = 0;      // entries in the spool
        std::uint16_t seen = 0;      // copies in archive number `archive`
        std::uint32_t archive = 0;   // (an older archive's count is 0 now)
        static constexpr std::uint16_t kMost = 0xfffe;
        void more(std::uint32_t n) { have = static_cast<std::uint16_t>(std::min<std::uint32_t>(kMost, have + n)); }
    };
    // The counts of one kind of key.
    struct Kind {
        detail::SpillTable<Counts> table;
        Kind(const std::string& root, std::size_t keys) : table(root, keys) {}
        // The spool holds `n` more entries of this key. The spool's keys
        // are given in ascending order (Spool::for_each_key), so that past
        // the table's memory they are appended to its file, written once.
        void more(std::uint64_t h, std::uint64_t n) {
            table.settle();
            table.at(h).more(static_cast<std::uint32_t>(std::min<std::uint64_t>(n, Counts::kMost)));
        }
        bool held(std::uint64_t h, std::uint32_t archive) {
            table.settle();
            Counts& c = table.at(h);
            if (c.archive != archive) {
                c.archive = archive;
                c.seen = 0;
            }
            if (c.seen <= Counts::kMost) ++c.seen;
            return c.seen <= c.have;
        }
    };
    Tables(const std::string& root, std::size_t keys) : n(root, keys), m(root, keys) {}
    Kind n, m;   // "n" keys, "m" keys (earlier builds')
    std::optional<Error> listed_in_memory;   // why the spool's names were sorted in memory
    std::uint32_t archive = 0;   // the current archive's number
    Kind& of(std::string_view key) { return key[0] == 'n' ? n : m; }
};

SpoolIndex::SpoolIndex(const std::string& root, std::size_t memory_keys)
    : t_(std::make_unique<Tables>(root, memory_keys)) {}
SpoolIndex::SpoolIndex(SpoolIndex&&) noexcept = default;
SpoolIndex& SpoolIndex::operator=(SpoolIndex&&) noexcept = default;
SpoolIndex::~SpoolIndex() = default;

Result<SpoolIndex> SpoolIndex::of(const Spool& spool, const std::function<void()>& waiting, std::size_t memory_keys) {
    SpoolIndex ix(spool.path(), memory_keys);
    const int fd = ::open(spool.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error{errno, "open " + spool.path() + ": " + std::strerror(errno)};
    ix.lock_ = std::shared_ptr<const int>(new int(fd), [](const int* p) {
        ::close(*p);
        delete p;
    });
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return Error{errno, "lock " + spool.path() + ": " + std::strerror(errno)};
        if (waiting) waiting();
        while (::flock(fd, LOCK_EX) != 0)
            if (errno != EINTR) return Error{errno, "lock " + spool.path() + ": " + std::strerror(errno)};
    }
    // A key's entries come one after another: counted, then given to the
    // table of their kind.
    std::string key;
    std::uint64_t entries = 0;
    auto count = [&] {
        if (std::uint64_t h; entries > 0 && parse_message_key(key, h)) ix.t_->of(key).more(h, entries);
    };
    const Status st = spool.for_each_key(
        [&](std::string_view k) {
            if (k != key) {
                count();
                key.assign(k);
                entries = 0;
            }
            ++entries;
        },
        std::min(memory_keys, kNamesInMemory), &ix.t_->listed_in_memory);
    if (!st) return st.error();
    count();
    if (const std::optional<Error> e = ix.error()) return *e;
    return ix;
}

void SpoolIndex::next_archive() { ++t_->archive; }

bool SpoolIndex::holds(std::string_view key, std::string_view from_line, std::string_view data) {
    // This copy of the key in the archive, and whether the spool holds as many.
    auto held = [this](std::string_view k) {
        std::uint64_t h;
        return parse_message_key(k, h) && t_->of(k).held(h, t_->archive);
    };
    if (held(key)) return true;
    return !t_->m.table.empty() && key.starts_with('n') && held(earlier_message_key(from_line, data));
}

void SpoolIndex::added(std::string_view key) {
    if (std::uint64_t h; parse_message_key(key, h)) t_->of(key).more(h, 1);
}

std::optional<Error> SpoolIndex::write_error() const {
    if (const auto& e = t_->listed_in_memory) return e;
    if (const auto& e = t_->n.table.write_error()) return e;
    return t_->m.table.write_error();
}

std::optional<Error> SpoolIndex::error() const {
    if (const auto& e = t_->n.table.read_error()) return e;
    return t_->m.table.read_error();
}

std::string make_from_line(std::string_view sender, std::time_t t) {
    return (sender.empty() ? std::string("MAILER-DAEMON") : std::string(sender)) + " " + asctime_utc(t);
}

void annotate_maildir(Envelope& e, const MaildirFile& f) {
    e.annotations.emplace_back("Mbox-From", make_from_line(e.mail_from, f.mtime));
    if (!f.flags.empty()) e.annotations.emplace_back("Maildir-Flags", f.flags);
    e.annotations.emplace_back(f.mh ? "MH-Source" : "Maildir-Source", f.path);
}

std::optional<MaildirState> folder_state(const SpoolEntry& e) {
    const std::string_view source = e.annotation("Maildir-Source");
    MaildirState s;
    s.flags = e.annotation("Maildir-Flags");
    // An MH folder's message is seen when its sequences say it was read.
    if (source.empty() && s.flags.empty() && e.annotation("MH-Source").empty()) return std::nullopt;
    std::sort(s.flags.begin(), s.flags.end());
    const std::size_t slash = source.rfind('/');
    const std::string_view dir = source.substr(0, slash == std::string_view::npos ? 0 : slash);
    s.seen = !s.flags.empty() || dir == "cur" || dir.ends_with("/cur");
    return s;
}

MaildirState maildir_state(const SpoolEntry& e) {
    if (std::optional<MaildirState> s = folder_state(e)) return std::move(*s);
    std::vector<HeaderField> fields;
    parse_header_block(e.message, fields, nullptr);
    ClientFlags c = client_flags(fields);
    return {std::move(c.flags), c.old};
}

std::string_view marked_deleted(const Derivation& d, const MaildirFile* f) {
    if (f && f->flags.find('T') != std::string_view::npos) return f->mh ? "MH's deleted name ,N" : "Maildir flag T";
    return d.deleted;
}

void annotate_mbox(Envelope& e, const MboxMessage& m, std::string_view source, std::string_view leading) {
    e.annotations.reserve(e.annotations.size() + 7);
    if (!leading.empty()) e.annotations.emplace_back("Mbox-Leading-Base64", base64_encode(leading, 0, ""));
    if (fits_annotation(m.from_line)) e.annotations.emplace_back("Mbox-From", std::string(m.from_line));
    else e.annotations.emplace_back("Mbox-From-Base64", base64_encode(m.from_line, 0, ""));
    if (m.from_crlf) e.annotations.emplace_back("Mbox-From-Eol", "crlf");
    if (!m.separator) e.annotations.emplace_back("Mbox-Separator", "none");
    else if (m.separator_crlf) e.annotations.emplace_back("Mbox-Separator", "crlf");
    std::string unquoted;
    for (const Defect& d : m.defects)
        if (d.code == DefectCode::MboxUnquotedFrom) {
            if (!unquoted.empty()) unquoted += ' ';
            unquoted += std::to_string(d.offset);
        }
    if (!unquoted.empty()) e.annotations.emplace_back("Mbox-Unquoted-From", std::move(unquoted));
    // (The archive's name as printable() shows it: an envelope line holds no control bytes.)
    e.annotations.emplace_back("Mbox-Source", printable(source) + " " + std::to_string(m.index));
}

MboxRecord mbox_record(const SpoolEntry& e, std::time_t now) {
    MboxRecord r;
    bool have_from = false;
    std::vector<std::string_view> not_base64;
    for (const EnvelopeLine& l : e.envelope) {
        if (l.kind != EnvelopeLine::Kind::annotation) continue;
        if (!have_from && iequals(l.name, "Mbox-From")) {
            r.from_line = l.value;
            have_from = true;
        } else if (!have_from && iequals(l.name, "Mbox-From-Base64")) {
            if (auto v = b64_decode(l.value)) {
                r.from_line = std::move(*v);
                have_from = true;
            } else {
                not_base64.emplace_back(l.name);
            }
        } else if (r.leading.empty() && iequals(l.name, "Mbox-Leading-Base64")) {
            if (auto v = b64_decode(l.value)) r.leading = std::move(*v);
            else not_base64.emplace_back(l.name);
        }
    }
    for (std::string_view name : not_base64) {
        if (!r.ignored.empty()) r.ignored += "; ";
        r.ignored += "its " + std::string(name) + " is not base64: left out";
    }
    // Bytes before an archive's first From_ line hold no line that starts
    // "From ": a reader would start a message there.
    if (holds_from_line(r.leading)) {
        if (!r.ignored.empty()) r.ignored += "; ";
        r.ignored += "its Mbox-Leading-Base64 holds a line starting \"From \", which would start a message: left out";
        r.leading.clear();
    }
    // No From_ line holds a line break: the bytes after it would be read as
    // the start of the message, or of another one.
    if (have_from && r.from_line.find('\n') != std::string::npos) {
        if (!r.ignored.empty()) r.ignored += "; ";
        r.ignored += "its Mbox-From-Base64 holds a line break, which no From_ line can: one made from MAIL FROM";
        have_from = false;
    }
    if (!have_from) {
        const EnvelopeLine* mail = e.mail();
        const std::string_view sender = mail && mail->path.ok ? mail->path.mailbox : std::string_view{};
        r.from_line = make_from_line(sender, now);
        r.from_made = true;
    }
    r.from_crlf = iequals(e.annotation("Mbox-From-Eol"), "crlf");
    const std::string_view sep = e.annotation("Mbox-Separator");
    r.separator = !iequals(sep, "none");
    r.separator_crlf = iequals(sep, "crlf");
    for (std::string_view v = e.annotation("Mbox-Unquoted-From"); !v.empty();) {
        const std::size_t sp = v.find(' ');
        const std::string_view word = v.substr(0, sp);
        std::size_t off = 0;
        bool digits = !word.empty() && word.size() < 20;
        for (char ch : word) {
            digits = digits && ch >= '0' && ch <= '9';
            if (digits) off = off * 10 + static_cast<std::size_t>(ch - '0');
        }
        if (digits && off < e.message.size() && (r.unquoted_from.empty() || off > r.unquoted_from.back()))
            r.unquoted_from.push_back(off);
        v = sp == std::string_view::npos ? std::string_view{} : v.substr(sp + 1);
    }
    return r;
}

std::string with_envelope_fields(const SpoolEntry& e, std::string_view message, MboxRecord& r) {
    const std::string_view eol = eol_of(message);
    std::string out;
    if (const EnvelopeLine* mail = e.mail()) {
        out += "X-Envelope-From: <" + std::string(mail->path.mailbox) + ">";
        out += eol;
    }
    for (const EnvelopeLine* rc : e.recipients()) {
        out += "X-Envelope-To: <" + std::string(rc->path.mailbox) + ">";
        out += eol;
    }
    for (std::size_t& off : r.unquoted_from) off += out.size();
    out += message;
    return out;
}

std::string with_status_fields(std::string_view message, const MaildirState& s, MboxRecord& r) {
    const std::string_view eol = eol_of(message);
    std::string added;
    const auto has = [&s](char c) { return s.flags.find(c) != std::string::npos; };
    if (has('S') || s.seen) {
        added.append("Status: ").append(has('S') ? "R" : "").append(s.seen ? "O" : "").append(eol);
    }
    std::string x;
    if (has('R')) x += 'A';
    if (has('F')) x += 'F';
    if (has('D')) x += 'T';
    if (has('T')) x += 'D';
    if (!x.empty()) added.append("X-Status: ").append(x).append(eol);

    std::vector<HeaderField> fields;
    const std::size_t end = parse_header_block(message, fields, nullptr);
    std::string out;
    out.reserve(message.size() + added.size() + eol.size());
    std::vector<std::pair<std::size_t, std::size_t>> dropped;   // offset and length in `message`
    std::size_t at = 0;
    for (const HeaderField& f : fields) {
        if (!iequals(f.name, "Status") && !iequals(f.name, "X-Status") && !iequals(f.name, "X-Mozilla-Status"))
            continue;
        out.append(message.substr(at, f.offset - at));
        dropped.emplace_back(f.offset, f.raw.size());
        at = f.offset + f.raw.size();
    }
    out.append(message.substr(at, end - at));
    // The header's last line may lack its line break (a message of header
    // only): the fields start on a line of their own.
    if (!added.empty() && !out.empty() && out.back() != '\n') out.append(eol);
    out.append(added);
    const std::size_t head = out.size();
    out.append(message.substr(end));
    // An unquoted "From " line is never inside a dropped field (a field's
    // lines start with its name or with white space).
    for (std::size_t& off : r.unquoted_from) {
        if (off >= end) {
            off = head + (off - end);
            continue;
        }
        std::size_t shift = 0;
        for (const auto& [o, n] : dropped)
            if (o < off) shift += n;
        off -= shift;
    }
    return out;
}

}  // namespace msg
