#include "warehouse/clickhouse/clickhouse_warehouse.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "http/content_coding.h"
#include "schema/attribute_merge.h"
#include "warehouse/user_deltas.h"

namespace basalt::warehouse::clickhouse {

namespace {

// The error of a non-200 answer: ClickHouse's "Code: N, e.displayText() = …".
Status error_of(int http_status, const std::string& body, const std::string& what) {
  int code = 0;
  constexpr std::string_view kCode = "Code: ";
  if (body.starts_with(kCode)) {
    std::from_chars(body.data() + kCode.size(), body.data() + body.size(), code);
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string message = "ClickHouse " + what + ": " + text;
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
      return Status(StatusCode::kDeadlineExceeded, message);
    case 192:  // UNKNOWN_USER
    case 193:  // WRONG_PASSWORD
    case 194:  // REQUIRED_PASSWORD
    case 516:  // AUTHENTICATION_FAILED
      return failed_precondition(message);
    default:
      break;
  }
  if (http_status >= 500 && code == 0) return unavailable(message);
  return invalid_argument(message);
}

void json_string(std::string_view s, std::string& out) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

void field(std::string_view name, std::string_view value, std::string& out) {
  out.push_back(out.back() == '{' ? ' ' : ',');
  json_string(name, out);
  out.push_back(':');
  json_string(value, out);
}
void nullable(std::string_view name, std::string_view value, std::string& out) {
  out.push_back(out.back() == '{' ? ' ' : ',');
  json_string(name, out);
  out.push_back(':');
  if (value.empty()) {
    out += "null";
  } else {
    json_string(value, out);
  }
}
void number(std::string_view name, int64_t value, std::string& out) {
  out.push_back(out.back() == '{' ? ' ' : ',');
  json_string(name, out);
  out.push_back(':');
  out += std::to_string(value);
}
int64_t seconds_of(int64_t us) { return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000); }

// DateTime holds seconds 1970-01-01 to 2106-02-07; times outside are clamped (the _us column
// beside it keeps the exact value).
int64_t datetime_seconds(int64_t us) {
  return std::clamp<int64_t>(seconds_of(us), 0, std::numeric_limits<uint32_t>::max());
}

void json_double(double v, std::string& out) {
  if (!std::isfinite(v)) {  // JSON has no inf/nan; validated values are finite anyway
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out += buf;
}

// `,"<column>":<value>` for a validated value of the column's type (and the `_us` companion
// of a timestamp); nothing when the value is of another type (the plan changed it, or an
// explicit null), so the column gets its default.
void typed_member(std::string_view column, const event::TypedField& f, event::ValueType type,
                  std::string& out) {
  if (f.type != type) return;
  out.push_back(',');
  json_string(column, out);
  out.push_back(':');
  switch (f.type) {
    case event::ValueType::kString:
    case event::ValueType::kJson:
      json_string(f.text, out);
      return;
    case event::ValueType::kInt:
      out += std::to_string(f.int_value);
      return;
    case event::ValueType::kFloat:
      json_double(f.float_value, out);
      return;
    case event::ValueType::kBool:
      out += f.int_value != 0 ? "1" : "0";
      return;
    case event::ValueType::kTimestamp:
      out += std::to_string(datetime_seconds(f.int_value));
      out.push_back(',');
      json_string(micros_column_of(column), out);
      out.push_back(':');
      out += std::to_string(f.int_value);
      return;
    case event::ValueType::kStringList: {
      out.push_back('[');
      for (size_t i = 0; i < f.list.size(); ++i) {
        if (i) out.push_back(',');
        json_string(f.list[i], out);
      }
      out.push_back(']');
      return;
    }
    case event::ValueType::kNull:
      out += "null";
      return;
  }
}

// The stored value of a_ column `column` in a users row read as JSONCompact (a timestamp from
// its _us companion), as an AttributeValue of the column's type; monostate when NULL.
schema::AttributeValue stored_attribute(const nlohmann::json& row, const std::string& column,
                                        event::ValueType type) {
  auto it = row.find(type == event::ValueType::kTimestamp ? micros_column_of(column) : column);
  if (it == row.end() || it->is_null()) return std::monostate{};
  const nlohmann::json& v = *it;
  switch (type) {
    case event::ValueType::kString:
    case event::ValueType::kJson:
    case event::ValueType::kNull:
      if (v.is_string()) return v.get<std::string>();
      return std::monostate{};
    case event::ValueType::kInt:
    case event::ValueType::kTimestamp:
      if (v.is_number()) return v.get<int64_t>();
      return std::monostate{};
    case event::ValueType::kFloat:
      if (v.is_number()) return v.get<double>();
      return std::monostate{};
    case event::ValueType::kBool:
      if (v.is_boolean()) return v.get<bool>();
      if (v.is_number()) return v.get<int64_t>() != 0;
      return std::monostate{};
    case event::ValueType::kStringList: {
      std::vector<std::string> out;
      // An Array column cannot be NULL: [] is what DuckDB holds as NULL (no value).
      if (!v.is_array() || v.empty()) return std::monostate{};
      for (const auto& x : v) {
        if (x.is_string()) out.push_back(x.get<std::string>());
      }
      return out;
    }
  }
  return std::monostate{};
}

// Writes a merged attribute into its a_ column of `row` (NULL, or [] for a list, when it has no
// value or, after a plan change, a value of another type), as the DuckDB engine does.
void set_attribute(nlohmann::json& row, const std::string& column, const schema::AttributeValue& v,
                   event::ValueType type) {
  using V = event::ValueType;
  nlohmann::json out;  // null
  int64_t micros = 0;
  bool timestamp = false;
  if (const auto* b = std::get_if<bool>(&v); b && type == V::kBool) out = *b ? 1 : 0;
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (type == V::kInt) out = *i;
    if (type == V::kFloat) out = static_cast<double>(*i);
    if (type == V::kTimestamp) {
      out = datetime_seconds(*i);
      micros = *i;
      timestamp = true;
    }
  }
  if (const auto* d = std::get_if<double>(&v); d && type == V::kFloat && std::isfinite(*d)) {
    out = *d;
  }
  if (const auto* s = std::get_if<std::string>(&v); s && (type == V::kString || type == V::kJson)) {
    out = *s;
  }
  if (type == V::kStringList) {
    out = nlohmann::json::array();
    if (const auto* l = std::get_if<std::vector<std::string>>(&v)) out = *l;
  }
  row[column] = std::move(out);
  if (type == V::kTimestamp) {
    row[micros_column_of(column)] = timestamp ? nlohmann::json(micros) : nlohmann::json();
  }
}

// A quarantine row's identity for the after-crash check.
std::string quarantine_key(int64_t received_at_us, std::string_view reason, std::string_view raw) {
  std::string k = std::to_string(received_at_us);
  k.push_back('\t');
  k += reason;
  k.push_back('\t');
  k += raw;
  return k;
}

Value value_of(const nlohmann::json& v, const std::string& type) {
  if (v.is_null()) return std::monostate{};
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
      return std::to_string(v.get<uint64_t>());
    }
    if (type.find("Bool") != std::string::npos) return v.get<int64_t>() != 0;
    // ClickHouse prints a whole Float64 without a point (50, not 50.0): still a double.
    if (type.find("Float") != std::string::npos) return v.get<double>();
    return v.get<int64_t>();
  }
  if (v.is_number_float()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  return v.dump();  // arrays, tuples
}

}  // namespace

