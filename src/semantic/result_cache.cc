#include "semantic/result_cache.h"

#include <algorithm>

namespace basalt::semantic {
namespace {

bool touches(const DataChange& change, const CacheScope& s) {
  return change.min_us < s.end_us && change.max_us >= s.start_us &&
         std::find(s.tables.begin(), s.tables.end(), change.table) != s.tables.end();
}

}  // namespace

ResultCache::ResultCache(size_t max_entries, std::chrono::seconds ttl, const Clock& clock)
    : max_entries_(max_entries), ttl_(ttl), clock_(clock) {}

uint64_t ResultCache::begin() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::optional<warehouse::QueryResult> ResultCache::get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return std::nullopt;
  }
  if (clock_.now_us() - it->second->stored_us > ttl_.count() * 1'000'000) {
    lru_.erase(it->second);
    index_.erase(it);
    ++stats_.misses;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++stats_.hits;
  return it->second->result;
}

void ResultCache::put(const std::string& key, uint64_t ticket, CacheScope scope,
                      warehouse::QueryResult result) {
  if (max_entries_ == 0) return;
  std::lock_guard lock(mu_);
  if (ticket != generation_) return;
  for (const DataChange& c : pending_) {
    if (touches(c, scope)) return;
  }
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{key, std::move(scope), std::move(result), clock_.now_us()});
  index_[key] = lru_.begin();
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void ResultCache::begin_change(const DataChange& change) {
  std::lock_guard lock(mu_);
  pending_.push_back(change);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (touches(change, it->scope)) {
      index_.erase(it->key);
      it = lru_.erase(it);
      ++stats_.invalidated;
    } else {
      ++it;
    }
  }
}

void ResultCache::end_change(const DataChange& change) {
  std::lock_guard lock(mu_);
  ++generation_;
  auto it = std::find(pending_.begin(), pending_.end(), change);
  if (it != pending_.end()) pending_.erase(it);
}

void ResultCache::invalidate(const DataChange& change) {
  begin_change(change);
  end_change(change);
}

void ResultCache::clear() {
  std::lock_guard lock(mu_);
  ++generation_;
  lru_.clear();
  index_.clear();
}

ResultCache::Stats ResultCache::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.entries = lru_.size();
  return s;
}

}  // namespace basalt::semantic
