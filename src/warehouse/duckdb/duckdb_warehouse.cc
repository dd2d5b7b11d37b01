#include "warehouse/duckdb/duckdb_warehouse.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/thread_priority.h"
#include "schema/attribute_merge.h"
#include "warehouse/duckdb/funnel_chain.h"
#include "warehouse/duckdb/value_text.h"
#include "warehouse/user_deltas.h"

namespace basalt::warehouse {

namespace {

using duck::exec;

std::string quote_identifier(std::string_view name);

constexpr const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS events (
  event_id VARCHAR,
  message_id VARCHAR,
  source VARCHAR,
  type VARCHAR,
  event VARCHAR,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  group_id VARCHAR,
  previous_id VARCHAR,
  "timestamp" TIMESTAMPTZ,
  received_at TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  original_timestamp TIMESTAMPTZ,
  ip VARCHAR,
  user_agent VARCHAR,
  library_name VARCHAR,
  library_version VARCHAR,
  os_name VARCHAR,
  app_version VARCHAR,
  properties JSON,
  traits JSON,
  context JSON
);
CREATE TABLE IF NOT EXISTS users (
  user_id VARCHAR PRIMARY KEY,
  anonymous_ids VARCHAR[],
  traits JSON,
  first_seen TIMESTAMPTZ,
  last_seen TIMESTAMPTZ,
  updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS quarantine (
  received_at TIMESTAMPTZ,
  source VARCHAR,
  reason VARCHAR,
  raw VARCHAR,
  ip VARCHAR
);
CREATE TABLE IF NOT EXISTS basalt_offsets (
  consumer VARCHAR PRIMARY KEY,
  next_lsn UBIGINT,
  updated_at TIMESTAMPTZ
);
)sql";

// Per-load staging of the user rows a batch touches, merged into `users` with one MERGE.
// Temporary: it lives on the loader's connection only.
constexpr const char* kUsersStageSql = R"sql(
CREATE TEMP TABLE IF NOT EXISTS basalt_users_stage (
  user_id VARCHAR,
  anonymous_ids VARCHAR[],
  trait_patches VARCHAR[],
  first_seen TIMESTAMPTZ,
  last_seen TIMESTAMPTZ
);
DELETE FROM basalt_users_stage;
)sql";

// The touched users' new rows: the stored row (if any) combined with the batch's staged row.
// Traits: the stored object patched by each identify's traits in event-timestamp order
// (json_merge_patch, RFC 7396: later wins per key, null deletes a key); users without an
// identify in the batch keep their stored traits untouched. The stage's anonymous ids are
// already distinct. Typed attribute columns (a_*) and attribute_times come from
// basalt_users_attr_stage, where the loader merged them by their rules, for users with
// attribute updates; every other column is carried over. The old rows are then deleted and
// the merged ones inserted: cheaper in DuckDB than MERGE/UPDATE, which rewrites list columns
// row by row.
std::string users_merge_sql(const std::vector<std::string>& carried,
                            const std::unordered_map<std::string, size_t>& merged_columns) {
  std::string sql = R"sql(
CREATE OR REPLACE TEMP TABLE basalt_users_merged AS
SELECT s.user_id,
  CASE WHEN u.user_id IS NULL THEN list_sort(s.anonymous_ids)
       WHEN len(s.anonymous_ids) = 0 THEN u.anonymous_ids
       ELSE list_sort(list_distinct(list_concat(coalesce(u.anonymous_ids, []), s.anonymous_ids))) END
    AS anonymous_ids,
  CASE WHEN len(s.trait_patches) = 0 THEN coalesce(u.traits, '{}'::JSON)
       ELSE list_reduce(list_prepend(coalesce(u.traits::VARCHAR, '{}'), s.trait_patches),
                        lambda acc, p: json_merge_patch(acc, p)::VARCHAR)::JSON END AS traits,
  CASE WHEN u.user_id IS NULL THEN s.first_seen ELSE least(u.first_seen, s.first_seen) END AS first_seen,
  CASE WHEN u.user_id IS NULL THEN s.last_seen ELSE greatest(u.last_seen, s.last_seen) END AS last_seen,
  now() AS updated_at)sql";
  for (const std::string& c : carried) {
    std::string q = quote_identifier(c);
    bool merged =
        c == "attribute_times" || (c.rfind("a_", 0) == 0 && merged_columns.contains(c.substr(2)));
    if (merged) {
      sql += ",\n  CASE WHEN t.user_id IS NULL THEN u." + q + " ELSE t." + q + " END AS " + q;
    } else {
      sql += ",\n  u." + q + " AS " + q;
    }
  }
  sql += R"sql(
FROM basalt_users_stage AS s LEFT JOIN users AS u ON u.user_id = s.user_id
  LEFT JOIN basalt_users_attr_stage AS t ON t.user_id = s.user_id;
DELETE FROM users WHERE user_id IN (SELECT user_id FROM basalt_users_stage);
INSERT INTO users BY NAME SELECT * FROM basalt_users_merged;
)sql";
  return sql;
}

constexpr const char* kOffsetSql = R"sql(
INSERT INTO basalt_offsets (consumer, next_lsn, updated_at) VALUES ($1, $2, now())
ON CONFLICT (consumer) DO UPDATE SET next_lsn = excluded.next_lsn, updated_at = excluded.updated_at
)sql";

enum class ColumnKind { kVarchar, kJson, kTimestampTz, kVarcharList, kBigint, kDouble, kBoolean };

ColumnKind kind_of(event::ValueType t) {
  switch (t) {
    case event::ValueType::kString:
      return ColumnKind::kVarchar;
    case event::ValueType::kInt:
      return ColumnKind::kBigint;
    case event::ValueType::kFloat:
      return ColumnKind::kDouble;
    case event::ValueType::kBool:
      return ColumnKind::kBoolean;
    case event::ValueType::kTimestamp:
      return ColumnKind::kTimestampTz;
    case event::ValueType::kStringList:
      return ColumnKind::kVarcharList;
    case event::ValueType::kJson:
    case event::ValueType::kNull:
      return ColumnKind::kJson;
  }
  return ColumnKind::kJson;
}

Status close_appender(duckdb_appender app, const char* table);

// Fills DuckDB data chunks row by row and hands each full chunk to an appender. Strings that
// are not valid UTF-8 are repaired (DuckDB requires it); empty strings of nullable columns
// become NULL when the caller asks.
class ChunkWriter {
 public:
  // Owns `appender`: it is destroyed (which flushes what it still holds) before the chunks
  // whose strings it may reference.
  ChunkWriter(duck::Appender appender, const std::vector<ColumnKind>& kinds)
      : kinds_(kinds), appender_(std::move(appender)) {
    std::vector<duckdb_logical_type> raw;
    for (ColumnKind k : kinds) {
      duck::LogicalType t;
      switch (k) {
        case ColumnKind::kVarchar:
          t = duck::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
          break;
        case ColumnKind::kJson:
          // The column's own type: a VARCHAR chunk column would be cast on append, and the
          // appender keeps the cast's strings by reference past the chunk's reset.
          t = duck::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
          duckdb_logical_type_set_alias(t.get(), "JSON");
          break;
        case ColumnKind::kTimestampTz:
          t = duck::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ));
          break;
        case ColumnKind::kVarcharList: {
          duck::LogicalType child(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
          t = duck::LogicalType(duckdb_create_list_type(child.get()));
          break;
        }
        case ColumnKind::kBigint:
          t = duck::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_BIGINT));
          break;
        case ColumnKind::kDouble:
          t = duck::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE));
          break;
        case ColumnKind::kBoolean:
          t = duck::LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN));
          break;
      }
      raw.push_back(t.get());
      types_.push_back(std::move(t));
    }
    raw_types_ = std::move(raw);
    chunk_ = duck::DataChunk(duckdb_create_data_chunk(raw_types_.data(), raw_types_.size()));
    capacity_ = duckdb_vector_size();
    bind_vectors();
  }

  // Starts a new row; flushes the chunk first when it is full.
  Status begin_row() {
    if (rows_ == capacity_) BASALT_RETURN_IF_ERROR(flush());
    return Status::ok();
  }
  void end_row() { ++rows_; }

  void set_string(size_t col, std::string_view s, bool empty_is_null) {
    if (empty_is_null && s.empty()) return set_null(col);
    if (is_valid_duck_string(s)) {
      duckdb_vector_assign_string_element_len(vectors_[col], rows_, s.data(), s.size());
    } else {
      std::string fixed = duck::repair_utf8(s);
      duckdb_vector_assign_string_element_len(vectors_[col], rows_, fixed.data(), fixed.size());
    }
  }
  // A JSON column: text that is not one well-formed JSON value is stored as a JSON string
  // holding it, so one bad event can neither fail the batch nor break later JSON queries.
  void set_json(size_t col, std::string_view s) {
    if (duck::is_valid_json(s)) {  // simdjson also checks the UTF-8
      duckdb_vector_assign_string_element_len(vectors_[col], rows_, s.data(), s.size());
    } else {
      std::string quoted = duck::json_quote(duck::repair_utf8(s));
      duckdb_vector_assign_string_element_len(vectors_[col], rows_, quoted.data(), quoted.size());
    }
  }
  void set_timestamp(size_t col, int64_t micros) {
    static_cast<int64_t*>(data_[col])[rows_] = micros;
  }
  void set_int64(size_t col, int64_t v) { static_cast<int64_t*>(data_[col])[rows_] = v; }
  void set_double(size_t col, double v) { static_cast<double*>(data_[col])[rows_] = v; }
  void set_bool(size_t col, bool v) { static_cast<bool*>(data_[col])[rows_] = v; }
  void set_null(size_t col) {
    duckdb_vector_ensure_validity_writable(vectors_[col]);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vectors_[col]), rows_);
  }
  template <typename Strings>
  void set_list(size_t col, const Strings& items) {
    duckdb_vector list = vectors_[col];
    idx_t offset = duckdb_list_vector_get_size(list);
    duckdb_list_vector_reserve(list, offset + items.size());
    duckdb_vector child = duckdb_list_vector_get_child(list);
    idx_t i = offset;
    for (std::string_view s : items) {
      std::string fixed = is_valid_duck_string(s) ? std::string() : duck::repair_utf8(s);
      std::string_view v = fixed.empty() ? s : std::string_view(fixed);
      duckdb_vector_assign_string_element_len(child, i++, v.data(), v.size());
    }
    duckdb_list_vector_set_size(list, offset + items.size());
    auto* entries = static_cast<duckdb_list_entry*>(duckdb_vector_get_data(list));
    entries[rows_] = {offset, items.size()};
  }

  // Appends what is buffered.
  Status flush() {
    if (rows_ == 0) return Status::ok();
    duckdb_data_chunk_set_size(chunk_.get(), rows_);
    if (duckdb_append_data_chunk(appender_.get(), chunk_.get()) == DuckDBError) {
      const char* e = duckdb_appender_error(appender_.get());
      return internal_error(std::string("append failed: ") + (e ? e : "unknown error"));
    }
    // The appender may keep a chunk's strings by reference until it flushes, so appended
    // chunks stay alive until the writer goes (after the appender is closed); flushing after
    // every chunk instead cost a whole internal append per 2048 rows.
    appended_.push_back(std::move(chunk_));
    chunk_ = duck::DataChunk(duckdb_create_data_chunk(raw_types_.data(), raw_types_.size()));
    rows_ = 0;
    bind_vectors();
    return Status::ok();
  }

  // Appends what is buffered and closes the appender (rows reach `table` in the transaction).
  Status close(const char* table) {
    BASALT_RETURN_IF_ERROR(flush());
    return close_appender(appender_.get(), table);
  }

 private:
  static bool is_valid_duck_string(std::string_view s) {
    // DuckDB strings must be valid UTF-8; NUL bytes are allowed.
    return duck::is_valid_utf8(s);
  }
  void bind_vectors() {
    vectors_.clear();
    data_.clear();
    for (size_t c = 0; c < kinds_.size(); ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk_.get(), c);
      vectors_.push_back(v);
      data_.push_back(duckdb_vector_get_data(v));
    }
  }

  std::vector<ColumnKind> kinds_;
  std::vector<duck::LogicalType> types_;
  std::vector<duckdb_logical_type> raw_types_;  // borrowed from types_
  duck::DataChunk chunk_;
  std::vector<duck::DataChunk> appended_;
  std::vector<duckdb_vector> vectors_;
  std::vector<void*> data_;
  idx_t capacity_ = 0;
  idx_t rows_ = 0;
  duck::Appender appender_;  // last: destroyed first
};

