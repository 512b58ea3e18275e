// message_property.cpp - parse_message on arbitrary and mutated input never
// crashes and keeps its structural invariants; on generated well-formed
// messages the spans re-serialise to the input and match the model.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "msg/charset.hpp"
#include "msg/message.hpp"

namespace {

// Invariants that hold for any input.
void check_invariants(const msg::Message& m, std::string_view data) {
    RC_ASSERT(!m.entities().empty());
    RC_ASSERT(m.root().begin == 0u);
    RC_ASSERT(m.root().end == data.size());
    const auto ents = m.entities();
    for (std::size_t i = 0; i < ents.size(); ++i) {
        const msg::Entity& e = ents[i];
        RC_ASSERT(e.begin <= e.header_end);
        RC_ASSERT(e.header_end <= e.body_begin);
        RC_ASSERT(e.body_begin <= e.end);
        RC_ASSERT(e.end <= data.size());
        if (e.parent >= 0) {
            const msg::Entity& p = ents[static_cast<std::size_t>(e.parent)];
            RC_ASSERT(static_cast<std::size_t>(e.parent) < i);
            RC_ASSERT(p.body_begin <= e.begin);
            RC_ASSERT(e.end <= p.end);
            RC_ASSERT(e.depth == p.depth + 1);
        }
        for (const auto& f : m.fields(e)) {
            RC_ASSERT(f.offset >= e.begin);
            RC_ASSERT(f.offset + f.raw.size() <= e.header_end);
            RC_ASSERT(f.raw.data() == data.data() + f.offset);
            RC_ASSERT(f.value_offset() + f.value.size() <= f.offset + f.raw.size());
        }
        if (e.kind == msg::EntityKind::multipart) {
            RC_ASSERT(e.preamble_begin == e.body_begin);
            RC_ASSERT(e.preamble_end <= e.epilogue_begin);
            RC_ASSERT(e.epilogue_end == e.end);
        }
        std::string out;
        msg::Defects d;
        m.decode(e, out, &d);
        for (const auto& x : d) RC_ASSERT(x.offset <= data.size());
        RC_ASSERT(m.find_section(m.section(i)) >= 0);
    }
    for (const auto& x : m.defects()) RC_ASSERT(x.offset <= data.size());
}

std::vector<std::string> sample_messages() {
    static const std::vector<std::string> files = [] {
        std::vector<std::string> out;
        for (const char* name : {"simple-multipart.eml", "simple-embedded-message.eml", "multipart-digest.txt",
                                 "epilogue.txt", "empty-multipart.txt", "japanese.txt", "body.6.txt",
                                 "multipart-related-mhtml.txt", "delivery-status.txt", "issue1130.txt",
                                 "missing-subtype.txt", "rfc2060.txt"}) {
            std::ifstream f(std::string(MSG_TESTDATA) + "/mimekit/messages/" + name, std::ios::binary);
            std::stringstream ss;
            ss << f.rdbuf();
            if (!ss.str().empty()) out.push_back(ss.str());
        }
        return out;
    }();
    return files;
}

// --- a model of well-formed messages ---------------------------------------------

struct Node {
    enum Kind { leaf, multipart, message } kind = leaf;
    std::vector<std::pair<std::string, std::vector<std::string>>> headers;  // name, value lines
    std::vector<std::string> body;  // leaf body lines
    bool body_final_break = false;
    std::string boundary;
    std::vector<std::string> preamble, epilogue;  // lines (multipart)
    std::vector<std::unique_ptr<Node>> children;
};

rc::Gen<std::string> text_line() {
    // No '-' at all, so no line can look like a delimiter.
    return rc::gen::container<std::string>(rc::gen::element('a', 'b', 'z', ' ', '.', ':', '=', '?', 'F', '\t'));
}

std::vector<std::string> text_lines(std::size_t max) {
    const auto n = *rc::gen::inRange<std::size_t>(0, max + 1);
    std::vector<std::string> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(*text_line());
    return v;
}

int g_boundary_counter = 0;

std::unique_ptr<Node> gen_node(int depth) {
    auto n = std::make_unique<Node>();
    const int k = depth >= 3 ? 0 : *rc::gen::inRange(0, 3);
    n->kind = static_cast<Node::Kind>(k);
    const auto extra = *rc::gen::inRange(0, 3);
    for (int i = 0; i < extra; ++i) {
        std::string name = "X-" + *rc::gen::element<std::string>("A", "Bb", "Long-Name", "q");
        std::vector<std::string> lines{*rc::gen::container<std::string>(rc::gen::element('a', 'b', ' ', ';', '=', '"'))};
        const auto folds = *rc::gen::inRange(0, 3);
        for (int f = 0; f < folds; ++f) lines.push_back(*rc::gen::element<std::string>(" ", "\t", "  ")  + "folded");
        n->headers.emplace_back(name, lines);
    }
    if (n->kind == Node::multipart) {
        n->boundary = "=_b" + std::to_string(++g_boundary_counter) + "_" +
                      *rc::gen::element<std::string>("x", "'()+_,./:=?", "a b");
        const std::string sub = *rc::gen::element<std::string>("mixed", "alternative", "related");
        n->headers.insert(n->headers.begin() + static_cast<long>(*rc::gen::inRange<std::size_t>(0, n->headers.size() + 1)),
                          {"Content-Type", {" multipart/" + sub + "; boundary=\"" + n->boundary + "\""}});
        if (*rc::gen::element(true, false)) n->preamble = text_lines(2), n->preamble.push_back("pre");
        if (*rc::gen::element(true, false)) n->epilogue = text_lines(2), n->epilogue.push_back("epi");
        const auto parts = *rc::gen::inRange(1, 4);
        for (int i = 0; i < parts; ++i) n->children.push_back(gen_node(depth + 1));
    } else if (n->kind == Node::message) {
        n->headers.emplace_back("Content-Type", std::vector<std::string>{" message/rfc822"});
        n->children.push_back(gen_node(depth + 1));
    } else {
        if (*rc::gen::element(true, false))
            n->headers.emplace_back("Content-Type", std::vector<std::string>{" text/plain; charset=us-ascii"});
        n->body = text_lines(4);
        n->body_final_break = *rc::gen::element(true, false);
    }
    return n;
}

struct Writer {
    std::string out;
    int eol_mode;  // 0 LF, 1 CRLF, 2 mixed
    void eol() {
        if (eol_mode == 0) out += "\n";
        else if (eol_mode == 1) out += "\r\n";
        else out += *rc::gen::element<std::string>("\n", "\r\n");
    }
    void lines(const std::vector<std::string>& v, bool final_break) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            out += v[i];
            if (i + 1 < v.size() || final_break) eol();
        }
    }
};

