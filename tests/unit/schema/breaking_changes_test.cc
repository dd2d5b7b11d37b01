#include "schema/breaking_changes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace basalt::schema {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kBefore = R"(properties:
  - {name: amount, type: int, min: 0}
  - {name: currency, type: string, allowed: [USD, CNY, EUR]}
  - {name: note, type: string}
  - {name: code, type: string}
  - {name: score, type: float, max: 100}
events:
  - name: pay
    required: [amount, currency]
    optional: [note]
  - name: chat
    optional: [note]
user_attributes:
  - {name: level, type: int, merge: max}
  - {name: vip, type: bool}
enforcement:
  sources:
    web: lenient
)";

TrackingPlan plan(const std::string& text, const char* file) {
  auto p = parse_tracking_plan({{file, text}}, {"web"});
  EXPECT_TRUE(p.is_ok()) << p.status().message();
  return p.is_ok() ? *p : TrackingPlan{};
}

std::vector<std::string> changes(const std::string& after) {
  std::vector<std::string> out;
  for (const auto& c : find_breaking_changes(plan(kBefore, "old.yaml"), plan(after, "new.yaml"))) {
    out.push_back(c.to_string());
  }
  return out;
}

// `text` with the first `from` replaced by `to`.
std::string edit(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

TEST(BreakingChangesTest, NoneForTheSamePlan) { EXPECT_THAT(changes(kBefore), IsEmpty()); }

TEST(BreakingChangesTest, WideningAndLooseningAreNotBreaking) {
  std::string after = kBefore;
  after = edit(after, "{name: amount, type: int, min: 0}", "{name: amount, type: float}");
  after = edit(after, "[USD, CNY, EUR]", "[USD, CNY, EUR, JPY]");
  after = edit(after, "{name: code, type: string}", "{name: code, type: json}  ");
  after = edit(after, "required: [amount, currency]\n    optional: [note]",
               "required: [amount]\n    optional: [currency, note, code]");
  EXPECT_THAT(changes(after), IsEmpty());
}

TEST(BreakingChangesTest, FindsNarrowedTypesAndTightenedConstraints) {
  std::string after = kBefore;
  after = edit(after, "{name: amount, type: int, min: 0}", "{name: amount, type: int, min: 1}");
  after = edit(after, "[USD, CNY, EUR]", "[USD, EUR]");
  after =
      edit(after, "{name: note, type: string}", "{name: note, type: string, regex: \"[a-z]*\"}");
  after = edit(after, "{name: code, type: string}", "{name: code, type: int}");
  after = edit(after, "max: 100", "max: 10");
  EXPECT_THAT(changes(after),
              ElementsAre("new.yaml:2: property \"amount\" min raised from 0 to 1",
                          "new.yaml:3: property \"currency\": allowed value \"CNY\" was removed",
                          "new.yaml:4: property \"note\" gained regex /[a-z]*/",
                          "new.yaml:5: property \"code\" type narrowed from string to int",
                          "new.yaml:6: property \"score\" max lowered from 100 to 10"));
}

TEST(BreakingChangesTest, FindsEventChanges) {
  std::string after = kBefore;
  after = edit(after, "required: [amount, currency]\n    optional: [note]",
               "required: [currency, note, code]");
  EXPECT_THAT(
      changes(after),
      ElementsAre("new.yaml:9: event \"pay\" property \"note\" changed from optional to required",
                  "new.yaml:9: event \"pay\" now requires new property \"code\"",
                  "new.yaml:8: event \"pay\" no longer carries required property \"amount\""));
}

TEST(BreakingChangesTest, FindsRemovalsAttributesAndSources) {
  const std::string after = R"(properties:
  - {name: amount, type: int, min: 0}
  - {name: currency, type: string, allowed: [USD, CNY, EUR]}
  - {name: code, type: string}
  - {name: score, type: float, max: 100}
events:
  - name: pay
    required: [amount, currency]
user_attributes:
  - {name: level, type: int, merge: set}
enforcement:
  sources:
    web: strict
)";
  EXPECT_THAT(
      changes(after),
      ElementsAre("new.yaml:7: event \"pay\" no longer declares optional property \"note\" "
                  "(strict sources sending it are rejected)",
                  "new.yaml:10: user attribute \"level\" merge rule changed from max to set",
                  "new.yaml:13: source \"web\" enforcement made stricter: lenient → strict",
                  "old.yaml:4: property \"note\" was removed",
                  "old.yaml:11: event \"chat\" was removed",
                  "old.yaml:15: user attribute \"vip\" was removed"));
}

}  // namespace
}  // namespace basalt::schema
