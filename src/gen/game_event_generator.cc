#include "gen/game_event_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <utility>

namespace basalt::gen {

namespace {

constexpr int64_t kSecondUs = 1'000'000;
constexpr int64_t kDayUs = 86'400 * kSecondUs;
constexpr uint64_t kMaxPlayers = 10'000'000;
constexpr uint32_t kMaxDays = 3650;
constexpr const char* kLibraryVersion = "2.4.1";

// Acquisition channels of an install, weighted.
constexpr const char* kChannels[] = {"organic", "facebook", "google", "tiktok", "unity_ads"};
constexpr uint32_t kChannelWeights[] = {40, 20, 20, 12, 8};

constexpr const char* kOsNames[] = {"iOS", "Android"};
constexpr uint32_t kOsWeights[] = {45, 55};
constexpr const char* kIosVersions[] = {"16.7.8", "17.4.1", "17.5.1", "17.6"};
constexpr const char* kAndroidVersions[] = {"12", "13", "14"};
constexpr const char* kIosDevices[] = {"iPhone12,1", "iPhone13,2", "iPhone14,5",
                                       "iPhone15,2", "iPhone15,4", "iPad13,4"};
constexpr const char* kAndroidDevices[] = {"SM-A525F", "SM-S911B",      "Pixel 7",
                                           "Pixel 6a", "Redmi Note 12", "CPH2211"};
constexpr const char* kAppVersions[] = {"1.8.2", "1.8.1", "1.7.9"};
constexpr uint32_t kAppVersionWeights[] = {70, 22, 8};
constexpr const char* kLocales[] = {"en-US", "zh-CN", "ja-JP", "ko-KR", "de-DE",
                                    "pt-BR", "es-ES", "fr-FR", "zh-TW", "ru-RU"};
constexpr uint32_t kLocaleWeights[] = {30, 22, 10, 8, 6, 7, 6, 5, 4, 2};
constexpr const char* kRegions[] = {"na", "eu", "asia", "sa"};
constexpr uint32_t kServersPerRegion = 6;

constexpr const char* kChatChannels[] = {"world", "guild", "private"};
constexpr uint32_t kChatChannelWeights[] = {50, 35, 15};
constexpr const char* kChatTexts[] = {
    "anyone up for the raid?",
    "gg",
    "lol",
    "need 2 more for dungeon",
    "thx!",
    "where do I find iron ore?",
    "guild war at 8pm, be online",
    "selling epic shield, pm me",
    "how do you beat the fire boss",
    "brb",
    "nice one",
    "can someone carry me lvl 20 dungeon",
    "join our guild, we are active",
    "lag is terrible today",
    "ok",
    "who wants to trade potions",
    "server maintenance tonight?",
    "first time here, any tips?",
    "that boss drop rate is so low",
    "ty for the help",
    "im stuck on chapter 3",
    "anyone from brazil?",
    "go go go",
    "wait for me at the gate",
    "just hit level 30!",
    "the new event is fun",
    "lf healer",
    "gonna log off, see ya",
};
constexpr const char* kItems[] = {"potion_small", "potion_large", "iron_sword", "oak_shield",
                                  "speed_boots",  "fire_scroll",  "pet_food",   "energy_pack",
                                  "skin_knight",  "chest_key"};
constexpr uint32_t kItemPrices[] = {50, 200, 800, 650, 1200, 400, 30, 150, 2500, 300};
// In-app purchase price points (cents), weighted towards the cheap ones.
constexpr uint32_t kPayCents[] = {99, 499, 999, 1999, 4999, 9999};
constexpr uint32_t kPayWeights[] = {35, 25, 18, 10, 7, 5};
constexpr const char* kPayProducts[] = {"gems_099",  "gems_499",  "gems_999",
                                        "gems_1999", "gems_4999", "gems_9999"};
constexpr const char* kCurrencies[] = {"USD", "CNY", "EUR"};
constexpr uint32_t kCurrencyWeights[] = {55, 30, 15};

constexpr const char* kEventNames[] = {"install",       "identify",    "login",
                                       "session_start", "session_end", "level_up",
                                       "chat_message",  "item_purchase", "pay"};

const char* event_name(GameEventGenerator::EventKind kind) {
  return kEventNames[static_cast<size_t>(kind)];
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A version-4 UUID text derived from `key`, so ids are repeatable for a seed.
void append_uuid(std::string& out, uint64_t key) {
  uint64_t hi = splitmix64(key);
  uint64_t lo = splitmix64(hi ^ key);
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  char text[36];
  int pos = 0;
  auto put = [&](uint64_t v) {
    for (int i = 15; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) text[pos++] = '-';
      text[pos++] = kHex[(v >> (i * 4)) & 0xf];
    }
  };
  put(hi);
  put(lo);
  out.append(text, sizeof text);
}

// Appends `text` as a JSON string literal.
void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void append_timestamp(std::string& out, int64_t time_us) {
  using namespace std::chrono;
  const sys_time<microseconds> tp{microseconds{time_us}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<milliseconds>(tp - day)};
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                 static_cast<unsigned>(ymd.day()), hms.hours().count(),
                 hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

std::string server_name(uint16_t server) {
  return fmt::format("{}-{:02}", kRegions[server / kServersPerRegion],
                     server % kServersPerRegion + 1);
}

// Probability that a returning (non-churning) player is active on day `d` >= 1 after the
// install: 0.533 / sqrt(d), which with a quarter of players churning on day 0 gives
// D1 ≈ 40 %, D7 ≈ 15 %, D30 ≈ 7 %.
double active_probability(uint32_t days_since_install) {
  return 0.533 / std::sqrt(static_cast<double>(days_since_install));
}

}  // namespace

std::string format_iso8601_ms(int64_t time_us) {
  std::string out;
  append_timestamp(out, time_us);
  return out;
}

Result<int64_t> parse_iso8601(const std::string& text) {
  auto bad = [&] {
    return invalid_argument(fmt::format(
        "'{}' is not an ISO 8601 UTC time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff][Z])", text));
  };
  size_t pos = 0;
  auto digits = [&](size_t n, int& value) {
    if (pos + n > text.size()) return false;
    value = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos += n;
    return true;
  };
  auto expect = [&](char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d)) {
    return bad();
  }
  int64_t fraction_us = 0;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
    ++pos;
    if (!digits(2, h) || !expect(':') || !digits(2, mi) || !expect(':') || !digits(2, s)) {
      return bad();
    }
    if (h > 23 || mi > 59 || s > 59) return bad();
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int64_t scale = 100'000;
      const size_t first = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        fraction_us += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == first) return bad();
    }
  }
  if (pos < text.size() && text[pos] == 'Z') ++pos;
  if (pos != text.size()) return bad();
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad();
  const int64_t day_us =
      duration_cast<microseconds>(sys_days{ymd}.time_since_epoch()).count();
  return day_us + ((h * 60 + mi) * 60 + s) * kSecondUs + fraction_us;
}

