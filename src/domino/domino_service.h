#pragma once
// DominoService: Domino as one object for `basalt up` and `basalt domino` — the project's DAGs
// and `domino:` settings, the metadata store (domino.store: DATA_DIR/domino.db by default, or
// PostgreSQL) and the scheduler.
//
//   auto domino = domino::DominoService::open({project_dir, data_dir, &warehouse});
//   domino.value()->start();   // scheduler thread; returns at once
//   ...
//   domino.value()->stop();    // before the warehouse is closed

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "domino/dag.h"
#include "domino/domino_config.h"
#include "domino/metadata_store.h"
#include "domino/scheduler.h"
#include "domino/task_type.h"

namespace basalt::warehouse {
class Warehouse;
}

namespace basalt::domino {

struct DominoServiceOptions {
  std::filesystem::path project_dir;
  std::filesystem::path data_dir;
  warehouse::Warehouse* warehouse = nullptr;  // borrowed; must outlive the service
  const Clock* clock = &SystemClock::instance();
};

class DominoService {
 public:
  // Reads basalt.yaml's domino: section and dags/*.yaml (DAG errors are logged and kept in
  // dag_errors(); valid DAGs still run), opens the store.
  static Result<std::unique_ptr<DominoService>> open(const DominoServiceOptions& options);
  ~DominoService();

  Status start();
  void stop();

  Scheduler& scheduler() { return *scheduler_; }
  MetadataStore& store() { return *store_; }
  const DominoConfig& config() const { return config_; }
  const std::vector<std::string>& dag_errors() const { return dag_errors_; }

  DominoService(DominoConfig config, std::unique_ptr<MetadataStore> store);  // use open()

 private:
  DominoConfig config_;
  TaskRegistry registry_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<std::string> dag_errors_;
};

// `basalt validate` for DAGs: every problem in PROJECT_DIR/dags and basalt.yaml's domino:
// section, each as "file:line: message". Empty when all is well.
std::vector<std::string> validate_dags(const std::filesystem::path& project_dir);

// DATA_DIR of a project as `basalt up` uses it: BASALT_DATA_DIR, else basalt.yaml's data_dir,
// else "data"; relative paths stay relative to the working directory.
std::filesystem::path project_data_dir(const std::filesystem::path& project_dir);

}  // namespace basalt::domino
