// basalt-gen: the `basalt gen` command on its own, for load generation on machines that do not
// run Basalt. Same options as `basalt gen`.
#include <CLI/CLI.hpp>

#include "gen/gen_command.h"

int main(int argc, char** argv) {
  CLI::App app("basalt-gen: realistic mobile-game events for Segment-compatible ingest APIs");
  app.require_subcommand(1);
  int exit_code = 0;
  basalt::gen::add_gen_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