// An appender on `table` over exactly `columns`, so columns added later (typed properties)
// are left to their defaults instead of breaking the load.
Result<duck::Appender> make_appender(duckdb_connection conn, const char* table,
                                     const std::vector<const char*>& columns) {
  duck::Appender app;
  if (duckdb_appender_create_ext(conn, nullptr, nullptr, table, app.out()) == DuckDBError) {
    const char* e = app.get() ? duckdb_appender_error(app.get()) : nullptr;
    return internal_error(std::string("cannot append to ") + table + ": " +
                          (e ? e : "unknown error"));
  }
  for (const char* c : columns) {
    if (duckdb_appender_add_column(app.get(), c) == DuckDBError) {
      const char* e = duckdb_appender_error(app.get());
      return internal_error(std::string("cannot append column ") + table + "." + c + ": " +
                            (e ? e : "unknown error"));
    }
  }
  return app;
}

Status close_appender(duckdb_appender app, const char* table) {
  if (duckdb_appender_close(app) == DuckDBError) {
    const char* e = duckdb_appender_error(app);
    return internal_error(std::string("append to ") + table + " failed: " +
                          (e ? e : "unknown error"));
  }
  return Status::ok();
}

// The enrichment fields of an event, in Event order, as columns of `events`.
constexpr const char* kEnrichmentColumns[] = {"browser",       "browser_version", "os_family",
                                              "os_version",    "device_family",   "device_brand",
                                              "device_model",  "country",         "region",
                                              "city"};

// Rows of a query as text (NULL as nullopt), for the loader's small reads of its own tables.
Result<std::vector<std::vector<std::optional<std::string>>>> fetch_text(duckdb_connection conn,
                                                                        const std::string& sql) {
  duck::QueryResult r;
  if (duckdb_query(conn, sql.c_str(), r.get()) == DuckDBError) return duck::status_of(r.get());
  std::vector<std::vector<std::optional<std::string>>> rows;
  const idx_t ncols = duckdb_column_count(r.get());
  const idx_t nrows = duckdb_row_count(r.get());
  for (idx_t i = 0; i < nrows; ++i) {
    auto& row = rows.emplace_back();
    for (idx_t c = 0; c < ncols; ++c) {
      if (duckdb_value_is_null(r.get(), c, i)) {
        row.emplace_back();
        continue;
      }
      char* v = duckdb_value_varchar(r.get(), c, i);
      row.emplace_back(v ? v : "");
      duckdb_free(v);
    }
  }
  return rows;
}

// Sets a typed column from a validated value; false (the caller sets NULL) when the value's
// type is not the column's (the plan changed the type, or an explicit null).
bool set_typed(ChunkWriter& w, size_t col, const event::TypedField& f, event::ValueType column) {
  if (f.type != column) return false;
  switch (f.type) {
    case event::ValueType::kString:
      w.set_string(col, f.text, false);
      return true;
    case event::ValueType::kInt:
      w.set_int64(col, f.int_value);
      return true;
    case event::ValueType::kFloat:
      w.set_double(col, f.float_value);
      return true;
    case event::ValueType::kBool:
      w.set_bool(col, f.int_value != 0);
      return true;
    case event::ValueType::kTimestamp:
      w.set_timestamp(col, f.int_value);
      return true;
    case event::ValueType::kStringList:
      w.set_list(col, f.list);
      return true;
    case event::ValueType::kJson:
      w.set_json(col, f.text);
      return true;
    case event::ValueType::kNull:
      return false;
  }
  return false;
}

// A stored a_ column value, read back as JSON (json_object of the columns; timestamps as
// epoch µs), as an AttributeValue of the column's type.
schema::AttributeValue attribute_value_of(simdjson::dom::element v, event::ValueType type) {
  using simdjson::dom::element_type;
  if (v.is_null()) return std::monostate{};
  switch (type) {
    case event::ValueType::kString: {
      std::string_view s;
      if (!v.get_string().get(s)) return std::string(s);
      return std::monostate{};
    }
    case event::ValueType::kInt:
    case event::ValueType::kTimestamp: {
      int64_t i = 0;
      if (!v.get_int64().get(i)) return i;
      double d = 0;
      if (!v.get_double().get(d)) return static_cast<int64_t>(d);
      return std::monostate{};
    }
    case event::ValueType::kFloat: {
      double d = 0;
      if (!v.get_double().get(d)) return d;
      int64_t i = 0;
      if (!v.get_int64().get(i)) return static_cast<double>(i);
      return std::monostate{};
    }
    case event::ValueType::kBool: {
      bool b = false;
      if (!v.get_bool().get(b)) return b;
      return std::monostate{};
    }
    case event::ValueType::kStringList: {
      std::vector<std::string> out;
      simdjson::dom::array a;
      if (v.get_array().get(a)) return std::monostate{};
      for (auto item : a) {
        std::string_view s;
        if (!item.get_string().get(s)) out.emplace_back(s);
      }
      return out;
    }
    case event::ValueType::kJson:
    case event::ValueType::kNull:
      return simdjson::minify(v);
  }
  return std::monostate{};
}

// Writes a merged attribute into its a_ column (NULL when it has no value or, after a plan
// change, a value of another type).
void set_attribute(ChunkWriter& w, size_t col, const schema::AttributeValue& v,
                   event::ValueType column) {
  using V = event::ValueType;
  if (const auto* b = std::get_if<bool>(&v); b && column == V::kBool) return w.set_bool(col, *b);
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (column == V::kInt) return w.set_int64(col, *i);
    if (column == V::kTimestamp) return w.set_timestamp(col, *i);
    if (column == V::kFloat) return w.set_double(col, static_cast<double>(*i));
  }
  if (const auto* d = std::get_if<double>(&v); d && column == V::kFloat)
    return w.set_double(col, *d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    if (column == V::kString) return w.set_string(col, *s, false);
    if (column == V::kJson) return w.set_json(col, *s);
  }
  if (const auto* l = std::get_if<std::vector<std::string>>(&v); l && column == V::kStringList)
    return w.set_list(col, *l);
  w.set_null(col);
}

// The type DuckDB's information_schema prints for a plan column type.
std::string_view information_schema_type(event::ValueType t) {
  if (t == event::ValueType::kTimestamp) return "TIMESTAMP WITH TIME ZONE";
  return sql_type_of(t);
}

// The columns of `users` the merge writes itself; every other column is carried over.
bool is_fixed_users_column(std::string_view c) {
  return c == "user_id" || c == "anonymous_ids" || c == "traits" || c == "first_seen" ||
         c == "last_seen" || c == "updated_at";
}

// ---- query() helpers ----

std::string take_duck_string(char* s) {
  std::string out = s ? s : "";
  duckdb_free(s);
  return out;
}

