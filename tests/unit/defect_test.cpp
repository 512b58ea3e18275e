// defect_test.cpp - the defect catalogue (msg/defect.hpp, msg/defects.def).
#include "msg/defect.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

TEST(DefectCatalogue, OneEntryPerEnumeratorInOrder) {
    auto cat = msg::defect_catalogue();
    std::size_t n = 0;
#define MSG_DEFECT(id, code, sev, rfc, text) ++n;
#include "msg/defects.def"
#undef MSG_DEFECT
    ASSERT_EQ(cat.size(), n);
    for (std::size_t i = 0; i < cat.size(); ++i) {
        EXPECT_EQ(static_cast<std::size_t>(cat[i].id), i);
        EXPECT_EQ(&msg::defect_info(cat[i].id), &cat[i]);
    }
}

TEST(DefectCatalogue, CodesAreUniqueAndWellFormed) {
    std::set<std::string> seen;
    for (const auto& d : msg::defect_catalogue()) {
        SCOPED_TRACE(std::string(d.code));
        EXPECT_TRUE(seen.insert(std::string(d.code)).second) << "duplicate code";
        ASSERT_FALSE(d.code.empty());
        EXPECT_NE(d.code.find('.'), std::string_view::npos);
        for (char c : d.code)
            EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
                << "bad character in code";
        EXPECT_FALSE(d.rfc.empty());
        ASSERT_FALSE(d.text.empty());
        EXPECT_NE(d.text.back(), '.');
        EXPECT_TRUE(d.severity == msg::Severity::error || d.severity == msg::Severity::warning ||
                    d.severity == msg::Severity::note);
    }
}

TEST(DefectCatalogue, LookupByCode) {
    for (const auto& d : msg::defect_catalogue()) {
        auto found = msg::defect_by_code(d.code);
        ASSERT_TRUE(found.has_value()) << d.code;
        EXPECT_EQ(*found, d.id);
    }
    EXPECT_EQ(msg::defect_by_code("header.missing-colon"), msg::DefectCode::HeaderMissingColon);
    EXPECT_EQ(msg::defect_by_code("body.qp-bad-escape"), msg::DefectCode::QpBadEscape);
    EXPECT_FALSE(msg::defect_by_code("no.such-code").has_value());
    EXPECT_FALSE(msg::defect_by_code("").has_value());
    EXPECT_FALSE(msg::defect_by_code("HEADER.MISSING-COLON").has_value());
}

TEST(DefectCatalogue, InfoAndSeverityNames) {
    const auto& info = msg::defect_info(msg::DefectCode::BoundaryUnclosed);
    EXPECT_EQ(info.code, "mime.boundary-unclosed");
    EXPECT_EQ(info.severity, msg::Severity::error);
    EXPECT_EQ(info.rfc, "RFC 2046 5.1.1");
    EXPECT_EQ(msg::severity_name(msg::Severity::error), "error");
    EXPECT_EQ(msg::severity_name(msg::Severity::warning), "warning");
    EXPECT_EQ(msg::severity_name(msg::Severity::note), "note");
    msg::Defect d{msg::DefectCode::Header8Bit, 12, "Subject"};
    EXPECT_EQ(d.info().code, "header.8bit");
    EXPECT_EQ(&d.info(), &msg::defect_info(msg::DefectCode::Header8Bit));
}
