#include "cli/project_check.h"

#include <cstdlib>
#include <functional>
#include <sstream>

#include "common/project_files.h"
#include "domino/dag.h"
#include "domino/task_type.h"
#include "enrich/lua_transform.h"
#include "schema/breaking_changes.h"
#include "semantic/project_semantics.h"

namespace basalt::cli {

namespace {

namespace fs = std::filesystem;

// Splits a multi-line error message (one `file:line: message` per line) into `out`.
void add_lines(const std::string& message, std::vector<std::string>& out) {
  std::istringstream in(message);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
}

std::vector<std::string> source_names(const ProjectReport& r) {
  std::vector<std::string> names;
  if (r.config) {
    for (const auto& s : r.config->sources) names.push_back(s.name);
  }
  return names;
}

void check_tracking(const fs::path& project, const std::optional<fs::path>& data_dir,
                    ProjectReport& r) {
  if (!r.config) return;  // sources are unknown: the plan's enforcement cannot be checked
  auto plan = schema::load_tracking_plan(project, source_names(r));
  if (!plan) {
    add_lines(plan.status().message(), r.errors);
    return;
  }
  r.notes.push_back(std::to_string(plan->events.size()) + " events, " +
                    std::to_string(plan->properties.size()) + " properties, " +
                    std::to_string(plan->attributes.size()) + " user attributes");
  // Breaking changes against the plan last served from this data folder.
  const fs::path data = data_dir ? *data_dir : r.config->data_dir;
  const fs::path snapshot = plan_snapshot_dir(data);
  std::error_code ec;
  if (fs::exists(snapshot / "tracking", ec)) {
    auto before = schema::load_tracking_plan(snapshot, source_names(r));
    if (before) {
      for (const auto& change : schema::find_breaking_changes(*before, *plan))
        r.breaking.push_back(change.to_string());
      r.notes.push_back("compared with the plan last served from " + data.string());
    } else {
      // E.g. it names a source basalt.yaml no longer has.
      r.notes.push_back("the plan last served (" + snapshot.string() +
                        ") could not be read: no breaking-change check");
    }
  } else {
    r.notes.push_back("no plan served yet from " + data.string() + ": no breaking-change check");
  }
  r.plan = std::move(*plan);
}

void check_dags(const fs::path& project, const std::optional<fs::path>&, ProjectReport& r) {
  std::error_code ec;
  if (!fs::exists(project / "dags", ec)) return;
  domino::TaskRegistry registry = domino::make_default_task_registry();
  domino::DagSet set = domino::load_dags(project / "dags", registry);
  for (const auto& e : set.errors) r.errors.push_back(e);
  r.notes.push_back(std::to_string(set.dags.size()) + " DAGs");
}

// models/ and apis/: file errors, and their SQL against the plan's warehouse schema.
void check_semantics(const fs::path& project, const std::optional<fs::path>&, ProjectReport& r) {
  semantic::SemanticReport s = semantic::validate_semantics(
      project, r.plan ? &*r.plan : nullptr, r.config ? r.config->warehouse.engine : "duckdb");
  for (auto& e : s.errors) r.errors.push_back(std::move(e));
  for (auto& n : s.notes) r.notes.push_back(std::move(n));
}

void check_transforms(const fs::path& project, const std::optional<fs::path>&, ProjectReport& r) {
  const std::string dir = r.config ? r.config->enrich.transforms_dir : "transforms";
  std::error_code ec;
  if (!fs::exists(project / dir, ec)) return;
  auto set = enrich::TransformSet::load_dir((project / dir).string());
  if (!set) {
    add_lines(set.status().message(), r.errors);
    return;
  }
  r.notes.push_back(std::to_string((*set)->sources().size()) + " Lua transforms");
  if (r.config) {
    for (const auto& source : (*set)->sources()) {
      bool known = false;
      for (const auto& s : r.config->sources) known |= s.name == source;
      if (!known) {
        r.errors.push_back((fs::path(dir) / (source + ".lua")).string() +
                           ":1: no source named \"" + source + "\" in basalt.yaml");
      }
    }
  }
}

using Section =
    std::function<void(const fs::path&, const std::optional<fs::path>&, ProjectReport&)>;

// The parts of a project after basalt.yaml, in the order they are checked and reported.
const std::vector<Section>& sections() {
  static const std::vector<Section> kSections = {check_tracking, check_transforms, check_dags,
                                                  check_semantics};
  return kSections;
}

}  // namespace

fs::path plan_snapshot_dir(const fs::path& data_dir) { return data_dir / "tracking-plan"; }

Status save_plan_snapshot(const fs::path& project_dir, const fs::path& data_dir) {
  const fs::path target = plan_snapshot_dir(data_dir) / "tracking";
  const fs::path staging = plan_snapshot_dir(data_dir) / "tracking.new";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return unavailable("cannot create " + staging.string() + ": " + ec.message());
  auto files = yaml_files(project_dir / "tracking", ec);
  if (ec)
    return unavailable("cannot list " + (project_dir / "tracking").string() + ": " + ec.message());
  for (const fs::path& f : files) {
    fs::copy_file(f, staging / f.filename(), fs::copy_options::overwrite_existing, ec);
    if (ec) return unavailable("cannot copy " + f.string() + ": " + ec.message());
  }
  fs::remove_all(target, ec);
  fs::rename(staging, target, ec);
  if (ec) return unavailable("cannot replace " + target.string() + ": " + ec.message());
  return Status::ok();
}

ProjectReport check_project(const fs::path& project_dir, const std::optional<ProjectConfig>& config,
                            const std::optional<fs::path>& data_dir) {
  ProjectReport r;
  if (config) {
    r.config = *config;
  } else {
    auto loaded = load_project_config(project_dir);
    if (loaded) {
      Status env = apply_environment(*loaded, [](const char* n) { return std::getenv(n); });
      if (env.is_ok()) {
        r.config = std::move(*loaded);
      } else {
        add_lines(env.message(), r.errors);
      }
    } else {
      add_lines(loaded.status().message(), r.errors);
    }
  }
  if (r.config && r.config->sources.empty()) {
    r.errors.push_back((project_dir / "basalt.yaml").string() +
                       ":1: no sources: declare at least one source with a write_key to "
                       "receive events");
  }
  for (const Section& section : sections()) section(project_dir, data_dir, r);
  return r;
}

}  // namespace basalt::cli
