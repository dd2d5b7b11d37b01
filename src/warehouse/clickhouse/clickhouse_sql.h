#pragma once
// The SQL text the ClickHouse engine sends: literal and identifier quoting (18.16 has no
// server-side query parameters, so every value in a statement goes through quote_string or
// quote_identifier), the server version and what it allows, the DDL of the tables, and the
// TabSeparated escaping of result rows. Private to src/warehouse/clickhouse.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "warehouse/warehouse.h"

namespace basalt::warehouse::clickhouse {

// 'text' with \ and ' escaped, and control bytes as \n \t \r \0 \b \f or \xHH: a string
// literal that means exactly `text` in any ClickHouse statement.
std::string quote_string(std::string_view text);
// `name` with ` and \ escaped.
std::string quote_identifier(std::string_view name);

// Undoes TabSeparated escaping (\t \n \\ \' \0 \b \f \r \xHH …) of one field.
std::string unescape_tsv(std::string_view field);
// Splits a TabSeparated line into its (still escaped) fields.
std::vector<std::string_view> split_tsv(std::string_view line);
// The rows of a TabSeparated answer, each split into its (still escaped) fields; views into
// `text`.
std::vector<std::vector<std::string_view>> tsv_rows(std::string_view text);

// The literal of `v`: NULL, true/false, a number, or quote_string of the text.
std::string render_literal(const Value& v);

// `text` percent-encoded for a URL's query string (all but A-Z a-z 0-9 - _ . ~).
std::string url_encode(std::string_view text);

// `sql` with its placeholders — `?` in order, or `$1`, `$2`, … (one style per statement) —
// replaced by the literals of `params` (18.16 has no server-side parameters, so values are
// bound here, always through render_literal). Placeholders inside quoted strings, quoted
// identifiers and comments are left alone. kInvalidArgument when the placeholders and the
// parameters do not match.
Result<std::string> bind_parameters(std::string_view sql, const std::vector<Value>& params);

// A statement whose values travel as server-side query parameters.
struct ServerBoundStatement {
  std::string sql;       // the placeholders as {p1:Type}, {p2:Type}, …
  std::string settings;  // "&param_p1=…&param_p2=…", the values URL-encoded
};
// `sql` with the same placeholders as bind_parameters (same rules, same errors), for a server
// with ServerVersion::query_parameters(): types Int64, Float64, UInt8 (bool), String, and
// Nullable(String) for NULL; values in the escaped (TabSeparated) text form the server parses.
Result<ServerBoundStatement> bind_server_parameters(std::string_view sql,
                                                    const std::vector<Value>& params);

struct ServerVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  bool at_least(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
  // LowCardinality(String) without a setting: 19.9 and later.
  bool low_cardinality() const { return at_least(19, 9); }
  // Server-side query parameters, {name:Type} with param_name=… in the URL (20.1 and later;
  // 18.16 has none, so values are bound in the client there).
  bool query_parameters() const { return at_least(20, 1); }
  // insert_deduplication_token, and insert deduplication on non-replicated MergeTree tables
  // (the table setting non_replicated_deduplication_window): 22.2 and later.
  bool insert_deduplication_token() const { return at_least(22, 2); }
};

// The URL settings of an INSERT of a whole batch of `consumer` — its offsets [first, next) —
// into `table`: on servers with insert_deduplication_token(), a token naming the three, so
// the server drops a second insert of the same batch (an attempt that timed out on the client
// but completed on the server, then retried); "" on others.
std::string insert_deduplication_settings(const ServerVersion& version, std::string_view consumer,
                                          uint64_t first, uint64_t next, std::string_view table);

// "18.16.1", "23.8.2.7" → version; kInvalidArgument for anything else.
Result<ServerVersion> parse_server_version(std::string_view text);

struct SchemaOptions {
  std::string database = "basalt";
  std::string cluster;  // ON CLUSTER and Distributed tables when set
  ServerVersion version;
};

// Columns `users` gained after its first version (attribute_times, _merged_loads), with their
// types: in its CREATE TABLE, and added by ensure_schema to a table created before them.
const std::vector<std::pair<std::string, std::string>>& users_added_columns();

// The statements ensure_schema runs, in order (CREATE DATABASE, then each table; with a
// cluster, each `<table>_local` on every node and the Distributed `<table>` over them). On a
// server with insert_deduplication_token(), `events` and `quarantine` keep the hashes of their
// last inserts (non_replicated_deduplication_window) so the loader's tokens take effect.
std::vector<std::string> schema_statements(const SchemaOptions& options);

// The ClickHouse type of a tracking-plan column (p_<property>, a_<attribute>), in types 18.16
// has and spelled as system.columns prints them: string and json Nullable(String), int
// Nullable(Int64), float Nullable(Float64), bool Nullable(UInt8) (18.16 has no Bool),
// timestamp Nullable(DateTime) (seconds) beside a companion column `<column>_us`
// Nullable(Int64) holding the microseconds — as `timestamp`/`timestamp_us` on events —,
// string[] Array(String) (an Array cannot be Nullable: absent is []).
std::string_view column_type_of(event::ValueType type);
// The companion column of a timestamp plan column: `<column>_us`, Nullable(Int64).
std::string micros_column_of(std::string_view column);
inline constexpr std::string_view kMicrosColumnType = "Nullable(Int64)";

// ALTER TABLE `table` [ON CLUSTER] ADD COLUMN … for each (name, type) of `columns`; `table`
// is the physical name (`<table>_local` or the Distributed `<table>` on a cluster). Existing
// parts are not rewritten: old rows read the column's default (NULL, or []).
std::string add_columns_statement(const SchemaOptions& options, std::string_view table,
                                  const std::vector<std::pair<std::string, std::string>>& columns);

// The physical tables behind `table`: itself on one server; `<table>_local` then `<table>`
// with a cluster (the order DDL must follow).
std::vector<std::string> physical_tables(const SchemaOptions& options, std::string_view table);

// The table the loader inserts into: the table itself on one server, `<name>` (Distributed,
// with insert_distributed_sync) on a cluster too.
std::string qualified_table(const SchemaOptions& options, std::string_view table);

}  // namespace basalt::warehouse::clickhouse
