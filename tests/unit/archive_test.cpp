// archive_test.cpp - the mbox <-> spool mapping (archive.hpp): keys, the
// Mbox-* annotations and their inverse.
#include <gtest/gtest.h>
#include <msg/archive.hpp>
#include <msg/codec.hpp>
#include <msg/envelope.hpp>
#include <msg/header.hpp>
#include <msg/message.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>
#include <string>
#include <unistd.h>

namespace {

msg::MboxMessage message(std::string_view from_line, std::string_view data) {
    msg::MboxMessage m;
    m.from_line = from_line;
    m.data = data;
    m.separator = true;
    return m;
}

std::string entry_text(const msg::Envelope& e, std::string_view data) { return msg::format_envelope(e) + std::string(data); }

}  // namespace

TEST(Archive, KeysAreStableAndParse) {
    const std::string k = msg::message_key("a@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody\n");
    EXPECT_EQ(k.size(), 17u);
    EXPECT_EQ(k[0], 'n');
    EXPECT_EQ(k, msg::message_key("a@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody\n"));
    EXPECT_NE(k, msg::message_key("a@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody!\n"));
    EXPECT_NE(k, msg::message_key("b@example.org Mon Nov 23 09:15:00 2026", "Subject: x\n\nbody\n"));
    std::uint64_t h = 0;
    EXPECT_TRUE(msg::parse_message_key(k, h));
    EXPECT_FALSE(msg::parse_message_key("x0123456789abcdef", h));
    EXPECT_FALSE(msg::parse_message_key("m0123456789ABCDEF", h));
    EXPECT_TRUE(msg::parse_message_key("m0123456789abcdef", h));   // an earlier build's
    EXPECT_EQ(h, 0x0123456789abcdefULL);
    EXPECT_FALSE(msg::parse_message_key("m0123", h));
}

// Every byte of a long message counts, in whichever lane of the hash it
// falls; and keys are what spools already hold: both kinds pinned, so that
// a change of either hash (which would make a run over an archive enqueue
// again what it enqueued before) cannot pass unnoticed.
TEST(Archive, KeysOfLongMessagesCountEveryByte) {
    std::string data = "Subject: long\n\n";
    for (int i = 0; data.size() < 200; ++i) data += static_cast<char>('a' + i % 26);
    const std::string from = "a@example.org Mon Nov 23 09:15:00 2026";
    const std::string k = msg::message_key(from, data);
    EXPECT_EQ(k, "n3de1d0b66cb431d2");
    EXPECT_EQ(msg::earlier_message_key(from, data), "m962aaa9f38e5b922");   // as earlier builds made it
    for (std::size_t i = 0; i < data.size(); ++i) {
        std::string changed = data;
        changed[i] ^= 1;
        EXPECT_NE(msg::message_key(from, changed), k) << i;
    }
    EXPECT_NE(msg::message_key(from, data + "x"), k);
    EXPECT_NE(msg::message_key(from, data.substr(0, data.size() - 1)), k);
}