Result<GameEventGenerator> GameEventGenerator::create(const GenOptions& options,
                                                      const Clock& clock) {
  if (options.users == 0 || options.users > kMaxPlayers) {
    return invalid_argument(
        fmt::format("users must be between 1 and {}, not {}", kMaxPlayers, options.users));
  }
  if (options.days == 0 || options.days > kMaxDays) {
    return invalid_argument(
        fmt::format("days must be between 1 and {}, not {}", kMaxDays, options.days));
  }
  if (options.batch_size == 0) return invalid_argument("batch size must be at least 1");
  const int64_t end_us = options.end_time_us.value_or(clock.now_us());
  if (end_us < static_cast<int64_t>(options.days) * kDayUs) {
    return invalid_argument("the end time must be after the start of the history (1970 + days)");
  }
  return GameEventGenerator(options, end_us);
}

GameEventGenerator::GameEventGenerator(const GenOptions& options, int64_t end_us)
    : options_(options),
      start_us_(end_us - static_cast<int64_t>(options.days) * kDayUs),
      end_us_(end_us),
      rng_(options.seed) {
  players_.resize(options.users);
  for (Player& p : players_) {
    p.install_day = static_cast<uint32_t>(below(options.days));
    p.churns = uniform01() < 0.25;
    p.payer = uniform01() < 0.06;
    p.os = static_cast<uint8_t>(weighted(kOsWeights));
    p.os_version = static_cast<uint8_t>(p.os == 0 ? below(std::size(kIosVersions))
                                                  : below(std::size(kAndroidVersions)));
    p.device = static_cast<uint8_t>(p.os == 0 ? below(std::size(kIosDevices))
                                              : below(std::size(kAndroidDevices)));
    p.app_version = static_cast<uint8_t>(weighted(kAppVersionWeights));
    p.locale = static_cast<uint8_t>(weighted(kLocaleWeights));
    p.channel = static_cast<uint8_t>(weighted(kChannelWeights));
    p.server = static_cast<uint16_t>(below(std::size(kRegions) * kServersPerRegion));
    p.ip = static_cast<uint32_t>(1 + below((1u << 24) - 2));
  }
}

