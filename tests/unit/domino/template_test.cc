#include "domino/template.h"

#include <gtest/gtest.h>

namespace basalt::domino {
namespace {

TemplateContext sample() {
  TemplateContext c;
  c.vars = {{"ds", "2026-11-23"},
            {"ds_nodash", "20261123"},
            {"ts", "2026-11-23T02:00:00+08:00"},
            {"ts_nodash", "20261123T020000"},
            {"logical_date", "2026-11-23T02:00:00+08:00"},
            {"data_interval_start", "2026-11-23T02:00:00+08:00"},
            {"data_interval_end", "2026-11-24T02:00:00+08:00"},
            {"prev_ds", "2026-11-22"},
            {"next_ds", "2026-11-24"},
            {"run_id", "scheduled__2026-11-23T02:00:00+08:00"},
            {"dag", "daily_revenue"},
            {"task", "revenue"}};
  c.params = {{"min_amount", 5}, {"channel", "ads"}};
  return c;
}

TEST(Template, RendersEveryName) {
  auto c = sample();
  auto r = render_template(
      "{{ds}}|{{ ds_nodash }}|{{ ts }}|{{ data_interval_start }}|{{ data_interval_end }}|"
      "{{ prev_ds }}|{{ next_ds }}|{{ params.min_amount }}|{{ params.channel }}|"
      "{{ macros.ds_add(ds, -7) }}|{{ macros.ds_add('2026-12-31', 1) }}|{{ run_id }}|{{ dag }}|"
      "{{ task }}",
      c);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*r,
            "2026-11-23|20261123|2026-11-23T02:00:00+08:00|2026-11-23T02:00:00+08:00|"
            "2026-11-24T02:00:00+08:00|2026-11-22|2026-11-24|5|ads|2026-11-16|2027-01-01|"
            "scheduled__2026-11-23T02:00:00+08:00|daily_revenue|revenue");
}

TEST(Template, ChecksNamesWithTheirLine) {
  std::set<std::string> params = {"min_amount"};
  EXPECT_FALSE(check_template("SELECT {{ ds }} {{ params.min_amount }}", params).has_value());
  auto e = check_template("SELECT 1\nFROM t\nWHERE d = '{{ dss }}'", params);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->line_offset, 2);
  EXPECT_NE(e->message.find("unknown template name 'dss'"), std::string::npos);
  EXPECT_TRUE(check_template("{{ params.nope }}", params).has_value());
  EXPECT_TRUE(check_template("{{ macros.ds_sub(ds, 1) }}", params).has_value());
  EXPECT_TRUE(check_template("{{ macros.ds_add(ds, x) }}", params).has_value());
  EXPECT_TRUE(check_template("{{ ds ", params).has_value());
}

TEST(Template, RendersJsonStrings) {
  auto r = render_json(nlohmann::json{{"date", "{{ ds }}"}, {"n", 3}}, sample());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)["date"], "2026-11-23");
  EXPECT_EQ((*r)["n"], 3);
}

}  // namespace
}  // namespace basalt::domino
