// The tracking plan on the ingest path: strict, lenient and off sources, quarantine reasons,
// lenient warnings and the typed values carried in the event record.

#include <gtest/gtest.h>

#include "collect/ingest_parser.h"
#include "schema/compiled_plan.h"

namespace basalt::collect {
namespace {

constexpr int64_t kReceived = 1'700'000'000'000'000;

constexpr const char* kPlan = R"(
properties:
  - {name: amount, type: float, description: paid, owner: money, min: 0}
  - {name: currency, type: string, description: ISO code, owner: money, allowed: [USD, EUR]}
  - {name: level, type: int, description: level, owner: game}
  - {name: tags, type: "string[]", description: tags, owner: game}
  - {name: extra, type: json, description: anything, owner: game}
  - {name: at, type: timestamp, description: when, owner: game}
  - {name: vip_flag, type: bool, description: flag, owner: game}
events:
  - name: pay
    description: paid
    owner: money
    required: [amount, currency]
    optional: [tags, extra, at, vip_flag]
  - name: level_up
    description: up
    owner: game
    required: [level]
user_attributes:
  - {name: level, type: int, description: level, owner: game, merge: max}
  - {name: channel, type: string, description: channel, owner: growth, merge: set_once}
enforcement:
  default: lenient
  sources:
    strict-src: strict
    lenient-src: lenient
    off-src: "off"
)";

class PlanEnforcementTest : public ::testing::Test {
 protected:
  PlanEnforcementTest()
      : sources_({{"strict-src", "k1"}, {"lenient-src", "k2"}, {"off-src", "k3"}}),
        parser_(IngestLimits{}, sources_) {
    auto plan = schema::parse_tracking_plan({{"tracking/plan.yaml", kPlan}},
                                            {"strict-src", "lenient-src", "off-src"});
    EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
    if (plan.is_ok()) compiled_ = std::make_unique<schema::CompiledPlan>(*plan);
  }

  Result<IngestBatch> parse(const std::string& source, Endpoint ep, std::string body) {
    RequestMeta m;
    m.received_at_us = kReceived;
    m.source = source;
    return parser_.parse(ep, body, m, compiled_.get());
  }

  SourceDirectory sources_;
  IngestParser parser_;
  std::unique_ptr<schema::CompiledPlan> compiled_;
};

TEST_F(PlanEnforcementTest, StrictAcceptsAValidEventWithItsTypedValues) {
  auto r = parse("strict-src", Endpoint::kTrack,
                 R"({"userId":"u","event":"pay","properties":{"amount":9.5,"currency":"EUR",
                     "tags":["a","b"],"extra":{"x": [1, 2]},"at":"2024-01-01T00:00:01Z",
                     "vip_flag":true}})");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->accepted, 1u);
  EXPECT_TRUE(r->warnings.empty());
  auto e = event::decode_event(r->records[0]);
  ASSERT_TRUE(e.is_ok());
  ASSERT_EQ(e->typed.size(), 6u);
  EXPECT_EQ(e->typed[0].name, "amount");
  EXPECT_EQ(e->typed[0].type, event::ValueType::kFloat);
  EXPECT_DOUBLE_EQ(e->typed[0].float_value, 9.5);
  EXPECT_EQ(e->typed[1].text, "EUR");
  EXPECT_EQ(e->typed[2].list, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(e->typed[3].text, R"({"x":[1,2]})");
  EXPECT_EQ(e->typed[4].int_value, 1'704'067'201'000'000);
  EXPECT_EQ(e->typed[5].type, event::ValueType::kBool);
  EXPECT_EQ(e->typed[5].int_value, 1);
}

TEST_F(PlanEnforcementTest, StrictQuarantinesWithThePreciseReasons) {
  auto r = parse("strict-src", Endpoint::kBatch, R"({"batch":[
      {"type":"track","userId":"u","event":"pay","properties":{"amount":"abc","currency":"EUR"}},
      {"type":"track","userId":"u","event":"lvl_up","properties":{"level":2}},
      {"type":"track","userId":"u","event":"level_up","properties":{"level":2,"lvl":3}},
      {"type":"track","userId":"u","event":"level_up","properties":{"level":3}},
      {"type":"track","userId":"u","event":"pay","properties":{"amount":1}}]})");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->accepted, 1u);
  ASSERT_EQ(r->rejected, 4u);
  ASSERT_EQ(r->errors.size(), 4u);
  EXPECT_EQ(r->errors[0].index, 0u);
  EXPECT_EQ(r->errors[0].reason, R"(property "amount" expected float, got string "abc")");
  EXPECT_EQ(r->errors[1].reason,
            R"(event "lvl_up" is not in the tracking plan (did you mean "level_up"?))");
  EXPECT_EQ(r->errors[2].reason,
            R"(property "lvl" is not declared for event "level_up" (did you mean "level"?))");
  EXPECT_EQ(r->errors[3].index, 4u);
  EXPECT_EQ(r->errors[3].reason, R"(property "currency" is required by event "pay")");
  // The quarantine record holds the reason, the raw item and an id for replays.
  auto q = event::decode_quarantined(r->records[0]);
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->reason, r->errors[0].reason);
  EXPECT_NE(q->raw_json.find(R"("amount":"abc")"), std::string::npos);
  EXPECT_EQ(q->quarantine_id.size(), 36u);
  EXPECT_FALSE(q->type.has_value());  // a batch item names its own type
  EXPECT_TRUE(event::decode_event(r->records[3]).is_ok());
}

