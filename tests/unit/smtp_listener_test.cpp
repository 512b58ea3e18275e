// smtp_listener_test.cpp - the event loop (msg/smtp/listener.hpp) with a
// trivial Dialog over real sockets on 127.0.0.1: accept and exchange, held
// replies, the connection limit, back-pressure, time limits per command and
// per data block (slow clients), the stop flag, STARTTLS and implicit TLS.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "msg/smtp/client.hpp"
#include "msg/smtp/listener.hpp"

using namespace msg::smtp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Owner;

// Lines in, replies out: "X" -> "250 X"; QUIT; HOLD (answered by the
// owner's turn_end); DATA ... "."; HELP (a 100-byte reply); DROP; TLS
// (STARTTLS); PAUSE (its reply, and what follows, 600 ms late).
// completed() counts command lines and whole data blocks.
class Echo final : public Dialog {
public:
    explicit Echo(Owner& o) : o_(o) {}
    ~Echo() override;
    void start() override { out_ += "220 echo\r\n"; }
    void receive(std::string_view b) override;
    std::string& output() override { return out_; }
    bool closing() const override { return closing_; }
    bool dropped() const override { return dropped_; }
    bool tls_requested() const override { return tls_requested_; }
    void tls_started() override {
        tls_requested_ = false;
        tls_ = true;
    }
    bool held() const override { return held_; }
    std::uint64_t completed() const override { return completed_; }
    bool in_data() const override { return data_; }
    std::chrono::milliseconds paused() const override { return pause_; }
    void unpause() override {
        pause_ = 0ms;
        out_ += "250 paused\r\n";
        process();
    }
    void resume() {
        held_ = false;
        out_ += "250 held\r\n";
        process();
    }

private:
    void process();
    Owner& o_;
    std::string in_, out_;
    std::uint64_t completed_ = 0;
    std::chrono::milliseconds pause_{0};
    bool closing_ = false, dropped_ = false, tls_requested_ = false, tls_ = false, held_ = false, data_ = false;
};

struct Owner : ListenerHooks {
    std::vector<Echo*> held;
    std::atomic<int> opened{0}, closed_count{0}, turns{0};
    std::atomic<std::size_t> received{0}, peak_unsent{0};
    std::atomic<bool> accept_more{true};
    int hold_turns = 0;            // turn_end()s a held reply waits
    int waited = 0;
    std::unique_ptr<Dialog> open(const Peer&) override {
        ++opened;
        return std::make_unique<Echo>(*this);
    }
    void closed(Dialog&) override { ++closed_count; }
    void turn_end() override {
        ++turns;
        if (held.empty() || ++waited <= hold_turns) return;
        waited = 0;
        for (Echo* e : std::exchange(held, {})) e->resume();
    }
    bool accepting() override { return accept_more; }
};

Echo::~Echo() { std::erase(o_.held, this); }

void Echo::receive(std::string_view b) {
    o_.received += b.size();
    in_.append(b);
    process();
}

void Echo::process() {
    std::size_t at = 0;
    while (!held_ && !closing_ && !dropped_ && !tls_requested_ && pause_ == 0ms) {
        const std::size_t nl = in_.find('\n', at);
        if (nl == std::string::npos) break;
        std::string line = in_.substr(at, nl - at);
        at = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (data_) {
            if (line == ".") {
                data_ = false;
                ++completed_;
                out_ += "250 data\r\n";
            }
            continue;
        }
        ++completed_;
        if (line == "QUIT") {
            out_ += "221 bye\r\n";
            closing_ = true;
        } else if (line == "HOLD") {
            held_ = true;
            o_.held.push_back(this);
        } else if (line == "DATA") {
            data_ = true;
            out_ += "354 go on\r\n";
        } else if (line == "HELP") {
            out_ += "214 " + std::string(95, 'h') + "\r\n";
        } else if (line == "PAUSE") {
            pause_ = 600ms;
        } else if (line == "DROP") {
            dropped_ = true;
        } else if (line == "TLS") {
            out_ += "220 go ahead\r\n";
            tls_requested_ = true;
            in_.clear();
            at = 0;
        } else {
            out_ += "250 " + line + (tls_ ? " (tls)" : "") + "\r\n";
        }
    }
    in_.erase(0, at);
    o_.peak_unsent = std::max<std::size_t>(o_.peak_unsent, out_.size());
}