void ClickHouseWarehouse::append_event_row(const event::Event& e, const std::string& consumer,
                                           uint64_t batch_end, std::string& out) const {
  out.push_back('{');
  field("event_id", e.event_id, out);
  field("message_id", e.message_id, out);
  field("source", e.source, out);
  field("type", event::event_type_name(e.type), out);
  field("event", e.event, out);
  nullable("user_id", e.user_id, out);
  nullable("anonymous_id", e.anonymous_id, out);
  nullable("group_id", e.group_id, out);
  nullable("previous_id", e.previous_id, out);
  number("timestamp", datetime_seconds(e.timestamp_us), out);
  number("timestamp_us", e.timestamp_us, out);
  number("received_at", datetime_seconds(e.received_at_us), out);
  number("received_at_us", e.received_at_us, out);
  out += ",\"sent_at_us\":";
  out += e.sent_at_us ? std::to_string(*e.sent_at_us) : "null";
  out += ",\"original_timestamp_us\":";
  out += e.original_timestamp_us ? std::to_string(*e.original_timestamp_us) : "null";
  nullable("ip", e.ip, out);
  nullable("user_agent", e.user_agent, out);
  nullable("library_name", e.library_name, out);
  nullable("library_version", e.library_version, out);
  nullable("os_name", e.os_name, out);
  nullable("app_version", e.app_version, out);
  field("properties", e.properties_json.empty() ? "{}" : e.properties_json, out);
  field("traits", e.traits_json.empty() ? "{}" : e.traits_json, out);
  field("context", e.context_json.empty() ? "{}" : e.context_json, out);
  field("_loader", consumer, out);
  number("_batch_end", static_cast<int64_t>(batch_end), out);
  // Typed columns: declared properties of track events (as the DuckDB engine fills them).
  if (!event_columns_.empty() && e.type == event::EventType::kTrack && !e.typed.empty()) {
    for (size_t i = 0; i < e.typed.size(); ++i) {
      const event::TypedField& f = e.typed[i];
      auto it = event_column_index_.find(f.name);
      if (it == event_column_index_.end()) continue;
      // A name given twice is written once, the last one as in DuckDB (JSONEachRow refuses a
      // repeated key); a few fields per event, so the scan is cheap.
      bool repeated = false;
      for (size_t j = i + 1; j < e.typed.size() && !repeated; ++j) {
        repeated = e.typed[j].name == f.name;
      }
      if (repeated) continue;
      const FilledColumn& c = event_columns_[it->second];
      typed_member(c.column, f, c.type, out);
    }
  }
  out += "}\n";
}

