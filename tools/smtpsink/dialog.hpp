// dialog.hpp - what smtpsink's event loop drives on each connection: the
// ESMTP server session, or a transcript's server side played back
// (--script).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "msg/smtp/server.hpp"
#include "msg/smtp/transcript.hpp"

namespace sink {

class Dialog {
public:
    virtual ~Dialog() = default;
    virtual void start() = 0;
    virtual void receive(std::string_view bytes) = 0;
    virtual std::string& output() = 0;
    virtual bool closing() const = 0;
    virtual bool dropped() const = 0;
    virtual bool tls_requested() const = 0;
    virtual void tls_started() = 0;
    virtual bool held() const { return false; }
    virtual void resume(const msg::smtp::Verdict&) {}
};

class ServerDialog : public Dialog {
public:
    ServerDialog(const msg::smtp::ServerOptions& o, msg::smtp::ServerPolicy& p) : s_(o, p) {}
    void start() override { s_.start(); }
    void receive(std::string_view b) override { s_.receive(b); }
    std::string& output() override { return s_.output(); }
    bool closing() const override { return s_.closing(); }
    bool dropped() const override { return s_.dropped(); }
    bool tls_requested() const override { return s_.tls_requested(); }
    void tls_started() override { s_.tls_started(); }
    bool held() const override { return s_.held(); }
    void resume(const msg::smtp::Verdict& v) override { s_.resume(v); }

private:
    msg::smtp::ServerSession s_;
};

// The server side of a recorded session: the greeting, then for each
// exchange, once the client has sent its lines (a command; a message
// through its final dot; a SASL response; a BDAT chunk), the recorded
// reply. A client line that differs from the recorded one is counted and
// reported (the recorded reply is sent all the same); when the script is
// done, 421 and close. A recorded 220 to STARTTLS starts TLS when
// smtpsink has a certificate.
struct ScriptStats {
    std::uint64_t sessions = 0, differences = 0;
};

class ScriptDialog : public Dialog {
public:
    ScriptDialog(const msg::smtp::Transcript& t, const std::vector<msg::smtp::Exchange>& ex, bool can_tls,
                 ScriptStats& stats, std::string name)
        : t_(t), ex_(ex), can_tls_(can_tls), stats_(stats), name_(std::move(name)) {}
    void start() override;
    void receive(std::string_view bytes) override;
    std::string& output() override { return out_; }
    bool closing() const override { return closing_; }
    bool dropped() const override { return false; }
    bool tls_requested() const override { return tls_requested_; }
    void tls_started() override { tls_requested_ = false; }

private:
    void answer();      // send the reply of exchange next_, and of unanswered ones after it
    void line(std::string_view l);

    const msg::smtp::Transcript& t_;
    const std::vector<msg::smtp::Exchange>& ex_;
    bool can_tls_;
    ScriptStats& stats_;
    std::string name_;
    std::string in_, out_;
    std::size_t next_ = 0;        // the exchange whose client lines come next
    std::size_t got_ = 0;         // of its client lines, received so far
    std::uint64_t chunk_left_ = 0;
    bool closing_ = false, tls_requested_ = false;
};

}  // namespace sink
