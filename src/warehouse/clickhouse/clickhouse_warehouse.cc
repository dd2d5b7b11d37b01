#include "warehouse/clickhouse/clickhouse_warehouse.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "http/content_coding.h"

namespace basalt::warehouse::clickhouse {

namespace {

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

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

void append_event_row(const event::Event& e, const std::string& consumer, uint64_t batch_end,
                      std::string& out) {
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
  number("timestamp", std::max<int64_t>(0, seconds_of(e.timestamp_us)), out);
  number("timestamp_us", e.timestamp_us, out);
  number("received_at", std::max<int64_t>(0, seconds_of(e.received_at_us)), out);
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
  out += "}\n";
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
    return v.get<int64_t>();
  }
  if (v.is_number_float()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  return v.dump();  // arrays, tuples
}

}  // namespace

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
      req.body = http::gzip_compress(body);
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
  return Status::ok();
}

Result<std::optional<uint64_t>> ClickHouseWarehouse::load_offset(const std::string& consumer) {
  std::lock_guard lock(loader_mu_);
  return read_offset(consumer);
}

Result<std::optional<uint64_t>> ClickHouseWarehouse::read_offset(const std::string& consumer) {
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
  done_[consumer] = done.value_or(0);
  verify_[consumer] = pending && (!done || *pending > *done);
  if (verify_[consumer]) {
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

Status ClickHouseWarehouse::insert_rows(const std::string& table, const std::string& rows) {
  if (rows.empty()) return Status::ok();
  auto r = execute("INSERT INTO " + qualified_table(schema_, table) + " FORMAT JSONEachRow", rows,
                   /*gzip=*/rows.size() > 4096);
  return r.status();
}

Status ClickHouseWarehouse::load(const LoadBatch& batch, const std::string& consumer) {
  std::lock_guard lock(loader_mu_);
  if (!done_.contains(consumer)) {
    auto offset = read_offset(consumer);
    if (!offset) return offset.status();
  }
  const uint64_t first = done_[consumer];
  const uint64_t next = batch.next_lsn;
  // What a crashed or failed load may already have stored.
  std::unordered_set<std::string> stored_events, stored_quarantine;
  if (verify_[consumer]) {
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
    verify_[consumer] = true;  // the server may have stored part of it
    return s;
  };
  if (Status s = record_offset(consumer, first, next, "pending"); !s.is_ok()) return fail(s);
  verify_[consumer] = true;

  std::string rows;
  rows.reserve(batch.events.size() * 600);
  for (const auto& e : batch.events) {
    if (!stored_events.empty() && stored_events.contains(e.event_id)) continue;
    append_event_row(e, consumer, next, rows);
  }
  if (Status s = insert_rows("events", rows); !s.is_ok()) return fail(s);

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
  if (Status s = insert_rows("quarantine", rows); !s.is_ok()) return fail(s);
  if (Status s = merge_users(batch); !s.is_ok()) return fail(s);
  if (Status s = record_offset(consumer, first, next, "done"); !s.is_ok()) return fail(s);
  done_[consumer] = next;
  verify_[consumer] = false;
  return Status::ok();
}

Status ClickHouseWarehouse::merge_users(const LoadBatch& batch) {
  struct UserDelta {
    int64_t first_seen_us = std::numeric_limits<int64_t>::max();
    int64_t last_seen_us = std::numeric_limits<int64_t>::min();
    std::set<std::string> anonymous_ids;
    std::vector<std::pair<int64_t, const std::string*>> patches;
  };
  std::unordered_map<std::string, UserDelta> users;
  std::vector<std::string> order;
  for (const event::Event& e : batch.events) {
    if (e.user_id.empty()) continue;
    auto [it, fresh] = users.try_emplace(e.user_id);
    if (fresh) order.push_back(e.user_id);
    UserDelta& d = it->second;
    d.first_seen_us = std::min(d.first_seen_us, e.timestamp_us);
    d.last_seen_us = std::max(d.last_seen_us, e.timestamp_us);
    if (!e.anonymous_id.empty()) d.anonymous_ids.insert(e.anonymous_id);
    if (e.type == event::EventType::kAlias && !e.previous_id.empty()) {
      d.anonymous_ids.insert(e.previous_id);
    }
    if (e.type == event::EventType::kIdentify && !e.traits_json.empty() && e.traits_json != "{}") {
      d.patches.emplace_back(e.timestamp_us, &e.traits_json);
    }
  }
  if (users.empty()) return Status::ok();

  // The stored rows of the touched users (the latest version of each).
  struct Stored {
    std::vector<std::string> anonymous_ids;
    std::string traits;
    int64_t first_seen_us = 0;
    int64_t last_seen_us = 0;
  };
  std::unordered_map<std::string, Stored> stored;
  constexpr size_t kChunk = 2000;
  for (size_t from = 0; from < order.size(); from += kChunk) {
    std::string in;
    for (size_t i = from; i < std::min(order.size(), from + kChunk); ++i) {
      if (!in.empty()) in.push_back(',');
      in += quote_string(order[i]);
    }
    auto r = execute(
        "SELECT user_id, argMax(anonymous_ids, updated_at_us), "
        "argMax(traits, updated_at_us), min(first_seen_us), max(last_seen_us) "
        "FROM " +
        qualified_table(schema_, "users") + " WHERE user_id IN (" + in +
        ") GROUP BY user_id FORMAT JSONCompact");
    if (!r) return r.status();
    nlohmann::json j = nlohmann::json::parse(*r, nullptr, false);
    if (j.is_discarded() || !j.contains("data")) {
      return internal_error("ClickHouse answered users with unexpected JSON");
    }
    for (const auto& row : j["data"]) {
      Stored s;
      for (const auto& a : row[1]) s.anonymous_ids.push_back(a.get<std::string>());
      s.traits = row[2].get<std::string>();
      s.first_seen_us = row[3].get<int64_t>();
      s.last_seen_us = row[4].get<int64_t>();
      stored.emplace(row[0].get<std::string>(), std::move(s));
    }
  }
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::string rows;
  for (const auto& id : order) {
    UserDelta& d = users[id];
    nlohmann::ordered_json traits = nlohmann::ordered_json::object();
    auto it = stored.find(id);
    if (it != stored.end()) {
      traits = nlohmann::ordered_json::parse(it->second.traits, nullptr, false);
      if (!traits.is_object()) traits = nlohmann::ordered_json::object();
      for (auto& a : it->second.anonymous_ids) d.anonymous_ids.insert(a);
      d.first_seen_us = std::min(d.first_seen_us, it->second.first_seen_us);
      d.last_seen_us = std::max(d.last_seen_us, it->second.last_seen_us);
    }
    std::stable_sort(d.patches.begin(), d.patches.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [ts, patch] : d.patches) {
      auto p = nlohmann::ordered_json::parse(*patch, nullptr, false);
      if (!p.is_discarded()) traits.merge_patch(p);
    }
    rows += "{\"user_id\":";
    json_string(id, rows);
    rows += ",\"anonymous_ids\":[";
    bool first_id = true;
    for (const auto& a : d.anonymous_ids) {
      if (!first_id) rows.push_back(',');
      first_id = false;
      json_string(a, rows);
    }
    rows += "]";
    field("traits", traits.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
          rows);
    number("first_seen", std::max<int64_t>(0, seconds_of(d.first_seen_us)), rows);
    number("first_seen_us", d.first_seen_us, rows);
    number("last_seen", std::max<int64_t>(0, seconds_of(d.last_seen_us)), rows);
    number("last_seen_us", d.last_seen_us, rows);
    number("updated_at", seconds_of(now_us), rows);
    number("updated_at_us", now_us, rows);
    rows += "}\n";
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
  auto r = execute("SELECT source, message_id, received_at_us FROM " +
                   qualified_table(schema_, "events") + " WHERE received_at >= toDateTime(" +
                   std::to_string(std::max<int64_t>(0, seconds_of(since_us))) +
                   ") AND received_at_us >= " + std::to_string(since_us) + " FORMAT TabSeparated");
  if (!r) return r.status();
  std::string_view text(*r);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    auto f = split_tsv(text.substr(start, nl - start));
    start = nl + 1;
    if (f.size() != 3) continue;
    int64_t at = 0;
    std::from_chars(f[2].data(), f[2].data() + f[2].size(), at);
    fn(unescape_tsv(f[0]), unescape_tsv(f[1]), at);
  }
  return Status::ok();
}

Result<QueryResult> ClickHouseWarehouse::query(const std::string& sql,
                                               const QueryOptions& options) {
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
                         "&result_overflow_mode=break";
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