Result<std::unique_ptr<ClickHouseWarehouse>> ClickHouseWarehouse::open(
    const ClickHouseOptions& options) {
  if (!options.url.starts_with("http://")) {
    return invalid_argument("ClickHouse url '" + options.url + "' must be http://host:port");
  }
  std::unique_ptr<ClickHouseWarehouse> w(new ClickHouseWarehouse(options));
  w->auth_ = http::basic_authorization(options.user, options.password);
  w->schema_.database = options.database;
  w->schema_.cluster = options.cluster;
  auto version = w->execute("SELECT version()", "", false, std::chrono::seconds(10));
  if (!version) return version.status();
  auto parsed = parse_server_version(*version);
  if (!parsed) return parsed.status();
  w->schema_.version = *parsed;
  auto exists = w->execute("SELECT count() FROM system.databases WHERE name = " +
                           quote_string(options.database));
  if (!exists) return exists.status();
  w->database_exists_ = exists->starts_with("1");
  spdlog::info("ClickHouse {} at {} (database {}{})", *version, options.url, options.database,
               options.cluster.empty() ? "" : ", cluster " + options.cluster);
  return w;
}

Result<std::string> ClickHouseWarehouse::execute(const std::string& statement,
                                                 const std::string& body, bool gzip,
                                                 std::chrono::milliseconds timeout,
                                                 const std::string& settings) {
  if (timeout.count() == 0) timeout = options_.timeout;
  auto client = http::Client::connect_to(options_.url, timeout);
  if (!client) return client.status();
  http::ClientRequest req;
  req.method = "POST";
  std::string target = "/?output_format_json_quote_64bit_integers=0";
  if (!schema_.cluster.empty()) target += "&insert_distributed_sync=1";
  // The database may not exist yet while ensure_schema creates it.
  if (database_exists_) target += "&database=" + url_encode(options_.database);
  target += settings;
  req.headers = {{"Authorization", auth_}};
  if (body.empty()) {
    req.body = statement;
  } else {
    target += "&query=" + url_encode(statement);
    if (gzip) {
      // zlib's fastest level: with the default level (6) compressing the batches was a
      // quarter of the Kafka loader's CPU in a profile (bench/README.md, "scaleout.sh").
      req.body = http::gzip_compress(body, /*level=*/1);
      req.headers.emplace_back("Content-Encoding", "gzip");
    } else {
      req.body = body;
    }
  }
  req.target = std::move(target);
  auto r = (*client)->send(req);
  if (!r) {
    return Status(r.status().code(), "ClickHouse at " + options_.url + ": " + r.status().message());
  }
  if (r->status != 200) {
    return error_of(r->status, r->body,
                    statement.size() > 200 ? statement.substr(0, 200) + "…" : statement);
  }
  return std::move(r->body);
}

Status ClickHouseWarehouse::ensure_schema() {
  for (const auto& statement : schema_statements(schema_)) {
    auto r = execute(statement);
    if (!r) return r.status();
    database_exists_ = true;  // the first statement creates it
  }
  // Tables created by an earlier version lack the columns users gained since.
  auto existing = table_columns();
  if (!existing) return existing.status();
  for (const std::string& table : physical_tables(schema_, "users")) {
    std::vector<std::pair<std::string, std::string>> missing;
    for (const auto& c : users_added_columns()) {
      if (!existing->contains(table + "." + c.first)) missing.push_back(c);
    }
    if (missing.empty()) continue;
    auto r = execute(add_columns_statement(schema_, table, missing));
    if (!r) return r.status();
    spdlog::info("ClickHouse: added {} columns to {}", missing.size(), table);
  }
  return Status::ok();
}

Result<std::map<std::string, std::string>> ClickHouseWarehouse::table_columns() {
  std::string tables;
  for (std::string_view t : {"events", "users"}) {
    for (const std::string& p : physical_tables(schema_, t)) {
      if (!tables.empty()) tables += ", ";
      tables += quote_string(p);
    }
  }
  auto r = execute("SELECT table, name, type FROM system.columns WHERE database = " +
                   quote_string(options_.database) + " AND table IN (" + tables +
                   ") FORMAT TabSeparated");
  if (!r) return r.status();
  std::map<std::string, std::string> out;
  std::string_view text(*r);
  for (const auto& f : tsv_rows(text)) {
    if (f.size() != 3) continue;
    out.emplace(unescape_tsv(f[0]) + "." + unescape_tsv(f[1]), unescape_tsv(f[2]));
  }
  return out;
}

