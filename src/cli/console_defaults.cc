#include "cli/console_defaults.h"

#include <fmt/format.h>

#include <cstdlib>

namespace basalt::cli {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

Result<ProjectConfig> console_defaults(const std::string& project, std::string& api,
                                       std::string& token) {
  ProjectConfig config;
  if (auto c = load_project_config(project); c.is_ok()) config = std::move(*c);
  BASALT_RETURN_IF_ERROR(apply_environment(config, [](const char* n) { return std::getenv(n); }));
  if (api.empty()) api = env_or("BASALT_API", fmt::format("http://127.0.0.1:{}", config.api.port));
  if (token.empty()) token = env_or("BASALT_TOKEN", config.api.admin_token);
  return config;
}

}  // namespace basalt::cli