struct Server {
    Owner owner;
    std::atomic<bool> stop{false};
    std::optional<Listener> listener;
    std::optional<msg::Status> result;
    std::thread thread;

    explicit Server(ListenerOptions o, const ServerTls* tls = nullptr) {
        o.endpoint = Endpoint{"127.0.0.1", 0};
        auto l = Listener::open(o, tls);
        if (!l) {
            ADD_FAILURE() << l.error().message;
            return;
        }
        listener.emplace(std::move(*l));
        thread = std::thread([this] { result = listener->run(owner, stop); });
    }
    std::uint16_t port() const { return listener ? listener->bound().port : 0; }
    // Ends the loop; returns how long that took.
    std::chrono::milliseconds finish() {
        const auto t0 = Clock::now();
        stop = true;
        if (thread.joinable()) thread.join();
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    }
    ~Server() { finish(); }
};

// A blocking client socket with a receive limit.
class Client {
public:
    explicit Client(std::uint16_t port, std::chrono::milliseconds recv_limit = 3000ms) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect";
        timeval tv{};
        tv.tv_sec = recv_limit.count() / 1000;
        tv.tv_usec = (recv_limit.count() % 1000) * 1000;
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~Client() { ::close(fd_); }
    int fd() const { return fd_; }
    bool send(std::string_view s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
    // One line without CRLF; "" at EOF or after the receive limit.
    std::string line() {
        std::string l;
        char c;
        while (::recv(fd_, &c, 1, 0) == 1) {
            if (c == '\n') {
                if (!l.empty() && l.back() == '\r') l.pop_back();
                return l;
            }
            l += c;
        }
        return l;
    }
    // Whether the server closed (EOF or reset) within the receive limit;
    // what came before is discarded.
    bool closed() {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0) return true;
            if (n < 0) return errno == ECONNRESET;
        }
    }

private:
    int fd_ = -1;
};

ListenerOptions quick() {
    ListenerOptions o;
    o.hostname = "test.invalid";
    return o;
}

}  // namespace

TEST(SmtpListener, BindsAnyPortAndExchanges) {
    Server s(quick());
    ASSERT_NE(s.port(), 0);
    Client c(s.port());
    EXPECT_EQ(c.line(), "220 echo");
    c.send("A\r\nB\r\n");
    EXPECT_EQ(c.line(), "250 A");
    EXPECT_EQ(c.line(), "250 B");
    c.send("QUIT\r\n");
    EXPECT_EQ(c.line(), "221 bye");
    EXPECT_TRUE(c.closed());
    s.finish();
    EXPECT_EQ(s.owner.opened, 1);
    EXPECT_EQ(s.owner.closed_count, 1);
    EXPECT_TRUE(s.result && *s.result);
}

TEST(SmtpListener, ParseListenEndpointTakesPortZero) {
    auto ep = parse_listen_endpoint("127.0.0.1:0");
    ASSERT_TRUE(ep);
    EXPECT_EQ(ep->port, 0);
    EXPECT_EQ(parse_listen_endpoint("[::1]:2525")->port, 2525);
    EXPECT_FALSE(parse_listen_endpoint("[::1"));
}

