#include "semantic/project_semantics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "semantic/data_api.h"
#include "semantic/model.h"
#include "warehouse/warehouse.h"

namespace basalt::semantic {

namespace {

// The FROM clause of `m` with every join, for checking snippets.
std::string from_all(const Model& m, const ModelSet& set) {
  std::string s = fmt::format("FROM \"{}\" AS \"{}\"", m.table, m.name);
  for (const auto& j : m.joins) {
    if (const Model* o = set.find(j.model)) {
      s += fmt::format(" LEFT JOIN \"{}\" AS \"{}\" ON ({})", o->table, o->name, j.on);
    }
  }
  return s;
}

// The engine's message, first line only.
std::string first_line(const std::string& m) { return m.substr(0, m.find('\n')); }

}  // namespace

SemanticReport validate_semantics(const std::filesystem::path& project_dir,
                                  const schema::TrackingPlan* plan, const std::string& engine) {
  SemanticReport r;
  auto models = ModelSet::load(project_dir);
  r.errors = models.errors;
  auto apis = DataApiSet::load(project_dir, models.models, engine);
  for (auto& e : apis.errors) r.errors.push_back(e);
  r.notes.push_back(fmt::format("{} models, {} data APIs", models.models.models().size(),
                                apis.apis.apis().size()));
  if (!plan) return r;
  if (engine != "duckdb") {
    r.notes.push_back("models' and data APIs' SQL is " + engine +
                      " SQL: checked when the server runs it");
    return r;
  }

  // The scratch warehouse's own log lines ("added column …") are not the project's news.
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);
  struct Restore {
    spdlog::level::level_enum l;
    ~Restore() { spdlog::set_level(l); }
  } restore{level};
  auto w = warehouse::make_warehouse(warehouse::WarehouseOptions{});
  if (!w) {
    r.notes.push_back("models not checked against a schema: " + w.status().message());
    return r;
  }
  auto cols = (*w)->apply_plan_columns(warehouse::plan_columns(*plan));
  if (!cols) {
    r.notes.push_back("models not checked against a schema: " + cols.status().message());
    return r;
  }
  auto tables = (*w)->query("SELECT table_name FROM information_schema.tables", {});
  std::vector<std::string> known;
  if (tables) {
    for (const auto& row : tables->rows) known.push_back(std::get<std::string>(row[0]));
  }
  auto exists = [&](const std::string& t) {
    return std::find(known.begin(), known.end(), t) != known.end();
  };
  auto check = [&](const Location& at, const std::string& what, const std::string& sql) {
    auto q = (*w)->query(sql + " LIMIT 0", {});
    if (!q)
      r.errors.push_back(
          fmt::format("{}: {}: {}", at.to_string(), what, first_line(q.status().message())));
  };
  for (const auto& m : models.models.models()) {
    bool all = exists(m.table);
    for (const auto& j : m.joins) {
      const Model* o = models.models.find(j.model);
      if (o && !exists(o->table)) all = false;
    }
    if (!all) {
      r.notes.push_back(
          fmt::format("{}: model '{}' reads a table the plan does not create; its "
                      "SQL is checked when the server runs",
                      m.location.to_string(), m.name));
      continue;
    }
    std::string from = from_all(m, models.models);
    if (!m.time.empty())
      check(m.location, "time column '" + m.time + "'",
            fmt::format("SELECT \"{}\".\"{}\" {}", m.name, m.time, from));
    for (const auto& d : m.dimensions) {
      std::string e =
          d.column.empty() ? "(" + d.sql + ")" : fmt::format("\"{}\".\"{}\"", m.name, d.column);
      check(d.location, "dimension '" + d.name + "'", "SELECT " + e + " " + from);
    }
    for (const auto& me : m.measures) {
      std::string e = me.column.empty() ? (me.sql.empty() ? "*" : "(" + me.sql + ")")
                                        : fmt::format("\"{}\".\"{}\"", m.name, me.column);
      std::string f = me.filter.empty() ? "" : " FILTER (WHERE " + me.filter + ")";
      check(me.location, "measure '" + me.name + "'", "SELECT count(" + e + ")" + f + " " + from);
    }
  }
  for (const auto& a : apis.apis.apis()) {
    if (a.sql.empty()) continue;
    std::map<std::string, nlohmann::json> args;
    for (const auto& p : a.params) args[p.name] = nullptr;
    auto st = instantiate_sql(a, args, [](size_t) { return std::string("NULL"); });
    if (st) check(a.location, "data API '" + a.name + "'", "SELECT * FROM (" + st->sql + ")");
  }
  return r;
}

}  // namespace basalt::semantic