double GameEventGenerator::uniform01() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

uint64_t GameEventGenerator::below(uint64_t n) { return next_u64() % n; }

int64_t GameEventGenerator::between(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
}

template <size_t N>
size_t GameEventGenerator::weighted(const uint32_t (&weights)[N]) {
  uint64_t total = 0;
  for (uint32_t w : weights) total += w;
  uint64_t pick = below(total);
  for (size_t i = 0; i < N; ++i) {
    if (pick < weights[i]) return i;
    pick -= weights[i];
  }
  return N - 1;
}

void GameEventGenerator::plan_day(uint32_t day) {
  sessions_.clear();
  heap_.clear();
  const int64_t day_start = start_us_ + static_cast<int64_t>(day) * kDayUs;
  for (uint32_t i = 0; i < players_.size(); ++i) {
    const Player& p = players_[i];
    if (p.install_day > day) continue;
    const uint32_t since = day - p.install_day;
    if (since > 0 && (p.churns || uniform01() >= active_probability(since))) continue;
    // 1 to 4 sessions, each in its own slice of the day so a player's sessions never overlap
    // and never cross midnight.
    const double r = uniform01();
    const int n = 1 + (r < 0.45) + (r < 0.15) + (r < 0.05);
    const int64_t slot = kDayUs / n;
    for (int k = 0; k < n; ++k) {
      const double u = uniform01();
      const int64_t duration = (60 + static_cast<int64_t>(u * u * 1740)) * kSecondUs;
      const int64_t slot_start = day_start + k * slot;
      const int64_t start = between(slot_start, slot_start + slot - duration - kSecondUs);
      Session s;
      s.player = i;
      s.start_us = start;
      s.end_us = start + duration;
      s.installs = since == 0 && k == 0;
      sessions_.push_back(std::move(s));
    }
  }
  for (uint32_t k = 0; k < sessions_.size(); ++k) {
    heap_.push_back(Pending{sessions_[k].start_us, k});
  }
  std::make_heap(heap_.begin(), heap_.end(), std::greater<>());
}