void serialise(const Node& n, Writer& w) {
    for (const auto& [name, lines] : n.headers) {
        w.out += name + ":";
        w.lines(lines, true);
    }
    w.eol();  // the empty line
    switch (n.kind) {
    case Node::leaf:
        w.lines(n.body, n.body_final_break);
        break;
    case Node::message:
        serialise(*n.children.front(), w);
        break;
    case Node::multipart:
        if (!n.preamble.empty()) {
            w.lines(n.preamble, false);
            w.eol();
        }
        for (const auto& c : n.children) {
            w.out += "--" + n.boundary + *rc::gen::element<std::string>("", " ", "\t ");
            w.eol();
            serialise(*c, w);
            w.eol();
        }
        w.out += "--" + n.boundary + "--";
        if (!n.epilogue.empty()) {
            w.eol();
            w.lines(n.epilogue, false);
        }
        break;
    }
}

struct Expect {
    std::vector<std::string> leaf_sections;
    std::size_t entities = 0;
};

void model(const Node& n, const std::string& num, Expect& ex) {
    ++ex.entities;
    switch (n.kind) {
    case Node::leaf:
        ex.leaf_sections.push_back(num);
        break;
    case Node::message: {
        const Node& c = *n.children.front();
        model(c, c.kind == Node::multipart ? num : (num.empty() ? "1" : num + ".1"), ex);
        break;
    }
    case Node::multipart:
        for (std::size_t i = 0; i < n.children.size(); ++i)
            model(*n.children[i], num.empty() ? std::to_string(i + 1) : num + "." + std::to_string(i + 1), ex);
        break;
    }
}