TEST_F(PlanEnforcementTest, SingleCallsRememberTheirTypeInQuarantine) {
  auto r = parse("strict-src", Endpoint::kTrack, R"({"userId":"u","event":"nope"})");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->rejected, 1u);
  auto q = event::decode_quarantined(r->records[0]);
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->type, event::EventType::kTrack);
}

TEST_F(PlanEnforcementTest, LenientAcceptsAndReportsWhatIsWrong) {
  auto r = parse("lenient-src", Endpoint::kBatch, R"({"batch":[
      {"type":"track","userId":"u","event":"pay","properties":{"amount":"abc","currency":"EUR","coupon":"X1"}},
      {"type":"track","userId":"u","event":"brand_new","properties":{"a":1}},
      {"type":"track","userId":"u","event":"level_up","properties":{"level":2}}]})");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->accepted, 3u);
  EXPECT_EQ(r->rejected, 0u);
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_EQ(r->warnings[0].index, 0u);
  EXPECT_NE(r->warnings[0].reason.find(R"(property "coupon" is not declared for event "pay")"),
            std::string::npos)
      << r->warnings[0].reason;
  EXPECT_NE(r->warnings[0].reason.find(R"(property "amount" expected float, got string "abc")"),
            std::string::npos);
  EXPECT_EQ(r->warnings[1].index, 1u);
  EXPECT_EQ(r->warnings[1].reason, R"(event "brand_new" is not in the tracking plan)");
  // The undeclared property stays in the JSON; the invalid one has no typed value.
  auto e = event::decode_event(r->records[0]);
  ASSERT_TRUE(e.is_ok());
  EXPECT_NE(e->properties_json.find(R"("coupon":"X1")"), std::string::npos);
  ASSERT_EQ(e->typed.size(), 1u);
  EXPECT_EQ(e->typed[0].name, "currency");
}

TEST_F(PlanEnforcementTest, OffChecksNothingAndCarriesNoTypedValues) {
  auto r = parse("off-src", Endpoint::kTrack,
                 R"({"userId":"u","event":"pay","properties":{"amount":"abc"}})");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->accepted, 1u);
  EXPECT_TRUE(r->warnings.empty());
  auto e = event::decode_event(r->records[0]);
  ASSERT_TRUE(e.is_ok());
  EXPECT_TRUE(e->typed.empty());
}

TEST_F(PlanEnforcementTest, IdentifyTraitsBecomeTypedAttributesWithExplicitNulls) {
  auto r = parse("strict-src", Endpoint::kIdentify,
                 R"({"userId":"u","traits":{"level":7,"channel":null}})");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->accepted, 1u);
  auto e = event::decode_event(r->records[0]);
  ASSERT_TRUE(e.is_ok());
  ASSERT_EQ(e->typed.size(), 2u);
  EXPECT_EQ(e->typed[0].name, "level");
  EXPECT_EQ(e->typed[0].int_value, 7);
  EXPECT_EQ(e->typed[1].name, "channel");
  EXPECT_EQ(e->typed[1].type, event::ValueType::kNull);

  auto bad = parse("strict-src", Endpoint::kIdentify, R"({"userId":"u","traits":{"levl":7}})");
  ASSERT_TRUE(bad.is_ok());
  ASSERT_EQ(bad->rejected, 1u);
  EXPECT_EQ(bad->errors[0].reason,
            R"(trait "levl" is not a user attribute of the tracking plan (did you mean "level"?))");
}

TEST_F(PlanEnforcementTest, PageCallsAreNotHeldToTheTrackPlan) {
  auto r = parse("strict-src", Endpoint::kPage, R"({"userId":"u","name":"Home"})");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->accepted, 1u);
}

TEST_F(PlanEnforcementTest, APlanSwapIsPickedUpByTheThreadsValidator) {
  auto first = parse("strict-src", Endpoint::kTrack, R"({"userId":"u","event":"pay2"})");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->rejected, 1u);
  std::string with_pay2 = std::string(kPlan);
  with_pay2.replace(with_pay2.find("  - name: level_up"), 0,
                    "  - {name: pay2, description: d, owner: o}\n");
  auto plan = schema::parse_tracking_plan({{"tracking/plan.yaml", with_pay2}},
                                          {"strict-src", "lenient-src", "off-src"});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  compiled_ = std::make_unique<schema::CompiledPlan>(*plan);
  auto second = parse("strict-src", Endpoint::kTrack, R"({"userId":"u","event":"pay2"})");
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->accepted, 1u);
}

}  // namespace
}  // namespace basalt::collect
