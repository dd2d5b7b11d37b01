// Fuzzes WAL recovery: arbitrary bytes as the only segment of a log. Opening must succeed
// (damage is reported, never fatal) and every record it then serves must be readable.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "wal/wal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path kDir =
      fs::temp_directory_path() / ("basalt-wal-fuzz-" + std::to_string(::getpid()));
  fs::remove_all(kDir);
  fs::create_directories(kDir);
  {
    std::ofstream out(kDir / "00000000000000000000.wal", std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  basalt::wal::WalOptions options;
  options.dir = kDir;
  options.sync = false;
  auto wal = basalt::wal::Wal::open(options);
  if (!wal.is_ok()) __builtin_trap();
  auto stats = (*wal)->stats();
  auto reader = (*wal)->reader(stats.first_lsn);
  if (!reader.is_ok()) __builtin_trap();
  while (true) {
    auto records = (*reader)->next(1000, 1 << 20, std::chrono::milliseconds(0));
    if (!records.is_ok()) __builtin_trap();
    if (records->empty()) break;
  }
  // The log stays usable after whatever recovery found.
  if (!(*wal)->append_sync({"after"}).is_ok()) __builtin_trap();
  (*wal)->close();
  return 0;
}
