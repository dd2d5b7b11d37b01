#include "semantic/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "semantic/metric_expr.h"

namespace basalt::semantic {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(ModelSet, TheDemoModelLoads) {
  auto loaded = ModelSet::load(BASALT_SOURCE_DIR "/examples/demo");
  EXPECT_TRUE(loaded.errors.empty()) << ::testing::PrintToString(loaded.errors);
  const Model* m = loaded.models.find("events");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->table, "events");
  EXPECT_EQ(m->time, "timestamp");
  ASSERT_NE(m->measure("revenue"), nullptr);
  EXPECT_EQ(m->measure("revenue")->filter, "event = 'pay'");
  EXPECT_EQ(m->measure("revenue")->location.line, 18);
  EXPECT_EQ(m->metric("arpu")->expr, "revenue / dau");
  EXPECT_EQ(m->joins.at(0).model, "users");
}

TEST(ModelSet, ErrorsNameFileAndLine) {
  auto loaded = ModelSet::parse("models/bad.yaml", R"(model: e
table: events
dimensions:
  - {name: event, column: event}
  - {name: event, column: other}
  - {name: "bad name", column: x}
  - {name: both, column: x, sql: "y"}
measures:
  - {name: n, agg: countt}
  - {name: s, agg: sum}
  - {name: p, agg: percentile, column: x}
metrics:
  - {name: r, expr: "n / missing"}
  - {name: loop, expr: "loop + 1"}
  - {name: evil, expr: "n; DROP TABLE events"}
joins:
  - {model: nowhere, on: "e.a = nowhere.a"}
  - {model: x, on: "a", relationship: one_to_many}
extra: 1
)");
  const auto& e = loaded.errors;
  EXPECT_THAT(e, Contains(HasSubstr("models/bad.yaml:5: 'event' is defined twice")));
  EXPECT_THAT(
      e, Contains(HasSubstr("models/bad.yaml:6: dimension name 'bad name' must be an identifier")));
  EXPECT_THAT(e,
              Contains(HasSubstr(
                  "models/bad.yaml:7: dimension 'both' needs exactly one of 'column' and 'sql'")));
  EXPECT_THAT(e, Contains(HasSubstr("models/bad.yaml:9: unknown aggregation 'countt'")));
  EXPECT_THAT(
      e, Contains(HasSubstr("models/bad.yaml:10: measure 's' (sum) needs a 'column' or 'sql'")));
  EXPECT_THAT(e, Contains(HasSubstr(
                     "models/bad.yaml:11: measure 'p' (percentile) needs 'p' between 0 and 1")));
  EXPECT_THAT(e, Contains(HasSubstr("models/bad.yaml:13: metric 'r' names 'missing'")));
  EXPECT_THAT(e, Contains(HasSubstr("models/bad.yaml:14: metric 'loop' depends on itself")));
  EXPECT_THAT(e, Contains(HasSubstr("models/bad.yaml:15: metric 'evil': character ';'")));
  EXPECT_THAT(e, Contains(HasSubstr("models/bad.yaml:18: one_to_many joins would multiply")));
  EXPECT_THAT(e, Contains(HasSubstr("models/bad.yaml:19: unknown key 'extra' in a model")));
  EXPECT_EQ(loaded.models.find("e"), nullptr) << "a model with errors is not served";
}

TEST(ModelSet, SyntaxErrorsHaveALine) {
  auto loaded = ModelSet::parse("models/x.yaml", "model: a\ntable: [unclosed\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_THAT(loaded.errors[0], HasSubstr("models/x.yaml:"));
}

TEST(ModelSet, UnknownJoinTarget) {
  auto loaded = ModelSet::parse("models/j.yaml",
                                "model: a\ntable: t\njoins:\n  - {model: b, on: \"a.x = b.x\"}\n");
  EXPECT_THAT(loaded.errors, Contains(HasSubstr("models/j.yaml:4: join to unknown model 'b'")));
}

TEST(MetricExpr, RendersDivisionsSafely) {
  auto t = parse_metric_expr("(revenue - refunds) / dau * 100");
  ASSERT_TRUE(t) << t.status().message();
  std::string sql = render_metric_expr(
      *t, [](const std::string& n) { return "\"" + n + "\""; },
      [](const std::string& a, const std::string& b) { return "div(" + a + ", " + b + ")"; });
  EXPECT_EQ(sql, "div((\"revenue\" - \"refunds\"), \"dau\") * 100");
  EXPECT_FALSE(parse_metric_expr("a +"));
  EXPECT_FALSE(parse_metric_expr("a b"));
  EXPECT_FALSE(parse_metric_expr("(a"));
  EXPECT_FALSE(parse_metric_expr("a' OR 1=1"));
  EXPECT_FALSE(parse_metric_expr(""));
}

}  // namespace
}  // namespace basalt::semantic

