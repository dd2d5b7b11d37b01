#include "warehouse/clickhouse/clickhouse_sql.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace basalt::warehouse::clickhouse {

namespace {

void escape_into(std::string_view text, char quote, std::string& out) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        out += "\\0";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (ch == quote) {
          out.push_back('\\');
          out.push_back(ch);
        } else if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02X", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string quote_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  escape_into(text, '\'', out);
  out.push_back('\'');
  return out;
}

std::string quote_identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out.push_back('`');
  escape_into(name, '`', out);
  out.push_back('`');
  return out;
}

std::string render_literal(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "1" : "0";
  if (const int64_t* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const double* d = std::get_if<double>(&v)) {
    if (std::isnan(*d)) return "nan";
    if (std::isinf(*d)) return *d > 0 ? "inf" : "-inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    std::string text = buf;
    // A whole double stays a Float64 literal.
    if (text.find_first_of(".en") == std::string::npos) text += ".0";
    return text;
  }
  return quote_string(std::get<std::string>(v));
}

namespace {

// `sql` with each placeholder replaced by `render(index)` (0-based); see bind_parameters.
template <typename Render>
Result<std::string> replace_placeholders(std::string_view sql, const std::vector<Value>& params,
                                         const Render& render) {
  std::string out;
  out.reserve(sql.size() + 16 * params.size());
  size_t next = 0;  // for `?`
  bool question = false, dollar = false;
  std::vector<bool> used(params.size(), false);
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {  // a quoted string or identifier, copied whole
      size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == '\\' && j + 1 < sql.size()) {
          j += 2;
          continue;
        }
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {  // doubled quote
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      out.append(sql.substr(i, j + 1 - i));
      i = j;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t nl = sql.find('\n', i);
      if (nl == std::string_view::npos) nl = sql.size();
      out.append(sql.substr(i, nl - i));
      i = nl - 1;
      continue;
    }
    if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? sql.size() : end + 2;
      out.append(sql.substr(i, end - i));
      i = end - 1;
      continue;
    }
    if (c == '?') {
      question = true;
      if (next >= params.size()) {
        return invalid_argument("the statement has more ? placeholders than the " +
                                std::to_string(params.size()) + " parameters given");
      }
      used[next] = true;
      out += render(next++);
      continue;
    }
    if (c == '$' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      dollar = true;
      size_t j = i + 1;
      size_t n = 0;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) {
        n = n * 10 + static_cast<size_t>(sql[j] - '0');
        ++j;
      }
      if (n == 0 || n > params.size()) {
        return invalid_argument("placeholder $" + std::to_string(n) + " has no parameter (" +
                                std::to_string(params.size()) + " given)");
      }
      used[n - 1] = true;
      out += render(n - 1);
      i = j - 1;
      continue;
    }
    out.push_back(c);
  }
  if (question && dollar) return invalid_argument("the statement mixes ? and $n placeholders");
  for (size_t k = 0; k < used.size(); ++k) {
    if (!used[k]) {
      return invalid_argument("parameter " + std::to_string(k + 1) + " of " +
                              std::to_string(params.size()) + " has no placeholder");
    }
  }
  return out;
}

}  // namespace

