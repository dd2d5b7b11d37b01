// The demo project's transform and its tracking plan must agree: every event of a generated
// history, once transformed, still passes the demo's strict plan, and the transform repairs
// what it is there to repair.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "enrich/lua_transform.h"
#include "gen/game_event_generator.h"
#include "schema/compiled_plan.h"

namespace basalt::enrich {
namespace {

class DemoTransformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = load_project_config(BASALT_DEMO_DIR);
    ASSERT_TRUE(config.is_ok()) << config.status().message();
    std::vector<std::string> sources;
    for (const auto& s : config->sources) sources.push_back(s.name);
    auto plan = schema::load_tracking_plan(BASALT_DEMO_DIR, sources);
    ASSERT_TRUE(plan.is_ok()) << plan.status().message();
    compiled_ = std::make_unique<schema::CompiledPlan>(*plan);
    validator_ = std::make_unique<schema::EventValidator>(*compiled_);
    auto set = TransformSet::load_dir(std::string(BASALT_DEMO_DIR) + "/transforms");
    ASSERT_TRUE(set.is_ok()) << set.status().message();
    transforms_ = std::move(set).value();
    ASSERT_TRUE(transforms_->has("game-client"));
  }

  // The plan's verdict on one track event ("" when accepted).
  std::string verdict(std::string_view event_json) {
    simdjson::dom::element doc;
    EXPECT_EQ(parser_.parse(event_json.data(), event_json.size()).get(doc), simdjson::SUCCESS);
    std::string_view name = doc["event"].get_string().value();
    const auto& v = validator_->validate_event(compiled_->mode_of("game-client"), name,
                                               doc["properties"].value());
    return v.accepted ? "" : v.reason();
  }

  std::unique_ptr<schema::CompiledPlan> compiled_;
  std::unique_ptr<schema::EventValidator> validator_;
  std::unique_ptr<TransformSet> transforms_;
  simdjson::dom::parser parser_;
};

TEST_F(DemoTransformTest, GeneratedHistoryStillPassesThePlan) {
  ManualClock clock(1714564800000000);
  gen::GenOptions options;
  options.users = 100;
  options.days = 3;
  options.seed = 7;
  options.batch_size = 50;
  auto generator = gen::GameEventGenerator::create(options, clock);
  ASSERT_TRUE(generator.is_ok()) << generator.status().message();
  std::map<std::string, int> seen;
  std::vector<std::string> problems;
  while (auto body = generator->next_body()) {
    const nlohmann::json doc = nlohmann::json::parse(*body);
    for (const nlohmann::json& item : doc.at("batch")) {
      const std::string in = item.dump();
      auto out = transforms_->apply("game-client", in);
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      ASSERT_EQ(out->size(), 1u) << in;
      if (item.at("type") != "track") {
        ++seen["other"];
        continue;
      }
      ++seen[item.at("event").get<std::string>()];
      if (std::string why = verdict(out->at(0)); !why.empty() && problems.size() < 10) {
        problems.push_back(out->at(0) + ": " + why);
      }
    }
  }
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_GT(seen["pay"], 0);
  EXPECT_GT(seen["level_up"], 0);
}

TEST_F(DemoTransformTest, RepairsLowerCaseCurrencyAndDropsDebugEvents) {
  const std::string old_client =
      R"({"type":"track","event":"pay","userId":"u1","properties":{"amount":4.99,"currency":"usd"}})";
  EXPECT_NE(verdict(old_client), "") << "the plan alone refuses a lower-case currency";
  auto out = transforms_->apply("game-client", old_client);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(verdict(out->at(0)), "");
  EXPECT_NE(out->at(0).find(R"("currency":"USD")"), std::string::npos) << out->at(0);

  auto debug = transforms_->apply(
      "game-client", R"({"type":"track","event":"debug_fps","properties":{"fps":58}})");
  ASSERT_TRUE(debug.is_ok());
  EXPECT_TRUE(debug->empty());
}

}  // namespace
}  // namespace basalt::enrich
