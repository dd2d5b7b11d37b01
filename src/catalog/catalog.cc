#include "catalog/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

namespace basalt::catalog {

namespace {

using nlohmann::json;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The warehouse's own tables and columns (docs/warehouse_tables.md).
const std::map<std::string, std::string> kTableDocs = {
    {"events", "one row per accepted behaviour event"},
    {"users", "one row per user id: anonymous ids, merged traits and attributes, first/last seen"},
    {"quarantine", "every refused event with its raw JSON, source and reason"},
    {"basalt_offsets", "what each loader has stored (its next WAL position)"},
    {"quarantine_replays", "each quarantined event re-submitted by a replay, and when"},
    {"events_user_day",
     "rollup of events kept by the loader: per local day, user and event, the count and the "
     "sums of numeric properties (a key may have several rows; sum them)"},
    {"events_day_users", "rollup kept by the loader: exact distinct users of a compacted day"},
    {"events_active_users",
     "rollup of events kept by the loader: per local day and user, the count of events (a key "
     "may have several rows; sum them)"},
    {"basalt_rollups", "the time zone the rollups' days are in, and when they were built"}};
const std::map<std::string, std::string> kColumnDocs = {
    {"events.event_id", "server-assigned UUID"},
    {"events.message_id", "the client's id; with source, the dedup key"},
    {"events.source", "name of the source whose write key sent the event"},
    {"events.type", "track, identify, page, screen, group or alias"},
    {"events.event", "the event name"},
    {"events.user_id", "the known user, NULL when anonymous"},
    {"events.anonymous_id", "the device/browser id"},
    {"events.timestamp", "event time, corrected for client clock skew"},
    {"events.received_at", "server time on receipt"},
    {"events.properties", "the event's properties (JSON)"},
    {"events.context", "the client context (JSON)"},
    {"users.user_id", "the user"},
    {"users.traits", "identify traits merged in timestamp order (JSON)"},
    {"users.first_seen", "smallest event time of the user"},
    {"users.last_seen", "largest event time of the user"},
    {"quarantine.reason", "why the event was refused"},
    {"quarantine.raw", "the body as received"},
    {"events_user_day.day", "local date of the events' timestamp, in basalt_rollups' zone"},
    {"events_user_day.events", "events of the key in this row"},
    {"events_active_users.day", "local date of the events' timestamp, in basalt_rollups' zone"},
    {"events_active_users.events", "events of the user on the day in this row"},
    {"events_day_users.users", "exact number of distinct non-null user ids of the day"}};

bool matches(const std::string& hay, const std::string& needle) {
  return needle.empty() || lower(hay).find(needle) != std::string::npos;
}

void add_unique(json& list, const json& item) {
  for (const auto& x : list)
    if (x == item) return;
  list.push_back(item);
}

}  // namespace

SqlTables tables_in_sql(const std::string& sql_in) {
  // Templates become '*': rpt_{{ ds_nodash }} → rpt_*.
  std::string sql = std::regex_replace(sql_in, std::regex(R"(\{\{[^}]*\}\})"), "*");
  sql = std::regex_replace(sql, std::regex(R"(--[^\n]*)"), " ");
  sql = std::regex_replace(sql, std::regex(R"('([^']|'')*')"), "''");
  std::string low = lower(sql);
  SqlTables out;
  std::set<std::string> ctes;
  static const std::regex kCte(R"((?:with|,)\s+([a-z_][a-z0-9_]*)\s+as\s*\()");
  for (auto it = std::sregex_iterator(low.begin(), low.end(), kCte); it != std::sregex_iterator();
       ++it) {
    ctes.insert((*it)[1].str());
  }
  static const std::regex kName(R"([a-z_*][a-z0-9_.*]*)");
  auto collect = [&](const std::regex& re, std::vector<std::string>& into) {
    for (auto it = std::sregex_iterator(low.begin(), low.end(), re); it != std::sregex_iterator();
         ++it) {
      std::string n = (*it)[1].str();
      if (auto dot = n.rfind('.'); dot != std::string::npos) n = n.substr(dot + 1);
      if (n.empty() || ctes.contains(n) || n == "select" || n == "lateral" || n == "unnest")
        continue;
      if (std::find(into.begin(), into.end(), n) == into.end()) into.push_back(n);
    }
  };
  collect(
      std::regex(
          R"(\b(?:create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:table|view)\s+(?:if\s+not\s+exists\s+)?|insert\s+(?:or\s+replace\s+)?into\s+|merge\s+into\s+|update\s+|delete\s+from\s+)([a-z_*][a-z0-9_.*]*))"),
      out.writes);
  collect(std::regex(R"(\b(?:from|join)\s+([a-z_*][a-z0-9_.*]*))"), out.reads);
  // A table written is not also "read" because of DELETE FROM.
  std::erase_if(out.reads, [&](const std::string& r) {
    return std::find(out.writes.begin(), out.writes.end(), r) != out.writes.end() &&
           low.find("delete from " + r) != std::string::npos;
  });
  return out;
}

Result<json> build_catalog(const CatalogInputs& in, const std::string& search_in) {
  std::string search = lower(search_in);
  auto cols = in.warehouse->query(
      "SELECT table_name, column_name, data_type, table_type FROM information_schema.columns "
      "JOIN information_schema.tables USING (table_schema, table_name) "
      "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position",
      {});
  if (!cols) return cols.status();
  std::map<std::string, json> tables;
  for (const auto& row : cols->rows) {
    std::string t = std::get<std::string>(row[0]);
    json& tj = tables[t];
    if (tj.is_null()) {
      std::string kind = std::get<std::string>(row[3]) == "VIEW" ? "view" : "table";
      tj = {{"name", t},
            {"kind", kind},
            {"description", kTableDocs.contains(t) ? kTableDocs.at(t) : ""},
            {"owner", kTableDocs.contains(t) ? "basalt" : ""},
            {"columns", json::array()},
            {"lineage",
             {{"written_by", json::array()},
              {"read_by", json::array()},
              {"models", json::array()},
              {"metrics", json::array()},
              {"apis", json::array()},
              {"charts", json::array()},
              {"dashboards", json::array()}}}};
      if (t == "events" || t == "users" || t == "quarantine")
        tj["lineage"]["written_by"].push_back({{"loader", "warehouse"}});
    }
    std::string c = std::get<std::string>(row[1]);
    json col = {{"name", c}, {"type", std::get<std::string>(row[2])}};
    std::string key = t + "." + c;
    if (kColumnDocs.contains(key)) col["description"] = kColumnDocs.at(key);
    if (in.plan) {
      if (t == "events" && c.starts_with("p_")) {
        for (const auto& p : in.plan->properties) {
          if ("p_" + p.name == c) {
            col["description"] = p.description;
            col["owner"] = p.owner;
            col["source"] = p.location.to_string();
            col["pii"] = p.pii;
          }
        }
      }
      if (t == "users" && c.starts_with("a_")) {
        for (const auto& a : in.plan->attributes) {
          if ("a_" + a.name == c) {
            col["description"] = a.description;
            col["owner"] = a.owner;
            col["source"] = a.location.to_string();
          }
        }
      }
    }
    tj["columns"].push_back(std::move(col));
  }
  // Row counts and freshness.
  for (auto& [name, tj] : tables) {
    if (tj["kind"] == "view") continue;
    auto n = in.warehouse->query(fmt::format("SELECT count(*) FROM \"{}\"", name), {});
    if (n && !n->rows.empty()) {
      const auto& v = n->rows[0][0];
      if (const auto* i = std::get_if<int64_t>(&v)) tj["rows"] = *i;
    }
  }
  auto fresh = [&](const std::string& table, const std::string& sql) {
    if (!tables.contains(table)) return;
    auto r = in.warehouse->query(sql, {});
    if (r && !r->rows.empty()) {
      if (const auto* s = std::get_if<std::string>(&r->rows[0][0])) tables[table]["last_load"] = *s;
    }
  };
  fresh("events", "SELECT max(updated_at) FROM basalt_offsets");
  fresh("users", "SELECT max(updated_at) FROM users");
  fresh("quarantine", "SELECT max(received_at) FROM quarantine");

  auto table_ref = [&](const std::string& pattern) -> std::vector<std::string> {
    std::vector<std::string> out;
    if (pattern.find('*') == std::string::npos) {
      if (tables.contains(pattern)) out.push_back(pattern);
      return out;
    }
    std::string prefix = pattern.substr(0, pattern.find('*'));
    for (const auto& [n, _] : tables)
      if (n.starts_with(prefix)) out.push_back(n);
    return out;
  };
  // Domino tasks.
  if (in.dags) {
    for (const auto& d : in.dags->dags) {
      for (const auto& t : d.tasks) {
        if (!t.fields.contains("sql") || !t.fields["sql"].is_string()) continue;
        SqlTables st = tables_in_sql(t.fields["sql"].get<std::string>());
        json who = {{"dag", d.id}, {"task", t.id}, {"owner", d.owner}};
        for (const auto& w : st.writes) {
          for (const auto& n : table_ref(w)) add_unique(tables[n]["lineage"]["written_by"], who);
        }
        for (const auto& r : st.reads) {
          for (const auto& n : table_ref(r)) add_unique(tables[n]["lineage"]["read_by"], who);
        }
      }
    }
  }
  // Models, metrics, data APIs, charts and dashboards.
  std::map<std::string, std::vector<std::string>> model_tables;
  if (in.models) {
    for (const auto& m : in.models->models()) {
      std::vector<std::string> ts = {m.table};
      for (const auto& j : m.joins)
        if (const auto* o = in.models->find(j.model)) ts.push_back(o->table);
      model_tables[m.name] = ts;
      for (const auto& t : ts) {
        if (!tables.contains(t)) continue;
        add_unique(tables[t]["lineage"]["models"],
                   {{"model", m.name}, {"file", m.location.to_string()}});
        for (const auto& x : m.measures)
          add_unique(tables[t]["lineage"]["metrics"], {{"model", m.name}, {"metric", x.name}});
        for (const auto& x : m.metrics)
          add_unique(tables[t]["lineage"]["metrics"], {{"model", m.name}, {"metric", x.name}});
      }
      if (tables.contains(m.table)) {
        if (tables[m.table]["description"] == "") tables[m.table]["description"] = m.description;
        if (tables[m.table]["owner"] == "") tables[m.table]["owner"] = m.owner;
        for (auto& col : tables[m.table]["columns"]) {
          for (const auto& d : m.dimensions) {
            if (d.column == col["name"]) {
              if (!col.contains("description") || col["description"] == "")
                col["description"] = d.description;
              add_unique(col["used_by"], m.name + "." + d.name);
            }
          }
          for (const auto& x : m.measures) {
            if (x.column == col["name"]) add_unique(col["used_by"], m.name + "." + x.name);
          }
        }
      }
    }
  }
  if (in.apis) {
    for (const auto& a : in.apis->apis()) {
      for (const auto& t : a.tables)
        if (tables.contains(t))
          add_unique(tables[t]["lineage"]["apis"],
                     {{"api", a.name}, {"path", "/data/v1/" + a.name}});
    }
  }
  std::map<std::string, std::vector<std::string>> chart_tables;
  for (const auto& s : in.saved) {
    if (s.kind != "chart") continue;
    for (const auto& t : model_tables[s.model]) {
      if (!tables.contains(t)) continue;
      add_unique(tables[t]["lineage"]["charts"],
                 {{"id", s.id}, {"name", s.name}, {"model", s.model}, {"metrics", s.metrics}});
      chart_tables[s.id].push_back(t);
    }
  }
  for (const auto& s : in.saved) {
    if (s.kind != "dashboard") continue;
    for (const auto& c : s.charts) {
      for (const auto& t : chart_tables[c])
        add_unique(tables[t]["lineage"]["dashboards"], {{"id", s.id}, {"name", s.name}});
    }
  }

  json list = json::array();
  for (auto& [name, tj] : tables) {
    if (!search.empty()) {
      bool hit = matches(name, search) || matches(tj.value("description", ""), search);
      json matched = json::array();
      for (const auto& c : tj["columns"]) {
        if (matches(c["name"].get<std::string>(), search) ||
            matches(c.value("description", ""), search)) {
          matched.push_back(c["name"]);
        }
      }
      for (const auto& m : tj["lineage"]["metrics"]) {
        if (matches(m["metric"].get<std::string>(), search)) hit = true;
      }
      if (!hit && matched.empty()) continue;
      tj["matched_columns"] = matched;
    }
    list.push_back(std::move(tj));
  }
  return json{{"tables", std::move(list)}};
}

}  // namespace basalt::catalog
