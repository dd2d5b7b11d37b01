#include "common/project_files.h"

#include <algorithm>

namespace basalt {

std::vector<std::filesystem::path> yaml_files(const std::filesystem::path& dir,
                                              std::error_code& ec) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::is_directory(dir, ec)) {
    ec.clear();  // no folder: no files
    return out;
  }
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace basalt