// The name DuckDB prints for a type (for the scalar types a result column usually has).
std::string type_name(duckdb_logical_type t) {
  std::string alias = take_duck_string(duckdb_logical_type_get_alias(t));
  if (!alias.empty()) return alias;
  switch (duckdb_get_type_id(t)) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_DECIMAL:
      return "DECIMAL(" + std::to_string(duckdb_decimal_width(t)) + "," +
             std::to_string(duckdb_decimal_scale(t)) + ")";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_UUID: return "UUID";
    case DUCKDB_TYPE_SQLNULL: return "\"NULL\"";
    default: return "";  // composite types: the caller asks DuckDB (DESCRIBE)
  }
}

// Column types read straight from vectors; every other type is cast to VARCHAR by the query.
bool is_direct(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_SQLNULL:
    case DUCKDB_TYPE_INVALID:
      return true;
    default:
      return false;
  }
}

double hugeint_to_double(duckdb_hugeint h) {
  return static_cast<double>(h.upper) * 18446744073709551616.0 + static_cast<double>(h.lower);
}

Value int_or_double_of(duckdb_hugeint h) {
  bool fits = (h.upper == 0 && h.lower <= static_cast<uint64_t>(INT64_MAX)) ||
              (h.upper == -1 && h.lower >= static_cast<uint64_t>(INT64_MAX) + 1);
  if (fits) return static_cast<int64_t>(h.lower);
  return hugeint_to_double(h);
}

Value decimal_value(duckdb_type internal, const void* data, idx_t row, uint8_t scale) {
  double unscaled = 0;
  switch (internal) {
    case DUCKDB_TYPE_SMALLINT: unscaled = static_cast<const int16_t*>(data)[row]; break;
    case DUCKDB_TYPE_INTEGER: unscaled = static_cast<const int32_t*>(data)[row]; break;
    case DUCKDB_TYPE_BIGINT: unscaled = static_cast<double>(static_cast<const int64_t*>(data)[row]); break;
    case DUCKDB_TYPE_HUGEINT: unscaled = hugeint_to_double(static_cast<const duckdb_hugeint*>(data)[row]); break;
    default: return std::monostate{};
  }
  return unscaled / std::pow(10.0, scale);
}

// One cell of a result vector.
Value cell(duckdb_logical_type type, duckdb_vector vec, idx_t row) {
  uint64_t* validity = duckdb_vector_get_validity(vec);
  if (validity && !duckdb_validity_row_is_valid(validity, row)) return std::monostate{};
  const void* d = duckdb_vector_get_data(vec);
  switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN: return static_cast<const bool*>(d)[row];
    case DUCKDB_TYPE_TINYINT: return int64_t{static_cast<const int8_t*>(d)[row]};
    case DUCKDB_TYPE_SMALLINT: return int64_t{static_cast<const int16_t*>(d)[row]};
    case DUCKDB_TYPE_INTEGER: return int64_t{static_cast<const int32_t*>(d)[row]};
    case DUCKDB_TYPE_BIGINT: return static_cast<const int64_t*>(d)[row];
    case DUCKDB_TYPE_UTINYINT: return int64_t{static_cast<const uint8_t*>(d)[row]};
    case DUCKDB_TYPE_USMALLINT: return int64_t{static_cast<const uint16_t*>(d)[row]};
    case DUCKDB_TYPE_UINTEGER: return int64_t{static_cast<const uint32_t*>(d)[row]};
    case DUCKDB_TYPE_UBIGINT: {
      uint64_t v = static_cast<const uint64_t*>(d)[row];
      if (v <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v);
      return static_cast<double>(v);
    }
    case DUCKDB_TYPE_HUGEINT: return int_or_double_of(static_cast<const duckdb_hugeint*>(d)[row]);
    case DUCKDB_TYPE_UHUGEINT: {
      duckdb_uhugeint u = static_cast<const duckdb_uhugeint*>(d)[row];
      if (u.upper == 0 && u.lower <= static_cast<uint64_t>(INT64_MAX)) {
        return static_cast<int64_t>(u.lower);
      }
      return static_cast<double>(u.upper) * 18446744073709551616.0 + static_cast<double>(u.lower);
    }
    case DUCKDB_TYPE_FLOAT: return double{static_cast<const float*>(d)[row]};
    case DUCKDB_TYPE_DOUBLE: return static_cast<const double*>(d)[row];
    case DUCKDB_TYPE_DECIMAL:
      return decimal_value(duckdb_decimal_internal_type(type), d, row, duckdb_decimal_scale(type));
    case DUCKDB_TYPE_VARCHAR: {
      auto* s = const_cast<duckdb_string_t*>(static_cast<const duckdb_string_t*>(d) + row);
      return std::string(duckdb_string_t_data(s), duckdb_string_t_length(*s));
    }
    case DUCKDB_TYPE_DATE: return duck::iso_date(static_cast<const duckdb_date*>(d)[row].days);
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return duck::iso8601_utc(static_cast<const int64_t*>(d)[row]);
    case DUCKDB_TYPE_TIMESTAMP_S: {
      int64_t v = static_cast<const int64_t*>(d)[row];
      return duck::iso8601_utc(v * 1'000'000);
    }
    case DUCKDB_TYPE_TIMESTAMP_MS: return duck::iso8601_utc(static_cast<const int64_t*>(d)[row] * 1000);
    case DUCKDB_TYPE_TIMESTAMP_NS: {
      int64_t ns = static_cast<const int64_t*>(d)[row];
      return duck::iso8601_utc(ns / 1000 - (ns % 1000 < 0));
    }
    default: return std::monostate{};
  }
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string strip_trailing_semicolons(std::string sql) {
  while (!sql.empty() && (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';')) {
    sql.pop_back();
  }
  return sql;
}

// Interrupts a connection's running query once a deadline passes, and keeps interrupting
// until cancelled (an interrupt that lands between statements would otherwise be lost).
class Watchdog {
 public:
  Watchdog(duckdb_connection conn, std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0) return;
    thread_ = std::thread([this, conn, timeout] {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, timeout, [&] { return done_; })) return;
      fired_ = true;
      while (!done_) {
        duckdb_interrupt(conn);
        cv_.wait_for(lock, std::chrono::milliseconds(10), [&] { return done_; });
      }
    });
  }
  ~Watchdog() { cancel(); }
  // Stops the watchdog; after it returns the connection is no longer touched.
  void cancel() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;   // protected by mu_
  bool fired_ = false;  // protected by mu_
  std::thread thread_;
};


// ---- rollups ----

constexpr const char* kRollupUserDay = "events_user_day";
constexpr const char* kRollupDayUsers = "events_day_users";
constexpr const char* kRollupActiveUsers = "events_active_users";
// The rows of events_active_users for the user-day rows of `from` (a table or subquery).
std::string active_users_of(const std::string& from) {
  return "SELECT day, user_id, CAST(sum(events) AS BIGINT) AS events FROM " + from +
         " GROUP BY day, user_id";
}
// The events of a load are first summed per 15-minute bucket of UTC time (every zone's offset
// and every DST change is a whole multiple of 15 minutes, so a bucket never straddles a local
// midnight); DuckDB then maps each bucket to its local day.
constexpr int64_t kRollupBucketUs = 900LL * 1'000'000;

// A zone name as an SQL string literal; empty when it is not an IANA-shaped name.
std::string zone_literal(std::string_view zone) {
  if (zone.empty() || zone.size() > 64) return "";
  for (char c : zone) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
              c == '+';
    if (!ok) return "";
  }
  return "'" + std::string(zone) + "'";
}

bool is_utc(std::string_view zone) { return zone == "UTC" || zone == "Etc/UTC"; }

// The local date in `zone` of the instant `instant_sql` (a TIMESTAMPTZ).
std::string local_day_sql(const std::string& zone, const std::string& instant_sql) {
  if (is_utc(zone)) return "CAST(make_timestamp(epoch_us(" + instant_sql + ")) AS DATE)";
  return "CAST(timezone(" + zone_literal(zone) + ", " + instant_sql + ") AS DATE)";
}

// Per (15-minute bucket, user, event): the events of a batch and the sums of its numeric typed
// columns, as load() appends them. Strings are borrowed from the batch.
class RollupAccumulator {
 public:
  explicit RollupAccumulator(std::vector<bool> integer) : integer_(std::move(integer)) {}

  // Counts one event; the add_* calls that follow add its values.
  void begin(int64_t timestamp_us, std::string_view user, std::string_view event) {
    int64_t bucket = timestamp_us >= 0 ? timestamp_us / kRollupBucketUs
                                       : -((-timestamp_us + kRollupBucketUs - 1) / kRollupBucketUs);
    auto [it, fresh] = index_.try_emplace(Key{bucket, user, event}, entries_.size());
    if (fresh) push(bucket, user, event);
    current_ = it->second;
    ++entries_[current_].events;
  }
  void add_int(size_t slot, int64_t v) {
    Slot& x = slot_of(current_, slot);
    int64_t sum = 0;
    if (__builtin_add_overflow(x.i, v, &sum)) {
      // Another row of the same key takes it on; the tables sum the rows as HUGEINT.
      const Entry& e = entries_[current_];
      Key k{e.bucket, e.user, e.event};
      push(e.bucket, e.user, e.event);
      current_ = entries_.size() - 1;
      index_[k] = current_;
      Slot& y = slot_of(current_, slot);
      y.i = v;
      y.has = true;
      return;
    }
    x.i = sum;
    x.has = true;
  }
  void add_double(size_t slot, double v) {
    Slot& x = slot_of(current_, slot);
    x.f += v;
    x.has = true;
  }

  struct Entry {
    int64_t bucket;
    std::string_view user, event;
    int64_t events;
  };
  struct Slot {
    int64_t i = 0;
    double f = 0;
    bool has = false;
  };
  const std::vector<Entry>& entries() const { return entries_; }
  const Slot& slot(size_t entry, size_t slot) const { return slots_[entry * integer_.size() + slot]; }
  size_t sums() const { return integer_.size(); }
  bool integer(size_t slot) const { return integer_[slot]; }

