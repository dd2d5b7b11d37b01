// basalt up: the whole platform in one process — WAL, warehouse, loader, ingest and console
// servers — until SIGINT or SIGTERM, then a clean stop: stop accepting, drain in-flight
// requests, load what the WAL holds, close the WAL.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/console_api.h"
#include "api/semantic_routes.h"
#include "api/tracking_api.h"
#include "api/static_files.h"
#include "cli/commands.h"
#include "cli/node_startup.h"
#include "cli/version.h"
#include "collect/ingest_service.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "domino/domino_api.h"
#include "domino/domino_service.h"
#include "gen/game_event_generator.h"
#include "http/blocking_pool.h"
#include "http/client.h"
#include "http/server.h"
#include "loader/loader.h"
#include "stream/stream_sinks.h"

namespace basalt::cli {

namespace {

struct UpOptions {
  NodeFlags node = NodeFlags::for_project(kDefaultProject);
  bool seed_demo = false;
  uint64_t seed_users = 3000;
  uint32_t seed_days = 30;
};

// The demo history: generated game events posted to our own ingest port, as an SDK would,
// once per data folder (a marker file records that it was done).
class DemoSeeder {
 public:
  DemoSeeder(std::string ingest_url, std::string write_key, std::filesystem::path marker,
             uint64_t users, uint32_t days)
      : url_(std::move(ingest_url)),
        write_key_(std::move(write_key)),
        marker_(std::move(marker)),
        users_(users),
        days_(days) {}
  ~DemoSeeder() { stop(); }

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    gen::GenOptions o;
    o.users = users_;
    o.days = days_;
    o.seed = 1;
    auto generator = gen::GameEventGenerator::create(o, SystemClock::instance());
    if (!generator) {
      spdlog::error("demo seed: {}", generator.status().message());
      return;
    }
    auto client = http::Client::connect_to(url_, std::chrono::seconds(30));
    if (!client) {
      spdlog::error("demo seed: {}", client.status().message());
      return;
    }
    spdlog::info("demo seed: generating {} days of a game with {} players", days_, users_);
    std::string auth = http::basic_authorization(write_key_);
    while (!stop_) {
      auto body = generator->next_body();
      if (!body) break;
      http::ClientRequest req{"POST", "/v1/batch", {{"Authorization", auth}}, std::move(*body)};
      auto r = (*client)->send(req);
      if (!r || r->status != 200) {
        spdlog::error("demo seed stopped: {}",
                      r ? fmt::format("HTTP {}: {}", r->status, r->body) : r.status().message());
        return;
      }
    }
    if (stop_) {
      spdlog::info("demo seed interrupted; it starts again with the next `basalt up --seed-demo`");
      return;
    }
    std::ofstream(marker_) << generator->summary() << "\n";
    spdlog::info("demo seed done: {}", generator->summary());
  }

