// basalt collect: a collector node — ingest API, durable WAL and stream sinks, no warehouse
// and no console. Run several behind a load balancer, each with its own data folder; the
// sinks (Kafka, Redis Streams) carry the events on to loaders (`basalt load --from kafka`).

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/version.h"
#include "collect/ingest_service.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "http/server.h"
#include "stream/stream_sinks.h"
#include "wal/wal.h"

namespace basalt::cli {

namespace {

struct CollectOptions {
  std::string project = kDefaultProject;
  std::string data;
  int ingest_port = -1;
  std::string bind;
};

int run_collect(const CollectOptions& o) {
  auto fail = [](const Status& s) {
    std::cerr << "basalt collect: " << s.message() << "\n";
    return exit_code_of(s.code());
  };
  auto config = load_project_config(o.project);
  if (!config) return fail(config.status());
  if (Status s = apply_environment(*config, [](const char* n) { return std::getenv(n); });
      !s.is_ok()) {
    return fail(s);
  }
  if (!o.data.empty()) config->data_dir = o.data;
  if (o.ingest_port >= 0) config->ingest.port = static_cast<uint16_t>(o.ingest_port);
  if (!o.bind.empty()) config->ingest.bind = o.bind;
  if (config->sources.empty()) {
    return fail(invalid_argument(o.project + "/basalt.yaml: no sources: declare at least one "
                                             "source with a write_key to receive events"));
  }
  if (config->sinks.empty()) {
    return fail(invalid_argument(
        "a collector needs at least one stream sink: declare sinks: in basalt.yaml or set "
        "BASALT_KAFKA_BROKERS or BASALT_REDIS_URL (events would stay in this node's WAL)"));
  }
  if (Status s = init_logging(config->log_level); !s.is_ok()) return fail(s);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(config->data_dir, ec);
  if (ec) {
    return fail(unavailable("cannot create the data folder " + config->data_dir.string() + ": " +
                            ec.message()));
  }
  wal::WalOptions wo;
  wo.dir = config->wal_dir();
  wo.segment_bytes = config->wal.segment_bytes;
  wo.sync = config->wal.sync;
  wo.group_commit_delay = config->wal.group_commit_delay;
  wo.disk_budget_bytes = config->wal.disk_budget_bytes;
  auto wal = wal::Wal::open(wo);
  if (!wal) return fail(wal.status());
  for (const auto& line : (*wal)->recovery().messages) spdlog::warn("WAL recovery: {}", line);
  wal::Wal& log = **wal;

  MetricsRegistry metrics;
  metrics.gauge_callback("basalt_wal_bytes", "Bytes of WAL segments on disk",
                         [&log] { return static_cast<double>(log.stats().bytes_on_disk); });
  metrics.gauge_callback("basalt_wal_segments", "WAL segments on disk",
                         [&log] { return static_cast<double>(log.stats().segments); });
  metrics.gauge_callback("basalt_wal_durable_lsn", "One past the last durable WAL record",
                         [&log] { return static_cast<double>(log.stats().durable_end); });

  auto sinks = stream::StreamSinks::create(config->sinks, config->wal, log, SystemClock::instance(),
                                           metrics);
  if (!sinks) return fail(sinks.status());
  stream::StreamSinks& sink_set = **sinks;
  if (Status s = sink_set.start(); !s.is_ok()) return fail(s);

  collect::IngestService ingest(config->ingest, config->sources, log, SystemClock::instance(),
                                metrics, [] { return Status::ok(); });
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
                           config->data_dir.string());
  for (const auto& line : sink_set.descriptions()) std::cout << "  stream sink " << line << "\n";
  std::cout << "  stop with Ctrl-C\n" << std::flush;

  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("{} received: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
  server.stop();
  sink_set.stop();
  log.close();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

void add_collect_command(CLI::App& root, int& exit_code) {
  auto opts = std::make_shared<CollectOptions>();
  CLI::App* cmd = root.add_subcommand(
      "collect",
      "Run a collector node: ingest API, durable WAL and stream sinks (Kafka, Redis Streams), "
      "no warehouse and no console, until SIGINT or SIGTERM.");
  cmd->add_option("project", opts->project, "Project folder holding basalt.yaml")
      ->capture_default_str();
  cmd->add_option("--data", opts->data, "Data folder (overrides data_dir of basalt.yaml)");
  cmd->add_option("--ingest-port", opts->ingest_port, "Ingest port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--bind", opts->bind, "Address the ingest server listens on");
  cmd->callback([opts, &exit_code] { exit_code = run_collect(*opts); });
}

}  // namespace basalt::cli
