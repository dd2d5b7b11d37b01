#include "event/event.h"

#include <cstring>

namespace basalt::event {

namespace {

// Version 2 added the typed values of events and the id and call type of quarantined events;
// version 3 the enrichment fields of events. Older versions are still read.
constexpr uint8_t kVersion = 3;
constexpr uint8_t kOldestVersion = 1;

constexpr std::string_view kTypeNames[] = {"",       "track", "identify", "page",
                                           "screen", "group", "alias"};

constexpr size_t kMaxVarint = 10;

// Writes a record into room the caller has made (Room), so that no byte checks the string's
// capacity: one resize per record instead of a check per field and byte.
class Writer {
 public:
  explicit Writer(char* at) : p_(at) {}
  char* end() const { return p_; }

  void byte(uint8_t b) { *p_++ = static_cast<char>(b); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  // zig-zag so small negative numbers stay short
  void i64(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void str(std::string_view s) {
    varint(s.size());
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void opt(const std::optional<int64_t>& v) {
    byte(v ? 1 : 0);
    if (v) i64(*v);
  }
  void f64(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; ++i) byte(static_cast<uint8_t>((bits >> (8 * i)) & 0xff));
  }
  void typed(const TypedField& f) {
    str(f.name);
    byte(static_cast<uint8_t>(f.type));
    switch (f.type) {
      case ValueType::kString:
      case ValueType::kJson:
        str(f.text);
        break;
      case ValueType::kInt:
      case ValueType::kBool:
      case ValueType::kTimestamp:
        i64(f.int_value);
        break;
      case ValueType::kFloat:
        f64(f.float_value);
        break;
      case ValueType::kStringList:
        varint(f.list.size());
        for (const auto& item : f.list) str(item);
        break;
      case ValueType::kNull:
        break;
    }
  }

 private:
  char* p_;
};

// At most how many bytes Writer::str and Writer::typed write.
size_t str_bound(std::string_view s) { return kMaxVarint + s.size(); }
size_t typed_bound(const TypedField& f) {
  size_t n = str_bound(f.name) + 1 + str_bound(f.text) + kMaxVarint;
  for (const auto& item : f.list) n += str_bound(item);
  return n;
}

// Grows `out` by `bound` bytes for a Writer, and trims it to what was written.
class Room {
 public:
  Room(std::string& out, size_t bound) : out_(out), old_(out.size()) { out.resize(old_ + bound); }
  char* at() { return out_.data() + old_; }
  void done(const Writer& w) { out_.resize(static_cast<size_t>(w.end() - out_.data())); }

 private:
  std::string& out_;
  size_t old_;
};

// Reads fields in order; the first failure sticks and later reads return empty values.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  int64_t i64() {
    uint64_t u = varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  uint8_t byte() {
    if (pos_ >= in_.size()) return static_cast<uint8_t>(fail());
    return static_cast<uint8_t>(in_[pos_++]);
  }
  std::string str() {
    std::string s;
    str(s);
    return s;
  }
  // Reads a string into `out`, keeping its buffer.
  void str(std::string& out) {
    uint64_t n = varint();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      out.clear();
      return;
    }
    out.assign(in_.data() + pos_, n);
    pos_ += n;
  }
  std::optional<int64_t> opt() {
    if (byte() == 0) return std::nullopt;
    return i64();
  }
  double f64() {
    if (in_.size() - pos_ < 8) return static_cast<double>(fail());
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 8;
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  // A count of items that each take at least one byte: larger than what is left is corrupt.
  uint64_t count() {
    uint64_t n = varint();
    if (n > in_.size() - pos_) return fail();
    return n;
  }
  bool ok() const { return ok_; }
  // Marks the record corrupt (e.g. an unknown value type).
  void corrupt() { fail(); }
  Status finish(const char* what) const {
    if (!ok_) return data_loss(std::string(what) + " record is truncated");
    if (pos_ != in_.size()) return data_loss(std::string(what) + " record has trailing bytes");
    return Status::ok();
  }

 private:
  uint64_t fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string_view event_type_name(EventType type) {
  auto i = static_cast<size_t>(type);
  return i < std::size(kTypeNames) ? kTypeNames[i] : "";
}

std::optional<EventType> parse_event_type(std::string_view name) {
  for (size_t i = 1; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

void encode(const Event& e, std::string& out) {
  const std::string* const ids[] = {&e.event_id, &e.message_id,   &e.source,   &e.event,
                                    &e.user_id,  &e.anonymous_id, &e.group_id, &e.previous_id};
  const std::string* const fields[] = {
      &e.ip,          &e.user_agent,      &e.library_name, &e.library_version, &e.os_name,
      &e.app_version, &e.properties_json, &e.traits_json,  &e.context_json};
  const std::string* const enriched[] = {
      &e.browser,      &e.browser_version, &e.os_family, &e.os_version, &e.device_family,
      &e.device_brand, &e.device_model,    &e.country,   &e.region,     &e.city};
  size_t bound = 3 + 4 * (1 + kMaxVarint) + kMaxVarint;
  for (const std::string* s : ids) bound += str_bound(*s);
  for (const std::string* s : fields) bound += str_bound(*s);
  for (const TypedField& f : e.typed) bound += typed_bound(f);
  for (const std::string* s : enriched) bound += str_bound(*s);

  Room room(out, bound);
  Writer w(room.at());
  w.byte(static_cast<uint8_t>(RecordKind::kEvent));
  w.byte(kVersion);
  w.byte(static_cast<uint8_t>(e.type));
  for (const std::string* s : ids) w.str(*s);
  w.i64(e.timestamp_us);
  w.i64(e.received_at_us);
  w.opt(e.sent_at_us);
  w.opt(e.original_timestamp_us);
  for (const std::string* s : fields) w.str(*s);
  w.varint(e.typed.size());
  for (const TypedField& f : e.typed) w.typed(f);
  for (const std::string* s : enriched) w.str(*s);
  room.done(w);
}

void encode(const QuarantinedEvent& q, std::string& out) {
  Room room(out, 2 + str_bound(q.source) + kMaxVarint + str_bound(q.reason) +
                     str_bound(q.raw_json) + str_bound(q.ip) + str_bound(q.quarantine_id) + 1);
  Writer w(room.at());
  w.byte(static_cast<uint8_t>(RecordKind::kQuarantine));
  w.byte(kVersion);
  w.str(q.source);
  w.i64(q.received_at_us);
  w.str(q.reason);
  w.str(q.raw_json);
  w.str(q.ip);
  w.str(q.quarantine_id);
  w.byte(q.type ? static_cast<uint8_t>(*q.type) : 0);
  room.done(w);
}

Result<RecordKind> record_kind(std::string_view record) {
  if (record.size() < 2) return data_loss("record too short to hold a kind and version");
  auto kind = static_cast<uint8_t>(record[0]);
  auto version = static_cast<uint8_t>(record[1]);
  if (kind != static_cast<uint8_t>(RecordKind::kEvent) &&
      kind != static_cast<uint8_t>(RecordKind::kQuarantine)) {
    return data_loss("unknown record kind " + std::to_string(kind));
  }
  if (version < kOldestVersion || version > kVersion)
    return data_loss("unknown record version " + std::to_string(version));
  return static_cast<RecordKind>(kind);
}

Status decode_event(std::string_view record, Event& e) {
  auto kind = record_kind(record);
  if (!kind) return kind.status();
  if (*kind != RecordKind::kEvent) return data_loss("not an event record");
  const auto version = static_cast<uint8_t>(record[1]);
  Reader r(record.substr(2));
  uint8_t type = r.byte();
  if (type < 1 || type >= std::size(kTypeNames)) {
    return data_loss("event record has unknown type " + std::to_string(type));
  }
  e.type = static_cast<EventType>(type);
  for (std::string* s : {&e.event_id, &e.message_id, &e.source, &e.event, &e.user_id,
                         &e.anonymous_id, &e.group_id, &e.previous_id}) {
    r.str(*s);
  }
  e.timestamp_us = r.i64();
  e.received_at_us = r.i64();
  e.sent_at_us = r.opt();
  e.original_timestamp_us = r.opt();
  for (std::string* s : {&e.ip, &e.user_agent, &e.library_name, &e.library_version, &e.os_name,
                         &e.app_version, &e.properties_json, &e.traits_json, &e.context_json}) {
    r.str(*s);
  }
  e.typed.clear();
  if (version >= 2) {
    const uint64_t n = r.count();
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      TypedField& f = e.typed.emplace_back();
      r.str(f.name);
      const uint8_t t = r.byte();
      if (t < static_cast<uint8_t>(ValueType::kString) ||
          t > static_cast<uint8_t>(ValueType::kNull)) {
        r.corrupt();
        return data_loss("event record has a typed value of unknown type " + std::to_string(t));
      }
      f.type = static_cast<ValueType>(t);
      switch (f.type) {
        case ValueType::kString:
        case ValueType::kJson:
          r.str(f.text);
          break;
        case ValueType::kInt:
        case ValueType::kBool:
        case ValueType::kTimestamp:
          f.int_value = r.i64();
          break;
        case ValueType::kFloat:
          f.float_value = r.f64();
          break;
        case ValueType::kStringList: {
          const uint64_t items = r.count();
          for (uint64_t j = 0; j < items && r.ok(); ++j) r.str(f.list.emplace_back());
          break;
        }
        case ValueType::kNull:
          break;
      }
    }
  }
  for (std::string* s :
       {&e.browser, &e.browser_version, &e.os_family, &e.os_version, &e.device_family,
        &e.device_brand, &e.device_model, &e.country, &e.region, &e.city}) {
    if (version >= 3) {
      r.str(*s);
    } else {
      s->clear();
    }
  }
  return r.finish("event");
}

Result<Event> decode_event(std::string_view record) {
  Event e;
  BASALT_RETURN_IF_ERROR(decode_event(record, e));
  return e;
}

Result<QuarantinedEvent> decode_quarantined(std::string_view record) {
  auto kind = record_kind(record);
  if (!kind) return kind.status();
  if (*kind != RecordKind::kQuarantine) return data_loss("not a quarantine record");
  Reader r(record.substr(2));
  QuarantinedEvent q;
  q.source = r.str();
  q.received_at_us = r.i64();
  q.reason = r.str();
  q.raw_json = r.str();
  q.ip = r.str();
  if (static_cast<uint8_t>(record[1]) >= 2) {
    q.quarantine_id = r.str();
    const uint8_t t = r.byte();
    if (t >= std::size(kTypeNames)) {
      return data_loss("quarantine record has unknown call type " + std::to_string(t));
    }
    if (t != 0) q.type = static_cast<EventType>(t);
  }
  BASALT_RETURN_IF_ERROR(r.finish("quarantine"));
  return q;
}

}  // namespace basalt::event