  std::string url_;
  std::string write_key_;
  std::filesystem::path marker_;
  uint64_t users_;
  uint32_t days_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int run_up(const UpOptions& options) {
  const NodeFlags& o = options.node;
  auto fail = [](const Status& s) { return report_failure("up", s); };
  auto config = start_node(o, /*require_sources=*/true);
  if (!config) return fail(config.status());
  // The whole project is checked as `basalt validate` does; an invalid one is not served.
  auto project = check_servable_project(o.project, *config);
  if (!project) return fail(project.status());

  StopSignals signals(/*reloads=*/true);  // before any thread starts
  MetricsRegistry metrics;
  auto wal = open_node_wal(*config, metrics);
  if (!wal) return fail(wal.status());
  wal::Wal& log = **wal;
  auto warehouse = open_node_warehouse(*config);
  if (!warehouse) return fail(warehouse.status());

  loader::LoaderOptions lo;
  lo.batch_events = config->loader.batch_events;
  lo.batch_interval = config->loader.batch_interval;
  lo.dedup_window = config->loader.dedup_window;
  lo.dedup_max_ids = config->loader.dedup_max_ids;
  lo.thread_nice = config->loader.thread_nice;
  lo.idle_io = config->loader.idle_io;
  loader::Loader loader(log, **warehouse, lo, SystemClock::instance(), metrics);
  if (Status s = loader.start(); !s.is_ok()) return fail(s);
  // Stream sinks: each its own WAL consumer and thread, never in the way of ingestion.
  auto sinks = stream::StreamSinks::create(config->sinks, config->wal, log,
                                           SystemClock::instance(), metrics);
  if (!sinks) return fail(sinks.status());
  if (Status s = (*sinks)->start(); !s.is_ok()) return fail(s);

  auto readiness = [&loader]() -> Status {
    if (loader.stuck()) {
      return unavailable("the warehouse loader is stuck: no batch committed for 30 s");
    }
    return Status::ok();
  };
  collect::IngestService ingest(config->ingest, config->sources, log, SystemClock::instance(),
                                metrics, readiness);
  // Transforms, user agents, GeoIP and the tracking plan (with its typed columns).
  auto pipeline = serve_collection(o, *config, *project, ingest, warehouse->get());
  if (!pipeline) return fail(pipeline.status());
  PlanRuntime& plan_runtime = *(*pipeline)->plan;
  stream::StreamSinks& sink_set = **sinks;
  if (!sink_set.empty()) {
    ingest.set_readiness_detail(
        [&sink_set] { return R"({"sinks":)" + sink_set.detail_json() + "}"; });
  }
  http::Router ingest_routes;
  ingest.register_routes(ingest_routes);
  http::Server ingest_server(ingest.server_options(), std::move(ingest_routes));

  http::BlockingPool pool(2);
  api::ConsoleApi console(config->api, **warehouse, log, pool, [&loader] {
    loader::LoaderStats s = loader.stats();
    return nlohmann::json{{"loader",
                           {{"events", s.events},
                            {"quarantined", s.quarantined},
                            {"duplicates", s.duplicates},
                            {"batches", s.batches},
                            {"errors", s.errors},
                            {"position", s.position},
                            {"lag_events", s.lag_events},
                            {"lag_seconds", s.lag_seconds},
                            {"stuck", loader.stuck()}}}};
  });
  // Domino, the scheduler, runs in the same process on the same warehouse.
  domino::DominoServiceOptions dso;
  dso.project_dir = config->project_dir;
  dso.data_dir = config->data_dir;
  dso.warehouse = warehouse->get();
  auto scheduler = domino::DominoService::open(dso);
  if (!scheduler) return fail(scheduler.status());
  for (const auto& e : (*scheduler)->dag_errors()) spdlog::error("{}", e);
  domino::DominoApi domino_api(**scheduler,
                               [&console](const http::Request& r) { return console.authorize(r); });

  http::Router console_routes;
  console.register_routes(console_routes);
  console_routes.add("POST", "/api/v1/admin/reload",
                     [&console, &plan_runtime](const http::Request& r) {
                       if (Status s = console.authorize(r); !s.is_ok())
                         return http::Response::error(401, s.message());
                       ReloadOutcome out = plan_runtime.reload();
                       nlohmann::json body{{"success", out.applied},
                                           {"errors", out.errors},
                                           {"breaking_changes", out.breaking},
                                           {"warnings", out.warnings}};
                       if (out.applied) {
                         body["plan"] = out.summary;
                       } else {
                         body["error"] = "the project has errors: the running tracking plan stays";
                       }
                       return http::Response::json(out.applied ? 200 : 422, body.dump());
                     });
  api::TrackingApiHooks tracking_hooks;
  tracking_hooks.authorize = [&console](const http::Request& r) { return console.authorize(r); };
  tracking_hooks.plan = [&plan_runtime] { return plan_runtime.plan(); };
  tracking_hooks.resubmit = [&ingest](const api::QuarantineRow& q) -> Result<api::ReplayResult> {
    auto r = ingest.resubmit(q.source, q.received_at_us, q.raw, q.call_type, "", q.quarantine_id);
    if (!r) return r.status();
    return api::ReplayResult{r->accepted, r->events, r->reason};
  };
  tracking_hooks.engine = config->warehouse.engine;
  api::TrackingApi tracking_api(**warehouse, pool, SystemClock::instance(), tracking_hooks);
  tracking_api.register_routes(console_routes);
  domino_api.register_routes(console_routes);
  // API routes with {parameters} before the console's catch-all "/*".
  auto semantic = api::SemanticRoutes::open(*config, **warehouse, loader, pool, metrics);
  if (!semantic) return fail(semantic.status());
  (*semantic)->register_routes(console_routes);
  console.use_access_control(&(*semantic)->access());  // API keys on the console's own routes
  auto console_ui = api::register_console_ui(console_routes, api::default_ui_dir());
  http::Server console_server(console.server_options(), std::move(console_routes));

  if (Status s = (*scheduler)->start(); !s.is_ok()) return fail(s);
  if (Status s = ingest_server.start(); !s.is_ok()) return fail(s);
  if (Status s = console_server.start(); !s.is_ok()) return fail(s);

  std::string ingest_url =
      fmt::format("http://{}:{}", config->ingest.bind, ingest_server.port());
  std::string console_url =
      fmt::format("http://{}:{}", config->api.bind, console_server.port());
  std::cout << fmt::format("basalt {} serving project '{}' ({})\n", kVersion, config->name,
                           std::filesystem::absolute(o.project).lexically_normal().string())
            << fmt::format("  ingest listening on {}\n", ingest_url)
            << fmt::format("  console listening on {}\n", console_url)
            << fmt::format("  data in {}, warehouse {}\n", config->data_dir.string(),
                           warehouse_description(*config));
  print_sinks(std::cout, sink_set, /*say_none=*/true);
  if (config->demo) {
    std::cout << "  demo credentials (public, for the demo only):\n";
    for (const auto& s : config->sources) {
      std::cout << fmt::format("    write key of source '{}': {}\n", s.name, s.write_key);
    }
    std::cout << fmt::format("    admin token: {}\n", config->api.admin_token);
    std::cout << fmt::format(
        "  try: curl -u {}: {}/v1/track -d '{{\"userId\":\"u1\",\"event\":\"login\"}}'\n",
        config->sources.front().write_key, ingest_url);
  }
  std::cout << "  stop with Ctrl-C\n" << std::flush;

  std::unique_ptr<DemoSeeder> seeder;
  std::filesystem::path marker = config->data_dir / "demo-seeded";
  if (options.seed_demo) {
    if (std::filesystem::exists(marker)) {
      spdlog::info("demo seed: already done for {} (remove {} to seed again)",
                   config->data_dir.string(), marker.string());
    } else {
      seeder = std::make_unique<DemoSeeder>(ingest_url, config->sources.front().write_key,
                                            marker, options.seed_users, options.seed_days);
      seeder->start();
    }
  }

  // A reload logs what it did or why it refused.
  signals.wait([&plan_runtime] { (void)plan_runtime.reload(); });
  // Stop accepting and drain requests; then the scheduler; then deliver and load what the WAL
  // holds; then close it.
  if (seeder) seeder->stop();
  ingest_server.stop();
  console_server.stop();
  (*scheduler)->stop();
  sink_set.stop();
  loader.stop();
  log.close();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

void add_up_command(CLI::App& root, int& exit_code) {
  auto opts = std::make_shared<UpOptions>();
  CLI::App* cmd = root.add_subcommand(
      "up",
      "Serve a project: ingest API, durable WAL, warehouse loader and console API in one "
      "process, until SIGINT or SIGTERM.");
  add_node_flags(*cmd, opts->node, /*api_port=*/true);
  cmd->add_flag("--seed-demo", opts->seed_demo,
                "The first time for this data folder, generate a game's history and ingest it");
  cmd->add_option("--seed-users", opts->seed_users, "Players in the demo history")
      ->capture_default_str();
  cmd->add_option("--seed-days", opts->seed_days, "Days of demo history")->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_up(*opts); });
}

}  // namespace basalt::cli
