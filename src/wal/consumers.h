#pragma once
// Committed offsets of the WAL's consumers, persisted in the file `consumers` in the log's
// directory (format in docs/wal_format.md), replaced atomically on every change.
// Private to src/wal. Not thread-safe: the Wal serialises calls.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "wal/file_system.h"
#include "wal/wal.h"

namespace basalt::wal {

inline constexpr std::string_view kConsumersFileName = "consumers";

// Names are 1 to 200 bytes of [A-Za-z0-9._:-].
bool valid_consumer_name(std::string_view name);

std::string serialize_consumers(const std::map<std::string, Lsn>& offsets);
// kDataLoss naming the line when the text is not a consumers file.
Result<std::map<std::string, Lsn>> parse_consumers(std::string_view text);

class ConsumerOffsets {
 public:
  // Loads the offsets in `dir` (none when the file does not exist yet).
  static Result<ConsumerOffsets> load(std::shared_ptr<WalFileSystem> fs,
                                      const std::filesystem::path& dir);

  // Sets `name` to `lsn` and persists; on failure nothing changes.
  Status set(const std::string& name, Lsn lsn);
  const std::map<std::string, Lsn>& offsets() const { return offsets_; }

 private:
  ConsumerOffsets(std::shared_ptr<WalFileSystem> fs, std::filesystem::path path,
                  std::map<std::string, Lsn> offsets)
      : fs_(std::move(fs)), path_(std::move(path)), offsets_(std::move(offsets)) {}

  std::shared_ptr<WalFileSystem> fs_;
  std::filesystem::path path_;
  std::map<std::string, Lsn> offsets_;
};

}  // namespace basalt::wal
