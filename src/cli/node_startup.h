#pragma once
// Start-up and stop shared by the node commands `basalt up`, `basalt collect` and `basalt load`:
// the project's configuration (basalt.yaml, then the environment, then the flags), logging, the
// signals the main thread waits for, the data folder and its WAL, the warehouse, the request
// pipeline of collection (the project check, enrichment stages and the tracking plan with its
// hot reload) and the start-up lines naming the warehouse and stream sinks.
//
// Every node stops in the same order: its servers first (stop accepting, drain the requests in
// flight), then whatever else appends to the WAL (the scheduler), then the WAL's consumers (the
// quarantine journal, stream sinks, the loader: each delivers what is durable), then the WAL.
//
// Every function is called from the main thread during start-up.

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include <signal.h>

#include <CLI/CLI.hpp>

#include "cli/plan_runtime.h"
#include "cli/project_check.h"
#include "collect/ingest_parser.h"
#include "collect/ingest_service.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "enrich/geo_ip.h"
#include "enrich/lua_transform.h"
#include "enrich/user_agent.h"
#include "stream/stream_sinks.h"
#include "wal/wal.h"
#include "warehouse/warehouse.h"

namespace basalt::cli {

// The flags every node command shares (negative port, empty string: not given).
struct NodeFlags {
  std::string project;
  std::string data;
  int ingest_port = -1;
  int api_port = -1;
  std::string bind;  // both servers' address

  static NodeFlags for_project(std::string project) {
    NodeFlags f;
    f.project = std::move(project);
    return f;
  }
};

// Registers the positional project folder and --data, --ingest-port, --bind (and, with
// `api_port`, --api-port) on `cmd`, stored into `flags`, which must outlive parsing.
void add_node_flags(CLI::App& cmd, NodeFlags& flags, bool api_port);

// basalt.yaml of `flags.project`, the environment over it, the flags over both. With
// `require_sources`, a project without sources is refused (a node that ingests needs one).
// (Also what a reload re-reads.)
Result<ProjectConfig> resolve_node_config(const NodeFlags& flags, bool require_sources);
// resolve_node_config, then the process's logging set up at the configured level.
Result<ProjectConfig> start_node(const NodeFlags& flags, bool require_sources);

// Prints "basalt <command>: <message>" on stderr; returns the exit code of the status.
int report_failure(std::string_view command, const Status& status);

// Blocks SIGINT and SIGTERM (and SIGHUP, when `reloads`) in the calling thread, so that every
// thread started after it inherits the mask and only wait() takes them. Construct it before
// starting any thread.
class StopSignals {
 public:
  explicit StopSignals(bool reloads);
  // Waits for SIGINT or SIGTERM and logs it; each SIGHUP meanwhile calls `reload`.
  void wait(const std::function<void()>& reload = {});

 private:
  sigset_t set_;
};

// Creates the data folder, opens (and recovers) the WAL with the project's options, logs what
// recovery found and registers the basalt_wal_* gauges on `metrics`, which must outlive it.
Result<std::unique_ptr<wal::Wal>> open_node_wal(const ProjectConfig& config,
                                                MetricsRegistry& metrics);

// The project's warehouse with its schema ensured.
Result<std::unique_ptr<warehouse::Warehouse>> open_node_warehouse(const ProjectConfig& config);
// "duckdb at data/warehouse.duckdb" or "clickhouse at http://…:8123 database basalt".
std::string warehouse_description(const ProjectConfig& config);
// One "  stream sink <name>: <description>" line per sink ("  stream sinks: none" when
// `say_none` and there is none).
void print_sinks(std::ostream& out, const stream::StreamSinks& sinks, bool say_none);

// Checks the project as `basalt validate` does. When it has errors they are printed on stderr,
// one a line, and a kInvalidArgument status says the node does not start.
Result<ProjectReport> check_servable_project(const std::string& project_dir,
                                             const ProjectConfig& config);

// What collection runs on each event besides parsing (transforms, user agents, GeoIP) and the
// tracking plan it enforces, set on an IngestService by serve_collection, which borrows them.
struct CollectionPipeline {
  std::unique_ptr<enrich::TransformSet> transforms;
  std::unique_ptr<enrich::UserAgentParser> user_agents;  // null: enrich.user_agent is off
  enrich::GeoIp geo;                                      // disabled: no database configured
  std::unique_ptr<PlanRuntime> plan;
};

// Loads the enrichment stages configured in `config` (transforms/<source>.lua, the user agent
// regexes, the GeoIP database) onto `ingest` and serves `report`'s plan through a PlanRuntime
// (reloads re-read the configuration as `flags` say). `warehouse` receives the typed columns
// of each plan served; null on a collector node, which has none. The result must outlive
// `ingest`'s serving.
Result<std::unique_ptr<CollectionPipeline>> serve_collection(const NodeFlags& flags,
                                                             const ProjectConfig& config,
                                                             const ProjectReport& report,
                                                             collect::IngestService& ingest,
                                                             warehouse::Warehouse* warehouse);

}  // namespace basalt::cli