void GameEventGenerator::begin_session(Session& s) {
  Player& p = players_[s.player];
  auto& out = s.events;
  int64_t t = s.start_us;
  if (s.installs) {
    out.push_back({t, EventKind::kInstall, p.channel, 0, 0});
    t += between(2, 20) * kSecondUs;
    out.push_back({t, EventKind::kIdentify, p.level, p.vip, 0});
  }
  t += between(500, 3000) * 1000;
  out.push_back({t, EventKind::kLogin, p.level, 0, 0});
  t += between(200, 1500) * 1000;
  out.push_back({t, EventKind::kSessionStart, 0, 0, 0});

  // The session's actions, in random order, spread evenly over the session.
  std::vector<EventKind> actions;
  const int chats = static_cast<int>(weighted({12, 10, 10, 10, 10, 10, 9, 8, 7, 6, 5, 3}));
  actions.insert(actions.end(), static_cast<size_t>(chats), EventKind::kChatMessage);
  // Levels come quickly at first, then slower.
  const double level_chance = 0.9 / (1.0 + p.level / 6.0);
  if (uniform01() < level_chance) actions.push_back(EventKind::kLevelUp);
  if (uniform01() < level_chance / 3) actions.push_back(EventKind::kLevelUp);
  const int purchases = static_cast<int>(weighted({55, 30, 15}));
  actions.insert(actions.end(), static_cast<size_t>(purchases), EventKind::kItemPurchase);
  if (p.payer && uniform01() < (s.installs ? 0.5 : 0.2)) actions.push_back(EventKind::kPay);
  for (size_t k = actions.size(); k > 1; --k) std::swap(actions[k - 1], actions[below(k)]);

  const int64_t begin = t + kSecondUs;
  const int64_t span = s.end_us - kSecondUs - begin;
  const int64_t step = span / static_cast<int64_t>(actions.size() + 1);
  for (size_t k = 0; k < actions.size(); ++k) {
    const int64_t at = begin + static_cast<int64_t>(k + 1) * step + between(-step / 4, step / 4);
    switch (actions[k]) {
      case EventKind::kChatMessage:
        out.push_back({at, EventKind::kChatMessage,
                       static_cast<uint32_t>(weighted(kChatChannelWeights)),
                       static_cast<uint32_t>(below(std::size(kChatTexts))), 0});
        break;
      case EventKind::kLevelUp:
        ++p.level;
        out.push_back({at, EventKind::kLevelUp, p.level, 0, 0});
        out.push_back({at + between(50, 500) * 1000, EventKind::kIdentify, p.level, p.vip, 0});
        break;
      case EventKind::kItemPurchase:
        out.push_back({at, EventKind::kItemPurchase, static_cast<uint32_t>(below(std::size(kItems))),
                       0, 0});
        break;
      case EventKind::kPay: {
        out.push_back({at, EventKind::kPay, static_cast<uint32_t>(weighted(kPayWeights)),
                       static_cast<uint32_t>(weighted(kCurrencyWeights)), 0});
        if (!p.vip) {
          p.vip = true;
          out.push_back({at + between(50, 500) * 1000, EventKind::kIdentify, p.level, 1, 0});
        }
        break;
      }
      default:
        break;
    }
  }
  out.push_back({s.end_us, EventKind::kSessionEnd,
                 static_cast<uint32_t>((s.end_us - s.start_us) / kSecondUs), 0, 0});
}

std::optional<GameEventGenerator::NextEvent> GameEventGenerator::next_event() {
  while (true) {
    while (heap_.empty()) {
      if (planned_day_ >= options_.days) return std::nullopt;
      plan_day(planned_day_++);
    }
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    const uint32_t index = heap_.back().session;
    heap_.pop_back();
    Session& s = sessions_[index];
    if (s.next == 0 && s.events.empty()) {
      // The session begins: plan its events and queue it again at its first event's time.
      begin_session(s);
      heap_.push_back(Pending{s.events.front().time_us, index});
      std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
      continue;
    }
    NextEvent out{index, s.events[s.next++]};
    if (s.next < s.events.size()) {
      heap_.push_back(Pending{s.events[s.next].time_us, index});
      std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
    } else {
      s.events = {};  // free the finished session's plan
    }
    return out;
  }
}

void GameEventGenerator::append_ids(std::string& out, uint32_t player, bool with_anonymous_id,
                                    bool with_user_id) const {
  if (with_anonymous_id) {
    out += R"(,"anonymousId":")";
    append_uuid(out, options_.seed * 0x100000001b3ULL ^ (0xa5a5ULL << 40) ^ player);
    out.push_back('"');
  }
  if (with_user_id) fmt::format_to(std::back_inserter(out), R"(,"userId":"p{:07}")", player + 1);
}

void GameEventGenerator::append_context(std::string& out, const Player& p) const {
  fmt::format_to(
      std::back_inserter(out),
      R"(,"context":{{"library":{{"name":"basalt-unity","version":"{}"}},"os":{{"name":"{}","version":"{}"}},)"
      R"("app":{{"version":"{}"}},"device":{{"model":"{}"}},"ip":"10.{}.{}.{}","locale":"{}"}})",
      kLibraryVersion, kOsNames[p.os],
      p.os == 0 ? kIosVersions[p.os_version] : kAndroidVersions[p.os_version],
      kAppVersions[p.app_version], p.os == 0 ? kIosDevices[p.device] : kAndroidDevices[p.device],
      (p.ip >> 16) & 0xff, (p.ip >> 8) & 0xff, p.ip & 0xff, kLocales[p.locale]);
}