#include "semantic/data_api.h"

namespace basalt::semantic {
namespace {

TEST(DataApiSet, TheDemoApisLoadAndBind) {
  auto models = ModelSet::load(BASALT_SOURCE_DIR "/examples/demo");
  auto apis = DataApiSet::load(BASALT_SOURCE_DIR "/examples/demo", models.models);
  EXPECT_TRUE(apis.errors.empty()) << ::testing::PrintToString(apis.errors);
  const DataApi* top = apis.apis.find("top_payers");
  ASSERT_NE(top, nullptr);
  auto args = bind_arguments(*top, {{"start", "2026-11-01"}, {"end", "2026-11-02"}});
  ASSERT_TRUE(args) << args.status().message();
  EXPECT_EQ(args->at("limit"), 20) << "the default applies";
  auto st = instantiate_sql(*top, *args, [](size_t i) { return "$" + std::to_string(i + 1); });
  ASSERT_TRUE(st);
  EXPECT_NE(st->sql.find("CAST($1 AS DATE)"), std::string::npos) << st->sql;
  EXPECT_NE(st->sql.find("LIMIT $3"), std::string::npos) << st->sql;
  ASSERT_EQ(st->params.size(), 3u);
  EXPECT_EQ(std::get<std::string>(st->params[0]), "2026-11-01");

  const DataApi* rev = apis.apis.find("revenue_by_channel");
  ASSERT_NE(rev, nullptr);
  auto no_channel = bind_arguments(*rev, {{"start", "2026-11-01"}, {"end", "2026-11-02"}});
  ASSERT_TRUE(no_channel);
  auto q = instantiate_query(*rev, *no_channel);
  ASSERT_TRUE(q) << q.status().message();
  EXPECT_TRUE(q->filters.empty()) << "a filter on an absent parameter is dropped";
  auto bad = bind_arguments(
      *rev, {{"start", "2026-11-01"}, {"end", "2026-11-02"}, {"channel", "x' OR 1=1"}});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.status().message(), HasSubstr("must be one of organic"));
}

TEST(DataApiSet, ErrorsNameFileAndLine) {
  auto models = ModelSet::load(BASALT_SOURCE_DIR "/examples/demo");
  auto apis = DataApiSet::parse("apis/bad.yaml", R"(api: a
params:
  - {name: x, type: float}
query: {model: events, metrics: [nope]}
---
api: b
sql: "SELECT {{missing}}"
)",
                                models.models);
  EXPECT_THAT(apis.errors,
              Contains(HasSubstr("apis/bad.yaml:3: parameter 'x': unknown type 'float'")));
  EXPECT_THAT(apis.errors, Contains(HasSubstr("apis/bad.yaml:7: sql names {{missing}}")));
}

}  // namespace
}  // namespace basalt::semantic

#include <filesystem>
#include <fstream>

#include "semantic/project_semantics.h"

namespace basalt::semantic {
namespace {

TEST(ValidateSemantics, ChecksModelSqlAgainstThePlansColumns) {
  const std::filesystem::path demo = BASALT_SOURCE_DIR "/examples/demo";
  auto plan = schema::load_tracking_plan(demo, {"game-client"});
  ASSERT_TRUE(plan) << plan.status().message();
  auto ok = validate_semantics(demo, &*plan);
  EXPECT_TRUE(ok.errors.empty()) << ::testing::PrintToString(ok.errors);

  auto dir =
      std::filesystem::temp_directory_path() / ("semantic_validate_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "models");
  std::ofstream(dir / "models" / "m.yaml")
      << "model: e\ntable: events\ntime: timestamp\n"
         "dimensions:\n  - {name: amount, column: p_amount}\n"
         "  - {name: nope, column: p_nope}\n"
         "measures:\n  - {name: bad, agg: sum, sql: \"p_amount +\"}\n";
  auto bad = validate_semantics(dir, &*plan);
  std::filesystem::remove_all(dir);
  EXPECT_THAT(bad.errors, Contains(HasSubstr("models/m.yaml:6: dimension 'nope': Binder Error")));
  EXPECT_THAT(bad.errors, Contains(HasSubstr("models/m.yaml:8: measure 'bad'")));
  EXPECT_EQ(bad.errors.size(), 2u) << ::testing::PrintToString(bad.errors);
}

}  // namespace
}  // namespace basalt::semantic
