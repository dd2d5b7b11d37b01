#pragma once
// The JSON form of a warehouse query result, shared by the console API and `basalt sql`:
//   {"columns":[{"name":…,"type":…}],"rows":[[…]],"truncated":false}

#include <nlohmann/json.hpp>

#include "warehouse/warehouse.h"

namespace basalt::api {

nlohmann::json query_result_to_json(const warehouse::QueryResult& result);

}  // namespace basalt::api
