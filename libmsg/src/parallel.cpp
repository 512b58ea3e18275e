// parallel.cpp - the core count and the held messages of parallel.hpp.
#include "msg/parallel.hpp"

#include <sched.h>

namespace msg {

unsigned available_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<unsigned>(n);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

void HeldMessage::hold(const InputMessage& im, std::string& arena) {
    view_.file = im.file;
    view_.source = im.source;
    view_.index = im.index;
    view_.first_line = im.first_line;
    view_.offset = im.offset;
    view_.from_mbox = im.from_mbox;
    view_.leading = im.leading;
    view_.keep = im.keep;
    size_ = im.data.size();
    if (im.keep) {   // the bytes stay where they are
        view_.data = im.data;
    } else {
        at_ = arena.size();
        arena.append(im.data);
        view_.data = {};
    }
    leading_.assign(im.leading_bytes);
    view_.leading_bytes = leading_;
    view_.framing = nullptr;
    view_.mbox = nullptr;
    if (im.mbox) {
        mbox_ = *im.mbox;   // its views are pointed here below
        from_line_.assign(im.mbox->from_line);
        mbox_.from_line = from_line_;
        mbox_.data = view_.data;
        view_.mbox = &mbox_;
        if (im.framing == &im.mbox->defects) view_.framing = &mbox_.defects;
    }
    if (im.framing && !view_.framing) {
        framing_ = *im.framing;
        view_.framing = &framing_;
    }
    view_.maildir = nullptr;
    if (im.maildir) {
        maildir_ = *im.maildir;
        view_.maildir = &*maildir_;
    }
}

void HeldMessage::let_go() {
    view_.keep.reset();
    mbox_.keep.reset();
}

void HeldMessage::attach(const std::string& arena) {
    if (view_.keep) return;
    view_.data = std::string_view(arena).substr(at_, size_);
    if (view_.mbox) mbox_.data = view_.data;
}

}  // namespace msg
