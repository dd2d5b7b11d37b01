#include "cli/node_startup.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "common/logging.h"

namespace basalt::cli {

void add_node_flags(CLI::App& cmd, NodeFlags& flags, bool api_port) {
  cmd.add_option("project", flags.project, "Project folder holding basalt.yaml")
      ->capture_default_str();
  cmd.add_option("--data", flags.data, "Data folder (overrides data_dir of basalt.yaml)");
  cmd.add_option("--ingest-port", flags.ingest_port, "Ingest port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  if (api_port) {
    cmd.add_option("--api-port", flags.api_port, "Console/API port (0: any free port)")
        ->check(CLI::Range(0, 65535));
  }
  cmd.add_option("--bind", flags.bind, "Address the servers listen on");
}

Result<ProjectConfig> resolve_node_config(const NodeFlags& flags, bool require_sources) {
  auto config = load_project_config(flags.project);
  if (!config) return config.status();
  BASALT_RETURN_IF_ERROR(
      apply_environment(*config, [](const char* n) { return std::getenv(n); }));
  if (!flags.data.empty()) config->data_dir = flags.data;
  if (flags.ingest_port >= 0) config->ingest.port = static_cast<uint16_t>(flags.ingest_port);
  if (flags.api_port >= 0) config->api.port = static_cast<uint16_t>(flags.api_port);
  if (!flags.bind.empty()) {
    config->ingest.bind = flags.bind;
    config->api.bind = flags.bind;
  }
  if (require_sources && config->sources.empty()) {
    return invalid_argument(flags.project + "/basalt.yaml: no sources: declare at least one "
                            "source with a write_key to receive events");
  }
  return config;
}

Result<ProjectConfig> start_node(const NodeFlags& flags, bool require_sources) {
  auto config = resolve_node_config(flags, require_sources);
  if (!config) return config.status();
  BASALT_RETURN_IF_ERROR(init_logging(config->log_level));
  return config;
}

int report_failure(std::string_view command, const Status& status) {
  std::cerr << "basalt " << command << ": " << status.message() << "\n";
  return exit_code_of(status.code());
}

StopSignals::StopSignals(bool reloads) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  if (reloads) sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

void StopSignals::wait(const std::function<void()>& reload) {
  int signal = 0;
  while (true) {
    sigwait(&set_, &signal);
    if (signal != SIGHUP) break;
    spdlog::info("SIGHUP received: reloading the project");
    if (reload) reload();
  }
  spdlog::info("{} received: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
}

Result<std::unique_ptr<wal::Wal>> open_node_wal(const ProjectConfig& config,
                                                MetricsRegistry& metrics) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return unavailable("cannot create the data folder " + config.data_dir.string() + ": " +
                       ec.message());
  }
  wal::WalOptions wo;
  wo.dir = config.wal_dir();
  wo.segment_bytes = config.wal.segment_bytes;
  wo.sync = config.wal.sync;
  wo.group_commit_delay = config.wal.group_commit_delay;
  wo.preallocate = config.wal.preallocate;
  wo.disk_budget_bytes = config.wal.disk_budget_bytes;
  auto wal = wal::Wal::open(wo);
  if (!wal) return wal.status();
  for (const auto& line : (*wal)->recovery().messages) spdlog::warn("WAL recovery: {}", line);
  wal::Wal& log = **wal;
  metrics.gauge_callback("basalt_wal_bytes", "Bytes of WAL segments on disk",
                         [&log] { return static_cast<double>(log.stats().bytes_on_disk); });
  metrics.gauge_callback("basalt_wal_segments", "WAL segments on disk",
                         [&log] { return static_cast<double>(log.stats().segments); });
  metrics.gauge_callback("basalt_wal_durable_lsn", "One past the last durable WAL record",
                         [&log] { return static_cast<double>(log.stats().durable_end); });
  return wal;
}

