// IngestService::resubmit, the replay of quarantined events: the stable messageIds that let the
// loader's dedup store each replayed event once, also when a transform fans one out into
// several.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "collect/ingest_service.h"
#include "enrich/lua_transform.h"
#include "event/event.h"
#include "support/memory_wal.h"

namespace basalt::collect {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kNow = 1'700'000'000'000'000;

class ResubmitTest : public ::testing::Test {
 protected:
  ResubmitTest() {
    std::string pattern = (fs::temp_directory_path() / "resubmit_test_XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    std::ofstream(dir_ / "app.lua")
        << "function transform(e)\n"
           "  if e.event ~= 'bundle' then return e end\n"
           "  local out = {}\n"
           "  for i, coins in ipairs(e.properties.coins) do\n"
           "    out[i] = {type = 'track', userId = e.userId, event = 'bonus',\n"
           "              properties = {coins = coins}}\n"
           "  end\n"
           "  return out\n"
           "end\n";
    auto set = enrich::TransformSet::load_dir(dir_.string());
    EXPECT_TRUE(set.is_ok()) << set.status().to_string();
    transforms_ = std::move(*set);
    service_.set_enrichment({transforms_.get(), nullptr, nullptr});
  }
  ~ResubmitTest() override { fs::remove_all(dir_); }

  // The messageIds of the event records appended since `from`.
  std::vector<std::string> message_ids(size_t from) {
    std::vector<std::string> ids;
    auto records = wal_.records();
    for (size_t i = from; i < records.size(); ++i) {
      auto e = event::decode_event(records[i]);
      EXPECT_TRUE(e.is_ok()) << e.status().to_string();
      if (e.is_ok()) ids.push_back(e->message_id);
    }
    return ids;
  }

  fs::path dir_;
  testing::MemoryWal wal_;
  ManualClock clock_{kNow};
  MetricsRegistry metrics_;
  IngestService service_{IngestConfig{}, std::vector<SourceConfig>{{"app", "app-key"}}, wal_,
                         clock_, metrics_,
                         [] { return Status::ok(); }};
  std::unique_ptr<enrich::TransformSet> transforms_;
};

TEST_F(ResubmitTest, EachFannedOutEventGetsItsOwnStableMessageId) {
  const std::string raw =
      R"({"type":"track","userId":"u1","event":"bundle","properties":{"coins":[1,2,3]}})";
  auto first = service_.resubmit("app", kNow, raw, "", "", "q-1");
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  ASSERT_TRUE(first->accepted) << first->reason;
  EXPECT_EQ(first->events, 3u);
  const std::vector<std::string> ids = message_ids(0);
  EXPECT_EQ(ids, (std::vector<std::string>{"replay-q-1", "replay-q-1-1", "replay-q-1-2"}));

  // Replaying the same row again gives the same ids (the loader drops them as duplicates)...
  auto again = service_.resubmit("app", kNow, raw, "", "", "q-1");
  ASSERT_TRUE(again.is_ok() && again->accepted);
  EXPECT_EQ(message_ids(3), ids);
  // ...and another row gets others.
  ASSERT_TRUE(service_.resubmit("app", kNow, raw, "", "", "q-2")->accepted);
  EXPECT_EQ(message_ids(6),
            (std::vector<std::string>{"replay-q-2", "replay-q-2-1", "replay-q-2-2"}));
}

TEST_F(ResubmitTest, OneEventKeepsTheReplayIdAndAClientMessageIdIsKept) {
  ASSERT_TRUE(service_.resubmit("app", kNow, R"({"userId":"u1","event":"login"})", "track", "",
                                "q-9")
                  ->accepted);
  ASSERT_TRUE(service_
                  .resubmit("app", kNow,
                            R"({"type":"track","userId":"u1","event":"x","messageId":"m-1"})",
                            "", "", "q-10")
                  ->accepted);
  EXPECT_EQ(message_ids(0), (std::vector<std::string>{"replay-q-9", "m-1"}));
}

}  // namespace
}  // namespace basalt::collect
