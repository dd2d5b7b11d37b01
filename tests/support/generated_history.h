#pragma once
// The game generator's history as the loading benchmarks use it (warehouse_load_bench,
// loader_bench): the generator's 100-event bodies parsed by the ingest parser, each event
// decoded with its own event time (the body's clock-skew correction would otherwise move the
// whole history to the one receipt time). Header-only; link basalt_gen and basalt_collect.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collect/ingest_parser.h"
#include "common/clock.h"
#include "common/status.h"
#include "event/event.h"
#include "gen/game_event_generator.h"

namespace basalt::testing {

constexpr int64_t kHistoryEndUs = 1795514400'000000;  // 2026-11-24T10:00:00Z

class HistoryEndClock final : public Clock {
 public:
  int64_t now_us() const override { return kHistoryEndUs; }
};

// The history of `players` over `days` ending at kHistoryEndUs, body by body: next() returns
// the events of the next body (received at kHistoryEndUs, source "game"), or an empty vector
// when the history is done.
class GeneratedHistory {
 public:
  static Result<std::unique_ptr<GeneratedHistory>> create(uint64_t players, uint32_t days) {
    gen::GenOptions go;
    go.users = players;
    go.days = days;
    go.seed = 7;
    go.end_time_us = kHistoryEndUs;
    go.batch_size = 100;
    static const HistoryEndClock clock;
    auto g = gen::GameEventGenerator::create(go, clock);
    if (!g) return g.status();
    return std::unique_ptr<GeneratedHistory>(new GeneratedHistory(std::move(*g)));
  }
  // Not movable: the parser refers to the source directory beside it.
  GeneratedHistory(const GeneratedHistory&) = delete;
  GeneratedHistory& operator=(const GeneratedHistory&) = delete;

  Result<std::vector<event::Event>> next() {
    std::vector<event::Event> out;
    auto body = generator_.next_body();
    if (!body) return out;
    auto parsed = parser_.parse(collect::Endpoint::kBatch, *body, meta_);
    if (!parsed) return parsed.status();
    for (const std::string& r : parsed->records) {
      auto e = event::decode_event(r);
      if (!e) return e.status();
      if (e->original_timestamp_us) e->timestamp_us = *e->original_timestamp_us;
      out.push_back(std::move(*e));
    }
    return out;
  }

 private:
  explicit GeneratedHistory(gen::GameEventGenerator generator)
      : generator_(std::move(generator)),
        sources_(std::vector<SourceConfig>{SourceConfig{"game", "key"}}),
        parser_(collect::IngestLimits{}, sources_) {
    meta_.ip = "203.0.113.7";
    meta_.user_agent = "basalt-gen";
    meta_.source = "game";
    meta_.received_at_us = kHistoryEndUs;
  }

  gen::GameEventGenerator generator_;
  collect::SourceDirectory sources_;
  collect::IngestParser parser_;
  collect::RequestMeta meta_;
};

}  // namespace basalt::testing