Result<std::vector<std::string>> ClickHouseWarehouse::apply_plan_columns(
    const PlanColumns& columns) {
  std::unique_lock lock(columns_mu_);
  auto existing = table_columns();
  if (!existing) return existing.status();
  std::vector<std::string> messages;
  auto apply = [&](std::string_view table, std::string_view prefix,
                   const std::vector<PlanColumn>& plan, std::vector<FilledColumn>& filled,
                   std::unordered_map<std::string, size_t>& index) -> Status {
    // The µs companions of timestamp columns take their names.
    std::set<std::string> companions;
    for (const PlanColumn& c : plan) {
      if (c.type == event::ValueType::kTimestamp) {
        companions.insert(micros_column_of(std::string(prefix) + c.name));
      }
    }
    const std::string written = physical_tables(schema_, table).back();  // what load() writes
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> missing;
    std::vector<FilledColumn> next;
    for (const PlanColumn& c : plan) {
      std::string column = std::string(prefix) + c.name;
      if (companions.contains(column)) {
        messages.push_back(std::string(table) + "." + column +
                           " holds the microseconds of a timestamp of the tracking plan, so " +
                           c.name + " gets no column of its own (rename it)");
        continue;
      }
      std::vector<std::pair<std::string, std::string>> wanted = {
          {column, std::string(column_type_of(c.type))}};
      if (c.type == event::ValueType::kTimestamp) {
        wanted.emplace_back(micros_column_of(column), std::string(kMicrosColumnType));
      }
      bool fits = true;
      for (const auto& [name, type] : wanted) {
        auto it = existing->find(written + "." + name);
        if (it != existing->end() && it->second != type) {
          messages.push_back(std::string(table) + "." + name + " is " + it->second +
                             " but the tracking plan says " + type +
                             ": the column keeps its type and is no longer filled (migrate it, "
                             "e.g. ALTER TABLE … MODIFY COLUMN, or rename the property)");
          fits = false;
        }
      }
      if (!fits) continue;
      for (const std::string& t : physical_tables(schema_, table)) {
        for (const auto& w : wanted) {
          if (!existing->contains(t + "." + w.first)) missing[t].push_back(w);
        }
      }
      next.push_back({c.name, std::move(column), c.type, c.merge});
    }
    for (const std::string& t : physical_tables(schema_, table)) {  // local tables first
      auto m = missing.find(t);
      if (m == missing.end()) continue;
      auto r = execute(add_columns_statement(schema_, t, m->second));
      if (!r) return r.status();
      for (const auto& [name, type] : m->second) {
        spdlog::info("ClickHouse: added column {}.{} {}", t, name, type);
      }
    }
    filled = std::move(next);
    index.clear();
    for (size_t i = 0; i < filled.size(); ++i) index.emplace(filled[i].name, i);
    return Status::ok();
  };
  if (Status s = apply("events", "p_", columns.properties, event_columns_, event_column_index_);
      !s.is_ok()) {
    return s;
  }
  if (Status s = apply("users", "a_", columns.attributes, user_columns_, user_column_index_);
      !s.is_ok()) {
    return s;
  }
  return messages;
}

ClickHouseWarehouse::ConsumerState& ClickHouseWarehouse::consumer_state(
    const std::string& consumer) {
  std::lock_guard lock(consumers_mu_);
  auto& c = consumers_[consumer];
  if (!c) c = std::make_unique<ConsumerState>();
  return *c;
}

Result<std::optional<uint64_t>> ClickHouseWarehouse::load_offset(const std::string& consumer) {
  ConsumerState& c = consumer_state(consumer);
  std::lock_guard lock(c.mu);
  return read_offset(consumer, c);
}

Result<std::optional<uint64_t>> ClickHouseWarehouse::read_offset(const std::string& consumer,
                                                                 ConsumerState& c) {
  auto r = execute(
      "SELECT state, max(next_lsn) FROM " + qualified_table(schema_, "basalt_offsets") +
      " WHERE consumer = " + quote_string(consumer) + " GROUP BY state FORMAT TabSeparated");
  if (!r) return r.status();
  std::optional<uint64_t> done, pending;
  size_t start = 0;
  while (start < r->size()) {
    size_t nl = r->find('\n', start);
    if (nl == std::string::npos) nl = r->size();
    auto fields = split_tsv(std::string_view(*r).substr(start, nl - start));
    start = nl + 1;
    if (fields.size() != 2) continue;
    uint64_t v = 0;
    std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), v);
    if (fields[0] == "done") done = v;
    if (fields[0] == "pending") pending = v;
  }
  c.known = true;
  c.done = done.value_or(0);
  c.pending_end = pending.value_or(0);
  c.verify = pending && (!done || *pending > *done);
  if (c.verify) {
    spdlog::warn(
        "ClickHouse: consumer {} has a pending load past offset {}: its rows are "
        "checked before the next batch is inserted",
        consumer, done.value_or(0));
  }
  return done;
}