// A port alone, bare or after a colon, is a loopback port, never every
// interface (a bare "0" was once the host 0.0.0.0).
TEST(SmtpListener, ParseListenEndpointPortAloneIsLoopback) {
    for (const char* s : {"2525", ":2525"}) {
        auto ep = parse_listen_endpoint(s);
        ASSERT_TRUE(ep) << s;
        EXPECT_EQ(ep->host, "127.0.0.1") << s;
        EXPECT_EQ(ep->port, 2525) << s;
    }
    for (const char* s : {"0", ":0"}) {
        auto ep = parse_listen_endpoint(s);
        ASSERT_TRUE(ep) << s;
        EXPECT_EQ(ep->host, "127.0.0.1") << s;
        EXPECT_EQ(ep->port, 0) << s;
    }
    EXPECT_FALSE(parse_listen_endpoint(":"));
    EXPECT_FALSE(parse_listen_endpoint("99999"));
}

TEST(SmtpListener, OpenNamesTheAddressThatFails) {
    ListenerOptions o = quick();
    o.endpoint = Endpoint{"192.0.2.1", 2525};   // TEST-NET-1: not ours
    auto l = Listener::open(o);
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().message.find("cannot listen on 192.0.2.1:2525"), std::string::npos) << l.error().message;
    o.implicit_tls = true;
    EXPECT_FALSE(Listener::open(o));
}

TEST(SmtpListener, HeldRepliesWaitForTheOwnerAndKeepTheirOrder) {
    Server s(quick());
    Client c(s.port());
    c.line();
    c.send("HOLD\r\nAFTER\r\nHOLD\r\nLAST\r\n");   // pipelined past two held replies
    EXPECT_EQ(c.line(), "250 held");
    EXPECT_EQ(c.line(), "250 AFTER");
    EXPECT_EQ(c.line(), "250 held");
    EXPECT_EQ(c.line(), "250 LAST");
}

TEST(SmtpListener, HeldAcrossTurnsDoesNotSpin) {
    ListenerOptions o = quick();
    o.command_timeout = o.data_timeout = o.send_timeout = 800ms;   // a turn at least every 100 ms
    Server s(o);
    s.owner.hold_turns = 5;   // about half a second
    Client c(s.port());
    c.line();
    c.send("HOLD\r\n");
    std::this_thread::sleep_for(50ms);
    c.send("MORE\r\n");   // input while held: not read until resumed
    EXPECT_EQ(c.line(), "250 held");
    EXPECT_EQ(c.line(), "250 MORE");
    EXPECT_LT(s.owner.turns, 100);   // the loop slept while the reply was held
}

TEST(SmtpListener, MaxConnectionsAnswers421AndFreesSlots) {
    ListenerOptions o = quick();
    o.max_connections = 2;
    Server s(o);
    Client a(s.port()), b(s.port());
    EXPECT_EQ(a.line(), "220 echo");
    EXPECT_EQ(b.line(), "220 echo");
    Client c(s.port());
    EXPECT_EQ(c.line(), "421 4.7.0 too many connections, try again later");
    EXPECT_TRUE(c.closed());
    a.send("QUIT\r\n");
    EXPECT_EQ(a.line(), "221 bye");
    EXPECT_TRUE(a.closed());
    std::this_thread::sleep_for(50ms);
    Client d(s.port());
    EXPECT_EQ(d.line(), "220 echo");
    s.finish();
    EXPECT_EQ(s.listener->stats().busy, 1u);
}

