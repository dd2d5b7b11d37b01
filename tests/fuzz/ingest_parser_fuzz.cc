// Fuzzes the ingest parser with arbitrary request bodies on every endpoint: it must answer
// with records or an error, never crash, and every record it makes must decode.

#include <cstddef>
#include <cstdint>
#include <string>

#include "collect/ingest_parser.h"
#include "event/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt;
  static const std::vector<SourceConfig> kSources = {{"app", "key"}};
  static const collect::SourceDirectory kDirectory(kSources);
  static const collect::IngestParser kParser(collect::IngestLimits{512, 50}, kDirectory);
  if (size == 0) return 0;
  // The first byte picks the endpoint; the rest is the body.
  auto endpoint = static_cast<collect::Endpoint>(data[0] % 7);
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  collect::RequestMeta meta;
  meta.received_at_us = 1'700'000'000'000'000;
  meta.ip = "127.0.0.1";
  meta.source = (data[0] & 0x80) ? "" : "app";
  auto batch = kParser.parse(endpoint, body, meta);
  if (!batch.is_ok()) return 0;
  for (const auto& record : batch->records) {
    auto kind = event::record_kind(record);
    if (!kind.is_ok()) __builtin_trap();
    bool decoded = *kind == event::RecordKind::kEvent ? event::decode_event(record).is_ok()
                                                      : event::decode_quarantined(record).is_ok();
    if (!decoded) __builtin_trap();
  }
  if (batch->accepted + batch->rejected != batch->records.size()) __builtin_trap();
  return 0;
}
