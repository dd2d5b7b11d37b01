#include "common/project_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace basalt {
namespace {

namespace fs = std::filesystem;

TEST(ProjectFiles, ListsTheFolderOwnYamlFilesSorted) {
  const fs::path dir =
      fs::temp_directory_path() / ("basalt-project-files-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "nested.yaml");  // a folder, however named
  for (const char* name : {"b.yml", "a.yaml", "c.yaml.bak", "README.md", "d.YAML"}) {
    std::ofstream(dir / name) << "x: 1\n";
  }
  std::ofstream(dir / "nested.yaml" / "e.yaml") << "x: 1\n";

  std::error_code ec;
  auto files = yaml_files(dir, ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(files, (std::vector<fs::path>{dir / "a.yaml", dir / "b.yml"}));

  // No folder: no files and no error, as for a project without models/ or dags/.
  EXPECT_TRUE(yaml_files(dir / "missing", ec).empty());
  EXPECT_FALSE(ec);
  EXPECT_TRUE(yaml_files(dir / "a.yaml", ec).empty());
  EXPECT_FALSE(ec);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace basalt
