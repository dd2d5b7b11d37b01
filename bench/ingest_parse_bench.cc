// What the ingest hot path costs without the network: parse, validate, enrich and encode one
// ~36 KB batch of 100 events, and one single-event body.
#include <benchmark/benchmark.h>

#include <string>

#include "collect/ingest_parser.h"

namespace {

using basalt::collect::Endpoint;

std::string one_event(int i) {
  return R"({"type":"track","userId":"user-)" + std::to_string(i) +
         R"(","anonymousId":"3f1c2a8e-5b7d-4e0a-9c61-)" + std::to_string(100000000000 + i) +
         R"(","event":"Level Completed","messageId":"msg-)" + std::to_string(i) +
         R"(","timestamp":"2024-03-01T12:34:56.789Z","properties":{"level":17,"score":123456,"duration_s":93.25,"difficulty":"hard","coins":350},"context":{"app":{"version":"5.12.0"},"library":{"name":"analytics-ios","version":"4.1.8"},"os":{"name":"iOS"}}})";
}

struct Fixture {
  basalt::collect::SourceDirectory sources{{{"app", "wk"}}};
  basalt::collect::IngestParser parser{basalt::collect::IngestLimits{}, sources};
  basalt::collect::RequestMeta meta;
  Fixture() {
    meta.received_at_us = 1'709'296'500'000'000;
    meta.ip = "203.0.113.5";
    meta.source = "app";
  }
};

void BM_Batch100(benchmark::State& state) {
  Fixture f;
  std::string body = R"({"sentAt":"2024-03-01T12:35:00Z","batch":[)";
  for (int i = 0; i < 100; ++i) {
    if (i) body.push_back(',');
    body += one_event(i);
  }
  body += "]}";
  size_t records = 0;
  for (auto _ : state) {
    std::string copy = body;
    auto r = f.parser.parse(Endpoint::kBatch, copy, f.meta);
    records += r->records.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_Batch100);

void BM_SingleTrack(benchmark::State& state) {
  Fixture f;
  std::string body = one_event(7);
  for (auto _ : state) {
    std::string copy = body;
    auto r = f.parser.parse(Endpoint::kTrack, copy, f.meta);
    benchmark::DoNotOptimize(r);
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_SingleTrack);

}  // namespace

BENCHMARK_MAIN();
