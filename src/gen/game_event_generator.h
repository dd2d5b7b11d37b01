#pragma once
// A deterministic generator of realistic mobile-game behaviour events, as Segment HTTP API
// request bodies, for demos, tests and load benchmarks.
//
// Players install over the history window, come back with decaying retention (D1 about 40 %,
// D7 about 15 %, a quarter never return), play a few sessions a day (login, session_start,
// level_up, chat_message, item_purchase, pay for the few payers, session_end) and are
// identified with traits that change as they level up or start paying. Events stream out in
// chronological order; only the players' small state and the current day's session plan are
// held in memory, never the whole history.
//
// Determinism: the same GenOptions (seed, end time included) give byte-identical bodies on any
// platform: randomness comes from std::mt19937_64 with the generator's own distributions.
//
// Not thread-safe: one generator per thread.

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace basalt::gen {

struct GenOptions {
  uint64_t users = 1000;
  uint32_t days = 14;
  uint64_t seed = 1;
  // The history ends here (exclusive), in µs since the Unix epoch; unset: the clock's now.
  std::optional<int64_t> end_time_us;
  // Events per body. 1: each body is a single event object for POST /v1/track; more: a
  // {"batch":[…],"sentAt":"…"} body for POST /v1/batch. sentAt is the end of the history.
  size_t batch_size = 100;
  // When set, each body also carries "writeKey" (Segment allows it in the body).
  std::optional<std::string> write_key;
};

class GameEventGenerator {
 public:
  // Errors: kInvalidArgument when users, days or batch_size is 0, or users/days exceed the
  // generator's bounds (10 M players, 3650 days). `clock` is read once, here.
  static Result<GameEventGenerator> create(const GenOptions& options, const Clock& clock);

  // The next request body (minified JSON, no trailing newline), or nullopt when the history
  // is exhausted. Bodies are in chronological order and so are the events inside each body.
  std::optional<std::string> next_body();

  // Events produced so far, by name: track events by their event name, identify calls as
  // "identify".
  const std::map<std::string, uint64_t>& counts() const { return counts_; }
  uint64_t events() const { return events_; }
  uint64_t bodies() const { return bodies_; }
  uint64_t bytes() const { return bytes_; }  // of the bodies, without separators
  // "<bodies> bodies, <events> events, <bytes> bytes (identify=…, install=…, …)".
  std::string summary() const;

  // The history window: [start_time_us, end_time_us).
  int64_t start_time_us() const { return start_us_; }
  int64_t end_time_us() const { return end_us_; }

  enum class EventKind : uint8_t {
    kInstall,
    kIdentify,
    kLogin,
    kSessionStart,
    kSessionEnd,
    kLevelUp,
    kChatMessage,
    kItemPurchase,
    kPay,
  };

 private:
  // A player's state; static attributes are indexes into the generator's tables.
  struct Player {
    uint32_t install_day = 0;
    uint16_t level = 1;
    uint16_t server = 0;
    uint32_t ip = 0;  // host part inside 10.0.0.0/8
    uint8_t os = 0;   // 0 iOS, 1 Android
    uint8_t os_version = 0;
    uint8_t device = 0;
    uint8_t app_version = 0;
    uint8_t locale = 0;
    uint8_t channel = 0;
    bool churns = false;  // never returns after the install day
    bool payer = false;
    bool vip = false;
  };
  // One event planned inside a session; `a`, `b`, `c` are kind-specific parameters.
  struct PlannedEvent {
    int64_t time_us = 0;
    EventKind kind = EventKind::kLogin;
    uint32_t a = 0;
    uint32_t b = 0;
    uint32_t c = 0;
  };
  struct Session {
    uint32_t player = 0;
    int64_t start_us = 0;
    int64_t end_us = 0;
    bool installs = false;
    std::vector<PlannedEvent> events;  // filled when the session begins, emptied when done
    size_t next = 0;
  };
  struct Pending {  // a session's next event in the merge of the day's sessions
    int64_t time_us;
    uint32_t session;
    bool operator>(const Pending& o) const {
      return time_us != o.time_us ? time_us > o.time_us : session > o.session;
    }
  };

  GameEventGenerator(const GenOptions& options, int64_t end_us);

  uint64_t next_u64() { return rng_(); }
  double uniform01();
  uint64_t below(uint64_t n);                          // uniform in [0, n)
  int64_t between(int64_t lo, int64_t hi);             // uniform in [lo, hi]
  template <size_t N>
  size_t weighted(const uint32_t (&weights)[N]);

  void plan_day(uint32_t day);
  void begin_session(Session& s);
  struct NextEvent {
    uint32_t session;
    PlannedEvent event;
  };
  // The chronologically next event and its session's index; nullopt when the history is done.
  std::optional<NextEvent> next_event();
  void append_event(std::string& out, const Session& s, const PlannedEvent& e);
  void append_context(std::string& out, const Player& p) const;
  void append_ids(std::string& out, uint32_t player, bool with_anonymous_id,
                  bool with_user_id) const;

  GenOptions options_;
  int64_t start_us_;
  int64_t end_us_;
  std::mt19937_64 rng_;
  std::vector<Player> players_;
  uint32_t planned_day_ = 0;  // days planned so far
  std::vector<Session> sessions_;  // the current day's
  std::vector<Pending> heap_;      // min-heap by (time, session)
  uint64_t message_counter_ = 0;
  std::map<std::string, uint64_t> counts_;
  uint64_t events_ = 0;
  uint64_t bodies_ = 0;
  uint64_t bytes_ = 0;
};

// ISO 8601 in UTC with milliseconds: "2024-05-01T12:34:56.789Z".
std::string format_iso8601_ms(int64_t time_us);
// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" with optional ".fff…" fraction, and an optional
// "Z" (always UTC). Errors: kInvalidArgument quoting the text.
Result<int64_t> parse_iso8601(const std::string& text);

}  // namespace basalt::gen