TEST(SmtpListener, ClientThatDoesNotReadIsNotReadAndIsDropped) {
    ListenerOptions o = quick();
    o.max_unsent = 64 * 1024;
    o.send_timeout = 500ms;
    Server s(o);
    Client c(s.port());
    c.line();
    // Pipeline HELP without reading: 100 bytes of reply per 6 bytes sent.
    int fd = c.fd();
    timeval tv{0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string help;
    for (int i = 0; i < 10000; ++i) help += "HELP\r\n";
    std::size_t sent = 0;
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < 3s) {
        const ssize_t n = ::send(fd, help.data(), help.size(), MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<std::size_t>(n);
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;   // dropped
    }
    EXPECT_LT(Clock::now() - t0, 3s) << "the client was not dropped";
    s.finish();
    EXPECT_EQ(s.listener->stats().stalled, 1u);
    // What the server took is bounded by the unsent replies, not by what
    // the client sent; and those stay near max_unsent.
    EXPECT_LT(s.owner.received.load(), 8u * 1024 * 1024);
    EXPECT_LE(s.owner.peak_unsent.load(), o.max_unsent + (4096 / 6 + 1) * 100);   // and the replies to one slice
    EXPECT_GT(sent, s.owner.received.load() / 2);
}

TEST(SmtpListener, CommandTimeLimitIsPerCommandNotPerRead) {
    ListenerOptions o = quick();
    o.command_timeout = 1000ms;
    Server s(o);
    // Whole commands every 300 ms, 2.4 s in all: never cut off.
    {
        Client c(s.port());
        c.line();
        for (int i = 0; i < 8; ++i) {
            c.send("X\r\n");
            EXPECT_EQ(c.line(), "250 X");
            std::this_thread::sleep_for(300ms);
        }
        c.send("QUIT\r\n");
        EXPECT_EQ(c.line(), "221 bye");
    }
    // A byte every 100 ms: cut off when the command's time is up.
    Client c(s.port());
    c.line();
    const auto t0 = Clock::now();
    std::string got;
    std::thread slow([&] {
        for (int i = 0; i < 30 && c.send("x"); ++i) std::this_thread::sleep_for(100ms);
    });
    got = c.line();
    const auto took = Clock::now() - t0;
    slow.join();
    EXPECT_EQ(got, "421 4.4.2 test.invalid timeout, closing");
    EXPECT_GE(took, 950ms);
    EXPECT_LT(took, 2000ms);
    s.finish();
    EXPECT_EQ(s.listener->stats().timed_out, 1u);
}

// A Dialog's pause (a rule's delay) is the server's time: the reply comes
// late, what was pipelined after it waits, and no time limit runs meanwhile.
TEST(SmtpListener, PausedDialogAnswersLateAndIsNotTimedOut) {
    ListenerOptions o = quick();
    o.command_timeout = 300ms;
    Server s(o);
    Client c(s.port());
    EXPECT_EQ(c.line(), "220 echo");
    const auto t0 = Clock::now();
    c.send("A\r\nPAUSE\r\nB\r\n");
    EXPECT_EQ(c.line(), "250 A");
    EXPECT_LT(Clock::now() - t0, 300ms);
    EXPECT_EQ(c.line(), "250 paused");
    EXPECT_GE(Clock::now() - t0, 590ms);
    EXPECT_LT(Clock::now() - t0, 1500ms);
    EXPECT_EQ(c.line(), "250 B");
    // Two pauses in a row, and a client that sends while it waits.
    c.send("PAUSE\r\n");
    std::this_thread::sleep_for(100ms);
    c.send("PAUSE\r\nC\r\n");
    const auto t1 = Clock::now();
    EXPECT_EQ(c.line(), "250 paused");
    EXPECT_EQ(c.line(), "250 paused");
    EXPECT_GE(Clock::now() - t1, 1000ms);
    EXPECT_EQ(c.line(), "250 C");
    c.send("QUIT\r\n");
    EXPECT_EQ(c.line(), "221 bye");
    s.finish();
    EXPECT_EQ(s.listener->stats().timed_out, 0u);
}

// Nothing the client sends after the command that paused is read until
// the pause ends: not the rest of the read it came in.
TEST(SmtpListener, APausedDialogIsGivenNothingMore) {
    Server s(quick());
    Client c(s.port());
    c.line();
    std::string flood = "PAUSE\r\n";
    while (flood.size() < 200 * 1024) flood += "NOOP NOOP NOOP NOOP\r\n";
    c.send(flood);
    std::this_thread::sleep_for(300ms);
    EXPECT_LE(s.owner.received, 4096u) << "input was given to a paused Dialog";
    EXPECT_EQ(c.line(), "250 paused");
    EXPECT_EQ(c.line(), "250 NOOP NOOP NOOP NOOP");
}

// A client that goes away while its reply waits is closed when the wait
// ends, and the loop does not spin on it meanwhile.
TEST(SmtpListener, ClientGoneDuringAPauseIsClosed) {
    Server s(quick());
    {
        Client c(s.port());
        c.line();
        c.send("PAUSE\r\n");
        std::this_thread::sleep_for(100ms);
    }
    const int turns = s.owner.turns;
    std::this_thread::sleep_for(300ms);
    EXPECT_LT(s.owner.turns - turns, 20);
    for (int i = 0; i < 30 && s.owner.closed_count == 0; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(s.owner.closed_count, 1);
}

TEST(SmtpListener, DataTimeLimitIsForTheWholeBlock) {
    ListenerOptions o = quick();
    o.command_timeout = 10s;
    o.data_timeout = 600ms;
    Server s(o);
    Client c(s.port());
    c.line();
    c.send("DATA\r\n");
    EXPECT_EQ(c.line(), "354 go on");
    const auto t0 = Clock::now();
    std::thread slow([&] {   // whole lines, but the block never ends
        for (int i = 0; i < 30 && c.send("line\r\n"); ++i) std::this_thread::sleep_for(100ms);
    });
    EXPECT_EQ(c.line(), "421 4.4.2 test.invalid timeout, closing");
    const auto took = Clock::now() - t0;
    slow.join();
    EXPECT_GE(took, 550ms);
    EXPECT_LT(took, 1500ms);
}

TEST(SmtpListener, SlowClientsGiveTheirSlotsBackAtTheDeadline) {
    ListenerOptions o = quick();
    o.max_connections = 2;
    o.command_timeout = 500ms;
    Server s(o);
    Client a(s.port()), b(s.port());
    a.line();
    b.line();
    a.send("x");
    b.send("y");
    Client busy(s.port());
    EXPECT_EQ(busy.line().substr(0, 3), "421");
    std::this_thread::sleep_for(800ms);
    EXPECT_EQ(a.line().substr(0, 9), "421 4.4.2");
    Client c(s.port());
    EXPECT_EQ(c.line(), "220 echo");
    c.send("OK\r\n");
    EXPECT_EQ(c.line(), "250 OK");
}

TEST(SmtpListener, StopFlagEndsTheLoopWithinASecond) {
    Server s(quick());   // 5-minute limits: the loop's longest sleep
    Client c(s.port()), paused(s.port());
    c.line();
    paused.line();
    paused.send("PAUSE\r\n");   // a reply that waits does not hold the stop back
    std::this_thread::sleep_for(100ms);
    const auto took = s.finish();
    EXPECT_LT(took, 1300ms);
    EXPECT_TRUE(c.closed());
    EXPECT_TRUE(paused.closed());
    EXPECT_EQ(s.owner.closed_count, 2);
}

TEST(SmtpListener, NotAcceptingEndsRunWhenTheLastSessionCloses) {
    Server s(quick());
    Client c(s.port());
    c.line();
    s.owner.accept_more = false;
    c.send("QUIT\r\n");
    EXPECT_EQ(c.line(), "221 bye");
    for (int i = 0; i < 40 && !s.result; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(s.result.has_value());
}

TEST(SmtpListener, DropClosesWithoutAReply) {
    Server s(quick());
    Client c(s.port());
    c.line();
    c.send("DROP\r\n");
    EXPECT_TRUE(c.closed());
}

// The replies owed to commands pipelined before the dropped one (a 250 for
// a message taken, RFC 2920) go out before the connection closes.
TEST(SmtpListener, DropAnswersWhatCameBeforeIt) {
    Server s(quick());
    Client c(s.port());
    c.line();
    c.send("DATA\r\nx\r\n.\r\nHELP\r\nDROP\r\nHELP\r\n");
    EXPECT_EQ(c.line(), "354 go on");
    EXPECT_EQ(c.line(), "250 data");
    EXPECT_EQ(c.line(), "214 " + std::string(95, 'h'));
    EXPECT_TRUE(c.closed());
}

// --- TLS ---------------------------------------------------------------------------

namespace {

struct Certs {
    std::string dir, cert, key, other_key;
    Certs() {
        dir = (std::filesystem::temp_directory_path() / ("msg-listener-test-" + std::to_string(::getpid()))).string();
        std::filesystem::create_directories(dir);
        cert = dir + "/cert.pem";
        key = dir + "/key.pem";
        other_key = dir + "/other.pem";
        const std::string q = " >/dev/null 2>&1";
        std::system(("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout " + key +
                     " -out " + cert + q).c_str());
        std::system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + other_key + q).c_str());
    }
    ~Certs() { std::filesystem::remove_all(dir); }
};

const Certs& certs() {
    static const Certs c;
    return c;
}

// A socket listening on 127.0.0.1, on a port of the system's choosing
// (into `port`), for a test's own raw server; -1 when none could be made.
int listen_on_loopback(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (fd >= 0) ::close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    return fd;
}

}  // namespace

TEST(SmtpListener, TlsLoadErrorsNameTheFile) {
    auto missing = ServerTls::load(certs().dir + "/none.pem", certs().key);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("cannot load the TLS certificate " + certs().dir + "/none.pem: "),
              std::string::npos) << missing.error().message;
    auto bad_key = ServerTls::load(certs().cert, certs().cert);
    ASSERT_FALSE(bad_key);
    EXPECT_NE(bad_key.error().message.find("cannot load the TLS key " + certs().cert), std::string::npos)
        << bad_key.error().message;
    auto other = ServerTls::load(certs().cert, certs().other_key);
    ASSERT_FALSE(other);
    EXPECT_NE(other.error().message.find("does not match the certificate"), std::string::npos) << other.error().message;
    EXPECT_TRUE(ServerTls::load(certs().cert, certs().key));
}