void GameEventGenerator::append_event(std::string& out, const Session& s, const PlannedEvent& e) {
  const Player& p = players_[s.player];
  const bool identify = e.kind == EventKind::kIdentify;
  out += identify ? R"({"type":"identify")" : R"({"type":"track","event":")";
  if (!identify) {
    out += event_name(e.kind);
    out.push_back('"');
  }
  out += R"(,"messageId":")";
  append_uuid(out, (options_.seed << 40) ^ (options_.seed >> 24) ^ message_counter_++);
  out.push_back('"');
  // The install is sent before the player has an account: anonymousId only. The identify
  // links the two; later events carry the userId alone.
  append_ids(out, s.player, e.kind == EventKind::kInstall || identify,
             e.kind != EventKind::kInstall);
  out += R"(,"timestamp":")";
  append_timestamp(out, e.time_us);
  out.push_back('"');
  auto props = std::back_inserter(out);
  switch (e.kind) {
    case EventKind::kInstall:
      fmt::format_to(props, R"(,"properties":{{"channel":"{}"}})", kChannels[e.a]);
      break;
    case EventKind::kIdentify:
      fmt::format_to(props, R"(,"traits":{{"level":{},"vip":{},"server":"{}","channel":"{}"}})",
                     e.a, e.b ? "true" : "false", server_name(p.server), kChannels[p.channel]);
      break;
    case EventKind::kLogin:
      fmt::format_to(props, R"(,"properties":{{"server":"{}","level":{}}})",
                     server_name(p.server), e.a);
      break;
    case EventKind::kSessionStart:
      out += R"(,"properties":{})";
      break;
    case EventKind::kSessionEnd:
      fmt::format_to(props, R"(,"properties":{{"duration_s":{}}})", e.a);
      break;
    case EventKind::kLevelUp:
      fmt::format_to(props, R"(,"properties":{{"level":{}}})", e.a);
      break;
    case EventKind::kChatMessage: {
      const std::string_view text = kChatTexts[e.b];
      fmt::format_to(props, R"(,"properties":{{"channel":"{}","length":{},"text":)",
                     kChatChannels[e.a], text.size());
      append_json_string(out, text);
      out.push_back('}');
      break;
    }
    case EventKind::kItemPurchase:
      fmt::format_to(props, R"(,"properties":{{"item_id":"{}","price_coins":{}}})", kItems[e.a],
                     kItemPrices[e.a]);
      break;
    case EventKind::kPay:
      fmt::format_to(props,
                     R"(,"properties":{{"amount":{}.{:02},"currency":"{}","product_id":"{}"}})",
                     kPayCents[e.a] / 100, kPayCents[e.a] % 100, kCurrencies[e.b],
                     kPayProducts[e.a]);
      break;
  }
  append_context(out, p);
  out.push_back('}');
  ++counts_[event_name(e.kind)];
  ++events_;
}

std::optional<std::string> GameEventGenerator::next_body() {
  std::optional<NextEvent> next = next_event();
  if (!next) return std::nullopt;
  std::string body;
  const bool single = options_.batch_size == 1;
  body.reserve(single ? 512 : options_.batch_size * 420 + 128);
  if (!single) body += R"({"batch":[)";
  append_event(body, sessions_[next->session], next->event);
  for (size_t n = 1; n < options_.batch_size && (next = next_event()); ++n) {
    body.push_back(',');
    append_event(body, sessions_[next->session], next->event);
  }
  if (single) {
    body.pop_back();  // reopen the event object to add sentAt
  } else {
    body += "]";
  }
  // The history is sent when it ends: sentAt is the end time (the clock's now by default), so
  // a server that corrects clock skew (timestamp = receivedAt − (sentAt − timestamp)) keeps
  // every event where it was in the history.
  const int64_t sent_us = end_us_;
  body += R"(,"sentAt":")";
  append_timestamp(body, sent_us);
  body.push_back('"');
  if (options_.write_key) {
    body += R"(,"writeKey":)";
    append_json_string(body, *options_.write_key);
  }
  body.push_back('}');
  ++bodies_;
  bytes_ += body.size();
  return body;
}

std::string GameEventGenerator::summary() const {
  std::string out = fmt::format("{} bodies, {} events, {} bytes (", bodies_, events_, bytes_);
  bool first = true;
  for (const auto& [name, n] : counts_) {
    fmt::format_to(std::back_inserter(out), "{}{}={}", first ? "" : ", ", name, n);
    first = false;
  }
  out += ")";
  return out;
}

}  // namespace basalt::gen
