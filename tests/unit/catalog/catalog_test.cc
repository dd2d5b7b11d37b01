#include "catalog/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "domino/task_type.h"

namespace basalt::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

TEST(TablesInSql, ReadsWritesTemplatesAndCtes) {
  auto t = tables_in_sql(R"(
    CREATE OR REPLACE TABLE rpt_revenue_{{ ds_nodash }} AS
    WITH pay AS (SELECT * FROM events WHERE event = 'pay from x')  -- FROM comment_table
    SELECT * FROM pay p LEFT JOIN main.users u ON u.user_id = p.user_id)");
  EXPECT_THAT(t.writes, ElementsAre("rpt_revenue_*"));
  EXPECT_THAT(t.reads, UnorderedElementsAre("events", "users"));
  auto i = tables_in_sql(
      "INSERT INTO daily SELECT day, count(*) FROM events GROUP BY 1; DELETE FROM stale");
  EXPECT_THAT(i.writes, UnorderedElementsAre("daily", "stale"));
  EXPECT_THAT(i.reads, ElementsAre("events"));
}

TEST(BuildCatalog, LineageFromDagsModelsApisAndSavedCharts) {
  auto w = warehouse::make_warehouse(warehouse::WarehouseOptions{});
  ASSERT_TRUE(w);
  ASSERT_TRUE(
      (*w)->query("CREATE TABLE rpt_revenue_20261101 (channel VARCHAR, amount DOUBLE)", {}));
  auto plan = schema::load_tracking_plan(BASALT_SOURCE_DIR "/examples/demo", {"game-client"});
  ASSERT_TRUE(plan) << plan.status().message();
  ASSERT_TRUE((*w)->apply_plan_columns(warehouse::plan_columns(*plan)));
  auto models = semantic::ModelSet::load(BASALT_SOURCE_DIR "/examples/demo");
  auto apis = semantic::DataApiSet::load(BASALT_SOURCE_DIR "/examples/demo", models.models);
  auto dags = domino::load_dags(BASALT_SOURCE_DIR "/examples/demo/dags",
                                domino::make_default_task_registry());
  CatalogInputs in{w->get(),
                   &*plan,
                   &models.models,
                   &apis.apis,
                   &dags,
                   {{"chart", "c_1", "Revenue", "events", {"revenue"}, {}},
                    {"dashboard", "d_1", "Finance", "", {}, {"c_1"}}}};
  auto cat = build_catalog(in, "");
  ASSERT_TRUE(cat) << cat.status().message();
  nlohmann::json events, rpt;
  for (const auto& t : (*cat)["tables"]) {
    if (t["name"] == "events") events = t;
    if (t["name"] == "rpt_revenue_20261101") rpt = t;
  }
  ASSERT_FALSE(events.is_null());
  ASSERT_FALSE(rpt.is_null());
  EXPECT_EQ(rpt["lineage"]["written_by"][0]["dag"], "daily_revenue");
  EXPECT_EQ(rpt["lineage"]["written_by"][0]["task"], "revenue");
  auto& read_by = events["lineage"]["read_by"];
  EXPECT_NE(std::find(read_by.begin(), read_by.end(),
                      nlohmann::json{
                          {"dag", "daily_revenue"}, {"task", "revenue"}, {"owner", "data-team"}}),
            read_by.end())
      << read_by.dump();
  EXPECT_EQ(events["lineage"]["models"][0]["model"], "events");
  EXPECT_EQ(events["lineage"]["charts"][0]["id"], "c_1");
  EXPECT_EQ(events["lineage"]["dashboards"][0]["name"], "Finance");
  EXPECT_EQ(events["rows"], 0);
  bool amount_documented = false;
  for (const auto& c : events["columns"]) {
    if (c["name"] == "p_amount")
      amount_documented = c.value("description", "") != "" && c.contains("used_by");
  }
  EXPECT_TRUE(amount_documented) << "p_amount carries the plan's description and its model uses";
  bool api = false;
  for (const auto& a : events["lineage"]["apis"]) api |= a["api"] == "top_payers";
  EXPECT_TRUE(api);

  auto found = build_catalog(in, "ARPU");
  ASSERT_TRUE(found);
  ASSERT_EQ((*found)["tables"].size(), 2u) << "events and users carry the metric arpu";
  auto none = build_catalog(in, "no-such-thing");
  EXPECT_TRUE((*none)["tables"].empty());
}

TEST(BuildCatalog, DescribesTheRollupTables) {
  warehouse::WarehouseOptions o;
  o.rollup_timezone = "UTC";
  auto w = warehouse::make_warehouse(o);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->rebuild_rollups().is_ok());
  CatalogInputs in{w->get(), nullptr, nullptr, nullptr, nullptr, {}};
  auto cat = build_catalog(in, "");
  ASSERT_TRUE(cat) << cat.status().message();
  std::map<std::string, nlohmann::json> tables;
  for (const auto& t : (*cat)["tables"]) tables[t["name"]] = t;
  for (const char* name :
       {"events_user_day", "events_day_users", "events_active_users", "basalt_rollups",
        "quarantine_replays"}) {
    ASSERT_TRUE(tables.contains(name)) << name;
    EXPECT_NE(tables[name].value("description", ""), "") << name;
  }
  bool day_documented = false;
  for (const auto& c : tables["events_user_day"]["columns"])
    if (c["name"] == "day") day_documented = c.value("description", "") != "";
  EXPECT_TRUE(day_documented);
  // Search finds a rollup by its description.
  auto found = build_catalog(in, "rollup");
  ASSERT_TRUE(found);
  EXPECT_GE((*found)["tables"].size(), 4u);
}

}  // namespace
}  // namespace basalt::catalog
