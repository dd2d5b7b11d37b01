#include "api/answer_format.h"

#include <fmt/format.h>

namespace basalt::api {

namespace {

nlohmann::json value_json(const warehouse::Value& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(x)) return nullptr;
          return x;
        } else {
          return x;
        }
      },
      v);
}

std::string csv_field(const warehouse::Value& v) {
  std::string s = std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          return fmt::format("{}", x);
        } else {
          return std::to_string(x);
        }
      },
      v);
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace

nlohmann::json answer_json(const semantic::Answer& a, uint64_t max_rows) {
  nlohmann::json cols = nlohmann::json::array();
  const auto& meta = a.compiled.columns;
  for (size_t i = 0; i < a.result.columns.size(); ++i) {
    nlohmann::json c = {{"name", a.result.columns[i].name}, {"type", a.result.columns[i].type}};
    if (i < meta.size() && meta[i].name == a.result.columns[i].name) {
      c["kind"] = meta[i].kind;
      if (!meta[i].format.empty()) c["format"] = meta[i].format;
      if (!meta[i].description.empty()) c["description"] = meta[i].description;
    }
    cols.push_back(std::move(c));
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : a.result.rows) {
    nlohmann::json r = nlohmann::json::array();
    for (const auto& v : row) r.push_back(value_json(v));
    rows.push_back(std::move(r));
  }
  nlohmann::json out = {{"columns", std::move(cols)}, {"rows", std::move(rows)},
                        {"sql", a.compiled.sql},      {"cached", a.cached},
                        {"elapsed_ms", a.elapsed_ms}, {"truncated", a.result.truncated}};
  if (a.result.truncated) {
    out["message"] = fmt::format(
        "the answer has more than {} rows (the row cap); only the first {} are returned: add "
        "filters, a coarser grain, fewer dimensions or a limit",
        max_rows, max_rows);
  }
  return out;
}

std::string answer_csv(const warehouse::QueryResult& r) {
  std::string out;
  for (size_t i = 0; i < r.columns.size(); ++i) {
    if (i) out += ',';
    out += csv_field(r.columns[i].name);
  }
  out += "\r\n";
  for (const auto& row : r.rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += ',';
      out += csv_field(row[i]);
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace basalt::api
