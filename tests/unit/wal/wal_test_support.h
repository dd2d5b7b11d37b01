#pragma once
// Helpers for the WAL's unit tests: a temporary directory, a file system that fails on
// purpose, and shorthands to read a whole log.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "wal/file_system.h"
#include "wal/wal.h"
#include "wal/wal_writer.h"

namespace basalt::wal::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wal_test_XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Failure switches shared by a FaultyFileSystem and the files it opened.
struct Faults {
  std::atomic<int> write_errno{0};  // non-zero: every write fails with it
  std::atomic<int> sync_errno{0};   // non-zero: every fdatasync fails with it
  // >= 0: the next write stores only this many bytes, then the "machine dies": every later
  // write, sync, truncate, create and remove fails with EIO.
  std::atomic<int64_t> crash_after_bytes{-1};
  std::atomic<bool> crashed{false};
  // When set, fdatasync blocks until it is cleared.
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool hold_syncs = false;
  std::atomic<int> syncs_waiting{0};

  void set_hold_syncs(bool hold) {
    std::lock_guard lock(gate_mu);
    hold_syncs = hold;
    gate_cv.notify_all();
  }
};

inline Status errno_status(int err) { return unavailable(std::strerror(err)); }

class FaultyFile final : public WalFile {
 public:
  FaultyFile(std::unique_ptr<WalFile> inner, std::shared_ptr<Faults> faults)
      : inner_(std::move(inner)), faults_(std::move(faults)) {}

  Status write_at(uint64_t offset, std::string_view data) override {
    if (faults_->crashed) return errno_status(EIO);
    if (int e = faults_->write_errno.load()) return errno_status(e);
    int64_t keep = faults_->crash_after_bytes.exchange(-1);
    if (keep >= 0) {
      faults_->crashed = true;
      (void)inner_->write_at(offset, data.substr(0, static_cast<size_t>(keep)));
      return errno_status(EIO);
    }
    return inner_->write_at(offset, data);
  }
  Status sync() override {
    {
      std::unique_lock lock(faults_->gate_mu);
      ++faults_->syncs_waiting;
      faults_->gate_cv.wait(lock, [&] { return !faults_->hold_syncs; });
      --faults_->syncs_waiting;
    }
    if (faults_->crashed) return errno_status(EIO);
    if (int e = faults_->sync_errno.load()) return errno_status(e);
    return inner_->sync();
  }
  Status truncate(uint64_t size) override {
    if (faults_->crashed) return errno_status(EIO);
    return inner_->truncate(size);
  }
  Result<size_t> read_at(uint64_t offset, std::span<char> out) const override {
    return inner_->read_at(offset, out);
  }
  Result<uint64_t> size() const override { return inner_->size(); }

 private:
  std::unique_ptr<WalFile> inner_;
  std::shared_ptr<Faults> faults_;
};

class FaultyFileSystem final : public WalFileSystem {
 public:
  explicit FaultyFileSystem(std::shared_ptr<Faults> faults)
      : inner_(posix_wal_file_system()), faults_(std::move(faults)) {}

  Result<std::unique_ptr<WalFile>> open(const std::filesystem::path& path,
                                        OpenMode mode) override {
    if (mode == OpenMode::kCreateWrite && faults_->crashed) return errno_status(EIO);
    auto f = inner_->open(path, mode);
    if (!f) return f.status();
    return std::unique_ptr<WalFile>(std::make_unique<FaultyFile>(std::move(*f), faults_));
  }
  Status create_dirs(const std::filesystem::path& dir) override { return inner_->create_dirs(dir); }
  Result<std::vector<std::string>> list(const std::filesystem::path& dir) override {
    return inner_->list(dir);
  }
  Status remove(const std::filesystem::path& path) override {
    if (faults_->crashed) return errno_status(EIO);
    return inner_->remove(path);
  }
  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (faults_->crashed) return errno_status(EIO);
    return inner_->rename(from, to);
  }
  Status sync_dir(const std::filesystem::path& dir) override { return inner_->sync_dir(dir); }
  Status write_file_atomically(const std::filesystem::path& path,
                               std::string_view contents) override {
    if (faults_->crashed) return errno_status(EIO);
    if (int e = faults_->write_errno.load()) return errno_status(e);
    return inner_->write_file_atomically(path, contents);
  }
  Result<std::string> read_file(const std::filesystem::path& path) override {
    return inner_->read_file(path);
  }

 private:
  std::shared_ptr<WalFileSystem> inner_;
  std::shared_ptr<Faults> faults_;
};

inline WalOptions small_options(const std::filesystem::path& dir) {
  WalOptions o;
  o.dir = dir;
  o.segment_bytes = 4096;
  o.sync = true;
  // The preparer thread would share the injected faults; wal_preallocate_test covers it.
  o.preallocate = false;
  return o;
}

inline std::unique_ptr<Wal> open_or_die(const WalOptions& options) {
  auto wal = Wal::open(options);
  if (!wal) {
    ADD_FAILURE() << wal.status().to_string();
    std::abort();
  }
  return std::move(*wal);
}

// Every record from `from` to the durable end.
inline std::vector<WalRecord> read_all(Wal& wal, Lsn from = 0) {
  std::vector<WalRecord> out;
  auto reader = wal.reader(from);
  if (!reader) {
    ADD_FAILURE() << reader.status().to_string();
    return out;
  }
  Lsn end = wal.stats().durable_end;
  while ((*reader)->position() < end) {
    auto batch = (*reader)->next(1000, 1 << 20, std::chrono::milliseconds(0));
    if (!batch) {
      ADD_FAILURE() << batch.status().to_string();
      break;
    }
    if (batch->empty()) break;
    for (auto& r : *batch) out.push_back(std::move(r));
  }
  return out;
}

inline std::string payload(Lsn i, size_t bytes = 40) {
  std::string s = "record-";
  s += std::to_string(i);
  s += '-';
  while (s.size() < bytes) s += static_cast<char>('a' + (s.size() + i) % 26);
  return s;
}

inline std::vector<std::filesystem::path> segment_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".wal") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace basalt::wal::testing