// A fresh spool in the temporary directory, removed at the end of the test.
struct TempSpool {
    explicit TempSpool(const std::string& stem)
        : root(std::filesystem::temp_directory_path() / (stem + "-" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(root);
        auto s = msg::Spool::open(root.string(), true);
        if (s) spool.emplace(std::move(*s));
        else error = s.error().message;
    }
    ~TempSpool() { std::filesystem::remove_all(root); }
    std::filesystem::path root;
    std::optional<msg::Spool> spool;
    std::string error;
};

// The envelope and From_ line of the index tests' messages.
const std::string kFromLine = "a@example.org Mon Nov 23 09:15:00 2026";
msg::Envelope index_envelope() {
    msg::Envelope e;
    e.mail_from = "a@example.org";
    e.rcpts = {{"b@example.net", {}}};
    return e;
}

// A spool written by an earlier build holds "m" keys: a message found
// under either kind of key is there already, once per entry.
TEST(Archive, SpoolIndexFindsTheKeysOfEarlierBuilds) {
    TempSpool temp("msg-index");
    ASSERT_TRUE(temp.spool) << temp.error;
    msg::Spool* spool = &*temp.spool;
    const msg::Envelope e = index_envelope();
    const std::string& from = kFromLine;
    const std::string old_msg = "Subject: before the upgrade\n\n" + std::string(100, 'o') + "\n";
    const std::string new_msg = "Subject: after it\n\n" + std::string(100, 'n') + "\n";
    ASSERT_TRUE(spool->enqueue(e, old_msg, msg::new_entry_name(msg::earlier_message_key(from, old_msg))));
    ASSERT_TRUE(spool->enqueue(e, new_msg, msg::new_entry_name(msg::message_key(from, new_msg))));
    auto index = msg::SpoolIndex::of(*spool);
    ASSERT_TRUE(index) << index.error().message;
    const std::string old_key = msg::message_key(from, old_msg), new_key = msg::message_key(from, new_msg);
    index->next_archive();
    EXPECT_TRUE(index->holds(old_key, from, old_msg)) << "found by the earlier key";
    EXPECT_FALSE(index->holds(old_key, from, old_msg)) << "one entry: a second copy is not there";
    EXPECT_TRUE(index->holds(new_key, from, new_msg));
    EXPECT_FALSE(index->holds(new_key, from, new_msg));
    index->added(new_key);
    // In the next archive the copies are counted again: two entries now.
    index->next_archive();
    EXPECT_TRUE(index->holds(new_key, from, new_msg));
    EXPECT_TRUE(index->holds(new_key, from, new_msg));
    EXPECT_FALSE(index->holds(new_key, from, new_msg));
}

// Archives of few and of many messages, each message twice: every copy
// counted in one archive is counted afresh in the next, none is left over.
TEST(Archive, SpoolIndexCountsEachArchiveAfresh) {
    TempSpool temp("msg-index-many");
    ASSERT_TRUE(temp.spool) << temp.error;
    msg::Spool* spool = &*temp.spool;
    // In memory, and past 97 keys in a file.
    for (const std::size_t memory : {msg::kIndexMemoryKeys, std::size_t{97}}) {
        auto index = msg::SpoolIndex::of(*spool, {}, memory);
        ASSERT_TRUE(index) << index.error().message;
        const std::string from = "a@example.org Mon Nov 23 09:15:00 2026";
        for (const int messages : {3, 5000, 10, 5000}) {
            std::vector<std::string> keys;
            for (int i = 0; i < messages; ++i) keys.push_back(msg::message_key(from, "Subject: " + std::to_string(i) + "\n\n"));
            // An archive that holds each message twice: the spool gets two entries of each.
            index->next_archive();
            for (int copy = 0; copy < 2; ++copy)
                for (const std::string& k : keys)
                    if (!index->holds(k, from, {})) index->added(k);
            // The same archive again: all there, and a third copy is not.
            index->next_archive();
            for (int copy = 0; copy < 2; ++copy)
                for (const std::string& k : keys) ASSERT_TRUE(index->holds(k, from, {})) << messages << " " << k;
            for (const std::string& k : keys) ASSERT_FALSE(index->holds(k, from, {})) << messages << " " << k;
        }
        EXPECT_FALSE(index->error());
    }
}

// A message enqueued more times than the index counts (65,534): the
// copies past that count are enqueued again, never taken for ones the spool
// holds.
TEST(Archive, SpoolIndexCountsStopShortOfTheirTop) {
    TempSpool temp("msg-index-top");
    ASSERT_TRUE(temp.spool) << temp.error;
    auto index = msg::SpoolIndex::of(*temp.spool);
    ASSERT_TRUE(index) << index.error().message;
    const std::string from = "a@example.org Mon Nov 23 09:15:00 2026";
    const std::string k = msg::message_key(from, "Subject: many\n\n");
    for (int i = 0; i < 70000; ++i) index->added(k);
    index->next_archive();
    int held = 0;
    for (int i = 0; i < 70000; ++i) held += index->holds(k, from, {});
    EXPECT_EQ(held, 65534);
    EXPECT_FALSE(index->holds(k, from, {}));
}

// Where no temporary file can be made, the index is held in memory, says
// so, and still answers right.
TEST(Archive, SpoolIndexWithoutATemporaryFile) {
    TempSpool temp("msg-index-nofile");
    ASSERT_TRUE(temp.spool) << temp.error;
    std::filesystem::remove_all(temp.root / "tmp");
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", (temp.root / "none").c_str(), 1);
    auto index = msg::SpoolIndex::of(*temp.spool, {}, 3);
    ASSERT_TRUE(index) << index.error().message;
    std::vector<std::string> keys;
    for (int i = 0; i < 50; ++i) keys.push_back(msg::message_key(kFromLine, "Subject: " + std::to_string(i) + "\n\n"));
    index->next_archive();
    for (const std::string& k : keys) {
        EXPECT_FALSE(index->holds(k, kFromLine, {}));
        index->added(k);
    }
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    ASSERT_TRUE(index->write_error());
    EXPECT_FALSE(index->error());
    index->next_archive();
    for (const std::string& k : keys) EXPECT_TRUE(index->holds(k, kFromLine, {}));
    for (const std::string& k : keys) EXPECT_FALSE(index->holds(k, kFromLine, {}));
}

// An index of a spool past its memory: the spool's entries are listed into
// the file, and found there as many times as the spool holds them. Without
// a temporary file (`file` false) the spool's names are sorted in memory,
// the index says so at once, and its answers are the same.
void index_past_its_memory(bool file) {
    TempSpool temp(file ? "msg-index-file" : "msg-index-nofile-listed");
    ASSERT_TRUE(temp.spool) << temp.error;
    msg::Spool* spool = &*temp.spool;
    const msg::Envelope e = index_envelope();
    const std::string& from = kFromLine;
    auto data = [](int i) { return "Subject: " + std::to_string(i) + "\n\nx\n"; };
    // Messages 0-39 twice in the spool, 40-79 once, 80-99 not at all.
    for (int i = 0; i < 80; ++i)
        for (int copy = 0; copy < (i < 40 ? 2 : 1); ++copy)
            ASSERT_TRUE(spool->enqueue(e, data(i), msg::new_entry_name(msg::message_key(from, data(i)))));
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    if (!file) {
        std::filesystem::remove_all(temp.root / "tmp");
        ::setenv("TMPDIR", (temp.root / "none").c_str(), 1);
    }
    auto index = msg::SpoolIndex::of(*spool, {}, 5);
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    ASSERT_TRUE(index) << index.error().message;
    EXPECT_EQ(index->write_error().has_value(), !file);
    for (int archive = 0; archive < 2; ++archive) {
        index->next_archive();
        for (int i = 99; i >= 0; --i) {
            const std::string k = msg::message_key(from, data(i));
            const int have = i < 40 ? 2 : i < 80 ? 1 : 0;
            for (int copy = 0; copy < 3; ++copy) EXPECT_EQ(index->holds(k, from, data(i)), copy < have) << i << " " << copy;
        }
    }
    EXPECT_FALSE(index->error());
}

TEST(Archive, SpoolIndexPastItsMemory) { index_past_its_memory(true); }
TEST(Archive, SpoolIndexListedWithoutATemporaryFile) { index_past_its_memory(false); }

// More names than a run holds, and one key: only the listing needs a file,
// and without one it says so (the table, of one key, never spills).
TEST(Archive, SpoolIndexSaysItsListingWasHeldInMemory) {
    TempSpool temp("msg-index-names-in-memory");
    ASSERT_TRUE(temp.spool) << temp.error;
    const std::string data = "Subject: copies\n\nx\n";
    const std::string key = msg::message_key(kFromLine, data);
    for (int i = 0; i < 12; ++i)
        ASSERT_TRUE(temp.spool->enqueue(index_envelope(), data, msg::new_entry_name(key)));
    std::filesystem::remove_all(temp.root / "tmp");
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", (temp.root / "none").c_str(), 1);
    auto index = msg::SpoolIndex::of(*temp.spool, {}, 5);
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    ASSERT_TRUE(index) << index.error().message;
    ASSERT_TRUE(index->write_error());
    EXPECT_NE(index->write_error()->message.find("spool's names"), std::string::npos) << index->write_error()->message;
    index->next_archive();
    for (int i = 0; i < 12; ++i) EXPECT_TRUE(index->holds(key, kFromLine, data)) << i;
    EXPECT_FALSE(index->holds(key, kFromLine, data));
}

// Two runs that enqueue by key take turns: the second reads its index once
// the first has let go of the spool.
TEST(Archive, SpoolIndexTakesTurns) {
    TempSpool temp("msg-index-lock");
    ASSERT_TRUE(temp.spool) << temp.error;
    msg::Spool* spool = &*temp.spool;
    std::optional<msg::SpoolIndex> first;
    {
        auto ix = msg::SpoolIndex::of(*spool);
        ASSERT_TRUE(ix) << ix.error().message;
        first.emplace(std::move(*ix));
    }
    const msg::Envelope e = index_envelope();
    const std::string& from = kFromLine;
    const std::string data = "Subject: s\n\nx\n";
    const std::string key = msg::message_key(from, data);
    std::atomic<bool> waited{false}, got{false};
    std::thread second([&] {
        auto ix = msg::SpoolIndex::of(*spool, [&] { waited = true; });
        got = ix && ix->holds(key, from, data);
    });
    while (!waited) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // The first run enqueues, then ends.
    ASSERT_TRUE(spool->enqueue(e, data, msg::new_entry_name(key)));
    first.reset();
    second.join();
    EXPECT_TRUE(got) << "the second run sees the first one's entry";
}

TEST(Archive, AnnotationsAndTheirInverse) {
    const std::string data = "From: a@example.org\r\n\r\nFrom the top\r\nFrom here\r\n";
    msg::MboxMessage m = message("a@example.org Mon Nov 23 09:15:00 2026", data);
    m.from_crlf = true;
    m.separator_crlf = true;
    m.defects.push_back({msg::DefectCode::MboxUnquotedFrom, 23, {}});
    m.defects.push_back({msg::DefectCode::MboxUnquotedFrom, 37, {}});
    m.index = 4;
    msg::Envelope e;
    e.mail_from = "a@example.org";
    e.rcpts.push_back({"b@example.net", {}});
    msg::annotate_mbox(e, m, "old.mbox");
    EXPECT_EQ(e.annotation("Mbox-From"), "a@example.org Mon Nov 23 09:15:00 2026");
    EXPECT_EQ(e.annotation("Mbox-Unquoted-From"), "23 37");
    EXPECT_EQ(e.annotation("Mbox-Source"), "old.mbox 4");
    msg::Envelope odd;
    msg::annotate_mbox(odd, m, "a\x01\nb\xff.mbox");
    EXPECT_EQ(odd.annotation("Mbox-Source"), "a\\x01\\x0ab\\xff.mbox 4");
    const std::string text = entry_text(e, data);
    const msg::SpoolEntry entry = msg::parse_spool_entry(text);
    const msg::MboxRecord r = msg::mbox_record(entry, 0);
    EXPECT_EQ(r.from_line, m.from_line);
    EXPECT_FALSE(r.from_made);
    EXPECT_TRUE(r.from_crlf);
    EXPECT_TRUE(r.separator);
    EXPECT_TRUE(r.separator_crlf);
    EXPECT_EQ(r.unquoted_from, (std::vector<std::size_t>{23, 37}));
}

TEST(Archive, FromLinesAnAnnotationCannotCarryGoInBase64) {
    for (std::string_view fl : {std::string_view(""), std::string_view(" leading blank"),
                                std::string_view("with\rCR"), std::string_view("nul\0byte", 8),
                                std::string_view("a@example.org \f\v\x1b[31m Mon Nov 23 09:15:00 2026"),
                                std::string_view("del\x7f")}) {
        msg::Envelope e;
        e.mail_from = "a@example.org";
        e.rcpts.push_back({"b@example.net", {}});
        msg::MboxMessage m = message(fl, "x\n");
        m.separator = false;
        msg::annotate_mbox(e, m, "-");
        EXPECT_EQ(e.annotation("Mbox-From"), "");
        EXPECT_EQ(e.annotations.front().first, "Mbox-From-Base64");
        const std::string text = entry_text(e, "x\n");
        const msg::MboxRecord r = msg::mbox_record(msg::parse_spool_entry(text), 0);
        EXPECT_EQ(r.from_line, fl);
        EXPECT_FALSE(r.separator);
    }
}

TEST(Archive, AFromLineWithALineBreakIsNotUsed) {
    // Base64 lets an annotation hold any byte; a From_ line cannot hold LF.
    const std::string text = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nMbox-From-Base64: " +
                             msg::base64_encode("a@example.org Mon Nov 23 09:15:00 2026\nSubject: injected\n", 0, "") +
                             "\n\nSubject: real\n\nx\n";
    const msg::MboxRecord r = msg::mbox_record(msg::parse_spool_entry(text), 1700000000);
    EXPECT_TRUE(r.from_made);
    EXPECT_EQ(r.from_line, "a@example.org Tue Nov 14 22:13:20 2023");
    EXPECT_NE(r.ignored.find("line break"), std::string::npos);
    // Leading bytes with a From line are left out; a blank line is kept.
    for (const auto& [leading, kept] : {std::pair{std::string("\n"), true}, std::pair{std::string("junk\nFrom x\n\n"), false}}) {
        const std::string t = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nMbox-From: a@example.org Mon Nov 23 "
                              "09:15:00 2026\nMbox-Leading-Base64: " + msg::base64_encode(leading, 0, "") + "\n\nx\n";
        const msg::MboxRecord l = msg::mbox_record(msg::parse_spool_entry(t), 0);
        EXPECT_EQ(l.leading, kept ? leading : "");
        EXPECT_EQ(l.ignored.empty(), kept);
    }
}

// An annotation that is not base64 is not decoded into bytes as far as
// it goes: left out, and said.
TEST(Archive, AnnotationThatIsNotBase64IsNotUsed) {
    const std::string text = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nMbox-From-Base64: !!!notbase64\n"
                             "Mbox-Leading-Base64: %%%%\n\nSubject: real\n\nx\n";
    const msg::MboxRecord r = msg::mbox_record(msg::parse_spool_entry(text), 1700000000);
    EXPECT_TRUE(r.from_made);
    EXPECT_EQ(r.from_line, "a@example.org Tue Nov 14 22:13:20 2023");
    EXPECT_EQ(r.leading, "");
    EXPECT_NE(r.ignored.find("Mbox-From-Base64 is not base64"), std::string::npos) << r.ignored;
    EXPECT_NE(r.ignored.find("Mbox-Leading-Base64 is not base64"), std::string::npos) << r.ignored;
    // Each reason is said, one beside the other.
    const std::string both = "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\nMbox-From-Base64: !!!\n"
                             "Mbox-Leading-Base64: " + msg::base64_encode("From x\n", 0, "") + "\n\nSubject: s\n\nx\n";
    const msg::MboxRecord b = msg::mbox_record(msg::parse_spool_entry(both), 0);
    EXPECT_NE(b.ignored.find("Mbox-From-Base64 is not base64"), std::string::npos) << b.ignored;
    EXPECT_NE(b.ignored.find("would start a message"), std::string::npos) << b.ignored;
}

TEST(Archive, EntriesFromElsewhereGetAFromLineAndEnvelopeFields) {
    const std::string text = "MAIL FROM:<>\nRCPT TO:<b@example.net>\nRCPT TO:<c@example.net>\n\nSubject: x\r\n\r\nFrom me\r\n";
    const msg::SpoolEntry entry = msg::parse_spool_entry(text);
    msg::MboxRecord r = msg::mbox_record(entry, 1700000000);
    EXPECT_TRUE(r.from_made);
    EXPECT_EQ(r.from_line, "MAILER-DAEMON Tue Nov 14 22:13:20 2023");
    r.unquoted_from = {14};
    const std::string with = msg::with_envelope_fields(entry, entry.message, r);
    EXPECT_EQ(with, "X-Envelope-From: <>\r\nX-Envelope-To: <b@example.net>\r\nX-Envelope-To: <c@example.net>\r\n"
                    "Subject: x\r\n\r\nFrom me\r\n");
    EXPECT_EQ(with.substr(r.unquoted_from[0], 7), "From me");
}

TEST(Archive, MalformedUnquotedOffsetsAreIgnored) {
    const std::string text = "MAIL FROM:<a@x>\nRCPT TO:<b@y>\nMbox-From: a@x Mon Nov 23 09:15:00 2026\n"
                             "Mbox-Unquoted-From: 5 x 3 99999999999999999999999 1000\n\n0123456789\n";
    const msg::MboxRecord r = msg::mbox_record(msg::parse_spool_entry(text), 0);
    EXPECT_EQ(r.unquoted_from, std::vector<std::size_t>{5});
}

TEST(Archive, MarkedDeleted) {
    msg::Derivation d;
    EXPECT_EQ(msg::marked_deleted(d, nullptr), "");
    d.deleted = "X-Status D";
    EXPECT_EQ(msg::marked_deleted(d, nullptr), "X-Status D");
    msg::MaildirFile f = msg::maildir_file("md/cur/1.host:2,FST");
    EXPECT_EQ(msg::marked_deleted(msg::Derivation{}, &f), "Maildir flag T");
    f = msg::maildir_file("md/cur/1.host:2,FS");
    EXPECT_EQ(msg::marked_deleted(msg::Derivation{}, &f), "");
}

// A Maildir's state, from the annotations mbox2spool wrote, or else from
// what a mail client wrote into the message.
TEST(Archive, MaildirState) {
    const auto state = [](const std::string& annotations, const std::string& header) {
        const std::string text = "MAIL FROM:<a@x>\nRCPT TO:<b@y>\n" + annotations + "\n" + header + "\n\nbody\n";
        const msg::SpoolEntry e = msg::parse_spool_entry(text);   // views into `text`
        const msg::MaildirState s = msg::maildir_state(e);
        return s.flags + (s.seen ? "|seen" : "|new") + (msg::folder_state(e) ? "|maildir" : "");
    };
    EXPECT_EQ(state("Maildir-Flags: SR\nMaildir-Source: md/cur/1.h:2,RS\n", "Status: O"), "RS|seen|maildir");
    EXPECT_EQ(state("Maildir-Source: md/cur/1.h:2,\n", "Status: RO"), "|seen|maildir");   // the file wins
    EXPECT_EQ(state("Maildir-Source: md/new/1.h\n", "X-Status: F"), "|new|maildir");
    EXPECT_EQ(state("Maildir-Source: cur/1.h\n", "Subject: s"), "|seen|maildir");
    EXPECT_EQ(state("Maildir-Source: md/recur/1.h\n", "Subject: s"), "|new|maildir");
    EXPECT_EQ(state("Maildir-Flags: F\n", "Subject: s"), "F|seen|maildir");
    EXPECT_EQ(state("Mbox-From: a@x Mon Nov 23 09:15:00 2026\n", "Status: O"), "|seen");
    EXPECT_EQ(state("Mbox-From: a@x Mon Nov 23 09:15:00 2026\n", "Status: RO\nX-Status: A"), "RS|seen");
    EXPECT_EQ(state("", "Subject: s"), "|new");
}

// A Maildir's flags written as the Status and X-Status fields of an mbox
// archive read back as the same flags, new or seen as they were; the
// fields the message had are replaced, not added to.
TEST(Archive, StatusFieldsRoundTripThroughClientFlags) {
    const std::string all = "DFPRST";
    for (unsigned bits = 0; bits < (1u << all.size()); ++bits)
        for (const bool seen : {false, true})
            for (const std::string old : {"", "Status: O\n", "X-Status: D\nStatus: R\n", "X-Mozilla-Status: 000f\n"}) {
                msg::MaildirState s;
                for (std::size_t i = 0; i < all.size(); ++i)
                    if (bits & (1u << i)) s.flags += all[i];
                s.seen = seen || !s.flags.empty();
                const std::string message = "From: a@x\n" + old + "Subject: s\n\nbody\n";
                msg::MboxRecord r;
                const std::string out = msg::with_status_fields(message, s, r);
                std::vector<msg::HeaderField> fields;
                msg::parse_header_block(out, fields);
                const msg::ClientFlags c = msg::client_flags(fields);
                std::string want = s.flags;
                want.erase(std::remove(want.begin(), want.end(), 'P'), want.end());   // mbox has no "passed"
                EXPECT_EQ(c.flags, want) << out;
                EXPECT_EQ(c.old, s.seen) << out;
                EXPECT_TRUE(out.ends_with("\n\nbody\n")) << out;
                std::size_t status = 0;
                for (const msg::HeaderField& f : fields) status += msg::iequals(f.name, "Status") || msg::iequals(f.name, "X-Status");
                EXPECT_LE(status, 2u) << out;
                if (!s.seen) {
                    EXPECT_EQ(status, 0u) << out;
                }
            }
}

TEST(Archive, StatusFieldsKeepLineEndingsAndOffsets) {
    msg::MaildirState s{"FS", true};
    msg::MboxRecord r;
    // CRLF message with a folded Status of its own, an unquoted From in the body.
    const std::string crlf = "From: a@x\r\nStatus: R\r\n O\r\nSubject: s\r\n\r\nFrom me\r\n";
    r.unquoted_from = {crlf.find("From me")};
    std::string out = msg::with_status_fields(crlf, s, r);
    EXPECT_EQ(out, "From: a@x\r\nSubject: s\r\nStatus: RO\r\nX-Status: F\r\n\r\nFrom me\r\n");
    EXPECT_EQ(out.substr(r.unquoted_from[0], 7), "From me");
    // A header of one line without a line break: the fields get lines of their own.
    r.unquoted_from.clear();
    EXPECT_EQ(msg::with_status_fields("Subject: s", s, r), "Subject: s\nStatus: RO\nX-Status: F\n");
    EXPECT_EQ(msg::with_status_fields("Subject: s\nStatus: O", s, r), "Subject: s\nStatus: RO\nX-Status: F\n");
    // A new message loses a stale Status (and Thunderbird's, read first
    // there) and gains nothing: read back, it is new again.
    const std::string fresh = msg::with_status_fields("Status: RO\nX-Mozilla-Status: 0009\nSubject: s\n\nx\n",
                                                      msg::MaildirState{"", false}, r);
    EXPECT_EQ(fresh, "Subject: s\n\nx\n");
}
