// mbox_write.cpp - the mbox writer (plain or gzip through zlib's deflate)
// and the lock for live mailboxes (dot lock plus fcntl).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "mbox_frame.hpp"
#include "msg/host.hpp"
#include "msg/mbox.hpp"

namespace msg {
namespace {

using mbox_detail::find_from;

Error os_error(const std::string& what, const std::string& path, int e) {
    return Error{e, what + " " + path + ": " + std::strerror(e)};
}

// Whether a "From " line at `s` of a message would start another: after an
// empty line, or as its first line (right after the From_ line, as the
// From_ line of an empty message would be), whatever a writer was asked
// to keep.
bool starts_message_at(std::string_view data, std::size_t s) {
    if (s == 0) return true;
    if (data[s - 1] != '\n') return false;
    std::size_t p = s - 1;
    if (p > 0 && data[p - 1] == '\r') --p;
    return p == 0 || data[p - 1] == '\n';
}

// `data` with the format's quoting, handed to `put` piece by piece (spans
// of `data` and the '>' added): mboxrd adds '>' to every line matching
// ^>*From , mboxo and mboxcl to every line matching ^From ; mboxcl2 quotes
// nothing. Lines starting at the offsets in `keep` (ascending) are not
// quoted, unless they would start a message there (starts_message_at).
// The quoted text ends with data's last bytes: a '>' goes before a "From "
// only.
template <class Put>
void quote_pieces(std::string_view data, MboxFormat f, std::span<const std::size_t> keep, Put&& put) {
    if (f == MboxFormat::mboxcl2) {
        put(data);
        return;
    }
    const bool rd = f == MboxFormat::mboxrd;
    std::size_t copied = 0;
    for (std::size_t q = find_from(data.data(), 0, data.size(), "From "); q != std::string_view::npos;
         q = find_from(data.data(), q + 1, data.size(), "From ")) {
        std::size_t s = q;
        if (rd)
            while (s > 0 && data[s - 1] == '>') --s;
        if (s > 0 && data[s - 1] != '\n') continue;
        while (!keep.empty() && keep.front() < s) keep = keep.subspan(1);
        // Kept as it is only where it cannot start a message.
        if (!keep.empty() && keep.front() == s && !starts_message_at(data, s)) continue;
        put(data.substr(copied, s - copied));
        put(">");
        copied = s;
    }
    put(data.substr(copied));
}

// The message as stored in a Content-Length format: `q` (already quoted)
// with its Content-Length field set to the size of the body, added at the
// end of the header block when there is none. An empty message stays empty.
void append_with_length(std::string& out, std::string_view q) {
    if (q.empty()) return;
    const mbox_detail::HeaderScan h = mbox_detail::scan_header(q, true);
    const std::uint64_t body = q.size() - h.body_start;
    if (h.cl_present && h.cl_valid && h.cl == body) {
        out.append(q);
        return;
    }
    const std::string n = std::to_string(body);
    if (h.cl_present) {  // replace the value
        out.append(q.substr(0, h.cl_value_begin)).append(n).append(q.substr(h.cl_value_end));
        return;
    }
    // Add a field where the header block ends: before its empty line, or
    // before the "From " line or the end that ends it.
    const std::size_t at = h.body_start - h.blank_len;
    const std::string_view eol = h.crlf ? "\r\n" : "\n";
    out.append(q.substr(0, at));
    if (at > 0 && q[at - 1] != '\n') out.append(eol);  // an unterminated last line
    out.append("Content-Length: ").append(n).append(eol);
    out.append(q.substr(at));
}

class FileMboxWriter final : public MboxWriter {
public:
    FileMboxWriter(int fd, bool own, std::string name, const Options& o)
        : fd_(fd), own_(own), name_(std::move(name)), opt_(o) {}
    ~FileMboxWriter() override {
        if (fd_ >= 0) (void)close();
        if (zinit_) deflateEnd(&z_);
    }

