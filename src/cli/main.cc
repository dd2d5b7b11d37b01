// basalt: the one program of the Basalt data platform.

#include <iostream>

#include "cli/commands.h"
#include "cli/version.h"
#include "domino/domino_commands.h"
#include "gen/gen_command.h"

int main(int argc, char** argv) {
  CLI::App app{std::string("Basalt ") + basalt::cli::kVersion +
               ": collect behaviour events over HTTP, store them durably, query them.",
               "basalt"};
  app.require_subcommand(1);
  app.fallthrough(false);
  int exit_code = 0;
  basalt::cli::add_up_command(app, exit_code);
  basalt::cli::add_sql_command(app, exit_code);
  basalt::cli::add_collect_command(app, exit_code);
  basalt::cli::add_load_command(app, exit_code);
  basalt::gen::add_gen_command(app, exit_code);
  basalt::domino::add_dag_command(app, exit_code);
  basalt::domino::add_domino_command(app, exit_code);
  basalt::cli::add_version_command(app, exit_code);
  basalt::cli::add_validate_command(app, exit_code);
  basalt::cli::add_keys_command(app, exit_code);
  basalt::cli::add_quarantine_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
