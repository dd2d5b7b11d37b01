#pragma once
// Domino's settings: the `domino:` section of basalt.yaml.
//
//   domino:
//     parallelism: 32            # processes and SQL/HTTP tasks running at once
//     pools: {default: 128, hive: 4}
//     log_max_bytes: 10MB        # per attempt; output past it is dropped with a note
//     kill_grace: 5s             # SIGTERM → SIGKILL of a timed-out task's process group
//     store: postgres://user@host/db   # metadata store; default DATA_DIR/domino.db (SQLite)
//     scheduler_id: node-1       # name in run leases when schedulers share a store (host name)
//     connections: {reporting: postgres://etl@db/reporting}   # engine: postgres:reporting
//     tools:                     # command templates; never hard-coded in task types
//       shell: /bin/sh
//       php: php
//       java: java
//       python: python3
//       hive: beeline -u jdbc:hive2://localhost:10000
//       hadoop: hadoop
//       spark: spark-submit

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "common/status.h"

namespace basalt::domino {

struct DominoConfig {
  int parallelism = 32;
  std::map<std::string, int> pools = {{"default", 128}};
  uint64_t log_max_bytes = 10ull << 20;
  std::chrono::milliseconds kill_grace{5000};
  std::chrono::milliseconds tick_interval{200};
  std::string store;         // "" (SQLite in the data dir), postgres://…, or sqlite:PATH
  std::string scheduler_id;  // "" → the host name
  // Named connection strings for sql/check engines (postgres:NAME).
  std::map<std::string, std::string> connections;
  std::map<std::string, std::string> tools = {
      {"shell", "/bin/sh"}, {"php", "php"},       {"java", "java"},         {"python", "python3"},
      {"hive", "beeline"},  {"hadoop", "hadoop"}, {"spark", "spark-submit"}};

  // The command for `tool`; REQUIRES: a known tool name.
  const std::string& tool(const std::string& name) const { return tools.at(name); }
  int pool_slots(const std::string& pool) const;
};

// Reads the `domino:` section of PROJECT_DIR/basalt.yaml (defaults when absent);
// BASALT_DOMINO_STORE overrides domino.store.
Result<DominoConfig> load_domino_config(const std::filesystem::path& project_dir);

}  // namespace basalt::domino