 private:
  struct Key {
    int64_t bucket;
    std::string_view user, event;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      size_t h = std::hash<std::string_view>()(k.user);
      h ^= std::hash<std::string_view>()(k.event) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
      h ^= std::hash<int64_t>()(k.bucket) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
      return h;
    }
  };
  void push(int64_t bucket, std::string_view user, std::string_view event) {
    entries_.push_back({bucket, user, event, 0});
    slots_.resize(slots_.size() + integer_.size());
  }
  Slot& slot_of(size_t entry, size_t slot) { return slots_[entry * integer_.size() + slot]; }

  std::vector<bool> integer_;
  std::vector<Entry> entries_;
  std::vector<Slot> slots_;
  std::unordered_map<Key, size_t, KeyHash> index_;
  size_t current_ = 0;
};

}  // namespace

// ---- DuckDbWarehouse ----

Result<std::unique_ptr<DuckDbWarehouse>> DuckDbWarehouse::open(const WarehouseOptions& options) {
  duck::Config config;
  if (duckdb_create_config(config.out()) == DuckDBError) {
    return internal_error("cannot create DuckDB config");
  }
  if (options.read_only) duckdb_set_config(config.get(), "access_mode", "READ_ONLY");
  // DuckDB checkpoints once its own WAL passes this size. Its default (16 MB) is reached by
  // every 50k-event batch, and a checkpoint per commit cost 3/4 of the load time; a larger WAL
  // costs a longer replay when the process restarts after a crash, and memory: DuckDB holds
  // the rows it logged in memory until the checkpoint writes them to the file.
  for (auto [name, bytes] : {std::pair{"checkpoint_threshold", options.checkpoint_threshold_bytes},
                             std::pair{"memory_limit", options.memory_limit_bytes}}) {
    if (bytes == 0) continue;  // DuckDB's default
    if (duckdb_set_config(config.get(), name, (std::to_string(bytes) + "B").c_str()) ==
        DuckDBError) {
      return invalid_argument(std::string("DuckDB refused ") + name + " " +
                              std::to_string(bytes) + " bytes");
    }
  }
  // DuckDB sizes its thread pool by the machine's cores; a process pinned to fewer cores
  // (taskset, a container's cpuset) then runs more DuckDB threads than it has cores, and the
  // loader's appends and commits wait on threads that cannot run: 2.5x slower on one core.
  duckdb_set_config(config.get(), "threads", std::to_string(usable_cpus()).c_str());
  duck::Database db;
  char* err = nullptr;
  const char* path = options.path.empty() ? nullptr : options.path.c_str();
  if (duckdb_open_ext(path, db.out(), config.get(), &err) == DuckDBError) {
    std::string msg = "cannot open DuckDB database '" + options.path + "': " +
                      (err ? err : "unknown error");
    duckdb_free(err);
    return unavailable(msg);
  }
  duck::Connection conn;
  if (duckdb_connect(db.get(), conn.out()) == DuckDBError) {
    return internal_error("cannot connect to DuckDB database '" + options.path + "'");
  }
  BASALT_RETURN_IF_ERROR(duck::register_funnel_chain(conn.get()));
  std::unique_ptr<DuckDbWarehouse> w(
      new DuckDbWarehouse(options, std::move(db), std::move(conn)));  // private constructor
  if (!options.read_only) BASALT_RETURN_IF_ERROR(w->ensure_schema());
  return w;
}

DuckDbWarehouse::DuckDbWarehouse(WarehouseOptions options, duck::Database db,
                                 duck::Connection loader_conn)
    : options_(std::move(options)), db_(std::move(db)), loader_conn_(std::move(loader_conn)) {}

DuckDbWarehouse::~DuckDbWarehouse() {
  // Connections go before the database they belong to.
  loader_conn_.reset();
  db_.reset();
}

Result<duck::Connection> DuckDbWarehouse::connect() {
  duck::Connection conn;
  if (duckdb_connect(db_.get(), conn.out()) == DuckDBError) {
    return unavailable("cannot open a DuckDB connection");
  }
  return conn;
}

Status DuckDbWarehouse::ensure_schema() {
  if (options_.read_only) return failed_precondition("the warehouse is open read-only");
  std::lock_guard lock(load_mu_);
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), kSchemaSql));
  // Added by version 2 of the tables: per user attribute, the event time of its value.
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(),
                              "ALTER TABLE users ADD COLUMN IF NOT EXISTS attribute_times JSON;"
                              "ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS quarantine_id "
                              "VARCHAR;ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS call_type "
                              "VARCHAR;"));
  // Which quarantined events `basalt quarantine replay` re-submitted (each at most once).
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(),
                              "CREATE TABLE IF NOT EXISTS quarantine_replays (quarantine_id "
                              "VARCHAR PRIMARY KEY, replayed_at TIMESTAMPTZ, events BIGINT)"));
  // Added by version 3: the enrichment of events.
  for (const char* c : kEnrichmentColumns) {
    BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), std::string("ALTER TABLE events ADD COLUMN IF "
                                                                "NOT EXISTS ") +
                                                        c + " VARCHAR"));
  }
  BASALT_RETURN_IF_ERROR(refresh_users_columns());
  return setup_rollups();
}

Status DuckDbWarehouse::refresh_users_columns() {
  auto rows =
      fetch_text(loader_conn_.get(),
                 "SELECT column_name FROM information_schema.columns WHERE "
                 "table_schema = 'main' AND table_name = 'users' ORDER BY ordinal_position");
  if (!rows) return rows.status();
  users_carried_.clear();
  for (const auto& row : *rows) {
    if (row[0] && !is_fixed_users_column(*row[0])) users_carried_.push_back(*row[0]);
  }
  return Status::ok();
}

Result<std::vector<std::string>> DuckDbWarehouse::apply_plan_columns(const PlanColumns& columns) {
  if (options_.read_only) return failed_precondition("the warehouse is open read-only");
  std::lock_guard lock(load_mu_);
  auto rows =
      fetch_text(loader_conn_.get(),
                 "SELECT table_name, column_name, data_type FROM information_schema.columns "
                 "WHERE table_schema = 'main' AND table_name IN ('events', 'users')");
  if (!rows) return rows.status();
  std::unordered_map<std::string, std::string> existing;  // "table.column" → type
  for (const auto& row : *rows) {
    if (row[0] && row[1] && row[2]) existing.emplace(*row[0] + "." + *row[1], *row[2]);
  }
  std::vector<std::string> messages;
  auto apply = [&](const char* table, const char* prefix, const std::vector<PlanColumn>& plan,
                   std::vector<FilledColumn>& filled,
                   std::unordered_map<std::string, size_t>& index) -> Status {
    std::vector<FilledColumn> next;
    for (const PlanColumn& c : plan) {
      std::string column = prefix + c.name;
      auto it = existing.find(std::string(table) + "." + column);
      if (it == existing.end()) {
        std::string sql = "ALTER TABLE " + std::string(table) + " ADD COLUMN " +
                          quote_identifier(column) + " " + std::string(sql_type_of(c.type));
        BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), sql));
        spdlog::info("warehouse: added column {}.{} {}", table, column, sql_type_of(c.type));
      } else if (it->second != information_schema_type(c.type)) {
        messages.push_back(std::string(table) + "." + column + " is " + it->second +
                           " but the tracking plan says " + std::string(sql_type_of(c.type)) +
                           ": the column keeps its type and is no longer filled (migrate it, "
                           "e.g. ALTER TABLE … ALTER COLUMN, or rename the property)");
        continue;
      }
      next.push_back({c.name, std::move(column), c.type, c.merge});
    }
    filled = std::move(next);
    index.clear();
    for (size_t i = 0; i < filled.size(); ++i) index.emplace(filled[i].name, i);
    return Status::ok();
  };
  BASALT_RETURN_IF_ERROR(
      apply("events", "p_", columns.properties, event_columns_, event_column_index_));
  BASALT_RETURN_IF_ERROR(
      apply("users", "a_", columns.attributes, user_columns_, user_column_index_));
  BASALT_RETURN_IF_ERROR(refresh_users_columns());
  if (rollup_zone_.empty()) return messages;
  // Numeric typed columns get a sum column in the rollup. One that `events` had before this
  // call may hold values the rollup never summed: then the rollup is rebuilt.
  for (const FilledColumn& c : event_columns_) {
    if (rollup_stale_) break;
    if (c.type != event::ValueType::kInt && c.type != event::ValueType::kFloat) continue;
    bool have = std::any_of(rollup_sums_.begin(), rollup_sums_.end(),
                            [&](const RollupSum& r) { return r.column == c.column; });
    if (have) continue;
    if (existing.contains("events." + c.column)) {
      auto n = fetch_text(loader_conn_.get(), "SELECT count(" + quote_identifier(c.column) +
                                                  ") > 0 FROM events");
      if (!n) return n.status();
      if (!n->empty() && n->front()[0] && *n->front()[0] == "true") {
        rollup_stale_ = true;
        break;
      }
    }
    bool integer = c.type == event::ValueType::kInt;
    BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), "ALTER TABLE " + std::string(kRollupUserDay) +
                                                        " ADD COLUMN " +
                                                        quote_identifier(c.column) +
                                                        (integer ? " HUGEINT" : " DOUBLE")));
    rollup_sums_.push_back({c.column, integer});
  }
  if (rollup_stale_) {
    if (Status b = build_rollups(); !b.is_ok()) {
      spdlog::warn("warehouse: the rollups could not be built (queries read events): {}",
                   b.message());
    }
  }
  publish_rollups();
  return messages;
}

