// rewrite_place.hpp - what a rewrite's Change::where names (rewrite.hpp):
// read back into the entity and field it means, for the tests that check a
// change or problem is said where it is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "msg/header.hpp"
#include "msg/message.hpp"

namespace msg_test {

struct NamedPlace {
    std::ptrdiff_t entity = -1;  // in the message; -1: no entity of it has that name
    std::string field;           // empty for a whole entity
};

// "message", "header X", "part S", "part S header X", "part S message" and
// "part S message header X" (the message that part S, a message/rfc822,
// holds: its root, multipart or not).
inline NamedPlace named_place(const msg::Message& m, std::string_view where) {
    NamedPlace p;
    if (const std::size_t h = where.find("header "); h != std::string_view::npos) {
        p.field = std::string(where.substr(h + 7));
        where = where.substr(0, h);
        if (!where.empty() && where.back() == ' ') where.remove_suffix(1);
    }
    if (where.empty() || where == "message") {
        p.entity = 0;
        return p;
    }
    if (!where.starts_with("part ")) return p;
    where.remove_prefix(5);
    const bool held = where.ends_with(" message");
    if (held) where.remove_suffix(8);
    const std::ptrdiff_t e = m.find_section(where);
    if (e < 0 || !held) {
        p.entity = e;
        return p;
    }
    const msg::Entity& container = m.entity(static_cast<std::size_t>(e));
    if (container.kind == msg::EntityKind::message) p.entity = container.first_child;
    return p;
}

// The field holds `offset`: one of its bytes, or its end when it has no
// line break of its own (cut short by the input's end or a delimiter line).
inline bool in_field(const msg::HeaderField& f, std::size_t offset) {
    const std::size_t end = f.offset + f.raw.size();
    return offset >= f.offset && (offset < end || (offset == end && !f.raw.ends_with('\n')));
}

// A place's offset lies in a field of its name in its entity, or at the
// entity's first byte when the entity has none (the whole entity: anywhere
// in it).
inline bool lies_in(const msg::Message& m, const NamedPlace& p, std::size_t offset) {
    if (p.entity < 0) return false;
    const msg::Entity& e = m.entity(static_cast<std::size_t>(p.entity));
    if (p.field.empty()) return offset >= e.begin && offset <= e.end;
    bool named = false, inside = false;
    for (const msg::HeaderField& f : m.fields(e)) {
        if (!msg::iequals(f.name, p.field)) continue;
        named = true;
        inside = inside || in_field(f, offset);
    }
    return named ? inside : offset == e.begin;
}

}  // namespace msg_test
