// limits.hpp - every bound the parser enforces, with its default.
//
// Input is hostile until proven otherwise. Each limit below caps the work or
// memory one message can cost; going past one is recorded as a defect (the
// code in brackets) and parsing goes on with what is within bounds, it never
// crashes or allocates without bound.
#pragma once

#include <cstddef>

namespace msg {

struct Limits {
    std::size_t max_depth = 64;              // nested multipart / message levels [mime.nesting-too-deep]
    std::size_t max_parts = 10000;           // entities in one message [mime.too-many-parts]
    std::size_t max_header_fields = 10000;   // fields in one header block [header.too-many-fields]
    std::size_t max_header_bytes = 1 << 20;  // bytes in one header block [header.block-too-large]
    std::size_t max_boundary_length = 256;   // longer boundary parameters are not used [mime.boundary-too-long]
    std::size_t max_params = 256;            // parameters in one Content-Type / Disposition
    // Bytes of one message of an mbox archive, its From_ line included; a
    // larger one is skipped, not held (the default of MboxOptions::max_message)
    // [mbox.message-too-large]
    std::size_t max_mbox_message = std::size_t{192} << 20;
    // Bytes of one message that msgrewrite (msg::rewrite) rewrites: a rewrite
    // holds the message and a new version of it, and while a body is
    // re-encoded its decoded content too, so its memory is a few times the
    // message's size. A larger message is left as it is
    // (RewriteResult::too_large).
    std::size_t max_rewrite_message = std::size_t{64} << 20;
};

}  // namespace msg