    Status init() {
        if (!opt_.gzip) return Ok{};
        z_ = {};
        // windowBits 15 + 16: a gzip wrapper around the deflate stream.
        if (deflateInit2(&z_, opt_.level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return Error{ENOMEM, "cannot write " + name_ + ": cannot start the gzip compressor"};
        zinit_ = true;
        return Ok{};
    }

    using MboxWriter::write;
    Status write(std::string_view from_line, std::string_view data, bool from_crlf, bool separator,
                 bool separator_crlf) override {
        return write_keeping(from_line, data, from_crlf, separator, separator_crlf, {});
    }

    Status write_keeping(std::string_view from_line, std::string_view data, bool from_crlf, bool separator,
                         bool separator_crlf, std::span<const std::size_t> keep) override {
        if (fd_ < 0) return Error{EBADF, "cannot write " + name_ + ": the archive is closed"};
        if (from_line.find('\n') != std::string_view::npos)
            return Error{EINVAL, "cannot write a From_ line that holds a line break"};
        end_open_message();
        messages_ = true;
        const std::string_view from_eol = from_crlf ? "\r\n" : "\n";
        buf_.append("From ").append(from_line).append(from_eol);
        if (by_length()) {
            quoted_.clear();
            quote_pieces(data, opt_.format, keep, [&](std::string_view p) { quoted_.append(p); });
            append_with_length(buf_, quoted_);
        } else {
            Status st = Ok{};
            quote_pieces(data, opt_.format, keep, [&](std::string_view p) {
                if (st) st = put(p);
            });
            if (!st) return st;
        }
        // How the message's text ends: its last bytes (quoting changes
        // none of them) after the From_ line's line break.
        const std::string_view tail = data.substr(data.size() - std::min<std::size_t>(data.size(), 3));
        const bool ends_eol = tail.ends_with('\n');
        const bool ends_blank = !data.empty() && ends_with_empty_line(std::string(from_eol).append(tail));
        if (separator || (ends_blank && !by_length())) {
            // The empty line must follow a line break: a message that lacks
            // its last one gets it, or the next From_ line would join it.
            if (!data.empty() && !by_length() && !ends_eol) buf_.append(from_eol);
            // A message whose own last line is empty gets the separator it
            // was read without (from a Content-Length archive): a reader of
            // the From_ line formats takes the last empty line for it.
            const bool crlf = separator ? separator_crlf : tail.ends_with("\r\n");
            buf_.append(crlf ? "\r\n" : "\n");
        } else if (!data.empty() && (by_length() || !ends_blank)) {
            open_ = true;
            open_needs_eol_ = !ends_eol;
            open_blank_ = ends_blank;
            open_crlf_ = from_crlf;
        }
        if (buf_.size() >= kFlushAt) return flush(false);
        return Ok{};
    }

    Status write_raw(std::string_view bytes) override {
        if (fd_ < 0) return Error{EBADF, "cannot write " + name_ + ": the archive is closed"};
        // After a message they would be read as its end: refused, the
        // archive as it was.
        if (!bytes.empty() && messages_)
            return Error{EINVAL, "the " + std::to_string(bytes.size()) + " bytes before its archive's first message "
                                 "are not written (after a message they would join it)"};
        if (holds_from_line(bytes))
            return Error{EINVAL, "the " + std::to_string(bytes.size()) + " bytes before its archive's first message "
                                 "are not written (a line of them starts with \"From \", and would start a message)"};
        if (!bytes.empty()) end_open_message();
        buf_.append(bytes);
        if (buf_.size() >= kFlushAt) return flush(false);
        return Ok{};
    }

    Status close() override {
        if (fd_ < 0) return Ok{};
        Status st = flush(true);
        if (st.ok() && regular_ && ::fsync(fd_) != 0) st = os_error("cannot write", name_, errno);
        if (own_ && ::close(fd_) != 0 && st.ok()) st = os_error("cannot write", name_, errno);
        fd_ = -1;
        return st;
    }

    void set_regular(bool r) { regular_ = r; }

private:
    static constexpr std::size_t kFlushAt = std::size_t{1} << 20;
    static constexpr std::size_t kDirectAt = std::size_t{64} << 10;

    // A message written without its separator (the last of its archive,
    // which did not end with an empty line) gets one, and the line break it
    // lacks, when more follows: in the From_ line formats a From_ line
    // starts a message only after an empty line (or right after the From_
    // line of an empty one), and without it the next message would be read
    // as part of this one. The last message keeps its bytes as they were.
    // In the Content-Length formats the length frames it: a last line
    // without its line break gets one (not counted: a From_ line starts a
    // line in every format), and a message whose last line is empty gets
    // the separator (else the From_ line formats, and detect, would take
    // that line for it).
    void end_open_message() {
        if (!open_) return;
        const char* eol = open_crlf_ ? "\r\n" : "\n";
        if (open_needs_eol_) buf_.append(eol);
        if (!by_length() || open_blank_) buf_.append(eol);
        open_ = false;
    }
    bool by_length() const { return opt_.format == MboxFormat::mboxcl || opt_.format == MboxFormat::mboxcl2; }
    static bool ends_with_empty_line(std::string_view b) {
        return b.ends_with("\n\n") || b.ends_with("\n\r\n");
    }

    // Bytes of a message for the output: into the buffer; a large span of
    // plain output is written from where it is, after what the buffer
    // holds (one writev, not copied).
    Status put(std::string_view p) {
        if (opt_.gzip || p.size() < kDirectAt) {
            buf_.append(p);
            return Ok{};
        }
        iovec v[2] = {{buf_.data(), buf_.size()}, {const_cast<char*>(p.data()), p.size()}};
        Status st = writev_fd(v);
        buf_.clear();
        return st;
    }

    Status writev_fd(std::span<iovec> v) {
        while (!v.empty()) {
            const ssize_t w = ::writev(fd_, v.data(), static_cast<int>(v.size()));
            if (w < 0) {
                if (errno == EINTR) continue;
                return os_error("cannot write", name_, errno);
            }
            auto n = static_cast<std::size_t>(w);
            while (!v.empty() && n >= v.front().iov_len) {
                n -= v.front().iov_len;
                v = v.subspan(1);
            }
            if (!v.empty()) {
                v.front().iov_base = static_cast<char*>(v.front().iov_base) + n;
                v.front().iov_len -= n;
            }
        }
        return Ok{};
    }

    Status write_fd(const char* p, std::size_t n) {
        iovec v{const_cast<char*>(p), n};
        return writev_fd({&v, 1});
    }

    // Write out the buffer (compressed when gzip); `finish` ends the gzip stream.
    Status flush(bool finish) {
        if (!opt_.gzip) {
            Status st = write_fd(buf_.data(), buf_.size());
            buf_.clear();
            return st;
        }
        z_.next_in = reinterpret_cast<Bytef*>(buf_.data());
        z_.avail_in = static_cast<uInt>(buf_.size());
        char out[1 << 16];
        for (;;) {
            z_.next_out = reinterpret_cast<Bytef*>(out);
            z_.avail_out = sizeof out;
            const int r = deflate(&z_, finish ? Z_FINISH : Z_NO_FLUSH);
            if (r == Z_STREAM_ERROR) return Error{0, "cannot write " + name_ + ": gzip compression failed"};
            if (Status st = write_fd(out, sizeof out - z_.avail_out); !st.ok()) return st;
            if (finish ? r == Z_STREAM_END : z_.avail_in == 0 && z_.avail_out != 0) break;
        }
        buf_.clear();
        return Ok{};
    }

    int fd_;
    bool own_;
    std::string name_;
    Options opt_;
    bool regular_ = false;
    std::string buf_;     // bytes not yet written (before compression)
    bool messages_ = false;   // a message was written: write_raw() has no place left
    std::string quoted_;  // scratch for the Content-Length formats
    bool open_ = false;          // the last message was written without its separator,
    bool open_needs_eol_ = false;   // nor a line break after its last line
    bool open_blank_ = false;       // its last line is empty
    bool open_crlf_ = false;        // its lines ended in CRLF
    z_stream z_{};
    bool zinit_ = false;
};

}  // namespace

bool holds_from_line(std::string_view bytes) noexcept {
    return bytes.starts_with("From ") || bytes.find("\nFrom ") != std::string_view::npos;
}

Status MboxWriter::write(const MboxMessage& m) {
    if (m.too_large)
        return Error{EFBIG, "cannot write message " + std::to_string(m.index + 1) + ": it was larger than the "
                            "reader's limit and its data was not read (" +
                                std::to_string(m.data_end - m.offset) + " bytes)"};
    std::vector<std::size_t> keep;
    for (const Defect& d : m.defects)
        if (d.code == DefectCode::MboxUnquotedFrom) keep.push_back(d.offset);
    return write_keeping(m.from_line, m.data, m.from_crlf, m.separator, m.separator_crlf, keep);
}

Result<std::unique_ptr<MboxWriter>> MboxWriter::open(const std::string& path, const Options& options) {
    const std::string name = path == "-" ? "<stdout>" : path;
    if (options.format == MboxFormat::detect)
        return Error{EINVAL, "cannot write " + name + ": 'detect' is not a format to write"};
    if (options.gzip && (options.level < 0 || options.level > 9))
        return Error{EINVAL, "cannot write " + name + ": gzip level must be 0 to 9"};
    int fd = 1;
    bool own = false;
    if (path != "-") {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) return os_error("cannot create", path, errno);
        own = true;
    }
    auto w = std::make_unique<FileMboxWriter>(fd, own, name, options);
    struct stat st {};
    w->set_regular(::fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
    if (Status s = w->init(); !s.ok()) return s.error();
    return std::unique_ptr<MboxWriter>(std::move(w));
}

// --- MboxLock ------------------------------------------------------------------

namespace {

constexpr std::time_t kStaleLock = 5 * 60;  // seconds, as mutt and procmail

// A name for the temporary file that is unique across hosts and processes.
std::string unique_temp(const std::string& lock_path) {
    static std::atomic<unsigned> counter{0};
    std::string host = host_name();
    for (char& c : host)
        if (c == '/') c = '_';
    return lock_path + "." + host + "." + std::to_string(::getpid()) + "." +
           std::to_string(counter.fetch_add(1)) + "." + std::to_string(std::time(nullptr));
}

}  // namespace

MboxLock::MboxLock(MboxLock&& other) noexcept : lock_path_(std::move(other.lock_path_)), fd_(other.fd_) {
    other.lock_path_.clear();
    other.fd_ = -1;
}

MboxLock& MboxLock::operator=(MboxLock&& other) noexcept {
    if (this != &other) {
        release();
        lock_path_ = std::move(other.lock_path_);
        fd_ = other.fd_;
        other.lock_path_.clear();
        other.fd_ = -1;
    }
    return *this;
}

MboxLock::~MboxLock() { release(); }

void MboxLock::release() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the fcntl lock
    fd_ = -1;
    if (!lock_path_.empty()) ::unlink(lock_path_.c_str());
    lock_path_.clear();
}

Result<MboxLock> MboxLock::acquire(const std::string& path, std::chrono::seconds timeout) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout;
    auto pause = std::chrono::milliseconds(10);
    auto wait = [&]() -> bool {  // false when the time is up
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - Clock::now()));
        if (pause < std::chrono::milliseconds(250)) pause *= 2;
        return true;
    };

    MboxLock lock;
    // The file must exist (and be readable) before we lock anything.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot lock", path, errno);
    lock.fd_ = fd;

    // 1. The dot lock: link() a unique file to PATH.lock. link() over NFS
    // may report failure after it succeeded, so success is judged by the
    // temporary file's link count.
    const std::string lock_path = path + ".lock";
    const std::string temp = unique_temp(lock_path);
    const int tfd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (tfd < 0) return os_error("cannot lock", path, errno);
    const std::string pid = std::to_string(::getpid()) + "\n";
    (void)!::write(tfd, pid.data(), pid.size());
    ::close(tfd);
    for (;;) {
        const int lr = ::link(temp.c_str(), lock_path.c_str());
        const int le = errno;
        struct stat st {};
        if (::stat(temp.c_str(), &st) == 0 && st.st_nlink == 2) break;
        if (lr != 0 && le != EEXIST) {
            ::unlink(temp.c_str());
            return os_error("cannot lock", path, le);
        }
        // Someone else holds it; remove it when stale.
        struct stat ls {};
        if (::stat(lock_path.c_str(), &ls) == 0 && std::time(nullptr) - ls.st_mtime > kStaleLock) {
            ::unlink(lock_path.c_str());
            continue;
        }
        if (!wait()) {
            ::unlink(temp.c_str());
            return Error{EWOULDBLOCK, "cannot lock " + path + ": " + lock_path + " is held by another process (waited " +
                                          std::to_string(timeout.count()) + " s)"};
        }
    }
    ::unlink(temp.c_str());
    lock.lock_path_ = lock_path;

    // 2. The fcntl read lock on the mailbox itself. An open file description
    // lock (F_OFD_SETLK): it conflicts with the classic fcntl locks delivery
    // agents take, but unlike them it is not dropped when this process closes
    // another descriptor of the same file (as the reader does after mapping it).
    for (;;) {
        struct flock fl {};
        fl.l_type = F_RDLCK;
        fl.l_whence = SEEK_SET;
        fl.l_start = 0;
        fl.l_len = 0;
#if defined(F_OFD_SETLK)
        if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) break;
#else
        if (::fcntl(fd, F_SETLK, &fl) == 0) break;
#endif
        const int e = errno;
        if (e != EACCES && e != EAGAIN && e != EINTR) return os_error("cannot lock", path, e);
        if (!wait())
            return Error{EWOULDBLOCK, "cannot lock " + path + ": another process holds a write lock on it (waited " +
                                          std::to_string(timeout.count()) + " s)"};
    }
    return Result<MboxLock>(std::move(lock));
}

}  // namespace msg
