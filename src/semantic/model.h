#pragma once
// Semantic models (models/*.yaml): a warehouse table with its time column, joins to other
// models, dimensions, measures (aggregations) and derived metrics (expressions over measures).
// The file format is documented in docs/query_api.md. Every definition remembers the file and
// line it came from, so errors point at it.
//
// Trust: the SQL snippets of a model (`sql`, `filter`, `on`) are written by the project's
// authors and reviewed like code; they are checked against the warehouse by validate_models.
// Query requests never add SQL text: they only name dimensions and metrics of a model.
//
// Thread safety: a loaded ModelSet is immutable; share it freely.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace basalt::semantic {

struct Location {
  std::string file;
  int line = 0;
  std::string to_string() const;  // "file:line"
};

enum class Aggregation {
  kCount,
  kCountDistinct,
  kApproxCountDistinct,
  kSum,
  kAvg,
  kMin,
  kMax,
  kMedian,
  kPercentile,
};
const char* aggregation_name(Aggregation a);

enum class Relationship { kManyToOne, kOneToOne, kOneToMany };

struct Join {
  std::string model;  // the joined model's name
  std::string
      on;  // SQL condition naming both models by name, e.g. "events.user_id = users.user_id"
  Relationship relationship = Relationship::kManyToOne;
  Location location;
};

struct Dimension {
  std::string name;
  std::string column;  // either a column of the model's table …
  std::string sql;     // … or an SQL expression (may name joined models)
  std::string type;    // optional: string, number, boolean, time
  std::string description;
  Location location;
};

struct Measure {
  std::string name;
  Aggregation agg = Aggregation::kCount;
  std::string column;       // empty for count(*)
  std::string sql;          // instead of column: an expression
  std::string filter;       // optional SQL condition: the measure aggregates matching rows only
  double percentile = 0.5;  // for kPercentile, in (0, 1)
  std::string format;       // number (default), currency, percent
  std::string description;
  Location location;
};

struct Metric {
  std::string name;
  std::string expr;  // arithmetic over measure and metric names: + - * / ( ) numbers
  std::string format;
  std::string description;
  Location location;
};

struct Model {
  std::string name;
  std::string table;
  std::string time;  // the default time column (TIMESTAMPTZ); empty: no time dimension
  std::string user;  // the column identifying a user, for analyses (default user_id)
  std::string description;
  std::string owner;
  std::vector<Join> joins;
  std::vector<Dimension> dimensions;
  std::vector<Measure> measures;
  std::vector<Metric> metrics;
  Location location;

  const Dimension* dimension(const std::string& n) const;
  const Measure* measure(const std::string& n) const;
  const Metric* metric(const std::string& n) const;
};

class ModelSet {
 public:
  // Reads every models/*.yaml of `project_dir` (a missing folder is an empty set). Errors are
  // "models/file.yaml:line: message", all of them, in file order; the set keeps the models that
  // loaded without error.
  struct Loaded;
  static Loaded load(const std::filesystem::path& project_dir);
  // One file's text (for tests and the fuzzer); `file` is the name used in errors.
  static Loaded parse(const std::string& file, const std::string& text);

  const Model* find(const std::string& name) const;
  const std::vector<Model>& models() const { return models_; }
  void add(Model m) { models_.push_back(std::move(m)); }

 private:
  std::vector<Model> models_;
};

struct ModelSet::Loaded {
  ModelSet models;
  std::vector<std::string> errors;  // "file:line: message"
};

// A column-safe identifier: [A-Za-z_][A-Za-z0-9_]{0,63}.
bool is_identifier(const std::string& s);

}  // namespace basalt::semantic
