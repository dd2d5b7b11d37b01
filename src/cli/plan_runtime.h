#pragma once
// The tracking plan a running `basalt up` or `basalt collect` serves, and its hot reload: a reload re-reads and
// checks the whole project (as `basalt validate`); a project with errors is refused with them
// and the running plan (and transforms) stay. An accepted reload also re-reads the Lua
// transforms. An accepted plan is compiled once, its typed columns are added
// to the warehouse (when the node has one), ingest enforces it from the next request on, and it is saved as the data
// folder's plan snapshot (the "previous plan" of breaking-change checks).
//
// Thread safety: every member may be called from any thread; reloads are serialised.

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/project_check.h"
#include "collect/ingest_service.h"
#include "enrich/lua_transform.h"
#include "schema/compiled_plan.h"
#include "warehouse/warehouse.h"

namespace basalt::cli {

struct ReloadOutcome {
  bool applied = false;
  std::vector<std::string> errors;    // why it was refused ("file:line: message")
  std::vector<std::string> breaking;  // breaking changes of an applied plan
  std::vector<std::string> warnings;  // e.g. typed columns whose stored type differs
  std::string summary;                // "12 events, 30 properties, 3 user attributes"
};

class PlanRuntime {
 public:
  // `load_config` reads the project's configuration as the node did (file, environment,
  // flags). `warehouse` is null on a collector node (no typed columns to add).
  PlanRuntime(std::filesystem::path project_dir, std::filesystem::path data_dir,
              std::function<Result<ProjectConfig>()> load_config, collect::IngestService& ingest,
              warehouse::Warehouse* warehouse);

  // Transforms reloaded with the plan (optional; borrowed).
  void set_transforms(enrich::TransformSet* transforms) { transforms_ = transforms; }

  // Serves the plan of a checked project (`report.ok()`, its plan set).
  ReloadOutcome apply(const ProjectReport& report);
  // Re-reads the project and applies its plan if it has no errors.
  ReloadOutcome reload();

  // The plan being served (null before the first apply).
  std::shared_ptr<const schema::TrackingPlan> plan() const;

 private:
  ReloadOutcome apply_locked(const ProjectReport& report);

  const std::filesystem::path project_dir_;
  const std::filesystem::path data_dir_;
  std::function<Result<ProjectConfig>()> load_config_;
  collect::IngestService& ingest_;
  warehouse::Warehouse* const warehouse_;  // null: none
  enrich::TransformSet* transforms_ = nullptr;
  std::mutex reload_mu_;  // serialises apply/reload
  mutable std::mutex mu_;
  std::shared_ptr<const schema::TrackingPlan> plan_;  // protected by mu_
};

}  // namespace basalt::cli
