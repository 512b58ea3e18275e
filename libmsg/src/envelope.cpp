// envelope.cpp - sender and recipients of a message without an envelope.
#include "msg/envelope.hpp"

#include <algorithm>

#include "msg/address.hpp"
#include "msg/charset.hpp"
#include "msg/header.hpp"

namespace msg {
namespace {

// Two mailboxes are the same recipient when the local parts are equal and
// the domains equal without regard to case (RFC 5321 2.4).
bool same_mailbox(std::string_view a, std::string_view b) {
    const std::size_t x = a.rfind('@'), y = b.rfind('@');
    if (x == std::string_view::npos || y == std::string_view::npos) return a == b;
    return a.substr(0, x) == b.substr(0, y) && iequals(a.substr(x), b.substr(y));
}

}  // namespace

bool is_smtp_mailbox(std::string_view address) {
    std::string path;
    path.reserve(address.size() + 2);
    path.push_back('<');
    path.append(address);
    path.push_back('>');
    const Path p = parse_path(path, PathKind::forward, true);
    return p.ok && !p.postmaster && p.end == path.size() && !p.source_route;
}

DerivedEnvelope derive_envelope(const Message& m, std::string_view from_line) {
    DerivedEnvelope env;
    // --- the sender ---
    std::string_view first = from_line.substr(0, from_line.find_first_of(" \t"));
    if (!first.empty() && first.front() == '<' && first.back() == '>' && first.size() >= 2)
        first = first.substr(1, first.size() - 2);
    if (iequals(first, "MAILER-DAEMON") || first == "<>" || (from_line.starts_with("<>"))) {
        env.have_sender = true;
        env.sender_from = "From_ line";
    } else if (!first.empty() && first.find('@') != std::string_view::npos && is_smtp_mailbox(first)) {
        env.have_sender = true;
        env.sender = first;
        env.sender_from = "From_ line";
    }
    if (!env.have_sender) {
        if (const HeaderField* rp = m.header("Return-Path")) {
            const std::string v = unfold(rp->value);
            std::string_view t = v;
            while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
            while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
            if (t.starts_with("<>")) {  // the null path, maybe with a comment after it
                env.have_sender = true;
                env.sender_from = "Return-Path";
            } else {
                const std::vector<std::string> a = field_addresses(t);
                if (!a.empty() && is_smtp_mailbox(a.front())) {
                    env.have_sender = true;
                    env.sender = a.front();
                    env.sender_from = "Return-Path";
                }
            }
        }
    }
    if (!env.have_sender) {
        if (const HeaderField* from = m.header("From")) {
            for (const std::string& a : field_addresses(unfold(from->value))) {
                if (is_smtp_mailbox(a)) {
                    env.have_sender = true;
                    env.sender = a;
                    env.sender_from = "From";
                    break;
                }
                env.rejected.push_back(a);
            }
        }
    }
    // --- the recipients ---
    // The topmost Resent- block: Resent- fields before the first non-Resent
    // field that follows them (blocks are prepended, newest first).
    std::vector<const HeaderField*> resent, plain;
    bool in_resent = false, resent_done = false;
    for (const HeaderField& f : m.headers()) {
        const bool is_resent = f.name.size() > 7 && iequals(f.name.substr(0, 7), "Resent-");
        if (is_resent && !resent_done) {
            in_resent = true;
            resent.push_back(&f);
        } else if (in_resent && !is_resent) {
            resent_done = true;
        }
        if (!is_resent) plain.push_back(&f);
    }
    auto collect = [&](const std::vector<const HeaderField*>& fields, std::initializer_list<std::string_view> names) {
        for (const HeaderField* f : fields) {
            bool wanted = false;
            for (std::string_view n : names) wanted = wanted || iequals(f->name, n);
            if (!wanted) continue;
            std::size_t bad = 0;
            std::vector<std::string> found = field_addresses(unfold(f->value), &bad);
            env.unparsed += bad;
            for (std::string& a : found) {
                if (!is_smtp_mailbox(a)) {
                    env.rejected.push_back(std::move(a));
                    continue;
                }
                const bool dup = std::any_of(env.rcpts.begin(), env.rcpts.end(),
                                             [&](const std::string& r) { return same_mailbox(r, a); });
                if (!dup) env.rcpts.push_back(std::move(a));
            }
        }
    };
    bool resent_rcpts = false;
    for (const HeaderField* f : resent)
        resent_rcpts = resent_rcpts || iequals(f->name, "Resent-To") || iequals(f->name, "Resent-Cc") ||
                       iequals(f->name, "Resent-Bcc");
    if (resent_rcpts) {
        collect(resent, {"Resent-To", "Resent-Cc", "Resent-Bcc"});
        env.rcpts_from = "Resent-To/Cc/Bcc";
    } else {
        collect(plain, {"To", "Cc", "Bcc"});
        env.rcpts_from = "To/Cc/Bcc";
    }
    auto utf8 = [](std::string_view a) { return first_non_ascii(a) != std::string_view::npos; };
    env.utf8 = utf8(env.sender) || std::any_of(env.rcpts.begin(), env.rcpts.end(), utf8);
    return env;
}

}  // namespace msg
