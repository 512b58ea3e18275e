// transcript_fuzz.cpp - the transcript reader in every format, exchanges,
// the checker and anonymise on arbitrary input. Invariants: offsets inside
// the input, exchange indices inside the transcript, and a transcript
// written in its own format reads back to the same lines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "msg/smtp/transcript.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    using namespace msg::smtp;
    for (int k = -1; k < 4; ++k) {
        const std::optional<Format> f = k < 0 ? std::nullopt : std::optional<Format>(static_cast<Format>(k));
        const ParsedTranscript p = parse_transcript(in, f);
        for (const auto& d : p.defects) check(d.offset <= size);
        for (const auto& l : p.transcript.lines) check(l.offset <= size);
        const auto ex = exchanges(p.transcript);
        for (const auto& e : ex) {
            for (std::size_t i : e.client) check(i < p.transcript.lines.size());
            for (std::size_t i : e.reply_lines) check(i < p.transcript.lines.size());
            (void)client_bytes(p.transcript, e);
        }
        for (const auto& d : check_transcript(p.transcript, p.format == Format::bsmtp)) check(d.offset <= size);
        const Transcript a = anonymise(p.transcript);
        check(a.lines.size() == p.transcript.lines.size());
        // The native format holds everything: writing and reading it back
        // keeps every line's side and text.
        const ParsedTranscript back = parse_transcript(write_transcript(p.transcript, Format::native), Format::native);
        bool plain = true;   // texts without line breaks (a bare CR splits nothing, but "\n" would)
        for (const auto& l : p.transcript.lines) plain = plain && l.text.find('\n') == std::string::npos;
        if (plain && back.defects.empty()) {
            // With a peer, the written transcript starts with its connect
            // line (the original's connect events are not written again).
            std::size_t j = 0;
            if (!p.transcript.peer.empty()) {
                check(!back.transcript.lines.empty() && back.transcript.lines[0].side == Side::event);
                j = 1;
            }
            for (const auto& l : p.transcript.lines) {
                if (l.side == Side::event && l.text.rfind("connect ", 0) == 0 && !p.transcript.peer.empty()) continue;
                // Where TLS begins and the source said nothing of it (cs
                // infers it), the writer says it with a "tls" event of its own.
                if (j < back.transcript.lines.size() && back.transcript.lines[j].side == Side::event &&
                    back.transcript.lines[j].text == "tls" && l.side != Side::event && l.tls)
                    ++j;
                check(j < back.transcript.lines.size());
                check(back.transcript.lines[j].side == l.side);
                ++j;
            }
        }
    }
    return 0;
}
