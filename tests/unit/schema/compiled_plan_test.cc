#include "schema/compiled_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace basalt::schema {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kPlan = R"(properties:
  - {name: amount, type: float, min: 0}
  - {name: currency, type: string, allowed: [USD, CNY, EUR]}
  - {name: level, type: int, min: 1, max: 100}
  - {name: vip, type: bool}
  - {name: at, type: timestamp}
  - {name: tags, type: "string[]", regex: "[a-z]+"}
  - {name: extra, type: json}
  - {name: server, type: string}
events:
  - name: pay
    required: [amount, currency]
    optional: [at, tags, extra]
  - name: level_up
    required: [level]
  - name: login
    optional: [server, vip]
  - name: old_event
    status: deprecated
user_attributes:
  - {name: level, type: int, merge: max}
  - {name: vip, type: bool}
enforcement:
  sources:
    strict-src: strict
    lenient-src: lenient
    off-src: off
)";

class CompiledPlanTest : public ::testing::Test {
 protected:
  CompiledPlanTest()
      : plan_(parse_tracking_plan({{"plan.yaml", kPlan}}, {"strict-src", "lenient-src", "off-src"})
                  .value()),
        validator_(plan_) {}

  const Validation& check(std::string_view event, const std::string& json,
                          EnforcementMode mode = EnforcementMode::kStrict) {
    doc_ = parser_.parse(json).value();
    return validator_.validate_event(mode, event, doc_);
  }
  std::string reason(std::string_view event, const std::string& json) {
    const Validation& v = check(event, json);
    EXPECT_FALSE(v.accepted) << json;
    return v.reason();
  }

