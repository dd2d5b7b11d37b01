#include "cli/plan_runtime.h"

#include <spdlog/spdlog.h>

namespace basalt::cli {

PlanRuntime::PlanRuntime(std::filesystem::path project_dir, std::filesystem::path data_dir,
                         std::function<Result<ProjectConfig>()> load_config,
                         collect::IngestService& ingest, warehouse::Warehouse* warehouse)
    : project_dir_(std::move(project_dir)),
      data_dir_(std::move(data_dir)),
      load_config_(std::move(load_config)),
      ingest_(ingest),
      warehouse_(warehouse) {}

ReloadOutcome PlanRuntime::apply(const ProjectReport& report) {
  std::lock_guard lock(reload_mu_);
  return apply_locked(report);
}

ReloadOutcome PlanRuntime::reload() {
  std::lock_guard lock(reload_mu_);
  ReloadOutcome out;
  auto config = load_config_();
  if (!config) {
    out.errors.push_back(config.status().message());
  } else {
    ProjectReport report = check_project(project_dir_, *config, data_dir_);
    if (report.ok() && transforms_) {
      // Checked by check_project already; a failure here is a race with an edit.
      if (Status s = transforms_->reload(); !s.is_ok()) report.errors.push_back(s.message());
    }
    if (report.ok()) return apply_locked(report);
    out.errors = std::move(report.errors);
  }
  for (const auto& e : out.errors) spdlog::error("reload refused: {}", e);
  spdlog::error("reload refused: the project has {} errors; the running tracking plan stays",
                out.errors.size());
  return out;
}

ReloadOutcome PlanRuntime::apply_locked(const ProjectReport& report) {
  ReloadOutcome out;
  if (!report.ok() || !report.plan) {
    out.errors = report.errors;
    if (out.errors.empty()) out.errors.push_back("the project has no valid tracking plan");
    return out;
  }
  auto plan = std::make_shared<const schema::TrackingPlan>(*report.plan);
  // Columns first, so the loader can store the new properties before ingest accepts them.
  if (warehouse_) {
    auto messages = warehouse_->apply_plan_columns(warehouse::plan_columns(*plan));
    if (!messages) {
      out.errors.push_back("the warehouse's typed columns cannot be added: " +
                           messages.status().message());
      return out;
    }
    out.warnings = std::move(*messages);
  }
  // A project without a tracking plan checks nothing (rather than warning about every event
  // in the default lenient mode).
  const bool empty =
      plan->events.empty() && plan->properties.empty() && plan->attributes.empty() &&
      plan->sources.empty();
  ingest_.set_plan(empty ? nullptr : std::make_shared<const schema::CompiledPlan>(*plan));
  out.breaking = report.breaking;
  out.applied = true;
  out.summary = std::to_string(plan->events.size()) + " events, " +
                std::to_string(plan->properties.size()) + " properties, " +
                std::to_string(plan->attributes.size()) + " user attributes";
  {
    std::lock_guard lock(mu_);
    plan_ = std::move(plan);
  }
  for (const auto& b : out.breaking) spdlog::warn("tracking plan: breaking change: {}", b);
  for (const auto& w : out.warnings) spdlog::warn("tracking plan: {}", w);
  if (Status s = save_plan_snapshot(project_dir_, data_dir_); !s.is_ok()) {
    out.warnings.push_back("the plan snapshot was not saved: " + s.message());
    spdlog::warn("tracking plan: the snapshot was not saved: {}", s.message());
  }
  spdlog::info("tracking plan: serving {}", out.summary);
  return out;
}

std::shared_ptr<const schema::TrackingPlan> PlanRuntime::plan() const {
  std::lock_guard lock(mu_);
  return plan_;
}

}  // namespace basalt::cli
