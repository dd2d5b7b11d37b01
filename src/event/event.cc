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

void put_varint(uint64_t v, std::string& out) {
  if (v < 0x80) {  // most lengths and flags: one byte
    out.push_back(static_cast<char>(v));
    return;
  }
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

void put_i64(int64_t v, std::string& out) {
  // zig-zag so small negative numbers stay short
  put_varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

void put_str(std::string_view s, std::string& out) {
  put_varint(s.size(), out);
  out.append(s);
}

void put_opt(const std::optional<int64_t>& v, std::string& out) {
  out.push_back(v ? 1 : 0);
  if (v) put_i64(*v, out);
}

void put_f64(double v, std::string& out) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void put_typed(const TypedField& f, std::string& out) {
  put_str(f.name, out);
  out.push_back(static_cast<char>(f.type));
  switch (f.type) {
    case ValueType::kString:
    case ValueType::kJson:
      put_str(f.text, out);
      break;
    case ValueType::kInt:
    case ValueType::kBool:
    case ValueType::kTimestamp:
      put_i64(f.int_value, out);
      break;
    case ValueType::kFloat:
      put_f64(f.float_value, out);
      break;
    case ValueType::kStringList:
      put_varint(f.list.size(), out);
      for (const auto& item : f.list) put_str(item, out);
      break;
    case ValueType::kNull:
      break;
  }
}

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
    uint64_t n = varint();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
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
  out.push_back(static_cast<char>(RecordKind::kEvent));
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(e.type));
  for (const std::string* s : {&e.event_id, &e.message_id, &e.source, &e.event, &e.user_id,
                               &e.anonymous_id, &e.group_id, &e.previous_id}) {
    put_str(*s, out);
  }
  put_i64(e.timestamp_us, out);
  put_i64(e.received_at_us, out);
  put_opt(e.sent_at_us, out);
  put_opt(e.original_timestamp_us, out);
  for (const std::string* s :
       {&e.ip, &e.user_agent, &e.library_name, &e.library_version, &e.os_name, &e.app_version,
        &e.properties_json, &e.traits_json, &e.context_json}) {
    put_str(*s, out);
  }
  put_varint(e.typed.size(), out);
  for (const TypedField& f : e.typed) put_typed(f, out);
  for (const std::string* s : {&e.browser, &e.browser_version, &e.os_family, &e.os_version,
                               &e.device_family, &e.device_brand, &e.device_model, &e.country,
                               &e.region, &e.city}) {
    put_str(*s, out);
  }
}

void encode(const QuarantinedEvent& q, std::string& out) {
  out.push_back(static_cast<char>(RecordKind::kQuarantine));
  out.push_back(static_cast<char>(kVersion));
  put_str(q.source, out);
  put_i64(q.received_at_us, out);
  put_str(q.reason, out);
  put_str(q.raw_json, out);
  put_str(q.ip, out);
  put_str(q.quarantine_id, out);
  out.push_back(static_cast<char>(q.type ? static_cast<uint8_t>(*q.type) : 0));
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

Result<Event> decode_event(std::string_view record) {
  auto kind = record_kind(record);
  if (!kind) return kind.status();
  if (*kind != RecordKind::kEvent) return data_loss("not an event record");
  Reader r(record.substr(2));
  Event e;
  uint8_t type = r.byte();
  if (type < 1 || type >= std::size(kTypeNames)) {
    return data_loss("event record has unknown type " + std::to_string(type));
  }
  e.type = static_cast<EventType>(type);
  for (std::string* s : {&e.event_id, &e.message_id, &e.source, &e.event, &e.user_id,
                         &e.anonymous_id, &e.group_id, &e.previous_id}) {
    *s = r.str();
  }
  e.timestamp_us = r.i64();
  e.received_at_us = r.i64();
  e.sent_at_us = r.opt();
  e.original_timestamp_us = r.opt();
  for (std::string* s : {&e.ip, &e.user_agent, &e.library_name, &e.library_version, &e.os_name,
                         &e.app_version, &e.properties_json, &e.traits_json, &e.context_json}) {
    *s = r.str();
  }
  if (static_cast<uint8_t>(record[1]) >= 2) {
    const uint64_t n = r.count();
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      TypedField f;
      f.name = r.str();
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
          f.text = r.str();
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
          for (uint64_t j = 0; j < items && r.ok(); ++j) f.list.push_back(r.str());
          break;
        }
        case ValueType::kNull:
          break;
      }
      e.typed.push_back(std::move(f));
    }
  }
  if (static_cast<uint8_t>(record[1]) >= 3) {
    for (std::string* s : {&e.browser, &e.browser_version, &e.os_family, &e.os_version,
                           &e.device_family, &e.device_brand, &e.device_model, &e.country,
                           &e.region, &e.city}) {
      *s = r.str();
    }
  }
  BASALT_RETURN_IF_ERROR(r.finish("event"));
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