Result<std::string> bind_parameters(std::string_view sql, const std::vector<Value>& params) {
  return replace_placeholders(sql, params, [&](size_t i) { return render_literal(params[i]); });
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
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

Result<ServerBoundStatement> bind_server_parameters(std::string_view sql,
                                                    const std::vector<Value>& params) {
  auto type_of = [](const Value& v) -> std::string_view {
    if (std::holds_alternative<std::monostate>(v)) return "Nullable(String)";
    if (std::holds_alternative<bool>(v)) return "UInt8";
    if (std::holds_alternative<int64_t>(v)) return "Int64";
    if (std::holds_alternative<double>(v)) return "Float64";
    return "String";
  };
  auto bound = replace_placeholders(sql, params, [&](size_t i) {
    return "{p" + std::to_string(i + 1) + ":" + std::string(type_of(params[i])) + "}";
  });
  if (!bound) return bound.status();
  ServerBoundStatement out{std::move(*bound), ""};
  for (size_t i = 0; i < params.size(); ++i) {
    const Value& v = params[i];
    std::string text;
    if (std::holds_alternative<std::monostate>(v)) {
      text = "\\N";
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      for (char c : *s) {  // the escaped form: backslash, tab and newline
        if (c == '\\') {
          text += "\\\\";
        } else if (c == '\t') {
          text += "\\t";
        } else if (c == '\n') {
          text += "\\n";
        } else {
          text.push_back(c);
        }
      }
    } else {
      text = render_literal(v);  // a number, or 1/0 for a bool
    }
    out.settings += "&param_p" + std::to_string(i + 1) + "=" + url_encode(text);
  }
  return out;
}

std::string insert_deduplication_settings(const ServerVersion& version, std::string_view consumer,
                                          uint64_t first, uint64_t next, std::string_view table) {
  if (!version.insert_deduplication_token()) return "";
  return "&insert_deduplication_token=" +
         url_encode(std::string(consumer) + ":" + std::to_string(first) + "-" +
                    std::to_string(next) + ":" + std::string(table));
}

std::string unescape_tsv(std::string_view f) {
  std::string out;
  out.reserve(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '\\' || i + 1 == f.size()) {
      out.push_back(f[i]);
      continue;
    }
    char c = f[++i];
    switch (c) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '0':
        out.push_back('\0');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
        if (i + 2 < f.size() && hex_value(f[i + 1]) >= 0 && hex_value(f[i + 2]) >= 0) {
          out.push_back(static_cast<char>(hex_value(f[i + 1]) * 16 + hex_value(f[i + 2])));
          i += 2;
        } else {
          out.push_back('x');
        }
        break;
      default:
        out.push_back(c);  // \\ \' and any other escaped byte stand for themselves
    }
  }
  return out;
}

std::vector<std::string_view> split_tsv(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

std::vector<std::vector<std::string_view>> tsv_rows(std::string_view text) {
  std::vector<std::vector<std::string_view>> rows;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    rows.push_back(split_tsv(text.substr(start, nl - start)));
    start = nl + 1;
  }
  return rows;
}

Result<ServerVersion> parse_server_version(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  ServerVersion v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc()) {
      if (i == 2) break;  // "21.3" is fine
      return invalid_argument("not a ClickHouse version: '" + std::string(text) + "'");
    }
    p = next;
    if (p == end) break;
    if (*p != '.') return invalid_argument("not a ClickHouse version: '" + std::string(text) + "'");
    ++p;
  }
  return v;
}

std::string qualified_table(const SchemaOptions& o, std::string_view table) {
  return quote_identifier(o.database) + "." + quote_identifier(table);
}

const std::vector<std::pair<std::string, std::string>>& users_added_columns() {
  static const std::vector<std::pair<std::string, std::string>> kColumns = {
      {"attribute_times", "String"}, {"_merged_loads", "String"}};
  return kColumns;
}

