#include "semantic/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
