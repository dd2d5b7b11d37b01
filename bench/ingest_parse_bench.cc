// What the ingest hot path costs without the network: parse, validate, enrich and encode one
// ~36 KB batch of 100 events, and one single-event body.
//
// `ingest_parse_bench --calls=N batch|single` instead parses that body N times and exits: a
// fixed amount of work for an instruction count that does not depend on the machine's load
// (valgrind --tool=callgrind; see bench/README.md).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

std::string batch_body() {
  std::string body = R"({"sentAt":"2024-03-01T12:35:00Z","batch":[)";
  for (int i = 0; i < 100; ++i) {
    if (i) body.push_back(',');
    body += one_event(i);
  }
  body += "]}";
  return body;
}

void BM_Batch100(benchmark::State& state) {
  Fixture f;
  const std::string body = batch_body();
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

// --calls=N batch|single: N parses of one body; prints the records made.
int fixed_calls(long calls, std::string_view kind) {
  Fixture f;
  const bool batch = kind == "batch";
  const std::string body = batch ? batch_body() : one_event(7);
  size_t records = 0;
  for (long i = 0; i < calls; ++i) {
    std::string copy = body;
    auto r = f.parser.parse(batch ? Endpoint::kBatch : Endpoint::kTrack, copy, f.meta);
    if (!r.is_ok()) {
      std::fprintf(stderr, "parse failed: %s\n", r.status().message().c_str());
      return 1;
    }
    records += r->records.size();
  }
  std::printf("%ld calls of the %s body (%zu bytes): %zu records\n", calls,
              batch ? "batch" : "single", body.size(), records);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strncmp(argv[1], "--calls=", 8) == 0 &&
      (std::strcmp(argv[2], "batch") == 0 || std::strcmp(argv[2], "single") == 0)) {
    return fixed_calls(std::atol(argv[1] + 8), argv[2]);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