std::optional<RollupInfo> DuckDbWarehouse::rollups() const {
  std::lock_guard lock(rollup_mu_);
  return rollup_info_;
}

Status DuckDbWarehouse::rebuild_rollups() {
  if (options_.read_only) return failed_precondition("the warehouse is open read-only");
  std::lock_guard lock(load_mu_);
  if (rollup_zone_.empty()) return Status::ok();
  return build_rollups();
}

void DuckDbWarehouse::publish_rollups() {
  std::optional<RollupInfo> info;
  if (!rollup_zone_.empty() && !rollup_stale_) {
    info = RollupInfo{rollup_zone_, kRollupUserDay, kRollupDayUsers, {}, kRollupActiveUsers};
    for (const RollupSum& r : rollup_sums_) info->sum_columns.push_back(r.column);
  }
  std::lock_guard lock(rollup_mu_);
  rollup_info_ = std::move(info);
}

std::string DuckDbWarehouse::rollup_sum_list() const {
  std::string out;
  for (const RollupSum& r : rollup_sums_) {
    std::string q = quote_identifier(r.column);
    out += ", sum(" + q + ") AS " + q;
  }
  return out;
}

Status DuckDbWarehouse::setup_rollups() {
  if (options_.rollup_timezone.empty()) {
    // Without a zone, only a database that already keeps rollups goes on keeping them.
    auto has = fetch_text(loader_conn_.get(),
                          "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                          "'main' AND table_name = 'basalt_rollups'");
    if (!has) return has.status();
    if (has->empty() || !has->front()[0] || *has->front()[0] == "0") {
      rollup_zone_.clear();
      publish_rollups();
      return Status::ok();
    }
  }
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(),
                              "CREATE TABLE IF NOT EXISTS basalt_rollups (name VARCHAR PRIMARY "
                              "KEY, timezone VARCHAR, built_at TIMESTAMPTZ)"));
  auto stored = fetch_text(loader_conn_.get(),
                           std::string("SELECT timezone FROM basalt_rollups WHERE name = '") +
                               kRollupUserDay + "'");
  if (!stored) return stored.status();
  std::optional<std::string> stored_zone;
  if (!stored->empty() && stored->front()[0]) stored_zone = *stored->front()[0];
  std::string zone = options_.rollup_timezone.empty() ? stored_zone.value_or("")
                                                      : options_.rollup_timezone;
  if (zone.empty()) {
    rollup_zone_.clear();
    publish_rollups();
    return Status::ok();
  }
  if (zone_literal(zone).empty()) {
    return invalid_argument("the rollups' time zone '" + zone + "' is not an IANA zone name");
  }
  rollup_zone_ = zone;
  auto had_active = fetch_text(loader_conn_.get(),
                               std::string("SELECT count(*) FROM information_schema.tables WHERE "
                                           "table_schema = 'main' AND table_name = '") +
                                   kRollupActiveUsers + "'");
  if (!had_active) return had_active.status();
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(),
                              std::string("CREATE TABLE IF NOT EXISTS ") + kRollupUserDay +
                                  " (day DATE, user_id VARCHAR, event VARCHAR, events BIGINT);"
                                  "CREATE TABLE IF NOT EXISTS " + kRollupDayUsers +
                                  " (day DATE, users BIGINT);"));
  if (had_active->empty() || !had_active->front()[0] || *had_active->front()[0] == "0") {
    // Rollups kept before this table existed: it is the user-day rows summed over events.
    BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(),
                                std::string("CREATE TABLE ") + kRollupActiveUsers + " AS " +
                                    active_users_of(kRollupUserDay) + " ORDER BY day"));
  }
  auto columns = fetch_text(loader_conn_.get(),
                            std::string("SELECT column_name, data_type FROM "
                                        "information_schema.columns WHERE table_schema = 'main' "
                                        "AND table_name = '") +
                                kRollupUserDay + "' ORDER BY ordinal_position");
  if (!columns) return columns.status();
  rollup_sums_.clear();
  for (const auto& row : *columns) {
    if (row[0] && row[1] && row[0]->rfind("p_", 0) == 0)
      rollup_sums_.push_back({*row[0], *row[1] == "HUGEINT"});
  }
  if (stored_zone != zone) {
    if (stored_zone) {
      spdlog::warn("warehouse: the rollups' days are in {} but the project's zone is {}: "
                   "rebuilding them from events",
                   *stored_zone, zone);
    }
    rollup_stale_ = true;
    // An empty warehouse builds at once; a filled one when its typed columns are known
    // (apply_plan_columns) or at the first load, whichever comes first.
    auto any = fetch_text(loader_conn_.get(), "SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)");
    if (!any) return any.status();
    if (!any->empty() && any->front()[0] && *any->front()[0] == "0") {
      BASALT_RETURN_IF_ERROR(build_rollups());
    }
  }
  publish_rollups();
  return Status::ok();
}

Status DuckDbWarehouse::build_rollups() {
  // The sums: numeric columns load() fills, and those the rollup had that `events` still has.
  auto types = fetch_text(loader_conn_.get(),
                          "SELECT column_name, data_type FROM information_schema.columns WHERE "
                          "table_schema = 'main' AND table_name = 'events'");
  if (!types) return types.status();
  std::unordered_map<std::string, std::string> type_of;
  for (const auto& row : *types)
    if (row[0] && row[1]) type_of.emplace(*row[0], *row[1]);
  std::vector<RollupSum> sums;
  auto add = [&](const std::string& column) {
    auto t = type_of.find(column);
    if (t == type_of.end() || (t->second != "BIGINT" && t->second != "DOUBLE")) return;
    for (const RollupSum& r : sums)
      if (r.column == column) return;
    sums.push_back({column, t->second == "BIGINT"});
  };
  for (const FilledColumn& c : event_columns_) add(c.column);
  for (const RollupSum& r : rollup_sums_) add(r.column);
  rollup_sums_ = std::move(sums);

  auto started = std::chrono::steady_clock::now();
  std::string sql = "BEGIN TRANSACTION;DROP TABLE IF EXISTS " + std::string(kRollupUserDay) +
                    ";CREATE TABLE " + kRollupUserDay + " AS SELECT " +
                    local_day_sql(rollup_zone_, "\"timestamp\"") +
                    " AS day, user_id, event, CAST(count(*) AS BIGINT) AS events";
  for (const RollupSum& r : rollup_sums_) {
    std::string q = quote_identifier(r.column);
    sql += ", " + std::string(r.integer ? "CAST(sum(" + q + ") AS HUGEINT)" : "sum(" + q + ")") +
           " AS " + q;
  }
  // Ordered by day, so the scans of a range of days prune by the zone maps.
  sql += " FROM events GROUP BY 1, 2, 3 ORDER BY 1;DROP TABLE IF EXISTS " +
         std::string(kRollupActiveUsers) + ";CREATE TABLE " + kRollupActiveUsers + " AS " +
         active_users_of(kRollupUserDay) + " ORDER BY day;DELETE FROM " + kRollupDayUsers +
         ";INSERT INTO " + kRollupDayUsers + " SELECT day, count(DISTINCT user_id) FROM " +
         kRollupActiveUsers + " GROUP BY day;INSERT OR REPLACE INTO basalt_rollups VALUES ('" +
         kRollupUserDay + "', " + zone_literal(rollup_zone_) + ", now());COMMIT";
  Status s = exec(loader_conn_.get(), sql);
  if (!s.is_ok()) {
    (void)exec(loader_conn_.get(), "ROLLBACK");
    return s;
  }
  rollup_stale_ = false;
  rollup_days_.clear();
  publish_rollups();
  spdlog::info("warehouse: built the rollups (days in {}, {} sum columns) in {:.1f} s",
               rollup_zone_, rollup_sums_.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return Status::ok();
}

void DuckDbWarehouse::compact_rollups() {
  for (auto& [day, state] : rollup_days_) {
    // At a quarter of what the last compaction left, each row is rewritten a bounded number
    // of times however the day's rows arrive.
    if (state.pending < std::max<uint64_t>(options_.rollup_compact_rows, state.compacted / 4))
      continue;
    if (Status s = compact_rollup_day(day); !s.is_ok()) {
      // Nothing is lost: the day keeps its rows, and its distinct users come from them.
      spdlog::warn("warehouse: compacting the rollup of {} failed: {}", day, s.message());
      state.pending = 0;  // retried after as many rows again
    }
  }
}

Status DuckDbWarehouse::compact_rollup_day(const std::string& day) {
  // `day` is DuckDB's own text of a DATE ("YYYY-MM-DD"): safe to inline.
  std::string d = "DATE '" + day + "'";
  std::string sql = "BEGIN TRANSACTION;CREATE OR REPLACE TEMP TABLE basalt_rollup_compact AS "
                    "SELECT day, user_id, event, CAST(sum(events) AS BIGINT) AS events" +
                    rollup_sum_list() + " FROM " + kRollupUserDay + " WHERE day = " + d +
                    " GROUP BY day, user_id, event;DELETE FROM " + kRollupUserDay +
                    " WHERE day = " + d + ";INSERT INTO " + kRollupUserDay +
                    " BY NAME SELECT * FROM basalt_rollup_compact;DELETE FROM " +
                    kRollupActiveUsers + " WHERE day = " + d + ";INSERT INTO " +
                    kRollupActiveUsers + " " + active_users_of("basalt_rollup_compact") +
                    ";DELETE FROM " + kRollupDayUsers + " WHERE day = " + d +
                    ";INSERT INTO " + kRollupDayUsers +
                    " SELECT " + d +
                    ", count(DISTINCT user_id) FROM basalt_rollup_compact;COMMIT";
  Status s = exec(loader_conn_.get(), sql);
  if (!s.is_ok()) {
    (void)exec(loader_conn_.get(), "ROLLBACK");
    return s;
  }
  auto n = fetch_text(loader_conn_.get(), "SELECT count(*) FROM basalt_rollup_compact");
  if (!n) return n.status();
  RollupDay& state = rollup_days_[day];
  state.pending = 0;
  state.compacted = !n->empty() && n->front()[0] ? std::stoull(*n->front()[0]) : 0;
  return Status::ok();
}

Result<std::optional<uint64_t>> DuckDbWarehouse::load_offset(const std::string& consumer) {
  auto conn = connect();
  if (!conn) return conn.status();
  duck::Prepared stmt;
  if (duckdb_prepare(conn->get(), "SELECT next_lsn FROM basalt_offsets WHERE consumer = $1",
                     stmt.out()) == DuckDBError) {
    return invalid_argument(duckdb_prepare_error(stmt.get()));
  }
  duckdb_bind_varchar(stmt.get(), 1, consumer.c_str());
  duck::QueryResult r;
  if (duckdb_execute_prepared(stmt.get(), r.get()) == DuckDBError) return duck::status_of(r.get());
  if (duckdb_row_count(r.get()) == 0) return std::optional<uint64_t>();
  return std::optional<uint64_t>(duckdb_value_uint64(r.get(), 0, 0));
}

Status DuckDbWarehouse::load(const LoadBatch& batch, const std::string& consumer) {
  if (options_.read_only) return failed_precondition("the warehouse is open read-only");
  std::lock_guard lock(load_mu_);
  if (!rollup_zone_.empty() && rollup_stale_) {
    // Until built, the rollups are not published and take no deltas: queries read `events`.
    if (Status b = build_rollups(); !b.is_ok()) {
      spdlog::warn("warehouse: the rollups could not be built (queries read events): {}",
                   b.message());
    }
  }
  RollupRows rollup_rows;
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), "BEGIN TRANSACTION"));
  Status s = load_in_transaction(batch, consumer, rollup_rows);
  if (s.is_ok()) s = exec(loader_conn_.get(), "COMMIT");
  if (!s.is_ok()) {
    // Nothing of the batch stays; the caller may retry it. ROLLBACK fails harmlessly when
    // the failed COMMIT already ended the transaction.
    (void)exec(loader_conn_.get(), "ROLLBACK");
    return s;
  }
  for (const auto& [day, rows] : rollup_rows) rollup_days_[day].pending += rows;
  if (!rollup_rows.empty()) compact_rollups();
  return s;
}

