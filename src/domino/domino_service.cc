#include "domino/domino_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>

namespace basalt::domino {

DominoService::DominoService(DominoConfig config, std::unique_ptr<MetadataStore> store)
    : config_(std::move(config)),
      registry_(make_default_task_registry()),
      store_(std::move(store)) {}

DominoService::~DominoService() { stop(); }

Result<std::unique_ptr<DominoService>> DominoService::open(const DominoServiceOptions& options) {
  auto config = load_domino_config(options.project_dir);
  if (!config) return config.status();
  auto store = open_metadata_store(config->store, options.data_dir);
  if (!store) return store.status();
  auto service = std::make_unique<DominoService>(*config, std::move(*store));
  SchedulerOptions so;
  so.project_dir = options.project_dir;
  so.data_dir = options.data_dir;
  so.config = *config;
  so.clock = options.clock;
  so.warehouse = options.warehouse;
  so.scheduler_id = config->scheduler_id;
  service->scheduler_ = std::make_unique<Scheduler>(so, *service->store_, service->registry_);
  service->dag_errors_ = service->scheduler_->reload_dags();
  return service;
}

Status DominoService::start() { return scheduler_->start(); }

void DominoService::stop() {
  if (scheduler_) scheduler_->stop();
}

std::vector<std::string> validate_dags(const std::filesystem::path& project_dir) {
  std::vector<std::string> errors;
  auto config = load_domino_config(project_dir);
  if (!config) errors.push_back(config.status().message());
  TaskRegistry registry = make_default_task_registry();
  DagSet set = load_dags(project_dir / "dags", registry);
  errors.insert(errors.end(), set.errors.begin(), set.errors.end());
  if (config) {
    for (const auto& d : set.dags) {
      for (const auto& t : d.tasks) {
        if (config->pool_slots(t.pool) == 0) {
          errors.push_back(
              fmt::format("{}:{}: task '{}': pool '{}' is not configured (domino.pools)",
                          d.file.string(), t.line, t.id, t.pool));
        }
      }
    }
  }
  return errors;
}

std::filesystem::path project_data_dir(const std::filesystem::path& project_dir) {
  if (const char* env = std::getenv("BASALT_DATA_DIR"); env && *env) return env;
  try {
    YAML::Node root = YAML::LoadFile((project_dir / "basalt.yaml").string());
    if (root["data_dir"] && root["data_dir"].IsScalar()) return root["data_dir"].Scalar();
  } catch (const YAML::Exception&) {
    // A missing or broken basalt.yaml is reported by validate; the default applies here.
  }
  return "data";
}

}  // namespace basalt::domino
