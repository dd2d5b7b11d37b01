#include "schema/tracking_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace basalt::schema {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kSources = {"game-client", "backend"};

Result<TrackingPlan> parse(const std::string& text) {
  return parse_tracking_plan({{"tracking/plan.yaml", text}}, kSources);
}

std::string error_of(const std::string& text) {
  auto plan = parse(text);
  EXPECT_FALSE(plan.is_ok()) << "expected an error for:\n" << text;
  return plan.status().message();
}

constexpr const char* kGood = R"(properties:
  - name: amount
    type: float
    description: Money paid
    owner: payments
    min: 0
  - name: currency
    type: string
    allowed: [USD, CNY, EUR]
    pii: false
  - name: tags
    type: string[]
    regex: "[a-z]+"
events:
  - name: pay
    description: A payment
    owner: payments
    status: active
    required: [amount]
    optional: [currency, tags]
    versions:
      - {version: 1, date: 2024-01-01, change: first}
      - {version: 2, date: 2024-02-01, change: tags}
user_attributes:
  - name: level
    type: int
    merge: max
  - name: channel
    type: string
    merge: set_once
enforcement:
  default: off
  sources:
    game-client: strict
)";

TEST(TrackingPlanTest, ParsesEveryPart) {
  auto plan = parse(kGood);
  ASSERT_TRUE(plan.is_ok()) << plan.status().message();
  ASSERT_EQ(plan->properties.size(), 3u);
  const auto* amount = plan->find_property("amount");
  ASSERT_NE(amount, nullptr);
  EXPECT_EQ(amount->type, PropertyType::kFloat);
  EXPECT_EQ(amount->description, "Money paid");
  EXPECT_EQ(amount->owner, "payments");
  EXPECT_EQ(amount->min, 0.0);
  EXPECT_FALSE(amount->max.has_value());
  EXPECT_EQ(amount->location, (SourceLocation{"tracking/plan.yaml", 2}));
  EXPECT_EQ(plan->find_property("currency")->allowed,
            (std::vector<std::string>{"USD", "CNY", "EUR"}));
  EXPECT_EQ(plan->find_property("tags")->type, PropertyType::kStringList);
  EXPECT_EQ(plan->find_property("tags")->regex, "[a-z]+");

  const auto* pay = plan->find_event("pay");
  ASSERT_NE(pay, nullptr);
  ASSERT_EQ(pay->properties.size(), 3u);
  EXPECT_EQ(pay->properties[0].name, "amount");
  EXPECT_TRUE(pay->properties[0].required);
  EXPECT_FALSE(pay->properties[1].required);
  ASSERT_EQ(pay->versions.size(), 2u);
  EXPECT_EQ(pay->versions[1].version, 2u);
  EXPECT_EQ(pay->versions[1].change, "tags");

  ASSERT_EQ(plan->attributes.size(), 2u);
  EXPECT_EQ(plan->find_attribute("level")->merge, MergeRule::kMax);
  EXPECT_EQ(plan->find_attribute("channel")->merge, MergeRule::kSetOnce);
  EXPECT_EQ(plan->mode_of("game-client"), EnforcementMode::kStrict);
  EXPECT_EQ(plan->mode_of("backend"), EnforcementMode::kOff);
}

TEST(TrackingPlanTest, EmptyPlanIsLenient) {
  auto plan = parse_tracking_plan({}, kSources);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->mode_of("game-client"), EnforcementMode::kLenient);
}

TEST(TrackingPlanTest, ReportsUnknownKeysWithFileAndLine) {
  EXPECT_EQ(error_of("properties:\n  - name: a\n    type: int\n    colour: red\n"),
            "tracking/plan.yaml:4: unknown key 'colour' in a property (known: name, type, "
            "description, owner, pii, allowed, min, max, regex)");
  EXPECT_THAT(error_of("propertes: []\n"),
              HasSubstr("tracking/plan.yaml:1: unknown key 'propertes'"));
}

