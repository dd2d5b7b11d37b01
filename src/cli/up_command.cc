// basalt up: the whole platform in one process — WAL, warehouse, loader, ingest and console
// servers — until SIGINT or SIGTERM, then a clean stop: stop accepting, drain in-flight
// requests, load what the WAL holds, close the WAL.

#include <signal.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/console_api.h"
#include "api/semantic_routes.h"
#include "api/tracking_api.h"
#include "api/static_files.h"
#include "cli/commands.h"
#include "cli/plan_runtime.h"
#include "cli/project_check.h"
#include "cli/version.h"
#include "collect/ingest_service.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "domino/domino_api.h"
#include "enrich/geo_ip.h"
#include "enrich/lua_transform.h"
#include "enrich/user_agent.h"
#include "domino/domino_service.h"
#include "gen/game_event_generator.h"
#include "http/blocking_pool.h"
#include "http/client.h"
#include "http/server.h"
#include "loader/loader.h"
#include "stream/stream_sinks.h"
#include "wal/wal.h"
#include "warehouse/warehouse.h"

namespace basalt::cli {

namespace {

struct UpOptions {
  std::string project = kDefaultProject;
  std::string data;
  int ingest_port = -1;
  int api_port = -1;
  std::string bind;
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

Result<ProjectConfig> resolve_config(const UpOptions& o) {
  auto config = load_project_config(o.project);
  if (!config) return config.status();
  BASALT_RETURN_IF_ERROR(
      apply_environment(*config, [](const char* n) { return std::getenv(n); }));
  if (!o.data.empty()) config->data_dir = o.data;
  if (o.ingest_port >= 0) config->ingest.port = static_cast<uint16_t>(o.ingest_port);
  if (o.api_port >= 0) config->api.port = static_cast<uint16_t>(o.api_port);
  if (!o.bind.empty()) {
    config->ingest.bind = o.bind;
    config->api.bind = o.bind;
  }
  if (config->sources.empty()) {
    return invalid_argument(o.project + "/basalt.yaml: no sources: declare at least one source "
                            "with a write_key to receive events");
  }
  return config;
}

int run_up(const UpOptions& o) {
  auto fail = [](const Status& s) {
    std::cerr << "basalt up: " << s.message() << "\n";
    return exit_code_of(s.code());
  };
  auto config = resolve_config(o);
  if (!config) return fail(config.status());
  if (Status s = init_logging(config->log_level); !s.is_ok()) return fail(s);

  // The whole project is checked as `basalt validate` does; an invalid one is not served.
  ProjectReport project = check_project(o.project, *config, config->data_dir);
  if (!project.ok()) {
    for (const auto& e : project.errors) std::cerr << e << "\n";
    std::cerr << "basalt up: the project " << o.project << " has " << project.errors.size()
              << " error" << (project.errors.size() == 1 ? "" : "s")
              << " (see above; `basalt validate` prints the same): not starting\n";
    return 2;
  }

  // Signals are taken by sigwait on this thread; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reload the project
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
  wo.preallocate = config->wal.preallocate;
  wo.disk_budget_bytes = config->wal.disk_budget_bytes;
  auto wal = wal::Wal::open(wo);
  if (!wal) return fail(wal.status());
  for (const auto& line : (*wal)->recovery().messages) spdlog::warn("WAL recovery: {}", line);

  warehouse::WarehouseOptions who;
  who.engine = config->warehouse.engine;
  who.path = config->warehouse_path().string();
  who.url = config->warehouse.url;
  who.database = config->warehouse.database;
  who.user = config->warehouse.user;
  who.password = config->warehouse.password;
  who.cluster = config->warehouse.cluster;
  auto warehouse = warehouse::make_warehouse(who);
  if (!warehouse) return fail(warehouse.status());
  if (Status s = (*warehouse)->ensure_schema(); !s.is_ok()) return fail(s);

  MetricsRegistry metrics;
  wal::Wal& log = **wal;
  metrics.gauge_callback("basalt_wal_bytes", "Bytes of WAL segments on disk",
                         [&log] { return static_cast<double>(log.stats().bytes_on_disk); });
  metrics.gauge_callback("basalt_wal_segments", "WAL segments on disk",
                         [&log] { return static_cast<double>(log.stats().segments); });
  metrics.gauge_callback("basalt_wal_durable_lsn", "One past the last durable WAL record",
                         [&log] { return static_cast<double>(log.stats().durable_end); });

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
  // Enrichment: transforms/<source>.lua, user agents, GeoIP (each optional).
  auto transforms = enrich::TransformSet::load_dir(
      (config->project_dir / config->enrich.transforms_dir).string());
  if (!transforms) return fail(transforms.status());
  std::unique_ptr<enrich::UserAgentParser> user_agents;
  if (config->enrich.user_agent) {
    enrich::UserAgentOptions uao;
    if (!config->enrich.uap_regexes.empty()) uao.regexes_path = config->enrich.uap_regexes;
    auto parser = enrich::UserAgentParser::load(uao);
    if (!parser) {
      return fail(Status(parser.status().code(),
                         "user agent parsing (enrich.user_agent): " + parser.status().message() +
                             " (install uap-core or set enrich.user_agent: false)"));
    }
    user_agents = std::move(*parser);
  }
  enrich::GeoIp geo;
  if (!config->enrich.geoip_database.empty()) {
    std::filesystem::path db = config->enrich.geoip_database;
    if (db.is_relative()) db = config->project_dir / db;
    auto opened = enrich::GeoIp::open(db.string());
    if (!opened) return fail(opened.status());
    geo = std::move(*opened);
    spdlog::info("GeoIP: {} ({})", db.string(), geo.database_type());
  }
  ingest.set_enrichment({transforms->get(), user_agents.get(), &geo});
  PlanRuntime plan_runtime(
      o.project, config->data_dir, [&o] { return resolve_config(o); }, ingest, **warehouse);
  plan_runtime.set_transforms(transforms->get());
  if (ReloadOutcome first = plan_runtime.apply(project); !first.applied) {
    for (const auto& e : first.errors) std::cerr << e << "\n";
    std::cerr << "basalt up: the tracking plan cannot be served: not starting\n";
    return 2;
  }
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
            << fmt::format("  data in {}, warehouse {} at {}\n", config->data_dir.string(),
                           config->warehouse.engine,
                           config->warehouse.engine == "duckdb"
                               ? config->warehouse_path().string()
                               : config->warehouse.url + " database " +
                                     config->warehouse.database);
  if (sink_set.empty()) std::cout << "  stream sinks: none\n";
  for (const auto& line : sink_set.descriptions()) std::cout << "  stream sink " << line << "\n";
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
  if (o.seed_demo) {
    if (std::filesystem::exists(marker)) {
      spdlog::info("demo seed: already done for {} (remove {} to seed again)",
                   config->data_dir.string(), marker.string());
    } else {
      seeder = std::make_unique<DemoSeeder>(ingest_url, config->sources.front().write_key,
                                            marker, o.seed_users, o.seed_days);
      seeder->start();
    }
  }

  int signal = 0;
  while (true) {
    sigwait(&signals, &signal);
    if (signal != SIGHUP) break;
    spdlog::info("SIGHUP received: reloading the project");
    (void)plan_runtime.reload();  // logs what it did or why it refused
  }
  spdlog::info("{} received: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
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
  cmd->add_option("project", opts->project, "Project folder holding basalt.yaml")
      ->capture_default_str();
  cmd->add_option("--data", opts->data, "Data folder (overrides data_dir of basalt.yaml)");
  cmd->add_option("--ingest-port", opts->ingest_port, "Ingest port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--api-port", opts->api_port, "Console/API port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--bind", opts->bind, "Address both servers listen on");
  cmd->add_flag("--seed-demo", opts->seed_demo,
                "The first time for this data folder, generate a game's history and ingest it");
  cmd->add_option("--seed-users", opts->seed_users, "Players in the demo history")
      ->capture_default_str();
  cmd->add_option("--seed-days", opts->seed_days, "Days of demo history")->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_up(*opts); });
}

}  // namespace basalt::cli
