#pragma once
// The `basalt` sub-commands. Each add_*_command registers its options on `root` and, when the
// sub-command is chosen, runs it and stores the process exit code in `exit_code`.

#include <CLI/CLI.hpp>

namespace basalt::cli {

void add_up_command(CLI::App& root, int& exit_code);
void add_sql_command(CLI::App& root, int& exit_code);
void add_version_command(CLI::App& root, int& exit_code);
void add_keys_command(CLI::App& root, int& exit_code);
void add_collect_command(CLI::App& root, int& exit_code);
void add_validate_command(CLI::App& root, int& exit_code);
void add_load_command(CLI::App& root, int& exit_code);
void add_quarantine_command(CLI::App& root, int& exit_code);

// The project folder served when none is given.
inline constexpr const char* kDefaultProject = "examples/demo";

}  // namespace basalt::cli
