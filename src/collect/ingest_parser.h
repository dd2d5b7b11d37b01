#pragma once
// Turns one ingest request body (a single Segment call or a batch) into WAL records: valid
// events as event::Event records, invalid ones as event::QuarantinedEvent records with a
// precise reason. Request-level problems (malformed JSON, no credentials, too many events) are
// errors for the whole request.
//
// Thread safety: an IngestParser is immutable after construction and may be shared; parse()
// uses a simdjson parser owned by the calling thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "event/event.h"
#include "schema/compiled_plan.h"

namespace basalt::enrich {
class GeoIp;
class TransformSet;
class UserAgentParser;
}  // namespace basalt::enrich

namespace basalt::collect {

// The enrichment stages of the pipeline (src/enrich), each optional (null: skipped). Borrowed:
// they must outlive the parse calls that use them.
struct Enrichment {
  const enrich::TransformSet* transforms = nullptr;  // transforms/<source>.lua
  const enrich::UserAgentParser* user_agents = nullptr;
  const enrich::GeoIp* geo = nullptr;
};

// The request path: one call of a given type, or a batch (/v1/batch, /v1/import).
enum class Endpoint { kTrack, kIdentify, kPage, kScreen, kGroup, kAlias, kBatch };

// Spare bytes a body needs after its end for the SIMD parser; a body with that much spare
// capacity is parsed where it is (else parse() grows it, which copies it).
inline constexpr size_t kParserPadding = 64;

struct IngestLimits {
  size_t max_event_bytes = 32 * 1024;
  size_t max_batch_events = 2500;
};

// Write keys → source names.
class SourceDirectory {
 public:
  explicit SourceDirectory(const std::vector<SourceConfig>& sources);
  // The source name for `write_key`, or null.
  const std::string* find(std::string_view write_key) const;
  // The source whose write key this Authorization value carries as SDKs send it ("Basic "
  // and the base64 of "<key>:"), or null; other spellings of the same credentials must be
  // decoded by the caller.
  const std::string* find_basic_authorization(std::string_view header) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> by_key_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> by_basic_authorization_;
};

// What the server knows about the request apart from its body.
struct RequestMeta {
  int64_t received_at_us = 0;
  std::string ip;
  std::string_view user_agent;  // the User-Agent header
  std::string source;           // from HTTP Basic auth; empty: the body's "writeKey" decides
  // The messageId of an event that has none (a replay's stable id, so the loader's dedup
  // drops a second copy); empty: a new UUID.
  std::string default_message_id;
};

struct ItemError {
  size_t index = 0;  // position in the batch (0 for a single call)
  std::string reason;
};

struct IngestBatch {
  std::string source;
  std::vector<std::string> records;  // encoded events and quarantine records, in body order
  size_t accepted = 0;
  size_t rejected = 0;
  std::vector<ItemError> errors;
  // Accepted events that break the plan of a lenient source (undeclared events or properties,
  // invalid values): what is wrong, so the sender can fix it. The event is stored whole.
  std::vector<ItemError> warnings;
  size_t dropped = 0;  // events a transform dropped (returned nil for)
};

class IngestParser {
 public:
  IngestParser(IngestLimits limits, const SourceDirectory& sources)
      : limits_(limits), sources_(sources) {}

  // `body` is padded in place for the SIMD parser (its contents stay the same).
  // Per item, in this order: the source's Lua transform (which may change the event, drop it
  // or fan it out into several; a transform error quarantines the event with the Lua error
  // text), the Segment fields and clock-skew correction, the tracking plan, then the user
  // agent and GeoIP fields.
  // With a `plan`, track events and identify traits are checked against it under the mode of
  // the request's source (docs/tracking_plan.md): strict rejects into quarantine with the
  // violations as the reason; lenient accepts and reports them in `warnings`; off skips the
  // check. Accepted declared events carry their typed values (Event::typed). Without a plan
  // nothing is checked. The plan must outlive the call.
  // Errors: kInvalidArgument (malformed JSON, wrong body shape, bad batch-level fields),
  // kUnauthenticated (no or unknown write key), kPayloadTooLarge (too many events).
  Result<IngestBatch> parse(Endpoint endpoint, std::string& body, const RequestMeta& meta,
                            const schema::CompiledPlan* plan = nullptr,
                            const Enrichment* enrichment = nullptr) const;

 private:
  IngestLimits limits_;
  const SourceDirectory& sources_;
};

}  // namespace basalt::collect
