// transcript_batch.cpp - a transcript as batch SMTP: what the recorded
// server accepted (smtp/transcript.hpp, docs/transcript-format.md).
#include <optional>

#include "msg/charset.hpp"
#include "msg/smtp/command.hpp"
#include "msg/smtp/transcript.hpp"

namespace msg::smtp {

namespace {

Verb verb_of(const Transcript& t, const Exchange& e) {
    if (e.kind != ExchangeKind::command || e.client.empty()) return Verb::unknown;
    return parse_command(t.lines[e.client[0]].text, {.utf8 = true, .lenient = true}).verb;
}

// "550 5.1.1 no such user", or why there is nothing to quote.
std::string answer(const Exchange& e) {
    if (!e.reply) return e.reply_lines.empty() ? "no reply was recorded" : "a malformed reply";
    std::string s = std::to_string(e.reply->code);
    const std::string text = e.reply->text();
    if (!text.empty()) s += ' ' + text;
    return printable(s.substr(0, 120));
}

// What a note calls a command: its line, short, never an AUTH response.
std::string name_of(const Transcript& t, const Exchange& e) {
    if (e.client.empty()) return "(nothing)";
    const Verb v = verb_of(t, e);
    if (v == Verb::auth) return "AUTH";
    return printable(t.lines[e.client[0]].text.substr(0, 80));
}

bool accepted(const Exchange& e) { return e.reply && e.reply->klass() == 2; }

// MAIL without SIZE=: the size declared in advance asks a server to refuse
// a message too big before it is sent (RFC 1870), which no one does for a
// batch; batch readers take no such parameter (Exim's -bS refuses it).
std::string without_size(const std::string& mail) {
    const std::size_t path_end = mail.find('>');
    if (path_end == std::string::npos) return mail;
    std::string out = mail.substr(0, path_end + 1);
    std::size_t at = path_end + 1;
    while (at < mail.size()) {
        const std::size_t sp = mail.find(' ', at);
        const std::size_t start = sp == std::string::npos ? mail.size() : sp;
        out.append(mail, at, start - at);   // what is between parameters
        if (start == mail.size()) break;
        std::size_t end = mail.find(' ', start + 1);
        if (end == std::string::npos) end = mail.size();
        std::string word = mail.substr(start + 1, end - start - 1);
        std::string up = word.substr(0, 5);
        for (char& c : up) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
        if (up != "SIZE=" && !(up == "SIZE" && word.size() == 4)) out += ' ' + word;
        at = end;
    }
    return out;
}

}  // namespace

bool begins_with_tls(const Transcript& t) {
    for (const TranscriptLine& l : t.lines)
        if (l.side != Side::event) return l.tls;
    return false;
}

BatchConversion to_batch(const Transcript& t) {
    BatchConversion out;
    auto keep_line = [&](std::size_t i) {
        TranscriptLine l = t.lines[i];
        l.tls = false;
        l.time = -1;
        out.batch.lines.push_back(std::move(l));
    };
    bool replies = false;
    for (const TranscriptLine& l : t.lines) replies = replies || l.side == Side::server;
    if (!replies) {   // a batch already: every command is taken as accepted
        for (std::size_t i = 0; i < t.lines.size(); ++i)
            if (t.lines[i].side == Side::client) keep_line(i);
        return out;
    }

    const std::vector<Exchange> ex = exchanges(t);
    auto keep = [&](const Exchange& e) {
        for (std::size_t i : e.client) keep_line(i);
        if (verb_of(t, e) == Verb::mail) out.batch.lines.back().text = without_size(out.batch.lines.back().text);
    };
    auto note = [&](const Exchange& e, std::string why) { out.left_out.push_back({e.first_line(), std::move(why)}); };

    // The transaction under way: its MAIL first, then what is kept with it.
    std::optional<std::vector<const Exchange*>> txn;
    bool txn_rcpt = false, txn_data = false;
    auto abandon = [&](const std::string& why) {
        if (!txn) return;
        note(*txn->front(), "transaction left out: " + why);
        txn.reset();
    };
    bool greeted = false;
    for (const Exchange& e : ex) {
        switch (e.kind) {
        case ExchangeKind::greeting:
        case ExchangeKind::unanswered:
        case ExchangeKind::sasl:   // the AUTH note covers its responses
            continue;
        case ExchangeKind::body:
            if (!txn || !txn_data) {
                note(e, "message after a DATA that was left out");
                continue;
            }
            if (e.reply && e.reply->code == 250) {
                txn->push_back(&e);
                for (const Exchange* k : *txn) keep(*k);
                txn.reset();
            } else {
                abandon(e.reply ? "the message was refused, " + answer(e)
                                : "the reply to the message's final dot is not recorded: " + answer(e));
            }
            continue;
        case ExchangeKind::command:
            break;
        }
        const Verb v = verb_of(t, e);
        const std::string name = name_of(t, e);
        switch (v) {
        case Verb::helo:
        case Verb::ehlo:
            abandon("not finished before " + std::string(verb_name(v)));
            if (!greeted && accepted(e)) {
                keep(e);
                greeted = true;
            } else {
                note(e, greeted ? name + ": the batch has its HELO or EHLO already" : name + " was refused, " + answer(e));
            }
            break;
        case Verb::starttls:
            abandon("not finished before STARTTLS");
            note(e, "STARTTLS: batch SMTP has no TLS");
            break;
        case Verb::auth:
            note(e, "AUTH and its responses: batch SMTP has no authentication");
            break;
        case Verb::rset:
            abandon("reset by RSET");
            note(e, "RSET: a batch holds finished transactions only");
            break;
        case Verb::mail:
            abandon("not finished before the next MAIL");
            if (accepted(e)) {
                txn.emplace(std::vector<const Exchange*>{&e});
                txn_rcpt = txn_data = false;
            } else {
                note(e, name + " was refused, " + answer(e));
            }
            break;
        case Verb::rcpt:
            if (!txn) note(e, name + " outside a transaction, " + answer(e));
            else if (accepted(e)) txn->push_back(&e), txn_rcpt = true;
            else note(e, name + " was refused, " + answer(e));
            break;
        case Verb::data:
            if (!txn) {
                note(e, "DATA outside a transaction, " + answer(e));
            } else if (!e.reply || e.reply->code != 354) {
                abandon("DATA was answered " + answer(e));
            } else if (!txn_rcpt) {
                abandon("no recipient was accepted");
            } else {
                txn->push_back(&e);
                txn_data = true;
            }
            break;
        case Verb::bdat:
            if (accepted(e)) {
                out.refused = BatchNote{e.first_line(), name + ": a message sent in BDAT chunks (RFC 3030) has no batch SMTP form"};
                out.batch.lines.clear();
                out.left_out.clear();
                return out;
            }
            abandon("BDAT was answered " + answer(e));
            break;
        case Verb::quit:
            abandon("not finished before QUIT");
            keep(e);
            break;
        default:
            if (!accepted(e)) note(e, name + " was refused, " + answer(e));
            else if (txn) txn->push_back(&e);
            else keep(e);
            break;
        }
    }
    abandon("the transcript ends before it was finished");
    return out;
}

}  // namespace msg::smtp
