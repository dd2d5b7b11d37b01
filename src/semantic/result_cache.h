#pragma once
// The result cache of the semantic layer: answers keyed by the compiled statement and its bound
// values (so two requests that mean the same query share an entry, and a relative range that
// moves on is a new key), dropped when the loader commits events into the time span an entry
// read, when a table it read changes, or after a time to live (for tables the loader does not
// write, such as those Domino tasks build).
//
// A change is announced before its rows can become visible and ended once they are: from
// begin_change to end_change no entry it touches is served or stored, and a result computed
// while a change ended may already be stale: put() refuses it when any change ended (or any
// invalidation ran) after the matching begin().
//
// Thread safety: every member may be called from any thread.

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "warehouse/warehouse.h"

namespace basalt::semantic {

struct CacheScope {
  std::vector<std::string> tables;
  int64_t start_us = INT64_MIN;  // event-time span read from the event table
  int64_t end_us = INT64_MAX;
};

// A change the loader commits: rows of `table` with event times in [min_us, max_us] (a table
// without event times: the whole span).
struct DataChange {
  std::string table;
  int64_t min_us = INT64_MIN;
  int64_t max_us = INT64_MAX;
  bool operator==(const DataChange&) const = default;
};

class ResultCache {
 public:
  ResultCache(size_t max_entries, std::chrono::seconds ttl, const Clock& clock);

  // The ticket to pass to put(): the invalidation generation now.
  uint64_t begin() const;
  std::optional<warehouse::QueryResult> get(const std::string& key);
  // Stores unless a change ended (or an invalidation ran) since `ticket`, a change in progress
  // touches `scope`, or the cache is disabled (0 entries).
  void put(const std::string& key, uint64_t ticket, CacheScope scope,
           warehouse::QueryResult result);
  // `change` is about to be committed (its rows may be visible from now on): drops the entries
  // it touches and stores none it touches until end_change(change).
  void begin_change(const DataChange& change);
  // The change begun with the same value is committed or given up: entries it touches may be
  // stored again, by queries that begin from now on.
  void end_change(const DataChange& change);
  // A change already committed: begin_change and end_change at once.
  void invalidate(const DataChange& change);
  void clear();

  struct Stats {
    uint64_t hits = 0, misses = 0, invalidated = 0;
    size_t entries = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::string key;
    CacheScope scope;
    warehouse::QueryResult result;
    int64_t stored_us = 0;
  };
  const size_t max_entries_;
  const std::chrono::seconds ttl_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recent first; protected by mu_
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;  // protected by mu_
  std::vector<DataChange> pending_;  // begun, not ended; protected by mu_
  uint64_t generation_ = 0;                                            // protected by mu_
  Stats stats_;                                                        // protected by mu_
};

}  // namespace basalt::semantic