Status DuckDbWarehouse::load_in_transaction(const LoadBatch& batch, const std::string& consumer,
                                            RollupRows& rollup_rows) {
  BASALT_RETURN_IF_ERROR(append_events(batch, rollup_rows));
  BASALT_RETURN_IF_ERROR(append_quarantine(batch));
  BASALT_RETURN_IF_ERROR(merge_users(batch));
  return store_offset(consumer, batch.next_lsn);
}

Status DuckDbWarehouse::append_events(const LoadBatch& batch, RollupRows& rollup_rows) {
  if (batch.events.empty()) return Status::ok();
  // With rollups: the events' per-bucket counts and sums, appended after the events.
  std::optional<RollupAccumulator> rollup;
  std::vector<int> rollup_slot(event_columns_.size(), -1);  // event column → sum slot
  if (!rollup_zone_.empty() && !rollup_stale_) {
    std::vector<bool> integer;
    for (const RollupSum& r : rollup_sums_) integer.push_back(r.integer);
    for (size_t i = 0; i < event_columns_.size(); ++i) {
      for (size_t j = 0; j < rollup_sums_.size(); ++j) {
        if (rollup_sums_[j].column == event_columns_[i].column &&
            (event_columns_[i].type == event::ValueType::kInt) == rollup_sums_[j].integer &&
            (event_columns_[i].type == event::ValueType::kInt ||
             event_columns_[i].type == event::ValueType::kFloat)) {
          rollup_slot[i] = static_cast<int>(j);
        }
      }
    }
    rollup.emplace(std::move(integer));
  }
  static const std::vector<const char*> kColumns = {
      "event_id",     "message_id",  "source",          "type",
      "event",        "user_id",     "anonymous_id",    "group_id",
      "previous_id",  "timestamp",   "received_at",     "sent_at",
      "original_timestamp", "ip",    "user_agent",      "library_name",
      "library_version", "os_name",  "app_version",     "properties",
      "traits",       "context"};
  using K = ColumnKind;
  static const std::vector<ColumnKind> kKinds = {
      K::kVarchar, K::kVarchar, K::kVarchar, K::kVarchar, K::kVarchar, K::kVarchar,
      K::kVarchar, K::kVarchar, K::kVarchar, K::kTimestampTz, K::kTimestampTz, K::kTimestampTz,
      K::kTimestampTz, K::kVarchar, K::kVarchar, K::kVarchar, K::kVarchar, K::kVarchar,
      K::kVarchar, K::kJson, K::kJson, K::kJson};
  std::vector<const char*> columns = kColumns;
  std::vector<ColumnKind> kinds = kKinds;
  const size_t first_enrichment = columns.size();
  for (const char* c : kEnrichmentColumns) {
    columns.push_back(c);
    kinds.push_back(ColumnKind::kVarchar);
  }
  const size_t first_typed = columns.size();
  for (const FilledColumn& c : event_columns_) {
    columns.push_back(c.column.c_str());
    kinds.push_back(kind_of(c.type));
  }
  std::vector<uint8_t> filled(event_columns_.size());
  auto app = make_appender(loader_conn_.get(), "events", columns);
  if (!app) return app.status();
  {
    ChunkWriter w(std::move(*app), kinds);
    auto json = [](const std::string& s) {
      return s.empty() ? std::string_view("{}") : std::string_view(s);
    };
    for (const event::Event& e : batch.events) {
      BASALT_RETURN_IF_ERROR(w.begin_row());
      w.set_string(0, e.event_id, false);
      w.set_string(1, e.message_id, false);
      w.set_string(2, e.source, false);
      w.set_string(3, event::event_type_name(e.type), false);
      w.set_string(4, e.event, true);
      w.set_string(5, e.user_id, true);
      w.set_string(6, e.anonymous_id, true);
      w.set_string(7, e.group_id, true);
      w.set_string(8, e.previous_id, true);
      w.set_timestamp(9, e.timestamp_us);
      w.set_timestamp(10, e.received_at_us);
      if (e.sent_at_us) w.set_timestamp(11, *e.sent_at_us); else w.set_null(11);
      if (e.original_timestamp_us) {
        w.set_timestamp(12, *e.original_timestamp_us);
      } else {
        w.set_null(12);
      }
      w.set_string(13, e.ip, true);
      w.set_string(14, e.user_agent, true);
      w.set_string(15, e.library_name, true);
      w.set_string(16, e.library_version, true);
      w.set_string(17, e.os_name, true);
      w.set_string(18, e.app_version, true);
      w.set_json(19, json(e.properties_json));
      w.set_json(20, json(e.traits_json));
      w.set_json(21, json(e.context_json));
      {
        size_t c = first_enrichment;
        for (const std::string* v :
             {&e.browser, &e.browser_version, &e.os_family, &e.os_version, &e.device_family,
              &e.device_brand, &e.device_model, &e.country, &e.region, &e.city}) {
          w.set_string(c++, *v, true);
        }
      }
      // The NULL rules of the event and user_id columns (set_string's empty_is_null).
      if (rollup) rollup->begin(e.timestamp_us, e.user_id, e.event);
      if (!event_columns_.empty()) {
        std::fill(filled.begin(), filled.end(), 0);
        if (e.type == event::EventType::kTrack) {
          for (const event::TypedField& f : e.typed) {
            auto it = event_column_index_.find(f.name);
            if (it == event_column_index_.end()) continue;  // not a column (yet)
            filled[it->second] =
                set_typed(w, first_typed + it->second, f, event_columns_[it->second].type);
            int slot = rollup_slot[it->second];
            if (filled[it->second] && rollup && slot >= 0) {
              if (f.type == event::ValueType::kInt) {
                rollup->add_int(static_cast<size_t>(slot), f.int_value);
              } else {
                rollup->add_double(static_cast<size_t>(slot), f.float_value);
              }
            }
          }
        }
        for (size_t i = 0; i < filled.size(); ++i) {
          if (!filled[i]) w.set_null(first_typed + i);
        }
      }
      w.end_row();
    }
    BASALT_RETURN_IF_ERROR(w.close("events"));
  }
  if (!rollup || rollup->entries().empty()) return Status::ok();

  // The deltas: staged per bucket, then summed per local day into events_user_day.
  std::string create =
      "CREATE OR REPLACE TEMP TABLE basalt_rollup_stage (bucket BIGINT, user_id VARCHAR, "
      "event VARCHAR, events BIGINT";
  std::vector<const char*> stage_columns = {"bucket", "user_id", "event", "events"};
  using K = ColumnKind;
  std::vector<ColumnKind> stage_kinds = {K::kBigint, K::kVarchar, K::kVarchar, K::kBigint};
  for (const RollupSum& r : rollup_sums_) {
    create += ", " + quote_identifier(r.column) + (r.integer ? " BIGINT" : " DOUBLE");
    stage_columns.push_back(r.column.c_str());
    stage_kinds.push_back(r.integer ? K::kBigint : K::kDouble);
  }
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), create + ")"));
  auto stage = make_appender(loader_conn_.get(), "basalt_rollup_stage", stage_columns);
  if (!stage) return stage.status();
  {
    ChunkWriter w(std::move(*stage), stage_kinds);
    const auto& entries = rollup->entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      BASALT_RETURN_IF_ERROR(w.begin_row());
      w.set_int64(0, entries[i].bucket);
      w.set_string(1, entries[i].user, true);
      w.set_string(2, entries[i].event, true);
      w.set_int64(3, entries[i].events);
      for (size_t j = 0; j < rollup->sums(); ++j) {
        const auto& x = rollup->slot(i, j);
        if (!x.has) {
          w.set_null(4 + j);
        } else if (rollup->integer(j)) {
          w.set_int64(4 + j, x.i);
        } else {
          w.set_double(4 + j, x.f);
        }
      }
      w.end_row();
    }
    BASALT_RETURN_IF_ERROR(w.close("basalt_rollup_stage"));
  }
  std::string day =
      is_utc(rollup_zone_)
          ? "CAST(make_timestamp(bucket * " + std::to_string(kRollupBucketUs) + ") AS DATE)"
          : local_day_sql(rollup_zone_, "to_timestamp(bucket * " +
                                            std::to_string(kRollupBucketUs / 1'000'000) + ")");
  std::string sql = "CREATE OR REPLACE TEMP TABLE basalt_rollup_delta AS SELECT " + day +
                    " AS day, user_id, event, CAST(sum(events) AS BIGINT) AS events" +
                    rollup_sum_list() +
                    " FROM basalt_rollup_stage GROUP BY ALL;"
                    "INSERT INTO " + std::string(kRollupUserDay) +
                    " BY NAME SELECT * FROM basalt_rollup_delta;"
                    "INSERT INTO " + kRollupActiveUsers + " " +
                    active_users_of("basalt_rollup_delta") +
                    ";DELETE FROM " + std::string(kRollupDayUsers) +
                    " WHERE day IN (SELECT day FROM basalt_rollup_delta);";
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), sql));
  auto rows = fetch_text(loader_conn_.get(),
                         "SELECT CAST(day AS VARCHAR), count(*) FROM basalt_rollup_delta GROUP BY "
                         "day");
  if (!rows) return rows.status();
  for (const auto& r : *rows) {
    if (r[0] && r[1]) rollup_rows.emplace_back(*r[0], std::stoull(*r[1]));
  }
  return Status::ok();
}