// Expected body of each leaf, with LF line breaks.
void leaf_bodies(const Node& n, std::vector<std::string>& out) {
    if (n.kind == Node::leaf) {
        std::string b;
        for (std::size_t j = 0; j < n.body.size(); ++j) {
            b += n.body[j];
            if (j + 1 < n.body.size() || n.body_final_break) b += "\n";
        }
        out.push_back(b);
    }
    for (const auto& c : n.children) leaf_bodies(*c, out);
}

// Is `gap` a delimiter line for `b`: [line break] "--" b ["--"] WSP* [line break]?
bool is_delimiter(std::string_view gap, const std::string& b, bool close, bool leading_break) {
    if (leading_break) {
        if (gap.starts_with("\r\n")) gap.remove_prefix(2);
        else if (gap.starts_with("\n")) gap.remove_prefix(1);
        else return false;
    }
    const std::string dash = "--" + b + (close ? "--" : "");
    if (!gap.starts_with(dash)) return false;
    gap.remove_prefix(dash.size());
    while (!gap.empty() && (gap.front() == ' ' || gap.front() == '\t')) gap.remove_prefix(1);
    return gap.empty() || gap == "\n" || gap == "\r\n";
}

// Rebuild the bytes of entity i from its spans, checking that they tile.
std::string reserialise(const msg::Message& m, std::size_t i) {
    const std::string_view d = m.data();
    const msg::Entity& e = m.entity(i);
    std::string out;
    std::size_t pos = e.begin;
    for (const auto& f : m.fields(e)) {
        RC_ASSERT(f.offset == pos);
        out += f.raw;
        pos += f.raw.size();
    }
    RC_ASSERT(pos == e.header_end);
    const std::string_view sep = d.substr(e.header_end, e.body_begin - e.header_end);
    RC_ASSERT(sep == "\n" || sep == "\r\n");
    out += sep;
    if (e.kind == msg::EntityKind::leaf) {
        out += m.body(e);
        return out;
    }
    if (e.kind == msg::EntityKind::message) {
        const msg::Entity& c = m.entity(static_cast<std::size_t>(e.first_child));
        RC_ASSERT(c.begin == e.body_begin);
        RC_ASSERT(c.end == e.end);
        RC_ASSERT(c.next_sibling == -1);
        out += reserialise(m, static_cast<std::size_t>(e.first_child));
        return out;
    }
    const std::string& b = *e.content_type.param("boundary");
    out += d.substr(e.preamble_begin, e.preamble_end - e.preamble_begin);
    pos = e.preamble_end;
    for (std::int32_t c = e.first_child; c >= 0; c = m.entity(static_cast<std::size_t>(c)).next_sibling) {
        const msg::Entity& ce = m.entity(static_cast<std::size_t>(c));
        RC_ASSERT(ce.parent == static_cast<std::int32_t>(i));
        const std::string_view gap = d.substr(pos, ce.begin - pos);
        RC_ASSERT(is_delimiter(gap, b, false, pos != e.body_begin));
        out += gap;
        out += reserialise(m, static_cast<std::size_t>(c));
        pos = ce.end;
    }
    const std::string_view close = d.substr(pos, e.epilogue_begin - pos);
    RC_ASSERT(is_delimiter(close, b, true, true));
    out += close;
    out += d.substr(e.epilogue_begin, e.epilogue_end - e.epilogue_begin);
    return out;
}

}  // namespace

