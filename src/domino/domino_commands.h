#pragma once
// The `basalt dag …` and `basalt domino` sub-commands (implemented in src/cli/dag_command.cc).
// Each registers its options on `root` and, when chosen, runs and stores the exit code.

#include <CLI/CLI.hpp>

namespace basalt::domino {

// basalt dag list|show|trigger|backfill|clear|mark|pause|unpause|runs|logs|why|preview|test
void add_dag_command(CLI::App& root, int& exit_code);
// basalt domino [PROJECT_DIR]: the scheduler alone, until SIGINT or SIGTERM.
void add_domino_command(CLI::App& root, int& exit_code);

}  // namespace basalt::domino
