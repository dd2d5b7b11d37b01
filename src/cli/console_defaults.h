#pragma once
// Defaults of the commands that call a running server's console API (`basalt sql`,
// `basalt quarantine`).

#include <string>

#include "common/config.h"
#include "common/status.h"

namespace basalt::cli {

// The project's configuration: `project`'s basalt.yaml (the defaults when it cannot be read)
// with the environment applied. An empty `api` becomes $BASALT_API, else the project's console
// port on 127.0.0.1; an empty `token` becomes $BASALT_TOKEN, else the project's admin token.
Result<ProjectConfig> console_defaults(const std::string& project, std::string& api,
                                       std::string& token);

}  // namespace basalt::cli
