#pragma once
// The WAL's only route to the OS: every file operation goes through WalFileSystem so tests can
// inject ENOSPC, EIO and torn writes (as leveldb does with Env). Private to src/wal.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace basalt::wal {

// One open segment file. Not thread-safe for writes; read_at may run on any thread.
class WalFile {
 public:
  virtual ~WalFile() = default;
  // Writes all of `data` at `offset`, or fails (kUnavailable, with errno text).
  virtual Status write_at(uint64_t offset, std::string_view data) = 0;
  // fdatasync.
  virtual Status sync() = 0;
  virtual Status truncate(uint64_t size) = 0;
  // Reads up to out.size() bytes at `offset`; fewer only at the end of the file.
  virtual Result<size_t> read_at(uint64_t offset, std::span<char> out) const = 0;
  virtual Result<uint64_t> size() const = 0;
};

enum class OpenMode {
  kRead,         // an existing file, read only
  kWrite,        // an existing file, read and write
  kCreateWrite,  // a new file (an existing one is emptied), read and write
};

class WalFileSystem {
 public:
  virtual ~WalFileSystem() = default;
  virtual Result<std::unique_ptr<WalFile>> open(const std::filesystem::path& path,
                                                OpenMode mode) = 0;
  // Creates `dir` and its parents when missing.
  virtual Status create_dirs(const std::filesystem::path& dir) = 0;
  // Names (not paths) of the regular files in `dir`.
  virtual Result<std::vector<std::string>> list(const std::filesystem::path& dir) = 0;
  virtual Status remove(const std::filesystem::path& path) = 0;
  // rename(2): replaces `to` atomically when it exists. Durable once the directory is synced.
  virtual Status rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // fsync of a directory, so created, renamed and removed entries are durable.
  virtual Status sync_dir(const std::filesystem::path& dir) = 0;
  // Replaces `path` with `contents` atomically: a temporary file, fsync, rename, sync of the dir.
  virtual Status write_file_atomically(const std::filesystem::path& path,
                                       std::string_view contents) = 0;
  // The whole file; kNotFound when it does not exist.
  virtual Result<std::string> read_file(const std::filesystem::path& path) = 0;
};

// The real file system (POSIX calls). Stateless; each call returns a new instance.
std::shared_ptr<WalFileSystem> posix_wal_file_system();

}  // namespace basalt::wal