Status ClickHouseWarehouse::record_offset(const std::string& consumer, uint64_t first,
                                          uint64_t next, const char* state) {
  std::string row = "{\"consumer\":";
  json_string(consumer, row);
  row += fmt::format(",\"first_lsn\":{},\"next_lsn\":{},\"state\":\"{}\",\"updated_at\":{}}}\n",
                     first, next, state, std::time(nullptr));
  return insert_rows("basalt_offsets", row);
}

Status ClickHouseWarehouse::insert_rows(const std::string& table, const std::string& rows,
                                        const std::string& settings) {
  if (rows.empty()) return Status::ok();
  if (options_.before_insert) {
    if (Status s = options_.before_insert(table); !s.is_ok()) return s;
  }
  auto r = execute("INSERT INTO " + qualified_table(schema_, table) + " FORMAT JSONEachRow", rows,
                   /*gzip=*/rows.size() > 4096, std::chrono::milliseconds(0), settings);
  return r.status();
}

Status ClickHouseWarehouse::load(const LoadBatch& batch, const std::string& consumer) {
  ConsumerState& c = consumer_state(consumer);
  std::lock_guard lock(c.mu);
  std::shared_lock columns_lock(columns_mu_);
  if (!c.known) {
    auto offset = read_offset(consumer, c);
    if (!offset) return offset.status();
  }
  const uint64_t first = c.done;
  const uint64_t next = batch.next_lsn;
  // What a crashed or failed load may already have stored.
  std::unordered_set<std::string> stored_events, stored_quarantine;
  if (c.verify) {
    auto ids = execute("SELECT event_id FROM " + qualified_table(schema_, "events") +
                       " WHERE _loader = " + quote_string(consumer) + " AND _batch_end > " +
                       std::to_string(first) + " FORMAT TabSeparated");
    if (!ids) return ids.status();
    size_t start = 0;
    while (start < ids->size()) {
      size_t nl = ids->find('\n', start);
      if (nl == std::string::npos) nl = ids->size();
      stored_events.insert(unescape_tsv(std::string_view(*ids).substr(start, nl - start)));
      start = nl + 1;
    }
    auto q = execute("SELECT received_at_us, reason, raw FROM " +
                     qualified_table(schema_, "quarantine") +
                     " WHERE _loader = " + quote_string(consumer) + " AND _batch_end > " +
                     std::to_string(first) + " FORMAT TabSeparated");
    if (!q) return q.status();
    start = 0;
    while (start < q->size()) {
      size_t nl = q->find('\n', start);
      if (nl == std::string::npos) nl = q->size();
      auto f = split_tsv(std::string_view(*q).substr(start, nl - start));
      start = nl + 1;
      if (f.size() != 3) continue;
      int64_t at = 0;
      std::from_chars(f[0].data(), f[0].data() + f[0].size(), at);
      stored_quarantine.insert(quarantine_key(at, unescape_tsv(f[1]), unescape_tsv(f[2])));
    }
    if (!stored_events.empty() || !stored_quarantine.empty()) {
      spdlog::warn(
          "ClickHouse: {} events and {} quarantine rows of an interrupted load of {} "
          "are already stored; they are not inserted again",
          stored_events.size(), stored_quarantine.size(), consumer);
    }
  }
  auto fail = [&](Status s) {
    c.verify = true;  // the server may have stored part of it
    return s;
  };
  c.pending_end = std::max(c.pending_end, next);
  if (Status s = record_offset(consumer, first, next, "pending"); !s.is_ok()) return fail(s);
  c.verify = true;

  std::string rows;
  rows.reserve(batch.events.size() * 600);
  for (const auto& e : batch.events) {
    if (!stored_events.empty() && stored_events.contains(e.event_id)) continue;
    append_event_row(e, consumer, next, rows);
  }
  // A whole batch carries a deduplication token where the server has them (a part of one,
  // after an interrupted load, must not: the token of the whole would drop it).
  auto token = [&](const char* table, bool whole) {
    return whole ? insert_deduplication_settings(schema_.version, consumer, first, next, table)
                 : std::string();
  };
  if (Status s = insert_rows("events", rows, token("events", stored_events.empty())); !s.is_ok()) {
    return fail(s);
  }

  rows.clear();
  for (const auto& q : batch.quarantined) {
    if (!stored_quarantine.empty() &&
        stored_quarantine.contains(quarantine_key(q.received_at_us, q.reason, q.raw_json))) {
      continue;
    }
    rows.push_back('{');
    number("received_at", std::max<int64_t>(0, seconds_of(q.received_at_us)), rows);
    number("received_at_us", q.received_at_us, rows);
    nullable("source", q.source, rows);
    field("reason", q.reason, rows);
    field("raw", q.raw_json, rows);
    nullable("ip", q.ip, rows);
    field("_loader", consumer, rows);
    number("_batch_end", static_cast<int64_t>(next), rows);
    rows += "}\n";
  }
  if (Status s = insert_rows("quarantine", rows, token("quarantine", stored_quarantine.empty()));
      !s.is_ok()) {
    return fail(s);
  }
  if (Status s = merge_users(batch, consumer, first, next); !s.is_ok()) return fail(s);
  if (Status s = record_offset(consumer, first, next, "done"); !s.is_ok()) return fail(s);
  c.done = next;
  // A retry with a shorter range leaves part of the interrupted one still to check.
  c.verify = c.pending_end > next;
  return Status::ok();
}

