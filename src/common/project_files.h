#pragma once
// The YAML files of a project folder (models/, apis/, dags/, tracking/): every loader reads
// the same set in the same order.

#include <filesystem>
#include <system_error>
#include <vector>

namespace basalt {

// The regular files ending in .yaml or .yml directly in `dir`, sorted by path. None when `dir`
// is not a folder; `ec` tells of an error while listing it.
std::vector<std::filesystem::path> yaml_files(const std::filesystem::path& dir,
                                              std::error_code& ec);

}  // namespace basalt