RC_GTEST_PROP(MessageProperty, ArbitraryBytesNeverCrash, (const std::vector<std::uint8_t>& v)) {
    const std::string data(v.begin(), v.end());
    msg::Limits lim;
    lim.max_depth = *rc::gen::inRange<std::size_t>(0, 70);
    const auto m = msg::parse_message(data, lim);
    check_invariants(m, data);
}

RC_GTEST_PROP(MessageProperty, MutatedRealMessagesNeverCrash, ()) {
    const auto samples = sample_messages();
    RC_PRE(!samples.empty());
    std::string data = *rc::gen::elementOf(samples);
    const auto mutations = *rc::gen::inRange(1, 12);
    for (int k = 0; k < mutations; ++k) {
        const std::size_t at = data.empty() ? 0 : *rc::gen::inRange<std::size_t>(0, data.size());
        switch (*rc::gen::inRange(0, 6)) {
        case 0:  // flip a byte
            if (!data.empty()) data[at] = *rc::gen::arbitrary<char>();
            break;
        case 1:  // insert interesting bytes
            data.insert(at, *rc::gen::element<std::string>("\n", "\r\n", "--", "\n--", "=?", "?=", "\0",
                                                           "\xff", "Content-Type: multipart/mixed; boundary=x\n\n--x\n",
                                                           "Content-Type: message/rfc822\n\n", ":", " ", "="));
            break;
        case 2: {  // delete a range
            const auto len = *rc::gen::inRange<std::size_t>(0, 64);
            data.erase(at, len);
            break;
        }
        case 3: {  // duplicate a range
            const auto len = *rc::gen::inRange<std::size_t>(0, 256);
            data.insert(at, data.substr(at, len));
            break;
        }
        case 4:  // truncate
            data.resize(at);
            break;
        default:  // random bytes
            data.insert(at, *rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
            break;
        }
    }
    const auto m = msg::parse_message(data);
    check_invariants(m, data);
    for (const auto& e : m.entities())
        for (const auto& f : m.fields(e)) RC_ASSERT(msg::is_valid_utf8(msg::decode_header_text(f.value)));
}

RC_GTEST_PROP(MessageProperty, SpansCoverGeneratedMessagesExactly, ()) {
    const auto root = gen_node(0);
    Writer w{{}, *rc::gen::inRange(0, 3)};
    serialise(*root, w);
    const std::string data = w.out;
    RC_CLASSIFY(root->kind == Node::multipart, "multipart root");
    RC_CLASSIFY(root->kind == Node::message, "message root");
    RC_CLASSIFY(w.eol_mode == 2, "mixed line breaks");
    const auto m = msg::parse_message(data);
    RC_ASSERT(m.defects().empty());
    check_invariants(m, data);
    RC_ASSERT(reserialise(m, 0) == data);

    Expect ex;
    model(*root, root->kind == Node::multipart ? "" : "1", ex);
    RC_ASSERT(m.entities().size() == ex.entities);
    RC_CLASSIFY(ex.entities >= 5, ">= 5 entities");
    std::vector<std::string> got_sections;
    for (std::size_t i : m.leaves()) got_sections.push_back(m.section(i));
    RC_ASSERT(got_sections == ex.leaf_sections);

    // Leaf bodies: the model's lines, whatever line breaks were written.
    std::vector<std::string> bodies;
    leaf_bodies(*root, bodies);
    const auto leaves = m.leaves();
    RC_ASSERT(leaves.size() == bodies.size());
    for (std::size_t k = 0; k < leaves.size(); ++k) {
        std::string body(m.body(m.entity(leaves[k])));
        std::string norm;
        for (std::size_t j = 0; j < body.size(); ++j)
            if (!(body[j] == '\r' && j + 1 < body.size() && body[j + 1] == '\n')) norm.push_back(body[j]);
        RC_ASSERT(norm == bodies[k]);
    }
}