TEST(SmtpListener, StartTlsAndImplicitTls) {
    auto tls = ServerTls::load(certs().cert, certs().key);
    ASSERT_TRUE(tls) << tls.error().message;
    const TlsOptions no_check{.verify = false, .ca_file = {}, .server_name = {}};
    {
        Server s(quick(), &*tls);
        auto c = Connection::open(Endpoint{"127.0.0.1", s.port()}, 3000ms);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->read_reply()->code, 220);
        ASSERT_TRUE(c->write("TLS\r\n"));
        EXPECT_EQ(c->read_reply()->code, 220);
        ASSERT_TRUE(c->start_tls(no_check, "localhost"));
        ASSERT_TRUE(c->write("A\r\nB\r\n"));
        auto a = c->read_reply();
        ASSERT_TRUE(a);
        EXPECT_EQ(a->lines.at(0), "A (tls)");
        EXPECT_EQ(c->read_reply()->lines.at(0), "B (tls)");
        // A large reply goes out whole through TLS.
        std::string many;
        for (int i = 0; i < 3000; ++i) many += "HELP\r\n";
        ASSERT_TRUE(c->write(many));
        int helps = 0;
        for (int i = 0; i < 3000; ++i) helps += c->read_reply() ? 1 : 0;
        EXPECT_EQ(helps, 3000);
    }
    {
        // Commands after STARTTLS in the same write, held back while the
        // session waited (a held reply, past the 4 KiB slice it was given):
        // sent in clear, they are dropped at the handshake, not run inside
        // TLS (RFC 3207 4.2).
        Server s(quick(), &*tls);
        auto c = Connection::open(Endpoint{"127.0.0.1", s.port()}, 3000ms);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->read_reply()->code, 220);
        const std::string filler = std::string(4096 - 6 - 5 - 2, 'F') + "\r\n";
        ASSERT_TRUE(c->write(filler + "HOLD\r\nTLS\r\nINJECTED\r\n"));
        EXPECT_EQ(c->read_reply()->code, 250);   // the filler
        EXPECT_EQ(c->read_reply()->lines.at(0), "held");
        EXPECT_EQ(c->read_reply()->code, 220);
        ASSERT_TRUE(c->start_tls(no_check, "localhost"));
        ASSERT_TRUE(c->write("A\r\n"));
        auto a = c->read_reply();
        ASSERT_TRUE(a);
        EXPECT_EQ(a->lines.at(0), "A (tls)");
    }
    {
        ListenerOptions o = quick();
        o.implicit_tls = true;
        Server s(o, &*tls);
        auto c = Connection::open(Endpoint{"127.0.0.1", s.port()}, 3000ms);
        ASSERT_TRUE(c);
        ASSERT_TRUE(c->start_tls(no_check, "localhost"));
        EXPECT_EQ(c->read_reply()->code, 220);
        ASSERT_TRUE(c->write("X\r\n"));
        EXPECT_EQ(c->read_reply()->lines.at(0), "X (tls)");
        // A client that never starts its handshake is cut off like a slow one.
        Client plain(s.port());
        plain.send("EHLO x\r\n");
        EXPECT_TRUE(plain.closed());
        s.finish();
        EXPECT_EQ(s.listener->stats().tls_failed, 1u);
    }
}