Status ClickHouseWarehouse::merge_users(const LoadBatch& batch, const std::string& consumer,
                                        uint64_t first, uint64_t next) {
  std::vector<UserDelta> users = user_deltas(batch.events);
  if (users.empty()) return Status::ok();
  // Another consumer's merge of the same user must read this one's row, and the other way
  // round: from the read to the insert, one merge at a time.
  std::lock_guard users_lock(users_mu_);

  // The current row of each touched user, every column (FINAL: the latest version).
  std::unordered_map<std::string, nlohmann::json> stored;
  constexpr size_t kChunk = 2000;
  for (size_t from = 0; from < users.size(); from += kChunk) {
    std::string in;
    for (size_t i = from; i < std::min(users.size(), from + kChunk); ++i) {
      if (!in.empty()) in.push_back(',');
      in += quote_string(users[i].user_id);
    }
    auto r = execute("SELECT * FROM " + qualified_table(schema_, "users") +
                     " FINAL WHERE user_id IN (" + in + ") FORMAT JSONCompact");
    if (!r) return r.status();
    nlohmann::json j = nlohmann::json::parse(*r, nullptr, false);
    if (j.is_discarded() || !j.contains("data") || !j.contains("meta")) {
      return internal_error("ClickHouse answered users with unexpected JSON");
    }
    std::vector<std::string> names;
    for (const auto& m : j["meta"]) names.push_back(m["name"].get<std::string>());
    for (auto& row : j["data"]) {
      nlohmann::json object = nlohmann::json::object();
      for (size_t i = 0; i < names.size() && i < row.size(); ++i) {
        object[names[i]] = std::move(row[i]);
      }
      std::string id = object.value("user_id", std::string());
      stored.insert_or_assign(std::move(id), std::move(object));
    }
  }

  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  MergeRefusals refused;
  std::string rows;
  for (const UserDelta& d : users) {
    const std::string id(d.user_id);
    auto found = stored.find(id);
    nlohmann::json row =
        found != stored.end() ? std::move(found->second) : nlohmann::json::object();
    auto int_of = [&](const char* column, int64_t fallback) {
      auto it = row.find(column);
      return it != row.end() && it->is_number() ? it->get<int64_t>() : fallback;
    };
    auto text_of = [&](const char* column) {
      auto it = row.find(column);
      return it != row.end() && it->is_string() ? it->get<std::string>() : std::string();
    };

    // What an interrupted earlier attempt at this range already merged into the row: its
    // entry for this consumer ends past the consumer's done offset.
    nlohmann::json merged_loads = nlohmann::json::parse(text_of("_merged_loads"), nullptr, false);
    if (!merged_loads.is_object()) merged_loads = nlohmann::json::object();
    std::set<std::string> already;
    uint64_t entry_end = next;
    if (auto e = merged_loads.find(consumer); e != merged_loads.end() && e->is_object()) {
      uint64_t end = e->value("end", uint64_t{0});
      if (end > first) {
        entry_end = std::max(entry_end, end);
        if (auto ids = e->find("ids"); ids != e->end() && ids->is_array()) {
          for (const auto& x : *ids) {
            if (x.is_string()) already.insert(x.get<std::string>());
          }
        }
      }
    }
    std::vector<const event::Event*> identifies;  // not merged yet, by event time
    for (const event::Event* e : d.identifies) {
      if (!already.contains(e->event_id)) identifies.push_back(e);
    }
    std::stable_sort(identifies.begin(), identifies.end(),
                     [](const event::Event* a, const event::Event* b) {
                       return a->timestamp_us < b->timestamp_us;
                     });

    // Traits: RFC 7396 patches in event-time order, as DuckDB's json_merge_patch.
    bool patched = false;
    nlohmann::ordered_json traits =
        nlohmann::ordered_json::parse(text_of("traits"), nullptr, false);
    if (!traits.is_object()) traits = nlohmann::ordered_json::object();
    for (const event::Event* e : identifies) {
      if (e->traits_json.empty() || e->traits_json == "{}") continue;
      auto patch = nlohmann::ordered_json::parse(e->traits_json, nullptr, false);
      if (patch.is_discarded()) continue;
      traits.merge_patch(patch);
      patched = true;
    }

    // Typed attributes by their merge rules, against the stored values and their times.
    bool has_updates = false;
    for (const event::Event* e : identifies) has_updates = has_updates || !e->typed.empty();
    if (has_updates && !user_columns_.empty()) {
      std::map<std::string, int64_t> time_of;
      auto times = nlohmann::json::parse(text_of("attribute_times"), nullptr, false);
      if (times.is_object()) {
        for (const auto& [k, v] : times.items()) {
          if (v.is_number_integer()) time_of.emplace(k, v.get<int64_t>());
        }
      }
      AttributeStates state(user_columns_.size());
      for (size_t i = 0; i < user_columns_.size(); ++i) {
        const FilledColumn& c = user_columns_[i];
        schema::AttributeValue value = stored_attribute(row, c.column, c.type);
        auto t = time_of.find(c.name);
        if (std::holds_alternative<std::monostate>(value) && t == time_of.end()) continue;
        state[i] = schema::AttributeState{std::move(value), t == time_of.end() ? 0 : t->second};
      }
      bool changed = false;
      for (const event::Event* e : identifies)
        changed |= merge_attributes(*e, user_columns_, user_column_index_, state, refused);
      if (changed) {
        nlohmann::ordered_json times_out = nlohmann::ordered_json::object();
        for (size_t i = 0; i < user_columns_.size(); ++i) {
          const FilledColumn& c = user_columns_[i];
          if (state[i]) times_out[c.name] = state[i]->time_us;
          set_attribute(row, c.column, state[i] ? state[i]->value : schema::AttributeValue{},
                        c.type);
        }
        row["attribute_times"] = times_out.dump();
      }
    }

    int64_t first_seen = int_of("first_seen_us", d.first_seen_us);
    int64_t last_seen = int_of("last_seen_us", d.last_seen_us);
    std::set<std::string> anonymous_ids(d.anonymous_ids.begin(), d.anonymous_ids.end());
    if (found != stored.end()) {
      for (const auto& a : row.value("anonymous_ids", nlohmann::json::array())) {
        if (a.is_string()) anonymous_ids.insert(a.get<std::string>());
      }
    }
    first_seen = std::min(first_seen, d.first_seen_us);
    last_seen = std::max(last_seen, d.last_seen_us);
    // The version: later than the stored one even if the clock went back.
    int64_t version = std::max(now_us, int_of("updated_at_us", 0) + 1);

    row["user_id"] = id;
    row["anonymous_ids"] = anonymous_ids;
    if (patched || found == stored.end()) {
      row["traits"] = traits.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    row["first_seen"] = datetime_seconds(first_seen);
    row["first_seen_us"] = first_seen;
    row["last_seen"] = datetime_seconds(last_seen);
    row["last_seen_us"] = last_seen;
    row["updated_at"] = datetime_seconds(version);
    row["updated_at_us"] = version;
    // This load's mark: every identify of the row merged by this consumer since its offset.
    nlohmann::json ids = nlohmann::json::array();
    for (const std::string& x : already) ids.push_back(x);
    for (const event::Event* e : identifies) ids.push_back(e->event_id);
    merged_loads[consumer] = {{"end", entry_end}, {"ids", std::move(ids)}};
    row["_merged_loads"] =
        merged_loads.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    rows += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    rows.push_back('\n');
  }
  if (refused.count > 0) {
    spdlog::warn("ClickHouse: {} attribute updates could not be merged (first: {})", refused.count,
                 refused.first);
  }
  return insert_rows("users", rows);
}

Status ClickHouseWarehouse::for_each_message_id(
    int64_t since_us, const std::function<void(std::string_view, std::string_view)>& fn) {
  return for_each_loaded_message(
      since_us, [&](std::string_view s, std::string_view m, int64_t) { fn(s, m); });
}

Status ClickHouseWarehouse::for_each_loaded_message(
    int64_t since_us, const std::function<void(std::string_view, std::string_view, int64_t)>& fn) {
  // Rows of an interrupted load (tagged past their consumer's done offset) are left out: the
  // retried load must see those events again, to merge what the interrupted one did not.
  auto done =
      execute("SELECT consumer, max(next_lsn) FROM " + qualified_table(schema_, "basalt_offsets") +
              " WHERE state = 'done' GROUP BY consumer FORMAT TabSeparated");
  if (!done) return done.status();
  std::unordered_map<std::string, uint64_t> done_of;
  std::string_view text(*done);
  for (const auto& f : tsv_rows(text)) {
    if (f.size() != 2) continue;
    uint64_t v = 0;
    std::from_chars(f[1].data(), f[1].data() + f[1].size(), v);
    done_of[unescape_tsv(f[0])] = v;
  }
  auto r = execute("SELECT source, message_id, received_at_us, _loader, _batch_end FROM " +
                   qualified_table(schema_, "events") + " WHERE received_at >= toDateTime(" +
                   std::to_string(datetime_seconds(since_us)) +
                   ") AND received_at_us >= " + std::to_string(since_us) + " FORMAT TabSeparated");
  if (!r) return r.status();
  text = *r;
  std::string loader;
  for (const auto& f : tsv_rows(text)) {
    if (f.size() != 5) continue;
    uint64_t batch_end = 0;
    std::from_chars(f[4].data(), f[4].data() + f[4].size(), batch_end);
    loader = unescape_tsv(f[3]);
    auto d = done_of.find(loader);
    if (batch_end > (d == done_of.end() ? 0 : d->second)) continue;
    int64_t at = 0;
    std::from_chars(f[2].data(), f[2].data() + f[2].size(), at);
    fn(unescape_tsv(f[0]), unescape_tsv(f[1]), at);
  }
  return Status::ok();
}

Result<QueryResult> ClickHouseWarehouse::query(const std::string& sql,
                                               const QueryOptions& options) {
  return run_query(sql, options, "");
}

Result<QueryResult> ClickHouseWarehouse::run_query(const std::string& sql,
                                                   const QueryOptions& options,
                                                   const std::string& parameters) {
  std::string statement = sql;
  while (!statement.empty() &&
         (statement.back() == ';' || std::isspace(static_cast<unsigned char>(statement.back())))) {
    statement.pop_back();
  }
  if (statement.empty()) return invalid_argument("empty SQL statement");
  auto seconds = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count());
  // The server stops the query past max_execution_time; the client waits a little longer.
  std::string settings = "&max_execution_time=" + std::to_string(seconds) +
                         "&max_result_rows=" + std::to_string(options.max_rows + 1) +
                         "&result_overflow_mode=break" + parameters;
  // Statements with a result set answer as JSONCompact; others (DDL) answer with nothing.
  std::string first_word;
  for (char c : statement) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      first_word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    } else if (!first_word.empty() || !std::isspace(static_cast<unsigned char>(c))) {
      if (c != '(') break;
    }
  }
  static const std::set<std::string> kWithResult = {"SELECT",   "WITH", "SHOW",
                                                    "DESCRIBE", "DESC", "EXISTS"};
  if (kWithResult.contains(first_word)) statement += "\nFORMAT JSONCompact";
  auto r = execute(statement, "", false, options.timeout + std::chrono::seconds(5), settings);
  if (!r) return r.status();
  QueryResult result;
  if (r->empty()) return result;  // DDL and other statements without a result
  nlohmann::json j = nlohmann::json::parse(*r, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return internal_error("ClickHouse answered with something other than JSONCompact");
  }
  for (const auto& m : j["meta"]) {
    result.columns.push_back({m["name"].get<std::string>(), m["type"].get<std::string>()});
  }
  for (const auto& row : j["data"]) {
    if (result.rows.size() >= options.max_rows) {
      result.truncated = true;
      break;
    }
    std::vector<Value> values;
    for (size_t i = 0; i < row.size(); ++i) {
      values.push_back(value_of(row[i], i < result.columns.size() ? result.columns[i].type : ""));
    }
    result.rows.push_back(std::move(values));
  }
  return result;
}

}  // namespace basalt::warehouse::clickhouse

namespace basalt::warehouse::clickhouse {

Result<QueryResult> ClickHouseWarehouse::query(const std::string& sql,
                                               const std::vector<Value>& params,
                                               const QueryOptions& options) {
  // Newer servers take the values as typed parameters; 18.16 gets them as quoted literals.
  if (schema_.version.query_parameters() && !params.empty()) {
    auto bound = bind_server_parameters(sql, params);
    if (!bound) return bound.status();
    return run_query(bound->sql, options, bound->settings);
  }
  auto bound = bind_parameters(sql, params);
  if (!bound) return bound.status();
  return run_query(*bound, options, "");
}

}  // namespace basalt::warehouse::clickhouse
