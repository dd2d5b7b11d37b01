#pragma once
// Shared by the stream sink tests: events written to a real WAL in a temporary folder, and
// their message ids.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "event/event.h"
#include "support/server_process.h"
#include "wal/wal.h"

namespace basalt::stream::testing {

inline event::Event make_event(int i, const std::string& source = "app", int users = 7) {
  event::Event e;
  e.type = event::EventType::kTrack;
  e.event_id = "e-" + std::to_string(i);
  e.message_id = "m-" + std::to_string(i);
  e.source = source;
  e.event = "level_up";
  e.user_id = "u" + std::to_string(i % users);
  e.timestamp_us = 1'700'000'000'000'000 + i;
  e.received_at_us = e.timestamp_us + 5;
  e.properties_json = "{\"seq\":" + std::to_string(i) + "}";
  return e;
}

inline std::string record_of(const event::Event& e) {
  std::string out;
  event::encode(e, out);
  return out;
}

struct TestWal {
  explicit TestWal(uint64_t segment_bytes = 1 << 20, uint64_t budget = 0) : dir("stream_wal") {
    options.dir = dir.path();
    options.segment_bytes = segment_bytes;
    options.sync = false;
    options.disk_budget_bytes = budget;
    reopen();
  }
  void reopen() {
    wal.reset();
    auto w = wal::Wal::open(options);
    if (!w) throw std::runtime_error(w.status().to_string());
    wal = std::move(*w);
  }
  Status append_events(int from, int to, const std::string& source = "app") {
    std::vector<std::string> records;
    for (int i = from; i < to; ++i) records.push_back(record_of(make_event(i, source)));
    auto r = wal->append_sync(std::move(records));
    return r.status();
  }
  basalt::testing::ScratchDir dir;
  wal::WalOptions options;
  std::unique_ptr<wal::Wal> wal;
};

}  // namespace basalt::stream::testing
