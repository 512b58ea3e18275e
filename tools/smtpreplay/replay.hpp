// replay.hpp - smtpreplay --server: play a transcript's client side against
// a live server and report how the replies differ (replay.cpp).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "msg/smtp/transcript.hpp"

struct ReplayOptions {
    std::string server;           // HOST:PORT (PORT defaults to 25)
    std::string match = "code";   // class | code | enhanced | text
    bool json = false;            // one JSON object per exchange, then a summary
    bool quiet = false;           // only the summary line
    bool mismatches_only = false; // --diff: print only the exchanges that differ
    double timeout = 30;          // seconds, per read and write
    msg::smtp::TlsOptions tls;    // --tls-verify, --ca-file
    bool tls_on_connect = false;  // --tls (and PORT defaults to 465)
    std::string secret;           // from --auth-file; never printed
    bool no_data = false;         // --no-data
};

// Replay one parsed transcript. Prints the per-exchange report to `out`
// (text or JSON Lines) and diagnostics to stderr. Returns the exit code:
// 0 every reply matched, 1 some did not, 69 the server could not be
// reached, 64 for a bad --match or --server.
// `text` is the file's content, for line numbers.
int replay_transcript(const std::string& file, std::string_view text, const msg::smtp::Transcript& t,
                      const ReplayOptions& opt, std::ostream& out);
