// dialog.cpp - smtpsink --script: a transcript's server side (dialog.hpp).
#include "dialog.hpp"

#include <cstring>
#include <iostream>

#include "msg/smtp/command.hpp"

namespace sink {

using msg::smtp::ExchangeKind;

void ScriptDialog::start() {
    ++stats_.sessions;
    next_ = 0;
    if (!ex_.empty() && ex_[0].kind == ExchangeKind::greeting) answer();
    else if (ex_.empty()) {
        out_ += "421 4.3.0 empty script\r\n";
        closing_ = true;
    }
}

// Send exchange next_'s recorded reply, then any replies recorded without
// a command; move to the next exchange that has client lines.
void ScriptDialog::answer() {
    auto send = [&](const msg::smtp::Exchange& e) {
        for (std::size_t i : e.reply_lines) out_ += t_.lines[i].text + "\r\n";
    };
    const msg::smtp::Exchange& e = ex_[next_];
    send(e);
    bool starttls = false;
    if (e.kind == ExchangeKind::command && !e.client.empty() && e.reply && e.reply->code == 220)
        starttls = msg::smtp::parse_command(t_.lines[e.client[0]].text, {.utf8 = true, .lenient = true}).verb ==
                   msg::smtp::Verb::starttls;
    ++next_;
    while (next_ < ex_.size() && ex_[next_].kind == ExchangeKind::unanswered) send(ex_[next_++]);
    got_ = 0;
    if (e.reply && e.reply->code == 221) closing_ = true;
    if (starttls) {
        if (can_tls_) {
            tls_requested_ = true;
            in_.clear();
        } else {
            std::cerr << "smtpsink: " << name_ << ": the script starts TLS, but there is no --tls-cert\n";
            closing_ = true;
        }
    }
    if (next_ >= ex_.size() && !closing_) {
        out_ += "421 4.3.0 end of the script, closing\r\n";
        closing_ = true;
    }
}

void ScriptDialog::line(std::string_view l) {
    const msg::smtp::Exchange& e = ex_[next_];
    if (got_ < e.client.size()) {
        const std::string& want = t_.lines[e.client[got_]].text;
        if (l != want && e.kind != ExchangeKind::body) {
            ++stats_.differences;
            std::cerr << "smtpsink: " << name_ << ": the client sent \"" << std::string(l.substr(0, 80))
                      << "\" where the script has \"" << want.substr(0, 80) << "\"\n";
        }
    }
    ++got_;
    bool done = false;
    if (e.kind == ExchangeKind::body) done = l == ".";
    else done = got_ >= e.client.size() || e.kind != ExchangeKind::command;
    if (e.kind == ExchangeKind::command && got_ == 1) {
        const auto c = msg::smtp::parse_command(l, {.utf8 = true, .lenient = true});
        if (c.verb == msg::smtp::Verb::bdat && c.ok) chunk_left_ = c.chunk_size;
        if (chunk_left_ > 0) done = false;
    }
    if (done) answer();
}

void ScriptDialog::receive(std::string_view bytes) {
    if (closing_ || tls_requested_) return;
    in_.append(bytes);
    std::size_t at = 0;
    while (!closing_ && !tls_requested_ && next_ < ex_.size()) {
        if (chunk_left_ > 0) {
            const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, in_.size() - at));
            at += take;
            chunk_left_ -= take;
            if (chunk_left_ > 0) break;
            answer();
            continue;
        }
        const std::size_t nl = in_.find('\n', at);
        if (nl == std::string::npos) {
            if (in_.size() - at > 65536) at = in_.size();   // no line that long is in any script
            break;
        }
        std::string_view l(in_.data() + at, nl - at);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        at = nl + 1;
        line(l);
    }
    in_.erase(0, tls_requested_ ? in_.size() : at);
}

}  // namespace sink