Result<std::unique_ptr<warehouse::Warehouse>> open_node_warehouse(const ProjectConfig& config) {
  warehouse::WarehouseOptions who;
  who.engine = config.warehouse.engine;
  who.path = config.warehouse_path().string();
  who.url = config.warehouse.url;
  who.database = config.warehouse.database;
  who.user = config.warehouse.user;
  who.password = config.warehouse.password;
  who.cluster = config.warehouse.cluster;
  who.memory_limit_bytes = config.warehouse.memory_limit_bytes;
  who.checkpoint_threshold_bytes = config.warehouse.checkpoint_threshold_bytes;
  if (config.query.rollups) who.rollup_timezone = config.timezone;
  auto warehouse = warehouse::make_warehouse(who);
  if (!warehouse) return warehouse.status();
  BASALT_RETURN_IF_ERROR((*warehouse)->ensure_schema());
  return warehouse;
}

std::string warehouse_description(const ProjectConfig& config) {
  if (config.warehouse.engine == "duckdb") {
    return "duckdb at " + config.warehouse_path().string();
  }
  return config.warehouse.engine + " at " + config.warehouse.url + " database " +
         config.warehouse.database;
}

void print_sinks(std::ostream& out, const stream::StreamSinks& sinks, bool say_none) {
  if (sinks.empty() && say_none) out << "  stream sinks: none\n";
  for (const auto& line : sinks.descriptions()) out << "  stream sink " << line << "\n";
}

Result<ProjectReport> check_servable_project(const std::string& project_dir,
                                             const ProjectConfig& config) {
  ProjectReport report = check_project(project_dir, config, config.data_dir);
  if (report.ok()) return report;
  for (const auto& e : report.errors) std::cerr << e << "\n";
  return invalid_argument(fmt::format(
      "the project {} has {} error{} (see above; `basalt validate` prints the same): not "
      "starting",
      project_dir, report.errors.size(), report.errors.size() == 1 ? "" : "s"));
}

Result<std::unique_ptr<CollectionPipeline>> serve_collection(const NodeFlags& flags,
                                                             const ProjectConfig& config,
                                                             const ProjectReport& report,
                                                             collect::IngestService& ingest,
                                                             warehouse::Warehouse* warehouse) {
  auto p = std::make_unique<CollectionPipeline>();
  auto transforms =
      enrich::TransformSet::load_dir((config.project_dir / config.enrich.transforms_dir).string());
  if (!transforms) return transforms.status();
  p->transforms = std::move(*transforms);
  if (config.enrich.user_agent) {
    enrich::UserAgentOptions uao;
    if (!config.enrich.uap_regexes.empty()) uao.regexes_path = config.enrich.uap_regexes;
    auto parser = enrich::UserAgentParser::load(uao);
    if (!parser) {
      return Status(parser.status().code(),
                    "user agent parsing (enrich.user_agent): " + parser.status().message() +
                        " (install uap-core or set enrich.user_agent: false)");
    }
    p->user_agents = std::move(*parser);
  }
  if (!config.enrich.geoip_database.empty()) {
    std::filesystem::path db = config.enrich.geoip_database;
    if (db.is_relative()) db = config.project_dir / db;
    auto opened = enrich::GeoIp::open(db.string());
    if (!opened) return opened.status();
    p->geo = std::move(*opened);
    spdlog::info("GeoIP: {} ({})", db.string(), p->geo.database_type());
  }
  ingest.set_enrichment({p->transforms.get(), p->user_agents.get(), &p->geo});
  p->plan = std::make_unique<PlanRuntime>(
      flags.project, config.data_dir, [flags] { return resolve_node_config(flags, true); },
      ingest, warehouse);
  p->plan->set_transforms(p->transforms.get());
  if (ReloadOutcome first = p->plan->apply(report); !first.applied) {
    for (const auto& e : first.errors) std::cerr << e << "\n";
    return invalid_argument("the tracking plan cannot be served: not starting");
  }
  return p;
}

}  // namespace basalt::cli
