#pragma once
// An in-memory wal::Wal for unit tests of its users (the ingest service, the loader): appends
// are durable at once unless a failure is injected; readers see every appended record.

#include <condition_variable>
#include <map>
#include <mutex>

#include "wal/wal.h"

namespace basalt::testing {

class MemoryWal final : public wal::Wal {
 public:
  void append(std::vector<std::string> records, AppendCallback done) override {
    auto r = append_sync(std::move(records));
    done(r.status(), r.is_ok() ? *r : 0);
  }
  Result<wal::Lsn> append_sync(std::vector<std::string> records) override {
    std::lock_guard lock(mu_);
    if (fail_appends_) return unavailable("injected write failure");
    wal::Lsn first = first_lsn_ + records_.size();
    for (auto& r : records) records_.push_back(std::move(r));
    cv_.notify_all();
    return first;
  }
  Result<std::unique_ptr<wal::WalReader>> reader(wal::Lsn from) override;
  Status register_consumer(const std::string& name) override {
    std::lock_guard lock(mu_);
    committed_.try_emplace(name, first_lsn_);
    return Status::ok();
  }
  Status commit(const std::string& name, wal::Lsn next) override {
    std::lock_guard lock(mu_);
    committed_[name] = next;
    return Status::ok();
  }
  Result<wal::Lsn> committed(const std::string& name) const override {
    std::lock_guard lock(mu_);
    auto it = committed_.find(name);
    if (it == committed_.end()) return not_found("no consumer " + name);
    return it->second;
  }
  bool writable() const override {
    std::lock_guard lock(mu_);
    return !fail_appends_;
  }
  wal::WalStats stats() const override {
    std::lock_guard lock(mu_);
    wal::WalStats s;
    s.first_lsn = first_lsn_;
    s.durable_end = first_lsn_ + records_.size();
    s.records_written = records_.size();
    return s;
  }
  const wal::RecoveryReport& recovery() const override { return report_; }
  void close() override {}

  // Test controls.
  void set_fail_appends(bool fail) {
    std::lock_guard lock(mu_);
    fail_appends_ = fail;
  }
  std::vector<std::string> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  friend class MemoryWalReader;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> records_;  // protected by mu_
  std::map<std::string, wal::Lsn> committed_;
  wal::Lsn first_lsn_ = 0;
  bool fail_appends_ = false;
  wal::RecoveryReport report_;
};

class MemoryWalReader final : public wal::WalReader {
 public:
  MemoryWalReader(MemoryWal& wal, wal::Lsn from) : wal_(wal), pos_(from) {}
  Result<std::vector<wal::WalRecord>> next(size_t max_records, size_t max_bytes,
                                           std::chrono::milliseconds wait) override {
    std::unique_lock lock(wal_.mu_);
    wal_.cv_.wait_for(lock, wait, [&] { return pos_ < wal_.records_.size(); });
    std::vector<wal::WalRecord> out;
    size_t bytes = 0;
    while (pos_ < wal_.records_.size() && out.size() < max_records &&
           (out.empty() || bytes < max_bytes)) {
      bytes += wal_.records_[pos_].size();
      out.push_back({pos_, wal_.records_[pos_]});
      ++pos_;
    }
    return out;
  }
  wal::Lsn position() const override { return pos_; }

 private:
  MemoryWal& wal_;
  wal::Lsn pos_;
};

inline Result<std::unique_ptr<wal::WalReader>> MemoryWal::reader(wal::Lsn from) {
  std::lock_guard lock(mu_);
  if (from > first_lsn_ + records_.size()) return invalid_argument("reader past the end");
  return std::unique_ptr<wal::WalReader>(std::make_unique<MemoryWalReader>(*this, from));
}

}  // namespace basalt::testing
