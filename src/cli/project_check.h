#pragma once
// Checking a whole project folder, as `basalt validate`, `basalt up` and a reload do: each
// part of the project is a section (basalt.yaml, tracking/, dags/, …) that reports its errors
// as `file:line: message`, plus the breaking changes of the tracking plan against the plan
// last served from the data folder (its snapshot, see plan_snapshot_dir).
//
// A new part of the project (models/, apis/) adds one function to the sections list in
// project_check.cc.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "schema/tracking_plan.h"

namespace basalt::cli {

struct ProjectReport {
  std::optional<ProjectConfig> config;       // when basalt.yaml could be read
  std::optional<schema::TrackingPlan> plan;  // when the tracking plan is valid
  std::vector<std::string> errors;           // "file:line: message", in section order
  std::vector<std::string> breaking;         // "file:line: message" of each breaking change
  std::vector<std::string> notes;            // what was checked, for the summary

  bool ok() const { return errors.empty(); }
};

// Where the plan served at the last successful start or reload is kept: a copy of the
// project's tracking/*.yaml under DATA_DIR/tracking-plan/tracking/.
std::filesystem::path plan_snapshot_dir(const std::filesystem::path& data_dir);

// Copies the project's tracking/*.yaml files to the snapshot (replacing the previous one).
Status save_plan_snapshot(const std::filesystem::path& project_dir,
                          const std::filesystem::path& data_dir);

// Checks every section of `project_dir`. `config` is the project's configuration when the
// caller already has it (with environment and flags applied); otherwise basalt.yaml is read
// (with the environment applied). `data_dir`, when set, overrides the configuration's for
// finding the previous plan.
ProjectReport check_project(const std::filesystem::path& project_dir,
                            const std::optional<ProjectConfig>& config = std::nullopt,
                            const std::optional<std::filesystem::path>& data_dir = std::nullopt);

}  // namespace basalt::cli
