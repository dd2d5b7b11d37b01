#include "api/query_json.h"

namespace basalt::api {

nlohmann::json query_result_to_json(const warehouse::QueryResult& result) {
  nlohmann::json columns = nlohmann::json::array();
  for (const auto& c : result.columns) columns.push_back({{"name", c.name}, {"type", c.type}});
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : result.rows) {
    nlohmann::json r = nlohmann::json::array();
    for (const auto& v : row) {
      std::visit(
          [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              r.push_back(nullptr);
            } else {
              r.push_back(x);
            }
          },
          v);
    }
    rows.push_back(std::move(r));
  }
  return {{"columns", std::move(columns)}, {"rows", std::move(rows)}, {"truncated", result.truncated}};
}

}  // namespace basalt::api