  CompiledPlan plan_;
  EventValidator validator_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

TEST_F(CompiledPlanTest, AcceptsAValidEventWithTypedValues) {
  const Validation& v = check(
      "pay",
      R"({"amount":4.99,"currency":"USD","at":"2024-05-01T12:00:00.5Z","tags":["a","b"],"extra":{"k":[1]}})");
  ASSERT_TRUE(v.accepted) << v.reason();
  EXPECT_THAT(v.violations, IsEmpty());
  EXPECT_THAT(v.undeclared, IsEmpty());
  ASSERT_NE(v.event, nullptr);
  EXPECT_EQ(v.event->name, "pay");
  ASSERT_EQ(v.values.size(), 5u);
  EXPECT_TRUE(v.values[0].present);
  EXPECT_EQ(v.values[0].type, PropertyType::kFloat);
  EXPECT_DOUBLE_EQ(v.values[0].float_value, 4.99);
  EXPECT_EQ(v.values[1].text, "USD");
  EXPECT_EQ(v.values[2].int_value, 1714564800500000);
  EXPECT_TRUE(v.values[3].present);
  EXPECT_EQ(v.values[3].raw.get_array().size(), 2u);
  EXPECT_TRUE(v.values[4].present);
  EXPECT_TRUE(v.values[4].raw.is_object());
}

TEST_F(CompiledPlanTest, AbsentAndNullOptionalPropertiesAreNotPresent) {
  const Validation& v = check("pay", R"({"amount":1,"currency":"EUR","at":null})");
  ASSERT_TRUE(v.accepted) << v.reason();
  EXPECT_DOUBLE_EQ(v.values[0].float_value, 1.0);  // an int is a float
  EXPECT_FALSE(v.values[2].present);
  EXPECT_FALSE(v.values[3].present);
  EXPECT_TRUE(check("login", "{}").accepted);
  EXPECT_TRUE(check("login", "null").accepted);
}

TEST_F(CompiledPlanTest, ReportsWrongTypesPrecisely) {
  EXPECT_EQ(reason("pay", R"({"amount":"abc","currency":"USD"})"),
            "property \"amount\" expected float, got string \"abc\"");
  EXPECT_EQ(reason("level_up", R"({"level":2.5})"),
            "property \"level\" expected int, got float 2.5");
  EXPECT_EQ(reason("level_up", R"({"level":"3"})"),
            "property \"level\" expected int, got string \"3\"");
  EXPECT_EQ(
      reason("level_up", R"({"level":18446744073709551615})"),
      "property \"level\" expected int (a signed 64-bit integer), got int 18446744073709551615");
  EXPECT_EQ(reason("login", R"({"vip":1})"), "property \"vip\" expected bool, got int 1");
  EXPECT_EQ(reason("login", R"({"server":["eu"]})"),
            "property \"server\" expected string, got an array");
  EXPECT_EQ(reason("pay", R"({"amount":1,"currency":"USD","at":"yesterday"})"),
            "property \"at\" expected an ISO 8601 timestamp, got string \"yesterday\"");
  EXPECT_EQ(reason("pay", R"({"amount":1,"currency":"USD","at":1714564800})"),
            "property \"at\" expected an ISO 8601 timestamp string, got int 1714564800");
  EXPECT_EQ(reason("pay", R"({"amount":1,"currency":"USD","tags":"a"})"),
            "property \"tags\" expected string[], got string \"a\"");
  EXPECT_EQ(reason("pay", R"({"amount":1,"currency":"USD","tags":["a",5]})"),
            "property \"tags\"[1] expected string, got int 5");
  EXPECT_EQ(reason("pay", R"({"amount":true,"currency":"USD"})"),
            "property \"amount\" expected float, got bool true");
  EXPECT_EQ(reason("pay", "[1]"),
            "properties must be an object, got an array; property \"amount\" is required by event "
            "\"pay\"; property \"currency\" is required by event \"pay\"");
}

TEST_F(CompiledPlanTest, WholeFloatsAreInts) {
  const Validation& v = check("level_up", R"({"level":3.0})");
  ASSERT_TRUE(v.accepted) << v.reason();
  EXPECT_EQ(v.values[0].int_value, 3);
  EXPECT_TRUE(check("level_up", R"({"level":1e1})").accepted);
  EXPECT_FALSE(check("level_up", R"({"level":1e300})").accepted);
}

TEST_F(CompiledPlanTest, ChecksConstraints) {
  EXPECT_EQ(reason("pay", R"({"amount":1,"currency":"XYZ"})"),
            "property \"currency\" must be one of USD, CNY, EUR, got \"XYZ\"");
  EXPECT_EQ(reason("pay", R"({"amount":-1,"currency":"USD"})"),
            "property \"amount\" must be at least 0, got int -1");
  EXPECT_EQ(reason("level_up", R"({"level":0})"),
            "property \"level\" must be at least 1, got int 0");
  EXPECT_EQ(reason("level_up", R"({"level":101})"),
            "property \"level\" must be at most 100, got int 101");
  EXPECT_EQ(reason("pay", R"({"amount":1,"currency":"USD","tags":["ok","Not"]})"),
            "property \"tags\"[1] must match /[a-z]+/, got \"Not\"");
  EXPECT_TRUE(check("level_up", R"({"level":100})").accepted);
  EXPECT_TRUE(check("level_up", R"({"level":1})").accepted);
}

TEST_F(CompiledPlanTest, ReportsMissingRequiredProperties) {
  EXPECT_EQ(reason("level_up", "{}"), "property \"level\" is required by event \"level_up\"");
  EXPECT_EQ(reason("level_up", R"({"level":null})"),
            "property \"level\" is required by event \"level_up\"");
  // An invalid required value gets one violation, not two.
  EXPECT_EQ(reason("pay", R"({"amount":"x","currency":"USD"})"),
            "property \"amount\" expected float, got string \"x\"");
}

TEST_F(CompiledPlanTest, StrictRejectsUndeclaredWithSuggestions) {
  EXPECT_EQ(reason("lvl_up", "{}"),
            "event \"lvl_up\" is not in the tracking plan (did you mean \"level_up\"?)");
  EXPECT_EQ(reason("purchase", "{}"), "event \"purchase\" is not in the tracking plan");
  EXPECT_EQ(reason("pay", R"({"amount":1,"currency":"USD","amout":2})"),
            "property \"amout\" is not declared for event \"pay\" (did you mean \"amount\"?)");
  // Declared in the dictionary but not for this event.
  const Validation& v = check("level_up", R"({"level":2,"vip":true})");
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.reason(), "property \"vip\" is not declared for event \"level_up\"");
  EXPECT_THAT(v.undeclared, ElementsAre("vip"));
  EXPECT_TRUE(v.values[0].present);
}

TEST_F(CompiledPlanTest, LenientAcceptsAndReportsUndeclared) {
  const auto lenient = EnforcementMode::kLenient;
  const Validation& v =
      check("pay", R"({"amount":2,"currency":"USD","coupon":"X","n":1})", lenient);
  EXPECT_TRUE(v.accepted);
  EXPECT_THAT(v.violations, IsEmpty());
  EXPECT_THAT(v.undeclared, ElementsAre("coupon", "n"));
  EXPECT_TRUE(v.values[0].present);

  const Validation& u = check("lvl_up", R"({"level":2})", lenient);
  EXPECT_TRUE(u.accepted);
  EXPECT_TRUE(u.undeclared_event);
  EXPECT_EQ(u.event, nullptr);

  // Invalid declared values are reported, accepted, and left out of the typed values.
  const Validation& w = check("pay", R"({"amount":"abc"})", lenient);
  EXPECT_TRUE(w.accepted);
  EXPECT_EQ(w.reason(),
            "property \"amount\" expected float, got string \"abc\"; property "
            "\"currency\" is required by event \"pay\"");
  EXPECT_FALSE(w.values[0].present);
  EXPECT_TRUE(w.values[0].invalid);
}

