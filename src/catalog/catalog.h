#pragma once
// The data-asset catalogue: every warehouse table and column with its type, description and
// owner (from the tracking plan and the models), row count, freshness (last load), and lineage:
// the Domino tasks that write and read it (parsed from their SQL), the models, metrics and data
// APIs built on it, and the saved charts and dashboards that consume those — so "who uses
// this metric" has an answer. Served as GET /api/v1/catalog (docs/query_api.md).
//
// Thread safety: build_catalog is a pure function of its inputs plus warehouse reads.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "domino/dag.h"
#include "schema/tracking_plan.h"
#include "semantic/data_api.h"
#include "semantic/model.h"
#include "warehouse/warehouse.h"

namespace basalt::catalog {

// Tables an SQL text reads (after FROM/JOIN) and writes (CREATE [OR REPLACE] TABLE|VIEW,
// INSERT INTO, MERGE INTO, UPDATE, DELETE FROM, COPY … FROM). Lower-case; a name built from a
// template ("rpt_revenue_{{ ds_nodash }}") is reported as a pattern ("rpt_revenue_*"). CTE
// names are not tables. Heuristic by design: SQL in DAGs is not executed to find this.
struct SqlTables {
  std::vector<std::string> reads;
  std::vector<std::string> writes;
};
SqlTables tables_in_sql(const std::string& sql);

struct SavedConsumer {
  std::string kind;  // chart or dashboard
  std::string id;
  std::string name;
  std::string model;                 // charts: the query's model
  std::vector<std::string> metrics;  // charts: the metrics asked
  std::vector<std::string> charts;   // dashboards: their charts' ids
};

struct CatalogInputs {
  warehouse::Warehouse* warehouse = nullptr;
  const schema::TrackingPlan* plan = nullptr;  // may be null
  const semantic::ModelSet* models = nullptr;
  const semantic::DataApiSet* apis = nullptr;
  const domino::DagSet* dags = nullptr;  // may be null
  std::vector<SavedConsumer> saved;
};

// {"tables":[…]} filtered by `search` (case-insensitive, over names and descriptions of tables
// and columns; empty: everything).
Result<nlohmann::json> build_catalog(const CatalogInputs& in, const std::string& search);

}  // namespace basalt::catalog