// A server that closes the connection in the middle of the handshake (a
// STARTTLS answered 220, or a port 465 that is not TLS) is said to have
// done so, not "unknown TLS error".
TEST(SmtpListener, AHandshakeCutShortSaysTheConnectionClosed) {
    std::uint16_t port = 0;
    const int ls = listen_on_loopback(port);
    ASSERT_GE(ls, 0);
    std::thread server([ls] {
        const int fd = ::accept(ls, nullptr, nullptr);
        char hello[512];
        (void)::recv(fd, hello, sizeof hello, 0);   // the ClientHello, then the end
        ::close(fd);
    });
    auto c = Connection::open(Endpoint{"127.0.0.1", port}, 3000ms);
    ASSERT_TRUE(c);
    auto h = c->start_tls(TlsOptions{.verify = false, .ca_file = {}, .server_name = {}}, "127.0.0.1");
    server.join();
    ::close(ls);
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().message.find("the connection was closed during the handshake"), std::string::npos)
        << h.error().message;
}

// A server may ask for a new handshake in the middle of a TLS 1.2 session
// (RFC 5246 7.4.1.1; made safe by RFC 5746, which OpenSSL requires): the
// client takes part, and the session goes on, whichever of reading or
// writing the new handshake falls in.
TEST(SmtpListener, AServerThatRenegotiatesIsFollowed) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    ASSERT_NE(ctx, nullptr);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    ASSERT_EQ(SSL_CTX_use_certificate_file(ctx, certs().cert.c_str(), SSL_FILETYPE_PEM), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx, certs().key.c_str(), SSL_FILETYPE_PEM), 1);
    std::uint16_t port = 0;
    const int ls = listen_on_loopback(port);
    ASSERT_GE(ls, 0);
    std::string got;            // what the server read
    std::vector<int> pending;   // whether each new handshake asked for was yet to be made, once read past
    // The server writes with write(2): a client that leaves early must
    // fail the test, not end it.
    const auto old_pipe = std::signal(SIGPIPE, SIG_IGN);
    std::thread server([&] {
        const int fd = ::accept(ls, nullptr, nullptr);
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        char buf[256];
        auto line = [&] {
            const int n = SSL_read(ssl, buf, sizeof buf);
            if (n > 0) got.append(buf, static_cast<std::size_t>(n));
        };
        if (SSL_accept(ssl) == 1) {
            // Asked before the greeting: the client's part falls in its read.
            SSL_renegotiate(ssl);
            SSL_do_handshake(ssl);
            SSL_write(ssl, "220 hi\r\n", 8);
            line();
            pending.push_back(SSL_renegotiate_pending(ssl));
            SSL_write(ssl, "250 one\r\n", 9);
            // Asked again after a reply, which the client may have read
            // before the request came: then it writes its next command
            // first, and takes part as it reads the reply to it.
            SSL_renegotiate(ssl);
            SSL_do_handshake(ssl);
            line();
            SSL_write(ssl, "250 two\r\n", 9);
            line();
            pending.push_back(SSL_renegotiate_pending(ssl));
            SSL_write(ssl, "250 three\r\n", 11);
            line();   // the end
        }
        SSL_free(ssl);
        ::close(fd);
    });
    {
        auto c = Connection::open(Endpoint{"127.0.0.1", port}, 3000ms);
        ASSERT_TRUE(c);
        ASSERT_TRUE(c->start_tls(TlsOptions{.verify = false, .ca_file = {}, .server_name = {}}, "127.0.0.1"));
        auto hi = c->read_reply();
        ASSERT_TRUE(hi) << hi.error().message;
        EXPECT_EQ(hi->code, 220);
        ASSERT_TRUE(c->write("ONE\r\n"));
        auto one = c->read_reply();
        ASSERT_TRUE(one) << one.error().message;
        EXPECT_EQ(one->lines.at(0), "one");
        ASSERT_TRUE(c->write("TWO\r\n"));
        auto two = c->read_reply();
        ASSERT_TRUE(two) << two.error().message;
        EXPECT_EQ(two->lines.at(0), "two");
        ASSERT_TRUE(c->write("THREE\r\n"));
        auto three = c->read_reply();
        ASSERT_TRUE(three) << three.error().message;
        EXPECT_EQ(three->lines.at(0), "three");
    }
    server.join();
    std::signal(SIGPIPE, old_pipe);
    ::close(ls);
    SSL_CTX_free(ctx);
    EXPECT_EQ(got, "ONE\r\nTWO\r\nTHREE\r\n");
    EXPECT_EQ(pending, (std::vector<int>{0, 0}));   // both made
}

