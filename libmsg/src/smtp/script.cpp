// smtp/script.cpp - a transcript's server side (smtp/script.hpp).
#include "msg/smtp/script.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "msg/charset.hpp"
#include "msg/codec.hpp"
#include "msg/smtp/command.hpp"
#include "msg/smtp/replay.hpp"

namespace msg::smtp {

namespace {

// Credentials: a SASL response, or the initial response of an AUTH
// command, may hold a password. A note never shows one (notes go to the
// operator's terminal and logs); a recorded line whose password is masked
// (unmask_auth_line's rule) stands for whatever password the client gives.

// The AUTH command's initial response in `line`, or "" when it has none.
std::string_view initial_response(std::string_view line) {
    const Command c = parse_command(line, {.utf8 = true, .lenient = true});
    return c.verb == Verb::auth ? c.initial_response : std::string_view();
}

// The password in a client's SASL response or initial response: PLAIN's
// last field (authzid NUL authcid NUL passwd, RFC 4616), or the whole text
// of a LOGIN step.
std::optional<std::string> password_of(std::string_view line, bool sasl) {
    const std::string_view token = sasl ? line : initial_response(line);
    if (token.empty() || !is_base64_token(token)) return std::nullopt;
    std::string plain;
    DecodeStatus st;
    decode_transfer(token, TransferEncoding::base64, plain, &st);
    const std::size_t nul = plain.rfind('\0');
    return nul == std::string::npos ? plain : plain.substr(nul + 1);
}

// A line as a note may show it: a SASL response named, an AUTH line
// without its credential (auth_line_shown), any other line's first 80
// bytes; escaped.
std::string shown(std::string_view l, bool sasl) {
    if (sasl) return "(AUTH response)";
    if (const auto a = auth_line_shown(l)) return printable(std::string_view(*a).substr(0, 80));
    return printable(l.substr(0, 80));
}

// Whether the client's line `got` is the script's `want`: the same, or the
// same once the recording's masked password is the client's.
bool same_line(std::string_view want, std::string_view got, bool sasl) {
    if (want == got) return true;
    const auto password = password_of(got, sasl);
    if (!password) return false;
    const auto unmasked = unmask_auth_line(want, *password);
    return unmasked && *unmasked == got;
}

}  // namespace

class ScriptSession final : public Dialog {
public:
    explicit ScriptSession(ServerScript& s) : s_(s) {}
    void start() override;
    void receive(std::string_view bytes) override;
    std::string& output() override { return out_; }
    bool closing() const override { return closing_; }
    bool dropped() const override { return false; }
    bool tls_requested() const override { return tls_requested_; }
    void tls_started() override { tls_requested_ = false; }
    bool held() const override { return false; }
    std::uint64_t completed() const override { return completed_; }
    bool in_data() const override {
        return chunk_left_ > 0 || (next_ < s_.ex_.size() && s_.ex_[next_].kind == ExchangeKind::body);
    }

private:
    void answer();   // send the reply of exchange next_, and of unanswered ones after it
    void line(std::string_view l, bool crlf);
    Verb verb(const Exchange& e) const {   // of its command, as recorded
        return e.client.empty() ? Verb::unknown : parse_command(command_text(s_.t_, e), {.utf8 = true, .lenient = true}).verb;
    }
    bool opens_message(const Exchange& e) const;
    void leave_message(std::string_view l, bool crlf, const Command& c);
    void differs(std::string_view got, std::string_view want, bool sasl) {
        ++s_.differences_;
        // Both are shown on the operator's terminal: what any client
        // sent may hold escapes and bytes that are not text, and
        // neither side's credentials are shown.
        note("the client sent \"" + shown(got, sasl) + "\" where the script has \"" + shown(want, sasl) + "\"");
    }
    void note(const std::string& text) {
        if (s_.on_note) s_.on_note(text);
    }

