// basalt validate [PROJECT_DIR]: checks a whole project — basalt.yaml, the tracking plan, the
// DAGs — and prints every error as `file:line: message`, then the tracking plan's breaking
// changes against the plan last served from the data folder. Exit code 2 when anything is
// wrong (breaking changes count unless --allow-breaking), 0 otherwise.

#include <iostream>

#include "cli/commands.h"
#include "cli/project_check.h"

namespace basalt::cli {

namespace {

struct ValidateOptions {
  std::string project = kDefaultProject;
  std::string data;
  bool allow_breaking = false;
};

int run_validate(const ValidateOptions& o) {
  std::optional<std::filesystem::path> data;
  if (!o.data.empty()) data = o.data;
  ProjectReport r = check_project(o.project, std::nullopt, data);
  for (const auto& e : r.errors) std::cerr << e << "\n";
  for (const auto& b : r.breaking) std::cerr << b << " (breaking change)\n";
  for (const auto& n : r.notes) std::cout << "  " << n << "\n";
  const bool breaking_fails = !r.breaking.empty() && !o.allow_breaking;
  if (!r.ok() || breaking_fails) {
    std::cerr << "basalt validate: " << o.project << ": " << r.errors.size() << " error"
              << (r.errors.size() == 1 ? "" : "s");
    if (!r.breaking.empty()) {
      std::cerr << ", " << r.breaking.size() << " breaking change"
                << (r.breaking.size() == 1 ? "" : "s")
                << (o.allow_breaking ? " (allowed)" : " (pass --allow-breaking to accept)");
    }
    std::cerr << "\n";
    return 2;
  }
  std::cout << "basalt validate: " << o.project << " is valid";
  if (!r.breaking.empty()) std::cout << " (" << r.breaking.size() << " breaking changes allowed)";
  std::cout << "\n";
  return 0;
}

}  // namespace

void add_validate_command(CLI::App& root, int& exit_code) {
  auto opts = std::make_shared<ValidateOptions>();
  CLI::App* cmd = root.add_subcommand(
      "validate",
      "Check a project (basalt.yaml, tracking/, dags/) and print every error as file:line: "
      "message, with the tracking plan's breaking changes against the plan last served. Exit "
      "code 2 when anything is wrong.");
  cmd->add_option("project", opts->project, "Project folder holding basalt.yaml")
      ->capture_default_str();
  cmd->add_option("--data", opts->data,
                  "Data folder whose served plan is the previous version (default: data_dir "
                  "of basalt.yaml)");
  cmd->add_flag("--allow-breaking", opts->allow_breaking,
                "Breaking changes are reported but do not fail the check");
  cmd->callback([opts, &exit_code] { exit_code = run_validate(*opts); });
}

}  // namespace basalt::cli