TEST(TrackingPlanTest, ReportsEveryErrorNotJustTheFirst) {
  const std::string message = error_of(R"(properties:
  - name: a
    type: integer
  - name: b
    type: int
    min: 5
    max: 1
events:
  - name: e
    required: [a, missing]
)");
  EXPECT_THAT(message,
              HasSubstr("tracking/plan.yaml:3: property \"a\".type must be one of string, int"));
  EXPECT_THAT(message,
              HasSubstr("tracking/plan.yaml:6: property \"b\": min 5 is greater than max 1"));
  EXPECT_THAT(message, HasSubstr("tracking/plan.yaml:10: event \"e\" uses property \"missing\", "
                                 "which is not in the property dictionary"));
  // "a" is declared (with an error): no second error for the event using it.
  EXPECT_THAT(message, ::testing::Not(HasSubstr("property \"a\", which")));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 2);
}

TEST(TrackingPlanTest, RejectsWrongTypes) {
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: int\n    min: lots\n"),
              HasSubstr(":4: property \"a\".min must be a number"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: string\n    pii: maybe\n"),
              HasSubstr(":4: property \"a\".pii must be true or false"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: string\n    allowed: x\n"),
              HasSubstr(":4: property \"a\".allowed must be a list"));
  EXPECT_THAT(error_of("properties: {a: 1}\n"), HasSubstr(":1: properties must be a list"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n"), HasSubstr(":2: property \"a\" needs a type"));
  EXPECT_THAT(error_of("events:\n  - name: e\n    required: a\n"),
              HasSubstr(":3: event \"e\".required must be a list of property names"));
  EXPECT_THAT(error_of("events:\n  - name: e\n    status: retired\n"),
              HasSubstr(":3: event \"e\".status must be active or deprecated"));
  EXPECT_THAT(error_of("- 1\n"), HasSubstr(":1: the top level must be a mapping"));
  EXPECT_THAT(error_of("properties: [\n"), HasSubstr("tracking/plan.yaml:"));
}

TEST(TrackingPlanTest, RejectsDuplicateNamesAcrossFiles) {
  auto plan = parse_tracking_plan(
      {{"tracking/a.yaml", "properties:\n  - {name: x, type: int}\nevents:\n  - name: e\n"},
       {"tracking/b.yaml", "events:\n  - name: other\n  - name: e\n"}},
      kSources);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().message(),
            "tracking/b.yaml:3: event \"e\" is declared twice (first at tracking/a.yaml:4)");
  EXPECT_THAT(error_of("properties:\n  - {name: x, type: int}\n  - {name: x, type: float}\n"),
              HasSubstr(":3: property \"x\" is declared twice (first at tracking/plan.yaml:2)"));
  EXPECT_THAT(error_of("user_attributes:\n  - {name: x, type: int}\n  - {name: x, type: int}\n"),
              HasSubstr(":3: user attribute \"x\" is declared twice"));
  EXPECT_THAT(error_of("properties:\n  - {name: x, type: int}\nevents:\n  - name: e\n"
                       "    required: [x]\n    optional: [x]\n"),
              HasSubstr(":6: event \"e\" lists property \"x\" twice"));
}

TEST(TrackingPlanTest, RequiresColumnSafeNames) {
  EXPECT_THAT(error_of("properties:\n  - {name: Amount, type: float}\n"),
              HasSubstr(":2: property name \"Amount\" must be a lower-case identifier"));
  EXPECT_THAT(error_of("user_attributes:\n  - {name: 1st, type: int}\n"),
              HasSubstr("user attribute name \"1st\" must be a lower-case identifier"));
  EXPECT_THAT(error_of("events:\n  - name: \"bad\\nname\"\n"), HasSubstr("event name"));
  EXPECT_TRUE(is_column_safe_name("price_coins2"));
  EXPECT_FALSE(is_column_safe_name("a-b"));
  EXPECT_FALSE(is_column_safe_name(std::string(64, 'a')));
  EXPECT_TRUE(is_column_safe_name(std::string(63, 'a')));
  EXPECT_FALSE(is_column_safe_name(""));
  // Event names are not columns: spaces and capitals are fine.
  EXPECT_TRUE(parse("events:\n  - name: Order Completed\n").is_ok());
}

