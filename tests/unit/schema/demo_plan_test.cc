// The demo project's tracking plan and the game event generator must agree: every event of a
// generated history passes the plan under the demo's own enforcement mode.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/config.h"
#include "gen/game_event_generator.h"
#include "schema/compiled_plan.h"

namespace basalt::schema {
namespace {

TrackingPlan load_demo_plan() {
  auto config = load_project_config(BASALT_DEMO_DIR);
  EXPECT_TRUE(config.is_ok()) << config.status().message();
  std::vector<std::string> sources;
  for (const auto& s : config->sources) sources.push_back(s.name);
  auto plan = load_tracking_plan(BASALT_DEMO_DIR, sources);
  EXPECT_TRUE(plan.is_ok()) << plan.status().message();
  return plan.is_ok() ? *plan : TrackingPlan{};
}

TEST(DemoPlanTest, DeclaresWhatTheIssueAsksFor) {
  const TrackingPlan plan = load_demo_plan();
  EXPECT_EQ(plan.mode_of("game-client"), EnforcementMode::kStrict);
  auto property = [&](const char* event, const char* name) -> const EventProperty* {
    const EventDefinition* e = plan.find_event(event);
    if (!e) return nullptr;
    for (const auto& p : e->properties) {
      if (p.name == name) return &p;
    }
    return nullptr;
  };
  ASSERT_NE(property("login", "server"), nullptr);
  EXPECT_FALSE(property("login", "server")->required);
  EXPECT_EQ(plan.find_property("server")->type, PropertyType::kString);
  ASSERT_NE(property("level_up", "level"), nullptr);
  EXPECT_TRUE(property("level_up", "level")->required);
  EXPECT_EQ(plan.find_property("level")->type, PropertyType::kInt);
  ASSERT_NE(property("pay", "amount"), nullptr);
  EXPECT_TRUE(property("pay", "amount")->required);
  EXPECT_EQ(plan.find_property("amount")->type, PropertyType::kFloat);
  ASSERT_NE(property("pay", "currency"), nullptr);
  EXPECT_EQ(plan.find_property("currency")->type, PropertyType::kString);
  ASSERT_NE(plan.find_attribute("level"), nullptr);
  EXPECT_EQ(plan.find_attribute("level")->type, PropertyType::kInt);
  EXPECT_EQ(plan.find_attribute("level")->merge, MergeRule::kMax);
  ASSERT_NE(plan.find_attribute("vip"), nullptr);
  EXPECT_EQ(plan.find_attribute("vip")->type, PropertyType::kBool);
  ASSERT_NE(plan.find_attribute("channel"), nullptr);
  EXPECT_EQ(plan.find_attribute("channel")->type, PropertyType::kString);
  EXPECT_EQ(plan.find_attribute("channel")->merge, MergeRule::kSetOnce);
}

TEST(DemoPlanTest, EveryGeneratedEventPassesTheStrictPlan) {
  const TrackingPlan plan = load_demo_plan();
  const CompiledPlan compiled(plan);
  EventValidator validator(compiled);
  const EnforcementMode mode = compiled.mode_of("game-client");
  ASSERT_EQ(mode, EnforcementMode::kStrict);

  ManualClock clock(1714564800000000);
  gen::GenOptions options;
  options.users = 300;
  options.days = 7;
  options.seed = 42;
  options.batch_size = 50;
  auto generator = gen::GameEventGenerator::create(options, clock);
  ASSERT_TRUE(generator.is_ok()) << generator.status().message();

  simdjson::dom::parser parser;
  std::map<std::string, uint64_t> checked;
  std::vector<std::string> rejections;
  while (auto body = generator->next_body()) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(*body).get(doc), simdjson::SUCCESS);
    simdjson::dom::array batch;
    ASSERT_EQ(doc["batch"].get(batch), simdjson::SUCCESS);
    for (simdjson::dom::element item : batch) {
      std::string_view type = item["type"].get_string().value();
      const Validation* v = nullptr;
      std::string name;
      if (type == "identify") {
        name = "identify";
        v = &validator.validate_traits(mode, item["traits"].value());
      } else {
        ASSERT_EQ(type, "track");
        name = std::string(item["event"].get_string().value());
        v = &validator.validate_event(mode, name, item["properties"].value());
        // Every declared property the generator sends has its typed value.
        for (const TypedValue& value : v->values) EXPECT_FALSE(value.invalid) << name;
      }
      ++checked[name];
      if (!v->accepted && rejections.size() < 10) rejections.push_back(name + ": " + v->reason());
    }
  }
  EXPECT_THAT(rejections, ::testing::IsEmpty());
  // The history had every kind of event, so the whole plan was exercised.
  for (const char* name : {"install", "identify", "login", "session_start", "session_end",
                           "level_up", "chat_message", "item_purchase", "pay"}) {
    EXPECT_GT(checked[name], 0u) << name;
  }
}

}  // namespace
}  // namespace basalt::schema
