#pragma once
// Logging goes through spdlog; this sets it up once for the process.

#include <string_view>

#include "common/status.h"

namespace basalt {

// Level is one of trace, debug, info, warn, error, off.
Status init_logging(std::string_view level);

}  // namespace basalt