TEST(TrackingPlanTest, ChecksConstraints) {
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: string\n    regex: \"[a-\"\n"),
              HasSubstr(":4: property \"a\": regex \"[a-\" is not valid"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: int\n    allowed: [1, 2]\n"),
              HasSubstr(":4: property \"a\": allowed values apply to string and string[] "
                        "properties, not int"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: string\n    max: 3\n"),
              HasSubstr(":4: property \"a\": max applies to int and float properties, not string"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: bool\n    regex: x\n"),
              HasSubstr("regex applies to string and string[] properties, not bool"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: string\n    allowed: [x, x]\n"),
              HasSubstr("allowed value \"x\" is listed twice"));
  EXPECT_THAT(error_of("properties:\n  - name: a\n    type: string\n    allowed: []\n"),
              HasSubstr("allowed must list at least one value"));
}

TEST(TrackingPlanTest, ChecksVersionsAndMergeRules) {
  EXPECT_THAT(
      error_of("events:\n  - name: e\n    versions:\n      - {version: 2}\n"
               "      - {version: 1}\n"),
      HasSubstr(":5: event \"e\": version 1 must be greater than the version before it (2)"));
  EXPECT_THAT(error_of("events:\n  - name: e\n    versions:\n      - {version: 1, date: May}\n"),
              HasSubstr("date \"May\" must be YYYY-MM-DD"));
  EXPECT_THAT(error_of("events:\n  - name: e\n    versions:\n      - {date: 2024-01-01}\n"),
              HasSubstr("a version needs a whole number `version` from 1"));
  EXPECT_THAT(error_of("user_attributes:\n  - name: a\n    type: string\n    merge: increment\n"),
              HasSubstr(":4: user attribute \"a\": merge increment needs type int or float, "
                        "not string"));
  EXPECT_THAT(error_of("user_attributes:\n  - name: a\n    type: int\n    merge: append\n"),
              HasSubstr("merge append needs type string[]"));
  EXPECT_THAT(error_of("user_attributes:\n  - name: a\n    type: int\n    merge: biggest\n"),
              HasSubstr(":4: user attribute \"a\".merge must be one of set, set_once, unset"));
  EXPECT_TRUE(parse("user_attributes:\n  - {name: a, type: timestamp, merge: min}\n").is_ok());
}

TEST(TrackingPlanTest, ChecksSources) {
  EXPECT_EQ(error_of("enforcement:\n  sources:\n    web: strict\n"),
            "tracking/plan.yaml:3: source \"web\" is not a source of basalt.yaml (sources: "
            "backend, game-client)");
  EXPECT_THAT(error_of("enforcement:\n  sources:\n    backend: harsh\n"),
              HasSubstr(":3: the mode of source \"backend\" must be one of strict, lenient, off"));
  EXPECT_THAT(error_of("enforcement:\n  default: maybe\n"),
              HasSubstr(":2: enforcement.default must be one of strict, lenient, off"));
}

TEST(TrackingPlanTest, LoadsTheTrackingFolderInNameOrder) {
  std::mt19937_64 rng(std::random_device{}());
  const auto dir =
      std::filesystem::temp_directory_path() / ("basalt-schema-" + std::to_string(rng()));
  std::filesystem::create_directories(dir / "tracking");
  auto write = [&](const char* name, const char* text) {
    std::ofstream(dir / "tracking" / name) << text;
  };
  EXPECT_TRUE(load_tracking_plan(dir / "none", kSources).is_ok());
  write("b_events.yaml", "events:\n  - name: e\n    required: [x]\n");
  write("a_props.yml", "properties:\n  - {name: x, type: int}\n");
  write("notes.txt", "not yaml: [");
  auto plan = load_tracking_plan(dir, kSources);
  ASSERT_TRUE(plan.is_ok()) << plan.status().message();
  EXPECT_EQ(plan->find_event("e")->location.file, "tracking/b_events.yaml");
  write("c_bad.yaml", "events:\n  - name: e\n");
  plan = load_tracking_plan(dir, kSources);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(
      plan.status().message(),
      "tracking/c_bad.yaml:2: event \"e\" is declared twice (first at tracking/b_events.yaml:2)");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace basalt::schema