Status DuckDbWarehouse::append_quarantine(const LoadBatch& batch) {
  if (batch.quarantined.empty()) return Status::ok();
  static const std::vector<const char*> kColumns = {"received_at", "source", "reason", "raw",
                                                    "ip", "quarantine_id", "call_type"};
  using K = ColumnKind;
  static const std::vector<ColumnKind> kKinds = {K::kTimestampTz, K::kVarchar, K::kVarchar,
                                                 K::kVarchar, K::kVarchar, K::kVarchar,
                                                 K::kVarchar};
  auto app = make_appender(loader_conn_.get(), "quarantine", kColumns);
  if (!app) return app.status();
  {
    ChunkWriter w(std::move(*app), kKinds);
    for (const event::QuarantinedEvent& q : batch.quarantined) {
      BASALT_RETURN_IF_ERROR(w.begin_row());
      w.set_timestamp(0, q.received_at_us);
      w.set_string(1, q.source, true);
      w.set_string(2, q.reason, false);
      w.set_string(3, q.raw_json, false);
      w.set_string(4, q.ip, true);
      w.set_string(5, q.quarantine_id, true);
      w.set_string(6, q.type ? event::event_type_name(*q.type) : std::string_view(), true);
      w.end_row();
    }
    return w.close("quarantine");
  }
}

Status DuckDbWarehouse::merge_users(const LoadBatch& batch) {
  std::vector<UserDelta> users = user_deltas(batch.events);
  if (users.empty()) return Status::ok();

  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), kUsersStageSql));
  static const std::vector<const char*> kColumns = {"user_id", "anonymous_ids", "trait_patches",
                                                    "first_seen", "last_seen"};
  using K = ColumnKind;
  static const std::vector<ColumnKind> kKinds = {K::kVarchar, K::kVarcharList, K::kVarcharList,
                                                 K::kTimestampTz, K::kTimestampTz};
  auto app = make_appender(loader_conn_.get(), "basalt_users_stage", kColumns);
  if (!app) return app.status();
  {
    ChunkWriter w(std::move(*app), kKinds);
    std::vector<const event::Event*> patching;
    std::vector<std::string_view> patches;  // the traits of each identify, by event time
    for (const UserDelta& d : users) {
      patching.clear();
      for (const event::Event* e : d.identifies) {
        if (!e->traits_json.empty() && e->traits_json != "{}" &&
            duck::is_valid_json(e->traits_json)) {
          patching.push_back(e);
        }
      }
      std::stable_sort(patching.begin(), patching.end(),
                       [](const event::Event* a, const event::Event* b) {
                         return a->timestamp_us < b->timestamp_us;
                       });
      patches.clear();
      for (const event::Event* e : patching) patches.push_back(e->traits_json);
      BASALT_RETURN_IF_ERROR(w.begin_row());
      w.set_string(0, d.user_id, false);
      w.set_list(1, d.anonymous_ids);
      w.set_list(2, patches);
      w.set_timestamp(3, d.first_seen_us);
      w.set_timestamp(4, d.last_seen_us);
      w.end_row();
    }
    BASALT_RETURN_IF_ERROR(w.close("basalt_users_stage"));
  }
  // Identify calls with typed values, for the plan's attribute columns.
  std::vector<std::pair<std::string_view, std::vector<const event::Event*>>> updates;
  if (!user_columns_.empty()) {
    for (const UserDelta& d : users) {
      std::vector<const event::Event*> typed;
      for (const event::Event* e : d.identifies) {
        if (!e->typed.empty()) typed.push_back(e);
      }
      if (!typed.empty()) updates.emplace_back(d.user_id, std::move(typed));
    }
  }
  BASALT_RETURN_IF_ERROR(stage_attributes(updates));
  // Read each time: the table may have gained columns from elsewhere (an operator's ALTER).
  BASALT_RETURN_IF_ERROR(refresh_users_columns());
  return exec(loader_conn_.get(), users_merge_sql(users_carried_, user_column_index_));
}

Status DuckDbWarehouse::stage_attributes(
    const std::vector<std::pair<std::string_view, std::vector<const event::Event*>>>& updates) {
  std::string create =
      "CREATE OR REPLACE TEMP TABLE basalt_users_attr_stage (user_id VARCHAR, "
      "attribute_times JSON";
  for (const FilledColumn& c : user_columns_)
    create += ", " + quote_identifier(c.column) + " " + std::string(sql_type_of(c.type));
  create += ")";
  BASALT_RETURN_IF_ERROR(exec(loader_conn_.get(), create));
  if (updates.empty()) return Status::ok();

  // The stored values and their times, for the users with updates.
  std::unordered_map<std::string_view, AttributeStates> states;
  for (const auto& u : updates) states[u.first].assign(user_columns_.size(), std::nullopt);
  std::string select = "SELECT u.user_id, u.attribute_times::VARCHAR, json_object(";
  for (size_t i = 0; i < user_columns_.size(); ++i) {
    const FilledColumn& c = user_columns_[i];
    if (i) select += ", ";
    select += "'" + c.name + "', ";  // plan names are identifiers: no quoting needed
    select += c.type == event::ValueType::kTimestamp
                  ? "epoch_us(u." + quote_identifier(c.column) + ")"
                  : "u." + quote_identifier(c.column);
  }
  select += ")::VARCHAR FROM users AS u JOIN basalt_users_stage AS s ON u.user_id = s.user_id";
  auto stored = fetch_text(loader_conn_.get(), select);
  if (!stored) return stored.status();
  simdjson::dom::parser parser;
  for (const auto& row : *stored) {
    if (!row[0]) continue;
    auto it = states.find(*row[0]);
    if (it == states.end()) continue;
    simdjson::dom::element times, values;
    bool has_times = row[1] && parser.parse(*row[1]).get(times) == simdjson::SUCCESS;
    std::unordered_map<std::string, int64_t> time_of;
    simdjson::dom::object times_object;
    if (has_times && times.get_object().get(times_object) == simdjson::SUCCESS) {
      for (auto [key, v] : times_object) {
        int64_t us = 0;
        if (!v.get_int64().get(us)) time_of.emplace(std::string(key), us);
      }
    }
    simdjson::dom::parser values_parser;
    if (!row[2] || values_parser.parse(*row[2]).get(values) != simdjson::SUCCESS) continue;
    for (size_t i = 0; i < user_columns_.size(); ++i) {
      const FilledColumn& c = user_columns_[i];
      simdjson::dom::element v;
      if (values.at_key(c.name).get(v) != simdjson::SUCCESS) continue;
      auto t = time_of.find(c.name);
      schema::AttributeValue value = attribute_value_of(v, c.type);
      if (std::holds_alternative<std::monostate>(value) && t == time_of.end()) continue;
      it->second[i] = schema::AttributeState{std::move(value), t == time_of.end() ? 0 : t->second};
    }
  }

  std::vector<const char*> columns = {"user_id", "attribute_times"};
  std::vector<ColumnKind> kinds = {ColumnKind::kVarchar, ColumnKind::kJson};
  for (const FilledColumn& c : user_columns_) {
    columns.push_back(c.column.c_str());
    kinds.push_back(kind_of(c.type));
  }
  auto app = make_appender(loader_conn_.get(), "basalt_users_attr_stage", columns);
  if (!app) return app.status();
  MergeRefusals refused;
  ChunkWriter w(std::move(*app), kinds);
  for (const auto& [id, events] : updates) {
    AttributeStates& state = states[id];
    // By skew-corrected event time: a late arrival never overwrites a newer update.
    std::vector<const event::Event*> ordered = events;
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const event::Event* a, const event::Event* b) {
                       return a->timestamp_us < b->timestamp_us;
                     });
    for (const event::Event* e : ordered)
      merge_attributes(*e, user_columns_, user_column_index_, state, refused);
    BASALT_RETURN_IF_ERROR(w.begin_row());
    w.set_string(0, id, false);
    std::string times = "{";
    for (size_t i = 0; i < user_columns_.size(); ++i) {
      if (!state[i]) continue;
      if (times.size() > 1) times.push_back(',');
      times += "\"" + user_columns_[i].name + "\":" + std::to_string(state[i]->time_us);
    }
    times.push_back('}');
    w.set_json(1, times);
    for (size_t i = 0; i < user_columns_.size(); ++i) {
      if (state[i]) {
        set_attribute(w, 2 + i, state[i]->value, user_columns_[i].type);
      } else {
        w.set_null(2 + i);
      }
    }
    w.end_row();
  }
  if (refused.count > 0) {
    spdlog::warn("warehouse: {} attribute updates could not be merged (first: {})", refused.count,
                 refused.first);
  }
  return w.close("basalt_users_attr_stage");
}