// A certificate's wildcard is a whole leftmost label: *.example.test names
// a.example.test, but l*.example.test names no host (RFC 9525 6.3), as
// spoolsend(1) says of --tls-verify.
TEST(SmtpListener, APartialWildcardNamesNoHost) {
    const std::string dir = certs().dir + "/wildcard";
    std::filesystem::create_directories(dir);
    const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
    std::system(("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=wild -days 1 -addext "
                 "subjectAltName=DNS:l*.example.test,DNS:*.wild.test -keyout " + key + " -out " + cert +
                 " >/dev/null 2>&1").c_str());
    auto tls = ServerTls::load(cert, key);
    ASSERT_TRUE(tls) << tls.error().message;
    ListenerOptions o = quick();
    o.implicit_tls = true;
    Server s(o, &*tls);
    auto handshake = [&](const std::string& name) {
        auto c = Connection::open(Endpoint{"127.0.0.1", s.port()}, 3000ms);
        if (!c) return std::string("connect: ") + c.error().message;
        auto h = c->start_tls(TlsOptions{.verify = true, .ca_file = cert, .server_name = name}, "127.0.0.1");
        return h ? std::string("ok") : h.error().message;
    };
    EXPECT_EQ(handshake("a.wild.test"), "ok");
    const std::string partial = handshake("lx.example.test");
    EXPECT_NE(partial.find("hostname mismatch"), std::string::npos) << partial;
    const std::string empty_star = handshake("l.example.test");
    EXPECT_NE(empty_star.find("hostname mismatch"), std::string::npos) << empty_star;
}
