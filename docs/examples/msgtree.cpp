// msgtree FILE - print a message's subject, decoded, its MIME tree and its defects.
#include <iostream>
#include <string>

#include <msg/message.hpp>
#include <msg/source.hpp>

int main(int argc, char** argv) {
    if (argc != 2) { std::cerr << "usage: msgtree FILE\n"; return 64; }
    msg::Result<msg::Source> src = msg::Source::open(argv[1]);   // read whole (mapped only past 192 MiB)
    if (!src) { std::cerr << "msgtree: " << src.error().message << "\n"; return 66; }

    msg::Message m = msg::parse_message(src->data());   // never fails; spans into *src
    if (const msg::HeaderField* subject = m.header("Subject"))
        std::cout << "Subject: " << msg::decode_header_text(subject->value) << "\n";
    for (std::size_t i = 0; i < m.entities().size(); ++i) {
        const msg::Entity& e = m.entity(i);
        std::string section = m.section(i), name = m.filename(e), body;
        std::cout << std::string(2 * e.depth, ' ') << (section.empty() ? "-" : section) << " "
                  << e.content_type.mime_type();
        if (e.kind == msg::EntityKind::leaf) {
            m.decode(e, body);                           // base64 or quoted-printable undone
            std::cout << ", " << body.size() << " bytes";
        }
        std::cout << (name.empty() ? "" : ", ") << name << "\n";
    }
    for (const msg::Defect& d : m.defects()) {
        msg::LineCol at = src->locate(d.offset);
        std::cout << at.line << ":" << at.column << ": " << d.info().code << ": " << d.info().text << "\n";
    }
    return m.defects().empty() ? 0 : 1;
}