std::vector<std::string> schema_statements(const SchemaOptions& o) {
  const bool cluster = !o.cluster.empty();
  const std::string on_cluster = cluster ? " ON CLUSTER " + quote_identifier(o.cluster) : "";
  const std::string db = quote_identifier(o.database);
  // Columns that hold few distinct values.
  const std::string label = o.version.low_cardinality() ? "LowCardinality(String)" : "String";
  const std::string text = "Nullable(String)";
  std::string added_users_columns;
  for (const auto& [name, type] : users_added_columns()) {
    added_users_columns += ", " + name + " " + type;
  }

  struct Table {
    std::string name;
    std::string columns;
    std::string engine;     // for the (local) table
    std::string shard_key;  // of the Distributed table
  };
  std::vector<Table> tables = {
      {"events",
       "event_id String, message_id String, source " + label + ", type " + label + ", event " +
           label + ", user_id " + text + ", anonymous_id " + text + ", group_id " + text +
           ", previous_id " + text +
           ", timestamp DateTime, timestamp_us Int64, received_at DateTime, "
           "received_at_us Int64, sent_at_us Nullable(Int64), "
           "original_timestamp_us Nullable(Int64), ip " +
           text + ", user_agent " + text + ", library_name " + text + ", library_version " + text +
           ", os_name " + text + ", app_version " + text +
           ", properties String, traits String, context String, "
           "_loader String, _batch_end UInt64",
       "MergeTree PARTITION BY toDate(timestamp) ORDER BY (event, timestamp, event_id)",
       "cityHash64(ifNull(user_id, ifNull(anonymous_id, event_id)))"},
      {"users",
       "user_id String, anonymous_ids Array(String), traits String, first_seen DateTime, "
       "first_seen_us Int64, last_seen DateTime, last_seen_us Int64, updated_at DateTime, "
       "updated_at_us UInt64" +
           added_users_columns,
       "ReplacingMergeTree(updated_at_us) ORDER BY user_id", "cityHash64(user_id)"},
      {"quarantine",
       "received_at DateTime, received_at_us Int64, source " + text +
           ", reason String, "
           "raw String, ip " +
           text + ", _loader String, _batch_end UInt64",
       "MergeTree PARTITION BY toYYYYMM(received_at) ORDER BY received_at", "rand()"},
      {"basalt_offsets",
       "consumer String, first_lsn UInt64, next_lsn UInt64, state String, "
       "updated_at DateTime",
       "MergeTree ORDER BY (consumer, next_lsn)", "cityHash64(consumer)"},
  };
  if (o.version.insert_deduplication_token()) {
    for (Table& t : tables) {
      if (t.name == "events" || t.name == "quarantine") {
        t.engine += " SETTINGS non_replicated_deduplication_window = 1000";
      }
    }
  }
  std::vector<std::string> out;
  out.push_back("CREATE DATABASE IF NOT EXISTS " + db + on_cluster);
  for (const auto& t : tables) {
    std::string local = cluster ? t.name + "_local" : t.name;
    out.push_back("CREATE TABLE IF NOT EXISTS " + db + "." + quote_identifier(local) + on_cluster +
                  " (" + t.columns + ") ENGINE = " + t.engine);
    if (cluster) {
      out.push_back("CREATE TABLE IF NOT EXISTS " + db + "." + quote_identifier(t.name) +
                    on_cluster + " AS " + db + "." + quote_identifier(local) +
                    " ENGINE = Distributed(" + quote_identifier(o.cluster) + ", " + db + ", " +
                    quote_identifier(local) + ", " + t.shard_key + ")");
    }
  }
  return out;
}

std::string_view column_type_of(event::ValueType type) {
  switch (type) {
    case event::ValueType::kString:
    case event::ValueType::kJson:
    case event::ValueType::kNull:
      return "Nullable(String)";
    case event::ValueType::kInt:
      return "Nullable(Int64)";
    case event::ValueType::kFloat:
      return "Nullable(Float64)";
    case event::ValueType::kBool:
      return "Nullable(UInt8)";
    case event::ValueType::kTimestamp:
      return "Nullable(DateTime)";
    case event::ValueType::kStringList:
      return "Array(String)";
  }
  return "Nullable(String)";
}

std::string micros_column_of(std::string_view column) { return std::string(column) + "_us"; }

std::string add_columns_statement(const SchemaOptions& o, std::string_view table,
                                  const std::vector<std::pair<std::string, std::string>>& columns) {
  std::string sql = "ALTER TABLE " + quote_identifier(o.database) + "." + quote_identifier(table);
  if (!o.cluster.empty()) sql += " ON CLUSTER " + quote_identifier(o.cluster);
  bool first = true;
  for (const auto& [name, type] : columns) {
    sql += first ? " " : ", ";
    first = false;
    sql += "ADD COLUMN " + quote_identifier(name) + " " + type;
  }
  return sql;
}

std::vector<std::string> physical_tables(const SchemaOptions& o, std::string_view table) {
  if (o.cluster.empty()) return {std::string(table)};
  return {std::string(table) + "_local", std::string(table)};
}

}  // namespace basalt::warehouse::clickhouse