TEST_F(CompiledPlanTest, OffAcceptsEverythingUnchecked) {
  const Validation& v = check("lvl_up", R"({"amount":"abc"})", EnforcementMode::kOff);
  EXPECT_TRUE(v.accepted);
  EXPECT_FALSE(v.undeclared_event);
  EXPECT_THAT(v.violations, IsEmpty());
  EXPECT_THAT(v.values, IsEmpty());
}

TEST_F(CompiledPlanTest, DeprecatedEventsAreAcceptedAndMarked) {
  const Validation& v = check("old_event", "{}");
  EXPECT_TRUE(v.accepted);
  ASSERT_NE(v.event, nullptr);
  EXPECT_TRUE(v.event->deprecated);
}

TEST_F(CompiledPlanTest, ValidatesTraitsAgainstUserAttributes) {
  doc_ = parser_.parse(std::string(R"({"level":7,"vip":true})")).value();
  const Validation& v = validator_.validate_traits(EnforcementMode::kStrict, doc_);
  ASSERT_TRUE(v.accepted) << v.reason();
  ASSERT_EQ(v.values.size(), 2u);
  EXPECT_EQ(v.values[0].int_value, 7);
  EXPECT_EQ(v.values[1].int_value, 1);

  doc_ = parser_.parse(std::string(R"({"levle":7,"vip":"yes"})")).value();
  const Validation& w = validator_.validate_traits(EnforcementMode::kStrict, doc_);
  EXPECT_FALSE(w.accepted);
  EXPECT_EQ(w.reason(),
            "trait \"levle\" is not a user attribute of the tracking plan (did you "
            "mean \"level\"?); trait \"vip\" expected bool, got string \"yes\"");
  const Validation& l = validator_.validate_traits(EnforcementMode::kLenient, doc_);
  EXPECT_TRUE(l.accepted);
  EXPECT_THAT(l.undeclared, ElementsAre("levle"));
}

TEST_F(CompiledPlanTest, ModesBySource) {
  EXPECT_EQ(plan_.mode_of("strict-src"), EnforcementMode::kStrict);
  EXPECT_EQ(plan_.mode_of("lenient-src"), EnforcementMode::kLenient);
  EXPECT_EQ(plan_.mode_of("off-src"), EnforcementMode::kOff);
  EXPECT_EQ(plan_.mode_of("unknown"), EnforcementMode::kLenient);
  EXPECT_EQ(plan_.find_event("pay"), 0u);
  EXPECT_EQ(plan_.find_property("nope"), std::nullopt);
}

TEST_F(CompiledPlanTest, LongBadValuesAreShortenedInReasons) {
  const std::string reason_text =
      reason("pay", R"({"amount":")" + std::string(200, 'x') + R"(","currency":"USD"})");
  EXPECT_LT(reason_text.size(), 120u);
}

TEST(TimestampTest, ParsesIso8601) {
  EXPECT_EQ(parse_timestamp("1970-01-01"), 0);
  EXPECT_EQ(parse_timestamp("2024-05-01T12:00:00Z"), 1714564800000000);
  EXPECT_EQ(parse_timestamp("2024-05-01T12:00:00"), 1714564800000000);
  EXPECT_EQ(parse_timestamp("2024-05-01T12:00:00.123456789Z"), 1714564800123456);
  EXPECT_EQ(parse_timestamp("2024-05-01T12:00:00.1Z"), 1714564800100000);
  EXPECT_EQ(parse_timestamp("2024-05-01T14:00:00+02:00"), 1714564800000000);
  EXPECT_EQ(parse_timestamp("2024-05-01T07:30:00-0430"), 1714564800000000);
  EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59Z"), -1000000);
  for (const char* bad : {"", "2024", "2024-13-01", "2024-02-30", "2024-05-01T25:00:00Z",
                          "2024-05-01 12:00:00", "2024-05-01T12:00:00.Z", "2024-05-01T12:00Z",
                          "2024-05-01T12:00:00Zx", "2024-05-01T12:00:00+2", "x024-05-01"}) {
    EXPECT_EQ(parse_timestamp(bad), std::nullopt) << bad;
  }
}

TEST(EditDistanceTest, CountsEdits) {
  EXPECT_EQ(edit_distance("lvl_up", "level_up"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace basalt::schema