    ServerScript& s_;
    std::string in_, out_;
    std::size_t next_ = 0;           // the exchange whose client lines come next
    std::size_t got_ = 0;            // of its client lines, received so far
    std::uint64_t chunk_left_ = 0, completed_ = 0;
    bool closing_ = false, tls_requested_ = false;
    bool after_crlf_ = true;         // the line before ended with CRLF (a "." line ends a message only so)
};

std::string_view unplayable_script(const Transcript& t) {
    const bool replies = std::any_of(t.lines.begin(), t.lines.end(), [](const TranscriptLine& l) { return l.side == Side::server; });
    if (!replies && std::any_of(t.lines.begin(), t.lines.end(), [](const TranscriptLine& l) { return l.side == Side::client; }))
        return "the transcript records no replies (batch SMTP): there is no server side to play";
    return {};
}

ServerScript::ServerScript(Transcript t, bool can_tls) : t_(std::move(t)), ex_(exchanges(t_)), can_tls_(can_tls) {}

std::unique_ptr<Dialog> ServerScript::session() { return std::make_unique<ScriptSession>(*this); }

void ScriptSession::start() {
    ++s_.sessions_;
    next_ = 0;
    if (s_.ex_.empty()) {
        out_ += "421 4.3.0 empty script\r\n";
        closing_ = true;
    } else if (s_.ex_[0].kind == ExchangeKind::greeting) {
        answer();
    } else {
        // A script that begins with the client's first command still needs
        // the greeting the client waits for (RFC 5321 3.1).
        out_ += "220 smtpsink ESMTP (the script records no greeting)\r\n";
    }
}

void ScriptSession::answer() {
    const Transcript& t = s_.t_;
    auto send = [&](const Exchange& e) {
        for (std::size_t i : e.reply_lines) out_ += t.lines[i].text + "\r\n";
        if (e.reply && (e.reply->code == 221 || e.reply->code == 421)) closing_ = true;   // the server closes
    };
    const Exchange& e = s_.ex_[next_];
    send(e);
    bool starttls = false;
    if (e.kind == ExchangeKind::command && e.reply && e.reply->code == 220) starttls = verb(e) == Verb::starttls;
    ++next_;
    while (next_ < s_.ex_.size() && s_.ex_[next_].kind == ExchangeKind::unanswered) send(s_.ex_[next_++]);
    got_ = 0;
    after_crlf_ = true;   // a message's first line follows its DATA, whatever ended that
    if (starttls) {
        if (s_.can_tls_) {
            tls_requested_ = true;
            in_.clear();
        } else {
            note("the script starts TLS, but TLS is not available");
            closing_ = true;
        }
    }
    if (next_ >= s_.ex_.size() && !closing_) {
        out_ += "421 4.3.0 end of the script, closing\r\n";
        closing_ = true;
    }
}

// Whether the client's command at `e` begins a message (a DATA the
// script answers 354, a BDAT): its lines after it are the message's.
bool ScriptSession::opens_message(const Exchange& e) const {
    if (e.kind != ExchangeKind::command) return false;
    const Verb v = verb(e);
    return v == Verb::bdat || (v == Verb::data && e.reply && e.reply->code == 354);
}

// The client sent `l` (parsed: `c`) where the script's DATA or BDAT opens
// a message: it sends no message there (smtpreplay --no-data sends RSET in
// its place; a client that finds no CHUNKING sends no BDAT). Taking its
// next lines for the message would answer a command with 354 and read the
// client's commands as mail (RFC 5321 4.1.1.4). So the script passes over
// the message, through its last BDAT, and answers the command: as the
// script's next exchange when that is the same command (a client that
// skips the message goes on with the script), else as a server would
// (250 to RSET and NOOP, 221 to QUIT, 503 to anything else).
void ScriptSession::leave_message(std::string_view l, bool crlf, const Command& c) {
    const Exchange& e = s_.ex_[next_];
    const bool bdat = verb(e) == Verb::bdat;
    differs(l, command_text(s_.t_, e), false);
    auto in_message = [&](const Exchange& x) {
        return x.kind == ExchangeKind::body || x.kind == ExchangeKind::unanswered ||
               (x.kind == ExchangeKind::command && verb(x) == Verb::bdat);
    };
    for (++next_; next_ < s_.ex_.size() && in_message(s_.ex_[next_]);) ++next_;
    got_ = 0;
    after_crlf_ = true;
    if (next_ < s_.ex_.size() && s_.ex_[next_].kind == ExchangeKind::command && c.verb != Verb::unknown &&
        verb(s_.ex_[next_]) == c.verb)
        return line(l, crlf);
    switch (c.verb) {
    case Verb::rset:
    case Verb::noop: out_ += "250 2.0.0 OK (the script has a message here)\r\n"; break;
    case Verb::quit:
        out_ += "221 2.0.0 closing (the script has a message here)\r\n";
        closing_ = true;
        break;
    default:
        out_ += bdat ? "503 5.5.1 the script has BDAT here\r\n" : "503 5.5.1 the script has DATA here\r\n";
    }
    if (next_ >= s_.ex_.size() && !closing_) {
        out_ += "421 4.3.0 end of the script, closing\r\n";
        closing_ = true;
    }
}

void ScriptSession::line(std::string_view l, bool crlf) {
    const Exchange& e = s_.ex_[next_];
    if (got_ == 0 && opens_message(e)) {
        const Command c = parse_command(l, {.utf8 = true, .lenient = true});
        const Verb want = verb(e);
        if (c.verb != want || (want == Verb::bdat && !c.ok)) return leave_message(l, crlf, c);
    }
    if (got_ < e.client.size()) {
        const std::string_view want = got_ == 0 ? command_text(s_.t_, e) : std::string_view(s_.t_.lines[e.client[got_]].text);
        const bool sasl = e.kind == ExchangeKind::sasl;
        if (e.kind != ExchangeKind::body && !same_line(want, l, sasl)) differs(l, want, sasl);
    }
    ++got_;
    // The end of a message is CRLF "." CRLF only, as for the server without
    // a script: "<LF>.<CR><LF>" or a "." line ended by a bare LF is content
    // (SMTP smuggling).
    const bool dot_ends = l == "." && crlf && after_crlf_;
    after_crlf_ = crlf;
    bool done = e.kind == ExchangeKind::body ? dot_ends : got_ >= e.client.size() || e.kind != ExchangeKind::command;
    if (e.kind == ExchangeKind::command && got_ == 1) {
        const Command c = parse_command(l, {.utf8 = true, .lenient = true});
        // The client's own size says where its chunk ends; an empty one
        // (BDAT 0 LAST, RFC 3030 2) is answered at once.
        if (c.verb == Verb::bdat && c.ok) {
            chunk_left_ = c.chunk_size;
            done = chunk_left_ == 0;
        }
    }
    if (done) answer();
}

void ScriptSession::receive(std::string_view bytes) {
    if (closing_ || tls_requested_) return;
    in_.append(bytes);
    std::size_t at = 0;
    while (!closing_ && !tls_requested_ && next_ < s_.ex_.size()) {
        if (chunk_left_ > 0) {
            const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, in_.size() - at));
            at += take;
            chunk_left_ -= take;
            if (chunk_left_ > 0) break;
            ++completed_;
            after_crlf_ = true;
            answer();
            continue;
        }
        const std::size_t nl = in_.find('\n', at);
        if (nl == std::string::npos) {
            if (in_.size() - at > 65536) at = in_.size();   // no line that long is in any script
            break;
        }
        std::string_view l(in_.data() + at, nl - at);
        const bool crlf = !l.empty() && l.back() == '\r';
        if (crlf) l.remove_suffix(1);
        at = nl + 1;
        ++completed_;
        line(l, crlf);
    }
    in_.erase(0, tls_requested_ ? in_.size() : at);
}

}  // namespace msg::smtp
