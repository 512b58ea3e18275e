// receiver.hpp - a receiving server for tests and sinks: the Listener's
// hooks that answer by Rules and store every accepted message into a
// Spool, durably and in groups (what smtpsink runs), or count it, or play
// a recorded transcript's server side (ServerScript).
//
// Each message accepted in one turn of the event loop is added to one
// Spool::Batch; at the end of the turn the batch is committed (one
// syncfs) and only then are the 250 replies released: a 250 always means
// the entry is durable in queue/. A store that fails answers 451.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "msg/smtp/listener.hpp"
#include "msg/smtp/rules.hpp"
#include "msg/smtp/script.hpp"
#include "msg/smtp/server.hpp"
#include "msg/spool.hpp"

namespace msg::smtp {

// messages, recipients and bytes count the messages stored (or, with no
// spool, taken); store_errors those that could not be.
struct ReceiverTotals {
    std::uint64_t sessions = 0, ended = 0, messages = 0, recipients = 0, bytes = 0, refused = 0, store_errors = 0;
};

class Receiver : public ListenerHooks {
public:
    // `spool` null: messages are counted, not stored. `script` set: every
    // session plays it (rules and spool are not used). Pointers must
    // outlive the Receiver.
    Receiver(const ServerOptions& options, Rules& rules, Spool* spool, ServerScript* script = nullptr)
        : opt_(options), rules_(rules), spool_(spool), script_(script) {}

    std::unique_ptr<Dialog> open(const Peer& peer) override;
    void closed(Dialog&) override { ++totals.ended; }
    bool accepting() override;
    void turn_end() override;   // the group commit

    ReceiverTotals totals;
    std::uint64_t max_sessions = 0, max_messages = 0;   // stop accepting after so many (0: no limit)
    std::function<void(const std::string&)> on_error;  // a store that failed

private:
    struct Session;
    Verdict decide(Stage stage, std::string_view arg, const std::vector<std::string>& rcpts);
    Verdict store(ReceivedMessage&& m, Session& s, bool& hold);

    const ServerOptions& opt_;
    Rules& rules_;
    Spool* spool_;
    ServerScript* script_;
    std::optional<Spool::Batch> batch_;
    std::vector<Session*> held_;
    struct Sizes {
        std::uint64_t recipients, bytes;
    };
    std::vector<Sizes> held_sizes_;   // of held_'s messages, counted once stored
};

}  // namespace msg::smtp