Status DuckDbWarehouse::store_offset(const std::string& consumer, uint64_t next_lsn) {
  duck::Prepared stmt;
  if (duckdb_prepare(loader_conn_.get(), kOffsetSql, stmt.out()) == DuckDBError) {
    return internal_error(duckdb_prepare_error(stmt.get()));
  }
  duckdb_bind_varchar(stmt.get(), 1, consumer.c_str());
  duckdb_bind_uint64(stmt.get(), 2, next_lsn);
  duck::QueryResult r;
  if (duckdb_execute_prepared(stmt.get(), r.get()) == DuckDBError) return duck::status_of(r.get());
  return Status::ok();
}

Status DuckDbWarehouse::for_each_message_id(
    int64_t since_us, const std::function<void(std::string_view, std::string_view)>& fn) {
  return for_each_loaded_message(
      since_us, [&](std::string_view source, std::string_view id, int64_t) { fn(source, id); });
}

Status DuckDbWarehouse::for_each_loaded_message(
    int64_t since_us,
    const std::function<void(std::string_view, std::string_view, int64_t)>& fn) {
  auto conn = connect();
  if (!conn) return conn.status();
  duck::Prepared stmt;
  if (duckdb_prepare(conn->get(),
                     "SELECT source, message_id, epoch_us(received_at) FROM events "
                     "WHERE received_at >= $1",
                     stmt.out()) == DuckDBError) {
    return internal_error(duckdb_prepare_error(stmt.get()));
  }
  duckdb_bind_timestamp_tz(stmt.get(), 1, duckdb_timestamp{since_us});
  duck::QueryResult r;
  if (duckdb_execute_prepared_streaming(stmt.get(), r.get()) == DuckDBError) {
    return duck::status_of(r.get());
  }
  while (true) {
    duck::DataChunk chunk(duckdb_fetch_chunk(*r.get()));
    if (!chunk.get()) break;
    idx_t n = duckdb_data_chunk_get_size(chunk.get());
    duckdb_vector vs = duckdb_data_chunk_get_vector(chunk.get(), 0);
    duckdb_vector vm = duckdb_data_chunk_get_vector(chunk.get(), 1);
    duckdb_vector vt = duckdb_data_chunk_get_vector(chunk.get(), 2);
    auto* src = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vs));
    auto* mid = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vm));
    auto* at = static_cast<int64_t*>(duckdb_vector_get_data(vt));
    uint64_t* src_ok = duckdb_vector_get_validity(vs);
    uint64_t* mid_ok = duckdb_vector_get_validity(vm);
    for (idx_t i = 0; i < n; ++i) {
      if ((src_ok && !duckdb_validity_row_is_valid(src_ok, i)) ||
          (mid_ok && !duckdb_validity_row_is_valid(mid_ok, i))) {
        continue;
      }
      fn(std::string_view(duckdb_string_t_data(&src[i]), duckdb_string_t_length(src[i])),
         std::string_view(duckdb_string_t_data(&mid[i]), duckdb_string_t_length(mid[i])), at[i]);
    }
  }
  const char* err = duckdb_result_error(r.get());
  if (err) return {duck::code_of(duckdb_result_error_type(r.get())), err};
  return Status::ok();
}

Result<QueryResult> DuckDbWarehouse::query(const std::string& sql, const QueryOptions& options) {
  return query(sql, {}, options);
}

Result<QueryResult> DuckDbWarehouse::query(const std::string& sql, const std::vector<Value>& params,
                                           const QueryOptions& options) {
  auto conn_or = connect();
  if (!conn_or) return conn_or.status();
  duckdb_connection conn = conn_or->get();

  duck::Prepared stmt;
  if (duckdb_prepare(conn, sql.c_str(), stmt.out()) == DuckDBError) {
    const char* e = duckdb_prepare_error(stmt.get());
    return invalid_argument(e ? e : "the statement could not be prepared");
  }
  // Columns of types without a natural Value are cast to VARCHAR by wrapping the query;
  // their reported type is still the original one, as DESCRIBE prints it.
  idx_t ncols = duckdb_prepared_statement_column_count(stmt.get());
  std::vector<std::string> wrapped_types(ncols);
  bool wrap = false;
  if (duckdb_prepared_statement_type(stmt.get()) == DUCKDB_STATEMENT_TYPE_SELECT) {
    for (idx_t c = 0; c < ncols; ++c) {
      if (!is_direct(duckdb_prepared_statement_column_type(stmt.get(), c))) wrap = true;
    }
  }
  if (wrap) {
    std::string inner = strip_trailing_semicolons(sql);
    duck::QueryResult described;
    if (duckdb_query(conn, ("DESCRIBE (" + inner + ")").c_str(), described.get()) ==
        DuckDBSuccess) {
      for (idx_t c = 0; c < ncols && c < duckdb_row_count(described.get()); ++c) {
        wrapped_types[c] = take_duck_string(duckdb_value_varchar(described.get(), 1, c));
      }
    }
    std::string outer = "SELECT ";
    for (idx_t c = 0; c < ncols; ++c) {
      // The name is the caller's to free.
      std::string name = take_duck_string(
          const_cast<char*>(duckdb_prepared_statement_column_name(stmt.get(), c)));
      if (c) outer += ", ";
      std::string ref = "#";
      ref += std::to_string(c + 1);
      if (is_direct(duckdb_prepared_statement_column_type(stmt.get(), c))) {
        outer += ref;
      } else {
        outer += "CAST(" + ref + " AS VARCHAR)";
      }
      outer += " AS " + quote_identifier(name);
    }
    outer += " FROM (" + inner + "\n) AS basalt_query";
    if (duckdb_prepare(conn, outer.c_str(), stmt.out()) == DuckDBError) {
      const char* e = duckdb_prepare_error(stmt.get());
      return invalid_argument(e ? e : "the statement could not be prepared");
    }
  }

  if (duckdb_nparams(stmt.get()) != params.size()) {
    return invalid_argument("the statement has " + std::to_string(duckdb_nparams(stmt.get())) +
                            " parameters but " + std::to_string(params.size()) +
                            " values were given");
  }
  for (size_t i = 0; i < params.size(); ++i) {
    idx_t at = i + 1;
    duckdb_state st = std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            return duckdb_bind_null(stmt.get(), at);
          } else if constexpr (std::is_same_v<T, bool>) {
            return duckdb_bind_boolean(stmt.get(), at, v);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return duckdb_bind_int64(stmt.get(), at, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return duckdb_bind_double(stmt.get(), at, v);
          } else {
            return duckdb_bind_varchar_length(stmt.get(), at, v.data(), v.size());
          }
        },
        params[i]);
    if (st == DuckDBError) {
      return invalid_argument("parameter " + std::to_string(at) + " could not be bound");
    }
  }

  QueryResult out;
  Watchdog watchdog(conn, options.timeout);
  auto timed_out = [&]() -> Status {
    return {StatusCode::kDeadlineExceeded,
            "query interrupted after its timeout of " + std::to_string(options.timeout.count()) +
                " ms"};
  };
  duck::QueryResult r;
  if (duckdb_execute_prepared_streaming(stmt.get(), r.get()) == DuckDBError) {
    watchdog.cancel();
    if (watchdog.fired()) return timed_out();
    return duck::status_of(r.get());
  }
  ncols = duckdb_column_count(r.get());
  std::vector<duck::LogicalType> types;
  for (idx_t c = 0; c < ncols; ++c) {
    types.emplace_back(duckdb_column_logical_type(r.get(), c));
    std::string name = duckdb_column_name(r.get(), c);
    std::string type = c < wrapped_types.size() && !wrapped_types[c].empty()
                           ? wrapped_types[c]
                           : type_name(types.back().get());
    out.columns.push_back({std::move(name), std::move(type)});
  }
  while (!out.truncated) {
    duck::DataChunk chunk(duckdb_fetch_chunk(*r.get()));
    if (!chunk.get()) break;
    idx_t n = duckdb_data_chunk_get_size(chunk.get());
    std::vector<duckdb_vector> vectors;
    for (idx_t c = 0; c < ncols; ++c) vectors.push_back(duckdb_data_chunk_get_vector(chunk.get(), c));
    for (idx_t i = 0; i < n; ++i) {
      if (out.rows.size() >= options.max_rows) {
        out.truncated = true;
        break;
      }
      std::vector<Value> row;
      row.reserve(ncols);
      for (idx_t c = 0; c < ncols; ++c) row.push_back(cell(types[c].get(), vectors[c], i));
      out.rows.push_back(std::move(row));
    }
  }
  watchdog.cancel();
  const char* err = duckdb_result_error(r.get());
  if (err && !out.truncated) {
    if (watchdog.fired()) return timed_out();
    return Status(duck::code_of(duckdb_result_error_type(r.get())), err);
  }
  return out;
}

}  // namespace basalt::warehouse
