#pragma once
// Published data APIs (apis/*.yaml): a name, a description, typed and bounded parameters, and
// either a semantic query (a query of POST /api/v1/query in which a string "{{param}}" stands
// for a parameter's value) or a parameterised SQL statement (where {{param}} becomes a bound
// placeholder). Served at GET /data/v1/<name>?param=…; format in docs/query_api.md.
//
// Parameter values are checked against their declaration and only ever bound: a query's
// "{{p}}" is replaced by the typed JSON value before parsing (then bound by the compiler),
// an SQL statement's {{p}} by a placeholder.
//
// Thread safety: a loaded DataApiSet is immutable.

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "semantic/compiler.h"
#include "semantic/model.h"
#include "semantic/query.h"
#include "warehouse/warehouse.h"

namespace basalt::semantic {

struct ApiParam {
  std::string name;
  std::string type = "string";  // string, int, number, bool, date
  std::string description;
  bool required = false;
  std::optional<nlohmann::json> default_value;
  std::optional<double> min, max;    // int, number
  size_t max_length = 200;           // string
  std::vector<std::string> allowed;  // string
};

struct DataApi {
  std::string name;
  std::string description;
  std::string owner;
  std::vector<ApiParam> params;
  nlohmann::json query;             // a semantic query template, or null
  std::string sql;                  // or a statement with {{param}} placeholders
  std::vector<std::string> tables;  // what the SQL reads (for the cache and the catalogue)
  Location location;
};

class DataApiSet {
 public:
  struct Loaded;
  // Reads every apis/*.yaml; checks names, parameter declarations, and that each query
  // template compiles against `models` with its parameters' example values, in the SQL dialect
  // of the warehouse `engine` (kInvalidArgument-style errors name an engine without one).
  static Loaded load(const std::filesystem::path& project_dir, const ModelSet& models,
                     const std::string& engine = "duckdb");
  static Loaded parse(const std::string& file, const std::string& text, const ModelSet& models,
                      const std::string& engine = "duckdb");

  const DataApi* find(const std::string& name) const;
  const std::vector<DataApi>& apis() const { return apis_; }

 private:
  std::vector<DataApi> apis_;
};

struct DataApiSet::Loaded {
  DataApiSet apis;
  std::vector<std::string> errors;  // "file:line: message"
};

// A call's arguments checked against the API's parameters: each present or defaulted
// parameter as a typed JSON value. kInvalidArgument names the parameter and the rule broken
// (unknown parameters too).
Result<std::map<std::string, nlohmann::json>> bind_arguments(
    const DataApi& api, const std::vector<std::pair<std::string, std::string>>& args);

// The query of a query-template API with its arguments in place; filters whose value is an
// absent parameter are dropped.
Result<Query> instantiate_query(const DataApi& api,
                                const std::map<std::string, nlohmann::json>& args);

// The statement of an SQL API with `placeholder(i)` for each {{param}} and the values to bind.
struct BoundStatement {
  std::string sql;
  std::vector<warehouse::Value> params;
};
Result<BoundStatement> instantiate_sql(const DataApi& api,
                                       const std::map<std::string, nlohmann::json>& args,
                                       const std::function<std::string(size_t)>& placeholder);

// The OpenAPI 3 document of every API.
nlohmann::json openapi_document(const DataApiSet& apis, const std::string& project);

}  // namespace basalt::semantic
