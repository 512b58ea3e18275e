// mbox_fuzz.cpp - the mbox push parser on arbitrary input, split at random
// points. The first bytes choose the format, the limit and the splits; the
// rest is the archive. Invariants: fed in pieces (each call given a buffer of
// exactly the bytes it is given) or at once, the parser hands out the same
// events; it never needs more at eof, never holds more than the limit allows,
// keeps its offsets inside the archive, and its messages' data is what the
// archive holds between data_offset and data_end (unquoting aside). An
// archive in a From_-line format that starts with a From_ line frames, cut
// in pieces (MboxPieces) of a size the input chooses, into the same
// messages.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "../unit/mbox_feed.hpp"
#include "msg/mbox.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const std::uint8_t mode = data[0], limit = data[1];
    std::uint32_t seed = static_cast<std::uint32_t>(data[2]) << 8 | data[3];
    const std::string_view archive(reinterpret_cast<const char*>(data) + 4, size - 4);

    msg::MboxOptions o;
    o.format = static_cast<msg::MboxFormat>(mode % 5);
    // Half the time a small limit, so that messages are skipped too; and
    // small reads, so that pieces move their bytes on in their buffers.
    if (mode & 0x80) o.max_message = limit;
    if (mode & 0x20) o.read_size = 4096;

    const msg_test::MboxEvents whole = msg_test::feed_at_once(archive, o, true);
    check(whole.broken.empty());

    // Random pieces (a small PRNG from the input's seed bytes), some empty;
    // one byte each when the seed is 0.
    const bool one_each = seed == 0;
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    while (at < archive.size()) {
        seed = seed * 1103515245u + 12345u;
        const std::size_t piece = one_each ? 1 : (seed >> 16) % ((mode & 0x40) ? 300 : 16);
        at = std::min(archive.size(), at + piece);
        cuts.push_back(at);
    }
    const msg_test::MboxEvents split = msg_test::feed(archive, o, cuts, true);
    check(split.broken.empty());
    check(split == whole);

    // Every message's data is the archive's bytes, or fewer when unquoted.
    msg::MboxParser parser(o);
    msg::MboxMessage m;
    std::string_view rest = archive;
    for (;;) {
        const msg::MboxParser::Step s = parser.put(rest, true, m);
        if (s.event == msg::MboxParser::Event::end) break;
        if (s.event == msg::MboxParser::Event::message) {
            const std::string_view stored = archive.substr(m.data_offset, m.data_end - m.data_offset);
            if (m.too_large) check(m.data.empty() && m.offset + o.max_message < m.data_end);
            else if (!m.unquoted) check(m.data == stored);
            else check(m.data.size() < stored.size());
            for (const msg::Defect& d : m.defects) check(d.offset <= m.data.size());
        }
        rest.remove_prefix(s.consumed);
    }

    // In pieces: the same messages, numbered and placed the same.
    if ((o.format == msg::MboxFormat::mboxrd || o.format == msg::MboxFormat::mboxo) && archive.starts_with("From ")) {
        const int fd = ::memfd_create("mbox_fuzz", MFD_CLOEXEC);
        check(fd >= 0);
        check(::write(fd, archive.data(), archive.size()) == static_cast<ssize_t>(archive.size()));
        auto pieces = msg::MboxPieces::open("/proc/self/fd/" + std::to_string(fd), o.format, limit + 1u);
        check(pieces.ok() && pieces->has_value());
        msg::MboxParser again(o);
        std::string_view left = archive;
        msg::MboxMessage w;
        std::uint64_t messages = 0, lines = 0;
        msg::MboxPiece piece;
        while ((**pieces).next(piece)) {
            std::uint64_t at = 0, count = 0;
            const auto framed = msg::MboxPieces::frame(piece, o, at, [&](msg::MboxMessage& p) {
                msg::MboxParser::Step s{};
                while ((s = again.put(left, true, w)).event != msg::MboxParser::Event::message) {
                    check(s.event != msg::MboxParser::Event::end);
                    left.remove_prefix(s.consumed);
                }
                left.remove_prefix(s.consumed);
                check(p.index + messages == w.index && p.offset + at == w.offset && p.line + lines == w.line);
                check(p.data_end + at == w.data_end && p.data_line + lines == w.data_line);
                check(p.data == w.data && p.from_line == w.from_line && p.separator == w.separator);
                check(p.defects.size() == w.defects.size() && p.too_large == w.too_large);
                ++count;
            });
            check(framed.ok());
            lines += *framed;
            messages += count;
        }
        check(again.put(left, true, w).event == msg::MboxParser::Event::end);   // none left out
        ::close(fd);
    }
    return 0;
}
