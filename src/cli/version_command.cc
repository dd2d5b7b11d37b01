#include <iostream>

#include "cli/commands.h"
#include "cli/version.h"

namespace basalt::cli {

void add_version_command(CLI::App& root, int& exit_code) {
  CLI::App* cmd = root.add_subcommand("version", "Print the version of basalt");
  cmd->callback([&exit_code] {
    std::cout << "basalt " << kVersion << "\n";
    exit_code = 0;
  });
}

}  // namespace basalt::cli
