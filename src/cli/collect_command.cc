// basalt collect: a collector node — ingest API, durable WAL and stream sinks, no warehouse
// and no console. Run several behind a load balancer, each with its own data folder; the
// sinks (Kafka, Redis Streams) carry the events on to loaders (`basalt load --from kafka`).

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/node_startup.h"
#include "cli/quarantine_journal.h"
#include "cli/version.h"
#include "collect/ingest_service.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "http/server.h"
#include "stream/stream_sinks.h"

namespace basalt::cli {

namespace {

int run_collect(const NodeFlags& o) {
  auto fail = [](const Status& s) { return report_failure("collect", s); };
  auto config = start_node(o, /*require_sources=*/true);
  if (!config) return fail(config.status());
  if (config->sinks.empty()) {
    return fail(invalid_argument(
        "a collector needs at least one stream sink: declare sinks: in basalt.yaml or set "
        "BASALT_KAFKA_BROKERS or BASALT_REDIS_URL (events would stay in this node's WAL)"));
  }
  // The project is checked as by `basalt validate` and `basalt up`: a collector enforces the
  // same tracking plan and runs the same transforms and enrichment.
  auto project = check_servable_project(o.project, *config);
  if (!project) return fail(project.status());

  StopSignals signals(/*reloads=*/true);  // before any thread starts
  // The data folder is this node's while it runs (an offline quarantine replay waits for it).
  std::error_code ec;
  std::filesystem::create_directories(config->data_dir, ec);
  auto lock = DataDirLock::acquire(config->data_dir);
  if (!lock) return fail(lock.status());
  MetricsRegistry metrics;
  auto wal = open_node_wal(*config, metrics);
  if (!wal) return fail(wal.status());
  wal::Wal& log = **wal;

  // Refused events: no warehouse here, and sinks forward events only, so they go to a file.
  QuarantineJournal quarantine(log, config->data_dir / "quarantine.jsonl", metrics);
  if (Status s = quarantine.start(); !s.is_ok()) return fail(s);
  auto sinks = stream::StreamSinks::create(config->sinks, config->wal, log, SystemClock::instance(),
                                           metrics);
  if (!sinks) return fail(sinks.status());
  stream::StreamSinks& sink_set = **sinks;
  if (Status s = sink_set.start(); !s.is_ok()) return fail(s);

  collect::IngestService ingest(config->ingest, config->sources, log, SystemClock::instance(),
                                metrics, [] { return Status::ok(); });
  auto pipeline = serve_collection(o, *config, *project, ingest, /*warehouse=*/nullptr);
  if (!pipeline) return fail(pipeline.status());
  ingest.set_readiness_detail(
      [&sink_set] { return R"({"sinks":)" + sink_set.detail_json() + "}"; });
  http::Router routes;
  ingest.register_routes(routes);
  http::Server server(ingest.server_options(), std::move(routes));
  if (Status s = server.start(); !s.is_ok()) return fail(s);

  std::cout << fmt::format("basalt {} collecting for project '{}' ({})\n", kVersion, config->name,
                           std::filesystem::absolute(o.project).lexically_normal().string())
            << fmt::format("  ingest listening on http://{}:{}\n", config->ingest.bind,
                           server.port())
            << fmt::format("  data in {}, warehouse: none (collector node)\n",
                           config->data_dir.string())
            << fmt::format("  refused events kept in {}\n", quarantine.path().string());
  print_sinks(std::cout, sink_set, /*say_none=*/false);
  std::cout << "  stop with Ctrl-C\n" << std::flush;

  // SIGHUP: the project is reloaded and the quarantine file reopened (log rotation).
  signals.wait([&pipeline, &quarantine] {
    (void)(*pipeline)->plan->reload();
    quarantine.reopen();
  });
  // Stop accepting and drain requests; then write out what the WAL holds; then close it.
  server.stop();
  quarantine.stop();
  sink_set.stop();
  log.close();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

void add_collect_command(CLI::App& root, int& exit_code) {
  auto opts = std::make_shared<NodeFlags>(NodeFlags::for_project(kDefaultProject));
  CLI::App* cmd = root.add_subcommand(
      "collect",
      "Run a collector node: ingest API, durable WAL and stream sinks (Kafka, Redis Streams), "
      "no warehouse and no console, enforcing the tracking plan with transforms and enrichment "
      "as `basalt up` does, until SIGINT or SIGTERM (SIGHUP reloads the project).");
  add_node_flags(*cmd, *opts, /*api_port=*/false);
  cmd->callback([opts, &exit_code] { exit_code = run_collect(*opts); });
}

}  // namespace basalt::cli
