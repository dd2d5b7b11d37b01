#pragma once
// `basalt validate` for the semantic layer: loads models/ and apis/ and checks every
// dimension, measure and data-API statement against the warehouse schema the project would
// have (the base tables plus the tracking plan's typed p_/a_ columns, in an empty in-memory
// DuckDB), returning `file:line: message` errors. Tables no plan creates (e.g. built by Domino
// tasks) cannot be checked this way and are reported as notes.

#include <filesystem>
#include <string>
#include <vector>

#include "schema/tracking_plan.h"

namespace basalt::semantic {

struct SemanticReport {
  std::vector<std::string> errors;  // "file:line: message"
  std::vector<std::string> notes;   // what was checked
};

// `plan` may be null: then only the files themselves are checked. The models' and data APIs'
// SQL is checked against a scratch DuckDB schema only when the warehouse `engine` is duckdb
// (other engines' SQL is their own: it is checked when the server runs it).
SemanticReport validate_semantics(const std::filesystem::path& project_dir,
                                  const schema::TrackingPlan* plan,
                                  const std::string& engine = "duckdb");

}  // namespace basalt::semantic
