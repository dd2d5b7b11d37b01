#include "semantic_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <variant>

#include "collect/ingest_parser.h"
#include "common/clock.h"
#include "event/event.h"
#include "gen/game_event_generator.h"

namespace basalt::semantic::testing {

namespace {

class FixedClock final : public Clock {
 public:
  int64_t now_us() const override { return kEndUs; }
};

}  // namespace

std::vector<event::Event> game_events(uint64_t players, uint32_t days, uint64_t seed) {
  FixedClock clock;
  gen::GenOptions go;
  go.users = players;
  go.days = days;
  go.seed = seed;
  go.end_time_us = kEndUs;
  auto g = gen::GameEventGenerator::create(go, clock);
  EXPECT_TRUE(g) << g.status().message();
  std::vector<event::Event> out;
  if (!g) return out;
  collect::SourceDirectory sources(std::vector<SourceConfig>{SourceConfig{"game", "key"}});
  collect::IngestParser parser(collect::IngestLimits{}, sources);
  collect::RequestMeta meta;
  meta.ip = "203.0.113.7";
  meta.source = "game";
  while (auto body = g->next_body()) {
    meta.received_at_us = kEndUs;
    auto parsed = parser.parse(collect::Endpoint::kBatch, *body, meta);
    EXPECT_TRUE(parsed) << parsed.status().message();
    if (!parsed) break;
    for (const std::string& r : parsed->records) {
      auto e = event::decode_event(r);
      if (!e) continue;
      if (e->original_timestamp_us) e->timestamp_us = *e->original_timestamp_us;
      e->received_at_us = e->timestamp_us + 20000;
      out.push_back(std::move(*e));
    }
  }
  return out;
}

void load_game_events(warehouse::Warehouse& w, uint64_t players, uint32_t days) {
  std::vector<event::Event> events = game_events(players, days, 11);
  warehouse::LoadBatch batch;
  for (size_t i = 0; i < events.size(); i += 20000) {
    const size_t end = std::min(events.size(), i + 20000);
    batch.events.assign(std::make_move_iterator(events.begin() + i),
                        std::make_move_iterator(events.begin() + end));
    batch.next_lsn = end;
    Status s = w.load(batch, "warehouse");
    EXPECT_TRUE(s.is_ok()) << s.message();
  }
}

namespace {

std::unique_ptr<warehouse::Warehouse> build(uint64_t players, uint32_t days) {
  warehouse::WarehouseOptions wo;  // empty path: in memory
  auto wh = warehouse::make_warehouse(wo);
  EXPECT_TRUE(wh) << wh.status().message();
  load_game_events(**wh, players, days);
  for (const char* sql : {"ALTER TABLE events ADD COLUMN IF NOT EXISTS p_amount DOUBLE",
                          "UPDATE events SET p_amount = CAST(properties->>'amount' AS DOUBLE)",
                          "ALTER TABLE users ADD COLUMN IF NOT EXISTS a_channel VARCHAR",
                          "UPDATE users SET a_channel = traits->>'channel'"}) {
    auto r = (*wh)->query(sql, {});
    EXPECT_TRUE(r) << sql << ": " << r.status().message();
  }
  return std::move(*wh);
}

}  // namespace

warehouse::Warehouse& generated_warehouse(uint64_t players, uint32_t days) {
  static std::map<std::pair<uint64_t, uint32_t>, std::unique_ptr<warehouse::Warehouse>> cache;
  auto& slot = cache[{players, days}];
  if (!slot) slot = build(players, days);
  return *slot;
}

const ModelSet& demo_models() {
  static const ModelSet models = [] {
    auto loaded = ModelSet::load(BASALT_SOURCE_DIR "/examples/demo");
    EXPECT_TRUE(loaded.errors.empty());
    return loaded.models;
  }();
  return models;
}

double scalar(warehouse::Warehouse& w, const std::string& sql) {
  auto r = w.query(sql, {});
  EXPECT_TRUE(r) << sql << ": " << r.status().message();
  if (!r || r->rows.empty() || r->rows[0].empty()) return -1;
  const auto& v = r->rows[0][0];
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return -1;
}

void expect_golden_file(const CompiledQuery& c, const std::string& path, const std::string& name) {
  std::string params;
  for (const auto& p : c.params) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>)
            params += "NULL\n";
          else if constexpr (std::is_same_v<T, std::string>)
            params += "'" + v + "'\n";
          else
            params += std::to_string(v) + "\n";
        },
        p);
  }
  std::string got = c.sql + "\n-- params:\n" + params;
  if (std::getenv("BASALT_UPDATE_GOLDEN")) {
    std::ofstream(path) << got;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing: run with BASALT_UPDATE_GOLDEN=1";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(got, ss.str()) << name;
}

}  // namespace basalt::semantic::testing
