#pragma once
// The JSON and CSV forms of a semantic-layer answer, shared by the query API and the data APIs:
//   {"columns":[{"name","type","kind","format","description"}],"rows":[[…]],"sql":"…",
//    "cached":false,"elapsed_ms":12.3,"complete_until":"…","truncated":false}

#include <nlohmann/json.hpp>
#include <string>

#include "semantic/semantic_service.h"

namespace basalt::api {

nlohmann::json answer_json(const semantic::Answer& a, uint64_t max_rows);
// RFC 4180: a header line of column names, then one line per row.
std::string answer_csv(const warehouse::QueryResult& r);

}  // namespace basalt::api
