// Fuzzes the basalt.yaml reader: arbitrary text gives a config or an error, never a crash.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path kDir =
      fs::temp_directory_path() / ("basalt-config-fuzz-" + std::to_string(::getpid()));
  fs::create_directories(kDir);
  {
    std::ofstream out(kDir / "basalt.yaml", std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto config = basalt::load_project_config(kDir);
  (void)config;
  return 0;
}
