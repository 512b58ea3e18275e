// receiver.cpp - rules, the store and its group commit (receiver.hpp).
#include "msg/smtp/receiver.hpp"

#include <cerrno>

#include <algorithm>
#include <utility>

namespace msg::smtp {

// One connection: the session, and the policy that knows which session it
// answers for (to resume it after the group commit).
struct Receiver::Session final : ServerPolicy, ServerSession {
    Session(Receiver& r, std::string p) : ServerSession(r.opt_, *this), receiver(r), peer(std::move(p)) {}
    ~Session() override { std::erase(receiver.held_, this); }
    Verdict decide(Stage st, std::string_view arg, const std::vector<std::string>& rcpts) override {
        return receiver.decide(st, arg, rcpts);
    }
    Verdict accept(ReceivedMessage&& m, bool& hold) override { return receiver.store(std::move(m), *this, hold); }
    Receiver& receiver;
    std::string peer;
};

std::unique_ptr<Dialog> Receiver::open(const Peer& peer) {
    ++totals.sessions;
    if (script_) return script_->session();
    return std::make_unique<Session>(*this, peer.address);
}

bool Receiver::accepting() {
    return !(max_sessions && totals.ended >= max_sessions) && !(max_messages && totals.messages >= max_messages);
}

Verdict Receiver::decide(Stage stage, std::string_view arg, const std::vector<std::string>& rcpts) {
    const Verdict v = rules_.apply(stage, arg, rcpts);
    if (v.code && v.code / 100 != 2) ++totals.refused;
    return v;
}

namespace {

// The reply to a message the spool could not take: a full file system or
// quota is 452 4.3.1 (insufficient system storage, RFC 5321 4.2.3 and RFC
// 3463), anything else 451 4.3.0. Either way the client keeps it.
Verdict not_stored(const Error& e) {
    if (e.errnum == ENOSPC || e.errnum == EDQUOT)
        return Verdict{452, "4.3.1 insufficient system storage: cannot store the message", false};
    return Verdict{451, "4.3.0 cannot store the message", false};
}

}  // namespace

Verdict Receiver::store(ReceivedMessage&& m, Session& s, bool& hold) {
    if (!spool_) {
        ++totals.messages;
        totals.bytes += m.data.size();
        totals.recipients += m.envelope.rcpts.size();
        return {};
    }
    const Sizes sizes{m.envelope.rcpts.size(), m.data.size()};   // as received
    annotate_received(m, s.peer);
    if (!batch_) batch_.emplace(*spool_);
    if (auto added = batch_->add(m.envelope, m.data); !added) {
        ++totals.store_errors;
        if (on_error) on_error(added.error().message);
        return not_stored(added.error());
    }
    hold = true;
    held_.push_back(&s);
    held_sizes_.push_back(sizes);
    return {};
}

void Receiver::turn_end() {
    if (held_.empty()) return;
    // The entries a failed commit linked are in queue/ (the first ones, in
    // the order they were added, as the sessions were held): theirs get 250
    // and the others 451, so that no message answered 451 is delivered
    // too, and none answered 250 is missing.
    const std::size_t added = batch_->size();
    const Status st = batch_->commit();
    const std::size_t stored = added - batch_->size();
    totals.messages += stored;
    for (std::size_t k = 0; k < stored && k < held_sizes_.size(); ++k) {
        totals.recipients += held_sizes_[k].recipients;
        totals.bytes += held_sizes_[k].bytes;
    }
    held_sizes_.clear();
    Verdict refused;
    if (!st) {
        totals.store_errors += held_.size() - stored;
        if (on_error) on_error(st.error().message);
        refused = not_stored(st.error());
    }
    batch_.reset();
    std::size_t i = 0;
    for (Session* s : std::exchange(held_, {})) s->resume(i++ < stored ? Verdict{} : refused);
}

}  // namespace msg::smtp
