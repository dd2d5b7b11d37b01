#pragma once
// The SQL text the ClickHouse engine sends: literal and identifier quoting (18.16 has no
// server-side query parameters, so every value in a statement goes through quote_string or
// quote_identifier), the server version and what it allows, the DDL of the tables, and the
// TabSeparated escaping of result rows. Private to src/warehouse/clickhouse.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

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

struct ServerVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  bool at_least(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
  // LowCardinality(String) without a setting: 19.9 and later.
  bool low_cardinality() const { return at_least(19, 9); }
};

// "18.16.1", "23.8.2.7" → version; kInvalidArgument for anything else.
Result<ServerVersion> parse_server_version(std::string_view text);

struct SchemaOptions {
  std::string database = "basalt";
  std::string cluster;  // ON CLUSTER and Distributed tables when set
  ServerVersion version;
};

// The statements ensure_schema runs, in order (CREATE DATABASE, then each table; with a
// cluster, each `<table>_local` on every node and the Distributed `<table>` over them).
std::vector<std::string> schema_statements(const SchemaOptions& options);

// The table the loader inserts into: the table itself on one server, `<name>` (Distributed,
// with insert_distributed_sync) on a cluster too.
std::string qualified_table(const SchemaOptions& options, std::string_view table);

}  // namespace basalt::warehouse::clickhouse
